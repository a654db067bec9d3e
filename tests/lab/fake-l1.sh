#!/usr/bin/env bash
# A stand-in for QEMU and L1 (tests/lab/selftest.sh runs tests/lab/run.sh with
# LAB_FAKE_L1 pointing here): prints what L1's /init would for the cases in
# the -append argument's lab.cases=, unless FAKE_L1_PLAN says otherwise.
#
#   FAKE_L1_PLAN="CASE@BOOT=ACTION ..."   BOOT counts this run's L1 boots
#                                         (file $LAB_OUT/fake-boots)
#   ACTION: ok (the default), fail (a failure on a healthy L1), fail-trouble
#   (a failure while L1's kernel reports an RCU stall), lockup (a soft lockup
#   report, then nothing), silence (nothing more, not even the heartbeat),
#   panic (a kernel panic, then QEMU exits as with -no-reboot).
set -u
append=
while [ $# -gt 0 ]; do
	[ "$1" = -append ] && append=$2
	shift
done
boots=$(($(cat "$LAB_OUT/fake-boots" 2>/dev/null || echo 0) + 1))
echo $boots >"$LAB_OUT/fake-boots"
cases=$(tr ' ' '\n' <<<"$append" | sed -n 's/^lab\.cases=//p' | tr , ' ')
echo "# L1 up: fake boot $boots"
n=0
for c in $cases; do
	n=$((n + 1))
	echo "lab: alive $n"
	echo "lab: case $c"
	action=ok
	for p in ${FAKE_L1_PLAN:-}; do
		[ "${p%%=*}" = "$c@$boots" ] && action=${p#*=}
	done
	case $action in
	ok) echo "ok - $c" ;;
	fail) echo "FAIL - $c: broken" ;;
	fail-trouble)
		echo "[   12.345678] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:"
		echo "FAIL - $c: ember still running after 120 s (killed by timeout)"
		;;
	lockup)
		echo "[   52.585119] watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [ember:265]"
		exec sleep 600
		;;
	silence) exec sleep 600 ;;
	panic)
		echo "[    9.000000] Kernel panic - not syncing: Fatal exception in interrupt"
		exit 0
		;;
	esac
	echo "# $c took 0.1 s"
done
echo "lab: done"
