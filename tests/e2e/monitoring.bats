#!/usr/bin/env bats
# What monitoring sees (docs/monitoring.md): status --format openmetrics
# against the stand-in, read by real parsers (promtool, python3's
# prometheus_client); --output written atomically; the dead-man signal; the
# alert rules of contrib/prometheus under promtool; the commit-status
# examples of contrib/notify against a listener that records requests.

bats_require_minimum_version 1.5.0

load helpers
load sim_helpers

PY=/usr/bin/python3

setup() {
	setup_workspace
	export MENDER_ACCESS_TOKEN=test-token-not-secret
	export FLEETGATE_SECRET_RUNNER_ACCESS_TOKEN=ghr-s3cr3t-runner-token
	LISTENER_PID=
}

teardown() {
	stop_sim
	stop_listener
	teardown_workspace
}

need_promtool() {
	command -v promtool >/dev/null ||
		skip "promtool is not installed (Debian's prometheus package; scripts/ensure-deps check installs it)"
}

need_parser() {
	"$PY" -c 'import prometheus_client.openmetrics.parser' 2>/dev/null ||
		skip "python3's prometheus_client is not installed (python3-prometheus-client; scripts/ensure-deps check installs it)"
}

start_fleet() {
	cp "$FG_TOP/fleet-example/mender-seed.json" "$WORK/seed.json"
	start_sim "$WORK/seed.json"
	make_server
}

push() { # refspec...
	git -C "$WORK/dev" push origin "$@" 2>&1 | remote_lines
}

# The samples python's parser reads, timestamps (the values of the
# *_timestamp_seconds and the age samples) checked to lie in [from, to] and
# shown as T.
samples() { # format from to < text
	"$PY" "$FG_TOP/tests/e2e/om_samples.py" "$1" | awk -v from="$2" -v to="$3" '
		/^  .*(_timestamp_seconds|_age_seconds)/ {
			v = $NF
			if ($0 ~ /_timestamp_seconds/ && (v < from || v > to)) { print "OUT OF RANGE: " $0; next }
			sub(/ [^ ]*$/, " T")
		}
		{ print }'
}

@test "status --format openmetrics: devices per branch and state, the spool, the last runs; promtool and the OpenMetrics parser read it" {
	need_promtool
	need_parser
	start_fleet
	t0=$(date +%s)
	push main >/dev/null
	push main:canary >/dev/null
	push main:production >/dev/null
	sim POST /_sim/step >/dev/null
	run "$FLEETGATE" reconcile --repo "$WORK/srv.git"
	assert_output_is "nothing to reconcile: the spool is empty"
	run --separate-stderr "$FLEETGATE" status --repo "$WORK/srv.git" --format openmetrics
	assert_status 0
	[ -z "$stderr" ]
	printf '%s\n' "$output" >"$WORK/metrics.txt"
	t1=$(date +%s)
	run samples openmetrics "$t0" "$t1" <"$WORK/metrics.txt"
	assert_output_is 'fleetgate_devices gauge -
  fleetgate_devices{branch="canary",state="success"} 1
  fleetgate_devices{branch="main",state="success"} 2
  fleetgate_devices{branch="production",state="success"} 2
  fleetgate_devices{branch="production",state="in-sync"} 1
  fleetgate_devices{branch="production",state="failure"} 1
fleetgate_status_complete gauge -
  fleetgate_status_complete 1
fleetgate_spool_jobs gauge -
  fleetgate_spool_jobs{state="waiting"} 0
  fleetgate_spool_jobs{state="parked"} 0
fleetgate_spool_oldest_job_timestamp_seconds gauge seconds
fleetgate_scheduler_last_success_timestamp_seconds gauge seconds
  fleetgate_scheduler_last_success_timestamp_seconds{run="reconcile"} T
  fleetgate_scheduler_last_success_timestamp_seconds{run="post-receive"} T
fleetgate_stage_verdict gauge -
fleetgate_stage_evidence_timestamp_seconds gauge seconds
fleetgate_stage_evidence_age_seconds gauge seconds
fleetgate_status_timestamp_seconds gauge seconds
  fleetgate_status_timestamp_seconds T'
	# what status shows in text: the same states
	run "$FLEETGATE" status --repo "$WORK/srv.git" --branch production
	[ "$(echo "$output" | awk '$7 == "failure"' | wc -l)" -eq 1 ]
	# promtool parses and lints it: nothing to say
	run promtool check metrics <"$WORK/metrics.txt"
	assert_status 0
	assert_output_is ""
	# the 0.0.4 format: no # UNIT, no # EOF, the same samples
	run --separate-stderr "$FLEETGATE" status --repo "$WORK/srv.git" --format prometheus
	assert_status 0
	printf '%s\n' "$output" >"$WORK/metrics.prom"
	! grep -q '^# UNIT\|^# EOF' "$WORK/metrics.prom" || false
	run promtool check metrics <"$WORK/metrics.prom"
	assert_status 0
	assert_output_is ""
	diff <(samples prometheus "$t0" "$(date +%s)" <"$WORK/metrics.prom" | grep '^  ') \
		<(samples openmetrics "$t0" "$t1" <"$WORK/metrics.txt" | grep '^  ')
	# only status speaks these formats
	run "$FLEETGATE" plan --repo "$WORK/srv.git" --branch main --format openmetrics
	assert_status 2
	assert_output_is "fleetgate plan: --format must be text or json, not 'openmetrics'"
	run "$FLEETGATE" reconcile --repo "$WORK/srv.git" --output x
	assert_status 2
	assert_output_is "fleetgate reconcile: unknown option '--output' (see --help)"
}

@test "status --output writes the file whole, by rename, for node_exporter's textfile collector" {
	need_parser
	start_fleet
	push main >/dev/null
	mkdir "$WORK/textfile"
	prom=$WORK/textfile/fleetgate.prom
	run --separate-stderr "$FLEETGATE" status --repo "$WORK/srv.git" --format openmetrics --output "$prom"
	assert_status 0
	assert_output_is ""
	[ -z "$stderr" ]
	[ "$(stat -c %a "$prom")" = 644 ]
	[ "$(ls -A "$WORK/textfile")" = fleetgate.prom ]
	"$PY" "$FG_TOP/tests/e2e/om_samples.py" openmetrics <"$prom" | grep -qx '  fleetgate_devices{branch="main",state="pending"} 2'
	# a second run replaces the file (a new inode): a reader never sees half of one
	cp "$prom" "$WORK/before.prom"
	inode=$(stat -c %i "$prom")
	sleep 1
	run "$FLEETGATE" status --repo "$WORK/srv.git" --format openmetrics --output "$prom"
	assert_status 0
	[ "$(stat -c %i "$prom")" != "$inode" ]
	! cmp -s "$prom" "$WORK/before.prom" || false # its timestamp moved
	# a write that fails leaves the last file as it was, and says why
	cp "$prom" "$WORK/before.prom"
	mkdir "$prom.fleetgate-tmp"
	run --separate-stderr "$FLEETGATE" status --repo "$WORK/srv.git" --format openmetrics --output "$prom"
	assert_status 2
	assert_output_is ""
	[ "$stderr" = "fleetgate status: writing --output: $prom.fleetgate-tmp: Is a directory" ]
	cmp "$prom" "$WORK/before.prom"
	rmdir "$prom.fleetgate-tmp"
	# the text and JSON reports go to --output the same way
	run "$FLEETGATE" status --repo "$WORK/srv.git" --format json --output "$WORK/status.json"
	assert_status 0
	assert_output_is ""
	[ "$(jq -r '.branches[0].branch' "$WORK/status.json")" = main ]
}

@test "Mender down: the metrics are still written and say so; the dead-man signal stops advancing" {
	need_parser
	start_fleet
	t0=$(date +%s)
	push main >/dev/null
	run "$FLEETGATE" reconcile --repo "$WORK/srv.git"
	assert_status 0
	reconciled=$(cat "$WORK/srv.git/fleetgate/spool/.last-success-reconcile")
	received=$(cat "$WORK/srv.git/fleetgate/spool/.last-success-post-receive")
	[ "$reconciled" -ge "$t0" ] && [ "$received" -ge "$t0" ]
	stop_sim
	sleep 1
	echo "# a note" >>"$WORK/dev/fleet.yaml"
	merge_to_main "A note"
	t1=$(date +%s)
	run push main
	echo "$output" | grep -q "deferred: reading the inventory"
	run "$FLEETGATE" reconcile --repo "$WORK/srv.git"
	assert_status 1
	# neither run advanced its time
	[ "$(cat "$WORK/srv.git/fleetgate/spool/.last-success-reconcile")" = "$reconciled" ]
	[ "$(cat "$WORK/srv.git/fleetgate/spool/.last-success-post-receive")" = "$received" ]
	run --separate-stderr "$FLEETGATE" status --repo "$WORK/srv.git" --format openmetrics
	assert_status 2
	[[ "$stderr" =~ ^"fleetgate status: main: reading the inventory: POST http://127.0.0.1:$SIM_PORT/api/management/v2/inventory/filters/search: Failed to connect to 127.0.0.1 port $SIM_PORT after "[0-9]+" ms: Couldn't connect to server"$ ]]
	printf '%s\n' "$output" >"$WORK/metrics.txt"
	run samples openmetrics "$t0" "$(date +%s)" <"$WORK/metrics.txt"
	echo "$output" | grep -v "OUT OF RANGE"
	echo "$output" | grep -qx '  fleetgate_status_complete 0'
	echo "$output" | grep -qx '  fleetgate_spool_jobs{state="waiting"} 1'
	! echo "$output" | grep -q '^  fleetgate_devices' || false
	# the waiting job's time, and the last runs' as recorded before
	grep -qx "fleetgate_spool_oldest_job_timestamp_seconds \($t1\|$((t1 + 1))\|$((t1 + 2))\)" "$WORK/metrics.txt"
	grep -qx "fleetgate_scheduler_last_success_timestamp_seconds{run=\"reconcile\"} $reconciled" "$WORK/metrics.txt"
	grep -qx "fleetgate_scheduler_last_success_timestamp_seconds{run=\"post-receive\"} $received" "$WORK/metrics.txt"
}

@test "contrib/prometheus: promtool checks the alert rules and their unit tests pass" {
	need_promtool
	run promtool check rules "$FG_TOP/contrib/prometheus/fleetgate-rules.yml"
	assert_status 0
	assert_output_is "Checking $FG_TOP/contrib/prometheus/fleetgate-rules.yml
  SUCCESS: 7 rules found"
	cp "$FG_TOP"/contrib/prometheus/fleetgate-rules*.yml "$WORK/"
	cd "$WORK"
	run promtool test rules fleetgate-rules.test.yml
	assert_status 0
	assert_output_is "Unit Testing:  fleetgate-rules.test.yml
  SUCCESS"
}

# ---- contrib/notify ----

start_listener() { # [status]
	: >"$WORK/requests"
	: >"$WORK/listener.out"
	"$PY" "$FG_TOP/tests/e2e/listener.py" "$WORK/requests" "${1:-201}" >"$WORK/listener.out" 2>&1 &
	LISTENER_PID=$!
	local i
	for i in $(seq 1 100); do
		LISTENER_PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/listener.out")
		[ -n "$LISTENER_PORT" ] && break
		sleep 0.05
	done
	[ -n "$LISTENER_PORT" ] || { cat "$WORK/listener.out" >&2; return 1; }
	LISTENER=http://127.0.0.1:$LISTENER_PORT
}

stop_listener() {
	if [ -n "${LISTENER_PID:-}" ]; then
		kill "$LISTENER_PID" 2>/dev/null || true
		wait "$LISTENER_PID" 2>/dev/null || true
		LISTENER_PID=
	fi
}

# A curl in front of the real one that records its arguments: a token must
# never be among them (ps shows every process's command line).
wrap_curl() {
	mkdir -p "$WORK/bin"
	real=$(command -v curl)
	printf '#!/bin/sh\nprintf "%%s\\n" "$*" >>"%s/curl-args"\nexec %s "$@"\n' "$WORK" "$real" >"$WORK/bin/curl"
	chmod 755 "$WORK/bin/curl"
	export PATH="$WORK/bin:$PATH"
}

SHA=1111111111111111111111111111111111111111
TREE=4b825dc642cb6eb9a060e54bf8d69288fbee4904

event() { # event verdict [reason]
	jq -cn --arg e "$1" --arg v "$2" --arg r "${3:-}" --arg sha "$SHA" --arg tree "$TREE" '
		{event: $e, stage: "canary", tree: $tree, commit: $sha, verdict: $v, previous: "pending",
		 counts: {success: 2, failure: 1},
		 failing: [{device: "0b6c4f1e-7a2d-4e9b-b8c3-1f5a7d2e9c40", state: "failure"}],
		 reason: (if $r == "" then null else $r end), time: "2026-12-02T10:30:00Z"}'
}

# Run a contrib/notify example with an event on its stdin.
notify_with() { # script event verdict [reason]
	event "$2" "$3" "${4:-}" | "$FG_TOP/contrib/notify/$1"
}

# The one request the listener recorded: method, path, the headers but
# those curl sets by itself, and the body as JSON.
request() {
	[ "$(wc -l <"$WORK/requests")" -eq 1 ]
	jq -cS '{method, path, headers: (.headers | del(.host, ."user-agent")), body: (.body | fromjson)}' "$WORK/requests"
}

@test "contrib/notify/gitlab-commit-status posts the commit status GitLab's API takes, the token only in its header" {
	need_parser # python3 runs the listener
	start_listener
	wrap_curl
	export FLEETGATE_GITLAB_URL=$LISTENER FLEETGATE_GITLAB_PROJECT=fleet-group/fleet
	export GITLAB_TOKEN=glpat-Abc123_notify-token
	run notify_with gitlab-commit-status failed failed '1 of 3 devices failed'
	assert_status 0
	assert_output_is '{"id": 1}'
	body='{"description":"canary: failed: 1 of 3 devices failed","name":"fleetgate/canary","state":"failed"}'
	run request
	assert_output_is "{\"body\":$body,\"headers\":{\"accept\":\"*/*\",\"content-length\":\"$(printf %s "$body" | wc -c)\",\"content-type\":\"application/json\",\"private-token\":\"glpat-Abc123_notify-token\"},\"method\":\"POST\",\"path\":\"/api/v4/projects/fleet-group%2Ffleet/statuses/$SHA\"}"
	! grep -q "glpat" "$WORK/curl-args" || false
	# each verdict its state; an override says so; a link when configured
	: >"$WORK/requests"
	export FLEETGATE_STATUS_URL=https://grafana.example/d/fleet
	notify_with gitlab-commit-status verified verified >/dev/null
	notify_with gitlab-commit-status pending pending >/dev/null
	notify_with gitlab-commit-status override failed 'hotfix, by ops-lead' >/dev/null
	run jq -c '.body | fromjson | [.state, .description, .target_url]' "$WORK/requests"
	assert_output_is '["success","canary: verified","https://grafana.example/d/fleet"]
["pending","canary: pending","https://grafana.example/d/fleet"]
["failed","canary: failed (overridden): hotfix, by ops-lead","https://grafana.example/d/fleet"]'
}

@test "contrib/notify/github-commit-status posts the commit status GitHub's and Gitea's API takes; a refusal fails it without the token" {
	need_parser
	start_listener
	wrap_curl
	export FLEETGATE_STATUS_API=$LISTENER/api/v1 FLEETGATE_STATUS_REPO=fleet-org/fleet
	echo ghp_FileToken123 >"$WORK/token"
	chmod 600 "$WORK/token"
	export GITHUB_TOKEN_FILE=$WORK/token
	long=$(printf 'x%.0s' $(seq 1 200))
	run notify_with github-commit-status failed failed "$long"
	assert_status 0
	assert_output_is '{"id": 1}'
	desc="canary: failed: ${long:0:124}"
	[ "${#desc}" -eq 140 ]
	body="{\"context\":\"fleetgate/canary\",\"description\":\"$desc\",\"state\":\"failure\"}"
	run request
	assert_output_is "{\"body\":$body,\"headers\":{\"accept\":\"application/vnd.github+json\",\"authorization\":\"Bearer ghp_FileToken123\",\"content-length\":\"$(printf %s "$body" | wc -c)\",\"content-type\":\"application/json\",\"x-github-api-version\":\"2022-11-28\"},\"method\":\"POST\",\"path\":\"/api/v1/repos/fleet-org/fleet/statuses/$SHA\"}"
	! grep -q "ghp_" "$WORK/curl-args" || false
	# the forge refuses: a failure (notify_run logs it), the token in no output
	stop_listener
	start_listener 401
	export FLEETGATE_STATUS_API=$LISTENER/api/v1
	run notify_with github-commit-status verified verified
	assert_status 22
	[[ "$output" == *"curl: (22) The requested URL returned error: 401"* ]]
	[[ "$output" == *'{"message": "refused"}'* ]]
	[[ "$output" != *ghp_* ]]
	# an event without a commit, or with an unknown verdict: nothing is sent
	: >"$WORK/requests"
	run bash -c "echo '{\"event\":\"pending\",\"stage\":\"canary\",\"commit\":null,\"verdict\":\"pending\"}' | '$FG_TOP/contrib/notify/github-commit-status'"
	assert_status 2
	assert_output_is "github-commit-status: the event names no commit"
	run notify_with github-commit-status odd odd
	assert_status 2
	[[ "$output" == *"github-commit-status: the event is not one fleetgate writes" ]]
	[ ! -s "$WORK/requests" ]
}
