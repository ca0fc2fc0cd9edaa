/*
 * reference-transaction prepared|committed|aborted: the last word before
 * git writes the refs of a push.
 *
 * pre-receive judges a push before any ref moves, and may judge a stage
 * with its upstream's new tip from the same push. Between that verdict and
 * the write, the upstream's update can fail (an old id that was not its
 * tip, a lost race with another push) while the stage's still lands. So
 * when git has prepared a transaction, with the locks of its refs held,
 * the promotion rules are judged again on what that transaction writes:
 * a stage's upstream is its new value when it is in this same transaction,
 * else its real tip in the repository. A refusal aborts the transaction.
 *
 * Stages move only forward along their first-parent line, so an upstream
 * that moves after this check still holds what it held.
 */
#include "hooks/hooks.h"

#include "front/front.h"

#include "core/alloc.h"
#include "core/error.h"
#include "rules/handoff.h"
#include "rules/policy.h"
#include "rules/policy_repo.h"
#include "git/repo.h"
#include "rules/settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The refs this transaction really changes, by the names git writes, with
 * their real old ids; no-op lines (git pack-refs copies a ref as it is)
 * and duplicates (an alias and its target) are dropped. */
static int real_updates(struct fg_repo *repo, struct ref_update *in, size_t n,
			struct ref_update **out, size_t *count)
{
	struct ref_update *u = fg_calloc(n + 1, sizeof(*u));
	size_t i, k, m = 0;
	int rc = 0;

	for (i = 0; i < n && !rc; i++) {
		char *name = NULL, tip[POLICY_ID_MAX];
		int dup = 0, found;

		if (policy_is_zero(in[i].old_id) && policy_is_zero(in[i].new_id))
			continue;
		rc = repo_ref_written_name(repo, in[i].ref, &name);
		if (rc)
			break;
		rc = repo_ref_id(repo, name, tip);
		found = rc == 0;
		if (rc == FG_ENOTFOUND)
			rc = 0;
		for (k = 0; k < m && !dup; k++)
			dup = !strcmp(u[k].ref, name);
		if (rc || dup || (found && !strcmp(tip, in[i].new_id))) {
			free(name);
			continue;
		}
		memset(u[m].old_id, '0', 40);
		if (found)
			snprintf(u[m].old_id, sizeof(u[m].old_id), "%s", tip);
		snprintf(u[m].new_id, sizeof(u[m].new_id), "%s", in[i].new_id);
		u[m].ref = name;
		m++;
	}
	*out = u;
	*count = m;
	return rc;
}

int hook_reference_transaction(int argc, char **argv)
{
	struct ref_update *lines = NULL, *updates = NULL;
	struct policy_verdict *verdicts = NULL;
	struct policy_settings ps;
	struct policy_reader reader;
	struct settings settings;
	struct fg_repo *repo = NULL;
	size_t nlines = 0, n = 0, i;
	int status = EXIT_REJECTED, settings_loaded = 0, read_rc;

	/* Read every line first: git writes them all before it waits. */
	read_rc = hook_read_updates(&lines, &nlines);
	if (argc != 2) {
		fprintf(stderr, "fleetgate: reference-transaction hook: expected one argument (prepared, committed or aborted)\n");
		goto done;
	}
	if (strcmp(argv[1], "prepared") || !handoff_in_push()) {
		status = EXIT_OK;
		goto done;
	}
	if (read_rc) {
		fprintf(stderr, "fleetgate: refusing the ref update: %s\n", fg_error_message());
		goto done;
	}
	if (repo_open(&repo, NULL) || settings_load(&settings, repo)) {
		fprintf(stderr, "fleetgate: refusing the ref update: %s\n", fg_error_message());
		goto done;
	}
	settings_loaded = 1;
	if (real_updates(repo, lines, nlines, &updates, &n)) {
		fprintf(stderr, "fleetgate: refusing the ref update: %s\n", fg_error_message());
		goto done;
	}
	settings_policy(&settings, &ps);
	ps.recheck = 1;
	policy_repo_reader(&reader, repo);
	if (policy_judge(&verdicts, &ps, updates, n, &reader)) {
		fprintf(stderr, "fleetgate: refusing the ref update: %s\n", fg_error_message());
		goto done;
	}
	status = EXIT_OK;
	for (i = 0; i < n; i++) {
		if (verdicts[i].accepted)
			continue;
		status = EXIT_REJECTED;
		fprintf(stderr, "fleetgate: refusing %s when writing it: [%s] %s\n", verdicts[i].ref,
			verdicts[i].nreasons ? verdicts[i].reasons[0].rule : "?",
			verdicts[i].nreasons ? verdicts[i].reasons[0].message : "refused");
	}
done:
	policy_verdicts_free(verdicts, n);
	ref_updates_free(updates, n);
	ref_updates_free(lines, nlines);
	if (settings_loaded)
		settings_release(&settings);
	repo_free(repo);
	return status;
}
