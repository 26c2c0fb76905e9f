/* session.h - the SMTP state machine: bytes in, replies out, no sockets */
/*
 * A session is one SMTP dialogue with one client. It never touches a
 * file descriptor: the caller (conn.c, or a test driver) hands it the
 * client's bytes with session_input() and sends what session_output()
 * returns. Everything else it needs is reached through three small
 * interfaces bound at creation: the policy (policy.h), the spool sink,
 * and the clock with its pause, so that tests bind fakes and get a
 * deterministic transcript (tests/unit/session_test.c).
 *
 * Bounds: a partial command line is at most SMTPD_CMD_MAX bytes; the
 * DATA phase streams (no line is held whole); session_input() stops
 * consuming when SMTPD_OUT_HIGH bytes of replies are queued, so the
 * output buffer stays bounded whatever the input.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef SMTPD_SESSION_H
#define SMTPD_SESSION_H

#include <stddef.h>
#include <sys/time.h>

#include "../lib/net_addr.h"
#include "../lib/resolv.h"
#include "../lib/spool.h"
#include "policy.h"

/* Where accepted messages go (lib/spool.c in smtpd; a fake in tests). */
struct spool_sink {
	/* open - start a message; fill id (the message id). 0, or -1
	   with errno (ENOSPC/EDQUOT: disk full, answered 452) */
	int (*open)(void *arg, const struct spool_meta *m,
	    char id[SPOOL_ID_MAX + 1]);
	/* write - message bytes (LF line ends); 0 or -1 with errno */
	int (*write)(void *arg, const void *buf, size_t len);
	/* commit - 0 only when the message is on stable storage */
	int (*commit)(void *arg);
	/* abort - forget the message being written */
	void (*abort)(void *arg);
	void *arg;
};

/* The session's view of time and waiting. */
struct session_env {
	/* now - the current time (a fixed clock in tests) */
	void (*now)(void *arg, struct timeval *tv);
	/* pause - send what is queued, then wait seconds (delays) */
	void (*pause)(void *arg, unsigned int seconds);
	/* is_late - 1 once the session's time is up: session_input()
	   then returns before the next command, and the driver ends the
	   session (NULL: never) */
	int (*is_late)(void *arg);
	void *arg;
};

/* Settings, from the command line; see docs/smtpd.8. */
struct session_config {
	const char *myname;		/* banner, Received, replies */
	const char *banner_text;	/* after "220 myname ESMTP " */
	unsigned long long max_size;	/* message bytes; SIZE */
	unsigned int max_rcpt;		/* recipients per message */
	unsigned int max_errors;	/* client errors, then 421 */
	unsigned int max_messages;	/* messages per session */
	unsigned int tarpit_delay;	/* seconds before each refusal */
	int is_bare_lf_ok;		/* store bare-LF lines in DATA */
	int is_quiet;			/* -q: one log line per message */
};

/* What is known about the client when the session starts. */
struct session_peer {
	char ip[NET_ADDR_TEXT];		/* canonical text */
	char name[RESOLV_NAME_MAX];	/* forward-confirmed, or "UNKNOWN" */
};

struct session;

/*
 * session_new - a session in the state before the banner. Every pointer
 * is borrowed and must outlive the session. Returns NULL on ENOMEM.
 */
struct session *session_new(const struct session_config *cfg,
    const struct session_peer *peer, const struct policy_ops *policy,
    const struct spool_sink *sink, const struct session_env *env);

/* session_abandon - abort what the session has open (a message being
   received: its temporary spool file goes); session_free does it too */
void session_abandon(struct session *s);

/* session_free - release the session (aborts an open message) */
void session_free(struct session *s);

/*
 * session_banner - queue the greeting. If the client sent early bytes
 * before it (early, earlylen > 0: an early talker, RFC 5321 4.3.1), log
 * them and refuse with 554, closing the session instead.
 */
void session_banner(struct session *s, const char *early, size_t earlylen);

/*
 * session_early_reply - the refusal session_banner() gives an early
 * talker, for myname, with its CRLF, into buf (size bytes, NUL-ended);
 * returns its length, 0 if it does not fit. For daemon mode's master,
 * which refuses early talkers without a session.
 */
size_t session_early_reply(const char *myname, char *buf, size_t size);

/*
 * session_log_unserved - log a connection that never got a session
 * (daemon mode's master refused it during the banner delay, or over a
 * limit) in the session's own formats: the early-talker line if early
 * is not NULL, then the summary line every connection ends with
 * (event=session ... end=why), timed from start to now.
 */
void session_log_unserved(const struct session_peer *peer,
    const struct timeval *start, const struct timeval *now,
    const char *early, size_t earlylen, const char *why);

/*
 * session_input - process client bytes. Returns how many of the len
 * bytes were consumed: all of them, unless SMTPD_OUT_HIGH bytes of
 * replies are waiting or the session closed. The caller sends the
 * output, then calls again with the rest. Pipelined commands and body
 * bytes are never dropped: what follows a DATA line or a final dot in
 * the same buffer is processed in order.
 */
size_t session_input(struct session *s, const char *buf, size_t len);

/*
 * session_timeout - what: "read" (no command or data in time),
 * "session" (the session time limit) or "write" (the client does not
 * read): log, queue 421 4.4.2 and close.
 */
void session_timeout(struct session *s, const char *what);

/* session_eof - the client closed the connection: log and close */
void session_eof(struct session *s);

/* session_shutdown - the server is stopping: 421 4.3.2 and close */
void session_shutdown(struct session *s);

/* session_output - the replies queued so far (len bytes, CRLF ends) */
const char *session_output(const struct session *s, size_t *len);

/* session_output_consumed - n bytes of the output have been sent */
void session_output_consumed(struct session *s, size_t n);

/* session_is_closed - 1 once the session has ended: send the output,
   then close the connection */
int session_is_closed(const struct session *s);

/* session_is_in_data - 1 while message bytes are being read */
int session_is_in_data(const struct session *s);

#endif
