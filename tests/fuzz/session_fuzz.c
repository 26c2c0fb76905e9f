/* session_fuzz.c - libFuzzer target for the SMTP session state machine */
/*
 * Bytes in, replies out, as smtpd/conn.c drives it but with no socket:
 * the first input byte picks settings (bare LF, a tiny size limit, a
 * recipient cap, quiet logging, a tarpit), the rest is fed in chunks
 * whose sizes come from a small generator seeded by that byte. The
 * policy refuses, defers or denies by the recipient's local part; the
 * spool sink counts bytes and checks the open/write/commit order. The
 * output is drained whenever session_input() stops early, and its size
 * is checked against the bound session.h promises. A timeout or EOF
 * ends every run; everything is freed, so LeakSanitizer sees leaks.
 * Built and run by `make fuzz` (tests/fuzz/run).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../lib/log.h"
#include "../../smtpd/session.h"
#include "../../smtpd/smtpd_limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_open;
static unsigned long long spooled;

/* fz_now - a fixed clock */
static void
fz_now(void *arg, struct timeval *tv)
{
	(void)arg;
	tv->tv_sec = 1732377600;
	tv->tv_usec = 0;
}

/* fz_pause - no waiting in a fuzzer */
static void
fz_pause(void *arg, unsigned int seconds)
{
	(void)arg;
	(void)seconds;
}

/* fz_open - start a message; the session must not open twice */
static int
fz_open(void *arg, const struct spool_meta *m, char id[SPOOL_ID_MAX + 1])
{
	(void)arg;
	if (is_open || m->nrcpt == 0 || m->nrcpt > SMTPD_RCPT_LIMIT)
		__builtin_trap();
	if (m->from[0] == '<' && m->from[1] == 'x') {
		errno = ENOSPC;
		return -1;
	}
	is_open = 1;
	memcpy(id, "FUZZ1", 6);
	return 0;
}

/* fz_write - count message bytes */
static int
fz_write(void *arg, const void *buf, size_t len)
{
	(void)arg;
	(void)buf;
	if (!is_open)
		__builtin_trap();
	spooled += len;
	return 0;
}

/* fz_commit - end a message */
static int
fz_commit(void *arg)
{
	(void)arg;
	if (!is_open)
		__builtin_trap();
	is_open = 0;
	return 0;
}

/* fz_abort - forget a message */
static void
fz_abort(void *arg)
{
	(void)arg;
	is_open = 0;
}

/* fz_check - verdict by the recipient's local part */
static void
fz_check(void *arg, const struct policy_query *q, struct policy_verdict *v)
{
	(void)arg;
	memset(v, 0, sizeof(*v));
	if (strncmp(q->to, "<noto", 5) == 0) {
		v->action = POLICY_REFUSE;
		memcpy(v->reply, "550 5.7.1 no", 13);
	} else if (strncmp(q->to, "<deny", 5) == 0) {
		v->action = POLICY_DENY;
		memcpy(v->reply, "554 5.7.1 no", 13);
	} else if (strncmp(q->to, "<temp", 5) == 0) {
		v->action = POLICY_TEMPFAIL;
		memcpy(v->reply, "451 4.4.3 later", 16);
	} else if (strncmp(q->to, "<bad", 4) == 0) {
		v->action = POLICY_REFUSE;
		memcpy(v->reply, "250 not a refusal\r\n", 20);
	} else
		v->action = POLICY_ACCEPT;
}

/* drain - take all output, checking its bound */
static void
drain(struct session *s)
{
	size_t len;

	(void)session_output(s, &len);
	if (len > SMTPD_OUT_HIGH + 4096)
		__builtin_trap();
	session_output_consumed(s, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int is_init;
	struct session_config cfg;
	struct session_peer peer;
	struct policy_ops pops;
	struct spool_sink sink;
	struct session_env env;
	struct session *s;
	unsigned int seed;
	size_t off, chunk, n;

	if (!is_init) {
		log_open("smtpd", LOG_SINK_MEMORY, 0);
		is_init = 1;
	}
	log_memory_clear();
	if (size == 0)
		return 0;
	seed = data[0];
	memset(&cfg, 0, sizeof(cfg));
	cfg.myname = "mx.fuzz.test";
	cfg.banner_text = "ready";
	cfg.max_size = (seed & 1) ? 64 : 10240000;
	cfg.max_rcpt = (seed & 2) ? 2 : 100;
	cfg.max_errors = (seed & 4) ? 3 : 20;
	cfg.max_messages = 5;
	cfg.tarpit_delay = (seed & 8) ? 1 : 0;
	cfg.is_bare_lf_ok = (seed & 16) != 0;
	cfg.is_quiet = (seed & 32) != 0;
	memset(&peer, 0, sizeof(peer));
	memcpy(peer.ip, "192.0.2.1", 10);
	memcpy(peer.name, "UNKNOWN", 8);
	pops.check = fz_check;
	pops.ident = NULL;
	pops.arg = NULL;
	sink.open = fz_open;
	sink.write = fz_write;
	sink.commit = fz_commit;
	sink.abort = fz_abort;
	sink.arg = NULL;
	env.now = fz_now;
	env.pause = fz_pause;
	env.is_late = NULL;
	env.arg = NULL;
	is_open = 0;
	spooled = 0;
	if ((s = session_new(&cfg, &peer, &pops, &sink, &env)) == NULL)
		return 0;
	if (seed & 64)
		session_banner(s, (const char *)data + 1,
		    size > 9 ? 8 : size - 1);
	else
		session_banner(s, NULL, 0);
	drain(s);
	off = 1;
	while (off < size && !session_is_closed(s)) {
		seed = seed * 1103515245u + 12345u;
		chunk = 1 + (seed >> 16) % 97;
		if (chunk > size - off)
			chunk = size - off;
		n = session_input(s, (const char *)data + off, chunk);
		if (n > chunk)
			__builtin_trap();
		off += n;
		drain(s);
	}
	if (data[0] & 128)
		session_timeout(s, "read");
	else
		session_eof(s);
	drain(s);
	session_free(s);
	if (is_open)
		__builtin_trap();
	log_memory_clear();
	return 0;
}
