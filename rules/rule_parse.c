/* rule_parse.c - compile a rules file into a struct ruleset */
/*
 * Every line is checked at load; any error refuses the whole file, and
 * each error is reported as file:line: reason. Fields are split at the
 * first four colons outside [brackets] (IPv6 addresses); the fifth field
 * is the reply, up to an optional ":# comment". Tokens are separated by
 * blanks or commas, except inside /regex/ delimiters and brackets.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/log.h"
#include "rule_int.h"

#define RULE_FILE_MAX	(64 * 1024 * 1024)
#define ERR_MAX		300

static const char *const field_names[FIELD_COUNT] = { "source", "from", "to" };

struct parser {
	struct ruleset *rs;
	struct rule_arena *arena;	/* &rs->arena */
	const char *name;
	unsigned int line;
	unsigned int errors;
	/* Scratch space (malloc'd) for arrays that grow while parsing;
	   each is copied into the arena once its size is known. */
	struct rule *rules;
	size_t rules_alloc;
	struct token *tok;		/* one field's tokens */
	size_t tok_alloc;
	struct table_ref *tables;	/* rs->ntables of them */
	size_t tables_alloc;
	struct token **regex_tok;	/* regex tokens of good lines */
	size_t nregex, regex_alloc;
	struct regex **compiled;	/* every regex compiled, to free
					   them if the load fails */
	size_t ncompiled, compiled_alloc;
};

/* perror_line - report one error through the options' callback */
static void
perror_line(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
perror_line(struct parser *p, const char *fmt, ...)
{
	char msg[ERR_MAX];
	va_list ap;

	p->errors++;
	if (p->errors > RULE_MAX_ERRORS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->errors == RULE_MAX_ERRORS)
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
		    " (too many errors; giving up)");
	if (p->rs->opts.error_fn != NULL)
		p->rs->opts.error_fn(p->rs->opts.error_arg, p->name, p->line,
		    msg);
	else
		log_warnx("%s:%u: %s", p->name, p->line, msg);
}

/* grow - make room for one more element in a scratch array */
static int
grow(void *arrayp, size_t n, size_t *alloc, size_t size)
{
	void **array = arrayp;
	void *nv;
	size_t na;

	if (n < *alloc)
		return 0;
	na = *alloc == 0 ? 16 : *alloc * 2;
	if ((nv = reallocarray(*array, na, size)) == NULL)
		return -1;
	*array = nv;
	*alloc = na;
	return 0;
}

/* trim - strip blanks at both ends of [*s, *s + *len) */
static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && isblank((unsigned char)**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && isblank((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

/* is_word - s[0..len) equals the NUL-terminated word */
static int
is_word(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(s, word, len) == 0;
}

/* has_prefix - s[0..len) starts with the word */
static int
has_prefix(const char *s, size_t len, const char *word)
{
	size_t n = strlen(word);

	return len >= n && memcmp(s, word, n) == 0;
}

/* is_regex - a whole /regex/ token */
static int
is_regex(const char *s, size_t len)
{
	return len >= 2 && s[0] == '/' && s[len - 1] == '/';
}

/*
 * regex_opens - does the '/' at s[i] open a /regex/? It does at the start
 * of a token (which starts at s[start]), after the '@' of local@domain,
 * and after NS= or MX= at those places. Elsewhere a '/' is an ordinary
 * character, as in CDB=/dbs/cbl or 80.48.0.0/13.
 */
static int
regex_opens(const char *s, size_t start, size_t i)
{
	if (i == start || s[i - 1] == '@')
		return 1;
	if (i - start >= 3 && (memcmp(s + i - 3, "NS=", 3) == 0 ||
	    memcmp(s + i - 3, "MX=", 3) == 0))
		return i - 3 == start || s[i - 4] == '@';
	return 0;
}

/* valid_zone - a DNS name usable as a DNSBL zone */
static int
valid_zone(const char *s, size_t len)
{
	size_t i, label = 0;

	if (len == 0 || len > 200 || s[0] == '.' || s[len - 1] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!(isalnum(c) || c == '-' || c == '_') || ++label > 63)
			return 0;
	}
	return 1;
}

/* looks_like_ipv4 - digits and dots with three dots, maybe /bits */
static int
looks_like_ipv4(const char *s, size_t len)
{
	size_t i, dots = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '.')
			dots++;
		else if (!isdigit((unsigned char)s[i]) && s[i] != '/')
			return 0;
	}
	return dots == 3;
}

/* lower_copy - a lower-case NUL-terminated copy in the arena */
static char *
lower_copy(struct rule_arena *a, const char *s, size_t len)
{
	char *d = arena_strndup(a, s, len);
	size_t i;

	if (d != NULL)
		for (i = 0; i < len; i++)
			d[i] = (char)tolower((unsigned char)d[i]);
	return d;
}

/* compile_regex - TOK_REGEX from /.../ */
static int
compile_regex(struct parser *p, struct token *t, const char *s, size_t len)
{
	struct regex *re;
	char err[200];

	t->kind = TOK_REGEX;
	if (grow(&p->compiled, p->ncompiled, &p->compiled_alloc,
	    sizeof(*p->compiled)) == -1 ||
	    (t->pattern = arena_strndup(p->arena, s + 1, len - 2)) == NULL) {
		perror_line(p, "out of memory");
		return -1;
	}
	t->pattern_len = (uint32_t)(len - 2);
	if ((re = regex_compile(s + 1, len - 2, err, sizeof(err))) == NULL) {
		perror_line(p, "%.*s: %s", (int)(len > 80 ? 80 : len), s, err);
		return -1;
	}
	t->regex_no = (uint32_t)p->ncompiled;
	p->compiled[p->ncompiled++] = re;
	return 0;
}

/* compile_glob - TOK_GLOB */
static int
compile_glob(struct parser *p, struct token *t, const char *s, size_t len)
{
	t->kind = TOK_GLOB;
	if (glob_compile(p->arena, &t->glob, s, len) == -1) {
		perror_line(p, "out of memory");
		return -1;
	}
	return 0;
}

/* compile_prefix - TOK_PREFIX if s is an address or prefix; 1 if not */
static int
compile_prefix(struct parser *p, struct token *t, const char *s, size_t len)
{
	if (s[0] == '[' || looks_like_ipv4(s, len)) {
		if (net_prefix_parse(s, len, &t->prefix, 1) == -1) {
			perror_line(p, "bad IP address or prefix \"%.*s\"",
			    (int)(len > 80 ? 80 : len), s);
			return -1;
		}
		t->kind = TOK_PREFIX;
		return 0;
	}
	return 1;
}

/* compile_rbl - TOK_RBL from RBL.zone */
static int
compile_rbl(struct parser *p, struct token *t, const char *s, size_t len)
{
	const char *zone = s + 4;
	size_t zlen = len - 4;

	if (!valid_zone(zone, zlen)) {
		perror_line(p, "bad DNSBL zone in \"%.*s\"",
		    (int)(len > 80 ? 80 : len), s);
		return -1;
	}
	t->kind = TOK_RBL;
	if ((t->zone = lower_copy(p->arena, zone, zlen)) == NULL) {
		perror_line(p, "out of memory");
		return -1;
	}
	return 0;
}

/* rule_table_ops - the backend of a table; NULL if not in this build */
const struct lookup_ops *
rule_table_ops(enum table_kind kind, const char *path)
{
	switch (kind) {
	case TABLE_CDB:
		return &lookup_cdb_ops;
	case TABLE_HASH:
		return &lookup_db_ops;
	case TABLE_VALIDUSERS:
		return lookup_ops_for_path(path);
	case TABLE_IPBLOCK:
		return lookup_ops_by_name("IPBLOCK");
	}
	return NULL;
}

/* table_index - the index of (kind, path) in rs->tables, added if new */
static int
table_index(struct parser *p, enum table_kind kind, const char *path,
    size_t len, unsigned int *index)
{
	struct ruleset *rs = p->rs;
	struct table_ref *n;
	size_t i;

	for (i = 0; i < rs->ntables; i++)
		if (p->tables[i].kind == kind &&
		    strlen(p->tables[i].path) == len &&
		    memcmp(p->tables[i].path, path, len) == 0) {
			*index = (unsigned int)i;
			return 0;
		}
	if (grow(&p->tables, rs->ntables, &p->tables_alloc,
	    sizeof(*p->tables)) == -1) {
		perror_line(p, "out of memory");
		return -1;
	}
	n = &p->tables[rs->ntables];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	if ((n->path = arena_strndup(p->arena, path, len)) == NULL) {
		perror_line(p, "out of memory");
		return -1;
	}
	n->ops = rule_table_ops(kind, n->path);
	if (n->ops == NULL) {
		perror_line(p, "IPBLOCK= is not available in this build");
		return -1;
	}
	*index = (unsigned int)rs->ntables++;
	return 0;
}

/* compile_table - TOK_TABLE from CDB=, HASH=, VALIDUSERS= */
static int
compile_table(struct parser *p, struct token *t, const char *s, size_t len,
    enum field_id field)
{
	static const struct {
		const char *prefix;
		enum table_kind kind;
	} kinds[] = {
		{ "CDB=", TABLE_CDB },
		{ "HASH=", TABLE_HASH },
		{ "VALIDUSERS=", TABLE_VALIDUSERS },
		{ "IPBLOCK=", TABLE_IPBLOCK },
	};
	size_t i, n;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!has_prefix(s, len, kinds[i].prefix))
			continue;
		n = strlen(kinds[i].prefix);
		if (len == n) {
			perror_line(p, "%s needs a file name", kinds[i].prefix);
			return -1;
		}
		if (kinds[i].kind == TABLE_VALIDUSERS && field == FIELD_SOURCE) {
			perror_line(p, "VALIDUSERS= looks up envelope addresses; "
			    "it cannot be used in the source field");
			return -1;
		}
		if (kinds[i].kind == TABLE_IPBLOCK && field != FIELD_SOURCE) {
			perror_line(p, "IPBLOCK= looks up IP addresses; for the "
			    "name servers and mail exchangers of an address's "
			    "domain write NS=IPBLOCK=%.*s or MX=IPBLOCK=%.*s",
			    (int)(len - n > 80 ? 80 : len - n), s + n,
			    (int)(len - n > 80 ? 80 : len - n), s + n);
			return -1;
		}
		t->kind = TOK_TABLE;
		return table_index(p, kinds[i].kind, s + n, len - n, &t->table);
	}
	return 1;
}

/* compile_hostpat - the pattern after NS= or MX= */
static int
compile_hostpat(struct parser *p, struct token *t, const char *s, size_t len)
{
	int r;

	if (len == 0) {
		perror_line(p, "NS= and MX= need a pattern");
		return -1;
	}
	if (is_word(s, len, "ALL")) {
		t->kind = TOK_ALL;
		return 0;
	}
	if (is_word(s, len, "KNOWN")) {
		t->kind = TOK_KNOWN;
		return 0;
	}
	if (is_word(s, len, "UNKNOWN")) {
		t->kind = TOK_UNKNOWN;
		return 0;
	}
	if (has_prefix(s, len, "RBL."))
		return compile_rbl(p, t, s, len);
	if (has_prefix(s, len, "IPBLOCK="))
		return compile_table(p, t, s, len, FIELD_SOURCE);
	if (is_regex(s, len))
		return compile_regex(p, t, s, len);
	if ((r = compile_prefix(p, t, s, len)) <= 0)
		return r;
	if (memchr(s, '@', len) != NULL || memchr(s, '=', len) != NULL) {
		perror_line(p, "\"%.*s\" is not a host name pattern",
		    (int)(len > 80 ? 80 : len), s);
		return -1;
	}
	return compile_glob(p, t, s, len);
}

/* new_sub - a fresh sub-token */
static struct token *
new_sub(struct parser *p)
{
	struct token *t = arena_alloc(p->arena, sizeof(*t));

	if (t == NULL)
		perror_line(p, "out of memory");
	return t;
}

/* compile_nsmx - TOK_NS or TOK_MX */
static int
compile_nsmx(struct parser *p, struct token *t, const char *s, size_t len)
{
	t->kind = s[0] == 'N' ? TOK_NS : TOK_MX;
	if ((t->right = new_sub(p)) == NULL)
		return -1;
	if (compile_hostpat(p, t->right, s + 3, len - 3) == -1)
		return -1;
	t->needs_addrs = t->right->kind == TOK_PREFIX ||
	    t->right->kind == TOK_RBL || t->right->kind == TOK_TABLE ||
	    (t->right->kind == TOK_GLOB && t->right->glob.looks_numeric);
	return 0;
}

/* rightmost_at - the '@' that splits a token, outside /regex/ parts */
static const char *
rightmost_at(const char *s, size_t len)
{
	const char *at = NULL;
	size_t i;
	int in_re = 0;

	for (i = 0; i < len; i++) {
		if (in_re) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '/')
				in_re = 0;
			continue;
		}
		if (s[i] == '/' && regex_opens(s, 0, i))
			in_re = 1;
		else if (s[i] == '@')
			at = s + i;
	}
	return at;
}

/* compile_simple - ALL, /regex/ or glob, for a local part or user */
static int
compile_simple(struct parser *p, struct token *t, const char *s, size_t len)
{
	if (is_word(s, len, "ALL")) {
		t->kind = TOK_ALL;
		return 0;
	}
	if (is_regex(s, len))
		return compile_regex(p, t, s, len);
	return compile_glob(p, t, s, len);
}

static int compile_source(struct parser *, struct token *, const char *,
    size_t, int);

/* compile_ident - TOK_IDENT from user@hostpat */
static int
compile_ident(struct parser *p, struct token *t, const char *s, size_t len,
    const char *at)
{
	size_t ulen = (size_t)(at - s), hlen = len - ulen - 1;

	t->kind = TOK_IDENT;
	if (ulen == 0 || hlen == 0) {
		perror_line(p, "\"%.*s\": user@host needs both parts",
		    (int)(len > 80 ? 80 : len), s);
		return -1;
	}
	if ((t->left = new_sub(p)) == NULL || (t->right = new_sub(p)) == NULL)
		return -1;
	if (is_word(s, ulen, "KNOWN"))
		t->left->kind = TOK_KNOWN;
	else if (compile_simple(p, t->left, s, ulen) == -1)
		return -1;
	return compile_source(p, t->right, at + 1, hlen, 0);
}

/* compile_source - one token of the source field */
static int
compile_source(struct parser *p, struct token *t, const char *s, size_t len,
    int allow_ident)
{
	const char *at;
	int r;

	if (is_word(s, len, "ALL")) {
		t->kind = TOK_ALL;
		return 0;
	}
	if (is_word(s, len, "KNOWN")) {
		t->kind = TOK_KNOWN;
		return 0;
	}
	if (is_word(s, len, "UNKNOWN")) {
		t->kind = TOK_UNKNOWN;
		return 0;
	}
	if (is_word(s, len, "TRUSTED") || is_word(s, len, "UNTRUSTED")) {
		perror_line(p, "%.*s (Juniper firewall interfaces) is not "
		    "supported", (int)len, s);
		return -1;
	}
	if (has_prefix(s, len, "RBL."))
		return compile_rbl(p, t, s, len);
	if (has_prefix(s, len, "NS=") || has_prefix(s, len, "MX="))
		return compile_nsmx(p, t, s, len);
	if ((r = compile_table(p, t, s, len, FIELD_SOURCE)) <= 0)
		return r;
	if (is_regex(s, len))
		return compile_regex(p, t, s, len);
	if ((at = rightmost_at(s, len)) != NULL) {
		if (!allow_ident) {
			perror_line(p, "\"%.*s\": only one user@ part is allowed",
			    (int)(len > 80 ? 80 : len), s);
			return -1;
		}
		return compile_ident(p, t, s, len, at);
	}
	if ((r = compile_prefix(p, t, s, len)) <= 0)
		return r;
	return compile_glob(p, t, s, len);
}

/* compile_domainpat - the domain part of local@domain; a table or a
   client word there would be taken as a glob that never matches */
static int
compile_domainpat(struct parser *p, struct token *t, const char *s, size_t len)
{
	if (has_prefix(s, len, "NS=") || has_prefix(s, len, "MX="))
		return compile_nsmx(p, t, s, len);
	if (memchr(s, '=', len) != NULL) {
		perror_line(p, "\"%.*s\": a table is not a domain pattern; "
		    "write it as the whole field (it is looked up with the "
		    "address and its domain)", (int)(len > 80 ? 80 : len), s);
		return -1;
	}
	if (is_word(s, len, "KNOWN") || is_word(s, len, "UNKNOWN")) {
		perror_line(p, "%.*s applies to the client, not to the domain "
		    "of an address", (int)len, s);
		return -1;
	}
	return compile_simple(p, t, s, len);
}

/* compile_address - one token of the from or to field */
static int
compile_address(struct parser *p, struct token *t, const char *s, size_t len,
    enum field_id field)
{
	const char *at;
	size_t llen;
	int r;

	if (is_word(s, len, "ALL")) {
		t->kind = TOK_ALL;
		return 0;
	}
	if (is_word(s, len, "KNOWN") || is_word(s, len, "UNKNOWN")) {
		perror_line(p, "%.*s applies to the client; for an address's "
		    "domain write NS=%.*s", (int)len, s, (int)len, s);
		return -1;
	}
	if (has_prefix(s, len, "RBL.")) {
		perror_line(p, "RBL. applies to the client address; for the "
		    "name servers of an address's domain write NS=%.*s",
		    (int)(len > 80 ? 80 : len), s);
		return -1;
	}
	if (has_prefix(s, len, "NS=") || has_prefix(s, len, "MX="))
		return compile_nsmx(p, t, s, len);
	if ((r = compile_table(p, t, s, len, field)) <= 0)
		return r;
	if (is_regex(s, len))
		return compile_regex(p, t, s, len);
	if ((at = rightmost_at(s, len)) != NULL) {
		t->kind = TOK_AT;
		llen = (size_t)(at - s);
		if ((t->left = new_sub(p)) == NULL ||
		    (t->right = new_sub(p)) == NULL)
			return -1;
		if (is_word(s, llen, "USER"))
			t->left->kind = TOK_USER;
		else if (compile_simple(p, t->left, s, llen) == -1)
			return -1;
		return compile_domainpat(p, t->right, at + 1, len - llen - 1);
	}
	return compile_glob(p, t, s, len);
}

/* token_cost - what evaluating a token may cost */
static enum field_cost
token_cost(const struct token *t)
{
	enum field_cost a, b;

	switch (t->kind) {
	case TOK_EXCEPT:
	case TOK_ALL:
		return COST_FREE;
	case TOK_KNOWN:
	case TOK_UNKNOWN:
	case TOK_PREFIX:
	case TOK_GLOB:
		return COST_CHEAP;
	case TOK_REGEX:
		return COST_REGEX;
	case TOK_TABLE:
		return COST_TABLE;
	case TOK_RBL:
	case TOK_NS:
	case TOK_MX:
	case TOK_IDENT:
	case TOK_USER:
		return COST_LOOKUP;
	case TOK_AT:
		a = token_cost(t->left);
		b = token_cost(t->right);
		return a > b ? a : b;
	}
	return COST_LOOKUP;
}

/* next_token - the next token of a field; 0 at the end, -1 on error */
static int
next_token(struct parser *p, const char **s, const char *end,
    const char **tok, size_t *len)
{
	const char *q = *s;
	int in_re = 0, depth = 0;

	while (q < end && (isblank((unsigned char)*q) || *q == ','))
		q++;
	if (q == end)
		return 0;
	*tok = q;
	for (; q < end; q++) {
		if (in_re) {
			if (*q == '\\' && q + 1 < end)
				q++;
			else if (*q == '/')
				in_re = 0;
			continue;
		}
		if (*q == '/' && regex_opens(*tok, 0, (size_t)(q - *tok)))
			in_re = 1;
		else if (*q == '[')
			depth++;
		else if (*q == ']')
			depth--;
		else if (depth == 0 && (isblank((unsigned char)*q) || *q == ','))
			break;
	}
	if (in_re) {
		perror_line(p, "unterminated /regex/ \"%.*s\"",
		    (int)(q - *tok > 80 ? 80 : q - *tok), *tok);
		return -1;
	}
	*len = (size_t)(q - *tok);
	*s = q;
	return 1;
}

/* compile_field - tokenise and compile one of the three fields */
static int
compile_field(struct parser *p, struct field *f, enum field_id id,
    const char *s, size_t len)
{
	const char *end = s + len, *cur = s, *tok;
	size_t tlen, n = 0;
	int r, prev_except = 1, status = 0;
	struct token *t;

	trim(&s, &len);
	if (len == 0) {
		perror_line(p, "empty %s field", field_names[id]);
		return -1;
	}
	while ((r = next_token(p, &cur, end, &tok, &tlen)) == 1) {
		if (n >= RULE_MAX_TOKENS) {
			perror_line(p, "more than %d tokens in the %s field",
			    RULE_MAX_TOKENS, field_names[id]);
			return -1;
		}
		if (grow(&p->tok, n, &p->tok_alloc, sizeof(*p->tok)) == -1) {
			perror_line(p, "out of memory");
			return -1;
		}
		t = &p->tok[n];
		memset(t, 0, sizeof(*t));
		f->ntok = (uint32_t)++n;
		if (tlen == 6 && strncasecmp(tok, "except", 6) == 0) {
			if (prev_except) {
				perror_line(p, "EXCEPT needs a token before it "
				    "in the %s field", field_names[id]);
				status = -1;
			}
			t->kind = TOK_EXCEPT;
			prev_except = 1;
			continue;
		}
		prev_except = 0;
		if (id == FIELD_SOURCE)
			r = compile_source(p, t, tok, tlen, 1);
		else
			r = compile_address(p, t, tok, tlen, id);
		if (r == -1)
			status = -1;
		if (token_cost(t) > f->cost)
			f->cost = token_cost(t);
	}
	if (r == -1)
		return -1;
	if (prev_except && status == 0) {
		perror_line(p, "EXCEPT needs a token after it in the %s field",
		    field_names[id]);
		return -1;
	}
	if (status == -1)
		return -1;
	/* The tokens move into the arena; sub-tokens are there already. */
	if ((f->tok = arena_array(p->arena, n, sizeof(*t))) == NULL) {
		perror_line(p, "out of memory");
		return -1;
	}
	memcpy(f->tok, p->tok, n * sizeof(*t));
	f->is_all = f->ntok == 1 && f->tok[0].kind == TOK_ALL;
	return 0;
}

/* parse_action - the first field */
static int
parse_action(const char *s, size_t len, enum rule_action *a)
{
	static const struct {
		const char *word;
		enum rule_action action;
	} words[] = {
		{ "allow", RULE_ALLOW },
		{ "deny", RULE_DENY },
		{ "noto", RULE_NOTO },
		{ "noto_delay", RULE_NOTO_DELAY },
		{ "noto-delay", RULE_NOTO_DELAY },
		{ "deny_delay", RULE_DENY_DELAY },
		{ "deny-delay", RULE_DENY_DELAY },
		{ "debug", RULE_DEBUG },
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (is_word(s, len, words[i].word)) {
			*a = words[i].action;
			return 0;
		}
	return -1;
}

/* split_reply - separate the reply from a trailing ":# comment" */
static void
split_reply(const char *s, size_t len, const char **reply, size_t *rlen,
    const char **comment, size_t *clen)
{
	size_t i, j;

	*comment = NULL;
	*clen = 0;
	trim(&s, &len);
	if (len > 0 && s[0] == '#') {
		*reply = s;
		*rlen = 0;
		*comment = s + 1;
		*clen = len - 1;
		trim(comment, clen);
		return;
	}
	for (i = 0; i < len; i++) {
		if (s[i] != ':')
			continue;
		for (j = i + 1; j < len && isblank((unsigned char)s[j]); j++)
			;
		if (j < len && s[j] == '#') {
			*comment = s + j + 1;
			*clen = len - j - 1;
			trim(comment, clen);
			len = i;
			break;
		}
	}
	*reply = s;
	*rlen = len;
	trim(reply, rlen);
}

/* check_reply - a reply must start with a 4xx or 5xx code */
static int
check_reply(struct parser *p, const struct rule *r)
{
	const char *s = r->reply;

	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    !isdigit((unsigned char)s[2]) || (s[3] != '\0' && s[3] != ' ' &&
	    s[3] != '-')) {
		perror_line(p, "reply must start with a three-digit SMTP code: "
		    "\"%.40s\"", s);
		return -1;
	}
	if (s[3] == '-') {
		perror_line(p, "reply must be a single line (\"%.3s \", not "
		    "\"%.3s-\")", s, s);
		return -1;
	}
	if (r->action != RULE_ALLOW && r->action != RULE_DEBUG &&
	    s[0] != '4' && s[0] != '5') {
		perror_line(p, "a %s reply must be 4xx or 5xx, not %.3s",
		    rule_action_name(r->action), s);
		return -1;
	}
	return 0;
}

/* field_order - evaluate the cheapest fields first (stable) */
static void
field_order(struct rule *r)
{
	int i, j;

	for (i = 0; i < FIELD_COUNT; i++)
		r->order[i] = (enum field_id)i;
	for (i = 1; i < FIELD_COUNT; i++)
		for (j = i; j > 0 && r->field[r->order[j]].cost <
		    r->field[r->order[j - 1]].cost; j--) {
			uint8_t tmp = r->order[j];

			r->order[j] = r->order[j - 1];
			r->order[j - 1] = tmp;
		}
}

/* collect_regex - remember the regex tokens of a good line's token */
static int
collect_regex(struct parser *p, struct token *t)
{
	if (t == NULL)
		return 0;
	if (t->kind == TOK_REGEX) {
		if (grow(&p->regex_tok, p->nregex, &p->regex_alloc,
		    sizeof(*p->regex_tok)) == -1)
			return -1;
		p->regex_tok[p->nregex++] = t;
	}
	if (collect_regex(p, t->left) == -1)
		return -1;
	return collect_regex(p, t->right);
}

/* parse_line - compile one non-comment line; s[len] is NUL and s stays
   in the arena as the rule's text */
static void
parse_line(struct parser *p, char *s, size_t len)
{
	struct ruleset *rs = p->rs;
	const char *f[5], *reply, *comment;
	size_t flen[5], rlen, clen, i, start = 0, nparts = 0;
	size_t tok = 0;
	int nf = 0, depth = 0, bad = 0, id, in_re = 0;
	struct rule *r;
	char err[ERR_MAX];

	/* Split at the first four colons outside [brackets] and /regex/. */
	for (i = 0; i <= len && nf < 4; i++) {
		if (i < len && in_re) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '/')
				in_re = 0;
			continue;
		}
		if (i < len && s[i] == '/' && nf > 0 && regex_opens(s, tok, i)) {
			in_re = 1;
			continue;
		}
		if (i < len && s[i] == '[')
			depth++;
		else if (i < len && s[i] == ']')
			depth--;
		if (i == len || (s[i] == ':' && depth <= 0)) {
			f[nf] = s + start;
			flen[nf] = i - start;
			nf++;
			start = i + 1;
			tok = i + 1;
		} else if (isblank((unsigned char)s[i]) || s[i] == ',')
			tok = i + 1;
	}
	if (in_re) {
		perror_line(p, "unterminated /regex/");
		return;
	}
	if (depth > 0) {
		perror_line(p, "unbalanced [ (IPv6 addresses are written "
		    "[2001:db8::]/32)");
		return;
	}
	if (nf < 4) {
		perror_line(p, "expected action:source:from:to[:reply], found "
		    "%d field%s", nf, nf == 1 ? "" : "s");
		return;
	}
	if (start <= len) {
		f[4] = s + start;
		flen[4] = len - start;
		nf = 5;
	}
	if (grow(&p->rules, rs->nrules, &p->rules_alloc, sizeof(*p->rules)) ==
	    -1) {
		perror_line(p, "out of memory");
		return;
	}
	r = &p->rules[rs->nrules];
	memset(r, 0, sizeof(*r));
	r->line = p->line;
	trim(&f[0], &flen[0]);
	if (parse_action(f[0], flen[0], &r->action) == -1) {
		perror_line(p, "unknown action \"%.*s\" (allow, deny, noto, "
		    "noto_delay, deny_delay, debug)",
		    (int)(flen[0] > 40 ? 40 : flen[0]), f[0]);
		bad = 1;
	}
	for (id = 0; id < FIELD_COUNT; id++)
		if (compile_field(p, &r->field[id], (enum field_id)id,
		    f[id + 1], flen[id + 1]) == -1)
			bad = 1;
	if (nf == 5) {
		split_reply(f[4], flen[4], &reply, &rlen, &comment, &clen);
		if (rlen > 0 &&
		    (r->reply = arena_strndup(p->arena, reply, rlen)) == NULL)
			bad = 1;
		if (comment != NULL && (r->comment = arena_strndup(p->arena,
		    comment, clen)) == NULL)
			bad = 1;
		if (r->reply != NULL && !bad) {
			if (check_reply(p, r) == -1)
				bad = 1;
			else if (reply_compile(p->arena, r->reply, &r->parts,
			    &nparts, err, sizeof(err)) == -1) {
				perror_line(p, "%s", err);
				bad = 1;
			}
			r->nparts = (uint32_t)nparts;
		}
	}
	r->text = s;
	if (bad)
		return;		/* what it took stays in the arena */
	for (id = 0; id < FIELD_COUNT; id++)
		for (i = 0; i < r->field[id].ntok; i++)
			if (collect_regex(p, &r->field[id].tok[i]) == -1) {
				perror_line(p, "out of memory");
				return;
			}
	field_order(r);
	rs->nrules++;
}

/* ruleset_free - release a ruleset: its regexes, then its arena */
void
ruleset_free(struct ruleset *rs)
{
	size_t i;

	if (rs == NULL)
		return;
	ruleset_unshare(rs);
	for (i = 0; rs->regex != NULL && i < rs->nregex; i++)
		regex_free(rs->regex[i]);
	if (rs->image_base != NULL)
		rule_image_unmap(rs);
	arena_release(&rs->arena);
	free(rs);
}

/* parser_done - release the parser's scratch space; on failure also
   every regex it compiled */
static void
parser_done(struct parser *p, int failed)
{
	size_t i;

	if (failed)
		for (i = 0; i < p->ncompiled; i++)
			regex_free(p->compiled[i]);
	free(p->compiled);
	free(p->regex_tok);
	free(p->tok);
	free(p->rules);
	free(p->tables);
}

/* finish - move the scratch arrays into the arena and build the index */
static int
finish(struct parser *p)
{
	struct ruleset *rs = p->rs;

	rs->rules = arena_array(p->arena, rs->nrules, sizeof(*rs->rules));
	rs->regex_tok = arena_array(p->arena, p->nregex,
	    sizeof(*rs->regex_tok));
	rs->regex = arena_array(p->arena, p->ncompiled, sizeof(*rs->regex));
	if (rs->rules == NULL || rs->regex_tok == NULL || rs->regex == NULL)
		return -1;
	/* Every regex compiled is a good line's: one per token. */
	if (p->nregex != p->ncompiled) {
		errno = EINVAL;
		return -1;
	}
	if (p->ncompiled > 0)
		memcpy(rs->regex, p->compiled,
		    p->ncompiled * sizeof(*rs->regex));
	if (rs->nrules > 0)
		memcpy(rs->rules, p->rules, rs->nrules * sizeof(*rs->rules));
	if (p->nregex > 0)
		memcpy(rs->regex_tok, p->regex_tok,
		    p->nregex * sizeof(*rs->regex_tok));
	rs->nregex = p->nregex;
	if (rs->ntables > 0) {
		rs->tables = arena_array(p->arena, rs->ntables,
		    sizeof(*rs->tables));
		if (rs->tables == NULL)
			return -1;
		memcpy(rs->tables, p->tables,
		    rs->ntables * sizeof(*rs->tables));
	}
	if (!rs->opts.no_index &&
	    (rs->index = rule_index_build(p->arena, rs)) == NULL)
		return -1;
	return 0;
}

/*
 * ruleset_compile - compile rules from memory into a new ruleset whose
 * arena is region (moved into the ruleset), or a fresh chunk arena if
 * region is NULL. On failure the region is released too.
 */
struct ruleset *
ruleset_compile(const char *name, const char *buf, size_t len,
    const struct rule_options *opts, struct rule_arena *region)
{
	struct parser p;
	struct ruleset *rs;
	char *s, *end, *nl, *q;
	const char *reply;
	size_t l;
	char err[ERR_MAX];

	if ((rs = calloc(1, sizeof(*rs))) == NULL) {
		if (region != NULL)
			arena_release(region);
		return NULL;
	}
	if (region != NULL)
		rs->arena = *region;
	else
		arena_init(&rs->arena);
	if (opts != NULL)
		rs->opts = *opts;
	else
		rs->opts.default_action = RULE_ALLOW;
	memset(&p, 0, sizeof(p));
	p.rs = rs;
	p.arena = &rs->arena;
	p.name = name;
	reply = rs->opts.default_reply != NULL ? rs->opts.default_reply :
	    RULE_ORIGINAL_REPLY;
	/* The text is kept: each rule's text points into this copy. */
	if ((rs->path = arena_strndup(p.arena, name, strlen(name))) == NULL ||
	    (s = arena_strndup(p.arena, buf, len)) == NULL) {
		ruleset_free(rs);
		errno = ENOMEM;
		return NULL;
	}
	end = s + len;
	rs->default_reply = arena_strndup(p.arena, reply, strlen(reply));
	if (rs->default_reply == NULL || reply_compile(p.arena,
	    rs->default_reply, &rs->default_parts, &rs->default_nparts, err,
	    sizeof(err)) == -1) {
		perror_line(&p, "default reply: %s", rs->default_reply != NULL ?
		    err : "out of memory");
		ruleset_free(rs);
		errno = EINVAL;
		return NULL;
	}
	while (s < end && p.errors < RULE_MAX_ERRORS) {
		p.line++;
		nl = memchr(s, '\n', (size_t)(end - s));
		l = nl != NULL ? (size_t)(nl - s) : (size_t)(end - s);
		q = s;
		s = nl != NULL ? nl + 1 : end;
		if (p.line > RULE_MAX_LINES) {
			perror_line(&p, "more than %d lines", RULE_MAX_LINES);
			break;
		}
		if (l > 0 && q[l - 1] == '\r')
			l--;
		if (l > RULE_MAX_LINE) {
			perror_line(&p, "line longer than %d bytes",
			    RULE_MAX_LINE);
			continue;
		}
		if (memchr(q, '\0', l) != NULL) {
			perror_line(&p, "NUL byte in line");
			continue;
		}
		trim((const char **)&q, &l);
		if (l == 0 || q[0] == '#')
			continue;
		q[l] = '\0';
		parse_line(&p, q, l);
	}
	if (p.errors > 0) {
		parser_done(&p, 1);
		ruleset_free(rs);
		errno = EINVAL;
		return NULL;
	}
	if (finish(&p) == -1) {
		rs->nregex = 0;
		parser_done(&p, 1);
		ruleset_free(rs);
		errno = ENOMEM;
		return NULL;
	}
	parser_done(&p, 0);
	return rs;
}

/* ruleset_load_buffer - compile rules from memory */
struct ruleset *
ruleset_load_buffer(const char *name, const char *buf, size_t len,
    const struct rule_options *opts)
{
	return ruleset_compile(name, buf, len, opts, NULL);
}

/* rule_read_file - a rules file's contents (malloc'd) and its status;
   -1 with errno set */
int
rule_read_file(const char *path, char **bufp, size_t *lenp, struct stat *st)
{
	char *buf;
	size_t got = 0;
	ssize_t n;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, st) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (!S_ISREG(st->st_mode) || st->st_size > RULE_FILE_MAX) {
		close(fd);
		errno = S_ISREG(st->st_mode) ? EFBIG : EINVAL;
		return -1;
	}
	if ((buf = malloc((size_t)st->st_size + 1)) == NULL) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	while (got < (size_t)st->st_size) {
		n = read(fd, buf + got, (size_t)st->st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	saved = errno;
	close(fd);
	if (got != (size_t)st->st_size) {
		free(buf);
		errno = got > 0 ? EIO : saved;
		return -1;
	}
	*bufp = buf;
	*lenp = got;
	return 0;
}

/* rule_read_error - "cannot read rules" through error_fn or the log */
void
rule_read_error(const char *path, const struct rule_options *opts, int e)
{
	if (opts != NULL && opts->error_fn != NULL) {
		char msg[ERR_MAX];

		snprintf(msg, sizeof(msg), "cannot read rules: %s",
		    strerror(e));
		opts->error_fn(opts->error_arg, path, 0, msg);
	} else
		log_warnx("%s: cannot read rules: %s", path, strerror(e));
}

/* ruleset_load - read and compile a rules file, or map its image */
struct ruleset *
ruleset_load(const char *path, const struct rule_options *opts)
{
	struct ruleset *rs;
	struct stat st;
	char *buf, why[ERR_MAX];
	size_t len;
	int saved;

	if (opts != NULL && opts->use_image) {
		if ((rs = ruleset_image_load(path, opts, 0, why,
		    sizeof(why))) != NULL) {
			log_debug("event=rules-image file=%s.image rules=%zu",
			    path, rs->nrules);
			return rs;
		}
		if (why[0] != '\0')
			log_warnx("event=rules-image file=%s.image: not used, "
			    "compiling the rules file instead: %s", path, why);
	}
	if (rule_read_file(path, &buf, &len, &st) == -1) {
		saved = errno;
		rule_read_error(path, opts, saved);
		errno = saved;
		return NULL;
	}
	rs = ruleset_load_buffer(path, buf, len, opts);
	saved = errno;
	free(buf);
	errno = saved;
	return rs;
}

/* ruleset_path - the file name */
const char *
ruleset_path(const struct ruleset *rs)
{
	return rs->path;
}

/* ruleset_rule_count - number of rule lines */
size_t
ruleset_rule_count(const struct ruleset *rs)
{
	return rs->nrules;
}

/* ruleset_line_text - the text of a line */
const char *
ruleset_line_text(const struct ruleset *rs, unsigned int line)
{
	size_t lo = 0, hi = rs->nrules;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rs->rules[mid].line == line)
			return rs->rules[mid].text;
		if (rs->rules[mid].line < line)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* rule_action_name - the action as written (underscore spelling) */
const char *
rule_action_name(enum rule_action action)
{
	switch (action) {
	case RULE_ALLOW: return "allow";
	case RULE_DENY: return "deny";
	case RULE_NOTO: return "noto";
	case RULE_NOTO_DELAY: return "noto_delay";
	case RULE_DENY_DELAY: return "deny_delay";
	case RULE_DEBUG: return "debug";
	}
	return "unknown";
}
