/* lookup_ipblock.c - IPBLOCK= tables: the lookup interface over iptree */
/*
 * An address backend: find_addr() answers for the client's address (and
 * for the NS=/MX= hosts' addresses) with the most specific entry; find()
 * takes the same address as text. The handle is the struct iptree of
 * iptree.h, so a tool that wants the matching entry as well can ask
 * iptree_find() on it. A corrupt file is a temporary failure.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <string.h>

#include "iptree.h"
#include "lookup.h"

/* ipblock_open - map an IPBLOCK file */
static void *
ipblock_open(const char *path, char *err, size_t errsize)
{
	return iptree_open(path, err, errsize);
}

/* ipblock_find_addr - the most specific entry for an address */
static enum lookup_result
ipblock_find_addr(void *handle, const struct net_addr *addr, char *value,
    size_t valuesize, char *err, size_t errsize)
{
	struct iptree_match m;
	size_t len;

	switch (iptree_find(handle, addr, &m)) {
	case 1:
		if (valuesize > 0) {
			len = m.value_len < valuesize - 1 ? m.value_len :
			    valuesize - 1;
			memcpy(value, m.value, len);
			value[len] = '\0';
		}
		return LK_FOUND;
	case 0:
		return LK_NOTFOUND;
	default:
		snprintf(err, errsize, "corrupt IPBLOCK file");
		return LK_TEMPFAIL;
	}
}

/* ipblock_find - an address given as text; anything else is not found */
static enum lookup_result
ipblock_find(void *handle, const char *key, size_t keylen, char *value,
    size_t valuesize, char *err, size_t errsize)
{
	struct net_addr addr;

	if (net_addr_parse(key, keylen, &addr) == -1)
		return LK_NOTFOUND;
	return ipblock_find_addr(handle, &addr, value, valuesize, err,
	    errsize);
}

/* ipblock_close - unmap */
static void
ipblock_close(void *handle)
{
	iptree_close(handle);
}

/* ipblock_library - built in */
static const char *
ipblock_library(void)
{
	return "built-in iptree (IPBLOCK version 1)";
}

const struct lookup_ops lookup_ipblock_ops = {
	.name = "IPBLOCK",
	.open = ipblock_open,
	.find = ipblock_find,
	.find_addr = ipblock_find_addr,
	.fd = NULL,		/* mapped; the descriptor is closed at open */
	.close = ipblock_close,
	.library = ipblock_library,
};
