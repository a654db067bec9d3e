#!/usr/bin/env bash
# Boot benchmarks in the nested lab (real /dev/kvm inside a TCG-emulated L1),
# ember vs QEMU microvm, the same guest for both, all in ONE lab run:
#   boot     boot to user space and exit, RUNS runs each (alternating), for
#            each kernel (min: build/guest/vmlinux; stock: Debian's, from the
#            package the lab boots as L1) and vCPU count; ember's --boot-trace
#   klog     the guest kernel's own account (printk times, initcall_debug)
#   kvmstat  KVM exits of one boot each (perf in L1)
#   strace   when each VMM first enters the guest (strace in L1)
# boot, kvmstat and mem also run "ember-4k", ember --no-thp (guest RAM in
# 4 KiB pages): an ablation showing what the default huge pages give.
#   mem      one 256 MiB guest idle at its shell: the monitor's own memory
#   dens     DENSITY guests at once, to their shell prompts
# Usage: bench/boot.sh [-n RUNS] [--cpus "1 2"] [--kernels "min stock"]
#                      [--sections "boot klog ..."] [--density N] [--report-only]
# Needs the lab's lock (one lab run at a time; it waits for another to end).
# Leaves build/bench/lab.log (the L1 console) and build/bench/boot.md (the
# tables, from bench/boot-report.sh). Timings are L1's: ratios only.
set -euo pipefail

cd "$(dirname "$0")/.."
B=${B:-build}
[ "$B" = build ] || { echo "boot.sh: the lab builds in build/ only (B=$B)" >&2; exit 2; }
out=$B/bench
runs=10
cpus="1 2"
kernels="min stock"
sections="boot klog kvmstat strace mem dens"
density=8
report_only=0
while [ $# -gt 0 ]; do
	case $1 in
	-n) runs=$2; shift 2 ;;
	--cpus) cpus=$2; shift 2 ;;
	--kernels) kernels=$2; shift 2 ;;
	--sections) sections=$2; shift 2 ;;
	--density) density=$2; shift 2 ;;
	--report-only) report_only=1; shift ;;
	-h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "boot.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
done
[[ $runs =~ ^[0-9]+$ ]] && [[ $density =~ ^[0-9]+$ ]] ||
	{ echo "boot.sh: -n and --density take numbers" >&2; exit 2; }

if [ "$report_only" = 0 ]; then
	scripts/deps.sh qemu-system-x86 busybox-static cpio xz-utils gcc make
	make -s all guest-kernel guest-initramfs
	make -s "$out/vmwatch" "$out/initramfs-bench.cpio.gz"
	cat >"$out/params" <<-EOF
		RUNS=$runs
		CPUS="$cpus"
		KERNELS="$kernels"
		SECTIONS="$sections"
		DENSITY_N=$density
	EOF
	echo "boot.sh: lab run: $runs runs x kernels ($kernels) x vCPUs ($cpus) x 2 VMMs; sections: $sections" >&2
	start=$(date +%s)
	LAB_BENCH_STAGE=bench/lab-stage.sh BENCH_OUT=$out LAB_TIMEOUT=${LAB_TIMEOUT:-1500} \
		tests/lab/run.sh --script bench/lab-boot.sh >"$out/lab.log.tmp"
	mv "$out/lab.log.tmp" "$out/lab.log"
	echo "boot.sh: lab run took $(($(date +%s) - start)) s; L1 console in $out/lab.log" >&2
fi
# An unfinished run (L1 panicked, hung or timed out) still gets its tables,
# headed by a warning; no "bench:" line at all is an error.
grep -aq '^bench: ' "$out/lab.log" || {
	echo "boot.sh: the lab run produced no results; last lines of $out/lab.log:" >&2
	tail -n 15 "$out/lab.log" >&2
	exit 1
}
{
	if ! grep -aq 'bench: done' "$out/lab.log"; then
		echo "**This lab run did not finish**: the tables below hold what it measured before"
		echo "L1 stopped ($(grep -a -m1 -oE 'Kernel panic.*|BUG: .*|terminating on signal.*' "$out/lab.log" ||
			echo "no panic on its console; it hung or timed out")). Last section started:"
		echo "\`$(sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' "$out/lab.log" | grep -a '^bench: section' | tail -n1)\`."
		echo
	fi
	bench/boot-report.sh "$out/lab.log" "$out"
} | tee "$out/boot.md"
