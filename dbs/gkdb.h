/* gkdb.h - build and query IPBLOCK, CDB and hash tables (the gkdb tools) */
/*
 * The tools are thin mains over this module so the tests can drive it.
 * Building: text in, one file out, through outfile.h (temporary name,
 * fsync, rename, fsync of the directory); nothing is installed when a
 * source has bad lines unless the caller asks to keep going. Querying:
 * through the lookup_ops of the rules engine's registry and the key
 * search orders of rules/rule_key.c, so the answer is the engine's.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef GK_GKDB_H
#define GK_GKDB_H

#include <stddef.h>

#include "../rules/lookup.h"
#include "../rules/iptree.h"
#include "../rules/rules.h"

enum gkdb_type {
	GKDB_IPBLOCK,
	GKDB_CDB,
	GKDB_HASH
};

#define GKDB_KEY_MAX	1024	/* bytes in a CDB/HASH key (lookup_db.c) */
#define GKDB_LINE_MAX	65536	/* bytes in a "key value" line */
#define GKDB_ERRORS_MAX	100	/* bad lines reported before giving up */

/* gkdb_type_parse - "ipblock", "cdb", "hash" (any case); 0 or -1 */
int gkdb_type_parse(const char *name, enum gkdb_type *type);

/* gkdb_type_name - "IPBLOCK", "CDB", "HASH" (the rules' spelling) */
const char *gkdb_type_name(enum gkdb_type type);

/* Called for each bad line ("file:line: reason"), and with line 0 for
   errors about a whole file. */
typedef void gkdb_error_fn(void *arg, const char *file, unsigned long line,
    const char *reason);

struct gkdb_build_options {
	unsigned int max_errors;	/* 0: GKDB_ERRORS_MAX */
	int keep_going;		/* install even if some lines were bad */
	gkdb_error_fn *error_fn;	/* NULL: stderr */
	void *error_arg;
};

struct gkdb_build_result {
	size_t records;		/* CDB/HASH: records written */
	size_t duplicates;	/* CDB/HASH: later duplicate keys skipped */
	unsigned int bad_lines;
	size_t bytes;		/* size of the file installed */
	struct iptree_stats ipblock;	/* IPBLOCK: the builder's counts */
};

enum gkdb_build_status {
	GKDB_BUILT = 0,		/* the new file is in place */
	GKDB_BAD_INPUT = 1,	/* bad lines: nothing installed */
	GKDB_FAILED = 2		/* a system error: nothing installed */
};

/*
 * gkdb_build - compile ninputs text files ("-" is standard input) into
 * output. Returns a gkdb_build_status; the reasons went to error_fn.
 */
enum gkdb_build_status gkdb_build(enum gkdb_type type, const char *output,
    const char *const *inputs, size_t ninputs,
    const struct gkdb_build_options *opts, struct gkdb_build_result *res);

/*
 * gkdb_detect - the type of an existing file: the IPBLOCK magic, else a
 * ".cdb" name, else Berkeley DB hash (as lookup_ops_for_path()).
 * 0, or -1 with err filled if the file cannot be read.
 */
int gkdb_detect(const char *path, enum gkdb_type *type, char *err,
    size_t errsize);

/* Which field's search order a key is looked up with. */
enum gkdb_field {
	GKDB_FIELD_AUTO,	/* address: source; has '@' or "<>": from/to;
				   else a host name in the source field */
	GKDB_FIELD_SOURCE,	/* the client (address, prefixes, name) */
	GKDB_FIELD_ADDRESS,	/* from/to with CDB= or HASH= */
	GKDB_FIELD_VALIDUSERS	/* from/to with VALIDUSERS= */
};

struct gkdb_table;

/* gkdb_open - open path as type through the registry; NULL + err */
struct gkdb_table *gkdb_open(enum gkdb_type type, const char *path,
    char *err, size_t errsize);

/* gkdb_close - close (NULL allowed) */
void gkdb_close(struct gkdb_table *t);

struct gkdb_answer {
	enum lookup_result result;
	char entry[2 * NET_ADDR_TEXT + 8 > GKDB_KEY_MAX + 1 ?
	    2 * NET_ADDR_TEXT + 8 : GKDB_KEY_MAX + 1];	/* what matched */
	char value[RULE_VALUE_MAX];	/* its value, as %V would be */
	char err[LOOKUP_ERR_MAX];	/* LK_TEMPFAIL: why */
};

/*
 * gkdb_query - look key up as the rules engine would for field. name,
 * if not NULL, is the client's verified name (source field, CDB/HASH).
 * Returns 0 with the answer, or -1 with a->err filled if the key cannot
 * be asked of this table (not an address for IPBLOCK, too long).
 */
int gkdb_query(struct gkdb_table *t, enum gkdb_field field, const char *key,
    const char *name, struct gkdb_answer *a);

/*
 * gkdb_check - IPBLOCK: iptree_verify() and the counts; CDB/HASH: the
 * file opens. 0, or -1 with err filled.
 */
int gkdb_check(struct gkdb_table *t, struct iptree_stats *stats, char *err,
    size_t errsize);

#endif
