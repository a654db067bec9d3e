// SPDX-License-Identifier: MIT
/*
 * hostileguest, part 2: the legacy devices and the interrupt path, driven
 * as a careless or malicious kernel would (src/dev/ioapic.c, uart.c,
 * cmos.c, i8042.c, and board.c's MSI delivery):
 *
 *   - IOAPIC: every register, index registers out of range, redirection
 *     entries with reserved and read-only bits set on every pin, and
 *     interrupts that no CPU accepts: every delivery mode to a CPU that
 *     does not exist, logical destination 0, a broadcast while the local
 *     APIC is disabled, a level interrupt re-delivered after its EOI to a
 *     destination that no longer exists. On a PC such a message is lost;
 *     ember must drop it too and keep running (it used to exit 1 on
 *     KVM_SIGNAL_MSI's EPERM). Interrupts to CPU 0 still arrive, exactly
 *     once, and a level pin's Remote IRR follows the EOI;
 *   - 16550: every register with and without DLAB, the divisor latch,
 *     overflowing the receive FIFO in loopback, 16/32-bit accesses;
 *   - CMOS: every index with and without the NMI bit, RAM round trips,
 *     read-only registers, setting the clock to nonsense and back;
 *   - i8042: every controller command, the output buffer, writes for
 *     devices that are not there, 16/32-bit accesses.
 *
 * Interrupts are taken only inside short sti windows, through the stub
 * below; everything else runs with interrupts off, polling.
 */
#include "hostile.h"
#include "uart.h"

/* ---- IOAPIC ---- */

#define IOAPIC	       ((u32)LAYOUT_IOAPIC)
#define IOAPIC_REGSEL  0x00
#define IOAPIC_WINDOW  0x10
#define IOREG_ID       0x00
#define IOREG_VER      0x01
#define IOREG_ARB      0x02
#define IOREG_REDIR    0x10
#define IOAPIC_PINS    24
#define RTE_DELMODE(m) ((u64)(m) << 8)
#define RTE_LOGICAL    (1ULL << 11)
#define RTE_DELIVS     (1ULL << 12)
#define RTE_POLARITY   (1ULL << 13)
#define RTE_REMOTE_IRR (1ULL << 14)
#define RTE_LEVEL      (1ULL << 15)
#define RTE_MASKED     (1ULL << 16)
#define RTE_DEST(d)    ((u64)(d) << 56)

#define NO_CPU	 0x0e /* an APIC ID no vCPU has (run with 1 vCPU) */
#define VEC_EDGE 0x41
#define VEC_LVL	 0x42

static void io_sel(u32 r)
{
	mmio_write32(IOAPIC + IOAPIC_REGSEL, r);
}

static u32 io_read(u32 r)
{
	io_sel(r);
	return mmio_read32(IOAPIC + IOAPIC_WINDOW);
}

static void io_write(u32 r, u32 v)
{
	io_sel(r);
	mmio_write32(IOAPIC + IOAPIC_WINDOW, v);
}

static u64 rte_get(u32 pin)
{
	u32 lo = io_read(IOREG_REDIR + 2 * pin);

	return lo | (u64)io_read(IOREG_REDIR + 2 * pin + 1) << 32;
}

/* High half first: the low half holds the mask bit. */
static void rte_set(u32 pin, u64 e)
{
	io_write(IOREG_REDIR + 2 * pin + 1, (u32)(e >> 32));
	io_write(IOREG_REDIR + 2 * pin, (u32)e);
}

/* ---- local APIC (in KVM) ---- */

#define LAPIC	      ((u32)LAYOUT_LAPIC)
#define LAPIC_EOI     0xb0
#define LAPIC_SVR     0xf0
#define LAPIC_IRR     0x200
#define MSR_APIC_BASE 0x1b
#define APIC_BASE_EN  (1u << 11)

static void wrmsr(u32 msr, u64 v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)));
}

static bool lapic_irr(u8 vec)
{
	return mmio_read32(LAPIC + LAPIC_IRR + 0x10 * (vec / 32)) & (1u << (vec % 32));
}

static void lapic_enable(void)
{
	mmio_write32(LAPIC + LAPIC_SVR, 0x1ff); /* enabled, spurious vector 0xff */
}

/* ---- interrupts: a 256-entry IDT, one stub for the test vectors ---- */

/* Written by the stub: interrupts taken; read IIR (acknowledge the UART's
 * THR-empty interrupt) before the EOI when hg_irq_ack_uart is set. */
volatile u32 hg_irq_count, hg_irq_ack_uart;
extern char hg_irq_stub[], hg_spurious_stub[], exc_stubs[];

/*
 * The emulating /dev/kvm of the development machines has no iret: the stub
 * returns with popfl (the flags as they were at entry, IF clear as the
 * interrupt gate left it) and a ret that drops CS and EFLAGS. irq_window()
 * sets IF again each time round, so a second interrupt is still seen.
 */
asm(".text\n"
    ".globl hg_irq_stub\n"
    "hg_irq_stub:\n"
    "	pushfl\n"
    "	pushl %eax\n"
    "	pushl %edx\n"
    "	incl hg_irq_count\n"
    "	cmpl $0, hg_irq_ack_uart\n"
    "	je 1f\n"
    "	movw $0x3fa, %dx\n"
    "	inb %dx, %al\n"
    "1:	movl $0, 0xfee000b0\n"
    "	popl %edx\n"
    "	popl %eax\n"
    "	popfl\n"
    "	ret $8\n"
    ".globl hg_spurious_stub\n"
    "hg_spurious_stub:\n"
    "	ret $8\n");

struct gate {
	u16 off_lo, sel;
	u8 zero, type;
	u16 off_hi;
};

static struct gate idt[256] __attribute__((aligned(8)));

static void set_gate(u32 v, u32 handler, u16 cs)
{
	idt[v].off_lo = handler & 0xffff;
	idt[v].off_hi = handler >> 16;
	idt[v].sel = cs;
	idt[v].zero = 0;
	idt[v].type = 0x8e; /* present, DPL 0, 32-bit interrupt gate */
}

/* Vectors 0-31 to entry.S's exception stubs (a FAIL line), the test
 * vectors to the stub, the spurious vector to an iret; anything else is
 * not present and ends in #NP, a FAIL line too. */
static void setup_idt(void)
{
	struct {
		u16 pad, limit;
		u32 base;
	} idtr __attribute__((aligned(4)));
	u16 cs;

	asm volatile("movw %%cs, %0" : "=r"(cs));
	for (u32 v = 0; v < 32; v++)
		set_gate(v, (u32)exc_stubs + 16 * v, cs);
	set_gate(VEC_EDGE, (u32)hg_irq_stub, cs);
	set_gate(VEC_LVL, (u32)hg_irq_stub, cs);
	set_gate(0xff, (u32)hg_spurious_stub, cs);
	idtr.limit = sizeof(idt) - 1;
	idtr.base = (u32)idt;
	asm volatile("lidt %0" : : "m"(idtr.limit));
}

/* Let pending interrupts in for a moment (the stub returns with IF clear).
 * The emulating /dev/kvm injects them on entry after an exit: each round
 * has one, a write to the POST port 0x80 (nobody there). */
static void irq_window(void)
{
	for (u32 i = 0; i < 64; i++)
		asm volatile("sti; outb %%al, $0x80; pause; cli" : : "a"(0) : "memory");
}

/* ---- 16550 ---- */

#define COM1	  0x3f8
#define U_RBR	  0
#define U_IER	  1
#define U_IIR	  2
#define U_LCR	  3
#define U_MCR	  4
#define U_LSR	  5
#define U_MSR	  6
#define U_SCR	  7
#define IER_THRI  0x02
#define LCR_DLAB  0x80
#define MCR_LOOP  0x10
#define LSR_DR	  0x01
#define LSR_THRE  0x20
#define LSR_TEMT  0x40
#define IIR_NONE  0x01
#define UART_FIFO 256

/* The UART's interrupt line, up and down again: THR-empty is raised as
 * soon as it is enabled, and reading IIR acknowledges it. */
static void uart_irq_pulse(void)
{
	outb(COM1 + U_IER, IER_THRI);
	inb(COM1 + U_IIR);
	outb(COM1 + U_IER, 0);
}

/* Interrupts that no CPU accepts, counted by the guest for run.sh. */
static u32 provoked_drops;

static int ioapic_alive(void)
{
	u32 v = io_read(IOREG_VER);

	if (v != (23u << 16 | 0x11))
		return bad("IOAPIC version register afterwards", v, 23u << 16 | 0x11);
	return 0;
}

/* ---- IOAPIC: registers ---- */

static int test_ioapic_registers(void)
{
	u32 v;

	if (io_read(IOREG_VER) != (23u << 16 | 0x11))
		return bad("version register", io_read(IOREG_VER), 23u << 16 | 0x11);
	/* IOREGSEL keeps 8 bits. */
	io_sel(0xffffffff);
	if (mmio_read32(IOAPIC + IOAPIC_REGSEL) != 0xff)
		return bad("IOREGSEL after writing ~0", mmio_read32(IOAPIC + IOAPIC_REGSEL), 0xff);
	/* Index registers past the redirection table: read 0, writes go
	 * nowhere (they must not land in a neighbouring entry). */
	for (u32 r = IOREG_REDIR + 2 * IOAPIC_PINS; r < 0x100; r++) {
		io_write(r, 0xffffffff);
		if (io_read(r))
			return bad("index register past the table reads (register in want)",
				   io_read(r), r);
	}
	for (u32 r = 0x03; r < IOREG_REDIR; r++) {
		io_write(r, 0xffffffff);
		if (io_read(r))
			return bad("reserved index register reads (register in want)", io_read(r),
				   r);
	}
	/* Version and arbitration are read-only; the ID keeps bits 27:24. */
	io_write(IOREG_VER, 0);
	if (io_read(IOREG_VER) != (23u << 16 | 0x11))
		return bad("version after a write", io_read(IOREG_VER), 23u << 16 | 0x11);
	v = io_read(IOREG_ID);
	io_write(IOREG_ID, 0xffffffff);
	if (io_read(IOREG_ID) != 0x0f000000)
		return bad("ID after writing ~0", io_read(IOREG_ID), 0x0f000000);
	if (io_read(IOREG_ARB) != 0x0f000000)
		return bad("arbitration ID follows the ID", io_read(IOREG_ARB), 0x0f000000);
	io_write(IOREG_ID, v);
	/* The rest of the page: reads 0, writes ignored, any width. */
	mmio_write32(IOAPIC + 0x40, 0xffffffff); /* the EOI register of version 0x20 */
	mmio_write32(IOAPIC + 0xffc, 0xffffffff);
	wr8(IOAPIC + 0x11, 0xff);
	wr16(IOAPIC + 0x12, 0xffff);
	wr64(IOAPIC + 0x08, ~0ULL);
	if (mmio_read32(IOAPIC + 0x40) || mmio_read32(IOAPIC + 0xffc) || rd8(IOAPIC + 0x20))
		return bad("IOAPIC page outside its two registers reads",
			   mmio_read32(IOAPIC + 0x40), 0);
	io_sel(IOREG_VER);
	if (rd8(IOAPIC + IOAPIC_WINDOW) != 0x11 || rd16(IOAPIC + IOAPIC_WINDOW) != 0x11)
		return bad("narrow reads of the window", rd16(IOAPIC + IOAPIC_WINDOW), 0x11);
	if (rd64(IOAPIC + IOAPIC_WINDOW) != (23u << 16 | 0x11))
		return bad("8-byte read of the window", rd64(IOAPIC + IOAPIC_WINDOW),
			   23u << 16 | 0x11);
	return ioapic_alive();
}

/* Every pin: every bit written, read back; Delivery Status and Remote IRR
 * are read-only; then each pin unmasked with garbage (routes to KVM) and
 * masked again. Nothing is triggered: the entries are never delivered. */
static int test_ioapic_all_pins(void)
{
	for (u32 pin = 0; pin < IOAPIC_PINS; pin++) {
		u64 e;

		rte_set(pin, ~0ULL);
		e = rte_get(pin);
		if (e != (~0ULL & ~(RTE_DELIVS | RTE_REMOTE_IRR)))
			return bad("entry after writing ~0 (pin in want bits 7:0)", e,
				   (~0ULL & ~(RTE_DELIVS | RTE_REMOTE_IRR) & ~0xffULL) | pin);
		/* Every delivery mode, both destination modes, reserved bits
		 * set, unmasked: KVM's GSI routes must take them all. */
		for (u32 m = 0; m < 8; m++) {
			rte_set(pin, 0x00fffffffffe0000ULL | RTE_DEST(NO_CPU) | RTE_DELMODE(m) |
					 (m & 1 ? RTE_LOGICAL | RTE_LEVEL : 0) | (0x10 + m));
			rte_set(pin, RTE_MASKED);
		}
		/* Vectors 0-15 are illegal for fixed delivery. */
		rte_set(pin, RTE_DEST(NO_CPU) | 0x03);
		rte_set(pin, RTE_MASKED);
		if (rte_get(pin) != RTE_MASKED)
			return bad("entry after masking (pin in want)", rte_get(pin), pin);
	}
	return ioapic_alive();
}

/* ---- IOAPIC: interrupts nobody accepts ---- */

/* Pin 4 (the UART) raised with entry `e`; nothing may arrive at CPU 0. */
static int fire_nowhere(u64 e, const char *what)
{
	rte_set(4, e);
	uart_irq_pulse();
	provoked_drops++;
	rte_set(4, RTE_MASKED);
	if (lapic_irr(e & 0xff))
		return bad(what, e, 0);
	return ioapic_alive();
}

static int test_msi_no_cpu(void)
{
	lapic_enable();
	for (u32 m = 0; m < 8; m++) {
		/* No SMI, NMI, INIT or ExtINT can reach CPU 0: NO_CPU. */
		if (fire_nowhere(RTE_DEST(NO_CPU) | RTE_DELMODE(m) | VEC_EDGE,
				 "an interrupt for a missing CPU arrived (entry in got)"))
			return -1;
	}
	/* Logical destination 0 names no CPU. */
	if (fire_nowhere(RTE_LOGICAL | RTE_DEST(0) | VEC_EDGE,
			 "an interrupt for logical destination 0 arrived (entry in got)"))
		return -1;
	if (fire_nowhere(RTE_LOGICAL | RTE_DELMODE(1) | RTE_DEST(0) | VEC_EDGE,
			 "a lowest-priority interrupt for logical destination 0 arrived"))
		return -1;
	return 0;
}

/* The case from issue 12: the local APIC disabled in IA32_APIC_BASE, an
 * interrupt broadcast to all CPUs. */
static int test_msi_lapic_disabled(void)
{
	u64 base = rdmsr(MSR_APIC_BASE);

	if (!(base & APIC_BASE_EN))
		return bad("IA32_APIC_BASE at start", base, base | APIC_BASE_EN);
	wrmsr(MSR_APIC_BASE, base & ~(u64)APIC_BASE_EN);
	rte_set(4, RTE_DEST(0xff) | VEC_EDGE);
	uart_irq_pulse();
	provoked_drops++;
	rte_set(4, RTE_LEVEL | RTE_DEST(0xff) | VEC_LVL); /* level: Remote IRR */
	uart_irq_pulse();
	provoked_drops++;
	rte_set(4, RTE_MASKED);
	wrmsr(MSR_APIC_BASE, base);
	if (rdmsr(MSR_APIC_BASE) != base)
		return bad("IA32_APIC_BASE after re-enabling", rdmsr(MSR_APIC_BASE), base);
	lapic_enable();
	if (lapic_irr(VEC_EDGE) || lapic_irr(VEC_LVL))
		return bad("an interrupt sent while the APIC was off is pending", 1, 0);
	return ioapic_alive();
}

/* A level interrupt nobody accepts leaves Remote IRR clear (82093AA: it is
 * set when a local APIC accepts the message), so the pin is not stuck:
 * retargeted to CPU 0 and unmasked again with the line still high, it
 * arrives. */
static int test_level_no_cpu(void)
{
	u64 e;

	lapic_enable();
	rte_set(4, RTE_LEVEL | RTE_DEST(NO_CPU) | VEC_LVL);
	outb(COM1 + U_IER, IER_THRI); /* line up, and it stays up */
	provoked_drops++;
	e = rte_get(4);
	if (e & RTE_REMOTE_IRR)
		return bad("Remote IRR after a level interrupt no CPU accepted", e,
			   e & ~RTE_REMOTE_IRR);
	rte_set(4, RTE_MASKED | RTE_LEVEL | VEC_LVL);
	rte_set(4, RTE_LEVEL | RTE_DEST(0) | VEC_LVL); /* unmasked, line high */
	if (!lapic_irr(VEC_LVL))
		return bad("not delivered after retargeting to CPU 0: entry", rte_get(4),
			   RTE_LEVEL | RTE_REMOTE_IRR | VEC_LVL);
	hg_irq_count = 0;
	hg_irq_ack_uart = 1;
	irq_window();
	outb(COM1 + U_IER, 0);
	rte_set(4, RTE_MASKED);
	if (hg_irq_count != 1)
		return bad("interrupts taken", hg_irq_count, 1);
	return ioapic_alive();
}

/* ---- IOAPIC: interrupts CPU 0 accepts ---- */

static int test_edge_to_cpu0(void)
{
	lapic_enable();
	rte_set(4, RTE_DEST(0) | VEC_EDGE);
	uart_irq_pulse();
	if (!lapic_irr(VEC_EDGE))
		return bad("edge interrupt to CPU 0 not pending in its IRR", 0, 1);
	hg_irq_count = 0;
	hg_irq_ack_uart = 0;
	irq_window();
	rte_set(4, RTE_MASKED);
	if (hg_irq_count != 1)
		return bad("interrupts taken", hg_irq_count, 1);
	if (lapic_irr(VEC_EDGE))
		return bad("still pending after it was taken", 1, 0);
	return ioapic_alive();
}

/* Level: Remote IRR set on delivery, cleared by the EOI (KVM's EOI exit);
 * the handler lowers the line first, so nothing comes again. */
static int test_level_eoi(void)
{
	u64 e;

	lapic_enable();
	rte_set(4, RTE_LEVEL | RTE_DEST(0) | VEC_LVL);
	outb(COM1 + U_IER, IER_THRI);
	e = rte_get(4);
	if (!(e & RTE_REMOTE_IRR) || !lapic_irr(VEC_LVL))
		return bad("level interrupt to CPU 0: entry without Remote IRR", e,
			   e | RTE_REMOTE_IRR);
	hg_irq_count = 0;
	hg_irq_ack_uart = 1;
	irq_window();
	e = rte_get(4);
	outb(COM1 + U_IER, 0);
	rte_set(4, RTE_MASKED);
	if (hg_irq_count != 1)
		return bad("interrupts taken", hg_irq_count, 1);
	if (e & RTE_REMOTE_IRR)
		return bad("Remote IRR after the EOI", e, e & ~RTE_REMOTE_IRR);
	return ioapic_alive();
}

/*
 * The EOI path: a level interrupt delivered to CPU 0, the entry then
 * retargeted to a CPU that does not exist, and the handler's EOI with the
 * line still high. ember re-delivers from the EOI exit, to nobody: dropped,
 * and CPU 0 sees the interrupt once.
 */
static int test_level_eoi_redeliver_no_cpu(void)
{
	lapic_enable();
	rte_set(4, RTE_LEVEL | RTE_DEST(0) | VEC_LVL);
	outb(COM1 + U_IER, IER_THRI);
	if (!lapic_irr(VEC_LVL))
		return bad("level interrupt to CPU 0 not pending", 0, 1);
	rte_set(4, RTE_LEVEL | RTE_DEST(NO_CPU) | VEC_LVL);
	hg_irq_count = 0;
	hg_irq_ack_uart = 0; /* the EOI leaves the line high */
	irq_window();
	provoked_drops++;
	inb(COM1 + U_IIR);
	outb(COM1 + U_IER, 0);
	rte_set(4, RTE_MASKED);
	if (hg_irq_count != 1)
		return bad("interrupts taken", hg_irq_count, 1);
	return ioapic_alive();
}

/* ---- 16550 ---- */

/* Every register with and without DLAB. Nothing may be printed until the
 * UART is back as it was (loopback swallows output, DLAB diverts it). */
static int uart_registers(void)
{
	u8 v;

	outb(COM1 + U_SCR, 0x5a);
	if (inb(COM1 + U_SCR) != 0x5a)
		return bad("scratch register", inb(COM1 + U_SCR), 0x5a);
	outb(COM1 + U_IER, 0xff);
	v = inb(COM1 + U_IER);
	outb(COM1 + U_IER, 0);
	if (v != 0x0f)
		return bad("IER after writing 0xff", v, 0x0f);
	inb(COM1 + U_IIR); /* acknowledge the THR-empty interrupt that raised */
	if (inb(COM1 + U_IIR) != IIR_NONE)
		return bad("IIR with IER 0", inb(COM1 + U_IIR), IIR_NONE);
	outb(COM1 + U_IIR, 0x01); /* FCR: FIFOs on */
	v = inb(COM1 + U_IIR);
	outb(COM1 + U_IIR, 0x00);
	if (v != (0xc0 | IIR_NONE))
		return bad("IIR with the FIFOs on", v, 0xc0 | IIR_NONE);
	outb(COM1 + U_LSR, 0x00); /* read-only */
	outb(COM1 + U_MSR, 0x00);
	if (inb(COM1 + U_LSR) != (LSR_THRE | LSR_TEMT))
		return bad("LSR after a write", inb(COM1 + U_LSR), LSR_THRE | LSR_TEMT);
	if (inb(COM1 + U_MSR) != 0xb0)
		return bad("MSR (DCD, DSR, CTS)", inb(COM1 + U_MSR), 0xb0);
	outb(COM1 + U_MCR, 0xff);
	v = inb(COM1 + U_MCR);
	if (v != 0x1f) {
		outb(COM1 + U_MCR, 0);
		return bad("MCR after writing 0xff", v, 0x1f);
	}
	v = inb(COM1 + U_MSR); /* loopback: DCD=OUT2 RI=OUT1 DSR=DTR CTS=RTS */
	outb(COM1 + U_MCR, 0);
	if (v != 0xf0)
		return bad("MSR in loopback with every MCR bit", v, 0xf0);
	outb(COM1 + U_LCR, 0x1b);
	if (inb(COM1 + U_LCR) != 0x1b)
		return bad("LCR", inb(COM1 + U_LCR), 0x1b);
	/* The divisor latch: DLL and DLM behind RBR and IER. */
	outb(COM1 + U_LCR, LCR_DLAB | 0x03);
	outb(COM1 + U_RBR, 0x34); /* DLL, not a byte out */
	outb(COM1 + U_IER, 0x12); /* DLM, not IER */
	v = inb(COM1 + U_RBR);
	outb(COM1 + U_LCR, 0x03);
	if (v != 0x34)
		return bad("DLL", v, 0x34);
	outb(COM1 + U_LCR, LCR_DLAB | 0x03);
	v = inb(COM1 + U_IER);
	outb(COM1 + U_RBR, 0x01); /* 115200 baud, as it was */
	outb(COM1 + U_IER, 0x00);
	outb(COM1 + U_LCR, 0x03);
	if (v != 0x12)
		return bad("DLM", v, 0x12);
	if (inb(COM1 + U_IER) != 0)
		return bad("IER after DLM writes", inb(COM1 + U_IER), 0);
	/* Wider accesses: the low byte to the addressed register (LCR, not
	 * MCR); one that runs past the last register reaches nobody. */
	outw(COM1 + U_LCR, 0xff1b);
	if (inw(COM1 + U_LCR) != 0x001b || inb(COM1 + U_MCR) != 0)
		return bad("16-bit access at LCR: LCR, MCR",
			   inw(COM1 + U_LCR) | inb(COM1 + U_MCR) << 16, 0x1b);
	outb(COM1 + U_LCR, 0x03);
	outw(COM1 + U_SCR, 0x1234);
	outl(COM1 + U_MSR, 0xa5a5a5a5);
	if (inw(COM1 + U_SCR) != 0xffff)
		return bad("16-bit read across the end of the UART", inw(COM1 + U_SCR), 0xffff);
	if (inb(COM1 + U_SCR) != 0x5a)
		return bad("scratch after writes across the end of the UART", inb(COM1 + U_SCR),
			   0x5a);
	return 0;
}

/* Loopback: 300 bytes into a 256-byte receive FIFO. The first 256 come
 * back in order, the rest are lost, and an empty FIFO reads 0. */
static int uart_fifo_overflow(void)
{
	u32 got = 0, wrong = UART_FIFO + 1;
	u8 lsr_full, lsr_empty, extra;

	outb(COM1 + U_IIR, 0x03); /* FIFOs on, receive FIFO cleared */
	outb(COM1 + U_MCR, MCR_LOOP);
	for (u32 i = 0; i < 300; i++)
		outb(COM1 + U_RBR, (u8)(i * 7 + 1));
	lsr_full = inb(COM1 + U_LSR);
	while (got < 400 && (inb(COM1 + U_LSR) & LSR_DR)) {
		u8 b = inb(COM1 + U_RBR);

		if (b != (u8)(got * 7 + 1) && wrong > UART_FIFO)
			wrong = got;
		got++;
	}
	lsr_empty = inb(COM1 + U_LSR);
	extra = inb(COM1 + U_RBR);
	/* Clear-RX in the middle of a stream. */
	for (u32 i = 0; i < 10; i++)
		outb(COM1 + U_RBR, 0xee);
	outb(COM1 + U_IIR, 0x03);
	outb(COM1 + U_MCR, 0);
	outb(COM1 + U_IIR, 0);
	if (!(lsr_full & LSR_DR))
		return bad("LSR.DR with bytes received", lsr_full, lsr_full | LSR_DR);
	if (got != UART_FIFO)
		return bad("bytes read back from a 300-byte loopback burst", got, UART_FIFO);
	if (wrong <= UART_FIFO)
		return bad("loopback byte out of order at index", wrong, 0);
	if (lsr_empty & LSR_DR)
		return bad("LSR.DR after draining", lsr_empty, lsr_empty & ~LSR_DR);
	if (extra)
		return bad("RBR with the FIFO empty", extra, 0);
	if (inb(COM1 + U_LSR) & LSR_DR)
		return bad("LSR.DR after the FIFO was cleared", inb(COM1 + U_LSR),
			   LSR_THRE | LSR_TEMT);
	return 0;
}

/* ---- CMOS ---- */

#define CMOS_INDEX 0x70
#define CMOS_DATA  0x71
#define CMOS_NMI   0x80

static u8 cmos_rd(u8 i)
{
	outb(CMOS_INDEX, i);
	return inb(CMOS_DATA);
}

static void cmos_wr(u8 i, u8 v)
{
	outb(CMOS_INDEX, i);
	outb(CMOS_DATA, v);
}

static bool cmos_is_clock(u32 i)
{
	return i <= 0x09 || i == 0x32;
}

/* Every index, with and without the NMI bit; RAM keeps what is written;
 * C and D are read-only; A's update-in-progress bit cannot be set. */
static int test_cmos_every_index(void)
{
	static u8 saved[128];

	for (u32 i = 0; i < 128; i++)
		saved[i] = cmos_rd((u8)i);
	if (saved[0x0a] & 0x80)
		return bad("register A reads update-in-progress", saved[0x0a], 0x26);
	if (saved[0x0d] != 0x80)
		return bad("register D (valid RAM and time)", saved[0x0d], 0x80);
	for (u32 i = 0x0e; i < 128; i++) {
		if (cmos_is_clock(i))
			continue;
		cmos_wr((u8)i, (u8)(i * 7 + 3));
	}
	for (u32 i = 0x0e; i < 128; i++) {
		u8 v;

		if (cmos_is_clock(i))
			continue;
		v = cmos_rd((u8)(i | CMOS_NMI));
		if (v != (u8)(i * 7 + 3))
			return bad("RAM byte through the NMI bit (index in want bits 15:8)", v,
				   (u8)(i * 7 + 3) | i << 8);
		if (cmos_rd((u8)i) != v)
			return bad("RAM byte without the NMI bit (index in want)", cmos_rd((u8)i),
				   i);
	}
	cmos_wr(0x0c, 0xff);
	cmos_wr(0x0d, 0x00);
	cmos_wr(0x0a, 0xff);
	if (cmos_rd(0x0c) != 0 || cmos_rd(0x0d) != 0x80)
		return bad("registers C, D after writes", cmos_rd(0x0c) | cmos_rd(0x0d) << 8,
			   0x8000);
	if (cmos_rd(0x0a) != 0x7f)
		return bad("register A after writing 0xff", cmos_rd(0x0a), 0x7f);
	cmos_wr(0x0a, saved[0x0a]);
	for (u32 i = 0x0e; i < 128; i++) {
		if (!cmos_is_clock(i))
			cmos_wr((u8)i, saved[i]);
	}
	/* The index port reads as nothing; past the two ports, nobody. */
	if (inb(CMOS_INDEX) != 0xff || inb(0x72) != 0xff || inb(0x73) != 0xff)
		return bad("index port or 0x72/0x73 read", inb(CMOS_INDEX), 0xff);
	/* A 16-bit write at the index port: index byte, then data byte. */
	outw(CMOS_INDEX, 0x5540);
	if (cmos_rd(0x40) != 0x55)
		return bad("RAM byte written by a 16-bit access", cmos_rd(0x40), 0x55);
	outb(CMOS_INDEX, 0x40);
	if (inw(CMOS_INDEX) != 0x55ff)
		return bad("16-bit read at the index port", inw(CMOS_INDEX), 0x55ff);
	cmos_wr(0x40, saved[0x40]);
	return 0;
}

/* Nonsense written into the clock (bad BCD, binary, 12-hour, years ember
 * cannot represent), then the clock put back: it must read what was put
 * back, give or take a minute. */
static int test_cmos_clock_nonsense(void)
{
	static const u8 regs[] = { 0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32 };
	static const u8 junk[][8] = {
		{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		{ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 },
		{ 0x59, 0x59, 0x23, 0x07, 0x31, 0x12, 0x99, 0x99 },
		{ 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x00 },
	};
	static const u8 modes[] = { 0x02, 0x00, 0x06, 0x04 }; /* 24h/12h x BCD/binary */
	u8 saved[8], b = cmos_rd(0x0b), now_min;

	outb(CMOS_INDEX, 0x0b);
	outb(CMOS_DATA, b | 0x80); /* SET: the clock stops, registers latched */
	for (u32 i = 0; i < 8; i++)
		saved[i] = cmos_rd(regs[i]);
	for (u32 m = 0; m < ARRAY_SIZE(modes); m++) {
		for (u32 j = 0; j < ARRAY_SIZE(junk); j++) {
			cmos_wr(0x0b, modes[m] | 0x80);
			for (u32 i = 0; i < 8; i++)
				cmos_wr(regs[i], junk[j][i]);
			cmos_wr(0x0b, modes[m]); /* SET cleared: ember reads the time */
			for (u32 i = 0; i < 8; i++)
				cmos_rd(regs[i]);
		}
	}
	cmos_wr(0x0b, b | 0x80);
	for (u32 i = 0; i < 8; i++)
		cmos_wr(regs[i], saved[i]);
	cmos_wr(0x0b, b);
	now_min = cmos_rd(0x02);
	if (cmos_rd(0x0b) != b)
		return bad("register B after the clock was put back", cmos_rd(0x0b), b);
	if (cmos_rd(0x32) != saved[7] || cmos_rd(0x09) != saved[6])
		return bad("century, year after the clock was put back",
			   cmos_rd(0x32) << 8 | cmos_rd(0x09), saved[7] << 8 | saved[6]);
	if (!(b & 0x04)) { /* BCD */
		now_min = (u8)((now_min >> 4) * 10 + (now_min & 15));
		saved[1] = (u8)((saved[1] >> 4) * 10 + (saved[1] & 15));
	}
	if ((now_min + 60 - saved[1]) % 60 > 1)
		return bad("minutes after the clock was put back", now_min, saved[1]);
	return 0;
}

/* ---- i8042 ---- */

#define KBD_DATA    0x60
#define KBD_STATUS  0x64
#define STR_OBF	    0x01
#define STR_IBF	    0x02
#define STR_CMDDAT  0x08
#define STR_KEYLOCK 0x10
#define STR_AUXDATA 0x20
#define STR_TIMEOUT 0x40
#define CTR_KBDINT  0x01
#define CTR_AUXINT  0x02
#define CTR_KBDDIS  0x10
#define CTR_AUXDIS  0x20

static void kbd_drain(void)
{
	for (u32 i = 0; i < 64 && (inb(KBD_STATUS) & STR_OBF); i++)
		inb(KBD_DATA);
}

/* Command `cmd` must answer `want` with status bits `st` (besides OBF). */
static int kbd_reply(u8 cmd, u8 want, u8 st)
{
	u8 s, v;

	kbd_drain();
	outb(KBD_STATUS, cmd);
	s = inb(KBD_STATUS);
	if (!(s & STR_OBF))
		return bad("no reply to command (command in want bits 15:8)", s, cmd << 8 | want);
	if ((s & (STR_AUXDATA | STR_TIMEOUT)) != st)
		return bad("status of the reply (command in want bits 15:8)", s, cmd << 8 | st);
	v = inb(KBD_DATA);
	if (v != want)
		return bad("reply to command (command in want bits 15:8)", v, cmd << 8 | want);
	if (inb(KBD_STATUS) & STR_OBF)
		return bad("output buffer still full after the read (command in want)",
			   inb(KBD_STATUS), cmd);
	return 0;
}

static u8 kbd_ctr(void)
{
	kbd_drain();
	outb(KBD_STATUS, 0x20);
	return inb(KBD_DATA);
}

static int test_i8042_commands(void)
{
	u8 ctr, s, outp;

	kbd_drain();
	s = inb(KBD_STATUS);
	if (s & (STR_OBF | STR_IBF) || !(s & STR_KEYLOCK))
		return bad("status at rest", s, STR_KEYLOCK);
	ctr = kbd_ctr();
	if (kbd_reply(0xaa, 0x55, 0) || kbd_reply(0xab, 0x00, 0) || kbd_reply(0xa9, 0x00, 0))
		return -1;
	if (!(inb(KBD_STATUS) & STR_CMDDAT))
		return bad("status after a command: CMD/DATA", inb(KBD_STATUS), STR_CMDDAT);
	/* CTR round trip; keyboard/AUX disable commands show in it. */
	outb(KBD_STATUS, 0x60);
	outb(KBD_DATA, 0x74);
	if (kbd_ctr() != 0x74)
		return bad("CTR after writing 0x74", kbd_ctr(), 0x74);
	outb(KBD_STATUS, 0xa8);
	outb(KBD_STATUS, 0xad);
	if (kbd_ctr() != ((0x74 & ~CTR_AUXDIS) | CTR_KBDDIS))
		return bad("CTR after 0xA8, 0xAD", kbd_ctr(), (0x74 & ~CTR_AUXDIS) | CTR_KBDDIS);
	outb(KBD_STATUS, 0xa7);
	outb(KBD_STATUS, 0xae);
	if (kbd_ctr() != (0x74 & ~CTR_KBDDIS))
		return bad("CTR after 0xA7, 0xAE", kbd_ctr(), 0x74 & ~CTR_KBDDIS);
	outb(KBD_STATUS, 0x60);
	outb(KBD_DATA, ctr);
	if (kbd_ctr() != ctr)
		return bad("CTR put back", kbd_ctr(), ctr);
	/* Output port: bit 0 clear would reset a real PC; ember keeps 0xFE
	 * on 0x64 as the one reset path. */
	kbd_drain();
	outb(KBD_STATUS, 0xd0);
	outp = inb(KBD_DATA);
	outb(KBD_STATUS, 0xd1);
	outb(KBD_DATA, 0x00);
	if (kbd_reply(0xd0, 0x00, 0))
		return -1;
	outb(KBD_STATUS, 0xd1);
	outb(KBD_DATA, outp);
	/* AUX loopback, a byte for the AUX device, a byte for the keyboard. */
	kbd_drain();
	outb(KBD_STATUS, 0xd3);
	outb(KBD_DATA, 0x5a);
	s = inb(KBD_STATUS);
	if ((s & (STR_OBF | STR_AUXDATA)) != (STR_OBF | STR_AUXDATA) || inb(KBD_DATA) != 0x5a)
		return bad("AUX loopback: status", s, STR_OBF | STR_AUXDATA);
	outb(KBD_STATUS, 0xd4);
	outb(KBD_DATA, 0xff);
	s = inb(KBD_STATUS);
	if ((s & (STR_OBF | STR_AUXDATA | STR_TIMEOUT)) != (STR_OBF | STR_AUXDATA | STR_TIMEOUT) ||
	    inb(KBD_DATA) != 0xfe)
		return bad("byte for the AUX device: status", s,
			   STR_OBF | STR_AUXDATA | STR_TIMEOUT);
	outb(KBD_DATA, 0xed); /* no command pending: for the keyboard */
	s = inb(KBD_STATUS);
	if ((s & (STR_OBF | STR_AUXDATA | STR_TIMEOUT)) != (STR_OBF | STR_TIMEOUT) ||
	    inb(KBD_DATA) != 0xfe)
		return bad("byte for the keyboard: status", s, STR_OBF | STR_TIMEOUT);
	/* Reading an empty buffer: OBF stays clear. */
	inb(KBD_DATA);
	if (inb(KBD_STATUS) & STR_OBF)
		return bad("OBF after reading an empty buffer", inb(KBD_STATUS), 0);
	return 0;
}

/* Every other command byte (0xFE, the reset, aside) changes nothing and
 * answers nothing; 16- and 32-bit accesses are ignored, so `outw 0x00fe`
 * to 0x64 is no reset and `inw` does not take a byte. */
static int test_i8042_unknown_and_wide(void)
{
	u8 ctr = kbd_ctr();

	for (u32 c = 0; c < 0x100; c++) {
		switch (c) {
		case 0x20:
		case 0x60:
		case 0xa7:
		case 0xa8:
		case 0xa9:
		case 0xaa:
		case 0xab:
		case 0xad:
		case 0xae:
		case 0xd0:
		case 0xd1:
		case 0xd3:
		case 0xd4:
		case 0xfe:
			continue;
		}
		kbd_drain();
		outb(KBD_STATUS, (u8)c);
		if (inb(KBD_STATUS) & STR_OBF)
			return bad("unknown command answered (command in want)", inb(KBD_DATA), c);
	}
	if (kbd_ctr() != ctr)
		return bad("CTR after every unknown command", kbd_ctr(), ctr);
	outw(KBD_STATUS, 0x00fe);
	outl(KBD_STATUS, 0xfefefefe);
	outw(KBD_STATUS, 0x0020);
	if (inb(KBD_STATUS) & STR_OBF)
		return bad("a 16-bit command was taken: status", inb(KBD_STATUS), STR_KEYLOCK);
	outb(KBD_STATUS, 0x20);
	if (inw(KBD_DATA) != 0 || inl(KBD_DATA) != 0)
		return bad("16/32-bit read of the data port", inw(KBD_DATA), 0);
	if (!(inb(KBD_STATUS) & STR_OBF) || inb(KBD_DATA) != ctr)
		return bad("the reply after 16/32-bit reads", inb(KBD_STATUS), STR_OBF);
	if (inb(0x61) || inb(0x62) || inb(0x63))
		return bad("ports 0x61-0x63", inb(0x61), 0);
	return 0;
}

/* IRQ 1 and 12 to nobody: the local APIC disabled, a broadcast. */
static int test_i8042_irq_no_cpu(void)
{
	u64 base = rdmsr(MSR_APIC_BASE);
	u8 ctr = kbd_ctr();

	kbd_drain();
	wrmsr(MSR_APIC_BASE, base & ~(u64)APIC_BASE_EN);
	rte_set(1, RTE_DEST(0xff) | VEC_EDGE);
	rte_set(12, RTE_DEST(0xff) | VEC_EDGE);
	outb(KBD_DATA, 0xf4); /* for the keyboard: the NAK comes on IRQ 1 */
	provoked_drops++;
	inb(KBD_DATA);
	outb(KBD_STATUS, 0x60);
	outb(KBD_DATA, (ctr | CTR_AUXINT) & ~CTR_AUXDIS);
	outb(KBD_STATUS, 0xd3);
	outb(KBD_DATA, 0x11); /* the loopback byte on IRQ 12 */
	provoked_drops++;
	inb(KBD_DATA);
	rte_set(1, RTE_MASKED);
	rte_set(12, RTE_MASKED);
	wrmsr(MSR_APIC_BASE, base);
	lapic_enable();
	outb(KBD_STATUS, 0x60);
	outb(KBD_DATA, ctr);
	if (kbd_ctr() != ctr)
		return bad("CTR put back", kbd_ctr(), ctr);
	return ioapic_alive();
}

void legacy_tests(void)
{
	setup_idt();
	outb(COM1 + U_IER, 0);
	report("ioapic-registers", test_ioapic_registers());
	report("ioapic-every-pin-every-bit", test_ioapic_all_pins());
	report("ioapic-edge-to-cpu0", test_edge_to_cpu0());
	report("ioapic-level-eoi", test_level_eoi());
	report("ioapic-msi-no-such-cpu", test_msi_no_cpu());
	report("ioapic-msi-lapic-disabled-broadcast", test_msi_lapic_disabled());
	report("ioapic-level-no-cpu-remote-irr", test_level_no_cpu());
	report("ioapic-level-eoi-redelivered-to-no-cpu", test_level_eoi_redeliver_no_cpu());
	report("uart-every-register", uart_registers());
	report("uart-loopback-fifo-overflow", uart_fifo_overflow());
	report("cmos-every-index", test_cmos_every_index());
	report("cmos-clock-nonsense", test_cmos_clock_nonsense());
	report("i8042-commands", test_i8042_commands());
	report("i8042-unknown-commands-and-wide-accesses", test_i8042_unknown_and_wide());
	report("i8042-irqs-to-no-cpu", test_i8042_irq_no_cpu());
	uart_puts("hostileguest: provoked ");
	uart_put_dec(provoked_drops);
	uart_puts(" interrupts no CPU accepts\n");
}
