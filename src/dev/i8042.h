/* SPDX-License-Identifier: MIT */
/*
 * The part of the i8042 keyboard controller a microVM needs: the command port
 * answers "nothing pending" (status 0, so Linux's controller probes return at
 * once instead of waiting ~130 ms each) and command 0xFE pulses the CPU reset
 * line, Linux's reboot=k path. There is no keyboard.
 */
#ifndef EMBER_DEV_I8042_H
#define EMBER_DEV_I8042_H

#include "bus.h"

#define I8042_CMD_RESET 0xfe

struct i8042 {
	void (*reset)(void *ctx); /* called on the reset command */
	void *ctx;
};

/* Register at PORT_I8042_DATA with length 5 (0x60-0x64): the device looks at
 * offsets 0 (data) and 4 (status/command) only. */
extern const struct bus_ops i8042_bus_ops;

#endif
