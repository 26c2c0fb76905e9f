/* outfile.c - build a file under a temporary name, then rename it in */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "outfile.h"

/* outfile_tmpname - the temporary name beside path */
int
outfile_tmpname(const char *path, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s.tmp.%ld", path, (long)getpid());

	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* outfile_create - create the temporary file */
int
outfile_create(const char *tmp)
{
	int fd;

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd == -1 && errno == EEXIST) {
		/* Our pid's leftover from an earlier crash. */
		if (unlink(tmp) == -1)
			return -1;
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	}
	return fd;
}

/* write_all - write all of buf */
int
write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* dir_of - the directory part of path into buf ("." if none) */
static int
dir_of(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t len;

	if (slash == NULL) {
		snprintf(buf, size, ".");
		return 0;
	}
	len = slash == path ? 1 : (size_t)(slash - path);
	if (len >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len);
	buf[len] = '\0';
	return 0;
}

/* outfile_commit - fsync, rename, fsync the directory */
int
outfile_commit(const char *tmp, const char *path)
{
	char dir[OUTFILE_PATH_MAX];
	int fd, e;

	if ((fd = open(tmp, O_RDONLY | O_CLOEXEC)) == -1)
		goto fail;
	if (fsync(fd) == -1) {
		e = errno;
		close(fd);
		errno = e;
		goto fail;
	}
	if (close(fd) == -1)
		goto fail;
	if (dir_of(path, dir, sizeof(dir)) == -1 || rename(tmp, path) == -1)
		goto fail;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if (fsync(fd) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
fail:
	e = errno;
	unlink(tmp);
	errno = e;
	return -1;
}
