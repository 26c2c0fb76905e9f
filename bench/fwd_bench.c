/* fwd_bench.c - smtpfwdd: spool-to-MTA throughput and pick-up delay */
/*
 * Measures, in one run, on this machine (bench/README.md):
 *  1. throughput into a REAL Postfix through its sendmail: N spool files
 *     (written by lib/spool.c's writer, as smtpd writes them) delivered
 *     by smtpfwdd, against the same N messages fed to the same sendmail
 *     from a shell loop, as the same user; the ratio is the result
 *     (target >= 0.9). smtpfwdd runs with its default concurrency and
 *     with -M 1 (the loop's);
 *  2. throughput into a Maildir (no MTA);
 *  3. the delay from smtpd's "250" after DATA (seen by the client) to
 *     the start of the delivery (the time in the Maildir file's name,
 *     taken when smtpfwdd starts writing it), one message at a time,
 *     through the real smtpd in its jail (target: median < 50 ms; the
 *     original polled every 10 s).
 * Needs root (a private Postfix instance, smtpd's chroot) and runs the
 * daemons as nobody:nogroup. Exits 1 only if a message went missing.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/spool.h"

#define BENCH_USER	"nobody"
#define BENCH_GROUP	"nogroup"
#define SENDMAIL	"/usr/sbin/sendmail"
#define MAILBOX		"bench"
#define DOMAIN		"test.example"
#define MESSAGES	500	/* -n: throughput messages */
#define LATENCY_MSGS	100	/* -l: latency messages */
#define LATENCY_GAP_MS	20	/* between latency messages */
#define PER_SESSION	50	/* latency messages per SMTP session */
#define WAIT_S		120	/* longest wait for any phase */
#define BODY_LINES	25	/* 80-byte lines: a 2 KB message */

struct bench {
	char base[PATH_MAX];	/* the temporary directory */
	char bin[PATH_MAX];	/* build variant's bin/ */
	char pf[PATH_MAX];	/* Postfix instance */
	char mail_config[PATH_MAX + 16];
	uid_t uid;
	gid_t gid;
	long pf_pid;
	int verbose;
};

static struct bench B;

/* die - say why and exit 111, stopping Postfix first */
static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int save = errno;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)fprintf(stderr, "fwd_bench: %s%s%s\n", msg, save ? ": " : "",
	    save ? strerror(save) : "");
	if (B.pf_pid > 0)
		(void)kill((pid_t)B.pf_pid, SIGTERM);
	exit(111);
}

/* path - snprintf into a PATH_MAX buffer, or die */
static char *
path(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *
path(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX) {
		errno = ENAMETOOLONG;
		die("path too long");
	}
	return buf;
}

/* mono - a monotonic clock in seconds */
static double
mono(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* wall - the real-time clock in seconds */
static double
wall(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* nap - sleep ms milliseconds */
static void
nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* write_all - the whole buffer */
static int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* put_file - create a file with text, mode and owner */
static void
put_file(const char *p, const char *text, mode_t mode, uid_t uid, gid_t gid)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd == -1 || write_all(fd, text, strlen(text)) == -1 ||
	    fchown(fd, uid, gid) == -1 || fchmod(fd, mode) == -1 ||
	    close(fd) == -1)
		die("write %s", p);
}

/* mkdir_owned - a directory with owner and mode */
static void
mkdir_owned(const char *p, mode_t mode, uid_t uid, gid_t gid)
{
	if (mkdir(p, mode) == -1 && errno != EEXIST)
		die("mkdir %s", p);
	if (chown(p, uid, gid) == -1 || chmod(p, mode) == -1)
		die("chown %s", p);
}

/* become - in a child: the bench user, for good */
static void
become(void)
{
	if (setgroups(1, &B.gid) == -1 || setresgid(B.gid, B.gid, B.gid) ==
	    -1 || setresuid(B.uid, B.uid, B.uid) == -1)
		_exit(111);
}

/* run - fork, exec argv (as the bench user if drop), wait; the status */
static int
run(char *const argv[], char *const envp[], int drop, int quiet)
{
	pid_t pid;
	int st, fd;

	pid = fork();
	if (pid == -1)
		die("fork");
	if (pid == 0) {
		if (quiet && (fd = open("/dev/null", O_WRONLY)) >= 0) {
			(void)dup2(fd, 1);
			(void)dup2(fd, 2);
		}
		if (drop)
			become();
		execve(argv[0], argv, envp);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			die("waitpid");
	return st;
}

/* count - directory entries that do not start with '.' */
static long
count(const char *p)
{
	DIR *d = opendir(p);
	struct dirent *de;
	long n = 0;

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	(void)closedir(d);
	return n;
}

/* wait_count - until p holds want entries (or, if !at_least, is down to) */
static int
wait_count(const char *p, long want, int at_least, double limit)
{
	double end = mono() + limit;
	long n;

	for (;;) {
		n = count(p);
		if (at_least ? n >= want : n <= want)
			return 0;
		if (mono() > end)
			return -1;
		nap(1);
	}
}

/* postfix_start - a private instance delivering MAILBOX into a Maildir */
static void
postfix_start(void)
{
	static const char *sbin[] = { "postalias", "postcat", "postconf",
	    "postfix", "postkick", "postlock", "postlog", "postmap",
	    "postmulti", "postsuper" };
	char p[PATH_MAX], q[PATH_MAX], text[4096], *argv[5];
	struct passwd *pfu = getpwnam("postfix");
	FILE *in, *out;
	char line[1024];
	size_t i;
	int n;

	if (pfu == NULL || access(SENDMAIL, X_OK) == -1)
		die("Postfix is not installed (scripts/install-deps)");
	path(B.pf, "%s/postfix", B.base);
	mkdir_owned(B.pf, 0755, 0, 0);
	mkdir_owned(path(p, "%s/cf", B.pf), 0755, 0, 0);
	mkdir_owned(path(p, "%s/bin", B.pf), 0755, 0, 0);
	mkdir_owned(path(p, "%s/queue", B.pf), 0755, 0, 0);
	mkdir_owned(path(p, "%s/data", B.pf), 0700, pfu->pw_uid, 0);
	mkdir_owned(path(p, "%s/vmail", B.pf), 0755, B.uid, B.gid);
	/* Its commands; postdrop set-gid to our group (fwdpostfix.py). */
	for (i = 0; i < sizeof(sbin) / sizeof(sbin[0]); i++)
		if (symlink(path(q, "/usr/sbin/%s", sbin[i]),
		    path(p, "%s/bin/%s", B.pf, sbin[i])) == -1)
			die("symlink %s", p);
	for (i = 0; i < 2; i++) {
		const char *name = i == 0 ? "postdrop" : "postqueue";
		int s, d;
		char buf[65536];
		ssize_t r;

		s = open(path(q, "/usr/sbin/%s", name), O_RDONLY);
		d = open(path(p, "%s/bin/%s", B.pf, name), O_WRONLY | O_CREAT |
		    O_TRUNC, 0755);
		if (s == -1 || d == -1)
			die("copy %s", name);
		while ((r = read(s, buf, sizeof(buf))) > 0)
			if (write_all(d, buf, (size_t)r) == -1)
				die("copy %s", name);
		if (r == -1 || fchown(d, 0, B.gid) == -1 ||
		    fchmod(d, 02755) == -1)
			die("copy %s", name);
		(void)close(s);
		(void)close(d);
	}
	/* master.cf without any inet service. */
	in = fopen("/etc/postfix/master.cf", "r");
	out = fopen(path(p, "%s/cf/master.cf", B.pf), "w");
	if (in == NULL || out == NULL)
		die("master.cf");
	while (fgets(line, sizeof(line), in) != NULL) {
		char w1[64], w2[64];
		int k = 0, j = 0;
		const char *c = line;

		w1[0] = w2[0] = '\0';
		while (*c == ' ' || *c == '\t')
			c++;
		while (*c != '\0' && *c != ' ' && *c != '\t' && *c != '\n' &&
		    k < 63)
			w1[k++] = *c++;
		w1[k] = '\0';
		while (*c == ' ' || *c == '\t')
			c++;
		while (*c != '\0' && *c != ' ' && *c != '\t' && *c != '\n' &&
		    j < 63)
			w2[j++] = *c++;
		w2[j] = '\0';
		if (w1[0] != '#' && strcmp(w2, "inet") == 0)
			continue;
		if (fputs(line, out) == EOF)
			die("master.cf");
	}
	if (fclose(out) == EOF)
		die("master.cf");
	(void)fclose(in);
	n = snprintf(text, sizeof(text),
	    "compatibility_level = 3.6\n"
	    "queue_directory = %s/queue\n"
	    "data_directory = %s/data\n"
	    "command_directory = %s/bin\n"
	    "mail_owner = postfix\n"
	    "setgid_group = %s\n"
	    /* nobody's group is ours: Postfix wants them apart */
	    "default_privs = daemon\n"
	    "inet_interfaces = loopback-only\n"
	    "inet_protocols = ipv4\n"
	    "myhostname = mx.%s\nmydomain = %s\nmyorigin = %s\n"
	    "mydestination =\nalias_maps =\nalias_database =\n"
	    "virtual_mailbox_domains = %s\n"
	    "virtual_mailbox_base = %s/vmail\n"
	    "virtual_mailbox_maps = texthash:%s/cf/vmailbox\n"
	    "virtual_uid_maps = static:%lu\n"
	    "virtual_gid_maps = static:%lu\n"
	    "maillog_file = %s/maillog\n"
	    "maillog_file_prefixes = %s\n",
	    B.pf, B.pf, B.pf, BENCH_GROUP, DOMAIN, DOMAIN, DOMAIN, DOMAIN,
	    B.pf, B.pf, (unsigned long)B.uid, (unsigned long)B.gid, B.pf,
	    B.pf);
	if (n < 0 || (size_t)n >= sizeof(text))
		die("main.cf too long");
	put_file(path(p, "%s/cf/main.cf", B.pf), text, 0644, 0, 0);
	put_file(path(p, "%s/cf/vmailbox", B.pf),
	    MAILBOX "@" DOMAIN " " MAILBOX "/\n", 0644, 0, 0);
	path(B.mail_config, "%s/cf", B.pf);
	argv[0] = "/usr/sbin/postfix";
	argv[1] = "-c";
	argv[2] = B.mail_config;
	argv[3] = "start";
	argv[4] = NULL;
	{
		char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
		int st = run(argv, envp, 0, 1);

		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			die("postfix start failed (see %s/maillog)", B.pf);
	}
	/* Ready when the master's pid is there and pickup listens. */
	{
		double end = mono() + 20;
		char buf[128];	/* "%33d\n" */
		int fd;
		ssize_t r;

		for (;;) {
			fd = open(path(p, "%s/queue/pid/master.pid", B.pf),
			    O_RDONLY);
			if (fd >= 0) {
				r = read(fd, buf, sizeof(buf) - 1);
				(void)close(fd);
				buf[r > 0 ? r : 0] = '\0';
				B.pf_pid = strtol(buf, NULL, 10);
			}
			if (B.pf_pid > 0 && kill((pid_t)B.pf_pid, 0) == 0 &&
			    access(path(p, "%s/queue/public/pickup", B.pf),
			    F_OK) == 0)
				break;
			if (mono() > end)
				die("Postfix did not come up");
			nap(20);
		}
	}
	path(B.mail_config, "MAIL_CONFIG=%s/cf", B.pf);
}

/* postfix_stop - postfix stop, then make sure its master is gone */
static void
postfix_stop(void)
{
	char cf[PATH_MAX], *argv[] = { "/usr/sbin/postfix", "-c", cf, "stop",
	    NULL }, *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	double end;

	if (B.pf_pid <= 0)
		return;
	path(cf, "%s/cf", B.pf);
	(void)run(argv, envp, 0, 1);
	for (end = mono() + 15; kill((pid_t)B.pf_pid, 0) == 0; nap(20))
		if (mono() > end) {
			(void)kill((pid_t)B.pf_pid, SIGKILL);
			break;
		}
	B.pf_pid = 0;
}

/* make_spool - dir with tmp/ new/ work/ hold/, the bench user's */
static void
make_spool(const char *dir)
{
	char p[PATH_MAX];
	static const char *sub[] = { "tmp", "new", "work", "hold" };
	size_t i;

	mkdir_owned(dir, 0750, B.uid, B.gid);
	for (i = 0; i < 4; i++)
		mkdir_owned(path(p, "%s/%s", dir, sub[i]), 0700, B.uid, B.gid);
}

/* body - the message text of number i (the same for every phase) */
static size_t
body(char *buf, size_t size, const char *tag, int i)
{
	size_t len;
	int n, k;

	n = snprintf(buf, size,
	    "Received: from client.example (client.example [192.0.2.1])\n"
	    "\tby mx.%s (smtpd) with ESMTP id bench-%s-%d;\n"
	    "\tSat, 23 Nov 2026 15:33:00 +0000\n"
	    "From: Bench <bench@example.org>\nTo: %s@%s\n"
	    "Date: Sat, 23 Nov 2026 15:33:00 +0000\n"
	    "Message-ID: <bench-%s-%d@example.org>\nSubject: bench %d\n\n",
	    DOMAIN, tag, i, MAILBOX, DOMAIN, tag, i, i);
	if (n < 0 || (size_t)n >= size)
		die("body");
	len = (size_t)n;
	for (k = 0; k < BODY_LINES && len + 82 < size; k++) {
		memset(buf + len, 'a' + (k + i) % 26, 79);
		len += 79;
		buf[len++] = '\n';
	}
	return len;
}

/* generate - n spool files in stage/new (as the bench user) and, if
   msgdir, the same messages as plain files for the shell loop */
static void
generate(const char *stage, const char *msgdir, const char *tag, int n)
{
	static const char *rcpt[] = { "<" MAILBOX "@" DOMAIN ">" };
	struct spool_writer *w;
	struct spool_meta m;
	char buf[8192], p[PATH_MAX];
	pid_t pid;
	int i, st, fd;
	size_t len;

	pid = fork();
	if (pid == -1)
		die("fork");
	if (pid == 0) {
		become();
		if ((w = malloc(sizeof(*w))) == NULL)
			_exit(111);
		memset(&m, 0, sizeof(m));
		m.client_ip = "192.0.2.1";
		m.client_name = "client.example";
		m.helo = "client.example";
		m.proto = "ESMTP";
		m.body_type = "7BIT";
		m.from = "<bench@example.org>";
		m.rcpt = rcpt;
		m.nrcpt = 1;
		for (i = 0; i < n; i++) {
			m.time = (long long)time(NULL);
			len = body(buf, sizeof(buf), tag, i);
			if (spool_open(w, stage, &m) == -1 ||
			    spool_write(w, buf, len) == -1 ||
			    spool_commit(w) == -1)
				_exit(111);
			if (msgdir == NULL)
				continue;
			fd = open(path(p, "%s/%06d", msgdir, i), O_WRONLY |
			    O_CREAT | O_TRUNC, 0600);
			if (fd == -1 || write_all(fd, buf, len) == -1 ||
			    close(fd) == -1)
				_exit(111);
		}
		_exit(0);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			die("waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("generating %s messages failed", tag);
}

/* burst - move every file of stage/new into spool/new at once */
static long
burst(const char *stage, const char *spool)
{
	char from[PATH_MAX], to[PATH_MAX], p[PATH_MAX];
	DIR *d = opendir(path(p, "%s/new", stage));
	struct dirent *de;
	long n = 0;

	if (d == NULL)
		die("opendir %s", p);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (rename(path(from, "%s/new/%s", stage, de->d_name),
		    path(to, "%s/new/%s", spool, de->d_name)) == -1)
			die("rename %s", from);
		n++;
	}
	(void)closedir(d);
	return n;
}

/* fwd_start - smtpfwdd on spool, as the bench user, with extra args */
static pid_t
fwd_start(const char *spool, const char *const *extra)
{
	char exe[PATH_MAX], log[PATH_MAX];
	const char *argv[32];
	char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	pid_t pid;
	int k = 0, fd, st;

	path(exe, "%s/smtpfwdd", B.bin);
	path(log, "%s/smtpfwdd.log", B.base);
	argv[k++] = exe;
	argv[k++] = "-l";
	argv[k++] = "-u";
	argv[k++] = BENCH_USER;
	argv[k++] = "-g";
	argv[k++] = BENCH_GROUP;
	argv[k++] = "-d";
	argv[k++] = spool;
	while (*extra != NULL && k < 31)
		argv[k++] = *extra++;
	argv[k] = NULL;
	pid = fork();
	if (pid == -1)
		die("fork");
	if (pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			(void)dup2(fd, 1);
			(void)dup2(fd, 2);
		}
		execve(exe, (char *const *)argv, envp);
		_exit(127);
	}
	/* Started when its lock file carries its pid. */
	{
		char p[PATH_MAX], buf[32];
		double end = mono() + 10;
		ssize_t r;

		for (;;) {
			fd = open(path(p, "%s/work/.smtpfwdd.pid", spool),
			    O_RDONLY);
			if (fd >= 0) {
				r = read(fd, buf, sizeof(buf) - 1);
				(void)close(fd);
				buf[r > 0 ? r : 0] = '\0';
				if (strtol(buf, NULL, 10) == (long)pid)
					break;
			}
			if (waitpid(pid, &st, WNOHANG) == pid) {
				errno = 0;
				die("smtpfwdd exited with status %d (see %s)",
				    st, log);
			}
			if (mono() > end)
				die("smtpfwdd did not start (see %s)", log);
			nap(5);
		}
	}
	return pid;
}

/* fwd_stop - SIGTERM and wait */
static void
fwd_stop(pid_t pid)
{
	int st;

	(void)kill(pid, SIGTERM);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			die("waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("smtpfwdd ended with status %d", st);
}

/* spool_left - messages still in new/ and work/ */
static long
spool_left(const char *spool)
{
	char p[PATH_MAX], q[PATH_MAX];

	return count(path(p, "%s/new", spool)) + count(path(q, "%s/work",
	    spool));
}

/* wait_empty - until spool has no message left; the seconds taken */
static double
wait_empty(const char *spool, double t0)
{
	double end = t0 + WAIT_S;

	while (spool_left(spool) > 0) {
		if (mono() > end)
			die("%s did not empty in %d s", spool, WAIT_S);
		nap(1);
	}
	return mono() - t0;
}

/* mailbox_count - files Postfix delivered so far */
static long
mailbox_count(void)
{
	char p[PATH_MAX];

	return count(path(p, "%s/vmail/%s/new", B.pf, MAILBOX));
}

/* drain - wait until Postfix has delivered total messages */
static void
drain(long total)
{
	char p[PATH_MAX];

	if (wait_count(path(p, "%s/vmail/%s/new", B.pf, MAILBOX), total, 1,
	    WAIT_S) == -1)
		die("Postfix delivered %ld of %ld messages", mailbox_count(),
		    total);
}

/* shell_loop - sendmail < file, one after another, as the bench user */
static double
shell_loop(const char *msgdir)
{
	char script[] = "for f in \"$0\"/*; do " SENDMAIL " -oi -f "
	    "bench@example.org -- " MAILBOX "@" DOMAIN " <\"$f\" || exit 1; "
	    "done";
	char *argv[] = { "/bin/sh", "-c", script, (char *)msgdir, NULL };
	char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", B.mail_config,
	    NULL };
	double t0 = mono();
	int st = run(argv, envp, 1, 0);

	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("the shell loop failed (status %d)", st);
	return mono() - t0;
}

/* fwd_phase - stage n messages, start smtpfwdd, burst, time to empty */
static double
fwd_phase(const char *name, const char *const *extra, int n)
{
	char stage[PATH_MAX], spool[PATH_MAX];
	pid_t pid;
	double t0, t;

	path(stage, "%s/stage-%s", B.base, name);
	path(spool, "%s/spool-%s", B.base, name);
	make_spool(stage);
	make_spool(spool);
	generate(stage, NULL, name, n);
	pid = fwd_start(spool, extra);
	t0 = mono();
	if (burst(stage, spool) != n)
		die("staged messages missing");
	t = wait_empty(spool, t0);
	fwd_stop(pid);
	return t;
}

/* smtp_reply - read one (multi-line) reply; its code */
static int
smtp_reply(int fd, char *buf, size_t size, size_t *have)
{
	char *nl, *line;
	ssize_t r;
	int code = -1;

	for (;;) {
		while ((nl = memchr(buf, '\n', *have)) == NULL) {
			if (*have == size)
				return -1;
			r = read(fd, buf + *have, size - *have);
			if (r <= 0)
				return -1;
			*have += (size_t)r;
		}
		line = buf;
		if (nl - line >= 3)
			code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
			    (line[2] - '0');
		{
			int is_last = nl - line < 4 || line[3] != '-';
			size_t used = (size_t)(nl - buf) + 1;

			memmove(buf, buf + used, *have - used);
			*have -= used;
			if (is_last)
				return code;
		}
	}
}

/* session_start - smtpd in its jail on a socketpair; our end */
static int
session_start(const char *jail, pid_t *pid)
{
	char exe[PATH_MAX];
	char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TZ=UTC",
	    "SMTPD_PEER_IP=127.0.0.1", "SMTPD_PEER_NAME=UNKNOWN", NULL };
	char *argv[] = { exe, "-H", "-c", (char *)jail, "-u", BENCH_USER, "-g",
	    BENCH_GROUP, "-m", "mx." DOMAIN, NULL };
	int sv[2], fd;

	path(exe, "%s/smtpd", B.bin);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		die("socketpair");
	*pid = fork();
	if (*pid == -1)
		die("fork");
	if (*pid == 0) {
		if (dup2(sv[1], 0) == -1 || dup2(sv[1], 1) == -1)
			_exit(111);
		if ((fd = open("/dev/null", O_WRONLY)) >= 0)
			(void)dup2(fd, 2);
		execve(exe, argv, envp);
		_exit(127);
	}
	(void)close(sv[1]);
	return sv[0];
}

/* cmp_double - for qsort */
static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* latency - 250 to delivery start, through smtpd and a Maildir */
static void
latency(int n, double *res, int *got)
{
	char jail[PATH_MAX], spool[PATH_MAX], maildir[PATH_MAX], p[PATH_MAX];
	char buf[65536], msg[8192], cmd[512];
	char *sargv[] = { "/bin/sh", "scripts/jail-setup", "-u", BENCH_USER,
	    "-g", BENCH_GROUP, "-f", BENCH_USER, "-r", p, jail, NULL };
	char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	const char *extra[] = { "-m", maildir, NULL };
	double *t250 = calloc((size_t)n, sizeof(double));
	size_t have = 0, len;
	pid_t fwd, sm = 0;
	int i, fd = -1, st, code;
	DIR *d;
	struct dirent *de;

	if (t250 == NULL)
		die("calloc");
	path(jail, "%s/jail", B.base);
	put_file(path(p, "%s/rules", B.base), "allow:ALL:ALL:ALL\n", 0644, 0,
	    0);
	st = run(sargv, envp, 0, 1);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("scripts/jail-setup failed (run from the top directory)");
	path(spool, "%s/spool", jail);
	path(maildir, "%s/Maildir", B.base);
	mkdir_owned(maildir, 0700, B.uid, B.gid);
	fwd = fwd_start(spool, extra);
	for (i = 0; i < n; i++) {
		if (i % PER_SESSION == 0) {
			if (fd >= 0) {
				(void)write_all(fd, "QUIT\r\n", 6);
				(void)smtp_reply(fd, buf, sizeof(buf), &have);
				(void)close(fd);
				(void)waitpid(sm, &st, 0);
			}
			have = 0;
			fd = session_start(jail, &sm);
			if (smtp_reply(fd, buf, sizeof(buf), &have) != 220 ||
			    write_all(fd, "EHLO bench.example\r\n", 20) == -1 ||
			    smtp_reply(fd, buf, sizeof(buf), &have) != 250)
				die("smtpd session did not start");
		}
		len = body(msg, sizeof(msg), "lat", i);
		/* CRLF on the wire; no line starts with a dot. */
		{
			char *w = malloc(len * 2 + 8);
			size_t k, o = 0;

			if (w == NULL)
				die("malloc");
			(void)snprintf(cmd, sizeof(cmd), "MAIL FROM:<bench@"
			    "example.org>\r\nRCPT TO:<%s@%s>\r\nDATA\r\n",
			    MAILBOX, DOMAIN);
			if (write_all(fd, cmd, strlen(cmd)) == -1 ||
			    smtp_reply(fd, buf, sizeof(buf), &have) != 250 ||
			    smtp_reply(fd, buf, sizeof(buf), &have) != 250 ||
			    smtp_reply(fd, buf, sizeof(buf), &have) != 354)
				die("MAIL/RCPT/DATA refused");
			for (k = 0; k < len; k++) {
				if (msg[k] == '\n')
					w[o++] = '\r';
				w[o++] = msg[k];
			}
			memcpy(w + o, ".\r\n", 3);
			o += 3;
			if (write_all(fd, w, o) == -1)
				die("write");
			free(w);
		}
		code = smtp_reply(fd, buf, sizeof(buf), &have);
		t250[i] = wall();
		if (code != 250)
			die("message %d not accepted (%d)", i, code);
		nap(LATENCY_GAP_MS);
	}
	(void)write_all(fd, "QUIT\r\n", 6);
	(void)smtp_reply(fd, buf, sizeof(buf), &have);
	(void)close(fd);
	(void)waitpid(sm, &st, 0);
	(void)wait_empty(spool, mono());
	fwd_stop(fwd);
	/* Maildir names begin "SECONDS.MUSEC": the start of the delivery. */
	*got = 0;
	d = opendir(path(p, "%s/new", maildir));
	if (d == NULL)
		die("opendir %s", p);
	while ((de = readdir(d)) != NULL) {
		char *dot, f[PATH_MAX];
		long sec, usec;
		int k, mfd;
		ssize_t r;
		char *hit;

		if (de->d_name[0] == '.')
			continue;
		sec = strtol(de->d_name, &dot, 10);
		if (*dot != '.' || dot[1] != 'M')
			continue;
		usec = strtol(dot + 2, NULL, 10);
		mfd = open(path(f, "%s/new/%s", maildir, de->d_name), O_RDONLY);
		if (mfd == -1)
			continue;
		r = read(mfd, buf, sizeof(buf) - 1);
		(void)close(mfd);
		buf[r > 0 ? r : 0] = '\0';
		hit = strstr(buf, "Message-ID: <bench-lat-");
		if (hit == NULL)
			continue;
		k = (int)strtol(hit + 23, NULL, 10);
		if (k < 0 || k >= n)
			continue;
		res[(*got)++] = (double)sec + (double)usec / 1e6 - t250[k];
	}
	(void)closedir(d);
	free(t250);
	qsort(res, (size_t)*got, sizeof(double), cmp_double);
}

/* rm_rf - remove the temporary directory */
static void
rm_rf(const char *dir)
{
	char *argv[] = { "/bin/rm", "-rf", (char *)dir, NULL };
	char *envp[] = { NULL };

	(void)run(argv, envp, 0, 1);
}

int
main(int argc, char **argv)
{
	const char *m10[] = { "-s", SENDMAIL, "-e", B.mail_config, NULL };
	const char *m1[] = { "-s", SENDMAIL, "-e", B.mail_config, "-M", "1",
	    NULL };
	const char *md[] = { "-m", NULL, NULL };
	char msgdir[PATH_MAX], warm[PATH_MAX], maildir[PATH_MAX];
	struct passwd *pw;
	struct group *gr;
	double t_loop, t_fwd, t_fwd1, t_md, lat[LATENCY_MSGS * 10], med;
	long total = 0;
	int ch, n = MESSAGES, nl = LATENCY_MSGS, keep = 0, got, bad = 0;
	char *slash;

	while ((ch = getopt(argc, argv, "kl:n:v")) != -1) {
		switch (ch) {
		case 'k':
			keep = 1;
			break;
		case 'l':
			nl = (int)strtol(optarg, NULL, 10);
			break;
		case 'n':
			n = (int)strtol(optarg, NULL, 10);
			break;
		case 'v':
			B.verbose = 1;
			break;
		default:
			(void)fprintf(stderr, "usage: fwd_bench [-kv] [-n "
			    "messages] [-l latency-messages]\n");
			return 100;
		}
	}
	if (n < 10 || n > 100000 || nl < 10 || nl > LATENCY_MSGS * 10) {
		(void)fprintf(stderr, "fwd_bench: -n 10..100000, -l 10..%d\n",
		    LATENCY_MSGS * 10);
		return 100;
	}
	if (geteuid() != 0) {
		(void)printf("fwd_bench: needs root (a private Postfix, "
		    "smtpd's chroot): not run\n");
		return 0;
	}
	if ((pw = getpwnam(BENCH_USER)) == NULL ||
	    (gr = getgrnam(BENCH_GROUP)) == NULL)
		die("no user %s or group %s", BENCH_USER, BENCH_GROUP);
	B.uid = pw->pw_uid;
	B.gid = gr->gr_gid;
	/* The programs beside this one: <build>/bench/.. -> <build>/bin */
	path(warm, "%s", argv[0]);
	if ((slash = strrchr(warm, '/')) == NULL)
		die("run me by my path (make bench)");
	*slash = '\0';
	path(B.bin, "%s/../bin", warm);
	{
		const char *tmp = getenv("TMPDIR");

		if (tmp == NULL || *tmp == '\0')
			tmp = "/tmp";
		path(B.base, "%s/fwd_bench.XXXXXX", tmp);
		if (mkdtemp(B.base) == NULL)
			die("mkdtemp");
		if (chmod(B.base, 0755) == -1)
			die("chmod");
	}
	(void)signal(SIGPIPE, SIG_IGN);
	postfix_start();

	/* Warm-up: Postfix's daemons and the page cache, both ways. */
	path(warm, "%s/msgs-warm", B.base);
	mkdir_owned(warm, 0700, B.uid, B.gid);
	{
		char stage[PATH_MAX];

		path(stage, "%s/stage-warmloop", B.base);
		make_spool(stage);
		generate(stage, warm, "warm", 20);
	}
	(void)shell_loop(warm);
	(void)fwd_phase("warm", m10, 20);
	total += 40;
	drain(total);

	/* 1. The same n messages: shell loop, smtpfwdd, smtpfwdd -M 1. */
	path(msgdir, "%s/msgs", B.base);
	mkdir_owned(msgdir, 0700, B.uid, B.gid);
	{
		char stage[PATH_MAX];

		path(stage, "%s/stage-loop", B.base);
		make_spool(stage);
		generate(stage, msgdir, "loop", n);
	}
	t_loop = shell_loop(msgdir);
	total += n;
	drain(total);
	t_fwd = fwd_phase("fwd", m10, n);
	total += n;
	drain(total);
	t_fwd1 = fwd_phase("fwd1", m1, n);
	total += n;
	drain(total);
	postfix_stop();

	/* 2. Maildir. */
	path(maildir, "%s/Maildir-tp", B.base);
	mkdir_owned(maildir, 0700, B.uid, B.gid);
	md[1] = maildir;
	t_md = fwd_phase("maildir", md, n);
	{
		char p[PATH_MAX];

		if (count(path(p, "%s/new", maildir)) != n)
			bad = 1;
	}

	/* 3. Latency through smtpd. */
	latency(nl, lat, &got);
	if (got != nl)
		bad = 1;
	med = got > 0 ? lat[got / 2] * 1000 : -1;

	(void)printf("fwd_bench: %d messages of about 2.3 KB, 1 recipient "
	    "each; Postfix sendmail into a private instance; %ld cores\n", n,
	    sysconf(_SC_NPROCESSORS_ONLN));
	(void)printf("  shell loop       %6d msgs in %6.2f s  %8.1f msg/s  "
	    "(sendmail < file, one after another)\n", n, t_loop,
	    n / t_loop);
	(void)printf("  smtpfwdd         %6d msgs in %6.2f s  %8.1f msg/s  "
	    "ratio %.2f to the loop   target >= 0.9: %s\n", n, t_fwd,
	    n / t_fwd, t_loop / t_fwd, t_loop / t_fwd >= 0.9 ? "PASS" :
	    "FAIL");
	(void)printf("  smtpfwdd -M 1    %6d msgs in %6.2f s  %8.1f msg/s  "
	    "ratio %.2f (one delivery at a time, like the loop)\n", n, t_fwd1,
	    n / t_fwd1, t_loop / t_fwd1);
	(void)printf("  smtpfwdd Maildir %6d msgs in %6.2f s  %8.1f msg/s  "
	    "(-m, fsync per file)\n", n, t_md, n / t_md);
	if (got > 0)
		(void)printf("  pick-up delay    %6d msgs: 250 to delivery "
		    "start median %.1f ms, p90 %.1f ms, max %.1f ms   target "
		    "median < 50 ms: %s\n", got, med, lat[got * 9 / 10] * 1000,
		    lat[got - 1] * 1000, med < 50 ? "PASS" : "FAIL");
	(void)printf("  original         polls every 10 s: a delay of 0 to "
	    "10 s, 5 s on average\n");
	if (bad)
		(void)printf("  MISSING messages: maildir or latency run lost "
		    "mail\n");
	if (keep)
		(void)printf("  kept %s\n", B.base);
	else
		rm_rf(B.base);
	return bad;
}
