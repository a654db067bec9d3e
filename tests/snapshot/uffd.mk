# The example page-fault handler for the Uffd memory backend of snapshot
# restore (src/snapshot/uffd.h), included by the top Makefile:
#   make build/tests/snapshot/uffd_handler
# It needs only libc and json-c, so it does not take ember's -Isrc. The
# unit tests (tests/unit/test_uffd.c) run it, so both unit builds need it.

$(B)/tests/snapshot/uffd_handler: tests/snapshot/uffd_handler.c tests/snapshot/uffd.mk
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Isrc -MMD -MP,$(CFLAGS)) $(LDFLAGS) -o $@ $< $(LDLIBS)

$(B)/unit $(B)/unit-san: $(B)/tests/snapshot/uffd_handler
