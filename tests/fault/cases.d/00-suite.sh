# SPDX-License-Identifier: MIT
# The suite's own tools work: a run under the pty restores nothing it did not
# change, and a process that ignores its deadline is reported as a timeout.
ptyrun --timeout 5 -- true
[ "$(ptyget status)" = 0 ] && [ "$(ptyget termios)" = same ] &&
	ok "ptyrun: a clean command" || bad "ptyrun: clean command: $(cat "$tmp/pty.report")"
ptyrun --wait ready --act signal:TERM --deadline 0.5 -- sh -c 'trap "" TERM; echo ready; sleep 5'
[ "$(ptyget status)" = timeout ] &&
	ok "ptyrun: a command that outlives its deadline" || bad "ptyrun: deadline: $(cat "$tmp/pty.report")"
ptyrun --timeout 5 -- sh -c 'stty raw'
[ "$(ptyget termios)" = changed ] &&
	ok "ptyrun: sees raw mode left behind" || bad "ptyrun: raw mode: $(cat "$tmp/pty.report")"
