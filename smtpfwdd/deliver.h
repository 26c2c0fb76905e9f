/* deliver.h - deliver one claimed message: check, batch, record, decide */
/*
 * Runs in a worker process, one message at a time, on a file that the
 * master has moved into work/. Reads it with spool_read(), checks it
 * with sanitize.h, hands its pending recipients to the target in
 * batches, records every accepted batch in the file (RCPT -> SENT,
 * fsync) before the next, and ends with the file removed (all sent),
 * left in work/ (retry later) or moved to hold/ (a log line says why).
 * Never bounces, never removes undelivered mail.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef FWD_DELIVER_H
#define FWD_DELIVER_H

#include <stddef.h>

#include "fwd_conf.h"
#include "sanitize.h"
#include "../lib/spool.h"

/* What became of a message; the worker's exit status is 20 + this. */
enum deliver_outcome {
	DELIVER_DONE,		/* every recipient sent; file removed */
	DELIVER_DEFER,		/* recipients left; file stays in work/ */
	DELIVER_HELD,		/* moved to hold/ */
	DELIVER_BUSY,		/* locked by another process: later */
	DELIVER_GONE,		/* the file was not there */
	DELIVER_ABORTED		/* cut short by shutdown: retry, no attempt */
};

#define DELIVER_EXIT_BASE	20

/* What the master tells a worker about its message. */
struct deliver_job {
	const char *id;
	int work_dirfd;
	int hold_dirfd;
	unsigned int attempts;	/* earlier attempts (from ID.defer) */
	long long first;	/* time of the first attempt, 0 if none */
	long long now;		/* time of this attempt */
};

/* A checked message, ready for its targets (deliver_prepare). */
struct deliver_plan {
	struct spool_env env;
	char from[SANITIZE_ADDR_SIZE];	/* argument form of FROM */
	char (*rcpt)[SANITIZE_ADDR_SIZE]; /* argument forms, env.nrcpt */
	char why[256];			/* hold reason after -1/EPROTO */
};

/*
 * deliver_prepare - read and check the spool file open on fd, named id:
 * spool_read(), every path through sanitize_path(), and the message
 * through sanitize_body_*() under lim. If copyfd is not -1, the message
 * bytes go there as they are checked, in the same pass: what a target
 * then reads from copyfd is exactly what was checked. Returns 0 (free p
 * with deliver_plan_free), or -1 with errno: EPROTO when the file must
 * be held (p->why says why), another errno for a temporary error.
 */
int deliver_prepare(int fd, const char *id, const struct sanitize_limits *lim,
    int copyfd, struct deliver_plan *p);

/* deliver_plan_free - release what deliver_prepare() allocated */
void deliver_plan_free(struct deliver_plan *p);

/*
 * deliver_message - deliver the message work/ID as described above,
 * logging one line per recipient and one per outcome. A message that
 * is deferred while older than conf->lifetime (counted from the
 * earlier of its TIME line and job->first) is held instead.
 */
enum deliver_outcome deliver_message(const struct fwd_conf *conf,
    const struct deliver_job *job);

/*
 * deliver_hold - move work/ID to hold/ID (never replacing a file there)
 * and write the reason into hold/ID.why; logs the "held" line. Returns
 * 0, or -1 (logged) if the file could not be moved.
 */
int deliver_hold(int work_dirfd, int hold_dirfd, const char *id,
    const char *why);

/* deliver_set_aborted - SIGTERM handler of a worker: cut the run short */
void deliver_set_aborted(int sig);

/* deliver_aborted - 1 once the worker has been told to stop */
int deliver_aborted(void);

/*
 * deliver_backoff - seconds before retry number attempts (1 for the
 * first retry): first, doubled for each further attempt, at most cap.
 */
unsigned int deliver_backoff(unsigned int first, unsigned int cap,
    unsigned int attempts);

#endif
