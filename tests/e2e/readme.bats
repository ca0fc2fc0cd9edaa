#!/usr/bin/env bats
# The README's commands and snippets work as written: each one that can run
# here is taken from README.md itself and run (paths and the Mender server
# swapped for this test's own).

load helpers
load sim_helpers

setup() { setup_workspace; }
teardown() { stop_sim; teardown_workspace; }

# The fenced block that follows the first line matching `marker`.
readme_block() { # marker
	awk -v m="$1" '
		!found && index($0, m) { found = 1; next }
		found && !open && /^```/ { open = 1; next }
		open && /^```/ { exit }
		open { print }' "$FG_TOP/README.md"
}

@test "README: the GitLab CI job is the one docs/gate.md gives, which gate.bats runs" {
	block=$(readme_block "A GitLab CI job")
	[ -n "$block" ]
	grep -qF "fleetgate gate --junit gate.xml --codequality gate-cq.json" <<<"$block"
	python3 - "$FG_TOP/docs/gate.md" <<PY
import sys
block = '''$block'''
assert block in open(sys.argv[1]).read(), "README's GitLab job differs from docs/gate.md's"
PY
}

@test "README: the pre-commit hook's entry refuses a typo and passes the fix" {
	block=$(readme_block "a local hook:")
	entry=$(sed -n 's/^ *entry: //p' <<<"$block")
	[ "$entry" = "sh -c 'fleetgate validate --quiet && fleetgate validate --staged --quiet'" ]
	make_fleet_clone fleet
	cd fleet
	mkdir -p "$WORK/bin"
	ln -s "$FLEETGATE" "$WORK/bin/fleetgate"
	sed -i 's/^subscribed_branch:/subscribed_brnach:/' devices/a3e9d7c1-4b2f-4f6a-9e8d-7c1b5a3f2e90.yaml
	git add -A
	PATH="$WORK/bin:$PATH" run bash -c "$entry"
	[ "$status" -eq 1 ]
	echo "$output" | grep -q "\[unknown-key\]"
	git checkout -q -- . && git reset -q --hard
	PATH="$WORK/bin:$PATH" run bash -c "$entry"
	[ "$status" -eq 0 ]
}

@test "README: installing on a git server and connecting to Mender work as written" {
	cp "$FG_TOP/fleet-example/mender-seed.json" "$WORK/seed.json"
	start_sim "$WORK/seed.json"
	mkdir -p "$WORK/bin" "$WORK/srv/git"
	ln -s "$FLEETGATE" "$WORK/bin/fleetgate"
	export PATH="$WORK/bin:$PATH"
	git init -q --bare "$WORK/srv/git/fleet.git"
	install=$(readme_block "On a plain bare repository" | grep '^fleetgate install')
	[ "$install" = "fleetgate install --repo /srv/git/fleet.git" ]
	run bash -c "${install//\/srv\/git/$WORK/srv/git}"
	[ "$status" -eq 0 ]
	echo "$output" | grep -qx "check: hooks executable, repository opens, settings read"
	# the fleet reaches the server (no credentials yet: the job waits in the spool)
	git clone -q "$WORK/srv/git/fleet.git" "$WORK/dev" 2>/dev/null
	cp -R "$FG_TOP/fleet-example/." "$WORK/dev/"
	git -C "$WORK/dev" add -A
	git -C "$WORK/dev" commit -q -m fleet
	git -C "$WORK/dev" push -q origin main main:canary main:production 2>/dev/null
	connect=$(readme_block "readable by the hooks and by no one else:")
	[ -n "$connect" ]
	connect=${connect//\/srv\/git/$WORK/srv/git}
	connect=${connect//https:\/\/hosted.mender.io/$SIM}
	run bash -e -c "$connect"
	[ "$status" -eq 0 ] || { echo "$connect"; echo "$output"; false; }
	echo "$output" | grep -qE "^plan for production at [0-9a-f]{7}$"
	echo "$output" | grep -qE "^production@[0-9a-f]{7}: 4 devices managed: 3 OS updates in 3 deployments"
	[ "$(stat -c %a "$WORK/srv/git/.mender-token")" = 600 ]
	# a token file others may read is refused, naming it
	chmod 644 "$WORK/srv/git/.mender-token"
	run fleetgate plan --repo "$WORK/srv/git/fleet.git" --branch production
	[ "$status" -eq 2 ]
	[ "$output" = "fleetgate plan: production: token file $WORK/srv/git/.mender-token is readable by others (mode 644): chmod 600 it" ]
}

@test "README: the stand-in's example runs as written" {
	block=$(readme_block "## The Mender stand-in")
	start=$(grep '^build/mender-sim' <<<"$block")
	[ "$start" = "build/mender-sim --listen 127.0.0.1:0 --seed fleet-example/mender-seed.json" ]
	cd "$FG_TOP"
	"$BUILD/mender-sim" --listen 127.0.0.1:0 --seed fleet-example/mender-seed.json >"$WORK/sim.out" 2>&1 &
	SIM_PID=$!
	for i in $(seq 1 100); do
		port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/sim.out")
		[ -n "$port" ] && break
		sleep 0.05
	done
	[ -n "$port" ]
	step=$(grep '^curl.*_sim/step' <<<"$block" | sed "s/41873/$port/; s/ *#.*//")
	run bash -c "$step"
	[ "$output" = '{"acted":0,"success":0,"failure":0,"noartifact":0,"already_installed":0}' ]
	state=$(grep '^curl.*_sim/state' <<<"$block" | sed "s/41873/$port/")
	run bash -c "$state"
	[ "$output" = "[]" ]
}

# The fenced block after the first line of FILE matching `marker`.
doc_block() { # file marker
	awk -v m="$2" '
		!found && index($0, m) { found = 1; next }
		found && !open && /^```/ { open = 1; next }
		open && /^```/ { exit }
		open { print }' "$1"
}

@test "docs: the commands that create canary and production work in a fresh clone" {
	git init -q --bare "$WORK/srv.git"
	"$FLEETGATE" install --repo "$WORK/srv.git" >/dev/null
	make_fleet_clone first
	git -C first push -q "$WORK/srv.git" main 2>/dev/null
	main=$(git -C first rev-parse main)
	# A fresh clone: no local canary, no local production.
	git clone -q "$WORK/srv.git" fresh 2>/dev/null
	cd fresh
	block=$(doc_block "$FG_TOP/docs/install-server.md" "Bootstrap: the first push of")
	[ "$(grep -c '^git ' <<<"$block")" = 2 ]
	run bash -e -c "$block"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(git -C "$WORK/srv.git" rev-parse refs/heads/canary)" = "$main" ]
	[ "$(git -C "$WORK/srv.git" rev-parse refs/heads/production)" = "$main" ]

	# The README's advice for a stage created out of order, in another
	# fresh clone, once production is gone.
	cd "$WORK"
	git -C "$WORK/srv.git" update-ref -d refs/heads/production
	git clone -q "$WORK/srv.git" fresh2 2>/dev/null
	cd fresh2
	cmd=$(sed -n 's/.*create it from its upstream stage, in any clone: `\([^`]*\)`.*/\1/p' "$FG_TOP/README.md")
	[ "$cmd" = "git fetch origin && git push origin origin/canary:refs/heads/production" ]
	run bash -e -c "$cmd"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(git -C "$WORK/srv.git" rev-parse refs/heads/production)" = "$main" ]
	# What the guides said before fails in a fresh clone.
	git -C "$WORK/srv.git" update-ref -d refs/heads/production
	run git push origin canary:production
	[ "$status" -ne 0 ]
	[[ "$output" == *"src refspec canary does not match any"* ]]
}

@test "docs: the lighttpd configuration of the HTTP guide draws no warning from lighttpd" {
	LIGHTTPD=${LIGHTTPD:-/usr/sbin/lighttpd}
	[ -x "$LIGHTTPD" ] || skip "lighttpd is not installed"
	block=$(doc_block "$FG_TOP/docs/install-server.md" "/etc/lighttpd/conf-enabled/50-git.conf")
	grep -q '^server.modules += ( "mod_auth"' <<<"$block"
	: > "$WORK/git.htpasswd"
	{
		printf 'server.document-root = "%s"\nserver.bind = "127.0.0.1"\nserver.port = 0\n' "$WORK"
		sed "s|/etc/lighttpd/git.htpasswd|$WORK/git.htpasswd|" <<<"$block"
	} > "$WORK/lighttpd.conf"
	run "$LIGHTTPD" -tt -f "$WORK/lighttpd.conf"
	assert_status 0
	assert_output_is ""
}
