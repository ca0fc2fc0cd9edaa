# Shared helpers for the end-to-end tests (bats). Each test runs in its own
# temporary folder with its own HOME, so git config never leaks in or out.

setup_workspace() {
	: "${FLEETGATE:?run through tests/run-all or make check}"
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/fleetgate-e2e.XXXXXX")
	export HOME="$WORK/home"
	mkdir -p "$HOME"
	git config --global user.name "Fleet Developer"
	git config --global user.email "dev@example.com"
	git config --global init.defaultBranch main
	git config --global advice.detachedHead false
	unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE
	cd "$WORK"
}

teardown_workspace() {
	cd /
	[ -n "${WORK:-}" ] && rm -rf "$WORK"
}

# A clone holding the example fleet, committed on main.
make_fleet_clone() { # dir
	git init -q "$1"
	cp -R "$FG_TOP/fleet-example/." "$1/"
	git -C "$1" add -A
	git -C "$1" commit -q -m "Example fleet"
}

# Compare output with expected text, showing both on a mismatch.
assert_output_is() { # expected
	if [ "$output" != "$1" ]; then
		printf 'expected:\n%s\n--- got:\n%s\n' "$1" "$output" >&2
		return 1
	fi
}

assert_status() { # expected
	if [ "$status" -ne "$1" ]; then
		printf 'expected exit status %s, got %s; output:\n%s\n' "$1" "$status" "$output" >&2
		return 1
	fi
}
