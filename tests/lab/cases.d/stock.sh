# Stock distro kernel case (sourced in L1 after cases.sh): Debian's own
# 6.1 kernel (CONFIG_ACPI, rtc-cmos, i8042 built in, virtio as modules that
# the initramfs does not load) boots under ember to the initramfs shell.
LAB_CASES="$LAB_CASES stock-kernel"

STOCK=/lab/vmlinux-stock

# It reaches user space; rtc-cmos finds ember's RTC at once and reads L1's
# time (both come from the host clock); the keyboard controller probe ends
# without timeouts and finds the keyboard port.
case_stock_kernel() {
	GK=$STOCK # each case runs in a subshell
	l1_now=$(date +%s)
	ember_run --initrd "$GI" --memory 256M --cmdline "$BASE printk.time=1 \
ember.cmd=\"echo rtc=\$(cat /sys/class/rtc/rtc0/name) epoch=\$(cat /sys/class/rtc/rtc0/since_epoch); \
dmesg | grep -E 'i8042|rtc_cmos' \""
	expect_exit0
	expect_line "ember-init: exit status 0"
	line=$(grep '^rtc=' "$D/console") || fail "guest printed no rtc line"
	case $line in
	# rtc_cmos's device: the ACPI PNP0B00 one (00:0N) on ACPI boots.
	"rtc=rtc_cmos rtc_cmos epoch="* | "rtc=rtc_cmos 00:0"[0-9]" epoch="*) ;;
	*) fail "rtc0 is not rtc_cmos: $line" ;;
	esac
	epoch=${line##*epoch=}
	[ -n "$epoch" ] || fail "rtc0 has no time: $line"
	skew=$((epoch - l1_now))
	[ "$skew" -ge -5 ] && [ "$skew" -le $((T + 5)) ] ||
		fail "guest RTC says $epoch, L1 said $l1_now before the boot (skew $skew s)"
	! grep -q "Can't read CTR" "$D/console" ||
		fail "i8042 probe timed out: $(grep -m1 "Can't read CTR" "$D/console")"
	# Found through ACPI's PNP0303 its IRQ is the one Linux maps GSI 1 to.
	grep -Eq 'serio: i8042 KBD port at 0x60,0x64 irq [0-9]+' "$D/console" ||
		fail "no i8042 keyboard port: $(grep 'i8042' "$D/console" | grep -v 'command line' | head -n3)"
	echo "# stock kernel: rtc skew ${skew} s (the guest read it at the end of its boot)"
}
