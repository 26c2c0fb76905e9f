/* rule_arena.c - bump allocation for a compiled ruleset */
/*
 * See rule_arena.h. Memory handed out is always zero and never reused:
 * a region is an anonymous mapping (zero already); a chunk comes from
 * malloc and each allocation is cleared as it is handed out, so that a
 * small arena (a mapped image's per-process part) writes the pages it
 * uses, not a whole first chunk. Allocations are aligned to ARENA_ALIGN,
 * enough for every structure in rule_int.h.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/mman.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rule_arena.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define ARENA_ALIGN	8
#define CHUNK_FIRST	(16 * 1024)
#define CHUNK_MAX	(1024 * 1024)
#define REGION_STEP	(1024 * 1024)	/* a region commits this much */

struct arena_chunk {
	struct arena_chunk *next;
	size_t size;			/* data bytes after the header */
};

/* arena_init - an empty chunk arena */
void
arena_init(struct rule_arena *a)
{
	memset(a, 0, sizeof(*a));
}

/* arena_init_region - reserve a region at a fixed address */
int
arena_init_region(struct rule_arena *a, void *base, size_t reserve)
{
	void *p;

	memset(a, 0, sizeof(*a));
	p = mmap(base, reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
	    MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	if (p != base) {
		/* A kernel without MAP_FIXED_NOREPLACE took it as a hint. */
		munmap(p, reserve);
		errno = EEXIST;
		return -1;
	}
	a->base = p;
	a->reserved = reserve;
	return 0;
}

/* grow_region - commit more of a region for need more bytes */
static int
grow_region(struct rule_arena *a, size_t need)
{
	size_t want;

	if (need > a->reserved - a->used) {
		errno = ENOMEM;
		return -1;
	}
	want = a->used + need - a->size;
	want = (want + REGION_STEP - 1) / REGION_STEP * REGION_STEP;
	if (want > a->reserved - a->size)
		want = a->reserved - a->size;
	if (mprotect(a->base + a->size, want, PROT_READ | PROT_WRITE) == -1)
		return -1;
	a->size += want;
	return 0;
}

/* new_chunk - start a chunk with room for need bytes */
static int
new_chunk(struct rule_arena *a, size_t need)
{
	struct arena_chunk *c;
	size_t size;

	size = a->chunks == NULL ? CHUNK_FIRST : a->chunks->size * 2;
	if (size > CHUNK_MAX)
		size = CHUNK_MAX;
	if (size < need)
		size = need;
	if (size > SIZE_MAX - sizeof(*c) ||
	    (c = malloc(sizeof(*c) + size)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	c->size = size;
	c->next = a->chunks;
	a->chunks = c;
	a->base = (char *)(c + 1);
	a->used = 0;
	a->size = size;
	return 0;
}

/* take - size bytes at the given alignment */
static void *
take(struct rule_arena *a, size_t size, size_t align)
{
	size_t off = (a->used + align - 1) & ~(align - 1);
	void *p;

	if (size > SIZE_MAX - ARENA_ALIGN) {
		errno = ENOMEM;
		return NULL;
	}
	if (a->base == NULL || off > a->size || size > a->size - off) {
		if (a->reserved > 0) {
			if (off > a->reserved || grow_region(a,
			    off - a->used + size) == -1)
				return NULL;
		} else {
			if (new_chunk(a, size) == -1)
				return NULL;
			off = 0;
		}
	}
	p = a->base + off;
	a->used = off + size;
	a->total += size;
	if (a->reserved == 0)
		memset(p, 0, size);
	return p;
}

/* arena_alloc - aligned zeroed memory */
void *
arena_alloc(struct rule_arena *a, size_t size)
{
	return take(a, size == 0 ? 1 : size, ARENA_ALIGN);
}

/* arena_array - an array, checked for overflow */
void *
arena_array(struct rule_arena *a, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return arena_alloc(a, n * size);
}

/* arena_strndup - a string copy */
char *
arena_strndup(struct rule_arena *a, const char *s, size_t len)
{
	char *d;

	if (len == SIZE_MAX || (d = take(a, len + 1, 1)) == NULL)
		return NULL;
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

/* arena_release - free every chunk, or unmap the region */
void
arena_release(struct rule_arena *a)
{
	struct arena_chunk *c, *next;

	if (a->reserved > 0)
		munmap(a->base, a->reserved);
	else
		for (c = a->chunks; c != NULL; c = next) {
			next = c->next;
			free(c);
		}
	memset(a, 0, sizeof(*a));
}
