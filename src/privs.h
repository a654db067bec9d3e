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

/*
 * A thread that waits on another while that one runs ember (main() on a
 * stack too small for ember): privs_follow_init() before starting the
 * other, privs_follow_wait() on the waiting thread returns once the other
 * dropped its capabilities (or called privs_follow_release(), as it ends),
 * having dropped the waiting thread's own. Returns privs_drop_caps()'s result.
 */
void privs_follow_init(void);
void privs_follow_release(void);
int privs_follow_wait(void);

#endif
