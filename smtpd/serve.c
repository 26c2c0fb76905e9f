/* serve.c - one SMTP session on a connection, after the privilege drop */
/*
 * See serve.h. Moved out of main() so that inetd mode and daemon
 * mode's children share it line for line. Everything allocated here is
 * released before returning; nothing here exits.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/log.h"
#include "peer.h"
#include "policy.h"
#include "serve.h"
#include "sink.h"

/* serve_session - peer, policy, sink, session, then the driver */
int
serve_session(const struct serve_config *cfg, const struct ruleset *rs,
    struct resolv *dns, char *why, size_t whysize)
{
	struct peer peer;
	struct session_peer speer;
	struct policy_rules_config pcfg;
	struct policy_rules *pol;
	struct policy_ops pops;
	struct sink_spool *sinkst;
	struct spool_sink sink;
	struct session_env env;
	struct conn conn;
	struct session *s;

	if (peer_from_fd(&peer, cfg->conn.in_fd, why, whysize) == -1)
		return -1;
	peer.ident_timeout = cfg->ident_timeout;
	peer_resolve(&peer, dns, cfg->is_dns_on);
	memset(&speer, 0, sizeof(speer));
	snprintf(speer.ip, sizeof(speer.ip), "%s", peer.ip);
	snprintf(speer.name, sizeof(speer.name), "%s", peer.name);
	log_info("event=connect ip=%s name=%s%s", peer.ip, peer.name,
	    peer.is_name_pending ? " name-lookup=tempfail" : "");

	memset(&pcfg, 0, sizeof(pcfg));
	pcfg.rs = rs;
	pcfg.rules_path = cfg->rules_path;
	pcfg.dns = dns;
	pcfg.addr = peer.addr;
	pcfg.name = strcmp(peer.name, "UNKNOWN") == 0 ? NULL : peer.name;
	pcfg.is_name_pending = peer.is_name_pending;
	pcfg.ident = peer.has_ident ? peer.ident : NULL;
	if (!peer.has_ident && peer.ident_timeout > 0) {
		pcfg.ident_fn = peer_ident;
		pcfg.ident_arg = &peer;
	}
	pcfg.noto_delay = cfg->noto_delay;
	pcfg.deny_delay = cfg->deny_delay;
	pcfg.is_tempfail_allow = cfg->is_tempfail_allow;
	if ((pol = policy_rules_new(&pcfg)) == NULL) {
		snprintf(why, whysize, "out of memory");
		return -1;
	}
	policy_rules_ops(pol, &pops);
	if ((sinkst = malloc(sizeof(*sinkst))) == NULL) {
		policy_rules_free(pol);
		snprintf(why, whysize, "out of memory");
		return -1;
	}
	sink_spool_bind(sinkst, cfg->spooldir, &sink);
	conn_init(&conn, &cfg->conn, &env);
	if ((s = session_new(&cfg->sess, &speer, &pops, &sink, &env)) ==
	    NULL) {
		free(sinkst);
		policy_rules_free(pol);
		snprintf(why, whysize, "out of memory");
		return -1;
	}
	(void)conn_run(&conn, s);
	/* The session's end has aborted a message the client cut off;
	   made sure of here, since _exit() skips session_free(). */
	session_abandon(s);
#ifndef __SANITIZE_ADDRESS__
	if (cfg->is_exit_after)
		_exit(0);
#endif
	session_free(s);
	free(sinkst);
	policy_rules_free(pol);
	return 0;
}
