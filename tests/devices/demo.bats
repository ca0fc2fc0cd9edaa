#!/usr/bin/env bats
# make demo DEVICES=real (scripts/demo --real-devices), end to end: four real
# Mender daemons follow the pushes, and the demo stops them and removes its
# folder.

load ../e2e/helpers
load device_helpers

setup() {
	why=$(devices_unavailable)
	[ -z "$why" ] || skip "$why"
	setup_workspace
}

teardown() {
	[ -n "${WORK:-}" ] && teardown_workspace
	return 0
}

@test "the demo with real devices: each stage's devices change version live, status agrees" {
	run env BUILD="$BUILD" TMPDIR="$WORK" "$FG_TOP/scripts/demo" --real-devices
	[ "$status" -eq 0 ]
	out=$(echo "$output" | sed 's/[[:space:]]*$//')
	[ "$(echo "$out" | grep -c '^ *[0-9][0-9]*\. ')" -eq 8 ]
	[ "$(echo "$out" | grep -c '^upload successful$')" -eq 2 ]
	echo "$out" | grep -qE '^fleetgate: canary@[0-9a-f]{7}: 1 device managed: 1 OS update in 1 deployment \(1 created, 0 already there\)'
	echo "$out" | grep -qE '^fleetgate: production@[0-9a-f]{7}: 3 devices managed: 3 OS updates in 1 deployment \(1 created, 0 already there\)'
	for d in canary-1 field-1 field-2 field-3; do
		echo "$out" | grep -qE "^ +[0-9.]+ s  $d +now runs release-1$"
		echo "$out" | grep -qE "^ +[0-9.]+ s  $d +now runs release-2$"
		echo "$out" | grep -qE "^  $d +[0-9a-f-]{36}  release-2$"
	done
	echo "$out" | grep -qE '^canary@[0-9a-f]{7}: 1 managed, 1 converged, 0 on their way, 0 failed, 0 not yet scheduled$'
	echo "$out" | grep -qE '^production@[0-9a-f]{7}: 3 managed, 3 converged, 0 on their way, 0 failed, 0 not yet scheduled$'
	# its folder is gone, and so are its daemons
	[ -z "$(ls "$WORK" | grep fleetgate-demo-devices)" ]
	! pgrep -f "mender --no-syslog -c $WORK/" >/dev/null || false
}
