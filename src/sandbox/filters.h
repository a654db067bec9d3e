/* SPDX-License-Identifier: MIT */
/* The generated seccomp programs ($(B)/gen/sandbox_filters.c). */
#ifndef EMBER_SANDBOX_FILTERS_H
#define EMBER_SANDBOX_FILTERS_H

#include <linux/filter.h>

#include "sandbox/kinds.h"

#define SANDBOX_NSYSCALLS 512

struct sandbox_prog {
	const struct sock_filter *insns;
	unsigned short len;
};

extern const struct sandbox_prog sandbox_progs[SB_KINDS];
extern const char *const sandbox_syscall_names[SANDBOX_NSYSCALLS];

#endif
