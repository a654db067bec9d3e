# The fault tier (included by the top Makefile): ember at the edges between
# it and its host: output, signals, special files, locks, resource limits,
# /dev/kvm. Each case in tests/fault/cases.d/ asserts the exit status, the
# one-line message, the restored terminal and that nothing is left behind.
#   make check-fault    every case (tests/fault/run.sh)

check-fault: $(B)/ember $(B)/firecracker $(GUEST_TEST_BINS)
	tests/fault/run.sh

.PHONY: check-fault
