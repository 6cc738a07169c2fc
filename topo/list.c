/* SPDX-License-Identifier: MIT */
/*
 * The instances on this machine (from state files, and orphans by nbench's naming pattern: namespaces,
 * cgroups, a VM path's run directory, a vhost-user backend's EAL directory) and taking them down by name.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nbench/fsutil.h"
#include "topo_int.h"
#include "vm/vm.h"

static int info_cmp(const void *a, const void *b)
{
	return strcmp(((const struct nb_topo_info *)a)->name, ((const struct nb_topo_info *)b)->name);
}

struct list {
	struct nb_topo_info *v;
	size_t n, cap;
};

/* The entry of instance name, added (zeroed but for the name) when it is not there yet. */
static int info_add(struct list *l, const char *name, struct nb_topo_info **ret)
{
	for (size_t i = 0; i < l->n; i++) {
		if (!strcmp(l->v[i].name, name)) {
			*ret = &l->v[i];
			return 0;
		}
	}
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 8;
		struct nb_topo_info *nv = realloc(l->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = nc;
	}
	*ret = &l->v[l->n++];
	memset(*ret, 0, sizeof(**ret));
	snprintf((*ret)->name, sizeof((*ret)->name), "%s", name);
	return 0;
}

/* Whether a directory entry belongs to an instance; its name goes to ret_name. */
typedef bool (*entry_parse)(const struct dirent *de, char ret_name[NB_TOPO_NAME_MAX + 1]);

static bool state_entry(const struct dirent *de, char ret_name[NB_TOPO_NAME_MAX + 1])
{
	size_t l = strlen(de->d_name);

	if (l < 6 || strcmp(de->d_name + l - 5, ".json") || l - 5 > NB_TOPO_NAME_MAX)
		return false;
	snprintf(ret_name, NB_TOPO_NAME_MAX + 1, "%.*s", (int)(l - 5), de->d_name);
	return !nb_topo_name_check(ret_name, NULL, 0);
}

static bool netns_entry(const struct dirent *de, char ret_name[NB_TOPO_NAME_MAX + 1])
{
	return nb_ns_name_parse(de->d_name, ret_name);
}

/* a VM path's run directory (topo/vm/) */
static bool vm_entry(const struct dirent *de, char ret_name[NB_TOPO_NAME_MAX + 1])
{
	if (de->d_name[0] == '.' || nb_topo_name_check(de->d_name, NULL, 0))
		return false;
	memcpy(ret_name, de->d_name, strlen(de->d_name) + 1); /* the check bounds its length */
	return true;
}

/* a vhost-user backend's EAL directory (topo/vm/vhost_user.c) */
static bool vu_entry(const struct dirent *de, char ret_name[NB_TOPO_NAME_MAX + 1])
{
	return nb_vm_prefix_parse(de->d_name, ret_name);
}

static bool cgroup_entry(const struct dirent *de, char ret_name[NB_TOPO_NAME_MAX + 1])
{
	return de->d_type == DT_DIR && nb_cgroup_name_parse(de->d_name, ret_name);
}

/* What the state file of info's instance says. */
static void info_fill(struct nb_topo_info *info)
{
	struct nb_topo t;

	info->has_state = true;
	if (nb_state_read(info->name, &t, NULL, 0))
		return;
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

/* Adds the instances of dir's entries (a missing dir has none); state: dir is the state files' (checked). */
static int scan(struct list *l, const char *dir, entry_parse parse, bool state, char *err, size_t errlen)
{
	char name[NB_TOPO_NAME_MAX + 1];
	struct nb_topo_info *info;
	struct dirent *de;
	DIR *d = NULL;
	int r = 0;

	if (state) {
		int fd = nb_state_dir(false, err, errlen);

		if (fd == -ENOENT)
			return 0;
		if (fd < 0)
			return fd;
		d = fdopendir(fd);
		if (!d)
			close(fd);
	} else {
		d = opendir(dir);
	}

	while (d && !r && (de = readdir(d))) {
		if (!parse(de, name))
			continue;
		r = info_add(l, name, &info);
		if (!r && state)
			info_fill(info);
	}
	if (d)
		closedir(d);
	return r;
}

struct found {
	struct list *l;
	int r;
};

/* a container or network of the Docker engine labelled for an instance (topo/docker.c) */
static void docker_entry(void *arg, const char *name)
{
	struct found *f = arg;
	struct nb_topo_info *info;

	if (!f->r)
		f->r = info_add(f->l, name, &info);
}

int nb_topo_list(struct nb_topo_info **ret, size_t *ret_n, char *err, size_t errlen)
{
	struct list l = {0};
	char cgroot[256];
	int r;

	r = scan(&l, NB_STATE_DIR, state_entry, true, err, errlen);
	if (!r)
		r = scan(&l, NB_NETNS_DIR, netns_entry, false, NULL, 0);
	if (!r)
		r = scan(&l, NB_VM_RUN_DIR, vm_entry, false, NULL, 0);
	if (!r)
		r = scan(&l, NB_VU_DPDK_DIR, vu_entry, false, NULL, 0);
	if (!r && !nb_cgroup_root(cgroot, sizeof(cgroot)))
		r = scan(&l, cgroot, cgroup_entry, false, NULL, 0);
	if (!r) { /* an engine that cannot be asked is said at teardown; the list is what else there is */
		struct found f = {.l = &l};
		nb_docker_instances(docker_entry, &f);
		r = f.r;
	}
	if (r) {
		if (r == -ENOMEM)
			nb_err(err, errlen, "listing instances: %s", strerror(-r));
		free(l.v);
		return r;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), info_cmp);
	*ret = l.v;
	*ret_n = l.n;
	return 0;
}

bool nb_name_taken(const char *name, char *what, size_t whatlen)
{
	char path[300], cgroot[256];

	struct stat st;

	nb_state_path(path, sizeof(path), name);
	if (!lstat(path, &st)) {
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
	/* a half builds its links in this namespace (nb_topo_opts.half): none of its names may be taken */
	for (const char *sfx = "rhbvctgxywkmd"; *sfx; sfx++) {
		char ifname[IFNAMSIZ + 8];

		snprintf(ifname, sizeof(ifname), "nb-%s-%c", name, *sfx);
		if (if_nametoindex(ifname)) {
			snprintf(what, whatlen, "link %s", ifname);
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
	if (nb_docker_taken(name)) {
		snprintf(what, whatlen,
			 "Docker objects labelled "
			 "nbench.instance=%s",
			 name);
		return true;
	}
	return false;
}

/* A VM path's run directory, if there is one, is nbench's (nb_dir_open_checked): else nothing of the
 * instance is touched. */
static int run_dir_check(const char *name, char *err, size_t errlen)
{
	char dir[128];
	int fd;

	snprintf(dir, sizeof(dir), NB_VM_RUN_DIR "/%s", name);
	fd = nb_dir_open_checked(dir, false, err, errlen);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int nb_topo_down_name(const char *name, char *err, size_t errlen)
{
	struct nb_topo t;
	char what[300];
	int r;

	r = nb_topo_name_check(name, err, errlen);
	if (!r)
		r = run_dir_check(name, err, errlen);
	if (r)
		return r;
	r = nb_state_read(name, &t, err, errlen);
	if (!r) {
		r = nb_teardown(&t);
		nb_plan_free(&t.plan);
		if (r)
			nb_err(err, errlen, "tearing down %s: %s", name, strerror(-r));
		return r;
	}
	/* A state file or folder not written by nbench (a symlink, someone else's, writable by others):
	 * refused as a whole, its name is not even swept. */
	if (r != -ENOENT && r != -EBADMSG)
		return r;
	/* No (parsable) state file: what the naming pattern finds is all there is to go on. */
	if (!nb_name_taken(name, what, sizeof(what)) && !nb_vm_leftovers(name)) {
		nb_err(err, errlen, "no instance '%s'", name);
		return -ENOENT;
	}
	memset(&t, 0, sizeof(t));
	snprintf(t.plan.name, sizeof(t.plan.name), "%s", name);
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

	r = nb_topo_list(&list, &n, err, errlen);
	if (r)
		return r;
	first = nb_knob_restore_orphans(NULL, err, errlen); /* before the paths holding the interfaces go */
	for (size_t i = 0; i < n; i++) {
		char e[256];

		r = nb_topo_down_name(list[i].name, e, sizeof(e));
		/* a remote client's half that an agent in another namespace holds is that agent's to take
		 * down (it does when its session ends): said, not a failure of this namespace's --all */
		if (r == -EXDEV) {
			fprintf(stderr, "nbench topo: %s: left to the agent that built it\n", e);
			continue;
		}
		if (r && r != -ENOENT && !first) {
			first = r;
			nb_err(err, errlen, "%s", e);
		}
		if (!r)
			done++;
	}
	free(list);
	r = nb_topo_client_routes_sweep(NULL);
	if (r && !first) {
		first = r;
		nb_err(err, errlen, "removing a killed client's route to a remote half: %s", strerror(-r));
	}
	if (ret_n)
		*ret_n = done;
	return first;
}
