/* policy.c - the session's policy, bound to the rules engine */
/*
 * One rule_session per SMTP session, made at the first recipient (so a
 * session that never gets that far costs no lookup) and made again only
 * if the client changes its HELO. Each decision is logged in the
 * original template (rule_log_line) and mapped to an action: allow ->
 * accept; noto -> refuse; deny -> refuse and close; *_delay -> the same
 * after the configured seconds; a temporary failure -> the engine's 4xx.
 * A rules file that did not load refuses every recipient with a 4xx.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "policy.h"
#include "smtpd_limits.h"

#define NO_RULES_REPLY \
	"451 4.3.0 Temporary local problem (rules), try again later"

struct policy_rules {
	struct policy_rules_config cfg;
	struct rule_session *rsess;
	char helo[SMTPD_HELO_MAX + 1];	/* the HELO rsess was made with */
	char ident[SMTPD_IDENT_USER_MAX + 1];
	int has_ident;
};

/* policy_rules_new - a binding for one SMTP session */
struct policy_rules *
policy_rules_new(const struct policy_rules_config *cfg)
{
	struct policy_rules *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->cfg = *cfg;
	return p;
}

/* policy_rules_free - release the binding */
void
policy_rules_free(struct policy_rules *p)
{
	if (p == NULL)
		return;
	rule_session_free(p->rsess);
	free(p);
}

/* rule_session_for - the rule session, (re)made for this HELO */
static struct rule_session *
rule_session_for(struct policy_rules *p, const char *helo)
{
	struct rule_client client;

	if (p->rsess != NULL && strcmp(p->helo, helo) == 0)
		return p->rsess;
	rule_session_free(p->rsess);
	p->rsess = NULL;
	memset(&client, 0, sizeof(client));
	client.addr = p->cfg.addr;
	client.name = p->cfg.name;
	client.resolve_name = p->cfg.is_name_pending;
	client.ident = p->cfg.ident;
	client.ident_fn = p->cfg.ident_fn;
	client.ident_arg = p->cfg.ident_arg;
	snprintf(p->helo, sizeof(p->helo), "%s", helo);
	client.helo = p->helo;
	p->rsess = rule_session_new(p->cfg.rs, &client, p->cfg.dns);
	return p->rsess;
}

/* ident_usable - 1 if u can go into the spool and Received */
static int
ident_usable(const char *u)
{
	size_t i, len = strlen(u);

	if (strcmp(u, "UNKNOWN") == 0 || len == 0 ||
	    len > SMTPD_IDENT_USER_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] > 0x7e)
			return 0;
	return 1;
}

/* ident_keep - remember the ident answer if the rules asked for it */
static void
ident_keep(struct policy_rules *p)
{
	const char *u = rule_session_ident(p->rsess);

	if (p->has_ident || !ident_usable(u))
		return;
	snprintf(p->ident, sizeof(p->ident), "%s", u);
	p->has_ident = 1;
}

/* check - decide one recipient */
static void
check(void *arg, const struct policy_query *q, struct policy_verdict *v)
{
	struct policy_rules *p = arg;
	struct rule_verdict rv;
	struct rule_session *rsess;
	char line[2048];

	memset(v, 0, sizeof(*v));
	if (p->cfg.rs == NULL) {
		char ip[NET_ADDR_TEXT];

		log_warnx("event=rules-error file=%s ip=%s: rules file not "
		    "loaded, recipient deferred", p->cfg.rules_path,
		    net_addr_format(&p->cfg.addr, ip));
		v->action = POLICY_TEMPFAIL;
		snprintf(v->reply, sizeof(v->reply), "%s", NO_RULES_REPLY);
		return;
	}
	if ((rsess = rule_session_for(p, q->helo)) == NULL) {
		log_warnx("event=rules-error: out of memory");
		v->action = POLICY_TEMPFAIL;
		snprintf(v->reply, sizeof(v->reply), "%s", NO_RULES_REPLY);
		return;
	}
	rule_decide(p->cfg.rs, rsess, q->from, q->to, &rv);
	log_info("%s", rule_log_line(p->cfg.rs, rsess, q->from, q->to, &rv,
	    line, sizeof(line)));
	if (p->cfg.ident_fn != NULL || p->cfg.ident != NULL)
		ident_keep(p);
	snprintf(v->reply, sizeof(v->reply), "%s", rv.reply);
	if (rv.kind == RULE_TEMPFAIL) {
		if (p->cfg.is_tempfail_allow) {
			log_info("event=tempfail-allow line=%u reason=%s",
			    rv.line, rv.reason);
			v->action = POLICY_ACCEPT;
			v->reply[0] = '\0';
		} else
			v->action = POLICY_TEMPFAIL;
		return;
	}
	switch (rv.action) {
	case RULE_ALLOW:
	case RULE_DEBUG:
		v->action = POLICY_ACCEPT;
		v->reply[0] = '\0';
		break;
	case RULE_NOTO:
		v->action = POLICY_REFUSE;
		break;
	case RULE_NOTO_DELAY:
		v->action = POLICY_REFUSE;
		v->delay = p->cfg.noto_delay;
		break;
	case RULE_DENY:
		v->action = POLICY_DENY;
		break;
	case RULE_DENY_DELAY:
		v->action = POLICY_DENY;
		v->delay = p->cfg.deny_delay;
		break;
	}
	/* A 4xx reply on a refusal is a temporary refusal. */
	if (v->action == POLICY_REFUSE && v->reply[0] == '4')
		v->action = POLICY_TEMPFAIL;
}

/* ident - the ident user, if the rules (or the environment) gave one */
static const char *
ident(void *arg)
{
	struct policy_rules *p = arg;

	if (p->has_ident)
		return p->ident;
	if (p->cfg.ident != NULL && ident_usable(p->cfg.ident)) {
		snprintf(p->ident, sizeof(p->ident), "%s", p->cfg.ident);
		p->has_ident = 1;
		return p->ident;
	}
	return NULL;
}

/* policy_rules_ops - the interface for the session */
void
policy_rules_ops(struct policy_rules *p, struct policy_ops *ops)
{
	ops->check = check;
	ops->ident = ident;
	ops->arg = p;
}
