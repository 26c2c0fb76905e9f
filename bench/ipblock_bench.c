/* ipblock_bench.c - IPBLOCK against its references on a CBL-sized list */
/*
 * Generates a seeded CBL-style list of 1.3 million IPv4 entries (mostly
 * single addresses, some prefixes and short ranges) as text, then in one
 * run measures: our build (gkdb_build, text to installed file), file
 * size, open time and lookups per second through the engine's
 * lookup_ipblock_ops; and the references: a plain sorted array of the
 * 32-bit addresses (binary search), tinycdb keyed by address text with
 * the engine's prefix walk, a Berkeley DB hash with the same keys and
 * walk, and the resident memory of rbldnsd serving the list as an
 * ip4set zone on 127.0.0.74. Also bytes per entry of 100,000 IPv6
 * prefixes. Prints the figures, their ratios and the targets. Exits 1
 * only if an answer is wrong (every lookup is checked against an
 * interval list of the generated entries). bench/README.md.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../dbs/gkdb.h"
#include "../rules/iptree.h"
#include "../rules/lookup.h"
#include "../rules/rule_int.h"

#define USAGE "usage: ipblock_bench [-k] [-s seed] [-n entries] [-q queries]\n"
#define RBLDNSD		"/usr/sbin/rbldnsd"
#define RBL_ADDR	"127.0.0.74"
#define RBL_PORT	5374

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

/* now - seconds, monotonic */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* file_size - bytes, or 0 */
static size_t
file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (size_t)sb.st_size : 0;
}

/* die - print and exit 111 */
static void __attribute__((noreturn))
die(const char *what)
{
	fprintf(stderr, "ipblock_bench: %s: %s\n", what, strerror(errno));
	exit(111);
}

struct range {
	uint32_t first, last;
};

/* range_cmp - by first address */
static int
range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/* u32_cmp - ascending */
static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* public_addr - a random address in 1.0.0.0-223.255.255.255 */
static uint32_t
public_addr(void)
{
	uint32_t a;

	do
		a = (uint32_t)rnd();
	while ((a >> 24) == 0 || (a >> 24) >= 224 || (a >> 24) == 127 ||
	    (a >> 24) == 10);
	return a;
}

/* fmt4 - dotted quad */
static char *
fmt4(uint32_t a, char *buf, size_t size)
{
	snprintf(buf, size, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255,
	    (a >> 8) & 255, a & 255);
	return buf;
}

/* generate - the entries, and the list as text (the CBL's raw file) */
static struct range *
generate(size_t n, const char *path)
{
	struct range *e = malloc(n * sizeof(*e));
	FILE *f = fopen(path, "w");
	char a[16], b[16];
	size_t i;

	if (e == NULL || f == NULL)
		die(path);
	fprintf(f, "# synthetic CBL-style list\n");
	for (i = 0; i < n; i++) {
		uint64_t kind = rnd() % 1000;
		uint32_t x = public_addr();

		if (kind < 970) {		/* 97.0% single addresses */
			e[i].first = e[i].last = x;
			fprintf(f, "%s\n", fmt4(x, a, sizeof(a)));
		} else if (kind < 990) {	/* 2.0% prefixes /20../30 */
			unsigned int plen = rnd() % 2 ? 24 :
			    20 + (unsigned int)(rnd() % 11);
			uint32_t mask = ~(uint32_t)0 << (32 - plen);

			e[i].first = x & mask;
			e[i].last = e[i].first | ~mask;
			fprintf(f, "%s/%u\n", fmt4(e[i].first, a, sizeof(a)),
			    plen);
		} else {			/* 1.0% ranges of 2..16 */
			uint32_t len = 1 + (uint32_t)(rnd() % 15);

			if (x > UINT32_MAX - len)
				x -= len;
			e[i].first = x;
			e[i].last = x + len;
			fprintf(f, "%s-%s\n", fmt4(x, a, sizeof(a)),
			    fmt4(x + len, b, sizeof(b)));
		}
	}
	if (fclose(f) == EOF)
		die(path);
	return e;
}

/* key_source - the same list as "key" lines for CDB/HASH: single
   addresses, /24 keys ("a.b.c") for /24 and wider, addresses for the
   rest, as an admin would feed cdb -m for the engine's prefix walk */
static void
key_source(const struct range *e, size_t n, const char *path)
{
	FILE *f = fopen(path, "w");
	char a[16];
	size_t i;
	uint32_t x;

	if (f == NULL)
		die(path);
	for (i = 0; i < n; i++) {
		if (e[i].last - e[i].first >= 255 && (e[i].first & 255) == 0) {
			for (x = e[i].first; ; x += 256) {
				fprintf(f, "%u.%u.%u 127.0.0.2\n", x >> 24,
				    (x >> 16) & 255, (x >> 8) & 255);
				if (x + 255 >= e[i].last)
					break;
			}
			continue;
		}
		for (x = e[i].first; ; x++) {
			fprintf(f, "%s 127.0.0.2\n", fmt4(x, a, sizeof(a)));
			if (x == e[i].last)
				break;
		}
	}
	if (fclose(f) == EOF)
		die(path);
}

/* merged - the union of the entries as sorted disjoint ranges */
static struct range *
merged(const struct range *e, size_t n, size_t *nm)
{
	struct range *m = malloc(n * sizeof(*m));
	size_t i, k = 0;

	if (m == NULL)
		die("malloc");
	memcpy(m, e, n * sizeof(*m));
	qsort(m, n, sizeof(*m), range_cmp);
	for (i = 0; i < n; i++) {
		if (k > 0 && (uint64_t)m[k - 1].last + 1 >= m[i].first) {
			if (m[i].last > m[k - 1].last)
				m[k - 1].last = m[i].last;
		} else
			m[k++] = m[i];
	}
	*nm = k;
	return m;
}

/* listed - the truth, from the merged ranges */
static int
listed(const struct range *m, size_t nm, uint32_t a)
{
	size_t lo = 0, hi = nm;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m[mid].first <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && m[lo - 1].last >= a;
}

/* sorted_find - the plain sorted array reference: exact match */
static int
sorted_find(const uint32_t *s, size_t n, uint32_t a)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s[mid] < a)
			lo = mid + 1;
		else if (s[mid] > a)
			hi = mid;
		else
			return 1;
	}
	return 0;
}

struct walk {
	const struct lookup_ops *ops;
	void *h;
	enum lookup_result r;
};

/* walk_try - the engine's key_try for the prefix walk */
static int
walk_try(void *arg, const char *key, size_t len)
{
	struct walk *w = arg;
	char value[RULE_VALUE_MAX], err[LOOKUP_ERR_MAX];

	w->r = w->ops->find(w->h, key, len, value, sizeof(value), err,
	    sizeof(err));
	return w->r != LK_NOTFOUND;
}

/* table_rate - lookups/s of a string table with the engine's walk; the
   number of wrong answers in *wrong */
static double
table_rate(const struct lookup_ops *ops, const char *path, const uint32_t *q,
    size_t nq, const struct range *m, size_t nm, size_t *wrong)
{
	struct walk w;
	struct net_addr a;
	char err[LOOKUP_ERR_MAX];
	double t0, t;
	size_t i;

	w.ops = ops;
	if ((w.h = ops->open(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "ipblock_bench: %s\n", err);
		exit(111);
	}
	*wrong = 0;
	memset(&a, 0, sizeof(a));
	a.family = NET_V4;
	t0 = now();
	for (i = 0; i < nq; i++) {
		a.bytes[0] = (uint8_t)(q[i] >> 24);
		a.bytes[1] = (uint8_t)(q[i] >> 16);
		a.bytes[2] = (uint8_t)(q[i] >> 8);
		a.bytes[3] = (uint8_t)q[i];
		w.r = LK_NOTFOUND;
		rule_keys_client(&a, NULL, walk_try, &w);
		if ((w.r == LK_FOUND) != listed(m, nm, q[i]))
			(*wrong)++;
	}
	t = now() - t0;
	ops->close(w.h);
	return (double)nq / t;
}

/* rbl_ask - one A query for name to RBL_ADDR:RBL_PORT; 1 if answered */
static int
rbl_ask(const char *name, int ms)
{
	unsigned char pkt[512], ans[512];
	struct sockaddr_in sa;
	struct pollfd pfd;
	size_t n = 12, l;
	const char *p = name, *dot;
	int fd, ok = 0;

	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x12;
	pkt[1] = 0x34;
	pkt[2] = 0x01;		/* RD */
	pkt[5] = 1;		/* QDCOUNT */
	while (*p != '\0') {
		dot = strchr(p, '.');
		l = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (l == 0 || l > 63 || n + l + 6 > sizeof(pkt))
			return 0;
		pkt[n++] = (unsigned char)l;
		memcpy(pkt + n, p, l);
		n += l;
		p += l;
		if (*p == '.')
			p++;
	}
	pkt[n++] = 0;
	pkt[n++] = 0;
	pkt[n++] = 1;		/* A */
	pkt[n++] = 0;
	pkt[n++] = 1;		/* IN */
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(RBL_PORT);
	inet_pton(AF_INET, RBL_ADDR, &sa.sin_addr);
	if (sendto(fd, pkt, n, 0, (struct sockaddr *)&sa, sizeof(sa)) ==
	    (ssize_t)n) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, ms) == 1 && recv(fd, ans, sizeof(ans), 0) >= 12 &&
		    ans[0] == 0x12 && ans[1] == 0x34)
			ok = 1;
	}
	close(fd);
	return ok;
}

/* rss_kb - VmRSS of a process, in KiB, or 0 */
static long
rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0) {
			char *end;

			kb = strtol(line + 6, &end, 10);
			break;
		}
	fclose(f);
	return kb;
}

/* rbldnsd_rss - start rbldnsd on the zone file, wait until it answers,
   read its VmRSS, stop it by its pid; KiB, or -1 if it cannot run */
static long
rbldnsd_rss(const char *dir, const char *file, double *load_s)
{
	char zone[600], bind[64];
	pid_t pid;
	long kb = -1;
	double t0 = now();
	int status, i;

	if (access(RBLDNSD, X_OK) != 0)
		return -1;
	snprintf(zone, sizeof(zone), "bl.bench.test:ip4set:%s", file);
	snprintf(bind, sizeof(bind), "%s/%d", RBL_ADDR, RBL_PORT);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null != -1) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		execl(RBLDNSD, "rbldnsd", "-n", "-b", bind, "-w", dir, "-c",
		    "0", zone, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 1200; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return -1;
		if (rbl_ask("2.0.0.127.bl.bench.test", 100)) {
			*load_s = now() - t0;
			kb = rss_kb(pid);
			break;
		}
	}
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	return kb;
}

/* v6_bytes - bytes per entry of n random IPv6 prefixes /32../64 */
static double
v6_bytes(size_t n, size_t *size, double *rate)
{
	struct iptree_builder *b = iptree_builder_new();
	struct net_addr f, l;
	struct iptree *t;
	char err[256];
	void *img;
	size_t i, hits = 0;
	unsigned int plen, k;
	double t0;
	uint32_t id;

	if (b == NULL || iptree_builder_value(b, "", 0, &id) == -1)
		die("builder");
	for (i = 0; i < n; i++) {
		uint64_t hi = 0x2000000000000000ULL | (rnd() >> 3);

		plen = 32 + (unsigned int)(rnd() % 33);
		hi &= ~(uint64_t)0 << (64 - plen);
		memset(&f, 0, sizeof(f));
		f.family = NET_V6;
		for (k = 0; k < 8; k++)
			f.bytes[k] = (uint8_t)(hi >> (56 - 8 * k));
		l = f;
		for (k = plen; k < 128; k++)
			l.bytes[k / 8] |= (uint8_t)(0x80 >> (k % 8));
		if (iptree_builder_add(b, &f, &l, id, 0) == -1)
			die("builder add");
	}
	if (iptree_builder_finish(b, &img, size, NULL) == -1)
		die("builder finish");
	iptree_builder_free(b);
	if ((t = iptree_open_buffer(img, *size, err, sizeof(err))) == NULL)
		die(err);
	t0 = now();
	for (i = 0; i < 2000000; i++) {
		memset(&f, 0, sizeof(f));
		f.family = NET_V6;
		uint64_t hi = 0x2000000000000000ULL | (rnd() >> 3);
		for (k = 0; k < 8; k++)
			f.bytes[k] = (uint8_t)(hi >> (56 - 8 * k));
		hits += iptree_find(t, &f, NULL) == 1;
	}
	*rate = 2000000.0 / (now() - t0);
	iptree_close(t);
	free(img);
	(void)hits;
	return (double)*size / (double)n;
}

/* verdict - PASS or FAIL */
static const char *
verdict(int ok)
{
	return ok ? "PASS" : "FAIL";
}

/* main - generate, build, measure, compare */
int
main(int argc, char **argv)
{
	char dir[512], txt[600], ipt[600], kv[600], cdb[600], db[600];
	const char *in[1], *tmp = getenv("TMPDIR");
	struct gkdb_build_options o;
	struct gkdb_build_result r;
	const struct lookup_ops *ops;
	struct range *e, *m;
	uint32_t *q, *sorted;
	size_t n = 1300000, nq = 4000000, nm, i, wrong = 0, hits = 0, w;
	size_t v6size, ns;
	double t0, build_s, open_us, ours, oursraw, arr, cdb_rate, db_rate;
	double db_build, cdb_build, rbl_load = 0, v6rate, v6bpe;
	long rbl_kb;
	int ch, keep = 0;
	void *h;
	char err[LOOKUP_ERR_MAX], value[RULE_VALUE_MAX];
	struct net_addr a;
	struct iptree *t;
	unsigned long seed = 1;

	while ((ch = getopt(argc, argv, "kn:q:s:")) != -1) {
		switch (ch) {
		case 'k':
			keep = 1;
			break;
		case 'n':
			n = strtoul(optarg, NULL, 10);
			break;
		case 'q':
			nq = strtoul(optarg, NULL, 10);
			break;
		case 's':
			seed = strtoul(optarg, NULL, 10);
			break;
		default:
			fputs(USAGE, stderr);
			return 100;
		}
	}
	if (n < 1000 || nq < 1000) {
		fputs(USAGE, stderr);
		return 100;
	}
	rng = 0x9e3779b97f4a7c15ULL ^ (seed * 0x2545F4914F6CDD1DULL);
	snprintf(dir, sizeof(dir), "%s/ipblock_bench.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL || chmod(dir, 0755) == -1)
		die(dir);
	snprintf(txt, sizeof(txt), "%s/cbl.txt", dir);
	snprintf(ipt, sizeof(ipt), "%s/cbl.ipblock", dir);
	snprintf(kv, sizeof(kv), "%s/cbl.kv", dir);
	snprintf(cdb, sizeof(cdb), "%s/cbl.cdb", dir);
	snprintf(db, sizeof(db), "%s/cbl.db", dir);

	e = generate(n, txt);
	chmod(txt, 0644);
	m = merged(e, n, &nm);
	printf("ipblock_bench: seed %lu, %zu entries (97%% single addresses, "
	    "2%% prefixes /20-/30, 1%% ranges), %zu queries (half listed)\n",
	    seed, n, nq);
	printf("  text list          %8.1f MB\n", file_size(txt) / 1e6);

	/* Queries: half inside entries, half random addresses. */
	if ((q = malloc(nq * sizeof(*q))) == NULL)
		die("malloc");
	for (i = 0; i < nq; i++) {
		if (i % 2 == 0) {
			const struct range *x = &e[rnd() % n];

			q[i] = x->first + (uint32_t)(rnd() %
			    ((uint64_t)x->last - x->first + 1));
		} else
			q[i] = (uint32_t)rnd();
	}

	/* Ours: build, size, open, lookups through lookup_ipblock_ops. */
	memset(&o, 0, sizeof(o));
	in[0] = txt;
	t0 = now();
	if (gkdb_build(GKDB_IPBLOCK, ipt, in, 1, &o, &r) != GKDB_BUILT)
		die("gkdb_build ipblock");
	build_s = now() - t0;
	ops = lookup_ops_by_name("IPBLOCK");
	if (ops == NULL)
		die("no IPBLOCK backend");
	t0 = now();
	for (i = 0; i < 1000; i++) {
		if ((h = ops->open(ipt, err, sizeof(err))) == NULL)
			die(err);
		ops->close(h);
	}
	open_us = (now() - t0) / 1000 * 1e6;
	if ((h = ops->open(ipt, err, sizeof(err))) == NULL)
		die(err);
	memset(&a, 0, sizeof(a));
	a.family = NET_V4;
	/* warm up, and check every answer */
	for (i = 0; i < nq; i++) {
		int got;

		a.bytes[0] = (uint8_t)(q[i] >> 24);
		a.bytes[1] = (uint8_t)(q[i] >> 16);
		a.bytes[2] = (uint8_t)(q[i] >> 8);
		a.bytes[3] = (uint8_t)q[i];
		got = ops->find_addr(h, &a, value, sizeof(value), err,
		    sizeof(err)) == LK_FOUND;
		hits += got;
		if (got != listed(m, nm, q[i]))
			wrong++;
	}
	t0 = now();
	for (i = 0; i < nq; i++) {
		a.bytes[0] = (uint8_t)(q[i] >> 24);
		a.bytes[1] = (uint8_t)(q[i] >> 16);
		a.bytes[2] = (uint8_t)(q[i] >> 8);
		a.bytes[3] = (uint8_t)q[i];
		(void)ops->find_addr(h, &a, value, sizeof(value), err,
		    sizeof(err));
	}
	ours = (double)nq / (now() - t0);
	t = h;
	t0 = now();
	for (i = 0; i < nq; i++) {
		a.bytes[0] = (uint8_t)(q[i] >> 24);
		a.bytes[1] = (uint8_t)(q[i] >> 16);
		a.bytes[2] = (uint8_t)(q[i] >> 8);
		a.bytes[3] = (uint8_t)q[i];
		(void)iptree_find(t, &a, NULL);
	}
	oursraw = (double)nq / (now() - t0);
	ops->close(h);

	/* Reference: the plain sorted array of 32-bit addresses. */
	if ((sorted = malloc(n * sizeof(*sorted))) == NULL)
		die("malloc");
	for (i = 0; i < n; i++)
		sorted[i] = e[i].first;
	qsort(sorted, n, sizeof(*sorted), u32_cmp);
	for (ns = 0, i = 0; i < n; i++)
		if (ns == 0 || sorted[ns - 1] != sorted[i])
			sorted[ns++] = sorted[i];
	t0 = now();
	for (w = 0, i = 0; i < nq; i++)
		w += (size_t)sorted_find(sorted, ns, q[i]);
	arr = (double)nq / (now() - t0);

	/* Reference: tinycdb and Berkeley DB hash, prefix walk. */
	key_source(e, n, kv);
	in[0] = kv;
	t0 = now();
	if (gkdb_build(GKDB_CDB, cdb, in, 1, &o, &r) != GKDB_BUILT)
		die("gkdb_build cdb");
	cdb_build = now() - t0;
	{
		size_t cw, dw;
		size_t nq_cdb = nq / 4, nq_db = nq / 20;

		cdb_rate = table_rate(lookup_ops_by_name("CDB"), cdb, q, nq_cdb,
		    m, nm, &cw);
		t0 = now();
		if (gkdb_build(GKDB_HASH, db, in, 1, &o, &r) != GKDB_BUILT)
			die("gkdb_build hash");
		db_build = now() - t0;
		db_rate = table_rate(lookup_ops_by_name("HASH"), db, q, nq_db,
		    m, nm, &dw);
		if (cw > 0 || dw > 0)
			printf("  WRONG: cdb %zu, hash %zu answers differ\n", cw,
			    dw);
		wrong += cw + dw;
	}
	rbl_kb = rbldnsd_rss(dir, "cbl.txt", &rbl_load);
	v6bpe = v6_bytes(100000, &v6size, &v6rate);

	printf("  ours (IPBLOCK)     %8.2f MB   build %5.2f s   open %6.1f us"
	    "   %6.2f M lookups/s (find_addr), %6.2f M/s (iptree_find)\n",
	    file_size(ipt) / 1e6, build_s, open_us, ours / 1e6, oursraw / 1e6);
	printf("  sorted uint32 array%8.2f MB                         "
	    "   %6.2f M lookups/s (binary search, exact match)\n",
	    ns * 4 / 1e6, arr / 1e6);
	printf("  tinycdb + walk     %8.2f MB   build %5.2f s                "
	    "%6.2f M lookups/s\n", file_size(cdb) / 1e6, cdb_build,
	    cdb_rate / 1e6);
	printf("  Berkeley DB hash   %8.2f MB   build %5.2f s                "
	    "%6.3f M lookups/s\n", file_size(db) / 1e6, db_build,
	    db_rate / 1e6);
	if (rbl_kb > 0)
		printf("  rbldnsd ip4set     %8.2f MB VmRSS (loaded and answering "
		    "in %.2f s)\n", rbl_kb * 1024 / 1e6, rbl_load);
	else
		printf("  rbldnsd ip4set     not measured (cannot run %s on %s)\n",
		    RBLDNSD, RBL_ADDR);
	printf("  IPv6: 100000 prefixes /32-/64: %zu bytes, %.2f bytes/entry, "
	    "%.2f M lookups/s\n", v6size, v6bpe, v6rate / 1e6);
	printf("  ratios: size %.2fx the sorted array, %.1fx smaller than "
	    "tinycdb, %.1fx smaller than BDB%s",
	    file_size(ipt) / (ns * 4.0), file_size(cdb) / (double)file_size(ipt),
	    file_size(db) / (double)file_size(ipt), rbl_kb > 0 ? "" : "\n");
	if (rbl_kb > 0)
		printf(", %.1fx smaller than rbldnsd's RSS\n",
		    rbl_kb * 1024.0 / file_size(ipt));
	printf("          lookups %.1fx the sorted array, %.1fx tinycdb, "
	    "%.0fx BDB\n", ours / arr, ours / cdb_rate, ours / db_rate);
	printf("  targets: file <= 3.5 MB %s; build < 2 s %s; open < 1 ms %s; "
	    "lookups >= 2x array %s; IPv6 <= 16 B/entry %s\n",
	    verdict(file_size(ipt) <= 3500000), verdict(build_s < 2),
	    verdict(open_us < 1000), verdict(ours >= 2 * arr),
	    verdict(v6bpe <= 16));
	printf("  answers: %zu of %zu queries listed, %zu wrong%s\n", hits, nq,
	    wrong, keep ? "" : "");
	if (keep)
		printf("  kept %s\n", dir);
	else {
		unlink(txt);
		unlink(ipt);
		unlink(kv);
		unlink(cdb);
		unlink(db);
		rmdir(dir);
	}
	free(e);
	free(m);
	free(q);
	free(sorted);
	(void)w;
	return wrong > 0 ? 1 : 0;
}
