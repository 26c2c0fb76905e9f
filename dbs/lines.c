/* lines.c - read a file descriptor line by line, with a hard cap */
/*
 * One buffer of LINES_BUF bytes, refilled with read(2); a line longer
 * than the buffer is passed once with too_long set, and the rest of it
 * is skipped. No stdio, so a NUL byte in a line is passed on, not lost.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lines.h"

#define LINES_BUF	(1024 * 1024)

/* lines_read - call fn for every line of fd */
int
lines_read(int fd, lines_fn *fn, void *arg)
{
	char *buf, *nl;
	size_t have = 0, start, len;
	ssize_t n;
	int r = -1, skipping = 0;

	if ((buf = malloc(LINES_BUF)) == NULL)
		return -1;
	for (;;) {
		n = read(fd, buf + have, LINES_BUF - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto out;
		have += (size_t)n;
		start = 0;
		while ((nl = memchr(buf + start, '\n', have - start)) != NULL) {
			len = (size_t)(nl - (buf + start));
			if (skipping)
				skipping = 0;
			else if (fn(arg, buf + start, len, 0) == -1)
				goto stopped;
			start += len + 1;
		}
		if (n == 0) {
			if (have > start && !skipping &&
			    fn(arg, buf + start, have - start, 0) == -1)
				goto stopped;
			break;
		}
		if (start == 0 && have == LINES_BUF) {
			if (!skipping && fn(arg, buf, have, 1) == -1)
				goto stopped;
			skipping = 1;
			have = 0;
			continue;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
	}
	r = 0;
	goto out;
stopped:
	errno = 0;
out:
	free(buf);
	return r;
}
