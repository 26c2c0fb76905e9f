/* priv.c - drop root: resolve ids, chroot, setgroups/setresgid/setresuid */
/*
 * Fixes the original's drop (setgid+setuid only, root's supplementary
 * groups kept, no check of the jail): groups first, then gids, then
 * uids, each with the saved id too, and a test that regaining root
 * fails. See priv.h for the order of calls.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "priv.h"

/* fail - set why (with the errno text for system errors) and errno */
static int
fail(char *why, size_t whysize, int e, const char *what, const char *arg)
{
	int is_sys = e != EPERM && e != ENOENT && e != EINVAL;

	if (why != NULL && whysize > 0)
		(void)snprintf(why, whysize, "%s%s%s%s%s", what,
		    arg != NULL ? " " : "", arg != NULL ? arg : "",
		    is_sys ? ": " : "", is_sys ? strerror(e) : "");
	errno = e;
	return -1;
}

/* number - a whole decimal id, or -1 */
static long long
number(const char *s)
{
	char *end;
	long long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > (long long)UINT_MAX - 1)
		return -1;
	return v;
}

/*
 * files_if_static - a static program (one without an interpreter, as
 * smtpd is built) must not let glibc load NSS modules: a module built
 * against the shared libc crashes it (a name not in /etc/group sends
 * glibc on to "systemd", "ldap", ...). Such a program asks glibc's
 * built-in files service only: /etc/passwd and /etc/group.
 */
static void
files_if_static(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	if (getauxval(AT_BASE) != 0)
		return;
	(void)__nss_configure_lookup("passwd", "files");
	(void)__nss_configure_lookup("group", "files");
}

/* priv_lookup - names or numbers to ids */
int
priv_lookup(const char *user, const char *group, struct priv_ids *ids,
    char *why, size_t whysize)
{
	struct passwd *pw;
	struct group *gr;
	long long n;
	int has_gid = 0;

	files_if_static();

	if (user == NULL || user[0] == '\0')
		return fail(why, whysize, EINVAL, "no user given", NULL);
	if ((n = number(user)) >= 0) {
		ids->uid = (uid_t)n;
		errno = 0;
		if ((pw = getpwuid(ids->uid)) != NULL) {
			ids->gid = pw->pw_gid;
			has_gid = 1;
		}
	} else {
		errno = 0;
		if ((pw = getpwnam(user)) == NULL)
			return fail(why, whysize, errno != 0 ? errno : ENOENT,
			    "unknown user", user);
		ids->uid = pw->pw_uid;
		ids->gid = pw->pw_gid;
		has_gid = 1;
	}
	if (group != NULL && group[0] != '\0') {
		if ((n = number(group)) >= 0)
			ids->gid = (gid_t)n;
		else {
			errno = 0;
			if ((gr = getgrnam(group)) == NULL)
				return fail(why, whysize, errno != 0 ? errno :
				    ENOENT, "unknown group", group);
			ids->gid = gr->gr_gid;
		}
		has_gid = 1;
	}
	if (!has_gid)
		return fail(why, whysize, EINVAL, "no group for numeric user",
		    user);
	if (ids->uid == 0)
		return fail(why, whysize, EPERM, "refusing to run as uid 0",
		    NULL);
	if (ids->gid == 0)
		return fail(why, whysize, EPERM, "refusing to run as gid 0",
		    NULL);
	return 0;
}

/*
 * priv_check_jail - root-owned, not writable by others, up to /. Each
 * component is looked at itself (lstat): a symbolic link is refused,
 * since the directories above its target would go unchecked, and whoever
 * may change them could swap the jail between this check and the
 * chroot. With every real component root's and closed to others, nobody
 * else can rename or replace any of them.
 */
int
priv_check_jail(const char *path, char *why, size_t whysize)
{
	char p[PATH_MAX], *slash;
	struct stat st;
	size_t len;

	if (path == NULL || path[0] != '/')
		return fail(why, whysize, EINVAL, "jail must be an absolute "
		    "path:", path);
	len = strlen(path);
	if (len >= sizeof(p))
		return fail(why, whysize, ENAMETOOLONG, "jail", path);
	memcpy(p, path, len + 1);
	while (len > 1 && p[len - 1] == '/')
		p[--len] = '\0';
	if (strcmp(p, "/") == 0)
		return fail(why, whysize, EINVAL, "jail must not be /:",
		    "a chroot there is no jail");
	for (;;) {
		if (lstat(p, &st) == -1)
			return fail(why, whysize, errno, "cannot stat", p);
		if (S_ISLNK(st.st_mode))
			return fail(why, whysize, EPERM, "a symbolic link in "
			    "the jail's path (give the real path):", p);
		if (!S_ISDIR(st.st_mode))
			return fail(why, whysize, ENOTDIR, "jail", p);
		if (st.st_uid != 0)
			return fail(why, whysize, EPERM, "not owned by root:",
			    p);
		/* A sticky parent such as /tmp is safe: nobody else can
		   rename or remove root's directory in it. */
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) && (strlen(p) == len ||
		    !(st.st_mode & S_ISVTX)))
			return fail(why, whysize, EPERM, "writable by group "
			    "or others:", p);
		if (strcmp(p, "/") == 0)
			break;
		slash = strrchr(p, '/');
		if (slash == p)
			p[1] = '\0';
		else
			*slash = '\0';
	}
	return 0;
}

/* priv_verify - the ids are ours and root is gone for good */
int
priv_verify(const struct priv_ids *ids, struct priv_state *st)
{
	struct priv_state s;
	gid_t groups[4];
	int ok = 1;

	memset(&s, 0, sizeof(s));
	if (getresuid(&s.ruid, &s.euid, &s.suid) == -1 ||
	    getresgid(&s.rgid, &s.egid, &s.sgid) == -1)
		ok = 0;
	s.ngroups = getgroups(4, groups);
	if (s.ngroups > 0)
		s.group0 = groups[0];
	if (s.ruid != ids->uid || s.euid != ids->uid || s.suid != ids->uid ||
	    s.rgid != ids->gid || s.egid != ids->gid || s.sgid != ids->gid)
		ok = 0;
	if (s.ngroups < 0 || s.ngroups > 1 ||
	    (s.ngroups == 1 && s.group0 != ids->gid))
		ok = 0;
	/* Both must fail; if one works we are root again: report it. */
	if (setuid(0) == 0 || seteuid(0) == 0) {
		s.can_regain_root = 1;
		ok = 0;
	}
	if (setgid(0) == 0 || setegid(0) == 0) {
		s.can_regain_root = 1;
		ok = 0;
	}
	if (st != NULL)
		*st = s;
	if (!ok) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* priv_drop - into the jail and down to ids, for good */
int
priv_drop(const struct priv_ids *ids, const char *jail, char *why,
    size_t whysize)
{
	struct priv_state st;

	if (geteuid() != 0)
		return fail(why, whysize, EPERM, "must be started as root",
		    NULL);
	if (ids->uid == 0 || ids->gid == 0)
		return fail(why, whysize, EPERM, "refusing uid or gid 0", NULL);
	if (jail != NULL) {
		if (chdir(jail) == -1)
			return fail(why, whysize, errno, "chdir", jail);
		if (chroot(jail) == -1)
			return fail(why, whysize, errno, "chroot", jail);
	}
	if (chdir("/") == -1)
		return fail(why, whysize, errno, "chdir /", NULL);
	if (setgroups(1, &ids->gid) == -1)
		return fail(why, whysize, errno, "setgroups", NULL);
	if (setresgid(ids->gid, ids->gid, ids->gid) == -1)
		return fail(why, whysize, errno, "setresgid", NULL);
	if (setresuid(ids->uid, ids->uid, ids->uid) == -1)
		return fail(why, whysize, errno, "setresuid", NULL);
	if (priv_verify(ids, &st) == -1)
		return fail(why, whysize, EPERM, st.can_regain_root ?
		    "root could be regained after the drop" :
		    "ids after the drop are not the configured ones", NULL);
	return 0;
}
