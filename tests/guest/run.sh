#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Boot the PVH test guest under ember on /dev/kvm: every memory size with
# every vCPU count, with and without an initrd, and judge each run from the
# guest's UART lines (see testguest.c): ember must exit 0 (the guest ends
# with an i8042 reset), print "testguest: N passed, 0 failed" with N > 0,
# no FAIL line, and "ok smp-started <cpus>".
#
# Usage: tests/guest/run.sh            (from anywhere; `make check-guest`)
# Env:   EMBER=path   monitor to test (default build/ember)
#        TG_TIMEOUT=s per-run timeout (default 60)
# Output: "ok - testguest 128M/1cpu (0.4 s)" or "not ok - ..." with the
# guest's failing lines, then "guest: N passed, M failed". Exit 1 on any
# failure, including a missing /dev/kvm (this is never a silent skip).
set -u

cd "$(dirname "$0")/../.." || exit 1
EMBER=${EMBER:-build/ember}
TIMEOUT=${TG_TIMEOUT:-60}
B=build/tests/guest
TESTGUEST=$B/testguest.elf
EXITGUEST=$B/exitguest.elf
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
for f in "$EMBER" "$TESTGUEST" "$EXITGUEST"; do
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

# run_testguest MEM CPUS INITRD(0/1) LONG_CMDLINE(0/1)
run_testguest() {
	local mem=$1 cpus=$2 use_initrd=$3 long=$4
	local name="testguest $mem/${cpus}cpu" cl args log t0 t1 rc line n m oks
	local base="console=ttyS0 tg.mem=$mem tg.cpus=$cpus"

	[ "$use_initrd" = 1 ] && base="$base tg.initrd_size=$INITRD_SIZE tg.initrd_sum=$INITRD_SUM"
	if [ "$long" = 1 ]; then
		cl=$(padded_to "$base" 2047) # the longest ember takes: 2048 with the NUL
		name="$name+long-cmdline"
	else
		cl=$(with_len "$base")
	fi
	# --no-rng: no virtio device appends its parameter, so the guest can
	# check that the command line arrives exactly as given.
	args=(run --kernel "$TESTGUEST" --memory "$mem" --cpus "$cpus" --no-rng --cmdline "$cl")
	if [ "$use_initrd" = 1 ]; then
		args+=(--initrd "$INITRD")
		name="$name+initrd"
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
	else
		passed=$((passed + 1))
		echo "ok - $name: $n checks (${secs} s)"
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

run_exitguest
i=0
for mem in 128M 3584M 5G; do
	for cpus in 1 2 4; do
		# An initrd in every other run (each size gets both), the longest
		# command line in the last one.
		run_testguest "$mem" "$cpus" $((i % 2)) $((i == 8))
		i=$((i + 1))
	done
done

echo "guest: $passed passed, $failed failed"
[ $failed -eq 0 ]
