#!/usr/bin/env bats
# docs/architecture.md stays true: every file it names exists, every
# function it names is defined in the tree, and README.md and
# CONTRIBUTING.md link it.

load helpers

DOC=docs/architecture.md

setup() { cd "$FG_TOP"; }

# The `...` spans of the page, one a line. (build*/ folders are made by a
# build, not kept in the tree.)
spans() {
	grep -o '`[^`]*`' "$DOC" | tr -d '`'
}

@test "architecture.md: every file and folder it names exists" {
	missing=
	n=0
	for p in $(spans | grep -v "^build" | grep -E '^[a-z][a-z_./-]*/([a-z_.-]+)?$|^[a-z][a-z_/-]*\.(c|h|md|bats)$' | sort -u); do
		n=$((n + 1))
		[ -e "$p" ] || missing="$missing $p"
	done
	[ -z "$missing" ] || { echo "named in $DOC but not in the tree:$missing" >&2; return 1; }
	[ "$n" -ge 30 ]
}

@test "architecture.md: every function it names is defined in lib/, front/ or a front end" {
	missing=
	n=0
	for f in $(spans | sed -n 's/^\([a-z_][a-z0-9_]*\)()$/\1/p' | sort -u); do
		n=$((n + 1))
		grep -qE "^[a-z].*[^a-z0-9_]$f\(|^$f\(" lib/*/*.c front/*.c cli/*.c hooks/*.c gate/*.c validate/*.c ||
			missing="$missing $f()"
	done
	[ -z "$missing" ] || { echo "named in $DOC but defined nowhere:$missing" >&2; return 1; }
	[ "$n" -ge 50 ]
}

@test "architecture.md: README.md and CONTRIBUTING.md link it" {
	grep -qF '(docs/architecture.md)' README.md
	grep -qF '(docs/architecture.md)' CONTRIBUTING.md
}
