// SPDX-License-Identifier: MIT
#include "boot/pvh.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>

#include "boot/layout.h"
#include "util.h"

#define PAGE_SIZE 4096ULL

struct map_builder {
	struct hvm_memmap_entry *map;
	unsigned n, max;
	bool full;
};

static void add_entry(struct map_builder *mb, uint64_t addr, uint64_t size, uint32_t type)
{
	if (size == 0)
		return;
	if (mb->n >= mb->max) {
		mb->full = true;
		return;
	}
	mb->map[mb->n++] = (struct hvm_memmap_entry){ .addr = addr, .size = size, .type = type };
}

int pvh_memmap(uint64_t mem_size, struct hvm_memmap_entry *map, unsigned max)
{
	uint64_t low = mem_size < LAYOUT_MMIO_START ? mem_size : LAYOUT_MMIO_START;
	struct map_builder mb = { .map = map, .max = max };

	if (mem_size < LAYOUT_MIN_MEMORY)
		return -EINVAL;
	/* Linux puts the AP real-mode trampoline in RAM below 1 MiB, and the
	 * legacy VGA/BIOS area must not be handed out as RAM. */
	add_entry(&mb, 0, LAYOUT_LEGACY_HOLE, E820_RAM);
	add_entry(&mb, LAYOUT_LEGACY_HOLE, LAYOUT_LEGACY_HOLE_END - LAYOUT_LEGACY_HOLE,
		  E820_RESERVED);
	add_entry(&mb, LAYOUT_LEGACY_HOLE_END, low - LAYOUT_LEGACY_HOLE_END, E820_RAM);
	/* The MMIO window holds the boot marker, virtio, IOAPIC and LAPIC:
	 * reserving it keeps the guest from placing PCI BARs or RAM there. */
	add_entry(&mb, LAYOUT_MMIO_START, LAYOUT_MMIO_END - LAYOUT_MMIO_START, E820_RESERVED);
	if (mem_size > low)
		add_entry(&mb, LAYOUT_HIGH_RAM, mem_size - low, E820_RAM);
	return mb.full ? -ENOSPC : (int)mb.n;
}

int pvh_place_initrd(uint64_t mem_size, uint64_t kernel_start, uint64_t kernel_end,
		     uint64_t size, uint64_t *gpa)
{
	uint64_t top = mem_size < LAYOUT_MMIO_START ? mem_size : LAYOUT_MMIO_START;
	uint64_t a;

	if (size == 0 || size > top)
		return -ENOSPC;
	/* First choice: the top of low RAM, as firmware and other VMMs do. */
	a = align_down_u64(top - size, PAGE_SIZE);
	if (a >= LAYOUT_LOW_RESERVED_END && !ranges_overlap(a, size, kernel_start,
							   kernel_end - kernel_start)) {
		*gpa = a;
		return 0;
	}
	/* Otherwise right below the kernel (and still below the top of low
	 * RAM: fuzzing found a kernel placed above it leading here). */
	a = kernel_start < top ? kernel_start : top;
	if (a >= size) {
		a = align_down_u64(a - size, PAGE_SIZE);
		if (a >= LAYOUT_LOW_RESERVED_END) {
			*gpa = a;
			return 0;
		}
	}
	return -ENOSPC;
}

/*
 * Flat 32-bit descriptors (Intel SDM vol. 3 5.2): base 0, limit 0xfffff with
 * G=1 (4 GiB), D/B=1. Code: type 0xb (exec/read, accessed). Data: type 0x3
 * (read/write, accessed). TSS: base 0, limit 0x67, type 0xb (busy 32-bit TSS),
 * as pvh.pandoc asks for TR.
 */
const uint64_t pvh_gdt[PVH_GDT_ENTRIES] = {
	0,
	0x00cf9b000000ffffULL,
	0x00cf93000000ffffULL,
	0x00008b0000000067ULL,
};

int pvh_boot_memmap(const struct guest_mem *gm, const char *cmdline, struct hvm_memmap_entry *map,
		    unsigned max)
{
	size_t cmdlen = strlen(cmdline);
	int n;

	if (cmdlen + 1 > LAYOUT_CMDLINE_MAX)
		return ember_seterr(-E2BIG, "command line is %zu bytes (at most %d)", cmdlen,
				    LAYOUT_CMDLINE_MAX - 1);
	n = pvh_memmap(gm->size, map, max);
	if (n < 0)
		return ember_seterr(n, "cannot build the memory map for %llu bytes of RAM",
				    (unsigned long long)gm->size);
	return n;
}

int pvh_write_boot_data(const struct guest_mem *gm, const struct pvh_boot *b)
{
	struct hvm_memmap_entry map[LAYOUT_MEMMAP_MAX];
	struct hvm_start_info si = {
		.magic = HVM_START_MAGIC,
		.version = 1,
		.cmdline_paddr = LAYOUT_CMDLINE,
		.rsdp_paddr = b->rsdp_paddr,
		.memmap_paddr = LAYOUT_MEMMAP,
	};
	size_t cmdlen = strlen(b->cmdline);
	int n = pvh_boot_memmap(gm, b->cmdline, map, ARRAY_SIZE(map)), err;

	if (n < 0)
		return n;
	si.memmap_entries = (uint32_t)n;
	if (b->has_initrd) {
		struct hvm_modlist_entry mod = { .paddr = b->initrd_gpa, .size = b->initrd_size };

		/* FreeBSD treats a non-zero modlist_paddr with no modules as
		 * fatal: set both only when there is a module. */
		si.nr_modules = 1;
		si.modlist_paddr = LAYOUT_MODLIST;
		err = guest_mem_write(gm, LAYOUT_MODLIST, &mod, sizeof(mod));
		if (err)
			return ember_seterr(err, "no room for the module list");
	}
	err = guest_mem_write(gm, LAYOUT_GDT, pvh_gdt, sizeof(pvh_gdt));
	if (!err)
		err = guest_mem_write(gm, LAYOUT_MEMMAP, map, (uint64_t)n * sizeof(map[0]));
	if (!err)
		err = guest_mem_write(gm, LAYOUT_CMDLINE, b->cmdline, cmdlen + 1);
	if (!err)
		err = guest_mem_write(gm, LAYOUT_START_INFO, &si, sizeof(si));
	if (err)
		return ember_seterr(err, "guest RAM too small for the boot data");
	return 0;
}

struct kvm_segment boot_flat_seg(uint16_t sel, uint8_t type, bool code64)
{
	return (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = sel,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = !code64,
		.s = 1,
		.l = code64,
		.g = 1,
	};
}

void pvh_boot_regs(uint32_t entry, struct kvm_regs *regs, struct kvm_sregs *sregs)
{
	memset(regs, 0, sizeof(*regs));
	regs->rflags = 0x2; /* bit 1 is reserved-one; IF, TF, VM clear */
	regs->rip = entry;
	regs->rbx = LAYOUT_START_INFO;

	sregs->cs = boot_flat_seg(PVH_SEL_CODE, 0xb, false);
	sregs->ds = boot_flat_seg(PVH_SEL_DATA, 0x3, false);
	sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;
	sregs->tr = (struct kvm_segment){
		.base = 0, .limit = 0x67, .selector = PVH_SEL_TSS, .type = 0xb, .present = 1,
	};
	sregs->gdt.base = LAYOUT_GDT;
	sregs->gdt.limit = sizeof(pvh_gdt) - 1;
	sregs->idt.base = 0;
	sregs->idt.limit = 0;
	sregs->cr0 = 0x11; /* PE | ET; paging off */
	sregs->cr3 = 0;
	sregs->cr4 = 0;
	sregs->efer = 0;
}
