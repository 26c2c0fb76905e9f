/* fwd_queue_test.c - unit tests of smtpfwdd/fwd_queue.c and fwd_status.c */
/*
 * The in-memory index (add, find, arrival order, removal and reuse,
 * full queue, the due scan), the retry state files, the directory
 * checks and the claim, and the status counts.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../t.h"
#include "../../smtpfwdd/deliver.h"
#include "../../smtpfwdd/fwd_queue.h"
#include "../../smtpfwdd/fwd_status.h"

/* test_index - add, find, ring order, remove, reuse */
static void
test_index(void)
{
	struct fwd_queue q;
	char id[32];
	int i, a, b, c;

	is_int(fwd_queue_init(&q, 0), -1, "max 0 refused");
	is_int(fwd_queue_init(&q, FWD_QUEUE_MAX + 1), -1, "over max refused");
	is_int(fwd_queue_init(&q, 4), 0, "init 4");
	a = fwd_queue_add(&q, "1-a", FWD_IN_NEW, 100);
	b = fwd_queue_add(&q, "2-b", FWD_IN_NEW, 100);
	c = fwd_queue_add(&q, "3-c", FWD_IN_WORK, 100);
	ok(a >= 0 && b >= 0 && c >= 0, "three added");
	is_int(fwd_queue_add(&q, "2-b", FWD_IN_NEW, 100), -1, "known refused");
	is_int(errno, EEXIST, "EEXIST");
	is_int(fwd_queue_find(&q, "2-b"), b, "find");
	is_int(fwd_queue_find(&q, "9-z"), -1, "find unknown");
	is_int((int)q.nnew, 2, "two new");
	is_int((int)q.nwork, 1, "one work");
	is_int(fwd_queue_add(&q, "4-d", FWD_IN_NEW, 100) >= 0, 1, "fourth");
	is_int(fwd_queue_add(&q, "5-e", FWD_IN_NEW, 100), -1, "full");
	is_int(errno, ENOSPC, "ENOSPC");
	is_int(fwd_queue_pop_new(&q), a, "oldest arrival first");
	fwd_queue_to_work(&q, a);
	is_int((int)q.nnew, 2, "claimed: one less new");
	is_int((int)q.nwork, 2, "one more work");
	is_int(fwd_queue_pop_new(&q), b, "then the second");
	fwd_queue_remove(&q, b);
	is_int(fwd_queue_find(&q, "2-b"), -1, "removed");
	i = fwd_queue_add(&q, "5-e", FWD_IN_NEW, 100);
	is_int(i, b, "its slot is reused");
	is_int(fwd_queue_pop_new(&q), fwd_queue_find(&q, "4-d"),
	    "arrival order kept across reuse");
	is_int(fwd_queue_pop_new(&q), i, "newest last");
	is_int(fwd_queue_pop_new(&q), -1, "ring empty");
	fwd_queue_free(&q);

	/* Many entries in a small table: chains and wrap-around. */
	is_int(fwd_queue_init(&q, 1000), 0, "init 1000");
	for (i = 0; i < 1000; i++) {
		(void)snprintf(id, sizeof(id), "%d-x", i);
		if (fwd_queue_add(&q, id, FWD_IN_NEW, 1) < 0)
			break;
	}
	is_int(i, 1000, "1000 added");
	for (i = 0; i < 1000; i++) {
		(void)snprintf(id, sizeof(id), "%d-x", i);
		if (fwd_queue_find(&q, id) < 0 || fwd_queue_pop_new(&q) !=
		    fwd_queue_find(&q, id))
			break;
		fwd_queue_remove(&q, fwd_queue_find(&q, id));
	}
	is_int(i, 1000, "all found, in order, and removed");
	is_int((int)q.count, 0, "empty again");
	fwd_queue_free(&q);
}

/* test_due - the retry scan */
static void
test_due(void)
{
	struct fwd_queue q;
	int a, b, c;

	is_int(fwd_queue_init(&q, 8), 0, "init");
	is_int(fwd_queue_due(&q, 1000), -1, "nothing due when empty");
	ok(q.earliest == LLONG_MAX, "no earliest");
	a = fwd_queue_add(&q, "1-a", FWD_IN_WORK, 100);
	b = fwd_queue_add(&q, "2-b", FWD_IN_WORK, 100);
	c = fwd_queue_add(&q, "3-c", FWD_IN_NEW, 100);
	(void)c;
	fwd_queue_set_next(&q, a, 500);
	fwd_queue_set_next(&q, b, 300);
	q.earliest = 300;	/* what a full pass would find */
	is_int(fwd_queue_due(&q, 299), -1, "not due before 300");
	is_int(fwd_queue_due(&q, 300), b, "b due at 300");
	q.e[b].is_running = 1;
	is_int(fwd_queue_due(&q, 400), -1, "running b is not due; a not yet");
	ok(q.earliest == 500, "earliest is a's time");
	is_int(fwd_queue_due(&q, 500), a, "a due at 500");
	fwd_queue_set_next(&q, b, 50);
	q.e[b].is_running = 0;
	ok(q.earliest == 50, "set_next lowers earliest");
	is_int(fwd_queue_due(&q, 60), b, "b again");
	/* With the last work/ entry gone there is nothing to wake for:
	   a stale earliest would wake the master every second. */
	fwd_queue_remove(&q, a);
	ok(q.earliest == 50, "one work/ entry left: earliest kept");
	fwd_queue_remove(&q, b);
	ok(q.earliest == LLONG_MAX, "none left: no earliest");
	fwd_queue_free(&q);
}

/* test_backoff - first, doubling, capped, no overflow */
static void
test_backoff(void)
{
	is_int(deliver_backoff(30, 3600, 1), 30, "first retry");
	is_int(deliver_backoff(30, 3600, 2), 60, "doubled");
	is_int(deliver_backoff(30, 3600, 7), 1920, "7th");
	is_int(deliver_backoff(30, 3600, 8), 3600, "capped");
	is_int(deliver_backoff(30, 3600, 4000000000U), 3600, "huge attempts");
	is_int(deliver_backoff(1, 2, 3), 2, "small cap");
	is_int(deliver_backoff(50, 40, 1), 40, "first above cap");
	is_int(deliver_backoff(86400, 86400, 100), 86400, "limits");
}

/* mkdir_p - mkdir under the test directory */
static void
mkdir_p(char *buf, size_t size, const char *sub, mode_t mode)
{
	(void)snprintf(buf, size, "%s/%s", t_tmpdir(), sub);
	ok(mkdir(buf, mode) == 0 || errno == EEXIST, "mkdir %s", sub);
	(void)chmod(buf, mode);
}

/* touch - create dir/name with contents */
static void
touch(int dirfd, const char *name, const char *text)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ok(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text),
	    "create %s", name);
	if (fd >= 0)
		(void)close(fd);
}

/* test_dirs - checks, creation of work/ and hold/, the claim */
static void
test_dirs(void)
{
	char spool[600], p[700], why[800];
	struct fwd_dirs d;
	struct fwd_status st;
	struct fwd_state s;

	mkdir_p(spool, sizeof(spool), "spool", 0750);
	(void)snprintf(p, sizeof(p), "%s/new", spool);
	is_int(fwd_dirs_open(spool, &d, why, sizeof(why)), -1, "no new/");
	ok(strstr(why, "/new: No such file") != NULL, "why: %s", why);
	ok(mkdir(p, 0777) == 0 && chmod(p, 0777) == 0, "new/ 0777");
	is_int(fwd_dirs_open(spool, &d, why, sizeof(why)), -1,
	    "new/ writable by others refused");
	ok(strstr(why, "new: writable by others") != NULL, "why: %s", why);
	ok(chmod(p, 0770) == 0, "new/ 0770");
	is_int(fwd_dirs_open(spool, &d, why, sizeof(why)), 0,
	    "opens, creating work/ and hold/");
	(void)snprintf(p, sizeof(p), "%s/work", spool);
	{
		struct stat sb;

		ok(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0700,
		    "work/ is 0700");
	}
	fwd_dirs_close(&d);
	ok(chmod(p, 0770) == 0, "work/ 0770");
	is_int(fwd_dirs_open(spool, &d, why, sizeof(why)), -1,
	    "group-writable work/ refused");
	ok(chmod(p, 0700) == 0, "work/ 0700");
	is_int(fwd_dirs_open(spool, &d, why, sizeof(why)), 0, "open again");

	touch(d.new, "100-a-1-1", "x");
	touch(d.new, "not.an.id", "x");
	is_int(fwd_claim(&d, "100-a-1-1"), 0, "claim");
	ok(faccessat(d.work, "100-a-1-1", F_OK, 0) == 0, "now in work/");
	is_int(fwd_claim(&d, "100-a-1-1"), -1, "second claim fails");
	is_int(errno, ENOENT, "ENOENT");
	touch(d.new, "100-a-1-1", "y");
	is_int(fwd_claim(&d, "100-a-1-1"), -1, "never replaces work/ID");
	is_int(errno, EEXIST, "EEXIST");

	/* State files. */
	is_int(fwd_state_read(d.work, "100-a-1-1", &s), -1, "no state");
	is_int(errno, ENOENT, "ENOENT");
	s.attempts = 3;
	s.first = 1700000000;
	s.next = 1700000240;
	is_int(fwd_state_write(d.work, "100-a-1-1", &s), 0, "write state");
	memset(&s, 0, sizeof(s));
	is_int(fwd_state_read(d.work, "100-a-1-1", &s), 0, "read state");
	ok(s.attempts == 3 && s.first == 1700000000 && s.next == 1700000240,
	    "round trip");
	ok(faccessat(d.work, "100-a-1-1.tmp", F_OK, 0) == -1, "no tmp left");
	touch(d.work, "100-a-1-1.defer", "ATTEMPTS 1\nFIRST x\nNEXT 2\n");
	is_int(fwd_state_read(d.work, "100-a-1-1", &s), -1, "garbage refused");
	is_int(errno, EPROTO, "EPROTO");
	touch(d.work, "100-a-1-1.defer", "ATTEMPTS 1\nNEXT 2\n");
	is_int(fwd_state_read(d.work, "100-a-1-1", &s), -1, "missing FIRST");
	fwd_state_remove(d.work, "100-a-1-1");
	ok(faccessat(d.work, "100-a-1-1.defer", F_OK, 0) == -1, "removed");

	/* Status counts. */
	touch(d.work, "100-a-1-1.defer", "ATTEMPTS 1\nFIRST 1\nNEXT 2\n");
	touch(d.work, "50-b-1-1", "x");
	touch(d.hold, "70-c-1-1", "x");
	touch(d.hold, "70-c-1-1.why", "because\n");
	is_int(fwd_status_collect(&d, &st), 0, "collect");
	is_int((int)st.nnew, 1, "one new (the dot name is no message)");
	is_int((int)st.nwork, 2, "two in work/");
	is_int((int)st.ndeferred, 1, "one deferred");
	is_int((int)st.nhold, 1, "one held");
	is_str(st.oldest, "50-b-1-1", "oldest by its id's time");
	ok(st.oldest_time == 50, "its time");
	is_str(st.oldest_hold, "70-c-1-1", "oldest held");
	fwd_dirs_close(&d);
}

/* test_id_time - the arrival time in an id */
static void
test_id_time(void)
{
	ok(fwd_id_time("1732377600-012345-4321-1") == 1732377600, "smtpd id");
	ok(fwd_id_time("abc-1") == -1, "no digits");
	ok(fwd_id_time("123") == -1, "no dash");
	ok(fwd_id_time("1234567890123456789-1") == -1, "too many digits");
}

int
main(void)
{
	test_index();
	test_due();
	test_backoff();
	test_dirs();
	test_id_time();
	return t_done();
}
