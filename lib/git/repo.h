#ifndef FLEETGATE_REPO_H
#define FLEETGATE_REPO_H

#include <stddef.h>

#include "fleet/source.h"

/*
 * The git repository, read through libgit2. This is the only module that
 * includes <git2.h>; it translates libgit2's errors into ours (FG_EGIT with
 * libgit2's message and what we were doing). fleetgate writes through it
 * only its evidence notes (repo_note_write) and, for install, settings.
 *
 * git_libgit2_init() / git_libgit2_shutdown() are the program's: call
 * repo_global_init() once in main and repo_global_shutdown() before exit.
 */

struct fg_repo;

int repo_global_init(void);
void repo_global_shutdown(void);

/*
 * Open a repository.
 *  - `path` given (--repo): that bare repository or clone, no searching up.
 *  - `path` NULL: from git's environment when GIT_DIR is set (this is how a
 *    hook sees the objects of a push still in quarantine, and GIT_INDEX_FILE
 *    in pre-commit), else the repository around the current folder.
 * A repository libgit2 cannot read (e.g. SHA-256 object format) is FG_EGIT
 * with a message that says so. Free with repo_free().
 */
int repo_open(struct fg_repo **out, const char *path);
void repo_free(struct fg_repo *repo);

/* The working tree's folder (with a trailing '/'), or NULL for a bare repo. */
const char *repo_workdir(const struct fg_repo *repo);

/* The repository's git folder (for the spool, hooks, settings). */
const char *repo_gitdir(const struct fg_repo *repo);

/* A source over the staged content (git's index, honouring GIT_INDEX_FILE). */
int repo_source_index(struct fg_repo *repo, struct source *out);

/* A source over the tree of commit `rev` (any revision git understands).
 * FG_ENOTFOUND when `rev` does not name a commit. The source keeps a
 * reference to `repo`, which must outlive it. */
int repo_source_rev(struct fg_repo *repo, const char *rev, struct source *out);

/* Full hex id of the commit `rev` names, into `hex` (at least 41 bytes). */
int repo_resolve_commit(struct fg_repo *repo, const char *rev, char *hex);

/* Names of local branches and of remote-tracking branches with their
 * remote's name removed ("origin/canary" -> "canary"), sorted, unique.
 * Free with fg_strings_free(). */
int repo_branch_names(struct fg_repo *repo, char ***names, size_t *count);

/* A setting from the repository's git config (including the global and
 * system files). FG_ENOTFOUND when unset. *value is malloc'd. */
int repo_config_string(struct fg_repo *repo, const char *key, char **value);

/* ---- history, for the promotion rules ---- */

struct policy_commit;

/* Full hex id of refs/heads/<branch> (before a push, in a hook). */
int repo_branch_tip(struct fg_repo *repo, const char *branch, char *hex);

/*
 * Resolve branch `name` the way a CI clone holds it: the local branch
 * refs/heads/<name>, else origin's remote-tracking branch
 * refs/remotes/origin/<name> (a CI job's clone often has no local branch at
 * all). Fills `hex` (at least 41 bytes) with the commit it points to and
 * sets *found to 1; when neither ref exists, *found is 0 and `hex` all
 * zeros, which is not an error (a branch yet to be created). FG_EINVAL when
 * `name` is not a valid branch name, FG_EGIT when a ref cannot be read.
 */
int repo_resolve_branch(struct fg_repo *repo, const char *name, char *hex, int *found);

/* Whether the repository is a shallow clone: its history is cut off, so
 * "is X in the history of Y" cannot be answered from it. */
int repo_is_shallow(struct fg_repo *repo);

/* Parents, tree and subject of commit `hex` (see lib/rules/policy.h). */
int repo_commit_read(struct fg_repo *repo, const char *hex, struct policy_commit *out);

/* *yes = `ancestor` is `descendant` or one of its ancestors. Unrelated
 * histories are "no", not an error. */
int repo_is_ancestor(struct fg_repo *repo, const char *ancestor, const char *descendant, int *yes);

/* Commits reachable from `tip` and from none of `hide` (NULLs skipped), at
 * most `max` (FG_ELIMIT past it). *ids: malloc'd strings, free with
 * fg_strings_free(). */
int repo_commits_between(struct fg_repo *repo, const char *tip, const char *const *hide,
			 size_t nhide, size_t max, char ***ids, size_t *count);

/* Names of local branches only (under refs/heads), for the server side. */
int repo_local_branches(struct fg_repo *repo, char ***names, size_t *count);

/* Every setting whose name starts with `prefix` (e.g. "fleetgate.pushers."):
 * names (as git normalises them) and values, malloc'd; free both with
 * fg_strings_free(). */
int repo_config_prefixed(struct fg_repo *repo, const char *prefix, char ***names, char ***values,
			 size_t *count);

/* Set a value in the repository's own config file (.git/config). */
int repo_config_set(struct fg_repo *repo, const char *key, const char *value);

/* SHA-1 of `len` bytes as hex (41 bytes), for names of files. */
void repo_hash_hex(const void *data, size_t len, char *hex);

/*
 * The ref git really writes when a push names `refname`: a symbolic ref
 * (an alias such as refs/heads/master -> refs/heads/main, which an admin
 * can make in a bare repository) is followed to its target, as git does;
 * any other name, existing or not, is itself. *out is malloc'd.
 */
int repo_ref_written_name(struct fg_repo *repo, const char *refname, char **out);

/* The id ref `refname` (a full name, symbolic refs followed) points to,
 * into `hex` (41 bytes); FG_ENOTFOUND when it does not exist. */
int repo_ref_id(struct fg_repo *repo, const char *refname, char *hex);

/* A source over the tree at the tip of branch `branch`: refs/heads/<branch>
 * only, never a tag or another ref of that short name. Fills `hex` (41
 * bytes, may be NULL) with the commit's id. FG_ENOTFOUND when there is no
 * such branch, FG_EINVAL when it does not point at a commit. */
int repo_source_branch(struct fg_repo *repo, const char *branch, struct source *out, char *hex);

/* ---- fleetgate's evidence notes (refs/notes/fleetgate/<stage>) ---- */

/*
 * The note that notes ref `notes_ref` attaches to object `oid_hex` (a tree
 * id), at most `max` bytes: *data (malloc'd, NUL-terminated) and *len.
 * `ref_id` (41 bytes, may be NULL) gets the notes ref's commit, all zeros
 * when the ref does not exist, for a later repo_note_write. FG_ENOTFOUND
 * when there is no such note (the ref's id is still filled); FG_ELIMIT
 * over `max`; FG_EINVAL when the note holds a NUL byte.
 */
int repo_note_read(struct fg_repo *repo, const char *notes_ref, const char *oid_hex, size_t max,
		   char **data, size_t *len, char *ref_id);

/*
 * Attach `text` to `oid_hex` in `notes_ref` (replacing its note) as one new
 * notes commit whose parent is `expected` (all zeros: the ref must not
 * exist yet), and move the ref to it only if it still points at
 * `expected`: a compare-and-swap, so two writers never lose each other's
 * notes. FG_ECHANGED when the ref moved (read again, merge, retry);
 * FG_EGIT otherwise. `message` is the notes commit's message.
 */
int repo_note_write(struct fg_repo *repo, const char *notes_ref, const char *oid_hex,
		    const char *text, const char *expected, const char *message);

/* The tree id of commit `hex` into `tree` (41 bytes). */
int repo_commit_tree(struct fg_repo *repo, const char *hex, char *tree);

/* ---- for `fleetgate install` only ---- */

/* The ref HEAD names ("refs/heads/master", malloc'd) and whether that ref
 * exists; *ref is NULL when HEAD is not a symbolic ref (detached). */
int repo_head_target(struct fg_repo *repo, char **ref, int *exists);

/* Point HEAD at `ref`, a branch that may not exist yet. libgit2 writes it
 * whole or not at all (a lock file renamed over HEAD). */
int repo_set_head(struct fg_repo *repo, const char *ref);

/* Remove `key` from the repository's own config file (nothing when unset). */
int repo_config_unset(struct fg_repo *repo, const char *key);

/*
 * The merge a forge makes of `theirs` into `ours` (both full hex commit
 * ids), computed in memory as git's three-way merge: *clean 0 when it
 * conflicts; else *same_as_theirs says whether its tree equals the tree of
 * `theirs` (the merge brings in `theirs` unchanged). Writes no object and
 * no index.
 */
int repo_merge_result(struct fg_repo *repo, const char *ours, const char *theirs, int *clean,
		      int *same_as_theirs);

/* A branch named as git users name it, resolved (repo_branch_spec_resolve). */
struct repo_branch_spec {
	char *branch; /* the branch's name on the server: "main" */
	char *ref;    /* the ref it was read from ("refs/remotes/origin/main"), NULL when not found */
	char id[41];  /* the commit it points to; all zeros when not found */
	int found;
	char *tried;  /* when not found, for a message: "neither refs/heads/x nor
		       * refs/remotes/origin/x exists" */
};

/*
 * Resolve `spec` as git resolves a branch: "main" is refs/heads/main, else
 * refs/remotes/origin/main (a CI clone has only those); "origin/main" is
 * refs/heads/origin/main, else refs/remotes/origin/main (branch "main");
 * "refs/heads/main" is that ref, else refs/remotes/origin/main (the server's
 * branch, in a clone); "refs/remotes/<remote>/main" is that ref. A
 * branch that exists nowhere is out->found 0 with out->branch the name it
 * would have and out->tried naming the refs looked up; that is not an
 * error. FG_EINVAL (with a message) when `spec` cannot name a branch (an
 * invalid name, refs/tags/...), FG_EGIT when a ref cannot be read. Release
 * `out` with repo_branch_spec_release() after success.
 */
int repo_branch_spec_resolve(struct fg_repo *repo, const char *spec, struct repo_branch_spec *out);
void repo_branch_spec_release(struct repo_branch_spec *s);

#endif
