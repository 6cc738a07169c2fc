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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* The processes on record. */
static void procs_json(cJSON *o, const struct nb_topo *t)
{
	cJSON *a = cJSON_AddArrayToObject(o, "procs"), *e;

	for (size_t i = 0; a && i < t->nprocs; i++) {
		e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "pid", t->procs[i].pid);
		cJSON_AddNumberToObject(e, "start_ticks", (double)t->procs[i].start_ticks);
		cJSON_AddItemToArray(a, e);
	}
}

/* The state file's text. What re-plans the instance: name, kind, ports and the cgroup; the rest is for
 * people and for the sweep. */
static char *state_json(const struct nb_topo *t, bool complete)
{
	const struct nb_plan *p = &t->plan;
	cJSON *o = cJSON_CreateObject(), *a;
	char *text, *line = NULL;

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "schema_version", 1);
	cJSON_AddStringToObject(o, "name", p->name);
	cJSON_AddStringToObject(o, "kind", p->kind);
	cJSON_AddBoolToObject(o, "complete", complete);
	cJSON_AddNumberToObject(o, "creator_pid", getpid());
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
	nb_ends_json(p, o);
	procs_json(o, t);
	text = cJSON_Print(o);
	cJSON_Delete(o);
	/* a text file: it ends with a newline */
	if (text && asprintf(&line, "%s\n", text) < 0)
		line = NULL;
	free(text);
	return line;
}

int nb_state_write(const struct nb_topo *t, bool complete)
{
	char path[128];
	char *text = state_json(t, complete);
	int r;

	if (!text)
		return -ENOMEM;
	nb_state_path(path, sizeof(path), t->plan.name);
	r = nb_write_atomic(path, text);
	free(text);
	return r;
}

/* The state file doubles as the lock on the instance name: whoever creates it owns the name. */
int nb_state_create(const struct nb_topo *t)
{
	char path[128];
	int fd, r;

	r = nb_mkdir_p(NB_STATE_DIR);
	if (r)
		return r;
	nb_state_path(path, sizeof(path), t->plan.name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	r = nb_state_write(t, false);
	if (r)
		unlink(path);
	return r;
}

int nb_state_remove(const char *name)
{
	char path[128];

	nb_state_path(path, sizeof(path), name);
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return 0;
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

/* The cgroup root a plan was made with: the state file's cgroup path minus "/nbench-<name>". */
static void cgroot_of(const char *cgroup, char *buf, size_t len)
{
	const char *slash;

	*buf = '\0';
	if (!cgroup || !(slash = strrchr(cgroup, '/')))
		return;
	snprintf(buf, len, "%.*s", (int)(slash - cgroup), cgroup);
}

int nb_state_read(const char *name, struct nb_topo *ret, char *err, size_t errlen)
{
	char path[128], cgroot[256];
	struct nb_topo_opts opts = {0};
	const char *kind;
	char *text;
	cJSON *o, *procs, *e;
	int r;

	memset(ret, 0, sizeof(*ret));
	nb_state_path(path, sizeof(path), name);
	text = nb_slurp(path, 1 << 20);
	if (!text) {
		r = -errno;
		nb_err(err, errlen, "no instance '%s' (%s: %s)", name, path, strerror(-r));
		return r;
	}
	o = cJSON_Parse(text);
	free(text);
	kind = o ? jstr(o, "kind") : NULL;
	if (!kind || !jstr(o, "name") || strcmp(jstr(o, "name"), name)) {
		cJSON_Delete(o);
		nb_err(err, errlen, "%s: not an nbench state file", path);
		return -EBADMSG;
	}
	opts.server_port = (uint16_t)jnum(o, "server_port");
	opts.publish_port = (uint16_t)jnum(o, "publish_port");
	cgroot_of(jstr(o, "cgroup"), cgroot, sizeof(cgroot));
	r = nb_plan_build(kind, name, &opts, cgroot, &ret->plan, err, errlen);
	if (r) {
		cJSON_Delete(o);
		return r;
	}
	procs = cJSON_GetObjectItemCaseSensitive(o, "procs");
	cJSON_ArrayForEach(e, procs)
	{
		if (ret->nprocs >= NB_TOPO_MAX_PIDS)
			break;
		ret->procs[ret->nprocs].pid = (pid_t)jnum(e, "pid");
		ret->procs[ret->nprocs].start_ticks = (unsigned long long)jnum(e, "start_ticks");
		ret->nprocs++;
	}
	e = cJSON_GetObjectItemCaseSensitive(o, "complete");
	ret->incomplete = !cJSON_IsTrue(e);
	cJSON_Delete(o);
	return 0;
}

static bool proc_alive(struct nb_proc *p)
{
	int status;

	if (p->child && waitpid(p->pid, &status, WNOHANG) == p->pid) {
		p->child = false;
		p->start_ticks = 0;
		return false;
	}
	return p->start_ticks && nb_proc_start_ticks(p->pid) == p->start_ticks;
}

/* SIGTERM, up to 2 s of grace, SIGKILL, and reap what is ours. A recorded pid that now belongs to
 * another process (different start time) is left alone. */
int nb_procs_kill(struct nb_topo *t)
{
	struct timespec ts = {0, 20 * 1000 * 1000};
	bool any = false;

	for (size_t i = 0; i < t->nprocs; i++) {
		if (proc_alive(&t->procs[i])) {
			kill(t->procs[i].pid, SIGTERM);
			any = true;
		}
	}
	for (int round = 0; any && round < 100; round++) {
		any = false;
		for (size_t i = 0; i < t->nprocs; i++)
			any |= proc_alive(&t->procs[i]);
		if (any)
			nanosleep(&ts, NULL);
	}
	for (size_t i = 0; i < t->nprocs; i++) {
		if (proc_alive(&t->procs[i]))
			kill(t->procs[i].pid, SIGKILL);
		if (t->procs[i].child) {
			int status;

			while (waitpid(t->procs[i].pid, &status, 0) < 0 && errno == EINTR)
				;
		}
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
	return first;
}

int nb_teardown(struct nb_topo *t)
{
	struct nb_plan *p = &t->plan;
	struct nb_apply *a = NULL;
	int r, first = 0;

	nb_procs_kill(t);
	r = nb_apply_open(p, NULL, &a);
	if (r)
		return r;
	for (size_t i = p->nsteps; i-- > 0;)
		keep_first(&first, nb_step_undo(a, &p->steps[i]));
	keep_first(&first, sweep(a, p->name));
	nb_apply_close(a);
	if (!first)
		first = nb_state_remove(p->name);
	return first;
}
