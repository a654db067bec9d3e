# The nested lab (included by the top Makefile); see tests/lab/README.md.
#   make check-lab (or: make lab)  the lab's own logic against a fake L1
#                                  (selftest.sh, ~1 min), then every lab case
#   make demo                      ember boots the guest Linux: directly when
#                                  /dev/kvm runs at hardware speed, else in L1

check-lab:
	tests/lab/selftest.sh
	tests/lab/run.sh

lab: check-lab

demo:
	scripts/demo.sh

.PHONY: check-lab lab demo

# The lab's device, API and snapshot cases again, every VM inside
# `ember jail` (LAB_JAIL=1, tests/lab/jailed.sh): issue 15's "the whole VM
# works inside the sandbox".
LAB_JAILED_CASES := blk-ext4-rw blk-ro blk-sigkill-after-sync blk-root net-ping net-tcp \
	net-tcp-rx vsock-host-to-guest vsock-guest-to-host rng-hwrng console-virtio-output \
	console-virtio-shell api-boot-devices api-pause-transfer api-drive-swap api-rate-limit \
	api-ctrl-alt-del snapshot-restore-cli snapshot-restore-api snapshot-clones snapshot-diff \
	snapshot-session

check-lab-jailed:
	LAB_JAIL=1 tests/lab/run.sh $(LAB_JAILED_CASES)

.PHONY: check-lab-jailed
