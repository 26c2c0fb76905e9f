/* conn_test.c - unit tests of smtpd/conn.c's stopping: SIGTERM's flag,
   and the alarm that wakes a read the flag's check came too late for */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../t.h"
#include "../../smtpd/conn.h"

static volatile sig_atomic_t flag;

/* seconds_since - monotonic seconds since t0 */
static double
seconds_since(const struct timespec *t0)
{
	struct timespec t;

	(void)clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	    (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* blocked_read - recv() on a socket nobody writes to, under a 5 s
   receive timeout, as conn.c reads; its errno, and how long it took */
static int
blocked_read(int fd, double *took)
{
	struct timeval tv = { 5, 0 };
	struct timespec t0;
	char c;
	ssize_t n;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	n = recv(fd, &c, 1, 0);
	*took = seconds_since(&t0);
	return n == -1 ? errno : 0;
}

int
main(void)
{
	struct sigaction sa;
	double took;
	int sv[2];

	ok(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");

	ok(conn_catch_term(&flag, 1) == 0, "handlers installed");
	(void)alarm(0);
	ok(sigaction(SIGTERM, NULL, &sa) == 0 &&
	    sa.sa_handler == conn_on_term, "SIGTERM's handler in inetd mode");
	ok((sa.sa_flags & SA_RESTART) == 0, "no SA_RESTART: reads see EINTR");

	/* SIGTERM handled just before the read (the race the loop's check
	   loses): the read still ends within a second, not at its timeout,
	   and again for the next one while the process lives on. */
	ok(raise(SIGTERM) == 0 && flag == 1, "SIGTERM sets the flag");
	is_int(blocked_read(sv[0], &took), EINTR, "the late read: EINTR");
	ok(took < 1.5, "within a second of SIGTERM (%.2f s)", took);
	is_int(blocked_read(sv[0], &took), EINTR, "a later one too");
	ok(took > 0.5 && took < 1.5, "a second later (%.2f s)", took);
	(void)alarm(0);

	/* Daemon mode: SIGTERM is the master's to set; SIGALRM is there
	   for the children it gives conn_on_term. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	(void)sigaction(SIGTERM, &sa, NULL);
	ok(conn_catch_term(&flag, 0) == 0, "daemon mode");
	ok(sigaction(SIGTERM, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL,
	    "SIGTERM left alone");
	ok(sigaction(SIGALRM, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL &&
	    sa.sa_handler != SIG_IGN, "SIGALRM caught");
	(void)close(sv[0]);
	(void)close(sv[1]);
	return t_done();
}
