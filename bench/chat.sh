#!/usr/bin/env bash
# chat.sh: how many lines per second a chat server delivers to one room,
# how late they arrive, and the server's memory per client.
#
#   bench/chat.sh           3 rounds of every point (about 3 minutes)
#   bench/chat.sh -quick    1 short round, for a smoke test
#   bench/chat.sh -nopin    let server and load tool share both CPUs
#   bench/chat.sh -hold     idle clients instead: the server's memory per
#                           idle client, and 1000:1 beside them (-hold -quick)
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
# and of issue 12: 1000:1 again on two servers (500 clients each, both
# pinned to the server's CPU) that share the lobby through NATS
# (chat/natshub; the first server runs NATS inside its process):
#   two-server delivered       >= 0.8x the one-server point's
#   two-server p99             <  100 ms
# beside a reference, bench/cmd/natsfanout: the same fan-out (1000
# connections each publishing 1 message/s of 32 bytes to one subject they
# all subscribe to) through a NATS server alone, pinned the same way.
# And of issue 11: 1000:1 again with a third of the clients on TCP, a
# third on the WebSocket (/ws, as the page) and a third on IRC (the
# server's IRC listener), "1000:1 mixed":
#   mixed delivered and p99    within 20 % of all-TCP 1000:1
#
# With -hold, the points are idle clients instead (issue 12): N clients
# registered, in rooms of 100, idle, from 127.0.0.2, .3, ... (10,000
# each), for N = 1,000, 10,000 and as many as the hard limit of open
# files allows (ulimit -Hn, less 100: 19,900 for 20,000), then the
# server's RSS per idle client ((RSS with N - RSS before) / N) and its
# goroutines; then 1000:1 with that many clients in all, the rest idle,
# beside 1000:1 alone. Targets:
#   RSS per idle client       <= 4 KiB (at 100,000; here at most the limit)
#   1000:1 beside the idle    the figures of 1000:1 alone (1,000,000 lines/s, p99 < 50 ms)
set -euo pipefail

cd "$(dirname "$0")"
rounds=3 dur=3s warm=1s stalldur=10s pin=1 hold=0
for a in "$@"; do
	case $a in
	-quick | --quick) rounds=1 dur=1s warm=500ms stalldur=2s ;;
	-nopin | --nopin) pin=0 ;;
	-hold | --hold) hold=1 ;;
	*)
		echo "usage: bench/chat.sh [-quick] [-nopin] [-hold]" >&2
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
holds="" holdmax=0
if ((hold)); then
	# As many idle clients as the hard limit allows, less room for the
	# process's own files (chatload checks, and says so if it is short).
	hard=$(ulimit -Hn)
	[[ $hard == unlimited ]] && hard=101100
	holdmax=$(((hard - 100) / 100 * 100))
	((holdmax > 100000)) && holdmax=100000
	if ((holdmax < 2000)); then
		echo "chat.sh: -hold needs a hard limit of open files above 2100 (ulimit -Hn is $hard)" >&2
		exit 1
	fi
	ulimit -n "$(ulimit -Hn)"
	for n in 1000 10000; do ((n < holdmax)) && holds="$holds $n"; done
	holds="$holds $holdmax"
fi

mkdir -p bin results
echo "building..."
go build -o bin/chatload ./cmd/chatload
go build -o bin/natsfanout ./cmd/natsfanout
out=results/chat-$(date -u +%Y%m%dT%H%M%SZ).txt

measure() {
	local load=(bin/chatload -server-cpu "$srvcpu" -dur "$dur" -warm "$warm" -timeout 2m)
	if ((hold)); then
		for r in $(seq "$rounds"); do
			for n in $holds; do
				"${pin1[@]}" "${load[@]}" -hold "$n" -load none | sed "s/^/round$r /"
			done
			"${pin1[@]}" "${load[@]}" -load 1000:1 | sed "s/^/round$r /"
			"${pin1[@]}" "${load[@]}" -hold $((holdmax - 1000)) -load 1000:1 | sed "s/^/round$r /"
		done
		return
	fi
	for r in $(seq "$rounds"); do
		"${pin1[@]}" "${load[@]}" -load 10:10,100:10,100:100,1000:1,1000:0.5 | sed "s/^/round$r /"
		"${pin1[@]}" "${load[@]}" -load 1000:1 -mix 1:1:1 | sed "s/^/round$r /"
		"${pin1[@]}" "${load[@]}" -load 1000:1 -stall 0.1 -dur "$stalldur" | sed "s/^/round$r /"
		"${pin1[@]}" "${load[@]}" -load 1000:1 -servers 2 | sed "s/^/round$r /"
		"${pin1[@]}" bin/natsfanout -server-cpu "$srvcpu" -dur "$dur" -warm "$warm" -timeout 2m -load 1000:1 | sed "s/^/round$r /"
	done
}

echo "measuring (waiting for /tmp/sockkit-bench.lock)..."
export -f measure
export rounds dur warm stalldur srvcpu hold holds holdmax
flock /tmp/sockkit-bench.lock bash -c "$(declare -p pin1); measure" | tee "$out"

echo
echo "== chat, median of $rounds round(s) of $dur after $warm (raw: bench/$out)"
grep '^round' "$out" | awk '{print $2, $3, $4}' | sort -k1,1 -k2,2g |
	awk '{v[$1] = v[$1] " " $2; u[$1] = $3; n[$1]++}
	     END {for (k in v) {split(substr(v[k], 2), a, " "); printf "%-40s %12s %s\n", k, a[int((n[k] + 1) / 2)], u[k]}}' |
	sort -V | tee "$out.summary"

fig() { awk -v k="$1" '$1 == k {print $2}' "$out.summary"; }
if ((hold)); then
	echo
	echo "== hold (issue 12): idle clients on one server; target <= 4 KiB RSS per idle client at 100,000"
	printf "%-10s %14s %14s %12s %12s %10s %8s\n" clients "rss KiB/client" "scavenged KiB" "go KiB" "goroutines" parked joined_s
	for n in $holds; do
		h=chat/hold/n$n
		printf "%-10s %14s %14s %12s %12s %10s %8s\n" "$n" "$(fig $h/mem_rss)" "$(fig $h/mem_rss_scavenged)" "$(fig $h/mem_go)" \
			"$(fig $h/server_goroutines)" "$(fig $h/parked)" "$(fig $h/join_time)"
	done
	rm=$(fig chat/hold/n$holdmax/mem_rss)
	awk -v n="$holdmax" -v r="$rm" 'BEGIN {
		printf "RSS per idle client at %d (the most this machine'"'"'s file limit allows, not 100,000): %s KiB (target <= 4): %s\n", n, r, (r != "" && r <= 4 ? "met" : "MISSED")
	}'
	h=chat/n1000/r1/hold$((holdmax - 1000))
	d=$(fig chat/n1000/r1/delivered) p=$(fig chat/n1000/r1/p99)
	dh=$(fig $h/delivered) ph=$(fig $h/p99) lost=$(fig $h/hold_lost)
	awk -v n="$((holdmax - 1000))" -v d="$d" -v p="$p" -v dh="$dh" -v ph="$ph" -v lost="$lost" 'BEGIN {
		printf "1000:1 alone:                 %9s lines/s, p99 %8s ms\n", d, p
		printf "1000:1 beside %6d idle:     %9s lines/s, p99 %8s ms (%.2fx, %s idle clients lost)\n", n, dh, ph, (d > 0 ? dh / d : 0), lost
		printf "target 1,000,000 lines/s and p99 < 50 ms beside the idle: %s\n", (dh >= 990000 && ph < 50 ? "met" : "MISSED")
	}'
	exit 0
fi
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
echo
echo "== targets (issue 12: two servers through NATS)"
d2=$(fig chat/n1000/r1/servers2/delivered) p2=$(fig chat/n1000/r1/servers2/p99) j2=$(fig chat/n1000/r1/servers2/join_time)
dn=$(fig nats/n1000/r1/delivered) pn=$(fig nats/n1000/r1/p99) cn=$(fig nats/n1000/r1/server_cpu)
awk -v d="$d" -v d2="$d2" -v p2="$p2" -v j2="$j2" -v dn="$dn" -v pn="$pn" -v cn="$cn" 'BEGIN {
	printf "two servers, 500 clients each: %s lines/s, %.2fx of one server'"'"'s %s (target >= 0.8x): %s\n", d2, (d > 0 ? d2 / d : 0), d, (d > 0 && d2 >= 0.8 * d ? "met" : "MISSED")
	printf "p99 on two servers: %s ms (target < 100): %s; joining took %s s\n", p2, (p2 < 100 ? "met" : "MISSED"), j2
	printf "reference, NATS alone with 1000 subscribers: %s lines/s, p99 %s ms, %s cores\n", dn, pn, cn
}'
echo
echo "== targets (issue 11: a third each on TCP, WebSocket and IRC)"
m=chat/n1000/r1/mix1:1:1
dm=$(fig $m/delivered) pm=$(fig $m/p99) em=$(fig $m/expected)
awk -v d="$d" -v pf="$pf" -v dm="$dm" -v pm="$pm" -v em="$em" 'BEGIN {
	printf "1000:1 all TCP:  %9s lines/s, p99 %8s ms\n", d, pf
	printf "1000:1 mixed:    %9s lines/s of %s sent for, p99 %8s ms\n", dm, em, pm
	printf "mixed/all-TCP: deliveries %.2fx, p99 %.2fx (target: within 20 %%): %s\n", (d > 0 ? dm / d : 0), (pf > 0 ? pm / pf : 0), (d > 0 && dm >= 0.8 * d && pm <= 1.2 * pf ? "met" : "MISSED")
}'
for dl in tcp ws irc; do
	printf "  %-4s clients received %9s lines/s, p99 %8s ms\n" $dl "$(fig $m/$dl/delivered)" "$(fig $m/$dl/p99)"
done
