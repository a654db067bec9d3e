#!/usr/bin/env bash
# The nested lab: boot a stock Debian kernel (L1) in QEMU TCG on an emulated
# AMD CPU with SVM and nested paging, load kvm-amd there, and run ember (and
# QEMU microvm, for comparison) against that real /dev/kvm. See README.md.
#
#   tests/lab/run.sh [CASE...]   run every case (or the named ones) in one L1 boot
#   tests/lab/run.sh --list      list the cases
#   tests/lab/run.sh --demo      interactive ember demo in L1 (console = this terminal)
#   tests/lab/run.sh --script F  run the shell script F in L1 instead (for debugging)
#
# Prints "ok - NAME" / "FAIL - NAME: reason" per case and "lab: N passed, M failed".
# LAB_TIMEOUT (seconds, default 540) bounds the whole L1 run; LAB_VERBOSE=N
# also shows the last N lines of guest output for passing cases.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
out=build/lab
cache=${EMBER_CACHE:-$HOME/.cache/ember}/lab
die() { echo "lab: $*" >&2; exit 1; }
progress() { echo "lab: $*" >&2; }

mode=cases
cases=()
script=
while [ $# -gt 0 ]; do
	a=$1
	shift
	case $a in
	--demo) mode=demo ;;
	--script) mode=script script=${1:?--script needs a file}; shift ;;
	--list) (. "$here/cases.sh" && for f in "$here"/cases.d/*.sh; do
			case $f in *.host.sh) ;; *) [ -e "$f" ] && . "$f" ;; esac
		done
		printf '%s\n' $LAB_CASES); exit 0 ;;
	-*) die "unknown option $a (usage: tests/lab/run.sh [--demo|--list] [CASE...])" ;;
	*) cases+=("$a") ;;
	esac
done

# One lab at a time per checkout: runs share build/lab, and two TCG machines
# on a 2-core host would only slow each other down.
mkdir -p "$out"
exec 8>"$out/.lock"
if ! flock -n 8; then
	progress "waiting for another lab run in this checkout to finish"
	flock 8
fi
scripts/deps.sh qemu-system-x86 busybox-static cpio xz-utils gcc make
progress "building ember and the guest artifacts (make all guest-kernel guest-initramfs)"
make -s all guest-kernel guest-initramfs >&2 || die "make failed"

# The L1 kernel and KVM modules: the newest Debian 6.1 image, fetched once.
l1_kernel() {
	local pkg ver dir tmp m f mods="irqbypass kvm ccp kvm-amd tun" # tun: cases.d/net.sh
	pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' |
		awk '{print $1}' | sort -V | tail -n1)
	if [ -z "$pkg" ]; then # no package lists yet: fall back to the cache
		dir=$(ls -d "$cache"/linux-image-*/.done 2>/dev/null | sort -V | tail -n1)
		[ -n "$dir" ] || die "no linux-image-6.1.0-*-amd64-unsigned in apt-cache (run apt-get update)"
		dirname "$dir"
		return
	fi
	ver=$(apt-cache show --no-all-versions "$pkg" | sed -n 's/^Version: //p' | head -n1)
	dir=$cache/$pkg-$ver
	# .done lists the modules extracted: a longer list extracts again.
	if [ "$(cat "$dir/.done" 2>/dev/null)" != "$mods" ]; then
		progress "fetching $pkg $ver (apt-get download, cached afterwards)"
		mkdir -p "$cache"
		tmp=$(mktemp -d "$cache/tmp.XXXXXX")
		(cd "$tmp" && apt-get download "$pkg" >download.log 2>&1) ||
			die "apt-get download $pkg failed: $(tail -n1 "$tmp/download.log")"
		dpkg-deb -x "$tmp"/*.deb "$tmp/root"
		rm -rf "$dir"
		mkdir -p "$dir/modules"
		cp "$tmp"/root/boot/vmlinuz-* "$dir/vmlinuz"
		for m in $mods; do
			f=$(find "$tmp/root/lib/modules" -name "$m.ko" -o -name "$m.ko.*" | head -n1)
			case $f in
			*.ko) cp "$f" "$dir/modules/$m.ko" ;;
			*.ko.xz) xz -dc "$f" >"$dir/modules/$m.ko" ;;
			*) die "module $m.ko not found in $pkg" ;;
			esac
		done
		rm -rf "$tmp"
		echo "$mods" >"$dir/.done"
	fi
	echo "$dir"
}
kdir=$(l1_kernel)

# The L1 initramfs (uncompressed: gunzip under TCG would cost seconds).
progress "building the L1 initramfs"
stage=$out/l1
rm -rf "$stage"
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,lab/modules,usr/share/qemu}
cp /bin/busybox "$stage/bin/busybox"
/bin/busybox --list-full | while read -r applet; do
	[ -e "$stage/$applet" ] || ln -s /bin/busybox "$stage/$applet"
done
copy_with_libs() { # copy_with_libs FILE DEST: an executable and its ldd libraries
	local lib
	cp -L "$1" "$stage$2"
	for lib in $(ldd "$1" 2>/dev/null | grep -o '/[^ ]*'); do # none if static
		[ -e "$stage$lib" ] && continue
		mkdir -p "$stage$(dirname "$lib")"
		cp -L "$lib" "$stage$lib"
	done
}
copy_with_libs build/ember /lab/ember
copy_with_libs "$(command -v qemu-system-x86_64)" /usr/bin/qemu-system-x86_64
# microvm always loads its firmware (qboot) even for a PVH kernel.
for f in bios-microvm.bin qboot.rom pvh.bin linuxboot_dma.bin; do
	cp -L "/usr/share/qemu/$f" "$stage/usr/share/qemu/$f"
done
cp "$kdir"/modules/*.ko "$stage/lab/modules/"
cp -L build/guest/vmlinux "$stage/lab/vmlinux"
cp build/guest/initramfs.cpio.gz "$stage/lab/initramfs.cpio.gz"
cp "$here/cases.sh" "$stage/lab/cases.sh"
# Device cases live one file per topic in cases.d/: NAME.sh runs in L1 (it
# adds to LAB_CASES), NAME.host.sh is sourced here to stage what NAME.sh
# needs (images, tools via copy_with_libs, modules) under "$stage".
mkdir -p "$stage/lab/cases.d"
for f in "$here"/cases.d/*.sh; do
	case $f in
	*.host.sh) ;;
	*) cp "$f" "$stage/lab/cases.d/" ;;
	esac
done
cp "$here/l1-init.sh" "$stage/init"
[ -z "$script" ] || cp "$script" "$stage/lab/script"
interactive=
if [ $mode = demo ]; then
	if [ -t 0 ]; then interactive=1; else cat >"$stage/lab/demo-input"; fi
fi
for f in "$here"/cases.d/*.host.sh; do
	[ -e "$f" ] || continue
	progress "staging $(basename "$f" .host.sh) cases"
	. "$f"
done
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --owner=0:0 --quiet) >"$out/l1.cpio"

list=${cases[*]:-}
qemu=(qemu-system-x86_64 -M q35 -accel tcg -cpu EPYC,+svm,+npt -m 6G -smp 2
	-nodefaults -no-user-config -nographic -no-reboot
	-kernel "$kdir/vmlinuz" -initrd "$out/l1.cpio"
	-append "console=ttyS0 quiet panic=-1 lab.mode=$mode lab.cases=${list// /,} lab.verbose=${LAB_VERBOSE:-}")
log=$out/console.log
timeout_s=${LAB_TIMEOUT:-540}

# watch_l1 PID RAW STALL: stop the L1 whose `timeout` is PID when its raw
# console RAW has not grown for STALL seconds, or shows L1's own kernel
# locked up (a soft lockup: L1 has never come back from one here, and its
# reports keep the console from falling silent). The emulated L1 sometimes
# hangs by itself (see README.md), and waiting out the whole timeout only
# wastes minutes.
watch_l1() {
	local pid=$1 raw=$2 stall=$3 last=-1 quiet=0 size
	while kill -0 "$pid" 2>/dev/null; do
		sleep 5
		size=$(stat -c %s "$raw" 2>/dev/null || echo 0)
		if [ "$size" = "$last" ]; then quiet=$((quiet + 5)); else quiet=0 last=$size; fi
		if [ $quiet -ge "$stall" ]; then
			echo "# lab: L1 console silent for $stall s: stopping it"
			kill "$pid" 2>/dev/null
			return
		fi
		if grep -aq 'watchdog: BUG: soft lockup' "$raw"; then
			echo "# lab: L1 reports a soft lockup: stopping it"
			kill "$pid" 2>/dev/null
			return
		fi
	done
}

# boot_l1 LOG STALL APPEND: one L1 boot with kernel command line APPEND; its
# console (CR removed) goes to stdout and LOG as it comes, and watch_l1 stops
# it after STALL s of silence.
boot_l1() {
	local lg=$1 stall=$2 qpid tpid
	local q=("${qemu[@]}")
	q[${#q[@]} - 1]=$3
	: >"$lg.raw"
	timeout -k 10 "$timeout_s" "${q[@]}" -serial stdio </dev/null >"$lg.raw" 2>&1 &
	qpid=$!
	tail -n +1 -f --pid=$qpid "$lg.raw" | sed -u 's/\r$//' | tee "$lg" &
	tpid=$!
	watch_l1 $qpid "$lg.raw" "$stall"
	wait $qpid 2>/dev/null || true
	wait $tpid 2>/dev/null || true
	rm -f "$lg.raw"
}

# run_l1 CASES LOG: one L1 boot running CASES (space-separated; empty: all),
# printing its result lines. Every case prints within a minute, so
# $stall_s s of silence means L1 hung.
stall_s=${LAB_STALL:-150}
run_l1() {
	boot_l1 "$2" "$stall_s" \
		"console=ttyS0 quiet panic=-1 lab.mode=$mode lab.cases=${1// /,} lab.verbose=${LAB_VERBOSE:-}" |
		grep --line-buffered -E '^(ok|FAIL) - |^# ' || true
}

if [ $mode = script ]; then
	# A script (bench/lab-boot.sh) may stay quiet while its VMMs run:
	# vmwatch gives a boot 60-120 s and the density run 180 s before it
	# gives up (then a 1 s hook), so 200 s of silence means L1 is gone.
	boot_l1 "$log" "${LAB_STALL:-200}" "${qemu[${#qemu[@]} - 1]}"
	exit 0
fi
if [ $mode = demo ]; then
	if [ -n "$interactive" ]; then
		progress "booting L1; the guest shell is yours ('exit' or Ctrl-A x ends it)"
		# signal=off: Ctrl-C goes to the guest, not to QEMU.
		"${qemu[@]}" -chardev stdio,id=con,signal=off -serial chardev:con | tee "$log"
	else
		progress "booting L1 (stdin is not a terminal: it is replayed to the guest shell)"
		timeout -k 10 "$timeout_s" "${qemu[@]}" -serial stdio </dev/null | tee "$log"
	fi
	tr -d '\r' <"$log" | grep -qx 'lab: demo: ember exit status 0' || die "demo did not end with ember exit status 0 (log: $log)"
	exit 0
fi

progress "booting L1 (QEMU TCG, EPYC+svm+npt, 2 CPUs, 6G), at most $timeout_s s; console: $log"
start=$(date +%s)
rm -f "$log.first"
run_l1 "$list" "$log"
# The emulated L1 (TCG running kvm-amd) sometimes hangs or panics on its
# own, ember or QEMU alike (docs/benchmarks.md, "The lab's own failures").
# Once, the cases it did not report run again in a fresh L1; that the first
# L1 died is printed either way, with where it stopped.
if ! grep -qx 'lab: done' "$log"; then
	done_cases=$(sed -n 's/^\(ok\|FAIL\) - \([^:]*\).*/\2/p' "$log")
	all=$list
	[ -n "$all" ] || all=$("$here/run.sh" --list | tr '\n' ' ')
	rest=
	for c in $all; do
		printf '%s\n' $done_cases | grep -qx -- "$c" || rest="$rest $c"
	done
	rest=${rest# }
	echo "# lab: L1 stopped before the end (console: $log); last lines:"
	grep -vE '^(ok|FAIL) - |^# ' "$log" | tail -n 6 | sed 's/^/#   /'
	mv "$log" "$log.first"
	if [ -n "$rest" ]; then
		echo "# lab: running the $(echo $rest | wc -w) unreported cases again in a fresh L1: $rest"
		run_l1 "$rest" "$log"
	fi
fi
passed=$( (grep -h '^ok - ' "$log.first" "$log" 2>/dev/null || true) | wc -l)
failed=$( (grep -h '^FAIL - ' "$log.first" "$log" 2>/dev/null || true) | wc -l)
if [ -e "$log.first" ] && [ -z "$rest" ]; then
	: # every case reported before L1 stopped
elif ! grep -qsx 'lab: done' "$log"; then
	echo "FAIL - lab: L1 did not complete (see $log); last lines:"
	grep -vE '^(ok|FAIL) - |^# ' "$log" | tail -n 10 | sed 's/^/#   /'
	failed=$((failed + 1))
fi
echo "# lab took $(($(date +%s) - start)) s"
echo "lab: $passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
