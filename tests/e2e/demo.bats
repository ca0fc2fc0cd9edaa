#!/usr/bin/env bats
# make demo, end to end: the front door must not rot. The demo runs in its own
# temporary folder against its own stand-in; this asserts its key outcomes.

load helpers

setup() { setup_workspace; }
teardown() { teardown_workspace; }

@test "make demo tells the whole story and cleans up after itself" {
	run env BUILD="$BUILD" TMPDIR="$WORK" "$FG_TOP/scripts/demo"
	[ "$status" -eq 0 ]
	out=$(echo "$output" | sed 's/[[:space:]]*$//')
	# fifteen steps, each announced
	[ "$(echo "$out" | grep -c '^ *[0-9][0-9]*\. ')" -eq 15 ]
	# the bootstrap, and the first rollout to every stage
	echo "$out" | grep -qE '^fleetgate: main@[0-9a-f]{7}: 1 device managed: 0 OS updates'
	echo "$out" | grep -qE '^fleetgate: main@[0-9a-f]{7}: 2 devices managed: 2 OS updates in 2 deployments \(2 created, 0 already there\), 2 configurations deployed, 0 pending, 0 aborted$'
	echo "$out" | grep -qE '^fleetgate: canary@[0-9a-f]{7}: 1 device managed: 1 OS update in 1 deployment \(1 created, 0 already there\), 1 configuration deployed, 0 pending, 0 aborted$'
	echo "$out" | grep -qE '^fleetgate: production@[0-9a-f]{7}: 4 devices managed: 3 OS updates in 3 deployments \(3 created, 0 already there\), 4 configurations deployed, 0 pending, 0 aborted$'
	# the devices converge, one fails and is reported
	echo "$out" | grep -qE '^64f1c2a9e3b5d7f0a1c2e4b6 +production +iot-gate-imx8 +2025-10-02-1405-iot-gate-imx8-gitops-bookworm-arm64 +2025-08-18-1022-iot-gate-imx8-gitops-bookworm-arm64 +set +failure +iot-gate-lobby-hotspot$'
	echo "$out" | grep -qE '^DEVICE +BRANCH +TYPE +DESIRED +INSTALLED +CONFIG +DEPLOYMENT +NAME$'
	echo "$out" | grep -qE '^production@[0-9a-f]{7}: 4 managed, 3 converged, 0 on their way, 1 failed, 0 not yet scheduled$'
	echo "$out" | grep -qxF '(status exits 1: a deployment failed and is reported)'
	# the new image reaches canary, then production
	echo "$out" | grep -qE '^  a3e9d7c1-4b2f-4f6a-9e8d-7c1b5a3f2e90 kiosk-campus \(pi3-v3-arm64, file\): os 2025-10-09-1716-pi3-gitops-trixie-arm64 -> 2025-11-14-1030-pi3-gitops-trixie-arm64; config in sync$'
	echo "$out" | grep -qE '^0b6c4f1e-7a2d-4e9b-b8c3-1f5a7d2e9c40 +production +pi3-v3-arm64 +2025-11-14-1030-pi3-gitops-trixie-arm64 +2025-11-14-1030-pi3-gitops-trixie-arm64 +set +success +kiosk-central-station$'
	# four refusals, each with the message the pusher or committer sees
	[ "$(echo "$out" | grep -cxF '(refused, as it should be)')" -eq 4 ]
	echo "$out" | grep -qxF "devices/a3e9d7c1-4b2f-4f6a-9e8d-7c1b5a3f2e90.yaml:4:1: error: unknown key 'subscribed_brnach' in a device file (did you mean 'subscribed_branch'?) [unknown-key]"
	echo "$out" | grep -qE "^fleetgate:   \[not-from-upstream\] commit [0-9a-f]{7} is not in 'canary': 'production' takes only what 'canary' already holds$"
	echo "$out" | grep -qE "^fleetgate:   \[modified-content\] merge commit [0-9a-f]{7} changes what it brings from 'main': its tree differs from the merged commit's$"
	echo "$out" | grep -qxF "fleetgate:     devices/c8b1f4e2-6d3a-4c7b-9a2e-5b8d1f3c6a04.yaml:8:14: error: value of 'kiosk_zoom' in config must be a string, number or boolean, not nothing (null) [type]"
	# production takes what canary holds, and the demo pushes exactly that
	[ "$(echo "$out" | grep -A1 -xF ' 8. canary is promoted to production: every other device is scheduled.' | tail -n1)" = '$ push origin canary:production' ]
	[ "$(echo "$out" | grep -cxF '$ push origin canary:production')" -eq 2 ]
	! echo "$out" | grep -qF 'main:production' || false
	# only what the demo says: none of git's chatter
	! echo "$output" | grep -qF 'Automatic merge went well' || false
	# no secret, no colour when not on a terminal, nothing left behind
	! echo "$out" | grep -q 'ghr-demo-runner-token\|demo-personal-access-token' || false
	! echo "$output" | grep -q $'\e\[' || false
	[ -z "$(ls "$WORK" | grep fleetgate-demo)" ]
	# the demo's own stand-in is gone (other people's may run on this machine)
	sim_pid=$(echo "$out" | sed -n 's/^Mender stand-in at http:\/\/127\.0\.0\.1:[0-9]* (pid \([0-9]*\), 7 devices)$/\1/p')
	[ -n "$sim_pid" ]
	! { [ -r "/proc/$sim_pid/cmdline" ] && tr '\0' ' ' <"/proc/$sim_pid/cmdline" | grep -qF "$BUILD/mender-sim"; } || false
}
