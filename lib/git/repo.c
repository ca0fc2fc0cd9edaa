#include "git/repo.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "fleet/fleet.h"
#include "git/commit.h"

#include <git2.h>
#include <git2/sys/repository.h>
#include <stdlib.h>
#include <string.h>

struct fg_repo {
	git_repository *git;
};

static int git_fail(const char *what)
{
	const git_error *e = git_error_last();

	return fg_error_set(FG_EGIT, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

int repo_global_init(void)
{
	if (git_libgit2_init() < 0)
		return git_fail("initialising libgit2");
	return 0;
}

void repo_global_shutdown(void)
{
	git_libgit2_shutdown();
}

static int explain_open_error(const char *where, int err)
{
	const git_error *e = git_error_last();
	const char *msg = e && e->message ? e->message : "";

	/* A CI job in a container runs as root in a checkout owned by the
	 * runner's user; libgit2's own message does not say what to do (and
	 * 1.5 reports it as the failed lookup of safe.directory). */
	if (err == GIT_EOWNER || strstr(msg, "safe.directory") || strstr(msg, "not owned by current user"))
		return fg_error_set(FG_EGIT,
				    "%s: the repository belongs to another user; if you trust it, run: git config --global --add safe.directory <its path>",
				    where);
	if (strstr(msg, "objectformat") || strstr(msg, "unsupported extension"))
		return fg_error_set(FG_EGIT,
				    "%s: repository format not supported (%s); fleetgate reads SHA-1 repositories only",
				    where, msg);
	return fg_error_set(FG_EGIT, "%s: not a git repository (%s)", where, msg);
}

/* GIT_DIR with GIT_WORK_TREE set (git commit --work-tree=..., some IDEs):
 * libgit2's FROM_ENV refuses it, so open the pieces by hand. */
static int open_with_worktree(git_repository **git, const char *gitdir, const char *worktree)
{
	int err = git_repository_open_ext(git, gitdir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);

	if (err < 0)
		return explain_open_error(gitdir, err);
	if (git_repository_set_workdir(*git, worktree, 0) < 0)
		return git_fail(worktree);
	return 0;
}

static int use_index_file(git_repository *git, const char *index_file)
{
	git_index *index = NULL;
	int rc = 0;

	if (git_index_open(&index, index_file) < 0)
		return git_fail(index_file);
	if (git_repository_set_index(git, index) < 0)
		rc = git_fail(index_file);
	git_index_free(index);
	return rc;
}

int repo_open(struct fg_repo **out, const char *path)
{
	git_repository *git = NULL;
	const char *gitdir = getenv("GIT_DIR");
	const char *worktree = getenv("GIT_WORK_TREE");
	const char *index_file = getenv("GIT_INDEX_FILE");
	int err, rc = 0;

	*out = NULL;
	if (path) {
		err = git_repository_open_ext(&git, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
		if (err < 0)
			return explain_open_error(path, err);
		index_file = NULL;
	} else if (gitdir && worktree) {
		rc = open_with_worktree(&git, gitdir, worktree);
	} else if (gitdir) {
		err = git_repository_open_ext(&git, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL);
		if (err < 0)
			rc = explain_open_error(gitdir, err);
	} else if ((err = git_repository_open_ext(&git, ".", 0, NULL)) < 0) {
		rc = explain_open_error("current folder", err);
	}
	if (!rc && index_file && *index_file)
		rc = use_index_file(git, index_file);
	if (rc) {
		git_repository_free(git);
		return rc;
	}
	*out = fg_calloc(1, sizeof(**out));
	(*out)->git = git;
	return 0;
}

void repo_free(struct fg_repo *repo)
{
	if (!repo)
		return;
	git_repository_free(repo->git);
	free(repo);
}

const char *repo_workdir(const struct fg_repo *repo)
{
	return git_repository_workdir(repo->git);
}

const char *repo_gitdir(const struct fg_repo *repo)
{
	return git_repository_path(repo->git);
}

static enum source_type filemode_type(git_filemode_t mode)
{
	switch (mode) {
	case GIT_FILEMODE_BLOB:
	case GIT_FILEMODE_BLOB_EXECUTABLE:
		return SOURCE_FILE;
	case GIT_FILEMODE_TREE:
		return SOURCE_DIR;
	case GIT_FILEMODE_LINK:
		return SOURCE_SYMLINK;
	case GIT_FILEMODE_COMMIT:
		return SOURCE_SUBMODULE;
	default:
		return SOURCE_OTHER;
	}
}

/*
 * Copy a blob's bytes (not NUL-terminated in libgit2) into a string.
 *
 * The object's header is read first, so that nothing is inflated before it
 * is known to be a blob of at most `max` bytes: a 1 MiB pack can carry a
 * 1 GiB file of one repeated line, and libgit2 inflates an object whole. A
 * tree entry or an index entry with a file's mode may name a tree or a
 * commit (git never writes one, an attacker's tool can): libgit2 would fail
 * with a message that names no file, so it is refused here by name.
 */
static int blob_copy(git_repository *git, const git_oid *id, const char *path, size_t max,
		     char **data, size_t *len)
{
	git_odb *odb = NULL;
	git_blob *blob = NULL;
	git_object_t type;
	size_t size;
	char short_id[8];
	int rc = 0;

	if (git_repository_odb(&odb, git) < 0 || git_odb_read_header(&size, &type, odb, id) < 0) {
		rc = git_fail(path);
		goto done;
	}
	if (type != GIT_OBJECT_BLOB) {
		git_oid_tostr(short_id, sizeof(short_id), id);
		rc = fg_error_set(FG_EINVAL,
				  "%s: object %s is a %s where a file's content should be (a malformed tree)",
				  path, short_id, git_object_type2string(type));
		goto done;
	}
	if (size > max) {
		rc = fg_error_set(FG_ELIMIT, "%s: %zu bytes, larger than %zu bytes", path, size, max);
		goto done;
	}
	if (git_blob_lookup(&blob, git, id) < 0) {
		rc = git_fail(path);
		goto done;
	}
	/* libgit2 inflates the object into a buffer of the header's size and
	 * checks the content against the id: the two sizes agree. */
	*len = (size_t)git_blob_rawsize(blob);
	*data = fg_strndup(git_blob_rawcontent(blob), *len);
done:
	git_blob_free(blob);
	git_odb_free(odb);
	return rc;
}

/* ---- the index (staged content) ---- */

struct index_source {
	struct fg_repo *repo;
	git_index *index;
};

static int index_type(void *ctx, const char *path, enum source_type *out)
{
	struct index_source *s = ctx;
	const git_index_entry *e = git_index_get_bypath(s->index, path, 0);
	char *prefix;
	size_t pos;

	if (e) {
		*out = filemode_type(e->mode);
		return 0;
	}
	prefix = fg_asprintf("%s/", path);
	*out = git_index_find_prefix(&pos, s->index, prefix) == 0 ? SOURCE_DIR : SOURCE_MISSING;
	free(prefix);
	return 0;
}

static int index_list(void *ctx, const char *dir, struct source_entry **out, size_t *count)
{
	struct index_source *s = ctx;
	struct source_entry *entries = NULL;
	size_t n = 0, alloc = 0, pos, plen;
	char *prefix = dir[0] ? fg_asprintf("%s/", dir) : fg_strdup("");
	const git_index_entry *e;

	plen = strlen(prefix);
	if (git_index_find_prefix(&pos, s->index, prefix) < 0)
		pos = git_index_entrycount(s->index);
	for (; (e = git_index_get_byindex(s->index, pos)); pos++) {
		const char *rest, *slash;
		size_t nlen;

		if (strncmp(e->path, prefix, plen))
			break;
		if (git_index_entry_stage(e) != 0)
			continue;
		rest = e->path + plen;
		slash = strchr(rest, '/');
		nlen = slash ? (size_t)(slash - rest) : strlen(rest);
		if (n && strlen(entries[n - 1].name) == nlen && !strncmp(entries[n - 1].name, rest, nlen))
			continue;
		entries = fg_grow(entries, &alloc, n + 1, sizeof(*entries));
		entries[n].name = fg_strndup(rest, nlen);
		entries[n].type = slash ? SOURCE_DIR : filemode_type(e->mode);
		n++;
	}
	free(prefix);
	/* Index order puts "a.b" before "a/x"; names must be sorted. */
	source_entries_sort(entries, n);
	*out = entries;
	*count = n;
	return 0;
}

static int index_read(void *ctx, const char *path, size_t max, char **data, size_t *len)
{
	struct index_source *s = ctx;
	const git_index_entry *e = git_index_get_bypath(s->index, path, 0);

	*data = NULL;
	*len = 0;
	if (!e)
		return fg_error_set(FG_ENOTFOUND, "%s: not in the index", path);
	return blob_copy(s->repo->git, &e->id, path, max, data, len);
}

static void index_free(void *ctx)
{
	struct index_source *s = ctx;

	git_index_free(s->index);
	free(s);
}

static const struct source_ops index_ops = {
	.type = index_type,
	.list = index_list,
	.read = index_read,
	.free = index_free,
};

int repo_source_index(struct fg_repo *repo, struct source *out)
{
	struct index_source *s;
	git_index *index = NULL;

	memset(out, 0, sizeof(*out));
	if (git_repository_index(&index, repo->git) < 0)
		return git_fail("reading the index");
	s = fg_calloc(1, sizeof(*s));
	s->repo = repo;
	s->index = index;
	out->ops = &index_ops;
	out->ctx = s;
	out->label = fg_strdup("the index (staged changes)");
	return 0;
}

/* ---- a commit's tree ---- */

struct tree_source {
	struct fg_repo *repo;
	git_tree *root;
	/* The last folder listed or read from, kept because device files are
	 * read one after another from the same folder. */
	char *dir_path;
	git_tree *dir;
};

/* The tree of folder `dir` ("" for the root); NULL with *type set when
 * `dir` is missing or not a folder. The tree is owned by the source. */
static int tree_dir(struct tree_source *s, const char *dir, git_tree **tree, enum source_type *type)
{
	git_tree_entry *entry = NULL;
	int err;

	*tree = NULL;
	*type = SOURCE_DIR;
	if (!dir[0]) {
		*tree = s->root;
		return 0;
	}
	if (s->dir && !strcmp(s->dir_path, dir)) {
		*tree = s->dir;
		return 0;
	}
	err = git_tree_entry_bypath(&entry, s->root, dir);
	if (err == GIT_ENOTFOUND) {
		*type = SOURCE_MISSING;
		return 0;
	}
	if (err < 0)
		return git_fail(dir);
	*type = filemode_type(git_tree_entry_filemode(entry));
	if (*type == SOURCE_DIR) {
		git_tree_free(s->dir);
		free(s->dir_path);
		s->dir = NULL;
		s->dir_path = NULL;
		if (git_tree_lookup(&s->dir, s->repo->git, git_tree_entry_id(entry)) < 0) {
			git_tree_entry_free(entry);
			return git_fail(dir);
		}
		s->dir_path = fg_strdup(dir);
		*tree = s->dir;
	}
	git_tree_entry_free(entry);
	return 0;
}

/* Split "a/b/c" into folder "a/b" and name "c". */
static void split_path(const char *path, char **dir, const char **name)
{
	const char *slash = strrchr(path, '/');

	*dir = slash ? fg_strndup(path, (size_t)(slash - path)) : fg_strdup("");
	*name = slash ? slash + 1 : path;
}

static int tree_entry(struct tree_source *s, const char *path, const git_tree_entry **entry)
{
	enum source_type type;
	git_tree *tree;
	const char *name;
	char *dir;
	int rc;

	*entry = NULL;
	split_path(path, &dir, &name);
	rc = tree_dir(s, dir, &tree, &type);
	if (!rc && tree)
		*entry = git_tree_entry_byname(tree, name);
	free(dir);
	return rc;
}

static int tree_type(void *ctx, const char *path, enum source_type *out)
{
	const git_tree_entry *entry;
	int rc = tree_entry(ctx, path, &entry);

	if (rc)
		return rc;
	*out = entry ? filemode_type(git_tree_entry_filemode(entry)) : SOURCE_MISSING;
	return 0;
}

static int tree_list(void *ctx, const char *dir, struct source_entry **out, size_t *count)
{
	struct tree_source *s = ctx;
	struct source_entry *entries = NULL;
	enum source_type type;
	git_tree *tree;
	size_t i, n;
	int rc;

	*out = NULL;
	*count = 0;
	rc = tree_dir(s, dir, &tree, &type);
	if (rc || !tree)
		return rc;
	n = git_tree_entrycount(tree);
	entries = fg_calloc(n ? n : 1, sizeof(*entries));
	for (i = 0; i < n; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);

		entries[i].name = fg_strdup(git_tree_entry_name(e));
		entries[i].type = filemode_type(git_tree_entry_filemode(e));
	}
	source_entries_sort(entries, n);
	*out = entries;
	*count = n;
	return 0;
}

static int tree_read(void *ctx, const char *path, size_t max, char **data, size_t *len)
{
	struct tree_source *s = ctx;
	const git_tree_entry *entry;
	int rc = tree_entry(s, path, &entry);

	*data = NULL;
	*len = 0;
	if (rc)
		return rc;
	if (!entry)
		return fg_error_set(FG_ENOTFOUND, "%s: not in the commit", path);
	if (filemode_type(git_tree_entry_filemode(entry)) != SOURCE_FILE)
		return fg_error_set(FG_EINVAL, "%s: not a regular file", path);
	return blob_copy(s->repo->git, git_tree_entry_id(entry), path, max, data, len);
}

static void tree_free(void *ctx)
{
	struct tree_source *s = ctx;

	git_tree_free(s->dir);
	free(s->dir_path);
	git_tree_free(s->root);
	free(s);
}

static const struct source_ops tree_ops = {
	.type = tree_type,
	.list = tree_list,
	.read = tree_read,
	.free = tree_free,
};

static int lookup_commit(struct fg_repo *repo, const char *rev, git_commit **commit)
{
	git_object *obj = NULL;
	int err;

	err = git_revparse_single(&obj, repo->git, rev);
	if (err == GIT_ENOTFOUND || err == GIT_EAMBIGUOUS || err == GIT_EINVALIDSPEC)
		return fg_error_set(FG_ENOTFOUND, "'%s' does not name a commit", rev);
	if (err < 0)
		return git_fail(rev);
	err = git_object_peel((git_object **)commit, obj, GIT_OBJECT_COMMIT);
	git_object_free(obj);
	if (err < 0)
		return fg_error_set(FG_ENOTFOUND, "'%s' does not name a commit", rev);
	return 0;
}

int repo_source_rev(struct fg_repo *repo, const char *rev, struct source *out)
{
	struct tree_source *s;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	char hex[GIT_OID_HEXSZ + 1];
	int rc;

	memset(out, 0, sizeof(*out));
	rc = lookup_commit(repo, rev, &commit);
	if (rc)
		return rc;
	if (git_commit_tree(&tree, commit) < 0) {
		rc = git_fail(rev);
		git_commit_free(commit);
		return rc;
	}
	git_oid_tostr(hex, 8, git_commit_id(commit));
	git_commit_free(commit);
	s = fg_calloc(1, sizeof(*s));
	s->repo = repo;
	s->root = tree;
	out->ops = &tree_ops;
	out->ctx = s;
	out->label = fg_asprintf("commit %s", hex);
	return 0;
}

int repo_resolve_commit(struct fg_repo *repo, const char *rev, char *hex)
{
	git_commit *commit = NULL;
	int rc = lookup_commit(repo, rev, &commit);

	if (rc)
		return rc;
	git_oid_tostr(hex, GIT_OID_HEXSZ + 1, git_commit_id(commit));
	git_commit_free(commit);
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Branch names of `which` kind, remote ones without their remote's name. */
static int list_branches(struct fg_repo *repo, git_branch_t which, char ***names, size_t *count)
{
	git_branch_iterator *it = NULL;
	git_reference *ref = NULL;
	git_branch_t type;
	char **out = NULL;
	size_t n = 0, alloc = 0;
	int err;

	*names = NULL;
	*count = 0;
	if (git_branch_iterator_new(&it, repo->git, which) < 0)
		return git_fail("listing branches");
	while ((err = git_branch_next(&ref, &type, it)) == 0) {
		const char *name = NULL;

		if (git_branch_name(&name, ref) == 0 && name) {
			if (type == GIT_BRANCH_REMOTE) {
				const char *slash = strchr(name, '/');

				name = slash ? slash + 1 : name;
			}
			if (strcmp(name, "HEAD")) {
				out = fg_grow(out, &alloc, n + 1, sizeof(*out));
				out[n++] = fg_strdup(name);
			}
		}
		git_reference_free(ref);
	}
	git_branch_iterator_free(it);
	if (err != GIT_ITEROVER) {
		fg_strings_free(out, n);
		return git_fail("listing branches");
	}
	*names = out;
	*count = n;
	return 0;
}

int repo_branch_names(struct fg_repo *repo, char ***names, size_t *count)
{
	char **out;
	size_t n, i, kept;
	int rc = list_branches(repo, GIT_BRANCH_ALL, &out, &n);

	if (rc)
		return rc;
	if (n)
		qsort(out, n, sizeof(*out), str_cmp);
	for (i = 0, kept = 0; i < n; i++) {
		if (kept && !strcmp(out[kept - 1], out[i])) {
			free(out[i]);
			continue;
		}
		out[kept++] = out[i];
	}
	*names = out;
	*count = kept;
	return 0;
}


int repo_config_string(struct fg_repo *repo, const char *key, char **value)
{
	git_config *cfg = NULL;
	git_buf buf = { 0 };
	int err, rc = 0;

	*value = NULL;
	if (git_repository_config_snapshot(&cfg, repo->git) < 0)
		return git_fail("reading git config");
	err = git_config_get_string_buf(&buf, cfg, key);
	if (err == GIT_ENOTFOUND)
		rc = fg_error_set(FG_ENOTFOUND, "git config %s is not set", key);
	else if (err < 0)
		rc = git_fail(key);
	else
		*value = fg_strdup(buf.ptr);
	git_buf_dispose(&buf);
	git_config_free(cfg);
	return rc;
}

static int parse_oid(git_oid *oid, const char *hex)
{
	if (git_oid_fromstr(oid, hex) < 0)
		return fg_error_set(FG_EINVAL, "'%s' is not an object id", hex);
	return 0;
}

int repo_branch_tip(struct fg_repo *repo, const char *branch, char *hex)
{
	git_reference *ref = NULL, *resolved = NULL;
	char *name = fg_asprintf("refs/heads/%s", branch);
	int err, rc = 0;

	err = git_reference_lookup(&ref, repo->git, name);
	if (err == GIT_ENOTFOUND)
		rc = fg_error_set(FG_ENOTFOUND, "branch '%s' does not exist", branch);
	else if (err < 0 || git_reference_resolve(&resolved, ref) < 0)
		rc = git_fail(name);
	else
		git_oid_tostr(hex, GIT_OID_HEXSZ + 1, git_reference_target(resolved));
	git_reference_free(resolved);
	git_reference_free(ref);
	free(name);
	return rc;
}

static int peel_branch_ref(struct fg_repo *repo, const char *refname, char *hex, int *found);

int repo_resolve_branch(struct fg_repo *repo, const char *name, char *hex, int *found)
{
	static const char *const prefixes[] = { "refs/heads/", "refs/remotes/origin/" };
	size_t i;
	int rc = 0;

	*found = 0;
	memset(hex, '0', GIT_OID_HEXSZ);
	hex[GIT_OID_HEXSZ] = '\0';
	if (!fleet_branch_name_valid(name))
		return fg_error_set(FG_EINVAL, "'%s' is not a valid branch name", name);
	for (i = 0; i < sizeof(prefixes) / sizeof(*prefixes) && !*found && !rc; i++) {
		char *refname = fg_asprintf("%s%s", prefixes[i], name);

		rc = peel_branch_ref(repo, refname, hex, found);
		free(refname);
	}
	return rc;
}

int repo_is_shallow(struct fg_repo *repo)
{
	return git_repository_is_shallow(repo->git) == 1;
}

int repo_commit_read(struct fg_repo *repo, const char *hex, struct policy_commit *out)
{
	git_commit *commit = NULL;
	git_oid oid;
	const char *msg, *eol;
	unsigned i, n;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = parse_oid(&oid, hex);
	if (rc)
		return rc;
	if (git_commit_lookup(&commit, repo->git, &oid) < 0)
		return git_fail(hex);
	git_oid_tostr(out->id, sizeof(out->id), git_commit_id(commit));
	git_oid_tostr(out->tree, sizeof(out->tree), git_commit_tree_id(commit));
	n = git_commit_parentcount(commit);
	out->parents = fg_calloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++) {
		out->parents[i] = fg_malloc(GIT_OID_HEXSZ + 1);
		git_oid_tostr(out->parents[i], GIT_OID_HEXSZ + 1, git_commit_parent_id(commit, i));
	}
	out->nparents = n;
	msg = git_commit_message_raw(commit);
	msg = msg ? msg : "";
	while (*msg == '\n')
		msg++;
	eol = strchr(msg, '\n');
	/* whole: a refusal shortens it for display, visibly (lib/rules/report.c) */
	out->subject = fg_strndup(msg, eol ? (size_t)(eol - msg) : strlen(msg));
	git_commit_free(commit);
	return 0;
}

int repo_is_ancestor(struct fg_repo *repo, const char *ancestor, const char *descendant, int *yes)
{
	git_oid a, d;
	int err, rc;

	*yes = 0;
	if ((rc = parse_oid(&a, ancestor)) || (rc = parse_oid(&d, descendant)))
		return rc;
	if (git_oid_equal(&a, &d)) {
		*yes = 1;
		return 0;
	}
	err = git_graph_descendant_of(repo->git, &d, &a);
	if (err < 0)
		return git_fail("comparing histories");
	*yes = err == 1;
	return 0;
}

int repo_commits_between(struct fg_repo *repo, const char *tip, const char *const *hide,
			 size_t nhide, size_t max, char ***ids, size_t *count)
{
	git_revwalk *walk = NULL;
	git_oid oid;
	char **out = NULL;
	size_t n = 0, alloc = 0, i;
	int err, rc = 0;

	*ids = NULL;
	*count = 0;
	if (git_revwalk_new(&walk, repo->git) < 0)
		return git_fail("walking history");
	git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL);
	if ((rc = parse_oid(&oid, tip)))
		goto done;
	if (git_revwalk_push(walk, &oid) < 0) {
		rc = git_fail(tip);
		goto done;
	}
	for (i = 0; i < nhide; i++) {
		if (!hide[i])
			continue;
		if ((rc = parse_oid(&oid, hide[i])))
			goto done;
		if (git_revwalk_hide(walk, &oid) < 0) {
			rc = git_fail(hide[i]);
			goto done;
		}
	}
	while ((err = git_revwalk_next(&oid, walk)) == 0) {
		if (n == max) {
			rc = fg_error_set(FG_ELIMIT, "more than %zu commits", max);
			goto done;
		}
		out = fg_grow(out, &alloc, n + 1, sizeof(*out));
		out[n] = fg_malloc(GIT_OID_HEXSZ + 1);
		git_oid_tostr(out[n], GIT_OID_HEXSZ + 1, &oid);
		n++;
	}
	if (err != GIT_ITEROVER)
		rc = git_fail("walking history");
done:
	git_revwalk_free(walk);
	if (rc) {
		fg_strings_free(out, n);
		return rc;
	}
	*ids = out;
	*count = n;
	return 0;
}

int repo_local_branches(struct fg_repo *repo, char ***names, size_t *count)
{
	return list_branches(repo, GIT_BRANCH_LOCAL, names, count);
}

int repo_config_set(struct fg_repo *repo, const char *key, const char *value)
{
	git_config *cfg = NULL, *local = NULL;
	int rc = 0;

	if (git_repository_config(&cfg, repo->git) < 0)
		return git_fail("opening git config");
	if (git_config_open_level(&local, cfg, GIT_CONFIG_LEVEL_LOCAL) < 0 ||
	    git_config_set_string(local, key, value) < 0)
		rc = git_fail(key);
	git_config_free(local);
	git_config_free(cfg);
	return rc;
}

void repo_hash_hex(const void *data, size_t len, char *hex)
{
	git_oid oid;

	memset(&oid, 0, sizeof(oid));
	git_odb_hash(&oid, data, len, GIT_OBJECT_BLOB);
	git_oid_tostr(hex, GIT_OID_HEXSZ + 1, &oid);
}

int repo_config_prefixed(struct fg_repo *repo, const char *prefix, char ***names, char ***values,
			 size_t *count)
{
	git_config *cfg = NULL;
	git_config_iterator *it = NULL;
	git_config_entry *entry;
	size_t n = 0, alloc_n = 0, alloc_v = 0, plen = strlen(prefix);
	char **nv = NULL, **vv = NULL;
	int err, rc = 0;

	*names = NULL;
	*values = NULL;
	*count = 0;
	if (git_repository_config_snapshot(&cfg, repo->git) < 0)
		return git_fail("reading git config");
	if (git_config_iterator_new(&it, cfg) < 0) {
		git_config_free(cfg);
		return git_fail("reading git config");
	}
	while ((err = git_config_next(&entry, it)) == 0) {
		if (strncmp(entry->name, prefix, plen) || !entry->name[plen])
			continue;
		nv = fg_grow(nv, &alloc_n, n + 1, sizeof(*nv));
		vv = fg_grow(vv, &alloc_v, n + 1, sizeof(*vv));
		nv[n] = fg_strdup(entry->name);
		vv[n] = fg_strdup(entry->value ? entry->value : "");
		n++;
	}
	if (err != GIT_ITEROVER) {
		rc = git_fail("reading git config");
		fg_strings_free(nv, n);
		fg_strings_free(vv, n);
		nv = vv = NULL;
		n = 0;
	}
	git_config_iterator_free(it);
	git_config_free(cfg);
	*names = nv;
	*values = vv;
	*count = n;
	return rc;
}

int repo_ref_written_name(struct fg_repo *repo, const char *refname, char **out)
{
	char *name = fg_strdup(refname);
	int depth, rc = 0;

	*out = NULL;
	/* git follows at most 5 levels of symbolic refs (refs.c). */
	for (depth = 0; depth <= 5; depth++) {
		git_reference *ref = NULL;
		int err = git_reference_lookup(&ref, repo->git, name);

		if (err == GIT_ENOTFOUND)
			break;
		if (err < 0 && err != GIT_EINVALIDSPEC) {
			rc = git_fail(name);
			break;
		}
		if (err < 0 || git_reference_type(ref) != GIT_REFERENCE_SYMBOLIC) {
			git_reference_free(ref);
			break;
		}
		free(name);
		name = fg_strdup(git_reference_symbolic_target(ref));
		git_reference_free(ref);
	}
	if (!rc && depth > 5)
		rc = fg_error_set(FG_EINVAL, "%s: symbolic refs nested more than 5 deep", refname);
	if (rc) {
		free(name);
		return rc;
	}
	*out = name;
	return 0;
}

int repo_ref_id(struct fg_repo *repo, const char *refname, char *hex)
{
	git_oid oid;
	int err = git_reference_name_to_id(&oid, repo->git, refname);

	if (err == GIT_ENOTFOUND)
		return fg_error_set(FG_ENOTFOUND, "%s does not exist", refname);
	if (err < 0)
		return git_fail(refname);
	git_oid_tostr(hex, GIT_OID_HEXSZ + 1, &oid);
	return 0;
}

int repo_source_branch(struct fg_repo *repo, const char *branch, struct source *out, char *hex)
{
	git_reference *ref = NULL;
	git_object *commit = NULL;
	char id[GIT_OID_HEXSZ + 1];
	char *name = fg_asprintf("refs/heads/%s", branch);
	int err, rc;

	memset(out, 0, sizeof(*out));
	err = git_reference_lookup(&ref, repo->git, name);
	if (err == GIT_ENOTFOUND || err == GIT_EINVALIDSPEC) {
		rc = fg_error_set(FG_ENOTFOUND, "branch '%s' does not exist", branch);
		goto done;
	}
	if (err < 0) {
		rc = git_fail(name);
		goto done;
	}
	if (git_reference_peel(&commit, ref, GIT_OBJECT_COMMIT) < 0) {
		rc = fg_error_set(FG_EINVAL, "%s does not point at a commit", name);
		goto done;
	}
	git_oid_tostr(id, sizeof(id), git_object_id(commit));
	rc = repo_source_rev(repo, id, out);
	if (!rc && hex)
		memcpy(hex, id, sizeof(id));
done:
	git_object_free(commit);
	git_reference_free(ref);
	free(name);
	return rc;
}

int repo_head_target(struct fg_repo *repo, char **ref, int *exists)
{
	git_reference *head = NULL, *target = NULL;
	int err, rc = 0;

	*ref = NULL;
	*exists = 0;
	if (git_reference_lookup(&head, repo->git, "HEAD") < 0)
		return git_fail("reading HEAD");
	if (git_reference_type(head) != GIT_REFERENCE_SYMBOLIC)
		goto done;
	*ref = fg_strdup(git_reference_symbolic_target(head));
	err = git_reference_lookup(&target, repo->git, *ref);
	if (err == 0)
		*exists = 1;
	else if (err != GIT_ENOTFOUND)
		rc = git_fail(*ref);
done:
	git_reference_free(target);
	git_reference_free(head);
	if (rc) {
		free(*ref);
		*ref = NULL;
	}
	return rc;
}

int repo_set_head(struct fg_repo *repo, const char *ref)
{
	if (git_repository_set_head(repo->git, ref) < 0)
		return git_fail("writing HEAD");
	return 0;
}

int repo_config_unset(struct fg_repo *repo, const char *key)
{
	git_config *cfg = NULL, *local = NULL;
	int err, rc = 0;

	if (git_repository_config(&cfg, repo->git) < 0)
		return git_fail("opening git config");
	if (git_config_open_level(&local, cfg, GIT_CONFIG_LEVEL_LOCAL) < 0)
		rc = git_fail(key);
	else if ((err = git_config_delete_entry(local, key)) < 0 && err != GIT_ENOTFOUND)
		rc = git_fail(key);
	git_config_free(local);
	git_config_free(cfg);
	return rc;
}

int repo_merge_result(struct fg_repo *repo, const char *ours, const char *theirs, int *clean,
		      int *same_as_theirs)
{
	git_commit *a = NULL, *b = NULL;
	git_tree *their_tree = NULL;
	git_index *index = NULL;
	git_diff *diff = NULL;
	git_oid oa, ob;
	int rc;

	*clean = 0;
	*same_as_theirs = 0;
	if ((rc = parse_oid(&oa, ours)) || (rc = parse_oid(&ob, theirs)))
		goto done;
	if (git_commit_lookup(&a, repo->git, &oa) < 0) {
		rc = git_fail(ours);
		goto done;
	}
	if (git_commit_lookup(&b, repo->git, &ob) < 0 || git_commit_tree(&their_tree, b) < 0) {
		rc = git_fail(theirs);
		goto done;
	}
	/* In memory: the index is never written, nor any object. */
	if (git_merge_commits(&index, repo->git, a, b, NULL) < 0) {
		rc = git_fail("merging");
		goto done;
	}
	if (git_index_has_conflicts(index))
		goto done;
	*clean = 1;
	if (git_diff_tree_to_index(&diff, repo->git, their_tree, index, NULL) < 0) {
		rc = git_fail("comparing the merge with the merged commit");
		goto done;
	}
	*same_as_theirs = git_diff_num_deltas(diff) == 0;
done:
	git_diff_free(diff);
	git_index_free(index);
	git_tree_free(their_tree);
	git_commit_free(b);
	git_commit_free(a);
	return rc;
}

/* The commit ref `refname` peels to; *found 0 when the ref does not exist. */
static int peel_branch_ref(struct fg_repo *repo, const char *refname, char *hex, int *found)
{
	git_reference *ref = NULL;
	git_object *commit = NULL;
	int err = git_reference_lookup(&ref, repo->git, refname), rc = 0;

	*found = 0;
	if (err == GIT_ENOTFOUND)
		return 0;
	if (err < 0 || git_reference_peel(&commit, ref, GIT_OBJECT_COMMIT) < 0) {
		rc = git_fail(refname);
	} else {
		git_oid_tostr(hex, GIT_OID_HEXSZ + 1, git_object_id(commit));
		*found = 1;
	}
	git_object_free(commit);
	git_reference_free(ref);
	return rc;
}

void repo_branch_spec_release(struct repo_branch_spec *s)
{
	free(s->branch);
	free(s->ref);
	free(s->tried);
	memset(s, 0, sizeof(*s));
}

/* The rest of `s` after `prefix`, or NULL when `s` does not start so. */
static const char *after_prefix(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) ? NULL : s + n;
}

int repo_branch_spec_resolve(struct fg_repo *repo, const char *spec, struct repo_branch_spec *out)
{
	struct candidate {
		char *ref;
		const char *branch; /* within spec */
	} cand[3];
	const char *rest;
	size_t n = 0, i;
	int rc = 0, found = 0;

	memset(out, 0, sizeof(*out));
	memset(out->id, '0', GIT_OID_HEXSZ);
	out->id[GIT_OID_HEXSZ] = '\0';
	memset(cand, 0, sizeof(cand));
	if ((rest = after_prefix(spec, "refs/heads/"))) {
		/* the server's branch, which a CI clone holds as origin's */
		cand[n].ref = fg_strdup(spec);
		cand[n++].branch = rest;
		cand[n].ref = fg_asprintf("refs/remotes/origin/%s", rest);
		cand[n++].branch = rest;
	} else if ((rest = after_prefix(spec, "refs/remotes/"))) {
		const char *slash = strchr(rest, '/');

		if (slash && slash > rest) {
			cand[n].ref = fg_strdup(spec);
			cand[n++].branch = slash + 1;
		}
	} else if (!strncmp(spec, "refs/", 5)) {
		return fg_error_set(FG_EINVAL, "'%s' is not a branch (a branch is refs/heads/<name> or refs/remotes/<remote>/<name>)",
				    spec);
	} else {
		const char *slash = strchr(spec, '/');

		/* git's order for a short name: the branch of that name, then a
		 * remote-tracking branch <remote>/<name>, then origin's. */
		cand[n].ref = fg_asprintf("refs/heads/%s", spec);
		cand[n++].branch = spec;
		if (slash && slash > spec) {
			cand[n].ref = fg_asprintf("refs/remotes/%s", spec);
			cand[n++].branch = slash + 1;
		}
		cand[n].ref = fg_asprintf("refs/remotes/origin/%s", spec);
		cand[n++].branch = spec;
	}
	if (!n || !fleet_branch_name_valid(cand[0].branch)) {
		rc = fg_error_set(FG_EINVAL, "'%s' is not a valid branch name", spec);
		goto done;
	}
	for (i = 0; i < n && !found; i++) {
		if (!fleet_branch_name_valid(cand[i].branch))
			continue;
		rc = peel_branch_ref(repo, cand[i].ref, out->id, &found);
		if (rc)
			goto done;
		if (found) {
			out->branch = fg_strdup(cand[i].branch);
			out->ref = fg_strdup(cand[i].ref);
		}
	}
	if (!found) {
		struct fg_buf tried = FG_BUF_INIT;

		fg_buf_init(&tried);
		for (i = 0; i < n; i++)
			fg_buf_printf(&tried, "%s%s", i ? (i + 1 == n ? " nor " : ", ") : n > 1 ? "neither " : "",
				      cand[i].ref);
		fg_buf_puts(&tried, n > 1 ? " exists" : " does not exist");
		out->tried = fg_strdup(tried.ptr);
		fg_buf_release(&tried);
		/* A branch yet to be created keeps the name it would have. */
		out->branch = fg_strdup(cand[n - 1].branch);
	}
	out->found = found;
done:
	for (i = 0; i < n; i++)
		free(cand[i].ref);
	if (rc)
		repo_branch_spec_release(out);
	return rc;
}

int repo_commit_tree(struct fg_repo *repo, const char *hex, char *tree)
{
	git_commit *commit = NULL;
	git_oid oid;
	int rc = parse_oid(&oid, hex);

	if (rc)
		return rc;
	if (git_commit_lookup(&commit, repo->git, &oid) < 0)
		return git_fail(hex);
	git_oid_tostr(tree, GIT_OID_HEXSZ + 1, git_commit_tree_id(commit));
	git_commit_free(commit);
	return 0;
}

/* The commit a notes ref points to, into `hex`; all zeros when absent. */
static int notes_ref_id(struct fg_repo *repo, const char *notes_ref, git_oid *oid, int *exists,
			char *hex)
{
	int err = git_reference_name_to_id(oid, repo->git, notes_ref);

	*exists = err == 0;
	if (err == GIT_ENOTFOUND) {
		memset(oid, 0, sizeof(*oid));
		err = 0;
	}
	if (err < 0)
		return git_fail(notes_ref);
	if (hex)
		git_oid_tostr(hex, GIT_OID_HEXSZ + 1, oid);
	return 0;
}

int repo_note_read(struct fg_repo *repo, const char *notes_ref, const char *oid_hex, size_t max,
		   char **data, size_t *len, char *ref_id)
{
	git_commit *notes = NULL;
	git_note *note = NULL;
	git_blob *blob = NULL;
	git_oid target, ref_oid;
	int exists, err, rc;

	*data = NULL;
	*len = 0;
	rc = parse_oid(&target, oid_hex);
	if (!rc)
		rc = notes_ref_id(repo, notes_ref, &ref_oid, &exists, ref_id);
	if (rc)
		return rc;
	if (!exists)
		return fg_error_set(FG_ENOTFOUND, "%s does not exist", notes_ref);
	if (git_commit_lookup(&notes, repo->git, &ref_oid) < 0)
		return git_fail(notes_ref);
	err = git_note_commit_read(&note, repo->git, notes, &target);
	if (err == GIT_ENOTFOUND) {
		rc = fg_error_set(FG_ENOTFOUND, "%s has no note for %.12s", notes_ref, oid_hex);
	} else if (err < 0 || git_blob_lookup(&blob, repo->git, git_note_id(note)) < 0) {
		rc = git_fail(notes_ref);
	} else if ((size_t)git_blob_rawsize(blob) > max) {
		rc = fg_error_set(FG_ELIMIT, "%s: the note of %.12s is larger than %zu bytes", notes_ref,
				  oid_hex, max);
	} else {
		*len = (size_t)git_blob_rawsize(blob);
		if (memchr(git_blob_rawcontent(blob), '\0', *len)) {
			rc = fg_error_set(FG_EINVAL, "%s: the note of %.12s holds a NUL byte", notes_ref,
					  oid_hex);
		} else {
			*data = fg_malloc(*len + 1);
			memcpy(*data, git_blob_rawcontent(blob), *len);
			(*data)[*len] = '\0';
		}
	}
	git_blob_free(blob);
	git_note_free(note);
	git_commit_free(notes);
	return rc;
}

int repo_note_write(struct fg_repo *repo, const char *notes_ref, const char *oid_hex,
		    const char *text, const char *expected, const char *message)
{
	git_commit *parent = NULL;
	git_signature *sig = NULL;
	git_reference *ref = NULL;
	git_oid target, want, commit, blob;
	int rc, err;

	rc = parse_oid(&target, oid_hex);
	if (!rc)
		rc = parse_oid(&want, expected);
	if (rc)
		return rc;
	if (!git_oid_is_zero(&want) && git_commit_lookup(&parent, repo->git, &want) < 0)
		return git_fail(notes_ref);
	if (git_signature_now(&sig, "fleetgate", "fleetgate@localhost") < 0 ||
	    git_note_commit_create(&commit, &blob, repo->git, parent, sig, sig, &target, text, 1) < 0) {
		rc = git_fail(notes_ref);
		goto done;
	}
	/* force 0 without a parent: only creating the ref; with one, moving it
	 * from exactly `expected` */
	err = git_reference_create_matching(&ref, repo->git, notes_ref, &commit, parent != NULL,
					    parent ? &want : NULL, message);
	if (err == GIT_EMODIFIED || err == GIT_EEXISTS || err == GIT_ELOCKED)
		rc = fg_error_set(FG_ECHANGED, "%s moved while it was written", notes_ref);
	else if (err < 0)
		rc = git_fail(notes_ref);
done:
	git_reference_free(ref);
	git_signature_free(sig);
	git_commit_free(parent);
	return rc;
}
