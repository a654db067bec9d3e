# Stock distribution kernels out of the box (issue 14), sourced in L1 after
# cases.sh. stockboot.host.sh stages, under /lab/stockboot/: Debian 12's 6.1
# vmlinuz and Debian 13's 6.12 (cloud) vmlinuz exactly as packaged, each with
# an initrd (the guest initramfs plus its virtio modules and /stock/check.sh),
# the minimal guest kernel built without PVH, and a 1 MiB raw disk.
LAB_CASES="$LAB_CASES stock-vmlinuz stock-612 nopvh-boot acpi-off"

SB=/lab/stockboot

# sb_need FILE...: fail unless the host staged these (its reason if it said).
sb_need() {
	for f in "$@"; do
		[ -s "$SB/$f" ] && continue
		fail "$SB/$f was not staged: $(tr '\n' ';' <"$SB/missing" 2>/dev/null)"
	done
}

# sb_boot ARGS...: ember_run, timed (L1 seconds in $secs).
sb_boot() {
	t0=$(cut -d' ' -f1 /proc/uptime)
	ember_run "$@"
	secs=$(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }')
}

# lab_val KEY: the value of the guest's "lab-KEY=" line, empty if none.
lab_val() { sed -n "s/^lab-$1=//p" "$D/console" | head -n1; }

# expect_poweroff: /stock/check.sh ran to its poweroff -f, and the power-off
# (not a reboot or a halt) ended ember with status 0.
expect_poweroff() {
	expect_line lab-poweroff
	[ $rc != 137 ] || fail "ember still running $T s after the guest's poweroff -f: $(grep -m1 -E 'reboot: |System halted|Power down' "$D/console")"
	expect_exit0
	grep -q 'reboot: Power down' "$D/console" || fail "no 'reboot: Power down' from the guest kernel"
	grep -qiE 'powered off|power-?off|S5' "$D/err" || fail "ember did not say the guest powered off: $(tail -n1 "$D/err")"
	! grep -q '^ember-init: exit status' "$D/console" || fail "the guest rebooted instead of powering off (poweroff -f returned: $(lab_val poweroff-returned))"
}

# expect_acpi_clean: the kernel found ACPI tables and complained about none.
expect_acpi_clean() {
	! grep -m1 -E 'ACPI BIOS Error|ACPI Error|RSDP was not found' "$D/console" >"$D/acpi-err" ||
		fail "ACPI errors on the console: $(cat "$D/acpi-err")"
	[ "$(lab_val acpi-errors)" = 0 ] || fail "$(lab_val acpi-errors) ACPI errors in the guest's dmesg: $(sed -n 's/^lab-acpi-msg: //p' "$D/console" | head -n1)"
	case " $(lab_val acpi-tables)" in
	*" DSDT "*) ;;
	*) fail "no DSDT in the guest's /sys/firmware/acpi/tables: '$(lab_val acpi-tables)'" ;;
	esac
}

# expect_vda: the virtio disk, found through ACPI (its platform device is
# LNRO0005:NN, not virtio-mmio.N from the command line), reads back the bytes
# of the staged image.
expect_vda() {
	! grep -q '^lab-insmod-failed=' "$D/console" || fail "insmod failed: $(lab_val insmod-failed)"
	vda=$(lab_val vda)
	case $vda in
	*/LNRO0005:*/block/vda) ;;
	none) fail "no /sys/block/vda after insmod of the virtio modules" ;;
	*) fail "vda is not on an ACPI LNRO0005 device: $vda" ;;
	esac
	[ "$(lab_val vda-size)" = 2048 ] || fail "vda has $(lab_val vda-size) sectors, the image 2048"
	[ "$(lab_val vda-sha256)" = "$(cat $SB/disk.sha256)" ] || fail "vda's bytes differ from the image (sha256 $(lab_val vda-sha256))"
}

# Debian 12's 6.1 vmlinuz given to --kernel as packaged: ember unwraps the
# xz payload (cached in $XDG_CACHE_HOME/ember/vmlinux) and boots it through
# PVH, with ACPI tables; the first boot unwraps, the second takes the cache.
# 1 then 2 vCPUs, the disk through ACPI alone, poweroff -f ends ember with 0.
case_stock_vmlinuz() {
	sb_need vmlinuz-61 initrd-61.cpio.gz disk.raw
	GK=$SB/vmlinuz-61
	export XDG_CACHE_HOME=$D/xdg
	rm -rf "$XDG_CACHE_HOME"
	mkdir -p "$XDG_CACHE_HOME"
	T=90
	notes=
	for n in 1 2; do
		sb_boot --initrd "$SB/initrd-61.cpio.gz" --cpus $n --disk "$SB/disk.raw,ro" --boot-trace \
			--cmdline "$BASE quiet ember.cmd=\"sh /stock/check.sh poweroff\""
		cp "$D/console" "$D/console.$n"
		cp "$D/err" "$D/err.$n"
		grep -q '^lab-uname=' "$D/console" || fail "boot $n ($n vCPUs) did not reach user space: $(grep -m1 '^ember:' "$D/err" || tail -n1 "$D/console")"
		[ "$(lab_val cpus)" = $n ] || fail "boot $n: the guest sees $(lab_val cpus) CPUs, not $n"
		expect_acpi_clean
		expect_vda
		expect_poweroff
		# The unwrap branch marks "kernel unwrapped (xz, N ms)", or
		# "kernel unwrapped (cache)" when the cache served the vmlinux.
		trace=$(sed -n 's/^ember: boot-trace: *//p' "$D/err" | grep -iE 'unwrap|decompress|bzimage|cache' | head -n1)
		[ -n "$trace" ] || fail "boot $n: --boot-trace says nothing about the unwrap or its cache: $(grep -c 'boot-trace' "$D/err") trace lines"
		case $n in
		1)
			echo "$trace" | grep -qiE 'unwrap|decompress' || fail "boot 1 (empty cache) shows no unwrap: $trace"
			! echo "$trace" | grep -qi 'cache' || fail "boot 1 (empty cache) says cache: $trace"
			;;
		2)
			echo "$trace" | grep -qi 'cache' || fail "boot 2 did not take the cache: $trace"
			;;
		esac
		notes="$notes; $n vCPU $secs s, trace: $trace"
	done
	cached=$(find "$XDG_CACHE_HOME/ember" -type f -name "*.vmlinux" 2>/dev/null | head -n1)
	[ -n "$cached" ] || fail "nothing in \$XDG_CACHE_HOME/ember after two boots"
	echo "# stock-vmlinuz: $(lab_val uname) from its vmlinuz, vda on $(lab_val vda | sed 's#.*/\(LNRO0005:[^/]*\)/.*#\1#') ok, acpi errors 0, poweroff rc 0, cache $(basename "$cached") ($(wc -c <"$cached") bytes), i8042: $(lab_val i8042)$notes"
}

# kernel_range: "START END" (hex, no 0x) of the guest kernel, from its
# "Kernel code" and "Kernel bss" lines of /proc/iomem.
kernel_range() {
	code=$(lab_val kernel-code)
	bss=$(lab_val kernel-bss)
	echo "${code%%-*} ${bss#*-}" | sed 's/:Kernel[a-z]*//g'
}

# Debian 13's 6.12 vmlinuz (zstd, XEN_ELFNOTE_PHYS32_RELOC: align 0x200000,
# min 0x1000000, max 0x3fffffff): three boots land at no fewer than two
# physical addresses, each aligned, the whole image inside [min, max];
# `--kernel-addr elf` puts it at the ELF's own address (0x1000000) and
# `--kernel-addr 0x3000000` there. Memory 2 GiB, so the note's max, not RAM,
# bounds the range.
case_stock_612() {
	sb_need vmlinuz-612 initrd-612.cpio.gz disk.raw
	GK=$SB/vmlinuz-612
	export XDG_CACHE_HOME=$D/xdg
	T=90
	note=$("$EMBER" inspect "$GK" 2>&1 | grep -m1 -i 'relocatable') || true
	addrs=
	for n in 1 2 3 elf 0x3000000; do
		extra=
		case $n in [0-9]) ;; *) extra="--kernel-addr $n" ;; esac
		sb_boot --initrd "$SB/initrd-612.cpio.gz" --memory 2G --disk "$SB/disk.raw,ro" --boot-trace $extra \
			--cmdline "$BASE quiet ember.cmd=\"sh /stock/check.sh poweroff\""
		cp "$D/console" "$D/console.$n"
		cp "$D/err" "$D/err.$n"
		grep -q '^lab-uname=' "$D/console" || fail "boot $n did not reach user space: $(grep -m1 '^ember:' "$D/err" || tail -n1 "$D/console")"
		expect_acpi_clean
		expect_vda
		expect_poweroff
		set -- $(kernel_range)
		[ -n "${1:-}" ] && [ -n "${2:-}" ] || fail "boot $n: no Kernel code/bss in /proc/iomem: $(lab_val kernel-code) $(lab_val kernel-bss)"
		start=$((0x$1)) end=$((0x$2))
		[ $((start % 0x200000)) = 0 ] || fail "boot $n: kernel at 0x$1, not 0x200000-aligned"
		[ $start -ge $((0x1000000)) ] && [ $end -le $((0x3fffffff)) ] ||
			fail "boot $n: kernel 0x$1-0x$2 outside the note's [0x1000000, 0x3fffffff]"
		# --boot-trace marks "kernel placed at 0xADDR" when it moved the
		# kernel from its ELF address: it must be where the guest says.
		placed=$(sed -n 's/^ember: boot-trace: .*kernel placed at \(0x[0-9a-f]*\).*/\1/p' "$D/err" | head -n1)
		[ $((${placed:-0x1000000})) = $start ] ||
			fail "boot $n: --boot-trace says the kernel was placed at ${placed:-its ELF address (no mark)}, the guest's /proc/iomem 0x$1"
		case $n in
		elf) [ $start = $((0x1000000)) ] || fail "with --kernel-addr elf the kernel is at 0x$1, not 0x1000000" ;;
		0x*) [ $start = $(($n)) ] || fail "with --kernel-addr $n the kernel is at 0x$1" ;;
		*) addrs="$addrs 0x$1" ;;
		esac
		notes="${notes:-}; boot $n: 0x$1-0x$2 $secs s"
	done
	distinct=$(echo $addrs | tr ' ' '\n' | sort -u | wc -l)
	echo "# stock-612: $(lab_val uname), note: $note; placed at$addrs ($distinct distinct)$notes"
	[ "$distinct" -ge 2 ] || fail "three boots, one address:$addrs"
}

# The minimal kernel built without PVH (no XEN_ELFNOTE_PHYS32_ENTRY) boots
# through the Linux 64-bit boot protocol to ember-init's exit line: its ELF
# vmlinux with 1 and 2 vCPUs, and its bzImage (gzip, unwrapped by ember, then
# the same protocol); the same kernel with PVH (/lab/vmlinux) is timed alongside.
case_nopvh_boot() {
	sb_need vmlinux-nopvh bzImage-nopvh
	export XDG_CACHE_HOME=$D/xdg
	for k in vmlinux bzImage; do
		"$EMBER" inspect "$SB/$k-nopvh" >"$D/inspect.$k" 2>&1 || fail "ember inspect $k-nopvh failed: $(tail -n1 "$D/inspect.$k")"
		! grep -q PHYS32_ENTRY "$D/inspect.$k" || fail "the nopvh $k has a PVH note"
		grep -q '^boot: *Linux 64-bit boot protocol' "$D/inspect.$k" ||
			fail "ember inspect does not say $k-nopvh takes the 64-bit boot protocol: $(grep -m1 '^boot:' "$D/inspect.$k")"
	done
	notes=
	for k in vmlinux:1 vmlinux:2 bzImage:1; do
		GK=$SB/${k%:*}-nopvh n=${k#*:}
		sb_boot --initrd "$GI" --cpus $n --cmdline "$BASE quiet ember.cmd=\"echo cpus=\$(grep -c ^processor /proc/cpuinfo)\""
		cp "$D/console" "$D/console.${k%:*}-$n"
		expect_exit0
		expect_line "ember-init: exit status 0"
		expect_line "cpus=$n"
		notes="$notes, ${k%:*} $n vCPU $secs s"
	done
	GK=/lab/vmlinux
	sb_boot --initrd "$GI" --cmdline "$BASE quiet ember.cmd=\"echo cpus=\$(grep -c ^processor /proc/cpuinfo)\""
	expect_exit0
	expect_line "cpus=1"
	echo "# nopvh-boot: 64-bit boot protocol$notes; the PVH build 1 vCPU $secs s; inspect: $(sed -n 's/^boot: *//p' "$D/inspect.bzImage")"
}

# acpi=off: the minimal kernel (no ACPI in it anyway) and Debian 12's stock
# kernel still boot to user space with 2 vCPUs, which then come from the MP
# table; the stock kernel sees no ACPI tables and its init's reboot ends ember.
case_acpi_off() {
	sb_need vmlinuz-61 initrd-61.cpio.gz
	export XDG_CACHE_HOME=$D/xdg
	sb_boot --initrd "$GI" --cpus 2 --cmdline "$BASE quiet acpi=off ember.cmd=\"echo cpus=\$(grep -c ^processor /proc/cpuinfo)\""
	expect_exit0
	expect_line "ember-init: exit status 0"
	expect_line "cpus=2"
	t_min=$secs
	GK=$SB/vmlinuz-61
	sb_boot --initrd "$SB/initrd-61.cpio.gz" --cpus 2 --cmdline "$BASE quiet acpi=off ember.cmd=\"sh /stock/check.sh\""
	expect_exit0
	expect_line "ember-init: exit status 0"
	[ "$(lab_val cpus)" = 2 ] || fail "stock kernel with acpi=off sees $(lab_val cpus) CPUs, not 2"
	[ -z "$(lab_val acpi-tables)" ] || fail "acpi=off, yet the guest has ACPI tables: $(lab_val acpi-tables)"
	echo "# acpi-off: minimal kernel 2 vCPUs $t_min s; $(lab_val uname) 2 vCPUs (MP table) $secs s, no ACPI tables, vda: $(lab_val vda)"
}
