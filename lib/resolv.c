/* resolv.c - bounded, non-blocking DNS lookups with a per-session cache */
/*
 * The only file that includes libowfat's resolver headers. Queries go
 * out through dns_transmit_start/io/get and wait in one iopause() loop;
 * our own deadlines (per query, and the decision's budget) are kept on
 * CLOCK_MONOTONIC and always win over libowfat's retry timeouts (1, 3,
 * 11, 45 s), which only shorten a wait, never lengthen it. Replies are
 * parsed by resolv_packet.c. Every answer handed out lives in r->all
 * until resolv_free(); the first RESOLV_CACHE_MAX of them are also
 * findable in the cache. The budget is checked before any socket is
 * opened, so an exhausted budget costs no packet.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libowfat/dns.h>
#include <libowfat/iopause.h>
#include <libowfat/taia.h>

#include "resolv.h"
#include "resolv_packet.h"

#define RESOLV_CACHE_MAX	4096	/* answers findable by key */
#define RESOLV_KEEP_MAX		8192	/* answers held in all, cached or not */
#define RESOLV_BUCKETS		1024
#define RESOLV_PARALLEL_MAX	32	/* queries in flight at once */
#define RESOLV_SERVERS_MAX	16	/* libowfat's server slots */
#define RESOLV_ERROR_MAX	64
#define DEFAULT_QUERY_MS	5000
#define DEFAULT_BUDGET_MS	15000

struct resolv_entry {
	struct resolv_entry *hash_next;	/* cache chain, if cached */
	struct resolv_entry *all_next;	/* every entry, for resolv_free */
	enum resolv_type type;
	char name[RESOLV_NAME_MAX];
	char error[RESOLV_ERROR_MAX];	/* preloaded TEMPFAIL text */
	struct resolv_answer answer;
};

struct resolv {
	char servers[RESOLV_SERVERS_MAX * 16];	/* dns_transmit's list */
	unsigned int query_ms;
	unsigned int budget_ms;
	uint64_t budget_end;		/* monotonic ms */
	int is_closed_world;		/* no queries: uncached = NXDOMAIN */
	struct resolv_entry **buckets;	/* RESOLV_BUCKETS, from the first
					   answer cached: most sessions ask
					   nothing, and a process is cheaper
					   for every page it does not write */
	struct resolv_entry *all;
	size_t cached;			/* entries in buckets */
	size_t kept;			/* entries in all */
	size_t queries;			/* transmits started */
};

enum job_state {
	JOB_WAITING,
	JOB_RUNNING,
	JOB_DONE
};

/* One distinct uncached (name, type) of a resolv_lookup_many() call. */
struct resolv_job {
	char name[RESOLV_NAME_MAX];
	enum resolv_type type;
	enum job_state state;
	struct dns_transmit tx;
	uint64_t deadline;		/* monotonic ms */
	int is_budget_bound;		/* deadline is the budget's end */
	const struct resolv_answer *answer;
};

static const struct resolv_answer answer_invalid = {
	RESOLV_NOTFOUND, 1, 0, NULL, NULL, "invalid name"
};
static const struct resolv_answer answer_closed = {
	RESOLV_NOTFOUND, 1, 0, NULL, NULL, NULL
};
static const struct resolv_answer answer_budget = {
	RESOLV_TEMPFAIL, 0, 0, NULL, NULL, "budget exhausted"
};
static const struct resolv_answer answer_nomem = {
	RESOLV_TEMPFAIL, 0, 0, NULL, NULL, "out of memory"
};
static const struct resolv_answer answer_toomany = {
	RESOLV_TEMPFAIL, 0, 0, NULL, NULL, "too many lookups"
};

static const char ip6_any[16];
static const unsigned char v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};
static pid_t random_pid;		/* process that seeded libowfat */

/* now_ms - monotonic milliseconds */
static uint64_t
now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;	/* cannot fail for CLOCK_MONOTONIC */
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* stamp_plus_ms - t = base + ms */
static void
stamp_plus_ms(struct taia *t, const struct taia *base, uint64_t ms)
{
	struct taia delta;

	if (ms > 86400000)
		ms = 86400000;
	taia_uint(&delta, (unsigned int)(ms / 1000));
	delta.nano = (uint32)((ms % 1000) * 1000000);
	delta.atto = 0;
	taia_add(t, base, &delta);
}

/*
 * random_init - seed libowfat's query ids and source ports, once per
 * process: a child forked after seeding would otherwise repeat its
 * siblings' sequence, so a new pid means a new seed.
 */
static int
random_init(void)
{
	char seed[128];
	size_t got = 0;

	if (random_pid == getpid())
		return 0;
	while (got < sizeof(seed)) {
		ssize_t n = getrandom(seed + got, sizeof(seed) - got, 0);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < sizeof(seed)) {
		int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

		if (fd == -1)
			return -1;
		while (got < sizeof(seed)) {
			ssize_t n = read(fd, seed + got, sizeof(seed) - got);

			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		(void)close(fd);
		if (got < sizeof(seed)) {
			errno = EIO;
			return -1;
		}
	}
	dns_random_init(seed);
	random_pid = getpid();
	return 0;
}

/*
 * parse_servers - a blank- or comma-separated address list into
 * libowfat's 16-byte slots (IPv4 as ::ffff:a.b.c.d). Returns 0, or -1
 * with errno EINVAL (empty list, bad or unspecified address, over 16).
 */
static int
parse_servers(const char *text, char out[RESOLV_SERVERS_MAX * 16])
{
	const char *sep = " \t\r\n,;";
	size_t n = 0;

	memset(out, 0, RESOLV_SERVERS_MAX * 16);
	while (*text != '\0') {
		struct net_addr addr;
		size_t len;
		char *slot;

		text += strspn(text, sep);
		len = strcspn(text, sep);
		if (len == 0)
			break;
		if (n == RESOLV_SERVERS_MAX ||
		    net_addr_parse(text, len, &addr) == -1)
			goto bad;
		slot = out + 16 * n++;
		if (addr.family == NET_V4) {
			memcpy(slot, v4mapped_prefix, 12);
			memcpy(slot + 12, addr.bytes, 4);
			if (memcmp(addr.bytes, ip6_any, 4) == 0)
				goto bad;	/* 0.0.0.0 */
		} else {
			memcpy(slot, addr.bytes, 16);
			if (memcmp(addr.bytes, ip6_any, 16) == 0)
				goto bad;	/* libowfat's "no server" */
		}
		text += len;
	}
	if (n == 0)
		goto bad;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/* resolv_new - a resolver with an empty cache */
struct resolv *
resolv_new(const struct resolv_conf *conf)
{
	struct resolv *r;

	if (random_init() == -1)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	if (conf != NULL && conf->closed_world)
		r->is_closed_world = 1;
	else if (conf != NULL && conf->servers != NULL) {
		if (parse_servers(conf->servers, r->servers) == -1)
			goto fail;
	} else if (dns_resolvconfip(r->servers) == -1) {
		if (errno == 0)
			errno = EIO;
		goto fail;
	}
	r->query_ms = conf != NULL && conf->query_ms != 0 ? conf->query_ms :
	    DEFAULT_QUERY_MS;
	r->budget_ms = conf != NULL && conf->budget_ms != 0 ? conf->budget_ms :
	    DEFAULT_BUDGET_MS;
	resolv_budget_start(r);
	return r;
fail:
	free(r);
	return NULL;
}

/* resolv_servers_text - the configured server list, as text */
int
resolv_servers_text(char *buf, size_t size)
{
	char servers[RESOLV_SERVERS_MAX * 16];
	char text[NET_ADDR_TEXT];
	struct net_addr addr;
	size_t i, len, used = 0;

	if (size == 0) {
		errno = ENOSPC;
		return -1;
	}
	buf[0] = '\0';
	memset(servers, 0, sizeof(servers));
	if (dns_resolvconfip(servers) == -1) {
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	for (i = 0; i < RESOLV_SERVERS_MAX; i++) {
		const char *slot = servers + 16 * i;

		if (memcmp(slot, ip6_any, 16) == 0)
			continue;	/* an empty slot */
		memset(&addr, 0, sizeof(addr));
		if (memcmp(slot, v4mapped_prefix, 12) == 0) {
			addr.family = NET_V4;
			memcpy(addr.bytes, slot + 12, 4);
		} else {
			addr.family = NET_V6;
			memcpy(addr.bytes, slot, 16);
		}
		net_addr_format(&addr, text);
		len = strlen(text);
		if (used + len + (used > 0) + 1 > size) {
			buf[0] = '\0';
			errno = ENOSPC;
			return -1;
		}
		if (used > 0)
			buf[used++] = ' ';
		memcpy(buf + used, text, len);
		used += len;
		buf[used] = '\0';
	}
	if (used == 0) {
		errno = EIO;	/* libowfat always yields one; be safe */
		return -1;
	}
	return 0;
}

/* resolv_free - release every answer and the resolver */
void
resolv_free(struct resolv *r)
{
	struct resolv_entry *e, *next;

	if (r == NULL)
		return;
	for (e = r->all; e != NULL; e = next) {
		next = e->all_next;
		resolv_answer_clear(&e->answer);
		free(e);
	}
	free(r->buckets);
	free(r);
}

/* resolv_budget_start - the next lookups share a fresh budget */
void
resolv_budget_start(struct resolv *r)
{
	r->budget_end = now_ms() + r->budget_ms;
}

/* resolv_query_count - queries sent so far */
size_t
resolv_query_count(const struct resolv *r)
{
	return r->queries;
}

/* resolv_type_name - the type's mnemonic */
const char *
resolv_type_name(enum resolv_type type)
{
	switch (type) {
	case RESOLV_A:
		return "A";
	case RESOLV_AAAA:
		return "AAAA";
	case RESOLV_NS:
		return "NS";
	case RESOLV_MX:
		return "MX";
	case RESOLV_PTR:
		return "PTR";
	case RESOLV_TXT:
		return "TXT";
	}
	return "?";
}

/* bucket_of - hash of a normalised key */
static size_t
bucket_of(const char *name, enum resolv_type type)
{
	uint32_t h = 2166136261u;

	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	h = (h ^ (uint32_t)type) * 16777619u;
	return h % RESOLV_BUCKETS;
}

/* cache_find - the cached entry for a normalised key, or NULL */
static struct resolv_entry *
cache_find(const struct resolv *r, const char *name, enum resolv_type type)
{
	struct resolv_entry *e;

	if (r->buckets == NULL)
		return NULL;
	for (e = r->buckets[bucket_of(name, type)]; e != NULL; e = e->hash_next)
		if (e->type == type && strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

/* cache_unlink - take the entry for the key out of the cache (not all) */
static void
cache_unlink(struct resolv *r, const char *name, enum resolv_type type)
{
	struct resolv_entry **pp;

	if (r->buckets == NULL)
		return;
	for (pp = &r->buckets[bucket_of(name, type)]; *pp != NULL;
	    pp = &(*pp)->hash_next) {
		if ((*pp)->type == type && strcmp((*pp)->name, name) == 0) {
			*pp = (*pp)->hash_next;
			r->cached--;
			return;
		}
	}
}

/*
 * entry_new - an empty entry for the key, held in r->all and, if
 * is_cacheable and there is room, in the cache. NULL with errno ENOMEM,
 * or ENOSPC once RESOLV_KEEP_MAX answers are held.
 */
static struct resolv_entry *
entry_new(struct resolv *r, const char *name, enum resolv_type type,
    int is_cacheable)
{
	struct resolv_entry *e;
	size_t b;

	if (r->kept >= RESOLV_KEEP_MAX) {
		errno = ENOSPC;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->type = type;
	memcpy(e->name, name, strlen(name) + 1);	/* normalised: fits */
	e->all_next = r->all;
	r->all = e;
	r->kept++;
	if (is_cacheable && r->cached < RESOLV_CACHE_MAX &&
	    (r->buckets != NULL || (r->buckets = calloc(RESOLV_BUCKETS,
	    sizeof(*r->buckets))) != NULL)) {
		b = bucket_of(name, type);
		e->hash_next = r->buckets[b];
		r->buckets[b] = e;
		r->cached++;
	}
	return e;
}

/*
 * keep_answer - move a parsed answer into a new entry; returns the
 * entry's answer, or a static TEMPFAIL (the parsed one is then freed).
 */
static const struct resolv_answer *
keep_answer(struct resolv *r, const char *name, enum resolv_type type,
    struct resolv_answer *ans, int is_cacheable)
{
	struct resolv_entry *e;

	e = entry_new(r, name, type, is_cacheable);
	if (e == NULL) {
		resolv_answer_clear(ans);
		return errno == ENOSPC ? &answer_toomany : &answer_nomem;
	}
	e->answer = *ans;
	memset(ans, 0, sizeof(*ans));
	return &e->answer;
}

/* keep_failure - a TEMPFAIL answer with a static error text */
static const struct resolv_answer *
keep_failure(struct resolv *r, const char *name, enum resolv_type type,
    const char *error, int is_cacheable)
{
	struct resolv_answer ans;

	memset(&ans, 0, sizeof(ans));
	ans.status = RESOLV_TEMPFAIL;
	ans.error = error;
	return keep_answer(r, name, type, &ans, is_cacheable);
}

/* qtype_bytes - the two-byte type libowfat wants */
static void
qtype_bytes(enum resolv_type type, char out[2])
{
	uint16_t code = resolv_type_code(type);

	out[0] = (char)(code >> 8);
	out[1] = (char)(code & 0xff);
}

/*
 * job_start - send the job's query. Its deadline is min(now + query_ms,
 * budget end); a spent budget answers at once without a socket.
 */
static void
job_start(struct resolv *r, struct resolv_job *job, uint64_t now)
{
	unsigned char wire[RESOLV_WIRE_MAX];
	char qtype[2];

	job->state = JOB_DONE;
	if (now >= r->budget_end) {
		job->answer = &answer_budget;
		return;
	}
	job->deadline = now + r->query_ms;
	job->is_budget_bound = 0;
	if (job->deadline >= r->budget_end) {
		job->deadline = r->budget_end;
		job->is_budget_bound = 1;
	}
	if (resolv_name_to_wire(job->name, wire) == 0) {
		job->answer = &answer_invalid;	/* cannot happen */
		return;
	}
	if (random_init() == -1) {
		job->answer = keep_failure(r, job->name, job->type,
		    "no random seed", 0);
		return;
	}
	qtype_bytes(job->type, qtype);
	memset(&job->tx, 0, sizeof(job->tx));
	r->queries++;
	if (dns_transmit_start(&job->tx, r->servers, 1, (const char *)wire,
	    qtype, ip6_any) == -1) {
		/* no socket or no memory here: local, so not cached */
		job->answer = keep_failure(r, job->name, job->type,
		    errno == ENOMEM ? "out of memory" : "cannot send query", 0);
		return;
	}
	job->state = JOB_RUNNING;
}

/* job_expire - the job's deadline has passed */
static void
job_expire(struct resolv *r, struct resolv_job *job)
{
	dns_transmit_free(&job->tx);
	job->state = JOB_DONE;
	if (job->is_budget_bound) {
		/* cut short by this decision's budget: the next may retry */
		job->answer = &answer_budget;
		return;
	}
	job->answer = keep_failure(r, job->name, job->type, "timeout", 1);
}

/*
 * job_gave_up - whether to stop waiting although our deadline has not
 * passed, and why. In its second round over the servers libowfat
 * ignores a SERVFAIL (or other failure RCODE) reply and an ICMP "port
 * unreachable", and waits for its 11 s timeout; by then every server
 * has been asked and failed, so we stop instead. A reply is only peeked
 * at (libowfat still reads it otherwise). This reads public fields of
 * struct dns_transmit (s1, tcpstate, query, udploop) of libowfat 0.32.
 */
static const char *
job_gave_up(const struct resolv_job *job, const iopause_fd *fd)
{
	const struct dns_transmit *tx = &job->tx;
	unsigned char buf[513];
	ssize_t n;
	unsigned int rcode;

	if (tx->s1 == 0 || tx->tcpstate != 0 || tx->query == NULL ||
	    tx->udploop < 2)
		return NULL;
	if (!(fd->revents & IOPAUSE_READ))
		return (fd->revents & POLLERR) ? "connection refused" : NULL;
	n = recv(tx->s1 - 1, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	if (n < 12 || memcmp(buf, tx->query + 2, 2) != 0 ||
	    (buf[2] & 0x80) == 0)
		return NULL;
	rcode = buf[3] & 0x0f;
	return rcode != 0 && rcode != 3 ? "server failure" : NULL;
}

/* job_finish - the transmit has a reply packet (or gave up: got == -1) */
static void
job_finish(struct resolv *r, struct resolv_job *job, int got)
{
	struct resolv_answer ans;
	int saved = errno;

	job->state = JOB_DONE;
	if (got == -1) {
		dns_transmit_free(&job->tx);
		if (saved == ENOMEM) {
			job->answer = &answer_nomem;
			return;
		}
		job->answer = keep_failure(r, job->name, job->type,
		    saved == ETIMEDOUT ? "timeout" :
		    saved == ECONNREFUSED ? "connection refused" :
		    "server failure", 1);
		return;
	}
	if (resolv_packet_parse((const unsigned char *)job->tx.packet,
	    job->tx.packetlen, job->name, job->type, &ans) == -1) {
		dns_transmit_free(&job->tx);
		job->answer = &answer_nomem;
		return;
	}
	dns_transmit_free(&job->tx);
	job->answer = keep_answer(r, job->name, job->type, &ans, 1);
}

/* run_jobs - send and wait for every job, RESOLV_PARALLEL_MAX at a time */
static void
run_jobs(struct resolv *r, struct resolv_job *jobs, size_t njobs)
{
	iopause_fd fds[RESOLV_PARALLEL_MAX];
	struct resolv_job *active[RESOLV_PARALLEL_MAX];
	size_t next = 0, i;

	for (;;) {
		struct taia stamp, deadline;
		uint64_t now = now_ms(), first;
		size_t n = 0;

		/* expire, then fill free slots from the waiting jobs */
		for (i = 0; i < next; i++)
			if (jobs[i].state == JOB_RUNNING &&
			    now >= jobs[i].deadline)
				job_expire(r, &jobs[i]);
		for (i = 0; i < next; i++)
			if (jobs[i].state == JOB_RUNNING)
				n++;
		while (next < njobs && n < RESOLV_PARALLEL_MAX) {
			job_start(r, &jobs[next], now);
			if (jobs[next].state == JOB_RUNNING)
				n++;
			next++;
		}
		n = 0;
		first = UINT64_MAX;
		for (i = 0; i < next; i++) {
			if (jobs[i].state != JOB_RUNNING)
				continue;
			active[n++] = &jobs[i];
			if (jobs[i].deadline < first)
				first = jobs[i].deadline;
		}
		if (n == 0) {
			if (next == njobs)
				return;
			continue;
		}
		taia_now(&stamp);
		stamp_plus_ms(&deadline, &stamp, first > now ? first - now : 0);
		for (i = 0; i < n; i++)
			dns_transmit_io(&active[i]->tx, &fds[i], &deadline);
		iopause(fds, (unsigned int)n, &deadline, &stamp);
		taia_now(&stamp);
		for (i = 0; i < n; i++) {
			const char *why;
			int got;

			if ((why = job_gave_up(active[i], &fds[i])) != NULL) {
				dns_transmit_free(&active[i]->tx);
				active[i]->state = JOB_DONE;
				active[i]->answer = keep_failure(r,
				    active[i]->name, active[i]->type, why, 1);
				continue;
			}
			got = dns_transmit_get(&active[i]->tx, &fds[i], &stamp);
			if (got != 0)
				job_finish(r, active[i], got);
		}
	}
}

/* resolv_lookup_many - n lookups, the uncached ones in parallel */
void
resolv_lookup_many(struct resolv *r, struct resolv_request *req, size_t n)
{
	struct resolv_job *jobs = NULL;
	size_t *job_of = NULL;
	size_t i, j, njobs = 0;
	uint64_t now = now_ms();

	if (n == 0)
		return;
	jobs = calloc(n, sizeof(*jobs));
	job_of = calloc(n, sizeof(*job_of));
	for (i = 0; i < n; i++) {
		char name[RESOLV_NAME_MAX];
		struct resolv_entry *e;

		req[i].answer = NULL;
		if (req[i].name == NULL ||
		    resolv_name_normalize(req[i].name, strlen(req[i].name),
		    name) == -1) {
			req[i].answer = &answer_invalid;
			continue;
		}
		e = cache_find(r, name, req[i].type);
		if (e != NULL) {
			req[i].answer = &e->answer;
			continue;
		}
		if (r->is_closed_world) {
			req[i].answer = &answer_closed;
			continue;
		}
		if (now >= r->budget_end) {
			req[i].answer = &answer_budget;
			continue;
		}
		if (jobs == NULL || job_of == NULL) {
			req[i].answer = &answer_nomem;
			continue;
		}
		for (j = 0; j < njobs; j++)
			if (jobs[j].type == req[i].type &&
			    strcmp(jobs[j].name, name) == 0)
				break;
		if (j == njobs) {
			memcpy(jobs[j].name, name, sizeof(name));
			jobs[j].type = req[i].type;
			jobs[j].state = JOB_WAITING;
			njobs++;
		}
		job_of[i] = j;
	}
	if (njobs > 0)
		run_jobs(r, jobs, njobs);
	for (i = 0; i < n; i++)
		if (req[i].answer == NULL)
			req[i].answer = jobs[job_of[i]].answer;
	free(jobs);
	free(job_of);
}

/* resolv_lookup - one lookup */
const struct resolv_answer *
resolv_lookup(struct resolv *r, const char *name, enum resolv_type type)
{
	struct resolv_request req;

	req.name = name;
	req.type = type;
	req.answer = NULL;
	resolv_lookup_many(r, &req, 1);
	return req.answer;
}

/* resolv_fcrdns - PTR names of addr confirmed by their A/AAAA records */
enum resolv_status
resolv_fcrdns(struct resolv *r, const struct net_addr *addr, char *name,
    size_t namesize)
{
	char labels[NET_ADDR_REVERSE], rev[RESOLV_NAME_MAX];
	struct resolv_request req[RESOLV_FCRDNS_MAX];
	const struct resolv_answer *ptr;
	size_t n, i, k;
	int had_tempfail = 0, len;

	if (name != NULL && namesize > 0)
		name[0] = '\0';
	net_addr_reverse(addr, labels);
	len = snprintf(rev, sizeof(rev), "%s.%s", labels,
	    addr->family == NET_V4 ? "in-addr.arpa" : "ip6.arpa");
	if (len < 0 || (size_t)len >= sizeof(rev))
		return RESOLV_TEMPFAIL;	/* cannot happen */
	ptr = resolv_lookup(r, rev, RESOLV_PTR);
	if (ptr->status != RESOLV_FOUND)
		return ptr->status;
	n = ptr->count < RESOLV_FCRDNS_MAX ? ptr->count : RESOLV_FCRDNS_MAX;
	for (i = 0; i < n; i++) {
		req[i].name = ptr->names[i];
		req[i].type = addr->family == NET_V4 ? RESOLV_A : RESOLV_AAAA;
	}
	resolv_lookup_many(r, req, n);
	for (i = 0; i < n; i++) {
		const struct resolv_answer *fwd = req[i].answer;

		if (fwd->status == RESOLV_TEMPFAIL)
			had_tempfail = 1;
		if (fwd->status != RESOLV_FOUND)
			continue;
		for (k = 0; k < fwd->count; k++) {
			if (!net_addr_equal(&fwd->addrs[k], addr))
				continue;
			if (name == NULL || strlen(ptr->names[i]) >= namesize)
				return RESOLV_TEMPFAIL;	/* caller's bug */
			memcpy(name, ptr->names[i], strlen(ptr->names[i]) + 1);
			return RESOLV_FOUND;
		}
	}
	return had_tempfail ? RESOLV_TEMPFAIL : RESOLV_NOTFOUND;
}

/* copy_names - duplicate n names, normalising host names */
static int
copy_names(char **dst, char *const *src, size_t n, enum resolv_type type)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char norm[RESOLV_NAME_MAX];
		const char *s = src[i] != NULL ? src[i] : "";

		if (type != RESOLV_TXT &&
		    resolv_name_normalize(s, strlen(s), norm) == 0)
			s = norm;
		dst[i] = strdup(s);
		if (dst[i] == NULL)
			return -1;
	}
	return 0;
}

/* resolv_preload - put a copy of an answer into the cache */
int
resolv_preload(struct resolv *r, const char *name, enum resolv_type type,
    const struct resolv_answer *answer)
{
	char key[RESOLV_NAME_MAX];
	struct resolv_answer copy;
	struct resolv_entry *e;
	size_t n;

	if (name == NULL || answer == NULL ||
	    resolv_name_normalize(name, strlen(name), key) == -1) {
		errno = EINVAL;
		return -1;
	}
	n = answer->count < RESOLV_MAX_RECORDS ? answer->count :
	    RESOLV_MAX_RECORDS;
	memset(&copy, 0, sizeof(copy));
	copy.status = answer->status;
	copy.is_nxdomain = answer->is_nxdomain;
	if (answer->status == RESOLV_FOUND && n > 0) {
		if (type == RESOLV_A || type == RESOLV_AAAA) {
			if (answer->addrs == NULL) {
				errno = EINVAL;
				return -1;
			}
			copy.addrs = calloc(n, sizeof(*copy.addrs));
			if (copy.addrs == NULL)
				return -1;
			memcpy(copy.addrs, answer->addrs,
			    n * sizeof(*copy.addrs));
		} else {
			if (answer->names == NULL) {
				errno = EINVAL;
				return -1;
			}
			copy.names = calloc(n, sizeof(*copy.names));
			if (copy.names == NULL)
				return -1;
			copy.count = n;	/* so that clear frees what was made */
			if (copy_names(copy.names, answer->names, n,
			    type) == -1) {
				resolv_answer_clear(&copy);
				errno = ENOMEM;
				return -1;
			}
		}
		copy.count = n;
	} else if (answer->status == RESOLV_FOUND) {
		errno = EINVAL;	/* found, but nothing */
		return -1;
	}
	if (cache_find(r, key, type) == NULL && r->cached >= RESOLV_CACHE_MAX) {
		resolv_answer_clear(&copy);
		errno = ENOSPC;
		return -1;
	}
	cache_unlink(r, key, type);
	e = entry_new(r, key, type, 1);
	if (e == NULL) {
		resolv_answer_clear(&copy);
		return -1;
	}
	e->answer = copy;
	if (answer->status == RESOLV_TEMPFAIL) {
		(void)snprintf(e->error, sizeof(e->error), "%s",
		    answer->error != NULL ? answer->error : "preloaded");
		e->answer.error = e->error;
	}
	return 0;
}
