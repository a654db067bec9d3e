#!/usr/bin/env bash
# I/O benchmark (issue 5): ember vs QEMU microvm on virtio-blk and virtio-net, in one lab
# run (bench/lab-io.sh inside L1). Prints a markdown table of medians with
# ratios and writes it to build/bench/io.md. Lab numbers are lab numbers:
# compare the rows, never quote them as hardware figures.
#   bench/io.sh [-n RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=3
[ "${1:-}" = -n ] && runs=${2:?-n needs a number}
mkdir -p build/bench
script=build/bench/lab-io.sh
{ echo "RUNS=$runs"; cat bench/lab-io.sh; } >"$script"
log=build/bench/io.log
LAB_TIMEOUT=900 tests/lab/run.sh --script "$script" >"$log" 2>&1 || true
grep -q '^bench: io done' "$log" || { echo "io: the lab run did not finish (see $log)" >&2; exit 1; }

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print (NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); else print "n/a"}'; }
val() { { grep "^bench: io $1 [0-9]* $2 " "$log" || true; } | awk '{print $6}' | median; }
{
	echo "virtio-blk and virtio-net (TCP guest to L1) in the nested lab, $runs runs each, alternating; medians (lab numbers: compare rows only)"
	echo
	echo "| test | ember | QEMU microvm | ember / QEMU |"
	echo "|---|---:|---:|---:|"
	for m in seqread seqwrite randread tcpsend; do
		e=$(val ember $m) q=$(val qemu $m)
		unit=$({ grep -m1 "^bench: io ember [0-9]* $m " "$log" || true; } | awk '{print $7}')
		ratio=$(awk -v e="$e" -v q="$q" 'BEGIN { if (q > 0) printf "%.2fx", e / q; else print "n/a" }')
		echo "| $m ($unit) | $e | $q | $ratio |"
	done
} | tee build/bench/io.md
grep '^bench: io [a-z]* [0-9]* failed' -A6 "$log" || true
