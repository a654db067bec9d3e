/* SPDX-License-Identifier: MIT */
/*
 * The kernel command line ember hands to Linux: the user's text with the
 * parameters ember adds for its devices (virtio_mmio.device=..., root=...).
 * Linux stops parsing kernel parameters at a standalone "--" and passes
 * what follows to init, so ember's words go before the first such "--"
 * (outside double quotes, as Linux's next_arg() reads them), else at the
 * end. Pure, for tests.
 */
#ifndef EMBER_BOOT_CMDLINE_H
#define EMBER_BOOT_CMDLINE_H

#include <stddef.h>

/* Offset of the first standalone "--" word outside double quotes (the
 * position of its first '-'), or strlen(s) when there is none. */
size_t cmdline_params_end(const char *s);

/* out = user with words (which start with a space) inserted before "--".
 * Returns the length written, or -E2BIG (out untouched) when it needs more
 * than cap - 1 bytes. */
int cmdline_compose(char *out, size_t cap, const char *user, const char *words);

#endif
