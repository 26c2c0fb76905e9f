/* rule_eval.c - first-match evaluation of a ruleset for one recipient */
/*
 * Matching is three-valued (M_NO, M_YES, M_TEMP) with Kleene logic: a
 * list matches if any token matches, even if another failed temporarily;
 * a line fails if any field surely fails. A line that might match but
 * could not be decided ends the scan with RULE_TEMPFAIL. Fields are
 * evaluated cheapest first (rule_parse.c orders them), so a line whose
 * address field fails never costs a DNS query.
 * The session holds everything learnt: the client name and ident, open
 * tables, and (through struct resolv) every DNS answer.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "rule_int.h"

#define TEMPFAIL_REPLY \
	"451 4.4.3 Temporary failure evaluating rules, try again later"
#define IDENT_MAX	128

enum fact_state {
	FACT_PENDING,
	FACT_KNOWN,
	FACT_NONE,
	FACT_TEMP
};

struct table_state {
	void *handle;
	int tried;
	int is_shared;		/* handle is the ruleset's: not ours to close */
	char error[LOOKUP_ERR_MAX];
	/* Results for the source field last the session; the address
	   fields' last one decision (gen). */
	struct {
		unsigned long gen;
		enum match m;
		char value[RULE_VALUE_MAX];
	} cache[FIELD_COUNT];
};

struct rule_session {
	const struct ruleset *rs;
	struct rule_client client;
	struct resolv *dns;
	char ip[NET_ADDR_TEXT];
	enum fact_state name_state;
	char name[RESOLV_NAME_MAX];
	enum fact_state ident_state;
	char ident[IDENT_MAX];
	struct table_state *tables;
	unsigned long gen;
	rule_trace_fn *trace;
	void *trace_arg;
	/* rule_index.c candidates: the client's for the session, the
	   addresses' for the current decision */
	int client_ready;
	struct rule_cands client_cands, from_cands, to_cands;
};

/* Per-decision state. */
struct eval {
	struct rule_session *s;
	const char *addr[FIELD_COUNT];	/* from/to: stripped, lower case */
	size_t len[FIELD_COUNT];
	enum field_id field;
	char value[RULE_VALUE_MAX];
	char reason[RULE_REASON_MAX];
	char from_buf[RULE_ADDR_MAX + 1];
	char to_buf[RULE_ADDR_MAX + 1];
};

static enum match table_addr_match(struct eval *, const struct token *,
    const struct net_addr *, int);

/* tempfail - note why a match failed temporarily (first reason wins) */
static enum match
tempfail(struct eval *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static enum match
tempfail(struct eval *e, const char *fmt, ...)
{
	va_list ap;

	if (e->reason[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
		va_end(ap);
	}
	return M_TEMP;
}

/*
 * ident_clean - the ident answer in lower case, with everything but
 * letters, digits and ._-+ made '?', so that a hostile answer cannot
 * forge the "user@host(ip)" part of a log line.
 */
static void
ident_clean(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i + 1 < size; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = isalnum(c) || c == '.' || c == '_' || c == '-' ||
		    c == '+' ? (char)tolower(c) : '?';
	}
	dst[i] = '\0';
}

/* rule_session_new - per-connection state */
struct rule_session *
rule_session_new(const struct ruleset *rs, const struct rule_client *client,
    struct resolv *dns)
{
	struct rule_session *s;
	size_t i;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if (rs->ntables > 0 &&
	    (s->tables = calloc(rs->ntables, sizeof(*s->tables))) == NULL) {
		free(s);
		return NULL;
	}
	s->rs = rs;
	s->client = *client;
	s->dns = dns;
	net_addr_format(&client->addr, s->ip);
	if (client->resolve_name)
		s->name_state = FACT_PENDING;
	else if (client->name != NULL && client->name[0] != '\0' &&
	    strcmp(client->name, "UNKNOWN") != 0) {
		s->name_state = FACT_KNOWN;
		snprintf(s->name, sizeof(s->name), "%s", client->name);
		for (i = 0; s->name[i] != '\0'; i++)
			s->name[i] = (char)tolower((unsigned char)s->name[i]);
	} else
		s->name_state = FACT_NONE;
	if (client->ident != NULL && client->ident[0] != '\0' &&
	    strcmp(client->ident, "UNKNOWN") != 0) {
		s->ident_state = FACT_KNOWN;
		ident_clean(s->ident, sizeof(s->ident), client->ident);
	} else
		s->ident_state = client->ident_fn != NULL ? FACT_PENDING :
		    FACT_NONE;
	s->client.name = NULL;
	s->client.ident = NULL;
	s->client.helo = NULL;
	return s;
}

/* rule_session_free - close tables and free the session */
void
rule_session_free(struct rule_session *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->rs->ntables; i++)
		if (s->tables[i].handle != NULL && !s->tables[i].is_shared)
			s->rs->tables[i].ops->close(s->tables[i].handle);
	free(s->tables);
	free(s->client_cands.v);
	free(s->from_cands.v);
	free(s->to_cands.v);
	free(s);
}

/* rule_session_trace - set the verbose trace callback */
void
rule_session_trace(struct rule_session *s, rule_trace_fn *fn, void *arg)
{
	s->trace = fn;
	s->trace_arg = arg;
}

/* session_name - the client's verified name, resolving it if needed */
static enum fact_state
session_name(struct rule_session *s)
{
	char name[RESOLV_NAME_MAX];
	size_t i;

	if (s->name_state != FACT_PENDING)
		return s->name_state;
	if (s->dns == NULL)
		return FACT_TEMP;	/* not cached: a resolver may come */
	switch (resolv_fcrdns(s->dns, &s->client.addr, name, sizeof(name))) {
	case RESOLV_FOUND:
		for (i = 0; name[i] != '\0'; i++)
			name[i] = (char)tolower((unsigned char)name[i]);
		snprintf(s->name, sizeof(s->name), "%s", name);
		s->name_state = FACT_KNOWN;
		break;
	case RESOLV_NOTFOUND:
		s->name_state = FACT_NONE;
		break;
	case RESOLV_TEMPFAIL:
		/* Not kept: the resolver keeps a DNS failure for the
		   session itself, but not a decision's spent budget, which
		   must not decide for the next recipient. */
		return FACT_TEMP;
	}
	return s->name_state;
}

/* rule_session_name - the client name for logs and %H */
const char *
rule_session_name(struct rule_session *s)
{
	return session_name(s) == FACT_KNOWN ? s->name : "UNKNOWN";
}

/* session_ident - the ident user, asking once if a callback is set */
static enum fact_state
session_ident(struct rule_session *s)
{
	char buf[IDENT_MAX];

	if (s->ident_state != FACT_PENDING)
		return s->ident_state;
	s->ident_state = FACT_NONE;
	if (s->client.ident_fn(s->client.ident_arg, buf, sizeof(buf)) == 1 &&
	    buf[0] != '\0') {
		buf[sizeof(buf) - 1] = '\0';
		ident_clean(s->ident, sizeof(s->ident), buf);
		s->ident_state = FACT_KNOWN;
	}
	return s->ident_state;
}

/* rule_session_ident - the ident user for logs and %U */
const char *
rule_session_ident(struct rule_session *s)
{
	return session_ident(s) == FACT_KNOWN ? s->ident : "UNKNOWN";
}

/* match_text - glob or regex on a string */
static enum match
match_text(struct eval *e, const struct token *t, const char *s, size_t len)
{
	int r;

	switch (t->kind) {
	case TOK_ALL:
		return M_YES;
	case TOK_GLOB:
		return glob_match(&t->glob, s, len) ? M_YES : M_NO;
	case TOK_REGEX:
		r = regex_match(e->s->rs->regex[t->regex_no], s, len,
		    e->s->rs->opts.regex_match_limit);
		if (r < 0)
			return tempfail(e, "regex match limit reached");
		return r ? M_YES : M_NO;
	default:
		return M_NO;
	}
}

/* need_dns - the resolver, or a temporary failure if there is none */
static struct resolv *
need_dns(struct eval *e)
{
	if (e->s->dns == NULL)
		tempfail(e, "no DNS resolver");
	return e->s->dns;
}

/* dnsbl - is addr listed in zone */
static enum match
dnsbl(struct eval *e, const struct net_addr *addr, const char *zone,
    int keep_value)
{
	char rev[NET_ADDR_REVERSE], name[NET_ADDR_REVERSE + 256], text[NET_ADDR_TEXT];
	const struct resolv_answer *a;
	struct resolv *dns;
	size_t i;

	if ((dns = need_dns(e)) == NULL)
		return M_TEMP;
	snprintf(name, sizeof(name), "%s.%s", net_addr_reverse(addr, rev), zone);
	a = resolv_lookup(dns, name, RESOLV_A);
	if (a->status == RESOLV_NOTFOUND)
		return M_NO;
	if (a->status == RESOLV_TEMPFAIL)
		return tempfail(e, "DNS %s looking up %s", a->error, name);
	for (i = 0; i < a->count; i++) {
		const uint8_t *b = a->addrs[i].bytes;

		if (a->addrs[i].family != NET_V4 || b[0] != 127 ||
		    (b[1] == 255 && b[2] == 255))
			return tempfail(e, "DNSBL %s answered %s, an error code, "
			    "not a listing", zone, net_addr_format(&a->addrs[i],
			    text));
	}
	if (keep_value && a->count > 0)
		net_addr_format(&a->addrs[0], e->value);
	return a->count > 0 ? M_YES : M_NO;
}

/* domain_known - KNOWN/UNKNOWN for NS= (mx_only 0) or MX= (mx_only 1) */
static enum match
domain_known(struct eval *e, const char *domain, int mx_only)
{
	struct resolv_request req[4] = {
		{ domain, RESOLV_A, NULL },
		{ domain, RESOLV_AAAA, NULL },
		{ domain, RESOLV_MX, NULL },
		{ domain, RESOLV_NS, NULL },
	};
	size_t i, n = mx_only ? 3 : 4;
	struct resolv *dns;
	int temp = 0;

	if ((dns = need_dns(e)) == NULL)
		return M_TEMP;
	resolv_lookup_many(dns, req, n);
	for (i = 0; i < n; i++) {
		if (req[i].answer->status == RESOLV_FOUND)
			return M_YES;
		if (req[i].answer->status == RESOLV_TEMPFAIL && !temp) {
			temp = 1;
			tempfail(e, "DNS %s looking up %s of %s",
			    req[i].answer->error, resolv_type_name(req[i].type),
			    domain);
		}
	}
	return temp ? M_TEMP : M_NO;
}

/* host_match - a host pattern against one NS/MX host name */
static enum match
host_match(struct eval *e, const struct token *pat, const char *host,
    int keep_value)
{
	struct resolv_request req[2] = {
		{ host, RESOLV_A, NULL },
		{ host, RESOLV_AAAA, NULL },
	};
	char text[NET_ADDR_TEXT];
	enum match m, result = M_NO;
	size_t i, j;

	if (pat->kind != TOK_PREFIX && pat->kind != TOK_RBL &&
	    pat->kind != TOK_TABLE) {
		m = match_text(e, pat, host, strlen(host));
		if (m == M_YES || pat->kind != TOK_GLOB ||
		    !pat->glob.looks_numeric)
			return m;
		result = m;
	}
	resolv_lookup_many(e->s->dns, req, 2);
	for (i = 0; i < 2; i++) {
		const struct resolv_answer *a = req[i].answer;

		if (a->status == RESOLV_TEMPFAIL) {
			tempfail(e, "DNS %s looking up %s of %s", a->error,
			    resolv_type_name(req[i].type), host);
			result = M_TEMP;
			continue;
		}
		for (j = 0; j < a->count; j++) {
			switch (pat->kind) {
			case TOK_PREFIX:
				m = net_prefix_contains(&pat->prefix,
				    &a->addrs[j]) ? M_YES : M_NO;
				break;
			case TOK_RBL:
				m = dnsbl(e, &a->addrs[j], pat->zone,
				    keep_value);
				break;
			case TOK_TABLE:
				m = table_addr_match(e, pat, &a->addrs[j],
				    keep_value);
				break;
			default:
				net_addr_format(&a->addrs[j], text);
				m = match_text(e, pat, text, strlen(text));
				break;
			}
			if (m == M_YES)
				return M_YES;
			if (m == M_TEMP)
				result = M_TEMP;
		}
	}
	return result;
}

/* nsmx_match - NS=pat or MX=pat on a domain */
static enum match
nsmx_match(struct eval *e, const struct token *t, const char *domain,
    int keep_value)
{
	struct resolv_request req[2];
	const struct token *pat = t->right;
	const char *d = domain;
	enum match m, result = M_NO;
	struct resolv *dns;
	size_t i, k;

	if (domain[0] == '\0')
		return M_NO;	/* "joe@", "<>": no domain to look up */
	if (pat->kind == TOK_KNOWN || pat->kind == TOK_UNKNOWN) {
		m = domain_known(e, domain, t->kind == TOK_MX);
		if (m == M_TEMP)
			return M_TEMP;
		return (m == M_YES) == (pat->kind == TOK_KNOWN) ? M_YES : M_NO;
	}
	if ((dns = need_dns(e)) == NULL)
		return M_TEMP;
	/* Walk up from the domain to the first level with NS or MX. */
	for (;;) {
		if (strchr(d, '.') == NULL)
			return M_NO;	/* never query a top-level domain */
		req[0].name = d;
		req[0].type = RESOLV_MX;
		req[1].name = d;
		req[1].type = RESOLV_NS;
		resolv_lookup_many(dns, req, 2);
		for (i = 0; i < 2; i++)
			if (req[i].answer->status == RESOLV_TEMPFAIL)
				return tempfail(e, "DNS %s looking up %s of %s",
				    req[i].answer->error,
				    resolv_type_name(req[i].type), d);
		if (req[0].answer->status == RESOLV_FOUND ||
		    req[1].answer->status == RESOLV_FOUND)
			break;
		d = strchr(d, '.') + 1;
	}
	if (pat->kind == TOK_ALL)
		return M_YES;
	for (k = 0; k < (t->kind == TOK_MX ? 1u : 2u); k++) {
		const struct resolv_answer *a = req[k].answer;

		for (i = 0; i < a->count; i++) {
			m = host_match(e, pat, a->names[i], keep_value);
			if (m == M_YES)
				return M_YES;
			if (m == M_TEMP)
				result = M_TEMP;
		}
	}
	return result;
}

struct key_search {
	struct eval *e;
	struct table_state *ts;
	const struct table_ref *ref;
	enum lookup_result result;
	char value[RULE_VALUE_MAX];
};

/* key_try - one key of a search; stop on found or failure */
static int
key_try(void *arg, const char *key, size_t len)
{
	struct key_search *ks = arg;
	char err[LOOKUP_ERR_MAX];

	err[0] = '\0';
	ks->result = ks->ref->ops->find(ks->ts->handle, key, len, ks->value,
	    sizeof(ks->value), err, sizeof(err));
	if (ks->result == LK_TEMPFAIL)
		tempfail(ks->e, "%s lookup in %s failed: %s", ks->ref->ops->name,
		    ks->ref->path, err);
	return ks->result != LK_NOTFOUND;
}

/* table_handle - the session's open handle of a table, or NULL (tempfail) */
static void *
table_handle(struct eval *e, const struct token *t)
{
	struct rule_session *s = e->s;
	struct table_state *ts = &s->tables[t->table];

	if (!ts->tried) {
		ts->tried = 1;
		ts->handle = rule_table_shared(s->rs, &s->rs->tables[t->table]);
		ts->is_shared = ts->handle != NULL;
		if (ts->handle == NULL)
			ts->handle = rule_table_open(s->rs,
			    &s->rs->tables[t->table], ts->error,
			    sizeof(ts->error));
	}
	if (ts->handle == NULL)
		tempfail(e, "%s", ts->error);
	return ts->handle;
}

/* addr_try - look an address up in an address table (IPBLOCK=) */
static enum lookup_result
addr_try(struct key_search *ks, const struct net_addr *addr)
{
	char err[LOOKUP_ERR_MAX];

	err[0] = '\0';
	ks->result = ks->ref->ops->find_addr(ks->ts->handle, addr, ks->value,
	    sizeof(ks->value), err, sizeof(err));
	if (ks->result == LK_TEMPFAIL)
		tempfail(ks->e, "%s lookup in %s failed: %s", ks->ref->ops->name,
		    ks->ref->path, err);
	return ks->result;
}

/* table_addr_match - an address table against one address (NS=IPBLOCK=) */
static enum match
table_addr_match(struct eval *e, const struct token *t,
    const struct net_addr *addr, int keep_value)
{
	struct key_search ks;

	if (table_handle(e, t) == NULL)
		return M_TEMP;
	memset(&ks, 0, sizeof(ks));
	ks.e = e;
	ks.ts = &e->s->tables[t->table];
	ks.ref = &e->s->rs->tables[t->table];
	switch (addr_try(&ks, addr)) {
	case LK_FOUND:
		if (keep_value)
			snprintf(e->value, sizeof(e->value), "%s", ks.value);
		return M_YES;
	case LK_NOTFOUND:
		return M_NO;
	default:
		return M_TEMP;
	}
}

/* table_match - CDB=, HASH=, VALIDUSERS=, IPBLOCK= for the current field */
static enum match
table_match(struct eval *e, const struct token *t, int keep_value)
{
	struct rule_session *s = e->s;
	const struct table_ref *ref = &s->rs->tables[t->table];
	struct table_state *ts = &s->tables[t->table];
	struct key_search ks;
	unsigned long gen = e->field == FIELD_SOURCE ? 1 : s->gen;
	enum match m;

	if (ts->cache[e->field].gen == gen) {
		m = ts->cache[e->field].m;
		if (m == M_TEMP)
			return tempfail(e, "%s", ts->error);
		if (m == M_YES && keep_value)
			snprintf(e->value, sizeof(e->value), "%s",
			    ts->cache[e->field].value);
		return m;
	}
	if (table_handle(e, t) == NULL)
		return M_TEMP;
	memset(&ks, 0, sizeof(ks));
	ks.e = e;
	ks.ts = ts;
	ks.ref = ref;
	ks.result = LK_NOTFOUND;
	if (ref->kind == TABLE_IPBLOCK)
		(void)addr_try(&ks, &s->client.addr);
	else if (e->field == FIELD_SOURCE) {
		if (rule_keys_client(&s->client.addr, NULL, key_try, &ks) == 0) {
			enum fact_state ns = session_name(s);

			if (ns == FACT_TEMP)
				return tempfail(e, "DNS failure finding the "
				    "client's name");
			if (ns == FACT_KNOWN)
				rule_keys_name(s->name, key_try, &ks);
		}
	} else
		rule_keys_address(e->addr[e->field], e->len[e->field],
		    ref->kind == TABLE_VALIDUSERS, key_try, &ks);
	m = ks.result == LK_FOUND ? M_YES : ks.result == LK_NOTFOUND ? M_NO :
	    M_TEMP;
	if (m == M_TEMP)
		snprintf(ts->error, sizeof(ts->error), "%s", e->reason);
	ts->cache[e->field].gen = gen;
	ts->cache[e->field].m = m;
	snprintf(ts->cache[e->field].value, sizeof(ts->cache[e->field].value),
	    "%s", ks.value);
	if (m == M_YES && keep_value)
		snprintf(e->value, sizeof(e->value), "%s", ks.value);
	return m;
}

/* name_match - a glob or regex on the client's verified name */
static enum match
name_match(struct eval *e, const struct token *t)
{
	switch (session_name(e->s)) {
	case FACT_KNOWN:
		return match_text(e, t, e->s->name, strlen(e->s->name));
	case FACT_TEMP:
		return tempfail(e, "DNS failure finding the client's name");
	default:
		return M_NO;
	}
}

/* client_domain - the client's name, or its reverse zone */
static enum match
client_domain(struct eval *e, char *buf, size_t size)
{
	char rev[NET_ADDR_REVERSE];

	switch (session_name(e->s)) {
	case FACT_KNOWN:
		snprintf(buf, size, "%s", e->s->name);
		return M_YES;
	case FACT_TEMP:
		return tempfail(e, "DNS failure finding the client's name");
	default:
		snprintf(buf, size, "%s.%s", net_addr_reverse(&e->s->client.addr,
		    rev), e->s->client.addr.family == NET_V4 ? "in-addr.arpa" :
		    "ip6.arpa");
		return M_YES;
	}
}

/* ident_match - the user part of user@host in the source field */
static enum match
ident_match(struct eval *e, const struct token *u)
{
	if (u->kind == TOK_ALL)
		return M_YES;
	if (session_ident(e->s) != FACT_KNOWN)
		return M_NO;
	if (u->kind == TOK_KNOWN)
		return M_YES;
	return match_text(e, u, e->s->ident, strlen(e->s->ident));
}

/* source_token - one token against the client */
static enum match
source_token(struct eval *e, const struct token *t, int keep_value)
{
	struct rule_session *s = e->s;
	char domain[RESOLV_NAME_MAX + NET_ADDR_REVERSE];
	enum fact_state ns;
	enum match m, h;

	switch (t->kind) {
	case TOK_ALL:
		return M_YES;
	case TOK_KNOWN:
	case TOK_UNKNOWN:
		ns = session_name(s);
		if (ns == FACT_TEMP)
			return tempfail(e, "DNS failure finding the client's "
			    "name");
		return (ns == FACT_KNOWN) == (t->kind == TOK_KNOWN) ? M_YES :
		    M_NO;
	case TOK_PREFIX:
		return net_prefix_contains(&t->prefix, &s->client.addr) ?
		    M_YES : M_NO;
	case TOK_GLOB:
		if (glob_match(&t->glob, s->ip, strlen(s->ip)))
			return M_YES;
		if (t->glob.looks_numeric)
			return M_NO;
		return name_match(e, t);
	case TOK_REGEX:
		return name_match(e, t);
	case TOK_RBL:
		return dnsbl(e, &s->client.addr, t->zone, keep_value);
	case TOK_NS:
	case TOK_MX:
		if (client_domain(e, domain, sizeof(domain)) == M_TEMP)
			return M_TEMP;
		return nsmx_match(e, t, domain, keep_value);
	case TOK_TABLE:
		return table_match(e, t, keep_value);
	case TOK_IDENT:
		if ((m = ident_match(e, t->left)) == M_NO)
			return M_NO;
		if ((h = source_token(e, t->right, keep_value)) == M_NO)
			return M_NO;
		return m == M_YES && h == M_YES ? M_YES : M_TEMP;
	default:
		return M_NO;
	}
}

/* address_token - one token against the from or to address */
static enum match
address_token(struct eval *e, const struct token *t, int keep_value)
{
	const char *a = e->addr[e->field], *at, *domain;
	size_t len = e->len[e->field], llen;
	enum match m, d;

	switch (t->kind) {
	case TOK_ALL:
		return M_YES;
	case TOK_GLOB:
	case TOK_REGEX:
		return match_text(e, t, a, len);
	case TOK_TABLE:
		return table_match(e, t, keep_value);
	case TOK_NS:
	case TOK_MX:
		at = memrchr(a, '@', len);
		return nsmx_match(e, t, at != NULL ? at + 1 : a, keep_value);
	case TOK_AT:
		if ((at = memrchr(a, '@', len)) == NULL)
			return M_NO;
		llen = (size_t)(at - a);
		domain = at + 1;
		if (t->left->kind == TOK_USER) {
			if (session_ident(e->s) != FACT_KNOWN ||
			    strchr(e->s->ident, '*') != NULL)
				return M_NO;
			m = strlen(e->s->ident) == llen &&
			    memcmp(e->s->ident, a, llen) == 0 ? M_YES : M_NO;
		} else
			m = match_text(e, t->left, a, llen);
		if (m == M_NO)
			return M_NO;
		if (t->right->kind == TOK_NS || t->right->kind == TOK_MX)
			d = nsmx_match(e, t->right, domain, keep_value);
		else
			d = match_text(e, t->right, domain,
			    len - llen - 1);
		if (d == M_NO)
			return M_NO;
		return m == M_YES && d == M_YES ? M_YES : M_TEMP;
	default:
		return M_NO;
	}
}

/* list_match - tokens from start, with tcp_wrappers EXCEPT nesting */
static enum match
list_match(struct eval *e, const struct field *f, size_t start, int positive)
{
	enum match r = M_NO, m, ex;
	size_t i;

	for (i = start; i < f->ntok && f->tok[i].kind != TOK_EXCEPT; i++) {
		if (e->field == FIELD_SOURCE)
			m = source_token(e, &f->tok[i], positive);
		else
			m = address_token(e, &f->tok[i], positive);
		if (m == M_YES) {
			r = M_YES;
			break;
		}
		if (m == M_TEMP)
			r = M_TEMP;
	}
	if (r == M_NO)
		return M_NO;
	while (i < f->ntok && f->tok[i].kind != TOK_EXCEPT)
		i++;
	if (i == f->ntok)
		return r;
	ex = list_match(e, f, i + 1, !positive);
	if (ex == M_YES)
		return M_NO;
	if (ex == M_NO)
		return r;
	return M_TEMP;
}

/* vars_for - the values of the % escapes */
static void
vars_for(struct rule_session *s, const char *from, const char *to,
    const char *value, struct reply_vars *v)
{
	v->ip = s->ip;
	v->host = rule_session_name(s);
	v->from = from != NULL ? from : "";
	v->to = to != NULL ? to : "";
	v->user = rule_session_ident(s);
	v->value = value;
}

/* field_label - for traces */
static const char *
field_label(enum field_id f)
{
	return f == FIELD_SOURCE ? "source" : f == FIELD_FROM ? "from" : "to";
}

/* log_debug_match - the original's line for a matching debug rule */
static void
log_debug_match(struct rule_session *s, const struct rule *r,
    const char *from, const char *to)
{
	char f[256], t[256], u[IDENT_MAX];

	printable(f, sizeof(f), from != NULL ? from : "", from != NULL ?
	    strlen(from) : 0);
	printable(t, sizeof(t), to != NULL ? to : "", to != NULL ?
	    strlen(to) : 0);
	printable(u, sizeof(u), rule_session_ident(s),
	    strlen(rule_session_ident(s)));
	log_info("DEBUG: Matched line %u, connection from %s@%s(%s) "
	    "MAIL FROM: %s RCPT TO: %s, continuing.", r->line, u,
	    rule_session_name(s), s->ip, f, t);
}

/*
 * try_rule - evaluate one line; 1 if it decides (v filled in), 0 to go
 * on with the next line
 */
static int
try_rule(struct eval *e, const struct ruleset *rs, const struct rule *r,
    const char *from, const char *to, struct rule_verdict *v)
{
	struct rule_session *s = e->s;
	struct reply_vars vars;
	char trace[RULE_REASON_MAX + 64];
	enum match m = M_YES, fm;
	int k;

	e->value[0] = '\0';
	e->reason[0] = '\0';
	for (k = 0; k < FIELD_COUNT; k++) {
		const struct field *f = &r->field[r->order[k]];

		if (f->is_all)
			continue;
		e->field = r->order[k];
		fm = list_match(e, f, 0, 1);
		if (fm == M_NO) {
			m = M_NO;
			break;
		}
		if (fm == M_TEMP)
			m = M_TEMP;
	}
	if (s->trace != NULL) {
		if (m == M_NO)
			snprintf(trace, sizeof(trace), "no match (%s)",
			    field_label(e->field));
		else if (m == M_TEMP)
			snprintf(trace, sizeof(trace), "tempfail (%s)",
			    e->reason);
		else
			snprintf(trace, sizeof(trace), "match, %s",
			    rule_action_name(r->action));
		s->trace(s->trace_arg, r->line, r->text, trace);
	}
	if (m == M_NO)
		return 0;
	if (r->action == RULE_DEBUG) {
		if (m == M_YES)
			log_debug_match(s, r, from, to);
		return 0;
	}
	v->line = r->line;
	if (m == M_TEMP) {
		v->kind = RULE_TEMPFAIL;
		snprintf(v->reply, sizeof(v->reply), "%s", TEMPFAIL_REPLY);
		snprintf(v->reason, sizeof(v->reason), "%s", e->reason);
		return 1;
	}
	v->kind = RULE_MATCHED;
	v->action = r->action;
	snprintf(v->value, sizeof(v->value), "%s", e->value);
	vars_for(s, from, to, e->value, &vars);
	if (r->parts != NULL)
		reply_expand(r->parts, r->nparts, &vars, v->reply,
		    sizeof(v->reply));
	else if (r->action != RULE_ALLOW)
		reply_expand(rs->default_parts, rs->default_nparts, &vars,
		    v->reply, sizeof(v->reply));
	return 1;
}

/*
 * indexed_scan - try only the candidate lines, in line order. Returns
 * 1 if a line decided, 0 if none did, -1 if the index could not be
 * used (out of memory: the caller scans every line).
 */
static int
indexed_scan(struct eval *e, const struct ruleset *rs, const char *from,
    const char *to, struct rule_verdict *v)
{
	struct rule_session *s = e->s;
	const uint32_t *list[4];
	size_t n[4], pos[4] = { 0, 0, 0, 0 }, k;
	uint32_t next, last = UINT32_MAX;

	if (!s->client_ready) {
		if (rule_index_client(rs->index, &s->client.addr,
		    &s->client_cands) == -1)
			return -1;
		s->client_ready = 1;
	}
	if (rule_index_address(rs->index, FIELD_FROM, e->addr[FIELD_FROM],
	    e->len[FIELD_FROM], &s->from_cands) == -1 ||
	    rule_index_address(rs->index, FIELD_TO, e->addr[FIELD_TO],
	    e->len[FIELD_TO], &s->to_cands) == -1)
		return -1;
	list[0] = s->client_cands.v;
	n[0] = s->client_cands.n;
	list[1] = s->from_cands.v;
	n[1] = s->from_cands.n;
	list[2] = s->to_cands.v;
	n[2] = s->to_cands.n;
	list[3] = rule_index_always(rs->index, &n[3]);
	for (;;) {
		next = UINT32_MAX;
		for (k = 0; k < 4; k++)
			if (pos[k] < n[k] && list[k][pos[k]] < next)
				next = list[k][pos[k]];
		if (next == UINT32_MAX)
			return 0;
		for (k = 0; k < 4; k++)
			while (pos[k] < n[k] && list[k][pos[k]] == next)
				pos[k]++;
		if (next == last)
			continue;
		last = next;
		if (try_rule(e, rs, &rs->rules[next], from, to, v))
			return 1;
	}
}

/* rule_decide - the first line that decides for this recipient */
enum rule_verdict_kind
rule_decide(const struct ruleset *rs, struct rule_session *s,
    const char *from, const char *to, struct rule_verdict *v)
{
	struct eval e;
	struct reply_vars vars;
	size_t i;
	int r = -1;

	memset(v, 0, sizeof(*v));
	memset(&e, 0, sizeof(e));
	e.s = s;
	s->gen++;
	if (s->gen == 1)
		s->gen++;	/* 1 marks the session-long source cache */
	if (s->dns != NULL)
		resolv_budget_start(s->dns);
	if (rule_strip_address(from, e.from_buf, sizeof(e.from_buf),
	    &e.len[FIELD_FROM]) == -1 || rule_strip_address(to, e.to_buf,
	    sizeof(e.to_buf), &e.len[FIELD_TO]) == -1) {
		v->kind = RULE_TEMPFAIL;
		snprintf(v->reply, sizeof(v->reply), "%s", TEMPFAIL_REPLY);
		snprintf(v->reason, sizeof(v->reason), "address too long");
		return v->kind;
	}
	e.addr[FIELD_FROM] = e.from_buf;
	e.addr[FIELD_TO] = e.to_buf;
	/* A trace shows every line, so it scans them all. */
	if (rs->index != NULL && s->trace == NULL)
		r = indexed_scan(&e, rs, from, to, v);
	for (i = 0; r == -1 && i < rs->nrules; i++)
		if (try_rule(&e, rs, &rs->rules[i], from, to, v))
			r = 1;
	if (r == 1)
		return v->kind;
	v->kind = RULE_DEFAULT;
	v->action = rs->opts.default_action;
	if (v->action != RULE_ALLOW) {
		vars_for(s, from, to, "", &vars);
		reply_expand(rs->default_parts, rs->default_nparts, &vars,
		    v->reply, sizeof(v->reply));
	}
	return v->kind;
}

/* ruleset_check_tables - open every table once, report failures */
unsigned int
ruleset_check_tables(const struct ruleset *rs)
{
	char err[LOOKUP_ERR_MAX];
	unsigned int failures = 0;
	size_t i;
	void *h;

	for (i = 0; i < rs->ntables; i++) {
		h = rule_table_open(rs, &rs->tables[i], err, sizeof(err));
		if (h == NULL) {
			failures++;
			if (rs->opts.error_fn != NULL)
				rs->opts.error_fn(rs->opts.error_arg, rs->path,
				    0, err);
			else
				log_warnx("%s: %s", rs->path, err);
			continue;
		}
		rs->tables[i].ops->close(h);
	}
	return failures;
}

/* rule_log_line - the decision in the original log template */
char *
rule_log_line(const struct ruleset *rs, struct rule_session *s,
    const char *from, const char *to, const struct rule_verdict *v,
    char *buf, size_t size)
{
	char f[256], t[256], u[IDENT_MAX], reason[RULE_REASON_MAX];
	const char *what, *attempted = "attempted ";

	printable(f, sizeof(f), from != NULL ? from : "", from != NULL ?
	    strlen(from) : 0);
	printable(t, sizeof(t), to != NULL ? to : "", to != NULL ?
	    strlen(to) : 0);
	printable(u, sizeof(u), rule_session_ident(s),
	    strlen(rule_session_ident(s)));
	if (v->kind == RULE_TEMPFAIL) {
		printable(reason, sizeof(reason), v->reason, strlen(v->reason));
		snprintf(buf, size, "smtp connection from %s@%s(%s) attempted "
		    "MAIL FROM: %s RCPT TO: %s, deferred by line %u of %s (%s)",
		    u, rule_session_name(s), s->ip, f, t, v->line, rs->path,
		    reason);
		return buf;
	}
	if (v->action == RULE_ALLOW)
		attempted = "";
	if (v->kind == RULE_DEFAULT) {
		snprintf(buf, size, "smtp connection from %s@%s(%s) %sMAIL "
		    "FROM: %s RCPT TO: %s, default action, reached end of %s",
		    u, rule_session_name(s), s->ip, attempted, f, t, rs->path);
		return buf;
	}
	switch (v->action) {
	case RULE_ALLOW: what = "allowed"; break;
	case RULE_DENY: what = "denied"; break;
	case RULE_NOTO: what = "noto"; break;
	case RULE_NOTO_DELAY: what = "noto with delay"; break;
	case RULE_DENY_DELAY: what = "denied with delay"; break;
	default: what = "matched"; break;
	}
	snprintf(buf, size, "smtp connection from %s@%s(%s) %sMAIL FROM: %s "
	    "RCPT TO: %s, %s by line %u of %s", u, rule_session_name(s), s->ip,
	    attempted, f, t, what, v->line, rs->path);
	return buf;
}
