/* iptree_test.c - unit tests of the IPBLOCK builder and reader */
/*
 * Most-specific semantics on hand-made cases and edges of the address
 * space; a randomised cross-check of every answer against a naive
 * reference (every entry tried, the most specific kept); and hostile
 * images: truncated, bit-flipped, with wild section offsets. Run under
 * ASan/UBSan by make check, so an out-of-bounds read fails the test.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../t.h"
#include "../../rules/iptree.h"
#include "../../rules/lookup.h"

static uint64_t rng = 88172645463325252ULL;

/* rnd - xorshift64, deterministic */
static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* addr - parse or die */
static struct net_addr
addr(const char *s)
{
	struct net_addr a;

	if (net_addr_parse(s, strlen(s), &a) == -1) {
		fprintf(stderr, "bad test address %s\n", s);
		exit(1);
	}
	return a;
}

/* add - add "first-last" or a prefix with a value */
static void
add(struct iptree_builder *b, const char *first, const char *last,
    const char *value, int excl)
{
	struct net_addr f = addr(first), l = addr(last);
	uint32_t id;

	if (iptree_builder_value(b, value, strlen(value), &id) == -1 ||
	    iptree_builder_add(b, &f, &l, id, excl) == -1) {
		fprintf(stderr, "cannot add %s-%s: %s\n", first, last,
		    strerror(errno));
		exit(1);
	}
}

/* answer - "entry value", "-" for not found, "error" */
static const char *
answer(const struct iptree *t, const char *a)
{
	static char buf[300];
	struct iptree_match m;
	struct net_addr x = addr(a);
	char e[120];
	int r = iptree_find(t, &x, &m);

	if (r == 0)
		return "-";
	if (r < 0)
		return "error";
	snprintf(buf, sizeof(buf), "%s %.*s", iptree_format_entry(&m, e,
	    sizeof(e)), (int)m.value_len, m.value);
	return buf;
}

/* finish - build and open an image (kept in *img for the caller) */
static struct iptree *
finish(struct iptree_builder *b, void **img, size_t *size)
{
	struct iptree *t;
	char err[256];

	if (iptree_builder_finish(b, img, size, NULL) == -1) {
		fprintf(stderr, "finish: %s\n", strerror(errno));
		exit(1);
	}
	iptree_builder_free(b);
	if ((t = iptree_open_buffer(*img, *size, err, sizeof(err))) == NULL) {
		fprintf(stderr, "open: %s\n", err);
		exit(1);
	}
	return t;
}

/* test_example - the example and friends */
static void
test_example(void)
{
	struct iptree_builder *b = iptree_builder_new();
	struct iptree *t;
	char err[256];
	void *img;
	size_t size;

	add(b, "192.0.2.0", "192.0.2.255", "A", 0);
	add(b, "192.0.2.128", "192.0.2.255", "", 1);
	add(b, "192.0.2.200", "192.0.2.200", "B", 0);
	add(b, "198.51.100.7", "198.51.100.7", "single", 0);
	add(b, "198.51.100.7", "198.51.100.7", "later duplicate", 0);
	add(b, "203.0.113.10", "203.0.113.20", "range", 0);
	add(b, "203.0.113.15", "203.0.113.15", "", 1);
	t = finish(b, &img, &size);
	is_str(answer(t, "192.0.2.1"), "192.0.2.0/24 A", "/24 listed");
	is_str(answer(t, "192.0.2.127"), "192.0.2.0/24 A", "last before hole");
	is_str(answer(t, "192.0.2.129"), "-", "excluded /25");
	is_str(answer(t, "192.0.2.200"), "192.0.2.200/32 B",
	    "/32 inside the exclusion");
	is_str(answer(t, "192.0.2.255"), "-", "end of exclusion");
	is_str(answer(t, "192.0.3.0"), "-", "after the /24");
	is_str(answer(t, "198.51.100.7"), "198.51.100.7/32 single",
	    "first of two equal entries wins");
	is_str(answer(t, "203.0.113.10"), "203.0.113.10-203.0.113.20 range",
	    "range start");
	is_str(answer(t, "203.0.113.15"), "-", "excluded inside a range");
	is_str(answer(t, "203.0.113.20"), "203.0.113.10-203.0.113.20 range",
	    "range end");
	is_str(answer(t, "2001:db8::1"), "-", "no IPv6 at all");
	is_int(iptree_verify(t, err, sizeof(err)), 0, "verify a good image");
	iptree_close(t);
	free(img);
}

/* test_only_exclusions - a file of exclusions lists nothing */
static void
test_only_exclusions(void)
{
	struct iptree_builder *b = iptree_builder_new();
	struct iptree *t;
	char err[256];
	void *img;
	size_t size;

	add(b, "192.0.2.0", "192.0.2.255", "", 1);
	add(b, "2001:db8::", "2001:db8::ffff", "", 1);
	t = finish(b, &img, &size);
	is_str(answer(t, "192.0.2.1"), "-", "only exclusions: IPv4");
	is_str(answer(t, "2001:db8::1"), "-", "only exclusions: IPv6");
	is_int(iptree_verify(t, err, sizeof(err)), 0, "verify: %s", err);
	iptree_close(t);
	free(img);
	b = iptree_builder_new();
	t = finish(b, &img, &size);
	is_str(answer(t, "192.0.2.1"), "-", "empty file: IPv4");
	is_str(answer(t, "::1"), "-", "empty file: IPv6");
	is_int(iptree_verify(t, err, sizeof(err)), 0, "verify empty");
	iptree_close(t);
	free(img);
}

/* test_edges - the ends of both address spaces */
static void
test_edges(void)
{
	struct iptree_builder *b = iptree_builder_new();
	struct iptree *t;
	char err[256];
	void *img;
	size_t size;

	add(b, "0.0.0.0", "255.255.255.255", "everything", 0);
	add(b, "0.0.0.0", "0.0.0.0", "", 1);
	add(b, "255.255.255.255", "255.255.255.255", "", 1);
	add(b, "255.255.255.254", "255.255.255.254", "top-1", 0);
	add(b, "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "all6", 0);
	add(b, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "", 1);
	add(b, "::", "::", "zero", 0);
	add(b, "2001:db8::", "2001:db8::ffff", "v6 range", 0);
	t = finish(b, &img, &size);
	is_str(answer(t, "0.0.0.0"), "-", "0.0.0.0 excluded");
	is_str(answer(t, "0.0.0.1"), "0.0.0.0/0 everything", "0.0.0.1");
	is_str(answer(t, "255.255.255.254"), "255.255.255.254/32 top-1",
	    "single at the top");
	is_str(answer(t, "255.255.255.255"), "-", "top excluded");
	is_str(answer(t, "::"), "::/128 zero", ":: single");
	is_str(answer(t, "::1"), "::/0 all6", "::1 in ::/0 (a fragment)");
	is_str(answer(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"),
	    "::/0 all6", "top-1 of IPv6");
	is_str(answer(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "-",
	    "top of IPv6 excluded");
	is_str(answer(t, "2001:db8::8000"), "2001:db8::/112 v6 range",
	    "a range that is a prefix prints as one");
	is_int(iptree_verify(t, err, sizeof(err)), 0, "verify edges");
	iptree_close(t);
	free(img);
}

struct ref {
	uint64_t first[2], last[2];	/* IPv6 as two halves; IPv4 in [1] */
	int excl, value;
};

/* ref_cmp128 - compare (hi, lo) pairs */
static int
ref_cmp128(const uint64_t a[2], const uint64_t b[2])
{
	if (a[0] != b[0])
		return a[0] < b[0] ? -1 : 1;
	return a[1] < b[1] ? -1 : a[1] > b[1];
}

/* ref_size_less - is a's range smaller than b's */
static int
ref_size_less(const struct ref *a, const struct ref *b)
{
	unsigned __int128 sa = ((unsigned __int128)a->last[0] << 64 |
	    a->last[1]) - ((unsigned __int128)a->first[0] << 64 | a->first[1]);
	unsigned __int128 sb = ((unsigned __int128)b->last[0] << 64 |
	    b->last[1]) - ((unsigned __int128)b->first[0] << 64 | b->first[1]);

	if (sa != sb)
		return sa < sb ? 1 : -1;
	return 0;
}

/* ref_find - the naive answer: index of the winning entry, or -1 */
static int
ref_find(const struct ref *r, int n, const uint64_t a[2])
{
	int i, best = -1, c;

	for (i = 0; i < n; i++) {
		if (ref_cmp128(r[i].first, a) > 0 || ref_cmp128(r[i].last, a) < 0)
			continue;
		if (best == -1)
			best = i;
		else if ((c = ref_size_less(&r[i], &r[best])) == 1 ||
		    (c == 0 && r[i].excl && !r[best].excl))
			best = i;
	}
	return best != -1 && r[best].excl ? -1 : best;
}

/* to_addr - a reference address as a net_addr */
static struct net_addr
to_addr(const uint64_t a[2], int v6)
{
	struct net_addr x;
	int i;

	memset(&x, 0, sizeof(x));
	if (!v6) {
		x.family = NET_V4;
		for (i = 0; i < 4; i++)
			x.bytes[i] = (uint8_t)(a[1] >> (24 - 8 * i));
		return x;
	}
	x.family = NET_V6;
	for (i = 0; i < 8; i++) {
		x.bytes[i] = (uint8_t)(a[0] >> (56 - 8 * i));
		x.bytes[8 + i] = (uint8_t)(a[1] >> (56 - 8 * i));
	}
	return x;
}

/* check_one - compare the tree's answer for a with the reference */
static int
check_one(const struct iptree *t, const struct ref *r, int n,
    const uint64_t a[2], int v6, const char *values[])
{
	struct net_addr x = to_addr(a, v6), f, l;
	struct iptree_match m;
	int want = ref_find(r, n, a), got = iptree_find(t, &x, &m);

	if (want == -1)
		return got == 0;
	if (got != 1 || m.value_len != strlen(values[r[want].value]) ||
	    memcmp(m.value, values[r[want].value], m.value_len) != 0)
		return 0;
	f = to_addr(r[want].first, v6);
	l = to_addr(r[want].last, v6);
	return net_addr_equal(&f, &m.first) && net_addr_equal(&l, &m.last);
}

/* test_random - random overlapping entries against the reference */
static void
test_random(int v6, int round)
{
	static const char *values[] = { "", "a", "b", "127.0.0.2", "long value" };
	struct ref r[160];
	struct iptree_builder *b = iptree_builder_new();
	struct iptree *t;
	char err[256];
	void *img;
	size_t size;
	int n = 40 + (int)(rnd() % 120), i, bad = 0, k;
	uint64_t a[2];
	uint32_t ids[5];

	for (i = 0; i < 5; i++)
		iptree_builder_value(b, values[i], strlen(values[i]), &ids[i]);
	for (i = 0; i < n; i++) {
		/* IPv4 inside 10.0.0.0/16; IPv6 inside 2001:db8::/112
		   plus some wide prefixes around it. */
		unsigned int plen = (unsigned int)(rnd() % 17);
		uint64_t base = rnd() & 0xffff, span;
		struct net_addr f, l;

		if (rnd() % 4 == 0) {
			span = rnd() % 700;
			if (base + span > 0xffff)
				span = 0xffff - base;
		} else {
			span = plen == 16 ? 0xffff : ((uint64_t)1 << plen) - 1;
			base &= ~span & 0xffff;
		}
		memset(&r[i], 0, sizeof(r[i]));
		if (!v6) {
			r[i].first[1] = 0x0a000000u | base;
			r[i].last[1] = 0x0a000000u | (base + span);
		} else if (rnd() % 10 == 0) {
			/* a wide prefix: /32, /48 or /64 around the area */
			unsigned int wide = 32 + 16 * (unsigned int)(rnd() % 3);

			r[i].first[0] = 0x20010db800000000ULL &
			    (~(uint64_t)0 << (64 - wide));
			r[i].last[0] = r[i].first[0] | ~(~(uint64_t)0 <<
			    (64 - wide));
			r[i].last[1] = ~(uint64_t)0;
		} else {
			r[i].first[0] = r[i].last[0] = 0x20010db800000000ULL;
			r[i].first[1] = base;
			r[i].last[1] = base + span;
		}
		r[i].excl = rnd() % 5 == 0;
		r[i].value = r[i].excl ? 0 : (int)(rnd() % 5);
		f = to_addr(r[i].first, v6);
		l = to_addr(r[i].last, v6);
		if (iptree_builder_add(b, &f, &l, ids[r[i].value],
		    r[i].excl) == -1)
			bad++;
	}
	t = finish(b, &img, &size);
	for (k = 0; k < 0x10000 + 64; k++) {
		if (!v6) {
			a[0] = 0;
			a[1] = 0x0a000000u + (uint64_t)k - 32;
		} else {
			a[0] = 0x20010db800000000ULL;
			a[1] = (uint64_t)k - 32;
			if (k < 32) {
				/* just below the area: in the /64 before */
				a[0]--;
				a[1] = ~(uint64_t)0 - (uint64_t)k;
			}
		}
		if (!check_one(t, r, n, a, v6, values)) {
			if (bad++ < 3) {
				char txt[NET_ADDR_TEXT];
				struct net_addr x = to_addr(a, v6);

				t_diag("round %d: %s answers %s", round,
				    net_addr_format(&x, txt),
				    answer(t, txt));
			}
		}
	}
	is_int(bad, 0, "%s random round %d: %d entries, every address agrees "
	    "with the reference", v6 ? "IPv6" : "IPv4", round, n);
	is_int(iptree_verify(t, err, sizeof(err)), 0, "round %d verifies",
	    round);
	iptree_close(t);
	free(img);
}

/* sample_image - a small image with every section used */
static void
sample_image(void **img, size_t *size)
{
	struct iptree_builder *b = iptree_builder_new();
	struct iptree *t;

	add(b, "192.0.2.0", "192.0.2.255", "A", 0);
	add(b, "192.0.2.128", "192.0.2.255", "", 1);
	add(b, "192.0.2.200", "192.0.2.200", "B", 0);
	add(b, "10.0.0.1", "10.0.0.1", "one", 0);
	add(b, "10.0.0.2", "10.0.0.2", "two", 0);
	add(b, "10.0.0.0", "10.1.2.3", "range", 0);
	add(b, "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "v6", 0);
	add(b, "2001:db8:1::", "2001:db8:1::ffff", "", 1);
	add(b, "2001:db8:2::5", "2001:db8:2::5", "long", 0);
	t = finish(b, img, size);
	iptree_close(t);
}

static const char *probes[] = {
	"192.0.2.1", "192.0.2.200", "192.0.2.130", "10.0.0.1", "10.0.0.2",
	"10.0.5.5", "10.1.2.3", "2001:db8::1", "2001:db8:1::1",
	"2001:db8:2::5", "2001:db8:2::6", "::1", "1.2.3.4", NULL
};

/* probe_all - every probe; counts answers, never crashes */
static int
probe_all(const struct iptree *t)
{
	int i, n = 0;

	for (i = 0; probes[i] != NULL; i++)
		if (answer(t, probes[i])[0] != '-')
			n++;
	return n;
}

/* test_hostile - truncation, bit flips, wild offsets */
static void
test_hostile(void)
{
	void *img;
	size_t size, cut, i;
	struct iptree *t;
	char err[256], path[600];
	uint8_t *copy;
	int opened = 0, caught = 0, flips = 0, fd;

	sample_image(&img, &size);
	for (i = 0; i < 600; i++) {
		cut = i < 400 ? i : (size_t)(rnd() % size);
		copy = malloc(cut + 1);
		memcpy(copy, img, cut);
		if ((t = iptree_open_buffer(copy, cut, err, sizeof(err))) !=
		    NULL) {
			opened++;
			iptree_close(t);
		}
		free(copy);
	}
	is_int(opened, 0, "no truncation of the %zu bytes opens", size);
	/* Single-byte changes (the whole header, then samples of the body):
	   lookups stay in bounds, and iptree_verify() notices. */
	copy = malloc(size);
	memcpy(copy, img, size);
	for (i = 0; i < 5000; i++) {
		size_t at = i < 272 ? i : (size_t)(rnd() % size);
		uint8_t was = copy[at];

		copy[at] ^= (uint8_t)(1 + rnd() % 255);
		if ((t = iptree_open_buffer(copy, size, err, sizeof(err))) !=
		    NULL) {
			(void)probe_all(t);
			if (at >= 272) {
				flips++;
				if (iptree_verify(t, err, sizeof(err)) == -1)
					caught++;
			}
			iptree_close(t);
		}
		copy[at] = was;
	}
	is_int(caught, flips, "verify catches all %d body changes", flips);
	/* Random garbage in the section table. */
	for (i = 0; i < 20000; i++) {
		memcpy(copy, img, 272);
		copy[64 + rnd() % (16 * 13)] = (uint8_t)rnd();
		if (rnd() % 2)
			copy[64 + rnd() % (16 * 13)] = (uint8_t)rnd();
		if ((t = iptree_open_buffer(copy, size, err, sizeof(err))) !=
		    NULL) {
			(void)probe_all(t);
			(void)iptree_verify(t, err, sizeof(err));
			iptree_close(t);
		}
	}
	free(copy);
	ok(1, "20000 mangled section tables: no crash");
	/* A truncated file on disk is a clean error naming it. */
	snprintf(path, sizeof(path), "%s/trunc.ipt", t_tmpdir());
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
	    write(fd, img, size / 2) != (ssize_t)(size / 2) || close(fd) == -1)
		ok(0, "write %s", path);
	t = iptree_open(path, err, sizeof(err));
	ok(t == NULL && strstr(err, "truncated") != NULL &&
	    strstr(err, path) != NULL, "truncated file: %s", err);
	free(img);
}

/* test_lookup_ops - the registry's IPBLOCK backend */
static void
test_lookup_ops(void)
{
	const struct lookup_ops *ops = lookup_ops_by_name("IPBLOCK");
	char path[600], err[LOOKUP_ERR_MAX], value[8];
	struct net_addr a = addr("192.0.2.200");
	void *img, *h;
	size_t size;
	int fd;

	ok(ops != NULL && ops->find_addr != NULL, "IPBLOCK is registered "
	    "as an address backend");
	if (ops == NULL)
		return;
	sample_image(&img, &size);
	snprintf(path, sizeof(path), "%s/ops.ipt", t_tmpdir());
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
	    write(fd, img, size) != (ssize_t)size || close(fd) == -1)
		ok(0, "write %s", path);
	free(img);
	h = ops->open(path, err, sizeof(err));
	ok(h != NULL, "open through the registry");
	if (h == NULL)
		return;
	is_int(ops->find_addr(h, &a, value, sizeof(value), err, sizeof(err)),
	    LK_FOUND, "find_addr found");
	is_str(value, "B", "value of the most specific entry");
	a = addr("192.0.2.129");
	is_int(ops->find_addr(h, &a, value, sizeof(value), err, sizeof(err)),
	    LK_NOTFOUND, "find_addr: excluded is not found");
	is_int(ops->find(h, "10.0.0.2", 8, value, 2, err, sizeof(err)),
	    LK_FOUND, "find with text");
	is_str(value, "t", "value truncated to the buffer");
	is_int(ops->find(h, "example.com", 11, value, sizeof(value), err,
	    sizeof(err)), LK_NOTFOUND, "find: a name is not found");
	ops->close(h);
	h = ops->open("/nonexistent/x.ipt", err, sizeof(err));
	ok(h == NULL && strstr(err, "/nonexistent/x.ipt") != NULL,
	    "missing file: %s", err);
}

/* main - every test */
int
main(void)
{
	int i;

	test_example();
	test_edges();
	test_only_exclusions();
	for (i = 0; i < 4; i++)
		test_random(0, i);
	for (i = 0; i < 4; i++)
		test_random(1, i);
	test_hostile();
	test_lookup_ops();
	return t_done();
}
