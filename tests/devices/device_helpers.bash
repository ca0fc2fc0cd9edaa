# Real Mender clients against the stand-in: one `mender daemon` per device,
# each in its own folder under the test's $WORK, each in a private mount
# namespace. The client's paths below are compiled in (client 3.4.0
# conf/paths.go, device/identity_data.go, inventory/inventory_data.go):
#   /usr/share/mender/identity/mender-device-identity   identity script
#   /usr/share/mender/inventory/mender-inventory-*      inventory scripts
#   /usr/share/mender/modules/v3/<type>                 update modules
#   /etc/mender/artifact_info                           read by every module
#                                                       install (installer/
#                                                       modules.go: the group)
# So each daemon runs as root under `unshare -m` with tests/devices/share
# bound over /usr/share/mender and its own etc/ over /etc/mender: nothing
# outside $WORK is written, /var/lib/mender, /etc/mender and /data are never
# touched, and the host's Mender files stay as they are.
#
# Per device, in $WORK/devices/NAME/:
#   mender.conf       ServerURL, DBus off, poll intervals of 1 s
#   mender-agent.pem  a pre-generated EC P-256 key (RSA takes seconds)
#   device_type       device_type=TYPE
#   etc/artifact_info artifact_name=INITIAL (until the first install)
#   version           what the test update module installed last
#   fail              while present, the module's install fails
#   log, pid          the daemon's output and process id
# Its environment gives the shared scripts their values:
# FLEETGATE_DEVICE_MAC (identity), FLEETGATE_DEVICE_INVENTORY (key=value
# lines), FLEETGATE_DEVICE_DIR.

DEVICE_TYPE=fleetgate-test-device

# Why real devices cannot run here, or nothing when they can.
devices_unavailable() {
	local p
	for p in mender mender-artifact mender-cli unshare openssl; do
		command -v "$p" >/dev/null || {
			echo "$p is not installed (scripts/ensure-deps check installs mender-client, mender-artifact and mender-cli)"
			return
		}
	done
	if [ "$(id -u)" -ne 0 ]; then
		echo "needs root: each Mender daemon runs in a private mount namespace (unshare -m) over /usr/share/mender and /etc/mender"
		return
	fi
	unshare -m --propagation private true 2>/dev/null ||
		echo "unshare -m is not permitted here (a container without CAP_SYS_ADMIN)"
}

# Make a device's folder. name mac [inventory lines]
make_device() {
	local d=$WORK/devices/$1
	mkdir -p "$d/etc"
	openssl ecparam -genkey -name prime256v1 -noout -out "$d/mender-agent.pem" 2>/dev/null
	chmod 600 "$d/mender-agent.pem"
	echo "device_type=$DEVICE_TYPE" >"$d/device_type"
	echo "artifact_name=${INITIAL_ARTIFACT:-initial}" >"$d/etc/artifact_info"
	cat >"$d/mender.conf" <<-EOF
		{"ServerURL": "$SIM", "DBus": {"Enabled": false},
		 "UpdatePollIntervalSeconds": 1, "InventoryPollIntervalSeconds": 1,
		 "RetryPollIntervalSeconds": 1, "ModuleTimeoutSeconds": 30}
	EOF
	echo "$2" >"$d/mac"
	printf '%s' "${3:-}" >"$d/inventory"
}

start_device() { # name
	local d=$WORK/devices/$1
	FLEETGATE_DEVICE_MAC=$(cat "$d/mac") FLEETGATE_DEVICE_DIR=$d \
		FLEETGATE_DEVICE_INVENTORY=$(cat "$d/inventory") \
		unshare -m --propagation private sh -c '
			mount --bind "$1" /usr/share/mender && mount --bind "$2/etc" /etc/mender &&
			exec mender --no-syslog -c "$2/mender.conf" -b /nonexistent -d "$2" daemon' \
		sh "$FG_TOP/tests/devices/share" "$d" >"$d/log" 2>&1 &
	echo $! >"$d/pid"
}

# Stop every daemon this test started, by its pid.
stop_devices() {
	local p
	for p in "$WORK"/devices/*/pid; do
		[ -f "$p" ] || continue
		kill "$(cat "$p")" 2>/dev/null || true
	done
	for p in "$WORK"/devices/*/pid; do
		[ -f "$p" ] || continue
		while kill -0 "$(cat "$p")" 2>/dev/null; do sleep 0.05; done
		rm -f "$p"
	done
}

# Wait until a command succeeds, at most `seconds`. seconds command...
wait_until() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.2
	done
}

mgmt() { # method path [json]: the management API, with the test's token
	if [ $# -ge 3 ]; then
		curl -sS -X "$1" -H "Authorization: Bearer $MENDER_ACCESS_TOKEN" \
			-H 'Content-Type: application/json' --data "$3" "$SIM$2"
	else
		curl -sS -X "$1" -H "Authorization: Bearer $MENDER_ACCESS_TOKEN" "$SIM$2"
	fi
}

# The Mender id of the device whose identity is `mac`, from devauth.
device_id() { # name
	mgmt GET "/api/management/v2/devauth/devices?per_page=500" |
		jq -r --arg mac "$(cat "$WORK/devices/$1/mac")" '.[] | select(.identity_data.mac == $mac) | .id'
}

# "name version inventory-artifact_name" of every device, sorted by name.
device_versions() {
	local d name id
	for d in "$WORK"/devices/*/; do
		name=$(basename "$d")
		id=$(cat "$d/id" 2>/dev/null)
		printf '%s %s %s\n' "$name" "$(cat "$d/version" 2>/dev/null || echo -)" \
			"$(sim GET /_sim/state | jq -r --arg id "$id" '.devices[] | select(.id == $id) | .inventory.artifact_name')"
	done
}

# True when every named device's module installed `artifact` and its
# inventory says so (the client reports after installing).
devices_run() { # artifact name...
	local a=$1 n id
	shift
	for n in "$@"; do
		[ "$(cat "$WORK/devices/$n/version" 2>/dev/null)" = "$a" ] || return 1
		id=$(cat "$WORK/devices/$n/id")
		[ "$(sim GET /_sim/state | jq -r --arg id "$id" '.devices[] | select(.id == $id) | .inventory["rootfs-image.version"]')" = "$a" ] || return 1
	done
}

# An artifact of the test module: name file
build_artifact() {
	head -c 2048 /dev/urandom >"$WORK/payload"
	mender-artifact write module-image -T fleetgate-test -n "$1" -t "$DEVICE_TYPE" \
		-p "rootfs-image.version:$1" -f "$WORK/payload" -o "$2" >/dev/null
}

# mender-cli against the stand-in (its token cached under the test's HOME).
mcli() {
	mender-cli --server "$SIM" "$@" 2>&1 | grep -v '^Configuration file not found'
}

# "name status status=count ..." of every software deployment, sorted.
deployment_summary() {
	sim GET /_sim/state | jq -r '.deployments[] | select(.type == "software") |
		"\(.name) \(.status) \([.devices | group_by(.status)[] | "\(.[0].status)=\(length)"] | join(" "))"' | sort
}
