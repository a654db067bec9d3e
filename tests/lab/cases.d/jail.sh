# A jailed ember in L1 (sourced after cases.sh): `ember jail` (Firecracker's
# jailer command line, through /lab/ember-jailed, tests/lab/jailed.sh) runs
# the guest with 2 vCPUs, a disk, vsock and entropy, in a chroot under
# cgroup v2 (L1 mounts v2, the development hosts v1: tests/jail covers v1).
# From outside, while the guest runs: no capabilities, no_new_privs, every
# thread under seccomp, its root is the jail's, its cgroup holds it with the
# requested pids.max; then the guest ends and ember exits 0. LAB_JAIL=1
# runs every other case jailed too (README.md).
LAB_CASES="$LAB_CASES jailed-proof"

case_jailed_proof() {
	dd if=/dev/zero of="$D/disk.img" bs=1M count=8 2>/dev/null
	rc=0
	# No timeout(1) in between: the wrapper execs, so $! is ember's pid.
	/lab/ember-jailed run --kernel "$GK" --initrd "$GI" --cpus 2 \
		--disk "$D/disk.img" --vsock "cid=3,uds=$D/v.sock" \
		--cmdline "$BASE quiet ember.cmd=\"echo jailed-guest-up; sleep 8\"" \
		</dev/null >"$D/out" 2>"$D/err" &
	tpid=$!
	(sleep $T && kill -9 $tpid) 2>/dev/null &
	killer=$!
	i=0
	until grep -q '^jailed-guest-up' "$D/out" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 600 ] || { kill -9 $tpid; fail "the jailed guest never came up: $(tail -n1 "$D/err")"; }
		sleep 0.1
	done
	pid=$tpid
	st=/proc/$pid/status
	id=lab-$pid
	cap=$(awk '/^CapEff:/ {print $2}' $st)
	bnd=$(awk '/^CapBnd:/ {print $2}' $st)
	uid=$(awk '/^Uid:/ {print $2 $3 $4 $5}' $st)
	nnp=$(awk '/^NoNewPrivs:/ {print $2}' $st)
	n=0
	bad=
	for t in /proc/$pid/task/*; do
		n=$((n + 1))
		grep -q '^Seccomp:[[:space:]]*2$' "$t/status" || bad="$bad $(cat "$t/comm")"
	done
	rootino=$(stat -L -c %d:%i /proc/$pid/root/)
	jailino=$(stat -c %d:%i /jail/ember/$id/root 2>/dev/null)
	cg=$(sed -n 's/^0:://p' /proc/$pid/cgroup)
	pmax=$(cat "/sys/fs/cgroup$cg/pids.max" 2>/dev/null)
	wait $tpid || rc=$?
	kill $killer 2>/dev/null
	tr -d '\r' <"$D/out" >"$D/console"
	echo "# jailed ember: pid $pid, uid $uid, CapEff $cap, CapBnd $bnd, NoNewPrivs $nnp, $n threads under seccomp, root $rootino (jail $jailino), cgroup $cg pids.max $pmax"
	[ "$cap" = 0000000000000000 ] || fail "CapEff $cap, not 0"
	[ "$bnd" = 0000000000000000 ] || fail "CapBnd $bnd, not 0"
	[ "$uid" = 0000 ] || fail "uids $uid, not 0 (--uid 0)"
	[ "$nnp" = 1 ] || fail "NoNewPrivs $nnp"
	[ -z "$bad" ] || fail "threads without seccomp:$bad"
	[ "$n" -ge 6 ] || fail "only $n threads"
	[ -n "$jailino" ] && [ "$rootino" = "$jailino" ] || fail "root $rootino is not the jail's ($jailino)"
	[ "$cg" = "/ember/$id" ] || fail "cgroup '$cg', not /ember/$id"
	[ "$pmax" = 64 ] || fail "pids.max '$pmax', not 64"
	expect_exit0
	expect_line "ember-init: exit status 0"
	grep -q '^ember:' "$D/err" && fail "ember complained: $(grep -m1 '^ember:' "$D/err")"
	true
}
