/* t.h - a small TAP harness for the unit tests */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef GK_T_H
#define GK_T_H

#include <stddef.h>

/* t_ok - one test point; prints "ok N - name" or "not ok N - name" */
int t_ok(int cond, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* t_is_int - compare two integers, printing both on failure */
int t_is_int(long got, long want, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* t_is_str - compare two strings (NULL allowed), printing both on failure */
int t_is_str(const char *got, const char *want, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* t_diag - a "# ..." comment line */
void t_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* t_done - print the plan "1..N"; returns the exit status (0 if all passed) */
int t_done(void);
/* t_tmpdir - a fresh directory for this test program (under $TMPDIR) */
const char *t_tmpdir(void);

#define ok(cond, ...)		t_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(g, w, ...)	t_is_int((long)(g), (long)(w), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(g, w, ...)	t_is_str((g), (w), __FILE__, __LINE__, __VA_ARGS__)

#endif
