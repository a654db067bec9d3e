# virtio-console cases (sourced in L1 after cases.sh): the guest console on
# hvc0 with --console virtio.
LAB_CASES="$LAB_CASES console-virtio-output console-virtio-shell"

# Kernel and init output reach ember's stdout through hvc0.
case_console_virtio_output() {
	ember_run --initrd "$GI" --console virtio --cmdline "console=hvc0 reboot=k panic=-1 \
ember.cmd=\"echo active=\$(cat /sys/class/tty/console/active)\""
	expect_exit0
	expect_line "active=hvc0"
	expect_line "ember-init: exit status 0"
	grep -q "Run /init as init process" "$D/console" || fail "no kernel messages on hvc0"
}

# An interactive shell on hvc0: a line typed on ember's stdin (a pipe)
# reaches it once it prompts, and closing stdin (one Ctrl-D) ends it.
case_console_virtio_shell() {
	mkfifo "$D/in"
	timeout -s KILL $T "$EMBER" run --kernel "$GK" --initrd "$GI" --console virtio \
		<"$D/in" >"$D/out" 2>"$D/err" &
	pid=$!
	exec 3>"$D/in"
	i=0
	until tr -d '\r' <"$D/out" | grep -Fq "ember# "; do
		i=$((i + 1))
		[ $i -le 600 ] || { exec 3>&-; kill $pid; fail "no shell prompt on hvc0 within 60 s"; }
		sleep 0.1
	done
	echo 'echo hvc-$((6*7))' >&3
	exec 3>&- # end of input: ember sends Ctrl-D, the shell exits
	rc=0
	wait $pid || rc=$?
	tr -d '\r' <"$D/out" >"$D/console"
	expect_exit0
	grep -q "hvc-42" "$D/console" || fail "shell on hvc0 did not answer hvc-42"
	expect_line "ember-init: exit status 0"
}
