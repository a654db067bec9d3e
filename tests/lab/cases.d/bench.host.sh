# shellcheck shell=bash source=/dev/null # sourced by tests/lab/run.sh
# Staging hook for the boot benchmarks (bench/boot.sh runs tests/lab/run.sh
# --script bench/lab-boot.sh with LAB_BENCH_STAGE=bench/lab-stage.sh); does
# nothing in ordinary lab runs.
if [ -n "${LAB_BENCH_STAGE:-}" ]; then
	. "$LAB_BENCH_STAGE"
fi
