/* SPDX-License-Identifier: MIT */
/* Builds synthetic bzImages for the tests: a payload compressed with each of
 * Debian's libraries, the way Linux's build does, behind a minimal setup
 * header. */
#ifndef EMBER_TEST_BZ_BUILDER_H
#define EMBER_TEST_BZ_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "boot/bzimage.h"

/* Compress in[0..len) as Linux's build would (format c; every format but
 * gzip gets Linux's 4-byte size trailer). Returns the length written to
 * out, 0 if it does not fit or the format has no compressor here. */
size_t bzb_compress(enum bz_comp c, const uint8_t *in, size_t len, uint8_t *out, size_t cap);

/* A bzImage (protocol 2.15, 1 setup sector, payload_offset 0x40) around
 * payload[0..plen) and 16 bytes of trailing code. Returns its length, 0 if
 * it does not fit in cap. */
size_t bzb_wrap(const uint8_t *payload, size_t plen, uint8_t *out, size_t cap);

#endif
