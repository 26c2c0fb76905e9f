/* rule_int.h - the compiled form of a rules file, shared by rules files */
/*
 * Not a public header: smtpd and the tools use rules.h. A ruleset is
 * immutable after load, but for ruleset_share(), which a daemon master
 * calls before it forks; everything a decision learns lives in the
 * struct rule_session.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef GK_RULE_INT_H
#define GK_RULE_INT_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "rules.h"
#include "lookup.h"
#include "rule_regex.h"

/* Three-valued results of matching. */
enum match {
	M_NO,
	M_YES,
	M_TEMP
};

/* A glob with only '*': literal segments between stars, lower case. */
struct glob {
	char *text;		/* the pattern, lower-cased */
	size_t len;
	int anchored_start;	/* no leading '*' */
	int anchored_end;	/* no trailing '*' */
	size_t nseg;
	struct { size_t off, len; } *seg;
	int is_literal;		/* no '*' at all */
	int looks_numeric;	/* only digits, dots, colons, hex, '*': an address glob */
};

enum tok_kind {
	TOK_EXCEPT,
	TOK_ALL,
	TOK_KNOWN,		/* source: client has a verified name */
	TOK_UNKNOWN,
	TOK_PREFIX,		/* an IP address or prefix */
	TOK_GLOB,		/* source: name or address text; address: whole */
	TOK_REGEX,		/* source: name; address: whole */
	TOK_RBL,		/* DNSBL zone, on an address */
	TOK_NS,			/* NS=pat: name servers and mail exchangers */
	TOK_MX,			/* MX=pat: mail exchangers */
	TOK_IDENT,		/* source: user@hostpat */
	TOK_AT,			/* address: local@domain */
	TOK_USER,		/* local part: the ident user */
	TOK_TABLE		/* CDB=, HASH=, VALIDUSERS=, IPBLOCK= */
};

struct token {
	enum tok_kind kind;
	struct net_prefix prefix;	/* TOK_PREFIX */
	struct glob glob;		/* TOK_GLOB */
	struct regex *re;		/* TOK_REGEX */
	char *zone;			/* TOK_RBL, lower case, no final dot */
	struct token *left;		/* TOK_IDENT: user; TOK_AT: local part */
	struct token *right;		/* TOK_IDENT: host; TOK_AT: domain;
					   TOK_NS/TOK_MX: host pattern */
	unsigned int table;		/* TOK_TABLE: index in rs->tables */
	int needs_addrs;		/* TOK_NS/MX: pattern matches addresses */
};

/* The three fields, in file order. */
enum field_id {
	FIELD_SOURCE,
	FIELD_FROM,
	FIELD_TO,
	FIELD_COUNT
};

/* What a field costs to evaluate; fields are evaluated cheapest first. */
enum field_cost {
	COST_FREE,		/* ALL */
	COST_CHEAP,		/* addresses, globs */
	COST_REGEX,
	COST_TABLE,
	COST_LOOKUP		/* DNS or ident */
};

struct field {
	struct token *tok;
	size_t ntok;
	enum field_cost cost;
	int is_all;		/* exactly "ALL": always matches */
};

/* A reply template: literal text and %-escapes. */
struct reply_part {
	char escape;		/* 0 for literal text, else 'I', 'H', ... */
	const char *text;	/* literal: points into reply text */
	size_t len;
};

struct rule {
	unsigned int line;
	enum rule_action action;
	struct field field[FIELD_COUNT];
	enum field_id order[FIELD_COUNT];	/* evaluation order */
	char *text;			/* the line as written */
	char *reply;			/* reply field, NULL for the default */
	struct reply_part *parts;
	size_t nparts;
	char *comment;			/* trailing "# comment", or NULL */
};

enum table_kind {
	TABLE_CDB,
	TABLE_HASH,
	TABLE_VALIDUSERS,
	TABLE_IPBLOCK		/* address backend: find_addr */
};

/* What identifies a file's contents without reading them. */
struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

struct table_ref {
	enum table_kind kind;
	const struct lookup_ops *ops;
	char *path;
	void *shared;			/* ruleset_share(): the master's handle */
	struct file_id shared_id;	/* ... and the file it opened */
	int is_share_failed;		/* reported; said again only after a
					   success */
};

/* A growing list of rule numbers (indices into rs->rules). */
struct rule_cands {
	uint32_t *v;
	size_t n, alloc;
};

struct rule_index;

struct ruleset {
	struct rule_index *index;	/* NULL: scan every line */
	char *path;
	struct rule *rules;
	size_t nrules;
	struct table_ref *tables;
	size_t ntables;
	struct rule_options opts;
	struct reply_part *default_parts;
	size_t default_nparts;
	char *default_reply;
	int is_jitted;			/* ruleset_share() compiled the regexes */
};

/* rule_glob.c */
int glob_compile(struct glob *g, const char *text, size_t len);
int glob_match(const struct glob *g, const char *s, size_t len);
void glob_free(struct glob *g);

/* rule_key.c: key search orders for string tables. The callback returns
   non-zero to stop; the functions return what it returned, or 0. */
typedef int key_fn(void *arg, const char *key, size_t len);
int rule_keys_client(const struct net_addr *addr, const char *name,
    key_fn *fn, void *arg);
int rule_keys_name(const char *name, key_fn *fn, void *arg);
/* rule_strip_address - the path without blanks and <>, lower case, into
   out (size bytes); the null sender becomes "". -1 if it does not fit */
int rule_strip_address(const char *in, char *out, size_t size, size_t *len);
int rule_keys_address(const char *addr, size_t len, int full_only,
    key_fn *fn, void *arg);

/* rule_reply.c */
struct reply_vars {
	const char *ip, *host, *from, *to, *user, *value;
};
int reply_compile(const char *text, struct reply_part **parts,
    size_t *nparts, char *err, size_t errsize);
void reply_expand(const struct reply_part *parts, size_t nparts,
    const struct reply_vars *vars, char *out, size_t size);

/* rule_index.c */
struct rule_index *rule_index_build(const struct ruleset *rs);
void rule_index_free(struct rule_index *ix);
int rule_index_client(const struct rule_index *ix, const struct net_addr *addr,
    struct rule_cands *out);
int rule_index_address(const struct rule_index *ix, enum field_id f,
    const char *addr, size_t len, struct rule_cands *out);
const uint32_t *rule_index_always(const struct rule_index *ix, size_t *n);

/* rule_parse.c */
void token_free(struct token *t);

/* rule_share.c */
int table_path(const struct ruleset *rs, const struct table_ref *ref,
    char *buf, size_t size);
void *rule_table_open(const struct ruleset *rs, const struct table_ref *ref,
    char *err, size_t errsize);
void *rule_table_shared(const struct ruleset *rs,
    const struct table_ref *ref);
void ruleset_unshare(struct ruleset *rs);

#endif
