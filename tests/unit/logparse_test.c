/* logparse_test.c - unit tests of the decision log parser and the tally */
/*
 * Table-driven: each line and what logparse must make of it (kind, line,
 * file, client, sender domain, stamp), then time stamps and windows
 * against a fixed reference time, filters, and the tally's order.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../t.h"
#include "../../dbs/logparse.h"
#include "../../dbs/tally.h"

#define R "/etc/smtpd_check_rules"

struct line_case {
	const char *line;
	const char *want;	/* "kind line file|ip|domain|stamp" or "none" */
};

static const struct line_case lines[] = {
	{ "Nov 12 06:11:56 smtp9 smtpd[28151]: [ID 992256 mail.notice] smtp "
	  "connection from UNKNOWN@al-217-129-156-213.netvisao.pt(217.129.156."
	  "213) attempted MAIL FROM: <wrojas_mf@evidence.fr> RCPT TO: <xxxx@"
	  "sqinc.com>, denied by line 7 of " R,
	  "denied 7 " R "|217.129.156.213|evidence.fr|Nov 12 06:11:56" },
	{ "Nov 12 06:15:56 smtp9.roc2.gblx.net smtpd[29126]: [ID 313078 mail."
	  "notice] smtp connection from UNKNOWN@mia19.ediets.com(69.25.52.19) "
	  "MAIL FROM: <bounce-cnibeeuhlcgiun@customer.ediets.com> RCPT TO: "
	  "<xxxxx@unitelgroup.com>, allowed by line 143 of " R,
	  "allowed 143 " R "|69.25.52.19|customer.ediets.com|Nov 12 06:15:56" },
	{ "smtpd[1]: smtp connection from UNKNOWN@UNKNOWN(2001:db8::1) attempted "
	  "MAIL FROM: <> RCPT TO: <b@c>, noto with delay by line 12 of x",
	  "noto-delay 12 x|2001:db8::1|<>|-" },
	{ "2026-11-23T16:01:03.5+01:00 h smtpd[2]: smtp connection from "
	  "UNKNOWN@UNKNOWN(192.0.2.1) attempted MAIL FROM: <a@B.example> RCPT "
	  "TO: <b@c>, deferred by line 3 of /r (dns, timeout)",
	  "deferred 3 /r|192.0.2.1|B.example|2026-11-23T16:01:03.5+01:00" },
	{ "<13>1 2026-11-23T16:01:04Z h smtpd 3 - - smtp connection from "
	  "UNKNOWN@UNKNOWN(192.0.2.2) attempted MAIL FROM: <a@b> RCPT TO: <c@d>"
	  ", default action, reached end of /r",
	  "default-refused 0 /r|192.0.2.2|b|2026-11-23T16:01:04Z" },
	{ "smtp connection from UNKNOWN@UNKNOWN(::ffff:192.0.2.3) MAIL FROM: "
	  "<nodomain> RCPT TO: <c@d>, default action, reached end of /r",
	  "default 0 /r|192.0.2.3|nodomain|-" },
	{ "Nov 12 06:11:56 h smtpd[1]: smtp connection from x(10.1.1.1)"
	  "@UNKNOWN(192.0.2.4) attempted MAIL FROM: <a@b> RCPT TO: "
	  "<\", denied by line 1 of x\"@d>, noto by line 5 of /r\r",
	  "noto 5 /r|192.0.2.4|b|Nov 12 06:11:56" },
	/* lines that are not decisions */
	{ "Nov 12 06:11:56 h smtpd[1]: SMTP HELO from U(1.2.3.4) as \"x y[1]: "
	  "smtp connection from U@U(10.9.9.9) MAIL FROM: <a@b> RCPT TO: <c@d>, "
	  "allowed by line 1 of /r\"", "none" },
	{ "Nov 12 06:11:56 h smtpd[1]: event=session helo=smtp connection from "
	  "U@U(10.9.9.9) MAIL FROM: <a@b> RCPT TO: <c@d>, allowed by line 1 of "
	  "/r", "none" },
	{ "Nov 12 06:11:56 h smtpd[1]: DEBUG: Matched line 3, connection from "
	  "U@U(1.2.3.4) MAIL FROM: <> RCPT TO: <c@d>, continuing.", "none" },
	{ "Nov 12 06:11:56 h smtpd[1]: smtp connection from U@U(1.2.3.4) MAIL "
	  "FROM: <> RCPT TO: <c@d>, allowed by line 01 of /r", "none" },
	{ "Nov 12 06:11:56 h smtpd[1]: smtp connection from U@U(1.2.3.4) MAIL "
	  "FROM: <> RCPT TO: <c@d>, allowed by line 12345678901 of /r", "none" },
	{ "Nov 12 06:11:56 h smtpd[1]: smtp connection from U@U(1.2.3.4) MAIL "
	  "FROM: <> RCPT TO: <c@d>, deferred by line 3 of /r", "none" },
	{ "Nov 12 06:11:56 h smtpd[1]: smtp connection from U@U(1.2.3.4) MAIL "
	  "FROM: <> RCPT TO: <c@d>, allowed by line 3 of ", "none" },
	{ "", "none" },
	{ "smtp connection from", "none" },
};

/* describe - what the parser made of a line, as text */
static const char *
describe(const char *line)
{
	static char out[1024];
	struct logdecision d;
	struct net_addr a;
	char ip[NET_ADDR_TEXT];
	const char *dom;
	size_t dlen;

	if (!logparse_decision(line, strlen(line), &d))
		return "none";
	if (logparse_client(&d, &a) != 0)
		snprintf(ip, sizeof(ip), "-");
	else
		net_addr_format(&a, ip);
	if (logparse_sender_domain(&d, &dom, &dlen) != 0) {
		dom = "-";
		dlen = 1;
	}
	snprintf(out, sizeof(out), "%s %lu %.*s|%s|%.*s|%.*s",
	    logkind_name(d.kind), d.line, (int)d.file_len, d.file, ip,
	    (int)dlen, dom, d.stamp ? (int)d.stamp_len : 1,
	    d.stamp ? d.stamp : "-");
	return out;
}

/* test_lines - the line table */
static void
test_lines(void)
{
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		is_str(describe(lines[i].line), lines[i].want, "line %zu", i);
}

/* stamp - the time of a stamp text against reference now, or -1 */
static long long
stamp(time_t now, const char *s)
{
	struct logclock c;
	int64_t t;

	logclock_init(&c, now);
	if (logclock_stamp(&c, s, strlen(s), &t) != 0)
		return -1;
	return (long long)t;
}

/* spec - a person's time against reference now, or -1 */
static long long
spec(time_t now, const char *s)
{
	struct logclock c;
	int64_t t;

	logclock_init(&c, now);
	if (logclock_parse_spec(&c, s, &t) != 0)
		return -1;
	return (long long)t;
}

/* test_times - stamps, the year rule, and time specs (TZ=UTC) */
static void
test_times(void)
{
	time_t now = 1795449600;	/* 2026-11-23 16:00:00 UTC */

	setenv("TZ", "UTC", 1);
	tzset();
	is_int(stamp(now, "Nov 23 16:00:00"), 1795449600, "today");
	is_int(stamp(now, "Nov 24 15:59:59"), 1795535999, "less than a day ahead");
	is_int(stamp(now, "Nov 24 16:01:00"), 1795536060 - 31536000,
	    "more than a day ahead: last year");
	is_int(stamp(now, "Dec 31 23:00:00"), 1767222000, "December: last year");
	is_int(stamp(now, "Jan  1 00:00:00"), 1767225600, "January, padded day");
	is_int(stamp(now, "2026-11-23T16:00:00Z"), 1795449600, "RFC 3339 Z");
	is_int(stamp(now, "2026-11-23T17:00:00+01:00"), 1795449600, "offset");
	is_int(stamp(now, "2026-11-23T11:00:00.123-0500"), 1795449600,
	    "offset without colon, fraction");
	is_int(stamp(now, "2026-11-23 16:00:00"), 1795449600, "local, blank");
	is_int(stamp(now, "Nov 23 25:00:00"), -1, "bad hour");
	is_int(spec(now, "@1700000000"), 1700000000, "@epoch");
	is_int(spec(now, "-2h"), 1795449600 - 7200, "relative hours");
	is_int(spec(now, "-90"), 1795449600 - 90, "relative seconds");
	is_int(spec(now, "2026-11-23"), 1795392000, "a date");
	is_int(spec(now, "2026-11-23 16:00"), 1795449600, "date and minute");
	is_int(spec(now, "2026-11-23T16:00:30"), 1795449630, "T form");
	is_int(spec(now, "12:00"), 1795435200, "today at noon");
	is_int(spec(now, "Nov 23 16:00"), 1795449600, "syslog form");
	is_int(spec(now, "yesterday"), -1, "words are refused");
	is_int(spec(now, "2026-13-01"), -1, "month 13");
	is_int(spec(now, "-5x"), -1, "unknown unit");
}

/* test_filters - kinds and lines */
static void
test_filters(void)
{
	struct logfilter f;
	char err[256];

	ok(logfilter_parse("", &f, err, sizeof(err)) == 0 &&
	    logfilter_match(&f, LOGKIND_ALLOWED, 3), "empty: everything");
	ok(logfilter_parse("noto:144, deny:7", &f, err, sizeof(err)) == 0,
	    "two terms");
	ok(logfilter_match(&f, LOGKIND_NOTO_DELAY, 144), "noto covers noto-delay");
	ok(logfilter_match(&f, LOGKIND_DENIED, 7), "deny:7");
	ok(!logfilter_match(&f, LOGKIND_DENIED, 8), "not deny:8");
	ok(!logfilter_match(&f, LOGKIND_ALLOWED, 144), "not allowed:144");
	ok(logfilter_parse("refused", &f, err, sizeof(err)) == 0 &&
	    logfilter_match(&f, LOGKIND_DEFAULT_REFUSED, 0) &&
	    !logfilter_match(&f, LOGKIND_DEFERRED, 3), "refused");
	ok(logfilter_parse("noto:0", &f, err, sizeof(err)) != 0,
	    "line 0 refused: %s", err);
	ok(logfilter_parse("bogus", &f, err, sizeof(err)) != 0,
	    "unknown kind: %s", err);
	ok(logfilter_parse("any:12345678901", &f, err, sizeof(err)) != 0,
	    "line too large");
}

/* test_tally - counts, times and order */
static void
test_tally(void)
{
	struct tally *t = tally_new();
	struct tally_entry **v;
	size_t n, i;
	char key[32];
	int bad = 0;

	ok(t != NULL, "tally_new");
	tally_add(t, "b", 1, 20);
	tally_add(t, "a", 1, 30);
	tally_add(t, "b", 1, 10);
	tally_add(t, "c", 1, 0);
	for (i = 0; i < 50000; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		if (tally_add(t, key, strlen(key), 0) != 0)
			bad = 1;
	}
	ok(!bad, "50000 adds");
	is_int(tally_count(t), 50003, "distinct keys");
	v = tally_sorted(t, 0, &n);
	ok(v != NULL && n == 50003, "sorted");
	is_str(v[0]->key, "b", "most counted first");
	is_int(v[0]->count, 2, "b twice");
	is_int(v[0]->first, 10, "first time");
	is_int(v[0]->last, 20, "last time");
	is_str(v[1]->key, "a", "then by key");
	free(v);
	v = tally_sorted(t, 1, &n);
	is_str(v[0]->key, "a", "by key");
	free(v);
	tally_free(t);
}

int
main(void)
{
	test_lines();
	test_times();
	test_filters();
	test_tally();
	return t_done();
}
