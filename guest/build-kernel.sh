#!/usr/bin/env bash
# Build the minimal PVH guest kernel (tinyconfig + guest/linux.fragment) from
# Debian's linux-source-6.1, or reuse the cached one. Prints the vmlinux path.
# Cache: ~/.cache/ember/kernel-<sha256(fragment + source version)>/vmlinux
#
# `build-kernel.sh nopvh` builds the same kernel with PVH (and Xen) off, so it
# has no XEN_ELFNOTE_PHYS32_ENTRY note and boots only through the Linux 64-bit
# boot protocol (issue 14's lab case nopvh-boot). Its fragment is
# linux.fragment with guest/linux-nopvh.fragment's options replacing the same
# options' lines, so its cache key differs. It also keeps its bzImage (next
# to the vmlinux), a compressed kernel without a PVH note.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
variant=${1:-}
die() { echo "guest: $*" >&2; exit 1; }
case $variant in
'') frag=$here/linux.fragment ;;
nopvh)
	# The effective fragment: the base minus every option the overlay sets,
	# then the overlay (merge_config.sh and the checks below see one file).
	frag=$(mktemp)
	trap 'rm -f "$frag"' EXIT
	opts=$(grep -oE '^(# )?CONFIG_[A-Za-z0-9_]+' "$here/linux-nopvh.fragment" | sed 's/^# //')
	grep -vwF -e "$opts" "$here/linux.fragment" >"$frag" || true
	cat "$here/linux-nopvh.fragment" >>"$frag"
	;;
*) die "unknown kernel variant '$variant' (known: nopvh)" ;;
esac

"$here/../scripts/deps.sh" linux-source-6.1 flex bison bc libelf-dev libssl-dev \
	xz-utils gcc make binutils
tarball=/usr/src/linux-source-6.1.tar.xz
[ -r "$tarball" ] || die "$tarball missing (package linux-source-6.1)"
ver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
hash=$({ cat "$frag"; echo "linux-source-6.1 $ver"; } | sha256sum | cut -c1-16)
cache=${EMBER_CACHE:-$HOME/.cache/ember}
out=$cache/kernel-$hash

# built: the vmlinux (written last) and, for nopvh, the bzImage.
built() { [ -s "$out/vmlinux" ] && { [ "$variant" != nopvh ] || [ -s "$out/bzImage" ]; }; }
if ! built; then
	mkdir -p "$cache"
	exec 9>"$cache/kernel.lock"
	flock 9 # another build of the same tree may be running
fi
if built; then
	echo "$out/vmlinux"
	exit 0
fi

echo "guest: building Linux 6.1 vmlinux${variant:+ ($variant)} (about 5 minutes, cached afterwards)" >&2
src=$cache/linux-source-$ver
if [ ! -e "$src/.unpacked" ]; then
	rm -rf "$src"
	mkdir -p "$src"
	tar -xf "$tarball" -C "$src" --strip-components=1
	touch "$src/.unpacked"
fi

obj=$out/obj
log=$out/build.log
mkdir -p "$obj" # kept after a failed build: the retry is incremental
: >"$log"
kmake() { make -C "$src" O="$obj" ARCH=x86_64 "$@" >>"$log" 2>&1; }
kmake tinyconfig || die "make tinyconfig failed, see $log"
"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$frag" >>"$log" 2>&1 ||
	die "merge_config.sh failed, see $log"
kmake olddefconfig || die "make olddefconfig failed, see $log"

# Every option the fragment sets must have survived Kconfig's dependencies.
bad=()
while read -r line; do
	grep -qxF "$line" "$obj/.config" || bad+=("$line")
done < <(grep -E '^CONFIG_[A-Za-z0-9_]+=' "$frag")
while read -r opt; do
	grep -qx "$opt=y" "$obj/.config" && bad+=("$opt(should be off)")
done < <(sed -n 's/^# \(CONFIG_[A-Za-z0-9_]*\) is not set$/\1/p' "$frag")
[ ${#bad[@]} -eq 0 ] || die "fragment options not applied in .config: ${bad[*]}"

targets=vmlinux
[ "$variant" != nopvh ] || targets="vmlinux bzImage"
kmake -j2 $targets || { tail -n 20 "$log" >&2; die "kernel build failed, see $log"; }
if [ "$variant" = nopvh ]; then
	! readelf -n "$obj/vmlinux" | grep -Eq '^[[:space:]]*Xen[[:space:]]' ||
		die "the nopvh vmlinux still has a Xen note"
else
	readelf -n "$obj/vmlinux" | grep -Eq '^[[:space:]]*Xen[[:space:]].*\(0x0*12\)' ||
		die "vmlinux has no Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY, type 0x12)"
fi

[ "$variant" != nopvh ] || cp "$obj/arch/x86/boot/bzImage" "$out/bzImage"
cp "$obj/vmlinux" "$out/vmlinux.tmp"
cp "$obj/.config" "$out/config"
rm -rf "$obj"
mv "$out/vmlinux.tmp" "$out/vmlinux"
echo "$out/vmlinux"
