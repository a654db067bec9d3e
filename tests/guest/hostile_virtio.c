// SPDX-License-Identifier: MIT
#include "hostile.h"

void virtio_more_tests(void)
{
}
