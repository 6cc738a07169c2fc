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
#include "vm.h"

void nb_state_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, NB_STATE_DIR "/%s.json", name);
}

static char *state_json(const struct nb_topo *t, bool complete)
{
	const struct nb_plan *p = &t->plan;
	cJSON *o = cJSON_CreateObject(), *a, *e, *c, *s;
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
	a = cJSON_AddArrayToObject(o, "links");
	for (size_t i = 0; a && i < p->nsteps; i++) {
		const struct nb_step *st = &p->steps[i];

		if (st->kind != NB_STEP_VETH && st->kind != NB_STEP_BRIDGE)
			continue;
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "name", st->ifname);
		cJSON_AddStringToObject(e, "netns", st->ns);
		cJSON_AddStringToObject(e, "kind", st->kind == NB_STEP_VETH ? "veth" : "bridge");
		if (st->kind == NB_STEP_VETH) {
			cJSON_AddStringToObject(e, "peer", st->peer);
			cJSON_AddStringToObject(e, "peer_netns", st->peer_ns);
		}
		cJSON_AddItemToArray(a, e);
	}
	a = cJSON_AddArrayToObject(o, "sysctls");
	for (size_t i = 0; a && i < p->nsteps; i++) {
		const struct nb_step *st = &p->steps[i];

		if (st->kind != NB_STEP_SYSCTL)
			continue;
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "netns", st->ns);
		cJSON_AddStringToObject(e, "key", st->key);
		cJSON_AddStringToObject(e, "value", st->val);
		cJSON_AddStringToObject(e, "old", st->old);
		cJSON_AddItemToArray(a, e);
	}
	a = cJSON_AddArrayToObject(o, "nft_tables");
	for (size_t i = 0; a && i < p->nsteps; i++) {
		const struct nb_step *st = &p->steps[i];

		if (st->kind != NB_STEP_NFT)
			continue;
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "netns", st->ns);
		cJSON_AddStringToObject(e, "table", st->table);
		cJSON_AddItemToArray(a, e);
	}
	c = cJSON_AddObjectToObject(o, "client");
	if (c) {
		cJSON_AddStringToObject(c, "netns", p->client_ns);
		cJSON_AddStringToObject(c, "dial_addr", p->dial_addr);
		cJSON_AddNumberToObject(c, "dial_port", p->dial_port);
	}
	s = cJSON_AddObjectToObject(o, "server");
	if (s) {
		cJSON_AddStringToObject(s, "netns", p->server_ns);
		cJSON_AddStringToObject(s, "addr", p->server_addr);
		cJSON_AddNumberToObject(s, "port", p->server_port);
		cJSON_AddBoolToObject(s, "sandbox", p->sandbox);
	}
	a = cJSON_AddArrayToObject(o, "procs");
	for (size_t i = 0; a && i < t->nprocs; i++) {
		e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "pid", t->procs[i].pid);
		cJSON_AddNumberToObject(e, "start_ticks", (double)t->procs[i].start_ticks);
		cJSON_AddItemToArray(a, e);
	}
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

int nb_teardown(struct nb_topo *t)
{
	struct nb_plan *p = &t->plan;
	struct nb_apply *a = NULL;
	char cgroot[256], path[300];
	int r, first = 0;

	nb_procs_kill(t);
	nb_vm_cleanup(p->name);
	r = nb_apply_open(&a);
	if (r)
		return r;
	for (size_t i = p->nsteps; i-- > 0;) {
		r = nb_step_undo(a, &p->steps[i]);
		if (r && !first)
			first = r;
	}
	nb_apply_close(a);
	/* The sweep: whatever follows the naming pattern of this instance, planned or not. */
	for (size_t i = 0; nb_ns_role(i); i++) {
		char ns[NB_NS_NAME_MAX];

		nb_ns_name(ns, sizeof(ns), p->name, nb_ns_role(i));
		if (nb_ns_exists(ns)) {
			r = nb_ns_delete(ns);
			if (r && !first)
				first = r;
		}
	}
	if (!nb_cgroup_root(cgroot, sizeof(cgroot))) {
		snprintf(path, sizeof(path), "%s/nbench-%s", cgroot, p->name);
		r = nb_cgroup_remove(path);
		if (r && !first)
			first = r;
	}
	if (*p->cgroup) {
		r = nb_cgroup_remove(p->cgroup);
		if (r && !first)
			first = r;
	}
	if (!first)
		first = nb_state_remove(p->name);
	return first;
}

static int info_cmp(const void *a, const void *b)
{
	return strcmp(((const struct nb_topo_info *)a)->name, ((const struct nb_topo_info *)b)->name);
}

static int info_add(struct nb_topo_info **list, size_t *n, size_t *cap, const char *name,
		    struct nb_topo_info **ret)
{
	for (size_t i = 0; i < *n; i++) {
		if (!strcmp((*list)[i].name, name)) {
			*ret = &(*list)[i];
			return 0;
		}
	}
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct nb_topo_info *nl = realloc(*list, nc * sizeof(*nl));

		if (!nl)
			return -ENOMEM;
		*list = nl;
		*cap = nc;
	}
	*ret = &(*list)[(*n)++];
	memset(*ret, 0, sizeof(**ret));
	snprintf((*ret)->name, sizeof((*ret)->name), "%s", name);
	return 0;
}

int nb_topo_list(struct nb_topo_info **ret, size_t *ret_n)
{
	struct nb_topo_info *list = NULL, *info;
	size_t n = 0, cap = 0;
	char name[NB_TOPO_NAME_MAX + 1], cgroot[256];
	struct dirent *de;
	DIR *d;
	int r = 0;

	d = opendir(NB_STATE_DIR);
	while (d && (de = readdir(d))) {
		size_t l = strlen(de->d_name);
		struct nb_topo t;

		if (l < 6 || strcmp(de->d_name + l - 5, ".json") || l - 5 > NB_TOPO_NAME_MAX)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(l - 5), de->d_name);
		if (nb_topo_name_check(name, NULL, 0))
			continue;
		r = info_add(&list, &n, &cap, name, &info);
		if (r)
			break;
		info->has_state = true;
		if (nb_state_read(name, &t, NULL, 0))
			continue;
		snprintf(info->kind, sizeof(info->kind), "%s", t.plan.kind);
		info->complete = !t.incomplete;
		snprintf(info->client_netns, sizeof(info->client_netns), "%s", t.plan.client_ns);
		snprintf(info->server_netns, sizeof(info->server_netns), "%s", t.plan.server_ns);
		snprintf(info->dial_addr, sizeof(info->dial_addr), "%s", t.plan.dial_addr);
		snprintf(info->server_addr, sizeof(info->server_addr), "%s", t.plan.server_addr);
		info->dial_port = t.plan.dial_port;
		info->server_port = t.plan.server_port;
		info->nprocs = (unsigned)t.nprocs;
		nb_plan_free(&t.plan);
	}
	if (d)
		closedir(d);
	d = r ? NULL : opendir(NB_NETNS_DIR);
	while (d && (de = readdir(d))) {
		if (!nb_ns_name_parse(de->d_name, name))
			continue;
		r = info_add(&list, &n, &cap, name, &info);
		if (r)
			break;
	}
	if (d)
		closedir(d);
	/* a VM path's run directory, a vhost-user backend's EAL directory (topo/vhost_user.c) */
	d = r ? NULL : opendir(NB_VM_RUN_DIR);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || nb_topo_name_check(de->d_name, NULL, 0))
			continue;
		r = info_add(&list, &n, &cap, de->d_name, &info);
		if (r)
			break;
	}
	if (d)
		closedir(d);
	d = r ? NULL : opendir(NB_VU_DPDK_DIR);
	while (d && (de = readdir(d))) {
		if (!nb_vu_prefix_parse(de->d_name, name))
			continue;
		r = info_add(&list, &n, &cap, name, &info);
		if (r)
			break;
	}
	if (d)
		closedir(d);
	d = r || nb_cgroup_root(cgroot, sizeof(cgroot)) ? NULL : opendir(cgroot);
	while (d && (de = readdir(d))) {
		if (de->d_type != DT_DIR || !nb_cgroup_name_parse(de->d_name, name))
			continue;
		r = info_add(&list, &n, &cap, name, &info);
		if (r)
			break;
	}
	if (d)
		closedir(d);
	if (r) {
		free(list);
		return r;
	}
	if (n)
		qsort(list, n, sizeof(*list), info_cmp);
	*ret = list;
	*ret_n = n;
	return 0;
}

int nb_topo_down_name(const char *name, char *err, size_t errlen)
{
	struct nb_topo t;
	char path[128], cgroot[256], cg[300];
	bool any = false;
	int r;

	r = nb_topo_name_check(name, err, errlen);
	if (r)
		return r;
	nb_state_path(path, sizeof(path), name);
	if (!access(path, F_OK) && !nb_state_read(name, &t, NULL, 0)) {
		r = nb_teardown(&t);
		nb_plan_free(&t.plan);
		if (r)
			nb_err(err, errlen, "tearing down %s: %s", name, strerror(-r));
		return r;
	}
	/* No (readable) state file: what the naming pattern finds is all there is to go on. */
	memset(&t, 0, sizeof(t));
	snprintf(t.plan.name, sizeof(t.plan.name), "%s", name);
	for (size_t i = 0; nb_ns_role(i); i++) {
		char ns[NB_NS_NAME_MAX];

		nb_ns_name(ns, sizeof(ns), name, nb_ns_role(i));
		any |= nb_ns_exists(ns);
	}
	if (!nb_cgroup_root(cgroot, sizeof(cgroot))) {
		snprintf(cg, sizeof(cg), "%s/nbench-%s", cgroot, name);
		any |= !access(cg, F_OK);
	}
	any |= !access(path, F_OK);
	any |= nb_vu_leftovers(name);
	if (!any) {
		nb_err(err, errlen, "no instance '%s'", name);
		return -ENOENT;
	}
	r = nb_teardown(&t);
	if (r)
		nb_err(err, errlen, "tearing down %s: %s", name, strerror(-r));
	return r;
}

int nb_topo_down_all(size_t *ret_n, char *err, size_t errlen)
{
	struct nb_topo_info *list = NULL;
	size_t n = 0, done = 0;
	int r, first = 0;

	r = nb_topo_list(&list, &n);
	if (r) {
		nb_err(err, errlen, "listing instances: %s", strerror(-r));
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		char e[256];

		r = nb_topo_down_name(list[i].name, e, sizeof(e));
		if (r && r != -ENOENT && !first) {
			first = r;
			nb_err(err, errlen, "%s", e);
		}
		if (!r)
			done++;
	}
	free(list);
	if (ret_n)
		*ret_n = done;
	return first;
}
