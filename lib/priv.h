/* priv.h - drop root: resolve ids, chroot, setgroups/setresgid/setresuid */
/*
 * The one privilege module (conventions C11). Use in this order, as
 * root, before reading a byte from any client:
 *   priv_lookup()     user and group names, from the real /etc (NSS;
 *                     in a static program /etc/passwd and /etc/group)
 *   priv_check_jail() the jail is root's and nobody else may write it
 *   priv_drop()       chroot (optional), setgroups(1), setresgid,
 *                     setresuid, then verify that root cannot come back
 * Nothing here exits or logs; each call returns -1 with errno and a
 * reason in why.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef GK_PRIV_H
#define GK_PRIV_H

#include <stddef.h>
#include <sys/types.h>

struct priv_ids {
	uid_t uid;
	gid_t gid;
};

/* What priv_verify() saw, for a debug log line and the tests. */
struct priv_state {
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	int ngroups;		/* supplementary groups */
	gid_t group0;		/* the first of them, if any */
	int can_regain_root;	/* 1 if setuid(0) or setgid(0) worked */
};

/*
 * priv_lookup - user (name or number) and group (name, number, or NULL
 * for the user's primary group) to ids. uid 0 and gid 0 are refused
 * (EPERM). ENOENT if a name is unknown.
 */
int priv_lookup(const char *user, const char *group, struct priv_ids *ids,
    char *why, size_t whysize);

/*
 * priv_check_jail - path is an absolute directory, owned by root, not
 * writable by group or others, and so is every directory above it
 * (sshd's ChrootDirectory rule), except that a parent may be writable
 * if it is sticky (/tmp). EPERM/ENOTDIR/EINVAL otherwise.
 */
int priv_check_jail(const char *path, char *why, size_t whysize);

/*
 * priv_drop - chdir(jail) and chroot(jail) if jail is not NULL, then
 * chdir("/"); setgroups(1, &gid); setresgid(gid x3); setresuid(uid x3);
 * then priv_verify(). Must be called as root. On any failure returns
 * -1: the caller must exit, the process is in an unknown state.
 */
int priv_drop(const struct priv_ids *ids, const char *jail, char *why,
    size_t whysize);

/*
 * priv_verify - 0 if every uid and gid equals ids, the only
 * supplementary group is ids->gid, and setuid(0) and setgid(0) both
 * fail; else -1 (EPERM). Fills st if not NULL.
 */
int priv_verify(const struct priv_ids *ids, struct priv_state *st);

#endif
