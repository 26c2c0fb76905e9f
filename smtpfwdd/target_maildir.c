/* target_maildir.c - deliver a batch into a Maildir, without an MTA */
/*
 * The second target, so that a machine with no mail server can run the
 * whole product (make run): one file per recipient in the Maildir's
 * new/, named as the Maildir convention says (time.MusecPpidQn.host),
 * written in tmp/, fsynced and renamed, with Return-Path and
 * Delivered-To prepended as a local delivery agent would. The message
 * itself is copied byte for byte.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fwd_limits.h"
#include "target.h"
#include "../lib/outfile.h"

/* A Maildir file name: time, usec, pid, counter, host. */
#define NAME_SIZE	160
#define HOST_SIZE	64

static unsigned long maildir_counter;
static unsigned char copy_buf[FWD_IO_BUF];

/* host_part - this host's name, with '/' and ':' encoded as Maildir says */
static void
host_part(char *dst, size_t size)
{
	char host[HOST_SIZE];
	size_t i, k = 0;

	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	for (i = 0; host[i] != '\0' && k + 5 < size; i++) {
		unsigned char c = (unsigned char)host[i];

		if (c == '/' || c == ':') {
			(void)snprintf(dst + k, size - k, "\\%03o", c);
			k += 4;
		} else if (c > 0x20 && c < 0x7f)
			dst[k++] = (char)c;
	}
	if (k == 0)
		dst[k++] = 'x';
	dst[k] = '\0';
}

/* make_name - a fresh Maildir file name */
static int
make_name(char *name, size_t size)
{
	static char host[HOST_SIZE * 4 + 1];
	struct timeval tv;
	int n;

	if (host[0] == '\0')
		host_part(host, sizeof(host));
	if (gettimeofday(&tv, NULL) == -1)
		return -1;
	n = snprintf(name, size, "%lld.M%06ldP%ldQ%lu.%s", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (long)getpid(), ++maildir_counter, host);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* copy_body - the message bytes from m->fd into fd */
static int
copy_body(int fd, const struct target_msg *m)
{
	unsigned long long left = m->body_size;
	off_t off = m->body_offset;
	ssize_t r;

	while (left > 0) {
		size_t want = left < sizeof(copy_buf) ? (size_t)left :
		    sizeof(copy_buf);

		r = pread(m->fd, copy_buf, want, off);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EIO;	/* the file shrank under us */
			return -1;
		}
		if (write_all(fd, copy_buf, (size_t)r) == -1)
			return -1;
		off += r;
		left -= (unsigned long long)r;
	}
	return 0;
}

/* write_copy - one recipient's file in tmp/; 0 or -1 (file removed) */
static int
write_copy(int tmpfd, const char *name, const struct target_msg *m,
    const char *rcpt)
{
	char head[2 * SANITIZE_ADDR_SIZE + 64];
	int fd, n, save;
	const int is_null = strcmp(m->from, "<>") == 0;

	n = snprintf(head, sizeof(head),
	    "Return-Path: <%s>\nDelivered-To: %s\n", is_null ? "" : m->from,
	    rcpt);
	if (n < 0 || (size_t)n >= sizeof(head)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = openat(tmpfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd == -1)
		return -1;
	if (write_all(fd, head, (size_t)n) == -1 || copy_body(fd, m) == -1 ||
	    fsync(fd) == -1) {
		save = errno;
		(void)close(fd);
		(void)unlinkat(tmpfd, name, 0);
		errno = save;
		return -1;
	}
	if (close(fd) == -1) {
		save = errno;
		(void)unlinkat(tmpfd, name, 0);
		errno = save;
		return -1;
	}
	return 0;
}

/* target_maildir - one copy per recipient */
int
target_maildir(const struct fwd_conf *conf, const struct target_msg *m,
    const char *const *rcpt, size_t n, struct target_result *res)
{
	char (*placed)[NAME_SIZE] = NULL;
	char name[NAME_SIZE];
	const char *step = "open";
	int dirfd = -1, tmpfd = -1, newfd = -1, save;
	size_t i, nplaced = 0;

	memset(res, 0, sizeof(*res));
	res->exit_code = -1;
	res->status = TARGET_OK;
	placed = calloc(n > 0 ? n : 1, sizeof(*placed));
	if (placed == NULL)
		goto fail;
	dirfd = open(conf->maildir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd == -1)
		goto fail;
	tmpfd = openat(dirfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	newfd = openat(dirfd, "new", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tmpfd == -1 || newfd == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		step = "name";
		if (make_name(name, sizeof(name)) == -1)
			goto fail;
		step = "write tmp/";
		if (write_copy(tmpfd, name, m, rcpt[i]) == -1)
			goto fail;
		step = "rename into new/";
		if (renameat(tmpfd, name, newfd, name) == -1) {
			save = errno;
			(void)unlinkat(tmpfd, name, 0);
			errno = save;
			goto fail;
		}
		memcpy(placed[nplaced++], name, sizeof(name));
	}
	step = "fsync new/";
	if (fsync(newfd) == -1)
		goto fail;
	(void)close(tmpfd);
	(void)close(newfd);
	(void)close(dirfd);
	free(placed);
	return 0;
fail:
	save = errno;
	/* Take back this batch's copies: a retry delivers them again. */
	for (i = 0; i < nplaced && newfd >= 0; i++)
		(void)unlinkat(newfd, placed[i], 0);
	if (tmpfd >= 0)
		(void)close(tmpfd);
	if (newfd >= 0)
		(void)close(newfd);
	if (dirfd >= 0)
		(void)close(dirfd);
	free(placed);
	res->status = TARGET_TEMP;
	(void)snprintf(res->reason, sizeof(res->reason), "maildir %s: %s: %s",
	    conf->maildir, step, strerror(save));
	errno = save;
	return 0;
}

/* mkdir_at - mkdir that accepts an existing directory */
static int
mkdir_at(int dirfd, const char *name)
{
	struct stat st;

	if (mkdirat(dirfd, name, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/* target_maildir_setup - create the Maildir where missing */
int
target_maildir_setup(const char *path)
{
	int fd, save;

	if (mkdir_at(AT_FDCWD, path) == -1)
		return -1;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (mkdir_at(fd, "tmp") == -1 || mkdir_at(fd, "new") == -1 ||
	    mkdir_at(fd, "cur") == -1) {
		save = errno;
		(void)close(fd);
		errno = save;
		return -1;
	}
	(void)close(fd);
	return 0;
}
