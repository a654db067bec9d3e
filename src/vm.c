// SPDX-License-Identifier: MIT
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/layout.h"
#include "boot/loader.h"
#include "boot/mptable.h"
#include "console.h"
#include "util.h"
#include "vcpu.h"
#include "vm_virtio.h"
#include "dev/virtio_blk.h"
#include "dev/virtio_net.h"
#include "dev/virtio_rng.h"
#include "dev/virtio_console.h"
#include "dev/virtio_vsock.h"

/* Intel VMX needs three pages for the real-mode TSS; put them at the top of
 * the MMIO window, where nothing else lives (as QEMU and Firecracker do). */
#define KVM_TSS_ADDR 0xfffbd000ULL

static int kvm_check_cap(int kvm_fd, long cap)
{
	int r = ioctl(kvm_fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

static int open_kvm(struct vm *vm)
{
	int version;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int err = -errno;

		if (err == -ENOENT)
			return ember_seterr(err, "/dev/kvm: not found (is the kvm module loaded, "
						 "and does this machine have virtualization?)");
		if (err == -EACCES || err == -EPERM)
			return ember_seterr(err, "/dev/kvm: permission denied (add yourself to "
						 "the kvm group or run as root)");
		return ember_seterr(err, "/dev/kvm: %s", strerror(-err));
	}
	version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION)
		return ember_seterr(-ENOTSUP, "/dev/kvm: API version %d, ember needs %d", version,
				    KVM_API_VERSION);
	static const struct {
		long cap;
		const char *name;
	} needed[] = {
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
		{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
		{ KVM_CAP_SPLIT_IRQCHIP, "KVM_CAP_SPLIT_IRQCHIP" },
		{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
		{ KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI" },
		{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
		{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(needed); i++)
		if (!kvm_check_cap(vm->kvm_fd, needed[i].cap))
			return ember_seterr(-ENOTSUP, "/dev/kvm: missing %s", needed[i].name);
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size < (int)sizeof(struct kvm_run))
		return ember_seterr(-ENOTSUP, "/dev/kvm: bad vCPU mmap size %d", vm->run_size);
	vm->max_vcpus = (unsigned)kvm_check_cap(vm->kvm_fd, KVM_CAP_MAX_VCPUS);
	if (vm->max_vcpus == 0)
		vm->max_vcpus = (unsigned)kvm_check_cap(vm->kvm_fd, KVM_CAP_NR_VCPUS);
	if (vm->max_vcpus == 0)
		vm->max_vcpus = 4; /* the documented default when the cap is absent */
	vm->tsc_deadline = kvm_check_cap(vm->kvm_fd, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	return 0;
}

static int get_host_cpuid(struct vm *vm)
{
	for (unsigned n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return -ENOMEM;
		c->nent = n;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			vm->host_cpuid = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG)
			return ember_seterr(-errno, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
	}
	return ember_seterr(-E2BIG, "KVM_GET_SUPPORTED_CPUID: too many entries");
}

/* Highest guest-physical address the host's CPU can map for the guest. */
static uint64_t max_guest_phys(const struct vm *vm)
{
	for (uint32_t i = 0; i < vm->host_cpuid->nent; i++)
		if (vm->host_cpuid->entries[i].function == 0x80000008) {
			unsigned bits = vm->host_cpuid->entries[i].eax & 0xff;

			if (bits >= 32 && bits < 64)
				return 1ULL << bits;
		}
	return 1ULL << 36; /* architectural minimum with PAE */
}

static int map_memory(struct vm *vm)
{
	uint64_t size = vm->cfg->mem_size, top;
	int err;

	top = size > LAYOUT_MMIO_START ? LAYOUT_HIGH_RAM + (size - LAYOUT_MMIO_START) : size;
	if (top > max_guest_phys(vm))
		return ember_seterr(-E2BIG,
				    "--memory: %llu MiB does not fit the host's %llu GiB guest "
				    "physical address space",
				    (unsigned long long)(size >> 20),
				    (unsigned long long)(max_guest_phys(vm) >> 30));
	err = guest_mem_map(&vm->mem, size, vm->cfg->thp);
	if (err)
		return ember_seterr(err, "--memory: cannot map %llu MiB of guest RAM: %s",
				    (unsigned long long)(size >> 20), strerror(-err));
	return 0;
}

static int register_memory(struct vm *vm)
{
	for (unsigned i = 0; i < vm->mem.nregions; i++) {
		const struct guest_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->host,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return ember_seterr(-errno,
					    "--memory: KVM refused %llu MiB of guest RAM at 0x%llx: %s",
					    (unsigned long long)(r->size >> 20),
					    (unsigned long long)r->gpa, strerror(errno));
	}
	return 0;
}

/* Device callbacks: the devices know nothing about KVM or the VM. */
static void on_console_output(void *ctx)
{
	struct vm *vm = ctx;

	if (vm->cfg->boot_trace)
		trace_mark(&vm->trace, "first console byte", true);
}

static void on_uart_tx(void *ctx, uint8_t byte)
{
	on_console_output(ctx);
	console_output(((struct vm *)ctx)->out_fd, &byte, 1);
}

/* Terminal input to the UART, waiting while its FIFO is full. */
static int uart_in(void *uart, const uint8_t *buf, size_t len)
{
	return uart_input(uart, buf, len, true);
}

static void on_uart_irq(void *ctx, int level)
{
	struct vm *vm = ctx;

	ioapic_set_irq(&vm->ioapic, PORT_COM1_IRQ, level);
}

static void on_ioapic_deliver(void *ctx, unsigned pin, const struct ioapic_msi *m)
{
	struct vm *vm = ctx;
	struct kvm_msi msi = {
		.address_lo = (uint32_t)m->address,
		.address_hi = (uint32_t)(m->address >> 32),
		.data = m->data,
	};

	/* 0: the interrupt was blocked (e.g. APIC disabled): not an error. */
	if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		vm_stop(vm, EMBER_EXIT_ERROR, "KVM_SIGNAL_MSI for IOAPIC pin %u: %s", pin,
			strerror(errno));
}

/* Mirror the unmasked redirection entries into KVM's GSI routes: KVM's split
 * irqchip derives from them which vectors are level-triggered and must exit
 * with KVM_EXIT_IOAPIC_EOI. */
static void on_ioapic_routes(void *ctx, const struct ioapic_msi routes[IOAPIC_PINS],
			     uint32_t unmasked)
{
	struct vm *vm = ctx;
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
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, &r.hdr) < 0)
		vm_stop(vm, EMBER_EXIT_ERROR, "KVM_SET_GSI_ROUTING: %s", strerror(errno));
}

static void on_reset(void *ctx)
{
	vm_stop(ctx, EMBER_EXIT_OK, "guest reset (i8042 reset command)");
}

static void on_i8042_irq(void *ctx, unsigned irq, int level)
{
	struct vm *vm = ctx;

	ioapic_set_irq(&vm->ioapic, irq, level);
}

static void on_marker(void *ctx)
{
	struct vm *vm = ctx;

	trace_mark(&vm->trace, "boot marker", true);
}

static void on_quit(void *ctx)
{
	vm_stop(ctx, EMBER_EXIT_OK, "quit from the console (Ctrl-A x)");
}

static int setup_devices(struct vm *vm)
{
	const struct uart_callbacks ucb = { .tx = on_uart_tx, .irq = on_uart_irq, .ctx = vm };
	const struct i8042_callbacks kcb = { .reset = on_reset, .irq = on_i8042_irq, .ctx = vm };
	const struct ioapic_callbacks icb = {
		.deliver = on_ioapic_deliver, .routes_changed = on_ioapic_routes, .ctx = vm,
	};
	struct {
		struct bus *bus;
		uint64_t base, len;
		const struct bus_ops *ops;
		void *opaque;
	} table[] = {
		{ &vm->pio, PORT_COM1, 8, &uart_bus_ops, &vm->uart },
		{ &vm->pio, PORT_I8042_DATA, I8042_NPORTS, &i8042_bus_ops, &vm->i8042 },
		{ &vm->pio, PORT_BOOT_MARKER, 1, &boot_marker_bus_ops, &vm->marker },
		{ &vm->pio, PORT_CMOS_INDEX, 2, &cmos_bus_ops, &vm->cmos },
		{ &vm->mmio, LAYOUT_BOOT_MARKER, LAYOUT_BOOT_MARKER_LEN, &boot_marker_bus_ops,
		  &vm->marker },
		{ &vm->mmio, LAYOUT_IOAPIC, IOAPIC_MMIO_SIZE, &ioapic_bus_ops, &vm->ioapic },
	};

	uart_init(&vm->uart, &ucb);
	ioapic_init(&vm->ioapic, &icb);
	cmos_init(&vm->cmos, NULL, NULL);
	vm->ioapic.id = vm->cfg->ncpus << 24; /* as the MP table says */
	vm->devices_ready = true;
	i8042_init(&vm->i8042, &kcb);
	vm->marker = (struct boot_marker){ .marked = on_marker, .ctx = vm };
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

/*
 * The kernel and initrd go into guest RAM on a thread of their own while
 * the main thread creates the VM: the copy needs only the mapped RAM. In
 * the lab, KVM_CREATE_VM alone takes about 30 ms (strace -T in L1) and the
 * minimal kernel's copy about 18 ms; on hardware both are a few ms at most.
 * Small images (the test guests) are copied in place: a thread costs more
 * than they do. The boot data (command line, start_info, MP table) follows
 * in vm_load(), once the devices have added their parameters.
 */
#define LOAD_THREAD_MIN (2u << 20) /* bytes of kernel plus initrd */

/* The --boot-trace timeline, or NULL without --boot-trace. */
static struct trace *boot_trace(struct vm *vm)
{
	return vm->cfg->boot_trace ? &vm->trace : NULL;
}

static void *image_load_thread(void *arg)
{
	struct vm *vm = arg;

	vm->load.err = loader_load_images(&vm->mem, vm->cfg, &vm->boot,
					  boot_trace(vm));
	if (vm->load.err)
		snprintf(vm->load.msg, sizeof(vm->load.msg), "%s", ember_lasterr());
	return NULL;
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	return path[0] && stat(path, &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
}

static void start_image_load(struct vm *vm)
{
	if (file_size(vm->cfg->kernel) + file_size(vm->cfg->initrd) < LOAD_THREAD_MIN)
		return; /* vm_load() copies them */
	vm->load.threaded = vm->load.running =
		ember_thread_start(&vm->load.thread, image_load_thread, vm) == 0;
}

/* Wait for the image load; returns its result, with its message. */
static int finish_image_load(struct vm *vm)
{
	if (!vm->load.running)
		return 0;
	pthread_join(vm->load.thread, NULL);
	vm->load.running = false;
	return vm->load.err ? ember_seterr(vm->load.err, "%s", vm->load.msg) : 0;
}

int vm_create(struct vm *vm, const struct ember_config *cfg)
{
	struct kvm_enable_cap split = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args = { IOAPIC_PINS } };
	int err;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->kvm_fd = vm->vm_fd = -1;
	vm->out_fd = STDOUT_FILENO;
	pthread_mutex_init(&vm->stop_lock, NULL);
	trace_init(&vm->trace);
	bus_init(&vm->pio, "port", cfg->debug);
	bus_init(&vm->mmio, "mmio", cfg->debug);

	err = open_kvm(vm);
	if (err)
		return err;
	if (cfg->ncpus > vm->max_vcpus || cfg->ncpus > MPTABLE_MAX_CPUS)
		return ember_seterr(-EINVAL, "--cpus: %u is above the limit of %u", cfg->ncpus,
				    vm->max_vcpus < MPTABLE_MAX_CPUS ? vm->max_vcpus
								     : MPTABLE_MAX_CPUS);
	err = get_host_cpuid(vm);
	if (!err)
		err = map_memory(vm);
	if (err)
		return err;
	start_image_load(vm);
	do
		vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	while (vm->vm_fd < 0 && errno == EINTR);
	if (vm->vm_fd < 0)
		return ember_seterr(-errno, "KVM_CREATE_VM: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
		return ember_seterr(-errno, "KVM_SET_TSS_ADDR: %s", strerror(errno));
	/* Split irqchip: local APICs in the kernel (INIT/SIPI, timers, IPIs),
	 * the IOAPIC in ember, no PIC and no PIT (see dev/ioapic.h). Must
	 * precede vCPU creation. */
	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &split) < 0)
		return ember_seterr(-errno, "KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP): %s",
				    strerror(errno));
	err = register_memory(vm);
	if (!err)
		err = setup_devices(vm);
	if (!err && cfg->boot_trace)
		trace_mark(&vm->trace, "vm created", false);
	return err;
}

static int append_cmdline(struct vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int append_cmdline(struct vm *vm, const char *fmt, ...)
{
	size_t len = strlen(vm->cmdline);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(vm->cmdline + len, sizeof(vm->cmdline) - len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(vm->cmdline) - len)
		return ember_seterr(-E2BIG, "kernel command line: over %zu bytes with device "
					    "parameters",
				    sizeof(vm->cmdline) - 1);
	return 0;
}

/* The virtio devices, in the order Linux probes them: disks first, so that
 * --disk N is /dev/vd<N>. Each appends its virtio_mmio.device= parameter. */
static int add_devices(struct vm *vm)
{
	const struct ember_config *cfg = vm->cfg;
	int err = 0;

	if (strlen(cfg->cmdline) >= sizeof(vm->cmdline))
		return ember_seterr(-E2BIG, "--cmdline: too long");
	strcpy(vm->cmdline, cfg->cmdline);
	for (unsigned i = 0; i < cfg->ndisks && !err; i++)
		err = vm_virtio_add(vm, virtio_blk_create, &cfg->disks[i], vm->cmdline,
				    sizeof(vm->cmdline));
	if (!err && cfg->root_disk >= 0)
		err = append_cmdline(vm, " root=/dev/vd%c %s", 'a' + cfg->root_disk,
				     cfg->disks[cfg->root_disk].ro ? "ro" : "rw");
	for (unsigned i = 0; i < cfg->nnets && !err; i++)
		err = vm_virtio_add(vm, virtio_net_create, &cfg->nets[i], vm->cmdline,
				    sizeof(vm->cmdline));
	if (cfg->vsock.enabled && !err)
		err = vm_virtio_add(vm, virtio_vsock_create, &cfg->vsock, vm->cmdline,
				    sizeof(vm->cmdline));
	if (cfg->rng.enabled && !err)
		err = vm_virtio_add(vm, virtio_rng_create, &cfg->rng, vm->cmdline,
				    sizeof(vm->cmdline));
	if (cfg->console == CONSOLE_VIRTIO && !err) {
		struct virtio_console_args a = {
			.out_fd = vm->out_fd, .first_output = on_console_output, .ctx = vm,
			.out = &vm->vcon,
		};

		err = vm_virtio_add(vm, virtio_console_create, &a, vm->cmdline,
				    sizeof(vm->cmdline));
		if (!err)
			err = virtio_console_attach(vm->vcon);
	}
	return err;
}

int vm_load(struct vm *vm)
{
	int err = add_devices(vm);

	if (err)
		return err; /* vm_destroy() joins the image load */
	err = finish_image_load(vm);
	if (!err && !vm->load.threaded)
		err = loader_load_images(&vm->mem, vm->cfg, &vm->boot,
					 boot_trace(vm));
	if (!err)
		err = loader_write_boot_data(&vm->mem, vm->cfg, vm->cmdline, &vm->boot);
	/* RAM now holds the kernel, and soon whatever the guest writes: a later
	 * load into it must not assume that it reads as zero. */
	vm->mem.zeroed = false;
	if (err)
		return err;
	if (vm->cfg->boot_trace)
		trace_mark(&vm->trace, "kernel loaded", false);
	vm->vcpus = calloc(vm->cfg->ncpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return ember_seterr(-ENOMEM, "out of memory for %u vCPUs", vm->cfg->ncpus);
	for (unsigned i = 0; i < vm->cfg->ncpus; i++)
		vm->vcpus[i].fd = -1;
	vm->nvcpus = vm->cfg->ncpus;
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		err = vcpu_create(vm, &vm->vcpus[i], i);
		if (err)
			return err;
	}
	return 0;
}

void vm_stop(struct vm *vm, int status, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&vm->stop_lock);
	if (!vm->stopping) {
		vm->stopping = true;
		vm->exit_status = status;
		va_start(ap, fmt);
		vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
		va_end(ap);
		/* Under the lock: a vCPU either registered before (and is
		 * kicked here) or sees `stopping` when it registers. */
		for (unsigned i = 0; i < vm->nvcpus; i++)
			if (vm->vcpus[i].running)
				vcpu_kick(&vm->vcpus[i]);
	}
	pthread_mutex_unlock(&vm->stop_lock);
}

bool vm_vcpu_enter(struct vm *vm, struct vcpu *v)
{
	bool ok;

	pthread_mutex_lock(&vm->stop_lock);
	ok = !vm->stopping;
	if (ok) {
		v->thread = pthread_self();
		v->running = true;
	}
	pthread_mutex_unlock(&vm->stop_lock);
	return ok;
}

bool vm_stopping(struct vm *vm)
{
	/* Checked after every exit: a plain atomic load, no lock. */
	return atomic_load(&vm->stopping);
}

int vm_run(struct vm *vm)
{
	struct console con;
	int err = vcpu_signal_init();

	if (err)
		return EMBER_EXIT_ERROR;
	if (vm->vcon)
		console_start(&con, virtio_console_input, vm->vcon, on_quit, vm);
	else
		console_start(&con, uart_in, &vm->uart, on_quit, vm);
	err = vm_virtio_start(vm);
	for (unsigned i = 1; i < vm->nvcpus && !err; i++)
		err = vcpu_start(&vm->vcpus[i]);
	if (err)
		vm_stop(vm, EMBER_EXIT_ERROR, "%s", ember_lasterr());
	vcpu_run_here(&vm->vcpus[0]); /* returns once the VM is stopping */

	uart_close(&vm->uart);
	if (vm->vcon)
		virtio_console_close(vm->vcon);
	for (unsigned i = 1; i < vm->nvcpus; i++)
		vcpu_join(&vm->vcpus[i]);
	console_stop(&con);

	if (vm->cfg->boot_trace) {
		trace_mark(&vm->trace, "exit", false);
		trace_print(&vm->trace, stderr);
	}
	bus_report(&vm->pio);
	bus_report(&vm->mmio);
	if (vm->exit_status != EMBER_EXIT_OK)
		fprintf(stderr, "ember: %s\n", vm->stop_reason);
	else if (vm->cfg->debug || vm->cfg->boot_trace)
		fprintf(stderr, "ember: %s\n", vm->stop_reason);
	return vm->exit_status;
}

void vm_destroy(struct vm *vm)
{
	if (vm->load.running) /* it writes to guest RAM: join before the unmap */
		pthread_join(vm->load.thread, NULL);
	vm_virtio_destroy(vm);
	for (unsigned i = 0; vm->vcpus && i < vm->nvcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
	guest_mem_unmap(&vm->mem);
	free(vm->host_cpuid);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->devices_ready) {
		i8042_destroy(&vm->i8042);
		uart_destroy(&vm->uart);
		ioapic_destroy(&vm->ioapic);
		cmos_destroy(&vm->cmos);
	}
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	trace_destroy(&vm->trace);
	pthread_mutex_destroy(&vm->stop_lock);
}
