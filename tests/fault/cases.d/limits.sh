# SPDX-License-Identifier: MIT
# Resource limits: ember either runs or says in one line what it lacks.

# A small stack limit (soft and hard): ember runs on a stack of its own.
# Below about 10-12 KiB (it depends on the size of the environment) the C library's start-up cannot run (the kernel puts
# argv and the environment on that stack): not ember's to catch.
for kib in 12 16 24; do
	prlimit --stack=$((kib * 1024)):$((kib * 1024)) "$EMBER" run --kernel "$TESTGUEST" --cpus 2 \
		--api-sock "$tmp/api.sock" </dev/null >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" = 0 ] && grep -q '^testguest: [0-9]* passed' "$tmp/out"; then
		ok "stack limit $kib KiB: the guest ran, status 0"
	else
		bad "stack limit $kib KiB: status $rc: $(head -c 200 "$tmp/err")"
	fi
done

# Too few file descriptors, at each step where ember runs out: one line
# naming the step, status 1 (never a silent run without console input).
for n in 11 12 13 14 15; do
	EMBER="prlimit" expect "ulimit -n $n" 1 "Too many open files" -- \
		--nofile=$n:$n "$EMBER" run --kernel "$EXITGUEST"
done
EMBER="prlimit" expect "ulimit -n 16" 0 "testguest:" -- --nofile=16:16 "$EMBER" run --kernel "$TESTGUEST"

# Not enough address space for guest RAM.
EMBER="prlimit" expect "address space below guest RAM" 1 "ember: " -- \
	--as=$((64 << 20)) "$EMBER" run --kernel "$EXITGUEST" --memory 256M
