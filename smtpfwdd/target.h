/* target.h - the next hop: hand one batch of recipients one message */
/*
 * Two targets share this interface: sendmail (target_sendmail.c: fork,
 * exec with an argument vector, no shell, a clean environment, the body
 * on stdin, the exit status mapped through sysexits) and a Maildir
 * (target_maildir.c: one file per recipient, no MTA needed). A target
 * never touches the spool file's envelope; deliver.c records results.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef FWD_TARGET_H
#define FWD_TARGET_H

#include <sys/types.h>

#include <stddef.h>

#include "fwd_conf.h"

/* The outcome of one batch. */
enum target_status {
	TARGET_OK,		/* accepted for every recipient of the batch */
	TARGET_TEMP,		/* try again later */
	TARGET_PERM		/* refused for good: hold, never bounce */
};

#define TARGET_REASON_MAX	512

struct target_result {
	enum target_status status;
	int exit_code;		/* sendmail's exit status, or -1 */
	int signal;		/* the signal that killed it, or 0 */
	char reason[TARGET_REASON_MAX];	/* for the log; printable */
};

/* The message as the targets see it. */
struct target_msg {
	const char *id;
	int fd;			/* the message: deliver's private copy */
	off_t body_offset;	/* its first byte in fd */
	unsigned long long body_size;
	const char *from;	/* sanitize_path() form: "<>" or mailbox */
};

/*
 * target_sendmail - run conf->sendmail once for rcpt[0..n) (sanitized
 * forms) with the argv of target_sendmail_argv(), stdin m->fd moved
 * to the body (a private copy: nothing of the spool file), stdout
 * /dev/null,
 * stderr a pipe whose first line goes into the reason, in its own
 * process group, with conf->envp as its whole environment. It is killed
 * (the whole group) after conf->timeout seconds or when
 * deliver_aborted() turns true. Fills res and returns 0; returns -1
 * (errno set, res filled as TARGET_TEMP) only when it could not start.
 */
int target_sendmail(const struct fwd_conf *conf, const struct target_msg *m,
    const char *const *rcpt, size_t n, struct target_result *res);

/*
 * target_sendmail_argv - build sendmail's argument vector into argv
 * (argvsize slots): path, the -a arguments, "-oi", "-f", from, "--",
 * the recipients, NULL. Returns the number of arguments before the
 * NULL, or -1 if argvsize is too small.
 */
int target_sendmail_argv(const struct fwd_conf *conf, const char *from,
    const char *const *rcpt, size_t n, const char **argv, size_t argvsize);

/*
 * target_sysexit - what sendmail's exit status code means: TARGET_OK
 * for 0; TARGET_PERM for the codes that blame the message or an
 * address (EX_USAGE, EX_DATAERR, EX_NOUSER, EX_NOHOST, EX_PROTOCOL,
 * EX_NOPERM); TARGET_TEMP for everything else, including codes that
 * blame the local system or its configuration and unknown codes (a
 * queue lifetime bounds their retries). *name gets "EX_TEMPFAIL" etc.,
 * or "unknown".
 */
enum target_status target_sysexit(int code, const char **name);

/*
 * target_maildir - deliver one copy per recipient into the Maildir
 * conf->maildir (created by target_maildir_setup): tmp/ with O_EXCL,
 * "Return-Path: <from>" and "Delivered-To: rcpt" prepended, the body,
 * fsync, rename into new/, then one fsync of new/. A failure removes
 * the batch's copies already in new/, so that a retry does not
 * duplicate them, and is TARGET_TEMP. Returns 0 (res filled).
 */
int target_maildir(const struct fwd_conf *conf, const struct target_msg *m,
    const char *const *rcpt, size_t n, struct target_result *res);

/*
 * target_maildir_setup - create the Maildir and its tmp/ new/ cur/
 * (mode 0700) where missing. Returns 0, or -1 with errno.
 */
int target_maildir_setup(const char *path);

#endif
