#!/usr/bin/env bats
# fleetgate import edi-cd: fixtures of our own in both edi-cd schemas and in
# the shape of the public edi-cd repository, rendered independently by
# Python's jinja2 (tests/e2e/import/oracle.py, Ansible's semantics) and
# compared with what fleetgate really does with the imported fleet: apply
# it against the stand-in and read the configuration, the deployments and
# their branches back from it.

load helpers
load sim_helpers

FIX="$FG_TOP/tests/e2e/import"

setup() {
	setup_workspace
	export MENDER_ACCESS_TOKEN=test-token-not-secret
	# the same values for Ansible's lookup('env') and fleetgate's secrets
	export INFLUXDB_HTTP_TOKEN=influx-t0ken-value RUNNER_ACCESS_TOKEN=runner-t0ken-value
	export FLEETGATE_SECRET_INFLUXDB_HTTP_TOKEN=$INFLUXDB_HTTP_TOKEN
	export FLEETGATE_SECRET_RUNNER_ACCESS_TOKEN=$RUNNER_ACCESS_TOKEN
}

teardown() {
	stop_sim
	teardown_workspace
}

# The stand-in's seed: the fixture's devices (an old image installed) and
# every image the oracle names, compatible with the types that want it.
make_seed() { # fixture oracle.json
	jq -n --slurpfile o "$2" --rawfile t "$1/mender-devices" '
		($t | split("\n") | map(select(length > 0) | split(" ")) ) as $types |
		{ devices: [ $types[] | { id: .[0], device_type: .[1],
			inventory: { "rootfs-image.version": "old-image", artifact_name: "old-image" } } ],
		  artifacts: [ $types[] as $d | $o[0][$d[0]].image // empty |
			{ name: ., device_types_compatible: [ $d[1] ] } ] | unique }' > "$WORK/seed.json"
}

# Import, push every branch the devices follow to a server repository
# without hooks, apply each branch, and print what the stand-in holds in
# the oracle's shape: {id: {branch, image, config}}.
# (The stand-in is started here, not under `run`, so teardown stops it.)
import_and_apply() { # fixture
	"$FLEETGATE" import edi-cd --output "$WORK/fleet" "$1" >"$WORK/import.out"
	make_seed "$1" "$WORK/oracle.json"
	start_sim "$WORK/seed.json"
	applied > "$WORK/applied.json"
}

applied() {
	git init -q --bare "$WORK/srv.git"
	"$FLEETGATE" install --repo "$WORK/srv.git" --key-only >/dev/null
	git -C "$WORK/srv.git" config fleetgate.menderServer "$SIM"
	git -C "$WORK/fleet" init -q
	git -C "$WORK/fleet" add -A
	git -C "$WORK/fleet" commit -q -m "Imported from edi-cd"
	local b
	for b in $(jq -r '.[].branch // empty' "$WORK/oracle.json" | sort -u); do
		git -C "$WORK/fleet" push -q "$WORK/srv.git" "HEAD:refs/heads/$b"
		"$FLEETGATE" apply --repo "$WORK/srv.git" --branch "$b" >/dev/null 2>>"$WORK/apply.err"
	done
	sim GET /_sim/state | jq -S '
		(.deployments | map(select(.type == "software")) ) as $deps |
		[ .devices[] | .id as $id |
		  { key: $id, value: {
			branch: ([ $deps[] | select(any(.devices[]; .id == $id)) | .name | capture("^fleetgate:(?<b>[^@]*)@").b ] | first),
			image: ([ $deps[] | select(any(.devices[]; .id == $id)) | .artifact_name ] | first),
			config: .configured } } ] | from_entries'
}

oracle() { # fixture
	python3 "$FIX/oracle.py" "$1" "$1/mender-devices" > "$WORK/oracle.json"
}

@test "a fork of today's schema: what Ansible would render is what fleetgate applies" {
	oracle "$FIX/fork"
	import_and_apply "$FIX/fork"
	output=$(cat "$WORK/applied.json")
	assert_output_is "$(jq -S . "$WORK/oracle.json")"
	# the per-host os_image list replaced the group's; the secrets arrived
	[ "$(echo "$output" | jq -r '.["22222222-bbbb-4bbb-8bbb-000000000003"].image')" = 2026-02-01-1200-pi5-gitops-trixie-arm64-rc1 ]
	[ "$(echo "$output" | jq -r '.["11111111-aaaa-4aaa-8aaa-000000000001"].config.monitoring_influxdb_http_token')" = influx-t0ken-value ]
	# values as Python prints them: 1.50 -> 1.5, off -> False, yes quoted stays yes
	[ "$(echo "$output" | jq -r '.["11111111-aaaa-4aaa-8aaa-000000000001"].config.playbook_version')" = 1.5 ]
	[ "$(echo "$output" | jq -r '.["22222222-bbbb-4bbb-8bbb-000000000003"].config.camera_night_mode')" = False ]
}
