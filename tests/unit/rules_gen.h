/* rules_gen.h - random rules files and contexts for the rules tests */
/*
 * Included by the unit tests that compare two rulesets made from the
 * same text (rules_test: indexed against full scan; rules_image_test:
 * image against text): their collector of load errors, one generator
 * of rules files with every kind of line, one of contexts, one
 * comparison of every field of the verdicts and of the log lines.
 * Deterministic: seeded.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef GK_TEST_RULES_GEN_H
#define GK_TEST_RULES_GEN_H

#include <stdio.h>
#include <string.h>

#include "../t.h"
#include "../../rules/rules.h"

/* The load errors of the last ruleset_load*() given collect() */
static char errors[8192];

/* collect - keep load errors as "line: reason" lines */
static void
collect(void *arg, const char *file, unsigned int line, const char *reason)
{
	size_t n = strlen(errors);

	(void)arg;
	(void)file;
	snprintf(errors + n, sizeof(errors) - n, "%u: %s\n", line, reason);
}

/* rnd - a small deterministic generator */
static unsigned int
rnd(unsigned int *seed, unsigned int n)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 16) % n;
}

static const char *const domains[] = { "spam.example", "a.spam.example",
    "good.example", "mail.good.example", "x.org", "b.x.org", "bad.net",
    "c.bad.net" };
static const char *const users[] = { "joe", "root", "12345", "" };

/* generate - a rules file of n lines with every kind of line */
static size_t
generate(char *text, size_t size, unsigned int seed, unsigned int n)
{
	char line[300];
	size_t len = 0;
	unsigned int i;

#define RND(n) rnd(&seed, (n))
	text[0] = '\0';
	for (i = 0; i < n; i++) {
		const char *d = domains[RND(8)];

		switch (RND(14)) {
		case 0:
			snprintf(line, sizeof(line), "deny:10.%u.%u.0/24:ALL:ALL:"
			    "550 5.7.1 %%I listed\n", RND(8), RND(8));
			break;
		case 1:
			snprintf(line, sizeof(line), "noto:10.%u.%u.%u,10.%u.%u.0/24"
			    ":ALL:*@%s:550 no%%Cthanks %%%% %%T\n", RND(8), RND(8),
			    RND(8), RND(8), RND(8), d);
			break;
		case 2:
			snprintf(line, sizeof(line), "deny:ALL:*@%s *@*.%s:ALL:550 "
			    "from %%F\n", d, d);
			break;
		case 3:
			snprintf(line, sizeof(line), "noto:ALL:ALL:%s@%s:550 t\n",
			    users[RND(3)], d);
			break;
		case 4:
			snprintf(line, sizeof(line), "allow:ALL:*.%s:ALL\n", d);
			break;
		case 5:
			snprintf(line, sizeof(line), "deny:ALL EXCEPT 10.%u.0.0/16:"
			    "*@%s:ALL:550 e # why not\n", RND(4), d);
			break;
		case 6:
			snprintf(line, sizeof(line), "noto:ALL:/^%s@/:ALL:550 r\n",
			    users[RND(3)]);
			break;
		case 7:
			snprintf(line, sizeof(line), "debug:10.%u.0.0/16:ALL:ALL\n",
			    RND(4));
			break;
		case 8:
			snprintf(line, sizeof(line), "deny:/^10\\.%u\\./:ALL:/%s$/:"
			    "551 regex %%I\n", RND(8), d);
			break;
		case 9:
			snprintf(line, sizeof(line), "noto_delay:*.%s:ALL:ALL:450 "
			    "name %%H\n", d);
			break;
		case 10:
			snprintf(line, sizeof(line), "deny:10.%u.*:ALL:ALL:550 glob\n",
			    RND(8));
			break;
		case 11:
			snprintf(line, sizeof(line), "noto:ALL:ALL:USER@%s:550 u\n",
			    d);
			break;
		case 12:
			snprintf(line, sizeof(line), "allow:ALL:%s@*:ALL\n",
			    users[RND(3)]);
			break;
		default:
			snprintf(line, sizeof(line), "deny:[2001:db8:%x::]/48:*@%s:"
			    "ALL:550 6\n", RND(4), d);
			break;
		}
		if (len + strlen(line) + 1 >= size)
			break;
		memcpy(text + len, line, strlen(line) + 1);
		len += strlen(line);
	}
	/* No line in the file needs DNS: every decision is a fact. */
	return len;
#undef RND
}

/* verdict_text - every field of a verdict, for comparison */
static void
verdict_text(const struct ruleset *rs, const struct rule_verdict *v,
    char *out, size_t size)
{
	snprintf(out, size, "%d %d %u [%s] [%s] [%s] [%s]", (int)v->kind,
	    (int)v->action, v->line, v->reply, v->value, v->reason,
	    v->line > 0 ? ruleset_line_text(rs, v->line) : "");
}

/* agree - decide n random contexts with both rulesets; disagreements */
static unsigned int
agree(struct ruleset *a, struct ruleset *b, unsigned int n,
    unsigned int seed, unsigned int *lines)
{
	char ip[64], from[128], to[128], va[2048], vb[2048], la[1024],
	    lb[1024];
	unsigned char seen[1024];
	struct rule_client c;
	struct rule_session *sa, *sb;
	struct rule_verdict v1, v2;
	unsigned int i, differ = 0;

#define RND(k) rnd(&seed, (k))
	memset(seen, 0, sizeof(seen));
	*lines = 0;
	for (i = 0; i < n; i++) {
		memset(&c, 0, sizeof(c));
		if (RND(5) == 0)
			snprintf(ip, sizeof(ip), "2001:db8:%x::%x", RND(5), RND(9));
		else
			snprintf(ip, sizeof(ip), "10.%u.%u.%u", RND(8), RND(8),
			    RND(8));
		net_addr_parse(ip, strlen(ip), &c.addr);
		c.name = RND(3) == 0 ? NULL : domains[RND(8)];
		snprintf(from, sizeof(from), RND(6) == 0 ? "<>" : "<%s@%s>",
		    users[RND(4)], domains[RND(8)]);
		snprintf(to, sizeof(to), "<%s@%s>", users[RND(4)],
		    domains[RND(8)]);
		sa = rule_session_new(a, &c, NULL);
		sb = rule_session_new(b, &c, NULL);
		rule_decide(a, sa, from, to, &v1);
		rule_decide(b, sb, from, to, &v2);
		verdict_text(a, &v1, va, sizeof(va));
		verdict_text(b, &v2, vb, sizeof(vb));
		rule_log_line(a, sa, from, to, &v1, la, sizeof(la));
		rule_log_line(b, sb, from, to, &v2, lb, sizeof(lb));
		if (v1.line < sizeof(seen) && !seen[v1.line]) {
			seen[v1.line] = 1;
			(*lines)++;
		}
		if (strcmp(va, vb) != 0 || strcmp(la, lb) != 0) {
			if (differ++ < 5)
				t_diag("differ: %s %s %s:\n#  %s\n#  %s", ip, from,
				    to, va, vb);
		}
		rule_session_free(sa);
		rule_session_free(sb);
	}
	return differ;
#undef RND
}

#endif
