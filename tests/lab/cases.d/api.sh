# Firecracker API cases (sourced in L1 after cases.sh): ember started as
# /lab/firecracker (a symlink to ember, api.host.sh) serves Firecracker's
# REST API on a Unix socket, and L1 drives real Linux through it with
# /lab/fcreq (tests/lab/fcreq.c: one HTTP/1.1 request per call). These cases
# also use uds-echo (vsock.host.sh), the TAP helpers of net.sh and the images
# of blk.host.sh.
LAB_CASES="$LAB_CASES api-boot-devices api-pause-transfer api-drive-swap api-rate-limit api-ctrl-alt-del"

FC=/lab/firecracker
FCREQ=/lab/fcreq

# api_json STRING: STRING with \ and " escaped, for inside a JSON string.
api_json() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }

# api_boot_source KERNEL CMD [INITRD]: the body of PUT /boot-source. The
# boot arguments are ember's defaults (Firecracker's own have no serial
# console) with ember.cmd="CMD" (CMD without double quotes).
api_boot_source() {
	printf '{"kernel_image_path": "%s", %s"boot_args": "%s"}' "$1" \
		"${3:+\"initrd_path\": \"$3\", }" "$(api_json "$BASE quiet ember.cmd=\"$2\"")"
}

# api_start [STDIN]: start ember as firecracker with its API socket at
# $D/api.sock (stdin from STDIN, default /dev/null); console in $D/out, the
# log in $D/err. The case's exit kills it if it still runs.
api_start() {
	sock=$D/api.sock
	: >"$D/api.log"
	timeout -s KILL $T "$FC" --api-sock "$sock" --id lab-api <"${1:-/dev/null}" >"$D/out" 2>"$D/err" &
	pid=$!
	trap 'kill -9 $pid 2>/dev/null; tr -d "\r" <"$D/out" >"$D/console"' EXIT
	i=0
	until [ -S "$sock" ]; do
		i=$((i + 1))
		kill -0 $pid 2>/dev/null || fail "ember exited before it made $sock: $(tail -n1 "$D/err")"
		[ $i -le 100 ] || fail "no API socket $sock after 10 s"
		sleep 0.1
	done
}

# api METHOD PATH [BODY]: one request; the status and body are in $resp
# (and in $D/api.log). Returns fcreq's status: 0 for a 2xx answer.
api() {
	arc=0
	resp=$("$FCREQ" "$sock" "$@" 2>&1) || arc=$?
	printf '> %s %s %s\n%s\n' "$1" "$2" "${3:-}" "$resp" >>"$D/api.log"
	return $arc
}

# api_ok METHOD PATH [BODY]: a request that must succeed.
api_ok() { api "$@" || fail "$1 $2: $(echo $resp)"; }

# api_state WANT: GET / must report state WANT.
api_state() {
	api_ok GET /
	case $resp in
	*"\"state\":\"$1\""*) ;;
	*) fail "GET / while $1: $(echo $resp)" ;;
	esac
}

# api_wait STRING SECONDS: wait for STRING on the guest console while ember runs.
api_wait() {
	i=0
	until tr -d '\r' <"$D/out" | grep -q -- "$1"; do
		kill -0 $pid 2>/dev/null || fail "ember exited before the guest printed '$1'"
		i=$((i + 1))
		[ $i -le $(($2 * 10)) ] || fail "guest did not print '$1' within $2 s"
		sleep 0.1
	done
}

# api_end: wait for ember to exit; the console is in $D/console, the status
# in $rc (expect_exit0 checks it).
api_end() {
	rc=0
	wait $pid || rc=$?
	trap - EXIT
	tr -d '\r' <"$D/out" >"$D/console"
}

# Configure a VM with everything through the API (2 vCPUs, 256 MiB, a
# read-only root drive, a data drive, a TAP, vsock and entropy), start it,
# and let the guest use every device: the root drive is /dev/vda with
# root=/dev/vda ro on the command line, the data drive's bytes arrive
# intact and a write reaches the image, the guest pings L1, sends 1 MiB
# through vsock to L1's uds-echo and back, and reads /dev/hwrng. While it
# runs, GET / says Running and pre-boot calls are refused; when the guest
# reboots, ember exits 0 and removes its API and vsock sockets.
case_api_boot_devices() {
	net_tap
	head -c 2097152 /dev/urandom >"$D/data.img"
	want=$(sha256sum <"$D/data.img" | cut -d' ' -f1)
	/lab/uds-echo listen "$D/v.sock_5000" >"$D/host" 2>&1 &
	hpid=$!
	cmd="echo cpus=\$(grep -c ^processor /proc/cpuinfo) \$(grep MemTotal /proc/meminfo | tr -s ' '); \
echo root-arg=\$(grep -o 'root=/dev/vda r[ow]' /proc/cmdline) vda-ro=\$(cat /sys/block/vda/ro); \
mkdir -p /mnt && mount -t ext4 -o ro /dev/vda /mnt && echo rootfs-init=\$(ls /mnt/init) && umount /mnt; \
echo data-sha=\$(dd if=/dev/vdb bs=64k iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1); \
echo written-through-api | dd of=/dev/vdb bs=512 seek=2048 conv=sync oflag=direct 2>/dev/null; \
cat /sys/class/net/eth0/address; $NET_UP && timeout 10 ping -c 1 $NET_HOST; \
vsock-echo connect 2 5000 1048576; \
echo rng=\$(cat /sys/class/misc/hw_random/rng_current) rng-bytes=\$(dd if=/dev/hwrng bs=512 count=8 2>/dev/null | wc -c)"
	api_start
	api_state "Not started"
	api_ok PUT /boot-source "$(api_boot_source "$GK" "$cmd" "$GI")"
	api_ok PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 256}'
	api_ok PUT /drives/rootfs '{"drive_id": "rootfs", "path_on_host": "/lab/rootfs.ext4",
		"is_root_device": true, "is_read_only": true}'
	api_ok PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$D/data.img\",
		\"is_root_device\": false, \"is_read_only\": false}"
	api_ok PUT /network-interfaces/eth0 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\",
		\"guest_mac\": \"$NET_MAC\"}"
	api_ok PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$D/v.sock\"}"
	api_ok PUT /entropy '{}'
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	api_state Running
	api_ok GET /machine-config
	case $resp in *'"vcpu_count":2,"mem_size_mib":256'*) ;; *) fail "GET /machine-config: $(echo $resp)" ;; esac
	api PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128}' &&
		fail "PUT /machine-config after the start was accepted"
	case $resp in 400*"not supported after starting"*) ;; *) fail "PUT /machine-config after the start: $(echo $resp)" ;; esac
	api_end
	kill $hpid 2>/dev/null # still there only if no connection came
	wait $hpid 2>/dev/null
	expect_exit0
	expect_line "ember-init: exit status 0"
	kb=$(sed -n 's/^cpus=2 MemTotal: \([0-9]*\) kB$/\1/p' "$D/console")
	[ -n "$kb" ] || fail "guest printed no 'cpus=2 MemTotal: ...' line: $(grep '^cpus=' "$D/console")"
	[ "$kb" -ge $((262144 - 262144 / 32 - 32768)) ] && [ "$kb" -le 262144 ] ||
		fail "MemTotal $kb kB is not that of 256 MiB"
	expect_line "root-arg=root=/dev/vda ro vda-ro=1"
	expect_line "rootfs-init=/mnt/init"
	expect_line "data-sha=$want"
	[ "$(dd if="$D/data.img" bs=512 skip=2048 count=1 2>/dev/null | head -n1)" = written-through-api ] ||
		fail "the guest's write is not in the data image"
	expect_line "$NET_MAC"
	grep -q '^1 packets transmitted, 1 packets received' "$D/console" ||
		fail "guest -> L1 ping: $(grep 'packets transmitted' "$D/console")"
	expect_line "vsock-echo: ok 1048576 bytes"
	grep -q '^uds-echo: echoed 1048576 bytes$' "$D/host" || fail "uds-echo: $(tail -n1 "$D/host")"
	grep -q '^rng=virtio_rng.* rng-bytes=4096$' "$D/console" || fail "entropy: $(grep '^rng=' "$D/console")"
	[ ! -e "$sock" ] || fail "ember left its API socket $sock behind"
	[ ! -e "$D/v.sock" ] || fail "ember left its vsock socket $D/v.sock behind"
}

# api_progress: the bytes uds-echo has received back so far (its last
# "uds-echo: received N" line), 0 before the first.
api_progress() {
	n=$(sed -n 's/^uds-echo: received //p' "$D/host" | tail -n1)
	echo "${n:-0}"
}

# PATCH /vm pauses and resumes a guest in the middle of a vsock transfer:
# L1 sends API_PAUSE_BYTES to the guest, which echoes them back, and
# uds-echo checks every byte. Once the echo is flowing, L1 pauses the VM:
# GET / says Paused, and after the data already in flight has settled
# (half a second) no echoed byte arrives for two seconds. After the
# resume GET / says Running again and the transfer completes intact.
API_PAUSE_BYTES=16777216
API_PAUSE_STEP=262144
case_api_pause_transfer() {
	api_start
	api_ok PUT /boot-source "$(api_boot_source "$GK" "vsock-echo listen 1234" "$GI")"
	api_ok PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 256}'
	api_ok PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$D/v.sock\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	/lab/uds-echo connect "$D/v.sock" 1234 $API_PAUSE_BYTES $API_PAUSE_STEP >"$D/host" 2>&1 &
	hpid=$!
	i=0
	until [ "$(api_progress)" -gt 0 ]; do
		kill -0 $hpid 2>/dev/null || fail "uds-echo ended before any echo: $(tail -n1 "$D/host")"
		i=$((i + 1))
		[ $i -le 600 ] || fail "no echo from the guest within 60 s"
		sleep 0.05
	done
	api_ok PATCH /vm '{"state": "Paused"}'
	at_pause=$(api_progress)
	api_state Paused
	sleep 0.5
	p1=$(api_progress)
	sleep 2
	p2=$(api_progress)
	api_state Paused
	api_ok PATCH /vm '{"state": "Resumed"}'
	api_state Running
	echo "# echoed bytes: $at_pause at the pause, $p1 0.5 s later, $p2 2 s after that (of $API_PAUSE_BYTES)"
	[ "$p1" -lt $API_PAUSE_BYTES ] || fail "the transfer ended before the pause took hold"
	[ "$p1" = "$p2" ] || fail "the echo moved from $p1 to $p2 bytes while the VM was paused"
	hrc=0
	wait $hpid || hrc=$?
	api_end
	sed 's/^/# host: /' "$D/host" | grep -v received
	expect_exit0
	[ $hrc = 0 ] || fail "host end failed ($hrc): $(tail -n1 "$D/host")"
	grep -Eq "^uds-echo: ok $API_PAUSE_BYTES bytes " "$D/host" ||
		fail "host end did not report 'ok $API_PAUSE_BYTES bytes'"
	expect_line "vsock-echo: echoed $API_PAUSE_BYTES bytes"
	expect_line "ember-init: exit status 0"
}

# PATCH /drives swaps a running drive's backing file, as Kata Containers
# hot-plugs a disk into a placeholder drive: the guest reads a 1 MiB data
# drive (vdb; vda is a read-only root drive), then polls its size; L1
# patches path_on_host to a 3 MiB image and gets 204; the guest sees 6144
# sectors (ember's config-change interrupt) and reads the new image's
# bytes. GET /vm/config reports the new path. The guest reads with
# O_DIRECT: its page cache would still hold the old image's first MiB.
case_api_drive_swap() {
	head -c 1048576 /dev/urandom >"$D/old.img"
	head -c 3145728 /dev/urandom >"$D/new.img"
	old=$(sha256sum <"$D/old.img" | cut -d' ' -f1)
	new=$(sha256sum <"$D/new.img" | cut -d' ' -f1)
	cmd="echo size0=\$(cat /sys/block/vdb/size); \
echo sha0=\$(dd if=/dev/vdb bs=64k iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1); \
echo lab-waiting; t=0; while [ \$(cat /sys/block/vdb/size) = 2048 ] && [ \$t -lt 600 ]; do sleep 0.1; t=\$((t+1)); done; \
echo size1=\$(cat /sys/block/vdb/size); \
echo sha1=\$(dd if=/dev/vdb bs=64k iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)"
	api_start
	api_ok PUT /boot-source "$(api_boot_source "$GK" "$cmd" "$GI")"
	api_ok PUT /drives/rootfs '{"drive_id": "rootfs", "path_on_host": "/lab/rootfs.ext4",
		"is_root_device": true, "is_read_only": true}'
	api_ok PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$D/old.img\",
		\"is_root_device\": false, \"is_read_only\": false}"
	api PATCH /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$D/new.img\"}" &&
		fail "PATCH /drives before the start was accepted"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	api_wait lab-waiting 60
	api_ok PATCH /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$D/new.img\"}"
	case $resp in 204) ;; *) fail "PATCH /drives/data answered $(echo $resp), want 204" ;; esac
	api_ok GET /vm/config
	case $resp in *"\"path_on_host\":\"$D/new.img\""*) ;; *) fail "GET /vm/config after the swap: $(echo $resp)" ;; esac
	api_end
	expect_exit0
	expect_line "size0=2048"
	expect_line "sha0=$old"
	expect_line "size1=6144"
	expect_line "sha1=$new"
	expect_line "ember-init: exit status 0"
}

# api_rate LABEL: the guest's "LABEL bytes=B t0=S t1=S" line (its own
# /proc/uptime around the read) as MiB/s with three decimals.
api_rate() {
	line=$(grep "^$1 bytes=" "$D/console") || fail "guest printed no '$1' line"
	echo "$line" | awk '{ split($2, b, "="); split($3, s, "="); split($4, e, "=");
		printf "%.3f %.2f\n", b[2] / 1048576 / (e[2] - s[2]), e[2] - s[2] }'
}

# api_rate_ok LABEL WANT: the rate must be within 20% of WANT MiB/s.
api_rate_ok() {
	set -- "$1" "$2" $(api_rate "$1")
	echo "# $1: $3 MiB/s over $4 s (limit $2 MiB/s)"
	awk -v r="$3" -v w="$2" 'BEGIN { exit !(r >= 0.8 * w && r <= 1.2 * w) }' ||
		fail "$1: $3 MiB/s, not within 20% of $2 MiB/s"
}

# A drive's bandwidth limiter (1 MiB/s: size 1 MiB, refill_time 1000 ms),
# then PATCH /drives changes it at run time to 2 MiB/s. The guest times
# O_DIRECT reads of 4 MiB with its own clock. The bucket starts full, so
# the guest first reads the bucket's size untimed to empty it: the timed
# 4 MiB then take 4 s, or 2 s at 2 MiB/s, whatever the emulation's cost,
# since both clocks that matter, ember's CLOCK_MONOTONIC for the refill and
# the guest's kvm-clock for the measurement, run at L1's time, which QEMU
# keeps in step with real time; only the unthrottled speed is distorted,
# and the lab reads far faster than 2 MiB/s. The limiter can only make the
# guest slower, so a rate above the limit is ember's bug, a rate below it
# ember's or an overloaded lab's. The guest waits on its console (ember's
# stdin, a FIFO here) while L1 patches the limiter.
case_api_rate_limit() {
	dd if=/dev/zero of="$D/data.img" bs=1048576 count=0 seek=5 2>/dev/null
	rd="dd if=/dev/vda of=/dev/null bs=1048576 iflag=direct"
	timed="t0=\$(cut -d' ' -f1 /proc/uptime); $rd skip=1 count=4 2>/dev/null; t1=\$(cut -d' ' -f1 /proc/uptime)"
	cmd="$rd count=1 2>/dev/null; $timed; echo lab-rl1 bytes=4194304 t0=\$t0 t1=\$t1; \
echo lab-patch-me; read go; \
$rd count=2 2>/dev/null; $timed; echo lab-rl2 bytes=4194304 t0=\$t0 t1=\$t1"
	mkfifo "$D/in"
	exec 3<>"$D/in"
	api_start "$D/in"
	api_ok PUT /boot-source "$(api_boot_source "$GK" "$cmd" "$GI")"
	api_ok PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$D/data.img\",
		\"is_root_device\": false, \"is_read_only\": true,
		\"rate_limiter\": {\"bandwidth\": {\"size\": 1048576, \"refill_time\": 1000}}}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	api_wait lab-patch-me 60
	api_ok PATCH /drives/data '{"drive_id": "data",
		"rate_limiter": {"bandwidth": {"size": 2097152, "refill_time": 1000}}}'
	echo go >&3
	api_end
	exec 3>&-
	expect_exit0
	expect_line "ember-init: exit status 0"
	api_rate_ok lab-rl1 1
	api_rate_ok lab-rl2 2
}

# PUT /actions SendCtrlAltDel: refused before the start; on a running guest
# it ends the VM cleanly. Debian's stock kernel (i8042, atkbd and the VT
# keyboard built in; the minimal kernel has none) boots through the API with
# no devices; init's command waits until atkbd has bound the keyboard port
# (the serio probe runs asynchronously), says so and sleeps. The key
# press reaches init as SIGINT (init turned the kernel's own Ctrl-Alt-Del
# reboot off), init says "ember-init: ctrl-alt-del" and reboots (reboot=k),
# and ember exits 0.
case_api_ctrl_alt_del() {
	cmd="t=0; until [ -e /sys/bus/serio/drivers/atkbd/serio0 ] || [ \$t -ge 300 ]; do sleep 0.1; t=\$((t+1)); done; \
echo lab-up \$(ls /sys/bus/serio/drivers/atkbd | grep serio); sleep 600"
	api_start
	api_ok PUT /boot-source "$(api_boot_source /lab/vmlinux-stock "$cmd" "$GI")"
	api_ok PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 256}'
	api PUT /actions '{"action_type": "SendCtrlAltDel"}' && fail "SendCtrlAltDel before the start was accepted"
	case $resp in 400*"not supported before starting"*) ;; *) fail "SendCtrlAltDel before the start: $(echo $resp)" ;; esac
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	api_wait lab-up 90
	t0=$(cut -d' ' -f1 /proc/uptime)
	api_ok PUT /actions '{"action_type": "SendCtrlAltDel"}'
	i=0
	while kill -0 $pid 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 300 ] || fail "ember still runs 30 s after SendCtrlAltDel"
		sleep 0.1
	done
	t1=$(cut -d' ' -f1 /proc/uptime)
	api_end
	echo "# ember exited $(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}') s after SendCtrlAltDel"
	expect_exit0
	grep -q '^lab-up serio0$' "$D/console" || fail "atkbd never bound serio0: $(grep '^lab-up' "$D/console")"
	expect_line "ember-init: ctrl-alt-del"
}
