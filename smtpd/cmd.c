/* cmd.c - SMTP verbs, and the syntax of their arguments */
/*
 * Parsers for what a client writes after each verb. They read only the
 * bytes they are given (never past len), write bounded output, and
 * refuse rather than repair: an address that is not RFC 5321 syntax is
 * a 501, never a mangled delivery address.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "../lib/net_addr.h"
#include "cmd.h"

static const struct {
	const char *name;
	enum cmd_verb verb;
} verbs[] = {
	{ "HELO", CMD_HELO }, { "EHLO", CMD_EHLO }, { "MAIL", CMD_MAIL },
	{ "RCPT", CMD_RCPT }, { "DATA", CMD_DATA }, { "RSET", CMD_RSET },
	{ "NOOP", CMD_NOOP }, { "QUIT", CMD_QUIT }, { "VRFY", CMD_VRFY },
	{ "HELP", CMD_HELP },
	{ "EXPN", CMD_NOTIMPL }, { "TURN", CMD_NOTIMPL },
	{ "ETRN", CMD_NOTIMPL }, { "AUTH", CMD_NOTIMPL },
	{ "STARTTLS", CMD_NOTIMPL }, { "BDAT", CMD_NOTIMPL },
	{ "SEND", CMD_NOTIMPL }, { "SOML", CMD_NOTIMPL },
	{ "SAML", CMD_NOTIMPL }, { "ATRN", CMD_NOTIMPL },
};

/* is_blank - SP or HT */
static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* is_alpha - ASCII letter */
static int
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* is_digit - ASCII digit */
static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* cmd_parse - split a line into verb and argument */
void
cmd_parse(const char *line, size_t len, struct cmd *c)
{
	size_t i, n;

	c->verb = CMD_UNKNOWN;
	c->arg = line;
	c->arglen = 0;
	for (n = 0; n < len && is_alpha((unsigned char)line[n]); n++)
		;
	if (n == 0 || (n < len && !is_blank(line[n])))
		return;
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strlen(verbs[i].name) == n &&
		    strncasecmp(verbs[i].name, line, n) == 0) {
			c->verb = verbs[i].verb;
			break;
		}
	if (c->verb == CMD_UNKNOWN)
		return;
	while (n < len && is_blank(line[n]))
		n++;
	c->arg = line + n;
	c->arglen = len - n;
	while (c->arglen > 0 && is_blank(c->arg[c->arglen - 1]))
		c->arglen--;
}

/* cmd_verb_name - the verb in upper case */
const char *
cmd_verb_name(enum cmd_verb verb)
{
	size_t i;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].verb == verb && verb != CMD_NOTIMPL)
			return verbs[i].name;
	return verb == CMD_NOTIMPL ? "(not implemented)" : "(unknown)";
}

/* cmd_is_text - no control bytes but tab, no DEL, no 8-bit */
int
cmd_is_text(const char *line, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if ((c < 0x20 && c != '\t') || c >= 0x7f)
			return 0;
	}
	return 1;
}

/* cmd_helo_ok - a usable HELO argument */
int
cmd_helo_ok(const char *arg, size_t len)
{
	size_t i;

	if (len == 0 || len > SMTPD_HELO_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)arg[i] < 0x20 ||
		    (unsigned char)arg[i] > 0x7e)
			return 0;
	return 1;
}

/* is_atext - RFC 5322 atext */
static int
is_atext(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || (c != '\0' &&
	    strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* local_ok - a Dot-string or a Quoted-string (no '<', '>' inside) */
static int
local_ok(const char *s, size_t len)
{
	size_t i;
	int was_dot = 1;

	if (len == 0 || len > SMTPD_LOCAL_MAX)
		return 0;
	if (s[0] == '"') {
		if (len < 2 || s[len - 1] != '"')
			return 0;
		for (i = 1; i < len - 1; i++) {
			unsigned char c = (unsigned char)s[i];

			if (c == '\\') {
				if (++i >= len - 1)
					return 0;
				c = (unsigned char)s[i];
				if (c < 0x20 || c > 0x7e)
					return 0;
			} else if (c < 0x20 || c > 0x7e || c == '"')
				return 0;
			if (c == '<' || c == '>')
				return 0;
		}
		return 1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (was_dot)
				return 0;
			was_dot = 1;
		} else if (is_atext(c))
			was_dot = 0;
		else
			return 0;
	}
	return !was_dot;
}

/* domain_ok - dotted labels, or an address literal */
static int
domain_ok(const char *s, size_t len)
{
	struct net_addr a;
	size_t i, label = 0;

	if (len == 0 || len > SMTPD_DOMAIN_MAX)
		return 0;
	if (s[0] == '[') {
		if (len < 3 || s[len - 1] != ']')
			return 0;
		if (len > 7 && strncasecmp(s + 1, "IPv6:", 5) == 0)
			return net_addr_parse(s + 6, len - 7, &a) == 0 &&
			    a.family == NET_V6;
		return net_addr_parse(s + 1, len - 2, &a) == 0 &&
		    a.family == NET_V4;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_')
			return 0;
		if (label == 0 && c == '-')
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && s[len - 1] != '-';
}

/* path_end - index of the '>' that closes the path at s[0] == '<' */
static size_t
path_end(const char *s, size_t len)
{
	size_t i;
	int quoted = 0;

	for (i = 1; i < len; i++) {
		if (quoted && s[i] == '\\' && i + 1 < len) {
			i++;
			continue;
		}
		if (s[i] == '"')
			quoted = !quoted;
		else if (s[i] == '>' && !quoted)
			return i;
	}
	return len;
}

/* skip_route - length of a source route "@a,@b:" at s, or 0 */
static size_t
skip_route(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || s[0] != '@')
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == ':')
			return i + 1;
		if (s[i] == '"')
			return 0;
	}
	return 0;
}

/* cmd_path - parse a MAIL FROM or RCPT TO argument */
enum cmd_path_status
cmd_path(const char *arg, size_t len, const char *keyword, int is_null_ok,
    int is_postmaster_ok, char out[SMTPD_PATH_MAX + 1], const char **params,
    size_t *paramslen)
{
	size_t klen = strlen(keyword), i, start, end, after, at, r;
	const char *mbox;
	size_t mlen;

	out[0] = '\0';
	*params = arg + len;
	*paramslen = 0;
	if (len < klen || strncasecmp(arg, keyword, klen) != 0)
		return CMD_PATH_SYNTAX;
	i = klen;
	while (i < len && is_blank(arg[i]))
		i++;
	if (i == len)
		return CMD_PATH_SYNTAX;
	if (arg[i] == '<') {
		start = i + 1;
		end = i + path_end(arg + i, len - i);
		if (end >= len)
			return CMD_PATH_BAD;
		after = end + 1;
	} else {
		start = i;
		for (end = i; end < len && !is_blank(arg[end]); end++)
			;
		after = end;
	}
	if (after < len && !is_blank(arg[after]))
		return CMD_PATH_BAD;
	while (after < len && is_blank(arg[after]))
		after++;
	*params = arg + after;
	*paramslen = len - after;
	if (end - start + 2 > SMTPD_PATH_MAX)
		return CMD_PATH_LONG;
	r = skip_route(arg + start, end - start);
	mbox = arg + start + r;
	mlen = end - start - r;
	if (mlen == 0) {
		if (!is_null_ok || r != 0)
			return CMD_PATH_BAD;
		memcpy(out, "<>", 3);
		return CMD_PATH_OK;
	}
	if (is_postmaster_ok && mlen == 10 &&
	    strncasecmp(mbox, "postmaster", 10) == 0) {
		out[0] = '<';
		memcpy(out + 1, mbox, mlen);
		out[mlen + 1] = '>';
		out[mlen + 2] = '\0';
		return CMD_PATH_OK;
	}
	/* The last '@' outside quotes splits local part and domain. */
	at = mlen;
	{
		int quoted = 0;

		for (i = 0; i < mlen; i++) {
			if (quoted && mbox[i] == '\\' && i + 1 < mlen) {
				i++;
				continue;
			}
			if (mbox[i] == '"')
				quoted = !quoted;
			else if (mbox[i] == '@' && !quoted)
				at = i;
		}
	}
	if (at == mlen || at == 0)
		return CMD_PATH_BAD;
	if (at > SMTPD_LOCAL_MAX || mlen - at - 1 > SMTPD_DOMAIN_MAX)
		return CMD_PATH_LONG;
	if (!local_ok(mbox, at) || !domain_ok(mbox + at + 1, mlen - at - 1))
		return CMD_PATH_BAD;
	out[0] = '<';
	memcpy(out + 1, mbox, mlen);
	out[mlen + 1] = '>';
	out[mlen + 2] = '\0';
	return CMD_PATH_OK;
}

/* cmd_mail_params - SIZE= and BODY= */
enum cmd_param_status
cmd_mail_params(const char *p, size_t len, struct cmd_mail_params *mp)
{
	size_t i = 0, k, klen, vlen;
	const char *key, *val;
	int has_body = 0;

	memset(mp, 0, sizeof(*mp));
	while (i < len) {
		key = p + i;
		for (k = i; k < len && !is_blank(p[k]); k++)
			;
		/* key[0..k-i) is one "KEY=VALUE" or "KEY" word */
		val = memchr(key, '=', k - i);
		klen = val != NULL ? (size_t)(val - key) : k - i;
		vlen = val != NULL ? k - i - klen - 1 : 0;
		if (val != NULL)
			val++;
		if (klen == 4 && strncasecmp(key, "SIZE", 4) == 0) {
			unsigned long long v = 0;
			size_t j;

			if (mp->has_size || val == NULL || vlen == 0 ||
			    vlen > 20)
				return CMD_PARAM_SYNTAX;
			for (j = 0; j < vlen; j++) {
				if (!is_digit((unsigned char)val[j]))
					return CMD_PARAM_SYNTAX;
				if (v > (ULLONG_MAX - 9) / 10)
					v = ULLONG_MAX;
				else
					v = v * 10 + (unsigned)(val[j] - '0');
			}
			mp->has_size = 1;
			mp->size = v;
		} else if (klen == 4 && strncasecmp(key, "BODY", 4) == 0) {
			if (has_body || val == NULL)
				return CMD_PARAM_SYNTAX;
			has_body = 1;
			if (vlen == 8 && strncasecmp(val, "8BITMIME", 8) == 0)
				mp->is_8bitmime = 1;
			else if (!(vlen == 4 &&
			    strncasecmp(val, "7BIT", 4) == 0))
				return CMD_PARAM_UNKNOWN;
		} else if (klen == 0)
			return CMD_PARAM_SYNTAX;
		else
			return CMD_PARAM_UNKNOWN;
		i = k;
		while (i < len && is_blank(p[i]))
			i++;
	}
	return CMD_PARAM_OK;
}
