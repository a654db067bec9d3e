/* SPDX-License-Identifier: MIT */
/* Builds small ELF files in memory for the loader tests and fuzz seeds. */
#ifndef EMBER_TEST_ELF_BUILDER_H
#define EMBER_TEST_ELF_BUILDER_H

#include <stddef.h>
#include <stdint.h>

struct eb_seg {
	uint32_t type; /* 1 PT_LOAD, 4 PT_NOTE */
	uint64_t paddr;
	uint64_t filesz; /* bytes of data (copied from data, or a pattern if NULL) */
	uint64_t memsz;
	const uint8_t *data;
};

/* ELF32 (bits 32) or ELF64 executable for x86: headers, then each segment's
 * data in order. Returns the file length; 0 if cap is too small. */
size_t eb_build(uint8_t *out, size_t cap, unsigned bits, const struct eb_seg *segs, unsigned n);

/* Append one note (name padded to 4, descriptor padded to 4) at out;
 * returns its length. */
size_t eb_note(uint8_t *out, const char *name, uint32_t type, const void *desc, uint32_t descsz);

/* Offset of program header i in a file built by eb_build. */
size_t eb_phdr_off(unsigned bits, unsigned i);

#endif
