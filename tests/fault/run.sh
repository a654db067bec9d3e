#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The fault suite: every fault class of docs/robustness.md, one file per
# class in cases.d/ (sourced in name order, sharing lib.sh's helpers). Each
# check prints "ok - CLASS: what" or "FAIL - CLASS: what: why"; the closing
# line is "fault: N passed, M failed".
#
# Usage: tests/fault/run.sh [CLASS...]   (CLASS: a cases.d file name without
#        .sh; default all).  Env: EMBER (default build/ember).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/fault/lib.sh

classes=("$@")
if [ ${#classes[@]} = 0 ]; then
	for f in tests/fault/cases.d/*.sh; do
		classes+=("$(basename "$f" .sh)")
	done
fi
for c in "${classes[@]}"; do
	CLASS=$c
	if [ ! -f "tests/fault/cases.d/$c.sh" ]; then
		bad "no such class"
		continue
	fi
	. "tests/fault/cases.d/$c.sh"
done
echo "fault: $pass passed, $fail failed"
[ "$fail" = 0 ]
