# SPDX-License-Identifier: MIT
# The command line: ember's device parameters go before "--" (what follows
# is init's), the 2047-byte limit is on the whole line and the message says
# how much room the devices leave; small CLI findings.

"$EMBER" run --kernel "$TESTGUEST" --cmdline "quiet -- initarg" </dev/null >"$tmp/out" 2>&1
line=$(grep -m1 '^testguest: cmdline: ' "$tmp/out")
if [[ $line == "testguest: cmdline: quiet virtio_mmio.device="*" -- initarg" ]]; then
	ok "device parameters before '--': $line"
else
	bad "device parameters before '--': got '$line'"
fi

long=$(head -c 2047 /dev/zero | tr '\0' x)
expect "2047-byte --cmdline with virtio-rng" 1 "can have at most 2012 bytes" -- \
	run --kernel "$EXITGUEST" --cmdline "$long"
expect "2012-byte --cmdline with virtio-rng fits" 0 "" -- \
	run --kernel "$EXITGUEST" --cmdline "${long:0:2012}"
expect "2047-byte --cmdline without devices fits" 0 "" -- \
	run --kernel "$EXITGUEST" --no-rng --cmdline "$long"
expect "2048-byte --cmdline" 2 "over the limit of 2047" -- \
	run --kernel "$EXITGUEST" --no-rng --cmdline "${long}x"

expect "run --help" 0 "SYNOPSIS" -- run --help
expect "--cpus 255 names ember's own limit" 1 "ember's limit of 254" -- \
	run --kernel "$EXITGUEST" --cpus 255
expect "a MAC with a space" 2 "not a unicast MAC" -- \
	run --kernel "$EXITGUEST" --net "tap=t0,mac=02:00:00:00: 1:01"
