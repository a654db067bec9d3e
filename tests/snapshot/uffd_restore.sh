#!/bin/bash
# SPDX-License-Identifier: MIT
# The Uffd backend end to end, on /dev/kvm with waitguest (a tiny PVH guest
# that prints "waitguest: tick N" once a second): boot it through the
# Firecracker API, pause, snapshot, then restore it in a new ember whose
# RAM the example handler (tests/snapshot/uffd_handler) serves from the
# memory file. The restored guest must go on ticking from where it stopped,
# end on Ctrl-Alt-Del with status 0, and the handler must see ember go.
# Also: a load whose handler socket does not exist fails with 400 and says so.
#   make check-uffd-restore
# Prints one line per failed check and "uffd-restore: N passed, M failed".
set -u
B=${B:-build}
EMBER=$B/ember
HANDLER=$B/tests/snapshot/uffd_handler
GUEST=$B/tests/guest/waitguest.elf
T=$(mktemp -d /tmp/ember-uffd-restore.XXXXXX)
pass=0 fail=0
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); }
bad() {
	echo "FAIL - $*"
	fail=$((fail + 1))
}
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then ok; else bad "$what"; fi
}
# api SOCKET METHOD PATH [BODY]: prints the body, then the status on its own line
api() {
	curl -s -S --max-time 30 --unix-socket "$1" -X "$2" "http://localhost$3" \
		-H 'Content-Type: application/json' ${4:+-d "$4"} -w '\n%{http_code}\n'
}
status() { tail -n 1 <<<"$1"; }
wait_for() { # wait_for SECONDS COMMAND...: poll every 0.1 s
	local n=$(($1 * 10))
	shift
	while ((n-- > 0)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
lacks() { ! grep -q "$1" "$2"; }
last_tick() { sed -n 's/^waitguest: tick \([0-9]*\).*/\1/p' "$1" | tail -n 1; }

for f in "$EMBER" "$HANDLER" "$GUEST"; do
	[ -e "$f" ] || { echo "uffd-restore: $f missing (make $f)"; exit 1; }
done

# 1. Boot, pause and snapshot.
"$EMBER" firecracker --api-sock "$T/a.sock" >"$T/a.out" 2>"$T/a.err" &
A=$!
pids+=("$A")
wait_for 10 test -S "$T/a.sock" || { echo "uffd-restore: ember did not start"; exit 1; }
r=$(api "$T/a.sock" PUT /boot-source "{\"kernel_image_path\":\"$PWD/$GUEST\"}")
check "PUT /boot-source: $r" [ "$(status "$r")" = 204 ]
r=$(api "$T/a.sock" PUT /machine-config '{"vcpu_count":1,"mem_size_mib":64}')
check "PUT /machine-config: $r" [ "$(status "$r")" = 204 ]
r=$(api "$T/a.sock" PUT /actions '{"action_type":"InstanceStart"}')
check "InstanceStart: $r" [ "$(status "$r")" = 204 ]
check "waitguest ticks twice before the snapshot" wait_for 30 grep -q 'tick 2' "$T/a.out"
r=$(api "$T/a.sock" PATCH /vm '{"state":"Paused"}')
check "pause: $r" [ "$(status "$r")" = 204 ]
before=$(last_tick "$T/a.out")
r=$(api "$T/a.sock" PUT /snapshot/create \
	"{\"snapshot_path\":\"$T/snap\",\"mem_file_path\":\"$T/mem\"}")
check "PUT /snapshot/create: $r" [ "$(status "$r")" = 204 ]
kill "$A"
wait "$A" 2>/dev/null

# 2. Restore through the handler.
"$HANDLER" "$T/h.sock" "$T/mem" >"$T/h.out" 2>&1 &
H=$!
pids+=("$H")
check "the handler listens" wait_for 10 test -S "$T/h.sock"
"$EMBER" firecracker --api-sock "$T/b.sock" >"$T/b.out" 2>"$T/b.err" &
E=$!
pids+=("$E")
wait_for 10 test -S "$T/b.sock" || { echo "uffd-restore: ember did not start"; exit 1; }
r=$(api "$T/b.sock" PUT /snapshot/load "{\"snapshot_path\":\"$T/snap\",\"mem_backend\":\
{\"backend_type\":\"Uffd\",\"backend_path\":\"$T/h.sock\"},\"resume_vm\":true}")
check "PUT /snapshot/load with Uffd: $r" [ "$(status "$r")" = 204 ]
check "the restored guest ticks on" wait_for 30 grep -q 'tick' "$T/b.out"
first=$(sed -n 's/^waitguest: tick \([0-9]*\).*/\1/p' "$T/b.out" | head -n 1)
check "its first tick ($first) follows the last before the snapshot ($before)" \
	[ "${first:-0}" -gt "${before:-99}" ]
check "no second boot (no 'ready' line)" lacks 'waitguest: ready' "$T/b.out"
r=$(api "$T/b.sock" PUT /actions '{"action_type":"SendCtrlAltDel"}')
check "SendCtrlAltDel: $r" [ "$(status "$r")" = 204 ]
wait_for 30 sh -c "! kill -0 $E 2>/dev/null"
kill "$E" 2>/dev/null
wait "$E"
st=$?
check "the restored ember exits 0 on Ctrl-Alt-Del (got $st)" [ "$st" = 0 ]
wait_for 10 sh -c "! kill -0 $H 2>/dev/null"
kill "$H" 2>/dev/null
wait "$H"
st=$?
check "the handler exits 0 when ember has gone (got $st)" [ "$st" = 0 ]
check "the handler served pages: $(tail -n 1 "$T/h.out")" \
	grep -Eq 'served [1-9][0-9]* pages' "$T/h.out"

# 3. No handler at the path: a clean 400 naming the problem.
"$EMBER" firecracker --api-sock "$T/c.sock" >"$T/c.out" 2>"$T/c.err" &
C=$!
pids+=("$C")
wait_for 10 test -S "$T/c.sock" || { echo "uffd-restore: ember did not start"; exit 1; }
r=$(api "$T/c.sock" PUT /snapshot/load "{\"snapshot_path\":\"$T/snap\",\"mem_backend\":\
{\"backend_type\":\"Uffd\",\"backend_path\":\"$T/none.sock\"}}")
check "load without a handler is 400: $r" [ "$(status "$r")" = 400 ]
check "and says why: $r" grep -q 'no page-fault handler has bound it' <<<"$r"
kill "$C"
wait "$C" 2>/dev/null

echo "uffd-restore: $pass passed, $fail failed"
[ "$fail" = 0 ]
