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
