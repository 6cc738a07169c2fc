/* SPDX-License-Identifier: MIT */
/*
 * The public face of topo/: build an instance step by step with undo, find one, enter its client end,
 * start processes at its server end, and take it all down again.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nbench/clock.h"
#include "nbench/engine.h"
#include "topo_int.h"
#include "vm/vm.h"

static bool has_caps(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2];
	const uint32_t need = (1u << CAP_NET_ADMIN) | (1u << CAP_SYS_ADMIN);

	if (syscall(SYS_capget, &h, d))
		return false;
	return (d[0].effective & need) == need;
}

static void fresh_name(char *buf, size_t len)
{
	char what[300];

	for (int i = 0; i < 100; i++) {
		uint32_t x;

		if (getrandom(&x, sizeof(x), GRND_NONBLOCK) != sizeof(x))
			x = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 12) ^ (uint32_t)i;
		snprintf(buf, len, "t%06x", x & 0xffffff);
		if (!nb_name_taken(buf, what, sizeof(what)))
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

/* What can be said before anything is planned: the kind, the name, the privileges. */
static int up_check(const char *kind, const char *name, char *err, size_t errlen)
{
	int r;

	if (!nb_topo_kind_valid(kind))
		return nb_topo_kind_error(kind, err, errlen);
	if (name && (r = nb_topo_name_check(name, err, errlen)))
		return r;
	if (!has_caps()) {
		nb_err(err, errlen, "building a path needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)");
		return -EPERM;
	}
	return 0;
}

/* The plan of a new instance (name NULL: a fresh one) whose name its new state file claims. */
static int up_plan(const char *kind, const char *name, const struct nb_topo_opts *opts, struct nb_topo **ret,
		   char *err, size_t errlen)
{
	char gen[NB_TOPO_NAME_MAX + 1], cgroot[256] = "", what[300];
	struct nb_topo *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return -ENOMEM;
	if (!name) {
		fresh_name(gen, sizeof(gen));
		name = gen;
	}
	if (!strcmp(kind, "host"))
		nb_cgroup_root(cgroot, sizeof(cgroot));
	r = nb_plan_build(kind, name, opts, cgroot, &t->plan, err, errlen);
	if (r) {
		free(t);
		return r;
	}
	if (t->plan.vm)
		r = nb_vm_precheck(&t->plan, err, errlen);
	if (!r && nb_name_taken(name, what, sizeof(what))) {
		nb_err(err, errlen, "instance name '%s' is in use (%s exists)", name, what);
		r = -EEXIST;
	}
	/* --wire: checked, then recorded whole before the state file exists, so it is in it from the start */
	if (!r)
		r = nb_wire_check(&t->plan, err, errlen);
	if (!r)
		r = nb_wire_save(&t->plan, err, errlen);
	if (!r && (r = nb_state_create(t, err, errlen)))
		nb_wire_forget(&t->plan);
	if (r) {
		nb_plan_free(&t->plan);
		free(t);
		return r;
	}
	*ret = t;
	return 0;
}

/* The steps in order. A signal of block may only land between steps: every step is whole when we look, so
 * the caller's teardown is exact. */
static int up_apply(struct nb_topo *t, const sigset_t *block, char *err, size_t errlen)
{
	struct nb_apply *a = NULL;
	struct nb_launch l;
	int r;

	nb_topo_launch(t, block, &l);
	r = nb_apply_open(&t->plan, &l, &a);
	if (r) {
		nb_err(err, errlen, "%s", strerror(-r));
		return r;
	}
	for (size_t i = 0; i < t->plan.nsteps && !r; i++) {
		struct nb_step *s = &t->plan.steps[i];

		if (nb_cancel_pending(block)) {
			nb_err(err, errlen, "interrupted at step %zu of %zu; everything undone", i,
			       t->plan.nsteps);
			r = -EINTR;
		} else if ((r = injected_failure(i))) {
			char detail[48];

			snprintf(detail, sizeof(detail), "injected at step %zu", i);
			nb_step_error(s, r, detail, err, errlen);
		} else if (!(r = nb_step_apply(a, s, err, errlen))) {
			nb_half_inherit(&t->plan, s);
			step_delay();
		}
	}
	nb_apply_close(a);
	return r;
}

/* A kind built in this namespace (the Docker paths) takes its /24s here: chosen and configured under a lock
 * of this host's nbench processes, so two builds never take the same. The lock's fd (or -errno), and the
 * choice into o. */
static int host_net_take(const char *kind, const struct nb_topo_opts *opts, struct nb_topo_opts *o, char *err,
			 size_t errlen)
{
	int dfd, fd;

	*o = opts ? *opts : (struct nb_topo_opts){0};
	if (!nb_plan_self_host(kind) || o->host_net)
		return INT_MAX; /* nothing to take */
	dfd = nb_state_dir(true, err, errlen);
	if (dfd < 0)
		return dfd;
	fd = openat(dfd, ".host.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	close(dfd);
	if (fd < 0 || flock(fd, LOCK_EX)) {
		nb_err(err, errlen, "locking " NB_STATE_DIR "/.host.lock: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	int r = nb_topo_host_net(&o->host_net, err, errlen);
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

int nb_topo_up_ex(const char *kind, const char *name, const struct nb_topo_opts *opts, struct nb_topo **ret,
		  char *err, size_t errlen)
{
	struct nb_topo_opts o;
	struct nb_topo *t;
	sigset_t block, old;
	int r, lock = INT_MAX;

	*ret = NULL;
	r = up_check(kind, name, err, errlen);
	if (!r && (lock = host_net_take(kind, opts, &o, err, errlen)) < 0)
		r = lock;
	if (!r)
		r = up_plan(kind, name, &o, &t, err, errlen);
	if (r) {
		if (lock >= 0 && lock != INT_MAX)
			close(lock);
		return r;
	}
	cancel_signals(&block);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	t->building = true;
	r = up_apply(t, &block, err, errlen);
	if (!r && (r = nb_state_write(t, true)))
		nb_err(err, errlen, "writing state file: %s", strerror(-r));
	t->building = false;
	/* The teardown also sweeps what a failing step may have half made (a netns file, a cgroup). */
	if (r)
		nb_teardown(t);
	if (lock != INT_MAX)
		close(lock); /* its /24s are on its links now (or it is gone) */
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		nb_plan_free(&t->plan);
		free(t);
		return r;
	}
	t->built = true;
	*ret = t;
	return 0;
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
		if (nb_proc_is(&t->procs[i]))
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
	r = nb_state_write(t, !t->building);
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
	/* a Docker path's: its containers' first processes and the engine's userland proxy for its port */
	return n + nb_docker_pids(&t->plan, out + n, max - n);
}

int nb_topo_wait_server(const struct nb_topo *t, int64_t timeout_ns)
{
	int64_t end = nb_now_ns() + timeout_ns;
	const char *addr = t->plan.server_addr;
	int orig = -1, fd, r;

	if (!strcmp(addr, "0.0.0.0"))
		addr = "127.0.0.1";
	if (*t->plan.server_ns && (r = nb_ns_enter(t->plan.server_ns, &orig)))
		return r;
	do {
		if (!(r = nb_sock_connect(addr, t->plan.server_port, SOCK_STREAM, &fd))) {
			close(fd);
			break;
		}
		nb_sleep_until(nb_now_ns() + 20 * NB_NS_PER_MS);
	} while (nb_now_ns() < end);
	if (orig >= 0)
		nb_ns_leave(orig);
	return r ? -ETIMEDOUT : 0;
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

/* nb_spawn's record hook: on record in the state file before the child may exec. */
static int record_proc(void *ctx, const struct nb_proc *p)
{
	struct nb_topo *t = ctx;
	int r;

	if (t->nprocs >= NB_TOPO_MAX_PIDS)
		return -ENOSPC;
	t->procs[t->nprocs++] = *p;
	r = state_update_procs(t);
	if (r)
		t->nprocs--;
	return r;
}

/* nb_spawn's forget hook: the exec failed and the child is reaped. */
static void forget_proc(void *ctx, pid_t pid)
{
	struct nb_topo *t = ctx;

	for (size_t i = 0; i < t->nprocs; i++) {
		if (t->procs[i].pid != pid)
			continue;
		memmove(&t->procs[i], &t->procs[i + 1], (t->nprocs - i - 1) * sizeof(t->procs[0]));
		t->nprocs--;
		state_update_procs(t);
		return;
	}
}

void nb_topo_launch(struct nb_topo *t, const sigset_t *cancel, struct nb_launch *ret)
{
	*ret = (struct nb_launch){.record = record_proc, .forget = forget_proc, .ctx = t, .cancel = cancel};
}

pid_t nb_topo_spawn_server(struct nb_topo *t, char *const argv[])
{
	const struct nb_plan *p = &t->plan;
	struct nb_spawn_req req = {.netns = p->server_ns,
				   .cgroup = p->sandbox ? p->cgroup : NULL,
				   .hostname = p->server_ns,
				   .argv = argv};
	struct nb_launch l;

	if (!argv || !argv[0])
		return -EINVAL;
	if (t->nprocs >= NB_TOPO_MAX_PIDS)
		return -ENOSPC;
	nb_topo_launch(t, NULL, &l);
	return nb_spawn(&req, &l);
}
