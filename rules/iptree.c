/* iptree.c - build, map and search IPBLOCK files */
/*
 * The builder sorts entries by address and sweeps them with a heap of
 * the entries covering the current address, so the most specific one
 * (smallest range; an exclusion at equal size; else the first added)
 * paints each stretch. The result is a set of disjoint stretches, each
 * owned by one listed entry. IPv4 single addresses go into per-/16
 * buckets of 16-bit low halves behind a 65,537-entry table; other IPv4
 * stretches are kept as ranges; IPv6 stretches are cut into prefixes
 * keyed by their first 64 bits (or 128 bits when longer than /64).
 * All integers are little-endian; sections are 8-byte aligned. The
 * reader trusts nothing: open checks the header and section bounds,
 * each lookup checks every index it follows. See docs/ipblock.5.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iptree.h"

typedef unsigned __int128 u128;

/* Sections, in file order. */
enum {
	S_V4TOP,	/* 65537 x u32: bucket start | pairs << 28, per /16 */
	S_V4DATA,	/* u16: per bucket, singles, then (lo, hi) pairs */
	S_V4RUN,	/* {u32 first element, u32 value}: value runs */
	S_V4FRAG,	/* {u32 element, u32 entry}: pairs that are parts */
	S_V4ENTRY,	/* {u32 first, u32 last}: entries of the parts */
	S_V6KEY,	/* u64: first 64 bits of prefixes up to /64 */
	S_V6META,	/* u32: prefix length << 24 | value */
	S_V6LKEY,	/* {u64 high, u64 low}: prefixes longer than /64 */
	S_V6LMETA,	/* u32: prefix length << 24 | value */
	S_V6FRAG,	/* {u32 record (bit 31: long), u32 entry}, sorted */
	S_V6ENTRY,	/* {u64 first hi, lo, u64 last hi, lo} */
	S_VALIDX,	/* u32 offsets into S_VALTEXT, values + 1 */
	S_VALTEXT,	/* value bytes */
	S_COUNT
};

static const size_t recsize[S_COUNT] = {
	4, 2, 8, 8, 8, 8, 4, 16, 4, 8, 32, 4, 1
};

#define HDR_FIXED	64
#define HDR_SIZE	(HDR_FIXED + 16 * S_COUNT)
#define TOP_ENTRIES	65537
#define TOP_START	0x0fffffffu	/* bits of the bucket start */
#define TOP_PAIRS_SHIFT	28		/* pairs in the bucket, 0..14 */
#define TOP_PAIRS_MORE	15		/* count in the bucket's last 2 u16 */
#define LONG_REF	0x80000000u

/* Header fields. */
#define H_VERSION	8
#define H_HDRSIZE	12
#define H_FILESIZE	16
#define H_CHECKSUM	24
#define H_NSECT		32
#define H_FLAGS		36
#define H_ENTRIES4	40
#define H_ENTRIES6	44
#define H_EXCLUDED	48
#define H_SINGLES	52
#define H_RANGES4	56
#define H_PREFIXES6	60

/* rd16 - a little-endian u16 from the file */
static inline uint16_t
rd16(const void *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return le16toh(v);
}

/* rd32 - a little-endian u32 from the file */
static inline uint32_t
rd32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

/* rd64 - a little-endian u64 from the file */
static inline uint64_t
rd64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

/* wr16 - store a little-endian u16 into an image */
static inline void
wr16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

/* wr32 - store a little-endian u32 into an image */
static inline void
wr32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

/* wr64 - store a little-endian u64 into an image */
static inline void
wr64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

/* checksum - FNV-1a, 64 bits, over len bytes */
static uint64_t
checksum(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* addr_to_u128 - an address as a number (IPv4 in the low 32 bits) */
static u128
addr_to_u128(const struct net_addr *a)
{
	u128 v = 0;
	int i, n = a->family == NET_V4 ? 4 : 16;

	for (i = 0; i < n; i++)
		v = v << 8 | a->bytes[i];
	return v;
}

/* u128_to_addr - the inverse of addr_to_u128 */
static void
u128_to_addr(u128 v, int family, struct net_addr *a)
{
	int i, n = family == NET_V4 ? 4 : 16;

	memset(a, 0, sizeof(*a));
	a->family = family;
	for (i = n - 1; i >= 0; i--) {
		a->bytes[i] = (uint8_t)v;
		v >>= 8;
	}
}

/*
 * Builder.
 */

struct ent {
	u128 first, last;
	uint32_t value;
	uint32_t seq;		/* order of addition: earlier wins ties */
	int excl;
};

struct ent_list {
	struct ent *e;
	size_t n, cap;
};

struct seg {
	u128 first, last;
	uint32_t ent;
};

struct iptree_builder {
	struct ent_list fam[2];		/* IPv4, IPv6 */
	size_t excluded;
	uint32_t seq;
	/* Interned values: text, offsets, open-addressing hash of ids. */
	char *text;
	size_t text_len, text_cap;
	uint32_t *off;			/* nvalues + 1 offsets */
	size_t nvalues, off_cap;
	uint32_t *hash;			/* id + 1, 0 = empty */
	size_t hash_cap;
	int finished;
};

/* grow - make room for one more element of size esize in *arr */
static int
grow(void **arr, size_t *cap, size_t n, size_t esize)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap == 0 ? 64 : *cap * 2;
	if (ncap < *cap || ncap > SIZE_MAX / esize) {
		errno = ENOMEM;
		return -1;
	}
	if ((p = realloc(*arr, ncap * esize)) == NULL)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* value_hash - hash of value text */
static uint32_t
value_hash(const char *s, size_t len)
{
	return (uint32_t)checksum((const uint8_t *)s, len);
}

/* rehash - double the value hash table */
static int
rehash(struct iptree_builder *b)
{
	size_t ncap = b->hash_cap == 0 ? 256 : b->hash_cap * 2, i, j;
	uint32_t *h;

	if ((h = calloc(ncap, sizeof(*h))) == NULL)
		return -1;
	for (i = 0; i < b->nvalues; i++) {
		uint32_t o = b->off[i];

		j = value_hash(b->text + o, b->off[i + 1] - o) & (ncap - 1);
		while (h[j] != 0)
			j = (j + 1) & (ncap - 1);
		h[j] = (uint32_t)i + 1;
	}
	free(b->hash);
	b->hash = h;
	b->hash_cap = ncap;
	return 0;
}

/* iptree_builder_new - an empty builder holding the empty value */
struct iptree_builder *
iptree_builder_new(void)
{
	struct iptree_builder *b;
	uint32_t id;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	if ((b->off = calloc(64, sizeof(*b->off))) == NULL) {
		free(b);
		return NULL;
	}
	b->off_cap = 64;
	if (iptree_builder_value(b, "", 0, &id) == -1) {
		iptree_builder_free(b);
		return NULL;
	}
	return b;
}

/* iptree_builder_free - release a builder */
void
iptree_builder_free(struct iptree_builder *b)
{
	if (b == NULL)
		return;
	free(b->fam[0].e);
	free(b->fam[1].e);
	free(b->text);
	free(b->off);
	free(b->hash);
	free(b);
}

/* iptree_builder_value - intern a value */
int
iptree_builder_value(struct iptree_builder *b, const char *text, size_t len,
    uint32_t *id)
{
	size_t j;
	void *p;

	if (len > IPTREE_VALUE_MAX || (len > 0 && memchr(text, '\0', len))) {
		errno = EINVAL;
		return -1;
	}
	if (b->hash_cap == 0 || (b->nvalues + 1) * 2 > b->hash_cap)
		if (rehash(b) == -1)
			return -1;
	j = value_hash(text, len) & (b->hash_cap - 1);
	while (b->hash[j] != 0) {
		uint32_t i = b->hash[j] - 1, o = b->off[i];

		if (b->off[i + 1] - o == len && (len == 0 ||
		    memcmp(b->text + o, text, len) == 0)) {
			*id = i;
			return 0;
		}
		j = (j + 1) & (b->hash_cap - 1);
	}
	if (b->nvalues >= IPTREE_VALUES_MAX ||
	    b->text_len + len > UINT32_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	while (b->text_len + len > b->text_cap) {
		size_t ncap = b->text_cap == 0 ? 4096 : b->text_cap * 2;

		if ((p = realloc(b->text, ncap)) == NULL)
			return -1;
		b->text = p;
		b->text_cap = ncap;
	}
	p = b->off;
	if (grow(&p, &b->off_cap, b->nvalues + 2, sizeof(*b->off)) == -1)
		return -1;
	b->off = p;
	if (len > 0)
		memcpy(b->text + b->text_len, text, len);
	b->text_len += len;
	b->off[b->nvalues + 1] = (uint32_t)b->text_len;
	b->hash[j] = (uint32_t)b->nvalues + 1;
	*id = (uint32_t)b->nvalues++;
	return 0;
}

/* iptree_builder_add - add one entry */
int
iptree_builder_add(struct iptree_builder *b, const struct net_addr *first,
    const struct net_addr *last, uint32_t value, int exclude)
{
	struct ent_list *l;
	struct ent *e;
	u128 f, t;
	void *p;

	if (b->finished || first->family != last->family ||
	    (first->family != NET_V4 && first->family != NET_V6) ||
	    value >= b->nvalues) {
		errno = EINVAL;
		return -1;
	}
	f = addr_to_u128(first);
	t = addr_to_u128(last);
	if (f > t) {
		errno = EINVAL;
		return -1;
	}
	l = &b->fam[first->family == NET_V4 ? 0 : 1];
	if (l->n >= IPTREE_ENTRIES_MAX || b->seq == UINT32_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	p = l->e;
	if (grow(&p, &l->cap, l->n, sizeof(*l->e)) == -1)
		return -1;
	l->e = p;
	e = &l->e[l->n++];
	e->first = f;
	e->last = t;
	e->value = exclude ? 0 : value;
	e->seq = b->seq++;
	e->excl = exclude != 0;
	if (exclude)
		b->excluded++;
	return 0;
}

/* ent_cmp - order entries by first address, then addition order */
static int
ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* beats - 1 if entry a is more specific than entry b */
static int
beats(const struct ent *a, const struct ent *b)
{
	u128 sa = a->last - a->first, sb = b->last - b->first;

	if (sa != sb)
		return sa < sb;
	if (a->excl != b->excl)
		return a->excl;
	return a->seq < b->seq;
}

/* heap_push - add entry index i to the heap h of n elements */
static void
heap_push(uint32_t *h, size_t *n, const struct ent *e, uint32_t i)
{
	size_t k = (*n)++;

	while (k > 0) {
		size_t parent = (k - 1) / 2;

		if (!beats(&e[i], &e[h[parent]]))
			break;
		h[k] = h[parent];
		k = parent;
	}
	h[k] = i;
}

/* heap_pop - remove the top of the heap */
static void
heap_pop(uint32_t *h, size_t *n, const struct ent *e)
{
	uint32_t last = h[--(*n)];
	size_t k = 0;

	for (;;) {
		size_t c = 2 * k + 1;

		if (c >= *n)
			break;
		if (c + 1 < *n && beats(&e[h[c + 1]], &e[h[c]]))
			c++;
		if (!beats(&e[h[c]], &e[last]))
			break;
		h[k] = h[c];
		k = c;
	}
	if (*n > 0)
		h[k] = last;
}

/*
 * paint - sweep sorted entries; store in *segs the disjoint stretches
 * that listed entries win, merged where one entry's stretches touch.
 */
static int
paint(const struct ent *e, size_t n, u128 maxaddr, struct seg **segs,
    size_t *nsegs)
{
	uint32_t *heap;
	struct seg *s = NULL;
	size_t nheap = 0, i = 0, ns = 0, cap = 0;
	u128 pos = 0, end;
	uint32_t w;
	void *p;

	*segs = NULL;
	*nsegs = 0;
	if (n == 0)
		return 0;
	if ((heap = calloc(n, sizeof(*heap))) == NULL)
		return -1;
	for (;;) {
		if (nheap == 0) {
			if (i == n)
				break;
			pos = e[i].first;
		}
		while (i < n && e[i].first <= pos)
			heap_push(heap, &nheap, e, (uint32_t)i++);
		while (nheap > 0 && e[heap[0]].last < pos)
			heap_pop(heap, &nheap, e);
		if (nheap == 0)
			continue;
		w = heap[0];
		end = e[w].last;
		if (i < n && e[i].first - 1 < end)
			end = e[i].first - 1;
		if (!e[w].excl) {
			if (ns > 0 && s[ns - 1].ent == w &&
			    s[ns - 1].last + 1 == pos)
				s[ns - 1].last = end;
			else {
				p = s;
				if (grow(&p, &cap, ns, sizeof(*s)) == -1) {
					free(s);
					free(heap);
					return -1;
				}
				s = p;
				s[ns].first = pos;
				s[ns].last = end;
				s[ns].ent = w;
				ns++;
			}
		}
		if (end == maxaddr)
			break;
		pos = end + 1;
	}
	free(heap);
	*segs = s;
	*nsegs = ns;
	return 0;
}

/* A growable byte array for one section. */
struct sect {
	uint8_t *p;
	size_t len, cap;
};

/* sect_add - append len bytes (zeroed) and return a pointer to them */
static uint8_t *
sect_add(struct sect *s, size_t len)
{
	uint8_t *p;

	if (len > SIZE_MAX - s->len) {
		errno = ENOMEM;
		return NULL;
	}
	if (s->p == NULL || s->len + len > s->cap) {
		size_t ncap = s->cap == 0 ? 4096 : s->cap;

		while (ncap < s->len + len) {
			if (ncap > SIZE_MAX / 2) {
				errno = ENOMEM;
				return NULL;
			}
			ncap *= 2;
		}
		if ((p = realloc(s->p, ncap)) == NULL)
			return NULL;
		s->p = p;
		s->cap = ncap;
	}
	p = s->p + s->len;
	memset(p, 0, len);
	s->len += len;
	return p;
}

/* entry_ref - the compact index of source entry i, assigned on first
   use; returns 1 if it is new */
static int
entry_ref(uint32_t *map, uint32_t i, uint32_t *next, uint32_t *ref)
{
	int is_new = map[i] == UINT32_MAX;

	if (is_new)
		map[i] = (*next)++;
	*ref = map[i];
	return is_new;
}

/* frag_cmp - order fragment records by element or record */
static int
frag_cmp(const void *a, const void *b)
{
	uint32_t x = rd32(a), y = rd32(b);

	return x < y ? -1 : x > y;
}

/*
 * layout_v4 - the IPv4 sections from the painted stretches. Each /16
 * bucket holds its single addresses (16-bit low halves, sorted), then
 * its pieces of longer stretches as (lo, hi) pairs, then, if it has 15
 * pairs or more, their count as two u16. Elements are numbered by their
 * place in S_V4DATA; values and fragments refer to those numbers.
 */
static int
layout_v4(const struct ent *e, size_t n, const struct seg *s, size_t ns,
    struct sect *sec, struct iptree_stats *st)
{
	uint32_t *cs = NULL, *cp = NULL, *ps = NULL, *pp = NULL, *vals = NULL;
	uint32_t *map = NULL, nent = 0, ref, b, lastval;
	uint64_t total = 0;
	size_t i, k;
	uint8_t *p, *data;
	int r = -1;

	if (n == 0)
		return 0;
	if ((cs = calloc(65536, sizeof(*cs))) == NULL ||
	    (cp = calloc(65536, sizeof(*cp))) == NULL ||
	    (ps = calloc(65536, sizeof(*ps))) == NULL ||
	    (pp = calloc(65536, sizeof(*pp))) == NULL ||
	    (map = malloc(n * sizeof(*map))) == NULL)
		goto out;
	memset(map, 0xff, n * sizeof(*map));
	/* Count singles and pieces per bucket. */
	for (i = 0; i < ns; i++) {
		uint32_t f = (uint32_t)s[i].first, l = (uint32_t)s[i].last;

		if (e[s[i].ent].first == e[s[i].ent].last) {
			cs[f >> 16]++;
			st->singles++;
			continue;
		}
		for (b = f >> 16; ; b++) {
			cp[b]++;
			st->ranges_v4++;
			if (b == l >> 16)
				break;
		}
	}
	/* Bucket starts. */
	if ((p = sect_add(&sec[S_V4TOP], TOP_ENTRIES * 4)) == NULL)
		goto out;
	for (b = 0; b < 65536; b++) {
		uint32_t np = cp[b] < TOP_PAIRS_MORE ? cp[b] : TOP_PAIRS_MORE;

		wr32(p + 4 * (size_t)b, (uint32_t)total |
		    np << TOP_PAIRS_SHIFT);
		ps[b] = (uint32_t)total;
		pp[b] = (uint32_t)total + cs[b];
		total += cs[b] + 2 * (uint64_t)cp[b] +
		    (cp[b] >= TOP_PAIRS_MORE ? 2 : 0);
		if (total > TOP_START) {
			errno = EOVERFLOW;
			goto out;
		}
	}
	wr32(p + 4 * 65536, (uint32_t)total);
	if ((data = sect_add(&sec[S_V4DATA], 2 * (size_t)total)) == NULL ||
	    (total > 0 && (vals = calloc(total, sizeof(*vals))) == NULL))
		goto out;
	/* Fill. */
	for (i = 0; i < ns; i++) {
		const struct ent *x = &e[s[i].ent];
		uint32_t f = (uint32_t)s[i].first, l = (uint32_t)s[i].last;
		int whole = s[i].first == x->first && s[i].last == x->last &&
		    f >> 16 == l >> 16;

		if (x->first == x->last) {
			b = f >> 16;
			wr16(data + 2 * (size_t)ps[b], (uint16_t)f);
			vals[ps[b]++] = x->value;
			continue;
		}
		for (b = f >> 16; ; b++) {
			wr16(data + 2 * (size_t)pp[b], b == f >> 16 ?
			    (uint16_t)f : 0);
			wr16(data + 2 * (size_t)pp[b] + 2, b == l >> 16 ?
			    (uint16_t)l : 0xffff);
			vals[pp[b]] = vals[pp[b] + 1] = x->value;
			if (!whole) {
				if (entry_ref(map, s[i].ent, &nent, &ref)) {
					if ((p = sect_add(&sec[S_V4ENTRY],
					    8)) == NULL)
						goto out;
					wr32(p, (uint32_t)x->first);
					wr32(p + 4, (uint32_t)x->last);
				}
				if ((p = sect_add(&sec[S_V4FRAG], 8)) == NULL)
					goto out;
				wr32(p, pp[b]);
				wr32(p + 4, ref);
			}
			pp[b] += 2;
			if (b == l >> 16)
				break;
		}
	}
	for (b = 0; b < 65536; b++)
		if (cp[b] >= TOP_PAIRS_MORE) {
			wr16(data + 2 * (size_t)pp[b], (uint16_t)cp[b]);
			wr16(data + 2 * (size_t)pp[b] + 2,
			    (uint16_t)(cp[b] >> 16));
			vals[pp[b]] = vals[pp[b] + 1] = pp[b] > 0 ?
			    vals[pp[b] - 1] : 0;
		}
	/* Value runs over the elements. */
	for (k = 0, lastval = UINT32_MAX; k < total; k++)
		if (vals[k] != lastval) {
			if ((p = sect_add(&sec[S_V4RUN], 8)) == NULL)
				goto out;
			wr32(p, (uint32_t)k);
			wr32(p + 4, vals[k]);
			lastval = vals[k];
		}
	if (sec[S_V4FRAG].len > 0)
		qsort(sec[S_V4FRAG].p, sec[S_V4FRAG].len / 8, 8, frag_cmp);
	r = 0;
out:
	free(cs);
	free(cp);
	free(ps);
	free(pp);
	free(vals);
	free(map);
	return r;
}

/* ctz128 - trailing zero bits of v (128 for 0) */
static unsigned int
ctz128(u128 v)
{
	uint64_t lo = (uint64_t)v, hi = (uint64_t)(v >> 64);

	if (lo != 0)
		return (unsigned int)__builtin_ctzll(lo);
	if (hi != 0)
		return 64 + (unsigned int)__builtin_ctzll(hi);
	return 128;
}

/* log2_floor128 - floor(log2(v)) for v > 0 */
static unsigned int
log2_floor128(u128 v)
{
	uint64_t hi = (uint64_t)(v >> 64);

	if (hi != 0)
		return 127 - (unsigned int)__builtin_clzll(hi);
	return 63 - (unsigned int)__builtin_clzll((uint64_t)v);
}

/* v6_record - append one prefix record; return its reference */
static int
v6_record(struct sect *sec, u128 start, unsigned int plen, uint32_t value,
    uint32_t *ref)
{
	uint8_t *p;
	size_t count;

	if (plen <= 64) {
		count = sec[S_V6KEY].len / 8;
		if ((p = sect_add(&sec[S_V6KEY], 8)) == NULL)
			return -1;
		wr64(p, (uint64_t)(start >> 64));
		if ((p = sect_add(&sec[S_V6META], 4)) == NULL)
			return -1;
		wr32(p, (uint32_t)plen << 24 | value);
		*ref = (uint32_t)count;
	} else {
		count = sec[S_V6LKEY].len / 16;
		if ((p = sect_add(&sec[S_V6LKEY], 16)) == NULL)
			return -1;
		wr64(p, (uint64_t)(start >> 64));
		wr64(p + 8, (uint64_t)start);
		if ((p = sect_add(&sec[S_V6LMETA], 4)) == NULL)
			return -1;
		wr32(p, (uint32_t)plen << 24 | value);
		*ref = (uint32_t)count | LONG_REF;
	}
	if (count >= LONG_REF) {
		errno = EOVERFLOW;
		return -1;
	}
	return 0;
}

/* layout_v6 - the IPv6 sections: each stretch cut into prefixes */
static int
layout_v6(const struct ent *e, size_t n, const struct seg *s, size_t ns,
    struct sect *sec, struct iptree_stats *st)
{
	uint32_t *map, nent = 0, ref, eref;
	size_t i;
	uint8_t *p;
	int r = -1;

	if (n == 0)
		return 0;
	if ((map = malloc(n * sizeof(*map))) == NULL)
		return -1;
	memset(map, 0xff, n * sizeof(*map));
	for (i = 0; i < ns; i++) {
		const struct ent *x = &e[s[i].ent];
		u128 a = s[i].first, span;
		unsigned int k, kmax;
		int whole;

		for (;;) {
			span = s[i].last - a;
			k = ctz128(a);
			kmax = span == ~(u128)0 ? 128 : log2_floor128(span + 1);
			if (k > kmax)
				k = kmax;
			whole = a == x->first && k == 128 ? 1 :
			    a == x->first && k < 128 &&
			    x->last - x->first == ((u128)1 << k) - 1;
			if (v6_record(sec, a, 128 - k, x->value, &ref) == -1)
				goto out;
			st->prefixes_v6++;
			if (!whole) {
				if (entry_ref(map, s[i].ent, &nent, &eref)) {
					if ((p = sect_add(&sec[S_V6ENTRY],
					    32)) == NULL)
						goto out;
					wr64(p, (uint64_t)(x->first >> 64));
					wr64(p + 8, (uint64_t)x->first);
					wr64(p + 16, (uint64_t)(x->last >> 64));
					wr64(p + 24, (uint64_t)x->last);
				}
				if ((p = sect_add(&sec[S_V6FRAG], 8)) == NULL)
					goto out;
				wr32(p, ref);
				wr32(p + 4, eref);
			}
			if (k == 128 || a + (((u128)1 << k) - 1) == s[i].last)
				break;
			a += (u128)1 << k;
		}
	}
	if (sec[S_V6FRAG].len > 0)
		qsort(sec[S_V6FRAG].p, sec[S_V6FRAG].len / 8, 8, frag_cmp);
	r = 0;
out:
	free(map);
	return r;
}

/* iptree_builder_finish - resolve overlaps and lay out the image */
int
iptree_builder_finish(struct iptree_builder *b, void **image, size_t *size,
    struct iptree_stats *stats)
{
	struct sect sec[S_COUNT];
	struct iptree_stats st;
	struct seg *segs;
	size_t nsegs, total, off, i;
	uint8_t *img, *p;
	int f, r = -1;

	*image = NULL;
	*size = 0;
	memset(sec, 0, sizeof(sec));
	memset(&st, 0, sizeof(st));
	b->finished = 1;
	st.entries_v4 = b->fam[0].n;
	st.entries_v6 = b->fam[1].n;
	st.excluded = b->excluded;
	st.values = b->nvalues;
	for (f = 0; f < 2; f++) {
		struct ent_list *l = &b->fam[f];

		if (l->n > 0)
			qsort(l->e, l->n, sizeof(*l->e), ent_cmp);
		if (paint(l->e, l->n, f == 0 ? (u128)UINT32_MAX : ~(u128)0,
		    &segs, &nsegs) == -1)
			goto out;
		if (f == 0)
			r = layout_v4(l->e, l->n, segs, nsegs, sec, &st);
		else
			r = layout_v6(l->e, l->n, segs, nsegs, sec, &st);
		free(segs);
		if (r == -1)
			goto out;
		r = -1;
	}
	if ((p = sect_add(&sec[S_VALIDX], 4 * (b->nvalues + 1))) == NULL)
		goto out;
	for (i = 0; i <= b->nvalues; i++)
		wr32(p + 4 * i, b->off[i]);
	if (b->text_len > 0) {
		if ((p = sect_add(&sec[S_VALTEXT], b->text_len)) == NULL)
			goto out;
		memcpy(p, b->text, b->text_len);
	}
	total = HDR_SIZE;
	for (i = 0; i < S_COUNT; i++)
		total += (sec[i].len + 7) & ~(size_t)7;
	if ((img = calloc(1, total)) == NULL)
		goto out;
	memcpy(img, IPTREE_MAGIC, IPTREE_MAGIC_LEN);
	wr32(img + H_VERSION, IPTREE_VERSION);
	wr32(img + H_HDRSIZE, HDR_SIZE);
	wr64(img + H_FILESIZE, total);
	wr32(img + H_NSECT, S_COUNT);
	wr32(img + H_FLAGS, 0);
	wr32(img + H_ENTRIES4, (uint32_t)st.entries_v4);
	wr32(img + H_ENTRIES6, (uint32_t)st.entries_v6);
	wr32(img + H_EXCLUDED, b->excluded > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)b->excluded);
	wr32(img + H_SINGLES, (uint32_t)st.singles);
	wr32(img + H_RANGES4, (uint32_t)st.ranges_v4);
	wr32(img + H_PREFIXES6, st.prefixes_v6 > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)st.prefixes_v6);
	off = HDR_SIZE;
	for (i = 0; i < S_COUNT; i++) {
		wr64(img + HDR_FIXED + 16 * i, off);
		wr64(img + HDR_FIXED + 16 * i + 8, sec[i].len);
		if (sec[i].len > 0)
			memcpy(img + off, sec[i].p, sec[i].len);
		off += (sec[i].len + 7) & ~(size_t)7;
	}
	wr64(img + H_CHECKSUM, checksum(img + HDR_SIZE, total - HDR_SIZE));
	st.bytes = total;
	*image = img;
	*size = total;
	if (stats != NULL)
		*stats = st;
	r = 0;
out:
	for (i = 0; i < S_COUNT; i++)
		free(sec[i].p);
	return r;
}

/*
 * Reader.
 */

struct iptree {
	const uint8_t *base;
	size_t size;
	int mapped;
	const uint8_t *sec[S_COUNT];
	uint32_t count[S_COUNT];	/* records in each section */
};

/* fail - fill err and return NULL with errno */
static struct iptree *fail(char *, size_t, int, const char *, ...)
    __attribute__((format(printf, 4, 5)));

static struct iptree *
fail(char *err, size_t errsize, int e, const char *fmt, ...)
{
	va_list ap;

	if (errsize > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsize, fmt, ap);
		va_end(ap);
	}
	errno = e;
	return NULL;
}

/* check_header - validate the header and section table of an image */
static struct iptree *
check_header(const uint8_t *img, size_t size, char *err, size_t errsize)
{
	struct iptree *t;
	uint64_t off, len;
	uint32_t v, i;

	if (size < HDR_FIXED || memcmp(img, IPTREE_MAGIC,
	    IPTREE_MAGIC_LEN) != 0)
		return fail(err, errsize, EPROTO, "not an IPBLOCK file");
	if ((v = rd32(img + H_VERSION)) != IPTREE_VERSION)
		return fail(err, errsize, EPROTO,
		    "unsupported IPBLOCK version %u", v);
	if (rd32(img + H_HDRSIZE) != HDR_SIZE || rd32(img + H_NSECT) !=
	    S_COUNT || size < HDR_SIZE)
		return fail(err, errsize, EPROTO, "corrupt IPBLOCK header");
	if (rd64(img + H_FILESIZE) != size)
		return fail(err, errsize, EPROTO,
		    "truncated IPBLOCK file (%zu bytes, header says %llu)",
		    size, (unsigned long long)rd64(img + H_FILESIZE));
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return fail(err, errsize, ENOMEM, "out of memory");
	t->base = img;
	t->size = size;
	for (i = 0; i < S_COUNT; i++) {
		off = rd64(img + HDR_FIXED + 16 * i);
		len = rd64(img + HDR_FIXED + 16 * i + 8);
		if (off < HDR_SIZE || off > size || len > size - off ||
		    off % 8 != 0 || len % recsize[i] != 0 ||
		    len / recsize[i] > UINT32_MAX) {
			free(t);
			return fail(err, errsize, EPROTO,
			    "corrupt IPBLOCK file: section %u out of bounds",
			    i);
		}
		t->sec[i] = img + off;
		t->count[i] = (uint32_t)(len / recsize[i]);
	}
	if ((t->count[S_V4TOP] != 0 && t->count[S_V4TOP] != TOP_ENTRIES) ||
	    t->count[S_V6META] != t->count[S_V6KEY] ||
	    t->count[S_V6LMETA] != t->count[S_V6LKEY] ||
	    t->count[S_VALIDX] < 2) {
		free(t);
		return fail(err, errsize, EPROTO,
		    "corrupt IPBLOCK file: inconsistent sections");
	}
	return t;
}

/* iptree_open_buffer - check an image the caller keeps */
struct iptree *
iptree_open_buffer(const void *image, size_t size, char *err, size_t errsize)
{
	return check_header(image, size, err, errsize);
}

/* iptree_open - map a file and check it */
struct iptree *
iptree_open(const char *path, char *err, size_t errsize)
{
	struct iptree *t;
	struct stat sb;
	void *p;
	int fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		e = errno;
		return fail(err, errsize, e, "cannot open IPBLOCK file %s: %s",
		    path, strerror(e));
	}
	if (fstat(fd, &sb) == -1) {
		e = errno;
		close(fd);
		return fail(err, errsize, e, "cannot stat IPBLOCK file %s: %s",
		    path, strerror(e));
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size < HDR_FIXED ||
	    (uintmax_t)sb.st_size > SIZE_MAX) {
		close(fd);
		return fail(err, errsize, EPROTO, "%s: not an IPBLOCK file",
		    path);
	}
	p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
	e = errno;
	close(fd);
	if (p == MAP_FAILED)
		return fail(err, errsize, e, "cannot map IPBLOCK file %s: %s",
		    path, strerror(e));
	if ((t = check_header(p, (size_t)sb.st_size, err, errsize)) == NULL) {
		e = errno;
		munmap(p, (size_t)sb.st_size);
		if (errsize > 0) {
			char msg[256];

			snprintf(msg, sizeof(msg), "%s", err);
			snprintf(err, errsize, "%s: %s", path, msg);
		}
		errno = e;
		return NULL;
	}
	t->mapped = 1;
	return t;
}

/* iptree_close - unmap and free */
void
iptree_close(struct iptree *t)
{
	if (t == NULL)
		return;
	if (t->mapped)
		munmap((void *)t->base, t->size);
	free(t);
}

/* corrupt - a lookup met an index out of bounds */
static int
corrupt(void)
{
	errno = EPROTO;
	return -1;
}

/* get_value - point m at value id; -1 if out of bounds */
static int
get_value(const struct iptree *t, uint32_t id, struct iptree_match *m)
{
	uint32_t a, b;

	if (id >= t->count[S_VALIDX] - 1)
		return -1;
	a = rd32(t->sec[S_VALIDX] + 4 * (size_t)id);
	b = rd32(t->sec[S_VALIDX] + 4 * (size_t)id + 4);
	if (a > b || b > t->count[S_VALTEXT])
		return -1;
	if (m != NULL) {
		m->value = (const char *)t->sec[S_VALTEXT] + a;
		m->value_len = b - a;
	}
	return 0;
}

/* run_value - the value of element idx from a run section */
static int
run_value(const struct iptree *t, int sect, uint32_t idx,
    struct iptree_match *m)
{
	uint32_t rl = 0, rh = t->count[sect], rm;

	if (rh == 0)
		return -1;
	while (rh - rl > 1) {
		rm = rl + (rh - rl) / 2;
		if (rd32(t->sec[sect] + 8 * (size_t)rm) <= idx)
			rl = rm;
		else
			rh = rm;
	}
	return get_value(t, rd32(t->sec[sect] + 8 * (size_t)rl + 4), m);
}

/* bucket - the singles [*s0, *p0) and *np pairs from *p0 of bucket b;
   -1 if the table points outside the data */
static int
bucket(const struct iptree *t, uint32_t b, uint32_t *s0, uint32_t *p0,
    uint32_t *np)
{
	const uint8_t *top = t->sec[S_V4TOP] + 4 * (size_t)b, *c;
	uint32_t w = rd32(top), start = w & TOP_START;
	uint32_t end = rd32(top + 4) & TOP_START, tail = 0;
	uint64_t need;

	*np = w >> TOP_PAIRS_SHIFT;
	if (start > end || end > t->count[S_V4DATA])
		return -1;
	if (*np == TOP_PAIRS_MORE) {
		if (end - start < 2)
			return -1;
		c = t->sec[S_V4DATA] + 2 * (size_t)end - 4;
		*np = rd16(c) | (uint32_t)rd16(c + 2) << 16;
		tail = 2;
	}
	need = 2 * (uint64_t)*np + tail;
	if (need > end - start)
		return -1;
	*s0 = start;
	*p0 = end - (uint32_t)need;
	return 0;
}

/* find_v4 - an IPv4 lookup: the bucket's singles, then its pairs */
static int
find_v4(const struct iptree *t, uint32_t a, struct iptree_match *m)
{
	const uint8_t *d = t->sec[S_V4DATA];
	uint32_t lo, hi, mid, low16 = a & 0xffff, s0, p0, np, x, f, l;

	if (t->count[S_V4TOP] == 0)
		return 0;
	if (bucket(t, a >> 16, &s0, &p0, &np) == -1)
		return corrupt();
	lo = s0;
	hi = p0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		x = rd16(d + 2 * (size_t)mid);
		if (x < low16)
			lo = mid + 1;
		else if (x > low16)
			hi = mid;
		else {
			if (run_value(t, S_V4RUN, mid, m) == -1)
				return corrupt();
			if (m != NULL) {
				u128_to_addr(a, NET_V4, &m->first);
				m->last = m->first;
			}
			return 1;
		}
	}
	/* The last pair starting at or before a. */
	lo = 0;
	hi = np;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (rd16(d + 2 * ((size_t)p0 + 2 * mid)) <= low16)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return 0;
	mid = p0 + 2 * (lo - 1);
	if (rd16(d + 2 * (size_t)mid + 2) < low16)
		return 0;
	if (run_value(t, S_V4RUN, mid, m) == -1)
		return corrupt();
	if (m == NULL)
		return 1;
	/* Its entry: a part's from the fragment table, else the piece. */
	f = (a & 0xffff0000u) | rd16(d + 2 * (size_t)mid);
	l = (a & 0xffff0000u) | rd16(d + 2 * (size_t)mid + 2);
	lo = 0;
	hi = t->count[S_V4FRAG];
	while (lo < hi) {
		uint32_t k = lo + (hi - lo) / 2;

		x = rd32(t->sec[S_V4FRAG] + 8 * (size_t)k);
		if (x < mid)
			lo = k + 1;
		else if (x > mid)
			hi = k;
		else {
			uint32_t ent;

			ent = rd32(t->sec[S_V4FRAG] + 8 * (size_t)k + 4);

			if (ent >= t->count[S_V4ENTRY])
				return corrupt();
			f = rd32(t->sec[S_V4ENTRY] + 8 * (size_t)ent);
			l = rd32(t->sec[S_V4ENTRY] + 8 * (size_t)ent + 4);
			break;
		}
	}
	u128_to_addr(f, NET_V4, &m->first);
	u128_to_addr(l, NET_V4, &m->last);
	return 1;
}

/* v6_entry - the source entry of record ref: a fragment's, or its own */
static int
v6_entry(const struct iptree *t, uint32_t ref, u128 start, unsigned int plen,
    struct iptree_match *m)
{
	uint32_t lo = 0, hi = t->count[S_V6FRAG], mid, x, ent;
	const uint8_t *p;
	u128 f, l;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		x = rd32(t->sec[S_V6FRAG] + 8 * (size_t)mid);
		if (x < ref)
			lo = mid + 1;
		else if (x > ref)
			hi = mid;
		else {
			ent = rd32(t->sec[S_V6FRAG] + 8 * (size_t)mid + 4);
			if (ent >= t->count[S_V6ENTRY])
				return corrupt();
			p = t->sec[S_V6ENTRY] + 32 * (size_t)ent;
			f = (u128)rd64(p) << 64 | rd64(p + 8);
			l = (u128)rd64(p + 16) << 64 | rd64(p + 24);
			u128_to_addr(f, NET_V6, &m->first);
			u128_to_addr(l, NET_V6, &m->last);
			return 0;
		}
	}
	u128_to_addr(start, NET_V6, &m->first);
	u128_to_addr(plen == 0 ? ~(u128)0 :
	    start | ((((u128)1) << (128 - plen)) - 1), NET_V6, &m->last);
	return 0;
}

/* find_v6 - an IPv6 lookup: prefixes up to /64, then longer ones */
static int
find_v6(const struct iptree *t, u128 a, struct iptree_match *m)
{
	uint64_t h = (uint64_t)(a >> 64), l = (uint64_t)a, key, mask;
	uint32_t lo, hi, mid, meta, plen;

	lo = 0;
	hi = t->count[S_V6KEY];
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (rd64(t->sec[S_V6KEY] + 8 * (size_t)mid) <= h)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0) {
		key = rd64(t->sec[S_V6KEY] + 8 * (size_t)(lo - 1));
		meta = rd32(t->sec[S_V6META] + 4 * (size_t)(lo - 1));
		plen = meta >> 24;
		if (plen > 64)
			return corrupt();
		mask = plen == 0 ? 0 : ~(uint64_t)0 << (64 - plen);
		if ((h & mask) == key) {
			if (get_value(t, meta & 0xffffff, m) == -1)
				return corrupt();
			if (m != NULL)
				return v6_entry(t, lo - 1, (u128)key << 64,
				    plen, m) == -1 ? -1 : 1;
			return 1;
		}
	}
	lo = 0;
	hi = t->count[S_V6LKEY];
	while (lo < hi) {
		const uint8_t *p;
		uint64_t kh;

		mid = lo + (hi - lo) / 2;
		p = t->sec[S_V6LKEY] + 16 * (size_t)mid;
		kh = rd64(p);
		if (kh < h || (kh == h && rd64(p + 8) <= l))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return 0;
	{
		const uint8_t *p = t->sec[S_V6LKEY] + 16 * (size_t)(lo - 1);

		meta = rd32(t->sec[S_V6LMETA] + 4 * (size_t)(lo - 1));
		plen = meta >> 24;
		if (plen <= 64 || plen > 128)
			return corrupt();
		mask = plen == 128 ? ~(uint64_t)0 : ~(uint64_t)0 <<
		    (128 - plen);
		if (rd64(p) != h || (l & mask) != rd64(p + 8))
			return 0;
		if (get_value(t, meta & 0xffffff, m) == -1)
			return corrupt();
		if (m != NULL)
			return v6_entry(t, (lo - 1) | LONG_REF,
			    (u128)h << 64 | rd64(p + 8), plen, m) == -1 ?
			    -1 : 1;
	}
	return 1;
}

/* iptree_find - the most specific entry covering addr */
int
iptree_find(const struct iptree *t, const struct net_addr *addr,
    struct iptree_match *m)
{
	if (addr->family == NET_V4)
		return find_v4(t, (uint32_t)addr_to_u128(addr), m);
	if (addr->family == NET_V6)
		return find_v6(t, addr_to_u128(addr), m);
	return 0;
}

/* bad - fill err for iptree_verify; returns -1 */
static int bad(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static int
bad(char *err, size_t errsize, const char *fmt, ...)
{
	va_list ap;

	if (errsize > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsize, fmt, ap);
		va_end(ap);
	}
	errno = EPROTO;
	return -1;
}

/* verify_runs - a run section over count elements */
static int
verify_runs(const struct iptree *t, int sect, uint32_t count, char *err,
    size_t errsize)
{
	uint32_t nval = t->count[S_VALIDX] - 1, i, w;
	const uint8_t *p = t->sec[sect];

	if (count > 0 && (t->count[sect] == 0 || rd32(p) != 0))
		return bad(err, errsize, "value runs of section %d do not "
		    "start at 0", sect);
	for (i = 0; i < t->count[sect]; i++) {
		w = rd32(p + 8 * (size_t)i);
		if ((i > 0 && w <= rd32(p + 8 * (size_t)i - 8)) || w >= count ||
		    rd32(p + 8 * (size_t)i + 4) >= nval)
			return bad(err, errsize,
			    "bad value run %u of section %d", i, sect);
	}
	return 0;
}

/* verify_v4 - ordering and indexes of the IPv4 sections */
static int
verify_v4(const struct iptree *t, char *err, size_t errsize)
{
	const uint8_t *d = t->sec[S_V4DATA], *r;
	uint32_t i, b, s0, p0, np, nd = t->count[S_V4DATA];

	if (t->count[S_V4TOP] == 0) {
		if (nd || t->count[S_V4RUN] || t->count[S_V4FRAG] ||
		    t->count[S_V4ENTRY])
			return bad(err, errsize, "IPv4 data without a table");
		return 0;
	}
	if ((rd32(t->sec[S_V4TOP]) & TOP_START) != 0 ||
	    rd32(t->sec[S_V4TOP] + 4 * 65536) != nd)
		return bad(err, errsize, "IPv4 table does not cover the data");
	for (b = 0; b < 65536; b++) {
		if (bucket(t, b, &s0, &p0, &np) == -1)
			return bad(err, errsize, "IPv4 bucket %u out of bounds",
			    b);
		for (i = s0 + 1; i < p0; i++)
			if (rd16(d + 2 * (size_t)i) <=
			    rd16(d + 2 * (size_t)i - 2))
				return bad(err, errsize, "IPv4 singles out of "
				    "order in bucket %u", b);
		for (i = 0; i < np; i++) {
			uint32_t at = p0 + 2 * i;

			if (rd16(d + 2 * (size_t)at) >
			    rd16(d + 2 * (size_t)at + 2) ||
			    (i > 0 && rd16(d + 2 * (size_t)at) <=
			    rd16(d + 2 * (size_t)at - 2)))
				return bad(err, errsize,
				    "IPv4 ranges out of order in bucket %u", b);
		}
	}
	if (verify_runs(t, S_V4RUN, nd, err, errsize) == -1)
		return -1;
	for (i = 0; i < t->count[S_V4FRAG]; i++) {
		r = t->sec[S_V4FRAG] + 8 * (size_t)i;
		if ((i > 0 && rd32(r) <= rd32(r - 8)) || rd32(r) >= nd ||
		    rd32(r + 4) >= t->count[S_V4ENTRY])
			return bad(err, errsize, "bad IPv4 fragment %u", i);
	}
	for (i = 0; i < t->count[S_V4ENTRY]; i++) {
		r = t->sec[S_V4ENTRY] + 8 * (size_t)i;
		if (rd32(r) > rd32(r + 4))
			return bad(err, errsize, "bad IPv4 entry %u", i);
	}
	return 0;
}

/* verify_v6 - ordering and indexes of the IPv6 sections */
static int
verify_v6(const struct iptree *t, char *err, size_t errsize)
{
	uint32_t nval = t->count[S_VALIDX] - 1, i, meta, plen, ref;
	u128 prevlast = 0, f, l, host;
	const uint8_t *p;
	int first = 1;

	for (i = 0; i < t->count[S_V6KEY]; i++) {
		meta = rd32(t->sec[S_V6META] + 4 * (size_t)i);
		plen = meta >> 24;
		f = (u128)rd64(t->sec[S_V6KEY] + 8 * (size_t)i) << 64;
		if (plen > 64 || (meta & 0xffffff) >= nval)
			return bad(err, errsize, "bad IPv6 record %u", i);
		host = plen == 0 ? ~(u128)0 : (((u128)1) << (128 - plen)) - 1;
		if ((f & host) != 0 || (!first && f <= prevlast))
			return bad(err, errsize, "IPv6 record %u out of order",
			    i);
		prevlast = f | host;
		first = 0;
	}
	first = 1;
	for (i = 0; i < t->count[S_V6LKEY]; i++) {
		p = t->sec[S_V6LKEY] + 16 * (size_t)i;
		meta = rd32(t->sec[S_V6LMETA] + 4 * (size_t)i);
		plen = meta >> 24;
		f = (u128)rd64(p) << 64 | rd64(p + 8);
		if (plen <= 64 || plen > 128 || (meta & 0xffffff) >= nval)
			return bad(err, errsize, "bad IPv6 record %u", i);
		host = plen == 128 ? 0 : (((u128)1) << (128 - plen)) - 1;
		if ((f & host) != 0 || (!first && f <= prevlast))
			return bad(err, errsize,
			    "long IPv6 record %u out of order", i);
		prevlast = f | host;
		first = 0;
	}
	for (i = 0; i < t->count[S_V6FRAG]; i++) {
		p = t->sec[S_V6FRAG] + 8 * (size_t)i;
		ref = rd32(p);
		if ((i > 0 && ref <= rd32(p - 8)) ||
		    (ref & ~LONG_REF) >= t->count[ref & LONG_REF ? S_V6LKEY :
		    S_V6KEY] || rd32(p + 4) >= t->count[S_V6ENTRY])
			return bad(err, errsize, "bad IPv6 fragment %u", i);
	}
	for (i = 0; i < t->count[S_V6ENTRY]; i++) {
		p = t->sec[S_V6ENTRY] + 32 * (size_t)i;
		f = (u128)rd64(p) << 64 | rd64(p + 8);
		l = (u128)rd64(p + 16) << 64 | rd64(p + 24);
		if (f > l)
			return bad(err, errsize, "bad IPv6 entry %u", i);
	}
	return 0;
}

/* iptree_verify - the full check */
int
iptree_verify(const struct iptree *t, char *err, size_t errsize)
{
	uint32_t i, a, b;

	if (rd64(t->base + H_CHECKSUM) != checksum(t->base + HDR_SIZE,
	    t->size - HDR_SIZE))
		return bad(err, errsize, "IPBLOCK checksum mismatch");
	for (i = 0; i + 1 < t->count[S_VALIDX]; i++) {
		a = rd32(t->sec[S_VALIDX] + 4 * (size_t)i);
		b = rd32(t->sec[S_VALIDX] + 4 * (size_t)i + 4);
		if (a > b || b > t->count[S_VALTEXT] ||
		    b - a > IPTREE_VALUE_MAX ||
		    memchr(t->sec[S_VALTEXT] + a, '\0', b - a) != NULL)
			return bad(err, errsize, "bad value %u", i);
	}
	if (verify_v4(t, err, errsize) == -1)
		return -1;
	return verify_v6(t, err, errsize);
}

/* iptree_info - counts from the header and sections */
void
iptree_info(const struct iptree *t, struct iptree_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->entries_v4 = rd32(t->base + H_ENTRIES4);
	st->entries_v6 = rd32(t->base + H_ENTRIES6);
	st->excluded = rd32(t->base + H_EXCLUDED);
	st->singles = rd32(t->base + H_SINGLES);
	st->ranges_v4 = rd32(t->base + H_RANGES4);
	st->prefixes_v6 = rd32(t->base + H_PREFIXES6);
	st->values = t->count[S_VALIDX] - 1;
	st->bytes = t->size;
}

/* prefix_len - the prefix length of first..last, or -1 if not a prefix */
static int
prefix_len(const struct net_addr *first, const struct net_addr *last)
{
	u128 f = addr_to_u128(first), l = addr_to_u128(last), span = l - f;
	int bits = first->family == NET_V4 ? 32 : 128;
	unsigned int k;

	if (f > l)
		return -1;
	if (span == ~(u128)0)
		return 0;
	if (((span + 1) & span) != 0)
		return -1;
	k = span == 0 ? 0 : log2_floor128(span + 1);
	if (k > 0 && (f & span) != 0)
		return -1;
	return bits - (int)k;
}

/* iptree_format_entry - the entry as a prefix or a range */
char *
iptree_format_entry(const struct iptree_match *m, char *buf, size_t size)
{
	char a[NET_ADDR_TEXT], b[NET_ADDR_TEXT];
	int plen = prefix_len(&m->first, &m->last);

	net_addr_format(&m->first, a);
	if (plen >= 0)
		snprintf(buf, size, "%s/%d", a, plen);
	else
		snprintf(buf, size, "%s-%s", a, net_addr_format(&m->last, b));
	return buf;
}
