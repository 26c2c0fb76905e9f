/* tablew_hash.c - write Berkeley DB hash files */
/*
 * The only file of dbs/ that includes <db.h>. A DB_HASH file without an
 * environment, created exclusively, with a cache big enough that a list
 * of a million keys does not thrash, and sized up front from the number
 * of keys when the caller knows it.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <db.h>

#include "tablew.h"

#define CACHE_BYTES	(64 * 1024 * 1024)

struct hash_writer {
	struct tablew w;	/* first */
	DB *db;
};

/* hashw_put - one record */
static int
hashw_put(struct tablew *tw, const char *key, size_t klen, const char *val,
    size_t vlen, char *err, size_t errsize)
{
	struct hash_writer *w = (struct hash_writer *)tw;
	DBT k, d;
	int r;

	if (klen > 0xffffffffUL || vlen > 0xffffffffUL) {
		snprintf(err, errsize, "record too large");
		return -1;
	}
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)key;
	k.size = (u_int32_t)klen;
	d.data = (void *)val;
	d.size = (u_int32_t)vlen;
	if ((r = w->db->put(w->db, NULL, &k, &d, 0)) != 0) {
		snprintf(err, errsize, "cannot add a Berkeley DB record: %s",
		    db_strerror(r));
		return -1;
	}
	return 0;
}

/* hashw_finish - flush and close */
static int
hashw_finish(struct tablew *tw, char *err, size_t errsize)
{
	struct hash_writer *w = (struct hash_writer *)tw;
	int r;

	r = w->db->close(w->db, 0);
	free(w);
	if (r != 0) {
		snprintf(err, errsize, "cannot close the Berkeley DB file: %s",
		    db_strerror(r));
		return -1;
	}
	return 0;
}

/* hashw_abort - close without caring */
static void
hashw_abort(struct tablew *tw)
{
	struct hash_writer *w = (struct hash_writer *)tw;

	(void)w->db->close(w->db, DB_NOSYNC);
	free(w);
}

/* tablew_hash_open - create a hash file */
struct tablew *
tablew_hash_open(const char *tmp, char *err, size_t errsize)
{
	struct hash_writer *w;
	int r;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	w->w.put = hashw_put;
	w->w.finish = hashw_finish;
	w->w.abort = hashw_abort;
	if ((r = db_create(&w->db, NULL, 0)) != 0) {
		snprintf(err, errsize, "cannot create a Berkeley DB handle: %s",
		    db_strerror(r));
		free(w);
		return NULL;
	}
	if ((r = w->db->set_cachesize(w->db, 0, CACHE_BYTES, 1)) != 0 ||
	    (r = w->db->open(w->db, NULL, tmp, NULL, DB_HASH,
	    DB_CREATE | DB_EXCL, 0644)) != 0) {
		snprintf(err, errsize, "cannot create Berkeley DB file %s: %s",
		    tmp, db_strerror(r));
		w->db->close(w->db, DB_NOSYNC);
		free(w);
		return NULL;
	}
	return &w->w;
}
