/* SPDX-License-Identifier: MIT */
/*
 * seccomp confinement of ember's threads (docs/security.md). Each thread
 * installs the filter of its kind (src/sandbox/kinds.h) before it does
 * anything for the guest; a thread's filter is its own (no TSYNC), and a
 * thread started later by a filtered thread inherits that filter too.
 */
#ifndef EMBER_SANDBOX_H
#define EMBER_SANDBOX_H

#include <stdbool.h>

#include "sandbox/kinds.h"

/* Firecracker's exit status for a forbidden system call. */
#define EMBER_EXIT_SECCOMP 148

/*
 * Turn the filters on (the default) or off (--no-seccomp), once, on the
 * main thread before any other starts. on_fatal runs in the SIGSYS
 * handler before the process ends (async-signal-safe only: restoring the
 * terminal). Returns 0, or a negative errno when the host kernel cannot
 * filter (then the caller fails: ember never runs unconfined silently).
 */
int sandbox_configure(bool enabled, void (*on_fatal)(void));
bool sandbox_enabled(void);

/*
 * Confine the calling thread as `kind`. A no-op when the filters are off.
 * A filter that cannot be installed ends the process with one line, as a
 * violation does: a thread that cannot be confined must not run.
 */
void sandbox_enter(enum sandbox_kind kind);

/* The kind of a virtio device's worker, by the device's name ("blk"). */
enum sandbox_kind sandbox_device_kind(const char *dev_name);

#endif
