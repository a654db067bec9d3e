#!/usr/bin/env bash
# Consecutive lab runs, to count L1's own deaths (tests/lab/README.md, "When
# L1 dies"):
#
#   tests/lab/repeat.sh N [DIR] [CASE...]  N runs of tests/lab/run.sh (default
#                                          cases), output in DIR/run-K.out
#                                          (K continues after DIR's last run)
#   tests/lab/repeat.sh --table DIR        the table of the runs in DIR
#
# The table has one row per run: its result line, the L1 boots it took, the
# deaths with their kind and the case that ran, the cases run again, the
# time, and the machine's load average when the run started. Its last line
# sums them up: "repeat: R runs, P passed, F failed, B L1 boots, D deaths".
# The L1 consoles of a run with a death or a failure are kept next to its
# output (DIR/run-K.console.N.log).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)

table() {
	local dir=$1 f k runs=0 ok=0 bad=0 boots=0 deaths=0 b d line
	printf '| run | result | L1 boots | deaths (kind in case) | run again | time | load |\n'
	printf '|---|---|---|---|---|---|---|\n'
	for f in $(ls "$dir"/run-*.out 2>/dev/null | sed 's/.*run-\([0-9]*\)\.out$/\1 &/' | sort -n | cut -d' ' -f2); do
		k=$(basename "$f" .out)
		k=${k#run-}
		line=$(grep -a '^lab: [0-9]* passed' "$f" | tail -n1)
		b=$(sed -n 's/^# lab: L1 boots \([0-9]*\), deaths \([0-9]*\).*/\1/p' "$f" | tail -n1)
		d=$(sed -n 's/^# lab: L1 boots \([0-9]*\), deaths \([0-9]*\).*/\2/p' "$f" | tail -n1)
		printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$k" "${line:-no result line}" "${b:-?}" \
			"${d:-?}$(sed -n 's/^# lab: L1 boots [0-9]*, deaths [0-9]* (\(.*\));.*/: \1/p' "$f" | tail -n1)" \
			"$(sed -n 's/^# lab: L1 boots .*; cases run again: *//p' "$f" | tail -n1)" \
			"$(sed -n 's/^# lab took \([0-9]*\) s/\1 s/p' "$f" | tail -n1)" \
			"$(sed -n 's/^# repeat: load \(.*\)/\1/p' "$f" | tail -n1)"
		runs=$((runs + 1))
		case $line in *' 0 failed') ok=$((ok + 1)) ;; *) bad=$((bad + 1)) ;; esac
		boots=$((boots + ${b:-0}))
		deaths=$((deaths + ${d:-0}))
	done
	echo "repeat: $runs runs, $ok passed, $bad failed, $boots L1 boots, $deaths deaths"
}

if [ "${1:-}" = --table ]; then
	table "${2:?--table needs a directory}"
	exit 0
fi
n=${1:?usage: tests/lab/repeat.sh N [DIR] [CASE...] | --table DIR}
dir=${2:-build/lab-repeat}
shift $(($# < 2 ? $# : 2))
mkdir -p "$dir"
last=$(ls "$dir"/run-*.out 2>/dev/null | sed 's/.*run-\([0-9]*\)\.out/\1/' | sort -n | tail -n1)
for ((i = ${last:-0} + 1; i <= ${last:-0} + n; i++)); do
	{
		echo "# repeat: load $(cut -d' ' -f1-3 /proc/loadavg)"
		echo "# repeat: $(git -C "$here" rev-parse --short HEAD 2>/dev/null) $(date -u +%FT%TZ)"
		"$here/run.sh" "$@"
	} >"$dir/run-$i.out" 2>&1
	# Keep the L1 consoles of a run with a death or a failure: the next
	# run removes them.
	if ! grep -q '^# lab: L1 boots 1, deaths 0' "$dir/run-$i.out" ||
		! grep -q '^lab: [0-9]* passed, 0 failed' "$dir/run-$i.out"; then
		for f in "$here"/../../build/lab/console.[0-9]*.log*; do
			[ -e "$f" ] && cp "$f" "$dir/run-$i.$(basename "$f")"
		done
	fi
	echo "repeat: run $i: $(grep -a '^lab: [0-9]* passed' "$dir/run-$i.out" | tail -n1) ($(grep -a '^# lab: L1 boots' "$dir/run-$i.out" | tail -n1 | sed 's/^# lab: //'))"
done
table "$dir"
