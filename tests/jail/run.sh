#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The jail tier: `ember jail` (Firecracker's jailer, src/jail.c) as root on
# /dev/kvm. Usage errors and the errors a user hits (one line each); a jailed
# `ember run` of the wait guest, inspected from outside through /proc (ids,
# capabilities, no_new_privs, root, cgroups, rlimits, fds, environment,
# network namespace); --daemonize; --new-pid-ns with ember's Firecracker
# mode; and build/firecracker jailed with --config-file --no-api booting the
# test guest to its end. The cgroup version is the host's: v2 when
# /sys/fs/cgroup is cgroup2, else v1.
#
# Output: "ok - ..." / "not ok - ..." lines, then "jail: N passed, M failed";
# exit 1 on any failure. Every jail directory, cgroup, network namespace and
# process it creates is removed, also on failure or interrupt.
set -u

cd "$(dirname "$0")/../.." || exit 1
EMBER=${EMBER:-build/ember}
FC=$(dirname "$EMBER")/firecracker
JAILER=$(dirname "$EMBER")/jailer
G=build/tests/guest
WAITGUEST=$G/waitguest.elf
TESTGUEST=$G/testguest.elf
JUID=4123 # ids nobody else uses
JGID=4456
CGPARENT=ember-jail-test-$$
NETNS=ember-jail-test-$$

passed=0
failed=0
PIDS=()
T=

die() {
	echo "jail: $*" >&2
	echo "jail: 0 passed, 1 failed"
	exit 1
}
ok() {
	passed=$((passed + 1))
	echo "ok - $*"
}
nok() {
	failed=$((failed + 1))
	echo "not ok - $*"
}

[ "$(id -u)" = 0 ] || die "these tests need root (the jailer mounts, mknods and changes ids)"
[ -e /dev/kvm ] || die "/dev/kvm does not exist: these tests need KVM"
for f in "$EMBER" "$FC" "$JAILER" "$WAITGUEST" "$TESTGUEST"; do
	[ -e "$f" ] || die "$f is missing: make $EMBER $FC $JAILER $WAITGUEST $TESTGUEST"
done
EMBER=$(realpath "$EMBER")
FC=$(dirname "$EMBER")/firecracker # the symlink itself, not its target
JAILER=$(dirname "$EMBER")/jailer

if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
	CGV=2
	CGROOT=/sys/fs/cgroup
	ctrls=$(cat $CGROOT/cgroup.controllers)
	CGARGS=()
	case " $ctrls " in *" memory "*) CGARGS+=(--cgroup memory.max=268435456) ;; esac
	case " $ctrls " in *" pids "*) CGARGS+=(--cgroup pids.max=64) ;; esac
	case " $ctrls " in *" hugetlb "*) CGARGS+=(--cgroup hugetlb.2MB.max=4194304) ;; esac
else
	CGV=1
	CGARGS=()
	grep -q '^cgroup [^ ]* cgroup .*[ ,]memory[ ,]' /proc/mounts &&
		CGARGS+=(--cgroup memory.limit_in_bytes=268435456)
	grep -q '^cgroup [^ ]* cgroup .*[ ,]cpuset[ ,]' /proc/mounts && CGARGS+=(--cgroup cpuset.cpus=0)
	grep -q '^cgroup [^ ]* cgroup .*[ ,]pids[ ,]' /proc/mounts && CGARGS+=(--cgroup pids.max=64)
fi

# Every cgroup directory of ours, leaves first.
cgroup_dirs() {
	awk '$3 == "cgroup" || $3 == "cgroup2" {print $2}' /proc/mounts | while read -r m; do
		[ -d "$m/$CGPARENT" ] && find "$m/$CGPARENT" -depth -type d
	done
}

cleanup() {
	local p i
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		for i in $(seq 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
	done
	cgroup_dirs | while read -r d; do rmdir "$d" 2>/dev/null; done
	ip netns del "$NETNS" 2>/dev/null
	[ -n "$T" ] && rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

T=$(mktemp -d /tmp/ember-jail.XXXXXX) || die "mktemp failed"
BASE=$T/base
mkdir -p "$BASE"

# jail_err NAME WANT_STATUS WANT_TEXT ARGS...: the jailer fails with status
# WANT_STATUS and exactly one line on stderr containing WANT_TEXT.
jail_err() {
	local name=$1 want=$2 text=$3 out rc
	shift 3
	out=$("$@" 2>&1 >/dev/null </dev/null)
	rc=$?
	if [ $rc -ne "$want" ]; then
		nok "$name: exit $rc, not $want: $out"
	elif [ "$(printf '%s\n' "$out" | wc -l)" -ne 1 ] || [[ $out != "ember: jail: "* ]]; then
		nok "$name: not one 'ember: jail:' line: $out"
	elif [[ $out != *"$text"* ]]; then
		nok "$name: '$out' does not say '$text'"
	else
		ok "$name: $out"
	fi
}

J=(--exec-file "$EMBER" --uid $JUID --gid $JGID --chroot-base-dir "$BASE")

# --- the command line -----------------------------------------------------------------
jail_err "no --id" 2 "--id is required" "$EMBER" jail --exec-file "$EMBER" --uid 1 --gid 1
jail_err "bad --id" 2 "--id 'a_b'" "$EMBER" jail --id a_b "${J[@]}" -- run
jail_err "--id of 65" 2 "not 1-64" "$EMBER" jail --id "$(printf '%065d' 0)" "${J[@]}" -- run
jail_err "unknown option" 2 "unknown option '--bogus'" "$JAILER" --id x --bogus "${J[@]}"
jail_err "no --uid" 2 "--uid is required" "$EMBER" jail --id x --exec-file "$EMBER" --gid 1
jail_err "bad --uid" 2 "--uid 'root'" "$EMBER" jail --id x --exec-file "$EMBER" --uid root --gid 1
jail_err "--cgroup without =" 2 "not FILE=VALUE" "$EMBER" jail --id x "${J[@]}" \
	--cgroup memory.limit_in_bytes -- run
jail_err "--cgroup file without controller" 2 "CONTROLLER.PROPERTY" "$EMBER" jail --id x "${J[@]}" \
	--cgroup ../tasks=1 -- run
jail_err "--resource-limit unknown" 2 "unknown resource" "$EMBER" jail --id x "${J[@]}" \
	--resource-limit stack=1 -- run
jail_err "--parent-cgroup absolute" 2 "must be relative" "$EMBER" jail --id x "${J[@]}" \
	--parent-cgroup /a -- run
jail_err "ember without a command" 2 "give the ember command after --" "$EMBER" jail --id x "${J[@]}"
out=$("$JAILER" --version 2>&1 | head -n1)
if [ "$out" = "Jailer v1.16.1" ] && "$EMBER" jail --help | grep -q '^SYNOPSIS'; then
	ok "--version says 'Jailer v1.16.1', --help has a synopsis"
else
	nok "--version said '$out', or --help has no SYNOPSIS"
fi

# --- what a user hits -----------------------------------------------------------------
jail_err "not root" 1 "must run as root" setpriv --reuid 65534 --regid 65534 --clear-groups \
	"$EMBER" jail --id x "${J[@]}" -- run
jail_err "exec file missing" 1 "exec file $T/nope: No such file or directory" \
	"$EMBER" jail --id x --exec-file "$T/nope" --uid 1 --gid 1 --chroot-base-dir "$BASE" -- run
jail_err "chroot base missing" 1 "chroot base $T/nobase" "$EMBER" jail --id x --exec-file "$EMBER" \
	--uid 1 --gid 1 --chroot-base-dir "$T/nobase" -- run
mkdir -p "$BASE/ember/stale/root/dev"
jail_err "stale jail" 1 "a previous jail is there (dev exists)" "$EMBER" jail --id stale "${J[@]}" -- run
jail_err "controller not mounted" 1 "controller nosuch is not" "$EMBER" jail --id cg1 "${J[@]}" \
	--cgroup-version $CGV --parent-cgroup "$CGPARENT" --cgroup nosuch.limit=1 -- run
if [ ${#CGARGS[@]} -gt 0 ]; then
	f=${CGARGS[1]%%=*}
	jail_err "bad cgroup value" 1 "$f: Invalid argument" "$EMBER" jail --id cg2 "${J[@]}" \
		--cgroup-version $CGV --parent-cgroup "$CGPARENT" --cgroup "$f=lots" -- run
	jail_err "no such cgroup file" 1 "no such cgroup file" "$EMBER" jail --id cg3 "${J[@]}" \
		--cgroup-version $CGV --parent-cgroup "$CGPARENT" --cgroup "${f%%.*}.nosuchfile=1" -- run
fi
jail_err "netns missing" 1 "netns $T/nons: No such file or directory" "$EMBER" jail --id ns1 \
	"${J[@]}" --netns "$T/nons" -- run
jail_err "netns not a namespace" 1 "not a network namespace" "$EMBER" jail --id ns2 "${J[@]}" \
	--netns /etc/hostname -- run

# --- a jailed `ember run`, inspected from outside -----------------------------------------
# wait_line LOG TEXT SECS
wait_line() {
	local i
	for i in $(seq $(($3 * 10))); do
		grep -aEq "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# wait_gone PID SECS
wait_gone() {
	local i
	for i in $(seq $(($2 * 10))); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

ROOT=$BASE/ember/run1/root
mkdir -p "$ROOT" && cp "$WAITGUEST" "$ROOT/waitguest.elf"
NSARGS=()
if ip netns add "$NETNS" 2>/dev/null; then
	NSARGS=(--netns "/var/run/netns/$NETNS")
fi
LOG=$T/run1.log
(
	exec 37</etc/hostname # an inherited fd the jail must close
	exec env EMBER_JAIL_TEST_SECRET=1 timeout 30 "$EMBER" jail --id run1 "${J[@]}" \
		--cgroup-version $CGV --parent-cgroup "$CGPARENT" "${CGARGS[@]}" "${NSARGS[@]}" \
		--resource-limit no-file=1000 --resource-limit fsize=1048576 \
		-- run --kernel /waitguest.elf --memory 64M --no-rng
) </dev/null >"$LOG" 2>&1 &
PIDS+=($!)
if ! wait_line "$LOG" 'waitguest: (ready|tick)' 15; then
	nok "jailed run: the wait guest never said ready: $(tail -n 3 "$LOG" | tr '\n' ' ')"
else
	pid=$(pgrep -x ember -P $! || true)
	[ -n "$pid" ] || pid=$(cat "$ROOT/ember.pid")
	PIDS+=("$pid")
	st=/proc/$pid/status
	[ "$(cat "$ROOT/ember.pid")" = "$pid" ] && ok "pid file: /ember.pid holds $pid" ||
		nok "pid file: /ember.pid holds '$(cat "$ROOT/ember.pid")', not $pid"

	ids=$(awk '/^(Uid|Gid):/ {print $2, $3, $4, $5}' "$st" | tr '\n' ' ')
	caps=$(awk '/^Cap(Inh|Prm|Eff|Bnd|Amb):/ {print $2}' "$st" | sort -u | tr '\n' ' ')
	nnp=$(awk '/^NoNewPrivs:/ {print $2}' "$st")
	groups=$(awk '/^Groups:/ {print $2}' "$st")
	if [ "$ids" = "$JUID $JUID $JUID $JUID $JGID $JGID $JGID $JGID " ] &&
		[ "$caps" = "0000000000000000 " ] && [ "$nnp" = 1 ] && [ -z "$groups" ]; then
		ok "jailed run: uid $JUID gid $JGID, no groups, every capability set 0, NoNewPrivs 1"
	else
		nok "jailed run: ids '$ids' groups '$groups' caps '$caps' NoNewPrivs '$nnp'"
	fi

	# ember's own confinement holds in the jail too: every thread filtered.
	sc=$(cat /proc/"$pid"/task/*/status | awk '/^Seccomp:/ {print $2}' | sort | uniq -c | tr -s ' ')
	if [[ $sc =~ ^\ [0-9]+\ 2$ ]]; then
		ok "jailed run: every thread under seccomp (Seccomp: 2)"
	else
		nok "jailed run: Seccomp values (count value): $sc"
	fi

	if [ "$(stat -L -c %d:%i "/proc/$pid/root/")" = "$(stat -c %d:%i "$ROOT")" ] &&
		[ ! -e "/proc/$pid/root/etc" ] && [ -c "$ROOT/dev/kvm" ] && [ -c "$ROOT/dev/net/tun" ] &&
		[ "$(stat -c %u:%g:%a "$ROOT/dev/kvm")" = "$JUID:$JGID:600" ] &&
		[ "$(stat -c %u:%g:%a "$ROOT")" = "$JUID:$JGID:700" ] &&
		cmp -s "$EMBER" "$ROOT/ember" && [ "$(stat -c %h "$ROOT/ember")" = 1 ]; then
		ok "jailed run: its root is the jail (a copy of ember, dev/kvm and dev/net/tun owned $JUID:$JGID)"
	else
		nok "jailed run: root $(stat -L -c %d:%i "/proc/$pid/root/") vs jail $(stat -c %d:%i "$ROOT"); $(ls -la "$ROOT" "$ROOT/dev" | tr '\n' ' ')"
	fi

	bad=
	if [ $CGV = 1 ]; then
		for a in "${CGARGS[@]}"; do
			[ "$a" = --cgroup ] && continue
			file=${a%%=*} val=${a#*=} c=${a%%.*}
			m=$(awk -v c="$c" '$3 == "cgroup" { n = split($4, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) print $2 }' /proc/mounts | head -n1)
			d=$m/$CGPARENT/run1
			grep -q "^[0-9]*:[^:]*\\b$c\\b[^:]*:/$CGPARENT/run1\$" "/proc/$pid/cgroup" || bad="$bad $c: not in /proc/$pid/cgroup;"
			[ "$(cat "$d/$file")" = "$val" ] || bad="$bad $d/$file is $(cat "$d/$file");"
			grep -qx "$pid" "$d/cgroup.procs" || bad="$bad $pid not in $d/cgroup.procs;"
		done
	else
		d=$CGROOT/$CGPARENT/run1
		if [ ${#CGARGS[@]} -gt 0 ]; then
			grep -qx "0::/$CGPARENT/run1" "/proc/$pid/cgroup" || bad="not in $d: $(cat "/proc/$pid/cgroup");"
			for a in "${CGARGS[@]}"; do
				[ "$a" = --cgroup ] && continue
				file=${a%%=*} val=${a#*=}
				[ "$(cat "$d/$file")" = "$val" ] || bad="$bad $d/$file is $(cat "$d/$file");"
			done
		fi
	fi
	if [ -n "$bad" ]; then
		nok "jailed run: cgroups v$CGV:$bad"
	else
		ok "jailed run: cgroups v$CGV ${CGARGS[*]:-(no controller available: none asked)}: values written, pid joined"
	fi

	nofile=$(awk '/^Max open files/ {print $4, $5}' "/proc/$pid/limits")
	fsize=$(awk '/^Max file size/ {print $4, $5}' "/proc/$pid/limits")
	if [ "$nofile" = "1000 1000" ] && [ "$fsize" = "1048576 1048576" ]; then
		ok "jailed run: RLIMIT_NOFILE 1000, RLIMIT_FSIZE 1048576 (soft and hard)"
	else
		nok "jailed run: open files '$nofile', file size '$fsize'"
	fi

	fds=$(ls -l "/proc/$pid/fd" | grep -c hostname)
	env_bytes=$(wc -c <"/proc/$pid/environ")
	if [ "$fds" = 0 ] && [ "$env_bytes" = 0 ]; then
		ok "jailed run: the inherited fd 37 is closed, the environment is empty"
	else
		nok "jailed run: $fds fds on /etc/hostname, $env_bytes bytes of environment"
	fi

	if [ ${#NSARGS[@]} -gt 0 ]; then
		if [ "$(stat -L -c %i "/proc/$pid/ns/net")" = "$(stat -L -c %i "/var/run/netns/$NETNS")" ]; then
			ok "jailed run: in the network namespace $NETNS"
		else
			nok "jailed run: not in the network namespace $NETNS"
		fi
	else
		ok "jailed run: --netns not tried # skip: ip netns add failed"
	fi

	kill -TERM "$pid"
	if wait_gone "$pid" 10; then
		wait "${PIDS[0]}"
		rc=$?
		[ $rc = 0 ] && ok "jailed run: SIGTERM ends it with status 0" ||
			nok "jailed run: SIGTERM: status $rc"
	else
		nok "jailed run: still running 10 s after SIGTERM"
	fi
fi

# --- --daemonize -----------------------------------------------------------------------------
ROOT=$BASE/ember/daemon1/root
mkdir -p "$ROOT" && cp "$WAITGUEST" "$ROOT/waitguest.elf"
t0=$(date +%s)
out=$(timeout 10 "$EMBER" jail --id daemon1 "${J[@]}" --daemonize \
	-- run --kernel /waitguest.elf --memory 64M --no-rng 2>&1 </dev/null)
rc=$?
# No wait: the command returns once the daemon has executed, its pid file
# written.
pid=$(cat "$ROOT/ember.pid" 2>/dev/null)
[ -n "$pid" ] && PIDS+=("$pid")
if [ $rc != 0 ] || [ -n "$out" ]; then
	nok "--daemonize: the command ended with $rc: $out"
elif [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
	nok "--daemonize: no running process in /ember.pid ('$pid')"
else
	fd0=$(readlink "/proc/$pid/fd/0") fd1=$(readlink "/proc/$pid/fd/1") fd2=$(readlink "/proc/$pid/fd/2")
	sid=$(ps -o sid= -p "$pid" | tr -d ' ')
	tty=$(ps -o tty= -p "$pid" | tr -d ' ')
	comm=$(cat "/proc/$pid/comm")
	if [ "$fd0 $fd1 $fd2" = "/dev/null /dev/null /dev/null" ] && [ "$sid" != "$(ps -o sid= -p $$ | tr -d ' ')" ] &&
		[ "$sid" != "$pid" ] && [ "$tty" = "?" ] && [ "$comm" = ember ]; then
		ok "--daemonize: returned 0 in $(($(date +%s) - t0)) s; ember runs on, its own session, no tty, stdio /dev/null"
	else
		nok "--daemonize: fds '$fd0 $fd1 $fd2' sid $sid (own pid $pid) tty '$tty' comm '$comm'"
	fi
fi
if [ -n "$pid" ]; then
	kill -TERM "$pid" 2>/dev/null
	wait_gone "$pid" 10 || nok "--daemonize: still running 10 s after SIGTERM"
fi

# The daemon's errors reach the command's stderr: a file that is no program.
cp /etc/hostname "$T/notaprogram" && chmod 0644 "$T/notaprogram"
jail_err "--daemonize: the daemon's error" 1 "exec /notaprogram in the jail: Permission denied" \
	"$EMBER" jail --id daemon2 --exec-file "$T/notaprogram" --uid $JUID --gid $JGID \
	--chroot-base-dir "$BASE" --daemonize -- run

# --- --new-pid-ns, ember's Firecracker mode through `-- firecracker` -------------------------
ROOT=$BASE/ember/pidns1/root
mkdir -p "$ROOT" && cp "$WAITGUEST" "$ROOT/waitguest.elf"
printf '{"boot-source": {"kernel_image_path": "/waitguest.elf"}, "drives": [], "machine-config": {"vcpu_count": 1, "mem_size_mib": 64}}\n' >"$ROOT/vm.json"
LOG=$T/pidns1.log
timeout 10 "$EMBER" jail --id pidns1 "${J[@]}" --new-pid-ns \
	-- firecracker --no-api --config-file /vm.json </dev/null >"$LOG" 2>&1
rc=$?
pid=$(cat "$ROOT/ember.pid" 2>/dev/null)
[ -n "$pid" ] && PIDS+=("$pid")
if [ $rc != 0 ] || [ -z "$pid" ]; then
	nok "--new-pid-ns: the command ended with $rc, pid '$pid': $(tail -n 3 "$LOG" | tr '\n' ' ')"
elif ! wait_line "$LOG" 'waitguest: (ready|tick)' 15; then
	nok "--new-pid-ns: the wait guest never said ready: $(tail -n 3 "$LOG" | tr '\n' ' ')"
else
	nspid=$(awk '/^NSpid:/ {print $2, $3}' "/proc/$pid/status")
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline")
	want="^/ember firecracker --id pidns1 --start-time-us [0-9]+ --start-time-cpu-us [0-9]+ --parent-cpu-time-us [0-9]+ --no-api --config-file /vm.json $"
	if [ "$nspid" != "$pid 1" ]; then
		nok "--new-pid-ns: NSpid '$nspid', not '$pid 1'"
	elif ! [[ $cmd =~ $want ]]; then
		nok "--new-pid-ns: command line '$cmd'"
	else
		ok "--new-pid-ns: pid 1 of its namespace ($pid outside), argv: $cmd"
	fi
fi
if [ -n "$pid" ]; then
	kill -TERM "$pid" 2>/dev/null
	wait_gone "$pid" 10 || nok "--new-pid-ns: still running 10 s after SIGTERM"
fi

# --- build/firecracker jailed, booting the test guest to its end ----------------------------
ROOT=$BASE/firecracker/fc1/root
mkdir -p "$ROOT" && cp "$TESTGUEST" "$ROOT/testguest.elf"
# As tests/guest/run.sh: tg.cmdline_len is the length of the whole line.
cl="console=ttyS0 tg.mem=64M tg.cpus=1 tg.cmdline_len="
n=$((${#cl} + 1))
while [ $((${#cl} + ${#n})) != "$n" ]; do
	n=$((${#cl} + ${#n}))
done
cl=$cl$n
printf '{"boot-source": {"kernel_image_path": "/testguest.elf", "boot_args": "%s"}, "drives": [], "machine-config": {"vcpu_count": 1, "mem_size_mib": 64}}\n' "$cl" >"$ROOT/vm.json"
LOG=$T/fc1.log
timeout 60 "$JAILER" --id fc1 --exec-file "$FC" --uid $JUID --gid $JGID --chroot-base-dir "$BASE" \
	--cgroup-version $CGV --parent-cgroup "$CGPARENT" "${CGARGS[@]}" \
	-- --no-api --config-file /vm.json </dev/null >"$LOG" 2>&1
rc=$?
line=$(tr -d '\r' <"$LOG" | grep -a -E '^testguest: [0-9]+ passed, [0-9]+ failed$' | tail -n1)
if [ $rc = 0 ] && [[ $line == *" 0 failed" ]] && [ -f "$ROOT/firecracker" ] && [ ! -L "$ROOT/firecracker" ]; then
	ok "jailer --exec-file build/firecracker --config-file --no-api: exit 0, '$line'"
else
	nok "jailer --exec-file build/firecracker: exit $rc, '$line': $(tr -d '\r' <"$LOG" | grep -a -E '^FAIL|ember' | head -n 5 | tr '\n' ' ')"
fi

# The end: nothing of ours may run on.
left=
for p in "${PIDS[@]}" $(pgrep -u $JUID); do
	kill -0 "$p" 2>/dev/null && left="$left $p"
done
[ -z "$left" ] && ok "no jailed process left running" || nok "still running:$left"

echo "jail: $passed passed, $failed failed"
[ $failed -eq 0 ]
