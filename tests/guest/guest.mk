# Test guests: freestanding 32-bit PVH ELFs linked at 1 MiB (tests/guest/guest.ld).
# Included by the top Makefile. Builds:
#   build/tests/guest/testguest.elf  boot-protocol checks, reported on the UART
#   build/tests/guest/exitguest.elf  exits at once (start-up benchmarks)
#   build/tests/guest/hostileguest.elf  a hostile driver of every device (hostile*.c)
#   build/tests/guest/waitguest.elf  waits for Ctrl-Alt-Del, then resets (waitguest.c)
#   build/tests/guest/floodguest.elf  prints as fast as it can, forever (floodguest.c)
#   build/tests/guest/snapguest.elf  self-checking work for the snapshot suite (snapguest.c)
# Targets: test-guests (the ELFs), check-guest (tests/guest/run.sh on /dev/kvm).

TG_DIR := tests/guest
TG_B   := $(B)/tests/guest

# Own flags: these are guest binaries, not host objects (never $(CFLAGS)).
TG_CC      := $(CC)
TG_CFLAGS  := -m32 -march=i686 -mgeneral-regs-only -O2 -g -std=gnu11 \
	      -ffreestanding -fno-pic -fno-stack-protector -fno-builtin \
	      -fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns \
	      -fno-delete-null-pointer-checks \
	      -Wall -Wextra -Werror -Isrc -I$(TG_DIR) -MMD -MP
TG_LDFLAGS := -m32 -nostdlib -static -no-pie -Wl,--build-id=none -Wl,--no-warn-rwx-segments -Wl,-T,$(TG_DIR)/guest.ld

TG_TESTGUEST_SRCS := entry.S trampoline.S testguest.c uart.c lib.c cpu.c bootinfo.c \
		     highmem.c smp.c acpi.c
TG_TESTGUEST_OBJS := $(addprefix $(TG_B)/,$(addsuffix .o,$(basename $(TG_TESTGUEST_SRCS))))
TG_EXITGUEST_OBJS := $(TG_B)/exitguest.o
TG_HOSTILE_SRCS := entry.S hostile.c hostile_legacy.c hostile_virtio.c uart.c lib.c
TG_HOSTILE_OBJS := $(addprefix $(TG_B)/,$(addsuffix .o,$(basename $(TG_HOSTILE_SRCS))))
TG_WAITGUEST_SRCS := entry.S waitguest.c uart.c lib.c
TG_WAITGUEST_OBJS := $(addprefix $(TG_B)/,$(addsuffix .o,$(basename $(TG_WAITGUEST_SRCS))))
TG_FLOODGUEST_SRCS := entry.S floodguest.c uart.c lib.c
TG_FLOODGUEST_OBJS := $(addprefix $(TG_B)/,$(addsuffix .o,$(basename $(TG_FLOODGUEST_SRCS))))
TG_OBJS := $(TG_TESTGUEST_OBJS) $(TG_EXITGUEST_OBJS) $(TG_HOSTILE_OBJS) $(TG_B)/waitguest.o \
	   $(TG_B)/floodguest.o

GUEST_TEST_BINS := $(TG_B)/testguest.elf $(TG_B)/exitguest.elf $(TG_B)/hostileguest.elf \
		   $(TG_B)/waitguest.elf $(TG_B)/floodguest.elf

# Static pattern rules, so the top Makefile's $(B)/%.o: %.c never applies here.
$(filter %.o,$(patsubst %.c,$(TG_B)/%.o,$(filter %.c,$(TG_TESTGUEST_SRCS)) hostile.c hostile_legacy.c \
		hostile_virtio.c waitguest.c floodguest.c)): \
		$(TG_B)/%.o: $(TG_DIR)/%.c
	@mkdir -p $(dir $@)
	$(TG_CC) $(TG_CFLAGS) -c -o $@ $<

$(patsubst %.S,$(TG_B)/%.o,$(filter %.S,$(TG_TESTGUEST_SRCS)) exitguest.S): \
		$(TG_B)/%.o: $(TG_DIR)/%.S
	@mkdir -p $(dir $@)
	$(TG_CC) $(TG_CFLAGS) -c -o $@ $<

$(TG_B)/testguest.elf: $(TG_TESTGUEST_OBJS) $(TG_DIR)/guest.ld
	$(TG_CC) $(TG_LDFLAGS) -o $@ $(TG_TESTGUEST_OBJS)

$(TG_B)/exitguest.elf: $(TG_EXITGUEST_OBJS) $(TG_DIR)/guest.ld
	$(TG_CC) $(TG_LDFLAGS) -o $@ $(TG_EXITGUEST_OBJS)

$(TG_B)/hostileguest.elf: $(TG_HOSTILE_OBJS) $(TG_DIR)/guest.ld
	$(TG_CC) $(TG_LDFLAGS) -o $@ $(TG_HOSTILE_OBJS)

$(TG_B)/waitguest.elf: $(TG_WAITGUEST_OBJS) $(TG_DIR)/guest.ld
	$(TG_CC) $(TG_LDFLAGS) -o $@ $(TG_WAITGUEST_OBJS)

$(TG_B)/floodguest.elf: $(TG_FLOODGUEST_OBJS) $(TG_DIR)/guest.ld
	$(TG_CC) $(TG_LDFLAGS) -o $@ $(TG_FLOODGUEST_OBJS)

# snapguest: the snapshot suite's guest (tests/snapshot/); its own rules, so
# the lists above stay as they are.
TG_SNAPGUEST_SRCS := entry.S snaptramp.S snapguest.c uart.c lib.c
TG_SNAPGUEST_OBJS := $(addprefix $(TG_B)/,$(addsuffix .o,$(basename $(TG_SNAPGUEST_SRCS))))
TG_OBJS += $(TG_B)/snapguest.o $(TG_B)/snaptramp.o
GUEST_TEST_BINS += $(TG_B)/snapguest.elf

$(TG_B)/snapguest.o: $(TG_B)/%.o: $(TG_DIR)/%.c
	@mkdir -p $(dir $@)
	$(TG_CC) $(TG_CFLAGS) -c -o $@ $<

$(TG_B)/snaptramp.o: $(TG_B)/%.o: $(TG_DIR)/%.S
	@mkdir -p $(dir $@)
	$(TG_CC) $(TG_CFLAGS) -c -o $@ $<

$(TG_B)/snapguest.elf: $(TG_SNAPGUEST_OBJS) $(TG_DIR)/guest.ld
	$(TG_CC) $(TG_LDFLAGS) -o $@ $(TG_SNAPGUEST_OBJS)

-include $(TG_OBJS:.o=.d)

# lx64guest: an ELF64 without a PVH note, for the Linux 64-bit boot protocol;
# relocguest: a position-independent PVH guest with a PHYS32_RELOC note.
GUEST_TEST_BINS += $(TG_B)/lx64guest.elf $(TG_B)/relocguest.elf

$(TG_B)/lx64guest.o: $(TG_DIR)/lx64guest.S
	@mkdir -p $(dir $@)
	$(TG_CC) -m64 -c -o $@ $<

$(TG_B)/lx64guest.elf: $(TG_B)/lx64guest.o $(TG_DIR)/guest64.ld
	$(TG_CC) -m64 -nostdlib -static -no-pie -Wl,--build-id=none -Wl,--no-warn-rwx-segments \
		-Wl,-T,$(TG_DIR)/guest64.ld -o $@ $<

$(TG_B)/relocguest.o: $(TG_DIR)/relocguest.S $(TG_DIR)/pvh_note.h
	@mkdir -p $(dir $@)
	$(TG_CC) $(TG_CFLAGS) -c -o $@ $<

$(TG_B)/relocguest.elf: $(TG_B)/relocguest.o $(TG_DIR)/guest.ld
	$(TG_CC) $(TG_LDFLAGS) -o $@ $<

test-guests: $(GUEST_TEST_BINS)

# Plain `make` builds the guests too (harmless if the top Makefile adds it as well).
all: test-guests

check-guest: $(B)/ember $(GUEST_TEST_BINS)
	$(TG_DIR)/run.sh

.PHONY: test-guests check-guest

