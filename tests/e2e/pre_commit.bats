#!/usr/bin/env bats
# The pre-commit framework (Debian's pre-commit, installed by
# scripts/ensure-deps) running fleetgate's hook: from .pre-commit-hooks.yaml
# in a local clone of this project (a remote repository to pre-commit,
# pinned by a tag), and as the README's `repo: local` snippet. Both use
# language: system, so pre-commit installs nothing and needs no network.

load helpers
load push_helpers

DEVICE=devices/a3e9d7c1-4b2f-4f6a-9e8d-7c1b5a3f2e90.yaml
TYPO="$DEVICE:4:1: error: unknown key 'subscribed_brnach' in a device file (did you mean 'subscribed_branch'?) [unknown-key]"

setup() {
	setup_workspace
	command -v pre-commit >/dev/null || skip "pre-commit is not installed (apt-get install pre-commit)"
	export PATH="$(dirname "$FLEETGATE"):$PATH" PRE_COMMIT_HOME=$WORK/pre-commit-cache
	unset PRE_COMMIT_ALLOW_NO_CONFIG SKIP
}

teardown() { teardown_workspace; }

# The hook repository: a clone of this project with the working tree's
# .pre-commit-hooks.yaml, tagged v0.1.0 there.
hook_repo() {
	git clone -q "$FG_TOP" "$WORK/fleetgate-src"
	cp "$FG_TOP/.pre-commit-hooks.yaml" "$WORK/fleetgate-src/"
	git -C "$WORK/fleetgate-src" commit -q --allow-empty -a -m "The hook as in the working tree"
	git -C "$WORK/fleetgate-src" tag v0.1.0
}

# The fleet clone with the example fleet and the config on main, and
# pre-commit's git hook.
fleet_with_config() { # config text
	make_fleet_clone "$WORK/dev"
	cd "$WORK/dev"
	printf '%s\n' "$1" > .pre-commit-config.yaml
	git add .pre-commit-config.yaml
	git commit -q -m "pre-commit"
	run pre-commit install --install-hooks
	assert_status 0
	assert_line_present "pre-commit installed at .git/hooks/pre-commit"
}

# The README's snippet, as it is in the README.
readme_snippet() {
	awk '/^repos:$/ { block = ""; on = 1 }
		on && /^```$/ { if (block ~ /repo: local/) { printf "%s", block; exit } on = 0 }
		on { block = block $0 "\n" }' "$FG_TOP/README.md"
}

refused() { # diagnostics...
	printf 'fleetgate validate.......................................................Failed\n- hook id: fleetgate-validate\n- exit code: 1\n\n'
	printf '%s\n' "$@"
}

# A typo, a deletion of fleet.yaml (also one that leaves the file in the
# working tree) and the fix, committed through pre-commit's git hook.
judge_commits() {
	head=$(git rev-parse HEAD)
	sed -i 's/^subscribed_branch:/subscribed_brnach:/' "$DEVICE"
	run git commit -q -a -m "A typo"
	assert_status 1
	assert_output_is "$(refused "$TYPO" "folder $WORK/dev/: fleet.yaml and 6 device files: 1 error, 0 warnings")"
	[ "$(git rev-parse HEAD)" = "$head" ]

	git checkout -q -- "$DEVICE"
	git rm -q fleet.yaml
	run git commit -q -m "Delete fleet.yaml"
	assert_status 1
	assert_line_present "fleet.yaml: error: fleet.yaml is missing at the root of folder $WORK/dev/: without it no device is managed [missing-file]"
	[ "$(git rev-parse HEAD)" = "$head" ]

	git reset -q --hard
	git rm -q --cached fleet.yaml
	run git commit -q -m "Delete fleet.yaml, keep it here"
	assert_status 1
	assert_line_present "fleet.yaml: error: fleet.yaml is missing at the root of the index (staged changes): without it no device is managed [missing-file]"
	[ "$(git rev-parse HEAD)" = "$head" ]

	git reset -q --hard
	# the fix, with an unstaged typo beside it: pre-commit puts it aside,
	# the commit records the fix, the typo stays in the working tree
	sed -i 's/^  playbook_version: .*/  playbook_version: "1.6.0"/' fleet.yaml
	git add fleet.yaml
	sed -i 's/^subscribed_branch:/subscribed_brnach:/' "$DEVICE"
	run git commit -q -m "The fix"
	assert_status 0
	[ "${#lines[@]}" -eq 4 ]
	[ "${lines[0]}" = "[WARNING] Unstaged files detected." ]
	[[ "${lines[1]}" == "[INFO] Stashing unstaged files to $PRE_COMMIT_HOME/patch"* ]]
	[ "${lines[2]}" = "fleetgate validate.......................................................Passed" ]
	[[ "${lines[3]}" == "[INFO] Restored changes from $PRE_COMMIT_HOME/patch"* ]]
	[ "$(git rev-parse HEAD~1)" = "$head" ]
	[ "$(git show HEAD:fleet.yaml | grep playbook_version)" = '  playbook_version: "1.6.0"' ]
	grep -q '^subscribed_brnach:' "$DEVICE"

	# run --all-files judges the working tree, unstaged typo included
	run pre-commit run --all-files
	assert_status 1
	assert_output_is "$(refused "$TYPO" "folder $WORK/dev/: fleet.yaml and 6 device files: 1 error, 0 warnings")"
	git checkout -q -- "$DEVICE"
	run pre-commit run --all-files
	assert_status 0
	assert_output_is "fleetgate validate.......................................................Passed"
}

@test "pre-commit: the hook of .pre-commit-hooks.yaml from a tagged clone refuses a typo and a deletion of fleet.yaml, accepts the fix" {
	hook_repo
	fleet_with_config "repos:
  - repo: $WORK/fleetgate-src
    rev: v0.1.0
    hooks:
      - id: fleetgate-validate"
	judge_commits
}

@test "pre-commit: the README's repo: local snippet refuses a typo and a deletion of fleet.yaml, accepts the fix" {
	snippet=$(readme_snippet)
	[[ "$snippet" == *"always_run: true"* ]]
	fleet_with_config "$snippet"
	judge_commits
}
