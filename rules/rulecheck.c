/* rulecheck.c - which rule line decides, and why */
/*
 * main() only: parse options, load the rules with the same library
 * smtpd uses, build one context (or one per stdin line in batch mode),
 * and print the decision. -n lints a file.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../lib/net_addr.h"
#include "../lib/resolv.h"
#include "rules.h"
#include "lookup.h"
#include "rule_regex.h"

#define USAGE \
"usage: rulecheck [-v] [-c rules] [-d allow|noto|deny] [-s servers]\n" \
"                 [-T query_ms] [-B budget_ms] -i ip [-h name | -R]\n" \
"                 [-u ident] [-H helo] [-f from] [-t to]\n" \
"       rulecheck -n [-c rules]\n" \
"       rulecheck -b [-c rules] [-d action] [-s servers] < contexts\n" \
"       rulecheck -V\n"

#define DEFAULT_RULES	"/etc/smtpd_check_rules"
#define EXIT_TEMP	111
#define EXIT_PERM	100
#define BATCH_LINE_MAX	4096

struct context {
	const char *ip, *name, *ident, *helo, *from, *to;
	int resolve;
};

struct options {
	const char *rules;
	struct rule_options ropts;
	struct resolv_conf dns;
	int verbose;
};

/* die_usage - print usage and exit 100 */
static void __attribute__((noreturn))
die_usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "rulecheck: %s\n", why);
	fputs(USAGE, stderr);
	exit(EXIT_PERM);
}

/* number - a bounded decimal option value */
static unsigned int
number(const char *s, unsigned int max, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > max) {
		fprintf(stderr, "rulecheck: bad %s \"%s\" (0..%u)\n", what, s,
		    max);
		exit(EXIT_PERM);
	}
	return (unsigned int)v;
}

/* report_error - rules errors as file:line: reason */
static void
report_error(void *arg, const char *file, unsigned int line,
    const char *reason)
{
	unsigned int *count = arg;

	(*count)++;
	if (line > 0)
		printf("%s:%u: %s\n", file, line, reason);
	else
		printf("%s: %s\n", file, reason);
}

/* trace_line - rulecheck -v */
static void
trace_line(void *arg, unsigned int line, const char *text,
    const char *outcome)
{
	(void)arg;
	printf("line %u: %s: %s\n", line, outcome, text);
}

/* parse_default - -d allow|noto|deny */
static enum rule_action
parse_default(const char *s)
{
	if (strcmp(s, "allow") == 0)
		return RULE_ALLOW;
	if (strcmp(s, "noto") == 0)
		return RULE_NOTO;
	if (strcmp(s, "deny") == 0)
		return RULE_DENY;
	die_usage("-d takes allow, noto or deny");
}

/* decide - one context; prints either the long or the batch form */
static int
decide(const struct ruleset *rs, struct resolv *dns, const struct context *c,
    int batch, int verbose)
{
	struct rule_client client;
	struct rule_session *s;
	struct rule_verdict v;
	char log[2048];
	const char *action;

	memset(&client, 0, sizeof(client));
	if (c->ip == NULL || net_addr_parse(c->ip, strlen(c->ip),
	    &client.addr) == -1) {
		fprintf(stderr, "rulecheck: bad or missing client address "
		    "\"%s\"\n", c->ip != NULL ? c->ip : "");
		return -1;
	}
	client.name = c->name;
	client.resolve_name = c->resolve;
	client.ident = c->ident;
	client.helo = c->helo;
	if ((s = rule_session_new(rs, &client, dns)) == NULL) {
		fprintf(stderr, "rulecheck: out of memory\n");
		return -1;
	}
	if (verbose)
		rule_session_trace(s, trace_line, NULL);
	rule_decide(rs, s, c->from, c->to, &v);
	action = v.kind == RULE_TEMPFAIL ? "tempfail" :
	    rule_action_name(v.action);
	if (batch) {
		if (v.kind == RULE_DEFAULT)
			printf("  => default %s \"%s\"\n", action, v.reply);
		else if (v.kind == RULE_TEMPFAIL)
			printf("  => line %u tempfail \"%s\" (%s)\n", v.line,
			    v.reply, v.reason);
		else
			printf("  => line %u %s \"%s\"%s%s\n", v.line, action,
			    v.reply, v.value[0] != '\0' ? " value=" : "",
			    v.value);
	} else {
		printf("line: %u\n", v.line);
		printf("text: %s\n", v.kind == RULE_DEFAULT ? "(end of file)" :
		    ruleset_line_text(rs, v.line));
		printf("action: %s%s\n", action,
		    v.kind == RULE_DEFAULT ? " (default)" : "");
		printf("reply: %s\n", v.reply);
		printf("value: %s\n", v.value);
		if (v.kind == RULE_TEMPFAIL)
			printf("reason: %s\n", v.reason);
		printf("log: %s\n", rule_log_line(rs, s, c->from, c->to, &v,
		    log, sizeof(log)));
	}
	rule_session_free(s);
	return 0;
}

/* batch - one context per stdin line: key=value ... */
static int
batch(const struct ruleset *rs, struct resolv *dns, int verbose)
{
	char line[BATCH_LINE_MAX];
	struct context c;
	char *p, *word, *eq;
	int status = 0;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		size_t len = strlen(line);

		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(stdin)) {
			fprintf(stderr, "rulecheck: input line too long\n");
			return -1;
		}
		fputs(line, stdout);
		fputc('\n', stdout);
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '\0' || *p == '#')
			continue;
		memset(&c, 0, sizeof(c));
		c.from = "<>";
		c.to = "";
		while (*p != '\0') {
			word = p;
			while (*p != '\0' && *p != ' ' && *p != '\t')
				p++;
			if (*p != '\0')
				*p++ = '\0';
			while (*p == ' ' || *p == '\t')
				p++;
			if ((eq = strchr(word, '=')) == NULL) {
				fprintf(stderr, "rulecheck: \"%s\" is not "
				    "key=value\n", word);
				return -1;
			}
			*eq++ = '\0';
			if (strcmp(word, "ip") == 0)
				c.ip = eq;
			else if (strcmp(word, "name") == 0)
				c.name = eq;
			else if (strcmp(word, "ident") == 0)
				c.ident = eq;
			else if (strcmp(word, "helo") == 0)
				c.helo = eq;
			else if (strcmp(word, "from") == 0)
				c.from = eq;
			else if (strcmp(word, "to") == 0)
				c.to = eq;
			else if (strcmp(word, "resolve") == 0)
				c.resolve = strcmp(eq, "yes") == 0;
			else {
				fprintf(stderr, "rulecheck: unknown key \"%s\"\n",
				    word);
				return -1;
			}
		}
		if (decide(rs, dns, &c, 1, verbose) == -1)
			status = -1;
	}
	return status;
}

/* version - rulecheck -V: the libraries in use */
static void
version(void)
{
	const struct lookup_ops *const *ops;

	printf("rulecheck (smtpd rules engine)\n");
	for (ops = lookup_ops_all(); *ops != NULL; ops++)
		printf("%s: %s\n", (*ops)->name, (*ops)->library());
	printf("regex: %s\n", regex_library());
}

int
main(int argc, char **argv)
{
	struct options o;
	struct context c;
	struct ruleset *rs;
	struct resolv *dns = NULL;
	unsigned int errors = 0;
	int ch, lint = 0, is_batch = 0, status;

	memset(&o, 0, sizeof(o));
	memset(&c, 0, sizeof(c));
	o.rules = DEFAULT_RULES;
	o.ropts.default_action = RULE_ALLOW;
	c.from = "<>";
	c.to = "";
	log_open("rulecheck", LOG_SINK_STDERR, 0);
	while ((ch = getopt(argc, argv, "bc:d:f:h:H:i:nRs:t:T:u:B:vV")) != -1) {
		switch (ch) {
		case 'b': is_batch = 1; break;
		case 'c': o.rules = optarg; break;
		case 'd': o.ropts.default_action = parse_default(optarg); break;
		case 'f': c.from = optarg; break;
		case 'h': c.name = optarg; break;
		case 'H': c.helo = optarg; break;
		case 'i': c.ip = optarg; break;
		case 'n': lint = 1; break;
		case 'R': c.resolve = 1; break;
		case 's': o.dns.servers = optarg; break;
		case 't': c.to = optarg; break;
		case 'T': o.dns.query_ms = number(optarg, 600000, "-T"); break;
		case 'B': o.dns.budget_ms = number(optarg, 3600000, "-B"); break;
		case 'u': c.ident = optarg; break;
		case 'v': o.verbose = 1; break;
		case 'V': version(); return 0;
		default: die_usage(NULL);
		}
	}
	if (optind != argc)
		die_usage("unexpected arguments");
	if (c.resolve && c.name != NULL)
		die_usage("-h and -R exclude each other");
	o.ropts.error_fn = report_error;
	o.ropts.error_arg = &errors;
	rs = ruleset_load(o.rules, &o.ropts);
	if (lint) {
		if (rs != NULL)
			errors += ruleset_check_tables(rs);
		if (errors == 0)
			printf("%s: ok, %zu rules\n", o.rules,
			    ruleset_rule_count(rs));
		ruleset_free(rs);
		return errors == 0 ? 0 : EXIT_PERM;
	}
	if (rs == NULL)
		return errno == EINVAL ? EXIT_PERM : EXIT_TEMP;
	/* A resolver only fails to start on a bad server list or no memory;
	   rules that need DNS then fail temporarily, as they would in smtpd. */
	if ((dns = resolv_new(&o.dns)) == NULL)
		fprintf(stderr, "rulecheck: no DNS resolver: %s\n",
		    strerror(errno));
	if (is_batch)
		status = batch(rs, dns, o.verbose);
	else {
		if (c.ip == NULL)
			die_usage("-i ip is required");
		status = decide(rs, dns, &c, 0, o.verbose);
	}
	resolv_free(dns);
	ruleset_free(rs);
	return status == 0 ? 0 : EXIT_PERM;
}
