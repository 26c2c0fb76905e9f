/* sanitize.c - checks of a spool file's addresses and message text */
/*
 * The forwarder's half of the trust boundary (conventions C13): smtpd
 * is jailed but talks to the whole internet, so what it wrote is checked
 * again here before any of it reaches sendmail's argument vector or the
 * next hop. Pure functions: no I/O, no allocation, no logging.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string.h>
#include <strings.h>

#include "fwd_limits.h"
#include "sanitize.h"

const struct sanitize_limits sanitize_limits_default = {
	.header_line_max = FWD_HEADER_LINE_MAX,
	.header_field_max = FWD_HEADER_FIELD_MAX,
	.header_fields_max = FWD_HEADER_FIELDS_MAX,
	.header_section_max = FWD_HEADER_SECTION_MAX,
	.body_line_max = FWD_BODY_LINE_MAX,
	.hops_max = FWD_HOPS_MAX,
};

/* is_alnum - ASCII letter or digit, whatever the locale */
static int
is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* is_atext - RFC 5322 atext (ASCII only: the spool is ASCII) */
static int
is_atext(unsigned char c)
{
	return is_alnum(c) || (c != '\0' &&
	    memchr("!#$%&'*+-/=?^_`{|}~", c, 19) != NULL);
}

/* dot_string_len - length of an RFC 5321 Dot-string at s, 0 if none */
static size_t
dot_string_len(const char *s, size_t len)
{
	size_t i;
	int was_dot = 1;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (was_dot)
				return 0;	/* leading or double dot */
			was_dot = 1;
		} else if (is_atext(c))
			was_dot = 0;
		else
			break;
	}
	if (was_dot)
		return 0;		/* empty, or a trailing dot */
	return i;
}

/* quoted_string_len - length of an RFC 5321 Quoted-string at s, 0 if none */
static size_t
quoted_string_len(const char *s, size_t len)
{
	size_t i;

	if (len < 2 || s[0] != '"')
		return 0;
	for (i = 1; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"')
			return i + 1;
		if (c == '\\') {
			/* quoted-pairSMTP: backslash, then %d32-126 */
			if (i + 1 >= len || (unsigned char)s[i + 1] < 32 ||
			    (unsigned char)s[i + 1] > 126)
				return 0;
			i++;
			continue;
		}
		/* qtextSMTP: %d32-33 / %d35-91 / %d93-126 */
		if (c < 32 || c > 126)
			return 0;
	}
	return 0;			/* no closing quote */
}

/* domain_ok - dotted labels of letters, digits, '-' and '_' */
static int
domain_ok(const char *s, size_t len)
{
	size_t i, label = 0;

	if (len == 0 || len > FWD_DOMAIN_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		/* '_' is not RFC 5321, but real names have it; so does smtpd */
		if (!is_alnum(c) && c != '-' && c != '_')
			return 0;
		if (label == 0 && c == '-')
			return 0;
		if (++label > FWD_LABEL_MAX)
			return 0;
	}
	return label > 0 && s[len - 1] != '-';
}

/* literal_ok - "[IPv4]" or "[IPv6:address]" */
static int
literal_ok(const char *s, size_t len)
{
	char buf[INET6_ADDRSTRLEN + 1];
	unsigned char bin[sizeof(struct in6_addr)];
	size_t n;

	if (len < 3 || s[0] != '[' || s[len - 1] != ']')
		return 0;
	s++;
	len -= 2;
	if (len > 5 && strncasecmp(s, "IPv6:", 5) == 0) {
		n = len - 5;
		if (n == 0 || n >= sizeof(buf))
			return 0;
		memcpy(buf, s + 5, n);
		buf[n] = '\0';
		return inet_pton(AF_INET6, buf, bin) == 1;
	}
	if (len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET, buf, bin) == 1;
}

/* sanitize_path - check one envelope path and make its argument form */
int
sanitize_path(const char *path, size_t len, enum sanitize_kind kind,
    char *out, size_t outsize, const char **why)
{
	const char *in, *domain;
	size_t ilen, llen, dlen, i;
	int quote_it = 0;

	*why = NULL;
	if (outsize < SANITIZE_ADDR_SIZE) {
		*why = "output buffer too small";
		return -1;
	}
	if (len < 2 || len > 256 || path[0] != '<' || path[len - 1] != '>') {
		*why = "path is not enclosed in <>";
		return -1;
	}
	in = path + 1;
	ilen = len - 2;
	for (i = 0; i < ilen; i++)
		if ((unsigned char)in[i] < 0x20 ||
		    (unsigned char)in[i] > 0x7e) {
			*why = "control or 8-bit byte in an address";
			return -1;
		}
	if (ilen == 0) {
		if (kind != SANITIZE_SENDER) {
			*why = "empty recipient address";
			return -1;
		}
		memcpy(out, "<>", 3);
		return 0;
	}
	if (kind == SANITIZE_RCPT && ilen == 10 &&
	    strncasecmp(in, "postmaster", 10) == 0) {
		memcpy(out, in, ilen);
		out[ilen] = '\0';
		return 0;
	}
	if (in[0] == '"')
		llen = quoted_string_len(in, ilen);
	else
		llen = dot_string_len(in, ilen);
	if (llen == 0) {
		*why = in[0] == '@' ? "source route or empty local part" :
		    "bad local part";
		return -1;
	}
	if (llen > FWD_LOCAL_MAX) {
		*why = "local part longer than 64 bytes";
		return -1;
	}
	if (llen >= ilen || in[llen] != '@') {
		*why = "address without @domain";
		return -1;
	}
	domain = in + llen + 1;
	dlen = ilen - llen - 1;
	if (dlen > 0 && domain[0] == '[' ? !literal_ok(domain, dlen) :
	    !domain_ok(domain, dlen)) {
		*why = "bad domain";
		return -1;
	}
	if (kind == SANITIZE_SENDER && in[0] == '-')
		quote_it = 1;
	if (ilen + 2 * quote_it + 1 > outsize) {
		*why = "address too long";
		return -1;
	}
	if (quote_it) {
		/* A Dot-string needs no escapes inside quotes: no '"', '\'. */
		out[0] = '"';
		memcpy(out + 1, in, llen);
		out[llen + 1] = '"';
		memcpy(out + llen + 2, in + llen, ilen - llen);
		out[ilen + 2] = '\0';
	} else {
		memcpy(out, in, ilen);
		out[ilen] = '\0';
	}
	return 0;
}

/* sanitize_body_init - start scanning a message */
void
sanitize_body_init(struct sanitize_body *b, const struct sanitize_limits *lim)
{
	memset(b, 0, sizeof(*b));
	b->lim = lim;
	b->is_header = 1;
	b->is_first_line = 1;
	b->hstate = SANITIZE_H_BOL;
}

/* fail - record the first violation */
static int
fail(struct sanitize_body *b, const char *why)
{
	if (b->why == NULL)
		b->why = why;
	return -1;
}

/* not_a_field - this header line is no field: body, or an error first */
static int
not_a_field(struct sanitize_body *b)
{
	if (b->is_first_line)
		return fail(b, "message does not start with a header field");
	b->is_header = 0;
	return 0;
}

/* field_named - the name just ended at its colon: a field; count it */
static int
field_named(struct sanitize_body *b)
{
	if (++b->fields > b->lim->header_fields_max)
		return fail(b, "too many header fields");
	if (b->name_len == 8 && strncasecmp(b->name, "Received", 8) == 0 &&
	    ++b->hops > b->lim->hops_max)
		return fail(b, "too many Received header fields (mail loop?)");
	return 0;
}

/* header_eol - a header line ended (its LF is not yet counted) */
static int
header_eol(struct sanitize_body *b)
{
	switch (b->hstate) {
	case SANITIZE_H_BOL:
		/* The empty line: the header section is over. */
		if (b->is_first_line)
			return fail(b,
			    "message does not start with a header field");
		b->is_header = 0;
		break;
	case SANITIZE_H_NAME:
	case SANITIZE_H_NAME_WSP:
		if (not_a_field(b) == -1)
			return -1;
		break;
	case SANITIZE_H_VALUE:
		break;
	}
	b->hstate = SANITIZE_H_BOL;
	return 0;
}

/* header_byte - one byte of a header line other than its LF */
static int
header_byte(struct sanitize_body *b, unsigned char c)
{
	if (c == '\0')
		return fail(b, "NUL byte in the header");
	if (c == '\r')
		return fail(b, "CR in the header");
	if (++b->line_len > b->lim->header_line_max)
		return fail(b, "header line too long");
	b->field_len++;
	switch (b->hstate) {
	case SANITIZE_H_BOL:
		if (c == ' ' || c == '\t') {
			if (b->is_first_line)
				return fail(b, "message does not start with "
				    "a header field");
			b->hstate = SANITIZE_H_VALUE;	/* a folded line */
		} else if (c > 32 && c < 127 && c != ':') {
			b->field_len = 1;
			b->name[0] = (char)c;
			b->name_len = 1;
			b->hstate = SANITIZE_H_NAME;
		} else
			return not_a_field(b);
		break;
	case SANITIZE_H_NAME:
		if (c == ':') {
			b->hstate = SANITIZE_H_VALUE;
			return field_named(b);
		}
		if (c == ' ' || c == '\t')
			b->hstate = SANITIZE_H_NAME_WSP;
		else if (c > 32 && c < 127) {
			if (b->name_len < sizeof(b->name))
				b->name[b->name_len] = (char)c;
			b->name_len++;
		} else
			return not_a_field(b);
		break;
	case SANITIZE_H_NAME_WSP:
		/* RFC 5322 obs-optional: blanks before the colon */
		if (c == ':') {
			b->hstate = SANITIZE_H_VALUE;
			return field_named(b);
		}
		if (c != ' ' && c != '\t')
			return not_a_field(b);
		break;
	case SANITIZE_H_VALUE:
		break;
	}
	if (b->field_len > b->lim->header_field_max)
		return fail(b, "header field too long");
	return 0;
}

/* body_run - scan body bytes: only the line length matters */
static int
body_run(struct sanitize_body *b, const unsigned char *p, size_t len)
{
	const unsigned char *end = p + len, *nl;
	size_t seg;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		seg = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (seg > b->lim->body_line_max ||
		    b->line_len + seg > b->lim->body_line_max)
			return fail(b, "body line too long");
		b->line_len += seg;
		if (nl == NULL)
			break;
		b->line_len = 0;
		b->lines++;
		p = nl + 1;
	}
	return 0;
}

/* sanitize_body_feed - scan the next bytes of the message */
int
sanitize_body_feed(struct sanitize_body *b, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i;

	if (b->why != NULL)
		return -1;
	b->bytes += len;
	for (i = 0; i < len && b->is_header; i++) {
		if (p[i] == '\n') {
			if (header_eol(b) == -1)
				return -1;
			b->line_len = 0;
			b->field_len++;
			b->lines++;
			b->is_first_line = 0;
		} else if (header_byte(b, p[i]) == -1)
			return -1;
		if (++b->header_bytes > b->lim->header_section_max &&
		    b->is_header)
			return fail(b, "header section too big");
	}
	if (i < len)
		return body_run(b, p + i, len - i);
	return 0;
}

/* sanitize_body_end - final checks once the whole message was fed */
int
sanitize_body_end(struct sanitize_body *b)
{
	if (b->why != NULL)
		return -1;
	if (b->bytes == 0)
		return fail(b, "empty message");
	if (b->is_header && b->is_first_line &&
	    b->hstate != SANITIZE_H_VALUE)
		return fail(b, "message does not start with a header field");
	return 0;
}
