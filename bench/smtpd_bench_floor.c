/* smtpd_bench_floor.c - the cost floor of fork-per-connection + spool */
/*
 * A reference for bench/smtpd_bench.py, not a mail server: the least a
 * process-per-connection SMTP receiver that spools durably must do. One
 * fork per connection (-p port: listen and fork; without -p: inetd mode,
 * the connection on fd 0/1), a canned reply per command line, DATA read
 * to the final dot, and per message one spool file:
 *   -m none     nothing written (the fork-and-talk floor)
 *   -m fsync    write + fsync one file in DIR/new/ (the brief's reference)
 *   -m atomic   write + fsync in DIR/tmp/, rename into DIR/new/, fsync
 *               DIR/new/ (what smtpd's spool does, docs/spool.5)
 * No checks, no limits beyond a fixed line buffer, no privilege drop,
 * no DNS: whatever smtpd spends above this is the price of its work.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define USAGE	"usage: smtpd_bench_floor [-p port] [-m none|fsync|atomic] " \
		"[-d dir]\n"
#define BUF_SIZE	16384
#define LINE_MAX_LEN	1024
#define BACKLOG		1024

enum mode { MODE_NONE, MODE_FSYNC, MODE_ATOMIC };

struct conn {
	int fd;
	char buf[BUF_SIZE];
	size_t off, len;
	enum mode mode;
	const char *dir;
	unsigned int seq;
};

/* die - message and exit 111 */
static void __attribute__((noreturn))
die(const char *what)
{
	fprintf(stderr, "smtpd_bench_floor: %s: %s\n", what, strerror(errno));
	exit(111);
}

/* say - write a reply; 0 or -1 */
static int
say(struct conn *c, const char *text)
{
	size_t len = strlen(text), done = 0;
	ssize_t n;

	while (done < len) {
		n = write(1, text + done, len - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	(void)c;
	return 0;
}

/* get_line - the next line (without CRLF) into line; -1 at EOF */
static int
get_line(struct conn *c, char *line, size_t size)
{
	size_t n = 0;
	ssize_t r;
	char ch;

	for (;;) {
		if (c->off == c->len) {
			r = read(0, c->buf, sizeof(c->buf));
			if (r == -1 && errno == EINTR)
				continue;
			if (r <= 0)
				return -1;
			c->off = 0;
			c->len = (size_t)r;
		}
		ch = c->buf[c->off++];
		if (ch == '\n')
			break;
		if (n + 1 < size)
			line[n++] = ch;
	}
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	return (int)n;
}

/* write_all - the whole buffer to fd */
static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* data - read the message to its dot; spool it as the mode says */
static int
data(struct conn *c)
{
	char line[LINE_MAX_LEN], name[256], tmp[512], dst[512];
	char *body = NULL, *nb;
	size_t blen = 0, bcap = 0, need;
	int n, fd, dfd;

	for (;;) {
		if ((n = get_line(c, line, sizeof(line))) == -1) {
			free(body);
			return -1;
		}
		if (strcmp(line, ".") == 0)
			break;
		need = blen + (size_t)n + 1;
		if (need > bcap) {
			bcap = need * 2 + 4096;
			if ((nb = realloc(body, bcap)) == NULL)
				die("realloc");
			body = nb;
		}
		memcpy(body + blen, line[0] == '.' ? line + 1 : line,
		    (size_t)n - (line[0] == '.'));
		blen += (size_t)n - (line[0] == '.');
		body[blen++] = '\n';
	}
	if (c->mode != MODE_NONE) {
		snprintf(name, sizeof(name), "%ld.%ld.%u", (long)time(NULL),
		    (long)getpid(), c->seq++);
		snprintf(tmp, sizeof(tmp), "%s/%s/%s", c->dir,
		    c->mode == MODE_ATOMIC ? "tmp" : "new", name);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd == -1 || write_all(fd, body, blen) == -1 ||
		    fsync(fd) == -1 || close(fd) == -1)
			die(tmp);
		if (c->mode == MODE_ATOMIC) {
			snprintf(dst, sizeof(dst), "%s/new/%s", c->dir, name);
			if (rename(tmp, dst) == -1)
				die("rename");
			snprintf(dst, sizeof(dst), "%s/new", c->dir);
			if ((dfd = open(dst, O_RDONLY | O_DIRECTORY)) == -1 ||
			    fsync(dfd) == -1 || close(dfd) == -1)
				die(dst);
		}
	}
	free(body);
	return say(c, "250 2.0.0 Ok: queued\r\n");
}

/* session - one SMTP dialogue on fd 0/1 */
static void
session(enum mode mode, const char *dir)
{
	static struct conn c;
	char line[LINE_MAX_LEN];

	memset(&c, 0, sizeof(c));
	c.mode = mode;
	c.dir = dir;
	if (say(&c, "220 floor.example ESMTP\r\n") == -1)
		return;
	while (get_line(&c, line, sizeof(line)) != -1) {
		if (strncasecmp(line, "EHLO", 4) == 0) {
			if (say(&c, "250-floor.example\r\n250-PIPELINING\r\n"
			    "250 8BITMIME\r\n") == -1)
				return;
		} else if (strncasecmp(line, "DATA", 4) == 0) {
			if (say(&c, "354 End data with <CR><LF>.<CR><LF>\r\n")
			    == -1 || data(&c) == -1)
				return;
		} else if (strncasecmp(line, "QUIT", 4) == 0) {
			(void)say(&c, "221 2.0.0 Bye\r\n");
			return;
		} else if (say(&c, "250 2.0.0 Ok\r\n") == -1)
			return;
	}
}

/* reap - SIGCHLD: collect children */
static void
reap(int sig)
{
	int saved = errno;

	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = saved;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	struct sigaction sa;
	const char *dir = ".";
	enum mode mode = MODE_ATOMIC;
	int ch, port = 0, lfd, fd, on = 1;
	char *end;
	pid_t pid;

	while ((ch = getopt(argc, argv, "d:m:p:")) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'm':
			if (strcmp(optarg, "none") == 0)
				mode = MODE_NONE;
			else if (strcmp(optarg, "fsync") == 0)
				mode = MODE_FSYNC;
			else if (strcmp(optarg, "atomic") == 0)
				mode = MODE_ATOMIC;
			else
				goto usage;
			break;
		case 'p':
			errno = 0;
			port = (int)strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || port < 1 ||
			    port > 65535)
				goto usage;
			break;
		default:
			goto usage;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		die("sigaction");
	if (port == 0) {
		session(mode, dir);
		return 0;
	}
	sa.sa_handler = reap;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	if (sigaction(SIGCHLD, &sa, NULL) == -1)
		die("sigaction");
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		die("socket");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, BACKLOG) == -1)
		die("bind");
	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept");
		}
		if ((pid = fork()) == -1)
			die("fork");
		if (pid == 0) {
			close(lfd);
			if (dup2(fd, 0) == -1 || dup2(fd, 1) == -1)
				die("dup2");
			close(fd);
			session(mode, dir);
			_exit(0);
		}
		close(fd);
	}
usage:
	fputs(USAGE, stderr);
	return 100;
}
