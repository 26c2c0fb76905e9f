/* ipblock_load_fuzz.c - libFuzzer target for the IPBLOCK reader */
/*
 * Two kinds of input, chosen by the first byte. Even: the rest is a
 * whole file image; when it is long enough its header is made
 * self-consistent (magic, version, sizes) so the fuzzer spends its time
 * on the section table and the sections, not on the magic. Odd: the
 * rest is a list of (3-byte offset, byte) patches applied to a real
 * image with IPv4 and IPv6 entries built once at start-up, so the
 * 256 KiB IPv4 table is reached too. Each image is opened, searched
 * for fixed and input-derived addresses, and verified; nothing may
 * read outside it. Built and run by `make fuzz` (tests/fuzz/run).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/net_addr.h"
#include "../../rules/iptree.h"
#include "fuzz_patch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR_SIZE	272

static const char *const probes[] = {
	"0.0.0.0", "10.0.0.1", "10.0.0.2", "10.1.2.3", "192.0.2.1",
	"192.0.2.200", "192.0.2.129", "255.255.255.255", "::", "::1",
	"2001:db8::1", "2001:db8:1::1", "2001:db8:2::5",
	"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL
};

static void *sample;
static size_t sample_size;

/* add - one entry into the sample */
static void
add(struct iptree_builder *b, const char *f, const char *l, const char *v,
    int excl)
{
	struct net_addr a, z;
	uint32_t id;

	if (net_addr_parse(f, strlen(f), &a) == 0 &&
	    net_addr_parse(l, strlen(l), &z) == 0 &&
	    iptree_builder_value(b, v, strlen(v), &id) == 0)
		(void)iptree_builder_add(b, &a, &z, id, excl);
}

/* make_sample - a real image with every section in use */
static void
make_sample(void)
{
	struct iptree_builder *b = iptree_builder_new();

	if (b == NULL)
		abort();
	add(b, "192.0.2.0", "192.0.2.255", "A", 0);
	add(b, "192.0.2.128", "192.0.2.255", "", 1);
	add(b, "192.0.2.200", "192.0.2.200", "B", 0);
	add(b, "10.0.0.1", "10.0.0.1", "one", 0);
	add(b, "10.0.0.2", "10.0.0.2", "two", 0);
	add(b, "10.0.0.0", "10.1.2.3", "range", 0);
	add(b, "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "v6", 0);
	add(b, "2001:db8:1::", "2001:db8:1::ffff", "", 1);
	add(b, "2001:db8:2::5", "2001:db8:2::5", "long", 0);
	if (iptree_builder_finish(b, &sample, &sample_size, NULL) == -1)
		abort();
	iptree_builder_free(b);
}

/* exercise - open, search, verify, close */
static void
exercise(const uint8_t *img, size_t size, const uint8_t *seed, size_t slen)
{
	struct iptree_match m;
	struct iptree_stats st;
	struct net_addr a;
	struct iptree *t;
	char err[256], e[128];
	size_t i;

	if ((t = iptree_open_buffer(img, size, err, sizeof(err))) == NULL)
		return;
	for (i = 0; probes[i] != NULL; i++)
		if (net_addr_parse(probes[i], strlen(probes[i]), &a) == 0 &&
		    iptree_find(t, &a, &m) == 1)
			iptree_format_entry(&m, e, sizeof(e));
	for (i = 0; i + 16 <= slen && i < 256; i += 16) {
		memset(&a, 0, sizeof(a));
		a.family = seed[i] & 1 ? NET_V6 : NET_V4;
		memcpy(a.bytes, seed + i, 16);
		if (iptree_find(t, &a, &m) == 1)
			iptree_format_entry(&m, e, sizeof(e));
	}
	(void)iptree_verify(t, err, sizeof(err));
	iptree_info(t, &st);
	iptree_close(t);
}

/* LLVMFuzzerTestOneInput - one input */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *img;
	size_t n;

	if (sample == NULL)
		make_sample();
	if ((img = fuzz_image(data, size, sample, sample_size, &n)) == NULL)
		return 0;
	/* a whole file: its header made self-consistent unless bit 1 */
	if ((data[0] & 3) == 0 && n >= HDR_SIZE) {
		uint32_t v32;
		uint64_t v64;

		memcpy(img, IPTREE_MAGIC, IPTREE_MAGIC_LEN);
		v32 = htole32(IPTREE_VERSION);
		memcpy(img + 8, &v32, 4);
		v32 = htole32(HDR_SIZE);
		memcpy(img + 12, &v32, 4);
		v64 = htole64(n);
		memcpy(img + 16, &v64, 8);
		v32 = htole32(13);
		memcpy(img + 32, &v32, 4);
	}
	exercise(img, n, data + 1, size - 1);
	free(img);
	return 0;
}
