# shellcheck shell=bash disable=SC2154 # $stage, $kdir, $out, die: tests/lab/run.sh
# Staged on the host for cases.d/stock.sh (sourced by tests/lab/run.sh): the
# ELF vmlinux inside the Debian kernel package L1 itself boots ($kdir/vmlinuz),
# extracted once by bench/extract-vmlinux.sh and cached in build/lab.
stock_vmlinux=$out/vmlinux-stock
if [ ! -s "$stock_vmlinux" ] || [ "$kdir/vmlinuz" -nt "$stock_vmlinux" ]; then
	echo "lab: extracting the stock kernel's vmlinux from $(basename "$kdir")" >&2
	bench/extract-vmlinux.sh "$kdir/vmlinuz" "$stock_vmlinux.tmp" ||
		die "cannot extract a vmlinux from $kdir/vmlinuz"
	mv "$stock_vmlinux.tmp" "$stock_vmlinux"
fi
cp "$stock_vmlinux" "$stage/lab/vmlinux-stock"
