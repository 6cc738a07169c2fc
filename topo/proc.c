/* SPDX-License-Identifier: MIT */
/*
 * Processes of an instance: started inside its server end, put on record before they may run (so a kill -9
 * of nbench at any moment leaves them findable), and told apart from a later process with the same pid.
 * Below apply.c: the steps that start processes (the guest, its vhost-user backend) and topo.c's
 * nb_topo_spawn_server both start them here, each with its own way of recording them (struct nb_launch).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "topo_int.h"

/* /proc/<pid>/stat field 22, or 0 if the process is gone or a zombie. */
unsigned long long nb_proc_start_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	char state;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return 0;
	}
	fclose(f);
	p = strrchr(buf, ')');
	if (!p ||
	    sscanf(p + 2, "%c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
		   &state, &start) != 2)
		return 0;
	if (state == 'Z' || state == 'X')
		return 0;
	return start;
}

void nb_proc_exe(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	size_t del = strlen(" (deleted)");

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, buf, len - 1);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	/* a binary replaced by a rebuild still is the program that was started */
	if ((size_t)n > del && !strcmp(buf + n - del, " (deleted)"))
		buf[n - del] = '\0';
}

bool nb_proc_is(const struct nb_proc *p)
{
	char exe[NB_PROC_EXE_MAX];

	if (p->pid <= 1 || !p->start_ticks || nb_proc_start_ticks(p->pid) != p->start_ticks)
		return false;
	nb_proc_exe(p->pid, exe, sizeof(exe));
	for (size_t i = 0; *exe && i < NB_PROC_EXES; i++)
		if (*p->exe[i] && !strcmp(p->exe[i], exe))
			return true;
	return false;
}

bool nb_proc_in_netns(pid_t pid, const char *name)
{
	struct stat pst, nst;
	char path[80], ns[NB_NS_NAME_MAX];

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	if (pid <= 1 || stat(path, &pst))
		return false;
	for (size_t i = 0; nb_ns_role(i); i++) {
		nb_ns_name(ns, sizeof(ns), name, nb_ns_role(i));
		snprintf(path, sizeof(path), NB_NETNS_DIR "/%s", ns);
		if (!stat(path, &nst) && nst.st_dev == pst.st_dev && nst.st_ino == pst.st_ino)
			return true;
	}
	return false;
}

bool nb_proc_in_cgroup(pid_t pid, const char *cgroup)
{
	char path[300], buf[8192], *s, *end;
	ssize_t n;
	int fd;

	if (pid <= 1 || !cgroup || !*cgroup)
		return false;
	snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (s = buf; *s; s = end) {
		long v = strtol(s, &end, 10);

		if (end == s)
			break;
		if (v == pid)
			return true;
	}
	return false;
}

int nb_proc_pidfd(const struct nb_proc *p)
{
	int fd = (int)syscall(SYS_pidfd_open, p->pid, 0);

	if (fd < 0)
		return -errno;
	if (nb_proc_start_ticks(p->pid) != p->start_ticks) {
		close(fd);
		return -ESRCH;
	}
	return fd;
}

/* A path longer than buf is left out ("" never matches a program). */
static void path_copy(char *buf, size_t len, const char *path)
{
	size_t n = strlen(path);

	if (n < len)
		memcpy(buf, path, n + 1);
}

/* Where execvp would find prog, resolved (symlinks followed, as /proc/<pid>/exe shows it); "" if nowhere. */
static void exe_resolve(const char *prog, char *buf, size_t len)
{
	char cand[PATH_MAX], real[PATH_MAX];
	const char *path = getenv("PATH"), *dir, *end;

	*buf = '\0';
	if (!prog || !*prog)
		return;
	if (strchr(prog, '/')) {
		if (realpath(prog, real))
			path_copy(buf, len, real);
		return;
	}
	for (dir = path ? path : "/usr/local/bin:/usr/bin:/bin"; *dir; dir = *end ? end + 1 : end) {
		end = strchrnul(dir, ':');
		snprintf(cand, sizeof(cand), "%.*s/%s", (int)(end - dir), end == dir ? "." : dir, prog);
		if (!access(cand, X_OK) && realpath(cand, real)) {
			path_copy(buf, len, real);
			return;
		}
	}
}

/* What tells the child pid apart: its start time and the programs it runs before and after its exec. */
static void identify(struct nb_proc *p, pid_t pid, const struct nb_spawn_req *req)
{
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->child = true;
	p->start_ticks = nb_proc_start_ticks(pid);
	nb_proc_exe(getpid(), p->exe[0], sizeof(p->exe[0]));
	exe_resolve(req->argv[0], p->exe[1], sizeof(p->exe[1]));
	exe_resolve(req->exe, p->exe[2], sizeof(p->exe[2]));
}

bool nb_cancel_pending(const sigset_t *set)
{
	sigset_t pending;

	if (!set || sigpending(&pending))
		return false;
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(set, sig) == 1 && sigismember(&pending, sig) == 1)
			return true;
	return false;
}

struct spawn_ctx {
	int netns_fd;
	int cgroup_fd; /* cgroup.procs of the instance, or -1 */
	int gate_fd;   /* read end: the parent writes one byte once the pid is on record */
	int gate_wfd;  /* write end, closed first in the child so a dead parent reads as EOF */
	int err_fd;    /* write end, close-on-exec: an errno written here means the exec did not happen */
	const char *hostname;
	char *const *argv;
};

static void child_fail(int err_fd, int e)
{
	ssize_t w = write(err_fd, &e, sizeof(e));

	(void)w;
	_exit(127);
}

static void child_reset_signals(void)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
}

static bool gate_wait(int fd, int wfd)
{
	char c;
	ssize_t n;

	close(wfd);
	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	return n == 1;
}

static volatile pid_t sandbox_server;

static void sandbox_forward(int sig)
{
	if (sandbox_server > 0)
		kill(sandbox_server, sig);
}

/* pid 1 of the sandbox's pid namespace. The kernel drops signals to a pid 1 that has no handler for
 * them, so a server that does not handle SIGTERM could not be stopped gently; this small init (as
 * `docker run --init`) handles them, passes them on to the server, and leaves with its status. */
static int sandbox_init(void *arg)
{
	const struct spawn_ctx *c = arg;
	struct sigaction sa = {.sa_handler = sandbox_forward};
	int status;
	pid_t pid;

	if (setns(c->netns_fd, CLONE_NEWNET))
		child_fail(c->err_fd, errno);
	if (write(c->cgroup_fd, "0", 1) < 0)
		child_fail(c->err_fd, errno);
	if (sethostname(c->hostname, strlen(c->hostname)))
		child_fail(c->err_fd, errno);
	/* Mounts made here must not propagate back into the host's mount namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		child_fail(c->err_fd, errno);
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		child_fail(c->err_fd, errno);
	child_reset_signals();
	if (!gate_wait(c->gate_fd, c->gate_wfd))
		_exit(127);
	/* This process never execs, so close-on-exec does nothing for it: without this it would hold the
	 * caller's pipes (a `$(nbench topo spawn ...)` would never see EOF) for the server's lifetime. */
	close_range(3, (unsigned)c->err_fd - 1, 0);
	close_range((unsigned)c->err_fd + 1, ~0u, 0);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	pid = fork();
	if (pid < 0)
		child_fail(c->err_fd, errno);
	if (pid == 0) {
		child_reset_signals();
		execvp(c->argv[0], c->argv);
		child_fail(c->err_fd, errno);
	}
	sandbox_server = pid;
	close(c->err_fd);
	for (;;) {
		pid_t w = waitpid(-1, &status, 0);

		if (w == pid)
			break;
		if (w < 0 && errno == ECHILD)
			_exit(127);
	}
	if (WIFSIGNALED(status))
		_exit(128 + WTERMSIG(status));
	_exit(WEXITSTATUS(status));
}

/* The plain child: joins the netns, waits at the gate, execs. */
static pid_t fork_plain(const struct spawn_ctx *c)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (setns(c->netns_fd, CLONE_NEWNET))
			child_fail(c->err_fd, errno);
		child_reset_signals();
		if (!gate_wait(c->gate_fd, c->gate_wfd))
			_exit(127);
		execvp(c->argv[0], c->argv);
		child_fail(c->err_fd, errno);
	}
	return pid;
}

/* The sandboxed child: pid 1 (sandbox_init) of new pid, mount and uts namespaces, in the cgroup. */
static pid_t clone_sandbox(struct spawn_ctx *c, const char *cgroup)
{
	const size_t stack_len = 256 * 1024;
	char path[300];
	void *stack;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
	c->cgroup_fd = open(path, O_WRONLY | O_CLOEXEC);
	if (c->cgroup_fd < 0)
		return -errno;
	stack = mmap(NULL, stack_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return -errno;
	/* Not CLONE_VM: the child has its own copy of this stack, so ours can go right away. */
	pid = clone(sandbox_init, (char *)stack + stack_len,
		    CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | SIGCHLD, c);
	if (pid < 0)
		pid = -errno;
	munmap(stack, stack_len);
	return pid;
}

/* The child is on record: opens its gate and learns whether the exec happened. 0 or -errno. */
static int release(pid_t pid, int gate_wfd, int err_rfd, const struct nb_launch *l)
{
	ssize_t n;
	int e = 0, r = 0;

	if (write(gate_wfd, "g", 1) != 1)
		r = -errno;
	close(gate_wfd);
	do
		n = read(err_rfd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	if (!r && n == sizeof(e))
		r = -e;
	if (r) {
		waitpid(pid, NULL, 0);
		if (l->forget)
			l->forget(l->ctx, pid);
	}
	return r;
}

pid_t nb_spawn(const struct nb_spawn_req *req, const struct nb_launch *l)
{
	struct spawn_ctx c = {.netns_fd = -1, .cgroup_fd = -1, .argv = req->argv, .hostname = req->hostname};
	int gate[2] = {-1, -1}, errp[2] = {-1, -1}, r = 0;
	struct nb_proc rec;
	pid_t pid = -1;

	c.netns_fd = nb_ns_open(req->netns);
	if (c.netns_fd < 0)
		return c.netns_fd;
	if (pipe2(gate, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		r = -errno;
		goto out;
	}
	c.gate_fd = gate[0];
	c.gate_wfd = gate[1];
	c.err_fd = errp[1];
	pid = req->cgroup ? clone_sandbox(&c, req->cgroup) : fork_plain(&c);
	if (pid < 0) {
		r = pid;
		goto out;
	}
	close(errp[1]);
	close(gate[0]);
	errp[1] = gate[0] = -1;
	identify(&rec, pid, req);
	r = l->record ? l->record(l->ctx, &rec) : 0;
	if (r) { /* no record, no process: the gate never opens and the child exits */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto out;
	}
	r = release(pid, gate[1], errp[0], l);
	gate[1] = -1;
out:
	if (c.netns_fd >= 0)
		close(c.netns_fd);
	if (c.cgroup_fd >= 0)
		close(c.cgroup_fd);
	for (int i = 0; i < 2; i++) {
		if (gate[i] >= 0)
			close(gate[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	return r ? r : pid;
}
