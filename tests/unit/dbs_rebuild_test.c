/* dbs_rebuild_test.c - readers keep answering while cron rebuilds the file */
/*
 * For IPBLOCK, CDB and HASH: a reader opened on version 1 (as smtpd
 * opens its tables per connection) keeps answering from version 1 while
 * a child process rebuilds the file over and over with gkdb_build(); a
 * reader opened meanwhile always sees one whole version, never an error
 * or a half-written file; and once the rebuilds stop, a new open sees
 * version 2. Also: a failed build (bad lines) leaves the old file.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../t.h"
#include "../../dbs/gkdb.h"

#define FILLER	3000
#define ROUNDS	25

/* write_source - version v of a source: a key with value "vN" and filler */
static void
write_source(const char *path, enum gkdb_type type, int v)
{
	FILE *f = fopen(path, "w");
	int i;

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	fprintf(f, "192.0.2.1 v%d\n", v);
	for (i = 0; i < FILLER; i++)
		fprintf(f, "10.%d.%d.%d %s%d\n", v, i / 256, i % 256,
		    type == GKDB_IPBLOCK ? "filler" : "f", i);
	if (fclose(f) == EOF) {
		perror(path);
		exit(1);
	}
}

/* quiet - drop build messages */
static void
quiet(void *arg, const char *file, unsigned long line, const char *reason)
{
	(void)arg;
	(void)file;
	(void)line;
	(void)reason;
}

/* build - gkdb_build one source quietly; the status */
static enum gkdb_build_status
build(enum gkdb_type type, const char *out, const char *src)
{
	struct gkdb_build_options o;
	struct gkdb_build_result r;
	const char *in[1];

	memset(&o, 0, sizeof(o));
	o.error_fn = quiet;
	in[0] = src;
	return gkdb_build(type, out, in, 1, &o, &r);
}

/* ask - the value for 192.0.2.1: "v1", "v2", "-" or "tempfail: ..." */
static const char *
ask(struct gkdb_table *t)
{
	static char buf[600];
	struct gkdb_answer a;

	if (gkdb_query(t, GKDB_FIELD_SOURCE, "192.0.2.1", NULL, &a) == -1)
		return "bad key";
	if (a.result == LK_FOUND)
		snprintf(buf, sizeof(buf), "%s", a.value);
	else if (a.result == LK_NOTFOUND)
		snprintf(buf, sizeof(buf), "-");
	else
		snprintf(buf, sizeof(buf), "tempfail: %s", a.err);
	return buf;
}

/* test_type - the whole story for one type */
static void
test_type(enum gkdb_type type, const char *suffix)
{
	char out[600], s1[600], s2[600], bad[600], err[LOOKUP_ERR_MAX];
	struct gkdb_table *old, *fresh;
	const char *name = gkdb_type_name(type);
	int i, wrong_old = 0, wrong_new = 0, opens = 0, status;
	pid_t pid;

	snprintf(out, sizeof(out), "%s/table%s", t_tmpdir(), suffix);
	snprintf(s1, sizeof(s1), "%s/v1.%s.txt", t_tmpdir(), name);
	snprintf(s2, sizeof(s2), "%s/v2.%s.txt", t_tmpdir(), name);
	snprintf(bad, sizeof(bad), "%s/bad.%s.txt", t_tmpdir(), name);
	write_source(s1, type, 1);
	write_source(s2, type, 2);
	is_int(build(type, out, s1), GKDB_BUILT, "%s: build version 1", name);
	old = gkdb_open(type, out, err, sizeof(err));
	ok(old != NULL, "%s: reader opens version 1", name);
	if (old == NULL)
		return;
	is_str(ask(old), "v1", "%s: reader answers v1", name);
	if ((pid = fork()) == -1) {
		ok(0, "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		for (i = 0; i < ROUNDS; i++)
			if (build(type, out, i % 2 ? s1 : s2) != GKDB_BUILT)
				_exit(1);
		_exit(build(type, out, s2) == GKDB_BUILT ? 0 : 1);
	}
	for (;;) {
		const char *v;

		if (strcmp(ask(old), "v1") != 0)
			wrong_old++;
		if ((fresh = gkdb_open(type, out, err, sizeof(err))) == NULL)
			wrong_new++;
		else {
			v = ask(fresh);
			if (strcmp(v, "v1") != 0 && strcmp(v, "v2") != 0) {
				if (wrong_new++ < 3)
					t_diag("%s: fresh reader got %s", name, v);
			}
			gkdb_close(fresh);
		}
		opens++;
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
	}
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "%s: %d rebuilds by a child process", name, ROUNDS + 1);
	is_int(wrong_old, 0, "%s: the open reader answered v1 %d times "
	    "during the rebuilds", name, opens);
	is_int(wrong_new, 0, "%s: %d fresh opens each saw a whole version",
	    name, opens);
	is_str(ask(old), "v1", "%s: the old reader still answers v1", name);
	fresh = gkdb_open(type, out, err, sizeof(err));
	ok(fresh != NULL && strcmp(ask(fresh), "v2") == 0,
	    "%s: the next open sees v2", name);
	gkdb_close(fresh);
	/* A source with a bad line changes nothing. */
	{
		struct gkdb_build_options o;
		struct gkdb_build_result r;
		const char *in[1];
		FILE *f = fopen(bad, "w");
		int k;

		if (f == NULL) {
			ok(0, "create %s", bad);
			return;
		}
		fprintf(f, "192.0.2.1 v3\n");
		if (type == GKDB_IPBLOCK)
			fprintf(f, "not-an-address\n");
		else {
			for (k = 0; k < GKDB_KEY_MAX + 10; k++)
				putc('k', f);
			fprintf(f, " value\n");
		}
		fclose(f);
		memset(&o, 0, sizeof(o));
		o.error_fn = quiet;
		in[0] = bad;
		is_int(gkdb_build(type, out, in, 1, &o, &r), GKDB_BAD_INPUT,
		    "%s: a bad line fails the build", name);
		is_int(r.bad_lines, 1, "%s: one bad line counted", name);
	}
	fresh = gkdb_open(type, out, err, sizeof(err));
	ok(fresh != NULL && strcmp(ask(fresh), "v2") == 0,
	    "%s: still v2 after a failed build", name);
	gkdb_close(fresh);
	gkdb_close(old);
}

/* main - the story for each type */
int
main(void)
{
	test_type(GKDB_IPBLOCK, ".ipt");
	test_type(GKDB_CDB, ".cdb");
	test_type(GKDB_HASH, ".db");
	return t_done();
}
