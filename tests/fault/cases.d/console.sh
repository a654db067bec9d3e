# SPDX-License-Identifier: MIT
# Console input: Ctrl-A x ends ember whatever the guest does with its input.
# waitguest never reads its UART (nor a virtio console), so typed keys fill
# the device; the old ember then sat in a blocking feed and never saw the
# Ctrl-A x that followed.
keys=$(python3 -c "print('61' * 5000 + '0178')")
for con in uart virtio; do
	ptyrun --wait 'waitguest: ready' --act "send:$keys" --deadline 1 --timeout 20 -- \
		"$EMBER" run --kernel "$WAITGUEST" --console "$con"
	if [ "$(ptyget status)" = 0 ] && [ "$(ptyget termios)" = same ]; then
		ok "Ctrl-A x after 5000 keys the guest ($con) never reads: status 0 in $(ptyget after_act) s"
	else
		bad "Ctrl-A x after 5000 unread keys ($con): $(tr '\n' ' ' <"$tmp/pty.report")"
	fi
done
