# shellcheck shell=bash disable=SC2154 # $stage, $kdir, $cache, $out, progress: tests/lab/run.sh
# Staged on the host for cases.d/stockboot.sh (issue 14: stock distribution
# kernels out of the box), under $stage/lab/stockboot/:
#   vmlinuz-61, initrd-61.cpio.gz    Debian 12's 6.1 vmlinuz, as packaged (the
#                                    package L1 boots), and the guest initramfs
#                                    plus its virtio modules under /stock/
#   vmlinuz-612, initrd-612.cpio.gz  the same for Debian 13's 6.12 cloud kernel
#                                    (zstd payload, XEN_ELFNOTE_PHYS32_RELOC)
#   vmlinux-nopvh, bzImage-nopvh     the minimal guest kernel without PVH
#   disk.raw, disk.sha256            1 MiB of random bytes for /dev/vda
#   missing                          one line per asset that could not be had
# The downloads are cached in ~/.cache/ember/lab/stock61-* and stock612-*
# (the Debian packages are not kept). An asset that cannot be fetched (no
# archive in reach) does not stop the lab: its cases fail, naming it.
scripts/deps.sh curl xz-utils gpgv debian-archive-keyring
sb=$stage/lab/stockboot
mkdir -p "$sb"
: >"$sb/missing"
sb_warn() { progress "stockboot: $*"; echo "$*" >>"$sb/missing"; }

# sb_initrd MODDIR OUT: the guest initramfs with MODDIR's *.ko and the
# guest's check script under /stock/, appended as a second gzip'd cpio
# archive (Linux unpacks both).
sb_initrd() {
	local t
	t=$(mktemp -d "$out/stockboot.XXXXXX") || return 1
	mkdir -p "$t/stock" && cp "$1"/*.ko "$t/stock/" && sb_check_script >"$t/stock/check.sh" &&
		(cd "$t" && find stock | LC_ALL=C sort | cpio -o -H newc --owner=0:0 --quiet) |
		gzip -9n >"$t/mods.cpio.gz" &&
		cat build/guest/initramfs.cpio.gz "$t/mods.cpio.gz" >"$2"
	local rc=$?
	rm -rf "$t"
	return $rc
}

# /stock/check.sh [poweroff] (ember.cmd="sh /stock/check.sh poweroff"): the
# guest's half of the stockboot cases, kept here since ember.cmd cannot hold
# double quotes. It loads the virtio modules the kernel has as modules (in
# dependency order), waits for /dev/vda, prints lab-KEY=VALUE lines for the
# case to check, and with "poweroff" ends with busybox's poweroff -f.
sb_check_script() {
	cat <<'GUEST'
#!/bin/sh
for m in virtio_ring virtio virtio_mmio virtio_blk; do
	[ -e /stock/$m.ko ] || continue # 6.12: virtio, virtio_ring built in
	insmod /stock/$m.ko || echo "lab-insmod-failed=$m"
done
i=0 # virtio_blk's probe makes vda at once; wait a little if a device is there
[ -n "$(ls /sys/bus/virtio/devices 2>/dev/null)" ] || i=50
while [ ! -e /sys/block/vda ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
echo "lab-uname=$(uname -r)"
echo "lab-cpus=$(grep -c ^processor /proc/cpuinfo)"
echo "lab-acpi-tables=$(ls /sys/firmware/acpi/tables 2>/dev/null | tr '\n' ' ')"
echo "lab-acpi-errors=$(dmesg | grep -cE 'ACPI BIOS Error|ACPI Error|RSDP was not found')"
dmesg | grep -E 'ACPI BIOS Error|ACPI Error|RSDP was not found' | head -n 5 | sed 's/^/lab-acpi-msg: /'
echo "lab-i8042=$(dmesg | grep -m1 -E 'serio: i8042 KBD|i8042.*(probe|No controller|not found)' | sed 's/^\[[ 0-9.]*\] //')"
if [ -e /sys/block/vda ]; then
	echo "lab-vda=$(readlink -f /sys/block/vda)"
	echo "lab-vda-size=$(cat /sys/block/vda/size)"
	echo "lab-vda-sha256=$(sha256sum </dev/vda | cut -d' ' -f1)"
else
	echo "lab-vda=none"
fi
# The kernel's physical placement (as root /proc/iomem shows addresses).
echo "lab-kernel-code=$(grep -m1 'Kernel code' /proc/iomem | tr -d ' ')"
echo "lab-kernel-bss=$(grep -m1 'Kernel bss' /proc/iomem | tr -d ' ')"
if [ "$1" = poweroff ]; then
	echo lab-poweroff
	poweroff -f
	echo "lab-poweroff-returned=$?"
fi
GUEST
}

# Debian 12's 6.1: the package L1 boots ($kdir is $cache/PKG-VERSION), fetched
# again for its guest modules (l1_kernel keeps only L1's own).
sb_stock61() {
	local kb pkg ver dir tmp m f
	kb=$(basename "$kdir")
	pkg=${kb%-unsigned-*}-unsigned
	ver=${kb#"$pkg"-}
	dir=$cache/stock61-$pkg-$ver
	if [ "$(cat "$dir/.done" 2>/dev/null)" != "virtio_ring virtio virtio_mmio virtio_blk" ]; then
		progress "stockboot: fetching $pkg $ver for its virtio modules (apt-get download, cached afterwards)"
		tmp=$(mktemp -d "$cache/tmp.XXXXXX") || return 1
		(cd "$tmp" && apt-get download "$pkg=$ver" >download.log 2>&1) ||
			{ echo "apt-get download $pkg=$ver: $(tail -n1 "$tmp/download.log")"; rm -rf "$tmp"; return 1; }
		dpkg-deb -x "$tmp"/*.deb "$tmp/root" || { rm -rf "$tmp"; return 1; }
		rm -rf "$dir"
		mkdir -p "$dir/modules"
		cp "$tmp"/root/boot/vmlinuz-* "$dir/vmlinuz"
		cp "$tmp"/root/boot/config-* "$dir/config"
		for m in virtio_ring virtio virtio_mmio virtio_blk; do
			f=$(find "$tmp/root/lib/modules" -name "$m.ko" -o -name "$m.ko.xz" | head -n1)
			case $f in
			*.ko) cp "$f" "$dir/modules/$m.ko" ;;
			*.ko.xz) xz -dc "$f" >"$dir/modules/$m.ko" ;;
			*) echo "module $m not in $pkg"; rm -rf "$tmp"; return 1 ;;
			esac
		done
		rm -rf "$tmp"
		echo "virtio_ring virtio virtio_mmio virtio_blk" >"$dir/.done"
	fi
	cmp -s "$dir/vmlinuz" "$kdir/vmlinuz" || { echo "$dir/vmlinuz is not L1's $kdir/vmlinuz"; return 1; }
	cp "$dir/vmlinuz" "$sb/vmlinuz-61"
	sb_initrd "$dir/modules" "$sb/initrd-61.cpio.gz" || { echo "cannot pack initrd-61"; return 1; }
}

# Debian 13's 6.12: the newest linux-image-6.12.*+deb13-cloud-amd64-unsigned
# of trixie (the cloud flavour: 34 MB against 108 MB, and it has
# virtio_mmio and virtio_blk as modules; virtio and virtio_ring are built
# in), from the mirror apt uses for bookworm. Trust: trixie's InRelease
# checked by gpgv against debian-archive-keyring, Packages.xz by its SHA256
# there, the .deb by its SHA256 in Packages.xz. When the archive is out of
# reach, the newest cached one serves.
sb_stock612() {
	local mirror idx ihash line name ver file sum dir tmp m f
	mirror=$(apt-get indextargets --format '$(URI)' 'Identifier: Packages' 2>/dev/null |
		sed -n 's#/dists/bookworm/main/.*##p' | head -n1)
	idx=$cache/trixie-index
	mkdir -p "$idx"
	line=
	if [ -n "$mirror" ] && curl -fsS -m 60 -o "$idx/InRelease.new" "$mirror/dists/trixie/InRelease" 2>"$idx/curl.log" &&
		gpgv --keyring /usr/share/keyrings/debian-archive-keyring.gpg --output "$idx/Release.new" \
			"$idx/InRelease.new" 2>"$idx/gpgv.log"; then
		mv "$idx/Release.new" "$idx/Release"
		mv "$idx/InRelease.new" "$idx/InRelease"
		ihash=$(awk '/^SHA256:/ { s = 1; next } /^[^ ]/ { s = 0 }
			s && $3 == "main/binary-amd64/Packages.xz" { print $1 }' "$idx/Release")
		[ -n "$ihash" ] || { echo "trixie's Release lists no main/binary-amd64/Packages.xz"; return 1; }
		if [ "$(sha256sum "$idx/Packages.xz" 2>/dev/null | cut -d" " -f1)" != "$ihash" ]; then
			progress "stockboot: fetching trixie's Packages.xz from $mirror"
			curl -fsS -m 300 -o "$idx/Packages.xz.new" "$mirror/dists/trixie/main/binary-amd64/Packages.xz" ||
				{ echo "cannot fetch trixie's Packages.xz from $mirror"; return 1; }
			[ "$(sha256sum <"$idx/Packages.xz.new" | cut -d' ' -f1)" = "$ihash" ] ||
				{ echo "trixie's Packages.xz does not match its SHA256 in InRelease"; return 1; }
			mv "$idx/Packages.xz.new" "$idx/Packages.xz"
		fi
		# name version filename sha256 of every 6.12 cloud image, newest last.
		line=$(xz -dc "$idx/Packages.xz" | awk '
			/^Package: / { p = $2; v = f = s = "" }
			/^Version: / { v = $2 } /^Filename: / { f = $2 } /^SHA256: / { s = $2 }
			/^$/ && p ~ /^linux-image-6\.12\.[0-9]+\+deb13-cloud-amd64-unsigned$/ && f != "" { print p, v, f, s; p = "" }' |
			sort -k2,2V | tail -n1)
	fi
	if [ -n "$line" ]; then
		read -r name ver file sum <<<"$line"
		dir=$cache/stock612-$name-$ver
		if [ ! -e "$dir/.done" ]; then
			progress "stockboot: fetching $name $ver from $mirror (35 MB, cached afterwards)"
			tmp=$(mktemp -d "$cache/tmp.XXXXXX") || return 1
			curl -fsS -m 600 -o "$tmp/k.deb" "$mirror/$file" ||
				{ echo "cannot fetch $mirror/$file"; rm -rf "$tmp"; return 1; }
			[ "$(sha256sum <"$tmp/k.deb" | cut -d' ' -f1)" = "$sum" ] ||
				{ echo "$file does not match its SHA256 in Packages.xz"; rm -rf "$tmp"; return 1; }
			dpkg-deb -x "$tmp/k.deb" "$tmp/root" || { rm -rf "$tmp"; return 1; }
			rm -rf "$dir"
			mkdir -p "$dir/modules"
			cp "$tmp"/root/boot/vmlinuz-* "$dir/vmlinuz"
			cp "$tmp"/root/boot/config-* "$dir/config"
			for m in virtio_mmio virtio_blk; do # virtio, virtio_ring: built in
				f=$(find "$tmp/root" -path '*/lib/modules/*' \( -name "$m.ko" -o -name "$m.ko.xz" \) | head -n1)
				case $f in
				*.ko) cp "$f" "$dir/modules/$m.ko" ;;
				*.ko.xz) xz -dc "$f" >"$dir/modules/$m.ko" ;; # busybox insmod: no xz
				*) echo "module $m not in $name"; rm -rf "$tmp"; return 1 ;;
				esac
			done
			rm -rf "$tmp"
			echo "$name $ver" >"$dir/.done"
		fi
	else
		f=$(ls -d "$cache"/stock612-*/.done 2>/dev/null | sort -V | tail -n1)
		[ -n "$f" ] || { echo "no Debian 13 kernel: trixie's index is out of reach ($(cat "$idx/curl.log" "$idx/gpgv.log" 2>/dev/null | tail -n1)) and none is cached"; return 1; }
		dir=$(dirname "$f")
		progress "stockboot: trixie's index is out of reach, using the cached $(basename "$dir")"
	fi
	cp "$dir/vmlinuz" "$sb/vmlinuz-612"
	sb_initrd "$dir/modules" "$sb/initrd-612.cpio.gz" || { echo "cannot pack initrd-612"; return 1; }
}

# The minimal guest kernel with PVH off (guest/build-kernel.sh nopvh: about
# 5 minutes once, then cached in ~/.cache/ember/kernel-<hash>).
sb_nopvh() {
	nice make -s guest-kernel-nopvh >&2 || { echo "make guest-kernel-nopvh failed"; return 1; }
	cp -L build/guest/vmlinux-nopvh "$sb/vmlinux-nopvh" &&
		cp -L build/guest/bzImage-nopvh "$sb/bzImage-nopvh"
}

for a in stock61 stock612 nopvh; do
	why=$("sb_$a") || sb_warn "$a: ${why:-failed}"
done
head -c 1M /dev/urandom >"$sb/disk.raw"
sha256sum <"$sb/disk.raw" | cut -d' ' -f1 >"$sb/disk.sha256"
