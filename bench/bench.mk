# Benchmarks. Included by the top Makefile (-include bench/bench.mk).
# Builds:
#   build/bench/floor    the least a KVM monitor does (same flags as ember)
#   build/bench/measure  wall time + peak RSS of one command (static if possible)
#   build/bench/ablate   floor plus optional monitor steps, each timed (costs.sh)
#   build/bench/vmwatch  starts N VMMs, timestamps a console line and the exit
#   build/bench/scrub    frees the lab of the previous VM's translated code (lab-boot.sh)
#   build/bench/snapready  starts N VMMs, probes their consoles, times each to a ready guest
#   build/bench/idleguest.elf  PVH guest that idles until console input
#   build/bench/initramfs-bench.cpio.gz  guest/'s initramfs + bench overlay
#                        (/benchinit: boot marker + console line; /bench-kernel-log)
# Targets:
#   bench-startup  bench/startup.sh: floor vs ember vs QEMU microvm start-up
#   bench-api      bench/api.sh: exec to API socket, InstanceStart to the guest, and
#                  ember run's start-up against a base revision
#   bench-costs    bench/costs.sh: which monitor step costs what (ablate)
#   bench-density  bench/density.sh: 50 idle guests at once on this /dev/kvm
#   bench-boot     bench/boot.sh: boot to user space, memory, density in the lab; its
#                  unwrap section: the stock kernel from its bzImage (issue 14)
#   bench-stock    bench/boot.sh --sections "boot unwrap", min kernel, 1 vCPU: the
#                  bzImage benchmark and the minimal kernel's boot race alone
#   bench-restore  bench/restore.sh: ember restore vs cold start-up on this /dev/kvm
#   bench-soak     bench/soak.sh: 10 minutes of guest blk, net and vsock under ASan+UBSan
#                  in the lab; sanitizer reports, fd and RSS growth (not in `make bench`)
#   bench-snapshot bench/snapshot.sh: restore vs cold boot, ember vs QEMU -incoming, and
#                  the memory of 10 clones, in the lab (issue 13)
#   bench-seccomp  bench/seccomp.sh: the seccomp filters on vs off (issue 15): start-up here,
#                  boot race and I/O in the lab, paired in one run (not in `make bench`)
#   bench-report   bench/report.sh: docs/benchmarks.md and docs/img/ from the above
#   bench          bench-startup, -api, -restore, -density, -boot, -snapshot, -report (about 25 minutes on 2 cores,
#                  plus any wait for the lab's lock)
# Benchmarks report; they never gate `make check`.

BENCH_B := $(B)/bench

$(BENCH_B)/floor: bench/floor.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

# Static, so the forked child's pre-exec copy of measure (which wait4's
# ru_maxrss includes) stays far below anything it measures.
$(BENCH_B)/measure: bench/measure.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ $< || $(CC) $(CFLAGS) -o $@ $<

$(BENCH_B)/ablate: bench/ablate.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< -lpthread

$(BENCH_B)/vmwatch: bench/vmwatch.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ $< || $(CC) $(CFLAGS) -o $@ $<

$(BENCH_B)/scrub: bench/scrub.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ $< || $(CC) $(CFLAGS) -o $@ $<

# Static: it runs in L1, whose initramfs has no libraries for it.
$(BENCH_B)/snapready: bench/snapready.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ $<

# The guest's rdinit: freestanding, no libc (a few KiB in the initramfs).
$(BENCH_B)/benchinit: bench/benchinit.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -nostdlib -ffreestanding -fno-stack-protector -fno-pie \
		-fno-asynchronous-unwind-tables -s -o $@ $<

# guest/'s initramfs with a second (gzip) cpio appended: the kernel unpacks
# both, so the guest gets /benchinit and /bench-kernel-log next to /init.
$(BENCH_B)/initramfs-bench.cpio.gz: $(LINUX_GUEST_OUT)/initramfs.cpio.gz $(BENCH_B)/benchinit \
		bench/kernel-log.sh
	@rm -rf $(BENCH_B)/overlay && mkdir -p $(BENCH_B)/overlay
	cp $(BENCH_B)/benchinit $(BENCH_B)/overlay/benchinit
	cp bench/kernel-log.sh $(BENCH_B)/overlay/bench-kernel-log
	(cd $(BENCH_B)/overlay && printf '%s\n' benchinit bench-kernel-log | \
		cpio -o -H newc --owner=0:0 --reproducible --quiet) | gzip -9n >$(BENCH_B)/overlay.cpio.gz
	cat $(LINUX_GUEST_OUT)/initramfs.cpio.gz $(BENCH_B)/overlay.cpio.gz >$@

$(BENCH_B)/apibench: bench/apibench.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<

$(BENCH_B)/markguest.o: bench/markguest.S
	@mkdir -p $(dir $@)
	$(TG_CC) $(TG_CFLAGS) -c -o $@ $<

$(BENCH_B)/markguest.elf: $(BENCH_B)/markguest.o $(TG_DIR)/guest.ld
	$(TG_CC) $(TG_LDFLAGS) -o $@ $<

$(BENCH_B)/idleguest.o: bench/idleguest.S
	@mkdir -p $(dir $@)
	$(TG_CC) $(TG_CFLAGS) -c -o $@ $<

$(BENCH_B)/idleguest.elf: $(BENCH_B)/idleguest.o $(TG_DIR)/guest.ld
	$(TG_CC) $(TG_LDFLAGS) -o $@ $<

-include $(BENCH_B)/floor.d $(BENCH_B)/measure.d $(BENCH_B)/ablate.d $(BENCH_B)/vmwatch.d \
	$(BENCH_B)/scrub.d $(BENCH_B)/benchinit.d $(BENCH_B)/idleguest.d $(BENCH_B)/apibench.d \
	$(BENCH_B)/markguest.d $(BENCH_B)/snapready.d

BENCH_STARTUP_DEPS := $(B)/ember $(B)/tests/guest/exitguest.elf $(BENCH_B)/floor $(BENCH_B)/measure

bench-startup: $(BENCH_STARTUP_DEPS)
	BENCH_NO_BUILD=1 B=$(B) bench/startup.sh $(BENCH_ARGS)

bench-costs: $(BENCH_B)/ablate $(BENCH_B)/measure
	BENCH_NO_BUILD=1 B=$(B) bench/costs.sh $(BENCH_ARGS)

bench-api: $(B)/ember $(BENCH_B)/apibench $(BENCH_B)/markguest.elf $(BENCH_B)/measure \
	   $(B)/tests/guest/exitguest.elf
	BENCH_NO_BUILD=1 B=$(B) bench/api.sh $(BENCH_ARGS)

bench-restore: $(B)/ember $(B)/tests/guest/exitguest.elf $(B)/tests/guest/waitguest.elf
	BENCH_NO_BUILD=1 B=$(B) bench/restore.sh $(BENCH_ARGS)

bench-density: $(B)/ember $(BENCH_B)/idleguest.elf $(BENCH_B)/vmwatch
	BENCH_NO_BUILD=1 B=$(B) bench/density.sh $(BENCH_ARGS)

# The lab builds what it boots itself (tests/lab/run.sh runs make).
bench-boot:
	B=$(B) bench/boot.sh $(BENCH_ARGS)

# The lab builds what it boots itself; snapshot.sh makes snapready and scrub.
bench-snapshot:
	B=$(B) bench/snapshot.sh $(BENCH_ARGS)

bench-report:
	B=$(B) bench/report.sh

# ember with ASan and UBSan for the soak, dynamic (the sanitizer runtimes
# need it): the lab copies it into L1 with its libraries.
$(B)/soak/ember-san: $(SRCS) $(wildcard src/*.h src/*/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(SAN_FLAGS) -o $@ $(SRCS) $(LDLIBS)

# Issue 14's benchmark with the boot race it must not slow down, without the
# rest of bench-boot (whose tables it replaces in $(BENCH_B)/boot.md); make
# bench runs both as part of bench-boot.
bench-stock:
	B=$(B) bench/boot.sh --kernels min --cpus 1 --sections "boot unwrap" $(BENCH_ARGS)

# Start-up on this /dev/kvm, then one lab run (which builds what it boots).
bench-seccomp: $(BENCH_STARTUP_DEPS)
	BENCH_NO_BUILD=1 B=$(B) bench/seccomp.sh $(BENCH_ARGS)
.PHONY: bench-seccomp

# The lab builds and stages it (tests/lab/cases.d/soak.host.sh).
bench-soak:
	B=$(B) bench/soak.sh $(BENCH_ARGS)
.PHONY: bench-soak

# One command for the whole suite; each part leaves its table in $(BENCH_B).
bench:
	$(MAKE) --no-print-directory bench-startup
	$(MAKE) --no-print-directory bench-api
	$(MAKE) --no-print-directory bench-restore
	$(MAKE) --no-print-directory bench-density
	$(MAKE) --no-print-directory bench-boot
	$(MAKE) --no-print-directory bench-snapshot
	$(MAKE) --no-print-directory bench-report

.PHONY: bench bench-restore bench-api bench-startup bench-costs bench-density bench-boot bench-stock bench-snapshot bench-report

# The virtqueue consumer path over a fake guest memory (issue 12): per-request
# cost of each device's request loop, for perf stat / callgrind before and after.
VQBENCH_SRCS := src/util.c src/guest_mem.c src/config.c src/dev/virtqueue.c src/dev/virtio_mmio.c src/dev/virtio_worker.c \
	src/dev/rate_limiter.c src/dev/disk_lock.c src/dev/virtio_blk.c src/dev/virtio_net.c src/dev/virtio_rng.c
$(BENCH_B)/vqbench: bench/vqbench.c $(VQBENCH_SRCS) $(wildcard src/*.h src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ bench/vqbench.c $(VQBENCH_SRCS) $(LDLIBS)
