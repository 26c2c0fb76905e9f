/* gkdb-build.c - compile text into an IPBLOCK, CDB or Berkeley DB hash file */
/*
 * main() only: options, then gkdb_build(). The new file replaces the
 * old one atomically (temporary name, fsync, rename, fsync of the
 * directory), so a cron job can rebuild under a running smtpd. Exit 0
 * when installed, 100 for usage and bad input lines (nothing installed
 * unless -k), 111 for system errors. docs/gkdb-build.8.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gkdb.h"

#define USAGE \
"usage: gkdb-build [-kv] [-e maxerrors] -t ipblock|cdb|hash output\n" \
"                  [input ...]\n"

#define EXIT_TEMP	111
#define EXIT_PERM	100

/* die_usage - print usage and exit 100 */
static void __attribute__((noreturn))
die_usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "gkdb-build: %s\n", why);
	fputs(USAGE, stderr);
	exit(EXIT_PERM);
}

/* report - "file:line: reason" on stderr */
static void
report(void *arg, const char *file, unsigned long line, const char *reason)
{
	(void)arg;
	if (line > 0)
		fprintf(stderr, "%s:%lu: %s\n", file, line, reason);
	else
		fprintf(stderr, "gkdb-build: %s: %s\n", file, reason);
}

/* summary - what was built, for -v */
static void
summary(enum gkdb_type type, const char *output,
    const struct gkdb_build_result *r)
{
	const struct iptree_stats *s = &r->ipblock;

	if (type == GKDB_IPBLOCK)
		printf("%s: IPBLOCK, %zu IPv4 and %zu IPv6 entries "
		    "(%zu exclusions); %zu single addresses, "
		    "%zu IPv4 range pieces, "
		    "%zu IPv6 prefixes, %zu values; %zu bytes\n", output,
		    s->entries_v4, s->entries_v6, s->excluded, s->singles,
		    s->ranges_v4, s->prefixes_v6, s->values, r->bytes);
	else
		printf("%s: %s, %zu records, %zu duplicate keys skipped; "
		    "%zu bytes\n", output, gkdb_type_name(type), r->records,
		    r->duplicates, r->bytes);
}

/* main - options, then one build */
int
main(int argc, char **argv)
{
	struct gkdb_build_options o;
	struct gkdb_build_result r;
	enum gkdb_type type = GKDB_IPBLOCK;
	int ch, have_type = 0, verbose = 0;
	unsigned long v;
	char *end;

	memset(&o, 0, sizeof(o));
	o.error_fn = report;
	while ((ch = getopt(argc, argv, "e:kt:v")) != -1) {
		switch (ch) {
		case 'e':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    v == 0 || v > 1000000)
				die_usage("bad -e (1..1000000)");
			o.max_errors = (unsigned int)v;
			break;
		case 'k':
			o.keep_going = 1;
			break;
		case 't':
			if (gkdb_type_parse(optarg, &type) == -1)
				die_usage("unknown type");
			have_type = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			die_usage(NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (!have_type)
		die_usage("-t is required");
	if (argc < 1)
		die_usage("no output file");
	switch (gkdb_build(type, argv[0], (const char *const *)argv + 1,
	    (size_t)argc - 1, &o, &r)) {
	case GKDB_BUILT:
		if (r.bad_lines > 0)
			fprintf(stderr, "gkdb-build: %s: installed without "
			    "%u bad lines (-k)\n", argv[0], r.bad_lines);
		if (verbose)
			summary(type, argv[0], &r);
		if (fflush(stdout) == EOF)
			return EXIT_TEMP;
		return 0;
	case GKDB_BAD_INPUT:
		fprintf(stderr, "gkdb-build: %s: %u bad lines, not changed\n",
		    argv[0], r.bad_lines);
		return EXIT_PERM;
	default:
		fprintf(stderr, "gkdb-build: %s: not changed\n", argv[0]);
		return EXIT_TEMP;
	}
}
