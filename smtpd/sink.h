/* sink.h - the session's spool sink, bound to lib/spool.c */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SMTPD_SINK_H
#define SMTPD_SINK_H

#include "../lib/spool.h"
#include "session.h"

struct sink_spool {
	const char *spooldir;		/* inside the jail */
	struct spool_writer w;
};

/* sink_spool_bind - make sink write through st into spooldir */
void sink_spool_bind(struct sink_spool *st, const char *spooldir,
    struct spool_sink *sink);

#endif
