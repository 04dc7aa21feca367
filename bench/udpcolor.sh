#!/usr/bin/env bash
# udpcolor.sh: how many datagrams a udpcolor server relays per second,
# with 10 and 100 members.
#
#   bench/udpcolor.sh          full run (3 rounds of 5 s per member count, about 40 s)
#   bench/udpcolor.sh -quick   one round of 1 s, for a smoke test
#
# The server (bench/cmd/udpcolorload -serve: a udpcolor.Server with its
# per-source rate limit off, since every member is 127.0.0.1) runs pinned
# to CPU 0 and the load tool to CPU 1, when taskset exists. One member
# sends with a window of 32 messages in flight; every other member counts
# the relays it gets. The measuring part holds /tmp/sockkit-bench.lock so
# that benchmarks of other packages do not share the cores with it.
# Raw figures go to bench/results/udpcolor-<time>.txt (gitignored); the
# summary is the median of the rounds.
set -euo pipefail

cd "$(dirname "$0")"
rounds=3
dur=5s
for a in "$@"; do
	case $a in
	-quick | --quick)
		rounds=1
		dur=1s
		;;
	*)
		echo "usage: bench/udpcolor.sh [-quick]" >&2
		exit 2
		;;
	esac
done
for tool in go flock; do
	command -v $tool >/dev/null || {
		echo "udpcolor.sh: $tool is not installed" >&2
		exit 1
	}
done
pin0=() pin1=()
if command -v taskset >/dev/null && (($(nproc) >= 2)); then
	pin0=(taskset -c 0) pin1=(taskset -c 1)
fi

mkdir -p bin results
echo "building..."
go build -o bin/udpcolorload ./cmd/udpcolorload
out=results/udpcolor-$(date -u +%Y%m%dT%H%M%SZ).txt
srvout=$(mktemp)
srv=
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
	rm -f "$srvout"
}
trap cleanup EXIT

measure() {
	"${pin0[@]}" bin/udpcolorload -serve -addr 127.0.0.1:0 -timeout 3m >"$srvout" &
	srv=$!
	for _ in $(seq 100); do
		grep -q '^listening ' "$srvout" && break
		sleep 0.05
	done
	addr=$(awk '/^listening /{print $2}' "$srvout")
	[ -n "$addr" ] || {
		echo "udpcolor.sh: the server did not start" >&2
		exit 1
	}
	for r in $(seq "$rounds"); do
		"${pin1[@]}" bin/udpcolorload -addr "$addr" -members 10,100 -dur "$dur" -timeout 2m | sed "s/^/round$r /"
	done
	kill -TERM "$srv"
	wait "$srv" || true
	srv=
	sed 's/^/# /' "$srvout"
}

echo "measuring (waiting for /tmp/sockkit-bench.lock)..."
export -f measure
export rounds dur srvout
flock /tmp/sockkit-bench.lock bash -c "$(declare -p pin0 pin1); measure" | tee "$out"

echo
echo "== udpcolor relay, median of $rounds round(s) of $dur (raw: bench/$out)"
grep '^round' "$out" | awk '{print $2, $3, $4}' | sort -k1,1 -k2,2n |
	awk '{v[$1] = v[$1] " " $2; u[$1] = $3; n[$1]++}
	     END {for (k in v) {split(substr(v[k], 2), a, " "); printf "%-22s %12s %s\n", k, a[int((n[k] + 1) / 2)], u[k]}}' | sort
