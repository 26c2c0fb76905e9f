/* tally.h - count occurrences of byte-string keys, with first/last times */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef GK_TALLY_H
#define GK_TALLY_H

#include <stddef.h>
#include <stdint.h>

/* One key's counts; key is NUL-terminated and owned by the tally. */
struct tally_entry {
	const char *key;
	size_t key_len;
	uint64_t count;
	int64_t first;		/* smallest time added, or 0 */
	int64_t last;		/* largest time added, or 0 */
	uint32_t hash;
};

struct tally;

/* tally_new - an empty tally, or NULL (out of memory) */
struct tally *tally_new(void);

/* tally_free - release a tally and its keys */
void tally_free(struct tally *t);

/*
 * tally_add - count key (len bytes) once more at time when (0: none).
 * Returns 0, or -1 when out of memory or key is longer than
 * TALLY_KEY_MAX.
 */
#define TALLY_KEY_MAX	4096
int tally_add(struct tally *t, const char *key, size_t len, int64_t when);

/* tally_count - the number of distinct keys */
size_t tally_count(const struct tally *t);

/*
 * tally_sorted - the entries, most counted first, equal counts by key
 * in byte order; by_key sorts by key only. The array is the caller's to
 * free(); its entries live as long as the tally. NULL on no memory
 * (or when the tally is empty, with *n set to 0).
 */
struct tally_entry **tally_sorted(const struct tally *t, int by_key,
    size_t *n);

#endif
