/* sanitize_test.c - unit tests of smtpfwdd/sanitize.c */
/*
 * Addresses: legal ones pass byte for byte (including the characters
 * the original mangled), illegal ones are refused with a reason, and a
 * sender starting with '-' gets its quoted form. Messages: every rule of
 * sanitize_body_feed(), each fed whole and one byte at a time (the two
 * must agree), and the limits at their edges.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <string.h>

#include "../t.h"
#include "../../smtpfwdd/fwd_limits.h"
#include "../../smtpfwdd/sanitize.h"

struct path_case {
	const char *in;
	enum sanitize_kind kind;
	const char *out;	/* NULL: refused */
	const char *why;	/* expected reason when refused, or NULL */
};

static const struct path_case paths[] = {
	{ "<>", SANITIZE_SENDER, "<>", NULL },
	{ "<>", SANITIZE_RCPT, NULL, "empty recipient address" },
	{ "<alice@example.org>", SANITIZE_SENDER, "alice@example.org", NULL },
	{ "<Bob.Smith@Example.ORG>", SANITIZE_RCPT, "Bob.Smith@Example.ORG",
	    NULL },
	/* The characters the original rewrote: all legal atext. */
	{ "<a#b&c~d?e{f}g|h'i*j+k/l=m^n`o!p$q%r@x.example>", SANITIZE_RCPT,
	    "a#b&c~d?e{f}g|h'i*j+k/l=m^n`o!p$q%r@x.example", NULL },
	{ "<user+tag@sub.example.co.uk>", SANITIZE_RCPT,
	    "user+tag@sub.example.co.uk", NULL },
	{ "<\"john doe\"@example.org>", SANITIZE_RCPT,
	    "\"john doe\"@example.org", NULL },
	{ "<\"a\\\"b\"@example.org>", SANITIZE_RCPT, "\"a\\\"b\"@example.org",
	    NULL },
	{ "<\"@\"@example.org>", SANITIZE_RCPT, "\"@\"@example.org", NULL },
	{ "<x@[192.0.2.1]>", SANITIZE_RCPT, "x@[192.0.2.1]", NULL },
	{ "<x@[IPv6:2001:db8::1]>", SANITIZE_RCPT, "x@[IPv6:2001:db8::1]",
	    NULL },
	{ "<x@my_host.example>", SANITIZE_RCPT, "x@my_host.example", NULL },
	{ "<Postmaster>", SANITIZE_RCPT, "Postmaster", NULL },
	{ "<postmaster>", SANITIZE_SENDER, NULL, "address without @domain" },
	/* Looks like an option: after "--" a recipient is safe as it is. */
	{ "<-oQ/tmp@example.org>", SANITIZE_RCPT, "-oQ/tmp@example.org", NULL },
	/* A sender is not after "--": the equivalent quoted form. */
	{ "<-oQ/tmp@example.org>", SANITIZE_SENDER, "\"-oQ/tmp\"@example.org",
	    NULL },
	{ "<-f.x@example.org>", SANITIZE_SENDER, "\"-f.x\"@example.org", NULL },
	{ "<\"-x\"@example.org>", SANITIZE_SENDER, "\"-x\"@example.org", NULL },
	/* Refused. */
	{ "<-oQ/tmp>", SANITIZE_RCPT, NULL, "address without @domain" },
	{ "-oQ/tmp", SANITIZE_RCPT, NULL, "path is not enclosed in <>" },
	{ "<a@b", SANITIZE_RCPT, NULL, "path is not enclosed in <>" },
	{ "<@relay:a@b.example>", SANITIZE_RCPT, NULL,
	    "source route or empty local part" },
	{ "<.a@b.example>", SANITIZE_RCPT, NULL, "bad local part" },
	{ "<a.@b.example>", SANITIZE_RCPT, NULL, "bad local part" },
	{ "<a..b@b.example>", SANITIZE_RCPT, NULL, "bad local part" },
	{ "<a b@b.example>", SANITIZE_RCPT, NULL, "address without @domain" },
	{ "<a\"b@b.example>", SANITIZE_RCPT, NULL, "address without @domain" },
	{ "<\"unterminated@b.example>", SANITIZE_RCPT, NULL, "bad local part" },
	{ "<a@>", SANITIZE_RCPT, NULL, "bad domain" },
	{ "<a@b..example>", SANITIZE_RCPT, NULL, "bad domain" },
	{ "<a@-b.example>", SANITIZE_RCPT, NULL, "bad domain" },
	{ "<a@b-.example>", SANITIZE_RCPT, NULL, "bad domain" },
	{ "<a@b.example.>", SANITIZE_RCPT, NULL, "bad domain" },
	{ "<a@b.exa$mple>", SANITIZE_RCPT, NULL, "bad domain" },
	{ "<a@b@c.example>", SANITIZE_RCPT, NULL, "bad domain" },
	{ "<a@[300.1.1.1]>", SANITIZE_RCPT, NULL, "bad domain" },
	{ "<a@[IPv6:zz::1]>", SANITIZE_RCPT, NULL, "bad domain" },
	{ "<a@[192.0.2.1>", SANITIZE_RCPT, NULL, "bad domain" },
	{ "<a\tb@c.example>", SANITIZE_RCPT, NULL,
	    "control or 8-bit byte in an address" },
	{ "<a\xe9@c.example>", SANITIZE_RCPT, NULL,
	    "control or 8-bit byte in an address" },
};

/* test_paths - the table */
static void
test_paths(void)
{
	char out[SANITIZE_ADDR_SIZE];
	const char *why;
	size_t i;
	int r;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const struct path_case *c = &paths[i];

		out[0] = '\0';
		r = sanitize_path(c->in, strlen(c->in), c->kind, out,
		    sizeof(out), &why);
		if (c->out != NULL) {
			is_int(r, 0, "%s %s passes", c->in,
			    c->kind == SANITIZE_SENDER ? "sender" : "rcpt");
			is_str(out, c->out, "%s as argument", c->in);
		} else {
			is_int(r, -1, "%s refused", c->in);
			is_str(why, c->why, "%s: reason", c->in);
		}
	}
}

/* test_path_lengths - 64-byte local part, 63-byte label, 255 domain */
static void
test_path_lengths(void)
{
	char in[600], out[SANITIZE_ADDR_SIZE], local[80], label[80];
	const char *why;
	int n;

	memset(local, 'l', 64);
	local[64] = '\0';
	memset(label, 'd', 63);
	label[63] = '\0';
	n = snprintf(in, sizeof(in), "<%s@%s.example>", local, label);
	is_int(sanitize_path(in, (size_t)n, SANITIZE_RCPT, out, sizeof(out),
	    &why), 0, "64-byte local part, 63-byte label");
	local[64] = 'l';
	local[65] = '\0';
	n = snprintf(in, sizeof(in), "<%s@x.example>", local);
	is_int(sanitize_path(in, (size_t)n, SANITIZE_RCPT, out, sizeof(out),
	    &why), -1, "65-byte local part refused");
	is_str(why, "local part longer than 64 bytes", "reason");
	label[63] = 'd';
	label[64] = '\0';
	n = snprintf(in, sizeof(in), "<a@%s.example>", label);
	is_int(sanitize_path(in, (size_t)n, SANITIZE_RCPT, out, sizeof(out),
	    &why), -1, "64-byte label refused");
	/* 254 bytes between the brackets: the longest path. */
	memset(in, 'a', sizeof(in));
	in[0] = '<';
	in[2] = '@';
	for (n = 3; n < 255; n += 2)
		in[n + 1] = '.';
	in[254] = 'a';
	in[255] = '>';
	is_int(sanitize_path(in, 256, SANITIZE_RCPT, out, sizeof(out), &why),
	    0, "256-byte path passes");
	is_int((int)strlen(out), 254, "whole of it");
	in[255] = 'a';
	in[256] = '>';
	is_int(sanitize_path(in, 257, SANITIZE_RCPT, out, sizeof(out), &why),
	    -1, "257-byte path refused");
	is_int(sanitize_path("<a@b.example>", 13, SANITIZE_RCPT, out, 10,
	    &why), -1, "small output buffer refused");
}

/* scan - run text through the body checks: whole, and byte by byte */
static const char *
scan(const char *text, size_t len, const struct sanitize_limits *lim)
{
	struct sanitize_body a, b;
	size_t i;
	int ra, rb = 0;

	sanitize_body_init(&a, lim);
	ra = sanitize_body_feed(&a, text, len);
	if (ra == 0)
		ra = sanitize_body_end(&a);
	sanitize_body_init(&b, lim);
	for (i = 0; i < len && rb == 0; i++)
		rb = sanitize_body_feed(&b, text + i, 1);
	if (rb == 0)
		rb = sanitize_body_end(&b);
	if (ra != rb || (a.why == NULL) != (b.why == NULL) ||
	    (a.why != NULL && strcmp(a.why, b.why) != 0))
		return "whole and bytewise scans disagree";
	if (ra == 0 && a.is_header != b.is_header)
		return "whole and bytewise scans disagree";
	return ra == 0 ? NULL : a.why;
}

#define SCAN(s, lim)	scan((s), sizeof(s) - 1, (lim))

/* test_body - the rules of sanitize_body_feed */
static void
test_body(void)
{
	const struct sanitize_limits *d = &sanitize_limits_default;
	struct sanitize_limits small = *d;

	is_str(SCAN("Received: x\nSubject: hi\n\nbody\n", d), NULL,
	    "plain message");
	is_str(SCAN("Received: x\n\tfolded\n  again\nSubject: hi\n\n", d),
	    NULL, "folded fields");
	is_str(SCAN("Received: x\nSubject : obs\n\nbody\n", d), NULL,
	    "blank before the colon (obs-optional)");
	is_str(SCAN("Received: x\nSubject: \xc3\xa9t\xc3\xa9\n\nb\n", d), NULL,
	    "8-bit header value (RFC 6532)");
	is_str(SCAN("Received: x\n\nbody \0 NUL\rCR \xff\n.\n..\n", d), NULL,
	    "NUL, CR and 8-bit in the body pass");
	is_str(SCAN("Received: x\nFrom someone\nnot: a header\n", d), NULL,
	    "a non-field line ends the header section");
	is_str(SCAN("Received: x", d), NULL, "no final LF");
	is_str(SCAN("Received: x\nX-A: a\0b\n\n", d), "NUL byte in the header",
	    "NUL in a header");
	is_str(SCAN("Received: x\nX-A: a\rb\n\n", d), "CR in the header",
	    "CR in a header");
	is_str(SCAN("Received: x\r\n\n", d), "CR in the header",
	    "CRLF in a header");
	is_str(SCAN("", d), "empty message", "empty");
	is_str(SCAN("\nbody\n", d),
	    "message does not start with a header field", "empty first line");
	is_str(SCAN(" folded first\n\n", d),
	    "message does not start with a header field", "fold first");
	is_str(SCAN("From x@y Mon\nReceived: x\n\n", d),
	    "message does not start with a header field", "mbox From first");
	is_str(SCAN(":no name\n\n", d),
	    "message does not start with a header field", "colon first");
	is_str(SCAN("NoColon", d), "message does not start with a header field",
	    "one word, no LF");

	small.header_line_max = 20;
	is_str(SCAN("Received: 0123456789\n\n", &small), NULL,
	    "header line of exactly the limit");
	is_str(SCAN("Received: 01234567890\n\n", &small),
	    "header line too long", "header line one over");
	small = *d;
	small.header_field_max = 25;
	is_str(SCAN("Received: x\nX-Long: 0123456789\n 0123456789\n\n",
	    &small), "header field too long", "folded field over its limit");
	small = *d;
	small.header_fields_max = 3;
	is_str(SCAN("Received: x\nA: 1\nB: 2\n\n", &small), NULL, "3 fields");
	is_str(SCAN("Received: x\nA: 1\nB: 2\nC: 3\n\n", &small),
	    "too many header fields", "4 fields");
	is_str(SCAN("Received: x\nA: 1\nB: 2\nnot a field\nC: 3\n", &small),
	    NULL, "after the header, nothing is a field");
	small = *d;
	small.header_section_max = 30;
	is_str(SCAN("Received: x\nA: 1\nB: 2\nC: 3\nD: 4\n\n", &small),
	    "header section too big", "header section over its limit");
	small = *d;
	small.body_line_max = 10;
	is_str(SCAN("Received: x\n\n0123456789\n", &small), NULL,
	    "body line of exactly the limit");
	is_str(SCAN("Received: x\n\n01234567890\n", &small),
	    "body line too long", "body line one over");
	is_str(SCAN("Received: x\nno field here: 01234567890123\n", &small),
	    "body line too long", "a non-field line counts as body");
	small = *d;
	small.hops_max = 2;
	is_str(SCAN("Received: a\nreceived: b\n\n", &small), NULL, "2 hops");
	is_str(SCAN("Received: a\nRECEIVED : b\nReceived:c\n\n", &small),
	    "too many Received header fields (mail loop?)", "3 hops");
	is_str(SCAN("Received: a\nReceived-SPF: b\nX-Received: c\n\n", &small),
	    NULL, "other fields named like Received do not count");
}

/* test_sticky - a failed scan stays failed */
static void
test_sticky(void)
{
	struct sanitize_body b;

	sanitize_body_init(&b, &sanitize_limits_default);
	is_int(sanitize_body_feed(&b, "X: \0\n", 5), -1, "NUL fails");
	is_int(sanitize_body_feed(&b, "\nbody\n", 6), -1, "and stays failed");
	is_int(sanitize_body_end(&b), -1, "at the end too");
	is_str(b.why, "NUL byte in the header", "first reason kept");
}

int
main(void)
{
	test_paths();
	test_path_lengths();
	test_body();
	test_sticky();
	return t_done();
}
