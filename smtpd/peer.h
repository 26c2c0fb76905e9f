/* peer.h - who is on the other end: address, verified name, ident */
/*
 * The client's address comes from getpeername() on the connection, or
 * from the environment when the launcher knows better (SMTPD_PEER_IP;
 * tcpserver's TCPREMOTEIP when fd 0 is not a socket). Its name is
 * forward-confirmed reverse DNS (resolv_fcrdns), never a bare PTR, or
 * SMTPD_PEER_NAME. Ident comes from SMTPD_IDENT, JUNIPER_IDENT or
 * TCPREMOTEINFO, else, if enabled, from an RFC 1413 query made the first
 * time a rule needs it (ident.c), at most once per session.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef SMTPD_PEER_H
#define SMTPD_PEER_H

#include <stddef.h>

#include "../lib/net_addr.h"
#include "../lib/resolv.h"
#include "smtpd_limits.h"

struct peer {
	struct net_addr addr;		/* the client */
	char ip[NET_ADDR_TEXT];
	unsigned int port;		/* 0 if unknown */
	struct net_addr local;		/* our end */
	unsigned int local_port;
	int has_sockets;		/* addr, local and ports are real */
	char name[RESOLV_NAME_MAX];	/* confirmed name, or "UNKNOWN" */
	int is_name_pending;		/* FCrDNS failed temporarily */
	char ident[SMTPD_IDENT_USER_MAX + 1];
	int has_ident;			/* from the environment */
	unsigned int ident_timeout;	/* 0: never ask the client */
	int has_asked_ident;
};

/*
 * peer_from_fd - fill addr/local/ports from the connection on fd and
 * the environment (see above), and ident from the environment. Returns
 * 0, or -1 if no client address can be found (why says what).
 */
int peer_from_fd(struct peer *p, int fd, char *why, size_t whysize);

/*
 * peer_resolve - the client's name: SMTPD_PEER_NAME if set, else, with
 * dns and is_dns_on, resolv_fcrdns(); "UNKNOWN" otherwise. A temporary
 * DNS failure leaves "UNKNOWN" with is_name_pending set, so that rules
 * that need the name fail temporarily instead of treating it as unknown.
 */
void peer_resolve(struct peer *p, struct resolv *dns, int is_dns_on);

/*
 * peer_ident - ident_fn for the rules engine (arg is the struct peer):
 * asks the client's ident server once, if ident_timeout > 0 and the
 * connection is a real socket. 1 and the user in buf, or 0.
 */
int peer_ident(void *arg, char *buf, size_t size);

#endif
