/* spool.c - write and read spool files (format and protocol: docs/spool.5) */
/*
 * The writer is smtpd's: tmp/ID with O_EXCL, buffered writes, SIZE
 * filled in at commit, fsync, rename into new/ without replacing, fsync
 * of new/. The reader is smtpfwdd's and treats the file as hostile:
 * bounded pread()s, every line and value checked, size cross-checked.
 * No exit, no logging: errors are returned with errno.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net_addr.h"
#include "outfile.h"
#include "spool.h"

/* How many fresh ids spool_open() tries when a name is taken. */
#define SPOOL_OPEN_TRIES	16

static unsigned int spool_counter;

/* set_why - copy a reason for the caller, always NUL-terminated */
static void
set_why(char *why, size_t whysize, const char *a, const char *b)
{
	if (why == NULL || whysize == 0)
		return;
	(void)snprintf(why, whysize, "%s%s", a, b != NULL ? b : "");
}

/* spool_id_valid - 1 if s[0..len) is a valid id */
int
spool_id_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > SPOOL_ID_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '-' || c == '_'))
			continue;
		return 0;
	}
	return 1;
}

/* spool_value_valid - 1 if s[0..len) may be an envelope value */
int
spool_value_valid(const char *s, size_t len)
{
	size_t i;

	if (len > SPOOL_VALUE_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* spool_addr_valid - 1 if s[0..len) is "<>" or a bracketed path */
int
spool_addr_valid(const char *s, size_t len)
{
	size_t i;
	int quoted = 0;

	if (len < 2 || len > SPOOL_ADDR_MAX || s[0] != '<' ||
	    s[len - 1] != '>')
		return 0;
	for (i = 1; i < len - 1; i++) {
		unsigned char c = (unsigned char)s[i];

		if (quoted && c == '\\' && i + 1 < len - 1) {
			/* a quoted-pair: the next byte is literal, as
			   smtpd's RCPT and MAIL parser reads it */
			c = (unsigned char)s[++i];
			if (c < 0x20 || c > 0x7e || c == '<' || c == '>')
				return 0;
			continue;
		}
		if (c == '"')
			quoted = !quoted;
		if (c == ' ' && quoted)
			continue;
		if (c < 0x21 || c > 0x7e || c == '<' || c == '>')
			return 0;
	}
	return !quoted;
}

/* pwrite_all - pwrite len bytes at off, looping over short writes */
static int
pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	const unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = pwrite(fd, p, len, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* fsync_retry - fsync, retrying on EINTR */
static int
fsync_retry(int fd)
{
	while (fsync(fd) == -1) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

/* check_dir - one directory: a directory, owner root or euid, not o+w */
static int
check_dir(int dirfd, const char *name, const char *shown, char *why,
    size_t whysize)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, 0) == -1) {
		set_why(why, whysize, shown, "");
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		set_why(why, whysize, shown, ": not a directory");
		errno = ENOTDIR;
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		set_why(why, whysize, shown, ": owned by another user");
		errno = EPERM;
		return -1;
	}
	if (st.st_mode & S_IWOTH) {
		set_why(why, whysize, shown, ": writable by others");
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* spool_dir_check - the spool directory, tmp/ and new/ are safe */
int
spool_dir_check(const char *path, char *why, size_t whysize)
{
	char shown[PATH_MAX];
	int n;

	if (check_dir(AT_FDCWD, path, path, why, whysize) == -1)
		return -1;
	n = snprintf(shown, sizeof(shown), "%s/tmp", path);
	if (n < 0 || (size_t)n >= sizeof(shown)) {
		set_why(why, whysize, path, ": name too long");
		errno = ENAMETOOLONG;
		return -1;
	}
	if (check_dir(AT_FDCWD, shown, shown, why, whysize) == -1)
		return -1;
	n = snprintf(shown, sizeof(shown), "%s/new", path);
	if (n < 0 || (size_t)n >= sizeof(shown)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return check_dir(AT_FDCWD, shown, shown, why, whysize);
}

/* writer_close_dirs - close the writer's directory descriptors */
static void
writer_close_dirs(struct spool_writer *w)
{
	if (w->tmp_dirfd >= 0)
		(void)close(w->tmp_dirfd);
	if (w->new_dirfd >= 0)
		(void)close(w->new_dirfd);
	if (w->spool_dirfd >= 0)
		(void)close(w->spool_dirfd);
	w->tmp_dirfd = w->new_dirfd = w->spool_dirfd = -1;
}

/* add_line - append "KEY value\n" to the writer's buffer, checked */
static int
add_line(struct spool_writer *w, const char *key, const char *value)
{
	size_t klen = strlen(key), vlen = value != NULL ? strlen(value) : 0;

	if (value != NULL && !spool_value_valid(value, vlen)) {
		errno = EINVAL;
		return -1;
	}
	if (klen + 1 + vlen + 1 > SPOOL_LINE_MAX ||
	    w->buf_len + klen + vlen + 2 > sizeof(w->buf)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(w->buf + w->buf_len, key, klen);
	w->buf_len += klen;
	if (value != NULL) {
		w->buf[w->buf_len++] = ' ';
		memcpy(w->buf + w->buf_len, value, vlen);
		w->buf_len += vlen;
	}
	w->buf[w->buf_len++] = '\n';
	return 0;
}

/* word_ok - 1 if value is one of the allowed words */
static int
word_ok(const char *value, const char *a, const char *b)
{
	return value != NULL &&
	    (strcmp(value, a) == 0 || strcmp(value, b) == 0);
}

/* spool_meta_valid - see spool.h */
int
spool_meta_valid(const struct spool_meta *m)
{
	struct net_addr a;
	size_t i;

	if (m->client_ip == NULL ||
	    net_addr_parse(m->client_ip, strlen(m->client_ip), &a) == -1)
		return 0;
	if (m->time < 0 || m->usec < 0 || m->usec > 999999)
		return 0;
	if (m->client_name == NULL || m->client_name[0] == '\0' ||
	    m->helo == NULL)
		return 0;
	if (!word_ok(m->proto, "SMTP", "ESMTP") ||
	    !word_ok(m->body_type, "7BIT", "8BITMIME"))
		return 0;
	if (m->from == NULL || !spool_addr_valid(m->from, strlen(m->from)))
		return 0;
	if (m->nrcpt == 0 || m->nrcpt > SPOOL_RCPT_MAX || m->rcpt == NULL)
		return 0;
	for (i = 0; i < m->nrcpt; i++) {
		size_t len;

		if (m->rcpt[i] == NULL)
			return 0;
		len = strlen(m->rcpt[i]);
		if (len == 2 || !spool_addr_valid(m->rcpt[i], len))
			return 0;
	}
	return 1;
}

/* writer_flush - write out the buffer */
static int
writer_flush(struct spool_writer *w)
{
	if (w->buf_len == 0)
		return 0;
	if (write_all(w->fd, w->buf, w->buf_len) == -1) {
		w->failed = 1;
		w->saved_errno = errno;
		return -1;
	}
	w->buf_len = 0;
	return 0;
}

/* open_dirs - open spool/, tmp/ and new/ for the writer */
static int
open_dirs(struct spool_writer *w, const char *spooldir)
{
	w->spool_dirfd = open(spooldir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->spool_dirfd == -1)
		return -1;
	w->tmp_dirfd = openat(w->spool_dirfd, "tmp",
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->tmp_dirfd == -1)
		return -1;
	w->new_dirfd = openat(w->spool_dirfd, "new",
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->new_dirfd == -1)
		return -1;
	return 0;
}

/* create_tmp - make a fresh id and create tmp/ID exclusively */
static int
create_tmp(struct spool_writer *w, const struct spool_meta *m)
{
	int i, n;

	for (i = 0; i < SPOOL_OPEN_TRIES; i++) {
		n = snprintf(w->id, sizeof(w->id), "%lld-%06ld-%ld-%u",
		    m->time, m->usec, (long)getpid(), ++spool_counter);
		if (n < 0 || (size_t)n >= sizeof(w->id) ||
		    !spool_id_valid(w->id, (size_t)n)) {
			errno = EINVAL;
			return -1;
		}
		w->fd = openat(w->tmp_dirfd, w->id,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0660);
		if (w->fd >= 0) {
			/* The umask must not take the group bits away. */
			if (fchmod(w->fd, 0660) == -1)
				return -1;
			return 0;
		}
		if (errno != EEXIST)
			return -1;
		/* A name from another entry (clock step, pid reuse) */
		if (faccessat(w->new_dirfd, w->id, F_OK, 0) == 0)
			continue;
	}
	errno = EEXIST;
	return -1;
}

/* spool_open - create tmp/ID and write the envelope */
int
spool_open(struct spool_writer *w, const char *spooldir,
    const struct spool_meta *m)
{
	char num[32], zeros[SPOOL_SIZE_DIGITS + 1];
	size_t i;
	int save;

	w->fd = w->tmp_dirfd = w->new_dirfd = w->spool_dirfd = -1;
	w->id[0] = '\0';
	w->buf_len = 0;
	w->body_bytes = 0;
	w->failed = 0;
	w->saved_errno = 0;
	if (!spool_meta_valid(m)) {
		errno = EINVAL;
		return -1;
	}
	if (open_dirs(w, spooldir) == -1 || create_tmp(w, m) == -1)
		goto fail;
	memset(zeros, '0', SPOOL_SIZE_DIGITS);
	zeros[SPOOL_SIZE_DIGITS] = '\0';
	(void)snprintf(num, sizeof(num), "%u", SPOOL_VERSION);
	if (add_line(w, "VERSION", num) == -1 ||
	    add_line(w, "ID", w->id) == -1)
		goto fail;
	(void)snprintf(num, sizeof(num), "%lld", m->time);
	if (add_line(w, "TIME", num) == -1 ||
	    add_line(w, "CLIENT-IP", m->client_ip) == -1 ||
	    add_line(w, "CLIENT-NAME", m->client_name) == -1 ||
	    add_line(w, "HELO", m->helo) == -1)
		goto fail;
	if (m->ident != NULL && add_line(w, "IDENT", m->ident) == -1)
		goto fail;
	if (add_line(w, "PROTO", m->proto) == -1 ||
	    add_line(w, "BODY-TYPE", m->body_type) == -1)
		goto fail;
	w->size_offset = (off_t)(w->buf_len + strlen("SIZE "));
	if (add_line(w, "SIZE", zeros) == -1 ||
	    add_line(w, "FROM", m->from) == -1)
		goto fail;
	for (i = 0; i < m->nrcpt; i++) {
		/* The envelope may be bigger than the buffer. */
		if (w->buf_len + SPOOL_LINE_MAX > sizeof(w->buf) &&
		    writer_flush(w) == -1)
			goto fail;
		if (add_line(w, "RCPT", m->rcpt[i]) == -1)
			goto fail;
	}
	if (add_line(w, "BODY", NULL) == -1)
		goto fail;
	w->body_offset = (off_t)w->buf_len;
	/* body_offset counts flushed bytes too */
	{
		off_t flushed = lseek(w->fd, 0, SEEK_CUR);

		if (flushed == (off_t)-1)
			goto fail;
		w->body_offset += flushed;
	}
	return 0;
fail:
	save = errno;
	spool_abort(w);
	errno = save;
	return -1;
}

/* spool_write - append message bytes */
int
spool_write(struct spool_writer *w, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t room;

	if (w->fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (w->failed) {
		errno = w->saved_errno;
		return -1;
	}
	w->body_bytes += len;
	while (len > 0) {
		if (w->buf_len == sizeof(w->buf) && writer_flush(w) == -1)
			return -1;
		if (w->buf_len == 0 && len >= sizeof(w->buf)) {
			/* Large pieces go straight out. */
			if (write_all(w->fd, p, len) == -1) {
				w->failed = 1;
				w->saved_errno = errno;
				return -1;
			}
			return 0;
		}
		room = sizeof(w->buf) - w->buf_len;
		if (room > len)
			room = len;
		memcpy(w->buf + w->buf_len, p, room);
		w->buf_len += room;
		p += room;
		len -= room;
	}
	return 0;
}

/* rename_noreplace - rename tmp/ID to new/ID, never replacing */
static int
rename_noreplace(struct spool_writer *w)
{
#ifdef RENAME_NOREPLACE
	if (renameat2(w->tmp_dirfd, w->id, w->new_dirfd, w->id,
	    RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
#endif
	/* File systems without RENAME_NOREPLACE: link fails on EEXIST. */
	if (linkat(w->tmp_dirfd, w->id, w->new_dirfd, w->id, 0) == -1)
		return -1;
	if (unlinkat(w->tmp_dirfd, w->id, 0) == -1) {
		/* The message is in new/; tmp/ debris is harmless. */
		return 0;
	}
	return 0;
}

/* poke_trigger - tell smtpfwdd, if it listens; every error ignored */
static void
poke_trigger(struct spool_writer *w)
{
	int fd;

	fd = openat(w->spool_dirfd, "trigger",
	    O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		return;
	if (write(fd, "", 1) == -1) {
		/* No reader or FIFO full: smtpfwdd's scan finds it. */
	}
	(void)close(fd);
}

/* spool_commit - make the message durable and visible in new/ */
int
spool_commit(struct spool_writer *w)
{
	char digits[SPOOL_SIZE_DIGITS + 1];
	unsigned long long total;
	int n, save;

	if (w->fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (w->failed) {
		errno = w->saved_errno;
		goto fail;
	}
	if (writer_flush(w) == -1)
		goto fail;
	total = w->body_bytes;
	n = snprintf(digits, sizeof(digits), "%0*llu", SPOOL_SIZE_DIGITS,
	    total);
	if (n != SPOOL_SIZE_DIGITS) {
		errno = EFBIG;
		goto fail;
	}
	if (pwrite_all(w->fd, digits, SPOOL_SIZE_DIGITS, w->size_offset) == -1)
		goto fail;
	if (fsync_retry(w->fd) == -1)
		goto fail;
	if (close(w->fd) == -1) {
		w->fd = -1;
		goto fail;
	}
	w->fd = -1;
	if (rename_noreplace(w) == -1)
		goto fail;
	if (fsync_retry(w->new_dirfd) == -1) {
		/*
		 * The file is in new/ but perhaps not durably: we must not
		 * say 250, and smtpfwdd may deliver it anyway. Duplicates
		 * are better than loss; leave it.
		 */
		save = errno;
		poke_trigger(w);
		writer_close_dirs(w);
		errno = save;
		return -1;
	}
	poke_trigger(w);
	writer_close_dirs(w);
	return 0;
fail:
	save = errno;
	spool_abort(w);
	errno = save;
	return -1;
}

/* spool_abort - remove the temporary file and close everything */
void
spool_abort(struct spool_writer *w)
{
	int save = errno;

	if (w->fd >= 0) {
		(void)close(w->fd);
		w->fd = -1;
	}
	if (w->tmp_dirfd >= 0 && w->id[0] != '\0')
		(void)unlinkat(w->tmp_dirfd, w->id, 0);
	w->id[0] = '\0';
	writer_close_dirs(w);
	errno = save;
}

/* --- reader --- */

/* bad - fail a read with EPROTO and a reason */
static int
bad(char *why, size_t whysize, const char *reason, const char *detail)
{
	set_why(why, whysize, reason, detail);
	errno = EPROTO;
	return -1;
}

/* parse_u64 - 1..20 decimal digits to a number; -1 on overflow/syntax */
static int
parse_u64(const char *s, size_t len, unsigned long long max,
    unsigned long long *out)
{
	unsigned long long v = 0;
	size_t i;

	if (len == 0 || len > 20)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned int d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned int)(s[i] - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Keywords that may occur at most once, and their bit in "seen". */
enum {
	K_VERSION = 1 << 0, K_ID = 1 << 1, K_TIME = 1 << 2, K_IP = 1 << 3,
	K_NAME = 1 << 4, K_HELO = 1 << 5, K_IDENT = 1 << 6, K_PROTO = 1 << 7,
	K_BTYPE = 1 << 8, K_SIZE = 1 << 9, K_FROM = 1 << 10
};

/* copy_value - copy a validated value into a fixed field */
static void
copy_value(char *dst, size_t dstsize, const char *v, size_t len)
{
	if (len >= dstsize)
		len = dstsize - 1;
	memcpy(dst, v, len);
	dst[len] = '\0';
}

/* add_rcpt - append a recipient to env, bounded */
static int
add_rcpt(struct spool_env *env, enum spool_rcpt_state st, off_t off,
    const char *v, size_t len, size_t *cap)
{
	struct spool_rcpt *n;

	if (env->nrcpt == *cap) {
		size_t ncap = *cap == 0 ? 8 : *cap * 2;

		if (ncap > SPOOL_RCPT_MAX)
			ncap = SPOOL_RCPT_MAX;
		n = reallocarray(env->rcpt, ncap, sizeof(*n));
		if (n == NULL)
			return -1;
		env->rcpt = n;
		*cap = ncap;
	}
	env->rcpt[env->nrcpt].state = st;
	env->rcpt[env->nrcpt].offset = off;
	copy_value(env->rcpt[env->nrcpt].addr,
	    sizeof(env->rcpt[env->nrcpt].addr), v, len);
	env->nrcpt++;
	return 0;
}

/* read_line - one envelope line at off, without its LF; bounded */
static ssize_t
read_line(int fd, off_t off, char *buf, size_t size, char *why,
    size_t whysize)
{
	ssize_t n;
	char *lf;

	for (;;) {
		n = pread(fd, buf, size, off);
		if (n >= 0)
			break;
		if (errno != EINTR)
			return -1;
	}
	if (n == 0)
		return bad(why, whysize, "truncated envelope (no BODY line)",
		    NULL);
	lf = memchr(buf, '\n', (size_t)n);
	if (lf == NULL)
		return bad(why, whysize, (size_t)n == size ?
		    "envelope line too long" :
		    "truncated envelope (no BODY line)", NULL);
	return lf - buf;
}

/* parse_line - one envelope line; 1 for BODY, 0 to go on, -1 error */
static int
parse_line(struct spool_env *env, const char *line, size_t len, off_t off,
    unsigned int *seen, size_t *cap, char *why, size_t whysize)
{
	static const struct {
		const char *key;
		unsigned int bit;
	} keys[] = {
		{ "VERSION", K_VERSION }, { "ID", K_ID }, { "TIME", K_TIME },
		{ "CLIENT-IP", K_IP }, { "CLIENT-NAME", K_NAME },
		{ "HELO", K_HELO }, { "IDENT", K_IDENT }, { "PROTO", K_PROTO },
		{ "BODY-TYPE", K_BTYPE }, { "SIZE", K_SIZE },
		{ "FROM", K_FROM },
	};
	const char *sp, *v;
	size_t klen, vlen, i;
	unsigned long long num;
	struct net_addr a;
	unsigned int bit = 0;

	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 ||
		    (unsigned char)line[i] > 0x7e)
			return bad(why, whysize,
			    "control or 8-bit byte in envelope", NULL);
	if (len == 4 && memcmp(line, "BODY", 4) == 0)
		return 1;
	sp = memchr(line, ' ', len);
	if (sp == NULL)
		return bad(why, whysize, "envelope line without a value", NULL);
	klen = (size_t)(sp - line);
	v = sp + 1;
	vlen = len - klen - 1;
	if (vlen > SPOOL_VALUE_MAX)
		return bad(why, whysize, "envelope value too long", NULL);
	if (!(*seen & K_VERSION) &&
	    (klen != 7 || memcmp(line, "VERSION", 7) != 0))
		return bad(why, whysize, "first line is not VERSION", NULL);
	if (klen == 4 && (memcmp(line, "RCPT", 4) == 0 ||
	    memcmp(line, "SENT", 4) == 0 || memcmp(line, "FAIL", 4) == 0)) {
		enum spool_rcpt_state st = line[0] == 'R' ? SPOOL_RCPT :
		    line[0] == 'S' ? SPOOL_SENT : SPOOL_FAIL;

		if (vlen == 2 || !spool_addr_valid(v, vlen))
			return bad(why, whysize, "bad recipient path", NULL);
		if (env->nrcpt >= SPOOL_RCPT_MAX)
			return bad(why, whysize, "too many recipients", NULL);
		if (add_rcpt(env, st, off, v, vlen, cap) == -1)
			return -1;
		return 0;
	}
	if (klen > 2 && line[0] == 'X' && line[1] == '-')
		return 0;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i].key) == klen &&
		    memcmp(keys[i].key, line, klen) == 0)
			bit = keys[i].bit;
	if (bit == 0)
		return bad(why, whysize, "unknown envelope keyword", NULL);
	if (*seen & bit)
		return bad(why, whysize, "repeated envelope keyword", NULL);
	*seen |= bit;
	switch (bit) {
	case K_VERSION:
		if (parse_u64(v, vlen, UINT_MAX, &num) == -1)
			return bad(why, whysize, "bad VERSION", NULL);
		env->version = (unsigned int)num;
		if (num != SPOOL_VERSION) {
			set_why(why, whysize, "unsupported spool version",
			    NULL);
			errno = ENOTSUP;
			return -1;
		}
		break;
	case K_ID:
		if (!spool_id_valid(v, vlen))
			return bad(why, whysize, "bad ID", NULL);
		copy_value(env->id, sizeof(env->id), v, vlen);
		break;
	case K_TIME:
		if (parse_u64(v, vlen, LLONG_MAX, &num) == -1)
			return bad(why, whysize, "bad TIME", NULL);
		env->time = (long long)num;
		break;
	case K_IP:
		if (vlen >= sizeof(env->client_ip) ||
		    net_addr_parse(v, vlen, &a) == -1)
			return bad(why, whysize, "bad CLIENT-IP", NULL);
		copy_value(env->client_ip, sizeof(env->client_ip), v, vlen);
		break;
	case K_NAME:
		if (vlen == 0)
			return bad(why, whysize, "empty CLIENT-NAME", NULL);
		copy_value(env->client_name, sizeof(env->client_name), v, vlen);
		break;
	case K_HELO:
		copy_value(env->helo, sizeof(env->helo), v, vlen);
		break;
	case K_IDENT:
		copy_value(env->ident, sizeof(env->ident), v, vlen);
		env->has_ident = 1;
		break;
	case K_PROTO:
		if (!((vlen == 4 && memcmp(v, "SMTP", 4) == 0) ||
		    (vlen == 5 && memcmp(v, "ESMTP", 5) == 0)))
			return bad(why, whysize, "bad PROTO", NULL);
		copy_value(env->proto, sizeof(env->proto), v, vlen);
		break;
	case K_BTYPE:
		if (!((vlen == 4 && memcmp(v, "7BIT", 4) == 0) ||
		    (vlen == 8 && memcmp(v, "8BITMIME", 8) == 0)))
			return bad(why, whysize, "bad BODY-TYPE", NULL);
		copy_value(env->body_type, sizeof(env->body_type), v, vlen);
		break;
	case K_SIZE:
		if (parse_u64(v, vlen, (unsigned long long)LLONG_MAX,
		    &num) == -1)
			return bad(why, whysize, "bad SIZE", NULL);
		env->size = num;
		break;
	case K_FROM:
		if (!spool_addr_valid(v, vlen))
			return bad(why, whysize, "bad FROM path", NULL);
		copy_value(env->from, sizeof(env->from), v, vlen);
		break;
	}
	return 0;
}

/* spool_read - read and validate an envelope */
int
spool_read(int fd, const char *name, struct spool_env *env, char *why,
    size_t whysize)
{
	char line[SPOOL_LINE_MAX];
	struct stat st;
	unsigned int seen = 0;
	size_t cap = 0, nlen;
	off_t off = 0;
	ssize_t len;
	int r, save;
	const unsigned int need = K_VERSION | K_ID | K_TIME | K_IP | K_SIZE |
	    K_FROM;

	memset(env, 0, sizeof(*env));
	env->rcpt = NULL;
	set_why(why, whysize, "", NULL);
	if (fstat(fd, &st) == -1)
		return -1;
	if (!S_ISREG(st.st_mode))
		return bad(why, whysize, "not a regular file", NULL);
	nlen = name != NULL ? strlen(name) : 0;
	if (!spool_id_valid(name, nlen))
		return bad(why, whysize, "file name is not a valid id", NULL);
	for (;;) {
		if (off >= (off_t)SPOOL_ENVELOPE_MAX) {
			r = bad(why, whysize, "envelope too big", NULL);
			goto fail;
		}
		len = read_line(fd, off, line, sizeof(line), why, whysize);
		if (len < 0)
			goto fail;
		r = parse_line(env, line, (size_t)len, off, &seen, &cap, why,
		    whysize);
		off += len + 1;
		if (r == -1)
			goto fail;
		if (r == 1)
			break;
	}
	if ((seen & need) != need) {
		bad(why, whysize, "envelope lacks a required line", NULL);
		goto fail;
	}
	if (env->nrcpt == 0) {
		bad(why, whysize, "no recipient", NULL);
		goto fail;
	}
	if (strcmp(env->id, name) != 0) {
		bad(why, whysize, "ID line differs from the file name", NULL);
		goto fail;
	}
	if (!(seen & K_NAME))
		copy_value(env->client_name, sizeof(env->client_name),
		    "UNKNOWN", 7);
	if (!(seen & K_PROTO))
		copy_value(env->proto, sizeof(env->proto), "SMTP", 4);
	if (!(seen & K_BTYPE))
		copy_value(env->body_type, sizeof(env->body_type), "7BIT", 4);
	env->body_offset = off;
	if ((unsigned long long)st.st_size < (unsigned long long)off ||
	    (unsigned long long)(st.st_size - off) != env->size) {
		bad(why, whysize, (unsigned long long)st.st_size <
		    (unsigned long long)off + env->size ?
		    "file shorter than SIZE (truncated)" :
		    "file longer than SIZE", NULL);
		goto fail;
	}
	return 0;
fail:
	save = errno;
	spool_env_free(env);
	errno = save;
	return -1;
}

/* spool_env_free - release the recipient array */
void
spool_env_free(struct spool_env *env)
{
	free(env->rcpt);
	env->rcpt = NULL;
	env->nrcpt = 0;
}

/* spool_mark - rewrite recipients' keywords in place, then fsync */
int
spool_mark(int fd, struct spool_env *env, const size_t *idx, size_t n,
    enum spool_rcpt_state state)
{
	const char *word;
	char check[4];
	size_t i;
	ssize_t r;

	if (state == SPOOL_SENT)
		word = "SENT";
	else if (state == SPOOL_FAIL)
		word = "FAIL";
	else {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < n; i++)
		if (idx[i] >= env->nrcpt) {
			errno = EINVAL;
			return -1;
		}
	for (i = 0; i < n; i++) {
		struct spool_rcpt *rc = &env->rcpt[idx[i]];

		/* The file must still say what we read there. */
		r = pread(fd, check, sizeof(check), rc->offset);
		if (r != (ssize_t)sizeof(check) ||
		    (memcmp(check, "RCPT", 4) != 0 &&
		    memcmp(check, "SENT", 4) != 0 &&
		    memcmp(check, "FAIL", 4) != 0)) {
			if (r >= 0)
				errno = EPROTO;
			return -1;
		}
		if (pwrite_all(fd, word, 4, rc->offset) == -1)
			return -1;
		rc->state = state;
	}
	return fsync_retry(fd);
}
