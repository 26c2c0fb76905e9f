/* target_sendmail.c - deliver a batch by running sendmail */
/*
 * fork + execve with an argument vector (no shell), "--" before the
 * recipients, the environment replaced by conf->envp, the body on stdin
 * from the worker's private copy of the checked message, sendmail in
 * its own process group so that a time-out can kill it and its helpers.
 * The exit status is mapped through sysexits(3); death by a signal or a
 * time-out is a temporary failure, as is a failed exec.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "deliver.h"
#include "../lib/log.h"
#include "target.h"

/* Slots of an argument vector: path, -a args, -oi -f from --, rcpts, NULL */
#define ARGV_SLOTS	(1 + FWD_EXTRA_ARGS_MAX + 4 + FWD_BATCH_MAX + 1)

/* Without pidfd_open(2), how often the child is polled, milliseconds. */
#define POLL_FALLBACK_MS	10

static const struct {
	int code;
	const char *name;
	enum target_status status;
} sysexits[] = {
	{ EX_USAGE, "EX_USAGE", TARGET_PERM },
	{ EX_DATAERR, "EX_DATAERR", TARGET_PERM },
	{ EX_NOINPUT, "EX_NOINPUT", TARGET_TEMP },
	{ EX_NOUSER, "EX_NOUSER", TARGET_PERM },
	{ EX_NOHOST, "EX_NOHOST", TARGET_PERM },
	{ EX_UNAVAILABLE, "EX_UNAVAILABLE", TARGET_TEMP },
	{ EX_SOFTWARE, "EX_SOFTWARE", TARGET_TEMP },
	{ EX_OSERR, "EX_OSERR", TARGET_TEMP },
	{ EX_OSFILE, "EX_OSFILE", TARGET_TEMP },
	{ EX_CANTCREAT, "EX_CANTCREAT", TARGET_TEMP },
	{ EX_IOERR, "EX_IOERR", TARGET_TEMP },
	{ EX_TEMPFAIL, "EX_TEMPFAIL", TARGET_TEMP },
	{ EX_PROTOCOL, "EX_PROTOCOL", TARGET_PERM },
	{ EX_NOPERM, "EX_NOPERM", TARGET_PERM },
	{ EX_CONFIG, "EX_CONFIG", TARGET_TEMP },
};

/* target_sysexit - map a sendmail exit code */
enum target_status
target_sysexit(int code, const char **name)
{
	size_t i;

	if (code == 0) {
		*name = "EX_OK";
		return TARGET_OK;
	}
	for (i = 0; i < sizeof(sysexits) / sizeof(sysexits[0]); i++)
		if (sysexits[i].code == code) {
			*name = sysexits[i].name;
			return sysexits[i].status;
		}
	*name = "unknown";
	return TARGET_TEMP;
}

/* target_sendmail_argv - the argument vector, NULL-terminated */
int
target_sendmail_argv(const struct fwd_conf *conf, const char *from,
    const char *const *rcpt, size_t n, const char **argv, size_t argvsize)
{
	size_t i, k = 0;

	if (argvsize < 1 + conf->nextra + 4 + n + 1)
		return -1;
	argv[k++] = conf->sendmail;
	for (i = 0; i < conf->nextra; i++)
		argv[k++] = conf->extra_args[i];
	argv[k++] = "-oi";
	argv[k++] = "-f";
	argv[k++] = from;
	argv[k++] = "--";
	for (i = 0; i < n; i++)
		argv[k++] = rcpt[i];
	argv[k] = NULL;
	return (int)k;
}

/* now_ms - a monotonic clock in milliseconds */
static long long
now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* child_exec - in the child: set up fds, signals, then exec; never returns */
static void
child_exec(const char *const *argv, const char *const *envp, int bodyfd,
    int nullfd, int errfd, int execfd, pid_t parent)
{
	struct sigaction sa;
	sigset_t none;
	int sig, e;

	/* Die with the worker rather than deliver behind its back. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(127);
	(void)setpgid(0, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	(void)sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &sa, NULL);	/* EINVAL ok */
	(void)sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(bodyfd, 0) == -1 || dup2(nullfd, 1) == -1 ||
	    dup2(errfd, 2) == -1)
		goto fail;
	/* Nothing else of ours leaks into sendmail. */
	if (close_range(3U, ~0U, CLOSE_RANGE_CLOEXEC) == -1) {
		int fd;

		for (fd = 3; fd < 1024; fd++)
			if (fd != execfd)
				(void)close(fd);
	}
	if (chdir("/") == -1)
		goto fail;
	(void)umask(022);
	execve(argv[0], (char *const *)argv, (char *const *)envp);
fail:
	e = errno;
	(void)!write(execfd, &e, sizeof(e));
	_exit(127);
}

/* first_line - the first line of sendmail's stderr, printable */
static void
first_line(char *dst, size_t dstsize, const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len);

	if (nl != NULL)
		len = (size_t)(nl - buf);
	(void)printable(dst, dstsize, buf, len);
}

/* read_stderr - take what sendmail wrote; 0 at EOF, 1 more to come */
static int
read_stderr(int fd, char *buf, size_t *len, size_t size)
{
	char junk[512];
	ssize_t r;

	for (;;) {
		if (*len < size)
			r = read(fd, buf + *len, size - *len);
		else
			r = read(fd, junk, sizeof(junk));
		if (r > 0) {
			if (*len < size)
				*len += (size_t)r;
			continue;
		}
		if (r == 0)
			return 0;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN ? 1 : 0;
	}
}

/* kill_group - kill sendmail and whatever it started */
static void
kill_group(pid_t pid)
{
	(void)kill(-pid, SIGKILL);
	(void)kill(pid, SIGKILL);
}

/* wait_child - wait for pid with a deadline and the abort flag */
static int
wait_child(pid_t pid, int errfd, const struct fwd_conf *conf, int *status,
    char *errbuf, size_t *errlen, size_t errsize, const char **cut)
{
	struct pollfd pfd[2];
	sigset_t none;
	long long deadline = now_ms() + (long long)conf->timeout * 1000;
	int pidfd, nfd, r, err_open = 1;
	pid_t w;

	*cut = NULL;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	(void)sigemptyset(&none);
	for (;;) {
		long long left = deadline - now_ms();
		struct timespec ts;

		w = waitpid(pid, status, WNOHANG);
		if (w == pid)
			break;
		if (w == -1 && errno != EINTR) {
			if (pidfd >= 0)
				(void)close(pidfd);
			return -1;
		}
		if (*cut == NULL && deliver_aborted())
			*cut = "aborted by shutdown";
		if (*cut == NULL && left <= 0)
			*cut = "timed out";
		if (*cut != NULL) {
			kill_group(pid);
			while ((w = waitpid(pid, status, 0)) == -1 &&
			    errno == EINTR)
				;
			break;
		}
		nfd = 0;
		if (err_open) {
			pfd[nfd].fd = errfd;
			pfd[nfd++].events = POLLIN;
		}
		if (pidfd >= 0) {
			pfd[nfd].fd = pidfd;
			pfd[nfd++].events = POLLIN;
		}
		if (pidfd < 0 && left > POLL_FALLBACK_MS)
			left = POLL_FALLBACK_MS;
		ts.tv_sec = (time_t)(left / 1000);
		ts.tv_nsec = (long)(left % 1000) * 1000000;
		/* SIGTERM is blocked except in here: no lost wake-up. */
		r = ppoll(pfd, (nfds_t)nfd, &ts, &none);
		if (r == -1 && errno != EINTR) {
			if (pidfd >= 0)
				(void)close(pidfd);
			return -1;
		}
		if (err_open && r > 0 && pfd[0].revents != 0)
			err_open = read_stderr(errfd, errbuf, errlen, errsize);
	}
	if (err_open)
		(void)read_stderr(errfd, errbuf, errlen, errsize);
	if (pidfd >= 0)
		(void)close(pidfd);
	return w == pid ? 0 : -1;
}

/* classify - turn the wait status into a result */
static void
classify(const struct fwd_conf *conf, int status, const char *cut,
    const char *err, struct target_result *res)
{
	const char *name, *sep = err[0] != '\0' ? ": " : "";
	char tail[FWD_STDERR_MAX + 8];

	(void)snprintf(tail, sizeof(tail), "%s%s", sep, err);
	res->exit_code = -1;
	res->signal = 0;
	if (cut != NULL) {
		res->status = TARGET_TEMP;
		if (strcmp(cut, "timed out") == 0)
			(void)snprintf(res->reason, sizeof(res->reason),
			    "sendmail timed out after %u s, killed%s",
			    conf->timeout, tail);
		else
			(void)snprintf(res->reason, sizeof(res->reason),
			    "sendmail %s, killed%s", cut, tail);
		return;
	}
	if (WIFSIGNALED(status)) {
		res->signal = WTERMSIG(status);
		res->status = TARGET_TEMP;
		(void)snprintf(res->reason, sizeof(res->reason),
		    "sendmail killed by signal %d%s", res->signal, tail);
		return;
	}
	if (!WIFEXITED(status)) {
		res->status = TARGET_TEMP;
		(void)snprintf(res->reason, sizeof(res->reason),
		    "sendmail ended with wait status %d%s", status, tail);
		return;
	}
	res->exit_code = WEXITSTATUS(status);
	res->status = target_sysexit(res->exit_code, &name);
	(void)snprintf(res->reason, sizeof(res->reason),
	    "sendmail exited %d (%s)%s", res->exit_code, name, tail);
}

/* target_sendmail - one sendmail run for one batch */
int
target_sendmail(const struct fwd_conf *conf, const struct target_msg *m,
    const char *const *rcpt, size_t n, struct target_result *res)
{
	const char *argv[ARGV_SLOTS];
	char errbuf[FWD_STDERR_MAX], errline[FWD_STDERR_MAX + 1];
	const char *cut;
	size_t errlen = 0;
	int nullfd = -1, errp[2] = { -1, -1 };
	int execp[2] = { -1, -1 }, status = 0, e, save;
	ssize_t r;
	pid_t pid, parent = getpid();

	memset(res, 0, sizeof(*res));
	res->exit_code = -1;
	errline[0] = '\0';
	if (target_sendmail_argv(conf, m->from, rcpt, n, argv,
	    sizeof(argv) / sizeof(argv[0])) == -1) {
		errno = E2BIG;
		goto fail;
	}
	/* m->fd is our private copy; its file offset is ours to move. */
	if (lseek(m->fd, m->body_offset, SEEK_SET) != m->body_offset ||
	    (nullfd = open("/dev/null", O_WRONLY | O_CLOEXEC)) == -1 ||
	    pipe2(errp, O_CLOEXEC | O_NONBLOCK) == -1 ||
	    pipe2(execp, O_CLOEXEC) == -1)
		goto fail;
	pid = fork();
	if (pid == -1)
		goto fail;
	if (pid == 0)
		child_exec(argv, conf->envp, m->fd, nullfd, errp[1], execp[1],
		    parent);
	(void)setpgid(pid, pid);	/* the child does it too: no race */
	(void)close(errp[1]);
	(void)close(execp[1]);
	(void)close(nullfd);
	errp[1] = execp[1] = nullfd = -1;
	/* The exec pipe closes on a good exec, or carries its errno. */
	while ((r = read(execp[0], &e, sizeof(e))) == -1 && errno == EINTR)
		;
	(void)close(execp[0]);
	execp[0] = -1;
	if (r == (ssize_t)sizeof(e)) {
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		(void)close(errp[0]);
		res->status = TARGET_TEMP;
		(void)snprintf(res->reason, sizeof(res->reason),
		    "cannot execute %s: %s", conf->sendmail, strerror(e));
		return 0;
	}
	if (wait_child(pid, errp[0], conf, &status, errbuf, &errlen,
	    sizeof(errbuf), &cut) == -1) {
		save = errno;
		kill_group(pid);
		(void)close(errp[0]);
		errno = save;
		res->status = TARGET_TEMP;
		(void)snprintf(res->reason, sizeof(res->reason),
		    "waiting for sendmail: %s", strerror(errno));
		return -1;
	}
	(void)close(errp[0]);
	first_line(errline, sizeof(errline), errbuf, errlen);
	classify(conf, status, cut, errline, res);
	return 0;
fail:
	save = errno;
	if (nullfd >= 0)
		(void)close(nullfd);
	if (errp[0] >= 0) {
		(void)close(errp[0]);
		(void)close(errp[1]);
	}
	if (execp[0] >= 0) {
		(void)close(execp[0]);
		(void)close(execp[1]);
	}
	res->status = TARGET_TEMP;
	(void)snprintf(res->reason, sizeof(res->reason),
	    "cannot start sendmail: %s", strerror(save));
	errno = save;
	return -1;
}
