/* SPDX-License-Identifier: MIT */
/* ember behind Firecracker's command line: `ember firecracker ARGS`, or
 * ember run as `firecracker ARGS` (a symlink). Returns the exit status. */
#ifndef EMBER_API_FC_MAIN_H
#define EMBER_API_FC_MAIN_H

int fc_main(int argc, char **argv);

#endif
