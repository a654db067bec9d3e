#!/usr/bin/env bash
# API benchmark (/dev/kvm of this machine): what the control plane costs.
#  1. ember's Firecracker front end, driven as a platform drives it
#     (bench/apibench.c, guest bench/markguest.S): exec to the API socket
#     accepting (wall, and the process's CPU time), InstanceStart to its 204,
#     InstanceStart to the guest's first instruction (ember's own
#     "Guest-boot-time" with --boot-timer), InstanceStart to the exit.
#  2. `ember run`'s start-up, paired against a base revision built from git
#     (default: the tree before the control plane, 8dbfb82): both run the
#     exit-at-once guest, interleaved, measured by bench/measure.c (wall and
#     peak RSS).
#
# Usage: bench/api.sh [-n RUNS] [--base REV]
#   -n RUNS     runs of each (default 20, at least 10)
#   --base REV  the revision ember run is compared with (default 8dbfb82)
# Environment: B (build dir, default build), BENCH_NO_BUILD=1 (skip make).
# Prints markdown tables (also written to $B/bench/api.md) and the targets:
# socket within 1 CPU ms (Firecracker promises 8), InstanceStart to the
# first guest instruction within 2 ms, ember run's start-up unchanged. A
# missed target is reported, not an error; a run that fails is an error.
set -euo pipefail

cd "$(dirname "$0")/.."
B=${B:-build}
runs=20
base=8dbfb82
while [ $# -gt 0 ]; do
	case $1 in
	-n) runs=$2; shift 2 ;;
	--base) base=$2; shift 2 ;;
	-h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "api.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
done
if ! [[ $runs =~ ^[0-9]+$ ]] || [ "$runs" -lt 10 ]; then
	echo "api.sh: -n needs a number >= 10" >&2
	exit 2
fi
out=$B/bench
guest=$B/tests/guest/exitguest.elf
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
	make -s "$B/ember" "$guest" "$out/apibench" "$out/markguest.elf" "$out/measure" B="$B"
fi
for f in "$B/ember" "$guest" "$out/apibench" "$out/markguest.elf" "$out/measure"; do
	[ -e "$f" ] || { echo "api.sh: missing $f (run make)" >&2; exit 1; }
done

# The base revision's ember, built once in $B/base-REV from a git worktree.
rev=$(git rev-parse --short "$base")
bdir=$B/base-$rev
if [ ! -x "$bdir/build/ember" ]; then
	echo "api.sh: building ember at $rev for the paired start-up runs" >&2
	rm -rf "$bdir"
	git worktree add -f --detach "$bdir" "$rev" >/dev/null 2>&1 ||
		{ echo "api.sh: cannot check out $rev" >&2; exit 1; }
	make -s -C "$bdir" build/ember >/dev/null ||
		{ echo "api.sh: cannot build ember at $rev" >&2; exit 1; }
fi

tmp=$(mktemp -d /tmp/ember-api-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
api=$out/api.samples start_new=$out/api-run-new.samples start_base=$out/api-run-base.samples
: >"$api"
: >"$start_new"
: >"$start_base"

# Warm-up, then interleaved runs.
"$out/apibench" "$B/ember" "$out/markguest.elf" "$tmp/s" "$tmp/log" >/dev/null ||
	{ echo "api.sh: the warm-up API run failed; see $tmp/log" >&2; cat "$tmp/log" >&2; exit 1; }
for ((r = 0; r < runs; r++)); do
	"$out/apibench" "$B/ember" "$out/markguest.elf" "$tmp/s" "$tmp/log" >>"$api" ||
		{ echo "api.sh: API run $((r + 1)) failed" >&2; cat "$tmp/log" >&2; exit 1; }
	for which in base new; do
		[ $((r % 2)) = 0 ] || which=$([ "$which" = base ] && echo new || echo base)
		bin=$B/ember
		[ "$which" = new ] || bin=$bdir/build/ember
		read -r st ms kib <<<"$("$out/measure" -t 60 "$bin" run --kernel "$guest" --memory 128M </dev/null)"
		[ "$st" = 0 ] || { echo "api.sh: $which ember run exited $st" >&2; exit 1; }
		if [ "$which" = new ]; then echo "$ms $kib" >>"$start_new"; else echo "$ms $kib" >>"$start_base"; fi
	done
done

# median and min-max of column C of file F
stats() {
	awk -v c="$2" '{ print $c }' "$1" | sort -g | awk '
		{ v[NR] = $1 }
		END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      printf "%.2f %.2f %.2f\n", m, v[1], v[NR] }'
}
row() { # LABEL FILE COLUMN
	read -r m lo hi <<<"$(stats "$2" "$3")"
	printf '| %s | %s | %s-%s |\n' "$1" "$m" "$lo" "$hi"
}
med() { stats "$1" "$2" | cut -d' ' -f1; }

{
	echo "ember firecracker on this machine's /dev/kvm, $runs runs (ms):"
	echo
	echo "| measure | median | min-max |"
	echo "|---|---:|---:|"
	row "exec to API socket accepting (wall)" "$api" 1
	row "exec to API socket accepting (CPU)" "$api" 2
	row "InstanceStart to its 204" "$api" 3
	row "InstanceStart to the guest's first instruction (Guest-boot-time)" "$api" 4
	row "InstanceStart to the process's exit" "$api" 5
	echo
	echo "ember run --kernel exitguest.elf --memory 128M, paired with $rev, $runs runs each:"
	echo
	echo "| binary | median ms | min-max ms | median peak RSS KiB |"
	echo "|---|---:|---:|---:|"
	read -r m lo hi <<<"$(stats "$start_base" 1)"
	echo "| $rev | $m | $lo-$hi | $(med "$start_base" 2) |"
	read -r m lo hi <<<"$(stats "$start_new" 1)"
	echo "| this tree | $m | $lo-$hi | $(med "$start_new" 2) |"
	echo
	cpu=$(med "$api" 2) first=$(med "$api" 4)
	nb=$(med "$start_base" 1) nn=$(med "$start_new" 1)
	awk -v c="$cpu" 'BEGIN { printf "target: API socket within 1 CPU ms: %s (%.2f ms)\n", c <= 1 ? "MET" : "MISSED", c }'
	awk -v f="$first" 'BEGIN { printf "target: InstanceStart to first instruction within 2 ms: %s (%.2f ms)\n", f <= 2 ? "MET" : "MISSED", f }'
	awk -v a="$nb" -v b="$nn" 'BEGIN { printf "ember run start-up: %.2fx the base (%.2f vs %.2f ms median)\n", b / a, b, a }'
} | tee "$out/api.md"
