/* resolv_test.c - unit tests of lib/resolv.c and lib/resolv_packet.c */
/*
 * Without network: the reply parser is fed hand-made packets, and the
 * resolver is exercised through preloaded answers and an exhausted budget
 * (which answers before any socket is opened; resolv_query_count()
 * proves it). With RESOLV_TEST_SERVER set (tests/integration does this
 * with its own unbound on loopback) a second part runs live lookups
 * against the integration zone data, and with RESOLV_TEST_DEAD (a server
 * that never answers, except SERVFAIL for servfail.test) the deadline,
 * budget, SERVFAIL and parallel paths; RESOLV_TEST_CLOSED names an
 * address where no server listens.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../t.h"
#include "../../lib/net_addr.h"
#include "../../lib/resolv.h"
#include "../../lib/resolv_packet.h"

#define T_A	1
#define T_NS	2
#define T_CNAME	5
#define T_PTR	12
#define T_MX	15
#define T_TXT	16
#define T_AAAA	28

/* A packet under construction; overflow sets is_bad (a test bug). */
struct pkt {
	unsigned char b[8192];
	size_t len;
	int is_bad;
};

/* put8 - append a byte */
static void
put8(struct pkt *p, unsigned int v)
{
	if (p->len >= sizeof(p->b)) {
		p->is_bad = 1;
		return;
	}
	p->b[p->len++] = (unsigned char)v;
}

/* put16 - append a big-endian 16-bit value */
static void
put16(struct pkt *p, unsigned int v)
{
	put8(p, v >> 8);
	put8(p, v & 0xff);
}

/* put_bytes - append raw bytes */
static void
put_bytes(struct pkt *p, const void *data, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(p, ((const unsigned char *)data)[i]);
}

/* put_name - append a dotted name as uncompressed labels ("" = root) */
static void
put_name(struct pkt *p, const char *name)
{
	while (*name != '\0') {
		size_t n = strcspn(name, ".");

		put8(p, (unsigned int)n);
		put_bytes(p, name, n);
		name += n;
		if (*name == '.')
			name++;
	}
	put8(p, 0);
}

/* put_ptr - append a compression pointer to offset off */
static void
put_ptr(struct pkt *p, unsigned int off)
{
	put16(p, 0xc000 | off);
}

/* start - header (id 0x1234, QR, RD, RA plus flags) and the question */
static void
start(struct pkt *p, unsigned int flags, unsigned int rcode,
    unsigned int ancount, const char *qname, unsigned int qtype)
{
	memset(p, 0, sizeof(*p));
	put16(p, 0x1234);
	put16(p, 0x8180 | flags | rcode);
	put16(p, 1);
	put16(p, ancount);
	put16(p, 0);
	put16(p, 0);
	put_name(p, qname);
	put16(p, qtype);
	put16(p, 1);
}

/* rr_head - owner as a pointer to the question name, type, IN, TTL */
static void
rr_head(struct pkt *p, unsigned int type, unsigned int rdlen)
{
	put_ptr(p, 12);
	put16(p, type);
	put16(p, 1);
	put16(p, 0);
	put16(p, 300);
	put16(p, rdlen);
}

/* rr_a - an A record owned by the question name */
static void
rr_a(struct pkt *p, unsigned int a, unsigned int b, unsigned int c,
    unsigned int d)
{
	rr_head(p, T_A, 4);
	put8(p, a);
	put8(p, b);
	put8(p, c);
	put8(p, d);
}

/* rr_name - an NS/PTR/CNAME record with an uncompressed target */
static void
rr_name(struct pkt *p, unsigned int type, const char *target)
{
	struct pkt rd;

	memset(&rd, 0, sizeof(rd));
	put_name(&rd, target);
	rr_head(p, type, (unsigned int)rd.len);
	put_bytes(p, rd.b, rd.len);
}

/* rr_mx - an MX record with an uncompressed target */
static void
rr_mx(struct pkt *p, unsigned int pref, const char *target)
{
	struct pkt rd;

	memset(&rd, 0, sizeof(rd));
	put16(&rd, pref);
	put_name(&rd, target);
	rr_head(p, T_MX, (unsigned int)rd.len);
	put_bytes(p, rd.b, rd.len);
}

/* parse - run the parser on p */
static int
parse(const struct pkt *p, const char *qname, enum resolv_type type,
    struct resolv_answer *ans)
{
	if (p->is_bad)
		return -2;
	return resolv_packet_parse(p->b, p->len, qname, type, ans);
}

/* addr_is - 1 if a is the text address want */
static int
addr_is(const struct net_addr *a, const char *want)
{
	char buf[NET_ADDR_TEXT];

	return strcmp(net_addr_format(a, buf), want) == 0;
}

/* is_badreply - the answer is TEMPFAIL "bad reply" */
static void
is_badreply(const struct pkt *p, const char *qname, enum resolv_type type,
    const char *what)
{
	struct resolv_answer ans;

	is_int(parse(p, qname, type, &ans), 0, "%s: parsed", what);
	is_int(ans.status, RESOLV_TEMPFAIL, "%s: TEMPFAIL", what);
	is_str(ans.error, "bad reply", "%s: bad reply", what);
	is_int(ans.count, 0, "%s: no records", what);
	resolv_answer_clear(&ans);
}

/* test_names - validation, normalisation and wire encoding */
static void
test_names(void)
{
	char out[RESOLV_NAME_MAX], long_name[300];
	unsigned char wire[RESOLV_WIRE_MAX];
	size_t n;

	is_int(resolv_name_normalize("Mail.Example.TEST.", 18, out), 0,
	    "name: final dot and case");
	is_str(out, "mail.example.test", "name: normalised");
	is_int(resolv_name_normalize("_dmarc.a-b.test", 15, out), 0,
	    "name: '_' and '-' allowed");
	is_int(resolv_name_normalize(".", 1, out), 0, "name: root");
	is_str(out, ".", "name: root stays \".\"");
	is_int(resolv_name_normalize("", 0, out), -1, "name: empty invalid");
	is_int(resolv_name_normalize("a..b", 4, out), -1, "name: empty label");
	is_int(resolv_name_normalize(".a", 2, out), -1, "name: leading dot");
	is_int(resolv_name_normalize("a..", 3, out), -1,
	    "name: two final dots");
	is_int(resolv_name_normalize("a b.test", 8, out), -1, "name: blank");
	is_int(resolv_name_normalize("a\nb.test", 8, out), -1, "name: newline");
	is_int(resolv_name_normalize("*.test", 6, out), -1, "name: '*'");
	is_int(resolv_name_normalize("h\xc3\xa9.test", 8, out), -1,
	    "name: 8-bit");
	is_str(out, "", "name: invalid gives \"\"");
	memset(long_name, 'a', 63);
	memcpy(long_name + 63, ".test", 6);
	is_int(resolv_name_normalize(long_name, 68, out), 0, "name: 63 label");
	memset(long_name, 'a', 64);
	memcpy(long_name + 64, ".test", 6);
	is_int(resolv_name_normalize(long_name, 69, out), -1, "name: 64 label");
	/* 253 bytes: 3 * (62 + dot) + 61 + dot + "t" */
	memset(long_name, 'b', sizeof(long_name));
	long_name[62] = long_name[125] = long_name[188] = long_name[250] = '.';
	long_name[253] = '\0';
	is_int(resolv_name_normalize(long_name, 253, out), 0, "name: 253");
	n = resolv_name_to_wire(out, wire);
	is_int(n, 255, "wire: 253-byte name is 255 bytes");
	long_name[253] = 'c';
	is_int(resolv_name_normalize(long_name, 254, out), -1, "name: 254");
	long_name[253] = '.';
	is_int(resolv_name_normalize(long_name, 254, out), 0,
	    "name: 253 plus final dot");
	n = resolv_name_to_wire("ab.c", wire);
	ok(n == 6 && memcmp(wire, "\2ab\1c\0", 6) == 0, "wire: labels");
	n = resolv_name_to_wire(".", wire);
	ok(n == 1 && wire[0] == 0, "wire: root");
	is_int(resolv_type_code(RESOLV_AAAA), 28, "type code AAAA");
	is_int(resolv_type_code(RESOLV_MX), 15, "type code MX");
	is_str(resolv_type_name(RESOLV_PTR), "PTR", "type name PTR");
	is_str(resolv_type_name(RESOLV_TXT), "TXT", "type name TXT");
}

/* test_parse_found - answers with records of each type */
static void
test_parse_found(void)
{
	struct resolv_answer ans;
	struct pkt p;

	start(&p, 0, 0, 2, "host.example.test", T_A);
	rr_a(&p, 192, 0, 2, 1);
	rr_a(&p, 192, 0, 2, 2);
	is_int(parse(&p, "host.example.test", RESOLV_A, &ans), 0, "A parsed");
	is_int(ans.status, RESOLV_FOUND, "A: FOUND");
	is_int(ans.count, 2, "A: two records");
	ok(ans.count == 2 && addr_is(&ans.addrs[0], "192.0.2.1") &&
	    addr_is(&ans.addrs[1], "192.0.2.2"), "A: addresses in order");
	ok(ans.count > 0 && ans.addrs[0].family == NET_V4, "A: IPv4");
	resolv_answer_clear(&ans);

	start(&p, 0, 0, 2, "Host.Example.Test", T_AAAA);
	rr_head(&p, T_AAAA, 16);
	put_bytes(&p, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x25", 16);
	rr_head(&p, T_AAAA, 16);
	put_bytes(&p, "\0\0\0\0\0\0\0\0\0\0\xff\xff\xc0\0\2\7", 16);
	is_int(parse(&p, "host.example.test", RESOLV_AAAA, &ans), 0,
	    "AAAA parsed (question case ignored)");
	is_int(ans.status, RESOLV_FOUND, "AAAA: FOUND");
	ok(ans.count == 2 && addr_is(&ans.addrs[0], "2001:db8::25") &&
	    ans.addrs[0].family == NET_V6, "AAAA: IPv6 address");
	ok(ans.count == 2 && ans.addrs[1].family == NET_V4 &&
	    addr_is(&ans.addrs[1], "192.0.2.7"), "AAAA: v4-mapped is IPv4");
	resolv_answer_clear(&ans);

	/* NS: upper case, one target compressed against the question */
	start(&p, 0, 0, 3, "example.test", T_NS);
	rr_name(&p, T_NS, "NS1.Example.TEST");
	rr_head(&p, T_NS, 6);
	put8(&p, 3);
	put_bytes(&p, "ns2", 3);
	put_ptr(&p, 12);
	rr_name(&p, T_A, "junk");	/* another type: ignored */
	is_int(parse(&p, "example.test", RESOLV_NS, &ans), 0, "NS parsed");
	is_int(ans.status, RESOLV_FOUND, "NS: FOUND");
	is_int(ans.count, 2, "NS: two (the A-typed record ignored)");
	if (ans.count == 2) {
		is_str(ans.names[0], "ns1.example.test", "NS: lower-cased");
		is_str(ans.names[1], "ns2.example.test", "NS: compressed");
	}
	resolv_answer_clear(&ans);

	/* MX: sorted by preference, stable among equals */
	start(&p, 0, 0, 4, "example.test", T_MX);
	rr_mx(&p, 20, "b.example.test");
	rr_mx(&p, 10, "a.example.test");
	rr_mx(&p, 10, "C.example.test");
	rr_mx(&p, 5, "first.example.test");
	is_int(parse(&p, "example.test", RESOLV_MX, &ans), 0, "MX parsed");
	is_int(ans.count, 4, "MX: four");
	if (ans.count == 4) {
		is_str(ans.names[0], "first.example.test", "MX: pref 5 first");
		is_str(ans.names[1], "a.example.test", "MX: pref 10 (1st)");
		is_str(ans.names[2], "c.example.test", "MX: pref 10 (2nd)");
		is_str(ans.names[3], "b.example.test", "MX: pref 20 last");
	}
	resolv_answer_clear(&ans);

	start(&p, 0, 0, 1, "example.test", T_MX);
	rr_mx(&p, 0, "");
	is_int(parse(&p, "example.test", RESOLV_MX, &ans), 0, "null MX parsed");
	ok(ans.status == RESOLV_FOUND && ans.count == 1 &&
	    strcmp(ans.names[0], ".") == 0, "null MX: target \".\"");
	resolv_answer_clear(&ans);

	start(&p, 0, 0, 1, "1.2.0.192.in-addr.arpa", T_PTR);
	rr_name(&p, T_PTR, "Good.Example.TEST");
	is_int(parse(&p, "1.2.0.192.in-addr.arpa", RESOLV_PTR, &ans), 0,
	    "PTR parsed");
	ok(ans.status == RESOLV_FOUND && ans.count == 1 &&
	    strcmp(ans.names[0], "good.example.test") == 0, "PTR: name");
	resolv_answer_clear(&ans);

	/* a PTR target whose label holds a dot, or a blank: skipped */
	start(&p, 0, 0, 3, "2.2.0.192.in-addr.arpa", T_PTR);
	rr_head(&p, T_PTR, 21);
	put8(&p, 8);
	put_bytes(&p, "mci.test", 8);	/* one label "mci.test" */
	put8(&p, 5);
	put_bytes(&p, "evil1", 5);
	put8(&p, 4);
	put_bytes(&p, "test", 4);
	put8(&p, 0);
	rr_name(&p, T_PTR, "a b.test");
	rr_name(&p, T_PTR, "fine.test");
	is_int(parse(&p, "2.2.0.192.in-addr.arpa", RESOLV_PTR, &ans), 0,
	    "PTR with odd labels parsed");
	ok(ans.status == RESOLV_FOUND && ans.count == 1 &&
	    strcmp(ans.names[0], "fine.test") == 0,
	    "PTR: unrepresentable names skipped, good one kept");
	resolv_answer_clear(&ans);
	start(&p, 0, 0, 1, "2.2.0.192.in-addr.arpa", T_PTR);
	rr_name(&p, T_PTR, "a b.test");
	is_int(parse(&p, "2.2.0.192.in-addr.arpa", RESOLV_PTR, &ans), 0,
	    "PTR only odd parsed");
	ok(ans.status == RESOLV_NOTFOUND && !ans.is_nxdomain,
	    "PTR: no usable name is no data");
	resolv_answer_clear(&ans);

	/* CNAME chain: www -> alias -> host, then A of host */
	start(&p, 0, 0, 3, "www.example.test", T_A);
	rr_name(&p, T_CNAME, "alias.example.test");
	put_name(&p, "alias.example.test");
	put16(&p, T_CNAME);
	put16(&p, 1);
	put16(&p, 0);
	put16(&p, 60);
	put16(&p, 2 + 5);
	put8(&p, 4);
	put_bytes(&p, "host", 4);
	put_ptr(&p, 12 + 4);	/* "example.test" inside the question */
	put_name(&p, "host.example.test");
	put16(&p, T_A);
	put16(&p, 1);
	put16(&p, 0);
	put16(&p, 60);
	put16(&p, 4);
	put_bytes(&p, "\xc6\x33\x64\x05", 4);
	is_int(parse(&p, "www.example.test", RESOLV_A, &ans), 0,
	    "CNAME chain parsed");
	ok(ans.status == RESOLV_FOUND && ans.count == 1 &&
	    addr_is(&ans.addrs[0], "198.51.100.5"), "CNAME chain: final A");
	resolv_answer_clear(&ans);

	/* TXT: strings joined, control bytes made '?' */
	start(&p, 0, 0, 2, "2.0.0.127.dnsbl.test", T_TXT);
	rr_head(&p, T_TXT, 14);
	put8(&p, 6);
	put_bytes(&p, "listed", 6);
	put8(&p, 6);
	put_bytes(&p, " a\r\n\x80z", 6);
	rr_head(&p, T_TXT, 0);
	is_int(parse(&p, "2.0.0.127.dnsbl.test", RESOLV_TXT, &ans), 0,
	    "TXT parsed");
	is_int(ans.count, 2, "TXT: two records");
	if (ans.count == 2) {
		is_str(ans.names[0], "listed a???z", "TXT: joined, printable");
		is_str(ans.names[1], "", "TXT: empty RDATA is \"\"");
	}
	resolv_answer_clear(&ans);

	/* more than RESOLV_MAX_RECORDS */
	start(&p, 0, 0, 150, "many.example.test", T_A);
	for (unsigned int i = 0; i < 150; i++)
		rr_a(&p, 10, 0, i >> 8, i & 0xff);
	is_int(parse(&p, NULL, RESOLV_A, &ans), 0, "150 A parsed");
	is_int(ans.count, RESOLV_MAX_RECORDS, "150 A: capped at the max");
	resolv_answer_clear(&ans);
}

/* test_parse_status - NXDOMAIN, no data, failures */
static void
test_parse_status(void)
{
	struct resolv_answer ans;
	struct pkt p;

	start(&p, 0, 3, 0, "nx.example.test", T_A);
	is_int(parse(&p, "nx.example.test", RESOLV_A, &ans), 0, "NX parsed");
	is_int(ans.status, RESOLV_NOTFOUND, "NXDOMAIN: NOTFOUND");
	is_int(ans.is_nxdomain, 1, "NXDOMAIN: is_nxdomain");
	resolv_answer_clear(&ans);

	start(&p, 0, 3, 1, "cn.example.test", T_A);
	rr_name(&p, T_CNAME, "gone.example.test");
	is_int(parse(&p, "cn.example.test", RESOLV_A, &ans), 0,
	    "NX after CNAME parsed");
	ok(ans.status == RESOLV_NOTFOUND && ans.is_nxdomain,
	    "NXDOMAIN at the end of a CNAME: NOTFOUND");
	resolv_answer_clear(&ans);

	start(&p, 0, 0, 0, "a-only.example.test", T_MX);
	is_int(parse(&p, "a-only.example.test", RESOLV_MX, &ans), 0,
	    "NODATA parsed");
	is_int(ans.status, RESOLV_NOTFOUND, "NODATA: NOTFOUND");
	is_int(ans.is_nxdomain, 0, "NODATA: not nxdomain");
	resolv_answer_clear(&ans);

	/* The same empty answer from a server that neither recursed nor
	   is authoritative (a referral): it says nothing of the name. */
	start(&p, 0, 0, 0, "a-only.example.test", T_MX);
	p.b[3] &= ~0x80u;				/* no RA */
	is_int(parse(&p, "a-only.example.test", RESOLV_MX, &ans), 0,
	    "referral parsed");
	is_int(ans.status, RESOLV_TEMPFAIL, "referral: TEMPFAIL");
	resolv_answer_clear(&ans);
	start(&p, 0x0400, 0, 0, "a-only.example.test", T_MX);
	p.b[3] &= ~0x80u;				/* AA, no RA */
	is_int(parse(&p, "a-only.example.test", RESOLV_MX, &ans), 0,
	    "authoritative NODATA parsed");
	is_int(ans.status, RESOLV_NOTFOUND,
	    "authoritative NODATA (rbldnsd): NOTFOUND");
	resolv_answer_clear(&ans);

	start(&p, 0, 0, 1, "cn.example.test", T_A);
	rr_name(&p, T_CNAME, "other.example.test");
	is_int(parse(&p, "cn.example.test", RESOLV_A, &ans), 0,
	    "CNAME only parsed");
	ok(ans.status == RESOLV_NOTFOUND && !ans.is_nxdomain,
	    "CNAME without A: no data");
	resolv_answer_clear(&ans);

	start(&p, 0, 2, 0, "sf.example.test", T_A);
	is_int(parse(&p, "sf.example.test", RESOLV_A, &ans), 0, "SF parsed");
	is_int(ans.status, RESOLV_TEMPFAIL, "SERVFAIL: TEMPFAIL");
	is_str(ans.error, "server failure", "SERVFAIL: error text");
	resolv_answer_clear(&ans);

	start(&p, 0, 5, 0, "sf.example.test", T_A);
	is_int(parse(&p, "sf.example.test", RESOLV_A, &ans), 0, "REFUSED");
	ok(ans.status == RESOLV_TEMPFAIL && ans.error != NULL &&
	    strcmp(ans.error, "server failure") == 0, "REFUSED: TEMPFAIL");
	resolv_answer_clear(&ans);

	start(&p, 0x0200, 0, 1, "big.example.test", T_TXT);
	rr_head(&p, T_TXT, 2);
	put8(&p, 1);
	put8(&p, 'x');
	is_int(parse(&p, "big.example.test", RESOLV_TXT, &ans), 0, "TC");
	ok(ans.status == RESOLV_TEMPFAIL && ans.count == 0 &&
	    strcmp(ans.error, "truncated") == 0, "TC: TEMPFAIL truncated");
	resolv_answer_clear(&ans);
}

/* test_parse_garbage - malformed packets are "bad reply" */
static void
test_parse_garbage(void)
{
	struct pkt p;
	size_t i;

	memset(&p, 0, sizeof(p));
	put_bytes(&p, "\x12\x34\x81\x80\0", 5);
	is_badreply(&p, NULL, RESOLV_A, "5-byte packet");

	start(&p, 0, 0, 0, "x.test", T_A);
	p.b[2] &= 0x7f;		/* QR clear: a query */
	is_badreply(&p, NULL, RESOLV_A, "not a response");

	start(&p, 0, 0, 0, "x.test", T_A);
	p.b[5] = 0;		/* qdcount 0 */
	is_badreply(&p, NULL, RESOLV_A, "no question");

	start(&p, 0, 0, 1, "x.test", T_A);
	rr_a(&p, 192, 0, 2, 1);
	is_badreply(&p, "y.test", RESOLV_A, "question for another name");
	is_badreply(&p, "x.test", RESOLV_MX, "question for another type");

	start(&p, 0, 0, 2, "x.test", T_A);
	rr_a(&p, 192, 0, 2, 1);
	is_badreply(&p, "x.test", RESOLV_A, "ancount larger than the records");

	start(&p, 0, 0, 1, "x.test", T_A);
	rr_a(&p, 192, 0, 2, 1);
	p.len -= 2;
	is_badreply(&p, "x.test", RESOLV_A, "RDATA past the end");

	start(&p, 0, 0, 1, "x.test", T_A);
	rr_head(&p, T_A, 5);
	put_bytes(&p, "\1\2\3\4\5", 5);
	is_badreply(&p, "x.test", RESOLV_A, "A with 5 bytes");

	start(&p, 0, 0, 1, "x.test", T_AAAA);
	rr_head(&p, T_AAAA, 4);
	put_bytes(&p, "\1\2\3\4", 4);
	is_badreply(&p, "x.test", RESOLV_AAAA, "AAAA with 4 bytes");

	start(&p, 0, 0, 1, "x.test", T_NS);
	rr_head(&p, T_NS, 8);
	put_name(&p, "ns.test");	/* 9 bytes, RDATA says 8 */
	p.b[p.len - 1] = 0;
	is_badreply(&p, "x.test", RESOLV_NS, "NS name longer than RDATA");

	start(&p, 0, 0, 1, "x.test", T_NS);
	rr_head(&p, T_NS, 10);
	put_name(&p, "ns.test");
	put8(&p, 0);
	is_badreply(&p, "x.test", RESOLV_NS, "NS name shorter than RDATA");

	start(&p, 0, 0, 1, "x.test", T_MX);
	rr_head(&p, T_MX, 2);
	put16(&p, 10);
	is_badreply(&p, "x.test", RESOLV_MX, "MX without a name");

	start(&p, 0, 0, 1, "x.test", T_TXT);
	rr_head(&p, T_TXT, 3);
	put8(&p, 5);
	put_bytes(&p, "ab", 2);
	is_badreply(&p, "x.test", RESOLV_TXT, "TXT string past its RDATA");

	/* compression: a pointer to itself, forwards, a two-pointer loop */
	start(&p, 0, 0, 1, "x.test", T_A);
	i = p.len;
	put_ptr(&p, (unsigned int)i);
	put16(&p, T_A);
	put16(&p, 1);
	put16(&p, 0);
	put16(&p, 0);
	put16(&p, 4);
	put_bytes(&p, "\1\2\3\4", 4);
	is_badreply(&p, "x.test", RESOLV_A, "pointer to itself");

	start(&p, 0, 0, 1, "x.test", T_A);
	i = p.len;
	put_ptr(&p, (unsigned int)i + 2);
	put16(&p, T_A);
	put16(&p, 1);
	put16(&p, 0);
	put16(&p, 0);
	put16(&p, 4);
	put_bytes(&p, "\1\2\3\4", 4);
	is_badreply(&p, "x.test", RESOLV_A, "forward pointer");

	start(&p, 0, 0, 1, "x.test", T_NS);
	i = p.len;
	/* owner: label "a" then a pointer back to the label (a loop) */
	put8(&p, 1);
	put8(&p, 'a');
	put_ptr(&p, (unsigned int)i);
	put16(&p, T_NS);
	put16(&p, 1);
	put16(&p, 0);
	put16(&p, 0);
	put16(&p, 2);
	put_ptr(&p, 12);
	is_badreply(&p, "x.test", RESOLV_NS, "label then pointer loop");

	/* a pointer to a pointer (backwards both times) is fine */
	start(&p, 0, 0, 2, "x.test", T_NS);
	rr_name(&p, T_NS, "ns.x.test");
	i = p.len;
	put_ptr(&p, 12);	/* owner of the 2nd NS: pointer to question */
	put16(&p, T_NS);
	put16(&p, 1);
	put16(&p, 0);
	put16(&p, 0);
	put16(&p, 2);
	put_ptr(&p, (unsigned int)i);	/* target: pointer to that pointer */
	{
		struct resolv_answer ans;

		is_int(parse(&p, "x.test", RESOLV_NS, &ans), 0, "ptr to ptr");
		ok(ans.status == RESOLV_FOUND && ans.count == 2 &&
		    strcmp(ans.names[1], "x.test") == 0,
		    "pointer to a pointer decoded");
		resolv_answer_clear(&ans);
	}

	/* a name over 255 bytes, built from pointers to long names */
	{
		/* a TXT-typed RR whose RDATA holds five 60-byte labels, each
		   followed by a pointer to the previous one, then an NS
		   pointing at the last: 5 * 61 bytes in wire format */
		struct pkt q;
		size_t rd_at, names_at, prev = 0;

		start(&q, 0, 0, 2, "x.test", T_NS);
		put_ptr(&q, 12);
		put16(&q, T_TXT);
		put16(&q, 1);
		put16(&q, 0);
		put16(&q, 0);
		rd_at = q.len;
		put16(&q, 0);
		names_at = q.len;
		for (int k = 0; k < 5; k++) {
			size_t here = q.len;

			put8(&q, 60);
			for (int c = 0; c < 60; c++)
				put8(&q, 'a' + k);
			if (prev != 0)
				put_ptr(&q, (unsigned int)prev);
			else
				put8(&q, 0);
			prev = here;
		}
		q.b[rd_at] = (unsigned char)((q.len - names_at) >> 8);
		q.b[rd_at + 1] = (unsigned char)((q.len - names_at) & 0xff);
		rr_head(&q, T_NS, 2);
		put_ptr(&q, (unsigned int)prev);
		is_badreply(&q, "x.test", RESOLV_NS, "name over 255 bytes");
	}

	start(&p, 0, 0, 1, "x.test", T_NS);
	rr_head(&p, T_NS, 2);
	put8(&p, 0x41);		/* extended label type 01 */
	put8(&p, 0);
	is_badreply(&p, "x.test", RESOLV_NS, "extended label type");

	/* random garbage never crashes and is never FOUND with junk */
	srand(42);
	for (i = 0; i < 2000; i++) {
		struct resolv_answer ans;
		size_t n = (size_t)(rand() % 200);

		start(&p, 0, 0, (unsigned int)(rand() % 4), "x.test", T_NS);
		for (size_t k = 0; k < n; k++)
			put8(&p, (unsigned int)rand());
		if (parse(&p, NULL, RESOLV_NS, &ans) != 0) {
			ok(0, "garbage %zu: parse returned an error", i);
			break;
		}
		if (ans.status == RESOLV_FOUND && ans.count == 0) {
			ok(0, "garbage %zu: FOUND without records", i);
			break;
		}
		resolv_answer_clear(&ans);
	}
	ok(i == 2000, "2000 random packets parsed safely");
}

/* sleep_ms - pause */
static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* preload_addrs - preload an A/AAAA answer from text addresses */
static int
preload_addrs(struct resolv *r, const char *name, enum resolv_type type,
    const char *a1, const char *a2)
{
	struct resolv_answer ans;
	struct net_addr addrs[2];

	memset(&ans, 0, sizeof(ans));
	ans.status = RESOLV_FOUND;
	if (net_addr_parse(a1, strlen(a1), &addrs[0]) == -1)
		return -1;
	ans.count = 1;
	if (a2 != NULL) {
		if (net_addr_parse(a2, strlen(a2), &addrs[1]) == -1)
			return -1;
		ans.count = 2;
	}
	ans.addrs = addrs;
	return resolv_preload(r, name, type, &ans);
}

/* preload_names - preload a name answer */
static int
preload_names(struct resolv *r, const char *name, enum resolv_type type,
    char **names, size_t n)
{
	struct resolv_answer ans;

	memset(&ans, 0, sizeof(ans));
	ans.status = RESOLV_FOUND;
	ans.count = n;
	ans.names = names;
	return resolv_preload(r, name, type, &ans);
}

/* preload_status - preload NOTFOUND or TEMPFAIL */
static int
preload_status(struct resolv *r, const char *name, enum resolv_type type,
    enum resolv_status status, const char *error)
{
	struct resolv_answer ans;

	memset(&ans, 0, sizeof(ans));
	ans.status = status;
	ans.is_nxdomain = status == RESOLV_NOTFOUND;
	ans.error = error;
	return resolv_preload(r, name, type, &ans);
}

/* offline - a resolver that must never send: its budget is spent */
static struct resolv *
offline(void)
{
	struct resolv_conf conf = { "127.0.0.1", 1000, 1, 0 };
	struct resolv *r = resolv_new(&conf);

	if (r != NULL)
		sleep_ms(5);
	return r;
}

/* test_conf - server lists */
static void
test_conf(void)
{
	struct resolv_conf conf = { NULL, 0, 0, 0 };
	struct resolv *r;
	static const char *bad[] = {
		"", " , ", "1.2.3", "192.0.2.1 bogus", "0.0.0.0", "::",
		"192.0.2.1/24", "1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4 5.5.5.5 "
		"6.6.6.6 7.7.7.7 8.8.8.8 9.9.9.9 10.10.10.10 11.11.11.11 "
		"12.12.12.12 13.13.13.13 14.14.14.14 15.15.15.15 16.16.16.16 "
		"17.17.17.17"
	};

	conf.servers = "127.0.0.1, ::1\t[2001:db8::53];192.0.2.53";
	r = resolv_new(&conf);
	ok(r != NULL, "servers: v4, v6, brackets, mixed separators");
	if (r != NULL)
		is_int(resolv_query_count(r), 0, "new resolver sent nothing");
	resolv_free(r);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		conf.servers = bad[i];
		r = resolv_new(&conf);
		ok(r == NULL && errno == EINVAL, "servers \"%.20s\" refused",
		    bad[i]);
		resolv_free(r);
	}
	conf.servers = NULL;
	r = resolv_new(&conf);	/* $DNSCACHEIP or /etc/resolv.conf */
	ok(r != NULL, "servers from the system");
	resolv_free(r);
	r = resolv_new(NULL);
	ok(r != NULL, "NULL conf means defaults");
	resolv_free(r);
}

/* test_cache - preload, lookup, replacement, validation */
static void
test_cache(void)
{
	struct resolv *r = offline();
	const struct resolv_answer *a, *b;
	char *ns[] = { "NS1.Example.TEST.", "ns2.example.test" };
	char *txt[] = { "Hello World." };
	char name[RESOLV_NAME_MAX];
	struct resolv_answer found;
	int rc;

	if (!ok(r != NULL, "offline resolver"))
		return;
	is_int(preload_addrs(r, "Host.Example.TEST.", RESOLV_A, "192.0.2.1",
	    "192.0.2.2"), 0, "preload A");
	a = resolv_lookup(r, "host.example.test", RESOLV_A);
	ok(a->status == RESOLV_FOUND && a->count == 2 &&
	    addr_is(&a->addrs[1], "192.0.2.2"), "preloaded A found");
	b = resolv_lookup(r, "HOST.example.test.", RESOLV_A);
	ok(a == b, "key is case-insensitive, final dot ignored, same answer");
	b = resolv_lookup(r, "host.example.test", RESOLV_AAAA);
	ok(b->status == RESOLV_TEMPFAIL && strcmp(b->error,
	    "budget exhausted") == 0, "other type is another key");

	is_int(preload_names(r, "example.test", RESOLV_NS, ns, 2), 0,
	    "preload NS");
	a = resolv_lookup(r, "example.test", RESOLV_NS);
	ok(a->status == RESOLV_FOUND && a->count == 2 &&
	    strcmp(a->names[0], "ns1.example.test") == 0,
	    "preloaded NS names normalised");
	ok(a->names != ns && a->names[1] != ns[1], "preload copies names");
	is_int(preload_names(r, "t.example.test", RESOLV_TXT, txt, 1), 0,
	    "preload TXT");
	a = resolv_lookup(r, "t.example.test", RESOLV_TXT);
	ok(a->count == 1 && strcmp(a->names[0], "Hello World.") == 0,
	    "TXT kept as given");

	is_int(preload_status(r, "nx.example.test", RESOLV_MX,
	    RESOLV_NOTFOUND, NULL), 0, "preload NOTFOUND");
	a = resolv_lookup(r, "nx.example.test", RESOLV_MX);
	ok(a->status == RESOLV_NOTFOUND && a->is_nxdomain, "NOTFOUND found");
	is_int(preload_status(r, "sf.example.test", RESOLV_MX,
	    RESOLV_TEMPFAIL, "timeout"), 0, "preload TEMPFAIL");
	a = resolv_lookup(r, "sf.example.test", RESOLV_MX);
	ok(a->status == RESOLV_TEMPFAIL && strcmp(a->error, "timeout") == 0,
	    "TEMPFAIL cached with its text");

	/* replacing keeps the old answer valid */
	a = resolv_lookup(r, "host.example.test", RESOLV_A);
	is_int(preload_addrs(r, "host.example.test", RESOLV_A, "192.0.2.9",
	    NULL), 0, "preload again");
	b = resolv_lookup(r, "host.example.test", RESOLV_A);
	ok(a != b && b->count == 1 && addr_is(&b->addrs[0], "192.0.2.9"),
	    "new answer replaces the cached one");
	ok(a->count == 2 && addr_is(&a->addrs[0], "192.0.2.1"),
	    "old answer still readable");

	/* invalid names */
	a = resolv_lookup(r, "bad name.example.test", RESOLV_A);
	ok(a->status == RESOLV_NOTFOUND && a->is_nxdomain &&
	    strcmp(a->error, "invalid name") == 0, "invalid name: NOTFOUND");
	a = resolv_lookup(r, "", RESOLV_MX);
	is_int(a->status, RESOLV_NOTFOUND, "empty name: NOTFOUND");
	errno = 0;
	rc = preload_status(r, "a..b", RESOLV_A, RESOLV_NOTFOUND, NULL);
	ok(rc == -1 && errno == EINVAL, "preload of an invalid name: EINVAL");
	memset(&found, 0, sizeof(found));
	found.status = RESOLV_FOUND;
	errno = 0;
	rc = resolv_preload(r, "empty.example.test", RESOLV_A, &found);
	ok(rc == -1 && errno == EINVAL, "preload FOUND without records");
	is_int(resolv_query_count(r), 0, "no query was sent");
	resolv_free(r);

	/* the cache is bounded; the entries past it are refused */
	r = offline();
	if (r == NULL)
		return;
	for (rc = 0; rc < 4096; rc++) {
		(void)snprintf(name, sizeof(name), "h%d.example.test", rc);
		if (preload_status(r, name, RESOLV_A, RESOLV_NOTFOUND,
		    NULL) == -1)
			break;
	}
	is_int(rc, 4096, "4096 answers cached");
	errno = 0;
	rc = preload_status(r, "one-more.example.test", RESOLV_A,
	    RESOLV_NOTFOUND, NULL);
	ok(rc == -1 && errno == ENOSPC, "answer 4097: ENOSPC");
	rc = preload_status(r, "h7.example.test", RESOLV_A, RESOLV_TEMPFAIL,
	    "x");
	is_int(rc, 0, "replacing in a full cache still works");
	a = resolv_lookup(r, "h4095.example.test", RESOLV_A);
	is_int(a->status, RESOLV_NOTFOUND, "last cached answer found");
	resolv_free(r);
}

/* test_closed_world - only preloaded facts exist */
static void
test_closed_world(void)
{
	struct resolv_conf conf = { "not an address", 0, 0, 1 };
	struct resolv *r = resolv_new(&conf);
	const struct resolv_answer *a;
	struct net_addr addr;
	char name[RESOLV_NAME_MAX];

	if (!ok(r != NULL, "closed world: servers are not read"))
		return;
	(void)preload_addrs(r, "host.example.test", RESOLV_A, "192.0.2.1",
	    NULL);
	a = resolv_lookup(r, "host.example.test", RESOLV_A);
	is_int(a->status, RESOLV_FOUND, "closed world: preloaded found");
	a = resolv_lookup(r, "other.example.test", RESOLV_A);
	ok(a->status == RESOLV_NOTFOUND && a->is_nxdomain,
	    "closed world: the rest is NXDOMAIN");
	(void)net_addr_parse("192.0.2.1", 9, &addr);
	is_int(resolv_fcrdns(r, &addr, name, sizeof(name)), RESOLV_NOTFOUND,
	    "closed world: no PTR, UNKNOWN");
	is_int(resolv_query_count(r), 0, "closed world: nothing sent");
	resolv_free(r);
}

/* test_budget - a spent budget answers at once, without a socket */
static void
test_budget(void)
{
	struct resolv *r = offline();
	struct resolv_request req[5];
	const struct resolv_answer *a, *b;

	if (!ok(r != NULL, "budget resolver"))
		return;
	a = resolv_lookup(r, "uncached.example.test", RESOLV_A);
	ok(a->status == RESOLV_TEMPFAIL && a->error != NULL &&
	    strcmp(a->error, "budget exhausted") == 0,
	    "uncached after the budget: TEMPFAIL budget exhausted");
	is_int(resolv_query_count(r), 0, "no query sent");
	(void)preload_addrs(r, "cached.example.test", RESOLV_A, "192.0.2.3",
	    NULL);
	req[0].name = "cached.example.test";
	req[0].type = RESOLV_A;
	req[1].name = "uncached.example.test";
	req[1].type = RESOLV_A;
	req[2].name = "uncached.example.test";
	req[2].type = RESOLV_A;
	req[3].name = "-bad-.exa mple";
	req[3].type = RESOLV_MX;
	req[4].name = NULL;
	req[4].type = RESOLV_NS;
	resolv_lookup_many(r, req, 5);
	is_int(req[0].answer->status, RESOLV_FOUND, "many: cached answered");
	is_int(req[1].answer->status, RESOLV_TEMPFAIL, "many: uncached fails");
	ok(req[1].answer == req[2].answer, "many: duplicates answered alike");
	is_int(req[3].answer->status, RESOLV_NOTFOUND, "many: invalid name");
	is_int(req[4].answer->status, RESOLV_NOTFOUND, "many: NULL name");
	b = resolv_lookup(r, "uncached.example.test", RESOLV_A);
	ok(b->status == RESOLV_TEMPFAIL, "budget failure not cached as fact");
	is_int(resolv_query_count(r), 0, "still no query sent");
	resolv_lookup_many(r, req, 0);
	ok(1, "lookup_many of nothing");
	resolv_free(r);
}

/* test_fcrdns - forward-confirmed reverse DNS over preloaded facts */
static void
test_fcrdns(void)
{
	struct resolv *r = offline();
	struct net_addr addr;
	char name[RESOLV_NAME_MAX], tiny[4];
	char *two[] = { "spoof.example.test", "Good.Example.TEST." };
	char *one[] = { "spoof.example.test" };
	char *tf[] = { "slow.example.test", "spoof.example.test" };
	char *tf2[] = { "slow.example.test", "good.example.test" };
	char *v6[] = { "host6.example.test" };
	char *many[12];
	char many_buf[12][32];

	if (!ok(r != NULL, "fcrdns resolver"))
		return;
	(void)preload_addrs(r, "good.example.test", RESOLV_A, "192.0.2.10",
	    "192.0.2.1");
	(void)preload_addrs(r, "spoof.example.test", RESOLV_A, "203.0.113.9",
	    NULL);
	(void)preload_status(r, "slow.example.test", RESOLV_A, RESOLV_TEMPFAIL,
	    "timeout");

	(void)net_addr_parse("192.0.2.1", 9, &addr);
	(void)preload_names(r, "1.2.0.192.in-addr.arpa", RESOLV_PTR, two, 2);
	is_int(resolv_fcrdns(r, &addr, name, sizeof(name)), RESOLV_FOUND,
	    "fcrdns: second PTR name confirms");
	is_str(name, "good.example.test", "fcrdns: the confirmed name");
	is_int(resolv_fcrdns(r, &addr, tiny, sizeof(tiny)), RESOLV_TEMPFAIL,
	    "fcrdns: name buffer too small is TEMPFAIL, not UNKNOWN");

	(void)net_addr_parse("192.0.2.2", 9, &addr);
	(void)preload_names(r, "2.2.0.192.in-addr.arpa", RESOLV_PTR, one, 1);
	is_int(resolv_fcrdns(r, &addr, name, sizeof(name)), RESOLV_NOTFOUND,
	    "fcrdns: PTR not confirmed (spoof) is NOTFOUND");
	is_str(name, "", "fcrdns: no name");

	(void)net_addr_parse("192.0.2.3", 9, &addr);
	(void)preload_status(r, "3.2.0.192.in-addr.arpa", RESOLV_PTR,
	    RESOLV_NOTFOUND, NULL);
	is_int(resolv_fcrdns(r, &addr, name, sizeof(name)), RESOLV_NOTFOUND,
	    "fcrdns: no PTR is NOTFOUND");

	(void)net_addr_parse("192.0.2.4", 9, &addr);
	is_int(resolv_fcrdns(r, &addr, name, sizeof(name)), RESOLV_TEMPFAIL,
	    "fcrdns: PTR lookup failing is TEMPFAIL");

	(void)net_addr_parse("192.0.2.5", 9, &addr);
	(void)preload_names(r, "5.2.0.192.in-addr.arpa", RESOLV_PTR, tf, 2);
	is_int(resolv_fcrdns(r, &addr, name, sizeof(name)), RESOLV_TEMPFAIL,
	    "fcrdns: forward TEMPFAIL and none confirmed is TEMPFAIL");

	(void)net_addr_parse("192.0.2.10", 10, &addr);
	(void)preload_names(r, "10.2.0.192.in-addr.arpa", RESOLV_PTR, tf2, 2);
	is_int(resolv_fcrdns(r, &addr, name, sizeof(name)), RESOLV_FOUND,
	    "fcrdns: forward TEMPFAIL but another confirms is FOUND");
	is_str(name, "good.example.test", "fcrdns: confirmed name");

	/* only the first RESOLV_FCRDNS_MAX names are tried */
	for (int i = 0; i < 12; i++) {
		(void)snprintf(many_buf[i], sizeof(many_buf[i]),
		    "m%d.example.test", i);
		many[i] = many_buf[i];
		(void)preload_addrs(r, many_buf[i], RESOLV_A,
		    i == 11 ? "192.0.2.11" : "198.51.100.1", NULL);
	}
	(void)net_addr_parse("192.0.2.11", 10, &addr);
	(void)preload_names(r, "11.2.0.192.in-addr.arpa", RESOLV_PTR, many, 12);
	is_int(resolv_fcrdns(r, &addr, name, sizeof(name)), RESOLV_NOTFOUND,
	    "fcrdns: the 12th PTR name is not tried");

	(void)net_addr_parse("2001:db8::25", 12, &addr);
	(void)preload_names(r, "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.8.b.d.0.1.0.0.2.ip6.arpa", RESOLV_PTR, v6, 1);
	(void)preload_addrs(r, "host6.example.test", RESOLV_AAAA,
	    "2001:db8::24", "2001:db8::25");
	is_int(resolv_fcrdns(r, &addr, name, sizeof(name)), RESOLV_FOUND,
	    "fcrdns: IPv6 via ip6.arpa and AAAA");
	is_str(name, "host6.example.test", "fcrdns: IPv6 name");
	is_int(resolv_query_count(r), 0, "fcrdns: nothing sent");
	resolv_free(r);
}

/* live_server - lookups against tests/integration's unbound */
static void
live_server(const char *server)
{
	struct resolv_conf conf = { server, 2000, 10000, 0 };
	struct resolv *r = resolv_new(&conf);
	const struct resolv_answer *a, *b;
	struct resolv_request req[40];
	char names[40][64], name[RESOLV_NAME_MAX];
	struct net_addr addr;
	size_t sent;

	t_diag("live tests against %s", server);
	if (!ok(r != NULL, "live: resolver"))
		return;
	a = resolv_lookup(r, "Good.Example.Test", RESOLV_A);
	ok(a->status == RESOLV_FOUND && a->count == 1 &&
	    addr_is(&a->addrs[0], "192.0.2.10"), "live: A");
	sent = resolv_query_count(r);
	b = resolv_lookup(r, "good.example.test.", RESOLV_A);
	ok(a == b && resolv_query_count(r) == sent, "live: second is cached");
	a = resolv_lookup(r, "good6.example.test", RESOLV_AAAA);
	ok(a->status == RESOLV_FOUND && a->count == 1 &&
	    addr_is(&a->addrs[0], "2001:db8::10"), "live: AAAA");
	a = resolv_lookup(r, "mxorder.example.test", RESOLV_MX);
	ok(a->status == RESOLV_FOUND && a->count == 3 &&
	    strcmp(a->names[0], "mx1.example.test") == 0 &&
	    strcmp(a->names[2], "mx3.example.test") == 0,
	    "live: MX by preference");
	a = resolv_lookup(r, "example.test", RESOLV_NS);
	ok(a->status == RESOLV_FOUND && a->count >= 1, "live: NS");
	a = resolv_lookup(r, "www.cname.test", RESOLV_A);
	ok(a->status == RESOLV_FOUND && a->count == 1 &&
	    addr_is(&a->addrs[0], "192.0.2.10"), "live: CNAME chain, A");
	a = resolv_lookup(r, "www.cname.test", RESOLV_AAAA);
	ok(a->status == RESOLV_FOUND && a->count == 1 &&
	    addr_is(&a->addrs[0], "2001:db8::10"), "live: CNAME chain, AAAA");
	a = resolv_lookup(r, "alias.cname.test", RESOLV_MX);
	ok(a->status == RESOLV_NOTFOUND && !a->is_nxdomain,
	    "live: CNAME without MX at the end is no data");
	a = resolv_lookup(r, "nosuch.example.test", RESOLV_A);
	ok(a->status == RESOLV_NOTFOUND && a->is_nxdomain, "live: NXDOMAIN");
	a = resolv_lookup(r, "good.example.test", RESOLV_MX);
	ok(a->status == RESOLV_NOTFOUND && !a->is_nxdomain, "live: NODATA");
	a = resolv_lookup(r, "10.2.0.192.in-addr.arpa", RESOLV_PTR);
	ok(a->status == RESOLV_FOUND && a->count == 1 &&
	    strcmp(a->names[0], "good.example.test") == 0, "live: PTR");
	a = resolv_lookup(r, "big.example.test", RESOLV_TXT);
	ok(a->status == RESOLV_FOUND && a->count == 4 &&
	    strlen(a->names[0]) == 146, "live: 600-byte TXT over TCP");
	a = resolv_lookup(r, "2.0.0.127.dnsbl.test", RESOLV_TXT);
	ok(a->status == RESOLV_FOUND && a->count >= 1, "live: TXT via rbldnsd");
	a = resolv_lookup(r, "99.2.0.192.dnsbl.test", RESOLV_A);
	ok(a->status == RESOLV_FOUND && a->count == 1 &&
	    addr_is(&a->addrs[0], "127.0.0.2"), "live: DNSBL listing");

	(void)net_addr_parse("192.0.2.10", 10, &addr);
	is_int(resolv_fcrdns(r, &addr, name, sizeof(name)), RESOLV_FOUND,
	    "live: fcrdns confirmed");
	is_str(name, "good.example.test", "live: fcrdns name");
	(void)net_addr_parse("192.0.2.66", 10, &addr);
	is_int(resolv_fcrdns(r, &addr, name, sizeof(name)), RESOLV_NOTFOUND,
	    "live: fcrdns spoofed PTR");
	(void)net_addr_parse("192.0.2.77", 10, &addr);
	is_int(resolv_fcrdns(r, &addr, name, sizeof(name)), RESOLV_NOTFOUND,
	    "live: fcrdns without PTR");
	(void)net_addr_parse("2001:db8::10", 12, &addr);
	is_int(resolv_fcrdns(r, &addr, name, sizeof(name)), RESOLV_FOUND,
	    "live: fcrdns IPv6");

	/* 40 in parallel, 20 distinct names */
	for (int i = 0; i < 40; i++) {
		(void)snprintf(names[i], sizeof(names[i]),
		    "p%d.example.test", i % 20);
		req[i].name = names[i];
		req[i].type = RESOLV_A;
	}
	sent = resolv_query_count(r);
	resolv_lookup_many(r, req, 40);
	{
		int good = 1;

		for (int i = 0; i < 40; i++)
			if (req[i].answer->status != RESOLV_NOTFOUND ||
			    !req[i].answer->is_nxdomain)
				good = 0;
		ok(good, "live: 40 parallel lookups all NXDOMAIN");
	}
	is_int(resolv_query_count(r) - sent, 20, "live: duplicates sent once");
	resolv_free(r);
}

/* elapsed_ms - milliseconds since start */
static long
elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 +
	    (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* live_dead - a server that never answers */
static void
live_dead(const char *server)
{
	struct resolv_conf conf = { server, 300, 5000, 0 };
	struct resolv *r = resolv_new(&conf);
	struct resolv_request req[8];
	const struct resolv_answer *a, *b;
	struct timespec t0;
	size_t sent;
	long ms;

	t_diag("dead-server tests against %s", server);
	if (!ok(r != NULL, "dead: resolver"))
		return;
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	a = resolv_lookup(r, "good.example.test", RESOLV_A);
	ms = elapsed_ms(&t0);
	ok(a->status == RESOLV_TEMPFAIL && strcmp(a->error, "timeout") == 0,
	    "dead: TEMPFAIL timeout");
	ok(ms >= 280 && ms < 700, "dead: took the query deadline (%ld ms)", ms);
	sent = resolv_query_count(r);
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	b = resolv_lookup(r, "good.example.test", RESOLV_A);
	ok(a == b && elapsed_ms(&t0) < 50 && resolv_query_count(r) == sent,
	    "dead: timeout cached for the session");

	/* SERVFAIL (the dead server sends it for servfail.test) is a
	   temporary failure at once, not after the deadline */
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	a = resolv_lookup(r, "x.servfail.test", RESOLV_A);
	ms = elapsed_ms(&t0);
	ok(a->status == RESOLV_TEMPFAIL &&
	    strcmp(a->error, "server failure") == 0,
	    "dead: SERVFAIL is TEMPFAIL server failure");
	ok(ms < 250, "dead: SERVFAIL answered before the deadline (%ld ms)",
	    ms);

	for (int i = 0; i < 8; i++) {
		static char names[8][32];

		(void)snprintf(names[i], sizeof(names[i]), "d%d.example.test",
		    i);
		req[i].name = names[i];
		req[i].type = i % 2 ? RESOLV_MX : RESOLV_NS;
	}
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	resolv_lookup_many(r, req, 8);
	ms = elapsed_ms(&t0);
	ok(ms < 700, "dead: 8 lookups in parallel in one deadline (%ld ms)",
	    ms);
	ok(req[0].answer->status == RESOLV_TEMPFAIL &&
	    req[7].answer->status == RESOLV_TEMPFAIL, "dead: all TEMPFAIL");
	resolv_free(r);

	/* budget shorter than the query deadline */
	conf.query_ms = 3000;
	conf.budget_ms = 400;
	r = resolv_new(&conf);
	if (r == NULL)
		return;
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	a = resolv_lookup(r, "good.example.test", RESOLV_A);
	ms = elapsed_ms(&t0);
	ok(a->status == RESOLV_TEMPFAIL &&
	    strcmp(a->error, "budget exhausted") == 0,
	    "dead: cut by the budget");
	ok(ms >= 380 && ms < 800, "dead: within the budget (%ld ms)", ms);
	sent = resolv_query_count(r);
	a = resolv_lookup(r, "other.example.test", RESOLV_A);
	ok(a->status == RESOLV_TEMPFAIL && resolv_query_count(r) == sent,
	    "dead: spent budget sends nothing");
	resolv_budget_start(r);
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	a = resolv_lookup(r, "good.example.test", RESOLV_A);
	ok(resolv_query_count(r) == sent + 1 && elapsed_ms(&t0) >= 380,
	    "dead: a new budget retries what the old one cut short");
	resolv_free(r);

	/* libowfat's 3 s first retry must not stretch a 1.5 s deadline */
	conf.query_ms = 1500;
	conf.budget_ms = 10000;
	r = resolv_new(&conf);
	if (r == NULL)
		return;
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	a = resolv_lookup(r, "good.example.test", RESOLV_A);
	ms = elapsed_ms(&t0);
	ok(a->status == RESOLV_TEMPFAIL && ms >= 1480 && ms < 1900,
	    "dead: 1.5 s deadline kept (%ld ms)", ms);
	resolv_free(r);
}

/* live_closed - a server address where nothing listens */
static void
live_closed(const char *server)
{
	struct resolv_conf conf = { server, 3000, 5000, 0 };
	struct resolv *r = resolv_new(&conf);
	const struct resolv_answer *a;
	struct timespec t0;
	long ms;

	t_diag("closed-port tests against %s", server);
	if (!ok(r != NULL, "closed: resolver"))
		return;
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	a = resolv_lookup(r, "good.example.test", RESOLV_A);
	ms = elapsed_ms(&t0);
	ok(a->status == RESOLV_TEMPFAIL &&
	    strcmp(a->error, "connection refused") == 0,
	    "closed: TEMPFAIL connection refused (%s)",
	    a->error != NULL ? a->error : "");
	ok(ms < 500, "closed: refused before the deadline (%ld ms)", ms);
	resolv_free(r);
}

/* main - run the tests */
int
main(void)
{
	const char *server = getenv("RESOLV_TEST_SERVER");
	const char *dead = getenv("RESOLV_TEST_DEAD");
	const char *closed = getenv("RESOLV_TEST_CLOSED");

	test_names();
	test_parse_found();
	test_parse_status();
	test_parse_garbage();
	test_conf();
	test_cache();
	test_budget();
	test_closed_world();
	test_fcrdns();
	if (server != NULL && *server != '\0')
		live_server(server);
	if (dead != NULL && *dead != '\0')
		live_dead(dead);
	if (closed != NULL && *closed != '\0')
		live_closed(closed);
	return t_done();
}
