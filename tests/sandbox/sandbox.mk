# The seccomp sandbox tier (tests/sandbox/run.sh): the production ember and
# a test build whose threads can be made to attempt a forbidden call
# (-DEMBER_SECCOMP_TEST; build/sectest, never installed). Command-line
# CFLAGS would replace the Makefile's, so they go in through the
# environment, without the parent make's variables.
ifeq ($(B),build)
build/sectest/ember: $(SRCS) $(wildcard src/*.h src/*/*.h) src/sandbox/policy.c src/sandbox/gen.c
	env -u MAKEFLAGS -u MAKELEVEL CFLAGS='-O2 -g -DEMBER_SECCOMP_TEST' \
		$(MAKE) -s B=build/sectest build/sectest/ember
endif

check-sandbox: $(B)/ember build/sectest/ember build/tests/guest/waitguest.elf
	tests/sandbox/run.sh

.PHONY: check-sandbox
