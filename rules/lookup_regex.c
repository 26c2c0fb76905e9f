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
#include <stdio.h>
#include <stdlib.h>

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
