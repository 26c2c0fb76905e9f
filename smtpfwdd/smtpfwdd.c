/* smtpfwdd.c - deliver smtpd's spool to the real mail server */
/*
 * main() only: options, privilege drop, the spool directories and the
 * lock that proves one daemon per spool, then fwd_master_run(). Also
 * the two one-shot modes: -S (queue report) and -n (check spool files
 * and show what would be run, without delivering). See smtpfwdd(8).
 * Exit codes: 0 success, 100 usage or a held file (-n), 111 temporary.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "deliver.h"
#include "fwd_conf.h"
#include "fwd_limits.h"
#include "fwd_master.h"
#include "fwd_queue.h"
#include "fwd_status.h"
#include "../lib/log.h"
#include "../lib/priv.h"
#include "target.h"

#define EXIT_PERM	100
#define EXIT_TEMP	111

/* Held messages listed by -S. */
#define STATUS_HOLDS_SHOWN	100

static const char usage_text[] =
    "usage: smtpfwdd [-lv] [-d spooldir] [-s sendmail | -m maildir] "
    "[-a arg]... [-e name=value]...\n"
    "                [-u user] [-g group] [-M children] [-b batch] "
    "[-r first] [-R cap]\n"
    "                [-L lifetime] [-t timeout] [-P scan]\n"
    "       smtpfwdd -S [-d spooldir]\n"
    "       smtpfwdd -U [-d spooldir] [-u user] [-g group] id...\n"
    "       smtpfwdd -n [-b batch] [-s sendmail | -m maildir] [-a arg]... "
    "file...\n";

static int is_stderr_log;
static char spool_path[PATH_MAX], maildir_path[PATH_MAX];

/* die - log "smtpfwdd: unable to ...: strerror" and exit */
static void __attribute__((noreturn, format(printf, 2, 3)))
die(int status, const char *fmt, ...)
{
	char msg[1024];
	int save = errno;
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (save != 0)
		log_emit(LOG_CRIT, "fatal: %s: %s", msg, strerror(save));
	else
		log_emit(LOG_CRIT, "fatal: %s", msg);
	/* Started by hand with syslog logging: say it on the terminal too. */
	if (!is_stderr_log && isatty(2))
		(void)dprintf(2, "smtpfwdd: fatal: %s%s%s\n", msg,
		    save != 0 ? ": " : "", save != 0 ? strerror(save) : "");
	exit(status);
}

/* dieusage - the usage text, exit 100 */
static void __attribute__((noreturn, format(printf, 1, 2)))
dieusage(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)dprintf(2, "smtpfwdd: %s\n%s", msg, usage_text);
	exit(EXIT_PERM);
}

/* parse_uint - a decimal number in [min, max], or die */
static unsigned int
parse_uint(const char *s, char opt, unsigned int min, unsigned int max)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 10)
			dieusage("-%c: not a number: %.40s", opt, s);
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (i == 0 || v < min || v > max)
		dieusage("-%c: must be %u to %u", opt, min, max);
	return (unsigned int)v;
}

/* check_arg - an option argument of sane length */
static const char *
check_arg(const char *s, char opt)
{
	if (strlen(s) > FWD_OPTARG_MAX)
		dieusage("-%c: argument longer than %d bytes", opt,
		    FWD_OPTARG_MAX);
	return s;
}

/* check_env - "NAME=value" with a shell-style name */
static const char *
check_env(const char *s)
{
	size_t i;

	(void)check_arg(s, 'e');
	for (i = 0; s[i] != '=' && s[i] != '\0'; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' &&
		    s[i] <= 'z') || s[i] == '_' || (i > 0 && s[i] >= '0' &&
		    s[i] <= '9')))
			dieusage("-e: bad variable name: %.40s", s);
	if (i == 0 || s[i] != '=')
		dieusage("-e: not name=value: %.40s", s);
	return s;
}

/* add_env - -e into conf->envp; PATH= replaces the default */
static void
add_env(struct fwd_conf *c, size_t *n, const char *s)
{
	if (strncmp(s, "PATH=", 5) == 0) {
		c->envp[0] = s;
		return;
	}
	if (*n >= FWD_ENV_MAX + 1)
		dieusage("-e: at most %d settings", FWD_ENV_MAX);
	c->envp[(*n)++] = s;
	c->envp[*n] = NULL;
}

/* drop_privileges - as root: become user (and group); never root again */
static void
drop_privileges(const char *user, const char *group)
{
	struct priv_ids ids;
	struct passwd *pw;
	char why[256];

	if (geteuid() != 0) {
		/* Unprivileged already (make run): -u may only name us. */
		if (group != NULL || (user != NULL && ((pw = getpwnam(user)) ==
		    NULL || pw->pw_uid != geteuid()))) {
			errno = 0;
			die(EXIT_PERM, "-u and -g need root; running as "
			    "uid %ld", (long)geteuid());
		}
		return;
	}
	if (priv_lookup(user != NULL ? user : FWD_USER_DEFAULT, group, &ids,
	    why, sizeof(why)) == -1)
		die(EXIT_PERM, "unable to run as %.64s: %s",
		    user != NULL ? user : FWD_USER_DEFAULT, why);
	/* Not chrooted: smtpfwdd must be able to run sendmail. */
	if (priv_drop(&ids, NULL, why, sizeof(why)) == -1)
		die(EXIT_TEMP, "unable to drop privileges: %s", why);
}

/*
 * lock_spool - the pid file in work/, write-locked for the daemon's
 * life. A POSIX record lock, not flock(): it belongs to this process
 * alone, so workers do not inherit it and it is gone the moment the
 * master dies, whatever its workers still do (each of them holds a
 * flock() on its message instead).
 */
static int
lock_spool(const struct fwd_dirs *d, const char *spooldir)
{
	struct flock fl;
	char buf[32];
	int fd, len;

	fd = openat(d->work, FWD_LOCK_NAME, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	if (fd == -1)
		die(EXIT_TEMP, "unable to open %s/work/%s", spooldir,
		    FWD_LOCK_NAME);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_SETLK, &fl) == -1) {
		if (errno != EACCES && errno != EAGAIN)
			die(EXIT_TEMP, "unable to lock %s/work/%s", spooldir,
			    FWD_LOCK_NAME);
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if (fcntl(fd, F_GETLK, &fl) == -1)
			fl.l_pid = 0;
		errno = 0;
		die(EXIT_TEMP, "already running in %s (pid %ld)", spooldir,
		    (long)fl.l_pid);
	}
	/* Over the old pid, then cut: a restart needs no new block on a
	   full spool disk, where only delivery can make room. */
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (pwrite(fd, buf, (size_t)len, 0) != len || ftruncate(fd, len) == -1)
		die(EXIT_TEMP, "unable to write %s/work/%s", spooldir,
		    FWD_LOCK_NAME);
	return fd;
}

/* show_batch - one line per batch of -n: each argument in [] */
static void
show_batch(const struct fwd_conf *c, const char *name,
    const struct deliver_plan *p, const char *const *rcptv, size_t k,
    unsigned int batchno)
{
	const char *argv[1 + FWD_EXTRA_ARGS_MAX + 4 + FWD_BATCH_MAX + 1];
	int n, i;

	if (c->target == FWD_TARGET_MAILDIR) {
		(void)dprintf(1, "%s: batch %u: maildir", name, batchno);
		for (i = 0; (size_t)i < k; i++)
			(void)dprintf(1, " [%s]", rcptv[i]);
		(void)dprintf(1, "\n");
		return;
	}
	n = target_sendmail_argv(c, p->from, rcptv, k, argv,
	    sizeof(argv) / sizeof(argv[0]));
	(void)dprintf(1, "%s: batch %u:", name, batchno);
	for (i = 0; i < n; i++)
		(void)dprintf(1, " [%s]", argv[i]);
	(void)dprintf(1, "\n");
}

/* check_file - -n for one file; 0 deliverable, 100 held, 111 error */
static int
check_file(const struct fwd_conf *c, const char *path)
{
	const char *rcptv[FWD_BATCH_MAX];
	const char *name = strrchr(path, '/');
	struct deliver_plan p;
	size_t i, k, pending;
	unsigned int batchno = 0;
	int fd;

	name = name != NULL ? name + 1 : path;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	if (fd == -1) {
		(void)dprintf(1, "%s: error: %s\n", name, strerror(errno));
		return errno == ELOOP ? EXIT_PERM : EXIT_TEMP;
	}
	if (deliver_prepare(fd, name, c->lim, -1, &p) == -1) {
		int save = errno;

		(void)close(fd);
		if (save == EPROTO) {
			(void)dprintf(1, "%s: hold: %s\n", name, p.why);
			return EXIT_PERM;
		}
		(void)dprintf(1, "%s: error: %s\n", name, strerror(save));
		return EXIT_TEMP;
	}
	(void)close(fd);
	for (i = pending = 0; i < p.env.nrcpt; i++)
		pending += p.env.rcpt[i].state == SPOOL_RCPT;
	(void)dprintf(1, "%s: deliver: from=%s rcpts=%zu pending=%zu "
	    "size=%llu\n", name, p.env.from, p.env.nrcpt, pending, p.env.size);
	for (i = 0;;) {
		for (k = 0; i < p.env.nrcpt && k < c->batch; i++)
			if (p.env.rcpt[i].state == SPOOL_RCPT)
				rcptv[k++] = p.rcpt[i];
		if (k == 0)
			break;
		show_batch(c, name, &p, rcptv, k, ++batchno);
	}
	deliver_plan_free(&p);
	return 0;
}

/* run_checks - -n: check every file named */
static int
run_checks(const struct fwd_conf *c, int argc, char **argv)
{
	int i, r, worst = 0;

	if (argc == 0)
		dieusage("-n needs spool files");
	for (i = 0; i < argc; i++) {
		r = check_file(c, argv[i]);
		if (r == EXIT_TEMP || (r == EXIT_PERM && worst == 0))
			worst = r;
	}
	return worst;
}

/* release - -U: held messages back into work/, then wake the daemon */
static int
release(struct fwd_conf *c, const char *user, const char *group, int argc,
    char **argv)
{
	struct fwd_dirs dirs;
	char why[PATH_MAX + 128];
	long pid;
	int i, status = 0;

	if (argc == 0)
		dieusage("-U needs message ids");
	log_open("smtpfwdd", LOG_SINK_STDERR, LOG_MAIL);
	drop_privileges(user, group);
	if (fwd_dirs_open(c->spooldir, &dirs, why, sizeof(why)) == -1)
		die(EXIT_TEMP, "unable to use the spool: %s", why);
	for (i = 0; i < argc; i++) {
		if (fwd_release(&dirs, argv[i], (long long)time(NULL), why,
		    sizeof(why)) == -1) {
			(void)dprintf(1, "%.64s: not released: %s\n", argv[i],
			    why);
			status = EXIT_PERM;
			continue;
		}
		log_emit(LOG_INFO, "event=released id=%s", argv[i]);
		(void)dprintf(1, "%s: released\n", argv[i]);
	}
	pid = fwd_daemon_pid(dirs.work);
	if (pid > 0 && kill((pid_t)pid, SIGHUP) == -1)
		(void)dprintf(1, "smtpfwdd (pid %ld) not told: %s; it delivers "
		    "them at its next start or SIGHUP\n", pid, strerror(errno));
	fwd_dirs_close(&dirs);
	return status;
}

/* absolute - the real path of a directory into buf, or die */
static const char *
absolute(const char *path, char *buf)
{
	if (realpath(path, buf) == NULL)
		die(EXIT_TEMP, "unable to resolve %.200s", path);
	return buf;
}

int
main(int argc, char **argv)
{
	struct fwd_conf c;
	struct fwd_dirs dirs;
	const char *user = NULL, *group = NULL;
	char why[PATH_MAX + 128];
	size_t nenv = 1;
	int ch, is_check = 0, is_status = 0, is_release = 0, lockfd;

	(void)umask(077);
	memset(&c, 0, sizeof(c));
	c.spooldir = FWD_SPOOL_DEFAULT;
	c.target = FWD_TARGET_SENDMAIL;
	c.sendmail = FWD_SENDMAIL_DEFAULT;
	c.envp[0] = FWD_PATH_ENV;
	c.envp[1] = NULL;
	c.batch = FWD_BATCH_DEFAULT;
	c.children = FWD_CHILDREN_DEFAULT;
	c.retry_first = FWD_RETRY_FIRST;
	c.retry_cap = FWD_RETRY_CAP;
	c.lifetime = FWD_LIFETIME;
	c.timeout = FWD_TIMEOUT_DEFAULT;
	c.scan = FWD_SCAN_DEFAULT;
	c.lim = &sanitize_limits_default;
	while ((ch = getopt(argc, argv, "a:b:d:e:g:L:lM:m:nP:R:r:Ss:t:Uu:v"))
	    != -1) {
		switch (ch) {
		case 'a':
			if (c.nextra >= FWD_EXTRA_ARGS_MAX)
				dieusage("-a: at most %d arguments",
				    FWD_EXTRA_ARGS_MAX);
			c.extra_args[c.nextra++] = check_arg(optarg, 'a');
			break;
		case 'b':
			c.batch = parse_uint(optarg, 'b', 1, FWD_BATCH_MAX);
			break;
		case 'd':
			c.spooldir = check_arg(optarg, 'd');
			break;
		case 'e':
			add_env(&c, &nenv, check_env(optarg));
			break;
		case 'g':
			group = check_arg(optarg, 'g');
			break;
		case 'L':
			c.lifetime = parse_uint(optarg, 'L', 60,
			    FWD_LIFETIME_LIMIT);
			break;
		case 'l':
			is_stderr_log = 1;
			break;
		case 'M':
			c.children = parse_uint(optarg, 'M', 1,
			    FWD_CHILDREN_MAX);
			break;
		case 'm':
			c.target = FWD_TARGET_MAILDIR;
			c.maildir = check_arg(optarg, 'm');
			break;
		case 'n':
			is_check = 1;
			break;
		case 'P':
			c.scan = parse_uint(optarg, 'P', 1, FWD_SCAN_LIMIT);
			break;
		case 'R':
			c.retry_cap = parse_uint(optarg, 'R', 1,
			    FWD_RETRY_LIMIT);
			break;
		case 'r':
			c.retry_first = parse_uint(optarg, 'r', 1,
			    FWD_RETRY_LIMIT);
			break;
		case 'S':
			is_status = 1;
			break;
		case 's':
			c.target = FWD_TARGET_SENDMAIL;
			c.sendmail = check_arg(optarg, 's');
			if (c.sendmail[0] != '/')
				dieusage("-s: must be an absolute path");
			break;
		case 't':
			c.timeout = parse_uint(optarg, 't', 1,
			    FWD_TIMEOUT_LIMIT);
			break;
		case 'U':
			is_release = 1;
			break;
		case 'u':
			user = check_arg(optarg, 'u');
			break;
		case 'v':
			log_set_debug(1);
			break;
		default:
			dieusage("bad option");
		}
	}
	argc -= optind;
	argv += optind;
	if (c.retry_first > c.retry_cap)
		dieusage("-r %u is more than -R %u", c.retry_first,
		    c.retry_cap);
	if (is_check + is_status + is_release > 1)
		dieusage("-n, -S and -U exclude each other");
	if (is_check) {
		log_open("smtpfwdd", LOG_SINK_STDERR, LOG_MAIL);
		return run_checks(&c, argc, argv);
	}
	if (is_release)
		return release(&c, user, group, argc, argv);
	if (argc != 0)
		dieusage("unexpected argument: %.40s", argv[0]);
	if (is_status) {
		log_open("smtpfwdd", LOG_SINK_STDERR, LOG_MAIL);
		if (fwd_status_print(c.spooldir, (long long)time(NULL),
		    STATUS_HOLDS_SHOWN) == -1)
			die(EXIT_TEMP, "unable to read %s", c.spooldir);
		return 0;
	}
	log_open("smtpfwdd", is_stderr_log ? LOG_SINK_STDERR : LOG_SINK_SYSLOG,
	    LOG_MAIL);
	drop_privileges(user, group);
	c.spooldir = absolute(c.spooldir, spool_path);
	if (fwd_dirs_open(c.spooldir, &dirs, why, sizeof(why)) == -1)
		die(EXIT_TEMP, "unable to use the spool: %s", why);
	if (c.target == FWD_TARGET_MAILDIR) {
		if (target_maildir_setup(c.maildir) == -1)
			die(EXIT_TEMP, "unable to set up the Maildir %.200s",
			    c.maildir);
		c.maildir = absolute(c.maildir, maildir_path);
	} else if (access(c.sendmail, X_OK) == -1)
		die(EXIT_TEMP, "unable to execute %.200s", c.sendmail);
	lockfd = lock_spool(&dirs, c.spooldir);
	if (chdir(c.spooldir) == -1)
		die(EXIT_TEMP, "unable to chdir to %s", c.spooldir);
	if (fwd_master_run(&c, &dirs, lockfd) == -1)
		return EXIT_TEMP;
	fwd_dirs_close(&dirs);
	return 0;
}
