#!/usr/bin/env bash
# attack.sh: every sockkit server under attack, from outside, on loopback.
#
#   bash bench/attack.sh                       every attack (about 2 minutes)
#   bash bench/attack.sh -only echo-drip,...   some of them (attack -list names them)
#
# bench/cmd/attack runs each server in a process of its own (bench/bin/attack
# serve KIND), floods it with one attack at a time from 127.0.0.0/8 only,
# every flood bounded in count and time, while a legitimate client from
# another loopback address measures how well it is still served. It prints
# one line per attack: the legitimate client's successes (and the share
# wanted), the bytes a reflection's victim received per byte sent in its
# name, on the wire (at most 3: internal/admit), the server's resident
# memory at the end (and its peak), PASS, FAIL or SKIP, and what was
# measured, with any non-default server setting the attack used. The
# attacks and their targets are listed in bench/cmd/attack/main.go (issue
# 13).
#
# The attacks that spoof source addresses (a raw socket with IP_HDRINCL)
# need root and are SKIPped without it ("needs root"); CI runs as root.
# udpcolor-sighup runs examples/udpcolor, which this script builds.
#
# Exit status: 1 if an attack FAILed, as for a test: a FAIL is a server
# property that does not hold (an attack that works), not a slow figure,
# and a script that sees it should stop. 2 for a usage error.
# The output also goes to bench/results/attack-<time>.txt (gitignored).
set -euo pipefail

cd "$(dirname "$0")"
args=()
while (($#)); do
	case $1 in
	-only | --only)
		(($# >= 2)) || {
			echo "usage: bench/attack.sh [-only NAME,NAME...]" >&2
			exit 2
		}
		args+=(-only "$2")
		shift 2
		;;
	*)
		echo "usage: bench/attack.sh [-only NAME,NAME...]" >&2
		exit 2
		;;
	esac
done
command -v go >/dev/null || {
	echo "attack.sh: go is not installed" >&2
	exit 1
}
# The attacks hold about 1,300 sockets at once in the attacking process.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

mkdir -p bin results
echo "building..." >&2
go build -o bin/attack ./cmd/attack
(cd .. && go build -o bench/bin/udpcolor ./examples/udpcolor)

out=results/attack-$(date -u +%Y%m%dT%H%M%SZ).txt
root=no
((EUID == 0)) && root=yes
{
	echo "attack.sh: nproc $(nproc), root $root, $(go version | cut -d' ' -f3-), $(uname -sr)"
	status=0
	./bin/attack -udpcolor-bin bin/udpcolor -timeout 3m "${args[@]}" || status=$?
	exit $status
} | tee "$out"
exit "${PIPESTATUS[0]}"
