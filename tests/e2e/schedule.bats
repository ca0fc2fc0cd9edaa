#!/usr/bin/env bats
# Scheduling Mender deployments through real pushes, against the stand-in:
# the post-receive hook, the spool, plan, apply, reconcile and status.

load helpers
load sim_helpers

PI3_NEW=2025-10-09-1716-pi3-gitops-trixie-arm64
PI3_NEXT=2025-11-14-1030-pi3-gitops-trixie-arm64
PI4=2025-10-10-2137-pi4-gitops-v2-bookworm-arm64
VAR=2025-10-06-0930-var-som-mx8m-nano-symphony-bookworm-arm64
IOT=2025-10-02-1405-iot-gate-imx8-gitops-bookworm-arm64
STATION=0b6c4f1e-7a2d-4e9b-b8c3-1f5a7d2e9c40
CAMPUS=a3e9d7c1-4b2f-4f6a-9e8d-7c1b5a3f2e90
QUALI=c8b1f4e2-6d3a-4c7b-9a2e-5b8d1f3c6a04
PROTO=d4a7c2e9-5b1f-4e8a-9c3d-2f6b8a1e4c07
GATE=64f1c2a9e3b5d7f0a1c2e4b6
RUNNER=7d2e5b8a-1c4f-4a9d-8e3b-6f0a2c4e8b17

setup() {
	setup_workspace
	export MENDER_ACCESS_TOKEN=test-token-not-secret
	export FLEETGATE_SECRET_RUNNER_ACCESS_TOKEN=ghr-s3cr3t-runner-token
	cp "$FG_TOP/fleet-example/mender-seed.json" "$WORK/seed.json"
	start_sim "$WORK/seed.json"
	make_server
}

teardown() {
	stop_sim
	teardown_workspace
}

push() { # refspec...
	git -C "$WORK/dev" push origin "$@" 2>&1 | remote_lines
}

# The deployments of the first rollout of the three stages at `head`.
assert_first_rollout() { # head
	local head=$1
	run sim_deployments
	assert_output_is "fleetgate:canary@$head:$PI3_NEW $PI3_NEW pending a3e9d7c1:pending
fleetgate:main@$head:$VAR $VAR pending d4a7c2e9:pending
fleetgate:main@$head:$PI4 $PI4 pending c8b1f4e2:pending
fleetgate:production@$head:$IOT $IOT pending 64f1c2a9:pending
fleetgate:production@$head:$PI3_NEW $PI3_NEW pending 0b6c4f1e:pending
fleetgate:production@$head:$PI4 $PI4 pending 7d2e5b8a:pending"
}

@test "first rollout to each stage schedules exactly the subscribed devices" {
	run push main
	[ "$status" -eq 0 ]
	head=$(git -C "$WORK/dev" rev-parse --short=7 main)
	assert_output_is "fleetgate: main@$head: 2 devices managed: 2 OS updates in 2 deployments (2 created, 0 already there), 2 configurations deployed, 0 pending, 0 aborted"
	run sim_deployments
	assert_output_is "fleetgate:main@$head:$VAR $VAR pending d4a7c2e9:pending
fleetgate:main@$head:$PI4 $PI4 pending c8b1f4e2:pending"
	run push main:canary
	assert_output_is "fleetgate: canary@$head: 1 device managed: 1 OS update in 1 deployment (1 created, 0 already there), 1 configuration deployed, 0 pending, 0 aborted"
	run push main:production
	assert_output_is "fleetgate: production@$head: 4 devices managed: 3 OS updates in 3 deployments (3 created, 0 already there), 4 configurations deployed, 0 pending, 0 aborted"
	assert_first_rollout "$head"
	# configuration reached Mender, values as written, the secret resolved
	run sim GET /_sim/state
	[ "$(echo "$output" | jq -r ".devices[] | select(.id == \"$STATION\") | .configured.kiosk_url")" = "https://example.com/station" ]
	[ "$(echo "$output" | jq -r ".devices[] | select(.id == \"$STATION\") | .configured.ssh_enabled")" = "false" ]
	[ "$(echo "$output" | jq -r ".devices[] | select(.id == \"$RUNNER\") | .configured.gharunner_access_token")" = "ghr-s3cr3t-runner-token" ]
	# the digest tag: HMAC-SHA256 under the server's key of the resolved map
	# (each key and value as "<bytes>:<text>", keys in order)
	canonical=$(echo "$output" | jq -j ".devices[] | select(.id == \"$RUNNER\") | .configured | to_entries | sort_by(.key)[] |
		\"\\(.key | utf8bytelength):\\(.key)\\(.value | utf8bytelength):\\(.value)\"")
	[[ "$canonical" == *"ghr-s3cr3t-runner-token"* ]]
	key=$(od -An -v -tx1 "$WORK/srv.git/fleetgate/digest.key" | tr -d ' \n')
	want=$(printf %s "$canonical" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" | sed 's/^.*= //')
	[ "${#want}" -eq 64 ]
	[ "$(echo "$output" | jq -r ".devices[] | select(.id == \"$RUNNER\") | .tags.fleetgate_config")" = "$want" ]
	# and not the unkeyed hash of the same text
	[ "$want" != "$(printf %s "$canonical" | sha256sum | cut -d' ' -f1)" ]
	[ -z "$(ls "$WORK/srv.git/fleetgate/spool/" | grep -v '^\.lock$')" ]
}

@test "a push that changes nothing for devices makes no deployment and no configuration request" {
	push main >/dev/null
	sim DELETE /_sim/requests
	echo "More notes." >> "$WORK/dev/fleet-example.notes"
	git -C "$WORK/dev" add -A
	merge_to_main "Add notes"
	run push main
	head=$(git -C "$WORK/dev" rev-parse --short=7 main)
	assert_output_is "fleetgate: main@$head: 2 devices managed: 0 OS updates in 0 deployments (0 created, 0 already there), 0 configurations deployed, 2 pending, 0 aborted"
	run sim_requests
	! echo "$output" | grep -q '^POST /api/management/v1/deployments' || false
	! echo "$output" | grep -q '^PUT /api/management/v1/deviceconfig' || false
	! echo "$output" | grep -q '^PATCH' || false
	# the inventory is read in pages, not per device
	[ "$(echo "$output" | grep -c 'inventory/devices/')" -eq 0 ]
	[ "$(echo "$output" | grep -c '^POST /api/management/v2/inventory/filters/search 200')" -eq 1 ]
}

@test "an offline device with a pending deployment is not given a second one" {
	sim PUT /_sim/devices/$PROTO '{"behaviour": "offline"}' >/dev/null
	push main >/dev/null
	sim POST /_sim/step >/dev/null
	sed -i 's/^  playbook_version: "1.5.0"/  playbook_version: "1.5.1"/' "$WORK/dev/fleet.yaml"
	merge_to_main "Playbook 1.5.1"
	sim DELETE /_sim/requests
	push main >/dev/null
	run sim_requests
	! echo "$output" | grep -q '^POST /api/management/v1/deployments/deployments ' || false
	run sim_deployments
	[ "$(echo "$output" | grep -c "$VAR")" -eq 1 ]
}

@test "a new artifact while one is pending aborts the old one for that device and creates the new" {
	sim PUT /_sim/devices/$CAMPUS '{"behaviour": "offline"}' >/dev/null
	push main >/dev/null
	push main:canary >/dev/null
	old=$(git -C "$WORK/dev" rev-parse --short=7 main)
	sed -i "s/pi3-v3-arm64: $PI3_NEW/pi3-v3-arm64: $PI3_NEXT/" "$WORK/dev/fleet.yaml"
	merge_to_main "Next Pi 3 image"
	push main >/dev/null
	sim DELETE /_sim/requests
	run push main:canary
	new=$(git -C "$WORK/dev" rev-parse --short=7 main)
	assert_output_is "fleetgate: canary@$new: 1 device managed: 1 OS update in 1 deployment (1 created, 0 already there), 1 configuration deployed, 0 pending, 1 aborted"
	run sim_requests
	echo "$output" | grep -q "^DELETE /api/management/v1/deployments/deployments/devices/$CAMPUS 204"
	run sim_deployments
	echo "$output" | grep -qx "fleetgate:canary@$old:$PI3_NEW $PI3_NEW [a-z]* a3e9d7c1:aborted"
	echo "$output" | grep -qx "fleetgate:canary@$new:$PI3_NEXT $PI3_NEXT pending a3e9d7c1:pending"
}

@test "a configuration-only change sets and deploys configuration, no OS deployment" {
	push main >/dev/null
	sed -i 's|kiosk_url: https://example.com/qualification|kiosk_url: https://example.com/qualification/v2|' \
		"$WORK/dev/devices/$QUALI.yaml"
	merge_to_main "New qualification URL"
	sim DELETE /_sim/requests
	run push main
	head=$(git -C "$WORK/dev" rev-parse --short=7 main)
	assert_output_is "fleetgate: main@$head: 2 devices managed: 0 OS updates in 0 deployments (0 created, 0 already there), 1 configuration deployed, 2 pending, 0 aborted"
	run sim_requests
	echo "$output" | grep -qx "PUT /api/management/v1/deviceconfig/configurations/device/$QUALI 204"
	echo "$output" | grep -qx "POST /api/management/v1/deviceconfig/configurations/device/$QUALI/deploy 200"
	! echo "$output" | grep -q '^POST /api/management/v1/deployments/deployments ' || false
	# the device takes its oldest deployment first: the OS image, then the configurations
	for i in 1 2 3; do sim POST /_sim/step >/dev/null; done
	run sim GET /_sim/state
	[ "$(echo "$output" | jq -r ".devices[] | select(.id == \"$QUALI\") | .reported.kiosk_url")" = "https://example.com/qualification/v2" ]
}

@test "a secret from the server's secrets file reaches Mender and no output, log or spool" {
	unset FLEETGATE_SECRET_RUNNER_ACCESS_TOKEN
	printf 'RUNNER_ACCESS_TOKEN=file-s3cr3t-value\n' > "$WORK/secrets"
	chmod 600 "$WORK/secrets"
	git -C "$WORK/srv.git" config fleetgate.secretsFile "$WORK/secrets"
	push main >/dev/null
	run push main:canary
	run push main:production
	echo "$output" | grep -q "production@"
	! echo "$output" | grep -q "file-s3cr3t-value" || false
	[ "$(sim GET /_sim/state | jq -r ".devices[] | select(.id == \"$RUNNER\") | .configured.gharunner_access_token")" = "file-s3cr3t-value" ]
	run "$FLEETGATE" plan --repo "$WORK/srv.git" --branch production --format json
	! echo "$output" | grep -q "file-s3cr3t-value" || false
	run "$FLEETGATE" status --repo "$WORK/srv.git"
	! echo "$output" | grep -q "file-s3cr3t-value" || false
	! grep -rq "file-s3cr3t-value" "$WORK/srv.git" || false
	# a secrets file others may read is refused, naming it
	chmod 644 "$WORK/secrets"
	run "$FLEETGATE" plan --repo "$WORK/srv.git" --branch production
	[ "$status" -eq 2 ]
	echo "$output" | grep -qF "secrets file $WORK/secrets is readable by others (mode 644): chmod 600 it"
}

@test "a missing secret stops only that device's configuration, naming the secret" {
	unset FLEETGATE_SECRET_RUNNER_ACCESS_TOKEN
	push main >/dev/null
	push main:canary >/dev/null
	run push main:production
	echo "$output" | grep -q "1 missing a secret"
	run "$FLEETGATE" plan --repo "$WORK/srv.git" --branch production
	echo "$output" | grep -qF "$RUNNER ci-runner-01 (pi4-v3-arm64, default): os pending $PI4; config NOT updated: secret 'RUNNER_ACCESS_TOKEN' is not set (FLEETGATE_SECRET_RUNNER_ACCESS_TOKEN or fleetgate.secretsFile)"
}

@test "Mender down during the push: the push lands, the job is spooled, reconcile schedules it once" {
	stop_sim
	run push main
	[ "$status" -eq 0 ]
	[ "$(git -C "$WORK/srv.git" rev-parse main)" = "$(git -C "$WORK/dev" rev-parse main)" ]
	head=$(git -C "$WORK/dev" rev-parse --short=7 main)
	echo "$output" | grep -q "^fleetgate: main@$head: deferred: reading the inventory: POST http://127.0.0.1:$SIM_PORT/api/management/v2/inventory/filters/search: Failed to connect to 127.0.0.1 port $SIM_PORT after [0-9]* ms: Couldn't connect to server$"
	echo "$output" | grep -qx "fleetgate: the spool keeps the job; 'fleetgate reconcile' schedules it"
	grep -q "^branch=main$" "$WORK"/srv.git/fleetgate/spool/*.job
	grep -q "^attempts=1$" "$WORK"/srv.git/fleetgate/spool/*.job
	start_sim "$WORK/seed.json"
	git -C "$WORK/srv.git" config fleetgate.menderServer "$SIM"
	run "$FLEETGATE" reconcile --repo "$WORK/srv.git"
	[ "$status" -eq 0 ]
	echo "$output" | grep -q "applied main@$head: 2 deployments created"
	run "$FLEETGATE" reconcile --repo "$WORK/srv.git"
	assert_output_is "nothing to reconcile: the spool is empty"
	run "$FLEETGATE" reconcile --repo "$WORK/srv.git" --all
	echo "$output" | grep -q "applied main@$head: 0 deployments created, 0 already there"
	run sim_deployments
	assert_output_is "fleetgate:main@$head:$VAR $VAR pending d4a7c2e9:pending
fleetgate:main@$head:$PI4 $PI4 pending c8b1f4e2:pending"
}

@test "Mender answering 503: the job is spooled and reconcile converges once faults clear" {
	sim POST /_sim/faults '{"path_prefix": "/api/management/v1/deployments/deployments", "method": "POST", "status": 503, "count": -1}' >/dev/null
	git -C "$WORK/srv.git" config fleetgate.applyTimeout 3
	run push main
	head=$(git -C "$WORK/dev" rev-parse --short=7 main)
	echo "$output" | grep -q "main@$head: deferred: "
	ls "$WORK"/srv.git/fleetgate/spool/*.job >/dev/null
	sim DELETE /_sim/faults >/dev/null
	run "$FLEETGATE" reconcile --repo "$WORK/srv.git"
	[ "$status" -eq 0 ]
	run sim_deployments
	assert_output_is "fleetgate:main@$head:$VAR $VAR pending d4a7c2e9:pending
fleetgate:main@$head:$PI4 $PI4 pending c8b1f4e2:pending"
}

@test "the hook killed with SIGKILL half-way: reconcile converges with no duplicate deployment" {
	push main >/dev/null
	push main:canary >/dev/null
	# Production's configuration calls hang long enough to kill the hook mid-way.
	sim POST /_sim/faults '{"path_prefix": "/api/management/v1/deviceconfig", "method": "PUT", "status": 200, "count": -1, "delay_ms": 3000}' >/dev/null
	old=$(git -C "$WORK/srv.git" rev-parse --verify -q production || echo 0000000000000000000000000000000000000000)
	git -C "$WORK/srv.git" update-ref refs/heads/production "$(git -C "$WORK/dev" rev-parse main)"
	new=$(git -C "$WORK/dev" rev-parse main)
	sim DELETE /_sim/requests
	echo "$old $new refs/heads/production" > "$WORK/input"
	( cd "$WORK/srv.git" && exec env GIT_DIR=. "$FLEETGATE" hook post-receive <"$WORK/input" >"$WORK/hook.out" 2>&1 ) &
	hook=$!
	sleep 1.5
	# mid-way: deployments made, configuration calls hanging
	sim GET /_sim/requests | jq -e '.[] | select(.method == "POST" and (.path | endswith("/deployments/deployments")))' >/dev/null
	! sim GET /_sim/requests | jq -e '.[] | select(.method == "PUT")' >/dev/null || false
	kill -9 "$hook"
	wait "$hook" 2>/dev/null || true
	ls "$WORK"/srv.git/fleetgate/spool/*.job >/dev/null
	sim DELETE /_sim/faults >/dev/null
	run "$FLEETGATE" reconcile --repo "$WORK/srv.git"
	[ "$status" -eq 0 ]
	run "$FLEETGATE" reconcile --repo "$WORK/srv.git" --all
	[ "$status" -eq 0 ]
	# one deployment per artifact and device, however often it ran
	run sim_deployments
	[ "$(echo "$output" | grep -c "^fleetgate:production@")" -eq 3 ]
	[ "$(echo "$output" | grep "^fleetgate:production@" | cut -d' ' -f4 | tr , '\n' | sort | uniq -d)" = "" ]
	run "$FLEETGATE" plan --repo "$WORK/srv.git" --branch production
	echo "$output" | grep -q "0 OS updates in 0 deployments, 3 pending, 0 failed, 0 without artifact; 0 configuration updates"
}

@test "429 with Retry-After is honoured" {
	sim POST /_sim/faults '{"path_prefix": "/api/management/v1/deployments/deployments", "method": "POST", "status": 429, "count": 1, "retry_after": 1}' >/dev/null
	start=$(date +%s%N)
	run push main
	elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
	head=$(git -C "$WORK/dev" rev-parse --short=7 main)
	echo "$output" | grep -qx "fleetgate: main@$head: 2 devices managed: 2 OS updates in 2 deployments (2 created, 0 already there), 2 configurations deployed, 0 pending, 0 aborted"
	[ "$elapsed" -ge 1000 ]
	run sim_requests
	[ "$(echo "$output" | grep -c '^POST /api/management/v1/deployments/deployments 429')" -eq 1 ]
	[ "$(echo "$output" | grep -c '^POST /api/management/v1/deployments/deployments 201')" -eq 2 ]
}

@test "the dynamic-group device follows its Mender tag" {
	push main >/dev/null
	push main:canary >/dev/null
	run "$FLEETGATE" plan --repo "$WORK/srv.git" --branch main --all
	echo "$output" | grep -q "^  $PROTO (var-som-mx8m-nano, tag): os pending $VAR"
	curl -sS -X PATCH -H "Authorization: Bearer $MENDER_ACCESS_TOKEN" -H 'Content-Type: application/json' \
		--data '[{"name": "subscribed_branch", "value": "canary"}]' \
		"$SIM/api/management/v1/inventory/devices/$PROTO/tags" >/dev/null
	run "$FLEETGATE" plan --repo "$WORK/srv.git" --branch main --all
	! echo "$output" | grep -q "$PROTO" || false
	run "$FLEETGATE" plan --repo "$WORK/srv.git" --branch canary --all
	echo "$output" | grep -q "^  $PROTO (var-som-mx8m-nano, tag): os"
	# the admin limits which branches a tag may choose
	git -C "$WORK/srv.git" config fleetgate.tagBranches "main"
	run "$FLEETGATE" plan --repo "$WORK/srv.git" --branch canary --all
	! echo "$output" | grep -q "$PROTO" || false
}

@test "a two-branch conflict is reported and left alone" {
	push main >/dev/null
	push main:canary >/dev/null
	push main:production >/dev/null
	# main's file now says main; production's default still says production
	printf 'name: pi2-workshop-legacy-display\nsubscribed_branch: main\n' > "$WORK/dev/devices/5ef8a3d2-9c41-4b7e-8f10-2a6c4d9b3e71.yaml"
	merge_to_main "Move the workshop display to main"
	sim DELETE /_sim/requests
	run push main
	echo "$output" | grep -q "left alone: 1 conflict"
	run "$FLEETGATE" plan --repo "$WORK/srv.git" --branch main
	echo "$output" | grep -qF "  5ef8a3d2-9c41-4b7e-8f10-2a6c4d9b3e71 pi2-workshop-legacy-display (pi2-v3-armhf, file): left alone (conflict); claimed by main and production: fix the subscription in git or tag the device in Mender"
	run sim_requests
	! echo "$output" | grep -q "5ef8a3d2" || false
}

@test "a failed device deployment is reported by the next plan and by status" {
	push main >/dev/null
	push main:canary >/dev/null
	push main:production >/dev/null
	sim POST /_sim/step >/dev/null
	run "$FLEETGATE" plan --repo "$WORK/srv.git" --branch production
	head=$(git -C "$WORK/dev" rev-parse --short=7 main)
	echo "$output" | grep -q "^  $GATE iot-gate-lobby-hotspot (iot-gate-imx8, default): os FAILED $IOT (deployment [0-9a-f-]*; a new commit retries it)"
	run "$FLEETGATE" status --repo "$WORK/srv.git" --branch production
	[ "$status" -eq 1 ]
	echo "$output" | grep -qE "^$GATE +production +iot-gate-imx8 +$IOT +2025-08-18-1022-iot-gate-imx8-gitops-bookworm-arm64 +set +failure +iot-gate-lobby-hotspot$"
	echo "$output" | grep -qx "production@$head: 4 managed, 3 converged, 0 on their way, 1 failed, 0 not yet scheduled"
	run "$FLEETGATE" status --repo "$WORK/srv.git" --branch production --format json
	[ "$(echo "$output" | jq -r ".branches[0].devices[] | select(.id == \"$GATE\") | .deployment")" = failure ]
	# the configuration is "set" by the digest; --full reads what devices report
	[ "$(echo "$output" | jq -r ".branches[0].devices[] | select(.id == \"$STATION\") | .config")" = set ]
	run "$FLEETGATE" status --repo "$WORK/srv.git" --branch production --full --format json
	[ "$(echo "$output" | jq -r ".branches[0].devices[] | select(.id == \"$STATION\") | .config")" = pending ]
	sim POST /_sim/step >/dev/null
	run "$FLEETGATE" status --repo "$WORK/srv.git" --branch production --full --format json
	[ "$(echo "$output" | jq -r ".branches[0].devices[] | select(.id == \"$STATION\") | .config")" = in-sync ]
}

@test "the merge-request gate previews what the merge would schedule" {
	push main >/dev/null
	push main:canary >/dev/null
	git -C "$WORK/dev" fetch -q origin
	# a CI clone has no server settings: the CI's variables name Mender
	export MENDER_SERVER="$SIM"
	# nor the server's digest key: no preview, and the gate says why
	run "$FLEETGATE" gate --repo "$WORK/dev" --source canary --target production
	[ "$status" -eq 0 ]
	echo "$output" | grep -qx "preview not available: the configuration digest key $WORK/dev/.git/fleetgate/digest.key does not exist: copy the git server's (<repo>.git/fleetgate/digest.key) there, mode 600"
	# the CI job writes it from a protected variable
	mkdir -p "$WORK/dev/.git/fleetgate"
	install -m 600 "$WORK/srv.git/fleetgate/digest.key" "$WORK/dev/.git/fleetgate/digest.key"
	run "$FLEETGATE" gate --repo "$WORK/dev" --source canary --target production
	[ "$status" -eq 0 ]
	head=$(git -C "$WORK/dev" rev-parse --short=7 main)
	echo "$output" | grep -qx "preview: what merging into production would schedule in Mender"
	echo "$output" | grep -qx "plan for production at $head"
	echo "$output" | grep -qF "deployment fleetgate:production@$head:$PI3_NEW: 1 device"
	echo "$output" | grep -qx "production@$head: 4 devices managed: 3 OS updates in 3 deployments, 0 pending, 0 failed, 0 without artifact; 4 configuration updates, 0 pending"
	# the preview wrote nothing
	[ "$(sim_deployments | grep -c '^fleetgate:production')" -eq 0 ]
	unset MENDER_ACCESS_TOKEN
	run "$FLEETGATE" gate --repo "$WORK/dev" --source canary --target production
	[ "$status" -eq 0 ]
	! echo "$output" | grep -q preview || false
}

@test "long runs show their progress on a terminal, and only there" {
	push main >/dev/null
	# `script` gives the command a terminal
	run script -qec "'$FLEETGATE' plan --repo '$WORK/srv.git' --branch main" /dev/null
	[ "$status" -eq 0 ]
	echo "$output" | grep -qF "fleetgate: main@$(git -C "$WORK/dev" rev-parse --short=7 main): reading Mender (1 branch in git)..."
	echo "$output" | grep -qF ": 7 devices, 2 deployments, 5 artifacts read; planning..."
	run "$FLEETGATE" plan --repo "$WORK/srv.git" --branch main
	! echo "$output" | grep -q "reading Mender" || false
}

@test "reconcile --full reads every configuration and deploys none again while devices have not applied them" {
	sim PUT /_sim/devices/$QUALI '{"behaviour": "offline"}' >/dev/null
	push main >/dev/null
	sim DELETE /_sim/requests
	run "$FLEETGATE" reconcile --repo "$WORK/srv.git" --full
	[ "$status" -eq 0 ]
	run sim_requests
	[ "$(echo "$output" | grep -c '^GET /api/management/v1/deviceconfig/configurations/device/')" -eq 7 ]
	! echo "$output" | grep -q '^PUT /api/management/v1/deviceconfig' || false
	! echo "$output" | grep -q '^POST /api/management/v1/deviceconfig' || false
	! echo "$output" | grep -q '^POST /api/management/v1/deployments/deployments ' || false
}

@test "without the digest key the push lands and scheduling waits, saying how to make the key; install makes it once" {
	rm "$WORK/srv.git/fleetgate/digest.key"
	run push main
	head=$(git -C "$WORK/dev" rev-parse --short=7 main)
	assert_output_is "fleetgate: main@$head: deferred: the configuration digest key $WORK/srv.git/fleetgate/digest.key does not exist: run 'fleetgate install --repo $WORK/srv.git' to make it
fleetgate: the spool keeps the job; 'fleetgate reconcile' schedules it"
	[ "$(git -C "$WORK/srv.git" rev-parse --short=7 main)" = "$head" ]
	[ -z "$(sim_requests)" ]
	run "$FLEETGATE" plan --repo "$WORK/srv.git" --branch main
	[ "$status" -eq 2 ]
	assert_output_is "fleetgate plan: main: the configuration digest key $WORK/srv.git/fleetgate/digest.key does not exist: run 'fleetgate install --repo $WORK/srv.git' to make it"
	# install makes it: 32 bytes, the owner's only
	run "$FLEETGATE" install --repo "$WORK/srv.git"
	echo "$output" | grep -qx "created $WORK/srv.git/fleetgate/digest.key (the key of the configuration digests in Mender, mode 600)"
	[ "$(stat -c '%a %s' "$WORK/srv.git/fleetgate/digest.key")" = "600 32" ]
	before=$(od -An -v -tx1 "$WORK/srv.git/fleetgate/digest.key")
	# and never replaces it
	run "$FLEETGATE" install --repo "$WORK/srv.git"
	echo "$output" | grep -qx "unchanged $WORK/srv.git/fleetgate/digest.key"
	[ "$(od -An -v -tx1 "$WORK/srv.git/fleetgate/digest.key")" = "$before" ]
	# the job waited in the spool: reconcile schedules it
	run "$FLEETGATE" reconcile --repo "$WORK/srv.git"
	[ "$status" -eq 0 ]
	[ "$(sim_deployments | grep -c "^fleetgate:main@$head:")" -eq 2 ]
	# a key others may read is refused
	chmod 640 "$WORK/srv.git/fleetgate/digest.key"
	run "$FLEETGATE" plan --repo "$WORK/srv.git" --branch main
	[ "$status" -eq 2 ]
	assert_output_is "fleetgate plan: main: the configuration digest key $WORK/srv.git/fleetgate/digest.key is not a file readable by its owner only (mode 640): chmod 600 it"
}

@test "a digest tag of the older, unkeyed form differs once: set again, then nothing to do" {
	push main >/dev/null
	# what an older fleetgate recorded: the SHA-1 of "key=value" lines
	curl -sS -X PATCH -H "Authorization: Bearer $MENDER_ACCESS_TOKEN" -H 'Content-Type: application/json' \
		--data '[{"name": "fleetgate_config", "value": "0f3c1e7a5b2d4c6e8a0b1c2d3e4f5a6b7c8d9e0f"}]' \
		"$SIM/api/management/v1/inventory/devices/$QUALI/tags"
	run "$FLEETGATE" plan --repo "$WORK/srv.git" --branch main --format json
	[ "$(echo "$output" | jq -r ".devices[] | select(.id == \"$QUALI\") | .config.state")" = update ]
	[ "$(echo "$output" | jq -r "[.devices[] | select(.config.state == \"update\")] | length")" = 1 ]
	run "$FLEETGATE" apply --repo "$WORK/srv.git" --branch main
	[ "$status" -eq 0 ]
	sim DELETE /_sim/requests
	run "$FLEETGATE" plan --repo "$WORK/srv.git" --branch main --format json
	[ "$(echo "$output" | jq -r "[.devices[] | select(.config.state == \"update\")] | length")" = 0 ]
	[ "$(sim GET /_sim/state | jq -r ".devices[] | select(.id == \"$QUALI\") | .tags.fleetgate_config | length")" = 64 ]
	# nothing to do costs the inventory pages and lookups, no request per device
	run sim_requests
	! echo "$output" | grep -q 'deviceconfig\|inventory/devices/' || false
}

@test "a secrets-file line or a token file over its cap is an error naming the file and line, never cut" {
	unset FLEETGATE_SECRET_RUNNER_ACCESS_TOKEN
	push main >/dev/null
	git -C "$WORK/srv.git" config fleetgate.secretsFile "$WORK/secrets"
	# 8192 bytes of NAME=value: the cap, taken whole
	{ echo '# the runner'; printf 'RUNNER_ACCESS_TOKEN=%s\n' "$(head -c 8172 /dev/zero | tr '\0' v)"; } > "$WORK/secrets"
	chmod 600 "$WORK/secrets"
	run "$FLEETGATE" plan --repo "$WORK/srv.git" --branch main
	[ "$status" -eq 0 ]
	# one byte more, and a tail that would read as a secret of its own
	{ echo '# the runner'; printf 'RUNNER_ACCESS_TOKEN=%sOTHER_SECRET=smuggled\n' "$(head -c 8152 /dev/zero | tr '\0' v)"; } > "$WORK/secrets"
	[ "$(sed -n 2p "$WORK/secrets" | tr -d '\n' | wc -c)" -eq 8193 ]
	run "$FLEETGATE" plan --repo "$WORK/srv.git" --branch main
	[ "$status" -eq 2 ]
	assert_output_is "fleetgate plan: main: secrets file $WORK/secrets, line 2: longer than 8192 bytes"
	# the token file: 16 KiB at most, the token alone on its first line
	unset MENDER_ACCESS_TOKEN
	git -C "$WORK/srv.git" config fleetgate.menderTokenFile "$WORK/token"
	install -m 600 /dev/null "$WORK/token"
	{ echo test-token-not-secret; head -c 16363 /dev/zero | tr '\0' '\n'; } > "$WORK/token"
	[ "$(wc -c < "$WORK/token")" -eq 16385 ]
	run "$FLEETGATE" plan --repo "$WORK/srv.git" --branch main
	[ "$status" -eq 2 ]
	assert_output_is "fleetgate plan: main: token file $WORK/token is larger than 16384 bytes"
	printf 'test-token-not-secret\n\nsecond-token\n' > "$WORK/token"
	run "$FLEETGATE" plan --repo "$WORK/srv.git" --branch main
	[ "$status" -eq 2 ]
	assert_output_is "fleetgate plan: main: token file $WORK/token, line 3: a token file holds the token alone, on its first line"
	printf 'test-token-not-secret\n\n' > "$WORK/token"
	printf 'RUNNER_ACCESS_TOKEN=ok\n' > "$WORK/secrets"
	run "$FLEETGATE" plan --repo "$WORK/srv.git" --branch main
	[ "$status" -eq 0 ]
}

# Requests a command made of Mender (the stand-in's own endpoints left out):
# "<total> <inventory searches> <artifact lookups> <configuration reads>".
# Three branches once read Mender three times (the same fleet: before,
# push 67, status 69, status --full 90, reconcile --all 69; as 3.7, whose
# v1 lists take more requests: 85, 87, 108, 87); one plan takes 23.
request_counts() {
	local r
	r=$(sim_requests)
	echo "$(echo "$r" | grep -c .) $(echo "$r" | grep -c '^POST /api/management/v2/inventory/filters/search ') $(echo "$r" | grep -c '/deployments/artifacts') $(echo "$r" | grep -c '^GET /api/management/v1/deviceconfig/configurations/device/')"
}

@test "several branches in one run read Mender once: a push of three branches, status, status --full, reconcile --all" {
	# one push creates the three stages: planned as three pushes would
	run push main main:canary main:production
	head=$(git -C "$WORK/dev" rev-parse --short=7 main)
	echo "$output" | grep -qx "fleetgate: main@$head: 2 devices managed: 2 OS updates in 2 deployments (2 created, 0 already there), 2 configurations deployed, 0 pending, 0 aborted"
	echo "$output" | grep -qx "fleetgate: canary@$head: 1 device managed: 1 OS update in 1 deployment (1 created, 0 already there), 1 configuration deployed, 0 pending, 0 aborted"
	echo "$output" | grep -qx "fleetgate: production@$head: 4 devices managed: 3 OS updates in 3 deployments (3 created, 0 already there), 4 configurations deployed, 0 pending, 0 aborted"
	assert_first_rollout "$head"
	# the inventory walked once, each artifact looked up once; the
	# deployments read again by each branch after one that made some
	if [ "${MENDER_SIM_VERSION:-4.1}" = 3.7 ]; then
		counts=(77 43 50 43)
	else
		counts=(53 27 34 27)
	fi
	[ "$(request_counts)" = "${counts[0]} 1 5 1" ]
	# status: each branch shown as it is alone
	sim DELETE /_sim/requests
	run "$FLEETGATE" status --repo "$WORK/srv.git" --format json
	[ "$status" -eq 0 ]
	all=$(echo "$output" | jq -c '.branches')
	[ "$(request_counts)" = "${counts[1]} 1 5 0" ]
	one=$(for b in canary main production; do
		"$FLEETGATE" status --repo "$WORK/srv.git" --branch "$b" --format json | jq -c '.branches[]'
	done | jq -sc .)
	[ "$all" = "$one" ]
	[ "$(echo "$all" | jq length)" -eq 3 ]
	# --full reads each device's configuration once, not once a branch
	sim DELETE /_sim/requests
	run "$FLEETGATE" status --repo "$WORK/srv.git" --full
	[ "$status" -eq 0 ]
	[ "$(request_counts)" = "${counts[2]} 1 5 7" ]
	sim DELETE /_sim/requests
	run "$FLEETGATE" reconcile --repo "$WORK/srv.git" --all
	[ "$status" -eq 0 ]
	[ "$(request_counts)" = "${counts[3]} 1 5 0" ]
	all=$output
	one=$(for b in canary main production; do "$FLEETGATE" reconcile --repo "$WORK/srv.git" --all --branch "$b"; done)
	[ "$all" = "$one" ]
	# a deployment found by production's name is not canary's fact: the
	# station, installed by it and tagged to canary, is in sync there
	for i in 1 2 3; do sim POST /_sim/step >/dev/null; done
	curl -sS -X PATCH -H "Authorization: Bearer $MENDER_ACCESS_TOKEN" -H 'Content-Type: application/json' \
		--data '[{"name": "subscribed_branch", "value": "canary"}]' \
		"$SIM/api/management/v1/inventory/devices/$STATION/tags"
	all=$("$FLEETGATE" status --repo "$WORK/srv.git" --format json | jq -c '.branches')
	one=$(for b in canary main production; do
		"$FLEETGATE" status --repo "$WORK/srv.git" --branch "$b" --format json | jq -c '.branches[]'
	done | jq -sc .)
	[ "$all" = "$one" ]
	[ "$(echo "$all" | jq -r ".[] | select(.branch == \"canary\") | .devices[] | select(.id == \"$STATION\") | .deployment")" = in-sync ]
}
