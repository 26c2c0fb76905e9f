/* ipsrc.c - parse IPBLOCK source lines: plain, rbldnsd and DROP formats */
/*
 * One line is one entry, a comment, a directive or a default value; the
 * parser is a pure function of the line and the per-file state in
 * struct ipsrc, so the fuzzer can drive it line by line. ipsrc_read()
 * feeds a file through it into an iptree builder and reports bad lines
 * as file:line, up to a limit.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "ipsrc.h"
#include "lines.h"

/* is_blank - space or tab */
static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* perr - fill err; returns IPSRC_ERROR */
static enum ipsrc_result perr(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static enum ipsrc_result
perr(char *err, size_t errsize, const char *fmt, ...)
{
	va_list ap;

	if (errsize > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsize, fmt, ap);
		va_end(ap);
	}
	return IPSRC_ERROR;
}

/* quoted - the token, printable and capped, for a message */
static const char *
quoted(char *buf, size_t size, const char *s, size_t len)
{
	return printable(buf, size, s, len);
}

/* ipsrc_init - a fresh state for a new file */
void
ipsrc_init(struct ipsrc *s)
{
	memset(s, 0, sizeof(*s));
}

/* parse_uint - decimal digits only, no leading zero, at most max */
static int
parse_uint(const char *p, size_t len, unsigned long max, unsigned long *v)
{
	size_t i;

	*v = 0;
	if (len == 0 || len > 10 || (len > 1 && p[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		*v = *v * 10 + (unsigned long)(p[i] - '0');
	}
	return *v <= max ? 0 : -1;
}

/* v4_octets - 1 to 4 dotted decimal octets; returns how many, or -1 */
static int
v4_octets(const char *p, size_t len, uint8_t o[4])
{
	size_t i = 0, start;
	unsigned long v;
	int n = 0;

	memset(o, 0, 4);
	for (;;) {
		start = i;
		while (i < len && p[i] != '.')
			i++;
		if (n == 4 || parse_uint(p + start, i - start, 255, &v) == -1)
			return -1;
		o[n++] = (uint8_t)v;
		if (i == len)
			return n;
		i++;		/* the dot */
		if (i == len)
			return -1;
	}
}

/* v4_set - an IPv4 net_addr from octets */
static void
v4_set(struct net_addr *a, const uint8_t o[4])
{
	memset(a, 0, sizeof(*a));
	a->family = NET_V4;
	memcpy(a->bytes, o, 4);
}

/* last_of_prefix - the last address of prefix first/plen */
static void
last_of_prefix(const struct net_addr *first, unsigned int plen,
    struct net_addr *last)
{
	unsigned int bits = first->family == NET_V4 ? 32 : 128, b;

	*last = *first;
	for (b = plen; b < bits; b++)
		last->bytes[b / 8] |= (uint8_t)(0x80 >> (b % 8));
}

/* host_bits_clear - 1 if addr has no bit set after plen */
static int
host_bits_clear(const struct net_addr *a, unsigned int plen)
{
	unsigned int bits = a->family == NET_V4 ? 32 : 128, b;

	for (b = plen; b < bits; b++)
		if (a->bytes[b / 8] & (0x80 >> (b % 8)))
			return 0;
	return 1;
}

/* parse_v4_prefix - "a.b.c.d", "a.b.c", "a.b", "a", each with "/len" */
static int
parse_v4_prefix(const char *p, size_t len, struct ipsrc_entry *e)
{
	const char *slash = memchr(p, '/', len);
	size_t alen = slash != NULL ? (size_t)(slash - p) : len;
	unsigned long plen;
	uint8_t o[4];
	int n;

	if ((n = v4_octets(p, alen, o)) == -1)
		return -1;
	if (slash != NULL) {
		if (parse_uint(slash + 1, len - alen - 1, 32, &plen) == -1)
			return -1;
	} else
		plen = 8 * (unsigned long)n;
	v4_set(&e->first, o);
	if (!host_bits_clear(&e->first, (unsigned int)plen))
		return -2;
	last_of_prefix(&e->first, (unsigned int)plen, &e->last);
	return 0;
}

/* parse_v6_prefix - IPv6 text with "/len"; rbldnsd's short form too */
static int
parse_v6_prefix(const char *p, size_t len, struct ipsrc_entry *e)
{
	const char *slash = memchr(p, '/', len);
	size_t alen = slash != NULL ? (size_t)(slash - p) : len, i;
	struct net_prefix np;
	char buf[NET_ADDR_TEXT + 24];
	unsigned long plen;
	int groups = 1, shortform;

	for (i = 0; i < alen; i++)
		if (p[i] == ':')
			groups++;
	shortform = groups < 8 && memmem(p, alen, "::", 2) == NULL &&
	    memchr(p, '.', alen) == NULL && memchr(p, '[', alen) == NULL;
	if (!shortform) {
		if (net_prefix_parse(p, len, &np, 0) == -1) {
			if (net_prefix_parse(p, len, &np, 1) == 0)
				return -2;
			return -1;
		}
	} else {
		/* "2001:db8:c000/36": trailing zero groups left out. */
		if (alen == 0 || p[alen - 1] == ':' ||
		    alen + 2 * (size_t)(8 - groups) >= sizeof(buf))
			return -1;
		memcpy(buf, p, alen);
		for (i = alen; groups < 8; groups++) {
			memcpy(buf + i, ":0", 2);
			i += 2;
		}
		if (net_addr_parse(buf, i, &np.addr) == -1)
			return -1;
		for (groups = 1, i = 0; i < alen; i++)
			if (p[i] == ':')
				groups++;
		if (slash != NULL) {
			if (parse_uint(slash + 1, len - alen - 1, 128,
			    &plen) == -1)
				return -1;
		} else
			plen = 16 * (unsigned long)groups;
		np.len = (unsigned int)plen;
		if (np.addr.family != NET_V6)
			return -1;
		if (!host_bits_clear(&np.addr, np.len))
			return -2;
	}
	e->first = np.addr;
	last_of_prefix(&np.addr, np.len, &e->last);
	return 0;
}

/* parse_range - "a-b": full addresses, or rbldnsd's IPv4 prefix ranges */
static int
parse_range(const char *p, size_t len, const char *dash,
    struct ipsrc_entry *e)
{
	size_t llen = (size_t)(dash - p), rlen = len - llen - 1;
	uint8_t lo[4], hi[4];
	int nl, nr, i;

	if (memchr(p, '/', len) != NULL)
		return -1;
	if (memchr(p, ':', len) != NULL) {
		if (net_addr_parse(p, llen, &e->first) == -1 ||
		    net_addr_parse(dash + 1, rlen, &e->last) == -1 ||
		    e->first.family != e->last.family)
			return -1;
		return 0;
	}
	if ((nl = v4_octets(p, llen, lo)) == -1 ||
	    (nr = v4_octets(dash + 1, rlen, hi)) == -1)
		return -1;
	if (nr == 1 && nl > 1) {
		/* "127.0.0.1-255": a suffix for the last octet given. */
		uint8_t v = hi[0];

		memcpy(hi, lo, 4);
		hi[nl - 1] = v;
		nr = nl;
	}
	for (i = nr; i < 4; i++)
		hi[i] = 255;
	v4_set(&e->first, lo);
	v4_set(&e->last, hi);
	return 0;
}

/* addr_cmp - compare two addresses of one family */
static int
addr_cmp(const struct net_addr *a, const struct net_addr *b)
{
	return memcmp(a->bytes, b->bytes, a->family == NET_V4 ? 4 : 16);
}

/* set_value - the entry's value: expand rbldnsd $n variables, check */
static enum ipsrc_result
set_value(struct ipsrc *s, const char *v, size_t len, char *err,
    size_t errsize)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		const char *add = &v[i];
		size_t addlen = 1;

		if (c == '$' && i + 1 < len && v[i + 1] >= '0' &&
		    v[i + 1] <= '9' &&
		    (s->var_set & (1u << (v[i + 1] - '0')))) {
			int k = v[i + 1] - '0';

			add = s->var[k];
			addlen = s->var_len[k];
			i++;
		} else if ((c < 0x20 && c != '\t') || c == 0x7f)
			return perr(err, errsize, "control character in value");
		if (n + addlen > IPTREE_VALUE_MAX)
			return perr(err, errsize, "value longer than %d bytes",
			    IPTREE_VALUE_MAX);
		memcpy(s->value + n, add, addlen);
		n += addlen;
	}
	s->value_len = n;
	return IPSRC_ENTRY;
}

/* rbl_value - ":A:TXT" (rbldnsd): the TXT text, else the A value */
static void
rbl_value(const char *v, size_t len, const char **out, size_t *outlen)
{
	const char *colon;

	/* v[0] is ':'. */
	v++;
	len--;
	if ((colon = memchr(v, ':', len)) == NULL) {
		*out = v;
		*outlen = len;
	} else {
		const char *txt = colon + 1;
		size_t tlen = len - (size_t)(txt - v);

		while (tlen > 0 && is_blank(*txt)) {
			txt++;
			tlen--;
		}
		if (tlen > 0) {
			*out = txt;
			*outlen = tlen;
		} else {
			*out = v;
			*outlen = (size_t)(colon - v);
		}
	}
	while (*outlen > 0 && is_blank(**out)) {
		(*out)++;
		(*outlen)--;
	}
}

/* directive - a "$" line of rbldnsd */
static enum ipsrc_result
directive(struct ipsrc *s, const char *p, size_t len, int in_comment,
    char *err, size_t errsize)
{
	static const char *const ignored[] = {
		"SOA", "NS", "TTL", "TIMESTAMP", "=", NULL
	};
	char q[64];
	size_t wlen = 0, i;
	const char *arg;
	size_t alen;

	while (wlen < len && !is_blank(p[wlen]))
		wlen++;
	arg = p + wlen;
	alen = len - wlen;
	while (alen > 0 && is_blank(*arg)) {
		arg++;
		alen--;
	}
	if (wlen == 1 && p[0] >= '0' && p[0] <= '9') {
		int k = p[0] - '0';
		enum ipsrc_result r;

		if ((r = set_value(s, arg, alen, err, errsize)) != IPSRC_ENTRY)
			return r;
		memcpy(s->var[k], s->value, s->value_len);
		s->var_len[k] = s->value_len;
		s->var_set |= 1u << k;
		return IPSRC_NONE;
	}
	for (i = 0; ignored[i] != NULL; i++)
		if (strlen(ignored[i]) == wlen &&
		    memcmp(ignored[i], p, wlen) == 0)
			return IPSRC_NONE;
	if (wlen == 9 && memcmp(p, "MAXRANGE4", 9) == 0) {
		unsigned long v;
		uint64_t n;

		if (alen > 0 && arg[0] == '/') {
			if (parse_uint(arg + 1, alen - 1, 32, &v) == -1)
				return perr(err, errsize, "bad $MAXRANGE4");
			n = (uint64_t)1 << (32 - v);
		} else {
			if (parse_uint(arg, alen, 0xffffffffUL, &v) == -1 ||
			    v == 0)
				return perr(err, errsize, "bad $MAXRANGE4");
			n = v;
		}
		if (s->maxrange4 == 0 || n < s->maxrange4)
			s->maxrange4 = n;
		return IPSRC_NONE;
	}
	if (in_comment)
		return IPSRC_NONE;	/* "#$Id$" and the like */
	return perr(err, errsize, "unknown directive $%s",
	    quoted(q, sizeof(q), p, wlen));
}

/* ipsrc_parse_line - one line of a source */
enum ipsrc_result
ipsrc_parse_line(struct ipsrc *s, const char *line, size_t len,
    struct ipsrc_entry *e, char *err, size_t errsize)
{
	const char *p = line, *tok, *rest, *v, *dash;
	size_t tlen, rlen, vlen;
	char q[80];
	int r;

	while (len > 0 && (line[len - 1] == '\r' || is_blank(line[len - 1])))
		len--;
	if (memchr(line, '\0', len) != NULL)
		return perr(err, errsize, "NUL byte in line");
	while (len > 0 && is_blank(*p)) {
		p++;
		len--;
	}
	if (len == 0)
		return IPSRC_NONE;
	if (p[0] == '$')
		return directive(s, p + 1, len - 1, 0, err, errsize);
	if ((p[0] == '#' || p[0] == ';') && len > 1 && p[1] == '$')
		return directive(s, p + 2, len - 2, 1, err, errsize);
	if (p[0] == '#' || p[0] == ';')
		return IPSRC_NONE;
	if (p[0] == ':' && !(len > 1 && p[1] == ':')) {
		/* A default value for the entries after it in this file
		   ("::1" is an address). */
		if (len > 1 && p[1] == '$')
			return directive(s, p + 2, len - 2, 1, err, errsize);
		rbl_value(p, len, &v, &vlen);
		if (set_value(s, v, vlen, err, errsize) == IPSRC_ERROR)
			return IPSRC_ERROR;
		memcpy(s->defval, s->value, s->value_len);
		s->defval_len = s->value_len;
		return IPSRC_NONE;
	}
	memset(e, 0, sizeof(*e));
	if (p[0] == '!') {
		e->exclude = 1;
		p++;
		len--;
	}
	tok = p;
	for (tlen = 0; tlen < len && !is_blank(tok[tlen]) && tok[tlen] != ';' &&
	    tok[tlen] != '#'; tlen++)
		;
	rest = tok + tlen;
	rlen = len - tlen;
	while (rlen > 0 && is_blank(*rest)) {
		rest++;
		rlen--;
	}
	if (tlen == 0)
		return perr(err, errsize, "missing address");
	if ((dash = memchr(tok, '-', tlen)) != NULL)
		r = parse_range(tok, tlen, dash, e);
	else if (memchr(tok, ':', tlen) != NULL)
		r = parse_v6_prefix(tok, tlen, e);
	else
		r = parse_v4_prefix(tok, tlen, e);
	if (r == -2)
		return perr(err, errsize, "host bits set after the prefix "
		    "length in \"%s\"", quoted(q, sizeof(q), tok, tlen));
	if (r == -1)
		return perr(err, errsize, "bad address or range \"%s\"",
		    quoted(q, sizeof(q), tok, tlen));
	if (addr_cmp(&e->first, &e->last) > 0)
		return perr(err, errsize, "range \"%s\" ends before it starts",
		    quoted(q, sizeof(q), tok, tlen));
	if (e->first.family == NET_V4 && s->maxrange4 != 0 && !e->exclude) {
		uint64_t f = (uint64_t)e->first.bytes[0] << 24 |
		    (uint64_t)e->first.bytes[1] << 16 |
		    (uint64_t)e->first.bytes[2] << 8 | e->first.bytes[3];
		uint64_t l = (uint64_t)e->last.bytes[0] << 24 |
		    (uint64_t)e->last.bytes[1] << 16 |
		    (uint64_t)e->last.bytes[2] << 8 | e->last.bytes[3];

		if (l - f + 1 > s->maxrange4)
			return perr(err, errsize, "\"%s\" is larger than "
			    "$MAXRANGE4 (%llu addresses)",
			    quoted(q, sizeof(q), tok, tlen),
			    (unsigned long long)s->maxrange4);
	}
	/* The value: "; text" (DROP), ":A:TXT" (rbldnsd), or plain text. */
	v = NULL;
	vlen = 0;
	if (rlen > 0 && rest[0] == ';') {
		v = rest + 1;
		vlen = rlen - 1;
		while (vlen > 0 && is_blank(*v)) {
			v++;
			vlen--;
		}
	} else if (rlen > 0 && rest[0] == ':')
		rbl_value(rest, rlen, &v, &vlen);
	else if (rlen > 0 && rest[0] != '#') {
		v = rest;
		vlen = rlen;
	}
	if (e->exclude)
		vlen = 0;
	else if (vlen > 0) {
		if (set_value(s, v, vlen, err, errsize) == IPSRC_ERROR)
			return IPSRC_ERROR;
	} else {
		memcpy(s->value, s->defval, s->defval_len);
		s->value_len = s->defval_len;
	}
	e->value = s->value;
	e->value_len = e->exclude ? 0 : s->value_len;
	return IPSRC_ENTRY;
}

struct reader {
	struct iptree_builder *b;
	const char *name;
	const struct ipsrc_options *o;
	unsigned int *errors;
	unsigned int max;
	struct ipsrc st;
	unsigned long line;
};

/* report - one error line */
static void
report(struct reader *rd, unsigned long line, const char *reason)
{
	if (rd->o != NULL && rd->o->error_fn != NULL)
		rd->o->error_fn(rd->o->error_arg, rd->name, line, reason);
	else if (line > 0)
		fprintf(stderr, "%s:%lu: %s\n", rd->name, line, reason);
	else
		fprintf(stderr, "%s: %s\n", rd->name, reason);
}

/* bad_line - count and report an error; -1 when the limit is reached */
static int
bad_line(struct reader *rd, const char *reason)
{
	char msg[64];

	report(rd, rd->line, reason);
	if (++*rd->errors >= rd->max) {
		snprintf(msg, sizeof(msg), "too many errors (%u), giving up",
		    *rd->errors);
		report(rd, 0, msg);
		return -1;
	}
	return 0;
}

/* one_line - parse a line and add its entry */
static int
one_line(struct reader *rd, const char *line, size_t len)
{
	struct ipsrc_entry e;
	char err[256];
	uint32_t id;

	rd->line++;
	if (len > IPSRC_LINE_MAX)
		return bad_line(rd, "line too long");
	switch (ipsrc_parse_line(&rd->st, line, len, &e, err, sizeof(err))) {
	case IPSRC_NONE:
		return 0;
	case IPSRC_ERROR:
		return bad_line(rd, err);
	case IPSRC_ENTRY:
		break;
	}
	if (iptree_builder_value(rd->b, e.value, e.value_len, &id) == -1 ||
	    iptree_builder_add(rd->b, &e.first, &e.last, id, e.exclude) == -1) {
		snprintf(err, sizeof(err), "cannot add entry: %s",
		    strerror(errno));
		report(rd, rd->line, err);
		return -1;
	}
	return 0;
}

/* line_fn - lines_read() callback */
static int
line_fn(void *arg, const char *line, size_t len, int too_long)
{
	struct reader *rd = arg;

	if (too_long) {
		rd->line++;
		return bad_line(rd, "line too long");
	}
	return one_line(rd, line, len);
}

/* ipsrc_read - feed a whole file into the builder */
int
ipsrc_read(struct iptree_builder *b, int fd, const char *name,
    const struct ipsrc_options *opts, unsigned int *errors)
{
	struct reader rd;
	char msg[256];

	memset(&rd, 0, sizeof(rd));
	rd.b = b;
	rd.name = name;
	rd.o = opts;
	rd.errors = errors;
	rd.max = opts != NULL && opts->max_errors > 0 ? opts->max_errors :
	    IPSRC_ERRORS_MAX;
	ipsrc_init(&rd.st);
	if (lines_read(fd, line_fn, &rd) == 0)
		return 0;
	if (errno != 0) {
		snprintf(msg, sizeof(msg), "read error: %s", strerror(errno));
		report(&rd, 0, msg);
	}
	return -1;
}
