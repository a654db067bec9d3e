# SPDX-License-Identifier: MIT
# Shared disk images: ember locks an image as QEMU does (src/dev/disk_lock.h),
# so two embers, one ember given the image twice, or ember and QEMU never
# write one image at once. One writer and nobody else, or only readers.
# Each refusal is one line; QEMU refuses an image ember holds with its own
# "Failed to get ... lock".

QEMU=$(command -v qemu-system-x86_64)
truncate -s 1M "$tmp/l.img" "$tmp/l2.img" "$tmp/l3.img"

# held IMG: wait (up to 10 s) until some process holds IMG's byte 201 ("I
# do not share write": QEMU takes it last, when its virtio-blk device
# attaches; /proc/locks names the inode).
held() {
	local ino
	ino=$(stat -c %i "$1")
	for _ in $(seq 200); do
		grep -q ":$ino 201 " /proc/locks && return 0
		sleep 0.05
	done
	return 1
}
# holder_start NAME ARGS...: a long-running ember (waitguest) in the
# background; holder_stop ends it.
holder_start() {
	"$EMBER" run --kernel "$WAITGUEST" "$@" >"$tmp/h.out" 2>&1 </dev/null &
	hpid=$!
	for _ in $(seq 200); do
		grep -q "waitguest: ready" "$tmp/h.out" && return 0
		kill -0 "$hpid" 2>/dev/null || break
		sleep 0.05
	done
	bad "holder ember did not start: $(head -c 300 "$tmp/h.out")"
}
holder_stop() {
	kill -"${1:-TERM}" "$hpid" 2>/dev/null
	wait "$hpid" 2>/dev/null
}
# runs NAME ARGS...: a second ember that must boot exitguest and exit 0.
runs() {
	local name=$1 rc
	shift
	timeout 20 "$EMBER" run --kernel "$EXITGUEST" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	[ "$rc" = 0 ] && ok "$name: exit 0" || bad "$name: exit $rc $(head -c 300 "$tmp/err")"
}
RW="has it open read-write"
RO="has it open read-only and forbids writers"

# --- ember against ember -----------------------------------------------------
holder_start --disk "$tmp/l.img"
expect "rw held rw: second writer" 1 "--disk $tmp/l.img: locked: another ember or QEMU (or another disk of this VM) $RW" -- \
	run --kernel "$EXITGUEST" --disk "$tmp/l.img"
expect "rw held rw: reader" 1 "$RW" -- run --kernel "$EXITGUEST" --disk "$tmp/l.img,ro"
runs "rw held: another image is free" --disk "$tmp/l2.img"
holder_stop KILL
runs "rw holder killed: its locks went with it" --disk "$tmp/l.img"

holder_start --disk "$tmp/l.img,ro"
runs "ro held: a second reader" --disk "$tmp/l.img,ro"
expect "ro held: a writer" 1 "$RO" -- run --kernel "$EXITGUEST" --disk "$tmp/l.img"
holder_stop

expect "one VM, the image twice read-write" 1 "$RW" -- \
	run --kernel "$EXITGUEST" --disk "$tmp/l.img" --disk "$tmp/l.img"
expect "one VM, read-write then read-only" 1 "$RW" -- \
	run --kernel "$EXITGUEST" --disk "$tmp/l.img" --disk "$tmp/l.img,ro"
runs "one VM, the image twice read-only" --disk "$tmp/l.img,ro" --disk "$tmp/l.img,ro"
ln -s "$tmp/l.img" "$tmp/l.link"
expect "one VM, the image and a symlink to it" 1 "$RW" -- \
	run --kernel "$EXITGUEST" --disk "$tmp/l.img" --disk "$tmp/l.link"

# --- ember against QEMU ------------------------------------------------------
# qemu_hold IMG [readonly]: QEMU with a virtio-blk disk on IMG, stopped (-S,
# no guest code runs) but holding its locks as a running VM does.
qemu_hold() {
	"$QEMU" -nodefaults -display none -machine accel=tcg -S \
		-drive "file=$1,format=raw,if=none,id=d0${2:+,readonly=on}" \
		-device virtio-blk-pci,drive=d0 >"$tmp/q.out" 2>&1 </dev/null &
	qpid=$!
	held "$1" || bad "QEMU did not lock $1: $(head -c 300 "$tmp/q.out")"
}
qemu_stop() {
	kill "$qpid" 2>/dev/null
	wait "$qpid" 2>/dev/null
}
# qemu_refused NAME IMG [readonly] WANT: a QEMU on IMG exits 1 with WANT.
qemu_refused() {
	local name=$1 rc
	timeout 20 "$QEMU" -nodefaults -display none -machine accel=tcg -S \
		-drive "file=$2,format=raw,if=none,id=d0${3:+,readonly=on}" \
		-device virtio-blk-pci,drive=d0 >"$tmp/q2.out" 2>&1 </dev/null
	rc=$?
	if [ "$rc" = 1 ] && grep -qF -- "$4" "$tmp/q2.out"; then
		ok "$name: $(head -n 1 "$tmp/q2.out")"
	else
		bad "$name: QEMU exit $rc, want 1 with '$4': $(head -c 300 "$tmp/q2.out")"
	fi
}

if [ -z "$QEMU" ]; then
	echo "skip - $CLASS: QEMU cases: no qemu-system-x86_64 (scripts/deps.sh installs it)"
else
	qemu_hold "$tmp/l.img"
	expect "QEMU writes: ember writer refused" 1 "$RW" -- run --kernel "$EXITGUEST" --disk "$tmp/l.img"
	expect "QEMU writes: ember reader refused" 1 "$RW" -- \
		run --kernel "$EXITGUEST" --disk "$tmp/l.img,ro"
	qemu_stop
	qemu_hold "$tmp/l.img" ro
	runs "QEMU reads: ember reader shares" --disk "$tmp/l.img,ro"
	expect "QEMU reads: ember writer refused" 1 "$RO" -- run --kernel "$EXITGUEST" --disk "$tmp/l.img"
	qemu_stop

	holder_start --disk "$tmp/l.img"
	qemu_refused "ember writes: QEMU writer refused" "$tmp/l.img" "" 'Failed to get "write" lock'
	qemu_refused "ember writes: QEMU reader refused" "$tmp/l.img" ro 'Failed to get shared "write" lock'
	holder_stop
	holder_start --disk "$tmp/l.img,ro"
	qemu_refused "ember reads: QEMU writer refused" "$tmp/l.img" "" 'Failed to get "write" lock'
	holder_stop
fi

# --- a block device: locked on its device node, as QEMU does ------------------
loopdev=
if [ "$(id -u)" = 0 ] && command -v losetup >/dev/null; then
	loopdev=$(losetup -f --show "$tmp/l3.img" 2>/dev/null)
fi
if [ -z "$loopdev" ]; then
	echo "skip - $CLASS: block device cases: need root and a free loop device"
else
	holder_start --disk "$loopdev"
	expect "block device held: second writer" 1 "--disk $loopdev: locked: " -- \
		run --kernel "$EXITGUEST" --disk "$loopdev"
	[ -n "$QEMU" ] && qemu_refused "block device held: QEMU refused" "$loopdev" "" \
		'Failed to get "write" lock'
	holder_stop
	if [ -n "$QEMU" ]; then
		qemu_hold "$loopdev"
		expect "QEMU holds the block device: ember refused" 1 "$RW" -- \
			run --kernel "$EXITGUEST" --disk "$loopdev,ro"
		qemu_stop
	fi
	losetup -d "$loopdev"
fi

# --- PATCH /drives: the new file locked, the old one released -----------------
fcsock=$tmp/lk.sock
rm -f "$fcsock"
"$EMBER" firecracker --api-sock "$fcsock" >"$tmp/fc.out" 2>"$tmp/fc.err" </dev/null &
fcpid=$!
for _ in $(seq 100); do [ -S "$fcsock" ] && break; sleep 0.05; done
lapi() { # lapi METHOD PATH BODY: prints the status, body in $tmp/api.body
	curl -s -m 10 --unix-socket "$fcsock" -X "$1" "http://localhost$2" \
		-H 'Content-Type: application/json' ${3:+-d "$3"} -o "$tmp/api.body" -w '%{http_code}'
}
lapiwant() { # lapiwant NAME STATUS SUBSTRING METHOD PATH BODY
	local name=$1 want=$2 sub=$3 got
	shift 3
	got=$(lapi "$@")
	if [ "$got" = "$want" ] && { [ -z "$sub" ] || grep -qF -- "$sub" "$tmp/api.body"; }; then
		ok "$name: $got $(head -c 200 "$tmp/api.body")"
	else
		bad "$name: got '$got' $(head -c 300 "$tmp/api.body"), want $want with '$sub'"
	fi
}
drive() { printf '{"drive_id": "%s", "path_on_host": "%s", "is_root_device": false}' "$1" "$2"; }
lapi PUT /boot-source "{\"kernel_image_path\": \"$WAITGUEST\"}" >/dev/null
lapi PUT /drives/a "$(drive a "$tmp/l.img")" >/dev/null
lapi PUT /drives/b "$(drive b "$tmp/l.img")" >/dev/null
lapiwant "api: two drives on one image" 400 "locked" PUT /actions '{"action_type": "InstanceStart"}'
lapi PUT /drives/b "$(drive b "$tmp/l3.img")" >/dev/null
lapiwant "api: start" 204 "" PUT /actions '{"action_type": "InstanceStart"}'
expect "api: running drive locked" 1 "$RW" -- run --kernel "$EXITGUEST" --disk "$tmp/l.img"
lapiwant "api: PATCH to another image" 204 "" PATCH /drives/a "{\"drive_id\": \"a\", \"path_on_host\": \"$tmp/l2.img\"}"
runs "api: the old image released" --disk "$tmp/l.img"
expect "api: the new image locked" 1 "$RW" -- run --kernel "$EXITGUEST" --disk "$tmp/l2.img"
lapiwant "api: PATCH to the same image (after a resize)" 204 "" PATCH /drives/a \
	"{\"drive_id\": \"a\", \"path_on_host\": \"$tmp/l2.img\"}"
expect "api: still locked after the same-image PATCH" 1 "$RW" -- \
	run --kernel "$EXITGUEST" --disk "$tmp/l2.img"
lapiwant "api: PATCH to the other drive's image" 400 "locked" PATCH /drives/a \
	"{\"drive_id\": \"a\", \"path_on_host\": \"$tmp/l3.img\"}"
expect "api: the refused PATCH kept its image" 1 "$RW" -- run --kernel "$EXITGUEST" --disk "$tmp/l2.img"
if [ -n "$QEMU" ]; then
	qemu_hold "$tmp/l.img"
	lapiwant "api: PATCH to an image QEMU writes" 400 "$RW" PATCH /drives/a \
		"{\"drive_id\": \"a\", \"path_on_host\": \"$tmp/l.img\"}"
	qemu_stop
fi
lapiwant "api: the guest still runs" 200 "Running" GET / ""
kill "$fcpid" 2>/dev/null
wait "$fcpid" 2>/dev/null
runs "api: ember gone, its images free" --disk "$tmp/l2.img" --disk "$tmp/l3.img"
