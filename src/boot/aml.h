/* SPDX-License-Identifier: MIT */
/*
 * A small AML (ACPI Machine Language) encoder: the few terms a DSDT needs to
 * describe fixed devices (ACPI 6.4 section 20, "ACPI Machine Language
 * Specification"): Scope, Device, Name, integers, strings, EISA IDs,
 * packages and resource-template buffers (section 6.4, "Resource Data
 * Types").
 *
 * Pure: it writes into a caller's byte buffer and never allocates. Errors
 * are sticky: the first one (-ENOSPC when the buffer is full, -EINVAL for a
 * bad name or ID) is kept in `err` and every later call does nothing, so a
 * builder emits a whole table and checks once at the end.
 */
#ifndef EMBER_BOOT_AML_H
#define EMBER_BOOT_AML_H

#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *buf;
	size_t cap, len;
	int err; /* 0, or the first error */
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);

/*
 * Terms that carry a PkgLength (Scope, Device, Package) are opened and
 * closed: open returns a mark, and aml_close(mark) writes the length once
 * the body is known. Close in the reverse order of opening.
 */
size_t aml_scope_open(struct aml *a, const char *path);
size_t aml_device_open(struct aml *a, const char *path);
size_t aml_package_open(struct aml *a, uint8_t nelems);
void aml_close(struct aml *a, size_t mark);

/* NameOp and the name; the caller then emits one data object. */
void aml_name(struct aml *a, const char *path);
/* The shortest integer encoding (ZeroOp, OneOp, Byte/Word/DWord/QWordPrefix). */
void aml_integer(struct aml *a, uint64_t v);
/* A String object (printable ASCII only). */
void aml_string(struct aml *a, const char *s);
/* EisaId("PNP0501"): three upper-case letters and four hex digits, as the
 * compressed 32-bit EISA ID ASL's EisaId() makes. */
void aml_eisaid(struct aml *a, const char *id);
/* A Buffer object holding `n` bytes. */
void aml_buffer(struct aml *a, const uint8_t *bytes, size_t n);

/*
 * Resource templates (the bytes of a _CRS buffer): descriptors appended to a
 * small fixed array, then aml_res_end() adds the End Tag and the result goes
 * to aml_buffer(). Sticky errors as above.
 */
#define AML_RES_MAX 128

struct aml_res {
	uint8_t b[AML_RES_MAX];
	size_t len;
	int err;
};

/* Interrupt flags for aml_res_ext_irq() (section 6.4.3.6). */
#define AML_IRQ_CONSUMER   0x01
#define AML_IRQ_EDGE	   0x02
#define AML_IRQ_ACTIVE_LOW 0x04
#define AML_IRQ_SHARED	   0x08

void aml_res_init(struct aml_res *r);
/* IO (Decode16, base, base, 1, len): a fixed range of I/O ports. */
void aml_res_io(struct aml_res *r, uint16_t base, uint8_t len);
/* IRQNoFlags () {irq}: one ISA IRQ (0-15), edge, active high, exclusive. */
void aml_res_irq(struct aml_res *r, unsigned irq);
/* Memory32Fixed (ReadWrite, base, len). */
void aml_res_mem32(struct aml_res *r, uint32_t base, uint32_t len);
/* Interrupt (flags) {gsi}: one Extended Interrupt descriptor. */
void aml_res_ext_irq(struct aml_res *r, uint8_t flags, uint32_t gsi);
/* The End Tag (checksum byte 0: "treat as valid"). */
void aml_res_end(struct aml_res *r);

/* AML opcodes the tests and decoders look for. */
#define AML_ZERO_OP	  0x00
#define AML_ONE_OP	  0x01
#define AML_NAME_OP	  0x08
#define AML_BYTE_PREFIX	  0x0a
#define AML_WORD_PREFIX	  0x0b
#define AML_DWORD_PREFIX  0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX  0x0e
#define AML_SCOPE_OP	  0x10
#define AML_BUFFER_OP	  0x11
#define AML_PACKAGE_OP	  0x12
#define AML_EXT_OP	  0x5b
#define AML_DEVICE_OP	  0x82 /* after AML_EXT_OP */
#define AML_ROOT_CHAR	  0x5c
#define AML_DUAL_NAME	  0x2e
#define AML_MULTI_NAME	  0x2f

/* Decode the PkgLength at p (at most `avail` bytes): the length it encodes
 * and, in *nbytes, how many bytes it took; -1 if malformed. For tests and
 * tools reading AML back. */
long aml_pkglen_decode(const uint8_t *p, size_t avail, unsigned *nbytes);

#endif
