#!/usr/bin/env bash
# The virtqueue consumer path's cost per request (issue 12), as user-space
# instructions counted by callgrind: the difference between a run of 2N and
# one of N notifications, divided by the requests in N (set-up cancels out).
# Deterministic, so it compares revisions on a busy host; kernel work (the
# preadv/writev/read themselves) is not counted. Wall-clock ns/request from an
# uncounted run is printed beside it, for what it is worth on a shared host.
#   bench/vqbench.sh [BINARY]   (default build/bench/vqbench)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/bench/vqbench}
n=200
ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 |
	awk '/Collected :/ {print $4}'; }
reqs() { "$bin" "$1" "$2" | awk '{print $4}'; }
echo "| row | instructions/request | ns/request (wall, 20000 kicks) |"
echo "|---|---:|---:|"
for row in seqread seqwrite randread tcpsend netrx rng; do
	a=$(ir "$row" "$n") b=$(ir "$row" $((2 * n))) r=$(reqs "$row" "$n")
	ns=$("$bin" "$row" 20000 | awk '{print $6}')
	echo "| $row | $(( (b - a) / r )) | $ns |"
done
