/* ipsrc_test.c - unit tests of the IPBLOCK source line parser */
/*
 * Table-driven: each line, in a fresh or carried-over state, and what
 * it must give: an entry as "first-last value" ("!" for exclusions),
 * "none" for comments and directives, or "error: reason".
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <string.h>

#include "../t.h"
#include "../../dbs/ipsrc.h"

struct line_case {
	const char *line;
	const char *want;
};

/* parse - one line in state s, as text */
static const char *
parse(struct ipsrc *s, const char *line)
{
	static char out[512];
	struct ipsrc_entry e;
	char err[256], a[NET_ADDR_TEXT], b[NET_ADDR_TEXT];

	switch (ipsrc_parse_line(s, line, strlen(line), &e, err,
	    sizeof(err))) {
	case IPSRC_NONE:
		return "none";
	case IPSRC_ERROR:
		snprintf(out, sizeof(out), "error: %s", err);
		return out;
	default:
		snprintf(out, sizeof(out), "%s%s-%s%s%.*s",
		    e.exclude ? "!" : "", net_addr_format(&e.first, a),
		    net_addr_format(&e.last, b), e.value_len ? " " : "",
		    (int)e.value_len, e.value);
		return out;
	}
}

static const struct line_case cases[] = {
	/* plain */
	{ "192.0.2.1", "192.0.2.1-192.0.2.1" },
	{ "  192.0.2.0/24   listed by hand  ", "192.0.2.0-192.0.2.255 listed by hand" },
	{ "192.0.2.1\r", "192.0.2.1-192.0.2.1" },
	{ "192.0.2.10-192.0.2.20 x", "192.0.2.10-192.0.2.20 x" },
	{ "!192.0.2.128/25", "!192.0.2.128-192.0.2.255" },
	{ "!192.0.2.5 value ignored", "!192.0.2.5-192.0.2.5" },
	{ "0.0.0.0/0", "0.0.0.0-255.255.255.255" },
	{ "# comment", "none" },
	{ "; comment", "none" },
	{ "", "none" },
	{ "   \t ", "none" },
	{ "192.0.2.1 # a comment", "192.0.2.1-192.0.2.1" },
	/* DROP / EDROP */
	{ "1.10.16.0/20 ; SBL256894", "1.10.16.0-1.10.31.255 SBL256894" },
	{ "2001:678:738::/48 ; SBL270738", "2001:678:738::-2001:678:738:ffff:ffff:ffff:ffff:ffff SBL270738" },
	{ "; Spamhaus DROP List 2024/01/01 - (c) 2024 The Spamhaus Project", "none" },
	/* rbldnsd ip4set */
	{ "127.0.0", "127.0.0.0-127.0.0.255" },
	{ "127.0", "127.0.0.0-127.0.255.255" },
	{ "127", "127.0.0.0-127.255.255.255" },
	{ "127/24", "127.0.0.0-127.0.0.255" },
	{ "127.16/12", "127.16.0.0-127.31.255.255" },
	{ "127-127.0.0", "127.0.0.0-127.0.0.255" },
	{ "127.0.0.1-255", "127.0.0.1-127.0.0.255" },
	{ "127.16-31", "127.16.0.0-127.31.255.255" },
	{ "127.16.0-127.31.255", "127.16.0.0-127.31.255.255" },
	{ "10.0.0.1 :127.0.0.3:Listed here", "10.0.0.1-10.0.0.1 Listed here" },
	{ "10.0.0.1 :127.0.0.3:", "10.0.0.1-10.0.0.1 127.0.0.3" },
	{ "10.0.0.1 :2:", "10.0.0.1-10.0.0.1 2" },
	{ "$TTL 3600", "none" },
	{ "$SOA 0 ns.example. hostmaster.example. 0 1h 1h 1d 1h", "none" },
	{ "$NS 0 ns1.example.", "none" },
	{ "#$Id: x $", "none" },
	/* rbldnsd ip6 */
	{ "2001:21ab:c000/36", "2001:21ab:c000::-2001:21ab:cfff:ffff:ffff:ffff:ffff:ffff" },
	{ "2001:21ab:def7:4242", "2001:21ab:def7:4242::-2001:21ab:def7:4242:ffff:ffff:ffff:ffff" },
	{ "::1", "::1-::1" },
	{ "!2605:6001:42::bead", "!2605:6001:42::bead-2605:6001:42::bead" },
	{ "2001:db8::1-2001:db8::9 v6 range", "2001:db8::1-2001:db8::9 v6 range" },
	{ "[2001:db8::]/32", "2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff" },
	{ "::ffff:192.0.2.1", "192.0.2.1-192.0.2.1" },
	/* errors */
	{ "192.0.2.1/24", "error: host bits set after the prefix length in \"192.0.2.1/24\"" },
	{ "192.0.2.256", "error: bad address or range \"192.0.2.256\"" },
	{ "192.0.2.01", "error: bad address or range \"192.0.2.01\"" },
	{ "192.0.2.0/33", "error: bad address or range \"192.0.2.0/33\"" },
	{ "192.0.2.9-192.0.2.1", "error: range \"192.0.2.9-192.0.2.1\" ends before it starts" },
	{ "192.0.2.1-2001:db8::1", "error: bad address or range \"192.0.2.1-2001:db8::1\"" },
	{ "example.com", "error: bad address or range \"example.com\"" },
	{ "!", "error: missing address" },
	{ "2001:db8::1/64", "error: host bits set after the prefix length in \"2001:db8::1/64\"" },
	{ "2001:zz::", "error: bad address or range \"2001:zz::\"" },
	{ "1.2.3.4.5", "error: bad address or range \"1.2.3.4.5\"" },
	{ "$DATASET ip4set x", "error: unknown directive $DATASET" },
	{ "10.0.0.1 bad\001value", "error: control character in value" },
	{ NULL, NULL }
};

/* test_lines - every case in a fresh state */
static void
test_lines(void)
{
	struct ipsrc s;
	int i;

	for (i = 0; cases[i].line != NULL; i++) {
		ipsrc_init(&s);
		is_str(parse(&s, cases[i].line), cases[i].want, "line \"%s\"",
		    cases[i].line);
	}
}

/* test_state - defaults, variables and $MAXRANGE4 carry over */
static void
test_state(void)
{
	struct ipsrc s;
	char longv[400];

	ipsrc_init(&s);
	is_str(parse(&s, "1.2.3.4"), "1.2.3.4-1.2.3.4", "no default yet");
	is_str(parse(&s, ":127.0.0.2:Listed, see http://x/?$"), "none",
	    "default value line");
	is_str(parse(&s, "1.2.3.5"), "1.2.3.5-1.2.3.5 Listed, see http://x/?$",
	    "default applies");
	is_str(parse(&s, "1.2.3.6 own"), "1.2.3.6-1.2.3.6 own",
	    "own value wins");
	is_str(parse(&s, "$1 spam source"), "none", "variable $1");
	is_str(parse(&s, "1.2.3.7 :127.0.0.4:$1 (cbl)"),
	    "1.2.3.7-1.2.3.7 spam source (cbl)", "$1 expanded");
	is_str(parse(&s, "1.2.3.8 $2 stays"), "1.2.3.8-1.2.3.8 $2 stays",
	    "undefined $2 stays");
	is_str(parse(&s, "$MAXRANGE4 /24"), "none", "$MAXRANGE4 /24");
	is_str(parse(&s, "10.0.0.0/24 x"), "10.0.0.0-10.0.0.255 x",
	    "a /24 is fine");
	is_str(parse(&s, "10.0.0.0/23"),
	    "error: \"10.0.0.0/23\" is larger than $MAXRANGE4 (256 addresses)",
	    "a /23 is too large");
	is_str(parse(&s, "!10.0.0.0/8"), "!10.0.0.0-10.255.255.255",
	    "exclusions are not limited");
	is_str(parse(&s, "$MAXRANGE4 1000"), "none", "cannot grow");
	is_str(parse(&s, "10.0.0.0/23"),
	    "error: \"10.0.0.0/23\" is larger than $MAXRANGE4 (256 addresses)",
	    "still 256");
	memset(longv, 'x', sizeof(longv));
	memcpy(longv, "1.1.1.1 ", 8);
	longv[sizeof(longv) - 1] = '\0';
	is_str(parse(&s, longv), "error: value longer than 255 bytes",
	    "value too long");
	is_str(parse(&s, ":"), "none", "empty default resets");
	is_str(parse(&s, "1.2.3.9"), "1.2.3.9-1.2.3.9", "no default again");
}

/* main - every test */
int
main(void)
{
	test_lines();
	test_state();
	return t_done();
}
