/* logscan.c - fast scanner of smtpd decision logs for the operator tools */
/*
 * main() only: options, inputs (files or standard input, plain or gzip,
 * decompressed by a gzip child), the line loop and the reports. The
 * log tools in scripts/ (maildenied, grepruleip, grepruledomain,
 * mailblock-update, mailblock) call it for the work that must be fast
 * on tens of millions of lines, and format what it prints.
 * docs/logscan.8 describes the reports. Exit 0, 100 for usage and bad
 * input, 111 for system errors.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/net_addr.h"
#include "logparse.h"
#include "tally.h"

#define USAGE \
"usage: logscan [-s start] [-e end] [-N now] [-k kinds] [-l line] [-o offset]\n" \
"               summary|ips|domains|clients [file ...]\n" \
"       logscan [-x prefixes] addr\n"

#define EXIT_TEMP	111
#define EXIT_PERM	100
#define BUF_SIZE	(1024 * 1024)	/* read size; also the longest line */
#define FILES_MAX	64		/* rules files told apart in summary */
#define STAMP_MAX	40
#define GZIP		"gzip"
#define PREFIXES_MAX	100000

enum report {
	REPORT_SUMMARY,
	REPORT_IPS,
	REPORT_DOMAINS,
	REPORT_CLIENTS,
	REPORT_ADDR
};

struct opts {
	enum report report;
	struct logfilter filter;
	int has_start, has_end, has_offset;
	int64_t start, end;
	long long offset;
	const char *prefixes;
	struct logclock clock;
};

struct hit_key {
	uint32_t kind;
	uint32_t file;
	uint64_t line;
};

struct scan {
	const struct opts *o;
	struct logclock *clock;
	unsigned long long lines;
	unsigned long long decisions;	/* in the window and the filter */
	unsigned long long untimed;	/* left out: no readable time stamp */
	unsigned long long noaddr;	/* left out: no client address */
	struct tally *t;
	char files[FILES_MAX][256];
	size_t file_lens[FILES_MAX];
	unsigned int nfiles;
	unsigned int last_file;
	char first[STAMP_MAX + 1];
	char last[STAMP_MAX + 1];
	int has_first;
};

static const char *progname = "logscan";

/* die - message with strerror(errno), exit 111 */
static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(e));
	exit(EXIT_TEMP);
}

/* diex - message, exit with status */
static void __attribute__((noreturn, format(printf, 2, 3)))
diex(int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

/* die_usage - usage, exit 100 */
static void __attribute__((noreturn))
die_usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "%s: %s\n", progname, why);
	fputs(USAGE, stderr);
	exit(EXIT_PERM);
}

/* file_id - the index of a rules file name, adding it if new */
static unsigned int
file_id(struct scan *s, const char *f, size_t len)
{
	unsigned int i;

	if (len >= sizeof(s->files[0]))
		len = sizeof(s->files[0]) - 1;
	if (s->nfiles > 0 && s->file_lens[s->last_file] == len &&
	    memcmp(s->files[s->last_file], f, len) == 0)
		return s->last_file;
	for (i = 0; i < s->nfiles; i++)
		if (s->file_lens[i] == len && memcmp(s->files[i], f, len) == 0)
			return s->last_file = i;
	if (s->nfiles == FILES_MAX)
		return s->last_file = FILES_MAX - 1;	/* the rest share one */
	memcpy(s->files[s->nfiles], f, len);
	s->files[s->nfiles][len] = '\0';
	s->file_lens[s->nfiles] = len;
	return s->last_file = s->nfiles++;
}

/* keep_stamp - copy a stamp's text, or "-" */
static void
keep_stamp(char *dst, const struct logdecision *d)
{
	size_t n = d->stamp_len > STAMP_MAX ? STAMP_MAX : d->stamp_len;

	if (d->stamp == NULL) {
		memcpy(dst, "-", 2);
		return;
	}
	memcpy(dst, d->stamp, n);
	dst[n] = '\0';
}

/* add - count a key, dying when out of memory */
static void
add(struct scan *s, const char *key, size_t len, int64_t when)
{
	if (tally_add(s->t, key, len, when) != 0) {
		errno = ENOMEM;
		die("counting");
	}
}

/* one_line - look at one log line */
static void
one_line(struct scan *s, const char *line, size_t len)
{
	const struct opts *o = s->o;
	struct logdecision d;
	struct net_addr a;
	struct hit_key hk;
	char text[NET_ADDR_TEXT], key[NET_ADDR_TEXT + 48], dom[256];
	const char *p;
	size_t n, i;
	int64_t when = 0;
	int w;

	s->lines++;
	if (!logparse_decision(line, len, &d))
		return;
	if (!logfilter_match(&o->filter, d.kind, d.line))
		return;
	if (o->has_start || o->has_end || o->report == REPORT_CLIENTS) {
		if (d.stamp == NULL ||
		    logclock_stamp(s->clock, d.stamp,
		    d.stamp_len, &when) != 0) {
			when = 0;
			if (o->has_start || o->has_end) {
				s->untimed++;
				return;
			}
		}
		if ((o->has_start && when < o->start) ||
		    (o->has_end && when >= o->end))
			return;
	}
	s->decisions++;
	switch (o->report) {
	case REPORT_SUMMARY:
		memset(&hk, 0, sizeof(hk));
		hk.kind = d.kind;
		hk.line = d.line;
		hk.file = file_id(s, d.file, d.file_len);
		add(s, (const char *)&hk, sizeof(hk), 0);
		if (!s->has_first) {
			keep_stamp(s->first, &d);
			s->has_first = 1;
		}
		keep_stamp(s->last, &d);
		break;
	case REPORT_IPS:
		if (logparse_client(&d, &a) != 0) {
			s->noaddr++;
			return;
		}
		net_addr_format(&a, text);
		add(s, text, strlen(text), 0);
		break;
	case REPORT_DOMAINS:
		if (logparse_sender_domain(&d, &p, &n) != 0) {
			s->noaddr++;
			return;
		}
		if (n >= sizeof(dom))
			n = sizeof(dom) - 1;
		for (i = 0; i < n; i++)
			dom[i] = (char)tolower((unsigned char)p[i]);
		add(s, dom, n, 0);
		break;
	case REPORT_CLIENTS:
		if (logparse_client(&d, &a) != 0) {
			s->noaddr++;
			return;
		}
		w = snprintf(key, sizeof(key), "%s %s %lu",
		    net_addr_format(&a, text), logkind_name(d.kind), d.line);
		if (w < 0 || (size_t)w >= sizeof(key))
			return;
		add(s, key, (size_t)w, when);
		break;
	case REPORT_ADDR:
		break;
	}
}

/* spawn_gzip - a "gzip -dc" child reading in (after prefix bytes) */
static int
spawn_gzip(int in, const char *prefix, size_t plen, pid_t *pids)
{
	int to[2] = { -1, -1 }, from[2];
	ssize_t w;
	char buf[65536];

	if (pipe(from) != 0)
		die("pipe");
	if (plen > 0 && pipe(to) != 0)
		die("pipe");
	if (plen > 0) {
		/* a feeder: the bytes already read, then the rest of in */
		if ((pids[1] = fork()) == -1)
			die("fork");
		if (pids[1] == 0) {
			close(from[0]);
			close(from[1]);
			close(to[0]);
			signal(SIGPIPE, SIG_DFL);
			while (plen > 0) {
				if ((w = write(to[1], prefix, plen)) <= 0)
					_exit(w < 0 && errno == EPIPE ? 0 : 1);
				prefix += w;
				plen -= (size_t)w;
			}
			for (;;) {
				ssize_t r = read(in, buf, sizeof(buf));
				char *q = buf;

				if (r == 0)
					_exit(0);
				if (r < 0) {
					if (errno == EINTR)
						continue;
					_exit(1);
				}
				while (r > 0) {
					if ((w = write(to[1], q, (size_t)r)) <= 0)
						_exit(1);
					q += w;
					r -= w;
				}
			}
		}
		close(to[1]);
		in = to[0];
	}
	if ((pids[0] = fork()) == -1)
		die("fork");
	if (pids[0] == 0) {
		if (dup2(in, 0) == -1 || dup2(from[1], 1) == -1)
			_exit(EXIT_TEMP);
		close(from[0]);
		close(from[1]);
		signal(SIGPIPE, SIG_DFL);
		execlp(GZIP, GZIP, "-dc", (char *)NULL);
		fprintf(stderr, "%s: cannot run %s: %s\n", progname, GZIP,
		    strerror(errno));
		_exit(EXIT_TEMP);
	}
	close(from[1]);
	if (plen > 0)
		close(to[0]);
	return from[0];
}

/* reap - wait for the decompressor; 0 if it succeeded */
static int
reap(pid_t *pids)
{
	int st, bad = 0, i;

	for (i = 0; i < 2; i++) {
		if (pids[i] <= 0)
			continue;
		while (waitpid(pids[i], &st, 0) == -1)
			if (errno != EINTR)
				die("waitpid");
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad = 1;
		pids[i] = 0;
	}
	return bad ? -1 : 0;
}

/* read_some - read into buf; returns bytes, 0 at the end */
static size_t
read_some(int fd, char *buf, size_t size, const char *name)
{
	ssize_t r;

	for (;;) {
		r = read(fd, buf, size);
		if (r >= 0)
			return (size_t)r;
		if (errno != EINTR)
			die("read %s", name);
	}
}

/* read_fd - every line of one input; returns the offset after the last
   complete line (relative to where reading began) */
static unsigned long long
read_fd(struct scan *s, int fd, const char *name, char *buf, int keep_partial)
{
	pid_t pids[2] = { 0, 0 };
	size_t have = 0, got, pos, n;
	unsigned long long done = 0;
	const char *nl;
	int gz = 0, skipping = 0;
	struct stat st;

	/* the first block decides: gzip or plain */
	got = read_some(fd, buf, BUF_SIZE, name);
	if (got >= 2 && (unsigned char)buf[0] == 0x1f &&
	    (unsigned char)buf[1] == 0x8b) {
		if (s->o->has_offset)
			diex(EXIT_PERM, "%s: -o needs a plain file, not gzip",
			    name);
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    lseek(fd, 0, SEEK_SET) == 0)
			fd = spawn_gzip(fd, NULL, 0, pids);
		else
			fd = spawn_gzip(fd, buf, got, pids);
		gz = 1;
		got = read_some(fd, buf, BUF_SIZE, name);
	}
	have = got;
	while (have > 0) {
		pos = 0;
		while (pos < have &&
		    (nl = memchr(buf + pos, '\n', have - pos)) != NULL) {
			n = (size_t)(nl - (buf + pos));
			if (!skipping)
				one_line(s, buf + pos, n);
			skipping = 0;
			pos += n + 1;
		}
		done += pos;
		if (pos == 0 && have == BUF_SIZE) {
			/* a line longer than the buffer: its head counts once,
			   the rest up to the newline is skipped */
			if (!skipping)
				one_line(s, buf, have);
			skipping = 1;
			done += have;
			pos = have;
		}
		memmove(buf, buf + pos, have - pos);
		have -= pos;
		got = read_some(fd, buf + have, BUF_SIZE - have, name);
		if (got == 0) {
			if (have > 0 && !keep_partial && !skipping)
				one_line(s, buf, have);
			break;
		}
		have += got;
	}
	if (gz) {
		close(fd);
		if (reap(pids) != 0)
			diex(EXIT_TEMP, "%s: gzip -dc failed", name);
	}
	return done;
}

/* read_input - one named input ("-" is standard input) */
static void
read_input(struct scan *s, const char *name, char *buf)
{
	int fd;
	unsigned long long done;
	struct stat st;

	if (strcmp(name, "-") == 0)
		fd = 0;
	else if ((fd = open(name, O_RDONLY | O_CLOEXEC)) == -1)
		die("open %s", name);
	if (s->o->has_offset && s->o->offset > 0 &&
	    lseek(fd, (off_t)s->o->offset, SEEK_SET) == -1)
		die("seek %s", name);
	done = read_fd(s, fd, name, buf, s->o->has_offset);
	if (s->o->has_offset) {
		if (fstat(fd, &st) != 0)
			die("stat %s", name);
		printf("inode %llu\noffset %llu\n",
		    (unsigned long long)st.st_ino,
		    (unsigned long long)s->o->offset + done);
	}
	if (fd != 0)
		close(fd);
}

/* hit_cmp - kind, then line, then file */
static int
hit_cmp(const void *pa, const void *pb)
{
	struct hit_key a, b;

	memcpy(&a, (*(struct tally_entry *const *)pa)->key, sizeof(a));
	memcpy(&b, (*(struct tally_entry *const *)pb)->key, sizeof(b));
	if (a.kind != b.kind)
		return a.kind < b.kind ? -1 : 1;
	if (a.line != b.line)
		return a.line < b.line ? -1 : 1;
	return (a.file > b.file) - (a.file < b.file);
}

/* print_summary - the summary report */
static void
print_summary(const struct scan *s)
{
	struct tally_entry **v;
	struct hit_key hk;
	size_t n, i;
	unsigned int f;

	printf("lines %llu\ndecisions %llu\n", s->lines, s->decisions);
	printf("first %s\nlast %s\n", s->has_first ? s->first : "-",
	    s->has_first ? s->last : "-");
	printf("untimed %llu\n", s->untimed);
	for (f = 0; f < s->nfiles; f++)
		printf("file %u %s\n", f + 1, s->files[f]);
	v = tally_sorted(s->t, 1, &n);
	if (v == NULL && n == 0 && tally_count(s->t) > 0) {
		errno = ENOMEM;
		die("sorting");
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), hit_cmp);
	for (i = 0; i < n; i++) {
		memcpy(&hk, v[i]->key, sizeof(hk));
		printf("hit %s %llu %u %llu\n", logkind_name(hk.kind),
		    (unsigned long long)hk.line, hk.file + 1,
		    (unsigned long long)v[i]->count);
	}
	free(v);
}

/* print_counts - "key count" lines, most first */
static void
print_counts(const struct scan *s)
{
	struct tally_entry **v;
	size_t n, i;

	v = tally_sorted(s->t, 0, &n);
	if (v == NULL && tally_count(s->t) > 0) {
		errno = ENOMEM;
		die("sorting");
	}
	for (i = 0; i < n; i++)
		printf("%s %llu\n", v[i]->key, (unsigned long long)v[i]->count);
	free(v);
}

/* print_clients - "client IP KIND LINE COUNT FIRST LAST" lines */
static void
print_clients(const struct scan *s)
{
	struct tally_entry **v;
	size_t n, i;

	v = tally_sorted(s->t, 1, &n);
	if (v == NULL && tally_count(s->t) > 0) {
		errno = ENOMEM;
		die("sorting");
	}
	for (i = 0; i < n; i++)
		printf("client %s %llu %lld %lld\n", v[i]->key,
		    (unsigned long long)v[i]->count, (long long)v[i]->first,
		    (long long)v[i]->last);
	free(v);
}

struct prefix_item {
	struct net_prefix p;
	char text[64];
};

/* load_prefixes - read "addr[/len] [anything]" lines; exits on a bad one */
static struct prefix_item *
load_prefixes(const char *path, size_t *count)
{
	FILE *f;
	char line[1024], *w, *end;
	struct prefix_item *v = NULL, *nv;
	size_t n = 0, cap = 0, len;
	unsigned long lineno = 0;

	if ((f = fopen(path, "r")) == NULL)
		die("open %s", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f))
			diex(EXIT_PERM, "%s:%lu: line too long", path, lineno);
		w = line;
		while (*w == ' ' || *w == '\t')
			w++;
		if (*w == '#' || *w == '\n' || *w == '\0' || *w == '\r')
			continue;
		end = w;
		while (*end != '\0' && !isspace((unsigned char)*end) &&
		    *end != '#')
			end++;
		len = (size_t)(end - w);
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if (cap > PREFIXES_MAX)
				diex(EXIT_PERM, "%s: more than %d entries",
				    path, PREFIXES_MAX);
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL)
				die("reading %s", path);
			v = nv;
		}
		if (len >= sizeof(v[n].text) ||
		    net_prefix_parse(w, len, &v[n].p, 1) != 0)
			diex(EXIT_PERM, "%s:%lu: not an address or prefix: "
			    "%.*s", path, lineno, (int)(len > 60 ? 60 : len), w);
		memcpy(v[n].text, w, len);
		v[n].text[len] = '\0';
		n++;
	}
	if (ferror(f))
		die("read %s", path);
	fclose(f);
	*count = n;
	return v;
}

/* report_addr - canonical form of each address on stdin, and its match */
static void
report_addr(const char *prefixes)
{
	struct prefix_item *v = NULL;
	size_t n = 0, i, len;
	char line[1024], text[NET_ADDR_TEXT], *w, *end;
	struct net_addr a;
	const char *match;

	if (prefixes != NULL)
		v = load_prefixes(prefixes, &n);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		w = line;
		while (*w == ' ' || *w == '\t')
			w++;
		end = w;
		while (*end != '\0' && !isspace((unsigned char)*end))
			end++;
		len = (size_t)(end - w);
		if (len == 0)
			continue;
		if (net_addr_parse(w, len, &a) != 0) {
			printf("! %.*s\n", (int)(len > 100 ? 100 : len), w);
			continue;
		}
		match = "-";
		for (i = 0; i < n; i++)
			if (net_prefix_contains(&v[i].p, &a)) {
				match = v[i].text;
				break;
			}
		printf("%s %s\n", net_addr_format(&a, text), match);
	}
	free(v);
}

/* parse_time - a -s/-e/-N argument */
static int64_t
parse_time(struct logclock *c, const char *spec, const char *what)
{
	int64_t t;

	if (logclock_parse_spec(c, spec, &t) != 0)
		diex(EXIT_PERM, "%s: cannot read the time \"%s\" (YYYY-MM-DD "
		    "[HH:MM[:SS]], HH:MM, \"Mmm dd HH:MM\", -N[smhd], @EPOCH)",
		    what, spec);
	return t;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct scan s;
	char err[256], *buf, *end;
	const char *start = NULL, *stop = NULL, *kinds = NULL, *line = NULL;
	char spec[64];
	int ch, i;
	int64_t now;

	memset(&o, 0, sizeof(o));
	logclock_init(&o.clock, time(NULL));
	while ((ch = getopt(argc, argv, "+e:k:l:N:o:s:x:")) != -1) {
		switch (ch) {
		case 'e': stop = optarg; break;
		case 'k': kinds = optarg; break;
		case 'l': line = optarg; break;
		case 'N':
			now = parse_time(&o.clock, optarg, "-N");
			logclock_init(&o.clock, (time_t)now);
			break;
		case 'o':
			errno = 0;
			o.offset = strtoll(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    o.offset < 0)
				die_usage("-o wants a byte offset");
			o.has_offset = 1;
			break;
		case 's': start = optarg; break;
		case 'x': o.prefixes = optarg; break;
		default: die_usage(NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		die_usage(NULL);
	if (strcmp(argv[0], "summary") == 0)
		o.report = REPORT_SUMMARY;
	else if (strcmp(argv[0], "ips") == 0)
		o.report = REPORT_IPS;
	else if (strcmp(argv[0], "domains") == 0)
		o.report = REPORT_DOMAINS;
	else if (strcmp(argv[0], "clients") == 0)
		o.report = REPORT_CLIENTS;
	else if (strcmp(argv[0], "addr") == 0)
		o.report = REPORT_ADDR;
	else
		die_usage("unknown report");
	argc--;
	argv++;
	/* -N applies to -s/-e whatever their order */
	if (start != NULL) {
		o.start = parse_time(&o.clock, start, "-s");
		o.has_start = 1;
	}
	if (stop != NULL) {
		o.end = parse_time(&o.clock, stop, "-e");
		o.has_end = 1;
	}
	if (kinds != NULL &&
	    logfilter_parse(kinds, &o.filter, err, sizeof(err)) != 0)
		diex(EXIT_PERM, "-k: %s", err);
	if (line != NULL) {
		struct logfilter lf;
		unsigned int t;

		if (snprintf(spec, sizeof(spec), "any:%s", line) >=
		    (int)sizeof(spec) ||
		    logfilter_parse(spec, &lf, err, sizeof(err)) != 0)
			die_usage("-l wants a rule line number");
		if (o.filter.nterms == 0)
			o.filter = lf;
		for (t = 0; t < o.filter.nterms; t++)
			if (o.filter.term[t].line == 0)
				o.filter.term[t].line = lf.term[0].line;
	}
	if (o.report == REPORT_ADDR) {
		if (argc > 0)
			die_usage("addr reads standard input");
		report_addr(o.prefixes);
		goto out;
	}
	if (o.has_offset && argc != 1)
		die_usage("-o needs exactly one file");
	memset(&s, 0, sizeof(s));
	s.o = &o;
	s.clock = &o.clock;
	if ((s.t = tally_new()) == NULL || (buf = malloc(BUF_SIZE)) == NULL)
		die("starting");
	if (argc == 0)
		read_input(&s, "-", buf);
	for (i = 0; i < argc; i++)
		read_input(&s, argv[i], buf);
	switch (o.report) {
	case REPORT_SUMMARY: print_summary(&s); break;
	case REPORT_IPS:
	case REPORT_DOMAINS: print_counts(&s); break;
	case REPORT_CLIENTS: print_clients(&s); break;
	case REPORT_ADDR: break;
	}
	if (s.untimed > 0)
		fprintf(stderr, "%s: %llu decision line%s without a readable "
		    "time stamp left out of the time window\n", progname,
		    s.untimed, s.untimed == 1 ? "" : "s");
	free(buf);
	tally_free(s.t);
out:
	if (fflush(stdout) != 0 || ferror(stdout))
		die("write");
	return 0;
}
