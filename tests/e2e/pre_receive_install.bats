#!/usr/bin/env bats
# `fleetgate install --repo` on a git server: idempotent, never overwrites a
# hook it did not write, --chain keeps that hook and runs it after
# fleetgate's, and the Gitea / GitLab layouts judge pushes through a
# dispatcher like the forge's own.

load helpers
load push_helpers

setup() { setup_push; }
teardown() { teardown_workspace; }

@test "install: writes the four hooks and the default settings; a second run changes nothing" {
	git init -q --bare "$SRV"
	run "$FLEETGATE" install --repo "$SRV"
	assert_status 0
	assert_output_is "installed $SRV/hooks/pre-receive
installed $SRV/hooks/update
installed $SRV/hooks/post-receive
installed $SRV/hooks/reference-transaction
created $SRV/fleetgate/digest.key (the key of the configuration digests in Mender, mode 600)
settings: stages main canary production (git config fleetgate.stages); only merges on the first stage
check: hooks executable, repository opens, settings read"
	[ -x "$SRV/hooks/pre-receive" ]
	[ -x "$SRV/hooks/update" ]
	[ -x "$SRV/hooks/post-receive" ]
	[ "$(git -C "$SRV" config fleetgate.stages)" = "main canary production" ]
	[ "$(git -C "$SRV" config fleetgate.mergeOnly)" = true ]
	before=$(cat "$SRV/hooks/pre-receive" "$SRV/hooks/update" "$SRV/hooks/post-receive" "$SRV/config")
	run "$FLEETGATE" install --repo "$SRV"
	assert_status 0
	assert_output_is "unchanged $SRV/hooks/pre-receive
unchanged $SRV/hooks/update
unchanged $SRV/hooks/post-receive
unchanged $SRV/hooks/reference-transaction
unchanged $SRV/fleetgate/digest.key
settings: stages main canary production (git config fleetgate.stages); only merges on the first stage
check: hooks executable, repository opens, settings read (nothing changed)"
	[ "$(cat "$SRV/hooks/pre-receive" "$SRV/hooks/update" "$SRV/hooks/post-receive" "$SRV/config")" = "$before" ]
}

@test "install: keeps the admin's settings when run again" {
	git init -q --bare "$SRV"
	"$FLEETGATE" install --repo "$SRV" --stages "main production" >/dev/null
	git -C "$SRV" config fleetgate.mergeOnly false
	run "$FLEETGATE" install --repo "$SRV" --stages "main  production"
	assert_status 0
	[ "${lines[5]}" = "settings: stages main production (git config fleetgate.stages); fleetgate.mergeOnly is false" ]
	run "$FLEETGATE" install --repo "$SRV"
	assert_status 0
	assert_output_is "unchanged $SRV/hooks/pre-receive
unchanged $SRV/hooks/update
unchanged $SRV/hooks/post-receive
unchanged $SRV/hooks/reference-transaction
unchanged $SRV/fleetgate/digest.key
settings: stages main production (git config fleetgate.stages); fleetgate.mergeOnly is false
check: hooks executable, repository opens, settings read (nothing changed)"
	[ "$(git -C "$SRV" config fleetgate.stages)" = "main production" ]
}

@test "install: --stages that differ from the stages set is an error showing how to change them" {
	git init -q --bare "$SRV"
	"$FLEETGATE" install --repo "$SRV" --stages "main production" >/dev/null
	before=$(cat "$SRV/config")
	run "$FLEETGATE" install --repo "$SRV" --stages "main staging production"
	assert_status 2
	assert_output_is "fleetgate install: --stages \"main staging production\" differs from the stages already set, \"main production\" (git config fleetgate.stages); install never changes them. To change them, run:
    git -C $SRV config fleetgate.stages 'main staging production'"
	[ "$(cat "$SRV/config")" = "$before" ]
	# The command it shows does it.
	git -C "$SRV" config fleetgate.stages 'main staging production'
	run "$FLEETGATE" install --repo "$SRV" --stages "main staging production"
	assert_status 0
	[ "${lines[5]}" = "settings: stages main staging production (git config fleetgate.stages); only merges on the first stage" ]
}

# What a repository holds, to compare before and after a failed install:
# its files and their modes, its settings (an unset one may leave its
# empty [section] line behind, as git config --unset does) and HEAD.
repo_state() {
	(cd "$SRV" && find . -path ./objects -prune -o -printf '%p %m\n' | LC_ALL=C sort &&
		git config --file config --list && cat HEAD)
}

@test "install: a foreign post-receive hook stops it before anything is written" {
	git -c init.defaultBranch=master init -q --bare "$SRV"
	printf '#!/bin/sh\necho "mail: sent"\n' > "$SRV/hooks/post-receive"
	chmod +x "$SRV/hooks/post-receive"
	before=$(repo_state)
	run "$FLEETGATE" install --repo "$SRV"
	assert_status 2
	assert_output_is "fleetgate install: $SRV/hooks/post-receive exists and was not written by fleetgate; run again with --chain to keep it (it then runs after fleetgate's checks), or move it away"
	[ "$(repo_state)" = "$before" ]
	[ ! -e "$SRV/hooks/pre-receive" ]
	[ ! -e "$SRV/hooks/update" ]
	[ ! -e "$SRV/fleetgate" ]
	[ "$(git -C "$SRV" symbolic-ref HEAD)" = refs/heads/master ]
}

@test "install: a write that fails half-way undoes every write of the run" {
	git -c init.defaultBranch=master init -q --bare "$SRV"
	printf '#!/bin/sh\necho "audit: ok"\n' > "$SRV/hooks/pre-receive"
	chmod +x "$SRV/hooks/pre-receive"
	git -C "$SRV" config receive.fsckObjects false
	# The last hook's temporary file cannot be made: the write fails after
	# the key, the settings, HEAD and three hooks were written.
	mkdir "$SRV/hooks/reference-transaction.fleetgate-tmp"
	before=$(repo_state)
	run "$FLEETGATE" install --repo "$SRV" --chain
	assert_status 2
	assert_output_is "fleetgate install: nothing was changed: $SRV/hooks/reference-transaction.fleetgate-tmp: Is a directory"
	[ "$(repo_state)" = "$before" ]
	[ "$(cat "$SRV/hooks/pre-receive")" = "$(printf '#!/bin/sh\necho "audit: ok"')" ]
	[ ! -e "$SRV/hooks/pre-receive.chained" ]
	[ "$(git -C "$SRV" config receive.fsckObjects)" = false ]
	assert_fails git -C "$SRV" config fleetgate.stages
	[ "$(git -C "$SRV" symbolic-ref HEAD)" = refs/heads/master ]
	rmdir "$SRV/hooks/reference-transaction.fleetgate-tmp"
	run "$FLEETGATE" install --repo "$SRV" --chain
	assert_status 0
}

@test "install: HEAD naming a branch that does not exist moves to the first stage; a fresh clone starts on it" {
	git -c init.defaultBranch=master init -q --bare "$SRV"
	run "$FLEETGATE" install --repo "$SRV"
	assert_status 0
	[ "${lines[5]}" = "HEAD: refs/heads/master does not exist; HEAD now names refs/heads/main, the first stage, so clones start on it" ]
	[ "$(git -C "$SRV" symbolic-ref HEAD)" = refs/heads/main ]
	run "$FLEETGATE" install --repo "$SRV"
	[ "${lines[5]}" = "settings: stages main canary production (git config fleetgate.stages); only merges on the first stage" ]

	# Cloned before anything was pushed, by someone whose git would start
	# on master: the clone starts on main and its first push lands.
	git -c init.defaultBranch=master clone -q "$URL" dev 2>/dev/null
	[ "$(git -C dev symbolic-ref HEAD)" = refs/heads/main ]
	cp -R "$FG_TOP/fleet-example/." dev/
	git -C dev add -A
	git -C dev commit -q -m "Example fleet"
	run git -C dev push -q origin main
	assert_status 0
	assert_server_tip main "$(git -C dev rev-parse main)"
	run git clone "$URL" fresh
	assert_status 0
	assert_output_is "Cloning into 'fresh'..."
	[ "$(git -C fresh symbolic-ref HEAD)" = refs/heads/main ]
}

@test "install: HEAD at an existing branch, or detached, is left alone; the first stage of --stages" {
	git -c init.defaultBranch=trunk init -q --bare "$SRV"
	run "$FLEETGATE" install --repo "$SRV" --stages "dev prod"
	assert_status 0
	[ "${lines[5]}" = "HEAD: refs/heads/trunk does not exist; HEAD now names refs/heads/dev, the first stage, so clones start on it" ]
	[ "$(git -C "$SRV" symbolic-ref HEAD)" = refs/heads/dev ]

	rm -rf "$SRV"
	make_fleet_clone src
	git clone -q --bare src "$SRV"
	git -C "$SRV" symbolic-ref HEAD refs/heads/kept
	git -C "$SRV" branch kept main
	"$FLEETGATE" install --repo "$SRV" >/dev/null
	[ "$(git -C "$SRV" symbolic-ref HEAD)" = refs/heads/kept ]
	git -C "$SRV" update-ref --no-deref HEAD "$(git -C src rev-parse main)"
	run "$FLEETGATE" install --repo "$SRV"
	assert_status 0
	[ "$(cat "$SRV/HEAD")" = "$(git -C src rev-parse main)" ]
}

@test "install: run as root on a repository another user owns, it names the path and says to run it as the owner" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	git init -q --bare "$SRV"
	chown -R nobody "$SRV"
	before=$(repo_state)
	run "$FLEETGATE" install --repo "$SRV"
	assert_status 2
	assert_output_is "fleetgate install: $SRV belongs to user 'nobody', not to 'root': run install as the repository's owner, the user the hooks run as:
    runuser -u nobody -- fleetgate install --repo $SRV
(git config --global --add safe.directory $SRV would let 'root' open it, but what install wrote would belong to 'root', and the hooks could not read the digest key)"
	[ "$(repo_state)" = "$before" ]
	# As the owner it installs, and what it wrote is the owner's.
	chmod o+rx "$WORK" "$(dirname "$FLEETGATE")"
	run runuser -u nobody -- env HOME="$WORK" "$FLEETGATE" install --repo "$SRV"
	assert_status 0
	[ "$(stat -c %U "$SRV/fleetgate/digest.key")" = nobody ]
}

@test "install: refuses to overwrite a hook it did not write" {
	git init -q --bare "$SRV"
	printf '#!/bin/sh\necho "audit: ok"\n' > "$SRV/hooks/pre-receive"
	chmod +x "$SRV/hooks/pre-receive"
	before=$(cat "$SRV/hooks/pre-receive")
	run "$FLEETGATE" install --repo "$SRV"
	assert_status 2
	assert_output_is "fleetgate install: $SRV/hooks/pre-receive exists and was not written by fleetgate; run again with --chain to keep it (it then runs after fleetgate's checks), or move it away"
	[ "$(cat "$SRV/hooks/pre-receive")" = "$before" ]
	[ ! -e "$SRV/hooks/update" ]
	assert_fails git -C "$SRV" config fleetgate.stages
}

@test "install: a repository that does not exist is a usage error" {
	run "$FLEETGATE" install --repo "$WORK/nowhere.git"
	assert_status 2
	[[ "$output" == "fleetgate install: "*"$WORK/nowhere.git"* ]]
}

# A foreign pre-receive hook (an audit log that can freeze the repository)
# and a foreign update hook, as an admin may already have.
foreign_hooks() {
	git init -q --bare "$SRV"
	cat > "$SRV/hooks/pre-receive" <<-'EOF'
	#!/bin/sh
	echo "audit: $(wc -l | tr -d ' ') ref(s) by $USER"
	if [ -e "$GIT_DIR/frozen" ]; then echo "audit: the repository is frozen"; exit 3; fi
	EOF
	printf '#!/bin/sh\necho "audit: update $1"\n' > "$SRV/hooks/update"
	chmod +x "$SRV/hooks/pre-receive" "$SRV/hooks/update"
}

@test "install --chain: keeps the foreign hooks and runs them after fleetgate's, on the same input" {
	foreign_hooks
	foreign=$(cat "$SRV/hooks/pre-receive")
	run "$FLEETGATE" install --repo "$SRV" --chain
	assert_status 0
	assert_output_is "installed $SRV/hooks/pre-receive
installed $SRV/hooks/update
installed $SRV/hooks/post-receive
installed $SRV/hooks/reference-transaction
created $SRV/fleetgate/digest.key (the key of the configuration digests in Mender, mode 600)
settings: stages main canary production (git config fleetgate.stages); only merges on the first stage
check: hooks executable, repository opens, settings read"
	[ "$(cat "$SRV/hooks/pre-receive.chained")" = "$foreign" ]
	run "$FLEETGATE" install --repo "$SRV" --chain
	assert_status 0
	[ "${lines[0]}" = "unchanged $SRV/hooks/pre-receive" ]
	[ "${lines[1]}" = "unchanged $SRV/hooks/update" ]

	make_dev_clone
	cd dev
	push origin main
	assert_status 0
	assert_output_is "remote: audit: 1 ref(s) by fleet-dev
remote: audit: update refs/heads/main
$(deferred main main)
$(git_pushed " * [new branch]      main -> main")"
	assert_server_tip main "$(git rev-parse main)"
}

@test "install --chain: the foreign hook's non-zero exit refuses a push fleetgate accepts" {
	foreign_hooks
	"$FLEETGATE" install --repo "$SRV" --chain >/dev/null
	make_dev_clone
	git -C dev push -q origin main 2>/dev/null
	cd dev
	merge_feature one
	touch "$SRV/frozen"
	push origin main
	assert_status 1
	assert_output_is "remote: audit: 1 ref(s) by fleet-dev
remote: audit: the repository is frozen
$(git_refused " ! [remote rejected] main -> main (pre-receive hook declined)")"
	assert_server_tip main "$(git rev-parse main~1)"
}

@test "install --chain: when fleetgate refuses, the foreign hook does not run" {
	foreign_hooks
	"$FLEETGATE" install --repo "$SRV" --chain >/dev/null
	make_dev_clone
	git -C dev push -q origin main 2>/dev/null
	cd dev
	change "Direct edit of main"
	push origin main
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/main
remote: fleetgate:   stage 'main' is the first stage
remote: fleetgate:   [merge-only] commit $(short main) is not a merge: 'main' takes only merge commits
remote: fleetgate:     commit $(short main) \"Direct edit of main\"
remote: fleetgate:     what to do: commit on a feature branch and merge it into this stage through a merge request (git merge --no-ff)
remote: fleetgate: 1 ref judged (1 stage): 0 accepted, 1 refused
$(git_refused " ! [remote rejected] main -> main (pre-receive hook declined)")"
}

# Gitea's dispatcher (modules/repository/hooks.go): every executable in
# hooks/<hook>.d/, in glob order, each with the same input; all of them run,
# and the first non-zero status is the hook's.
gitea_dispatchers() {
	cat > "$SRV/hooks/pre-receive" <<-'EOF'
	#!/usr/bin/env bash
	# AUTO GENERATED BY GITEA, DO NOT MODIFY (a copy for the tests)
	data=$(cat)
	exitcodes=""
	hookname=$(basename $0)
	GIT_DIR=${GIT_DIR:-$(dirname $0)/..}
	for hook in ${GIT_DIR}/hooks/${hookname}.d/*; do
		test -x "${hook}" && test -f "${hook}" || continue
		echo "${data}" | "${hook}"
		exitcodes="${exitcodes} $?"
	done
	for i in ${exitcodes}; do
		[ ${i} -eq 0 ] || exit ${i}
	done
	EOF
	cat > "$SRV/hooks/update" <<-'EOF'
	#!/usr/bin/env bash
	# AUTO GENERATED BY GITEA, DO NOT MODIFY (a copy for the tests)
	exitcodes=""
	hookname=$(basename $0)
	GIT_DIR=${GIT_DIR:-$(dirname $0)/..}
	for hook in ${GIT_DIR}/hooks/${hookname}.d/*; do
		test -x "${hook}" && test -f "${hook}" || continue
		"${hook}" $1 $2 $3
		exitcodes="${exitcodes} $?"
	done
	for i in ${exitcodes}; do
		[ ${i} -eq 0 ] || exit ${i}
	done
	EOF
	cp "$SRV/hooks/pre-receive" "$SRV/hooks/post-receive" # the same dispatcher
	# Gitea's own hook, standing in: it records the input it was given.
	printf '#!/bin/sh\ncat > "$GIT_DIR/gitea-saw"\n' > "$SRV/hooks/pre-receive.d/gitea"
	chmod +x "$SRV/hooks/pre-receive" "$SRV/hooks/update" "$SRV/hooks/post-receive" "$SRV/hooks/pre-receive.d/gitea"
}

@test "install --gitea: hooks in hooks/<hook>.d/fleetgate, judged through Gitea's dispatcher" {
	git init -q --bare "$SRV"
	run "$FLEETGATE" install --repo "$SRV" --gitea
	assert_status 0
	assert_output_is "installed $SRV/hooks/pre-receive.d/fleetgate
installed $SRV/hooks/update.d/fleetgate
installed $SRV/hooks/post-receive.d/fleetgate
installed $SRV/hooks/reference-transaction
created $SRV/fleetgate/digest.key (the key of the configuration digests in Mender, mode 600)
settings: stages main canary production (git config fleetgate.stages); only merges on the first stage
check: hooks executable, repository opens, settings read"
	[ -x "$SRV/hooks/pre-receive.d/fleetgate" ]
	[ -x "$SRV/hooks/update.d/fleetgate" ]
	[ ! -e "$SRV/hooks/pre-receive" ]
	gitea_dispatchers
	git -C "$SRV" config fleetgate.pushers.production release-manager

	make_dev_clone
	cd dev
	push origin main
	assert_status 0
	assert_output_is "$(deferred main main)
$(git_pushed " * [new branch]      main -> main")"
	[ "$(cat "$SRV/gitea-saw")" = "$(printf '%040d %s refs/heads/main' 0 "$(git rev-parse main)")" ]
	git push -q origin main:canary

	change "Direct edit of main"
	push origin main
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/main
remote: fleetgate:   stage 'main' is the first stage
remote: fleetgate:   [merge-only] commit $(short main) is not a merge: 'main' takes only merge commits
remote: fleetgate:     commit $(short main) \"Direct edit of main\"
remote: fleetgate:     what to do: commit on a feature branch and merge it into this stage through a merge request (git merge --no-ff)
remote: fleetgate: 1 ref judged (1 stage): 0 accepted, 1 refused
$(git_refused " ! [remote rejected] main -> main (pre-receive hook declined)")"
	assert_server_tip main "$(git rev-parse main~1)"

	# Gitea names the pusher in GITEA_PUSHER_NAME, before USER.
	USER=release-manager GITEA_PUSHER_NAME=mallory push origin main~1:refs/heads/production
	assert_status 1
	assert_line_present "remote: fleetgate:   [pusher] 'mallory' may not push stage 'production'"
	USER=mallory GITEA_PUSHER_NAME=release-manager push origin main~1:refs/heads/production
	assert_status 0
	assert_output_is "$(deferred production main~1)
$(git_pushed " * [new branch]      main~1 -> production")"
}

# Gitaly's way, standing in: core.hooksPath points at its own hooks, which
# run custom_hooks/<hook>.d/* in alphabetical order and stop at the first
# non-zero status; the repository's hooks/ folder is ignored.
gitaly_hooks() {
	mkdir -p "$WORK/gitaly-hooks"
	cat > "$WORK/gitaly-hooks/pre-receive" <<-'EOF'
	#!/bin/sh
	input=$(cat)
	for hook in "$GIT_DIR"/custom_hooks/pre-receive.d/*; do
		[ -x "$hook" ] || continue
		printf '%s\n' "$input" | "$hook" || exit $?
	done
	EOF
	cat > "$WORK/gitaly-hooks/update" <<-'EOF'
	#!/bin/sh
	for hook in "$GIT_DIR"/custom_hooks/update.d/*; do
		[ -x "$hook" ] || continue
		"$hook" "$@" || exit $?
	done
	EOF
	sed 's/pre-receive/post-receive/' "$WORK/gitaly-hooks/pre-receive" > "$WORK/gitaly-hooks/post-receive"
	chmod +x "$WORK/gitaly-hooks/pre-receive" "$WORK/gitaly-hooks/update" "$WORK/gitaly-hooks/post-receive"
	git -C "$SRV" config core.hooksPath "$WORK/gitaly-hooks"
}

@test "install --gitlab: hooks in custom_hooks/<hook>.d/fleetgate, judged through Gitaly-like hooks" {
	git init -q --bare "$SRV"
	run "$FLEETGATE" install --repo "$SRV" --gitlab
	assert_status 0
	assert_output_is "installed $SRV/custom_hooks/pre-receive.d/fleetgate
installed $SRV/custom_hooks/update.d/fleetgate
installed $SRV/custom_hooks/post-receive.d/fleetgate
created $SRV/fleetgate/digest.key (the key of the configuration digests in Mender, mode 600)
settings: stages main canary production (git config fleetgate.stages); only merges on the first stage
check: hooks executable, repository opens, settings read"
	[ -x "$SRV/custom_hooks/pre-receive.d/fleetgate" ]
	[ -x "$SRV/custom_hooks/update.d/fleetgate" ]
	[ ! -e "$SRV/hooks/pre-receive" ]
	gitaly_hooks
	git -C "$SRV" config fleetgate.pushers.production release-manager
	export GL_ID=user-7 GL_PROTOCOL=ssh GL_USERNAME=dev-7

	make_dev_clone
	cd dev
	push origin main
	assert_status 0
	assert_output_is "$(deferred main main)
$(git_pushed " * [new branch]      main -> main")"
	git push -q origin main:canary

	change "Direct edit of main"
	push origin main
	assert_status 1
	assert_output_is "remote: GL-HOOK-ERR: fleetgate: refusing refs/heads/main: commit $(short main) is not a merge: 'main' takes only merge commits
remote: fleetgate: refusing refs/heads/main
remote: fleetgate:   stage 'main' is the first stage
remote: fleetgate:   [merge-only] commit $(short main) is not a merge: 'main' takes only merge commits
remote: fleetgate:     commit $(short main) \"Direct edit of main\"
remote: fleetgate:     what to do: commit on a feature branch and merge it into this stage through a merge request (git merge --no-ff)
remote: fleetgate: 1 ref judged (1 stage): 0 accepted, 1 refused
$(git_refused " ! [remote rejected] main -> main (pre-receive hook declined)")"

	# GitLab names the pusher in GL_USERNAME, before USER.
	USER=release-manager push origin main~1:refs/heads/production
	assert_status 1
	assert_line_present "remote: GL-HOOK-ERR: fleetgate: refusing refs/heads/production: 'dev-7' may not push stage 'production'"
	USER=mallory GL_USERNAME=release-manager push origin main~1:refs/heads/production
	assert_status 0
	assert_output_is "$(deferred production main~1)
$(git_pushed " * [new branch]      main~1 -> production")"
}
