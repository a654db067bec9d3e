# ember build. `make` builds build/ember; `make check` runs every test tier.
# Sub-makefiles (*.mk) add guest artifacts, test guests, the lab and benchmarks.

CC      ?= cc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc -MMD -MP
# Static by default: no dynamic loader at start-up and only the libc pages
# ember uses stay resident (bench/: ~0.8 MiB peak RSS static vs ~1.5 MiB).
# `make LDFLAGS=` builds a dynamic binary.
LDFLAGS ?= -static
# zlib, liblzma, libzstd, liblz4, libbz2: bzImage payloads (src/boot/decompress.c);
# libxxhash: the kernel cache's keys and checks (src/boot/kcache.c).
LDLIBS  += -ljson-c -lz -llzma -lzstd -llz4 -lbz2 -lxxhash -lpthread
B       := build

.DEFAULT_GOAL := all

# The monitor's library sources (everything but the CLI).
LIB_SRCS :=
LIB_SRCS += src/util.c
LIB_SRCS += src/privs.c
LIB_SRCS += src/guest_mem.c
LIB_SRCS += src/bus.c
LIB_SRCS += src/cpuid.c
LIB_SRCS += src/vm.c
LIB_SRCS += src/board.c
LIB_SRCS += src/vcpu.c
LIB_SRCS += src/console.c
LIB_SRCS += src/console_out.c
LIB_SRCS += src/config.c
LIB_SRCS += src/trace.c
LIB_SRCS += src/probe.c
LIB_SRCS += src/boot/loader.c
LIB_SRCS += src/boot/elf.c
LIB_SRCS += src/boot/pvh.c
LIB_SRCS += src/boot/linux64.c
LIB_SRCS += src/boot/mptable.c
LIB_SRCS += src/boot/aml.c
LIB_SRCS += src/boot/acpi.c
LIB_SRCS += src/boot/cmdline.c
LIB_SRCS += src/dev/uart.c
LIB_SRCS += src/dev/ioapic.c
LIB_SRCS += src/dev/virtqueue.c
LIB_SRCS += src/dev/virtio_mmio.c
LIB_SRCS += src/dev/virtio_worker.c
LIB_SRCS += src/dev/rate_limiter.c
LIB_SRCS += src/dev/virtio_rng.c
LIB_SRCS += src/dev/disk_lock.c
LIB_SRCS += src/dev/virtio_blk.c
LIB_SRCS += src/dev/virtio_console.c
LIB_SRCS += src/dev/virtio_net.c
LIB_SRCS += src/dev/vsock_conn.c
LIB_SRCS += src/dev/virtio_vsock.c
LIB_SRCS += src/vm_virtio.c
LIB_SRCS += src/dev/cmos.c
LIB_SRCS += src/snapshot/snapfile.c
LIB_SRCS += src/snapshot/vcpu_state.c
LIB_SRCS += src/snapshot/snapconf.c
LIB_SRCS += src/snapshot/snapshot.c
LIB_SRCS += src/snapshot/uffd.c
LIB_SRCS += src/snapshot/snapcmd.c
LIB_SRCS += src/api/client.c
LIB_SRCS += src/dev/i8042.c
LIB_SRCS += src/dev/boot_marker.c
LIB_SRCS += src/dev/acpi_pm.c
LIB_SRCS += src/instance.c
LIB_SRCS += src/sandbox/sandbox.c
# The control plane last, after everything `ember run` executes: the link
# keeps the run path's code together, so its pages fault in fewer windows.
LIB_SRCS += src/api/http.c
LIB_SRCS += src/api/server.c
LIB_SRCS += src/api/json_strict.c
LIB_SRCS += src/api/fc_json.c
LIB_SRCS += src/api/fc_json_out.c
LIB_SRCS += src/api/logger.c
LIB_SRCS += src/api/metrics.c
LIB_SRCS += src/api/api.c
LIB_SRCS += src/api/fc_main.c
LIB_SRCS += src/jail.c
# Compressed kernels last of all: a vmlinux boot runs none of it but
# bzimage_parse()'s first check, and a bzImage boot pays its decompression
# anyway.
LIB_SRCS += src/boot/bzimage.c
LIB_SRCS += src/boot/decompress.c
LIB_SRCS += src/boot/kcache.c
LIB_SRCS += src/boot/unwrap.c

SRCS := $(LIB_SRCS) src/main.c
OBJS := $(SRCS:%.c=$(B)/%.o) $(B)/gen/sandbox_filters.o
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o)

all: $(B)/ember $(B)/firecracker $(B)/jailer

$(B)/ember: $(OBJS) Makefile
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LDLIBS)

# ember started as `firecracker` is ember's Firecracker front end.
$(B)/firecracker: $(B)/ember
	ln -sf ember $@

# ember started as `jailer` is Firecracker's jailer (ember jail).
$(B)/jailer: $(B)/ember
	ln -sf ember $@

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
install: $(B)/ember
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(B)/ember $(DESTDIR)$(BINDIR)/ember
	ln -sf ember $(DESTDIR)$(BINDIR)/firecracker
	ln -sf ember $(DESTDIR)$(BINDIR)/jailer

# The seccomp filters (src/sandbox/): a host tool compiles the allow-lists
# of src/sandbox/policy.c with libseccomp into BPF programs at build time,
# so ember carries them as data and links no libseccomp. A sanitizer build
# gets the lists with what its runtime needs; CFLAGS with
# -DEMBER_SECCOMP_AUDIT gets filters that log instead of trapping.
SANDBOX_GEN_FLAGS := $(if $(findstring -fsanitize,$(CFLAGS)),--sanitized) \
		     $(if $(findstring EMBER_SECCOMP_AUDIT,$(CFLAGS)),--audit)
$(B)/sandbox-gen: src/sandbox/gen.c src/sandbox/policy.c src/sandbox/policy.h \
		  src/sandbox/kinds.h
	@mkdir -p $(dir $@)
	$(CC) -O1 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc -o $@ \
		src/sandbox/gen.c src/sandbox/policy.c -lseccomp
$(B)/gen/sandbox_filters.c: $(B)/sandbox-gen
	@mkdir -p $(dir $@)
	$(B)/sandbox-gen $(SANDBOX_GEN_FLAGS) $@

$(B)/gen/sandbox_filters.o: $(B)/gen/sandbox_filters.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

-include $(OBJS:.o=.d)

include tests/unit/unit.mk
include tests/fuzz/fuzz.mk
-include tests/guest/guest.mk
include tests/api/api.mk
include tests/fault/fault.mk
-include tests/snapshot/snapshot.mk
-include guest/guest.mk
-include tests/lab/lab.mk
-include bench/bench.mk
-include tests/snapshot/uffd.mk
include tests/sandbox/sandbox.mk
-include tests/jail/jail.mk

deps:
	scripts/deps.sh

check:
	scripts/check.sh

format:
	clang-format -i $(shell find src tests/unit tests/guest bench -name '*.[ch]' 2>/dev/null)

clean:
	rm -rf $(B)

.PHONY: all check deps format clean install
