// SPDX-License-Identifier: MIT
#include "dev/acpi_pm.h"

#include <stdatomic.h>
#include <string.h>

void acpi_pm_init(struct acpi_pm *pm, const struct acpi_pm_callbacks *cb)
{
	memset(pm, 0, sizeof(*pm));
	if (cb)
		pm->cb = *cb;
	atomic_init(&pm->sts, 0);
}

static uint8_t pm_read_byte(struct acpi_pm *pm, uint64_t off)
{
	if (off == ACPI_PM_OFF_SLP_STS)
		return atomic_load(&pm->sts);
	return 0; /* SLP_EN is write-only; the reset register reads 0 */
}

static void sleep_control(struct acpi_pm *pm, uint8_t val)
{
	unsigned typ = (val & ACPI_PM_SLP_TYP_MASK) >> ACPI_PM_SLP_TYP_SHIFT;

	if (!(val & ACPI_PM_SLP_EN))
		return;
	if (typ == ACPI_PM_SLP_TYP_S5) {
		if (pm->cb.poweroff)
			pm->cb.poweroff(pm->cb.ctx);
		return;
	}
	/* A sleep state ember does not offer: wake at once. */
	atomic_fetch_or(&pm->sts, ACPI_PM_WAK_STS);
}

static void pm_write_byte(struct acpi_pm *pm, uint64_t off, uint8_t val)
{
	switch (off) {
	case ACPI_PM_OFF_SLP_CTL:
		sleep_control(pm, val);
		break;
	case ACPI_PM_OFF_SLP_STS:
		/* Write 1 to clear; the other bits are reserved. */
		atomic_fetch_and(&pm->sts, (uint8_t) ~(val & ACPI_PM_WAK_STS));
		break;
	case ACPI_PM_OFF_RESET:
		if (val == ACPI_PM_RESET_VALUE && pm->cb.reset)
			pm->cb.reset(pm->cb.ctx);
		break;
	}
}

static void pm_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		data[i] = pm_read_byte(opaque, off + i);
}

static void pm_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		pm_write_byte(opaque, off + i, data[i]);
}

const struct bus_ops acpi_pm_bus_ops = {
	.name = "acpi-pm",
	.read = pm_read,
	.write = pm_write,
};
