#!/usr/bin/env bash
# The CLI bad-input table: every bad input ends in one line
# "ember: <what>: <why>" on stderr, nothing on stdout, the right exit status,
# no crash and no hang. Needs /dev/kvm for the cases past option parsing.
set -uo pipefail
cd "$(dirname "$0")/../.."
EMBER=${EMBER:-build/ember}
GUEST=build/tests/guest/testguest.elf
tmp=$(mktemp -d /tmp/ember-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

cc -std=gnu11 -D_GNU_SOURCE -Isrc -Itests/unit -o "$tmp/mkbad" tests/cli/mkbad.c \
	tests/unit/elf_builder.c src/util.c || { echo "cli: cannot build mkbad"; exit 1; }
"$tmp/mkbad" "$tmp"
: >"$tmp/empty"
echo "this is not a kernel" >"$tmp/text"
mkfifo "$tmp/fifo"
head -c 200 "$GUEST" >"$tmp/trunc.elf"
head -c $((8 << 20)) /dev/zero >"$tmp/big.initrd"
long=$(head -c 2048 /dev/zero | tr '\0' 'x')

# case NAME STATUS SUBSTRING -- ember args...
case_() {
	local name=$1 want=$2 sub=$3
	shift 4
	local out err rc nl
	timeout 20 "$EMBER" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	nl=$(wc -l <"$tmp/err")
	if [ "$rc" != "$want" ]; then
		echo "FAIL - $name: exit $rc, want $want ($(head -c 200 "$tmp/err"))"; fail=$((fail + 1))
	elif [ "$want" != 0 ] && { [ "$nl" != 1 ] || ! grep -q "^ember: " "$tmp/err"; }; then
		echo "FAIL - $name: want one 'ember: ' line, got $nl lines: $(head -c 300 "$tmp/err")"; fail=$((fail + 1))
	elif ! grep -qF -- "$sub" "$tmp/err" "$tmp/out"; then
		echo "FAIL - $name: output lacks '$sub': $(head -c 300 "$tmp/err")"; fail=$((fail + 1))
	elif [ "$want" != 0 ] && [ -s "$tmp/out" ]; then
		echo "FAIL - $name: unexpected stdout: $(head -c 200 "$tmp/out")"; fail=$((fail + 1))
	else
		echo "ok - $name: $(head -n 1 "$tmp/err" "$tmp/out" | grep -m1 -v '^==>\|^$')"; pass=$((pass + 1))
	fi
}

case_ "help" 0 "SYNOPSIS" -- --help
case_ "version" 0 "ember " -- --version
case_ "no arguments" 2 "no command given" --
case_ "unknown command" 2 "unknown command 'frob'" -- frob
case_ "unknown option" 2 "unknown option '--frob'" -- run --kernel "$GUEST" --frob
case_ "no kernel option" 2 "--kernel PATH is required" -- run
case_ "missing kernel" 1 "kernel /nonexistent/vmlinux: No such file or directory" -- run --kernel /nonexistent/vmlinux
case_ "empty kernel" 1 "empty file" -- run --kernel "$tmp/empty"
case_ "directory kernel" 1 "not a regular file" -- run --kernel "$tmp"
case_ "non-ELF kernel" 1 "not an ELF file" -- run --kernel "$tmp/text"
case_ "truncated kernel" 1 "past the end of the file" -- run --kernel "$tmp/trunc.elf"
case_ "no PVH note" 1 "no PVH entry note" -- run --kernel "$tmp/nonote.elf"
case_ "overlapping segments" 1 "overlap" -- run --kernel "$tmp/overlap.elf"
case_ "filesz > memsz" 1 "exceeds memory size" -- run --kernel "$tmp/filesz.elf"
case_ "note past segment" 1 "runs past its end" -- run --kernel "$tmp/notepast.elf"
case_ "segment outside RAM" 1 "outside guest RAM" -- run --kernel "$tmp/highseg.elf" --memory 8M
case_ "initrd does not fit" 1 "do not fit in guest RAM" -- run --kernel "$GUEST" --memory 4M --initrd "$tmp/big.initrd"
case_ "missing initrd" 1 "initrd /nonexistent: No such file" -- run --kernel "$GUEST" --initrd /nonexistent
case_ "cmdline too long" 2 "over the limit of 2047" -- run --kernel "$GUEST" --cmdline "$long"
case_ "memory 0" 2 "--memory: size '0' is zero" -- run --kernel "$GUEST" --memory 0
case_ "memory junk" 2 "--memory" -- run --kernel "$GUEST" --memory lots
case_ "memory too large" 2 "above the maximum" -- run --kernel "$GUEST" --memory 100T
case_ "memory host cannot map" 1 "--memory" -- run --kernel "$GUEST" --memory 63T
case_ "cpus 0" 2 "--cpus" -- run --kernel "$GUEST" --cpus 0
case_ "cpus above the limit" 1 "above ember's limit of 254" -- run --kernel "$GUEST" --cpus 100000
case_ "vsock path not a socket" 1 "exists and is not a socket" -- run --kernel "$GUEST" --vsock "cid=3,uds=$tmp/text"
case_ "vsock path in no directory" 1 "uds=/nonexistent/v.sock: No such file" -- run --kernel "$GUEST" --vsock cid=3,uds=/nonexistent/v.sock
case_ "inspect non-ELF" 1 "not an ELF file" -- inspect "$tmp/text"

# Firecracker's command line (ember firecracker, and ember started as
# firecracker). A usage error is one "ember:" line and status 2; a failure
# after the start is status 1 with "ember:" as the last line (the log, on
# standard error without --log-path, may come first).
case_ "fc: --no-api without --config-file" 2 "--no-api needs --config-file" -- firecracker --no-api
case_ "fc: unknown option" 2 "unknown option '--frob'" -- firecracker --frob
case_ "fc: bad --id" 2 "Invalid instance ID" -- firecracker --id "a b" --no-api --config-file /x
case_ "fc: bad --level" 2 "--level 'loud'" -- firecracker --level loud
case_ "fc: --api-sock without a value" 2 "--api-sock needs a value" -- firecracker --api-sock
case_ "fc: --version" 0 "Firecracker v1.16.1" -- firecracker --version
case_ "fc: --help" 0 "ember firecracker" -- firecracker --help
# fc_fail NAME SUBSTRING -- args: exit 1, last stderr line "ember: ...SUBSTRING".
fc_fail() {
	local name=$1 sub=$2 rc last
	shift 3
	timeout 20 "$EMBER" firecracker "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	last=$(tail -n 1 "$tmp/err")
	if [ "$rc" = 1 ] && [[ $last == "ember: "*"$sub"* ]]; then
		echo "ok - $name: $last"; pass=$((pass + 1))
	else
		echo "FAIL - $name: exit $rc, last line '$last'"; fail=$((fail + 1))
	fi
}
printf '{"boot-source": {"kernel_image_path": "%s"}, "drives": [], "machine-config": {"vcpu_count": 0, "mem_size_mib": 64}}' \
	"$GUEST" >"$tmp/bad.json"
printf '{"boot-source": {"kernel_image_path": "/nonexistent/vmlinux"}, "drives": []}' >"$tmp/nokernel.json"
fc_fail "fc: config file with 0 vCPUs" "machine-config" -- --no-api --config-file "$tmp/bad.json"
fc_fail "fc: config file without its kernel" "/nonexistent/vmlinux" -- --no-api --config-file "$tmp/nokernel.json"
fc_fail "fc: missing config file" "No such file" -- --no-api --config-file /nonexistent.json
fc_fail "fc: FIFO as config file" "not a regular file" -- --no-api --config-file "$tmp/fifo"
fc_fail "fc: API socket in no directory" "Failed to open the API socket" -- --api-sock /nonexistent/fc.sock
fc_fail "fc: API socket on a regular file" "Failed to open the API socket" -- --api-sock "$tmp/text"
# --metrics-path with a config file that has no metrics section: the file
# must not configure metrics a second time (it did: "Reinitialization").
# The exit guest resets at once, so firecracker ends with status 0.
printf '{"boot-source": {"kernel_image_path": "%s"}, "drives": []}' \
	build/tests/guest/exitguest.elf >"$tmp/exit.json"
timeout 20 "$EMBER" firecracker --no-api --config-file "$tmp/exit.json" --metrics-path "$tmp/m.json" \
	>"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
if [ "$rc" = 0 ] && grep -q '"api_server"' "$tmp/m.json"; then
	echo "ok - fc: --metrics-path and a config file without metrics: status 0, metrics written"
	pass=$((pass + 1))
else
	echo "FAIL - fc: --metrics-path and a config file without metrics: exit $rc, $(tail -n 1 "$tmp/err")"
	fail=$((fail + 1))
fi
printf '{"boot-source": {"kernel_image_path": "%s"}, "drives": [], "metrics": {"metrics_path": "%s"}}' \
	build/tests/guest/exitguest.elf "$tmp/m2.json" >"$tmp/twice.json"
fc_fail "fc: metrics in both the file and --metrics-path" "Reinitialization of metrics" -- \
	--no-api --config-file "$tmp/twice.json" --metrics-path "$tmp/m.json"
case_ "inspect testguest" 0 "PHYS32_ENTRY" -- inspect "$GUEST"
# ember closes the fds it inherits, but not one its command line names
exec 7<"$GUEST"
case_ "inspect /dev/fd/7 (an inherited fd named)" 0 "PHYS32_ENTRY" -- inspect /dev/fd/7
exec 7<&-

# bzImage kernels (src/boot/unwrap.c), with a kernel cache of this run's own.
# Broken ones end in one "ember: kernel PATH: ..." line; the test guest
# wrapped in an xz bzImage boots twice, decompressed the first time and
# served by the cache the second (--boot-trace says which).
export XDG_CACHE_HOME="$tmp/cache"
mkdir -p "$XDG_CACHE_HOME"
if cc -std=gnu11 -D_GNU_SOURCE -Isrc -Itests/unit -o "$tmp/mkbzimage" tests/cli/mkbzimage.c \
	tests/unit/bz_builder.c src/boot/bzimage.c src/util.c -lz -llzma -lzstd -llz4 -lbz2 &&
	"$tmp/mkbzimage" xz "$GUEST" "$tmp/tg.bz"; then
	bzlen=$(stat -c %s "$tmp/tg.bz")
	head -c $((bzlen - 100)) "$tmp/tg.bz" >"$tmp/cut.bz"
	cp "$tmp/tg.bz" "$tmp/bad.bz"
	printf 'garbage!garbage!' | dd of="$tmp/bad.bz" bs=1 seek=$((1024 + 64 + 200)) conv=notrunc 2>/dev/null
	for c in inspect run; do
		k=(--kernel); [ $c = inspect ] && k=()
		case_ "$c: truncated bzImage" 1 "kernel $tmp/cut.bz: bzImage: payload at byte 1088" -- \
			$c "${k[@]}" "$tmp/cut.bz"
		case_ "$c: corrupt bzImage payload" 1 "kernel $tmp/bad.bz: xz payload: corrupt data" -- \
			$c "${k[@]}" "$tmp/bad.bz"
	done
	case_ "inspect bzImage" 0 "format:     bzImage (protocol 2.15, xz payload" -- inspect "$tmp/tg.bz"
	s="console=ttyS0 tg.mem=128M tg.cpus=1 tg.cmdline_len="
	n=$((${#s} + 2)) # tg.cmdline_len counts its own two digits
	rm -rf "$XDG_CACHE_HOME/ember" # inspect filled it: start cold
	for want in "kernel unwrapped (xz, " "kernel unwrapped (cache)"; do
		timeout 60 "$EMBER" run --kernel "$tmp/tg.bz" --memory 128M --no-rng --boot-trace \
			--cmdline "$s$n" </dev/null >"$tmp/out" 2>"$tmp/err"
		rc=$?
		if [ $rc = 0 ] && grep -aq "^testguest: [1-9][0-9]* passed, 0 failed" "$tmp/out" &&
			grep -q "boot-trace: .* $want" "$tmp/err"; then
			echo "ok - run bzImage: $(grep -ao '^testguest: [0-9]* passed.*' "$tmp/out" | tr -d '\r'), $(grep -o 'kernel unwrapped.*' "$tmp/err")"
			pass=$((pass + 1))
		else
			echo "FAIL - run bzImage (want '$want'): exit $rc: $(grep -a 'FAIL\|testguest:' "$tmp/out" | head -3) $(head -c 300 "$tmp/err")"
			fail=$((fail + 1))
		fi
	done
else
	echo "FAIL - cannot build mkbzimage or wrap $GUEST"; fail=$((fail + 1))
fi

# The snapshot commands' own mistakes (the damaged files are the snapshot
# tier's): usage errors exit 2, a missing file or socket 1.
case_ "restore: no snapshot" 2 "no snapshot given" -- restore
case_ "restore: two snapshots" 2 "one snapshot only" -- restore a b
case_ "restore: unknown option" 2 "unknown option '--frob'" -- restore --frob a
case_ "restore: --paused without --api-sock" 2 "--paused needs --api-sock" -- restore --paused a
case_ "restore: --mem and --uffd" 2 "exclude each other" -- restore --mem m --uffd u a
case_ "restore: --net without =" 2 "want ID=TAP" -- restore --net eth0 a
case_ "run: one --net id twice" 2 "id 'x' given twice" -- run --kernel "$GUEST" \
	--net tap=ta,id=x --net tap=tb,id=x
case_ "run: an empty --net id" 2 "must be 1-64 bytes" -- run --kernel "$GUEST" --net tap=ta,id=
case_ "restore: missing snapshot" 1 "No such file or directory" -- restore "$tmp/none.snap"
case_ "restore: a FIFO as snapshot" 1 "not a regular file" -- restore "$tmp/fifo"
case_ "restore: a text file" 1 "not an ember snapshot" -- restore "$tmp/text"
case_ "restore: --help" 0 "ember restore" -- restore --help
case_ "snapshot: no --api-sock" 2 "usage: ember snapshot" -- snapshot "$tmp/s"
case_ "snapshot: --then bad" 2 "usage: ember snapshot" -- snapshot --api-sock x --then later "$tmp/s"
case_ "snapshot: nothing listening" 1 "is an ember with --api-sock running?" -- \
	snapshot --api-sock "$tmp/nobody.sock" "$tmp/s"
case_ "snapshot-merge: one file" 2 "usage: ember snapshot-merge" -- snapshot-merge "$tmp/a"
truncate -s 8192 "$tmp/base.mem"; truncate -s 4096 "$tmp/diff.mem"
case_ "snapshot-merge: sizes differ" 1 "are not a memory file and a diff" -- \
	snapshot-merge "$tmp/base.mem" "$tmp/diff.mem"

# No /dev/kvm, and no permission: need root to set up the situation.
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	cp "$GUEST" "$tmp/g.elf"; chmod 755 "$tmp"; chmod 644 "$tmp/g.elf"
	EMBER_ABS=$(readlink -f "$EMBER")
	EMBER="unshare" case_ "no /dev/kvm" 1 "/dev/kvm: not found" -- -m sh -c \
		"mount -t tmpfs none /dev && exec $EMBER_ABS run --kernel $tmp/g.elf"
	EMBER="setpriv" case_ "no permission on /dev/kvm" 1 "/dev/kvm: permission denied" -- \
		--reuid=65534 --regid=65534 --clear-groups "$EMBER_ABS" run --kernel "$tmp/g.elf"
else
	echo "cli: skipped 'no /dev/kvm' and 'no permission' cases: need root and unshare"
fi
echo "cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
