/* resolv_packet.h - DNS names and replies as bytes, for resolv.c */
/*
 * Pure functions with no I/O: validate and normalise names, encode them
 * for a query, and turn a reply packet into a struct resolv_answer. Split
 * from resolv.c so that the parser can be tested with hand-made packets.
 * Every offset in a packet is treated as hostile.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef GK_RESOLV_PACKET_H
#define GK_RESOLV_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "resolv.h"

/* Longest name in wire format, with the root label. */
#define RESOLV_WIRE_MAX	255

/*
 * resolv_name_normalize - check that name (len bytes, a final dot
 * optional) can exist in DNS as a host or mail domain, and write it to
 * out lower-cased without the final dot. "." alone is the root and stays
 * ".". Valid: 1..63-byte labels of letters, digits, '-' and '_', at most
 * 253 bytes in all. Returns 0, or -1 if the name is invalid (out is then
 * the empty string).
 */
int resolv_name_normalize(const char *name, size_t len,
    char out[RESOLV_NAME_MAX]);

/*
 * resolv_name_to_wire - encode a name normalised by resolv_name_normalize()
 * as length-prefixed labels ending with the root. Returns the length
 * written, or 0 if the name does not fit (it always fits when normalised).
 */
size_t resolv_name_to_wire(const char *name,
    unsigned char out[RESOLV_WIRE_MAX]);

/* resolv_type_code - the RR type number for type (A = 1, ...) */
uint16_t resolv_type_code(enum resolv_type type);

/*
 * resolv_packet_parse - read a reply to the question (qname, type). qname
 * is normalised; NULL skips the check of the question's name. Fills ans:
 * - FOUND with every answer-section record of the type, whatever its
 *   owner (the resolver has followed any CNAME chain), at most
 *   RESOLV_MAX_RECORDS; NS, MX and PTR targets lower-cased without the
 *   final dot (the root is "."), MX sorted by preference (stable); TXT
 *   as the concatenation of a record's strings, every byte outside
 *   0x20..0x7e replaced by '?'; A and AAAA as addresses. A target name
 *   with a byte resolv_name_normalize() would refuse is skipped.
 * - NOTFOUND with is_nxdomain = 1 for RCODE 3; with is_nxdomain = 0 for
 *   RCODE 0 without (usable) records of the type.
 * - TEMPFAIL "truncated" (TC set), "server failure" (any other RCODE) or
 *   "bad reply" (not a reply to the question, or malformed: short,
 *   overrunning lengths, compression loops or forward pointers, names
 *   over 255 bytes, wrong RDATA sizes).
 * Returns 0, or -1 (errno ENOMEM, ans left empty) if memory runs out.
 * The arrays in ans are released with resolv_answer_clear().
 */
int resolv_packet_parse(const unsigned char *pkt, size_t len,
    const char *qname, enum resolv_type type, struct resolv_answer *ans);

/* resolv_answer_clear - free ans->names / ans->addrs and empty it */
void resolv_answer_clear(struct resolv_answer *ans);

#endif
