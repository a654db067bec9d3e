# virtio-net cases (sourced in L1 after cases.sh). L1 has no NIC: the guest
# talks to L1 itself over a TAP (tun.ko, loaded by l1-init.sh), 10.0.2.0/24.
LAB_CASES="$LAB_CASES net-ping net-tcp net-tcp-rx"

NET_HOST=10.0.2.1
NET_GUEST=10.0.2.15
NET_MAC=52:54:00:12:34:56
NET_BYTES=4194304 # 4 MiB per TCP transfer
# Guest commands (inside ember.cmd="...": no double quotes, \$ for the guest).
NET_UP="ip link set eth0 up && ip addr add $NET_GUEST/24 dev eth0"
# Wait up to 60 s until the guest has answered 3 echo requests (InEchos is
# field 10 of the second, values, Icmp: line of /proc/net/snmp).
NET_ECHOS="e=0; t=0; while [ \${e:-0} -lt 3 ] && [ \$t -lt 600 ]; do sleep 0.1; t=\$((t+1)); \
e=\$(awk '/^Icmp:/ {v=\$10} END {print v}' /proc/net/snmp); done; echo lab-echos=\$e"

# net_tap: a persistent tap0 in L1 (busybox tunctl), addressed and up. ember
# attaches to it with TUNSETIFF; the link has carrier while ember runs.
net_tap() {
	[ -c /dev/net/tun ] || fail "/dev/net/tun missing in L1 (tun.ko not loaded?)"
	ip link show tap0 >/dev/null 2>&1 || tunctl -t tap0 >/dev/null || fail "tunctl -t tap0 failed"
	ip addr flush dev tap0
	ip addr add $NET_HOST/24 dev tap0 || fail "ip addr add on tap0 failed"
	ip link set tap0 up
}

# net_wait STRING SECONDS: wait for a console line while ember ($pid) runs.
net_wait() {
	i=0
	until tr -d '\r' <"$D/out" | grep -q -- "$1"; do
		kill -0 $pid 2>/dev/null || return 1
		i=$((i + 1))
		[ $i -le $(($2 * 10)) ] || return 1
		sleep 0.1
	done
}

# Guest pings L1, then L1 pings the guest; a second ember on the same TAP is
# refused with a clear message; the MAC given with mac= reaches the guest. The
# guest kernel has no POSIX timers, so busybox ping cannot pace a series
# there (setitimer fails): one ping per run.
case_net_ping() {
	net_tap
	timeout -s KILL $T "$EMBER" run --kernel "$GK" --initrd "$GI" --net tap=tap0,mac=$NET_MAC \
		--cmdline "$BASE quiet ember.cmd=\"cat /sys/class/net/eth0/address && $NET_UP && \
for n in 1 2 3; do timeout 10 ping -c 1 $NET_HOST || exit 1; done && echo lab-net-up && \
$NET_ECHOS\"" \
		</dev/null >"$D/out" 2>"$D/err" &
	pid=$!
	echo none >"$D/rc2"
	if net_wait lab-net-up 90; then
		# The second ember first: the guest waits for L1's three pings
		# before it exits, so tap0 is surely still taken. (After the
		# pings, the first ember could already be gone.)
		"$EMBER" run --kernel "$GK" --net tap=tap0 </dev/null >/dev/null 2>"$D/err2"
		echo $? >"$D/rc2"
		ping -c 3 -W 10 $NET_GUEST >"$D/ping" 2>&1
	fi
	rc=0
	wait $pid || rc=$?
	tr -d '\r' <"$D/out" >"$D/console"
	expect_exit0
	expect_line "$NET_MAC"
	[ "$(grep -c '^1 packets transmitted, 1 packets received' "$D/console")" = 3 ] ||
		fail "guest -> L1 ping: $(grep 'packets transmitted' "$D/console" | tr '\n' ' ')"
	echo "# guest -> L1: $(grep -m1 '^round-trip' "$D/console")"
	grep -q '^3 packets transmitted, 3 packets received' "$D/ping" ||
		fail "L1 -> guest ping: $(grep -m1 'packets transmitted' "$D/ping" || tail -n1 "$D/ping")"
	echo "# L1 -> guest: $(grep -m1 '^round-trip' "$D/ping")"
	expect_line "lab-echos=3"
	[ "$(cat "$D/rc2")" = 1 ] || fail "a second ember on tap0 exited $(cat "$D/rc2"), want 1"
	grep -q '^ember: --net tap=tap0: TUNSETIFF: Device or resource busy' "$D/err2" ||
		fail "second ember on tap0: $(cat "$D/err2")"
}

# 4 MiB from the guest to L1 over TCP (busybox nc), hashed on both sides. The
# listener's stdin stays open (a FIFO held by fd 3): busybox nc half-closes
# when its stdin ends, and the guest's nc would stop sending. The guest's nc
# exits only after L1's has seen the end of the stream and closed.
case_net_tcp() {
	net_tap
	mkfifo "$D/hold"
	exec 3<>"$D/hold"
	nc -l -p 5001 <"$D/hold" >"$D/recv" &
	lpid=$!
	ember_run --initrd "$GI" --net tap=tap0 --cmdline "$BASE quiet ember.cmd=\"$NET_UP && \
echo feat=\$(cat /sys/class/net/eth0/device/features) && \
head -c $NET_BYTES /dev/urandom >/tmp/f && sha256sum /tmp/f && nc $NET_HOST 5001 </tmp/f && \
echo lab-sent\""
	exec 3>&-
	kill $lpid 2>/dev/null
	expect_exit0
	sed -n 's/^feat=/# guest virtio features: /p' "$D/console"
	expect_line lab-sent
	want=$(sed -n 's|^\([0-9a-f]*\)  /tmp/f$|\1|p' "$D/console")
	[ -n "$want" ] || fail "guest printed no sha256 of /tmp/f"
	size=$(wc -c <"$D/recv")
	got=$(sha256sum <"$D/recv" | cut -d' ' -f1)
	[ "$size" = $NET_BYTES ] || fail "L1 received $size bytes, want $NET_BYTES"
	[ "$got" = "$want" ] || fail "sha256 differs: guest $want, L1 $got"
}

# 4 MiB from L1 to the guest (exercises rx: GSO frames across mergeable
# buffers). The guest's nc keeps its stdin open for the same reason.
case_net_tcp_rx() {
	net_tap
	head -c $NET_BYTES /dev/urandom >"$D/data"
	want=$(sha256sum <"$D/data" | cut -d' ' -f1)
	nc -l -p 5002 <"$D/data" >/dev/null &
	lpid=$!
	ember_run --initrd "$GI" --net tap=tap0 --cmdline "$BASE quiet ember.cmd=\"$NET_UP && \
mkfifo /tmp/h && exec 3<>/tmp/h && nc $NET_HOST 5002 </tmp/h >/tmp/r; \
echo rx-bytes=\$(wc -c </tmp/r) && sha256sum /tmp/r\""
	kill $lpid 2>/dev/null
	expect_exit0
	expect_line "rx-bytes=$NET_BYTES"
	grep -q "^$want  /tmp/r\$" "$D/console" ||
		fail "sha256 differs: L1 $want, guest $(sed -n 's|  /tmp/r$||p' "$D/console")"
}
