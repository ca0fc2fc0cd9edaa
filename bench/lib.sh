# Shared helpers of the benchmark scripts. Figures are medians of several
# runs: these machines are shared and noisy.

: "${BUILD:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build}"
FLEETGATE="$BUILD/fleetgate"

median() { # numbers on stdin -> the median
	sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

machine() {
	printf '%s, %s cores, %s\n' "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" \
		"$(nproc)" "$(date -u +%Y-%m-%d)"
}

# Run a command RUNS times; print "median_seconds median_peak_kib".
measure() { # runs command...
	local runs=$1 i t m
	shift
	local times=() mems=()
	for ((i = 0; i < runs; i++)); do
		/usr/bin/time -f '%e %M' -o "$BENCH_TMP/time.out" "$@" >/dev/null 2>&1
		read -r t m < "$BENCH_TMP/time.out"
		times+=("$t")
		mems+=("$m")
	done
	printf '%s %s\n' "$(printf '%s\n' "${times[@]}" | median)" "$(printf '%s\n' "${mems[@]}" | median)"
}

# A fleet repository with N device files (ids are 24 hex digits), as one
# commit on main, written through git fast-import so that it takes seconds.
make_fleet_repo() { # dir devices
	local dir=$1 n=$2 i id
	git init -q --bare "$dir"
	{
		printf 'commit refs/heads/main\ncommitter Bench <bench@example.com> 1700000000 +0000\ndata 6\nfleet\n'
		printf 'M 100644 inline fleet.yaml\ndata <<EOF_FLEET\n'
		cat "$FG_TOP/fleet-example/fleet.yaml"
		printf 'EOF_FLEET\n'
		for ((i = 0; i < n; i++)); do
			id=$(printf '%024x' $((0x64f1c2a9e3b5d7f000000000 + i)))
			printf 'M 100644 inline devices/%s.yaml\ndata <<EOF_DEV\n' "$id"
			printf 'name: device-%06d\nroles: [kiosk]\nconfig:\n  kiosk_url: https://example.com/d/%d\n' "$i" "$i"
			if ((i % 3 == 0)); then printf 'subscribed_branch: canary\n'; fi
			printf 'EOF_DEV\n'
		done
	} | git -C "$dir" fast-import --quiet
}
