# SPDX-License-Identifier: MIT
# Console input: Ctrl-A x ends ember whatever the guest does with its input.
# waitguest never reads its UART (nor a virtio console), so typed keys fill
# the device; the old ember then sat in a blocking feed and never saw the
# Ctrl-A x that followed.
keys=$(python3 -c "print('61' * 12000 + '0178')")
for con in uart virtio; do
	ptyrun --wait 'waitguest: ready' --act "send:$keys" --deadline 1 --timeout 20 --log "$tmp/log" -- \
		"$EMBER" run --kernel "$WAITGUEST" --console "$con"
	if [ "$(ptyget status)" = 0 ] && [ "$(ptyget termios)" = same ] &&
		grep -q 'ember: console: [0-9]* typed bytes dropped' "$tmp/log"; then
		ok "Ctrl-A x after 12000 keys the guest ($con) never reads: status 0 in $(ptyget after_act) s, $(grep -o '[0-9]* typed bytes dropped' "$tmp/log")"
	else
		bad "Ctrl-A x after 12000 unread keys ($con): $(tr '\n' ' ' <"$tmp/pty.report")"
	fi
done
