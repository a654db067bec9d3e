/* SPDX-License-Identifier: MIT */
/*
 * `ember jail ...`, and ember started as `jailer`: Firecracker's jailer
 * (v1.16) command line. Builds a chroot for one instance, joins cgroups and
 * a network namespace, sets resource limits, pivots into the chroot, drops
 * to the given uid/gid without any capability and executes the copied exec
 * file there.
 */
#ifndef EMBER_JAIL_H
#define EMBER_JAIL_H

/* The jailer's command line (argv[0] is "jail" or "jailer"). Returns the
 * exit status on failure (one line "ember: jail: <what>: <why>" printed),
 * or 0 in a parent that --daemonize or --new-pid-ns left behind; on
 * success in the jailed process it does not return (execve). */
int jail_main(int argc, char **argv);

#endif
