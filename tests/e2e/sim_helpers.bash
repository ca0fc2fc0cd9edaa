# Helpers for end-to-end tests against the Mender stand-in (build/mender-sim):
# start it on a free loopback port, drive its /_sim/ control endpoints, and
# a git server repository with fleetgate's hooks pointed at it.

# MENDER_SIM_VERSION (3.7, 4.0, 4.1; unset: the stand-in's default, the
# newest) is the Mender version the stand-in plays (tests/run-all runs the
# scheduling suites once per version).
start_sim() { # seed.json [extra args]
	local seed=$1
	shift
	: "${MENDER_SIM:?}"
	if [ -n "${MENDER_SIM_VERSION:-}" ]; then
		set -- --mender-version "$MENDER_SIM_VERSION" "$@"
	fi
	# The files exist before the loop reads them: the background child
	# makes its redirections only when it runs.
	: > "$WORK/sim.out"
	: > "$WORK/sim.err"
	"$MENDER_SIM" --listen 127.0.0.1:0 --seed "$seed" "$@" >"$WORK/sim.out" 2>"$WORK/sim.err" &
	SIM_PID=$!
	local i
	for i in $(seq 1 100); do
		SIM_PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/sim.out")
		[ -n "$SIM_PORT" ] && break
		sleep 0.05
	done
	[ -n "$SIM_PORT" ] || { cat "$WORK/sim.err" >&2; return 1; }
	SIM="http://127.0.0.1:$SIM_PORT"
	export SIM SIM_PORT SIM_PID
}

stop_sim() {
	if [ -n "${SIM_PID:-}" ]; then
		kill "$SIM_PID" 2>/dev/null || true
		wait "$SIM_PID" 2>/dev/null || true
		SIM_PID=
	fi
}

sim() { # method path [json body]
	if [ $# -ge 3 ]; then
		curl -sS -X "$1" -H 'Content-Type: application/json' --data "$3" "$SIM$2"
	else
		curl -sS -X "$1" "$SIM$2"
	fi
}

# Deployments in the stand-in: "name artifact type status device:status,..." lines, sorted.
sim_deployments() {
	sim GET /_sim/state | jq -r '.deployments[] | select(.type == "software") |
		"\(.name) \(.artifact_name) \(.status) \([.devices[] | "\(.id[0:8]):\(.status)"] | join(","))"' | sort
}

# Requests the stand-in served: "METHOD path status", query left out.
sim_requests() {
	sim GET /_sim/requests | jq -r '.[] | select(.path | startswith("/_sim") | not) | "\(.method) \(.path) \(.status)"'
}

# A bare server repository with fleetgate's hooks, pointed at the stand-in,
# and a clone holding the example fleet (not pushed yet), whose mender.server
# is the stand-in too.
make_server() {
	git init -q --bare "$WORK/srv.git"
	"$FLEETGATE" install --repo "$WORK/srv.git" >/dev/null
	git -C "$WORK/srv.git" config fleetgate.menderServer "$SIM"
	git -C "$WORK/srv.git" config fleetgate.applyTimeout 20
	git clone -q "$WORK/srv.git" "$WORK/dev" 2>/dev/null
	cp -R "$FG_TOP/fleet-example/." "$WORK/dev/"
	rm -f "$WORK/dev/mender-seed.json"
	# the fleet names the server it is run with (else each run warns)
	sed -i "s|^  server: https://hosted.mender.io$|  server: $SIM|" "$WORK/dev/fleet.yaml"
	git -C "$WORK/dev" add -A
	git -C "$WORK/dev" commit -q -m "The example fleet"
}

# The remote: lines of a push, trailing blanks and the prefix removed.
remote_lines() {
	sed -n 's/^remote: //p' | sed 's/[[:space:]]*$//'
}

# Merge the current branch's work into main through a feature branch.
merge_to_main() { # message
	git -C "$WORK/dev" checkout -q -b "feature-$$-$RANDOM"
	git -C "$WORK/dev" commit -q -a -m "$1"
	local feature
	feature=$(git -C "$WORK/dev" rev-parse --abbrev-ref HEAD)
	git -C "$WORK/dev" checkout -q main
	git -C "$WORK/dev" merge -q --no-ff "$feature" -m "Merge $feature"
}
