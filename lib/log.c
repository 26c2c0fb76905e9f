/* log.c - logging to syslog, stderr or memory, and printable() scrubbing */
/*
 * One process-wide sink chosen at start-up. Lines never contain a
 * newline: callers pass client text through printable() first, and the
 * sink replaces, as printable() does, any byte outside 0x20..0x7e that
 * still slips through (C1 controls such as 0x9b included).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX	2048
#define LOG_WRITE_TRIES	3	/* interruptions of one line's write */
#define LOG_MEMORY_MAX	(1024 * 1024)

static const char *log_ident = "smtpd";
static enum log_sink log_sink = LOG_SINK_STDERR;
static int log_debug_on;
static char *memory_buf;
static size_t memory_len;

/* log_open - choose the sink and ident */
void
log_open(const char *ident, enum log_sink sink, int facility)
{
	log_ident = ident;
	log_sink = sink;
	if (sink == LOG_SINK_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, facility);
}

/* log_is_debug - LOG_DEBUG lines are written */
int
log_is_debug(void)
{
	return log_debug_on;
}

/* log_set_debug - enable or disable LOG_DEBUG lines */
void
log_set_debug(int on)
{
	log_debug_on = on;
}

/* memory_append - keep one line in the memory sink, bounded */
static void
memory_append(const char *line, size_t len)
{
	char *n;

	if (memory_len + len + 2 > LOG_MEMORY_MAX)
		return;
	n = realloc(memory_buf, memory_len + len + 2);
	if (n == NULL)
		return;
	memory_buf = n;
	memcpy(memory_buf + memory_len, line, len);
	memory_len += len;
	memory_buf[memory_len++] = '\n';
	memory_buf[memory_len] = '\0';
}

/* write_line - all of a line to stderr; a few interruptions are
   retried, not more: a stopping smtpd is woken every second, and must
   not wait on a stalled reader for ever. Nowhere left to report a
   failure. */
static void
write_line(const char *p, size_t len)
{
	unsigned int interrupted = 0;
	ssize_t n;

	while (len > 0) {
		n = write(2, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n != -1 || errno != EINTR ||
		    ++interrupted >= LOG_WRITE_TRIES)
			return;
	}
}

/* log_vemit - format one line and hand it to the sink */
void
log_vemit(int priority, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	char out[LOG_LINE_MAX + 64];
	int n;
	size_t i, len;

	if (priority == LOG_DEBUG && !log_debug_on)
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	len = strlen(line);
	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 ||
		    (unsigned char)line[i] > 0x7e)
			line[i] = '?';
	switch (log_sink) {
	case LOG_SINK_SYSLOG:
		syslog(priority, "%s", line);
		break;
	case LOG_SINK_MEMORY:
		memory_append(line, len);
		break;
	case LOG_SINK_STDERR:
		n = snprintf(out, sizeof(out), "%s[%ld]: %s\n", log_ident,
		    (long)getpid(), line);
		if (n > 0) {
			len = (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1;
			write_line(out, len);
		}
		break;
	}
}

/* log_emit - write one line at a syslog priority */
void
log_emit(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(priority, fmt, ap);
	va_end(ap);
}

/* log_info - one line at LOG_INFO */
void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_INFO, fmt, ap);
	va_end(ap);
}

/* log_debug - one line at LOG_DEBUG */
void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

/* log_warn - LOG_ERR line with the errno text appended */
void
log_warn(const char *fmt, ...)
{
	char msg[LOG_LINE_MAX];
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_emit(LOG_ERR, "%s: %s", msg, strerror(saved));
	errno = saved;
}

/* log_warnx - LOG_ERR line without errno */
void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_ERR, fmt, ap);
	va_end(ap);
}

/* log_memory - the memory sink's lines */
const char *
log_memory(void)
{
	return memory_buf != NULL ? memory_buf : "";
}

/* log_memory_clear - forget the memory sink's contents */
void
log_memory_clear(void)
{
	free(memory_buf);
	memory_buf = NULL;
	memory_len = 0;
}

/* printable - scrub client text for logs and replies */
char *
printable(char *dst, size_t dstsize, const char *src, size_t len)
{
	size_t i;

	if (dstsize == 0)
		return dst;
	if (len > dstsize - 1)
		len = dstsize - 1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[len] = '\0';
	return dst;
}
