#!/usr/bin/env bash
# chat.sh: how many lines per second a chat server delivers to one room,
# how late they arrive, and the server's memory per client.
#
#   bench/chat.sh           3 rounds of every point (about 2.5 minutes)
#   bench/chat.sh -quick    1 short round, for a smoke test
#   bench/chat.sh -nopin    let server and load tool share both CPUs
#   bench/chat.sh -hold     the hold instead (issue 12; about 1.5 minutes
#                           with 19,000 clients, 4 with 100,000): see below
#   bench/chat.sh -hold=N   the hold with at most N clients (default 100000)
#
# Points "N:R": N clients in the lobby, each sending R messages per
# second, so N*N*R deliveries per second (every message goes to every
# member, the sender too): 10:10, 100:10, 100:100, 1000:1, 1000:0.5, and
# 1000:1 again for longer (10 s) with 10% of the clients neither reading
# nor sending, until the server drops them (after about 7 s: 256 KiB of
# queue and 64 KiB of socket buffer at 50 KB/s). The load tool
# (bench/cmd/chatload) starts a fresh chat.Server process for each point
# (defaults, except no connection limit and no flood control) pinned to
# CPU 0 and runs on CPU 1 itself, when taskset exists; 20 of its clients
# read at once and time every message, the others read every 10 ms.
# The measuring part holds /tmp/sockkit-bench.lock so that benchmarks of
# other packages do not share the cores with it. Raw figures go to
# bench/results/chat-<time>.txt (gitignored); the summary is the median of
# the rounds, then the targets of issue 3:
#   delivered at 1000:1        >= 1,000,000 lines/s
#   p99 at 1000:0.5 (half)     <  50 ms
#   p99 at 1000:1, 10% stalled    about the same as without
#
# The hold measures idle clients: H of them connect, take a nickname and
# join rooms of 50, then send and read nothing; the figure is the
# server's RSS growth per idle client (after a GC) at H = 1,000, 10,000
# and N, then the points 1000:1 and 1000:0.5 alone and with N-1,000 idle
# clients connected to the same server. N is 100,000, or what the limit
# of open files allows: each process needs a descriptor per client, and
# the load tool raises its limit (and so the server's) itself, up to the
# hard limit, which only root with CAP_SYS_RESOURCE may raise. The hold
# clients come from 127.0.0.2 and up, 20,000 per address, past the
# ephemeral port range of one. Targets (issue 12):
#   RSS per idle client at N      <= 4 KiB
#   1000:1 and 1000:0.5 with N-1,000 idle    as alone (1,000,000 lines/s, p99 < 50 ms)
set -euo pipefail

cd "$(dirname "$0")"
rounds=3 dur=3s warm=1s stalldur=10s pin=1 hold=0 holdmax=100000
for a in "$@"; do
	case $a in
	-quick | --quick) rounds=1 dur=1s warm=500ms stalldur=2s ;;
	-nopin | --nopin) pin=0 ;;
	-hold | --hold) hold=1 ;;
	-hold=* | --hold=*)
		hold=1 holdmax=${a#*=}
		[[ $holdmax =~ ^[0-9]+$ ]] && ((holdmax >= 2000)) || {
			echo "chat.sh: -hold=N needs N >= 2000" >&2
			exit 2
		}
		;;
	*)
		echo "usage: bench/chat.sh [-quick] [-nopin] [-hold[=N]]" >&2
		exit 2
		;;
	esac
done
for tool in go flock; do
	command -v $tool >/dev/null || {
		echo "chat.sh: $tool is not installed" >&2
		exit 1
	}
done
pin1=() srvcpu=""
if ((pin)) && command -v taskset >/dev/null && (($(nproc) >= 2)); then
	pin1=(taskset -c 1) srvcpu=0
fi
if (($(ulimit -n) < 2200)); then
	ulimit -n 4096 2>/dev/null || {
		echo "chat.sh: need 2200 open files (ulimit -n)" >&2
		exit 1
	}
fi

mkdir -p bin results
echo "building..."
go build -o bin/chatload ./cmd/chatload
out=results/chat-$(date -u +%Y%m%dT%H%M%SZ).txt

if ((hold)); then
	# The most clients the limit of open files allows, with a few
	# descriptors of each process's own.
	limit=$(ulimit -Hn)
	if [[ $limit != unlimited ]] && ((limit < holdmax + 100)) && ! (ulimit -Hn $((holdmax + 100))) 2>/dev/null; then
		holdmax=$(((limit - 100) / 100 * 100))
		echo "chat.sh: the hard limit of open files is $limit and cannot be raised: holding at most $holdmax clients"
	fi
	((holdmax >= 2000)) || {
		echo "chat.sh: too few open files for the hold" >&2
		exit 1
	}
	measure_hold() {
		local load=(bin/chatload -server-cpu "$srvcpu" -dur "$dur" -warm "$warm" -timeout 5m)
		local n
		for n in 1000 10000 "$holdmax"; do
			((n <= holdmax)) && "${pin1[@]}" "${load[@]}" -hold "$n" -load ""
		done
		"${pin1[@]}" "${load[@]}" -load 1000:1,1000:0.5
		"${pin1[@]}" "${load[@]}" -hold $((holdmax - 1000)) -load 1000:1,1000:0.5
	}
	echo "measuring the hold of up to $holdmax clients (waiting for /tmp/sockkit-bench.lock)..."
	export -f measure_hold
	export dur warm srvcpu holdmax
	flock /tmp/sockkit-bench.lock bash -c "$(declare -p pin1); measure_hold" | tee "$out"
	fig() { awk -v k="$1" '$1 == k {print $2; exit}' "$out"; }
	echo
	echo "== chat hold (raw: bench/$out)"
	printf "%-12s %14s %12s %10s\n" "idle" "RSS/client" "Go/client" "goroutines"
	for n in 1000 10000 "$holdmax"; do
		((n <= holdmax)) && printf "%-12s %10s KiB %8s KiB %10s\n" "$n" "$(fig chat/hold$n/mem_rss)" "$(fig chat/hold$n/mem_go)" "$(fig chat/hold$n/goroutines)"
	done
	idle=$((holdmax - 1000))
	printf "\n%-28s %14s %10s %10s\n" "point" "delivered/s" "p99 ms" "cpu"
	for p in n1000/r1 n1000/r0.5 n1000/r1/hold$idle n1000/r0.5/hold$idle; do
		printf "%-28s %14s %10s %10s\n" "$p" "$(fig chat/$p/delivered)" "$(fig chat/$p/p99)" "$(fig chat/$p/server_cpu)"
	done
	echo
	echo "== targets (issue 12)"
	awk -v m="$(fig chat/hold$holdmax/mem_rss)" -v n="$holdmax" -v d="$(fig chat/n1000/r1/hold$idle/delivered)" \
		-v e="$(fig chat/n1000/r1/hold$idle/expected)" -v p="$(fig chat/n1000/r0.5/hold$idle/p99)" -v i="$idle" 'BEGIN {
		printf "RSS per idle client at %d: %s KiB (target <= 4): %s\n", n, m, (m <= 4 ? "met" : "MISSED")
		printf "delivered at 1000 clients with %d idle: %s lines/s of %s (target 1000000): %s\n", i, d, e, (d >= 1000000 ? "met" : (d >= 0.99 * e && e >= 990000 ? "met within the send schedule (1%)" : "MISSED"))
		printf "p99 at half load with %d idle: %s ms (target < 50): %s\n", i, p, (p < 50 ? "met" : "MISSED")
	}'
	exit 0
fi

measure() {
	local load=(bin/chatload -server-cpu "$srvcpu" -dur "$dur" -warm "$warm" -timeout 2m)
	for r in $(seq "$rounds"); do
		"${pin1[@]}" "${load[@]}" -load 10:10,100:10,100:100,1000:1,1000:0.5 | sed "s/^/round$r /"
		"${pin1[@]}" "${load[@]}" -load 1000:1 -stall 0.1 -dur "$stalldur" | sed "s/^/round$r /"
	done
}

echo "measuring (waiting for /tmp/sockkit-bench.lock)..."
export -f measure
export rounds dur warm stalldur srvcpu
flock /tmp/sockkit-bench.lock bash -c "$(declare -p pin1); measure" | tee "$out"

echo
echo "== chat, median of $rounds round(s) of $dur after $warm (raw: bench/$out)"
grep '^round' "$out" | awk '{print $2, $3, $4}' | sort -k1,1 -k2,2g |
	awk '{v[$1] = v[$1] " " $2; u[$1] = $3; n[$1]++}
	     END {for (k in v) {split(substr(v[k], 2), a, " "); printf "%-40s %12s %s\n", k, a[int((n[k] + 1) / 2)], u[k]}}' |
	sort -V | tee "$out.summary"

fig() { awk -v k="$1" '$1 == k {print $2}' "$out.summary"; }
echo
echo "== targets (issue 3)"
d=$(fig chat/n1000/r1/delivered) e=$(fig chat/n1000/r1/expected)
p=$(fig chat/n1000/r0.5/p99) pf=$(fig chat/n1000/r1/p99) ps=$(fig chat/n1000/r1/stall0.1/p99)
k=$(fig chat/n1000/r1/stall0.1/kicked)
awk -v d="$d" -v e="$e" -v p="$p" -v pf="$pf" -v ps="$ps" -v k="$k" 'BEGIN {
	printf "delivered at 1000 clients: %s lines/s of %s sent for (target 1000000): %s\n", d, e, (d >= 1000000 ? "met" : (d >= 0.99 * e && e >= 990000 ? "met within the send schedule (1%)" : "MISSED"))
	printf "p99 at half load: %s ms (target < 50): %s\n", p, (p < 50 ? "met" : "MISSED")
	printf "p99 at full load, 10%% stalled: %s ms, %.2fx of %s ms without (%s stalled clients dropped)\n", ps, (pf > 0 ? ps / pf : 0), pf, k
}'
