/* ipblock_line_fuzz.c - libFuzzer target for the IPBLOCK compiler */
/*
 * Each input is a source file: its lines go through
 * ipsrc_parse_line() (the gkdb-build line parser, with its per-file
 * state), the entries into an iptree builder (at most 300 of them, so an
 * input stays fast), and the image the builder lays out must pass
 * iptree_verify() and answer for the first and last address of every
 * entry without error: a failure aborts, so the fuzzer reports it.
 * Built and run by `make fuzz` (tests/fuzz/run).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../dbs/ipsrc.h"
#include "../../rules/iptree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ENTRIES	300

/* LLVMFuzzerTestOneInput - one source file */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_addr probe[2 * MAX_ENTRIES];
	struct iptree_builder *b;
	struct ipsrc_entry e;
	struct iptree_match m;
	struct iptree *t;
	struct ipsrc st;
	const char *p = (const char *)data, *end = p + size, *nl;
	char err[256];
	size_t n = 0, imgsize, i;
	void *img;
	uint32_t id;

	if ((b = iptree_builder_new()) == NULL)
		return 0;
	ipsrc_init(&st);
	while (p < end && n < MAX_ENTRIES) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (ipsrc_parse_line(&st, p, (size_t)(nl - p), &e, err,
		    sizeof(err)) == IPSRC_ENTRY) {
			if (iptree_builder_value(b, e.value, e.value_len,
			    &id) == -1 ||
			    iptree_builder_add(b, &e.first, &e.last, id,
			    e.exclude) == -1)
				abort();	/* the parser let a bad entry by */
			probe[2 * n] = e.first;
			probe[2 * n + 1] = e.last;
			n++;
		}
		p = nl + 1;
	}
	if (iptree_builder_finish(b, &img, &imgsize, NULL) == -1)
		abort();
	iptree_builder_free(b);
	if ((t = iptree_open_buffer(img, imgsize, err, sizeof(err))) == NULL ||
	    iptree_verify(t, err, sizeof(err)) == -1)
		abort();
	for (i = 0; i < 2 * n; i++)
		if (iptree_find(t, &probe[i], &m) == -1)
			abort();
	iptree_close(t);
	free(img);
	return 0;
}
