# virtio-rng case (sourced in L1 after cases.sh).
LAB_CASES="$LAB_CASES rng-hwrng"

# The guest's hw_random core picks virtio-rng and /dev/hwrng yields bytes
# that are not all the same (8 KiB from the host's getrandom()).
case_rng_hwrng() {
	ember_run --initrd "$GI" --cmdline "$BASE quiet ember.cmd=\"\
echo rng=\$(cat /sys/class/misc/hw_random/rng_current); \
dd if=/dev/hwrng of=/tmp/r bs=1024 count=8 2>/dev/null; \
echo bytes=\$(wc -c </tmp/r) distinct=\$(od -An -v -tu1 -w1 /tmp/r | sort -u | wc -l)\""
	expect_exit0
	grep -q '^rng=virtio_rng' "$D/console" || fail "hw_random does not use virtio-rng: $(grep '^rng=' "$D/console")"
	line=$(grep '^bytes=' "$D/console") || fail "guest printed no byte count"
	set -- $(echo "$line" | tr '=' ' ')
	[ "$2" = 8192 ] || fail "read $2 bytes from /dev/hwrng, want 8192"
	[ "$4" -gt 200 ] || fail "only $4 distinct byte values in 8 KiB from /dev/hwrng"
}
