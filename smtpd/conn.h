/* conn.h - drive one session over a connection: the only socket code */
/*
 * conn owns the file descriptors (fd 0 and 1 in inetd mode), the
 * deadlines and the banner delay; the session (session.h) owns the
 * protocol. The same conn_run() serves inetd mode now and each forked
 * child of daemon mode later. Deadlines: an idle timeout per read, a
 * write timeout per reply batch, and a session time limit; no longjmp().
 * A socket is read blocking, under a receive timeout (SO_RCVTIMEO), one
 * system call a read, and written with MSG_DONTWAIT under poll(); any
 * other descriptor is non-blocking under poll().
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef SMTPD_CONN_H
#define SMTPD_CONN_H

#include <signal.h>
#include <time.h>

#include "session.h"

struct conn_config {
	int in_fd;			/* client bytes */
	int out_fd;			/* replies (often in_fd) */
	unsigned int banner_delay;	/* seconds; early talkers refused */
	unsigned int idle_timeout;	/* seconds per read */
	unsigned int write_timeout;	/* seconds per flush */
	unsigned int session_timeout;	/* seconds for the whole session */
	volatile sig_atomic_t *stop;	/* set by SIGTERM: 421 and end */
};

struct conn {
	struct conn_config cfg;
	struct session *s;
	struct timespec session_end;	/* CLOCK_MONOTONIC */
	int is_write_dead;		/* a write failed: send no more */
	int is_write_timeout;		/* ... because of the deadline */
	int is_in_socket;		/* recv() under SO_RCVTIMEO */
	int is_out_socket;		/* send() with MSG_DONTWAIT */
	int rcvtimeo_ms;		/* the receive timeout set, 0: none */
};

/*
 * conn_init - set up c for cfg: a socket blocking (its reads wait
 * under a receive timeout), any other descriptor non-blocking; start the
 * session clock, and fill env (gettimeofday, and a pause that sends
 * the queued replies before it sleeps) for session_new().
 */
void conn_init(struct conn *c, const struct conn_config *cfg,
    struct session_env *env);

/*
 * conn_run - banner (after the delay, refusing early talkers), then
 * read, feed, send until the session closes, the client goes, or a
 * deadline passes. Returns 0; the session has logged its summary,
 * with the reason it ended.
 */
int conn_run(struct conn *c, struct session *s);

/*
 * Stopping. conn_on_term is SIGTERM's handler in a session: it sets the
 * flag conn_catch_term() named, which conn_run() checks before each
 * read (421, and the end). A SIGTERM that lands between that check and
 * the blocking read would not be seen until the idle timeout, so the
 * handler also starts an alarm that interrupts the process every second
 * until it exits. conn_catch_term installs SIGALRM's handler for that,
 * and SIGTERM's if is_term (inetd mode; a daemon's master has its own,
 * and gives its children conn_on_term). 0, or -1 with errno.
 */
void conn_on_term(int sig);
int conn_catch_term(volatile sig_atomic_t *flag, int is_term);

#endif
