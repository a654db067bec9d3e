/* SPDX-License-Identifier: MIT */
/* Guest RAM served by a page-fault handler process (Firecracker's Uffd
 * backend). Placeholder until the backend lands: see uffd.c. */
#ifndef EMBER_SNAPSHOT_UFFD_H
#define EMBER_SNAPSHOT_UFFD_H

#include "guest_mem.h"

int uffd_attach(const struct guest_mem *gm, const char *sock_path, unsigned page_size);

#endif
