// SPDX-License-Identifier: MIT
#include "boot/linux64.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>

#include "boot/layout.h"
#include "boot/pvh.h"
#include "util.h"

#define PAGE_SIZE  4096ULL
#define PTE_P	   0x1ULL
#define PTE_RW	   0x2ULL
#define PTE_PS	   0x80ULL /* 2 MiB page in a page directory entry */
#define IDMAP_GIBS 4

/*
 * GDT for the protocol: selectors 0x10 and 0x18 (__BOOT_CS, __BOOT_DS),
 * flat. Code: 64-bit (L=1, D=0), type 0xb; data: type 0x3. Entry 1 stays
 * null, as in Linux's own boot GDT.
 */
static const uint64_t linux64_gdt[] = {
	0,
	0,
	0x00af9b000000ffffULL,
	0x00cf93000000ffffULL,
};

/* PML4[0] -> PDPT; PDPT[0..3] -> four page directories of 512 2 MiB pages:
 * an identity map of the first 4 GiB, which covers the kernel, the zero
 * page, the command line and the initrd, as the protocol asks. */
static int write_page_tables(const struct guest_mem *gm)
{
	uint8_t pd[PAGE_SIZE];
	uint64_t e = LAYOUT_PDPT | PTE_P | PTE_RW;
	int err = guest_mem_write(gm, LAYOUT_PML4, &e, sizeof(e));

	for (unsigned g = 0; g < IDMAP_GIBS && !err; g++) {
		e = (LAYOUT_PD + g * PAGE_SIZE) | PTE_P | PTE_RW;
		err = guest_mem_write(gm, LAYOUT_PDPT + g * 8, &e, sizeof(e));
		for (unsigned i = 0; i < 512; i++)
			put_le64(pd + i * 8,
				 ((uint64_t)g << 30 | (uint64_t)i << 21) | PTE_P | PTE_RW | PTE_PS);
		if (!err)
			err = guest_mem_write(gm, LAYOUT_PD + g * PAGE_SIZE, pd, sizeof(pd));
	}
	return err;
}

int linux64_write_boot_data(const struct guest_mem *gm, const struct linux64_boot *b)
{
	struct hvm_memmap_entry map[BP_E820_MAX];
	uint8_t zp[BP_SIZE] = { 0 };
	size_t cmdlen = strlen(b->cmdline);
	int n = pvh_boot_memmap(gm, b->cmdline, map, ARRAY_SIZE(map)), err;

	if (n < 0)
		return n;
	zp[BP_E820_ENTRIES] = (uint8_t)n;
	for (int i = 0; i < n; i++) {
		uint8_t *e = zp + BP_E820_TABLE + i * 20;

		put_le64(e, map[i].addr);
		put_le64(e + 8, map[i].size);
		put_le32(e + 16, map[i].type);
	}
	/* The setup header as a boot loader fills it for a kernel it did not
	 * read one from: the fields Linux reads on this path. */
	put_le16(zp + BP_BOOT_FLAG, 0xAA55);
	put_le32(zp + BP_HEADER, BP_HDRS_MAGIC);
	put_le16(zp + BP_VERSION, BP_PROTOCOL);
	zp[BP_TYPE_OF_LOADER] = BP_LOADER_TYPE;
	zp[BP_LOADFLAGS] = 0x01; /* LOADED_HIGH: the kernel is at 1 MiB or above */
	put_le32(zp + BP_CMD_LINE_PTR, (uint32_t)LAYOUT_CMDLINE);
	put_le32(zp + BP_CMDLINE_SIZE, LAYOUT_CMDLINE_MAX - 1);
	put_le32(zp + BP_INITRD_MAX, 0xffffffffu);
	put_le32(zp + BP_KERNEL_ALIGN, 0x1000000u);
	if (b->initrd_size) {
		put_le32(zp + BP_RAMDISK_IMAGE, (uint32_t)b->initrd_gpa);
		put_le32(zp + BP_RAMDISK_SIZE, (uint32_t)b->initrd_size);
		put_le32(zp + BP_EXT_RAMDISK_IMG, (uint32_t)(b->initrd_gpa >> 32));
		put_le32(zp + BP_EXT_RAMDISK_SZ, (uint32_t)(b->initrd_size >> 32));
	}
	put_le64(zp + BP_ACPI_RSDP, b->rsdp_paddr);

	err = guest_mem_write(gm, LAYOUT_GDT, linux64_gdt, sizeof(linux64_gdt));
	if (!err)
		err = write_page_tables(gm);
	if (!err)
		err = guest_mem_write(gm, LAYOUT_CMDLINE, b->cmdline, cmdlen + 1);
	if (!err)
		err = guest_mem_write(gm, LAYOUT_ZERO_PAGE, zp, sizeof(zp));
	if (err)
		return ember_seterr(err, "guest RAM too small for the boot data");
	return 0;
}

void linux64_boot_regs(uint64_t entry, struct kvm_regs *regs, struct kvm_sregs *sregs)
{
	memset(regs, 0, sizeof(*regs));
	regs->rflags = 0x2; /* IF clear: interrupts off */
	regs->rip = entry;
	regs->rsi = LAYOUT_ZERO_PAGE;

	sregs->cs = boot_flat_seg(LINUX64_SEL_CODE, 0xb, true);
	sregs->ds = boot_flat_seg(LINUX64_SEL_DATA, 0x3, false);
	sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;
	sregs->tr = (struct kvm_segment){
		.base = 0,
		.limit = 0x67,
		.type = 0xb,
		.present = 1,
	};
	sregs->gdt.base = LAYOUT_GDT;
	sregs->gdt.limit = sizeof(linux64_gdt) - 1;
	sregs->idt.base = 0;
	sregs->idt.limit = 0;
	sregs->cr3 = LAYOUT_PML4;
	sregs->cr4 = 0x20;	 /* PAE */
	sregs->cr0 = 0x80000011; /* PG | ET | PE */
	sregs->efer = 0x500;	 /* LMA | LME */
}
