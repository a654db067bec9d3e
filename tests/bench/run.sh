#!/usr/bin/env bash
# The benchmark scripts' own logic, without the lab: what bench/boot.sh keeps
# of a dying L1's console (bench/lab-merge.sh) and what bench/boot-report.sh
# and bench/seccomp-report.sh make of a results log. Prints "ok - NAME" / "FAIL - NAME: why" and
# "bench-scripts: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d /tmp/ember-bench-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

# expect NAME FILE WANT: FILE's content is exactly WANT.
expect() {
	if [ "$(cat "$2")" = "$3" ]; then
		echo "ok - $1"; pass=$((pass + 1))
	else
		echo "FAIL - $1: got:"; sed 's/^/#   /' "$2"; echo "# want:"; printf '%s\n' "$3" | sed 's/^/#   /'
		fail=$((fail + 1))
	fi
}
# has NAME FILE REGEX: some line of FILE matches REGEX.
has() {
	if grep -qE -- "$3" "$2"; then
		echo "ok - $1"; pass=$((pass + 1))
	else
		echo "FAIL - $1: no line matches '$3' in:"; sed 's/^/#   /' "$2" | head -n 40; fail=$((fail + 1))
	fi
}

# An L1 that died in its second unit, after a line of it.
cat >"$tmp/dead" <<'L'
bench: L1 6.1.0 2 CPUs
bench: version ember 0.1
bench: unit boot-min-1
bench: boot min 1 ember 1 0 100 120 10
bench: unit-end boot-min-1
bench: unit mem
bench: mem ember 1 1 2 3 4 5 6 7 8 9 10
L
bench/lab-merge.sh 1 <"$tmp/dead" >"$tmp/out"
expect "merge keeps the header and the finished unit, drops the cut one" "$tmp/out" "bench: L1 6.1.0 2 CPUs
bench: version ember 0.1
bench: unit boot-min-1
bench: boot min 1 ember 1 0 100 120 10
bench: unit-end boot-min-1"

# The next L1: its header repeats, mem runs whole, then done.
cat >"$tmp/next" <<'L'
bench: L1 6.1.0 2 CPUs
bench: unit mem
bench: mem ember 1 1 2 3 4 5 6 7 8 9 10
bench: unit-end mem
bench: done
L
bench/lab-merge.sh 0 <"$tmp/next" >"$tmp/out"
expect "merge of a later L1 drops its header, keeps units and done" "$tmp/out" "bench: unit mem
bench: mem ember 1 1 2 3 4 5 6 7 8 9 10
bench: unit-end mem
bench: done"

# A unit-end that does not close the open unit keeps nothing of it.
printf 'bench: unit a\nbench: x 1\nbench: unit b\nbench: x 2\nbench: unit-end a\n' |
	bench/lab-merge.sh 0 >"$tmp/out"
expect "merge ignores a mismatched unit-end" "$tmp/out" ""

# boot-report: medians, ratios and the target lines of a small results log.
{
	echo "bench: L1 6.1.0 2 CPUs"
	echo "bench: unit boot-min-1"
	for r in 1 2 3; do
		echo "bench: boot min 1 ember $r 0 $((500 + r)) $((600 + r)) 5"
		echo "bench: boot min 1 qemu $r 0 $((1000 + r)) $((1100 + r)) 50"
	done
	echo "bench: boot min 1 ember 4 1 -1 -1 -1"
	echo "bench: unit-end boot-min-1"
	echo "bench: unit boot-stock-1"
	echo "bench: boot stock 1 ember 1 0 900 950 5"
	echo "bench: boot stock 1 qemu 1 0 800 850 50"
	echo "bench: unit-end boot-stock-1"
	echo "bench: done"
} >"$tmp/lab.log"
bench/boot-report.sh "$tmp/lab.log" "$tmp" >"$tmp/report" 2>"$tmp/err"
has "report: ember row counts its failed run" "$tmp/report" '^\| minimal \(guest/\) \| 1 \| ember \| 3/4 \| 502\.0 \| 501\.0-503\.0 \| 602\.0 '
has "report: ratio of the medians" "$tmp/report" '^\| minimal \(guest/\) \| 1 \| QEMU microvm \| 3/3 \| 1002\.0 .* \*\*0\.50x\*\* \| 0\.55x \|$'
has "report: minimal target met" "$tmp/report" '^- Target, minimal kernel, 1 vCPU, .*: MET \(0\.50x\)$'
has "report: stock target missed" "$tmp/report" '^- Target, stock kernel, 1 vCPU, .*: MISSED \(1\.12x\)$'
has "report: plot data written" "$tmp/boot-plot.dat" '^"min, 1 vCPU" 502 501 503 602 601 603 1002 '

# seccomp-report: filters off vs on (bench/seccomp.sh, issue 15). Run 0
# is a warm-up and left out; a failed boot (status 1) is left out; time
# rows cost on/off - 1, throughput rows off/on - 1.
cat >"$tmp/sec-startup" <<'L'
on 0 50.0 1000
off 0 50.0 1000
on 1 10.0 1000
off 1 10.0 1000
off 2 12.0 1000
on 2 12.0 1010
on 3 11.0 1000
off 3 10.0 1000
L
cat >"$tmp/sec-lab" <<'L'
bench: L1 6.1.0 2 CPUs
bench: unit boot
bench: sec boot on 0 0 9999 9999 1 99
bench: sec boot off 0 0 9999 9999 1 99
bench: sec boot on 1 0 1000 1200 5 30
bench: sec boot off 1 0 1010 1200 5 30
bench: sec boot off 2 0 990 1200 5 31
bench: sec boot on 2 1 -1 -1 -1 -1
bench: unit-end boot
bench: unit io
bench: sec filt on 1 4 4
bench: sec io on 1 tcpsend 50.0 MB/s
bench: sec io on 1 seqread 400 MB/s
bench: sec filt off 1 0 4
bench: sec io off 1 tcpsend 60.0 MB/s
bench: sec io off 1 seqread 404 MB/s
bench: unit-end io
bench: unit attach
bench: sec attach on 1 5 2.000 1.000
bench: sec attach on 2 5 4.000 2.000
bench: sec attach on 3 0 0.000 0.000
bench: unit-end attach
bench: done
L
bench/seccomp-report.sh "$tmp/sec-startup" "$tmp/sec-lab" >"$tmp/report" 2>"$tmp/err"
has "seccomp: start-up medians, paired ratio and a cost over 2%" "$tmp/report" \
	'^\| start-up to the first guest exit, this /dev/kvm \(ms\) \| 3/3 \| 10\.00 \| 11\.00 \| 1\.100x \| 1\.000x \(3\) \| \+10\.0% \| \*\*no\*\* \| 20% \|$'
has "seccomp: RSS within 2%" "$tmp/report" '^\| start-up peak RSS, this /dev/kvm \(KiB\) \| 3/3 \| 1000\.0 \| 1000\.0 \| 1\.000x \| .* \| \+0\.0% \| yes \|'
has "seccomp: a failed boot is left out, faster with filters is a negative cost" "$tmp/report" \
	'^\| lab boot race to the boot marker \(L1 ms\) \| 2/1 \| 1000\.0 \| 1000\.0 \| 1\.000x \| 0\.990x \(1\) \| \+0\.0% \| yes \| 2% \|$'
has "seccomp: throughput cost is off/on" "$tmp/report" '^\| lab tcpsend \(MB/s\) \| 1/1 \| 60\.00 \| 50\.00 \| 0\.833x \| 0\.833x \(1\) \| \+20\.0% \| \*\*no\*\* \| 0% \|$'
has "seccomp: a 1% throughput loss is within 2%" "$tmp/report" '^\| lab seqread \(MB/s\) \| 1/1 \| 404\.0 \| 400\.0 \| 0\.990x \| .* \| \+1\.0% \| yes \|'
has "seccomp: threads under a filter" "$tmp/report" '^Threads under a seccomp filter, .*: filters on 4 of 4, off 0 of 4\.$'
has "seccomp: attach medians, a boot with no attach left out" "$tmp/report" \
	'^Attaching the filters \(lab, .* in 2 boots\): 5 filters a boot, 3\.00 L1 ms in all, the longest 1\.50 ms \(medians\)\.$'
has "seccomp: verdict lists the rows over 2%" "$tmp/report" \
	'^Cost of the filters within 2% on every row: \*\*no\*\* \(start-up to the first guest exit, this /dev/kvm \(ms\) \+10\.0%, lab tcpsend \(MB/s\) \+20\.0%\)\.$'
# An "on" run with an unfiltered thread is a broken switch, said so.
sed -i 's/^bench: sec filt on 1 4 4$/bench: sec filt on 1 3 4/' "$tmp/sec-lab"
bench/seccomp-report.sh /dev/null "$tmp/sec-lab" >"$tmp/report" 2>&1
has "seccomp: a thread outside the filter is a warning" "$tmp/report" 'filters on 3 of 4, .*WARNING'
if grep -q 'start-up' "$tmp/report"; then
	echo "FAIL - seccomp: no start-up file, yet start-up rows"; fail=$((fail + 1))
else
	echo "ok - seccomp: the lab rows alone"; pass=$((pass + 1))
fi

# bench/scrub: refuses a bad size; takes and frees the memory it is given.
make -s build/bench/scrub || { echo "bench-scripts: cannot build bench/scrub"; exit 1; }
for bad in "" 0 x 12x 65537; do
	if build/bench/scrub $bad 2>"$tmp/err" || ! grep -q '^usage: scrub MIB' "$tmp/err"; then
		echo "FAIL - scrub '$bad': not refused with its usage line"; fail=$((fail + 1))
	else
		echo "ok - scrub refuses '$bad'"; pass=$((pass + 1))
	fi
done
# Under a 64 MiB address-space limit, 32 MiB fit and 128 MiB must fail.
if (ulimit -v 65536 && build/bench/scrub 32) && ! (ulimit -v 65536 && build/bench/scrub 128 2>/dev/null); then
	echo "ok - scrub touches what fits and fails on what does not"; pass=$((pass + 1))
else
	echo "FAIL - scrub under ulimit -v 64 MiB: 32 MiB should pass and 128 MiB fail"; fail=$((fail + 1))
fi

echo "bench-scripts: $pass passed, $fail failed"
[ "$fail" = 0 ]
