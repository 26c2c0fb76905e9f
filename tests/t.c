/* t.c - a small TAP harness for the unit tests */
/*
 * Output is TAP: one "ok"/"not ok" line per test point, "# " diagnostics,
 * and the plan at the end. tests/run-checks counts the lines.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t.h"

static int t_count;
static int t_failed;
static char t_dir[512];

/* report - print one test point */
static int
report(int cond, const char *file, int line, const char *fmt, va_list ap)
{
	t_count++;
	printf("%sok %d - ", cond ? "" : "not ", t_count);
	vprintf(fmt, ap);
	printf("\n");
	if (!cond) {
		t_failed++;
		printf("#   failed at %s line %d\n", file, line);
	}
	fflush(stdout);
	return cond;
}

/* t_ok - one test point */
int
t_ok(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = report(cond, file, line, fmt, ap);
	va_end(ap);
	return r;
}

/* t_is_int - compare two integers */
int
t_is_int(long got, long want, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = report(got == want, file, line, fmt, ap);
	va_end(ap);
	if (!r)
		printf("#   got: %ld\n#   want: %ld\n", got, want);
	return r;
}

/* t_is_str - compare two strings */
int
t_is_str(const char *got, const char *want, const char *file, int line,
    const char *fmt, ...)
{
	va_list ap;
	int same, r;

	if (got == NULL || want == NULL)
		same = got == want;
	else
		same = strcmp(got, want) == 0;
	va_start(ap, fmt);
	r = report(same, file, line, fmt, ap);
	va_end(ap);
	if (!r)
		printf("#   got:  \"%s\"\n#   want: \"%s\"\n",
		    got != NULL ? got : "(null)", want != NULL ? want : "(null)");
	return r;
}

/* t_diag - a comment line */
void
t_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* t_done - print the plan and return the exit status */
int
t_done(void)
{
	printf("1..%d\n", t_count);
	if (t_dir[0] != '\0') {
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t_dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", t_dir);
	}
	return t_failed == 0 && t_count > 0 ? 0 : 1;
}

/* t_tmpdir - a fresh directory for this test program */
const char *
t_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	if (t_dir[0] != '\0')
		return t_dir;
	snprintf(t_dir, sizeof(t_dir), "%s/gk-test-XXXXXX",
	    base != NULL ? base : "/tmp");
	if (mkdtemp(t_dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	return t_dir;
}
