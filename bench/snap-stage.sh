# shellcheck shell=bash disable=SC2154 # $stage: tests/lab/run.sh
# Staging for the snapshot benchmark. Sourced (bash, set -euo pipefail) by
# tests/lab/cases.d/bench.host.sh inside tests/lab/run.sh when
# bench/snapshot.sh sets LAB_BENCH_STAGE to this file. Fills /lab/bench in
# L1 for bench/lab-snapshot.sh: snapready, scrub and snap-params from
# $BENCH_OUT. (/lab/fcreq comes from tests/lab/cases.d/api.host.sh.)
mkdir -p "$stage/lab/bench"
cp "$BENCH_OUT/snapready" "$BENCH_OUT/scrub" "$BENCH_OUT/snap-params" "$stage/lab/bench/"
