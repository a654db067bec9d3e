// SPDX-License-Identifier: MIT
#include "snapshot/uffd.h"

#include <errno.h>

#include "util.h"

int uffd_attach(const struct guest_mem *gm, const char *sock_path, unsigned page_size)
{
	(void)gm;
	(void)page_size;
	return ember_seterr(-ENOTSUP, "mem_backend Uffd (%s): not built yet", sock_path);
}
