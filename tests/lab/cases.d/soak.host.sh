# shellcheck shell=bash disable=SC2154 # $stage, $here, copy_with_libs, die: tests/lab/run.sh
# Staged on the host for cases.d/soak.sh, only when bench/soak.sh sets
# LAB_SOAK: ember built with ASan+UBSan (dynamic: the sanitizers need it;
# copy_with_libs brings its libraries, libasan and libubsan among them),
# a soak.conf with the run's parameters, and an ext4 disk holding the
# guest's half (bench/soak-guest.sh).
if [ -n "${LAB_SOAK:-}" ]; then
	make -s build/soak/ember-san >&2 || die "cannot build build/soak/ember-san"
	copy_with_libs build/soak/ember-san /lab/ember-san
	printf 'SOAK_SECS=%s\nSOAK_WARMUP=%s\nSOAK_RSS_SLACK=%s\n' "${SOAK_SECS:-600}" \
		"${SOAK_WARMUP:-120}" "${SOAK_RSS_SLACK:-1024}" >"$stage/lab/soak.conf"
	rm -rf "$out/soak" && mkdir -p "$out/soak/root"
	cp bench/soak-guest.sh "$out/soak/root/soak-guest.sh"
	rm -f "$stage/lab/soak-disk.ext4"
	mkfs.ext4 -q -F -L embersoak -d "$out/soak/root" "$stage/lab/soak-disk.ext4" 64M
fi
