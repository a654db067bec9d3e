/* SPDX-License-Identifier: MIT */
/*
 * Least privilege without a jailer (issue 15): what ember inherits and does
 * not need goes at once (file descriptors), what it needs only to set the VM
 * up goes before the VM runs (capabilities).
 */
#ifndef EMBER_PRIVS_H
#define EMBER_PRIVS_H

/*
 * Close every inherited file descriptor >= 3 except those the command line
 * names as /dev/fd/N or /proc/self/fd/N (a kernel, disk or file given by an
 * fd the caller opened). For the very start of main(), before anything opens.
 * Returns 0 or a negative errno with a message (ember_lasterr()).
 */
int privs_close_inherited_fds(int argc, char **argv);

/*
 * Drop every capability the calling thread holds: effective, permitted,
 * inheritable, ambient, and the bounding set when CAP_SETPCAP allows it.
 * One capget() and nothing else when it holds none (an unprivileged user).
 * Capabilities belong to threads: call it where no other thread runs yet
 * (vm_start(), before the vCPU and device threads), or on each thread.
 * Returns 0 or a negative errno with a message.
 */
int privs_drop_caps(void);

#endif
