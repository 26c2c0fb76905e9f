/* fwd_queue.h - the spool as smtpfwdd sees it: directories and queue */
/*
 * Owns the directory side of the protocol in docs/spool.5 (new/ ->
 * work/ -> removed or hold/), smtpfwdd's own state files in work/
 * (ID.defer: attempts and the next retry time) and the daemon's
 * in-memory index of the messages it knows: those waiting in new/, in
 * arrival order, and those in work/, deferred or being delivered.
 * Bounded by FWD_QUEUE_MAX entries; what does not fit waits in new/
 * for a later scan. No logging, no exit.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef FWD_QUEUE_H
#define FWD_QUEUE_H

#include <stddef.h>

#include "../lib/spool.h"

/* Descriptors of the spool directory and its subdirectories. */
struct fwd_dirs {
	int spool;
	int new;
	int work;
	int hold;
};

/*
 * fwd_dirs_open - open path and its new/, work/ and hold/ (creating
 * work/ and hold/ with mode 0700 when missing and the spool directory
 * lets us). None may be writable by others; work/ and hold/ must be
 * owned by the effective user. On failure returns -1 with errno and a
 * description in why; nothing is left open.
 */
int fwd_dirs_open(const char *path, struct fwd_dirs *d, char *why,
    size_t whysize);

/* fwd_dirs_close - close what fwd_dirs_open() opened */
void fwd_dirs_close(struct fwd_dirs *d);

/*
 * fwd_claim - move new/ID to work/ID, never replacing a file there.
 * Returns 0, or -1 with errno (ENOENT: it is gone; EEXIST: work/ID
 * exists already).
 */
int fwd_claim(const struct fwd_dirs *d, const char *id);

/* Retry state of a message, kept in work/ID.defer. */
struct fwd_state {
	unsigned int attempts;	/* deliveries tried and deferred */
	long long first;	/* time of the first attempt */
	long long next;		/* not before this time */
};

/*
 * fwd_state_read - load work/ID.defer. Returns 0, or -1 with errno
 * (ENOENT: no state; EPROTO: unreadable contents).
 */
int fwd_state_read(int workfd, const char *id, struct fwd_state *st);

/* fwd_state_write - replace work/ID.defer (via ID.tmp and rename) */
int fwd_state_write(int workfd, const char *id, const struct fwd_state *st);

/* fwd_state_remove - remove work/ID.defer if there is one */
void fwd_state_remove(int workfd, const char *id);

/*
 * fwd_release - give hold/ID another chance: its FAIL recipients become
 * RCPT again (in place, fsynced), work/ID.defer gets a fresh lifetime
 * (FIRST and NEXT now, no attempts), and hold/ID moves to work/ID
 * (never replacing a file there); hold/ID.why goes. The file must still
 * pass spool_read(). Returns 0, or -1 with errno and a reason in why.
 * A running daemon picks it up on SIGHUP, or at its next start.
 */
int fwd_release(const struct fwd_dirs *d, const char *id, long long now,
    char *why, size_t whysize);

/* Where a known message is. */
enum fwd_where {
	FWD_IN_NEW,		/* waiting in new/, in the arrival ring */
	FWD_IN_WORK		/* claimed: deferred, or being delivered */
};

struct fwd_entry {
	char id[SPOOL_ID_MAX + 1];
	unsigned char where;		/* enum fwd_where */
	unsigned char is_running;	/* a worker has it */
	unsigned char is_retry_asked;	/* SIGHUP while it ran: retry at
					   once if it is deferred */
	unsigned char has_state;	/* work/ID.defer exists */
	unsigned char is_used;
	unsigned int attempts;
	unsigned int crashes;		/* worker deaths in a row */
	unsigned int busy;		/* found locked, times in a row */
	long long first;
	long long next;
	int chain;			/* next in bucket, or free list */
};

struct fwd_queue {
	struct fwd_entry *e;	/* max entries */
	int *bucket;		/* nbucket heads, -1 for none */
	size_t nbucket;
	size_t max;
	size_t high;		/* entries at and above this were never used */
	size_t count;
	int free_head;
	int *ring;		/* arrival order of FWD_IN_NEW entries */
	size_t ring_head;
	size_t ring_len;
	size_t nnew;		/* entries in new/ */
	size_t nwork;		/* entries in work/ */
	long long earliest;	/* no idle work/ entry is due before this */
};

/* fwd_queue_init - room for max entries (1..FWD_QUEUE_MAX); 0 or -1 */
int fwd_queue_init(struct fwd_queue *q, size_t max);

/* fwd_queue_free - release q */
void fwd_queue_free(struct fwd_queue *q);

/* fwd_queue_find - the entry of id, or -1 */
int fwd_queue_find(const struct fwd_queue *q, const char *id);

/*
 * fwd_queue_add - a message in where, unless it is known already.
 * Returns its index, or -1 with errno (EEXIST: known, ENOSPC: full).
 * A FWD_IN_NEW entry joins the end of the arrival ring; a FWD_IN_WORK
 * one is due now until its state says otherwise.
 */
int fwd_queue_add(struct fwd_queue *q, const char *id, enum fwd_where where,
    long long now);

/* fwd_queue_remove - forget entry i (not one in the arrival ring) */
void fwd_queue_remove(struct fwd_queue *q, int i);

/*
 * fwd_queue_pop_new - take the oldest FWD_IN_NEW entry out of the ring
 * (it stays known; the caller claims it and makes it FWD_IN_WORK, or
 * removes it). Returns its index, or -1 if the ring is empty.
 */
int fwd_queue_pop_new(struct fwd_queue *q);

/* fwd_queue_to_work - entry i (popped from the ring) is now in work/ */
void fwd_queue_to_work(struct fwd_queue *q, int i);

/* fwd_queue_set_next - entry i (in work/, idle) is due at next */
void fwd_queue_set_next(struct fwd_queue *q, int i, long long next);

/*
 * fwd_queue_due - the FWD_IN_WORK entry, not running, with the earliest
 * next time that is <= now; or -1. Cheap while now < q->earliest; a
 * full pass otherwise, which also refreshes q->earliest (LLONG_MAX when
 * no idle entry is left).
 */
int fwd_queue_due(struct fwd_queue *q, long long now);

#endif
