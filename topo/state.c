/* SPDX-License-Identifier: MIT */
/*
 * State files (/run/nbench/topo/<name>.json) and teardown. The state file is written before the first
 * step, so a `kill -9` at any point leaves enough behind for `nbench topo down --all`: the kind, name and
 * ports re-plan the same steps, and the objects and processes are listed for people and for the sweep.
 * Teardown trusts only what nbench names: the plan's objects and the exact nb-<name>-{remote,host,ctr}
 * and nbench-<name> patterns.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nbench/fsutil.h"
#include "topo_int.h"

void nb_state_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, NB_STATE_DIR "/%s.json", name);
}

/* The state file's records of steps, one list per kind of object; NULL: st goes in another list. */
static cJSON *link_json(const struct nb_step *st)
{
	cJSON *e;

	if (st->kind != NB_STEP_VETH && st->kind != NB_STEP_BRIDGE)
		return NULL;
	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "name", st->ifname);
	cJSON_AddStringToObject(e, "netns", st->ns);
	cJSON_AddStringToObject(e, "kind", st->kind == NB_STEP_VETH ? "veth" : "bridge");
	if (st->kind == NB_STEP_VETH) {
		cJSON_AddStringToObject(e, "peer", st->peer);
		cJSON_AddStringToObject(e, "peer_netns", st->peer_ns);
	}
	return e;
}

static cJSON *sysctl_json(const struct nb_step *st)
{
	cJSON *e;

	if (st->kind != NB_STEP_SYSCTL)
		return NULL;
	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "netns", st->ns);
	cJSON_AddStringToObject(e, "key", st->key);
	cJSON_AddStringToObject(e, "value", st->val);
	cJSON_AddStringToObject(e, "old", st->old);
	return e;
}

static cJSON *nft_json(const struct nb_step *st)
{
	cJSON *e;

	if (st->kind != NB_STEP_NFT)
		return NULL;
	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "netns", st->ns);
	cJSON_AddStringToObject(e, "table", st->table);
	return e;
}

static void steps_json(cJSON *o, const char *key, const struct nb_plan *p,
		       cJSON *(*item)(const struct nb_step *))
{
	cJSON *a = cJSON_AddArrayToObject(o, key), *e;

	for (size_t i = 0; a && i < p->nsteps; i++)
		if ((e = item(&p->steps[i])))
			cJSON_AddItemToArray(a, e);
}

void nb_ends_json(const struct nb_plan *p, cJSON *o)
{
	cJSON *c = cJSON_AddObjectToObject(o, "client"), *s = cJSON_AddObjectToObject(o, "server");

	if (c) {
		cJSON_AddStringToObject(c, "netns", p->client_ns);
		cJSON_AddStringToObject(c, "dial_addr", p->dial_addr);
		cJSON_AddNumberToObject(c, "dial_port", p->dial_port);
	}
	if (s) {
		cJSON_AddStringToObject(s, "netns", p->server_ns);
		cJSON_AddStringToObject(s, "addr", p->server_addr);
		cJSON_AddNumberToObject(s, "port", p->server_port);
		cJSON_AddBoolToObject(s, "sandbox", p->sandbox);
	}
}

/* The processes on record, with what tells each apart from a later process of the same pid. */
static void procs_json(cJSON *o, const struct nb_topo *t)
{
	cJSON *a = cJSON_AddArrayToObject(o, "procs"), *e, *x;

	for (size_t i = 0; a && i < t->nprocs; i++) {
		e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "pid", t->procs[i].pid);
		cJSON_AddNumberToObject(e, "start_ticks", (double)t->procs[i].start_ticks);
		x = cJSON_AddArrayToObject(e, "exe");
		for (size_t j = 0; x && j < NB_PROC_EXES; j++)
			if (*t->procs[i].exe[j])
				cJSON_AddItemToArray(x, cJSON_CreateString(t->procs[i].exe[j]));
		cJSON_AddItemToArray(a, e);
	}
}

/* The state file's object. What re-plans the instance: name, kind, ports and the cgroup; the rest is for
 * people and for the sweep. creator: the pid that builds it (0: a `topo script` run by a shell). */
static cJSON *state_obj(const struct nb_topo *t, bool complete, pid_t creator)
{
	const struct nb_plan *p = &t->plan;
	cJSON *o = cJSON_CreateObject(), *a;

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "schema_version", 1);
	cJSON_AddStringToObject(o, "name", p->name);
	cJSON_AddStringToObject(o, "kind", p->kind);
	cJSON_AddBoolToObject(o, "complete", complete);
	cJSON_AddNumberToObject(o, "creator_pid", creator);
	cJSON_AddNumberToObject(o, "server_port", p->server_port);
	cJSON_AddNumberToObject(o, "publish_port", p->dial_port);
	a = cJSON_AddArrayToObject(o, "netns");
	for (size_t i = 0; a && i < p->nns; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(p->ns[i]));
	if (*p->cgroup)
		cJSON_AddStringToObject(o, "cgroup", p->cgroup);
	else
		cJSON_AddNullToObject(o, "cgroup");
	steps_json(o, "links", p, link_json);
	steps_json(o, "sysctls", p, sysctl_json);
	steps_json(o, "nft_tables", p, nft_json);
	if ((a = nb_wire_json(p)))
		cJSON_AddItemToObject(o, "wire", a);
	if (p->half && (a = cJSON_AddObjectToObject(o, "half"))) {
		/* its host part is in the builder's own netns: only a teardown from there may touch it */
		cJSON_AddNumberToObject(a, "netns_inode", (double)nb_self_netns_ino());
		cJSON_AddNumberToObject(a, "subnet", p->subnet);
		cJSON_AddStringToObject(a, "dial_addr", p->half_dial);
		if (*p->half_peer)
			cJSON_AddStringToObject(a, "peer_addr", p->half_peer);
		/* its container's netns, whose /run/netns entry only the builder's mount namespace may see
		 * (an agent under `ip netns exec`): how a later teardown knows the half's responder */
		char ctr[NB_NS_NAME_MAX + 16];
		struct stat st;
		nb_ns_name(ctr, sizeof(ctr), p->name, "ctr");
		memmove(ctr + strlen(NB_NETNS_DIR "/"), ctr, strlen(ctr) + 1);
		memcpy(ctr, NB_NETNS_DIR "/", strlen(NB_NETNS_DIR "/"));
		cJSON_AddNumberToObject(a, "ctr_netns_inode", stat(ctr, &st) ? 0 : (double)st.st_ino);
	}
	if (p->self_host)
		cJSON_AddNumberToObject(o, "host_net", p->host_net);
	if (p->client_half && (a = cJSON_AddObjectToObject(o, "client_half"))) {
		cJSON_AddNumberToObject(a, "subnet", p->subnet);
		cJSON_AddStringToObject(a, "server_addr", p->half_dial);
	}
	nb_ends_json(p, o);
	procs_json(o, t);
	return o;
}

/* The state file's text, as nb_topo_up writes it. */
static char *state_json(const struct nb_topo *t, bool complete)
{
	cJSON *o = state_obj(t, complete, getpid());
	char *text = o ? cJSON_Print(o) : NULL, *line = NULL;

	cJSON_Delete(o);
	/* a text file: it ends with a newline */
	if (text && asprintf(&line, "%s\n", text) < 0)
		line = NULL;
	free(text);
	return line;
}

char *nb_state_script_line(const struct nb_plan *p)
{
	struct nb_topo t = {.plan = *p}; /* read only: the plan is not freed through t */
	cJSON *o = state_obj(&t, false, 0);
	char *text = o ? cJSON_PrintUnformatted(o) : NULL;

	cJSON_Delete(o);
	return text;
}

int nb_state_dir(bool create, char *err, size_t errlen)
{
	return nb_dir_open_checked(NB_STATE_DIR, create, err, errlen);
}

int nb_state_write(const struct nb_topo *t, bool complete)
{
	char file[NB_TOPO_NAME_MAX + 8];
	char *text;
	int dfd, r;

	dfd = nb_state_dir(false, NULL, 0);
	if (dfd < 0)
		return dfd;
	text = state_json(t, complete);
	snprintf(file, sizeof(file), "%s.json", t->plan.name);
	r = text ? nb_write_atomic_at(dfd, file, text) : -ENOMEM;
	free(text);
	close(dfd);
	return r;
}

/* The state file doubles as the lock on the instance name: whoever creates it owns the name. */
int nb_state_create(const struct nb_topo *t, char *err, size_t errlen)
{
	char file[NB_TOPO_NAME_MAX + 8];
	int dfd, fd, r;

	/* /run/nbench and /run/nbench/topo are made 0700 and checked: root acts on what is in them */
	dfd = nb_state_dir(true, err, errlen);
	if (dfd < 0)
		return dfd;
	snprintf(file, sizeof(file), "%s.json", t->plan.name);
	fd = openat(dfd, file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	r = fd < 0 ? -errno : 0;
	if (!r) {
		close(fd);
		r = nb_state_write(t, false);
		if (r)
			unlinkat(dfd, file, 0);
	}
	if (r == -EEXIST)
		nb_err(err, errlen, "instance name '%s' is in use", t->plan.name);
	else if (r)
		nb_err(err, errlen, "writing state file in " NB_STATE_DIR ": %s", strerror(-r));
	close(dfd);
	return r;
}

int nb_state_remove(const char *name)
{
	char file[NB_TOPO_NAME_MAX + 8];
	int dfd = nb_state_dir(false, NULL, 0), r = 0;

	if (dfd == -ENOENT)
		return 0;
	if (dfd < 0)
		return dfd;
	snprintf(file, sizeof(file), "%s.json", name);
	/* unlinkat removes a symlink itself, never what it points to */
	if (unlinkat(dfd, file, 0) && errno != ENOENT)
		r = -errno;
	close(dfd);
	return r;
}

uint64_t nb_proc_netns_ino(pid_t pid)
{
	struct stat st;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	return stat(path, &st) ? 0 : (uint64_t)st.st_ino;
}

uint64_t nb_self_netns_ino(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : (uint64_t)st.st_ino;
}

/* The initial PID namespace's inode (PROC_PID_INIT_INO): only there does /proc show every process. */
#define PID_INIT_INO 0xEFFFFFFCull

static bool ino_at(const char *path, uint64_t ino)
{
	struct stat st;

	return stat(path, &st) == 0 && (uint64_t)st.st_ino == ino;
}

/* True only when the network namespace of inode ino is certainly gone: this process sees every process
 * (the initial PID namespace) and neither a name in /run/netns nor any thread's namespace is it. */
static bool netns_gone(uint64_t ino)
{
	char path[300];
	struct dirent *d, *t;
	DIR *dir, *tasks;
	bool seen = false;

	if (!ino || !ino_at("/proc/self/ns/pid", PID_INIT_INO))
		return false;
	if ((dir = opendir("/run/netns"))) {
		while (!seen && (d = readdir(dir)))
			if (d->d_name[0] != '.') {
				snprintf(path, sizeof(path), "/run/netns/%s", d->d_name);
				seen = ino_at(path, ino);
			}
		closedir(dir);
	}
	if (seen || !(dir = opendir("/proc")))
		return false;
	while (!seen && (d = readdir(dir))) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/task", d->d_name);
		if (!(tasks = opendir(path)))
			continue;
		while (!seen && (t = readdir(tasks))) {
			snprintf(path, sizeof(path), "/proc/%.20s/task/%.20s/ns/net", d->d_name, t->d_name);
			seen = t->d_name[0] != '.' && ino_at(path, ino);
		}
		closedir(tasks);
	}
	closedir(dir);
	return !seen;
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static uint16_t jport(const cJSON *o, const char *key)
{
	double v = jnum(o, key);

	return v >= 0 && v <= 65535 ? (uint16_t)v : 0;
}

/* A process on record; numbers out of range read as 0 (no such process). */
static void proc_read(const cJSON *e, struct nb_proc *p)
{
	double pid = jnum(e, "pid"), start = jnum(e, "start_ticks");
	const cJSON *x;
	size_t j = 0;

	memset(p, 0, sizeof(*p));
	p->pid = pid >= 2 && pid <= 4194304 ? (pid_t)pid : 0;
	p->start_ticks = start >= 1 && start < 1e18 ? (unsigned long long)start : 0;
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(e, "exe"))
	{
		if (j < NB_PROC_EXES && cJSON_IsString(x) && *x->valuestring == '/')
			snprintf(p->exe[j++], sizeof(p->exe[0]), "%s", x->valuestring);
	}
}

/* The cgroup root a plan was made with: the state file's cgroup path minus "/nbench-<name>". */
static void cgroot_of(const char *cgroup, char *buf, size_t len)
{
	const char *slash;

	*buf = '\0';
	if (!cgroup || !(slash = strrchr(cgroup, '/')))
		return;
	snprintf(buf, len, "%.*s", (int)(slash - cgroup), cgroup);
}

/* The state file of instance name, parsed and checked (its name and kind), into *ret. 0 or -errno with err
 * set; one that nbench did not write (a symlink, someone else's) is -EPERM and nothing in it is read. */
static int state_load(const char *name, cJSON **ret, char *err, size_t errlen)
{
	char path[128], file[NB_TOPO_NAME_MAX + 8], why[96];
	char *text;
	cJSON *o;
	int dfd, r;

	nb_state_path(path, sizeof(path), name);
	dfd = nb_state_dir(false, err, errlen);
	if (dfd == -ENOENT)
		nb_err(err, errlen, "no instance '%s' (%s: %s)", name, path, strerror(ENOENT));
	if (dfd < 0)
		return dfd;
	snprintf(file, sizeof(file), "%s.json", name);
	text = nb_slurp_at(dfd, file, 1 << 20, why, sizeof(why));
	r = text ? 0 : -errno;
	close(dfd);
	if (r == -EPERM || r == -ELOOP) {
		/* written by someone else than nbench: nothing in it is acted upon */
		nb_err(err, errlen, "%s: %s; not trusted, left alone", path, why);
		return -EPERM;
	}
	if (r) {
		nb_err(err, errlen, "no instance '%s' (%s: %s)", name, path, strerror(-r));
		return r;
	}
	o = cJSON_Parse(text);
	free(text);
	if (!o || !jstr(o, "kind") || !jstr(o, "name") || strcmp(jstr(o, "name"), name)) {
		cJSON_Delete(o);
		nb_err(err, errlen, "%s: not an nbench state file", path);
		return -EBADMSG;
	}
	*ret = o;
	return 0;
}

/* What re-plans the instance besides its kind and name: the ports, --wire and a half's options. A half
 * built in another network namespace is -EXDEV: only a teardown from there may touch it. */
static int state_opts(const char *name, const cJSON *o, struct nb_topo_opts *opts, bool *host_gone, char *err,
		      size_t errlen)
{
	const cJSON *wire = cJSON_GetObjectItemCaseSensitive(o, "wire"),
		    *half = cJSON_GetObjectItemCaseSensitive(o, "half");
	char path[128];

	opts->server_port = jport(o, "server_port");
	opts->publish_port = jport(o, "publish_port");
	if (wire) {
		snprintf(opts->wire_a, sizeof(opts->wire_a), "%s", jstr(wire, "a") ? jstr(wire, "a") : "");
		snprintf(opts->wire_b, sizeof(opts->wire_b), "%s", jstr(wire, "b") ? jstr(wire, "b") : "");
		opts->wire_rate_bps = jnum(wire, "rate_bps");
		opts->force = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(wire, "force"));
	}
	if (jnum(o, "host_net") >= 1 && jnum(o, "host_net") <= 254)
		opts->host_net = (uint8_t)jnum(o, "host_net");
	const cJSON *ch = cJSON_GetObjectItemCaseSensitive(o, "client_half");
	if (ch) {
		opts->client_half = true;
		opts->subnet =
		    jnum(ch, "subnet") >= 1 && jnum(ch, "subnet") <= 254 ? (uint8_t)jnum(ch, "subnet") : 0;
		snprintf(opts->dial_addr, sizeof(opts->dial_addr), "%s",
			 jstr(ch, "server_addr") ? jstr(ch, "server_addr") : "");
	}
	if (!half)
		return 0;
	opts->half = true;
	opts->subnet = (uint8_t)jnum(half, "subnet");
	snprintf(opts->dial_addr, sizeof(opts->dial_addr), "%s",
		 jstr(half, "dial_addr") ? jstr(half, "dial_addr") : "");
	snprintf(opts->peer_addr, sizeof(opts->peer_addr), "%s",
		 jstr(half, "peer_addr") ? jstr(half, "peer_addr") : "");
	/* a namespace that no longer exists took the half's own steps with it: what is left is named */
	*host_gone = (uint64_t)jnum(half, "netns_inode") != nb_self_netns_ino() &&
		     netns_gone((uint64_t)jnum(half, "netns_inode"));
	if ((uint64_t)jnum(half, "netns_inode") != nb_self_netns_ino() && !*host_gone) {
		nb_state_path(path, sizeof(path), name);
		nb_err(err, errlen,
		       "%s: the server half of a remote client's path, built in another network namespace "
		       "(inode %.0f): tear it down from there",
		       path, jnum(half, "netns_inode"));
		return -EXDEV;
	}
	return 0;
}

/* A half's host namespace outlives it: its sysctl steps get back the old values the state file recorded
 * (digits only, as the kernel wrote them). */
static void half_sysctls_read(const cJSON *o, struct nb_plan *p)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "sysctls"))
	{
		const char *k = jstr(e, "key"), *old = jstr(e, "old");

		for (size_t i = 0; i < p->nsteps; i++) {
			struct nb_step *st = &p->steps[i];

			if (st->kind == NB_STEP_SYSCTL && k && old && !strcmp(k, st->key) &&
			    strlen(old) < 4 && strspn(old, "0123456789") == strlen(old))
				snprintf(st->old, sizeof(st->old), "%s", old);
		}
	}
}

int nb_state_read(const char *name, struct nb_topo *ret, char *err, size_t errlen)
{
	char cgroot[256], stored[256];
	struct nb_topo_opts opts = {0};
	const cJSON *e, *wire, *half;
	cJSON *o;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = state_load(name, &o, err, errlen);
	if (r)
		return r;
	r = state_opts(name, o, &opts, &ret->host_gone, err, errlen);
	if (r) {
		cJSON_Delete(o);
		return r;
	}
	/* The cgroup is re-planned from the name like everything else; the recorded path is only compared. */
	if (nb_cgroup_root(cgroot, sizeof(cgroot)))
		*cgroot = '\0';
	cgroot_of(jstr(o, "cgroup"), stored, sizeof(stored));
	ret->cgroup_foreign = *stored && strcmp(stored, cgroot);
	wire = cJSON_GetObjectItemCaseSensitive(o, "wire");
	half = cJSON_GetObjectItemCaseSensitive(o, "half");
	r = nb_plan_build(jstr(o, "kind"), name, &opts, cgroot, &ret->plan, err, errlen);
	if (!r && wire)
		r = nb_wire_from_json(&ret->plan, wire);
	if (r) {
		nb_plan_free(&ret->plan);
		cJSON_Delete(o);
		return r;
	}
	if (half) {
		ret->plan.half_ctr_ino = (uint64_t)jnum(half, "ctr_netns_inode");
		half_sysctls_read(o, &ret->plan);
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "procs"))
	{
		if (ret->nprocs >= NB_TOPO_MAX_PIDS)
			break;
		proc_read(e, &ret->procs[ret->nprocs++]);
	}
	ret->incomplete = !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "complete"));
	cJSON_Delete(o);
	return 0;
}

/* Whether pid is a process of instance t, and so may be signalled: our own child not yet reaped (its pid
 * cannot be reused), a member of the instance's cgroup, or still the process recorded (start time and
 * program) and inside one of the instance's namespaces. A live process that is none of these is left
 * alone, and said so. */
static bool proc_ours(const struct nb_topo *t, const struct nb_proc *p, bool say)
{
	const struct nb_plan *pl = &t->plan;

	if (p->child)
		return true;
	if (p->pid <= 1 || !nb_proc_start_ticks(p->pid))
		return false;
	if (pl->sandbox && nb_proc_in_cgroup(p->pid, pl->cgroup))
		return true;
	if (nb_proc_is(p) && nb_proc_in_netns(p->pid, pl->name))
		return true;
	if (pl->half && nb_proc_is(p) && nb_proc_netns_ino(p->pid) &&
	    (nb_proc_netns_ino(p->pid) == nb_self_netns_ino() ||
	     nb_proc_netns_ino(p->pid) == pl->half_ctr_ino))
		return true;
	if (say)
		fprintf(stderr, "nbench topo: %s: pid %d left alone: %s\n", pl->name, (int)p->pid,
			!*p->exe[0] && !*p->exe[1] ? "the state file does not say which process it was"
			: nb_proc_is(p)		   ? "not in the instance's namespaces"
						   : "no longer the process that was recorded");
	return false;
}

/* A pidfd for p once it is confirmed as ours (the check repeated after the open: the pid may have been
 * reused in between), or -1: nothing to signal. */
static int proc_open(const struct nb_topo *t, const struct nb_proc *p)
{
	int fd;

	if (!proc_ours(t, p, true))
		return -1;
	fd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	if (fd >= 0 && !proc_ours(t, p, false)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Whether the process of pidfd fd (p on record) still runs; a child of ours is reaped. */
static bool proc_alive(int fd, struct nb_proc *p)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int status;

	if (p->child && waitpid(p->pid, &status, WNOHANG) == p->pid) {
		p->child = false;
		return false;
	}
	/* a pidfd reads as ready once its process has exited */
	return poll(&pfd, 1, 0) == 0;
}

static void proc_signal(int fd, int sig)
{
	syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
}

/* SIGTERM, up to 2 s of grace, SIGKILL, and reap what is ours. Signals go through pidfds of processes
 * confirmed as the instance's (proc_ours): a recorded pid that now belongs to someone else is never hit. */
int nb_procs_kill(struct nb_topo *t)
{
	struct timespec ts = {0, 20 * 1000 * 1000};
	int fds[NB_TOPO_MAX_PIDS];
	bool any = false;

	for (size_t i = 0; i < t->nprocs; i++) {
		fds[i] = proc_open(t, &t->procs[i]);
		if (fds[i] >= 0) {
			proc_signal(fds[i], SIGTERM);
			any = true;
		}
	}
	for (int round = 0; any && round < 100; round++) {
		any = false;
		for (size_t i = 0; i < t->nprocs; i++)
			any |= fds[i] >= 0 && proc_alive(fds[i], &t->procs[i]);
		if (any)
			nanosleep(&ts, NULL);
	}
	for (size_t i = 0; i < t->nprocs; i++) {
		if (fds[i] >= 0 && proc_alive(fds[i], &t->procs[i]))
			proc_signal(fds[i], SIGKILL);
		if (t->procs[i].child) {
			int status;

			while (waitpid(t->procs[i].pid, &status, 0) < 0 && errno == EINTR)
				;
		}
		if (fds[i] >= 0)
			close(fds[i]);
	}
	t->nprocs = 0;
	return 0;
}

static void keep_first(int *first, int r)
{
	if (r && !*first)
		*first = r;
}

/* The sweep: whatever follows the naming pattern of instance name, planned or not, undone as the step
 * that would have made it. */
static int sweep(struct nb_apply *a, const char *name)
{
	static const enum nb_step_kind by_name[] = {NB_STEP_GUEST, NB_STEP_VHOST_USER};
	struct nb_step s;
	char cgroot[200];
	int first = 0;

	for (size_t i = 0; i < sizeof(by_name) / sizeof(by_name[0]); i++) {
		memset(&s, 0, sizeof(s));
		s.kind = by_name[i];
		snprintf(s.name, sizeof(s.name), "%s", name);
		keep_first(&first, nb_step_undo(a, &s));
	}
	for (size_t i = 0; nb_ns_role(i); i++) {
		memset(&s, 0, sizeof(s));
		s.kind = NB_STEP_NETNS;
		nb_ns_name(s.ns, sizeof(s.ns), name, nb_ns_role(i));
		if (nb_ns_exists(s.ns))
			keep_first(&first, nb_step_undo(a, &s));
	}
	if (!nb_cgroup_root(cgroot, sizeof(cgroot))) {
		memset(&s, 0, sizeof(s));
		s.kind = NB_STEP_CGROUP;
		snprintf(s.path, sizeof(s.path), "%s/nbench-%s", cgroot, name);
		keep_first(&first, nb_step_undo(a, &s));
	}
	keep_first(&first, nb_docker_sweep(name)); /* the engine's containers and networks of its label */
	return first;
}

/* A half's sysctl is its host's, shared with the other halves there: each records the value from before the
 * first of them (nb_half_inherit), and only the last one torn down puts it back. */
static int half_others(const char *self, const char *key, char *old, size_t oldlen)
{
	DIR *d = opendir(NB_STATE_DIR);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d))) {
		char path[512], why[128], *text;
		size_t len = strlen(de->d_name);

		if (len < 6 || strcmp(de->d_name + len - 5, ".json") ||
		    (strlen(self) == len - 5 && !strncmp(de->d_name, self, len - 5)))
			continue;
		snprintf(path, sizeof(path), NB_STATE_DIR "/%s", de->d_name);
		text = nb_slurp_at(AT_FDCWD, path, 1 << 20, why, sizeof(why));
		cJSON *o = text ? cJSON_Parse(text) : NULL,
		      *half = cJSON_GetObjectItemCaseSensitive(o, "half"), *e;
		free(text);
		if (half && (uint64_t)jnum(half, "netns_inode") == nb_self_netns_ino()) {
			cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "sysctls"))
			{
				if (!jstr(e, "key") || strcmp(jstr(e, "key"), key))
					continue;
				n++;
				if (old && !*old && jstr(e, "old"))
					snprintf(old, oldlen, "%s", jstr(e, "old"));
			}
		}
		cJSON_Delete(o);
	}
	if (d)
		closedir(d);
	return n;
}

void nb_half_inherit(const struct nb_plan *p, struct nb_step *s)
{
	char old[sizeof(s->old)] = "";

	if (p->half && s->kind == NB_STEP_SYSCTL && half_others(p->name, s->key, old, sizeof(old)) && *old)
		snprintf(s->old, sizeof(s->old), "%s", old);
}

int nb_teardown(struct nb_topo *t)
{
	struct nb_plan *p = &t->plan;
	struct nb_apply *a = NULL;
	int r, first = 0;

	if (t->cgroup_foreign)
		fprintf(stderr,
			"nbench topo: %s: the state file's cgroup is not under this machine's cgroup root; "
			"using %s\n",
			p->name, *p->cgroup ? p->cgroup : "none");
	nb_procs_kill(t);
	r = nb_apply_open(p, NULL, &a);
	if (r)
		return r;
	for (size_t i = 0; p->half && i < p->nsteps; i++)
		if (p->steps[i].kind == NB_STEP_SYSCTL && half_others(p->name, p->steps[i].key, NULL, 0) > 0)
			*p->steps[i].old = '\0'; /* another half still needs it */
	if (t->host_gone)
		fprintf(stderr,
			"nbench topo: %s: the namespace it was built in is gone: removing what is left\n",
			p->name);
	for (size_t i = p->nsteps; i-- > 0;)
		if (!t->host_gone || *p->steps[i].ns) /* a gone namespace's steps went with it */
			keep_first(&first, nb_step_undo(a, &p->steps[i]));
	/* the wire's interfaces are back in this namespace (their steps' undo): now their state */
	keep_first(&first, nb_wire_restore(p, first == 0));
	keep_first(&first, sweep(a, p->name));
	nb_apply_close(a);
	if (!first)
		first = nb_state_remove(p->name);
	return first;
}
