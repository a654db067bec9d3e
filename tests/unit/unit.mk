# Unit tests: no /dev/kvm needed. One binary, every suite, plus an
# ASan+UBSan build of the same (make check runs both).
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_LIB_SRCS := $(filter-out src/vm.c src/board.c src/instance.c src/api/fc_main.c src/probe.c src/vm_virtio.c src/dev/virtio_console.c src/snapshot/snapshot.c,$(LIB_SRCS))
UNIT_CFLAGS = -Itests/unit
# fail_malloc.c: tests make ember's malloc() fail on demand.
UNIT_LDFLAGS = -Wl,--wrap=malloc

$(B)/unit: $(UNIT_SRCS) $(UNIT_LIB_SRCS) $(B)/gen/sandbox_filters.c $(wildcard tests/unit/*.h src/*.h src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(UNIT_CFLAGS) $(UNIT_LDFLAGS) -o $@ $(UNIT_SRCS) $(UNIT_LIB_SRCS) $(B)/gen/sandbox_filters.c $(LDLIBS)

SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
$(B)/unit-san: $(UNIT_SRCS) $(UNIT_LIB_SRCS) $(B)/gen/sandbox_filters.c $(wildcard tests/unit/*.h src/*.h src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN_FLAGS) $(UNIT_CFLAGS) $(UNIT_LDFLAGS) -o $@ $(UNIT_SRCS) $(UNIT_LIB_SRCS) $(B)/gen/sandbox_filters.c $(LDLIBS)

check-unit: $(B)/unit
	$(B)/unit

check-sanitize: $(B)/unit-san
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(B)/unit-san

.PHONY: check-unit check-sanitize

# The ACPI tables through ACPICA's disassembler, compiler and interpreter
# (Debian's acpica-tools): tests/unit/acpi/iasl.sh.
ACPI_DUMP_SRCS := tests/unit/acpi/acpi_dump.c src/boot/acpi.c src/boot/aml.c src/util.c
$(B)/tests/acpi/acpi_dump: $(ACPI_DUMP_SRCS) $(wildcard src/*.h src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(ACPI_DUMP_SRCS) $(LDLIBS)

check-acpi-iasl: $(B)/tests/acpi/acpi_dump
	tests/unit/acpi/iasl.sh $(B)/tests/acpi/acpi_dump

.PHONY: check-acpi-iasl
