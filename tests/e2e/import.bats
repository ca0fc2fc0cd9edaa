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
	if [ -n "${SEED_EDIT:-}" ]; then
		jq "$SEED_EDIT" "$WORK/seed.json" > "$WORK/seed.edited" && mv "$WORK/seed.edited" "$WORK/seed.json"
	fi
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

@test "the 2022 schema: one template per host, a host without one gets no configuration" {
	oracle "$FIX/schema2022"
	import_and_apply "$FIX/schema2022"
	output=$(cat "$WORK/applied.json")
	assert_output_is "$(jq -S . "$WORK/oracle.json")"
	# a host rendering empty.json, and one in the inventory without
	# host_vars (edi-cd skipped its configuration): fleetgate sets nothing
	sim_requests > "$WORK/requests"
	grep -q "^PUT /api/management/v1/deviceconfig/configurations/device/aaaaaaaa-2022-4000-8000-000000000002 " "$WORK/requests"
	! grep -q "^PUT .*/\(aaaaaaaa-2022-4000-8000-000000000003\|0123456789abcdef01234567\) " "$WORK/requests" || false
	[ "$(echo "$output" | jq -r '.["aaaaaaaa-2022-4000-8000-000000000001"].config.access_token')" = runner-t0ken-value ]
	grep -qx "imported $FIX/schema2022 (configuration.template (2022)) into $WORK/fleet: fleet.yaml and 4 device files (3 from host_vars, 1 with the group's defaults)" "$WORK/import.out"
	grep -qx "note: host_vars/aaaaaaaa-2022-4000-8000-000000000001.yml:10:5: unused: no template reads 'configuration.parameters.runner_labels'" "$WORK/import.out"
}

@test "the shape of the public edi-cd repository: equal, orphans, secrets, --check, idempotent" {
	oracle "$FIX/edicd-shape"
	import_and_apply "$FIX/edicd-shape"
	output=$(cat "$WORK/applied.json")
	assert_output_is "$(jq -S . "$WORK/oracle.json")"
	run cat "$WORK/import.out"
	assert_output_is "imported $FIX/edicd-shape (edge-configuration.json) into $WORK/fleet: fleet.yaml and 8 device files (8 from host_vars, 0 with the group's defaults)
secrets the server needs (fleetgate.secretsFile, or FLEETGATE_SECRET_<NAME>): INFLUXDB_HTTP_TOKEN RUNNER_ACCESS_TOKEN
note: host_vars/c0ffee00-0000-4000-8000-0000000000d1.yml: orphan: 'c0ffee00-0000-4000-8000-0000000000d1' is not in inventory.yml (Ansible ignores it); not imported (--include-orphans imports it)
note: host_vars/c0ffee00-0000-4000-8000-0000000000d2.yml: orphan: 'c0ffee00-0000-4000-8000-0000000000d2' is not in inventory.yml (Ansible ignores it); not imported (--include-orphans imports it)
note: host_vars/c0ffee00-0000-4000-8000-0000000000d3.yml: orphan: 'c0ffee00-0000-4000-8000-0000000000d3' is not in inventory.yml (Ansible ignores it); not imported (--include-orphans imports it)
note: inventory.yml: groups without variables dropped (fleetgate has no groups; Mender's device type picks the OS image): pi5, pi4, pi3, pi2, iot_gate_imx8, var_som_mx8m_nano"
	# no secret value in any file written
	! grep -rq 't0ken-value' "$WORK/fleet" || false
	grep -q '"${secret:RUNNER_ACCESS_TOKEN}"' "$WORK/fleet/devices/c0ffee00-0000-4000-8000-000000000005.yaml"
	run "$FLEETGATE" validate "$WORK/fleet"
	assert_status 0
	run "$FLEETGATE" import edi-cd --check --output "$WORK/fleet" "$FIX/edicd-shape"
	assert_status 0
	[ "$(echo "$output" | head -1 | tr -s ' ')" = "device edi-cd fleetgate equal" ]
	echo "$output" | grep -qE '^c0ffee00-0000-4000-8000-000000000005 +develop, 1 image, 8 keys, [0-9a-f]{8} +develop, 1 image, 8 keys, [0-9a-f]{8} +yes$'
	echo "$output" | grep -qx '8 of 8 equal'
	# importing twice gives the same files; without --force nothing is replaced
	cp -R "$WORK/fleet" "$WORK/first"
	run "$FLEETGATE" import edi-cd --output "$WORK/fleet" "$FIX/edicd-shape"
	assert_status 1
	assert_output_is "fleetgate import: '$WORK/fleet' already holds fleet.yaml: --force replaces it"
	"$FLEETGATE" import edi-cd --force --output "$WORK/fleet" "$FIX/edicd-shape" >/dev/null
	diff -r -x .git "$WORK/first" "$WORK/fleet"
	# --include-orphans: the three retired devices too, with the group's defaults
	"$FLEETGATE" import edi-cd --force --include-orphans --output "$WORK/fleet" "$FIX/edicd-shape" >"$WORK/orphans.out"
	[ "$(ls "$WORK/fleet/devices" | wc -l)" -eq 11 ]
	grep -q "imported (--include-orphans)" "$WORK/orphans.out"
	[ "$(sed -n 's/^subscribed_branch: //p' "$WORK/fleet/devices/c0ffee00-0000-4000-8000-0000000000d2.yaml")" = '"main"' ]
}

@test "--check names the first difference when the fleet no longer matches the templates" {
	"$FLEETGATE" import edi-cd --output "$WORK/fleet" "$FIX/fork" >/dev/null
	sed -i 's|"https://example.com/lobby?lang=de&x=1"|"https://example.com/elsewhere"|' \
		"$WORK/fleet/devices/11111111-aaaa-4aaa-8aaa-000000000001.yaml"
	run "$FLEETGATE" import edi-cd --check --output "$WORK/fleet" "$FIX/fork"
	assert_status 1
	echo "$output" | grep -qE "^11111111-aaaa-4aaa-8aaa-000000000001 +main, 2 images, 10 keys, [0-9a-f]{8} +main, 2 images, 10 keys, [0-9a-f]{8} +no: the value of 'kiosk_kiosk_url' \(as pi4-v3-arm64\)$"
	echo "$output" | grep -qx '3 of 4 equal'
}

@test "a mandatory value a host lacks is reported for that host, as Ansible fails it; nothing written" {
	cp -R "$FIX/fork" "$WORK/repo"
	sed -i '/^kiosk_kiosk_url/d' "$WORK/repo/host_vars/11111111-aaaa-4aaa-8aaa-000000000001.yml"
	sed -i 's/^monitoring_influxdb_http_token: .*/monitoring_influxdb_http_token: ""/' "$WORK/repo/host_vars/11111111-aaaa-4aaa-8aaa-000000000001.yml"
	run "$FLEETGATE" import edi-cd --output "$WORK/fleet" "$WORK/repo"
	assert_status 1
	assert_output_is "fleetgate import: host 11111111-aaaa-4aaa-8aaa-000000000001: roles/apply_configuration/templates/edge-configuration.json:8:127: mandatory: The InfluxDB token must be set
fleetgate import: 0 problems in the repository, 1 host Ansible would fail: nothing written"
	[ ! -e "$WORK/fleet" ]
	# the oracle fails the same host
	python3 "$FIX/oracle.py" "$WORK/repo" "$WORK/repo/mender-devices" >"$WORK/oracle.json"
	[ "$(jq -r '.["11111111-aaaa-4aaa-8aaa-000000000001"].error' "$WORK/oracle.json")" = "The InfluxDB token must be set" ]
	# undefined, the token fails | length before mandatory, as in Ansible
	sed -i '/^monitoring_influxdb_http_token/d' "$WORK/repo/host_vars/11111111-aaaa-4aaa-8aaa-000000000001.yml"
	run "$FLEETGATE" import edi-cd --output "$WORK/fleet" "$WORK/repo"
	assert_status 1
	echo "$output" | grep -qx "fleetgate import: host 11111111-aaaa-4aaa-8aaa-000000000001: roles/apply_configuration/templates/edge-configuration.json:8:112: 'monitoring_influxdb_http_token' is undefined"
	python3 "$FIX/oracle.py" "$WORK/repo" "$WORK/repo/mender-devices" >"$WORK/oracle.json"
	[ "$(jq -r '.["11111111-aaaa-4aaa-8aaa-000000000001"].error' "$WORK/oracle.json")" = "'monitoring_influxdb_http_token' is undefined" ]
	# a mandatory without a message of its own names the variable
	sed -i 's/^monitoring_enabled: yes/monitoring_enabled: no/' "$WORK/repo/host_vars/11111111-aaaa-4aaa-8aaa-000000000001.yml"
	run "$FLEETGATE" import edi-cd --output "$WORK/fleet" "$WORK/repo"
	assert_status 1
	echo "$output" | grep -qx "fleetgate import: host 11111111-aaaa-4aaa-8aaa-000000000001: roles/apply_configuration/templates/edge-configuration.json:20:46: mandatory variable 'kiosk_kiosk_url' not defined"
}

@test "Jinja2 outside the supported subset is an error naming file, line, column and construct" {
	cp -R "$FIX/fork" "$WORK/repo"
	t="$WORK/repo/roles/apply_configuration/templates/edge-configuration.json"
	sed -i 's/{{ playbook_url | mandatory }}/{{ playbook_url | upper }}/' "$t"
	run "$FLEETGATE" import edi-cd --output "$WORK/fleet" "$WORK/repo"
	assert_status 1
	assert_output_is "roles/apply_configuration/templates/edge-configuration.json:2:40: error: filter 'upper' (supported: mandatory, default, length) [template-unsupported]
fleetgate import: 1 problem in the repository, 0 hosts Ansible would fail: nothing written"
	[ ! -e "$WORK/fleet" ]
	cp "$FIX/fork/roles/apply_configuration/templates/edge-configuration.json" "$t"
	printf '{%% for k in keys %%}{%% endfor %%}\n' >> "$t"
	run "$FLEETGATE" import edi-cd --output "$WORK/fleet" "$WORK/repo"
	assert_status 1
	echo "$output" | grep -qx "roles/apply_configuration/templates/edge-configuration.json:31:4: error: statement 'for' (supported: if, elif, else, endif) \[template-unsupported\]"
}

@test "a variable that spells a substitution cannot smuggle a secret into a device's map" {
	cp -R "$FIX/fork" "$WORK/repo"
	echo 'kiosk_kiosk_url: "https://example.com/?t=${secret:MENDER_TOKEN}"' >> "$WORK/repo/host_vars/22222222-bbbb-4bbb-8bbb-000000000004.yml"
	echo 'kiosk_enabled: true' >> "$WORK/repo/host_vars/22222222-bbbb-4bbb-8bbb-000000000004.yml"
	run "$FLEETGATE" import edi-cd --output "$WORK/fleet" "$WORK/repo"
	assert_status 1
	echo "$output" | grep -qx "fleetgate import: host 22222222-bbbb-4bbb-8bbb-000000000004: roles/apply_configuration/templates/edge-configuration.json:20:46: the value 'https://example.com/?t=\${secret:MENDER_TOKEN}' holds '\${', which fleetgate would read as a substitution"
	[ ! -e "$WORK/fleet" ]
}

@test "the import runs the validator: a fleet it would not accept is not written" {
	cp -R "$FIX/fork" "$WORK/repo"
	sed -i 's/"kiosk_enabled": "true",/"kiosk enabled": "true",/' "$WORK/repo/roles/apply_configuration/templates/edge-configuration.json"
	run "$FLEETGATE" import edi-cd --output "$WORK/fleet" "$WORK/repo"
	assert_status 1
	assert_output_is "devices/11111111-aaaa-4aaa-8aaa-000000000001.yaml:10:3: error: configuration key 'kiosk enabled' in config may hold only letters, digits, '_', '.' and '-' [config-key]
fleetgate import: the imported fleet does not validate: nothing written"
	[ ! -e "$WORK/fleet/fleet.yaml" ]
}

@test "subscribed_branch: the device's Mender inventory attribute wins over host_vars, as in edi-cd" {
	oracle "$FIX/fork"
	# host_vars says main; the attribute in Mender says develop
	SEED_EDIT='(.devices[] | select(.id == "22222222-bbbb-4bbb-8bbb-000000000003")).tags = {"subscribed_branch": "develop"}'
	import_and_apply "$FIX/fork"
	[ "$(jq -r '.["22222222-bbbb-4bbb-8bbb-000000000003"].branch' "$WORK/applied.json")" = develop ]
	[ "$(jq -S '.["22222222-bbbb-4bbb-8bbb-000000000003"].config' "$WORK/applied.json")" = \
		"$(jq -S '.["22222222-bbbb-4bbb-8bbb-000000000003"].config' "$WORK/oracle.json")" ]
	[ "$(jq -r '.["11111111-aaaa-4aaa-8aaa-000000000001"].branch' "$WORK/applied.json")" = main ]
}

@test "a value Python would print differently than modelled is refused, naming the file it is in" {
	cp -R "$FIX/fork" "$WORK/repo"
	sed -i 's/^camera_resolution: 1080/camera_resolution: 2025-10-10 10:00:00/' "$WORK/repo/group_vars/all.yml"
	run "$FLEETGATE" import edi-cd --output "$WORK/fleet" "$WORK/repo"
	assert_status 1
	assert_output_is "fleetgate import: host 22222222-bbbb-4bbb-8bbb-000000000003: group_vars/all.yml:11:20: the timestamp '2025-10-10 10:00:00' is not supported (quote it)
fleetgate import: 0 problems in the repository, 1 host Ansible would fail: nothing written"
}
