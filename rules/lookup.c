/* lookup.c - the registry of database backends */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <string.h>

#include "lookup.h"

static const struct lookup_ops *const registry[] = {
	&lookup_cdb_ops,
	&lookup_db_ops,
	&lookup_ipblock_ops,
	NULL
};

/* lookup_ops_by_name - the backend called name */
const struct lookup_ops *
lookup_ops_by_name(const char *name)
{
	size_t i;

	for (i = 0; registry[i] != NULL; i++)
		if (strcmp(registry[i]->name, name) == 0)
			return registry[i];
	return NULL;
}

/* lookup_ops_for_path - the backend for a file by its suffix */
const struct lookup_ops *
lookup_ops_for_path(const char *path)
{
	size_t len = strlen(path);

	if (len >= 4 && strcmp(path + len - 4, ".cdb") == 0)
		return &lookup_cdb_ops;
	return &lookup_db_ops;
}

/* lookup_ops_all - the registry */
const struct lookup_ops *const *
lookup_ops_all(void)
{
	return registry;
}
