#!/usr/bin/env bash
# Bench for httpfetch: a 1 GiB file on loopback.
#   client: httpfetch.Client vs curl (one stream) and vs aria2c -x N (N ranges), from nginx
#   server: httpfetch.Server vs nginx, serving the same file to curl -o /dev/null
# Targets: client >= 1.0x curl in one stream; server >= 0.9x nginx.
# Usage: bench/httpfetch.sh [-size 1GiB] [-parallel 4] [-rounds 3]
# The file lives in a temporary directory removed at the end; with too
# little free disk the bench uses a smaller file and says so. Runs under
# flock so that only one bench uses the machine at a time.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$PATH:/usr/sbin"
mkdir -p bin results
go build -o bin/fetchbench ./cmd/fetchbench
out="results/httpfetch-$(date -u +%Y%m%dT%H%M%SZ).txt"
flock /tmp/sockkit-bench.lock timeout 170 bin/fetchbench "$@" | tee "$out"
echo "saved $out"
