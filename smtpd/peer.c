/* peer.c - who is on the other end: address, verified name, ident */
/*
 * See peer.h. Environment values are set by whoever started smtpd
 * (inetd, tcpserver, a test), never by the client; they are still
 * checked (an address must parse, a name must be a plausible DNS name,
 * an ident user printable and short) because a typo must not become a
 * rule match.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "ident.h"
#include "peer.h"

/* from_sockaddr - a sockaddr as net_addr and port; -1 if not IP */
static int
from_sockaddr(const struct sockaddr_storage *ss, struct net_addr *a,
    unsigned int *port)
{
	char text[NET_ADDR_TEXT];

	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		a->family = NET_V4;
		memcpy(a->bytes, &sin->sin_addr, 4);
		*port = ntohs(sin->sin_port);
		return 0;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		a->family = NET_V6;
		memcpy(a->bytes, &sin6->sin6_addr, 16);
		*port = ntohs(sin6->sin6_port);
		/* v4-mapped becomes plain IPv4 */
		net_addr_format(a, text);
		return net_addr_parse(text, strlen(text), a);
	}
	return -1;
}

/* env_ident - an ident user from the environment, if usable */
static void
env_ident(struct peer *p)
{
	static const char *const names[] = { "SMTPD_IDENT", "JUNIPER_IDENT",
	    "TCPREMOTEINFO" };
	const char *v;
	size_t i;

	/* TCPREMOTEINFO, under tcpserver -r, is the client's own ident
	   answer: every value is held to what ident_parse() accepts. */
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((v = getenv(names[i])) == NULL || v[0] == '\0')
			continue;
		if (!ident_user(v, strlen(v), p->ident, sizeof(p->ident))) {
			log_warnx("event=config %s is not an ident user (at "
			    "most %d printable bytes, no blank, '@', '(' or "
			    "')'), ignored", names[i], SMTPD_IDENT_USER_MAX);
			continue;
		}
		p->has_ident = 1;
		return;
	}
}

/* peer_from_fd - the client's address and our own */
int
peer_from_fd(struct peer *p, int fd, char *why, size_t whysize)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	const char *env;
	int has_peer = 0;

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "UNKNOWN");
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    from_sockaddr(&ss, &p->addr, &p->port) == 0) {
		has_peer = 1;
		sl = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
		    from_sockaddr(&ss, &p->local, &p->local_port) == 0)
			p->has_sockets = 1;
	} else if ((env = getenv("TCPREMOTEIP")) != NULL &&
	    net_addr_parse(env, strlen(env), &p->addr) == 0)
		has_peer = 1;
	if ((env = getenv("SMTPD_PEER_IP")) != NULL && env[0] != '\0') {
		if (net_addr_parse(env, strlen(env), &p->addr) == -1) {
			snprintf(why, whysize, "SMTPD_PEER_IP is not an "
			    "address");
			return -1;
		}
		has_peer = 1;
		p->has_sockets = 0;	/* ident would ask the wrong host */
	}
	if (!has_peer) {
		snprintf(why, whysize, "fd %d is not a TCP connection and "
		    "SMTPD_PEER_IP is not set", fd);
		return -1;
	}
	net_addr_format(&p->addr, p->ip);
	env_ident(p);
	return 0;
}

/* name_ok - a plausible DNS name for SMTPD_PEER_NAME */
static int
name_ok(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len >= RESOLV_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
			return 0;
	}
	return 1;
}

/* peer_resolve - the forward-confirmed name */
void
peer_resolve(struct peer *p, struct resolv *dns, int is_dns_on)
{
	const char *env = getenv("SMTPD_PEER_NAME");
	char name[RESOLV_NAME_MAX];
	size_t i;

	snprintf(p->name, sizeof(p->name), "UNKNOWN");
	p->is_name_pending = 0;
	if (env != NULL && env[0] != '\0') {
		if (strcmp(env, "UNKNOWN") == 0)
			return;
		if (!name_ok(env)) {
			log_warnx("event=config SMTPD_PEER_NAME is not a DNS "
			    "name, ignored");
			return;
		}
		for (i = 0; env[i] != '\0'; i++)
			p->name[i] = (char)(env[i] >= 'A' && env[i] <= 'Z' ?
			    env[i] + 32 : env[i]);
		p->name[i] = '\0';
		return;
	}
	if (!is_dns_on)
		return;
	if (dns == NULL) {
		p->is_name_pending = 1;
		return;
	}
	resolv_budget_start(dns);
	switch (resolv_fcrdns(dns, &p->addr, name, sizeof(name))) {
	case RESOLV_FOUND:
		if (name_ok(name))
			snprintf(p->name, sizeof(p->name), "%s", name);
		break;
	case RESOLV_NOTFOUND:
		break;
	case RESOLV_TEMPFAIL:
		p->is_name_pending = 1;
		log_info("event=dns-tempfail ip=%s what=client-name", p->ip);
		break;
	}
}

/* peer_ident - ask the client's ident server, once */
int
peer_ident(void *arg, char *buf, size_t size)
{
	struct peer *p = arg;
	struct ident_query q;

	if (p->has_ident) {
		snprintf(buf, size, "%s", p->ident);
		return 1;
	}
	if (p->has_asked_ident || p->ident_timeout == 0 || !p->has_sockets)
		return 0;
	p->has_asked_ident = 1;
	memset(&q, 0, sizeof(q));
	q.local = p->local;
	q.local_port = p->local_port;
	q.remote = p->addr;
	q.remote_port = p->port;
	q.timeout = p->ident_timeout;
	if (ident_ask(&q, p->ident, sizeof(p->ident)) != 1)
		return 0;
	p->has_ident = 1;
	snprintf(buf, size, "%s", p->ident);
	return 1;
}
