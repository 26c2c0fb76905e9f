/* ident.c - an RFC 1413 ident client with a hard deadline */
/*
 * One TCP connection to the client's port 113, bound to our end of the
 * SMTP connection, all non-blocking under a single deadline: the
 * original used alarm() and longjmp, and waited 10 seconds per RCPT.
 * The caller (the rules engine, through policy.c) asks at most once per
 * session and keeps the answer.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ident.h"
#include "smtpd_limits.h"

/* to_sockaddr - a net_addr and port as a sockaddr */
static socklen_t
to_sockaddr(const struct net_addr *a, unsigned int port,
    struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == NET_V4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)port);
		memcpy(&sin->sin_addr, a->bytes, 4);
		return sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)port);
		memcpy(&sin6->sin6_addr, a->bytes, 16);
		return sizeof(*sin6);
	}
}

/* ms_left - milliseconds until deadline, at least 0 */
static int
ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		return 0;
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > 600000 ? 600000 : (int)ms;
}

/* wait_for - poll one fd for events until the deadline; 1 ready, 0 not */
static int
wait_for(int fd, short events, const struct timespec *deadline)
{
	struct pollfd pfd;
	int r;

	for (;;) {
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, ms_left(deadline));
		if (r > 0)
			return 1;
		if (r == 0 || errno != EINTR)
			return 0;
	}
}

/* number - a decimal port at s[*i], blanks around it skipped */
static int
number(const char *s, size_t len, size_t *i, unsigned int *out)
{
	unsigned int v = 0;
	size_t start;

	while (*i < len && (s[*i] == ' ' || s[*i] == '\t'))
		(*i)++;
	start = *i;
	while (*i < len && s[*i] >= '0' && s[*i] <= '9' && v <= 65535)
		v = v * 10 + (unsigned int)(s[(*i)++] - '0');
	while (*i < len && (s[*i] == ' ' || s[*i] == '\t'))
		(*i)++;
	if (*i == start || v > 65535)
		return -1;
	*out = v;
	return 0;
}

/* ident_parse - the user from an ident reply */
int
ident_parse(const char *reply, size_t len, unsigned int remote_port,
    unsigned int local_port, char *user, size_t size)
{
	unsigned int rp, lp;
	size_t i = 0, start, end;
	const char *colon;

	if (number(reply, len, &i, &rp) == -1 || i >= len || reply[i] != ',')
		return 0;
	i++;
	if (number(reply, len, &i, &lp) == -1 || i >= len || reply[i] != ':')
		return 0;
	if (rp != remote_port || lp != local_port)
		return 0;
	i++;
	while (i < len && (reply[i] == ' ' || reply[i] == '\t'))
		i++;
	if (len - i < 6 || strncmp(reply + i, "USERID", 6) != 0)
		return 0;
	i += 6;
	/* skip ": OS[,charset] :" */
	colon = memchr(reply + i, ':', len - i);
	if (colon == NULL)
		return 0;
	i = (size_t)(colon - reply) + 1;
	colon = memchr(reply + i, ':', len - i);
	if (colon == NULL)
		return 0;
	i = (size_t)(colon - reply) + 1;
	while (i < len && (reply[i] == ' ' || reply[i] == '\t'))
		i++;
	start = i;
	end = len;
	while (end > start && (reply[end - 1] == ' ' ||
	    reply[end - 1] == '\t' || reply[end - 1] == '\r' ||
	    reply[end - 1] == '\n'))
		end--;
	return ident_user(reply + start, end - start, user, size);
}

/* ident_user - see ident.h */
int
ident_user(const char *s, size_t n, char *user, size_t size)
{
	size_t k;

	if (n == 0 || n > SMTPD_IDENT_USER_MAX || n >= size)
		return 0;
	for (k = 0; k < n; k++) {
		unsigned char c = (unsigned char)s[k];

		if (c <= 0x20 || c > 0x7e || c == '@' || c == '(' || c == ')')
			return 0;
		user[k] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	user[n] = '\0';
	return 1;
}

/* ident_ask - one bounded ident query */
int
ident_ask(const struct ident_query *q, char *user, size_t size)
{
	struct sockaddr_storage ss;
	struct timespec deadline;
	char req[32], buf[SMTPD_IDENT_REPLY_MAX];
	socklen_t sl;
	size_t got = 0, sent = 0, reqlen;
	ssize_t n;
	int fd, err, result = 0;
	socklen_t errlen = sizeof(err);
	char *lf;

	if (q->local.family != q->remote.family || q->timeout == 0)
		return 0;
	if (clock_gettime(CLOCK_MONOTONIC, &deadline) == -1)
		return 0;
	deadline.tv_sec += q->timeout;
	fd = socket(q->remote.family == NET_V4 ? AF_INET : AF_INET6,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return 0;
	sl = to_sockaddr(&q->local, 0, &ss);
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1)
		goto out;
	sl = to_sockaddr(&q->remote, 113, &ss);
	if (connect(fd, (struct sockaddr *)&ss, sl) == -1) {
		if (errno != EINPROGRESS)
			goto out;
		if (!wait_for(fd, POLLOUT, &deadline))
			goto out;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) == -1 ||
		    err != 0)
			goto out;
	}
	n = snprintf(req, sizeof(req), "%u , %u\r\n", q->remote_port,
	    q->local_port);
	if (n < 0 || (size_t)n >= sizeof(req))
		goto out;
	reqlen = (size_t)n;
	while (sent < reqlen) {
		n = write(fd, req + sent, reqlen - sent);
		if (n > 0)
			sent += (size_t)n;
		else if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			if (!wait_for(fd, POLLOUT, &deadline))
				goto out;
		} else
			goto out;
	}
	while (got < sizeof(buf)) {
		if (!wait_for(fd, POLLIN, &deadline))
			goto out;
		n = read(fd, buf + got, sizeof(buf) - got);
		if (n == 0)
			break;
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			goto out;
		}
		got += (size_t)n;
		if (memchr(buf, '\n', got) != NULL)
			break;
	}
	lf = memchr(buf, '\n', got);
	result = ident_parse(buf, lf != NULL ? (size_t)(lf - buf) : got,
	    q->remote_port, q->local_port, user, size);
out:
	(void)close(fd);
	return result;
}
