/* rule_reply.c - reply templates with % escapes */
/*
 * A reply is compiled at load into literal parts and escapes, so an
 * unknown escape is a load error, not a surprise at RCPT time. At
 * expansion every inserted value is made printable (client text must
 * never put a CR or LF into a reply) and the line is capped at
 * RULE_REPLY_MAX - 2 bytes, the RFC 5321 reply line limit less CRLF.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <string.h>

#include "rule_int.h"

/* reply_compile - split text into literal parts and escapes, in the
   arena (text must stay there too: literal parts point into it) */
int
reply_compile(struct rule_arena *a, const char *text,
    struct reply_part **parts, size_t *nparts, char *err, size_t errsize)
{
	struct reply_part *p;
	size_t n = 0, i, start = 0, len = strlen(text), max = 1;

	*parts = NULL;
	*nparts = 0;
	for (i = 0; i < len; i++)
		if (text[i] == '%')
			max += 2;	/* the text before it, and itself */
	if ((p = arena_array(a, max, sizeof(*p))) == NULL) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (text[i] != '%')
			continue;
		if (i > start) {
			p[n].text = text + start;
			p[n].len = (uint32_t)(i - start);
			n++;
		}
		if (i + 1 >= len) {
			snprintf(err, errsize, "reply ends with a lone %%");
			return -1;
		}
		switch (text[i + 1]) {
		case 'I': case 'H': case 'F': case 'T': case 'U': case 'V':
			p[n].escape = text[i + 1];
			break;
		case 'C':
			/* Literal parts point into the text (an image maps
			   them back at the same address): ":" is not there,
			   so it gets a copy in the arena. */
			if ((p[n].text = arena_strndup(a, ":", 1)) == NULL) {
				snprintf(err, errsize, "out of memory");
				return -1;
			}
			p[n].len = 1;
			break;
		case '%':
			p[n].text = text + i + 1;
			p[n].len = 1;
			break;
		default:
			snprintf(err, errsize, "unknown escape %%%c in reply "
			    "(known: %%I %%H %%F %%T %%U %%V %%C %%%%)",
			    (text[i + 1] >= 0x20 && text[i + 1] < 0x7f) ?
			    text[i + 1] : '?');
			return -1;
		}
		n++;
		i++;
		start = i + 1;
	}
	if (len > start) {
		p[n].text = text + start;
		p[n].len = (uint32_t)(len - start);
		n++;
	}
	*parts = p;
	*nparts = n;
	return 0;
}

/* append - add printable bytes to out, respecting its size */
static void
append(char *out, size_t size, size_t *pos, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len && *pos + 1 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		out[(*pos)++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[*pos] = '\0';
}

/* reply_expand - fill in the escapes */
void
reply_expand(const struct reply_part *parts, size_t nparts,
    const struct reply_vars *vars, char *out, size_t size)
{
	size_t i, pos = 0;
	const char *v;

	if (size == 0)
		return;
	if (size > RULE_REPLY_MAX - 1)
		size = RULE_REPLY_MAX - 1;	/* 510 bytes + NUL */
	out[0] = '\0';
	for (i = 0; i < nparts; i++) {
		switch (parts[i].escape) {
		case 0:
			append(out, size, &pos, parts[i].text, parts[i].len);
			continue;
		case 'I': v = vars->ip; break;
		case 'H': v = vars->host; break;
		case 'F': v = vars->from; break;
		case 'T': v = vars->to; break;
		case 'U': v = vars->user; break;
		default: v = vars->value; break;
		}
		if (v != NULL)
			append(out, size, &pos, v, strlen(v));
	}
}
