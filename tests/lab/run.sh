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
# LAB_EMBER puts another ember binary in L1 (a before/after benchmark);
# LAB_EMBER_B adds a second one as /lab/ember-b (bench/io-ab.sh).
# LAB_TIMEOUT (seconds, default 540) bounds the whole L1 run; LAB_VERBOSE=N
# also shows the last N lines of guest output for passing cases.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
out=${LAB_OUT:-build/lab}
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
# build_l1: ember, the guest artifacts, L1's kernel (sets kdir) and its
# initramfs ($out/l1.cpio). LAB_FAKE_L1 (tests/lab/selftest.sh) skips it all:
# the fake L1 needs none of it.
build_l1() {
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
	copy_with_libs "${LAB_EMBER:-build/ember}" /lab/ember
	[ -z "${LAB_EMBER_B:-}" ] || copy_with_libs "$LAB_EMBER_B" /lab/ember-b
	copy_with_libs "$(command -v qemu-system-x86_64)" /usr/bin/qemu-system-x86_64
	# microvm always loads its firmware (qboot) even for a PVH kernel.
	for f in bios-microvm.bin qboot.rom pvh.bin linuxboot_dma.bin; do
		cp -L "/usr/share/qemu/$f" "$stage/usr/share/qemu/$f"
	done
	cp "$kdir"/modules/*.ko "$stage/lab/modules/"
	cp -L build/guest/vmlinux "$stage/lab/vmlinux"
	cp build/guest/initramfs.cpio.gz "$stage/lab/initramfs.cpio.gz"
	cp "$here/cases.sh" "$stage/lab/cases.sh"
	# LAB_JAIL=1: every case's VM through `ember jail` (jailed.sh).
	cp "$here/jailed.sh" "$stage/lab/ember-jailed"
	ln -sf ember-jailed "$stage/lab/firecracker-jailed"
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
}
if [ -n "${LAB_FAKE_L1:-}" ]; then
	kdir=$out/fake interactive=
else
	build_l1
fi

list=${cases[*]:-}
# L1's CPU. The lab cases run on one L1 CPU: with two (one host thread each,
# QEMU's default thread=multi), L1 died in 8 of 12 long benchmark boots and
# now and then in lab runs, both CPUs stuck (soft lockups, an RCU stall, a
# page-fault stack overflow); with two CPUs on one host thread
# (thread=single), a 2-vCPU guest crawls, each cross-CPU wait in it costing
# a round-robin slice. See README.md, "When L1 dies". The boot benchmarks
# (--script) keep two CPUs: their 2-vCPU rows need them, and bench/boot.sh
# retries by itself. LAB_SMP and LAB_ACCEL override both for experiments.
if [ $mode = script ]; then smp=${LAB_SMP:-2}; else smp=${LAB_SMP:-1}; fi
# L1's timer: a periodic tick (nohz=off highres=off puts the local APIC
# timer in periodic mode, which QEMU re-arms by itself). With Linux's
# default one-shot timer, QEMU 7.2's TCG now and then never delivers the
# next timer interrupt to a halted L1 CPU: L1 sat in its idle loop for ever
# (every silent death had its CPU at the same idle-loop RIP), and when
# something else woke it, it had lost time. In one series on snapshot-
# clones, alternating: one-shot, 3 runs, 5 deaths in 8 L1 boots, a healthy
# run 110-167 s; periodic, 3 runs, no death, 41-63 s. LAB_L1_TICK= (empty)
# brings back the old timer for experiments.
l1_tick=${LAB_L1_TICK-nohz=off highres=off}
qemu=("${LAB_FAKE_L1:-qemu-system-x86_64}" -M q35 -accel "${LAB_ACCEL:-tcg}" -cpu EPYC,+svm,+npt
	-m 6G -smp "$smp" -nodefaults -no-user-config -nographic -no-reboot
	-kernel "$kdir/vmlinuz" -initrd "$out/l1.cpio"
	-append "console=ttyS0 quiet panic=-1 $l1_tick lab.mode=$mode lab.cases=${list// /,} lab.verbose=${LAB_VERBOSE:-}")
log=$out/console.log
timeout_s=${LAB_TIMEOUT:-900}

# watch_l1 PID RAW STALL STOP: stop the L1 whose `timeout` is PID when it
# has shown no sign of life for STALL seconds, or when its kernel reports a
# soft lockup (L1 has never come back from one), and write why to STOP.
# Sign of life: in cases mode L1's /init prints "lab: alive" every 5 s from a
# loop of its own, so a case that keeps quiet for minutes is no death; before
# the first one (kernel boot) and in --script mode, any console output.
watch_l1() {
	local pid=$1 raw=$2 stall=$3 stop=$4 last=-1 quiet=0 now poll=${LAB_POLL:-5}
	while kill -0 "$pid" 2>/dev/null; do
		sleep "$poll"
		now=$(grep -ac 'lab: alive' "$raw" 2>/dev/null || true)
		[ "${now:-0}" != 0 ] || now=size$(stat -c %s "$raw" 2>/dev/null || echo 0)
		if [ "$now" = "$last" ]; then quiet=$((quiet + poll)); else quiet=0 last=$now; fi
		if [ $quiet -ge "$stall" ]; then
			dump_l1 "${stop%.stop}"
			# (bench/boot.sh looks for "L1 console silent" in --script runs.)
			case $now in
			size*) echo "# lab: L1 console silent for $stall s: stopping it" ;;
			*) echo "# lab: L1 showed no sign of life for $stall s: stopping it" ;;
			esac
			echo "no sign of life for $stall s" >"$stop"
			kill "$pid" 2>/dev/null
			return
		fi
		if grep -aq 'watchdog: BUG: soft lockup' "$raw"; then
			dump_l1 "${stop%.stop}"
			echo "soft lockup" >"$stop"
			echo "# lab: L1 reports a soft lockup: stopping it"
			kill "$pid" 2>/dev/null
			return
		fi
	done
}

# dump_l1 BASE: where L1's CPUs are, from QEMU's monitor (BASE.mon.in/out,
# see boot_l1), into BASE.regs, and the instruction pointers as notes. For
# the next person who looks into why L1 died.
dump_l1() {
	[ -p "$1.mon.in" ] || return 0
	# <>: opening a FIFO read-write never waits for its other end.
	echo "info registers -a" 1<>"$1.mon.in"
	timeout 3 cat "$1.mon.out" >"$1.regs" 2>/dev/null || true # it never ends by itself
	{ grep -a '^RIP=' "$1.regs" || true; } | cut -d' ' -f1 | sed 's/^/# lab: L1 CPU when it stopped: /'
}

# boot_l1 LOG STALL APPEND: one L1 boot with kernel command line APPEND; its
# console (CR removed) goes to stdout and LOG as it comes, and watch_l1 stops
# it after STALL s without a sign of life (why: LOG.stop). LOG.rc is the exit
# status of `timeout` (124: LAB_TIMEOUT ran out).
boot_l1() {
	local lg=$1 stall=$2 qpid tpid rc=0
	local q=("${qemu[@]}")
	q[${#q[@]} - 1]=$3
	: >"$lg.raw"
	rm -f "$lg.stop" "$lg.mon.in" "$lg.mon.out"
	mkfifo "$lg.mon.in" "$lg.mon.out"
	timeout -k 10 "$timeout_s" "${q[@]}" -serial stdio -monitor "pipe:$lg.mon" \
		</dev/null >"$lg.raw" 2>&1 &
	qpid=$!
	tail -n +1 -f --pid=$qpid "$lg.raw" | sed -u 's/\r$//' | tee "$lg" &
	tpid=$!
	watch_l1 $qpid "$lg.raw" "$stall" "$lg.stop"
	wait $qpid 2>/dev/null || rc=$?
	wait $tpid 2>/dev/null || true
	echo $rc >"$lg.rc"
	rm -f "$lg.raw" "$lg.mon.in" "$lg.mon.out"
}

# run_l1 CASES LOG: one L1 boot running CASES (space-separated; empty: all),
# printing its result lines. /init's heartbeat comes every 5 s, so $stall_s s
# without one means L1 hung.
stall_s=${LAB_STALL:-60}
rm -f "$out"/console.*log* # console.N.log: L1 boot N; console.log: the last
run_l1() {
	boot_l1 "$2" "$stall_s" \
		"console=ttyS0 quiet panic=-1 $l1_tick ${LAB_KARGS:-} lab.mode=$mode lab.cases=${1// /,} lab.verbose=${LAB_VERBOSE:-} lab.jail=${LAB_JAIL:-}" |
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

# L1's kernel in trouble: lines it prints (with a timestamp, so not the
# guest output that failing cases show after "# ").
trouble_re='^\[ *[0-9]+\.[0-9]+\] .*(Kernel panic|stack guard page|soft lockup|rcu: INFO: .*detected stall|BUG: |Oops|general protection fault|blocked for more than)'

# trouble_kind LINES...: the short name of what L1's kernel reported.
trouble_kind() {
	case "$*" in
	*'stack guard page'*) echo panic-stack-guard ;;
	*'Kernel panic'*) echo panic ;;
	*'soft lockup'*) echo soft-lockup ;;
	*'detected stall'*) echo rcu-stall ;;
	*'blocked for more than'*) echo hung-task ;;
	*?*) echo kernel-bug ;;
	esac
}

# case_trouble LOG CASE: what L1's kernel reported while CASE ran (its
# "lab: case CASE" line up to its result line), empty if nothing.
case_trouble() {
	trouble_kind "$(awk -v c="$2" -v re="$trouble_re" '
		$1 == "lab:" && $2 == "case" { cur = $3 }
		($1 == "ok" || $1 == "FAIL") && $2 == "-" && ($3 == c || $3 == c ":") { cur = "" }
		cur == c && $0 ~ re { print }' "$1")"
}

# case_result LOG CASE: ok, FAIL, or nothing if L1 never reported it.
case_result() {
	awk -v c="$2" '($1 == "ok" || $1 == "FAIL") && $2 == "-" && ($3 == c || $3 == c ":") { r = $1 }
		END { if (r) print r }' "$1"
}

# The emulated L1 may still die by itself (README.md, "When L1 dies"). Each
# boot runs the cases that no earlier L1 finished. A case is run again
# (at most LAB_TRIES times in all, default 4) when L1 died while it ran, or
# when it failed while L1's kernel reported trouble (a lockup, a stall, an
# oops). A case that fails on a healthy L1 fails at once; one that L1 dies
# under every time fails too, as it may be what kills L1. Every death is
# printed with its kind, and the run ends with a count of boots and deaths.
all=$list
[ -n "$all" ] || all=$("$here/run.sh" --list | tr '\n' ' ')
# Four tries, not two: the snapshot cases leave L1 idle with many guest
# timers armed, and L1 then hangs by itself (silence, its CPU halted in its
# idle loop: QEMU TCG's lost timer wake-up) in about half of the
# snapshot-clones runs (issue 13's note); twice in a row failed a CI run.
tries_max=${LAB_TRIES:-4}
boots_max=${LAB_BOOTS:-6}
declare -A tries=() result=() why=()
rest=$(echo $all)
boots=0 deaths=0 kinds='' retried=''
progress "booting L1 (QEMU ${qemu[4]}, EPYC+svm+npt, ${qemu[10]} CPUs, 6G), at most $timeout_s s each; console: $log"
start=$(date +%s)
while [ -n "$rest" ] && [ $boots -lt "$boots_max" ]; do
	boots=$((boots + 1))
	lg=$out/console.$boots.log
	[ $boots = 1 ] || echo "# lab: L1 boot $boots: $rest"
	run_l1 "$rest" "$lg"
	ln -sf "$(basename "$lg")" "$log"
	kind=
	if ! grep -qx 'lab: done' "$lg"; then
		deaths=$((deaths + 1))
		kind=$(trouble_kind "$(grep -aE "$trouble_re" "$lg" || true)")
		if [ -z "$kind" ]; then
			if [ "$(cat "$lg.rc")" = 124 ]; then
				kind=timeout
			elif [ -s "$lg.stop" ]; then
				kind=silence
			else
				kind=exited
			fi
		fi
		running=$(awk '$1 == "lab:" && $2 == "case" { c = $3 }
			($1 == "ok" || $1 == "FAIL") && $2 == "-" { c = "" } END { print c }' "$lg")
		kinds="$kinds${kinds:+, }$kind${running:+ in $running}"
		echo "# lab: L1 died (boot $boots: $kind${running:+, while $running ran}; console: $lg); last lines:"
		{ grep -vE '^(ok|FAIL) - |^# |^lab: (alive|case) ' "$lg" || true; } | tail -n 6 | sed 's/^/#   /'
	fi
	next=
	for c in $rest; do
		r=$(case_result "$lg" "$c")
		t=
		[ -z "$r" ] || t=$(case_trouble "$lg" "$c")
		if [ "$r" = ok ] || { [ "$r" = FAIL ] && [ -z "$t" ]; }; then
			result[$c]=$r
			continue
		fi
		if [ "$r" = FAIL ]; then
			tries[$c]=$((${tries[$c]:-0} + 1))
			why[$c]="${why[$c]:+${why[$c]}, }failed while L1 reported $t"
			echo "# lab: $c failed while L1's kernel reported trouble ($t)"
		elif [ -n "$kind" ] && [ "$c" = "$running" ]; then
			tries[$c]=$((${tries[$c]:-0} + 1))
			why[$c]="${why[$c]:+${why[$c]}, }L1 died ($kind)"
		fi
		if [ "${tries[$c]:-0}" -ge "$tries_max" ]; then
			result[$c]=FAIL
			echo "FAIL - $c: ${tries[$c]} tries, none on a healthy L1: ${why[$c]}"
			continue
		fi
		next="$next $c"
		[ -z "${tries[$c]:-}" ] || retried="$retried $c"
	done
	rest=$(echo $next)
done
[ ! -e "$out/console.1.log" ] || ln -sf console.1.log "$log.first"
passed=0 failed=0
for c in $all; do
	case ${result[$c]:-} in
	ok) passed=$((passed + 1)) ;;
	FAIL) failed=$((failed + 1)) ;;
	*)
		echo "FAIL - $c: not run: L1 died $deaths times ($kinds)"
		failed=$((failed + 1))
		;;
	esac
done
echo "# lab: L1 boots $boots, deaths $deaths${kinds:+ ($kinds)}; cases run again:${retried:- none}"
echo "# lab took $(($(date +%s) - start)) s"
echo "lab: $passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
