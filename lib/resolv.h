/* resolv.h - bounded, non-blocking DNS lookups with a per-session cache */
/*
 * The only interface to DNS in the project. Built on libowfat's
 * dns_transmit (the only file that includes its resolver headers is
 * resolv.c). Every answer is three-valued: found, not found (NXDOMAIN or
 * no data of that type) or temporary failure (timeout, SERVFAIL, budget
 * exhausted, malformed reply). A temporary failure is never reported as
 * "not found".
 *
 * Time is bounded twice: each query has its own deadline (query_ms), and
 * a decision has a budget (budget_ms) started by resolv_budget_start();
 * once the budget is spent, uncached lookups fail temporarily at once.
 * Answers, temporary failures included, are cached for the life of the
 * struct resolv (smtpd keeps one per session), so a dead server costs
 * its deadline once per session, not once per recipient. Failures that
 * say nothing about the name are not cached: "budget exhausted" (also
 * when a query was cut short by the budget rather than by query_ms),
 * "out of memory", "cannot send query", "no random seed", "too many
 * lookups".
 *
 * A name that cannot exist (empty or over 63-byte label, over 253 bytes,
 * a byte other than a letter, digit, '-' or '_') is answered NOTFOUND
 * with is_nxdomain = 1 and error "invalid name", without a query.
 *
 * The cache holds up to 4096 answers; past that, answers are still
 * returned and kept (valid until resolv_free) but not cached, up to 8192
 * in all, after which uncached lookups fail with "too many lookups".
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef GK_RESOLV_H
#define GK_RESOLV_H

#include <stddef.h>

#include "net_addr.h"

enum resolv_status {
	RESOLV_FOUND,		/* at least one record of the type */
	RESOLV_NOTFOUND,	/* NXDOMAIN, or the name has no such records */
	RESOLV_TEMPFAIL		/* no usable answer within the deadline */
};

enum resolv_type {
	RESOLV_A,
	RESOLV_AAAA,
	RESOLV_NS,
	RESOLV_MX,
	RESOLV_PTR,
	RESOLV_TXT
};

/* Caps on what one answer may hold; excess records are ignored. */
#define RESOLV_MAX_RECORDS	100
/* PTR names of one address that resolv_fcrdns() checks. */
#define RESOLV_FCRDNS_MAX	10
/* Longest dotted name, without the trailing dot, with the NUL. */
#define RESOLV_NAME_MAX		256

struct resolv_answer {
	enum resolv_status status;
	int is_nxdomain;	/* NOTFOUND: 1 for NXDOMAIN, 0 for no data */
	size_t count;		/* records in names[] or addrs[] */
	char **names;		/* NS, MX, PTR: lower-case names, no final dot
				   (the root, as in a null MX, is ".");
				   MX sorted by preference; TXT: one string
				   per record, its character-strings joined,
				   bytes outside 0x20..0x7e made '?' */
	struct net_addr *addrs;	/* A, AAAA */
	const char *error;	/* TEMPFAIL: "timeout", "server failure",
				   "connection refused", "budget exhausted",
				   "bad reply", "truncated", ...;
				   NOTFOUND: NULL, or "invalid name" */
};

struct resolv_conf {
	/* Servers as text: up to 16 IPv4/IPv6 addresses separated by
	   blanks, commas or semicolons; NULL means $DNSCACHEIP, else
	   /etc/resolv.conf (as libowfat reads them, once, in
	   resolv_new(): call it before chroot or put etc/resolv.conf in
	   the jail). Port 53 always. */
	const char *servers;
	unsigned int query_ms;	/* per-query deadline; 0 = 5000 */
	unsigned int budget_ms;	/* per-decision budget; 0 = 15000 */
	/* 1: never send a query; servers are not read. What is not in
	   the cache (see resolv_preload) does not exist: an uncached
	   lookup is NOTFOUND with is_nxdomain = 1 (rulecheck -z, tests). */
	int closed_world;
};

struct resolv;

/*
 * resolv_new - a resolver with an empty cache and a started budget. Opens
 * no socket. Returns NULL with errno set if the server list cannot be
 * read or parsed (EINVAL: empty, malformed, 0.0.0.0 or ::, more than 16),
 * no random seed can be had, or memory runs out.
 */
struct resolv *resolv_new(const struct resolv_conf *conf);

/* Room for resolv_servers_text(): 16 addresses of up to 45 bytes,
   a blank after each, and the NUL. */
#define RESOLV_SERVERS_TEXT	(16 * (NET_ADDR_TEXT) + 1)

/*
 * resolv_servers_text - the servers resolv_new() would use with
 * servers == NULL ($DNSCACHEIP, else /etc/resolv.conf, as libowfat reads
 * them) as text for resolv_conf.servers: addresses separated by one
 * blank. For a process that creates its resolvers after chroot (smtpd's
 * daemon mode): read the list once before, hand the text to every
 * later resolv_new(). Returns 0, or -1 with errno (EIO: the list cannot
 * be read; ENOSPC: size is too small; RESOLV_SERVERS_TEXT always fits).
 */
int resolv_servers_text(char *buf, size_t size);

/* resolv_free - release the resolver and every answer (NULL is allowed) */
void resolv_free(struct resolv *r);

/* resolv_budget_start - start a new decision's time budget */
void resolv_budget_start(struct resolv *r);

/* resolv_query_count - queries sent to servers so far (cache misses) */
size_t resolv_query_count(const struct resolv *r);

/*
 * resolv_lookup - look name up (dotted, a final dot optional,
 * case-insensitive) for one type. The answer is cached; the pointer stays
 * valid until resolv_free(). Never NULL: on out-of-memory the answer is a
 * static TEMPFAIL.
 */
const struct resolv_answer *resolv_lookup(struct resolv *r, const char *name,
    enum resolv_type type);

struct resolv_request {
	const char *name;
	enum resolv_type type;
	const struct resolv_answer *answer;	/* filled in */
};

/*
 * resolv_lookup_many - the same for n requests, sent in parallel (up to
 * 32 in flight; duplicates are sent once) and waited for together in one
 * loop, each within min(its start + query_ms, budget end).
 */
void resolv_lookup_many(struct resolv *r, struct resolv_request *req, size_t n);

/*
 * resolv_fcrdns - forward-confirmed reverse DNS: the PTR names of addr
 * whose A (or AAAA) records include addr. The first RESOLV_FCRDNS_MAX PTR
 * names are looked up in parallel; the first confirmed one, in PTR order,
 * goes to name, else name is "". namesize RESOLV_NAME_MAX always
 * suffices; a confirmed name that does not fit gives RESOLV_TEMPFAIL.
 * Returns RESOLV_FOUND, RESOLV_NOTFOUND (no PTR, or none confirmed and no
 * forward lookup failed: the client is UNKNOWN) or RESOLV_TEMPFAIL (the
 * PTR lookup failed, or a forward lookup failed and none confirmed).
 */
enum resolv_status resolv_fcrdns(struct resolv *r, const struct net_addr *addr,
    char *name, size_t namesize);

/*
 * resolv_preload - put an answer into the cache as if it had come from a
 * server (tests, and callers that already know a fact), replacing any
 * cached answer for the key (answers already handed out stay valid).
 * Names and addresses are copied (at most RESOLV_MAX_RECORDS); NS, MX
 * and PTR names are lower-cased without a final dot. Returns 0, or -1
 * with errno ENOMEM, EINVAL (invalid name; FOUND without records) or
 * ENOSPC (cache full).
 */
int resolv_preload(struct resolv *r, const char *name, enum resolv_type type,
    const struct resolv_answer *answer);

/* resolv_type_name - "A", "AAAA", "NS", "MX", "PTR", "TXT" */
const char *resolv_type_name(enum resolv_type type);

#endif
