/* hashfile_fuzz.c - libFuzzer target for the Berkeley DB hash reader */
/*
 * Two kinds of input, chosen by the first byte. Even: the rest is a
 * whole file; when it is long enough it is cut to whole pages and its
 * meta page is made one that hashfile_init() takes (magic, version,
 * page size, type, the test string's hash), so the fuzzer spends its
 * time on the pages. Odd:
 * the rest is a list of (3-byte offset, byte) patches applied to a
 * real file of 512-byte pages that libdb writes at start-up, with
 * overflow keys and values, duplicates and several pages a bucket.
 * Each file is read through a memory file descriptor and searched for
 * fixed keys and a key taken from the input; nothing may read outside
 * a page or loop without end. Built and run by `make fuzz`.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/mman.h>

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <db.h>

#include "../../rules/hashfile.h"
#include "fuzz_patch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PAGE	512
#define CHARKEY	"%$sniglet^&"

static unsigned char *sample;
static size_t sample_size;
static char big[2000];

/* put - one pair into the sample */
static void
put(DB *db, const void *k, size_t kl, const void *v, size_t vl)
{
	DBT key, val;

	memset(&key, 0, sizeof(key));
	memset(&val, 0, sizeof(val));
	key.data = (void *)k;
	key.size = (u_int32_t)kl;
	val.data = (void *)v;
	val.size = (u_int32_t)vl;
	if (db->put(db, NULL, &key, &val, 0) != 0)
		abort();
}

/* make_sample - a real hash file with every kind of item */
static void
make_sample(void)
{
	char path[] = "/tmp/hashfile_fuzz.XXXXXX", k[32];
	DB *db;
	int fd, i;

	memset(big, 'x', sizeof(big));
	if ((fd = mkstemp(path)) == -1)
		abort();
	close(fd);
	unlink(path);
	if (db_create(&db, NULL, 0) != 0 || db->set_pagesize(db, PAGE) != 0 ||
	    db->set_flags(db, DB_DUP) != 0 ||
	    db->open(db, NULL, path, NULL, DB_HASH, DB_CREATE, 0600) != 0)
		abort();
	for (i = 0; i < 300; i++) {
		snprintf(k, sizeof(k), "key%d", i);
		put(db, k, strlen(k), big, (size_t)(i % 50));
	}
	put(db, big, 300, "a key on overflow pages", 23);
	put(db, "big value", 9, big, sizeof(big));
	put(db, "dup", 3, "one", 3);
	put(db, "dup", 3, "two", 3);
	if (db->close(db, 0) != 0 || (fd = open(path, O_RDONLY)) == -1)
		abort();
	sample_size = (size_t)lseek(fd, 0, SEEK_END);
	if ((sample = malloc(sample_size)) == NULL ||
	    pread(fd, sample, sample_size, 0) != (ssize_t)sample_size)
		abort();
	close(fd);
	unlink(path);
}

/* exercise - init and search the file img */
static void
exercise(const uint8_t *img, size_t size, const uint8_t *key, size_t klen)
{
	static const char *const keys[] = { "key0", "key7", "key299",
	    "big value", "dup", "absent", "" };
	static unsigned char value[4096];
	struct hashfile hf;
	size_t i, len;
	int fd;

	if ((fd = memfd_create("hashfile_fuzz", 0)) == -1)
		return;
	if (write(fd, img, size) == (ssize_t)size &&
	    hashfile_init(&hf, fd) == 0) {
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			(void)hashfile_find(&hf, keys[i], strlen(keys[i]),
			    value, sizeof(value), &len);
		(void)hashfile_find(&hf, big, 300, value, 10, &len);
		(void)hashfile_find(&hf, key, klen < 1100 ? klen : 1100,
		    value, sizeof(value), &len);
		hashfile_fini(&hf);
	}
	close(fd);
}

/* LLVMFuzzerTestOneInput - one input */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *img;
	uint32_t v;
	size_t n;

	if (sample == NULL)
		make_sample();
	if ((img = fuzz_image(data, size, sample, sample_size, &n)) == NULL)
		return 0;
	/* a whole file: cut to whole pages, its meta page made one the
	   reader takes unless bit 1 */
	if ((data[0] & 3) == 0 && n >= PAGE) {
		n -= n % PAGE;
		v = 0;
		memcpy(img + 8, &v, 4);
		v = 0x061561;
		memcpy(img + 12, &v, 4);
		v = 9;
		memcpy(img + 16, &v, 4);
		v = PAGE;
		memcpy(img + 20, &v, 4);
		memcpy(img + 24, "\0\010\0", 3);
		v = (uint32_t)(n / PAGE - 1);	/* the last page */
		memcpy(img + 32, &v, 4);
		v = 0;
		memcpy(img + 36, &v, 4);
		memcpy(img + 48, &v, 4);
		v = hashfile_hash(CHARKEY, sizeof(CHARKEY));
		memcpy(img + 92, &v, 4);
	}
	exercise(img, n, data + 1, size - 1 < 64 ? size - 1 : 64);
	free(img);
	return 0;
}
