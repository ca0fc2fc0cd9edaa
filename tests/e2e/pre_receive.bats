#!/usr/bin/env bats
# The promotion rules (docs/design.md) through real `git push` over file://: a bare
# server repository with the hooks `fleetgate install --repo` wrote, a
# developer's clone, and the exact lines the person pushing sees (for a
# branch that lands, those include post-receive's: see `deferred`).
#
# Tests marked `skip "product bug: ..."` run the scenario and assert what
# holds today, then stop before the assertion that the bug breaks; remove
# the skip line once the bug is fixed.

load helpers
load push_helpers

setup() { setup_push; }
teardown() { teardown_workspace; }

MERGE_ONLY_ADVICE="remote: fleetgate:     what to do: commit on a feature branch and merge it into this stage through a merge request (git merge --no-ff)"
FROM_UPSTREAM_ADVICE="remote: fleetgate:     what to do: make the change on a branch merged into the first stage, then promote it stage by stage"
MERGE_UPSTREAM_ADVICE="remote: fleetgate:     what to do: merge the change into the upstream stage first, then promote the upstream stage's tip"
MODIFIED_ADVICE="remote: fleetgate:     what to do: merge without changing anything (git merge --no-ff <upstream>, no edits, no conflict resolution); make changes on the upstream stage first"
REWRITE_ADVICE="remote: fleetgate:     what to do: never rewrite a stage: fetch it, and undo a change by merging a revert through the stages"
DELETE_ADVICE="remote: fleetgate:     what to do: stages are never deleted; ask the git server's admin if it must go"
CREATE_ADVICE="remote: fleetgate:     what to do: create the stage at a tip of its upstream stage (git push origin origin/<upstream>:refs/heads/<stage>)"
FIRST_PARENT_ADVICE="remote: fleetgate:     what to do: merge the feature branch into the stage (git checkout <stage>; git merge --no-ff <feature>), not the stage into the feature branch"
CONFIG_ADVICE="remote: fleetgate:     what to do: fix the errors on the first stage and promote the fix"
ONE_REFUSED="remote: fleetgate: 1 ref judged (1 stage): 0 accepted, 1 refused"

# A feature branch that breaks the fleet: an unsupported format version and
# a misspelt key in a device file.
break_fleet_on_feature() {
	git checkout -q -b feature/bad main
	sed -i 's/^fleet: 1/fleet: 2/' fleet.yaml
	sed -i 's/^name:/nmae:/' devices/64f1c2a9e3b5d7f0a1c2e4b6.yaml
	git commit -q -a -m "Break the fleet"
	git checkout -q main
	git merge -q --no-ff -m "Merge feature/bad" feature/bad
}

BROKEN_FLEET_DIAGS="remote: fleetgate:     devices/64f1c2a9e3b5d7f0a1c2e4b6.yaml:2:1: error: unknown key 'nmae' in a device file (did you mean 'name'?) [unknown-key]
remote: fleetgate:     fleet.yaml:3:8: error: fleet format version '2' is not supported (this fleetgate reads version 1) [version]"

# ---------------------------------------------------------------- allowed

@test "allowed: the bootstrap push creates main with the example fleet" {
	make_server
	make_dev_clone
	cd dev
	push origin main
	assert_status 0
	assert_output_is "$(deferred main main)
$(git_pushed " * [new branch]      main -> main")"
	assert_server_tip main "$(git rev-parse main)"
}

@test "allowed: a feature branch merged into main with --no-ff" {
	bootstrap_main
	old=$(git rev-parse main)
	merge_feature one
	push origin main
	assert_status 0
	assert_output_is "$(deferred main main)
$(git_pushed "$(ff_line "$old" main "main -> main")")"
	assert_server_tip main "$(git rev-parse main)"
}

@test "allowed: canary is created at main's commit, then follows main by fast-forward" {
	bootstrap_main
	push origin main:canary
	assert_status 0
	assert_output_is "$(deferred canary main)
$(git_pushed " * [new branch]      main -> canary")"
	assert_server_tip canary "$(git rev-parse main)"
	old=$(git rev-parse main)
	merge_feature one
	git push -q origin main
	push origin main:canary
	assert_status 0
	assert_output_is "$(deferred canary main)
$(git_pushed "$(ff_line "$old" main "main -> canary")")"
	assert_server_tip canary "$(git rev-parse main)"
}

@test "allowed: canary takes main through a merge commit that changes nothing" {
	bootstrap_stages
	merge_feature one
	git push -q origin main
	old=$(git rev-parse canary)
	promote_merge canary main
	[ "$(git rev-parse canary^{tree})" = "$(git rev-parse main^{tree})" ]
	push origin canary
	assert_status 0
	assert_output_is "$(deferred canary canary)
$(git_pushed "$(ff_line "$old" canary "canary -> canary")")"
	assert_server_tip canary "$(git rev-parse canary)"
}

@test "allowed: production is created at canary's commit, then follows canary by fast-forward" {
	bootstrap_main
	git branch -q canary main
	git push -q origin canary
	push origin canary:production
	assert_status 0
	assert_output_is "$(deferred production canary)
$(git_pushed " * [new branch]      canary -> production")"
	old=$(git rev-parse canary)
	merge_feature one
	git push -q origin main
	git push -q origin main:canary
	git branch -q -f canary main
	push origin canary:production
	assert_status 0
	assert_output_is "$(deferred production canary)
$(git_pushed "$(ff_line "$old" canary "canary -> production")")"
	assert_server_tip production "$(git rev-parse canary)"
}

@test "allowed: production takes canary through a merge commit that changes nothing" {
	bootstrap_stages
	merge_feature one
	git push -q origin main
	promote_merge canary main
	git push -q origin canary
	old=$(git rev-parse production)
	promote_merge production canary
	push origin production
	assert_status 0
	assert_output_is "$(deferred production production)
$(git_pushed "$(ff_line "$old" production "production -> production")")"
	assert_server_tip production "$(git rev-parse production)"
	[ "$(git -C "$SRV" rev-parse production^{tree})" = "$(git rev-parse main^{tree})" ]
}

@test "allowed: main and canary in one push: canary may take the main of this very push" {
	bootstrap_main
	old=$(git rev-parse main)
	merge_feature one
	push origin main main:canary
	assert_status 0
	assert_output_is "remote: fleetgate: 2 refs judged (2 stages): 2 accepted, 0 refused
$(deferred main main canary main)
$(git_pushed "$(ff_line "$old" main "main -> main")" " * [new branch]      main -> canary")"
	assert_server_tip main "$(git rev-parse main)"
	assert_server_tip canary "$(git rev-parse main)"
}

@test "allowed: free branches are pushed, rewritten and deleted freely" {
	bootstrap_stages
	git checkout -q -b feature/x main
	change "Work in progress"
	git checkout -q -b develop main
	change "Develop work"
	push origin feature/x develop
	assert_status 0
	assert_output_is "remote: fleetgate: 2 refs judged (0 stages): 2 accepted, 0 refused
$(deferred feature/x feature/x develop develop)
$(git_pushed " * [new branch]      feature/x -> feature/x" " * [new branch]      develop -> develop")"
	old_dev=$(git rev-parse develop) old_x=$(git rev-parse feature/x)
	git commit -q --amend -m "Develop work, amended"
	git checkout -q feature/x
	git reset -q --hard main
	change "Another try"
	push --force origin feature/x develop
	assert_status 0
	assert_output_is "remote: fleetgate: 2 refs judged (0 stages): 2 accepted, 0 refused
$(deferred develop develop feature/x feature/x)
$(git_pushed " + $(git rev-parse --short "$old_dev")...$(git rev-parse --short develop) develop -> develop (forced update)" \
		" + $(git rev-parse --short "$old_x")...$(git rev-parse --short feature/x) feature/x -> feature/x (forced update)")"
	assert_server_tip develop "$(git rev-parse develop)"
	assert_server_tip feature/x "$(git rev-parse feature/x)"
	push origin :feature/x :develop
	assert_status 0
	assert_output_is "remote: fleetgate: 2 refs judged (0 stages): 2 accepted, 0 refused
$(git_pushed " - [deleted]         develop" " - [deleted]         feature/x")"
	assert_server_tip develop ""
	assert_server_tip feature/x ""
}

@test "allowed: tags are pushed, moved and deleted freely" {
	bootstrap_stages
	git tag -a -m "Release 1" v1 main
	git checkout -q -b hotfix main
	change "Hotfix"
	git tag lab-build
	push origin v1 lab-build
	assert_status 0
	assert_output_is "remote: fleetgate: 2 refs judged (0 stages): 2 accepted, 0 refused
$(git_pushed " * [new tag]         v1 -> v1" " * [new tag]         lab-build -> lab-build")"
	old=$(git rev-parse lab-build)
	git tag -f lab-build main >/dev/null
	push --force origin lab-build
	assert_status 0
	assert_output_is "$(git_pushed " + $(git rev-parse --short "$old")...$(git rev-parse --short main) lab-build -> lab-build (forced update)")"
	[ "$(git -C "$SRV" rev-parse refs/tags/lab-build)" = "$(git rev-parse main)" ]
	push origin :refs/tags/v1
	assert_status 0
	assert_output_is "$(git_pushed " - [deleted]         v1")"
	assert_fails git -C "$SRV" rev-parse -q --verify refs/tags/v1
}

@test "allowed: a device follows develop; develop itself is free" {
	bootstrap_stages
	git checkout -q -b feature/lab main
	printf 'name: lab-bench-01\nsubscribed_branch: develop\nroles: [kiosk]\n' > devices/0123456789abcdef01234567.yaml
	git add -A
	git commit -q -m "A lab bench that follows develop"
	git checkout -q main
	git merge -q --no-ff -m "Merge feature/lab" feature/lab
	push origin main
	assert_status 0
	assert_output_is "$(deferred main main)
$(git_pushed "$(ff_line main~1 main "main -> main")")"
	assert_server_tip main "$(git rev-parse main)"
	git checkout -q -b develop main
	change "Try a new playbook on the lab bench"
	push origin develop
	assert_status 0
	assert_output_is "$(deferred develop develop)
$(git_pushed " * [new branch]      develop -> develop")"
	git commit -q --amend -m "Try another playbook on the lab bench"
	push --force origin develop
	assert_status 0
	assert_server_tip develop "$(git rev-parse develop)"
}

@test "allowed: fleetgate.mergeOnly false lets a direct commit on main through" {
	bootstrap_main
	git -C "$SRV" config fleetgate.mergeOnly false
	old=$(git rev-parse main)
	change "Direct commit"
	push origin main
	assert_status 0
	assert_output_is "$(deferred main main)
$(git_pushed "$(ff_line "$old" main "main -> main")")"
	assert_server_tip main "$(git rev-parse main)"
}

@test "allowed: a pusher named in fleetgate.pushers.production promotes it; canary stays open" {
	bootstrap_stages
	git -C "$SRV" config fleetgate.pushers.production "release-manager sre-bot"
	merge_feature one
	git push -q origin main
	old=$(git rev-parse main~1)
	USER=mallory push origin main:canary
	assert_status 0
	assert_output_is "$(deferred canary main)
$(git_pushed "$(ff_line "$old" main "main -> canary")")"
	assert_server_tip canary "$(git rev-parse main)"
	USER=sre-bot push origin main:production
	assert_status 0
	assert_output_is "$(deferred production main)
$(git_pushed "$(ff_line "$old" main "main -> production")")"
	assert_server_tip production "$(git rev-parse main)"
}

# ---------------------------------------------------------------- refused

@test "refused: a direct commit on main" {
	bootstrap_stages
	before=$(git rev-parse main)
	change "Direct edit of main"
	push origin main
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/main
remote: fleetgate:   stage 'main' is the first stage
remote: fleetgate:   [merge-only] commit $(short main) is not a merge: 'main' takes only merge commits
remote: fleetgate:     commit $(short main) \"Direct edit of main\"
$MERGE_ONLY_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] main -> main (pre-receive hook declined)")"
	assert_server_tip main "$before"
}

@test "refused: a direct commit on canary" {
	bootstrap_stages
	git checkout -q canary
	change "Direct edit of canary"
	push origin canary
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/canary
remote: fleetgate:   stage 'canary' takes only unmodified merges from 'main'
remote: fleetgate:   [not-from-upstream] commit $(short canary) is not in 'main': 'canary' takes only what 'main' already holds
remote: fleetgate:     commit $(short canary) \"Direct edit of canary\"
$FROM_UPSTREAM_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] canary -> canary (pre-receive hook declined)")"
	assert_server_tip canary "$(git rev-parse main)"
}

@test "refused: a direct commit on production" {
	bootstrap_stages
	git checkout -q production
	change "Direct edit of production"
	push origin production
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/production
remote: fleetgate:   stage 'production' takes only unmodified merges from 'canary'
remote: fleetgate:   [not-from-upstream] commit $(short production) is not in 'canary': 'production' takes only what 'canary' already holds
remote: fleetgate:     commit $(short production) \"Direct edit of production\"
$FROM_UPSTREAM_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] production -> production (pre-receive hook declined)")"
	assert_server_tip production "$(git rev-parse main)"
}

@test "refused: a merge of main into canary resolved by editing a file" {
	bootstrap_stages
	merge_feature one
	git push -q origin main
	git checkout -q canary
	git merge -q --no-ff --no-commit main >/dev/null 2>&1
	sed -i 's/kiosk_rotation: 0/kiosk_rotation: 180/' fleet.yaml
	git commit -q -a -m "Promote main to canary"
	push origin canary
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/canary
remote: fleetgate:   stage 'canary' takes only unmodified merges from 'main'
remote: fleetgate:   [modified-content] merge commit $(short canary) changes what it brings from 'main': its tree differs from the merged commit's
remote: fleetgate:     commit $(short canary) \"Promote main to canary\"
$MODIFIED_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] canary -> canary (pre-receive hook declined)")"
	assert_server_tip canary "$(git rev-parse main~1)"
}

@test "refused: a merge whose second parent is main's tip but whose tree is not main's (-s ours)" {
	bootstrap_stages
	merge_feature one
	git push -q origin main
	git checkout -q canary
	git merge -q -s ours --no-ff -m "Promote main to canary" main
	[ "$(git rev-parse canary^2)" = "$(git rev-parse main)" ]
	push origin canary
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/canary
remote: fleetgate:   stage 'canary' takes only unmodified merges from 'main'
remote: fleetgate:   [modified-content] merge commit $(short canary) changes what it brings from 'main': its tree differs from the merged commit's
remote: fleetgate:     commit $(short canary) \"Promote main to canary\"
$MODIFIED_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] canary -> canary (pre-receive hook declined)")"
	assert_server_tip canary "$(git rev-parse main~1)"
}

@test "refused: a feature branch merged into canary" {
	bootstrap_stages
	git checkout -q -b feature/a main
	change "Feature A"
	git checkout -q canary
	git merge -q --no-ff -m "Merge feature/a into canary" feature/a
	push origin canary
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/canary
remote: fleetgate:   stage 'canary' takes only unmodified merges from 'main'
remote: fleetgate:   [not-from-upstream] merge commit $(short canary) brings in a commit that was never a tip of 'main' (it is not on its first-parent line)
remote: fleetgate:     commit $(short canary) \"Merge feature/a into canary\"
$MERGE_UPSTREAM_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] canary -> canary (pre-receive hook declined)")"
	assert_server_tip canary "$(git rev-parse main)"
}

@test "refused: a feature branch merged into production" {
	bootstrap_stages
	git checkout -q -b feature/a main
	change "Feature A"
	git checkout -q production
	git merge -q --no-ff -m "Merge feature/a into production" feature/a
	push origin production
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/production
remote: fleetgate:   stage 'production' takes only unmodified merges from 'canary'
remote: fleetgate:   [not-from-upstream] merge commit $(short production) brings in a commit that was never a tip of 'canary' (it is not on its first-parent line)
remote: fleetgate:     commit $(short production) \"Merge feature/a into production\"
$MERGE_UPSTREAM_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] production -> production (pre-receive hook declined)")"
	assert_server_tip production "$(git rev-parse main)"
}

@test "refused: main merged straight into production, skipping canary" {
	bootstrap_stages
	merge_feature one
	git push -q origin main
	promote_merge production main
	push origin production
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/production
remote: fleetgate:   stage 'production' takes only unmodified merges from 'canary'
remote: fleetgate:   [not-from-upstream] merge commit $(short production) brings in a commit that was never a tip of 'canary' (it is not on its first-parent line)
remote: fleetgate:     commit $(short production) \"Promote main to production\"
$MERGE_UPSTREAM_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] production -> production (pre-receive hook declined)")"
	assert_server_tip production "$(git rev-parse main~1)"
}

@test "refused: main's commit cherry-picked onto canary" {
	bootstrap_stages
	merge_feature one
	git push -q origin main
	git checkout -q canary
	git cherry-pick -x main^2 >/dev/null
	push origin canary
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/canary
remote: fleetgate:   stage 'canary' takes only unmodified merges from 'main'
remote: fleetgate:   [not-from-upstream] commit $(short canary) is not in 'main': 'canary' takes only what 'main' already holds
remote: fleetgate:     commit $(short canary) \"Change one\"
$FROM_UPSTREAM_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] canary -> canary (pre-receive hook declined)")"
	assert_server_tip canary "$(git rev-parse main~1)"
}

@test "refused: a force push of main" {
	bootstrap_stages
	merge_feature one
	git push -q origin main
	tip=$(git rev-parse main)
	git reset -q --hard main~1
	push --force origin main
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/main
remote: fleetgate:   stage 'main' is the first stage
remote: fleetgate:   [non-fast-forward] $(short "$tip")..$(short main) is not a fast-forward: it would drop commits from 'main'
$REWRITE_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] main -> main (pre-receive hook declined)")"
	assert_server_tip main "$tip"
}

@test "refused: a force push of canary" {
	bootstrap_stages
	merge_feature one
	git push -q origin main
	git push -q origin main:canary
	tip=$(git rev-parse main)
	git checkout -q canary # still at the bootstrap commit
	push --force origin canary
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/canary
remote: fleetgate:   stage 'canary' takes only unmodified merges from 'main'
remote: fleetgate:   [non-fast-forward] $(short "$tip")..$(short canary) is not a fast-forward: it would drop commits from 'canary'
$REWRITE_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] canary -> canary (pre-receive hook declined)")"
	assert_server_tip canary "$tip"
}

@test "refused: deleting main" {
	bootstrap_stages
	push origin :main
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/main
remote: fleetgate:   stage 'main' is the first stage
remote: fleetgate:   [delete] deleting stage 'main' is not allowed
$DELETE_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] main (pre-receive hook declined)")"
	assert_server_tip main "$(git rev-parse main)"
}

@test "refused: deleting canary" {
	bootstrap_stages
	push origin :canary
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/canary
remote: fleetgate:   stage 'canary' takes only unmodified merges from 'main'
remote: fleetgate:   [delete] deleting stage 'canary' is not allowed
$DELETE_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] canary (pre-receive hook declined)")"
	assert_server_tip canary "$(git rev-parse main)"
}

@test "refused: deleting production" {
	bootstrap_stages
	push origin :production
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/production
remote: fleetgate:   stage 'production' takes only unmodified merges from 'canary'
remote: fleetgate:   [delete] deleting stage 'production' is not allowed
$DELETE_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] production (pre-receive hook declined)")"
	assert_server_tip production "$(git rev-parse main)"
}

@test "refused: production created at a commit that is not in canary" {
	bootstrap_main
	git push -q origin main:canary
	merge_feature one
	git push -q origin main
	push origin main:production
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/production
remote: fleetgate:   stage 'production' takes only unmodified merges from 'canary'
remote: fleetgate:   [not-from-upstream] stage 'production' can only be created at a commit on the first-parent line of 'canary', and $(short main) is not one
$CREATE_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] main -> production (pre-receive hook declined)")"
	assert_server_tip production ""
}

@test "refused: canary created at a commit that is not in main" {
	bootstrap_main
	git checkout -q -b feature/x main
	change "Not reviewed"
	push origin feature/x:canary
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/canary
remote: fleetgate:   stage 'canary' takes only unmodified merges from 'main'
remote: fleetgate:   [not-from-upstream] stage 'canary' can only be created at a commit on the first-parent line of 'main', and $(short feature/x) is not one
$CREATE_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] feature/x -> canary (pre-receive hook declined)")"
	assert_server_tip canary ""
}

@test "refused: production created while canary does not exist" {
	bootstrap_main
	push origin main:production
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/production
remote: fleetgate:   stage 'production' takes only unmodified merges from 'canary'
remote: fleetgate:   [not-from-upstream] stage 'production' takes its content from 'canary', which does not exist
remote: fleetgate:     what to do: create the upstream stage first
$ONE_REFUSED
$(git_refused " ! [remote rejected] main -> production (pre-receive hook declined)")"
	assert_server_tip production ""
}

@test "refused: creating main when canary already exists" {
	make_server
	make_dev_clone
	hooks_off # canary came with the history, before fleetgate was installed
	git -C dev push -q origin main:canary
	hooks_on
	cd dev
	push origin main
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/main
remote: fleetgate:   stage 'main' is the first stage
remote: fleetgate:   [create-first-stage] stage 'main' can only be created in a repository that has no stage yet
remote: fleetgate:     what to do: ask the git server's admin: the first stage is created once, when the repository has no stage
$ONE_REFUSED
$(git_refused " ! [remote rejected] main -> main (pre-receive hook declined)")"
	assert_server_tip main ""
}

@test "refused: main refused, so canary moved to that main in the same push is refused too" {
	bootstrap_stages
	change "Direct edit of main"
	push origin main main:canary
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/canary
remote: fleetgate:   stage 'canary' takes only unmodified merges from 'main'
remote: fleetgate:   [not-from-upstream] commit $(short main) is not in 'main': 'canary' takes only what 'main' already holds
remote: fleetgate:     commit $(short main) \"Direct edit of main\"
$FROM_UPSTREAM_ADVICE
remote: fleetgate: refusing refs/heads/main
remote: fleetgate:   stage 'main' is the first stage
remote: fleetgate:   [merge-only] commit $(short main) is not a merge: 'main' takes only merge commits
remote: fleetgate:     commit $(short main) \"Direct edit of main\"
$MERGE_ONLY_ADVICE
remote: fleetgate: 2 refs judged (2 stages): 0 accepted, 2 refused
$(git_refused " ! [remote rejected] main -> canary (pre-receive hook declined)" " ! [remote rejected] main -> main (pre-receive hook declined)")"
	assert_server_tip main "$(git rev-parse main~1)"
	assert_server_tip canary "$(git rev-parse main~1)"
}

@test "refused: main and a modified canary in one push without --atomic: main lands, canary is declined" {
	modified_promotion
	old=$(git rev-parse main~1)
	push origin main canary
	assert_status 1
	assert_server_tip canary "$old"
	assert_output_is "$(modified_canary_declined)
$(deferred main main)
$(git_refused "$(ff_line "$old" main "main -> main")" " ! [remote rejected] canary -> canary (hook declined)")"
	assert_server_tip main "$(git rev-parse main)"
}

@test "refused: main and a modified canary in one push with --atomic: nothing lands" {
	modified_promotion
	old=$(git rev-parse main~1)
	push --atomic origin main canary
	assert_status 1
	assert_server_tip main "$old"
	assert_server_tip canary "$old"
	assert_output_is "$(modified_canary_declined)
$(git_refused " ! [remote rejected] canary -> canary (hook declined)" " ! [remote rejected] main -> main (atomic push failure)")"
}

@test "refused: without --atomic, through a hand-written update hook: main lands, canary is declined" {
	modified_promotion
	hand_written_update_hook
	old=$(git rev-parse main~1)
	push origin main canary
	assert_status 1
	assert_output_is "$(modified_canary_declined)
$(deferred main main)
$(git_refused "$(ff_line "$old" main "main -> main")" " ! [remote rejected] canary -> canary (hook declined)")"
	assert_server_tip main "$(git rev-parse main)"
	assert_server_tip canary "$old"
	[ -d "$SRV/fleetgate/verdicts" ]
	[ -z "$(ls "$SRV/fleetgate/verdicts")" ]
}

@test "refused: with --atomic, through a hand-written update hook: nothing lands" {
	modified_promotion
	hand_written_update_hook
	old=$(git rev-parse main~1)
	push --atomic origin main canary
	assert_status 1
	assert_output_is "$(modified_canary_declined)
$(git_refused " ! [remote rejected] canary -> canary (hook declined)" " ! [remote rejected] main -> main (atomic push failure)")"
	assert_server_tip main "$old"
	assert_server_tip canary "$old"
}

@test "refused: without fleetgate's update hook, one bad ref refuses the whole push, saying why" {
	modified_promotion
	rm "$SRV/hooks/update"
	old=$(git rev-parse main~1)
	push origin main canary
	assert_status 1
	assert_output_is "$(modified_canary_refusal)
remote: fleetgate: the whole push is refused: fleetgate's update hook is not installed, so one ref cannot be refused alone
$(git_refused " ! [remote rejected] canary -> canary (pre-receive hook declined)" " ! [remote rejected] main -> main (pre-receive hook declined)")"
	assert_server_tip main "$old"
	assert_server_tip canary "$old"
}

@test "refused: fleetgate's update hook without its pre-receive declines stages, lets free branches land" {
	bootstrap_stages
	rm "$SRV/hooks/pre-receive"
	merge_feature one
	push origin main feature/one
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/main: pre-receive left no verdict for it (is fleetgate's pre-receive hook installed?)
remote: error: hook declined to update refs/heads/main
$(deferred feature/one feature/one)
$(git_refused " * [new branch]      feature/one -> feature/one" " ! [remote rejected] main -> main (hook declined)")"
	assert_server_tip main "$(git rev-parse main~1)"
	assert_server_tip feature/one "$(git rev-parse feature/one)"
}

@test "refused: an invalid fleet configuration merged to main, with its diagnostics" {
	bootstrap_stages
	break_fleet_on_feature
	push origin main
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/main
remote: fleetgate:   stage 'main' is the first stage
remote: fleetgate:   [invalid-config] the fleet configuration at $(short main) has 2 errors
$BROKEN_FLEET_DIAGS
$CONFIG_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] main -> main (pre-receive hook declined)")"
	assert_server_tip main "$(git rev-parse main~1)"
}

@test "refused: an invalid fleet configuration on main promoted to canary, by fast-forward and by merge" {
	bootstrap_stages
	break_fleet_on_feature
	hooks_off # the admin pushed it around the hooks
	git push -q origin main
	hooks_on
	push origin main:canary
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/canary
remote: fleetgate:   stage 'canary' takes only unmodified merges from 'main'
remote: fleetgate:   [invalid-config] the fleet configuration at $(short main) has 2 errors
$BROKEN_FLEET_DIAGS
$CONFIG_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] main -> canary (pre-receive hook declined)")"
	promote_merge canary main
	push origin canary
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/canary
remote: fleetgate:   stage 'canary' takes only unmodified merges from 'main'
remote: fleetgate:   [invalid-config] the fleet configuration at $(short canary) has 2 errors
$BROKEN_FLEET_DIAGS
$CONFIG_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] canary -> canary (pre-receive hook declined)")"
	assert_server_tip canary "$(git rev-parse main~1)"
}

@test "refused: a refusal shows 20 diagnostics and says how to see the rest" {
	bootstrap_stages
	git checkout -q -b feature/typos main
	for i in $(seq 1 23); do echo "typo_$i: x" >> devices/64f1c2a9e3b5d7f0a1c2e4b6.yaml; done
	git commit -q -a -m "Many typos"
	git checkout -q main
	git merge -q --no-ff -m "Merge feature/typos" feature/typos
	push origin main
	assert_status 1
	expected="remote: fleetgate: refusing refs/heads/main
remote: fleetgate:   stage 'main' is the first stage
remote: fleetgate:   [invalid-config] the fleet configuration at $(short main) has 23 errors"
	for i in $(seq 1 20); do
		expected+="
remote: fleetgate:     devices/64f1c2a9e3b5d7f0a1c2e4b6.yaml:$((i + 5)):1: error: unknown key 'typo_$i' in a device file [unknown-key]"
	done
	expected+="
remote: fleetgate:     ... and 3 more (run 'fleetgate validate --rev $(short main)')
$CONFIG_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] main -> main (pre-receive hook declined)")"
	assert_output_is "$expected"
}

@test "refused: a push that edits promotion: to let itself through (stages from the server's config)" {
	bootstrap_stages
	git checkout -q production
	sed -i 's/^promotion:.*/promotion: [main, canary]/' fleet.yaml
	git commit -q -a -m "Production is no stage any more"
	push origin production
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/production
remote: fleetgate:   stage 'production' takes only unmodified merges from 'canary'
remote: fleetgate:   [not-from-upstream] commit $(short production) is not in 'canary': 'production' takes only what 'canary' already holds
remote: fleetgate:     commit $(short production) \"Production is no stage any more\"
$FROM_UPSTREAM_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] production -> production (pre-receive hook declined)")"
	assert_server_tip production "$(git rev-parse main)"
}

@test "refused: a push that edits promotion: with fleetgate.stages unset (promotion: as accepted on the server)" {
	bootstrap_stages
	git -C "$SRV" config --unset fleetgate.stages
	git checkout -q production
	sed -i 's/^promotion:.*/promotion: [main, canary]/' fleet.yaml
	git commit -q -a -m "Production is no stage any more"
	push origin production
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/production
remote: fleetgate:   stage 'production' takes only unmodified merges from 'canary'
remote: fleetgate:   [not-from-upstream] commit $(short production) is not in 'canary': 'production' takes only what 'canary' already holds
remote: fleetgate:     commit $(short production) \"Production is no stage any more\"
$FROM_UPSTREAM_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] production -> production (pre-receive hook declined)")"
	assert_server_tip production "$(git rev-parse main)"
}

@test "refused: a direct commit on main with fleetgate.stages unset (stages from promotion:)" {
	bootstrap_stages
	git -C "$SRV" config --unset fleetgate.stages
	change "Direct edit of main"
	push origin main
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/main
remote: fleetgate:   stage 'main' is the first stage
remote: fleetgate:   [merge-only] commit $(short main) is not a merge: 'main' takes only merge commits
remote: fleetgate:     commit $(short main) \"Direct edit of main\"
$MERGE_ONLY_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] main -> main (pre-receive hook declined)")"
	assert_server_tip main "$(git rev-parse main~1)"
}

@test "refused: a pusher missing from fleetgate.pushers.production" {
	ready_for_production
	USER=mallory push origin production
	assert_status 1
	assert_line_present "remote: fleetgate:   [pusher] 'mallory' may not push stage 'production'"
	assert_line_present " ! [remote rejected] production -> production (pre-receive hook declined)"
	assert_server_tip production "$(git rev-parse main~1)"
	assert_output_is "remote: fleetgate: refusing refs/heads/production
remote: fleetgate:   [pusher] 'mallory' may not push stage 'production'
remote: fleetgate:     what to do: ask one of release-manager, sre-bot (git config fleetgate.pushers.production) to push it
$ONE_REFUSED
$(git_refused " ! [remote rejected] production -> production (pre-receive hook declined)")"
}

@test "refused: no identity known while fleetgate.pushers.production is set" {
	ready_for_production
	USER= push origin production
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/production
remote: fleetgate:   [pusher] only named people may push stage 'production', and the server could not tell who is pushing
remote: fleetgate:     what to do: the server must say who pushes (GL_USERNAME, GITEA_PUSHER_NAME, GL_USER, REMOTE_USER or USER)
$ONE_REFUSED
$(git_refused " ! [remote rejected] production -> production (pre-receive hook declined)")"
	assert_server_tip production "$(git rev-parse main~1)"
}

@test "refused: a pusher missing from fleetgate.pushers.production while stages come from promotion:" {
	ready_for_production
	git -C "$SRV" config --unset fleetgate.stages
	USER=mallory push origin production
	assert_status 1
	assert_line_present "remote: fleetgate:   [pusher] 'mallory' may not push stage 'production'"
	assert_server_tip production "$(git rev-parse main~1)"
}

# main gets two reviewed merges; feature/fox forked before the second.
foxtrot_setup() {
	bootstrap_stages
	merge_feature one
	git push -q origin main
	git checkout -q -b feature/fox main
	change "Fox change"
	git checkout -q main
	merge_feature two
	git push -q origin main
}

@test "refused: a foxtrot merge on main (main merged into a feature branch, pushed as main)" {
	foxtrot_setup
	tip=$(git rev-parse main)
	git checkout -q feature/fox
	git merge -q -m "Merge main into feature/fox" main
	push origin feature/fox:main
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/main
remote: fleetgate:   stage 'main' is the first stage
remote: fleetgate:   [first-parent] the first-parent history of 'main' does not continue from its previous tip $(short "$tip")
$FIRST_PARENT_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] feature/fox -> main (pre-receive hook declined)")"
	assert_server_tip main "$tip"
}

@test "refused: a merge on main whose feature side is fine but whose first parent is a stale main" {
	foxtrot_setup
	tip=$(git rev-parse main)
	git checkout -q -b feature/late main
	change "Late change"
	git checkout -q -b stale main~1 # the developer's main, one merge behind
	git merge -q --no-ff -m "Merge feature/late" feature/late
	push origin stale:main
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/main
remote: fleetgate:   stage 'main' is the first stage
remote: fleetgate:   [first-parent] the first-parent history of 'main' does not continue from its previous tip $(short "$tip")
$FIRST_PARENT_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] stale -> main (pre-receive hook declined)")"
	assert_server_tip main "$tip"
}

@test "refused: seven direct commits on main: the refusal names five and says there are more" {
	bootstrap_stages
	for i in 1 2 3 4 5 6 7; do change "Direct edit $i"; done
	push origin main
	assert_status 1
	expected="remote: fleetgate: refusing refs/heads/main
remote: fleetgate:   stage 'main' is the first stage"
	for i in 7 6 5 4 3; do
		expected+="
remote: fleetgate:   [merge-only] commit $(short main~$((7 - i))) is not a merge: 'main' takes only merge commits
remote: fleetgate:     commit $(short main~$((7 - i))) \"Direct edit $i\"
$MERGE_ONLY_ADVICE"
	done
	assert_output_is "$expected
remote: fleetgate:   ... and 2 more commits that are not merges of new work
$ONE_REFUSED
$(git_refused " ! [remote rejected] main -> main (pre-receive hook declined)")"
	assert_server_tip main "$(git rev-parse main~7)"
}

@test "refused: a commit subject with terminal escapes is shown with them neutralised" {
	bootstrap_stages
	change "$(printf 'Fix \e[31mred\e[0m alert\r\a')"
	push origin main
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/main
remote: fleetgate:   stage 'main' is the first stage
remote: fleetgate:   [merge-only] commit $(short main) is not a merge: 'main' takes only merge commits
remote: fleetgate:     commit $(short main) \"Fix ?[31mred?[0m alert??\"
$MERGE_ONLY_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] main -> main (pre-receive hook declined)")"
	[[ "$output" != *$'\e'* && "$output" != *$'\a'* && "$output" != *$'\r'* ]]
}

@test "refused: C1 controls and bidirectional overrides in a subject and a file name are neutralised" {
	bootstrap_stages
	# U+009B (CSI, C1), U+202E (right-to-left override), U+2066 (isolate)
	csi=$'\xc2\x9b' rlo=$'\xe2\x80\xae' lri=$'\xe2\x81\xa6'
	printf 'name: x\n' > "devices/${rlo}x${lri}.yaml"
	git add -A
	git commit -q -m "Fix ${csi}2J${rlo}txt.exe${lri} device"
	push origin main
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/main
remote: fleetgate:   stage 'main' is the first stage
remote: fleetgate:   [merge-only] commit $(short main) is not a merge: 'main' takes only merge commits
remote: fleetgate:     commit $(short main) \"Fix ?2J?txt.exe? device\"
$MERGE_ONLY_ADVICE
remote: fleetgate:   [invalid-config] the fleet configuration at $(short main) has 1 error
remote: fleetgate:     devices/?x?.yaml: error: '?x?' is not a Mender device id (a lowercase UUID like 0b6c5f9e-2d1f-4c3a-9f7e-5a4b3c2d1e0f, or 24 lowercase hex digits) [device-id]
$CONFIG_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] main -> main (pre-receive hook declined)")"
	[[ "$output" != *"$csi"* && "$output" != *"$rlo"* && "$output" != *"$lri"* ]]
}

@test "refused: a subject over 200 bytes is shown shortened at a whole character, with a visible mark" {
	bootstrap_stages
	# 199 bytes, then a 2-byte character across the cap, then more
	subject="$(printf 'x%.0s' $(seq 199))é and more past the cap"
	change "$subject"
	push origin main
	assert_status 1
	[ "${lines[3]}" = "remote: fleetgate:     commit $(short main) \"$(printf 'x%.0s' $(seq 199))…\"" ]
}

@test "refused: under GitLab (GL_ID set) the first line is repeated with GL-HOOK-ERR:" {
	bootstrap_stages
	change "Direct edit of main"
	GL_ID=user-1 GL_USERNAME=fleet-dev push origin main
	assert_status 1
	assert_output_is "remote: GL-HOOK-ERR: fleetgate: refusing refs/heads/main: commit $(short main) is not a merge: 'main' takes only merge commits
remote: fleetgate: refusing refs/heads/main
remote: fleetgate:   stage 'main' is the first stage
remote: fleetgate:   [merge-only] commit $(short main) is not a merge: 'main' takes only merge commits
remote: fleetgate:     commit $(short main) \"Direct edit of main\"
$MERGE_ONLY_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] main -> main (pre-receive hook declined)")"
}

@test "refused: a brand-new commit is judged from git's quarantine, and none of its objects stay" {
	bootstrap_stages
	printf 'name: quarantined-device\n' > devices/0123456789abcdef01234567.yaml
	git add -A
	git commit -q -m "Brand-new commit, still in quarantine"
	new=$(git rev-parse main) blob=$(git rev-parse main:devices/0123456789abcdef01234567.yaml)
	assert_fails git -C "$SRV" cat-file -e "$new"
	push origin main
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/main
remote: fleetgate:   stage 'main' is the first stage
remote: fleetgate:   [merge-only] commit $(short main) is not a merge: 'main' takes only merge commits
remote: fleetgate:     commit $(short main) \"Brand-new commit, still in quarantine\"
$MERGE_ONLY_ADVICE
$ONE_REFUSED
$(git_refused " ! [remote rejected] main -> main (pre-receive hook declined)")"
	assert_fails git -C "$SRV" cat-file -e "$new"
	assert_fails git -C "$SRV" cat-file -e "$blob"
	[ -z "$(find "$SRV/objects" -maxdepth 1 -name 'tmp_objdir-*')" ]
}

@test "refused: a server setting fleetgate cannot read refuses every push (fail closed)" {
	bootstrap_stages
	git -C "$SRV" config fleetgate.hookTimeout soon
	merge_feature one
	push origin main
	assert_status 1
	assert_output_is "remote: fleetgate: push refused: git config fleetgate.hookTimeout: 'soon' is not a number of seconds (1-3600)
remote: fleetgate: this is a problem of the server, not of your change: tell the git server's admin
$(git_refused " ! [remote rejected] main -> main (pre-receive hook declined)")"
	assert_server_tip main "$(git rev-parse main~1)"
}

@test "refused: a SHA-256 repository, with a clear message from install and from the hook" {
	git init -q --bare --object-format=sha256 "$SRV"
	run "$FLEETGATE" install --repo "$SRV"
	assert_status 2
	assert_output_is "fleetgate install: $SRV: repository format not supported (unsupported extension name extensions.objectformat); fleetgate reads SHA-1 repositories only"
	[ ! -e "$SRV/hooks/pre-receive" ]
	# An admin who writes the hook by hand gets a refusal that says why.
	printf '#!/bin/sh\nexec %s hook pre-receive\n' "$FLEETGATE" > "$SRV/hooks/pre-receive"
	chmod +x "$SRV/hooks/pre-receive"
	git init -q --object-format=sha256 dev
	cp -R "$FG_TOP/fleet-example/." dev/
	cd dev
	git add -A
	git commit -q -m "Example fleet"
	push "$URL" main
	assert_status 1
	assert_output_is "remote: fleetgate: push refused: ref update for 'refs/heads/main' uses SHA-256 object ids; fleetgate reads SHA-1 repositories only
remote: fleetgate: this is a problem of the server, not of your change: tell the git server's admin
$(git_refused " ! [remote rejected] main -> main (pre-receive hook declined)")"
	assert_server_tip main ""
}
