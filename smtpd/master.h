/* master.h - daemon mode: listeners, the banner delay for all, children */
/*
 * The master of daemon mode (-D), in two steps. master_open(), as root
 * and before the chroot: raise RLIMIT_NOFILE to max_files, lock and
 * write the pid file, bind and listen on every address. Then the
 * caller chroots and drops privileges (lib/priv.h), and master_run()
 * serves, unprivileged, until SIGTERM:
 *
 * - Every new connection is counted against max_per_ip (per client;
 *   IPv6 by /64) and held by the master itself through the banner
 *   delay, in one event loop (libowfat's io_wait, epoll underneath)
 *   with thousands of others: a held connection costs a socket and a
 *   hundred bytes, no process. A client that talks before the banner is
 *   logged and refused with 554 and closed without a fork; one that
 *   hangs up is logged and forgotten.
 * - A client that waited politely gets a child (fork, no exec), if
 *   fewer than max_children run; else 421. The child has the connection
 *   on fd 0 and 1, no other descriptor of the master except keep_fd
 *   and those cfg->keep_fds() names, and calls cfg->child() (the same
 *   code as inetd mode).
 * - Children are reaped as soon as SIGCHLD arrives (self-pipe; the
 *   handlers only set flags and write a byte). SIGHUP calls
 *   cfg->reload(); cfg->refresh() runs at most once a second. SIGTERM (or SIGINT) closes the listeners, refuses the
 *   held clients with 421, and waits for the sessions to end; after
 *   drain_timeout seconds, or at a second SIGTERM, the children are sent
 *   SIGTERM (they end with 421 at their next chance). SIGUSR1 logs the
 *   counts.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef SMTPD_MASTER_H
#define SMTPD_MASTER_H

#include <signal.h>
#include <stddef.h>

#include "smtpd_limits.h"

struct master_config {
	const char *addrs[SMTPD_LISTEN_MAX];	/* listen addresses */
	size_t naddrs;			/* 0: 0.0.0.0 and :: (if IPv6 works) */
	unsigned int port;
	const char *pidfile;		/* absolute, outside the jail; NULL */
	const char *myname;		/* in the master's own replies */
	unsigned int banner_delay;	/* seconds; 0: a child at once */
	unsigned int max_children;	/* sessions at once */
	unsigned int max_per_ip;	/* connections per client */
	unsigned int max_held;		/* clients in the banner delay */
	unsigned int max_files;		/* RLIMIT_NOFILE of the master */
	unsigned int drain_timeout;	/* seconds after SIGTERM */
	int keep_fd;			/* the syslog socket, kept open in
					   children; -1 (or not a socket any
					   more): children closelog() and
					   reconnect from the jail */
	void (*child_term)(int);	/* a child's SIGTERM handler */
	void (*child)(void *arg);	/* serve fd 0/1; then _exit(0) */
	void (*reload)(void *arg);	/* SIGHUP, in the master */
	/* in the master, at most once a second while clients come: bring
	   what children inherit up to date (open tables); NULL: none */
	void (*refresh)(void *arg);
	/* in a child, before it closes the master's descriptors: those it
	   must keep (the rules' shared tables); how many, at most max */
	size_t (*keep_fds)(void *arg, int *fds, size_t max);
	void *arg;
};

struct master;


/*
 * master_open - as root: file limit, pid file, listeners, signal
 * handlers. Returns NULL with a reason in why (the caller exits 111).
 * A max_held that the file limit cannot carry is lowered, with a log
 * line.
 */
struct master *master_open(const struct master_config *cfg, char *why,
    size_t whysize);

/*
 * master_run - after the privilege drop: serve until stopped (see
 * above). Returns the exit status for main(): 0 after SIGTERM, 111 if
 * the event loop failed.
 */
int master_run(struct master *m);

#endif
