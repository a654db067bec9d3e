#!/usr/bin/env bash
# Where start-up time goes: run bench/ablate.c (floor.c plus optional steps a
# monitor adds: bigger memory slot, TSS, irqchip or split irqchip, PIT,
# CPUID, vCPU thread, explicit close) in several configurations, interleaved, and print per
# configuration the median process wall time and peak RSS (bench/measure.c)
# and the median time of each step (ablate's own clock_gettime stamps).
#
# Usage: bench/costs.sh [-n RUNS] [CONFIG...]
#   CONFIG is a quoted list of ablate steps, e.g. "mem=128 irqchip pit";
#   default: a ladder from the floor up to what ember does.
# Environment: B (build dir, default build), BENCH_NO_BUILD=1 (skip make).
set -euo pipefail

cd "$(dirname "$0")/.."
B=${B:-build}
runs=15
if [ "${1:-}" = -n ]; then
	runs=$2
	shift 2
fi
configs=("$@")
if [ ${#configs[@]} = 0 ]; then
	configs=(
		""
		"mem=128"
		"tss irqchip"
		"tss irqchip pit"
		"mem=128 tss irqchip pit"
		"mem=128 slotfirst tss irqchip pit"
		"mem=128 tss irqchip pit cpuid"
		"mem=128 tss irqchip pit cpuid thread"
		"mem=128 tss irqchip pit cpuid thread close"
		"split"
		"mem=128 tss split cpuid thread"
		"mem=128 tss split irqfd cpuid thread close"
		"mem=128 tss split ioeventfd cpuid thread close"
	)
fi

out=$B/bench
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
	make -s "$out/ablate" "$out/measure" B="$B"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

k=${#configs[@]}
for ((r = 0; r < runs; r++)); do
	for ((i = 0; i < k; i++)); do
		c=$(((r + i) % k))
		log=$work/$c.$r.log
		# shellcheck disable=SC2086 # a config is a word list
		read -r st ms kib <<<"$("$out/measure" -l "$log" -t 60 "$out/ablate" ${configs[$c]})"
		if [ "$st" != 0 ]; then
			echo "costs.sh: ablate ${configs[$c]} exited $st:" >&2
			cat "$log" >&2
			exit 1
		fi
		echo "$ms $kib" >>"$work/$c.total"
		cat "$log" >>"$work/$c.steps"
	done
done

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

echo "ablate configurations, $runs runs each, medians; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| configuration | wall ms | peak RSS MiB | slowest steps (median ms) |"
echo "|---|---:|---:|---|"
for ((c = 0; c < k; c++)); do
	ms=$(awk '{ print $1 }' "$work/$c.total" | median)
	kib=$(awk '{ print $2 }' "$work/$c.total" | median)
	# Steps are "NAME... N.NNN ms": the name is everything before the number.
	steps=$(awk '{ t = $(NF - 1); $NF = ""; $(NF - 1) = ""; sub(/ +$/, ""); print $0 "\t" t }' \
		"$work/$c.steps" | sort -t$'\t' -k1,1 -k2,2g | awk -F'\t' '
		function flush() {
			if (n) {
				m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
				if (m >= 0.1)
					printf "%.2f\t%s\n", m, name
			}
		}
		$1 != name { flush(); name = $1; n = 0 }
		{ v[++n] = $2 }
		END { flush() }' | sort -t$'\t' -k1,1gr | awk -F'\t' '
		{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }')
	printf '| %s | %.2f | %.2f | %s |\n' "${configs[$c]:-floor}" "$ms" \
		"$(awk -v k="$kib" 'BEGIN { print k / 1024 }')" "$steps"
done
