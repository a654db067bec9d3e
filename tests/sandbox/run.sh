#!/usr/bin/env bash
# The seccomp sandbox, proven from outside the process (issue 15,
# docs/security.md):
#  - every thread of a running ember (ember run with every device and the
#    API; Firecracker mode after InstanceStart) shows "Seccomp: 2" and
#    "NoNewPrivs: 1" in /proc/PID/task/*/status; --no-seccomp shows 0;
#  - each kind of thread is killed by its filter when it attempts a
#    forbidden call: a test build (build/sectest/ember, -DEMBER_SECCOMP_TEST)
#    reads EMBER_SECCOMP_TEST=KIND:WHAT and makes the first thread of KIND
#    attempt WHAT once its filter is in place. ember must end with status
#    148 and one line naming the call and the thread. The production binary
#    has no such hook (checked too).
# Needs root for the tap device. Prints "sandbox: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."

EMBER=${EMBER:-build/ember}
SECTEST=${SECTEST:-build/sectest/ember}
WAITGUEST=build/tests/guest/waitguest.elf
W=$(mktemp -d /tmp/ember-sandbox.XXXXXX)
TAP=embsb$$
passed=0 failed=0

cleanup() {
	local p
	for p in $(jobs -p); do
		pkill -P "$p" 2>/dev/null
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	ip tuntap del dev "$TAP" mode tap 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

ok() {
	passed=$((passed + 1))
	echo "ok - $1"
}

not_ok() {
	failed=$((failed + 1))
	echo "not ok - $1: $2"
	[ -n "${3:-}" ] && [ -f "$3" ] && sed 's/^/#   /' "$3" | tail -n 15
}

for f in "$EMBER" "$SECTEST" "$WAITGUEST"; do
	if [ ! -e "$f" ]; then
		echo "sandbox: $f is missing (make $f)"
		echo "sandbox: 0 passed, 1 failed"
		exit 1
	fi
done
if ! ip tuntap add dev "$TAP" mode tap 2>/dev/null || ! ip link set "$TAP" up; then
	echo "sandbox: cannot create tap device $TAP (needs root and /dev/net/tun)"
	echo "sandbox: 0 passed, 1 failed"
	exit 1
fi
truncate -s 1M "$W/disk.img"
head -c 3M /dev/zero >"$W/initrd" # kernel + initrd over 2 MiB: the loader thread

# Every device, 2 vCPUs, the API: a thread of each kind that lives with the VM.
all_devices() {
	echo --cpus 2 --memory 64M --disk "$W/disk.img" --net "tap=$TAP" \
		--vsock "cid=3,uds=$W/v.sock" --api-sock "$W/api.sock"
}

# wait_ready LOG PID: the guest printed its ready line (up to 20 s).
wait_ready() {
	local i
	for i in $(seq 200); do
		grep -aq '^waitguest: ready' "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# thread_report PID: "name:seccomp:nnp" per thread, one per line.
thread_report() {
	local t
	for t in /proc/"$1"/task/*; do
		awk -v c="$(tr ' ' _ <"$t/comm" 2>/dev/null)" \
			'/^Seccomp:/ {s = $2} /^NoNewPrivs:/ {n = $2}
			 END {print c ":" s ":" n}' "$t/status" 2>/dev/null
	done
}

# check_threads NAME PID WANT_SECCOMP MIN_THREADS LOG
check_threads() {
	local name=$1 pid=$2 want=$3 min=$4 log=$5 rep bad n
	rep=$(thread_report "$pid")
	n=$(grep -c . <<<"$rep")
	bad=$(awk -F: -v w="$want" '$2 != w || $3 != 1' <<<"$rep" | tr '\n' ' ')
	if [ "$n" -lt "$min" ]; then
		not_ok "$name" "only $n threads, want at least $min: $(tr '\n' ' ' <<<"$rep")" "$log"
	elif [ -n "$bad" ]; then
		not_ok "$name" "threads not at Seccomp $want / NoNewPrivs 1: $bad" "$log"
	else
		ok "$name: $n threads at Seccomp $want, NoNewPrivs 1 ($(cut -d: -f1 <<<"$rep" |
			sort | uniq -c | awk '{printf "%s%s", s, $2 ($1 > 1 ? " x" $1 : ""); s = ", "}'))"
	fi
}

# ---- every thread confined: ember run ----
run_threads() {
	local name=$1 want=$2
	shift 2
	local log=$W/$name.log pid
	rm -f "$W/v.sock" "$W/api.sock"
	: >"$log"
	"$EMBER" run --kernel "$WAITGUEST" $(all_devices) "$@" </dev/null >"$log" 2>&1 &
	pid=$!
	if ! wait_ready "$log" "$pid"; then
		not_ok "$name" "the guest did not get ready" "$log"
	else
		check_threads "$name" "$pid" "$want" 8 "$log"
	fi
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

run_threads run-threads 2
run_threads run-no-seccomp 0 --no-seccomp

# ---- every thread confined: Firecracker mode after InstanceStart ----
fc_threads() {
	local log=$W/fc.log cfg=$W/fc.json pid
	rm -f "$W/v.sock"
	cat >"$cfg" <<EOF
{
  "boot-source": { "kernel_image_path": "$PWD/$WAITGUEST", "boot_args": "console=ttyS0" },
  "machine-config": { "vcpu_count": 2, "mem_size_mib": 64 },
  "drives": [ { "drive_id": "d0", "path_on_host": "$W/disk.img",
                "is_root_device": false, "is_read_only": false } ],
  "network-interfaces": [ { "iface_id": "n0", "host_dev_name": "$TAP" } ],
  "vsock": { "guest_cid": 3, "uds_path": "$W/v.sock" },
  "entropy": {}
}
EOF
	: >"$log"
	"$(dirname "$EMBER")/firecracker" --no-api --config-file "$cfg" </dev/null >"$log" 2>&1 &
	pid=$!
	if ! wait_ready "$log" "$pid"; then
		not_ok fc-threads "the guest did not get ready" "$log"
	else
		check_threads fc-threads "$pid" 2 7 "$log"
	fi
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}
fc_threads

# ---- each kind's filter kills a forbidden call ----
# kill_case KIND WHAT SYSCALL [ember run options...]
kill_case() {
	local kind=$1 what=$2 sys=$3 log rc line
	shift 3
	log=$W/kill-$kind-$what.log
	rm -f "$W/v.sock" "$W/api.sock"
	EMBER_SECCOMP_TEST=$kind:$what timeout 30 "$SECTEST" run --kernel "$WAITGUEST" \
		--memory 64M "$@" </dev/null >"$log.out" 2>"$log"
	rc=$?
	line=$(grep -ao 'ember: seccomp: .*' "$log" | head -n 1)
	if [ "$rc" != 148 ]; then
		not_ok "kill $kind $what" "exit status $rc, not 148" "$log"
	elif [[ "$line" != "ember: seccomp: the $kind thread made a forbidden system call: $sys ("* ]]; then
		not_ok "kill $kind $what" "report line: '$line'" "$log"
	else
		ok "kill $kind $what: status 148, '${line#ember: seccomp: }'"
	fi
}

kill_case vcpu0 execve execve
kill_case vcpu0 openat openat
kill_case vcpu0 mmap-exec mmap
kill_case vcpu0 mprotect-exec mprotect
kill_case vcpu0 ioctl ioctl
kill_case vcpu0 socket-inet socket
kill_case vcpu execve execve --cpus 2
kill_case vcpu openat openat --cpus 2
kill_case vcpu ioctl ioctl --cpus 2
kill_case loader execve execve --initrd "$W/initrd"
kill_case console-out execve execve
kill_case virtio-blk execve execve --disk "$W/disk.img"
kill_case virtio-blk openat openat --disk "$W/disk.img"
kill_case virtio-blk ioctl ioctl --disk "$W/disk.img"
kill_case virtio-net execve execve --net "tap=$TAP"
kill_case virtio-net socket-inet socket --net "tap=$TAP"
kill_case virtio-rng execve execve --rng
kill_case virtio-rng openat openat --rng
kill_case virtio-console execve execve --console virtio
kill_case virtio-vsock execve execve --vsock "cid=3,uds=$W/v.sock"
kill_case virtio-vsock socket-inet socket --vsock "cid=3,uds=$W/v.sock"
kill_case virtio-vsock mmap-exec mmap --vsock "cid=3,uds=$W/v.sock"
kill_case control execve execve --api-sock "$W/api.sock"
kill_case control mmap-exec mmap --api-sock "$W/api.sock"
kill_case control socket-inet socket --api-sock "$W/api.sock"

# Firecracker mode: its main thread becomes the control thread at InstanceStart.
fc_kill() {
	local log=$W/fc-kill.log cfg=$W/fc-kill.json rc line
	printf '{"boot-source": {"kernel_image_path": "%s"}, "drives": [], "machine-config": {"vcpu_count": 1, "mem_size_mib": 64}}\n' \
		"$PWD/$WAITGUEST" >"$cfg"
	ln -sf ember "$(dirname "$SECTEST")/firecracker"
	EMBER_SECCOMP_TEST=control:execve timeout 30 "$(dirname "$SECTEST")/firecracker" --no-api \
		--config-file "$cfg" </dev/null >"$log.out" 2>"$log"
	rc=$?
	line=$(grep -ao 'ember: seccomp: .*' "$log" | head -n 1)
	if [ "$rc" = 148 ] && [[ "$line" == "ember: seccomp: the control thread made a forbidden system call: execve ("* ]]; then
		ok "kill control execve (Firecracker mode): status 148"
	else
		not_ok "kill control execve (Firecracker mode)" "status $rc, line '$line'" "$log"
	fi
}
fc_kill

# The console input thread reads a terminal: under a pty.
pty_kill() {
	local log=$W/kill-console-in.log rc line
	EMBER_SECCOMP_TEST=console-in:execve timeout 30 python3 -c '
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b""
while True:
    try:
        b = os.read(fd, 4096)
    except OSError:
        break
    if not b:
        break
    out += b
sys.stdout.buffer.write(out)
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st))
' "$SECTEST" run --kernel "$WAITGUEST" --memory 64M >"$log" 2>&1
	rc=$?
	line=$(grep -ao 'ember: seccomp: .*' "$log" | tr -d '\r' | head -n 1)
	if [ "$rc" = 148 ] && [[ "$line" == "ember: seccomp: the console-in thread made a forbidden system call: execve ("* ]]; then
		ok "kill console-in execve (under a pty): status 148"
	else
		not_ok "kill console-in execve (under a pty)" "status $rc, line '$line'" "$log"
	fi
}
pty_kill

# The production binary has no hook: the variable changes nothing.
prod_no_hook() {
	local log=$W/prod.log pid
	: >"$log"
	EMBER_SECCOMP_TEST=vcpu0:execve "$EMBER" run --kernel "$WAITGUEST" --memory 64M \
		</dev/null >"$log" 2>&1 &
	pid=$!
	if wait_ready "$log" "$pid" && kill -0 "$pid" 2>/dev/null &&
		! grep -aq 'seccomp' "$log" && ! grep -aq 'EMBER_SECCOMP_TEST' "$EMBER"; then
		ok "production binary: no test hook (EMBER_SECCOMP_TEST ignored, not in the binary)"
	else
		not_ok "production binary" "the test hook is present or the run failed" "$log"
	fi
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}
prod_no_hook

echo "sandbox: $passed passed, $failed failed"
[ "$failed" = 0 ]
