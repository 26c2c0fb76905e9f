/* fwd_master.h - the daemon's event loop: watch, claim, dispatch, reap */
/*
 * One master process per spool. It learns of new files from inotify on
 * new/ (and the trigger FIFO, and a periodic scan as a safety net),
 * claims each by renaming it into work/, and forks one worker per
 * message, at most conf->children at once; it keeps the retry schedule
 * and answers SIGTERM/SIGINT (stop gracefully), SIGHUP (rescan, retry
 * everything now) and SIGUSR1 (log a status line).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef FWD_MASTER_H
#define FWD_MASTER_H

#include "fwd_conf.h"
#include "fwd_queue.h"

/*
 * fwd_master_run - run the daemon until SIGTERM or SIGINT and every
 * delivery in flight has finished (or, after FWD_STOP_GRACE seconds,
 * was cut short and left for the next start). lockfd is the pid/lock
 * file, closed in workers. Returns 0 after a clean stop, or -1 (logged)
 * if the loop could not be set up.
 */
int fwd_master_run(const struct fwd_conf *conf, const struct fwd_dirs *dirs,
    int lockfd);

#endif
