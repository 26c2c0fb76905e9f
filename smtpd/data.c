/* data.c - the DATA phase: end detection, dot-unstuffing, size, Received */
/*
 * See data.h. The lexer never looks back more than one state, so a
 * message can arrive split at any byte. Bytes are stored unchanged
 * (NUL and 8-bit included, headers untouched) apart from line ends and
 * stuffed dots; once the size limit is passed nothing more is stored,
 * but the input is still read to its final dot.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "data.h"

/* data_start - reset for a new message */
void
data_start(struct data_state *d, const struct spool_sink *sink,
    unsigned long long max_size)
{
	/* Not the buffer: out_len says what is in it, and clearing it
	   would touch 16 KB that a short message never reaches. */
	memset(d, 0, offsetof(struct data_state, out));
	d->lex = DATA_BOL;
	d->sink = sink;
	d->max_size = max_size;
	d->is_header = 1;
}

/* data_flush - hand the buffer to the sink */
int
data_flush(struct data_state *d)
{
	if (d->out_len == 0)
		return d->has_write_error ? -1 : 0;
	if (d->sink != NULL && !d->has_write_error && !d->is_over &&
	    d->sink->write(d->sink->arg, d->out, d->out_len) == -1) {
		d->has_write_error = 1;
		d->write_errno = errno;
	}
	d->out_len = 0;
	return d->has_write_error ? -1 : 0;
}

/* store - buffer bytes for the sink, unless over the limit */
static void
store(struct data_state *d, const char *p, size_t n)
{
	size_t room;

	while (n > 0 && !d->is_over && !d->has_write_error) {
		if (d->out_len == sizeof(d->out))
			(void)data_flush(d);
		room = sizeof(d->out) - d->out_len;
		if (room > n)
			room = n;
		memcpy(d->out + d->out_len, p, room);
		d->out_len += room;
		p += room;
		n -= room;
	}
}

/* count - add wire bytes to the size; note when it passes the limit */
static void
count(struct data_state *d, size_t n)
{
	d->size += n;
	if (d->size > d->max_size && !d->is_over) {
		d->is_over = 1;
		d->out_len = 0;
	}
}

/* content - bytes inside a line */
static void
content(struct data_state *d, const char *p, size_t n)
{
	if (d->line_pos < DATA_PREFIX) {
		size_t k = DATA_PREFIX - d->line_pos;

		if (k > n)
			k = n;
		memcpy(d->prefix + d->line_pos, p, k);
	}
	d->line_pos += n;
	count(d, n);
	store(d, p, n);
}

/* line_end - a line ended with wire bytes of terminator (1 or 2) */
static void
line_end(struct data_state *d, size_t wire)
{
	if (d->is_header) {
		if (d->line_pos == 0)
			d->is_header = 0;
		else if (d->line_pos >= DATA_PREFIX &&
		    strncasecmp(d->prefix, "Received:", DATA_PREFIX) == 0)
			d->hops++;
	}
	if (wire == 1)
		d->has_bare_lf = 1;
	d->line_pos = 0;
	d->lines++;
	count(d, wire);
	store(d, "\n", 1);
}

/* data_input - consume message bytes up to the final dot */
size_t
data_input(struct data_state *d, const char *buf, size_t len, int *is_done)
{
	size_t i = 0, j;

	*is_done = 0;
	while (i < len) {
		unsigned char c = (unsigned char)buf[i];

		switch (d->lex) {
		case DATA_BOL:
			if (c == '.') {
				d->lex = DATA_DOT;
				i++;
			} else
				d->lex = DATA_MID;
			break;
		case DATA_DOT:
			if (c == '\r') {
				d->lex = DATA_DOT_CR;
				i++;
			} else if (c == '\n') {
				/* "." ended by a bare LF */
				d->has_bare_lf = 1;
				*is_done = 1;
				return i + 1;
			} else
				d->lex = DATA_MID;	/* dot was stuffing */
			break;
		case DATA_DOT_CR:
			if (c == '\n') {
				*is_done = 1;
				return i + 1;
			}
			/* ".\r" then more: the CR is content */
			d->lex = DATA_CR;
			break;
		case DATA_MID:
			for (j = i; j < len && buf[j] != '\r' && buf[j] != '\n';
			    j++)
				;
			if (j > i)
				content(d, buf + i, j - i);
			i = j;
			if (i == len)
				break;
			if (buf[i] == '\r')
				d->lex = DATA_CR;
			else {
				line_end(d, 1);
				d->lex = DATA_BOL;
			}
			i++;
			break;
		case DATA_CR:
			if (c == '\n') {
				line_end(d, 2);
				d->lex = DATA_BOL;
				i++;
			} else if (c == '\r') {
				/* the earlier CR was content */
				content(d, "\r", 1);
				i++;
			} else {
				content(d, "\r", 1);
				d->lex = DATA_MID;
			}
			break;
		}
	}
	return i;
}

/* header_clean - client text for a header comment */
static void
header_clean(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i + 1 < size; i++) {
		unsigned char c = (unsigned char)src[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._:[]@", c) != NULL)
			dst[i] = (char)c;
		else
			dst[i] = '?';
	}
	dst[i] = '\0';
}

/* data_received - the Received header */
int
data_received(char *buf, size_t size, const char *helo, const char *name,
    const char *ip, const char *ident, const char *myname, const char *proto,
    const char *id, const char *rcpt, time_t when)
{
	char h[256], u[80], date[64], forpart[300];
	struct tm tm;
	int n;

	header_clean(h, sizeof(h), helo[0] != '\0' ? helo : "unknown");
	if (ident != NULL)
		header_clean(u, sizeof(u), ident);
	if (localtime_r(&when, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		return -1;
	forpart[0] = '\0';
	if (rcpt != NULL) {
		n = snprintf(forpart, sizeof(forpart), "\n\tfor %s", rcpt);
		if (n < 0 || (size_t)n >= sizeof(forpart))
			return -1;
	}
	n = snprintf(buf, size, "Received: from %s (%s [%s]%s%s)\n"
	    "\tby %s (smtpd) with %s id %s%s; %s\n", h, name, ip,
	    ident != NULL ? " ident=" : "", ident != NULL ? u : "", myname,
	    proto, id, forpart, date);
	if (n < 0 || (size_t)n >= size)
		return -1;
	return n;
}
