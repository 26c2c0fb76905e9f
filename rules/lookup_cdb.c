/* lookup_cdb.c - CDB tables through tinycdb */
/*
 * The only file that includes <cdb.h>. libowfat also defines cdb_*
 * functions with other structs; the link order (-lcdb before libowfat.a)
 * and tests/link/cdb-is-tinycdb keep these calls on tinycdb, and
 * library() reports the shared object that cdb_find came from.
 * tinycdb validates every offset against the mapped size when it reads
 * a record, but takes any file of 2048 bytes or more: a file of zeros
 * (one a crash left behind) would answer "not found" to every key. So
 * the table of contents is checked once when the file is opened.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cdb.h>

#include "lookup.h"

struct cdb_table {
	int fd;
	struct cdb db;
};

#define CDB_TOC_BYTES	2048	/* 256 (position, slots) pairs */

/* toc_valid - 1 if every hash table the header names lies inside the
   file, after the header */
static int
toc_valid(const struct cdb *db)
{
	const unsigned char *toc = cdb_get(db, CDB_TOC_BYTES, 0);
	unsigned int i, pos, slots, size = db->cdb_fsize;

	if (toc == NULL)
		return 0;
	for (i = 0; i < CDB_TOC_BYTES; i += 8) {
		pos = cdb_unpack(toc + i);
		slots = cdb_unpack(toc + i + 4);
		if (pos < CDB_TOC_BYTES || pos > size ||
		    slots > (size - pos) / 8)
			return 0;
	}
	return 1;
}

/* table_open - open and map a CDB file */
static void *
table_open(const char *path, char *err, size_t errsize)
{
	struct cdb_table *t;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	if ((t->fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errsize, "cannot open CDB file %s: %s", path,
		    strerror(errno));
		free(t);
		return NULL;
	}
	if (cdb_init(&t->db, t->fd) != 0) {
		snprintf(err, errsize, "cannot read CDB file %s: %s", path,
		    errno == EPROTO ? "not a CDB file" : strerror(errno));
		close(t->fd);
		free(t);
		return NULL;
	}
	if (!toc_valid(&t->db)) {
		snprintf(err, errsize, "cannot read CDB file %s: not a CDB "
		    "file (its table of contents points outside it)", path);
		cdb_free(&t->db);
		close(t->fd);
		free(t);
		return NULL;
	}
	return t;
}

/* table_find - look a key up */
static enum lookup_result
table_find(void *handle, const char *key, size_t keylen, char *value,
    size_t valuesize, char *err, size_t errsize)
{
	struct cdb_table *t = handle;
	unsigned int len;
	int r;

	if (keylen > 0xffff) {
		return LK_NOTFOUND;
	}
	r = cdb_find(&t->db, key, (unsigned int)keylen);
	if (r < 0) {
		snprintf(err, errsize, "corrupt CDB file");
		return LK_TEMPFAIL;
	}
	if (r == 0)
		return LK_NOTFOUND;
	len = cdb_datalen(&t->db);
	if (valuesize > 0) {
		if (len > valuesize - 1)
			len = (unsigned int)valuesize - 1;
		if (cdb_read(&t->db, value, len, cdb_datapos(&t->db)) != 0) {
			snprintf(err, errsize, "corrupt CDB file");
			return LK_TEMPFAIL;
		}
		value[len] = '\0';
	}
	return LK_FOUND;
}

/* table_close - unmap and close */
static void
table_close(void *handle)
{
	struct cdb_table *t = handle;

	cdb_free(&t->db);
	close(t->fd);
	free(t);
}

/* table_library - the shared object that provides cdb_find */
static const char *
table_library(void)
{
	Dl_info info;

	if (dladdr((void *)cdb_find, &info) != 0 && info.dli_fname != NULL)
		return info.dli_fname;
	return "unknown";
}

const struct lookup_ops lookup_cdb_ops = {
	.name = "CDB",
	.open = table_open,
	.find = table_find,
	.find_addr = NULL,
	.fd = NULL,		/* the file is mapped: nothing reads fd */
	.close = table_close,
	.library = table_library,
};
