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
#include "rules_gen.h"

static char rules_path[512], image_path[600];

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
	len = generate(buf, size, 4242, 600);
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
	differ = agree(text, img, 5000, 777, &lines);
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
		is_int(agree(text, img, 2000, 777, &lines), 0,
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
		differ = agree(noindex, img, 2000, 777, &lines);
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

	/* A byte of the payload: smtpd does not read every page of it,
	   rulecheck -I (verify_image) does. */
	flip(4096 + 100);
	{
		struct rule_options v;

		memset(&v, 0, sizeof(v));
		v.verify_image = 1;
		rs = load_image(&v, why, sizeof(why));
		ok(rs == NULL && strstr(why, "checksum") != NULL,
		    "a byte of the payload changed: refused when verified (%s)",
		    why);
		ruleset_free(rs);
	}
	ok(compile(NULL) == 0, "compiled again");
	{
		struct rule_options v;

		memset(&v, 0, sizeof(v));
		v.verify_image = 1;
		rs = load_image(&v, why, sizeof(why));
		ok(rs != NULL, "a good image passes the verification (%s)",
		    rs == NULL ? why : "ok");
		ruleset_free(rs);
	}

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
