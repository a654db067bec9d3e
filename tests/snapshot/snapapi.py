# SPDX-License-Identifier: MIT
"""
One request to ember's Firecracker API over its Unix socket, for
tests/snapshot/run.sh (curl is not a test dependency).

    python3 tests/snapshot/snapapi.py SOCK METHOD PATH [JSON-BODY]

Prints one line, "STATUS BODY" (the body on one line, at most 300
characters), and exits 0 whatever the status; exit 2 with "connect: ..."
when the socket does not answer (a connection refused or reset, a timeout).
"""

import http.client
import socket
import sys


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


def main():
    if len(sys.argv) not in (4, 5):
        print("usage: snapapi.py SOCK METHOD PATH [JSON-BODY]", file=sys.stderr)
        return 2
    sock, method, path = sys.argv[1:4]
    body = sys.argv[4] if len(sys.argv) == 5 else None
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    conn = UnixConnection(sock, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as e:
        print(f"connect: {sock}: {e}")
        return 2
    finally:
        conn.close()
    text = " ".join(text.split())
    print(f"{resp.status} {text[:300]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
