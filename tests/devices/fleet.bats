#!/usr/bin/env bats
# fleetgate driving real Mender clients (issue 15): the stand-in and ten
# real `mender daemon`s (client 3.4.0), canary 3 and production 7, some
# subscribed by an inventory attribute their inventory script reports, some
# by a Mender tag an operator sets, the rest by the fleet's default branch.
# Artifacts are built with mender-artifact and uploaded with mender-cli;
# after that only pushes: what reaches each device is what fleetgate
# scheduled, downloaded, installed and reported by the real client.
#
# The tests of this file run in order and share one fleet (setup_file):
# each builds on what the one before left. See device_helpers.bash for how
# each daemon is set up (a private mount namespace, as root).

load ../e2e/helpers
load ../e2e/sim_helpers
load device_helpers

CANARY="c1 c2 c3"
PRODUCTION="p1 p2 p3 p4 p5 p6 p7"

setup_file() {
	why=$(devices_unavailable)
	if [ -n "$why" ]; then
		export DEVICES_SKIP=$why
		return
	fi
	setup_workspace
	export WORK HOME MENDER_ACCESS_TOKEN=devices-test-token
	echo '{"devices": [], "artifacts": []}' >"$WORK/seed.json"
	start_sim "$WORK/seed.json"
	export SIM SIM_PORT SIM_PID
	export T0=$SECONDS
	local i=1 n
	for n in $CANARY $PRODUCTION; do
		case $n in
		c1 | c2) inv="subscribed_branch=canary" ;;
		p1 | p2) inv="subscribed_branch=production" ;;
		*) inv= ;;
		esac
		make_device "$n" "02:00:00:00:00:$(printf %02x $i)" "$inv"
		start_device "$n"
		i=$((i + 1))
	done
}

teardown_file() {
	[ -n "${DEVICES_SKIP:-}" ] && return
	stop_devices
	stop_sim
	echo "# devices: whole run $((SECONDS - T0)) s" >&3
	teardown_workspace
}

setup() {
	[ -z "${DEVICES_SKIP:-}" ] || skip "$DEVICES_SKIP"
	cd "$WORK"
}

teardown() {
	# on a failure, the daemons' last words
	if [ -n "${BATS_ERROR_STATUS:-}" ] && [ "$BATS_ERROR_STATUS" -ne 0 ]; then
		grep -h 'level=error' "$WORK"/devices/*/log | grep -v 'DBus not enabled' | tail -n 10 >&3 || true
	fi
}

push() { # refspec...
	git -C "$WORK/dev" push origin "$@" 2>&1 | remote_lines
}

mark() { PUSHED_AT=$(date +%s.%N); }

elapsed() { # seconds since mark, to 0.1 s
	echo "$(date +%s.%N) $PUSHED_AT" | awk '{ printf "%.1f", $1 - $2 }'
}

# Push main, which no device follows: nothing is scheduled. (head: main's short id)
push_main_nothing() {
	run push main
	assert_output_is "fleetgate: main@$head: 0 devices managed: 0 OS updates in 0 deployments (0 created, 0 already there), 0 configurations deployed, 0 pending, 0 aborted"
}

# Push main to a stage whose n devices all get `artifact`, and wait until
# each of them runs it. stage n artifact device...
push_stage_until() {
	local stage=$1 n=$2 artifact=$3 plural=s
	shift 3
	[ "$n" -eq 1 ] && plural=
	mark
	run push "main:$stage"
	assert_output_is "fleetgate: $stage@$head: $n device$plural managed: $n OS update$plural in 1 deployment (1 created, 0 already there), 0 configurations deployed, 0 pending, 0 aborted"
	wait_until 60 devices_run "$artifact" "$@"
	echo "# $stage ($n devices): push to the last device converged $(elapsed) s" >&3
}

# Merge a change of fleet.yaml into main through a feature branch. sed-expression subject
merge_change() {
	git -C "$WORK/dev" checkout -q -b "feature-$RANDOM"
	sed -i "$1" "$WORK/dev/fleet.yaml"
	git -C "$WORK/dev" commit -q -a -m "$2"
	local feature
	feature=$(git -C "$WORK/dev" rev-parse --abbrev-ref HEAD)
	git -C "$WORK/dev" checkout -q main
	git -C "$WORK/dev" merge -q --no-ff "$feature" -m "Merge $feature"
}

# fleetgate status --format json, as "device installed desired state" lines.
status_lines() {
	"$FLEETGATE" status --repo "$WORK/srv.git" --format json | tee "$WORK/status.json" |
		jq -r '.branches[].devices[] | "\(.id) \(.installed) \(.desired) \(.deployment)"' | sort
}

all_known() {
	[ "$(mgmt GET "/api/management/v2/devauth/devices?per_page=500" | jq '[.[] | select(.status == "accepted")] | length')" -eq 10 ] &&
		[ "$(sim GET /_sim/state | jq '[.devices[] | select(.inventory.mender_client_version)] | length')" -eq 10 ]
}

@test "ten real daemons authenticate, are admitted and report their inventory" {
	wait_until 30 all_known
	for n in $CANARY $PRODUCTION; do
		device_id "$n" >"$WORK/devices/$n/id"
		[ -n "$(cat "$WORK/devices/$n/id")" ]
	done
	run sim GET /_sim/state
	id=$(cat "$WORK/devices/c1/id")
	[ "$(echo "$output" | jq -r --arg id "$id" '.devices[] | select(.id == $id) | "\(.behaviour) \(.status) \(.device_type) \(.inventory.artifact_name) \(.inventory.subscribed_branch)"')" = \
		"real accepted $DEVICE_TYPE initial canary" ]
	# the 3.4 client asks v2 first, gets the open-source server's 404, then v1
	run sim_requests
	echo "$output" | grep -qx "POST /api/devices/v2/deployments/device/deployments/next 404"
	echo "$output" | grep -qx "POST /api/devices/v1/deployments/device/deployments/next 204"
	echo "$output" | grep -qx "POST /api/devices/v1/authentication/auth_requests 200"
	# mender-cli sees the same devices as the management API
	mcli login --username ops@example.com --password not-secret >/dev/null
	run mcli devices list
	[ "$(echo "$output" | grep -c '^Status: accepted$')" -eq 10 ]
	# the operator tags two canary and two production devices in Mender
	for n in c3; do
		mgmt PATCH "/api/management/v1/inventory/devices/$(cat "$WORK/devices/$n/id")/tags" \
			'[{"name": "subscribed_branch", "value": "canary"}]' >/dev/null
	done
	for n in p3 p4; do
		mgmt PATCH "/api/management/v1/inventory/devices/$(cat "$WORK/devices/$n/id")/tags" \
			'[{"name": "subscribed_branch", "value": "production"}]' >/dev/null
	done
}

@test "artifacts built with mender-artifact, uploaded with mender-cli" {
	build_artifact release-1 "$WORK/release-1.mender"
	build_artifact release-2 "$WORK/release-2.mender"
	run mcli artifacts upload "$WORK/release-1.mender"
	echo "$output" | grep -qx "upload successful"
	run mcli artifacts upload "$WORK/release-2.mender"
	echo "$output" | grep -qx "upload successful"
	run mcli artifacts list
	[ "$(echo "$output" | grep '^Name: ' | sort | tr '\n' ' ')" = "Name: release-1 Name: release-2 " ]
	# the stand-in read the files themselves
	[ "$(sim GET /_sim/state | jq -r '[.artifacts[] | "\(.name):\(.device_types_compatible | join(","))"] | sort | join(" ")')" = \
		"release-1:$DEVICE_TYPE release-2:$DEVICE_TYPE" ]
}

@test "the fleet's first rollout: main, then canary, then production reach their devices" {
	git init -q --bare "$WORK/srv.git"
	"$FLEETGATE" install --repo "$WORK/srv.git" >/dev/null
	git -C "$WORK/srv.git" config fleetgate.menderServer "$SIM"
	git -C "$WORK/srv.git" config fleetgate.applyTimeout 20
	git clone -q "$WORK/srv.git" "$WORK/dev" 2>/dev/null
	cat >"$WORK/dev/fleet.yaml" <<-EOF
		fleet: 1
		default_branch: production
		promotion: [main, canary, production]
		mender:
		  server: $SIM
		os_images:
		  $DEVICE_TYPE: release-1
	EOF
	git -C "$WORK/dev" add -A
	git -C "$WORK/dev" commit -q -m "The test fleet"
	head=$(git -C "$WORK/dev" rev-parse --short=7 main)
	push_main_nothing
	push_stage_until canary 3 release-1 $CANARY
	# production has not moved
	for n in $PRODUCTION; do [ ! -e "$WORK/devices/$n/version" ]; done
	push_stage_until production 7 release-1 $PRODUCTION
	run deployment_summary
	assert_output_is "fleetgate:canary@$head:release-1 finished success=3
fleetgate:production@$head:release-1 finished success=7"
}

@test "a change merged to main and promoted main -> canary -> production reaches each stage's devices" {
	merge_change "s/: release-1$/: release-2/" "release-2 for every device"
	head=$(git -C "$WORK/dev" rev-parse --short=7 main)
	push_main_nothing
	push_stage_until canary 3 release-2 $CANARY
	devices_run release-1 $PRODUCTION
	push_stage_until production 7 release-2 $PRODUCTION
	run deployment_summary
	echo "$output" | grep -qx "fleetgate:canary@$head:release-2 finished success=3"
	echo "$output" | grep -qx "fleetgate:production@$head:release-2 finished success=7"
}

@test "fleetgate status agrees with what each daemon installed" {
	run status_lines
	[ "$(echo "$output" | wc -l)" -eq 10 ]
	for n in $CANARY $PRODUCTION; do
		id=$(cat "$WORK/devices/$n/id")
		line=$(echo "$output" | grep "^$id ")
		[ "$line" = "$id $(cat "$WORK/devices/$n/version") release-2 success" ]
	done
}

@test "a push that changes nothing creates nothing" {
	before=$(sim GET /_sim/state | jq '.deployments | length')
	git -C "$WORK/dev" checkout -q -b "feature-readme"
	echo "The test fleet of tests/devices." >"$WORK/dev/README"
	git -C "$WORK/dev" add README
	git -C "$WORK/dev" commit -q -m "A README"
	git -C "$WORK/dev" checkout -q main
	git -C "$WORK/dev" merge -q --no-ff feature-readme -m "Merge feature-readme"
	head=$(git -C "$WORK/dev" rev-parse --short=7 main)
	push main >/dev/null
	push main:canary >/dev/null
	run push main:production
	assert_output_is "fleetgate: production@$head: 7 devices managed: 0 OS updates in 0 deployments (0 created, 0 already there), 0 configurations deployed, 0 pending, 0 aborted"
	[ "$(sim GET /_sim/state | jq '.deployments | length')" -eq "$before" ]
	run "$FLEETGATE" reconcile --repo "$WORK/srv.git" --all
	[ "$(sim GET /_sim/state | jq '.deployments | length')" -eq "$before" ]
}

@test "a device whose token is dropped authenticates again and keeps its place" {
	sim DELETE /_sim/requests >/dev/null
	sim DELETE /_sim/device-tokens >/dev/null
	# every daemon gets 401 once, then a new token
	reauthenticated() {
		[ "$(sim_requests | grep -c '^POST /api/devices/v1/authentication/auth_requests 200$')" -ge 10 ] &&
			[ "$(sim_requests | grep -c ' 401$')" -ge 10 ]
	}
	wait_until 30 reauthenticated
	[ "$(mgmt GET "/api/management/v2/devauth/devices?per_page=500" | jq 'length')" -eq 10 ]
	[ "$(mgmt GET "/api/management/v2/devauth/devices?per_page=500" | jq '[.[].auth_sets | length] | add')" -eq 10 ]
}

@test "a failing install is reported by the device, with its log; the fix converges" {
	touch "$WORK/devices/c2/fail"
	merge_change "s/: release-2$/: release-1/" "back to release-1"
	head=$(git -C "$WORK/dev" rev-parse --short=7 main)
	push main >/dev/null
	mark
	run push main:canary
	assert_output_is "fleetgate: canary@$head: 3 devices managed: 3 OS updates in 1 deployment (1 created, 0 already there), 0 configurations deployed, 0 pending, 0 aborted"
	wait_until 60 devices_run release-1 c1 c3
	failed() { deployment_summary | grep -qx "fleetgate:canary@$head:release-1 finished failure=1 success=2"; }
	wait_until 60 failed
	devices_run release-2 c2
	# the client's deployment log reached the stand-in
	dep=$(sim GET /_sim/state | jq -r --arg n "fleetgate:canary@$head:release-1" '.deployments[] | select(.name == $n) | .id')
	run mgmt GET "/api/management/v1/deployments/deployments/$dep/devices/$(cat "$WORK/devices/c2/id")/log"
	echo "$output" | grep -q "failing on purpose"
	# status names the device and fails
	run "$FLEETGATE" status --repo "$WORK/srv.git" --branch canary
	[ "$status" -eq 1 ]
	echo "$output" | grep -q "$(cat "$WORK/devices/c2/id").*failure"
	# verified promotion: with a rule on canary, its failed device blocks
	# production, named in the refusal
	git -C "$WORK/srv.git" config fleetgate.verify.canary.minDevices 3
	run "$FLEETGATE" verify --repo "$WORK/srv.git" --stage canary
	[ "$status" -eq 1 ]
	echo "$output" | grep -q "failed"
	run push main:production
	echo "$output" | grep -q "verification-failed"
	echo "$output" | grep -q "$(cut -c1-4 "$WORK/devices/c2/id").*failure"
	[ "$(git -C "$WORK/srv.git" rev-parse production)" != "$(git -C "$WORK/srv.git" rev-parse main)" ]
	# the fix: a new commit retries the device
	rm "$WORK/devices/c2/fail"
	merge_change '$a # retry c2' "retry"
	push main >/dev/null
	mark
	push main:canary >/dev/null
	wait_until 60 devices_run release-1 $CANARY
	echo "# canary retry: push to the last device converged $(elapsed) s" >&3
	# every canary device healthy at the fixed tree: verified
	verified() { "$FLEETGATE" verify --repo "$WORK/srv.git" --stage canary >"$WORK/verify.out"; }
	wait_until 30 verified
	grep -q "verified" "$WORK/verify.out"
	git -C "$WORK/srv.git" config --unset fleetgate.verify.canary.minDevices
}

# The map a device's configure module received.
devices_configured() { # json name...
	local want=$1 n
	shift
	for n in "$@"; do
		[ "$(jq -cS . "$WORK/devices/$n/config.json" 2>/dev/null)" = "$want" ] || return 1
	done
}

@test "configuration reaches the real devices, which report it back" {
	merge_change '$a config:\n  greeting: hello from git\n  ssh_enabled: false' "configuration for every device"
	head=$(git -C "$WORK/dev" rev-parse --short=7 main)
	push main >/dev/null
	mark
	run push main:canary
	assert_output_is "fleetgate: canary@$head: 3 devices managed: 0 OS updates in 0 deployments (0 created, 0 already there), 3 configurations deployed, 0 pending, 0 aborted"
	want='{"greeting":"hello from git","ssh_enabled":"false"}'
	wait_until 60 devices_configured "$want" $CANARY
	echo "# canary configuration: push to the last device configured $(elapsed) s" >&3
	! devices_configured "$want" p1 || false
	in_sync() {
		[ "$("$FLEETGATE" status --repo "$WORK/srv.git" --branch "$1" --full --format json |
			jq -r '[.branches[].devices[].config] | unique | join(",")')" = in-sync ]
	}
	wait_until 30 in_sync canary
	# the configuration deployment's artifact was made on demand for each device
	[ "$(sim GET /_sim/state | jq '[.deployments[] | select(.type == "configuration" and .status == "finished") | .devices[].status] | unique')" = '[
  "success"
]' ]
	mark
	run push main:production
	assert_output_is "fleetgate: production@$head: 7 devices managed: 7 OS updates in 1 deployment (1 created, 0 already there), 7 configurations deployed, 0 pending, 0 aborted"
	wait_until 60 devices_configured "$want" $PRODUCTION
	wait_until 60 devices_run release-1 $PRODUCTION
	echo "# production OS and configuration: push to the last device converged $(elapsed) s" >&3
	wait_until 30 in_sync production
}
