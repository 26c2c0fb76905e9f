/* cmd.h - SMTP verbs, and the syntax of their arguments */
/*
 * Pure functions over (pointer, length): no state, no allocation. The
 * session (session.c) decides what a command means in its state; this
 * module only says what the client wrote and whether it is well formed
 * (RFC 5321 4.1.1, 4.1.2; RFC 1870 SIZE; RFC 6152 BODY).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef SMTPD_CMD_H
#define SMTPD_CMD_H

#include <stddef.h>

#include "smtpd_limits.h"

enum cmd_verb {
	CMD_UNKNOWN,
	CMD_HELO, CMD_EHLO, CMD_MAIL, CMD_RCPT, CMD_DATA, CMD_RSET,
	CMD_NOOP, CMD_QUIT, CMD_VRFY, CMD_HELP,
	CMD_NOTIMPL	/* known verbs we do not offer: EXPN, AUTH, ... */
};

struct cmd {
	enum cmd_verb verb;
	const char *arg;	/* after the verb and blanks; no NUL end */
	size_t arglen;		/* trailing blanks removed */
};

/*
 * cmd_parse - split a command line (no CRLF) into verb and argument.
 * The verb is the letters up to a blank or the end, case-insensitive;
 * "HELOfoo" or a leading blank is CMD_UNKNOWN.
 */
void cmd_parse(const char *line, size_t len, struct cmd *c);

/* cmd_verb_name - "HELO", "MAIL", ... for logs */
const char *cmd_verb_name(enum cmd_verb verb);

enum cmd_path_status {
	CMD_PATH_OK,
	CMD_PATH_SYNTAX,	/* 501 5.5.4 (no "FROM:"/"TO:") */
	CMD_PATH_BAD,		/* 501 5.1.7 / 5.1.3: not an address */
	CMD_PATH_LONG		/* 501 5.1.x: over SMTPD_PATH_MAX etc. */
};

/*
 * cmd_path - parse "FROM:<path> params" (keyword "FROM:") or
 * "TO:<path> params" (keyword "TO:"). Blanks after the colon and a path
 * without <> are tolerated; a source route (<@a,@b:u@d>) is dropped. The
 * path is written to out as "<local@domain>" (or "<>" when is_null_ok,
 * or "<Postmaster>" spelled as given when is_postmaster_ok). *params
 * and *paramslen get what follows the path, blanks skipped.
 */
enum cmd_path_status cmd_path(const char *arg, size_t len,
    const char *keyword, int is_null_ok, int is_postmaster_ok,
    char out[SMTPD_PATH_MAX + 1], const char **params, size_t *paramslen);

struct cmd_mail_params {
	int has_size;
	unsigned long long size;	/* SIZE=; saturates at ULLONG_MAX */
	int is_8bitmime;		/* BODY=8BITMIME */
};

enum cmd_param_status {
	CMD_PARAM_OK,
	CMD_PARAM_SYNTAX,	/* 501 5.5.4: malformed or repeated */
	CMD_PARAM_UNKNOWN	/* 555 5.5.4: not supported */
};

/* cmd_mail_params - parse MAIL parameters (SIZE, BODY) */
enum cmd_param_status cmd_mail_params(const char *p, size_t len,
    struct cmd_mail_params *mp);

/*
 * cmd_helo_ok - 1 if the HELO/EHLO argument may be used: 1 to
 * SMTPD_HELO_MAX bytes of printable ASCII (0x21..0x7e, blanks inside
 * allowed for old clients); else 0.
 */
int cmd_helo_ok(const char *arg, size_t len);

/* cmd_is_text - 1 if line[0..len) has no control byte other than tab,
   no DEL and no 8-bit byte */
int cmd_is_text(const char *line, size_t len);

#endif
