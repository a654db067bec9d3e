#!/bin/sh
# ember through `ember jail`, for the lab's jailed mode (LAB_JAIL=1: every
# case's VM runs inside Firecracker-style jail). Staged in L1 as
# /lab/ember-jailed (replaces $EMBER) and /lab/firecracker-jailed (replaces
# $FC). Commands that run no VM (snapshot, inspect, --help) go straight to
# ember. The jail's root gets /lab and /tmp bind-mounted at the same paths,
# so the cases' absolute paths (kernels, disks, sockets, snapshots) mean the
# same inside; the mounts stay in L1, which is thrown away after the run.
# uid/gid 0 as Kata Containers passes them: ember still drops every
# capability and runs under its seccomp filters. cgroup v2 (mounted here if
# L1 has not): a pids limit, checked by the jailed-proof case.
set -u
me=$(basename "$0")
if [ "$me" = firecracker-jailed ]; then
	exe=/lab/firecracker
else
	exe=/lab/ember
	case "${1:-}" in
	run | restore) ;;
	*) exec "$exe" "$@" ;;
	esac
fi
grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts ||
	mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null ||
	{ echo "ember-jailed: cannot mount cgroup2 on /sys/fs/cgroup" >&2; exit 1; }
id=lab-$$
# Firecracker's jailer passes --id itself: take a case's own --id as ours.
if [ "$me" = firecracker-jailed ]; then
	n=$#
	i=0
	while [ $i -lt $n ]; do
		a=$1
		shift
		i=$((i + 1))
		if [ "$a" = --id ] && [ $i -lt $n ]; then
			id=$1-$$
			shift
			i=$((i + 1))
			continue
		fi
		set -- "$@" "$a"
	done
fi
base=/jail
root=$base/$(basename "$exe")/$id/root
for d in /lab /tmp; do
	mkdir -p "$root$d" && mount -o bind "$d" "$root$d" ||
		{ echo "ember-jailed: cannot bind $d into $root" >&2; exit 1; }
done
# L1 runs from its initramfs, and pivot_root cannot leave an initramfs
# (rootfs): the jail starts from a chroot into a bind mount of / in a mount
# namespace of its own, as a host with a mounted root file system would.
# unshare and chroot exec: ember keeps this shell's pid.
exec unshare -m /bin/sh -c '
	mount --make-rprivate / 2>/dev/null || mount -o rprivate / 2>/dev/null
	mkdir -p /jailhost && mount -o rbind / /jailhost || exit 1
	exec chroot /jailhost "$@"' ember-jailed \
	/lab/ember jail --id "$id" --exec-file "$exe" --uid 0 --gid 0 --chroot-base-dir "$base" \
	--cgroup-version 2 --cgroup pids.max=64 -- "$@"
