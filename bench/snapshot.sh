#!/usr/bin/env bash
# Snapshot benchmark (issue 13) in the nested lab, in one L1 boot:
#   (a) exec to a ready guest: ember restore vs ember's cold boot
#   (b) the same for QEMU microvm: -incoming from a migration file vs cold boot
#   (c) memory of CLONES restores of one snapshot vs CLONES cold boots
# The guest, the readiness probe and the output lines are described in
# bench/lab-snapshot.sh (run in L1) and bench/snapready.c.
# Usage: bench/snapshot.sh [-n RUNS] [--clones N] [--mem MIB]
#                          [--systems "ember ember-wait ember-restore ember-load qemu qemu-restore"]
#                          [--memsys "ember-restore ember-load ember ember-4k"]
#                          [--sections "time load trace mem"] [--report-only]
# Leaves $B/bench/snapshot-lab.log (L1's console), snapshot.log (its
# "bench:" lines) and snapshot.md (the tables). Lab times: ratios only.
# Needs the lab's lock (one lab run at a time; it waits for another to end).
set -euo pipefail

cd "$(dirname "$0")/.."
B=${B:-build}
[ "$B" = build ] || { echo "snapshot.sh: the lab builds in build/ only (B=$B)" >&2; exit 2; }
out=$B/bench
runs=10
clones=10
mem=128
systems="ember ember-wait ember-restore ember-load qemu qemu-restore"
memsys="ember-restore ember-load ember"
sections="time load trace mem"
report_only=0
while [ $# -gt 0 ]; do
	case $1 in
	-n) runs=$2; shift 2 ;;
	--clones) clones=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--systems) systems=$2; shift 2 ;;
	--sections) sections=$2; shift 2 ;;
	--memsys) memsys=$2; shift 2 ;;
	--report-only) report_only=1; shift ;;
	-h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "snapshot.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
done
if ! { [[ $runs =~ ^[0-9]+$ ]] && [[ $clones =~ ^[1-9][0-9]*$ ]] && [ "$clones" -le 64 ] && [[ $mem =~ ^[1-9][0-9]*$ ]]; }; then
	echo "snapshot.sh: -n, --clones (1-64) and --mem take numbers" >&2
	exit 2
fi

if [ "$report_only" = 0 ]; then
	scripts/deps.sh qemu-system-x86 busybox-static cpio xz-utils gcc make
	make -s all guest-kernel guest-initramfs
	make -s "$out/snapready" "$out/scrub"
	cat >"$out/snap-params" <<-EOF
		RUNS=$runs
		CLONES=$clones
		SNAP_MEM=$mem
		SYSTEMS="$systems"
		SECTIONS="$sections"
		MEMSYS="$memsys"
	EOF
	echo "snapshot.sh: lab run: $runs runs x ($systems), $clones clones, ${mem} MiB guests; sections: $sections" >&2
	start=$(date +%s)
	# One L1 CPU, as the lab cases (tests/lab/README.md, "When L1 dies"):
	# every guest here has one vCPU.
	LAB_SMP=${LAB_SMP:-1} LAB_BENCH_STAGE=bench/snap-stage.sh BENCH_OUT=$out LAB_TIMEOUT=${LAB_TIMEOUT:-1500} \
		tests/lab/run.sh --script bench/lab-snapshot.sh >"$out/snapshot-lab.log"
	sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g' "$out/snapshot-lab.log" | tr -d '\r' |
		grep -a '^bench: ' >"$out/snapshot.log" || true
	# Which ember L1 ran (LAB_EMBER: another binary, e.g. a fix under test).
	echo "bench: snap binary ${LAB_EMBER:-build/ember}" >>"$out/snapshot.log"
	echo "snapshot.sh: lab run took $(($(date +%s) - start)) s; L1 console in $out/snapshot-lab.log" >&2
fi
log=$out/snapshot.log
grep -q '^bench: ' "$log" 2>/dev/null || {
	echo "snapshot.sh: the lab run produced no results; last lines of its console:" >&2
	tail -n 15 "$out/snapshot-lab.log" >&2 || true
	exit 1
}

report() {
	grep -q '^bench: done' "$log" || {
		echo "**This lab run did not finish** (L1 died or timed out): the tables hold what it measured."
		echo
	}
	echo "Snapshot restore in the nested lab, $(date -u +%Y-%m-%d), ember $(git rev-parse --short HEAD 2>/dev/null || echo '?'),"
	echo "$(sed -n 's/^bench: L1 /L1 /p' "$log" | head -n1); QEMU $(sed -n 's/^bench: version qemu //p' "$log" | head -n1);"
	bin=$(sed -n 's/^bench: snap binary //p' "$log" | head -n1)
	[ -z "$bin" ] || [ "$bin" = build/ember ] || echo "ember binary in L1: $bin (LAB_EMBER), not this tree's build/ember;"
	echo "guest: minimal kernel + initramfs, 1 vCPU, $(sed -n 's/^SNAP_MEM=//p' "$out/snap-params" 2>/dev/null || echo "$mem") MiB, serial console only. Lab milliseconds: compare as ratios."
	echo
	# (a), (b): medians of the timed runs (RUN >= 1).
	awk '
		$2 == "snap" && $3 == "time" && $5 >= 1 {
			n[$4]++; v[$4, n[$4]] = $6; if ($6 < 0) bad[$4]++
		}
		function median(s,   i, j, k, t, a) {
			k = 0
			for (i = 1; i <= n[s]; i++) if (v[s, i] >= 0) a[++k] = v[s, i]
			for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
			lo[s] = a[1]; hi[s] = a[k]; good[s] = k
			if (k == 0) return -1
			return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
		}
		END {
			split("ember ember-wait ember-restore ember-load qemu qemu-restore", order, " ")
			name["ember-wait"] = "ember, cold boot (to snap-waiting: no probe)"
			name["ember"] = "ember, cold boot"; name["ember-restore"] = "ember restore (CLI)"
			name["ember-load"] = "ember firecracker + PUT /snapshot/load"
			name["qemu"] = "QEMU microvm, cold boot"
			name["qemu-restore"] = "QEMU microvm -incoming (migration file)"
			for (i = 1; i <= 6; i++) if (n[order[i]]) m[order[i]] = median(order[i])
			print "| exec to ready guest | runs | median ms (L1) | min-max ms | vs ember cold | vs QEMU restore |"
			print "|---|---:|---:|---:|---:|---:|"
			for (i = 1; i <= 6; i++) {
				s = order[i]
				if (!n[s]) continue
				ec = m["ember"] > 0 && m[s] > 0 ? sprintf("%.3fx", m[s] / m["ember"]) : "-"
				qr = m["qemu-restore"] > 0 && m[s] > 0 ? sprintf("%.3fx", m[s] / m["qemu-restore"]) : "-"
				printf "| %s | %d%s | %.1f | %.1f-%.1f | %s | %s |\n", name[s], good[s],
					bad[s] ? " (" bad[s] " not ready)" : "", m[s], lo[s], hi[s], ec, qr
			}
			print ""
			if (m["ember-restore"] > 0 && m["ember"] > 0) {
				r1 = m["ember-restore"] / m["ember"]
				printf "Target restore-to-ready <= 0.1x ember cold boot: %s (%.3fx).\n", r1 <= 0.1 ? "MET" : "MISSED", r1
			}
			if (m["ember-restore"] > 0 && m["qemu-restore"] > 0) {
				r2 = m["ember-restore"] / m["qemu-restore"]
				printf "Target restore-to-ready <= 0.25x QEMU restore: %s (%.3fx).\n", r2 <= 0.25 ? "MET" : "MISSED", r2
			}
			if (m["ember-load"] > 0 && m["ember"] > 0 && m["qemu-restore"] > 0)
				printf "Through the API (exec, PUT /snapshot/load, ready): %.3fx ember cold boot, %.3fx QEMU restore.\n", m["ember-load"] / m["ember"], m["ember-load"] / m["qemu-restore"]
			if (m["qemu-restore"] > 0 && m["qemu"] > 0)
				printf "(QEMU: its restore is %.3fx its own cold boot.)\n", m["qemu-restore"] / m["qemu"]
		}' "$log"
	echo
	if grep -q '^bench: snap load ' "$log"; then
		awk '$3 == "load" { a[++k] = $5; st = st " " $6 }
			END {
				for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
				printf "PUT /snapshot/load (ember firecracker, resume_vm, File backend): ember served it in %.1f ms median (L1, its own log), %.1f-%.1f over %d runs (answers:%s).\n",
					k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2, a[1], a[k], k, st
			}' "$log"
		echo
	fi
	if grep -q '^bench: snap trace ' "$log"; then
		echo "ember restore --boot-trace (L1 ms since ember started), run by run:"
		echo
		sed -n 's/^bench: snap trace \([0-9]*\) /    \1: /p' "$log"
		echo
	fi
	if grep -q '^bench: snap file ' "$log"; then
		echo "| saved state | state file | memory / migration file | time to save (L1 ms) |"
		echo "|---|---:|---:|---:|"
		awk '$3 == "file" {
			if ($4 == "ember") printf "| ember snapshot --then stop | %d B | %.1f MiB allocated (sparse) | %.0f |\n", $5, $6 / 1024, $7
			else printf "| QEMU migrate exec:cat | (one stream) | %.1f MiB | %.0f |\n", $5 / 1048576, $7
		}' "$log"
		echo
	fi
	if grep -q '^bench: snap mem ' "$log"; then
		awk '
			$3 == "mem" { s = $4; n[s] = $5; rd[s] = $6; av[s] = $7; rss[s] = $8; pss[s] = $9; an[s] = $10; fi[s] = $11; sh[s] = $12; bad[s] = $13 }
			$3 == "memfile" { mf = $4 }
			END {
				name["ember-restore"] = "ember restore (one snapshot)"; name["ember"] = "ember, cold boot"
				name["ember-4k"] = "ember --no-thp, cold boot"
				name["ember-load"] = "ember firecracker + PUT /snapshot/load (one snapshot)"
				split("ember-restore ember-load ember ember-4k", order, " ")
				print "| " n["ember-restore"] " guests at once | last ready (L1 ms) | MemAvailable drop MiB | PSS MiB | PSS anon | PSS file | PSS shmem | PSS vs cold | MemAvailable vs cold |"
				print "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
				for (i = 1; i <= 4; i++) {
					s = order[i]
					if (!(s in n)) continue
					pr = pss["ember"] > 0 ? sprintf("%.3fx", pss[s] / pss["ember"]) : "-"
					ar = av["ember"] > 0 ? sprintf("%.3fx", av[s] / av["ember"]) : "-"
					printf "| %s%s | %.0f | %.1f | %.1f | %.1f | %.1f | %.1f | %s | %s |\n", name[s],
						bad[s] ? " (" bad[s] " bad)" : "", rd[s], av[s] / 1024, pss[s] / 1024,
						an[s] / 1024, fi[s] / 1024, sh[s] / 1024, pr, ar
				}
				print ""
				if (pss["ember"] > 0 && ("ember-restore" in n)) {
					r = pss["ember-restore"] / pss["ember"]
					printf "Target %d clones <= 0.3x the memory of %d cold guests: %s on PSS (%.3fx)", n["ember"], n["ember"], r <= 0.3 ? "MET" : "MISSED", r
					if (av["ember"] > 0) printf ", %s on the MemAvailable drop (%.3fx)", av["ember-restore"] / av["ember"] <= 0.3 ? "MET" : "MISSED", av["ember-restore"] / av["ember"]
					print "."
				}
				if (mf != "")
					printf "The memory file sits in L1'"'"'s tmpfs, %.1f MiB resident before the clones start: the clones share it (PSS shmem), and it is in neither MemAvailable drop.\n", mf / 1024
			}' "$log"
		echo
	fi
	if grep -q '^bench: snap note ' "$log"; then
		echo "Notes from the run:"
		echo
		sed -n 's/^bench: snap note /    /p' "$log"
	fi
}
report | tee "$out/snapshot.md"
