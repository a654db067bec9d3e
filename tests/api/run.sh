#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The API tier: Firecracker's REST API as real users drive it (the
# getting-started guide, Kata Containers' Go runtime and runtime-rs,
# firecracker-containerd through the Go SDK), plus state rules, bad input and
# ember run --api-sock, against build/firecracker on /dev/kvm. Every
# response is checked against Firecracker's v1.16.1 schema. The scenarios
# are tests/api/apitest.py; tests/api/README.md says what each checks.
#
# Usage: tests/api/run.sh [SCENARIO...]   (`make check-api`: all of them)
# Env:   EMBER=path       the ember binary (default build/ember; its directory
#                         must hold the firecracker symlink)
#        API_TIMEOUT=s    the whole tier's time limit (default 300)
#        API_KEEP=1       keep the working directory under /tmp
# Output: "ok - SCENARIO: STEP # N checks" or "not ok - SCENARIO: STEP: why",
# "# note: ..." lines, then "api: N passed, M failed". Exit 1 on any failure,
# including a missing /dev/kvm or python3 (never a silent skip).
set -u
cd "$(dirname "$0")/../.." || exit 1

die() {
	echo "api: $*" >&2
	echo "api: 0 passed, 1 failed"
	exit 1
}

command -v python3 >/dev/null || die "python3 is missing (scripts/deps.sh python3 installs it)"
[ -e /dev/kvm ] || die "/dev/kvm does not exist: these tests need KVM"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || die "/dev/kvm is not readable and writable by $(id -un)"

limit=${API_TIMEOUT:-300}
timeout --kill-after=10 "$limit" python3 -u tests/api/apitest.py "$@"
rc=$?
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	echo "not ok - api: the tier did not finish within $limit s"
	echo "api: 0 passed, 1 failed"
	exit 1
fi
exit "$rc"
