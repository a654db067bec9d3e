#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Snapshot and restore on /dev/kvm with snapguest (tests/guest/snapguest.c),
# a guest that keeps counters in registers with twins in memory, rewrites a
# 256 KiB arena, runs its LAPIC timer on every vCPU and checks all of it
# itself; its output is the same with 1 or 2 vCPUs, tick counts aside.
#
#  1. Reference runs (1 and 2 vCPUs, uninterrupted): the done line, and the
#     two runs agree.
#  2. SNAP_POINTS snapshots at random moments of a run (SNAP_SEED: a random
#     progress step, then 0-249 ms more), 1 and 2 vCPUs, three ways: `ember snapshot --then resume`; the raw API
#     (PATCH /vm Paused, PUT /snapshot/create, PATCH /vm Resumed); `ember
#     snapshot --then pause --mem` then the API's resume. The snapshotted
#     process must still end exactly as the reference run; each snapshot,
#     restored in a new process (`ember restore`, or PUT /snapshot/load in
#     a new `ember firecracker`, six points each in turn), must continue
#     from where it was taken (snapcheck.py cont: no restart, same lines,
#     same done line; byte for byte after the paused output where that is
#     known), exit 0, say nothing on stderr.
#  3. Damaged snapshots (truncated, bit flips, format version 2, memory file
#     a page short or long or missing, a directory, garbage after a valid
#     header): `ember restore` exits 1 with exactly one stderr line
#     "ember: ..." and no stdout; PUT /snapshot/load answers 400 with a
#     fault_message and its process lives on.
#  4. `ember snapshot` with nothing listening, a stale socket, a VM that has
#     stopped (after `--then stop`, whose snapshot must restore, here with
#     --paused and the API's resume); PUT /snapshot/create on a running VM
#     is a 400 with a fault_message.
#  5. A diff snapshot (API, track_dirty_pages from a Firecracker config
#     file) into a copy of its base's memory file: it restores on that,
#     the base on its own file, each continuing byte for byte.
#
# Usage: tests/snapshot/run.sh        (from anywhere; `make check-snapshot`)
# Env:   EMBER=path        monitor to test (default build/ember)
#        SNAP_POINTS=n     snapshot points (default 20)
#        SNAP_SEED=n       seed of the random moments (default: from the clock;
#                          printed, so a failing run can be repeated)
#        SNAP_HOWS="cli api pause"  snapshot methods the points take in turn
#        SNAP_RESTORES="cli api"    restore paths (ember restore, PUT /snapshot/load)
#        SNAP_TIMEOUT=s    limit of one ember process (default 60)
#        SNAP_JOBS=n       points run at once (default 2: the development
#                          machines have 2 cores)
#        SNAP_KEEP=1       keep the work directory (printed) for a post-mortem
# Output: "ok - snapshot: ..." / "FAIL - snapshot: ..." per check, then
# "snapshot: N passed, M failed". Exit 1 on any failure, including a missing
# /dev/kvm or a missing feature (never a silent skip).
set -u

cd "$(dirname "$0")/../.." || exit 1
EMBER=${EMBER:-build/ember}
GUEST=build/tests/guest/snapguest.elf
EXITGUEST=build/tests/guest/exitguest.elf
POINTS=${SNAP_POINTS:-20}
SEED=${SNAP_SEED:-$(($(date +%s) % 32768))}
TIMEOUT=${SNAP_TIMEOUT:-60}
JOBS=${SNAP_JOBS:-2}
MEM=32M
MEM_BYTES=$((32 << 20))
PAGE=4096
API="python3 tests/snapshot/snapapi.py"
CHECK="python3 tests/snapshot/snapcheck.py"

pass=0
fail=0
tmp=$(mktemp -d /tmp/ember-snapshot.XXXXXX) || exit 1
: >"$tmp/pids"

cleanup() {
	local p
	# Only processes this script started (their PIDs were recorded).
	while read -r p; do
		kill "$p" 2>/dev/null
	done <"$tmp/pids"
	if [ "${SNAP_KEEP:-0}" = 1 ]; then
		echo "snapshot: work directory kept: $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT

ok() {
	echo "ok - snapshot: $*"
	pass=$((pass + 1))
}
bad() {
	echo "FAIL - snapshot: $*"
	fail=$((fail + 1))
}
finish() {
	echo "snapshot: $pass passed, $fail failed"
	[ "$fail" = 0 ]
	exit
}
die() {
	bad "$*"
	finish
}

# One line of a file, printable, for a message.
excerpt() {
	head -c 300 "$1" 2>/dev/null | tr '\n' '|' | sed 's/|$//'
}
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}
# The last progress step a console file shows (0 before the first). Only a
# number followed by " hash" counts: the last line may be cut anywhere.
last_step() {
	local s
	s=$(grep -aoE '^snapguest: step [0-9]+ hash' "$1" 2>/dev/null | tail -n 1 | awk '{print $3}')
	echo "${s:-0}"
}
# settle FILE: wait until FILE (a paused VM's console) stops growing, so
# that ember's console thread has written all the guest printed before the
# pause: its size the same across 0.2 s, for at most 3 s.
settle() {
	local a b i
	for i in $(seq 15); do
		a=$(stat -c %s "$1")
		sleep 0.2
		b=$(stat -c %s "$1")
		[ "$a" = "$b" ] && return 0
	done
	return 1
}
# Wait up to 5 s for an API socket to appear.
wait_sock() {
	local i
	for i in $(seq 50); do
		[ -S "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
# api SOCK METHOD PATH [BODY]: the "STATUS BODY" line of snapapi.py.
api() {
	$API "$@" 2>&1
}
# ember_bg OUT ERR ARGS...: start ember under timeout in the background;
# its PID (of timeout) lands in $bg_pid and in the cleanup list.
ember_bg() {
	local out=$1 err=$2
	shift 2
	timeout "$TIMEOUT" "$EMBER" "$@" </dev/null >"$out" 2>"$err" &
	bg_pid=$!
	echo "$bg_pid" >>"$tmp/pids"
}
# load_api SNAP MEM OUT LOG SOCK: restore through Firecracker's API in a new
# `ember firecracker` process (PUT /snapshot/load, File backend, resume_vm),
# in the foreground until it exits. Sets load_r (the API's answer) and
# returns ember's exit status; a refused load ends the process (SIGTERM).
load_api() {
	local snap=$1 mem=$2 out=$3 log=$4 sock=$5 pid rc
	ember_bg "$out" "$log" firecracker --api-sock "$sock"
	pid=$bg_pid
	if ! wait_sock "$sock"; then
		load_r="no API socket after 5 s: $(excerpt "$log")"
		kill "$pid" 2>/dev/null
		wait "$pid"
		return 1
	fi
	load_r=$(api "$sock" PUT /snapshot/load \
		"{\"snapshot_path\":\"$snap\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"$mem\"},\"resume_vm\":true}")
	if [ "${load_r%% *}" != 204 ]; then
		load_alive=no
		kill -0 "$pid" 2>/dev/null && load_alive=yes
		kill "$pid" 2>/dev/null
		wait "$pid"
		return 1
	fi
	wait "$pid"
	rc=$?
	return $rc
}

# api_snapshot SOCK OUT TYPE SNAP MEM PREFIX: the raw API's snapshot of a
# running VM: PATCH /vm Paused, what the guest printed so far copied to
# PREFIX (once the console thread wrote it), PUT /snapshot/create of TYPE
# (Full, Diff), PATCH /vm Resumed. Prints what went wrong, nothing if all
# did not.
api_snapshot() {
	local sock=$1 out=$2 type=$3 snap=$4 mem=$5 prefix=$6 r msg=""
	r=$(api "$sock" PATCH /vm '{"state":"Paused"}')
	if [ "${r%% *}" != 204 ]; then
		echo "PATCH /vm Paused: $r, want 204"
		return
	fi
	settle "$out"
	cp "$out" "$prefix"
	r=$(api "$sock" PUT /snapshot/create \
		"{\"snapshot_type\":\"$type\",\"snapshot_path\":\"$snap\",\"mem_file_path\":\"$mem\"}")
	[ "${r%% *}" = 204 ] || msg="PUT /snapshot/create ($type): $r, want 204"
	cmp -s "$out" "$prefix" || msg="${msg:+$msg; }the paused guest printed"
	r=$(api "$sock" PATCH /vm '{"state":"Resumed"}')
	[ "${r%% *}" = 204 ] || msg="${msg:+$msg; }PATCH /vm Resumed: $r, want 204"
	echo "$msg"
}
# wait_step OUT STEP PID: until the console OUT shows progress step STEP;
# 1 if process PID ended first.
wait_step() {
	while [ "$(last_step "$1")" -lt "$2" ]; do
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.05
	done
}

# The format facts the suite relies on: magic, version 1, memory file size.
check_files() {
	local snap=$1 mem=$2 magic ver size
	[ -f "$snap" ] || { echo "no snapshot file $snap"; return 1; }
	[ -f "$mem" ] || { echo "no memory file $mem"; return 1; }
	magic=$(head -c 8 "$snap")
	[ "$magic" = EMBERSNP ] || { echo "snapshot starts with '$(head -c 8 "$snap" | od -An -c | tr -s ' ')', want EMBERSNP"; return 1; }
	ver=$(od -An -tu4 -j8 -N4 --endian=little "$snap" | tr -d ' ')
	[ "$ver" = 1 ] || { echo "format version $ver, want 1"; return 1; }
	size=$(stat -c %s "$mem")
	[ "$size" = "$MEM_BYTES" ] || { echo "memory file is $size bytes, want $MEM_BYTES (guest RAM)"; return 1; }
	echo "snapshot $(stat -c %s "$snap") B, memory file $((size >> 20)) MiB, $(du -k "$mem" | cut -f1) KiB allocated"
}

# ---- preconditions ----

if [ ! -e /dev/kvm ]; then
	die "/dev/kvm does not exist: these tests need KVM (load kvm_intel/kvm_amd or run in the lab)"
fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	die "/dev/kvm is not readable and writable by $(id -un): $(ls -l /dev/kvm)"
fi
for f in "$EMBER" "$GUEST" "$EXITGUEST"; do
	[ -e "$f" ] || die "$f is missing: run make first"
done
command -v python3 >/dev/null || die "python3 is missing (scripts/deps.sh installs it)"
echo "snapshot: seed $SEED (SNAP_SEED=$SEED repeats these moments), work in $tmp"
RANDOM=$SEED

# ---- 1. reference runs ----

ref_run() {
	local c=$1 t0
	t0=$(now_ms)
	timeout "$TIMEOUT" "$EMBER" run --kernel "$GUEST" --memory $MEM --cpus "$c" \
		</dev/null >"$tmp/ref$c.out" 2>"$tmp/ref$c.err"
	echo "$? $(($(now_ms) - t0))" >"$tmp/ref$c.rc"
}
ref_run 1 &
echo $! >>"$tmp/pids"
ref_run 2 &
echo $! >>"$tmp/pids"
wait

for c in 1 2; do
	read -r rc ms <"$tmp/ref$c.rc"
	done_l=$(grep -a '^snapguest: done ' "$tmp/ref$c.out")
	if [ "$rc" != 0 ]; then
		bad "reference run, $c vCPU: ember exit $rc: $(excerpt "$tmp/ref$c.err")"
	elif grep -aq FAIL "$tmp/ref$c.out"; then
		bad "reference run, $c vCPU: $(grep -a FAIL "$tmp/ref$c.out" | head -n 1)"
	elif [ -z "$done_l" ] || ! grep -aq "^snapguest: start cpus $c\$" "$tmp/ref$c.out"; then
		bad "reference run, $c vCPU: no start/done line: $(excerpt "$tmp/ref$c.out")"
	elif [ -s "$tmp/ref$c.err" ]; then
		bad "reference run, $c vCPU: stderr: $(excerpt "$tmp/ref$c.err")"
	else
		ok "reference run, $c vCPU: '$done_l' in $ms ms"
	fi
done
# The references per vCPU count differ only in their start line.
if ! diff <(sed 1d "$tmp/ref1.out" | sed -E 's/ ticks [0-9]+$//') \
	<(sed 1d "$tmp/ref2.out" | sed -E 's/ ticks [0-9]+$//') >/dev/null; then
	die "reference runs: 1 and 2 vCPUs print different lines (the guest is not deterministic)"
fi
ok "reference runs: 1 and 2 vCPUs print the same $(wc -l <"$tmp/ref1.out") lines, ticks aside"
REF_DONE=$(grep -a '^snapguest: done ' "$tmp/ref1.out")
[ -n "$REF_DONE" ] || die "no reference done line: nothing to compare with"

# ---- 2. snapshots at random points ----

# Results of a point go to its own file ("ok|FAIL<TAB>message" lines), so
# that two points can run at once and still report in order.
res() {
	printf '%s\t%s\n' "$1" "$2" >>"$pdir/results"
}

# point I CPUS HOW RHOW STEP EXTRA_MS: one snapshotted run and its restore
# (RHOW: cli, `ember restore`; api, PUT /snapshot/load in a new `ember
# firecracker`). The snapshot is asked for EXTRA_MS after the guest printed
# progress step STEP (by the guest's progress, not a fixed delay: on a
# loaded host a run takes twice as long as on an idle one).
point() {
	local i=$1 cpus=$2 how=$3 rhow=$4 target=$5 extra=$6
	local pdir=$tmp/p$i
	local name="point $i ($how, $cpus vCPU, step $target + $extra ms)"
	local sock=$pdir/api.sock snap=$pdir/vm.snap mem rmem=() prefix=""
	local vm rc r before after msg st
	mkdir -p "$pdir"
	: >"$pdir/results"
	ember_bg "$pdir/orig.out" "$pdir/orig.err" run --kernel "$GUEST" --memory $MEM \
		--cpus "$cpus" --api-sock "$sock"
	vm=$bg_pid
	if ! wait_sock "$sock"; then
		res FAIL "$name: no API socket after 5 s: $(excerpt "$pdir/orig.err")"
		kill "$vm" 2>/dev/null
		wait "$vm"
		return
	fi
	if ! wait_step "$pdir/orig.out" "$target" "$vm"; then
		res FAIL "$name: the run ended before step $target: $(excerpt "$pdir/orig.err") / $(tail -n 2 "$pdir/orig.out" | tr '\n' '|')"
		wait "$vm"
		return
	fi
	sleep "0.$(printf %03d "$extra")"
	before=$(last_step "$pdir/orig.out")
	msg=""
	case $how in
	cli)
		mem=$snap.mem
		"$EMBER" snapshot --api-sock "$sock" --then resume "$snap" \
			>"$pdir/snap.out" 2>"$pdir/snap.err"
		rc=$?
		[ "$rc" = 0 ] || msg="ember snapshot --then resume: exit $rc: $(excerpt "$pdir/snap.err")"
		;;
	api)
		mem=$pdir/guest.mem
		rmem=(--mem "$mem")
		prefix=$pdir/prefix
		msg=$(api_snapshot "$sock" "$pdir/orig.out" Full "$snap" "$mem" "$prefix")
		;;
	pause)
		mem=$pdir/other.mem
		rmem=(--mem "$mem")
		"$EMBER" snapshot --api-sock "$sock" --then pause --mem "$mem" "$snap" \
			>"$pdir/snap.out" 2>"$pdir/snap.err"
		rc=$?
		if [ "$rc" != 0 ]; then
			msg="ember snapshot --then pause: exit $rc: $(excerpt "$pdir/snap.err")"
		else
			settle "$pdir/orig.out"
			cp "$pdir/orig.out" "$pdir/prefix"
			prefix=$pdir/prefix
			r=$(api "$sock" GET /)
			[[ $r == 200*'"state":"Paused"'* ]] || msg="after --then pause, GET /: $r, want state Paused"
			sleep 0.5
			cmp -s "$pdir/orig.out" "$prefix" || msg="${msg:+$msg; }the guest printed after --then pause"
		fi
		# Resume in any case, so the original runs to its end.
		r=$(api "$sock" PATCH /vm '{"state":"Resumed"}')
		[ "${r%% *}" = 204 ] || msg="${msg:+$msg; }PATCH /vm Resumed: $r, want 204"
		;;
	esac
	after=$(last_step "$pdir/orig.out")
	if [ -z "$msg" ]; then
		msg=$(check_files "$snap" "$mem")
		rc=$?
	else
		rc=1
	fi
	if [ "$rc" = 0 ]; then
		res ok "$name: snapshot between steps $before and $after: $msg"
		du -k "$mem" | cut -f1 >"$pdir/mem_kib"
	else
		res FAIL "$name: snapshot: $msg"
	fi

	wait "$vm"
	rc=$?
	if [ "$rc" != 0 ]; then
		res FAIL "$name: original: ember exit $rc$([ "$rc" = 124 ] && echo " (timeout)"): $(excerpt "$pdir/orig.err") / $(tail -n 2 "$pdir/orig.out" | tr '\n' '|')"
	elif [ -s "$pdir/orig.err" ]; then
		res FAIL "$name: original: stderr: $(excerpt "$pdir/orig.err")"
	elif st=$($CHECK ref "$tmp/ref$cpus.out" "$pdir/orig.out"); then
		res ok "$name: original: $st"
	else
		res FAIL "$name: original: $st"
	fi

	local rname="restore (ember restore)"
	[ "$rhow" = api ] && rname="restore (PUT /snapshot/load)"
	if [ ! -f "$snap" ]; then
		res FAIL "$name: $rname: not run, there is no snapshot"
		return
	fi
	if [ "$rhow" = api ]; then
		load_api "$snap" "$mem" "$pdir/rest.out" "$pdir/rest.log" "$pdir/fc.sock"
		rc=$?
		: >"$pdir/rest.err" # the Firecracker log is in rest.log
		if [ "${load_r%% *}" != 204 ]; then
			res FAIL "$name: $rname: $load_r, want 204"
			return
		fi
	else
		timeout "$TIMEOUT" "$EMBER" restore "${rmem[@]}" "$snap" </dev/null \
			>"$pdir/rest.out" 2>"$pdir/rest.err"
		rc=$?
	fi
	if [ "$rc" != 0 ]; then
		res FAIL "$name: $rname: ember exit $rc$([ "$rc" = 124 ] && echo " (timeout)"): $(excerpt "$pdir/rest.err") / $(tail -n 2 "$pdir/rest.out" | tr '\n' '|')"
	elif [ -s "$pdir/rest.err" ]; then
		res FAIL "$name: $rname: stderr: $(excerpt "$pdir/rest.err")"
	elif st=$($CHECK cont "$pdir/orig.out" "$pdir/rest.out" "$before" "$after" ${prefix:+"$prefix"}); then
		res ok "$name: $rname: $st"
		printf '%s\t%s\n' "$snap" "$mem" >"$pdir/good"
	else
		res FAIL "$name: $rname: $st"
	fi
}

report_point() {
	local kind text
	while IFS=$'\t' read -r kind text; do
		if [ "$kind" = ok ]; then ok "$text"; else bad "$text"; fi
	done <"$tmp/p$1/results"
}

# Every (method, vCPUs) pair in turn, restored by `ember restore` for six
# points, then by the API for six, and so on. Moments: a progress step
# uniform over the first 85% of the run (not too close to its end, so the
# restored run has progress lines to check), then 0-249 ms (a few progress
# intervals on an idle host), so the snapshot lands anywhere in the loop.
STEPS=$(sed -nE 's/^snapguest: done steps ([0-9]+) .*/\1/p' "$tmp/ref1.out")
GAP=$(grep -ao '^snapguest: step [0-9]*' "$tmp/ref1.out" | head -n 1 | awk '{print $3}')
[ -n "$STEPS" ] && [ -n "$GAP" ] || die "reference run: no step count or progress interval"
read -ra HOWS <<<"${SNAP_HOWS:-cli api pause}"
read -ra RHOWS <<<"${SNAP_RESTORES:-cli api}"
t_start=$(now_ms)
# SNAP_JOBS points at a time, a new one as soon as one ends; results in
# order as soon as every point before them is done.
next=1
report_ready() {
	while [ "$next" -le "$POINTS" ] && [ -f "$tmp/p$next/finished" ]; do
		report_point "$next"
		next=$((next + 1))
	done
}
running=0
for ((j = 1; j <= POINTS; j++)); do
	cpus=$((1 + j % 2))
	how=${HOWS[$(((j - 1) / 2 % ${#HOWS[@]}))]}
	rhow=${RHOWS[$(((j - 1) / (2 * ${#HOWS[@]}) % ${#RHOWS[@]}))]}
	target=$((GAP * (1 + RANDOM % (STEPS * 85 / 100 / GAP))))
	{
		point "$j" "$cpus" "$how" "$rhow" "$target" $((RANDOM % 250))
		: >"$tmp/p$j/finished"
	} &
	echo $! >>"$tmp/pids"
	running=$((running + 1))
	if [ "$running" -ge "$JOBS" ]; then
		wait -n
		running=$((running - 1))
		report_ready
	fi
done
wait
report_ready
echo "snapshot: points done in $((($(now_ms) - t_start) / 1000)) s"
max_kib=$(cat "$tmp"/p*/mem_kib 2>/dev/null | sort -n | tail -n 1)
if [ -z "$max_kib" ]; then
	bad "memory files are sparse: no memory file was written"
elif [ "$max_kib" -lt $((MEM_BYTES / 1024 / 4)) ]; then
	ok "memory files are sparse: at most $max_kib KiB allocated of $((MEM_BYTES >> 10)) KiB"
else
	bad "memory files are sparse: one has $max_kib KiB allocated of $((MEM_BYTES >> 10)) KiB (the guest writes < 1 MiB)"
fi

# ---- 3. damaged snapshots ----

# refused NAME [--sub S] [--mem M] SNAP: both restore paths must refuse it.
# `ember restore` exits 1 with exactly one stderr line "ember: ..." (saying
# S, any case) and nothing on stdout; PUT /snapshot/load in a new `ember
# firecracker` answers 400 with a fault_message (saying S), and that process
# is still alive after it (a refused load must not crash it).
refused() {
	local name=$1 sub="" mem rc nl
	shift
	if [ "$1" = --sub ]; then
		sub=$2
		shift 2
	fi
	local args=("$@")
	mem=${args[-1]}.mem
	[ "${args[0]}" = --mem ] && mem=${args[1]}
	timeout 20 "$EMBER" restore "${args[@]}" </dev/null >"$tmp/d.out" 2>"$tmp/d.err"
	rc=$?
	nl=$(wc -l <"$tmp/d.err")
	if [ "$rc" != 1 ]; then
		bad "damaged, ember restore: $name: exit $rc, want 1 ($(excerpt "$tmp/d.err") / stdout: $(head -c 100 "$tmp/d.out" | tr '\n' '|'))"
	elif [ "$nl" != 1 ] || ! grep -q '^ember: ' "$tmp/d.err"; then
		bad "damaged, ember restore: $name: want one 'ember: ' line on stderr, got $nl: $(excerpt "$tmp/d.err")"
	elif [ -s "$tmp/d.out" ]; then
		bad "damaged, ember restore: $name: stdout: $(head -c 200 "$tmp/d.out" | tr '\n' '|')"
	elif grep -qE ':[[:space:]]*$' "$tmp/d.err"; then
		bad "damaged, ember restore: $name: the message ends without a reason: $(head -n 1 "$tmp/d.err")"
	elif [ -n "$sub" ] && ! grep -qi -- "$sub" "$tmp/d.err"; then
		bad "damaged, ember restore: $name: the message does not say '$sub': $(head -n 1 "$tmp/d.err")"
	else
		ok "damaged, ember restore: $name: $(head -n 1 "$tmp/d.err")"
	fi
	rm -f "$tmp/d.sock"
	load_alive=""
	load_api "${args[-1]}" "$mem" "$tmp/d.out" "$tmp/d.log" "$tmp/d.sock"
	rc=$?
	if [ "${load_r%% *}" = 204 ]; then
		bad "damaged, PUT /snapshot/load: $name: 204, the damaged snapshot was loaded (exit $rc)"
	elif [[ $load_r != 400*'"fault_message"'* ]]; then
		bad "damaged, PUT /snapshot/load: $name: '$load_r', want 400 with a fault_message"
	elif [[ $load_r =~ :[[:space:]]*\"\}$ ]]; then
		bad "damaged, PUT /snapshot/load: $name: the fault_message ends without a reason: $load_r"
	elif [ "$load_alive" != yes ]; then
		bad "damaged, PUT /snapshot/load: $name: ember firecracker died after the refusal: $(excerpt "$tmp/d.log")"
	elif [ -n "$sub" ] && ! grep -qi -- "$sub" <<<"$load_r"; then
		bad "damaged, PUT /snapshot/load: $name: the fault_message does not say '$sub': $load_r"
	else
		ok "damaged, PUT /snapshot/load: $name: $load_r"
	fi
}
# flip FILE OFFSET: invert bit 2 of the byte at OFFSET in place.
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 4)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# set_version FILE V: a file as a genuine format version V would be: the
# version at 8, and the header's own CRC-32 (of bytes 0-27, at 28, see
# src/snapshot/snapfile.h) recomputed, so only the version is wrong.
set_version() {
	python3 -c '
import struct, sys, zlib
p, v = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read())
struct.pack_into("<I", b, 8, v)
struct.pack_into("<I", b, 28, zlib.crc32(bytes(b[:28])) & 0xffffffff)
open(p, "wb").write(b)' "$1" "$2"
}

D=$tmp/damaged
mkdir -p "$D"
good="" good_mem=""
for g in "$tmp"/p*/good; do
	[ -f "$g" ] || continue
	IFS=$'\t' read -r good good_mem <"$g"
	break
done
refused "snapshot file missing" "$D/nonexistent.snap"
mkdir -p "$D/dir.snap"
refused "snapshot path is a directory" "$D/dir.snap"
: >"$D/empty.snap"
truncate -s $MEM_BYTES "$D/empty.snap.mem"
refused "empty snapshot file" "$D/empty.snap"
# A valid header (magic, version 1) followed by garbage.
{
	printf 'EMBERSNP\001\000\000\000'
	head -c 4096 /dev/urandom
} >"$D/garbage.snap"
truncate -s $MEM_BYTES "$D/garbage.snap.mem"
refused "magic and version 1, then 4 KiB of random bytes" "$D/garbage.snap"

if [ -z "$good" ]; then
	bad "damaged: truncations, bit flips, version 2, memory file size: not run, no snapshot restored successfully above"
else
	cp "$good" "$D/good.snap"
	size=$(stat -c %s "$D/good.snap")
	# Each damaged copy gets its own memory file (sparse copy) at the default path.
	damage() {
		cp "$D/good.snap" "$D/$1.snap"
		cp --sparse=always "$good_mem" "$D/$1.snap.mem"
	}
	for len in 4 8 11 12 31 32 $((size / 2)) $((size - 1)); do
		[ "$len" -lt "$size" ] || continue
		damage "trunc$len"
		truncate -s "$len" "$D/trunc$len.snap"
		refused "truncated to $len of $size bytes" "$D/trunc$len.snap"
	done
	damage hdrflip
	flip "$D/hdrflip.snap" 3
	refused "bit flipped in the magic (byte 3)" "$D/hdrflip.snap"
	damage verflip
	flip "$D/verflip.snap" 9
	refused "bit flipped in the version (byte 9)" "$D/verflip.snap"
	for off in 40 $((size / 2)) $((size - 1)); do
		damage "flip$off"
		flip "$D/flip$off.snap" "$off"
		refused "bit flipped in the body (byte $off of $size)" "$D/flip$off.snap"
	done
	damage v2
	set_version "$D/v2.snap" 2
	refused "format version 2 (header CRC valid)" --sub version "$D/v2.snap"
	damage short
	truncate -s $((MEM_BYTES - PAGE)) "$D/short.snap.mem"
	refused "memory file one page short" "$D/short.snap"
	damage long
	truncate -s $((MEM_BYTES + PAGE)) "$D/long.snap.mem"
	refused "memory file one page long" "$D/long.snap"
	damage nomem
	rm -f "$D/nomem.snap.mem"
	refused "memory file missing" "$D/nomem.snap"
	damage mem
	refused "memory file is a directory" --mem "$D/dir.snap" "$D/mem.snap"
	# The untouched copy must still restore (both ways): the cases above
	# failed for their damage, not because a copy loses something.
	timeout "$TIMEOUT" "$EMBER" restore "$D/mem.snap" </dev/null >"$D/ok.out" 2>"$D/ok.err"
	rc=$?
	if [ "$rc" = 0 ] && grep -aqxF "$REF_DONE" "$D/ok.out" && ! grep -aq FAIL "$D/ok.out"; then
		ok "damaged, ember restore: the undamaged copy restores: $(grep -a '^snapguest: done' "$D/ok.out")"
	else
		bad "damaged, ember restore: the undamaged copy does not restore: exit $rc: $(excerpt "$D/ok.err") / $(tail -n 2 "$D/ok.out" | tr '\n' '|')"
	fi
	# The control: one bit of guest RAM (a word of lane 0's arena) flipped
	# in the memory file. ember cannot know; the guest must, or its checks
	# would not catch a restore that loses memory either.
	arena=$(nm "$GUEST" | awk '$3 == "arenas" { print $1 }')
	damage ramflip
	if [ -z "$arena" ]; then
		bad "damaged: control: no symbol 'arenas' in $GUEST"
	else
		flip "$D/ramflip.snap.mem" $((0x$arena + 4 * 0x1234))
		timeout "$TIMEOUT" "$EMBER" restore "$D/ramflip.snap" </dev/null >"$D/ramflip.out" 2>"$D/ramflip.err"
		rc=$?
		if [ "$rc" = 0 ] && grep -aq '^snapguest: FAIL' "$D/ramflip.out" &&
			! grep -aq '^snapguest: done' "$D/ramflip.out"; then
			ok "damaged: control: a bit flipped in the guest's RAM is caught by the guest: $(grep -a '^snapguest: FAIL' "$D/ramflip.out" | head -n 1)"
		else
			bad "damaged: control: a bit flipped in the guest's RAM went unnoticed: exit $rc: $(tail -n 2 "$D/ramflip.out" | tr '\n' '|')"
		fi
	fi
	load_api "$D/mem.snap" "$D/mem.snap.mem" "$D/okapi.out" "$D/okapi.log" "$D/ok.sock"
	rc=$?
	if [ "${load_r%% *}" = 204 ] && [ "$rc" = 0 ] && grep -aqxF "$REF_DONE" "$D/okapi.out" &&
		! grep -aq FAIL "$D/okapi.out"; then
		ok "damaged, PUT /snapshot/load: the undamaged copy restores: $(grep -a '^snapguest: done' "$D/okapi.out")"
	else
		bad "damaged, PUT /snapshot/load: the undamaged copy does not restore: $load_r, exit $rc: $(tail -n 2 "$D/okapi.out" | tr '\n' '|')"
	fi
fi

# ---- 4. ember snapshot without a VM; the API on a running VM ----

# snap_refused NAME SOCK SNAP: exit 1, one "ember: " line naming the socket,
# nothing on stdout, no snapshot file.
snap_refused() {
	local name=$1 sock=$2 snap=$3 rc nl
	timeout 20 "$EMBER" snapshot --api-sock "$sock" "$snap" </dev/null >"$tmp/s.out" 2>"$tmp/s.err"
	rc=$?
	nl=$(wc -l <"$tmp/s.err")
	if [ "$rc" != 1 ]; then
		bad "ember snapshot, $name: exit $rc, want 1 ($(excerpt "$tmp/s.err"))"
	elif [ "$nl" != 1 ] || ! grep -q '^ember: ' "$tmp/s.err"; then
		bad "ember snapshot, $name: want one 'ember: ' line, got $nl: $(excerpt "$tmp/s.err")"
	elif ! grep -qF -- "$sock" "$tmp/s.err"; then
		bad "ember snapshot, $name: the message does not name the socket $sock: $(head -n 1 "$tmp/s.err")"
	elif [ -s "$tmp/s.out" ]; then
		bad "ember snapshot, $name: stdout: $(head -c 200 "$tmp/s.out")"
	elif [ -e "$snap" ]; then
		bad "ember snapshot, $name: $snap was written"
	else
		ok "ember snapshot, $name: $(head -n 1 "$tmp/s.err")"
	fi
}
S=$tmp/stop
mkdir -p "$S"
snap_refused "no socket at the path" "$S/none.sock" "$S/none.snap"
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' "$S/stale.sock"
snap_refused "a socket nobody listens on" "$S/stale.sock" "$S/stale.snap"

# PUT /snapshot/create while the VM runs: 400 with a fault_message, no files.
ember_bg "$S/run.out" "$S/run.err" run --kernel "$GUEST" --memory $MEM --api-sock "$S/api.sock"
vm=$bg_pid
if ! wait_sock "$S/api.sock"; then
	bad "running VM: no API socket after 5 s: $(excerpt "$S/run.err")"
else
	sleep 1
	r=$(api "$S/api.sock" PUT /snapshot/create \
		"{\"snapshot_type\":\"Full\",\"snapshot_path\":\"$S/running.snap\",\"mem_file_path\":\"$S/running.mem\"}")
	if [[ $r == 400*'"fault_message"'* ]] && [ ! -e "$S/running.snap" ] && [ ! -e "$S/running.mem" ]; then
		ok "PUT /snapshot/create on a running VM: $r"
	else
		bad "PUT /snapshot/create on a running VM: '$r', want 400 with a fault_message and no files$([ -e "$S/running.snap" ] && echo " (snapshot file written)")"
	fi
	# ember snapshot --then stop: the VM ends, its process exits 0.
	sleep 1
	before=$(last_step "$S/run.out")
	"$EMBER" snapshot --api-sock "$S/api.sock" --then stop "$S/stopped.snap" >"$S/snap.out" 2>"$S/snap.err"
	rc=$?
	stop_rc=$rc
	after=$(last_step "$S/run.out")
	if [ "$rc" != 0 ]; then
		bad "ember snapshot --then stop: exit $rc: $(excerpt "$S/snap.err")"
	elif ! msg=$(check_files "$S/stopped.snap" "$S/stopped.snap.mem"); then
		bad "ember snapshot --then stop: $msg"
	else
		ok "ember snapshot --then stop: between steps $before and $after: $msg"
	fi
fi
if [ "${stop_rc:-1}" != 0 ]; then
	# No stop was asked for: let the guest end on its own (timeout bounds it).
	wait "$vm"
else
	for _ in $(seq 100); do
		kill -0 "$vm" 2>/dev/null || break
		sleep 0.1
	done
fi
if [ "${stop_rc:-1}" != 0 ]; then
	: # the failed snapshot --then stop is reported above
elif kill -0 "$vm" 2>/dev/null; then
	bad "ember snapshot --then stop: the VM process still runs 10 s later"
	kill "$vm"
	wait "$vm"
else
	wait "$vm"
	rc=$?
	if [ "$rc" = 0 ] && ! grep -aq '^snapguest: done' "$S/run.out" && [ ! -S "$S/api.sock" ]; then
		ok "ember snapshot --then stop: ember run exited 0 before the guest's end, socket removed"
	else
		bad "ember snapshot --then stop: ember run exit $rc, done line: $(grep -ac '^snapguest: done' "$S/run.out"), socket left: $([ -S "$S/api.sock" ] && echo yes || echo no): $(excerpt "$S/run.err")"
	fi
fi
snap_refused "the VM has stopped" "$S/api.sock" "$S/after-stop.snap"

# The snapshot taken by --then stop, restored paused with an API socket:
# nothing runs until PATCH /vm Resumed; then it continues byte for byte
# after what the stopped process printed.
if [ -f "$S/stopped.snap" ]; then
	ember_bg "$S/rest.out" "$S/rest.err" restore --paused --api-sock "$S/rest.sock" "$S/stopped.snap"
	vm=$bg_pid
	if ! wait_sock "$S/rest.sock"; then
		bad "restore --paused: no API socket after 5 s: $(excerpt "$S/rest.err")"
		kill "$vm"
		wait "$vm"
	else
		sleep 1
		r=$(api "$S/rest.sock" GET /)
		if [[ $r == 200*'"state":"Paused"'* ]] && [ ! -s "$S/rest.out" ]; then
			ok "restore --paused: GET / says Paused and the guest printed nothing in 1 s"
		else
			bad "restore --paused: GET / '$r', guest printed $(stat -c %s "$S/rest.out") bytes, want Paused and nothing"
		fi
		r=$(api "$S/rest.sock" PATCH /vm '{"state":"Resumed"}')
		[ "${r%% *}" = 204 ] || bad "restore --paused: PATCH /vm Resumed: $r, want 204"
		wait "$vm"
		rc=$?
		cp "$S/run.out" "$S/prefix"
		if [ "$rc" != 0 ]; then
			bad "restore --paused, resumed: exit $rc: $(excerpt "$S/rest.err") / $(tail -n 2 "$S/rest.out" | tr '\n' '|')"
		elif [ -s "$S/rest.err" ]; then
			bad "restore --paused, resumed: stderr: $(excerpt "$S/rest.err")"
		else
			# The whole run as it would have been: the stopped part + the restored part.
			cat "$S/run.out" "$S/rest.out" >"$S/whole.out"
			if st=$($CHECK cont "$S/whole.out" "$S/rest.out" "$before" "$after" "$S/prefix") &&
				st2=$($CHECK ref "$tmp/ref1.out" "$S/whole.out"); then
				ok "restore --paused, resumed: $st"
			else
				bad "restore --paused, resumed: $st ${st2:-}"
			fi
		fi
	fi
else
	bad "restore --paused: not run, ember snapshot --then stop wrote no snapshot"
fi

# ---- 5. a diff snapshot on top of its base (API, track_dirty_pages) ----

# A VM booted from a Firecracker config file with dirty page tracking: a
# Full snapshot (the base), later a Diff written into a copy of the base's
# memory file. The diff restored on that merged file continues from the
# second point, the base on its own file from the first, both byte for
# byte after what the VM had printed when it was paused.
F=$tmp/diff
mkdir -p "$F"
cat >"$F/vm.json" <<JSON
{"boot-source": {"kernel_image_path": "$PWD/$GUEST"}, "drives": [],
 "machine-config": {"vcpu_count": 1, "mem_size_mib": $((MEM_BYTES >> 20)), "track_dirty_pages": true}}
JSON
ember_bg "$F/run.out" "$F/run.log" firecracker --api-sock "$F/api.sock" --config-file "$F/vm.json"
vm=$bg_pid
diff_ok=0
if ! wait_sock "$F/api.sock"; then
	bad "diff: ember firecracker --config-file: no API socket after 5 s: $(excerpt "$F/run.log")"
elif ! wait_step "$F/run.out" $((STEPS / 4)) "$vm"; then
	bad "diff: the VM ended before step $((STEPS / 4)): $(excerpt "$F/run.log") / $(tail -n 2 "$F/run.out" | tr '\n' '|')"
else
	base_before=$(last_step "$F/run.out")
	msg=$(api_snapshot "$F/api.sock" "$F/run.out" Full "$F/base.snap" "$F/base.mem" "$F/prefix1")
	base_after=$(last_step "$F/prefix1")
	if [ -n "$msg" ]; then
		bad "diff: base (Full) snapshot: $msg"
	elif ! wait_step "$F/run.out" $((base_after + STEPS / 4)) "$vm"; then
		bad "diff: the VM ended before step $((base_after + STEPS / 4))"
	else
		cp --sparse=always "$F/base.mem" "$F/merged.mem"
		diff_before=$(last_step "$F/run.out")
		msg=$(api_snapshot "$F/api.sock" "$F/run.out" Diff "$F/diff.snap" "$F/merged.mem" "$F/prefix2")
		diff_after=$(last_step "$F/prefix2")
		if [ -n "$msg" ]; then
			bad "diff: Diff snapshot: $msg"
		elif ! msg=$(check_files "$F/diff.snap" "$F/merged.mem"); then
			bad "diff: Diff snapshot: $msg"
		else
			ok "diff: Full at step $base_after, Diff at step $diff_after into a copy of the base memory: $msg"
			diff_ok=1
		fi
	fi
fi
wait "$vm"
rc=$?
if [ "$rc" != 0 ]; then
	bad "diff: ember firecracker exit $rc: $(excerpt "$F/run.log") / $(tail -n 2 "$F/run.out" | tr '\n' '|')"
elif st=$($CHECK ref "$tmp/ref1.out" "$F/run.out"); then
	ok "diff: the snapshotted VM: $st"
else
	bad "diff: the snapshotted VM: $st"
fi
# diff_restore WHICH SNAP MEM BEFORE AFTER PREFIX: one restore of section 5;
# its verdict ("ok|FAIL<TAB>text") in $F/WHICH.verdict (it runs in the
# background, beside the other).
diff_restore() {
	local which=$1 rc st k t
	load_api "$2" "$3" "$F/$which.out" "$F/$which.log" "$F/$which.sock"
	rc=$?
	if [ "${load_r%% *}" != 204 ]; then
		k=FAIL t="diff: restore the $which: PUT /snapshot/load: $load_r, want 204"
	elif [ "$rc" != 0 ]; then
		k=FAIL t="diff: restore the $which: exit $rc: $(tail -n 2 "$F/$which.out" | tr '\n' '|')"
	elif st=$($CHECK cont "$F/run.out" "$F/$which.out" "$4" "$5" "$6"); then
		k=ok t="diff: restore the $which: $st"
	else
		k=FAIL t="diff: restore the $which: $st"
	fi
	printf '%s\t%s\n' "$k" "$t" >"$F/$which.verdict"
}
if [ "$diff_ok" = 1 ]; then
	diff_restore diff "$F/diff.snap" "$F/merged.mem" "$diff_before" "$diff_after" "$F/prefix2" &
	echo $! >>"$tmp/pids"
	diff_restore base "$F/base.snap" "$F/base.mem" "$base_before" "$base_after" "$F/prefix1" &
	echo $! >>"$tmp/pids"
	wait
	for which in diff base; do
		if IFS=$'\t' read -r kind text <"$F/$which.verdict" 2>/dev/null; then
			if [ "$kind" = ok ]; then ok "$text"; else bad "$text"; fi
		else
			bad "diff: restore the $which: no verdict (the check itself died)"
		fi
	done
fi

finish
