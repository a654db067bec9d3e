# virtio-blk cases (sourced in L1 after cases.sh). The image comes from
# blk.host.sh: ext4 made on the host with mkfs.ext4 -d, holding payload.bin.
LAB_CASES="$LAB_CASES blk-ext4-rw blk-ro blk-sigkill-after-sync blk-root"

# debugfs_cat IMAGE PATH: a file's contents from an ext4 image, read in L1.
debugfs_cat() { debugfs -R "cat $2" "$1" 2>/dev/null; }

# The guest mounts the image, checks a file the host wrote, writes a new one
# and syncs; after ember exits, L1 reads the new file back from the image.
case_blk_ext4_rw() {
	cp /lab/disk.ext4 "$D/disk.img"
	want=$(cat /lab/blk-payload.sha256)
	ember_run --initrd "$GI" --disk "$D/disk.img,id=lab-disk" --cmdline "$BASE quiet \
ember.cmd=\"mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && sha256sum /mnt/payload.bin && \
echo serial=\$(cat /sys/block/vda/serial); echo written-by-guest >/mnt/new.txt && sync && umount /mnt\""
	expect_exit0
	expect_line "ember-init: exit status 0"
	grep -q "^$want  /mnt/payload.bin\$" "$D/console" || fail "payload.bin hash differs in the guest"
	expect_line "serial=lab-disk"
	[ "$(debugfs_cat "$D/disk.img" /new.txt)" = written-by-guest ] ||
		fail "L1 does not see /new.txt on the image after ember exited"
}

# A read-only disk: the guest sees it read-only, writes fail, the image is
# unchanged.
case_blk_ro() {
	cp /lab/disk.ext4 "$D/disk.img"
	before=$(sha256sum <"$D/disk.img")
	ember_run --initrd "$GI" --disk "$D/disk.img,ro" --cmdline "$BASE quiet \
ember.cmd=\"cat /sys/block/vda/ro; dd if=/dev/zero of=/dev/vda bs=512 count=1 oflag=direct \
&& echo write-succeeded; mkdir -p /mnt; mount -t ext4 /dev/vda /mnt && \
(echo x >/mnt/x.txt && echo file-write-succeeded); true\""
	expect_exit0
	expect_line "1"
	has_line write-succeeded && fail "the guest wrote to a read-only disk"
	has_line file-write-succeeded && fail "the guest wrote a file on a read-only disk"
	[ "$(sha256sum <"$D/disk.img")" = "$before" ] || fail "the read-only image changed"
}

# Data the guest synced survives ember being killed with SIGKILL.
case_blk_sigkill_after_sync() {
	cp /lab/disk.ext4 "$D/disk.img"
	timeout -s KILL $T "$EMBER" run --kernel "$GK" --initrd "$GI" --disk "$D/disk.img" \
		--cmdline "$BASE quiet ember.cmd=\"mkdir -p /mnt && mount /dev/vda /mnt && \
echo survived-sigkill >/mnt/synced.txt && sync && echo lab-synced && sleep 600\"" \
		</dev/null >"$D/out" 2>"$D/err" &
	pid=$!
	i=0
	until tr -d '\r' <"$D/out" | grep -q '^lab-synced'; do
		i=$((i + 1))
		[ $i -le 600 ] || { kill -9 $pid; fail "guest never reported lab-synced"; }
		sleep 0.1
	done
	kill -9 $pid
	wait $pid 2>/dev/null
	[ "$(debugfs_cat "$D/disk.img" /synced.txt)" = survived-sigkill ] ||
		fail "synced file missing from the image after SIGKILL"
}

# Booting from a disk: no initrd, --root makes /dev/vda the root file system
# (rw) and init comes from it.
case_blk_root() {
	cp /lab/rootfs.ext4 "$D/root.img"
	ember_run --disk "$D/root.img" --root "$D/root.img" --cmdline "$BASE quiet init=/init \
ember.cmd=\"mount | grep ' on / '; grep -o root=/dev/vd. /proc/cmdline\""
	expect_exit0
	grep -q '^/dev/root on / type ext4 (rw' "$D/console" || fail "root is not ext4 rw on vda: $(grep ' on / ' "$D/console")"
	expect_line "root=/dev/vda"
	expect_line "ember-init: exit status 0"
}
