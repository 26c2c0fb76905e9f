/* resolv_packet.c - DNS names and replies as bytes, for resolv.c */
/*
 * The reply parser trusts nothing in the packet: every length and offset
 * is checked against the packet size, compression pointers must point
 * strictly backwards (which also ends every loop) and a name may not
 * exceed 255 bytes in wire format. Names that cannot be shown as plain
 * dotted text (a label holding '.', blanks, control or 8-bit bytes) are
 * refused rather than escaped, so a record can never smuggle a name that
 * reads differently from the one in DNS.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "resolv_packet.h"

#define HEADER_SIZE	12
#define CLASS_IN	1
#define RCODE_NXDOMAIN	3
#define MAX_POINTERS	64	/* compression jumps in one name */

static const unsigned char v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* name_char_ok - a byte allowed in a label of a normalised name */
static int
name_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* lower - ASCII lower case */
static char
lower(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (char)(c - 'A' + 'a');
	return (char)c;
}

/* resolv_name_normalize - validate, lower-case, drop the final dot */
int
resolv_name_normalize(const char *name, size_t len, char out[RESOLV_NAME_MAX])
{
	size_t i, label = 0;

	out[0] = '\0';
	if (len == 1 && name[0] == '.') {
		out[0] = '.';
		out[1] = '\0';
		return 0;
	}
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > RESOLV_NAME_MAX - 3)	/* 253 */
		goto bad;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (label == 0)
				goto bad;	/* empty label */
			label = 0;
		} else {
			if (!name_char_ok(c) || ++label > 63)
				goto bad;
		}
		out[i] = lower(c);
	}
	if (label == 0)
		goto bad;	/* "a..": the final dot was not alone */
	out[len] = '\0';
	return 0;
bad:
	out[0] = '\0';
	return -1;
}

/* resolv_name_to_wire - dotted normalised name to length-prefixed labels */
size_t
resolv_name_to_wire(const char *name, unsigned char out[RESOLV_WIRE_MAX])
{
	size_t pos = 0, start;
	const char *p = name;

	if (strcmp(name, ".") == 0) {
		out[0] = 0;
		return 1;
	}
	while (*p != '\0') {
		start = pos++;
		while (*p != '\0' && *p != '.') {
			if (pos >= RESOLV_WIRE_MAX - 1 || pos - start > 63)
				return 0;
			out[pos++] = (unsigned char)*p++;
		}
		if (pos - start - 1 == 0)
			return 0;
		out[start] = (unsigned char)(pos - start - 1);
		if (*p == '.')
			p++;
	}
	if (pos >= RESOLV_WIRE_MAX)
		return 0;
	out[pos++] = 0;
	return pos;
}

/* resolv_type_code - RR type number */
uint16_t
resolv_type_code(enum resolv_type type)
{
	switch (type) {
	case RESOLV_A:
		return 1;
	case RESOLV_NS:
		return 2;
	case RESOLV_PTR:
		return 12;
	case RESOLV_MX:
		return 15;
	case RESOLV_TXT:
		return 16;
	case RESOLV_AAAA:
		return 28;
	}
	return 0;
}

/* get16 - big-endian 16-bit value at pkt[pos]; the caller checked len */
static unsigned int
get16(const unsigned char *pkt, size_t pos)
{
	return ((unsigned int)pkt[pos] << 8) | pkt[pos + 1];
}

/*
 * packet_name - decode the name at pos into out (dotted, lower case, the
 * root as "."). *next is the offset after the name where it was found.
 * *is_clean is 0 if a label has a byte outside name_char_ok(). Returns 0,
 * or -1 if the name is malformed.
 */
static int
packet_name(const unsigned char *pkt, size_t len, size_t pos, size_t *next,
    char out[RESOLV_NAME_MAX], int *is_clean)
{
	size_t wire = 0, o = 0, limit = pos;
	unsigned int jumps = 0;
	int jumped = 0;

	*is_clean = 1;
	for (;;) {
		unsigned int n;

		if (pos >= len)
			return -1;
		n = pkt[pos];
		if ((n & 0xc0) == 0xc0) {
			size_t target;

			if (pos + 1 >= len)
				return -1;
			target = get16(pkt, pos) & 0x3fff;
			/* strictly backwards from the earliest byte seen */
			if (target >= limit || ++jumps > MAX_POINTERS)
				return -1;
			if (!jumped)
				*next = pos + 2;
			jumped = 1;
			pos = limit = target;
			continue;
		}
		if ((n & 0xc0) != 0)
			return -1;	/* extended label types */
		if (n == 0) {
			wire++;
			if (!jumped)
				*next = pos + 1;
			break;
		}
		if (pos + 1 + n > len)
			return -1;
		wire += 1 + n;
		if (wire + 1 > RESOLV_WIRE_MAX)
			return -1;
		if (o > 0)
			out[o++] = '.';
		for (unsigned int i = 1; i <= n; i++) {
			unsigned char c = pkt[pos + i];

			if (!name_char_ok(c))
				*is_clean = 0;
			out[o++] = name_char_ok(c) ? lower(c) : '?';
		}
		pos += 1 + n;
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	return 0;
}

/* resolv_answer_clear - free the arrays of an answer */
void
resolv_answer_clear(struct resolv_answer *ans)
{
	size_t i;

	if (ans->names != NULL) {
		for (i = 0; i < ans->count; i++)
			free(ans->names[i]);
		free(ans->names);
	}
	free(ans->addrs);
	memset(ans, 0, sizeof(*ans));
}

/* set_status - an answer without records */
static void
set_status(struct resolv_answer *ans, enum resolv_status status,
    int is_nxdomain, const char *error)
{
	resolv_answer_clear(ans);
	ans->status = status;
	ans->is_nxdomain = is_nxdomain;
	ans->error = error;
}

/* txt_string - the character-strings of a TXT RDATA, made printable */
static char *
txt_string(const unsigned char *rd, size_t rdlen)
{
	size_t pos = 0, o = 0;
	char *s;

	s = malloc(rdlen + 1);	/* never longer than the RDATA */
	if (s == NULL)
		return NULL;
	while (pos < rdlen) {
		size_t n = rd[pos++];

		if (n > rdlen - pos) {
			free(s);
			errno = EINVAL;
			return NULL;
		}
		for (size_t i = 0; i < n; i++) {
			unsigned char c = rd[pos + i];

			s[o++] = (c >= 0x20 && c <= 0x7e) ? (char)c : '?';
		}
		pos += n;
	}
	s[o] = '\0';
	return s;
}

/* sort_by_pref - stable insertion sort of names by MX preference */
static void
sort_by_pref(char **names, unsigned int *pref, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		unsigned int p = pref[i];
		char *name = names[i];
		size_t j = i;

		while (j > 0 && pref[j - 1] > p) {
			pref[j] = pref[j - 1];
			names[j] = names[j - 1];
			j--;
		}
		pref[j] = p;
		names[j] = name;
	}
}

/*
 * add_record - keep one answer record of the asked type. Returns 1 if
 * kept, 0 if skipped (an unusable name), -1 if malformed (errno EINVAL)
 * or out of memory (errno ENOMEM).
 */
static int
add_record(const unsigned char *pkt, size_t rdpos, size_t rdlen,
    enum resolv_type type, struct resolv_answer *ans, unsigned int *pref)
{
	char name[RESOLV_NAME_MAX];
	struct net_addr *addr;
	size_t next = 0, at = rdpos;
	int is_clean;
	char *copy;

	switch (type) {
	case RESOLV_A:
	case RESOLV_AAAA:
		if (rdlen != (type == RESOLV_A ? 4u : 16u)) {
			errno = EINVAL;
			return -1;
		}
		addr = &ans->addrs[ans->count++];
		memset(addr, 0, sizeof(*addr));
		if (rdlen == 16 && memcmp(pkt + rdpos, v4mapped, 12) == 0) {
			/* net_addr keeps IPv4-mapped addresses as IPv4 */
			addr->family = NET_V4;
			memcpy(addr->bytes, pkt + rdpos + 12, 4);
		} else {
			addr->family = type == RESOLV_A ? NET_V4 : NET_V6;
			memcpy(addr->bytes, pkt + rdpos, rdlen);
		}
		return 1;
	case RESOLV_TXT:
		copy = txt_string(pkt + rdpos, rdlen);
		if (copy == NULL)
			return -1;
		ans->names[ans->count++] = copy;
		return 1;
	case RESOLV_MX:
		if (rdlen < 3) {
			errno = EINVAL;
			return -1;
		}
		pref[ans->count] = get16(pkt, rdpos);
		at += 2;
		break;
	case RESOLV_NS:
	case RESOLV_PTR:
		break;
	}
	/*
	 * The name must fill the RDATA exactly. packet_name() sees the
	 * packet only up to the end of the RDATA: pointers go backwards,
	 * so earlier names stay reachable, and no label may run past it.
	 */
	if (packet_name(pkt, rdpos + rdlen, at, &next, name, &is_clean) == -1 ||
	    next != rdpos + rdlen) {
		errno = EINVAL;
		return -1;
	}
	if (!is_clean)
		return 0;
	copy = strdup(name);
	if (copy == NULL)
		return -1;
	ans->names[ans->count++] = copy;
	return 1;
}

/* alloc_records - room for RESOLV_MAX_RECORDS records of the type */
static int
alloc_records(enum resolv_type type, struct resolv_answer *ans)
{
	if (type == RESOLV_A || type == RESOLV_AAAA)
		ans->addrs = calloc(RESOLV_MAX_RECORDS, sizeof(*ans->addrs));
	else
		ans->names = calloc(RESOLV_MAX_RECORDS, sizeof(*ans->names));
	if (ans->addrs == NULL && ans->names == NULL)
		return -1;
	return 0;
}

#define FLAG_AA		0x0400	/* authoritative answer */
#define FLAG_RA		0x0080	/* recursion available */

/* resolv_packet_parse - reply packet to answer */
int
resolv_packet_parse(const unsigned char *pkt, size_t len, const char *qname,
    enum resolv_type type, struct resolv_answer *ans)
{
	char name[RESOLV_NAME_MAX];
	unsigned int pref[RESOLV_MAX_RECORDS];
	unsigned int flags, rcode, qdcount, ancount, i;
	size_t pos, next = 0;
	int is_clean;

	memset(ans, 0, sizeof(*ans));
	if (len < HEADER_SIZE)
		goto bad;
	flags = get16(pkt, 2);
	qdcount = get16(pkt, 4);
	ancount = get16(pkt, 6);
	if ((flags & 0x8000) == 0 || ((flags >> 11) & 0xf) != 0)
		goto bad;	/* not a reply, or not a standard query */
	if (flags & 0x0200) {
		set_status(ans, RESOLV_TEMPFAIL, 0, "truncated");
		return 0;
	}
	if (qdcount != 1)
		goto bad;
	if (packet_name(pkt, len, HEADER_SIZE, &next, name, &is_clean) == -1)
		goto bad;
	pos = next;
	if (pos + 4 > len)
		goto bad;
	if (qname != NULL && (!is_clean || strcmp(name, qname) != 0))
		goto bad;
	if (get16(pkt, pos) != resolv_type_code(type) ||
	    get16(pkt, pos + 2) != CLASS_IN)
		goto bad;
	pos += 4;
	rcode = flags & 0xf;
	if (rcode == RCODE_NXDOMAIN) {
		set_status(ans, RESOLV_NOTFOUND, 1, NULL);
		return 0;
	}
	if (rcode != 0) {
		set_status(ans, RESOLV_TEMPFAIL, 0, "server failure");
		return 0;
	}
	if (alloc_records(type, ans) == -1) {
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < ancount; i++) {
		unsigned int rtype, rclass;
		size_t rdlen;

		if (packet_name(pkt, len, pos, &next, name, &is_clean) == -1)
			goto bad;
		pos = next;
		if (pos + 10 > len)
			goto bad;
		rtype = get16(pkt, pos);
		rclass = get16(pkt, pos + 2);
		rdlen = get16(pkt, pos + 8);
		pos += 10;
		if (rdlen > len - pos)
			goto bad;
		if (rtype == resolv_type_code(type) && rclass == CLASS_IN &&
		    ans->count < RESOLV_MAX_RECORDS) {
			if (add_record(pkt, pos, rdlen, type, ans,
			    pref) == -1) {
				if (errno == ENOMEM) {
					resolv_answer_clear(ans);
					return -1;
				}
				goto bad;
			}
		}
		pos += rdlen;
	}
	if (ans->count == 0) {
		/* "No such records" only from a server that recursed (RA)
		   or answers for the zone (AA). One that does neither
		   answers with a referral, which says nothing of the name:
		   a misconfigured resolver must not make every DNSBL say
		   "not listed". */
		if ((flags & (FLAG_AA | FLAG_RA)) == 0)
			set_status(ans, RESOLV_TEMPFAIL, 0, "not a recursive "
			    "answer (the server does not recurse)");
		else
			set_status(ans, RESOLV_NOTFOUND, 0, NULL);
		return 0;
	}
	if (type == RESOLV_MX)
		sort_by_pref(ans->names, pref, ans->count);
	ans->status = RESOLV_FOUND;
	return 0;
bad:
	set_status(ans, RESOLV_TEMPFAIL, 0, "bad reply");
	return 0;
}
