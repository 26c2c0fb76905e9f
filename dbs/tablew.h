/* tablew.h - write CDB and Berkeley DB hash tables (the builders' half) */
/*
 * The readers are rules/lookup_cdb.c and rules/lookup_db.c; these are
 * the writers, one file per library: tablew_cdb.c is the only file of
 * dbs/ that includes <cdb.h> (tinycdb), tablew_hash.c the only one that
 * includes <db.h>. Keys and values are written as given, without a
 * trailing NUL. The caller removes duplicate keys first.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef GK_TABLEW_H
#define GK_TABLEW_H

#include <stddef.h>

/* A table being written: the backend's struct starts with this. */
struct tablew {
	/* put - add one record; 0, or -1 with err filled */
	int (*put)(struct tablew *w, const char *key, size_t klen,
	    const char *val, size_t vlen, char *err, size_t errsize);
	/* finish - complete and close the file (the caller fsyncs and
	   renames it with outfile_commit), free w; 0, or -1 with err */
	int (*finish)(struct tablew *w, char *err, size_t errsize);
	/* abort - close and free without completing */
	void (*abort)(struct tablew *w);
};

/*
 * tablew_cdb_open, tablew_hash_open - create the table at tmp, which
 * must not exist. NULL with err filled on failure.
 */
struct tablew *tablew_cdb_open(const char *tmp, char *err, size_t errsize);
struct tablew *tablew_hash_open(const char *tmp, char *err, size_t errsize);

#endif
