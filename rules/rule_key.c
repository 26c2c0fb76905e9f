/* rule_key.c - the key search orders for CDB=, HASH= and VALIDUSERS= */
/*
 * For the client: the address as text, its enclosing prefixes as text
 * (192.0.2, 192.0, 192; IPv6 by 16-bit groups), then the verified name
 * and each parent domain. For an envelope address: local@domain, domain,
 * each parent domain, local@; the null sender is "<>". VALIDUSERS=
 * looks up local@domain only. Keys are lower case: callers pass
 * lower-cased names and addresses. docs/smtpd_check_rules.5 documents
 * the same order; change both together.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "rule_int.h"

/* rule_keys_client - the client's keys, most specific first */
int
rule_keys_client(const struct net_addr *addr, const char *name, key_fn *fn,
    void *arg)
{
	char text[NET_ADDR_TEXT];
	char buf[64];
	size_t len, n;
	const char *p;
	int r, i, groups;

	net_addr_format(addr, text);
	if ((r = fn(arg, text, strlen(text))) != 0)
		return r;
	if (addr->family == NET_V4) {
		len = strlen(text);
		while ((p = memrchr(text, '.', len)) != NULL) {
			len = (size_t)(p - text);
			if ((r = fn(arg, text, len)) != 0)
				return r;
		}
	} else {
		for (groups = 7; groups >= 1; groups--) {
			n = 0;
			for (i = 0; i < groups; i++) {
				unsigned int g = (unsigned int)addr->bytes[2 * i] << 8 |
				    addr->bytes[2 * i + 1];
				int w = snprintf(buf + n, sizeof(buf) - n,
				    i > 0 ? ":%x" : "%x", g);

				if (w < 0 || (size_t)w >= sizeof(buf) - n)
					return 0;
				n += (size_t)w;
			}
			if ((r = fn(arg, buf, n)) != 0)
				return r;
		}
	}
	if (name == NULL)
		return 0;
	return rule_keys_name(name, fn, arg);
}

/* rule_keys_name - a host name and each of its parent domains */
int
rule_keys_name(const char *name, key_fn *fn, void *arg)
{
	const char *p;
	int r;

	for (p = name; p != NULL; p = strchr(p, '.')) {
		if (*p == '.')
			p++;
		if (*p == '\0')
			break;
		if ((r = fn(arg, p, strlen(p))) != 0)
			return r;
	}
	return 0;
}

/* rule_keys_address - an envelope address's keys, most specific first */
int
rule_keys_address(const char *addr, size_t len, int full_only, key_fn *fn,
    void *arg)
{
	const char *at, *p, *end = addr + len;
	int r;

	if (len == 0)
		return fn(arg, "<>", 2);
	if ((r = fn(arg, addr, len)) != 0 || full_only)
		return r;
	if ((at = memrchr(addr, '@', len)) == NULL) {
		char local[RULE_ADDR_MAX + 2];

		if (len > RULE_ADDR_MAX)
			return 0;
		memcpy(local, addr, len);
		local[len] = '@';
		return fn(arg, local, len + 1);
	}
	for (p = at + 1; p < end; ) {
		if ((r = fn(arg, p, (size_t)(end - p))) != 0)
			return r;
		if ((p = memchr(p, '.', (size_t)(end - p))) == NULL)
			break;
		p++;
	}
	return fn(arg, addr, (size_t)(at - addr) + 1);
}

/* rule_strip_address - an envelope path as the keys and patterns see it */
int
rule_strip_address(const char *in, char *out, size_t size, size_t *len)
{
	size_t n, i;

	if (in == NULL)
		in = "";
	while (isblank((unsigned char)*in))
		in++;
	n = strlen(in);
	while (n > 0 && isblank((unsigned char)in[n - 1]))
		n--;
	if (n > 0 && in[0] == '<') {
		in++;
		n--;
		while (n > 0 && isblank((unsigned char)*in)) {
			in++;
			n--;
		}
		if (n > 0 && in[n - 1] == '>')
			n--;
		while (n > 0 && isblank((unsigned char)in[n - 1]))
			n--;
	}
	if (n >= size)
		return -1;
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[n] = '\0';
	*len = n;
	return 0;
}
