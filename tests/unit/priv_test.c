/* priv_test.c - unit tests of lib/priv.c */
/*
 * priv_lookup and priv_check_jail need no privileges. priv_drop is
 * tested in a forked child, and only as root (the CI runs as root;
 * otherwise that part says SKIP): the child drops to nobody in a jail
 * and reports its ids, its groups, its root and whether setuid(0)
 * worked through a pipe.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../t.h"
#include "../../lib/priv.h"

/* test_lookup - names, numbers, refusals */
static void
test_lookup(void)
{
	struct priv_ids ids;
	struct passwd *pw = getpwnam("nobody");
	char why[256];

	ok(pw != NULL, "nobody exists");
	if (pw == NULL)
		return;
	is_int(priv_lookup("nobody", NULL, &ids, why, sizeof(why)), 0,
	    "lookup nobody (%s)", why);
	is_int(ids.uid, pw->pw_uid, "uid of nobody");
	is_int(ids.gid, pw->pw_gid, "primary gid of nobody");
	is_int(priv_lookup("65534", "65534", &ids, why, sizeof(why)), 0,
	    "numeric user and group");
	is_int(ids.gid, 65534, "numeric gid");
	is_int(priv_lookup("root", NULL, &ids, why, sizeof(why)), -1,
	    "root refused");
	ok(strstr(why, "uid 0") != NULL, "reason: %s", why);
	is_int(priv_lookup("nobody", "root", &ids, why, sizeof(why)), -1,
	    "gid 0 refused");
	is_int(priv_lookup("no-such-user-x", NULL, &ids, why, sizeof(why)), -1,
	    "unknown user");
	is_int(errno, ENOENT, "ENOENT");
	is_int(priv_lookup("nobody", "no-such-group-x", &ids, why,
	    sizeof(why)), -1, "unknown group");
	is_int(priv_lookup("", NULL, &ids, why, sizeof(why)), -1, "empty");
	is_int(priv_lookup("12x", NULL, &ids, why, sizeof(why)), -1,
	    "not a number, not a name");
}

/* test_jail - owner and mode checks up the tree */
static void
test_jail(void)
{
	char jail[600], sub[700], why[512];

	snprintf(jail, sizeof(jail), "%s/jail", t_tmpdir());
	ok(mkdir(jail, 0755) == 0, "mkdir jail");
	snprintf(sub, sizeof(sub), "%s/inner", jail);
	ok(mkdir(sub, 0755) == 0, "mkdir inner");
	is_int(priv_check_jail("relative/path", why, sizeof(why)), -1,
	    "relative path refused");
	is_int(priv_check_jail("/nonexistent/jail", why, sizeof(why)), -1,
	    "missing jail refused");
	if (geteuid() != 0) {
		/* Our own directories are not root's. */
		is_int(priv_check_jail(jail, why, sizeof(why)), -1,
		    "jail not owned by root refused: %s", why);
		return;
	}
	is_int(priv_check_jail(sub, why, sizeof(why)), 0, "safe jail (%s)",
	    why);
	ok(chmod(sub, 0775) == 0, "chmod g+w");
	is_int(priv_check_jail(sub, why, sizeof(why)), -1,
	    "group-writable jail refused: %s", why);
	ok(chmod(sub, 0755) == 0 && chmod(jail, 0777) == 0, "parent 0777");
	is_int(priv_check_jail(sub, why, sizeof(why)), -1,
	    "writable parent refused: %s", why);
	ok(chmod(jail, 01777) == 0, "parent 1777 (like /tmp)");
	is_int(priv_check_jail(sub, why, sizeof(why)), 0,
	    "sticky parent allowed (%s)", why);
	ok(chmod(jail, 0755) == 0 && chown(sub, 65534, 0) == 0, "chown");
	is_int(priv_check_jail(sub, why, sizeof(why)), -1,
	    "jail owned by another user refused: %s", why);
	ok(chown(sub, 0, 0) == 0, "chown back");
	is_int(priv_check_jail("/", why, sizeof(why)), -1,
	    "/ refused: %s", why);
	{
		/* The path through a link: the directories above the
		   link's target would go unchecked. */
		char link[700], via[800];

		snprintf(link, sizeof(link), "%s/link", jail);
		snprintf(via, sizeof(via), "%s/inner", link);
		ok(symlink(".", link) == 0, "symlink");
		is_int(priv_check_jail(via, why, sizeof(why)), -1,
		    "a symlink in the path refused: %s", why);
		ok(strstr(why, "symbolic link") != NULL, "and says so");
		is_int(priv_check_jail(link, why, sizeof(why)), -1,
		    "a symlink as the jail refused");
		(void)unlink(link);
	}
}

/* test_drop - in a child, as root: drop and report */
static void
test_drop(void)
{
	struct priv_ids ids;
	char jail[600], why[256], buf[512], link[600];
	int fd[2], status;
	ssize_t n;
	pid_t pid;

	if (geteuid() != 0) {
		ok(1, "# SKIP priv_drop needs root");
		return;
	}
	snprintf(jail, sizeof(jail), "%s/jail", t_tmpdir());
	ok(priv_lookup("nobody", "nogroup", &ids, why, sizeof(why)) == 0 ||
	    priv_lookup("nobody", NULL, &ids, why, sizeof(why)) == 0,
	    "ids of nobody");
	ok(pipe(fd) == 0, "pipe");
	pid = fork();
	if (pid == 0) {
		struct priv_state st;
		int r;

		close(fd[0]);
		r = priv_drop(&ids, jail, why, sizeof(why));
		if (r == -1) {
			n = snprintf(buf, sizeof(buf), "fail %s", why);
		} else {
			r = priv_verify(&ids, &st);
			if (readlink("/proc/self/root", link, sizeof(link)) < 0)
				link[0] = '\0';
			n = snprintf(buf, sizeof(buf),
			    "ok %d %lu %lu %lu %lu %d %d %d", r, (unsigned long)st.ruid,
			    (unsigned long)st.suid, (unsigned long)st.rgid,
			    (unsigned long)st.sgid, st.ngroups,
			    st.can_regain_root, setuid(0) == 0);
		}
		if (write(fd[1], buf, (size_t)n) < 0)
			_exit(2);
		_exit(0);
	}
	close(fd[1]);
	n = read(fd[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd[0]);
	waitpid(pid, &status, 0);
	is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0, "child exit");
	snprintf(why, sizeof(why), "ok 0 %lu %lu %lu %lu 1 0 0",
	    (unsigned long)ids.uid, (unsigned long)ids.uid,
	    (unsigned long)ids.gid, (unsigned long)ids.gid);
	is_str(buf, why, "dropped: uids, gids, one group, no way back");
	ids.uid = 0;
	is_int(priv_drop(&ids, NULL, why, sizeof(why)), -1,
	    "drop to uid 0 refused");
}

int
main(void)
{
	test_lookup();
	test_jail();
	test_drop();
	return t_done();
}
