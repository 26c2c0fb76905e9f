/* rule_regex.h - compiled /regex/ tokens (PCRE2 behind a small interface) */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef GK_RULE_REGEX_H
#define GK_RULE_REGEX_H

#include <stddef.h>

struct regex;

/* Uses of one regex after which it is JIT-compiled (where available). */
#define REGEX_JIT_AFTER		32
#define REGEX_MATCH_LIMIT	100000
#define REGEX_DEPTH_LIMIT	10000

/*
 * regex_compile - compile pattern (len bytes, without the slashes),
 * case-insensitive, unanchored. NULL with a message in err on error.
 */
struct regex *regex_compile(const char *pattern, size_t len, char *err,
    size_t errsize);

/*
 * regex_match - 1 if the regex matches somewhere in subject, 0 if not,
 * -1 if matching failed (match or depth limit hit, out of memory).
 * match_limit 0 means REGEX_MATCH_LIMIT.
 */
int regex_match(struct regex *re, const char *subject, size_t len,
    unsigned long match_limit);

/* regex_prepare - JIT-compile now (a daemon master, before it forks),
   so that matching in its children neither compiles nor writes to the
   compiled regex */
void regex_prepare(struct regex *re);

/* regex_warm - one match, so that the matcher's state for this limit
   (0: the default) exists before a fork */
void regex_warm(unsigned long match_limit);

/*
 * regex_serialize - n compiled regexes as one block (PCRE2's
 * serialisation: what a rules image stores instead of the pattern's
 * compilation), from malloc(), *size bytes; NULL if it cannot be made.
 * regex_deserialize - the n regexes back into res, faster than
 * compiling them; -1 if this PCRE2 cannot decode the block (another
 * version): then compile the patterns.
 */
unsigned char *regex_serialize(struct regex *const *res, size_t n,
    size_t *size);
int regex_deserialize(const unsigned char *blob, size_t size,
    struct regex **res, size_t n);

/* regex_free - release a compiled regex (NULL allowed) */
void regex_free(struct regex *re);

/* regex_library - "PCRE2 10.42 ..." */
const char *regex_library(void);

#endif
