/* logparse.h - smtpd decision log lines: syslog prefix, outcome, fields */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef GK_LOGPARSE_H
#define GK_LOGPARSE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../lib/net_addr.h"

/*
 * The outcome at the end of a decision line (docs/logging.md). The
 * *_DELAY kinds are the noto_delay / deny_delay actions; DEFAULT is the
 * default action when it let the recipient through (no "attempted"),
 * DEFAULT_REFUSED when it did not.
 */
enum logkind {
	LOGKIND_ALLOWED,
	LOGKIND_NOTO,
	LOGKIND_NOTO_DELAY,
	LOGKIND_DENIED,
	LOGKIND_DENIED_DELAY,
	LOGKIND_DEFERRED,
	LOGKIND_DEFAULT,
	LOGKIND_DEFAULT_REFUSED,
	LOGKIND_COUNT
};

#define LOGPARSE_LINE_MAX	1000000000UL	/* largest rule line number */

/*
 * One decision line, as pointers into the caller's buffer; valid as
 * long as the line is. line is 0 for the default kinds.
 */
struct logdecision {
	enum logkind kind;
	unsigned long line;
	const char *file;	/* the rules file named by the line */
	size_t file_len;
	const char *stamp;	/* the time stamp text, or NULL */
	size_t stamp_len;
	const char *body;	/* after "smtp connection from " */
	size_t body_len;	/* up to the ", " before the outcome */
};

/*
 * logparse_decision - parse one log line (without its newline) of len
 * bytes. Returns 1 and fills d for a decision line, 0 for any other
 * line. The message must start right after the syslog header (time,
 * host, "tag:" and Solaris's "[ID n facility.level]") or the line must
 * start with it, so that client text quoted inside other event lines is
 * never read as a decision. The outcome is the last well-formed
 * ", OUTCOME by line N of FILE" (or "default action" form) of the line.
 */
int logparse_decision(const char *s, size_t len, struct logdecision *d);

/*
 * logparse_client - the client address of a decision: the first
 * "(...)" after the user@host part that holds an address and is followed
 * by " MAIL FROM: " or " attempted MAIL FROM: ". Returns 0 and fills
 * addr (IPv4-mapped IPv6 becomes IPv4), or -1.
 */
int logparse_client(const struct logdecision *d, struct net_addr *addr);

/*
 * logparse_sender - the MAIL FROM text of a decision as logged (with
 * its <>), up to the first " RCPT TO: ". Returns 0, or -1.
 */
int logparse_sender(const struct logdecision *d, const char **from,
    size_t *from_len);

/*
 * logparse_sender_domain - the sender's domain: the text after the last
 * '@' of the address without its <>, or the whole address when it has
 * no '@', or "<>" for the null sender. Not lower-cased. 0 or -1.
 */
int logparse_sender_domain(const struct logdecision *d, const char **dom,
    size_t *dom_len);

/* logkind_name - "allowed", "noto", "noto-delay", "denied", ... */
const char *logkind_name(enum logkind kind);

/* logkind_is_refusal - 1 for noto, denied, their delays, default-refused */
int logkind_is_refusal(enum logkind kind);

/*
 * Time stamps. Traditional syslog stamps ("Nov 12 06:11:56") have no
 * year and are local time: each is put in the latest year that does not
 * place it more than LOGCLOCK_AHEAD seconds after the reference time.
 * RFC 3339 stamps carry their year and offset. struct logclock caches
 * the last conversion (log lines come in order).
 */
#define LOGCLOCK_AHEAD	86400

struct logclock {
	time_t now;		/* the reference time */
	char key[12];		/* "Mmm dd hh:mm" of the cached minute */
	int64_t key_time;	/* its start, seconds since the epoch */
	int has_key;
};

/* logclock_init - a clock with reference time now */
void logclock_init(struct logclock *c, time_t now);

/*
 * logclock_stamp - the time of a stamp found by logparse_decision().
 * Returns 0 and sets *t, or -1 if the stamp cannot be read.
 */
int logclock_stamp(struct logclock *c, const char *stamp, size_t len,
    int64_t *t);

/*
 * logclock_parse_spec - a time given by a person: "YYYY-MM-DD",
 * "YYYY-MM-DD HH:MM[:SS]", "YYYY-MM-DDTHH:MM[:SS]" (local time),
 * "HH:MM[:SS]" (today), "Mmm dd HH:MM[:SS]" (the year rule above),
 * "-N[smhd]" (before the reference time), "@EPOCH". 0 or -1.
 */
int logclock_parse_spec(struct logclock *c, const char *spec, int64_t *t);

/*
 * A filter on kind and line: a list of terms CLASS[:LINE], separated
 * by commas or blanks, any of which may match. CLASS is any, allowed,
 * noto, denied, refused, deferred, default, noto-delay or denied-delay
 * (allow, deny, defer, deny-delay also); noto and denied include their
 * delayed forms, refused is noto, denied and default-refused. LINE is a
 * rule line number; without it, any line.
 */
#define LOGFILTER_TERMS	32

struct logfilter {
	unsigned int nterms;
	struct {
		unsigned int kinds;	/* bit (1 << enum logkind) */
		unsigned long line;	/* 0: any line */
	} term[LOGFILTER_TERMS];
};

/* logfilter_parse - parse spec into f; 0, or -1 with a reason in err */
int logfilter_parse(const char *spec, struct logfilter *f, char *err,
    size_t errsize);

/* logfilter_match - 1 if a decision of kind on line passes; an empty
   filter passes everything */
int logfilter_match(const struct logfilter *f, enum logkind kind,
    unsigned long line);

#endif
