#!/usr/bin/env bash
# Start-up benchmark: how long, and how much memory, it takes to create a VM
# and run a guest to its first exit, for three programs:
#   floor  bench/floor.c: /dev/kvm, KVM_CREATE_VM, one slot, one vCPU, KVM_RUN
#   ember  build/ember run --kernel exitguest.elf --memory 128M (and with --no-rng)
#   QEMU   qemu-system-x86_64 -M microvm, same guest, exit via isa-debug-exit
# The guest (tests/guest/exitguest.S) writes port 0xf4 first (QEMU's
# isa-debug-exit ends QEMU) then 0xfe to port 0x64 (ember exits 0).
#
# Usage: bench/startup.sh [-n RUNS] [--static] [--no-qemu]
#   -n RUNS    runs of each program, at least 10 (default 20), interleaved
#   --static   also measure ember linked with -static (built in $B/static)
#   --no-qemu  skip QEMU
# Environment: B (build dir, default build), BENCH_NO_BUILD=1 (skip make).
#
# Prints a markdown table (also written to $B/bench/startup.md) and whether
# ember meets its target: within 1.5x of the floor in median time and median
# peak RSS. A missed target is reported, not an error. Exits non-zero only
# when a run ends with the wrong status (floor 0, ember 0, QEMU the odd
# isa-debug-exit status (value<<1)|1) or something cannot be built.
set -euo pipefail

cd "$(dirname "$0")/.."
B=${B:-build}
runs=20
static=0
qemu=1
while [ $# -gt 0 ]; do
	case $1 in
	-n) runs=$2; shift 2 ;;
	--static) static=1; shift ;;
	--no-qemu) qemu=0; shift ;;
	-h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "startup.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
done
if ! [[ $runs =~ ^[0-9]+$ ]] || [ "$runs" -lt 10 ]; then
	echo "startup.sh: -n needs a number >= 10" >&2
	exit 2
fi

out=$B/bench
guest=$B/tests/guest/exitguest.elf
measure=$out/measure
timeout_s=60

if [ "$qemu" = 1 ]; then
	scripts/deps.sh qemu-system-x86
fi
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
	make -s "$B/ember" "$guest" "$out/floor" "$measure" B="$B"
fi
if [ "$static" = 1 ]; then
	make -s "$B/static/ember" B="$B/static" LDFLAGS=-static
fi
for f in "$B/ember" "$guest" "$out/floor" "$measure"; do
	[ -e "$f" ] || { echo "startup.sh: missing $f (run make)" >&2; exit 1; }
done
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "startup.sh: /dev/kvm is not usable here" >&2
	exit 1
fi

logs=$out/logs
mkdir -p "$logs"
rm -f "$logs"/*.log "$out"/*.samples

# name -> command; QEMU's command is settled below (CPU model).
names=(floor ember)
declare -A cmd expect
cmd[floor]="$out/floor"
expect[floor]=0
cmd[ember]="$B/ember run --kernel $guest --memory 128M"
expect[ember]=0
# Without the default virtio-rng device: its KVM_IOEVENTFD makes the VM's
# teardown wait for SRCU grace periods (bench/ablate: "ioeventfd close").
names+=(ember-norng)
cmd[ember-norng]="$B/ember run --no-rng --kernel $guest --memory 128M"
expect[ember-norng]=0
if [ "$static" = 1 ]; then
	names+=(ember-static)
	cmd[ember-static]="$B/static/ember run --kernel $guest --memory 128M"
	expect[ember-static]=0
fi

# One run: "STATUS MS KIB" on stdout; the program's output goes to its log.
run_one() {
	# shellcheck disable=SC2086 # commands are word lists on purpose
	"$measure" -l "$logs/$1.log" -t "$timeout_s" ${cmd[$1]} </dev/null
}

qemu_cpu=
if [ "$qemu" = 1 ]; then
	qbase="qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=off,pit=off,pic=off -accel kvm"
	qrest="-m 128M -nodefaults -no-user-config -nographic -display none -serial none"
	qrest+=" -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel $guest"
	# isa-debug-exit exits with (value<<1)|1: odd and not 1 (1 is also QEMU's
	# own error status). Prefer -cpu host; fall back to QEMU's default CPU.
	for c in "-cpu host" ""; do
		cmd[qemu]="$qbase $c $qrest"
		read -r st _ <<<"$(run_one qemu)"
		if [ $((st % 2)) = 1 ] && [ "$st" -ge 3 ] && [ "$st" -lt 128 ]; then
			qemu_cpu=${c:-"(default CPU)"}
			expect[qemu]=$st
			break
		fi
	done
	if [ -z "$qemu_cpu" ]; then
		echo "startup.sh: QEMU microvm did not exit through isa-debug-exit" \
			"(last status $st); see $logs/qemu.log" >&2
		exit 1
	fi
	names+=(qemu)
fi

# Warm-up: one unmeasured run each (page cache, dynamic loader caches), which
# also checks that every program works before the real runs.
bad=0
for n in "${names[@]}"; do
	read -r st _ <<<"$(run_one "$n")"
	if [ "$st" != "${expect[$n]}" ]; then
		echo "startup.sh: $n: warm-up run exited $st, expected ${expect[$n]}; see $logs/$n.log" >&2
		bad=1
	fi
done
[ "$bad" = 0 ] || exit 1

# Interleaved runs; the order rotates each round so no program always
# follows the same one.
k=${#names[@]}
for ((r = 0; r < runs; r++)); do
	for ((i = 0; i < k; i++)); do
		n=${names[$(((r + i) % k))]}
		read -r st ms kib <<<"$(run_one "$n")"
		if [ "$st" != "${expect[$n]}" ]; then
			echo "startup.sh: $n: run $((r + 1)) exited $st, expected ${expect[$n]}" >&2
			bad=1
		fi
		echo "$ms $kib" >>"$out/$n.samples"
	done
done

# "median min max" of column $2 of a samples file.
stats() {
	sort -g -k"$2,$2" "$1" | awk -v c="$2" '
		{ v[NR] = $c }
		END {
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%s %s %s\n", m, v[1], v[NR]
		}'
}

declare -A tmed tmin tmax rmed
for n in "${names[@]}"; do
	read -r "tmed[$n]" "tmin[$n]" "tmax[$n]" <<<"$(stats "$out/$n.samples" 1)"
	read -r "rmed[$n]" _ _ <<<"$(stats "$out/$n.samples" 2)"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
label() {
	case $1 in
	floor) echo "floor (bench/floor.c)" ;;
	ember) echo "ember" ;;
	ember-static) echo "ember, -static" ;;
	ember-norng) echo "ember --no-rng" ;;
	qemu) echo "QEMU microvm" ;;
	esac
}

report=$out/startup.md
{
	echo "Start-up to first guest exit, $runs runs each, $(date -u +%Y-%m-%d)," \
		"$(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)${qemu_cpu:+, QEMU $(qemu-system-x86_64 --version |
			sed -n '1s/.*version \([^ ]*\).*/\1/p') $qemu_cpu}"
	echo
	echo "| system | median ms | min-max ms | median peak RSS MiB | time vs floor | RSS vs floor |"
	echo "|---|---:|---:|---:|---:|---:|"
	for n in "${names[@]}"; do
		printf '| %s | %.2f | %.2f-%.2f | %.2f | %sx | %sx |\n' "$(label "$n")" \
			"${tmed[$n]}" "${tmin[$n]}" "${tmax[$n]}" \
			"$(awk -v k="${rmed[$n]}" 'BEGIN { print k / 1024 }')" \
			"$(ratio "${tmed[$n]}" "${tmed[floor]}")" \
			"$(ratio "${rmed[$n]}" "${rmed[floor]}")"
	done
	echo
	tr=$(ratio "${tmed[ember]}" "${tmed[floor]}")
	rr=$(ratio "${rmed[ember]}" "${rmed[floor]}")
	missed=()
	awk -v x="$tr" 'BEGIN { exit !(x <= 1.5) }' || missed+=(time)
	awk -v x="$rr" 'BEGIN { exit !(x <= 1.5) }' || missed+=(RSS)
	if [ ${#missed[@]} = 0 ]; then
		echo "Target (ember <= 1.5x floor in time and RSS): MET (${tr}x time, ${rr}x RSS)."
	else
		echo "Target (ember <= 1.5x floor in time and RSS): MISSED on ${missed[*]}" \
			"(${tr}x time, ${rr}x RSS)."
	fi
	if [ "$qemu" = 1 ]; then
		echo "ember vs QEMU microvm: $(ratio "${tmed[qemu]}" "${tmed[ember]}")x faster," \
			"$(ratio "${rmed[qemu]}" "${rmed[ember]}")x leaner (goal: >= 10x each)."
	fi
} | tee "$report"

if [ "$bad" != 0 ]; then
	echo "startup.sh: some runs exited with the wrong status (see above, logs in $logs)" >&2
	exit 1
fi
