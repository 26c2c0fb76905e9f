/* deliver_test.c - unit tests of smtpfwdd/deliver.c and the targets */
/*
 * Messages are written with lib/spool.c's writer (as smtpd writes them)
 * into a private spool, moved into work/, and delivered with
 * deliver_message() to a shell-script sendmail that records its
 * arguments and input and exits as told, or to a Maildir. Checked: the
 * outcomes, the RCPT -> SENT/FAIL marks, the hold reasons, the log
 * lines, the sysexits table and the argument vector.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "../t.h"
#include "../../lib/log.h"
#include "../../lib/spool.h"
#include "../../smtpfwdd/deliver.h"
#include "../../smtpfwdd/fwd_queue.h"
#include "../../smtpfwdd/target.h"

static char spooldir[512], script[600], record[600], maildir[600];
static struct fwd_dirs dirs;
static struct fwd_conf conf;

static const char body[] =
    "Received: from x (x [192.0.2.1])\n\tby mx (smtpd) with ESMTP id X;\n"
    "\tSat, 23 Nov 2026 15:33:00 +0000\nSubject: hello\n\n"
    ".leading dot\n\xe9t\xe9\nlast line\n";

/* write_text - create path with text and mode */
static int
write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd == -1)
		return -1;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		(void)close(fd);
		return -1;
	}
	return close(fd);
}

/* read_all - a file's contents (NUL-terminated), or NULL */
static char *
read_all(const char *path, size_t *len)
{
	static char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd == -1)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

/* sendmail_exits - what the script exits with next */
static void
sendmail_exits(const char *how)
{
	char p[700];

	(void)snprintf(p, sizeof(p), "%s/exit", t_tmpdir());
	ok(write_text(p, how, 0644) == 0, "sendmail will: %s", how);
}

/* setup - the spool, the script, the configuration */
static void
setup(void)
{
	char p[700], text[4096], why[800];

	(void)snprintf(spooldir, sizeof(spooldir), "%s/spool", t_tmpdir());
	ok(mkdir(spooldir, 0750) == 0, "mkdir spool");
	(void)snprintf(p, sizeof(p), "%s/tmp", spooldir);
	ok(mkdir(p, 0700) == 0, "mkdir tmp");
	(void)snprintf(p, sizeof(p), "%s/new", spooldir);
	ok(mkdir(p, 0700) == 0, "mkdir new");
	is_int(fwd_dirs_open(spooldir, &dirs, why, sizeof(why)), 0,
	    "spool directories");
	(void)snprintf(record, sizeof(record), "%s/record", t_tmpdir());
	(void)snprintf(script, sizeof(script), "%s/sendmail", t_tmpdir());
	(void)snprintf(text, sizeof(text),
	    "#!/bin/sh\n"
	    "for a; do printf '[%%s]' \"$a\"; done >>%s\n"
	    "echo >>%s\n"
	    "cat >%s.body\n"
	    "read -r how <%s/exit\n"
	    "case $how in\n"
	    "hang) exec sleep 30 ;;\n"
	    "kill) kill -9 $$ ;;\n"
	    "tamper) read -r f <%s/tamper; n=$(stat -c %%s \"$f\")\n"
	    "  printf TAMPERED | dd of=\"$f\" bs=1 seek=$((n - 10)) "
	    "conv=notrunc 2>/dev/null\n"
	    "  echo appended >>\"$f\"; echo spoiled >&0; exit 0 ;;\n"
	    "err*) echo 'sendmail: no such user' >&2; exit ${how#err} ;;\n"
	    "esac\n"
	    "exit $how\n", record, record, record, t_tmpdir(), t_tmpdir());
	ok(write_text(script, text, 0755) == 0, "sendmail script");
	sendmail_exits("0");
	(void)snprintf(maildir, sizeof(maildir), "%s/Maildir", t_tmpdir());
	memset(&conf, 0, sizeof(conf));
	conf.spooldir = spooldir;
	conf.target = FWD_TARGET_SENDMAIL;
	conf.sendmail = script;
	conf.maildir = maildir;
	conf.envp[0] = "PATH=/usr/bin:/bin";
	conf.batch = 2;
	conf.children = 1;
	conf.retry_first = 30;
	conf.retry_cap = 3600;
	conf.lifetime = 86400;
	conf.timeout = 2;
	conf.scan = 60;
	conf.lim = &sanitize_limits_default;
}

/* spool_message - write a message with the real writer; claim it */
static void
spool_message(char *id, const char *from, const char *const *rcpt,
    size_t n, long long when)
{
	struct spool_writer w;
	struct spool_meta m;

	memset(&m, 0, sizeof(m));
	m.time = when;
	m.client_ip = "192.0.2.1";
	m.client_name = "client.example";
	m.helo = "client.example";
	m.proto = "ESMTP";
	m.body_type = "8BITMIME";
	m.from = from;
	m.rcpt = rcpt;
	m.nrcpt = n;
	is_int(spool_open(&w, spooldir, &m), 0, "spool_open");
	is_int(spool_write(&w, body, sizeof(body) - 1), 0, "spool_write");
	(void)snprintf(id, SPOOL_ID_MAX + 1, "%s", w.id);
	is_int(spool_commit(&w), 0, "spool_commit %s", id);
	is_int(fwd_claim(&dirs, id), 0, "claim %s", id);
	(void)unlink(record);
}

/* deliver - deliver_message() on work/id */
static enum deliver_outcome
deliver(const char *id, unsigned int attempts, long long first,
    long long now)
{
	struct deliver_job job;

	job.id = id;
	job.work_dirfd = dirs.work;
	job.hold_dirfd = dirs.hold;
	job.attempts = attempts;
	job.first = first;
	job.now = now;
	log_memory_clear();
	return deliver_message(&conf, &job);
}

/* in_dir - does sub/name exist? */
static int
in_dir(int dirfd, const char *name)
{
	return faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* test_done - two batches, both accepted, file removed */
static void
test_done(void)
{
	const char *rcpt[] = { "<a@test.example>", "<b@test.example>",
	    "<c@test.example>" };
	char id[SPOOL_ID_MAX + 1], want[2048], p[700];
	const char *got;
	size_t len;

	spool_message(id, "<alice@example.org>", rcpt, 3, 1700000000);
	is_int(deliver(id, 0, 0, 1700000005), DELIVER_DONE, "delivered");
	ok(!in_dir(dirs.work, id), "file removed");
	(void)snprintf(want, sizeof(want),
	    "[-oi][-f][alice@example.org][--][a@test.example]"
	    "[b@test.example]\n"
	    "[-oi][-f][alice@example.org][--][c@test.example]\n");
	is_str(read_all(record, NULL), want, "two batches, argv");
	(void)snprintf(p, sizeof(p), "%s.body", record);
	got = read_all(p, &len);
	ok(got != NULL && len == sizeof(body) - 1 &&
	    memcmp(got, body, len) == 0, "body byte for byte");
	ok(strstr(log_memory(), "event=sent id=") != NULL &&
	    strstr(log_memory(), "to=<c@test.example> via=sendmail batch=2")
	    != NULL, "sent lines");
	(void)snprintf(want, sizeof(want), "event=done id=%s from=<alice@"
	    "example.org> rcpts=3 attempts=1 delay=5", id);
	ok(strstr(log_memory(), want) != NULL, "done line");
}

/* state_of - the keywords of a work/ file's recipients, e.g. "SENT RCPT" */
static const char *
state_of(int dirfd, const char *id)
{
	static char out[256];
	struct spool_env env;
	char why[256];
	size_t i, len;
	int fd;

	out[0] = '\0';
	fd = openat(dirfd, id, O_RDONLY);
	if (fd == -1 || spool_read(fd, id, &env, why, sizeof(why)) == -1) {
		if (fd >= 0)
			(void)close(fd);
		return "unreadable";
	}
	(void)close(fd);
	for (i = 0; i < env.nrcpt; i++) {
		const char *w = env.rcpt[i].state == SPOOL_RCPT ? "RCPT" :
		    env.rcpt[i].state == SPOOL_SENT ? "SENT" : "FAIL";

		len = strlen(out);
		(void)snprintf(out + len, sizeof(out) - len, "%s%s",
		    i > 0 ? " " : "", w);
	}
	spool_env_free(&env);
	return out;
}

/* test_defer - temporary codes, signals, time-outs: nothing marked */
static void
test_defer(void)
{
	const char *rcpt[] = { "<a@test.example>", "<b@test.example>",
	    "<c@test.example>" };
	char id[SPOOL_ID_MAX + 1];

	spool_message(id, "<>", rcpt, 3, 1700000000);
	sendmail_exits("75");
	is_int(deliver(id, 0, 0, 1700000000), DELIVER_DEFER, "75: deferred");
	is_str(state_of(dirs.work, id), "RCPT RCPT RCPT", "nothing marked");
	ok(strstr(log_memory(), "pending=3 attempts=1 retry_in=30 reason=\""
	    "sendmail exited 75 (EX_TEMPFAIL)\"") != NULL, "deferred line");
	sendmail_exits("kill");
	is_int(deliver(id, 1, 1700000000, 1700000030), DELIVER_DEFER,
	    "killed: deferred");
	ok(strstr(log_memory(), "attempts=2 retry_in=60 reason=\"sendmail "
	    "killed by signal 9\"") != NULL, "signal reason");
	sendmail_exits("hang");
	is_int(deliver(id, 2, 1700000000, 1700000090), DELIVER_DEFER,
	    "hung: deferred");
	ok(strstr(log_memory(), "sendmail timed out after 2 s, killed") !=
	    NULL, "time-out reason");
	conf.batch = 1;
	sendmail_exits("75");
	is_int(deliver(id, 3, 1700000000, 1700000200), DELIVER_DEFER,
	    "batch 1 deferred");
	is_str(state_of(dirs.work, id), "RCPT RCPT RCPT",
	    "stops at the first temporary failure");
	sendmail_exits("0");
	is_int(deliver(id, 4, 1700000000, 1700000300), DELIVER_DONE,
	    "then delivered");
	conf.batch = 2;
}

/* test_hold - permanent codes, lifetime, hostile files */
static void
test_hold(void)
{
	const char *rcpt[] = { "<a@test.example>", "<b@test.example>",
	    "<c@test.example>" };
	static const char hostile[] = "VERSION 1\nID 1700000000-1-1-1\n"
	    "TIME 1\nCLIENT-IP 192.0.2.1\nSIZE 12\nFROM <a@b.example>\n"
	    "RCPT <-oQ/tmp>\nBODY\nReceived: x\n";
	char id[SPOOL_ID_MAX + 1], p[700], why[256];
	const char *got;
	int fd;

	spool_message(id, "<alice@example.org>", rcpt, 3, 1700000000);
	sendmail_exits("err67");
	(void)snprintf(p, sizeof(p), "%s/work/%s.defer", spooldir, id);
	ok(write_text(p, "ATTEMPTS 1\nFIRST 1700000000\nNEXT 1700000000\n",
	    0600) == 0, "a retry state");
	is_int(deliver(id, 0, 0, 1700000000), DELIVER_HELD, "67: held");
	ok(!in_dir(dirs.work, id) && in_dir(dirs.hold, id), "in hold/");
	ok(access(p, F_OK) == -1, "its retry state gone with it");
	is_str(state_of(dirs.hold, id), "FAIL FAIL FAIL", "all FAIL");
	(void)snprintf(p, sizeof(p), "%s/hold/%s.why", spooldir, id);
	got = read_all(p, NULL);
	is_str(got, "3 of 3 recipients failed permanently: sendmail exited 67 "
	    "(EX_NOUSER): sendmail: no such user\n", "reason file");
	ok(strstr(log_memory(), "event=held id=") != NULL, "held line");
	ok(strstr(log_memory(), "event=failed id=") != NULL, "failed lines");

	/* Too old: deferred once more means held. */
	spool_message(id, "<alice@example.org>", rcpt, 1, 1700000000);
	sendmail_exits("75");
	is_int(deliver(id, 5, 1700000000, 1700000000 + 86400), DELIVER_HELD,
	    "past the lifetime: held");
	(void)snprintf(p, sizeof(p), "%s/hold/%s.why", spooldir, id);
	got = read_all(p, NULL);
	ok(got != NULL && strncmp(got, "queue lifetime exceeded: 86400 s old, "
	    "6 attempts; last error: sendmail exited 75", 80) == 0,
	    "lifetime reason: %s", got != NULL ? got : "(none)");
	/* A TIME in the future does not postpone expiry. */
	spool_message(id, "<alice@example.org>", rcpt, 1, 1900000000);
	is_int(deliver(id, 5, 1700000000, 1700000000 + 86400), DELIVER_HELD,
	    "future TIME: the first attempt counts");
	sendmail_exits("0");

	/* A hostile file: held by deliver_prepare, sendmail never runs. */
	(void)unlink(record);
	fd = openat(dirs.work, "1700000000-1-1-1", O_WRONLY | O_CREAT, 0600);
	ok(fd >= 0 && write(fd, hostile, strlen(hostile)) ==
	    (ssize_t)strlen(hostile), "hostile file");
	if (fd >= 0)
		(void)close(fd);
	is_int(deliver("1700000000-1-1-1", 0, 0, 1700000000), DELIVER_HELD,
	    "held");
	ok(access(record, F_OK) == -1, "sendmail never ran");
	(void)snprintf(p, sizeof(p), "%s/hold/1700000000-1-1-1.why", spooldir);
	got = read_all(p, NULL);
	is_str(got, "recipient 1: address without @domain\n", "its reason");
	(void)why;
	is_int(deliver("1700000000-9-9-9", 0, 0, 1), DELIVER_GONE,
	    "missing file: gone");
	/* A held name already taken: stays in work/ (deferred), not lost. */
	fd = openat(dirs.work, "1700000000-1-1-1", O_WRONLY | O_CREAT, 0600);
	ok(fd >= 0 && write(fd, "junk", 4) == 4, "same name again");
	if (fd >= 0)
		(void)close(fd);
	is_int(deliver("1700000000-1-1-1", 0, 0, 1700000000), DELIVER_DEFER,
	    "hold/ID exists: deferred");
	ok(in_dir(dirs.work, "1700000000-1-1-1"), "still in work/");
	got = read_all(p, NULL);
	is_str(got, "recipient 1: address without @domain\n",
	    "the held message keeps its own reason");
	(void)unlinkat(dirs.work, "1700000000-1-1-1", 0);
	/* A move that fails leaves no reason behind for a message not held. */
	ok(deliver_hold(dirs.work, dirs.hold, "1700000000-7-7-7", "gone") == -1,
	    "hold of a missing file fails");
	ok(!in_dir(dirs.hold, "1700000000-7-7-7.why"), "and leaves no .why");
	ok(strstr(log_memory(), "event=hold-failed id=1700000000-7-7-7") !=
	    NULL, "hold-failed line");

	/* A reason that cannot be written (hold/ID.why is a directory):
	   the message stays in work/, and is held once it can be. */
	spool_message(id, "<alice@example.org>", rcpt, 1, 1700000000);
	sendmail_exits("err67");
	(void)snprintf(p, sizeof(p), "%s/hold/%s.why", spooldir, id);
	ok(mkdir(p, 0700) == 0, "hold/%s.why is a directory", id);
	is_int(deliver(id, 0, 0, 1700000000), DELIVER_DEFER,
	    "reason not written: not held");
	ok(in_dir(dirs.work, id) && !in_dir(dirs.hold, id), "still in work/");
	ok(strstr(log_memory(), "event=hold-failed") != NULL &&
	    strstr(log_memory(), "cannot write hold/") != NULL,
	    "hold-failed line names the reason file");
	ok(rmdir(p) == 0, "rmdir");
	is_int(deliver(id, 1, 1700000000, 1700000000), DELIVER_HELD,
	    "then held");
	got = read_all(p, NULL);
	ok(got != NULL && strstr(got, "failed permanently") != NULL,
	    "with its reason");
	sendmail_exits("0");
}

/*
 * test_tamper - the spool file changes after the checks (smtpd's user
 * still can: a descriptor kept open, a link made in new/), and sendmail
 * writes to its stdin: each batch still gets the message that was
 * checked, SIZE bytes and no more.
 */
static void
test_tamper(void)
{
	const char *rcpt[] = { "<a@test.example>", "<b@test.example>" };
	char id[SPOOL_ID_MAX + 1], p[700], path[700];
	const char *got;
	size_t len = 0;

	spool_message(id, "<alice@example.org>", rcpt, 2, 1700000000);
	(void)snprintf(p, sizeof(p), "%s/tamper", t_tmpdir());
	(void)snprintf(path, sizeof(path), "%s/work/%s\n", spooldir, id);
	ok(write_text(p, path, 0644) == 0, "the file to change");
	sendmail_exits("tamper");
	conf.batch = 1;
	is_int(deliver(id, 0, 0, 1700000000), DELIVER_DONE, "delivered");
	conf.batch = 2;
	got = read_all(record, NULL);
	ok(got != NULL && strchr(got, '\n') != strrchr(got, '\n'),
	    "two batches, the first changing the file");
	(void)snprintf(p, sizeof(p), "%s.body", record);
	got = read_all(p, &len);
	ok(got != NULL && len == sizeof(body) - 1 &&
	    memcmp(got, body, len) == 0,
	    "the second batch got the checked message, not the changed file");
	sendmail_exits("0");
}

/* test_busy - a message locked by someone else is left alone */
static void
test_busy(void)
{
	const char *rcpt[] = { "<a@test.example>" };
	char id[SPOOL_ID_MAX + 1];
	pid_t pid;
	int fd, st, pfd[2];
	char c;

	spool_message(id, "<alice@example.org>", rcpt, 1, 1700000000);
	ok(pipe(pfd) == 0, "pipe");
	pid = fork();
	if (pid == 0) {
		fd = openat(dirs.work, id, O_RDONLY);
		if (fd == -1 || flock(fd, LOCK_EX) == -1)
			_exit(1);
		(void)!write(pfd[1], "x", 1);
		(void)sleep(5);
		_exit(0);
	}
	ok(read(pfd[0], &c, 1) == 1, "the other process has the lock");
	is_int(deliver(id, 0, 0, 1700000000), DELIVER_BUSY, "busy");
	ok(in_dir(dirs.work, id), "untouched");
	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, &st, 0);
	is_int(deliver(id, 0, 0, 1700000000), DELIVER_DONE, "then delivered");
	(void)close(pfd[0]);
	(void)close(pfd[1]);
}

/* test_maildir - the second target */
static void
test_maildir(void)
{
	const char *rcpt[] = { "<a@test.example>", "<b@test.example>",
	    "<c@test.example>" };
	char id[SPOOL_ID_MAX + 1], p[800], want[2048];
	const char *got;
	size_t len;
	int n;

	is_int(target_maildir_setup(maildir), 0, "Maildir set up");
	is_int(target_maildir_setup(maildir), 0, "again: fine");
	conf.target = FWD_TARGET_MAILDIR;
	spool_message(id, "<>", rcpt, 3, 1700000000);
	is_int(deliver(id, 0, 0, 1700000000), DELIVER_DONE, "delivered");
	(void)snprintf(p, sizeof(p), "ls %s/new | wc -l > %s/n", maildir,
	    t_tmpdir());
	ok(system(p) == 0, "count");
	(void)snprintf(p, sizeof(p), "%s/n", t_tmpdir());
	got = read_all(p, NULL);
	n = got != NULL ? (int)strtol(got, NULL, 10) : -1;
	is_int(n, 3, "three files in new/");
	(void)snprintf(p, sizeof(p), "cat %s/new/* > %s/all", maildir,
	    t_tmpdir());
	ok(system(p) == 0, "cat");
	(void)snprintf(p, sizeof(p), "%s/all", t_tmpdir());
	got = read_all(p, &len);
	(void)snprintf(want, sizeof(want), "Return-Path: <>\nDelivered-To: "
	    "b@test.example\n%s", body);
	ok(got != NULL && strstr(got, want) != NULL, "headers, body intact");
	ok(strstr(log_memory(), "via=maildir") != NULL, "log says maildir");
	/* A Maildir that cannot be written: deferred, nothing left over. */
	(void)snprintf(p, sizeof(p), "%s/tmp", maildir);
	ok(rmdir(p) == 0, "remove Maildir tmp/");
	spool_message(id, "<alice@example.org>", rcpt, 1, 1700000000);
	is_int(deliver(id, 0, 0, 1700000000), DELIVER_DEFER, "deferred");
	ok(strstr(log_memory(), "reason=\"maildir ") != NULL, "reason");
	ok(mkdir(p, 0700) == 0, "tmp/ back");
	is_int(deliver(id, 1, 1700000000, 1700000030), DELIVER_DONE,
	    "delivered on retry");
	conf.target = FWD_TARGET_SENDMAIL;
}

/* test_sysexits - the table */
static void
test_sysexits(void)
{
	static const struct {
		int code;
		enum target_status st;
		const char *name;
	} t[] = {
		{ 0, TARGET_OK, "EX_OK" }, { 64, TARGET_PERM, "EX_USAGE" },
		{ 65, TARGET_PERM, "EX_DATAERR" },
		{ 66, TARGET_TEMP, "EX_NOINPUT" },
		{ 67, TARGET_PERM, "EX_NOUSER" },
		{ 68, TARGET_PERM, "EX_NOHOST" },
		{ 69, TARGET_TEMP, "EX_UNAVAILABLE" },
		{ 70, TARGET_TEMP, "EX_SOFTWARE" },
		{ 71, TARGET_TEMP, "EX_OSERR" },
		{ 72, TARGET_TEMP, "EX_OSFILE" },
		{ 73, TARGET_TEMP, "EX_CANTCREAT" },
		{ 74, TARGET_TEMP, "EX_IOERR" },
		{ 75, TARGET_TEMP, "EX_TEMPFAIL" },
		{ 76, TARGET_PERM, "EX_PROTOCOL" },
		{ 77, TARGET_PERM, "EX_NOPERM" },
		{ 78, TARGET_TEMP, "EX_CONFIG" },
		{ 1, TARGET_TEMP, "unknown" }, { 127, TARGET_TEMP, "unknown" },
	};
	const char *name;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		is_int(target_sysexit(t[i].code, &name), t[i].st, "exit %d",
		    t[i].code);
		is_str(name, t[i].name, "exit %d name", t[i].code);
	}
}

/* test_argv - path, -a args, -oi -f from --, recipients, NULL */
static void
test_argv(void)
{
	const char *argv[16], *rcpt[] = { "-x@y.example", "b@c.example" };
	struct fwd_conf c = conf;

	c.sendmail = "/usr/sbin/sendmail";
	c.extra_args[0] = "-C";
	c.extra_args[1] = "/etc/pf2";
	c.nextra = 2;
	is_int(target_sendmail_argv(&c, "<>", rcpt, 2, argv, 16), 9, "9 args");
	is_str(argv[0], "/usr/sbin/sendmail", "argv[0]");
	is_str(argv[1], "-C", "-a first");
	is_str(argv[2], "/etc/pf2", "-a second");
	is_str(argv[3], "-oi", "-oi");
	is_str(argv[4], "-f", "-f");
	is_str(argv[5], "<>", "null sender");
	is_str(argv[6], "--", "--");
	is_str(argv[7], "-x@y.example", "rcpt after --");
	ok(argv[9] == NULL, "NULL-terminated");
	is_int(target_sendmail_argv(&c, "<>", rcpt, 2, argv, 9), -1,
	    "too small");
}

int
main(void)
{
	log_open("deliver_test", LOG_SINK_MEMORY, LOG_MAIL);
	setup();
	test_done();
	test_defer();
	test_hold();
	test_tamper();
	test_busy();
	test_maildir();
	test_sysexits();
	test_argv();
	fwd_dirs_close(&dirs);
	log_memory_clear();
	return t_done();
}
