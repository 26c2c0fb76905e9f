/* gkdb-query.c - look keys up in a database exactly as smtpd would */
/*
 * main() only: open the file through the engine's registry (type by -t,
 * else by the IPBLOCK magic, a ".cdb" name, else Berkeley DB hash), then
 * answer each key of the command line, or each line of standard input,
 * with gkdb_query(): one line "KEY found ENTRY [VALUE]", "KEY not
 * found", "KEY tempfail REASON" or "KEY error REASON". Exit 0 if every
 * key was found, 1 if some was not, 100 for usage or a bad key, 111 on
 * a temporary failure. -c verifies the file instead. docs/gkdb-query.8.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/log.h"
#include "gkdb.h"

#define USAGE \
"usage: gkdb-query [-t ipblock|cdb|hash] [-f source|from|to|validusers]\n" \
"                  [-n name] file [key ...]\n" \
"       gkdb-query -c [-t ipblock|cdb|hash] file\n"

#define EXIT_TEMP	111
#define EXIT_PERM	100
#define KEY_LINE_MAX	2048

struct run {
	struct gkdb_table *t;
	enum gkdb_field field;
	const char *name;
	int found, notfound, bad, temp;
};

/* die_usage - print usage and exit 100 */
static void __attribute__((noreturn))
die_usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "gkdb-query: %s\n", why);
	fputs(USAGE, stderr);
	exit(EXIT_PERM);
}

/* ask - one key, one line of output */
static void
ask(struct run *r, const char *key, const char *name)
{
	struct gkdb_answer a;
	char pk[256];

	printable(pk, sizeof(pk), key, strlen(key));
	if (gkdb_query(r->t, r->field, key, name, &a) == -1) {
		printf("%s error %s\n", pk, a.err);
		r->bad++;
		return;
	}
	switch (a.result) {
	case LK_FOUND:
		printf("%s found %s%s%s\n", pk, a.entry, a.value[0] ? " " : "",
		    a.value);
		r->found++;
		break;
	case LK_NOTFOUND:
		printf("%s not found\n", pk);
		r->notfound++;
		break;
	default:
		printf("%s tempfail %s\n", pk, a.err);
		r->temp++;
		break;
	}
}

/* ask_stdin - keys from standard input: "key [name]" per line */
static void
ask_stdin(struct run *r)
{
	char line[KEY_LINE_MAX], *p, *sp;
	const char *name;
	size_t len;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		len = strlen(line);
		if (len > 0 && line[len - 1] != '\n' && !feof(stdin)) {
			int c;

			while ((c = getchar()) != EOF && c != '\n')
				;
			printf("(line too long) error key longer than %d "
			    "bytes\n", KEY_LINE_MAX - 2);
			r->bad++;
			continue;
		}
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r' || line[len - 1] == ' ' ||
		    line[len - 1] == '\t'))
			line[--len] = '\0';
		p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		name = r->name;
		if ((sp = strpbrk(p, " \t")) != NULL) {
			*sp++ = '\0';
			while (*sp == ' ' || *sp == '\t')
				sp++;
			if (*sp != '\0')
				name = sp;
		}
		ask(r, p, name);
	}
}

/* main - options, then the keys or the check */
int
main(int argc, char **argv)
{
	struct run r;
	struct iptree_stats st;
	enum gkdb_type type = GKDB_HASH;
	char err[LOOKUP_ERR_MAX];
	int ch, have_type = 0, check = 0, i;

	memset(&r, 0, sizeof(r));
	r.field = GKDB_FIELD_AUTO;
	while ((ch = getopt(argc, argv, "cf:n:t:")) != -1) {
		switch (ch) {
		case 'c':
			check = 1;
			break;
		case 'f':
			if (strcmp(optarg, "source") == 0)
				r.field = GKDB_FIELD_SOURCE;
			else if (strcmp(optarg, "from") == 0 ||
			    strcmp(optarg, "to") == 0)
				r.field = GKDB_FIELD_ADDRESS;
			else if (strcmp(optarg, "validusers") == 0)
				r.field = GKDB_FIELD_VALIDUSERS;
			else
				die_usage("unknown field");
			break;
		case 'n':
			r.name = optarg;
			break;
		case 't':
			if (gkdb_type_parse(optarg, &type) == -1)
				die_usage("unknown type");
			have_type = 1;
			break;
		default:
			die_usage(NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		die_usage("no database file");
	if (!have_type && gkdb_detect(argv[0], &type, err, sizeof(err)) == -1) {
		fprintf(stderr, "gkdb-query: %s\n", err);
		return EXIT_TEMP;
	}
	if ((r.t = gkdb_open(type, argv[0], err, sizeof(err))) == NULL) {
		fprintf(stderr, "gkdb-query: %s\n", err);
		return EXIT_TEMP;
	}
	if (check) {
		if (argc > 1)
			die_usage("-c takes no keys");
		if (gkdb_check(r.t, &st, err, sizeof(err)) == -1) {
			fprintf(stderr, "gkdb-query: %s: %s\n", argv[0], err);
			gkdb_close(r.t);
			return EXIT_TEMP;
		}
		if (type == GKDB_IPBLOCK)
			printf("%s: IPBLOCK version %d, %zu IPv4 and %zu IPv6 "
			    "entries (%zu exclusions); %zu single addresses, "
			    "%zu IPv4 range pieces, %zu IPv6 prefixes, "
			    "%zu values; "
			    "%zu bytes; checksum ok\n", argv[0],
			    IPTREE_VERSION, st.entries_v4, st.entries_v6,
			    st.excluded, st.singles, st.ranges_v4,
			    st.prefixes_v6, st.values, st.bytes);
		else
			printf("%s: %s, opens\n", argv[0],
			    gkdb_type_name(type));
		gkdb_close(r.t);
		return fflush(stdout) == EOF ? EXIT_TEMP : 0;
	}
	if (argc == 1)
		ask_stdin(&r);
	else
		for (i = 1; i < argc; i++)
			ask(&r, argv[i], r.name);
	gkdb_close(r.t);
	if (fflush(stdout) == EOF || ferror(stdin))
		return EXIT_TEMP;
	if (r.temp > 0)
		return EXIT_TEMP;
	if (r.bad > 0)
		return EXIT_PERM;
	return r.notfound > 0 ? 1 : 0;
}
