# The example page-fault handler for the Uffd memory backend of snapshot
# restore (src/snapshot/uffd.h), included by the top Makefile:
#   make build/tests/snapshot/uffd_handler
# It needs only libc and json-c, so it does not take ember's -Isrc. The
# unit tests (tests/unit/test_uffd.c) run it, so both unit builds need it.

$(B)/tests/snapshot/uffd_handler: tests/snapshot/uffd_handler.c tests/snapshot/uffd.mk
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Isrc -MMD -MP,$(CFLAGS)) $(LDFLAGS) -o $@ $< $(LDLIBS)

$(B)/unit $(B)/unit-san: $(B)/tests/snapshot/uffd_handler

# The backend end to end on /dev/kvm: snapshot waitguest, restore it with
# its RAM served by uffd_handler (tests/snapshot/uffd_restore.sh).
check-uffd-restore: $(B)/ember $(B)/tests/snapshot/uffd_handler $(B)/tests/guest/waitguest.elf
	tests/snapshot/uffd_restore.sh

.PHONY: check-uffd-restore
