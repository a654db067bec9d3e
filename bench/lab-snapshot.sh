#!/bin/sh
# shellcheck shell=dash disable=SC2086,SC1091,SC2015 # busybox ash in L1; word lists on purpose
# The lab half of the snapshot benchmark (issue 13): runs inside L1 (busybox
# sh, kvm-amd's /dev/kvm) as `tests/lab/run.sh --script bench/lab-snapshot.sh`,
# started by bench/snapshot.sh, which stages /lab/bench (bench/snap-stage.sh).
#
# One guest for every row: the minimal kernel and initramfs from guest/, 1
# vCPU, SNAP_MEM MiB, console only (ember --no-rng: no device QEMU lacks),
# whose command is `stty -echo; echo snap-waiting; read x; echo snap-ready`.
# "Ready" is the guest's answer to a console line: bench/snapready writes
# "\n" to the VMM's stdin every 2 ms (when the last one was taken) and times
# exec to "snap-ready". (No echo: the answer is not queued behind the echo
# of earlier probes.) A cold boot is probed only once its guest has printed
# something (-W: its first line is snap-waiting): probing from the exec on
# doubled ember's boot to user space in the lab.
# A cold boot gets there through the whole boot; a restored guest was
# snapshotted blocked in that `read` and answers as soon as it runs.
#   ember          ember run, cold boot (probed after its first output)
#   ember-restore  ember restore SNAP (state file + memory file, private
#                  copy-on-write map of the memory file)
#   ember-load     ember firecracker --api-sock S, and PUT /snapshot/load
#                  (resume_vm) as soon as S exists: what a Firecracker
#                  platform does (a sh wrapper starts the request, then
#                  execs ember)
#   ember-wait     ember run, cold boot, timed to snap-waiting with no probe:
#                  what the probe costs a cold boot, and QEMU's row's match
#   qemu           QEMU microvm, cold boot (probed after its first output)
#   qemu-restore   QEMU microvm -incoming "exec:cat FILE" of a migration
#                  stream saved from the same guest state (`migrate
#                  "exec:cat > FILE"` while it sat in read)
# and memory: SNAP_CLONES restores of the one snapshot at once against as
# many cold boots (MEMSYS: ember, optionally ember-4k = --no-thp), each to
# ready, held 2 s,
# then smaps_rollup of every VMM and the drop of L1's MemAvailable.
# Output, one console line each, parsed by bench/snapshot.sh:
#   bench: snap time SYSTEM RUN READY_MS       (RUN 0: warm-up)
#   bench: snap mem SYSTEM N READY_MS AVAIL_DROP RSS_SUM PSS_SUM PSS_ANON PSS_FILE PSS_SHMEM BAD
#   bench: snap file SYSTEM STATE_BYTES MEM_ALLOC_KIB SAVE_MS
#   bench: snap load RUN MS STATUS             (ember's own log: 'load snapshot'
#                                               VMM action took N us)
#   bench: snap trace RUN MS EVENT             (ember restore --boot-trace)
#   bench: snap note TEXT
set -u
B=/lab/bench
. $B/snap-params # RUNS CLONES SNAP_MEM SYSTEMS SECTIONS MEMSYS
R=$B/snapready
EMBER=/lab/ember
GK=/lab/vmlinux
GI=/lab/initramfs.cpio.gz
S=/tmp/snapbench
QEMU="qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=off,pit=off,pic=off,isa-serial=on
 -enable-kvm -cpu host -nodefaults -no-user-config -nographic -serial stdio -no-reboot"
# ember's default command line with reboot=t (QEMU microvm has no i8042).
BASE="console=ttyS0 reboot=t panic=-1 pci=off i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd 8250.nr_uarts=1 quiet"
CMD="stty -echo; echo snap-waiting; read x; echo snap-ready; sleep 3600"
CL="$BASE ember.cmd=\"$CMD\""
SCRUB_MIB=256
mkdir -p $S
note() { echo "bench: snap note $*"; }
ms_now() { awk '{ printf "%.1f", $1 * 1000 }' /proc/uptime; }

echo "bench: L1 $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPUs, $(sed -n 's/^MemTotal: *//p' /proc/meminfo)"
echo "bench: version qemu $($QEMU -version | sed -n '1s/.*version //p')"
echo "bench: version ember $($EMBER --version 2>&1 | head -n1)"
echo "bench: thp $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)"

# source NAME CMD...: start a VMM whose console input is a FIFO that never
# ends (nothing is typed), output in $S/NAME.out; wait until the guest sits
# in its `read` (snap-waiting, then 1 s). Sets src_pid, src_hold.
source_vm() {
	sv=$1
	shift
	rm -f $S/$sv.in
	mkfifo $S/$sv.in
	sleep 100000 <>$S/$sv.in &
	src_hold=$!
	"$@" <$S/$sv.in >$S/$sv.out 2>$S/$sv.err &
	src_pid=$!
	i=0
	until grep -q snap-waiting $S/$sv.out; do
		i=$((i + 1))
		if [ $i -gt 1200 ] || ! kill -0 $src_pid 2>/dev/null; then
			note "$sv: the guest never reached its read; last lines:"
			tail -n 5 $S/$sv.out $S/$sv.err | sed 's/^/bench: snap note   /'
			return 1
		fi
		sleep 0.1
	done
	sleep 1
}

# The ember snapshot: ember run --api-sock, then ember snapshot --then stop.
snap_ember() {
	rm -f $S/snap $S/snap.mem $S/api.sock
	$B/scrub $SCRUB_MIB
	source_vm esrc $EMBER run --kernel $GK --initrd $GI --memory ${SNAP_MEM}M --no-rng \
		--cmdline "$CL" --api-sock $S/api.sock || return 1
	t0=$(ms_now)
	$EMBER snapshot --api-sock $S/api.sock --then stop $S/snap >$S/snap.log 2>&1 ||
		note "ember snapshot exited $?: $(tail -n1 $S/snap.log)"
	t1=$(ms_now)
	i=0
	while kill -0 $src_pid 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	kill -9 $src_pid $src_hold 2>/dev/null
	wait $src_pid 2>/dev/null
	[ -s $S/snap ] && [ -s $S/snap.mem ] || { note "ember wrote no snapshot"; return 1; }
	echo "bench: snap file ember $(stat -c %s $S/snap) $(du -k $S/snap.mem | cut -f1) $(awk -v a=$t0 -v b=$t1 'BEGIN { print b - a }')"
}

# The QEMU migration file: QEMU microvm with its monitor on FIFOs, then
# `migrate "exec:cat > FILE"` of the running guest (sitting in read: the
# pre-copy converges at once; a guest stopped first would stay paused on
# the incoming side, as QEMU keeps the source's run state), then quit.
snap_qemu() {
	rm -f $S/q.mig $S/qm.in $S/qm.out $S/qm.log
	mkfifo $S/qm.in $S/qm.out
	$B/scrub $SCRUB_MIB
	source_vm qsrc $QEMU -m ${SNAP_MEM}M -kernel $GK -initrd $GI -append "$CL" -monitor pipe:$S/qm || return 1
	cat $S/qm.out >$S/qm.log &
	catp=$!
	t0=$(ms_now)
	echo "migrate_set_parameter max-bandwidth 4G" >$S/qm.in
	echo "migrate \"exec:cat > $S/q.mig\"" >$S/qm.in
	i=0
	until grep -q 'Migration status: completed' $S/qm.log; do
		i=$((i + 1))
		if [ $i -gt 600 ] || grep -q 'Migration status: failed' $S/qm.log; then
			note "QEMU migration did not complete: $(grep 'Migration status' $S/qm.log | tail -n1)"
			break
		fi
		echo "info migrate" >$S/qm.in
		sleep 0.1
	done
	t1=$(ms_now)
	echo quit >$S/qm.in
	i=0
	while kill -0 $src_pid 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	kill -9 $src_pid $src_hold $catp 2>/dev/null
	wait $src_pid 2>/dev/null
	[ -s $S/q.mig ] || { note "QEMU wrote no migration file"; return 1; }
	echo "bench: snap file qemu $(stat -c %s $S/q.mig) $(du -k $S/q.mig | cut -f1) $(awk -v a=$t0 -v b=$t1 'BEGIN { print b - a }')"
}

# run SYSTEM LOG [snapready options]: one timed start of SYSTEM under snapready.
run() {
	r_s=$1 r_l=$2
	shift 2
	$B/scrub $SCRUB_MIB
	case $r_s in
	ember) $R -t 120 -l $r_l -W "$@" -- $EMBER run --kernel $GK --initrd $GI --memory ${SNAP_MEM}M --no-rng --cmdline "$CL" ;;
	ember-4k)
		$R -t 120 -l $r_l -W "$@" -- $EMBER run --no-thp --kernel $GK --initrd $GI --memory ${SNAP_MEM}M --no-rng \
			--cmdline "$CL"
		;;
	qemu) $R -t 120 -l $r_l -W "$@" -- $QEMU -m ${SNAP_MEM}M -kernel $GK -initrd $GI -append "$CL" ;;
	ember-wait)
		$R -t 120 -l $r_l -m snap-waiting -p '' "$@" -- $EMBER run --kernel $GK --initrd $GI --memory ${SNAP_MEM}M \
			--no-rng --cmdline "$CL"
		;;
	ember-restore) $R -t 120 -l $r_l "$@" -- $EMBER restore $S/snap ;;
	ember-load)
		# shellcheck disable=SC2016 # $$: the wrapper's pid, which exec hands to ember
		$R -t 120 -l $r_l "$@" -- sh -c '
			s=/tmp/snapbench/fc.$$.sock
			(until [ -S $s ]; do usleep 200; done
			/lab/fcreq $s PUT /snapshot/load "{\"snapshot_path\": \"$1\",
				\"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$1.mem\"},
				\"resume_vm\": true}") </dev/null >/dev/null 2>&1 &
			exec "$0" firecracker --api-sock $s' $EMBER $S/snap
		;;
	qemu-restore)
		$R -t 120 -l $r_l "$@" -- $QEMU -m ${SNAP_MEM}M -kernel $GK -initrd $GI -append "$CL" \
			-incoming "exec:cat $S/q.mig"
		;;
	esac
}

NSYS=$(echo $SYSTEMS | wc -w)
nth() {
	n_=$1
	shift
	shift $n_
	echo $1
}

has() { case " $SYSTEMS $SECTIONS " in *" $1 "*) return 0 ;; esac; return 1; }
if has ember-restore || has ember-load || has mem || has load; then
	snap_ember || note "no ember snapshot: ember-restore rows are missing"
fi
if has qemu-restore; then
	snap_qemu || note "no QEMU migration file: qemu-restore rows are missing"
fi

# (a), (b): exec to ready, RUNS runs each after a warm-up, rotating the order.
has time && {
echo "bench: snap section time"
r=0
while [ $r -le $RUNS ]; do
	j=0
	while [ $j -lt $NSYS ]; do
		s=$(nth $(((r + j) % NSYS)) $SYSTEMS)
		l=$S/t-$s-$r
		line=$(run $s $l | grep '^vm 0 ')
		set -- $line
		echo "bench: snap time $s $r ${3:--1}"
		if [ "${3:--1}" = -1.000 ] || [ -z "${3:-}" ]; then
			note "$s run $r: not ready ($line); last lines:"
			tr -d '\r' <$l.0.out | tail -n 5 | sed 's/^/bench: snap note   /'
			tail -n 3 $l.0.err | sed 's/^/bench: snap note   /'
		fi
		j=$((j + 1))
	done
	r=$((r + 1))
done
}

# PUT /snapshot/load through the Firecracker front end: how long ember takes
# to serve it (its own log line; busybox date has no sub-second clock).
has load && {
echo "bench: snap section load"
r=1
while [ $r -le 5 ]; do
	$B/scrub $SCRUB_MIB
	rm -f $S/fc.sock
	mkfifo $S/fc.in 2>/dev/null
	sleep 100000 <>$S/fc.in &
	h=$!
	$EMBER firecracker --api-sock $S/fc.sock <$S/fc.in >$S/fc.out 2>$S/fc.err &
	p=$!
	i=0
	until [ -S $S/fc.sock ] || [ $i -gt 100 ]; do sleep 0.05; i=$((i + 1)); done
	/lab/fcreq $S/fc.sock PUT /snapshot/load "{\"snapshot_path\": \"$S/snap\",
		\"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$S/snap.mem\"}, \"resume_vm\": true}" >$S/fc.resp 2>&1
	us=$(sed -n "s/.*'load snapshot' VMM action took \([0-9]*\) us.*/\1/p" $S/fc.err | head -n1)
	echo "bench: snap load $r $(awk -v u="${us:--1000}" 'BEGIN { printf "%.3f", u / 1000 }') $(head -n1 $S/fc.resp)"
	kill -9 $p $h 2>/dev/null
	wait $p 2>/dev/null
	r=$((r + 1))
done
}

# Where a restore's time goes: ember restore --boot-trace, three times,
# after the timed runs (its trace lines, ms since ember started; ember
# prints them when the VM stops, so it gets --api-sock and SIGTERM).
has trace && {
echo "bench: snap section trace"
r=1
while [ $r -le 3 ]; do
	l=$S/tr-$r
	$B/scrub $SCRUB_MIB
	rm -f $S/tr.sock
	$R -t 120 -l $l -T -- $EMBER restore --boot-trace --api-sock $S/tr.sock $S/snap | grep '^vm 0 ' |
		sed "s/^/bench: snap trace $r ready /"
	sed -n "s/^ember: boot-trace: *\(.*\)/bench: snap trace $r \1/p" $l.0.err
	r=$((r + 1))
done
}

# (c): CLONES guests at once, each to ready, then held for the sample.
has mem && {
echo "bench: snap section mem"
for s in ${MEMSYS:-ember-restore ember-load ember}; do
	l=$S/m-$s
	run $s $l -n $CLONES -H -w 2000 >$l.txt
	awk -v s=$s -v n=$CLONES '
		/^ready / { ready = $2 }
		/^meminfo / { avail = $2 }
		/^mem / { rss += $3; pss += $4; anon += $5; file += $6; shm += $7 }
		/^vm / && ($5 != "killed" || $3 < 0) { bad++ }
		END { print "bench: snap mem " s " " n " " ready " " avail " " rss " " pss " " anon " " file " " shm " " bad + 0 }' $l.txt
done
echo "bench: snap memfile $(du -k $S/snap.mem | cut -f1)"
}
echo "bench: done"
