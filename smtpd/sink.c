/* sink.c - the session's spool sink, bound to lib/spool.c */
/*
 * Thin glue: the session speaks struct spool_sink, lib/spool.c does the
 * tmp/ -> fsync -> rename -> fsync dance (docs/spool.5).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stddef.h>
#include <string.h>

#include "sink.h"

/* sink_open - spool_open into the configured directory */
static int
sink_open(void *arg, const struct spool_meta *m, char id[SPOOL_ID_MAX + 1])
{
	struct sink_spool *st = arg;

	if (spool_open(&st->w, st->spooldir, m) == -1)
		return -1;
	memcpy(id, st->w.id, sizeof(st->w.id));
	return 0;
}

/* sink_write - spool_write */
static int
sink_write(void *arg, const void *buf, size_t len)
{
	struct sink_spool *st = arg;

	return spool_write(&st->w, buf, len);
}

/* sink_commit - spool_commit: durable, or -1 */
static int
sink_commit(void *arg)
{
	struct sink_spool *st = arg;

	return spool_commit(&st->w);
}

/* sink_abort - spool_abort */
static void
sink_abort(void *arg)
{
	struct sink_spool *st = arg;

	spool_abort(&st->w);
}

/* sink_spool_bind - fill the interface */
void
sink_spool_bind(struct sink_spool *st, const char *spooldir,
    struct spool_sink *sink)
{
	/* All but the 64 KB buffer, which nothing reads before writing:
	   zeroing it would cost every session sixteen fresh pages. */
	memset(&st->w, 0, offsetof(struct spool_writer, buf));
	st->w.fd = st->w.tmp_dirfd = st->w.new_dirfd = st->w.spool_dirfd = -1;
	st->spooldir = spooldir;
	sink->open = sink_open;
	sink->write = sink_write;
	sink->commit = sink_commit;
	sink->abort = sink_abort;
	sink->arg = st;
}
