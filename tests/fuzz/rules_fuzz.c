/* rules_fuzz.c - libFuzzer target for the rules file parser and engine */
/*
 * Each input is a whole rules file. It is loaded with
 * ruleset_load_buffer(); if it loads, a session with no resolver (every
 * DNS rule then fails temporarily) decides three fixed envelopes, the
 * null sender and "a@b@c" among them, and the decisions are formatted
 * as log lines. Everything is freed, so LeakSanitizer sees every leak.
 * Built and run by `make fuzz` (tests/fuzz/run).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../lib/log.h"
#include "../../lib/net_addr.h"
#include "../../rules/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The envelopes every loaded file decides, as a client would type them. */
static const char *const envelopes[][2] = {
	{ "<joe@example.com>", "<postmaster@example.org>" },
	{ "<>", "<user@mail.example.net>" },
	{ "<a@b@c>", "<a@b@c>" }
};

/* fuzz_error - swallow load errors */
static void
fuzz_error(void *arg, const char *file, unsigned int line, const char *reason)
{
	(void)arg;
	(void)file;
	(void)line;
	(void)reason;
}

/* fuzz_decide - one session: decide every envelope, format the logs */
static void
fuzz_decide(const struct ruleset *rs, const char *ip, const char *name)
{
	struct rule_client client;
	struct rule_session *s;
	struct rule_verdict v;
	char line[1024];
	size_t i;

	memset(&client, 0, sizeof(client));
	if (net_addr_parse(ip, strlen(ip), &client.addr) != 0)
		return;
	client.name = name;
	if ((s = rule_session_new(rs, &client, NULL)) == NULL)
		return;
	for (i = 0; i < sizeof(envelopes) / sizeof(envelopes[0]); i++) {
		rule_decide(rs, s, envelopes[i][0], envelopes[i][1], &v);
		rule_log_line(rs, s, envelopes[i][0], envelopes[i][1], &v,
		    line, sizeof(line));
		if (v.line != 0)
			(void)ruleset_line_text(rs, v.line);
	}
	rule_session_free(s);
}

/* LLVMFuzzerTestOneInput - load one rules file and use it */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialised;
	struct rule_options opts;
	struct ruleset *rs;

	if (!initialised) {
		/* debug lines log; keep them in the bounded memory sink */
		log_open("rules_fuzz", LOG_SINK_MEMORY, 0);
		initialised = 1;
	}
	memset(&opts, 0, sizeof(opts));
	opts.default_action = RULE_ALLOW;
	opts.error_fn = fuzz_error;
	rs = ruleset_load_buffer("fuzz", (const char *)data, size, &opts);
	if (rs == NULL)
		return 0;
	(void)ruleset_rule_count(rs);
	fuzz_decide(rs, "192.0.2.1", NULL);
	fuzz_decide(rs, "2001:db8::1", "mail.example.com");
	ruleset_free(rs);
	log_memory_clear();
	return 0;
}
