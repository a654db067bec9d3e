# libFuzzer harnesses (clang). `make fuzz` (or `make fuzz-run`) fuzzes each
# target for FUZZ_SECONDS, one after the other; `make fuzz-build` only
# builds them; `make check-fuzz` replays the committed corpus
# (seeds and every crash input kept as a regression test) under ASan/UBSan.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 120
FUZZ_FLAGS   := -g -O1 -std=gnu11 -D_GNU_SOURCE -Isrc -Itests/unit \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_TARGETS := elf pvh vq http fcjson api mmio blk net vsock vsockline snapfile bzimage
FUZZ_LIB_elf := src/boot/elf.c src/guest_mem.c src/util.c
FUZZ_LIB_pvh := src/boot/pvh.c src/boot/mptable.c src/guest_mem.c src/util.c
FUZZ_LIB_vq  := src/dev/virtqueue.c src/guest_mem.c src/util.c
FUZZ_LIB_http := src/api/http.c src/util.c
FUZZ_LIB_fcjson := src/api/fc_json.c src/api/fc_json_out.c src/api/json_strict.c src/util.c
# The file checks may only open the harness's scratch directory (fc_json.c).
FUZZ_CFLAGS_fcjson := -DFCJ_OPEN=fcj_fuzz_open
FUZZ_LDLIBS_fcjson := -ljson-c
# The API from request to configuration, over a VM-less instance.
FUZZ_LIB_api := src/api/api.c src/api/fc_json.c src/api/fc_json_out.c src/api/json_strict.c \
		src/api/logger.c src/api/metrics.c tests/unit/fake_instance.c src/config.c src/util.c
FUZZ_CFLAGS_api := -DFCJ_OPEN=fcj_fuzz_open
FUZZ_LDLIBS_api := -ljson-c -lpthread
# The virtio devices, through their MMIO registers and notify handlers, with
# a fake driver over fake guest RAM (tests/fuzz/vdrv.c).
FUZZ_VIRTIO := tests/fuzz/vdrv.c src/dev/virtio_mmio.c src/dev/virtqueue.c src/guest_mem.c \
		src/util.c src/snapshot/snapfile.c
FUZZ_LIB_mmio := $(FUZZ_VIRTIO)
# A device worker confines its thread (src/sandbox/): with the generated
# filters, though the harnesses start no worker thread.
FUZZ_WORKER := src/dev/virtio_worker.c src/sandbox/sandbox.c $(B)/gen/sandbox_filters.c
FUZZ_LIB_blk := $(FUZZ_VIRTIO) src/dev/virtio_blk.c src/dev/disk_lock.c src/dev/rate_limiter.c \
		$(FUZZ_WORKER) src/config.c
FUZZ_LIB_net := $(FUZZ_VIRTIO) src/dev/virtio_net.c src/dev/rate_limiter.c $(FUZZ_WORKER)
FUZZ_LIB_vsock := $(FUZZ_VIRTIO) src/dev/virtio_vsock.c src/dev/vsock_conn.c $(FUZZ_WORKER)
FUZZ_LIB_vsockline := src/dev/vsock_conn.c src/dev/virtqueue.c src/guest_mem.c src/util.c
# A snapshot state file: container, configuration, vCPU sections, devices.
FUZZ_LIB_snapfile := src/snapshot/snapfile.c src/snapshot/snapconf.c src/snapshot/vcpu_state.c \
		src/dev/uart.c src/dev/ioapic.c src/dev/i8042.c src/dev/cmos.c \
		src/dev/virtio_mmio.c src/dev/virtqueue.c src/guest_mem.c src/config.c src/util.c \
		tests/fuzz/fuzz_stubs_vcpu.c
FUZZ_LDLIBS_snapfile := -lz -lpthread
FUZZ_LDLIBS_mmio := -lz -lpthread
FUZZ_LDLIBS_blk := -lz -lpthread
FUZZ_LDLIBS_net := -lz -lpthread
FUZZ_LDLIBS_vsock := -lz -lpthread
# A bzImage: setup header, then its payload through every decompressor.
FUZZ_LIB_bzimage := src/boot/bzimage.c src/boot/decompress.c src/util.c
FUZZ_LDLIBS_bzimage := -lz -llzma -lzstd -llz4 -lbz2 -lpthread

define fuzz_rule
$(B)/fuzz/fuzz_$(1): tests/fuzz/fuzz_$(1).c $$(FUZZ_LIB_$(1)) \
		$(wildcard src/*.h src/*/*.h tests/fuzz/*.h)
	@mkdir -p $$(dir $$@)
	$$(FUZZ_CC) $$(FUZZ_FLAGS) $$(FUZZ_CFLAGS_$(1)) -o $$@ tests/fuzz/fuzz_$(1).c \
		$$(FUZZ_LIB_$(1)) $$(FUZZ_LDLIBS_$(1))
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rule,$(t))))

fuzz-build: $(FUZZ_TARGETS:%=$(B)/fuzz/fuzz_%)

# The device targets' inputs are programs: let them be long from the start.
FUZZ_PROGRAMS := mmio blk net vsock
fuzz fuzz-run: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(B)/fuzz/work-$$t; \
		case " $(FUZZ_PROGRAMS) " in *" $$t "*) opts="-max_len=4096 -len_control=0";; \
			*) opts=;; esac; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s (crashes land in tests/fuzz/corpus/$$t/)"; \
		$(B)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $$opts \
			-artifact_prefix=tests/fuzz/corpus/$$t/ \
			$(B)/fuzz/work-$$t tests/fuzz/corpus/$$t || exit 1; \
	done

check-fuzz: fuzz-build
	@pass=0; fail=0; for t in $(FUZZ_TARGETS); do \
		if $(B)/fuzz/fuzz_$$t -runs=0 tests/fuzz/corpus/$$t >$(B)/fuzz/replay-$$t.log 2>&1; then \
			pass=$$((pass + 1)); \
			echo "fuzz: $$t corpus replayed ($$(ls tests/fuzz/corpus/$$t | wc -l) inputs)"; \
		else \
			fail=$$((fail + 1)); tail -40 $(B)/fuzz/replay-$$t.log; \
			echo "fuzz: $$t corpus replay failed (log: $(B)/fuzz/replay-$$t.log)"; \
		fi; \
	done; echo "fuzz: $$pass passed, $$fail failed"; [ $$fail -eq 0 ]

fuzz-seeds: tests/fuzz/mkseeds.c tests/unit/elf_builder.c src/util.c
	@mkdir -p $(B) $(FUZZ_TARGETS:%=tests/fuzz/corpus/%)
	$(CC) $(CFLAGS) -Itests/unit -o $(B)/mkseeds $^
	$(B)/mkseeds tests/fuzz/corpus

.PHONY: fuzz fuzz-build fuzz-run check-fuzz fuzz-seeds
