# The API tier (included by the top Makefile): Firecracker's REST API driven
# the way its users drive it, on /dev/kvm. See tests/api/README.md.
#   make check-api    every scenario (tests/api/run.sh)

check-api: $(B)/ember $(B)/firecracker $(B)/tests/guest/waitguest.elf
	tests/api/run.sh

.PHONY: check-api
