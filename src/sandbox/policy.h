/* SPDX-License-Identifier: MIT */
/* The seccomp allow-lists, per kind of thread (build-time generator only). */
#ifndef EMBER_SANDBOX_POLICY_H
#define EMBER_SANDBOX_POLICY_H

#include <seccomp.h>
#include <stdbool.h>

#include "sandbox/kinds.h"

/* Add kind's rules to ctx (the sanitizer runtimes' needs too, when
 * sanitized). Returns 0 or a negative errno from libseccomp. */
int policy_add(scmp_filter_ctx ctx, enum sandbox_kind kind, bool sanitized);

#endif
