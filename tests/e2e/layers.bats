#!/usr/bin/env bats
# scripts/check-layers on a copy of the tree with one include planted: each
# rule it holds refuses its breach, naming file:line and why.

load helpers

setup() {
	setup_workspace
	T=$WORK/tree
	mkdir -p "$T"
	cp -R "$FG_TOP/lib" "$FG_TOP/front" "$FG_TOP/cli" "$FG_TOP/hooks" "$FG_TOP/gate" \
		"$FG_TOP/validate" "$FG_TOP/scripts" "$T/"
}
teardown() { teardown_workspace; }

# Put `#include "header"` after line 1 of `file` in the copy.
plant() { # file header
	sed -i "1a #include \"$2\"" "$T/$1"
}

# check-layers over the copy; its "known:" lines (printed on every run) left out.
check() {
	run "$T/scripts/check-layers" "$T"
	output=$(printf '%s\n' "$output" | grep -v '^known: ')
}

@test "check-layers: the tree as it is passes" {
	check
	assert_status 0
	[[ "$output" =~ ^checked\ [0-9]+\ files$ ]]
}

@test "check-layers: a hook that includes cli/ is refused" {
	plant hooks/update.c cli/cli.h
	check
	assert_status 1
	assert_output_is "hooks/update.c:2: includes cli/cli.h: hooks/ includes only lib/, front/, hooks/ (scripts/check-layers: FRONTS)"
}

@test "check-layers: gate/ and validate/ reach neither into cli/ nor into each other" {
	plant gate/gate.c validate/validate.h
	plant validate/validate.c cli/cli.h
	check
	assert_status 1
	assert_output_is "gate/gate.c:2: includes validate/validate.h: gate/ includes only lib/, front/, gate/ (scripts/check-layers: FRONTS)
validate/validate.c:2: includes cli/cli.h: validate/ includes only lib/, front/, validate/ (scripts/check-layers: FRONTS)"
}

@test "check-layers: the shared helpers include only lib/" {
	plant front/front.c hooks/hooks.h
	check
	assert_status 1
	assert_output_is "front/front.c:2: includes hooks/hooks.h: front/ includes only lib/, front/ (scripts/check-layers: FRONTS)"
}

@test "check-layers: a front end includes nothing outside lib/ and the front ends" {
	mkdir "$T/sim"
	echo '/* the stand-in */' >"$T/sim/sim.h"
	plant cli/ops.c sim/sim.h
	check
	assert_status 1
	assert_output_is "cli/ops.c:2: includes sim/sim.h: sim/ is neither lib/ nor a front end"
}

@test "check-layers: the library never includes a front end" {
	plant lib/core/buf.c front/front.h
	check
	assert_status 1
	assert_output_is "lib/core/buf.c:2: includes front/front.h: lib/ never includes a program's header"
}

@test "check-layers: an include cycle among the front ends is refused" {
	printf '#include "hooks/hooks.h"\n' >"$T/hooks/loop.h"
	plant hooks/hooks.h hooks/loop.h
	check
	assert_status 1
	assert_output_is "hooks/loop.h:1: include cycle: hooks/hooks.h -> hooks/loop.h -> hooks/hooks.h"
}

@test "check-layers: cli/ may include the front ends it dispatches to" {
	plant cli/ops.c gate/gate.h
	plant cli/install.c validate/validate.h
	check
	assert_status 0
}
