/* hashfile.c - Berkeley DB hash files read without libdb */
/*
 * See hashfile.h. The layout, as Berkeley DB writes it (all integers
 * in the byte order of the host that wrote the file):
 *
 * Page 0, the meta page: page number at byte 8, magic 0x061561 at 12,
 * hash version at 16, page size at 20, encryption algorithm at 24,
 * page type 8 at 25, meta flags at 26, last page number at 32,
 * partitions at 36, flags at 48, then the highest bucket at 72, the
 * high and low masks at 76 and 80, the hash of the test string at 92
 * (its 12 bytes with the NUL) and 32 spare counts at 96.
 *
 * A key's bucket is its hash under the high mask, or under the low
 * mask when that is past the highest bucket. Bucket b starts at page
 * b + spares[s], s the number of bits of b (the smallest s with
 * 2^s >= b + 1); a bucket's further pages follow next_pgno.
 *
 * Every page starts with a 26-byte header: page number at 8, next
 * page at 16, entries (u16) at 20, high free offset (u16) at 22, type
 * at 25. A hash page (type 13, or 2 before 4.6) holds key/data pairs:
 * after the header an array of u16 offsets, items stored from the
 * end of the page down, each item running to the start of the one
 * before it (the first to the page end). An item's first byte is its
 * type: 1, the bytes follow; 2, on-page duplicates, each as u16 length,
 * bytes, u16 length; 3, an overflow item, the page number at byte 4
 * and its total length at 8; 4, duplicates on pages of their own.
 * An overflow page (type 7) carries, after its header, as many bytes
 * of the item as its high free offset says, then next_pgno.
 *
 * Nothing read is trusted: every page number is checked against the
 * last page, every offset against the page, and every chain against
 * the file's page count, so a damaged file gives HASHFILE_DEFER, or
 * HASHFILE_DAMAGED for a chain of pages longer than the file (a loop)
 * or an overflow page that carries no bytes: damage libdb could walk
 * forever.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hashfile.h"

#define META_SIZE	512
#define HASH_MAGIC	0x061561u
#define HASH_VERSION	9u
#define HEADER		26u	/* page header; the offsets follow */
#define P_HASH_UNSORTED	2
#define P_OVERFLOW	7
#define P_HASHMETA	8
#define P_HASH		13
#define H_KEYDATA	1
#define H_DUPLICATE	2
#define H_OFFPAGE	3
#define HOFFPAGE_SIZE	12
#define META_DUP	0x01u	/* flags the reader knows: duplicates, */
#define META_DUPSORT	0x04u	/* sorted duplicates */
#define CHARKEY		"%$sniglet^&"

static uint16_t
get16(const unsigned char *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t
get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

uint32_t
hashfile_hash(const void *key, size_t len)
{
	const unsigned char *k = key;
	uint32_t h = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		h *= 16777619u;
		h ^= k[i];
	}
	return h;
}

/* read_page - page pgno into buf; -1 if it is not all there */
static int
read_page(const struct hashfile *hf, uint32_t pgno, unsigned char *buf)
{
	size_t got = 0;
	ssize_t n;
	off_t off;

	if (pgno > hf->last_pgno)
		return -1;
	off = (off_t)pgno * hf->pagesize;
	while (got < hf->pagesize) {
		n = pread(hf->fd, buf + got, hf->pagesize - got,
		    off + (off_t)got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* blank - a page libdb allocated and never wrote: all zeros, which
   libdb reads as an empty page */
static int
blank(const unsigned char *p)
{
	static const unsigned char zero[HEADER];

	return memcmp(p, zero, HEADER) == 0;
}

int
hashfile_init(struct hashfile *hf, int fd)
{
	unsigned char m[META_SIZE];
	struct stat sb;
	uint32_t ps, i;
	ssize_t n;

	memset(hf, 0, sizeof(*hf));
	hf->fd = fd;
	if (fstat(fd, &sb) == -1)
		return -1;
	do
		n = pread(fd, m, sizeof(m), 0);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(m))
		return -1;
	ps = get32(m + 20);
	if (get32(m + 8) != 0 || get32(m + 12) != HASH_MAGIC ||
	    get32(m + 16) != HASH_VERSION || ps < 512 || ps > 65536 ||
	    (ps & (ps - 1)) != 0 || m[24] != 0 || m[25] != P_HASHMETA ||
	    m[26] != 0 || get32(m + 36) != 0 ||
	    (get32(m + 48) & ~(META_DUP | META_DUPSORT)) != 0 ||
	    get32(m + 92) != hashfile_hash(CHARKEY, sizeof(CHARKEY)))
		return -1;
	/* libdb refuses a file that is not whole pages (one cut short, or
	   written to in place): so does this reader, so libdb says why.
	   The last page must be in the file: it bounds every walk. */
	if (sb.st_size < (off_t)ps || sb.st_size % ps != 0 ||
	    get32(m + 32) >= (uint64_t)sb.st_size / ps)
		return -1;
	hf->pagesize = ps;
	hf->last_pgno = get32(m + 32);
	hf->max_bucket = get32(m + 72);
	hf->high_mask = get32(m + 76);
	hf->low_mask = get32(m + 80);
	for (i = 0; i < HASHFILE_SPARES; i++)
		hf->spares[i] = get32(m + 96 + 4 * i);
	if ((hf->page = malloc(2 * (size_t)ps)) == NULL)
		return -1;
	hf->ovpage = hf->page + ps;
	return 0;
}

void
hashfile_fini(struct hashfile *hf)
{
	free(hf->page);
	hf->page = hf->ovpage = NULL;
}

/* bucket_page - the first page of the bucket key hashes to */
static int
bucket_page(const struct hashfile *hf, const void *key, size_t keylen,
    uint32_t *pgno)
{
	uint32_t b, s;

	b = hashfile_hash(key, keylen) & hf->high_mask;
	if (b > hf->max_bucket)
		b &= hf->low_mask;
	for (s = 0; s < HASHFILE_SPARES && ((uint64_t)1 << s) < (uint64_t)b + 1;
	    s++)
		;
	if (s >= HASHFILE_SPARES)
		return -1;
	*pgno = b + hf->spares[s];
	return *pgno < b ? -1 : 0;	/* wrapped: damaged */
}

/*
 * What the walks below return, besides their results: BAD, damage or
 * a shape this reader leaves to libdb; LOOP, damage libdb could follow
 * forever (a chain longer than the file, or an overflow page that
 * carries no bytes, which libdb never writes and its walks do not get
 * past if the chain loops).
 */
#define BAD	(-1)
#define LOOP	(-2)

/* ov_page - overflow page pgno, the steps-th of its item, into
   hf->ovpage; the bytes of the item it holds, or BAD or LOOP */
static int
ov_page(struct hashfile *hf, uint32_t pgno, uint32_t steps)
{
	const unsigned char *p = hf->ovpage;
	uint32_t len;

	if (steps > hf->last_pgno)
		return LOOP;
	if (pgno == 0 || read_page(hf, pgno, hf->ovpage) == -1 ||
	    get32(p + 8) != pgno || p[25] != P_OVERFLOW)
		return BAD;
	len = get16(p + 22);
	if (len == 0)
		return LOOP;
	return len > hf->pagesize - HEADER ? BAD : (int)len;
}

/*
 * ov_compare - compare key with the overflow item at pgno, tlen bytes
 * long, as libdb does (__db_moff): the first byte that differs, else
 * the shorter first. *res < 0, 0 or > 0; BAD or LOOP if damaged.
 */
static int
ov_compare(struct hashfile *hf, uint32_t pgno, uint32_t tlen,
    const unsigned char *key, size_t keylen, int *res)
{
	size_t left = keylen;
	uint32_t steps;
	int len, r;

	*res = 0;
	for (steps = 0; left > 0 && pgno != 0; steps++) {
		if ((len = ov_page(hf, pgno, steps)) < 0)
			return len;
		if ((size_t)len > left)
			len = (int)left;
		if ((uint32_t)len > tlen)
			return BAD;
		tlen -= (uint32_t)len;
		if ((r = memcmp(key, hf->ovpage + HEADER, (size_t)len)) != 0) {
			*res = r;
			return 0;
		}
		key += len;
		left -= (size_t)len;
		pgno = get32(hf->ovpage + 16);
	}
	*res = left > 0 ? 1 : tlen > 0 ? -1 : 0;
	return 0;
}

/* ov_copy - the first valuesize bytes of the overflow item at pgno,
   tlen bytes long, into value; BAD or LOOP if damaged */
static int
ov_copy(struct hashfile *hf, uint32_t pgno, uint32_t tlen,
    unsigned char *value, size_t valuesize)
{
	uint32_t done = 0, steps;
	size_t n;
	int len;

	for (steps = 0; done < tlen; steps++) {
		if ((len = ov_page(hf, pgno, steps)) < 0)
			return len;
		if ((uint32_t)len > tlen - done)
			return BAD;
		if (done < valuesize) {
			n = valuesize - done < (size_t)len ?
			    valuesize - done : (size_t)len;
			memcpy(value + done, hf->ovpage + HEADER, n);
		}
		done += (uint32_t)len;
		pgno = get32(hf->ovpage + 16);
	}
	return 0;
}

/* item - the bounds of item i of the page in hf->page; -1 if damaged */
static int
item(const struct hashfile *hf, unsigned int i, unsigned int entries,
    uint32_t *off, uint32_t *len)
{
	const unsigned char *p = hf->page;
	uint32_t start, end;

	start = get16(p + HEADER + 2 * i);
	end = i == 0 ? hf->pagesize : get16(p + HEADER + 2 * (i - 1));
	if (start < HEADER + 2 * entries || start >= end ||
	    end > hf->pagesize)
		return -1;
	*off = start;
	*len = end - start;
	return 0;
}

/*
 * key_cmp - compare key with the key of pair i, as libdb's search does
 * (__ham_getindex): *res < 0, 0 or > 0; BAD if not readable here, or
 * LOOP. On a sorted page libdb orders a key kept on the page after a
 * longer key with the same first bytes, and one on overflow pages
 * before it; an unsorted page is searched for equality only.
 */
static int
key_cmp(struct hashfile *hf, unsigned int i, unsigned int entries,
    const void *key, size_t keylen, int *res)
{
	const unsigned char *p;
	uint32_t off, len;

	if (item(hf, i, entries, &off, &len) == -1)
		return BAD;
	p = hf->page + off;
	switch (p[0]) {
	case H_KEYDATA:
		len--;
		*res = memcmp(key, p + 1, keylen < len ? keylen : len);
		if (*res == 0)
			*res = len > keylen ? 1 : len < keylen ? -1 : 0;
		return 0;
	case H_OFFPAGE:
		if (len < HOFFPAGE_SIZE)
			return BAD;
		return ov_compare(hf, get32(p + 4), get32(p + 8), key, keylen,
		    res);
	default:
		return BAD;
	}
}

/* data_of - copy the data of pair i; BAD if not readable here, LOOP */
static int
data_of(struct hashfile *hf, unsigned int i, unsigned int entries,
    void *value, size_t valuesize, size_t *datalen)
{
	const unsigned char *p;
	uint32_t off, len, n;

	if (item(hf, i + 1, entries, &off, &len) == -1)
		return BAD;
	p = hf->page + off;
	switch (p[0]) {
	case H_KEYDATA:
		n = len - 1;
		p += 1;
		break;
	case H_DUPLICATE:
		/* the first duplicate: length, bytes, length */
		if (len < 5)
			return BAD;
		n = get16(p + 1);
		if ((uint64_t)n + 5 > len || get16(p + 3 + n) != n)
			return BAD;
		p += 3;
		break;
	case H_OFFPAGE:
		if (len < HOFFPAGE_SIZE)
			return BAD;
		*datalen = get32(p + 8);
		return ov_copy(hf, get32(p + 4), get32(p + 8), value,
		    valuesize);
	default:
		return BAD;	/* duplicates on pages of their own */
	}
	*datalen = n;
	if (valuesize > 0)
		memcpy(value, p, n < valuesize ? n : valuesize);
	return 0;
}

/*
 * search - the pair of the page in hf->page whose key is key: its
 * index, or NONE, or BAD if the page is not readable here, or LOOP. As
 * libdb: a sorted page by binary search, an unsorted one in order.
 */
#define NONE	(-3)
static int
search(struct hashfile *hf, const void *key, size_t keylen)
{
	const unsigned char *p = hf->page;
	unsigned int entries, i, base, lim;
	int res, r;

	entries = get16(p + 20);
	if (entries % 2 != 0 || HEADER + 2 * entries > hf->pagesize)
		return BAD;
	if (p[25] == P_HASH_UNSORTED) {
		for (i = 0; i < entries; i += 2) {
			if ((r = key_cmp(hf, i, entries, key, keylen,
			    &res)) < 0)
				return r;
			if (res == 0)
				return (int)i;
		}
		return NONE;
	}
	for (base = 0, lim = entries / 2; lim != 0; lim >>= 1) {
		i = base + (lim >> 1) * 2;
		if ((r = key_cmp(hf, i, entries, key, keylen, &res)) < 0)
			return r;
		if (res == 0)
			return (int)i;
		if (res > 0) {
			base = i + 2;
			lim--;
		}
	}
	return NONE;
}

enum hashfile_result
hashfile_find(struct hashfile *hf, const void *key, size_t keylen,
    void *value, size_t valuesize, size_t *datalen)
{
	const unsigned char *p = hf->page;
	uint32_t pgno, steps;
	int i;

	if (keylen > UINT32_MAX || bucket_page(hf, key, keylen, &pgno) == -1)
		return HASHFILE_DEFER;
	for (steps = 0; pgno != 0; steps++) {
		if (steps > hf->last_pgno)
			return HASHFILE_DAMAGED;
		if (read_page(hf, pgno, hf->page) == -1)
			return HASHFILE_DEFER;
		if (steps == 0 && blank(p))
			break;		/* a bucket never written to */
		if (get32(p + 8) != pgno ||
		    (p[25] != P_HASH && p[25] != P_HASH_UNSORTED))
			return HASHFILE_DEFER;
		if ((i = search(hf, key, keylen)) >= 0)
			i = data_of(hf, (unsigned int)i, get16(p + 20),
			    value, valuesize, datalen);
		if (i == 0)
			return HASHFILE_FOUND;
		if (i == LOOP)
			return HASHFILE_DAMAGED;
		if (i == BAD)
			return HASHFILE_DEFER;
		pgno = get32(p + 16);
	}
	return HASHFILE_NOTFOUND;
}
