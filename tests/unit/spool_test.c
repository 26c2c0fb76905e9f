/* spool_test.c - unit tests of lib/spool.c (docs/spool.5) */
/*
 * Round trip: spool_open/write/commit into a fresh spool, then
 * spool_read and spool_mark on the result. Hostile inputs: hand-made
 * files that are truncated, extended, of the wrong version, with NULs,
 * CRs, 8-bit bytes, oversized lines, bad paths, repeated keywords, too
 * many recipients, a name that differs from the ID.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../t.h"
#include "../../lib/spool.h"

static char spooldir[512];

/* make_spool - a spool directory with tmp/ and new/ */
static void
make_spool(void)
{
	char p[600];

	snprintf(spooldir, sizeof(spooldir), "%s/spool", t_tmpdir());
	ok(mkdir(spooldir, 0750) == 0, "mkdir spool");
	snprintf(p, sizeof(p), "%s/tmp", spooldir);
	ok(mkdir(p, 0770) == 0, "mkdir tmp");
	snprintf(p, sizeof(p), "%s/new", spooldir);
	ok(mkdir(p, 0770) == 0, "mkdir new");
}

/* count_dir - entries in spool/sub, dot files excluded */
static int
count_dir(const char *sub)
{
	char cmd[800];
	FILE *f;
	int n = -1;
	char line[64];

	snprintf(cmd, sizeof(cmd), "ls -1 '%s/%s' | wc -l", spooldir, sub);
	f = popen(cmd, "r");
	if (f == NULL)
		return -1;
	if (fgets(line, sizeof(line), f) != NULL)
		n = (int)strtol(line, NULL, 10);
	pclose(f);
	return n;
}

/* read_file - whole file into a malloc'd buffer */
static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static const char *rcpts[] = { "<bob@example.net>", "<\"c d\"@example.net>",
	"<postmaster>" };

/* base_meta - a valid meta */
static struct spool_meta
base_meta(void)
{
	struct spool_meta m;

	memset(&m, 0, sizeof(m));
	m.time = 1732377600;
	m.usec = 12345;
	m.client_ip = "192.0.2.1";
	m.client_name = "mail.example.org";
	m.helo = "mail.example.org";
	m.ident = NULL;
	m.proto = "ESMTP";
	m.body_type = "8BITMIME";
	m.from = "<alice@example.org>";
	m.rcpt = rcpts;
	m.nrcpt = 3;
	return m;
}

/* test_round_trip - write a message, read it back, mark recipients */
static void
test_round_trip(void)
{
	struct spool_writer w;
	struct spool_meta m = base_meta();
	struct spool_env env;
	char path[900], why[128], id[SPOOL_ID_MAX + 1];
	const char body[] = "Received: x\nSubject: t\n\nhello\0world\n\xff\n";
	char *big, *file;
	size_t len, i, idx[2];
	int fd;

	ok(spool_dir_check(spooldir, why, sizeof(why)) == 0,
	    "spool_dir_check accepts a fresh spool (%s)", why);
	is_int(spool_open(&w, spooldir, &m), 0, "spool_open");
	ok(spool_id_valid(w.id, strlen(w.id)), "id %s is valid", w.id);
	snprintf(id, sizeof(id), "%s", w.id);
	is_int(count_dir("tmp"), 1, "one file in tmp/ while writing");
	is_int(spool_write(&w, body, sizeof(body) - 1), 0, "spool_write");
	/* Something larger than the buffer, in odd pieces. */
	big = malloc(200000);
	ok(big != NULL, "malloc");
	for (i = 0; i < 200000; i++)
		big[i] = (i % 77 == 76) ? '\n' : (char)('a' + i % 26);
	is_int(spool_write(&w, big, 100001), 0, "spool_write big piece");
	is_int(spool_write(&w, big + 100001, 99999), 0, "spool_write rest");
	is_int(spool_commit(&w), 0, "spool_commit");
	is_int(w.fd, -1, "writer closed");
	is_int(count_dir("tmp"), 0, "tmp/ empty after commit");
	is_int(count_dir("new"), 1, "one file in new/");

	snprintf(path, sizeof(path), "%s/new/%s", spooldir, id);
	file = read_file(path, &len);
	ok(file != NULL, "read back");
	ok(file != NULL && strncmp(file, "VERSION 1\nID ", 13) == 0,
	    "file starts with VERSION and ID");
	ok(file != NULL && strstr(file, "\nRCPT <\"c d\"@example.net>\n") !=
	    NULL, "quoted recipient kept");
	{
		struct stat st;

		ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0660,
		    "mode 0660");
	}

	fd = open(path, O_RDWR);
	ok(fd >= 0, "open spool file");
	is_int(spool_read(fd, id, &env, why, sizeof(why)), 0,
	    "spool_read round trip (%s)", why);
	is_str(env.id, id, "ID");
	is_int(env.version, 1, "VERSION");
	is_int(env.time, 1732377600, "TIME");
	is_str(env.client_ip, "192.0.2.1", "CLIENT-IP");
	is_str(env.client_name, "mail.example.org", "CLIENT-NAME");
	is_str(env.helo, "mail.example.org", "HELO");
	is_int(env.has_ident, 0, "no IDENT");
	is_str(env.proto, "ESMTP", "PROTO");
	is_str(env.body_type, "8BITMIME", "BODY-TYPE");
	is_str(env.from, "<alice@example.org>", "FROM");
	is_int(env.nrcpt, 3, "3 recipients");
	is_str(env.nrcpt == 3 ? env.rcpt[1].addr : "", "<\"c d\"@example.net>",
	    "rcpt 2");
	is_int(env.size, sizeof(body) - 1 + 200000, "SIZE");
	ok(file != NULL && env.body_offset > 0 &&
	    memcmp(file + env.body_offset, body, sizeof(body) - 1) == 0,
	    "body starts at body_offset, NUL and 8-bit kept");
	ok(file != NULL && memcmp(file + env.body_offset + sizeof(body) - 1,
	    big, 200000) == 0, "big body intact");

	idx[0] = 0;
	idx[1] = 2;
	is_int(spool_mark(fd, &env, idx, 2, SPOOL_SENT), 0, "spool_mark SENT");
	idx[0] = 7;
	is_int(spool_mark(fd, &env, idx, 1, SPOOL_SENT), -1,
	    "spool_mark bad index");
	is_int(spool_mark(fd, &env, idx, 0, SPOOL_RCPT), -1,
	    "spool_mark to RCPT refused");
	spool_env_free(&env);
	is_int(spool_read(fd, id, &env, why, sizeof(why)), 0,
	    "re-read after mark");
	ok(env.nrcpt == 3 && env.rcpt[0].state == SPOOL_SENT &&
	    env.rcpt[1].state == SPOOL_RCPT && env.rcpt[2].state == SPOOL_SENT,
	    "states SENT RCPT SENT");
	spool_env_free(&env);
	spool_env_free(&env);
	close(fd);
	free(file);
	free(big);
}

/* test_abort_and_invalid - abort cleans up; bad meta makes no file */
static void
test_abort_and_invalid(void)
{
	struct spool_writer w;
	struct spool_meta m = base_meta();
	const char *bad_rcpt[] = { "<a@b>", "no-brackets" };
	const char *null_rcpt[] = { "<>" };
	int before = count_dir("new");

	is_int(spool_open(&w, spooldir, &m), 0, "open for abort");
	is_int(spool_write(&w, "x\n", 2), 0, "write");
	spool_abort(&w);
	spool_abort(&w);
	is_int(count_dir("tmp"), 0, "abort removed tmp file");
	is_int(count_dir("new"), before, "abort left new/ alone");
	is_int(spool_commit(&w), -1, "commit after abort fails");

	m.helo = "bad\r\nhelo";
	errno = 0;
	is_int(spool_open(&w, spooldir, &m), -1, "CRLF in HELO refused");
	is_int(errno, EINVAL, "EINVAL");
	m = base_meta();
	m.rcpt = bad_rcpt;
	m.nrcpt = 2;
	is_int(spool_open(&w, spooldir, &m), -1, "bad recipient refused");
	m.rcpt = null_rcpt;
	m.nrcpt = 1;
	is_int(spool_open(&w, spooldir, &m), -1, "<> recipient refused");
	m = base_meta();
	m.nrcpt = 0;
	is_int(spool_open(&w, spooldir, &m), -1, "no recipient refused");
	m = base_meta();
	m.client_ip = "999.1.1.1";
	is_int(spool_open(&w, spooldir, &m), -1, "bad IP refused");
	m = base_meta();
	m.from = "<a@b";
	is_int(spool_open(&w, spooldir, &m), -1, "bad FROM refused");
	is_int(count_dir("tmp"), 0, "no debris in tmp/");
	is_int(spool_open(&w, "/nonexistent/spool", &m), -1,
	    "missing spool directory");
}

/* try_read - write content to a file named name, run spool_read */
static int
try_read(const char *name, const char *content, size_t len, char *why,
    size_t whysize, int *err)
{
	struct spool_env env;
	char path[900];
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", t_tmpdir(), name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -2;
	if (write(fd, content, len) != (ssize_t)len) {
		close(fd);
		return -2;
	}
	errno = 0;
	r = spool_read(fd, name, &env, why, whysize);
	*err = errno;
	if (r == 0)
		spool_env_free(&env);
	close(fd);
	unlink(path);
	return r;
}

#define GOOD_HEAD "VERSION 1\nID m1\nTIME 5\nCLIENT-IP 2001:db8::1\n" \
	"SIZE 6\nFROM <>\nRCPT <a@b>\nBODY\n"

/* expect - one hostile case: spool_read must refuse with errno want */
static void
expect(const char *what, const char *content, size_t len, int want)
{
	char why[128] = "";
	int err = 0, r;

	r = try_read("m1", content, len, why, sizeof(why), &err);
	ok(r == -1 && err == want, "%s: refused (%s)", what, why);
}

/* test_hostile - malformed files are refused with EPROTO */
static void
test_hostile(void)
{
	char why[128] = "";
	char *big;
	size_t i, n;
	int err = 0;
	const char good[] = GOOD_HEAD "hello\n";

	is_int(try_read("m1", good, sizeof(good) - 1, why, sizeof(why), &err),
	    0, "minimal valid file (%s)", why);
	expect("truncated body", good, sizeof(good) - 2, EPROTO);
	expect("extended body", GOOD_HEAD "hello\nX", sizeof(GOOD_HEAD) + 6,
	    EPROTO);
	expect("truncated envelope", good, 40, EPROTO);
	expect("empty file", "", 0, EPROTO);
	expect("wrong version", "VERSION 2\nID m1\n", 16, ENOTSUP);
	expect("no version", "ID m1\nVERSION 1\n", 16, EPROTO);
	expect("NUL in envelope",
	    "VERSION 1\nID m1\nTIME 5\nCLIENT-IP 1.2.3.4\nHELO a\0b\n"
	    "SIZE 0\nFROM <>\nRCPT <a@b>\nBODY\n", 82, EPROTO);
	expect("CR in envelope",
	    "VERSION 1\r\nID m1\nTIME 5\nCLIENT-IP 1.2.3.4\n"
	    "SIZE 0\nFROM <>\nRCPT <a@b>\nBODY\n", 73, EPROTO);
	expect("8-bit in envelope",
	    "VERSION 1\nID m1\nTIME 5\nCLIENT-IP 1.2.3.4\nHELO \xe9\n"
	    "SIZE 0\nFROM <>\nRCPT <a@b>\nBODY\n", 79, EPROTO);
	{
		const char s[] = "VERSION 1\nID m2\nTIME 5\nCLIENT-IP 1.2.3.4\n"
		    "SIZE 0\nFROM <>\nRCPT <a@b>\nBODY\n";

		expect("ID differs from name", s, sizeof(s) - 1, EPROTO);
	}
	{
		const char s[] = "VERSION 1\nID m1\nTIME 5\nCLIENT-IP 1.2.3.4\n"
		    "SIZE 0\nFROM <>\nFROM <>\nRCPT <a@b>\nBODY\n";

		expect("repeated FROM", s, sizeof(s) - 1, EPROTO);
	}
	{
		const char s[] = "VERSION 1\nID m1\nTIME 5\nCLIENT-IP 1.2.3.4\n"
		    "SIZE 0\nFROM <>\nRCPT <>\nBODY\n";

		expect("<> recipient", s, sizeof(s) - 1, EPROTO);
	}
	{
		const char s[] = "VERSION 1\nID m1\nTIME 5\nCLIENT-IP 1.2.3.4\n"
		    "SIZE 0\nFROM <>\nRCPT <-oQ/tmp a@b>\nBODY\n";

		expect("space outside quotes", s, sizeof(s) - 1, EPROTO);
	}
	{
		const char s[] = "VERSION 1\nID m1\nTIME 5\nCLIENT-IP 1.2.3.4\n"
		    "SIZE 0\nFROM <>\nBODY\n";

		expect("no recipient", s, sizeof(s) - 1, EPROTO);
	}
	{
		const char s[] = "VERSION 1\nID m1\nTIME 5\nCLIENT-IP 1.2.3.4\n"
		    "SIZE 99999999999999999999\nFROM <>\nRCPT <a@b>\nBODY\n";

		expect("SIZE overflow", s, sizeof(s) - 1, EPROTO);
	}
	{
		const char s[] = "VERSION 1\nID m1\nTIME 5\nCLIENT-IP 1.2.3.4\n"
		    "SIZE -1\nFROM <>\nRCPT <a@b>\nBODY\n";

		expect("negative SIZE", s, sizeof(s) - 1, EPROTO);
	}
	{
		const char s[] = "VERSION 1\nID m1\nTIME 5\nCLIENT-IP 1.2.3.4\n"
		    "SIZE 0\nFROM <>\nRCPT <a@b>\nEXEC /bin/sh\nBODY\n";

		expect("unknown keyword", s, sizeof(s) - 1, EPROTO);
	}
	{
		const char s[] = "VERSION 1\nID m1\nTIME 5\nCLIENT-IP 1.2.3.4\n"
		    "X-FUTURE yes\nSIZE 0\nFROM <>\nRCPT <a@b>\nBODY\n";

		is_int(try_read("m1", s, sizeof(s) - 1, why, sizeof(why),
		    &err), 0, "X- keyword skipped");
	}
	{
		const char s[] = "VERSION 1\nID m1\nTIME 5\n"
		    "CLIENT-IP x.example\n"
		    "SIZE 0\nFROM <>\nRCPT <a@b>\nBODY\n";

		expect("CLIENT-IP not an address", s, sizeof(s) - 1, EPROTO);
	}
	{
		const char s[] = "VERSION 1\nID m1\nTIME 5\nCLIENT-IP 1.2.3.4\n"
		    "SIZE 0\nFROM <>\nRCPT <a@b>\nBODY\n";

		ok(try_read("../m1", s, sizeof(s) - 1, why, sizeof(why),
		    &err) != 0, "bad file name refused");
	}
	/* An oversized line. */
	big = malloc(SPOOL_ENVELOPE_MAX + 4096);
	ok(big != NULL, "malloc");
	n = (size_t)snprintf(big, 4096, "VERSION 1\nID m1\nHELO ");
	for (i = 0; i < SPOOL_LINE_MAX + 10; i++)
		big[n++] = 'a';
	big[n++] = '\n';
	expect("oversized line", big, n, EPROTO);
	/* Too many recipients. */
	n = (size_t)snprintf(big, 4096, "VERSION 1\nID m1\nTIME 5\n"
	    "CLIENT-IP 1.2.3.4\nSIZE 0\nFROM <>\n");
	for (i = 0; i <= SPOOL_RCPT_MAX; i++)
		n += (size_t)snprintf(big + n, 64, "RCPT <u%zu@b>\n", i);
	n += (size_t)snprintf(big + n, 64, "BODY\n");
	expect("too many recipients", big, n, EPROTO);
	/* An envelope over SPOOL_ENVELOPE_MAX made of X- lines. */
	n = (size_t)snprintf(big, 4096, "VERSION 1\nID m1\n");
	while (n < SPOOL_ENVELOPE_MAX + 100) {
		memcpy(big + n, "X-PAD ", 6);
		n += 6;
		for (i = 0; i < 900; i++)
			big[n++] = 'p';
		big[n++] = '\n';
	}
	expect("envelope too big", big, n, EPROTO);
	free(big);
	/* Not a regular file. */
	{
		struct spool_env env;
		int fd = open(t_tmpdir(), O_RDONLY | O_DIRECTORY);

		ok(fd >= 0 && spool_read(fd, "m1", &env, why, sizeof(why)) ==
		    -1 && errno == EPROTO, "directory refused (%s)", why);
		if (fd >= 0)
			close(fd);
	}
}

/* test_validators - the id, value and path predicates */
static void
test_validators(void)
{
	ok(spool_id_valid("1732377600-012345-4321-1", 24), "id ok");
	ok(!spool_id_valid("-x", 2), "leading dash");
	ok(!spool_id_valid("a.b", 3), "dot");
	ok(!spool_id_valid("", 0), "empty id");
	ok(!spool_id_valid("a/b", 3), "slash");
	ok(spool_addr_valid("<>", 2), "<> ok");
	ok(spool_addr_valid("<a@b>", 5), "<a@b> ok");
	ok(!spool_addr_valid("<a@b", 4), "unclosed");
	ok(!spool_addr_valid("<a<b>", 5), "< inside");
	ok(!spool_addr_valid("<\"a b>", 6), "unbalanced quote");
	ok(!spool_addr_valid("<a\tb>", 5), "tab");
	/* quoted-pairs, as smtpd's parser accepts them at RCPT */
	ok(spool_addr_valid("<\"a\\\"b\"@x>", 10), "escaped quote");
	ok(spool_addr_valid("<\"a\\\" b\"@x>", 11), "escaped quote, space");
	ok(spool_addr_valid("<\"a\\ b\"@x>", 10), "escaped space");
	ok(!spool_addr_valid("<\"a\\\">", 6), "escape eats the close");
	ok(!spool_addr_valid("<\"a\\\tb\"@x>", 10), "escaped tab");
	ok(!spool_addr_valid("<\"a\\>b\"@x>", 10), "escaped >");
	ok(!spool_addr_valid("<a\\\"b@x>", 8), "no pair outside quotes");
	ok(spool_value_valid("", 0), "empty value ok");
	ok(!spool_value_valid("a\nb", 3), "LF in value");
}

/* test_dir_check - refuse a world-writable spool */
static void
test_dir_check(void)
{
	char why[256], p[600];

	snprintf(p, sizeof(p), "%s/new", spooldir);
	ok(chmod(p, 0777) == 0, "chmod new 0777");
	ok(spool_dir_check(spooldir, why, sizeof(why)) == -1 &&
	    errno == EPERM, "world-writable new/ refused: %s", why);
	ok(chmod(p, 0770) == 0, "chmod new back");
	ok(spool_dir_check("/nonexistent", why, sizeof(why)) == -1,
	    "missing spool refused");
}

/* main - run every test */
int
main(void)
{
	make_spool();
	test_validators();
	test_round_trip();
	test_abort_and_invalid();
	test_hostile();
	test_dir_check();
	return t_done();
}
