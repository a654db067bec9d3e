# SPDX-License-Identifier: MIT
# Resource limits: ember either runs or says in one line what it lacks.

# A small stack limit (soft and hard): ember runs on a stack of its own.
# (The old ember crashed in 3 of 5 such runs at 16 and 20 KiB.) Below about
# 14 KiB, depending on the environment's size and the stack's randomized
# placement, the C library's start-up itself cannot run (the kernel puts
# argv and the environment on that stack): not ember's to catch.
truncate -s 1M "$tmp/stack.img"
for kib in 16 20 24; do
	bad_runs=0
	for _ in 1 2 3; do
		prlimit --stack=$((kib * 1024)):$((kib * 1024)) "$EMBER" run --kernel "$TESTGUEST" \
			--cpus 2 --disk "$tmp/stack.img" --boot-trace --api-sock "$tmp/api.sock" \
			</dev/null >"$tmp/out" 2>"$tmp/err"
		rc=$?
		[ "$rc" = 0 ] && grep -q '^testguest: [0-9]* passed' "$tmp/out" || bad_runs=$((bad_runs + 1))
	done
	if [ "$bad_runs" = 0 ]; then
		ok "stack limit $kib KiB: the guest ran, status 0, 3 runs of 3"
	else
		bad "stack limit $kib KiB: $bad_runs runs of 3 failed, last status $rc: $(head -c 200 "$tmp/err")"
	fi
done

# Too few file descriptors, at each step where ember runs out: one line
# naming the step, status 1 (never a silent run without console input).
# RLIMIT_NOFILE bounds fd numbers, so descriptors the caller leaks into the
# test (a CI runner's, a terminal's) would shift every step: nofile_run runs
# ember with only 0, 1 and 2 open.
cat >"$tmp/nofile_run" <<'EOF2'
#!/bin/bash
for fd in $(ls /proc/$$/fd); do
	[ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
done
exec prlimit "$@"
EOF2
chmod +x "$tmp/nofile_run"
for n in 4 5 6 7 8 9 10 11 12 13 14; do
	EMBER="$tmp/nofile_run" expect "ulimit -n $n" 1 "Too many open files" -- \
		--nofile=$n:$n "$EMBER" run --kernel "$EXITGUEST"
done
EMBER="$tmp/nofile_run" expect "ulimit -n 15" 0 "testguest:" -- --nofile=15:15 "$EMBER" run --kernel "$TESTGUEST"

# Not enough address space for guest RAM.
EMBER="prlimit" expect "address space below guest RAM" 1 "ember: " -- \
	--as=$((64 << 20)) "$EMBER" run --kernel "$EXITGUEST" --memory 256M
