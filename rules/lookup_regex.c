/* lookup_regex.c - /regex/ tokens with PCRE2 */
/*
 * The only file that includes <pcre2.h>. Patterns are compiled once,
 * when the rules are loaded; a pattern is JIT-compiled only after
 * REGEX_JIT_AFTER uses, because an inetd-mode process that decides one
 * or two recipients would spend more on JIT than it saves; a daemon master
 * compiles them all at once with regex_prepare() before it forks. Matching is
 * bounded by match and depth limits; hitting one is an error (-1), which
 * the engine turns into a temporary failure, never a match or a miss.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "rule_regex.h"

struct regex {
	pcre2_code *code;
	unsigned int uses;
	int jit_tried;
};

/* One process-wide scratch area; processes here are single-threaded. */
static pcre2_match_data *scratch;
static pcre2_match_context *limits;
static unsigned long limits_value;

/* regex_compile - compile a pattern */
struct regex *
regex_compile(const char *pattern, size_t len, char *err, size_t errsize)
{
	struct regex *re;
	PCRE2_UCHAR msg[200];
	PCRE2_SIZE offset;
	int code;

	if ((re = calloc(1, sizeof(*re))) == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	re->code = pcre2_compile((PCRE2_SPTR)pattern, len,
	    PCRE2_CASELESS | PCRE2_NO_AUTO_CAPTURE, &code, &offset, NULL);
	if (re->code == NULL) {
		pcre2_get_error_message(code, msg, sizeof(msg));
		snprintf(err, errsize, "bad regex at offset %lu: %s",
		    (unsigned long)offset, (char *)msg);
		free(re);
		return NULL;
	}
	return re;
}

/* scratch_ready - the match data and limits, made once; -1 on ENOMEM */
static int
scratch_ready(void)
{
	if (scratch == NULL &&
	    (scratch = pcre2_match_data_create(1, NULL)) == NULL)
		return -1;
	if (limits == NULL) {
		if ((limits = pcre2_match_context_create(NULL)) == NULL)
			return -1;
		pcre2_set_depth_limit(limits, REGEX_DEPTH_LIMIT);
	}
	return 0;
}

/* regex_prepare - JIT-compile now; after it, matching writes nothing */
void
regex_prepare(struct regex *re)
{
	(void)scratch_ready();
	if (!re->jit_tried) {
		re->jit_tried = 1;
		(void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
	}
}

/* regex_warm - the match context set for match_limit, and PCRE2's
   matcher run once, so that a forked child's first match writes
   nothing shared */
void
regex_warm(unsigned long match_limit)
{
	struct regex *re;
	char err[64];

	if ((re = regex_compile("^$", 2, err, sizeof(err))) == NULL)
		return;
	regex_prepare(re);
	(void)regex_match(re, "", 0, match_limit);
	regex_free(re);
}

/* regex_match - does the regex match somewhere in subject */
int
regex_match(struct regex *re, const char *subject, size_t len,
    unsigned long match_limit)
{
	int r;

	if (match_limit == 0)
		match_limit = REGEX_MATCH_LIMIT;
	if (scratch_ready() == -1)
		return -1;
	if (limits_value != match_limit) {
		pcre2_set_match_limit(limits, (uint32_t)match_limit);
		limits_value = match_limit;
	}
	if (!re->jit_tried && ++re->uses >= REGEX_JIT_AFTER) {
		re->jit_tried = 1;
		(void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
	}
	r = pcre2_match(re->code, (PCRE2_SPTR)subject, len, 0, 0, scratch,
	    limits);
	if (r >= 0)
		return 1;
	if (r == PCRE2_ERROR_NOMATCH)
		return 0;
	return -1;
}

/* regex_serialize - PCRE2's serialisation of n compiled regexes, in a
   block of *size bytes from malloc(); NULL if it cannot be made */
unsigned char *
regex_serialize(struct regex *const *res, size_t n, size_t *size)
{
	const pcre2_code **codes;
	uint8_t *bytes, *copy = NULL;
	PCRE2_SIZE len;
	size_t i;

	if (n == 0 || n > INT32_MAX ||
	    (codes = calloc(n, sizeof(*codes))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		codes[i] = res[i]->code;
	if (pcre2_serialize_encode(codes, (int32_t)n, &bytes, &len, NULL) ==
	    (int32_t)n) {
		/* pcre2_serialize_free() must free PCRE2's block: copy it. */
		if ((copy = malloc(len)) != NULL) {
			memcpy(copy, bytes, len);
			*size = len;
		}
		pcre2_serialize_free(bytes);
	}
	free(codes);
	return copy;
}

/*
 * regex_deserialize - n regexes from regex_serialize()'s block into
 * res; 0, or -1 if the block is not one this PCRE2 can decode (another
 * version or build: the caller compiles the patterns instead). The
 * block is only read.
 */
int
regex_deserialize(const unsigned char *blob, size_t size, struct regex **res,
    size_t n)
{
	pcre2_code **codes;
	size_t i, done = 0;

	if (n == 0 || n > INT32_MAX ||
	    pcre2_serialize_get_number_of_codes(blob) != (int32_t)n ||
	    (codes = calloc(n, sizeof(*codes))) == NULL)
		return -1;
	(void)size;	/* PCRE2 checks its own header; the caller the bounds */
	if (pcre2_serialize_decode(codes, (int32_t)n, blob, NULL) !=
	    (int32_t)n) {
		free(codes);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if ((res[i] = calloc(1, sizeof(*res[i]))) == NULL)
			break;
		res[i]->code = codes[i];
		done++;
	}
	if (done < n) {
		for (i = 0; i < done; i++) {
			free(res[i]);
			res[i] = NULL;
		}
		for (i = 0; i < n; i++)
			pcre2_code_free(codes[i]);
		free(codes);
		return -1;
	}
	free(codes);
	return 0;
}

/* regex_free - release a compiled regex */
void
regex_free(struct regex *re)
{
	if (re == NULL)
		return;
	pcre2_code_free(re->code);
	free(re);
}

/* regex_library - the PCRE2 version */
const char *
regex_library(void)
{
	static char version[64];
	char buf[48];

	if (version[0] == '\0') {
		if (pcre2_config(PCRE2_CONFIG_VERSION, buf) < 0)
			snprintf(buf, sizeof(buf), "unknown");
		snprintf(version, sizeof(version), "PCRE2 %s", buf);
	}
	return version;
}
