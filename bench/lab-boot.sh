#!/bin/sh
# shellcheck shell=dash disable=SC2046,SC2086 # busybox ash (local is fine); word lists on purpose
# The lab half of the boot benchmarks: runs inside L1 (busybox sh, the real
# /dev/kvm of kvm-amd) as `tests/lab/run.sh --script bench/lab-boot.sh`,
# started by bench/boot.sh, which stages /lab/bench (bench/lab-stage.sh).
# Every result is one console line starting with "bench: ", parsed on the
# host by bench/boot.sh:
#   bench: boot KERNEL CPUS SYSTEM RUN STATUS MARK_MS EXIT_MS FIRST_MS
#   bench: trace KERNEL CPUS RUN MS EVENT        (ember --boot-trace)
#   bench: klog KERNEL SYSTEM TEXT               (bench/kernel-log.sh in the guest)
#   bench: mem SYSTEM RUN RSS PSS GUEST_RSS GUEST_PSS GUEST_SIZE PSS_ANON PSS_FILE
#              GUEST_THP GUEST_OFF   (KiB; see bench/vmwatch.c)
#   bench: dens SYSTEM N READY_MS AVAIL_DROP RSS_SUM PSS_SUM GUEST_RSS_SUM BAD
#   bench: kvmstat SYSTEM COUNT EVENT            (perf stat of one boot)
#   bench: strace SYSTEM MS WHAT                 (first KVM_RUN, from strace)
#   bench: console KERNEL CPUS SYSTEM LINE       (warm-up run's console)
#   bench: thp SETTING                           (L1's transparent_hugepage)
#   bench: unwrap SYSTEM RUN STATUS MARK_MS EXIT_MS FIRST_MS  (stock kernel from
#              its bzImage; SYSTEM: see UNWRAP_SYSTEMS below)
#   bench: utrace SYSTEM RUN MS EVENT            (their ember --boot-trace)
#   bench: fail unwrap: WHY                      (ember rejected the vmlinuz)
#   bench: unit NAME / bench: unit-end NAME      (around each unit of work)
# Units (boot-KERNEL-CPUS, unwrap, klog, kvmstat, strace, mem, dens) named in $DONE
# are skipped: bench/boot.sh lists there what an earlier L1 finished before
# it died, keeps only the lines of finished units, and starts a fresh L1.
# SYSTEM: ember, qemu, ember-4k (ember --no-thp: what huge pages give) or
# qemu-rtc (QEMU microvm with its RTC on; boot race only, see below).
# KERNEL: min (build/guest/vmlinux) or stock (Debian's). RUN 0 is a warm-up.
set -u
B=/lab/bench
. $B/params # RUNS CPUS KERNELS SECTIONS DENSITY_N DONE CRASH
W=$B/vmwatch
EMBER=/lab/ember
QEMU="qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=off,pit=off,pic=off,isa-serial=on
 -enable-kvm -cpu host -nodefaults -no-user-config -nographic -serial stdio -no-reboot"
# ember's default command line with reboot=t: QEMU microvm has no i8042, and
# both VMMs end on the triple fault that reboot=t makes.
BASE="console=ttyS0 reboot=t panic=-1 pci=off i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd 8250.nr_uarts=1 quiet"
MARK="ember-bench: boot marker"
RD=$B/initramfs-bench.cpio.gz
T=180
SCRUB_MIB=256 # one guest's RAM
mkdir -p /tmp/b

# ember-4k: ember --no-thp, guest RAM in 4 KiB pages (an ablation: what the
# default transparent huge pages give).
ember_flags() {
	case $1 in
	ember-4k) echo --no-thp ;;
	esac
}
SYSTEMS="ember qemu ember-4k"
# The boot race adds QEMU with rtc=on: the issue prescribes rtc=off as
# microvm's fastest option, but a stock kernel's rtc-cmos driver then polls
# the absent RTC for seconds; with the RTC on it finds one at once, as under
# ember. Reported beside the prescribed QEMU so neither is hidden.
BOOT_SYSTEMS="$SYSTEMS qemu-rtc"
NBOOT=$(echo $BOOT_SYSTEMS | wc -w)
NSYS=$(echo $SYSTEMS | wc -w)

# nth N WORDS...: the Nth word (from 0)
nth() {
	local n=$1
	shift
	shift $n
	echo $1
}

# unit NAME: false if NAME is in $DONE; else prints its start line.
# CRASH=NAME (bench/boot.sh --crash-l1-in NAME, first L1 only) panics L1
# there on purpose: a test of the fresh-L1 retry.
unit() {
	case " ${DONE:-} " in *" $1 "*) return 1 ;; esac
	echo "bench: unit $1"
	if [ "${CRASH:-}" = "$1" ]; then
		echo "bench: crashing L1 on purpose in unit $1 (--crash-l1-in)"
		echo c >/proc/sysrq-trigger
	fi
}
unit_end() { echo "bench: unit-end $1"; }

kernel_path() {
	case $1 in
	min) echo /lab/vmlinux ;;
	stock) echo $B/vmlinux-stock ;;
	esac
}

# run SYSTEM KERNEL CPUS MEM CMDLINE LOGPREFIX [vmwatch options...]: one VM
# under vmwatch, the same guest for both VMMs. $PRE: a command prefix (perf).
# Each run starts after bench/scrub has taken back the memory the last VM
# freed, so that no VMM pays for TCG dropping the code it had translated
# for the VM before (see bench/scrub.c).
PRE=
run() {
	local r_sys=$1 r_k r_c=$3 r_m=$4 r_cl=$5 r_l=$6
	r_k=$(kernel_path $2)
	shift 6
	$B/scrub $SCRUB_MIB || echo "bench: note: scrub $SCRUB_MIB failed"
	# shellcheck disable=SC2086 # PRE and QEMU are word lists
	if [ "$r_sys" = qemu-rtc ]; then
		$PRE $W -t $T -l "$r_l" "$@" -- $(echo "$QEMU" | sed 's/rtc=off/rtc=on/') -m $r_m -smp "$r_c" \
			-kernel "$r_k" -initrd $RD -append "$r_cl"
	elif [ "$r_sys" != qemu ]; then
		$PRE $W -t $T -l "$r_l" "$@" -- $EMBER run $(ember_flags $r_sys) --kernel "$r_k" --initrd $RD --memory $r_m \
			--cpus "$r_c" --no-rng --boot-trace --cmdline "$r_cl"
	else
		$PRE $W -t $T -l "$r_l" "$@" -- $QEMU -m $r_m -smp "$r_c" -kernel "$r_k" -initrd $RD \
			-append "$r_cl"
	fi
}

# vmwatch's timeout hook: where a VMM that did not finish is stuck.
cat >/tmp/b/hung.sh <<'HOOK'
exec >>/tmp/b/hung.log 2>&1
p=$1
echo "bench: note: hung: pid $p ($(cat /proc/$p/comm)) still running at the timeout"
for t in /proc/$p/task/*; do
	echo "bench: note: hung: thread $(cat $t/comm): $(sed -n 's/^State:[[:space:]]*//p' $t/status), wchan $(cat $t/wchan 2>/dev/null)"
	head -n 5 $t/stack 2>/dev/null | sed 's/^/bench: note: hung:     /'
done
if [ -x /lab/bench/perf ]; then
	mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
	/lab/bench/perf record -q -o /tmp/b/hung.data -e kvm:kvm_exit -p $p -- sleep 1 >/dev/null 2>&1
	/lab/bench/perf script -i /tmp/b/hung.data -F tid,trace 2>/dev/null |
		sed -n 's/^ *\([0-9]*\) .*reason \([A-Za-z_0-9]*\) rip \(0x[0-9a-f]*\).*/tid \1 \2 rip \3/p' |
		sort | uniq -c | sort -rn | head -n 8 | sed 's/^/bench: note: hung: exits in 1 s: /'
fi
HOOK

# boot KERNEL CPUS SYSTEM RUN: boot to the marker and reboot, timed. After
# 3 failures of one VMM in one configuration its remaining runs are skipped.
boot() {
	local T=60 f=/tmp/b/failed-$1-$2-$3
	[ $1 != stock ] || T=120
	if [ "$(cat $f 2>/dev/null)" = xxx ]; then
		echo "bench: note: $3 $1 cpus=$2 run $4 skipped after 3 failures"
		return
	fi
	l=/tmp/b/$1-$2-$3-$4
	r=$(run $3 $1 $2 256M "$BASE rdinit=/benchinit ember.cmd=true" $l -m "$MARK" -k "sh /tmp/b/hung.sh" |
		grep '^vm 0 ')
	[ -n "$r" ] || r="vm 0 255 -1 -1 -1"
	set -- "$1" "$2" "$3" "$4" $r
	echo "bench: boot $1 $2 $3 $4 $7 $8 $9 ${10}"
	# The warm-up run's console: what each kernel prints despite quiet.
	[ "$4" != 0 ] || tr -d '\r' <$l.0.out | grep -v '^$' | head -n 12 | cut -c1-160 |
		sed "s/^/bench: console $1 $2 $3 /"
	if [ "$7" != 0 ] || [ "$8" = -1.000 ]; then
		printf x >>$f
		[ ! -f /tmp/b/hung.log ] || { cat /tmp/b/hung.log; rm -f /tmp/b/hung.log; }
		echo "bench: note: $3 $1 cpus=$2 run $4 exited $7 (marker at $8); last console lines:"
		tr -d '\r' <$l.0.out | tail -n 15 | sed 's/^/bench: note:   /'
		tail -n 5 $l.0.err | sed 's/^/bench: note:   /'
	fi
	[ "$3" != ember ] || [ "$7" != 0 ] || sed -n "s/^ember: boot-trace: *\([0-9.]*\) ms  \(.*\)/bench: trace $1 $2 $4 \1 \2/p" $l.0.err
}

echo "bench: L1 $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPUs, $(sed -n 's/^MemTotal: *//p' /proc/meminfo)"
echo "bench: version qemu $($QEMU -version | sed -n '1s/.*version //p')"
echo "bench: version ember $($EMBER --version 2>&1 | head -n1)"
THP=/sys/kernel/mm/transparent_hugepage/enabled
echo "bench: thp $(cat $THP 2>/dev/null)"

# boot_section CPUS...: the boot race for these vCPU counts (those in $CPUS).
boot_section() {
	for k in $KERNELS; do
		for c in "$@"; do
			case " $CPUS " in *" $c "*) ;; *) continue ;; esac
			unit boot-$k-$c || continue
			echo "bench: section boot $k cpus=$c"
			for s in $BOOT_SYSTEMS; do boot $k $c $s 0; done
			# Each round starts with the next system: no VMM always
			# follows the same one.
			i=1
			while [ $i -le $RUNS ]; do
				j=0
				while [ $j -lt $NBOOT ]; do
					boot $k $c $(nth $(((i + j) % NBOOT)) $BOOT_SYSTEMS) $i
					j=$((j + 1))
				done
				i=$((i + 1))
			done
			unit_end boot-$k-$c
		done
	done
}

# 1 vCPU first; more vCPUs at the very end: nested guests with 2 vCPUs on
# L1's 2 TCG vCPUs are where L1 itself has crashed (a kernel stack overflow
# in L1's page-fault entry) and hung, so a lost L1 loses the least there.
case " $SECTIONS " in *" boot "*) boot_section 1 ;; esac

# The stock kernel from its bzImage (issue 14), 1 vCPU, RUNS runs each,
# alternating like the boot race, same guest and command line:
#   ember-bz-cold  ember --kernel vmlinuz, its unwrap cache empty (a fresh
#                  XDG_CACHE_HOME per run): ember decompresses the payload
#   ember-bz-warm  the same with the cache filled (by the warm-up run)
#   ember-elf      ember --kernel vmlinux-stock (extracted on the host)
#   qemu-bz        QEMU microvm -kernel vmlinuz: qboot loads the bzImage over
#                  fw_cfg and the kernel's own decompressor runs in the guest
#   qemu-bz-rtc    the same with microvm's RTC on (see BOOT_SYSTEMS above)
# An ember that rejects the vmlinuz (or boots it without unwrapping it) is
# a "bench: fail" line: bench/boot.sh then exits 1 after its report.
UNWRAP_SYSTEMS="ember-bz-cold ember-bz-warm ember-elf qemu-bz qemu-bz-rtc"
NUNWRAP=$(echo $UNWRAP_SYSTEMS | wc -w)
ubench() {
	local s=$1 i=$2 l=/tmp/b/unwrap-$1-$2 k=$B/vmlinuz-stock x=/tmp/b/xdg-none q f=/tmp/b/failed-unwrap-$1 r
	local cl="$BASE rdinit=/benchinit ember.cmd=true"
	if [ "$(cat $f 2>/dev/null)" = xxx ]; then
		echo "bench: note: unwrap $s run $i skipped after 3 failures"
		return
	fi
	case $s in
	ember-bz-cold) x=/tmp/b/xdg-cold-$i; rm -rf $x; mkdir -p $x ;;
	ember-bz-warm) x=/tmp/b/xdg-warm; mkdir -p $x ;;
	ember-elf) k=$B/vmlinux-stock ;;
	esac
	q=$QEMU
	[ $s != qemu-bz-rtc ] || q=$(echo "$QEMU" | sed 's/rtc=off/rtc=on/')
	$B/scrub $SCRUB_MIB || echo "bench: note: scrub $SCRUB_MIB failed"
	# shellcheck disable=SC2086 # QEMU is a word list
	case $s in
	ember*) r=$(XDG_CACHE_HOME=$x $W -t $T -l $l -m "$MARK" -k "sh /tmp/b/hung.sh" -- \
		$EMBER run --kernel $k --initrd $RD --memory 256M --cpus 1 --no-rng --boot-trace --cmdline "$cl") ;;
	*) r=$($W -t $T -l $l -m "$MARK" -k "sh /tmp/b/hung.sh" -- $q -m 256M -smp 1 -kernel $k -initrd $RD \
		-append "$cl") ;;
	esac
	r=$(echo "$r" | grep '^vm 0 ')
	[ -n "$r" ] || r="vm 0 255 -1 -1 -1"
	set -- "$s" "$i" $r
	echo "bench: unwrap $1 $2 $5 $6 $7 $8"
	case $s in ember*) sed -n "s/^ember: boot-trace: *\([0-9.]*\) ms  \(.*\)/bench: utrace $s $i \1 \2/p" $l.0.err ;; esac
	[ "$i" != 0 ] || tr -d '\r' <$l.0.out | grep -v '^$' | head -n 12 | cut -c1-160 |
		sed "s/^/bench: console stock-bz 1 $s /"
	if [ "$5" != 0 ] || [ "$6" = -1.000 ]; then
		printf x >>$f
		[ ! -f /tmp/b/hung.log ] || { cat /tmp/b/hung.log; rm -f /tmp/b/hung.log; }
		echo "bench: note: unwrap $s run $i exited $5 (marker at $6); last console lines:"
		tr -d '\r' <$l.0.out | tail -n 15 | sed 's/^/bench: note:   /'
		tail -n 5 $l.0.err | sed 's/^/bench: note:   /'
		case $s in ember-bz-*)
			echo "bench: fail unwrap: ember did not boot the stock vmlinuz ($s run $i, exit $5): $(grep -v boot-trace $l.0.err | tail -n 1)" ;;
		esac
	fi
	# ember must have unwrapped the bzImage itself: a cold run decompresses,
	# a warm one is served by the cache.
	case $s in ember-bz-*) [ "$5" != 0 ] || grep -q 'boot-trace: .*kernel unwrapped' $l.0.err ||
		echo "bench: fail unwrap: $s run $i booted with no \"kernel unwrapped\" mark in --boot-trace" ;;
	esac
	case $s in ember-bz-warm) [ "$i" = 0 ] || [ "$5" != 0 ] || grep -q 'kernel unwrapped (cache)' $l.0.err ||
		echo "bench: note: unwrap $s run $i: the cache did not serve it: $(grep 'kernel unwrapped' $l.0.err)" ;;
	esac
	rm -rf /tmp/b/xdg-cold-$i $l.0.out $l.0.err
}
case " $SECTIONS " in *" unwrap "*) ! unit unwrap || {
	echo "bench: section unwrap stock cpus=1"
	echo "bench: unwrap-files $(wc -c <$B/vmlinuz-stock) $(wc -c <$B/vmlinux-stock)"
	rm -rf /tmp/b/xdg-warm
	# The warm-up runs, ember-bz-warm's filling its cache.
	for s in $UNWRAP_SYSTEMS; do ubench $s 0; done
	i=1
	while [ $i -le $RUNS ]; do
		j=0
		while [ $j -lt $NUNWRAP ]; do
			ubench $(nth $(((i + j) % NUNWRAP)) $UNWRAP_SYSTEMS) $i
			j=$((j + 1))
		done
		i=$((i + 1))
	done
	rm -rf /tmp/b/xdg-warm
	unit_end unwrap
	}
	;;
esac

# What the guest kernel reports about its own boot, under each VMM.
case " $SECTIONS " in *" klog "*) ! unit klog || {
	for k in $KERNELS; do
		for s in ember qemu; do
			echo "bench: section klog $k $s"
			l=/tmp/b/klog-$k-$s
			run $s $k 1 256M "$BASE rdinit=/benchinit printk.time=1 initcall_debug log_buf_len=4M ember.cmd=/bench-kernel-log" \
				$l -m "$MARK" >/dev/null
			tr -d '\r' <$l.0.out | sed -n "s/^ember-bench: /bench: klog $k $s /p"
		done
	done
	unit_end klog
	}
	;;
esac

# KVM exits of one minimal boot per VMM (perf on the kvm tracepoints).
case " $SECTIONS " in *" kvmstat "*) ! unit kvmstat || {
	if [ -x $B/perf ]; then
		mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
		for s in $SYSTEMS; do
			echo "bench: section kvmstat $s"
			l=/tmp/b/kvmstat-$s
			PRE="$B/perf stat -x, -o $l.stat -e kvm:kvm_exit -e kvm:kvm_userspace_exit
				-e kvm:kvm_pio -e kvm:kvm_mmio -e kvm:kvm_msr -e kvm:kvm_cpuid
				-e kvm:kvm_inj_virq --"
			run $s min 1 256M "$BASE rdinit=/benchinit ember.cmd=true" $l -m "$MARK" >/dev/null 2>$l.perr
			awk -F, -v s=$s '$3 ~ /^kvm:/ { print "bench: kvmstat " s " " $1 " " $3 }' $l.stat
			[ -s $l.stat ] || tail -n 5 $l.perr | sed 's/^/bench: note: perf: /'
			# Exit reasons (SVM exit codes) of a second such boot.
			PRE="$B/perf record -q -o $l.data -e kvm:kvm_exit --"
			run $s min 1 256M "$BASE rdinit=/benchinit ember.cmd=true" $l -m "$MARK" >/dev/null 2>>$l.perr
			PRE=
			$B/perf script -i $l.data -F trace 2>>$l.perr |
				sed -n 's/.*reason \([A-Za-z_0-9]*\).*/\1/p' | sort | uniq -c | sort -rn | head -n 10 |
				awk -v s=$s '{ print "bench: exitreason " s " " $1 " " $2 }'
		done
	else
		echo "bench: note: no perf in L1, kvmstat skipped"
	fi
	unit_end kvmstat
	}
	;;
esac

# When does each VMM first enter the guest (strace, ms since exec)?
case " $SECTIONS " in *" strace "*) ! unit strace || {
	if [ -x $B/strace ]; then
		for s in ember qemu; do
			echo "bench: section strace $s"
			l=/tmp/b/strace-$s
			if [ $s = ember ]; then
				set -- $EMBER run --kernel /lab/vmlinux --initrd $RD --memory 256M --no-rng --cmdline
			else
				# shellcheck disable=SC2086
				set -- $QEMU -m 256M -smp 1 -kernel /lab/vmlinux -initrd $RD -append
			fi
			$B/scrub $SCRUB_MIB
			$B/strace -f --seccomp-bpf -ttt -e trace=execve,ioctl,exit_group -o $l.st "$@" \
				"$BASE rdinit=/benchinit ember.cmd=true" </dev/null >/dev/null 2>&1
			awk -v s=$s '
				/execve\(/ && !t0 { t0 = $2 }
				/KVM_CREATE_VM/ && !vm { vm = $2; print "bench: strace " s " " (vm - t0) * 1000 " KVM_CREATE_VM" }
				/KVM_RUN/ && !run { run = $2; print "bench: strace " s " " (run - t0) * 1000 " first KVM_RUN" }
				{ last = $2 }
				END { print "bench: strace " s " " (last - t0) * 1000 " last event" }' $l.st
			grep -c 'KVM_RUN' $l.st | sed "s/^/bench: strace $s count-KVM_RUN /"
		done
	fi
	unit_end strace
	}
	;;
esac

# Memory: one 256 MiB guest idle at its shell prompt (no ember.cmd: guest/'s
# init starts an interactive sh); sampled 2 s after the prompt appeared.
case " $SECTIONS " in *" mem "*) ! unit mem || {
	echo "bench: section mem"
	for i in 1 2 3; do
		for s in $SYSTEMS; do
			l=/tmp/b/mem-$s-$i
			run $s min 1 256M "$BASE" $l -m "ember# " -H -w 2000 -g 256 -i 'exit\n' |
				awk -v s=$s -v i=$i '/^mem 0 / { $1 = ""; $2 = ""; print "bench: mem " s " " i $0 }
					/^vm 0 / && $3 != 0 { print "bench: note: mem " s " exited " $3 }'
		done
	done
	unit_end mem
	}
	;;
esac

# Density: DENSITY_N Linux guests (minimal kernel, 256 MiB, 1 vCPU) started at
# once, each until its shell prompt; VMs/s = N / time to the last prompt.
case " $SECTIONS " in *" dens "*) ! unit dens || {
	echo "bench: section dens"
	for s in ember qemu; do
		l=/tmp/b/dens-$s
		run $s min 1 256M "$BASE" $l -n $DENSITY_N -m "ember# " -H -w 1000 -g 256 -i 'exit\n' >$l.txt
		awk -v s=$s -v n=$DENSITY_N '
			/^ready / { ready = $2 }
			/^meminfo / { avail = $2 }
			/^mem / { rss += $3; pss += $4; grss += $5 }
			/^vm / && ($3 != 0 || $4 < 0) { bad++ }
			END { print "bench: dens " s " " n " " ready " " avail " " rss " " pss " " grss " " bad + 0 }' $l.txt
	done
	unit_end dens
	}
	;;
esac
case " $SECTIONS " in *" boot "*)
	boot_section $(echo $CPUS | tr ' ' '\n' | grep -vx 1)
	;;
esac
echo "bench: done"
