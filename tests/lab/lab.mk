# The nested lab (included by the top Makefile); see tests/lab/README.md.
#   make check-lab (or: make lab)  every lab case in one L1 boot
#   make demo                      ember boots the guest Linux: directly when
#                                  /dev/kvm runs at hardware speed, else in L1

check-lab:
	tests/lab/run.sh

lab: check-lab

demo:
	scripts/demo.sh

.PHONY: check-lab lab demo
