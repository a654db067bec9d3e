# Benchmarks. Included by the top Makefile (-include bench/bench.mk).
# Builds:
#   build/bench/floor    the least a KVM monitor does (same flags as ember)
#   build/bench/measure  wall time + peak RSS of one command (static if possible)
#   build/bench/ablate   floor plus optional monitor steps, each timed (costs.sh)
# Targets:
#   bench-startup  bench/startup.sh: floor vs ember vs QEMU microvm start-up
#   bench-costs    bench/costs.sh: which monitor step costs what (ablate)
#   bench          every benchmark
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

-include $(BENCH_B)/floor.d $(BENCH_B)/measure.d $(BENCH_B)/ablate.d

BENCH_STARTUP_DEPS := $(B)/ember $(B)/tests/guest/exitguest.elf $(BENCH_B)/floor $(BENCH_B)/measure

bench-startup: $(BENCH_STARTUP_DEPS)
	BENCH_NO_BUILD=1 B=$(B) bench/startup.sh $(BENCH_ARGS)

bench-costs: $(BENCH_B)/ablate $(BENCH_B)/measure
	BENCH_NO_BUILD=1 B=$(B) bench/costs.sh $(BENCH_ARGS)

bench: bench-startup

.PHONY: bench bench-startup bench-costs
