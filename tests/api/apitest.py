# SPDX-License-Identifier: MIT
"""
ember's API tier: the request sequences that real Firecracker users send,
replayed against build/firecracker on /dev/kvm, with every response checked
against Firecracker's contract (fcapi.py). See tests/api/README.md.

Usage: python3 tests/api/apitest.py [SCENARIO...]   (default: all, in order)
Prints "ok - SCENARIO: STEP # N checks" or "not ok - SCENARIO: STEP: why"
per step, "# note: ..." for anything skipped on purpose, and finally
"api: N passed, M failed". Exit status 1 on any failure.
"""

import base64
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fcapi import (  # noqa: E402
    Abort,
    Api,
    Fail,
    FifoReader,
    Proc,
    Raw,
    _Counter,
    expect,
    parse_responses,
    short,
    tap_usable,
    wait_socket,
)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EMBER = os.path.abspath(os.environ.get("EMBER", os.path.join(ROOT, "build", "ember")))
FIRECRACKER = os.path.join(os.path.dirname(EMBER), "firecracker")
GUESTS = os.path.join(ROOT, "build", "tests", "guest")
WAITGUEST = os.path.join(GUESTS, "waitguest.elf")

FC_VERSION = "1.16.1"
NOT_BEFORE = "The requested operation is not supported before starting the microVM."
NOT_AFTER = "The requested operation is not supported after starting the microVM."
READY = r"^waitguest: ready$"
TICK = r"^waitguest: tick \d+$"


# --- bookkeeping ---------------------------------------------------------------------


class Runner:
    def __init__(self):
        self.passed = self.failed = 0

    def line(self, s):
        print(s, flush=True)

    def note(self, s):
        self.line(f"# note: {s}")

    @contextlib.contextmanager
    def step(self, scenario, name):
        """A named group of checks: ok if all hold (at least one), not ok with
        the first that failed, and then the scenario stops."""
        _Counter.checks = 0
        t0 = time.monotonic()
        try:
            yield
        except Fail as e:
            self._report(False, scenario, name, str(e))
            raise Abort()
        except Abort:
            raise
        except Exception as e:  # a crash of the test itself is a failure too
            tb = traceback.extract_tb(e.__traceback__)[-1]
            self._report(
                False, scenario, name, f"{type(e).__name__}: {e} (at {os.path.basename(tb.filename)}:{tb.lineno})"
            )
            raise Abort()
        if _Counter.checks == 0:
            self._report(False, scenario, name, "the step asserted nothing")
            raise Abort()
        self._report(True, scenario, name, f"# {_Counter.checks} checks, {time.monotonic() - t0:.2f} s")

    def _report(self, ok, scenario, name, detail):
        if ok:
            self.passed += 1
            self.line(f"ok - {scenario}: {name} {detail}")
        else:
            self.failed += 1
            self.line(f"not ok - {scenario}: {name}: {detail}")


class Ctx:
    """One scenario's working directory and processes (all killed at the end)."""

    def __init__(self, runner, name, base):
        self.r, self.name = runner, name
        self.dir = os.path.join(base, name)
        os.makedirs(self.dir)
        self.procs, self.fifos, self.apis = [], [], []

    def step(self, name):
        return self.r.step(self.name, name)

    def note(self, s):
        self.r.note(f"{self.name}: {s}")

    def path(self, name):
        return os.path.join(self.dir, name)

    def image(self, name, size, fill=None):
        p = self.path(name)
        with open(p, "wb") as f:
            if fill is not None:
                f.write(fill * size)
            else:
                f.truncate(size)
        return p

    def spawn(self, argv, name=None, cwd=None, pass_fds=()):
        p = Proc(argv, name or os.path.basename(argv[0]), cwd=cwd, pass_fds=pass_fds)
        self.procs.append(p)
        return p

    def firecracker(self, *args, sock="firecracker.socket", cwd=None, wait=True, pass_fds=()):
        """build/firecracker (ember behind the name Firecracker users run)."""
        argv = [FIRECRACKER]
        spath = None
        if sock is not None:
            spath = self.path(sock)
            argv += ["--api-sock", spath]
        argv += list(args)
        p = self.spawn(argv, "firecracker", cwd=cwd, pass_fds=pass_fds)
        api = None
        if spath:
            if wait:
                wait_socket(spath, p)
            api = Api(spath)
            self.apis.append(api)
        return p, api, spath

    def fifo(self, name):
        f = FifoReader(self.path(name))
        self.fifos.append(f)
        return f

    def cleanup(self):
        for a in self.apis:
            a.close()
        for p in self.procs:
            p.kill()
        for f in self.fifos:
            f.close()


def asan_build():
    with open(EMBER, "rb") as f:
        return b"__asan_init" in f.read()


def tap_name(ctx, letter):
    return f"emt{os.getpid() % 100000}{letter}"


def net_or_note(ctx, letter):
    """A TAP name this run may use, or None with a visible note."""
    name = tap_name(ctx, letter)
    ok, why = tap_usable(name)
    if not ok:
        ctx.note(f"network interfaces skipped: {why}")
        return None
    return name


def wait_state(api, want, timeout=10.0, every=0.01):
    """Poll GET / as Kata does (every 10 ms) until state is want."""
    deadline = time.monotonic() + timeout
    polls = 0
    while True:
        polls += 1
        st = api.state()
        if st == want:
            return polls
        expect(time.monotonic() < deadline, f"GET / still says {st!r}, not {want!r}, after {timeout} s")
        time.sleep(every)


def waitguest_boot(kernel=WAITGUEST, args=None):
    b = {"kernel_image_path": kernel}
    if args is not None:
        b["boot_args"] = args
    return b


def ticks_stop_and_resume(ctx, p, api):
    """PATCH /vm Paused: GET / says Paused and no tick for >= 2 s; Resumed:
    Running, and the ticks go on."""
    p.wait_line("out", TICK, 5)  # it is ticking
    t0 = time.monotonic()
    api.patch("/vm", {"state": "Paused"})
    pause_ms = (time.monotonic() - t0) * 1000
    expect(api.state() == "Paused", "GET / does not say Paused after PATCH /vm Paused")
    time.sleep(0.2)  # a tick the guest wrote just before the pause may still be in the pipe
    n = p.nlines("out")
    time.sleep(2.2)
    new = [l for _, l in p.matching("out", TICK, since=n)]
    expect(not new, f"the guest ticked while paused: {new}")
    expect(api.state() == "Paused", "GET / no longer says Paused")
    n = p.nlines("out")
    api.patch("/vm", {"state": "Resumed"})
    expect(api.state() == "Running", "GET / does not say Running after PATCH /vm Resumed")
    p.wait_line("out", TICK, 5, since=n)
    return pause_ms


def exits_with(p, status, timeout):
    t0 = time.monotonic()
    rc = p.wait_exit(timeout)
    expect(rc == status, f"{p.name} exited with status {rc}, expected {status}; stderr: {p.tail('err')}")
    return time.monotonic() - t0


def gone(path, what):
    expect(not os.path.exists(path), f"{what} {path} still exists after ember exited")


def drive(drive_id, path, root=False, ro=False, rl=None, cache="Unsafe"):
    """A drive as GET /vm/config prints a virtio-block drive."""
    return {
        "drive_id": drive_id,
        "partuuid": None,
        "is_root_device": root,
        "cache_type": cache,
        "is_read_only": ro,
        "path_on_host": path,
        "rate_limiter": rl,
        "io_engine": "Sync",
        "socket": None,
    }


def drives_by_id(cfg):
    return {d["drive_id"]: d for d in cfg["drives"]}


def expect_eq(got, want, what):
    expect(got == want, f"{what}: got {short(json.dumps(got), 400)}, expected {short(json.dumps(want), 400)}")


# --- 1. Firecracker's getting-started guide ----------------------------------------


def s_getting_started(ctx):
    """docs/getting-started.md, one curl (one connection) per request:
    logger, boot-source, machine-config, drives/rootfs, network, InstanceStart;
    later SendCtrlAltDel ends the VM and Firecracker."""
    os.symlink(WAITGUEST, ctx.path("vmlinux-5.10"))
    ctx.image("ubuntu-22.04.ext4", 1 << 20)
    tap = net_or_note(ctx, "g")
    boot_args = "console=ttyS0 reboot=k panic=1 pci=off"

    def curl(p, method, path, body, status=204):
        # curl: a new connection for each request, closed after it
        a = Api(p)
        try:
            return a.request(method, path, body, status=status)
        finally:
            a.close()

    with ctx.step("spawn and configure"):
        p, api, sock = ctx.firecracker(cwd=ctx.dir)
        info = api.get("/").json
        expect_eq(
            info,
            {"id": "anonymous-instance", "state": "Not started", "vmm_version": FC_VERSION, "app_name": "Firecracker"},
            "GET /",
        )
        curl(sock, "PUT", "/logger", {"log_path": "./firecracker.log", "level": "Debug", "show_level": True, "show_log_origin": True})
        curl(sock, "PUT", "/boot-source", {"kernel_image_path": "./vmlinux-5.10", "boot_args": boot_args})
        curl(sock, "PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 1024})
        curl(sock, "PUT", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": "./ubuntu-22.04.ext4", "is_root_device": True, "is_read_only": False})
        if tap:
            curl(sock, "PUT", "/network-interfaces/net1", {"iface_id": "net1", "guest_mac": "06:00:AC:10:00:02", "host_dev_name": tap})
        cfg = api.get("/vm/config").json
        expect_eq(cfg["drives"], [drive("rootfs", "./ubuntu-22.04.ext4", root=True)], "GET /vm/config drives")
        expect_eq(
            cfg["boot-source"],
            {"kernel_image_path": "./vmlinux-5.10", "initrd_path": None, "boot_args": boot_args},
            "GET /vm/config boot-source",
        )
        expect_eq(
            cfg["machine-config"],
            {"vcpu_count": 2, "mem_size_mib": 1024, "smt": False, "track_dirty_pages": False, "huge_pages": "None"},
            "GET /vm/config machine-config",
        )
        want_net = []
        if tap:
            want_net = [{"iface_id": "net1", "host_dev_name": tap, "guest_mac": "06:00:ac:10:00:02", "mtu": None, "rx_rate_limiter": None, "tx_rate_limiter": None}]
        expect_eq(cfg["network-interfaces"], want_net, "GET /vm/config network-interfaces")
        expect(cfg["logger"] is None and cfg["metrics"] is None, "GET /vm/config reports logger or metrics (Firecracker never does)")

    with ctx.step("InstanceStart"):
        t0 = time.monotonic()
        curl(sock, "PUT", "/actions", {"action_type": "InstanceStart"})
        expect(api.state() == "Running", "GET / is not Running after InstanceStart")
        p.wait_line("out", READY, 5)
        ctx.r.note(f"getting-started: InstanceStart to 'waitguest: ready' in {(time.monotonic() - t0) * 1000:.0f} ms")
        cfg = api.get("/vm/config").json
        # The root device's root=, the virtio_mmio.device= and any console
        # are the boot's business: boot_args reads back as given.
        expect_eq(cfg["boot-source"]["boot_args"], boot_args, "boot_args after the start")
        expect_eq(cfg["drives"], [drive("rootfs", "./ubuntu-22.04.ext4", root=True)], "drives after the start")

    with ctx.step("the log file"):
        log = open(ctx.path("firecracker.log")).read().splitlines()
        expect(log, "./firecracker.log (relative to ember's directory) is empty")
        put_actions = [l for l in log if 'The API server received a PUT request on "/actions"' in l]
        expect(put_actions, f"the log has no line for PUT /actions: {short(' | '.join(log[-3:]))}")
        # show_level and show_log_origin: "[id:thread:LEVEL:file:line]"
        expect(re.match(r"^\S+ \[anonymous-instance:[^:\]]+:Info:[^:\]]+:\d+\] ", put_actions[0]), f"a log line without level and origin: {put_actions[0]!r}")
        expect(not any("Guest-boot-time" in l for l in log), "a boot time line without --boot-timer")

    with ctx.step("SendCtrlAltDel ends it"):
        t0 = time.monotonic()
        curl(sock, "PUT", "/actions", {"action_type": "SendCtrlAltDel"})
        p.wait_line("out", r"^waitguest: ctrl-alt-del$", 5)
        exits_with(p, 0, 5)
        ctx.r.note(f"getting-started: SendCtrlAltDel to exit in {(time.monotonic() - t0) * 1000:.0f} ms")
        gone(sock, "the API socket")
        if tap:
            gone(f"/sys/class/net/{tap}", "the transient TAP")


# --- 2. Kata Containers, Go runtime (virtcontainers/fc.go) ----------------------------


def s_kata_go(ctx):
    """fc.go: --version, then firecracker --api-sock S --config-file F with a
    read-only rootfs, 8 empty placeholder drives, vsock, logger and metrics
    FIFOs; GET / every 10 ms until Running; PATCH a placeholder; hybrid vsock;
    fc_vcpu N threads; SIGTERM."""
    with ctx.step("firecracker --version, parsed as Kata does"):
        p = ctx.spawn([FIRECRACKER, "--version"], "firecracker --version")
        expect(p.wait_exit(5) == 0, "--version did not exit 0")
        first = (p.out + [""])[0]
        fields = first.split(" ")
        expect(len(fields) > 1, f"first line {first!r} has no second word")
        version = fields[1].strip()
        version = version[1:] if version.startswith("v") else version
        m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", version)
        expect(m, f"version {version!r} is not semver")
        expect(tuple(map(int, m.groups())) >= (0, 21, 1), f"version {version} is below Kata's minimum 0.21.1")
        expect(version == FC_VERSION, f"version {version}, expected {FC_VERSION}")

    vcpus = 2
    tap = net_or_note(ctx, "k")
    with ctx.step("config file, spawn, GET / until Running"):
        logs = ctx.fifo("logs.fifo")
        metrics = ctx.fifo("metrics.fifo")
        rootfs = ctx.image("rootfs", 1 << 20, b"\x5a")
        placeholders = []
        for i in range(8):
            open(ctx.path(f"drive_{i}"), "w").close()  # os.Create: empty
            placeholders.append(ctx.path(f"drive_{i}"))
        hvsock = ctx.path("kata.hvsock")
        params = "pci=off reboot=k panic=1 iommu=off net.ifnames=0 random.trust_cpu=on acpi=off console=ttyS0"
        cfg = {
            "boot-source": {"kernel_image_path": WAITGUEST, "boot_args": params},
            "drives": [{"drive_id": "rootfs", "is_read_only": True, "is_root_device": False, "path_on_host": rootfs}]
            + [{"drive_id": f"drive_{i}", "is_read_only": False, "is_root_device": False, "path_on_host": placeholders[i]} for i in range(8)],
            "machine-config": {"mem_size_mib": 128, "smt": False, "vcpu_count": vcpus},
            "vsock": {"guest_cid": 3, "uds_path": hvsock, "vsock_id": "root"},
            "logger": {"level": "Debug", "log_path": logs.path},
            "metrics": {"metrics_path": metrics.path},
        }
        if tap:
            cfg["network-interfaces"] = [
                {
                    "guest_mac": "02:42:ac:11:00:02",
                    "host_dev_name": tap,
                    "iface_id": "eth0",
                    "rx_rate_limiter": {},  # Go's zero RateLimiter
                    "tx_rate_limiter": {"bandwidth": {"refill_time": 1000, "size": 131072}},
                }
            ]
        cfg_path = ctx.path("fcConfig.json")
        with open(cfg_path, "w") as f:
            json.dump(cfg, f, indent="\t")  # json.MarshalIndent(.., "", "\t")
        t0 = time.monotonic()
        p, api, sock = ctx.firecracker("--config-file", cfg_path, wait=False)
        # Kata dials until the socket answers, then polls GET / every 10 ms.
        wait_socket(sock, p, 10)
        polls = wait_state(api, "Running", 10.0, 0.01)
        ctx.r.note(f"kata-go: spawn to Running in {(time.monotonic() - t0) * 1000:.0f} ms ({polls} GET /)")
        p.wait_line("out", READY, 5)

    with ctx.step("GET /vm/config is the config file"):
        got = api.get("/vm/config").json
        want = [drive("rootfs", rootfs, ro=True)] + [drive(f"drive_{i}", placeholders[i]) for i in range(8)]
        expect_eq(got["drives"], want, "drives")
        expect_eq(got["machine-config"]["vcpu_count"], vcpus, "vcpu_count")
        expect_eq(got["machine-config"]["smt"], False, "smt")
        expect_eq(got["vsock"], {"guest_cid": 3, "uds_path": hvsock}, "vsock")
        expect_eq(got["boot-source"]["boot_args"], params, "boot_args")
        if tap:
            expect_eq(
                got["network-interfaces"],
                [{"iface_id": "eth0", "host_dev_name": tap, "guest_mac": "02:42:ac:11:00:02", "mtu": None, "rx_rate_limiter": None,
                  "tx_rate_limiter": {"bandwidth": {"size": 131072, "one_time_burst": None, "refill_time": 1000}, "ops": None}}],
                "network-interfaces",
            )
            expect(os.path.exists(f"/sys/class/net/{tap}"), f"TAP {tap} does not exist while the VM runs")

    with ctx.step("vCPU threads are fc_vcpu 0..N-1"):
        names = p.thread_names()
        vc = sorted(n for n in names if n.startswith("fc_vcpu"))
        expect_eq(vc, [f"fc_vcpu {i}" for i in range(vcpus)], f"vCPU thread names (all: {names})")

    with ctx.step("PATCH /drives/drive_0 hot-plugs an image"):
        layer = ctx.image("container-layer.img", 1 << 20)
        api.patch("/drives/drive_0", {"drive_id": "drive_0", "path_on_host": layer})
        d = drives_by_id(api.get("/vm/config").json)
        expect_eq(d["drive_0"], drive("drive_0", layer), "drive_0 after the PATCH")
        expect_eq(d["drive_1"], drive("drive_1", placeholders[1]), "drive_1 (untouched)")
        # and back to the placeholder, as Kata's hot-unplug does
        api.patch("/drives/drive_0", {"drive_id": "drive_0", "path_on_host": placeholders[0]})
        expect_eq(drives_by_id(api.get("/vm/config").json)["drive_0"]["path_on_host"], placeholders[0], "drive_0 after the unplug")
        api.patch("/drives/drive_0", {"drive_id": "drive_0", "path_on_host": layer})
        api.fails("PATCH", "/drives/drive_0", {"drive_id": "drive_0", "path_on_host": ctx.path("missing.img")}, "No such file")
        expect_eq(drives_by_id(api.get("/vm/config").json)["drive_0"]["path_on_host"], layer, "drive_0 after a failed PATCH")

    if tap:
        with ctx.step("PATCH /network-interfaces/eth0 rate limiters"):
            api.patch("/network-interfaces/eth0", {"iface_id": "eth0", "rx_rate_limiter": {"ops": {"size": 500, "refill_time": 100}}, "tx_rate_limiter": {"bandwidth": {"size": 0, "refill_time": 0}}})
            n = api.get("/vm/config").json["network-interfaces"][0]
            expect_eq((n["rx_rate_limiter"], n["tx_rate_limiter"]), ({"bandwidth": None, "ops": {"size": 500, "one_time_burst": None, "refill_time": 100}}, None), "rate limiters")
            api.fails("PATCH", "/network-interfaces/eth1", {"iface_id": "eth1"}, "eth1")

    with ctx.step("hybrid vsock: CONNECT with no guest driver"):
        # waitguest has no virtio-vsock driver. Like Firecracker, whose muxer
        # is polled only once the driver activates the device, ember accepts
        # nothing until then: the connection waits in the listen backlog,
        # unanswered (never "OK"), and the API keeps serving meanwhile.
        hv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        hv.settimeout(5)
        hv.connect(hvsock)
        hv.sendall(b"CONNECT 1024\n")
        hv.settimeout(1.0)
        try:
            got = hv.recv(64)
        except socket.timeout:
            got = None
        expect(got is None, f"an answer to CONNECT with no guest driver: {got!r}")
        expect(api.state() == "Running", "the API stopped answering behind a vsock client")

    with ctx.step("FlushMetrics: a metrics line on the FIFO"):
        api.put("/actions", {"action_type": "FlushMetrics"})
        lines = metrics.wait(lambda l: l.startswith("{"), 3)
        expect(lines, f"no JSON line on the metrics FIFO after FlushMetrics: {metrics.snapshot()[:2]}")
        m = json.loads(lines[-1])
        for k in ("utc_timestamp_ms", "api_server", "get_api_requests", "put_api_requests", "patch_api_requests", "block", "vcpu", "vmm", "logger"):
            expect(k in m, f"the metrics line has no {k!r}: {short(lines[-1])}")
        expect(isinstance(m["utc_timestamp_ms"], int) and abs(m["utc_timestamp_ms"] / 1000 - time.time()) < 60, f"utc_timestamp_ms {m['utc_timestamp_ms']} is not now")
        expect(m["get_api_requests"]["instance_info_count"] >= polls, f"instance_info_count {m['get_api_requests']['instance_info_count']} < our {polls} GET /")
        expect(m["patch_api_requests"]["drive_count"] == 4, f"patch_api_requests.drive_count {m['patch_api_requests']['drive_count']}, expected our 4")
        expect(m["patch_api_requests"]["drive_fails"] == 1, f"patch_api_requests.drive_fails {m['patch_api_requests']['drive_fails']}, expected 1")
        expect(m["put_api_requests"]["actions_count"] == 1, f"put_api_requests.actions_count {m['put_api_requests']['actions_count']} (FlushMetrics)")
        for i in range(8):
            expect(f"block_drive_{i}" in m, f"no block_drive_{i} group in the metrics")

    with ctx.step("the log FIFO"):
        got = logs.wait(lambda l: 'PATCH request on "/drives/drive_0"' in l, 3)
        expect(got, f"no log line for PATCH /drives/drive_0 on the log FIFO ({len(logs.snapshot())} lines)")

    with ctx.step("SIGTERM: exit 0, sockets removed"):
        p.signal(signal.SIGTERM)
        exits_with(p, 0, 5)
        gone(sock, "the API socket")
        gone(hvsock, "the hybrid vsock socket")
        # the vsock client waiting in the backlog is let go, not left hanging
        hv.settimeout(3)
        try:
            end = hv.recv(64)
        except ConnectionResetError:
            end = b""
        except socket.timeout:
            end = None
        expect(end == b"", f"the waiting vsock client was not closed when ember exited: {end!r}")
        hv.close()
        # metrics are flushed at exit too
        expect(metrics.wait(lambda l: l.startswith("{"), 2), "no metrics line at all")
        expect(len([l for l in metrics.snapshot() if l.startswith("{")]) >= 2, "no metrics line at exit after the FlushMetrics one")
        if tap:
            gone(f"/sys/class/net/{tap}", "the transient TAP")


# --- 3. Kata Containers, runtime-rs ---------------------------------------------------


def s_kata_rs(ctx):
    """runtime-rs firecracker: PUT boot-source, machine-config, drives rootfs
    and drive1..drive5, vsock, network, InstanceStart; PATCH /drives/driveN
    with a rate limiter."""
    tap = net_or_note(ctx, "r")
    with ctx.step("configure and start"):
        p, api, sock = ctx.firecracker()
        rootfs = ctx.image("rootfs.img", 1 << 20)
        api.put("/boot-source", {"kernel_image_path": WAITGUEST, "boot_args": "console=hvc0 pci=off iommu=off root=/dev/vda1 rootflags=data=ordered,errors=remount-ro ro rootfstype=ext4"})
        api.put("/machine-config", {"mem_size_mib": 128, "vcpu_count": 1})
        api.put("/drives/rootfs", {"drive_id": "rootfs", "path_on_host": rootfs, "is_root_device": False, "is_read_only": True})
        for i in range(1, 6):
            open(ctx.path(f"drive{i}"), "w").close()
            api.put(f"/drives/drive{i}", {"drive_id": f"drive{i}", "path_on_host": ctx.path(f"drive{i}"), "is_root_device": False, "is_read_only": False})
        vs = api.put("/vsock", {"guest_cid": 3, "uds_path": ctx.path("kata.hvsock"), "vsock_id": "root"})
        expect(vs.headers.get("deprecation") == "true", "PUT /vsock with vsock_id: no 'Deprecation: true' header")
        if tap:
            api.put("/network-interfaces/eth0", {"iface_id": "eth0", "guest_mac": None, "host_dev_name": tap})
        api.put("/actions", {"action_type": "InstanceStart"})
        expect(api.state() == "Running", "not Running after InstanceStart")
        p.wait_line("out", READY, 5)
        cfg = api.get("/vm/config").json
        expect_eq([d["drive_id"] for d in cfg["drives"]], ["rootfs"] + [f"drive{i}" for i in range(1, 6)], "drive order")
        if tap:
            expect_eq(cfg["network-interfaces"][0]["guest_mac"], None, "guest_mac left out")

    rl = {
        "bandwidth": {"size": 1048576, "one_time_burst": None, "refill_time": 1000},
        "ops": {"size": 1000, "one_time_burst": 100, "refill_time": 1000},
    }
    with ctx.step("PATCH /drives/drive1 with a rate limiter"):
        layer = ctx.image("layer1.img", 1 << 20)
        api.patch("/drives/drive1", {"drive_id": "drive1", "path_on_host": layer, "rate_limiter": rl})
        d = drives_by_id(api.get("/vm/config").json)
        expect_eq(d["drive1"], drive("drive1", layer, rl=rl), "drive1")
        expect_eq(d["drive2"]["rate_limiter"], None, "drive2's rate limiter")

    with ctx.step("PATCH rate limiter updates: null buckets keep, size 0 removes"):
        # Kata's RateLimiterConfig with no limits: both buckets null
        layer2 = ctx.image("layer2.img", 1 << 20)
        api.patch("/drives/drive2", {"drive_id": "drive2", "path_on_host": layer2, "rate_limiter": {"bandwidth": None, "ops": None}})
        d = drives_by_id(api.get("/vm/config").json)
        expect_eq(d["drive2"], drive("drive2", layer2), "drive2")
        api.patch("/drives/drive1", {"drive_id": "drive1", "rate_limiter": {"bandwidth": {"size": 0, "refill_time": 0}}})
        d = drives_by_id(api.get("/vm/config").json)
        expect_eq(d["drive1"]["rate_limiter"], {"bandwidth": None, "ops": rl["ops"]}, "drive1's rate limiter after removing bandwidth")
        api.patch("/drives/drive1", {"drive_id": "drive1", "rate_limiter": {"ops": {"size": 0, "refill_time": 1000}}})
        expect_eq(drives_by_id(api.get("/vm/config").json)["drive1"]["rate_limiter"], None, "drive1's rate limiter after removing both")

    with ctx.step("PATCH /drives refusals"):
        api.fails("PATCH", "/drives/drive3", {"drive_id": "drive3"}, "Unable to patch the block device")
        api.fails("PATCH", "/drives/drive9", {"drive_id": "drive9", "path_on_host": layer}, "drive9")
        api.fails("PATCH", "/drives/drive3", {"drive_id": "drive4", "path_on_host": layer}, "does not match")
        api.fails("PATCH", "/drives/drive3", {"drive_id": "drive3", "is_read_only": True}, "unknown field `is_read_only`")
        api.fails("PATCH", "/drives/drive3", {"drive_id": "drive3", "rate_limiter": {"bandwidth": {"size": 1}}}, "refill_time")
        api.fails("PATCH", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": ctx.image("odd.img", 1000)}, "512")
        expect_eq(drives_by_id(api.get("/vm/config").json)["drive3"], drive("drive3", ctx.path("drive3")), "drive3 after refusals")

    with ctx.step("stop"):
        p.signal(signal.SIGTERM)
        exits_with(p, 0, 5)
        gone(sock, "the API socket")
        gone(ctx.path("kata.hvsock"), "the hybrid vsock socket")


# --- 4. firecracker-containerd through firecracker-go-sdk -------------------------------


def s_fc_containerd(ctx):
    """The Go SDK's handler order: GET /machine-config until it answers;
    logger, metrics, machine-config, boot-source, drives, network, vsock,
    MMDS config (refused), InstanceStart; pause/resume; FlushMetrics; the
    SDK's Shutdown (SendCtrlAltDel)."""
    tap = net_or_note(ctx, "c")
    vmid = "ctr-vm_7"
    with ctx.step("readiness by GET /machine-config, then configure"):
        logs = ctx.fifo("fc-logs.fifo")
        metrics = ctx.fifo("fc-metrics.fifo")
        p, api, sock = ctx.firecracker("--id", vmid, wait=False)
        deadline = time.monotonic() + 5
        while True:
            try:
                mc = api.get("/machine-config")
                break
            except Fail:
                expect(time.monotonic() < deadline and p.running(), f"GET /machine-config never answered: {p.tail('err')}")
                time.sleep(0.01)
        expect_eq(mc.json, {"vcpu_count": 1, "mem_size_mib": 128, "smt": False, "track_dirty_pages": False, "huge_pages": "None"}, "the default machine config")
        api.put("/logger", {"log_path": logs.path, "level": "Debug", "show_level": True, "show_log_origin": False})
        api.put("/metrics", {"metrics_path": metrics.path})
        api.put("/machine-config", {"vcpu_count": 1, "mem_size_mib": 128, "smt": False, "track_dirty_pages": False})
        api.put("/boot-source", {"kernel_image_path": WAITGUEST, "boot_args": "console=ttyS0 noapic reboot=k panic=1 pci=off nomodules rw"})
        root = ctx.image("rootfs.img", 1 << 20)
        api.put("/drives/root_drive", {"drive_id": "root_drive", "path_on_host": root, "is_root_device": True, "is_read_only": True})
        # stub drives: ids are base32 of the stub file's name, content padded to a sector
        stub_ids = []
        for i in range(2):
            name = f"ctrstub{i}"
            sid = base64.b32encode(name.encode()).decode().rstrip("=")
            with open(ctx.path(name), "wb") as f:
                f.write(b"\xfc\xfc\xfc" + sid.encode() + b"\0" * (512 - 3 - len(sid)))
            api.put(f"/drives/{sid}", {"drive_id": sid, "path_on_host": ctx.path(name), "is_read_only": False, "is_root_device": False})
            stub_ids.append(sid)
        if tap:
            api.put("/network-interfaces/1", {"iface_id": "1", "host_dev_name": tap, "guest_mac": "AA:FC:00:00:00:01"})
        vs = api.put("/vsock", {"vsock_id": "agent_api", "guest_cid": 3, "uds_path": ctx.path("firecracker.vsock")})
        expect(vs.headers.get("deprecation") == "true", "PUT /vsock with vsock_id: no 'Deprecation: true' header")
        api.fails("PUT", "/mmds/config", {"network_interfaces": ["1"], "ipv4_address": "169.254.169.254", "version": "V2"}, ("ember does not implement", "/mmds/config"))
        api.fails("PUT", "/mmds", {"latest": {"meta-data": {}}}, ("ember does not implement", "/mmds"))

    with ctx.step("InstanceStart"):
        api.put("/actions", {"action_type": "InstanceStart"})
        info = api.get("/").json
        expect_eq((info["id"], info["state"]), (vmid, "Running"), "GET / id and state")
        p.wait_line("out", READY, 5)
        cfg = api.get("/vm/config").json
        expect_eq([d["drive_id"] for d in cfg["drives"]], ["root_drive"] + stub_ids, "drives, root first")

    with ctx.step("PATCH /vm pauses and resumes"):
        ms = ticks_stop_and_resume(ctx, p, api)
        ctx.r.note(f"fc-containerd: PATCH /vm Paused answered in {ms:.1f} ms")

    with ctx.step("FlushMetrics and the log"):
        api.put("/actions", {"action_type": "FlushMetrics"})
        lines = metrics.wait(lambda l: l.startswith("{"), 3)
        expect(lines, "no metrics line after FlushMetrics")
        m = json.loads(lines[-1])
        expect(m["put_api_requests"]["drive_count"] == 3, f"put_api_requests.drive_count {m['put_api_requests'].get('drive_count')}, expected 3")
        expect(m["patch_api_requests"].get("drive_count") == 0, "patch_api_requests.drive_count is not 0")
        expect(m["get_api_requests"]["machine_cfg_count"] >= 1, "get_api_requests.machine_cfg_count is 0")
        got = logs.wait(lambda l: "'pause vm' VMM action took" in l, 2)
        expect(got, "the log FIFO has no 'pause vm' line")
        expect(re.match(rf"^\S+ \[{vmid}:[^:\]]+:(Info|Debug)\] ", got[0]), f"log line without the id and level: {got[0]!r}")

    with ctx.step("Shutdown (SendCtrlAltDel) of a paused VM takes effect on resume"):
        api.patch("/vm", {"state": "Paused"})
        api.put("/actions", {"action_type": "SendCtrlAltDel"})
        time.sleep(1)
        expect(p.running(), "ember exited while the guest was paused")
        expect(not p.matching("out", r"ctrl-alt-del"), "the paused guest saw the keys")
        api.patch("/vm", {"state": "Resumed"})
        p.wait_line("out", r"^waitguest: ctrl-alt-del$", 5)
        exits_with(p, 0, 5)
        gone(sock, "the API socket")
        gone(ctx.path("firecracker.vsock"), "the vsock socket")


# --- 5. state semantics ------------------------------------------------------------------


def s_states(ctx):
    """Pre-boot-only and post-boot-only calls in the wrong state, a missing
    kernel, endpoints ember does not implement, unknown paths."""
    with ctx.step("before InstanceStart: post-boot calls refused"):
        p, api, sock = ctx.firecracker()
        img = ctx.image("d0.img", 1 << 20)
        api.put("/drives/d0", {"drive_id": "d0", "path_on_host": img, "is_root_device": False})
        # cpu_template is deprecated: accepted ("None") with Firecracker's header
        r = api.put("/machine-config", {"vcpu_count": 1, "mem_size_mib": 128, "cpu_template": "None"})
        expect(r.headers.get("deprecation") == "true", "PUT /machine-config with cpu_template: no 'Deprecation: true'")
        r = api.patch("/machine-config", {"mem_size_mib": 64})
        expect("deprecation" not in r.headers, "a Deprecation header without a deprecated field")
        expect_eq(api.get("/machine-config").json["mem_size_mib"], 64, "mem_size_mib after PATCH")
        # an entropy device with a limiter reads back as EntropyDevice
        api.put("/entropy", {"rate_limiter": {"bandwidth": {"size": 1000, "one_time_burst": 0, "refill_time": 100}}})
        expect_eq(api.get("/vm/config").json["entropy"], {"rate_limiter": {"bandwidth": {"size": 1000, "one_time_burst": None, "refill_time": 100}, "ops": None}}, "entropy")
        # one root device, kept first whatever the order of the PUTs
        root = ctx.image("root.img", 1 << 20)
        api.put("/drives/root", {"drive_id": "root", "path_on_host": root, "is_root_device": True})
        api.fails("PUT", "/drives/r2", {"drive_id": "r2", "path_on_host": root, "is_root_device": True}, "A root block device already exists")
        expect_eq([(d["drive_id"], d["is_root_device"]) for d in api.get("/vm/config").json["drives"]], [("root", True), ("d0", False)], "drive order")
        for method, path, body in [
            ("PATCH", "/vm", {"state": "Paused"}),
            ("PATCH", "/vm", {"state": "Resumed"}),
            ("PUT", "/actions", {"action_type": "SendCtrlAltDel"}),
            ("PUT", "/actions", {"action_type": "FlushMetrics"}),
            ("PATCH", "/drives/d0", {"drive_id": "d0", "path_on_host": img}),
            ("PATCH", "/network-interfaces/e0", {"iface_id": "e0"}),
            ("DELETE", "/drives/d0", None),  # Firecracker 1.16's hot-unplug
            ("DELETE", "/network-interfaces/e0", None),
        ]:
            api.fails(method, path, body, NOT_BEFORE)
        api.fails("DELETE", "/drives/d0", {"drive_id": "d0"}, "cannot have a body")
        api.fails("DELETE", "/drives/", None, "The ID cannot be empty.")
        expect(api.state() == "Not started", "the state changed")

    with ctx.step("a missing kernel is refused at once"):
        t0 = time.monotonic()
        api.fails("PUT", "/boot-source", {"kernel_image_path": ctx.path("no-such-vmlinux")}, ("kernel", "No such file"))
        expect(time.monotonic() - t0 < 2, "PUT /boot-source with a missing kernel took over 2 s")
        expect_eq(api.get("/vm/config").json["boot-source"]["kernel_image_path"], "", "kernel_image_path after the refusal")
        api.fails("PUT", "/boot-source", {"kernel_image_path": ctx.dir}, "not a regular file")
        api.fails("PUT", "/actions", {"action_type": "InstanceStart"}, "Start microvm error")
        expect(api.state() == "Not started", "InstanceStart without a kernel changed the state")

    with ctx.step("a failed InstanceStart leaves ember configurable"):
        api.put("/boot-source", {"kernel_image_path": WAITGUEST})
        open(ctx.path("not-a-socket"), "w").close()
        api.put("/vsock", {"guest_cid": 3, "uds_path": ctx.path("not-a-socket")})
        fds = p.fd_count()
        api.fails("PUT", "/actions", {"action_type": "InstanceStart"}, ("Start microvm error", "not-a-socket"))
        expect(api.state() == "Not started", "a failed InstanceStart changed the state")
        expect(p.fd_count() == fds, f"fds {fds} before a failed InstanceStart, {p.fd_count()} after")
        expect(os.path.isfile(ctx.path("not-a-socket")), "the file at uds_path was touched")
        api.put("/vsock", {"guest_cid": 3, "uds_path": ctx.path("v.sock")})

    with ctx.step("endpoints ember does not implement name themselves"):
        for method, path, body in [
            ("PUT", "/balloon", {"amount_mib": 0, "deflate_on_oom": False}),
            ("GET", "/balloon", None),
            ("PATCH", "/balloon/statistics", {"stats_polling_interval_s": 1}),
            ("PUT", "/mmds", {}),
            ("GET", "/mmds", None),
            ("PUT", "/mmds/config", {"network_interfaces": ["e0"]}),
            ("PUT", "/cpu-config", {"cpuid_modifiers": []}),
            ("PUT", "/hotplug/memory", {"total_size_mib": 1024}),
            ("GET", "/hotplug/memory", None),
            ("PUT", "/pmem/p0", {"id": "p0", "path_on_host": img}),
        ]:
            api.fails(method, path, body, (path, "not supported"))

    with ctx.step("snapshot calls follow Firecracker's state rules before the start"):
        api.fails("PUT", "/snapshot/create", {"snapshot_path": "s", "mem_file_path": "m"},
                  "not supported before starting the microVM")
        # Boot resources are configured by now: a load is refused as
        # Firecracker refuses it, and the configuration is untouched.
        before = api.get("/vm/config").json
        api.fails("PUT", "/snapshot/load",
                  {"snapshot_path": "s", "mem_backend": {"backend_type": "File", "backend_path": "m"}},
                  "not allowed after configuring boot-specific resources")
        api.fails("PUT", "/snapshot/load", {"snapshot_path": "s"},
                  "either `mem_backend` or `mem_file_path` is required")
        expect(api.get("/vm/config").json == before, "a refused load changed the configuration")

    with ctx.step("unknown paths and methods"):
        for method, path, body in [
            ("GET", "/foo", None),
            ("PUT", "/foo", {"a": 1}),
            ("POST", "/actions", {"action_type": "InstanceStart"}),
            ("PATCH", "/boot-source", {"kernel_image_path": WAITGUEST}),
            ("PATCH", "/logger", {"level": "Error"}),
            ("GET", "/drives/d0", None),
        ]:
            api.fails(method, path, body, ("Invalid request method and/or path", method))
        api.fails("PUT", "/drives/", {"drive_id": "d0"}, "The ID cannot be empty.")

    with ctx.step("InstanceStart, then pre-boot calls refused"):
        api.put("/actions", {"action_type": "InstanceStart"})
        p.wait_line("out", READY, 5)
        before = api.get("/vm/config").json
        vm = ctx.image("v.img", 1 << 20)
        for method, path, body in [
            ("PUT", "/boot-source", {"kernel_image_path": WAITGUEST}),
            ("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 256}),
            ("PATCH", "/machine-config", {"vcpu_count": 2}),
            ("PUT", "/drives/d1", {"drive_id": "d1", "path_on_host": vm, "is_root_device": False}),
            ("PUT", "/drives/d0", {"drive_id": "d0", "path_on_host": vm, "is_root_device": False}),
            ("PUT", "/network-interfaces/e0", {"iface_id": "e0", "host_dev_name": "tap-none"}),
            ("PUT", "/vsock", {"guest_cid": 3, "uds_path": ctx.path("v.sock")}),
            ("PUT", "/entropy", {}),
            ("PUT", "/logger", {"level": "Debug"}),
            ("PUT", "/metrics", {"metrics_path": ctx.path("m")}),
            ("PUT", "/actions", {"action_type": "InstanceStart"}),
        ]:
            api.fails(method, path, body, NOT_AFTER)
        expect_eq(api.get("/vm/config").json, before, "GET /vm/config after the refusals")
        expect(not os.path.exists(ctx.path("m")), "a refused PUT /metrics created its file")
        expect(api.state() == "Running", "not Running")

    with ctx.step("post-boot calls now work"):
        api.put("/actions", {"action_type": "FlushMetrics"})  # no metrics configured: nothing to write
        api.patch("/drives/d0", {"drive_id": "d0", "path_on_host": vm})
        api.fails("PATCH", "/network-interfaces/e0", {"iface_id": "e0"}, "e0")
        api.fails("PATCH", "/vm", {"state": "Frozen"}, "unknown variant `Frozen`")
        api.fails("DELETE", "/drives/d0", None, ("not supported", "hot-unplug"))
        api.patch("/vm", {"state": "Resumed"})  # resuming a running VM is no error
        expect(api.state() == "Running", "not Running after a Resumed")
        api.put("/actions", {"action_type": "SendCtrlAltDel"})
        exits_with(p, 0, 5)
        gone(sock, "the API socket")
        gone(ctx.path("v.sock"), "the vsock socket")


# --- 6. bad input: ember keeps serving ------------------------------------------------------


def still_serves(api, what):
    try:
        st = api.state()
    except Fail as e:
        raise Fail(f"after {what}, GET / failed: {e}")
    expect(st == "Not started", f"after {what}, GET / says {st!r}")


def refused_and_closed(sock, data, contains, methods_paths=(("?", "?"),), status=400):
    """Send data on a fresh connection: one answer with status and a
    fault_message containing contains, then the server closes."""
    c = Raw(sock)
    try:
        c.send(data)
        rs = c.read_until(1, list(methods_paths), 3)
        expect(rs, f"no answer to {short(data, 80)!r}")
        r = rs[0]
        expect(r.status == status, f"{short(data, 80)!r}: status {r.status}, expected {status}: {short(r.body)}")
        expect(contains in r.fault, f"{short(data, 80)!r}: fault_message {r.fault!r} does not say {contains!r}")
        expect(r.headers.get("connection") == "close", f"{short(data, 80)!r}: the answer does not say Connection: close")
        expect(c.wait_closed(3), f"{short(data, 80)!r}: the connection stayed open after a framing error")
        return r
    finally:
        c.close()


def s_bad_input(ctx):
    """Malformed HTTP and JSON, over-long heads and bodies, pipelining,
    disconnects: each refused with a 4xx and a fault_message (or the
    connection closed), and GET / still answers. Then 3000 bad requests: no
    fd leak, RSS growth under 1 MiB."""
    p, api, sock = None, None, None
    with ctx.step("spawn"):
        p, api, sock = ctx.firecracker()
        still_serves(api, "the start")

    with ctx.step("garbage, bad request lines, bad framing"):
        refused_and_closed(sock, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", "control byte")
        refused_and_closed(sock, b"hello there\r\n\r\n", "Invalid request")
        refused_and_closed(sock, b"GET / HTTP/2.0\r\n\r\n", "Unsupported HTTP version")
        refused_and_closed(sock, b"GET /\r\n\r\n", "Invalid request")
        refused_and_closed(sock, b"GET vm HTTP/1.1\r\n\r\n", "not an absolute path")
        refused_and_closed(sock, b"GET / HTTP/1.1\nHost: x\n\n", "LF without CR")
        refused_and_closed(sock, b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", "Header is incorrectly formatted")
        refused_and_closed(sock, b"PUT /actions HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "Content-Length")
        refused_and_closed(sock, b"PUT /actions HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "conflicting Content-Length")
        # chunked bodies: ember cannot decode them and says so (501, RFC 9112 6.1)
        # where micro_http would parse the chunks as the next request
        c = Raw(sock)
        c.send(b"PUT /actions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        expect(c.wait_closed(3), "the connection stayed open after a chunked request")
        rs, _ = parse_responses(c.buf, [("PUT", "/actions")])
        expect(len(rs) == 1 and rs[0].status == 501, f"chunked: {short(c.buf)}")
        expect(b'"fault_message":"Invalid header. Reason: Unsupported Transfer-Encoding' in rs[0].body, f"chunked: {short(c.buf)}")
        c.close()
        still_serves(api, "malformed requests")

    with ctx.step("truncated requests and clients that go away"):
        # a head and half a body, then the client disconnects
        c = Raw(sock)
        c.send(b'PUT /machine-config HTTP/1.1\r\nContent-Length: 64\r\n\r\n{"vcpu_count": 2, ')
        expect(not c.read_until(1, [("PUT", "/machine-config")], 0.3), "an answer to half a request")
        c.close()
        # half a head, then shutdown(SHUT_WR): closed without an answer
        c = Raw(sock)
        c.send(b"GET / HTTP/1.1\r\nHost: loc")
        c.s.shutdown(socket.SHUT_WR)
        expect(c.wait_closed(3), "ember kept a half-closed connection with half a request")
        expect(c.buf == b"", f"an answer to half a head: {short(c.buf)}")
        c.close()
        # a whole request, then shutdown(SHUT_WR): answered, then closed
        c = Raw(sock)
        c.send(b"GET / HTTP/1.1\r\n\r\n")
        c.s.shutdown(socket.SHUT_WR)
        rs = c.read_until(1, [("GET", "/")], 3)
        expect(len(rs) == 1 and rs[0].status == 200, f"no answer before the close: {short(c.buf)}")
        c.close()
        # a client that leaves before reading its answer
        for _ in range(20):
            c = Raw(sock)
            c.send(b"GET /vm/config HTTP/1.1\r\n\r\n")
            c.close()
        expect_eq(api.get("/machine-config").json["vcpu_count"], 1, "vcpu_count after a truncated PUT")
        still_serves(api, "disconnects")

    with ctx.step("over-long heads"):
        refused_and_closed(sock, b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", "exceed 8192 bytes")
        refused_and_closed(sock, b"GET /" + b"a" * 8300 + b" HTTP/1.1\r\n\r\n", "exceed 8192 bytes")
        refused_and_closed(sock, b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 101 + b"\r\n", "more than 100 header fields")
        # a head that never ends is refused once it passes the limit
        refused_and_closed(sock, b"GET / HTTP/1.1\r\n" + (b"X-A: " + b"b" * 100 + b"\r\n") * 90, "exceed 8192 bytes")
        still_serves(api, "over-long heads")

    with ctx.step("bodies over the limit (51200)"):
        body = json.dumps({"vcpu_count": 2, "mem_size_mib": 256}).encode()
        exact = body + b" " * (51200 - len(body))
        c = Raw(sock)
        # the refusal comes as soon as the head is read, before the body
        c.send(b"PUT /machine-config HTTP/1.1\r\nContent-Length: 51201\r\n\r\n")
        rs = c.read_until(1, [("PUT", "/machine-config")], 3)
        expect(rs and rs[0].status == 400 and "larger than the limit of 51200" in rs[0].fault, f"51201 bytes: {short(c.buf)}")
        c.close()
        api.request("PUT", "/machine-config", exact, status=204)
        expect_eq(api.get("/machine-config").json["mem_size_mib"], 256, "mem_size_mib after a 51200-byte PUT")
        api.put("/machine-config", {"vcpu_count": 1, "mem_size_mib": 128})
        still_serves(api, "large bodies")

    with ctx.step("--http-api-max-payload-size 1000"):
        p2, api2, sock2 = ctx.firecracker("--http-api-max-payload-size", "1000", sock="small.socket")
        api2.request("PUT", "/machine-config", body + b" " * (1000 - len(body)), status=204)
        # Refused from the head, before the body; ember then closes. (Raw: a
        # client that writes the head and the body separately, as Python's
        # http.client does, may find the socket closed before the body.)
        over = body + b" " * (1001 - len(body))
        head = b"PUT /machine-config HTTP/1.1\r\nContent-Length: 1001\r\n\r\n"
        for data in (head, head + over):
            refused_and_closed(sock2, data, "larger than the limit of 1000", [("PUT", "/machine-config")])
        expect_eq(api2.get("/machine-config").json["vcpu_count"], 2, "vcpu_count")
        p2.signal(signal.SIGTERM)
        exits_with(p2, 0, 5)

    with ctx.step("pipelined requests are answered in order"):
        reqs = [
            ("GET", "/", b""),
            ("PUT", "/machine-config", b'{"vcpu_count": 2, "mem_size_mib": 64}'),
            ("PUT", "/machine-config", b'{"vcpu_count": 2, "mem_size_mib": '),
            ("GET", "/machine-config", b""),
            ("GET", "/nowhere", b""),
            ("PUT", "/machine-config", b'{"vcpu_count": 1, "mem_size_mib": 128}'),
            ("GET", "/version", b""),
        ]
        data = b"".join(
            f"{m} {pth} HTTP/1.1\r\n".encode() + (f"Content-Length: {len(b)}\r\n".encode() if b else b"") + b"\r\n" + b
            for m, pth, b in reqs
        )
        c = Raw(sock)
        c.send(data)
        rs = c.read_until(len(reqs), [(m, pth) for m, pth, _ in reqs], 5)
        expect_eq([r.status for r in rs], [200, 204, 400, 200, 400, 204, 200], "statuses in order")
        expect_eq(rs[3].json["mem_size_mib"], 64, "GET /machine-config between the PUTs")
        expect_eq(rs[6].json, {"firecracker_version": FC_VERSION}, "GET /version")
        expect(not c.closed, "the connection closed after pipelined requests")
        # and byte by byte
        c.send(b"")
        for ch in b"GET /version HTTP/1.1\r\n\r\n":
            c.send(bytes([ch]))
        rs = c.read_until(1, [("GET", "/version")], 3)
        expect(len(rs) == 1 and rs[0].status == 200, "no answer to a request sent a byte at a time")
        c.close()

    with ctx.step("HTTP/1.0, Connection: close, Expect: 100-continue"):
        c = Raw(sock)
        c.send(b"GET / HTTP/1.0\r\n\r\n")
        rs = c.read_until(1, [("GET", "/")], 3)
        expect(len(rs) == 1 and rs[0].status == 200, f"HTTP/1.0: {short(c.buf)}")
        expect(c.wait_closed(3), "an HTTP/1.0 connection stayed open")
        c.close()
        c = Raw(sock)
        c.send(b"GET /version HTTP/1.1\r\nConnection: close\r\n\r\n")
        rs = c.read_until(1, [("GET", "/version")], 3)
        expect(len(rs) == 1 and rs[0].headers.get("connection") == "close", f"Connection: close: {short(c.buf)}")
        expect(c.wait_closed(3), "the connection stayed open after Connection: close")
        c.close()
        # curl's way with a large body: the head, "100 Continue", then the body
        body = b'{"vcpu_count": 2, "mem_size_mib": 64}'
        c = Raw(sock)
        c.send(b"PUT /machine-config HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
        rs = c.read_until(1, [("PUT", "/machine-config")], 3)
        expect([r.status for r in rs] == [100], f"no 100 Continue before the body: {short(c.buf)}")
        c.send(body)
        rs = c.read_until(1, [("PUT", "/machine-config")], 3)
        expect([r.status for r in rs] == [204], f"after the body: {[r.status for r in rs]} {short(c.buf)}")
        c.close()
        expect_eq(api.get("/machine-config").json["mem_size_mib"], 64, "mem_size_mib after the 100-continue PUT")
        api.put("/machine-config", {"vcpu_count": 1, "mem_size_mib": 128})

    with ctx.step("more connections than ember serves at once"):
        # micro_http's limit and answer: an 11th client gets 503 and a close
        api.close()
        held = [Raw(sock) for _ in range(10)]
        c = Raw(sock)
        expect(c.wait_closed(3), "an 11th connection was kept")
        rs, _ = parse_responses(c.buf, [("GET", "/")])
        expect(len(rs) == 1 and rs[0].status == 503 and b"Too many open connections" in rs[0].body, f"11th connection: {short(c.buf)}")
        c.close()
        for h in held:
            h.close()
        time.sleep(0.1)
        still_serves(api, "10 idle connections")

    with ctx.step("malformed JSON, unknown fields, wrong types, out-of-range values"):
        mc = "/machine-config"
        cases = [
            ("PUT", mc, "{vcpu_count: 2", "deserializing"),
            ("PUT", mc, '{"vcpu_count": 1, "mem_size_mib": 128,}', "deserializing"),
            ("PUT", mc, '{"vcpu_count": 1, "mem_size_mib": 128, "foo": 1}', "unknown field `foo`"),
            ("PUT", mc, '{"vcpu_count": "2", "mem_size_mib": 128}', "invalid type"),
            ("PUT", mc, '{"vcpu_count": 1.5, "mem_size_mib": 128}', "vcpu_count"),
            ("PUT", mc, '{"vcpu_count": 0, "mem_size_mib": 128}', "number of vCPUs"),
            ("PUT", mc, '{"vcpu_count": 1000, "mem_size_mib": 128}', "1000"),
            ("PUT", mc, '{"vcpu_count": 33, "mem_size_mib": 128}', "number of vCPUs"),
            ("PUT", mc, '{"vcpu_count": 3, "mem_size_mib": 128, "smt": true}', "even number"),
            ("PUT", mc, '{"vcpu_count": -2, "mem_size_mib": 128}', "vcpu_count"),
            ("PUT", mc, '{"vcpu_count": 1, "mem_size_mib": 0}', "memory size"),
            ("PUT", mc, '{"vcpu_count": 1, "mem_size_mib": 18446744073709551616}', "deserializing"),
            ("PUT", mc, '{"vcpu_count": 1, "mem_size_mib": 128, "huge_pages": "1G"}', "unknown variant"),
            ("PUT", mc, '{"vcpu_count": 1, "vcpu_count": 2, "mem_size_mib": 128}', "duplicate"),
            ("PUT", mc, '{"mem_size_mib": 128}', "missing field `vcpu_count`"),
            ("PUT", mc, "[]", "invalid type"),
            ("PUT", mc, "null", "invalid type"),
            ("PUT", mc, "[" * 5000 + "]" * 5000, "deserializing"),
            ("PUT", mc, b'{"vcpu_count": 1, "mem_size_mib": 128, "\xff": 1}', "deserializing"),
            ("PUT", mc, "", "Empty PUT request."),
            ("PATCH", mc, "{}", "Empty PATCH request."),
            ("PATCH", mc, '{"vcpu_count": 0}', "number of vCPUs"),
            ("PUT", "/boot-source", '{"kernel_image_path": 5}', "invalid type"),
            ("PUT", "/boot-source", '{"boot_args": "x"}', "missing field `kernel_image_path`"),
            ("PUT", "/drives/d0", '{"drive_id": "d0"}', "missing field `is_root_device`"),
            ("PUT", "/drives/d0", '{"drive_id": "d0", "is_root_device": false, "path_on_host": "/x", "cache_type": "Fast"}', "unknown variant `Fast`"),
            ("PUT", "/drives/d-0", '{"drive_id": "d-0", "is_root_device": false}', "alphanumeric"),
            ("PUT", "/vsock", '{"guest_cid": 2, "uds_path": "/tmp/x"}', "guest_cid"),
            ("PUT", "/vsock", '{"guest_cid": 4294967296, "uds_path": "/tmp/x"}', "guest_cid"),
            ("PUT", "/network-interfaces/e0", '{"iface_id": "e0", "host_dev_name": "t0", "guest_mac": "zz"}', "MAC"),
            ("PUT", "/network-interfaces/e0", '{"iface_id": "e0", "host_dev_name": "t0", "mtu": 20}', "MTU"),
            ("PUT", "/logger", '{"level": "Loud"}', "Loud"),
            ("PUT", "/actions", '{"action_type": "Reboot"}', "unknown variant `Reboot`"),
            ("PUT", "/actions", '{"action_type": "InstanceStart", "x": 1}', "unknown field"),
            ("PATCH", "/vm", '{"state": "Paused"}', NOT_BEFORE),
        ]
        for method, path, body, contains in cases:
            api.fails(method, path, body, contains)
        api.fails("GET", "/", "{}", "GET request cannot have a body.")
        expect_eq(
            api.get("/machine-config").json,
            {"vcpu_count": 1, "mem_size_mib": 128, "smt": False, "track_dirty_pages": False, "huge_pages": "None"},
            "the machine config after every refusal",
        )
        expect_eq(api.get("/vm/config").json["drives"], [], "drives after the refusals")
        still_serves(api, "bad JSON")

    with ctx.step("conflicting devices"):
        img = ctx.image("a.img", 1 << 20)
        api.put("/drives/a", {"drive_id": "a", "path_on_host": img, "is_root_device": False})
        api.put("/drives/a", {"drive_id": "a", "path_on_host": img, "is_root_device": False, "is_read_only": True})
        expect_eq(api.get("/vm/config").json["drives"], [drive("a", img, ro=True)], "a drive replaced by a second PUT")
        api.put("/network-interfaces/e1", {"iface_id": "e1", "host_dev_name": "emtap1", "guest_mac": "06:00:00:00:00:01"})
        api.fails("PUT", "/network-interfaces/e2", {"iface_id": "e2", "host_dev_name": "emtap2", "guest_mac": "06:00:00:00:00:01"}, "MAC address is already in use")
        api.fails("PUT", "/network-interfaces/e2", {"iface_id": "e2", "host_dev_name": "emtap1"}, "emtap1")
        api.fails("PUT", "/network-interfaces/e2", {"iface_id": "e2", "host_dev_name": "a" * 16}, "Invalid interface name")
        expect_eq([n["iface_id"] for n in api.get("/vm/config").json["network-interfaces"]], ["e1"], "interfaces after the refusals")
        api.fails("PUT", "/drives/big", {"drive_id": "big", "path_on_host": ctx.image("odd.img", 1000), "is_root_device": False}, "512")
        api.fails("PUT", "/drives/dev", {"drive_id": "dev", "path_on_host": "/dev/null", "is_root_device": False}, "not a regular file or block device")
        api.fails("PUT", "/boot-source", {"kernel_image_path": WAITGUEST, "initrd_path": ctx.path("none")}, "initrd")
        api.fails("PUT", "/boot-source", {"kernel_image_path": WAITGUEST, "boot_args": "a\nb"}, "boot_args")
        still_serves(api, "conflicting devices")

    with ctx.step("3000 bad requests: no fd leak, RSS bounded"):
        garbage = [
            b"\x00\x01\x02garbage\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: " + b"y" * 9000,
            b"PUT /actions HTTP/1.1\r\nContent-Length: 99999\r\n\r\n",
        ]
        json_bad = [
            ("PUT", "/machine-config", '{"vcpu_count": 0, "mem_size_mib": 128}'),
            ("PUT", "/drives/x", "{broken"),
            ("GET", "/no/such/path", None),
            ("PATCH", "/vm", '{"state": "Paused"}'),
            ("PUT", "/balloon", '{"amount_mib": 1, "deflate_on_oom": true}'),
        ]

        def flood(n):
            a = Api(sock)
            for i in range(n):
                if i % 3 == 2:  # a fresh connection with broken framing
                    c = Raw(sock)
                    c.send(garbage[i % len(garbage)])
                    rs = c.read_until(1, [("?", "?")], 3)
                    expect(rs and rs[0].status == 400, f"bad request {i}: {short(c.buf)}")
                    c.close()
                elif i % 3 == 1:  # a connection that leaves mid-request
                    c = Raw(sock)
                    c.send(b"PUT /machine-config HTTP/1.1\r\nContent-Length: 40\r\n\r\n{")
                    c.close()
                else:  # a well-framed bad request on a kept-alive connection
                    m, pth, b = json_bad[i % len(json_bad)]
                    a.request(m, pth, b, status=400)
            a.close()

        def settle(base):
            # ember closes its ends as it reads the EOFs: give it a moment
            deadline = time.monotonic() + 3
            while p.fd_count() > base and time.monotonic() < deadline:
                time.sleep(0.05)
            return p.fd_count()

        fds_start = p.fd_count()
        flood(300)  # warm-up: the allocator's arenas and buffers at full size
        fds0 = settle(fds_start)
        expect(fds0 == fds_start, f"fd count {fds_start} before, {fds0} after 300 bad requests")
        rss0 = p.rss_kib()
        t0 = time.monotonic()
        flood(3000)
        dt = time.monotonic() - t0
        fds1 = settle(fds0)
        rss1 = p.rss_kib()
        ctx.r.note(f"bad-input: 3000 bad requests in {dt:.1f} s; fds {fds0} -> {fds1}, VmRSS {rss0} -> {rss1} KiB")
        expect(fds1 == fds0, f"fd count {fds0} before, {fds1} after 3000 bad requests")
        if asan_build():
            ctx.note("RSS bound not checked: ASan's quarantine holds freed memory")
        else:
            expect(rss1 - rss0 < 1024, f"VmRSS grew by {rss1 - rss0} KiB over 3000 bad requests")
        still_serves(api, "3000 bad requests")
        expect(p.running(), "ember died")

    with ctx.step("SIGTERM before any start"):
        p.signal(signal.SIGTERM)
        exits_with(p, 0, 5)
        gone(sock, "the API socket")


# --- 7. ember run --api-sock -------------------------------------------------------------------


def s_ember_run(ctx):
    """The CLI's VM served over the API: GET / and /vm/config reflect
    --memory, --cpus and --disk; pause/resume; PATCH /drives; SendCtrlAltDel."""
    with ctx.step("GET / and GET /vm/config reflect the command line"):
        data = ctx.image("data.img", 1 << 20)
        ro = ctx.image("ro.img", 512 * 9)
        sock = ctx.path("ember.socket")
        p = ctx.spawn(
            [EMBER, "run", "--kernel", WAITGUEST, "--memory", "96M", "--cpus", "2", "--disk", f"{data},id=data",
             "--disk", f"{ro},ro,id=ro_disk", "--no-rng", "--api-sock", sock],
            "ember run",
        )
        wait_socket(sock, p)
        api = Api(sock)
        ctx.apis.append(api)
        p.wait_line("out", READY, 5)
        info = api.get("/").json
        expect_eq((info["id"], info["state"], info["app_name"]), ("ember", "Running", "Firecracker"), "GET /")
        cfg = api.get("/vm/config").json
        expect_eq((cfg["machine-config"]["vcpu_count"], cfg["machine-config"]["mem_size_mib"]), (2, 96), "vcpu_count, mem_size_mib")
        # the CLI's disks pass the guest's flushes on: Writeback
        wb = "Writeback"
        expect_eq(cfg["drives"], [drive("data", data, cache=wb), drive("ro_disk", ro, ro=True, cache=wb)], "drives")
        expect_eq(cfg["boot-source"]["kernel_image_path"], WAITGUEST, "kernel_image_path")
        expect_eq(api.get("/machine-config").json["vcpu_count"], 2, "GET /machine-config vcpu_count")
        api.fails("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128}, NOT_AFTER)
        api.fails("PUT", "/actions", {"action_type": "InstanceStart"}, NOT_AFTER)

    with ctx.step("PATCH /vm pauses and resumes"):
        ticks_stop_and_resume(ctx, p, api)

    with ctx.step("PATCH /drives/data"):
        new = ctx.image("data2.img", 2 << 20)
        api.patch("/drives/data", {"drive_id": "data", "path_on_host": new})
        expect_eq(drives_by_id(api.get("/vm/config").json)["data"]["path_on_host"], new, "data's path")
        api.fails("PATCH", "/drives/ro_disk", {"drive_id": "ro_disk", "path_on_host": ctx.image("odd", 700)}, "512")

    with ctx.step("SendCtrlAltDel ends it"):
        api.put("/actions", {"action_type": "SendCtrlAltDel"})
        p.wait_line("out", r"^waitguest: ctrl-alt-del$", 5)
        exits_with(p, 0, 5)
        gone(sock, "the API socket")

    with ctx.step("a disk path that is not UTF-8"):
        # JSON cannot carry it: GET /vm/config must say so, not send 200 and no body
        odd = os.fsencode(ctx.dir) + b"/d\xff.img"
        with open(odd, "wb") as f:
            f.truncate(1 << 20)
        sock = ctx.path("odd.socket")
        p = ctx.spawn([EMBER, "run", "--kernel", WAITGUEST, "--disk", odd + b",id=odd", "--no-rng", "--api-sock", sock], "ember run")
        wait_socket(sock, p)
        api = Api(sock)
        ctx.apis.append(api)
        api.fails("GET", "/vm/config", None, "path_on_host")
        expect_eq(api.get("/machine-config").json["mem_size_mib"], 256, "mem_size_mib (ember run's default)")

    with ctx.step("SIGTERM ends ember run --api-sock cleanly: exit 0, socket removed"):
        p.signal(signal.SIGTERM)
        exits_with(p, 0, 5)
        gone(sock, "the API socket")


# --- 8. --no-api --config-file -------------------------------------------------------------------


def s_no_api(ctx):
    """--no-api --config-file boots without a socket; SIGTERM ends it with
    0; --no-api alone is a usage error (2) in one line."""
    with ctx.step("--no-api --config-file boots"):
        cfg = ctx.path("vm.json")
        with open(cfg, "w") as f:
            json.dump({"boot-source": {"kernel_image_path": WAITGUEST}, "drives": [], "machine-config": {"vcpu_count": 1, "mem_size_mib": 64}}, f)
        before = set(os.listdir(ctx.dir))
        default_sock = os.path.exists("/run/firecracker.socket")
        p = ctx.spawn([FIRECRACKER, "--no-api", "--config-file", cfg], "firecracker --no-api")
        p.wait_line("out", READY, 5)
        expect(set(os.listdir(ctx.dir)) == before, "--no-api created files")
        expect(os.path.exists("/run/firecracker.socket") == default_sock, "--no-api created /run/firecracker.socket")

    with ctx.step("SIGTERM: exit 0"):
        p.wait_line("out", TICK, 3)
        p.signal(signal.SIGTERM)
        exits_with(p, 0, 5)

    with ctx.step("--no-api without --config-file: exit 2, one line"):
        q = ctx.spawn([FIRECRACKER, "--no-api"], "firecracker --no-api")
        exits_with(q, 2, 5)
        expect(len(q.err) == 1 and q.err[0].startswith("ember:"), f"stderr is not one 'ember:' line: {q.err}")
        expect("--config-file" in q.err[0], f"the line does not name --config-file: {q.err[0]!r}")
        expect(q.out == [], f"output on stdout: {q.out}")

    with ctx.step("--api-sock: a stale socket is replaced, a live one or a file refused"):
        stale = ctx.path("stale.socket")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(stale)  # bound, never listening: what a killed VMM leaves
        s.close()
        p, api, sock = ctx.firecracker(sock="stale.socket")
        expect(api.state() == "Not started", "GET / on the replaced socket")
        q = ctx.spawn([FIRECRACKER, "--api-sock", sock], "second firecracker")
        exits_with(q, 1, 5)
        expect(len(q.err) >= 1 and any(l.startswith("ember:") and "in use" in l for l in q.err), f"stderr: {q.err}")
        expect(api.state() == "Not started", "the first instance stopped serving")
        open(ctx.path("plain"), "w").close()
        q = ctx.spawn([FIRECRACKER, "--api-sock", ctx.path("plain")], "firecracker on a file")
        exits_with(q, 1, 5)
        expect(any("not a socket" in l for l in q.err), f"stderr: {q.err}")
        expect(os.path.isfile(ctx.path("plain")), "the file was removed")
        p.signal(signal.SIGTERM)
        exits_with(p, 0, 5)
        gone(sock, "the API socket")

    with ctx.step("--no-api with a config file naming a missing kernel: exit 1"):
        bad = ctx.path("bad.json")
        with open(bad, "w") as f:
            json.dump({"boot-source": {"kernel_image_path": ctx.path("nope")}, "drives": []}, f)
        q = ctx.spawn([FIRECRACKER, "--no-api", "--config-file", bad], "firecracker --no-api")
        exits_with(q, 1, 5)
        lines = [l for l in q.err if l.startswith("ember:")]
        expect(len(lines) == 1 and "nope" in lines[0], f"stderr: {q.err}")


# --- 9. --boot-timer --------------------------------------------------------------------------------


def s_boot_timer(ctx):
    """--boot-timer logs Firecracker's Guest-boot-time line once the guest
    writes the boot marker (waitguest does, right after 'ready')."""
    with ctx.step("Guest-boot-time in the log"):
        p, api, sock = ctx.firecracker("--boot-timer", "--log-path", ctx.path("fc.log"), "--level", "Info")
        api.put("/boot-source", waitguest_boot())
        api.put("/actions", {"action_type": "InstanceStart"})
        p.wait_line("out", READY, 5)
        deadline = time.monotonic() + 5
        while True:
            log = open(ctx.path("fc.log")).read().splitlines()
            hits = [l for l in log if "Guest-boot-time = " in l]
            if hits or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        expect(len(hits) == 1, f"{len(hits)} Guest-boot-time lines, expected 1: {hits}")
        m = re.search(r"Guest-boot-time = +(\d+) us (\d+) ms, +(\d+) CPU us (\d+) CPU ms", hits[0])
        expect(m, f"not Firecracker's format: {hits[0]!r}")
        us, ms = int(m.group(1)), int(m.group(2))
        expect(ms == us // 1000 and 0 < us < 5_000_000, f"boot time {us} us / {ms} ms")
        ctx.r.note(f"boot-timer: {hits[0].split('] ', 1)[-1]}")

    with ctx.step("end"):
        api.put("/actions", {"action_type": "SendCtrlAltDel"})
        exits_with(p, 0, 5)
        log = open(ctx.path("fc.log")).read().splitlines()
        expect(len([l for l in log if "Guest-boot-time" in l]) == 1, "the boot time was logged again")


# --- least privilege (issue 15) -------------------------------------------------------

O_CLOEXEC = 0o2000000


def confinement(pid, inherited=None):
    """What /proc says of a running ember: every thread without capabilities
    (the bounding set too when it started as root), every fd above 2
    close-on-exec, and no fd open on `inherited` (the path of the fd it
    inherited: the number is reused). Returns the number of facts checked."""
    n = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            st = dict(l.rstrip("\n").split(":\t", 1) for l in f if ":\t" in l)
        names = ["CapEff", "CapPrm", "CapInh", "CapAmb"] + (["CapBnd"] if os.geteuid() == 0 else [])
        for k in names:
            expect(int(st[k], 16) == 0, f"thread {tid} ({st['Name']}): {k} is {st[k]}, not 0")
            n += 1
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                flags = int(next(l for l in f if l.startswith("flags:")).split()[1], 8)
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue  # closed meanwhile
        expect(target != inherited, f"fd {fd} is the inherited one, {target}")
        if int(fd) >= 3:
            expect(flags & O_CLOEXEC, f"fd {fd} ({target}) is not close-on-exec (flags 0{flags:o})")
        n += 1
    return n


def mode_is(path, want, what):
    m = os.stat(path).st_mode & 0o777
    expect(m == want, f"{what} {path} has mode 0{m:o}, not 0{want:o}")


def s_least_privilege(ctx):
    """After InstanceStart: no capabilities in any thread, every fd
    close-on-exec, an fd the caller leaked gone; the files and sockets ember
    created owner-only whatever the umask; later opens (PATCH /drives, PUT
    /snapshot/create) work for files the uid itself may open."""
    leaked = ctx.image("leaked", 512)
    leak = os.open(leaked, os.O_RDONLY)  # no O_CLOEXEC: passed on
    old_umask = os.umask(0o022)
    try:
        p, api, sock = ctx.firecracker(pass_fds=(leak,))
    finally:
        os.umask(old_umask)
        os.close(leak)
    ctx.image("d0", 1 << 20)
    ctx.image("d1", 1 << 20)

    with ctx.step("InstanceStart with a log, metrics, serial file and vsock"):
        api.put("/logger", {"log_path": ctx.path("fc.log"), "level": "Info"})
        api.put("/metrics", {"metrics_path": ctx.path("fc.metrics")})
        api.put("/boot-source", waitguest_boot())
        api.put("/drives/d0", drive("d0", ctx.path("d0")))
        api.put("/vsock", {"guest_cid": 3, "uds_path": ctx.path("v.sock")})
        api.put("/serial", {"serial_out_path": ctx.path("serial.out")})
        api.put("/actions", {"action_type": "InstanceStart"})
        expect(api.state() == "Running", "GET / is not Running after InstanceStart")

    with ctx.step("no capabilities, every fd close-on-exec, the leaked fd gone"):
        confinement(p.pid, inherited=leaked)
        if os.geteuid() != 0:
            ctx.note("not root: the bounding set is not checked (an unprivileged ember cannot drop it)")

    with ctx.step("created files and sockets are 0600"):
        for name in ("firecracker.socket", "v.sock", "fc.log", "fc.metrics", "serial.out"):
            mode_is(ctx.path(name), 0o600, name)

    with ctx.step("PATCH /drives and PUT /snapshot/create without capabilities"):
        api.patch("/drives/d0", {"drive_id": "d0", "path_on_host": ctx.path("d1")})
        if os.geteuid() == 0:
            # Another uid's 0600 file: root opened it with CAP_DAC_OVERRIDE;
            # ember has none left.
            other = ctx.image("other", 1 << 20)
            os.chown(other, 65534, 65534)
            os.chmod(other, 0o600)
            api.fails("PATCH", "/drives/d0", {"drive_id": "d0", "path_on_host": other}, "Permission denied")
        api.patch("/vm", {"state": "Paused"})
        api.put("/snapshot/create", {"snapshot_path": ctx.path("vm.snap"), "mem_file_path": ctx.path("vm.mem")})
        for name in ("vm.snap", "vm.mem"):
            mode_is(ctx.path(name), 0o600, name)
        api.patch("/vm", {"state": "Resumed"})
        confinement(p.pid)

    with ctx.step("end"):
        api.put("/actions", {"action_type": "SendCtrlAltDel"})
        exits_with(p, 0, 5)


SCENARIOS = [
    ("getting-started", s_getting_started),
    ("kata-go", s_kata_go),
    ("kata-rs", s_kata_rs),
    ("fc-containerd", s_fc_containerd),
    ("states", s_states),
    ("bad-input", s_bad_input),
    ("ember-run", s_ember_run),
    ("no-api", s_no_api),
    ("boot-timer", s_boot_timer),
    ("least-privilege", s_least_privilege),
]


def main(argv):
    names = [n for n, _ in SCENARIOS]
    want = argv[1:] or names
    unknown = [w for w in want if w not in names]
    if unknown:
        print(f"apitest: unknown scenario {', '.join(unknown)} (have: {', '.join(names)})", file=sys.stderr)
        print("api: 0 passed, 1 failed")
        return 1
    r = Runner()
    for f in (EMBER, WAITGUEST):
        if not os.path.exists(f):
            print(f"apitest: {f} is missing: run make first", file=sys.stderr)
            print("api: 0 passed, 1 failed")
            return 1
    if not os.path.lexists(FIRECRACKER):
        print(f"apitest: {FIRECRACKER} is missing: run make first", file=sys.stderr)
        print("api: 0 passed, 1 failed")
        return 1
    # run.sh's timeout sends SIGTERM: unwind, so that each scenario's
    # cleanup kills its ember processes (they run in sessions of their own)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    base = tempfile.mkdtemp(prefix="ember-api.", dir="/tmp")
    keep = os.environ.get("API_KEEP") == "1"
    t_all = time.monotonic()
    try:
        for name, fn in SCENARIOS:
            if name not in want:
                continue
            ctx = Ctx(r, name, base)
            t0 = time.monotonic()
            try:
                fn(ctx)
            except Abort:
                r.line(f"# {name}: stopped after the failure above (files in {ctx.dir})")
                keep = True
            finally:
                ctx.cleanup()
            # an ASan/UBSan build (EMBER=build/asan/ember) reports on stderr
            for pr in ctx.procs:
                bad = pr.matching("err", r"AddressSanitizer|LeakSanitizer|runtime error:")
                if bad:
                    r._report(False, name, f"sanitizer report from {pr.name}", bad[0][1])
                    keep = True
                    break
            r.line(f"# {name}: {time.monotonic() - t0:.1f} s")
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
    r.line(f"# total {time.monotonic() - t_all:.1f} s")
    print(f"api: {r.passed} passed, {r.failed} failed", flush=True)
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
