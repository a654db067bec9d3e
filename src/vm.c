// SPDX-License-Identifier: MIT
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/acpi.h"
#include "boot/layout.h"
#include "boot/loader.h"
#include "boot/mptable.h"
#include "console.h"
#include "privs.h"
#include "sandbox/sandbox.h"
#include "snapshot/snapshot.h"
#include "util.h"
#include "vcpu.h"
#include "vm_virtio.h"

/* Intel VMX needs three pages for the real-mode TSS; put them at the top of
 * the MMIO window, where nothing else lives (as QEMU and Firecracker do). */
#define KVM_TSS_ADDR 0xfffbd000ULL

static int kvm_check_cap(int kvm_fd, long cap)
{
	int r = ioctl(kvm_fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

int kvm_open(void)
{
	struct stat st;
	int fd, version;

	/* Non-blocking: whatever /dev/kvm is, open() must not wait on it. */
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int err = -errno;

		if (err == -ENOENT)
			return ember_seterr(err, "/dev/kvm: not found (is the kvm module loaded, "
						 "and does this machine have virtualization?)");
		if (err == -EACCES || err == -EPERM)
			return ember_seterr(err, "/dev/kvm: permission denied (add yourself to "
						 "the kvm group or run as root)");
		return ember_seterr(err, "/dev/kvm: %s", strerror(-err));
	}
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode)) {
		close(fd);
		return ember_seterr(-ENODEV, "/dev/kvm: not a character device: not KVM");
	}
	version = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		int err = errno;

		close(fd);
		if (version < 0)
			return ember_seterr(-ENODEV, "/dev/kvm: not KVM (KVM_GET_API_VERSION: %s)",
					    strerror(err));
		return ember_seterr(-ENOTSUP, "/dev/kvm: KVM API version %d, ember needs %d",
				    version, KVM_API_VERSION);
	}
	return fd;
}

static int open_kvm(struct vm *vm)
{
	vm->kvm_fd = kvm_open();
	if (vm->kvm_fd < 0)
		return vm->kvm_fd;
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
	if (vm->opt.restore)
		err = snapshot_map_memory(vm);
	else if (vm->cfg->huge_pages == HUGE_PAGES_2M) {
		err = guest_mem_map_hugetlb(&vm->mem, size);
		if (err)
			return ember_seterr(err,
					    "huge_pages 2M: cannot map %llu MiB of 2 MiB hugetlbfs "
					    "pages: %s (are enough reserved in "
					    "/proc/sys/vm/nr_hugepages?)",
					    (unsigned long long)(size >> 20), strerror(-err));
	} else {
		err = guest_mem_map(&vm->mem, size, vm->cfg->thp);
		if (err)
			return ember_seterr(err, "--memory: cannot map %llu MiB of guest RAM: %s",
					    (unsigned long long)(size >> 20), strerror(-err));
	}
	/* Diff snapshots: the pages ember writes for the guest, beside KVM's
	 * log of the guest's own writes. */
	if (!err && vm->cfg->track_dirty_pages && guest_mem_track(&vm->mem))
		err = ember_seterr(-ENOMEM, "out of memory for the dirty-page bitmap");
	return err;
}

static int register_memory(struct vm *vm)
{
	for (unsigned i = 0; i < vm->mem.nregions; i++) {
		const struct guest_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			/* Dirty logging for diff snapshots (Firecracker's
			 * track_dirty_pages): KVM then write-protects RAM to
			 * record writes, so it stays off unless asked for. */
			.flags = vm->cfg->track_dirty_pages ? KVM_MEM_LOG_DIRTY_PAGES : 0,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->host,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return ember_seterr(
			    -errno, "--memory: KVM refused %llu MiB of guest RAM at 0x%llx: %s",
			    (unsigned long long)(r->size >> 20), (unsigned long long)r->gpa,
			    strerror(errno));
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

	prctl(PR_SET_NAME, "ember_loader", 0, 0, 0);
	sandbox_enter(SB_LOADER);
	vm->load.err = loader_load_images(&vm->mem, vm->cfg, &vm->boot, boot_trace(vm));
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

/* The board's stop callback. */
static void board_stop(void *ctx, int status, const char *reason)
{
	vm_stop(ctx, status, "%s", reason);
}

/* The board's boot-marker callback, to the front end's. */
static void board_marker(void *ctx)
{
	struct vm *vm = ctx;

	vm->opt.marker(vm->opt.ctx);
}

int vm_create(struct vm *vm, const struct ember_config *cfg, const struct vm_options *opt)
{
	struct kvm_enable_cap split = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args = { IOAPIC_PINS } };
	struct board_env env;
	int err;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->opt = *opt;
	if (vm->opt.out_fd < 0)
		vm->opt.out_fd = STDOUT_FILENO;
	if (!vm->opt.vcpu_name)
		vm->opt.vcpu_name = "ember_vcpu %u";
	vm->kvm_fd = vm->vm_fd = vm->serial_fd = vm->uffd = -1;
	trace_init(&vm->trace);
	/* Firecracker's serial_out_path: the console to a file or named pipe,
	 * opened as its logger opens one (created, read-write, non-blocking,
	 * so a FIFO without a reader never blocks a vCPU: what it cannot take
	 * is dropped; and never as a controlling terminal). */
	if (cfg->serial.out_path[0]) {
		vm->serial_fd =
		    open(cfg->serial.out_path,
			 O_RDWR | O_CREAT | O_APPEND | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0600);
		if (vm->serial_fd < 0)
			return ember_seterr(-errno, "serial_out_path %s: %s", cfg->serial.out_path,
					    strerror(errno));
		vm->opt.out_fd = vm->serial_fd;
	}

	err = open_kvm(vm);
	if (err)
		return err;
	if (cfg->ncpus > MPTABLE_MAX_CPUS)
		return ember_seterr(-EINVAL,
				    "--cpus: %u is above ember's limit of %u (APIC IDs in the "
				    "MP table)",
				    cfg->ncpus, MPTABLE_MAX_CPUS);
	if (cfg->ncpus > vm->max_vcpus)
		return ember_seterr(-EINVAL, "--cpus: %u is above this host's KVM limit of %u",
				    cfg->ncpus, vm->max_vcpus);
	err = get_host_cpuid(vm);
	if (!err)
		err = map_memory(vm);
	if (err)
		return err;
	/* A restore's RAM is the snapshot's: no kernel goes into it. */
	if (!vm->opt.restore)
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
	if (err)
		return err;
	env = (struct board_env){
		.vm_fd = vm->vm_fd,
		.mem = &vm->mem,
		.cfg = cfg,
		.trace = boot_trace(vm),
		.out = &vm->out,
		.stop = board_stop,
		.marker = vm->opt.marker ? board_marker : NULL,
		.ctx = vm,
	};
	vm->board_ready = true;
	err = board_create(&vm->board, &env);
	if (!err && cfg->boot_trace)
		trace_mark(&vm->trace, "vm created", false);
	return err;
}

/* The vCPUs' view of the machine, and the vCPUs. */
static int create_vcpus(struct vm *vm)
{
	int err;

	vm->vhost = (struct vcpu_host){
		.vm_fd = vm->vm_fd,
		.run_size = vm->run_size,
		.host_cpuid = vm->host_cpuid,
		.tsc_deadline = vm->tsc_deadline,
		.smt = vm->cfg->smt,
		.entry = vm->boot.entry,
		.linux64 = vm->boot.protocol == BOOT_LINUX64,
		.pio = &vm->board.pio,
		.mmio = &vm->board.mmio,
		.eoi = board_eoi,
		.eoi_ctx = &vm->board,
		.trace = boot_trace(vm),
		.thread_name = vm->opt.vcpu_name,
	};
	vm->vcpus_ready = true;
	err = vcpus_init(&vm->vcpus, &vm->vhost, vm->cfg->ncpus);
	return err ? err : vcpus_create(&vm->vcpus);
}

/*
 * The machine as ACPI describes it to a kernel that reads ACPI: the same
 * CPUs, IOAPIC and legacy devices as the MP table, every virtio-mmio device
 * (a stock kernel finds them only here), and the power-off registers. A
 * kernel without ACPI never looks; the virtio_mmio.device= words stay on the
 * command line for it, as Firecracker keeps them next to its DSDT.
 */
static int describe_acpi(const struct vm *vm, struct acpi_desc *d)
{
	acpi_desc_init(d, vm->cfg->ncpus);
	for (unsigned i = 0; i < vm->board.nvirtio; i++) {
		const struct vm_virtio *s = vm->board.virtio[i];
		int err = acpi_desc_add_virtio(d, s->base, VM_VIRTIO_STRIDE, s->pin);

		if (err)
			return err;
	}
	return 0;
}

int vm_load(struct vm *vm)
{
	struct acpi_desc acpi;
	int err = board_add_devices(&vm->board);

	if (err)
		return err; /* vm_destroy() joins the image load */
	if (vm->opt.restore) {
		/* RAM holds the guest already: no kernel, no boot data. */
		vm->mem.zeroed = false;
		err = create_vcpus(vm);
		if (!err)
			err = snapshot_apply(vm);
		if (!err && vm->cfg->boot_trace)
			trace_mark(&vm->trace, "snapshot loaded", false);
		return err;
	}
	err = finish_image_load(vm);
	if (!err && !vm->load.threaded)
		err = loader_load_images(&vm->mem, vm->cfg, &vm->boot, boot_trace(vm));
	if (!err)
		err = describe_acpi(vm, &acpi);
	if (!err)
		err = loader_write_boot_data(&vm->mem, vm->cfg, vm->board.cmdline, &acpi,
					     &vm->boot);
	/* RAM now holds the kernel, and soon whatever the guest writes: a later
	 * load into it must not assume that it reads as zero. */
	vm->mem.zeroed = false;
	if (err)
		return err;
	if (vm->cfg->boot_trace)
		trace_mark(&vm->trace, "kernel loaded", false);
	return create_vcpus(vm);
}

void vm_stop(struct vm *vm, int status, const char *fmt, ...)
{
	char reason[sizeof(vm->vcpus.stop_reason)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	vcpus_stop(&vm->vcpus, status, "%s", reason);
}

int vm_stop_fd(struct vm *vm)
{
	return vm->vcpus.stop_fd;
}

static void on_quit(void *ctx)
{
	vm_stop(ctx, EMBER_EXIT_OK, "quit from the console (Ctrl-A x)");
}

int vm_start(struct vm *vm)
{
	/* Everything that needs a capability is open (/dev/kvm, TAPs through
	 * TUNSETIFF, disks, sockets) and no other thread runs yet: drop them
	 * all before the guest runs. Later API calls (PATCH /drives, PUT
	 * /snapshot/create) open files with the uid's own access alone. */
	int err = privs_drop_caps();

	if (!err)
		err = ember_kick_signal_init();
	vm->started = true;
	if (!err)
		err = console_out_start(&vm->out, vm->opt.out_fd);
	/* With the console in a file, standard input is not the guest's
	 * (Firecracker's serial takes no input then). */
	if (err)
		console_init_idle(&vm->con);
	else if (vm->serial_fd < 0)
		err = console_start(&vm->con, board_console_input, &vm->board, on_quit, vm,
				    vm->opt.plain_console);
	else
		console_init_idle(&vm->con);
	if (!err)
		err = board_start(&vm->board);
	if (!err && vm->opt.restore)
		board_kick_all(&vm->board);
	if (!err && vm->opt.start_paused) {
		/* The vCPUs park as they enter their loops. */
		atomic_fetch_or(&vm->vcpus.flags, VCPUS_PAUSE);
		board_pause(&vm->board);
		console_pause(&vm->con);
		vm->paused = true;
	}
	if (!err)
		err = vcpus_start(&vm->vcpus, vm->opt.vcpu0_here ? 1 : 0);
	if (err) {
		vm->start_failed = true; /* the caller reports it, not vm_finish() */
		vm_stop(vm, EMBER_EXIT_ERROR, "%s", ember_lasterr());
	}
	return err;
}

void vm_run_vcpu0(struct vm *vm)
{
	/* This thread is vCPU 0 now, and tears the VM down afterwards. */
	sandbox_enter(SB_VCPU0);
	vcpus_run_here(&vm->vcpus, 0); /* returns once the VM is stopping */
}

void vm_pause(struct vm *vm)
{
	if (vm->paused)
		return;
	vcpus_pause(&vm->vcpus);
	board_pause(&vm->board);
	console_pause(&vm->con);
	vm->paused = true;
}

void vm_resume(struct vm *vm)
{
	if (!vm->paused)
		return;
	console_resume(&vm->con);
	board_resume(&vm->board);
	vcpus_resume(&vm->vcpus);
	vm->paused = false;
}

static bool stderr_ready(void)
{
	struct pollfd p = { .fd = STDERR_FILENO, .events = POLLOUT };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
}

int vm_finish(struct vm *vm)
{
	if (!vm->started)
		return vm->vcpus.exit_status;
	/* A paused VM that stops: its device threads end in board_destroy(),
	 * its vCPUs saw the stop. */
	board_close_input(&vm->board);
	vcpus_join(&vm->vcpus);
	console_stop(&vm->con);
	console_out_stop(&vm->out, CONSOLE_OUT_FLUSH_MS);
	vm->started = false;
	/* ember run: say what the guest's console lost, if stderr takes it
	 * now (it may be the same stalled pipe). Firecracker mode counts it in
	 * the metrics instead. */
	if (!vm->opt.plain_console && atomic_load(&vm->out.dropped) && stderr_ready())
		fprintf(stderr, "ember: console: %llu bytes of guest output dropped (%s)\n",
			(unsigned long long)atomic_load(&vm->out.dropped),
			vm->out.error ? "its reader went away" : "standard output did not keep up");
	/* The input thread has ended (console_stop): its count is final. */
	if (vm->con.dropped && stderr_ready())
		fprintf(stderr,
			"ember: console: %llu typed bytes dropped (the guest took no input)\n",
			(unsigned long long)vm->con.dropped);

	if (vm->cfg->boot_trace) {
		trace_mark(&vm->trace, "exit", false);
		trace_print(&vm->trace, stderr);
	}
	bus_report(&vm->board.pio);
	bus_report(&vm->board.mmio);
	board_report(&vm->board);
	if (vm->start_failed)
		;
	else if (vm->vcpus.exit_status != EMBER_EXIT_OK)
		fprintf(stderr, "ember: %s\n", vm->vcpus.stop_reason);
	else if (vm->cfg->debug || vm->cfg->boot_trace)
		fprintf(stderr, "ember: %s\n", vm->vcpus.stop_reason);
	return vm->vcpus.exit_status;
}

int vm_run(struct vm *vm)
{
	if (vm_start(vm) == 0)
		vm_run_vcpu0(vm);
	return vm_finish(vm);
}

void vm_destroy(struct vm *vm)
{
	if (vm->load.running) /* it writes to guest RAM: join before the unmap */
		pthread_join(vm->load.thread, NULL);
	if (vm->started) {
		vm_stop(vm, EMBER_EXIT_ERROR, "VM destroyed while running");
		vm_finish(vm);
	}
	if (vm->board_ready)
		board_destroy(&vm->board);
	if (vm->vcpus_ready)
		vcpus_destroy(&vm->vcpus);
	guest_mem_unmap(&vm->mem);
	if (vm->uffd >= 0)
		close(vm->uffd);
	free(vm->host_cpuid);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->serial_fd >= 0)
		close(vm->serial_fd);
	trace_destroy(&vm->trace);
}
