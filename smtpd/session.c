/* session.c - the SMTP state machine: bytes in, replies out, no sockets */
/*
 * RFC 5321 ESMTP with PIPELINING, SIZE, 8BITMIME and
 * ENHANCEDSTATUSCODES (design.md section 4). States: before the banner,
 * commands, message data, closed. A transaction is MAIL, one or more
 * accepted RCPTs, DATA; RSET, HELO/EHLO and the end of DATA reset it.
 * Every reply is queued in a bounded output buffer; the caller sends it.
 * Recipients are decided by the policy; messages go to the spool sink
 * and are acknowledged only after the sink's commit succeeded.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "../lib/log.h"
#include "cmd.h"
#include "data.h"
#include "session.h"
#include "smtpd_limits.h"

enum session_state {
	ST_NEW,		/* before the banner */
	ST_CMD,		/* reading commands */
	ST_DATA,	/* reading a message */
	ST_CLOSED	/* send the output, then hang up */
};

#define REPLY_MAX	512	/* a reply line with CRLF (RFC 5321) */
#define OUT_SIZE	(SMTPD_OUT_HIGH + 4 * REPLY_MAX)	/* at most */
#define OUT_START	4096	/* to begin with: most sessions need less */
#define RCPT_START	4	/* recipient slots to begin with */
#define QLOG_MAX	2048	/* the -q line */
#define EARLY_REPLY	"554 5.5.1 %s Error: talked before the greeting"

struct session {
	const struct session_config *cfg;
	const struct session_peer *peer;
	const struct policy_ops *policy;
	const struct spool_sink *sink;
	const struct session_env *env;
	enum session_state state;
	const char *end;		/* why the session closed */

	char line[SMTPD_CMD_MAX];	/* a partial command line */
	size_t line_len;
	int is_line_long;		/* discarding to the next LF */

	size_t out_off, out_len;
	size_t out_cap;			/* OUT_START, doubled up to OUT_SIZE */
	char *out;

	char helo[SMTPD_HELO_MAX + 1];
	int has_helo;
	int is_esmtp;

	int has_mail;
	char from[SMTPD_PATH_MAX + 1];
	struct cmd_mail_params mp;
	char (*rcpt)[SMTPD_PATH_MAX + 1];	/* up to cfg->max_rcpt */
	size_t nrcpt;
	size_t rcpt_cap;		/* slots allocated */
	unsigned int rcpt_tried;
	int is_spool_open;
	char id[SPOOL_ID_MAX + 1];
	struct data_state data;

	unsigned int errors;
	unsigned int commands;
	unsigned int messages;
	unsigned int recipients;
	unsigned int refused;
	unsigned long long bytes;
	struct timeval start;

	char qlog[QLOG_MAX];		/* -q: the transaction's line */
	size_t qlog_len;
};

static int rcpt_grow(struct session *s);

/* field - client text for a key=value log field: printable, capped, no
   blank, quote or '=' (so the line still splits on blanks) */
static char *
field(char *dst, size_t size, const char *src)
{
	size_t i;

	printable(dst, size < SMTPD_LOG_FIELD ? size : SMTPD_LOG_FIELD, src,
	    strlen(src));
	for (i = 0; dst[i] != '\0'; i++)
		if (dst[i] == ' ' || dst[i] == '"' || dst[i] == '=')
			dst[i] = '?';
	return dst;
}

/* text - client text for an original-template log line */
static char *
text(char *dst, size_t size, const char *src, size_t len)
{
	return printable(dst, size < SMTPD_LOG_FIELD ? size : SMTPD_LOG_FIELD,
	    src, len);
}

/* reply - queue one reply line (CRLF added) */
static void __attribute__((format(printf, 2, 3)))
reply(struct session *s, const char *fmt, ...)
{
	char line[REPLY_MAX], *p;
	va_list ap;
	int n;
	size_t len, need, cap;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	len = strlen(line);
	need = s->out_len + len + 2;
	if (s->out_off > 0 && s->out_off + need > s->out_cap) {
		memmove(s->out, s->out + s->out_off, s->out_len);
		s->out_off = 0;
	}
	if (need > s->out_cap) {
		cap = s->out_cap;
		while (cap < need && cap < OUT_SIZE)
			cap *= 2;
		if (cap > OUT_SIZE)
			cap = OUT_SIZE;
		if (need > cap) {
			/* Cannot happen: input stops at SMTPD_OUT_HIGH. */
			log_warnx("event=bug what=output-overflow");
			return;
		}
		if ((p = realloc(s->out, cap)) == NULL) {
			log_warn("event=session-error reply dropped");
			return;
		}
		s->out = p;
		s->out_cap = cap;
	}
	memcpy(s->out + s->out_off + s->out_len, line, len);
	memcpy(s->out + s->out_off + s->out_len + len, "\r\n", 2);
	s->out_len += len + 2;
}

/* qlog_add - append a piece to the -q line, bounded */
static void __attribute__((format(printf, 2, 3)))
qlog_add(struct session *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!s->cfg->is_quiet || s->qlog_len + 8 >= sizeof(s->qlog))
		return;
	va_start(ap, fmt);
	n = vsnprintf(s->qlog + s->qlog_len, sizeof(s->qlog) - s->qlog_len,
	    fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(s->qlog) - s->qlog_len) {
		s->qlog_len = sizeof(s->qlog) - 1;
		memcpy(s->qlog + sizeof(s->qlog) - 5, " ...", 4);
	} else
		s->qlog_len += (size_t)n;
}

/* qlog_flush - -q: log the transaction line, if it has anything */
static void
qlog_flush(struct session *s)
{
	char h[SMTPD_LOG_FIELD];

	if (!s->cfg->is_quiet || s->qlog_len == 0)
		return;
	if (s->has_helo && strcasecmp(s->helo, s->peer->name) != 0)
		log_info("relay=%s/%s as \"%s\"%s", s->peer->name, s->peer->ip,
		    text(h, sizeof(h), s->helo, strlen(s->helo)), s->qlog);
	else
		log_info("relay=%s/%s%s", s->peer->name, s->peer->ip, s->qlog);
	s->qlog_len = 0;
	s->qlog[0] = '\0';
}

/* spool_forget - abort the message being written, if any */
static void
spool_forget(struct session *s)
{
	if (s->is_spool_open) {
		s->sink->abort(s->sink->arg);
		s->is_spool_open = 0;
	}
}

/* txn_reset - forget the transaction (MAIL, RCPTs, an open message) */
static void
txn_reset(struct session *s)
{
	spool_forget(s);
	qlog_flush(s);
	s->has_mail = 0;
	s->from[0] = '\0';
	s->nrcpt = 0;
	s->rcpt_tried = 0;
	s->id[0] = '\0';
	memset(&s->mp, 0, sizeof(s->mp));
}

/* elapsed_ms - milliseconds from start to now, never negative */
static long long
elapsed_ms(const struct timeval *start, const struct timeval *now)
{
	long long ms;

	ms = (long long)(now->tv_sec - start->tv_sec) * 1000 +
	    (now->tv_usec - start->tv_usec) / 1000;
	return ms < 0 ? 0 : ms;
}

/* close_session - end the dialogue: log the summary line */
static void
close_session(struct session *s, const char *why)
{
	struct timeval now;
	char h[SMTPD_LOG_FIELD];
	long long ms;

	if (s->state == ST_CLOSED)
		return;
	txn_reset(s);
	s->state = ST_CLOSED;
	s->end = why;
	s->env->now(s->env->arg, &now);
	ms = elapsed_ms(&s->start, &now);
	log_info("event=session ip=%s name=%s helo=%s messages=%u "
	    "recipients=%u refused=%u errors=%u commands=%u bytes=%llu "
	    "seconds=%lld.%03lld end=%s", s->peer->ip, s->peer->name,
	    s->has_helo ? field(h, sizeof(h), s->helo) : "-", s->messages,
	    s->recipients, s->refused, s->errors, s->commands, s->bytes,
	    ms / 1000, ms % 1000, why);
}

/* pause_for - wait (tarpit and rule delays); the caller sends first */
static void
pause_for(struct session *s, unsigned int seconds)
{
	if (seconds > 0)
		s->env->pause(s->env->arg, seconds);
}

/* error_done - count a client error; past the cap, 421 and close */
static void
error_done(struct session *s)
{
	s->errors++;
	if (s->cfg->max_errors > 0 && s->errors >= s->cfg->max_errors &&
	    s->state != ST_CLOSED) {
		reply(s, "421 4.7.0 %s Error: too many errors",
		    s->cfg->myname);
		close_session(s, "errors");
	}
}

/* error_reply - tarpit, then a 4xx/5xx reply the client caused */
static void __attribute__((format(printf, 2, 3)))
error_reply(struct session *s, const char *fmt, ...)
{
	char line[REPLY_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	pause_for(s, s->cfg->tarpit_delay);
	reply(s, "%s", line);
	error_done(s);
}

/* do_helo - HELO and EHLO */
static void
do_helo(struct session *s, const struct cmd *c, int is_ehlo)
{
	char h[SMTPD_LOG_FIELD];

	if (c->arglen == 0) {
		error_reply(s, "501 5.5.4 Syntax: %s hostname",
		    is_ehlo ? "EHLO" : "HELO");
		return;
	}
	if (!cmd_helo_ok(c->arg, c->arglen)) {
		error_reply(s, "501 5.5.4 Error: invalid %s argument",
		    is_ehlo ? "EHLO" : "HELO");
		return;
	}
	txn_reset(s);
	memcpy(s->helo, c->arg, c->arglen);
	s->helo[c->arglen] = '\0';
	s->has_helo = 1;
	s->is_esmtp = is_ehlo;
	if (!s->cfg->is_quiet)
		log_info("SMTP HELO from %s(%s) as \"%s\"", s->peer->name,
		    s->peer->ip, text(h, sizeof(h), s->helo, strlen(s->helo)));
	if (!is_ehlo) {
		reply(s, "250 %s", s->cfg->myname);
		return;
	}
	reply(s, "250-%s", s->cfg->myname);
	reply(s, "250-PIPELINING");
	reply(s, "250-SIZE %llu", s->cfg->max_size);
	reply(s, "250-8BITMIME");
	reply(s, "250 ENHANCEDSTATUSCODES");
}

/* do_mail - MAIL FROM */
static void
do_mail(struct session *s, const struct cmd *c)
{
	char path[SMTPD_PATH_MAX + 1], t[SMTPD_LOG_FIELD];
	const char *params;
	size_t plen;
	struct cmd_mail_params mp;

	if (!s->has_helo) {
		error_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->has_mail) {
		error_reply(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (s->cfg->max_messages > 0 && s->messages >= s->cfg->max_messages) {
		reply(s, "421 4.7.0 %s Error: too many messages in one "
		    "session", s->cfg->myname);
		close_session(s, "messages");
		return;
	}
	switch (cmd_path(c->arg, c->arglen, "FROM:", 1, 0, path, &params,
	    &plen)) {
	case CMD_PATH_OK:
		break;
	case CMD_PATH_SYNTAX:
		error_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	case CMD_PATH_LONG:
		error_reply(s, "501 5.1.7 Sender address too long");
		return;
	case CMD_PATH_BAD:
		error_reply(s, "501 5.1.7 Bad sender address syntax");
		return;
	}
	switch (cmd_mail_params(params, plen, &mp)) {
	case CMD_PARAM_OK:
		break;
	case CMD_PARAM_SYNTAX:
		error_reply(s, "501 5.5.4 Syntax error in MAIL parameters");
		return;
	case CMD_PARAM_UNKNOWN:
		error_reply(s, "555 5.5.4 Unsupported MAIL parameter");
		return;
	}
	if (mp.has_size && mp.size > s->cfg->max_size) {
		error_reply(s, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	memcpy(s->from, path, sizeof(path));
	s->mp = mp;
	s->has_mail = 1;
	if (s->cfg->is_quiet)
		qlog_add(s, " from=%s", text(t, sizeof(t), path, strlen(path)));
	else
		log_info("mail from %s",
		    text(t, sizeof(t), path, strlen(path)));
	reply(s, "250 2.1.0 Sender %s OK", path);
}

/* reply_ok - a policy reply is one printable line starting 4xx or 5xx */
static int
reply_ok(const char *r)
{
	size_t i, len = strlen(r);

	if (len < 3 || len > REPLY_MAX - 2 || (r[0] != '4' && r[0] != '5') ||
	    r[1] < '0' || r[1] > '9' || r[2] < '0' || r[2] > '9' ||
	    (r[3] != '\0' && r[3] != ' '))
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)r[i] < 0x20 || (unsigned char)r[i] > 0x7e)
			return 0;
	return 1;
}

/* do_rcpt - RCPT TO: syntax, limits, then the policy */
static void
do_rcpt(struct session *s, const struct cmd *c)
{
	char path[SMTPD_PATH_MAX + 1], t[SMTPD_LOG_FIELD];
	const char *params;
	size_t plen, i;
	struct policy_query q;
	struct policy_verdict v;

	if (!s->has_mail) {
		error_reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	switch (cmd_path(c->arg, c->arglen, "TO:", 0, 1, path, &params,
	    &plen)) {
	case CMD_PATH_OK:
		break;
	case CMD_PATH_SYNTAX:
		error_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	case CMD_PATH_LONG:
		error_reply(s, "501 5.1.3 Recipient address too long");
		return;
	case CMD_PATH_BAD:
		error_reply(s, "501 5.1.3 Bad recipient address syntax");
		return;
	}
	if (plen > 0) {
		error_reply(s, "555 5.5.4 Unsupported RCPT parameter");
		return;
	}
	for (i = 0; i < s->nrcpt; i++)
		if (strcmp(s->rcpt[i], path) == 0) {
			reply(s, "250 2.1.5 Recipient %s OK", path);
			return;
		}
	if (s->nrcpt >= s->cfg->max_rcpt) {
		reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	if (s->nrcpt == s->rcpt_cap && rcpt_grow(s) == -1) {
		log_warn("event=session-error no room for a recipient");
		reply(s, "452 4.3.1 Insufficient system storage");
		return;
	}
	s->rcpt_tried++;
	memset(&q, 0, sizeof(q));
	q.stage = POLICY_RCPT;
	q.helo = s->helo;
	q.from = s->from;
	q.to = path;
	s->policy->check(s->policy->arg, &q, &v);
	if (v.action != POLICY_ACCEPT && !reply_ok(v.reply))
		snprintf(v.reply, sizeof(v.reply), "%s",
		    v.action == POLICY_TEMPFAIL ?
		    "451 4.3.0 Temporary failure, try again later" :
		    "550 5.7.1 Recipient refused");
	switch (v.action) {
	case POLICY_ACCEPT:
		memcpy(s->rcpt[s->nrcpt++], path, sizeof(path));
		s->recipients++;
		text(t, sizeof(t), path, strlen(path));
		if (s->cfg->is_quiet)
			qlog_add(s, " to=%s", t);
		else
			log_info("Recipient %s", t);
		reply(s, "250 2.1.5 Recipient %s OK", path);
		return;
	case POLICY_REFUSE:
	case POLICY_TEMPFAIL:
		s->refused++;
		qlog_add(s, " discarded bad recipient=%s",
		    text(t, sizeof(t), path, strlen(path)));
		pause_for(s, v.delay > 0 ? v.delay : s->cfg->tarpit_delay);
		reply(s, "%s", v.reply);
		error_done(s);
		return;
	case POLICY_DENY:
		s->refused++;
		qlog_add(s, " forbidden FROM or RCPT");
		log_info("Forbidden FROM or RCPT for host %s(%s) - Abandoning "
		    "session", s->peer->name, s->peer->ip);
		pause_for(s, v.delay > 0 ? v.delay : s->cfg->tarpit_delay);
		reply(s, "%s", v.reply);
		reply(s, "421 4.7.0 %s closing connection", s->cfg->myname);
		close_session(s, "deny");
		return;
	}
}

/* is_disk_full - errno values answered with 452 */
static int
is_disk_full(int e)
{
	return e == ENOSPC || e == EDQUOT;
}

/* do_data - DATA: open the spool file, write Received, answer 354 */
static void
do_data(struct session *s, const struct cmd *c)
{
	struct spool_meta m;
	struct timeval now;
	const char *rcpt[SMTPD_RCPT_LIMIT];
	char hdr[2048];
	size_t i;
	int n, e;

	if (c->arglen > 0) {
		error_reply(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	if (!s->has_mail) {
		error_reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (s->nrcpt == 0) {
		if (s->rcpt_tried > 0)
			error_reply(s, "554 5.5.1 Error: no valid recipients");
		else
			error_reply(s, "503 5.5.1 Error: need RCPT command");
		return;
	}
	s->env->now(s->env->arg, &now);
	memset(&m, 0, sizeof(m));
	m.time = now.tv_sec;
	m.usec = now.tv_usec;
	m.client_ip = s->peer->ip;
	m.client_name = s->peer->name;
	m.helo = s->helo;
	m.ident = s->policy->ident != NULL ?
	    s->policy->ident(s->policy->arg) : NULL;
	m.proto = s->is_esmtp ? "ESMTP" : "SMTP";
	m.body_type = s->mp.is_8bitmime ? "8BITMIME" : "7BIT";
	m.from = s->from;
	for (i = 0; i < s->nrcpt; i++)
		rcpt[i] = s->rcpt[i];
	m.rcpt = rcpt;
	m.nrcpt = s->nrcpt;
	if (s->sink->open(s->sink->arg, &m, s->id) == -1) {
		e = errno;
		log_warn("event=spool-error stage=open ip=%s", s->peer->ip);
		if (is_disk_full(e))
			reply(s, "452 4.3.1 Insufficient system storage");
		else
			reply(s, "451 4.3.0 Error: local problem, try again "
			    "later");
		txn_reset(s);
		return;
	}
	s->is_spool_open = 1;
	n = data_received(hdr, sizeof(hdr), s->helo, s->peer->name,
	    s->peer->ip, m.ident, s->cfg->myname, m.proto, s->id,
	    s->nrcpt == 1 ? s->rcpt[0] : NULL, now.tv_sec);
	if (n < 0 || s->sink->write(s->sink->arg, hdr, (size_t)n) == -1) {
		log_warn("event=spool-error stage=received ip=%s", s->peer->ip);
		reply(s, "451 4.3.0 Error: local problem, try again later");
		txn_reset(s);
		return;
	}
	data_start(&s->data, s->sink, s->cfg->max_size);
	s->state = ST_DATA;
	reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

/* data_done - the final dot was read: check, commit, answer */
static void
data_done(struct session *s)
{
	struct data_state *d = &s->data;
	char t[SMTPD_LOG_FIELD];
	int e;

	s->state = ST_CMD;
	(void)data_flush(d);
	if (d->has_bare_lf && !s->cfg->is_bare_lf_ok) {
		log_info("event=reject ip=%s name=%s reason=bare-lf bytes=%llu",
		    s->peer->ip, s->peer->name, d->size);
		reply(s, "554 5.5.2 Error: bare <LF> received; closing "
		    "connection");
		close_session(s, "bare-lf");
		return;
	}
	if (d->is_over) {
		log_info("event=reject ip=%s name=%s reason=size bytes=%llu "
		    "limit=%llu", s->peer->ip, s->peer->name, d->size,
		    s->cfg->max_size);
		txn_reset(s);
		error_reply(s, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	if (d->hops > SMTPD_HOPS_MAX) {
		log_info("event=reject ip=%s name=%s reason=hops hops=%u",
		    s->peer->ip, s->peer->name, d->hops);
		txn_reset(s);
		error_reply(s, "554 5.4.6 Error: too many hops (mail loop?)");
		return;
	}
	if (d->has_write_error || s->sink->commit(s->sink->arg) == -1) {
		e = d->has_write_error ? d->write_errno : errno;
		s->is_spool_open = d->has_write_error;
		errno = e;
		log_warn("event=spool-error stage=%s ip=%s id=%s",
		    d->has_write_error ? "write" : "commit", s->peer->ip,
		    s->id);
		txn_reset(s);
		if (is_disk_full(e))
			reply(s, "452 4.3.1 Insufficient system storage");
		else
			reply(s, "451 4.3.0 Error: local problem, try again "
			    "later");
		return;
	}
	s->is_spool_open = 0;
	s->messages++;
	s->bytes += d->size;
	if (s->cfg->is_quiet)
		qlog_add(s, " bytes=%llu id=%s", d->size, s->id);
	else {
		log_info("Received %llu bytes of message body from %s(%s)",
		    d->size, s->peer->name, s->peer->ip);
		log_info("event=queued id=%s ip=%s from=%s recipients=%zu "
		    "bytes=%llu", s->id, s->peer->ip,
		    field(t, sizeof(t), s->from), s->nrcpt, d->size);
	}
	reply(s, "250 2.0.0 Ok: queued as %s", s->id);
	txn_reset(s);
}

/* do_command - one complete command line, without its line end */
static void
do_command(struct session *s, const char *line, size_t len)
{
	struct cmd c;

	if (++s->commands > SMTPD_COMMANDS_MAX) {
		reply(s, "421 4.7.0 %s Error: too many commands",
		    s->cfg->myname);
		close_session(s, "commands");
		return;
	}
	if (!cmd_is_text(line, len)) {
		error_reply(s, "500 5.5.2 Error: bad characters in command");
		return;
	}
	cmd_parse(line, len, &c);
	switch (c.verb) {
	case CMD_HELO:
		do_helo(s, &c, 0);
		break;
	case CMD_EHLO:
		do_helo(s, &c, 1);
		break;
	case CMD_MAIL:
		do_mail(s, &c);
		break;
	case CMD_RCPT:
		do_rcpt(s, &c);
		break;
	case CMD_DATA:
		do_data(s, &c);
		break;
	case CMD_RSET:
		if (c.arglen > 0) {
			error_reply(s, "501 5.5.4 Syntax: RSET");
			break;
		}
		txn_reset(s);
		reply(s, "250 2.0.0 OK");
		break;
	case CMD_NOOP:
		reply(s, "250 2.0.0 OK");
		break;
	case CMD_QUIT:
		reply(s, "221 2.0.0 %s closing connection", s->cfg->myname);
		close_session(s, "quit");
		break;
	case CMD_VRFY:
		if (c.arglen == 0)
			error_reply(s, "501 5.5.4 Syntax: VRFY address");
		else
			reply(s, "252 2.5.2 Cannot VRFY user, but will accept "
			    "message and attempt delivery");
		break;
	case CMD_HELP:
		reply(s, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET "
		    "NOOP QUIT VRFY HELP");
		break;
	case CMD_NOTIMPL:
		error_reply(s, "502 5.5.1 Error: command not implemented");
		break;
	case CMD_UNKNOWN:
		error_reply(s, "500 5.5.2 Error: command not recognized");
		break;
	}
}

/* rcpt_grow - twice the recipient slots, at most max_rcpt; 0 or -1 */
static int
rcpt_grow(struct session *s)
{
	size_t cap = s->rcpt_cap == 0 ? RCPT_START : s->rcpt_cap * 2;
	void *p;

	if (cap > s->cfg->max_rcpt)
		cap = s->cfg->max_rcpt;
	if ((p = reallocarray(s->rcpt, cap, sizeof(*s->rcpt))) == NULL)
		return -1;
	s->rcpt = p;
	s->rcpt_cap = cap;
	return 0;
}

/*
 * session_alloc - a session with every field zero but the body buffer
 * (data.out: data_start() leaves it alone too), whose 16 KB a short
 * message never reaches; calloc() would write them all, and on a fresh
 * process every page written is a page fault.
 */
static struct session *
session_alloc(void)
{
	struct session *s;
	size_t lo = offsetof(struct session, data) +
	    offsetof(struct data_state, out);
	size_t hi = lo + sizeof(s->data.out);

	if ((s = malloc(sizeof(*s))) == NULL)
		return NULL;
	memset(s, 0, lo);
	memset((char *)s + hi, 0, sizeof(*s) - hi);
	return s;
}

/* session_new - a session before its banner */
struct session *
session_new(const struct session_config *cfg, const struct session_peer *peer,
    const struct policy_ops *policy, const struct spool_sink *sink,
    const struct session_env *env)
{
	struct session *s;
	unsigned int n = cfg->max_rcpt;

	if (n == 0 || n > SMTPD_RCPT_LIMIT) {
		errno = EINVAL;
		return NULL;
	}
	if ((s = session_alloc()) == NULL)
		return NULL;
	/* Both grow as needed, within their bounds (OUT_SIZE, max_rcpt):
	   a session that sends one message touches a few KB, not 90. */
	if ((s->out = malloc(OUT_START)) == NULL) {
		free(s);
		return NULL;
	}
	s->out_cap = OUT_START;
	s->cfg = cfg;
	s->peer = peer;
	s->policy = policy;
	s->sink = sink;
	s->env = env;
	s->state = ST_NEW;
	env->now(env->arg, &s->start);
	return s;
}

/* session_free - release everything; an open message is aborted */
void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	session_abandon(s);
	free(s->rcpt);
	free(s->out);
	free(s);
}

/* session_abandon - abort an open message */
void
session_abandon(struct session *s)
{
	spool_forget(s);
}

/* log_early - the early-talker line: what the client said too soon */
static void
log_early(const struct session_peer *peer, const char *early, size_t len)
{
	char t[64];
	size_t i;

	printable(t, sizeof(t), early, len);
	for (i = 0; t[i] != '\0'; i++)
		if (t[i] == ' ' || t[i] == '"' || t[i] == '=')
			t[i] = '?';
	log_info("event=early-talker ip=%s name=%s bytes=%zu text=%s",
	    peer->ip, peer->name, len, t);
}

/* session_banner - the greeting, or the early talker's refusal */
void
session_banner(struct session *s, const char *early, size_t earlylen)
{
	if (s->state != ST_NEW)
		return;
	s->state = ST_CMD;
	if (early != NULL && earlylen > 0) {
		log_early(s->peer, early, earlylen);
		reply(s, EARLY_REPLY, s->cfg->myname);
		close_session(s, "early-talker");
		return;
	}
	reply(s, "220 %s ESMTP %s", s->cfg->myname, s->cfg->banner_text);
}

/* session_early_reply - the early talker's refusal, with CRLF */
size_t
session_early_reply(const char *myname, char *buf, size_t size)
{
	int n;

	if (size == 0)
		return 0;
	n = snprintf(buf, size, EARLY_REPLY "\r\n", myname);
	if (n < 0 || (size_t)n >= size) {
		buf[0] = '\0';
		return 0;
	}
	return (size_t)n;
}

/* session_log_unserved - the lines of a connection without a session */
void
session_log_unserved(const struct session_peer *peer,
    const struct timeval *start, const struct timeval *now,
    const char *early, size_t earlylen, const char *why)
{
	long long ms = elapsed_ms(start, now);

	if (early != NULL && earlylen > 0)
		log_early(peer, early, earlylen);
	log_info("event=session ip=%s name=%s helo=- messages=0 "
	    "recipients=0 refused=0 errors=0 commands=0 bytes=0 "
	    "seconds=%lld.%03lld end=%s", peer->ip, peer->name, ms / 1000,
	    ms % 1000, why);
}

/* pending - bytes of output not yet sent */
static size_t
pending(const struct session *s)
{
	return s->out_len;
}

/* session_input - process client bytes */
size_t
session_input(struct session *s, const char *buf, size_t len)
{
	size_t i = 0, take, n;
	const char *lf;
	int is_done;

	if (s->state == ST_NEW)
		session_banner(s, NULL, 0);
	while (i < len && s->state != ST_CLOSED &&
	    pending(s) < SMTPD_OUT_HIGH) {
		/* Pipelined commands each with a delay or a slow lookup
		   must not outlast the session: the driver ends it. */
		if (s->env->is_late != NULL && s->env->is_late(s->env->arg))
			break;
		if (s->state == ST_DATA) {
			n = data_input(&s->data, buf + i, len - i, &is_done);
			i += n;
			if (is_done)
				data_done(s);
			continue;
		}
		lf = memchr(buf + i, '\n', len - i);
		take = lf != NULL ? (size_t)(lf - (buf + i)) : len - i;
		if (!s->is_line_long) {
			/* The LF makes SMTPD_CMD_MAX bytes at most. */
			if (s->line_len + take < sizeof(s->line)) {
				memcpy(s->line + s->line_len, buf + i, take);
				s->line_len += take;
			} else
				s->is_line_long = 1;
		}
		i += take;
		if (lf == NULL)
			break;
		i++;	/* the LF */
		n = s->line_len;
		if (n > 0 && s->line[n - 1] == '\r')
			n--;
		if (s->is_line_long)
			error_reply(s, "500 5.5.2 Error: line too long");
		else
			do_command(s, s->line, n);
		s->line_len = 0;
		s->is_line_long = 0;
	}
	return i;
}

/* session_timeout - no input in time, or the client does not read */
void
session_timeout(struct session *s, const char *what)
{
	if (s->state == ST_CLOSED)
		return;
	if (s->state == ST_DATA)
		qlog_add(s, " timeout while receiving message body");
	reply(s, "421 4.4.2 %s Error: timeout exceeded", s->cfg->myname);
	close_session(s, strcmp(what, "write") == 0 ? "write-timeout" :
	    strcmp(what, "session") == 0 ? "session-timeout" : "timeout");
}

/* session_eof - the client went away */
void
session_eof(struct session *s)
{
	if (s->state == ST_CLOSED)
		return;
	if (s->state == ST_DATA) {
		qlog_add(s, " EOF while receiving message body");
		log_info("EOF while receiving message body from %s(%s)",
		    s->peer->name, s->peer->ip);
	}
	close_session(s, "eof");
}

/* session_shutdown - the server is stopping */
void
session_shutdown(struct session *s)
{
	if (s->state == ST_CLOSED)
		return;
	reply(s, "421 4.3.2 %s Service shutting down, closing connection",
	    s->cfg->myname);
	close_session(s, "shutdown");
}

/* session_output - the queued replies */
const char *
session_output(const struct session *s, size_t *len)
{
	*len = s->out_len;
	return s->out + s->out_off;
}

/* session_output_consumed - n bytes were sent */
void
session_output_consumed(struct session *s, size_t n)
{
	if (n > s->out_len)
		n = s->out_len;
	s->out_off += n;
	s->out_len -= n;
	if (s->out_len == 0)
		s->out_off = 0;
}

/* session_is_closed - the dialogue is over */
int
session_is_closed(const struct session *s)
{
	return s->state == ST_CLOSED;
}

/* session_is_in_data - reading a message */
int
session_is_in_data(const struct session *s)
{
	return s->state == ST_DATA;
}
