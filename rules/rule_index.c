/* rule_index.c - find the lines that might match, without changing the answer */
/*
 * Most lines of a large rules file test one simple thing: a list of
 * client netblocks, or a list of sender or recipient domains. Each rule
 * is filed under one field that is a necessary condition for it:
 *   - a source field made only of addresses/prefixes (no EXCEPT) goes
 *     into a prefix table, searched once per session for the client;
 *   - else a from (or to) field made only of domain tokens (*@d, u@d,
 *     *@*.d, *.d, no EXCEPT) goes into a table of address suffixes
 *     ("@d" or ".d"), searched with every '@'/'.' suffix of the address;
 *   - anything else is always a candidate.
 * A decision evaluates, in line order, only the union of the candidates;
 * each candidate is evaluated in full, so the index may over-approximate
 * but never under-approximate. rule_decide() without the index gives
 * the same answer (tests/unit/rules_test.c checks this).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>

#include "rule_int.h"

struct ip_entry {
	struct net_prefix prefix;
	uint32_t rule;
};

struct ip_group {
	int family;
	unsigned int len;
	size_t start, end;		/* range in ip[] */
};

struct suffix_entry {
	const char *key;		/* in the index's own pool (pool_keys) */
	uint32_t len;			/* a key is part of one rules line */
	uint32_t rule;
};

struct rule_index {
	struct ip_entry *ip;
	size_t nip;
	struct ip_group *groups;
	size_t ngroups;
	struct suffix_entry *sfx[FIELD_COUNT];	/* FIELD_FROM, FIELD_TO */
	size_t nsfx[FIELD_COUNT];
	uint32_t *always;		/* rules filed nowhere, in order */
	size_t nalways;
};

/* prefix_field - 1 if every token is an address or prefix */
static int
prefix_field(const struct field *f)
{
	size_t i;

	for (i = 0; i < f->ntok; i++)
		if (f->tok[i].kind != TOK_PREFIX)
			return 0;
	return f->ntok > 0;
}

/* token_suffix - the address suffix a domain token needs, or NULL */
static const char *
token_suffix(const struct token *t, size_t *len)
{
	const struct glob *g;

	if (t->kind == TOK_GLOB) {
		/* "*X": the address ends with X; useful if X is "@d" or ".d" */
		g = &t->glob;
		if (g->len < 3 || g->text[0] != '*' ||
		    memchr(g->text + 1, '*', g->len - 1) != NULL ||
		    (g->text[1] != '.' && g->text[1] != '@'))
			return NULL;
		*len = g->len - 1;
		return g->text + 1;
	}
	if (t->kind != TOK_AT || t->right->kind != TOK_GLOB)
		return NULL;
	g = &t->right->glob;
	if (g->is_literal && g->len > 0) {
		/* local@d: the address ends with "@d"; the '@' is in the
		   token's text just before the domain part only for the
		   whole-token glob, so keep the domain and mark it. */
		*len = g->len;
		return g->text;
	}
	if (g->len >= 3 && g->text[0] == '*' && g->text[1] == '.' &&
	    memchr(g->text + 1, '*', g->len - 1) == NULL) {
		*len = g->len - 1;
		return g->text + 1;
	}
	return NULL;
}

/* suffix_field - 1 if every token of the field yields a suffix */
static int
suffix_field(const struct field *f)
{
	size_t i, len;

	for (i = 0; i < f->ntok; i++)
		if (token_suffix(&f->tok[i], &len) == NULL)
			return 0;
	return f->ntok > 0;
}

/* cmp_ip - order by family, length, address, rule */
static int
cmp_ip(const void *a, const void *b)
{
	const struct ip_entry *x = a, *y = b;
	int c;

	if (x->prefix.addr.family != y->prefix.addr.family)
		return x->prefix.addr.family - y->prefix.addr.family;
	if (x->prefix.len != y->prefix.len)
		return x->prefix.len < y->prefix.len ? -1 : 1;
	/* The bytes past an IPv4 address are zero. */
	if ((c = memcmp(x->prefix.addr.bytes, y->prefix.addr.bytes,
	    x->prefix.addr.family == NET_V4 ? 4 : 16)) != 0)
		return c;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/* key_cmp - compare two suffix keys */
static int
key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* cmp_sfx - order by key, rule */
static int
cmp_sfx(const void *a, const void *b)
{
	const struct suffix_entry *x = a, *y = b;
	int c = key_cmp(x->key, x->len, y->key, y->len);

	if (c != 0)
		return c;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/* cmp_u32 - ascending */
static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* at_key - "@d" keys are kept as the literal domain; mark them so */
#define AT_MARK	'@'

/* Where a rule is filed. */
#define FILED_IP	0
#define FILED_ALWAYS	(-1)

/* filed_under - FILED_IP, FILED_ALWAYS or the field of its suffixes */
static int
filed_under(const struct rule *r)
{
	enum field_id f;

	if (prefix_field(&r->field[FIELD_SOURCE]))
		return FILED_IP;
	for (f = FIELD_FROM; f <= FIELD_TO; f++)
		if (suffix_field(&r->field[f]))
			return (int)f;
	return FILED_ALWAYS;
}

/*
 * pool_keys - copy the sorted keys into one block, in their order, so
 * that a binary search reads a few neighbouring pages instead of the
 * rules' texts all over the ruleset (in a mapped rules image each of
 * those is a page fault of its own). Equal keys share one copy.
 */
static int
pool_keys(struct rule_arena *a, struct suffix_entry *v, size_t n)
{
	size_t i, total = 0;
	char *pool, *p;

	for (i = 0; i < n; i++)
		if (i == 0 || key_cmp(v[i].key, v[i].len, v[i - 1].key,
		    v[i - 1].len) != 0)
			total += v[i].len;
	if (total == 0)
		return 0;
	if ((pool = arena_array(a, total, 1)) == NULL)
		return -1;
	for (i = 0, p = pool; i < n; i++) {
		if (i > 0 && key_cmp(v[i].key, v[i].len, v[i - 1].key,
		    v[i - 1].len) == 0) {
			v[i].key = v[i - 1].key;
			continue;
		}
		memcpy(p, v[i].key, v[i].len);
		v[i].key = p;
		p += v[i].len;
	}
	return 0;
}

/*
 * rule_index_build - file every rule, in the arena; NULL on
 * out-of-memory. A first pass counts the entries so that every array
 * is allocated once at its exact size.
 */
struct rule_index *
rule_index_build(struct rule_arena *a, const struct ruleset *rs)
{
	struct rule_index *ix;
	size_t i, j, n, len, ngroups = 0;
	size_t nsfx[FIELD_COUNT] = { 0, 0, 0 };
	int where;
	enum field_id f;
	const char *key;

	if ((ix = arena_alloc(a, sizeof(*ix))) == NULL)
		return NULL;
	n = rs->nrules;
	for (i = 0; i < n; i++) {
		const struct rule *r = &rs->rules[i];

		where = filed_under(r);
		if (where == FILED_IP)
			ix->nip += r->field[FIELD_SOURCE].ntok;
		else if (where == FILED_ALWAYS)
			ix->nalways++;
		else
			nsfx[where] += r->field[where].ntok;
	}
	if ((ix->always = arena_array(a, ix->nalways + 1,
	    sizeof(*ix->always))) == NULL ||
	    (ix->ip = arena_array(a, ix->nip + 1, sizeof(*ix->ip))) == NULL)
		return NULL;
	for (f = FIELD_FROM; f <= FIELD_TO; f++)
		if ((ix->sfx[f] = arena_array(a, nsfx[f] + 1,
		    sizeof(*ix->sfx[f]))) == NULL)
			return NULL;
	ix->nip = ix->nalways = 0;
	for (i = 0; i < n; i++) {
		const struct rule *r = &rs->rules[i];

		where = filed_under(r);
		if (where == FILED_IP) {
			for (j = 0; j < r->field[FIELD_SOURCE].ntok; j++) {
				ix->ip[ix->nip].prefix =
				    r->field[FIELD_SOURCE].tok[j].prefix;
				ix->ip[ix->nip++].rule = (uint32_t)i;
			}
			continue;
		}
		if (where == FILED_ALWAYS) {
			ix->always[ix->nalways++] = (uint32_t)i;
			continue;
		}
		f = (enum field_id)where;
		for (j = 0; j < r->field[f].ntok; j++) {
			const struct token *t = &r->field[f].tok[j];
			struct suffix_entry *e = &ix->sfx[f][ix->nsfx[f]++];

			key = token_suffix(t, &len);
			e->key = key;
			e->len = (uint32_t)len;
			e->rule = (uint32_t)i;
			/* A literal domain d stands for the suffix "@d": it is
			   looked up with the '@' stripped (see candidates). */
			if (t->kind == TOK_AT && t->right->glob.is_literal)
				e->rule |= 0x80000000u;
		}
	}
	qsort(ix->ip, ix->nip, sizeof(*ix->ip), cmp_ip);
	for (f = FIELD_FROM; f <= FIELD_TO; f++) {
		qsort(ix->sfx[f], ix->nsfx[f], sizeof(*ix->sfx[f]), cmp_sfx);
		if (pool_keys(a, ix->sfx[f], ix->nsfx[f]) == -1)
			return NULL;
	}
	/* Groups of equal (family, length) for the per-length search. */
	for (i = 0; i < ix->nip; i++)
		if (i == 0 || ix->ip[i].prefix.addr.family !=
		    ix->ip[i - 1].prefix.addr.family ||
		    ix->ip[i].prefix.len != ix->ip[i - 1].prefix.len)
			ngroups++;
	if ((ix->groups = arena_array(a, ngroups + 1,
	    sizeof(*ix->groups))) == NULL)
		return NULL;
	for (i = 0; i < ix->nip; i++) {
		struct ip_group *g = ix->ngroups > 0 ?
		    &ix->groups[ix->ngroups - 1] : NULL;

		if (g == NULL || g->family != ix->ip[i].prefix.addr.family ||
		    g->len != ix->ip[i].prefix.len) {
			g = &ix->groups[ix->ngroups++];
			g->family = ix->ip[i].prefix.addr.family;
			g->len = ix->ip[i].prefix.len;
			g->start = i;
		}
		g->end = i + 1;
	}
	return ix;
}

/* push - append a rule number to a growing list */
static int
push(struct rule_cands *c, uint32_t rule)
{
	uint32_t *n;

	if (c->n == c->alloc) {
		size_t na = c->alloc == 0 ? 32 : c->alloc * 2;

		if ((n = realloc(c->v, na * sizeof(*n))) == NULL)
			return -1;
		c->v = n;
		c->alloc = na;
	}
	c->v[c->n++] = rule;
	return 0;
}

/* rule_index_client - the rules filed under the client's address */
int
rule_index_client(const struct rule_index *ix, const struct net_addr *addr,
    struct rule_cands *out)
{
	struct net_prefix p;
	size_t g, lo, hi, mid;
	int c;

	out->n = 0;
	for (g = 0; g < ix->ngroups; g++) {
		const struct ip_group *gr = &ix->groups[g];

		if (gr->family != addr->family)
			continue;
		p.addr = *addr;
		p.len = gr->len;
		if (gr->len < 128) {
			unsigned int b;

			for (b = gr->len; b < 128; b++)
				p.addr.bytes[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
		}
		lo = gr->start;
		hi = gr->end;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			c = memcmp(ix->ip[mid].prefix.addr.bytes, p.addr.bytes,
			    16);
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < gr->end && memcmp(ix->ip[lo].prefix.addr.bytes,
		    p.addr.bytes, 16) == 0; lo++)
			if (push(out, ix->ip[lo].rule) == -1)
				return -1;
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), cmp_u32);
	return 0;
}

/* lookup_suffix - add the rules filed under one key */
static int
lookup_suffix(const struct rule_index *ix, enum field_id f, const char *key,
    size_t len, int literal_domain, struct rule_cands *out)
{
	const struct suffix_entry *v = ix->sfx[f];
	size_t lo = 0, hi = ix->nsfx[f], mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (key_cmp(v[mid].key, v[mid].len, key, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < ix->nsfx[f] && key_cmp(v[lo].key, v[lo].len, key, len) == 0;
	    lo++) {
		int is_literal = (v[lo].rule & 0x80000000u) != 0;

		if (is_literal != literal_domain)
			continue;
		if (push(out, v[lo].rule & 0x7fffffffu) == -1)
			return -1;
	}
	return 0;
}

/* rule_index_address - the rules filed under an address's suffixes */
int
rule_index_address(const struct rule_index *ix, enum field_id f,
    const char *addr, size_t len, struct rule_cands *out)
{
	const char *at = memrchr(addr, '@', len);
	size_t i;

	out->n = 0;
	if (at != NULL && lookup_suffix(ix, f, at + 1,
	    len - (size_t)(at + 1 - addr), 1, out) == -1)
		return -1;
	for (i = 0; i < len; i++)
		if ((addr[i] == '.' || addr[i] == '@') &&
		    lookup_suffix(ix, f, addr + i, len - i, 0, out) == -1)
			return -1;
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), cmp_u32);
	return 0;
}

/* rule_index_always - the rules that are always candidates */
const uint32_t *
rule_index_always(const struct rule_index *ix, size_t *n)
{
	*n = ix->nalways;
	return ix->always;
}
