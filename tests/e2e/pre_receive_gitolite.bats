#!/usr/bin/env bats
# fleetgate under a real gitolite (Debian's gitolite3), set up as
# contrib/gitolite/README.md says: the pre-receive and post-receive hooks
# through gitolite's repo-specific hooks, the per-ref verdict through
# VREF/fleetgate, the settings and rules from contrib/gitolite/gitolite.conf.
# Pushes go through
# gitolite-shell as sshd's forced command would run it (a stand-in for ssh
# that runs it directly), so GL_USER names the pusher.
#
# scripts/ensure-deps installs gitolite3 for `make check` (its
# openssh-server is installed, never started); without it these tests are
# skipped.

load helpers
load push_helpers
load sim_helpers

GITOLITE_SHELL=${GITOLITE_SHELL:-/usr/share/gitolite3/gitolite-shell}

setup() {
	setup_push
	if ! command -v gitolite >/dev/null || [ ! -x "$GITOLITE_SHELL" ]; then
		skip "gitolite3 is not installed (apt-get install gitolite3)"
	fi
	gitolite_setup
}

teardown() {
	stop_sim
	teardown_workspace
}

# A gitolite hosting account in $WORK/gitolite, with the rc changes and the
# files the README names, and the fleet repository compiled from the conf.
gitolite_setup() {
	GL_HOME=$WORK/gitolite
	mkdir -p "$GL_HOME"
	HOME=$GL_HOME gitolite setup -a admin >/dev/null 2>&1
	sed -i -e 's|# LOCAL_CODE  *=>  "$ENV{HOME}/local",|LOCAL_CODE => "$ENV{HOME}/local",|' \
		-e "s|# 'repo-specific-hooks',|'repo-specific-hooks',|" \
		-e "s|GIT_CONFIG_KEYS  *=>  '',|GIT_CONFIG_KEYS => 'fleetgate\\\\..*',|" "$GL_HOME/.gitolite.rc"
	grep -q '^ *LOCAL_CODE => ' "$GL_HOME/.gitolite.rc"
	grep -q "^ *'repo-specific-hooks'," "$GL_HOME/.gitolite.rc"
	grep -q "^ *GIT_CONFIG_KEYS => 'fleetgate" "$GL_HOME/.gitolite.rc"
	mkdir -p "$GL_HOME/local/VREF" "$GL_HOME/local/hooks/repo-specific"
	cp "$FG_TOP/contrib/gitolite/VREF/fleetgate" "$GL_HOME/local/VREF/"
	cp "$FG_TOP/contrib/gitolite/hooks/repo-specific/fleetgate" "$GL_HOME/local/hooks/repo-specific/"
	{
		printf 'repo gitolite-admin\n    RW+ = admin\n\n'
		cat "$FG_TOP/contrib/gitolite/gitolite.conf"
	} > "$GL_HOME/.gitolite/conf/gitolite.conf"
	gitolite_compile
	SRV=$GL_HOME/repositories/fleet.git
	[ -d "$SRV" ]
	# sshd's part: a clean environment and gitolite-shell as the forced
	# command. FLEETGATE tells the contrib scripts where the build is.
	cat > "$WORK/ssh" <<-EOF
	#!/bin/sh
	for last; do :; done
	exec env -i PATH=/usr/bin:/bin HOME="$GL_HOME" FLEETGATE="$FLEETGATE" \\
		SSH_CONNECTION="127.0.0.1 40000 127.0.0.1 22" SSH_ORIGINAL_COMMAND="\$last" \\
		"$GITOLITE_SHELL" "\$GL_TEST_USER"
	EOF
	chmod +x "$WORK/ssh"
	export GIT_SSH_COMMAND=$WORK/ssh GL_TEST_USER=fleet-dev
	URL=localhost:fleet
}

gitolite_compile() {
	HOME=$GL_HOME gitolite compile
	HOME=$GL_HOME gitolite trigger POST_COMPILE
}

# The example fleet on main, canary and production.
gitolite_stages() {
	make_dev_clone
	cd dev
	git push -q origin main
	git push -q origin main:canary
	GL_TEST_USER=release-manager git push -q origin main:production
	git branch -q canary main
	git branch -q production main
}

@test "gitolite: the example fleet is bootstrapped and promoted; GL_USER names the pusher" {
	make_dev_clone
	cd dev
	# gitolite runs no reference-transaction hook of fleetgate's, so canary
	# may not rest on main's move in the same push: main goes first. The
	# VREF is not seen as fleetgate's update hook, so the whole push is
	# refused, main included.
	push origin main main:canary
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/canary
remote: fleetgate:   stage 'canary' takes only unmodified merges from 'main'
remote: fleetgate:   [upstream-in-push] 'canary' rests on the new tip of 'main' from this push, and this server cannot make sure 'canary' is written only if 'main' is (fleetgate's reference-transaction hook is not installed)
remote: fleetgate:     what to do: push the upstream stage first, then this one
remote: fleetgate: 2 refs judged (2 stages): 1 accepted, 1 refused
remote: fleetgate: the whole push is refused: fleetgate's update hook is not installed, so one ref cannot be refused alone
$(git_refused " ! [remote rejected] main -> main (pre-receive hook declined)" " ! [remote rejected] main -> canary (pre-receive hook declined)")"
	assert_server_tip main ""
	assert_server_tip canary ""
	push origin main
	assert_status 0
	assert_output_is "$(deferred main main)
$(git_pushed " * [new branch]      main -> main")"
	push origin main:canary
	assert_status 0
	assert_output_is "$(deferred canary main)
$(git_pushed " * [new branch]      main -> canary")"
	push origin main:production
	assert_status 1
	assert_line_present "remote: fleetgate:   [pusher] 'fleet-dev' may not push stage 'production'"
	assert_line_present " ! [remote rejected] main -> production (pre-receive hook declined)"
	assert_server_tip production ""
	GL_TEST_USER=release-manager push origin main:production
	assert_status 0
	assert_output_is "$(deferred production main)
$(git_pushed " * [new branch]      main -> production")"
	assert_server_tip production "$(git rev-parse main)"
	[ -d "$SRV/fleetgate/verdicts" ]
	[ -z "$(ls "$SRV/fleetgate/verdicts")" ] # every verdict was taken by the VREF
}

@test "gitolite: a reviewed merge lands; a direct commit on main is refused" {
	gitolite_stages
	old=$(git rev-parse main)
	merge_feature one
	push origin main
	assert_status 0
	assert_output_is "$(deferred main main)
$(git_pushed "$(ff_line "$old" main "main -> main")")"
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
}

@test "gitolite: without the pre-receive hook, VREF/fleetgate declines stages and lets free branches land" {
	gitolite_stages
	rm "$SRV/hooks/pre-receive" "$SRV/hooks/pre-receive.h00-fleetgate"
	merge_feature one
	push origin main feature/one
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/main: pre-receive left no verdict for it (is fleetgate's pre-receive hook installed?)
remote: FATAL: VREF/fleetgate: helper program exit status 256
remote: error: hook declined to update refs/heads/main
$(deferred feature/one feature/one)
$(git_refused " * [new branch]      feature/one -> feature/one" " ! [remote rejected] main -> main (hook declined)")"
	assert_server_tip main "$(git rev-parse main~1)"
	assert_server_tip feature/one "$(git rev-parse feature/one)"
}

@test "gitolite: one refused ref in a push without --atomic: the good ref lands" {
	gitolite_stages
	old=$(git rev-parse main)
	merge_feature one
	git checkout -q canary
	change "Direct edit of canary"
	push origin main canary
	assert_status 1
	assert_line_present "remote: fleetgate:   [not-from-upstream] commit $(short canary) is not in 'main': 'canary' takes only what 'main' already holds"
	assert_line_present " ! [remote rejected] canary -> canary (pre-receive hook declined)"
	assert_server_tip canary "$old"
	skip "product bug: pre-receive cannot tell that gitolite's update hook runs VREF/fleetgate, so it refuses the whole push"
	assert_line_present " ! [remote rejected] canary -> canary (hook declined)"
	assert_server_tip main "$(git rev-parse main)"
}

@test "gitolite: post-receive schedules against Mender with the settings from gitolite.conf and the key from install --key-only" {
	cp "$FG_TOP/fleet-example/mender-seed.json" "$WORK/seed.json"
	start_sim "$WORK/seed.json"
	# the hosting user's files, mode 600, and the conf's commented lines
	install -m 600 /dev/null "$GL_HOME/.mender-token"
	echo test-token-not-secret > "$GL_HOME/.mender-token"
	install -m 600 /dev/null "$GL_HOME/.fleet-secrets"
	echo RUNNER_ACCESS_TOKEN=ghr-s3cr3t-runner-token > "$GL_HOME/.fleet-secrets"
	sed -e "s|^    # \(config fleetgate.menderServer *= *\).*|    \1$SIM|" \
		-e "s|^    # \(config fleetgate.menderTokenFile *= *\).*|    \1$GL_HOME/.mender-token|" \
		-e "s|^    # \(config fleetgate.secretsFile *= *\).*|    \1$GL_HOME/.fleet-secrets|" \
		-i "$GL_HOME/.gitolite/conf/gitolite.conf"
	gitolite_compile
	[ "$(git -C "$SRV" config fleetgate.menderServer)" = "$SIM" ]
	[ "$(git -C "$SRV" config fleetgate.menderTokenFile)" = "$GL_HOME/.mender-token" ]
	[ "$(git -C "$SRV" config fleetgate.secretsFile)" = "$GL_HOME/.fleet-secrets" ]
	make_dev_clone
	cd dev
	sed -i "s|^  server: https://hosted.mender.io$|  server: $SIM|" fleet.yaml
	git commit -q -a --amend -m "Example fleet"
	head=$(short main)
	# no key yet: the push lands, the job waits in the spool
	push origin main
	assert_status 0
	assert_line_present "remote: fleetgate: main@$head: deferred: the configuration digest key $SRV/fleetgate/digest.key does not exist: run 'fleetgate install --repo $SRV' to make it"
	assert_server_tip main "$(git rev-parse main)"
	run sim_deployments
	assert_output_is ""
	# as the hosting user: only the key, gitolite's hooks untouched
	hooks_before=$(ls -l "$SRV/hooks")
	run "$FLEETGATE" install --repo "$SRV" --key-only
	assert_status 0
	assert_output_is "created $SRV/fleetgate/digest.key (the key of the configuration digests in Mender, mode 600)"
	[ "$(stat -c %a "$SRV/fleetgate/digest.key")" = 600 ]
	[ "$(ls -l "$SRV/hooks")" = "$hooks_before" ]
	run "$FLEETGATE" install --repo "$SRV" --key-only
	assert_output_is "unchanged $SRV/fleetgate/digest.key"
	push origin main:canary
	assert_status 0
	assert_output_is "remote: fleetgate: canary@$head: 1 device managed: 1 OS update in 1 deployment (1 created, 0 already there), 1 configuration deployed, 0 pending, 0 aborted
$(git_pushed " * [new branch]      main -> canary")"
	run sim_deployments
	assert_output_is "fleetgate:canary@$head:2025-10-09-1716-pi3-gitops-trixie-arm64 2025-10-09-1716-pi3-gitops-trixie-arm64 pending a3e9d7c1:pending"
}
