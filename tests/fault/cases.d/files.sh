# SPDX-License-Identifier: MIT
# Input files that are not regular files: a FIFO, a socket, a character
# device, a directory, a file that is gone. Each is refused with one line
# and never blocks ember in open(): a FIFO without a writer would block a
# plain O_RDONLY open for ever (the `expect` limit is 20 s). Also the
# Firecracker front end's paths, checked at PUT time and opened again at
# InstanceStart (a path that became a FIFO in between), and the outputs it
# opens on purpose as FIFOs (logger, metrics, serial) with no reader.

mkfifo "$tmp/fifo"
mkdir "$tmp/dir"
truncate -s 1M "$tmp/f.img"
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$tmp/sock"

for p in fifo sock dir; do
	expect "kernel $p" 1 "kernel $tmp/$p: not a regular file" -- run --kernel "$tmp/$p"
	expect "initrd $p" 1 "initrd $tmp/$p: not a regular file" -- \
		run --kernel "$EXITGUEST" --initrd "$tmp/$p"
	expect "disk $p,ro" 1 "--disk $tmp/$p: not a regular file or block device" -- \
		run --kernel "$EXITGUEST" --disk "$tmp/$p,ro"
	expect "disk $p" 1 "--disk $tmp/$p: not a regular file or block device" -- \
		run --kernel "$EXITGUEST" --disk "$tmp/$p"
	expect "inspect $p" 1 "kernel $tmp/$p: not a regular file" -- inspect "$tmp/$p"
done
for d in /dev/zero /dev/null /dev/tty; do
	[ -e "$d" ] || continue
	expect "kernel $d" 1 "kernel $d: not a regular file" -- run --kernel "$d"
	expect "initrd $d" 1 "initrd $d: not a regular file" -- run --kernel "$EXITGUEST" --initrd "$d"
	expect "disk $d" 1 "--disk $d: not a regular file or block device" -- \
		run --kernel "$EXITGUEST" --disk "$d,ro"
done
expect "kernel gone" 1 "kernel $tmp/gone: No such file or directory" -- run --kernel "$tmp/gone"
expect "disk gone" 1 "--disk $tmp/gone: No such file or directory" -- \
	run --kernel "$EXITGUEST" --disk "$tmp/gone"
timeout 20 "$EMBER" run --kernel "$EXITGUEST" --disk "$tmp/f.img" --initrd "$tmp/f.img" \
	>"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
[ "$rc" = 0 ] && ok "regular files still fine: exit 0" ||
	bad "regular files still fine: exit $rc $(head -c 300 "$tmp/err")"

# --- the Firecracker front end ------------------------------------------------

# fcexpect NAME SUBSTRING -- firecracker-args: exit 1 and a last stderr line
# "ember: ...SUBSTRING..." (the front end may log before it).
fcexpect() {
	local name=$1 sub=$2 rc last
	shift 3
	timeout 20 "$EMBER" firecracker "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	last=$(tail -n 1 "$tmp/err")
	if [ "$rc" = 1 ] && [[ $last == "ember: "*"$sub"* ]]; then
		ok "$name: $last"
	else
		bad "$name: exit $rc, last line '$last'"
	fi
}
fccfg() { # fccfg KERNEL DRIVE RO [MORE-JSON] > file
	printf '{"boot-source": {"kernel_image_path": "%s"}, %s"drives": [%s]}' "$1" "${4:+$4, }" \
		"${2:+{\"drive_id\": \"d\", \"path_on_host\": \"$2\", \"is_root_device\": false, \"is_read_only\": $3\}}"
}
fccfg "$tmp/fifo" >"$tmp/k.json"
fcexpect "fc config: FIFO kernel" "not a regular file" -- --no-api --config-file "$tmp/k.json"
fccfg "$EXITGUEST" "$tmp/fifo" true >"$tmp/d.json"
fcexpect "fc config: FIFO drive" "not a regular file or block device" -- \
	--no-api --config-file "$tmp/d.json"
fccfg /dev/zero >"$tmp/z.json"
fcexpect "fc config: /dev/zero kernel" "not a regular file" -- --no-api --config-file "$tmp/z.json"

for p in "$tmp/fifo" "$tmp/sock" "$tmp/dir" /dev/zero; do
	fcexpect "fc: config file $p" "--config-file $p: not a regular file" -- --no-api --config-file "$p"
done

# The API: a path checked at PUT and replaced by a FIFO before InstanceStart
# must fail the start, not hang it.
fc_start() {
	sock=$tmp/fc.sock
	rm -f "$sock"
	"$EMBER" firecracker --api-sock "$sock" "$@" >"$tmp/fc.out" 2>"$tmp/fc.err" </dev/null &
	fcpid=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
}
# fc_stop: SIGTERM must end it within 5 s (a thread stuck in open() on a
# FIFO would not); then SIGKILL, so the suite goes on.
fc_stop() {
	kill "$fcpid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$fcpid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$fcpid" 2>/dev/null; then
		bad "firecracker front end still running 5 s after SIGTERM"
		kill -9 "$fcpid"
	fi
	wait "$fcpid" 2>/dev/null
}
# api METHOD PATH [BODY]: prints the status; the body lands in $tmp/api.body.
api() {
	curl -s -m 10 --unix-socket "$sock" -X "$1" "http://localhost$2" \
		-H 'Content-Type: application/json' ${3:+-d "$3"} -o "$tmp/api.body" -w '%{http_code}'
}
# apiwant NAME STATUS SUBSTRING METHOD PATH [BODY]
apiwant() {
	local name=$1 want=$2 sub=$3 got
	shift 3
	got=$(api "$@")
	if [ "$got" = "$want" ] && { [ -z "$sub" ] || grep -qF -- "$sub" "$tmp/api.body"; }; then
		ok "$name: $got $(head -c 200 "$tmp/api.body")"
	else
		bad "$name: got '$got' $(head -c 300 "$tmp/api.body"), want $want with '$sub'"
	fi
}

cp "$EXITGUEST" "$tmp/k.elf"
fc_start
apiwant "api: kernel PUT" 204 "" PUT /boot-source "{\"kernel_image_path\": \"$tmp/k.elf\"}"
rm "$tmp/k.elf" && mkfifo "$tmp/k.elf"
apiwant "api: kernel now a FIFO at InstanceStart" 400 "not a regular file" \
	PUT /actions '{"action_type": "InstanceStart"}'
fc_stop
rm -f "$tmp/k.elf"

cp "$tmp/f.img" "$tmp/d.img"
fc_start
api PUT /boot-source "{\"kernel_image_path\": \"$EXITGUEST\"}" >/dev/null
apiwant "api: read-only drive PUT" 204 "" PUT /drives/d \
	"{\"drive_id\": \"d\", \"path_on_host\": \"$tmp/d.img\", \"is_root_device\": false, \"is_read_only\": true}"
rm "$tmp/d.img" && mkfifo "$tmp/d.img"
apiwant "api: drive now a FIFO at InstanceStart" 400 "not a regular file or block device" \
	PUT /actions '{"action_type": "InstanceStart"}'
fc_stop
rm -f "$tmp/d.img"

# PATCH /drives to a FIFO while the guest runs: refused, the guest runs on.
fc_start
api PUT /boot-source "{\"kernel_image_path\": \"$WAITGUEST\"}" >/dev/null
api PUT /drives/d "{\"drive_id\": \"d\", \"path_on_host\": \"$tmp/f.img\", \"is_root_device\": false, \"is_read_only\": true}" >/dev/null
apiwant "api: start waitguest" 204 "" PUT /actions '{"action_type": "InstanceStart"}'
apiwant "api: PATCH drive to a FIFO" 400 "not a regular file or block device" \
	PATCH /drives/d "{\"drive_id\": \"d\", \"path_on_host\": \"$tmp/fifo\"}"
apiwant "api: still running after the refused PATCH" 200 "Running" GET /
fc_stop

# Outputs that Firecracker opens as FIFOs on purpose: with no reader, ember
# neither blocks in open() (read-write, non-blocking) nor later (what the
# pipe cannot take is dropped and counted).
mkfifo "$tmp/log.fifo" "$tmp/metrics.fifo" "$tmp/serial.fifo"
fccfg "$EXITGUEST" "" "" "\"metrics\": {\"metrics_path\": \"$tmp/metrics.fifo\"}" >"$tmp/ok.json"
timeout 20 "$EMBER" firecracker --no-api --config-file "$tmp/ok.json" --level Debug \
	--log-path "$tmp/log.fifo" >"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
[ "$rc" = 0 ] && ok "log and metrics FIFOs without a reader: exit 0" ||
	bad "log and metrics FIFOs without a reader: exit $rc $(head -c 300 "$tmp/err")"
fc_start
api PUT /boot-source "{\"kernel_image_path\": \"$EXITGUEST\"}" >/dev/null
apiwant "api: serial_out_path FIFO" 204 "" PUT /serial "{\"serial_out_path\": \"$tmp/serial.fifo\"}"
apiwant "api: start with the serial FIFO unread" 204 "" PUT /actions '{"action_type": "InstanceStart"}'
for _ in $(seq 100); do kill -0 "$fcpid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$fcpid" 2>/dev/null; then
	bad "serial FIFO without a reader: ember still running after 10 s"
else
	wait "$fcpid"
	rc=$?
	[ "$rc" = 0 ] && ok "serial FIFO without a reader: the guest ran and ember exited 0" ||
		bad "serial FIFO without a reader: exit $rc $(tail -c 300 "$tmp/fc.err")"
fi
fc_stop

# A terminal as log, metrics or serial output: an ember without a
# controlling terminal (a session leader, as under a jailer or a service
# manager) must not acquire it (O_NOCTTY), or the terminal's hangup would
# send it SIGHUP and stop the VM. /proc/PID/stat's tty_nr tells.
cat >"$tmp/ctty.py" <<'PY'
import json, os, subprocess, sys, time
ember, tmp, mode = sys.argv[1], sys.argv[2], sys.argv[3]
m, s = os.openpty()
tty = os.ttyname(s)
os.close(s)
sock = os.path.join(tmp, "ctty.sock")
if mode == "api":
    args = [ember, "firecracker", "--api-sock", sock]
else:
    with open(os.path.join(tmp, "ctty.json"), "w") as f:
        json.dump({"boot-source": {"kernel_image_path": sys.argv[4]}, "drives": [],
                   "metrics": {"metrics_path": tty}}, f)
    args = [ember, "firecracker", "--no-api", "--config-file", f.name, "--log-path", tty]
p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)
def api(method, path, body):
    subprocess.run(["curl", "-s", "-m", "5", "--unix-socket", sock, "-X", method,
                    "http://localhost" + path, "-H", "Content-Type: application/json",
                    "-d", json.dumps(body)], stdout=subprocess.DEVNULL)
if mode == "api":
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    api("PUT", "/boot-source", {"kernel_image_path": sys.argv[4]})
    api("PUT", "/serial", {"serial_out_path": tty})
    api("PUT", "/actions", {"action_type": "InstanceStart"})
time.sleep(1)
try:
    with open(f"/proc/{p.pid}/stat") as f:
        print("tty_nr", f.read().rsplit(")", 1)[1].split()[4])
except OSError:
    print("tty_nr gone")
p.terminate()
p.wait()
PY
for mode in log api; do
	got=$(python3 "$tmp/ctty.py" "$EMBER" "$tmp" "$mode" "$WAITGUEST")
	[ "$got" = "tty_nr 0" ] && ok "a terminal as $mode output: not taken as controlling terminal" ||
		bad "a terminal as $mode output: ember's $got"
done
