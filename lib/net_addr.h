/* net_addr.h - IPv4 and IPv6 addresses and prefixes */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef GK_NET_ADDR_H
#define GK_NET_ADDR_H

#include <stddef.h>
#include <stdint.h>

/* An address in network byte order; IPv4-mapped IPv6 is stored as IPv4. */
struct net_addr {
	int family;		/* NET_V4 or NET_V6 */
	uint8_t bytes[16];	/* 4 bytes used for NET_V4 */
};

#define NET_V4	4
#define NET_V6	6

struct net_prefix {
	struct net_addr addr;	/* host bits are zero */
	unsigned int len;	/* 0..32 or 0..128 */
};

/* Longest text net_addr_format() writes, with the NUL. */
#define NET_ADDR_TEXT	46
/* Longest reverse name (IPv6 nibbles, no trailing dot), with the NUL. */
#define NET_ADDR_REVERSE 64

/*
 * net_addr_parse - parse a whole IPv4 dotted quad or IPv6 text (optionally
 * inside [brackets]) of exactly len bytes. ::ffff:a.b.c.d becomes IPv4.
 * Returns 0, or -1 if the text is not exactly one address.
 */
int net_addr_parse(const char *text, size_t len, struct net_addr *addr);

/*
 * net_prefix_parse - parse "addr" or "addr/len" ("[v6]/len" too). A plain
 * address is a full-length prefix. Host bits after len must be zero
 * unless allow_host_bits is set, in which case they are cleared.
 * Returns 0, or -1 on any syntax or range error.
 */
int net_prefix_parse(const char *text, size_t len, struct net_prefix *prefix,
    int allow_host_bits);

/* net_addr_format - canonical text (dotted quad, RFC 5952 IPv6); returns buf */
char *net_addr_format(const struct net_addr *addr, char buf[NET_ADDR_TEXT]);

/* net_prefix_contains - 1 if addr lies inside prefix, else 0 */
int net_prefix_contains(const struct net_prefix *prefix,
    const struct net_addr *addr);

/* net_addr_equal - 1 if both are the same address */
int net_addr_equal(const struct net_addr *a, const struct net_addr *b);

/*
 * net_addr_reverse - the DNS reverse labels without a zone and without a
 * trailing dot: "4.3.2.1" for 1.2.3.4, 32 dot-separated nibbles for IPv6.
 */
char *net_addr_reverse(const struct net_addr *addr,
    char buf[NET_ADDR_REVERSE]);

#endif
