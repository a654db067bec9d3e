# Lab cases, sourced by tests/lab/l1-init.sh inside L1 (busybox sh, real /dev/kvm).
# Each case_NAME runs in a subshell with its own directory $D; `fail REASON`
# ends it. Output lines: "ok - NAME" or "FAIL - NAME: reason", plus "# ..." notes.

LAB_CASES="qemu-microvm boot-cpus-1 boot-cpus-2 initrd-module0 no-initrd cmdline-exact
memory-256M memory-5G console-input console-eof reboot-exits-0 triple-fault-exits-0 boot-trace"

EMBER=/lab/ember
GK=/lab/vmlinux
GI=/lab/initramfs.cpio.gz
T=120 # seconds per guest run
# ember's default command line; cases that pass --cmdline start from it.
BASE="console=ttyS0 reboot=k panic=-1 pci=off i8042.noaux i8042.nomux i8042.dumbkbd 8250.nr_uarts=1"

fail() {
	echo "$*"
	exit 1
}

# ember_run ARGS...: boot the guest kernel; console in $D/console (CR removed),
# stderr in $D/err, exit status in $rc. stdin is the case's: /dev/null (see
# run_case) unless redirected.
ember_run() {
	rc=0
	timeout -s KILL $T "$EMBER" run --kernel "$GK" "$@" >"$D/out" 2>"$D/err" || rc=$?
	tr -d '\r' <"$D/out" >"$D/console"
}

# expect_exit0: ember must have exited 0 (guest reboot or triple fault).
expect_exit0() {
	case $rc in
	0) ;;
	137) fail "ember still running after $T s (killed by timeout)" ;;
	*) fail "ember exited $rc: $(grep -m1 '^ember:' "$D/err" || tail -n1 "$D/err")" ;;
	esac
}

has_line() { grep -Fqx -- "$1" "$D/console"; }
expect_line() { has_line "$1" || fail "guest did not print '$1'"; }

# --- the cases ---------------------------------------------------------------

# QEMU microvm boots the same guest kernel and initramfs: proves the lab (real
# /dev/kvm in L1) and the guest artifacts work without ember. reboot=t: microvm
# has no i8042, so the guest's reboot ends in a triple fault (QEMU exits).
case_qemu_microvm() {
	rc=0
	timeout -s KILL $T qemu-system-x86_64 \
		-M microvm,x-option-roms=off,rtc=off,pit=off,pic=off,isa-serial=on \
		-enable-kvm -cpu host -smp 2 -m 256M -kernel "$GK" -initrd "$GI" \
		-append "console=ttyS0 reboot=t panic=-1 quiet ember.cmd=\"echo cpus=\$(grep -c ^processor /proc/cpuinfo)\"" \
		-nodefaults -no-user-config -nographic -serial stdio -no-reboot \
		</dev/null >"$D/out" 2>"$D/err" || rc=$?
	tr -d '\r' <"$D/out" >"$D/console"
	[ $rc != 137 ] || fail "qemu still running after $T s (killed by timeout)"
	[ $rc = 0 ] || fail "qemu exited $rc: $(tail -n1 "$D/err")"
	expect_line "cpus=2"
	expect_line "ember-init: exit status 0"
}

boot_cpus() {
	ember_run --initrd "$GI" --cpus "$1" \
		--cmdline "$BASE quiet ember.cmd=\"echo cpus=\$(grep -c ^processor /proc/cpuinfo)\""
	expect_exit0
	expect_line "ember-init: exit status 0"
	expect_line "cpus=$1"
}
case_boot_cpus_1() { boot_cpus 1; }
case_boot_cpus_2() { boot_cpus 2; }

# The initramfs is PVH module 0: its /init must be PID 1.
case_initrd_module0() {
	ember_run --initrd "$GI" --cmdline "$BASE quiet ember.cmd=\"echo pid1=\$(cat /proc/1/comm)\""
	expect_exit0
	expect_line "pid1=init"
}

# Without an initrd the kernel finds no init and panics; panic=-1 reboots.
case_no_initrd() {
	ember_run
	expect_exit0
	grep -Eq 'VFS: Unable to mount root fs|No working init found' "$D/console" ||
		fail "no 'VFS: Unable to mount root fs' / 'No working init found' panic on the console"
}

# The command line reaches the guest byte for byte: punctuation, a double
# space, and ~2000 bytes in all (Linux keeps 2047 plus the NUL).
case_cmdline_exact() {
	pad=$(printf '%01750d' 0)
	want="$BASE quiet ember.cmd=\"cat /proc/cmdline\"  lab.chars=!#\$%&'()*+,-./:;<=>?@[\\]^_\`{|}~ lab.pad=$pad"
	# --no-rng: ember appends each virtio device's virtio_mmio.device=
	# parameter after the user's line; with no device there is none.
	ember_run --initrd "$GI" --no-rng --cmdline "$want"
	expect_exit0
	printf '%s\n' "$want" >"$D/want"
	grep -m1 '^console=ttyS0 ' "$D/console" >"$D/got" || fail "guest printed no command line"
	cmp -s "$D/want" "$D/got" && return
	got=$(cat "$D/got")
	case $got in
	"$want"*) fail "/proc/cmdline is --cmdline plus '${got#"$want"}' (${#want} + $((${#got} - ${#want})) bytes)" ;;
	*) fail "/proc/cmdline differs from --cmdline: $(cmp "$D/want" "$D/got" 2>&1 | sed 's/.* differ: //'), want ${#want} bytes, got ${#got}" ;;
	esac
}

# MemTotal for --memory SIZE must lie in [SIZE - SIZE/32 - 32 MiB, SIZE]: the
# kernel keeps its image, the struct page array (1/64 of RAM), the legacy hole
# and early reservations out of MemTotal. For 5G the lower bound is above
# 4 GiB, so RAM above the 3-4 GiB MMIO window must be in use.
memory() {
	ember_run --initrd "$GI" --memory "$1" --cmdline "$BASE quiet ember.cmd=\"grep MemTotal /proc/meminfo\""
	expect_exit0
	kb=$(sed -n 's/^MemTotal: *\([0-9]*\) kB$/\1/p' "$D/console")
	[ -n "$kb" ] || fail "guest printed no MemTotal"
	lo=$(($2 - $2 / 32 - 32768))
	echo "# memory-$1: MemTotal $kb kB, allowed [$lo, $2] kB"
	[ "$kb" -ge $lo ] && [ "$kb" -le "$2" ] || fail "MemTotal $kb kB outside [$lo, $2] kB"
}
case_memory_256M() { memory 256M $((256 * 1024)); }
case_memory_5G() { memory 5G $((5 * 1024 * 1024)); }

# A line on ember's stdin (a pipe) reaches the interactive guest shell.
case_console_input() {
	mkfifo "$D/in"
	timeout -s KILL $T "$EMBER" run --kernel "$GK" --initrd "$GI" <"$D/in" >"$D/out" 2>"$D/err" &
	pid=$!
	exec 3>"$D/in"
	wait_for() { # wait_for STRING SECONDS
		i=0
		until tr -d '\r' <"$D/out" | grep -Fq -- "$1"; do
			i=$((i + 1))
			[ $i -le $(($2 * 10)) ] || return 1
			sleep 0.1
		done
	}
	stop() { exec 3>&-; kill $pid 2>/dev/null; tr -d '\r' <"$D/out" >"$D/console"; }
	wait_for "ember# " 60 || { stop; fail "no shell prompt 'ember# ' within 60 s"; }
	echo 'echo hello-$((6*7))' >&3
	wait_for "hello-42" 30 || { stop; fail "shell did not answer hello-42"; }
	echo exit >&3
	exec 3>&-
	rc=0
	wait $pid || rc=$?
	tr -d '\r' <"$D/out" >"$D/console"
	expect_exit0
	expect_line "ember-init: exit status 0"
}

# stdin at end of file (/dev/null): ember sends ^D, the guest gets no shell
# (or the shell exits), the guest reboots and ember exits 0, as `make demo
# </dev/null` needs. (It was out of the default set, hanging at the shell
# prompt: the cases' stdin was L1's console, a terminal that never ends, so
# ember put it in raw mode and sent no ^D. run_case now gives every case
# /dev/null, and this case checks that its stdin is no terminal.)
case_console_eof() {
	[ ! -t 0 ] || fail "the case's stdin is a terminal, not /dev/null"
	ember_run --initrd "$GI"
	expect_exit0
	expect_line "ember-init: exit status 0"
}

# The guest's reboot (0xFE to port 0x64, reboot=k) ends ember with status 0,
# whatever the guest command returned.
case_reboot_exits_0() {
	ember_run --initrd "$GI" --cmdline "$BASE quiet ember.cmd=\"exit 3\""
	expect_line "ember-init: exit status 3"
	expect_exit0
}

# reboot=t makes the guest triple-fault: ember exits 0 too.
case_triple_fault_exits_0() {
	ember_run --initrd "$GI" --cmdline "console=ttyS0 reboot=t panic=-1 quiet ember.cmd=true"
	expect_line "ember-init: exit status 0"
	expect_exit0
}

# --boot-trace reports the boot marker written by the guest's init.
case_boot_trace() {
	ember_run --initrd "$GI" --boot-trace --cmdline "$BASE quiet ember.cmd=true"
	expect_exit0
	sed -n 's/^ember: boot-trace: /# boot-trace: /p' "$D/err"
	grep -Eq '^ember: boot-trace: .*boot marker' "$D/err" || fail "no 'boot marker' event in --boot-trace output"
}

# show_output N: the last N lines of the case's guest console and stderr.
show_output() {
	for f in console err; do
		[ -s "$D/$f" ] || continue
		echo "#   last lines of $f:"
		tail -n "$1" "$D/$f" | sed 's/^/#     /'
	done
}

# run_case NAME: run one case, print its result line.
run_case() {
	echo "lab: case $1" # for run.sh: which case L1 died in, if it does
	D=/tmp/case/$1
	mkdir -p "$D"
	fn=case_$(echo "$1" | tr - _)
	t0=$(cut -d' ' -f1 /proc/uptime)
	if ! type "$fn" >/dev/null 2>&1; then
		echo "FAIL - $1: no such case (cases: $(echo $LAB_CASES))"
		return
	fi
	# stdin /dev/null: L1's own console (init's stdin) is a terminal that
	# never ends, and ember would take it for a user's.
	if (set -u; "$fn") </dev/null >"$D/log" 2>&1; then
		grep '^# ' "$D/log"
		echo "ok - $1"
		[ -z "$LAB_VERBOSE" ] || show_output $LAB_VERBOSE
	else
		grep '^# ' "$D/log"
		echo "FAIL - $1: $(grep -v '^# ' "$D/log" | tail -n1)"
		show_output 15
	fi
	t1=$(cut -d' ' -f1 /proc/uptime)
	echo "# $1 took $(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}') s"
}
