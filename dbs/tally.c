/* tally.c - count occurrences of byte-string keys, with first/last times */
/*
 * An open-addressing hash table (FNV-1a, linear probing, grown at 50%
 * load) of entries whose keys live in an arena of large blocks, so that
 * millions of distinct client addresses cost one allocation per block.
 * Sizes are checked before they grow.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tally.h"

#define ARENA_BLOCK	(1024 * 1024)
#define TABLE_MIN	1024

struct arena_block {
	struct arena_block *next;
	size_t used;
	size_t size;
	char data[];
};

struct tally {
	struct tally_entry *slots;	/* key == NULL: empty */
	size_t nslots;			/* a power of two */
	size_t used;
	struct arena_block *blocks;
};

/* hash_key - FNV-1a */
static uint32_t
hash_key(const char *s, size_t len)
{
	uint32_t h = 2166136261U;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619U;
	}
	return h;
}

/* tally_new - an empty tally */
struct tally *
tally_new(void)
{
	struct tally *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->slots = calloc(TABLE_MIN, sizeof(*t->slots))) == NULL) {
		free(t);
		return NULL;
	}
	t->nslots = TABLE_MIN;
	return t;
}

/* tally_free - release a tally */
void
tally_free(struct tally *t)
{
	struct arena_block *b, *next;

	if (t == NULL)
		return;
	for (b = t->blocks; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(t->slots);
	free(t);
}

/* arena_copy - a NUL-terminated copy of key in the arena */
static char *
arena_copy(struct tally *t, const char *key, size_t len)
{
	struct arena_block *b = t->blocks;
	char *p;

	if (b == NULL || b->size - b->used < len + 1) {
		if ((b = malloc(sizeof(*b) + ARENA_BLOCK)) == NULL)
			return NULL;
		b->next = t->blocks;
		b->used = 0;
		b->size = ARENA_BLOCK;
		t->blocks = b;
	}
	p = b->data + b->used;
	memcpy(p, key, len);
	p[len] = '\0';
	b->used += len + 1;
	return p;
}

/* grow - double the table */
static int
grow(struct tally *t)
{
	struct tally_entry *old = t->slots, *n;
	size_t oldn = t->nslots, i, j, mask;

	if (oldn > SIZE_MAX / 2 / sizeof(*n))
		return -1;
	if ((n = calloc(oldn * 2, sizeof(*n))) == NULL)
		return -1;
	mask = oldn * 2 - 1;
	for (i = 0; i < oldn; i++) {
		if (old[i].key == NULL)
			continue;
		for (j = old[i].hash & mask; n[j].key != NULL; j = (j + 1) & mask)
			;
		n[j] = old[i];
	}
	free(old);
	t->slots = n;
	t->nslots = oldn * 2;
	return 0;
}

/* tally_add - count key once more */
int
tally_add(struct tally *t, const char *key, size_t len, int64_t when)
{
	struct tally_entry *e;
	uint32_t h;
	size_t i, mask;

	if (len > TALLY_KEY_MAX)
		return -1;
	if ((t->used + 1) * 2 > t->nslots && grow(t) != 0)
		return -1;
	h = hash_key(key, len);
	mask = t->nslots - 1;
	for (i = h & mask; t->slots[i].key != NULL; i = (i + 1) & mask) {
		e = &t->slots[i];
		if (e->hash == h && e->key_len == len &&
		    memcmp(e->key, key, len) == 0)
			goto found;
	}
	e = &t->slots[i];
	if ((e->key = arena_copy(t, key, len)) == NULL)
		return -1;
	e->key_len = len;
	e->hash = h;
	e->count = 0;
	e->first = e->last = when;
	t->used++;
found:
	e->count++;
	if (when != 0) {
		if (e->first == 0 || when < e->first)
			e->first = when;
		if (when > e->last)
			e->last = when;
	}
	return 0;
}

/* tally_count - distinct keys */
size_t
tally_count(const struct tally *t)
{
	return t->used;
}

/* key_cmp - byte order of two keys */
static int
key_cmp(const struct tally_entry *a, const struct tally_entry *b)
{
	size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
	int c = memcmp(a->key, b->key, n);

	if (c != 0)
		return c;
	return (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

/* by_count - most counted first, then by key */
static int
by_count(const void *pa, const void *pb)
{
	const struct tally_entry *a = *(struct tally_entry *const *)pa;
	const struct tally_entry *b = *(struct tally_entry *const *)pb;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return key_cmp(a, b);
}

/* by_key - key order */
static int
by_key(const void *pa, const void *pb)
{
	return key_cmp(*(struct tally_entry *const *)pa,
	    *(struct tally_entry *const *)pb);
}

/* tally_sorted - the entries in order */
struct tally_entry **
tally_sorted(const struct tally *t, int sort_by_key, size_t *n)
{
	struct tally_entry **v;
	size_t i, k = 0;

	*n = 0;
	if (t->used == 0)
		return NULL;
	if ((v = calloc(t->used, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < t->nslots; i++)
		if (t->slots[i].key != NULL)
			v[k++] = &t->slots[i];
	qsort(v, k, sizeof(*v), sort_by_key ? by_key : by_count);
	*n = k;
	return v;
}
