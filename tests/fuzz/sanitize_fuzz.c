/* sanitize_fuzz.c - libFuzzer target for smtpfwdd's checks of spool files */
/*
 * Each input is a whole spool file (docs/spool.5), as a hostile smtpd
 * could write it. It is read the way a delivery reads it: from a memfd
 * through deliver_prepare() (spool_read, every path through
 * sanitize_path, the message through sanitize_body_*) under the name
 * "fuzz", and when it passes, every batch's sendmail argument vector is
 * built and checked: nothing but our own words before "--". The input
 * also goes straight to sanitize_path (its first line) and to the body
 * scanner (in two pieces), so that those see bytes spool_read refuses.
 * Built and run by `make fuzz` (tests/fuzz/run).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/mman.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../smtpfwdd/deliver.h"
#include "../../smtpfwdd/sanitize.h"
#include "../../smtpfwdd/target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;

/* check_argv - the argument vector of one batch, and its invariant */
static void
check_argv(const struct deliver_plan *p, const char *const *rcpt, size_t n)
{
	static const char *argv[1 + FWD_EXTRA_ARGS_MAX + 4 + FWD_BATCH_MAX + 1];
	struct fwd_conf c;
	int k, i;

	memset(&c, 0, sizeof(c));
	c.sendmail = "/usr/sbin/sendmail";
	k = target_sendmail_argv(&c, p->from, rcpt, n, argv,
	    sizeof(argv) / sizeof(argv[0]));
	if (k != (int)(n + 5))
		abort();
	/* Before "--": our words, and a sender that is no option. */
	if (strcmp(argv[1], "-oi") != 0 || strcmp(argv[2], "-f") != 0 ||
	    argv[3][0] == '-' || argv[3][0] == '\0' ||
	    strcmp(argv[4], "--") != 0)
		abort();
	for (i = 5; i < k; i++)
		if (argv[i][0] == '\0' || strchr(argv[i], '\n') != NULL)
			abort();
}

/* fuzz_file - the input as a spool file named "fuzz" */
static void
fuzz_file(const uint8_t *data, size_t size)
{
	const char *rcptv[FWD_BATCH_MAX];
	struct deliver_plan p;
	size_t i, k;

	if (memfd == -1 && (memfd = memfd_create("spool", MFD_CLOEXEC)) == -1)
		abort();
	if (ftruncate(memfd, 0) == -1 ||
	    (size > 0 && pwrite(memfd, data, size, 0) != (ssize_t)size))
		abort();
	if (deliver_prepare(memfd, "fuzz", &sanitize_limits_default, -1, &p) == -1)
		return;
	for (i = 0;;) {
		for (k = 0; i < p.env.nrcpt && k < 7; i++)
			if (p.env.rcpt[i].state == SPOOL_RCPT)
				rcptv[k++] = p.rcpt[i];
		if (k == 0)
			break;
		check_argv(&p, rcptv, k);
	}
	deliver_plan_free(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sanitize_limits small = sanitize_limits_default;
	struct sanitize_body b;
	char out[SANITIZE_ADDR_SIZE];
	const char *why;
	const uint8_t *nl;
	size_t cut;

	nl = memchr(data, '\n', size);
	(void)sanitize_path((const char *)data, nl != NULL ?
	    (size_t)(nl - data) : size, size % 2 ? SANITIZE_SENDER :
	    SANITIZE_RCPT, out, sizeof(out), &why);
	/* Small limits, so that short inputs reach them. */
	small.header_line_max = 40;
	small.header_field_max = 80;
	small.header_fields_max = 5;
	small.header_section_max = 200;
	small.body_line_max = 60;
	small.hops_max = 3;
	cut = size > 0 ? data[0] % (size + 1) : 0;
	sanitize_body_init(&b, &small);
	if (sanitize_body_feed(&b, data, cut) == 0 &&
	    sanitize_body_feed(&b, data + cut, size - cut) == 0)
		(void)sanitize_body_end(&b);
	fuzz_file(data, size);
	return 0;
}
