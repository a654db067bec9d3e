#!/bin/sh
# The table of bench/seccomp.sh (issue 15): ember with its seccomp filters
# off (--no-seccomp) and on (the default), row by row.
#   bench/seccomp-report.sh STARTUP LAB_LOG
# STARTUP: "SYS RUN MS KIB" lines (bench/seccomp.sh's start-up runs on
# this machine's /dev/kvm); LAB_LOG: the "bench: sec ..." lines of
# bench/lab-seccomp.sh. SYS is on or off; run 0 (a warm-up) is left out;
# either file may be missing or empty (its rows are then left out).
# Per row: the runs of each, the medians, on/off of the medians, the
# median of the per-round ratios (the rounds pair an on and an off run
# next to each other), the cost (how much worse the filters make the
# median: time on/off - 1, throughput off/on - 1) and whether it is within
# 2%, and the spread of the off runs themselves ((max - min) / median),
# the noise a cost has to be read against. Then the threads found under a
# filter in each mode, what attaching the filters took (the attach unit),
# and one verdict line.
set -eu
startup=${1:?usage: seccomp-report.sh STARTUP LAB_LOG}
lab=${2:?usage: seccomp-report.sh STARTUP LAB_LOG}
{
	[ ! -r "$startup" ] || awk 'NF == 4 && $2 > 0 {
		print "startup-ms", $1, $2, $3
		print "startup-rss", $1, $2, $4 }' "$startup"
	[ ! -r "$lab" ] || awk '
		$1 != "bench:" || $2 != "sec" || $5 == 0 { next }
		$3 == "boot" && $6 == 0 && $7 >= 0 { print "boot-marker", $4, $5, $7 }
		$3 == "boot" && $6 == 0 && $10 >= 0 { print "boot-kvmrun", $4, $5, $10 }
		$3 == "io" { print "io-" $6, $4, $5, $7; unit[$6] = $8 }
		$3 == "filt" { print "filt", $4, $5, $6 "/" $7 }
		$3 == "attach" && $6 > 0 { print "attach", $4, $5, $6 " " $7 " " $8 }
		END { for (m in unit) print "unit", m, 0, unit[m] }' "$lab"
} | awk '
	function median(a, n,   i, j, t) {
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function fmt(x) { return x >= 100 ? sprintf("%.1f", x) : sprintf("%.2f", x) }
	$1 == "unit" { unit[$2] = $4; next }
	$1 == "attach" { na++; af[na] = $4; at[na] = $5; am[na] = $6; next }
	$1 == "filt" { split($4, f, "/"); fn[$2] += f[1]; ft[$2] += f[2]; fr[$2]++; next }
	{ k = $1 SUBSEP $2; n[k]++; v[k, n[k]] = $4; byrun[$1, $2, $3] = $4; runs[$1, $3] = 1 }
	END {
		split("startup-ms startup-rss boot-marker boot-kvmrun io-seqread io-seqwrite io-randread io-tcpsend", rows, " ")
		label["startup-ms"] = "start-up to the first guest exit, this /dev/kvm (ms)"
		label["startup-rss"] = "start-up peak RSS, this /dev/kvm (KiB)"
		label["boot-marker"] = "lab boot race to the boot marker (L1 ms)"
		label["boot-kvmrun"] = "lab boot: main() to first KVM_RUN (L1 ms)"
		for (m in unit) label["io-" m] = "lab " m " (" unit[m] ")"
		higher["io-seqread"] = higher["io-seqwrite"] = higher["io-randread"] = higher["io-tcpsend"] = 1
		print "| row | runs off/on | filters off | filters on | on / off | paired on / off | cost | within 2% | off spread |"
		print "|---|---:|---:|---:|---:|---:|---:|---|---:|"
		over = ""; shown = 0
		for (r = 1; r in rows; r++) {
			row = rows[r]; no = n[row, "off"] + 0; nn = n[row, "on"] + 0
			if (no == 0 || nn == 0) continue
			for (i = 1; i <= no; i++) a[i] = v[row, "off", i]
			mo = median(a, no); lo = a[1]; hi = a[no]
			for (i = 1; i <= nn; i++) a[i] = v[row, "on", i]
			mn = median(a, nn)
			np = 0
			for (kk in runs) {
				split(kk, p, SUBSEP)
				if (p[1] != row || !((row, "on", p[2]) in byrun) || !((row, "off", p[2]) in byrun)) continue
				if (byrun[row, "off", p[2]] > 0) a[++np] = byrun[row, "on", p[2]] / byrun[row, "off", p[2]]
			}
			paired = np ? sprintf("%.3fx (%d)", median(a, np), np) : "n/a"
			if (mo <= 0 || mn <= 0) { ratio = "n/a"; cost = "n/a"; ok = "n/a" }
			else {
				c = higher[row] ? mo / mn - 1 : mn / mo - 1
				ratio = sprintf("%.3fx", mn / mo)
				cost = sprintf("%+.1f%%", 100 * c)
				ok = c <= 0.02 ? "yes" : "**no**"
				if (c > 0.02) over = over (over == "" ? "" : ", ") label[row] " " cost
			}
			spread = mo > 0 ? sprintf("%.0f%%", 100 * (hi - lo) / mo) : "n/a"
			printf "| %s | %d/%d | %s | %s | %s | %s | %s | %s | %s |\n", label[row], no, nn, fmt(mo), fmt(mn), ratio, paired, cost, ok, spread
			shown++
		}
		print ""
		if (fr["on"] + fr["off"] > 0) {
			printf "Threads under a seccomp filter, sampled 4 s into each network run: filters on %d of %d, off %d of %d.", fn["on"], ft["on"], fn["off"], ft["off"]
			if (fn["on"] < ft["on"] || fn["off"] > 0 || ft["on"] == 0) printf " **WARNING: the on/off switch did not do what it says.**"
			print ""
		}
		if (na > 0) {
			nf = median(af, na); tt = median(at, na); mx = median(am, na)
			printf "Attaching the filters (lab, strace -T of prctl(PR_SET_SECCOMP) in %d boots): %d filters a boot, %.2f L1 ms in all, the longest %.2f ms (medians).\n", na, nf, tt, mx
		}
		if (shown == 0) print "No row had runs of both kinds."
		else if (over == "") print "Cost of the filters within 2% on every row: yes."
		else print "Cost of the filters within 2% on every row: **no** (" over ")."
	}'
