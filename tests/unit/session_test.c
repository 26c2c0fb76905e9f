/* session_test.c - golden SMTP transcripts for smtpd/session.c */
/*
 * Runs every .chat file in tests/golden/smtp (or the files named on the
 * command line) through the pure session state machine with a fixed
 * clock, fake spool ids and, per file, either a fake policy or the real
 * rules engine with a golden rules file; then compares the transcript it
 * produced with the file. GOLDEN_UPDATE=1 rewrites the files instead.
 *
 * Input lines of a .chat file (kept when the file is rewritten):
 *   # ...              comment
 *   C: text            client sends text CRLF
 *   C~ text            client sends text with \r \n \t \0 \\ \xHH escapes
 *                      and nothing added
 *   !set KEY VALUE     before !banner: max_size max_rcpt max_errors
 *                      max_messages tarpit_delay noto_delay deny_delay
 *                      bare_lf (accept|refuse) quiet (on|off)
 *                      tempfail (allow|defer)
 *   !peer IP NAME      the client (default 192.0.2.1 UNKNOWN)
 *   !rules FILE        decide with the rules engine (no DNS: rules that
 *                      need it fail temporarily); FILE is relative to the
 *                      .chat file; "!rules -" means "the file did not
 *                      load"; without !rules every recipient is accepted
 *                      except those whose local part starts with
 *                      "noto", "deny" or "temp"
 *   !spool MODE        ok, fail-open, full, fail-write, fail-commit
 *   !banner [TEXT]     greet; with TEXT the client talked first
 *   !timeout WHAT      read, session or write
 *   !eof, !shutdown
 * Output lines (regenerated): S: replies, L: log lines, P: pauses,
 * M: messages the spool committed.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/time.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../t.h"
#include "../../lib/log.h"
#include "../../rules/rules.h"
#include "../../smtpd/cmd.h"
#include "../../smtpd/data.h"
#include "../../smtpd/ident.h"
#include "../../smtpd/policy.h"
#include "../../smtpd/session.h"

#define GOLDEN_DIR	"tests/golden/smtp"
#define OUT_MAX		(4 * 1024 * 1024)

/* The transcript being built. */
static char *out;
static size_t out_len;

/* emit - append to the transcript */
static void __attribute__((format(printf, 1, 2)))
emit(const char *fmt, ...)
{
	va_list ap;
	int n;

	if (out_len >= OUT_MAX - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(out + out_len, OUT_MAX - out_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		out_len += (size_t)n < OUT_MAX - out_len ? (size_t)n :
		    OUT_MAX - out_len - 1;
}

/* emit_escaped - bytes as printable text with \r \n \0 \xHH escapes */
static void
emit_escaped(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\n')
			emit("\\n");
		else if (c == '\r')
			emit("\\r");
		else if (c == '\t')
			emit("\\t");
		else if (c == '\\')
			emit("\\\\");
		else if (c < 0x20 || c >= 0x7f)
			emit("\\x%02x", c);
		else
			emit("%c", c);
	}
}

/* --- the fake clock and pause --- */

static struct timeval clock_now;
static struct session *cur;

/* fake_now - the fixed clock */
static void
fake_now(void *arg, struct timeval *tv)
{
	(void)arg;
	*tv = clock_now;
}

/* drain - move queued replies and log lines into the transcript */
static void
drain(void)
{
	const char *p, *nl, *logs;
	size_t len, i, start;

	if (cur != NULL) {
		p = session_output(cur, &len);
		for (start = 0, i = 0; i < len; i++)
			if (p[i] == '\n') {
				emit("S: ");
				emit_escaped(p + start, i + 1 - start >= 2 &&
				    p[i - 1] == '\r' ? i - 1 - start :
				    i - start);
				emit("\n");
				start = i + 1;
			}
		session_output_consumed(cur, start);
	}
	logs = log_memory();
	for (p = logs; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		emit("L: ");
		emit_escaped(p, (size_t)(nl - p));
		emit("\n");
	}
	log_memory_clear();
}

/* fake_pause - note the pause and move the clock */
static void
fake_pause(void *arg, unsigned int seconds)
{
	(void)arg;
	drain();
	emit("P: pause %u\n", seconds);
	clock_now.tv_sec += seconds;
}

/* --- the fake spool --- */

enum spool_mode { SP_OK, SP_FAIL_OPEN, SP_FULL, SP_FAIL_WRITE,
	SP_FAIL_COMMIT };

static struct {
	enum spool_mode mode;
	int is_open;
	unsigned int count;
	char *body;
	size_t len, cap;
	struct spool_meta meta;
	char envelope[8192];
} fs;

/* fake_open - start a message */
static int
fake_open(void *arg, const struct spool_meta *m, char id[SPOOL_ID_MAX + 1])
{
	size_t i, n = 0;

	(void)arg;
	if (fs.mode == SP_FAIL_OPEN) {
		errno = EIO;
		return -1;
	}
	if (fs.mode == SP_FULL) {
		errno = ENOSPC;
		return -1;
	}
	/* What the real spool would refuse is refused here too, so that a
	   transcript shows an envelope smtpd accepted but cannot store. */
	if (!spool_meta_valid(m)) {
		errno = EINVAL;
		return -1;
	}
	fs.is_open = 1;
	fs.len = 0;
	snprintf(id, SPOOL_ID_MAX + 1, "MSG%u", ++fs.count);
	n += (size_t)snprintf(fs.envelope + n, sizeof(fs.envelope) - n,
	    "FROM %s CLIENT %s %s HELO %s PROTO %s BODY %s IDENT %s", m->from,
	    m->client_ip, m->client_name, m->helo, m->proto, m->body_type,
	    m->ident != NULL ? m->ident : "-");
	for (i = 0; i < m->nrcpt && n < sizeof(fs.envelope); i++)
		n += (size_t)snprintf(fs.envelope + n, sizeof(fs.envelope) - n,
		    " RCPT %s", m->rcpt[i]);
	return 0;
}

/* fake_write - collect the message */
static int
fake_write(void *arg, const void *buf, size_t len)
{
	char *n;

	(void)arg;
	if (!fs.is_open) {
		errno = EBADF;
		return -1;
	}
	if (fs.mode == SP_FAIL_WRITE && fs.len > 0) {
		errno = ENOSPC;
		return -1;
	}
	if (fs.len + len > fs.cap) {
		size_t cap = (fs.len + len) * 2;

		if ((n = realloc(fs.body, cap)) == NULL)
			return -1;
		fs.body = n;
		fs.cap = cap;
	}
	memcpy(fs.body + fs.len, buf, len);
	fs.len += len;
	return 0;
}

/* fake_commit - print the message as M: lines */
static int
fake_commit(void *arg)
{
	size_t i, start;

	(void)arg;
	if (!fs.is_open) {
		errno = EBADF;
		return -1;
	}
	fs.is_open = 0;
	if (fs.mode == SP_FAIL_COMMIT) {
		errno = EIO;
		return -1;
	}
	drain();
	emit("M: %s\n", fs.envelope);
	for (start = 0, i = 0; i < fs.len; i++)
		if (fs.body[i] == '\n') {
			emit("M| ");
			emit_escaped(fs.body + start, i - start);
			emit("\n");
			start = i + 1;
		}
	if (start < fs.len) {
		emit("M| ");
		emit_escaped(fs.body + start, fs.len - start);
		emit(" (no final LF)\n");
	}
	return 0;
}

/* fake_abort - forget the message */
static void
fake_abort(void *arg)
{
	(void)arg;
	fs.is_open = 0;
	fs.len = 0;
}

/* --- the fake policy --- */

/* fake_check - by the recipient's local part */
static void
fake_check(void *arg, const struct policy_query *q, struct policy_verdict *v)
{
	(void)arg;
	memset(v, 0, sizeof(*v));
	if (strncmp(q->to, "<noto", 5) == 0) {
		v->action = POLICY_REFUSE;
		snprintf(v->reply, sizeof(v->reply), "550 5.7.1 no such user");
	} else if (strncmp(q->to, "<deny", 5) == 0) {
		v->action = POLICY_DENY;
		snprintf(v->reply, sizeof(v->reply), "554 5.7.1 go away");
	} else if (strncmp(q->to, "<temp", 5) == 0) {
		v->action = POLICY_TEMPFAIL;
		snprintf(v->reply, sizeof(v->reply),
		    "451 4.4.3 Temporary failure evaluating rules, try again "
		    "later");
	} else
		v->action = POLICY_ACCEPT;
}

/* unescape - C~ text to bytes; returns the length */
static size_t
unescape(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	while (*s != '\0' && n < size) {
		if (*s != '\\' || s[1] == '\0') {
			buf[n++] = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'r': buf[n++] = '\r'; s++; break;
		case 'n': buf[n++] = '\n'; s++; break;
		case 't': buf[n++] = '\t'; s++; break;
		case '0': buf[n++] = '\0'; s++; break;
		case 'x': {
			unsigned int v = 0;
			int k;

			s++;
			for (k = 0; k < 2 && *s != '\0'; k++, s++)
				v = v * 16 + (unsigned int)(*s <= '9' ?
				    *s - '0' : (*s | 0x20) - 'a' + 10);
			buf[n++] = (char)v;
			break;
		}
		default: buf[n++] = *s++; break;
		}
	}
	return n;
}

/* feed - all bytes through session_input, draining as it asks */
static void
feed(const char *buf, size_t len)
{
	size_t off = 0, n;

	while (off < len && !session_is_closed(cur)) {
		n = session_input(cur, buf + off, len - off);
		off += n;
		drain();
	}
	if (off < len) {
		emit("# (%zu bytes not read: session closed)\n", len - off);
	}
}

struct chat {
	struct session_config cfg;
	struct session_peer peer;
	char rules[1024];
	int has_rules;
	int is_tempfail_allow;
	unsigned int noto_delay, deny_delay;
	struct ruleset *rs;
	struct policy_rules *pol;
	struct policy_ops pops;
	struct spool_sink sink;
	struct session_env env;
};

/* start_session - make the session on first use */
static void
start_session(struct chat *c, const char *dir)
{
	struct policy_rules_config pc;
	char path[1200];

	if (cur != NULL)
		return;
	if (c->has_rules) {
		memset(&pc, 0, sizeof(pc));
		if (strcmp(c->rules, "-") != 0) {
			snprintf(path, sizeof(path), "%s/%s", dir, c->rules);
			c->rs = ruleset_load(path, NULL);
			if (c->rs == NULL)
				emit("# rules %s did not load\n", path);
		}
		pc.rs = c->rs;
		pc.rules_path = "/etc/smtpd_check_rules";
		pc.dns = NULL;
		if (net_addr_parse(c->peer.ip, strlen(c->peer.ip),
		    &pc.addr) == -1)
			emit("# bad peer address\n");
		pc.name = strcmp(c->peer.name, "UNKNOWN") == 0 ? NULL :
		    c->peer.name;
		pc.noto_delay = c->noto_delay;
		pc.deny_delay = c->deny_delay;
		pc.is_tempfail_allow = c->is_tempfail_allow;
		c->pol = policy_rules_new(&pc);
		policy_rules_ops(c->pol, &c->pops);
	} else {
		c->pops.check = fake_check;
		c->pops.ident = NULL;
		c->pops.arg = NULL;
	}
	c->sink.open = fake_open;
	c->sink.write = fake_write;
	c->sink.commit = fake_commit;
	c->sink.abort = fake_abort;
	c->env.now = fake_now;
	c->env.pause = fake_pause;
	c->env.is_late = NULL;
	cur = session_new(&c->cfg, &c->peer, &c->pops, &c->sink, &c->env);
	if (cur == NULL)
		emit("# session_new failed\n");
}

/* set_key - one !set */
static void
set_key(struct chat *c, const char *key, const char *val)
{
	unsigned long long v = strtoull(val, NULL, 10);

	if (strcmp(key, "max_size") == 0)
		c->cfg.max_size = v;
	else if (strcmp(key, "max_rcpt") == 0)
		c->cfg.max_rcpt = (unsigned int)v;
	else if (strcmp(key, "max_errors") == 0)
		c->cfg.max_errors = (unsigned int)v;
	else if (strcmp(key, "max_messages") == 0)
		c->cfg.max_messages = (unsigned int)v;
	else if (strcmp(key, "tarpit_delay") == 0)
		c->cfg.tarpit_delay = (unsigned int)v;
	else if (strcmp(key, "noto_delay") == 0)
		c->noto_delay = (unsigned int)v;
	else if (strcmp(key, "deny_delay") == 0)
		c->deny_delay = (unsigned int)v;
	else if (strcmp(key, "bare_lf") == 0)
		c->cfg.is_bare_lf_ok = strcmp(val, "accept") == 0;
	else if (strcmp(key, "quiet") == 0)
		c->cfg.is_quiet = strcmp(val, "on") == 0;
	else if (strcmp(key, "tempfail") == 0)
		c->is_tempfail_allow = strcmp(val, "allow") == 0;
	else
		emit("# unknown key %s\n", key);
}

/* run_chat - one .chat file; returns the transcript (in out) */
static void
run_chat(const char *path, const char *text)
{
	static char bytes[65536];
	struct chat c;
	char dir[1024], line[65536], *slash;
	const char *p, *nl;
	size_t len, n;

	memset(&c, 0, sizeof(c));
	memset(&fs, 0, sizeof(fs));
	c.cfg.myname = "mx.example.test";
	c.cfg.banner_text = "ready";
	c.cfg.max_size = 10240000;
	c.cfg.max_rcpt = 100;
	c.cfg.max_errors = 20;
	c.cfg.max_messages = 100;
	c.noto_delay = 50;
	c.deny_delay = 50;
	snprintf(c.peer.ip, sizeof(c.peer.ip), "192.0.2.1");
	snprintf(c.peer.name, sizeof(c.peer.name), "UNKNOWN");
	/* Sat, 23 Nov 2024 16:00:00 UTC */
	clock_now.tv_sec = 1732377600;
	clock_now.tv_usec = 0;
	cur = NULL;
	out_len = 0;
	out[0] = '\0';
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	log_memory_clear();
	for (p = text; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		len = (size_t)(nl - p);
		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		memcpy(line, p, len);
		line[len] = '\0';
		if (strncmp(line, "S:", 2) == 0 ||
		    strncmp(line, "L:", 2) == 0 ||
		    strncmp(line, "P:", 2) == 0 ||
		    strncmp(line, "M:", 2) == 0 ||
		    strncmp(line, "M|", 2) == 0 ||
		    strncmp(line, "# (", 3) == 0) {
			if (*nl == '\0')
				break;
			continue;
		}
		emit("%s\n", line);
		if (strncmp(line, "C: ", 3) == 0 || strcmp(line, "C:") == 0) {
			start_session(&c, dir);
			n = len > 3 ? len - 3 : 0;
			memcpy(bytes, line + 3, n);
			bytes[n++] = '\r';
			bytes[n++] = '\n';
			feed(bytes, n);
		} else if (strncmp(line, "C~ ", 3) == 0) {
			start_session(&c, dir);
			n = unescape(line + 3, bytes, sizeof(bytes));
			feed(bytes, n);
		} else if (strncmp(line, "!set ", 5) == 0) {
			char *key = line + 5, *val = strchr(key, ' ');

			if (val != NULL)
				*val++ = '\0';
			set_key(&c, key, val != NULL ? val : "");
		} else if (strncmp(line, "!peer ", 6) == 0) {
			char *ip = line + 6, *name = strchr(ip, ' ');

			if (name != NULL)
				*name++ = '\0';
			snprintf(c.peer.ip, sizeof(c.peer.ip), "%.45s", ip);
			snprintf(c.peer.name, sizeof(c.peer.name), "%.200s",
			    name != NULL ? name : "UNKNOWN");
		} else if (strncmp(line, "!rules ", 7) == 0) {
			snprintf(c.rules, sizeof(c.rules), "%.1000s", line + 7);
			c.has_rules = 1;
		} else if (strncmp(line, "!spool ", 7) == 0) {
			const char *m = line + 7;

			fs.mode = strcmp(m, "fail-open") == 0 ? SP_FAIL_OPEN :
			    strcmp(m, "full") == 0 ? SP_FULL :
			    strcmp(m, "fail-write") == 0 ? SP_FAIL_WRITE :
			    strcmp(m, "fail-commit") == 0 ? SP_FAIL_COMMIT :
			    SP_OK;
		} else if (strncmp(line, "!banner", 7) == 0) {
			start_session(&c, dir);
			if (line[7] == ' ') {
				n = unescape(line + 8, bytes, sizeof(bytes));
				session_banner(cur, bytes, n);
			} else
				session_banner(cur, NULL, 0);
			drain();
		} else if (strncmp(line, "!timeout ", 9) == 0) {
			start_session(&c, dir);
			session_timeout(cur, line + 9);
			drain();
		} else if (strcmp(line, "!eof") == 0) {
			start_session(&c, dir);
			session_eof(cur);
			drain();
		} else if (strcmp(line, "!shutdown") == 0) {
			start_session(&c, dir);
			session_shutdown(cur);
			drain();
		} else if (line[0] != '#' && line[0] != '\0')
			emit("# unknown directive\n");
		if (*nl == '\0')
			break;
	}
	if (cur != NULL && !session_is_closed(cur)) {
		session_eof(cur);
		drain();
	}
	session_free(cur);
	cur = NULL;
	drain();
	policy_rules_free(c.pol);
	ruleset_free(c.rs);
	free(fs.body);
	fs.body = NULL;
}

/* read_all - a whole file, NUL-terminated */
static char *
read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, r;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *nb;

			cap = (cap + 4096) * 2;
			if ((nb = realloc(buf, cap)) == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, 4096, f);
		n += r;
		if (r < 4096)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* check_file - run one chat and compare or update */
static void
check_file(const char *path)
{
	char *text = read_all(path);
	const char *update = getenv("GOLDEN_UPDATE");
	size_t i, line = 1;
	FILE *f;

	if (text == NULL) {
		ok(0, "%s: cannot read: %s", path, strerror(errno));
		return;
	}
	run_chat(path, text);
	if (update != NULL && strcmp(update, "1") == 0) {
		f = fopen(path, "wb");
		ok(f != NULL && fwrite(out, 1, out_len, f) == out_len &&
		    fclose(f) == 0, "%s (updated)", path);
		free(text);
		return;
	}
	if (strlen(text) == out_len && memcmp(text, out, out_len) == 0) {
		ok(1, "%s", path);
		free(text);
		return;
	}
	for (i = 0; i < out_len && text[i] != '\0' && text[i] == out[i]; i++)
		if (text[i] == '\n')
			line++;
	ok(0, "%s: transcript differs at line %zu", path, line);
	{
		const char *a = text + i, *b = out + i;

		while (a > text && a[-1] != '\n')
			a--;
		b = out + (a - text);
		t_diag("want: %.*s", (int)strcspn(a, "\n"), a);
		t_diag("got:  %.*s", (int)strcspn(b, "\n"), b);
	}
	free(text);
}

/* test_cmd - a few direct checks of the argument parsers */
static void
test_cmd(void)
{
	char path[SMTPD_PATH_MAX + 1];
	const char *params;
	size_t plen;
	struct cmd_mail_params mp;
	struct cmd c;
	char longp[400];

	cmd_parse("mail FROM:<a@b>", 15, &c);
	is_int(c.verb, CMD_MAIL, "verb case-insensitive");
	cmd_parse("HELOfoo", 7, &c);
	is_int(c.verb, CMD_UNKNOWN, "HELOfoo unknown");
	is_int(cmd_path("FROM:<@r1,@r2:u@d.example>", 26, "FROM:", 1, 0, path,
	    &params, &plen), CMD_PATH_OK, "source route");
	is_str(path, "<u@d.example>", "source route dropped");
	is_int(cmd_path("TO:<\"a>b\"@d>", 12, "TO:", 0, 1, path, &params,
	    &plen), CMD_PATH_BAD, "> in quotes refused");
	is_int(cmd_path("FROM:<a@[192.0.2.1]> SIZE=10", 28, "FROM:", 1, 0,
	    path, &params, &plen), CMD_PATH_OK, "address literal");
	is_int((int)plen, 7, "params length");
	is_int(cmd_mail_params(params, plen, &mp), CMD_PARAM_OK, "SIZE ok");
	is_int((int)mp.size, 10, "SIZE value");
	is_int(cmd_mail_params("SIZE=99999999999999999999999", 28, &mp),
	    CMD_PARAM_SYNTAX, "SIZE too many digits");
	is_int(cmd_mail_params("SMTPUTF8", 8, &mp), CMD_PARAM_UNKNOWN,
	    "SMTPUTF8 unknown");
	memset(longp, 'a', sizeof(longp));
	memcpy(longp, "TO:<", 4);
	longp[300] = '@';
	memcpy(longp + 301, "b>", 2);
	is_int(cmd_path(longp, 303, "TO:", 0, 1, path, &params, &plen),
	    CMD_PATH_LONG, "long path");
	is_int(cmd_path("TO:", 3, "TO:", 0, 1, path, &params, &plen),
	    CMD_PATH_SYNTAX, "empty argument");
	is_int(cmd_path("TO:<>", 5, "TO:", 0, 1, path, &params, &plen),
	    CMD_PATH_BAD, "<> recipient");
	is_int(cmd_path("TO:<a..b@c>", 11, "TO:", 0, 1, path, &params, &plen),
	    CMD_PATH_BAD, "double dot");
	is_int(cmd_path("TO:<a@-b.c>", 11, "TO:", 0, 1, path, &params, &plen),
	    CMD_PATH_BAD, "label starts with -");
}

/* test_ident - the ident reply parser */
static void
test_ident(void)
{
	char u[SMTPD_IDENT_USER_MAX + 1];
	const char *r;

	r = "6193, 25 : USERID : UNIX : Joe";
	ok(ident_parse(r, strlen(r), 6193, 25, u, sizeof(u)) == 1,
	    "ident reply parsed");
	is_str(u, "joe", "ident user lower-cased");
	r = "6193 , 25 : USERID : UNIX,US-ASCII :  bob \r\n";
	ok(ident_parse(r, strlen(r), 6193, 25, u, sizeof(u)) == 1 &&
	    strcmp(u, "bob") == 0, "charset and blanks");
	r = "6194, 25 : USERID : UNIX : joe";
	is_int(ident_parse(r, strlen(r), 6193, 25, u, sizeof(u)), 0,
	    "wrong port refused");
	r = "6193, 25 : ERROR : NO-USER";
	is_int(ident_parse(r, strlen(r), 6193, 25, u, sizeof(u)), 0,
	    "ERROR reply");
	r = "6193, 25 : USERID : UNIX : a b";
	is_int(ident_parse(r, strlen(r), 6193, 25, u, sizeof(u)), 0,
	    "blank in user refused");
	r = "6193, 25 : USERID : UNIX : x(y)";
	is_int(ident_parse(r, strlen(r), 6193, 25, u, sizeof(u)), 0,
	    "parenthesis refused");
	r = "99999, 25 : USERID : UNIX : joe";
	is_int(ident_parse(r, strlen(r), 99999, 25, u, sizeof(u)), 0,
	    "port out of range");
	/* The same rule for a user from the environment (TCPREMOTEINFO is
	   the client's own answer under tcpserver -r). */
	ok(ident_user("Joe", 3, u, sizeof(u)) == 1 && strcmp(u, "joe") == 0,
	    "ident_user: lower-cased");
	is_int(ident_user("root@x", 6, u, sizeof(u)), 0, "ident_user: @");
	is_int(ident_user("a(b)", 4, u, sizeof(u)), 0, "ident_user: ()");
	is_int(ident_user("a\x9b", 2, u, sizeof(u)), 0, "ident_user: 8-bit");
	is_int(ident_user("", 0, u, sizeof(u)), 0, "ident_user: empty");
	is_int(ident_user("abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij"
	    "abcdefghijabcde", 65, u, sizeof(u)), 0, "ident_user: 65 bytes");
}

/* cmp_str - qsort on strings */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(int argc, char **argv)
{
	const char *dir = getenv("SMTP_GOLDEN_DIR");
	char *names[512], path[1024];
	size_t n = 0, i;
	struct dirent *de;
	DIR *d;
	int k;

	setenv("TZ", "UTC", 1);
	tzset();
	log_open("smtpd", LOG_SINK_MEMORY, 0);
	log_set_debug(0);
	if ((out = malloc(OUT_MAX)) == NULL)
		return 1;
	test_cmd();
	test_ident();
	if (argc > 1) {
		for (k = 1; k < argc; k++)
			check_file(argv[k]);
		free(out);
		return t_done();
	}
	if (dir == NULL)
		dir = GOLDEN_DIR;
	if ((d = opendir(dir)) == NULL) {
		ok(0, "%s: %s (run from the top of the tree)", dir,
		    strerror(errno));
		free(out);
		return t_done();
	}
	while ((de = readdir(d)) != NULL &&
	    n < sizeof(names) / sizeof(*names)) {
		size_t l = strlen(de->d_name);

		if (l > 5 && strcmp(de->d_name + l - 5, ".chat") == 0)
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	ok(n > 0, "found %zu .chat files in %s", n, dir);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		check_file(path);
		free(names[i]);
	}
	free(out);
	return t_done();
}
