/* lines.h - read a file descriptor line by line, with a hard cap */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef GK_LINES_H
#define GK_LINES_H

#include <stddef.h>

/*
 * Called once per line, without its newline. too_long is 1 for a line
 * longer than the reader's buffer (line then holds its first part).
 * Returns 0 to go on, -1 to stop.
 */
typedef int lines_fn(void *arg, const char *line, size_t len, int too_long);

/*
 * lines_read - call fn for every line of fd; a last line without a
 * newline counts. Returns 0 at the end of the file, -1 if fn stopped
 * (errno 0) or on a read error (errno set).
 */
int lines_read(int fd, lines_fn *fn, void *arg);

#endif
