#!/usr/bin/env bats
# The Mender client against the servers people run (issue 13): the
# stand-in as Mender 3.7, 4.0 and 4.1 (--mender-version), without Mender
# Configure (--configure off), and with answers to distrust.

load helpers
load sim_helpers

PI4=2025-10-10-2137-pi4-gitops-v2-bookworm-arm64
VAR=2025-10-06-0930-var-som-mx8m-nano-symphony-bookworm-arm64
QUALI=c8b1f4e2-6d3a-4c7b-9a2e-5b8d1f3c6a04
PROTO=d4a7c2e9-5b1f-4e8a-9c3d-2f6b8a1e4c07

setup() {
	setup_workspace
	export MENDER_ACCESS_TOKEN=test-token-not-secret
	export FLEETGATE_SECRET_RUNNER_ACCESS_TOKEN=ghr-s3cr3t-runner-token
	cp "$FG_TOP/fleet-example/mender-seed.json" "$WORK/seed.json"
}

teardown() {
	stop_sim
	teardown_workspace
}

push() { # refspec...
	git -C "$WORK/dev" push origin "$@" 2>&1 | remote_lines
}

# The first rollout of main, then a run with nothing new, against Mender
# `version`: the same deployments, and only routes that version has.
rollout_on() { # version
	start_sim "$WORK/seed.json" --mender-version "$1"
	make_server
	run push main
	[ "$status" -eq 0 ]
	head=$(git -C "$WORK/dev" rev-parse --short=7 main)
	assert_output_is "fleetgate: main@$head: 2 devices managed: 2 OS updates in 2 deployments (2 created, 0 already there), 2 configurations deployed, 0 pending, 0 aborted"
	run sim_deployments
	assert_output_is "fleetgate:main@$head:$VAR $VAR pending d4a7c2e9:pending
fleetgate:main@$head:$PI4 $PI4 pending c8b1f4e2:pending"
	run "$FLEETGATE" apply --repo "$WORK/srv.git" --branch main
	[ "$status" -eq 0 ]
	echo "$output" | grep -qx "applied main@$head: 0 deployments created, 0 already there, 0 devices aborted, 0 configurations deployed, 0 digests recorded, 0 failed"
	# artifacts through v1, which every version has; no 404 but the v2
	# deployments list that tells a 3.7 server, once a run, and a device
	# Mender Configure has no record of (asked whether Configure is there)
	run sim_requests
	! echo "$output" | grep -q '^GET /api/management/v2/deployments/artifacts' || false
	! echo "$output" | grep -v '^GET /api/management/v2/deployments/deployments 404$' |
		grep -v '^GET /api/management/v1/deviceconfig/configurations/device/[0-9a-f-]* 404$' | grep -q ' 404$' || false
	output=$(echo "$output" | grep -v deviceconfig)
}

@test "Mender 3.7 (no v2 lists): the same rollout through the v1 lists" {
	rollout_on 3.7
	# one run is a post-receive, one an apply: each learns it once (the
	# pending and inprogress lists go out together)
	[ "$(echo "$output" | grep -c '^GET /api/management/v2/deployments/deployments 404$')" -eq 4 ]
	echo "$output" | grep -q '^GET /api/management/v1/deployments/deployments 200$'
}

@test "Mender 4.0 LTS (no v2 artifacts): the same rollout" {
	rollout_on 4.0
	! echo "$output" | grep -q ' 404$' || false
	! echo "$output" | grep -q '^GET /api/management/v1/deployments/deployments 200$' || false
}

@test "Mender 4.1: the same rollout" {
	rollout_on 4.1
	! echo "$output" | grep -q ' 404$' || false
}

@test "without Mender Configure: OS updates go on, configuration is said not managed, once" {
	start_sim "$WORK/seed.json" --configure off
	make_server
	run push main
	[ "$status" -eq 0 ]
	head=$(git -C "$WORK/dev" rev-parse --short=7 main)
	assert_output_is "fleetgate: main@$head: 2 devices managed: 2 OS updates in 2 deployments (2 created, 0 already there), 0 configurations deployed, 0 pending, 0 aborted
fleetgate: configuration is not managed: Mender Configure is not enabled on this server"
	run sim_deployments
	assert_output_is "fleetgate:main@$head:$VAR $VAR pending d4a7c2e9:pending
fleetgate:main@$head:$PI4 $PI4 pending c8b1f4e2:pending"
	run sim_requests
	! echo "$output" | grep -q '^PUT /api/management/v1/deviceconfig\|^POST /api/management/v1/deviceconfig' || false
	! echo "$output" | grep -q '/tags ' || false
	git -C "$WORK/dev" push -q origin main:canary 2>/dev/null
	run "$FLEETGATE" status --repo "$WORK/srv.git"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c 'Mender Configure')" -eq 1 ]
	[ "$(echo "$output" | tail -n1)" = "configuration is not managed: Mender Configure is not enabled on this server" ]
	[ "$(echo "$output" | awk -v id=$QUALI '$1 == id { print $6 }')" = not-managed ]
	run "$FLEETGATE" plan --repo "$WORK/srv.git" --branch main --format json
	[ "$(echo "$output" | jq -r ".devices[] | select(.id == \"$QUALI\") | .config.state")" = unmanaged ]
}

@test "a configuration deploy answered 200 with the all-zero id fails, records no digest, and is done again" {
	start_sim "$WORK/seed.json"
	make_server
	sim PUT /_sim/settings '{"config_deploy_zero_id": 1}' >/dev/null
	run push main
	head=$(git -C "$WORK/dev" rev-parse --short=7 main)
	echo "$output" | grep -qx "fleetgate: main@$head: deferred: 1 action failed; first: POST /api/management/v1/deviceconfig/configurations/device/[0-9a-f-]*/deploy: HTTP 200: the all-zero deployment_id: nothing was deployed"
	# the device whose deploy failed has no digest; the other has one
	run sim GET /_sim/state
	[ "$(echo "$output" | jq -r "[.devices[] | select(.id == \"$QUALI\" or .id == \"$PROTO\") | .tags.fleetgate_config // empty] | length")" = 1 ]
	run "$FLEETGATE" reconcile --repo "$WORK/srv.git"
	[ "$status" -eq 0 ]
	echo "$output" | grep -q "1 configuration deployed"
	run sim GET /_sim/state
	[ "$(echo "$output" | jq -r "[.devices[] | select(.id == \"$QUALI\" or .id == \"$PROTO\") | .tags.fleetgate_config // empty] | length")" = 2 ]
}

tag() { # device branch
	curl -sS -X PATCH -H "Authorization: Bearer $MENDER_ACCESS_TOKEN" -H 'Content-Type: application/json' \
		--data "[{\"name\": \"subscribed_branch\", \"value\": \"$2\"}]" \
		"$SIM/api/management/v1/inventory/devices/$1/tags"
}

# The zombie of Mender 4.1: a device tagged away from a deployment before
# it polled is aborted per device, which 4.1 does not count, so the
# deployment would stay active for ever; tagged back while the branch's
# tip is unchanged, the same deployment (same name) would meet 409 and
# count as there while the device's record in it is aborted.
zombie_on() { # version
	VAR_NEXT=2025-11-20-0800-var-som-mx8m-nano-symphony-bookworm-arm64
	jq --arg a "$VAR_NEXT" '.artifacts += [{"name": $a, "device_types_compatible": ["var-som-mx8m-nano"]}]' \
		"$WORK/seed.json" > "$WORK/seed2.json"
	start_sim "$WORK/seed2.json" --mender-version "$1"
	make_server
	push main >/dev/null
	push main:canary >/dev/null
	sed -i "s/var-som-mx8m-nano: $VAR/var-som-mx8m-nano: $VAR_NEXT/" "$WORK/dev/fleet.yaml"
	merge_to_main "Next var-som image"
	push main >/dev/null
	new=$(git -C "$WORK/dev" rev-parse --short=7 main)
	run sim_deployments
	echo "$output" | grep -qx "fleetgate:main@$new:$VAR_NEXT $VAR_NEXT pending d4a7c2e9:pending"
	tag $PROTO canary
	run "$FLEETGATE" apply --repo "$WORK/srv.git" --branch canary
	[ "$status" -eq 0 ]
	echo "$output" | grep -q "; 1 abort; 1 deployment no device needs to end$"
	echo "$output" | grep -qx "ended 1 deployment that no device needed any more"
	# the deployment PROTO left is over, not left active
	run sim_deployments
	echo "$output" | grep -qx "fleetgate:main@$new:$VAR_NEXT $VAR_NEXT finished d4a7c2e9:aborted"
	tag $PROTO main
	run "$FLEETGATE" apply --repo "$WORK/srv.git" --branch main
	[ "$status" -eq 0 ]
	# the device is reached again: an active deployment with its record pending
	run sim_deployments
	echo "$output" | grep -qx "fleetgate:main@$new:$VAR_NEXT $VAR_NEXT pending d4a7c2e9:pending"
	[ "$(echo "$output" | grep -c "^fleetgate:main@$new:$VAR_NEXT .* pending ")" -eq 1 ]
}
@test "Mender 4.1: a deployment no device needs is aborted whole, and a device tagged back is reached again" {
	zombie_on 4.1
}

@test "Mender 4.0: the same" {
	zombie_on 4.0
}

# A deployment left active with every device's record over (its end
# failed once) is ended by the first branch of a run over all of them; the
# branches after it read the deployments again and end it no second time.
@test "Mender 4.1: reconcile --all ends a leftover deployment once; the later branches see it over" {
	VAR_NEXT=2025-11-20-0800-var-som-mx8m-nano-symphony-bookworm-arm64
	jq --arg a "$VAR_NEXT" '.artifacts += [{"name": $a, "device_types_compatible": ["var-som-mx8m-nano"]}]' \
		"$WORK/seed.json" > "$WORK/seed2.json"
	start_sim "$WORK/seed2.json" --mender-version 4.1
	make_server
	push main >/dev/null
	push main:canary >/dev/null
	push main:production >/dev/null
	sed -i "s/var-som-mx8m-nano: $VAR/var-som-mx8m-nano: $VAR_NEXT/" "$WORK/dev/fleet.yaml"
	merge_to_main "Next var-som image"
	push main >/dev/null
	new=$(git -C "$WORK/dev" rev-parse --short=7 main)
	# PROTO leaves main before it polled; ending the deployment fails once
	tag $PROTO canary
	sim POST /_sim/faults '{"path_prefix": "/api/management/v1/deployments/deployments/", "method": "PUT", "status": 400, "count": 1}' >/dev/null
	run "$FLEETGATE" apply --repo "$WORK/srv.git" --branch canary
	[ "$status" -ne 0 ]
	run sim_deployments
	echo "$output" | grep -qx "fleetgate:main@$new:$VAR_NEXT $VAR_NEXT pending d4a7c2e9:aborted"
	sim DELETE /_sim/requests
	run "$FLEETGATE" reconcile --repo "$WORK/srv.git" --all
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c '^ended 1 deployment that no device needed any more$')" -eq 1 ]
	run sim_requests
	[ "$(echo "$output" | grep -c '^PUT /api/management/v1/deployments/deployments/[0-9a-f-]*/status ')" -eq 1 ]
	[ "$(echo "$output" | grep -c '^POST /api/management/v2/inventory/filters/search ')" -eq 1 ]
	run sim_deployments
	echo "$output" | grep -qx "fleetgate:main@$new:$VAR_NEXT $VAR_NEXT finished d4a7c2e9:aborted"
}

@test "a long branch and a long artifact make a deployment name of at most 256 bytes, found again by that name" {
	long=feature/$(printf 'b%.0s' $(seq 1 190))
	art=var-$(printf 'x%.0s' $(seq 1 240))
	jq --arg a "$art" '.artifacts += [{"name": $a, "device_types_compatible": ["var-som-mx8m-nano"]}]' \
		"$WORK/seed.json" > "$WORK/seed2.json"
	start_sim "$WORK/seed2.json"
	make_server
	push main >/dev/null
	git -C "$WORK/dev" checkout -q -b "$long"
	sed -i "s/var-som-mx8m-nano: $VAR/var-som-mx8m-nano: $art/" "$WORK/dev/fleet.yaml"
	git -C "$WORK/dev" commit -q -a -m "A long artifact"
	tag $PROTO "$long"
	run push "$long"
	[ "$status" -eq 0 ]
	head=$(git -C "$WORK/dev" rev-parse --short=7 HEAD)
	run sim GET /_sim/state
	name=$(echo "$output" | jq -r --arg a "$art" '.deployments[] | select(.artifact_name == $a) | .name')
	[ "$(echo "$name" | wc -l)" -eq 1 ]
	[ "${#name}" -le 256 ]
	[[ "$name" == "fleetgate:feature/bbbb"*"@$head:var-xxx"*"~"* ]]
	[[ "${name: -17}" =~ ^~[0-9a-f]{16}$ ]]
	# the same name again: the deployment is found, nothing new is made
	run "$FLEETGATE" apply --repo "$WORK/srv.git" --branch "$long"
	[ "$status" -eq 0 ]
	echo "$output" | grep -q "^applied .*: 0 deployments created, 0 already there"
	[ "$(sim GET /_sim/state | jq --arg a "$art" '[.deployments[] | select(.artifact_name == $a)] | length')" -eq 1 ]
}
