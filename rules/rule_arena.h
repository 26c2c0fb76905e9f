/* rule_arena.h - the one allocation region of a compiled ruleset */
/*
 * Everything ruleset_load() builds (rules, tokens, globs, replies, the
 * index, the text of the file) is carved out of one arena, so a load is
 * a handful of large allocations and ruleset_free() releases them in a
 * few calls, whatever the size of the file. Nothing in an arena is
 * freed on its own.
 *
 * An arena is either a chain of malloc'd chunks (ordinary loads) or one
 * contiguous region reserved at a fixed address (rule_image.c builds a
 * rules image from it, which is mapped back at the same address so that
 * the pointers inside stay valid).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef GK_RULE_ARENA_H
#define GK_RULE_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct rule_arena {
	char *base;		/* current chunk's data, or the region */
	size_t used;		/* bytes used at base */
	size_t size;		/* bytes usable at base (committed) */
	struct arena_chunk *chunks;	/* chunk mode: newest first */
	size_t reserved;	/* region mode: bytes reserved, else 0 */
	size_t total;		/* bytes handed out, for statistics */
};

/* arena_init - an empty arena of malloc'd chunks (nothing allocated) */
void arena_init(struct rule_arena *a);

/*
 * arena_init_region - one region of up to reserve bytes at address
 * base (MAP_FIXED_NOREPLACE): -1 with errno (EEXIST: taken) if it
 * cannot be reserved there. Pages are committed as they are used.
 */
int arena_init_region(struct rule_arena *a, void *base, size_t reserve);

/* arena_alloc - size bytes aligned for any rules structure, zeroed;
   NULL when out of memory */
void *arena_alloc(struct rule_arena *a, size_t size);

/* arena_array - n elements of size bytes, zeroed; NULL on overflow or
   out of memory */
void *arena_array(struct rule_arena *a, size_t n, size_t size);

/* arena_strndup - a NUL-terminated copy of len bytes (not aligned) */
char *arena_strndup(struct rule_arena *a, const char *s, size_t len);

/* arena_release - give everything back; the arena is then empty */
void arena_release(struct rule_arena *a);

#endif
