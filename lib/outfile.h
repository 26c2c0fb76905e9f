/* outfile.h - build a file under a temporary name, then rename it in */
/*
 * The qmail/cdb discipline for every database the tools write and for
 * the rules image: create "path.tmp.PID" exclusively, write it, fsync
 * it, rename it over path, fsync the directory. A reader holding the
 * old file keeps it; the next open sees the new file whole, never a
 * part of it. write_all() is the one loop over short writes of the
 * programs (the spool, smtpfwdd's maildir target, these files).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef GK_OUTFILE_H
#define GK_OUTFILE_H

#include <stddef.h>

#define OUTFILE_PATH_MAX	4096

/* outfile_tmpname - "path.tmp.PID" into buf; 0, or -1 (ENAMETOOLONG) */
int outfile_tmpname(const char *path, char *buf, size_t size);

/*
 * outfile_create - create tmp exclusively (mode 0644 less the umask),
 * removing a stale one of the same name first. Returns an fd or -1.
 */
int outfile_create(const char *tmp);

/* write_all - write all of buf to fd, over short writes and EINTR; 0,
   or -1 with errno (EIO if the file takes nothing) */
int write_all(int fd, const void *buf, size_t len);

/*
 * outfile_commit - fsync tmp, rename it to path, fsync the directory.
 * Returns 0, or -1 with errno (tmp is then removed).
 */
int outfile_commit(const char *tmp, const char *path);

#endif
