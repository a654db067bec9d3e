#!/bin/sh
# The lab half of the I/O benchmark: runs inside L1 as
# `tests/lab/run.sh --script bench/lab-io.sh` (started by bench/io.sh).
# ember and QEMU microvm boot the same guest kernel and initramfs with a
# virtio-blk disk on the same image (a file in L1's tmpfs, host page cache
# for both) and run guest/diskbench: sequential O_DIRECT read and write in
# 1 MiB blocks and 4 KiB random reads; then a virtio-net device on a TAP of
# its own and a 256 MiB TCP send from the guest to L1. Systems alternate,
# RUNS rounds.
# Output, parsed by bench/io.sh: "bench: io SYSTEM RUN MODE VALUE UNIT".
set -u
RUNS=${RUNS:-3}
IMG=/tmp/io.img
MIB=128
T=180
dd if=/dev/zero of=$IMG bs=1M count=256 2>/dev/null
CMD="diskbench seqwrite /dev/vda $MIB; diskbench seqread /dev/vda $MIB; diskbench randread /dev/vda 4"
APPEND="console=ttyS0 reboot=t panic=-1 pci=off quiet ember.cmd=\"$CMD\""

run_ember() {
	timeout $T /lab/ember run --kernel /lab/vmlinux --initrd /lab/initramfs.cpio.gz \
		--memory 512M --no-rng --disk $IMG --cmdline "$APPEND" </dev/null 2>/tmp/io.err
}

# virtio-mmio devices on QEMU microvm (acpi=off: microvm then adds
# virtio_mmio.device= to the command line, as the minimal guest kernel has no
# ACPI to find them by); cache=writeback is QEMU's default and
# matches ember (both go through L1's page cache).
run_qemu() {
	timeout $T qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=off,pit=off,pic=off,isa-serial=on,acpi=off \
		-enable-kvm -cpu host -m 512M -nodefaults -no-user-config -nographic -serial stdio \
		-no-reboot -kernel /lab/vmlinux -initrd /lab/initramfs.cpio.gz -append "$APPEND" \
		-drive id=d0,file=$IMG,format=raw,if=none,cache=writeback \
		-device virtio-blk-device,drive=d0 </dev/null 2>/tmp/io.err
}

# Network: TCP from the guest to a receiver in L1 over a TAP each (busybox
# tunctl; L1 has no NIC, the addresses exist only inside it).
NET_MIB=256
tunctl -t tapE >/dev/null && ip addr add 10.0.3.1/24 dev tapE && ip link set tapE up
tunctl -t tapQ >/dev/null && ip addr add 10.0.4.1/24 dev tapQ && ip link set tapQ up
NET_E="console=ttyS0 reboot=t panic=-1 pci=off quiet ember.cmd=\"ip link set eth0 up && \
ip addr add 10.0.3.2/24 dev eth0 && diskbench tcpsend 10.0.3.1:5001 $NET_MIB\""
NET_Q=$(echo "$NET_E" | sed 's/10\.0\.3\./10.0.4./g')

run_net_ember() {
	timeout $T /lab/ember run --kernel /lab/vmlinux --initrd /lab/initramfs.cpio.gz \
		--memory 512M --no-rng --net tap=tapE --cmdline "$NET_E" </dev/null 2>/tmp/io.err
}

run_net_qemu() {
	timeout $T qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=off,pit=off,pic=off,isa-serial=on,acpi=off \
		-enable-kvm -cpu host -m 512M -nodefaults -no-user-config -nographic -serial stdio \
		-no-reboot -kernel /lab/vmlinux -initrd /lab/initramfs.cpio.gz -append "$NET_Q" \
		-netdev tap,id=n0,ifname=tapQ,script=no,downscript=no \
		-device virtio-net-device,netdev=n0 </dev/null 2>/tmp/io.err
}

r=1
while [ $r -le "$RUNS" ]; do
	for sys in ember qemu; do
		timeout $T nc -l -p 5001 >/dev/null &
		npid=$!
		run_net_$sys | tr -d '\r' >/tmp/io.out
		kill $npid 2>/dev/null
		wait $npid 2>/dev/null
		sed -n 's/^diskbench: \(tcpsend\) \([0-9.]*\) \(.*\)$/bench: io '$sys' '$r' \1 \2 \3/p' /tmp/io.out
		grep -q '^diskbench: tcpsend' /tmp/io.out || {
			echo "bench: io $sys $r net failed; last output and errors:"
			tail -n 5 /tmp/io.out /tmp/io.err | sed 's/^/bench:   /'
		}
		run_$sys | tr -d '\r' >/tmp/io.out
		sed -n 's/^diskbench: \([a-z]*\) \([0-9.]*\) \(.*\)$/bench: io '$sys' '$r' \1 \2 \3/p' /tmp/io.out
		grep -q '^diskbench: randread' /tmp/io.out || {
			echo "bench: io $sys $r failed; last output and errors:"
			tail -n 5 /tmp/io.out /tmp/io.err | sed 's/^/bench:   /'
		}
	done
	r=$((r + 1))
done
echo "bench: io done"
