/* iplimit_test.c - unit tests of smtpd/iplimit.c */
/*
 * The per-client counts and the child table of daemon mode: the caps,
 * IPv6 counted by /64, children releasing their client's count, and a
 * long random run against a naive model, which exercises deletion in
 * full tables (backward shifts across the wrap-around).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../t.h"
#include "../../lib/net_addr.h"
#include "../../smtpd/iplimit.h"

/* addr - parse text or die */
static struct net_addr
addr(const char *text)
{
	struct net_addr a;

	if (net_addr_parse(text, strlen(text), &a) == -1) {
		fprintf(stderr, "bad test address %s\n", text);
		exit(2);
	}
	return a;
}

/* count_pid - iplimit_child_each callback: count the children seen */
static void
count_pid(void *arg, pid_t pid)
{
	(void)pid;
	(*(unsigned int *)arg)++;
}

/* test_caps - max_per_ip and max_conns */
static void
test_caps(void)
{
	struct iplimit *t = iplimit_new(5, 3);
	struct net_addr a = addr("192.0.2.1"), b = addr("192.0.2.2");
	int i, rc;

	ok(t != NULL, "new");
	for (i = 0; i < 3; i++)
		is_int(iplimit_add(t, &a, 3), 0, "add a #%d", i + 1);
	rc = iplimit_add(t, &a, 3);
	is_int(rc, -1, "a fourth from a is over max_per_ip");
	is_int(errno, EAGAIN, "  EAGAIN");
	is_int(iplimit_count(t, &a), 3, "  a still counts 3");
	is_int(iplimit_add(t, &b, 3), 0, "b");
	is_int(iplimit_add(t, &b, 3), 0, "b again: 5 in all");
	rc = iplimit_add(t, &b, 3);
	is_int(rc, -1, "a sixth is over max_conns");
	is_int(errno, ENOSPC, "  ENOSPC");
	is_int(iplimit_total(t), 5, "total 5");
	iplimit_remove(t, &a);
	is_int(iplimit_count(t, &a), 2, "remove: a counts 2");
	is_int(iplimit_add(t, &b, 3), 0, "room again for b");
	iplimit_remove(t, &a);
	iplimit_remove(t, &a);
	is_int(iplimit_count(t, &a), 0, "a gone");
	iplimit_remove(t, &a);
	is_int(iplimit_total(t), 3, "removing what is not counted is "
	    "harmless");
	is_int(iplimit_add(t, &a, 1), 0, "max_per_ip 1: the first");
	is_int(iplimit_add(t, &a, 1), -1, "max_per_ip 1: not a second");
	iplimit_free(t);
	ok(iplimit_new(0, 1) == NULL && errno == EINVAL, "zero size refused");
}

/* test_ipv6 - a /64 is one client; IPv4 never collides with IPv6 */
static void
test_ipv6(void)
{
	struct iplimit *t = iplimit_new(100, 10);
	struct net_addr a1 = addr("2001:db8:1:2::1");
	struct net_addr a2 = addr("2001:db8:1:2:ffff:ffff:ffff:fffe");
	struct net_addr other = addr("2001:db8:1:3::1");
	struct net_addr v4 = addr("0.0.0.0"), v6zero = addr("::");
	struct net_addr mapped = addr("::ffff:192.0.2.1");
	struct net_addr v4b = addr("192.0.2.1");

	is_int(iplimit_add(t, &a1, 2), 0, "IPv6 a1");
	is_int(iplimit_add(t, &a2, 2), 0, "a2, same /64");
	is_int(iplimit_add(t, &a2, 2), -1, "the /64 is at max_per_ip 2");
	is_int(iplimit_count(t, &a1), 2, "  a1 and a2 are one client");
	is_int(iplimit_add(t, &other, 2), 0, "the next /64 is another client");
	is_int(iplimit_add(t, &v4, 1), 0, "0.0.0.0");
	is_int(iplimit_add(t, &v6zero, 1), 0, ":: is not 0.0.0.0");
	is_int(iplimit_add(t, &v4b, 1), 0, "192.0.2.1");
	is_int(iplimit_add(t, &mapped, 1), -1, "::ffff:192.0.2.1 is the same");
	iplimit_free(t);
}

/* test_children - children carry their client's count until reaped */
static void
test_children(void)
{
	struct iplimit *t = iplimit_new(10, 2);
	struct net_addr a = addr("198.51.100.7");
	unsigned int n = 0;

	is_int(iplimit_add(t, &a, 5), 0, "held a");
	is_int(iplimit_add(t, &a, 5), 0, "held a again");
	is_int(iplimit_child_add(t, 101, &a), 0, "child 101 serves a");
	is_int(iplimit_child_add(t, 101, &a), -1, "101 twice");
	is_int(errno, EEXIST, "  EEXIST");
	is_int(iplimit_child_add(t, 102, &a), 0, "child 102 serves a");
	is_int(iplimit_child_add(t, 103, &a), -1, "a third child: no room");
	is_int(errno, ENOSPC, "  ENOSPC");
	is_int(iplimit_children(t), 2, "two children");
	iplimit_child_each(t, count_pid, &n);
	is_int(n, 2, "each visits two");
	is_int(iplimit_child_exit(t, 999), -1, "an unknown pid");
	is_int(errno, ESRCH, "  ESRCH");
	is_int(iplimit_child_exit(t, 101), 0, "101 reaped");
	is_int(iplimit_count(t, &a), 1, "  a counts 1");
	is_int(iplimit_child_exit(t, 101), -1, "101 is forgotten");
	is_int(iplimit_child_exit(t, 102), 0, "102 reaped");
	is_int(iplimit_count(t, &a), 0, "  a counts 0");
	is_int(iplimit_children(t), 0, "no children");
	iplimit_free(t);
}

/* test_model - a long random run against arrays */
static void
test_model(void)
{
	enum { CLIENTS = 300, CONNS = 200, KIDS = 64, STEPS = 200000 };
	static unsigned int want[CLIENTS];	/* held + in children */
	static unsigned int held[CLIENTS];
	static int kid_client[KIDS];	/* -1: free */
	struct net_addr addrs[CLIENTS];
	struct iplimit *t = iplimit_new(CONNS, KIDS);
	unsigned int total = 0, kids = 0, seed = 12345, step, i;
	unsigned int max_per_ip = 4;
	char text[64];
	int bad = 0;

	for (i = 0; i < CLIENTS; i++) {
		if (i % 2 == 0)
			snprintf(text, sizeof(text), "10.%u.%u.1", i / 256,
			    i % 256);
		else
			snprintf(text, sizeof(text), "2001:db8:%x::%x", i,
			    i * 7);
		addrs[i] = addr(text);
	}
	for (i = 0; i < KIDS; i++)
		kid_client[i] = -1;
	for (step = 0; step < STEPS && !bad; step++) {
		unsigned int c, k, op;
		int rc;

		seed = seed * 1103515245 + 12345;
		c = (seed >> 8) % CLIENTS;
		op = (seed >> 20) % 4;
		k = (seed >> 4) % KIDS;
		if (op == 0 || op == 1) {
			rc = iplimit_add(t, &addrs[c], max_per_ip);
			if (want[c] < max_per_ip && total < CONNS) {
				bad |= rc != 0;
				want[c]++;
				held[c]++;
				total++;
			} else
				bad |= rc != -1;
		} else if (op == 2 && held[c] > 0) {
			/* a held one ends, or becomes a child */
			if (kid_client[k] == -1) {
				rc = iplimit_child_add(t, (pid_t)(k + 2),
				    &addrs[c]);
				bad |= rc != 0;
				kid_client[k] = (int)c;
				kids++;
				held[c]--;
			} else {
				iplimit_remove(t, &addrs[c]);
				want[c]--;
				held[c]--;
				total--;
			}
		} else if (op == 3 && kid_client[k] != -1) {
			rc = iplimit_child_exit(t, (pid_t)(k + 2));
			bad |= rc != 0;
			want[kid_client[k]]--;
			total--;
			kid_client[k] = -1;
			kids--;
		}
		if (step % 97 == 0) {
			bad |= iplimit_total(t) != total;
			bad |= iplimit_children(t) != kids;
			bad |= iplimit_count(t, &addrs[c]) != want[c];
		}
	}
	for (i = 0; i < CLIENTS && !bad; i++)
		bad |= iplimit_count(t, &addrs[i]) != want[i];
	ok(!bad, "200000 random steps agree with the model (stopped at %u)",
	    step);
	iplimit_free(t);
}

int
main(void)
{
	test_caps();
	test_ipv6();
	test_children();
	test_model();
	return t_done();
}
