/* tablew_cdb.c - write CDB files with tinycdb's cdb_make */
/*
 * The only file of dbs/ that includes <cdb.h>. The link order of the
 * Makefile (-lcdb before libowfat.a) keeps cdb_make_* on tinycdb, as
 * for the reader; tests/golden/dbs checks the files with tinycdb's own
 * cdb tool.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cdb.h>

#include "../lib/outfile.h"
#include "tablew.h"

struct cdb_writer {
	struct tablew w;	/* first */
	int fd;
	struct cdb_make cm;
};

/* cdbw_put - one CDB record */
static int
cdbw_put(struct tablew *tw, const char *key, size_t klen, const char *val,
    size_t vlen, char *err, size_t errsize)
{
	struct cdb_writer *w = (struct cdb_writer *)tw;

	if (klen > 0x7fffffffUL || vlen > 0x7fffffffUL ||
	    cdb_make_add(&w->cm, key, (unsigned)klen, val,
	    (unsigned)vlen) != 0) {
		snprintf(err, errsize, "cannot add a CDB record: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* cdbw_finish - write the hash tables and close */
static int
cdbw_finish(struct tablew *tw, char *err, size_t errsize)
{
	struct cdb_writer *w = (struct cdb_writer *)tw;
	int r = 0;

	if (cdb_make_finish(&w->cm) != 0) {
		snprintf(err, errsize, "cannot finish the CDB file: %s",
		    strerror(errno));
		r = -1;
	}
	if (close(w->fd) == -1 && r == 0) {
		snprintf(err, errsize, "cannot close the CDB file: %s",
		    strerror(errno));
		r = -1;
	}
	free(w);
	return r;
}

/* cdbw_abort - close without finishing */
static void
cdbw_abort(struct tablew *tw)
{
	struct cdb_writer *w = (struct cdb_writer *)tw;

	(void)cdb_make_finish(&w->cm);	/* frees its tables */
	close(w->fd);
	free(w);
}

/* tablew_cdb_open - start a CDB file */
struct tablew *
tablew_cdb_open(const char *tmp, char *err, size_t errsize)
{
	struct cdb_writer *w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	w->w.put = cdbw_put;
	w->w.finish = cdbw_finish;
	w->w.abort = cdbw_abort;
	if ((w->fd = outfile_create(tmp)) == -1) {
		snprintf(err, errsize, "cannot create %s: %s", tmp,
		    strerror(errno));
		free(w);
		return NULL;
	}
	if (cdb_make_start(&w->cm, w->fd) != 0) {
		snprintf(err, errsize, "cannot start CDB file %s: %s", tmp,
		    strerror(errno));
		close(w->fd);
		free(w);
		return NULL;
	}
	return &w->w;
}
