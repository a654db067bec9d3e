#!/bin/sh
# Runs inside the benchmark guest (busybox sh; packed into the bench
# initramfs overlay as /bench-kernel-log, run with ember.cmd=/bench-kernel-log):
# prints, from the kernel's own log, where the kernel spent its boot time.
# Needs printk.time=1 on the command line, and initcall_debug for the
# initcall list (a kernel without kallsyms, like the minimal guest kernel,
# names its initcalls by address: resolve them with nm -n on its vmlinux).
#   ember-bench: uptime S                    /proc/uptime when this runs
#   ember-bench: initcalls N TOTAL_US        initcalls timed by initcall_debug
#   ember-bench: initcall US NAME            the 20 slowest
#   ember-bench: gap MS LINE                 the 12 longest silences in the log,
#                                            with the line that ended each
#   ember-bench: log T LINE                  landmarks: time the kernel reached them
dmesg >/tmp/dmesg
echo "ember-bench: uptime $(cut -d' ' -f1 /proc/uptime)"
sed -n 's/.*initcall \([^ ]*\) returned .* after \([0-9]*\) usecs.*/\2 \1/p' /tmp/dmesg >/tmp/ic
echo "ember-bench: initcalls $(wc -l </tmp/ic) $(awk '{ s += $1 } END { print s + 0 }' /tmp/ic)"
sort -rn /tmp/ic | head -n 20 | sed 's/^/ember-bench: initcall /'
# "[    1.234567] text": gap to the previous timestamped line.
sed -n 's/^\[ *\([0-9][0-9]*\.[0-9]*\)\] \(.*\)/\1 \2/p' /tmp/dmesg |
	grep -v ' initcall ' |
	awk '{ t = $1; $1 = ""; if (NR > 1) printf "%.3f%s\n", (t - p) * 1000, $0; p = t }' |
	sort -rn | head -n 12 | cut -c1-150 | sed 's/^/ember-bench: gap /'
grep -E 'Linux version|smpboot: Total|Freeing unused kernel image|Run /rdinit|Run /benchinit|Trying to unpack|Freeing initrd|clocksource: Switched|ACPI: Unable|RSDP|MP-table|i8042|Calibrating' /tmp/dmesg |
	sed -n 's/^\[ *\([0-9][0-9]*\.[0-9]*\)\] \(.*\)/\1 \2/p' | cut -c1-150 | sed 's/^/ember-bench: log /'
