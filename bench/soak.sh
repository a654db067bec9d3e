#!/usr/bin/env bash
# The soak: a Linux guest drives virtio-blk, virtio-net and virtio-vsock for
# SOAK_SECS (default 600) seconds under ember built with ASan and UBSan, in the
# nested lab, while L1's clients connect to the guest and leave. It passes when
# no sanitizer reports, every workload moves, and ember's fd count and RSS are
# flat after the warm-up (tests/lab/cases.d/soak.sh says exactly how that is
# judged). A benchmark, not part of `make check`:
#
#   make bench-soak            or  bench/soak.sh
#   SOAK_SECS=120 SOAK_WARMUP=30 bench/soak.sh   a short one
#
# The table goes to build/bench/soak.txt (every 30 s: fds, threads, RSS, guest
# RAM, ember's own RSS), the whole lab output to build/bench/soak.log.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
out=${B:-build}/bench
mkdir -p "$out"
secs=${SOAK_SECS:-600}
# The case needs SOAK_SECS of guest time plus boot and L1's own: the lab's
# per-boot limit must be larger.
LAB_SOAK=1 SOAK_SECS=$secs LAB_TIMEOUT=${LAB_TIMEOUT:-$((secs + 1200))} \
	tests/lab/run.sh soak 2>&1 | tee "$out/soak.log"
rc=${PIPESTATUS[0]}
grep -a '^# soak: \|^ok - soak\|^FAIL - soak' "$out/soak.log" >"$out/soak.txt"
echo "soak: table in $out/soak.txt"
exit "$rc"
