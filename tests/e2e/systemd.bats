#!/usr/bin/env bats
# contrib/systemd: units systemd accepts without a warning, timers that do
# what their comments say, and a README whose commands work as written
# after make install.

load helpers

setup() { setup_workspace; }
teardown() { teardown_workspace; }

UNITS="fleetgate-reconcile@.service fleetgate-reconcile@.timer fleetgate-reconcile-all@.service fleetgate-reconcile-all@.timer fleetgate-metrics@.service fleetgate-metrics@.timer"

@test "systemd-analyze verify accepts every unit without a warning" {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed (Debian package systemd)"
	mkdir "$WORK/units"
	for u in $UNITS; do
		# the ExecStart= binary must exist for verify: this build's
		sed "s|/usr/local/bin/fleetgate|$FLEETGATE|" "$FG_TOP/contrib/systemd/$u" >"$WORK/units/$u"
	done
	cd "$WORK/units"
	run systemd-analyze verify $UNITS
	assert_status 0
	assert_output_is ""
	run systemd-analyze verify fleetgate-reconcile@srv-git-fleet.git.service \
		fleetgate-reconcile@srv-git-fleet.git.timer fleetgate-reconcile-all@srv-git-fleet.git.service \
		fleetgate-reconcile-all@srv-git-fleet.git.timer fleetgate-metrics@srv-git-fleet.git.service \
		fleetgate-metrics@srv-git-fleet.git.timer
	assert_status 0
	assert_output_is ""
}

@test "the timers: every five minutes for the spool and the metrics, every hour for --all, no Persistent= without OnCalendar=" {
	local d="$FG_TOP/contrib/systemd"
	# Persistent= only acts on OnCalendar= timers
	for t in "$d"/*.timer; do
		if grep -q '^Persistent=' "$t"; then
			grep -q '^OnCalendar=' "$t" || { echo "$t: Persistent= without OnCalendar="; false; }
		fi
	done
	[ "$(grep '^OnUnitActiveSec=' "$d/fleetgate-reconcile@.timer")" = "OnUnitActiveSec=5min" ]
	[ "$(grep '^OnUnitActiveSec=' "$d/fleetgate-reconcile-all@.timer")" = "OnUnitActiveSec=1h" ]
	# one command per service, commented or not: an uncommented second
	# ExecStart= would run on the other timer's ticks
	[ "$(grep -c 'ExecStart=' "$d/fleetgate-reconcile@.service")" -eq 1 ]
	[ "$(grep '^ExecStart=' "$d/fleetgate-reconcile@.service")" = "ExecStart=/usr/local/bin/fleetgate reconcile --repo %f" ]
	[ "$(grep -c 'ExecStart=' "$d/fleetgate-reconcile-all@.service")" -eq 1 ]
	[ "$(grep '^ExecStart=' "$d/fleetgate-reconcile-all@.service")" = "ExecStart=/usr/local/bin/fleetgate reconcile --repo %f --all" ]
	[ "$(grep '^OnUnitActiveSec=' "$d/fleetgate-metrics@.timer")" = "OnUnitActiveSec=5min" ]
	[ "$(grep -c 'ExecStart=' "$d/fleetgate-metrics@.service")" -eq 1 ]
	[ "$(grep '^ExecStart=' "$d/fleetgate-metrics@.service")" = "ExecStart=/usr/local/bin/fleetgate status --repo %f --format openmetrics --output /var/lib/prometheus/node-exporter/fleetgate-%i.prom" ]
}

@test "the README's install commands name files make install writes, by absolute paths" {
	run make -C "$FG_TOP" --no-print-directory BUILD="$BUILD" install PREFIX=/usr/local DESTDIR="$WORK/root"
	assert_status 0
	local n=0 path
	while read -r path; do
		case "$path" in
		/*) ;;
		*) echo "relative path in the README: $path"; false ;;
		esac
		[ -f "$WORK/root$path" ] || { echo "make install did not write $path"; false; }
		n=$((n + 1))
	done < <(grep '^sudo install ' "$FG_TOP/contrib/systemd/README.md" | tr ' ' '\n' | grep -E '\.(service|timer)$')
	[ "$n" -eq 6 ]
	# every unit shipped is installed by the README
	for u in $UNITS; do
		grep '^sudo install ' "$FG_TOP/contrib/systemd/README.md" | grep -qF "/contrib/systemd/$u"
	done
	# and the enable lines name both timers
	grep -qxF 'sudo systemctl enable --now "fleetgate-reconcile@$(systemd-escape --path /srv/git/fleet.git).timer"' "$FG_TOP/contrib/systemd/README.md"
	grep -qxF 'sudo systemctl enable --now "fleetgate-reconcile-all@$(systemd-escape --path /srv/git/fleet.git).timer"' "$FG_TOP/contrib/systemd/README.md"
	grep -qxF 'sudo systemctl enable --now "fleetgate-metrics@$(systemd-escape --path /srv/git/fleet.git).timer"' "$FG_TOP/contrib/systemd/README.md"
}
