#!/usr/bin/env bats
# fleetgate gate through real git: a server's repository with the example
# fleet on main, canary and production, and a CI job's clone of it, where
# the branches exist only as origin/* and HEAD is detached, as GitLab's and
# actions/checkout's clones are.

load helpers
# push(), assert_server_tip, change, merge_feature; make_server below is the gate's own.
load push_helpers

KIOSK=devices/0b6c4f1e-7a2d-4e9b-b8c3-1f5a7d2e9c40.yaml
LAB=devices/c8b1f4e2-6d3a-4c7b-9a2e-5b8d1f3c6a04.yaml

setup() {
	setup_workspace
	# The tests set the CI's variables themselves; none may leak in from a
	# CI that runs this suite.
	unset CI_MERGE_REQUEST_SOURCE_BRANCH_NAME CI_MERGE_REQUEST_TARGET_BRANCH_NAME
	unset GITHUB_HEAD_REF GITHUB_BASE_REF GITHUB_ACTIONS GITHUB_STEP_SUMMARY
}
teardown() { teardown_workspace; }

# In dev: branch $1 from main with fleet.yaml edited by sed script $2,
# committed as $3.
feature() { # branch sed-script subject
	git -C dev checkout -q -b "$1" main
	sed -i "$2" dev/fleet.yaml
	git -C dev commit -q -a -m "$3"
	git -C dev checkout -q main
}

# server.git: the example fleet; production at the first commit, canary one
# merge later, main one more merge ahead; feature/timezone on main's tip;
# feature/typo on main's tip with an error in one device file and two
# warnings.
make_server() {
	make_fleet_clone dev
	git -C dev branch production
	feature feature/kiosk 's/kiosk_rotation: 0/kiosk_rotation: 90/' "Rotate the kiosks"
	git -C dev merge -q --no-ff -m "Merge feature/kiosk" feature/kiosk
	git -C dev branch canary
	feature feature/tune 's/playbook_version: "1.5.0"/playbook_version: "1.6.0"/' "Playbook 1.6.0"
	git -C dev merge -q --no-ff -m "Merge feature/tune" feature/tune
	feature feature/timezone 's#timezone: Europe/Zurich#timezone: Europe/Berlin#' "Berlin time"
	git -C dev checkout -q -b feature/typo main
	echo "bogus: key" >> "dev/$KIOSK"
	sed -i 's/^subscribed_branch: main/subscribed_branch: develop/' "dev/$LAB"
	echo "notes" > dev/devices/notes.txt
	git -C dev add -A
	git -C dev commit -q -m "Break the kiosk"
	git -C dev checkout -q main
	git clone -q --bare dev server.git
}

# The CI job's clone, detached at origin/$1, with no local branch; cd into it.
make_ci_clone() { # source
	git clone -q --no-checkout "$WORK/server.git" ci
	git -C ci checkout -q --detach "origin/$1"
	git -C ci branch -q -D main
	cd ci
}

sha() { git rev-parse "$1"; }
short() { git rev-parse --short=7 "$1"; }

# What the Code Quality report's fingerprint should be, computed by git.
fingerprint() { # code file line message
	printf '%s\n%s\n%s\n%s' "$1" "$2" "$3" "$4" | git hash-object --stdin
}

assert_file_is() { # file expected
	local got
	got=$(cat "$1") || return 1
	if [ "$got" != "$2" ]; then
		printf 'expected %s:\n%s\n--- got:\n%s\n' "$1" "$2" "$got" >&2
		return 1
	fi
}

# A JUnit report whose clock and host values are real: every time is seconds
# with three decimals, the suite's timestamp (UTC) lies within this test's
# run of the gate (JUNIT_BEFORE, taken before it), its hostname is this
# machine's. Then the rest compares exactly, those values written T, TS, H.
assert_junit_is() { # file expected
	local after ts host norm
	after=$(date -u +%Y-%m-%dT%H:%M:%S)
	ts=$(sed -n 's/.* timestamp="\([^"]*\)".*/\1/p' "$1")
	host=$(sed -n 's/.* hostname="\([^"]*\)".*/\1/p' "$1")
	if [[ -z "$ts" || "$ts" < "$JUNIT_BEFORE" || "$ts" > "$after" ]]; then
		printf 'timestamp "%s" is not within %s..%s\n' "$ts" "$JUNIT_BEFORE" "$after" >&2
		return 1
	fi
	if [ "$host" != "$(uname -n)" ]; then
		printf 'hostname "%s", expected "%s"\n' "$host" "$(uname -n)" >&2
		return 1
	fi
	if grep -o ' time="[^"]*"' "$1" | grep -vqE '^ time="[0-9]+\.[0-9]{3}"$'; then
		printf 'a time that is not seconds:\n%s\n' "$(grep -o ' time="[^"]*"' "$1")" >&2
		return 1
	fi
	norm=$(sed -E 's/ time="[0-9]+\.[0-9]{3}"/ time="T"/g; s/ timestamp="[^"]*"/ timestamp="TS"/; s/ hostname="[^"]*"/ hostname="H"/' "$1")
	if [ "$norm" != "$2" ]; then
		printf 'expected %s:\n%s\n--- got:\n%s\n' "$1" "$2" "$norm" >&2
		return 1
	fi
}

@test "a CI clone holds the stages only as origin/*" {
	make_server
	make_ci_clone feature/timezone
	run git for-each-ref --format='%(refname)' refs/heads
	assert_output_is ""
	run "$FLEETGATE" gate --source feature/timezone --target main
	assert_status 0
	assert_output_is "gate: feature/timezone -> main: accepted"
}

@test "main -> canary and canary -> production are accepted" {
	make_server
	make_ci_clone main
	run "$FLEETGATE" gate --source main --target canary
	assert_status 0
	assert_output_is "gate: main -> canary: accepted
  judged as a merge commit (--merge-method to choose); a fast-forward would be accepted too"
	run "$FLEETGATE" gate --source canary --target production
	assert_status 0
	assert_output_is "gate: canary -> production: accepted
  judged as a merge commit (--merge-method to choose); a fast-forward would be accepted too"
}

@test "--repo judges a bare repository from anywhere, with its local branches" {
	make_server
	run "$FLEETGATE" gate --repo server.git --source main --target canary --format json
	assert_status 0
	assert_output_is "{
  \"source\": \"main\",
  \"target\": \"canary\",
  \"source_commit\": \"$(git -C server.git rev-parse main)\",
  \"target_commit\": \"$(git -C server.git rev-parse canary)\",
  \"accepted\": true,
  \"reasons\": [],
  \"diagnostics\": []
}"
}

@test "feature -> canary is refused: canary takes merge requests only from main" {
	make_server
	make_ci_clone feature/timezone
	run "$FLEETGATE" gate --source feature/timezone --target canary
	assert_status 1
	assert_output_is "gate: feature/timezone -> canary: refused
  stage 'canary' takes only unmodified merges from 'main'
  [not-from-upstream] 'canary' takes merge requests only from 'main', not from 'feature/timezone'
    what to do: open the merge request from the upstream stage instead"
}

@test "main -> production is refused: production takes merge requests only from canary" {
	make_server
	make_ci_clone main
	run "$FLEETGATE" gate --source main --target production --format json
	assert_status 1
	assert_output_is "{
  \"source\": \"main\",
  \"target\": \"production\",
  \"source_commit\": \"$(sha origin/main)\",
  \"target_commit\": \"$(sha origin/production)\",
  \"accepted\": false,
  \"reasons\": [
    {\"rule\": \"not-from-upstream\", \"message\": \"'production' takes merge requests only from 'canary', not from 'main'\", \"commit\": null, \"subject\": null, \"advice\": \"open the merge request from the upstream stage instead\"}
  ],
  \"diagnostics\": []
}"
	run "$FLEETGATE" gate --source main --target production
	assert_status 1
	assert_output_is "gate: main -> production: refused
  stage 'production' takes only unmodified merges from 'canary'
  [not-from-upstream] 'production' takes merge requests only from 'canary', not from 'main'
    what to do: open the merge request from the upstream stage instead"
}

@test "a target that changed on its own is refused: the merge would bring that change" {
	make_server
	git -C dev checkout -q canary
	echo "# hotfix" >> dev/fleet.yaml
	git -C dev commit -q -a -m "Hotfix on canary"
	git -C dev push -q "$WORK/server.git" canary
	make_ci_clone main
	run "$FLEETGATE" gate --source main --target canary
	assert_status 1
	assert_output_is "gate: main -> canary: refused
  stage 'canary' takes only unmodified merges from 'main'
  [modified-content] the forge's merge commit changes what it brings from 'main': its tree differs from the merged commit's
    what to do: merge without changing anything (git merge --no-ff <upstream>, no edits, no conflict resolution); make changes on the upstream stage first
  judged as a merge commit (--merge-method to choose); a fast-forward would be refused: 'canary' cannot fast-forward to 'main': its tip $(short origin/canary) is not in the history of 'main' (a promotion merge commit, or a change of its own, is on it)"
}

@test "the local branch wins over origin/<name>" {
	make_server
	make_ci_clone main
	# A local canary that undid canary's last change: it is the one judged.
	git branch canary "$(git commit-tree -p origin/canary -m 'Local experiment' 'origin/production^{tree}')"
	run "$FLEETGATE" gate --source main --target canary --merge-method merge
	assert_status 1
	assert_output_is "gate: main -> canary: refused
  stage 'canary' takes only unmodified merges from 'main'
  [modified-content] the forge's merge commit changes what it brings from 'main': its tree differs from the merged commit's
    what to do: merge without changing anything (git merge --no-ff <upstream>, no edits, no conflict resolution); make changes on the upstream stage first"
	git branch -D -q canary
	run "$FLEETGATE" gate --source main --target canary --merge-method merge
	assert_status 0
	assert_output_is "gate: main -> canary: accepted"
}

@test "a target that exists nowhere is a branch yet to be created" {
	make_server
	make_ci_clone feature/timezone
	run "$FLEETGATE" gate --source feature/timezone --target develop --format json
	assert_status 0
	assert_output_is "{
  \"source\": \"feature/timezone\",
  \"target\": \"develop\",
  \"source_commit\": \"$(sha origin/feature/timezone)\",
  \"target_commit\": null,
  \"accepted\": true,
  \"reasons\": [],
  \"diagnostics\": []
}"
}

@test "GitLab's variables name the branches; flags win over them" {
	make_server
	make_ci_clone feature/timezone
	export CI_MERGE_REQUEST_SOURCE_BRANCH_NAME=feature/timezone
	export CI_MERGE_REQUEST_TARGET_BRANCH_NAME=canary
	export GITHUB_HEAD_REF=main GITHUB_BASE_REF=canary
	run "$FLEETGATE" gate
	assert_status 1
	assert_output_is "gate: feature/timezone -> canary: refused
  stage 'canary' takes only unmodified merges from 'main'
  [not-from-upstream] 'canary' takes merge requests only from 'main', not from 'feature/timezone'
    what to do: open the merge request from the upstream stage instead"
	run "$FLEETGATE" gate --target main
	assert_status 0
	assert_output_is "gate: feature/timezone -> main: accepted"
}

@test "GitHub's variables name the branches, and annotations come first under Actions" {
	make_server
	make_ci_clone feature/tune
	export GITHUB_HEAD_REF=feature/tune GITHUB_BASE_REF=canary
	run "$FLEETGATE" gate
	assert_status 1
	assert_output_is "gate: feature/tune -> canary: refused
  stage 'canary' takes only unmodified merges from 'main'
  [not-from-upstream] 'canary' takes merge requests only from 'main', not from 'feature/tune'
    what to do: open the merge request from the upstream stage instead"
	export GITHUB_ACTIONS=true
	run "$FLEETGATE" gate
	assert_status 1
	assert_output_is "::error title=fleetgate [not-from-upstream]::'canary' takes merge requests only from 'main', not from 'feature/tune'%0Awhat to do: open the merge request from the upstream stage instead
gate: feature/tune -> canary: refused
  stage 'canary' takes only unmodified merges from 'main'
  [not-from-upstream] 'canary' takes merge requests only from 'main', not from 'feature/tune'
    what to do: open the merge request from the upstream stage instead"
	# JSON stays one document: no workflow commands in it.
	run "$FLEETGATE" gate --format json
	assert_status 1
	[ "${lines[0]}" = "{" ]
	[ "${lines[1]}" = '  "source": "feature/tune",' ]
}

# The reports of feature/typo -> main, in a clone detached at feature/typo.
typo_text() {
	local s
	s=$(short origin/feature/typo)
	echo "gate: feature/typo -> main: refused
  stage 'main' is the first stage
  [invalid-config] the fleet configuration at $s has 1 error
    commit $s \"Break the kiosk\"
    what to do: fix the errors on the first stage and promote the fix
$KIOSK:6:1: error: unknown key 'bogus' in a device file [unknown-key]
$LAB: warning: subscribed_branch 'develop' is neither a stage nor a branch of this repository [unknown-branch]
devices/notes.txt: warning: ignored: only devices/<device id>.yaml files are read here [ignored-file]"
}

typo_junit() {
	echo "<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<testsuites name=\"fleetgate\" tests=\"4\" failures=\"1\" errors=\"0\" time=\"T\">
  <testsuite name=\"fleetgate\" tests=\"4\" failures=\"1\" errors=\"0\" skipped=\"0\" time=\"T\" timestamp=\"TS\" hostname=\"H\">
    <testcase classname=\"fleetgate.promotion\" name=\"promotion: feature/typo -&gt; main\" time=\"T\"/>
    <testcase classname=\"fleetgate.config\" name=\"$KIOSK\" file=\"$KIOSK\" time=\"T\">
      <failure type=\"unknown-key\" message=\"1 error, 0 warnings\">$KIOSK:6:1: error: unknown key 'bogus' in a device file [unknown-key]
</failure>
    </testcase>
    <testcase classname=\"fleetgate.config\" name=\"$LAB\" file=\"$LAB\" time=\"T\">
      <system-out>$LAB: warning: subscribed_branch 'develop' is neither a stage nor a branch of this repository [unknown-branch]
</system-out>
    </testcase>
    <testcase classname=\"fleetgate.config\" name=\"devices/notes.txt\" file=\"devices/notes.txt\" time=\"T\">
      <system-out>devices/notes.txt: warning: ignored: only devices/&lt;device id&gt;.yaml files are read here [ignored-file]
</system-out>
    </testcase>
  </testsuite>
</testsuites>"
}

typo_codequality() {
	local kiosk_fp lab_fp notes_fp
	kiosk_fp=$(fingerprint unknown-key "$KIOSK" 6 "unknown key 'bogus' in a device file")
	lab_fp=$(fingerprint unknown-branch "$LAB" 1 "subscribed_branch 'develop' is neither a stage nor a branch of this repository")
	notes_fp=$(fingerprint ignored-file devices/notes.txt 1 "ignored: only devices/<device id>.yaml files are read here")
	echo "[
  {\"description\": \"unknown key 'bogus' in a device file\", \"check_name\": \"unknown-key\", \"fingerprint\": \"$kiosk_fp\", \"severity\": \"major\", \"location\": {\"path\": \"$KIOSK\", \"lines\": {\"begin\": 6}}},
  {\"description\": \"subscribed_branch 'develop' is neither a stage nor a branch of this repository\", \"check_name\": \"unknown-branch\", \"fingerprint\": \"$lab_fp\", \"severity\": \"minor\", \"location\": {\"path\": \"$LAB\", \"lines\": {\"begin\": 1}}},
  {\"description\": \"ignored: only devices/<device id>.yaml files are read here\", \"check_name\": \"ignored-file\", \"fingerprint\": \"$notes_fp\", \"severity\": \"minor\", \"location\": {\"path\": \"devices/notes.txt\", \"lines\": {\"begin\": 1}}}
]"
}

@test "an invalid configuration on the source is refused, in every format" {
	make_server
	make_ci_clone feature/typo
	local s S t
	s=$(short origin/feature/typo) S=$(sha origin/feature/typo) t=$(sha origin/main)
	export GITHUB_ACTIONS=true
	JUNIT_BEFORE=$(date -u +%Y-%m-%dT%H:%M:%S)
	run "$FLEETGATE" gate --source feature/typo --target main \
		--junit "$WORK/gate.xml" --codequality "$WORK/gate-cq.json" --markdown "$WORK/gate.md"
	assert_status 1
	assert_output_is "::error title=fleetgate [invalid-config]::the fleet configuration at $s has 1 error%0Awhat to do: fix the errors on the first stage and promote the fix
::error file=$KIOSK,line=6,col=1,title=fleetgate [unknown-key]::unknown key 'bogus' in a device file
::warning file=$LAB,title=fleetgate [unknown-branch]::subscribed_branch 'develop' is neither a stage nor a branch of this repository
::warning file=devices/notes.txt,title=fleetgate [ignored-file]::ignored: only devices/<device id>.yaml files are read here
$(typo_text)"
	assert_junit_is "$WORK/gate.xml" "$(typo_junit)"
	assert_file_is "$WORK/gate-cq.json" "$(typo_codequality)"
	assert_file_is "$WORK/gate.md" "### fleetgate gate: feature/typo → main: refused

| check | result |
| --- | --- |
| promotion rules | passed |
| fleet configuration at \`$s\` | 1 error, 2 warnings |

| rule | message | commit | what to do |
| --- | --- | --- | --- |
| invalid-config | the fleet configuration at $s has 1 error | \`$s\` Break the kiosk | fix the errors on the first stage and promote the fix |

| file | line | severity | code | message |
| --- | --- | --- | --- | --- |
| $KIOSK | 6:1 | error | unknown-key | unknown key 'bogus' in a device file |
| $LAB |  | warning | unknown-branch | subscribed\\_branch 'develop' is neither a stage nor a branch of this repository |
| devices/notes.txt |  | warning | ignored-file | ignored: only devices/&lt;device id&gt;.yaml files are read here |"
	unset GITHUB_ACTIONS
	run "$FLEETGATE" gate --source feature/typo --target main --format json
	assert_status 1
	assert_output_is "{
  \"source\": \"feature/typo\",
  \"target\": \"main\",
  \"source_commit\": \"$S\",
  \"target_commit\": \"$t\",
  \"accepted\": false,
  \"reasons\": [
    {\"rule\": \"invalid-config\", \"message\": \"the fleet configuration at $s has 1 error\", \"commit\": \"$S\", \"subject\": \"Break the kiosk\", \"advice\": \"fix the errors on the first stage and promote the fix\"}
  ],
  \"diagnostics\": [
    {\"file\": \"$KIOSK\", \"line\": 6, \"column\": 1, \"severity\": \"error\", \"code\": \"unknown-key\", \"message\": \"unknown key 'bogus' in a device file\"},
    {\"file\": \"$LAB\", \"line\": 0, \"column\": 0, \"severity\": \"warning\", \"code\": \"unknown-branch\", \"message\": \"subscribed_branch 'develop' is neither a stage nor a branch of this repository\"},
    {\"file\": \"devices/notes.txt\", \"line\": 0, \"column\": 0, \"severity\": \"warning\", \"code\": \"ignored-file\", \"message\": \"ignored: only devices/<device id>.yaml files are read here\"}
  ]
}"
	# The same diagnostics as validate gives for that commit.
	run "$FLEETGATE" validate --rev origin/feature/typo
	assert_status 1
	[ "${lines[0]}" = "$KIOSK:6:1: error: unknown key 'bogus' in a device file [unknown-key]" ]
	[ "${lines[2]}" = "devices/notes.txt: warning: ignored: only devices/<device id>.yaml files are read here [ignored-file]" ]
}

@test "the reports of an accepted merge request" {
	make_server
	make_ci_clone main
	JUNIT_BEFORE=$(date -u +%Y-%m-%dT%H:%M:%S)
	run "$FLEETGATE" gate --source main --target canary \
		--junit gate.xml --codequality gate-cq.json --markdown gate.md
	assert_status 0
	assert_output_is "gate: main -> canary: accepted
  judged as a merge commit (--merge-method to choose); a fast-forward would be accepted too"
	assert_junit_is gate.xml "<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<testsuites name=\"fleetgate\" tests=\"2\" failures=\"0\" errors=\"0\" time=\"T\">
  <testsuite name=\"fleetgate\" tests=\"2\" failures=\"0\" errors=\"0\" skipped=\"0\" time=\"T\" timestamp=\"TS\" hostname=\"H\">
    <testcase classname=\"fleetgate.promotion\" name=\"promotion: main -&gt; canary\" time=\"T\"/>
    <testcase classname=\"fleetgate.config\" name=\"fleet configuration\" time=\"T\"/>
  </testsuite>
</testsuites>"
	assert_file_is gate-cq.json "[]"
	assert_file_is gate.md "### fleetgate gate: main → canary: accepted

| check | result |
| --- | --- |
| promotion rules | passed |
| fleet configuration at \`$(short origin/main)\` | valid |"
	# Replaced, not appended to, and no temporary file left behind.
	run "$FLEETGATE" gate --source main --target canary --markdown gate.md
	assert_status 0
	[ "$(grep -c '^### ' gate.md)" = 1 ]
	run ls gate*
	assert_output_is "gate-cq.json
gate.md
gate.xml"
}

@test "an unknown source branch, a bad name or the same branch twice is exit 2" {
	make_server
	make_ci_clone main
	run "$FLEETGATE" gate --source feature/nope --target main --junit gate.xml
	assert_status 2
	assert_output_is "fleetgate gate: source branch 'feature/nope' not found: neither refs/heads/feature/nope, refs/remotes/feature/nope nor refs/remotes/origin/feature/nope exists (fetch it; a fork's branch must be fetched into one of them)"
	[ ! -e gate.xml ]
	run "$FLEETGATE" gate --source 'bad..name' --target main
	assert_status 2
	assert_output_is "fleetgate gate: source 'bad..name' is not a valid branch name"
	run "$FLEETGATE" gate --source main --target 'x~1'
	assert_status 2
	assert_output_is "fleetgate gate: target 'x~1' is not a valid branch name"
	run "$FLEETGATE" gate --source main --target main
	assert_status 2
	assert_output_is "fleetgate gate: source and target are the same branch 'main'"
}

@test "a missing source or target is exit 2, naming the flags and the variables" {
	make_server
	make_ci_clone main
	run "$FLEETGATE" gate
	assert_status 2
	assert_output_is "fleetgate gate: no source branch: give --source, or run in a merge-request pipeline (GitLab sets CI_MERGE_REQUEST_SOURCE_BRANCH_NAME, GitHub and Gitea Actions set GITHUB_HEAD_REF)"
	# Outside a pull request GitHub sets the variables, empty.
	GITHUB_HEAD_REF=main GITHUB_BASE_REF= run "$FLEETGATE" gate
	assert_status 2
	assert_output_is "fleetgate gate: no target branch: give --target, or run in a merge-request pipeline (GitLab sets CI_MERGE_REQUEST_TARGET_BRANCH_NAME, GitHub and Gitea Actions set GITHUB_BASE_REF)"
	run "$FLEETGATE" gate --target canary
	assert_status 2
	assert_output_is "fleetgate gate: no source branch: give --source, or run in a merge-request pipeline (GitLab sets CI_MERGE_REQUEST_SOURCE_BRANCH_NAME, GitHub and Gitea Actions set GITHUB_HEAD_REF)"
}

@test "a shallow clone or no repository is exit 2" {
	make_server
	git clone -q --depth 1 --no-single-branch "file://$WORK/server.git" shallow
	run "$FLEETGATE" gate --repo shallow --source main --target canary
	assert_status 2
	assert_output_is "fleetgate gate: $WORK/shallow/.git/ is a shallow clone: judging a merge request needs the history of both branches (GitLab CI: GIT_DEPTH: 0; actions/checkout: fetch-depth: 0; else git fetch --unshallow)"
	git -C shallow fetch -q --unshallow
	run "$FLEETGATE" gate --repo shallow --source main --target canary
	assert_status 0
	assert_output_is "gate: main -> canary: accepted
  judged as a merge commit (--merge-method to choose); a fast-forward would be accepted too"
	mkdir plain
	cd plain
	run "$FLEETGATE" gate --source main --target canary
	assert_status 2
	assert_output_is "fleetgate gate: current folder: not a git repository (could not find repository from '.')"
}

@test "a clone that belongs to another user says how to trust it" {
	[ "$(id -u)" = 0 ] || skip "needs root to give the clone another owner"
	make_server
	make_ci_clone main
	chown -R 4242:4242 "$WORK/ci"
	run "$FLEETGATE" gate --source main --target canary
	assert_status 2
	assert_output_is "fleetgate gate: current folder: the repository belongs to another user; if you trust it, run: git config --global --add safe.directory <its path>"
	git config --global --add safe.directory "$WORK/ci"
	run "$FLEETGATE" gate --source main --target canary
	assert_status 0
	assert_output_is "gate: main -> canary: accepted
  judged as a merge commit (--merge-method to choose); a fast-forward would be accepted too"
}

@test "bad options and unwritable reports are exit 2; --help is exit 0" {
	make_server
	make_ci_clone main
	run "$FLEETGATE" gate --source main --target canary --format xml
	assert_status 2
	assert_output_is "fleetgate gate: --format must be text or json, not 'xml'"
	run "$FLEETGATE" gate --source main --target canary --junit ""
	assert_status 2
	assert_output_is "fleetgate gate: --junit needs a file name, not an empty one"
	run "$FLEETGATE" gate --source main --target canary --sauce x
	assert_status 2
	assert_output_is "fleetgate gate: unknown option '--sauce' (see --help)"
	run "$FLEETGATE" gate --source main --target canary extra
	assert_status 2
	assert_output_is "fleetgate gate: unexpected argument 'extra'"
	run "$FLEETGATE" gate --source main --target canary --codequality "$WORK/no/such/dir/cq.json"
	assert_status 2
	assert_output_is "gate: main -> canary: accepted
  judged as a merge commit (--merge-method to choose); a fast-forward would be accepted too
fleetgate gate: --codequality: $WORK/no/such/dir/cq.json: No such file or directory"
	run "$FLEETGATE" gate --help
	assert_status 0
	[ "${lines[0]}" = "usage: fleetgate gate [--source BRANCH --target BRANCH] [--repo PATH]" ]
	[ "${lines[${#lines[@]}-1]}" = "environment error (no repository, shallow clone, unknown source branch)." ]
}

# ---- the gate and a real push judge the forge's merge alike ----

# $SRV: a bare server with fleetgate's hooks, main bootstrapped and canary
# and production created at it; the current folder is the developer's clone
# `w`, and the CI job's clone (only origin/*) is refreshed by ci_fetch.
hooked_stages() {
	unset GL_ID GL_USERNAME GL_PROTOCOL GITEA_PUSHER_NAME GL_USER REMOTE_USER
	unset MENDER_SERVER MENDER_ACCESS_TOKEN MENDER_USER MENDER_PASSWORD
	export USER=fleet-dev
	SRV=$WORK/srv.git
	URL=file://$SRV
	git init -q --bare "$SRV"
	"$FLEETGATE" install --repo "$SRV" >/dev/null
	git clone -q "$URL" w 2>/dev/null
	cp -R "$FG_TOP/fleet-example/." w/
	cd w
	git add -A
	git commit -q -m "Example fleet"
	git push -q origin main 2>/dev/null
	git push -q origin main:canary main:production 2>/dev/null
	git fetch -q origin
	git branch -q canary origin/canary
	# as a CI job's clone: detached, no local branch
	git clone -q --no-checkout "$URL" "$WORK/ci" 2>/dev/null
	git -C "$WORK/ci" checkout -q --detach origin/main
	git -C "$WORK/ci" branch -q -D main
}

ci_fetch() { git -C "$WORK/ci" fetch -q origin; }

# The gate in the CI clone.
ci_gate() { # gate arguments...
	run "$FLEETGATE" gate --repo "$WORK/ci" "$@"
}

# canary holds a promotion merge commit made as GitLab makes it, then main
# takes a second reviewed change.
promoted_once() {
	hooked_stages
	merge_feature one
	git push -q origin main 2>/dev/null
	git checkout -q canary
	git merge -q --no-ff -m "Merge branch 'main' into 'canary'" main
	git push -q origin canary 2>/dev/null
	assert_server_tip canary "$(git rev-parse canary)"
	git checkout -q main
	merge_feature two
	git push -q origin main 2>/dev/null
	ci_fetch
}

METHOD_ADVICE="(GitLab: Settings > Merge requests > Merge method; GitHub and Gitea: the merge button's method; fleetgate gate --merge-method)"

@test "after a promotion merge commit, the next merge commit passes the gate and the hook" {
	promoted_once
	ci_gate --source origin/main --target origin/canary --merge-method merge
	assert_status 0
	assert_output_is "gate: main -> canary: accepted"
	ci_gate --source main --target canary
	assert_status 0
	assert_output_is "gate: main -> canary: accepted
  judged as a merge commit (--merge-method to choose); a fast-forward would be refused: 'canary' cannot fast-forward to 'main': its tip $(short canary) is not in the history of 'main' (a promotion merge commit, or a change of its own, is on it)"
	ci_gate --source main --target canary --merge-method ff
	assert_status 1
	assert_output_is "gate: main -> canary: refused
  stage 'canary' takes only unmodified merges from 'main'
  [merge-method] the pre-receive hook refuses a fast-forward of 'main' into 'canary' here
    what to do: choose the merge method 'merge commit' $METHOD_ADVICE
  [fast-forward] 'canary' cannot fast-forward to 'main': its tip $(short canary) is not in the history of 'main' (a promotion merge commit, or a change of its own, is on it)
    commit $(short canary) \"Merge branch 'main' into 'canary'\"
    what to do: choose the merge method 'merge commit'"
	# GitLab's merge commit, pushed
	git checkout -q canary
	git merge -q --no-ff -m "Merge branch 'main' into 'canary'" main
	push origin canary
	assert_status 0
	assert_server_tip canary "$(git rev-parse canary)"
	[ "$(git rev-parse canary^2)" = "$(git rev-parse main)" ]
}

@test "a squash or a rebase is refused by the gate and the hook, and the gate names the method" {
	promoted_once
	old=$(git rev-parse canary)
	ci_gate --source main --target canary --merge-method squash
	assert_status 1
	assert_output_is "gate: main -> canary: refused
  stage 'canary' takes only unmodified merges from 'main'
  [merge-method] the merge method 'squash' makes new commits that 'main' never had as its tip: the pre-receive hook refuses them
    what to do: choose the merge method 'merge commit' $METHOD_ADVICE
  [not-from-upstream] the forge's squash commit is not in 'main': 'canary' takes only what 'main' already holds
    what to do: make the change on a branch merged into the first stage, then promote it stage by stage"
	# GitLab says when it squashes
	CI_MERGE_REQUEST_SQUASH_ON_MERGE=true ci_gate --source main --target canary --format json
	assert_status 1
	[ "$(printf '%s' "$output" | jq -r '.reasons[0].rule')" = merge-method ]
	# the squash, pushed
	git checkout -q -b squashed canary
	git merge -q --squash main >/dev/null
	git commit -q -m "Main, squashed"
	push origin squashed:canary
	assert_status 1
	assert_line_present "remote: fleetgate:   [not-from-upstream] commit $(short squashed) is not in 'main': 'canary' takes only what 'main' already holds"
	assert_server_tip canary "$old"
	# the rebase: main's own commits replayed onto canary
	ci_gate --source main --target canary --merge-method rebase
	assert_status 1
	assert_output_is "gate: main -> canary: refused
  stage 'canary' takes only unmodified merges from 'main'
  [merge-method] the merge method 'rebase' makes new commits that 'main' never had as its tip: the pre-receive hook refuses them
    what to do: choose the merge method 'merge commit' $METHOD_ADVICE
  [not-from-upstream] the rebase's copy of 'Change two' is not in 'main': 'canary' takes only what 'main' already holds
    what to do: make the change on a branch merged into the first stage, then promote it stage by stage"
	git checkout -q -b rebased main
	git rebase -q canary >/dev/null 2>&1
	[ "$(git log --format=%s -1 rebased)" = "Change two" ]
	push origin rebased:canary
	assert_status 1
	assert_line_present "remote: fleetgate:   [not-from-upstream] commit $(short rebased) is not in 'main': 'canary' takes only what 'main' already holds"
	assert_server_tip canary "$old"
}

@test "canary that never held a promotion merge takes a fast-forward or GitHub's merge commit" {
	hooked_stages
	merge_feature one
	git push -q origin main 2>/dev/null
	ci_fetch
	ci_gate --source main --target canary --merge-method ff
	assert_status 0
	assert_output_is "gate: main -> canary: accepted"
	ci_gate --source main --target canary --merge-method squash
	assert_status 1
	[ "${lines[2]}" = "  [merge-method] the merge method 'squash' makes new commits that 'main' never had as its tip: the pre-receive hook refuses them" ]
	[ "${lines[3]}" = "    what to do: choose the merge method 'fast-forward' or 'merge commit' $METHOD_ADVICE" ]
	GITHUB_ACTIONS=true GITHUB_REF=refs/pull/7/merge GITHUB_REPOSITORY_OWNER=fleet ci_gate --source main --target canary --merge-method merge
	assert_status 0
	assert_output_is "gate: main -> canary: accepted"
	# GitHub's merge commit, pushed to production's twin: canary takes the fast-forward
	git checkout -q canary
	git merge -q --ff-only main
	push origin canary
	assert_status 0
	assert_server_tip canary "$(git rev-parse main)"
	# and production takes GitHub's merge commit of canary
	git checkout -q -b production origin/production
	git merge -q --no-ff -m "Merge pull request #7 from fleet/canary" canary
	ci_fetch
	ci_gate --source canary --target production --merge-method merge
	assert_status 0
	push origin production
	assert_status 0
	assert_server_tip production "$(git rev-parse production)"
}

@test "branch names as git users type them, in a clone with only origin/*" {
	hooked_stages
	merge_feature one
	git push -q origin main 2>/dev/null
	ci_fetch
	for s in main origin/main refs/heads/main refs/remotes/origin/main; do
		ci_gate --source "$s" --target "${s/main/canary}" --merge-method merge
		assert_status 0
		assert_output_is "gate: main -> canary: accepted"
	done
	CI_MERGE_REQUEST_SOURCE_BRANCH_NAME=origin/main CI_MERGE_REQUEST_TARGET_BRANCH_NAME=refs/remotes/origin/canary ci_gate --merge-method merge
	assert_status 0
	assert_output_is "gate: main -> canary: accepted"
	GITHUB_HEAD_REF=refs/heads/main GITHUB_BASE_REF=origin/canary ci_gate --merge-method merge
	assert_status 0
	assert_output_is "gate: main -> canary: accepted"
	ci_gate --source origin/nope --target canary
	assert_status 2
	assert_output_is "fleetgate gate: source branch 'origin/nope' not found: neither refs/heads/origin/nope, refs/remotes/origin/nope nor refs/remotes/origin/origin/nope exists (fetch it; a fork's branch must be fetched into one of them)"
	ci_gate --source refs/tags/v1 --target canary
	assert_status 2
	assert_output_is "fleetgate gate: source 'refs/tags/v1' is not a branch (a branch is refs/heads/<name> or refs/remotes/<remote>/<name>)"
}

# ---- the pipeline snippets of docs/gate.md, run as written ----

# The lines of the fenced block after "<!-- ci-snippet: NAME -->".
snippet() { # name
	awk -v name="$1" '
		$0 == "<!-- ci-snippet: " name " -->" { want = 1; next }
		want && /^```/ { if (inside) exit; inside = 1; next }
		inside { print }' "$FG_TOP/docs/gate.md"
}

# The snippet's one command line that runs fleetgate gate.
snippet_command() { # name
	snippet "$1" | sed -n 's/^ *\(- \)\{0,1\}\(run: \)\{0,1\}\(fleetgate gate.*\)$/\3/p'
}

# A value in the snippet: the text after "KEY:" up to a comment.
snippet_value() { # name key
	snippet "$1" | sed -n "s/^ *$2: *\\([^#]*[^# ]\\) *\\(#.*\\)\\{0,1\\}\$/\\1/p"
}

use_fleetgate_on_path() {
	mkdir -p "$WORK/bin"
	ln -s "$FLEETGATE" "$WORK/bin/fleetgate"
	export PATH="$WORK/bin:$PATH"
}

@test "the GitLab CI job of docs/gate.md runs as written" {
	make_server
	make_ci_clone feature/typo
	use_fleetgate_on_path
	local cmd junit cq
	cmd=$(snippet_command gitlab)
	[ "$cmd" = "fleetgate gate --junit gate.xml --codequality gate-cq.json" ]
	[ "$(snippet_value gitlab GIT_DEPTH)" = 0 ]
	[ "$(snippet_value gitlab '- if')" = '$CI_PIPELINE_SOURCE == "merge_request_event"' ]
	[ "$(snippet_value gitlab when)" = always ]
	junit=$(snippet_value gitlab junit)
	cq=$(snippet_value gitlab codequality)
	[ "$junit" = gate.xml ]
	[ "$cq" = gate-cq.json ]
	JUNIT_BEFORE=$(date -u +%Y-%m-%dT%H:%M:%S)
	CI_MERGE_REQUEST_SOURCE_BRANCH_NAME=feature/typo CI_MERGE_REQUEST_TARGET_BRANCH_NAME=main \
		run bash -c "$cmd"
	assert_status 1
	assert_output_is "$(typo_text)"
	# The artifacts the job uploads are the files the command wrote.
	assert_junit_is "$junit" "$(typo_junit)"
	assert_file_is "$cq" "$(typo_codequality)"
}

@test "the GitHub and Gitea Actions workflows of docs/gate.md run as written" {
	make_server
	make_ci_clone feature/tune
	use_fleetgate_on_path
	local name cmd
	for name in github gitea; do
		cmd=$(snippet_command "$name")
		[ "$cmd" = 'fleetgate gate --markdown "$GITHUB_STEP_SUMMARY"' ]
		[ "$(snippet_value "$name" fetch-depth)" = 0 ]
		[ "$(snippet_value "$name" on)" = pull_request ]
		[ "$(snippet_value "$name" '- uses')" = actions/checkout@v4 ]
		rm -f "$WORK/summary-$name.md"
		GITHUB_ACTIONS=true GITHUB_HEAD_REF=feature/tune GITHUB_BASE_REF=canary \
			GITHUB_STEP_SUMMARY="$WORK/summary-$name.md" run bash -c "$cmd"
		assert_status 1
		assert_output_is "::error title=fleetgate [not-from-upstream]::'canary' takes merge requests only from 'main', not from 'feature/tune'%0Awhat to do: open the merge request from the upstream stage instead
gate: feature/tune -> canary: refused
  stage 'canary' takes only unmodified merges from 'main'
  [not-from-upstream] 'canary' takes merge requests only from 'main', not from 'feature/tune'
    what to do: open the merge request from the upstream stage instead"
		assert_file_is "$WORK/summary-$name.md" "### fleetgate gate: feature/tune → canary: refused

| check | result |
| --- | --- |
| promotion rules | refused: not-from-upstream |
| fleet configuration at \`$(short HEAD)\` | valid |

| rule | message | commit | what to do |
| --- | --- | --- | --- |
| not-from-upstream | 'canary' takes merge requests only from 'main', not from 'feature/tune' |  | open the merge request from the upstream stage instead |"
	done
	# The step before the gate in the GitHub workflow, for a container job.
	[ "$(snippet github | grep -c 'run: git config --global --add safe.directory "$GITHUB_WORKSPACE"')" = 1 ]
}
