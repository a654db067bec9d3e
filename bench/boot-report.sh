#!/usr/bin/env bash
# Tables from the lab half of the boot benchmarks: reads the L1 console log
# of bench/lab-boot.sh ("bench: ..." lines) and prints markdown; also writes
# gnuplot data to OUTDIR/boot-plot.dat.
#
#   bench/boot-report.sh LAB_LOG [OUTDIR]
#
# All times are L1 milliseconds inside a TCG-emulated machine: compare the
# two VMMs as ratios, never as hardware milliseconds.
set -euo pipefail

log=${1:?usage: boot-report.sh LAB_LOG [OUTDIR]}
dir=${2:-$(dirname "$log")}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The L1 console may prefix a line with terminal escapes (QEMU's reset).
sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g' "$log" | grep -a '^bench: ' | sed 's/^bench: //' >"$tmp/all"

# stats: "median min max n" of the numbers on stdin ("- - - 0" if none)
stats() {
	sort -g | awk '{ v[NR] = $1 }
		END {
			if (!NR) { print "- - - 0"; exit }
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			print m, v[1], v[NR], NR
		}'
}
f1() { awk -v x="$1" 'BEGIN { if (x == "-") print "-"; else printf "%.1f", x }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
label() {
	case $1 in
	min) echo "minimal (guest/)" ;;
	stock) echo "Debian stock" ;;
	*) echo "$1" ;;
	esac
}
sysname() {
	case $1 in
	qemu) echo "QEMU microvm" ;;
	qemu-rtc) echo "QEMU microvm, rtc=on" ;;
	ember-4k) echo "ember --no-thp (4 KiB pages)" ;;
	ember-bz-cold) echo "ember vmlinuz, cache cold" ;;
	ember-bz-warm) echo "ember vmlinuz, cache warm" ;;
	ember-elf) echo "ember vmlinux (extracted)" ;;
	qemu-bz) echo "QEMU microvm vmlinuz" ;;
	qemu-bz-rtc) echo "QEMU microvm vmlinuz, rtc=on" ;;
	*) echo "$1" ;;
	esac
}

sed -n 's/^L1 /L1: /p; s/^version /version: /p; s/^thp /L1 transparent_hugepage: /p' "$tmp/all" |
	sed 's/^/    /'
echo

# --- boot to user space -------------------------------------------------------
# boot KERNEL CPUS SYSTEM RUN STATUS MARK EXIT FIRST; RUN 0 is the warm-up.
awk '$1 == "boot" && $5 != 0' "$tmp/all" >"$tmp/boot"
if [ -s "$tmp/boot" ]; then
	echo "Boot to user space in the lab (256 MiB, same kernel, initrd and command line;"
	echo "(b) process start to the marker line on the console, (a) process start to exit;"
	echo "L1 ms, median and min-max of the successful runs):"
	echo
	echo "| kernel | vCPUs | system | runs ok | (b) to marker, median | min-max | (a) to exit, median | min-max | ember/QEMU (b) | ember/QEMU (a) |"
	echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"
	: >"$dir/boot-plot.dat"
	declare -A med
	for k in $(awk '{ print $2 }' "$tmp/boot" | awk '!s[$1]++'); do
		for c in $(awk -v k="$k" '$2 == k { print $3 }' "$tmp/boot" | sort -n | uniq); do
			plot="\"$k, $c vCPU\""
			for s in ember qemu ember-4k qemu-rtc; do
				if ! grep -q " $s " "$tmp/boot"; then
					plot+=" - - - - - -"
					continue
				fi
				sel() { awk -v k="$k" -v c="$c" -v s="$s" -v f="$1" \
					'$2 == k && $3 == c && $4 == s && $6 == 0 && $7 >= 0 { print $f }' "$tmp/boot"; }
				total=$(awk -v k="$k" -v c="$c" -v s="$s" '$2 == k && $3 == c && $4 == s' "$tmp/boot" | wc -l)
				read -r mm mlo mhi n <<<"$(sel 7 | stats)"
				read -r em elo ehi _ <<<"$(sel 8 | stats)"
				med[$s.m]=$mm med[$s.e]=$em
				plot+=" $mm $mlo $mhi $em $elo $ehi"
				rb="" ra=""
				if [ $s = qemu ]; then
					rb=$(ratio "${med[ember.m]}" "$mm")
					ra=$(ratio "${med[ember.e]}" "$em")
					if [ "$rb" != - ]; then rb="**${rb}x**"; ra="${ra}x"; fi
				elif [ $s = ember-4k ]; then
					rb="$(ratio "$mm" "${med[qemu.m]}")x vs QEMU"
					ra="$(ratio "$em" "${med[qemu.e]}")x vs QEMU"
				elif [ $s = qemu-rtc ]; then
					rb="ember $(ratio "${med[ember.m]}" "$mm")x of this"
					ra="ember $(ratio "${med[ember.e]}" "$em")x of this"
				fi
				echo "| $(label "$k") | $c | $(sysname $s) | $n/$total | $(f1 "$mm") | $(f1 "$mlo")-$(f1 "$mhi") | $(f1 "$em") | $(f1 "$elo")-$(f1 "$ehi") | $rb | $ra |"
				echo "$k $c $s $mm $em" >>"$tmp/medians"
			done
			echo "$plot" >>"$dir/boot-plot.dat"
		done
	done
	echo
	# Targets: min, 1 vCPU: ember <= 0.6x QEMU; stock: ember <= 1.0x QEMU.
	awk '
		{ m[$1 " " $2 " " $3] = $4 }
		END {
			for (key in m) {
				split(key, p, " ")
				if (p[3] != "ember" || !((p[1] " " p[2] " qemu") in m)) continue
				q = m[p[1] " " p[2] " qemu"]
				if (m[key] == "-" || q == "-") { printf "- %s, %s vCPU: no successful runs to compare\n", p[1], p[2]; continue }
				r = m[key] / q
				if (p[1] == "min" && p[2] == 1)
					printf "- Target, minimal kernel, 1 vCPU, ember <= 0.6x QEMU to the marker: %s (%.2fx)\n", r <= 0.6 ? "MET" : "MISSED", r
				else if (p[1] == "stock")
					printf "- Target, stock kernel, %s vCPU, ember no worse than QEMU to the marker: %s (%.2fx)\n", p[2], r <= 1.0 ? "MET" : "MISSED", r
			}
		}' "$tmp/medians" | sort
	echo
fi
# --- the stock kernel from its bzImage (issue 14) ---------------------------------
# unwrap SYSTEM RUN STATUS MARK EXIT FIRST; utrace SYSTEM RUN MS EVENT; RUN 0: warm-up
awk '$1 == "unwrap" && $3 != 0' "$tmp/all" >"$tmp/unwrap"
if [ -s "$tmp/unwrap" ]; then
	# "kernel unwrapped (xz, 1502 ms)" / "kernel unwrapped (cache)": one event
	# name for the phase table; the decompression's own ms from the text.
	awk '$1 == "utrace" && $3 != 0 { e = $5; for (i = 6; i <= NF; i++) e = e " " $i
		if (e ~ /^kernel unwrapped/) e = "kernel unwrapped"; print $2, $4, e }' "$tmp/all" >"$tmp/utrace"
	awk '$1 == "utrace" && $2 == "ember-bz-cold" && $3 != 0 && /kernel unwrapped \(/ &&
		match($0, /[0-9.]+ ms\)/) { print substr($0, RSTART, RLENGTH - 4) }' "$tmp/all" >"$tmp/decomp"
	comp=$(awk '$1 == "utrace" && /kernel unwrapped \(/ && !/\(cache\)/ {
		sub(/.*kernel unwrapped \(/, ""); sub(/,.*/, ""); print; exit }' "$tmp/all")
	read -r bzsz elfsz <<<"$(awk '$1 == "unwrap-files" { print $2, $3 }' "$tmp/all") "
	echo "Debian's stock kernel from its bzImage (vmlinuz$(awk -v b="${bzsz:-}" -v e="${elfsz:-}" 'BEGIN {
		if (b != "") printf ", %.1f MiB; its vmlinux %.1f MiB", b / 1048576, e / 1048576 }')$([ -z "$comp" ] || echo ", $comp"))."
	echo "1 vCPU, 256 MiB, the boot race's initramfs and command line; $(awk '{ if ($3 > n) n = $3 } END { print n }' "$tmp/unwrap") runs each, alternating;"
	echo "ember's unwrap cache cold (a fresh XDG_CACHE_HOME per run) and warm; QEMU microvm's firmware"
	echo "(qboot) loads the same vmlinuz and the kernel decompresses itself. L1 ms, median and min-max:"
	echo
	echo "| system | runs ok | (b) to marker, median | min-max | (a) to exit, median | min-max | (b) vs ember vmlinux | (b) vs QEMU vmlinuz | (b) vs QEMU vmlinuz, rtc=on |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	declare -A um
	usys="ember-elf ember-bz-warm ember-bz-cold qemu-bz qemu-bz-rtc"
	for s in $usys; do
		sel() { awk -v s="$s" -v f="$1" '$2 == s && $4 == 0 && $5 >= 0 { print $f }' "$tmp/unwrap"; }
		read -r "um[$s.m]" "um[$s.lo]" "um[$s.hi]" "um[$s.n]" <<<"$(sel 5 | stats)"
		read -r "um[$s.e]" "um[$s.elo]" "um[$s.ehi]" _ <<<"$(sel 6 | stats)"
	done
	rx() { local r; r=$(ratio "$1" "$2"); [ "$r" = - ] && echo - || echo "${r}x"; }
	for s in $usys; do
		total=$(awk -v s="$s" '$2 == s' "$tmp/unwrap" | wc -l)
		[ "$total" != 0 ] || continue
		echo "| $(sysname "$s") | ${um[$s.n]}/$total | $(f1 "${um[$s.m]}") | $(f1 "${um[$s.lo]}")-$(f1 "${um[$s.hi]}") | $(f1 "${um[$s.e]}") | $(f1 "${um[$s.elo]}")-$(f1 "${um[$s.ehi]}") | $(awk -v a="${um[$s.m]}" -v b="${um[ember-elf.m]}" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%.3fx", a / b }') | $(rx "${um[$s.m]}" "${um[qemu-bz.m]}") | $(rx "${um[$s.m]}" "${um[qemu-bz-rtc.m]}") |"
	done
	echo
	if [ -s "$tmp/utrace" ]; then
		echo "ember's phases for these boots (--boot-trace, ms since ember's main(), median):"
		echo
		echo "| event | $(sysname ember-bz-cold) | $(sysname ember-bz-warm) | $(sysname ember-elf) |"
		echo "|---|---:|---:|---:|"
		for ev in "kernel unwrapped" "vm created" "kernel parsed" "kernel copied" "kernel loaded" "first KVM_RUN" "boot marker" "exit"; do
			row="| $ev |"
			for s in ember-bz-cold ember-bz-warm ember-elf; do
				v=$(awk -v s="$s" -v ev="$ev" '{ e = $3; for (i = 4; i <= NF; i++) e = e " " $i }
					$1 == s && e == ev { print $2 }' "$tmp/utrace" | stats | cut -d' ' -f1)
				row+=" $(f1 "$v") |"
			done
			echo "$row"
		done
		echo
	fi
	read -r dm dlo dhi dn <<<"$(stats <"$tmp/decomp")"
	kr() { awk -v s="$1" '$1 == s && $3 == "first" && $4 == "KVM_RUN" { print $2 }' "$tmp/utrace" | stats | cut -d' ' -f1; }
	krc=$(kr ember-bz-cold) krw=$(kr ember-bz-warm) kre=$(kr ember-elf)
	hits=$(awk '$1 == "utrace" && $2 == "ember-bz-warm" && $3 != 0 && /kernel unwrapped \(cache\)/' "$tmp/all" | wc -l)
	warm_n=$(awk '$2 == "ember-bz-warm"' "$tmp/unwrap" | wc -l)
	if [ "$dn" = 0 ]; then
		echo "- Decompression in ember: no cold run unwrapped the vmlinuz."
	else
		echo "- Decompression in ember (the cold runs' \"kernel unwrapped\" mark): $(f1 "$dm") ms median, $(f1 "$dlo")-$(f1 "$dhi") over $dn runs."
	fi
	echo "- The cache served $hits of the $warm_n timed warm runs."
	# The guest's part of these boots is the same kernel's, and its run-to-run
	# noise in the lab is far above 2%: each target is judged twice, on the
	# boot marker (the whole boot, noise included) and on ember's own part
	# (its trace's first KVM_RUN against the vmlinux row's), both as a share
	# of the vmlinux boot to the marker.
	echo "- Each 2% target below, twice: on the boot marker (guest noise included; see min-max) and on"
	echo "  ember's own part, its --boot-trace \"first KVM_RUN\" (the guest's part is the same kernel's)."
	awk -v c="${um[ember-bz-cold.m]:--}" -v e="${um[ember-elf.m]:--}" -v d="$dm" -v kc="$krc" -v ke="$kre" 'BEGIN {
		t = "- Target, first boot pays only the decompression (the rest within 2% of the vmlinux boot)"
		if (c == "-" || e == "-" || d == "-") { print t ": no data"; exit }
		x = c - e
		printf "%s, to the marker: %s (cold %+.1f ms vs vmlinux, decompression %.1f ms, the rest %+.1f ms = %+.1f%%)\n", \
			t, x - d <= 0.02 * e ? "MET" : "MISSED", x, d, x - d, 100 * (x - d) / e
		if (kc != "-" && ke != "-") {
			y = kc - ke
			printf "%s, ember'"'"'s part: %s (first KVM_RUN %.1f vs %.1f ms: %+.1f ms, decompression %.1f ms, the rest %+.1f ms = %+.1f%%)\n", \
				t, y - d <= 0.02 * e ? "MET" : "MISSED", kc, ke, y, d, y - d, 100 * (y - d) / e
		}
	}'
	awk -v w="${um[ember-bz-warm.m]:--}" -v e="${um[ember-elf.m]:--}" -v kw="$krw" -v ke="$kre" 'BEGIN {
		t = "- Target, warm vmlinuz within 2% of vmlinux"
		if (w == "-" || e == "-") { print t ": no data"; exit }
		printf "%s, to the marker: %s (%.3fx)\n", t, w / e <= 1.02 ? "MET" : "MISSED", w / e
		if (kw != "-" && ke != "-")
			printf "%s, ember'"'"'s part: %s (first KVM_RUN %.1f vs %.1f ms: %+.1f ms = %+.1f%%)\n", t,
				kw - ke <= 0.02 * e ? "MET" : "MISSED", kw, ke, kw - ke, 100 * (kw - ke) / e
	}'
	for s in ember-bz-warm ember-bz-cold; do
		awk -v s="$(sysname $s)" -v a="${um[$s.m]:--}" -v q="${um[qemu-bz.m]:--}" -v r="${um[qemu-bz-rtc.m]:--}" 'BEGIN {
			if (a == "-" || q == "-") { printf "- Target, %s <= 0.5x QEMU microvm from vmlinuz: no data\n", s; exit }
			printf "- Target, %s <= 0.5x QEMU microvm from vmlinuz: %s (%.2fx", s, a / q <= 0.5 ? "MET" : "MISSED", a / q
			if (r != "-") printf "; vs QEMU with rtc=on %.2fx", a / r
			printf ")\n"
		}'
	done
	echo
fi
if grep -q '^fail ' "$tmp/all"; then
	echo "**FAILED** (the run's \"bench: fail\" lines):"
	echo
	awk '$1 == "fail" { $1 = ""; print "   " $0 }' "$tmp/all" | head -n 10
	echo
fi
awk '$1 == "note:"' "$tmp/all" | sed 's/^note: /    /' >"$tmp/notes"
if [ -s "$tmp/notes" ]; then
	echo "Notes from the lab run (failed runs, their last console lines):"
	echo
	head -n 60 "$tmp/notes"
	echo
fi

# --- what each kernel prints despite quiet (warm-up runs) ---
if grep -q '^console ' "$tmp/all"; then
	echo "Console of the warm-up runs (what the kernels print despite \`quiet\`, first lines):"
	echo
	echo '```'
	awk '$1 == "console" { k = $2; c = $3; s = $4; $1 = $2 = $3 = $4 = ""; sub(/^ +/, "");
		printf "%-6s %s vCPU %-6s| %s\n", k, c, s, $0 }' "$tmp/all"
	echo '```'
	echo
fi

# --- ember's phases -------------------------------------------------------------
# trace KERNEL CPUS RUN MS EVENT...
awk '$1 == "trace" && $4 != 0' "$tmp/all" >"$tmp/trace"
if [ -s "$tmp/trace" ]; then
	echo "ember's phases (--boot-trace, ms since ember's main(); median over the runs above;"
	echo "\"marker line seen\" and \"exit seen\" are vmwatch's, from the fork):"
	echo
	groups=$(awk '{ print $2 " " $3 }' "$tmp/trace" | awk '!s[$0]++')
	hdr="| event |" sep="|---|"
	while read -r k c; do hdr+=" $k, $c vCPU |"; sep+="---:|"; done <<<"$groups"
	echo "$hdr"
	echo "$sep"
	for ev in "vm created" "kernel parsed" "kernel copied" "kernel loaded" "first KVM_RUN" "first console byte" "boot marker" "exit"; do
		row="| $ev |"
		while read -r k c; do
			v=$(awk -v k="$k" -v c="$c" -v ev="$ev" '{ e = $6; for (i = 7; i <= NF; i++) e = e " " $i }
				$2 == k && $3 == c && e == ev { print $5 }' "$tmp/trace" | stats | cut -d' ' -f1)
			row+=" $(f1 "$v") |"
		done <<<"$groups"
		echo "$row"
	done
	for f in "marker line seen:7" "exit seen:8"; do
		row="| ${f%%:*} |"
		while read -r k c; do
			v=$(awk -v k="$k" -v c="$c" -v f="${f##*:}" '$2 == k && $3 == c && $4 == "ember" && $6 == 0 { print $f }' \
				"$tmp/boot" | stats | cut -d' ' -f1)
			row+=" $(f1 "$v") |"
		done <<<"$groups"
		echo "$row"
	done
	echo
fi

# --- strace: first KVM_RUN ------------------------------------------------------
if grep -q '^strace ' "$tmp/all"; then
	echo "When each VMM first enters the guest (strace -f -ttt in L1, one minimal boot each,"
	echo "ms after execve; strace itself slows both):"
	echo
	echo "| system | KVM_CREATE_VM | first KVM_RUN | exit | KVM_RUN calls |"
	echo "|---|---:|---:|---:|---:|"
	for s in ember qemu; do
		g() { awk -v s=$s -v w="$1" '$1 == "strace" && $2 == s { e = $4; for (i = 5; i <= NF; i++) e = e " " $i; if (e == w) print $3 }' "$tmp/all"; }
		cnt=$(awk -v s=$s '$1 == "strace" && $2 == s && $3 == "count-KVM_RUN" { print $4 }' "$tmp/all")
		echo "| $(sysname $s) | $(f1 "$(g KVM_CREATE_VM)") | $(f1 "$(g "first KVM_RUN")") | $(f1 "$(g "last event")") | ${cnt:--} |"
	done
	echo
fi

# --- KVM exits ------------------------------------------------------------------
if grep -q '^kvmstat ' "$tmp/all"; then
	echo "KVM events of one minimal-kernel boot, 1 vCPU (perf stat on kvm tracepoints in L1):"
	echo
	systems=$(awk '$1 == "kvmstat" { print $2 }' "$tmp/all" | awk '!s[$0]++')
	hdr="| event |" sep="|---|"
	for s in $systems; do hdr+=" $(sysname "$s") |"; sep+="---:|"; done
	echo "$hdr"
	echo "$sep"
	for ev in $(awk '$1 == "kvmstat" { print $4 }' "$tmp/all" | awk '!s[$0]++'); do
		row="| $ev |"
		for s in $systems; do
			v=$(awk -v ev="$ev" -v s="$s" '$1 == "kvmstat" && $2 == s && $4 == ev { print $3 }' "$tmp/all")
			row+=" ${v:--} |"
		done
		echo "$row"
	done
	echo
	if grep -q '^exitreason ' "$tmp/all"; then
		echo "Top exit reasons (kvm:kvm_exit, a second such boot):"
		echo
		echo "| system | count | reason |"
		echo "|---|---:|---|"
		awk '$1 == "exitreason" { printf "| %s | %s | %s |\n", $2 == "qemu" ? "QEMU microvm" : $2, $3, $4 }' "$tmp/all"
		echo
	fi
fi

# --- the guest kernel's own account -----------------------------------------------
if grep -q '^klog ' "$tmp/all"; then
	echo "What the guest kernel reports (printk.time=1 initcall_debug, one boot each, guest"
	echo "seconds from kvm-clock; the minimal kernel has no kallsyms, so its initcalls are"
	echo "addresses: resolve them with \`nm -n build/guest/vmlinux\`):"
	echo
	for k in $(awk '$1 == "klog" { print $2 }' "$tmp/all" | awk '!s[$0]++'); do
		for s in ember qemu; do
			awk -v k="$k" -v s="$s" '$1 == "klog" && $2 == k && $3 == s' "$tmp/all" >"$tmp/kl"
			[ -s "$tmp/kl" ] || continue
			up=$(awk '$4 == "uptime" { print $5 }' "$tmp/kl")
			ic=$(awk '$4 == "initcalls" { print $5 " initcalls, " $6 / 1000 " ms in all" }' "$tmp/kl")
			echo "$(label "$k") kernel under $(sysname "$s"): /proc/uptime at the report ${up:-?} s; ${ic:-no initcall data}"
			echo
			echo '```'
			awk '$4 == "log" { $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print "log      " $0 }
				$4 == "initcall" { printf "initcall %8.2f ms  %s\n", $5 / 1000, $6 }
				$4 == "gap" { $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print "gap ms   " $0 }' "$tmp/kl" |
				awk '/^initcall/ && ++ni > 12 { next } /^gap/ && ++ng > 6 { next } { print }'
			echo '```'
			echo
		done
	done
fi

# --- memory ---------------------------------------------------------------------
# mem SYSTEM RUN RSS PSS GUEST_RSS GUEST_PSS GUEST_SIZE PSS_ANON PSS_FILE (KiB)
if grep -q '^mem ' "$tmp/all"; then
	echo "Memory of one VMM process, 256 MiB guest (minimal kernel) idle at its shell prompt,"
	echo "2 s after the prompt (smaps_rollup and smaps in L1; median of the runs; MiB):"
	echo
	echo "| system | RSS | guest RAM resident | monitor RSS (RSS - guest) | PSS | monitor PSS (PSS - guest) | Pss_Anon | guest RAM in huge pages | guest mapping | its start mod 2 MiB |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for s in ember qemu ember-4k; do
		grep -q "^mem $s " "$tmp/all" || continue
		m() { awk -v s=$s '$1 == "mem" && $2 == s { print '"$1"' }' "$tmp/all" | stats | cut -d' ' -f1; }
		mib() { awk -v x="$1" 'BEGIN { if (x == "-" || x == "") print "-"; else printf "%.2f", x / 1024 }'; }
		echo "| $(sysname $s) | $(mib "$(m '$4')") | $(mib "$(m '$6')") | **$(mib "$(m '$4 - $6')")** | $(mib "$(m '$5')") | $(mib "$(m '$5 - $7')") | $(mib "$(m '$9')") | $(mib "$(m '$11')") | $(mib "$(m '$8')") | $(m '$12') KiB |"
		[ $s != ember ] || ember_over=$(m '$4 - $6')
	done
	echo
	awk -v x="${ember_over:--}" 'BEGIN {
		if (x == "-") print "- Target, monitor memory under 2 MiB (256 MiB guest): no data"
		else printf "- Target, monitor memory under 2 MiB (256 MiB guest): %s (%.2f MiB RSS besides guest RAM)\n", x / 1024 < 2 ? "MET" : "MISSED", x / 1024 }'
	echo
fi

# --- density in the lab ---------------------------------------------------------
# dens SYSTEM N READY_MS AVAIL_DROP RSS_SUM PSS_SUM GUEST_RSS_SUM BAD
if grep -q '^dens ' "$tmp/all"; then
	echo "Linux guests started at once in the lab (minimal kernel, 256 MiB, 1 vCPU each, to their"
	echo "shell prompts; L1 has 2 vCPUs; memory summed over the VMM processes, MiB):"
	echo
	echo "| system | guests | time to all prompts, ms | VMs/s | total PSS | total RSS | guest RAM resident | MemAvailable drop | failed |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	awk '$1 == "dens" { printf "| %s | %d | %.0f | %.2f | %.1f | %.1f | %.1f | %.1f | %d |\n",
		$2 == "qemu" ? "QEMU microvm" : $2, $3, $4, $3 / ($4 / 1000), $7 / 1024, $6 / 1024, $8 / 1024, $5 / 1024, $9 }' "$tmp/all"
	echo
fi
