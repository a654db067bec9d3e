# SPDX-License-Identifier: MIT
"""
Judges snapguest's console output for tests/snapshot/run.sh. Each command
prints one line saying what it found and exits 0 (holds) or 1 (does not).

    snapcheck.py ref REF OUT
        OUT is REF line for line, the tick counts aside (ticks depend on host
        time): same progress lines with the same hashes, same done line.

    snapcheck.py cont ORIG RESTORED BEFORE AFTER [PREFIX]
        RESTORED (a restored run's console) continues ORIG (the console of the
        process that was snapshotted, run to its end) from the snapshot on.
        BEFORE: the last step ORIG had printed before the snapshot was asked
        for; AFTER: the last one it had printed when the snapshot command
        returned. With PREFIX (what ORIG had printed while it was paused for
        the snapshot, so exactly up to the snapshot), PREFIX + RESTORED must
        be ORIG byte for byte, ticks aside. Without, RESTORED may begin with
        the tail of a line cut by the snapshot; its complete lines must be
        the last lines of ORIG. Either way its progress steps go up by the
        guest's progress interval from a first step >= BEFORE (and at most
        two intervals past AFTER: no restart, no jump), no FAIL line, and the
        done line is ORIG's.
"""

import re
import sys

STEP = re.compile(r"^snapguest: step (\d+) hash ([0-9a-f]{8}) ticks (?:\d+|T)$")
TICKS = re.compile(r"(snapguest: step \d+ hash [0-9a-f]{8} ticks )\d+")
DONE = re.compile(r"^snapguest: done steps \d+ hash [0-9a-f]{8}$")


def read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def mask(text):
    return TICKS.sub(r"\1T", text)


def steps(lines):
    return [int(m.group(1)) for m in map(STEP.match, lines) if m]


def done_line(lines):
    found = [l for l in lines if DONE.match(l)]
    return found[-1] if found else None


def first_diff(a, b):
    """Index of the first line where a and b differ, with the two lines."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i, x, y
    n = min(len(a), len(b))
    return n, a[n] if n < len(a) else "<end>", b[n] if n < len(b) else "<end>"


def short(s, n=120):
    return s if len(s) <= n else s[:n] + "..."


def cmd_ref(ref_path, out_path):
    ref = mask(read(ref_path)).splitlines()
    out = mask(read(out_path)).splitlines()
    fails = [l for l in out if "FAIL" in l]
    if fails:
        print(f"guest says: {short(fails[0])}")
        return 1
    if ref != out:
        i, want, got = first_diff(ref, out)
        print(f"line {i + 1} differs from the reference run: got '{short(got)}', want '{short(want)}'")
        return 1
    print(f"{len(out)} lines as in the reference run, {short(done_line(out) or '?')}")
    return 0


def interval(lines):
    s = steps(lines)
    return s[1] - s[0] if len(s) >= 2 else None


def cmd_cont(orig_path, rest_path, before, after, prefix_path=None):
    orig_text = read(orig_path)
    rest_text = read(rest_path)
    orig = mask(orig_text).splitlines()
    rest_all = mask(rest_text).splitlines()
    fails = [l for l in rest_all if "FAIL" in l]
    if fails:
        print(f"restored guest says: {short(fails[0])}")
        return 1
    if not rest_text:
        print("the restored run printed nothing")
        return 1
    if prefix_path is not None:
        joined = mask(read(prefix_path) + rest_text).splitlines()
        if joined != orig:
            i, want, got = first_diff(orig, joined)
            print(
                f"paused output + restored output differ from the original's at line {i + 1}: "
                f"got '{short(got)}', want '{short(want)}'"
            )
            return 1
        cut = read(prefix_path)
        # The restored run's complete lines start after the cut's line.
        rest = rest_all if (not cut or cut.endswith("\n")) else rest_all[1:]
        how = "joins the paused output byte for byte"
    else:
        # A first line that does not start like the guest's lines is the tail
        # of the line the snapshot cut (snapguest prints nothing else).
        rest = rest_all if rest_all[0].startswith("snapguest: ") else rest_all[1:]
        if not rest or orig[len(orig) - len(rest):] != rest:
            tail = orig[len(orig) - len(rest):] if rest else []
            i, want, got = first_diff(tail, rest)
            print(
                f"the restored run's lines are not the last lines of the original's: "
                f"line {i + 1} of {len(rest)}: got '{short(got)}', want '{short(want)}'"
            )
            return 1
        how = "its lines end the original's"
    done = done_line(orig)
    if done is None:
        print("the original printed no done line")
        return 1
    if done_line(rest) != done:
        print(f"restored done line '{done_line(rest)}', want '{done}'")
        return 1
    st = steps(rest)
    gap = interval(orig)
    if gap is None:
        print("the original printed fewer than two progress lines")
        return 1
    for a, b in zip(st, st[1:]):
        if b != a + gap:
            print(f"restored steps go {a} -> {b}, want {a} -> {a + gap}")
            return 1
    if st:
        if st[0] < before:
            print(f"restored run starts at step {st[0]}, before step {before} the original had printed")
            return 1
        if st[0] > after + 2 * gap:
            print(f"restored run starts at step {st[0]}, past {after} + 2 x {gap} (the original at the snapshot)")
            return 1
        where = f"at step {st[0]}"
    else:
        where = "with no progress line left"
    print(
        f"continues {where} (original: step {before} before, {after} after the snapshot), "
        f"{how}, {len(rest)} lines, {done}"
    )
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "ref":
        return cmd_ref(argv[2], argv[3])
    if len(argv) in (6, 7) and argv[1] == "cont":
        return cmd_cont(argv[2], argv[3], int(argv[4]), int(argv[5]), argv[6] if len(argv) == 7 else None)
    print("usage: snapcheck.py ref REF OUT | cont ORIG RESTORED BEFORE AFTER [PREFIX]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
