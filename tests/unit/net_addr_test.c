/* net_addr_test.c - unit tests of lib/net_addr.c */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdio.h>
#include <string.h>

#include "../t.h"
#include "../../lib/net_addr.h"

/* parses - 1 if text is one address */
static int
parses(const char *text)
{
	struct net_addr a;

	return net_addr_parse(text, strlen(text), &a) == 0;
}

/* prefix_text - "addr/len" of a parsed prefix, or "error" */
static const char *
prefix_text(const char *text, int allow_host_bits)
{
	static char out[NET_ADDR_TEXT + 8];
	char buf[NET_ADDR_TEXT];
	struct net_prefix p;

	if (net_prefix_parse(text, strlen(text), &p, allow_host_bits) == -1)
		return "error";
	snprintf(out, sizeof(out), "%s/%u", net_addr_format(&p.addr, buf),
	    p.len);
	return out;
}

int
main(void)
{
	struct net_addr a, b;
	struct net_prefix p;
	char buf[NET_ADDR_TEXT], rev[NET_ADDR_REVERSE];

	ok(parses("192.0.2.1"), "dotted quad");
	ok(parses("0.0.0.0") && parses("255.255.255.255"), "both ends");
	ok(!parses("256.0.0.1") && !parses("1.2.3") && !parses("1.2.3.4.5") &&
	    !parses("01.2.3.4") && !parses("1.2.3.4 ") && !parses(""),
	    "bad dotted quads are refused");
	ok(parses("2001:db8::1") && parses("[2001:db8::1]") && parses("::"),
	    "IPv6, bracketed too");
	ok(!parses("[192.0.2.1]") && !parses("2001:db8::g") && !parses("[::1"),
	    "bad IPv6 is refused");
	net_addr_parse("::ffff:192.0.2.7", 16, &a);
	is_int(a.family, NET_V4, "IPv4-mapped IPv6 becomes IPv4");
	is_str(net_addr_format(&a, buf), "192.0.2.7", "and prints as IPv4");
	net_addr_parse("2001:DB8:0:0:0:0:0:1", 20, &b);
	is_str(net_addr_format(&b, buf), "2001:db8::1", "RFC 5952 text");

	is_str(prefix_text("80.48.0.0/13", 0), "80.48.0.0/13", "IPv4 prefix");
	is_str(prefix_text("80.48.12.7/13", 0), "error",
	    "host bits are refused unless allowed");
	is_str(prefix_text("80.48.12.7/13", 1), "80.48.0.0/13",
	    "or cleared when allowed");
	is_str(prefix_text("192.0.2.1", 0), "192.0.2.1/32",
	    "an address is a full prefix");
	is_str(prefix_text("[2001:db8::]/32", 0), "2001:db8::/32",
	    "bracketed IPv6 prefix");
	is_str(prefix_text("1.2.3.4/33", 0), "error", "/33 is out of range");
	is_str(prefix_text("1.2.3.0/08", 0), "error", "no leading zeros");
	is_str(prefix_text("1.2.3.0/", 0), "error", "an empty length");
	is_str(prefix_text("::ffff:192.0.2.0/120", 0), "192.0.2.0/24",
	    "an IPv4-mapped prefix in IPv6 terms");
	is_str(prefix_text("::ffff:192.0.2.0/95", 0), "error",
	    "a mapped prefix shorter than /96 is refused");
	is_str(prefix_text("::ffff:192.0.2.0/129", 0), "error",
	    "and one longer than /128");

	net_prefix_parse("80.48.0.0/13", 12, &p, 0);
	net_addr_parse("80.48.12.7", 10, &a);
	ok(net_prefix_contains(&p, &a), "80.48.12.7 is in 80.48.0.0/13");
	net_addr_parse("80.56.0.1", 9, &a);
	ok(!net_prefix_contains(&p, &a), "80.56.0.1 is not");
	net_prefix_parse("0.0.0.0/0", 9, &p, 0);
	ok(net_prefix_contains(&p, &a), "/0 contains every IPv4 address");
	ok(!net_prefix_contains(&p, &b), "but no IPv6 address");

	net_addr_parse("192.0.2.99", 10, &a);
	is_str(net_addr_reverse(&a, rev), "99.2.0.192", "IPv4 reverse labels");
	net_addr_parse("2001:db8::1", 11, &a);
	is_str(net_addr_reverse(&a, rev), "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2", "IPv6 nibbles");
	ok(net_addr_equal(&a, &b), "equal addresses");
	return t_done();
}
