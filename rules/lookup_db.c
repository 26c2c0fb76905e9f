/* lookup_db.c - Berkeley DB hash tables */
/*
 * The only file of rules/ that includes <db.h>. Tables are opened
 * read-only as DB_HASH (or DB_UNKNOWN, so a btree works too) without an
 * environment. Keys are tried as given, then with a trailing NUL, which
 * is how Postfix's postmap and sendmail's makemap write them.
 *
 * A plain hash file is read by hashfile.c: a descriptor and the meta
 * page, where libdb would build a private environment for the handle,
 * which in a process that serves one session costs more than all its
 * lookups. Any other file is opened by libdb; so is a plain file, for
 * one lookup, when hashfile.c does not recognise the pages that lookup
 * needs (duplicates on pages of their own, or damage). Either way
 * libdb gives the answer, or the error, it always gave.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <db.h>

#include "hashfile.h"
#include "lookup.h"

#define KEY_MAX	1024
#define VALUE_MAX	1024	/* bytes of a value kept (the rules keep 255) */

struct table {
	DB *db;			/* libdb's handle, or NULL: */
	struct hashfile hf;	/* the file read by hashfile.c */
	char path[];		/* to ask libdb when hashfile.c cannot */
};

/* quiet - Berkeley DB's error callback: say nothing on stderr */
static void
quiet(const DB_ENV *env, const char *prefix, const char *msg)
{
	(void)env;
	(void)prefix;
	(void)msg;
}

/* libdb_open - a libdb handle on path, or NULL and err */
static DB *
libdb_open(const char *path, char *err, size_t errsize)
{
	DB *db;
	int r;

	if ((r = db_create(&db, NULL, 0)) != 0) {
		snprintf(err, errsize, "cannot create Berkeley DB handle: %s",
		    db_strerror(r));
		return NULL;
	}
	/* The library's own messages go nowhere: errors are returned. */
	db->set_errcall(db, quiet);
	r = db->open(db, NULL, path, NULL, DB_UNKNOWN, DB_RDONLY, 0);
	if (r != 0) {
		snprintf(err, errsize, "cannot open Berkeley DB file %s: %s",
		    path, db_strerror(r));
		db->close(db, 0);
		return NULL;
	}
	return db;
}

/* table_open - open a Berkeley DB file read-only */
static void *
table_open(const char *path, char *err, size_t errsize)
{
	size_t len = strlen(path) + 1;
	struct table *t;
	int fd;

	if ((t = calloc(1, sizeof(*t) + len)) == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	memcpy(t->path, path, len);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errsize, "cannot open Berkeley DB file %s: %s",
		    path, strerror(errno));
		free(t);
		return NULL;
	}
	if (hashfile_init(&t->hf, fd) == 0)
		return t;
	hashfile_fini(&t->hf);
	close(fd);
	if ((t->db = libdb_open(path, err, errsize)) == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

/* get - one key as is */
static int
get(DB *db, const char *key, size_t keylen, DBT *data)
{
	DBT k;

	memset(&k, 0, sizeof(k));
	memset(data, 0, sizeof(*data));
	k.data = (void *)key;
	k.size = (u_int32_t)keylen;
	return db->get(db, NULL, &k, data, 0);
}

/*
 * value_of - a found value for the rules: have bytes of a value whole
 * bytes long, without the trailing NUL postmap writes, cut to fit
 */
static void
value_of(const char *data, size_t have, size_t whole, char *value,
    size_t valuesize)
{
	size_t len = have;

	if (have == whole && len > 0 && data[len - 1] == '\0')
		len--;
	if (len > valuesize - 1)
		len = valuesize - 1;
	memcpy(value, data, len);
	value[len] = '\0';
}

/* libdb_find - table_find through libdb */
static enum lookup_result
libdb_find(DB *db, const char *key, size_t keylen, char *value,
    size_t valuesize, char *err, size_t errsize)
{
	char buf[KEY_MAX + 1];
	DBT data;
	int r;

	r = get(db, key, keylen, &data);
	if (r == DB_NOTFOUND) {
		memcpy(buf, key, keylen);
		buf[keylen] = '\0';
		r = get(db, buf, keylen + 1, &data);
	}
	if (r == DB_NOTFOUND || r == DB_KEYEMPTY)
		return LK_NOTFOUND;
	if (r != 0) {
		snprintf(err, errsize, "Berkeley DB lookup failed: %s",
		    db_strerror(r));
		return LK_TEMPFAIL;
	}
	if (valuesize > 0)
		value_of(data.data, data.size, data.size, value, valuesize);
	return LK_FOUND;
}

/* deferred - one lookup that hashfile.c leaves to libdb */
static enum lookup_result
deferred(const struct table *t, const char *key, size_t keylen,
    char *value, size_t valuesize, char *err, size_t errsize)
{
	enum lookup_result r;
	DB *db;

	if ((db = libdb_open(t->path, err, errsize)) == NULL)
		return LK_TEMPFAIL;
	r = libdb_find(db, key, keylen, value, valuesize, err, errsize);
	db->close(db, 0);
	return r;
}

/* table_find - look a key up, without and then with a trailing NUL */
static enum lookup_result
table_find(void *handle, const char *key, size_t keylen, char *value,
    size_t valuesize, char *err, size_t errsize)
{
	struct table *t = handle;
	char buf[KEY_MAX + 1], data[VALUE_MAX];
	enum hashfile_result r;
	size_t n, len;

	if (keylen > KEY_MAX)
		return LK_NOTFOUND;
	if (t->db != NULL)
		return libdb_find(t->db, key, keylen, value, valuesize, err,
		    errsize);
	/* A value that fits whole shows whether it ends in a NUL. */
	n = valuesize < sizeof(data) ? valuesize : sizeof(data);
	r = hashfile_find(&t->hf, key, keylen, data, n, &len);
	if (r == HASHFILE_NOTFOUND) {
		memcpy(buf, key, keylen);
		buf[keylen] = '\0';
		r = hashfile_find(&t->hf, buf, keylen + 1, data, n, &len);
	}
	if (r == HASHFILE_DEFER)
		return deferred(t, key, keylen, value, valuesize, err,
		    errsize);
	if (r == HASHFILE_DAMAGED) {
		snprintf(err, errsize, "Berkeley DB file %s is damaged: a "
		    "page chain loops", t->path);
		return LK_TEMPFAIL;
	}
	if (r == HASHFILE_NOTFOUND)
		return LK_NOTFOUND;
	if (valuesize > 0)
		value_of(data, len < n ? len : n, len, value, valuesize);
	return LK_FOUND;
}

/* table_close - close the handle */
static void
table_close(void *handle)
{
	struct table *t = handle;

	if (t->db != NULL) {
		t->db->close(t->db, 0);
	} else {
		close(t->hf.fd);
		hashfile_fini(&t->hf);
	}
	free(t);
}

/* table_fd - the descriptor the file is read through */
static int
table_fd(void *handle)
{
	struct table *t = handle;
	int fd;

	if (t->db == NULL)
		return t->hf.fd;
	return t->db->fd(t->db, &fd) == 0 ? fd : -1;
}

/* table_library - the Berkeley DB version */
static const char *
table_library(void)
{
	return db_version(NULL, NULL, NULL);
}

const struct lookup_ops lookup_db_ops = {
	.name = "HASH",
	.open = table_open,
	.find = table_find,
	.find_addr = NULL,
	.fd = table_fd,
	.close = table_close,
	.library = table_library,
};
