/* logtools_bench.c - the log tools on 10 million log lines, beside grep and awk */
/*
 * Generates, from a seed, a syslog file of smtpd lines in the templates
 * of docs/logging.md (rsyslog's traditional prefix, a tenth in RFC 3339
 * and a few in Solaris's; about 80% decision lines over some 200,000
 * clients and 60 rule lines, the rest connect and session events),
 * then times each tool on it, and, for reference, grep -c and an awk
 * one-liner over the same file. Target: every tool under 10 seconds.
 * Checks that the tools' counts equal what was generated; exits 1 only
 * if an answer is wrong. The tools are taken from scripts/ (run from
 * the top of the tree) and logscan from this program's build. Usage and
 * output: bench/README.md.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define USAGE "usage: logtools_bench [-k] [-s seed] [-n lines]\n"
#define TARGET_S	10.0
#define CLIENTS		200000
#define DOMAINS		50000
#define RULE_LINES	60

static uint64_t rng;

/* rnd - xorshift64* */
static uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

/* below - uniform in [0, n) */
static uint32_t
below(uint32_t n)
{
	return (uint32_t)((rnd() >> 32) % n);
}

/* skewed - a client index: a few clients send much of the traffic */
static uint32_t
skewed(uint32_t n)
{
	uint32_t r = below(1000);

	if (r < 300)
		return below(n / 100);
	if (r < 600)
		return below(n / 10);
	return below(n);
}

struct expect {
	unsigned long long lines, decisions, allowed, refused, deferred;
	unsigned long long line143, noto144;
};

static const char *months = "Nov";

/* client_ip - the text of client i */
static int
client_ip(char *buf, size_t size, uint32_t i)
{
	if (i % 50 == 7)
		return snprintf(buf, size, "2001:db8:%x::%x", (i >> 8) & 0xffff,
		    i & 0xff);
	return snprintf(buf, size, "%u.%u.%u.%u", 1 + (i * 2654435761U >> 24) %
	    223, (i >> 8) & 0xff, i & 0xff, 1 + (i * 40503U) % 254);
}

/* generate - write the log; fill in what the tools must find */
static void
generate(const char *path, unsigned long long nlines, struct expect *e)
{
	FILE *f;
	char ip[64], stamp[64], line[1024];
	unsigned long long i;
	uint32_t c, d, sec, pid = 1000, r, ln;
	const char *what, *att, *user;
	int n;

	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		exit(1);
	}
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	memset(e, 0, sizeof(*e));
	for (i = 0; i < nlines; i++) {
		sec = (uint32_t)(i * 86400ULL / nlines);
		r = below(100);
		if (r < 10)
			snprintf(stamp, sizeof(stamp), "2026-11-12T%02u:%02u:%02u."
			    "%06u+00:00 mx1", sec / 3600, sec / 60 % 60, sec % 60,
			    below(1000000));
		else
			snprintf(stamp, sizeof(stamp), "%s 12 %02u:%02u:%02u %s",
			    months, sec / 3600, sec / 60 % 60, sec % 60,
			    r < 13 ? "smtp9" : "mx1");
		c = skewed(CLIENTS);
		client_ip(ip, sizeof(ip), c);
		if (below(100) < 80)
			pid++;
		if (below(100) < 20) {
			if (below(2) == 0)
				n = snprintf(line, sizeof(line), "%s smtpd[%u]: "
				    "event=connect ip=%s name=UNKNOWN\n", stamp, pid,
				    ip);
			else
				n = snprintf(line, sizeof(line), "%s smtpd[%u]: "
				    "event=session ip=%s name=UNKNOWN helo=client."
				    "example messages=0 recipients=1 refused=1 "
				    "errors=0 commands=4 bytes=0 seconds=0.004 "
				    "end=quit\n", stamp, pid, ip);
			fwrite(line, 1, (size_t)n, f);
			e->lines++;
			continue;
		}
		d = skewed(DOMAINS);
		r = below(1000);
		att = "attempted ";
		if (r < 450) {
			what = "allowed";
			ln = 143;
			att = "";
			e->allowed++;
		} else if (r < 480) {
			what = "default";
			ln = 0;
			att = "";
			e->allowed++;
		} else if (r < 600) {
			what = "noto";
			ln = 144;
			e->refused++;
			e->noto144++;
		} else if (r < 610) {
			what = "noto with delay";
			ln = 150;
			e->refused++;
		} else if (r < 612) {
			what = "deferred";
			ln = 12;
			e->deferred++;
		} else {
			what = below(10) == 0 ? "denied with delay" : "denied";
			ln = 1 + below(RULE_LINES);
			e->refused++;
		}
		if (ln == 143)
			e->line143++;
		user = below(100) < 2 ? "joe" : "UNKNOWN";
		if (ln == 0)
			n = snprintf(line, sizeof(line), "%s smtpd[%u]: %ssmtp "
			    "connection from %s@UNKNOWN(%s) %sMAIL FROM: <user%u@"
			    "d%u.example.com> RCPT TO: <rcpt%u@hosted.example>, "
			    "default action, reached end of /etc/smtpd_check_rules"
			    "\n", stamp, pid, "", user, ip, att, below(1000), d,
			    below(5000));
		else if (strcmp(what, "deferred") == 0)
			n = snprintf(line, sizeof(line), "%s smtpd[%u]: smtp "
			    "connection from %s@UNKNOWN(%s) %sMAIL FROM: <user%u@"
			    "d%u.example.com> RCPT TO: <rcpt%u@hosted.example>, "
			    "deferred by line 12 of /etc/smtpd_check_rules "
			    "(timeout)\n", stamp, pid, user, ip, att, below(1000),
			    d, below(5000));
		else
			n = snprintf(line, sizeof(line), "%s smtpd[%u]: %ssmtp "
			    "connection from %s@host%u.example.net(%s) %sMAIL "
			    "FROM: <user%u@d%u.example.com> RCPT TO: <rcpt%u@"
			    "hosted.example>, %s by line %u of /etc/smtpd_check_"
			    "rules\n", stamp, pid, strstr(stamp, "smtp9") != NULL ?
			    "[ID 992256 mail.notice] " : "", user, c, ip, att,
			    below(1000), d, below(5000), what, ln);
		fwrite(line, 1, (size_t)n, f);
		e->lines++;
		e->decisions++;
	}
	if (fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* now_s - a monotonic clock in seconds */
static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* timed - run "sh -c cmd" with stdout to out; its wall time, or -1 */
static double
timed(const char *cmd, const char *out)
{
	double t0 = now_s();
	pid_t pid;
	int st, fd;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		if ((fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
		    dup2(fd, 1) == -1)
			_exit(111);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(111);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return now_s() - t0;
}

/* slurp - the first bytes of a file */
static char *
slurp(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	buf[0] = '\0';
	if (f != NULL) {
		n = fread(buf, 1, size - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

/* sum_second - the sum of the second column of "key count" lines */
static unsigned long long
sum_second(const char *path, unsigned long long *rows)
{
	FILE *f = fopen(path, "r");
	char line[512], *sp;
	unsigned long long s = 0;

	*rows = 0;
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if ((sp = strrchr(line, ' ')) != NULL) {
			s += strtoull(sp + 1, NULL, 10);
			(*rows)++;
		}
	fclose(f);
	return s;
}

/* expand - fmt with @F and @D replaced by file and dir */
static void
expand(char *out, size_t size, const char *fmt, const char *file,
    const char *dir)
{
	size_t n = 0, l;
	const char *v;

	while (*fmt != '\0' && n + 1 < size) {
		if (fmt[0] == '@' && (fmt[1] == 'F' || fmt[1] == 'D')) {
			v = fmt[1] == 'F' ? file : dir;
			l = strlen(v);
			if (n + l >= size)
				break;
			memcpy(out + n, v, l);
			n += l;
			fmt += 2;
			continue;
		}
		out[n++] = *fmt++;
	}
	out[n] = '\0';
}

struct run {
	const char *name;
	const char *fmt;	/* @F the log file, @D the scratch directory */
	int is_reference;
};

int
main(int argc, char **argv)
{
	static const struct run runs[] = {
		{ "grep -c", "grep -c 'smtp connection from' @F", 1 },
		{ "awk one-liner", "awk '/ by line / { c[$(NF-2)]++ } END { "
		    "for (k in c) print k, c[k] }' @F", 1 },
		{ "maildenied", "maildenied @F", 0 },
		{ "maildenied -s -e", "maildenied -N 2026-11-20 -s 'Nov 12 "
		    "06:00' -e 'Nov 12 18:00' @F", 0 },
		{ "maildenied -f", "maildenied -f @D/rules @F", 0 },
		{ "grepruleip 143", "grepruleip 143 @F", 0 },
		{ "grepruledomain 143", "grepruledomain 143 @F", 0 },
		{ "grepruleip -k noto 144", "grepruleip -k noto 144 @F", 0 },
		{ "mailblock-update", "mailblock-update -c @D/mailblock.conf "
		    "@F", 0 },
	};
	struct expect e;
	char dir[PATH_MAX], file[PATH_MAX + 16], out[PATH_MAX + 64];
	char cmd[PATH_MAX * 3], bin[PATH_MAX + 16], self[PATH_MAX], text[4096];
	char path[PATH_MAX * 2 + 64];
	unsigned long long nlines = 10000000, seed = 1, rows, sum;
	const char *tmp = getenv("TMPDIR");
	double t, tg;
	int ch, keep = 0, bad = 0, slow = 0;
	size_t i;
	FILE *f;
	char *p;

	while ((ch = getopt(argc, argv, "kn:s:")) != -1) {
		switch (ch) {
		case 'k': keep = 1; break;
		case 'n': nlines = strtoull(optarg, NULL, 10); break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		default: fputs(USAGE, stderr); return 1;
		}
	}
	if (nlines == 0) {
		fputs(USAGE, stderr);
		return 1;
	}
	rng = 0x9E3779B97F4A7C15ULL ^ (seed * 0xBF58476D1CE4E5B9ULL);
	if (rng == 0)
		rng = 1;
	/* the build's bin/ beside bench/, and scripts/ of the tree */
	if (realpath(argv[0], self) == NULL) {
		perror(argv[0]);
		return 1;
	}
	if ((p = strrchr(self, '/')) != NULL)
		*p = '\0';
	snprintf(bin, sizeof(bin), "%s/../bin", self);
	if (access("scripts/maildenied", X_OK) != 0) {
		fprintf(stderr, "logtools_bench: run me from the top of the "
		    "tree (scripts/maildenied)\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/scripts:%s:%s", getcwd(text,
	    sizeof(text)), bin, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", path, 1);
	snprintf(path, sizeof(path), "%s/logscan", bin);
	setenv("LOGSCAN", path, 1);
	setenv("LC_ALL", "C", 1);
	setenv("TZ", "UTC", 1);
	snprintf(dir, sizeof(dir), "%s/logtools_bench.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(file, sizeof(file), "%s/mail.log", dir);
	/* a rules file with comments for the effectiveness view */
	snprintf(out, sizeof(out), "%s/rules", dir);
	if ((f = fopen(out, "w")) == NULL) {
		perror(out);
		return 1;
	}
	for (i = 1; i <= 160; i++)
		fprintf(f, "deny:ALL:*@d%zu.example.com:ALL:550 no: # rule %zu\n",
		    i, i);
	fclose(f);
	snprintf(out, sizeof(out), "%s/mailblock.conf", dir);
	if ((f = fopen(out, "w")) == NULL) {
		perror(out);
		return 1;
	}
	fprintf(f, "state %s/state\nspool %s/spool\ndatabase %s/norelayfromip\n"
	    "log none\nthreshold noto:144 100 unknown users\n"
	    "threshold deny:7 50 deny line 7\nprotect 127.0.0.0/8 ::1\n"
	    "logscan %s/logscan\ngkdb_build %s/gkdb-build\n", dir, dir, dir,
	    bin, bin);
	fclose(f);

	tg = now_s();
	generate(file, nlines, &e);
	tg = now_s() - tg;
	{
		struct stat st;

		stat(file, &st);
		printf("logtools_bench: seed %llu, %llu lines (%llu decisions), "
		    "%.0f MB, generated in %.1f s\n", seed, e.lines, e.decisions,
		    (double)st.st_size / 1e6, tg);
	}
	/* one read to put the file in the page cache, as the tools find a
	   busy log */
	snprintf(cmd, sizeof(cmd), "cat %s", file);
	timed(cmd, "/dev/null");

	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		expand(cmd, sizeof(cmd), runs[i].fmt, file, dir);
		snprintf(out, sizeof(out), "%s/out.%zu", dir, i);
		t = timed(cmd, out);
		if (t < 0) {
			printf("  %-24s FAILED: %s\n", runs[i].name, cmd);
			bad = 1;
			continue;
		}
		if (!runs[i].is_reference && t >= TARGET_S)
			slow = 1;
		printf("  %-24s %6.2f s  %5.1f M lines/s%s\n", runs[i].name, t,
		    (double)e.lines / t / 1e6, runs[i].is_reference ? "  (reference)" :
		    t < TARGET_S ? "  target < 10 s: PASS" :
		    "  target < 10 s: FAIL");
		/* the answers */
		slurp(out, text, sizeof(text));
		if (i == 0 && strtoull(text, NULL, 10) != e.decisions) {
			printf("    wrong: grep counted %s", text);
			bad = 1;
		}
		if (i == 2) {
			char want[128];

			snprintf(want, sizeof(want), "%llu allowed; %llu denied; "
			    "%llu total;", e.allowed, e.refused,
			    e.allowed + e.refused);
			if (strstr(text, want) == NULL) {
				printf("    wrong: want \"%s\" in:\n%.300s\n", want,
				    text);
				bad = 1;
			}
		}
		if (i == 5 && (sum = sum_second(out, &rows)) != e.line143) {
			printf("    wrong: grepruleip 143 summed %llu, want %llu\n",
			    sum, e.line143);
			bad = 1;
		}
		if (i == 5)
			printf("    %llu clients\n", rows);
		if (i == 6 && (sum = sum_second(out, &rows)) != e.line143) {
			printf("    wrong: grepruledomain 143 summed %llu, want "
			    "%llu\n", sum, e.line143);
			bad = 1;
		}
		if (i == 7 && (sum = sum_second(out, &rows)) != e.noto144) {
			printf("    wrong: noto 144 summed %llu, want %llu\n", sum,
			    e.noto144);
			bad = 1;
		}
		if (i == 8) {
			snprintf(out, sizeof(out), "%s/state/entries", dir);
			f = fopen(out, "r");
			rows = 0;
			if (f != NULL) {
				while (fgets(text, sizeof(text), f) != NULL)
					rows++;
				fclose(f);
			}
			printf("    %llu addresses listed\n", rows);
		}
	}
	printf("  all tools under %.0f s: %s\n", TARGET_S, slow ? "FAIL" : "PASS");
	if (keep)
		printf("  kept %s\n", dir);
	else {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		timed(cmd, "/dev/null");
	}
	return bad;
}
