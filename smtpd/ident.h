/* ident.h - an RFC 1413 ident client with a hard deadline */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SMTPD_IDENT_H
#define SMTPD_IDENT_H

#include <stddef.h>

#include "../lib/net_addr.h"

struct ident_query {
	struct net_addr local;		/* our end of the connection */
	unsigned int local_port;
	struct net_addr remote;		/* the client */
	unsigned int remote_port;
	unsigned int timeout;		/* seconds for connect + answer */
};

/*
 * ident_ask - ask the client's ident server (port 113, from our local
 * address) who owns the connection. Non-blocking, with one deadline
 * for connect, send and reply; at most SMTPD_IDENT_REPLY_MAX bytes are
 * read. Returns 1 and the user (printable, lower case, at most
 * SMTPD_IDENT_USER_MAX bytes) in user, or 0 for no usable answer.
 */
int ident_ask(const struct ident_query *q, char *user, size_t size);

/*
 * ident_parse - the user of an ident reply line ("port , port : USERID
 * : OS : user"), checked against the ports asked. 1 and user, or 0.
 */
int ident_parse(const char *reply, size_t len, unsigned int remote_port,
    unsigned int local_port, char *user, size_t size);

/*
 * ident_user - s[0..n) as an ident user: 1 to SMTPD_IDENT_USER_MAX
 * bytes of 0x21..0x7e other than '@', '(' and ')', lower-cased into
 * user (size bytes, NUL-ended); 1, or 0 if it is not acceptable. What
 * an ident server answers and what the environment says are held to
 * the same rule.
 */
int ident_user(const char *s, size_t n, char *user, size_t size);

#endif
