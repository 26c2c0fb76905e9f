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
#include "rule_arena.h"
#include "rule_regex.h"

/* Three-valued results of matching. */
enum match {
	M_NO,
	M_YES,
	M_TEMP
};

/* A glob with only '*': literal segments between stars, lower case. */
struct glob_seg {
	uint16_t off, len;	/* lines are at most RULE_MAX_LINE bytes */
};

struct glob {
	char *text;		/* the pattern, lower-cased */
	struct glob_seg *seg;	/* nseg segments; NULL if is_literal */
	uint32_t len;
	uint16_t nseg;
	uint8_t anchored_start;	/* no leading '*' */
	uint8_t anchored_end;	/* no trailing '*' */
	uint8_t is_literal;	/* no '*' at all */
	uint8_t looks_numeric;	/* digits, dots, colons, hex, '*': an
				   address glob */
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

/* One token; which member of the union is set depends on kind. */
struct token {
	enum tok_kind kind;
	unsigned int table;		/* TOK_TABLE: index in rs->tables */
	int needs_addrs;		/* TOK_NS/MX: pattern matches addresses */
	union {
		struct net_prefix prefix;	/* TOK_PREFIX */
		struct glob glob;		/* TOK_GLOB */
		struct {			/* TOK_REGEX */
			uint32_t regex_no;	/* in rs->regex */
			uint32_t pattern_len;
			char *pattern;		/* without the slashes */
		};
		char *zone;		/* TOK_RBL, lower case, no final dot */
	};
	struct token *left;		/* TOK_IDENT: user; TOK_AT: local part */
	struct token *right;		/* TOK_IDENT: host; TOK_AT: domain;
					   TOK_NS/TOK_MX: host pattern */
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
	uint32_t ntok;
	uint8_t cost;		/* enum field_cost */
	uint8_t is_all;		/* exactly "ALL": always matches */
};

/* A reply template: literal text and %-escapes. */
struct reply_part {
	const char *text;	/* literal: points into the reply text */
	uint32_t len;
	char escape;		/* 0 for literal text, else 'I', 'H', ... */
};

struct rule {
	unsigned int line;
	enum rule_action action;
	struct field field[FIELD_COUNT];
	char *text;			/* the line as written */
	char *reply;			/* reply field, NULL for the default */
	struct reply_part *parts;
	char *comment;			/* trailing "# comment", or NULL */
	uint32_t nparts;
	uint8_t order[FIELD_COUNT];	/* evaluation order (enum field_id) */
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

/*
 * Everything a ruleset points to lives in its arena, except the
 * compiled regexes and what opts points to. A ruleset mapped from an
 * image (rule_image.c) has the rest in the mapping, which is read-only;
 * what cannot be shared is the process's own: a copy of this struct,
 * path, opts, the default reply and the tables (their ops are function
 * pointers) in its arena, and the regex array.
 */
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
	struct token **regex_tok;	/* every TOK_REGEX token */
	size_t nregex;
	/* The compiled regexes, by the tokens' regex_no: this process's
	   own (an image binds them per process, so that no token page of
	   the mapping is written). */
	struct regex **regex;
	/* In an image: PCRE2's serialisation of the regexes, or NULL */
	const unsigned char *regex_blob;
	size_t regex_blob_size;
	struct rule_arena arena;	/* owns everything above */
	void *image_base;		/* the image's mapping, or NULL */
	size_t image_size;
	int is_jitted;			/* ruleset_share() compiled the regexes */
};

/* rule_glob.c */
int glob_compile(struct rule_arena *a, struct glob *g, const char *text,
    size_t len);
int glob_match(const struct glob *g, const char *s, size_t len);

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
int reply_compile(struct rule_arena *a, const char *text,
    struct reply_part **parts, size_t *nparts, char *err, size_t errsize);
void reply_expand(const struct reply_part *parts, size_t nparts,
    const struct reply_vars *vars, char *out, size_t size);

/* rule_index.c */
struct rule_index *rule_index_build(struct rule_arena *a,
    const struct ruleset *rs);
int rule_index_client(const struct rule_index *ix, const struct net_addr *addr,
    struct rule_cands *out);
int rule_index_address(const struct rule_index *ix, enum field_id f,
    const char *addr, size_t len, struct rule_cands *out);
const uint32_t *rule_index_always(const struct rule_index *ix, size_t *n);

/* rule_parse.c */
/* The default reply when rule_options gives none, as the original's. */
#define RULE_ORIGINAL_REPLY \
	"550 Mail from %F to %T prohibited from your location (%U@%H ip=%I)"
struct stat;
int rule_read_file(const char *path, char **buf, size_t *len,
    struct stat *st);
void rule_read_error(const char *path, const struct rule_options *opts,
    int e);
const struct lookup_ops *rule_table_ops(enum table_kind kind,
    const char *path);
struct ruleset *ruleset_compile(const char *name, const char *buf,
    size_t len, const struct rule_options *opts, struct rule_arena *arena);

/* rule_image.c */
/* rule_image_unmap - release a ruleset's image mapping */
void rule_image_unmap(struct ruleset *rs);

/* rule_share.c */
int table_path(const struct ruleset *rs, const struct table_ref *ref,
    char *buf, size_t size);
void *rule_table_open(const struct ruleset *rs, const struct table_ref *ref,
    char *err, size_t errsize);
void *rule_table_shared(const struct ruleset *rs,
    const struct table_ref *ref);
void ruleset_unshare(struct ruleset *rs);

#endif
