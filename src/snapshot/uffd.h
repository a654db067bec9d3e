/* SPDX-License-Identifier: MIT */
/*
 * The Uffd memory backend of snapshot restore (Firecracker's `mem_backend`
 * `backend_type` "Uffd"): guest RAM stays empty and a separate page-fault
 * handler process fills each page the first time anyone touches it, from a
 * snapshot memory file it reads however it likes.
 *
 * The protocol is Firecracker v1.16's (src/vmm/src/persist.rs,
 * guest_memory_from_uffd and send_uffd_handshake; docs/snapshotting/
 * handling-page-faults-on-snapshot-resume.md), so handlers written for
 * Firecracker serve ember unchanged:
 *
 *  - the VMM makes a userfaultfd, O_CLOEXEC | O_NONBLOCK, from
 *    /dev/userfaultfd if it exists (USERFAULTFD_IOC_NEW) or else from the
 *    userfaultfd(2) system call; never UFFD_USER_MODE_ONLY, because KVM
 *    touches guest RAM from the kernel;
 *  - UFFDIO_API with the feature UFFD_FEATURE_EVENT_REMOVE (a handler may
 *    see UFFD_EVENT_REMOVE when RAM is given back with MADV_DONTNEED);
 *  - each guest region registered with UFFDIO_REGISTER_MODE_MISSING;
 *  - a SOCK_STREAM connect() to the handler's Unix socket and one
 *    sendmsg() carrying the layout as JSON, with the userfaultfd attached
 *    to the same message as SCM_RIGHTS;
 *  - nothing comes back: the VMM waits for no answer and goes on
 *    restoring. It keeps the socket open while the VM lives (Firecracker
 *    never closes it), so that a handler can take the socket's hang-up to
 *    mean the VMM has gone and find the VMM's pid with SO_PEERCRED.
 *
 * The layout is a JSON array with one object per guest region, in the
 * order of the host mapping, each holding (all numbers in bytes):
 *
 *   base_host_virt_addr  where the region starts in the VMM's address space
 *   size                 the region's length
 *   offset               where its bytes start in the snapshot memory file
 *   page_size            the page a fault must be answered with (4096, or
 *                        2097152 for hugetlbfs RAM)
 *   page_size_kib        the same number again: Firecracker's deprecated
 *                        name for it, which it still sends (in bytes,
 *                        despite the name)
 *
 * for example, 256 MiB of RAM:
 *   [{"base_host_virt_addr":139637976727552,"size":268435456,"offset":0,
 *     "page_size":4096,"page_size_kib":4096}]
 *
 * If the handler dies, the next fault on a page it has not served blocks
 * the faulting thread for good: as in Firecracker, watching the handler is
 * the platform's job.
 */
#ifndef EMBER_SNAPSHOT_UFFD_H
#define EMBER_SNAPSHOT_UFFD_H

#include <stddef.h>

#include "guest_mem.h"

/* The largest layout message ember sends. Firecracker's example handlers
 * read the message with one 1024-byte recv(), so ember's must fit in it
 * (two regions take about 250 bytes). */
#define UFFD_LAYOUT_MAX 1024

/*
 * Serve guest RAM through a page-fault handler. gm must be freshly mapped
 * (anonymous, private, no page touched yet: a page already present never
 * faults, so the handler would never fill it) and its regions aligned to
 * page_size, which is GUEST_MEM_PAGE, or GUEST_MEM_HUGE for RAM from
 * guest_mem_map_hugetlb(). The memory file holds gm's bytes in host order:
 * region i's bytes start at offset regions[i].host - base.
 *
 * Creates the userfaultfd, registers every region, connects to the Unix
 * socket sock_path (a path, shorter than sun_path) and sends the layout
 * with the userfaultfd, as described above. Call it before anything reads
 * or writes gm.
 *
 * Returns the userfaultfd: keep it open while the VM lives. The socket to
 * the handler stays open until the process exits, as in Firecracker (its
 * handlers take the socket's hang-up for the VMM's exit; ember's example
 * handler stops then). On failure returns negative errno, with a message
 * naming the step and, where the host refuses userfaultfd, what to change;
 * nothing is left open and gm is an ordinary mapping again.
 */
int uffd_attach(const struct guest_mem *gm, const char *sock_path, unsigned page_size);

/* uffd_attach(), handing the connected socket to the caller in *sock_out
 * (required) instead: for a process that outlives its VM (tests, several
 * VMs in one process), which closes the socket with the userfaultfd. */
int uffd_attach_sock(const struct guest_mem *gm, const char *sock_path, unsigned page_size,
		     int *sock_out);

/*
 * The layout message for gm (pure): writes the JSON text, NUL-terminated,
 * to buf. Returns its length without the NUL, -EINVAL for a gm or
 * page_size uffd_attach() would refuse, or -ENOSPC when len is too small.
 */
int uffd_layout_json(const struct guest_mem *gm, unsigned page_size, char *buf, size_t len);

/*
 * The handshake alone, on an already connected stream socket: one message
 * with gm's layout and uffd attached (SCM_RIGHTS). Never raises SIGPIPE.
 * Returns 0 or negative errno with a message (-EPIPE or -ECONNRESET when
 * the handler has already closed its end).
 */
int uffd_send_layout(int sock, const struct guest_mem *gm, unsigned page_size, int uffd);

#endif
