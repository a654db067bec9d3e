# The jail tier (included by the top Makefile): `ember jail`, Firecracker's
# jailer, as root on /dev/kvm with the host's cgroups (tests/jail/run.sh).
#   make check-jail

check-jail: $(B)/ember $(B)/firecracker $(B)/jailer $(B)/tests/guest/waitguest.elf \
	    $(B)/tests/guest/testguest.elf
	tests/jail/run.sh

.PHONY: check-jail
