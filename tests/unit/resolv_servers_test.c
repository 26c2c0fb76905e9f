/* resolv_servers_test.c - unit tests of resolv_servers_text() */
/*
 * libowfat reads $DNSCACHEIP or /etc/resolv.conf once and keeps the list
 * for a while in static storage, so each case runs in a child process
 * of its own and reports back through its exit status and a pipe.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../t.h"
#include "../../lib/resolv.h"

struct outcome {
	int rc;				/* resolv_servers_text() */
	int err;			/* its errno */
	int is_usable;			/* resolv_new() took the text */
	char text[RESOLV_SERVERS_TEXT];
};

/* run_case - in a child: set DNSCACHEIP (NULL: unset), format the list
   into a buffer of size bytes, try the text with resolv_new() */
static struct outcome
run_case(const char *env, size_t size)
{
	struct outcome o;
	int fds[2], status;
	pid_t pid;
	ssize_t n;

	memset(&o, 0, sizeof(o));
	o.rc = -2;
	if (pipe(fds) == -1 || (pid = fork()) == -1)
		return o;
	if (pid == 0) {
		struct resolv_conf conf;
		struct resolv *r;
		char buf[RESOLV_SERVERS_TEXT];

		close(fds[0]);
		if (env != NULL)
			setenv("DNSCACHEIP", env, 1);
		else
			unsetenv("DNSCACHEIP");
		if (size > sizeof(buf))
			size = sizeof(buf);
		o.rc = resolv_servers_text(buf, size);
		o.err = o.rc == -1 ? errno : 0;
		if (o.rc == 0) {
			snprintf(o.text, sizeof(o.text), "%s", buf);
			memset(&conf, 0, sizeof(conf));
			conf.servers = buf;
			/* Now from a directory without resolv.conf, as in
			   a jail: the text alone must do. */
			unsetenv("DNSCACHEIP");
			r = resolv_new(&conf);
			o.is_usable = r != NULL;
			resolv_free(r);
		}
		if (write(fds[1], &o, sizeof(o)) != (ssize_t)sizeof(o))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	n = read(fds[0], &o, sizeof(o));
	close(fds[0]);
	if (waitpid(pid, &status, 0) == -1 || n != (ssize_t)sizeof(o) ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		o.rc = -2;
	return o;
}

int
main(void)
{
	struct outcome o;

	o = run_case("127.0.0.70", RESOLV_SERVERS_TEXT);
	is_int(o.rc, 0, "one IPv4 server from DNSCACHEIP");
	is_str(o.text, "127.0.0.70", "  formatted as a dotted quad");
	ok(o.is_usable, "  resolv_new() accepts the text");

	o = run_case("::1", RESOLV_SERVERS_TEXT);
	is_int(o.rc, 0, "one IPv6 server");
	is_str(o.text, "::1", "  formatted as RFC 5952 text");
	ok(o.is_usable, "  resolv_new() accepts the text");

	o = run_case("2001:db8::53", RESOLV_SERVERS_TEXT);
	is_str(o.text, "2001:db8::53", "a longer IPv6 server");

	o = run_case("127.0.0.70", 5);
	is_int(o.rc, -1, "a buffer too small fails");
	is_int(o.err, ENOSPC, "  with ENOSPC");
	is_str(o.text, "", "  and nothing is returned");

	o = run_case("127.0.0.70", 11);
	is_int(o.rc, 0, "a buffer of exactly the text and its NUL suffices");

	o = run_case(NULL, RESOLV_SERVERS_TEXT);
	ok(o.rc == 0 && o.text[0] != '\0' && o.is_usable,
	    "without DNSCACHEIP: resolv.conf (or libowfat's default) gives a "
	    "usable list (\"%s\")", o.text);
	return t_done();
}
