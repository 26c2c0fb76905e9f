/* logparse.c - smtpd decision log lines: syslog prefix, outcome, fields */
/*
 * Pure functions over one line held by the caller; nothing is copied.
 * The grammar is docs/logging.md's: the original Obtuse templates plus
 * "deferred by line N of FILE (REASON)", behind any of the syslog
 * prefixes the tools meet (rsyslog traditional and RFC 3339, RFC 5424,
 * Solaris "[ID n fac.level]", smtpd -l's "smtpd[pid]: "). Client text
 * can imitate the end of a line, so the outcome is taken from the end,
 * and the message must begin right after the syslog header.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "logparse.h"

#define MARKER		"smtp connection from "
#define MARKER_LEN	(sizeof(MARKER) - 1)
#define TAG_MAX		64	/* bytes in a syslog tag with its [pid] */

static const struct {
	const char *text;	/* after ", " */
	size_t len;
	enum logkind kind;
} outcomes[] = {
#define O(s, k) { s, sizeof(s) - 1, k }
	O("allowed by line ", LOGKIND_ALLOWED),
	O("noto by line ", LOGKIND_NOTO),
	O("noto with delay by line ", LOGKIND_NOTO_DELAY),
	O("denied by line ", LOGKIND_DENIED),
	O("denied with delay by line ", LOGKIND_DENIED_DELAY),
	O("deferred by line ", LOGKIND_DEFERRED),
	O("default action, reached end of ", LOGKIND_DEFAULT),
#undef O
};

static const char *const kind_names[LOGKIND_COUNT] = {
	"allowed", "noto", "noto-delay", "denied", "denied-delay",
	"deferred", "default", "default-refused"
};

static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

/* is_digit - an ASCII digit */
static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* digits - the value of n digits at s, or -1 */
static long
digits(const char *s, size_t n)
{
	long v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* is_tag_char - a character of a syslog tag (ident) */
static int
is_tag_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    is_digit(c) || c == '_' || c == '-' || c == '.' || c == '/';
}

/* is_tag - "ident" or "ident[pid]": the token before a header's ": " */
static int
is_tag(const char *s, size_t len)
{
	size_t i = 0, name;

	if (len == 0 || len > TAG_MAX)
		return 0;
	while (i < len && is_tag_char(s[i]))
		i++;
	name = i;
	if (name == 0)
		return 0;
	if (i == len)
		return 1;
	if (s[i] != '[' || s[len - 1] != ']' || len - i < 3)
		return 0;
	for (i++; i < len - 1; i++)
		if (!is_digit(s[i]))
			return 0;
	return 1;
}

/* month_index - 0..11 for "Jan".."Dec", or -1 */
static int
month_index(const char *s)
{
	int m;

	for (m = 0; m < 12; m++)
		if (memcmp(s, months + 3 * m, 3) == 0)
			return m;
	return -1;
}

/* is_trad - "Mmm dd hh:mm:ss" in the 15 bytes at s */
static int
is_trad(const char *s)
{
	return s[3] == ' ' && s[6] == ' ' && s[9] == ':' && s[12] == ':' &&
	    month_index(s) >= 0 && (s[4] == ' ' || is_digit(s[4])) &&
	    is_digit(s[5]) && digits(s + 7, 2) >= 0 &&
	    digits(s + 10, 2) >= 0 && digits(s + 13, 2) >= 0;
}

/* stamp_trad - length of "Mmm dd hh:mm:ss " at s (without the blank), or 0 */
static size_t
stamp_trad(const char *s, size_t len)
{
	if (len < 16 || s[15] != ' ' || !is_trad(s))
		return 0;
	return 15;
}

/* stamp_iso - length of an RFC 3339 stamp at the start of s, or 0 */
static size_t
stamp_iso(const char *s, size_t len)
{
	size_t i;

	if (len < 19 || digits(s, 4) < 0 || s[4] != '-' ||
	    digits(s + 5, 2) < 0 || s[7] != '-' || digits(s + 8, 2) < 0 ||
	    (s[10] != 'T' && s[10] != ' ') || digits(s + 11, 2) < 0 ||
	    s[13] != ':' || digits(s + 14, 2) < 0 || s[16] != ':' ||
	    digits(s + 17, 2) < 0)
		return 0;
	i = 19;
	if (i < len && (s[i] == '.' || s[i] == ',')) {
		i++;
		while (i < len && is_digit(s[i]))
			i++;
	}
	if (i < len && s[i] == 'Z')
		i++;
	else if (i < len && (s[i] == '+' || s[i] == '-')) {
		if (i + 5 < len && digits(s + i + 1, 2) >= 0 &&
		    s[i + 3] == ':' && digits(s + i + 4, 2) >= 0)
			i += 6;
		else if (i + 4 < len && digits(s + i + 1, 4) >= 0)
			i += 5;
		else
			return 0;
	}
	return i;
}

/* stamp_iso_blank - stamp_iso() followed by a blank, or 0 */
static size_t
stamp_iso_blank(const char *s, size_t len)
{
	size_t n = stamp_iso(s, len);

	return n > 0 && n < len && s[n] == ' ' ? n : 0;
}

/* skip_pri - length of a leading "<PRI>", or 0 */
static size_t
skip_pri(const char *s, size_t len)
{
	size_t i;

	if (len < 3 || s[0] != '<')
		return 0;
	for (i = 1; i < len && i < 5 && is_digit(s[i]); i++)
		;
	if (i == 1 || i >= len || s[i] != '>')
		return 0;
	return i + 1;
}

/* skip_field - past one blank-separated field and its blank, or 0 */
static size_t
skip_field(const char *s, size_t len, size_t i)
{
	const char *sp;

	if (i >= len)
		return 0;
	sp = memchr(s + i, ' ', len - i);
	if (sp == NULL || sp == s + i)
		return 0;
	return (size_t)(sp - s) + 1;
}

/*
 * message_start - the offset of the syslog message in s, and the stamp.
 * Returns (size_t)-1 when the line has no header we know; then the line
 * is taken as a bare message only if it starts with the marker.
 */
static size_t
message_start(const char *s, size_t len, size_t *stamp_off, size_t *stamp_len)
{
	const char *p, *tok;
	size_t i, n, pos;

	*stamp_len = 0;
	i = skip_pri(s, len);
	/* RFC 5424: <PRI>1 TIME HOST APP PROCID MSGID SD MSG */
	if (i > 0 && i + 2 < len && s[i] == '1' && s[i + 1] == ' ') {
		pos = i + 2;
		if ((n = stamp_iso_blank(s + pos, len - pos)) > 0) {
			*stamp_off = pos;
			*stamp_len = n;
		}
		for (n = 0; n < 5; n++)		/* TIME HOST APP PROCID MSGID */
			if ((pos = skip_field(s, len, pos)) == 0)
				return (size_t)-1;
		if (pos < len && s[pos] == '[') {	/* structured data */
			p = memmem(s + pos, len - pos, "] ", 2);
			if (p == NULL)
				return (size_t)-1;
			pos = (size_t)(p - s) + 2;
		} else if ((pos = skip_field(s, len, pos)) == 0)
			return (size_t)-1;
		if (len - pos >= 3 && memcmp(s + pos, "\xef\xbb\xbf", 3) == 0)
			pos += 3;
		return pos;
	}
	if (len - i >= MARKER_LEN && memcmp(s + i, MARKER, MARKER_LEN) == 0)
		return i;	/* a bare message */
	if ((n = stamp_trad(s + i, len - i)) > 0 ||
	    (n = stamp_iso_blank(s + i, len - i)) > 0) {
		*stamp_off = i;
		*stamp_len = n;
	}
	/* The first ": " that ends a tag ends the header. */
	pos = i;
	while (pos < len &&
	    (p = memmem(s + pos, len - pos, ": ", 2)) != NULL) {
		tok = p;
		while (tok > s + i && tok[-1] != ' ')
			tok--;
		if (is_tag(tok, (size_t)(p - tok))) {
			pos = (size_t)(p - s) + 2;
			if (len - pos > 4 && memcmp(s + pos, "[ID ", 4) == 0) {
				p = memmem(s + pos, len - pos, "] ", 2);
				if (p != NULL)
					pos = (size_t)(p - s) + 2;
			}
			if (*stamp_len > 0 && *stamp_off + *stamp_len > pos)
				*stamp_len = 0;
			return pos;
		}
		pos = (size_t)(p - s) + 2;
	}
	return (size_t)-1;
}

/* parse_line_no - "N of " at s: N (1..LOGPARSE_LINE_MAX) and the length */
static size_t
parse_line_no(const char *s, size_t len, unsigned long *line)
{
	size_t i = 0;
	unsigned long v = 0;

	while (i < len && is_digit(s[i]) && i < 10) {
		v = v * 10 + (unsigned long)(s[i] - '0');
		i++;
	}
	if (i == 0 || s[0] == '0' || v > LOGPARSE_LINE_MAX || len - i < 5 ||
	    memcmp(s + i, " of ", 4) != 0)
		return 0;
	*line = v;
	return i + 4;
}

/* outcome_at - parse ", OUTCOME ..." running from s to the end; 1 or 0 */
static int
outcome_at(const char *s, size_t len, struct logdecision *d)
{
	const char *rest, *paren;
	size_t k, n, rlen;

	for (k = 0; k < sizeof(outcomes) / sizeof(outcomes[0]); k++) {
		if (len < outcomes[k].len || memcmp(s, outcomes[k].text,
		    outcomes[k].len) != 0)
			continue;
		rest = s + outcomes[k].len;
		rlen = len - outcomes[k].len;
		d->kind = outcomes[k].kind;
		d->line = 0;
		if (d->kind != LOGKIND_DEFAULT) {
			if ((n = parse_line_no(rest, rlen, &d->line)) == 0)
				return 0;
			rest += n;
			rlen -= n;
		}
		if (d->kind == LOGKIND_DEFERRED) {
			/* FILE (REASON) */
			if (rlen < 4 || rest[rlen - 1] != ')')
				return 0;
			paren = memmem(rest, rlen, " (", 2);
			if (paren == NULL)
				return 0;
			rlen = (size_t)(paren - rest);
		}
		if (rlen == 0)
			return 0;
		d->file = rest;
		d->file_len = rlen;
		return 1;
	}
	return 0;
}

/* logparse_decision - parse one log line */
int
logparse_decision(const char *s, size_t len, struct logdecision *d)
{
	const char *body, *c;
	size_t pos, stamp_off = 0, stamp_len = 0, blen;

	while (len > 0 && (s[len - 1] == '\r' || s[len - 1] == '\n'))
		len--;
	pos = message_start(s, len, &stamp_off, &stamp_len);
	if (pos == (size_t)-1)
		pos = 0;
	if (len - pos < MARKER_LEN + 20 ||
	    memcmp(s + pos, MARKER, MARKER_LEN) != 0)
		return 0;
	body = s + pos + MARKER_LEN;
	blen = len - pos - MARKER_LEN;
	/* The last ", OUTCOME" that parses to the end of the line. */
	c = body + blen;
	while ((c = memrchr(body, ',', (size_t)(c - body))) != NULL) {
		if (c + 1 < body + blen && c[1] == ' ' &&
		    outcome_at(c + 2, (size_t)(body + blen - c - 2), d)) {
			d->body = body;
			d->body_len = (size_t)(c - body);
			d->stamp = stamp_len > 0 ? s + stamp_off : NULL;
			d->stamp_len = stamp_len;
			if (d->kind == LOGKIND_DEFAULT &&
			    memmem(body, d->body_len, ") attempted MAIL FROM: ",
			    23) != NULL)
				d->kind = LOGKIND_DEFAULT_REFUSED;
			return 1;
		}
	}
	return 0;
}

/* find_client - the client's "(IP)" and the text after "MAIL FROM: " */
static int
find_client(const struct logdecision *d, struct net_addr *addr,
    const char **after)
{
	const char *p = d->body, *end = d->body + d->body_len, *open, *close;
	struct net_addr tmp;
	size_t left;

	while (p < end && (open = memchr(p, '(', (size_t)(end - p))) != NULL) {
		p = open + 1;
		close = memchr(p, ')', (size_t)(end - p));
		if (close == NULL)
			return -1;
		if ((size_t)(close - p) > NET_ADDR_TEXT + 2)
			continue;
		left = (size_t)(end - close);
		if (left > 12 && memcmp(close, ") MAIL FROM: ", 13) == 0)
			*after = close + 13;
		else if (left > 22 &&
		    memcmp(close, ") attempted MAIL FROM: ", 23) == 0)
			*after = close + 23;
		else
			continue;
		if (net_addr_parse(p, (size_t)(close - p), addr != NULL ?
		    addr : &tmp) == 0)
			return 0;
	}
	return -1;
}

/* logparse_client - the client address of a decision */
int
logparse_client(const struct logdecision *d, struct net_addr *addr)
{
	const char *after;

	return find_client(d, addr, &after);
}

/* logparse_sender - the MAIL FROM text of a decision, with its <> */
int
logparse_sender(const struct logdecision *d, const char **from,
    size_t *from_len)
{
	const char *after, *end = d->body + d->body_len, *rcpt;

	if (find_client(d, NULL, &after) != 0) {
		/* no address: the first MAIL FROM will do */
		after = memmem(d->body, d->body_len, " MAIL FROM: ", 12);
		if (after == NULL)
			return -1;
		after += 12;
	}
	rcpt = memmem(after, (size_t)(end - after), " RCPT TO: ", 10);
	if (rcpt == NULL)
		return -1;
	*from = after;
	*from_len = (size_t)(rcpt - after);
	return 0;
}

/* logparse_sender_domain - the domain part of the sender */
int
logparse_sender_domain(const struct logdecision *d, const char **dom,
    size_t *dom_len)
{
	const char *f, *at;
	size_t n;

	if (logparse_sender(d, &f, &n) != 0)
		return -1;
	if (n >= 2 && f[0] == '<' && f[n - 1] == '>') {
		f++;
		n -= 2;
	}
	if (n == 0) {
		*dom = "<>";
		*dom_len = 2;
		return 0;
	}
	at = memrchr(f, '@', n);
	if (at != NULL && at + 1 < f + n) {
		*dom = at + 1;
		*dom_len = (size_t)(f + n - at - 1);
	} else {
		*dom = f;
		*dom_len = n;
	}
	return 0;
}

/* logkind_name - the kind as a word */
const char *
logkind_name(enum logkind kind)
{
	if ((unsigned int)kind >= LOGKIND_COUNT)
		return "unknown";
	return kind_names[kind];
}

/* logkind_is_refusal - the recipient was refused */
int
logkind_is_refusal(enum logkind kind)
{
	return kind == LOGKIND_NOTO || kind == LOGKIND_NOTO_DELAY ||
	    kind == LOGKIND_DENIED || kind == LOGKIND_DENIED_DELAY ||
	    kind == LOGKIND_DEFAULT_REFUSED;
}

/* logclock_init - a clock with reference time now */
void
logclock_init(struct logclock *c, time_t now)
{
	memset(c, 0, sizeof(*c));
	c->now = now;
}

/* days_from_civil - days since 1970-01-01 of a proleptic Gregorian date */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* local_time - mktime of a local date and time; 0 or -1 */
static int
local_time(int year, int mon, int day, int hour, int min, int sec,
    int64_t *t)
{
	struct tm tm;
	time_t v;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	v = mktime(&tm);
	if (v == (time_t)-1 && !(year == 1969 && mon == 11 && day == 31))
		return -1;
	*t = (int64_t)v;
	return 0;
}

/* trad_time - a yearless local date put in the year the rule picks */
static int
trad_time(const struct logclock *c, int mon, int day, int hour, int min,
    int sec, int64_t *t)
{
	struct tm now;
	time_t ref = c->now;

	if (localtime_r(&ref, &now) == NULL)
		return -1;
	if (local_time(now.tm_year + 1900, mon, day, hour, min, sec, t) != 0)
		return -1;
	if (*t > (int64_t)c->now + LOGCLOCK_AHEAD &&
	    local_time(now.tm_year + 1899, mon, day, hour, min, sec, t) != 0)
		return -1;
	return 0;
}

/* iso_time - an RFC 3339 (or local "YYYY-MM-DD HH:MM:SS") stamp */
static int
iso_time(const char *s, size_t len, int64_t *t)
{
	long y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	long h = digits(s + 11, 2), mi = digits(s + 14, 2);
	long sec = digits(s + 17, 2), off = 0;
	size_t i = 19;

	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	if (i < len && (s[i] == '.' || s[i] == ','))
		for (i++; i < len && is_digit(s[i]); i++)
			;
	if (i >= len)
		return local_time((int)y, (int)mo - 1, (int)d, (int)h, (int)mi,
		    (int)sec, t);
	if (s[i] == 'Z')
		off = 0;
	else if (s[i] == '+' || s[i] == '-') {
		long oh = digits(s + i + 1, 2), om;

		om = s[i + 3] == ':' ? digits(s + i + 4, 2) :
		    digits(s + i + 3, 2);
		if (oh < 0 || om < 0 || oh > 23 || om > 59)
			return -1;
		off = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
	} else
		return -1;
	*t = days_from_civil(y, (int)mo, (int)d) * 86400 + h * 3600 +
	    mi * 60 + sec - off;
	return 0;
}

/* logclock_stamp - the time of a stamp */
int
logclock_stamp(struct logclock *c, const char *stamp, size_t len,
    int64_t *t)
{
	long day, hour, min, sec;
	int mon;

	if (len == 15 && is_trad(stamp)) {
		sec = digits(stamp + 13, 2);
		if (sec > 60)
			return -1;
		if (c->has_key && memcmp(c->key, stamp, 12) == 0) {
			*t = c->key_time + sec;
			return 0;
		}
		mon = month_index(stamp);
		day = stamp[4] == ' ' ? digits(stamp + 5, 1) :
		    digits(stamp + 4, 2);
		hour = digits(stamp + 7, 2);
		min = digits(stamp + 10, 2);
		if (day < 1 || day > 31 || hour > 23 || min > 59)
			return -1;
		if (trad_time(c, mon, (int)day, (int)hour, (int)min, 0,
		    &c->key_time) != 0)
			return -1;
		memcpy(c->key, stamp, 12);
		c->has_key = 1;
		*t = c->key_time + sec;
		return 0;
	}
	if (len >= 19 && stamp_iso(stamp, len) == len)
		return iso_time(stamp, len, t);
	return -1;
}

/* logclock_parse_spec - a time given by a person */
int
logclock_parse_spec(struct logclock *c, const char *spec, int64_t *t)
{
	size_t len = strlen(spec), i;
	long v, mult;
	struct tm now;
	time_t ref = c->now;
	char buf[32];

	if (len == 0 || len >= sizeof(buf))
		return -1;
	if (spec[0] == '@' || spec[0] == '-') {
		for (i = 1, v = 0; i < len && is_digit(spec[i]); i++) {
			if (v > 100000000000L)
				return -1;
			v = v * 10 + (spec[i] - '0');
		}
		if (i == 1)
			return -1;
		if (spec[0] == '@') {
			if (i != len)
				return -1;
			*t = v;
			return 0;
		}
		mult = 1;
		if (i + 1 == len) {
			switch (spec[i]) {
			case 's': mult = 1; break;
			case 'm': mult = 60; break;
			case 'h': mult = 3600; break;
			case 'd': mult = 86400; break;
			default: return -1;
			}
		} else if (i != len)
			return -1;
		*t = (int64_t)c->now - (int64_t)v * mult;
		return 0;
	}
	/* YYYY-MM-DD[( |T)HH:MM[:SS]] */
	if (len >= 10 && digits(spec, 4) >= 0 && spec[4] == '-' &&
	    spec[7] == '-') {
		memcpy(buf, spec, len);
		buf[len] = '\0';
		if (len == 10)
			memcpy(buf + 10, " 00:00:00", 10);
		else if (len == 16)
			memcpy(buf + 16, ":00", 4);
		else if (len != 19)
			return -1;
		if (buf[10] != ' ' && buf[10] != 'T')
			return -1;
		if (digits(buf + 5, 2) < 0 || digits(buf + 8, 2) < 0 ||
		    digits(buf + 11, 2) < 0 || buf[13] != ':' ||
		    digits(buf + 14, 2) < 0 || buf[16] != ':' ||
		    digits(buf + 17, 2) < 0)
			return -1;
		return iso_time(buf, 19, t);
	}
	/* Mmm dd HH:MM[:SS] */
	if ((len == 12 || len == 15) && month_index(spec) >= 0) {
		memcpy(buf, spec, len);
		if (len == 12)
			memcpy(buf + 12, ":00", 3);
		if (!is_trad(buf))
			return -1;
		return logclock_stamp(c, buf, 15, t);
	}
	/* HH:MM[:SS] today */
	if ((len == 5 || len == 8) && digits(spec, 2) >= 0 && spec[2] == ':' &&
	    digits(spec + 3, 2) >= 0 && (len == 5 || (spec[5] == ':' &&
	    digits(spec + 6, 2) >= 0))) {
		if (localtime_r(&ref, &now) == NULL)
			return -1;
		if (digits(spec, 2) > 23 || digits(spec + 3, 2) > 59 ||
		    (len == 8 && digits(spec + 6, 2) > 60))
			return -1;
		return local_time(now.tm_year + 1900, now.tm_mon, now.tm_mday,
		    (int)digits(spec, 2), (int)digits(spec + 3, 2),
		    len == 8 ? (int)digits(spec + 6, 2) : 0, t);
	}
	return -1;
}

/* class_kinds - the kinds of a filter class word, or 0 */
static unsigned int
class_kinds(const char *s, size_t n)
{
	static const struct {
		const char *name;
		unsigned int kinds;
	} classes[] = {
#define K(k) (1U << (k))
		{ "any", (1U << LOGKIND_COUNT) - 1 },
		{ "allowed", K(LOGKIND_ALLOWED) },
		{ "allow", K(LOGKIND_ALLOWED) },
		{ "noto", K(LOGKIND_NOTO) | K(LOGKIND_NOTO_DELAY) },
		{ "denied", K(LOGKIND_DENIED) | K(LOGKIND_DENIED_DELAY) },
		{ "deny", K(LOGKIND_DENIED) | K(LOGKIND_DENIED_DELAY) },
		{ "refused", K(LOGKIND_NOTO) | K(LOGKIND_NOTO_DELAY) |
		    K(LOGKIND_DENIED) | K(LOGKIND_DENIED_DELAY) |
		    K(LOGKIND_DEFAULT_REFUSED) },
		{ "deferred", K(LOGKIND_DEFERRED) },
		{ "defer", K(LOGKIND_DEFERRED) },
		{ "default", K(LOGKIND_DEFAULT) | K(LOGKIND_DEFAULT_REFUSED) },
		{ "noto-delay", K(LOGKIND_NOTO_DELAY) },
		{ "noto_delay", K(LOGKIND_NOTO_DELAY) },
		{ "denied-delay", K(LOGKIND_DENIED_DELAY) },
		{ "deny-delay", K(LOGKIND_DENIED_DELAY) },
		{ "deny_delay", K(LOGKIND_DENIED_DELAY) },
#undef K
	};
	size_t i;

	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (strlen(classes[i].name) == n &&
		    strncasecmp(classes[i].name, s, n) == 0)
			return classes[i].kinds;
	return 0;
}

/* logfilter_parse - parse a filter spec */
int
logfilter_parse(const char *spec, struct logfilter *f, char *err,
    size_t errsize)
{
	const char *p = spec, *start, *colon;
	size_t n, i;
	unsigned long line;
	unsigned int kinds;

	memset(f, 0, sizeof(*f));
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != ',')
			p++;
		n = (size_t)(p - start);
		colon = memchr(start, ':', n);
		line = 0;
		if (colon != NULL) {
			size_t ln = (size_t)(start + n - colon - 1);

			for (i = 0; i < ln && i <= 10; i++) {
				if (!is_digit(colon[1 + i]) ||
				    (i == 0 && colon[1] == '0')) {
					line = 0;
					break;
				}
				line = line * 10 +
				    (unsigned long)(colon[1 + i] - '0');
			}
			if (ln == 0 || ln > 10 || line == 0 ||
			    line > LOGPARSE_LINE_MAX) {
				snprintf(err, errsize, "bad line number in "
				    "\"%.*s\"", (int)(n > 60 ? 60 : n), start);
				return -1;
			}
			n = (size_t)(colon - start);
		}
		if ((kinds = class_kinds(start, n)) == 0) {
			snprintf(err, errsize, "unknown kind \"%.*s\" (any, "
			    "allowed, noto, denied, refused, deferred, default, "
			    "noto-delay, denied-delay)", (int)(n > 60 ? 60 : n),
			    start);
			return -1;
		}
		if (f->nterms == LOGFILTER_TERMS) {
			snprintf(err, errsize, "more than %d kinds",
			    LOGFILTER_TERMS);
			return -1;
		}
		f->term[f->nterms].kinds = kinds;
		f->term[f->nterms].line = line;
		f->nterms++;
	}
	return 0;
}

/* logfilter_match - 1 if the decision passes the filter */
int
logfilter_match(const struct logfilter *f, enum logkind kind,
    unsigned long line)
{
	unsigned int i;

	if (f->nterms == 0)
		return 1;
	for (i = 0; i < f->nterms; i++)
		if ((f->term[i].kinds & (1U << kind)) != 0 &&
		    (f->term[i].line == 0 || f->term[i].line == line))
			return 1;
	return 0;
}
