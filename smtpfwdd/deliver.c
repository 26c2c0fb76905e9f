/* deliver.c - deliver one claimed message: check, batch, record, decide */
/*
 * The worker's whole job (deliver.h). The order of events is what makes
 * delivery at-least-once and never lossy: a batch is recorded as SENT
 * (spool_mark: pwrite + fsync) before the next one starts, and the file
 * is removed only when no RCPT line is left. A crash between a target's
 * success and the fsync repeats that one batch, nothing more.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deliver.h"
#include "fwd_limits.h"
#include "fwd_queue.h"
#include "../lib/log.h"
#include "../lib/outfile.h"
#include "target.h"

/* A hold reason as logged and stored, bytes. */
#define WHY_MAX		600

static volatile sig_atomic_t deliver_abort_flag;

/* deliver_set_aborted - SIGTERM handler of a worker */
void
deliver_set_aborted(int sig)
{
	(void)sig;
	deliver_abort_flag = 1;
}

/* deliver_aborted - told to stop? (SIGTERM may be blocked and pending) */
int
deliver_aborted(void)
{
	sigset_t pending;

	if (deliver_abort_flag)
		return 1;
	if (sigpending(&pending) == 0 && sigismember(&pending, SIGTERM) == 1)
		return 1;
	return 0;
}

/* deliver_backoff - first * 2^(attempts-1), at most cap */
unsigned int
deliver_backoff(unsigned int first, unsigned int cap, unsigned int attempts)
{
	unsigned int d = first, i;

	if (d > cap)
		return cap;
	for (i = 1; i < attempts; i++) {
		if (d > cap / 2)
			return cap;
		d *= 2;
	}
	return d;
}

/* quoted - a reason made safe inside "...": printable, no '"' */
static const char *
quoted(char *dst, size_t size, const char *src)
{
	size_t i;

	(void)printable(dst, size, src, strlen(src));
	for (i = 0; dst[i] != '\0'; i++)
		if (dst[i] == '"')
			dst[i] = '\'';
	return dst;
}

/* body_scan - run the message through the body checks, copying it to
   copyfd (unless -1) */
static int
body_scan(int fd, const struct spool_env *env,
    const struct sanitize_limits *lim, int copyfd, struct deliver_plan *p)
{
	static unsigned char buf[FWD_IO_BUF];
	struct sanitize_body b;
	unsigned long long left = env->size;
	off_t off = env->body_offset;
	ssize_t r;

	sanitize_body_init(&b, lim);
	while (left > 0) {
		size_t want = left < sizeof(buf) ? (size_t)left : sizeof(buf);

		r = pread(fd, buf, want, off);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			(void)snprintf(p->why, sizeof(p->why),
			    "file shorter than SIZE (truncated)");
			errno = EPROTO;
			return -1;
		}
		if (sanitize_body_feed(&b, buf, (size_t)r) == -1)
			break;
		if (copyfd != -1 && write_all(copyfd, buf, (size_t)r) == -1)
			return -1;
		off += r;
		left -= (unsigned long long)r;
	}
	if (sanitize_body_end(&b) == -1) {
		(void)snprintf(p->why, sizeof(p->why), "message: %s", b.why);
		errno = EPROTO;
		return -1;
	}
	return 0;
}

/* deliver_prepare - read and check a spool file */
int
deliver_prepare(int fd, const char *id, const struct sanitize_limits *lim,
    int copyfd, struct deliver_plan *p)
{
	const char *why;
	size_t i;
	int save;

	memset(p, 0, sizeof(*p));
	if (spool_read(fd, id, &p->env, p->why, sizeof(p->why)) == -1) {
		if (errno == ENOTSUP)
			errno = EPROTO;	/* an unknown version is held too */
		return -1;
	}
	if (sanitize_path(p->env.from, strlen(p->env.from), SANITIZE_SENDER,
	    p->from, sizeof(p->from), &why) == -1) {
		(void)snprintf(p->why, sizeof(p->why), "FROM: %s", why);
		goto bad;
	}
	p->rcpt = calloc(p->env.nrcpt, sizeof(*p->rcpt));
	if (p->rcpt == NULL)
		goto fail;
	for (i = 0; i < p->env.nrcpt; i++)
		if (sanitize_path(p->env.rcpt[i].addr,
		    strlen(p->env.rcpt[i].addr), SANITIZE_RCPT, p->rcpt[i],
		    sizeof(p->rcpt[i]), &why) == -1) {
			(void)snprintf(p->why, sizeof(p->why),
			    "recipient %zu: %s", i + 1, why);
			goto bad;
		}
	if (body_scan(fd, &p->env, lim, copyfd, p) == -1)
		goto fail;
	return 0;
bad:
	errno = EPROTO;
fail:
	save = errno;
	deliver_plan_free(p);
	errno = save;
	return -1;
}

/* deliver_plan_free - release a plan */
void
deliver_plan_free(struct deliver_plan *p)
{
	spool_env_free(&p->env);
	free(p->rcpt);
	p->rcpt = NULL;
}

/* move_noreplace - rename between directories, never over a file */
static int
move_noreplace(int fromfd, int tofd, const char *name)
{
	int save;

	if (renameat2(fromfd, name, tofd, name, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (linkat(fromfd, name, tofd, name, 0) == -1)
		return -1;
	if (unlinkat(fromfd, name, 0) == -1) {
		save = errno;
		(void)unlinkat(tofd, name, 0);	/* one place, never two */
		errno = save;
		return -1;
	}
	return 0;
}

/* write_reason - hold/NAME holds the line, on disk, its name too; 0,
   or -1 (and no NAME) */
static int
write_reason(int hold_dirfd, const char *name, const char *line)
{
	int fd, r, save = 0;

	fd = openat(hold_dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd == -1)
		return -1;
	r = write_all(fd, line, strlen(line)) == -1 || fsync(fd) == -1 ? -1 : 0;
	if (r == -1)
		save = errno;
	if (close(fd) == -1 && r == 0) {
		r = -1;
		save = errno;
	}
	if (r == 0 && fsync(hold_dirfd) == -1) {
		r = -1;
		save = errno;
	}
	if (r == -1) {
		(void)unlinkat(hold_dirfd, name, 0);
		errno = save;
	}
	return r;
}

/*
 * deliver_hold - move work/ID to hold/ID and say why.  The reason goes
 * into hold/ID.why first, so a held message never lacks one, not even
 * for the moment smtpfwdd -S or an operator may look; if it cannot be
 * written, or the name is taken in hold/ (whose file keeps its reason),
 * the message stays in work/ and the hold is tried again next time.
 * Once moved, its retry state goes: a worker does that while it still
 * holds the file's lock, before smtpfwdd -U can write a fresh one.
 */
int
deliver_hold(int work_dirfd, int hold_dirfd, const char *id, const char *why)
{
	char name[SPOOL_ID_MAX + 8], line[WHY_MAX + 2], q[WHY_MAX];
	struct stat st;
	int is_reason = 0, save;

	(void)quoted(q, sizeof(q), why);
	(void)snprintf(name, sizeof(name), "%s.why", id);
	(void)snprintf(line, sizeof(line), "%s\n", q);
	if (fstatat(hold_dirfd, id, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		goto fail;
	}
	if (write_reason(hold_dirfd, name, line) == -1) {
		is_reason = 1;
		goto fail;
	}
	if (move_noreplace(work_dirfd, hold_dirfd, id) == -1) {
		save = errno;
		(void)unlinkat(hold_dirfd, name, 0);
		errno = save;
		goto fail;
	}
	fwd_state_remove(work_dirfd, id);
	log_info("event=held id=%s reason=\"%s\"", id, q);
	return 0;
fail:
	if (is_reason)
		log_warn("event=hold-failed id=%s reason=\"%s\": cannot "
		    "write hold/%s", id, q, name);
	else
		log_warn("event=hold-failed id=%s reason=\"%s\": cannot "
		    "move work/%s to hold/", id, q, id);
	return -1;
}

/* open_message - open and lock work/ID; returns fd, or -1 and *out set */
static int
open_message(const struct deliver_job *job, int *rdfd,
    enum deliver_outcome *out, char *why, size_t whysize)
{
	struct stat a, b;
	int fd;

	*rdfd = -1;
	why[0] = '\0';
	fd = openat(job->work_dirfd, job->id, O_RDWR | O_NOFOLLOW |
	    O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT) {
			*out = DELIVER_GONE;
			return -1;
		}
		if (errno == ELOOP || errno == EISDIR || errno == ENXIO) {
			(void)snprintf(why, whysize, "not a regular file");
			*out = DELIVER_HELD;
			return -1;
		}
		log_warn("id=%s: cannot open work/%s", job->id, job->id);
		*out = DELIVER_DEFER;
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK)
			log_warn("id=%s: cannot lock work/%s", job->id,
			    job->id);
		*out = errno == EWOULDBLOCK ? DELIVER_BUSY : DELIVER_DEFER;
		(void)close(fd);
		return -1;
	}
	if (fstat(fd, &a) == -1) {
		log_warn("id=%s: fstat", job->id);
		goto defer;
	}
	if (!S_ISREG(a.st_mode)) {
		(void)snprintf(why, whysize, "not a regular file");
		*out = DELIVER_HELD;
		(void)close(fd);
		return -1;
	}
	/* A second, read-only descriptor for our reads. */
	*rdfd = openat(job->work_dirfd, job->id, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (*rdfd == -1 || fstat(*rdfd, &b) == -1 || a.st_ino != b.st_ino ||
	    a.st_dev != b.st_dev) {
		log_warnx("id=%s: work/%s changed while opened", job->id,
		    job->id);
		goto defer;
	}
	return fd;
defer:
	if (*rdfd >= 0)
		(void)close(*rdfd);
	*rdfd = -1;
	(void)close(fd);
	*out = DELIVER_DEFER;
	return -1;
}

/* count_state - recipients in one state */
static size_t
count_state(const struct spool_env *env, enum spool_rcpt_state st)
{
	size_t i, n = 0;

	for (i = 0; i < env->nrcpt; i++)
		if (env->rcpt[i].state == st)
			n++;
	return n;
}

/* log_batch - one line per recipient of a batch */
static void
log_batch(const struct fwd_conf *conf, const struct deliver_job *job,
    const struct deliver_plan *p, const size_t *idx, size_t k,
    unsigned int batchno, const struct target_result *res)
{
	const char *via = conf->target == FWD_TARGET_SENDMAIL ? "sendmail" :
	    "maildir";
	char q[TARGET_REASON_MAX];
	size_t i;

	if (res->status == TARGET_OK) {
		for (i = 0; i < k; i++)
			log_info("event=sent id=%s to=%s via=%s batch=%u",
			    job->id, p->env.rcpt[idx[i]].addr, via, batchno);
		return;
	}
	(void)quoted(q, sizeof(q), res->reason);
	for (i = 0; i < k; i++)
		log_info("event=%s id=%s to=%s via=%s batch=%u reason=\"%s\"",
		    res->status == TARGET_PERM ? "failed" : "deferred", job->id,
		    p->env.rcpt[idx[i]].addr, via, batchno, q);
}

/* run_batches - hand the pending recipients to the target, batch by
   batch: the message from bodyfd (deliver_prepare's copy), the marks
   into the spool file fd */
static void
run_batches(const struct fwd_conf *conf, const struct deliver_job *job,
    int fd, int bodyfd, struct deliver_plan *p, char *temp, char *perm,
    size_t reasonsize, int *is_aborted)
{
	size_t idx[FWD_BATCH_MAX];
	const char *rcptv[FWD_BATCH_MAX];
	struct target_msg m;
	struct target_result res;
	size_t i = 0, k;
	unsigned int batchno = 0;
	int r;

	m.id = job->id;
	m.fd = bodyfd;
	m.body_offset = 0;
	m.body_size = p->env.size;
	m.from = p->from;
	*is_aborted = 0;
	for (;;) {
		for (k = 0; i < p->env.nrcpt && k < conf->batch; i++)
			if (p->env.rcpt[i].state == SPOOL_RCPT) {
				idx[k] = i;
				rcptv[k++] = p->rcpt[i];
			}
		if (k == 0)
			return;
		if (deliver_aborted()) {
			*is_aborted = 1;
			return;
		}
		batchno++;
		if (conf->target == FWD_TARGET_SENDMAIL)
			r = target_sendmail(conf, &m, rcptv, k, &res);
		else
			r = target_maildir(conf, &m, rcptv, k, &res);
		if (r == -1)
			log_warn("id=%s: delivery", job->id);
		log_batch(conf, job, p, idx, k, batchno, &res);
		switch (res.status) {
		case TARGET_OK:
		case TARGET_PERM:
			if (res.status == TARGET_PERM)
				(void)snprintf(perm, reasonsize, "%s",
				    res.reason);
			if (spool_mark(fd, &p->env, idx, k,
			    res.status == TARGET_OK ? SPOOL_SENT : SPOOL_FAIL)
			    == -1) {
				log_warn("id=%s: cannot record batch %u in "
				    "work/%s; it may be delivered again",
				    job->id, batchno, job->id);
				(void)snprintf(temp, reasonsize,
				    "cannot record a delivered batch");
				return;
			}
			break;
		case TARGET_TEMP:
			(void)snprintf(temp, reasonsize, "%s", res.reason);
			if (deliver_aborted())
				*is_aborted = 1;
			return;
		}
	}
}

/* finish - decide what becomes of the file after the batches */
static enum deliver_outcome
finish(const struct fwd_conf *conf, const struct deliver_job *job,
    struct deliver_plan *p, const char *temp, const char *perm)
{
	char why[WHY_MAX], q[TARGET_REASON_MAX];
	size_t pending = count_state(&p->env, SPOOL_RCPT);
	size_t failed = count_state(&p->env, SPOOL_FAIL);
	size_t sent = count_state(&p->env, SPOOL_SENT);
	struct fwd_state st;
	long long base, age;
	unsigned int next;

	if (pending == 0 && failed == 0) {
		if (unlinkat(job->work_dirfd, job->id, 0) == -1) {
			log_warn("id=%s: cannot remove work/%s", job->id,
			    job->id);
			return DELIVER_DEFER;
		}
		log_info("event=done id=%s from=%s rcpts=%zu attempts=%u "
		    "delay=%lld", job->id, p->env.from, sent, job->attempts + 1,
		    job->now > p->env.time ? job->now - p->env.time : 0LL);
		return DELIVER_DONE;
	}
	if (pending == 0) {
		(void)snprintf(why, sizeof(why), "%zu of %zu recipients failed "
		    "permanently: %s", failed, p->env.nrcpt,
		    perm[0] != '\0' ? perm : "(in an earlier attempt)");
		return deliver_hold(job->work_dirfd, job->hold_dirfd, job->id,
		    why) == 0 ? DELIVER_HELD : DELIVER_DEFER;
	}
	/*
	 * The lifetime runs from arrival (the TIME line, never later than
	 * now), or from the base an earlier attempt or a release recorded.
	 */
	base = job->first > 0 ? job->first :
	    p->env.time < job->now ? p->env.time : job->now;
	age = job->now - base;
	if (age >= (long long)conf->lifetime) {
		(void)snprintf(why, sizeof(why), "queue lifetime exceeded: "
		    "%lld s old, %u attempts; last error: %s", age,
		    job->attempts + 1, temp);
		return deliver_hold(job->work_dirfd, job->hold_dirfd, job->id,
		    why) == 0 ? DELIVER_HELD : DELIVER_DEFER;
	}
	next = deliver_backoff(conf->retry_first, conf->retry_cap,
	    job->attempts + 1);
	st.attempts = job->attempts + 1;
	st.first = base;
	st.next = job->now + next;
	if (fwd_state_write(job->work_dirfd, job->id, &st) == -1)
		log_warn("id=%s: cannot write work/%s.defer", job->id, job->id);
	log_info("event=deferred id=%s pending=%zu attempts=%u retry_in=%u "
	    "reason=\"%s\"", job->id, pending, job->attempts + 1, next,
	    quoted(q, sizeof(q), temp));
	return DELIVER_DEFER;
}

/*
 * body_copy_open - a private file without a name for the checked message:
 * in work/, on the spool's disk, or in memory if in_memory, or where
 * that file system cannot, or is full. The spool file belongs to smtpd's
 * user, who can keep it open, or link it from new/ before it is claimed,
 * and change it after the checks; the targets read only this copy, so
 * what they deliver is what was checked, exactly SIZE bytes of it, for
 * every batch.
 */
static int
body_copy_open(int work_dirfd, int in_memory)
{
	int fd;

	if (!in_memory) {
		fd = openat(work_dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC,
		    0600);
		if (fd != -1 || (errno != EOPNOTSUPP && errno != EISDIR &&
		    errno != EINVAL && errno != ENOSPC && errno != EDQUOT))
			return fd;
	}
	return memfd_create("smtpfwdd-body", MFD_CLOEXEC | MFD_ALLOW_SEALING);
}

/*
 * read_only - the written copy, made read-only: mode 0400 (a memory
 * copy is also sealed against any change), and a read-only descriptor
 * through /proc in place of fd, so that a target cannot spoil what a
 * later batch reads. The new descriptor, or -1 (fd closed either way).
 */
static int
read_only(int fd)
{
	char path[64];
	int ro, save;

	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (fchmod(fd, 0400) == -1 || (fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL |
	    F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) == -1 &&
	    errno != EINVAL) ||
	    (ro = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		save = errno;
		(void)close(fd);
		errno = save;
		return -1;
	}
	(void)close(fd);
	return ro;
}

/*
 * prepare_copy - deliver_prepare() into a private copy, *bodyfd (-1 on
 * failure). A full spool disk makes the copy again in memory: delivering
 * is what frees that disk. 0, or -1 with errno (EPROTO: hold, p->why).
 */
static int
prepare_copy(const struct fwd_conf *conf, const struct deliver_job *job,
    int rdfd, struct deliver_plan *p, int *bodyfd)
{
	int in_memory, save;

	for (in_memory = 0;; in_memory = 1) {
		if ((*bodyfd = body_copy_open(job->work_dirfd, in_memory)) ==
		    -1)
			return -1;
		if (deliver_prepare(rdfd, job->id, conf->lim, *bodyfd, p) ==
		    0) {
			if ((*bodyfd = read_only(*bodyfd)) != -1)
				return 0;
			save = errno;
			deliver_plan_free(p);
			errno = save;
			return -1;
		}
		save = errno;
		(void)close(*bodyfd);
		*bodyfd = -1;
		errno = save;
		if (in_memory || (errno != ENOSPC && errno != EDQUOT))
			return -1;
		log_warn("id=%s: no room for its copy in work/; copying in "
		    "memory", job->id);
	}
}

/* deliver_message - deliver work/ID */
enum deliver_outcome
deliver_message(const struct fwd_conf *conf, const struct deliver_job *job)
{
	struct deliver_plan p;
	char why[WHY_MAX], temp[TARGET_REASON_MAX], perm[TARGET_REASON_MAX];
	enum deliver_outcome out;
	int fd, rdfd, bodyfd, is_aborted, r;

	fd = open_message(job, &rdfd, &out, why, sizeof(why));
	if (fd == -1) {
		if (out == DELIVER_HELD && deliver_hold(job->work_dirfd,
		    job->hold_dirfd, job->id, why) == -1)
			out = DELIVER_DEFER;
		return out;
	}
	r = prepare_copy(conf, job, rdfd, &p, &bodyfd);
	(void)close(rdfd);
	if (r == -1) {
		if (errno == EPROTO) {
			(void)snprintf(why, sizeof(why), "%s", p.why);
			out = deliver_hold(job->work_dirfd, job->hold_dirfd,
			    job->id, why) == 0 ? DELIVER_HELD : DELIVER_DEFER;
		} else {
			log_warn("id=%s: cannot read work/%s into a private "
			    "copy", job->id, job->id);
			out = DELIVER_DEFER;
		}
		(void)close(fd);
		return out;
	}
	temp[0] = perm[0] = '\0';
	run_batches(conf, job, fd, bodyfd, &p, temp, perm, sizeof(temp),
	    &is_aborted);
	if (is_aborted && count_state(&p.env, SPOOL_RCPT) > 0) {
		log_info("event=interrupted id=%s pending=%zu", job->id,
		    count_state(&p.env, SPOOL_RCPT));
		out = DELIVER_ABORTED;
	} else
		out = finish(conf, job, &p, temp, perm);
	deliver_plan_free(&p);
	(void)close(bodyfd);
	(void)close(fd);
	return out;
}
