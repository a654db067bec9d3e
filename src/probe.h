/* SPDX-License-Identifier: MIT */
/*
 * `ember probe`: how fast does this /dev/kvm run guests? Runs a counted loop
 * in a throwaway VM. Hardware virtualization finishes it in well under a
 * millisecond; an instruction emulator (such as the one on ember's
 * development machines) takes tens of milliseconds and cannot boot Linux.
 */
#ifndef EMBER_PROBE_H
#define EMBER_PROBE_H

#include <stdbool.h>

#define PROBE_LOOP_ITERATIONS 100000
/* Below this many guest instructions per second, call it emulation. */
#define PROBE_HW_MIPS 100.0

struct probe_result {
	double ms;   /* time inside KVM_RUN for the loop */
	double mips; /* millions of guest instructions per second */
	bool hardware;
};

/* Returns 0 or negative errno with a message. */
int probe_kvm(struct probe_result *res);

#endif
