# The soak (bench/soak.sh, `make bench-soak`): not in the default set, and
# it needs what soak.host.sh stages only when LAB_SOAK is set. ember built
# with ASan and UBSan runs a guest that drives virtio-blk, virtio-net and
# virtio-vsock for SOAK_SECS seconds (bench/soak-guest.sh), while L1's
# clients connect to the guest over vsock and leave (full echoes, and
# clients that go away mid-transfer), a TCP listener takes the guest's
# connections, and another vsock listener echoes the guest's. Every 5 s the
# case samples ember's open fds, threads and RSS (VmRSS less the guest
# RAM mapping's Rss: what ember itself holds).
# Pass: ember exits 0, the guest finishes, no sanitizer report, every
# workload moved, and after the warm-up (SOAK_WARMUP s) neither the fd count
# nor ember's RSS grows. The samples after the warm-up are split in halves:
# the lowest fd count of the second half must be no higher than that of the
# first (clients come and go, so the lows are compared), and ember's median
# RSS of the second half at most SOAK_RSS_SLACK KiB above that of the first.
# (One-minute windows were too short: with ASan's quarantine recycling,
# ember's RSS swings by 3 MiB from sample to sample with no trend.) The
# least-squares trend of ember's RSS is printed too.

# soak_sample PID T0: one line "SECONDS FDS THREADS VMRSS_KB GUEST_RSS_KB".
soak_sample() {
	echo "$(($(cut -d. -f1 /proc/uptime) - $2)) $(ls /proc/$1/fd 2>/dev/null | wc -l) \
$(ls /proc/$1/task 2>/dev/null | wc -l) \
$(sed -n 's/^VmRSS:[^0-9]*\([0-9]*\).*/\1/p' /proc/$1/status 2>/dev/null) \
$(awk '$1 ~ /^[0-9a-f]+-[0-9a-f]+$/ { g = 0 } $1 == "Size:" { g = ($2 == 262144) }
	$1 == "Rss:" && g { s += $2 } END { print s + 0 }' /proc/$1/smaps 2>/dev/null)"
}

case_soak() {
	[ -x /lab/ember-san ] && [ -f /lab/soak.conf ] ||
		fail "no sanitizer build staged: run the soak through bench/soak.sh (make bench-soak)"
	. /lab/soak.conf # SOAK_SECS SOAK_WARMUP SOAK_RSS_SLACK
	net_tap
	cp /lab/soak-disk.ext4 "$D/disk.img"
	uds=$D/v.sock
	mkfifo "$D/hold"
	exec 3<>"$D/hold" # L1's nc keeps reading: see case_net_tcp
	t0=$(cut -d. -f1 /proc/uptime)
	# --no-thp: guest RAM is one mapping of exactly 256 MiB (soak_sample).
	ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=16 UBSAN_OPTIONS=print_stacktrace=1 \
		/lab/ember-san run --kernel "$GK" --initrd "$GI" --memory 256M --no-thp \
		--disk "$D/disk.img" --net tap=tap0 --vsock "cid=3,uds=$uds" \
		--cmdline "$BASE quiet ember.cmd=\"mkdir -p /mnt && mount /dev/vda /mnt && \
sh /mnt/soak-guest.sh $SOAK_SECS $NET_HOST; umount /mnt\"" \
		</dev/null >"$D/out" 2>"$D/err" &
	pid=$!
	(sleep $((SOAK_SECS + 900)) && kill -9 $pid) 2>/dev/null &
	killer=$!
	# L1's side: a TCP sink, a vsock echo for the guest's connections, and
	# clients of the guest's vsock listener, as long as ember runs.
	(while kill -0 $pid 2>/dev/null; do nc -l -p 5001 <"$D/hold" >/dev/null 2>&1 || sleep 1; done) &
	(while kill -0 $pid 2>/dev/null; do /lab/uds-echo listen "${uds}_5000" >/dev/null 2>&1 || sleep 1; done) &
	(
		while kill -0 $pid 2>/dev/null; do
			if /lab/uds-echo connect "$uds" 1234 262144 >/dev/null 2>&1; then echo echo-ok; else echo echo-bad; fi
			if /lab/uds-echo drop "$uds" 1234 1048576 >/dev/null 2>&1; then echo drop-ok; else echo drop-bad; fi
		done >"$D/clients"
	) &
	: >"$D/samples"
	while kill -0 $pid 2>/dev/null; do
		soak_sample $pid "$t0" >>"$D/samples"
		sleep 5
	done
	rc=0
	wait $pid || rc=$?
	kill $killer 2>/dev/null
	exec 3>&-
	tr -d '\r' <"$D/out" >"$D/console"
	# The samples: every 30 s, and the summary.
	awk 'NF == 5 && $4 > 0 && NR % 6 == 1 { printf "# soak: t=%ss fds=%s threads=%s rss=%s KiB guest-ram=%s KiB ember=%s KiB\n", $1, $2, $3, $4, $5, $4 - $5 }' "$D/samples"
	sed -n 's/^soak-guest: /# soak: guest: /p' "$D/console"
	echo "# soak: L1 clients: $(sort "$D/clients" | uniq -c | awk '{printf "%s=%s ", $2, $1}')"
	grep -E 'Sanitizer|runtime error' "$D/err" | head -n 5 | sed 's/^/# soak: /'
	grep -qE 'Sanitizer|runtime error' "$D/err" && fail "sanitizer report (ember's stderr: $D/err)"
	expect_exit0
	expect_line "soak-guest: done"
	for w in blk net vsock-connect; do
		grep -Eq "^soak-guest: $w ok=[1-9]" "$D/console" || fail "the guest's $w workload never succeeded"
	done
	grep -Eq "^soak-guest: vsock-listen ok=[1-9]" "$D/console" || fail "no L1 client was echoed by the guest"
	grep -q '^echo-ok' "$D/clients" || fail "no L1 vsock client got its echo"
	grep -q '^drop-ok' "$D/clients" || fail "no L1 vsock client left mid-transfer"
	# Flat after the warm-up: its samples split in two halves, compared.
	awk -v w="$SOAK_WARMUP" -v slack="$SOAK_RSS_SLACK" '
		BEGIN { n = 0 }
		NF == 5 && $4 > 0 && $1 >= w { t[n] = $1; f[n] = $2; r[n] = $4 - $5; n++ }
		function median(a, lo, hi,   m, i, j, x, k) {
			m = 0
			for (i = lo; i <= hi; i++) x[m++] = a[i]
			for (i = 1; i < m; i++) for (j = i; j > 0 && x[j - 1] > x[j]; j--) { k = x[j]; x[j] = x[j - 1]; x[j - 1] = k }
			return x[int(m / 2)]
		}
		END {
			if (n < 24) { print "too short: " n " samples after the warm-up of " w " s"; exit 1 }
			h = int(n / 2)
			fa = 1e9; fz = 1e9
			for (i = 0; i < h; i++) if (f[i] < fa) fa = f[i]
			for (i = h; i < n; i++) if (f[i] < fz) fz = f[i]
			ra = median(r, 0, h - 1); rz = median(r, h, n - 1)
			# Least squares: the trend of ember RSS, KiB per minute.
			for (i = 0; i < n; i++) { st += t[i]; sr += r[i] }
			for (i = 0; i < n; i++) { num += (t[i] - st / n) * (r[i] - sr / n); den += (t[i] - st / n) * (t[i] - st / n) }
			printf "# soak: after the warm-up (t=%d..%d s, %d samples): lowest fd count %d in the first half, %d in the second; ember RSS median %d KiB, then %d KiB (%+d KiB); trend %+.1f KiB/min\n", t[0], t[n - 1], n, fa, fz, ra, rz, rz - ra, 60 * num / den
			if (fz > fa) { print "fd count grew from " fa " to " fz; exit 1 }
			if (rz - ra > slack) { print "ember RSS grew by " rz - ra " KiB (more than " slack ")"; exit 1 }
		}' "$D/samples" >"$D/verdict" || fail "$(tail -n1 "$D/verdict")"
	cat "$D/verdict"
}
