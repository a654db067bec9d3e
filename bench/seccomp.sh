#!/usr/bin/env bash
# What ember's seccomp filters cost (issue 15): the same ember binary with
# its filters on (the default) and off (--no-seccomp), paired in one run:
#   1. start-up on this machine's /dev/kvm, as bench/startup.sh measures it
#      (build/bench/measure: exec to the exit-at-once guest's first exit,
#      peak RSS), on and off alternating, STARTUP_RUNS runs each
#   2. in one nested-lab run (bench/lab-seccomp.sh, one L1 boot unless L1
#      dies): the boot race (minimal kernel, 1 vCPU, to the boot marker,
#      and ember's own part, main() to the first KVM_RUN) and the I/O table
#      (bench/lab-io.sh's virtio-blk and TCP workloads), on and off
#      alternating run by run, each round swapping the order; then 3 boots
#      under strace -T, filters on, for what attaching the filters takes
# Usage: bench/seccomp.sh [-n STARTUP_RUNS] [-b BOOT_RUNS] [-i IO_RUNS]
#                         [--no-lab] [--l1-boots N] [--resume] [--report-only]
#   defaults: 30 start-up runs, 12 boot runs and 5 I/O rounds of each (the
#   full benchmarks run 20, 10 and 3: the pairs need more to read 2% from);
#   the lab part takes about 10-15 minutes on the shared 2-core machine.
#   --report-only: the table again from the files of the last run.
#   --resume: keep the last run's start-up and the lab units it finished
#   (boot, io-1, io-2, ..., attach); run only the other units, in fresh L1s.
# Prints the table (bench/seccomp-report.sh; also $B/bench/seccomp.md):
# per row the medians off and on, their ratio, the cost and whether it is
# within 2%. Lab numbers are L1's: ratios only. A cost over 2% is a
# report, not a failure; the script fails when a run cannot be made.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${B:-build}
out=$B/bench
sruns=30
bruns=12
iruns=5
lab=1
attempts=2
report_only=0
resume=0
while [ $# -gt 0 ]; do
	case $1 in
	-n) sruns=$2; shift 2 ;;
	-b) bruns=$2; shift 2 ;;
	-i) iruns=$2; shift 2 ;;
	--no-lab) lab=0; shift ;;
	--l1-boots) attempts=$2; shift 2 ;;
	--report-only) report_only=1; shift ;;
	--resume) resume=1; shift ;;
	-h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "seccomp.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
done
for x in "$sruns" "$bruns" "$iruns" "$attempts"; do
	[[ $x =~ ^[1-9][0-9]*$ ]] || { echo "seccomp.sh: -n, -b, -i and --l1-boots take numbers > 0" >&2; exit 2; }
done
startup=$out/seccomp-startup.txt
lablog=$out/seccomp-lab.log
guest=$B/tests/guest/exitguest.elf

if [ "$report_only" = 0 ]; then
	if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
		make -s "$B/ember" "$guest" "$out/measure"
	fi
	if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		echo "seccomp.sh: /dev/kvm is not usable here" >&2
		exit 1
	fi
	mkdir -p "$out/logs"
	# 1. Start-up: one warm-up run each, then on/off pairs, the order
	# swapped every other round.
	[ "$resume" = 0 ] || [ ! -s "$startup" ] || sruns=0
	[ "$sruns" = 0 ] || echo "seccomp.sh: start-up, $sruns runs each on this /dev/kvm" >&2
	[ "$sruns" = 0 ] || : >"$startup"
	one() { # one SYS RUN
		local f=
		[ "$1" = on ] || f=--no-seccomp
		read -r st ms kib <<<"$("$out/measure" -l "$out/logs/seccomp-$1.log" -t 60 \
			"$B/ember" run $f --kernel "$guest" --memory 128M </dev/null)"
		[ "$st" = 0 ] || { echo "seccomp.sh: ember ($1) exited $st; see $out/logs/seccomp-$1.log" >&2; exit 1; }
		echo "$1 $2 $ms $kib" >>"$startup"
	}
	if [ "$sruns" != 0 ]; then
		one on 0
		one off 0
	fi
	for ((r = 1; r <= sruns; r++)); do
		if ((r % 2)); then one on $r; one off $r; else one off $r; one on $r; fi
	done
	[ "$sruns" = 0 ] || shead="Start-up: $sruns runs each, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	[ "$sruns" = 0 ] || echo "$shead" >"$startup.head"

	# 2. The lab: units boot and io; when L1 dies, the finished units
	# are kept (bench/lab-merge.sh) and the rest run in a fresh L1.
	if [ "$lab" = 1 ]; then
		[ "$B" = build ] || { echo "seccomp.sh: the lab builds in build/ only (B=$B)" >&2; exit 2; }
		scripts/deps.sh qemu-system-x86 busybox-static cpio xz-utils gcc make
		make -s all guest-kernel guest-initramfs
		make -s "$out/vmwatch" "$out/scrub" "$out/initramfs-bench.cpio.gz"
		echo "seccomp.sh: lab run: boot race $bruns runs and I/O $iruns rounds, filters on and off" >&2
		start=$(date +%s)
		: >"$lablog.tmp"
		first=1
		if [ "$resume" = 1 ] && [ -s "$lablog" ]; then
			grep -v '^bench: done' "$lablog" >"$lablog.tmp" || true
			first=0
		fi
		done_units=$(awk '$2 == "unit-end" { printf "%s ", $3 }' "$lablog.tmp")
		[ -n "$done_units" ] || rm -f "$out"/seccomp-lab-[0-9]*.log
		n0=$(find "$out" -maxdepth 1 -name 'seccomp-lab-[0-9]*.log' | wc -l)
		for a in $(seq 1 "$attempts"); do
			printf 'RUNS=%s\nIO_RUNS=%s\nATTACH_RUNS=3\nDONE="%s"\n' "$bruns" "$iruns" "$done_units" >"$out/params"
			raw=$out/seccomp-lab-$((n0 + a)).log
			LAB_BENCH_STAGE=bench/lab-stage.sh BENCH_OUT=$out LAB_TIMEOUT=${LAB_TIMEOUT:-1500} \
				tests/lab/run.sh --script bench/lab-seccomp.sh >"$raw" 2>&1 || true
			sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g' "$raw" | grep -a '^bench: ' >"$out/seccomp.lines" || true
			bench/lab-merge.sh $((a == 1 && first)) <"$out/seccomp.lines" >>"$lablog.tmp"
			done_units=$(awk '$2 == "unit-end" { printf "%s ", $3 }' "$lablog.tmp")
			grep -q '^bench: done' "$out/seccomp.lines" && break
			why=$(grep -a -m1 -oE 'Kernel panic.*|BUG: .*|# lab: L1 console silent.*' "$raw" || echo "no panic; it timed out")
			echo "bench: note: L1 boot $((n0 + a)) stopped (${why%.}); done: ${done_units:-nothing}" >>"$lablog.tmp"
			echo "seccomp.sh: L1 boot $((n0 + a)) stopped ($why); done so far: ${done_units:-nothing}" >&2
		done
		rm -f "$out/seccomp.lines"
		mv "$lablog.tmp" "$lablog"
		echo "seccomp.sh: lab run took $(($(date +%s) - start)) s in $a L1 boot(s); L1 consoles in $out/seccomp-lab-N.log" >&2
	else
		: >"$lablog"
	fi
fi

{
	echo "ember's seccomp filters off (--no-seccomp) and on (the default), the same binary, paired in one run"
	echo
	[ ! -s "$startup.head" ] || cat "$startup.head"
	if [ -s "$lablog" ]; then
		echo "Lab: $(sed -n 's/^bench: L1 //p' "$lablog" | head -n1); $(sed -n 's/^bench: version //p' "$lablog" | head -n1)." \
			"Lab numbers: ratios only."
		grep -q '^bench: done' "$lablog" || echo "**The lab run did not finish**; the lab rows hold the units it finished."
	fi
	echo
	bench/seccomp-report.sh "$startup" "$lablog"
	if grep -q '^bench: note:' "$lablog" 2>/dev/null; then
		echo
		echo "Notes from the lab:"
		grep '^bench: note:' "$lablog" | sed 's/^bench: note: */    /' | head -n 20
	fi
} | tee "$out/seccomp.md"
