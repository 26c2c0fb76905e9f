/* fwd_status.h - the queue report: smtpfwdd -S, and the SIGUSR1 log line */
/*
 * Reads the spool directories (and the lock file, to see whether a
 * daemon runs), so it works whether or not smtpfwdd is running, for
 * any user who can read the spool.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef FWD_STATUS_H
#define FWD_STATUS_H

#include <stddef.h>

#include "fwd_queue.h"

/* The lock and pid file, in work/ (a dot never occurs in an id). */
#define FWD_LOCK_NAME	".smtpfwdd.pid"

/* What the directories hold. */
struct fwd_status {
	size_t nnew;			/* messages in new/ */
	size_t nwork;			/* in work/: in delivery or deferred */
	size_t ndeferred;		/* in work/ with a retry state */
	size_t nhold;			/* in hold/ */
	char oldest[SPOOL_ID_MAX + 1];	/* oldest message in new/ or work/ */
	long long oldest_time;		/* its arrival time, or -1 */
	char oldest_hold[SPOOL_ID_MAX + 1];
	long long oldest_hold_time;
};

/*
 * fwd_id_time - the arrival time an id carries ("SECONDS-..." as smtpd
 * makes them, docs/spool.5), or -1 if it carries none.
 */
long long fwd_id_time(const char *id);

/*
 * fwd_daemon_pid - the pid of the daemon holding work/'s lock (workfd),
 * 0 if none runs, -1 if that cannot be told.
 */
long fwd_daemon_pid(int workfd);

/* fwd_status_collect - count the directories; 0, or -1 with errno */
int fwd_status_collect(const struct fwd_dirs *d, struct fwd_status *st);

/*
 * fwd_status_print - the report of smtpfwdd -S on fd 1: whether a
 * daemon holds the lock (and its pid), the counts, the oldest queued
 * and held messages, and each held message with its reason (at most
 * limit of them). Returns 0, or -1 with errno.
 */
int fwd_status_print(const char *spooldir, long long now, size_t limit);

#endif
