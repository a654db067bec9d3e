# shellcheck shell=dash disable=SC2154,SC2016,SC2086,SC2116 # sourced in L1 after cases.sh (busybox sh); $D, $rc, $EMBER: cases.sh; $(echo $resp) flattens an answer to one line, as in api.sh
# Snapshot, restore and clone cases (issue 13), sourced in L1 after cases.sh:
# real Linux (the minimal kernel from guest/) at its interactive shell, driven
# through its console (a FIFO per VM), snapshotted with ember's CLI or
# Firecracker's API, and restored in a fresh ember process. They use the
# helpers of net.sh (tap0, NET_*), api.sh ($FC, $FCREQ, api_json), vsock.sh's
# uds-echo and blk.host.sh's ext4 image and debugfs.
#   snapshot-restore-cli  ember run --api-sock, ember snapshot, ember restore
#   snapshot-restore-api  /lab/firecracker, PUT /snapshot/create, /snapshot/load
#                         with network_overrides and vsock_override
#   snapshot-clones       SNAP_CLONES (10) restores of one snapshot at once
#   snapshot-diff         a Diff snapshot merged onto its Full base, restored
LAB_CASES="$LAB_CASES snapshot-restore-cli snapshot-restore-api snapshot-clones snapshot-diff snapshot-session"

SNAP_T=300     # seconds any one ember of these cases may live
SNAP_MEM=128   # MiB of guest RAM
SNAP_CLONES=10
SNAP_NET_ID=eth0 # the iface_id of the clones' base (PUT /network-interfaces/eth0)
SNAP_N=0         # marker counter (snap_do)

# snap_vm NAME CMD...: start CMD (an ember) in the background, its console
# input the FIFO $D/NAME.in (held open by a sleeping process, so it never
# ends), its console output $D/NAME.out, its stderr $D/NAME.err, its pid
# in $D/NAME.pid. The case's exit kills what is left (snap_cleanup).
snap_vm() {
	sv_n=$1
	shift
	rm -f "$D/$sv_n.in"
	mkfifo "$D/$sv_n.in"
	sleep $((SNAP_T + 60)) <>"$D/$sv_n.in" &
	echo $! >>"$D/pids"
	timeout -s KILL $SNAP_T "$@" <"$D/$sv_n.in" >"$D/$sv_n.out" 2>"$D/$sv_n.err" &
	echo $! >"$D/$sv_n.pid"
	echo $! >>"$D/pids"
}

# snap_cleanup: kill every process snap_vm started (the trap on EXIT).
snap_cleanup() {
	[ -f "$D/pids" ] || return 0
	# shellcheck disable=SC2046
	kill -9 $(cat "$D/pids") 2>/dev/null
	rm -f "$D/pids"
}

snap_pid() { cat "$D/$1.pid"; }

# snap_console NAME: the console of VM NAME so far, without CRs.
snap_console() { tr -d '\r' <"$D/$1.out"; }

# snap_wait NAME REGEX SECONDS: wait for REGEX (grep -E) on NAME's console
# while its ember runs. Returns 1 on a timeout or when ember exited.
snap_wait() {
	sw_i=0
	until snap_console "$1" | grep -Eq -- "$2"; do
		kill -0 "$(snap_pid "$1")" 2>/dev/null || return 1
		sw_i=$((sw_i + 1))
		[ $sw_i -le $(($3 * 10)) ] || return 1
		sleep 0.1
	done
}

# snap_show NAME: the last console lines and stderr of NAME, as notes.
snap_show() {
	echo "#   last console lines of $1:"
	snap_console "$1" | grep -v "^$" | tail -n ${SNAP_SHOW:-40} | sed 's/^/#     /'
	[ ! -s "$D/$1.err" ] || { echo "#   stderr of $1:"; tail -n 6 "$D/$1.err" | sed 's/^/#     /'; }
}

# snap_fail NAME REASON: fail with NAME's console and stderr shown.
snap_fail() {
	snap_show "$1"
	fail "$2"
}

# snap_do NAME CMD [SECONDS]: type CMD at NAME's guest shell, followed by
# a marker whose echo on the console differs from its output
# (lab-done-1007-rc=0 against "lab-done-$((1007+0))-rc=$?"), and wait
# for the marker (default 60 s). CMD's exit status is in $do_rc.
snap_do() {
	SNAP_N=$((SNAP_N + 1))
	sd_m=$((1000 + SNAP_N))
	printf '%s; echo lab-done-$((%d+0))-rc=$?\n' "$2" $sd_m >"$D/$1.in"
	snap_wait "$1" "lab-done-$sd_m-rc=[0-9]+" "${3:-60}" ||
		snap_fail "$1" "guest shell of $1 did not finish '$2' within ${3:-60} s"
	do_rc=$(snap_console "$1" | sed -n "s/.*lab-done-$sd_m-rc=\([0-9]*\).*/\1/p" | head -n1)
}

# snap_do_ok NAME CMD [SECONDS]: snap_do, and CMD must succeed.
snap_do_ok() {
	snap_do "$@"
	[ "$do_rc" = 0 ] || snap_fail "$1" "'$2' failed in the guest of $1 (status $do_rc)"
}

# snap_prompt NAME: wait for the guest's first shell prompt (a boot).
snap_prompt() {
	snap_wait "$1" 'ember# ' 120 || snap_fail "$1" "no shell prompt from $1 within 120 s"
}

# snap_end NAME: the guest shell exits, init reboots it, ember must exit 0
# within 60 s.
snap_end() {
	printf 'exit\n' >"$D/$1.in"
	se_p=$(snap_pid "$1")
	se_i=0
	while kill -0 "$se_p" 2>/dev/null; do
		se_i=$((se_i + 1))
		[ $se_i -le 600 ] || snap_fail "$1" "ember ($1) still runs 60 s after the guest shell exited"
		sleep 0.1
	done
	rc=0
	wait "$se_p" || rc=$?
	[ $rc = 0 ] || snap_fail "$1" "ember ($1) exited $rc, want 0: $(grep -m1 '^ember:' "$D/$1.err")"
}

# snap_kill NAME: kill -9 NAME's ember and reap it.
snap_kill() {
	sk_p=$(snap_pid "$1")
	kill -9 "$sk_p" 2>/dev/null
	wait "$sk_p" 2>/dev/null
	return 0
}

# snap_api SOCK METHOD PATH [BODY]: one API request, answer in $resp (and
# $D/api.log); returns fcreq's status (0 for 2xx).
snap_api() {
	sa_s=$1
	shift
	sa_rc=0
	resp=$("$FCREQ" "$sa_s" "$@" 2>&1) || sa_rc=$?
	printf '> %s %s %s %s\n%s\n' "$sa_s" "$1" "$2" "${3:-}" "$resp" >>"$D/api.log"
	return $sa_rc
}
snap_api_ok() { snap_api "$@" || fail "$2 $3: $(echo $resp)"; }

# snap_sock PATH NAME: wait until NAME's ember has made the socket PATH.
snap_sock() {
	ss_i=0
	until [ -S "$1" ]; do
		kill -0 "$(snap_pid "$2")" 2>/dev/null || snap_fail "$2" "ember ($2) exited before it made $1"
		ss_i=$((ss_i + 1))
		[ $ss_i -le 100 ] || snap_fail "$2" "no socket $1 after 10 s"
		sleep 0.1
	done
}

# snap_size FILE: apparent size in bytes; snap_used FILE: KiB allocated.
snap_size() { stat -c %s "$1"; }
snap_used() { du -k "$1" | cut -f1; }

# snap_mem_ok FILE: a memory file of exactly the guest's RAM size.
snap_mem_ok() {
	[ -f "$1" ] || fail "no memory file $1"
	[ "$(snap_size "$1")" = $((SNAP_MEM * 1048576)) ] ||
		fail "memory file $1 is $(snap_size "$1") bytes, want $((SNAP_MEM * 1048576)) (guest RAM)"
}

# snap_clock NAME TAG: the guest's uptime and wall clock on one line
# "lab-TAG UPTIME EPOCH"; sets clk_up and clk_date.
snap_clock() {
	snap_do_ok "$1" "echo lab-$2 \$(cut -d' ' -f1 /proc/uptime) \$(date +%s)"
	sc_l=$(snap_console "$1" | grep -E "lab-$2 [0-9.]+ [0-9]+" | tail -n1 | sed "s/.*lab-$2 //")
	clk_up=${sc_l% *}
	clk_date=${sc_l#* }
}

# snap_progress FILE: uds-echo's echoed bytes so far (0 before any).
snap_progress() {
	sp_n=$(sed -n 's/^uds-echo: received //p' "$1" | tail -n1)
	echo "${sp_n:-0}"
}

# snap_l1_up: L1's uptime in seconds (float).
snap_l1_up() { cut -d' ' -f1 /proc/uptime; }

# The guest set-up both restore cases share, on VM NAME at its prompt:
# mount the disk and write a file that is synced and one that is not,
# bring eth0 up and ping L1, then start two vsock listeners: port 1234,
# whose connection L1 keeps busy through the snapshot (it must be reset
# in the restored guest), and port 1235, which takes no connection before
# the snapshot (the listening socket must survive it). Then L1's uds-echo
# streams through port 1234 until the echo flows. Sets t0_up, t0_date.
snap_restore_setup() {
	snap_do_ok "$1" "mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && echo synced-$2 >/mnt/synced && sync && echo unsynced-$2 >/mnt/unsynced"
	snap_do_ok "$1" "$NET_UP && timeout 10 ping -c 1 $NET_HOST >/dev/null"
	snap_do_ok "$1" "(vsock-echo listen 1234; echo rc=\$?) >/tmp/v1 2>&1 & (vsock-echo listen 1235; echo rc=\$?) >/tmp/v2 2>&1 & true"
	snap_do_ok "$1" "sleep 0.5; cat /tmp/v1 /tmp/v2"
	/lab/uds-echo connect "$D/v.sock" 1234 4000000000 1048576 >"$D/host1" 2>&1 &
	echo $! >>"$D/pids"
	echo $! >"$D/host1.pid"
	sr_i=0
	until [ "$(snap_progress "$D/host1")" -gt 0 ]; do
		sr_i=$((sr_i + 1))
		[ $sr_i -le 600 ] || fail "no vsock echo from the guest within 60 s: $(tail -n1 "$D/host1")"
		sleep 0.1
	done
	snap_clock "$1" t0
	t0_up=$clk_up t0_date=$clk_date
}

# The checks both restore cases share, on the restored VM NAME (its vsock
# at VSOCK, its network on L1's address $NET_HOST): the shell answers, the
# clock has moved on, both files are there (the synced one read from the
# disk again after the page cache is dropped), the busy vsock connection
# ended, the listener from before the snapshot takes a new connection,
# a guest connection to L1 works, the guest pings L1 and L1 the guest, and
# a file written after the restore reaches the disk image.
snap_restore_check() {
	snap_do_ok "$1" "echo lab-answer-\$((6*7))" 60
	snap_console "$1" | grep -q 'lab-answer-42' || snap_fail "$1" "the restored shell did not answer"
	t_restore=$(snap_l1_up)
	snap_clock "$1" t1
	echo "# guest clock: uptime $t0_up -> $clk_up s, date $t0_date -> $clk_date; L1 time from the snapshot to the restore: $(echo "$t_snap $t_restore" | awk '{printf "%.1f", $2 - $1}') s"
	awk -v a="$t0_up" -v b="$clk_up" 'BEGIN { exit !(b > a) }' ||
		snap_fail "$1" "guest uptime went from $t0_up to $clk_up s: the clock did not move on"
	[ "$clk_date" -ge "$t0_date" ] || snap_fail "$1" "guest date went back from $t0_date to $clk_date"
	snap_do_ok "$1" "echo lab-files \$(cat /mnt/synced) \$(cat /mnt/unsynced)"
	snap_console "$1" | grep -q "lab-files synced-$2 unsynced-$2" ||
		snap_fail "$1" "files written before the snapshot are not both there"
	snap_do_ok "$1" "sync && echo 3 >/proc/sys/vm/drop_caches && echo lab-disk \$(cat /mnt/synced)"
	snap_console "$1" | grep -q "lab-disk synced-$2" ||
		snap_fail "$1" "the synced file does not read back from the disk after drop_caches"
	# vsock: the connection through port 1234 ended in the restored guest,
	# before L1's 4 GB were through; port 1235's listener takes a new
	# connection from L1. How it ends is the guest's race, not ember's:
	# after the transport-reset event, read() fails with ECONNRESET, or
	# write() with ENOTCONN when vsock-echo was writing; but a packet the
	# guest sent on the old connection first (one left in its TX ring at
	# the snapshot) is answered with RST, as Firecracker does for a
	# connection it does not know, and Linux reads a RST that comes before
	# the event as the peer's close: read() returns 0.
	sc_i=0
	until snap_do "$1" "grep -q '^rc=' /tmp/v1" && [ "$do_rc" = 0 ]; do
		sc_i=$((sc_i + 1))
		[ $sc_i -le 20 ] || snap_fail "$1" "the vsock connection from before the snapshot is still open in the guest 20 s after the restore"
		sleep 1
	done
	snap_do_ok "$1" "echo lab-v1 \$(cat /tmp/v1 | tr '\n' ' ')"
	v1=$(snap_console "$1" | grep -E 'lab-v1 [^$]' | tail -n1 | sed 's/.*lab-v1 //')
	echo "# guest end of the connection open at the snapshot: $v1"
	case $v1 in
	*'vsock-echo: read: '*' rc=1'* | *'vsock-echo: write: '*' rc=1'*) ;;
	*'echoed '*' bytes rc=0'*)
		v1_n=${v1##*echoed }
		v1_n=${v1_n%% bytes*}
		[ "$v1_n" -lt 4000000000 ] ||
			snap_fail "$1" "the vsock connection from before the snapshot carried all of L1's bytes: $v1" ;;
	*) snap_fail "$1" "the vsock connection from before the snapshot did not end with an error or a close: $v1" ;;
	esac
	echo "# L1 end of it (the snapshotted ember was killed): $(tail -n1 "$D/host1"), uds-echo still running: $(kill -0 "$(cat "$D/host1.pid")" 2>/dev/null && echo yes || echo no)"
	timeout -s KILL 60 /lab/uds-echo connect "$3" 1235 1048576 >"$D/host2" 2>&1 ||
		fail "new vsock connection to the restored guest: $(tail -n1 "$D/host2")"
	grep -q '^uds-echo: ok 1048576 bytes' "$D/host2" || fail "uds-echo to port 1235: $(tail -n1 "$D/host2")"
	/lab/uds-echo listen "${3}_5000" >"$D/host3" 2>&1 &
	echo $! >>"$D/pids"
	sleep 0.3
	snap_do_ok "$1" "vsock-echo connect 2 5000 262144"
	grep -q '^uds-echo: echoed 262144 bytes' "$D/host3" || fail "guest -> L1 vsock after the restore: $(tail -n1 "$D/host3")"
	snap_do_ok "$1" "timeout 10 ping -c 1 $NET_HOST" 30
	ping -c 1 -W 5 $NET_GUEST >"$D/ping" 2>&1 || fail "L1 -> restored guest ping: $(grep 'packets' "$D/ping")"
	snap_do_ok "$1" "echo after-$2 >/mnt/after && umount /mnt"
	snap_end "$1"
	[ "$(debugfs -R 'cat /after' "$D/disk.ext4" 2>/dev/null)" = "after-$2" ] ||
		fail "the file written after the restore is not in the disk image"
	[ "$(debugfs -R 'cat /synced' "$D/disk.ext4" 2>/dev/null)" = "synced-$2" ] ||
		fail "the file written before the snapshot is not in the disk image"
}

# A guest at its shell with a mounted virtio disk, a vsock connection in the
# middle of a transfer and network on tap0, started with ember run
# --api-sock. `ember snapshot` writes the snapshot and resumes the VM (the
# default): the original still answers. Then it is killed (kill -9), and
# `ember restore` brings the guest back in a new process, its vsock on a
# new socket path (--vsock-uds), its network on tap0 again.
case_snapshot_restore_cli() {
	trap snap_cleanup EXIT
	"$EMBER" --help 2>&1 | grep -q 'ember snapshot' || fail "this ember has no 'ember snapshot' command (ember --help)"
	"$EMBER" --help 2>&1 | grep -q 'ember restore' || fail "this ember has no 'ember restore' command (ember --help)"
	net_tap
	cp /lab/disk.ext4 "$D/disk.ext4"
	snap_vm orig "$EMBER" run --kernel "$GK" --initrd "$GI" --memory ${SNAP_MEM}M --cmdline "$BASE quiet" \
		--disk "$D/disk.ext4" --vsock "cid=3,uds=$D/v.sock" --net "tap=tap0,mac=$NET_MAC" --api-sock "$D/api.sock"
	snap_prompt orig
	snap_restore_setup orig cli
	t0=$(snap_l1_up)
	src=0
	timeout -s KILL 120 "$EMBER" snapshot --api-sock "$D/api.sock" "$D/snap" >"$D/snap.log" 2>&1 || src=$?
	t_snap=$(snap_l1_up)
	sed 's/^/# ember snapshot: /' "$D/snap.log"
	echo "# ember snapshot took $(echo "$t0 $t_snap" | awk '{printf "%.2f", $2 - $1}') s (L1)"
	[ $src = 0 ] || snap_fail orig "ember snapshot exited $src: $(tail -n1 "$D/snap.log")"
	[ -s "$D/snap" ] || fail "ember snapshot wrote no $D/snap"
	snap_mem_ok "$D/snap.mem"
	echo "# snapshot: state $(snap_size "$D/snap") bytes, memory file $(snap_used "$D/snap.mem") KiB allocated of $((SNAP_MEM * 1024))"
	# The default --then resume: the original runs on.
	snap_do_ok orig "echo lab-still-\$((7*7))" 60
	snap_kill orig
	sleep 2
	snap_vm rest "$EMBER" restore --vsock-uds "$D/v2.sock" "$D/snap"
	snap_restore_check rest cli "$D/v2.sock"
	grep -q '^ember:' "$D/rest.err" && echo "# ember restore said: $(grep -m1 '^ember:' "$D/rest.err")"
	return 0
}

# The same guest configured through Firecracker's API (/lab/firecracker):
# PATCH /vm Paused, PUT /snapshot/create (Full), kill -9; a fresh
# /lab/firecracker loads it with PUT /snapshot/load, resume_vm, a
# network_overrides entry to another TAP (given tap0's MAC and address,
# tap0 loses its address) and a vsock_override.
case_snapshot_restore_api() {
	trap 'snap_cleanup; tunctl -d snaptap >/dev/null 2>&1' EXIT
	net_tap
	cp /lab/disk.ext4 "$D/disk.ext4"
	: >"$D/api.log"
	snap_vm orig "$FC" --api-sock "$D/api.sock" --id snap-orig
	snap_sock "$D/api.sock" orig
	snap_api_ok "$D/api.sock" PUT /boot-source \
		"{\"kernel_image_path\": \"$GK\", \"initrd_path\": \"$GI\", \"boot_args\": \"$(api_json "$BASE quiet")\"}"
	snap_api_ok "$D/api.sock" PUT /machine-config "{\"vcpu_count\": 1, \"mem_size_mib\": $SNAP_MEM}"
	snap_api_ok "$D/api.sock" PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$D/disk.ext4\",
		\"is_root_device\": false, \"is_read_only\": false}"
	snap_api_ok "$D/api.sock" PUT /network-interfaces/eth0 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\",
		\"guest_mac\": \"$NET_MAC\"}"
	snap_api_ok "$D/api.sock" PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$D/v.sock\"}"
	snap_api_ok "$D/api.sock" PUT /actions '{"action_type": "InstanceStart"}'
	snap_prompt orig
	snap_restore_setup orig api
	snap_api "$D/api.sock" PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$D/snap\",
		\"mem_file_path\": \"$D/snap.mem\"}" &&
		fail "PUT /snapshot/create on a running VM was accepted: $(echo $resp)"
	echo "# PUT /snapshot/create while running: $(echo $resp)"
	t0=$(snap_l1_up)
	snap_api_ok "$D/api.sock" PATCH /vm '{"state": "Paused"}'
	snap_api_ok "$D/api.sock" PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$D/snap\",
		\"mem_file_path\": \"$D/snap.mem\"}"
	case $resp in 204*) ;; *) fail "PUT /snapshot/create answered $(echo $resp), want 204" ;; esac
	t_snap=$(snap_l1_up)
	echo "# pause + PUT /snapshot/create took $(echo "$t0 $t_snap" | awk '{printf "%.2f", $2 - $1}') s (L1)"
	[ -s "$D/snap" ] || fail "PUT /snapshot/create wrote no $D/snap"
	snap_mem_ok "$D/snap.mem"
	echo "# snapshot: state $(snap_size "$D/snap") bytes, memory file $(snap_used "$D/snap.mem") KiB allocated of $((SNAP_MEM * 1024))"
	snap_kill orig
	# Another TAP for the restored VM, with tap0's MAC and address (the
	# guest's ARP entry for L1 stays right); tap0 keeps no address.
	mac=$(cat /sys/class/net/tap0/address)
	ip addr flush dev tap0
	tunctl -t snaptap >/dev/null || fail "tunctl -t snaptap failed"
	ip link set snaptap address "$mac"
	ip addr add $NET_HOST/24 dev snaptap
	ip link set snaptap up
	sleep 2
	snap_vm rest "$FC" --api-sock "$D/api2.sock" --id snap-rest
	snap_sock "$D/api2.sock" rest
	snap_api_ok "$D/api2.sock" PUT /snapshot/load "{\"snapshot_path\": \"$D/snap\",
		\"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$D/snap.mem\"},
		\"resume_vm\": true, \"network_overrides\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"snaptap\"}],
		\"vsock_override\": {\"uds_path\": \"$D/v2.sock\"}}"
	case $resp in 204*) ;; *) fail "PUT /snapshot/load answered $(echo $resp), want 204" ;; esac
	snap_api_ok "$D/api2.sock" GET /
	case $resp in *'"state":"Running"'*) ;; *) fail "GET / after the load: $(echo $resp)" ;; esac
	snap_restore_check rest api "$D/v2.sock"
	return 0
}

# SNAP_CLONES clones of one snapshot at once, through Firecracker's API.
# The base guest (no disk: a read-write image cannot be shared), configured
# through the API (iface_id eth0: `ember run --net` gives its interfaces
# no id to override), has eth0 up without an address and a vsock listener
# on port 1234; PATCH /vm and PUT /snapshot/create snapshot it, and it is
# killed. Odd clones are a fresh /lab/firecracker whose PUT /snapshot/load
# gives it its own TAP (network_overrides: snapcN, 10.0.(100+N).1 on L1's
# side) and vsock path (vsock_override); even ones are `ember restore
# --net eth0=snapcN --vsock-uds PATH`, all started at once. Each
# answers on its console with its own number, takes its own address and
# pings L1, L1 pings it, and L1 streams 256 KiB through its vsock
# listener. The clones' memory (PSS from smaps_rollup, MemAvailable) is
# a note; bench/snapshot.sh measures it.
case_snapshot_clones() {
	trap 'snap_cleanup; i=1; while [ $i -le $SNAP_CLONES ]; do tunctl -d snapc$i >/dev/null 2>&1; i=$((i + 1)); done' EXIT
	: >"$D/api.log"
	net_tap
	snap_vm base "$FC" --api-sock "$D/api.sock" --id snap-base
	snap_sock "$D/api.sock" base
	snap_api_ok "$D/api.sock" PUT /boot-source \
		"{\"kernel_image_path\": \"$GK\", \"initrd_path\": \"$GI\", \"boot_args\": \"$(api_json "$BASE quiet")\"}"
	snap_api_ok "$D/api.sock" PUT /machine-config "{\"vcpu_count\": 1, \"mem_size_mib\": $SNAP_MEM}"
	snap_api_ok "$D/api.sock" PUT /network-interfaces/eth0 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\",
		\"guest_mac\": \"$NET_MAC\"}"
	snap_api_ok "$D/api.sock" PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$D/v.sock\"}"
	snap_api_ok "$D/api.sock" PUT /actions '{"action_type": "InstanceStart"}'
	snap_prompt base
	snap_do_ok base "ip link set eth0 up && (vsock-echo listen 1234 >/tmp/v 2>&1 &)"
	snap_api_ok "$D/api.sock" PATCH /vm '{"state": "Paused"}'
	snap_api_ok "$D/api.sock" PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$D/snap\",
		\"mem_file_path\": \"$D/snap.mem\"}"
	snap_mem_ok "$D/snap.mem"
	snap_kill base
	i=1
	while [ $i -le $SNAP_CLONES ]; do
		tunctl -d snapc$i >/dev/null 2>&1
		tunctl -t snapc$i >/dev/null || fail "tunctl -t snapc$i failed"
		ip addr add 10.0.$((100 + i)).1/24 dev snapc$i
		ip link set snapc$i up
		i=$((i + 1))
	done
	avail0=$(sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo)
	t0=$(snap_l1_up)
	i=1
	while [ $i -le $SNAP_CLONES ]; do
		if [ $((i % 2)) = 1 ]; then
			snap_vm c$i "$FC" --api-sock "$D/a$i.sock" --id snap-clone-$i
		else
			snap_vm c$i "$EMBER" restore --net "$SNAP_NET_ID=snapc$i" --vsock-uds "$D/c$i.sock" "$D/snap"
		fi
		i=$((i + 1))
	done
	i=1
	while [ $i -le $SNAP_CLONES ]; do
		[ $((i % 2)) = 1 ] || { i=$((i + 1)); continue; }
		snap_sock "$D/a$i.sock" c$i
		snap_api_ok "$D/a$i.sock" PUT /snapshot/load "{\"snapshot_path\": \"$D/snap\",
			\"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$D/snap.mem\"},
			\"resume_vm\": true, \"network_overrides\": [{\"iface_id\": \"$SNAP_NET_ID\", \"host_dev_name\": \"snapc$i\"}],
			\"vsock_override\": {\"uds_path\": \"$D/c$i.sock\"}}"
		i=$((i + 1))
	done
	# Every clone answers on its console (ten guests share L1's CPU).
	i=1
	while [ $i -le $SNAP_CLONES ]; do
		snap_do_ok c$i "echo lab-clone-\$(($i*1000+7))" 120
		snap_console c$i | grep -q "lab-clone-$((i * 1000 + 7))" || snap_fail c$i "clone $i did not answer"
		i=$((i + 1))
	done
	t1=$(snap_l1_up)
	echo "# $SNAP_CLONES clones loaded and answering in $(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}') s (L1)"
	pss=0
	i=1
	while [ $i -le $SNAP_CLONES ]; do
		p=$(sed -n 's/^Pss: *\([0-9]*\) kB/\1/p' "/proc/$(snap_pid c$i)/smaps_rollup")
		pss=$((pss + ${p:-0}))
		i=$((i + 1))
	done
	avail1=$(sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo)
	echo "# $SNAP_CLONES clones of a ${SNAP_MEM} MiB guest: PSS $((pss / 1024)) MiB in all, MemAvailable down $(((avail0 - avail1) / 1024)) MiB (memory file: $(snap_used "$D/snap.mem") KiB allocated)"
	i=1
	while [ $i -le $SNAP_CLONES ]; do
		snap_do_ok c$i "ip addr add 10.0.$((100 + i)).2/24 dev eth0 && timeout 10 ping -c 1 10.0.$((100 + i)).1 >/dev/null" 60
		ping -c 1 -W 5 10.0.$((100 + i)).2 >"$D/ping.$i" 2>&1 || fail "L1 -> clone $i ping: $(grep packets "$D/ping.$i")"
		i=$((i + 1))
	done
	i=1
	while [ $i -le $SNAP_CLONES ]; do
		/lab/uds-echo connect "$D/c$i.sock" 1234 262144 >"$D/host.$i" 2>&1 &
		echo $! >"$D/host.$i.pid"
		i=$((i + 1))
	done
	i=1
	while [ $i -le $SNAP_CLONES ]; do
		wait "$(cat "$D/host.$i.pid")" 2>/dev/null
		grep -q '^uds-echo: ok 262144 bytes' "$D/host.$i" || fail "vsock to clone $i: $(tail -n1 "$D/host.$i")"
		i=$((i + 1))
	done
	i=1
	while [ $i -le $SNAP_CLONES ]; do
		snap_end c$i
		i=$((i + 1))
	done
}

# A Diff snapshot on top of its Full base. The VM is configured through the
# API with track_dirty_pages; the guest writes /tmp/a (tmpfs: guest RAM
# only), L1 takes a Full snapshot, the guest writes /tmp/b and 4 MiB of
# random /tmp/c, L1 takes a Diff snapshot, and ember is killed. The diff's
# memory file must hold fewer pages than the base's; `ember snapshot-merge`
# applies it to a copy of the base's, and a fresh process restores the
# diff's state with the merged memory: /tmp/a, /tmp/b and /tmp/c are all
# there, intact. The base alone still restores (ember restore --mem),
# without /tmp/b.
case_snapshot_diff() {
	trap snap_cleanup EXIT
	: >"$D/api.log"
	snap_vm orig "$FC" --api-sock "$D/api.sock" --id snap-diff
	snap_sock "$D/api.sock" orig
	snap_api_ok "$D/api.sock" PUT /boot-source \
		"{\"kernel_image_path\": \"$GK\", \"initrd_path\": \"$GI\", \"boot_args\": \"$(api_json "$BASE quiet")\"}"
	snap_api_ok "$D/api.sock" PUT /machine-config "{\"vcpu_count\": 1, \"mem_size_mib\": $SNAP_MEM, \"track_dirty_pages\": true}"
	snap_api_ok "$D/api.sock" PUT /actions '{"action_type": "InstanceStart"}'
	snap_prompt orig
	snap_do_ok orig "echo base-\$((2*21)) >/tmp/a"
	snap_api_ok "$D/api.sock" PATCH /vm '{"state": "Paused"}'
	snap_api_ok "$D/api.sock" PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$D/base\",
		\"mem_file_path\": \"$D/base.mem\"}"
	snap_api_ok "$D/api.sock" PATCH /vm '{"state": "Resumed"}'
	snap_do_ok orig "echo diff-\$((3*21)) >/tmp/b && head -c 4194304 /dev/urandom >/tmp/c && echo lab-sum \$(md5sum </tmp/c)"
	sum=$(snap_console orig | sed -n 's/.*lab-sum \([0-9a-f]\{32\}\).*/\1/p' | tail -n1)
	[ -n "$sum" ] || snap_fail orig "guest printed no md5 of /tmp/c"
	snap_api_ok "$D/api.sock" PATCH /vm '{"state": "Paused"}'
	if "$EMBER" --help 2>&1 | grep -q 'snapshot-merge'; then
		# The diff in a file of its own, then merged onto a copy of the base.
		snap_api_ok "$D/api.sock" PUT /snapshot/create "{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"$D/diff\",
			\"mem_file_path\": \"$D/diff.mem\"}"
		snap_kill orig
		snap_mem_ok "$D/base.mem"
		snap_mem_ok "$D/diff.mem"
		bu=$(snap_used "$D/base.mem")
		du_=$(snap_used "$D/diff.mem")
		echo "# memory files: Full $bu KiB allocated, Diff $du_ KiB allocated (guest wrote 4 MiB in between), of $((SNAP_MEM * 1024)) KiB"
		[ "$du_" -lt "$bu" ] || fail "the Diff memory file ($du_ KiB) is not smaller than the Full one ($bu KiB)"
		[ "$du_" -ge 4096 ] || fail "the Diff memory file ($du_ KiB) cannot hold the 4 MiB the guest wrote"
		cp "$D/base.mem" "$D/merged.mem"
		mrc=0
		"$EMBER" snapshot-merge "$D/merged.mem" "$D/diff.mem" >"$D/merge.log" 2>&1 || mrc=$?
		[ $mrc = 0 ] || fail "ember snapshot-merge exited $mrc: $(tail -n1 "$D/merge.log")"
	else
		# No snapshot-merge in this ember: the diff written onto a copy
		# of the base's memory file, in place.
		echo "# no 'ember snapshot-merge' in this ember: the Diff is written onto a copy of the base's memory file"
		cp "$D/base.mem" "$D/merged.mem"
		bu=$(snap_used "$D/merged.mem")
		snap_api_ok "$D/api.sock" PUT /snapshot/create "{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"$D/diff\",
			\"mem_file_path\": \"$D/merged.mem\"}"
		snap_kill orig
		snap_mem_ok "$D/base.mem"
		echo "# memory file: $bu KiB allocated before the Diff, $(snap_used "$D/merged.mem") KiB after (guest wrote 4 MiB in between)"
	fi
	snap_mem_ok "$D/merged.mem"
	snap_vm rest "$FC" --api-sock "$D/api2.sock" --id snap-diff-rest
	snap_sock "$D/api2.sock" rest
	snap_api_ok "$D/api2.sock" PUT /snapshot/load "{\"snapshot_path\": \"$D/diff\",
		\"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$D/merged.mem\"}, \"resume_vm\": true}"
	snap_do_ok rest "echo lab-diff \$(cat /tmp/a) \$(cat /tmp/b) \$(md5sum </tmp/c)"
	snap_console rest | grep -q "lab-diff base-42 diff-63 $sum" ||
		snap_fail rest "the restored diff lacks what the guest wrote (want base-42 diff-63 $sum)"
	snap_end rest
	# The base is untouched by the merge: it restores (ember restore --mem)
	# to before /tmp/b.
	snap_vm back "$EMBER" restore --mem "$D/base.mem" "$D/base"
	snap_do_ok back "echo lab-base \$(cat /tmp/a) \$(ls /tmp/b 2>/dev/null || echo no-b)"
	snap_console back | grep -q "lab-base base-42 no-b" || snap_fail back "the base snapshot does not restore as it was"
	snap_end back
}

# The README's session, and a test of it: the operator's view of a guest at
# its shell snapshotted with `ember snapshot`, restored with `ember restore`
# and cloned three times from the same files, each clone on a vsock socket
# of its own. Each step prints "# session: " lines: the commands (as typed
# on the host) and what came back, the guest's console lines among them.
ses_cmd() { echo "# session: \$ $*"; }
ses_out() { tr -d '\033' | sed 's/\[6n//g; s/^/# session: /'; }
# ses_typed NAME CMD: type CMD at NAME's shell and show the exchange as it
# appears on the console (the prompt, the command, its output).
ses_typed() {
	ses_before=$(snap_console "$1" | wc -l)
	snap_do_ok "$1" "$2"
	snap_console "$1" | tail -n +$((ses_before + 1)) | grep -v '^$' |
		sed "s/; echo lab-done-.*//; /^lab-done-/d" | ses_out
}
case_snapshot_session() {
	trap snap_cleanup EXIT
	ses_cmd "ember run --kernel vmlinux --initrd initramfs.cpio.gz --memory 128M --vsock cid=3,uds=v.sock --api-sock vm.sock"
	snap_vm vm "$EMBER" run --kernel "$GK" --initrd "$GI" --memory 128M --cmdline "$BASE quiet" \
		--vsock "cid=3,uds=$D/v.sock" --api-sock "$D/vm.sock"
	snap_prompt vm
	ses_typed vm "echo hello > /tmp/note; uptime"
	ses_cmd "ember snapshot --api-sock vm.sock vm.snap          # (another terminal)"
	(cd "$D" && timeout -s KILL 120 "$EMBER" snapshot --api-sock vm.sock vm.snap) 2>&1 | ses_out
	[ -s "$D/vm.snap" ] || fail "ember snapshot wrote no vm.snap"
	ses_typed vm "uptime"
	ses_cmd "ls -ls vm.snap vm.snap.mem"
	(cd "$D" && ls -ls vm.snap vm.snap.mem) | ses_out
	snap_kill vm
	ses_cmd "ember restore --vsock-uds v1.sock vm.snap          # the first VM is gone"
	snap_vm r "$EMBER" restore --vsock-uds "$D/v1.sock" "$D/vm.snap"
	ses_typed r "cat /tmp/note; uptime"
	snap_console r | grep -q '^hello' || snap_fail r "the restored shell lost /tmp/note"
	snap_end r
	i=1
	for c in 1 2 3; do
		ses_cmd "ember restore --vsock-uds c$c.sock vm.snap &      # clone $c"
		snap_vm c$c "$EMBER" restore --vsock-uds "$D/c$c.sock" "$D/vm.snap"
	done
	for c in 1 2 3; do
		ses_typed c$c "echo clone $c: \$(cat /tmp/note)"
		snap_console c$c | grep -q "^clone $c: hello" || snap_fail c$c "clone $c did not answer"
	done
	ses_cmd "for p in \$(pgrep -f 'ember restore'); do grep Pss: /proc/\$p/smaps_rollup; done"
	for c in 1 2 3; do
		sed -n 's/^Pss: *\([0-9]*\) kB/\1/p' "/proc/$(pgrep -P "$(snap_pid c$c)" ember || snap_pid c$c)/smaps_rollup" 2>/dev/null
	done | awk '{printf "Pss: %d kB\n", $1}' | ses_out
	for c in 1 2 3; do snap_end c$c; done
	return 0
}
