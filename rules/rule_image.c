/* rule_image.c - a compiled rules file, written once and mapped per process */
/*
 * An inetd-mode smtpd compiles the whole rules file in every process.
 * An image (rulecheck -C, like Postfix's postmap) is that compilation
 * done once: the ruleset's arena, built as one region at IMAGE_BASE,
 * written after a header, and mapped back at the same address, so the
 * pointers inside it stay valid and a process touches only the pages
 * its decisions read.
 *
 * What cannot be shared between processes is not taken from the
 * image: the struct ruleset itself (copied), the path and options (the
 * caller's), the default reply (compiled from the options), the table
 * list (its ops are function pointers: rebound by kind) and the
 * compiled regexes (PCRE2 codes, in an array of the process's own:
 * decoded from the PCRE2 serialisation the image holds, or, if this
 * PCRE2 cannot decode it, compiled again from the pattern text the
 * image keeps). The mapping itself is never written.
 *
 * An image is used only if it records the identity of the rules file
 * as it is now, carries this build's identity (the sources, the
 * compiler, the layout), is owned by root and not writable by group or
 * others, and its header and bounds check out. The payload itself is
 * not read at load (that would fault in every page); an image is
 * written by root, atomically, and checksummed as a whole by the
 * writer, which reads it back. rulecheck -I (opts->verify_image)
 * checks that checksum again, for an administrator who suspects one.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/outfile.h"
#include "rule_int.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#ifndef RULES_BUILD_ID
#define RULES_BUILD_ID "unknown"
#endif

/*
 * Where images live in every process: far from the executable, the
 * heap, the libraries and the stack as Linux places them on x86-64,
 * and outside AddressSanitizer's shadow and allocator ranges.
 */
#define IMAGE_BASE	((uintptr_t)0x4a5000000000ULL)
#define IMAGE_RESERVE	((size_t)4 << 30)	/* an image at most */
#define IMAGE_MAGIC	"GKRULIMG"
#define IMAGE_VERSION	1
#define IMAGE_PAYLOAD	4096		/* the payload's file offset */
#define IMAGE_BUILD_MAX	160

struct image_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;		/* sizeof(struct image_header) */
	char build[IMAGE_BUILD_MAX];	/* ruleset_image_build() */
	uint64_t base;			/* where the payload is mapped */
	uint64_t payload_size;
	uint64_t root;			/* offset of the struct ruleset */
	uint64_t payload_sum;		/* image_sum() of the payload */
	/* the rules file this was compiled from */
	uint64_t src_dev, src_ino, src_size;
	int64_t src_mtime_sec, src_mtime_nsec;
	int64_t src_ctime_sec, src_ctime_nsec;
	uint64_t header_sum;		/* image_sum() of all above */
};

/* ruleset_image_build - sources, compiler and layout of this build */
const char *
ruleset_image_build(void)
{
	static char id[IMAGE_BUILD_MAX];

	if (id[0] == '\0')
		snprintf(id, sizeof(id), "rules %s; cc %.60s; ptr %zu rs %zu "
		    "rule %zu tok %zu v%d", RULES_BUILD_ID, __VERSION__,
		    sizeof(void *), sizeof(struct ruleset),
		    sizeof(struct rule), sizeof(struct token), IMAGE_VERSION);
	return id;
}

/* image_sum - FNV-1a, 64 bits, eight bytes at a time where it can */
static uint64_t
image_sum(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL, w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		h = (h ^ w) * 0x100000001b3ULL;
	}
	for (; i < len; i++)
		h = (h ^ s[i]) * 0x100000001b3ULL;
	return h;
}

/* image_name - path.image into buf; -1 if too long */
static int
image_name(const char *path, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s.image", path);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* same_source - the header records the file as st shows it now */
static int
same_source(const struct image_header *h, const struct stat *st)
{
	return h->src_dev == (uint64_t)st->st_dev &&
	    h->src_ino == (uint64_t)st->st_ino &&
	    h->src_size == (uint64_t)st->st_size &&
	    h->src_mtime_sec == (int64_t)st->st_mtim.tv_sec &&
	    h->src_mtime_nsec == (int64_t)st->st_mtim.tv_nsec &&
	    h->src_ctime_sec == (int64_t)st->st_ctim.tv_sec &&
	    h->src_ctime_nsec == (int64_t)st->st_ctim.tv_nsec;
}

/* install - write header and payload under a temporary name and rename
   it to name (lib/outfile.h); -1 with a message */
static int
install(const char *name, const struct image_header *h, const void *payload,
    char *err, size_t errsize)
{
	char tmp[PATH_MAX], pad[IMAGE_PAYLOAD];
	int fd;

	if (outfile_tmpname(name, tmp, sizeof(tmp)) == -1) {
		snprintf(err, errsize, "%s: name too long", name);
		return -1;
	}
	if ((fd = outfile_create(tmp)) == -1) {
		snprintf(err, errsize, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	/* smtpd reads it as its own user, whatever root's umask. */
	memset(pad, 0, sizeof(pad));
	memcpy(pad, h, sizeof(*h));
	if (fchmod(fd, 0644) == -1 || write_all(fd, pad, sizeof(pad)) == -1 ||
	    write_all(fd, payload, (size_t)h->payload_size) == -1) {
		snprintf(err, errsize, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) == -1 || outfile_commit(tmp, name) == -1) {
		snprintf(err, errsize, "%s: %s", name, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* verify - read the installed image back and compare its checksums */
static int
verify(const char *name, const struct image_header *h, char *err,
    size_t errsize)
{
	struct image_header got;
	char *buf;
	size_t len;
	struct stat st;
	int r = -1;

	if (rule_read_file(name, &buf, &len, &st) == -1) {
		snprintf(err, errsize, "%s: cannot read it back: %s", name,
		    strerror(errno));
		return -1;
	}
	if (len != IMAGE_PAYLOAD + h->payload_size)
		snprintf(err, errsize, "%s: read back %zu bytes, wrote %llu",
		    name, len, (unsigned long long)(IMAGE_PAYLOAD +
		    h->payload_size));
	else {
		memcpy(&got, buf, sizeof(got));
		if (memcmp(&got, h, sizeof(got)) != 0 || image_sum(buf +
		    IMAGE_PAYLOAD, len - IMAGE_PAYLOAD) != h->payload_sum)
			snprintf(err, errsize, "%s: read back differs from "
			    "what was written", name);
		else
			r = 0;
	}
	free(buf);
	return r;
}

/* ruleset_image_write - compile path into path.image */
int
ruleset_image_write(const char *path, const struct rule_options *opts,
    size_t *nrules, char *err, size_t errsize)
{
	struct rule_options o;
	struct rule_arena region;
	struct ruleset *rs, *root;
	struct image_header h;
	struct stat st;
	char name[PATH_MAX], *buf;
	unsigned char *blob, *copy;
	size_t len, i, blob_size = 0;
	int saved, r;

	err[0] = '\0';
	if (image_name(path, name, sizeof(name)) == -1) {
		snprintf(err, errsize, "%s: name too long", path);
		return -1;
	}
	if (rule_read_file(path, &buf, &len, &st) == -1) {
		/* Reported as ruleset_load() reports it; err stays "". */
		saved = errno;
		rule_read_error(path, opts, saved);
		return -1;
	}
	if (opts != NULL)
		o = *opts;
	else {
		memset(&o, 0, sizeof(o));
		o.default_action = RULE_ALLOW;
	}
	o.no_index = 0;		/* an image always has its index */
	if (arena_init_region(&region, (void *)IMAGE_BASE, IMAGE_RESERVE) ==
	    -1) {
		snprintf(err, errsize, "cannot reserve the image's address "
		    "range: %s", strerror(errno));
		free(buf);
		return -1;
	}
	rs = ruleset_compile(path, buf, len, &o, &region);
	free(buf);
	if (rs == NULL) {
		if (errno != EINVAL)
			snprintf(err, errsize, "%s: %s", path,
			    strerror(errno));
		return -1;
	}
	*nrules = rs->nrules;
	/* What is bound per process is left out of the image; the regexes
	   go in as PCRE2's serialisation, which a process decodes faster
	   than it compiles the patterns (if its PCRE2 cannot, it compiles
	   them). */
	if (rs->nregex > 0 &&
	    (blob = regex_serialize(rs->regex, rs->nregex, &blob_size)) !=
	    NULL) {
		if ((copy = arena_alloc(&rs->arena, blob_size)) != NULL) {
			memcpy(copy, blob, blob_size);
			rs->regex_blob = copy;
			rs->regex_blob_size = blob_size;
		}
		free(blob);
	}
	for (i = 0; i < rs->nregex; i++) {
		regex_free(rs->regex[i]);
		rs->regex[i] = NULL;
	}
	rs->regex = NULL;
	for (i = 0; i < rs->ntables; i++)
		rs->tables[i].ops = NULL;
	if ((root = arena_alloc(&rs->arena, sizeof(*root))) == NULL) {
		rs->nregex = 0;
		ruleset_free(rs);
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	*root = *rs;
	memset(&root->arena, 0, sizeof(root->arena));
	memset(&root->opts, 0, sizeof(root->opts));
	root->default_parts = NULL;
	root->default_nparts = 0;
	root->default_reply = NULL;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, IMAGE_MAGIC, sizeof(h.magic));
	h.version = IMAGE_VERSION;
	h.header_size = sizeof(h);
	snprintf(h.build, sizeof(h.build), "%s", ruleset_image_build());
	h.base = (uint64_t)(uintptr_t)rs->arena.base;
	h.payload_size = rs->arena.used;
	h.root = (uint64_t)((char *)root - rs->arena.base);
	h.payload_sum = image_sum(rs->arena.base, rs->arena.used);
	h.src_dev = (uint64_t)st.st_dev;
	h.src_ino = (uint64_t)st.st_ino;
	h.src_size = (uint64_t)st.st_size;
	h.src_mtime_sec = (int64_t)st.st_mtim.tv_sec;
	h.src_mtime_nsec = (int64_t)st.st_mtim.tv_nsec;
	h.src_ctime_sec = (int64_t)st.st_ctim.tv_sec;
	h.src_ctime_nsec = (int64_t)st.st_ctim.tv_nsec;
	h.header_sum = image_sum(&h, offsetof(struct image_header,
	    header_sum));
	r = install(name, &h, rs->arena.base, err, errsize);
	if (r == 0)
		r = verify(name, &h, err, errsize);
	rs->nregex = 0;		/* freed above */
	ruleset_free(rs);
	return r;
}

/* inside - [p, p + n * size) lies in the mapping (and is aligned,
   unless size is 1: text) */
static int
inside(const struct image_header *h, const void *p, size_t n, size_t size)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)h->base;
	uintptr_t hi = lo + (uintptr_t)h->payload_size;

	if (p == NULL)
		return n == 0;
	if (a < lo || a > hi || (size != 1 && a % sizeof(void *) != 0))
		return 0;
	if (size != 0 && n > (hi - a) / size)
		return 0;
	return 1;
}

/* check_header - the header describes an image this build may use */
static const char *
check_header(const struct image_header *h, const struct stat *img,
    const struct stat *src)
{
	if (memcmp(h->magic, IMAGE_MAGIC, sizeof(h->magic)) != 0)
		return "not a rules image";
	if (h->version != IMAGE_VERSION || h->header_size != sizeof(*h))
		return "another image format version";
	if (h->header_sum != image_sum(h, offsetof(struct image_header,
	    header_sum)))
		return "corrupt header (checksum)";
	if (memchr(h->build, '\0', sizeof(h->build)) == NULL ||
	    strcmp(h->build, ruleset_image_build()) != 0)
		return "written by another build of the rules engine; "
		    "run rulecheck -C again";
	if (h->base != (uint64_t)IMAGE_BASE ||
	    h->payload_size > IMAGE_RESERVE ||
	    (uint64_t)img->st_size != IMAGE_PAYLOAD + h->payload_size ||
	    h->root > h->payload_size ||
	    h->payload_size - h->root < sizeof(struct ruleset) ||
	    h->root % sizeof(void *) != 0)
		return "corrupt (sizes)";
	if (!same_source(h, src))
		return "stale: the rules file changed after rulecheck -C";
	return NULL;
}

/* check_root - the ruleset's own arrays lie inside the image */
static const char *
check_root(const struct image_header *h, const struct ruleset *root)
{
	size_t i;

	if (!inside(h, root->rules, root->nrules, sizeof(*root->rules)) ||
	    !inside(h, root->tables, root->ntables, sizeof(*root->tables)) ||
	    !inside(h, root->regex_tok, root->nregex,
	    sizeof(*root->regex_tok)) ||
	    !inside(h, root->index, root->index != NULL, 1) ||
	    root->index == NULL)
		return "corrupt (bounds)";
	for (i = 0; i < root->ntables; i++)
		if (!inside(h, root->tables[i].path, 1, 1) ||
		    memchr(root->tables[i].path, '\0', (size_t)(h->base +
		    h->payload_size - (uintptr_t)root->tables[i].path)) ==
		    NULL)
			return "corrupt (table)";
	if (root->regex_blob != NULL && !inside(h, root->regex_blob,
	    root->regex_blob_size, 1))
		return "corrupt (regex block)";
	/* The regex tokens are checked when they are read: only if the
	   block cannot be decoded (bind_process); reading them here would
	   fault in a page of the mapping for each. */
	return NULL;
}

/* check_regex_tok - a regex token of the mapping, before it is read */
static const char *
check_regex_tok(const struct ruleset *rs, const struct token *t)
{
	uintptr_t base = (uintptr_t)rs->image_base;
	uintptr_t end = base + rs->image_size;

	if ((uintptr_t)t < base || (uintptr_t)t > end - sizeof(*t) ||
	    (uintptr_t)t % _Alignof(struct token) != 0 ||
	    t->kind != TOK_REGEX || (uintptr_t)t->pattern < base ||
	    (uintptr_t)t->pattern >= end ||
	    t->pattern_len > end - (uintptr_t)t->pattern ||
	    t->regex_no >= rs->nregex)
		return "corrupt (regex)";
	return NULL;
}

/* bind_process - this process's own parts of a mapped ruleset; NULL on
   success, else why not */
static const char *
bind_process(struct ruleset *rs, const char *path,
    const struct rule_options *opts, char *why, size_t whysize)
{
	struct table_ref *t;
	const char *reply;
	char err[200];
	size_t i, n;

	if (opts != NULL)
		rs->opts = *opts;
	else {
		memset(&rs->opts, 0, sizeof(rs->opts));
		rs->opts.default_action = RULE_ALLOW;
	}
	if (rs->opts.no_index)
		rs->index = NULL;
	reply = rs->opts.default_reply != NULL ? rs->opts.default_reply :
	    RULE_ORIGINAL_REPLY;
	if ((rs->path = arena_strndup(&rs->arena, path, strlen(path))) ==
	    NULL || (rs->default_reply = arena_strndup(&rs->arena, reply,
	    strlen(reply))) == NULL)
		return "out of memory";
	if (reply_compile(&rs->arena, rs->default_reply, &rs->default_parts,
	    &rs->default_nparts, err, sizeof(err)) == -1) {
		snprintf(why, whysize, "default reply: %s", err);
		return why;
	}
	if (rs->ntables > 0) {
		if ((t = arena_array(&rs->arena, rs->ntables,
		    sizeof(*t))) == NULL)
			return "out of memory";
		memcpy(t, rs->tables, rs->ntables * sizeof(*t));
		for (i = 0; i < rs->ntables; i++) {
			/* Nothing of another process's ruleset_share(). */
			t[i].shared = NULL;
			memset(&t[i].shared_id, 0, sizeof(t[i].shared_id));
			t[i].is_share_failed = 0;
			if ((t[i].ops = rule_table_ops(t[i].kind,
			    t[i].path)) == NULL)
				return "a table kind this build lacks";
		}
		rs->tables = t;
	}
	/* The regexes: this process's array, not the mapping's tokens. */
	n = rs->nregex;
	rs->nregex = 0;		/* ruleset_free() frees so many */
	if (n == 0)
		return NULL;
	if ((rs->regex = arena_array(&rs->arena, n, sizeof(*rs->regex))) ==
	    NULL)
		return "out of memory";
	memset(rs->regex, 0, n * sizeof(*rs->regex));
	if (rs->regex_blob != NULL && regex_deserialize(rs->regex_blob,
	    rs->regex_blob_size, rs->regex, n) == 0) {
		rs->nregex = n;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		const struct token *tok = rs->regex_tok[i];
		const char *bad;

		rs->nregex = n;
		if ((bad = check_regex_tok(rs, tok)) != NULL)
			return bad;
		if (rs->regex[tok->regex_no] != NULL)
			return "corrupt (regex number)";
		rs->regex[tok->regex_no] = regex_compile(tok->pattern,
		    tok->pattern_len, err, sizeof(err));
		rs->nregex = n;
		if (rs->regex[tok->regex_no] == NULL) {
			snprintf(why, whysize, "regex /%.60s/: %s",
			    tok->pattern, err);
			return why;
		}
	}
	return NULL;
}

/* ruleset_image_load - map path.image if it may be used */
struct ruleset *
ruleset_image_load(const char *path, const struct rule_options *opts,
    unsigned int trusted_uid, char *why, size_t whysize)
{
	struct image_header h;
	struct stat img, src;
	struct ruleset *rs;
	const char *bad;
	char name[PATH_MAX];
	void *map;
	ssize_t n;
	int fd;

	why[0] = '\0';
	if (image_name(path, name, sizeof(name)) == -1)
		return NULL;
	if ((fd = open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno != ENOENT)
			snprintf(why, whysize, "%s", strerror(errno));
		return NULL;
	}
	bad = NULL;
	if (fstat(fd, &img) == -1 || stat(path, &src) == -1)
		snprintf(why, whysize, "%s", strerror(errno));
	else if (!S_ISREG(img.st_mode))
		bad = "not a regular file";
	else if (img.st_uid != trusted_uid)
		bad = trusted_uid == 0 ? "not owned by root" :
		    "not owned by the trusted user";
	else if ((img.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		bad = "writable by group or others";
	else if (img.st_size < IMAGE_PAYLOAD)
		bad = "truncated";
	else if ((n = pread(fd, &h, sizeof(h), 0)) != (ssize_t)sizeof(h))
		bad = n == -1 ? strerror(errno) : "truncated";
	else
		bad = check_header(&h, &img, &src);
	if (bad != NULL || why[0] != '\0') {
		if (bad != NULL)
			snprintf(why, whysize, "%s", bad);
		close(fd);
		return NULL;
	}
	/* Read-only from the start: what a process binds is its own
	   memory. (MAP_POPULATE was measured: no faster.) */
	map = mmap((void *)(uintptr_t)h.base, (size_t)h.payload_size,
	    PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE, fd,
	    IMAGE_PAYLOAD);
	close(fd);
	if (map == MAP_FAILED) {
		snprintf(why, whysize, "cannot map it at its address: %s",
		    strerror(errno));
		return NULL;
	}
	if (map != (void *)(uintptr_t)h.base) {
		munmap(map, (size_t)h.payload_size);
		snprintf(why, whysize, "its address is taken");
		return NULL;
	}
	if (opts != NULL && opts->verify_image &&
	    image_sum(map, (size_t)h.payload_size) != h.payload_sum)
		bad = "corrupt (its checksum does not match)";
	else
		bad = check_root(&h, (const struct ruleset *)((char *)map +
		    h.root));
	if (bad != NULL) {
		munmap(map, (size_t)h.payload_size);
		snprintf(why, whysize, "%s", bad);
		return NULL;
	}
	if ((rs = malloc(sizeof(*rs))) == NULL) {
		munmap(map, (size_t)h.payload_size);
		snprintf(why, whysize, "out of memory");
		return NULL;
	}
	memcpy(rs, (char *)map + h.root, sizeof(*rs));
	arena_init(&rs->arena);
	rs->image_base = map;
	rs->image_size = (size_t)h.payload_size;
	if ((bad = bind_process(rs, path, opts, why, whysize)) != NULL) {
		if (bad != why)
			snprintf(why, whysize, "%s", bad);
		ruleset_free(rs);
		return NULL;
	}
	return rs;
}

/* rule_image_unmap - release the mapping */
void
rule_image_unmap(struct ruleset *rs)
{
	munmap(rs->image_base, rs->image_size);
	rs->image_base = NULL;
	rs->image_size = 0;
}
