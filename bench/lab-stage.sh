# shellcheck shell=bash disable=SC2154 # $stage, $kdir, die, copy_with_libs: tests/lab/run.sh
# Staging for the lab half of the boot benchmarks. Sourced (bash, set -euo
# pipefail) by tests/lab/cases.d/bench.host.sh inside tests/lab/run.sh when
# bench/boot.sh sets LAB_BENCH_STAGE to this file; uses run.sh's $stage (the
# L1 initramfs tree), $kdir (the Debian kernel package L1 boots) and
# copy_with_libs. Fills /lab/bench in L1 for bench/lab-boot.sh:
#   vmwatch, scrub, initramfs-bench.cpio.gz, params   from $BENCH_OUT (bench/boot.sh)
#   vmlinux-stock   the ELF vmlinux inside $kdir/vmlinuz (the L1 kernel's
#                   own package), extracted by bench/extract-vmlinux.sh
#   vmlinuz-stock   $kdir/vmlinuz itself, the bzImage (the unwrap section)
#   perf, strace    with their libraries, when the host has them
bench_dir=$stage/lab/bench
mkdir -p "$bench_dir"
cp "$BENCH_OUT/vmwatch" "$BENCH_OUT/scrub" "$BENCH_OUT/initramfs-bench.cpio.gz" "$BENCH_OUT/params" "$bench_dir/"
if [ ! -s "$BENCH_OUT/vmlinux-stock" ] || [ "$kdir/vmlinuz" -nt "$BENCH_OUT/vmlinux-stock" ]; then
	bench/extract-vmlinux.sh "$kdir/vmlinuz" "$BENCH_OUT/vmlinux-stock"
fi
build/ember inspect "$BENCH_OUT/vmlinux-stock" >"$BENCH_OUT/vmlinux-stock.inspect"
grep -q 'PHYS32_ENTRY' "$BENCH_OUT/vmlinux-stock.inspect" ||
	die "$BENCH_OUT/vmlinux-stock: ember inspect shows no PVH entry note"
basename "$kdir" >"$BENCH_OUT/vmlinux-stock.package"
cp "$BENCH_OUT/vmlinux-stock" "$bench_dir/vmlinux-stock"
cp "$kdir/vmlinuz" "$bench_dir/vmlinuz-stock"
for tool in perf strace; do
	if command -v "$tool" >/dev/null; then
		copy_with_libs "$(command -v "$tool")" "/lab/bench/$tool"
	fi
done
