#!/usr/bin/env bats
# fleetgate validate through real git: working tree, --staged, --rev and the
# pre-commit hook that `fleetgate install --pre-commit` writes.

load helpers

setup() { setup_workspace; }
teardown() { teardown_workspace; }

KIOSK=devices/0b6c4f1e-7a2d-4e9b-b8c3-1f5a7d2e9c40.yaml

@test "the example fleet is valid in a folder, in the index and in a commit" {
	make_fleet_clone fleet
	cd fleet
	run "$FLEETGATE" validate
	assert_status 0
	assert_output_is "folder $WORK/fleet/: fleet.yaml and 6 device files: 0 errors, 0 warnings"
	run "$FLEETGATE" validate --staged
	assert_status 0
	assert_output_is "the index (staged changes): fleet.yaml and 6 device files: 0 errors, 0 warnings"
	run "$FLEETGATE" validate --rev HEAD
	assert_status 0
	assert_output_is "commit $(git rev-parse --short=7 HEAD): fleet.yaml and 6 device files: 0 errors, 0 warnings"
}

@test "the pre-commit hook refuses a staged typo and accepts the fix" {
	make_fleet_clone fleet
	cd fleet
	run "$FLEETGATE" install --pre-commit
	assert_status 0
	assert_output_is "installed $WORK/fleet/.git/hooks/pre-commit (runs 'fleetgate validate --staged' before each commit)"
	[ -x .git/hooks/pre-commit ]
	sed -i 's/^subscribed_branch:/subscribed_brnach:/' devices/a3e9d7c1-4b2f-4f6a-9e8d-7c1b5a3f2e90.yaml
	git add -A
	run git commit -q -m "Move the campus kiosk"
	assert_status 1
	assert_output_is "devices/a3e9d7c1-4b2f-4f6a-9e8d-7c1b5a3f2e90.yaml:4:1: error: unknown key 'subscribed_brnach' in a device file (did you mean 'subscribed_branch'?) [unknown-key]
the index (staged changes): fleet.yaml and 6 device files: 1 error, 0 warnings"
	[ "$(git rev-list --count HEAD)" = 1 ]
	sed -i 's/^subscribed_brnach: canary/subscribed_branch: main/' devices/a3e9d7c1-4b2f-4f6a-9e8d-7c1b5a3f2e90.yaml
	git add -A
	run git commit -q -m "Move the campus kiosk"
	assert_status 0
	[ "$(git rev-list --count HEAD)" = 2 ]
}

@test "--staged judges the index, not the working tree" {
	make_fleet_clone fleet
	cd fleet
	echo "bogus: key" >> "$KIOSK"
	run "$FLEETGATE" validate --staged
	assert_status 0
	git add "$KIOSK"
	git show HEAD:"$KIOSK" > "$KIOSK" # working tree valid, index invalid
	run "$FLEETGATE" validate
	assert_status 0
	run "$FLEETGATE" validate --staged
	assert_status 1
	assert_output_is "$KIOSK:6:1: error: unknown key 'bogus' in a device file [unknown-key]
the index (staged changes): fleet.yaml and 6 device files: 1 error, 0 warnings"
}

@test "the hook judges what 'git commit -a' and 'git commit PATH' record" {
	make_fleet_clone fleet
	cd fleet
	"$FLEETGATE" install --pre-commit >/dev/null
	echo "  kiosk_zoom: ~" >> "$KIOSK"
	run git commit -q -a -m "commit -a with a null value"
	assert_status 1
	assert_output_is "$KIOSK:6:15: error: value of 'kiosk_zoom' in config must be a string, number or boolean, not nothing (null) [type]
the index (staged changes): fleet.yaml and 6 device files: 1 error, 0 warnings"
	run git commit -q -m "partial commit" -- "$KIOSK"
	assert_status 1
	[ "$(git rev-list --count HEAD)" = 1 ]
}

@test "--rev judges a commit without a checkout, in a bare repository too" {
	make_fleet_clone fleet
	cd fleet
	echo "fleet: 2" >> fleet.yaml
	last=$(wc -l < fleet.yaml)
	git commit -q -a -m "Break fleet.yaml"
	git clone -q --bare . ../server.git
	git checkout -q HEAD~1
	run "$FLEETGATE" validate --rev main
	assert_status 1
	assert_output_is "fleet.yaml:$last:1: error: duplicate key 'fleet' (first at line 3, column 1) [duplicate-key]
commit $(git rev-parse --short=7 main): fleet.yaml and 6 device files: 1 error, 0 warnings"
	run "$FLEETGATE" validate --rev main~1
	assert_status 0
	run "$FLEETGATE" validate --repo ../server.git --rev main --format json
	assert_status 1
	assert_output_is '[
 {"file": "fleet.yaml", "line": '$last', "column": 1, "severity": "error", "code": "duplicate-key", "message": "duplicate key '"'fleet'"' (first at line 3, column 1)"}
]'
}

@test "a symlink or a submodule where a file should be is refused in a commit" {
	make_fleet_clone fleet
	cd fleet
	mv "$KIOSK" ../kiosk.yaml
	ln -s ../kiosk.yaml "$KIOSK"
	git add -A
	git commit -q -m "symlink"
	run "$FLEETGATE" validate --rev HEAD
	assert_status 1
	assert_output_is "$KIOSK: error: device file must be a regular file, but it is a symbolic link [not-a-file]
commit $(git rev-parse --short=7 HEAD): fleet.yaml and 5 device files: 1 error, 0 warnings"
	git rm -q "$KIOSK"
	git update-index --add --cacheinfo 160000,$(git rev-parse HEAD),"$KIOSK"
	git commit -q -m "submodule"
	run "$FLEETGATE" validate --rev HEAD
	assert_status 1
	assert_output_is "$KIOSK: error: device file must be a regular file, but it is a submodule [not-a-file]
commit $(git rev-parse --short=7 HEAD): fleet.yaml and 5 device files: 1 error, 0 warnings"
}

@test "--strict turns warnings into errors; unknown branches are warned about" {
	make_fleet_clone fleet
	cd fleet
	sed -i 's/^subscribed_branch: canary/subscribed_branch: field-trial/' devices/a3e9d7c1-4b2f-4f6a-9e8d-7c1b5a3f2e90.yaml
	run "$FLEETGATE" validate
	assert_status 0
	assert_output_is "devices/a3e9d7c1-4b2f-4f6a-9e8d-7c1b5a3f2e90.yaml: warning: subscribed_branch 'field-trial' is neither a stage nor a branch of this repository [unknown-branch]
folder $WORK/fleet/: fleet.yaml and 6 device files: 0 errors, 1 warning"
	run "$FLEETGATE" validate --strict
	assert_status 1
	git branch field-trial
	run "$FLEETGATE" validate --strict
	assert_status 0
}

@test "usage and environment errors exit 2 with a message" {
	run "$FLEETGATE" validate --rev HEAD
	assert_status 2
	assert_output_is "fleetgate validate: current folder: not a git repository (could not find repository from '.')"
	make_fleet_clone fleet
	run "$FLEETGATE" validate --repo fleet --rev no-such-branch
	assert_status 2
	assert_output_is "fleetgate validate: 'no-such-branch' does not name a commit"
	run "$FLEETGATE" validate --format yaml fleet
	assert_status 2
	assert_output_is "fleetgate validate: --format must be text or json, not 'yaml'"
	run "$FLEETGATE" validate --staged --rev HEAD
	assert_status 2
	assert_output_is "fleetgate validate: give only one of DIR, --staged and --rev"
}

@test "install --pre-commit never overwrites a hook it did not write" {
	make_fleet_clone fleet
	cd fleet
	printf '#!/bin/sh\necho mine\n' > .git/hooks/pre-commit
	chmod +x .git/hooks/pre-commit
	run "$FLEETGATE" install --pre-commit
	assert_status 2
	[ "$(cat .git/hooks/pre-commit)" = "$(printf '#!/bin/sh\necho mine')" ]
	rm .git/hooks/pre-commit
	run "$FLEETGATE" install --pre-commit
	assert_status 0
	run "$FLEETGATE" install --pre-commit
	assert_status 0
	grep -q "validate --staged" .git/hooks/pre-commit
}
