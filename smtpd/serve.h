/* serve.h - one SMTP session on a connection, after the privilege drop */
/*
 * What inetd mode's process and each child of daemon mode do once they
 * are in the jail as the unprivileged user: find the client (peer.c),
 * resolve its name, bind the policy to the ruleset, the session to the
 * spool, and run the connection driver (conn.c) to the end. The same
 * code in both modes, so the test suite run in one mode covers the
 * other.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef SMTPD_SERVE_H
#define SMTPD_SERVE_H

#include <stddef.h>

#include "../lib/resolv.h"
#include "../rules/rules.h"
#include "conn.h"
#include "session.h"

struct serve_config {
	struct session_config sess;	/* myname, sizes, delays, -q */
	struct conn_config conn;	/* fds, timeouts, banner delay */
	const char *spooldir;		/* inside the jail */
	const char *rules_path;		/* for the log when rs is NULL */
	unsigned int noto_delay;	/* seconds */
	unsigned int deny_delay;	/* seconds */
	unsigned int ident_timeout;	/* seconds; 0: never ask */
	int is_dns_on;			/* 0 with -H */
	int is_tempfail_allow;		/* rules_tempfail=allow */
	int is_exit_after;		/* the process ends with the session:
					   _exit(0) at its end (see below) */
};

/*
 * serve_session - serve the client on cfg->conn's fds until the session
 * ends. rs is the ruleset (NULL: it did not load, every recipient is
 * deferred); dns may be NULL (rules that need DNS defer). Returns 0
 * after the session (whatever its outcome), or -1 with a reason in why
 * if it could not start (no client address, out of memory): the caller
 * then answers 421 and exits 111. With is_exit_after, a session that
 * ran ends the process with _exit(0) instead of returning (after
 * session_abandon(), so no message cut off stays in spool/tmp/): its
 * tables, the rules and the memory go with the process, without the
 * unmapping and closing one by one (every message was on disk before
 * its 250, every log line sent). Built with AddressSanitizer it returns, so that
 * the leak check sees everything released.
 */
int serve_session(const struct serve_config *cfg, const struct ruleset *rs,
    struct resolv *dns, char *why, size_t whysize);

#endif
