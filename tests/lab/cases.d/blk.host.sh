# Staged on the host for cases.d/blk.sh (sourced by tests/lab/run.sh):
# an ext4 image made with mkfs.ext4 -d holding a file of known hash, and
# debugfs for reading the image in L1 after ember exits.
scripts/deps.sh e2fsprogs
blk_tmp=$out/blk
rm -rf "$blk_tmp"
mkdir -p "$blk_tmp/root"
head -c 300000 /dev/urandom >"$blk_tmp/root/payload.bin"
sha256sum <"$blk_tmp/root/payload.bin" | cut -d' ' -f1 >"$stage/lab/blk-payload.sha256"
truncate -s 64M "$stage/lab/disk.ext4"
mkfs.ext4 -q -F -L emberdisk -d "$blk_tmp/root" "$stage/lab/disk.ext4"
copy_with_libs "$(command -v debugfs)" /sbin/debugfs
# A root file system image with the guest initramfs's contents, for booting
# from a disk (--disk ... --root ...).
mkfs.ext4 -q -F -L emberroot -d build/guest/initramfs.d/root "$stage/lab/rootfs.ext4" 64M
