/* SPDX-License-Identifier: MIT */
/*
 * The public face of topo/: build an instance step by step with undo, find one, enter its client end,
 * start processes at its server end, and take it all down again.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "topo_int.h"
#include "vm.h"

static bool has_caps(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2];
	const uint32_t need = (1u << CAP_NET_ADMIN) | (1u << CAP_SYS_ADMIN);

	if (syscall(SYS_capget, &h, d))
		return false;
	return (d[0].effective & need) == need;
}

static bool name_taken(const char *name, char *what, size_t whatlen)
{
	char path[300], cgroot[256];

	nb_state_path(path, sizeof(path), name);
	if (!access(path, F_OK)) {
		snprintf(what, whatlen, "%s", path);
		return true;
	}
	for (size_t i = 0; nb_ns_role(i); i++) {
		char ns[NB_NS_NAME_MAX];

		nb_ns_name(ns, sizeof(ns), name, nb_ns_role(i));
		if (nb_ns_exists(ns)) {
			snprintf(what, whatlen, "netns %s", ns);
			return true;
		}
	}
	if (!nb_cgroup_root(cgroot, sizeof(cgroot))) {
		snprintf(path, sizeof(path), "%s/nbench-%s", cgroot, name);
		if (!access(path, F_OK)) {
			snprintf(what, whatlen, "cgroup nbench-%s", name);
			return true;
		}
	}
	return false;
}

static void fresh_name(char *buf, size_t len)
{
	char what[300];

	for (int i = 0; i < 100; i++) {
		uint32_t x;

		if (getrandom(&x, sizeof(x), GRND_NONBLOCK) != sizeof(x))
			x = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 12) ^ (uint32_t)i;
		snprintf(buf, len, "t%06x", x & 0xffffff);
		if (!name_taken(buf, what, sizeof(what)))
			return;
	}
}

/* NBENCH_TOPO_FAIL_AT=<step>[:<errno name>]: the test hook for failures half way. */
static int injected_failure(size_t step)
{
	static const struct {
		const char *name;
		int err;
	} names[] = {{"EOPNOTSUPP", EOPNOTSUPP}, {"EPERM", EPERM}, {"ENOMEM", ENOMEM}, {"EEXIST", EEXIST}};
	const char *env = getenv("NBENCH_TOPO_FAIL_AT");
	char *end;
	long at;

	if (!env || !*env)
		return 0;
	at = strtol(env, &end, 10);
	if (end == env || at < 0 || (size_t)at != step)
		return 0;
	if (*end == ':')
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(end + 1, names[i].name))
				return -names[i].err;
	return -EIO;
}

static void step_delay(void)
{
	const char *env = getenv("NBENCH_TOPO_STEP_DELAY_MS");
	long ms = env ? strtol(env, NULL, 10) : 0;

	if (ms > 0) {
		struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

		nanosleep(&ts, NULL);
	}
}

static void cancel_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
}

static bool cancel_pending(const sigset_t *set)
{
	sigset_t pending;

	if (sigpending(&pending))
		return false;
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(set, sig) == 1 && sigismember(&pending, sig) == 1)
			return true;
	return false;
}

int nb_topo_up_ex(const char *kind, const char *name, const struct nb_topo_opts *opts, struct nb_topo **ret,
		  char *err, size_t errlen)
{
	char gen[NB_TOPO_NAME_MAX + 1], cgroot[256] = "", what[300];
	struct nb_apply *a = NULL;
	struct nb_topo *t;
	sigset_t block, old;
	size_t i;
	int r;

	*ret = NULL;
	if (!nb_topo_kind_valid(kind))
		return nb_topo_kind_error(kind, err, errlen);
	if (name && (r = nb_topo_name_check(name, err, errlen)))
		return r;
	if (!has_caps()) {
		nb_err(err, errlen, "building a path needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)");
		return -EPERM;
	}
	if (!name) {
		fresh_name(gen, sizeof(gen));
		name = gen;
	}
	if (!strcmp(kind, "host"))
		nb_cgroup_root(cgroot, sizeof(cgroot));
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	r = nb_plan_build(kind, name, opts, cgroot, &t->plan, err, errlen);
	if (r) {
		free(t);
		return r;
	}
	if (t->plan.vm && (r = nb_vm_precheck(&t->plan, err, errlen)))
		goto fail_free;
	if (name_taken(name, what, sizeof(what))) {
		nb_err(err, errlen, "instance name '%s' is in use (%s exists)", name, what);
		r = -EEXIST;
		goto fail_free;
	}
	r = nb_state_create(t);
	if (r) {
		if (r == -EEXIST)
			nb_err(err, errlen, "instance name '%s' is in use", name);
		else
			nb_err(err, errlen, "writing state file in " NB_STATE_DIR ": %s", strerror(-r));
		goto fail_free;
	}
	r = nb_apply_open(&a);
	if (r) {
		nb_err(err, errlen, "%s", strerror(-r));
		goto fail_state;
	}

	/* A signal may only land between steps: every step is whole when we look, so unwinding is exact. */
	cancel_signals(&block);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (i = 0; i < t->plan.nsteps; i++) {
		struct nb_step *s = &t->plan.steps[i];

		if (cancel_pending(&block)) {
			nb_err(err, errlen, "interrupted at step %zu of %zu; everything undone", i,
			       t->plan.nsteps);
			r = -EINTR;
			break;
		}
		r = injected_failure(i);
		if (r) {
			char detail[48];

			snprintf(detail, sizeof(detail), "injected at step %zu", i);
			nb_step_error(s, r, detail, err, errlen);
			break;
		}
		r = nb_step_apply(a, s, err, errlen);
		if (r)
			break;
		step_delay();
	}
	if (r) {
		while (i-- > 0)
			nb_step_undo(a, &t->plan.steps[i]);
		nb_apply_close(a);
		/* The pattern sweep catches what a failing step may have half made (a netns file, a cgroup).
		 */
		nb_teardown(t);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		goto fail_free;
	}
	nb_apply_close(a);
	r = nb_state_write(t, true);
	if (r) {
		nb_err(err, errlen, "writing state file: %s", strerror(-r));
		nb_teardown(t);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		goto fail_free;
	}
	/* VM paths: the guest is the server end; up means its responder answers (topo/vm.c) */
	if (t->plan.vm && (r = nb_vm_start(t, &block, err, errlen))) {
		nb_teardown(t);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		goto fail_free;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	t->built = true;
	*ret = t;
	return 0;

fail_state:
	nb_state_remove(name);
fail_free:
	nb_plan_free(&t->plan);
	free(t);
	return r;
}

int nb_topo_up(const char *kind, const char *name, struct nb_topo **ret, char *err, size_t errlen)
{
	return nb_topo_up_ex(kind, name, NULL, ret, err, errlen);
}

int nb_topo_open(const char *name, struct nb_topo **ret, char *err, size_t errlen)
{
	struct nb_topo *t;
	int r;

	*ret = NULL;
	r = nb_topo_name_check(name, err, errlen);
	if (r)
		return r;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	r = nb_state_read(name, t, err, errlen);
	if (r) {
		free(t);
		return r;
	}
	if (t->incomplete) {
		nb_err(err, errlen, "instance '%s' is not complete (being built, or its builder died)", name);
		r = -EBUSY;
	} else if (!nb_ns_exists(t->plan.server_ns) || !nb_ns_exists(t->plan.client_ns)) {
		nb_err(err, errlen,
		       "instance '%s' has a state file but no namespaces; run nbench topo down %s", name,
		       name);
		r = -ENOENT;
	}
	if (r) {
		nb_plan_free(&t->plan);
		free(t);
		return r;
	}
	/* Processes recorded by others are theirs to stop; this handle kills only what it starts. */
	for (size_t i = 0; i < t->nprocs; i++)
		if (nb_proc_start_ticks(t->procs[i].pid) == t->procs[i].start_ticks)
			t->others[t->nothers++] = t->procs[i].pid;
	t->nprocs = 0;
	*ret = t;
	return 0;
}

/* Re-reads the state file so that processes recorded by other handles are kept when ours are added or
 * removed. */
static int state_update_procs(struct nb_topo *t)
{
	struct nb_topo cur;
	struct nb_proc mine[NB_TOPO_MAX_PIDS];
	size_t nmine = t->nprocs;
	int r;

	memcpy(mine, t->procs, sizeof(mine));
	r = nb_state_read(t->plan.name, &cur, NULL, 0);
	if (r)
		return r;
	nb_plan_free(&cur.plan);
	/* keep the others' entries, then ours */
	t->nprocs = 0;
	for (size_t i = 0; i < cur.nprocs; i++) {
		bool ours = false;

		for (size_t j = 0; j < nmine; j++)
			ours |= mine[j].pid == cur.procs[i].pid;
		if (!ours && t->nprocs < NB_TOPO_MAX_PIDS && nb_proc_start_ticks(cur.procs[i].pid))
			t->procs[t->nprocs++] = cur.procs[i];
	}
	size_t others = t->nprocs;
	for (size_t j = 0; j < nmine && t->nprocs < NB_TOPO_MAX_PIDS; j++)
		if (mine[j].pid > 0)
			t->procs[t->nprocs++] = mine[j];
	r = nb_state_write(t, true);
	/* the handle goes on knowing only its own */
	memmove(t->procs, t->procs + others, (t->nprocs - others) * sizeof(t->procs[0]));
	t->nprocs -= others;
	return r;
}

int nb_topo_down(struct nb_topo *t, bool destroy)
{
	int r = 0;

	if (!t)
		return 0;
	if ((t->built || destroy) && !t->down) {
		r = nb_teardown(t);
		t->down = true;
	} else if (t->nprocs) {
		nb_procs_kill(t);
		state_update_procs(t);
	}
	nb_plan_free(&t->plan);
	free(t);
	return r;
}

void nb_topo_close(struct nb_topo *t)
{
	if (!t)
		return;
	nb_plan_free(&t->plan);
	free(t);
}

const char *nb_topo_name(const struct nb_topo *t)
{
	return t->plan.name;
}

const char *nb_topo_kind(const struct nb_topo *t)
{
	return t->plan.kind;
}

const char *nb_topo_dial_addr(const struct nb_topo *t)
{
	return t->plan.dial_addr;
}

uint16_t nb_topo_dial_port(const struct nb_topo *t)
{
	return t->plan.dial_port;
}

const char *nb_topo_server_addr(const struct nb_topo *t)
{
	return t->plan.server_addr;
}

uint16_t nb_topo_server_port(const struct nb_topo *t)
{
	return t->plan.server_port;
}

const char *nb_topo_client_netns(const struct nb_topo *t)
{
	return t->plan.client_ns;
}

const char *nb_topo_server_netns(const struct nb_topo *t)
{
	return t->plan.server_ns;
}

unsigned nb_topo_pids(const struct nb_topo *t, pid_t *out, unsigned max)
{
	unsigned n = 0;
	for (size_t i = 0; i < t->nprocs && n < max; i++)
		out[n++] = t->procs[i].pid;
	for (size_t i = 0; i < t->nothers && n < max; i++)
		out[n++] = t->others[i];
	return n;
}

int nb_topo_enter_client(const struct nb_topo *t)
{
	int fd = nb_ns_open(t->plan.client_ns), r = 0;

	if (fd < 0)
		return fd;
	if (setns(fd, CLONE_NEWNET))
		r = -errno;
	close(fd);
	return r;
}

char *nb_topo_describe_json(const struct nb_topo *t)
{
	return nb_describe(&t->plan);
}

int nb_topo_script(const char *kind, const char *name, const struct nb_topo_opts *opts, char **ret, char *err,
		   size_t errlen)
{
	struct nb_plan p;
	char gen[NB_TOPO_NAME_MAX + 1], cgroot[256] = "";
	int r;

	*ret = NULL;
	if (!name) {
		fresh_name(gen, sizeof(gen));
		name = gen;
	}
	if (kind && !strcmp(kind, "host") && nb_cgroup_root(cgroot, sizeof(cgroot)))
		snprintf(cgroot, sizeof(cgroot), "/sys/fs/cgroup");
	r = nb_plan_build(kind, name, opts, cgroot, &p, err, errlen);
	if (r)
		return r;
	*ret = nb_plan_script(&p);
	nb_plan_free(&p);
	return *ret ? 0 : -ENOMEM;
}

/* ---- server processes ---- */

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

pid_t nb_topo_spawn_server(struct nb_topo *t, char *const argv[])
{
	struct spawn_ctx c = {.netns_fd = -1, .cgroup_fd = -1, .argv = argv, .hostname = t->plan.server_ns};
	int gate[2] = {-1, -1}, errp[2] = {-1, -1}, e = 0, r = 0;
	struct nb_proc *p;
	pid_t pid = -1;
	ssize_t n;

	if (!argv || !argv[0])
		return -EINVAL;
	if (t->nprocs >= NB_TOPO_MAX_PIDS)
		return -ENOSPC;
	c.netns_fd = nb_ns_open(t->plan.server_ns);
	if (c.netns_fd < 0)
		return c.netns_fd;
	if (pipe2(gate, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		r = -errno;
		goto out;
	}
	c.gate_fd = gate[0];
	c.gate_wfd = gate[1];
	c.err_fd = errp[1];
	if (t->plan.sandbox) {
		char path[300];
		const size_t stack_len = 256 * 1024;
		void *stack;

		snprintf(path, sizeof(path), "%s/cgroup.procs", t->plan.cgroup);
		c.cgroup_fd = open(path, O_WRONLY | O_CLOEXEC);
		if (c.cgroup_fd < 0) {
			r = -errno;
			goto out;
		}
		stack = mmap(NULL, stack_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
			     -1, 0);
		if (stack == MAP_FAILED) {
			r = -errno;
			goto out;
		}
		/* Not CLONE_VM: the child has its own copy of this stack, so ours can go right away. */
		pid = clone(sandbox_init, (char *)stack + stack_len,
			    CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | SIGCHLD, &c);
		if (pid < 0)
			r = -errno;
		munmap(stack, stack_len);
		if (r)
			goto out;
	} else {
		pid = fork();
		if (pid < 0) {
			r = -errno;
			goto out;
		}
		if (pid == 0) {
			if (setns(c.netns_fd, CLONE_NEWNET))
				child_fail(c.err_fd, errno);
			child_reset_signals();
			if (!gate_wait(c.gate_fd, c.gate_wfd))
				_exit(127);
			execvp(argv[0], argv);
			child_fail(c.err_fd, errno);
		}
	}
	close(errp[1]);
	errp[1] = -1;
	close(gate[0]);
	gate[0] = -1;

	p = &t->procs[t->nprocs++];
	p->pid = pid;
	p->child = true;
	p->start_ticks = nb_proc_start_ticks(pid);
	r = state_update_procs(t);
	if (r) {
		/* no record, no process: the gate never opens and the child exits */
		close(gate[1]);
		gate[1] = -1;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		t->nprocs--;
		goto out;
	}
	if (write(gate[1], "g", 1) != 1)
		r = -errno;
	close(gate[1]);
	gate[1] = -1;
	do
		n = read(errp[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	if (!r && n == sizeof(e))
		r = -e;
	if (r) {
		waitpid(pid, NULL, 0);
		t->nprocs--;
		state_update_procs(t);
	}
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
