#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run a command with its stdin (and by default stdout and stderr) on a pseudo
terminal, act on it once its output shows a pattern, and report what happened.

    ptyrun.py --report FILE [--stdout pty|stall|drop-after] [--wait REGEX | --after S]
              [--act send:HEX|signal:NAME|hangup|none] [--deadline S]
              [--timeout S] [--log FILE] -- COMMAND...

--stdout pty:        stdout and stderr on the terminal (default).
--stdout stall:      stdout is a pipe nobody reads (it fills and stays full);
                     --wait then matches stderr, which stays on the terminal.
--stdout stall-both: stdout and stderr on one pipe nobody reads.
--stdout drop-after: stdout is a pipe read until --wait matches, then closed
                     (a reader that goes away, as `| head` does).
--after S acts S seconds after the start instead of on a pattern.
--act runs once --wait matched (or at once without either); the command must
then exit within --deadline seconds (default 1), else it is killed.

The report, one "key value" per line: matched yes|no, status (exit code, or
-N for a signal N, or "timeout"), after_act (seconds from the act to the
exit), termios same|changed (the terminal's settings after the exit
compared with before the start: raw mode left behind shows as changed).
"""
import argparse, os, pty, re, select, signal, subprocess, sys, termios, time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--report", required=True)
    ap.add_argument("--stdout", default="pty", choices=["pty", "stall", "stall-both", "drop-after"])
    ap.add_argument("--wait")
    ap.add_argument("--after", type=float)
    ap.add_argument("--act", default="none")
    ap.add_argument("--deadline", type=float, default=1.0)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--log")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd

    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    out_r = out_w = None
    if a.stdout == "pty":
        stdout = slave
    else:
        out_r, out_w = os.pipe()
        stdout = out_w
    stderr = out_w if a.stdout == "stall-both" else slave
    p = subprocess.Popen(cmd, stdin=slave, stdout=stdout, stderr=stderr,
                         start_new_session=True,
                         preexec_fn=lambda: __import__("fcntl").ioctl(0, termios.TIOCSCTTY, 0))
    if out_w is not None:
        os.close(out_w)
    log = bytearray()
    pat = re.compile(a.wait.encode()) if a.wait else None
    matched = pat is None and a.after is None
    start = time.monotonic()
    acted_at = None
    status = None

    def act():
        kind, _, arg = a.act.partition(":")
        if kind == "send":
            os.write(master, bytes.fromhex(arg))
        elif kind == "signal":
            os.kill(p.pid, getattr(signal, arg if arg.startswith("SIG") else "SIG" + arg))
        elif kind == "hangup":
            os.close(fds.pop(fds.index(master)))
        return time.monotonic()

    fds = [master] + ([out_r] if out_r is not None and a.stdout == "drop-after" else [])
    if matched:
        acted_at = act()
    while True:
        now = time.monotonic()
        if a.after is not None and acted_at is None and now - start >= a.after:
            matched = True
            acted_at = act()
        limit = acted_at + a.deadline if acted_at is not None else start + a.timeout
        if p.poll() is not None:
            status = p.returncode
            break
        if now >= limit:
            status = "timeout"
            break
        r, _, _ = select.select(fds, [], [], max(0, min(0.05, limit - now)))
        for fd in r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if not data:
                fds.remove(fd)
                continue
            log += data
            if not matched and pat.search(log):
                matched = True
                if a.stdout == "drop-after" and out_r in fds:
                    fds.remove(out_r)
                    os.close(out_r)
                    out_r = None
                acted_at = act()
    if status == "timeout":
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    after = termios.tcgetattr(slave)
    with open(a.report, "w") as f:
        f.write("matched %s\n" % ("yes" if matched else "no"))
        f.write("status %s\n" % status)
        f.write("after_act %s\n" % ("%.3f" % (time.monotonic() - acted_at) if acted_at else "-"))
        f.write("termios %s\n" % ("same" if after == before else "changed"))
    if a.log:
        with open(a.log, "wb") as f:
            f.write(log)


if __name__ == "__main__":
    main()
