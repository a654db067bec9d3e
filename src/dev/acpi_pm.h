/* SPDX-License-Identifier: MIT */
/*
 * The hardware-reduced ACPI power-management registers (ACPI 6.4 section
 * 4.8.3.7, "Sleep Control and Status Registers", and 4.8.3.6, "Reset
 * Register"): how a guest powers the machine off or resets it without the
 * fixed PM1 blocks, SCI or GPEs of full ACPI. The FADT (boot/acpi.c) names
 * the three byte-wide I/O ports:
 *
 *   ACPI_PM_PORT + 0  SLEEP_CONTROL_REG: SLP_TYP in bits 4:2, SLP_EN bit 5.
 *                     Linux's acpi_hw_extended_sleep() writes
 *                     SLP_TYP << 2 | SLP_EN, so `poweroff` writes 0x34
 *                     (SLP_TYP 5, from the DSDT's \_S5_ package).
 *   ACPI_PM_PORT + 1  SLEEP_STATUS_REG: WAK_STS bit 7, write 1 to clear.
 *   ACPI_PM_PORT + 2  RESET_REG: ACPI_PM_RESET_VALUE resets the machine.
 *
 * S5 (SLP_EN with SLP_TYP 5) calls the poweroff callback: ember ends with
 * status 0, and the vCPU that wrote it never runs again. Another sleep type
 * with SLP_EN is a sleep that wakes at once: WAK_STS is set, which ends the
 * guest's wait for its wake-up (ember's DSDT offers no other sleep state, so
 * Linux never asks). The control and reset registers read 0.
 *
 * No snapshot state: WAK_STS is only ever set inside that no-op sleep.
 *
 * Thread-safe: vCPU threads may access the ports concurrently.
 */
#ifndef EMBER_DEV_ACPI_PM_H
#define EMBER_DEV_ACPI_PM_H

#include <stdint.h>

#include "bus.h"

/* 0x600: free in ember's port map (board.c) and in a PC's legacy ranges. */
#define ACPI_PM_PORT	    0x600
#define ACPI_PM_NPORTS	    3
#define ACPI_PM_OFF_SLP_CTL 0
#define ACPI_PM_OFF_SLP_STS 1
#define ACPI_PM_OFF_RESET   2

#define ACPI_PM_SLP_TYP_SHIFT 2
#define ACPI_PM_SLP_TYP_MASK  0x1c
#define ACPI_PM_SLP_EN	      0x20
#define ACPI_PM_WAK_STS	      0x80

/* The SLP_TYP value of S5 (soft off): the DSDT's \_S5_ package gives it to
 * the guest, and this device acts on it. */
#define ACPI_PM_SLP_TYP_S5 5
/* What the FADT's RESET_VALUE tells the guest to write to RESET_REG. */
#define ACPI_PM_RESET_VALUE 0x01

struct acpi_pm_callbacks {
	void (*poweroff)(void *ctx); /* the guest entered S5 */
	void (*reset)(void *ctx);    /* the guest wrote the reset value */
	void *ctx;
};

struct acpi_pm {
	struct acpi_pm_callbacks cb;
	_Atomic uint8_t sts; /* SLEEP_STATUS_REG */
};

/* Power-on state (WAK_STS clear). Callbacks may be NULL. Call before
 * registering the ports. */
void acpi_pm_init(struct acpi_pm *pm, const struct acpi_pm_callbacks *cb);

/* Register at ACPI_PM_PORT with length ACPI_PM_NPORTS. Each byte of a wider
 * access acts as a byte access to its port. */
extern const struct bus_ops acpi_pm_bus_ops;

#endif
