/* rule_glob.c - '*' globs with bounded matching cost */
/*
 * A glob is split at its stars into literal segments. Matching checks
 * the anchored first and last segments in place and finds each middle
 * segment at its leftmost position after the previous one, which is
 * correct for '*'-only globs and costs at most O(n*m), never the
 * exponential backtracking of the original's recursive matcher.
 * Patterns and subjects are compared in lower case; callers pass
 * lower-cased subjects.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ctype.h>
#include <string.h>

#include "rule_int.h"

/* glob_compile - split a pattern into segments; 0, or -1 on no memory */
int
glob_compile(struct rule_arena *a, struct glob *g, const char *text,
    size_t len)
{
	size_t i, start, n = 0, nstar = 0;
	int hex_ok = memchr(text, ':', len) != NULL;

	memset(g, 0, sizeof(*g));
	if (len > RULE_MAX_LINE || (g->text = arena_strndup(a, text, len)) ==
	    NULL)
		return -1;
	/* An address glob: digits, dots and stars, or hex digits and
	   stars around at least one colon (IPv6). */
	g->looks_numeric = len > 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		g->text[i] = (char)tolower(c);
		if (c == '*')
			nstar++;
		if (!(isdigit(c) || c == '.' || c == ':' || c == '*' ||
		    (hex_ok && isxdigit(c))))
			g->looks_numeric = 0;
	}
	g->len = (uint32_t)len;
	g->anchored_start = len == 0 || text[0] != '*';
	g->anchored_end = len == 0 || text[len - 1] != '*';
	g->is_literal = nstar == 0;
	if (g->is_literal)
		return 0;	/* glob_match compares the text */
	if ((g->seg = arena_array(a, nstar + 1, sizeof(*g->seg))) == NULL)
		return -1;
	for (start = 0, i = 0; i <= len; i++) {
		if (i == len || text[i] == '*') {
			if (i > start) {
				g->seg[n].off = (uint16_t)start;
				g->seg[n].len = (uint16_t)(i - start);
				n++;
			}
			start = i + 1;
		}
	}
	g->nseg = (uint16_t)n;
	return 0;
}

/* find - leftmost occurrence of needle in hay, or NULL */
static const char *
find(const char *hay, size_t haylen, const char *needle, size_t len)
{
	return memmem(hay, haylen, needle, len);
}

/* glob_match - 1 if the lower-cased subject matches the whole glob */
int
glob_match(const struct glob *g, const char *s, size_t len)
{
	size_t first = 0, last = g->nseg, pos = 0, end = len, i;
	const char *p;

	if (g->is_literal)
		return len == g->len && memcmp(s, g->text, len) == 0;
	if (g->anchored_start && g->nseg > 0) {
		if (len < g->seg[0].len ||
		    memcmp(s, g->text + g->seg[0].off, g->seg[0].len) != 0)
			return 0;
		pos = g->seg[0].len;
		first = 1;
	}
	if (g->anchored_end && last > first) {
		size_t l = g->seg[last - 1].len;

		if (end - pos < l ||
		    memcmp(s + end - l, g->text + g->seg[last - 1].off, l) != 0)
			return 0;
		end -= l;
		last--;
	}
	for (i = first; i < last; i++) {
		p = find(s + pos, end - pos, g->text + g->seg[i].off,
		    g->seg[i].len);
		if (p == NULL)
			return 0;
		pos = (size_t)(p - s) + g->seg[i].len;
	}
	return 1;
}
