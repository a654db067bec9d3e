// SPDX-License-Identifier: MIT
/* ember's command line: parse, hand over to the VM, turn failures into one
 * line "ember: <what>: <why>" and an exit status. Nothing else lives here. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "api/api.h"
#include "api/fc_main.h"
#include "api/logger.h"
#include "api/metrics.h"
#include "boot/loader.h"
#include "config.h"
#include "instance.h"
#include "jail.h"
#include "privs.h"
#include "probe.h"
#include "sandbox/sandbox.h"
#include "snapshot/snapcmd.h"
#include "util.h"

static const char help[] =
    "NAME\n"
    "    ember - a KVM virtual machine monitor that boots Linux through PVH\n"
    "\n"
    "SYNOPSIS\n"
    "    ember run --kernel PATH [--initrd PATH] [--cmdline STRING]\n"
    "              [--memory SIZE] [--cpus N] [--boot-trace] [--debug]\n"
    "              [--disk PATH[,ro][,id=NAME]]... [--root DISK]\n"
    "              [--net tap=NAME[,mac=MAC][,id=ID]]... [--vsock cid=N,uds=PATH]\n"
    "              [--console uart|virtio] [--rng | --no-rng] [--thp | --no-thp]\n"
    "              [--api-sock PATH] [--track-dirty-pages]\n"
    "              [--kernel-addr random|elf|ADDR] [--no-seccomp]\n"
    "    ember snapshot --api-sock PATH [--mem FILE] [--diff] [--then resume|pause|stop]\n"
    "              SNAPSHOT\n"
    "    ember restore [--mem FILE | --uffd SOCKET] [--net ID=TAP]... [--vsock-uds PATH]\n"
    "              [--api-sock PATH] [--paused] SNAPSHOT\n"
    "    ember snapshot-merge BASE_MEM DIFF_MEM\n"
    "    ember firecracker [Firecracker's options]   (see ember firecracker --help)\n"
    "    ember jail [Firecracker's jailer options] -- ARGS   (see ember jail --help)\n"
    "    ember inspect PATH\n"
    "    ember probe\n"
    "\n"
    "DESCRIPTION\n"
    "    ember loads a Linux kernel into a new KVM virtual machine and enters it\n"
    "    at its PVH entry point (the Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY): no\n"
    "    firmware, no real-mode setup, no decompression in the guest (a bzImage\n"
    "    is unwrapped by ember, once). A kernel without the note is entered by\n"
    "    the Linux 64-bit boot protocol instead. The guest gets an MP table and\n"
    "    ACPI tables (hardware-reduced; its poweroff ends ember with status 0).\n"
    "    The guest console is a 16550 UART (ttyS0) connected to ember's standard\n"
    "    input and output.\n"
    "\n"
    "COMMANDS\n"
    "    run       Boot a kernel and run it until it resets or powers off.\n"
    "    snapshot  Snapshot the VM of a running ember (its --api-sock): state and\n"
    "              memory files; see ember snapshot --help.\n"
    "    restore   Run a VM from a snapshot, in the foreground like run; see ember\n"
    "              restore --help.\n"
    "    snapshot-merge\n"
    "              Apply a diff snapshot's memory file to its base's.\n"
    "    firecracker\n"
    "              Firecracker's command line and REST API (v1.16) in front of\n"
    "              ember; also what runs when ember is started as `firecracker`.\n"
    "    jail      Firecracker's jailer (v1.16 command line): run ember in a\n"
    "              chroot with its own mount namespace, cgroups, limits and an\n"
    "              unprivileged uid; also what runs when ember is started as\n"
    "              `jailer`. Needs root. See docs/security.md.\n"
    "    inspect   Print what the loader sees in a kernel file: format (a\n"
    "              bzImage's payload, then the vmlinux inside), the boot protocol\n"
    "              it gets, PT_LOAD segments, PVH entry and ELF notes. Creates no\n"
    "              VM.\n"
    "    probe     Measure how fast /dev/kvm runs guests. Exits 0 when it runs them\n"
    "              at hardware speed, 2 when /dev/kvm is an emulator too slow for\n"
    "              Linux (use the nested lab, see the README).\n"
    "\n"
    "OPTIONS FOR run\n"
    "    --kernel PATH     the kernel (required): an ELF vmlinux, or a bzImage\n"
    "                      (/boot/vmlinuz-*), whose payload ember decompresses\n"
    "                      (gzip, xz, lzma, bzip2, lz4, zstd) and caches in\n"
    "                      $XDG_CACHE_HOME/ember/vmlinux (~/.cache/ember/vmlinux),\n"
    "                      keyed by its content: later boots skip the\n"
    "                      decompression. With a PVH note (CONFIG_PVH) ember enters\n"
    "                      the kernel through PVH; a 64-bit one without, by the\n"
    "                      Linux 64-bit boot protocol.\n"
    "    --kernel-addr random|elf|ADDR\n"
    "                      where a relocatable PVH kernel (PHYS32_RELOC note, Linux\n"
    "                      6.12+) goes: a random multiple of its alignment in its\n"
    "                      range (default: physical KASLR), its ELF address, or ADDR.\n"
    "                      Other kernels load at their ELF address.\n"
    "    --initrd PATH     initial ramdisk, passed as PVH module 0.\n"
    "    --cmdline STRING  kernel command line, passed as given except that ember's\n"
    "                      device parameters (see DEVICES) go before a standalone\n"
    "                      \"--\" (what follows it is for init). Linux keeps 2047\n"
    "                      bytes, ember's parameters included (about 36 per virtio\n"
    "                      device): a longer line is refused, saying the room left.\n"
    "                      Default:\n"
    "                      " CONFIG_DEFAULT_CMDLINE "\n"
    "    --memory SIZE     guest RAM, bytes or with a K, M, G or T suffix (default 256M).\n"
    "                      RAM beyond 3 GiB is placed above 4 GiB.\n"
    "    --cpus N          number of vCPUs (default 1), up to KVM's limit and 254.\n"
    "    --boot-trace      print a timeline to stderr when the VM stops, in ms since\n"
    "                      ember started: vm created, kernel parsed, kernel copied\n"
    "                      (with --initrd), kernel loaded (all of it), first KVM_RUN,\n"
    "                      first console byte, boot marker, exit. The guest marks\n"
    "                      \"init reached\" by writing the byte 123 to MMIO 0xd0000000\n"
    "                      or I/O port 0x3f0.\n"
    "    --debug           count guest accesses to ports and MMIO nobody handles and\n"
    "                      print them at exit.\n"
    "    --no-seccomp      run without seccomp filters, for debugging. By default\n"
    "                      every thread runs under its own allow-list of system\n"
    "                      calls (docs/security.md); a call outside it ends ember\n"
    "                      with status 148 and one line naming the call and thread.\n"
    "    --disk PATH[,ro][,id=NAME]\n"
    "                      virtio-blk on a raw image or block device (its size must be a\n"
    "                      multiple of 512). Repeatable, up to 16: the first is\n"
    "                      /dev/vda. ro: read-only (writes fail). id: the serial the\n"
    "                      guest sees (at most 20 bytes).\n"
    "    --root DISK       add root=/dev/vdX rw (ro for a ro disk) for the --disk whose\n"
    "                      PATH or id is DISK.\n"
    "    --console uart|virtio\n"
    "                      the guest console: the 16550 (ttyS0, default) or\n"
    "                      virtio-console (hvc0; the default command line then says\n"
    "                      console=hvc0).\n"
    "    --rng, --no-rng   virtio-rng fed by the host's getrandom() (default: on).\n"
    "    --thp, --no-thp   back guest RAM above 2 MiB with transparent huge pages\n"
    "                      (default: on), so KVM can map it with 2 MiB pages; off\n"
    "                      refuses them: 4 KiB pages, less RSS for a sparse guest.\n"
    "    --net tap=NAME[,mac=MAC][,id=ID]\n"
    "                      virtio-net on the host TAP NAME (attached if it exists, else\n"
    "                      created: needs CAP_NET_ADMIN). Repeatable, up to 8. Default\n"
    "                      MAC: 02:xx:xx:xx:xx:xx derived from NAME and ember's pid.\n"
    "    --vsock cid=N,uds=PATH\n"
    "                      virtio-vsock for guest CID N over AF_UNIX: host programs\n"
    "                      connect to PATH and send \"CONNECT <port>\\n\"; guest\n"
    "                      connections to host port P go to PATH_P.\n"
    "    --track-dirty-pages\n"
    "                      record the pages the guest and the devices write, so that\n"
    "                      `ember snapshot --diff` writes only those.\n"
    "    --api-sock PATH   serve Firecracker's API on this Unix socket while the VM\n"
    "                      runs: GET / and /vm/config, PATCH /vm (pause, resume),\n"
    "                      SendCtrlAltDel, PATCH /drives/ID (the --disk id=), PUT\n"
    "                      /snapshot/create (what ember snapshot uses).\n"
    "\n"
    "CONSOLE\n"
    "    When standard input is a terminal it is put in raw mode (restored on exit).\n"
    "    Ctrl-A x quits; Ctrl-A Ctrl-A sends Ctrl-A. When standard input is a pipe\n"
    "    or file and ends, the guest receives one Ctrl-D, so its shell sees the end\n"
    "    of input. Input is delivered once the guest driver enables the receiver.\n"
    "    Guest output goes to standard output through a 64 KiB buffer, written by a\n"
    "    thread of its own: output that a slow or stalled reader does not take is\n"
    "    dropped once the buffer is full, and when the reader goes away (ember run\n"
    "    | head) the guest keeps running. Neither ever holds up the guest or the\n"
    "    exit.\n"
    "\n"
    "DEVICES\n"
    "    virtio devices sit on virtio-mmio (version 2) at 0xd0001000, 4 KiB apart, on\n"
    "    IOAPIC pins from 5, in this order: disks, networks, vsock, rng, console.\n"
    "    ember adds one virtio_mmio.device=4K@ADDR:PIN per device to the kernel\n"
    "    command line, after the --cmdline text and before its \"--\" if it has one\n"
    "    (for kernels with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES), and describes each\n"
    "    in the ACPI DSDT as LNRO0005 (how distribution kernels find them).\n"
    "\n"
    "EXIT STATUS\n"
    "    0  the guest reset (Linux reboot=k or reboot=t), powered off, the user\n"
    "       quit with Ctrl-A x, or ember was stopped by SIGTERM, SIGINT, SIGHUP,\n"
    "       SIGQUIT or any other signal that would end it (SIGUSR2, SIGALRM, ...):\n"
    "       a clean stop, the terminal restored and the sockets removed\n"
    "    1  ember failed (bad input file, no /dev/kvm, host limits); one line\n"
    "       \"ember: <what>: <why>\" on stderr\n"
    "    2  bad command line\n"
    "    3  the guest failed in a way KVM reports (internal error, entry failure,\n"
    "       unexpected exit); a register dump precedes the message\n"
    "\n"
    "EXAMPLES\n"
    "    ember run --kernel vmlinux --initrd initramfs.cpio.gz --cpus 2 --memory 512M\n"
    "    ember run --kernel vmlinux --cmdline 'console=ttyS0 reboot=k panic=-1' --boot-trace\n"
    "    ember inspect vmlinux\n";

static int fail(int status, const char *msg)
{
	fprintf(stderr, "ember: %s\n", msg);
	return status;
}

/* A stop signal (SIGTERM, SIGINT, SIGHUP, SIGQUIT...), read by the API or
 * signal thread: a clean end, status 0. */
static void on_stop_signal(void *ctx, int sig)
{
	char reason[64];

	snprintf(reason, sizeof(reason), "stopped by %s", strsignal(sig));
	instance_stop(ctx, EMBER_EXIT_OK, reason);
}

/*
 * Run the instance in the foreground (vCPU 0 on this thread, the console on
 * the terminal, the API on api_sock if given) until it stops: booted from
 * in->cfg, or restored from `restore`. Returns the exit status.
 */
static int run_instance(struct instance *in, const char *api_sock,
			const struct snapshot_load_params *restore)
{
	static struct logger log;
	static struct metrics metrics;
	const struct vm_options opt = { .vcpu0_here = true, .out_fd = -1 };
	struct api_server *srv = NULL;
	struct api_thread th = { 0 };
	struct api a;
	int status, sig_fd = -1;

	instance_init(in, &opt);
	if (sandbox_configure(!in->cfg.no_seccomp, console_restore_tty))
		return fail(EMBER_EXIT_ERROR, ember_lasterr());
	if (api_sock) {
		/* The API's log is quiet here: its callers get the fault
		 * messages, and the terminal belongs to the guest. */
		logger_init(&log, "ember");
		log.cfg.level = LOG_OFF;
		a = (struct api){ .in = in, .log = &log, .metrics = &metrics, .id = "ember" };
		metrics_init(&metrics, in, &a, &log);
		/* Listening before the boot: a client may connect at once; it
		 * is served once the VM runs. */
		srv = api_server_open(api_sock, 51200, api_handle, &a);
		if (!srv)
			return fail(EMBER_EXIT_ERROR, ember_lasterr());
	}
	/* The stop signals go to one thread (the API's, or one of their
	 * own), so the VM ends cleanly: terminal restored, sockets removed,
	 * disks closed. Blocked before any thread starts, so that only the
	 * signalfd sees them. */
	sig_fd = ember_stop_signalfd();
	if (sig_fd < 0) {
		status = fail(EMBER_EXIT_ERROR, ember_lasterr());
		goto out;
	}
	if (restore ? instance_restore(in, restore) : instance_start(in)) {
		status = fail(EMBER_EXIT_ERROR, ember_lasterr());
		goto out;
	}
	if (api_thread_start(&th, srv, sig_fd, on_stop_signal, in)) {
		instance_stop(in, EMBER_EXIT_ERROR, ember_lasterr());
		status = instance_finish(in);
		goto out;
	}
	instance_run_vcpu0(in);
	api_thread_stop(&th);
	status = instance_finish(in);
out:
	if (sig_fd >= 0)
		close(sig_fd);
	if (srv) {
		api_server_close(srv);
		metrics_close(&metrics);
		logger_close(&log);
	}
	return status;
}

static int cmd_run(int argc, char **argv)
{
	/* The configuration alone is ~100 KiB: not on the stack. */
	static struct instance in;
	const char *api_sock;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(help, stdout);
			return 0;
		}
	if (config_parse_run(argc, argv, &in.cfg, &api_sock))
		return fail(EMBER_EXIT_USAGE, ember_lasterr());
	return run_instance(&in, api_sock, NULL);
}

static int cmd_restore(int argc, char **argv)
{
	static struct instance in;
	static struct snapshot_load_params p;
	const char *api_sock = NULL;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(snapcmd_restore_help, stdout);
			return 0;
		}
	config_init_run(&in.cfg);
	if (snapcmd_parse_restore(argc, argv, &p, &in.cfg, &api_sock))
		return fail(EMBER_EXIT_USAGE, ember_lasterr());
	return run_instance(&in, api_sock, &p);
}

static int cmd_inspect(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-')
		return fail(EMBER_EXIT_USAGE, "inspect: usage: ember inspect PATH");
	if (loader_inspect(argv[1], stdout))
		return fail(EMBER_EXIT_ERROR, ember_lasterr());
	return 0;
}

static int cmd_probe(int argc, char **argv)
{
	struct probe_result r;

	(void)argv;
	if (argc != 1)
		return fail(EMBER_EXIT_USAGE, "probe: takes no arguments");
	if (probe_kvm(&r))
		return fail(EMBER_EXIT_ERROR, ember_lasterr());
	printf("kvm: %d-iteration loop in %.3f ms: about %.0f million guest instructions/s "
	       "(%s)\n",
	       PROBE_LOOP_ITERATIONS, r.ms, r.mips,
	       r.hardware ? "hardware virtualization"
			  : "emulated: stock Linux will not boot here; use the nested lab");
	return r.hardware ? 0 : 2;
}

/* The program's own name: "firecracker" through the symlink. */
static const char *prog_name(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');

	return slash ? slash + 1 : argv0;
}

static int ember_main(int argc, char **argv)
{
	if (argc > 0 && strcmp(prog_name(argv[0]), "firecracker") == 0)
		return fc_main(argc, argv);
	if (argc > 0 && strcmp(prog_name(argv[0]), "jailer") == 0)
		return jail_main(argc, argv);
	if (argc < 2)
		return fail(EMBER_EXIT_USAGE,
			    "no command given (ember run --kernel PATH; see ember "
			    "--help)");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(help, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("ember %s\n", EMBER_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "firecracker"))
		return fc_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "jail"))
		return jail_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "restore"))
		return cmd_restore(argc - 1, argv + 1);
	if (!strcmp(argv[1], "snapshot"))
		return snapcmd_snapshot(argc - 1, argv + 1);
	if (!strcmp(argv[1], "snapshot-merge"))
		return snapcmd_merge(argc - 1, argv + 1);
	if (!strcmp(argv[1], "inspect"))
		return cmd_inspect(argc - 1, argv + 1);
	if (!strcmp(argv[1], "probe"))
		return cmd_probe(argc - 1, argv + 1);
	fprintf(
	    stderr,
	    "ember: unknown command '%s' (commands: run, restore, snapshot, snapshot-merge, "
	    "firecracker, jail, inspect, probe; see ember "
	    "--help)\n",
	    argv[1]);
	return EMBER_EXIT_USAGE;
}

struct main_call {
	int argc;
	char **argv;
	sigset_t mask;
	int status;
};

static void *main_thread(void *arg)
{
	struct main_call *m = arg;

	pthread_sigmask(SIG_SETMASK, &m->mask, NULL);
	m->status = ember_main(m->argc, m->argv);
	return NULL;
}

int main(int argc, char **argv)
{
	struct main_call m = { .argc = argc, .argv = argv };
	sigset_t all;
	pthread_t t;
	int err;

	/* Before anything opens: what ember inherited and does not use must
	 * not reach the guest's devices' threads (see privs.h). */
	if (privs_close_inherited_fds(argc, argv))
		return fail(EMBER_EXIT_ERROR, ember_lasterr());
	ember_time_init();
	/* ember never executes another program: no exec may ever gain
	 * privileges (setuid, file capabilities) on its behalf. Inherited by
	 * every thread, and a precondition of seccomp filters (issue 15). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(EMBER_EXIT_ERROR, "prctl(PR_SET_NO_NEW_PRIVS) failed");
	if (ember_check_stack() == 0)
		return ember_main(argc, argv);
	/* A stack limit (ulimit -s) too small for ember, soft and hard: run
	 * on a thread, whose stack ember maps itself, outside the limit.
	 * Signals go to that thread alone, as they would to this one. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &m.mask);
	err = ember_thread_start(&t, main_thread, &m);
	if (err) {
		pthread_sigmask(SIG_SETMASK, &m.mask, NULL);
		return fail(EMBER_EXIT_ERROR, ember_lasterr());
	}
	/* Capabilities are per thread, and that one has its own copy now:
	 * this one, which only waits, needs none. */
	err = privs_drop_caps();
	if (err)
		fprintf(stderr, "ember: %s\n", ember_lasterr());
	pthread_join(t, NULL);
	return err ? EMBER_EXIT_ERROR : m.status;
}
