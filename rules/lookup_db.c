/* lookup_db.c - Berkeley DB hash tables */
/*
 * The only file that includes <db.h>. Tables are opened read-only as
 * DB_HASH (or DB_UNKNOWN, so a btree works too) without an environment.
 * Keys are tried as given, then with a trailing NUL, which is how
 * Postfix's postmap and sendmail's makemap write them.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <db.h>

#include "lookup.h"

#define KEY_MAX	1024

/* quiet - Berkeley DB's error callback: say nothing on stderr */
static void
quiet(const DB_ENV *env, const char *prefix, const char *msg)
{
	(void)env;
	(void)prefix;
	(void)msg;
}

/* table_open - open a Berkeley DB file read-only */
static void *
table_open(const char *path, char *err, size_t errsize)
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

/* table_find - look a key up, without and then with a trailing NUL */
static enum lookup_result
table_find(void *handle, const char *key, size_t keylen, char *value,
    size_t valuesize, char *err, size_t errsize)
{
	DB *db = handle;
	char buf[KEY_MAX + 1];
	DBT data;
	size_t len;
	int r;

	if (keylen > KEY_MAX)
		return LK_NOTFOUND;
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
	if (valuesize > 0) {
		len = data.size;
		if (len > 0 && ((const char *)data.data)[len - 1] == '\0')
			len--;
		if (len > valuesize - 1)
			len = valuesize - 1;
		memcpy(value, data.data, len);
		value[len] = '\0';
	}
	return LK_FOUND;
}

/* table_close - close the handle */
static void
table_close(void *handle)
{
	DB *db = handle;

	db->close(db, 0);
}

/* table_fd - the descriptor libdb reads the file through */
static int
table_fd(void *handle)
{
	DB *db = handle;
	int fd;

	return db->fd(db, &fd) == 0 ? fd : -1;
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
