/* SPDX-License-Identifier: MIT */
/*
 * testguest: shared declarations.
 *
 * The guest runs in 32-bit protected mode with paging off, so a guest
 * physical address below 4 GiB is a plain pointer. Nothing from a libc is
 * available: only gcc's freestanding headers.
 */
#ifndef TG_H
#define TG_H

#include "boot_state.h"

#ifndef __ASSEMBLER__

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define GiB	      (1ULL << 30)
#define MiB	      (1ULL << 20)

static inline void outb(u16 port, u8 v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline u8 inb(u16 port)
{
	u8 v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void cpuid(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d)
{
	asm volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}

static inline void cpu_relax(void)
{
	asm volatile("pause" ::: "memory");
}

static inline u32 mmio_read32(u32 addr)
{
	return *(volatile u32 *)addr;
}

static inline void mmio_write32(u32 addr, u32 v)
{
	*(volatile u32 *)addr = v;
}

/* lib.c */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* The CPU state entry.S saved before touching anything. */
extern struct boot_state boot_state;

/* Linker script symbols: the whole loaded image, bss included. */
extern char _start[], _end[];

/* Half-open range overlap, in 64-bit so that ends up to 4 GiB fit. */
static inline bool ranges_overlap(u64 a, u64 alen, u64 b, u64 blen)
{
	return a < b + blen && b < a + alen;
}

/*
 * Reporting (testguest.c). Each check prints exactly one line: "ok NAME" or
 * "FAIL NAME: detail (got X want Y)". pass() returns 0, fail() returns -1 so
 * a check can end with `return fail(...)`. fail() prints values in hex,
 * fail_dec() in decimal.
 */
int pass(const char *name);
int pass_n(const char *name, u32 n);
int fail(const char *name, const char *detail, u64 got, u64 want);
int fail_dec(const char *name, const char *detail, u32 got, u32 want);
/* "FAIL NAME: DETAILKEY (...)" for a tg.* key whose value does not parse. */
int fail_key(const char *name, const char *detail, const char *key);
/* As fail(), with "entry IDX " before the detail: for table entries. */
int fail_idx(const char *name, u32 idx, const char *detail, u64 got, u64 want);

/*
 * Values the host passed on the command line as tg.KEY=VALUE (bootinfo.c).
 * All but mem are at most 32 bits wide (the parser enforces it).
 */
struct tg_args {
	bool have_mem, have_cpus, have_cmdline_len, have_initrd_size, have_initrd_sum;
	u64 mem;
	u64 cpus;
	u64 cmdline_len;
	u64 initrd_size;
	u64 initrd_sum;
};

/* Filled by check_start_info(); NULL when start_info is unusable. */
struct hvm_start_info;
extern const struct hvm_start_info *start_info;
extern struct tg_args args;

/* cpu.c: initial state and CPUID. */
/* Every exception to entry.S's stubs, then tg_exception() (lib.c). */
void tg_setup_idt(void);
void cpu_checks(void);

/* bootinfo.c: start_info, memory map, command line, initrd, ember layout. */
void bootinfo_checks(void);
/* ACPI tables (acpi.c); sets acpi_sleep_port for tg_finish(). */
int acpi_checks(void);
extern u16 acpi_sleep_port;
bool bootinfo_range_is_free(u64 addr, u64 len);

/*
 * highmem.c: write a pattern to the u32 at a physical address at or above
 * 4 GiB through PAE paging, read it back into *got, restore the old value.
 */
bool highmem_rw(u64 paddr, u32 pattern, u32 *got);

/* smp.c: MP table and starting the APs. */
void smp_checks(void);

/* Exception report from the entry.S stubs; never returns. */
struct exc_frame {
	u32 vector, error, eip, cs, eflags;
};
void tg_exception(struct exc_frame *f);
void tg_finish(void) __attribute__((noreturn));

#endif /* __ASSEMBLER__ */
#endif
