#!/usr/bin/env bats
# tests/run-all's summary: every skipped test is named with its reason, for
# cmocka suites and bats files alike, and counted in the last line.

load helpers

setup() { setup_workspace; }
teardown() { teardown_workspace; }

# A cmocka suite as cmocka prints one: two passed, one skipped with the
# line T_NEED_OFFICIAL prints before it skips.
fake_cmocka_suite() { # path
	mkdir -p "$(dirname "$1")"
	cat >"$1" <<'SH'
#!/bin/sh
cat <<'OUT'
[==========] Running 3 test(s).
[ RUN      ] test_one
[       OK ] test_one
[ RUN      ] test_official_thing
test_official_thing: skipped: no official Mender documents to cross-check against: /x/combined_openapi.yaml: No such file or directory
[  SKIPPED ] test_official_thing
[ RUN      ] test_two
[       OK ] test_two
[==========] 3 test(s) run.
[  PASSED  ] 2 test(s).
[  SKIPPED ] 1 test(s), listed below:
[  SKIPPED ] test_official_thing
 1 SKIPPED TEST(S)
OUT
SH
	chmod +x "$1"
}

@test "run-all names a skipped cmocka test and why" {
	fake_cmocka_suite "$WORK/build/tests/test_fakesuite"
	mkdir "$WORK/no-e2e"
	run env BUILD="$WORK/build" FG_E2E="$WORK/no-e2e" TESTS=fakesuite "$FG_TOP/tests/run-all"
	assert_status 0
	assert_output_is "ok   test_fakesuite (2 passed, 1 skipped)
skipped:
  test_fakesuite: test_official_thing: no official Mender documents to cross-check against: /x/combined_openapi.yaml: No such file or directory
2 passed, 0 failed, 1 skipped"
}

@test "run-all names a skipped bats test and why" {
	mkdir -p "$WORK/e2e" "$WORK/build/tests"
	printf '@test "runs" {\n\ttrue\n}\n@test "needs a tool" {\n\tskip "the tool is not installed"\n}\n@test "bare skip" {\n\tskip\n}\n' \
		>"$WORK/e2e/fake.bats"
	run env BUILD="$WORK/build" FG_E2E="$WORK/e2e" TESTS=fake.bats "$FG_TOP/tests/run-all"
	assert_status 0
	assert_output_is "ok   fake.bats (1 passed, 2 skipped)
skipped:
  fake.bats: needs a tool: the tool is not installed
  fake.bats: bare skip: no reason given
1 passed, 0 failed, 2 skipped"
}

@test "run-all without skips ends with N passed, N failed" {
	mkdir -p "$WORK/e2e" "$WORK/build/tests"
	printf '@test "runs" {\n\ttrue\n}\n' >"$WORK/e2e/fake.bats"
	run env BUILD="$WORK/build" FG_E2E="$WORK/e2e" TESTS=fake.bats "$FG_TOP/tests/run-all"
	assert_status 0
	assert_output_is "ok   fake.bats (1 passed)
1 passed, 0 failed"
}
