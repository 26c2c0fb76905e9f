/* rulecheck.c - which rule line decides, and why */
/*
 * main() only: parse options, load the rules with the same library
 * smtpd uses, build one context (or one per stdin line in batch mode),
 * and print the decision. -n lints a file; -C compiles it into the
 * image smtpd maps in inetd mode (rules.image), -I decides from it.
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
"usage: rulecheck [-vI] [-c rules] [-j jail] [-d allow|noto|deny] [-s servers]\n" \
"                 [-T query_ms] [-B budget_ms] -i ip [-h name | -R]\n" \
"                 [-u ident] [-H helo] [-f from] [-t to] [-z dnsfacts]\n" \
"       rulecheck -n [-c rules] [-j jail]\n" \
"       rulecheck -C [-c rules]\n" \
"       rulecheck -b [-c rules] [-d action] [-s servers] [-z dnsfacts]\n" \
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

/* print_notes - what the engine logged during a decision (debug rules) */
static void
print_notes(const char *prefix)
{
	const char *p = log_memory(), *nl;

	for (; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		printf("%s%.*s\n", prefix, (int)(nl - p), p);
	}
	log_memory_clear();
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
	print_notes(batch ? "  note: " : "note: ");
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
		printf("  log: %s\n", rule_log_line(rs, s, c->from, c->to, &v,
		    log, sizeof(log)));
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

/* zone_type - a record type by name */
static int
zone_type(const char *s, enum resolv_type *t)
{
	static const enum resolv_type types[] = { RESOLV_A, RESOLV_AAAA,
	    RESOLV_NS, RESOLV_MX, RESOLV_PTR, RESOLV_TXT };
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(s, resolv_type_name(types[i])) == 0) {
			*t = types[i];
			return 0;
		}
	return -1;
}

struct zone_fact {
	char name[RESOLV_NAME_MAX];
	enum resolv_type type;
	enum resolv_status status;
	size_t count;
	char *names[RESOLV_MAX_RECORDS];
	struct net_addr addrs[RESOLV_MAX_RECORDS];
};

/* zone_flush - hand one collected answer to the resolver's cache */
static int
zone_flush(struct resolv *dns, struct zone_fact *f)
{
	struct resolv_answer a;
	size_t i;
	int r;

	if (f->name[0] == '\0')
		return 0;
	memset(&a, 0, sizeof(a));
	a.status = f->status;
	a.count = f->count;
	a.names = f->names;
	a.addrs = f->addrs;
	a.is_nxdomain = f->status == RESOLV_NOTFOUND && f->count == 0;
	a.error = "timeout";
	r = resolv_preload(dns, f->name, f->type, &a);
	for (i = 0; i < f->count; i++)
		free(f->names[i]);
	memset(f, 0, sizeof(*f));
	return r;
}

/*
 * load_zone - rulecheck -z: DNS facts from a file, one record a line:
 * "name TYPE data", where data NXDOMAIN, NODATA or TEMPFAIL stands for
 * that answer. Lines for the same name and type must be adjacent.
 */
static int
load_zone(struct resolv *dns, const char *path)
{
	static struct zone_fact f;
	char line[1024], *w[3], *p;
	enum resolv_type type;
	unsigned int lineno = 0;
	FILE *fp;
	int n, status = 0;

	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(stderr, "rulecheck: %s: %s\n", path, strerror(errno));
		return -1;
	}
	memset(&f, 0, sizeof(f));
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		for (n = 0, p = line; n < 3; n++) {
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p == '\0' || *p == '\n' || *p == '#')
				break;
			w[n] = p;
			if (n == 2) {
				p[strcspn(p, "\n")] = '\0';
				while (p[0] != '\0' && strchr(" \t",
				    p[strlen(p) - 1]) != NULL)
					p[strlen(p) - 1] = '\0';
				break;
			}
			p += strcspn(p, " \t\n");
			if (*p != '\0')
				*p++ = '\0';
		}
		if (n == 0)
			continue;
		if (n < 2 || zone_type(w[1], &type) == -1) {
			fprintf(stderr, "rulecheck: %s:%u: expected "
			    "\"name TYPE data\"\n", path, lineno);
			status = -1;
			break;
		}
		if (strcmp(f.name, w[0]) != 0 || f.type != type) {
			if (zone_flush(dns, &f) == -1) {
				status = -1;
				break;
			}
			snprintf(f.name, sizeof(f.name), "%s", w[0]);
			f.type = type;
			f.status = RESOLV_FOUND;
		}
		if (strcmp(w[2], "NXDOMAIN") == 0 || strcmp(w[2], "NODATA") == 0)
			f.status = RESOLV_NOTFOUND;
		else if (strcmp(w[2], "TEMPFAIL") == 0)
			f.status = RESOLV_TEMPFAIL;
		else if (f.count >= RESOLV_MAX_RECORDS)
			continue;
		else if (type == RESOLV_A || type == RESOLV_AAAA) {
			if (net_addr_parse(w[2], strlen(w[2]),
			    &f.addrs[f.count]) == -1) {
				fprintf(stderr, "rulecheck: %s:%u: bad address\n",
				    path, lineno);
				status = -1;
				break;
			}
			f.count++;
		} else if ((f.names[f.count] = strdup(w[2])) != NULL)
			f.count++;
	}
	if (status == 0 && zone_flush(dns, &f) == -1)
		status = -1;
	fclose(fp);
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
	printf("image: %s\n", ruleset_image_build());
}

int
main(int argc, char **argv)
{
	struct options o;
	struct context c;
	struct ruleset *rs;
	struct resolv *dns = NULL;
	unsigned int errors = 0;
	const char *zone = NULL;
	int ch, lint = 0, is_batch = 0, is_image = 0, use_image = 0, status;
	size_t nrules;
	char err[512];

	memset(&o, 0, sizeof(o));
	memset(&c, 0, sizeof(c));
	o.rules = DEFAULT_RULES;
	o.ropts.default_action = RULE_ALLOW;
	c.from = "<>";
	c.to = "";
	/* The engine's own log lines (debug rules) are printed with the
	   decision they belong to. */
	log_open("rulecheck", LOG_SINK_MEMORY, 0);
	while ((ch = getopt(argc, argv, "bCc:d:f:h:H:i:Ij:nRs:t:T:u:B:vVz:")) != -1) {
		switch (ch) {
		case 'b': is_batch = 1; break;
		case 'C': is_image = 1; break;
		case 'I': use_image = 1; break;
		case 'c': o.rules = optarg; break;
		case 'd': o.ropts.default_action = parse_default(optarg); break;
		case 'f': c.from = optarg; break;
		case 'h': c.name = optarg; break;
		case 'H': c.helo = optarg; break;
		case 'i': c.ip = optarg; break;
		case 'j': o.ropts.table_root = optarg; break;
		case 'n': lint = 1; break;
		case 'R': c.resolve = 1; break;
		case 's': o.dns.servers = optarg; break;
		case 't': c.to = optarg; break;
		case 'T': o.dns.query_ms = number(optarg, 600000, "-T"); break;
		case 'B': o.dns.budget_ms = number(optarg, 3600000, "-B"); break;
		case 'u': c.ident = optarg; break;
		case 'v': o.verbose = 1; break;
		case 'V': version(); return 0;
		case 'z': zone = optarg; break;
		default: die_usage(NULL);
		}
	}
	if (optind != argc)
		die_usage("unexpected arguments");
	if (c.resolve && c.name != NULL)
		die_usage("-h and -R exclude each other");
	o.ropts.error_fn = report_error;
	o.ropts.error_arg = &errors;
	if (is_image) {
		if (lint || is_batch || c.ip != NULL || use_image)
			die_usage("-C excludes -n, -b, -i and -I");
		if (ruleset_image_write(o.rules, &o.ropts, &nrules, err,
		    sizeof(err)) == -1) {
			if (err[0] != '\0')
				fprintf(stderr, "rulecheck: %s\n", err);
			return errors > 0 ? EXIT_PERM : EXIT_TEMP;
		}
		printf("%s.image: ok, %zu rules\n", o.rules, nrules);
		return 0;
	}
	if (use_image) {
		o.ropts.verify_image = 1;
		/* The image or nothing: an image owned by root, or by the
		   user running rulecheck. */
		rs = ruleset_image_load(o.rules, &o.ropts,
		    geteuid() == 0 ? 0 : (unsigned int)geteuid(), err,
		    sizeof(err));
		if (rs == NULL) {
			fprintf(stderr, "rulecheck: %s.image: not used: %s\n",
			    o.rules, err[0] != '\0' ? err : "there is none");
			return EXIT_TEMP;
		}
	} else
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
	if (zone != NULL)
		o.dns.closed_world = 1;
	if ((dns = resolv_new(&o.dns)) == NULL)
		fprintf(stderr, "rulecheck: no DNS resolver: %s\n",
		    strerror(errno));
	else if (zone != NULL && load_zone(dns, zone) == -1) {
		resolv_free(dns);
		ruleset_free(rs);
		return EXIT_PERM;
	}
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
