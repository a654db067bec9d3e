// SPDX-License-Identifier: MIT
/* Writes the fuzzers' seed corpus (run by `make fuzz-seeds`; the output is
 * committed under tests/fuzz/corpus/). */
#include <stdio.h>
#include <string.h>

#include "boot/elf.h"
#include "elf_builder.h"
#include "util.h"

static uint8_t buf[8192];

static void save(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(p, 1, n, f) != n) {
		perror(path);
		return;
	}
	fclose(f);
}

static size_t kernel(unsigned bits, uint32_t descsz)
{
	uint8_t notes[128], e[8] = { 0 };
	size_t nl;

	put_le32(e, 0x1000000);
	nl = eb_note(notes, "GNU", 3, "12345678", 8);
	nl += eb_note(notes + nl, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, e, descsz);
	struct eb_seg segs[] = {
		{ 1, 0x1000000, 64, 0x1000, NULL },
		{ 1, 0x1200000, 32, 32, NULL },
		{ 4, 0, nl, nl, notes },
	};
	return eb_build(buf, sizeof(buf), bits, segs, 3);
}

/* The device fuzzers' inputs are programs (see each harness): a seed is a
 * short, commented hex string, spaces ignored. */
static void save_hex(const char *dir, const char *name, const char *hex)
{
	static uint8_t out[4096];
	char path[256];
	size_t n = 0;

	for (const char *p = hex; p[0] && p[1] && n < sizeof(out); p++) {
		unsigned b;

		if (p[0] == ' ')
			continue;
		if (sscanf(p, "%2x", &b) != 1)
			break;
		out[n++] = (uint8_t)b;
		p++;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	save(path, out, n);
}

/* A pseudo-random program, for the targets whose ops are all one byte
 * plus arguments. */
static void save_rand(const char *dir, const char *name, uint32_t seed, size_t n)
{
	static uint8_t out[4096];
	char path[256];

	for (size_t i = 0; i < n && i < sizeof(out); i++) {
		seed = seed * 1103515245u + 12345u;
		out[i] = (uint8_t)(seed >> 16);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	save(path, out, n < sizeof(out) ? n : sizeof(out));
}

static void device_seeds(const char *dir)
{
	char d[256];

	/* blk: rw writeback disk of 128 sectors, queue of 16; OUT 2 sectors at
	 * 5 (header and data split), IN them back (data, status), GET_ID,
	 * FLUSH, DISCARD 3 at 2, WRITE_ZEROES (unmap) 3 at 2, notifying
	 * between; a config read; then a reset and the same on 4 slots. */
	snprintf(d, sizeof(d), "%s/blk", dir);
	save_hex(d, "rw-sequence",
		 "02 04 00"
		 " 00 01 02 05 00000000 01 00 0f00 000000 04"
		 " 00 00 02 05 00000000 04 00 ff03 000000 04"
		 " 00 03 01 00 00000000 00 00 00 00"
		 " 00 02 00 00 00000000 00 00 00 00 04"
		 " 00 04 00 00 00000000 00 02 03 00 00 00 00"
		 " 00 05 00 00 00000000 01 02 03 00 00 00 00 04"
		 " 07 00 03 07 0c 02"
		 " 06 02 00"
		 " 00 00 01 7f 00000000 14 00 ff01 000000 04"
		 " 00 01 01 00 00000000 11 00 0f00 000000 04");
	save_hex(d, "ro-writes",
		 "01 03 00 00 01 01 00 00000000 00 00 00 00 04 00 04 00 00 00000000 00 02 03 00 00 "
		 "00 00 04");
	save_rand(d, "rand1", 1, 1024);
	save_rand(d, "rand2", 2, 3000);

	/* net: offloads, queues of 16, all features; four 2 KiB rx buffers;
	 * the TAP sends 64 bytes; rx; a 60-byte tx frame; notify both; a
	 * frame with NEEDS_CSUM; a 4 KiB frame (needs MRG_RXBUF). */
	snprintf(d, sizeof(d), "%s/net", dir);
	save_hex(
	    d, "rx-tx",
	    "01 04 04 ffffffffffffffff 00"
	    " 00 80 0008 00 00 00  00 80 0008 00 00 00  00 80 0008 00 00 00  00 80 0008 00 00 00"
	    " 03 00 40 00 00000000000000000000 04"
	    " 02 00 3c00 000000000000000000000000 00 00 00 05 06"
	    " 03 00 40 01 00000000000000000000 04"
	    " 03 c0 00100000 00 00000000000000000000 04 06"
	    " 08 04 04 ffffffffffffffff 00 03 00 40 00 00000000000000000000 00 80 0008 00 00 00 "
	    "04");
	save_rand(d, "rand1", 3, 1024);
	save_rand(d, "rand2", 4, 3000);

	/* vsock: queues of 16; four rx buffers; the guest connects to host
	 * port 1000, the service accepts and sends 200 bytes, the guest sends
	 * 100, reads, updates credit and shuts down; a host program connects
	 * with "CONNECT 50\n" and 10 bytes, the guest answers (RESPONSE from
	 * port 50 to 1024) and both sides send. */
	snprintf(d, sizeof(d), "%s/vsock", dir);
	save_hex(d, "both-ways",
		 "04 04 04"
		 " 02 03 0004 00 00 00 0004 00 00 00 0004 00 00 00 0004 00 00 00"
		 " 00 00 00 00 00 00 00 00 00 03 06"
		 " 05 00 00 c8 06"
		 " 00 00 00 04 6400 00 00 00 00 00 03 08"
		 " 02 03 0004 00 00 00 0004 00 00 00 0004 00 00 00 0004 00 00 00 42 06"
		 " 00 00 00 05 00 00 00 00 00"
		 " 04 20 0a 06"
		 " 00 0c 00 01 00 00 00 00 00 03 08 06"
		 " 00 0c 00 04 3200 00 00 00 00 00 03 08"
		 " 05 00 01 40 06 08"
		 " 00 00 00 03 03 00 00 00 00 03 06 08"
		 " 07 04 04 04 02 03 0004 00 00 00 0004 00 00 00 0004 00 00 00 0004 00 00 00 42");
	/* The same with 100 bytes of credit at connect: the host's 200 bytes
	 * must reach the guest in pieces the credit allows. */
	save_hex(d, "small-credit",
		 "04 04 04"
		 " 02 03 0004 00 00 00 0004 00 00 00 0004 00 00 00 0004 00 00 00"
		 " 00 00 00 00 00 02 00 00 00 03 06"
		 " 05 00 00 c8 06"
		 " 00 00 00 05 00 02 00 00 00 03 06"
		 " 02 03 0004 00 00 00 0004 00 00 00 0004 00 00 00 0004 00 00 00 42 06"
		 " 00 00 00 05 00 00 00 00 00 03 06 08");
	save_rand(d, "rand1", 5, 1024);
	save_rand(d, "rand2", 6, 3000);

	/* mmio: a device with 2 queues (max 256) and 8 bytes of config; a
	 * handshake; reads of every register; a reset; random programs. */
	snprintf(d, sizeof(d), "%s/mmio", dir);
	save_hex(d, "handshake",
		 "19 02 ff 00 04 01 04 02"
		 " 00 40 00 40 01 40 02 40 03 40 04 40 05 40 06 40 07 40 08 40 0a 40 0c 40 13 40 "
		 "14 40 15"
		 " 00 0c 00 00 40 0c 04 0c 08 40 0c");
	save_rand(d, "rand1", 7, 1024);
	save_rand(d, "rand2", 8, 3000);

	snprintf(d, sizeof(d), "%s/vsockline", dir);
	save_hex(d, "ok", "434f4e4e45435420313233340a");
	save_hex(d, "max-and-data", "434f4e4e45435420343239343936373239350a787978");
	save_hex(d, "too-big", "434f4e4e4543542034323934393637323936");
	save_hex(d, "no-port", "434f4e4e454354200a");
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/fuzz/corpus";
	char path[256];
	uint8_t p[64] = { 0 };
	static const uint64_t mems[] = { 128ULL << 20, 3584ULL << 20, 5ULL << 30 };

	snprintf(path, sizeof(path), "%s/elf/elf64-note8", dir);
	save(path, buf, kernel(64, 8));
	snprintf(path, sizeof(path), "%s/elf/elf32-note4", dir);
	save(path, buf, kernel(32, 4));
	for (unsigned i = 0; i < 3; i++) {
		put_le64(p, mems[i]);
		put_le64(p + 8, 0x1000000);
		put_le64(p + 16, 0x2000000);
		put_le64(p + 24, 5001);
		put_le16(p + 32, (uint16_t)(1 << i));
		memcpy(p + 34, "console=ttyS0 reboot=k", 22);
		snprintf(path, sizeof(path), "%s/pvh/seed%u", dir, i);
		save(path, p, 56);
	}
	device_seeds(dir);
	return 0;
}
