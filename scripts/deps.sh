#!/usr/bin/env bash
# Install the Debian packages ember's build and tests need, only when missing.
# Usage: scripts/deps.sh [PACKAGE...]   (no argument: everything make check uses)
# Prints one line per installed batch; silent when everything is present.
set -euo pipefail

all=(gcc make clang libclang-rt-14-dev libcmocka-dev qemu-system-x86 busybox-static
     linux-source-6.1 flex bison bc libelf-dev libssl-dev cpio xz-utils e2fsprogs
     kmod libjson-c-dev zlib1g-dev liblzma-dev libzstd-dev liblz4-dev libbz2-dev libxxhash-dev
     python3 strace curl acpica-tools libseccomp-dev)
want=("$@")
[ ${#want[@]} -gt 0 ] || want=("${all[@]}")

missing=()
for p in "${want[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "ember: deps: missing Debian packages: ${missing[*]} (run as root or install them)" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}" >&2
lock=/tmp/ember-apt.lock
(
	flock 9
	stamp=/var/lib/apt/lists/partial/.ember-updated
	if [ ! -e "$stamp" ] || [ -n "$(find "$stamp" -mmin +360 2>/dev/null)" ]; then
		apt-get update -qq >/dev/null
		touch "$stamp" 2>/dev/null || true
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
) 9>"$lock"
