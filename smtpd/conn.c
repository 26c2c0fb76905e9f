/* conn.c - drive one session over a connection: the only socket code */
/*
 * See conn.h. Input is read in chunks of SMTPD_READ_CHUNK and handed to
 * session_input() until it is all consumed; replies are flushed after
 * each chunk (and before any pause), so a pipelining client gets its
 * replies in batches and a client that will not read them runs into
 * the write timeout instead of into our memory.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/log.h"
#include "conn.h"
#include "smtpd_limits.h"

/* ms_until - milliseconds from now until t (0 if past), capped */
static int
ms_until(const struct timespec *t)
{
	struct timespec now;
	long long ms;

	if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		return 0;
	ms = (long long)(t->tv_sec - now.tv_sec) * 1000 +
	    (t->tv_nsec - now.tv_nsec) / 1000000;
	if (ms < 0)
		return 0;
	return ms > 86400000 ? 86400000 : (int)ms;
}

/* deadline_in - now + seconds */
static void
deadline_in(struct timespec *t, unsigned int seconds)
{
	if (clock_gettime(CLOCK_MONOTONIC, t) == -1) {
		t->tv_sec = 0;
		t->tv_nsec = 0;
	}
	t->tv_sec += seconds;
}

/* The flag SIGTERM sets: conn_catch_term() */
static volatile sig_atomic_t *term_flag;

/* conn_on_term - SIGTERM: stop at the next check, and wake for it */
void
conn_on_term(int sig)
{
	(void)sig;
	if (term_flag != NULL)
		*term_flag = 1;
	(void)alarm(1);
}

/* on_alarm - after SIGTERM: interrupt a blocking call every second */
static void
on_alarm(int sig)
{
	(void)sig;
	(void)alarm(1);
}

/* conn_catch_term - install the handlers (no SA_RESTART: calls return
   EINTR, and every wait of a session looks at the flag then) */
int
conn_catch_term(volatile sig_atomic_t *flag, int is_term)
{
	struct sigaction sa;

	term_flag = flag;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	if (sigaction(SIGALRM, &sa, NULL) == -1)
		return -1;
	sa.sa_handler = conn_on_term;
	return is_term ? sigaction(SIGTERM, &sa, NULL) : 0;
}

/* is_stopping - SIGTERM seen */
static int
is_stopping(const struct conn *c)
{
	return c->cfg.stop != NULL && *c->cfg.stop;
}

/* flush - send the session's output; -1 on write timeout or error */
static int
flush(struct conn *c)
{
	struct timespec deadline;
	struct pollfd pfd;
	const char *p;
	size_t len;
	ssize_t n;
	int r;

	if (c->is_write_dead)
		return -1;
	deadline_in(&deadline, c->cfg.write_timeout);
	for (;;) {
		p = session_output(c->s, &len);
		if (len == 0)
			return 0;
		if (c->is_out_socket)
			n = send(c->cfg.out_fd, p, len,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
		else
			n = write(c->cfg.out_fd, p, len);
		if (n > 0) {
			session_output_consumed(c->s, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			pfd.fd = c->cfg.out_fd;
			pfd.events = POLLOUT;
			r = poll(&pfd, 1, ms_until(&deadline));
			if (r > 0 || (r == -1 && errno == EINTR))
				continue;
			if (r == 0) {
				log_info("Timeout on write (more than %u "
				    "seconds) - Abandoning session",
				    c->cfg.write_timeout);
				c->is_write_timeout = 1;
			}
		}
		c->is_write_dead = 1;
		return -1;
	}
}

/* env_now - the wall clock */
static void
env_now(void *arg, struct timeval *tv)
{
	(void)arg;
	if (gettimeofday(tv, NULL) == -1) {
		tv->tv_sec = time(NULL);
		tv->tv_usec = 0;
	}
}

/* env_pause - send what is queued, then sleep, not past the session */
static void
env_pause(void *arg, unsigned int seconds)
{
	struct conn *c = arg;
	struct timespec left;
	int ms = ms_until(&c->session_end);

	if (c->s != NULL)
		(void)flush(c);
	if (ms > (int)seconds * 1000)		/* seconds <= 600 */
		ms = (int)seconds * 1000;
	left.tv_sec = ms / 1000;
	left.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&left, &left) == -1 && errno == EINTR &&
	    !is_stopping(c))
		;
}

/* env_is_late - the session's time is up */
static int
env_is_late(void *arg)
{
	struct conn *c = arg;

	return ms_until(&c->session_end) == 0;
}

/* set_nonblock - set or clear O_NONBLOCK on fd */
static void
set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL), want;

	if (fl != -1) {
		want = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
		if (want == fl || fcntl(fd, F_SETFL, want) != -1)
			return;
	}
	log_warn("event=conn-error fcntl O_NONBLOCK fd=%d", fd);
}

/* is_socket - 1 if fd is a socket */
static int
is_socket(int fd)
{
	int type;
	socklen_t len = sizeof(type);

	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
}

/*
 * conn_init - fds, clock, env. A socket is left (or made) blocking for
 * recv(); its sends say MSG_DONTWAIT. The two descriptors of inetd mode
 * share one open file, so a non-socket is made non-blocking only when it
 * is not a socket's other descriptor.
 */
void
conn_init(struct conn *c, const struct conn_config *cfg,
    struct session_env *env)
{
	memset(c, 0, sizeof(*c));
	c->cfg = *cfg;
	c->is_in_socket = is_socket(cfg->in_fd);
	c->is_out_socket = cfg->out_fd == cfg->in_fd ? c->is_in_socket :
	    is_socket(cfg->out_fd);
	set_nonblock(cfg->in_fd, !c->is_in_socket);
	if (cfg->out_fd != cfg->in_fd && !c->is_out_socket)
		set_nonblock(cfg->out_fd, 1);
	deadline_in(&c->session_end, cfg->session_timeout);
	env->now = env_now;
	env->pause = env_pause;
	env->is_late = env_is_late;
	env->arg = c;
}

/* banner - wait out the banner delay, watching for early talkers */
static void
banner(struct conn *c)
{
	struct timespec until;
	struct pollfd pfd;
	char early[512];
	ssize_t n;
	int r;

	if (c->cfg.banner_delay == 0) {
		session_banner(c->s, NULL, 0);
		return;
	}
	deadline_in(&until, c->cfg.banner_delay);
	for (;;) {
		pfd.fd = c->cfg.in_fd;
		pfd.events = POLLIN;
		r = poll(&pfd, 1, ms_until(&until));
		if (r == -1 && errno == EINTR) {
			if (is_stopping(c))
				break;
			continue;
		}
		if (r <= 0)
			break;
		n = read(c->cfg.in_fd, early, sizeof(early));
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			session_eof(c->s);
			return;
		}
		session_banner(c->s, early, (size_t)n);
		return;
	}
	session_banner(c->s, NULL, 0);
}

/* write_failed - the client does not read (timeout) or has gone */
static void
write_failed(struct conn *c)
{
	if (c->is_write_timeout)
		session_timeout(c->s, "write");
	else
		session_eof(c->s);
}

/* session_over - the session's time is up: log it, end it with 421 */
static void
session_over(struct conn *c)
{
	log_info("Timeout on session (more than %u seconds) - Abandoning "
	    "session", c->cfg.session_timeout);
	session_timeout(c->s, "session");
}

/*
 * feed - hand a chunk to the session, flushing as it asks. The session's
 * end is checked between commands too (env_is_late): a pipelined chunk
 * of commands, each with a pause or a slow lookup, must not outlast it.
 */
static void
feed(struct conn *c, const char *buf, size_t len)
{
	size_t off = 0;

	while (off < len && !session_is_closed(c->s)) {
		if (env_is_late(c)) {
			session_over(c);
			return;
		}
		off += session_input(c->s, buf + off, len - off);
		if (off < len && flush(c) == -1) {
			write_failed(c);
			return;
		}
	}
}

/*
 * read_until - what the client sends before the deadline: bytes, 0 at
 * its end, or -1 with errno (ETIMEDOUT: nothing in time). A socket is
 * read with one recv() under a receive timeout; the timeout is set again
 * only when it changes (near the end of the session's time). If recv()
 * says EAGAIN (its timeout, or a descriptor someone made non-blocking),
 * poll() decides, as it does for any other descriptor.
 */
static ssize_t
read_until(struct conn *c, char *buf, size_t size,
    const struct timespec *until)
{
	struct pollfd pfd;
	struct timeval tv;
	int r, ms = ms_until(until);

	if (c->is_in_socket && ms > 0) {
		if (ms != c->rcvtimeo_ms) {
			tv.tv_sec = ms / 1000;
			tv.tv_usec = (ms % 1000) * 1000;
			c->rcvtimeo_ms = setsockopt(c->cfg.in_fd, SOL_SOCKET,
			    SO_RCVTIMEO, &tv, sizeof(tv)) == 0 ? ms : 0;
		}
		if (c->rcvtimeo_ms == ms) {
			ssize_t n = recv(c->cfg.in_fd, buf, size, 0);

			if (n >= 0 || (errno != EAGAIN &&
			    errno != EWOULDBLOCK))
				return n;
			ms = ms_until(until);
		}
	}
	pfd.fd = c->cfg.in_fd;
	pfd.events = POLLIN;
	if ((r = poll(&pfd, 1, ms)) <= 0) {
		if (r == 0)
			errno = ETIMEDOUT;
		return -1;
	}
	return read(c->cfg.in_fd, buf, size);
}

/*
 * linger - end a socket session without a reset. If the client's bytes
 * are waiting unread (it pipelined past a 421, or talked too early),
 * close() would make the kernel answer them with a reset, which can
 * destroy the last reply on its way. So send the FIN first, then read
 * the rest away until the client closes too, within
 * SMTPD_LINGER_BYTES and SMTPD_LINGER_SECONDS.
 */
static void
linger(struct conn *c)
{
	char buf[4096];
	struct timespec until;
	size_t total = 0;
	ssize_t n;

	if (!c->is_in_socket || c->is_write_dead ||
	    recv(c->cfg.in_fd, buf, 1, MSG_PEEK | MSG_DONTWAIT) <= 0)
		return;
	if (shutdown(c->cfg.out_fd, SHUT_WR) == -1)
		return;
	deadline_in(&until, SMTPD_LINGER_SECONDS);
	while (total < SMTPD_LINGER_BYTES) {
		n = read_until(c, buf, sizeof(buf), &until);
		if (n > 0)
			total += (size_t)n;
		else if (n == 0 || is_stopping(c) || (errno != EINTR &&
		    errno != EAGAIN && errno != EWOULDBLOCK))
			break;
	}
}

/* conn_run - the read/feed/send loop */
int
conn_run(struct conn *c, struct session *s)
{
	char buf[SMTPD_READ_CHUNK];
	struct timespec until;
	ssize_t n;

	c->s = s;
	banner(c);
	for (;;) {
		if (flush(c) == -1) {
			write_failed(c);
			break;
		}
		if (session_is_closed(s))
			break;
		if (is_stopping(c)) {
			session_shutdown(s);
			continue;
		}
		/* The idle timeout from now, or the session's end if that
		   comes first. */
		deadline_in(&until, c->cfg.idle_timeout);
		if (ms_until(&c->session_end) < ms_until(&until))
			until = c->session_end;
		n = read_until(c, buf, sizeof(buf), &until);
		if (n == -1 && errno == ETIMEDOUT) {
			if (env_is_late(c))
				session_over(c);
			else {
				log_info("Timeout on read (more than %u "
				    "seconds) - Abandoning session",
				    c->cfg.idle_timeout);
				session_timeout(s, "read");
			}
			continue;
		}
		if (n == -1 && (errno == EINTR || errno == EAGAIN ||
		    errno == EWOULDBLOCK))
			continue;
		if (n <= 0) {
			if (n == -1)
				log_warn("event=conn-error read");
			session_eof(s);
			continue;
		}
		feed(c, buf, (size_t)n);
	}
	linger(c);
	return 0;
}
