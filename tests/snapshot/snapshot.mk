# The snapshot tier (included by the top Makefile): snapshot and restore on
# /dev/kvm with the self-checking guest snapguest (tests/guest/snapguest.c):
# 20 random snapshot points restored in new processes, damaged snapshots,
# `ember snapshot` without a VM. See tests/snapshot/README.md.
#   make check-snapshot    tests/snapshot/run.sh

check-snapshot: $(B)/ember $(B)/tests/guest/snapguest.elf $(B)/tests/guest/exitguest.elf
	tests/snapshot/run.sh

.PHONY: check-snapshot
