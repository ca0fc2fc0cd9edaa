#!/usr/bin/env bats
# The promotion rules through git's smart HTTP protocol: `git http-backend`
# behind lighttpd on 127.0.0.1 (tests/e2e/http_helpers.bash). The hooks run
# in the web server's CGI environment: the pusher is REMOTE_USER, never the
# client's USER.

load helpers
load push_helpers
load http_helpers

setup() {
	setup_push
	http_start fleet-dev release-manager mallory
	URL=$(http_url fleet-dev)
}

teardown() {
	http_stop
	teardown_workspace
}

ONE_REFUSED="remote: fleetgate: 1 ref judged (1 stage): 0 accepted, 1 refused"

@test "http: the server answers, and stops in teardown" {
	port_listening "$HTTP_PORT"
	pid=$HTTP_PID
	http_stop
	assert_fails kill -0 "$pid" 2>/dev/null
	assert_fails port_listening "$HTTP_PORT"
}

@test "http: allowed: bootstrap, a feature merged into main, canary by fast-forward and by merge" {
	make_server
	make_dev_clone
	cd dev
	push origin main
	assert_status 0
	assert_output_is "$(deferred main main)
$(git_pushed " * [new branch]      main -> main")"
	push origin main:canary
	assert_status 0
	assert_output_is "$(deferred canary main)
$(git_pushed " * [new branch]      main -> canary")"
	git fetch -q origin
	git branch -q canary origin/canary

	old=$(git rev-parse main)
	merge_feature one
	push origin main
	assert_status 0
	assert_output_is "$(deferred main main)
$(git_pushed "$(ff_line "$old" main "main -> main")")"
	assert_server_tip main "$(git rev-parse main)"
	push origin main:canary
	assert_status 0
	assert_output_is "$(deferred canary main)
$(git_pushed "$(ff_line "$old" main "main -> canary")")"
	assert_server_tip canary "$(git rev-parse main)"

	git checkout -q canary
	git merge -q --ff-only main
	merge_feature two
	git push -q origin main
	old=$(git rev-parse canary)
	promote_merge canary main
	push origin canary
	assert_status 0
	assert_output_is "$(deferred canary canary)
$(git_pushed "$(ff_line "$old" canary "canary -> canary")")"
	assert_server_tip canary "$(git rev-parse canary)"
}

@test "http: refused: a direct commit on production, with its message" {
	bootstrap_stages
	git checkout -q production
	change "Direct edit of production"
	push origin production
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/production
remote: fleetgate:   stage 'production' takes only unmodified merges from 'canary'
remote: fleetgate:   [not-from-upstream] commit $(short production) is not in 'canary': 'production' takes only what 'canary' already holds
remote: fleetgate:     commit $(short production) \"Direct edit of production\"
remote: fleetgate:     what to do: make the change on a branch merged into the first stage, then promote it stage by stage
$ONE_REFUSED
$(git_refused " ! [remote rejected] production -> production (pre-receive hook declined)")"
	assert_server_tip production "$(git rev-parse main)"
}

@test "http: refused: a pusher not in fleetgate.pushers.production, named by REMOTE_USER" {
	ready_for_production
	URL=$(http_url mallory)
	USER=release-manager push "$URL" production # the client's USER does not count
	assert_status 1
	[ "${lines[0]}" = "remote: fleetgate: refusing refs/heads/production" ]
	[ "${lines[1]}" = "remote: fleetgate:   [pusher] 'mallory' may not push stage 'production'" ]
	assert_line_present "$ONE_REFUSED"
	assert_line_present " ! [remote rejected] production -> production (pre-receive hook declined)"
	assert_server_tip production "$(git rev-parse main~1)"

	URL=$(http_url release-manager)
	push "$URL" production
	assert_status 0
	assert_output_is "$(deferred production production)
$(git_pushed "$(ff_line main~1 production "production -> production")")"
	assert_server_tip production "$(git rev-parse production)"
}

@test "http: refused: an anonymous push while fleetgate.pushers.production is set" {
	ready_for_production
	URL=$(http_url)
	push "$URL" production
	assert_status 1
	assert_output_is "remote: fleetgate: refusing refs/heads/production
remote: fleetgate:   [pusher] only named people may push stage 'production', and the server could not tell who is pushing
remote: fleetgate:     what to do: the server must say who pushes (GL_USERNAME, GITEA_PUSHER_NAME, GL_USER, REMOTE_USER or USER)
$ONE_REFUSED
$(git_refused " ! [remote rejected] production -> production (pre-receive hook declined)")"
	assert_server_tip production "$(git rev-parse main~1)"
}

@test "http: without --atomic, main lands and the modified canary is declined" {
	modified_promotion
	old=$(git rev-parse main~1)
	push origin main canary
	assert_status 1
	assert_server_tip canary "$old"
	assert_output_is "$(modified_canary_declined)
$(deferred main main)
$(git_refused "$(ff_line "$old" main "main -> main")" " ! [remote rejected] canary -> canary (hook declined)")"
	assert_server_tip main "$(git rev-parse main)"
}

@test "http: with --atomic, nothing lands" {
	modified_promotion
	old=$(git rev-parse main~1)
	push --atomic origin main canary
	assert_status 1
	assert_server_tip main "$old"
	assert_server_tip canary "$old"
	assert_output_is "$(modified_canary_declined)
$(git_refused " ! [remote rejected] canary -> canary (hook declined)" " ! [remote rejected] main -> main (atomic push failure)")"
}

# The hand-off from pre-receive to the update hook under git http-backend,
# through an update hook pre-receive recognises.
@test "http: through a hand-written update hook: without --atomic main lands, canary is declined" {
	modified_promotion
	hand_written_update_hook
	old=$(git rev-parse main~1)
	push origin main canary
	assert_status 1
	assert_output_is "$(modified_canary_declined)
$(deferred main main)
$(git_refused "$(ff_line "$old" main "main -> main")" " ! [remote rejected] canary -> canary (hook declined)")"
	assert_server_tip main "$(git rev-parse main)"
	assert_server_tip canary "$old"
}

@test "http: through a hand-written update hook: with --atomic nothing lands" {
	modified_promotion
	hand_written_update_hook
	old=$(git rev-parse main~1)
	push --atomic origin main canary
	assert_status 1
	assert_output_is "$(modified_canary_declined)
$(git_refused " ! [remote rejected] canary -> canary (hook declined)" " ! [remote rejected] main -> main (atomic push failure)")"
	assert_server_tip main "$old"
	assert_server_tip canary "$old"
}
