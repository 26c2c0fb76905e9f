/* net_addr.c - IPv4 and IPv6 addresses and prefixes */
/*
 * Parsing is strict: the whole text must be one address, octets are
 * decimal 0..255 without leading zeros beyond "0", prefix lengths are
 * decimal and in range. inet_pton does the IPv6 grammar.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <arpa/inet.h>
#include <string.h>

#include "net_addr.h"

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* parse_v4 - strict dotted quad of exactly len bytes */
static int
parse_v4(const char *s, size_t len, uint8_t out[4])
{
	size_t i = 0;
	int octet;

	for (octet = 0; octet < 4; octet++) {
		unsigned int v = 0, digits = 0;

		if (octet > 0) {
			if (i >= len || s[i] != '.')
				return -1;
			i++;
		}
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (digits > 0 && v == 0)
				return -1;	/* leading zero */
			v = v * 10 + (unsigned int)(s[i] - '0');
			if (v > 255)
				return -1;
			digits++;
			i++;
		}
		if (digits == 0)
			return -1;
		out[octet] = (uint8_t)v;
	}
	return i == len ? 0 : -1;
}

/* net_addr_parse - parse one whole address */
int
net_addr_parse(const char *text, size_t len, struct net_addr *addr)
{
	char buf[NET_ADDR_TEXT + 2];
	uint8_t v6[16];

	memset(addr, 0, sizeof(*addr));
	if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
		text++;
		len -= 2;
		if (memchr(text, ':', len) == NULL)
			return -1;	/* [1.2.3.4] is not an IPv6 literal */
	}
	if (len == 0)
		return -1;
	if (memchr(text, ':', len) == NULL) {
		addr->family = NET_V4;
		return parse_v4(text, len, addr->bytes);
	}
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET6, buf, v6) != 1)
		return -1;
	if (memcmp(v6, v4mapped, 12) == 0) {
		addr->family = NET_V4;
		memcpy(addr->bytes, v6 + 12, 4);
	} else {
		addr->family = NET_V6;
		memcpy(addr->bytes, v6, 16);
	}
	return 0;
}

/* addr_bits - 32 or 128 */
static unsigned int
addr_bits(const struct net_addr *addr)
{
	return addr->family == NET_V4 ? 32 : 128;
}

/* net_prefix_parse - parse addr or addr/len */
int
net_prefix_parse(const char *text, size_t len, struct net_prefix *prefix,
    int allow_host_bits)
{
	const char *slash = NULL;
	size_t i, alen;
	unsigned int plen = 0, bits, b;

	for (i = len; i > 0; i--)
		if (text[i - 1] == '/') {
			slash = text + i - 1;
			break;
		}
	alen = slash != NULL ? (size_t)(slash - text) : len;
	if (net_addr_parse(text, alen, &prefix->addr) == -1)
		return -1;
	bits = addr_bits(&prefix->addr);
	if (slash == NULL) {
		prefix->len = bits;
		return 0;
	}
	i = alen + 1;
	if (i >= len || len - i > 3)
		return -1;
	for (; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -1;
		plen = plen * 10 + (unsigned int)(text[i] - '0');
	}
	if (len - alen - 1 > 1 && text[alen + 1] == '0')
		return -1;	/* "/08" */
	/* An IPv4-mapped IPv6 prefix is given in IPv6 terms (96..128). */
	if (prefix->addr.family == NET_V4 && memchr(text, ':', alen) != NULL) {
		if (plen < 96 || plen > 128)
			return -1;
		plen -= 96;
	}
	if (plen > bits)
		return -1;
	prefix->len = plen;
	for (b = plen; b < addr_bits(&prefix->addr); b++) {
		uint8_t mask = (uint8_t)(0x80 >> (b % 8));

		if (prefix->addr.bytes[b / 8] & mask) {
			if (!allow_host_bits)
				return -1;
			prefix->addr.bytes[b / 8] &= (uint8_t)~mask;
		}
	}
	return 0;
}

/* net_addr_format - canonical text */
char *
net_addr_format(const struct net_addr *addr, char buf[NET_ADDR_TEXT])
{
	int af = addr->family == NET_V4 ? AF_INET : AF_INET6;

	if (inet_ntop(af, addr->bytes, buf, NET_ADDR_TEXT) == NULL)
		buf[0] = '\0';
	return buf;
}

/* net_prefix_contains - 1 if addr lies inside prefix */
int
net_prefix_contains(const struct net_prefix *prefix, const struct net_addr *addr)
{
	unsigned int whole, rest;

	if (prefix->addr.family != addr->family)
		return 0;
	whole = prefix->len / 8;
	rest = prefix->len % 8;
	if (memcmp(prefix->addr.bytes, addr->bytes, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((prefix->addr.bytes[whole] ^ addr->bytes[whole]) &
	    (uint8_t)(0xff << (8 - rest))) == 0;
}

/* net_addr_equal - 1 if both are the same address */
int
net_addr_equal(const struct net_addr *a, const struct net_addr *b)
{
	return a->family == b->family &&
	    memcmp(a->bytes, b->bytes, a->family == NET_V4 ? 4 : 16) == 0;
}

/* net_addr_reverse - reverse labels for in-addr.arpa, ip6.arpa and DNSBLs */
char *
net_addr_reverse(const struct net_addr *addr, char buf[NET_ADDR_REVERSE])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	int i;

	if (addr->family == NET_V4) {
		char *p = buf;
		for (i = 3; i >= 0; i--) {
			unsigned int v = addr->bytes[i];

			if (v >= 100)
				*p++ = (char)('0' + v / 100);
			if (v >= 10)
				*p++ = (char)('0' + v / 10 % 10);
			*p++ = (char)('0' + v % 10);
			if (i > 0)
				*p++ = '.';
		}
		*p = '\0';
		return buf;
	}
	for (i = 15; i >= 0; i--) {
		buf[o++] = hex[addr->bytes[i] & 15];
		buf[o++] = '.';
		buf[o++] = hex[addr->bytes[i] >> 4];
		if (i > 0)
			buf[o++] = '.';
	}
	buf[o] = '\0';
	return buf;
}
