#!/usr/bin/env bash
# Boot benchmarks in the nested lab (real /dev/kvm inside a TCG-emulated L1),
# ember vs QEMU microvm, the same guest for both, in one lab run:
#   boot     boot to user space and exit, RUNS runs each (alternating), for
#            each kernel (min: build/guest/vmlinux; stock: Debian's, from the
#            package the lab boots as L1) and vCPU count; ember's --boot-trace
#   unwrap   the stock kernel from its bzImage: ember given Debian's vmlinuz
#            with its unwrap cache cold and warm, ember given the extracted
#            vmlinux, QEMU microvm given the vmlinuz; RUNS runs each, 1 vCPU
#            (fails the script if ember does not boot the vmlinuz)
#   klog     the guest kernel's own account (printk times, initcall_debug)
#   kvmstat  KVM exits of one boot each (perf in L1)
#   strace   when each VMM first enters the guest (strace in L1)
# boot, kvmstat and mem also run "ember-4k", ember --no-thp (guest RAM in
# 4 KiB pages): an ablation showing what the default huge pages give.
#   mem      one 256 MiB guest idle at its shell: the monitor's own memory
#   dens     DENSITY guests at once, to their shell prompts
# Usage: bench/boot.sh [-n RUNS] [--cpus "1 2"] [--kernels "min stock"]
#                      [--sections "boot unwrap klog ..."] [--density N] [--l1-boots N]
#                      [--report-only]
# Needs the lab's lock (one lab run at a time; it waits for another to end).
# The run is split into units (boot-KERNEL-CPUS, klog, ...); when the
# emulated L1 dies on its own, the units it finished are kept and the others
# run in a fresh L1, up to --l1-boots L1 boots (default 3).
# Leaves build/bench/lab-N.log (the console of L1 boot N), lab.log (the
# results of the finished units) and boot.md (the tables, from
# bench/boot-report.sh). Timings are L1's: ratios only.
set -euo pipefail

cd "$(dirname "$0")/.."
B=${B:-build}
[ "$B" = build ] || { echo "boot.sh: the lab builds in build/ only (B=$B)" >&2; exit 2; }
out=$B/bench
runs=10
cpus="1 2"
kernels="min stock"
sections="boot unwrap klog kvmstat strace mem dens"
density=8
attempts=3
crash=
report_only=0
while [ $# -gt 0 ]; do
	case $1 in
	-n) runs=$2; shift 2 ;;
	--cpus) cpus=$2; shift 2 ;;
	--kernels) kernels=$2; shift 2 ;;
	--sections) sections=$2; shift 2 ;;
	--density) density=$2; shift 2 ;;
	--l1-boots) attempts=$2; shift 2 ;;
	--crash-l1-in) crash=$2; shift 2 ;; # test of the retry: L1 boot 1 panics in this unit
	--report-only) report_only=1; shift ;;
	-h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "boot.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
done
[[ $runs =~ ^[0-9]+$ ]] && [[ $density =~ ^[0-9]+$ ]] && [[ $attempts =~ ^[1-9][0-9]*$ ]] ||
	{ echo "boot.sh: -n, --density and --l1-boots take numbers" >&2; exit 2; }

if [ "$report_only" = 0 ]; then
	scripts/deps.sh qemu-system-x86 busybox-static cpio xz-utils gcc make
	make -s all guest-kernel guest-initramfs
	make -s "$out/vmwatch" "$out/scrub" "$out/initramfs-bench.cpio.gz"
	echo "boot.sh: lab run: $runs runs x kernels ($kernels) x vCPUs ($cpus) x 2 VMMs; sections: $sections" >&2
	start=$(date +%s)
	# The emulated L1 sometimes dies on its own (docs/benchmarks.md, "The
	# lab's own failures"): the units it finished are kept and the rest run
	# in a fresh L1, up to $attempts L1 boots in all.
	: >"$out/lab.log.tmp"
	rm -f "$out"/lab-[0-9]*.log
	done_units=
	for a in $(seq 1 "$attempts"); do
		cat >"$out/params" <<-EOF
			RUNS=$runs
			CPUS="$cpus"
			KERNELS="$kernels"
			SECTIONS="$sections"
			DENSITY_N=$density
			DONE="$done_units"
			CRASH="$([ "$a" != 1 ] || echo "$crash")"
		EOF
		raw=$out/lab-$a.log
		LAB_BENCH_STAGE=bench/lab-stage.sh BENCH_OUT=$out LAB_TIMEOUT=${LAB_TIMEOUT:-1500} \
			tests/lab/run.sh --script bench/lab-boot.sh >"$raw"
		# This L1's results: its header lines (first L1 only), the lines
		# of each unit it finished, and "bench: done". (The console may
		# prefix a line with terminal escapes.)
		sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g' "$raw" | grep -a '^bench: ' >"$out/lab.lines"
		bench/lab-merge.sh $((a == 1)) <"$out/lab.lines" >>"$out/lab.log.tmp"
		done_units=$(awk '$2 == "unit-end" { printf "%s ", $3 }' "$out/lab.log.tmp")
		grep -q '^bench: done' "$out/lab.lines" && break
		why=$(grep -a -m1 -oE 'Kernel panic.*|BUG: .*|# lab: L1 console silent.*' "$raw" || echo "no panic; it timed out")
		unit=$(awk '$2 == "unit" { u = $3 } END { print u }' "$out/lab.lines")
		echo "bench: note: L1 boot $a of this lab run stopped in unit ${unit:-?} (${why%.}): console in $raw" \
			>>"$out/lab.log.tmp"
		echo "boot.sh: L1 boot $a stopped in unit ${unit:-?} ($why); done so far: ${done_units:-nothing}" >&2
		if [ "$a" -lt "$attempts" ]; then echo "boot.sh: the remaining units run in a fresh L1" >&2; fi
	done
	rm -f "$out/lab.lines"
	mv "$out/lab.log.tmp" "$out/lab.log"
	echo "boot.sh: lab run took $(($(date +%s) - start)) s in $a L1 boot(s); results in $out/lab.log, L1 consoles in $out/lab-N.log" >&2
fi
# An unfinished run (L1 panicked, hung or timed out) still gets its tables,
# headed by a warning; no "bench:" line at all is an error.
grep -aq '^bench: ' "$out/lab.log" || {
	last=$(ls -v "$out"/lab-[0-9]*.log 2>/dev/null | tail -n1)
	echo "boot.sh: the lab run produced no results; last lines of ${last:-its L1 console}:" >&2
	[ -z "$last" ] || tail -n 15 "$last" >&2
	exit 1
}
{
	if ! grep -aq '^bench: done' "$out/lab.log"; then
		echo "**This lab run did not finish**: L1 stopped $(grep -c '^bench: note: L1 boot' "$out/lab.log") times"
		echo "(see the notes below); the tables hold the units it finished:"
		echo "$(awk '$2 == "unit-end" { printf "%s ", $3 }' "$out/lab.log")."
		echo
	fi
	bench/boot-report.sh "$out/lab.log" "$out"
} | tee "$out/boot.md"
# The lab's "bench: fail" lines (ember rejected the stock vmlinuz): an error,
# not a missed target.
if grep -aq '^bench: fail ' "$out/lab.log"; then
	echo "boot.sh: FAILED:" >&2
	grep -a '^bench: fail ' "$out/lab.log" | sed 's/^bench: fail /    /' | head -n 5 >&2
	exit 1
fi
