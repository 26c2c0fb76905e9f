/* fwd_limits.h - every limit and default of smtpfwdd, in one place */
/*
 * Each quantity a spool file, the next hop or an option can influence
 * is bounded by a constant here, and every option default is here too.
 * docs/smtpfwdd.8 (LIMITS) lists them for operators; change both
 * together. The spool format's own limits are in lib/spool.h.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef FWD_LIMITS_H
#define FWD_LIMITS_H

/* Paths. */
#define FWD_SPOOL_DEFAULT	"/var/spool/smtpd/spool"
#define FWD_SENDMAIL_DEFAULT	"/usr/sbin/sendmail"
#define FWD_USER_DEFAULT	"smtpfwd"
/* The whole environment sendmail gets, apart from -e settings. */
#define FWD_PATH_ENV		"PATH=/usr/sbin:/usr/bin:/sbin:/bin"

/* Concurrent deliveries (-M): default and highest value. */
#define FWD_CHILDREN_DEFAULT	10
#define FWD_CHILDREN_MAX	256

/* Recipients per sendmail run or Maildir batch (-b). */
#define FWD_BATCH_DEFAULT	100
#define FWD_BATCH_MAX		1000	/* = SPOOL_RCPT_MAX */

/* Extra sendmail arguments (-a) and environment settings (-e). */
#define FWD_EXTRA_ARGS_MAX	16
#define FWD_ENV_MAX		16
#define FWD_OPTARG_MAX		1024	/* bytes of one -a, -e, -s, -d, -m */

/*
 * Retry schedule, seconds: the first retry after -r, then doubling up
 * to -R; a message older than -L that fails again is held.
 */
#define FWD_RETRY_FIRST		30
#define FWD_RETRY_CAP		3600
#define FWD_LIFETIME		(5 * 86400)
#define FWD_RETRY_LIMIT		86400		/* highest -r and -R */
#define FWD_LIFETIME_LIMIT	(365 * 86400)	/* highest -L */

/* Time limit of one sendmail run (-t), seconds, and its highest value. */
#define FWD_TIMEOUT_DEFAULT	600
#define FWD_TIMEOUT_LIMIT	86400

/* Safety-net scan of new/ and work/ (-P), seconds. */
#define FWD_SCAN_DEFAULT	60
#define FWD_SCAN_LIMIT		3600

/*
 * SIGTERM: seconds in-flight deliveries get to finish before they are
 * cut short (their messages stay in work/ and are retried next start).
 */
#define FWD_STOP_GRACE		20

/* A message whose worker died this many times in a row is held. */
#define FWD_CRASH_MAX		5

/* A message found locked by another process is looked at again after. */
#define FWD_BUSY_RETRY		5

/* A failed fork() is retried after, seconds. */
#define FWD_FORK_RETRY		1

/* Messages known to the daemon at once; more wait in new/. */
#define FWD_QUEUE_MAX		100000

/* Bytes of sendmail's stderr kept for the log line. */
#define FWD_STDERR_MAX		400

/* Copy buffer for the body (Maildir target, body checks). */
#define FWD_IO_BUF		65536

/*
 * Message checks (sanitize.h). smtpd stores lines of any length; these
 * hold a message that is no sane mail rather than cut or fold it.
 * RFC 5322 allows 998 bytes a header line; eight times that covers
 * careless senders. The field limit is Postfix's header_size_limit,
 * beyond which Postfix would truncate. The hop limit is smtpd's
 * SMTPD_HOPS_MAX plus the Received header smtpd adds itself.
 */
#define FWD_HEADER_LINE_MAX	8192		/* one header line, no LF */
#define FWD_HEADER_FIELD_MAX	102400		/* a field with its folds */
#define FWD_HEADER_FIELDS_MAX	1000		/* fields in the header */
#define FWD_HEADER_SECTION_MAX	(1024 * 1024)	/* the whole header */
#define FWD_BODY_LINE_MAX	(1024 * 1024)	/* one body line, no LF */
#define FWD_HOPS_MAX		101		/* Received fields */

/* Address syntax, RFC 5321 4.5.3.1. */
#define FWD_LOCAL_MAX		64
#define FWD_DOMAIN_MAX		255
#define FWD_LABEL_MAX		63

/* State files in work/ (ID.defer) and hold/ (ID.why): bytes read. */
#define FWD_STATE_MAX		512

#endif
