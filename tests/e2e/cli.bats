#!/usr/bin/env bats
# The command line: -h and -V, usage errors (exit status 2, saying what is
# wrong), the man page (every command, setting and exit status; no groff
# warnings), make install / uninstall.

load helpers

setup() { setup_workspace; }
teardown() { teardown_workspace; }

COMMANDS="validate install gate hook plan apply reconcile status verify import"

@test "cli: -h and -V print what --help and --version print" {
	run "$FLEETGATE" --help
	assert_status 0
	help=$output
	run "$FLEETGATE" -h
	assert_status 0
	assert_output_is "$help"
	[[ "$help" == *"'fleetgate <command> --help' (or -h) describes a command"* ]]
	run "$FLEETGATE" -V
	assert_status 0
	assert_output_is "fleetgate 0.1.0"
	run "$FLEETGATE" --version
	assert_output_is "fleetgate 0.1.0"
	for cmd in $COMMANDS; do
		run "$FLEETGATE" "$cmd" --help
		assert_status 0
		long=$output
		[[ "$long" == "usage: "*"fleetgate $cmd "* ]]
		run "$FLEETGATE" "$cmd" -h
		assert_status 0
		assert_output_is "$long"
	done
}

@test "cli: one table of commands: usage lists each; help and version; a link named like a hook is no hook" {
	run "$FLEETGATE" --help
	help=$output
	listed=$(printf '%s\n' "$output" | sed -n 's/^  \([a-z-]*\)  .*/\1/p' | tr '\n' ' ')
	[ "$listed" = "$COMMANDS " ]
	run "$FLEETGATE" help
	assert_status 0
	assert_output_is "$help"
	run "$FLEETGATE" version
	assert_status 0
	assert_output_is "fleetgate 0.1.0"
	run "$FLEETGATE" frobnicate
	assert_status 2
	[ "${lines[0]}" = "fleetgate: unknown command 'frobnicate'" ]
	# install writes hooks that run "fleetgate hook NAME" (cli/install.c):
	# the name the program is started by changes nothing.
	ln -s "$FLEETGATE" "$WORK/pre-receive"
	run "$WORK/pre-receive" </dev/null
	assert_status 2
	[ "${lines[0]}" = "usage: fleetgate <command> [options]" ]
}

@test "cli: an option without its value says so, exit status 2" {
	for args in "validate --rev" "install --repo" "install --repo x --stages" "gate --source" \
		"plan --branch" "apply --branch" "reconcile --branch" "status --branch" "status --format"; do
		read -r -a argv <<<"$args"
		run "$FLEETGATE" "${argv[@]}"
		assert_status 2
		assert_output_is "fleetgate ${argv[0]}: option '${argv[${#argv[@]} - 1]}' needs a value (see --help)"
	done
	# An abbreviation is named in full.
	run "$FLEETGATE" plan --bra
	assert_status 2
	assert_output_is "fleetgate plan: option '--branch' needs a value (see --help)"
}

@test "cli: unknown, ambiguous and valued flags, unexpected arguments: exit status 2" {
	run "$FLEETGATE" plan --sauce
	assert_status 2
	assert_output_is "fleetgate plan: unknown option '--sauce' (see --help)"
	run "$FLEETGATE" validate --sauce=1
	assert_status 2
	assert_output_is "fleetgate validate: unknown option '--sauce' (see --help)"
	run "$FLEETGATE" status -x
	assert_status 2
	assert_output_is "fleetgate status: unknown option '-x' (see --help)"
	run "$FLEETGATE" reconcile --f
	assert_status 2
	assert_output_is "fleetgate reconcile: option '--f' is ambiguous: --format or --full? (see --help)"
	run "$FLEETGATE" reconcile --all=yes
	assert_status 2
	assert_output_is "fleetgate reconcile: option '--all' takes no value (see --help)"
	run "$FLEETGATE" install --chain=1
	assert_status 2
	assert_output_is "fleetgate install: option '--chain' takes no value (see --help)"
	run "$FLEETGATE" gate extra
	assert_status 2
	assert_output_is "fleetgate gate: unexpected argument 'extra'"
	run "$FLEETGATE" install --repo x.git --gitlab --gitea
	assert_status 2
	assert_output_is "fleetgate install: give only one of --gitlab and --gitea"
	run "$FLEETGATE" install --pre-commit --chain
	assert_status 2
	assert_output_is "fleetgate install: --pre-commit installs in a clone: --stages, --gitlab, --gitea and --chain are for --repo on a server (see --help)"
	run "$FLEETGATE" frobnicate
	assert_status 2
	[ "${lines[0]}" = "fleetgate: unknown command 'frobnicate'" ]
	run "$FLEETGATE"
	assert_status 2
	[ "${lines[0]}" = "usage: fleetgate <command> [options]" ]
}

@test "cli: a hook given other arguments than git gives it is a usage error, exit status 2" {
	run "$FLEETGATE" hook update
	assert_status 2
	assert_output_is "fleetgate hook: update takes three arguments, <ref> <old> <new>, not 0"
	run "$FLEETGATE" hook update refs/heads/main 0000
	assert_status 2
	assert_output_is "fleetgate hook: update takes three arguments, <ref> <old> <new>, not 2"
	run "$FLEETGATE" hook pre-receive extra </dev/null
	assert_status 2
	assert_output_is "fleetgate hook: pre-receive takes no arguments (git writes the ref updates on stdin), not 1"
	run "$FLEETGATE" hook post-receive extra </dev/null
	assert_status 2
	assert_output_is "fleetgate hook: post-receive takes no arguments (git writes the ref updates on stdin), not 1"
	run "$FLEETGATE" hook reference-transaction </dev/null
	assert_status 2
	assert_output_is "fleetgate hook: reference-transaction takes one argument, prepared, committed or aborted, not 0"
	run "$FLEETGATE" hook pre-commit
	assert_status 2
	assert_output_is "fleetgate hook: unknown hook 'pre-commit' (pre-receive, update, post-receive or reference-transaction)"
	run "$FLEETGATE" hook
	assert_status 2
	[ "${lines[0]}" = "usage: fleetgate hook pre-receive | update <ref> <old> <new> | post-receive" ]
}

@test "cli: reconcile --help lists --repo and the exit statuses" {
	run "$FLEETGATE" reconcile --help
	assert_status 0
	[[ "$output" == *"  --repo PATH      the repository (default: GIT_DIR or the one around here)"* ]]
	[[ "$output" == *"Exit status: 0 every job scheduled or parked; 1 a job is still waiting"* ]]
	[[ "$output" == *"2 usage or environment error"* ]]
}

man_text() {
	MANWIDTH=200 man -l "$FG_TOP/docs/fleetgate.1" 2>&1 | col -b
}

@test "man page: groff and man read it without a warning" {
	command -v groff >/dev/null || skip "groff is not installed"
	run groff -man -Tutf8 -ww -z "$FG_TOP/docs/fleetgate.1"
	assert_status 0
	assert_output_is ""
	run bash -c "MANWIDTH=80 man -l '$FG_TOP/docs/fleetgate.1' 2>&1 >/dev/null"
	assert_output_is ""
}

@test "man page: every command, every setting, every exit status, the files" {
	command -v man >/dev/null || skip "man is not installed"
	text=$(man_text)
	# The commands fleetgate --help lists, each with its own section.
	cmds=$("$FLEETGATE" --help | sed -n 's/^  \([a-z-]*\)  .*/\1/p')
	[ "$(echo $cmds)" = "$COMMANDS" ]
	for cmd in $cmds; do
		grep -q "^   fleetgate $cmd" <<<"$text" || { echo "no section for $cmd" >&2; return 1; }
	done
	# Each option of each command's --help.
	for cmd in $cmds; do
		for opt in $("$FLEETGATE" "$cmd" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
			grep -q -- "$opt" <<<"$text" || { echo "$cmd $opt is missing" >&2; return 1; }
		done
	done
	# Every git config key of the README's settings table.
	keys=$(sed -n 's/^| `\(fleetgate\.[A-Za-z.<>]*\)` |.*/\1/p' "$FG_TOP/README.md" | sed 's/<stage>//')
	[ -n "$keys" ]
	for key in $keys; do
		grep -q -- "$key" <<<"$text" || { echo "setting $key is missing" >&2; return 1; }
	done
	section() { sed -n "/^$1\$/,/^[A-Z]/p" <<<"$text"; }
	for status in 0 1 2; do
		section "EXIT STATUS" | grep -q "^       $status  " || { echo "exit status $status" >&2; return 1; }
	done
	for f in fleet.yaml digest.key spool/ reconcile.log pre-commit; do
		section FILES | grep -q -- "$f" || { echo "file $f" >&2; return 1; }
	done
}

@test "make install puts the man page in PREFIX/share/man/man1; make uninstall removes what install wrote" {
	run make -s -C "$FG_TOP" BUILD="$BUILD" install DESTDIR="$WORK/dest" PREFIX=/usr
	assert_status 0
	[ -x "$WORK/dest/usr/bin/fleetgate" ]
	cmp "$WORK/dest/usr/share/man/man1/fleetgate.1" "$FG_TOP/docs/fleetgate.1"
	[ "$(stat -c %a "$WORK/dest/usr/share/man/man1/fleetgate.1")" = 644 ]
	[ -d "$WORK/dest/usr/share/fleetgate/contrib" ]
	run make -s -C "$FG_TOP" BUILD="$BUILD" uninstall DESTDIR="$WORK/dest" PREFIX=/usr
	assert_status 0
	[ -z "$(find "$WORK/dest" -type f)" ]
}
