#!/usr/bin/env bash
# I/O before/after: this tree's ember against another ember binary (say, a
# build of an older commit) in the same L1, alternating run by run, with
# bench/lab-io.sh's workloads (virtio-blk seqwrite, seqread, randread; TCP
# from the guest over virtio-net). Both embers run the same command line;
# QEMU is left out. The lab's machine-to-machine noise is large (the ember
# vs QEMU ratios of bench/io.sh move by 30% between L1 boots), so only a
# same-L1 pairing can say whether a change made a row slower.
#   bench/io-ab.sh OTHER_EMBER [-n RUNS]
# Prints a markdown table of medians, this ember / the other, and writes it
# to build/bench/io-ab.md. Lab numbers: compare rows only.
set -euo pipefail
cd "$(dirname "$0")/.."
other=${1:?usage: bench/io-ab.sh OTHER_EMBER [-n RUNS]}
other=$(readlink -f "$other")
runs=5
[ "${2:-}" = -n ] && runs=${3:?-n needs a number}
mkdir -p build/bench
script=build/bench/lab-io-ab.sh
# lab-io.sh with its QEMU runs replaced by the other ember, on the same
# TAP and image arrangements (tapQ, 10.0.4.x for the network run).
{
	echo "RUNS=$runs"
	sed -e '/^run_qemu() {$/,/^}$/c\
run_qemu() {\
	timeout $T /lab/ember-b run --kernel /lab/vmlinux --initrd /lab/initramfs.cpio.gz \\\
		--memory 512M --no-rng --disk $IMG --cmdline "$APPEND" </dev/null 2>/tmp/io.err\
}' -e '/^run_net_qemu() {$/,/^}$/c\
run_net_qemu() {\
	timeout $T /lab/ember-b run --kernel /lab/vmlinux --initrd /lab/initramfs.cpio.gz \\\
		--memory 512M --no-rng --net tap=tapQ --cmdline "$NET_Q" </dev/null 2>/tmp/io.err\
}' bench/lab-io.sh
} >"$script"
log=build/bench/io-ab.log
LAB_EMBER_B=$other LAB_TIMEOUT=1500 tests/lab/run.sh --script "$script" >"$log" 2>&1 || true
grep -q '^bench: io done' "$log" || { echo "io-ab: the lab run did not finish (see $log)" >&2; exit 1; }

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print (NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); else print "n/a"}'; }
val() { { grep "^bench: io $1 [0-9]* $2 " "$log" || true; } | awk '{print $6}' | median; }
all() { { grep "^bench: io $1 [0-9]* $2 " "$log" || true; } | awk '{print $6}' | tr '\n' ' '; }
{
	echo "virtio I/O in the nested lab, this ember against $other in one L1, $runs runs each, alternating; medians (lab numbers: compare rows only)"
	echo
	echo "| test | this ember | other ember | this / other | this, every run | other, every run |"
	echo "|---|---:|---:|---:|---|---|"
	for m in seqread seqwrite randread tcpsend; do
		a=$(val ember $m) b=$(val qemu $m)
		unit=$({ grep -m1 "^bench: io ember [0-9]* $m " "$log" || true; } | awk '{print $7}')
		ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }')
		echo "| $m ($unit) | $a | $b | $ratio | $(all ember $m)| $(all qemu $m)|"
	done
} | tee build/bench/io-ab.md
grep '^bench: io [a-z]* [0-9]* \(net \)\?failed' -A6 "$log" || true
