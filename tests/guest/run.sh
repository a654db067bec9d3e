#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Boot the PVH test guest under ember on /dev/kvm: every memory size with
# every vCPU count, with and without an initrd, and judge each run from the
# guest's UART lines (see testguest.c; acpi.c checks the ACPI tables): ember
# must exit 0 (the guest powers off through the FADT's sleep control
# register), print "testguest: N passed, 0 failed" with N > 0, no FAIL line,
# "ok smp-started <cpus>" and the power-off line.
#
# The wait guest (waitguest.c, for the API's SendCtrlAltDel) must start and
# print its heartbeat; only the API can end it, so a timeout stops it.
#
# Then the hostile guest (hostile*.c), a driver that breaks every rule it
# can on every device: virtio blk, rng, console, vsock and net, the IOAPIC,
# 16550, CMOS and i8042. It runs against a 1 MiB disk image with known
# contents, a TAP created here, a vsock socket, console input from a file,
# and two host programs (hostile_peer.py: a vsock listener and a frame
# source/counter on the TAP). ember must exit 0; the guest must print
# "hostileguest: N passed, 0 failed" with N > 0; the image must differ from
# what run.sh wrote only in sector 7 (which the guest writes); ember (run
# with --debug) must report as many interrupts dropped because no CPU
# accepted them as the guest says it provoked ("hostileguest: provoked N
# ..."); the console line, the vsock ping and the two valid net frames must
# have reached the host, and the vsock connection the host opened must have
# worked until the guest broke it. Once with $EMBER, once with an ASan+UBSan build of
# ember, where any sanitizer report fails the run. Creating the TAP needs
# root or CAP_NET_ADMIN: without, the hostile runs fail and say why.
#
# Usage: tests/guest/run.sh            (from anywhere; `make check-guest`)
# Env:   EMBER=path   monitor to test (default build/ember)
#        EMBER_ASAN=path  sanitizer build for the hostile guest (default:
#                     build/asan/ember, (re)built here with make)
#        TG_TIMEOUT=s per-run timeout (default 60)
# Output: "ok - testguest 128M/1cpu (0.4 s)" or "not ok - ..." with the
# guest's failing lines ("ok - hostileguest: N checks, ..." likewise), then
# "guest: N passed, M failed". Exit 1 on any
# failure, including a missing /dev/kvm (this is never a silent skip).
set -u

cd "$(dirname "$0")/../.." || exit 1
EMBER=${EMBER:-build/ember}
TIMEOUT=${TG_TIMEOUT:-60}
B=build/tests/guest
TESTGUEST=$B/testguest.elf
EXITGUEST=$B/exitguest.elf
HOSTILEGUEST=$B/hostileguest.elf
WAITGUEST=$B/waitguest.elf
W=$B/run
INITRD=$W/initrd.bin
INITRD_SIZE=5000 # deliberately not a multiple of 4096

passed=0
failed=0

die() {
	echo "guest: $*" >&2
	echo "guest: 0 passed, 1 failed"
	exit 1
}

if [ ! -e /dev/kvm ]; then
	die "/dev/kvm does not exist: these tests need KVM (load kvm_intel/kvm_amd or run in the lab)"
fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	die "/dev/kvm is not readable and writable by $(id -un): $(ls -l /dev/kvm)"
fi
for f in "$EMBER" "$TESTGUEST" "$EXITGUEST" "$HOSTILEGUEST" "$WAITGUEST" "$B/lx64guest.elf" \
	"$B/relocguest.elf"; do
	[ -e "$f" ] || die "$f is missing: run make first"
done
mkdir -p "$W" || die "cannot create $W"

# Deterministic pseudo-random initrd: Park-Miller LCG (exact in awk's
# doubles), one byte from the high bits of each step, written through
# printf octal escapes (awk cannot portably write a NUL byte).
printf "$(awk -v n=$INITRD_SIZE 'BEGIN {
	x = 20240601
	for (i = 0; i < n; i++) {
		x = (x * 16807) % 2147483647
		printf "\\%03o", int(x / 8388608) % 256
	}
}')" >"$INITRD"
[ "$(stat -c %s "$INITRD")" = $INITRD_SIZE ] || die "generated $INITRD has the wrong size"

# tg sum, as in testguest.c: s = 0; for each byte b: s = s * 31 + b (mod 2^32).
# s * 31 + b stays below 2^37, exact in awk's doubles.
tg_sum() {
	od -An -v -tu1 "$1" |
		awk '{ for (i = 1; i <= NF; i++) s = (s * 31 + $i) % 4294967296 }
		     END { printf "%.0f\n", s }'
}
INITRD_SUM=$(tg_sum "$INITRD")
# Over 2 MiB of kernel plus initrd, ember copies them on a thread while it
# creates the VM (vm.c, start_image_load): one run takes that path.
BIG_INITRD=$W/initrd-big.bin
BIG_INITRD_SIZE=$(((2 << 20) + 1000))
head -c $BIG_INITRD_SIZE /dev/urandom >"$BIG_INITRD" || die "cannot write $BIG_INITRD"
BIG_INITRD_SUM=$(tg_sum "$BIG_INITRD")

# Append tg.cmdline_len=<length of the whole line, this key included>.
with_len() {
	local s="$1 tg.cmdline_len=" n c
	n=$((${#s} + 1))
	while :; do
		c="$s$n"
		[ ${#c} -eq $n ] && break
		n=${#c}
	done
	printf '%s' "$c"
}

# Pad with tg.pad=xxx... so that the whole line is exactly $2 bytes (4-digit).
padded_to() {
	local s="$1 tg.pad=" tail=" tg.cmdline_len=$2" pad
	pad=$(($2 - ${#s} - ${#tail}))
	printf '%s%s%s' "$s" "$(printf '%*s' $pad '' | tr ' ' x)" "$tail"
}

now_ns() { date +%s%N; }

report_fail() {
	local what=$1 why=$2 log=$3
	failed=$((failed + 1))
	echo "not ok - $what: $why"
	if [ -s "$log" ]; then
		{ grep -a "^FAIL" "$log"; tail -n 3 "$log"; } | awk '!seen[$0]++' | sed 's/^/#   /'
	fi
	echo "#   log: $log"
}

# run_testguest MEM CPUS INITRD(0: none, 1: small, 2: over 2 MiB) LONG_CMDLINE(0/1)
run_testguest() {
	local mem=$1 cpus=$2 use_initrd=$3 long=$4
	local name="testguest $mem/${cpus}cpu" cl args log t0 t1 rc line n m oks
	local base="console=ttyS0 tg.mem=$mem tg.cpus=$cpus" rd=$INITRD

	[ "$use_initrd" = 1 ] && base="$base tg.initrd_size=$INITRD_SIZE tg.initrd_sum=$INITRD_SUM"
	[ "$use_initrd" = 2 ] && base="$base tg.initrd_size=$BIG_INITRD_SIZE tg.initrd_sum=$BIG_INITRD_SUM" &&
		rd=$BIG_INITRD
	if [ "$long" = 1 ]; then
		cl=$(padded_to "$base" 2047) # the longest ember takes: 2048 with the NUL
		name="$name+long-cmdline"
	else
		cl=$(with_len "$base")
	fi
	# --no-rng: no virtio device appends its parameter, so the guest can
	# check that the command line arrives exactly as given.
	args=(run --kernel "$TESTGUEST" --memory "$mem" --cpus "$cpus" --no-rng --cmdline "$cl")
	if [ "$use_initrd" != 0 ]; then
		args+=(--initrd "$rd")
		name="$name+initrd"
		[ "$use_initrd" = 1 ] || name="$name-2MiB"
	fi
	log="$W/testguest-$mem-${cpus}cpu.log"

	t0=$(now_ns)
	timeout "$TIMEOUT" "$EMBER" "${args[@]}" </dev/null >"$log.raw" 2>&1
	rc=$?
	t1=$(now_ns)
	tr -d '\r' <"$log.raw" >"$log" && rm -f "$log.raw"
	local secs
	secs=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f", d / 1e9 }')

	if [ $rc -eq 124 ]; then
		report_fail "$name" "timed out after ${TIMEOUT}s" "$log"
		return
	fi
	if [ $rc -ne 0 ]; then
		report_fail "$name" "ember exited with status $rc" "$log"
		return
	fi
	line=$(grep -a -E '^testguest: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		report_fail "$name" "no 'testguest: N passed, M failed' line" "$log"
		return
	fi
	n=$(echo "$line" | awk '{ print $2 }')
	m=$(echo "$line" | awk '{ print $4 }')
	oks=$(grep -a -c '^ok ' "$log")
	if [ "$m" != 0 ] || grep -a -q '^FAIL' "$log"; then
		report_fail "$name" "guest reports $m failed" "$log"
	elif [ "$n" -le 0 ] || [ "$oks" != "$n" ]; then
		report_fail "$name" "guest reports $n passed but printed $oks ok lines" "$log"
	elif ! grep -a -q "^ok smp-started $cpus\$" "$log"; then
		report_fail "$name" "no 'ok smp-started $cpus' line" "$log"
	elif ! grep -a -q '^testguest: powering off through ACPI port 0x600$' "$log" ||
		grep -a -q 'still running after the ACPI power-off' "$log"; then
		# ember's exit 0 must come from the ACPI S5 write, not the
		# i8042 reset the guest falls back to.
		report_fail "$name" "the guest's ACPI power-off did not end ember" "$log"
	else
		passed=$((passed + 1))
		echo "ok - $name: $n checks, ACPI power-off (${secs} s)"
	fi
}

run_exitguest() {
	local log=$W/exitguest.log rc t0 t1
	t0=$(now_ns)
	timeout "$TIMEOUT" "$EMBER" run --kernel "$EXITGUEST" --memory 128M </dev/null >"$log" 2>&1
	rc=$?
	t1=$(now_ns)
	if [ $rc -ne 0 ]; then
		report_fail "exitguest" "ember exited with status $rc" "$log"
	else
		passed=$((passed + 1))
		echo "ok - exitguest ($(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f", d / 1e9 }') s)"
	fi
}

# The guest for the API's SendCtrlAltDel tests (waitguest.c) waits for keys
# that only the API can send; here it must start and keep its heartbeat
# until the timeout stops it.
run_waitguest() {
	local log=$W/waitguest.log rc
	timeout 3 "$EMBER" run --kernel "$WAITGUEST" --memory 64M --no-rng </dev/null >"$log.raw" 2>&1
	rc=$?
	tr -d '\r' <"$log.raw" >"$log" && rm -f "$log.raw"
	if [ $rc -ne 124 ]; then
		report_fail "waitguest" "ember exited with status $rc before the 3 s timeout" "$log"
	elif ! grep -a -q '^waitguest: ready$' "$log" || ! grep -a -q '^waitguest: tick 1$' "$log"; then
		report_fail "waitguest" "no 'waitguest: ready' and 'waitguest: tick 1' lines" "$log"
	elif grep -a -v -E '^waitguest: (ready|tick [0-9]+)$' "$log" | grep -a -q .; then
		report_fail "waitguest" "unexpected output" "$log"
	else
		passed=$((passed + 1))
		echo "ok - waitguest: ready, $(grep -a -c '^waitguest: tick' "$log") ticks in 3 s"
	fi
}

# The Linux 64-bit boot protocol (lx64guest.S checks what it promises) and a
# relocatable PVH kernel (relocguest.S prints where it runs): placed at a
# random 2 MiB multiple in its note's range by default, at its ELF address
# with --kernel-addr elf, at a given address, and refused at a bad one.
run_lx64guest() {
	local log=$W/lx64guest.log rc
	timeout "$TIMEOUT" "$EMBER" run --kernel "$B/lx64guest.elf" --memory 64M --no-rng \
		--cmdline "lx64-cmdline console=ttyS0" </dev/null >"$log" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		report_fail "lx64guest" "ember exited with status $rc" "$log"
	elif ! grep -a -q '^lx64: ok e820=[0-9]* cmdline=lx64-cmdline' "$log"; then
		report_fail "lx64guest" "no 'lx64: ok e820=N cmdline=lx64-cmdline' line" "$log"
	else
		passed=$((passed + 1))
		echo "ok - lx64guest: $(grep -a '^lx64: ok' "$log" | tr -d '\r')"
	fi
}

run_relocguest() {
	local log=$W/relocguest.log rc addrs="" a i bad="" elf fixed refused
	for i in 1 2 3 4 5 6; do
		timeout "$TIMEOUT" "$EMBER" run --kernel "$B/relocguest.elf" --memory 64M --no-rng \
			</dev/null >"$log" 2>&1 || bad="run $i exited with status $?"
		a=$(grep -a -o '^reloc: at 0x[0-9a-f]* start_info=y' "$log" | awk '{print $3}')
		[ -n "$a" ] || { bad="run $i printed no 'reloc: at ADDR start_info=y' line"; break; }
		# A multiple of 2 MiB from 2 MiB to the last one below 64 MiB.
		if [ $((a % 0x200000)) -ne 0 ] || [ $((a)) -lt $((0x200000)) ] ||
			[ $((a)) -gt $((0x3e00000)) ]; then
			bad="run $i placed it at $a, outside the note's range in 64 MiB"
		fi
		addrs="$addrs $a"
	done
	elf=$(timeout "$TIMEOUT" "$EMBER" run --kernel "$B/relocguest.elf" --memory 64M --no-rng \
		--kernel-addr elf </dev/null 2>&1 | grep -a -o 'reloc: at 0x[0-9a-f]*')
	fixed=$(timeout "$TIMEOUT" "$EMBER" run --kernel "$B/relocguest.elf" --memory 64M --no-rng \
		--kernel-addr 0x3e00000 </dev/null 2>&1 | grep -a -o 'reloc: at 0x[0-9a-f]*')
	refused=$(timeout "$TIMEOUT" "$EMBER" run --kernel "$B/relocguest.elf" --memory 64M \
		--no-rng --kernel-addr 0x300000 </dev/null 2>&1)
	if [ -z "$bad" ] && [ "$(printf '%s\n' $addrs | sort -u | wc -l)" -lt 2 ]; then
		bad="six boots, one address:$addrs"
	fi
	if [ -n "$bad" ]; then
		report_fail "relocguest" "$bad" "$log"
	elif [ "$elf" != "reloc: at 0x00100000" ]; then
		report_fail "relocguest" "--kernel-addr elf: '$elf', not 'reloc: at 0x00100000'" "$log"
	elif [ "$fixed" != "reloc: at 0x03e00000" ]; then
		report_fail "relocguest" "--kernel-addr 0x3e00000: '$fixed'" "$log"
	else
		case $refused in
		"ember: kernel $B/relocguest.elf: --kernel-addr 0x300000: this kernel loads at a multiple of 0x200000 from 0x200000 to 0x3e00000"*)
			passed=$((passed + 1))
			echo "ok - relocguest: placed at$addrs; elf and fixed placements; 0x300000 refused" ;;
		*) report_fail "relocguest" "--kernel-addr 0x300000 not refused as expected: $refused" "$log" ;;
		esac
	fi
}

# Least privilege seen from outside a running ember (issue 15's first
# part): NoNewPrivs in /proc/PID/status, and every byte of its 64 MiB of
# guest RAM in mappings flagged dd (MADV_DONTDUMP: not in core dumps) and
# dc (MADV_DONTFORK: not in children) in /proc/PID/smaps.
# What /proc says of a running ember ($1) against issue 15's least privilege:
# no capabilities in any thread (the bounding set too when started as root),
# every fd above 2 close-on-exec, none open on $2 (a file the caller leaked
# to it). Prints nothing when all hold, else what does not.
confined_why() {
	local pid=$1 leaked=$2 t k v fd flags target
	for t in /proc/"$pid"/task/*; do
		for k in CapEff CapPrm CapInh CapAmb $([ "$(id -u)" = 0 ] && echo CapBnd); do
			v=$(awk -v k="$k:" '$1 == k {print $2}' "$t/status" 2>/dev/null)
			[ -z "$v" ] || [ "$v" = 0000000000000000 ] ||
				echo "thread ${t##*/} ($(cat "$t/comm" 2>/dev/null)): $k is $v"
		done
	done
	for fd in /proc/"$pid"/fd/*; do
		fd=${fd##*/}
		target=$(readlink "/proc/$pid/fd/$fd" 2>/dev/null) || continue
		[ "$target" = "$leaked" ] && echo "fd $fd is the one the test leaked ($leaked)"
		[ "$fd" -lt 3 ] && continue
		flags=$(awk '/^flags:/ {print $2}' "/proc/$pid/fdinfo/$fd" 2>/dev/null)
		[ -n "$flags" ] && [ $((8#$flags & 8#2000000)) = 0 ] &&
			echo "fd $fd ($target) is not close-on-exec (flags $flags)"
	done
}

run_confined() {
	local log=$W/confined.log leaked=$W/confined.leaked vs=$W/confined.vsock tpid pid i nnp ram why mode
	: >"$leaked"
	rm -f "$vs"
	# fd 7 open and inherited, a umask that would leave the socket 0755
	(
		umask 022
		exec 7<"$leaked"
		exec timeout 10 "$EMBER" run --kernel "$WAITGUEST" --memory 64M --no-rng \
			--vsock cid=3,uds="$vs" </dev/null >"$log" 2>&1
	) &
	tpid=$!
	for i in $(seq 50); do
		pid=$(pgrep -P "$tpid" | head -n1)
		[ -n "$pid" ] && grep -aq '^waitguest: ready' "$log" && break
		sleep 0.1
	done
	nnp=$(awk '/^NoNewPrivs:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
	ram=$(awk '/^[0-9a-f]+-[0-9a-f]+ / {sz = 0} /^Size:/ {sz = $2}
		/^VmFlags:/ && / dd( |$)/ && / dc( |$)/ {kb += sz} END {print kb + 0}' "/proc/$pid/smaps" 2>/dev/null)
	why=$([ -n "$pid" ] && confined_why "$pid" "$(readlink -f "$leaked")")
	mode=$(stat -c %a "$vs" 2>/dev/null)
	kill "$pid" 2>/dev/null
	wait "$tpid" 2>/dev/null
	if [ -z "$pid" ]; then
		report_fail "confined" "found no running ember (waitguest)" "$log"
	elif [ "$nnp" != 1 ]; then
		report_fail "confined" "NoNewPrivs is '$nnp', not 1" "$log"
	elif [ "${ram:-0}" -lt 65536 ]; then
		report_fail "confined" "only $ram KiB of mappings are MADV_DONTDUMP and MADV_DONTFORK, not the 65536 KiB of guest RAM" "$log"
	elif [ -n "$why" ]; then
		report_fail "confined" "$(echo "$why" | head -n3 | tr '\n' ';')" "$log"
	elif [ "$mode" != 600 ]; then
		report_fail "confined" "the vsock socket $vs has mode '$mode', not 600 (umask 022)" "$log"
	else
		passed=$((passed + 1))
		echo "ok - confined: NoNewPrivs 1; $ram KiB of guest RAM not dumped, not forked; no capabilities$([ "$(id -u)" = 0 ] && echo ', bounding set empty'); every fd close-on-exec, the inherited fd 7 closed; vsock socket 0600"
	fi
}

run_exitguest
run_waitguest
run_confined
run_lx64guest
run_relocguest
i=0
for mem in 128M 3584M 5G; do
	for cpus in 1 2 4; do
		# An initrd in every other run (each size gets both), the longest
		# command line in the last one.
		run_testguest "$mem" "$cpus" $((i % 2)) $((i == 8))
		i=$((i + 1))
	done
done
run_testguest 256M 2 2 0

# ---- the hostile guest ----

HG_IMG=$W/hostile.img
HG_ORIG=$W/hostile.img.orig
HG_WANT=$W/hostile.img.want
HG_SECTORS=2048 # 1 MiB; hostile.c's DISK_SECTORS
HG_WRITTEN=7	# the sector hostile.c writes (WRITE_SECTOR)

# 512 bytes, byte j = (j * MUL + ADD) mod 256, XOR X (hostile.c's patterns).
hg_sector() {
	printf "$(awk -v m="$1" -v a="$2" -v x="$3" 'BEGIN {
		for (j = 0; j < 512; j++) {
			b = (j * m + a) % 256
			printf "\\%03o", x ? 255 - b : b
		}
	}')"
}

# The image ember gets: 0xa5 everywhere, sector 0 and the last sector with
# patterns the guest reads back. The expected result: sector 7 rewritten.
hg_make_images() {
	head -c $((HG_SECTORS * 512)) /dev/zero | tr '\000' '\245' >"$HG_ORIG" &&
		hg_sector 13 7 0 | dd of="$HG_ORIG" conv=notrunc status=none &&
		hg_sector 13 7 1 | dd of="$HG_ORIG" bs=512 seek=$((HG_SECTORS - 1)) \
			conv=notrunc status=none &&
		cp "$HG_ORIG" "$HG_WANT" &&
		hg_sector 3 17 0 | dd of="$HG_WANT" bs=512 seek=$HG_WRITTEN conv=notrunc \
			status=none &&
		[ "$(stat -c %s "$HG_ORIG")" = $((HG_SECTORS * 512)) ]
}

# The ASan+UBSan ember. Command-line CFLAGS would replace the Makefile's
# (-Isrc, -std=...), so they go in through the environment; the parent
# make's MAKEFLAGS stay out so its variables cannot override them.
# -Wno-format-truncation: at -O1 gcc flags util.c's deliberate snprintf
# truncation, and the Makefile builds with -Werror.
hg_build_asan() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		CFLAGS='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -Wno-format-truncation' \
		LDFLAGS= make -s -j"$(nproc)" B=build/asan build/asan/ember
}

# What hostile_virtio.c expects around it (keep the two in step): the
# console input it must receive, the console line it sends, the vsock
# socket (the peer listens on its _5000 path) and how many valid frames it
# sends on the TAP. The TAP is created here (root or CAP_NET_ADMIN), with
# IPv6 off so that the host sends nothing of its own on it.
HG_PEER=tests/guest/hostile_peer.py
HG_INPUT=$W/hostile.input
HG_VSOCK=$W/hostile.vsock
HG_TAP=hgtap$$
HG_CON_TX='hostileguest: virtio-console output arrived whole'
HG_NET_TX=2
hg_pids=
hg_why=

hg_peers_stop() {
	[ -n "$hg_pids" ] && kill $hg_pids 2>/dev/null && wait $hg_pids 2>/dev/null
	hg_pids=
	ip tuntap del dev "$HG_TAP" mode tap 2>/dev/null
	rm -f "${HG_VSOCK}_5000"
}

# The TAP and the two host programs (hostile_peer.py, output in
# $W/peers.log); $1 is ember's output, where the vsock peer waits for the
# guest's word to connect. False with the reason in $hg_why. Runs in this shell (not
# in $(...), which would wait for the peers' end of output).
hg_peers_start() {
	rm -f "$HG_VSOCK" "${HG_VSOCK}_5000" "$W/vsock.res" "$W/net.res"
	if ! command -v python3 >/dev/null; then
		hg_why="python3 is missing (the vsock and net peers)"
		return 1
	fi
	if ! ip tuntap add dev "$HG_TAP" mode tap 2>/dev/null ||
		! echo 1 >"/proc/sys/net/ipv6/conf/$HG_TAP/disable_ipv6" ||
		! ip link set "$HG_TAP" up; then
		hg_why="cannot create TAP $HG_TAP (needs root or CAP_NET_ADMIN, and /dev/net/tun)"
		return 1
	fi
	python3 "$HG_PEER" vsock "${HG_VSOCK}_5000" "$W/vsock.res" "$HG_VSOCK" "$1" \
		</dev/null >>"$W/peers.log" 2>&1 &
	hg_pids=$!
	python3 "$HG_PEER" net "$HG_TAP" "$W/net.res" </dev/null >>"$W/peers.log" 2>&1 &
	hg_pids="$hg_pids $!"
	for _ in $(seq 200); do
		[ -S "${HG_VSOCK}_5000" ] && [ -s "$W/net.res" ] && return 0
		sleep 0.05
	done
	hg_why="the peers did not start (no ${HG_VSOCK}_5000 or $W/net.res; see $W/peers.log)"
	return 1
}

# run_hostile NAME MONITOR [sanitized(0/1)]
run_hostile() {
	local name=$1 ember=$2 san=${3:-0} log rc t0 t1 secs line n m oks where provoked dropped
	local vres nres
	log="$W/$name.log"

	if ! cp "$HG_ORIG" "$HG_IMG" ||
		! printf 'hostile-console-input:0123456789abcdef\n' >"$HG_INPUT"; then
		report_fail "$name" "cannot copy the disk image or write the console input" ""
		return
	fi
	rm -f "$log.raw"
	if ! hg_peers_start "$log.raw"; then
		hg_peers_stop
		report_fail "$name" "$hg_why" ""
		return
	fi
	t0=$(now_ns)
	ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:exitcode=86 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=87 \
		timeout "$TIMEOUT" "$ember" run --debug --kernel "$HOSTILEGUEST" --memory 64M \
		--disk "$HG_IMG,id=ember-hostile" --net "tap=$HG_TAP" \
		--vsock "cid=3,uds=$HG_VSOCK" --console virtio <"$HG_INPUT" >"$log.raw" 2>"$log.err"
	rc=$?
	t1=$(now_ns)
	hg_peers_stop
	vres=$(cat "$W/vsock.res" 2>/dev/null)
	nres=$(cat "$W/net.res" 2>/dev/null)
	# The guest's console, then ember's messages: written to one file
	# together, a device's message could land inside a guest line (a CI
	# run saw "o<message>k blk-get-id-short-buffer").
	{ tr -d '\r' <"$log.raw"; cat "$log.err"; } >"$log" && rm -f "$log.raw" "$log.err"
	secs=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f", d / 1e9 }')

	if [ "$san" = 1 ] &&
		grep -a -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: [A-Za-z]+Sanitizer' "$log"; then
		failed=$((failed + 1))
		echo "not ok - $name: sanitizer report (ember status $rc)"
		grep -a -E -A 12 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log" |
			head -n 40 | sed 's/^/#   /'
		echo "#   log: $log"
		return
	fi
	if [ $rc -eq 124 ]; then
		report_fail "$name" "timed out after ${TIMEOUT}s" "$log"
		return
	fi
	if [ $rc -ne 0 ]; then
		report_fail "$name" "ember exited with status $rc" "$log"
		return
	fi
	line=$(grep -a -E '^hostileguest: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		report_fail "$name" "no 'hostileguest: N passed, M failed' line" "$log"
		return
	fi
	n=$(echo "$line" | awk '{ print $2 }')
	m=$(echo "$line" | awk '{ print $4 }')
	oks=$(grep -a -c '^ok ' "$log")
	# The image is judged whatever the guest says.
	if ! where=$(cmp "$HG_IMG" "$HG_WANT" 2>&1); then
		where="; disk image not as expected, only sector $HG_WRITTEN may change: $where"
	else
		where=
	fi
	# Interrupts the guest aimed at no CPU: ember (--debug) must have
	# dropped exactly as many as the guest says it provoked.
	provoked=$(sed -n 's/^hostileguest: provoked \([0-9]*\) interrupts no CPU accepts$/\1/p' "$log")
	dropped=$(sed -n 's/^ember: debug: \([0-9]*\) interrupts dropped: no CPU accepted them$/\1/p' "$log")
	if [ "$m" != 0 ] || grep -a -q '^FAIL' "$log"; then
		report_fail "$name" "guest reports $m failed$where" "$log"
	elif [ "$n" -le 0 ] || [ "$oks" != "$n" ]; then
		report_fail "$name" "guest reports $n passed but printed $oks ok lines$where" "$log"
	elif [ -z "$provoked" ] || [ "${dropped:-0}" != "$provoked" ]; then
		report_fail "$name" "ember dropped ${dropped:-0} interrupts no CPU accepted, the guest provoked ${provoked:-?}" "$log"
	elif ! grep -a -q -x "$HG_CON_TX" "$log"; then
		report_fail "$name" "no '$HG_CON_TX' line from the virtio console" "$log"
	elif [ "$(printf '%s\n' "$vres" | grep -c -x 'got ping from guest!')" != 1 ] ||
		[ "$(printf '%s\n' "$vres" | grep -c -E -x 'host-connect OK [0-9]+ eof')" != 1 ] ||
		[ "$(printf '%s\n' "$vres" | wc -l)" != 2 ]; then
		report_fail "$name" "the vsock peer reports '$(echo $vres)', not 'got ping from guest!' and 'host-connect OK <port> eof'" "$log"
	elif [ "$nres" != "$HG_NET_TX" ]; then
		report_fail "$name" "the net peer got ${nres:-no} frames from the guest, not $HG_NET_TX" "$log"
	elif [ -n "$where" ]; then
		report_fail "$name" "${where#; }" "$log"
	else
		passed=$((passed + 1))
		echo "ok - $name: $n checks, disk image as expected, $dropped interrupts dropped, peers as expected (${secs} s)"
	fi
}

trap hg_peers_stop EXIT
if ! hg_make_images; then
	failed=$((failed + 1))
	echo "not ok - hostileguest: cannot create the disk images in $W"
else
	run_hostile hostileguest "$EMBER"
	if [ -n "${EMBER_ASAN:-}" ]; then
		run_hostile hostileguest-asan "$EMBER_ASAN" 1
	elif ! hg_build_asan >"$W/asan-build.log" 2>&1; then
		failed=$((failed + 1))
		echo "not ok - hostileguest-asan: building build/asan/ember failed"
		tail -n 5 "$W/asan-build.log" | sed 's/^/#   /'
	else
		run_hostile hostileguest-asan build/asan/ember 1
	fi
fi

echo "guest: $passed passed, $failed failed"
[ $failed -eq 0 ]
