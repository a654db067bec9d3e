# SPDX-License-Identifier: MIT
# Helpers for the fault suite's cases (sourced by run.sh; cases.d/*.sh use
# them). Every check ends in ok or bad; a case file never exits.

EMBER=${EMBER:-build/ember}
GB=build/tests/guest
TESTGUEST=$GB/testguest.elf
EXITGUEST=$GB/exitguest.elf
WAITGUEST=$GB/waitguest.elf
HOSTILEGUEST=$GB/hostileguest.elf
PTYRUN="python3 tests/fault/ptyrun.py"
pass=0 fail=0 CLASS=fault
tmp=$(mktemp -d /tmp/ember-fault.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

ok() { echo "ok - $CLASS: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL - $CLASS: $*"; fail=$((fail + 1)); }

# expect NAME STATUS SUBSTRING -- ember-args...
# Runs ember (stdin /dev/null, 20 s limit) and wants exit STATUS; when STATUS
# is not 0: exactly one stderr line "ember: ..." containing SUBSTRING and
# nothing on stdout. When STATUS is 0, SUBSTRING is looked for in both.
expect() {
	local name=$1 want=$2 sub=$3 rc nl
	shift 4
	timeout 20 "$EMBER" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	nl=$(wc -l <"$tmp/err")
	if [ "$rc" != "$want" ]; then
		bad "$name: exit $rc, want $want ($(head -c 300 "$tmp/err"))"
	elif [ "$want" != 0 ] && { [ "$nl" != 1 ] || ! grep -q '^ember: ' "$tmp/err"; }; then
		bad "$name: want one 'ember: ' line, got $nl: $(head -c 300 "$tmp/err")"
	elif [ -n "$sub" ] && ! grep -qF -- "$sub" "$tmp/err" "$tmp/out"; then
		bad "$name: output lacks '$sub': $(head -c 300 "$tmp/err")"
	elif [ "$want" != 0 ] && [ -s "$tmp/out" ]; then
		bad "$name: unexpected stdout: $(head -c 200 "$tmp/out")"
	else
		ok "$name: $(head -n 1 "$tmp/err")"
	fi
}

# gone NAME PATH...: none of the paths exists any more.
gone() {
	local name=$1 p
	shift
	for p in "$@"; do
		if [ -e "$p" ] || [ -L "$p" ]; then
			bad "$name: $p was left behind"
			return
		fi
	done
	ok "$name: nothing left behind"
}

# ptyrun ARGS... -- cmd...: tests/fault/ptyrun.py (see its header); its
# "key value" report lands in $tmp/pty.report, read with ptyget KEY.
ptyrun() {
	$PTYRUN --report "$tmp/pty.report" "$@"
}
ptyget() {
	sed -n "s/^$1 //p" "$tmp/pty.report"
}
