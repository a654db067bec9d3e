// SPDX-License-Identifier: MIT
#include "dev/i8042.h"

#include <string.h>

#define I8042_OFF_CMD 4

static void i8042_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	(void)opaque;
	(void)off;
	/* Status 0: output buffer empty, input buffer empty, no controller
	 * busy bit, so every probe and reset handshake ends immediately. */
	memset(data, 0, len);
}

static void i8042_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct i8042 *k = opaque;

	(void)len;
	if (off == I8042_OFF_CMD && data[0] == I8042_CMD_RESET && k->reset)
		k->reset(k->ctx);
}

const struct bus_ops i8042_bus_ops = {
	.name = "i8042",
	.read = i8042_read,
	.write = i8042_write,
};
