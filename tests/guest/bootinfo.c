// SPDX-License-Identifier: MIT
/*
 * What the monitor describes in struct hvm_start_info: the structure itself,
 * the command line and the tg.* keys the runner put on it, the memory map,
 * the initrd (module 0), and where ember's layout.h says each piece lives.
 */
#include "start_info.h"
#include "uart.h"
#include "boot/layout.h"

#define LOW_MEM_END 0xa0000ULL /* 640 KiB */
#define FOUR_GiB    (4 * GiB)
#define PAGE_SIZE   4096

const struct hvm_start_info *start_info;
struct tg_args args;

static const char *cmdline;
static u32 cmdline_len;
static const struct hvm_memmap_table_entry *memmap;
static u32 memmap_n;
static const struct hvm_modlist_entry *initrd;

static bool below_1g(u64 addr, u64 len)
{
	return addr < GiB && len <= GiB - addr;
}

/* ---- start_info ---- */

static int check_start_info(void)
{
	const struct hvm_start_info *si = (const void *)boot_state.ebx;
	const char *n = "start-info";

	if (!boot_state.ebx || !below_1g(boot_state.ebx, sizeof(*si)))
		return fail(n, "EBX is not a usable start_info address", boot_state.ebx,
			    LAYOUT_START_INFO);
	if (si->magic != HVM_START_MAGIC)
		return fail(n, "magic", si->magic, HVM_START_MAGIC);
	if (si->version != 1)
		return fail_dec(n, "version", si->version, 1);
	if (si->flags != 0)
		return fail(n, "flags", si->flags, 0);
	if (si->reserved != 0)
		return fail(n, "reserved", si->reserved, 0);
	if (!si->cmdline_paddr || !below_1g(si->cmdline_paddr, 1))
		return fail(n, "cmdline_paddr not in (0, 1 GiB)", si->cmdline_paddr,
			    LAYOUT_CMDLINE);
	if (!si->memmap_paddr || !below_1g(si->memmap_paddr, 1))
		return fail(n, "memmap_paddr not in (0, 1 GiB)", si->memmap_paddr, LAYOUT_MEMMAP);
	if (si->modlist_paddr && !below_1g(si->modlist_paddr, 1))
		return fail(n, "modlist_paddr not below 1 GiB", si->modlist_paddr, LAYOUT_MODLIST);
	start_info = si;
	return pass(n);
}

/* ---- command line ---- */

/* Decimal, optionally followed by K, M or G (binary multiples). */
static bool parse_num(const char *s, u32 len, bool suffix, u64 *out)
{
	u64 v = 0;
	u32 i;

	for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (~0ULL - 9) / 10)
			return false;
		v = v * 10 + (u64)(s[i] - '0');
	}
	if (i == 0)
		return false;
	if (suffix && i + 1 == len) {
		int shift = s[i] == 'K' || s[i] == 'k'	 ? 10
			    : s[i] == 'M' || s[i] == 'm' ? 20
			    : s[i] == 'G' || s[i] == 'g' ? 30
							 : -1;

		if (shift < 0 || v > (~0ULL >> shift))
			return false;
		v <<= shift;
		i++;
	}
	if (i != len)
		return false;
	*out = v;
	return true;
}

static const char *bad_key;

static void parse_arg(const char *tok, u32 len)
{
	static const struct {
		const char *key;
		bool suffix; /* K/M/G allowed */
		u64 max;
	} keys[] = {
		{ "tg.mem=", true, ~0ULL },
		{ "tg.cpus=", false, 255 },
		{ "tg.cmdline_len=", false, 0xffffffff },
		{ "tg.initrd_size=", false, 0xffffffff },
		{ "tg.initrd_sum=", false, 0xffffffff },
	};
	bool *have[] = { &args.have_mem, &args.have_cpus, &args.have_cmdline_len,
			 &args.have_initrd_size, &args.have_initrd_sum };
	u64 *val[] = { &args.mem, &args.cpus, &args.cmdline_len, &args.initrd_size,
		       &args.initrd_sum };

	for (u32 k = 0; k < ARRAY_SIZE(keys); k++) {
		u32 klen = strlen(keys[k].key);

		if (len < klen || memcmp(tok, keys[k].key, klen))
			continue;
		if (!parse_num(tok + klen, len - klen, keys[k].suffix, val[k]) ||
		    *val[k] > keys[k].max) {
			bad_key = keys[k].key;
			return;
		}
		*have[k] = true;
		return;
	}
}

static int check_cmdline(void)
{
	const char *p = (const char *)(u32)start_info->cmdline_paddr;
	u32 len = 0, i = 0;

	/* Linux copies at most 2048 bytes: the NUL must come within them. */
	while (len < LAYOUT_CMDLINE_MAX && p[len])
		len++;
	if (len == LAYOUT_CMDLINE_MAX)
		return fail_dec("cmdline", "no NUL within the first 2048 bytes", len, 2047);
	cmdline = p;
	cmdline_len = len;
	while (i < len) {
		u32 start;

		while (i < len && p[i] == ' ')
			i++;
		start = i;
		while (i < len && p[i] != ' ')
			i++;
		if (i > start)
			parse_arg(p + start, i - start);
	}
	pass("cmdline");
	/* For the monitor's own tests: what it passed, verbatim. */
	uart_puts("testguest: cmdline: ");
	uart_puts(p);
	uart_putc('\n');

	if (bad_key)
		fail_key("cmdline-keys", "bad value for ", bad_key);
	else if (!args.have_mem || !args.have_cpus || !args.have_cmdline_len)
		fail_dec("cmdline-keys", "of tg.mem=, tg.cpus=, tg.cmdline_len= (all required)",
			 args.have_mem + args.have_cpus + args.have_cmdline_len, 3);
	else if (args.have_initrd_size != args.have_initrd_sum)
		fail("cmdline-keys", "tg.initrd_size= and tg.initrd_sum= go together", 0, 2);
	else if (args.cpus == 0)
		fail_dec("cmdline-keys", "tg.cpus", 0, 1);
	else
		pass("cmdline-keys");

	if (!args.have_cmdline_len)
		return fail_dec("cmdline-len", "tg.cmdline_len= missing", 0, 1);
	if (len != args.cmdline_len)
		return fail_dec("cmdline-len", "strlen(cmdline) vs tg.cmdline_len", len,
				(u32)args.cmdline_len);
	return pass_n("cmdline-len", len);
}

/* ---- memory map ---- */

static bool is_ram(const struct hvm_memmap_table_entry *e)
{
	return e->type == HVM_MEMMAP_RAM;
}

static int check_memmap(void)
{
	const struct hvm_memmap_table_entry *mm;
	u32 n = start_info->memmap_entries;
	const char *name = "memmap";
	u64 prev_end = 0;

	if (n == 0 || n > LAYOUT_MEMMAP_MAX)
		return fail_dec(name, "entry count not in 1..127", n, LAYOUT_MEMMAP_MAX);
	if (!below_1g(start_info->memmap_paddr, (u64)n * sizeof(*mm)))
		return fail(name, "table not below 1 GiB", start_info->memmap_paddr, LAYOUT_MEMMAP);
	mm = (const void *)(u32)start_info->memmap_paddr;
	for (u32 i = 0; i < n; i++) {
		const struct hvm_memmap_table_entry *e = &mm[i];

		if (!e->size)
			return fail_idx(name, i, "has size 0", e->size, 1);
		if (e->addr + e->size < e->addr)
			return fail_idx(name, i, "wraps around", e->addr, 0);
		if (i && e->addr < prev_end)
			return fail_idx(name, i, "unsorted or overlapping: addr", e->addr,
					prev_end);
		if (e->type == 0 || e->type > HVM_MEMMAP_TYPE_MAX)
			return fail_idx(name, i, "type", e->type, HVM_MEMMAP_RAM);
		if (e->reserved)
			return fail_idx(name, i, "reserved", e->reserved, 0);
		prev_end = e->addr + e->size;
	}
	if (mm[0].addr != 0 || !is_ram(&mm[0]))
		return fail(name, "entry 0 is not RAM at 0 (addr, type)",
			    (mm[0].addr << 8) | mm[0].type, HVM_MEMMAP_RAM);
	if (mm[0].addr + mm[0].size > LOW_MEM_END)
		return fail(name, "low RAM runs past 640 KiB", mm[0].addr + mm[0].size,
			    LOW_MEM_END);
	for (u32 i = 0; i < n; i++) {
		if (is_ram(&mm[i]) && ranges_overlap(mm[i].addr, mm[i].size, LAYOUT_LEGACY_HOLE,
						     LAYOUT_LEGACY_HOLE_END - LAYOUT_LEGACY_HOLE))
			return fail_idx(name, i, "is RAM in the legacy hole 0xa0000-0x100000",
					mm[i].addr, LAYOUT_LEGACY_HOLE_END);
	}
	memmap = mm;
	memmap_n = n;
	return pass_n(name, n);
}

/*
 * The RAM total must be the size the runner asked for (tg.mem=). A monitor
 * may carve holes out of the first MiB (the legacy hole, an EBDA): those
 * bytes count against the size; everywhere else every byte must be RAM.
 */
static int check_ram_size(void)
{
	u64 total = 0, low = 0, want;

	if (!memmap || !args.have_mem)
		return fail("memmap-ram-size", "no memory map or no tg.mem=", 0, 1);
	for (u32 i = 0; i < memmap_n; i++) {
		const struct hvm_memmap_table_entry *e = &memmap[i];

		if (!is_ram(e))
			continue;
		total += e->size;
		if (e->addr < MiB)
			low += (e->addr + e->size > MiB ? MiB : e->addr + e->size) - e->addr;
	}
	if (args.mem < MiB)
		return fail("memmap-ram-size", "tg.mem= below 1 MiB", args.mem, MiB);
	want = args.mem - (MiB - low);
	if (total != want)
		return fail("memmap-ram-size", "RAM total (tg.mem= less non-RAM below 1 MiB)",
			    total, want);
	return pass("memmap-ram-size");
}

/* ember splits RAM around the MMIO window [3 GiB, 4 GiB) (layout.h). */
static int check_mmio_hole(void)
{
	const char *name = "memmap-mmio-hole";
	bool high = false;

	if (!memmap || !args.have_mem)
		return fail(name, "no memory map or no tg.mem=", 0, 1);
	for (u32 i = 0; i < memmap_n; i++) {
		const struct hvm_memmap_table_entry *e = &memmap[i];

		if (!is_ram(e))
			continue;
		if (ranges_overlap(e->addr, e->size, LAYOUT_MMIO_START,
				   LAYOUT_MMIO_END - LAYOUT_MMIO_START))
			return fail_idx(name, i, "is RAM in [3 GiB, 4 GiB)", e->addr, 0);
		if (e->addr == LAYOUT_HIGH_RAM)
			high = true;
		if (e->addr >= LAYOUT_HIGH_RAM && args.mem <= LAYOUT_MMIO_START)
			return fail_idx(name, i, "is RAM above 4 GiB with tg.mem <= 3 GiB", e->addr,
					0);
	}
	if (args.mem > LAYOUT_MMIO_START && !high)
		return fail(name, "no RAM entry starting at 4 GiB", 0, LAYOUT_HIGH_RAM);
	return pass(name);
}

/* Write, read back and restore the u32 at paddr (below 4 GiB). */
static bool touch32(u32 paddr, u32 pattern, u32 *got)
{
	volatile u32 *p = (volatile u32 *)paddr;
	u32 old = *p;

	*p = pattern;
	*got = *p;
	*p = old;
	return *got == pattern;
}

static int check_ram_touch(void)
{
	u64 top = 0, high_start = 0, high_end = 0;
	u32 got, pat;

	if (!memmap)
		return fail("ram-touch", "no memory map", 0, 1);
	for (u32 i = 0; i < memmap_n; i++) {
		const struct hvm_memmap_table_entry *e = &memmap[i];
		u64 end = e->addr + e->size;

		if (!is_ram(e))
			continue;
		if (e->addr < FOUR_GiB && (end > FOUR_GiB ? FOUR_GiB : end) > top)
			top = end > FOUR_GiB ? FOUR_GiB : end;
		if (end > FOUR_GiB && end > high_end) {
			high_start = e->addr < FOUR_GiB ? FOUR_GiB : e->addr;
			high_end = end;
		}
	}
	pat = 0x5aa5c33c ^ (u32)top;
	if (!touch32((u32)(top - 4), pat, &got))
		fail("ram-touch", "last u32 of RAM below 4 GiB reads back", got, pat);
	else
		pass("ram-touch");
	if (!high_end)
		return 0;

	/*
	 * RAM above 4 GiB: reach it through PAE paging, first and last u32 of
	 * the highest block, and make sure the write did not land in low RAM
	 * (a slot mapped at the wrong guest address would alias).
	 */
	u64 spots[2] = { high_start, high_end - 4 };
	for (u32 i = 0; i < 2; i++) {
		volatile u32 *alias = (volatile u32 *)(u32)spots[i];
		u32 before = (u32)spots[i] < top ? *alias : 0;

		pat = 0xc0ffee00 ^ (u32)(spots[i] >> 2);
		if (!highmem_rw(spots[i], pat, &got))
			return fail("ram-touch-high", "u32 above 4 GiB reads back", got, pat);
		if ((u32)spots[i] < top && *alias != before)
			return fail("ram-touch-high", "write above 4 GiB changed low RAM", *alias,
				    before);
	}
	return pass("ram-touch-high");
}

/* ---- initrd ---- */

/*
 * tg sum, the initrd checksum run.sh computes on the host:
 *   s = 0; for each byte b, in file order: s = s * 31 + b  (mod 2^32)
 * Cheap (one multiply per byte) and position-dependent, unlike a plain sum.
 */
static u32 tg_sum(const u8 *p, u32 len)
{
	u32 s = 0;

	while (len--)
		s = s * 31 + *p++;
	return s;
}

/* Is [addr, addr+len) inside one RAM entry of the memory map? */
static bool in_ram(u64 addr, u64 len)
{
	for (u32 i = 0; i < memmap_n; i++) {
		const struct hvm_memmap_table_entry *e = &memmap[i];

		if (is_ram(e) && addr >= e->addr && addr + len <= e->addr + e->size)
			return true;
	}
	return false;
}

/* The boot data and the guest image: nothing the monitor places may overlap. */
struct area {
	const char *what;
	u64 addr, len;
};

static u32 boot_areas(struct area *a)
{
	u32 n = 0;

	a[n++] = (struct area){ "the guest image", (u32)_start, (u32)(_end - _start) };
	a[n++] = (struct area){ "start_info", boot_state.ebx, sizeof(*start_info) };
	a[n++] = (struct area){ "the GDT", boot_state.gdt_base, boot_state.gdt_limit + 1u };
	if (start_info) {
		a[n++] = (struct area){ "the memory map", start_info->memmap_paddr,
					start_info->memmap_entries * 24ULL };
		a[n++] = (struct area){ "the module list", start_info->modlist_paddr,
					start_info->nr_modules * 32ULL };
	}
	if (cmdline)
		a[n++] = (struct area){ "the command line", (u32)cmdline, cmdline_len + 1ULL };
	if (initrd)
		a[n++] = (struct area){ "the initrd", initrd->paddr, initrd->size };
	return n;
}

bool bootinfo_range_is_free(u64 addr, u64 len)
{
	struct area a[8];
	u32 n = boot_areas(a);

	for (u32 i = 0; i < n; i++) {
		if (ranges_overlap(addr, len, a[i].addr, a[i].len))
			return false;
	}
	return in_ram(addr, len);
}

static int check_initrd(void)
{
	const struct hvm_modlist_entry *m;
	const char *name = "initrd";
	struct area a[8];
	u32 n;

	if (!args.have_initrd_size) {
		if (start_info->nr_modules != 0)
			return fail_dec("initrd-none", "nr_modules without an initrd",
					start_info->nr_modules, 0);
		if (start_info->modlist_paddr != 0)
			return fail("initrd-none", "modlist_paddr without modules",
				    start_info->modlist_paddr, 0);
		return pass("initrd-none");
	}
	if (start_info->nr_modules != 1)
		return fail_dec(name, "nr_modules", start_info->nr_modules, 1);
	if (!start_info->modlist_paddr || !below_1g(start_info->modlist_paddr, sizeof(*m)))
		return fail(name, "modlist_paddr", start_info->modlist_paddr, LAYOUT_MODLIST);
	m = (const void *)(u32)start_info->modlist_paddr;
	if (!m->paddr || m->paddr % PAGE_SIZE)
		return fail(name, "module 0 paddr not page-aligned", m->paddr,
			    m->paddr & ~(PAGE_SIZE - 1ULL));
	if (m->size != args.initrd_size)
		return m->size >> 32 ? fail(name, "module 0 size vs tg.initrd_size", m->size,
					    args.initrd_size)
				     : fail_dec(name, "module 0 size vs tg.initrd_size",
						(u32)m->size, (u32)args.initrd_size);
	if (m->paddr >= FOUR_GiB || m->size > FOUR_GiB - m->paddr)
		return fail(name, "module 0 ends above 4 GiB", m->paddr + m->size, FOUR_GiB);
	if (m->reserved)
		return fail(name, "module 0 reserved", m->reserved, 0);
	if (memmap && !in_ram(m->paddr, m->size))
		return fail(name, "module 0 not inside one RAM entry", m->paddr, 0);
	n = boot_areas(a);
	for (u32 i = 0; i < n; i++) {
		if (ranges_overlap(m->paddr, m->size, a[i].addr, a[i].len))
			return fail(name, a[i].what, m->paddr, a[i].addr + a[i].len);
	}
	initrd = m;
	pass(name);

	u32 sum = tg_sum((const u8 *)(u32)m->paddr, (u32)m->size);
	if (sum != args.initrd_sum)
		return fail("initrd-sum", "tg sum of module 0", sum, args.initrd_sum);
	return pass("initrd-sum");
}

/* ---- ember's fixed addresses (src/boot/layout.h) ---- */

static int check_layout(void)
{
	const char *name = "ember-layout";
	const struct hvm_start_info *si = start_info;

	if (boot_state.ebx != LAYOUT_START_INFO)
		return fail(name, "start_info", boot_state.ebx, LAYOUT_START_INFO);
	if (si->memmap_paddr != LAYOUT_MEMMAP)
		return fail(name, "memmap_paddr", si->memmap_paddr, LAYOUT_MEMMAP);
	if (si->cmdline_paddr != LAYOUT_CMDLINE)
		return fail(name, "cmdline_paddr", si->cmdline_paddr, LAYOUT_CMDLINE);
	if (si->nr_modules && si->modlist_paddr != LAYOUT_MODLIST)
		return fail(name, "modlist_paddr", si->modlist_paddr, LAYOUT_MODLIST);
	if (si->nr_modules > LAYOUT_MODLIST_MAX)
		return fail_dec(name, "nr_modules", si->nr_modules, LAYOUT_MODLIST_MAX);
	if (boot_state.gdt_base != LAYOUT_GDT)
		return fail(name, "GDT base", boot_state.gdt_base, LAYOUT_GDT);
	return pass(name);
}

void bootinfo_checks(void)
{
	if (check_start_info()) {
		fail("bootinfo", "skipped: no usable start_info", 0, 1);
		return;
	}
	check_cmdline();
	check_memmap();
	check_ram_size();
	check_mmio_hole();
	check_ram_touch();
	check_initrd();
	check_layout();
	acpi_checks();
}
