/* iplimit.h - daemon mode's books: connections per client, children */
/*
 * The master counts every connection it has accepted and not yet seen
 * end, by client: a held one (in the banner delay) or one a child
 * serves. An IPv4 client is one address; an IPv6 client is its /64
 * (SMTPD_PER_IP_V6_PREFIX), since one host usually holds all of it. It
 * also maps each child's pid to its client, so that reaping the child
 * releases the count. Both tables are fixed-size open hash tables sized
 * at creation (no growth driven by clients), with a per-process random
 * seed so that a client cannot choose colliding addresses. No sockets,
 * no logging: tests/unit/iplimit_test.c drives it directly.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef SMTPD_IPLIMIT_H
#define SMTPD_IPLIMIT_H

#include <stddef.h>
#include <sys/types.h>

#include "../lib/net_addr.h"

struct iplimit;

/*
 * iplimit_new - books for up to max_conns connections (held and served
 * together) and max_children children. NULL with errno (ENOMEM, EINVAL
 * for a zero size).
 */
struct iplimit *iplimit_new(unsigned int max_conns, unsigned int max_children);

/* iplimit_free - release the books (NULL is allowed) */
void iplimit_free(struct iplimit *t);

/* iplimit_count - connections from a's client now */
unsigned int iplimit_count(const struct iplimit *t, const struct net_addr *a);

/* iplimit_total - connections counted now, all clients */
unsigned int iplimit_total(const struct iplimit *t);

/*
 * iplimit_add - count one more connection from a's client if it has
 * fewer than max_per_ip and fewer than max_conns are counted in all.
 * 0, or -1 with errno EAGAIN (the client is at max_per_ip) or ENOSPC
 * (max_conns reached); nothing is counted then.
 */
int iplimit_add(struct iplimit *t, const struct net_addr *a,
    unsigned int max_per_ip);

/* iplimit_remove - one connection from a's client has ended */
void iplimit_remove(struct iplimit *t, const struct net_addr *a);

/*
 * iplimit_child_add - child pid now serves a connection counted for a.
 * 0, or -1 with errno ENOSPC (max_children children are known) or
 * EEXIST (pid is known already).
 */
int iplimit_child_add(struct iplimit *t, pid_t pid, const struct net_addr *a);

/*
 * iplimit_child_exit - child pid has been reaped: forget it and remove
 * its connection. 0, or -1 with errno ESRCH if pid is not a known child.
 */
int iplimit_child_exit(struct iplimit *t, pid_t pid);

/* iplimit_children - children known now */
unsigned int iplimit_children(const struct iplimit *t);

/* iplimit_child_each - call fn for every known child's pid */
void iplimit_child_each(const struct iplimit *t, void (*fn)(void *arg,
    pid_t pid), void *arg);

#endif
