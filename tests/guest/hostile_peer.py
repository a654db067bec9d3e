#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The host side of hostileguest's virtio-vsock and virtio-net checks.

run.sh starts one of each next to ember and stops them with SIGTERM.

  hostile_peer.py vsock PATH RESULT UDS LOG
      Listens on PATH (ember's --vsock uds= path plus "_5000", where a guest
      connection to host port 5000 arrives). Per connection: reads the
      guest's 16-byte ping, answers "pong from host!!", reads until the
      guest closes. RESULT gets one line per connection: "got <bytes>".
      Also connects to the guest: once LOG (ember's output) holds the
      guest's "hostileguest: vsock waits for the host" line, connects to
      UDS (ember's socket), sends "CONNECT 5001", expects "OK <port>",
      sends "data from host!!" and reads until ember closes the socket
      (the guest ends the connection with a bad packet). RESULT gets
      "host-connect OK <port> eof", or "host-connect failed: <why>".

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
import threading
import time

ETHERTYPE = 0x88B5
RX_LEN = 200  # frame bytes, as NET_RX_LEN in hostile_virtio.c
PING = b"ping from guest!"
PONG = b"pong from host!!"
HOST_DATA = b"data from host!!"
MARKER = b"hostileguest: vsock waits for the host\n"
PACKET_OUTGOING = 4


def stop(signum, frame):
    sys.exit(0)


lock = threading.Lock()


def record(out, line):
    with lock:
        out.write(line + "\n")
        out.flush()


def host_connect(uds, log, out):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with open(log, "rb") as f:
                if MARKER in f.read():
                    break
        except OSError:
            pass
        time.sleep(0.02)
    else:
        record(out, "host-connect failed: no marker in the log")
        return
    try:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(30)
        c.connect(uds)
        c.sendall(b"CONNECT 5001\n")
        line = b""
        while not line.endswith(b"\n"):
            b = c.recv(1)
            if not b:
                raise OSError("closed before OK (got %r)" % line)
            line += b
        if not line.startswith(b"OK ") or not line[3:-1].isdigit():
            raise OSError("bad answer %r" % line)
        c.sendall(HOST_DATA)
        while c.recv(4096):
            pass
        record(out, "host-connect OK %s eof" % line[3:-1].decode())
    except OSError as e:
        record(out, "host-connect failed: %s" % e)


def vsock(path, result, uds, log):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)
    with open(result, "w") as out:
        threading.Thread(target=host_connect, args=(uds, log, out), daemon=True).start()
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
            record(out, "got %s" % got.decode("latin-1"))


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
    if sys.argv[1:2] == ["vsock"] and len(sys.argv) == 6:
        vsock(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    elif sys.argv[1:2] == ["net"] and len(sys.argv) == 4:
        net(sys.argv[2], sys.argv[3])
    else:
        sys.stderr.write("usage: hostile_peer.py vsock PATH RESULT UDS LOG | net IFNAME RESULT\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
