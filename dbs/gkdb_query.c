/* gkdb_query.c - answer a key from a database exactly as the rules engine */
/*
 * The table is opened through the engine's registry (lookup.c), and a
 * key is looked up with the engine's own code: find_addr() of IPBLOCK
 * for an address, and for CDB and HASH the search orders of
 * rules/rule_key.c (rule_keys_client, rule_keys_name,
 * rule_keys_address) driving the backend's find(). Only the matched
 * entry is extra: the IPBLOCK entry from iptree_find(), the CDB/HASH key
 * that was found.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../rules/rule_int.h"
#include "gkdb.h"

struct gkdb_table {
	enum gkdb_type type;
	const struct lookup_ops *ops;
	void *handle;
};

/* gkdb_detect - the type of a file by magic, then by name */
int
gkdb_detect(const char *path, enum gkdb_type *type, char *err,
    size_t errsize)
{
	char magic[IPTREE_MAGIC_LEN];
	ssize_t n;
	size_t len;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errsize, "cannot open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	do
		n = read(fd, magic, sizeof(magic));
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		snprintf(err, errsize, "cannot read %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	len = strlen(path);
	if (n == IPTREE_MAGIC_LEN && memcmp(magic, IPTREE_MAGIC,
	    IPTREE_MAGIC_LEN) == 0)
		*type = GKDB_IPBLOCK;
	else if (len >= 4 && strcmp(path + len - 4, ".cdb") == 0)
		*type = GKDB_CDB;
	else
		*type = GKDB_HASH;
	return 0;
}

/* gkdb_open - open through the registry */
struct gkdb_table *
gkdb_open(enum gkdb_type type, const char *path, char *err, size_t errsize)
{
	struct gkdb_table *t;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	t->type = type;
	if ((t->ops = lookup_ops_by_name(gkdb_type_name(type))) == NULL) {
		snprintf(err, errsize, "no %s backend in the registry",
		    gkdb_type_name(type));
		free(t);
		return NULL;
	}
	if ((t->handle = t->ops->open(path, err, errsize)) == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

/* gkdb_close - close the table */
void
gkdb_close(struct gkdb_table *t)
{
	if (t == NULL)
		return;
	t->ops->close(t->handle);
	free(t);
}

struct search {
	struct gkdb_table *t;
	struct gkdb_answer *a;
};

/* key_try - one key of a search order; stop on found or failure (as
   rule_eval.c's key_try does) */
static int
key_try(void *arg, const char *key, size_t len)
{
	struct search *s = arg;
	struct gkdb_answer *a = s->a;

	a->err[0] = '\0';
	a->result = s->t->ops->find(s->t->handle, key, len, a->value,
	    sizeof(a->value), a->err, sizeof(a->err));
	if (a->result == LK_FOUND)
		snprintf(a->entry, sizeof(a->entry), "%.*s", (int)len, key);
	return a->result != LK_NOTFOUND;
}

/* lower - a lower-case copy of a name; -1 if too long */
static int
lower(const char *in, char *out, size_t size)
{
	size_t n = strlen(in), i;

	if (n >= size)
		return -1;
	for (i = 0; i <= n; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	return 0;
}

/* query_ipblock - an address through find_addr, then the entry */
static int
query_ipblock(struct gkdb_table *t, enum gkdb_field field, const char *key,
    struct gkdb_answer *a)
{
	struct iptree_match m;
	struct net_addr addr;

	if (field != GKDB_FIELD_AUTO && field != GKDB_FIELD_SOURCE) {
		snprintf(a->err, sizeof(a->err),
		    "IPBLOCK tables answer for addresses only");
		return -1;
	}
	if (net_addr_parse(key, strlen(key), &addr) == -1) {
		snprintf(a->err, sizeof(a->err), "not an IP address");
		return -1;
	}
	a->result = t->ops->find_addr(t->handle, &addr, a->value,
	    sizeof(a->value), a->err, sizeof(a->err));
	if (a->result == LK_FOUND) {
		if (iptree_find(t->handle, &addr, &m) == 1)
			iptree_format_entry(&m, a->entry, sizeof(a->entry));
		else
			snprintf(a->entry, sizeof(a->entry), "?");
	}
	return 0;
}

/* gkdb_query - look key up as the engine would */
int
gkdb_query(struct gkdb_table *t, enum gkdb_field field, const char *key,
    const char *name, struct gkdb_answer *a)
{
	char buf[RULE_ADDR_MAX + 1], nbuf[RULE_ADDR_MAX + 1];
	struct search s;
	struct net_addr addr;
	size_t len;
	int is_addr;

	memset(a, 0, sizeof(*a));
	a->result = LK_NOTFOUND;
	if (t->type == GKDB_IPBLOCK)
		return query_ipblock(t, field, key, a);
	s.t = t;
	s.a = a;
	is_addr = net_addr_parse(key, strlen(key), &addr) == 0;
	if (field == GKDB_FIELD_AUTO) {
		if (is_addr)
			field = GKDB_FIELD_SOURCE;
		else if (strchr(key, '@') != NULL || strchr(key, '<') != NULL ||
		    key[0] == '\0')
			field = GKDB_FIELD_ADDRESS;
		else
			field = GKDB_FIELD_SOURCE;
	}
	if (field == GKDB_FIELD_SOURCE) {
		if (name != NULL && lower(name, nbuf, sizeof(nbuf)) == -1) {
			snprintf(a->err, sizeof(a->err), "name too long");
			return -1;
		}
		if (is_addr) {
			rule_keys_client(&addr, name != NULL ? nbuf : NULL,
			    key_try, &s);
			return 0;
		}
		if (lower(key, buf, sizeof(buf)) == -1) {
			snprintf(a->err, sizeof(a->err), "name too long");
			return -1;
		}
		rule_keys_name(buf, key_try, &s);
		return 0;
	}
	if (rule_strip_address(key, buf, sizeof(buf), &len) == -1) {
		snprintf(a->err, sizeof(a->err), "address too long");
		return -1;
	}
	rule_keys_address(buf, len, field == GKDB_FIELD_VALIDUSERS, key_try,
	    &s);
	return 0;
}

/* gkdb_check - verify an IPBLOCK file; the others opened, so fine */
int
gkdb_check(struct gkdb_table *t, struct iptree_stats *stats, char *err,
    size_t errsize)
{
	memset(stats, 0, sizeof(*stats));
	if (t->type != GKDB_IPBLOCK)
		return 0;
	if (iptree_verify(t->handle, err, errsize) == -1)
		return -1;
	iptree_info(t->handle, stats);
	return 0;
}
