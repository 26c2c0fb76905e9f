/* iplimit.c - daemon mode's books: connections per client, children */
/*
 * See iplimit.h. Two open-addressing tables with linear probing and
 * backward-shift deletion (no tombstones, so lookups stay short however
 * long the daemon runs). Each has at least twice as many slots as it
 * may hold entries, a power of two; a client key is 16 bytes: an IPv4
 * address as ::ffff:a.b.c.d, an IPv6 address cut to its /64.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/random.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "iplimit.h"
#include "smtpd_limits.h"

#define KEY_LEN	16

struct client_slot {
	uint8_t key[KEY_LEN];
	uint32_t count;		/* 0: the slot is free */
};

struct child_slot {
	pid_t pid;		/* 0: the slot is free */
	uint8_t key[KEY_LEN];
};

struct iplimit {
	struct client_slot *clients;
	size_t client_mask;		/* slots - 1 */
	unsigned int max_conns;
	unsigned int total;		/* connections counted */
	struct child_slot *children;
	size_t child_mask;
	unsigned int max_children;
	unsigned int nchildren;
	uint64_t seed;
};

/* slots_for - a power of two at least twice n (and at least 16) */
static size_t
slots_for(unsigned int n)
{
	size_t s = 16;

	while (s < (size_t)n * 2)
		s <<= 1;
	return s;
}

/* mix - a 64-bit finaliser (good avalanche; keyed by the seed) */
static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* key_of - the client key of a */
static void
key_of(const struct net_addr *a, uint8_t key[KEY_LEN])
{
	memset(key, 0, KEY_LEN);
	if (a->family == NET_V4) {
		key[10] = 0xff;
		key[11] = 0xff;
		memcpy(key + 12, a->bytes, 4);
	} else
		memcpy(key, a->bytes, SMTPD_PER_IP_V6_PREFIX / 8);
}

/* key_hash - the seeded hash of a key */
static uint64_t
key_hash(const struct iplimit *t, const uint8_t key[KEY_LEN])
{
	uint64_t hi, lo;

	memcpy(&hi, key, 8);
	memcpy(&lo, key + 8, 8);
	return mix(mix(hi ^ t->seed) ^ lo);
}

/* pid_hash - the seeded hash of a pid */
static uint64_t
pid_hash(const struct iplimit *t, pid_t pid)
{
	return mix((uint64_t)(uint32_t)pid ^ t->seed);
}

/* seed_new - a random seed; the clock and pid if getrandom fails */
static uint64_t
seed_new(void)
{
	uint64_t seed;
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) ==
	    (ssize_t)sizeof(seed))
		return seed;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return mix((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
	    (uint64_t)getpid());
}

/* iplimit_new - empty books of fixed size */
struct iplimit *
iplimit_new(unsigned int max_conns, unsigned int max_children)
{
	struct iplimit *t;
	size_t cs, ks;

	if (max_conns == 0 || max_children == 0) {
		errno = EINVAL;
		return NULL;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	cs = slots_for(max_conns);
	ks = slots_for(max_children);
	t->clients = calloc(cs, sizeof(*t->clients));
	t->children = calloc(ks, sizeof(*t->children));
	if (t->clients == NULL || t->children == NULL) {
		iplimit_free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->client_mask = cs - 1;
	t->child_mask = ks - 1;
	t->max_conns = max_conns;
	t->max_children = max_children;
	t->seed = seed_new();
	return t;
}

/* iplimit_free - release everything */
void
iplimit_free(struct iplimit *t)
{
	if (t == NULL)
		return;
	free(t->clients);
	free(t->children);
	free(t);
}

/* client_find - the slot holding key, or the free slot where it goes */
static size_t
client_find(const struct iplimit *t, const uint8_t key[KEY_LEN])
{
	size_t i = (size_t)key_hash(t, key) & t->client_mask;

	while (t->clients[i].count != 0 &&
	    memcmp(t->clients[i].key, key, KEY_LEN) != 0)
		i = (i + 1) & t->client_mask;
	return i;
}

/* client_delete - empty slot i, shifting later entries of its run back */
static void
client_delete(struct iplimit *t, size_t i)
{
	size_t j = i, home;

	for (;;) {
		t->clients[i].count = 0;
		for (;;) {
			j = (j + 1) & t->client_mask;
			if (t->clients[j].count == 0)
				return;
			home = (size_t)key_hash(t, t->clients[j].key) &
			    t->client_mask;
			/* Entry j may move to i if its home is not in
			   the cyclic range (i, j]. */
			if (i <= j ? (home <= i || home > j) :
			    (home <= i && home > j))
				break;
		}
		t->clients[i] = t->clients[j];
		i = j;
	}
}

/* iplimit_count - connections of a's client */
unsigned int
iplimit_count(const struct iplimit *t, const struct net_addr *a)
{
	uint8_t key[KEY_LEN];

	key_of(a, key);
	return t->clients[client_find(t, key)].count;
}

/* iplimit_total - connections of all clients */
unsigned int
iplimit_total(const struct iplimit *t)
{
	return t->total;
}

/* iplimit_add - one more connection, within the caps */
int
iplimit_add(struct iplimit *t, const struct net_addr *a,
    unsigned int max_per_ip)
{
	uint8_t key[KEY_LEN];
	size_t i;

	key_of(a, key);
	i = client_find(t, key);
	if (t->clients[i].count >= max_per_ip) {
		errno = EAGAIN;
		return -1;
	}
	if (t->total >= t->max_conns) {
		errno = ENOSPC;
		return -1;
	}
	if (t->clients[i].count == 0)
		memcpy(t->clients[i].key, key, KEY_LEN);
	t->clients[i].count++;
	t->total++;
	return 0;
}

/* remove_key - one connection of key's client has ended */
static void
remove_key(struct iplimit *t, const uint8_t key[KEY_LEN])
{
	size_t i = client_find(t, key);

	if (t->clients[i].count == 0)
		return;		/* not counted: a caller's bug, harmless */
	t->total--;
	if (--t->clients[i].count == 0)
		client_delete(t, i);
}

/* iplimit_remove - one connection of a's client has ended */
void
iplimit_remove(struct iplimit *t, const struct net_addr *a)
{
	uint8_t key[KEY_LEN];

	key_of(a, key);
	remove_key(t, key);
}

/* child_find - the slot holding pid, or the free slot where it goes */
static size_t
child_find(const struct iplimit *t, pid_t pid)
{
	size_t i = (size_t)pid_hash(t, pid) & t->child_mask;

	while (t->children[i].pid != 0 && t->children[i].pid != pid)
		i = (i + 1) & t->child_mask;
	return i;
}

/* child_delete - empty slot i, shifting later entries of its run back */
static void
child_delete(struct iplimit *t, size_t i)
{
	size_t j = i, home;

	for (;;) {
		t->children[i].pid = 0;
		for (;;) {
			j = (j + 1) & t->child_mask;
			if (t->children[j].pid == 0)
				return;
			home = (size_t)pid_hash(t, t->children[j].pid) &
			    t->child_mask;
			if (i <= j ? (home <= i || home > j) :
			    (home <= i && home > j))
				break;
		}
		t->children[i] = t->children[j];
		i = j;
	}
}

/* iplimit_child_add - pid serves a's connection */
int
iplimit_child_add(struct iplimit *t, pid_t pid, const struct net_addr *a)
{
	size_t i;

	if (pid <= 0) {
		errno = EINVAL;
		return -1;
	}
	i = child_find(t, pid);
	if (t->children[i].pid == pid) {
		errno = EEXIST;
		return -1;
	}
	if (t->nchildren >= t->max_children) {
		errno = ENOSPC;
		return -1;
	}
	t->children[i].pid = pid;
	key_of(a, t->children[i].key);
	t->nchildren++;
	return 0;
}

/* iplimit_child_exit - pid is gone: forget it, release its connection */
int
iplimit_child_exit(struct iplimit *t, pid_t pid)
{
	uint8_t key[KEY_LEN];
	size_t i;

	if (pid <= 0) {
		errno = ESRCH;
		return -1;
	}
	i = child_find(t, pid);
	if (t->children[i].pid != pid) {
		errno = ESRCH;
		return -1;
	}
	memcpy(key, t->children[i].key, KEY_LEN);
	child_delete(t, i);
	t->nchildren--;
	remove_key(t, key);
	return 0;
}

/* iplimit_children - children known */
unsigned int
iplimit_children(const struct iplimit *t)
{
	return t->nchildren;
}

/* iplimit_child_each - fn(arg, pid) for every child */
void
iplimit_child_each(const struct iplimit *t, void (*fn)(void *arg, pid_t pid),
    void *arg)
{
	size_t i;

	for (i = 0; i <= t->child_mask; i++)
		if (t->children[i].pid != 0)
			fn(arg, t->children[i].pid);
}
