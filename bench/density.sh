#!/usr/bin/env bash
# Density on this machine's /dev/kvm: start VMS tiny guests at once and keep
# them resident, for ember and QEMU microvm, ROUNDS rounds alternating.
# The guest is bench/idleguest.S (prints "idleguest: ready", then idles in
# hlt until a byte arrives on its console). bench/vmwatch starts all VMS
# processes back to back, waits for every "ready" line, waits 0.5 s, reads
# each process's smaps_rollup/smaps and /proc/meminfo, then sends each a
# byte and waits for the exits (ember 0; QEMU 3 through isa-debug-exit).
#
# Usage: bench/density.sh [-n VMS] [-r ROUNDS] [--no-qemu]   (default 50, 3)
# Environment: B (build dir), BENCH_NO_BUILD=1 (skip make).
# Prints a markdown table (also $B/bench/density.md; data in density.dat):
# VMs started per second = VMS / (time from the first fork to the last
# "ready" line), median over the rounds; memory summed over the processes
# (PSS counts shared pages once overall) and MemAvailable's drop.
set -euo pipefail

cd "$(dirname "$0")/.."
B=${B:-build}
vms=50
rounds=3
qemu=1
while [ $# -gt 0 ]; do
	case $1 in
	-n) vms=$2; shift 2 ;;
	-r) rounds=$2; shift 2 ;;
	--no-qemu) qemu=0; shift ;;
	-h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "density.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
done
[[ $vms =~ ^[0-9]+$ ]] && [ "$vms" -ge 1 ] && [ "$vms" -le 256 ] ||
	{ echo "density.sh: -n takes 1..256" >&2; exit 2; }
[[ $rounds =~ ^[0-9]+$ ]] && [ "$rounds" -ge 1 ] || { echo "density.sh: -r takes a number >= 1" >&2; exit 2; }

out=$B/bench
guest=$out/idleguest.elf
[ "$qemu" = 0 ] || scripts/deps.sh qemu-system-x86
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
	make -s "$B/ember" "$guest" "$out/vmwatch" B="$B"
fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "density.sh: /dev/kvm is not usable here" >&2
	exit 1
fi
mkdir -p "$out/logs"

declare -A cmd expect
names=(ember)
cmd[ember]="$B/ember run --kernel $guest --memory 128M --no-rng"
expect[ember]=0
if [ "$qemu" = 1 ]; then
	names+=(qemu)
	cmd[qemu]="qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=off,pit=off,pic=off,isa-serial=on"
	cmd[qemu]+=" -accel kvm -cpu host -m 128M -nodefaults -no-user-config -nographic -display none"
	cmd[qemu]+=" -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel $guest"
	expect[qemu]=3
fi

# One round: "READY_MS RSS_KIB PSS_KIB GUEST_RSS_KIB AVAIL_DROP_KIB BAD".
round() {
	# shellcheck disable=SC2086 # commands are word lists
	"$out/vmwatch" -n "$vms" -H -m "idleguest: ready" -t 120 -g 128 -w 500 -i q \
		-l "$out/logs/density-$1" -- ${cmd[$1]} |
		awk -v want="${expect[$1]}" '
			/^ready / { ready = $2 }
			/^meminfo / { avail = $2 }
			/^mem / { rss += $3; pss += $4; grss += $5 }
			/^vm / && ($3 != want || $4 < 0) { bad++ }
			END { printf "%s %d %d %d %d %d\n", ready, rss, pss, grss, avail, bad }'
}

data=$out/density.dat
: >"$data"
bad=0
for ((r = 0; r < rounds; r++)); do
	for ((i = 0; i < ${#names[@]}; i++)); do
		n=${names[$(((r + i) % ${#names[@]}))]}
		line=$(round "$n")
		echo "$n $line" >>"$data"
		set -- $line
		if [ "$6" != 0 ]; then
			echo "density.sh: $n round $((r + 1)): $6 of $vms VMs did not start or exit as expected" \
				"(logs: $out/logs/density-$n.*)" >&2
			bad=1
		fi
	done
done

# median of column $2 over the rows of system $1
med() {
	awk -v n="$1" -v c="$2" '$1 == n { print $c }' "$data" | sort -g |
		awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

report=$out/density.md
{
	echo "$vms tiny guests (bench/idleguest.S, 128 MiB each) started at once, $rounds rounds," \
		"$(date -u +%Y-%m-%d), $(uname -r), $(nproc) CPUs," \
		"load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	echo "| system | time to all ready, ms (median) | VMs started/s | total PSS MiB | PSS per VM MiB | total RSS MiB | guest RAM touched MiB | MemAvailable drop MiB |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	declare -A rate
	for n in "${names[@]}"; do
		t=$(med "$n" 2)
		rate[$n]=$(awk -v t="$t" -v v="$vms" 'BEGIN { printf "%.1f", v / (t / 1000) }')
		awk -v label="$([ "$n" = ember ] && echo ember || echo "QEMU microvm")" -v t="$t" \
			-v rate="${rate[$n]}" -v rss="$(med "$n" 3)" -v pss="$(med "$n" 4)" \
			-v g="$(med "$n" 5)" -v a="$(med "$n" 6)" -v v="$vms" 'BEGIN {
			printf "| %s | %.1f | %s | %.1f | %.2f | %.1f | %.2f | %.1f |\n", label, t, rate,
				pss / 1024, pss / 1024 / v, rss / 1024, g / 1024, a / 1024 }'
	done
	if [ "$qemu" = 1 ]; then
		x=$(awk -v a="${rate[ember]}" -v b="${rate[qemu]}" 'BEGIN { printf "%.1f", a / b }')
		verdict=$(awk -v x="$x" 'BEGIN { print (x >= 10 ? "MET" : "MISSED") }')
		echo
		echo "Target (ember >= 10x QEMU's VMs started per second): $verdict (${x}x)."
	fi
} | tee "$report"
[ "$bad" = 0 ] || exit 1
