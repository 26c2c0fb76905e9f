/* data.h - the DATA phase: end detection, dot-unstuffing, size, Received */
/*
 * A byte-at-a-time state machine (with fast runs) over the message as
 * it arrives in chunks of any size: it holds no line, so memory is
 * constant whatever the client sends. Lines are stored with LF ends;
 * the stuffed leading dot is removed (RFC 5321 4.5.2); the end is a
 * line holding only "." (RFC 5321 4.1.1.4). The size is counted as the
 * client sent it (CRLF counted, stuffing not) and compared with the
 * limit using ">", so a message of exactly the limit passes.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef SMTPD_DATA_H
#define SMTPD_DATA_H

#include <stddef.h>
#include <time.h>

#include "session.h"

enum data_lex {
	DATA_BOL,	/* at the start of a line */
	DATA_DOT,	/* after a leading dot */
	DATA_DOT_CR,	/* after a leading dot and a CR */
	DATA_MID,	/* inside a line */
	DATA_CR		/* after a CR inside a line */
};

#define DATA_OUT	16384	/* bytes buffered before a sink write */
#define DATA_PREFIX	9	/* strlen("Received:") */

struct data_state {
	enum data_lex lex;
	const struct spool_sink *sink;	/* NULL: drain only */
	unsigned long long max_size;
	unsigned long long size;	/* as received, CRLF counted */
	unsigned long long lines;
	unsigned int hops;		/* Received: headers seen */
	int is_header;			/* still in the header block */
	int has_bare_lf;		/* a line ended in LF alone */
	int is_over;			/* size > max_size: not stored */
	int has_write_error;
	int write_errno;
	size_t line_pos;		/* bytes of this line so far */
	char prefix[DATA_PREFIX];	/* its first bytes */
	size_t out_len;
	unsigned char out[DATA_OUT];	/* last: data_start() and the
					   session clear what precedes it */
};

/* data_start - reset d for a new message going to sink (may be NULL) */
void data_start(struct data_state *d, const struct spool_sink *sink,
    unsigned long long max_size);

/*
 * data_input - consume message bytes. Returns how many were used; when
 * the final "." line has been read, sets *is_done and returns the count
 * up to and including its LF, leaving the rest (pipelined commands) to
 * the caller.
 */
size_t data_input(struct data_state *d, const char *buf, size_t len,
    int *is_done);

/* data_flush - write buffered bytes to the sink; 0, or -1 (recorded) */
int data_flush(struct data_state *d);

/*
 * data_received - format the Received header (docs/spool.5) into buf,
 * LF line ends. helo and ident are client text: characters other than
 * letters, digits and "-._:[]@" become '?'. ident and rcpt may be NULL
 * (no "ident=" part; no "for" clause). Returns the length, or -1 if it
 * does not fit.
 */
int data_received(char *buf, size_t size, const char *helo, const char *name,
    const char *ip, const char *ident, const char *myname, const char *proto,
    const char *id, const char *rcpt, time_t when);

#endif
