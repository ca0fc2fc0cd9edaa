#!/usr/bin/env bats
# mender-cli 1.9.0, Mender's own client of the management API, against the
# stand-in: it logs in, lists devices and artifacts, uploads and deletes an
# artifact. tests/run-all runs this file once per Mender version the
# stand-in plays (MENDER_SIM_VERSION: devices-mender_cli.bats@4.1, @4.0, @3.7).

load ../e2e/helpers
load ../e2e/sim_helpers

setup() {
	command -v mender-cli >/dev/null || skip "mender-cli is not installed (scripts/ensure-deps check installs it)"
	command -v mender-artifact >/dev/null || skip "mender-artifact is not installed (scripts/ensure-deps check installs it)"
	setup_workspace
	cat >"$WORK/seed.json" <<-'EOF'
		{"devices": [
		  {"id": "0b6c9a3e-1111-4d4d-8e8e-000000000001", "device_type": "pi3"},
		  {"id": "0b6c9a3e-1111-4d4d-8e8e-000000000002", "device_type": "pi4", "status": "pending"}],
		 "artifacts": [{"name": "seeded-1", "device_types_compatible": ["pi3"],
		   "id": "c9a2e0e1-0d4e-4b5e-9a57-0c1b2d3e4f50"}]}
	EOF
	start_sim "$WORK/seed.json" --user ops@example.com --password not-a-secret
}

teardown() {
	[ -n "${WORK:-}" ] || return 0
	stop_sim
	teardown_workspace
}

mcli() {
	mender-cli --server "$SIM" "$@" 2>&1 | grep -v '^Configuration file not found'
}

@test "mender-cli logs in; wrong credentials are refused" {
	run mcli login --username ops@example.com --password wrong
	[[ "$output" == *"401"* || "$output" == *"nauthorized"* ]]
	[ ! -e "$HOME/.cache/mender/authtoken" ]
	run mcli login --username ops@example.com --password not-a-secret
	[ "$output" = "login successful" ]
	[ -s "$HOME/.cache/mender/authtoken" ]
}

@test "mender-cli lists the devices and the artifacts" {
	mcli login --username ops@example.com --password not-a-secret >/dev/null
	run mcli devices list
	[ "$(echo "$output" | grep -E '^(ID|Status):' | tr '\n' ' ')" = \
		"ID: 0b6c9a3e-1111-4d4d-8e8e-000000000001 Status: accepted ID: 0b6c9a3e-1111-4d4d-8e8e-000000000002 Status: pending " ]
	run mcli artifacts list
	[ "$(echo "$output" | grep -E '^(ID|Name):' | tr '\n' ' ')" = \
		"ID: c9a2e0e1-0d4e-4b5e-9a57-0c1b2d3e4f50 Name: seeded-1 " ]
}

@test "mender-cli uploads an artifact the stand-in reads, and deletes it" {
	mcli login --username ops@example.com --password not-a-secret >/dev/null
	head -c 2048 /dev/urandom >"$WORK/payload"
	mender-artifact write module-image -T fleetgate-test -n uploaded-2 -t pi3 -t pi4 \
		-f "$WORK/payload" -o "$WORK/a.mender" >/dev/null
	run mcli artifacts upload --description "from mender-cli" "$WORK/a.mender"
	echo "$output" | grep -qx "upload successful"
	run mcli artifacts list -d 3
	echo "$output" | grep -qx "Name: uploaded-2"
	echo "$output" | grep -qx "Description: from mender-cli"
	id=$(sim GET /_sim/state | jq -r '.artifacts[] | select(.name == "uploaded-2") | .id')
	[ "$(sim GET /_sim/state | jq -c --arg id "$id" '.artifacts[] | select(.id == $id) | .device_types_compatible')" = '["pi3","pi4"]' ]
	# the same again: the server's 422
	run mcli artifacts upload "$WORK/a.mender"
	echo "$output" | grep -qF "artifact upload to '127.0.0.1:$SIM_PORT' failed with status 422"
	run mcli artifacts delete "$id"
	echo "$output" | grep -qx "delete successful"
	run mcli artifacts list
	! echo "$output" | grep -q "uploaded-2" || false
	run mcli artifacts delete "$id"
	! echo "$output" | grep -qx "delete successful" || false
}
