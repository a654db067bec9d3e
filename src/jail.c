// SPDX-License-Identifier: MIT
/*
 * `ember jail` / `jailer`: Firecracker's jailer (v1.16) in front of ember.
 *
 * In order, as Firecracker's jailer does them: close every inherited fd but
 * 0-2, parse, build <chroot-base>/<exec-name>/<id>/root and copy the exec
 * file into it, join the network namespace, set the resource limits, write
 * and join the cgroups, enter a new mount namespace and pivot_root into the
 * chroot, create the device nodes, daemonize, enter a new PID namespace,
 * write the pid file, drop to uid/gid with no capability left, and execve
 * the copy with an empty environment.
 *
 * Every step returns 0 or negative errno with a message (ember_seterr);
 * jail_main prints it once as "ember: jail: <message>".
 */
#include "jail.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "privs.h"
#include "util.h"

#define JAIL_VERSION	      "1.16.1" /* the Firecracker jailer whose command line this is */
#define JAIL_DEFAULT_BASE     "/srv/jailer"
#define JAIL_DEFAULT_NOFILE   2048 /* Firecracker's default RLIMIT_NOFILE */
#define JAIL_MAX_CGROUPS      32
#define JAIL_MAX_CONTROLLERS  16
#define JAIL_MAX_EXTRA	      256
#define JAIL_ID_MAX	      64
#define JAIL_CGROUP_VALUE_MAX 4096

static const char jail_help[] =
    "NAME\n"
    "    ember jail - Firecracker's jailer (v" JAIL_VERSION ") in front of ember\n"
    "\n"
    "SYNOPSIS\n"
    "    ember jail --id ID --exec-file PATH --uid UID --gid GID\n"
    "               [--chroot-base-dir DIR] [--netns PATH] [--daemonize]\n"
    "               [--new-pid-ns] [--cgroup-version 1|2] [--cgroup FILE=VALUE]...\n"
    "               [--parent-cgroup PATH] [--resource-limit no-file=N|fsize=N]...\n"
    "               [-- ARGS...]\n"
    "    jailer ...    (the same, through a program named jailer)\n"
    "\n"
    "DESCRIPTION\n"
    "    Runs PATH confined, as Firecracker's jailer runs Firecracker: copies it to\n"
    "    DIR/NAME/ID/root/NAME (NAME: PATH's file name as given, a symlink's own\n"
    "    name), creates dev/kvm, dev/net/tun, dev/urandom and dev/userfaultfd (when\n"
    "    the host has it) there owned by UID:GID, joins the network namespace and\n"
    "    the cgroups, sets the resource limits, enters a new mount namespace (all\n"
    "    mounts private) and pivots into the root (the host's files are gone),\n"
    "    writes /NAME.pid, drops to UID:GID with every capability dropped\n"
    "    (bounding set included) and no_new_privs, closes every inherited fd but\n"
    "    0-2, clears the environment and executes /NAME. Must run as root. Files\n"
    "    the VM needs (kernel, disks, config) are put into the root by the caller.\n"
    "\n"
    "    ARGS: when NAME contains \"firecracker\" (ember's symlink, or a real\n"
    "    Firecracker), /NAME gets Firecracker's: --id ID --start-time-us T\n"
    "    --start-time-cpu-us C --parent-cpu-time-us P, then ARGS; ember takes\n"
    "    that name for its Firecracker mode only when it is exactly firecracker.\n"
    "    Any other NAME is taken for ember itself and ARGS must be an ember\n"
    "    command: `firecracker ...` gets the same four options after the word\n"
    "    firecracker; any other command (run, restore) gets ARGS alone.\n"
    "\n"
    "OPTIONS\n"
    "    --id ID              the instance id: 1-64 of A-Z a-z 0-9 and -\n"
    "    --exec-file PATH     the program: a regular file, or a symlink to one\n"
    "    --uid UID, --gid GID the ids it runs as (numbers)\n"
    "    --chroot-base-dir DIR  an existing directory (default " JAIL_DEFAULT_BASE "),\n"
    "                         on a mount that allows device nodes\n"
    "    --netns PATH         join this network namespace (/var/run/netns/NAME)\n"
    "    --daemonize          setsid, standard input and output to /dev/null; the\n"
    "                         command returns 0 once the program runs on its own\n"
    "                         (its pid file written), or fails with its error\n"
    "    --new-pid-ns         run it as pid 1 of a new PID namespace; /NAME.pid\n"
    "                         holds its pid as the host sees it\n"
    "    --cgroup-version 1|2 the cgroup hierarchy to use (default 1)\n"
    "    --cgroup FILE=VALUE  write VALUE to FILE (CONTROLLER.PROPERTY) of the cgroup\n"
    "                         PARENT/ID of FILE's controller, then join it: e.g.\n"
    "                         cpuset.cpus=0, memory.limit_in_bytes=256M (v1),\n"
    "                         memory.max=256M, pids.max=100 (v2). Repeatable. v1: an\n"
    "                         empty cpuset.cpus or cpuset.mems along the way is\n"
    "                         copied from the level above. v2: the controllers are\n"
    "                         enabled in cgroup.subtree_control down to PARENT\n"
    "    --parent-cgroup PATH the cgroups' parent (relative, default NAME); on v2\n"
    "                         without --cgroup, the process joins it if it exists\n"
    "    --resource-limit no-file=N|fsize=N\n"
    "                         RLIMIT_NOFILE (default 2048) and RLIMIT_FSIZE (bytes),\n"
    "                         soft and hard. Repeatable\n"
    "    --help, --version\n"
    "\n"
    "EXIT STATUS\n"
    "    Once the program runs, its own. Before: 1 and one line\n"
    "    \"ember: jail: <what>: <why>\" when a step fails, 2 for a bad command line;\n"
    "    0 from the command itself with --daemonize or --new-pid-ns.\n"
    "\n"
    "EXAMPLES\n"
    "    ember jail --id vm1 --exec-file /usr/local/bin/ember --uid 123 --gid 100 \\\n"
    "        --cgroup cpuset.cpus=0 -- run --kernel /vmlinux --memory 128M\n"
    "    jailer --id vm2 --exec-file /usr/local/bin/firecracker --uid 123 \\\n"
    "        --gid 100 --daemonize -- --config-file /vm.json --no-api\n";

struct jail_cgroup_arg {
	const char *arg; /* FILE=VALUE as given */
	char file[NAME_MAX + 1];
	char controller[NAME_MAX + 1];
	const char *value;
};

struct jail_opts {
	const char *id, *exec_file, *chroot_base, *netns, *parent_cgroup;
	uid_t uid;
	gid_t gid;
	int cgroup_ver;
	bool daemonize, new_pid_ns;
	struct jail_cgroup_arg cg[JAIL_MAX_CGROUPS];
	int ncg;
	bool has_fsize;
	uint64_t fsize, nofile;
	char **extra;
	int nextra;

	/* Worked out from the above. */
	char name[NAME_MAX + 1];     /* the exec file's name in the jail */
	char root[PATH_MAX];	     /* <base>/<name>/<id>/root */
	bool fc_args;		     /* give /name Firecracker's jailer options */
	int uffd_minor;		     /* /dev/userfaultfd's minor, or -1 */
	uint64_t start_us, cpu_used; /* monotonic start; CPU time of processes left behind */
	int report_fd;		     /* --daemonize: errors go to the waiting parent here */
};

/* --- small helpers --------------------------------------------------------------------- */

static int usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "ember: jail: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see ember jail --help)\n");
	return EMBER_EXIT_USAGE;
}

static uint64_t clock_us(clockid_t c)
{
	struct timespec ts;

	if (clock_gettime(c, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return !errno && !*end;
}

/* Firecracker's instance ids: 1-64 of alphanumerics and '-' (ASCII here). */
static bool valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > JAIL_ID_MAX)
		return false;
	for (const char *p = id; *p; p++)
		if (!(*p == '-' || isalnum((unsigned char)*p)))
			return false;
	return true;
}

/* A relative path of plain names: no "", ".", ".." component, no leading '/'. */
static bool plain_relative(const char *p)
{
	const char *s = p;

	if (!*p || *p == '/')
		return false;
	while (*s) {
		const char *e = strchrnul(s, '/');
		size_t n = (size_t)(e - s);

		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		s = *e ? e + 1 : e;
		if (*e && !*s)
			return false; /* trailing slash */
	}
	return true;
}

static int path_join(char *dst, size_t cap, const char *a, const char *b)
{
	int n = snprintf(dst, cap, "%s/%s", a, b);

	if (n < 0 || (size_t)n >= cap)
		return ember_seterr(-ENAMETOOLONG, "%s/%s: path too long", a, b);
	return 0;
}

/* Write all of s to path (an existing file: never created). */
static int write_file(const char *path, const char *s)
{
	size_t len = strlen(s);
	ssize_t n;
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -errno;
	do
		n = write(fd, s, len);
	while (n < 0 && errno == EINTR);
	if (n < 0 || (size_t)n != len) {
		int err = n < 0 ? -errno : -EIO;

		close(fd);
		return err;
	}
	return close(fd) ? -errno : 0;
}

/* The first line of path into buf (newline dropped); -errno. */
static int read_line(const char *path, char *buf, size_t cap)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, cap - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* mkdir that takes an existing directory. */
static int mkdir_ok(const char *path, mode_t mode)
{
	struct stat st;

	if (mkdir(path, mode) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (lstat(path, &st) || !S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return 0;
}

/* mkdir -p of base/rel (base exists); rel is plain_relative. */
static int mkdir_under(const char *base, const char *rel, mode_t mode)
{
	char path[PATH_MAX];
	size_t blen = strlen(base);
	int err;

	if (path_join(path, sizeof(path), base, rel))
		return -ENAMETOOLONG;
	for (char *p = path + blen + 1;; p++) {
		if (*p == '/' || !*p) {
			char c = *p;

			*p = '\0';
			err = mkdir_ok(path, mode);
			if (err)
				return ember_seterr(err, "%s: cannot create directory: %s", path,
						    strerror(-err));
			*p = c;
			if (!c)
				return 0;
		}
	}
}

/* --- command line ---------------------------------------------------------------------- */

static int parse_cgroup_arg(struct jail_cgroup_arg *c, const char *arg)
{
	const char *eq = strchr(arg, '='), *dot;
	size_t flen;

	c->arg = arg;
	/* Firecracker's format: exactly one '=', a value, FILE of plain
	 * characters with CONTROLLER before its first dot. */
	if (!eq || strchr(eq + 1, '=') || !eq[1] || eq == arg)
		return usage("--cgroup '%s': not FILE=VALUE (e.g. cpuset.cpus=0)", arg);
	flen = (size_t)(eq - arg);
	if (flen > NAME_MAX)
		return usage("--cgroup '%s': file name too long", arg);
	memcpy(c->file, arg, flen);
	c->file[flen] = '\0';
	dot = strchr(c->file, '.');
	if (strchr(c->file, '/') || !dot || dot == c->file || !dot[1] || !strcmp(c->file, "..") ||
	    strchr(c->file, ' '))
		return usage("--cgroup '%s': FILE must be CONTROLLER.PROPERTY, one file name", arg);
	memcpy(c->controller, c->file, (size_t)(dot - c->file));
	c->controller[dot - c->file] = '\0';
	c->value = eq + 1;
	if (strlen(c->value) >= JAIL_CGROUP_VALUE_MAX || strchr(c->value, '\n'))
		return usage("--cgroup '%s': bad value (one line, under 4 KiB)", arg);
	return 0;
}

static int parse_rlimit_arg(struct jail_opts *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	uint64_t v;

	if (!eq)
		return usage("--resource-limit '%s': not RESOURCE=VALUE (no-file=N or fsize=N)",
			     arg);
	if (!parse_u64(eq + 1, &v))
		return usage("--resource-limit '%s': the value is not a number", arg);
	if (!strncmp(arg, "no-file=", 8)) {
		o->nofile = v;
	} else if (!strncmp(arg, "fsize=", 6)) {
		o->fsize = v;
		o->has_fsize = true;
	} else {
		return usage("--resource-limit '%s': unknown resource (no-file or fsize)", arg);
	}
	return 0;
}

static int parse_id_number(const char *opt, const char *v, uint32_t *out)
{
	uint64_t n;

	/* 4294967295 is -1: "leave unchanged" to setresuid(), never an id. */
	if (!parse_u64(v, &n) || n >= UINT32_MAX) {
		fprintf(stderr,
			"ember: jail: %s '%s': not a number from 0 to 4294967294 (see ember jail "
			"--help)\n",
			opt, v);
		return EMBER_EXIT_USAGE;
	}
	*out = (uint32_t)n;
	return 0;
}

/* 0, or the exit status after printing the error (-1: --help or
 * --version printed, exit 0). */
static int parse_args(int argc, char **argv, struct jail_opts *o)
{
	static const char *const valued[] = {
		"--id",	   "--exec-file",      "--uid",	   "--gid",	      "--chroot-base-dir",
		"--netns", "--cgroup-version", "--cgroup", "--parent-cgroup", "--resource-limit",
	};
	const char *uid = NULL, *gid = NULL, *ver = NULL, *base = NULL;
	int i, err;

	o->nofile = JAIL_DEFAULT_NOFILE;
	o->cgroup_ver = 1;
	o->uffd_minor = -1;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		const char **single = NULL;
		unsigned w;
		int k = 0;

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(jail_help, stdout);
			return -1;
		}
		if (!strcmp(a, "--version")) {
			printf("Jailer v%s\n\nember %s (implements the Firecracker jailer v%s)\n",
			       JAIL_VERSION, EMBER_VERSION, JAIL_VERSION);
			return -1;
		}
		if (!strcmp(a, "--daemonize")) {
			o->daemonize = true;
			continue;
		}
		if (!strcmp(a, "--new-pid-ns")) {
			o->new_pid_ns = true;
			continue;
		}
		for (w = 0; w < ARRAY_SIZE(valued) && !k; w++)
			k = config_take_value(argc, argv, &i, valued[w], &v);
		if (k < 0)
			return usage("%s", ember_lasterr());
		if (!k)
			return usage("unknown option '%s'", a);
		a = valued[w - 1];
		if (!strcmp(a, "--cgroup")) {
			if (o->ncg == JAIL_MAX_CGROUPS)
				return usage("more than %s --cgroup options", "32");
			err = parse_cgroup_arg(&o->cg[o->ncg++], v);
			if (err)
				return err;
			continue;
		}
		if (!strcmp(a, "--resource-limit")) {
			err = parse_rlimit_arg(o, v);
			if (err)
				return err;
			continue;
		}
		if (!strcmp(a, "--id"))
			single = &o->id;
		else if (!strcmp(a, "--exec-file"))
			single = &o->exec_file;
		else if (!strcmp(a, "--uid"))
			single = &uid;
		else if (!strcmp(a, "--gid"))
			single = &gid;
		else if (!strcmp(a, "--chroot-base-dir"))
			single = &base;
		else if (!strcmp(a, "--netns"))
			single = &o->netns;
		else if (!strcmp(a, "--cgroup-version"))
			single = &ver;
		else
			single = &o->parent_cgroup;
		if (*single)
			return usage("%s given twice", a);
		*single = v;
	}
	o->extra = argv + i;
	o->nextra = argc - i;

	if (!o->id)
		return usage("%s is required", "--id");
	if (!valid_id(o->id))
		return usage("--id '%s': not 1-64 of A-Z a-z 0-9 and -", o->id);
	if (!o->exec_file)
		return usage("%s is required", "--exec-file");
	if (!uid)
		return usage("%s is required", "--uid");
	if (!gid)
		return usage("%s is required", "--gid");
	if ((err = parse_id_number("--uid", uid, &o->uid)) ||
	    (err = parse_id_number("--gid", gid, &o->gid)))
		return err;
	if (ver) {
		if (strcmp(ver, "1") && strcmp(ver, "2"))
			return usage("--cgroup-version '%s': not 1 or 2", ver);
		o->cgroup_ver = ver[0] - '0';
	}
	if (o->parent_cgroup && !plain_relative(o->parent_cgroup))
		return usage("--parent-cgroup '%s': must be relative, without '.' or '..'",
			     o->parent_cgroup);
	o->chroot_base = base ? base : JAIL_DEFAULT_BASE;
	if (!*o->chroot_base)
		return usage("--chroot-base-dir '%s': empty", o->chroot_base);
	if (o->nextra > JAIL_MAX_EXTRA)
		return usage("more than %s arguments after --", "256");

	/* The name in the jail: the last component as given (so ember's
	 * `firecracker` symlink stays firecracker, which ember needs). */
	{
		const char *slash = strrchr(o->exec_file, '/');
		const char *name = slash ? slash + 1 : o->exec_file;

		if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
			return usage("--exec-file '%s': names no file", o->exec_file);
		if (config_copy(o->name, sizeof(o->name) - 4, name)) /* room for ".pid" */
			return usage("--exec-file '%s': file name too long", o->exec_file);
	}
	o->fc_args = strstr(o->name, "firecracker") != NULL;
	if (!o->fc_args && o->nextra == 0)
		return usage("--exec-file '%s' is not firecracker: give the ember command after "
			     "-- (e.g. -- run --kernel /vmlinux, or -- firecracker --no-api "
			     "--config-file /vm.json)",
			     o->exec_file);
	if (!o->parent_cgroup)
		o->parent_cgroup = o->name;
	return 0;
}

/* --- the chroot ------------------------------------------------------------------------ */

/* The exec file, the base directory and the jail root; refuses a root that
 * holds a previous jail (its copy, its pid file or its dev/). */
static int prepare_root(struct jail_opts *o)
{
	char base[PATH_MAX], rel[PATH_MAX], p[PATH_MAX];
	static const char *const stale[] = { "dev", "run", "old_root" };
	struct statvfs vfs;
	struct stat st;
	int n;

	if (stat(o->exec_file, &st))
		return ember_seterr(-errno, "exec file %s: %s", o->exec_file, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return ember_seterr(-EINVAL, "exec file %s: not a regular file", o->exec_file);
	if (!realpath(o->chroot_base, base))
		return ember_seterr(-errno, "chroot base %s: %s", o->chroot_base, strerror(errno));
	if (stat(base, &st) || !S_ISDIR(st.st_mode))
		return ember_seterr(-ENOTDIR, "chroot base %s: not a directory", base);
	/* Device nodes on a nodev mount cannot be opened: say so now. */
	if (statvfs(base, &vfs) == 0 && (vfs.f_flag & ST_NODEV))
		return ember_seterr(-EPERM,
				    "chroot base %s: on a nodev mount, where /dev/kvm could not "
				    "be opened (use another --chroot-base-dir)",
				    base);
	n = snprintf(rel, sizeof(rel), "%s/%s/root", o->name, o->id);
	if (n < 0 || (size_t)n >= sizeof(rel) || path_join(o->root, sizeof(o->root), base, rel))
		return ember_seterr(-ENAMETOOLONG, "chroot %s/%s: path too long", base, rel);
	if (mkdir_under(base, rel, 0755))
		return -EIO;
	if (lstat(o->root, &st) || !S_ISDIR(st.st_mode))
		return ember_seterr(-ENOTDIR, "chroot %s: not a directory", o->root);
	for (unsigned i = 0; i <= ARRAY_SIZE(stale) + 1; i++) {
		const char *what = i < ARRAY_SIZE(stale) ? stale[i] : o->name;
		char pidname[NAME_MAX + 5];

		if (i == ARRAY_SIZE(stale) + 1) {
			snprintf(pidname, sizeof(pidname), "%s.pid", o->name);
			what = pidname;
		}
		if (path_join(p, sizeof(p), o->root, what))
			return -ENAMETOOLONG;
		if (lstat(p, &st) == 0)
			return ember_seterr(-EEXIST,
					    "chroot %s: a previous jail is there (%s exists): "
					    "remove %s/%s/%s first",
					    o->root, what, base, o->name, o->id);
	}
	return 0;
}

/* Copy, not link, as Firecracker does: no other process shares its pages,
 * and the copy works across filesystems. Owned by uid:gid, the source's
 * permission bits without set-id. */
static int copy_exec(const struct jail_opts *o)
{
	char dst[PATH_MAX];
	static char buf[1 << 16];
	struct stat st;
	int in, out, err = 0;

	if (path_join(dst, sizeof(dst), o->root, o->name))
		return -ENAMETOOLONG;
	in = ember_open_input(o->exec_file, O_RDONLY, false, &st, NULL);
	if (in < 0)
		return ember_prefixerr(in, "exec file %s", o->exec_file);
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 0777);
	if (out < 0) {
		err = ember_seterr(-errno, "%s: %s", dst, strerror(errno));
		close(in);
		return err;
	}
	if (fchown(out, o->uid, o->gid) || fchmod(out, st.st_mode & 0777))
		err = ember_seterr(-errno, "%s: chown/chmod: %s", dst, strerror(errno));
	while (!err) {
		ssize_t n = read(in, buf, sizeof(buf)), w = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = ember_seterr(-errno, "exec file %s: read: %s", o->exec_file,
					   strerror(errno));
		if (n <= 0)
			break;
		while (!err && w < n) {
			ssize_t k = write(out, buf + w, (size_t)(n - w));

			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				err = ember_seterr(k < 0 ? -errno : -EIO, "%s: write: %s", dst,
						   k < 0 ? strerror(errno) : "no progress");
			else
				w += k;
		}
	}
	close(in);
	if (close(out) && !err)
		err = ember_seterr(-errno, "%s: %s", dst, strerror(errno));
	if (err)
		unlink(dst);
	return err;
}

/* /dev/userfaultfd's dynamic misc minor from /proc/misc, or -1. */
static int userfaultfd_minor(void)
{
	char line[128];
	FILE *f = fopen("/proc/misc", "re");
	int minor = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		int m;
		char name[64];

		if (sscanf(line, "%d %63s", &m, name) == 2 && !strcmp(name, "userfaultfd")) {
			minor = m;
			break;
		}
	}
	fclose(f);
	return minor;
}

static int join_netns(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY), err = 0;

	if (fd < 0)
		return ember_seterr(-errno, "netns %s: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || setns(fd, CLONE_NEWNET)) {
		err = ember_seterr(-EINVAL, "netns %s: not a network namespace (%s)", path,
				   "a file like /var/run/netns/NAME or /proc/PID/ns/net");
	}
	close(fd);
	return err;
}

static int set_rlimit(int res, const char *name, uint64_t v)
{
	struct rlimit r = { .rlim_cur = v, .rlim_max = v };

	if (setrlimit(res, &r))
		return ember_seterr(-errno, "--resource-limit %s=%llu: %s", name,
				    (unsigned long long)v, strerror(errno));
	return 0;
}

/* --- cgroups --------------------------------------------------------------------------- */

/* /proc/mounts escapes space, tab, newline and backslash as \ooo. */
static void unescape_mount_path(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

/* The mount point of controller's v1 hierarchy (ctrl NULL: the v2 one). */
static int cgroup_mount(const char *ctrl, char *out, size_t cap)
{
	char line[4096], dir[PATH_MAX], type[64], opts[2048];
	FILE *f = fopen("/proc/mounts", "re");
	int found = 0;

	if (!f)
		return ember_seterr(-errno, "/proc/mounts: %s", strerror(errno));
	while (!found && fgets(line, sizeof(line), f)) {
		char *o, *save = NULL;

		if (sscanf(line, "%*s %4095s %63s %2047s", dir, type, opts) != 3)
			continue;
		if (!ctrl) {
			found = !strcmp(type, "cgroup2");
			continue;
		}
		if (strcmp(type, "cgroup"))
			continue;
		for (o = strtok_r(opts, ",", &save); o && !found; o = strtok_r(NULL, ",", &save))
			found = !strcmp(o, ctrl);
	}
	fclose(f);
	if (!found)
		return ctrl
			   ? ember_seterr(-ENOENT,
					  "--cgroup: controller %s is not mounted (no cgroup v1 "
					  "hierarchy with it in /proc/mounts; --cgroup-version 2?)",
					  ctrl)
			   : ember_seterr(-ENOENT, "--cgroup-version 2: no cgroup2 mount in "
						   "/proc/mounts");
	unescape_mount_path(dir);
	if (config_copy(out, cap, dir))
		return ember_seterr(-ENAMETOOLONG, "cgroup mount %s: path too long", dir);
	return 0;
}

static int cg_write(const char *dir, const char *file, const char *value, const char *arg)
{
	char path[PATH_MAX], line[JAIL_CGROUP_VALUE_MAX + 2];
	int err;

	if (path_join(path, sizeof(path), dir, file))
		return -ENAMETOOLONG;
	snprintf(line, sizeof(line), "%s\n", value);
	err = write_file(path, line);
	if (err == -ENOENT)
		return ember_seterr(err, "--cgroup %s: %s: no such cgroup file", arg, path);
	if (err)
		return ember_seterr(err, "--cgroup %s: %s: %s", arg, path, strerror(-err));
	return 0;
}

/* v1 cpuset: a cgroup's cpus and mems start empty, and no task may join one
 * whose are. Copy each empty one from the level above, top down. */
static int cpuset_inherit(const char *mount, const char *rel)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	char path[PATH_MAX], up[PATH_MAX], f[PATH_MAX], val[JAIL_CGROUP_VALUE_MAX];
	int err;

	if (config_copy(up, sizeof(up), mount) || path_join(path, sizeof(path), mount, rel))
		return ember_seterr(-ENAMETOOLONG, "cgroup %s/%s: path too long", mount, rel);
	for (char *p = path + strlen(mount) + 1;; p++) {
		char c = *p;

		if (c != '/' && c)
			continue;
		*p = '\0';
		for (unsigned i = 0; i < ARRAY_SIZE(files); i++) {
			if (path_join(f, sizeof(f), path, files[i]) ||
			    read_line(f, val, sizeof(val)) || val[0])
				continue;
			/* One byte short: room for the newline. */
			if (path_join(f, sizeof(f), up, files[i]) ||
			    read_line(f, val, sizeof(val) - 1) || !val[0])
				continue;
			if (path_join(f, sizeof(f), path, files[i]))
				continue;
			strcat(val, "\n");
			err = write_file(f, val);
			if (err)
				return ember_seterr(err, "cgroup %s: %s", f, strerror(-err));
		}
		memcpy(up, path, strlen(path) + 1);
		*p = c;
		if (!c)
			return 0;
	}
}

/* v2: "+ctrl" into cgroup.subtree_control from the root down to rel's
 * parent level (rel is PARENT/ID). */
static int v2_enable(const char *mount, const char *rel, const char *ctrl, const char *arg)
{
	char path[PATH_MAX], plus[NAME_MAX + 3];
	size_t mlen = strlen(mount);
	char *last;
	int err;

	if (path_join(path, sizeof(path), mount, rel))
		return -ENAMETOOLONG;
	last = strrchr(path, '/');
	*last = '\0'; /* the leaf's parent */
	snprintf(plus, sizeof(plus), "+%s", ctrl);
	for (char *p = path + mlen;; p++) {
		char c = *p;

		if (c != '/' && c)
			continue;
		*p = '\0';
		err = cg_write(path, "cgroup.subtree_control", plus, arg);
		if (err)
			return err;
		*p = c;
		if (!c)
			return 0;
	}
}

static int setup_cgroups(const struct jail_opts *o)
{
	struct {
		char ctrl[NAME_MAX + 1];
		char dir[PATH_MAX];
	} grp[JAIL_MAX_CONTROLLERS];
	char mount[PATH_MAX], rel[PATH_MAX], pid[32];
	int ngrp = 0, err, n;

	n = snprintf(rel, sizeof(rel), "%s/%s", o->parent_cgroup, o->id);
	if (n < 0 || (size_t)n >= sizeof(rel))
		return ember_seterr(-ENAMETOOLONG, "--parent-cgroup %s: too long",
				    o->parent_cgroup);
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());

	if (o->cgroup_ver == 2 && o->ncg == 0) {
		/* Firecracker: with no --cgroup, v2 joins the parent if it
		 * exists. */
		char p[PATH_MAX], procs[PATH_MAX];
		struct stat st;

		if (cgroup_mount(NULL, mount, sizeof(mount)))
			return 0; /* nothing asked of cgroups: no v2 mount is fine */
		if (path_join(p, sizeof(p), mount, o->parent_cgroup) ||
		    path_join(procs, sizeof(procs), p, "cgroup.procs"))
			return -ENAMETOOLONG;
		if (stat(p, &st) || !S_ISDIR(st.st_mode))
			return 0;
		err = write_file(procs, pid);
		if (err)
			return ember_seterr(err, "--parent-cgroup: %s: %s", procs, strerror(-err));
		return 0;
	}
	if (o->cgroup_ver == 2 && o->ncg) {
		char ctrls[1024], path[PATH_MAX];

		if (cgroup_mount(NULL, mount, sizeof(mount)) ||
		    path_join(path, sizeof(path), mount, "cgroup.controllers"))
			return -ENOENT;
		if (read_line(path, ctrls, sizeof(ctrls)))
			return ember_seterr(-EIO, "%s: cannot read", path);
		for (int i = 0; i < o->ncg; i++) {
			bool on = false;
			char list[1024], *t, *save = NULL;

			memcpy(list, ctrls, sizeof(list));
			for (t = strtok_r(list, " ", &save); t && !on;
			     t = strtok_r(NULL, " ", &save))
				on = !strcmp(t, o->cg[i].controller);
			if (!on)
				return ember_seterr(
				    -ENOENT,
				    "--cgroup %s: controller %s is not available in "
				    "the cgroup v2 hierarchy at %s (%s lists: %s)",
				    o->cg[i].arg, o->cg[i].controller, mount, "cgroup.controllers",
				    ctrls[0] ? ctrls : "none");
		}
		if (mkdir_under(mount, rel, 0755))
			return -EIO;
		for (int i = 0; i < o->ncg; i++) {
			bool done = false;

			for (int j = 0; j < i && !done; j++)
				done = !strcmp(o->cg[j].controller, o->cg[i].controller);
			if (!done &&
			    (err = v2_enable(mount, rel, o->cg[i].controller, o->cg[i].arg)))
				return err;
		}
		if (path_join(grp[0].dir, sizeof(grp[0].dir), mount, rel))
			return -ENAMETOOLONG;
		for (int i = 0; i < o->ncg; i++)
			if ((err =
				 cg_write(grp[0].dir, o->cg[i].file, o->cg[i].value, o->cg[i].arg)))
				return err;
		if ((err = cg_write(grp[0].dir, "cgroup.procs", pid, "(joining)")))
			return err;
		return 0;
	}

	/* v1: one cgroup per controller, values first, then every join (a
	 * cpuset needs its cpus and mems before a task). */
	for (int i = 0; i < o->ncg; i++) {
		int g;

		for (g = 0; g < ngrp && strcmp(grp[g].ctrl, o->cg[i].controller); g++)
			;
		if (g == ngrp) {
			if (ngrp == JAIL_MAX_CONTROLLERS)
				return ember_seterr(-E2BIG, "--cgroup: more than 16 controllers");
			if ((err = cgroup_mount(o->cg[i].controller, mount, sizeof(mount))))
				return err;
			if (path_join(grp[g].dir, sizeof(grp[g].dir), mount, rel))
				return -ENAMETOOLONG;
			memcpy(grp[g].ctrl, o->cg[i].controller, sizeof(grp[g].ctrl));
			if (mkdir_under(mount, rel, 0755))
				return -EIO;
			if (!strcmp(grp[g].ctrl, "cpuset") && (err = cpuset_inherit(mount, rel)))
				return err;
			ngrp++;
		}
		if ((err = cg_write(grp[g].dir, o->cg[i].file, o->cg[i].value, o->cg[i].arg)))
			return err;
	}
	/* cgroup.procs (not tasks, as Firecracker writes): every thread. */
	for (int g = 0; g < ngrp; g++)
		if ((err = cg_write(grp[g].dir, "cgroup.procs", pid, "(joining)")))
			return err;
	return 0;
}

/* --- mount namespace and pivot_root ---------------------------------------------------- */

static int enter_root(const char *root)
{
	if (unshare(CLONE_NEWNS))
		return ember_seterr(-errno, "unshare(CLONE_NEWNS): %s%s", strerror(errno),
				    errno == EINVAL ? " (ember is multi-threaded here: a stack "
						      "limit below 256 KiB? raise ulimit -s)"
						    : "");
	/* Private, not Firecracker's slave: nothing mounted on the host
	 * later shows up in the jail either. */
	if (mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL))
		return ember_seterr(-errno, "making mounts private: %s", strerror(errno));
	/* pivot_root wants the new root to be a mount point. */
	if (mount(root, root, NULL, MS_BIND | MS_REC, NULL))
		return ember_seterr(-errno, "bind-mounting %s: %s", root, strerror(errno));
	if (chdir(root))
		return ember_seterr(-errno, "chdir %s: %s", root, strerror(errno));
	if (mkdir("old_root", 0600))
		return ember_seterr(-errno, "%s/old_root: %s", root, strerror(errno));
	if (syscall(SYS_pivot_root, ".", "old_root")) {
		int e = errno;
		struct statfs fs;

		/* An initramfs root (rootfs) can never be unmounted, and
		 * pivot_root refuses to leave it, as Firecracker's jailer
		 * finds too. Say so rather than a bare EINVAL. */
		if (e == EINVAL && statfs("/", &fs) == 0 &&
		    (fs.f_type == RAMFS_MAGIC || fs.f_type == TMPFS_MAGIC))
			return ember_seterr(
			    -e,
			    "pivot_root into %s: %s (the host's root is an initramfs, "
			    "which pivot_root cannot leave: run the jail from a "
			    "mounted root, or chroot into a bind mount of / first)",
			    root, strerror(e));
		return ember_seterr(-e, "pivot_root into %s: %s", root, strerror(e));
	}
	if (chdir("/"))
		return ember_seterr(-errno, "chdir /: %s", strerror(errno));
	if (umount2("old_root", MNT_DETACH))
		return ember_seterr(-errno, "unmounting the old root: %s", strerror(errno));
	if (rmdir("old_root"))
		return ember_seterr(-errno, "removing /old_root: %s", strerror(errno));
	return 0;
}

static int own(const char *path, const struct jail_opts *o)
{
	if (chown(path, o->uid, o->gid))
		return ember_seterr(-errno, "chown %s: %s", path, strerror(errno));
	return 0;
}

static int make_dev(const struct jail_opts *o, const char *path, unsigned maj, unsigned min)
{
	if (mknod(path, S_IFCHR | S_IRUSR | S_IWUSR, makedev(maj, min)))
		return ember_seterr(-errno, "mknod %s in the jail: %s", path, strerror(errno));
	return own(path, o);
}

/* Inside the new root: /, /dev, /dev/net, /run at 0700 owned by uid:gid,
 * and the device nodes. */
static int populate_root(const struct jail_opts *o)
{
	static const char *const dirs[] = { "/", "/dev", "/dev/net", "/run" };
	int err;

	for (unsigned i = 0; i < ARRAY_SIZE(dirs); i++) {
		if ((err = mkdir_ok(dirs[i], 0700)))
			return ember_seterr(err, "mkdir %s in the jail: %s", dirs[i],
					    strerror(-err));
		if (chmod(dirs[i], 0700))
			return ember_seterr(-errno, "chmod %s: %s", dirs[i], strerror(errno));
		if ((err = own(dirs[i], o)))
			return err;
	}
	if ((err = make_dev(o, "/dev/net/tun", 10, 200)) ||
	    (err = make_dev(o, "/dev/kvm", 10, 232)))
		return err;
	/* As Firecracker: without it only the guest's entropy source suffers. */
	if (make_dev(o, "/dev/urandom", 1, 9))
		fprintf(stderr, "ember: jail: warning: %s\n", ember_lasterr());
	if (o->uffd_minor >= 0 &&
	    (err = make_dev(o, "/dev/userfaultfd", 10, (unsigned)o->uffd_minor)))
		return err;
	return 0;
}

static int write_pid_file(const struct jail_opts *o, pid_t pid)
{
	char path[NAME_MAX + 8], s[32];
	int fd, n, err = 0;

	snprintf(path, sizeof(path), "/%s.pid", o->name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return ember_seterr(-errno, "%s in the jail: %s", path, strerror(errno));
	n = snprintf(s, sizeof(s), "%d", (int)pid);
	if (write(fd, s, (size_t)n) != n)
		err = ember_seterr(-EIO, "%s in the jail: short write", path);
	close(fd);
	return err;
}

/* --- privileges ------------------------------------------------------------------------ */

/*
 * Drop to uid:gid with nothing left: the bounding set emptied first (while
 * CAP_SETPCAP is there; afterwards not even an exec of a file with
 * capabilities, or as uid 0, could regain any), ambient cleared,
 * supplementary groups gone, then the ids, then the effective, permitted
 * and inheritable sets zeroed with capset (setuid clears them for a
 * non-zero uid, but not for --uid 0). glibc has no capset wrapper and
 * libcap would be a dependency for two calls: raw syscalls.
 */
static int drop_privileges(const struct jail_opts *o)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	for (int cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
			break; /* past the kernel's last capability */
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0))
			return ember_seterr(-errno, "dropping capability %d: %s", cap,
					    strerror(errno));
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return ember_seterr(-errno, "clearing ambient capabilities: %s", strerror(errno));
	if (setgroups(0, NULL))
		return ember_seterr(-errno, "setgroups: %s", strerror(errno));
	if (setresgid(o->gid, o->gid, o->gid))
		return ember_seterr(-errno, "setgid %u: %s", (unsigned)o->gid, strerror(errno));
	if (setresuid(o->uid, o->uid, o->uid))
		return ember_seterr(-errno, "setuid %u: %s", (unsigned)o->uid, strerror(errno));
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data))
		return ember_seterr(-errno, "capset: %s", strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return ember_seterr(-errno, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	return 0;
}

/* --- exec ------------------------------------------------------------------------------ */

static int exec_jailed(const struct jail_opts *o)
{
	static char *argv[JAIL_MAX_EXTRA + 16];
	static char path[NAME_MAX + 2], start[24], cpu[24], parent[24];
	char *envp[] = { NULL };
	uint64_t cpu_now = clock_us(CLOCK_PROCESS_CPUTIME_ID);
	int n = 0, i = 0;

	snprintf(path, sizeof(path), "/%s", o->name);
	snprintf(start, sizeof(start), "%llu", (unsigned long long)o->start_us);
	snprintf(cpu, sizeof(cpu), "%llu", (unsigned long long)cpu_now);
	snprintf(parent, sizeof(parent), "%llu", (unsigned long long)(o->cpu_used + cpu_now));
	argv[n++] = path;
	if (!o->fc_args && strcmp(o->extra[0], "firecracker") == 0)
		argv[n++] = o->extra[i++];
	if (o->fc_args || i == 1) {
		/* Firecracker's jailer's order. */
		argv[n++] = "--id";
		argv[n++] = (char *)o->id;
		argv[n++] = "--start-time-us";
		argv[n++] = start;
		argv[n++] = "--start-time-cpu-us";
		argv[n++] = cpu;
		argv[n++] = "--parent-cpu-time-us";
		argv[n++] = parent;
	}
	for (; i < o->nextra; i++)
		argv[n++] = o->extra[i];
	argv[n] = NULL;
	execve(path, argv, envp);
	return ember_seterr(-errno, "exec %s in the jail: %s", path, strerror(errno));
}

/* --- the whole -------------------------------------------------------------------------- */

/* --daemonize's first process: 0 once the daemon has executed, or the
 * daemon's error message (it writes one before it gives up). */
static int wait_daemon(int fd)
{
	char msg[EMBER_ERRMSG_MAX];
	size_t got = 0;

	for (;;) {
		ssize_t n = read(fd, msg + got, sizeof(msg) - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof(msg) - 1)
			break;
	}
	close(fd);
	if (got == 0)
		return 0;
	msg[got] = '\0';
	return ember_seterr(-EIO, "%s", msg);
}

/* fork(), the child adding the CPU time its parent used so far (a child's
 * CPU clock starts at 0) for --parent-cpu-time-us. Negative errno with a
 * message on failure. */
static pid_t fork_counted(struct jail_opts *o, const char *what)
{
	uint64_t cpu = clock_us(CLOCK_PROCESS_CPUTIME_ID);
	pid_t p = fork();

	if (p < 0)
		return ember_seterr(-errno, "%s: fork: %s", what, strerror(errno));
	if (p == 0)
		o->cpu_used += cpu;
	return p;
}

/* Returns 0 in a parent that is done (daemonize, new PID namespace), else
 * negative errno; the jailed process never returns. */
static int jail_run(struct jail_opts *o)
{
	int err, devnull = -1;

	if ((err = prepare_root(o)) || (err = copy_exec(o)))
		return err;
	o->uffd_minor = userfaultfd_minor();
	if (o->netns && (err = join_netns(o->netns)))
		return err;
	if ((o->has_fsize && (err = set_rlimit(RLIMIT_FSIZE, "fsize", o->fsize))) ||
	    (err = set_rlimit(RLIMIT_NOFILE, "no-file", o->nofile)))
		return err;
	if ((err = setup_cgroups(o)))
		return err;
	if (o->daemonize) {
		devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (devnull < 0)
			return ember_seterr(-errno, "/dev/null: %s", strerror(errno));
	}
	if ((err = enter_root(o->root)) || (err = populate_root(o)))
		return err;

	fflush(NULL); /* nothing buffered may be written twice */
	if (o->daemonize) {
		/* The command returns once the daemon has written its pid
		 * file and executed (the pipe's last write end closes with
		 * O_CLOEXEC), so the caller can read the pid file at once,
		 * or fails with the daemon's error line: after the dup2 the
		 * daemon has no stderr to say it on. */
		int pfd[2];
		pid_t p;

		if (pipe2(pfd, O_CLOEXEC))
			return ember_seterr(-errno, "--daemonize: pipe: %s", strerror(errno));
		p = fork_counted(o, "--daemonize");
		if (p < 0)
			return (int)p;
		if (p > 0) {
			close(pfd[1]);
			return wait_daemon(pfd[0]);
		}
		close(pfd[0]);
		o->report_fd = pfd[1];
		if (setsid() < 0)
			return ember_seterr(-errno, "--daemonize: setsid: %s", strerror(errno));
		/* Again, so the daemon is no session leader and can never
		 * acquire a controlling terminal. */
		p = fork_counted(o, "--daemonize");
		if (p < 0)
			return (int)p;
		if (p > 0)
			_exit(0);
		if (dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0)
			return ember_seterr(-errno, "--daemonize: dup2: %s", strerror(errno));
		close(devnull);
	}
	if (o->new_pid_ns) {
		/* Our child becomes pid 1 there. When we lead the session, it
		 * leads one of its own, so our exit sends it no SIGHUP. */
		bool leader = !o->daemonize && getsid(0) == getpid();
		pid_t p;

		if (unshare(CLONE_NEWPID))
			return ember_seterr(-errno, "--new-pid-ns: unshare: %s", strerror(errno));
		p = fork_counted(o, "--new-pid-ns");
		if (p < 0)
			return (int)p;
		if (p > 0)
			return write_pid_file(o, p);
		if (leader && setsid() < 0)
			return ember_seterr(-errno, "--new-pid-ns: setsid: %s", strerror(errno));
	} else if ((err = write_pid_file(o, getpid()))) {
		return err;
	}
	if ((err = drop_privileges(o)))
		return err;
	return exec_jailed(o);
}

int jail_main(int argc, char **argv)
{
	static struct jail_opts o;
	int status;

	/* First, as Firecracker's jailer: nothing inherited gets further,
	 * not even an fd the command line names (main() kept those). */
	if (privs_close_inherited_fds(0, NULL)) {
		fprintf(stderr, "ember: jail: %s\n", ember_lasterr());
		return EMBER_EXIT_ERROR;
	}
	o.start_us = clock_us(CLOCK_MONOTONIC);
	status = parse_args(argc, argv, &o);
	if (status)
		return status < 0 ? 0 : status;
	if (geteuid() != 0) {
		fprintf(stderr, "ember: jail: must run as root (it mounts, creates device nodes "
				"and changes ids)\n");
		return EMBER_EXIT_ERROR;
	}
	o.report_fd = -1;
	if (jail_run(&o) == 0)
		return 0;
	if (o.report_fd >= 0) {
		/* A daemon: its parent prints the line. */
		const char *m = ember_lasterr();

		ssize_t n = write(o.report_fd, m, strlen(m));

		(void)n; /* if the parent is gone, nobody is left to tell */
		return EMBER_EXIT_ERROR;
	}
	fprintf(stderr, "ember: jail: %s\n", ember_lasterr());
	return EMBER_EXIT_ERROR;
}
