#!/usr/bin/env bash
# Extract the ELF vmlinux from a bzImage (e.g. Debian's /boot/vmlinuz-*).
#
#   bench/extract-vmlinux.sh BZIMAGE OUT
#
# A bzImage is real-mode setup code plus a small decompressor plus the kernel
# ELF compressed with one of gzip, xz or zstd (Debian 6.1: xz). This looks for
# each format's magic bytes in the file, and at every candidate offset (first
# to last) decompresses from there with Debian's own tool; the first result
# that is an ELF file is the vmlinux. Exits 1 with a reason when none is.
set -euo pipefail

[ $# = 2 ] || { echo "usage: extract-vmlinux.sh BZIMAGE OUT" >&2; exit 2; }
in=$1
out=$2
die() { echo "extract-vmlinux: $*" >&2; exit 1; }
[ -r "$in" ] || die "$in: cannot read"

# format, grep -P pattern of its magic, decompressor reading stdin
formats=(
	"xz|\xFD\x37\x7A\x58\x5A\x00|xz -dcq"
	"zstd|\x28\xB5\x2F\xFD|zstd -dcq"
	"gzip|\x1F\x8B\x08|gzip -dcq"
)
tmp=$out.tmp
trap 'rm -f "$tmp"' EXIT
for f in "${formats[@]}"; do
	IFS='|' read -r name magic tool <<<"$f"
	command -v "${tool%% *}" >/dev/null || continue
	# Byte offsets (0-based) of the magic; -a: treat the binary as text.
	while read -r off; do
		# A trailing-garbage complaint is expected: the compressed payload
		# is followed by the decompressor's data. Keep what came out.
		tail -c +"$((off + 1))" "$in" | $tool >"$tmp" 2>/dev/null || true
		if [ "$(head -c 4 "$tmp" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
			mv "$tmp" "$out"
			echo "extract-vmlinux: $name payload at offset $off -> $out ($(stat -c %s "$out") bytes)" >&2
			exit 0
		fi
	done < <(LC_ALL=C grep -obUaP "$magic" "$in" | cut -d: -f1)
done
die "$in: no gzip, xz or zstd payload that decompresses to an ELF file"
