/* hashfile_test.c - hashfile.c answers as libdb does */
/*
 * Hash files of every shape are written with libdb itself: page sizes
 * from 512 to 64 KiB, empty to tens of thousands of keys, keys and
 * values long enough to go to overflow pages, keys with postmap's
 * trailing NUL, deleted keys, duplicates on the page and on pages of
 * their own, a table sized in advance. Every key written and as many
 * keys not written are looked up by hashfile_find() and by libdb's
 * DB->get(), and the answers must be the same, value bytes included;
 * hashfile_find() may defer only where it says it will (duplicates
 * on pages of their own). Then the files it must leave to libdb (a
 * btree, checksums, the other byte order, another hash function,
 * subdatabases, not a database), damaged files (it defers or answers,
 * never reads out of bounds), and the lookup_db backend over both.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <db.h>

#include "../t.h"
#include "../../rules/hashfile.h"
#include "../../rules/lookup.h"

#define BIG	20000	/* the largest value written */

struct shape {
	const char *name;
	uint32_t pagesize;
	unsigned int nkeys;
	unsigned int maxkey;	/* longest key */
	unsigned int maxval;	/* longest value */
	int nul;		/* keys written with a trailing NUL */
	int dups;		/* DB_DUP, some keys with duplicates */
	int dupsort;		/* DB_DUPSORT */
	unsigned int manydups;	/* duplicates of one key (off page) */
	int deletes;		/* every 7th key deleted again */
	int rewrites;		/* every key written so many times more */
	uint32_t nelem;		/* DB->set_h_nelem, 0 none */
};

static uint64_t rng;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/*
 * key_of - key i of a file: "i." and letters, up to max bytes (1024
 * at most); with max 0, up to 1024 bytes cut anywhere, so that a short
 * one such as "2" is written again by every i that starts so
 */
static size_t
key_of(unsigned int i, unsigned int max, char *buf)
{
	size_t len, n;
	int unique = max > 0;

	rng = 0x9e3779b97f4a7c15ull * (i + 1);
	if (max == 0)
		max = 1024;
	len = rnd() % 8;
	len = 1 + rnd() % (len == 0 ? max : (max < 24 ? max : 24));
	n = (size_t)snprintf(buf, 16, "%u.", i);
	if (len < n && unique)
		len = n;	/* no two i give the same key */
	for (; n < len; n++)
		buf[n] = (char)('a' + rnd() % 26);
	return len;
}

/* val_of - value i: length 0 to max, bytes of any value */
static size_t
val_of(unsigned int i, unsigned int max, unsigned char *buf)
{
	size_t len, n;

	rng = 0xbf58476d1ce4e5b9ull * (i + 7);
	len = rnd() % 16 == 0 ? rnd() % (max + 1) : rnd() % (max < 40 ? max + 1 : 41);
	for (n = 0; n < len; n++)
		buf[n] = (unsigned char)rnd();
	return len;
}

static DBT *
dbt(DBT *d, const void *p, size_t len)
{
	memset(d, 0, sizeof(*d));
	d->data = (void *)p;
	d->size = (u_int32_t)len;
	return d;
}

/* build - write a hash file of shape s with libdb; 0 or -1 */
static int
build(const char *path, const struct shape *s)
{
	unsigned char val[BIG];
	char key[1100];
	DB *db;
	DBT k, v;
	unsigned int i, j;
	size_t kl, vl;
	int r;

	unlink(path);
	if (db_create(&db, NULL, 0) != 0)
		return -1;
	if (s->pagesize)
		db->set_pagesize(db, s->pagesize);
	if (s->dups)
		db->set_flags(db, s->dupsort ? DB_DUPSORT : DB_DUP);
	if (s->nelem)
		db->set_h_nelem(db, s->nelem);
	if (db->open(db, NULL, path, NULL, DB_HASH, DB_CREATE, 0644) != 0)
		goto fail;
	for (i = 0; i < s->nkeys; i++) {
		kl = key_of(i, s->maxkey, key);
		if (s->nul)
			key[kl++] = '\0';
		for (j = 0; j <= (unsigned int)s->rewrites; j++) {
			vl = val_of(i + 7919 * (s->rewrites - j), s->maxval,
			    val);
			if (db->put(db, NULL, dbt(&k, key, kl),
			    dbt(&v, val, vl), 0) != 0)
				goto fail;
		}
		for (j = 0; s->dups && i % 5 == 0 && j < 3; j++) {
			vl = (size_t)snprintf((char *)val, sizeof(val),
			    "duplicate %u", j);
			r = db->put(db, NULL, &k, dbt(&v, val, vl),
			    s->dupsort ? DB_NODUPDATA : 0);
			if (r != 0 && r != DB_KEYEXIST)
				goto fail;
		}
	}
	for (j = 0; j < s->manydups; j++) {
		snprintf((char *)val, sizeof(val), "dup %u of the key", j);
		if (db->put(db, NULL, dbt(&k, "many", 4),
		    dbt(&v, val, strlen((char *)val)), 0) != 0)
			goto fail;
	}
	for (i = 0; s->deletes && i < s->nkeys; i += 7) {
		kl = key_of(i, s->maxkey, key);
		if (s->nul)
			key[kl++] = '\0';
		(void)db->del(db, NULL, dbt(&k, key, kl), 0);
	}
	return db->close(db, 0) == 0 ? 0 : -1;
fail:
	db->close(db, 0);
	return -1;
}

static DB *
libdb(const char *path)
{
	DB *db;

	if (db_create(&db, NULL, 0) != 0)
		return NULL;
	if (db->open(db, NULL, path, NULL, DB_UNKNOWN, DB_RDONLY, 0) != 0) {
		db->close(db, 0);
		return NULL;
	}
	return db;
}

/* dups - how many data items libdb holds for a key */
static db_recno_t
dups(DB *db, DBT *k)
{
	db_recno_t n = 0;
	DBC *c;
	DBT v;

	memset(&v, 0, sizeof(v));
	if (db->cursor(db, NULL, &c, 0) != 0)
		return 0;
	if (c->get(c, k, &v, DB_SET) == 0)
		(void)c->count(c, &n, 0);
	c->close(c);
	return n;
}

/*
 * agree - look key up both ways: 1 if the answers are the same, 0 if
 * not; deferred[0] counts the lookups hashfile_find() left to libdb,
 * deferred[1] those of keys without duplicates, which it should not
 */
static int
agree(struct hashfile *hf, DB *db, const char *key, size_t kl,
    unsigned int *deferred)
{
	static unsigned char got[BIG];
	enum hashfile_result r;
	DBT k, v;
	size_t len = 0;
	int dr;

	r = hashfile_find(hf, key, kl, got, sizeof(got), &len);
	memset(&v, 0, sizeof(v));
	dr = db->get(db, NULL, dbt(&k, key, kl), &v, 0);
	if (r == HASHFILE_DEFER) {
		deferred[0]++;
		if (dups(db, &k) <= 1)
			deferred[1]++;
		return 1;
	}
	if (r == HASHFILE_NOTFOUND)
		return dr == DB_NOTFOUND;
	return dr == 0 && len == v.size && memcmp(got, v.data, len) == 0;
}

/* compare - every key of s and as many others; returns the lookups
   deferred, and in *odd those of keys without duplicates */
static unsigned int
compare(const char *path, const struct shape *s, unsigned int *odd)
{
	struct hashfile hf;
	char key[1100];
	unsigned int i, bad = 0, deferred[2] = { 0, 0 }, lookups = 0;
	size_t kl;
	DB *db;
	int fd;

	if ((db = libdb(path)) == NULL ||
	    (fd = open(path, O_RDONLY)) == -1) {
		ok(0, "%s: open", s->name);
		return 0;
	}
	if (hashfile_init(&hf, fd) != 0) {
		ok(0, "%s: hashfile_init takes a plain hash file", s->name);
		close(fd);
		db->close(db, 0);
		return 0;
	}
	for (i = 0; i < 2 * s->nkeys + 50; i++) {
		/* keys written (deleted ones too), then keys never written */
		kl = key_of(i < s->nkeys ? i : i + 1000000, s->maxkey, key);
		if (s->nul && i % 2 == 0)
			key[kl++] = '\0';
		lookups++;
		if (!agree(&hf, db, key, kl, deferred) && bad++ < 5)
			t_diag("%s: key %u (%zu bytes) answered differently",
			    s->name, i, kl);
	}
	if (s->manydups) {
		lookups++;
		if (!agree(&hf, db, "many", 4, deferred))
			bad++;
	}
	ok(bad == 0, "%s: %u lookups answered as libdb does (%u deferred)",
	    s->name, lookups, deferred[0]);
	hashfile_fini(&hf);
	close(fd);
	db->close(db, 0);
	*odd = deferred[1];
	return deferred[0];
}

static const struct shape shapes[] = {
	{ .name = "empty", .pagesize = 4096, .maxkey = 10, .maxval = 10 },
	{ .name = "one key", .pagesize = 4096, .nkeys = 1, .maxkey = 10,
	    .maxval = 10 },
	{ .name = "4 KiB pages, 20000 keys", .pagesize = 4096,
	    .nkeys = 20000, .maxkey = 64, .maxval = 200 },
	{ .name = "512-byte pages, overflow keys and values",
	    .pagesize = 512, .nkeys = 3000, .maxkey = 1024, .maxval = 3000 },
	{ .name = "1 KiB pages, postmap's NUL", .pagesize = 1024,
	    .nkeys = 5000, .maxkey = 100, .maxval = 100, .nul = 1 },
	{ .name = "64 KiB pages, big values", .pagesize = 65536,
	    .nkeys = 2000, .maxkey = 300, .maxval = BIG },
	{ .name = "deleted keys", .pagesize = 4096, .nkeys = 8000,
	    .maxkey = 200, .maxval = 500, .deletes = 1 },
	{ .name = "values replaced, some by overflow items",
	    .pagesize = 512, .nkeys = 2000, .maxkey = 40, .maxval = 2000,
	    .rewrites = 3 },
	/* libdb leaves a second pair of the same key on a sorted page
	   when it replaces some overflow values: libdb's binary search
	   finds one of them, a scan in order may find the other */
	{ .name = "short keys written over and over", .pagesize = 512,
	    .nkeys = 3000, .maxkey = 0, .maxval = 3000 },
	{ .name = "duplicates on the page", .pagesize = 4096, .nkeys = 3000,
	    .maxkey = 40, .maxval = 60, .dups = 1 },
	{ .name = "sorted duplicates", .pagesize = 2048, .nkeys = 3000,
	    .maxkey = 40, .maxval = 60, .dups = 1, .dupsort = 1 },
	{ .name = "sized in advance", .pagesize = 4096, .nkeys = 500,
	    .maxkey = 30, .maxval = 30, .nelem = 100000 },
};

/* test_shapes - libdb's files, all answered without libdb */
static void
test_shapes(void)
{
	char path[600];
	unsigned int odd;
	size_t i;

	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		snprintf(path, sizeof(path), "%s/shape%zu.db", t_tmpdir(), i);
		if (build(path, &shapes[i]) != 0) {
			ok(0, "%s: libdb writes the file", shapes[i].name);
			continue;
		}
		odd = 1;
		(void)compare(path, &shapes[i], &odd);
		is_int(odd, 0, "%s: only keys with duplicates are left to libdb",
		    shapes[i].name);
	}
}

/* test_offpage_dups - a key with its duplicates on pages of their own */
static void
test_offpage_dups(void)
{
	static const struct shape s = { .name = "duplicates off the page",
	    .pagesize = 512, .nkeys = 200, .maxkey = 20, .maxval = 20,
	    .dups = 1, .manydups = 400 };
	char path[600];
	unsigned int odd = 1;

	snprintf(path, sizeof(path), "%s/offdup.db", t_tmpdir());
	if (build(path, &s) != 0) {
		ok(0, "%s: libdb writes the file", s.name);
		return;
	}
	ok(compare(path, &s, &odd) >= 1 && odd == 0,
	    "%s: that key is left to libdb", s.name);
}

/* other_hash - a hash function of the application's own */
static u_int32_t
other_hash(DB *db, const void *key, u_int32_t len)
{
	(void)db;
	return hashfile_hash(key, len) * 31u + 7u;
}

/* other - a file libdb writes as how says; 0 or -1 */
static int
other(const char *path, int how)
{
	uint16_t one = 1;
	DB *db;
	DBT k, v;
	int r;

	unlink(path);
	if (db_create(&db, NULL, 0) != 0)
		return -1;
	if (how == 1)
		db->set_flags(db, DB_CHKSUM);
	if (how == 2)	/* the byte order this host does not use */
		db->set_lorder(db, *(unsigned char *)&one == 1 ? 4321 : 1234);
	if (how == 3)
		db->set_h_hash(db, other_hash);
	r = db->open(db, NULL, path, how == 4 ? "sub" : NULL,
	    how == 0 ? DB_BTREE : DB_HASH, DB_CREATE, 0644);
	if (r == 0)
		r = db->put(db, NULL, dbt(&k, "key", 3), dbt(&v, "value", 5), 0);
	return db->close(db, 0) == 0 && r == 0 ? 0 : -1;
}

static const char *const others[] = { "a btree", "checksums",
    "the other byte order", "another hash function", "subdatabases" };

/* test_left_to_libdb - files hashfile_init() must not take */
static void
test_left_to_libdb(void)
{
	struct hashfile hf;
	char path[600];
	int fd, how;

	for (how = 0; how < 5; how++) {
		snprintf(path, sizeof(path), "%s/other%d.db", t_tmpdir(), how);
		if (other(path, how) != 0) {
			ok(0, "%s: libdb writes the file", others[how]);
			continue;
		}
		fd = open(path, O_RDONLY);
		is_int(hashfile_init(&hf, fd), -1, "%s is left to libdb",
		    others[how]);
		hashfile_fini(&hf);
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/text.db", t_tmpdir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (write(fd, "key value\n", 10) != 10)
		ok(0, "write %s", path);
	is_int(hashfile_init(&hf, fd), -1, "a text file is left to libdb");
	hashfile_fini(&hf);
	close(fd);
}

/* bucket_of - the first page of key's bucket, as the format says */
static uint32_t
bucket_of(const struct hashfile *hf, const char *key)
{
	uint32_t b, s;

	b = hashfile_hash(key, strlen(key)) & hf->high_mask;
	if (b > hf->max_bucket)
		b &= hf->low_mask;
	for (s = 0; (1ull << s) < (uint64_t)b + 1; s++)
		;
	return b + hf->spares[s];
}

/* poke - write len bytes at offset of path */
static void
poke(const char *path, off_t offset, const void *bytes, size_t len)
{
	int fd = open(path, O_WRONLY);

	if (fd == -1 || pwrite(fd, bytes, len, offset) != (ssize_t)len)
		ok(0, "pwrite %s", path);
	close(fd);
}

/* find_in - hashfile_find on a fresh descriptor of path, or -1 if
   hashfile_init() leaves the file to libdb */
static int
find_in(const char *path, const char *key)
{
	unsigned char v[BIG];
	enum hashfile_result r;
	struct hashfile hf;
	size_t len;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1 || hashfile_init(&hf, fd) != 0) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	r = hashfile_find(&hf, key, strlen(key), v, sizeof(v), &len);
	hashfile_fini(&hf);
	close(fd);
	return (int)r;
}

/* test_damage - a damaged file is deferred, never read out of bounds */
static void
test_damage(void)
{
	static const struct shape s = { .name = "damaged", .pagesize = 512,
	    .nkeys = 3000, .maxkey = 200, .maxval = 600 };
	char path[600], copy[620], err[LOOKUP_ERR_MAX], value[64], hit[1100];
	unsigned char page[512], ovp[512], buf[64 * 1024];
	const char *absent = "no such key";
	uint16_t zero = 0;
	unsigned int damaged = 0;
	uint32_t ovpg;
	void *t;
	struct hashfile hf;
	uint32_t pgno, big = 0x7fffffff;
	uint16_t off = 0xffff;
	unsigned int i, deferred = 0;
	size_t len;
	int fd, out;
	ssize_t got;

	snprintf(path, sizeof(path), "%s/damage.db", t_tmpdir());
	snprintf(copy, sizeof(copy), "%s.copy", path);
	if (build(path, &s) != 0 || (fd = open(path, O_RDONLY)) == -1) {
		ok(0, "libdb writes %s", path);
		return;
	}
	if (hashfile_init(&hf, fd) != 0) {
		ok(0, "hashfile_init %s", path);
		close(fd);
		return;
	}
	pgno = bucket_of(&hf, absent);
	is_int(hashfile_find(&hf, absent, strlen(absent), buf, sizeof(buf),
	    &len), HASHFILE_NOTFOUND, "an absent key is not found");
	if (pread(fd, page, sizeof(page), (off_t)pgno * 512) != 512)
		ok(0, "pread");
	hashfile_fini(&hf);
	close(fd);

	/* Each damage on a copy: the bucket page of the absent key. */
#define COPY() do {							\
		int _i = open(path, O_RDONLY), _o = open(copy,		\
		    O_WRONLY | O_CREAT | O_TRUNC, 0644);		\
		while ((got = read(_i, buf, sizeof(buf))) > 0)		\
			if (write(_o, buf, (size_t)got) != got)		\
				ok(0, "copy");				\
		close(_i);						\
		close(_o);						\
	} while (0)
	COPY();
	poke(copy, (off_t)pgno * 512 + 16, &pgno, 4);	/* next: itself */
	is_int(find_in(copy, absent), HASHFILE_DAMAGED,
	    "a bucket chained to itself is damage, not walked forever");
	if ((t = lookup_db_ops.open(copy, err, sizeof(err))) == NULL)
		ok(0, "open %s: %s", copy, err);
	else {
		is_int(lookup_db_ops.find(t, absent, strlen(absent), value,
		    sizeof(value), err, sizeof(err)), LK_TEMPFAIL,
		    "the table fails the lookup, without asking libdb "
		    "(which would loop): %s", err);
		ok(strstr(err, "damaged: a page chain loops") != NULL,
		    "the error names the damage");
		lookup_db_ops.close(t);
	}
	/* An overflow page that carries no bytes and leads to itself,
	   which libdb, asked, would never leave: damage too. */
	COPY();
	for (ovpg = 1; (fd = open(copy, O_RDONLY)) != -1; ovpg++) {
		got = pread(fd, ovp, sizeof(ovp), (off_t)ovpg * 512);
		close(fd);
		if (got != (ssize_t)sizeof(ovp) || ovp[25] == 7)
			break;
	}
	ok(got == (ssize_t)sizeof(ovp), "an overflow page, %u", ovpg);
	poke(copy, (off_t)ovpg * 512 + 22, &zero, 2);
	poke(copy, (off_t)ovpg * 512 + 16, &ovpg, 4);
	for (i = 0; i < s.nkeys; i++) {
		char key[1100];

		key[key_of(i, s.maxkey, key)] = '\0';
		if (find_in(copy, key) == HASHFILE_DAMAGED) {
			if (damaged++ == 0)
				memcpy(hit, key, strlen(key) + 1);
		} else if (find_in(copy, key) == HASHFILE_DEFER)
			deferred++;
	}
	ok(damaged > 0, "its lookups are damage (%u, and %u deferred)",
	    damaged, deferred);
	deferred = 0;
	if (damaged > 0 && (t = lookup_db_ops.open(copy, err,
	    sizeof(err))) != NULL) {
		is_int(lookup_db_ops.find(t, hit, strlen(hit), value,
		    sizeof(value), err, sizeof(err)), LK_TEMPFAIL,
		    "and fail, not left to libdb: %s", err);
		lookup_db_ops.close(t);
	}
	COPY();
	poke(copy, 32, &big, 4);	/* the meta page's last page */
	is_int(find_in(copy, absent), -1,
	    "a last page past the end of the file is left to libdb");
	COPY();
	poke(copy, (off_t)pgno * 512 + 16, &big, 4);
	is_int(find_in(copy, absent), HASHFILE_DEFER,
	    "a next page past the file is deferred");
	COPY();
	for (i = 0; i < (unsigned int)(page[20] | page[21] << 8); i++)
		poke(copy, (off_t)pgno * 512 + 26 + 2 * i, &off, 2);
	is_int(find_in(copy, absent), i > 0 ? HASHFILE_DEFER :
	    HASHFILE_NOTFOUND, "item offsets past the page are deferred");
	COPY();
	poke(copy, (off_t)pgno * 512 + 25, "\005", 1);
	is_int(find_in(copy, absent), HASHFILE_DEFER,
	    "a bucket page of another type is deferred");
	COPY();
	if (truncate(copy, (off_t)pgno * 512) != 0)
		ok(0, "truncate");
	is_int(find_in(copy, absent), -1,
	    "a file cut short of its last page is left to libdb");

	/* A file that is not whole pages is refused by libdb's open:
	   left to libdb, which says so. */
	COPY();
	fd = open(copy, O_WRONLY | O_APPEND);
	if (fd == -1 || write(fd, "junk", 4) != 4)
		ok(0, "append to %s", copy);
	close(fd);
	is_int(find_in(copy, absent), -1,
	    "a file with bytes past its last page is left to libdb");
	COPY();
	if (truncate(copy, (off_t)pgno * 512 + 100) != 0)
		ok(0, "truncate");
	is_int(find_in(copy, absent), -1,
	    "a file cut inside a page is left to libdb");
	ok(lookup_db_ops.open(copy, (char *)buf, 256) == NULL,
	    "and libdb refuses it: %s", (char *)buf);

	/* Bytes changed at random, 300 times: answers or deferrals, and
	   (under the sanitizers) no read outside a page. */
	rng = 42;
	for (i = 0; i < 300; i++) {
		unsigned char junk[4];
		uint32_t at;
		char key[1100];
		size_t kl;

		kl = key_of((i * 7919) % 3000, s.maxkey, key);
		rng = 42 + i;
		COPY();
		at = 512 + rnd() % (uint32_t)(3000 * 40);
		junk[0] = (unsigned char)rnd();
		junk[1] = (unsigned char)rnd();
		junk[2] = (unsigned char)rnd();
		junk[3] = (unsigned char)rnd();
		poke(copy, at, junk, 1 + rnd() % 4);
		if ((out = open(copy, O_RDONLY)) == -1 ||
		    hashfile_init(&hf, out) != 0) {
			if (out != -1)
				close(out);
			continue;
		}
		if (hashfile_find(&hf, key, kl, buf, sizeof(buf), &len) >=
		    HASHFILE_DEFER)
			deferred++;
		hashfile_fini(&hf);
		close(out);
	}
	ok(1, "300 damaged copies read within bounds (%u lookups deferred "
	    "or refused)",
	    deferred);
	unlink(copy);
}

/* lk - lookup_db_ops.find of key in an open table */
static enum lookup_result
lk(void *t, const char *key, size_t kl, char *value, size_t size)
{
	char err[LOOKUP_ERR_MAX];

	return lookup_db_ops.find(t, key, kl, value, size, err, sizeof(err));
}

/* test_backend - HASH= as the rules use it, over both readers */
static void
test_backend(void)
{
	char path[600], err[LOOKUP_ERR_MAX], value[256];
	DB *db;
	DBT k, v;
	void *t;
	int how;

	/* postmap's form: key and value with a trailing NUL */
	snprintf(path, sizeof(path), "%s/postmap.db", t_tmpdir());
	unlink(path);
	if (db_create(&db, NULL, 0) != 0 ||
	    db->open(db, NULL, path, NULL, DB_HASH, DB_CREATE, 0644) != 0 ||
	    db->put(db, NULL, dbt(&k, "10.1.2.3", 9), dbt(&v, "spam", 5),
	    0) != 0 ||
	    db->put(db, NULL, dbt(&k, "plain", 5), dbt(&v, "kept", 4),
	    0) != 0 || db->close(db, 0) != 0) {
		ok(0, "libdb writes %s", path);
		return;
	}
	t = lookup_db_ops.open(path, err, sizeof(err));
	ok(t != NULL && lookup_db_ops.fd(t) >= 0, "a plain file opens: %s",
	    t == NULL ? err : "with its own descriptor");
	if (t == NULL)
		return;
	is_int(lk(t, "10.1.2.3", 8, value, sizeof(value)), LK_FOUND,
	    "a key written with its NUL is found without it");
	is_str(value, "spam", "its value loses the NUL");
	is_int(lk(t, "plain", 5, value, sizeof(value)), LK_FOUND,
	    "a key written without a NUL");
	is_str(value, "kept", "its value is whole");
	is_int(lk(t, "plain", 5, value, 3), LK_FOUND, "a long value");
	is_str(value, "ke", "is cut to the room given");
	is_int(lk(t, "10.1.2.4", 8, value, sizeof(value)), LK_NOTFOUND,
	    "another key is not found");
	lookup_db_ops.close(t);

	/* what hashfile_init() leaves to libdb still answers */
	for (how = 0; how < 5; how++) {
		snprintf(path, sizeof(path), "%s/other%d.db", t_tmpdir(), how);
		if (how == 4)	/* a file of subdatabases: libdb refuses */
			continue;
		t = lookup_db_ops.open(path, err, sizeof(err));
		ok(t != NULL, "%s opens through libdb: %s", others[how],
		    t == NULL ? err : "yes");
		if (t == NULL)
			continue;
		/* (libdb reads the other hash function's file with its
		   own, and finds nothing: as before hashfile.c) */
		if (how != 3)
			is_int(lk(t, "key", 3, value, sizeof(value)),
			    LK_FOUND, "%s: a key is found", others[how]);
		lookup_db_ops.close(t);
	}

	/* a lookup hashfile_find() defers is answered by libdb */
	snprintf(path, sizeof(path), "%s/offdup.db", t_tmpdir());
	t = lookup_db_ops.open(path, err, sizeof(err));
	ok(t != NULL, "duplicates off the page: opens");
	if (t != NULL) {
		is_int(lk(t, "many", 4, value, sizeof(value)), LK_FOUND,
		    "a key with its duplicates off the page");
		is_str(value, "dup 0 of the key", "gives its first value");
		lookup_db_ops.close(t);
	}

	snprintf(path, sizeof(path), "%s/none.db", t_tmpdir());
	err[0] = '\0';
	ok(lookup_db_ops.open(path, err, sizeof(err)) == NULL &&
	    strstr(err, "cannot open Berkeley DB file") != NULL &&
	    strstr(err, strerror(ENOENT)) != NULL, "a missing file: %s", err);
	snprintf(path, sizeof(path), "%s/text.db", t_tmpdir());
	ok(lookup_db_ops.open(path, err, sizeof(err)) == NULL,
	    "a text file is refused by libdb: %s", err);
}

int
main(void)
{
	test_shapes();
	test_offpage_dups();
	test_left_to_libdb();
	test_damage();
	test_backend();
	return t_done();
}
