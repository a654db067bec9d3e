#!/usr/bin/env bash
# make demo: ember boots the minimal guest Linux (build/guest) with its boot
# timeline (--boot-trace) and hands you the guest shell. Runs ember directly
# when /dev/kvm runs guests at hardware speed (`ember probe` exits 0), else
# inside the nested lab (tests/lab). With stdin not a terminal, the input is
# fed to the guest shell, which exits at its end: `make demo </dev/null` boots,
# exits and returns 0.
set -euo pipefail

cd "$(dirname "$0")/.."
make -s all guest-kernel guest-initramfs >&2 || { echo "demo: make failed" >&2; exit 1; }

rc=0
probe=$(build/ember probe 2>&1) || rc=$?
if [ $rc = 0 ]; then
	exec build/ember run --kernel build/guest/vmlinux --initrd build/guest/initramfs.cpio.gz --boot-trace
fi
if [ $rc = 2 ]; then
	mips=$(sed -n 's/.*about \([0-9.]*\) million guest instructions.*/\1/p' <<<"$probe")
	echo "demo: /dev/kvm here emulates guests (~${mips:-?} MIPS); running the demo inside the nested lab"
else
	echo "demo: ember probe failed ($(tail -n1 <<<"$probe")); running the demo inside the nested lab"
fi
exec tests/lab/run.sh --demo
