# Git's smart HTTP protocol for the end-to-end tests: `git http-backend`
# behind a real lighttpd (mod_alias + mod_cgi + mod_setenv) on 127.0.0.1,
# started per test on a free port and stopped in teardown. Load after
# push_helpers.bash.
#
# The server has one URL prefix per user: requests under /as/NAME/ reach the
# CGI with REMOTE_USER=NAME, as a web server's authentication would set it;
# requests under /anonymous/ have no REMOTE_USER. GIT_PROJECT_ROOT is the
# test's folder, so $SRV is /as/NAME/srv.git.

LIGHTTPD=${LIGHTTPD:-/usr/sbin/lighttpd}
HTTP_PID=
HTTP_PORT=

# Is something listening on 127.0.0.1:PORT?
port_listening() { # port
	(exec 3<> "/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

http_write_config() { # port users...
	local port=$1 backend user
	shift
	backend="$(git --exec-path)/git-http-backend"
	mkdir -p "$WORK/www"
	{
		printf 'server.modules = ("mod_alias", "mod_setenv", "mod_cgi")\n'
		printf 'server.document-root = "%s/www"\n' "$WORK"
		printf 'server.bind = "127.0.0.1"\nserver.port = %s\n' "$port"
		printf 'server.errorlog = "%s/lighttpd-error.log"\n' "$WORK"
		printf 'alias.url = ( "/anonymous" => "%s"' "$backend"
		for user in "$@"; do printf ', "/as/%s" => "%s"' "$user" "$backend"; done
		printf ' )\n'
		# cgi.assign and setenv in one block: split over two blocks for the
		# same URL, lighttpd 1.4.69 served the CGI program as a static file.
		printf '$HTTP["url"] =~ "^/anonymous/" {\n\tcgi.assign = ( "" => "" )\n'
		printf '\tsetenv.add-environment = ( "GIT_PROJECT_ROOT" => "%s", "GIT_HTTP_EXPORT_ALL" => "" )\n}\n' "$WORK"
		for user in "$@"; do
			printf '$HTTP["url"] =~ "^/as/%s/" {\n\tcgi.assign = ( "" => "" )\n' "$user"
			printf '\tsetenv.add-environment = ( "GIT_PROJECT_ROOT" => "%s", "GIT_HTTP_EXPORT_ALL" => "", "REMOTE_USER" => "%s" )\n}\n' \
				"$WORK" "$user"
		done
	} > "$WORK/lighttpd.conf"
}

# Start the server for USERS; skips the test when lighttpd is absent.
# `timeout` is the safety net: the server never outlives two minutes, even
# if teardown never runs.
http_start() { # users...
	local attempt i
	if [ ! -x "$LIGHTTPD" ]; then
		# On CI, scripts/ensure-deps check has installed it: absent is a failure.
		if [ -n "${CI:-}" ]; then
			echo "lighttpd is not installed at $LIGHTTPD, and CI must have it (scripts/ensure-deps check)" >&2
			return 1
		fi
		skip "lighttpd is not installed at $LIGHTTPD (scripts/ensure-deps check installs it)"
	fi
	for attempt in 1 2 3 4 5 6 7 8; do
		HTTP_PORT=$((20000 + RANDOM % 40000))
		port_listening "$HTTP_PORT" && continue
		http_write_config "$HTTP_PORT" "$@"
		timeout 120 "$LIGHTTPD" -D -f "$WORK/lighttpd.conf" > "$WORK/lighttpd.out" 2>&1 3>&- &
		HTTP_PID=$!
		# up to 10 s: a loaded CI machine can be slow to start it
		for i in $(seq 1 200); do
			port_listening "$HTTP_PORT" && return 0
			kill -0 "$HTTP_PID" 2>/dev/null || break # it could not bind: another port
			sleep 0.05
		done
		http_stop
	done
	echo "could not start lighttpd; its log:" >&2
	cat "$WORK/lighttpd.out" "$WORK/lighttpd-error.log" >&2 2>/dev/null
	return 1
}

http_stop() {
	if [ -n "$HTTP_PID" ]; then
		kill "$HTTP_PID" 2>/dev/null || true
		wait "$HTTP_PID" 2>/dev/null || true # its status is that of the kill
		HTTP_PID=
	fi
	return 0
}

# The URL of $SRV for USER ("" = anonymous).
http_url() { # [user]
	if [ -n "${1:-}" ]; then
		printf 'http://127.0.0.1:%s/as/%s/srv.git' "$HTTP_PORT" "$1"
	else
		printf 'http://127.0.0.1:%s/anonymous/srv.git' "$HTTP_PORT"
	fi
}
