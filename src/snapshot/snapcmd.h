/* SPDX-License-Identifier: MIT */
/* ember's snapshot commands (see snapcmd.c). Each returns an exit status and
 * prints its own one-line error. */
#ifndef EMBER_SNAPSHOT_SNAPCMD_H
#define EMBER_SNAPSHOT_SNAPCMD_H

#include "config.h"
#include "snapshot/snapshot.h"

extern const char snapcmd_restore_help[];

/* ember restore's options into p (and cfg's --boot-trace/--debug); 0, or
 * -EINVAL with a message. */
int snapcmd_parse_restore(int argc, char **argv, struct snapshot_load_params *p,
			  struct ember_config *cfg, const char **api_sock);
int snapcmd_snapshot(int argc, char **argv);
int snapcmd_merge(int argc, char **argv);

#endif
