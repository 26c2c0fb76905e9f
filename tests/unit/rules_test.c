/* rules_test.c - unit tests of the rules engine (parse, match, decide) */
/*
 * No network: DNS facts are put into the resolver's cache with
 * resolv_preload(); tables are built with tinycdb's cdb tool and
 * db5.3_load into a temporary directory.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/wait.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../t.h"
#include "../../lib/log.h"
#include "../../lib/resolv.h"
#include "../../rules/rules.h"
#include "../../rules/rule_int.h"
#include "rules_gen.h"


/* load - compile rules from a string, collecting errors */
static struct ruleset *
load(const char *text)
{
	struct rule_options o;

	memset(&o, 0, sizeof(o));
	o.error_fn = collect;
	errors[0] = '\0';
	return ruleset_load_buffer("test.rules", text, strlen(text), &o);
}

static struct resolv *dns;

/* decide - "line action reply" for one context */
static const char *
decide(struct ruleset *rs, const char *ip, const char *name,
    const char *ident, const char *from, const char *to)
{
	static char out[700];
	struct rule_client c;
	struct rule_session *s;
	struct rule_verdict v;

	memset(&c, 0, sizeof(c));
	if (net_addr_parse(ip, strlen(ip), &c.addr) == -1)
		return "bad ip";
	c.name = name;
	c.ident = ident;
	s = rule_session_new(rs, &c, dns);
	rule_decide(rs, s, from, to, &v);
	if (v.kind == RULE_TEMPFAIL)
		snprintf(out, sizeof(out), "%u tempfail %s", v.line, v.reply);
	else if (v.kind == RULE_DEFAULT)
		snprintf(out, sizeof(out), "default %s",
		    rule_action_name(v.action));
	else
		snprintf(out, sizeof(out), "%u %s%s%s", v.line,
		    rule_action_name(v.action), v.reply[0] ? " " : "", v.reply);
	rule_session_free(s);
	return out;
}

/* test_seed_examples - every rule line of the talk parses and decides */
static void
test_seed_examples(void)
{
	const char *seed =
	    "deny:80.48.0.0/13:ALL:ALL:571 spam source tpnet.pl\n"
	    "allow:64.215.231.16/29:ALL:ALL\n"
	    "deny:ALL:/.+@$/:ALL:550 message must supply domain\n"
	    "deny:ALL:/^@.+$/:ALL:550 message must supply valid user name.\n"
	    "deny:ALL:/^@$/:ALL:550 message must supply valid user name and domain.\n"
	    "noto:ALL:ALL:*@*@*:571 Sorry %H (%I), I don't allow unauthorized relaying.\n"
	    "noto-delay:ALL:ALL:*@primenet.com *@*.primenet.com:550 no such user\n"
	    "deny:ALL:*.cyberpromo.com:ALL\n"
	    "allow:ALL:ALL:ALL\n";
	struct ruleset *rs = load(seed);

	ok(rs != NULL, "seed rules load");
	is_str(errors, "", "no errors");
	if (rs == NULL)
		return;
	is_int(ruleset_rule_count(rs), 9, "nine rules");
	is_str(decide(rs, "80.48.12.7", NULL, NULL, "<a@b.example>", "<c@d>"),
	    "1 deny 571 spam source tpnet.pl", "80.48.12.7 is tpnet.pl");
	is_str(decide(rs, "80.56.0.1", NULL, NULL, "<a@b.example>", "<c@d>"),
	    "9 allow", "80.56.0.1 is outside 80.48.0.0/13");
	is_str(decide(rs, "64.215.231.20", NULL, NULL, "<joe@>", "<c@d>"),
	    "2 allow", "64.215.231.16/29 allowed before the sender checks");
	is_str(decide(rs, "192.0.2.1", NULL, NULL, "<joe@>", "<c@d>"),
	    "3 deny 550 message must supply domain", "joe@ denied by /.+@$/");
	is_str(decide(rs, "192.0.2.1", NULL, NULL, "<@example.com>", "<c@d>"),
	    "4 deny 550 message must supply valid user name.", "@example.com");
	is_str(decide(rs, "192.0.2.1", NULL, NULL, "<@>", "<c@d>"),
	    "5 deny 550 message must supply valid user name and domain.",
	    "@ alone");
	is_str(decide(rs, "192.0.2.1", "mail.example.org", NULL, "<x@y.example>",
	    "<a@b@c>"), "6 noto 571 Sorry mail.example.org (192.0.2.1), I don't "
	    "allow unauthorized relaying.", "a@b@c refused by *@*@*");
	is_str(decide(rs, "192.0.2.1", NULL, NULL, "<x@y.example>",
	    "<Bob@Mail.PrimeNet.com>"), "7 noto_delay 550 no such user",
	    "noto-delay for primenet, case-insensitive");
	is_str(decide(rs, "192.0.2.1", NULL, NULL, "<x@sub.cyberpromo.com>",
	    "<a@b>"), "8 deny 550 Mail from <x@sub.cyberpromo.com> to <a@b> "
	    "prohibited from your location (UNKNOWN@UNKNOWN ip=192.0.2.1)",
	    "default reply with escapes");
	is_str(decide(rs, "192.0.2.1", NULL, NULL, "<>", "<a@b>"), "9 allow",
	    "the null sender passes the sender regexes");
	ruleset_free(rs);
}

/* test_errors - every error is reported with its line */
static void
test_errors(void)
{
	struct ruleset *rs;

	rs = load("# comment\n"
	    "allow:*mydomain.com *otherdomain.com:ALL\n"	/* 2: 3 fields */
	    "permit:ALL:ALL:ALL\n"				/* 3 */
	    "deny:ALL:ALL:ALL:550 bad %X escape\n"		/* 4 */
	    "deny:ALL:ALL:ALL:hello\n"				/* 5 */
	    "deny:ALL:ALL:ALL:250 ok\n"				/* 6 */
	    "deny::ALL:ALL\n"					/* 7 */
	    "deny:300.1.2.3:ALL:ALL\n"				/* 8 */
	    "deny:ALL:/(/:ALL\n"				/* 9 */
	    "deny:ALL EXCEPT:ALL:ALL\n"				/* 10 */
	    "deny:TRUSTED:ALL:ALL\n"				/* 11 */
	    "deny:ALL:KNOWN:ALL\n"				/* 12 */
	    "deny:ALL:/unterminated:ALL\n"			/* 13 */
	    "deny:ALL:ALL:ALL:550 fine\n");			/* 14 */
	ok(rs == NULL, "a file with errors is refused");
	ok(strstr(errors, "2: expected action:source:from:to") != NULL,
	    "3-field line (the original antispam example's bug)");
	ok(strstr(errors, "3: unknown action \"permit\"") != NULL,
	    "unknown action");
	ok(strstr(errors, "4: unknown escape %X") != NULL, "unknown escape");
	ok(strstr(errors, "5: reply must start with a three-digit") != NULL,
	    "reply without a code");
	ok(strstr(errors, "6: a deny reply must be 4xx or 5xx") != NULL,
	    "2xx reply on deny");
	ok(strstr(errors, "7: empty source field") != NULL, "empty field");
	ok(strstr(errors, "8: bad IP address or prefix") != NULL, "bad IPv4");
	ok(strstr(errors, "9: /(/: bad regex") != NULL, "bad regex");
	ok(strstr(errors, "10: EXCEPT needs a token after it") != NULL,
	    "dangling EXCEPT");
	ok(strstr(errors, "11: TRUSTED") != NULL, "Juniper TRUSTED refused");
	ok(strstr(errors, "12: KNOWN applies to the client") != NULL,
	    "KNOWN in an address field");
	ok(strstr(errors, "13: unterminated /regex/") != NULL,
	    "unterminated regex");
	ok(strstr(errors, "14:") == NULL, "the good line has no error");
	ruleset_free(rs);
}

/* test_syntax - fields, comments, brackets, EXCEPT */
static void
test_syntax(void)
{
	struct ruleset *rs;

	rs = load("deny:[2001:db8::]/32:ALL:ALL:550 v6 block: see %C here\n"
	    "noto:ALL:ALL:*%*@* *!*@*:551 no source routes :# antirelay\n"
	    "deny:ALL:ALL:ALL EXCEPT *@example.com EXCEPT bad@example.com:"
	    "550 only example.com\n"
	    "allow:ALL:ALL:ALL:# everything else\n");
	ok(rs != NULL, "brackets, comments and EXCEPT parse");
	is_str(errors, "", "no errors");
	if (rs == NULL)
		return;
	is_str(decide(rs, "2001:db8:1::5", NULL, NULL, "<a@b>", "<c@example.com>"),
	    "1 deny 550 v6 block: see : here", "IPv6 prefix in brackets; colons "
	    "and %%C in the reply");
	is_str(decide(rs, "192.0.2.1", NULL, NULL, "<a@b>", "<c%d@example.com>"),
	    "2 noto 551 no source routes", "percent hack refused; comment cut");
	is_str(decide(rs, "192.0.2.1", NULL, NULL, "<a@b>", "<c@example.com>"),
	    "4 allow", "EXCEPT: example.com is allowed");
	is_str(decide(rs, "192.0.2.1", NULL, NULL, "<a@b>", "<bad@example.com>"),
	    "3 deny 550 only example.com", "nested EXCEPT: bad@ is not");
	is_str(decide(rs, "192.0.2.1", NULL, NULL, "<a@b>", "<c@other.org>"),
	    "3 deny 550 only example.com", "other domains are denied");
	is_str(ruleset_line_text(rs, 2),
	    "noto:ALL:ALL:*%*@* *!*@*:551 no source routes :# antirelay",
	    "line text kept as written");
	ruleset_free(rs);

	rs = load("deny:192.168.20.*:ALL:ALL:550 glob on the address\n"
	    "deny:KNOWN EXCEPT *.example.net:ALL:ALL:550 known\n"
	    "noto:UNKNOWN:ALL:ALL:450 unknown\n");
	ok(rs != NULL, "address glob and KNOWN/UNKNOWN parse");
	if (rs == NULL)
		return;
	is_str(decide(rs, "192.168.20.7", NULL, NULL, "<a@b>", "<c@d>"),
	    "1 deny 550 glob on the address", "192.168.20.* matches the IP");
	is_str(decide(rs, "192.0.2.7", "Host.Example.COM", NULL, "<a@b>",
	    "<c@d>"), "2 deny 550 known", "KNOWN");
	is_str(decide(rs, "192.0.2.7", "mx.example.net", NULL, "<a@b>", "<c@d>"),
	    "default allow", "KNOWN EXCEPT *.example.net");
	is_str(decide(rs, "192.0.2.7", NULL, NULL, "<a@b>", "<c@d>"),
	    "3 noto 450 unknown", "UNKNOWN");
	ruleset_free(rs);
}

/* test_tokens - slashes in paths, colons and brackets in regexes */
static void
test_tokens(void)
{
	struct ruleset *rs;

	rs = load("deny:ALL:/^[^:]+:x@/ /[[]/:ALL:550 regex with : and [\n"
	    "noto:ALL:ALL:/a{1,3}@b/:550 comma inside a regex\n"
	    "deny:ALL:ALL@NS=/^ns[0-9]\\.example$/:ALL:550 regex after NS=\n");
	ok(rs != NULL, "regexes may hold ':', '[' and ','");
	is_str(errors, "", "no errors");
	if (rs != NULL) {
		is_str(decide(rs, "192.0.2.1", NULL, NULL, "<ab:x@c>", "<d@e>"),
		    "1 deny 550 regex with : and [", "colon inside a regex");
		is_str(decide(rs, "192.0.2.1", NULL, NULL, "<a[b@c>", "<d@e>"),
		    "1 deny 550 regex with : and [", "bracket inside a regex");
		is_str(decide(rs, "192.0.2.1", NULL, NULL, "<x@y>", "<aa@b>"),
		    "2 noto 550 comma inside a regex", "a{1,3} is one token");
		ruleset_free(rs);
	}
	rs = load("deny:CDB=/dbs/cbl.cdb:ALL:ALL\n"
	    "deny:ALL:HASH=/dbs/x.db:ALL\n");
	ok(rs != NULL, "CDB=/path and HASH=/path are paths, not regexes: %s",
	    errors);
	ruleset_free(rs);
	rs = load("deny:ALL:IPBLOCK=/dbs/x:ALL\n"
	    "deny:VALIDUSERS=/dbs/u:ALL:ALL\n"
	    "deny:IPBLOCK=/dbs/x:NS=IPBLOCK=/dbs/x:MX=IPBLOCK=/dbs/y:550 ok\n");
	ok(strstr(errors, "1: IPBLOCK= looks up IP addresses") != NULL,
	    "IPBLOCK= in an address field gets its own message");
	ok(strstr(errors, "3:") == NULL, "IPBLOCK= in the source field and "
	    "after NS=/MX= parses");
	ok(strstr(errors, "2: VALIDUSERS= looks up envelope addresses") != NULL,
	    "VALIDUSERS= in the source field gets its own message");
	ruleset_free(rs);
}

/* test_ident - user@host tokens and USER */
static void
test_ident(void)
{
	struct ruleset *rs = load(
	    "allow:ALL@*.freenet.example:USER@freenet.example:ALL\n"
	    "allow:root@ALL:ALL:ALL\n"
	    "deny:KNOWN@ALL:ALL:ALL:550 ident known\n");

	ok(rs != NULL, "ident rules parse");
	if (rs == NULL)
		return;
	is_str(decide(rs, "192.0.2.1", "shell.freenet.example", "Alice",
	    "<alice@freenet.example>", "<x@y>"), "1 allow",
	    "USER@ matches the ident user, case-insensitively");
	is_str(decide(rs, "192.0.2.1", "shell.freenet.example", "bob",
	    "<alice@freenet.example>", "<x@y>"), "3 deny 550 ident known",
	    "another user does not match USER");
	is_str(decide(rs, "192.0.2.1", NULL, "root", "<a@b>", "<x@y>"),
	    "2 allow", "root@ALL");
	is_str(decide(rs, "192.0.2.1", NULL, NULL, "<a@b>", "<x@y>"),
	    "default allow", "no ident: KNOWN@ does not match");
	ruleset_free(rs);
	rs = load("deny:ALL:ALL:ALL:550 %U\n");
	if (rs != NULL)
		is_str(decide(rs, "192.0.2.1", NULL, "evil)(user@x", "<a@b>",
		    "<x@y>"), "1 deny 550 evil??user?x", "a hostile ident answer "
		    "cannot forge user@host(ip)");
	ruleset_free(rs);
}

/* test_glob_cost - a pathological glob costs little */
static void
test_glob_cost(void)
{
	struct rule_arena arena;
	struct glob g;
	char s[20001];
	struct timespec a, b;
	double ms;
	int r;

	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	arena_init(&arena);
	glob_compile(&arena, &g, "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b",
	    strlen("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b"));
	clock_gettime(CLOCK_MONOTONIC, &a);
	r = glob_match(&g, s, sizeof(s) - 1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (double)(b.tv_sec - a.tv_sec) * 1e3 +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	is_int(r, 0, "*a*a...*b does not match a run of a's");
	ok(ms < 50, "and takes %.3f ms, not exponential time", ms);
	glob_compile(&arena, &g, "a*b*c", 5);
	ok(glob_match(&g, "axxbyyc", 7) && !glob_match(&g, "axxcyyb", 7) &&
	    !glob_match(&g, "abcx", 4), "a*b*c");
	arena_release(&arena);
}

/* preload_names - a cached NS, MX or PTR answer */
static void
preload_names(const char *name, enum resolv_type type, int n, ...)
{
	struct resolv_answer a;
	char *names[8];
	va_list ap;
	int i;

	memset(&a, 0, sizeof(a));
	va_start(ap, n);
	for (i = 0; i < n; i++)
		names[i] = va_arg(ap, char *);
	va_end(ap);
	a.status = n > 0 ? RESOLV_FOUND : RESOLV_NOTFOUND;
	a.count = (size_t)n;
	a.names = names;
	resolv_preload(dns, name, type, &a);
}

/* preload_addr - a cached A or AAAA answer (NULL: no data) */
static void
preload_addr(const char *name, enum resolv_type type, const char *ip)
{
	struct resolv_answer a;
	struct net_addr addr;

	memset(&a, 0, sizeof(a));
	a.status = RESOLV_NOTFOUND;
	if (ip != NULL && net_addr_parse(ip, strlen(ip), &addr) == 0) {
		a.status = RESOLV_FOUND;
		a.count = 1;
		a.addrs = &addr;
	}
	resolv_preload(dns, name, type, &a);
}

/* preload_temp - a cached temporary failure */
static void
preload_temp(const char *name, enum resolv_type type)
{
	struct resolv_answer a;

	memset(&a, 0, sizeof(a));
	a.status = RESOLV_TEMPFAIL;
	a.error = "timeout";
	resolv_preload(dns, name, type, &a);
}

/*
 * test_budget_not_sticky - a client name asked for after a decision's
 * DNS budget is spent (as a log line does) fails for that moment only:
 * the next decision, with a budget of its own, finds the name.
 */
static void
test_budget_not_sticky(void)
{
	/* Not a closed world (there, what is not cached does not exist):
	   a real resolver, which sends nothing here: a spent budget
	   answers before any packet, the rest is in its cache. */
	struct resolv_conf conf = { .servers = "127.0.0.254", .query_ms = 100,
	    .budget_ms = 20 };
	const char *text = "deny:ALL:ALL:*@spam.test:550 no\n"
	    "allow:KNOWN:ALL:ALL\n"
	    "deny:ALL:ALL:ALL:550 unknown\n";
	struct timespec pause = { 0, 40 * 1000000L };
	struct rule_client c;
	struct rule_session *s;
	struct rule_verdict v;
	struct ruleset *rs;

	dns = resolv_new(&conf);
	rs = ruleset_load_buffer("budget.rules", text, strlen(text), NULL);
	ok(dns != NULL && rs != NULL, "resolver and rules");
	if (dns == NULL || rs == NULL)
		goto out;
	memset(&c, 0, sizeof(c));
	c.resolve_name = 1;		/* as smtpd without -H */
	if (net_addr_parse("198.51.100.9", 12, &c.addr) == -1)
		goto out;
	s = rule_session_new(rs, &c, dns);
	rule_decide(rs, s, "<a@b.test>", "<x@spam.test>", &v);
	is_int(v.line, 1, "the first recipient is decided without the name");
	nanosleep(&pause, NULL);
	is_str(rule_session_name(s), "UNKNOWN",
	    "the name asked for after the budget is spent: not known now");
	preload_names("9.100.51.198.in-addr.arpa", RESOLV_PTR, 1,
	    "mail.good.test");
	preload_addr("mail.good.test", RESOLV_A, "198.51.100.9");
	rule_decide(rs, s, "<a@b.test>", "<y@ok.test>", &v);
	ok(v.kind != RULE_TEMPFAIL && v.line == 2,
	    "the next decision finds it (line %u, %s)", v.line, v.reply);
	is_str(rule_session_name(s), "mail.good.test", "and keeps it");
	rule_session_free(s);
out:
	ruleset_free(rs);
	resolv_free(dns);
	dns = NULL;
}

/* test_dns - NS=, MX=, RBL. with DNS facts from the cache */
static void
test_dns(void)
{
	struct resolv_conf conf = { .servers = "127.0.0.1", .query_ms = 100,
	    .budget_ms = 1000, .closed_world = 1 };
	struct ruleset *rs;

	dns = resolv_new(&conf);
	ok(dns != NULL, "resolver");
	if (dns == NULL)
		return;
	/* mci.example: name servers under mci, mail at 127.0.0.1 */
	preload_names("mci.example", RESOLV_NS, 2, "ns1.mci.example",
	    "ns2.mci.example");
	preload_names("mci.example", RESOLV_MX, 1, "mail.mci.example");
	preload_addr("mail.mci.example", RESOLV_A, "127.0.0.1");
	preload_addr("mail.mci.example", RESOLV_AAAA, NULL);
	preload_names("host.mci.example", RESOLV_NS, 0);
	preload_names("host.mci.example", RESOLV_MX, 0);
	/* forged.example: other name servers */
	preload_names("forged.example", RESOLV_NS, 1, "ns.other.example");
	preload_names("forged.example", RESOLV_MX, 1, "mx.other.example");
	preload_addr("mx.other.example", RESOLV_A, "198.51.100.25");
	preload_addr("mx.other.example", RESOLV_AAAA, NULL);
	preload_addr("ns.other.example", RESOLV_A, "198.51.100.53");
	preload_addr("ns.other.example", RESOLV_AAAA, NULL);
	/* nowhere.example: nothing at all */
	preload_addr("nowhere.example", RESOLV_A, NULL);
	preload_addr("nowhere.example", RESOLV_AAAA, NULL);
	preload_names("nowhere.example", RESOLV_NS, 0);
	preload_names("nowhere.example", RESOLV_MX, 0);
	/* slow.example: the server does not answer */
	preload_temp("slow.example", RESOLV_NS);
	preload_temp("slow.example", RESOLV_MX);
	preload_temp("slow.example", RESOLV_A);
	preload_temp("slow.example", RESOLV_AAAA);
	/* DNSBL answers */
	preload_addr("99.2.0.192.bl.example", RESOLV_A, "127.0.0.2");
	preload_addr("98.2.0.192.bl.example", RESOLV_A, "127.255.255.254");
	preload_addr("97.2.0.192.bl.example", RESOLV_A, "10.0.0.1");
	preload_addr("1.2.0.192.bl.example", RESOLV_A, NULL);

	rs = load("deny:host.mci.example EXCEPT NS=*.mci.example:*@mci.example:"
	    "ALL:571 no forged mci email\n"
	    "deny:ALL:ALL@NS=127.0.0.1:ALL:571 NO NS/MX records = 127.0.0.1\n"
	    "deny:ALL:NS=UNKNOWN:ALL:550 must supply valid source with MX or A\n"
	    "deny:RBL.bl.example:ALL:ALL:554 %I listed (%V)\n"
	    "deny:ALL:MX=198.51.100.0/24:ALL:550 MX in a bad net\n"
	    "allow:ALL:ALL:ALL\n");
	ok(rs != NULL, "DNS rules parse");
	if (rs == NULL)
		goto out;
	is_str(decide(rs, "192.0.2.1", "host.mci.example", NULL,
	    "<a@mci.example>", "<x@y.example>"),
	    "2 deny 571 NO NS/MX records = 127.0.0.1",
	    "mci host may use mci.example; its MX at 127.0.0.1 is caught");
	is_str(decide(rs, "192.0.2.1", NULL, NULL, "<a@nowhere.example>",
	    "<x@y.example>"), "3 deny 550 must supply valid source with MX or A",
	    "NS=UNKNOWN");
	is_str(decide(rs, "192.0.2.1", NULL, NULL, "<a@slow.example>",
	    "<x@y.example>"), "2 tempfail 451 4.4.3 Temporary failure "
	    "evaluating rules, try again later",
	    "a DNS timeout is a 4xx, never a 5xx");
	is_str(decide(rs, "192.0.2.99", NULL, NULL, "<>", "<x@y.example>"),
	    "4 deny 554 192.0.2.99 listed (127.0.0.2)", "RBL listed, %%V");
	is_str(decide(rs, "192.0.2.98", NULL, NULL, "<>", "<x@y.example>"),
	    "4 tempfail 451 4.4.3 Temporary failure evaluating rules, try "
	    "again later", "127.255.255.254 is an error, not a listing");
	is_str(decide(rs, "192.0.2.97", NULL, NULL, "<>", "<x@y.example>"),
	    "4 tempfail 451 4.4.3 Temporary failure evaluating rules, try "
	    "again later", "an answer outside 127/8 is an error");
	is_str(decide(rs, "192.0.2.1", NULL, NULL, "<a@forged.example>",
	    "<x@y.example>"), "5 deny 550 MX in a bad net",
	    "MX= by address");
	ruleset_free(rs);
out:
	resolv_free(dns);
	dns = NULL;
}

/* run - a shell command; 0 on success */
static int
run(const char *cmd)
{
	return system(cmd) == 0 ? 0 : -1;
}

/* test_tables - CDB= and HASH= with files built by the real tools */
static void
test_tables(void)
{
	const char *dir = t_tmpdir();
	char cmd[2048], rules[4096];
	struct ruleset *rs;

	snprintf(cmd, sizeof(cmd), "cd '%s' && printf '"
	    "198.51.100.7 listed in cbl\\n"
	    "192.0.2 net block\\n"
	    "spam.example.org spam\\n' > cbl.txt && "
	    "cdb -c -m cbl.cdb cbl.txt && "
	    "printf 'alice@hosted.example\\nok\\nbob@hosted.example\\nok\\n' "
	    "> users.txt && db5.3_load -T -t hash -f users.txt users.db && "
	    "printf 'hosted.example\\nhosted\\n' > domains.txt && "
	    "db5.3_load -T -t hash -f domains.txt domains.db && "
	    "printf 'garbage that is not a cdb' > bad.cdb && "
	    "head -c 4096 /dev/zero > zero.cdb && "
	    "cdb -c -m empty.cdb /dev/null", dir);
	ok(run(cmd) == 0, "tables built with cdb and db5.3_load");
	snprintf(rules, sizeof(rules),
	    "deny:CDB=%s/cbl.cdb:ALL:ALL:451 5.7.1 %%I found in cbl (%%V)\n"
	    "allow:ALL:ALL:VALIDUSERS=%s/users.db\n"
	    "noto:ALL:ALL:HASH=%s/domains.db:550 no such user/domain (%%V)\n"
	    "deny:ALL:CDB=%s/missing.cdb:ALL:550 never\n"
	    "allow:ALL:ALL:ALL\n", dir, dir, dir, dir);
	rs = load(rules);
	ok(rs != NULL, "table rules parse");
	if (rs == NULL)
		return;
	is_str(decide(rs, "198.51.100.7", NULL, NULL, "<a@b>", "<c@d>"),
	    "1 deny 451 5.7.1 198.51.100.7 found in cbl (listed in cbl)",
	    "CDB= on the client IP, %%V is the value");
	is_str(decide(rs, "192.0.2.44", NULL, NULL, "<a@b>", "<c@d>"),
	    "1 deny 451 5.7.1 192.0.2.44 found in cbl (net block)",
	    "CDB= on an enclosing prefix");
	is_str(decide(rs, "203.0.113.5", "mx.spam.example.org", NULL, "<a@b>",
	    "<c@d>"), "1 deny 451 5.7.1 203.0.113.5 found in cbl (spam)",
	    "CDB= on a parent domain of the verified name");
	is_str(decide(rs, "203.0.113.5", NULL, NULL, "<a@b>",
	    "<Alice@Hosted.Example>"), "2 allow", "VALIDUSERS= (lower-cased)");
	is_str(decide(rs, "203.0.113.5", NULL, NULL, "<a@b>",
	    "<carol@hosted.example>"), "3 noto 550 no such user/domain (hosted)",
	    "HASH= on the recipient domain refuses other users");
	is_str(decide(rs, "203.0.113.5", NULL, NULL, "<a@b>", "<c@d.example>"),
	    "4 tempfail 451 4.4.3 Temporary failure evaluating rules, try "
	    "again later", "a missing table is a temporary failure");
	ok(ruleset_check_tables(rs) == 1, "rulecheck -n sees the missing table");
	ruleset_free(rs);

	{
		struct rule_options o;

		memset(&o, 0, sizeof(o));
		o.table_root = dir;
		o.error_fn = collect;
		const char *jr = "deny:CDB=/cbl.cdb:ALL:ALL:550 %V\n";

		rs = ruleset_load_buffer("jail.rules", jr, strlen(jr), &o);
		ok(rs != NULL, "a rule naming /cbl.cdb inside a jail");
		if (rs != NULL) {
			is_str(decide(rs, "198.51.100.7", NULL, NULL, "<a@b>",
			    "<c@d>"), "1 deny 550 listed in cbl", "is read under "
			    "table_root (rulecheck -j)");
			ruleset_free(rs);
		}
	}
	snprintf(rules, sizeof(rules),
	    "deny:CDB=%s/bad.cdb:ALL:ALL:550 never\n", dir);
	rs = load(rules);
	if (rs != NULL) {
		ok(strncmp(decide(rs, "192.0.2.1", NULL, NULL, "<a@b>", "<c@d>"),
		    "1 tempfail", 10) == 0, "a corrupt CDB file is a temporary "
		    "failure");
		ruleset_free(rs);
	}
	/* Zeros (a file lost in a crash) are long enough for cdb_init and
	   would answer "not found" to every key: a listed client would
	   pass. The table of contents is checked when the file is opened. */
	snprintf(rules, sizeof(rules),
	    "deny:CDB=%s/zero.cdb:ALL:ALL:550 never\n"
	    "deny:CDB=%s/empty.cdb:ALL:ALL:550 never\n"
	    "allow:ALL:ALL:ALL\n", dir, dir);
	rs = load(rules);
	if (rs != NULL) {
		ok(strncmp(decide(rs, "192.0.2.1", NULL, NULL, "<a@b>", "<c@d>"),
		    "1 tempfail", 10) == 0, "a zero-filled CDB file is a "
		    "temporary failure");
		ok(ruleset_check_tables(rs) == 1, "rulecheck -n sees it too");
		ruleset_free(rs);
	}
	snprintf(rules, sizeof(rules),
	    "deny:CDB=%s/empty.cdb:ALL:ALL:550 never\n"
	    "allow:ALL:ALL:ALL\n", dir);
	rs = load(rules);
	if (rs != NULL) {
		is_str(decide(rs, "192.0.2.1", NULL, NULL, "<a@b>", "<c@d>"),
		    "2 allow", "an empty CDB file is a table without keys");
		ruleset_free(rs);
	}
}

/* test_share - ruleset_share(): tables and regexes from a daemon master */
static void
test_share(void)
{
	const char *dir = t_tmpdir();
	char cmd[2048], rules[4096], before[sizeof(errors)];
	struct ruleset *rs;
	int fds[8], status;
	size_t n, i;
	pid_t pid;

	snprintf(cmd, sizeof(cmd), "cd '%s' && "
	    "printf '198.51.100.7 first\\n' > s.txt && cdb -c -m s.cdb s.txt && "
	    "printf 'hosted.example\\nhosted\\n' > d.txt && "
	    "db5.3_load -T -t hash -f d.txt d.db", dir);
	ok(run(cmd) == 0, "share: tables built");
	snprintf(rules, sizeof(rules),
	    "deny:CDB=%s/s.cdb:ALL:ALL:550 %%V\n"
	    "noto:ALL:/^spam[0-9]+@/:ALL:550 regex\n"
	    "noto:ALL:ALL:HASH=%s/d.db:550 %%V\n"
	    "deny:ALL:CDB=%s/gone.cdb:ALL:550 never\n"
	    "allow:ALL:ALL:ALL\n", dir, dir, dir);
	if ((rs = load(rules)) == NULL) {
		ok(0, "share: rules parse");
		return;
	}
	ok(ruleset_share(rs) == 1, "share: one table cannot be opened");
	ok(strstr(errors, "gone.cdb") != NULL, "share: ... and is reported");
	ok(rs->tables[0].shared != NULL && rs->tables[1].shared != NULL &&
	    rs->tables[2].shared == NULL, "share: the others are open");
	n = ruleset_shared_fds(rs, fds, 8);
	ok(n == 1 && fds[0] > 2, "share: the Berkeley DB file's descriptor "
	    "is the one a child keeps (%zu)", n);
	is_str(decide(rs, "198.51.100.7", NULL, NULL, "<a@b>", "<c@d>"),
	    "1 deny 550 first", "share: CDB through the shared handle");
	is_str(decide(rs, "192.0.2.1", NULL, NULL, "<spam12@b>", "<c@d>"),
	    "2 noto 550 regex", "share: a JIT-compiled regex");
	is_str(decide(rs, "192.0.2.1", NULL, NULL, "<a@b>",
	    "<x@hosted.example>"), "3 noto 550 hosted",
	    "share: Berkeley DB through the shared handle");

	/* A forked child, with only the descriptors the daemon keeps. */
	fflush(stdout);
	if ((pid = fork()) == 0) {
		for (i = 3; i < 1024; i++)
			if ((int)i != fds[0])
				(void)close((int)i);
		_exit(strcmp(decide(rs, "192.0.2.1", NULL, NULL, "<a@b>",
		    "<x@hosted.example>"), "3 noto 550 hosted") == 0 &&
		    strcmp(decide(rs, "198.51.100.7", NULL, NULL, "<a@b>",
		    "<c@d>"), "1 deny 550 first") == 0 ? 0 : 1);
	}
	ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, "share: a forked child decides with "
	    "the inherited handles and no other descriptor");

	/* The table replaced (cdb writes a new file and renames it). */
	snprintf(cmd, sizeof(cmd), "cd '%s' && "
	    "printf '198.51.100.7 second\\n' > s.txt && cdb -c -m s.cdb s.txt",
	    dir);
	ok(run(cmd) == 0, "share: table replaced");
	is_str(decide(rs, "198.51.100.7", NULL, NULL, "<a@b>", "<c@d>"),
	    "1 deny 550 second", "share: a session sees the new file before "
	    "the master reopens it");
	snprintf(before, sizeof(before), "%s", errors);
	ok(ruleset_share(rs) == 1, "share: called again");
	ok(strcmp(before, errors) == 0, "share: a failure is not reported "
	    "again while the file stays as it was");
	is_str(decide(rs, "198.51.100.7", NULL, NULL, "<a@b>", "<c@d>"),
	    "1 deny 550 second", "share: ... and after it reopens it");
	ruleset_free(rs);
}

/* test_keys - the documented search orders */
static int
key_collect(void *arg, const char *key, size_t len)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 1024 - n, "%.*s|", (int)len, key);
	return 0;
}

static void
test_keys(void)
{
	struct net_addr a;
	char out[1024];

	out[0] = '\0';
	net_addr_parse("192.0.2.1", 9, &a);
	rule_keys_client(&a, "mail.example.com", key_collect, out);
	is_str(out, "192.0.2.1|192.0.2|192.0|192|mail.example.com|example.com|"
	    "com|", "client keys (IPv4)");
	out[0] = '\0';
	net_addr_parse("2001:db8::1", 11, &a);
	rule_keys_client(&a, NULL, key_collect, out);
	is_str(out, "2001:db8::1|2001:db8:0:0:0:0:0|2001:db8:0:0:0:0|"
	    "2001:db8:0:0:0|2001:db8:0:0|2001:db8:0|2001:db8|2001|",
	    "client keys (IPv6)");
	out[0] = '\0';
	rule_keys_address("joe@mail.example.com", 20, 0, key_collect, out);
	is_str(out, "joe@mail.example.com|mail.example.com|example.com|com|joe@|",
	    "address keys");
	out[0] = '\0';
	rule_keys_address("", 0, 0, key_collect, out);
	is_str(out, "<>|", "the null sender's key");
	out[0] = '\0';
	rule_keys_address("joe@example.com", 15, 1, key_collect, out);
	is_str(out, "joe@example.com|", "VALIDUSERS= looks up the address only");
}

/* test_log_lines - the original templates */
static void
test_log_lines(void)
{
	struct ruleset *rs = load("noto:ALL:ALL:*@*@*:571 relay\n"
	    "allow:ALL:ALL:ALL\n");
	struct rule_client c;
	struct rule_session *s;
	struct rule_verdict v;
	char buf[1024];

	if (rs == NULL)
		return;
	memset(&c, 0, sizeof(c));
	net_addr_parse("66.153.11.68", 12, &c.addr);
	c.name = "ppp322.tc-1.roc-pt.ny.localnet.com";
	s = rule_session_new(rs, &c, NULL);
	rule_decide(rs, s, "<support@citibank.com>", "<x@a@b>", &v);
	is_str(rule_log_line(rs, s, "<support@citibank.com>", "<x@a@b>", &v, buf,
	    sizeof(buf)), "smtp connection from UNKNOWN@ppp322.tc-1.roc-pt.ny."
	    "localnet.com(66.153.11.68) attempted MAIL FROM: "
	    "<support@citibank.com> RCPT TO: <x@a@b>, noto by line 1 of "
	    "test.rules", "noto line");
	rule_decide(rs, s, "<bounce@customer.ediets.com>", "<x@unitel.example>",
	    &v);
	is_str(rule_log_line(rs, s, "<bounce@customer.ediets.com>",
	    "<x@unitel.example>", &v, buf, sizeof(buf)),
	    "smtp connection from UNKNOWN@ppp322.tc-1.roc-pt.ny.localnet.com"
	    "(66.153.11.68) MAIL FROM: <bounce@customer.ediets.com> RCPT TO: "
	    "<x@unitel.example>, allowed by line 2 of test.rules", "allow line");
	rule_decide(rs, s, "<a\r\nb@c>", "<x@y>", &v);
	ok(strstr(rule_log_line(rs, s, "<a\r\nb@c>", "<x@y>", &v, buf,
	    sizeof(buf)), "<a??b@c>") != NULL, "client text made printable");
	rule_session_free(s);
	ruleset_free(rs);
}

/* test_index_equivalence - the index never changes which line decides */
static void
test_index_equivalence(void)
{
	struct rule_options o;
	struct ruleset *with, *without;
	size_t len, size = 64 * 1024;
	unsigned int lines = 0;
	char *text;

	if ((text = malloc(size)) == NULL)
		return;
	len = generate(text, size, 12345, 300);
	memset(&o, 0, sizeof(o));
	o.error_fn = collect;
	errors[0] = '\0';
	with = ruleset_load_buffer("idx.rules", text, len, &o);
	o.no_index = 1;
	without = ruleset_load_buffer("idx.rules", text, len, &o);
	free(text);
	ok(with != NULL && without != NULL, "random rules load: %s", errors);
	if (with != NULL && without != NULL) {
		is_int(agree(with, without, 3000, 12345, &lines), 0,
		    "indexed and full scans agree on 3000 decisions");
		ok(lines > 40, "%u different lines decide (the test sees many "
		    "kinds of line)", lines);
	}
	ruleset_free(with);
	ruleset_free(without);
}

int
main(void)
{
	log_open("rules_test", LOG_SINK_MEMORY, 0);
	test_seed_examples();
	test_errors();
	test_syntax();
	test_tokens();
	test_ident();
	test_glob_cost();
	test_dns();
	test_budget_not_sticky();
	test_tables();
	test_share();
	test_keys();
	test_log_lines();
	test_index_equivalence();
	return t_done();
}
