# Helpers of the end-to-end tests of the promotion rules through real
# `git push` (pre_receive*.bats). Load after helpers.bash:
#
#   load helpers
#   load push_helpers
#
# Every test gets, in its own temporary folder: $SRV, a bare "server"
# repository whose hooks `fleetgate install --repo` wrote; $URL, how the
# developer reaches it; and `dev`, the developer's clone.

# The identity variables a forge sets: none leaks in from the machine that
# runs the tests, and USER is a fixed name (over file:// the hooks inherit
# the environment of the push).
setup_push() {
	setup_workspace
	unset GL_ID GL_USERNAME GL_PROTOCOL GITEA_PUSHER_NAME GL_USER REMOTE_USER
	unset GIT_PUSH_OPTION_COUNT GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES
	unset MENDER_SERVER MENDER_ACCESS_TOKEN MENDER_USER MENDER_PASSWORD
	export USER=fleet-dev
	SRV=$WORK/srv.git
	URL=file://$SRV
}

# A bare server repository with fleetgate's hooks (install options pass on).
# http.receivepack lets the HTTP tests push through git http-backend; it
# changes nothing over file://.
make_server() { # [install options...]
	git init -q --bare "$SRV"
	git -C "$SRV" config http.receivepack true
	"$FLEETGATE" install --repo "$SRV" "$@" >/dev/null
}

# The developer's clone of $URL in ./dev, with the example fleet committed on
# main but not pushed yet.
make_dev_clone() {
	git clone -q "$URL" dev 2>/dev/null
	cp -R "$FG_TOP/fleet-example/." dev/
	git -C dev add -A
	git -C dev commit -q -m "Example fleet"
}

# Server with the hooks, main bootstrapped with the example fleet; the
# current folder is the clone.
bootstrap_main() { # [install options...]
	make_server "$@"
	make_dev_clone
	git -C dev push -q origin main 2>/dev/null
	cd dev
}

# The same, with canary and production created at main's commit (each pushed
# the allowed way) as local branches; main stays checked out.
bootstrap_stages() { # [install options...]
	bootstrap_main "$@"
	git branch -q canary main
	git push -q origin canary 2>/dev/null
	git branch -q production canary
	git push -q origin production 2>/dev/null
}

# Commit a change on the current branch: a line added to FILE, by default a
# note named after the subject (so that changes on two branches never
# conflict); the fleet stays valid.
change() { # subject [file]
	local file=${2:-notes/$(printf %s "$1" | tr -c "a-zA-Z0-9" -).txt}
	mkdir -p "$(dirname "$file")"
	echo "# $1" >> "$file"
	git add -A
	git commit -q -m "$1"
}

# The reviewed way onto main: a feature branch from main with one change,
# merged with --no-ff. Leaves main checked out.
merge_feature() { # name
	git checkout -q -b "feature/$1" main
	change "Change $1"
	git checkout -q main
	git merge -q --no-ff -m "Merge feature/$1" "feature/$1"
}

# Promote UPSTREAM into STAGE with a merge commit that changes nothing.
promote_merge() { # stage upstream
	git checkout -q "$1"
	git merge -q --no-ff -m "Promote $2 to $1" "$2"
}

# git push, as `run` does, with what the pusher sees in $output and $lines:
# git pads every `remote:` line with blanks when stderr is not a terminal,
# and those are stripped.
push() { # git push arguments...
	run git push "$@"
	output=$(printf '%s\n' "$output" | sed 's/[[:blank:]]*$//')
	mapfile -t lines <<< "$output"
}

# The id of refs/heads/BRANCH on the server, or "" when it does not exist.
server_tip() { # branch
	git -C "$SRV" rev-parse -q --verify "refs/heads/$1" 2>/dev/null || true
}

assert_server_tip() { # branch expected-id ("" = absent)
	local got
	got=$(server_tip "$1")
	if [ "$got" != "$2" ]; then
		printf 'server branch %s: expected %s, got %s\n' "$1" "${2:-absent}" "${got:-absent}" >&2
		return 1
	fi
}

# What the post-receive hook (also written by `fleetgate install`) says for
# a branch a push moved: these servers have no Mender credentials (setup_push
# unsets them), so the deployment job waits in the spool.
deferred() { # branch rev [branch rev ...]
	local n=0
	while [ $# -ge 2 ]; do
		printf 'remote: fleetgate: %s@%s: deferred: no Mender credentials: set MENDER_ACCESS_TOKEN (a personal access token), MENDER_USER and MENDER_PASSWORD, or git config fleetgate.menderTokenFile\n' \
			"$1" "$(short "$2")"
		n=$((n + 1))
		shift 2
	done
	if [ "$n" -eq 1 ]; then
		printf "remote: fleetgate: the spool keeps the job; 'fleetgate reconcile' schedules it"
	else
		printf "remote: fleetgate: the spool keeps the jobs; 'fleetgate reconcile' schedules them"
	fi
}

# The 7-digit id fleetgate prints.
short() { # rev
	git rev-parse --short=7 "$1"
}

# Move the server's hooks aside (an admin pushing around fleetgate, or a
# repository that had history before fleetgate was installed).
hooks_off() {
	mv "$SRV/hooks" "$SRV/hooks.off"
	mkdir "$SRV/hooks"
}

hooks_on() {
	rm -rf "$SRV/hooks"
	mv "$SRV/hooks.off" "$SRV/hooks"
}

# What git prints after the remote's lines when a push is refused: "To URL",
# the given status lines, and the closing error.
git_refused() { # status-line...
	printf 'To %s\n' "$URL"
	printf '%s\n' "$@"
	printf "error: failed to push some refs to '%s'" "$URL"
}

# The same for a push that went through.
git_pushed() { # status-line...
	printf 'To %s' "$URL"
	printf '\n%s' "$@"
}

# The status line of a fast-forward.
ff_line() { # old new src -> dst
	printf '   %s..%s  %s' "$(git rev-parse --short "$1")" "$(git rev-parse --short "$2")" "$3"
}

# Whether OUTPUT contains the line (trailing blanks already stripped).
assert_line_present() { # line
	local l
	for l in "${lines[@]}"; do
		[ "$l" = "$1" ] && return 0
	done
	printf 'expected the line:\n%s\n--- in:\n%s\n' "$1" "$output" >&2
	return 1
}

# The command fails. (A bare `! command` never fails a bats test: the shell's
# errexit ignores negated commands.)
assert_fails() { # command...
	if "$@"; then
		printf 'expected to fail: %s\n' "$*" >&2
		return 1
	fi
}

# main with a new reviewed merge, and canary with a merge of it that edits
# what it brings (fleet.yaml's kiosk_rotation): for pushes of both at once.
modified_promotion() {
	bootstrap_stages
	merge_feature one
	git checkout -q canary
	git merge -q --no-ff --no-commit main >/dev/null 2>&1
	sed -i 's/kiosk_rotation: 0/kiosk_rotation: 180/' fleet.yaml
	git commit -q -a -m "Promote main to canary"
	git checkout -q main
}

# What pre-receive says of that push.
modified_canary_refusal() {
	cat <<-EOF
	remote: fleetgate: refusing refs/heads/canary
	remote: fleetgate:   stage 'canary' takes only unmodified merges from 'main'
	remote: fleetgate:   [modified-content] merge commit $(short canary) changes what it brings from 'main': its tree differs from the merged commit's
	remote: fleetgate:     commit $(short canary) "Promote main to canary"
	remote: fleetgate:     what to do: merge without changing anything (git merge --no-ff <upstream>, no edits, no conflict resolution); make changes on the upstream stage first
	remote: fleetgate: 2 refs judged (2 stages): 1 accepted, 1 refused
	EOF
}

# ... and when it hands the verdicts to the update hook, which declines canary.
modified_canary_declined() {
	modified_canary_refusal
	cat <<-EOF
	remote: fleetgate: the refused refs are declined by the update hook; with --atomic git refuses the whole push
	remote: error: hook declined to update refs/heads/canary
	EOF
}

# An update hook written by hand, which pre-receive recognises (unlike the
# one `fleetgate install` writes: see the skipped tests): the per-ref
# hand-off itself can be tested.
hand_written_update_hook() {
	printf '#!/bin/sh\nexec %s hook update "$@"\n' "$FLEETGATE" > "$SRV/hooks/update"
}

# canary and main one merge ahead of production, which only release-manager
# and sre-bot may push; production checked out with the promotion merge.
ready_for_production() {
	bootstrap_stages
	git -C "$SRV" config fleetgate.pushers.production "release-manager sre-bot"
	merge_feature one
	git push -q origin main
	git push -q origin main:canary
	git fetch -q origin
	git checkout -q canary
	git merge -q --ff-only origin/canary
	promote_merge production canary
}
