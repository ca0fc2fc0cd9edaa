#!/usr/bin/env bats
# The stand-in's device side, request by request, as a Mender client speaks
# it (signed with openssl, sent with curl): authentication and admission,
# the signature, tokens, inventory, next deployment, download links, status
# reports (409 once aborted, already-installed), and artifact uploads
# parsed from the .mender file. tests/devices drives the same with real
# clients; this file needs neither them nor root.

load helpers
load sim_helpers

setup() {
	setup_workspace
	export MENDER_ACCESS_TOKEN=device-api-token
	echo '{"devices": [], "artifacts": []}' >"$WORK/seed.json"
	openssl ecparam -genkey -name prime256v1 -noout -out "$WORK/key.pem" 2>/dev/null
	openssl ec -in "$WORK/key.pem" -pubout -out "$WORK/pub.pem" 2>/dev/null
}

teardown() {
	stop_sim
	teardown_workspace
}

mgmt() { # method path [json]
	if [ $# -ge 3 ]; then
		curl -sS -X "$1" -H "Authorization: Bearer $MENDER_ACCESS_TOKEN" \
			-H 'Content-Type: application/json' --data "$3" "$SIM$2"
	else
		curl -sS -X "$1" -H "Authorization: Bearer $MENDER_ACCESS_TOKEN" "$SIM$2"
	fi
}

# An auth request body for identity mac=$1 and key pub.pem.
auth_body() {
	jq -cn --arg id "{\"mac\":\"$1\"}" --rawfile pk "$WORK/pub.pem" \
		'{id_data: $id, pubkey: $pk, tenant_token: ""}' >"$WORK/auth.json"
}

# POST auth_requests with signature $1 (default: the real one); prints
# "status body".
auth() {
	local sig=${1:-$(openssl dgst -sha256 -sign "$WORK/key.pem" "$WORK/auth.json" | base64 -w0)}
	curl -sS -o "$WORK/auth.out" -w '%{http_code} %{content_type} ' -X POST \
		-H 'Content-Type: application/json' -H "X-MEN-Signature: $sig" \
		--data-binary "@$WORK/auth.json" "$SIM/api/devices/v1/authentication/auth_requests"
	cat "$WORK/auth.out"
}

dev() { # method path [json]: the device API with the device's token
	if [ $# -ge 3 ]; then
		curl -sS -w ' %{http_code}' -X "$1" -H "Authorization: Bearer $(cat "$WORK/token")" \
			-H 'Content-Type: application/json' --data "$3" "$SIM$2"
	else
		curl -sS -w ' %{http_code}' -X "$1" -H "Authorization: Bearer $(cat "$WORK/token")" "$SIM$2"
	fi
}

login_device() { # mac
	auth_body "$1"
	auth >/dev/null
	cp "$WORK/auth.out" "$WORK/token"
}

upload() { # file: "status body"
	curl -sS -w ' %{http_code}' -H "Authorization: Bearer $MENDER_ACCESS_TOKEN" \
		-F description=test -F "artifact=@$1" "$SIM/api/management/v1/deployments/artifacts"
}

artifact() { # name file
	head -c 3000 /dev/urandom >"$WORK/payload"
	mender-artifact write module-image -T fleetgate-test -n "$1" -t pi3 \
		-p "rootfs-image.version:$1" -f "$WORK/payload" -o "$2" >/dev/null
}

@test "a signed auth request is admitted at once by default; the token opens the device API" {
	start_sim "$WORK/seed.json"
	auth_body 02:00:00:00:00:01
	run auth
	[[ "$output" == "200 application/jwt eyJ"* ]]
	cp "$WORK/auth.out" "$WORK/token"
	run mgmt GET /api/management/v2/devauth/devices
	[ "$(echo "$output" | jq -r '.[0] | "\(.status) \(.identity_data.mac) \(.auth_sets[0].status)"')" = "accepted 02:00:00:00:00:01 accepted" ]
	[ "$(echo "$output" | jq -r '.[0].auth_sets[0].pubkey')" = "$(cat "$WORK/pub.pem")" ]
	id=$(echo "$output" | jq -r '.[0].id')
	run dev PUT /api/devices/v1/inventory/device/attributes \
		'[{"name": "device_type", "value": "pi3"}, {"name": "artifact_name", "value": "v1"}]'
	[ "$output" = " 200" ]
	[ "$(sim GET /_sim/state | jq -r '.devices[0] | "\(.id) \(.behaviour) \(.device_type) \(.inventory.artifact_name)"')" = "$id real pi3 v1" ]
	run dev PATCH /api/devices/v1/inventory/device/attributes '[{"name": "extra", "value": ["a", "b"]}]'
	[ "$(sim GET /_sim/state | jq -c '.devices[0].inventory')" = '{"device_type":"pi3","artifact_name":"v1","extra":["a","b"]}' ]
	run dev POST /api/devices/v1/deployments/device/deployments/next '{"device_type": "pi3", "artifact_name": "v1"}'
	[ "$output" = " 204" ]
	# the open-source server has no v2 next: the client falls back on 404
	run dev POST /api/devices/v2/deployments/device/deployments/next '{"device_provides": {}}'
	[[ "$output" == *" 404" ]]
	# a device's token is no user's
	run curl -sS -w ' %{http_code}' -H "Authorization: Bearer $(cat "$WORK/token")" "$SIM/api/management/v1/inventory/devices"
	[[ "$output" == *'"error":"unauthorized"'*" 401" ]]
	# no token, a made-up token: 401
	run curl -sS -w ' %{http_code}' -X POST "$SIM/api/devices/v1/deployments/device/deployments/next"
	[[ "$output" == *'"error":"missing authorization header"'*" 401" ]]
	run curl -sS -w ' %{http_code}' -H "Authorization: Bearer made.up.token" "$SIM/api/devices/v1/deployments/device/deployments/next?device_type=pi3&artifact_name=v1"
	[[ "$output" == *'"error":"unauthorized"'*" 401" ]]
}

@test "the signature is verified with the device's key: another key's, a missing one, a bad key" {
	start_sim "$WORK/seed.json"
	auth_body 02:00:00:00:00:02
	openssl ecparam -genkey -name prime256v1 -noout -out "$WORK/other.pem" 2>/dev/null
	run auth "$(openssl dgst -sha256 -sign "$WORK/other.pem" "$WORK/auth.json" | base64 -w0)"
	[[ "$output" == "401 application/json; charset=utf-8 "*'"error":"signature verification failed"'* ]]
	# the body is signed, not just the key: one byte changed
	sig=$(openssl dgst -sha256 -sign "$WORK/key.pem" "$WORK/auth.json" | base64 -w0)
	sed -i 's/tenant_token":""/tenant_token":"x"/' "$WORK/auth.json"
	run auth "$sig"
	[[ "$output" == "401 "*'"error":"signature verification failed"'* ]]
	run auth "not base64!"
	[[ "$output" == "401 "*'"error":"signature verification failed"'* ]]
	run curl -sS -w ' %{http_code}' -X POST --data-binary "@$WORK/auth.json" "$SIM/api/devices/v1/authentication/auth_requests"
	[[ "$output" == *'"error":"missing request signature header"'*" 400" ]]
	jq -cn '{id_data: "{\"mac\":\"x\"}", pubkey: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}' >"$WORK/auth.json"
	run auth
	[[ "$output" == "400 "*'"error":"invalid auth request: cannot decode public key"'* ]]
	jq -cn --rawfile pk "$WORK/pub.pem" '{pubkey: $pk}' >"$WORK/auth.json"
	run auth
	[[ "$output" == "400 "*'"error":"invalid auth request: id_data must be provided"'* ]]
	# an RSA key works as well (PKCS#1 v1.5 over SHA-256)
	openssl genrsa -out "$WORK/key.pem" 2048 2>/dev/null
	openssl rsa -in "$WORK/key.pem" -pubout -out "$WORK/pub.pem" 2>/dev/null
	auth_body 02:00:00:00:00:03
	run auth
	[[ "$output" == "200 application/jwt eyJ"* ]]
}

@test "--admission manual: pending until accepted through devauth, tokens gone when rejected" {
	start_sim "$WORK/seed.json" --admission manual
	auth_body 02:00:00:00:00:04
	run auth
	[[ "$output" == "401 "*'"error":"dev auth: unauthorized"'* ]]
	run mgmt GET "/api/management/v2/devauth/devices?status=pending"
	[ "$(echo "$output" | jq -r '.[0] | "\(.status) \(.auth_sets[0].status)"')" = "pending pending" ]
	id=$(echo "$output" | jq -r '.[0].id')
	aid=$(echo "$output" | jq -r '.[0].auth_sets[0].id')
	[ "$(sim GET /_sim/state | jq -r '.devices[0].status')" = "pending" ]
	run mgmt PUT "/api/management/v2/devauth/devices/$id/auth/$aid/status" '{"status": "accepted"}'
	[ -z "$output" ]
	[ "$(sim GET /_sim/state | jq -r '.devices[0].status')" = "accepted" ]
	run auth
	[[ "$output" == "200 application/jwt eyJ"* ]]
	cp "$WORK/auth.out" "$WORK/token"
	run dev GET "/api/devices/v1/deployments/device/deployments/next?device_type=pi3&artifact_name=v1"
	[ "$output" = " 204" ]
	# rejected: its token no longer works, and it cannot get another
	mgmt PUT "/api/management/v2/devauth/devices/$id/auth/$aid/status" '{"status": "rejected"}'
	run dev GET "/api/devices/v1/deployments/device/deployments/next?device_type=pi3&artifact_name=v1"
	[[ "$output" == *" 401" ]]
	run auth
	[[ "$output" == "401 "*'"error":"dev auth: unauthorized"'* ]]
	run mgmt PUT "/api/management/v2/devauth/devices/$id/auth/$aid/status" '{"status": "lost"}'
	[[ "$output" == *'"error":"incorrect device status"'* ]]
	run mgmt PUT "/api/management/v2/devauth/devices/$id/auth/nope/status" '{"status": "accepted"}'
	[[ "$output" == *'"error":"authorization set not found"'* ]]
}

@test "a deployment as a device lives it: link with Content-Length, status reports, 409 once aborted" {
	command -v mender-artifact >/dev/null || skip "mender-artifact is not installed"
	start_sim "$WORK/seed.json"
	login_device 02:00:00:00:00:05
	dev PUT /api/devices/v1/inventory/device/attributes \
		'[{"name": "device_type", "value": "pi3"}, {"name": "artifact_name", "value": "v1"}]' >/dev/null
	id=$(mgmt GET /api/management/v2/devauth/devices | jq -r '.[0].id')
	artifact v2 "$WORK/v2.mender"
	run upload "$WORK/v2.mender"
	[ "$output" = " 201" ]
	mgmt POST /api/management/v1/deployments/deployments "{\"name\": \"d\", \"artifact_name\": \"v2\", \"devices\": [\"$id\"]}"
	run dev POST /api/devices/v1/deployments/device/deployments/next '{"device_type": "pi3", "artifact_name": "v1"}'
	[[ "$output" == *" 200" ]]
	body=${output% 200}
	dep=$(echo "$body" | jq -r .id)
	[ "$(echo "$body" | jq -r '"\(.artifact.artifact_name) \(.artifact.device_types_compatible | join(","))"')" = "v2 pi3" ]
	uri=$(echo "$body" | jq -r .artifact.source.uri)
	[[ "$uri" == "$SIM/mender-artifact-storage/"* ]]
	# the file, whole, with its length
	curl -sS -D "$WORK/headers" -o "$WORK/got.mender" "$uri"
	cmp "$WORK/got.mender" "$WORK/v2.mender"
	grep -qix "content-length: $(stat -c %s "$WORK/v2.mender")"$'\r' "$WORK/headers"
	# a link with another signature, or none, is refused
	run curl -sS -w ' %{http_code}' "${uri%?????}aaaaa"
	[[ "$output" == *'"error":"signature invalid"'*" 403" ]]
	run curl -sS -w ' %{http_code}' "${uri%%\?*}"
	[[ "$output" == *" 400" ]]
	run dev PUT "/api/devices/v1/deployments/device/deployments/$dep/status" '{"status": "downloading"}'
	[ "$output" = " 204" ]
	[ "$(sim GET /_sim/state | jq -r '.deployments[0] | "\(.status) \(.devices[0].status)"')" = "inprogress downloading" ]
	run dev PUT "/api/devices/v1/deployments/device/deployments/$dep/status" '{"status": "aborted"}'
	[[ "$output" == *" 400" ]]
	run dev PUT "/api/devices/v1/deployments/device/deployments/$dep/log" \
		'{"messages": [{"timestamp": "2026-01-01T00:00:00Z", "level": "info", "message": "downloading"}]}'
	[ "$output" = " 204" ]
	run mgmt GET "/api/management/v1/deployments/deployments/$dep/devices/$id/log"
	[ "$output" = "2026-01-01T00:00:00Z info: downloading" ]
	# the operator aborts: the device's next report gets 409
	mgmt PUT "/api/management/v1/deployments/deployments/$dep/status" '{"status": "aborted"}'
	run dev PUT "/api/devices/v1/deployments/device/deployments/$dep/status" '{"status": "installing"}'
	[[ "$output" == *'"error":"The deployment was aborted"'*" 409" ]]
	run dev PUT "/api/devices/v1/deployments/device/deployments/00000000-0000-4000-8000-000000000000/status" '{"status": "success"}'
	[[ "$output" == *" 404" ]]
}

@test "a device that already runs the artifact gets 204 and the record says already-installed" {
	command -v mender-artifact >/dev/null || skip "mender-artifact is not installed"
	start_sim "$WORK/seed.json"
	login_device 02:00:00:00:00:06
	id=$(mgmt GET /api/management/v2/devauth/devices | jq -r '.[0].id')
	artifact v2 "$WORK/v2.mender"
	upload "$WORK/v2.mender" >/dev/null
	mgmt POST /api/management/v1/deployments/deployments "{\"name\": \"d\", \"artifact_name\": \"v2\", \"devices\": [\"$id\"]}"
	# the inventory says v1, the device says it runs v2: the request wins
	dev PUT /api/devices/v1/inventory/device/attributes '[{"name": "artifact_name", "value": "v1"}]' >/dev/null
	run dev GET "/api/devices/v1/deployments/device/deployments/next?device_type=pi3&artifact_name=v2"
	[ "$output" = " 204" ]
	[ "$(sim GET /_sim/state | jq -r '.deployments[0] | "\(.status) \(.devices[0].status)"')" = "finished already-installed" ]
	# a device type the artifact does not support: noartifact, 204
	mgmt POST /api/management/v1/deployments/deployments "{\"name\": \"e\", \"artifact_name\": \"v2\", \"devices\": [\"$id\"], \"force_installation\": true}"
	run dev GET "/api/devices/v1/deployments/device/deployments/next?device_type=pi9&artifact_name=v1"
	[ "$output" = " 204" ]
	[ "$(sim GET /_sim/state | jq -r '.deployments[] | select(.name == "e") | .devices[0].status')" = "noartifact" ]
	run dev GET "/api/devices/v1/deployments/device/deployments/next?device_type=pi3"
	[[ "$output" == *'"error":"artifact_name: cannot be blank."'*" 400" ]]
}

@test "uploads are .mender files, read and checked; a malformed one gets the server's 400" {
	command -v mender-artifact >/dev/null || skip "mender-artifact is not installed"
	start_sim "$WORK/seed.json"
	artifact v2 "$WORK/v2.mender"
	run upload "$WORK/v2.mender"
	[ "$output" = " 201" ]
	[ "$(sim GET /_sim/state | jq -c '.artifacts[0] | [.name, .device_types_compatible]')" = '["v2",["pi3"]]' ]
	run mgmt GET /api/management/v1/deployments/artifacts
	[ "$(echo "$output" | jq -r '.[0] | "\(.name) \(.description) \(.size)"')" = "v2 test $(stat -c %s "$WORK/v2.mender")" ]
	run upload "$WORK/v2.mender"
	[[ "$output" == *'"error":"Artifact not unique"'*" 422" ]]
	echo "not a tar at all" >"$WORK/junk"
	run upload "$WORK/junk"
	[[ "$output" == *'"error":"reader: '*" 400" ]]
	# one byte of the payload changed: the manifest's checksum catches it
	mkdir "$WORK/x" && tar -C "$WORK/x" -xf "$WORK/v2.mender"
	mender-artifact write module-image -T fleetgate-test -n v3 -t pi3 -f "$WORK/payload" -o "$WORK/v3.mender" >/dev/null
	mkdir "$WORK/y" && tar -C "$WORK/y" -xf "$WORK/v3.mender"
	cp "$WORK/x/header.tar.gz" "$WORK/y/header.tar.gz"
	tar -C "$WORK/y" -cf "$WORK/mixed.mender" version manifest header.tar.gz data/0000.tar.gz
	run upload "$WORK/mixed.mender"
	[[ "$output" == *"\"error\":\"invalid checksum: 'header.tar.gz' does not match the manifest\""*" 400" ]]
	tar -C "$WORK/y" -cf "$WORK/noversion.mender" manifest header.tar.gz
	run upload "$WORK/noversion.mender"
	[[ "$output" == *"\"error\":\"reader: the first member must be 'version'\""*" 400" ]]
	run curl -sS -w ' %{http_code}' -H "Authorization: Bearer $MENDER_ACCESS_TOKEN" -F description=x "$SIM/api/management/v1/deployments/artifacts"
	[[ "$output" == *'"error":"request does not contain the artifact file"'*" 400" ]]
	# deleted: gone from lists; in use by an active deployment: 409
	aid=$(sim GET /_sim/state | jq -r '.artifacts[0].id')
	mgmt POST /api/management/v1/deployments/deployments '{"name": "d", "artifact_name": "v2", "devices": ["someone"]}'
	run mgmt DELETE "/api/management/v1/deployments/artifacts/$aid"
	[[ "$output" == *'"error":"Artifact is used in active deployment"'* ]]
	mgmt PUT "/api/management/v1/deployments/deployments/$(sim GET /_sim/state | jq -r '.deployments[0].id')/status" '{"status": "aborted"}'
	run mgmt DELETE "/api/management/v1/deployments/artifacts/$aid"
	[ -z "$output" ]
	[ "$(sim GET /_sim/state | jq '.artifacts | length')" -eq 0 ]
	run curl -sS -w ' %{http_code}' -X DELETE -H "Authorization: Bearer $MENDER_ACCESS_TOKEN" "$SIM/api/management/v1/deployments/artifacts/$aid"
	[[ "$output" == *" 404" ]]
}
