/* hashfile.h - Berkeley DB hash files read without libdb */
/*
 * A lookup in a Berkeley DB hash file needs its meta page and one or
 * two bucket pages. libdb first builds a private environment for the
 * handle (regions, a buffer pool, a cursor), which costs a process
 * that opens a table for one session more than all its lookups; so
 * lookup_db.c reads the plain case itself, from the file format
 * (hash version 9, Berkeley DB 4.6 to 5.3): native byte order, no
 * checksums, no encryption, no subdatabases or partitions, the
 * default hash function. Every other file, and any page this reader
 * does not recognise, is HASHFILE_DEFER: the caller asks libdb, which
 * stays the reference (tests/unit/hashfile_test.c compares the two).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef GK_HASHFILE_H
#define GK_HASHFILE_H

#include <stddef.h>
#include <stdint.h>

#define HASHFILE_SPARES	32

struct hashfile {
	int fd;			/* read with pread only: may be shared */
	uint32_t pagesize;
	uint32_t last_pgno;
	uint32_t max_bucket;
	uint32_t high_mask;
	uint32_t low_mask;
	uint32_t spares[HASHFILE_SPARES];
	unsigned char *page;	/* the bucket page being searched */
	unsigned char *ovpage;	/* a page of an overflow item */
};

enum hashfile_result {
	HASHFILE_FOUND,
	HASHFILE_NOTFOUND,
	HASHFILE_DEFER,		/* not for this reader: ask libdb */
	HASHFILE_DAMAGED	/* a page chain that loops: libdb, asked,
				   could follow it forever */
};

/* hashfile_init - read the meta page of fd (which stays the caller's);
   0 if this reader answers for the file, -1 if libdb must */
int hashfile_init(struct hashfile *hf, int fd);

/* hashfile_find - look key up. On HASHFILE_FOUND the first data item
   (the first duplicate, if any) is copied into value, at most
   valuesize bytes, and *datalen is its whole length. One lookup at a
   time per handle: the page buffers are the handle's. */
enum hashfile_result hashfile_find(struct hashfile *hf, const void *key,
    size_t keylen, void *value, size_t valuesize, size_t *datalen);

/* hashfile_fini - free the buffers (the descriptor is not closed) */
void hashfile_fini(struct hashfile *hf);

/* hashfile_hash - the default hash function of the format (FNV-1 from
   zero), for tests */
uint32_t hashfile_hash(const void *key, size_t len);

#endif
