#!/usr/bin/env bats
# Verified promotion through real pushes against the stand-in: a promotion
# out of canary passes only once canary's devices proved the tree healthy
# (docs/verification.md). Three canary devices (a Mender tag subscribes
# them), one production device; soak 2 s.

load helpers
load sim_helpers
load push_helpers

OLD=2025-09-01-1200-pi3-gitops-trixie-arm64
A1=2025-10-09-1716-pi3-gitops-trixie-arm64
A2=2025-11-14-1030-pi3-gitops-trixie-arm64
C1=0b6c00000000000000000001
C2=0b6c00000000000000000002
C3=0b6c00000000000000000003
P1=0b6c00000000000000000009

setup() {
	setup_workspace
	export MENDER_ACCESS_TOKEN=test-token-not-secret
	canary='"tags": {"subscribed_branch": "canary"}'
	cat > "$WORK/seed.json" <<EOF
{"devices": [
 {"id": "$C1", "device_type": "pi3", "inventory": {"artifact_name": "$OLD"}, $canary},
 {"id": "$C2", "device_type": "pi3", "inventory": {"artifact_name": "$OLD"}, $canary},
 {"id": "$C3", "device_type": "pi3", "inventory": {"artifact_name": "$OLD"}, $canary},
 {"id": "$P1", "device_type": "pi3", "inventory": {"artifact_name": "$OLD"}}],
 "artifacts": [{"name": "$A1", "device_types_compatible": ["pi3"]},
               {"name": "$A2", "device_types_compatible": ["pi3"]}]}
EOF
	start_sim "$WORK/seed.json"
	SRV="$WORK/srv.git"
	git init -q --bare "$SRV"
	"$FLEETGATE" install --repo "$SRV" >/dev/null
	git -C "$SRV" config fleetgate.menderServer "$SIM"
	git -C "$SRV" config fleetgate.applyTimeout 20
	git clone -q "$SRV" "$WORK/dev" 2>/dev/null
	cat > "$WORK/dev/fleet.yaml" <<EOF
fleet: 1
default_branch: production
promotion: [main, canary, production]
os_images:
  pi3: $A1
EOF
	git -C "$WORK/dev" add -A
	git -C "$WORK/dev" commit -q -m "The fleet"
	# every stage at the first tree, every device on it, before any rule
	push main >/dev/null
	push main:canary >/dev/null
	push main:production >/dev/null
	sim POST /_sim/step >/dev/null
	run "$FLEETGATE" install --repo "$SRV" --verify canary:minDevices=3,soak=2s
	assert_line_present "settings: fleetgate.verify.canary.minDevices = 3"
	assert_line_present "settings: fleetgate.verify.canary.soak = 2s"
}

teardown() {
	stop_sim
	teardown_workspace
}

push() { # refspec...
	git -C "$WORK/dev" push origin "$@" 2>&1 | remote_lines
}

# A second tree on main: the pi3 image moves to A2.
next_tree() {
	git -C "$WORK/dev" checkout -q -b "feature-$RANDOM"
	sed -i "s/$A1/$A2/" "$WORK/dev/fleet.yaml"
	git -C "$WORK/dev" commit -q -a -m "pi3 to $A2"
	git -C "$WORK/dev" checkout -q main
	git -C "$WORK/dev" merge -q --no-ff - -m "Merge the new image"
	push main >/dev/null
}

server_tip() { # branch
	git -C "$SRV" rev-parse "refs/heads/$1"
}

record() { # stage jq-filter: of the record of the stage's tip tree
	git -C "$SRV" notes --ref "fleetgate/$1" show "$(git -C "$SRV" rev-parse "refs/heads/$1^{tree}")" | jq -r "$2"
}

@test "canary gates production: refused with no evidence, pending, soaking; accepted once soaked" {
	git -C "$SRV" config fleetgate.notifyCommand "cat >> '$WORK/events'"
	next_tree
	tree=$(git -C "$WORK/dev" rev-parse --short=7 'main^{tree}')
	# before canary moved: production cannot take it
	run push main:production
	assert_line_present "fleetgate: refusing refs/heads/production"
	[ "$(server_tip production)" != "$(git -C "$WORK/dev" rev-parse main)" ]
	run push main:canary
	assert_line_present "fleetgate: canary@$(git -C "$WORK/dev" rev-parse --short=7 main): verification: pending: 0 of 3 devices healthy (3 needed)"
	# devices not stepped: pending, in numbers
	run push main:production
	assert_line_present "fleetgate: refusing refs/heads/production"
	assert_line_present "fleetgate:   [unverified] canary: pending: 0 of 3 devices healthy (3 needed)"
	[ "$(server_tip production)" != "$(server_tip canary)" ]
	# all succeed: soak not over
	sim POST /_sim/step >/dev/null
	run "$FLEETGATE" verify --repo "$SRV"
	assert_status 1
	[[ "${lines[0]}" == "canary $tree: pending: 3 of 3 devices healthy, soak 2 s left (evaluated at "* ]]
	assert_line_present "  devices: 3 success"
	run push main:production
	assert_line_present "fleetgate:   [unverified] canary: pending: 3 of 3 devices healthy, soak 2 s left"
	# soak over: verified, accepted
	sleep 2.1
	run "$FLEETGATE" verify --repo "$SRV" --stage canary
	assert_status 0
	[[ "${lines[0]}" == "canary $tree: verified: 3 of 3 devices healthy (evaluated at "* ]]
	run push main:production
	[ "$(server_tip production)" = "$(server_tip canary)" ]
	[ "$(record canary .verdict)" = verified ]
	[ "$(record canary '[.history[].verdict] | join(",")')" = "pending,verified" ]
	# fleetgate.notifyCommand heard each transition, once
	run jq -r '"\(.event) \(.stage) \(.tree[0:7]) \(.previous) \(.counts.success)"' "$WORK/events"
	assert_output_is "pending canary $tree null 0
verified canary $tree pending 3"
}

@test "one canary device failing: refused as failed, naming the device" {
	sim PUT "/_sim/devices/$C3" '{"behaviour": "failure"}' >/dev/null
	next_tree
	push main:canary >/dev/null
	sim POST /_sim/step >/dev/null
	run "$FLEETGATE" verify --repo "$SRV"
	assert_status 1
	assert_line_present "  $C3: failure"
	run push main:production
	assert_line_present "fleetgate:   [verification-failed] canary: failed: 2 of 3 devices healthy (3 needed), 1 failed (0b6c…0003: failure)"
	[ "$(server_tip production)" != "$(server_tip canary)" ]
}

@test "a device stuck installing past the timeout counts as failed" {
	git -C "$SRV" config fleetgate.verify.canary.timeout 1s
	git -C "$SRV" config fleetgate.verify.canary.maxFailures 1
	sim PUT "/_sim/devices/$C2" '{"behaviour": "installing"}' >/dev/null
	next_tree
	push main:canary >/dev/null
	sim POST /_sim/step >/dev/null
	run "$FLEETGATE" verify --repo "$SRV"
	assert_line_present "  devices: 1 installing, 2 success"
	sleep 1.1
	run "$FLEETGATE" verify --repo "$SRV"
	assert_line_present "  devices: 2 success, 1 stuck"
	assert_line_present "  $C2: stuck"
	[ "$(record canary .verdict)" = pending ]
	[ "$(record canary .reason)" = "2 of 3 devices healthy (3 needed), 1 failed (0b6c…0002: stuck)" ]
}

@test "a verified tree is revoked when a device reports another artifact" {
	git -C "$SRV" config fleetgate.verify.canary.soak 0
	next_tree
	push main:canary >/dev/null
	sim POST /_sim/step >/dev/null
	run "$FLEETGATE" verify --repo "$SRV"
	assert_status 0
	sim PUT "/_sim/devices/$C1" "{\"inventory\": {\"artifact_name\": \"$OLD\"}}" >/dev/null
	run "$FLEETGATE" verify --repo "$SRV"
	assert_status 1
	[[ "${lines[0]}" == *": pending: 2 of 3 devices healthy (3 needed); its verdict verified was revoked (evaluated at "* ]]
	[ "$(record canary '[.history[] | "\(.verdict):\(.revoked)"] | join(",")')" = "pending:0,verified:0,pending:1" ]
	run push main:production
	assert_line_present "fleetgate:   [unverified] canary: pending: 2 of 3 devices healthy (3 needed); its verdict verified was revoked"
}

@test "a stage with no devices is pending, never verified" {
	git -C "$SRV" config fleetgate.verify.main.soak 0
	next_tree
	run "$FLEETGATE" verify --repo "$SRV" --stage main
	assert_status 1
	[[ "${lines[0]}" == "main "*": pending: no devices: nothing has shown the change to be healthy (evaluated at "* ]]
	run push main:canary
	assert_line_present "fleetgate:   [unverified] main: pending: no devices: nothing has shown the change to be healthy"
	[ "$(server_tip canary)" != "$(server_tip main)" ]
}

@test "stale evidence is pending" {
	git -C "$SRV" config fleetgate.verify.canary.soak 0
	git -C "$SRV" config fleetgate.verify.maxAge 1s
	next_tree
	push main:canary >/dev/null
	sim POST /_sim/step >/dev/null
	"$FLEETGATE" verify --repo "$SRV" >/dev/null
	sleep 1.2
	run push main:production
	assert_line_present "fleetgate:   [unverified] canary: evidence is 2 s old: is 'fleetgate reconcile' running?"
	[ "$(server_tip production)" != "$(server_tip canary)" ]
	# reconcile refreshes it
	"$FLEETGATE" reconcile --repo "$SRV" >/dev/null
	run push main:production
	[ "$(server_tip production)" = "$(server_tip canary)" ]
}

@test "a forged evidence record pushed by a client is refused" {
	next_tree
	push main:canary >/dev/null
	tree=$(git -C "$WORK/dev" rev-parse 'main^{tree}')
	git -C "$WORK/dev" notes --ref fleetgate/canary add -m '{"version":1,"verdict":"verified"}' "$tree"
	run push +refs/notes/fleetgate/canary
	assert_line_present "fleetgate: refusing refs/notes/fleetgate/canary"
	[ "$(git -C "$SRV" notes --ref fleetgate/canary show "$tree" | jq -r .verdict)" = pending ]
	run push main:production
	assert_line_present "fleetgate:   [unverified] canary: pending: 0 of 3 devices healthy (3 needed)"
}

@test "an override by an overrider passes and is recorded; anyone else's is refused" {
	git -C "$SRV" config fleetgate.overriders "alice sre-bot"
	# install advertises push options: -o reaches the hooks
	[ "$(git -C "$SRV" config receive.advertisePushOptions)" = true ]
	next_tree
	push main:canary >/dev/null
	USER=mallory run push -o fleetgate.override="ship it" main:production
	assert_line_present "fleetgate:   [override] 'mallory' may not override verification: only alice, sre-bot may (fleetgate.overriders)"
	[ "$(server_tip production)" != "$(server_tip canary)" ]
	USER=alice run push -o fleetgate.override= main:production
	assert_line_present "fleetgate:   [override] an override needs a reason of 1 to 1000 bytes: -o fleetgate.override=\"why\""
	[ "$(server_tip production)" != "$(server_tip canary)" ]
	USER=alice run push -o fleetgate.override="hotfix for the kiosk outage" main:production
	assert_line_present "fleetgate: production: override by 'alice' (hotfix for the kiosk outage) past canary: pending: 0 of 3 devices healthy (3 needed)"
	[ "$(server_tip production)" = "$(server_tip canary)" ]
	[ "$(record canary '.overrides[0] | "\(.user) \(.reason) \(.target)"')" = "alice hotfix for the kiosk outage production" ]
	line=$(printf '  override by alice at %s (%.7s to production): hotfix for the kiosk outage' \
		"$(record canary '.overrides[0].time_ms_time')" "$(server_tip production)")
	run "$FLEETGATE" verify --repo "$SRV"
	assert_line_present "$line"
	# status shows it from the repository, with the verdict
	run "$FLEETGATE" status --repo "$SRV"
	assert_line_present "verification (fleetgate verify evaluates; refs/notes/fleetgate/<stage>):"
	assert_line_present "$line"
	run "$FLEETGATE" status --repo "$SRV" --format json
	[ "$(echo "$output" | jq -r '.verification[0] | "\(.stage) \(.verdict) \(.overrides[0].user)"')" = "canary pending alice" ]
}

@test "evaluators at once lose no record" {
	next_tree
	push main:canary >/dev/null
	before=$(git -C "$SRV" rev-list --count refs/notes/fleetgate/canary)
	pids=()
	for i in 1 2 3 4; do
		"$FLEETGATE" verify --repo "$SRV" >"$WORK/v$i.out" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || true; done
	# every evaluation is one notes commit on one line: none overwrote another
	[ "$(git -C "$SRV" rev-list --count refs/notes/fleetgate/canary)" -eq $((before + 4)) ]
	[ "$(git -C "$SRV" rev-list --count --merges refs/notes/fleetgate/canary)" -eq 0 ]
	[ "$(record canary .verdict)" = pending ]
}

@test "the gate fails a promotion for want of evidence, from the fetched notes" {
	git -C "$SRV" config fleetgate.verify.canary.soak 0
	next_tree
	push main:canary >/dev/null
	git -C "$WORK/dev" fetch -q origin '+refs/notes/fleetgate/*:refs/notes/fleetgate/*'
	run "$FLEETGATE" gate --repo "$WORK/dev" --source canary --target production
	assert_status 1
	assert_line_present "  [unverified] canary: pending: 0 of 3 devices healthy (3 needed)"
	sim POST /_sim/step >/dev/null
	"$FLEETGATE" verify --repo "$SRV" >/dev/null
	git -C "$WORK/dev" fetch -q origin '+refs/notes/fleetgate/*:refs/notes/fleetgate/*'
	run "$FLEETGATE" gate --repo "$WORK/dev" --source canary --target production
	assert_status 0
}

@test "halt: a failed canary stops its rollout (the unfinished devices aborted); reconcile does not restart it" {
	git -C "$SRV" config fleetgate.verify.canary.minDevices 1
	git -C "$SRV" config fleetgate.verify.canary.halt true
	sim PUT "/_sim/devices/$C1" '{"behaviour": "offline"}' >/dev/null
	sim PUT "/_sim/devices/$C2" '{"behaviour": "offline"}' >/dev/null
	sim PUT "/_sim/devices/$C3" '{"behaviour": "failure"}' >/dev/null
	next_tree
	push main:canary >/dev/null
	sim POST /_sim/step >/dev/null
	head=$(git -C "$WORK/dev" rev-parse --short=7 main)
	run "$FLEETGATE" verify --repo "$SRV"
	assert_status 1
	assert_line_present "  rollout halted at $head (fleetgate.verify.canary.halt); a new push to canary resumes"
	assert_line_present "  halted: 1 deployment aborted"
	# the devices that had not finished it: aborted
	run sim_deployments
	assert_line_present "fleetgate:canary@$head:$A2 $A2 finished 0b6c0000:aborted,0b6c0000:aborted,0b6c0000:failure"
	# the scheduler leaves the halted rollout alone
	run "$FLEETGATE" reconcile --repo "$SRV" --all
	assert_line_present "canary@$head: warning: the rollout of 'canary' at $head was halted when its verification failed (fleetgate.verify.canary.halt): nothing is scheduled; a new push to 'canary' resumes"
	[ "$(sim_deployments | grep -c "canary@$head")" -eq 1 ]
}

# A merge on main that changes only a comment of fleet.yaml.
comment_tree() { # text
	git -C "$WORK/dev" checkout -q -b "feature-$RANDOM"
	echo "# $1" >> "$WORK/dev/fleet.yaml"
	git -C "$WORK/dev" commit -q -a -m "$1"
	git -C "$WORK/dev" checkout -q main
	git -C "$WORK/dev" merge -q --no-ff - -m "Merge: $1"
	push main >/dev/null
}

# A new tree on canary, installed by every device, soaked: verified.
verified_tree() {
	next_tree
	push main:canary >/dev/null
	sim POST /_sim/step >/dev/null
	"$FLEETGATE" verify --repo "$SRV" >/dev/null || true
	sleep 2.1
	"$FLEETGATE" verify --repo "$SRV" >/dev/null
}

@test "a tree that changes no device's desired state inherits the verdict: no new soak" {
	verified_tree
	verified=$(git -C "$WORK/dev" rev-parse --short=7 'main^{tree}')
	comment_tree "a comment only"
	run push main:canary
	assert_line_present "fleetgate: canary@$(git -C "$WORK/dev" rev-parse --short=7 main): verification: verified: no device's desired state changed since tree $verified, which was verified"
	run push main:production
	[ "$(server_tip production)" = "$(server_tip canary)" ]
	[ "$(record canary .inherited_from | cut -c1-7)" = "$verified" ]
}

@test "a tree that left the stage and comes back starts again" {
	verified_tree
	[ "$(record canary .verdict)" = verified ]
	first=$(record canary .since_ms)
	# another tree on canary (the image back to A1), then this one again
	git -C "$WORK/dev" checkout -q -b "back-$RANDOM"
	sed -i "s/$A2/$A1/" "$WORK/dev/fleet.yaml"
	git -C "$WORK/dev" commit -q -a -m "pi3 back to $A1"
	git -C "$WORK/dev" checkout -q main
	git -C "$WORK/dev" merge -q --no-ff - -m "Merge the old image"
	push main >/dev/null
	push main:canary >/dev/null
	next_tree
	push main:canary >/dev/null
	# the record of the tree is there, restarted: its devices run it, but
	# the soak begins again (and it is no revocation)
	[ "$(record canary .since_ms)" -gt "$first" ]
	[ "$(record canary .reason)" = "3 of 3 devices healthy, soak 2 s left" ]
	[ "$(record canary '[.history[] | "\(.verdict):\(.revoked)"] | join(",")')" = "pending:0,verified:0,pending:0" ]
}
