/* rules_image_test.c - a rules image decides as its text does */
/*
 * A generated rules file is compiled into an image (rulecheck -C's
 * ruleset_image_write) and mapped back (ruleset_image_load); thousands
 * of contexts are decided both ways and must agree in every field of
 * the verdict. Then every reason not to use an image: none there, a
 * changed rules file, unsafe ownership or mode, a corrupt or truncated
 * file, its address already taken, a broken rules file. No root needed:
 * the image is trusted when owned by the user running the test.
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
#include "../../lib/log.h"
#include "../../rules/rules.h"
#include "../../rules/rule_int.h"

static char errors[4096];
static char rules_path[512], image_path[600];

/* collect - load errors as "line: reason" lines */
static void
collect(void *arg, const char *file, unsigned int line, const char *reason)
{
	size_t n = strlen(errors);

	(void)arg;
	(void)file;
	snprintf(errors + n, sizeof(errors) - n, "%u: %s\n", line, reason);
}

/* rnd - a small deterministic generator */
static unsigned int
rnd(unsigned int *seed, unsigned int n)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 16) % n;
}

/* write_file - replace path's contents */
static int
write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	if (fwrite(text, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

static const char *const domains[] = { "spam.example", "a.spam.example",
    "good.example", "mail.good.example", "x.org", "b.x.org", "bad.net",
    "c.bad.net" };
static const char *const users[] = { "joe", "root", "12345", "" };

/* generate - a rules file with every kind of line an image must carry */
static size_t
generate(char *text, size_t size, unsigned int seed)
{
	char line[300];
	size_t len = 0;
	unsigned int i;

#define RND(n) rnd(&seed, (n))
	text[0] = '\0';
	for (i = 0; i < 600; i++) {
		const char *d = domains[RND(8)];

		switch (RND(14)) {
		case 0:
			snprintf(line, sizeof(line), "deny:10.%u.%u.0/24:ALL:ALL:"
			    "550 5.7.1 %%I listed\n", RND(8), RND(8));
			break;
		case 1:
			snprintf(line, sizeof(line), "noto:10.%u.%u.%u,10.%u.%u.0/24"
			    ":ALL:*@%s:550 no%%Cthanks %%%% %%T\n", RND(8), RND(8),
			    RND(8), RND(8), RND(8), d);
			break;
		case 2:
			snprintf(line, sizeof(line), "deny:ALL:*@%s *@*.%s:ALL:550 "
			    "from %%F\n", d, d);
			break;
		case 3:
			snprintf(line, sizeof(line), "noto:ALL:ALL:%s@%s:550 t\n",
			    users[RND(3)], d);
			break;
		case 4:
			snprintf(line, sizeof(line), "allow:ALL:*.%s:ALL\n", d);
			break;
		case 5:
			snprintf(line, sizeof(line), "deny:ALL EXCEPT 10.%u.0.0/16:"
			    "*@%s:ALL:550 e # why not\n", RND(4), d);
			break;
		case 6:
			snprintf(line, sizeof(line), "noto:ALL:/^%s@/:ALL:550 r\n",
			    users[RND(3)]);
			break;
		case 7:
			snprintf(line, sizeof(line), "debug:10.%u.0.0/16:ALL:ALL\n",
			    RND(4));
			break;
		case 8:
			snprintf(line, sizeof(line), "deny:/^10\\.%u\\./:ALL:/%s$/:"
			    "551 regex %%I\n", RND(8), d);
			break;
		case 9:
			snprintf(line, sizeof(line), "noto_delay:*.%s:ALL:ALL:450 "
			    "name %%H\n", d);
			break;
		case 10:
			snprintf(line, sizeof(line), "deny:10.%u.*:ALL:ALL:550 glob\n",
			    RND(8));
			break;
		case 11:
			snprintf(line, sizeof(line), "noto:ALL:ALL:USER@%s:550 u\n",
			    d);
			break;
		case 12:
			snprintf(line, sizeof(line), "allow:ALL:%s@*:ALL\n",
			    users[RND(3)]);
			break;
		default:
			snprintf(line, sizeof(line), "deny:[2001:db8:%x::]/48:*@%s:"
			    "ALL:550 6\n", RND(4), d);
			break;
		}
		if (len + strlen(line) + 1 >= size)
			break;
		memcpy(text + len, line, strlen(line) + 1);
		len += strlen(line);
	}
	/* No line in the file needs DNS: every decision is a fact. */
	return len;
#undef RND
}

/* verdict_text - every field of a verdict, for comparison */
static void
verdict_text(const struct ruleset *rs, const struct rule_verdict *v,
    char *out, size_t size)
{
	snprintf(out, size, "%d %d %u [%s] [%s] [%s] [%s]", (int)v->kind,
	    (int)v->action, v->line, v->reply, v->value, v->reason,
	    v->line > 0 ? ruleset_line_text(rs, v->line) : "");
}

/* agree - decide n random contexts with both rulesets; disagreements */
static unsigned int
agree(struct ruleset *a, struct ruleset *b, unsigned int n,
    unsigned int *lines)
{
	char ip[64], from[128], to[128], va[2048], vb[2048], la[1024],
	    lb[1024];
	unsigned char seen[1024];
	struct rule_client c;
	struct rule_session *sa, *sb;
	struct rule_verdict v1, v2;
	unsigned int seed = 777, i, differ = 0;

#define RND(k) rnd(&seed, (k))
	memset(seen, 0, sizeof(seen));
	*lines = 0;
	for (i = 0; i < n; i++) {
		memset(&c, 0, sizeof(c));
		if (RND(5) == 0)
			snprintf(ip, sizeof(ip), "2001:db8:%x::%x", RND(5), RND(9));
		else
			snprintf(ip, sizeof(ip), "10.%u.%u.%u", RND(8), RND(8),
			    RND(8));
		net_addr_parse(ip, strlen(ip), &c.addr);
		c.name = RND(3) == 0 ? NULL : domains[RND(8)];
		snprintf(from, sizeof(from), RND(6) == 0 ? "<>" : "<%s@%s>",
		    users[RND(4)], domains[RND(8)]);
		snprintf(to, sizeof(to), "<%s@%s>", users[RND(4)],
		    domains[RND(8)]);
		sa = rule_session_new(a, &c, NULL);
		sb = rule_session_new(b, &c, NULL);
		rule_decide(a, sa, from, to, &v1);
		rule_decide(b, sb, from, to, &v2);
		verdict_text(a, &v1, va, sizeof(va));
		verdict_text(b, &v2, vb, sizeof(vb));
		rule_log_line(a, sa, from, to, &v1, la, sizeof(la));
		rule_log_line(b, sb, from, to, &v2, lb, sizeof(lb));
		if (v1.line < sizeof(seen) && !seen[v1.line]) {
			seen[v1.line] = 1;
			(*lines)++;
		}
		if (strcmp(va, vb) != 0 || strcmp(la, lb) != 0) {
			if (differ++ < 5)
				t_diag("differ: %s %s %s:\n#  %s\n#  %s", ip, from,
				    to, va, vb);
		}
		rule_session_free(sa);
		rule_session_free(sb);
	}
	return differ;
#undef RND
}

/* load_image - ruleset_image_load trusting the user running the test */
static struct ruleset *
load_image(const struct rule_options *o, char *why, size_t size)
{
	return ruleset_image_load(rules_path, o, (unsigned int)geteuid(), why,
	    size);
}

/* compile - ruleset_image_write, expecting success */
static int
compile(const struct rule_options *o)
{
	char err[512];
	size_t n;

	errors[0] = '\0';
	if (ruleset_image_write(rules_path, o, &n, err, sizeof(err)) == -1) {
		t_diag("ruleset_image_write: %s %s", err, errors);
		return -1;
	}
	return 0;
}

/* flip - change one byte of the image at off */
static void
flip(off_t off)
{
	unsigned char c;
	int fd = open(image_path, O_RDWR);

	if (fd == -1)
		return;
	if (pread(fd, &c, 1, off) == 1) {
		c ^= 0x40;
		if (pwrite(fd, &c, 1, off) != 1)
			t_diag("pwrite: %s", strerror(errno));
	}
	close(fd);
}

/* test_same_decisions - image and text agree on 5000 contexts */
static void
test_same_decisions(void)
{
	struct rule_options o;
	struct ruleset *text, *img, *noindex;
	char *buf, why[512];
	size_t len, size = 128 * 1024;
	unsigned int lines, differ;

	if ((buf = malloc(size)) == NULL)
		return;
	len = generate(buf, size, 4242);
	ok(write_file(rules_path, buf, len) == 0, "rules file written");
	free(buf);
	memset(&o, 0, sizeof(o));
	o.error_fn = collect;
	ok(compile(&o) == 0, "image compiled");
	ok(access(image_path, F_OK) == 0, "as %s", image_path);
	text = ruleset_load(rules_path, &o);
	img = load_image(&o, why, sizeof(why));
	ok(text != NULL, "text loads: %s", errors);
	ok(img != NULL, "image loads: %s", why);
	if (text == NULL || img == NULL)
		goto out;
	is_int((long)ruleset_rule_count(img), (long)ruleset_rule_count(text),
	    "same number of rules");
	is_str(ruleset_path(img), ruleset_path(text), "same path");
	differ = agree(text, img, 5000, &lines);
	is_int(differ, 0, "image and text agree on 5000 decisions");
	ok(lines > 40, "%u different lines decide", lines);

	/* The regexes travel as PCRE2's serialisation; spoiled (its magic
	   number), the process compiles the patterns instead. */
	ok(img->regex_blob != NULL && img->nregex > 0,
	    "the image holds its %zu regexes serialised", img->nregex);
	if (img->regex_blob != NULL) {
		off_t off = 4096 + ((const char *)img->regex_blob -
		    (const char *)img->image_base);	/* IMAGE_PAYLOAD */

		ruleset_free(img);
		flip(off);
		img = load_image(&o, why, sizeof(why));
		ok(img != NULL, "with it spoiled the image still loads: %s",
		    why);
		if (img == NULL)
			goto out;
		is_int(agree(text, img, 2000, &lines), 0,
		    "and decides as the text, from the patterns");
	}

	/* The caller's options, not the writer's, hold for an image. */
	ruleset_free(img);
	o.default_reply = "554 default for %I";
	o.default_action = RULE_NOTO;
	o.no_index = 1;
	img = load_image(&o, why, sizeof(why));
	noindex = ruleset_load(rules_path, &o);
	ok(img != NULL && noindex != NULL, "with other options: %s", why);
	if (img != NULL && noindex != NULL) {
		differ = agree(noindex, img, 2000, &lines);
		is_int(differ, 0, "and they agree again (default reply, "
		    "default action, no index)");
	}
	ruleset_free(noindex);
out:
	ruleset_free(text);
	ruleset_free(img);
}

/* expect_refused - the image is not used, for the reason given */
static void
expect_refused(const char *what, const char *reason)
{
	struct ruleset *rs;
	char why[512];

	rs = load_image(NULL, why, sizeof(why));
	ok(rs == NULL && strstr(why, reason) != NULL, "%s: refused (%s)", what,
	    why);
	ruleset_free(rs);
}

/* test_refusals - every reason not to use an image */
static void
test_refusals(void)
{
	struct ruleset *a, *b, *rs;
	struct stat st;
	struct timespec ts[2];
	char why[512], err[512];
	size_t n;

	unlink(image_path);
	rs = load_image(NULL, why, sizeof(why));
	ok(rs == NULL && why[0] == '\0', "no image: not used, nothing to say");

	ok(compile(NULL) == 0, "compiled again");
	if (stat(rules_path, &st) == 0) {
		ts[0] = st.st_atim;
		ts[1] = st.st_mtim;
		ts[1].tv_nsec = (ts[1].tv_nsec + 1) % 1000000000;
		utimensat(AT_FDCWD, rules_path, ts, 0);
	}
	expect_refused("rules file touched", "stale");

	ok(compile(NULL) == 0, "compiled again");
	chmod(image_path, 0664);
	expect_refused("group-writable image", "writable by group");
	chmod(image_path, 0644);
	rs = ruleset_image_load(rules_path, NULL, (unsigned int)geteuid() + 1,
	    why, sizeof(why));
	ok(rs == NULL && strstr(why, "not owned") != NULL,
	    "image of another owner: refused (%s)", why);
	ruleset_free(rs);

	flip(20);
	expect_refused("a byte of the header changed", "corrupt header");
	ok(compile(NULL) == 0, "compiled again");
	if (stat(image_path, &st) == 0 && truncate(image_path,
	    st.st_size - 8) == -1)
		t_diag("truncate: %s", strerror(errno));
	expect_refused("truncated image", "corrupt");
	ok(compile(NULL) == 0, "compiled again");

	a = load_image(NULL, why, sizeof(why));
	b = load_image(NULL, err, sizeof(err));
	ok(a != NULL && b == NULL && err[0] != '\0',
	    "a second mapping while the first is in use: refused (%s)", err);
	ruleset_free(b);
	ruleset_free(a);
	a = load_image(NULL, why, sizeof(why));
	ok(a != NULL, "after ruleset_free the address is free again: %s",
	    why);
	ruleset_free(a);

	/* A broken rules file: its errors, and the old image stays. */
	ok(write_file(rules_path, "deny:ALL:ALL:ALL:bad reply\n", 27) == 0,
	    "broken rules written");
	errors[0] = '\0';
	{
		struct rule_options o;

		memset(&o, 0, sizeof(o));
		o.error_fn = collect;
		is_int(ruleset_image_write(rules_path, &o, &n, err,
		    sizeof(err)), -1, "a broken file is not compiled");
	}
	ok(strstr(errors, "1: reply must start") != NULL && err[0] == '\0',
	    "its errors as file:line (%s)", errors);
	expect_refused("the image of the file before", "stale");
}

int
main(void)
{
	log_open("rules_image_test", LOG_SINK_MEMORY, 0);
	snprintf(rules_path, sizeof(rules_path), "%s/image.rules", t_tmpdir());
	snprintf(image_path, sizeof(image_path), "%s.image", rules_path);
	test_same_decisions();
	test_refusals();
	unlink(image_path);
	unlink(rules_path);
	return t_done();
}
