#!/usr/bin/env bash
# Build the guest initramfs: guest/init.c as /init plus Debian's static busybox
# with a symlink per applet. Usage: guest/build-initramfs.sh [OUT.cpio.gz]
# (default build/guest/initramfs.cpio.gz). No root needed: the kernel's
# built-in initramfs already provides /dev/console.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out=${1:-$root/build/guest/initramfs.cpio.gz}
die() { echo "guest: $*" >&2; exit 1; }

"$here/../scripts/deps.sh" busybox-static cpio gcc libc6-dev
busybox=/bin/busybox
[ -x "$busybox" ] || die "$busybox missing (package busybox-static)"

work=$(dirname "$out")/initramfs.d
mkdir -p "$work"
rm -rf "$work/root"
mkdir -p "$work/root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root,etc}
gcc -static -Os -Wall -Wextra -Werror -o "$work/root/init" "$here/init.c"
# The guest end of the virtio-vsock lab cases (tests/lab/cases.d/vsock.sh).
gcc -static -Os -Wall -Wextra -Werror -o "$work/root/bin/vsock-echo" "$here/vsock-echo.c"
# The guest end of the disk benchmark (bench/lab-io.sh).
gcc -static -O2 -Wall -Wextra -Werror -o "$work/root/bin/diskbench" "$here/diskbench.c"
cp "$busybox" "$work/root/bin/busybox"
"$busybox" --list-full | while read -r applet; do
	[ -e "$work/root/$applet" ] || ln -s /bin/busybox "$work/root/$applet"
done
[ -L "$work/root/bin/sh" ] || die "busybox has no sh applet"

(cd "$work/root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc --owner=0:0 --reproducible --quiet) | gzip -9n >"$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
