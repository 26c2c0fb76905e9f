/* master.c - daemon mode: listeners, the banner delay for all, children */
/*
 * See master.h. The held clients wait in one FIFO: the banner delay is
 * the same for all, so the oldest is always the next to be due, and the
 * loop sleeps in io_waituntil2() exactly until then (or until a client
 * talks, a listener has a connection, or a signal writes to the
 * self-pipe). libowfat's io_close() deletes the epoll registration
 * before it closes, which matters here: a child holds a copy of the
 * connection, and a registration left behind would keep firing for a
 * descriptor number the master may reuse.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <libowfat/io.h>

#include "../lib/log.h"
#include "../lib/net_addr.h"
#include "forkmem.h"
#include "iplimit.h"
#include "master.h"
#include "session.h"

/* The master's own refusals; each reply names myname. */
enum refusal {
	REFUSE_IP_LIMIT,	/* the client is at max_per_ip */
	REFUSE_BUSY,		/* max_children or max_held reached */
	REFUSE_NO_FORK,		/* fork() failed */
	REFUSE_SHUTDOWN		/* SIGTERM */
};

/* A client held through the banner delay (about 64 bytes with malloc's
   header); the FIFO is in order of arrival, so of deadline. */
struct held {
	struct held *prev, *next;
	int64_t since_ms;		/* accepted, monotonic */
	struct net_addr addr;
	int fd;
};

struct listener {
	int fd;
	char text[NET_ADDR_TEXT + 8];	/* "[addr]:port" for the log */
};

struct master {
	struct master_config cfg;
	struct listener listeners[SMTPD_LISTEN_MAX * 2];
	size_t nlisteners;
	int wake[2];			/* self-pipe: read end, write end */
	int pid_fd;			/* locked pid file, or -1 */
	int maps_fd;			/* /proc/self/maps, opened as root */
	struct iplimit *books;
	struct held *head, *tail;	/* the FIFO */
	unsigned int nheld;
	int is_stopping;
	int has_forwarded_term;		/* children were sent SIGTERM */
	int64_t term_again_ms;		/* when to send it again */
	int64_t drain_end_ms;
	int64_t accept_resume_ms;	/* 0: accepting */
	int64_t refresh_ms;		/* cfg.refresh() is due */
	unsigned int terms_seen;
};

static volatile sig_atomic_t got_chld, got_hup, got_usr1, got_term;
static int wake_write_fd = -1;

/* now_ms - monotonic milliseconds */
static int64_t
now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;	/* cannot fail for CLOCK_MONOTONIC */
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* to_timeval - monotonic ms as a timeval (only differences matter) */
static struct timeval
to_timeval(int64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	return tv;
}

/* on_signal - the master's handler: a flag and a byte, nothing else */
static void
on_signal(int sig)
{
	int saved = errno;

	switch (sig) {
	case SIGCHLD:
		got_chld = 1;
		break;
	case SIGHUP:
		got_hup = 1;
		break;
	case SIGUSR1:
		got_usr1 = 1;
		break;
	default:		/* SIGTERM, SIGINT */
		got_term = got_term + 1;
		break;
	}
	if (wake_write_fd != -1 && write(wake_write_fd, "", 1) == -1) {
		/* full pipe: a wake-up is pending anyway */
	}
	errno = saved;
}

/* handled_signals - the set the master catches */
static void
handled_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGUSR1);
}

/* set_handler - sigaction with the handled set blocked meanwhile */
static int
set_handler(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	handled_signals(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

/* addr_of - a sockaddr as net_addr (v4-mapped becomes IPv4); -1 if not IP */
static int
addr_of(const struct sockaddr_storage *ss, struct net_addr *a)
{
	static const uint8_t mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		a->family = NET_V4;
		memcpy(a->bytes, &sin->sin_addr, 4);
		return 0;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		if (memcmp(&sin6->sin6_addr, mapped, 12) == 0) {
			a->family = NET_V4;
			memcpy(a->bytes, (const uint8_t *)&sin6->sin6_addr +
			    12, 4);
		} else {
			a->family = NET_V6;
			memcpy(a->bytes, &sin6->sin6_addr, 16);
		}
		return 0;
	}
	return -1;
}

/* raise_files - RLIMIT_NOFILE to max_files; lower max_held to fit */
static void
raise_files(struct master *m)
{
	struct rlimit rl;
	rlim_t want = m->cfg.max_files;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("event=daemon-warning getrlimit RLIMIT_NOFILE");
		rl.rlim_cur = rl.rlim_max = SMTPD_FILES_MIN;
	}
	if (rl.rlim_cur != want) {
		struct rlimit nl;

		nl.rlim_cur = want;
		nl.rlim_max = rl.rlim_max > want ? rl.rlim_max : want;
		if (setrlimit(RLIMIT_NOFILE, &nl) == 0)
			rl = nl;
		else
			log_warn("event=daemon-warning cannot set "
			    "RLIMIT_NOFILE to %u (max_files); it stays %llu",
			    m->cfg.max_files, (unsigned long long)rl.rlim_cur);
	}
	if (rl.rlim_cur < (rlim_t)m->cfg.max_held + SMTPD_FILES_RESERVE) {
		unsigned int held = rl.rlim_cur > SMTPD_FILES_RESERVE ?
		    (unsigned int)(rl.rlim_cur - SMTPD_FILES_RESERVE) : 1;

		log_warnx("event=daemon-warning max_held lowered from %u to "
		    "%u: the master may open %llu files (max_files)",
		    m->cfg.max_held, held, (unsigned long long)rl.rlim_cur);
		m->cfg.max_held = held;
	}
}

/* pidfile_open - create, lock, truncate and write the pid file */
static int
pidfile_open(struct master *m, char *why, size_t whysize)
{
	char buf[32];
	struct flock fl;
	int n;

	m->pid_fd = open(m->cfg.pidfile, O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0644);
	if (m->pid_fd == -1) {
		snprintf(why, whysize, "pid file %s: %s", m->cfg.pidfile,
		    strerror(errno));
		return -1;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(m->pid_fd, F_SETLK, &fl) == -1) {
		int e = errno;

		memset(buf, 0, sizeof(buf));
		if (pread(m->pid_fd, buf, sizeof(buf) - 1, 0) < 0)
			buf[0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(why, whysize, "pid file %s: %s (another smtpd, "
		    "pid %.20s, holds it)", m->cfg.pidfile, strerror(e),
		    buf[0] != '\0' ? buf : "?");
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	/* 0644 despite the umask: monitors read it without root. */
	if (fchmod(m->pid_fd, 0644) == -1 || ftruncate(m->pid_fd, 0) == -1 ||
	    pwrite(m->pid_fd, buf, (size_t)n, 0) != n) {
		snprintf(why, whysize, "pid file %s: %s", m->cfg.pidfile,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* listen_one - bind and listen on text:port; -1 with why */
static int
listen_one(struct master *m, const char *text, int is_optional, char *why,
    size_t whysize)
{
	struct net_addr a;
	struct sockaddr_storage ss;
	socklen_t sl;
	struct listener *l;
	char shown[NET_ADDR_TEXT];
	int fd, on = 1;

	if (net_addr_parse(text, strlen(text), &a) == -1) {
		snprintf(why, whysize, "-b %.60s: not an IP address", text);
		return -1;
	}
	memset(&ss, 0, sizeof(ss));
	if (a.family == NET_V4) {
		struct sockaddr_in *sin = (void *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)m->cfg.port);
		memcpy(&sin->sin_addr, a.bytes, 4);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (void *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)m->cfg.port);
		memcpy(&sin6->sin6_addr, a.bytes, 16);
		sl = sizeof(*sin6);
	}
	net_addr_format(&a, shown);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	/* One socket per family: "::" must not take IPv4 too. */
	if (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1 ||
	    listen(fd, SMTPD_BACKLOG) == -1)
		goto fail;
	l = &m->listeners[m->nlisteners++];
	l->fd = fd;
	snprintf(l->text, sizeof(l->text), a.family == NET_V4 ? "%s:%u" :
	    "[%s]:%u", shown, m->cfg.port);
	return 0;
fail:
	if (is_optional && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
		log_info("event=daemon-warning no IPv6 listener (%s): %s",
		    shown, strerror(errno));
		if (fd != -1)
			close(fd);
		return 0;
	}
	snprintf(why, whysize, "listen on %s port %u: %s", shown, m->cfg.port,
	    strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

/* master_open - everything that needs root */
struct master *
master_open(const struct master_config *cfg, char *why, size_t whysize)
{
	struct master *m;
	sigset_t set;
	size_t i;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		snprintf(why, whysize, "out of memory");
		return NULL;
	}
	m->cfg = *cfg;
	m->pid_fd = m->wake[0] = m->wake[1] = -1;
	m->maps_fd = forkmem_open();	/* no /proc in the jail */
	raise_files(m);
	if (pipe2(m->wake, O_NONBLOCK | O_CLOEXEC) == -1) {
		snprintf(why, whysize, "pipe: %s", strerror(errno));
		return NULL;
	}
	wake_write_fd = m->wake[1];
	handled_signals(&set);
	if (set_handler(SIGCHLD, on_signal) == -1 ||
	    set_handler(SIGHUP, on_signal) == -1 ||
	    set_handler(SIGTERM, on_signal) == -1 ||
	    set_handler(SIGINT, on_signal) == -1 ||
	    set_handler(SIGUSR1, on_signal) == -1) {
		snprintf(why, whysize, "sigaction: %s", strerror(errno));
		return NULL;
	}
	if (cfg->pidfile != NULL && pidfile_open(m, why, whysize) == -1)
		return NULL;
	if (cfg->naddrs == 0) {
		if (listen_one(m, "0.0.0.0", 0, why, whysize) == -1 ||
		    listen_one(m, "::", 1, why, whysize) == -1)
			return NULL;
	} else
		for (i = 0; i < cfg->naddrs; i++)
			if (listen_one(m, cfg->addrs[i], 0, why, whysize) ==
			    -1)
				return NULL;
	m->books = iplimit_new(m->cfg.max_held + m->cfg.max_children,
	    m->cfg.max_children);
	if (m->books == NULL) {
		snprintf(why, whysize, "out of memory");
		return NULL;
	}
	return m;
}

/* log_unserved - the session-format lines of a client never served */
static void
log_unserved(const struct net_addr *a, int64_t since, const char *early,
    size_t earlylen, const char *end)
{
	struct session_peer peer;
	struct timeval start, now;

	memset(&peer, 0, sizeof(peer));
	net_addr_format(a, peer.ip);
	/* The master makes no DNS lookups: the name is never known. */
	snprintf(peer.name, sizeof(peer.name), "UNKNOWN");
	start = to_timeval(since);
	now = to_timeval(now_ms());
	session_log_unserved(&peer, &start, &now, early, earlylen, end);
}

/* refuse - the master's reply for why, and the log lines (end=...);
   the caller closes fd */
static void
refuse(struct master *m, int fd, const struct net_addr *a, int64_t since,
    enum refusal why)
{
	const char *me = m->cfg.myname, *end = "busy";
	char reply[512];
	int n = -1;

	switch (why) {
	case REFUSE_IP_LIMIT:
		n = snprintf(reply, sizeof(reply), "421 4.7.0 %s Error: too "
		    "many connections from your address\r\n", me);
		end = "ip-limit";
		break;
	case REFUSE_BUSY:
		n = snprintf(reply, sizeof(reply), "421 4.3.2 %s Error: all "
		    "server ports are busy, try again later\r\n", me);
		end = "busy";
		break;
	case REFUSE_NO_FORK:
		n = snprintf(reply, sizeof(reply), "421 4.3.0 %s Error: "
		    "temporarily unable to serve you\r\n", me);
		end = "fork-failed";
		break;
	case REFUSE_SHUTDOWN:
		n = snprintf(reply, sizeof(reply), "421 4.3.2 %s Service "
		    "shutting down, closing connection\r\n", me);
		end = "shutdown";
		break;
	}
	/* A fresh socket's buffer takes it; if not, never mind. */
	if (n > 0 && (size_t)n < sizeof(reply))
		(void)send(fd, reply, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	log_unserved(a, since, NULL, 0, end);
}

/* fifo_unlink - take h out of the FIFO */
static void
fifo_unlink(struct master *m, struct held *h)
{
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		m->head = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	else
		m->tail = h->prev;
	h->prev = h->next = NULL;
	m->nheld--;
}

/* cmp_fd - qsort order of descriptors */
static int
cmp_fd(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* is_kept - fd is one of the n in keep */
static int
is_kept(int fd, const int *keep, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (keep[i] == fd)
			return 1;
	return 0;
}

/* close_others - in a child: every descriptor but 0, 1, 2 and the n in
   keep (which this sorts) */
static void
close_others(int *keep, size_t n)
{
	struct rlimit rl;
	unsigned int fd, from = 3, last = 65535;
	size_t i;

	qsort(keep, n, sizeof(*keep), cmp_fd);
	for (i = 0; i < n; i++) {
		if (keep[i] < (int)from)
			continue;
		if ((unsigned int)keep[i] > from &&
		    close_range(from, (unsigned int)keep[i] - 1, 0) == -1)
			goto slow;
		from = (unsigned int)keep[i] + 1;
	}
	if (close_range(from, ~0U, 0) == -1)
		goto slow;
	return;
slow:
	/* Kernels before 5.9: one close() per possible descriptor. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536)
		last = (unsigned int)rl.rlim_cur;
	for (fd = 3; fd < last; fd++)
		if (!is_kept((int)fd, keep, n))
			(void)close((int)fd);
}

/* is_unix_socket - fd is an open AF_UNIX socket (the syslog one) */
static int
is_unix_socket(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
		return 0;
	return ss.ss_family == AF_UNIX;
}

/* child_start - in the child, never returns: fd on 0 and 1, then serve */
static void __attribute__((noreturn))
child_start(struct master *m, int fd)
{
	struct sigaction sa;
	sigset_t set;
	int keep[SMTPD_KEEP_FDS_MAX + 1];
	size_t nkeep = 0;

	/* The handled signals are still blocked (start_child). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	(void)sigaction(SIGCHLD, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;	/* reloading is the master's job */
	(void)sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = m->cfg.child_term != NULL ? m->cfg.child_term : SIG_DFL;
	(void)sigaction(SIGTERM, &sa, NULL);
	wake_write_fd = -1;
	if (dup2(fd, 0) == -1 || dup2(fd, 1) == -1) {
		log_warn("event=conn-error dup2 in child");
		_exit(111);
	}
	if (m->cfg.keep_fds != NULL)
		nkeep = m->cfg.keep_fds(m->cfg.arg, keep, SMTPD_KEEP_FDS_MAX);
	if (m->cfg.keep_fd >= 0)
		keep[nkeep++] = m->cfg.keep_fd;
	close_others(keep, nkeep);
	if (!is_unix_socket(m->cfg.keep_fd)) {
		/* No syslog socket was found at start-up, or syslog has
		   reconnected elsewhere since (syslogd restarted): let libc
		   forget a descriptor this child no longer has, so that its
		   next line connects anew (to the jail's dev/log) instead of
		   going to whatever the child opens on that number. */
		if (m->cfg.keep_fd != -1)
			(void)close(m->cfg.keep_fd);
		closelog();
	}
	handled_signals(&set);
	(void)sigprocmask(SIG_UNBLOCK, &set, NULL);
	m->cfg.child(m->cfg.arg);
	_exit(0);
}

/* start_child - fork a child for fd (the caller closes fd); 0 or -1 */
static int
start_child(struct master *m, int fd, const struct net_addr *a, int64_t since)
{
	sigset_t set, old;
	pid_t pid;
	int e;

	handled_signals(&set);
	(void)sigprocmask(SIG_BLOCK, &set, &old);
	pid = fork();
	if (pid == 0)
		child_start(m, fd);
	e = errno;
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		errno = e;
		log_warn("event=daemon-error fork");
		refuse(m, fd, a, since, REFUSE_NO_FORK);
		iplimit_remove(m->books, a);
		return -1;
	}
	if (iplimit_child_add(m->books, pid, a) == -1) {
		/* Cannot happen: the caller checked max_children. */
		log_warn("event=bug what=child-table pid=%ld", (long)pid);
		iplimit_remove(m->books, a);
	}
	return 0;
}

/* admit - a new connection: count it, then hold it or serve it */
static void
admit(struct master *m, int fd, const struct sockaddr_storage *ss,
    int64_t now)
{
	struct net_addr a;
	struct held *h;

	if (addr_of(ss, &a) == -1) {
		close(fd);
		return;
	}
	if (iplimit_add(m->books, &a, m->cfg.max_per_ip) == -1) {
		if (errno == EAGAIN)
			refuse(m, fd, &a, now, REFUSE_IP_LIMIT);
		else
			refuse(m, fd, &a, now, REFUSE_BUSY);
		close(fd);
		return;
	}
	if (m->cfg.banner_delay == 0) {
		if (iplimit_children(m->books) >= m->cfg.max_children) {
			refuse(m, fd, &a, now, REFUSE_BUSY);
			iplimit_remove(m->books, &a);
		} else
			(void)start_child(m, fd, &a, now);
		close(fd);
		return;
	}
	if (m->nheld >= m->cfg.max_held || (h = malloc(sizeof(*h))) == NULL) {
		refuse(m, fd, &a, now, REFUSE_BUSY);
		iplimit_remove(m->books, &a);
		close(fd);
		return;
	}
	/* The socket is new and non-blocking: tell libowfat, saving it a
	   fcntl() and an EPOLLOUT registration. */
	if (!io_fd_flags(fd, IO_FD_CANWRITE | IO_FD_NONBLOCK)) {
		log_warn("event=daemon-error io_fd");
		free(h);
		refuse(m, fd, &a, now, REFUSE_BUSY);
		iplimit_remove(m->books, &a);
		close(fd);
		return;
	}
	h->fd = fd;
	h->addr = a;
	h->since_ms = now;
	h->next = NULL;
	h->prev = m->tail;
	if (m->tail != NULL)
		m->tail->next = h;
	else
		m->head = h;
	m->tail = h;
	m->nheld++;
	io_setcookie(fd, h);
	io_wantread(fd);
}

/* release - the held client h is done with (fifo_unlink first) */
static void
release(struct master *m, struct held *h, int is_counted)
{
	io_close(h->fd);
	if (is_counted)
		iplimit_remove(m->books, &h->addr);
	free(h);
}

/* early_or_gone - a held client is readable: it talked, or it left.
   1 if h was dealt with (and freed), 0 if there was nothing after all */
static int
early_or_gone(struct master *m, struct held *h)
{
	char buf[SMTPD_EARLY_READ], drain[4096], reply[512];
	ssize_t n, d;
	size_t more = 0, len;

	n = recv(h->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		io_eagain_read(h->fd);
		return 0;
	}
	fifo_unlink(m, h);
	if (n <= 0) {
		/* EOF or an error: the client left before the banner. */
		log_unserved(&h->addr, h->since_ms, NULL, 0, "eof");
		release(m, h, 1);
		return 1;
	}
	/* An early talker. Read what else is there, so that close()
	   sends a FIN, not a reset that could destroy the reply. */
	while (more < SMTPD_LINGER_BYTES && (d = recv(h->fd, drain,
	    sizeof(drain), MSG_DONTWAIT)) > 0)
		more += (size_t)d;
	log_unserved(&h->addr, h->since_ms, buf, (size_t)n, "early-talker");
	len = session_early_reply(m->cfg.myname, reply, sizeof(reply));
	if (len > 0)
		(void)send(h->fd, reply, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	release(m, h, 1);
	return 1;
}

/* expire - serve every held client whose delay is over */
static void
expire(struct master *m, int64_t now)
{
	int64_t delay = (int64_t)m->cfg.banner_delay * 1000;
	struct held *h;
	char peek;
	ssize_t n;

	while ((h = m->head) != NULL && h->since_ms + delay <= now) {
		/* Bytes may have come since the wait returned. */
		n = recv(h->fd, &peek, 1, MSG_PEEK | MSG_DONTWAIT);
		if ((n >= 0 || (errno != EAGAIN && errno != EINTR)) &&
		    early_or_gone(m, h))
			continue;
		fifo_unlink(m, h);
		if (iplimit_children(m->books) >= m->cfg.max_children) {
			refuse(m, h->fd, &h->addr, h->since_ms, REFUSE_BUSY);
			release(m, h, 1);
			continue;
		}
		/* Counted now by the child, or uncounted if the fork
		   failed: either way, not by h. */
		(void)start_child(m, h->fd, &h->addr, h->since_ms);
		release(m, h, 0);
	}
}

/* accept_some - take up to SMTPD_ACCEPT_BATCH connections from l */
static void
accept_some(struct master *m, struct listener *l)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int i, fd;

	for (i = 0; i < SMTPD_ACCEPT_BATCH; i++) {
		sl = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			admit(m, fd, &ss, now_ms());
			continue;
		}
		switch (errno) {
		case EAGAIN:
			io_eagain_read(l->fd);
			return;
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
		case EPERM:		/* a firewall said no */
		case ENETDOWN:
		case ENOPROTOOPT:
		case EHOSTDOWN:
		case ENONET:
		case EHOSTUNREACH:
		case EOPNOTSUPP:
		case ENETUNREACH:
			continue;	/* that connection is gone */
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
		default:
			/* Out of descriptors or memory: the listener would
			   stay readable and spin the loop; pause it. */
			log_warn("event=daemon-warning accept on %s; pausing "
			    "%d ms (held=%u children=%u)", l->text,
			    SMTPD_ACCEPT_PAUSE_MS, m->nheld,
			    iplimit_children(m->books));
			m->accept_resume_ms = now_ms() + SMTPD_ACCEPT_PAUSE_MS;
			for (i = 0; i < (int)m->nlisteners; i++)
				io_dontwantread(m->listeners[i].fd);
			return;
		}
	}
}

/* reap - collect every exited child; log the ones that died badly */
static void
reap(struct master *m)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (iplimit_child_exit(m->books, pid) == -1)
			continue;	/* not a session's child */
		if (WIFSIGNALED(status))
			log_warnx("event=child-exit pid=%ld signal=%d",
			    (long)pid, WTERMSIG(status));
		else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			log_warnx("event=child-exit pid=%ld status=%d",
			    (long)pid, WEXITSTATUS(status));
	}
}

/* term_child - send one child SIGTERM */
static void
term_child(void *arg, pid_t pid)
{
	(void)arg;
	if (kill(pid, SIGTERM) == -1 && errno != ESRCH)
		log_warn("event=daemon-warning kill %ld", (long)pid);
}

/*
 * forward_term - the children end their sessions with 421. A child that
 * got the signal wakes every second by itself until it ends (conn.c);
 * one that never got it (a tracer, say, took it) is sent it again every
 * SMTPD_TERM_AGAIN_MS while it is there (term_again).
 */
static void
forward_term(struct master *m, int64_t now)
{
	if (m->has_forwarded_term)
		return;
	m->has_forwarded_term = 1;
	log_info("event=daemon-stop children=%u action=sigterm",
	    iplimit_children(m->books));
	iplimit_child_each(m->books, term_child, NULL);
	m->term_again_ms = now + SMTPD_TERM_AGAIN_MS;
}

/* term_again - SIGTERM once more to the children still there */
static void
term_again(struct master *m, int64_t now)
{
	if (!m->has_forwarded_term || now < m->term_again_ms)
		return;
	iplimit_child_each(m->books, term_child, NULL);
	m->term_again_ms = now + SMTPD_TERM_AGAIN_MS;
}

/* begin_stop - SIGTERM: no more clients; the held ones get 421 */
static void
begin_stop(struct master *m, int64_t now)
{
	struct held *h;
	size_t i;

	m->is_stopping = 1;
	m->drain_end_ms = now + (int64_t)m->cfg.drain_timeout * 1000;
	log_info("event=daemon-stop held=%u children=%u drain_timeout=%u",
	    m->nheld, iplimit_children(m->books), m->cfg.drain_timeout);
	for (i = 0; i < m->nlisteners; i++)
		io_close(m->listeners[i].fd);
	m->nlisteners = 0;
	while ((h = m->head) != NULL) {
		fifo_unlink(m, h);
		refuse(m, h->fd, &h->addr, h->since_ms, REFUSE_SHUTDOWN);
		release(m, h, 1);
	}
}

/* drain_wake - read the self-pipe empty */
static void
drain_wake(struct master *m)
{
	char buf[64];

	while (read(m->wake[0], buf, sizeof(buf)) > 0)
		;
	io_eagain_read(m->wake[0]);
}

/* signals_due - act on what the handlers noted */
static void
signals_due(struct master *m, int64_t now)
{
	if (got_chld) {
		got_chld = 0;
		reap(m);
	}
	if (got_hup) {
		got_hup = 0;
		if (!m->is_stopping && m->cfg.reload != NULL) {
			m->cfg.reload(m->cfg.arg);
			(void)forkmem_share(m->maps_fd);
		}
	}
	if (got_usr1) {
		got_usr1 = 0;
		log_info("event=daemon-status held=%u children=%u "
		    "connections=%u", m->nheld, iplimit_children(m->books),
		    iplimit_total(m->books));
	}
	if ((unsigned int)got_term != m->terms_seen) {
		m->terms_seen = (unsigned int)got_term;
		if (!m->is_stopping)
			begin_stop(m, now);
		else
			forward_term(m, now);	/* asked twice */
	}
}

/* wait_ms - how long the loop may sleep; -1 for "until woken" */
static int64_t
wait_ms(const struct master *m, int64_t now)
{
	int64_t t = -1, due;

	if (m->head != NULL) {
		due = m->head->since_ms + (int64_t)m->cfg.banner_delay * 1000;
		t = due > now ? due - now : 0;
	}
	if (m->accept_resume_ms != 0) {
		due = m->accept_resume_ms > now ? m->accept_resume_ms - now : 0;
		if (t == -1 || due < t)
			t = due;
	}
	if (m->is_stopping) {
		due = m->has_forwarded_term ? m->term_again_ms :
		    m->drain_end_ms;
		due = due > now ? due - now : 0;
		if (t == -1 || due < t)
			t = due;
	}
	return t;
}

/* listener_of - the listener with descriptor fd, or NULL */
static struct listener *
listener_of(struct master *m, int64_t fd)
{
	size_t i;

	for (i = 0; i < m->nlisteners; i++)
		if (m->listeners[i].fd == fd)
			return &m->listeners[i];
	return NULL;
}

/* master_run - the event loop */
int
master_run(struct master *m)
{
	struct listener *l;
	struct held *h;
	char addrs[SMTPD_LISTEN_MAX * 2 * (NET_ADDR_TEXT + 9)];
	size_t i, used = 0;
	int64_t fd, now;

	addrs[0] = '\0';
	for (i = 0; i < m->nlisteners; i++) {
		int n = snprintf(addrs + used, sizeof(addrs) - used, "%s%s",
		    i > 0 ? "," : "", m->listeners[i].text);

		if (n > 0 && (size_t)n < sizeof(addrs) - used)
			used += (size_t)n;
		if (!io_fd_flags(m->listeners[i].fd, IO_FD_NONBLOCK)) {
			log_warn("event=daemon-error io_fd");
			return 111;
		}
		io_wantread(m->listeners[i].fd);
	}
	if (!io_fd_flags(m->wake[0], IO_FD_NONBLOCK)) {
		log_warn("event=daemon-error io_fd");
		return 111;
	}
	io_wantread(m->wake[0]);
	(void)forkmem_share(m->maps_fd);
	log_info("event=daemon-start pid=%ld listen=%s banner_delay=%u "
	    "max_children=%u max_per_ip=%u max_held=%u max_files=%u",
	    (long)getpid(), addrs, m->cfg.banner_delay, m->cfg.max_children,
	    m->cfg.max_per_ip, m->cfg.max_held, m->cfg.max_files);

	for (;;) {
		now = now_ms();
		signals_due(m, now);
		if (m->is_stopping && iplimit_children(m->books) == 0)
			break;
		if (io_waituntil2(wait_ms(m, now)) == -1 && errno != EINTR) {
			log_warn("event=daemon-error io_waituntil2");
			return 111;
		}
		now = now_ms();
		signals_due(m, now);
		if (m->cfg.refresh != NULL && now >= m->refresh_ms) {
			m->cfg.refresh(m->cfg.arg);
			m->refresh_ms = now + 1000;
		}
		while ((fd = io_canread()) != -1) {
			if (fd == m->wake[0])
				drain_wake(m);
			else if ((l = listener_of(m, fd)) != NULL) {
				if (m->accept_resume_ms == 0)
					accept_some(m, l);
			} else if ((h = io_getcookie(fd)) != NULL)
				(void)early_or_gone(m, h);
		}
		now = now_ms();
		expire(m, now);
		if (m->accept_resume_ms != 0 && now >= m->accept_resume_ms) {
			m->accept_resume_ms = 0;
			for (i = 0; i < m->nlisteners; i++)
				io_wantread(m->listeners[i].fd);
		}
		if (m->is_stopping && !m->has_forwarded_term &&
		    now >= m->drain_end_ms)
			forward_term(m, now);
		term_again(m, now);
	}
	log_info("event=daemon-exit pid=%ld", (long)getpid());
	if (m->pid_fd != -1 && ftruncate(m->pid_fd, 0) == -1)
		log_warn("event=daemon-warning truncating the pid file");
	return 0;
}
