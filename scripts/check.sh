#!/usr/bin/env bash
# make check: every test tier, fastest first. Each part prints its own
# "<part>: N passed, M failed" line; this script adds them up into the closing
# line. A part that cannot run says why and counts as failed: nothing is
# skipped silently.
set -uo pipefail
cd "$(dirname "$0")/.."

parts_failed=()
total_pass=0 total_fail=0

run_part() {
	local name=$1
	shift
	local log
	log=$(mktemp /tmp/ember-check-"$name".XXXXXX)
	echo "== $name: $*"
	local start=$SECONDS
	"$@" 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	local line p f
	line=$(grep -E '^[A-Za-z-]+: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -n "$line" ]; then
		p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
		f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
		total_pass=$((total_pass + p))
		total_fail=$((total_fail + f))
	fi
	if [ "$rc" != 0 ]; then
		parts_failed+=("$name")
		# A part that died without counting its failures still fails.
		[ -n "$line" ] && [ "${f:-0}" != 0 ] || total_fail=$((total_fail + 1))
	fi
	echo "== $name: $([ "$rc" = 0 ] && echo ok || echo FAILED) ($((SECONDS - start)) s)"
	rm -f "$log"
}

scripts/deps.sh || { echo "check: cannot install build dependencies"; exit 1; }
make -s all || { echo "check: build failed"; echo "check: 0 passed, 1 failed"; exit 1; }

run_part unit make -s check-unit
run_part acpi-iasl make -s check-acpi-iasl
run_part sanitize make -s check-sanitize
run_part fuzz make -s check-fuzz
run_part cli tests/cli/run.sh
run_part bench-scripts tests/bench/run.sh
run_part guest make -s check-guest
run_part api make -s check-api
run_part fault make -s check-fault
run_part snapshot make -s check-snapshot
run_part uffd-restore make -s check-uffd-restore
run_part sandbox make -s check-sandbox
run_part jail make -s check-jail
if [ -x tests/lab/run.sh ]; then
	run_part lab make -s check-lab
	run_part lab-jailed make -s check-lab-jailed
else
	echo "== lab: tests/lab/run.sh is missing"
	parts_failed+=(lab)
	total_fail=$((total_fail + 1))
fi

if [ ${#parts_failed[@]} -gt 0 ]; then
	echo "check: failed parts: ${parts_failed[*]}"
fi
echo "check: $total_pass passed, $total_fail failed"
[ ${#parts_failed[@]} = 0 ]
