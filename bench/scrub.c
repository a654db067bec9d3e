// SPDX-License-Identifier: MIT
/*
 * bench/scrub MIB: fault in MIB MiB of fresh anonymous memory (transparent
 * huge pages where the kernel gives them) and free it again. The lab's boot
 * race runs it before every timed boot, whatever the VMM.
 *
 * Why: in the lab, L1 is emulated by QEMU's TCG, which translates the code
 * that L1's nested guests run. When a VM exits, its guest RAM returns to
 * L1's free lists, and the next process to allocate memory gets those very
 * pages back; its first write to each page makes TCG throw away the code it
 * translated there. Measured in L1: copying the minimal vmlinux (8.5 MiB)
 * into fresh memory took 9 ms, or 140-160 ms for the first process after a
 * VM exited (the processes after that one: 9 ms again). Whichever VMM came
 * next paid for the one before, at random. Nothing like it happens on
 * hardware, so the bench takes it out of every timed run alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char *end;
	unsigned long mib = argc == 2 ? strtoul(argv[1], &end, 10) : 0;
	size_t len, page = (size_t)sysconf(_SC_PAGESIZE);
	char *p;

	if (argc != 2 || *end || mib == 0 || mib > 65536) {
		fprintf(stderr, "usage: scrub MIB (1-65536)\n");
		return 2;
	}
	len = (size_t)mib << 20;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("scrub: mmap");
		return 1;
	}
	madvise(p, len, MADV_HUGEPAGE); /* advisory: 4 KiB pages do as well */
	for (size_t i = 0; i < len; i += page)
		p[i] = 1;
	munmap(p, len);
	return 0;
}
