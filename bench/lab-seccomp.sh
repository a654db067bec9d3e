#!/bin/sh
# shellcheck shell=dash disable=SC1091,SC2046,SC2086 # busybox ash (local is fine); word lists on purpose
# The lab half of bench/seccomp.sh (issue 15): ember with its seccomp
# filters on (the default) and off (--no-seccomp), the same binary, in one
# L1, alternating run by run (on, off, then off, on in the next round).
# Runs inside L1 as `tests/lab/run.sh --script bench/lab-seccomp.sh`,
# staged by bench/lab-stage.sh (vmwatch, scrub, initramfs-bench, params).
#   boot  bench/lab-boot.sh's boot race for ember alone: the minimal kernel,
#         1 vCPU, 256 MiB, to the guest's boot marker, after scrub; RUNS
#         runs each after one warm-up run each
#   io    bench/lab-io.sh's workloads and command lines: virtio-blk
#         seqwrite, seqread, randread on a 256 MiB tmpfs image, then TCP
#         from the guest to L1 over a TAP (on: tapE, off: tapQ); IO_RUNS
#         rounds, each a unit (io-1, io-2, ...)
#   attach  the boot under strace -ff -T, filters on, ATTACH_RUNS (3) runs:
#         how long attaching the filters takes (unit of its own, last)
# Output, one console line each, parsed by bench/seccomp-report.sh:
#   bench: sec boot SYS RUN STATUS MARK_MS EXIT_MS FIRST_MS KVM_RUN_MS
#   bench: sec io SYS RUN MODE VALUE UNIT
#   bench: sec filt SYS RUN FILTERED THREADS  (ember's threads whose
#          /proc status says "Seccomp: 2", sampled 4 s into an I/O run)
#   bench: sec attach on RUN FILTERS TOTAL_MS MAX_MS  (strace -T of the
#          prctl(PR_SET_SECCOMP) calls of one boot, unit attach)
#   bench: unit NAME / bench: unit-end NAME, bench: done (bench/lab-merge.sh)
# SYS is on or off. Units named in $DONE (an earlier L1 finished them) are
# skipped.
set -u
B=/lab/bench
. $B/params # RUNS IO_RUNS ATTACH_RUNS DONE
W=$B/vmwatch
EMBER=/lab/ember
RD=$B/initramfs-bench.cpio.gz
BASE="console=ttyS0 reboot=t panic=-1 pci=off i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd 8250.nr_uarts=1 quiet"
MARK="ember-bench: boot marker"
mkdir -p /tmp/b

flags() { [ "$1" = on ] || echo --no-seccomp; }
# order RUN: the two systems, swapped every other round (ABBA pairs).
order() { if [ $(($1 % 2)) = 1 ]; then echo on off; else echo off on; fi; }

unit() {
	case " ${DONE:-} " in *" $1 "*) return 1 ;; esac
	echo "bench: unit $1"
}

echo "bench: L1 $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPUs, $(sed -n 's/^MemTotal: *//p' /proc/meminfo)"
echo "bench: version ember $($EMBER --version 2>&1 | head -n1)"

# boot SYS RUN
boot() {
	local l=/tmp/b/boot-$1-$2 r k
	$B/scrub 256 || echo "bench: note: scrub failed"
	r=$($W -t 60 -l $l -m "$MARK" -- $EMBER run $(flags $1) --kernel /lab/vmlinux --initrd $RD \
		--memory 256M --cpus 1 --no-rng --boot-trace --cmdline "$BASE rdinit=/benchinit ember.cmd=true" |
		grep '^vm 0 ')
	[ -n "$r" ] || r="vm 0 255 -1 -1 -1"
	k=$(sed -n 's/^ember: boot-trace: *\([0-9.]*\) ms  first KVM_RUN$/\1/p' $l.0.err | head -n1)
	set -- "$1" "$2" $r
	echo "bench: sec boot $1 $2 $5 $6 $7 $8 ${k:--1}"
	if [ "$5" != 0 ] || [ "$6" = -1.000 ]; then
		echo "bench: note: boot $1 run $2 exited $5; last lines:"
		tr -d '\r' <$l.0.out | tail -n 5 | sed 's/^/bench: note:   /'
		tail -n 5 $l.0.err | sed 's/^/bench: note:   /'
	fi
	rm -f $l.0.out $l.0.err
}
if unit boot; then
	boot on 0
	boot off 0
	i=1
	while [ $i -le $RUNS ]; do
		for s in $(order $i); do boot $s $i; done
		i=$((i + 1))
	done
	echo "bench: unit-end boot"
fi

# filt SYS RUN: ember's threads under a filter, 4 s into the run.
filt() {
	local p s n=0 t=0
	sleep 4
	for p in /proc/[0-9]*; do
		[ "$(readlink $p/exe 2>/dev/null)" = $EMBER ] || continue
		for s in "$p"/task/*/status; do
			[ -r $s ] || continue
			t=$((t + 1))
			! grep -q '^Seccomp:[[:space:]]*2' $s || n=$((n + 1))
		done
	done
	echo "bench: sec filt $1 $2 $n $t"
}

# Each round is a unit of its own (io-1, io-2, ...): a dying L1 loses at
# most the round it was in.
io_set=0
i=1
while [ $i -le $IO_RUNS ]; do
	unit io-$i || { i=$((i + 1)); continue; }
	if [ $io_set = 0 ]; then
		io_set=1
		T=180
		IMG=/tmp/io.img
		dd if=/dev/zero of=$IMG bs=1M count=256 2>/dev/null
		CMD="diskbench seqwrite /dev/vda 128; diskbench seqread /dev/vda 128; diskbench randread /dev/vda 4"
		APPEND="console=ttyS0 reboot=t panic=-1 pci=off quiet ember.cmd=\"$CMD\""
		tunctl -t tapE >/dev/null && ip addr add 10.0.3.1/24 dev tapE && ip link set tapE up
		tunctl -t tapQ >/dev/null && ip addr add 10.0.4.1/24 dev tapQ && ip link set tapQ up
		NET_on="console=ttyS0 reboot=t panic=-1 pci=off quiet ember.cmd=\"ip link set eth0 up && \
ip addr add 10.0.3.2/24 dev eth0 && diskbench tcpsend 10.0.3.1:5001 256\""
		NET_off=$(echo "$NET_on" | sed 's/10\.0\.3\./10.0.4./g')
	fi
	for s in $(order $i); do
		if [ $s = on ]; then tap=tapE net=$NET_on; else tap=tapQ net=$NET_off; fi
		timeout $T nc -l -p 5001 >/dev/null &
		npid=$!
		filt $s $i &
		timeout $T $EMBER run $(flags $s) --kernel /lab/vmlinux --initrd /lab/initramfs.cpio.gz \
			--memory 512M --no-rng --net tap=$tap --cmdline "$net" </dev/null 2>/tmp/io.err |
			tr -d '\r' >/tmp/io.out
		wait $!
		kill $npid 2>/dev/null
		wait $npid 2>/dev/null
		sed -n 's/^diskbench: \(tcpsend\) \([0-9.]*\) \(.*\)$/bench: sec io '$s' '$i' \1 \2 \3/p' /tmp/io.out
		grep -q '^diskbench: tcpsend' /tmp/io.out || {
			echo "bench: note: io $s $i net failed; last output and errors:"
			tail -n 5 /tmp/io.out /tmp/io.err | sed 's/^/bench: note:   /'
		}
		timeout $T $EMBER run $(flags $s) --kernel /lab/vmlinux --initrd /lab/initramfs.cpio.gz \
			--memory 512M --no-rng --disk $IMG --cmdline "$APPEND" </dev/null 2>/tmp/io.err |
			tr -d '\r' >/tmp/io.out
		sed -n 's/^diskbench: \([a-z]*\) \([0-9.]*\) \(.*\)$/bench: sec io '$s' '$i' \1 \2 \3/p' /tmp/io.out
		grep -q '^diskbench: randread' /tmp/io.out || {
			echo "bench: note: io $s $i disk failed; last output and errors:"
			tail -n 5 /tmp/io.out /tmp/io.err | sed 's/^/bench: note:   /'
		}
	done
	echo "bench: unit-end io-$i"
	i=$((i + 1))
done
# What attaching the filters costs: the boot of the boot unit under
# strace -ff -T (one file per thread), filters on, ATTACH_RUNS runs: the
# number of prctl(PR_SET_SECCOMP) calls, their total and the longest.
if unit attach; then
	if [ -x $B/strace ]; then
		i=1
		while [ $i -le "${ATTACH_RUNS:-3}" ]; do
			rm -f /tmp/b/att.*
			$B/scrub 256 || echo "bench: note: scrub failed"
			$B/strace -ff -T -e trace=prctl -o /tmp/b/att $EMBER run --kernel /lab/vmlinux --initrd $RD \
				--memory 256M --cpus 1 --no-rng --cmdline "$BASE rdinit=/benchinit ember.cmd=true" \
				</dev/null >/dev/null 2>/tmp/b/att-err
			cat /tmp/b/att.* | grep 'PR_SET_SECCOMP' | sed -n 's/.*<\([0-9.]*\)>$/\1/p' |
				awk -v i=$i '{ n++; s += $1; if ($1 > m) m = $1 }
					END { printf "bench: sec attach on %d %d %.3f %.3f\n", i, n, s * 1000, m * 1000 }'
			i=$((i + 1))
		done
	else
		echo "bench: note: no strace in L1, attach skipped"
	fi
	echo "bench: unit-end attach"
fi
echo "bench: done"
