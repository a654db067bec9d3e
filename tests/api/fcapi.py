# SPDX-License-Identifier: MIT
"""
The API tier's toolkit: an HTTP client over AF_UNIX that checks every
response against Firecracker's contract (v1.16.1, swagger/firecracker.yaml),
raw-socket helpers for malformed HTTP, ember processes with their console and
log captured, and the step/check bookkeeping behind the "ok - NAME" lines.

Python 3 standard library only. The schemas below are written from the
swagger file's definitions, one dict per definition; nothing is generated.
"""

import contextlib
import http.client
import json
import os
import re
import select
import signal
import socket
import subprocess
import threading
import time

# --- checks -------------------------------------------------------------------


class Fail(Exception):
    """A check that did not hold; the message says what was expected and got."""


class Abort(Exception):
    """A step failed: the rest of its scenario does not run."""


class _Counter:
    checks = 0


def expect(cond, msg):
    """One assertion. Every step must make at least one."""
    _Counter.checks += 1
    if not cond:
        raise Fail(msg)
    return cond


def short(b, n=300):
    """A response body or console excerpt for a failure message."""
    if isinstance(b, bytes):
        b = b.decode("utf-8", "replace")
    b = str(b)
    return b if len(b) <= n else b[:n] + "..."


# --- Firecracker's schema (definitions in swagger/firecracker.yaml) -------------
#
# A property whose value is null is accepted only when the property is not
# required: Firecracker prints every Option it leaves unset as null (serde
# without skip_serializing_if), and its own integration tests expect those
# nulls in GET /vm/config. Properties the definition does not list are an
# error: a client generated from the swagger file has no field for them.

INT = {"type": "integer"}
STR = {"type": "string"}
BOOL = {"type": "boolean"}

TOKEN_BUCKET = {
    "type": "object",
    "required": ["refill_time", "size"],
    "properties": {
        "one_time_burst": {"type": "integer", "minimum": 0},
        "refill_time": {"type": "integer", "minimum": 0},
        "size": {"type": "integer", "minimum": 0},
    },
}
RATE_LIMITER = {
    "type": "object",
    "properties": {"bandwidth": TOKEN_BUCKET, "ops": TOKEN_BUCKET},
}
BOOT_SOURCE = {
    "type": "object",
    "required": ["kernel_image_path"],
    "properties": {"boot_args": STR, "initrd_path": STR, "kernel_image_path": STR},
}
CPU_TEMPLATE = {"type": "string", "enum": ["C3", "T2", "T2S", "T2CL", "T2A", "None"]}
MACHINE_CONFIGURATION = {
    "type": "object",
    "required": ["mem_size_mib", "vcpu_count"],
    "properties": {
        "cpu_template": CPU_TEMPLATE,
        "smt": BOOL,
        "mem_size_mib": INT,
        "track_dirty_pages": BOOL,
        "vcpu_count": {"type": "integer", "minimum": 1, "maximum": 32},
        "huge_pages": {"type": "string", "enum": ["None", "2M"]},
    },
}
DRIVE = {
    "type": "object",
    "required": ["drive_id", "is_root_device"],
    "properties": {
        "drive_id": STR,
        "partuuid": STR,
        "is_root_device": BOOL,
        "cache_type": {"type": "string", "enum": ["Unsafe", "Writeback"]},
        "is_read_only": BOOL,
        "path_on_host": STR,
        "rate_limiter": RATE_LIMITER,
        "io_engine": {"type": "string", "enum": ["Sync", "Async"]},
        "socket": STR,
    },
}
NETWORK_INTERFACE = {
    "type": "object",
    "required": ["host_dev_name", "iface_id"],
    "properties": {
        "guest_mac": STR,
        "host_dev_name": STR,
        "iface_id": STR,
        "mtu": {"type": "integer", "minimum": 68, "maximum": 65535},
        "rx_rate_limiter": RATE_LIMITER,
        "tx_rate_limiter": RATE_LIMITER,
    },
}
VSOCK = {
    "type": "object",
    "required": ["guest_cid", "uds_path"],
    "properties": {
        "guest_cid": {"type": "integer", "minimum": 3},
        "uds_path": STR,
        "vsock_id": STR,
    },
}
ENTROPY_DEVICE = {"type": "object", "properties": {"rate_limiter": RATE_LIMITER}}
LOGGER = {
    "type": "object",
    "properties": {
        "level": {"type": "string"},  # case-insensitive enum
        "log_path": STR,
        "show_level": BOOL,
        "show_log_origin": BOOL,
        "module": STR,
    },
}
METRICS = {"type": "object", "required": ["metrics_path"], "properties": {"metrics_path": STR}}
BALLOON = {
    "type": "object",
    "required": ["amount_mib", "deflate_on_oom"],
    "properties": {
        "amount_mib": INT,
        "deflate_on_oom": BOOL,
        "stats_polling_interval_s": INT,
        "free_page_hinting": BOOL,
        "free_page_reporting": BOOL,
    },
}
CPU_CONFIG = {"type": "object", "properties": None}  # free-form (templates)
MMDS_CONFIG = {
    "type": "object",
    "required": ["network_interfaces"],
    "properties": {
        "version": {"type": "string", "enum": ["V1", "V2"]},
        "network_interfaces": {"type": "array", "items": STR},
        "ipv4_address": STR,
        "imds_compat": BOOL,
    },
}
PMEM = {
    "type": "object",
    "required": ["id", "path_on_host"],
    "properties": {
        "id": STR,
        "path_on_host": STR,
        "root_device": BOOL,
        "read_only": BOOL,
        "rate_limiter": RATE_LIMITER,
    },
}
MEMORY_HOTPLUG_CONFIG = {
    "type": "object",
    "properties": {
        "total_size_mib": INT,
        "slot_size_mib": {"type": "integer", "minimum": 128},
        "block_size_mib": {"type": "integer", "minimum": 2},
    },
}
FULL_VM_CONFIGURATION = {
    "type": "object",
    "properties": {
        "balloon": BALLOON,
        "drives": {"type": "array", "items": DRIVE},
        "boot-source": BOOT_SOURCE,
        "cpu-config": CPU_CONFIG,
        "logger": LOGGER,
        "machine-config": MACHINE_CONFIGURATION,
        "metrics": METRICS,
        "memory-hotplug": MEMORY_HOTPLUG_CONFIG,
        "mmds-config": MMDS_CONFIG,
        "network-interfaces": {"type": "array", "items": NETWORK_INTERFACE},
        "pmem": {"type": "array", "items": PMEM},
        "vsock": VSOCK,
        "entropy": ENTROPY_DEVICE,
    },
}
INSTANCE_INFO = {
    "type": "object",
    "required": ["app_name", "id", "state", "vmm_version"],
    "properties": {
        "app_name": STR,
        "id": STR,
        "state": {"type": "string", "enum": ["Not started", "Running", "Paused"]},
        "vmm_version": STR,
    },
}
FIRECRACKER_VERSION = {
    "type": "object",
    "required": ["firecracker_version"],
    "properties": {"firecracker_version": STR},
}
# Error has one optional property in the swagger file; every error a client
# can act on carries it, so it is required here, and not empty.
ERROR = {"type": "object", "required": ["fault_message"], "properties": {"fault_message": STR}}

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


def schema_errors(v, s, where="$"):
    """Every way v departs from schema s, as a list of strings."""
    errs = []
    t = s["type"]
    if not _TYPES[t](v):
        return [f"{where}: expected {t}, got {type(v).__name__} {short(json.dumps(v), 60)}"]
    if "enum" in s and v not in s["enum"]:
        errs.append(f"{where}: {v!r} is not one of {s['enum']}")
    if "minimum" in s and v < s["minimum"]:
        errs.append(f"{where}: {v} is below the minimum {s['minimum']}")
    if "maximum" in s and v > s["maximum"]:
        errs.append(f"{where}: {v} is above the maximum {s['maximum']}")
    if t == "array":
        for i, item in enumerate(v):
            errs += schema_errors(item, s["items"], f"{where}[{i}]")
    if t == "object" and s.get("properties") is not None:
        props, req = s["properties"], s.get("required", [])
        for k in req:
            if k not in v:
                errs.append(f"{where}: required property {k!r} is missing")
        for k, val in v.items():
            if k not in props:
                errs.append(f"{where}: property {k!r} is not in the schema")
            elif val is None:
                if k in req:
                    errs.append(f"{where}.{k}: required, but null")
            else:
                errs += schema_errors(val, props[k], f"{where}.{k}")
    return errs


def check_schema(v, s, what):
    errs = schema_errors(v, s)
    expect(not errs, f"{what} does not match the schema: " + "; ".join(errs[:5]))


# The schema of a 200 body, by method and path.
def schema_for(method, path):
    p = path.split("?")[0]
    if method == "GET":
        return {
            "/": INSTANCE_INFO,
            "/version": FIRECRACKER_VERSION,
            "/machine-config": MACHINE_CONFIGURATION,
            "/vm/config": FULL_VM_CONFIGURATION,
        }.get(p)
    return None


class Response:
    def __init__(self, method, path, status, version, headers, body):
        self.method, self.path = method, path
        self.status, self.version = status, version
        self.headers = headers  # lower-case name -> value (last one wins)
        self.body = body
        self.json = None

    @property
    def fault(self):
        return self.json.get("fault_message") if isinstance(self.json, dict) else None

    def __repr__(self):
        return f"{self.method} {self.path} -> {self.status} {short(self.body, 200)}"


def check_response(r):
    """What every answer from the API must be, whatever the request."""
    what = f"{r.method} {r.path} -> {r.status}"
    expect(r.version == "HTTP/1.1", f"{what}: status line says {r.version}, not HTTP/1.1")
    expect(
        r.headers.get("server") == "Firecracker API",
        f"{what}: Server header is {r.headers.get('server')!r}",
    )
    expect(
        r.status in (200, 204) or 400 <= r.status <= 499,
        f"{what}: status {r.status} is neither 200, 204 nor 4xx: {short(r.body)}",
    )
    if "content-length" in r.headers:
        expect(
            r.headers["content-length"] == str(len(r.body)),
            f"{what}: Content-Length {r.headers['content-length']} but {len(r.body)} body bytes",
        )
    if r.status == 204:
        expect(r.body == b"", f"{what}: a 204 with a body: {short(r.body)}")
        return r
    expect(
        r.headers.get("content-type") == "application/json",
        f"{what}: Content-Type is {r.headers.get('content-type')!r}",
    )
    try:
        r.json = json.loads(r.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise Fail(f"{what}: body is not JSON ({e}): {short(r.body)}")
    if r.status == 200:
        s = schema_for(r.method, r.path)
        expect(s is not None, f"{what}: a 200 with a body where none is defined: {short(r.body)}")
        check_schema(r.json, s, what)
    else:
        check_schema(r.json, ERROR, what)
        expect(
            isinstance(r.fault, str) and r.fault.strip() != "",
            f"{what}: empty fault_message",
        )
        expect(len(r.json) == 1, f"{what}: an error body with more than fault_message: {short(r.body)}")
    return r


# --- the client ------------------------------------------------------------------


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self._path)
        self.sock = s


class Api:
    """A keep-alive client, as the Go and Rust SDKs hold one: every request
    goes over the same connection until the server says Connection: close."""

    def __init__(self, sock_path, timeout=10.0):
        self.sock_path = sock_path
        self.timeout = timeout
        self.conn = None
        self.count = 0

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None, status=None, headers=None):
        """Send one request and check the response against the contract.
        body: a dict/list (sent as JSON), str or bytes (sent as is), or None.
        status: the status expected (an int or a tuple), or None for any."""
        if body is None:
            data = None
        elif isinstance(body, (bytes, str)):
            data = body.encode() if isinstance(body, str) else body
        else:
            data = json.dumps(body).encode()
        h = {"Accept": "application/json"}
        if data is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        if self.conn is None:
            self.conn = _UnixConnection(self.sock_path, self.timeout)
        try:
            self.conn.request(method, path, body=data, headers=h)
            resp = self.conn.getresponse()
            payload = resp.read()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise Fail(f"{method} {path}: {type(e).__name__}: {e}")
        self.count += 1
        version = {10: "HTTP/1.0", 11: "HTTP/1.1"}.get(resp.version, str(resp.version))
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        r = check_response(Response(method, path, resp.status, version, hdrs, payload))
        if hdrs.get("connection", "").lower() == "close":
            self.close()
        if status is not None:
            ok = r.status in status if isinstance(status, tuple) else r.status == status
            expect(ok, f"{method} {path}: status {r.status}, expected {status}: {short(r.body)}")
        return r

    def get(self, path, status=200):
        return self.request("GET", path, status=status)

    def put(self, path, body, status=204):
        return self.request("PUT", path, body, status=status)

    def patch(self, path, body, status=204):
        return self.request("PATCH", path, body, status=status)

    def fails(self, method, path, body=None, contains=(), status=400):
        """A request that must be refused: a 4xx (400 unless told) whose
        fault_message contains every string in contains."""
        r = self.request(method, path, body, status=status)
        if isinstance(contains, str):
            contains = (contains,)
        for c in contains:
            expect(c in r.fault, f"{method} {path}: fault_message {r.fault!r} does not say {c!r}")
        return r

    def state(self):
        return self.get("/").json["state"]


# --- raw HTTP ------------------------------------------------------------------------


def parse_responses(buf, methods_paths):
    """Split a byte stream into responses (Content-Length framed, no body for
    1xx/204). methods_paths names the request each answers, in order, for the
    checks (the last one repeats). Returns (responses, leftover bytes)."""
    out = []
    while True:
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return out, buf
        head = buf[:end].decode("latin-1").split("\r\n")
        m = re.match(r"(HTTP/\d\.\d) (\d{3}) ?(.*)$", head[0])
        if not m:
            raise Fail(f"not an HTTP status line: {short(head[0])}")
        hdrs = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        status = int(m.group(2))
        n = 0 if status < 200 or status == 204 else int(hdrs.get("content-length", "0"))
        if len(buf) < end + 4 + n:
            return out, buf
        body = buf[end + 4 : end + 4 + n]
        buf = buf[end + 4 + n :]
        i = min(len(out), len(methods_paths) - 1)
        method, path = methods_paths[i] if methods_paths else ("?", "?")
        out.append(Response(method, path, status, m.group(1), hdrs, body))


class Raw:
    """One AF_UNIX connection driven byte by byte."""

    def __init__(self, sock_path, timeout=5.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(sock_path)
        self.buf = b""
        self.closed = False  # the server closed (EOF or reset)

    def send(self, data):
        self.s.sendall(data)

    def read_until(self, n_responses, methods_paths, timeout=5.0):
        """Read until n responses have arrived or the server closed; check and
        return them (100 Continue included in the count)."""
        deadline = time.monotonic() + timeout
        while True:
            resps, _ = parse_responses(self.buf, methods_paths)
            if len(resps) >= n_responses or self.closed:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._recv(left)
        resps, self.buf = parse_responses(self.buf, methods_paths)
        for r in resps:
            if r.status >= 200:
                check_response(r)
        return resps

    def wait_closed(self, timeout=3.0):
        """True once the server has closed the connection."""
        deadline = time.monotonic() + timeout
        while not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._recv(left)
        return self.closed

    def _recv(self, timeout):
        r, _, _ = select.select([self.s], [], [], timeout)
        if not r:
            return
        try:
            d = self.s.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            d = b""
        if not d:
            self.closed = True
        self.buf += d

    def close(self):
        self.s.close()


# --- processes ----------------------------------------------------------------------------


class Proc:
    """A child process with its stdout and stderr captured line by line."""

    def __init__(self, argv, name, env=None, cwd=None, pass_fds=()):
        self.argv, self.name = argv, name
        self.p = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,
            pass_fds=pass_fds,
        )
        self.pid = self.p.pid
        self.out, self.err = [], []
        self.cv = threading.Condition()
        self.threads = [
            threading.Thread(target=self._pump, args=(self.p.stdout, self.out), daemon=True),
            threading.Thread(target=self._pump, args=(self.p.stderr, self.err), daemon=True),
        ]
        for t in self.threads:
            t.start()

    def _pump(self, f, lines):
        for raw in iter(f.readline, b""):
            with self.cv:
                lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self.cv.notify_all()
        with self.cv:
            self.cv.notify_all()

    def wait_line(self, stream, pattern, timeout, since=0):
        """Index of the first line at or after since that matches pattern."""
        lines = self.out if stream == "out" else self.err
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                for i in range(since, len(lines)):
                    if rx.search(lines[i]):
                        return i
                left = deadline - time.monotonic()
                if left <= 0 or (self.p.poll() is not None and all(not t.is_alive() for t in self.threads)):
                    break
                self.cv.wait(min(left, 0.2))
        raise Fail(
            f"{self.name}: no {stream} line matching {pattern!r} within {timeout} s"
            f" (exit status {self.p.poll()}); last lines: {self.tail(stream)}"
        )

    def matching(self, stream, pattern, since=0):
        rx = re.compile(pattern)
        with self.cv:
            lines = list(self.out if stream == "out" else self.err)
        return [(i, l) for i, l in enumerate(lines) if i >= since and rx.search(l)]

    def nlines(self, stream):
        with self.cv:
            return len(self.out if stream == "out" else self.err)

    def tail(self, stream, n=4):
        with self.cv:
            lines = (self.out if stream == "out" else self.err)[-n:]
        return " | ".join(lines) if lines else "(none)"

    def running(self):
        return self.p.poll() is None

    def signal(self, sig):
        if self.running():
            os.kill(self.pid, sig)

    def wait_exit(self, timeout):
        """The exit status, once the process has ended and its output is all
        read; a Fail if it has not ended in time."""
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Fail(f"{self.name}: still running after {timeout} s; stderr: {self.tail('err')}")
        for t in self.threads:
            t.join(2)
        return rc

    def kill(self):
        if self.running():
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        for f in (self.p.stdout, self.p.stderr):
            with contextlib.suppress(Exception):
                f.close()

    # /proc views of the process
    def fd_count(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise Fail(f"{self.name}: no VmRSS in /proc/{self.pid}/status")

    def thread_names(self):
        names = []
        for t in os.listdir(f"/proc/{self.pid}/task"):
            with contextlib.suppress(OSError):
                with open(f"/proc/{self.pid}/task/{t}/comm") as f:
                    names.append(f.read().rstrip("\n"))
        return names


def wait_socket(path, proc, timeout=5.0):
    """Wait until something accepts connections at path (the API socket)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.running():
            raise Fail(f"{proc.name} exited ({proc.p.returncode}) before its API socket appeared: {proc.tail('err')}")
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            s.close()
            return
        except OSError:
            time.sleep(0.005)
    raise Fail(f"{proc.name}: no API socket at {path} after {timeout} s")


class FifoReader:
    """Reads a FIFO the way Kata and the Go SDK do: opened O_RDONLY |
    O_NONBLOCK before the VMM starts, lines collected on a thread."""

    def __init__(self, path):
        os.mkfifo(path, 0o600)
        self.path = path
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self.lines, self.partial = [], b""
        self.lock = threading.Lock()
        self.stop = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop:
            r, _, _ = select.select([self.fd], [], [], 0.05)
            if not r:
                continue
            try:
                d = os.read(self.fd, 65536)
            except BlockingIOError:
                continue
            if not d:  # no writer (yet, or any more)
                time.sleep(0.02)
                continue
            with self.lock:
                self.partial += d
                *done, self.partial = self.partial.split(b"\n")
                self.lines += [l.decode("utf-8", "replace") for l in done]

    def snapshot(self):
        with self.lock:
            return list(self.lines)

    def wait(self, pred, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = [l for l in self.snapshot() if pred(l)]
            if got:
                return got
            time.sleep(0.02)
        return []

    def close(self):
        self.stop = True
        self.t.join(1)
        with contextlib.suppress(OSError):
            os.close(self.fd)


def tap_usable(name):
    """Can this process create a TAP (root with CAP_NET_ADMIN and
    /dev/net/tun)? Creates a transient one and lets it go. (True, "") or
    (False, why)."""
    import fcntl
    import struct

    if os.geteuid() != 0:
        return False, "not root: ember cannot create a TAP"
    try:
        fd = os.open("/dev/net/tun", os.O_RDWR)
    except OSError as e:
        return False, f"/dev/net/tun: {e.strerror}"
    try:
        TUNSETIFF, IFF_TAP, IFF_NO_PI = 0x400454CA, 0x0002, 0x1000
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    except OSError as e:
        return False, f"TUNSETIFF {name}: {e.strerror}"
    finally:
        os.close(fd)
    return True, ""
