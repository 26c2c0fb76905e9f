/* smtpd_limits.h - every limit and default of smtpd, in one place */
/*
 * Each quantity a client can influence is bounded by a constant here;
 * the defaults of the -o settings are here too. docs/smtpd.8 (LIMITS)
 * lists them for operators; change both together.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef SMTPD_LIMITS_H
#define SMTPD_LIMITS_H

/*
 * Command line length, CRLF included. RFC 5321 4.5.3.1.4 says 512; we
 * take up to 1000 so that long MAIL parameters fit. A longer line is
 * read and thrown away up to its LF and answered 500 5.5.2.
 */
#define SMTPD_CMD_MAX		1000

/* HELO/EHLO argument, bytes (a domain is at most 255). */
#define SMTPD_HELO_MAX		255

/* A reverse- or forward-path with its <>, RFC 5321 4.5.3.1.3. */
#define SMTPD_PATH_MAX		256

/* Local part and domain of an address, RFC 5321 4.5.3.1.1 and .2. */
#define SMTPD_LOCAL_MAX		64
#define SMTPD_DOMAIN_MAX	255

/* Recipients per message: default, and the highest -o max_rcpt. */
#define SMTPD_RCPT_DEFAULT	100
#define SMTPD_RCPT_LIMIT	1000	/* = SPOOL_RCPT_MAX */

/* Message size, bytes as received (CRLF counted, dot-unstuffed). */
#define SMTPD_SIZE_DEFAULT	10240000ULL
#define SMTPD_SIZE_LIMIT	2147483647ULL	/* highest -s */

/* Errors (4xx/5xx replies caused by the client) before 421 and close. */
#define SMTPD_ERRORS_DEFAULT	20
/* Messages accepted in one session before 421 and close. */
#define SMTPD_MESSAGES_DEFAULT	100
/* Commands of any kind in one session (NOOP floods). */
#define SMTPD_COMMANDS_MAX	10000

/* Received headers in one message before 554 5.4.6 (mail loop). */
#define SMTPD_HOPS_MAX		100

/* Timeouts, seconds. */
#define SMTPD_IDLE_TIMEOUT	300	/* waiting for a command or data */
#define SMTPD_WRITE_TIMEOUT	60	/* a reply the client won't read */
#define SMTPD_SESSION_TIMEOUT	1800	/* the whole session */
#define SMTPD_TIMEOUT_LIMIT	86400	/* the highest setting */

/* Delays, seconds: defaults and the highest allowed setting. */
#define SMTPD_BANNER_DELAY	0
#define SMTPD_TARPIT_DELAY	0
#define SMTPD_NOTO_DELAY	50	/* noto_delay, as the original */
#define SMTPD_DENY_DELAY	50	/* deny_delay, as the original */
#define SMTPD_DELAY_LIMIT	600

/* Ident (RFC 1413): deadline in seconds, reply bytes, user bytes. */
#define SMTPD_IDENT_TIMEOUT	3
#define SMTPD_IDENT_REPLY_MAX	1000
#define SMTPD_IDENT_USER_MAX	64

/* DNS: per-query deadline and per-decision budget, milliseconds. */
#define SMTPD_DNS_QUERY_MS	5000
#define SMTPD_DNS_BUDGET_MS	15000

/* Buffers of the connection driver. */
#define SMTPD_READ_CHUNK	16384	/* one read() from the client */
#define SMTPD_OUT_HIGH		65536	/* replies queued, at most */

/*
 * A session that ends with client bytes unread (421 after too many
 * errors, 554 after a bare LF, an early talker) sends its FIN first and
 * then reads the rest away, at most so many bytes and seconds: closing
 * with bytes unread would make the kernel send a reset, which can
 * destroy the last reply on its way. The master drains a refused held
 * client's bytes (without waiting) for the same reason.
 */
#define SMTPD_LINGER_BYTES	65536
#define SMTPD_LINGER_SECONDS	2

/*
 * Daemon mode (-D): the master's listeners, its caps and its file
 * descriptors. A held connection is one the master keeps through the
 * banner delay, before any child exists for it; it costs the master a
 * socket, about 100 bytes of its own and libowfat's io entry.
 */
#define SMTPD_PORT_DEFAULT	25
#define SMTPD_LISTEN_MAX	16	/* -b addresses */
#define SMTPD_KEEP_FDS_MAX	64	/* the rules' shared tables' files
					   (RULE_SHARE_FDS_MAX) in a child */
#define SMTPD_BACKLOG		1024	/* listen(2) queue of each listener */
#define SMTPD_CHILDREN_DEFAULT	300	/* max_children: sessions at once */
#define SMTPD_CHILDREN_LIMIT	20000
#define SMTPD_PER_IP_DEFAULT	10	/* max_per_ip: held + in session */
#define SMTPD_PER_IP_LIMIT	100000
#define SMTPD_PER_IP_V6_PREFIX	64	/* IPv6 clients count by their /64 */
#define SMTPD_HELD_DEFAULT	10000	/* max_held: in the banner delay */
#define SMTPD_HELD_LIMIT	1000000
#define SMTPD_FILES_DEFAULT	16384	/* max_files: RLIMIT_NOFILE, master */
#define SMTPD_FILES_MIN		256
#define SMTPD_FILES_LIMIT	1048576	/* Linux's default fs.nr_open */
#define SMTPD_FILES_RESERVE	64	/* master fds that are not held */
#define SMTPD_DRAIN_DEFAULT	60	/* drain_timeout: SIGTERM to children */
#define SMTPD_TERM_AGAIN_MS	1000	/* and again while any is left */
#define SMTPD_ACCEPT_BATCH	64	/* accept()s per wake-up and listener */
#define SMTPD_ACCEPT_PAUSE_MS	100	/* no accept() after EMFILE/ENFILE */
#define SMTPD_EARLY_READ	512	/* early talker bytes read and logged */

/* Bytes of client text in one log field, and of the banner text. */
#define SMTPD_LOG_FIELD		200
#define SMTPD_TEXT_MAX		200

#endif
