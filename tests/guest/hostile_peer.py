#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The host side of hostileguest's virtio-vsock and virtio-net checks.

run.sh starts one of each next to ember and stops them with SIGTERM.

  hostile_peer.py vsock PATH RESULT
      Listens on PATH (ember's --vsock uds= path plus "_5000", where a guest
      connection to host port 5000 arrives). Per connection: reads the
      guest's 16-byte ping, answers "pong from host!!", reads until the
      guest closes. RESULT gets one line per connection: "got <bytes>".

  hostile_peer.py net IFNAME RESULT
      On the TAP interface IFNAME (run.sh creates it up, IPv6 off, and
      ember attaches to it), sends a frame of ethertype 0x88b5 every 20 ms
      (what the guest receives: hostile_virtio.c's rx_byte() pattern) and
      counts the frames of that type the guest sends whose payload begins
      "hostileguest tx frame". RESULT holds the count, rewritten as it grows.
"""
import os
import signal
import socket
import sys
import time

ETHERTYPE = 0x88B5
RX_LEN = 200  # frame bytes, as NET_RX_LEN in hostile_virtio.c
PING = b"ping from guest!"
PONG = b"pong from host!!"
PACKET_OUTGOING = 4


def stop(signum, frame):
    sys.exit(0)


def vsock(path, result):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)
    with open(result, "w") as out:
        while True:
            conn, _ = srv.accept()
            conn.settimeout(30)
            got = b""
            try:
                while len(got) < len(PING):
                    b = conn.recv(len(PING) - len(got))
                    if not b:
                        break
                    got += b
                if got == PING:
                    conn.sendall(PONG)
                while True:
                    b = conn.recv(4096)
                    if not b:
                        break
                    got += b
            except OSError:
                pass
            conn.close()
            out.write("got %s\n" % got.decode("latin-1"))
            out.flush()


def frame(i):
    payload = bytes([i & 0xFF]) + bytes(
        (i * 31 + j * 7 + 3) & 0xFF for j in range(1, RX_LEN - 14)
    )
    return b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + ETHERTYPE.to_bytes(2, "big") + payload


def net(ifname, result):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETHERTYPE))
    s.bind((ifname, ETHERTYPE))
    s.setblocking(False)
    count = 0
    with open(result, "w") as out:
        out.write("0\n")
    i = 0
    while True:
        try:
            s.send(frame(i))
        except OSError:
            pass  # no carrier yet: ember has not attached
        i += 1
        deadline = time.monotonic() + 0.02
        while time.monotonic() < deadline:
            try:
                data, addr = s.recvfrom(65536)
            except BlockingIOError:
                time.sleep(0.002)
                continue
            if addr[2] == PACKET_OUTGOING:
                continue
            if data[14:35] == b"hostileguest tx frame":
                count += 1
                with open(result, "w") as out:
                    out.write("%d\n" % count)


def main():
    signal.signal(signal.SIGTERM, stop)
    if len(sys.argv) != 4 or sys.argv[1] not in ("vsock", "net"):
        sys.stderr.write("usage: hostile_peer.py vsock|net PATH|IFNAME RESULT\n")
        return 2
    if sys.argv[1] == "vsock":
        vsock(sys.argv[2], sys.argv[3])
    else:
        net(sys.argv[2], sys.argv[3])
    return 0


if __name__ == "__main__":
    sys.exit(main())
