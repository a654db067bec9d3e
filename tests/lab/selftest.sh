#!/usr/bin/env bash
# The lab's own logic without QEMU: tests/lab/run.sh with a fake L1
# (tests/lab/fake-l1.sh) that dies in scripted ways. Checks that a death
# that is not ember's is retried in a fresh L1 and reported with its kind,
# and that ember's failures (and a case L1 dies under every time) fail the
# run. Takes about 20 s. Prints "lab-selftest: N passed, M failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/lab-selftest.XXXXXX")
trap 'rm -rf "$work"' EXIT
pass=0 fail=0

# scenario NAME WANT_STATUS PLAN CASES -- SUBSTRING...: run the lab with the
# fake L1 and FAKE_L1_PLAN=PLAN on CASES; the exit status must be
# WANT_STATUS (0 or 1) and the output must hold every SUBSTRING.
scenario() {
	local name=$1 want=$2 plan=$3 cases=$4 rc=0 s bad=
	shift 5
	rm -rf "$work/out"
	mkdir -p "$work/out"
	# The scenarios are written for 2 tries and 4 boots (the logic, not
	# run.sh's defaults, is under test).
	LAB_OUT=$work/out LAB_FAKE_L1=$here/fake-l1.sh FAKE_L1_PLAN=$plan LAB_POLL=1 LAB_STALL=3 \
		LAB_TRIES=2 LAB_BOOTS=4 "$here/run.sh" $cases >"$work/$name.log" 2>&1 || rc=$?
	[ "$rc" = "$want" ] || bad="exit status $rc, want $want"
	for s in "$@"; do
		grep -qF -- "$s" "$work/$name.log" || bad="${bad:+$bad; }no '$s' in the output"
	done
	if [ -z "$bad" ]; then
		echo "ok - $name"
		pass=$((pass + 1))
	else
		echo "FAIL - $name: $bad"
		sed 's/^/#   /' "$work/$name.log"
		fail=$((fail + 1))
	fi
}

cd "$root" || exit 1
scenario healthy 0 "" "a b c" -- \
	"lab: 3 passed, 0 failed" "# lab: L1 boots 1, deaths 0; cases run again: none"
scenario soft-lockup-retried 0 "b@1=lockup" "a b c" -- \
	"# lab: L1 died (boot 1: soft-lockup, while b ran" "# lab: L1 boot 2: b c" \
	"deaths 1 (soft-lockup in b); cases run again: b" "lab: 3 passed, 0 failed"
scenario silence-retried 0 "c@1=silence" "a b c" -- \
	"L1 showed no sign of life for 3 s" "deaths 1 (silence in c)" "lab: 3 passed, 0 failed"
scenario panic-retried 0 "a@1=panic" "a b" -- \
	"deaths 1 (panic in a)" "lab: 2 passed, 0 failed"
scenario two-deaths-in-two-cases 0 "a@1=lockup b@2=silence" "a b c" -- \
	"L1 boots 3, deaths 2 (soft-lockup in a, silence in b)" "lab: 3 passed, 0 failed"
scenario failure-on-healthy-l1-fails 1 "b@1=fail" "a b c" -- \
	"FAIL - b: broken" "L1 boots 1, deaths 0" "lab: 2 passed, 1 failed"
scenario failure-with-kernel-trouble-retried 0 "b@1=fail-trouble" "a b c" -- \
	"# lab: b failed while L1's kernel reported trouble (rcu-stall)" "# lab: L1 boot 2: b" \
	"lab: 3 passed, 0 failed"
scenario l1-dies-under-a-case-twice-fails 1 "b@1=lockup b@2=panic" "a b c" -- \
	"FAIL - b: 2 tries, none on a healthy L1: L1 died (soft-lockup), L1 died (panic)" \
	"lab: 2 passed, 1 failed"
scenario boots-run-out 1 "a@1=silence b@2=silence c@3=silence d@4=silence" "a b c d" -- \
	"FAIL - d: not run: L1 died 4 times" "lab: 3 passed, 1 failed"
echo "lab-selftest: $pass passed, $fail failed"
[ "$fail" = 0 ]
