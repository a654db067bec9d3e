# SPDX-License-Identifier: MIT
# /dev/kvm missing or odd: one line that says what is wrong, status 1.
# (No /dev/kvm and no permission are in tests/cli/run.sh.) Needs root and
# mount namespaces to set the situation up.
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	abs=$(readlink -f "$EMBER")
	g=$(readlink -f "$EXITGUEST")
	: >"$tmp/regular"
	rm -f "$tmp/fifo"; mkfifo "$tmp/fifo"
	for what in /dev/null:"not KVM" "$tmp/regular":"not a character device" \
		"$tmp/fifo":"not a character device"; do
		src=${what%%:*} sub=${what#*:}
		EMBER=unshare expect "/dev/kvm is $(basename "$src")" 1 "$sub" -- -m sh -c \
			"mount --bind $src /dev/kvm && exec $abs run --kernel $g"
		EMBER=unshare expect "probe with /dev/kvm $(basename "$src")" 1 "$sub" -- -m sh -c \
			"mount --bind $src /dev/kvm && exec $abs probe"
	done
else
	bad "odd /dev/kvm cases need root and unshare -m"
fi
