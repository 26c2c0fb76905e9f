/* lookup.h - one interface for every database a rule can name */
/*
 * A backend is a struct lookup_ops in the registry (lookup.c). The
 * rules engine opens a table once per session (or uses the one a
 * daemon master opened for all, rule_share.c) and asks it for keys in
 * the search order of rule_key.c (string backends) or for an address
 * (address backends such as IPBLOCK). Every answer is three-valued:
 * found / not found / temporary failure, never folded together.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef GK_LOOKUP_H
#define GK_LOOKUP_H

#include <stddef.h>

#include "../lib/net_addr.h"

enum lookup_result {
	LK_FOUND,
	LK_NOTFOUND,
	LK_TEMPFAIL		/* unreadable, corrupt, I/O error: a 4xx */
};

#define LOOKUP_ERR_MAX	256

struct lookup_ops {
	const char *name;	/* as written in rules: "CDB", "HASH" */
	/* open - open path read-only; NULL with err filled on failure */
	void *(*open)(const char *path, char *err, size_t errsize);
	/* find - look key (not NUL-terminated) up; on LK_FOUND copy the
	   value, truncated and NUL-terminated, into value */
	enum lookup_result (*find)(void *handle, const char *key,
	    size_t keylen, char *value, size_t valuesize, char *err,
	    size_t errsize);
	/* find_addr - for address backends (most specific entry); NULL
	   for string backends */
	enum lookup_result (*find_addr)(void *handle,
	    const struct net_addr *addr, char *value, size_t valuesize,
	    char *err, size_t errsize);
	/* fd - the descriptor the handle reads through, or -1; NULL for
	   backends that keep none (memory maps) */
	int (*fd)(void *handle);
	/* close - release the handle */
	void (*close)(void *handle);
	/* library - what implements the backend, for rulecheck -V */
	const char *(*library)(void);
};

/* lookup_ops_by_name - the backend called name ("CDB"), or NULL */
const struct lookup_ops *lookup_ops_by_name(const char *name);

/* lookup_ops_for_path - the backend for a file by its name: ".cdb" is
   CDB, anything else Berkeley DB hash (VALIDUSERS=) */
const struct lookup_ops *lookup_ops_for_path(const char *path);

/* lookup_ops_all - the registry, NULL-terminated */
const struct lookup_ops *const *lookup_ops_all(void);

extern const struct lookup_ops lookup_cdb_ops;
extern const struct lookup_ops lookup_db_ops;
extern const struct lookup_ops lookup_ipblock_ops;

#endif
