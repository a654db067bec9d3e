// SPDX-License-Identifier: MIT
/*
 * /init of ember's guest initramfs.
 *
 * Mounts /proc, /sys and /dev, writes the "init reached" boot marker (byte 123
 * to I/O port 0x3f0), then runs either the command given on the kernel command
 * line as ember.cmd=... (with /bin/sh -c) or an interactive /bin/sh (skipped
 * when the console input already ended, see input_at_eof). When that exits it
 * prints "ember-init: exit status N", syncs and reboots (with
 * reboot=k the kernel writes 0xFE to port 0x64 and ember exits 0).
 *
 * Ctrl-Alt-Del (ember's i8042 keyboard, Firecracker's SendCtrlAltDel) ends
 * it the same way, whatever the command is doing: init prints
 * "ember-init: ctrl-alt-del", syncs and reboots. The guest kernel needs the
 * i8042, atkbd and VT drivers for that (Debian's stock kernel has them, the
 * minimal kernel from guest/linux.fragment does not).
 *
 * ember.cmd quoting: the value is everything after "ember.cmd=" to the end of
 * the command line. If it starts with a double quote it ends at the next
 * double quote instead: ember.cmd="cat /proc/cmdline" quiet. Prefer the quoted
 * form: the kernel then also sees one parameter, whereas unquoted words after
 * ember.cmd= are handed to init as arguments/environment (at most 32 each).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BOOT_MARKER_PORT 0x3f0
#define BOOT_MARKER_MAGIC 123

static void say(const char *fmt, const char *arg)
{
	fprintf(stderr, "ember-init: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
}

static void mount_fs(const char *type, const char *dir)
{
	mkdir(dir, 0755);
	if (mount(type, dir, type, 0, NULL) != 0 && errno != EBUSY)
		fprintf(stderr, "ember-init: mount %s on %s: %s\n", type, dir, strerror(errno));
}

static void boot_marker(void)
{
	if (ioperm(BOOT_MARKER_PORT, 1, 1) != 0) {
		say("boot marker: ioperm: %s", strerror(errno));
		return;
	}
	outb(BOOT_MARKER_MAGIC, BOOT_MARKER_PORT);
	ioperm(BOOT_MARKER_PORT, 1, 0);
}

/* The ember.cmd= value from /proc/cmdline, or NULL. */
static char *find_cmd(void)
{
	static char line[4096];
	const char *key = "ember.cmd=";
	FILE *f = fopen("/proc/cmdline", "r");
	size_t n;
	char *p;

	if (!f)
		return NULL;
	n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	for (p = line; (p = strstr(p, key)); p++) {
		if (p != line && p[-1] != ' ')
			continue; /* e.g. xember.cmd= */
		p += strlen(key);
		if (*p == '"') {
			p++;
			p[strcspn(p, "\"")] = '\0';
		}
		return p;
	}
	return NULL;
}

/* Make the console device (e.g. ttyS0) our controlling terminal, so ^C works
 * in the interactive shell. /dev/console itself cannot be one. */
static void console_ctty(void)
{
	char name[64], path[80];
	FILE *f = fopen("/sys/class/tty/console/active", "r");
	char *last;
	int fd;

	if (!f)
		return;
	if (!fgets(name, sizeof(name), f)) {
		fclose(f);
		return;
	}
	fclose(f);
	name[strcspn(name, "\n")] = '\0';
	last = strrchr(name, ' ');
	last = last ? last + 1 : name;
	snprintf(path, sizeof(path), "/dev/%s", last);
	setsid();
	fd = open(path, O_RDWR);
	if (fd < 0)
		return;
	ioctl(fd, TIOCSCTTY, 0);
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

/*
 * ember sends ^D when its stdin (not a terminal) ends. If that happened before
 * the shell started, the tty holds only an end-of-file mark, which the shell's
 * line editing (raw mode) would never see and the shell would wait forever.
 * True when such a mark is all the pending input.
 */
static int input_at_eof(void)
{
	struct pollfd p = { .fd = 0, .events = POLLIN };
	int pending = 0, flags = fcntl(0, F_GETFL);
	char c;
	ssize_t n;

	/* The ^D reaches the UART when the kernel opens the console for init,
	 * but the tty layer hands received bytes to the line discipline from a
	 * work item: give it a moment. Found in the lab: without this wait the
	 * mark sometimes arrived after the check, and the shell hung. */
	if (poll(&p, 1, 100) <= 0)
		return 0;
	if (flags < 0 || ioctl(0, FIONREAD, &pending) != 0 || pending != 0)
		return 0;
	fcntl(0, F_SETFL, flags | O_NONBLOCK);
	n = read(0, &c, 1); /* canonical mode: 0 = end-of-file mark */
	fcntl(0, F_SETFL, flags);
	return n == 0;
}

/*
 * Wait for the child to exit, reaping orphans as PID 1 must, or for
 * Ctrl-Alt-Del. Returns true for Ctrl-Alt-Del: with C_A_D off (main()
 * turns it off), Linux's ctrl_alt_del() (kernel/reboot.c) sends SIGINT to
 * PID 1. Both signals are blocked from the start of main() (sigs): the
 * kernel drops a signal whose action is the default for PID 1, but never a
 * blocked one (sig_ignored(), kernel/signal.c), and sigwaitinfo() takes
 * them with no window between a check and the sleep.
 */
static bool wait_child(pid_t child, const sigset_t *sigs, int *status)
{
	pid_t pid;
	int st;

	for (;;) {
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			if (pid == child) {
				*status = st;
				return false;
			}
		}
		if (pid < 0 && errno != EINTR)
			return false; /* no child at all: nothing to wait for */
		if (sigwaitinfo(sigs, NULL) == SIGINT)
			return true;
	}
}

int main(void)
{
	char *cmd;
	pid_t child;
	int status = 127 << 8, code; /* reported if fork or wait fails */
	sigset_t sigs, old_mask;
	bool cad = false;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGCHLD);
	sigprocmask(SIG_BLOCK, &sigs, &old_mask);
	/* Linux starts with C_A_D on: Ctrl-Alt-Del restarts at once, from a
	 * work item, without syncing. Off, it becomes SIGINT to us, as
	 * sysvinit and systemd also ask. */
	if (reboot(RB_DISABLE_CAD) != 0)
		say("reboot(RB_DISABLE_CAD): %s", strerror(errno));

	mount_fs("proc", "/proc");
	mount_fs("sysfs", "/sys");
	mount_fs("devtmpfs", "/dev");
	if (fcntl(1, F_GETFD) < 0) { /* no initial console: open it ourselves */
		int fd = open("/dev/console", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
	}
	boot_marker();

	setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin", 1);
	setenv("HOME", "/root", 1);
	setenv("TERM", "linux", 1);
	setenv("PS1", "ember# ", 1);
	if (chdir("/") != 0)
		say("chdir /: %s", strerror(errno));
	cmd = find_cmd();

	child = fork();
	if (child == 0) {
		sigprocmask(SIG_SETMASK, &old_mask, NULL); /* exec keeps the mask */
		if (cmd) {
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		} else {
			console_ctty();
			if (input_at_eof()) {
				say("%s", "console input ended before the shell started");
				_exit(0);
			}
			execl("/bin/sh", "sh", "-i", (char *)NULL);
		}
		say("exec /bin/sh: %s", strerror(errno));
		_exit(127);
	}
	if (child < 0)
		say("fork: %s", strerror(errno));
	else
		cad = wait_child(child, &sigs, &status);
	if (cad) {
		say("%s", "ctrl-alt-del");
	} else {
		code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		fprintf(stderr, "ember-init: exit status %d\n", code);
	}
	sync();
	reboot(RB_AUTOBOOT);
	say("reboot: %s", strerror(errno));
	for (;;)
		pause();
}
