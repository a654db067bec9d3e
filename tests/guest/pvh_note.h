/* SPDX-License-Identifier: MIT */
/*
 * The Xen PVH entry note (assembly only). Its section is allocated and the
 * linker script puts it in a PT_NOTE program header: a loader finds the
 * 32-bit physical entry there, not in e_entry.
 */
#ifndef TG_PVH_NOTE_H
#define TG_PVH_NOTE_H

#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* Emit the note; entry is the symbol of the 32-bit entry point. Assembler text: */
/* clang-format off */
#define PVH_NOTE(entry)                                        \
	.pushsection .note.xen, "a", @note;                    \
	.p2align 2;                                            \
	.long 4;                     /* namesz: "Xen\0" */     \
	.long 4;                     /* descsz: one u32 */     \
	.long XEN_ELFNOTE_PHYS32_ENTRY;                        \
	.asciz "Xen";                                          \
	.p2align 2;                                            \
	.long entry;                 /* physical entry */      \
	.popsection
/* clang-format on */

#endif
