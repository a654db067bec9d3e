#!/bin/sh
# /init of the nested lab's L1 (Debian kernel under QEMU TCG with SVM + NPT).
# Loads kvm-amd, then runs the lab cases (lab.mode=cases, lab.cases=a,b,...)
# or the interactive demo (lab.mode=demo), and powers off.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp

arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^lab\.$1=//p"; }
mode=$(arg mode)
cases=$(arg cases | tr , ' ')
LAB_VERBOSE=$(arg verbose) # N: also show N lines of guest output for passing cases

for m in irqbypass kvm ccp kvm-amd tun; do
	insmod /lab/modules/$m.ko || echo "# insmod $m.ko failed"
done

if [ ! -c /dev/kvm ]; then
	echo "FAIL - lab-kvm: /dev/kvm missing in L1 after loading kvm-amd"
elif [ "$mode" = script ]; then
	sh /lab/script
elif [ "$mode" = demo ]; then
	echo "lab: demo: build/ember run --kernel build/guest/vmlinux --initrd build/guest/initramfs.cpio.gz --boot-trace"
	demo="/lab/ember run --kernel /lab/vmlinux --initrd /lab/initramfs.cpio.gz --boot-trace"
	if [ -f /lab/demo-input ]; then
		# Replay the host's (non-terminal) stdin once the guest shell prompts,
		# then close it: ember passes the end of input on as ^D.
		mkfifo /tmp/in
		(
			i=0
			until grep -q 'ember# ' /tmp/out 2>/dev/null || [ $i -ge 600 ]; do
				sleep 0.1
				i=$((i + 1))
			done
			cat /lab/demo-input
		) >/tmp/in &
		{
			$demo </tmp/in 2>/tmp/ember.err
			echo $? >/tmp/rc
		} | tee /tmp/out
		rc=$(cat /tmp/rc)
	else
		rc=0
		$demo </dev/console >/dev/console 2>/tmp/ember.err || rc=$?
	fi
	echo
	echo "lab: demo: boot timeline (ember --boot-trace, L1 time: ratios only):"
	sed 's/^/    /' /tmp/ember.err
	echo "lab: demo: ember exit status $rc"
else
	. /lab/cases.sh
	for f in /lab/cases.d/*.sh; do [ -e "$f" ] && . "$f"; done
	if [ "$(arg jail)" = 1 ]; then
		# LAB_JAIL=1: every VM runs inside `ember jail` (jailed.sh).
		EMBER=/lab/ember-jailed
		FC=/lab/firecracker-jailed
		echo "# jailed: every ember run, restore and firecracker through ember jail"
	fi
	# The host's watchdog (run.sh) takes these as L1's sign of life: a
	# case may keep quiet for minutes, L1's user space never does.
	(
		i=0
		while sleep 5; do
			i=$((i + 5))
			echo "lab: alive $i"
		done
	) &
	alive=$!
	echo "# L1 up: /dev/kvm from kvm-amd, $(grep -c ^processor /proc/cpuinfo) CPUs, $(sed -n 's/^MemTotal: *//p' /proc/meminfo)"
	for c in ${cases:-$LAB_CASES}; do
		run_case "$c"
	done
	[ "$(arg jail)" != 1 ] ||
		echo "# jailed: $(ls -d /jail/*/*/root 2>/dev/null | wc -l) VMs ran in jails of their own (/jail/ember, /jail/firecracker)"
	kill $alive
fi
echo "lab: done"
poweroff -f
