#!/usr/bin/env bats
# The Makefile on its own: builds at every optimisation level, and asks for
# libmicrohttpd only where the stand-in needs it.

load helpers

setup() { setup_workspace; }
teardown() { teardown_workspace; }

# A pkg-config that knows every package but libmicrohttpd.
fake_pkg_config_without_microhttpd() { # path
	cat >"$1" <<'SH'
#!/bin/sh
for a; do
	case "$a" in libmicrohttpd) exit 1 ;; esac
done
exec pkg-config "$@"
SH
	chmod +x "$1"
}

@test "make OPT=-O0 links the program and the stand-in" {
	run make -C "$FG_TOP" --no-print-directory BUILD="$WORK/b" OPT=-O0 all
	assert_status 0
	[ -x "$WORK/b/fleetgate" ]
	[ -x "$WORK/b/mender-sim" ]
	run "$WORK/b/fleetgate" --version
	assert_output_is "fleetgate 0.1.0"
}

@test "only the stand-in needs libmicrohttpd" {
	fake_pkg_config_without_microhttpd "$WORK/pkg-config"
	run make -C "$FG_TOP" --no-print-directory BUILD="$WORK/b" PKG_CONFIG="$WORK/pkg-config" \
		"$WORK/b/fleetgate" "$WORK/b/tests/sim-conformance"
	assert_status 0
	run make -C "$FG_TOP" --no-print-directory BUILD="$WORK/b" PKG_CONFIG="$WORK/pkg-config" \
		"$WORK/b/mender-sim"
	assert_status 2
	echo "$output" | grep -qF "pkg-config cannot find 'libmicrohttpd': run scripts/ensure-deps, or apt-get install the Debian -dev package"
	# The stand-in's tests talk to it over HTTP and do not link the server library.
	run readelf -d "$WORK/b/tests/sim-conformance"
	assert_status 0
	echo "$output" | grep -qF 'libcurl'
	! echo "$output" | grep -qF 'libmicrohttpd' || false
}
