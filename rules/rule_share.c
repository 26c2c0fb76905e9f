/* rule_share.c - tables and regexes prepared once for forked sessions */
/*
 * See ruleset_share() in rules.h. A daemon master loads the rules and
 * forks a child per connection; without this, every child opens each
 * table the rules name (a Berkeley DB handle builds a private
 * environment; every first call into libdb binds its symbols) and
 * interprets every regex it tries, and the writes that this costs land
 * on pages shared with the master, which the kernel must then copy.
 *
 * The master opens each table once and keeps the handle in the
 * ruleset with the identity of the file it opened. A session uses the
 * inherited handle only while the file at the table's path is still
 * that file (device, inode, size, modification and change times);
 * otherwise it opens its own, as it would without sharing, so a table
 * replaced by gkdb-build is seen by the next session whatever the
 * master has done. Handles are only read after the fork: CDB and
 * IPBLOCK tables are memory maps; a Berkeley DB handle (no
 * environment, read-only) keeps a descriptor, which children must not
 * close (ruleset_shared_fds) and read with pread, so the shared file
 * offset does not matter.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../lib/log.h"
#include "rule_int.h"

/*
 * rule_table_open - open a table, under opts.table_root if one is set
 * (rulecheck on the host reading the paths a jailed smtpd uses)
 */
void *
rule_table_open(const struct ruleset *rs, const struct table_ref *ref,
    char *err, size_t errsize)
{
	char path[4096];

	if (table_path(rs, ref, path, sizeof(path)) == -1) {
		snprintf(err, errsize, "path too long under %s",
		    rs->opts.table_root);
		return NULL;
	}
	return ref->ops->open(path, err, errsize);
}

/* table_path - where a table's file is seen from here; -1 if too long */
int
table_path(const struct ruleset *rs, const struct table_ref *ref,
    char *buf, size_t size)
{
	const char *root = rs->opts.table_root;
	int n;

	if (root == NULL || root[0] == '\0')
		n = snprintf(buf, size, "%s", ref->path);
	else
		n = snprintf(buf, size, "%s/%s", root,
		    ref->path[0] == '/' ? ref->path + 1 : ref->path);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* file_id_of - the identity of the file at a table's path; -1 if none */
static int
file_id_of(const struct ruleset *rs, const struct table_ref *ref,
    struct file_id *id)
{
	char path[4096];
	struct stat sb;

	if (table_path(rs, ref, path, sizeof(path)) == -1 ||
	    stat(path, &sb) == -1)
		return -1;
	memset(id, 0, sizeof(*id));
	id->dev = sb.st_dev;
	id->ino = sb.st_ino;
	id->size = sb.st_size;
	id->mtime = sb.st_mtim;
	id->ctime = sb.st_ctim;
	return 0;
}

/* same_id - two identities name the same unchanged file */
static int
same_id(const struct file_id *a, const struct file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec &&
	    a->ctime.tv_sec == b->ctime.tv_sec &&
	    a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* rule_table_shared - the inherited handle of a table, if still valid */
void *
rule_table_shared(const struct ruleset *rs, const struct table_ref *ref)
{
	struct file_id now;

	if (ref->shared == NULL || file_id_of(rs, ref, &now) == -1 ||
	    !same_id(&now, &ref->shared_id))
		return NULL;
	return ref->shared;
}

/*
 * warm - one lookup of a key no table holds: the library's first calls
 * (symbol binding, buffers, header pages) happen here, once, not in
 * every child on pages the child would then have to copy
 */
static void
warm(const struct table_ref *ref, void *h)
{
	static const char key[] = "\001ruleset_share warm-up";
	char value[RULE_VALUE_MAX], err[LOOKUP_ERR_MAX];
	struct net_addr a;

	if (ref->ops->find_addr != NULL) {
		if (net_addr_parse("192.0.2.1", 9, &a) == 0)
			(void)ref->ops->find_addr(h, &a, value,
			    sizeof(value), err, sizeof(err));
		return;
	}
	(void)ref->ops->find(h, key, sizeof(key) - 1, value, sizeof(value),
	    err, sizeof(err));
}

/* report - a table that cannot be shared, through error_fn, once */
static void
report(const struct ruleset *rs, struct table_ref *ref, const char *err)
{
	if (ref->is_share_failed)
		return;
	ref->is_share_failed = 1;
	if (rs->opts.error_fn != NULL)
		rs->opts.error_fn(rs->opts.error_arg, rs->path, 0, err);
	else
		log_warnx("%s: %s", rs->path, err);
}

/* ruleset_share - open the tables and compile the regexes for children */
unsigned int
ruleset_share(struct ruleset *rs)
{
	char err[LOOKUP_ERR_MAX];
	struct table_ref *ref;
	struct file_id id;
	unsigned int failures = 0;
	size_t i, nfds = 0;
	void *h;

	if (!rs->is_jitted) {
		for (i = 0; i < rs->nregex; i++)
			regex_prepare(rs->regex[i]);
		rs->is_jitted = 1;
		regex_warm(rs->opts.regex_match_limit);
	}
	for (i = 0; i < rs->ntables; i++) {
		ref = &rs->tables[i];
		/* A child keeps at most so many descriptors of them. */
		if (ref->ops->fd != NULL && ++nfds > RULE_SHARE_FDS_MAX)
			continue;
		if (file_id_of(rs, ref, &id) == -1) {
			snprintf(err, sizeof(err), "cannot open %s: %s",
			    ref->path, strerror(errno));
			report(rs, ref, err);
			failures++;
			if (ref->shared != NULL)
				ref->ops->close(ref->shared);
			ref->shared = NULL;
			continue;
		}
		if (ref->shared != NULL && same_id(&id, &ref->shared_id))
			continue;
		if (ref->shared == NULL && ref->is_share_failed &&
		    same_id(&id, &ref->shared_id)) {
			failures++;	/* the file that failed, unchanged */
			continue;
		}
		/* Opened before the old handle goes: a failure keeps no
		   handle, since the old one names a file no longer there. */
		err[0] = '\0';
		h = rule_table_open(rs, ref, err, sizeof(err));
		if (ref->shared != NULL)
			ref->ops->close(ref->shared);
		ref->shared = h;
		ref->shared_id = id;
		if (h == NULL) {
			report(rs, ref, err);
			failures++;
		} else {
			ref->is_share_failed = 0;
			warm(ref, h);
		}
	}
	return failures;
}

/* ruleset_unshare - close the shared handles (ruleset_free) */
void
ruleset_unshare(struct ruleset *rs)
{
	size_t i;

	if (rs->tables == NULL)
		return;		/* a ruleset whose compilation failed */
	for (i = 0; i < rs->ntables; i++) {
		if (rs->tables[i].shared != NULL)
			rs->tables[i].ops->close(rs->tables[i].shared);
		rs->tables[i].shared = NULL;
	}
}

/* ruleset_shared_fds - the descriptors the shared handles read through */
size_t
ruleset_shared_fds(const struct ruleset *rs, int *fds, size_t max)
{
	size_t i, n = 0;
	int fd;

	for (i = 0; i < rs->ntables && n < max; i++) {
		if (rs->tables[i].shared == NULL ||
		    rs->tables[i].ops->fd == NULL)
			continue;
		if ((fd = rs->tables[i].ops->fd(rs->tables[i].shared)) >= 0)
			fds[n++] = fd;
	}
	return n;
}
