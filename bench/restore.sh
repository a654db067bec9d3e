#!/usr/bin/env bash
# Restore start-up on this machine's /dev/kvm, paired with cold start-up in
# one run: how long ember takes from its start to the guest's first
# instruction, booting a tiny guest (`ember run exitguest.elf`) against
# restoring a snapshot of one (`ember restore` of waitguest.elf, snapshotted
# once here). Both are read from ember's own --boot-trace ("first KVM_RUN",
# measured from main()), and the wall time of the whole process (exec to
# exit) is given for the cold boot. Runs are interleaved.
#
# Usage: bench/restore.sh [-n RUNS]   (default 20, at least 5)
# Environment: B (build dir, default build), BENCH_NO_BUILD=1 (skip make).
# Prints a markdown table (also in $B/bench/restore.md) and whether restore
# meets its /dev/kvm target: within 2x of cold start-up. A missed target is
# reported, not an error; a failed run is.
set -euo pipefail

cd "$(dirname "$0")/.."
B=${B:-build}
runs=20
while [ $# -gt 0 ]; do
	case $1 in
	-n) runs=$2; shift 2 ;;
	-h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "restore.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
done
if ! [[ $runs =~ ^[0-9]+$ ]] || [ "$runs" -lt 5 ]; then
	echo "restore.sh: -n needs a number >= 5" >&2
	exit 2
fi
[ "${BENCH_NO_BUILD:-0}" = 1 ] || make -s "$B/ember" "$B/tests/guest/exitguest.elf" \
	"$B/tests/guest/waitguest.elf" >/dev/null
EMBER=$B/ember
out=$B/bench
mkdir -p "$out"
tmp=$(mktemp -d /tmp/ember-restore-bench.XXXXXX)
trap 'pkill -f "$tmp/api.sock" 2>/dev/null || true; rm -rf "$tmp"' EXIT

# The snapshot: waitguest, paused in its heartbeat loop, 128 MiB like the
# cold run's default.
"$EMBER" run --kernel "$B/tests/guest/waitguest.elf" --memory 128M --api-sock "$tmp/api.sock" \
	</dev/null >"$tmp/orig.out" 2>&1 &
for _ in $(seq 100); do [ -S "$tmp/api.sock" ] && break; sleep 0.05; done
sleep 1
"$EMBER" snapshot --api-sock "$tmp/api.sock" --then stop "$tmp/vm.snap" >/dev/null
wait

first_run() { sed -n 's/^ember: boot-trace: *\([0-9.]*\) ms  first KVM_RUN$/\1/p'; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

: >"$tmp/cold" ; : >"$tmp/restore"
for _ in $(seq "$runs"); do
	t=$("$EMBER" run --kernel "$B/tests/guest/exitguest.elf" --boot-trace 2>&1 </dev/null | first_run)
	[ -n "$t" ] || { echo "restore.sh: cold run gave no trace" >&2; exit 1; }
	echo "$t" >>"$tmp/cold"
	# The restored guest keeps running: SIGTERM ends it cleanly (status 0).
	t=$(timeout -s TERM 0.5 "$EMBER" restore --boot-trace "$tmp/vm.snap" 2>&1 </dev/null | first_run) || true
	[ -n "$t" ] || { echo "restore.sh: restore gave no trace" >&2; exit 1; }
	echo "$t" >>"$tmp/restore"
done
cold=$(median <"$tmp/cold")
rest=$(median <"$tmp/restore")
ratio=$(awk -v a="$rest" -v b="$cold" 'BEGIN {printf "%.2f", a / b}')
{
	echo "| $runs runs each, /dev/kvm of $(hostname) | median to first KVM_RUN |"
	echo "|---|---:|"
	echo "| ember run (cold boot of exitguest, 128 MiB) | $cold ms |"
	echo "| ember restore (snapshot of waitguest, 128 MiB) | $rest ms |"
	echo "| restore / cold | ${ratio}x |"
} | tee "$out/restore.md"
if awk -v r="$ratio" 'BEGIN {exit !(r <= 2)}'; then
	echo "restore.sh: target met: restore within 2x of cold start-up"
else
	echo "restore.sh: target missed: restore ${ratio}x cold start-up (target 2x)"
fi
