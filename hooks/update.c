/*
 * update <ref> <old> <new>: decline the refs pre-receive refused, so that a
 * non-atomic push lands its good refs. The judging is pre-receive's; this
 * hook only takes its verdict (lib/rules/handoff.h). Without a verdict, a stage is
 * declined (fail closed) and any other ref is left alone.
 */
#include "hooks/hooks.h"

#include "front/front.h"

#include "core/error.h"
#include "rules/handoff.h"
#include "git/repo.h"
#include "rules/settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_stage(const struct settings *s, const char *ref)
{
	const char *branch = front_branch_of(ref);
	size_t i;

	if (!branch)
		return 0;
	if (!s->has_stages)
		return 1; /* stages come from promotion: — be safe */
	for (i = 0; i < s->nstages; i++)
		if (!strcmp(s->stages[i], branch))
			return 1;
	return 0;
}

int hook_update(int argc, char **argv)
{
	struct fg_repo *repo = NULL;
	struct settings settings;
	char *written = NULL;
	int found = 0, accepted = 0, status = EXIT_REJECTED;

	if (argc != 4) {
		fprintf(stderr, "fleetgate: update hook: expected <ref> <old> <new>\n");
		return EXIT_REJECTED;
	}
	if (repo_open(&repo, NULL)) {
		fprintf(stderr, "fleetgate: refusing %s: %s\n", argv[1], fg_error_message());
		return EXIT_REJECTED;
	}
	if (handoff_take(repo_gitdir(repo), handoff_push_id(), argv[1], argv[2], argv[3], &found,
			 &accepted)) {
		fprintf(stderr, "fleetgate: refusing %s: %s\n", argv[1], fg_error_message());
		goto done;
	}
	if (found) {
		status = accepted ? EXIT_OK : EXIT_REJECTED;
		goto done;
	}
	if (settings_load(&settings, repo)) {
		fprintf(stderr, "fleetgate: refusing %s: %s\n", argv[1], fg_error_message());
		goto done;
	}
	if (repo_ref_written_name(repo, argv[1], &written)) {
		fprintf(stderr, "fleetgate: refusing %s: %s\n", argv[1], fg_error_message());
		settings_release(&settings);
		goto done;
	}
	if (is_stage(&settings, written))
		fprintf(stderr, "fleetgate: refusing %s: pre-receive left no verdict for it (is fleetgate's pre-receive hook installed?)\n",
			argv[1]);
	else
		status = EXIT_OK;
	settings_release(&settings);
done:
	free(written);
	repo_free(repo);
	return status;
}
