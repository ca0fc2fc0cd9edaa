#ifndef FLEETGATE_RECORD_H
#define FLEETGATE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "git/repo.h"
#include "rules/verify.h"

/*
 * The evidence record of one tree on one stage: what the last evaluation
 * found (verdict, counts, failing devices, times), the rules it judged by,
 * the overrides pushed past it and the history of its verdicts. Kept in the
 * bare repository as a git note on the tree, in refs/notes/fleetgate/<stage>
 * (JSON, one object), written by the scheduler only (post-receive,
 * reconcile, verify) as compare-and-swap ref updates, and read by the
 * pre-receive hook and by the gate from a fetched copy.
 */

#define RECORD_MAX_BYTES (1024 * 1024)
#define RECORD_MAX_FAILING 100   /* ids kept; `failed` counts them all */
#define RECORD_MAX_HISTORY 50    /* verdict changes kept, newest last */
#define RECORD_MAX_OVERRIDES 50

struct record_override {
	char *user;
	char *reason;
	char *commit;      /* the commit pushed past the verdict */
	char *target;      /* the stage it was pushed to */
	int64_t time_ms;
};

struct record_event {
	enum verify_outcome verdict;
	int revoked;
	int64_t time_ms;
	char *reason;
};

struct verify_record {
	char *stage;
	char tree[41];
	char commit[41];          /* the stage's tip when evaluated */
	enum verify_outcome verdict;
	char *reason;
	long long counts[VS_NSTATES];
	size_t managed, changed, healthy, failed;
	struct verify_failing *failing; /* at most RECORD_MAX_FAILING */
	size_t nfailing;
	int64_t evaluated_ms;
	int64_t since_ms;         /* the tree is the stage's tip since */
	int64_t healthy_since_ms; /* 0: not */
	int64_t verified_ms;      /* when it was first verified; 0: never */
	int64_t soak_left_ms;
	char *inherited_from;     /* a tree, or NULL */
	char *desired;            /* digest of the stage's desired states at the tree */
	unsigned long min_devices;
	long max_failures;
	double max_failure_ratio;
	int64_t soak_ms, timeout_ms;
	char *halted;             /* the commit whose rollout was halted, or NULL */
	struct record_override *overrides;
	size_t noverrides;
	struct record_event *history;
	size_t nhistory;
};

void record_init(struct verify_record *r);
void record_release(struct verify_record *r);

/* The record as one JSON object (malloc'd), keys in a fixed order. */
char *record_encode(const struct verify_record *r);

/* Parse a record; FG_EINVAL with a message naming what is wrong (`what`
 * names the note: "refs/notes/fleetgate/canary, tree 3f2a…"). `out` is
 * initialised here and released on error. */
int record_decode(const char *text, size_t len, const char *what, struct verify_record *out);

/* "refs/notes/fleetgate/<stage>", malloc'd. */
char *record_ref(const char *stage);

/*
 * Read the record of (`stage`, `tree`) from `repo`: 0 with *found 1, or
 * *found 0 when there is none; `ref_id` (41 bytes, may be NULL) gets the
 * notes ref's commit for record_write. Errors: FG_EGIT, FG_EINVAL (a
 * record that is no record), FG_ELIMIT.
 */
int record_read(struct fg_repo *repo, const char *stage, const char *tree,
		struct verify_record *out, int *found, char *ref_id);

/*
 * Write `r` as the record of (r->stage, r->tree), a compare-and-swap
 * update of refs/notes/fleetgate/<stage>. When the ref moved since it was
 * read, the record there now is read again and `merge` (may be NULL)
 * called with it and `r` to keep what the other writer added (overrides,
 * history), up to 8 times. 0, or the last error.
 */
typedef void (*record_merge_fn)(struct verify_record *ours, const struct verify_record *theirs);
int record_write(struct fg_repo *repo, struct verify_record *r, const char *ref_id,
		 record_merge_fn merge);

/* Keep the overrides and history entries of `theirs` that `ours` lacks. */
void record_merge_keep(struct verify_record *ours, const struct verify_record *theirs);

/* Append a history entry (dropping the oldest past RECORD_MAX_HISTORY). */
void record_add_event(struct verify_record *r, enum verify_outcome v, int revoked, int64_t time_ms,
		      const char *reason);

/* Append an override (dropping the oldest past RECORD_MAX_OVERRIDES). */
void record_add_override(struct verify_record *r, const char *user, const char *reason,
			 const char *commit, const char *target, int64_t time_ms);

/* The record of each stage that has rules, for the tree at its tip, read
 * from the repository alone (status, metrics, the gate). */
struct record_stage {
	char *stage;
	int found;               /* the stage exists and its tip's tree has a record */
	struct verify_record record;
};

/* One entry per stage of `vs` with rules, in their order. Errors: those
 * of record_read (a stage that does not exist is found 0). Free with
 * record_stages_free(). */
int record_read_stages(struct fg_repo *repo, const struct verify_settings *vs,
		       struct record_stage **out, size_t *n);
void record_stages_free(struct record_stage *s, size_t n);

/* "2026-12-02T10:41:00Z" for `ms` into `buf` (at least 32 bytes). */
void record_format_time(int64_t ms, char *buf, size_t size);

#endif
