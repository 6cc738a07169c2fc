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
#include <unistd.h>

#include "topo_int.h"
#include "vm.h"

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
