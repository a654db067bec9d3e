# SPDX-License-Identifier: MIT
# Signals: every stop signal ends ember cleanly within 1 s: status 0, the
# terminal restored, the vsock and API sockets removed.

# On a terminal (raw mode), with a vsock device: each stop signal.
for sig in TERM INT HUP QUIT USR2 ALRM VTALRM PROF XCPU PWR IO; do
	rm -f "$tmp/v.sock"
	ptyrun --wait 'waitguest: ready' --act "signal:$sig" --timeout 20 -- \
		"$EMBER" run --kernel "$WAITGUEST" --vsock "cid=3,uds=$tmp/v.sock"
	if [ "$(ptyget status)" = 0 ] && [ "$(ptyget termios)" = same ] && [ ! -e "$tmp/v.sock" ]; then
		ok "SIG$sig on a terminal: status 0 in $(ptyget after_act) s, terminal restored, vsock socket removed"
	else
		bad "SIG$sig on a terminal: $(tr '\n' ' ' <"$tmp/pty.report") socket $(ls "$tmp/v.sock" 2>&1)"
	fi
done

# Without a terminal, with the API socket too.
rm -f "$tmp/v.sock" "$tmp/api.sock"
"$EMBER" run --kernel "$WAITGUEST" --vsock "cid=3,uds=$tmp/v.sock" --api-sock "$tmp/api.sock" \
	</dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do grep -q 'waitguest: ready' "$tmp/out" && break; sleep 0.1; done
kill -TERM $pid
t0=$(date +%s%N)
wait $pid
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$rc" = 0 ] && [ "$ms" -lt 1000 ] && [ ! -s "$tmp/err" ]; then
	ok "SIGTERM without a terminal: status 0 in $ms ms, nothing on stderr"
else
	bad "SIGTERM without a terminal: status $rc in $ms ms: $(head -c 300 "$tmp/err")"
fi
gone "SIGTERM without a terminal" "$tmp/v.sock" "$tmp/api.sock"

# A signal while the guest is paused through the API.
if [ -x "$(command -v python3)" ]; then
	rm -f "$tmp/api.sock"
	"$EMBER" run --kernel "$WAITGUEST" --api-sock "$tmp/api.sock" </dev/null >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	for _ in $(seq 100); do grep -q 'waitguest: ready' "$tmp/out" && break; sleep 0.1; done
	python3 - "$tmp/api.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
body = b'{"state": "Paused"}'
s.sendall(b"PATCH /vm HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
assert b"204" in s.recv(4096).split(b"\r\n")[0]
PY
	paused=$?
	kill -INT $pid
	t0=$(date +%s%N)
	wait $pid
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	if [ "$paused" = 0 ] && [ "$rc" = 0 ] && [ "$ms" -lt 1000 ]; then
		ok "SIGINT while paused: status 0 in $ms ms"
	else
		bad "SIGINT while paused: pause $paused, status $rc in $ms ms: $(head -c 300 "$tmp/err")"
	fi
	gone "SIGINT while paused" "$tmp/api.sock"
fi

# SIGTERM with a writable disk: what the guest wrote is flushed to storage
# (fdatasync on the image) before ember exits. Seen with strace.
if command -v strace >/dev/null; then
	truncate -s 1M "$tmp/disk.img"
	strace -f -qq -e trace=fdatasync -o "$tmp/strace" \
		"$EMBER" run --kernel "$WAITGUEST" --disk "$tmp/disk.img" </dev/null >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	for _ in $(seq 100); do grep -q 'waitguest: ready' "$tmp/out" && break; sleep 0.1; done
	pkill -TERM -P $pid -x ember 2>/dev/null || kill -TERM $pid
	wait $pid
	rc=$?
	if [ "$rc" = 0 ] && grep -q 'fdatasync(.*= 0' "$tmp/strace"; then
		ok "SIGTERM with a writable disk: status 0, the image flushed (fdatasync) before exit"
	else
		bad "SIGTERM with a writable disk: status $rc, strace: $(head -c 300 "$tmp/strace")"
	fi
else
	bad "SIGTERM with a writable disk: needs strace (scripts/deps.sh installs it)"
fi
