// SPDX-License-Identifier: MIT
/*
 * ember's own snapshot commands: `ember snapshot` (a client of the API of a
 * running ember), `ember restore`'s options, and `ember snapshot-merge`.
 */
#include "snapshot/snapcmd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/client.h"
#include "util.h"

const char snapcmd_restore_help[] =
    "USAGE\n"
    "    ember restore [--mem FILE | --uffd SOCKET] [--net ID=TAP]... [--vsock-uds PATH]\n"
    "                  [--api-sock PATH] [--paused] [--track-dirty-pages]\n"
    "                  [--clock-realtime] [--boot-trace] [--debug] [--no-seccomp]\n"
    "                  SNAPSHOT\n"
    "\n"
    "    Restore the VM saved in SNAPSHOT (written by `ember snapshot` or\n"
    "    Firecracker's PUT /snapshot/create) in this process and run it in the\n"
    "    foreground as `ember run` does: the console on the terminal, Ctrl-A x\n"
    "    quits. Its disks are reopened by the paths they had.\n"
    "\n"
    "    --mem FILE        the memory file (default SNAPSHOT.mem), mapped private\n"
    "                      and copy-on-write: pages are read as the guest touches\n"
    "                      them, and VMs restored from one file share its cache\n"
    "    --uffd SOCKET     let a page-fault handler listening on SOCKET serve the\n"
    "                      guest's memory (Firecracker's Uffd backend)\n"
    "    --net ID=TAP      give interface ID another TAP device (for clones)\n"
    "    --vsock-uds PATH  serve the vsock device on another socket (for clones)\n"
    "    --api-sock PATH   serve Firecracker's API on this socket\n"
    "    --paused          stay paused until PATCH /vm {\"state\":\"Resumed\"}\n"
    "                      (needs --api-sock)\n"
    "    --track-dirty-pages  record written pages, for diff snapshots\n"
    "    --clock-realtime  advance the guest's kvmclock by the time since the\n"
    "                      snapshot (default: it continues where it stopped)\n"
    "    --no-seccomp      run without the per-thread seccomp filters (debugging)\n"
    "\n"
    "EXAMPLE\n"
    "    ember run --kernel vmlinux --api-sock /tmp/vm.sock\n"
    "    ember snapshot --api-sock /tmp/vm.sock /tmp/vm.snap   (another terminal)\n"
    "    ember restore /tmp/vm.snap\n";

static const char snapshot_help[] =
    "USAGE\n"
    "    ember snapshot --api-sock PATH [--mem FILE] [--diff]\n"
    "                   [--then resume|pause|stop] SNAPSHOT\n"
    "\n"
    "    Snapshot the VM of the ember serving its API on PATH (`ember run\n"
    "    --api-sock PATH`, or Firecracker mode): pause it if it runs, write its\n"
    "    state to SNAPSHOT and its memory to FILE (default SNAPSHOT.mem), then\n"
    "    resume it (default), leave it paused, or stop it (SIGTERM: a clean end,\n"
    "    status 0). Restore with `ember restore SNAPSHOT`.\n"
    "\n"
    "    --diff   write only the memory pages written since the last snapshot\n"
    "             (the VM must track dirty pages: --track-dirty-pages); write it\n"
    "             into the last snapshot's memory file, or into a new file and\n"
    "             apply it with `ember snapshot-merge BASE DIFF`\n";

static const char merge_help[] =
    "USAGE\n"
    "    ember snapshot-merge BASE_MEM DIFF_MEM\n"
    "\n"
    "    Write the pages a diff snapshot's memory file holds (its data, not its\n"
    "    holes) into the memory file of the snapshot it was taken after, so\n"
    "    that BASE_MEM restores with the diff snapshot's state file.\n";

static bool want_help(int argc, char **argv, const char *text)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(text, stdout);
			return true;
		}
	return false;
}

static int copy_opt(char *dst, size_t cap, const char *name, const char *val)
{
	if (config_copy(dst, cap, val))
		return ember_seterr(-ENAMETOOLONG, "%s: longer than %zu bytes", name, cap - 1);
	return 0;
}

int snapcmd_parse_restore(int argc, char **argv, struct snapshot_load_params *p,
			  struct ember_config *cfg, const char **api_sock)
{
	const char *path = NULL, *v;
	bool mem = false;
	int r, err;

	memset(p, 0, sizeof(*p));
	p->resume = true;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((r = config_take_value(argc, argv, &i, "--mem", &v))) {
			if (r < 0 || (err = copy_opt(p->mem_path, sizeof(p->mem_path), "--mem", v)))
				return -EINVAL;
			mem = true;
		} else if ((r = config_take_value(argc, argv, &i, "--uffd", &v))) {
			if (r < 0 ||
			    (err = copy_opt(p->mem_path, sizeof(p->mem_path), "--uffd", v)))
				return -EINVAL;
			p->uffd = true;
		} else if ((r = config_take_value(argc, argv, &i, "--net", &v))) {
			const char *eq;
			struct snapshot_net_override *o = &p->net[p->nnet];

			if (r < 0)
				return -EINVAL;
			eq = strchr(v, '=');
			if (!eq || eq == v || !eq[1])
				return ember_seterr(-EINVAL, "--net %s: want ID=TAP", v);
			if (p->nnet == CONFIG_MAX_NETS)
				return ember_seterr(-EINVAL, "--net: more than %u",
						    CONFIG_MAX_NETS);
			if ((size_t)(eq - v) >= sizeof(o->id) || strlen(eq + 1) >= sizeof(o->tap))
				return ember_seterr(-EINVAL, "--net %s: ID or TAP name too long",
						    v);
			memcpy(o->id, v, (size_t)(eq - v));
			o->id[eq - v] = '\0';
			strcpy(o->tap, eq + 1);
			p->nnet++;
		} else if ((r = config_take_value(argc, argv, &i, "--vsock-uds", &v))) {
			if (r < 0 || copy_opt(p->vsock_uds, sizeof(p->vsock_uds), "--vsock-uds", v))
				return -EINVAL;
		} else if ((r = config_take_value(argc, argv, &i, "--api-sock", &v))) {
			if (r < 0)
				return -EINVAL;
			*api_sock = v;
		} else if (!strcmp(a, "--paused")) {
			p->resume = false;
		} else if (!strcmp(a, "--track-dirty-pages")) {
			p->track_dirty_pages = true;
		} else if (!strcmp(a, "--clock-realtime")) {
			p->clock_realtime = true;
		} else if (!strcmp(a, "--boot-trace")) {
			cfg->boot_trace = true;
		} else if (!strcmp(a, "--debug")) {
			cfg->debug = true;
		} else if (!strcmp(a, "--no-seccomp")) {
			cfg->no_seccomp = true;
		} else if (a[0] == '-' && a[1]) {
			return ember_seterr(-EINVAL,
					    "restore: unknown option '%s' (see ember "
					    "restore --help)",
					    a);
		} else if (path) {
			return ember_seterr(-EINVAL, "restore: one snapshot only ('%s' and '%s')",
					    path, a);
		} else {
			path = a;
		}
	}
	if (!path)
		return ember_seterr(-EINVAL, "restore: no snapshot given (ember restore "
					     "SNAPSHOT; see --help)");
	if (mem && p->uffd)
		return ember_seterr(-EINVAL, "restore: --mem and --uffd exclude each other");
	if (!p->resume && !*api_sock)
		return ember_seterr(-EINVAL, "restore: --paused needs --api-sock (nothing "
					     "else could resume it)");
	if (copy_opt(p->state_path, sizeof(p->state_path), "snapshot", path))
		return -EINVAL;
	if (!mem && !p->uffd &&
	    snprintf(p->mem_path, sizeof(p->mem_path), "%s.mem", path) >= (int)sizeof(p->mem_path))
		return ember_seterr(-ENAMETOOLONG, "snapshot path too long");
	return 0;
}

/* --- ember snapshot ----------------------------------------------------------- */

/* JSON string contents: the paths go into a request body. */
static int json_escape(char *dst, size_t cap, const char *s)
{
	size_t n = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int k;

		if (c == '"' || c == '\\')
			k = snprintf(dst + n, cap - n, "\\%c", c);
		else if (c < 0x20)
			k = snprintf(dst + n, cap - n, "\\u%04x", c);
		else
			k = snprintf(dst + n, cap - n, "%c", c);
		if (k < 0 || (size_t)k >= cap - n)
			return -ENAMETOOLONG;
		n += (size_t)k;
	}
	return 0;
}

#define API_TIMEOUT_MS	  (10 * 1000)
#define CREATE_TIMEOUT_MS (30 * 60 * 1000) /* writing a large guest's memory */

static int call(const char *sock, const char *method, const char *path, const char *body,
		int timeout, struct api_reply *r, const char *what)
{
	char fault[512];

	if (api_client_call(sock, method, path, body, timeout, r))
		return ember_prefixerr(-EIO, "snapshot");
	if (r->status / 100 != 2)
		return ember_seterr(-EIO, "snapshot: %s: %s", what,
				    api_reply_fault(r, fault, sizeof(fault)));
	return 0;
}

static long long file_kib(const char *path, bool allocated)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -1;
	return allocated ? (long long)st.st_blocks / 2 : (long long)st.st_size / 1024;
}

int snapcmd_snapshot(int argc, char **argv)
{
	static char s_esc[2 * CONFIG_PATH_MAX], m_esc[2 * CONFIG_PATH_MAX];
	static char body[sizeof(s_esc) + sizeof(m_esc) + 128];
	static struct api_reply r;
	const char *sock = NULL, *snap = NULL, *mem = NULL, *then = "resume", *v;
	char mem_buf[CONFIG_PATH_MAX];
	bool diff = false, was_running;
	double t0 = ember_ms();
	pid_t peer;
	int rc;

	if (want_help(argc, argv, snapshot_help))
		return 0;
	for (int i = 1; i < argc; i++) {
		if ((rc = config_take_value(argc, argv, &i, "--api-sock", &v)))
			sock = v;
		else if ((rc = config_take_value(argc, argv, &i, "--mem", &v)))
			mem = v;
		else if ((rc = config_take_value(argc, argv, &i, "--then", &v)))
			then = v;
		else if (!strcmp(argv[i], "--diff"))
			diff = true;
		else if (argv[i][0] == '-' && argv[i][1])
			rc = ember_seterr(-EINVAL, "snapshot: unknown option '%s'", argv[i]);
		else if (snap)
			rc = ember_seterr(-EINVAL, "snapshot: one snapshot path only");
		else
			snap = argv[i];
		if (rc < 0) {
			fprintf(stderr, "ember: %s\n", ember_lasterr());
			return EMBER_EXIT_USAGE;
		}
	}
	if (!sock || !snap ||
	    (strcmp(then, "resume") && strcmp(then, "pause") && strcmp(then, "stop"))) {
		fprintf(stderr, "ember: snapshot: usage: ember snapshot --api-sock PATH [--mem "
				"FILE] [--diff] [--then resume|pause|stop] SNAPSHOT\n");
		return EMBER_EXIT_USAGE;
	}
	if (!mem) {
		if (snprintf(mem_buf, sizeof(mem_buf), "%s.mem", snap) >= (int)sizeof(mem_buf)) {
			fprintf(stderr, "ember: snapshot: path too long\n");
			return EMBER_EXIT_USAGE;
		}
		mem = mem_buf;
	}
	/* The server resolves relative paths from its own directory: send
	 * absolute ones. */
	char abs_s[CONFIG_PATH_MAX], abs_m[CONFIG_PATH_MAX], cwd[CONFIG_PATH_MAX];

	if (!getcwd(cwd, sizeof(cwd)) ||
	    snprintf(abs_s, sizeof(abs_s), "%s%s%s", snap[0] == '/' ? "" : cwd,
		     snap[0] == '/' ? "" : "/", snap) >= (int)sizeof(abs_s) ||
	    snprintf(abs_m, sizeof(abs_m), "%s%s%s", mem[0] == '/' ? "" : cwd,
		     mem[0] == '/' ? "" : "/", mem) >= (int)sizeof(abs_m) ||
	    json_escape(s_esc, sizeof(s_esc), abs_s) || json_escape(m_esc, sizeof(m_esc), abs_m)) {
		fprintf(stderr, "ember: snapshot: path too long\n");
		return EMBER_EXIT_USAGE;
	}

	if (call(sock, "GET", "/", NULL, API_TIMEOUT_MS, &r, "GET /"))
		goto fail;
	peer = r.peer;
	if (strstr(r.body, "\"Not started\"")) {
		ember_seterr(-EINVAL, "snapshot: the VM on %s has not started", sock);
		goto fail;
	}
	was_running = strstr(r.body, "\"Running\"") != NULL;
	if (was_running &&
	    call(sock, "PATCH", "/vm", "{\"state\":\"Paused\"}", API_TIMEOUT_MS, &r, "pause"))
		goto fail;
	if (snprintf(body, sizeof(body),
		     "{\"snapshot_type\":\"%s\",\"snapshot_path\":\"%s\",\"mem_file_path\":\"%s\"}",
		     diff ? "Diff" : "Full", s_esc, m_esc) >= (int)sizeof(body)) {
		ember_seterr(-ENAMETOOLONG, "snapshot: paths too long");
		goto fail;
	}
	rc = call(sock, "PUT", "/snapshot/create", body, CREATE_TIMEOUT_MS, &r, "create");
	if (rc) {
		char msg[EMBER_ERRMSG_MAX];

		/* Leave the VM as it was found. */
		snprintf(msg, sizeof(msg), "%s", ember_lasterr());
		if (was_running)
			call(sock, "PATCH", "/vm", "{\"state\":\"Resumed\"}", API_TIMEOUT_MS, &r,
			     "resume");
		ember_seterr(-EIO, "%s", msg);
		goto fail;
	}
	if (!strcmp(then, "resume") && was_running &&
	    call(sock, "PATCH", "/vm", "{\"state\":\"Resumed\"}", API_TIMEOUT_MS, &r, "resume"))
		goto fail;
	if (!strcmp(then, "stop")) {
		if (peer <= 0 || kill(peer, SIGTERM) < 0) {
			ember_seterr(-ESRCH, "snapshot: written, but cannot stop the VM: %s",
				     peer <= 0 ? "its process is unknown" : strerror(errno));
			goto fail;
		}
	}
	printf("ember: snapshot %s (%lld KiB) and memory %s (%lld KiB written of %lld KiB) in "
	       "%.0f ms; the VM is %s\n",
	       snap, file_kib(snap, false), mem, file_kib(mem, true), file_kib(mem, false),
	       ember_ms() - t0,
	       !strcmp(then, "stop")			? "stopping"
	       : !strcmp(then, "pause") || !was_running ? "paused"
							: "running");
	return 0;
fail:
	fprintf(stderr, "ember: %s\n", ember_lasterr());
	return EMBER_EXIT_ERROR;
}

/* --- ember snapshot-merge ------------------------------------------------------- */

int snapcmd_merge(int argc, char **argv)
{
	static uint8_t buf[1 << 20];
	struct stat sb, sd;
	off_t pos = 0, data, hole;
	int b, d;
	long long copied = 0;

	if (want_help(argc, argv, merge_help))
		return 0;
	if (argc != 3) {
		fprintf(stderr, "ember: snapshot-merge: usage: ember snapshot-merge BASE_MEM "
				"DIFF_MEM\n");
		return EMBER_EXIT_USAGE;
	}
	d = ember_open_input(argv[2], O_RDONLY, false, &sd, NULL);
	if (d < 0) {
		fprintf(stderr, "ember: snapshot-merge: %s: %s\n", argv[2], ember_lasterr());
		return EMBER_EXIT_ERROR;
	}
	b = open(argv[1], O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (b < 0 || fstat(b, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		fprintf(stderr, "ember: snapshot-merge: %s: %s\n", argv[1],
			b < 0 ? strerror(errno) : "not a regular file");
		close(d);
		return EMBER_EXIT_ERROR;
	}
	if (sb.st_size != sd.st_size || (sb.st_dev == sd.st_dev && sb.st_ino == sd.st_ino)) {
		fprintf(stderr,
			"ember: snapshot-merge: %s (%lld bytes) and %s (%lld bytes) are not a "
			"memory file and a diff of the same VM\n",
			argv[1], (long long)sb.st_size, argv[2], (long long)sd.st_size);
		close(b);
		close(d);
		return EMBER_EXIT_ERROR;
	}
	/* The diff's data extents are the pages it wrote; its holes are
	 * pages it did not. */
	while (pos < sd.st_size && (data = lseek(d, pos, SEEK_DATA)) >= 0) {
		hole = lseek(d, data, SEEK_HOLE);
		if (hole < 0)
			hole = sd.st_size;
		for (off_t o = data; o < hole;) {
			size_t n =
			    (size_t)(hole - o) < sizeof(buf) ? (size_t)(hole - o) : sizeof(buf);
			ssize_t k = pread(d, buf, n, o);

			if (k <= 0 || pwrite(b, buf, (size_t)k, o) != k) {
				fprintf(stderr, "ember: snapshot-merge: copying at %lld: %s\n",
					(long long)o,
					k < 0 ? strerror(errno) : "short read or write");
				close(b);
				close(d);
				return EMBER_EXIT_ERROR;
			}
			o += k;
			copied += k;
		}
		pos = hole;
	}
	if (fdatasync(b) < 0) {
		fprintf(stderr, "ember: snapshot-merge: %s: %s\n", argv[1], strerror(errno));
		close(b);
		close(d);
		return EMBER_EXIT_ERROR;
	}
	close(b);
	close(d);
	printf("ember: merged %lld KiB of %s into %s\n", copied / 1024, argv[2], argv[1]);
	return 0;
}
