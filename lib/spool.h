/* spool.h - the spool file format and directory protocol (docs/spool.5) */
/*
 * One spool file per accepted message: envelope lines ("KEY value\n"),
 * a line "BODY", then the message (Received header first, LF line ends,
 * dot-unstuffed). smtpd is the only writer (tmp/ -> new/); smtpfwdd is
 * the only reader and the only process that removes files, and treats
 * every file as hostile: spool_read() re-validates all of it.
 *
 * Directories, relative to the spool directory (default /spool inside
 * the jail):
 *   tmp/   files being written by smtpd (O_EXCL create; removed on abort)
 *   new/   complete messages: renamed here only after fsync of the file
 *   work/  messages claimed by smtpfwdd (rename new/ID -> work/ID)
 *   hold/  messages smtpfwdd gave up on (permanent failure, bad format)
 *   trigger  optional FIFO: smtpd writes one byte after each commit
 *
 * Nothing here exits or logs; every fallible call returns -1 with errno.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef GK_SPOOL_H
#define GK_SPOOL_H

#include <stddef.h>
#include <sys/types.h>

/* Format version written by spool_commit() and accepted by spool_read(). */
#define SPOOL_VERSION		1

/*
 * Limits of the format (docs/spool.5, LIMITS). A writer refuses, and a
 * reader rejects, anything larger.
 */
#define SPOOL_LINE_MAX		1024	/* envelope line, with LF */
#define SPOOL_VALUE_MAX		1000	/* envelope value */
#define SPOOL_ID_MAX		64	/* id = file name */
#define SPOOL_ADDR_MAX		256	/* path with <> (RFC 5321) */
#define SPOOL_RCPT_MAX		1000	/* RCPT/SENT/FAIL lines */
#define SPOOL_ENVELOPE_MAX	(SPOOL_LINE_MAX * (SPOOL_RCPT_MAX + 16))
#define SPOOL_SIZE_DIGITS	20	/* SIZE width as written */
#define SPOOL_WBUF		65536	/* writer's buffer */

/* State of one recipient: the 4-byte keyword of its line. */
enum spool_rcpt_state {
	SPOOL_RCPT,		/* "RCPT": not yet delivered */
	SPOOL_SENT,		/* "SENT": delivered (written by smtpfwdd) */
	SPOOL_FAIL		/* "FAIL": refused for good (by smtpfwdd) */
};

/* What smtpd knows about a message when it opens the spool file. */
struct spool_meta {
	long long time;		/* arrival, seconds since the epoch */
	long usec;		/* microseconds, for the id */
	const char *client_ip;	/* canonical text (net_addr_format) */
	const char *client_name; /* forward-confirmed name, or "UNKNOWN" */
	const char *helo;	/* as given (printable ASCII), "" if empty */
	const char *ident;	/* ident user, or NULL if none */
	const char *proto;	/* "SMTP" or "ESMTP" */
	const char *body_type;	/* "7BIT" or "8BITMIME" */
	const char *from;	/* "<>" or "<local@domain>" */
	const char *const *rcpt; /* "<local@domain>", nrcpt of them */
	size_t nrcpt;		/* 1..SPOOL_RCPT_MAX */
};

/* A message being written; caller-owned, filled by spool_open(). */
struct spool_writer {
	int fd;			/* -1 when closed */
	int tmp_dirfd;		/* spool tmp/ */
	int new_dirfd;		/* spool new/ */
	int spool_dirfd;	/* spool directory itself (trigger) */
	char id[SPOOL_ID_MAX + 1];
	off_t size_offset;	/* where the SIZE digits are */
	off_t body_offset;	/* first byte after "BODY\n" */
	unsigned long long body_bytes;
	size_t buf_len;
	int failed;		/* a write failed: commit will fail */
	int saved_errno;
	unsigned char buf[SPOOL_WBUF];
};

/*
 * spool_dir_check - verify that path (the spool directory) and its tmp/
 * and new/ are directories that only root or the current euid own and
 * that are not writable by others (mode & 002). On failure returns -1,
 * sets errno (ENOTDIR, EPERM for bad owner or mode) and writes the
 * offending path into why (whysize bytes, NUL-terminated).
 */
int spool_dir_check(const char *path, char *why, size_t whysize);

/*
 * spool_open - start a message in <spooldir>/tmp/<id>: make a fresh id
 * from m->time, m->usec, the pid and a counter, create the file with
 * O_EXCL and mode 0660, and write the envelope and the BODY line. Every
 * value of m is checked (spool_value_valid, spool_addr_valid, counts);
 * a bad one gives EINVAL and no file. The id is in w->id afterwards;
 * what follows BODY is written with spool_write(). Returns 0, or -1 with
 * errno set and w closed.
 */
int spool_open(struct spool_writer *w, const char *spooldir,
    const struct spool_meta *m);

/* spool_meta_valid - 1 if spool_open() would take every value of m, else
   0 (what a test double of the spool checks too) */
int spool_meta_valid(const struct spool_meta *m);

/*
 * spool_write - append len message bytes (buffered). Returns 0, or -1
 * with errno set; after a failure spool_commit() fails too, so a caller
 * that streams may check only the commit.
 */
int spool_write(struct spool_writer *w, const void *buf, size_t len);

/*
 * spool_commit - make the message durable: flush, fill in SIZE, fsync
 * the file, rename tmp/ID to new/ID (never replacing an existing file),
 * fsync new/, then poke the trigger FIFO if one exists (its failure is
 * ignored). Returns 0 only when file and directory entry are on stable
 * storage: only then may smtpd answer 250. On -1 (errno set) the
 * temporary file has been removed. w is closed either way.
 */
int spool_commit(struct spool_writer *w);

/* spool_abort - remove the temporary file and close w; safe to repeat */
void spool_abort(struct spool_writer *w);

/* One recipient as read back. */
struct spool_rcpt {
	enum spool_rcpt_state state;
	off_t offset;		/* file offset of its 4-byte keyword */
	char addr[SPOOL_ADDR_MAX + 1];	/* with the <> */
};

/* An envelope as read back and validated by spool_read(). */
struct spool_env {
	unsigned int version;
	char id[SPOOL_ID_MAX + 1];
	long long time;
	char client_ip[64];
	char client_name[SPOOL_VALUE_MAX + 1];	/* "UNKNOWN" if absent */
	char helo[SPOOL_VALUE_MAX + 1];		/* "" if absent */
	char ident[SPOOL_VALUE_MAX + 1];	/* "" if absent */
	int has_ident;
	char proto[16];				/* "SMTP" or "ESMTP" */
	char body_type[16];			/* "7BIT" or "8BITMIME" */
	char from[SPOOL_ADDR_MAX + 1];		/* "<>": null sender */
	struct spool_rcpt *rcpt;		/* nrcpt, in file order */
	size_t nrcpt;
	unsigned long long size;	/* bytes after "BODY\n" */
	off_t body_offset;		/* first byte after "BODY\n" */
};

/*
 * spool_read - read and validate the envelope of an open spool file.
 * name is the file's base name: it must be a valid id and equal the ID
 * line. The file must be a regular file whose size is exactly
 * body_offset + SIZE (a truncated or extended file is refused). Reads
 * with pread() only; the file offset is not used. On success fills env
 * (free it with spool_env_free) and returns 0. Returns -1 with errno
 * EPROTO for a malformed or hostile file (reason in why: move it to
 * hold/), ENOTSUP for an unknown VERSION, or another errno for an I/O
 * or memory error (temporary: retry later). env needs no freeing after
 * -1.
 */
int spool_read(int fd, const char *name, struct spool_env *env,
    char *why, size_t whysize);

/* spool_env_free - release what spool_read() allocated; safe to repeat */
void spool_env_free(struct spool_env *env);

/*
 * spool_mark - rewrite the keyword of recipients idx[0..n-1] to "SENT"
 * or "FAIL" in place (same length, pwrite at each rcpt offset), then
 * fsync the file once. Call it after a delivery batch has been accepted
 * and before acting on that fact; a crash before it returns means the
 * batch is delivered again (at least once, never lost). Returns 0, or -1
 * with errno (EINVAL for a bad index or state).
 */
int spool_mark(int fd, struct spool_env *env, const size_t *idx, size_t n,
    enum spool_rcpt_state state);

/* spool_id_valid - 1 if s[0..len) is a valid id: 1..SPOOL_ID_MAX bytes of
   [A-Za-z0-9_-], the first a letter or digit; else 0 */
int spool_id_valid(const char *s, size_t len);

/* spool_value_valid - 1 if s[0..len) may be an envelope value: at most
   SPOOL_VALUE_MAX bytes, each 0x20..0x7e; else 0 */
int spool_value_valid(const char *s, size_t len);

/* spool_addr_valid - 1 if s[0..len) is "<>" or "<x>" with x 1..254 bytes
   of 0x21..0x7e other than '<' and '>' (inside double quotes 0x20 is
   allowed too, and a backslash makes the next byte literal, '"' and
   0x20 included); else 0 */
int spool_addr_valid(const char *s, size_t len);

#endif
