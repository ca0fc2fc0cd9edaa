#!/usr/bin/env bats
# Hostile objects pushed into a real bare repository: a fleet file far over
# the 1 MiB cap that compresses into a tiny pack, and a tree entry that says
# "file" but names a tree. The hooks, validate and the scheduler must refuse
# them from the object's header, without inflating it, and say which file.
#
# The big file is 256 MiB rather than 1 GiB: it proves the same thing (the
# hook's peak memory stays far below the file's size) while git spends about
# 3 s instead of 12 s hashing and compressing it on a loaded CI machine.

load helpers
load sim_helpers
load push_helpers

HUGE=$((256 * 1024 * 1024))
# Peak resident memory (KiB) any fleetgate process may reach in these tests;
# the hooks and commands stay near 10 MiB (30 MiB under AddressSanitizer)
# when they read only the objects' headers.
RSS_MAX_KB=102400

setup() {
	setup_push
}

teardown() {
	stop_sim
	teardown_workspace
}

# Commits in the current clone whose fleet.yaml holds SIZE bytes ("fleet: 1"
# then comment lines), streamed by git fast-import so that no git process
# holds the file whole: feature/huge (from main) and, on main, its --no-ff
# merge, which a reviewer would have merged.
huge_fleet_commits() { # size
	local size=$1 who="A U Thor <a@example.com> 1700000000 +0000"
	git config core.bigFileThreshold 1m
	{
		printf 'blob\nmark :1\ndata %d\n' "$size"
		printf 'fleet: 1\n'
		yes '#' | head -c $((size - 9))
		printf '\ncommit refs/heads/feature/huge\ncommitter %s\ndata %d\n%s\n' \
			"$who" 16 "A big fleet.yaml"
		printf 'from refs/heads/main^0\nM 100644 :1 fleet.yaml\n\n'
		printf 'commit refs/heads/main\ncommitter %s\ndata %d\n%s\n' \
			"$who" 18 "Merge feature/huge"
		printf 'from refs/heads/main^0\nmerge refs/heads/feature/huge\nM 100644 :1 fleet.yaml\n\n'
	} | git fast-import --quiet --big-file-threshold=1m
}

# Run the server's hook NAME under /usr/bin/time; its peak memory (KiB)
# lands in $WORK/NAME.rss.
measure_hook() { # name
	printf '#!/bin/sh\nexec /usr/bin/time -f %%M -o %s %s hook %s "$@"\n' \
		"$WORK/$1.rss" "$FLEETGATE" "$1" > "$SRV/hooks/$1"
}

# A fleetgate command under /usr/bin/time, as `run` does; its peak memory
# (KiB) lands in $WORK/cmd.rss.
run_measured() { # fleetgate arguments...
	run /usr/bin/time -f %M -o "$WORK/cmd.rss" "$FLEETGATE" "$@"
}

assert_rss_below_cap() { # file
	local kb
	kb=$(tail -n1 "$1")
	echo "peak memory: $kb KiB ($1)" >&3
	if [ "$kb" -ge "$RSS_MAX_KB" ]; then
		printf '%s: peak memory %s KiB, more than %s KiB\n' "$1" "$kb" "$RSS_MAX_KB" >&2
		return 1
	fi
}

# What the loader says of the example fleet when fleet.yaml cannot be read:
# the cap, and the roles its device files name that are now undefined.
HUGE_DIAGS="devices/0b6c4f1e-7a2d-4e9b-b8c3-1f5a7d2e9c40.yaml:3:9: error: role 'kiosk' is not defined in fleet.yaml [unknown-role]
devices/64f1c2a9e3b5d7f0a1c2e4b6.yaml:3:9: error: role 'hotspot' is not defined in fleet.yaml [unknown-role]
devices/7d2e5b8a-1c4f-4a9d-8e3b-6f0a2c4e8b17.yaml:4:9: error: role 'ci-runner' is not defined in fleet.yaml [unknown-role]
devices/a3e9d7c1-4b2f-4f6a-9e8d-7c1b5a3f2e90.yaml:5:9: error: role 'kiosk' is not defined in fleet.yaml [unknown-role]
devices/c8b1f4e2-6d3a-4c7b-9a2e-5b8d1f3c6a04.yaml:5:9: error: role 'kiosk' is not defined in fleet.yaml [unknown-role]
fleet.yaml: error: file is larger than 1 MiB [too-large]"

# ... and what validate adds in a clone that has no canary branch.
validate_says() { # label
	printf '%s\n' "$HUGE_DIAGS" | sed "/^devices\/a3e9d7c1.*unknown-role/i\\
devices/a3e9d7c1-4b2f-4f6a-9e8d-7c1b5a3f2e90.yaml: warning: subscribed_branch 'canary' is neither a stage nor a branch of this repository [unknown-branch]"
	printf '%s: fleet.yaml and 6 device files: 6 errors, 1 warning' "$1"
}

@test "attack: a 256 MiB fleet.yaml in a tiny pack, to a free branch and to main: main refused from the object's header" {
	bootstrap_main
	old_main=$(git rev-parse main)
	huge_fleet_commits "$HUGE"
	[ "$(git cat-file -s main:fleet.yaml)" -eq "$HUGE" ]
	measure_hook pre-receive
	push origin feature/huge main
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/main
remote: fleetgate:   stage 'main' is the first stage
remote: fleetgate:   [invalid-config] the fleet configuration at $(short main) has 6 errors
$(printf '%s\n' "$HUGE_DIAGS" | sed 's/^/remote: fleetgate:     /')
remote: fleetgate:     what to do: fix the errors on the first stage and promote the fix
remote: fleetgate: 2 refs judged (1 stage): 1 accepted, 1 refused
remote: fleetgate: the refused refs are declined by the update hook; with --atomic git refuses the whole push
remote: error: hook declined to update refs/heads/main
$(deferred feature/huge feature/huge)
To $URL
 * [new branch]      feature/huge -> feature/huge
 ! [remote rejected] main -> main (hook declined)
error: failed to push some refs to '$URL'"
	assert_server_tip main "$old_main"
	assert_server_tip feature/huge "$(git rev-parse feature/huge)"
	assert_rss_below_cap "$WORK/pre-receive.rss"
}

@test "attack: the 256 MiB fleet.yaml in a commit and in the index: validate reads only the header" {
	bootstrap_main
	huge_fleet_commits "$HUGE"
	# feature/huge is not on the server yet: judge the clone's commit
	run_measured validate --rev feature/huge
	assert_status 1
	assert_output_is "$(validate_says "commit $(short feature/huge)")"
	assert_rss_below_cap "$WORK/cmd.rss"
	# the index: a sparse file, staged through git's streaming path
	printf 'fleet: 1\n' > fleet.yaml
	truncate -s "$HUGE" fleet.yaml
	git add fleet.yaml
	rm fleet.yaml
	run_measured validate --staged
	assert_status 1
	assert_output_is "$(validate_says "the index (staged changes)")"
	assert_rss_below_cap "$WORK/cmd.rss"
}

@test "attack: a 256 MiB fleet.yaml on a free branch: post-receive schedules main and refuses the branch, from the header" {
	export MENDER_ACCESS_TOKEN=test-token-not-secret
	export FLEETGATE_SECRET_RUNNER_ACCESS_TOKEN=ghr-s3cr3t-runner-token
	cp "$FG_TOP/fleet-example/mender-seed.json" "$WORK/seed.json"
	start_sim "$WORK/seed.json"
	make_server
	git -C "$SRV" config fleetgate.menderServer "$SIM"
	make_dev_clone
	cd dev
	main=$(git rev-parse main)
	huge_fleet_commits "$HUGE"
	git update-ref refs/heads/main "$main" # only the feature branch is big
	measure_hook post-receive
	run git push origin main feature/huge
	assert_status 0
	output=$(printf '%s\n' "$output" | remote_lines)
	assert_output_is "fleetgate: 2 refs judged (1 stage): 2 accepted, 0 refused
fleetgate: main@$(short main): 2 devices managed: 2 OS updates in 2 deployments (2 created, 0 already there), 2 configurations deployed, 0 pending, 0 aborted
fleetgate: main@$(short main): warning: branch 'feature/huge' is skipped, it claims no device: its fleet at $(short feature/huge) has 6 errors, the first devices/0b6c4f1e-7a2d-4e9b-b8c3-1f5a7d2e9c40.yaml:3:9: role 'kiosk' is not defined in fleet.yaml
fleetgate: main@$(short main): warning: mender.server 'https://hosted.mender.io' in fleet.yaml is not the Mender server of this git server; it is not used
fleetgate: feature/huge@$(short feature/huge): not scheduled: the fleet configuration of 'feature/huge' at $(short feature/huge) has 6 errors: run 'fleetgate validate --rev $(short feature/huge)'; the next commit of the branch is scheduled as usual"
	run sim_deployments
	assert_output_is "fleetgate:main@$(short main):2025-10-06-0930-var-som-mx8m-nano-symphony-bookworm-arm64 2025-10-06-0930-var-som-mx8m-nano-symphony-bookworm-arm64 pending d4a7c2e9:pending
fleetgate:main@$(short main):2025-10-10-2137-pi4-gitops-v2-bookworm-arm64 2025-10-10-2137-pi4-gitops-v2-bookworm-arm64 pending c8b1f4e2:pending"
	assert_rss_below_cap "$WORK/post-receive.rss"
	# plan reads every branch's fleet too
	run_measured plan --branch main --repo "$SRV"
	assert_rss_below_cap "$WORK/cmd.rss"
}

# A tree object written from "mode id name" lines as given, without the
# checks of git mktree (which refuses a tree listed with a file's mode).
raw_tree() {
	local mode id name
	while read -r mode id name; do
		printf '%s %s\0' "${mode#0}" "$name"
		printf "$(printf %s "$id" | sed 's/../\\x&/g')"
	done | git hash-object -t tree -w --literally --stdin
}

# On main, a reviewed merge whose tree lists object ID as file PATH (in the
# root or in devices/): no git command writes such a tree, an attacker's
# tool does.
merge_object_as_file() { # path id
	local dir=main name=$1 sub root feature
	case "$1" in devices/*) dir=main:devices name=${1#devices/} ;; esac
	sub=$(git ls-tree "$dir" | sed 's/^\([0-9]*\) [a-z]* \([0-9a-f]*\)\t/\1 \2 /' |
		sed "s|^100644 [0-9a-f]* $name\$|100644 $2 $name|" | raw_tree)
	root=$sub
	if [ "$dir" = main:devices ]; then
		root=$(git ls-tree main | sed 's/^\([0-9]*\) [a-z]* \([0-9a-f]*\)\t/\1 \2 /' |
			sed "s|^040000 [0-9a-f]* devices\$|40000 $sub devices|" | raw_tree)
	fi
	feature=$(git commit-tree "$root" -p main -m "Point $1 at an object that is no file")
	git update-ref refs/heads/feature/objects "$feature"
	git update-ref refs/heads/main "$(git commit-tree "$root" -p main -p "$feature" -m "Merge feature/objects")"
}

# What pre-receive says when a file of main's new tip is no blob.
not_a_blob_refusal() { # path id type
	cat <<-EOF
	remote: fleetgate: refusing refs/heads/main
	remote: fleetgate:   stage 'main' is the first stage
	remote: fleetgate:   [internal-error] fleetgate could not validate the fleet configuration: $1: object $(git rev-parse --short=7 "$2") is a $3 where a file's content should be (a malformed tree)
	remote: fleetgate:     what to do: this is a problem of the server, not of your change: tell the git server's admin
	remote: fleetgate: 2 refs judged (1 stage): 1 accepted, 1 refused
	remote: fleetgate: the refused refs are declined by the update hook; with --atomic git refuses the whole push
	remote: error: hook declined to update refs/heads/main
	EOF
}

@test "attack: a tree entry with a file's mode naming a tree, then a commit: main refused, naming the file" {
	bootstrap_main
	# git's own object checks, which install turns on, refuse such a tree
	# before any hook runs (attack_push.bats); without them fleetgate
	# still refuses it by its object header.
	git -C "$SRV" config receive.fsckObjects false
	old_main=$(git rev-parse main)
	# a tree of its own, so that git push sends it as the "file"
	tree=$(printf '100644 blob %s\tx.txt\n' "$(echo x | git hash-object -w --stdin)" | git mktree)
	merge_object_as_file fleet.yaml "$tree"
	[ "$(git cat-file -t main:fleet.yaml)" = tree ]
	push origin feature/objects main
	assert_status 1
	assert_output_is "$(not_a_blob_refusal fleet.yaml "$tree" tree)
$(deferred feature/objects feature/objects)
To $URL
 * [new branch]      feature/objects -> feature/objects
 ! [remote rejected] main -> main (hook declined)
error: failed to push some refs to '$URL'"
	assert_server_tip main "$old_main"
	# a commit that only this push brings, listed as a device file
	old_feature=$(git rev-parse --short feature/objects)
	git update-ref refs/heads/main "$old_main"
	commit=$(git commit-tree "$(git rev-parse main^{tree})" -m "A commit posing as a file")
	device=devices/64f1c2a9e3b5d7f0a1c2e4b6.yaml
	merge_object_as_file "$device" "$commit"
	[ "$(git cat-file -t "main:$device")" = commit ]
	push -f origin feature/objects main
	assert_status 1
	assert_output_is "$(not_a_blob_refusal "$device" "$commit" commit)
$(deferred feature/objects feature/objects)
To $URL
 + $old_feature...$(git rev-parse --short feature/objects) feature/objects -> feature/objects (forced update)
 ! [remote rejected] main -> main (hook declined)
error: failed to push some refs to '$URL'"
	assert_server_tip main "$old_main"
}
