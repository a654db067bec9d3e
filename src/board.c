// SPDX-License-Identifier: MIT
#include "board.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "boot/cmdline.h"
#include "console.h"
#include "dev/virtio_blk.h"
#include "dev/virtio_console.h"
#include "dev/virtio_net.h"
#include "dev/virtio_rng.h"
#include "dev/virtio_vsock.h"
#include "snapshot/snapfile.h"
#include "trace.h"
#include "util.h"

static void stop(struct board *b, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void stop(struct board *b, int status, const char *fmt, ...)
{
	char reason[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	b->env.stop(b->env.ctx, status, reason);
}

/* Device callbacks: the devices know nothing about KVM or the VM. */
static void on_console_output(void *ctx)
{
	struct board *b = ctx;

	if (b->env.trace)
		trace_mark(b->env.trace, "first console byte", true);
}

/* A byte the guest sent to the 16550 (under the UART's lock). */
static void on_uart_tx(void *ctx, uint8_t byte)
{
	struct board *b = ctx;
	uint64_t wait;

	on_console_output(b);
	if (rate_limiter_enabled(&b->serial_rl) &&
	    !rate_limiter_consume(&b->serial_rl, rate_limiter_now_ns(), 1, 0, &wait)) {
		counter_add(&b->serial_dropped, 1);
		return;
	}
	console_out_put(b->env.out, &byte, 1);
}

static void on_uart_irq(void *ctx, int level)
{
	struct board *b = ctx;

	ioapic_set_irq(&b->ioapic, PORT_COM1_IRQ, level);
}

/*
 * KVM_SIGNAL_MSI returns how many local APICs took the message. The guest
 * chooses the message (its IOAPIC redirection entry), and it may name no
 * CPU at all: a destination no vCPU has, logical destination 0, or every
 * CPU while its local APIC is disabled. KVM then returns 0 (a destination
 * that matched nothing, or an APIC that ignored the message) or -1, which
 * user space sees as EPERM (kvm_irq_delivery_to_apic() found no APIC).
 * Both are the guest's doing and lose the interrupt, as a PC would: count
 * it and go on. Any other error is ember's or the host's, and ends the VM.
 */
static bool on_ioapic_deliver(void *ctx, unsigned pin, const struct ioapic_msi *m)
{
	struct board *b = ctx;
	struct kvm_msi msi = {
		.address_lo = (uint32_t)m->address,
		.address_hi = (uint32_t)(m->address >> 32),
		.data = m->data,
	};
	int r = ioctl(b->env.vm_fd, KVM_SIGNAL_MSI, &msi);

	if (r > 0)
		return true;
	if (r == 0 || errno == EPERM) {
		counter_add(&b->irq_dropped, 1);
		return false;
	}
	stop(b, EMBER_EXIT_ERROR, "KVM_SIGNAL_MSI for IOAPIC pin %u: %s", pin, strerror(errno));
	return false;
}

/* Mirror the unmasked redirection entries into KVM's GSI routes: KVM's split
 * irqchip derives from them which vectors are level-triggered and must exit
 * with KVM_EXIT_IOAPIC_EOI. */
static void on_ioapic_routes(void *ctx, const struct ioapic_msi routes[IOAPIC_PINS],
			     uint32_t unmasked)
{
	struct board *b = ctx;
	union {
		struct kvm_irq_routing hdr;
		uint8_t bytes[sizeof(struct kvm_irq_routing) +
			      IOAPIC_PINS * sizeof(struct kvm_irq_routing_entry)];
	} r;
	unsigned n = 0;

	memset(&r, 0, sizeof(r));
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		struct kvm_irq_routing_entry *e = &r.hdr.entries[n];

		if (!(unmasked & (1u << pin)))
			continue;
		e->gsi = pin;
		e->type = KVM_IRQ_ROUTING_MSI;
		e->u.msi.address_lo = (uint32_t)routes[pin].address;
		e->u.msi.address_hi = (uint32_t)(routes[pin].address >> 32);
		e->u.msi.data = routes[pin].data;
		n++;
	}
	r.hdr.nr = n;
	/* KVM_SET_GSI_ROUTING waits for an SRCU grace period: the cost of a
	 * restore's first KVM_RUN (3.4 ms on the emulated /dev/kvm) for a
	 * table that has not changed. KVM starts with none (split irqchip). */
	if (n == b->nroutes &&
	    memcmp(b->routes, r.hdr.entries, n * sizeof(r.hdr.entries[0])) == 0)
		return;
	if (ioctl(b->env.vm_fd, KVM_SET_GSI_ROUTING, &r.hdr) < 0) {
		stop(b, EMBER_EXIT_ERROR, "KVM_SET_GSI_ROUTING: %s", strerror(errno));
		return;
	}
	memcpy(b->routes, r.hdr.entries, n * sizeof(r.hdr.entries[0]));
	b->nroutes = n;
}

static void on_reset(void *ctx)
{
	stop(ctx, EMBER_EXIT_OK, "guest reset (i8042 reset command)");
}

static void on_acpi_poweroff(void *ctx)
{
	stop(ctx, EMBER_EXIT_OK, "guest powered off (ACPI S5)");
}

static void on_acpi_reset(void *ctx)
{
	stop(ctx, EMBER_EXIT_OK, "guest reset (ACPI reset register)");
}

static void on_i8042_irq(void *ctx, unsigned irq, int level)
{
	struct board *b = ctx;

	ioapic_set_irq(&b->ioapic, irq, level);
}

static void on_marker(void *ctx)
{
	struct board *b = ctx;

	if (b->env.trace)
		trace_mark(b->env.trace, "boot marker", true);
	if (b->env.marker)
		b->env.marker(b->env.ctx);
}

int board_create(struct board *b, const struct board_env *env)
{
	const struct uart_callbacks ucb = { .tx = on_uart_tx, .irq = on_uart_irq, .ctx = b };
	const struct i8042_callbacks kcb = { .reset = on_reset, .irq = on_i8042_irq, .ctx = b };
	const struct acpi_pm_callbacks pcb = {
		.poweroff = on_acpi_poweroff,
		.reset = on_acpi_reset,
		.ctx = b,
	};
	const struct ioapic_callbacks icb = {
		.deliver = on_ioapic_deliver,
		.routes_changed = on_ioapic_routes,
		.ctx = b,
	};
	struct {
		struct bus *bus;
		uint64_t base, len;
		const struct bus_ops *ops;
		void *opaque;
	} table[] = {
		{ &b->pio, PORT_COM1, 8, &uart_bus_ops, &b->uart },
		{ &b->pio, PORT_I8042_DATA, I8042_NPORTS, &i8042_bus_ops, &b->i8042 },
		{ &b->pio, PORT_BOOT_MARKER, 1, &boot_marker_bus_ops, &b->marker },
		{ &b->pio, PORT_CMOS_INDEX, 2, &cmos_bus_ops, &b->cmos },
		{ &b->pio, ACPI_PM_PORT, ACPI_PM_NPORTS, &acpi_pm_bus_ops, &b->acpi_pm },
		{ &b->mmio, LAYOUT_BOOT_MARKER, LAYOUT_BOOT_MARKER_LEN, &boot_marker_bus_ops,
		  &b->marker },
		{ &b->mmio, LAYOUT_IOAPIC, IOAPIC_MMIO_SIZE, &ioapic_bus_ops, &b->ioapic },
	};

	memset(b, 0, sizeof(*b));
	b->env = *env;
	bus_init(&b->pio, "port", env->cfg->debug);
	bus_init(&b->mmio, "mmio", env->cfg->debug);
	uart_init(&b->uart, &ucb);
	ioapic_init(&b->ioapic, &icb);
	cmos_init(&b->cmos, NULL, NULL);
	b->ioapic.id = env->cfg->ncpus << 24; /* as the MP table says */
	i8042_init(&b->i8042, &kcb);
	acpi_pm_init(&b->acpi_pm, &pcb);
	b->marker = (struct boot_marker){ .marked = on_marker, .ctx = b };
	{
		const struct rate_limiter_config rl = { .bandwidth = env->cfg->serial.rl };

		rate_limiter_init(&b->serial_rl, &rl);
	}
	b->legacy_ready = true;
	for (unsigned i = 0; i < ARRAY_SIZE(table); i++) {
		int err = bus_register(table[i].bus, table[i].base, table[i].len, table[i].ops,
				       table[i].opaque);

		if (err)
			return ember_seterr(err, "%s bus: cannot register %s at 0x%llx",
					    table[i].bus->name, table[i].ops->name,
					    (unsigned long long)table[i].base);
	}
	return 0;
}

static int append_cmdline(struct board *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int append_cmdline(struct board *b, const char *fmt, ...)
{
	size_t len = strlen(b->devwords);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b->devwords + len, sizeof(b->devwords) - len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(b->devwords) - len) {
		b->devwords[len] = '\0';
		return ember_seterr(-E2BIG,
				    "kernel command line: the device parameters "
				    "alone are over %zu bytes",
				    sizeof(b->devwords) - 1);
	}
	return 0;
}

/*
 * The virtio devices. Each kind says how many the configuration asks for
 * and adds one of them: its model's constructor and argument, and any
 * command-line words beyond the virtio_mmio.device= one that every device
 * gets. The table's order is the order of the MMIO slots and of Linux's
 * probe: disks first, so that disks[N] is /dev/vd<a+N>.
 */
struct virtio_kind {
	const char *name;
	unsigned (*count)(const struct ember_config *cfg);
	int (*add)(struct board *b, unsigned index);
};

static unsigned count_disks(const struct ember_config *cfg)
{
	return cfg->ndisks;
}

static int add_disk(struct board *b, unsigned i)
{
	const struct ember_config *cfg = b->env.cfg;
	const struct disk_config *d = &cfg->disks[i];
	int err = vm_virtio_add(b, virtio_blk_create, d, i);

	if (err || cfg->root_disk != (int)i)
		return err;
	/* Firecracker's convention for the root device. */
	if (d->partuuid[0])
		return append_cmdline(b, " root=PARTUUID=%s %s", d->partuuid, d->ro ? "ro" : "rw");
	return append_cmdline(b, " root=/dev/vd%c %s", 'a' + i, d->ro ? "ro" : "rw");
}

static unsigned count_nets(const struct ember_config *cfg)
{
	return cfg->nnets;
}

static int add_net(struct board *b, unsigned i)
{
	return vm_virtio_add(b, virtio_net_create, &b->env.cfg->nets[i], i);
}

static unsigned count_vsock(const struct ember_config *cfg)
{
	return cfg->vsock.enabled;
}

static int add_vsock(struct board *b, unsigned i)
{
	return vm_virtio_add(b, virtio_vsock_create, &b->env.cfg->vsock, i);
}

static unsigned count_rng(const struct ember_config *cfg)
{
	return cfg->rng.enabled;
}

static int add_rng(struct board *b, unsigned i)
{
	return vm_virtio_add(b, virtio_rng_create, &b->env.cfg->rng, i);
}

static unsigned count_console(const struct ember_config *cfg)
{
	return cfg->console == CONSOLE_VIRTIO;
}

static int add_console(struct board *b, unsigned i)
{
	struct virtio_console_args a = {
		.output = b->env.out,
		.first_output = on_console_output,
		.ctx = b,
		.out = &b->vcon,
	};
	int err = vm_virtio_add(b, virtio_console_create, &a, i);

	return err ? err : virtio_console_attach(b->vcon);
}

static const struct virtio_kind virtio_kinds[] = {
	{ "blk", count_disks, add_disk },	   { "net", count_nets, add_net },
	{ "vsock", count_vsock, add_vsock },	   { "rng", count_rng, add_rng },
	{ "console", count_console, add_console },
};

int board_add_devices(struct board *b)
{
	const struct ember_config *cfg = b->env.cfg;

	size_t words, room;

	b->devwords[0] = '\0';
	for (unsigned k = 0; k < ARRAY_SIZE(virtio_kinds); k++) {
		unsigned n = virtio_kinds[k].count(cfg);

		for (unsigned i = 0; i < n; i++) {
			int err = virtio_kinds[k].add(b, i);

			if (err)
				return err;
		}
	}
	/* Linux keeps 2047 bytes of command line (COMMAND_LINE_SIZE) and
	 * drops the rest: the limit is on the whole, ember's words included. */
	if (cmdline_compose(b->cmdline, sizeof(b->cmdline), cfg->cmdline, b->devwords) >= 0)
		return 0;
	words = strlen(b->devwords);
	room = words < sizeof(b->cmdline) - 1 ? sizeof(b->cmdline) - 1 - words : 0;
	return ember_seterr(-E2BIG,
			    "kernel command line: %zu bytes with the %zu bytes of device "
			    "parameters ember adds, over Linux's limit of %zu; with these "
			    "devices the given command line can have at most %zu bytes",
			    strlen(cfg->cmdline) + words, words, sizeof(b->cmdline) - 1, room);
}

int board_start(struct board *b)
{
	for (unsigned i = 0; i < b->nvirtio; i++) {
		int err = worker_start(&b->virtio[i]->worker);

		if (err)
			return err;
	}
	return 0;
}

void board_pause(struct board *b)
{
	for (unsigned i = 0; i < b->nvirtio; i++)
		worker_pause(&b->virtio[i]->worker);
}

void board_resume(struct board *b)
{
	for (unsigned i = 0; i < b->nvirtio; i++)
		worker_resume(&b->virtio[i]->worker);
}

void board_close_input(struct board *b)
{
	uart_close(&b->uart);
	if (b->vcon)
		virtio_console_close(b->vcon);
}

int board_console_input(void *ctx, const uint8_t *buf, size_t len, bool wait)
{
	struct board *b = ctx;

	if (b->vcon)
		return virtio_console_input(b->vcon, buf, len, wait);
	return uart_input(&b->uart, buf, len, wait);
}

void board_report(struct board *b)
{
	uint64_t n = atomic_load(&b->irq_dropped);

	if (b->env.cfg->debug && n)
		fprintf(stderr,
			"ember: debug: %" PRIu64 " interrupts dropped: no CPU accepted them\n", n);
}

void board_eoi(void *ctx, unsigned vector)
{
	struct board *b = ctx;

	ioapic_eoi(&b->ioapic, (uint8_t)vector);
}

/* --- snapshots ------------------------------------------------------------ */

#define TAG_UART SNAP_TAG('U', 'A', 'R', 'T')
#define TAG_IOAP SNAP_TAG('I', 'O', 'A', 'P')
#define TAG_KBC	 SNAP_TAG('K', 'B', 'C', ' ')
#define TAG_CMOS SNAP_TAG('C', 'M', 'O', 'S')
#define TAG_VIRT SNAP_TAG('V', 'I', 'R', 'T')

void board_save(struct board *b, struct snap_w *w)
{
	snap_begin(w, TAG_IOAP, 0);
	ioapic_save(&b->ioapic, w);
	snap_begin(w, TAG_UART, 0);
	uart_save(&b->uart, w);
	snap_begin(w, TAG_KBC, 0);
	i8042_save(&b->i8042, w);
	snap_begin(w, TAG_CMOS, 0);
	cmos_save(&b->cmos, w);
	for (unsigned i = 0; i < b->nvirtio; i++) {
		snap_begin(w, TAG_VIRT, b->virtio[i]->index);
		virtio_save(&b->virtio[i]->dev, w);
	}
}

/* The section tag/instance as a reader, or an error naming what is missing. */
static int section(const struct snap_file *f, uint32_t tag, uint32_t instance, const char *what,
		   struct snap_r *r)
{
	const struct snap_section *s = snap_find(f, tag, instance);

	if (!s)
		return ember_seterr(-EINVAL, "the snapshot has no state for the %s", what);
	snap_r_init(r, s->data, s->len);
	return 0;
}

int board_load(struct board *b, const struct snap_file *f)
{
	struct snap_r r;
	unsigned nvirt = 0;
	int err;

	for (unsigned i = 0; i < f->nsections; i++)
		nvirt += f->sec[i].tag == TAG_VIRT;
	if (nvirt != b->nvirtio)
		return ember_seterr(-EINVAL, "the snapshot has %u virtio devices, its "
					     "configuration gives %u",
				    nvirt, b->nvirtio);
	/* The IOAPIC first: it installs the interrupt routes the others'
	 * interrupts take. */
	err = section(f, TAG_IOAP, 0, "IOAPIC", &r);
	if (!err && ioapic_load(&b->ioapic, &r))
		err = ember_seterr(-EINVAL, "IOAPIC state: damaged");
	if (!err)
		err = section(f, TAG_UART, 0, "serial port", &r);
	if (!err && uart_load(&b->uart, &r))
		err = ember_seterr(-EINVAL, "serial port state: damaged");
	if (!err)
		err = section(f, TAG_KBC, 0, "i8042", &r);
	if (!err && i8042_load(&b->i8042, &r))
		err = ember_seterr(-EINVAL, "i8042 state: damaged");
	if (!err)
		err = section(f, TAG_CMOS, 0, "CMOS RTC", &r);
	if (!err && cmos_load(&b->cmos, &r))
		err = ember_seterr(-EINVAL, "CMOS RTC state: damaged");
	for (unsigned i = 0; i < b->nvirtio && !err; i++) {
		struct vm_virtio *s = b->virtio[i];

		err = section(f, TAG_VIRT, s->index, "virtio device in slot", &r);
		if (!err)
			err = virtio_load(&s->dev, &r);
	}
	return err;
}

int board_flush_disks(struct board *b)
{
	for (unsigned i = 0; i < b->nvirtio; i++) {
		struct vm_virtio *s = b->virtio[i];
		struct virtio_blk *blk = s->model;

		if (strcmp(s->dev.ops->name, "blk") || blk->fd < 0 || blk->ro)
			continue;
		if (fdatasync(blk->fd) < 0 && errno != EINVAL)
			return ember_seterr(-errno, "flushing disk %s: %s", blk->path,
					    strerror(errno));
	}
	return 0;
}

void board_kick_all(struct board *b)
{
	for (unsigned i = 0; i < b->nvirtio; i++) {
		struct vm_virtio *s = b->virtio[i];

		if (!s->dev.live)
			continue;
		for (unsigned q = 0; q < s->dev.ops->nqueues; q++)
			if (s->dev.queues[q].ready)
				worker_kick(&s->worker, q);
	}
}

struct vm_virtio *board_find(struct board *b, const char *kind, unsigned index)
{
	for (unsigned i = 0; i < b->nvirtio; i++) {
		struct vm_virtio *s = b->virtio[i];

		if (s->dev.ops && strcmp(s->dev.ops->name, kind) == 0 && s->kind_index == index)
			return s;
	}
	return NULL;
}

void board_destroy(struct board *b)
{
	vm_virtio_destroy(b);
	if (b->legacy_ready) {
		i8042_destroy(&b->i8042);
		uart_destroy(&b->uart);
		ioapic_destroy(&b->ioapic);
		cmos_destroy(&b->cmos);
		bus_destroy(&b->pio);
		bus_destroy(&b->mmio);
		b->legacy_ready = false;
	}
}
