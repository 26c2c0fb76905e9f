/* iptree.h - the IPBLOCK file: IPv4 and IPv6 prefixes, most specific wins */
/*
 * Two halves. The builder takes entries (an address range, listed or
 * excluded, with a value), resolves overlaps so that the most specific
 * entry wins, and lays out the file image in memory; dbs/ writes it.
 * The reader maps a file (or borrows a buffer) read-only and answers
 * "which entry covers this address, with what value". Every offset read
 * from a file is checked against its size before use: a corrupt or
 * truncated file gives an error, never a crash. docs/ipblock.5 describes
 * the format byte by byte.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef GK_IPTREE_H
#define GK_IPTREE_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/net_addr.h"

#define IPTREE_MAGIC		"GKIPBLK\n"	/* the first 8 bytes */
#define IPTREE_MAGIC_LEN	8
#define IPTREE_VERSION		1
#define IPTREE_VALUE_MAX	255	/* bytes in one value */
#define IPTREE_VALUES_MAX	0xffffffu	/* distinct values (24 bits) */
#define IPTREE_ENTRIES_MAX	0x7fffffffu	/* entries of one family */

/*
 * Builder. Entries are added in source order; where entries overlap,
 * the smaller range wins; at equal size an exclusion beats a listing,
 * then the entry added first wins. An excluded address is not listed.
 */
struct iptree_builder;

struct iptree_stats {
	size_t entries_v4, entries_v6;	/* entries added, by family */
	size_t excluded;		/* of which exclusions */
	size_t singles;			/* IPv4 single addresses stored */
	size_t ranges_v4;		/* IPv4 ranges stored (after merging) */
	size_t prefixes_v6;		/* IPv6 prefixes stored */
	size_t values;			/* distinct values, "" included */
	size_t bytes;			/* file size */
};

/* iptree_builder_new - an empty builder; NULL (errno ENOMEM) on failure */
struct iptree_builder *iptree_builder_new(void);

/* iptree_builder_free - release a builder (NULL is allowed) */
void iptree_builder_free(struct iptree_builder *b);

/*
 * iptree_builder_value - intern value text (len <= IPTREE_VALUE_MAX,
 * no NUL byte); store its id in *id. The empty value is id 0. Returns
 * 0, or -1 with errno EINVAL (too long, NUL) or ENOMEM / EOVERFLOW.
 */
int iptree_builder_value(struct iptree_builder *b, const char *text,
    size_t len, uint32_t *id);

/*
 * iptree_builder_add - add the range first..last (same family, first <=
 * last) with a value id from iptree_builder_value(); exclude: 1 for an
 * exclusion (the value is ignored). Returns 0, or -1 with errno EINVAL
 * (bad range or id), ENOMEM or EOVERFLOW (too many entries).
 */
int iptree_builder_add(struct iptree_builder *b, const struct net_addr *first,
    const struct net_addr *last, uint32_t value, int exclude);

/*
 * iptree_builder_finish - resolve overlaps and lay out the file image in
 * a malloc()ed buffer the caller frees. stats may be NULL. The builder
 * may be freed afterwards but not added to. Returns 0, or -1 with errno.
 */
int iptree_builder_finish(struct iptree_builder *b, void **image,
    size_t *size, struct iptree_stats *stats);

/*
 * Reader.
 */
struct iptree;

/* One answer: the entry that matched (as written in the source, e.g.
   192.0.2.0/24 or a range) and its value, which points into the file
   and is not NUL-terminated. */
struct iptree_match {
	struct net_addr first, last;	/* the entry's range */
	const char *value;
	size_t value_len;
};

/*
 * iptree_open - map path read-only and check its header and the bounds
 * of every section (O(1) in the file size). A file renamed over path
 * later does not disturb the mapping. Returns NULL with err filled (and
 * errno set) on failure.
 */
struct iptree *iptree_open(const char *path, char *err, size_t errsize);

/*
 * iptree_open_buffer - the same over a caller-owned image of size
 * bytes, which must stay valid and unchanged until iptree_close().
 */
struct iptree *iptree_open_buffer(const void *image, size_t size, char *err,
    size_t errsize);

/* iptree_close - unmap and free (NULL is allowed) */
void iptree_close(struct iptree *t);

/*
 * iptree_find - the most specific entry covering addr. Returns 1 and
 * fills m (which may be NULL), 0 if addr is not listed, or -1 (errno
 * EPROTO) if the file is found corrupt on the way.
 */
int iptree_find(const struct iptree *t, const struct net_addr *addr,
    struct iptree_match *m);

/*
 * iptree_verify - the full check the builder runs before it installs a
 * file, and gkdb-query -c: the checksum, ordering and every index.
 * O(file size). Returns 0, or -1 with err filled.
 */
int iptree_verify(const struct iptree *t, char *err, size_t errsize);

/* iptree_info - the counts kept in the header (stats->bytes: file size) */
void iptree_info(const struct iptree *t, struct iptree_stats *stats);

/* iptree_format_entry - "192.0.2.0/24", "192.0.2.1/32" or "a-b" */
char *iptree_format_entry(const struct iptree_match *m, char *buf,
    size_t size);

#endif
