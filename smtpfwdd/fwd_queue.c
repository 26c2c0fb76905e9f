/* fwd_queue.c - the spool as smtpfwdd sees it: directories and queue */
/*
 * Directory checks and moves, the work/ID.defer state files, and the
 * in-memory index: a fixed pool of entries, hashed by id, with a ring
 * that keeps new/ arrivals in order. Entries are only ever created by
 * the master process; workers see a copy through fork().
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fwd_limits.h"
#include "fwd_queue.h"

/* set_why - describe a failure for the caller */
static void
set_why(char *why, size_t whysize, const char *path, const char *sub,
    const char *what)
{
	(void)snprintf(why, whysize, "%s%s%s: %s", path, sub[0] ? "/" : "",
	    sub, what);
}

/* open_sub - open (and, if allowed, create) one subdirectory and check it */
static int
open_sub(int spoolfd, const char *path, const char *sub, int is_ours,
    char *why, size_t whysize)
{
	struct stat st;
	int fd;

	fd = openat(spoolfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1 && errno == ENOENT && is_ours) {
		if (mkdirat(spoolfd, sub, 0700) == -1 && errno != EEXIST) {
			set_why(why, whysize, path, sub, strerror(errno));
			return -1;
		}
		fd = openat(spoolfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	}
	if (fd == -1) {
		set_why(why, whysize, path, sub, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		set_why(why, whysize, path, sub, strerror(errno));
		(void)close(fd);
		return -1;
	}
	if (st.st_mode & S_IWOTH) {
		set_why(why, whysize, path, sub, "writable by others");
		(void)close(fd);
		errno = EPERM;
		return -1;
	}
	if (is_ours && (st.st_uid != geteuid() || (st.st_mode & S_IWGRP))) {
		set_why(why, whysize, path, sub, st.st_uid != geteuid() ?
		    "not owned by smtpfwdd's user" : "writable by its group");
		(void)close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* fwd_dirs_open - open and check the spool directories */
int
fwd_dirs_open(const char *path, struct fwd_dirs *d, char *why,
    size_t whysize)
{
	struct stat st;
	int save;

	d->spool = d->new = d->work = d->hold = -1;
	d->spool = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->spool == -1) {
		set_why(why, whysize, path, "", strerror(errno));
		return -1;
	}
	if (fstat(d->spool, &st) == -1) {
		set_why(why, whysize, path, "", strerror(errno));
		goto fail;
	}
	if (st.st_mode & S_IWOTH) {
		set_why(why, whysize, path, "", "writable by others");
		errno = EPERM;
		goto fail;
	}
	if ((d->new = open_sub(d->spool, path, "new", 0, why, whysize)) == -1 ||
	    (d->work = open_sub(d->spool, path, "work", 1, why, whysize)) ==
	    -1 ||
	    (d->hold = open_sub(d->spool, path, "hold", 1, why, whysize)) == -1)
		goto fail;
	return 0;
fail:
	save = errno;
	fwd_dirs_close(d);
	errno = save;
	return -1;
}

/* fwd_dirs_close - close the spool directories */
void
fwd_dirs_close(struct fwd_dirs *d)
{
	if (d->spool >= 0)
		(void)close(d->spool);
	if (d->new >= 0)
		(void)close(d->new);
	if (d->work >= 0)
		(void)close(d->work);
	if (d->hold >= 0)
		(void)close(d->hold);
	d->spool = d->new = d->work = d->hold = -1;
}

/* fwd_claim - new/ID to work/ID, atomically, never replacing */
int
fwd_claim(const struct fwd_dirs *d, const char *id)
{
	if (renameat2(d->new, id, d->work, id, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* File systems without RENAME_NOREPLACE. */
	if (linkat(d->new, id, d->work, id, 0) == -1)
		return -1;
	if (unlinkat(d->new, id, 0) == -1 && errno != ENOENT) {
		int save = errno;

		(void)unlinkat(d->work, id, 0);
		errno = save;
		return -1;
	}
	return 0;
}

/* state_name - "ID.suffix" */
static int
state_name(char *buf, size_t size, const char *id, const char *suffix)
{
	int n = snprintf(buf, size, "%s.%s", id, suffix);

	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* parse_num - a decimal number of at most 19 digits, whole field */
static int
parse_num(const char *s, size_t len, long long *out)
{
	long long v = 0;
	size_t i;

	if (len == 0 || len > 18)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* fwd_state_read - load work/ID.defer: "ATTEMPTS n", "FIRST t", "NEXT t" */
int
fwd_state_read(int workfd, const char *id, struct fwd_state *st)
{
	char name[SPOOL_ID_MAX + 8], buf[FWD_STATE_MAX + 1];
	const char *p, *end, *nl, *sp;
	unsigned int seen = 0;
	long long v;
	ssize_t n;
	int fd;

	memset(st, 0, sizeof(*st));
	if (state_name(name, sizeof(name), id, "defer") == -1)
		return -1;
	fd = openat(workfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1)
		return -1;
	n = read(fd, buf, FWD_STATE_MAX);
	(void)close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	for (p = buf, end = buf + n; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;
		sp = memchr(p, ' ', (size_t)(nl - p));
		if (sp == NULL || parse_num(sp + 1, (size_t)(nl - sp - 1),
		    &v) == -1)
			goto bad;
		if ((size_t)(sp - p) == 8 && memcmp(p, "ATTEMPTS", 8) == 0 &&
		    v <= UINT_MAX) {
			st->attempts = (unsigned int)v;
			seen |= 1;
		} else if ((size_t)(sp - p) == 5 &&
		    memcmp(p, "FIRST", 5) == 0) {
			st->first = v;
			seen |= 2;
		} else if ((size_t)(sp - p) == 4 && memcmp(p, "NEXT", 4) == 0) {
			st->next = v;
			seen |= 4;
		} else
			goto bad;
	}
	if (seen == 7)
		return 0;
bad:
	memset(st, 0, sizeof(*st));
	errno = EPROTO;
	return -1;
}

/* fwd_state_write - replace work/ID.defer */
int
fwd_state_write(int workfd, const char *id, const struct fwd_state *st)
{
	char name[SPOOL_ID_MAX + 8], tmp[SPOOL_ID_MAX + 8], buf[128];
	int fd, n, save;

	if (state_name(name, sizeof(name), id, "defer") == -1 ||
	    state_name(tmp, sizeof(tmp), id, "tmp") == -1)
		return -1;
	n = snprintf(buf, sizeof(buf), "ATTEMPTS %u\nFIRST %lld\nNEXT %lld\n",
	    st->attempts, st->first, st->next);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		errno = EOVERFLOW;
		return -1;
	}
	fd = openat(workfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (write(fd, buf, (size_t)n) != n) {
		save = errno != 0 ? errno : EIO;
		(void)close(fd);
		(void)unlinkat(workfd, tmp, 0);
		errno = save;
		return -1;
	}
	/* No fsync: a lost state file only brings the next retry forward. */
	if (close(fd) == -1 || renameat(workfd, tmp, workfd, name) == -1) {
		save = errno;
		(void)unlinkat(workfd, tmp, 0);
		errno = save;
		return -1;
	}
	return 0;
}

/* fwd_state_remove - forget work/ID.defer */
void
fwd_state_remove(int workfd, const char *id)
{
	char name[SPOOL_ID_MAX + 8];

	if (state_name(name, sizeof(name), id, "defer") == 0)
		(void)unlinkat(workfd, name, 0);
}

/* unfail - FAIL -> RCPT at each such recipient's offset, then fsync */
static int
unfail(int fd, const struct spool_env *env)
{
	char check[4];
	size_t i, n = 0;

	for (i = 0; i < env->nrcpt; i++) {
		if (env->rcpt[i].state != SPOOL_FAIL)
			continue;
		if (pread(fd, check, 4, env->rcpt[i].offset) != 4 ||
		    memcmp(check, "FAIL", 4) != 0) {
			errno = EPROTO;
			return -1;
		}
		if (pwrite(fd, "RCPT", 4, env->rcpt[i].offset) != 4)
			return -1;
		n++;
	}
	return n > 0 ? fsync(fd) : 0;
}

/* fwd_release - hold/ID back into work/ with a fresh start */
int
fwd_release(const struct fwd_dirs *d, const char *id, long long now,
    char *why, size_t whysize)
{
	char name[SPOOL_ID_MAX + 8];
	struct spool_env env;
	struct fwd_state st;
	int fd, save;

	if (!spool_id_valid(id, strlen(id))) {
		(void)snprintf(why, whysize, "not a message id");
		errno = EINVAL;
		return -1;
	}
	fd = openat(d->hold, id, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		(void)snprintf(why, whysize, "hold/%s: %s", id,
		    strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1 ||
	    spool_read(fd, id, &env, why, whysize) == -1) {
		save = errno;
		if (save == EWOULDBLOCK)
			(void)snprintf(why, whysize, "in use");
		(void)close(fd);
		errno = save;
		return -1;
	}
	if (unfail(fd, &env) == -1) {
		save = errno;
		(void)snprintf(why, whysize, "rewriting FAIL lines: %s",
		    strerror(errno));
		spool_env_free(&env);
		(void)close(fd);
		errno = save;
		return -1;
	}
	spool_env_free(&env);
	st.attempts = 0;
	st.first = now;
	st.next = now;
	if (fwd_state_write(d->work, id, &st) == -1 ||
	    renameat2(d->hold, id, d->work, id, RENAME_NOREPLACE) == -1) {
		save = errno;
		(void)snprintf(why, whysize, "moving it to work/: %s",
		    strerror(errno));
		if (save == EEXIST)
			(void)snprintf(why, whysize, "work/%s exists", id);
		else
			fwd_state_remove(d->work, id);
		(void)close(fd);
		errno = save;
		return -1;
	}
	(void)close(fd);
	if (state_name(name, sizeof(name), id, "why") == 0)
		(void)unlinkat(d->hold, name, 0);
	return 0;
}

/* hash - FNV-1a of an id */
static size_t
hash(const char *id)
{
	unsigned long long h = 1469598103934665603ULL;

	for (; *id != '\0'; id++) {
		h ^= (unsigned char)*id;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

/* fwd_queue_init - allocate the pool, buckets and ring */
int
fwd_queue_init(struct fwd_queue *q, size_t max)
{
	size_t i;

	memset(q, 0, sizeof(*q));
	if (max == 0 || max > FWD_QUEUE_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (q->nbucket = 64; q->nbucket < max; q->nbucket *= 2)
		;
	q->e = calloc(max, sizeof(*q->e));
	q->bucket = calloc(q->nbucket, sizeof(*q->bucket));
	q->ring = calloc(max, sizeof(*q->ring));
	if (q->e == NULL || q->bucket == NULL || q->ring == NULL) {
		fwd_queue_free(q);
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < q->nbucket; i++)
		q->bucket[i] = -1;
	for (i = 0; i < max; i++)
		q->e[i].chain = i + 1 < max ? (int)(i + 1) : -1;
	q->free_head = 0;
	q->max = max;
	q->earliest = LLONG_MAX;
	return 0;
}

/* fwd_queue_free - release the queue */
void
fwd_queue_free(struct fwd_queue *q)
{
	free(q->e);
	free(q->bucket);
	free(q->ring);
	memset(q, 0, sizeof(*q));
}

/* fwd_queue_find - the entry of id, or -1 */
int
fwd_queue_find(const struct fwd_queue *q, const char *id)
{
	int i;

	for (i = q->bucket[hash(id) & (q->nbucket - 1)]; i != -1;
	    i = q->e[i].chain)
		if (strcmp(q->e[i].id, id) == 0)
			return i;
	return -1;
}

/* fwd_queue_add - know a message */
int
fwd_queue_add(struct fwd_queue *q, const char *id, enum fwd_where where,
    long long now)
{
	struct fwd_entry *e;
	size_t b, len = strlen(id);
	int i;

	if (len == 0 || len > SPOOL_ID_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (fwd_queue_find(q, id) != -1) {
		errno = EEXIST;
		return -1;
	}
	if (q->free_head == -1) {
		errno = ENOSPC;
		return -1;
	}
	i = q->free_head;
	e = &q->e[i];
	q->free_head = e->chain;
	memset(e, 0, sizeof(*e));
	memcpy(e->id, id, len + 1);
	e->is_used = 1;
	e->where = (unsigned char)where;
	e->next = now;
	if ((size_t)i >= q->high)
		q->high = (size_t)i + 1;
	b = hash(id) & (q->nbucket - 1);
	e->chain = q->bucket[b];
	q->bucket[b] = i;
	q->count++;
	if (where == FWD_IN_NEW) {
		q->ring[(q->ring_head + q->ring_len) % q->max] = i;
		q->ring_len++;
		q->nnew++;
	} else {
		q->nwork++;
		if (now < q->earliest)
			q->earliest = now;
	}
	return i;
}

/* fwd_queue_remove - forget an entry */
void
fwd_queue_remove(struct fwd_queue *q, int i)
{
	struct fwd_entry *e = &q->e[i];
	int *pp;

	if (!e->is_used)
		return;
	for (pp = &q->bucket[hash(e->id) & (q->nbucket - 1)]; *pp != -1;
	    pp = &q->e[*pp].chain)
		if (*pp == i) {
			*pp = e->chain;
			break;
		}
	if (e->where == FWD_IN_NEW)
		q->nnew--;
	else if (--q->nwork == 0)
		q->earliest = LLONG_MAX;	/* nothing left to wake for */
	e->is_used = 0;
	e->chain = q->free_head;
	q->free_head = i;
	q->count--;
}

/* fwd_queue_pop_new - the oldest arrival */
int
fwd_queue_pop_new(struct fwd_queue *q)
{
	int i;

	if (q->ring_len == 0)
		return -1;
	i = q->ring[q->ring_head];
	q->ring_head = (q->ring_head + 1) % q->max;
	q->ring_len--;
	return i;
}

/* fwd_queue_to_work - a popped arrival has been claimed */
void
fwd_queue_to_work(struct fwd_queue *q, int i)
{
	if (q->e[i].where == FWD_IN_NEW) {
		q->e[i].where = FWD_IN_WORK;
		q->nnew--;
		q->nwork++;
	}
}

/* fwd_queue_set_next - an idle work/ entry is due at next */
void
fwd_queue_set_next(struct fwd_queue *q, int i, long long next)
{
	q->e[i].next = next;
	if (next < q->earliest)
		q->earliest = next;
}

/* fwd_queue_due - the idle work/ entry due first, if due by now */
int
fwd_queue_due(struct fwd_queue *q, long long now)
{
	long long best = LLONG_MAX;
	size_t i;
	int found = -1;

	if (now < q->earliest || q->nwork == 0)
		return -1;
	for (i = 0; i < q->high; i++) {
		const struct fwd_entry *e = &q->e[i];

		if (!e->is_used || e->where != FWD_IN_WORK || e->is_running)
			continue;
		if (e->next < best) {
			best = e->next;
			found = (int)i;
		}
	}
	q->earliest = best;
	return best <= now ? found : -1;
}
