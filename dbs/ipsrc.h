/* ipsrc.h - the text sources of IPBLOCK files: one entry per line */
/*
 * Accepts what an administrator feeds a blocklist: plain lines
 * ("192.0.2.1", "192.0.2.0/24", "a-b", then an optional value),
 * rbldnsd ip4set/ip4trie/ip6trie/ip6tset dataset lines (short forms,
 * "!" exclusions, ":A:TXT" values and default lines, "$" directives),
 * and Spamhaus DROP/EDROP lines ("prefix ; SBLnnn"). Anything else is
 * an error reported as file:line, never silently dropped. docs/ipblock.5
 * is the reference for the grammar.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef GK_IPSRC_H
#define GK_IPSRC_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/net_addr.h"
#include "../rules/iptree.h"

#define IPSRC_LINE_MAX		8192	/* bytes in one line */
#define IPSRC_ERRORS_MAX	100	/* default error limit */

/* Parse state of one file: defaults and rbldnsd variables. */
struct ipsrc {
	char defval[IPTREE_VALUE_MAX + 1];	/* current default value */
	size_t defval_len;
	char var[10][IPTREE_VALUE_MAX + 1];	/* rbldnsd $0..$9 */
	size_t var_len[10];
	uint32_t var_set;			/* bit n: $n defined */
	uint64_t maxrange4;		/* $MAXRANGE4 in addresses, 0: none */
	char value[IPTREE_VALUE_MAX + 1];	/* the current entry's value */
	size_t value_len;
};

struct ipsrc_entry {
	int exclude;
	struct net_addr first, last;
	const char *value;	/* into struct ipsrc; not NUL-terminated */
	size_t value_len;
};

enum ipsrc_result {
	IPSRC_ERROR = -1,	/* err says why */
	IPSRC_NONE = 0,		/* blank, comment, directive, default value */
	IPSRC_ENTRY = 1		/* e is filled */
};

/* ipsrc_init - the state at the start of a file */
void ipsrc_init(struct ipsrc *s);

/*
 * ipsrc_parse_line - parse one line (len bytes, without the newline; a
 * trailing CR is ignored). Never reads beyond len.
 */
enum ipsrc_result ipsrc_parse_line(struct ipsrc *s, const char *line,
    size_t len, struct ipsrc_entry *e, char *err, size_t errsize);

/* Called for each bad line: "file:line: reason". */
typedef void ipsrc_error_fn(void *arg, const char *file, unsigned long line,
    const char *reason);

struct ipsrc_options {
	unsigned int max_errors;	/* give up after this many (0: 100) */
	ipsrc_error_fn *error_fn;	/* NULL: stderr */
	void *error_arg;
};

/*
 * ipsrc_read - read every line of fd (named name in messages) into the
 * builder. Adds the bad lines to *errors. Returns 0, or -1 on a read or
 * builder error (reported through error_fn with line 0) or when the
 * error limit is reached.
 */
int ipsrc_read(struct iptree_builder *b, int fd, const char *name,
    const struct ipsrc_options *opts, unsigned int *errors);

#endif
