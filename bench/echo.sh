#!/usr/bin/env bash
# echo.sh: sockkit's echo server against three references, side by side.
#
#   bench/echo.sh           full run (about 3 minutes)
#   bench/echo.sh -quick    short run (about 30 seconds), for a smoke test
#   bench/echo.sh -before REV
#                           also runs the sockkit server as it was at git
#                           revision REV ("before"), in the same rounds, and
#                           prints each figure's ratio now/before
#
# Servers: c (bench/servers/cecho, epoll, recvmmsg/sendmmsg), netpoll
# (cloudwego/netpoll event loop, TCP only), std (goroutine per connection)
# and sockkit (echo.Server). Servers run pinned to CPU 0 and the load tool
# (bench/cmd/echoload) to CPU 1, each server on its own loopback port.
# The throughput and round-trip figures are taken in rounds: in each round
# every figure is measured on every server in turn (in a rotating order),
# and the best round of each server counts, so that a burst of other work
# on the machine blurs all servers alike instead of one. The memory
# figures are taken on a fresh process of each server. The measuring part
# holds /tmp/sockkit-bench.lock so that benchmarks of other packages do
# not share the cores with it; it warns if other processes are busy.
#
# Prints a table of every figure with its ratio to the C server (and, for
# round trips, to netpoll), then checks issue 2's targets for sockkit:
#   stream throughput >= 0.9x C          (every size and connection count)
#   round trips/s     >= 1.0x netpoll    (every connection count)
#   idle memory       <= 3 KiB/conn      (10,000 connections)
#   UDP round trips/s >= 0.8x C
# Raw figures ("server round figure value unit") go to
# bench/results/echo-<time>.txt (gitignored).
set -euo pipefail

cd "$(dirname "$0")"
quick=0 before=""
while (($#)); do
	case $1 in
	-quick | --quick) quick=1 ;;
	-before | --before)
		(($# >= 2)) || {
			echo "usage: bench/echo.sh [-quick] [-before REV]" >&2
			exit 2
		}
		before=$2
		shift
		;;
	*)
		echo "usage: bench/echo.sh [-quick] [-before REV]" >&2
		exit 2
		;;
	esac
	shift
done

if ((quick)); then
	rounds=1
	dur=300ms
	stream_conns=1,100
	rtt_conns=1,10,100,1000
	udp_socks=16
	hold_conns=2000
else
	rounds=3
	dur=1s
	stream_conns=1,100
	rtt_conns=1,10,100,1000
	udp_socks=16
	hold_conns=10000
fi
sizes=64,1024,16384,65536

for tool in go gcc taskset flock; do
	command -v $tool >/dev/null || {
		echo "echo.sh: $tool is not installed" >&2
		exit 1
	}
done
# Both ends of every held connection need a descriptor, in two processes.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (($(ulimit -n) < hold_conns + 1000)); then
	echo "echo.sh: ulimit -n is $(ulimit -n); need $((hold_conns + 1000)) for the hold test" >&2
	exit 1
fi

mkdir -p bin results
echo "building..." >&2
go build -o bin/ ./cmd/echoload ./cmd/stdecho ./cmd/netpollecho ./cmd/sockkitecho
gcc -O2 -Wall -o bin/cecho servers/cecho/cecho.c
if [[ -n $before ]]; then
	# The server as it was at $before, built from a copy of that tree.
	rev=$(git rev-parse --short "$before^{commit}")
	tree=$(mktemp -d)
	git -C "$(git rev-parse --show-toplevel)" archive "$rev" | tar -x -C "$tree"
	(cd "$tree/bench" && go build -o "$OLDPWD/bin/beforeecho" ./cmd/sockkitecho)
	rm -rf "$tree"
	echo "before: sockkit at $rev" >&2
fi

out=results/echo-$(date -u +%Y%m%dT%H%M%SZ).txt
: >"$out"

declare -A pid port
failures=()
servers=(c netpoll std sockkit)
if [[ -n $before ]]; then
	servers+=(before)
fi
stop_server() {
	local name=$1
	if [[ -n ${pid[$name]:-} ]]; then
		kill "${pid[$name]}" 2>/dev/null || true
		wait "${pid[$name]}" 2>/dev/null || true
		unset "pid[$name]"
	fi
}
stop_all() {
	local name
	for name in "${!pid[@]}"; do
		stop_server "$name"
	done
}
trap stop_all EXIT
trap 'stop_all; exit 130' INT TERM

# start_server NAME: starts bin/NAMEecho pinned to CPU 0 on a free
# loopback port (TCP and UDP); sets pid[NAME] and port[NAME].
start_server() {
	local name=$1 try i p
	for try in 1 2 3 4 5 6 7 8; do
		p=$((20000 + RANDOM % 10000))
		taskset -c 0 "./bin/${name}echo" -addr "127.0.0.1:$p" 2>>"results/$name.err" &
		pid[$name]=$!
		port[$name]=$p
		for i in $(seq 50); do
			if ! kill -0 "${pid[$name]}" 2>/dev/null; then
				break
			fi
			if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
				sleep 0.1
				if kill -0 "${pid[$name]}" 2>/dev/null; then
					return 0
				fi
				break
			fi
			sleep 0.1
		done
		stop_server "$name"
	done
	echo "echo.sh: ${name}echo did not start; see bench/results/$name.err" >&2
	exit 1
}

# load NAME ROUND ARGS...: runs the load tool on CPU 1 against server NAME
# and files its figures under NAME and ROUND.
load() {
	local name=$1 round=$2
	shift 2
	local lines
	if ! lines=$(taskset -c 1 ./bin/echoload -addr "127.0.0.1:${port[$name]}" -timeout 2m -drain 10s "$@" 2>>"results/load.err"); then
		failures+=("$name: echoload $*: $(tail -n 1 results/load.err)")
		echo "echo.sh: echoload $* against $name failed: $(tail -n 1 results/load.err)" >&2
		return 0
	fi
	printf '%s\n' "$lines" | sed "s/^/$name $round /" | tee -a "$out" >&2
}

# busy prints the percentage of CPU time used over 0.5 s.
busy() {
	local a b
	read -r -a a </proc/stat
	sleep 0.5
	read -r -a b </proc/stat
	local idle=$((b[4] + b[5] - a[4] - a[5])) total=0 k
	for k in 1 2 3 4 5 6 7 8; do
		total=$((total + b[k] - a[k]))
	done
	echo $((total > 0 ? 100 * (total - idle) / total : 0))
}

# Measure only while holding the lock that other benchmarks take.
exec 9>/tmp/sockkit-bench.lock
if ! flock -n 9; then
	echo "waiting for /tmp/sockkit-bench.lock..." >&2
	flock 9
fi

start=$SECONDS
before_busy=$(busy)
if ((before_busy > 10)); then
	echo "echo.sh: warning: other processes keep the CPUs ${before_busy}% busy; figures will be noisy" >&2
fi
for name in "${servers[@]}"; do
	start_server "$name"
done
IFS=, read -r -a size_list <<<"$sizes"
IFS=, read -r -a stream_list <<<"$stream_conns"
IFS=, read -r -a rtt_list <<<"$rtt_conns"
specs=()
for c in "${stream_list[@]}"; do
	for z in "${size_list[@]}"; do
		specs+=("-mode stream -sizes $z -conns $c")
	done
done
for c in "${rtt_list[@]}"; do
	specs+=("-mode rtt -conns $c")
done
specs+=("-mode udp -conns $udp_socks")
for ((r = 1; r <= rounds; r++)); do
	echo "== round $r of $rounds" >&2
	for ((j = 0; j < ${#specs[@]}; j++)); do
		spec=${specs[$j]}
		for ((k = 0; k < ${#servers[@]}; k++)); do
			name=${servers[$(((k + j + r) % ${#servers[@]}))]}
			if [[ $name == netpoll && $spec == *udp* ]]; then
				continue # netpoll serves no UDP
			fi
			# shellcheck disable=SC2086 # spec is a list of flags
			load "$name" "$r" $spec -dur "$dur" -pid "${pid[$name]}"
		done
	done
done
stop_all
# Memory, each on a fresh process so that earlier load does not blur it.
for name in "${servers[@]}"; do
	for touch in "" -touch; do
		start_server "$name"
		load "$name" 1 -mode hold $touch -conns "$hold_conns" -pid "${pid[$name]}"
		stop_server "$name"
	done
done
after_busy=$(busy)
flock -u 9
echo "measured in $((SECONDS - start)) s; raw figures in bench/$out" >&2
echo "CPU busy before and after measuring (other processes): ${before_busy}%, ${after_busy}%" >&2

for f in results/*.err; do
	[[ -e $f ]] || continue
	if [[ -s $f ]]; then
		echo "--- stderr of $f:" >&2
		cat "$f" >&2
	fi
	rm -f "$f"
done

echo
awk -v hold_conns="$hold_conns" -v quick="$quick" -v rounds="$rounds" -v before="$before" '
# group: the figures measured together, of which the best round is kept.
function group(f) {
	if (f ~ /^stream\/[^\/]*\/[^\/]*$/) return f
	sub(/\/[^\/]*$/, "", f)
	return f
}
function main(f) { return f ~ /^stream\/[^\/]*\/[^\/]*$/ || f ~ /\/rps$/ }
{
	s = $1; r = $2; f = $3
	val[s, r, f] = $4; unit[f] = $5
	if (!(f in seen)) { seen[f] = 1; order[++n] = f }
	g = group(f)
	if (main(f)) {
		if (!((s, g) in best) || $4 > best[s, g]) { best[s, g] = $4; bestr[s, g] = r }
	} else if (!((s, g) in bestr)) {
		bestr[s, g] = r
	}
}
function pick(   k, parts, f) {
	for (k in val) {
		split(k, parts, SUBSEP)
		f = parts[3]
		if (parts[2] == bestr[parts[1], group(f)]) v[parts[1], f] = val[k]
	}
}
function cell(s, f,   x, r) {
	if (!((s, f) in v)) return sprintf("%-22s", "-")
	x = v[s, f]
	if (s == "c" || !((("c", f) in v)) || v["c", f] == 0 || f ~ /^hold/) return sprintf("%-22s", x)
	r = x / v["c", f]
	return sprintf("%-22s", sprintf("%s (%.2fx)", x, r))
}
function ratio(a, b) { return b > 0 ? a / b : 0 }
function verdict(ok) { return ok ? "PASS" : "MISS" }
END {
	pick()
	printf "%-30s %-9s %-22s %-22s %-22s %-22s %-15s", "figure", "unit", "c", "netpoll", "std", "sockkit", "sockkit/netpoll"
	if (before != "") printf " %-22s %s", "before (" before ")", "sockkit/before"
	printf "\n"
	for (i = 1; i <= n; i++) {
		f = order[i]
		np = ""
		if (f ~ /^rtt\/.*\/rps$/ && (("netpoll", f) in v) && (("sockkit", f) in v))
			np = sprintf("%.2fx", ratio(v["sockkit", f], v["netpoll", f]))
		printf "%-30s %-9s %s %s %s %s %-15s", f, unit[f], cell("c", f), cell("netpoll", f), cell("std", f), cell("sockkit", f), np
		if (before != "") {
			nb = ""
			if ((("before", f) in v) && v["before", f] > 0 && (("sockkit", f) in v))
				nb = sprintf("%.2fx", v["sockkit", f] / v["before", f])
			printf " %s %s", cell("before", f), nb
		}
		printf "\n"
	}
	print ""
	print "(x): ratio to the C server; for p50/p99 latencies, cpu (server CPU time per MB or per"
	print "round trip) and hold, lower is better"
	print "each server: its best of " rounds " rounds (latencies from its best round by rt/s)"
	print ""
	print "targets for sockkit (issue 2):"
	for (i = 1; i <= n; i++) {
		f = order[i]
		if (!main(f) || f !~ /^stream\//) continue
		r = ratio(v["sockkit", f], v["c", f])
		printf "  %-4s stream %-18s %.2fx C (>= 0.90)\n", verdict(r >= 0.9), substr(f, 8), r
	}
	for (i = 1; i <= n; i++) {
		f = order[i]
		if (f !~ /^rtt\/.*\/rps$/) continue
		r = ratio(v["sockkit", f], v["netpoll", f])
		printf "  %-4s round trips %-12s %.2fx netpoll (>= 1.00)\n", verdict(r >= 1.0), f, r
	}
	for (k = 0; k < 2; k++) {
		f = (k ? "hold_touched" : "hold") "/c" hold_conns "/per_conn"
		b = v["sockkit", f]
		note = quick ? " (quick run: " hold_conns " conns, target is at 10000)" : ""
		printf "  %-4s idle memory %-22s %.0f B/conn (<= 3072)%s\n", verdict(b <= 3072), f, b, note
	}
	for (i = 1; i <= n; i++) {
		f = order[i]
		if (f !~ /^udp\/.*\/rps$/) continue
		r = ratio(v["sockkit", f], v["c", f])
		printf "  %-4s UDP round trips %-9s %.2fx C (>= 0.80)\n", verdict(r >= 0.8), f, r
	}
	print ""
	print "server CPU time per unit of work, sockkit vs the others (lower is better; much less"
	print "blurred than throughput when other processes share the machine):"
	for (i = 1; i <= n; i++) {
		f = order[i]
		if (f !~ /\/cpu$/ || !(("sockkit", f) in v)) continue
		line = sprintf("  %-24s %10s %s:", f, v["sockkit", f], unit[f])
		if (v["c", f] > 0) line = line sprintf("  %.2fx C", v["sockkit", f] / v["c", f])
		if (v["netpoll", f] > 0) line = line sprintf("  %.2fx netpoll", v["sockkit", f] / v["netpoll", f])
		if (v["std", f] > 0) line = line sprintf("  %.2fx std", v["sockkit", f] / v["std", f])
		print line
	}
}' "$out"

if ((${#failures[@]})); then
	echo
	echo "FAILED runs (their figures are missing above):"
	printf '  %s\n' "${failures[@]}"
	exit 1
fi
