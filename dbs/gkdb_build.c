/* gkdb_build.c - compile text into IPBLOCK, CDB and Berkeley DB hash files */
/*
 * IPBLOCK sources go through ipsrc.c into an iptree builder; the image
 * is checked with iptree_verify() before it is written. CDB and HASH
 * sources are "key value" lines (the key is the first word, lower-cased
 * as the engine looks keys up; the value is the rest of the line); the
 * first of several equal keys is kept. Every output is written to a
 * temporary name and renamed into place only when complete.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "gkdb.h"
#include "ipsrc.h"
#include "lines.h"
#include "../lib/outfile.h"
#include "tablew.h"

/* gkdb_type_parse - a type by name */
int
gkdb_type_parse(const char *name, enum gkdb_type *type)
{
	if (strcasecmp(name, "ipblock") == 0)
		*type = GKDB_IPBLOCK;
	else if (strcasecmp(name, "cdb") == 0)
		*type = GKDB_CDB;
	else if (strcasecmp(name, "hash") == 0)
		*type = GKDB_HASH;
	else
		return -1;
	return 0;
}

/* gkdb_type_name - the name used in rules files */
const char *
gkdb_type_name(enum gkdb_type type)
{
	switch (type) {
	case GKDB_IPBLOCK:
		return "IPBLOCK";
	case GKDB_CDB:
		return "CDB";
	default:
		return "HASH";
	}
}

/* Shared state of one build. */
struct build {
	const struct gkdb_build_options *o;
	struct gkdb_build_result *res;
	unsigned int max;
	/* CDB/HASH */
	struct tablew *w;
	const char *file;
	unsigned long line;
	int failed;
	/* keys seen: open addressing over an arena of [u32 len][bytes] */
	char *arena;
	size_t alen, acap;
	size_t *slots;		/* arena offset + 1, 0 = empty */
	size_t nslots, nkeys;
	char lkey[GKDB_KEY_MAX];
};

/* say - report through error_fn or on stderr */
static void say(const struct build *, const char *, unsigned long,
    const char *, ...) __attribute__((format(printf, 4, 5)));

static void
say(const struct build *bd, const char *file, unsigned long line,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (bd->o != NULL && bd->o->error_fn != NULL)
		bd->o->error_fn(bd->o->error_arg, file, line, msg);
	else if (line > 0)
		fprintf(stderr, "%s:%lu: %s\n", file, line, msg);
	else
		fprintf(stderr, "%s: %s\n", file, msg);
}

/* open_input - "-" is standard input */
static int
open_input(const struct build *bd, const char *path)
{
	int fd;

	if (strcmp(path, "-") == 0)
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		say(bd, path, 0, "cannot open: %s", strerror(errno));
	return fd;
}

/* close_input - close unless standard input */
static void
close_input(int fd)
{
	if (fd != 0)
		close(fd);
}

/* key_hash - FNV-1a over a key */
static size_t
key_hash(const char *k, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)k[i];
		h *= 0x100000001b3ULL;
	}
	return (size_t)h;
}

/* keys_grow - double the slot table */
static int
keys_grow(struct build *bd)
{
	size_t n = bd->nslots == 0 ? 1024 : bd->nslots * 2, i, j;
	size_t *s;

	if ((s = calloc(n, sizeof(*s))) == NULL)
		return -1;
	for (i = 0; i < bd->nslots; i++) {
		uint32_t len;
		size_t off;

		if (bd->slots[i] == 0)
			continue;
		off = bd->slots[i] - 1;
		memcpy(&len, bd->arena + off, 4);
		j = key_hash(bd->arena + off + 4, len) & (n - 1);
		while (s[j] != 0)
			j = (j + 1) & (n - 1);
		s[j] = bd->slots[i];
	}
	free(bd->slots);
	bd->slots = s;
	bd->nslots = n;
	return 0;
}

/* keys_add - 1 if key is new (and remember it), 0 if seen, -1 */
static int
keys_add(struct build *bd, const char *k, size_t len)
{
	uint32_t l32 = (uint32_t)len, have;
	size_t j;

	if ((bd->nkeys + 1) * 2 > bd->nslots && keys_grow(bd) == -1)
		return -1;
	j = key_hash(k, len) & (bd->nslots - 1);
	while (bd->slots[j] != 0) {
		size_t off = bd->slots[j] - 1;

		memcpy(&have, bd->arena + off, 4);
		if (have == l32 && memcmp(bd->arena + off + 4, k, len) == 0)
			return 0;
		j = (j + 1) & (bd->nslots - 1);
	}
	if (bd->alen + 4 + len > bd->acap) {
		size_t ncap = bd->acap == 0 ? 1 << 20 : bd->acap * 2;
		char *p;

		while (ncap < bd->alen + 4 + len)
			ncap *= 2;
		if ((p = realloc(bd->arena, ncap)) == NULL)
			return -1;
		bd->arena = p;
		bd->acap = ncap;
	}
	memcpy(bd->arena + bd->alen, &l32, 4);
	memcpy(bd->arena + bd->alen + 4, k, len);
	bd->slots[j] = bd->alen + 1;
	bd->alen += 4 + len;
	bd->nkeys++;
	return 1;
}

/* bad_kv - report a bad line; -1 at the limit */
static int
bad_kv(struct build *bd, const char *reason)
{
	say(bd, bd->file, bd->line, "%s", reason);
	if (++bd->res->bad_lines >= bd->max) {
		say(bd, bd->file, 0, "too many errors (%u), giving up",
		    bd->res->bad_lines);
		return -1;
	}
	return 0;
}

/* kv_line - one "key value" line */
static int
kv_line(void *arg, const char *line, size_t len, int too_long)
{
	struct build *bd = arg;
	char err[256];
	size_t klen = 0, i;
	const char *v;
	int r;

	bd->line++;
	if (too_long || len > GKDB_LINE_MAX)
		return bad_kv(bd, "line too long");
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
	    line[len - 1] == '\t'))
		len--;
	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	if (len == 0 || line[0] == '#')
		return 0;
	if (memchr(line, '\0', len) != NULL)
		return bad_kv(bd, "NUL byte in line");
	while (klen < len && line[klen] != ' ' && line[klen] != '\t')
		klen++;
	if (klen > GKDB_KEY_MAX)
		return bad_kv(bd, "key longer than 1024 bytes");
	for (i = 0; i < klen; i++)
		bd->lkey[i] = (char)tolower((unsigned char)line[i]);
	v = line + klen;
	while (v < line + len && (*v == ' ' || *v == '\t'))
		v++;
	if ((r = keys_add(bd, bd->lkey, klen)) == -1) {
		say(bd, bd->file, bd->line, "out of memory");
		bd->failed = 1;
		return -1;
	}
	if (r == 0) {
		bd->res->duplicates++;
		return 0;
	}
	if (bd->w->put(bd->w, bd->lkey, klen, v, (size_t)(line + len - v),
	    err, sizeof(err)) == -1) {
		say(bd, bd->file, bd->line, "%s", err);
		bd->failed = 1;
		return -1;
	}
	bd->res->records++;
	return 0;
}

/* build_table - CDB or HASH from "key value" lines */
static enum gkdb_build_status
build_table(struct build *bd, enum gkdb_type type, const char *output,
    const char *tmp, const char *const *inputs, size_t ninputs)
{
	enum gkdb_build_status st = GKDB_FAILED;
	char err[512];
	size_t i;
	int fd;

	if (type == GKDB_HASH)
		(void)unlink(tmp);	/* stale; Berkeley DB creates it */
	bd->w = type == GKDB_CDB ? tablew_cdb_open(tmp, err, sizeof(err)) :
	    tablew_hash_open(tmp, err, sizeof(err));
	if (bd->w == NULL) {
		say(bd, output, 0, "%s", err);
		return GKDB_FAILED;
	}
	for (i = 0; i < ninputs; i++) {
		if ((fd = open_input(bd, inputs[i])) == -1)
			goto fail;
		bd->file = strcmp(inputs[i], "-") == 0 ? "stdin" : inputs[i];
		bd->line = 0;
		if (lines_read(fd, kv_line, bd) == -1) {
			if (errno != 0) {
				say(bd, bd->file, 0, "read error: %s",
				    strerror(errno));
				bd->failed = 1;
			}
			close_input(fd);
			if (bd->failed)
				goto fail;
			st = GKDB_BAD_INPUT;
			goto fail;
		}
		close_input(fd);
	}
	if (bd->res->bad_lines > 0 && !bd->o->keep_going) {
		st = GKDB_BAD_INPUT;
		goto fail;
	}
	if (bd->w->finish(bd->w, err, sizeof(err)) == -1) {
		bd->w = NULL;
		say(bd, output, 0, "%s", err);
		unlink(tmp);
		return GKDB_FAILED;
	}
	bd->w = NULL;
	return GKDB_BUILT;
fail:
	bd->w->abort(bd->w);
	bd->w = NULL;
	unlink(tmp);
	return st;
}

/* ipsrc_error - adapter from ipsrc's reports to the caller's */
static void
ipsrc_error(void *arg, const char *file, unsigned long line,
    const char *reason)
{
	say(arg, file, line, "%s", reason);
}

/* build_ipblock - IPBLOCK from entry lines */
static enum gkdb_build_status
build_ipblock(struct build *bd, const char *output, const char *tmp,
    const char *const *inputs, size_t ninputs)
{
	struct iptree_builder *b;
	struct ipsrc_options io;
	struct iptree *t;
	char err[512];
	void *image = NULL;
	size_t size, i;
	int fd, r;

	if ((b = iptree_builder_new()) == NULL) {
		say(bd, output, 0, "out of memory");
		return GKDB_FAILED;
	}
	memset(&io, 0, sizeof(io));
	io.max_errors = bd->max;
	io.error_fn = ipsrc_error;
	io.error_arg = bd;
	for (i = 0; i < ninputs; i++) {
		if ((fd = open_input(bd, inputs[i])) == -1) {
			iptree_builder_free(b);
			return GKDB_FAILED;
		}
		r = ipsrc_read(b, fd, strcmp(inputs[i], "-") == 0 ? "stdin" :
		    inputs[i], &io, &bd->res->bad_lines);
		close_input(fd);
		if (r == -1) {
			iptree_builder_free(b);
			return bd->res->bad_lines >= bd->max ? GKDB_BAD_INPUT :
			    GKDB_FAILED;
		}
	}
	if (bd->res->bad_lines > 0 && !bd->o->keep_going) {
		iptree_builder_free(b);
		return GKDB_BAD_INPUT;
	}
	r = iptree_builder_finish(b, &image, &size, &bd->res->ipblock);
	iptree_builder_free(b);
	if (r == -1) {
		say(bd, output, 0, "cannot build: %s", strerror(errno));
		return GKDB_FAILED;
	}
	if ((t = iptree_open_buffer(image, size, err, sizeof(err))) == NULL ||
	    iptree_verify(t, err, sizeof(err)) == -1) {
		say(bd, output, 0, "internal error, built a bad file: %s", err);
		iptree_close(t);
		free(image);
		return GKDB_FAILED;
	}
	iptree_close(t);
	if ((fd = outfile_create(tmp)) == -1) {
		say(bd, output, 0, "cannot create %s: %s", tmp,
		    strerror(errno));
		free(image);
		return GKDB_FAILED;
	}
	r = write_all(fd, image, size);
	free(image);
	if (r == -1 || close(fd) == -1) {
		say(bd, output, 0, "cannot write %s: %s", tmp, strerror(errno));
		if (r == -1)
			close(fd);
		unlink(tmp);
		return GKDB_FAILED;
	}
	return GKDB_BUILT;
}

/* gkdb_build - compile inputs into output */
enum gkdb_build_status
gkdb_build(enum gkdb_type type, const char *output, const char *const *inputs,
    size_t ninputs, const struct gkdb_build_options *opts,
    struct gkdb_build_result *res)
{
	static const char *const stdin_only[] = { "-" };
	static const struct gkdb_build_options defaults;
	enum gkdb_build_status st;
	char tmp[OUTFILE_PATH_MAX];
	struct build bd;
	struct stat sb;

	memset(&bd, 0, sizeof(bd));
	memset(res, 0, sizeof(*res));
	bd.o = opts != NULL ? opts : &defaults;
	bd.res = res;
	bd.max = bd.o->max_errors > 0 ? bd.o->max_errors : GKDB_ERRORS_MAX;
	if (ninputs == 0) {
		inputs = stdin_only;
		ninputs = 1;
	}
	if (outfile_tmpname(output, tmp, sizeof(tmp)) == -1) {
		say(&bd, output, 0, "name too long");
		return GKDB_FAILED;
	}
	if (type == GKDB_IPBLOCK)
		st = build_ipblock(&bd, output, tmp, inputs, ninputs);
	else
		st = build_table(&bd, type, output, tmp, inputs, ninputs);
	free(bd.arena);
	free(bd.slots);
	if (st != GKDB_BUILT)
		return st;
	if (outfile_commit(tmp, output) == -1) {
		say(&bd, output, 0, "cannot install: %s", strerror(errno));
		return GKDB_FAILED;
	}
	if (stat(output, &sb) == 0)
		res->bytes = (size_t)sb.st_size;
	return GKDB_BUILT;
}
