/* fwd_status.c - the queue report: smtpfwdd -S, and the SIGUSR1 log line */
/*
 * Counting is done from the directories, not from a running daemon, so
 * the report is right after a crash too. Ages come from the ids
 * (smtpd's ids begin with the arrival time), else from the file's mtime.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fwd_limits.h"
#include "fwd_status.h"
#include "../lib/spool.h"

/* fwd_id_time - the arrival time at the start of an id, or -1 */
long long
fwd_id_time(const char *id)
{
	long long v = 0;
	size_t i;

	for (i = 0; id[i] >= '0' && id[i] <= '9'; i++) {
		if (i >= 18)
			return -1;
		v = v * 10 + (id[i] - '0');
	}
	if (i == 0 || id[i] != '-')
		return -1;
	return v;
}

/* entry_time - an id's arrival time, or its file's mtime */
static long long
entry_time(int dirfd, const char *name)
{
	struct stat st;
	long long t = fwd_id_time(name);

	if (t >= 0)
		return t;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return (long long)st.st_mtime;
	return -1;
}

/* has_suffix - does name end in ".suffix"? */
static int
has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n > s + 1 && name[n - s - 1] == '.' &&
	    memcmp(name + n - s, suffix, s) == 0;
}

/* count_dir - messages (valid ids) and state files of one directory */
static int
count_dir(int dirfd, size_t *nmsg, size_t *nstate, char *oldest,
    long long *oldest_time)
{
	DIR *dir;
	struct dirent *de;
	int fd;

	if (dirfd < 0)
		return 0;
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	dir = fdopendir(fd);
	if (dir == NULL) {
		(void)close(fd);
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		long long t;

		if (nstate != NULL && has_suffix(de->d_name, "defer"))
			(*nstate)++;
		if (!spool_id_valid(de->d_name, strlen(de->d_name)))
			continue;
		(*nmsg)++;
		t = entry_time(dirfd, de->d_name);
		if (t >= 0 && (*oldest_time < 0 || t < *oldest_time)) {
			*oldest_time = t;
			(void)snprintf(oldest, SPOOL_ID_MAX + 1, "%.64s",
			    de->d_name);
		}
	}
	(void)closedir(dir);
	return 0;
}

/* fwd_status_collect - count the directories */
int
fwd_status_collect(const struct fwd_dirs *d, struct fwd_status *st)
{
	memset(st, 0, sizeof(*st));
	st->oldest_time = st->oldest_hold_time = -1;
	if (count_dir(d->new, &st->nnew, NULL, st->oldest,
	    &st->oldest_time) == -1 ||
	    count_dir(d->work, &st->nwork, &st->ndeferred, st->oldest,
	    &st->oldest_time) == -1 ||
	    count_dir(d->hold, &st->nhold, NULL, st->oldest_hold,
	    &st->oldest_hold_time) == -1)
		return -1;
	return 0;
}

/* fwd_daemon_pid - the pid holding the daemon's lock, 0, or -1 */
long
fwd_daemon_pid(int workfd)
{
	struct flock fl;
	int fd;

	if (workfd < 0)
		return 0;
	fd = openat(workfd, FWD_LOCK_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_GETLK, &fl) == -1) {
		(void)close(fd);
		return -1;
	}
	(void)close(fd);
	if (fl.l_type == F_UNLCK)
		return 0;
	return fl.l_pid > 0 ? (long)fl.l_pid : -1;
}

/* print_holds - each held message and its reason */
static int
print_holds(int holdfd, size_t limit)
{
	char name[SPOOL_ID_MAX + 8], why[FWD_STATE_MAX + 1];
	DIR *dir;
	struct dirent *de;
	size_t shown = 0;
	ssize_t n;
	int fd;

	if (holdfd < 0)
		return 0;
	fd = openat(holdfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			(void)close(fd);
		return -1;
	}
	while ((de = readdir(dir)) != NULL && shown < limit) {
		if (!spool_id_valid(de->d_name, strlen(de->d_name)))
			continue;
		(void)snprintf(name, sizeof(name), "%.64s.why", de->d_name);
		why[0] = '\0';
		fd = openat(holdfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			n = read(fd, why, sizeof(why) - 1);
			why[n > 0 ? n : 0] = '\0';
			(void)close(fd);
		}
		why[strcspn(why, "\n")] = '\0';
		if (dprintf(1, "held %s: %s\n", de->d_name,
		    why[0] != '\0' ? why : "(no reason recorded)") < 0) {
			(void)closedir(dir);
			return -1;
		}
		shown++;
	}
	(void)closedir(dir);
	return 0;
}

/* open_ro - a subdirectory for reading, or -1 if absent */
static int
open_ro(int spoolfd, const char *sub)
{
	return openat(spoolfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* fwd_status_print - smtpfwdd -S */
int
fwd_status_print(const char *spooldir, long long now, size_t limit)
{
	struct fwd_dirs d;
	struct fwd_status st;
	long pid;
	int r = -1;

	d.new = d.work = d.hold = -1;
	d.spool = open(spooldir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d.spool == -1)
		return -1;
	d.new = open_ro(d.spool, "new");
	d.work = open_ro(d.spool, "work");
	d.hold = open_ro(d.spool, "hold");
	if (d.new == -1)
		goto out;
	if (fwd_status_collect(&d, &st) == -1)
		goto out;
	pid = fwd_daemon_pid(d.work);
	if (dprintf(1, "spool: %s\n", spooldir) < 0)
		goto out;
	if (pid > 0)
		r = dprintf(1, "daemon: running, pid %ld\n", pid);
	else
		r = dprintf(1, "daemon: %s\n", pid == 0 ? "not running" :
		    "unknown (cannot read the lock file)");
	if (r < 0 || dprintf(1, "queue: %zu\nnew: %zu\nwork: %zu\n"
	    "deferred: %zu\nheld: %zu\n", st.nnew + st.nwork, st.nnew,
	    st.nwork, st.ndeferred, st.nhold) < 0) {
		r = -1;
		goto out;
	}
	if (st.oldest_time >= 0 && dprintf(1, "oldest: %s age %lld s\n",
	    st.oldest, now > st.oldest_time ? now - st.oldest_time : 0) < 0) {
		r = -1;
		goto out;
	}
	if (st.oldest_hold_time >= 0 && dprintf(1, "oldest-held: %s age %lld "
	    "s\n", st.oldest_hold, now > st.oldest_hold_time ?
	    now - st.oldest_hold_time : 0) < 0) {
		r = -1;
		goto out;
	}
	r = print_holds(d.hold, limit);
out:
	fwd_dirs_close(&d);
	return r;
}
