/* log.h - logging to syslog, stderr or memory, and printable() scrubbing */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef GK_LOG_H
#define GK_LOG_H

#include <stddef.h>
#include <stdarg.h>

enum log_sink {
	LOG_SINK_SYSLOG,	/* openlog(ident, LOG_PID|LOG_NDELAY, facility) */
	LOG_SINK_STDERR,	/* "ident[pid]: message" on fd 2 */
	LOG_SINK_MEMORY		/* appended to an internal buffer (tests) */
};

/* log_open - choose the sink and ident; facility is a LOG_* facility */
void log_open(const char *ident, enum log_sink sink, int facility);

/* log_set_debug - enable or disable LOG_DEBUG lines */
void log_set_debug(int on);
/* log_is_debug - LOG_DEBUG lines are written */
int log_is_debug(void);

/* log_emit - write one line at a syslog priority (LOG_INFO etc.) */
void log_emit(int priority, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_vemit(int priority, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* log_info, log_debug - one line at LOG_INFO / LOG_DEBUG */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn - LOG_ERR line with ": strerror(errno)" appended */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warnx - LOG_ERR line without errno */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* log_memory - the lines logged to LOG_SINK_MEMORY so far (NUL-terminated) */
const char *log_memory(void);
/* log_memory_clear - forget the memory sink's contents */
void log_memory_clear(void);

/*
 * printable - copy at most len bytes of src into dst (dstsize bytes,
 * always NUL-terminated), replacing every byte that is not printable
 * ASCII with '?'. Returns dst. Used on every client-supplied string
 * before it is logged or echoed in a reply.
 */
char *printable(char *dst, size_t dstsize, const char *src, size_t len);

#endif
