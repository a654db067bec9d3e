// SPDX-License-Identifier: MIT
/*
 * snapguest: a PVH guest whose whole state a snapshot must carry, and which
 * checks itself, for the snapshot suite (tests/snapshot/run.sh). The suite
 * snapshots it at random points and restores each snapshot in a new ember
 * process; the restored guest must go on exactly where it stopped.
 *
 * The work is two lanes of a deterministic computation. Each lane step:
 *
 * - ROUNDS rounds of xorshift32 and an accumulator kept in registers (ESI,
 *   EDI, the round counter in ECX, the lane pointer in EBX) inside one asm
 *   loop, each round also computed a second time on twins in memory and
 *   compared with the register copies (and the flags of that compare used
 *   by the next instruction): a register, a flag or a memory word the
 *   restore got wrong shows up as "register x differs from memory";
 * - rewrites SWEEP consecutive words and SCATTER pseudo-random words of the
 *   lane's 128 KiB arena (so the arena is rewritten several times in a run),
 *   folds the new words into a running hash, and keeps the XOR of all arena
 *   words up to date; every CHECK_EVERY steps the XOR is recomputed from the
 *   whole arena: a page the restore lost or mapped wrong shows up there.
 *
 * With one vCPU the BSP runs both lanes, step by step; with two, the AP runs
 * lane 1 (started through INIT + SIPI, snaptramp.S) while the BSP runs lane
 * 0. Every line the guest prints depends on lane 0 only, and the final line
 * on both lanes' results, so the output is the same with 1 or 2 vCPUs,
 * whether or not the run was snapshotted, paused or restored; only the tick
 * counts differ.
 *
 * Each vCPU runs its local APIC timer in periodic mode (xAPIC MMIO,
 * TIMER_VECTOR, about 100 Hz of host time) and counts its ticks. The BSP
 * must have had a tick since the previous progress line, the AP one within
 * every second of the BSP's ticks, and both one more before the done line:
 * a timer the restore did not re-arm fails the run wherever the snapshot
 * was taken (progress() has the details).
 *
 * Output (UART): "snapguest: start cpus N", then every PROGRESS lane-0 steps
 * "snapguest: step S hash HHHHHHHH ticks T" (T: the BSP's ticks so far), and
 * at the end "snapguest: done steps N hash HHHHHHHH", then an i8042 reset
 * (ember exits 0). Anything wrong prints one "snapguest: FAIL ..." line and
 * resets at once, without a done line.
 */
#include "tg.h"
#include "uart.h"
#include "boot/layout.h"

/* Sized for ~5 s on the emulated /dev/kvm of the development machines with
 * one vCPU (tests/snapshot/README.md). */
#define STEPS	    1200 /* steps per lane */
#define PROGRESS    40	 /* a progress line every PROGRESS lane-0 steps */
#define ROUNDS	    48	 /* register rounds per step */
#define SWEEP	    64	 /* arena words rewritten in a row per step */
#define SCATTER	    16	 /* arena words rewritten at random per step */
#define CHECK_EVERY 400	 /* steps between two full arena checks */
#define ARENA_BITS  15
#define ARENA_WORDS (1u << ARENA_BITS) /* 128 KiB per lane */
#define NLANES	    2

_Static_assert(STEPS % PROGRESS == 0 && STEPS % CHECK_EVERY == 0, "step counts");
_Static_assert(ARENA_WORDS % SWEEP == 0, "sweep must tile the arena");

/* Local APIC (SDM vol. 3, chapter 11), xAPIC registers at LAYOUT_LAPIC. */
#define LAPIC_ID	 0x020
#define LAPIC_EOI	 0x0b0
#define LAPIC_SVR	 0x0f0
#define LAPIC_ICR_LO	 0x300
#define LAPIC_ICR_HI	 0x310
#define LAPIC_LVT_TIMER	 0x320
#define LAPIC_TIMER_ICR	 0x380
#define LAPIC_TIMER_DCR	 0x3e0
#define LAPIC_SVR_ENABLE (1u << 8)
#define LVT_PERIODIC	 (1u << 17)
#define ICR_BUSY	 (1u << 12)
#define ICR_ASSERT	 (1u << 14)
#define ICR_INIT	 (5u << 8)
#define ICR_STARTUP	 (6u << 8)
#define TIMER_VECTOR	 0x40
#define SPURIOUS_VECTOR	 0xff
#define TIMER_DIV_16	 0x3
/* KVM's APIC timer counts at 1 GHz; divided by 16, 625000 counts = 10 ms. */
#define TIMER_COUNT 625000

#define SNAP_TRAMP_ADDR 0x8000u /* free in ember's layout, as smp.c's */
_Static_assert(SNAP_TRAMP_ADDR >= LAYOUT_MEMMAP + LAYOUT_MEMMAP_MAX * 24 &&
		   SNAP_TRAMP_ADDR + 0x1000 <= LAYOUT_CMDLINE,
	       "trampoline collides with ember's boot data");

/* BSP ticks without any lane-1 step before the AP counts as stalled (~5 s). */
#define AP_STALL_TICKS 500

#define STR_(x) #x
#define STR(x)	STR_(x)

#define MPF_SIG 0x5f504d5fu /* "_MP_" */
#define MPC_SIG 0x504d4350u /* "PCMP" */

#define I8042_STR_IBF	0x02
#define I8042_CMD_RESET 0xfe

/* One lane. The asm in lane_rounds() reaches x, acc and count by offset. */
struct lane {
	u32 x, acc, count; /* memory twins of the register copies */
	u32 rx, racc;	   /* the register copies between two steps */
	u32 hash;	   /* running hash of every word written */
	u32 sum;	   /* XOR of all arena words */
	u32 step;
	u32 *arena;
} __attribute__((aligned(64)));
_Static_assert(offsetof(struct lane, x) == 0 && offsetof(struct lane, acc) == 4 &&
		   offsetof(struct lane, count) == 8,
	       "lane_rounds() offsets");

/* What went wrong, for the one FAIL line. */
struct err {
	const char *what;
	u32 got, want;
};

struct idt_gate {
	u16 off_lo, sel;
	u8 zero, type;
	u16 off_hi;
};

static u32 arenas[NLANES][ARENA_WORDS] __attribute__((aligned(4096)));
static struct lane lanes[NLANES];
static struct idt_gate idt[256] __attribute__((aligned(8)));
static volatile u32 ticks[2];  /* per vCPU (APIC ID 0 and 1) */
static volatile u32 ap_up;     /* the AP reached snap_ap_main() */
static volatile u32 ap_done;   /* the AP finished lane 1 */
static volatile u32 ap_failed; /* set after ap_err */
static struct err ap_err;

extern char exc_stubs[];
extern const char snap_tramp_start[], snap_tramp_end[];
void snap_timer_isr(void);
void snap_spurious_isr(void);
void snap_timer_tick(void);
void snap_ap_main(void);
void tg_main(void);

/* ---- output and the end ---- */

static void put_hex8(u32 v)
{
	static const char digits[] = "0123456789abcdef";

	for (int shift = 28; shift >= 0; shift -= 4)
		uart_putc(digits[(v >> shift) & 0xf]);
}

static void __attribute__((noreturn)) reset(void)
{
	/* As Linux's reboot=k path: wait until the controller takes input. */
	for (u32 i = 0; i < 100000 && (inb(PORT_I8042_CMD) & I8042_STR_IBF); i++)
		cpu_relax();
	outb(PORT_I8042_CMD, I8042_CMD_RESET);
	for (;;)
		asm volatile("cli; hlt");
}

static void __attribute__((noreturn)) die(const char *who, const struct err *e)
{
	uart_puts("snapguest: FAIL ");
	uart_puts(who);
	uart_puts(": ");
	uart_puts(e->what);
	uart_puts(" (got 0x");
	put_hex8(e->got);
	uart_puts(" want 0x");
	put_hex8(e->want);
	uart_puts(")\n");
	reset();
}

static void __attribute__((noreturn)) die3(const char *who, const char *what, u32 got, u32 want)
{
	struct err e = { what, got, want };

	die(who, &e);
}

/* entry.S's exception stubs land here, on either vCPU. */
void tg_exception(struct exc_frame *f)
{
	uart_puts("snapguest: FAIL exception: vector ");
	uart_put_dec(f->vector);
	uart_puts(" error ");
	uart_put_hex(f->error);
	uart_puts(" at eip ");
	uart_put_hex(f->eip);
	uart_putc('\n');
	reset();
}

/* ---- interrupts and the local APIC ---- */

static void set_gate(u32 vec, void *handler, u16 cs)
{
	u32 a = (u32)handler;

	idt[vec].off_lo = a & 0xffff;
	idt[vec].off_hi = a >> 16;
	idt[vec].sel = cs;
	idt[vec].zero = 0;
	idt[vec].type = 0x8e; /* present, DPL 0, 32-bit interrupt gate */
}

/* The BSP fills the IDT once; both vCPUs load it (same code selector). */
static void load_idt(void)
{
	struct {
		u16 pad, limit;
		u32 base;
	} idtr __attribute__((aligned(4)));

	idtr.limit = sizeof(idt) - 1;
	idtr.base = (u32)idt;
	asm volatile("lidt %0" : : "m"(idtr.limit));
}

static void build_idt(void)
{
	u16 cs;

	asm volatile("movw %%cs, %0" : "=r"(cs));
	/* Vectors 0-31: entry.S's stubs, 16 bytes apart; the rest absent, so a
	 * stray vector faults (#NP) into tg_exception instead of running junk. */
	for (u32 v = 0; v < 32; v++)
		set_gate(v, exc_stubs + 16 * v, cs);
	set_gate(TIMER_VECTOR, snap_timer_isr, cs);
	set_gate(SPURIOUS_VECTOR, snap_spurious_isr, cs);
}

static u32 lapic_rd(u32 reg)
{
	return mmio_read32(LAYOUT_LAPIC + reg);
}

static void lapic_wr(u32 reg, u32 v)
{
	mmio_write32(LAYOUT_LAPIC + reg, v);
}

void snap_timer_tick(void)
{
	u32 id = lapic_rd(LAPIC_ID) >> 24;

	ticks[id ? 1 : 0]++;
	lapic_wr(LAPIC_EOI, 0);
}

/* This vCPU's APIC on, its timer periodic, interrupts on. */
static void lapic_timer_start(void)
{
	lapic_wr(LAPIC_SVR, lapic_rd(LAPIC_SVR) | LAPIC_SVR_ENABLE | SPURIOUS_VECTOR);
	lapic_wr(LAPIC_TIMER_DCR, TIMER_DIV_16);
	lapic_wr(LAPIC_LVT_TIMER, LVT_PERIODIC | TIMER_VECTOR);
	lapic_wr(LAPIC_TIMER_ICR, TIMER_COUNT);
	asm volatile("sti");
}

/* ---- the computation ---- */

static void lane_init(struct lane *l, u32 id)
{
	u32 r = 0x2545f491u * (id + 1);

	l->arena = arenas[id];
	l->sum = 0;
	for (u32 i = 0; i < ARENA_WORDS; i++) {
		r ^= r << 13;
		r ^= r >> 17;
		r ^= r << 5;
		l->arena[i] = r;
		l->sum ^= r;
	}
	l->x = l->rx = 0x9e3779b9u ^ (id * 0x85ebca6bu);
	l->acc = l->racc = id;
	l->count = 0;
	l->hash = 0x811c9dc5u;
	l->step = 0;
}

/*
 * ROUNDS rounds: x = xorshift32(x); acc = rol(acc + x, 7) ^ n, for n from
 * ROUNDS down to 1, once in ESI/EDI/ECX and once on l->x, l->acc, l->count
 * (through EDX and EAX), compared every round. Returns 0, or -1 with *e
 * set when a register copy and its twin in memory differ.
 */
static int lane_rounds(struct lane *l, struct err *e)
{
	u32 x = l->rx, acc = l->racc, n = ROUNDS, bad;

	asm volatile("movl %[n], 8(%[l])\n"
		     "1:\n\t"
		     /* the register copy */
		     "movl %[x], %%eax\n\t"
		     "shll $13, %%eax\n\t"
		     "xorl %%eax, %[x]\n\t"
		     "movl %[x], %%eax\n\t"
		     "shrl $17, %%eax\n\t"
		     "xorl %%eax, %[x]\n\t"
		     "movl %[x], %%eax\n\t"
		     "shll $5, %%eax\n\t"
		     "xorl %%eax, %[x]\n\t"
		     "addl %[x], %[acc]\n\t"
		     "roll $7, %[acc]\n\t"
		     "xorl %[n], %[acc]\n\t"
		     /* the twin in memory */
		     "movl 0(%[l]), %%edx\n\t"
		     "movl %%edx, %%eax\n\t"
		     "shll $13, %%eax\n\t"
		     "xorl %%eax, %%edx\n\t"
		     "movl %%edx, %%eax\n\t"
		     "shrl $17, %%eax\n\t"
		     "xorl %%eax, %%edx\n\t"
		     "movl %%edx, %%eax\n\t"
		     "shll $5, %%eax\n\t"
		     "xorl %%eax, %%edx\n\t"
		     "movl %%edx, 0(%[l])\n\t"
		     "movl 4(%[l]), %%eax\n\t"
		     "addl %%edx, %%eax\n\t"
		     "roll $7, %%eax\n\t"
		     "xorl 8(%[l]), %%eax\n\t"
		     "movl %%eax, 4(%[l])\n\t"
		     /* compare, count down both counters, compare them */
		     "cmpl 0(%[l]), %[x]\n\t"
		     "jne 2f\n\t"
		     "cmpl 4(%[l]), %[acc]\n\t"
		     "jne 2f\n\t"
		     "decl 8(%[l])\n\t"
		     "decl %[n]\n\t"
		     "cmpl 8(%[l]), %[n]\n\t"
		     "jne 2f\n\t"
		     "testl %[n], %[n]\n\t"
		     "jnz 1b\n\t"
		     "xorl %%eax, %%eax\n\t"
		     "jmp 3f\n"
		     "2:\n\t"
		     "movl $1, %%eax\n"
		     "3:"
		     : [x] "+S"(x), [acc] "+D"(acc), [n] "+c"(n), "=&a"(bad)
		     : [l] "b"(l)
		     : "edx", "cc", "memory");
	l->rx = x;
	l->racc = acc;
	if (!bad)
		return 0;
	if (x != l->x)
		*e = (struct err){ "register x differs from its twin in memory", x, l->x };
	else if (acc != l->acc)
		*e = (struct err){ "register acc differs from its twin in memory", acc, l->acc };
	else
		*e = (struct err){ "round counter differs from its twin in memory, or the flags of "
				   "the compare were lost",
				   n, l->count };
	return -1;
}

static u32 mix(u32 h, u32 v)
{
	return (h ^ v) * 0x01000193u; /* FNV-1a's prime, a word at a time */
}

/* Rewrite SWEEP words in a row (the window moves each step) and SCATTER
 * words picked by an LCG seeded from the accumulator. */
static void lane_arena(struct lane *l)
{
	u32 *a = l->arena;
	u32 base = (l->step * SWEEP) % ARENA_WORDS;
	u32 h = l->hash, s = l->sum, r = l->racc;

	for (u32 i = 0; i < SWEEP; i++) {
		u32 old = a[base + i];
		u32 new = (old ^ r) * 0x9e3779b1u + i;

		a[base + i] = new;
		s ^= old ^ new;
		h = mix(h, new);
	}
	for (u32 j = 0; j < SCATTER; j++) {
		u32 k, old, new;

		r = r * 1664525u + 1013904223u;
		k = r >> (32 - ARENA_BITS);
		old = a[k];
		new = old + (r ^ l->rx);
		a[k] = new;
		s ^= old ^ new;
		h = mix(h, new ^ k);
	}
	l->hash = h;
	l->sum = s;
}

static int lane_check_sum(const struct lane *l, struct err *e)
{
	u32 s = 0;

	for (u32 i = 0; i < ARENA_WORDS; i++)
		s ^= l->arena[i];
	if (s == l->sum)
		return 0;
	*e = (struct err){ "XOR of the arena differs from the one kept step by step", s, l->sum };
	return -1;
}

static int lane_step(struct lane *l, struct err *e)
{
	if (lane_rounds(l, e))
		return -1;
	lane_arena(l);
	l->step++;
	if (l->step % CHECK_EVERY == 0)
		return lane_check_sum(l, e);
	return 0;
}

static u32 lane_digest(const struct lane *l)
{
	return mix(mix(mix(l->hash, l->rx), l->racc), l->sum);
}

/* ---- SMP ---- */

/* Processor entries in ember's MP table (as smp.c reads it); 1 without one. */
static u32 count_cpus(void)
{
	const u8 *mpc = NULL, *p, *end;
	u32 n = 0;

	for (u32 a = 0xf0000; a < 0x100000; a += 16) {
		if (*(const u32 *)a == MPF_SIG) {
			mpc = (const u8 *)*(const u32 *)(a + 4);
			break;
		}
	}
	if (!mpc || *(const u32 *)mpc != MPC_SIG)
		return 1;
	p = mpc + 44; /* the base table header's size */
	end = mpc + *(const u16 *)(mpc + 4);
	for (u32 i = 0; i < *(const u16 *)(mpc + 34) && p < end; i++) {
		if (p[0] == 0)
			n++;
		p += p[0] == 0 ? 20 : 8;
	}
	return n ? n : 1;
}

static void send_ipi(u32 dest, u32 icr)
{
	u32 spins = 10000;

	lapic_wr(LAPIC_ICR_HI, dest << 24);
	lapic_wr(LAPIC_ICR_LO, icr);
	while ((lapic_rd(LAPIC_ICR_LO) & ICR_BUSY) && --spins)
		cpu_relax();
}

static void delay(u32 spins)
{
	while (spins--)
		cpu_relax();
}

/* Start the AP with APIC ID 1 on lane 1 (INIT, SIPI, SIPI as Linux does);
 * wait for it by timer ticks, so a slow vCPU is not taken for a dead one. */
static void start_ap(void)
{
	u32 t0 = ticks[0];

	memcpy((void *)SNAP_TRAMP_ADDR, snap_tramp_start, (u32)(snap_tramp_end - snap_tramp_start));
	send_ipi(1, ICR_ASSERT | ICR_INIT);
	delay(2000);
	for (int i = 0; i < 2 && !ap_up; i++) {
		send_ipi(1, ICR_ASSERT | ICR_STARTUP | (SNAP_TRAMP_ADDR >> 12));
		delay(500);
	}
	while (!ap_up) {
		if (ticks[0] - t0 > AP_STALL_TICKS)
			die3("cpu1", "the AP did not start (BSP ticks waited)", ticks[0] - t0, 0);
		cpu_relax();
	}
}

void snap_ap_main(void)
{
	struct err e;

	load_idt();
	lapic_timer_start();
	ap_up = 1;
	while (lanes[1].step < STEPS) {
		if (lane_step(&lanes[1], &e)) {
			ap_err = e;
			ap_failed = 1;
			for (;;)
				asm volatile("cli; hlt");
		}
	}
	ap_done = 1;
	for (;;)
		asm volatile("sti; hlt"); /* its timer keeps ticking */
}

static void check_ap(void)
{
	if (ap_failed)
		die("lane 1 (cpu1)", &ap_err);
}

/* ---- main ---- */

/*
 * Tick checks. The BSP's own ticks must advance between two progress lines
 * (it ran for a while, so its timer fired). The AP's are judged by the
 * BSP's clock: no AP tick while the BSP had AP_TICK_WINDOW ticks fails (a
 * window, not a line interval: on a loaded host the AP's thread may sit
 * out a short interval). Before the done line, each timer must tick once
 * more (tick_once_more()), so a timer the restore did not re-arm fails
 * even when the snapshot was taken near the end.
 */
#define AP_TICK_WINDOW 100     /* ~1 s */
#define BSP_TICK_SPINS 4000000 /* pause loops: seconds here, for 10 ms */

static u32 bsp_seen, ap_seen, bsp_at_ap_tick;

static void check_ap_ticks(void)
{
	u32 now = ticks[1];

	if (now != ap_seen) {
		ap_seen = now;
		bsp_at_ap_tick = ticks[0];
	} else if (ticks[0] - bsp_at_ap_tick > AP_TICK_WINDOW) {
		die3("cpu1", "no timer tick while cpu0 had " STR(AP_TICK_WINDOW), now, now + 1);
	}
}

static void progress(u32 step, u32 ncpus)
{
	u32 now = ticks[0];

	if (now == bsp_seen)
		die3("cpu0", "no timer tick since the last progress line", now, now + 1);
	bsp_seen = now;
	if (ncpus > 1)
		check_ap_ticks();
	uart_puts("snapguest: step ");
	uart_put_dec(step);
	uart_puts(" hash ");
	put_hex8(lane_digest(&lanes[0]));
	uart_puts(" ticks ");
	uart_put_dec(now);
	uart_putc('\n');
}

static void tick_once_more(u32 ncpus)
{
	u32 b = ticks[0], a = ticks[1], spins = 0;

	while (ticks[0] == b) {
		if (++spins > BSP_TICK_SPINS)
			die3("cpu0", "no timer tick before the end", b, b + 1);
		cpu_relax();
	}
	if (ncpus < 2)
		return;
	ap_seen = a;
	bsp_at_ap_tick = ticks[0];
	while (ticks[1] == a) {
		check_ap_ticks();
		cpu_relax();
	}
}

/* Two vCPUs: the BSP is done with lane 0; wait for the AP's lane 1. */
static void wait_ap(void)
{
	u32 seen = lanes[1].step, t0 = ticks[0];

	while (!ap_done) {
		check_ap();
		if (lanes[1].step != seen) {
			seen = lanes[1].step;
			t0 = ticks[0];
		} else if (ticks[0] - t0 > AP_STALL_TICKS) {
			die3("cpu1",
			     "lane 1 made no step while cpu0 had " STR(AP_STALL_TICKS) " ticks",
			     seen, STEPS);
		}
		cpu_relax();
	}
}

void tg_main(void)
{
	u32 ncpus = count_cpus();
	struct err e;
	u32 h;

	build_idt();
	load_idt();
	uart_puts("snapguest: start cpus ");
	uart_put_dec(ncpus);
	uart_putc('\n');
	for (u32 i = 0; i < NLANES; i++)
		lane_init(&lanes[i], i);
	lapic_timer_start();
	if (ncpus > 1)
		start_ap();

	for (u32 s = 1; s <= STEPS; s++) {
		if (lane_step(&lanes[0], &e))
			die("lane 0", &e);
		if (ncpus == 1 && lane_step(&lanes[1], &e))
			die("lane 1", &e);
		if (ncpus > 1)
			check_ap();
		if (s % PROGRESS == 0)
			progress(s, ncpus);
	}
	if (ncpus > 1)
		wait_ap();
	tick_once_more(ncpus);
	for (u32 i = 0; i < NLANES; i++) {
		if (lanes[i].step != STEPS)
			die3(i ? "lane 1" : "lane 0", "steps at the end", lanes[i].step, STEPS);
		if (lane_check_sum(&lanes[i], &e))
			die(i ? "lane 1" : "lane 0", &e);
	}
	h = mix(lane_digest(&lanes[0]), lane_digest(&lanes[1]));
	uart_puts("snapguest: done steps ");
	uart_put_dec(STEPS);
	uart_puts(" hash ");
	put_hex8(h);
	uart_putc('\n');
	reset();
}
