/* policy.h - the session's policy interface, and its rules-file binding */
/*
 * The session asks the policy at each stage that needs a decision
 * (today only RCPT; the stage argument leaves room for connect, HELO
 * and MAIL checks) and gets back an action, a delay and a reply line.
 * policy_rules_*() bind the interface to the rules engine
 * (rules/rules.h): one rule_session per SMTP session, so DNS, ident and
 * database answers are cached across recipients and transactions.
 * Temporary failures and a rules file that would not load give 4xx
 * replies, never an accept (unless the operator chose tempfail=allow).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef SMTPD_POLICY_H
#define SMTPD_POLICY_H

#include <stddef.h>

#include "../lib/net_addr.h"
#include "../lib/resolv.h"
#include "../rules/rules.h"

enum policy_stage {
	POLICY_RCPT		/* one recipient: from and to are set */
};

enum policy_action {
	POLICY_ACCEPT,		/* go on */
	POLICY_REFUSE,		/* send reply; refuse this recipient */
	POLICY_TEMPFAIL,	/* send the 4xx reply; this recipient only */
	POLICY_DENY		/* send reply, then 421 and close */
};

struct policy_query {
	enum policy_stage stage;
	const char *helo;	/* as given, or "" */
	const char *from;	/* "<>" or "<a@b>" */
	const char *to;		/* "<a@b>" */
};

/* Longest reply line, without CRLF, with the NUL (RFC 5321: 512). */
#define POLICY_REPLY_MAX	RULE_REPLY_MAX

struct policy_verdict {
	enum policy_action action;
	unsigned int delay;	/* seconds to wait before the reply */
	char reply[POLICY_REPLY_MAX];	/* "550 ...", "" on accept */
};

struct policy_ops {
	/* check - decide; never fails (trouble is a POLICY_TEMPFAIL) */
	void (*check)(void *arg, const struct policy_query *q,
	    struct policy_verdict *v);
	/* ident - the client's ident user if one is known, else NULL */
	const char *(*ident)(void *arg);
	void *arg;
};

/* What the rules binding needs to know; borrowed, see policy_rules_new. */
struct policy_rules_config {
	const struct ruleset *rs;	/* NULL: the file did not load */
	const char *rules_path;		/* for the log when rs is NULL */
	struct resolv *dns;		/* NULL: DNS rules defer */
	struct net_addr addr;		/* the client */
	const char *name;		/* confirmed name, or NULL */
	int is_name_pending;		/* resolve the name when needed */
	const char *ident;		/* from the environment, or NULL */
	/* ident_fn - ask the client's ident server (RFC 1413) once */
	int (*ident_fn)(void *arg, char *buf, size_t size);
	void *ident_arg;
	unsigned int noto_delay;	/* seconds for noto_delay */
	unsigned int deny_delay;	/* seconds for deny_delay */
	int is_tempfail_allow;		/* the original's fail-open */
};

struct policy_rules;

/* policy_rules_new - a binding for one SMTP session; NULL on ENOMEM */
struct policy_rules *policy_rules_new(const struct policy_rules_config *cfg);

/* policy_rules_free - release the binding and its rule session */
void policy_rules_free(struct policy_rules *p);

/* policy_rules_ops - fill ops to call p */
void policy_rules_ops(struct policy_rules *p, struct policy_ops *ops);

#endif
