#!/usr/bin/env bash
# ember's ACPI tables through ACPICA's own tools (Debian's acpica-tools),
# for configurations from the smallest to the largest:
#  - iasl -d disassembles each table (XSDT, FADT, MADT, DSDT);
#  - iasl compiles the disassembly back with 0 errors, warnings and remarks
#    (its ASL compiler checks predefined names and resource descriptors),
#    and what it compiles equals ember's bytes after the table header (the
#    header differs only in creator and checksum): the disassembler read
#    every field the way ember meant it;
#  - acpiexec loads FADT, MADT and DSDT as Linux's ACPICA would and
#    evaluates \_S5_ (the power-off package) and a virtio device's _CRS.
# Usage: tests/unit/acpi/iasl.sh [ACPI_DUMP]   (make check-acpi-iasl)
set -uo pipefail
cd "$(dirname "$0")/../../.."
dump=$(realpath "${1:-build/tests/acpi/acpi_dump}")
for tool in iasl acpiexec; do
	command -v $tool >/dev/null || {
		echo "acpi-iasl: $tool missing (scripts/deps.sh acpica-tools)"
		echo "acpi-iasl: 0 passed, 1 failed"
		exit 1
	}
done
dir=$(mktemp -d /tmp/ember-acpi.XXXXXX)
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0

check() { # name, then a command that must succeed
	local name=$1
	shift
	if "$@"; then
		pass=$((pass + 1))
	else
		echo "acpi-iasl: FAILED: $name"
		fail=$((fail + 1))
	fi
}

roundtrip() { # table: disassemble, compile back, compare
	local t=$1 opt=()
	[ "$t" = dsdt ] && opt=(-oa) # no AML optimisation: same bytes back
	iasl -d "$t.dat" >"$t.d.log" 2>&1 || { cat "$t.d.log"; return 1; }
	if grep -Ei 'error|warning|invalid|incorrect' "$t.dsl" "$t.d.log"; then
		return 1
	fi
	iasl "${opt[@]}" -p "re_$t" "$t.dsl" >"$t.c.log" 2>&1 || { cat "$t.c.log"; return 1; }
	grep -q '0 Errors, 0 Warnings, 0 Remarks' "$t.c.log" || { cat "$t.c.log"; return 1; }
	cmp -i 36 "re_$t.aml" "$t.dat"
}

execute() { # ncpus nvirtio
	local out cmds="evaluate \\_S5_"
	[ "$2" = 0 ] || cmds+="; evaluate \\_SB.VR00._CRS"
	out=$(timeout 60 acpiexec -b "$cmds" facp.dat apic.dat dsdt.dat 2>&1) || {
		echo "$out"
		return 1
	}
	if grep -E 'AE_[A-Z_]+|Error|Warning' <<<"$out"; then
		return 1
	fi
	grep -q '\[Integer\] = 0000000000000005' <<<"$out" || { echo "$out"; return 1; }
	[ "$2" = 0 ] || grep -q '86 09 00 01 00 10 00 D0' <<<"$out" || { echo "$out"; return 1; }
}

for cfg in "1 0" "2 3" "254 16"; do
	read -r ncpus nvirtio <<<"$cfg"
	sub=$dir/cpus$ncpus-virtio$nvirtio
	mkdir -p "$sub"
	if ! "$dump" "$sub" "$ncpus" "$nvirtio" >/dev/null; then
		check "acpi_dump $cfg" false
		continue
	fi
	for t in xsdt facp apic dsdt; do
		check "$t ($ncpus CPUs, $nvirtio virtio)" bash -c "cd '$sub' && $(declare -f roundtrip); roundtrip $t"
	done
	check "acpiexec ($ncpus CPUs, $nvirtio virtio)" bash -c "cd '$sub' && $(declare -f execute); execute $ncpus $nvirtio"
done
echo "acpi-iasl: $pass passed, $fail failed"
[ "$fail" = 0 ]
