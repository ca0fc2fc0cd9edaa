#!/usr/bin/env bats
# A hostile pusher against the promotion rules, through real pushes into a
# bare repository after `fleetgate install`: each attack is refused, the
# server's refs do not move, and the Mender stand-in sees no deployment.
# Some pushes go through a small client of git's push protocol (raw_push)
# that sends old ids of its own choosing, as a modified client can.

load helpers
load sim_helpers
load push_helpers # after sim_helpers: its make_server is the one used here

setup() {
	setup_push
	cp "$FG_TOP/fleet-example/mender-seed.json" "$WORK/seed.json"
	start_sim "$WORK/seed.json"
}

teardown() {
	stop_sim
	teardown_workspace
}

# From now on, post-receive schedules for real: any ref that lands reaches
# the stand-in. What the stand-in holds now is kept to compare.
arm_mender() {
	git -C "$SRV" config fleetgate.menderServer "$SIM"
	export MENDER_ACCESS_TOKEN=attack-test-token
	sim GET /_sim/state | jq -S . > "$WORK/sim-before.json"
}

# The stand-in holds what it held when armed: no deployment, no
# configuration, no tag was made since.
assert_mender_untouched() {
	sim GET /_sim/state | jq -S . > "$WORK/sim-after.json"
	if ! cmp -s "$WORK/sim-before.json" "$WORK/sim-after.json"; then
		diff "$WORK/sim-before.json" "$WORK/sim-after.json" >&2
		return 1
	fi
	[ "$(jq '.deployments | length' "$WORK/sim-after.json")" = 0 ]
}

# The server's three stages are all at REV.
assert_stages_at() { # rev
	assert_server_tip main "$1"
	assert_server_tip canary "$1"
	assert_server_tip production "$1"
}

# Push as a client of git's protocol may, with the old ids it chooses:
# COMMANDS are "old new ref" lines sent in that order, CAPS the capabilities
# asked for, and the pack holds the objects of PACK_REVS (rev-list
# arguments). What receive-pack and the hooks say lands in $output.
raw_push() { # caps pack-revs command...
	local caps=$1 revs=$2
	shift 2
	run bash -c '
		caps=$1 revs=$2 srv=$3; shift 3
		{
			first=1
			for c in "$@"; do
				if [ $first = 1 ]; then
					printf "%04x%s\0%s\n" $((${#c} + ${#caps} + 6)) "$c" "$caps"
					first=0
				else
					printf "%04x%s\n" $((${#c} + 5)) "$c"
				fi
			done
			printf 0000
			# shellcheck disable=SC2086
			git rev-list --objects $revs | git pack-objects -q --stdout
		} | git receive-pack "$srv" 2>&1 | tr -d "\0" | sed -E "s/^0000//; s/^[0-9a-f]{4}((ok|ng) )/\1/" |
			grep -a "fleetgate\|^ng \|^ok "
	' raw_push "$caps" "$revs" "$SRV" "$@"
}

# ------------------------------------------------------------ invented old ids

@test "attack: invented old ids (main X->X, canary X->X, production P0->X) land nothing" {
	bootstrap_stages
	arm_mender
	p0=$(git rev-parse production)
	git checkout -q production
	change "Unreviewed change on production"
	x=$(git rev-parse HEAD)
	raw_push "report-status" "$x --not $p0" "$x $x refs/heads/main" "$x $x refs/heads/canary" \
		"$p0 $x refs/heads/production"
	assert_line_present "fleetgate:   [stale-old-id] the push says 'main' is at $(short "$x"), but it is at $(short "$p0")"
	assert_line_present "fleetgate:   [stale-old-id] the push says 'canary' is at $(short "$x"), but it is at $(short "$p0")"
	assert_line_present "fleetgate:   [not-from-upstream] commit $(short "$x") is not in 'canary': 'production' takes only what 'canary' already holds"
	assert_line_present "fleetgate: 3 refs judged (3 stages): 0 accepted, 3 refused"
	assert_stages_at "$p0"
	assert_mender_untouched
}

# ---------------------------------------------------------------- races

# A second developer's clone, and a pre-receive hook of the server's own
# that, once, lets that developer move main while the first push waits
# between fleetgate's judgement and git's writes: two clients racing.
race_setup() {
	bootstrap_stages
	git clone -q "$URL" "$WORK/other" 2>/dev/null
	git -C "$WORK/other" checkout -q -b feature/other origin/main
	echo "# other" > "$WORK/other/other.txt"
	git -C "$WORK/other" add other.txt
	git -C "$WORK/other" commit -q -m "Other work"
	git -C "$WORK/other" checkout -q -B main origin/main
	git -C "$WORK/other" merge -q --no-ff -m "Merge feature/other" feature/other
	cat > "$SRV/hooks/pre-receive.chained" <<-EOF
	#!/bin/sh
	cat >/dev/null
	if [ -e "$WORK/race" ]; then
		rm -f "$WORK/race"
		env -u GIT_DIR -u GIT_QUARANTINE_PATH -u GIT_OBJECT_DIRECTORY \
			-u GIT_ALTERNATE_OBJECT_DIRECTORIES -u GIT_PUSH_OPTION_COUNT \
			git -C "$WORK/other" push -q origin main >/dev/null 2>&1
	fi
	exit 0
	EOF
	chmod +x "$SRV/hooks/pre-receive.chained"
	"$FLEETGATE" install --repo "$SRV" --chain >/dev/null
	merge_feature one
	git checkout -q canary
	git merge -q --no-ff -m "Promote main to canary" main
	git checkout -q main
	arm_mender
	touch "$WORK/race"
}

@test "attack: race: main moves while a push of main, then canary, waits: canary is not written" {
	race_setup
	old=$(git rev-parse canary~1)
	raw_push "report-status" "$(git rev-parse canary) --not $old" \
		"$(git rev-parse main~1) $(git rev-parse main) refs/heads/main" \
		"$old $(git rev-parse canary) refs/heads/canary"
	assert_line_present "fleetgate: refusing refs/heads/canary when writing it: [not-from-upstream] merge commit $(short canary) brings in a commit that was never a tip of 'main' (it is not on its first-parent line)"
	assert_server_tip main "$(git -C "$WORK/other" rev-parse main)"
	assert_server_tip canary "$old"
	[ "$(sim GET /_sim/state | jq -r '[.deployments[].name | select(test("canary"))] | length')" = 0 ]
}

@test "attack: race, atomic: git refuses the whole transaction" {
	race_setup
	old=$(git rev-parse canary~1)
	raw_push "report-status atomic" "$(git rev-parse canary) --not $old" \
		"$(git rev-parse main~1) $(git rev-parse main) refs/heads/main" \
		"$old $(git rev-parse canary) refs/heads/canary"
	assert_line_present "ng refs/heads/main atomic transaction failed"
	assert_line_present "ng refs/heads/canary atomic transaction failed"
	assert_server_tip main "$(git -C "$WORK/other" rev-parse main)"
	assert_server_tip canary "$old"
}

@test "attack: race, canary sent before main: canary is refused before anything is written" {
	race_setup
	old=$(git rev-parse canary~1)
	push origin main canary
	assert_status 1
	assert_line_present "remote: fleetgate:   [upstream-in-push] 'canary' rests on the new tip of 'main' from this push, and git writes 'canary' first"
	assert_line_present " ! [remote rejected] canary -> canary (hook declined)"
	assert_server_tip main "$(git -C "$WORK/other" rev-parse main)"
	assert_server_tip canary "$old"
}

@test "main and canary in one push: main first lands both; canary first is refused with what to do" {
	bootstrap_main
	merge_feature one
	push origin main main:canary
	assert_status 0
	assert_server_tip canary "$(git rev-parse main)"
	merge_feature two
	git checkout -q -B canary origin/canary
	promote_merge canary main
	git checkout -q main
	old=$(git rev-parse canary~1)
	push origin main canary
	assert_status 1
	assert_line_present "remote: fleetgate:   [upstream-in-push] 'canary' rests on the new tip of 'main' from this push, and git writes 'canary' first"
	assert_line_present "remote: fleetgate:     what to do: push the upstream stage first, then this one"
	assert_server_tip main "$(git rev-parse main)"
	assert_server_tip canary "$old"
	push origin canary
	assert_status 0
	assert_server_tip canary "$(git rev-parse canary)"
}

@test "without fleetgate's reference-transaction hook, a stage never rests on its upstream's move in the same push" {
	bootstrap_main
	rm "$SRV/hooks/reference-transaction"
	merge_feature one
	push origin main main:canary
	assert_status 1
	assert_line_present "remote: fleetgate:   [upstream-in-push] 'canary' rests on the new tip of 'main' from this push, and this server cannot make sure 'canary' is written only if 'main' is (fleetgate's reference-transaction hook is not installed)"
	assert_server_tip canary ""
}

# ------------------------------------------------- feature branches' states

# main holds a feature merged after two commits: the first turned ssh on
# (work in progress), the second turned it off again. WIP is that first one.
feature_with_wip() {
	bootstrap_stages
	git checkout -q -b feature/debug main
	sed -i 's/ssh_enabled: false/ssh_enabled: true/' fleet.yaml
	git commit -q -a -m "WIP: ssh on for debugging"
	WIP=$(git rev-parse HEAD)
	sed -i 's/ssh_enabled: true/ssh_enabled: false/' fleet.yaml
	echo "# debugged" >> fleet.yaml
	git commit -q -a -m "Debugging done"
	git checkout -q main
	git merge -q --no-ff -m "Merge feature/debug" feature/debug
	git push -q origin main
	arm_mender
}

@test "attack: canary fast-forwarded to a feature branch's intermediate commit" {
	feature_with_wip
	base=$(git rev-parse main~1)
	push origin "$WIP:refs/heads/canary"
	assert_status 1
	assert_line_present "remote: fleetgate:   [not-from-upstream] commit $(short "$WIP") was never a tip of 'main': it is only in the history of a branch merged into it"
	assert_server_tip canary "$base"
	assert_mender_untouched
}

@test "attack: canary merges a feature branch's intermediate commit with its tree" {
	feature_with_wip
	base=$(git rev-parse main~1)
	git checkout -q canary
	git merge -q --no-ff -m "Promote main" "$WIP"
	push origin canary
	assert_status 1
	assert_line_present "remote: fleetgate:   [not-from-upstream] merge commit $(short canary) brings in a commit that was never a tip of 'main' (it is not on its first-parent line)"
	assert_server_tip canary "$base"
	assert_mender_untouched
}

@test "attack: a stage created at a feature branch's intermediate commit" {
	feature_with_wip
	git -C "$SRV" config fleetgate.stages "main canary production edge"
	push origin "$WIP:refs/heads/edge"
	assert_status 1
	assert_line_present "remote: fleetgate:   [not-from-upstream] stage 'edge' can only be created at a commit on the first-parent line of 'production', and $(short "$WIP") is not one"
	assert_server_tip edge ""
	assert_mender_untouched
}

# ------------------------------------------------ merges that merge nothing

@test "attack: on main, merges of [main, main~1] and [main, main] with an edited tree" {
	bootstrap_stages
	merge_feature one
	git push -q origin main
	arm_mender
	tip=$(git rev-parse main)
	sed -i 's/ssh_enabled: false/ssh_enabled: true/' fleet.yaml
	git add fleet.yaml
	tree=$(git write-tree)
	git checkout -q fleet.yaml
	older=$(git commit-tree -p main -p main~1 -m "Merge main~1" "$tree")
	push origin "$older:refs/heads/main"
	assert_status 1
	assert_line_present "remote: fleetgate:   [empty-merge] merge commit $(short "$older") merges nothing: its second parent is already in the history of its first"
	same=$(printf 'tree %s\nparent %s\nparent %s\nauthor A <a@example.com> 1700000000 +0000\ncommitter A <a@example.com> 1700000000 +0000\n\nMerge main into main\n' \
		"$tree" "$tip" "$tip" | git hash-object -t commit -w --stdin)
	push origin "$same:refs/heads/main"
	assert_status 1
	assert_line_present "remote: fleetgate:   [empty-merge] merge commit $(short "$same") merges nothing: its second parent is already in the history of its first"
	assert_server_tip main "$tip"
	assert_mender_untouched
}

# ---------------------------------------------------------- symbolic refs

@test "attack: a push to an alias (master -> main, prod -> production) is judged as its target" {
	bootstrap_stages
	git -C "$SRV" symbolic-ref refs/heads/master refs/heads/main
	git -C "$SRV" symbolic-ref refs/heads/prod refs/heads/production
	arm_mender
	tip=$(git rev-parse main)
	git fetch -q origin
	change "Direct edit through an alias"
	push origin HEAD:master
	assert_status 1
	assert_line_present "remote: fleetgate: refusing refs/heads/master (an alias of refs/heads/main)"
	assert_line_present "remote: fleetgate:   [merge-only] commit $(short HEAD) is not a merge: 'main' takes only merge commits"
	push origin HEAD:prod
	assert_status 1
	assert_line_present "remote: fleetgate: refusing refs/heads/prod (an alias of refs/heads/production)"
	assert_line_present "remote: fleetgate:   [not-from-upstream] commit $(short HEAD) is not in 'canary': 'production' takes only what 'canary' already holds"
	assert_stages_at "$tip"
	assert_mender_untouched
}

# ------------------------------------------------- refs/replace, own refs

@test "attack: refs/replace/ and fleetgate's own refs are never taken from a client" {
	bootstrap_stages
	missing=0123456789abcdef0123456789abcdef01234567
	push origin "main:refs/replace/$missing"
	assert_status 1
	assert_line_present "remote: fleetgate:   [reserved-ref] 'refs/replace/$missing' is a ref that no push may change (refs/replace/ rewrites history for every clone; refs/notes/fleetgate/ is fleetgate's record)"
	push origin main:refs/notes/fleetgate/verified
	assert_status 1
	assert_line_present "remote: fleetgate:   [reserved-ref] 'refs/notes/fleetgate/verified' is a ref that no push may change (refs/replace/ rewrites history for every clone; refs/notes/fleetgate/ is fleetgate's record)"
	[ -z "$(git -C "$SRV" for-each-ref refs/replace refs/notes)" ]
}

@test "attack: a malformed tree is refused by git's own checks, which install turns on" {
	bootstrap_stages
	[ "$(git -C "$SRV" config receive.fsckObjects)" = true ]
	blob=$(echo evil | git hash-object -w --stdin)
	# A tree entry whose name holds a slash: git's fsck calls it fullPathname.
	tree=$(perl -e 'print "100644 a/b\0" . pack("H*", $ARGV[0])' "$blob" |
		git hash-object -t tree -w --stdin --literally)
	bad=$(git commit-tree -p main -m "Malformed" "$tree")
	push origin "$bad:refs/heads/feature/bad"
	assert_status 1
	assert_line_present " ! [remote rejected] $bad -> feature/bad (unpacker error)"
	assert_server_tip feature/bad ""
}

# ------------------------------------------------------ limits fail closed

@test "attack: with 70 stages, deleting the 69th is refused" {
	bootstrap_main
	stages=$(seq -f 's%g' 1 70 | tr '\n' ' ')
	hooks_off
	git -C "$SRV" config fleetgate.stages "$stages"
	for s in $stages; do refs="$refs main:refs/heads/$s"; done
	# shellcheck disable=SC2086
	git push -q origin $refs 2>/dev/null
	hooks_on
	push origin :s69
	assert_status 1
	assert_line_present "remote: fleetgate:   [delete] deleting stage 's69' is not allowed"
	assert_server_tip s69 "$(git rev-parse main)"
}

@test "attack: a stage name git config cannot hold is refused by install, the hook and the validator" {
	git init -q --bare "$SRV"
	run "$FLEETGATE" install --repo "$SRV" --stages "main canary Production"
	assert_status 2
	assert_output_is "fleetgate install: --stages: stage name 'Production' cannot be used: a stage name is lowercase letters, digits and '-', starts with a letter and has at most 100 characters, because git config keys such as fleetgate.pushers.<stage> cannot hold anything else"
	[ ! -e "$SRV/hooks/pre-receive" ]
	"$FLEETGATE" install --repo "$SRV" >/dev/null
	make_dev_clone
	cd dev
	git -C "$SRV" config fleetgate.stages "main canary Production"
	push origin main
	assert_status 1
	assert_line_present "remote: fleetgate: push refused: git config fleetgate.stages: stage name 'Production' cannot be used: a stage name is lowercase letters, digits and '-', starts with a letter and has at most 100 characters, because git config keys such as fleetgate.pushers.<stage> cannot hold anything else"
	assert_server_tip main ""
	sed -i 's/^promotion: .*/promotion: [main, canary, Production]/' fleet.yaml
	run "$FLEETGATE" validate
	assert_status 1
	assert_line_present "fleet.yaml:5:27: error: stage name 'Production' cannot be used: a stage name is lowercase letters, digits and '-', starts with a letter and has at most 100 characters, because git config keys such as fleetgate.pushers.<stage> cannot hold anything else [stage-name]"
}

@test "attack: 1,010 direct commits on main are refused after a bounded look" {
	bootstrap_main
	tip=$(git rev-parse main)
	{
		for i in $(seq 1 1010); do
			printf 'commit refs/heads/main\ncommitter A <a@example.com> %d +0000\ndata <<EOT\nDirect %d\nEOT\n' $((1700000000 + i)) "$i"
			[ "$i" = 1 ] && printf 'from %s\n' "$tip"
			printf 'M 644 inline notes/direct.txt\ndata <<EOT\n%d\nEOT\n\n' "$i"
		done
	} | git fast-import --quiet --force
	push origin main
	assert_status 1
	assert_line_present "remote: fleetgate:   ... and at least 1000 more commits that are not merges of new work"
	assert_server_tip main "$tip"
}
