# SPDX-License-Identifier: MIT
# Output: a reader that stalls or goes away never blocks a vCPU or the stop.
# floodguest prints ~30 KB/s forever; only a stop ends it.
FLOOD=$GB/floodguest.elf

# A reader that goes away (`ember run ... | head`): no SIGPIPE death, the
# guest keeps running, and Ctrl-A x still ends ember with status 0 and the
# terminal restored.
ptyrun --stdout drop-after --wait 'line 20 ' --act none --timeout 20 --deadline 2 -- \
	"$EMBER" run --kernel "$FLOOD"
[ "$(ptyget status)" = timeout ] &&
	ok "reader gone: ember and the guest keep running (no SIGPIPE death)" ||
	bad "reader gone: ember ended: $(tr '\n' ' ' <"$tmp/pty.report")"
ptyrun --stdout drop-after --wait 'line 20 ' --act send:0178 --timeout 20 -- \
	"$EMBER" run --kernel "$FLOOD"
[ "$(ptyget status)" = 0 ] && [ "$(ptyget termios)" = same ] &&
	ok "reader gone: Ctrl-A x ends ember in $(ptyget after_act) s, status 0, terminal restored" ||
	bad "reader gone, Ctrl-A x: $(tr '\n' ' ' <"$tmp/pty.report")"

# A reader that never reads: stdout's pipe and ember's ring fill (about 5 s
# of flood), then Ctrl-A x, SIGTERM, SIGINT, SIGHUP and SIGQUIT each end
# ember within 1 s, status 0, terminal restored.
for act in send:0178 signal:TERM signal:INT signal:HUP signal:QUIT; do
	ptyrun --stdout stall --after 6 --act "$act" -- "$EMBER" run --kernel "$FLOOD"
	[ "$(ptyget status)" = 0 ] && [ "$(ptyget termios)" = same ] &&
		ok "stdout stalled: $act ends ember in $(ptyget after_act) s, status 0, terminal restored" ||
		bad "stdout stalled, $act: $(tr '\n' ' ' <"$tmp/pty.report")"
done

# stdout and stderr on one stalled pipe: the exit must not wait on stderr.
ptyrun --stdout stall-both --after 6 --act signal:TERM -- "$EMBER" run --kernel "$FLOOD"
[ "$(ptyget status)" = 0 ] &&
	ok "stdout and stderr stalled: SIGTERM ends ember in $(ptyget after_act) s, status 0" ||
	bad "stdout and stderr stalled: $(tr '\n' ' ' <"$tmp/pty.report")"

# ember run says what the console lost when it ends (stderr is the terminal).
ptyrun --stdout drop-after --wait 'line 20 ' --act none --timeout 3 --deadline 2 --log "$tmp/log" -- \
	sh -c "$EMBER run --kernel $FLOOD & pid=\$!; sleep 2; kill -TERM \$pid; wait \$pid"
if grep -q 'ember: console: [0-9]* bytes of guest output dropped (its reader went away)' "$tmp/log"; then
	ok "reader gone: the exit line counts the dropped bytes: $(grep -o 'ember: console: .*' "$tmp/log" | tr -d '\r')"
else
	bad "reader gone: no dropped-bytes line: $(tail -c 300 "$tmp/log")"
fi
