/* fwd_master.c - the daemon's event loop: watch, claim, dispatch, reap */
/*
 * Single-threaded. Signals are blocked except inside ppoll(), so a
 * signal is never lost between a check and a sleep; handlers only set
 * flags. A message moves new/ -> work/ here (fwd_claim) and is then
 * owned by exactly one worker at a time (and flock()ed by it, in case
 * a worker of a killed master is still alive). The master alone keeps
 * the retry schedule, in memory and in work/ID.defer.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deliver.h"
#include "fwd_limits.h"
#include "fwd_master.h"
#include "fwd_status.h"
#include "../lib/log.h"

/* Seconds between SIGTERM and SIGKILL for workers that overstay a stop. */
#define STOP_KILL_AFTER	5

/* Bytes of inotify events read at once. */
#define INOTIFY_BUF	65536

struct child {
	pid_t pid;		/* 0: free slot */
	int entry;
};

struct master {
	const struct fwd_conf *conf;
	const struct fwd_dirs *dirs;
	struct fwd_queue q;
	struct child *child;
	size_t nchild;
	int lockfd;
	int ifd;		/* inotify on new/, or -1 */
	int trigger_rd;		/* the trigger FIFO, or -1 */
	int trigger_wr;		/* our own writer: no EOF on the FIFO */
	int is_stopping;
	int is_full;		/* the queue was full at the last scan */
	int retry_turn;		/* dispatch alternates retries and arrivals */
	long long next_scan;
	long long stop_at;	/* when workers are told to stop */
	long long kill_at;	/* when they are killed */
	long long fork_retry_at;
	pid_t pid;
};

static volatile sig_atomic_t got_term, got_hup, got_usr1, got_chld;

/* on_signal - record a signal; the loop acts on it */
static void
on_signal(int sig)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		got_term++;
		break;
	case SIGHUP:
		got_hup = 1;
		break;
	case SIGUSR1:
		got_usr1 = 1;
		break;
	case SIGCHLD:
		got_chld = 1;
		break;
	}
}

/* now_s - the wall clock, seconds */
static long long
now_s(void)
{
	return (long long)time(NULL);
}

/*
 * setup_signals - handlers for the signals the loop acts on, those
 * signals blocked, and in *unblocked the mask ppoll() waits with.
 */
static int
setup_signals(sigset_t *unblocked)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGCHLD };
	struct sigaction sa;
	sigset_t blocked;
	size_t i;

	(void)sigemptyset(&blocked);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void)sigaddset(&blocked, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &blocked, unblocked) == -1)
		return -1;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void)sigdelset(unblocked, sigs[i]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_mask = blocked;
	sa.sa_flags = SA_NOCLDSTOP;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) == -1)
			return -1;
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	return sigaction(SIGPIPE, &sa, NULL);
}

/* add_new - a name seen in new/; returns -1 only when the queue is full */
static int
add_new(struct master *m, const char *name, long long now)
{
	if (!spool_id_valid(name, strlen(name)))
		return 0;
	if (fwd_queue_add(&m->q, name, FWD_IN_NEW, now) == -1 &&
	    errno == ENOSPC) {
		if (!m->is_full)
			log_warnx("event=queue-full max=%zu: further messages "
			    "wait in new/", m->q.max);
		m->is_full = 1;
		return -1;
	}
	return 0;
}

/* open_scan - a fresh directory stream of dirfd */
static DIR *
open_scan(int dirfd)
{
	DIR *dir;
	int fd;

	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return NULL;
	dir = fdopendir(fd);
	if (dir == NULL)
		(void)close(fd);
	return dir;
}

/* new_scan - add every message in new/ that is not known yet */
static void
new_scan(struct master *m, long long now)
{
	struct dirent *de;
	DIR *dir;

	m->is_full = 0;
	dir = open_scan(m->dirs->new);
	if (dir == NULL) {
		log_warn("cannot read %s/new", m->conf->spooldir);
		return;
	}
	while ((de = readdir(dir)) != NULL)
		if (add_new(m, de->d_name, now) == -1)
			break;
	(void)closedir(dir);
}

/* take_state - entry i as its work/ID.defer says, if it has one */
static void
take_state(struct master *m, int i, long long now)
{
	struct fwd_entry *e = &m->q.e[i];
	struct fwd_state st;

	if (fwd_state_read(m->dirs->work, e->id, &st) == -1)
		return;
	e->has_state = 1;
	e->attempts = st.attempts;
	e->first = st.first;
	/* A clock set back must not park a message for long. */
	if (st.next > now + (long long)m->conf->retry_cap)
		st.next = now;
	fwd_queue_set_next(&m->q, i, st.next);
}

/* load_work - one message found in work/: due now, or as its state says */
static void
load_work(struct master *m, const char *id, long long now)
{
	int i;

	i = fwd_queue_add(&m->q, id, FWD_IN_WORK, now);
	if (i != -1)
		take_state(m, i, now);
}

/* id_suffix - NAME is ID.SUFFIX: ID into id, and SUFFIX; else NULL */
static const char *
id_suffix(const char *name, char id[SPOOL_ID_MAX + 1])
{
	const char *dot = strchr(name, '.');

	if (dot == NULL || dot == name || (size_t)(dot - name) > SPOOL_ID_MAX)
		return NULL;
	memcpy(id, name, (size_t)(dot - name));
	id[dot - name] = '\0';
	return dot + 1;
}

/* absent - dirfd holds no ID */
static int
absent(int dirfd, const char *id)
{
	struct stat st;

	return fstatat(dirfd, id, &st, AT_SYMLINK_NOFOLLOW) == -1 &&
	    errno == ENOENT;
}

/* work_scan - messages in work/ (resumed after a crash or restart) */
static void
work_scan(struct master *m, long long now, int is_startup)
{
	char id[SPOOL_ID_MAX + 1];
	struct dirent *de;
	DIR *dir;
	const char *suf;

	dir = open_scan(m->dirs->work);
	if (dir == NULL) {
		log_warn("cannot read %s/work", m->conf->spooldir);
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		if (spool_id_valid(de->d_name, strlen(de->d_name))) {
			load_work(m, de->d_name, now);
			continue;
		}
		/* ID.tmp debris, and ID.defer whose message is gone. */
		if (is_startup && (suf = id_suffix(de->d_name, id)) != NULL &&
		    (strcmp(suf, "tmp") == 0 || (strcmp(suf, "defer") == 0 &&
		    absent(m->dirs->work, id))))
			(void)unlinkat(m->dirs->work, de->d_name, 0);
	}
	(void)closedir(dir);
}

/*
 * hold_tidy - at start-up, remove ID.why files in hold/ whose message is
 * not there: a crash while holding or releasing it.  Messages in hold/
 * are never touched.
 */
static void
hold_tidy(const struct master *m)
{
	char id[SPOOL_ID_MAX + 1];
	struct dirent *de;
	const char *suf;
	DIR *dir;

	dir = open_scan(m->dirs->hold);
	if (dir == NULL) {
		log_warn("cannot read %s/hold", m->conf->spooldir);
		return;
	}
	while ((de = readdir(dir)) != NULL)
		if ((suf = id_suffix(de->d_name, id)) != NULL &&
		    strcmp(suf, "why") == 0 && absent(m->dirs->hold, id))
			(void)unlinkat(m->dirs->hold, de->d_name, 0);
	(void)closedir(dir);
}

/* read_inotify - names that arrived in new/ */
static void
read_inotify(struct master *m, long long now)
{
	static char buf[INOTIFY_BUF]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;
	char *p;
	int need_scan = 0;

	for (;;) {
		n = read(m->ifd, buf, sizeof(buf));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				log_warn("inotify read");
			break;
		}
		if (n == 0)
			break;
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW)
				need_scan = 1;
			else if (ev->len > 0 && add_new(m, ev->name, now) == -1)
				need_scan = 1;
		}
	}
	if (need_scan && !m->is_full)
		new_scan(m, now);
}

/* read_trigger - drain the FIFO; without inotify it means "scan new/" */
static void
read_trigger(struct master *m, long long now)
{
	char buf[512];
	ssize_t n;
	int any = 0;

	while ((n = read(m->trigger_rd, buf, sizeof(buf))) > 0 ||
	    (n == -1 && errno == EINTR))
		any = 1;
	if (any && m->ifd == -1)
		new_scan(m, now);
}

/* open_watchers - inotify on new/, and the trigger FIFO if there is one */
static void
open_watchers(struct master *m)
{
	char path[PATH_MAX];
	struct stat st;
	int n;

	m->ifd = m->trigger_rd = m->trigger_wr = -1;
	n = snprintf(path, sizeof(path), "%s/new", m->conf->spooldir);
	if (n > 0 && (size_t)n < sizeof(path)) {
		m->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (m->ifd == -1)
			log_warn("inotify_init1: new mail is found by the "
			    "trigger FIFO and scans only");
		else if (inotify_add_watch(m->ifd, path, IN_MOVED_TO |
		    IN_CREATE | IN_ONLYDIR) == -1) {
			log_warn("inotify_add_watch %s", path);
			(void)close(m->ifd);
			m->ifd = -1;
		}
	}
	m->trigger_rd = openat(m->dirs->spool, "trigger", O_RDONLY |
	    O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (m->trigger_rd == -1)
		return;
	if (fstat(m->trigger_rd, &st) == -1 || !S_ISFIFO(st.st_mode)) {
		log_warnx("%s/trigger is not a FIFO: ignored",
		    m->conf->spooldir);
		(void)close(m->trigger_rd);
		m->trigger_rd = -1;
		return;
	}
	m->trigger_wr = openat(m->dirs->spool, "trigger", O_WRONLY |
	    O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
}

/* worker_main - in the child: deliver one message, exit with the outcome */
static void
worker_main(struct master *m, int i, long long now)
{
	struct deliver_job job;
	struct sigaction sa;
	struct fwd_entry e = m->q.e[i];
	enum deliver_outcome out;

	/* A worker outliving its master would race the next one. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != m->pid)
		_exit(DELIVER_EXIT_BASE + DELIVER_ABORTED);
	/* Its own process group: a terminal's ^C goes to the master only. */
	(void)setpgid(0, 0);
	if (m->ifd >= 0)
		(void)close(m->ifd);
	if (m->trigger_rd >= 0)
		(void)close(m->trigger_rd);
	if (m->trigger_wr >= 0)
		(void)close(m->trigger_wr);
	/* Its POSIX lock is the master's alone; the descriptor goes. */
	(void)close(m->lockfd);
	memset(&sa, 0, sizeof(sa));
	(void)sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	(void)sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	(void)sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = deliver_set_aborted;
	(void)sigaction(SIGTERM, &sa, NULL);
	/* SIGTERM stays blocked but for the waits (deliver_aborted()). */
	job.id = e.id;
	job.work_dirfd = m->dirs->work;
	job.hold_dirfd = m->dirs->hold;
	job.attempts = e.attempts;
	job.first = e.first;
	job.now = now;
	out = deliver_message(m->conf, &job);
	_exit(DELIVER_EXIT_BASE + (int)out);
}

/* start_worker - fork a worker for entry i; 0, or -1 (logged) */
static int
start_worker(struct master *m, int i, long long now)
{
	size_t s;
	pid_t pid;

	for (s = 0; s < m->conf->children && m->child[s].pid != 0; s++)
		;
	if (s == m->conf->children)
		return -1;
	pid = fork();
	if (pid == -1) {
		log_warn("id=%s: fork", m->q.e[i].id);
		m->fork_retry_at = now + FWD_FORK_RETRY;
		return -1;
	}
	if (pid == 0)
		worker_main(m, i, now);
	(void)setpgid(pid, pid);
	m->child[s].pid = pid;
	m->child[s].entry = i;
	m->q.e[i].is_running = 1;
	m->nchild++;
	return 0;
}

/* next_arrival - pop and claim the oldest arrival; its entry, or -1 */
static int
next_arrival(struct master *m)
{
	int i;

	while ((i = fwd_queue_pop_new(&m->q)) != -1) {
		if (fwd_claim(m->dirs, m->q.e[i].id) == 0) {
			fwd_queue_to_work(&m->q, i);
			return i;
		}
		if (errno == EEXIST)
			log_warnx("event=conflict id=%s: new/%s and work/%s "
			    "both exist; new/%s is left alone", m->q.e[i].id,
			    m->q.e[i].id, m->q.e[i].id, m->q.e[i].id);
		else if (errno != ENOENT)
			log_warn("id=%s: cannot claim new/%s", m->q.e[i].id,
			    m->q.e[i].id);
		fwd_queue_remove(&m->q, i);
	}
	return -1;
}

/* dispatch - start workers while there are slots and work */
static void
dispatch(struct master *m, long long now)
{
	int i;

	if (now < m->fork_retry_at)
		return;
	while (m->nchild < m->conf->children) {
		m->retry_turn = !m->retry_turn;
		i = m->retry_turn ? fwd_queue_due(&m->q, now) : -1;
		if (i == -1)
			i = next_arrival(m);
		if (i == -1 && !m->retry_turn)
			i = fwd_queue_due(&m->q, now);
		if (i == -1)
			return;
		if (start_worker(m, i, now) == -1) {
			/* Back into the schedule, due after the fork pause. */
			fwd_queue_set_next(&m->q, i, now + FWD_FORK_RETRY);
			return;
		}
	}
}

/*
 * deferred - a delivery was tried and is to be retried. The worker
 * wrote work/ID.defer (attempts, lifetime base, next time): take it.
 * If it could not, or died, count the attempt here.
 */
static void
deferred(struct master *m, int i, long long now, int is_written)
{
	struct fwd_entry *e = &m->q.e[i];
	struct fwd_state st;

	if (is_written && fwd_state_read(m->dirs->work, e->id, &st) == 0 &&
	    st.attempts > e->attempts) {
		e->attempts = st.attempts;
		e->first = st.first;
		e->has_state = 1;
		fwd_queue_set_next(&m->q, i, st.next);
		return;
	}
	if (e->first == 0)
		e->first = now;
	/* A message its worker cannot even read must not wait forever. */
	if (now - e->first >= (long long)m->conf->lifetime) {
		char reason[160];

		(void)snprintf(reason, sizeof(reason), "queue lifetime "
		    "exceeded: not deliverable for %lld s, %u attempts",
		    now - e->first, e->attempts + 1);
		if (deliver_hold(m->dirs->work, m->dirs->hold, e->id,
		    reason) == 0) {
			fwd_queue_remove(&m->q, i);
			return;
		}
	}
	if (e->attempts < UINT_MAX)
		e->attempts++;
	st.attempts = e->attempts;
	st.first = e->first;
	st.next = now + deliver_backoff(m->conf->retry_first,
	    m->conf->retry_cap, e->attempts);
	if (fwd_state_write(m->dirs->work, e->id, &st) == -1)
		log_warn("id=%s: cannot write work/%s.defer", e->id, e->id);
	else
		e->has_state = 1;
	fwd_queue_set_next(&m->q, i, st.next);
}

/* finished - a worker ended; act on its outcome */
static void
finished(struct master *m, int i, int status, long long now)
{
	struct fwd_entry *e = &m->q.e[i];
	char why[128];
	unsigned int wait;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	int is_asked = e->is_retry_asked;

	e->is_running = 0;
	e->is_retry_asked = 0;
	if (m->is_stopping && WIFSIGNALED(status) &&
	    (WTERMSIG(status) == SIGKILL || WTERMSIG(status) == SIGTERM)) {
		/* Cut short by this stop (a worker that could not act on
		   SIGTERM is killed): as an interrupted delivery, the
		   message waits in work/ for the next start, and no
		   attempt is counted (smtpfwdd(8), SIGNALS). */
		log_info("event=interrupted id=%s signal=%d", e->id,
		    WTERMSIG(status));
		return;
	}
	if (code < DELIVER_EXIT_BASE ||
	    code > DELIVER_EXIT_BASE + DELIVER_ABORTED) {
		if (WIFSIGNALED(status))
			(void)snprintf(why, sizeof(why), "killed by signal %d",
			    WTERMSIG(status));
		else
			(void)snprintf(why, sizeof(why), "exit status %d",
			    code);
		e->crashes++;
		log_warnx("event=worker-died id=%s %s (%u in a row)", e->id,
		    why, e->crashes);
		if (e->crashes >= FWD_CRASH_MAX) {
			char reason[200];

			(void)snprintf(reason, sizeof(reason),
			    "its delivery process died %u times in a row, "
			    "last %s", e->crashes, why);
			if (deliver_hold(m->dirs->work, m->dirs->hold, e->id,
			    reason) == 0) {
				fwd_queue_remove(&m->q, i);
				return;
			}
		}
		deferred(m, i, now, 0);
		if (is_asked && e->is_used)
			fwd_queue_set_next(&m->q, i, now);
		return;
	}
	if (code != DELIVER_EXIT_BASE + DELIVER_BUSY)
		e->busy = 0;
	switch ((enum deliver_outcome)(code - DELIVER_EXIT_BASE)) {
	case DELIVER_HELD:
		/* The worker removed the retry state (deliver_hold). But
		   smtpfwdd -U can release the message before this reap: then
		   it is back in work/, with the fresh state -U wrote, which a
		   rescan could not give an entry still in use. Take it. */
		if (!absent(m->dirs->work, e->id)) {
			e->has_state = 0;
			e->attempts = 0;
			e->first = now;
			e->crashes = 0;
			fwd_queue_set_next(&m->q, i, now);
			take_state(m, i, now);
		} else
			fwd_queue_remove(&m->q, i);
		break;
	case DELIVER_DONE:
	case DELIVER_GONE:
		if (e->has_state)
			fwd_state_remove(m->dirs->work, e->id);
		fwd_queue_remove(&m->q, i);
		break;
	case DELIVER_DEFER:
		e->crashes = 0;
		deferred(m, i, now, 1);
		/* A SIGHUP that came while the worker ran still counts. */
		if (is_asked && e->is_used)
			fwd_queue_set_next(&m->q, i, now);
		break;
	case DELIVER_BUSY:
		/* Another process holds its lock: not an attempt, but
		   backed off as one, so that a file locked for good costs
		   a fork per -R, not one every few seconds. */
		if (e->busy < UINT_MAX)
			e->busy++;
		wait = deliver_backoff(FWD_BUSY_RETRY, m->conf->retry_cap,
		    e->busy);
		log_info("event=busy id=%s times=%u retry_in=%u", e->id,
		    e->busy, wait);
		fwd_queue_set_next(&m->q, i, now + wait);
		break;
	case DELIVER_ABORTED:
		fwd_queue_set_next(&m->q, i, now);
		break;
	}
}

/* reap - collect every finished worker */
static void
reap(struct master *m, long long now)
{
	size_t s;
	pid_t pid;
	int status;

	got_chld = 0;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (s = 0; s < m->conf->children; s++)
			if (m->child[s].pid == pid)
				break;
		if (s == m->conf->children)
			continue;	/* not a worker of ours */
		m->child[s].pid = 0;
		m->nchild--;
		finished(m, m->child[s].entry, status, now);
	}
}

/* signal_workers - send sig to every worker */
static void
signal_workers(struct master *m, int sig)
{
	size_t s;

	for (s = 0; s < m->conf->children; s++)
		if (m->child[s].pid != 0)
			(void)kill(m->child[s].pid, sig);
}

/* log_status - the SIGUSR1 line */
static void
log_status(struct master *m, long long now)
{
	struct fwd_status st;

	if (fwd_status_collect(m->dirs, &st) == -1) {
		log_warn("status");
		return;
	}
	log_info("event=status new=%zu work=%zu active=%zu deferred=%zu "
	    "held=%zu oldest=%s age=%lld", st.nnew, st.nwork, m->nchild,
	    st.ndeferred, st.nhold, st.oldest_time >= 0 ? st.oldest : "-",
	    st.oldest_time >= 0 && now > st.oldest_time ?
	    now - st.oldest_time : 0LL);
}

/* retry_all - SIGHUP: everything idle in work/ is due now; what a
   worker has is due as soon as it comes back deferred */
static void
retry_all(struct master *m, long long now)
{
	struct fwd_entry *e;
	size_t i;

	for (i = 0; i < m->q.high; i++) {
		e = &m->q.e[i];
		if (!e->is_used || e->where != FWD_IN_WORK)
			continue;
		if (e->is_running)
			e->is_retry_asked = 1;
		else
			fwd_queue_set_next(&m->q, (int)i, now);
	}
}

/* handle_flags - act on the signals that arrived */
static void
handle_flags(struct master *m, long long now)
{
	if (got_chld)
		reap(m, now);
	if (got_term > 0 && !m->is_stopping) {
		m->is_stopping = 1;
		m->stop_at = now + FWD_STOP_GRACE;
		m->kill_at = m->stop_at + STOP_KILL_AFTER;
		got_term = 1;
		log_info("event=stopping active=%zu", m->nchild);
	}
	if (got_term > 1 && m->stop_at > now) {
		/* Asked twice: cut the deliveries in flight short now. */
		m->stop_at = now;
		m->kill_at = now + STOP_KILL_AFTER;
	}
	if (got_hup) {
		got_hup = 0;
		log_info("event=rescan: retrying deferred messages now");
		work_scan(m, now, 0);
		new_scan(m, now);
		retry_all(m, now);
	}
	if (got_usr1) {
		got_usr1 = 0;
		log_status(m, now);
	}
}

/* timeout_ms - how long the loop may sleep */
static int
timeout_ms(const struct master *m, long long now)
{
	long long until = m->next_scan, work;

	if (m->is_stopping)
		until = m->stop_at > now ? m->stop_at : m->kill_at;
	else if (m->nchild < m->conf->children) {
		/* Work waiting (arrivals now, retries when due) can start
		   no sooner than the next fork after a failed one: waking
		   for it before then would spin the loop. */
		work = m->q.ring_len > 0 ? now : m->q.earliest;
		if (work < m->fork_retry_at)
			work = m->fork_retry_at;
		if (work < until)
			until = work;
	}
	if (until <= now)
		return m->q.ring_len > 0 && !m->is_stopping ? 0 : 1000;
	if (until - now > (long long)m->conf->scan)
		until = now + m->conf->scan;
	return (int)((until - now) * 1000);
}

/* loop - until stopped and no worker is left */
static void
loop(struct master *m, const sigset_t *unblocked)
{
	struct pollfd pfd[2];
	struct timespec ts;
	long long now;
	int n, ms, sent_term = 0, sent_kill = 0;

	for (;;) {
		now = now_s();
		handle_flags(m, now);
		if (m->is_stopping) {
			if (m->nchild == 0)
				break;
			if (!sent_term && now >= m->stop_at) {
				log_info("event=stopping: interrupting %zu "
				    "deliveries", m->nchild);
				signal_workers(m, SIGTERM);
				sent_term = 1;
			}
			if (!sent_kill && now >= m->kill_at) {
				signal_workers(m, SIGKILL);
				sent_kill = 1;
			}
		} else {
			if (now >= m->next_scan) {
				new_scan(m, now);
				m->next_scan = now + m->conf->scan;
			}
			dispatch(m, now);
		}
		n = 0;
		if (m->ifd >= 0) {
			pfd[n].fd = m->ifd;
			pfd[n++].events = POLLIN;
		}
		if (m->trigger_rd >= 0) {
			pfd[n].fd = m->trigger_rd;
			pfd[n++].events = POLLIN;
		}
		ms = timeout_ms(m, now);
		ts.tv_sec = ms / 1000;
		ts.tv_nsec = (long)(ms % 1000) * 1000000;
		if (ppoll(pfd, (nfds_t)n, &ts, unblocked) == -1) {
			if (errno != EINTR)
				log_warn("ppoll");
			continue;
		}
		now = now_s();
		n = 0;
		if (m->ifd >= 0 && (pfd[n++].revents & POLLIN))
			read_inotify(m, now);
		if (m->trigger_rd >= 0 && (pfd[n].revents & POLLIN))
			read_trigger(m, now);
	}
}

/* fwd_master_run - the daemon */
int
fwd_master_run(const struct fwd_conf *conf, const struct fwd_dirs *dirs,
    int lockfd)
{
	struct master m;
	sigset_t unblocked;
	long long now = now_s();

	memset(&m, 0, sizeof(m));
	m.conf = conf;
	m.dirs = dirs;
	m.lockfd = lockfd;
	m.pid = getpid();
	if (setup_signals(&unblocked) == -1) {
		log_warn("signals");
		return -1;
	}
	if (fwd_queue_init(&m.q, FWD_QUEUE_MAX) == -1) {
		log_warn("queue");
		return -1;
	}
	m.child = calloc(conf->children, sizeof(*m.child));
	if (m.child == NULL) {
		log_warn("calloc");
		fwd_queue_free(&m.q);
		return -1;
	}
	open_watchers(&m);
	/* Resume what a previous run left in work/ first: it is older. */
	work_scan(&m, now, 1);
	hold_tidy(&m);
	new_scan(&m, now);
	m.next_scan = now + conf->scan;
	log_info("event=start spool=%s target=%s %s children=%u batch=%u "
	    "watch=%s resumed=%zu waiting=%zu", conf->spooldir,
	    conf->target == FWD_TARGET_SENDMAIL ? "sendmail" : "maildir",
	    conf->target == FWD_TARGET_SENDMAIL ? conf->sendmail :
	    conf->maildir, conf->children, conf->batch,
	    m.ifd >= 0 ? "inotify" : m.trigger_rd >= 0 ? "trigger" : "scan",
	    m.q.nwork, m.q.nnew);
	loop(&m, &unblocked);
	log_info("event=stopped");
	if (m.ifd >= 0)
		(void)close(m.ifd);
	if (m.trigger_rd >= 0)
		(void)close(m.trigger_rd);
	if (m.trigger_wr >= 0)
		(void)close(m.trigger_wr);
	free(m.child);
	fwd_queue_free(&m.q);
	return 0;
}
