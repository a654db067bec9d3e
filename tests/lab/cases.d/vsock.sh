# virtio-vsock cases (sourced in L1 after cases.sh): guest AF_VSOCK sockets
# meet AF_UNIX sockets in L1 through ember's --vsock, with Firecracker's
# hybrid convention. /bin/vsock-echo is the guest end (guest/vsock-echo.c),
# /lab/uds-echo the host end (tests/lab/uds-echo.c, staged by vsock.host.sh).
# Both check every byte of a payload four times Linux's default 256 KiB
# window, so credit updates must flow both ways.
LAB_CASES="$LAB_CASES vsock-host-to-guest vsock-guest-to-host"

VSOCK_BYTES=1048576

# vsock_host_result FILE: show the host end's output as notes.
vsock_host_result() { sed 's/^/# host: /' "$1"; }

# L1 connects to PATH, asks for guest port 1234 with "CONNECT 1234\n" and
# gets "OK <port>\n"; the guest echoes 1 MiB back. uds-echo retries until the
# guest listens (before that, the guest refuses and ember closes the socket).
# The guest also reports the CID from the device's config space.
case_vsock_host_to_guest() {
	uds=$D/v.sock
	hrc=0
	timeout -s KILL $T "$EMBER" run --kernel "$GK" --initrd "$GI" --vsock "cid=42,uds=$uds" \
		--cmdline "$BASE quiet ember.cmd=\"vsock-echo cid && vsock-echo listen 1234\"" \
		</dev/null >"$D/out" 2>"$D/err" &
	pid=$!
	timeout -s KILL $T /lab/uds-echo connect "$uds" 1234 $VSOCK_BYTES >"$D/host" 2>&1 || hrc=$?
	rc=0
	wait $pid || rc=$?
	tr -d '\r' <"$D/out" >"$D/console"
	vsock_host_result "$D/host"
	expect_exit0
	[ $hrc = 0 ] || fail "host end failed ($hrc): $(tail -n1 "$D/host")"
	# (Attempts the guest refused before it listened used up host ports.)
	grep -Eq "^uds-echo: ok $VSOCK_BYTES bytes \(host port [0-9]+\)\$" "$D/host" ||
		fail "host end did not report 'ok $VSOCK_BYTES bytes'"
	grep -q '^ember:' "$D/err" && fail "ember complained: $(grep -m1 '^ember:' "$D/err")"
	expect_line "vsock-echo: cid 42"
	expect_line "vsock-echo: echoed $VSOCK_BYTES bytes"
	expect_line "ember-init: exit status 0"
	[ ! -e "$uds" ] || fail "ember left $uds behind"
}

# The guest connects to host CID 2, port 5000: ember forwards it to
# PATH_5000, where L1 listens and echoes; the guest checks 1 MiB.
case_vsock_guest_to_host() {
	uds=$D/v.sock
	/lab/uds-echo listen "${uds}_5000" >"$D/host" 2>&1 &
	hpid=$!
	i=0
	until grep -q '^uds-echo: listening' "$D/host"; do
		i=$((i + 1))
		[ $i -le 100 ] || { kill $hpid; fail "host end never listened: $(cat "$D/host")"; }
		sleep 0.1
	done
	ember_run --initrd "$GI" --vsock "cid=3,uds=$uds" \
		--cmdline "$BASE quiet ember.cmd=\"vsock-echo connect 2 5000 $VSOCK_BYTES\""
	kill $hpid 2>/dev/null # still there only if no connection came
	wait $hpid 2>/dev/null
	vsock_host_result "$D/host"
	expect_exit0
	grep -q '^ember:' "$D/err" && fail "ember complained: $(grep -m1 '^ember:' "$D/err")"
	expect_line "vsock-echo: ok $VSOCK_BYTES bytes"
	expect_line "ember-init: exit status 0"
	grep -q "^uds-echo: echoed $VSOCK_BYTES bytes\$" "$D/host" ||
		fail "host end did not echo $VSOCK_BYTES bytes: $(tail -n1 "$D/host")"
	[ ! -e "$uds" ] || fail "ember left $uds behind"
}
