/* fwd_conf.h - smtpfwdd's settings, shared by all of its modules */
/*
 * Filled once by main() from the command line (docs/smtpfwdd.8) and
 * read-only afterwards; every field is already range-checked against
 * fwd_limits.h. Worker processes get it by fork().
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef FWD_CONF_H
#define FWD_CONF_H

#include <stddef.h>

#include "fwd_limits.h"
#include "sanitize.h"

/* Where messages go: sendmail (-s) or a Maildir (-m). */
enum fwd_target_kind {
	FWD_TARGET_SENDMAIL,
	FWD_TARGET_MAILDIR
};

struct fwd_conf {
	const char *spooldir;		/* -d */
	enum fwd_target_kind target;
	const char *sendmail;		/* -s, absolute */
	const char *maildir;		/* -m */
	const char *extra_args[FWD_EXTRA_ARGS_MAX];	/* -a, in order */
	size_t nextra;
	/* sendmail's whole environment: PATH, then -e settings, then NULL */
	const char *envp[FWD_ENV_MAX + 2];
	unsigned int batch;		/* -b */
	unsigned int children;		/* -M */
	unsigned int retry_first;	/* -r, seconds */
	unsigned int retry_cap;		/* -R, seconds */
	unsigned int lifetime;		/* -L, seconds */
	unsigned int timeout;		/* -t, seconds */
	unsigned int scan;		/* -P, seconds */
	const struct sanitize_limits *lim;
};

#endif
