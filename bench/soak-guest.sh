#!/bin/sh
# The guest half of the soak (bench/soak.sh): drive virtio-blk, virtio-net and
# virtio-vsock at once until SECS seconds of guest uptime have passed, then
# print one count line per workload and "soak-guest: done".
#
#   sh /mnt/soak-guest.sh SECS HOST   (on the soak disk, mounted on /mnt)
#
# blk:   write 1 MiB of random bytes to /mnt, sync, drop the page cache,
#        read it back and compare hashes.
# net:   ping HOST, then send 256 KiB over TCP to HOST:5001 (L1 listens).
# vsock: listen on port 1234 for L1's clients (full echoes and clients that
#        leave mid-transfer), and connect to host port 5000 (L1 echoes).
secs=${1:?usage: soak-guest.sh SECS HOST}
host=${2:?usage: soak-guest.sh SECS HOST}
now() { cut -d. -f1 /proc/uptime; }
end=$(($(now) + secs))
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 || echo "soak-guest: no network"

(
	ok=0 bad=0
	while [ "$(now)" -lt $end ]; do
		dd if=/dev/urandom of=/mnt/blob bs=64k count=16 2>/dev/null
		a=$(sha256sum </mnt/blob)
		sync
		echo 3 >/proc/sys/vm/drop_caches
		b=$(sha256sum </mnt/blob)
		if [ "$a" = "$b" ]; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
		rm -f /mnt/blob
	done
	echo "soak-guest: blk ok=$ok bad=$bad"
) &
(
	ok=0 bad=0
	while [ "$(now)" -lt $end ]; do
		if ping -c 1 -W 5 "$host" >/dev/null 2>&1 &&
			head -c 262144 /dev/urandom | nc "$host" 5001 >/dev/null 2>&1; then
			ok=$((ok + 1))
		else
			bad=$((bad + 1))
			sleep 1
		fi
	done
	echo "soak-guest: net ok=$ok bad=$bad"
) &
(
	ok=0 bad=0
	while [ "$(now)" -lt $end ]; do
		if vsock-echo listen 1234 >/dev/null 2>&1; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
	done
	echo "soak-guest: vsock-listen ok=$ok broken=$bad"
) &
(
	ok=0 bad=0
	while [ "$(now)" -lt $end ]; do
		if vsock-echo connect 2 5000 262144 >/dev/null 2>&1; then
			ok=$((ok + 1))
		else
			bad=$((bad + 1))
			sleep 1
		fi
	done
	echo "soak-guest: vsock-connect ok=$ok bad=$bad"
) &
wait
echo "soak-guest: done"
