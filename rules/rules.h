/* rules.h - the rules file: load once, decide per recipient */
/*
 * A rules file (docs/smtpd_check_rules.5) is compiled once by
 * ruleset_load(); decisions are then pure functions of the ruleset, the
 * client facts held in a struct rule_session, and the envelope, apart
 * from the DNS, ident and database lookups they make through the
 * session (which caches every answer for its life).
 *
 * No sockets of its own apart from the resolver's, no exit(), no
 * sleeping: the caller (smtpd, rulecheck) sends replies and sleeps for
 * the *_delay actions.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef GK_RULES_H
#define GK_RULES_H

#include <stddef.h>

#include "../lib/net_addr.h"
#include "../lib/resolv.h"

enum rule_action {
	RULE_ALLOW,
	RULE_DENY,		/* reply, then 421 and close the session */
	RULE_NOTO,		/* refuse this recipient only */
	RULE_NOTO_DELAY,	/* sleep, then as noto */
	RULE_DENY_DELAY,	/* sleep, then as deny */
	RULE_DEBUG		/* log and go on to the next line */
};

enum rule_verdict_kind {
	RULE_MATCHED,		/* a line with a final action matched */
	RULE_DEFAULT,		/* no line matched: the default action */
	RULE_TEMPFAIL		/* a lookup failed: refuse temporarily (4xx) */
};

/* Limits on what a rules file may hold (docs/smtpd_check_rules.5). */
#define RULE_MAX_LINE		8192	/* bytes in one line */
#define RULE_MAX_LINES		1000000	/* lines in one file */
#define RULE_MAX_TOKENS		4096	/* tokens in one field */
#define RULE_MAX_ERRORS		100	/* errors reported before giving up */
#define RULE_REPLY_MAX		512	/* reply line, without CRLF, with NUL */
#define RULE_VALUE_MAX		256	/* %V text, with NUL */
#define RULE_REASON_MAX		256	/* tempfail reason, with NUL */
#define RULE_ADDR_MAX		1024	/* envelope address used in a decision */
#define RULE_SHARE_FDS_MAX	64	/* shared tables that keep a descriptor
					   (Berkeley DB); more are per session */

/* Called once per error found while loading: "file:line: reason". */
typedef void rule_error_fn(void *arg, const char *file, unsigned int line,
    const char *reason);

struct rule_options {
	enum rule_action default_action;	/* at end of file; RULE_ALLOW */
	const char *default_reply;	/* NULL: the original default reply */
	unsigned long regex_match_limit;	/* 0: 100000 */
	int no_index;			/* 1: try every line (tests, bench) */
	const char *table_root;		/* open table paths under this
					   directory (a jail seen from outside) */
	rule_error_fn *error_fn;	/* NULL: log_warnx() */
	void *error_arg;
	int use_image;			/* 1: ruleset_load() maps PATH.image
					   when it is fresh and safe */
	int verify_image;		/* 1: an image's whole payload must
					   match its checksum too (rulecheck
					   -I; smtpd checks only the header
					   and the top-level bounds) */
};

struct ruleset;

/*
 * ruleset_load - read and compile a rules file. Returns NULL if the file
 * cannot be read (errno set, error_fn called with line 0) or if any line
 * has an error (every error is passed to error_fn, up to RULE_MAX_ERRORS;
 * errno is EINVAL). opts may be NULL for the defaults.
 */
struct ruleset *ruleset_load(const char *path, const struct rule_options *opts);

/*
 * With opts->use_image, ruleset_load() first tries the image that
 * ruleset_image_write() made of the file (PATH.image): it is used only
 * if it records the file's current identity (device, inode, size,
 * modification and change times), comes from this build, is owned by
 * root and not writable by group or others, and passes its checks.
 * Otherwise the file is compiled as without the option, after one
 * warning if an image was there. The decisions are the same either way.
 * An image is mapped at one fixed address, so a process holds at most
 * one mapped ruleset at a time; another load while it is in use
 * compiles the text (after the warning).
 */

/*
 * ruleset_image_write - compile the rules file at path (errors through
 * opts->error_fn, as ruleset_load) and install its image as path.image
 * atomically (temporary file, fsync, rename, fsync of the directory).
 * 0 with the number of rules in *nrules, or -1: with a message in err
 * if the image could not be made or written, with err "" if the file
 * could not be read or has errors (reported through error_fn).
 */
int ruleset_image_write(const char *path, const struct rule_options *opts,
    size_t *nrules, char *err, size_t errsize);

/*
 * ruleset_image_load - the ruleset of path's image (path.image) if the
 * image is fresh, safe (owned by trusted_uid, not writable by group or
 * others), from this build and intact; NULL otherwise, with why empty
 * if there is no image, else saying why it was not used. ruleset_load()
 * with use_image calls it with trusted_uid 0.
 */
struct ruleset *ruleset_image_load(const char *path,
    const struct rule_options *opts, unsigned int trusted_uid, char *why,
    size_t whysize);

/* ruleset_image_build - the build identity an image must carry */
const char *ruleset_image_build(void);

/* ruleset_load_buffer - the same from memory; name is used in messages */
struct ruleset *ruleset_load_buffer(const char *name, const char *buf,
    size_t len, const struct rule_options *opts);

/* ruleset_free - release a ruleset (NULL is allowed) */
void ruleset_free(struct ruleset *rs);

/* ruleset_path - the file name given to ruleset_load() */
const char *ruleset_path(const struct ruleset *rs);

/* ruleset_rule_count - number of rule lines (comments excluded) */
size_t ruleset_rule_count(const struct ruleset *rs);

/* ruleset_line_text - the text of line N as written, or NULL */
const char *ruleset_line_text(const struct ruleset *rs, unsigned int line);

/* ruleset_check_tables - open every database the rules name; report
   failures through error_fn; returns the number of failures (rulecheck -n) */
unsigned int ruleset_check_tables(const struct ruleset *rs);

/*
 * ruleset_share - for a process that forks a session per connection
 * (smtpd -D): open every table the rules name and JIT-compile every
 * regex now, in this process, so that forked sessions inherit them
 * instead of each opening and compiling its own. A session uses an
 * inherited handle only while the table's file is still the one it
 * was opened from (device, inode, size, mtime, ctime); otherwise it
 * opens its own. Calling it again reopens the tables whose files
 * changed. Returns the number of tables it could not open, each
 * reported through error_fn; sessions open those themselves, as they
 * would without sharing. At most RULE_SHARE_FDS_MAX of the shared
 * tables keep a descriptor open (Berkeley DB files); further ones are
 * opened per session.
 */
unsigned int ruleset_share(struct ruleset *rs);

/* ruleset_shared_fds - the descriptors the shared handles read from,
   which a forked child must keep open; how many, at most max */
size_t ruleset_shared_fds(const struct ruleset *rs, int *fds, size_t max);

/* rule_action_name - "allow", "deny", "noto", "noto_delay", ... */
const char *rule_action_name(enum rule_action action);

/* Client facts for a session. */
struct rule_client {
	struct net_addr addr;
	/* Forward-confirmed name, or NULL for UNKNOWN. Ignored when
	   resolve_name is set. */
	const char *name;
	/* 1: find the name with resolv_fcrdns() the first time a rule
	   needs it (a temporary failure then makes such rules fail
	   temporarily). */
	int resolve_name;
	/* Ident: if ident is non-NULL it is the answer (lower case); else,
	   if ident_fn is set it is asked once, when a rule first needs the
	   user; it returns 1 and fills buf, or 0 for no answer. */
	const char *ident;
	int (*ident_fn)(void *arg, char *buf, size_t size);
	void *ident_arg;
	const char *helo;	/* as given, or NULL */
};

/* One line of a verbose trace (rulecheck -v). */
typedef void rule_trace_fn(void *arg, unsigned int line, const char *text,
    const char *outcome);

struct rule_session;

/*
 * rule_session_new - per-connection state: client facts, open databases,
 * cached lookups. dns may be NULL, in which case every rule that needs
 * DNS fails temporarily. The resolver is borrowed, not freed.
 */
struct rule_session *rule_session_new(const struct ruleset *rs,
    const struct rule_client *client, struct resolv *dns);

/* rule_session_free - close the session's databases and caches */
void rule_session_free(struct rule_session *s);

/* rule_session_trace - send a line per rule considered to fn (NULL: off) */
void rule_session_trace(struct rule_session *s, rule_trace_fn *fn, void *arg);

/* rule_session_name - the client name as the rules see it ("UNKNOWN") */
const char *rule_session_name(struct rule_session *s);
/* rule_session_ident - the ident user as the rules see it ("UNKNOWN") */
const char *rule_session_ident(struct rule_session *s);

struct rule_verdict {
	enum rule_verdict_kind kind;
	enum rule_action action;	/* final action; RULE_TEMPFAIL: none */
	unsigned int line;		/* deciding line; 0 for the default */
	char reply[RULE_REPLY_MAX];	/* expanded reply, "" for allow */
	char value[RULE_VALUE_MAX];	/* %V of the deciding line, or "" */
	char reason[RULE_REASON_MAX];	/* RULE_TEMPFAIL: what failed */
};

/*
 * rule_decide - evaluate the rules for one recipient. from and to are
 * the envelope paths as the client typed them (with <>, "" or "<>" for
 * the null sender). Lines are tried in order; the first line with a
 * final action whose three fields match decides. Returns the verdict's
 * kind. A temporary lookup failure on a line that might have matched
 * ends the scan with RULE_TEMPFAIL and a 451 reply: never an accept,
 * never a 5xx.
 */
enum rule_verdict_kind rule_decide(const struct ruleset *rs,
    struct rule_session *s, const char *from, const char *to,
    struct rule_verdict *v);

/*
 * rule_log_line - the decision in the original log template:
 * "smtp connection from USER@HOST(IP) [attempted ]MAIL FROM: F RCPT TO: T,
 * denied by line N of FILE" (allowed / noto / ... / default / deferred).
 * Client text is made printable and capped. Returns buf.
 */
char *rule_log_line(const struct ruleset *rs, struct rule_session *s,
    const char *from, const char *to, const struct rule_verdict *v,
    char *buf, size_t size);

#endif
