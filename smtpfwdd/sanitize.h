/* sanitize.h - checks of a spool file's addresses and message text */
/*
 * Pure functions over buffers: no I/O, no allocation, no logging, so
 * that the unit tests, the golden driver (smtpfwdd -n) and the fuzz
 * target see exactly what a delivery sees. spool_read() has already
 * checked the envelope's framing (printable ASCII, <> around paths,
 * counts); these check what the next hop will rely on: RFC 5321
 * address syntax, and the header and line structure of the message.
 * Nothing is rewritten or "repaired": a message that fails is held.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef FWD_SANITIZE_H
#define FWD_SANITIZE_H

#include <stddef.h>

/* Which envelope path: a sender may be <>, a recipient <Postmaster>. */
enum sanitize_kind {
	SANITIZE_SENDER,
	SANITIZE_RCPT
};

/* Room for any address as sanitize_path() writes it, with its NUL. */
#define SANITIZE_ADDR_SIZE	(256 + 3)

/*
 * sanitize_path - check one path as spool_read() returned it ("<>" or
 * "<local@domain>", len bytes) and write the form that goes into
 * sendmail's argument vector into out (outsize bytes, at least
 * SANITIZE_ADDR_SIZE): the mailbox without its <>, or "<>" for the null
 * sender. The local part must be an RFC 5321 Dot-string or
 * Quoted-string of at most 64 bytes, the domain dotted labels (letters,
 * digits, '-', '_'; at most 63 bytes each, 255 in all) or an IPv4 or
 * IPv6 address literal. A recipient may also be a bare "Postmaster"
 * (any case). Legal addresses pass unchanged, whatever characters they
 * hold, with one exception: a sender whose local part begins with '-'
 * is written in its equivalent quoted form ("-x"@d), so that the word
 * after sendmail's -f never looks like an option. Recipients follow a
 * "--" and need no such care. Returns 0, or -1 with *why set to a
 * static reason.
 */
int sanitize_path(const char *path, size_t len, enum sanitize_kind kind,
    char *out, size_t outsize, const char **why);

/* The limits of sanitize_body_*(); sanitize_limits_default has the
   FWD_* values of fwd_limits.h. */
struct sanitize_limits {
	size_t header_line_max;		/* one header line, LF excluded */
	size_t header_field_max;	/* one field with its folded lines */
	size_t header_fields_max;	/* fields in the header section */
	size_t header_section_max;	/* bytes of the header section */
	size_t body_line_max;		/* one body line, LF excluded */
	unsigned int hops_max;		/* Received fields */
};

extern const struct sanitize_limits sanitize_limits_default;

/* Where the scanner is inside a line of the header section. */
enum sanitize_hstate {
	SANITIZE_H_BOL,		/* at the start of a header line */
	SANITIZE_H_NAME,	/* inside a field name */
	SANITIZE_H_NAME_WSP,	/* blanks between a name and its colon */
	SANITIZE_H_VALUE	/* after the colon, or in a folded line */
};

/*
 * The scanner of a message (what follows BODY in a spool file), fed in
 * chunks of any size; it holds no line, so its memory is constant.
 * Caller-owned; fields are private to sanitize.c.
 */
struct sanitize_body {
	const struct sanitize_limits *lim;
	const char *why;		/* first violation, or NULL */
	int is_header;			/* still in the header section */
	int is_first_line;		/* no line finished yet */
	enum sanitize_hstate hstate;
	size_t line_len;		/* bytes of this line so far */
	size_t field_len;		/* bytes of this field so far */
	size_t name_len;		/* bytes of this field's name so far */
	char name[9];			/* its first bytes, to spot Received */
	size_t fields;
	size_t header_bytes;
	unsigned int hops;
	unsigned long long bytes;	/* all bytes fed */
	unsigned long long lines;	/* finished lines */
};

/* sanitize_body_init - start scanning a message under limits lim */
void sanitize_body_init(struct sanitize_body *b,
    const struct sanitize_limits *lim);

/*
 * sanitize_body_feed - scan the next len bytes. Returns 0, or -1 once a
 * rule is broken (b->why says which, and every later call fails too).
 * The rules: the message starts with a header field (smtpd's Received);
 * header lines hold no NUL and no CR, and a field name is printable
 * ASCII up to its colon; a line that is not a field or a fold ends the
 * header section, as an empty line does; header and body lines, fields,
 * the field count, the header size and the Received count are within
 * the limits. Body bytes are not judged otherwise: 8-bit, NUL and bare
 * CR pass to the next hop as received.
 */
int sanitize_body_feed(struct sanitize_body *b, const void *buf, size_t len);

/* sanitize_body_end - the message is complete: 0, or -1 with b->why */
int sanitize_body_end(struct sanitize_body *b);

#endif
