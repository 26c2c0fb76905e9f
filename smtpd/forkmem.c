/* forkmem.c - make a master with a big ruleset cheap to fork */
/*
 * See forkmem.h. /proc/self/maps is read through a descriptor opened
 * before the chroot; each line is "lo-hi perms offset dev inode [path]",
 * and a private anonymous mapping is "rw-p" with inode 0 ([heap], or no
 * name). MADV_COLLAPSE (Linux 6.1, value 25) works whatever the THP
 * sysfs setting; older kernels answer EINVAL and nothing changes.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/auxv.h>
#include <sys/mman.h>

#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/log.h"
#include "forkmem.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25	/* Linux 6.1; glibc 2.36 lacks the name */
#endif

#define HUGE_PAGE	((uintptr_t)2 << 20)
#define HEAP_BLOCK_MAX	(32 << 20)	/* glibc's highest M_MMAP_THRESHOLD */
#define MAPS_MAX	65536		/* bytes of /proc/self/maps read */

/* forkmem_prepare - a heap on a 2 MB boundary, big blocks on it */
void
forkmem_prepare(void)
{
	uintptr_t cur;

	/* A static program (no interpreter) keeps its break: glibc's
	   malloc there fails once the break has moved under it. The heap
	   is then collapsed from its first whole 2 MB range on. */
	if (getauxval(AT_BASE) == 0)
		cur = (uintptr_t)-1;
	else
		cur = (uintptr_t)sbrk(0);
	if (cur != (uintptr_t)-1 && (cur & (HUGE_PAGE - 1)) != 0 &&
	    sbrk((intptr_t)(((cur + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1)) -
	    cur)) == (void *)-1)
		return;		/* no matter: fewer huge pages */
	/* 0 means "not set": best effort too, and logging is not open. */
	(void)mallopt(M_MMAP_THRESHOLD, HEAP_BLOCK_MAX);
}

/* forkmem_open - /proc/self/maps, for later */
int
forkmem_open(void)
{
	return open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
}

/* anon_range - lo and hi of a private anonymous mapping in line; 0/-1 */
static int
anon_range(const char *line, uintptr_t *lo, uintptr_t *hi)
{
	unsigned long long a, b, inode;
	char *p, *end;

	a = strtoull(line, &p, 16);
	if (*p != '-')
		return -1;
	b = strtoull(p + 1, &p, 16);
	while (*p == ' ')
		p++;
	if (strncmp(p, "rw-p ", 5) != 0)
		return -1;
	p += 5;
	(void)strtoull(p, &p, 16);		/* offset */
	while (*p == ' ')
		p++;
	if ((p = strchr(p, ' ')) == NULL)	/* past the device */
		return -1;
	inode = strtoull(p, &end, 10);
	if (inode != 0 || strstr(end, "[stack]") != NULL)
		return -1;
	*lo = (uintptr_t)a;
	*hi = (uintptr_t)b;
	return 0;
}

/* forkmem_share - collapse the anonymous memory into huge pages */
int
forkmem_share(int maps_fd)
{
	char *buf, *line, *next;
	uintptr_t lo, hi, start, end;
	size_t got = 0;
	ssize_t n;
	int pages = 0;

	if (maps_fd == -1 || lseek(maps_fd, 0, SEEK_SET) == -1 ||
	    (buf = malloc(MAPS_MAX)) == NULL)
		return 0;
	while (got < MAPS_MAX - 1 && (n = read(maps_fd, buf + got,
	    MAPS_MAX - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	for (line = buf; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (anon_range(line, &lo, &hi) == -1)
			continue;
		start = (lo + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
		end = hi & ~(HUGE_PAGE - 1);
		if (end > start && madvise((void *)start, end - start,
		    MADV_COLLAPSE) == 0)
			pages += (int)((end - start) / HUGE_PAGE);
	}
	free(buf);
	log_debug("event=daemon-memory huge_pages=%d", pages);
	return pages;
}
