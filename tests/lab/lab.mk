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
