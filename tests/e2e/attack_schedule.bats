#!/usr/bin/env bats
# A hostile pusher against the scheduler: anyone who may push a free branch
# (any branch that is not a stage) controls its content, its tags and its
# object types. Every attack goes through a real `git push` into a bare
# repository with fleetgate's hooks, against the Mender stand-in, and shows
# that the stages keep their devices and the attacker gets nothing.

bats_require_minimum_version 1.5.0

load helpers
load sim_helpers

PI3_NEW=2025-10-09-1716-pi3-gitops-trixie-arm64
PI3_NEXT=2025-11-14-1030-pi3-gitops-trixie-arm64
STATION=0b6c4f1e-7a2d-4e9b-b8c3-1f5a7d2e9c40
RUNNER=7d2e5b8a-1c4f-4a9d-8e3b-6f0a2c4e8b17
SECRET=ghr-s3cr3t-runner-token

setup() {
	setup_workspace
	export MENDER_ACCESS_TOKEN=test-token-not-secret
	export FLEETGATE_SECRET_RUNNER_ACCESS_TOKEN=$SECRET
	unset MENDER_SERVER
	cp "$FG_TOP/fleet-example/mender-seed.json" "$WORK/seed.json"
	start_sim "$WORK/seed.json"
	make_server
}

teardown() {
	stop_attacker_sim
	stop_sim
	teardown_workspace
}

push() { # refspec...
	git -C "$WORK/dev" push origin "$@" 2>&1 | remote_lines
}

# The three stages rolled out the legitimate way.
roll_out_stages() {
	push main >/dev/null
	push main:canary >/dev/null
	push main:production >/dev/null
}

# A commit on a free branch 'evil', from main, whose fleet tries to take every
# device: default_branch evil, no device file naming a branch, and a key that
# carries the runner's secret to every device it would manage.
make_evil() {
	git -C "$WORK/dev" checkout -q -b evil main
	sed -i 's/^default_branch: production$/default_branch: evil/' "$WORK/dev/fleet.yaml"
	sed -i '/^  ssh_enabled: false$/a\  leak: ${secret:RUNNER_ACCESS_TOKEN}' "$WORK/dev/fleet.yaml"
	sed -i '/^subscribed_branch:/d' "$WORK"/dev/devices/*.yaml
	git -C "$WORK/dev" commit -q -a -m "Take every device"
	git -C "$WORK/dev" checkout -q main
}

# Where the runner's secret is in the stand-in: "device key" lines.
secret_holders() {
	sim GET /_sim/state | jq -r --arg s "$SECRET" \
		'.devices[] | .id as $id | (.configured // {}) | to_entries[] | select(.value | contains($s)) | "\($id) \(.key)"'
}

# The software deployments of a branch in the stand-in.
deployments_of() { # branch
	sim_deployments | grep "^fleetgate:$1@" || true
}

# A second stand-in playing the attacker's server: $ATTACKER, $ATTACKER_PID.
start_attacker_sim() {
	local sim=$SIM port=$SIM_PORT pid=$SIM_PID
	start_sim "$WORK/seed.json"
	ATTACKER=$SIM ATTACKER_PID=$SIM_PID
	SIM=$sim SIM_PORT=$port SIM_PID=$pid
}

stop_attacker_sim() {
	if [ -n "${ATTACKER_PID:-}" ]; then
		kill "$ATTACKER_PID" 2>/dev/null || true
		wait "$ATTACKER_PID" 2>/dev/null || true
		ATTACKER_PID=
	fi
}

@test "tags named after the stages do not stand in for the stages' branches" {
	roll_out_stages
	make_evil
	main=$(git -C "$WORK/srv.git" rev-parse refs/heads/main)
	evil=$(git -C "$WORK/dev" rev-parse --short=7 evil)
	sim DELETE /_sim/requests >/dev/null
	run push evil:refs/heads/evil evil:refs/tags/main evil:refs/tags/canary evil:refs/tags/production
	# the push lands (tags and free branches are free) ...
	[ "$(git -C "$WORK/srv.git" rev-parse refs/tags/main)" = "$(git -C "$WORK/dev" rev-parse evil)" ]
	[ "$(git -C "$WORK/srv.git" rev-parse refs/heads/main)" = "$main" ]
	# ... and the free branch gets no device
	echo "$output" | grep -qx "fleetgate: evil@$evil: 0 devices managed: 0 OS updates in 0 deployments (0 created, 0 already there), 0 configurations deployed, 0 pending, 0 aborted"
	run sim_requests
	! echo "$output" | grep -q '^POST /api/management/v1/deployments/deployments ' || false
	! echo "$output" | grep -q '^PUT /api/management/v1/deviceconfig' || false
	[ -z "$(deployments_of evil)" ]
	# the secret is where production put it, and nowhere else
	run secret_holders
	assert_output_is "$RUNNER gharunner_access_token"
	# every command reads the stages' branches, not the tags
	run "$FLEETGATE" reconcile --repo "$WORK/srv.git" --all
	[ -z "$(deployments_of evil)" ]
	run secret_holders
	assert_output_is "$RUNNER gharunner_access_token"
}

@test "Mender's URL and the credentials never come from pushed content" {
	start_attacker_sim
	git -C "$WORK/srv.git" config --unset fleetgate.menderServer
	git -C "$WORK/dev" checkout -q -b evil main
	sed -i "s|^  server: .*|  server: $ATTACKER|" "$WORK/dev/fleet.yaml"
	sed -i '/^subscribed_branch:/s/: .*/: evil/' "$WORK"/dev/devices/*.yaml
	git -C "$WORK/dev" commit -q -a -m "Report to my server"
	evil=$(git -C "$WORK/dev" rev-parse --short=7 evil)
	run push evil
	[ "$(git -C "$WORK/srv.git" rev-parse refs/heads/evil)" = "$(git -C "$WORK/dev" rev-parse evil)" ]
	assert_output_is "fleetgate: evil@$evil: deferred: no Mender server: set MENDER_SERVER or git config fleetgate.menderServer (mender.server in fleet.yaml is never used: anyone who can push a branch controls it)
fleetgate: the spool keeps the job; 'fleetgate reconcile' schedules it"
	run "$FLEETGATE" reconcile --repo "$WORK/srv.git" --all
	echo "$output" | grep -qx "evil: not fully scheduled: no Mender server: set MENDER_SERVER or git config fleetgate.menderServer (mender.server in fleet.yaml is never used: anyone who can push a branch controls it)"
	run "$FLEETGATE" plan --repo "$WORK/srv.git" --branch evil
	[ "$status" -eq 2 ]
	# the attacker's server heard nothing: no token, no secret
	[ "$(curl -sS "$ATTACKER/_sim/requests")" = "[]" ]
	[ "$(sim GET /_sim/requests)" = "[]" ]
	# with the server's own setting, requests go there only, and the pusher is told
	git -C "$WORK/srv.git" config fleetgate.menderServer "$SIM"
	git -C "$WORK/dev" checkout -q evil
	echo "# again" >> "$WORK/dev/fleet.yaml"
	git -C "$WORK/dev" commit -q -a -m "Again"
	git -C "$WORK/dev" checkout -q main
	evil=$(git -C "$WORK/dev" rev-parse --short=7 evil)
	run push evil
	echo "$output" | grep -qx "fleetgate: evil@$evil: warning: mender.server '$ATTACKER' in fleet.yaml is not the Mender server of this git server; it is not used"
	[ "$(curl -sS "$ATTACKER/_sim/requests")" = "[]" ]
	[ "$(sim GET /_sim/requests | jq length)" -gt 0 ]
	MENDER_SERVER=$SIM run "$FLEETGATE" plan --repo "$WORK/srv.git" --branch evil
	[ "$status" -eq 0 ]
	[ "$(curl -sS "$ATTACKER/_sim/requests")" = "[]" ]
	run secret_holders
	[ -z "$output" ]
}

# A change of the Pi 3 image merged into main and promoted to production:
# production's push must schedule it, whatever free branches hold.
promote_new_image() {
	sed -i "s/pi3-v3-arm64: $PI3_NEW/pi3-v3-arm64: $PI3_NEXT/" "$WORK/dev/fleet.yaml"
	merge_to_main "Next Pi 3 image"
	push main >/dev/null
	push main:canary >/dev/null
	run push main:production
	head=$(git -C "$WORK/dev" rev-parse --short=7 main)
	echo "$output" | grep -qx "fleetgate: production@$head: 4 devices managed: 1 OS update in 1 deployment (1 created, 0 already there), 1 configuration deployed, 2 pending, 1 aborted"
	! echo "$output" | grep -q "deferred" || false
	sim_deployments | grep -qx "fleetgate:production@$head:$PI3_NEXT $PI3_NEXT pending 0b6c4f1e:pending"
}

# A free branch 'evil' from main with what the test wrote into the clone.
push_evil() { # message
	git -C "$WORK/dev" add -A
	git -C "$WORK/dev" commit -q -m "$1"
	evil=$(git -C "$WORK/dev" rev-parse --short=7 HEAD)
	run push HEAD:refs/heads/evil
	git -C "$WORK/dev" checkout -q main
	[ "$(git -C "$WORK/srv.git" rev-parse refs/heads/evil)" = "$(git -C "$WORK/dev" rev-parse evil)" ]
}

@test "a free branch whose default_branch names itself takes no device and freezes no stage" {
	roll_out_stages
	git -C "$WORK/dev" checkout -q -b evil main
	sed -i 's/^default_branch: production$/default_branch: evil/' "$WORK/dev/fleet.yaml"
	sed -i '/^subscribed_branch:/d' "$WORK"/dev/devices/*.yaml
	sim DELETE /_sim/requests >/dev/null
	push_evil "Every device follows evil"
	assert_output_is "fleetgate: evil@$evil: 0 devices managed: 0 OS updates in 0 deployments (0 created, 0 already there), 0 configurations deployed, 0 pending, 0 aborted
fleetgate: evil@$evil: warning: 'evil' is not a stage: its default_branch claims no device (a device follows a free branch only by its own file or its Mender tag)"
	! sim_requests | grep -q '^POST /api/management/v1/deployments/deployments \|^PUT ' || false
	promote_new_image
	! echo "$output" | grep -q "conflict" || false
	run "$FLEETGATE" plan --repo "$WORK/srv.git" --branch production
	echo "$output" | grep -q "^production@$head: 4 devices managed: "
	run --separate-stderr "$FLEETGATE" status --repo "$WORK/srv.git" --format json
	[ "$status" -eq 0 ]
	[ "$stderr" = "fleetgate status: evil@$evil: warning: 'evil' is not a stage: its default_branch claims no device (a device follows a free branch only by its own file or its Mender tag)" ]
	[ "$(echo "$output" | jq -r '[.branches[] | select(.branch == "production") | .devices[]] | length')" = 4 ]
	[ "$(echo "$output" | jq -r '[.branches[] | select(.branch == "evil") | .devices[]] | length')" = 0 ]
	[ -z "$(deployments_of evil)" ]
}

@test "a free branch's device file cannot take a stage's device, nor make it a conflict" {
	roll_out_stages
	git -C "$WORK/dev" checkout -q -b evil main
	printf 'name: kiosk-central-station\nsubscribed_branch: evil\nconfig: { leak: "${secret:RUNNER_ACCESS_TOKEN}" }\n' \
		> "$WORK/dev/devices/$STATION.yaml"
	push_evil "The station follows evil"
	echo "$output" | grep -qx "fleetgate: evil@$evil: 0 devices managed: 0 OS updates in 0 deployments (0 created, 0 already there), 0 configurations deployed, 0 pending, 0 aborted"
	run secret_holders
	assert_output_is "$RUNNER gharunner_access_token"
	promote_new_image
}

@test "a free branch whose fleet.yaml is a folder is skipped by the others' scheduling, naming it" {
	roll_out_stages
	git -C "$WORK/dev" checkout -q -b evil main
	git -C "$WORK/dev" rm -q -r fleet.yaml devices
	mkdir "$WORK/dev/fleet.yaml"
	echo x > "$WORK/dev/fleet.yaml/x"
	push_evil "fleet.yaml is a tree"
	echo "$output" | grep -q "^fleetgate: evil@$evil: not scheduled: the fleet configuration of 'evil' at $evil has 1 error"
	promote_new_image
	echo "$output" | grep -qx "fleetgate: production@$head: warning: branch 'evil' is skipped, it claims no device: its fleet at $evil has 1 error, the first fleet.yaml: fleet.yaml must be a regular file, but it is a folder"
	run "$FLEETGATE" reconcile --repo "$WORK/srv.git" --all
	echo "$output" | grep -q "^production@$head: warning: branch 'evil' is skipped"
	echo "$output" | grep -q "^applied production@$head: 0 deployments created"
}

@test "a tag named after a stage pointing at a blob stops nothing" {
	roll_out_stages
	blob=$(echo "not a commit" | git -C "$WORK/dev" hash-object -w --stdin)
	run push "$blob:refs/tags/main"
	[ "$(git -C "$WORK/srv.git" rev-parse refs/tags/main)" = "$blob" ]
	promote_new_image
	run "$FLEETGATE" status --repo "$WORK/srv.git"
	[ "$status" -eq 0 ]
	echo "$output" | grep -q "^production@$head: 4 managed"
	run "$FLEETGATE" reconcile --repo "$WORK/srv.git" --all
	[ "$status" -eq 0 ]
}

@test "a free branch with 85,000 configuration keys is refused quickly and stops nothing" {
	roll_out_stages
	git -C "$WORK/dev" checkout -q -b evil main
	git -C "$WORK/dev" rm -q -r devices
	{
		printf 'fleet: 1\ndefault_branch: production\nconfig:\n'
		seq 1 85000 | awk '{ printf " k%x: 1\n", $1 }'
	} > "$WORK/dev/fleet.yaml"
	start=$(date +%s%N)
	push_evil "85,000 keys"
	echo "$output" | grep -q "^fleetgate: evil@$evil: not scheduled: the fleet configuration of 'evil' at $evil has 1 error"
	promote_new_image
	echo "$output" | grep -qx "fleetgate: production@$head: warning: branch 'evil' is skipped, it claims no device: its fleet at $evil has 1 error, the first fleet.yaml:4:2: config has 85000 keys; Mender Configure accepts at most 100 per device"
	elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
	[ "$elapsed" -lt 15000 ]
}

assert_fails() { # command...
	if "$@"; then
		printf 'expected to fail: %s\n' "$*" >&2
		return 1
	fi
}

# The lock file of a branch's scheduling.
branch_lock() { # branch
	printf '%s/fleetgate/spool/.%s.lock' "$WORK/srv.git" "$(printf %s "$1" | git hash-object --stdin)"
}

# Configuration deployments of a device in the stand-in.
config_deployments() { # device
	sim GET /_sim/state | jq --arg d "$1" '[.deployments[] | select(.type == "configuration" and any(.devices[]; .id == $d))] | length'
}

@test "two schedulers on one branch at once: one waits for the other, nothing is done twice" {
	QUALI=c8b1f4e2-6d3a-4c7b-9a2e-5b8d1f3c6a04
	git -C "$WORK/srv.git" config fleetgate.menderServer "http://127.0.0.1:1" # the push schedules nothing
	push main >/dev/null
	git -C "$WORK/srv.git" config fleetgate.menderServer "$SIM"
	sim DELETE /_sim/requests >/dev/null
	# both read the inventory slowly, so that without a lock they overlap
	sim POST /_sim/faults '{"path_prefix": "/api/management/v2/inventory/filters/search", "delay_ms": 1500, "count": 2}' >/dev/null
	"$FLEETGATE" apply --repo "$WORK/srv.git" --branch main >"$WORK/a.out" 2>&1 &
	a=$!
	"$FLEETGATE" reconcile --repo "$WORK/srv.git" >"$WORK/b.out" 2>&1 &
	b=$!
	wait "$a"
	wait "$b"

	head=$(git -C "$WORK/dev" rev-parse --short=7 main)
	# one made the deployments, the other found them made
	[ "$(cat "$WORK/a.out" "$WORK/b.out" | grep -c "^applied main@$head: 2 deployments created, 0 already there, 0 devices aborted, 2 configurations deployed")" -eq 1 ]
	[ "$(cat "$WORK/a.out" "$WORK/b.out" | grep -c "^applied main@$head: 0 deployments created, 0 already there, 0 devices aborted, 0 configurations deployed")" -eq 1 ]
	run sim_requests
	[ "$(echo "$output" | grep -c '^POST /api/management/v1/deployments/deployments ')" -eq 2 ]
	[ "$(echo "$output" | grep -c '^POST /api/management/v1/deviceconfig/configurations/device/.*/deploy ')" -eq 2 ]
	[ "$(config_deployments "$QUALI")" -eq 1 ]
	[ "$(sim_deployments | grep -c "^fleetgate:main@$head:")" -eq 2 ]
	# the job is done once, and gone
	[ -z "$(ls "$WORK/srv.git/fleetgate/spool/")" ]
}

@test "a push while a scheduler holds its branch defers the job, and it is scheduled after, once" {
	QUALI=c8b1f4e2-6d3a-4c7b-9a2e-5b8d1f3c6a04
	push main >/dev/null
	sed -i 's|kiosk_url: https://example.com/qualification|kiosk_url: https://example.com/qualification/v2|' \
		"$WORK/dev/devices/$QUALI.yaml"
	merge_to_main "New qualification URL"
	# a reconcile holds main while it reads the inventory slowly
	sim POST /_sim/faults '{"path_prefix": "/api/management/v2/inventory/filters/search", "delay_ms": 4000, "count": 1}' >/dev/null
	"$FLEETGATE" reconcile --repo "$WORK/srv.git" --all >"$WORK/r.out" 2>&1 &
	r=$!
	lock=$(branch_lock main)
	for _ in $(seq 1 100); do
		[ -f "$lock" ] && ! flock -n "$lock" true && break
		sleep 0.05
	done
	assert_fails flock -n "$lock" true
	git -C "$WORK/srv.git" config fleetgate.applyTimeout 1
	run push main
	head=$(git -C "$WORK/dev" rev-parse --short=7 main)
	echo "$output" | grep -qx "fleetgate: main@$head: deferred: another fleetgate run is scheduling 'main'; the spool keeps the job"
	echo "$output" | grep -q "^fleetgate: continuing in the background"
	grep -q "^commit=$(git -C "$WORK/dev" rev-parse main)$" "$WORK"/srv.git/fleetgate/spool/*.job
	wait "$r" || { echo "reconcile failed: $(cat "$WORK/r.out")"; false; }
	# the background run takes the job once the lock is free
	for _ in $(seq 1 200); do
		grep -q "^applied main@$head: " "$WORK/srv.git/fleetgate/reconcile.log" 2>/dev/null && break
		sleep 0.1
	done
	grep -q "^applied main@$head: 0 deployments created, 0 already there, 0 devices aborted, 1 configuration deployed" "$WORK/srv.git/fleetgate/reconcile.log"
	[ -z "$(ls "$WORK/srv.git/fleetgate/spool/")" ]
	[ "$(sim GET /_sim/state | jq -r ".devices[] | select(.id == \"$QUALI\") | .configured.kiosk_url")" = "https://example.com/qualification/v2" ]
	[ "$(sim_requests | grep -c "^PUT /api/management/v1/deviceconfig/configurations/device/$QUALI ")" -eq 2 ]
}

@test "an invalid free branch is reported once, shown by status, and fails no later reconcile" {
	roll_out_stages
	git -C "$WORK/dev" checkout -q -b evil main
	sed -i 's/^default_branch: production$/default_brnach: production/' "$WORK/dev/fleet.yaml"
	push_evil "A typo"
	assert_output_is "fleetgate: evil@$evil: not scheduled: the fleet configuration of 'evil' at $evil has 1 error: run 'fleetgate validate --rev $evil'; the next commit of the branch is scheduled as usual"
	job=$(grep -l '^branch=evil$' "$WORK"/srv.git/fleetgate/spool/*.job)
	grep -qx 'parked=1' "$job"
	grep -qx 'attempts=0' "$job"
	# a stage's job waits in the spool beside it (Mender down for that push)
	git -C "$WORK/srv.git" config fleetgate.menderServer "http://127.0.0.1:1"
	echo "# more" >> "$WORK/dev/fleet.yaml"
	merge_to_main "More"
	push main >/dev/null
	git -C "$WORK/srv.git" config fleetgate.menderServer "$SIM"
	head=$(git -C "$WORK/dev" rev-parse --short=7 main)
	for i in 1 2 3; do
		run "$FLEETGATE" reconcile --repo "$WORK/srv.git"
		assert_status 0
		if [ "$i" -eq 1 ]; then
			echo "$output" | grep -q "^applied main@$head: 0 deployments created"
		else
			assert_output_is "nothing to reconcile: 1 parked job (see 'fleetgate status')"
		fi
	done
	grep -qx 'attempts=0' "$job"
	run "$FLEETGATE" reconcile --repo "$WORK/srv.git" --all
	assert_status 0
	echo "$output" | grep -q "^applied production@"
	# its only mention: each stage's plan warns that it claims no device
	! echo "$output" | grep "evil" | grep -v ": warning: branch 'evil' is skipped, it claims no device: its fleet at $evil has 1 error, the first fleet.yaml:4:1: unknown key 'default_brnach' in fleet.yaml (did you mean 'default_branch'?)$" || false
	[ "$(echo "$output" | grep -c "warning: branch 'evil' is skipped")" -eq 3 ]
	run --separate-stderr "$FLEETGATE" status --repo "$WORK/srv.git"
	assert_status 0
	echo "$output" | grep -qx "evil@$evil: not scheduled: the fleet configuration of 'evil' at $evil has 1 error: run 'fleetgate validate --rev $evil'"
	echo "$output" | grep -qx "spool: evil@$evil: parked, never scheduled at this commit: the fleet configuration of 'evil' at $evil has 1 error: run 'fleetgate validate --rev $evil'"
	echo "$output" | grep -q "^production@.*: 4 managed"
	run --separate-stderr "$FLEETGATE" status --repo "$WORK/srv.git" --format json
	[ "$(echo "$output" | jq -r '.spool[] | "\(.branch) \(.parked) \(.attempts)"')" = "evil true 0" ]
	# a fix makes a new job, scheduled as any other
	git -C "$WORK/dev" checkout -q evil
	sed -i 's/^default_brnach: production$/default_branch: production/' "$WORK/dev/fleet.yaml"
	push_evil "Fix the typo"
	echo "$output" | grep -qx "fleetgate: evil@$evil: 0 devices managed: 0 OS updates in 0 deployments (0 created, 0 already there), 0 configurations deployed, 0 pending, 0 aborted"
	[ -z "$(ls "$WORK/srv.git/fleetgate/spool/")" ]
}
