/* SPDX-License-Identifier: MIT */
/*
 * What a Docker path ran on, as reports name it: the engine (version, storage driver, cgroup driver and
 * version, how its iptables rules reach the kernel), whether a published port goes through its userland
 * proxy, and each container with its network and cgroup limits. Asked of the engine when the report is
 * made, not remembered from the build.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "docker_api.h"
#include "topo_int.h"

/* nft's answer to cmds in this thread's namespace (malloc'd), or NULL when it failed. */
static char *nft_out(const char *cmds)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	char *text = NULL;

	if (!ctx)
		return NULL;
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	if (!nft_run_cmd_from_buffer(ctx, cmds)) {
		const char *out = nft_ctx_get_output_buffer(ctx);
		text = strdup(out ? out : "");
	}
	nft_ctx_free(ctx);
	return text;
}

/* How the engine's rules reach the kernel: its DOCKER chain seen through nf_tables ("nft"), else what the
 * iptables command is on this host (Debian's alternatives: iptables-legacy or iptables-nft). */
static void iptables_backend(char *buf, size_t len)
{
	static const char *const bins[] = {"/usr/sbin/iptables", "/sbin/iptables", "/usr/bin/iptables"};
	char *rules = nft_out("list chain ip nat DOCKER");
	bool seen = rules != NULL;
	char real[PATH_MAX];

	free(rules);
	if (seen) {
		snprintf(buf, len, "nft");
		return;
	}
	for (size_t i = 0; i < sizeof(bins) / sizeof(bins[0]); i++) {
		if (!realpath(bins[i], real))
			continue;
		snprintf(buf, len, "%s",
			 strstr(real, "legacy") ? "legacy"
			 : strstr(real, "nft")	? "nft"
						: "unknown");
		return;
	}
	snprintf(buf, len, "unknown");
}

int nb_docker_engine_info(struct nb_docker_engine *ret, char *err, size_t errlen)
{
	struct nb_docker_api *a = NULL;
	char *body = NULL;
	int r;

	memset(ret, 0, sizeof(*ret));
	if ((r = nb_docker_api_open(&a, err, errlen)))
		return r;
	r = nb_docker_api_json(a, "GET", "/version", NULL, &body, err, errlen);
	if (!r && nb_docker_api_parse_version(body, ret))
		r = -EBADMSG;
	free(body);
	body = NULL;
	if (!r)
		r = nb_docker_api_json(a, "GET", "/info", NULL, &body, err, errlen);
	if (!r && nb_docker_api_parse_info(body, ret))
		r = -EBADMSG;
	free(body);
	nb_docker_api_close(a);
	if (r == -EBADMSG)
		nb_err(err, errlen,
		       "the engine's answer is not what nbench reads (an engine older than API 1.40?)");
	if (!r)
		iptables_backend(ret->iptables, sizeof(ret->iptables));
	return r;
}

/* Whether the engine runs its userland proxy for host_ip:port: a docker-proxy process with those
 * arguments (1, its pid into *ret_pid), none while the engine's processes are in sight (0), or -1 when they
 * are not (another pid namespace). */
static int userland_proxy(const char *host_ip, uint16_t port, pid_t *ret_pid)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	char want[16];
	bool engine_seen = false;
	int found = 0;

	snprintf(want, sizeof(want), "%u", port);
	while (d && !found && (de = readdir(d))) {
		char path[300], args[1024];
		ssize_t n;
		int fd;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, args, sizeof(args) - 1);
		close(fd);
		if (n <= 0)
			continue;
		args[n] = '\0';
		const char *base = strrchr(args, '/') ? strrchr(args, '/') + 1 : args;
		engine_seen |= !strcmp(base, "dockerd");
		if (strcmp(base, "docker-proxy"))
			continue;
		bool ip = false, p = false;
		for (const char *c = args; c < args + n; c += strlen(c) + 1) {
			const char *next = c + strlen(c) + 1;
			if (next >= args + n)
				break;
			ip |= !strcmp(c, "-host-ip") && !strcmp(next, host_ip);
			p |= !strcmp(c, "-host-port") && !strcmp(next, want);
		}
		found = ip && p;
		if (found && ret_pid)
			*ret_pid = (pid_t)atoi(de->d_name);
	}
	if (d)
		closedir(d);
	return found ? 1 : engine_seen ? 0 : -1;
}

unsigned nb_docker_pids(const struct nb_plan *p, pid_t *out, unsigned max)
{
	struct nb_docker_api *a = NULL;
	struct nb_docker_ctr c;
	unsigned n = 0;

	for (size_t i = 0; i < p->nsteps && n < max; i++) {
		const struct nb_step *s = &p->steps[i];
		pid_t proxy = 0;

		if (s->kind != NB_STEP_DOCKER_CTR)
			continue;
		if (!a && nb_docker_api_open(&a, NULL, 0))
			return n;
		if (!nb_docker_ctr_inspect(a, s->dk.name, NULL, &c, NULL, 0) && c.pid > 0)
			out[n++] = c.pid;
		if (s->dk.publish_port && n < max && userland_proxy(s->addr, s->dk.publish_port, &proxy) == 1)
			out[n++] = proxy;
	}
	nb_docker_api_close(a);
	return n;
}

static void engine_json(cJSON *o, const struct nb_docker_engine *e)
{
	cJSON_AddStringToObject(o, "version", e->version);
	cJSON_AddStringToObject(o, "api_version", e->api_version);
	cJSON_AddStringToObject(o, "storage_driver", e->storage_driver);
	cJSON_AddStringToObject(o, "cgroup_driver", e->cgroup_driver);
	cJSON_AddStringToObject(o, "cgroup_version", e->cgroup_version);
	cJSON_AddStringToObject(o, "runtime", e->runtime);
	cJSON_AddStringToObject(o, "iptables", e->iptables);
	cJSON_AddStringToObject(o, "os", e->os);
	cJSON_AddBoolToObject(o, "ipv4_forwarding", e->ipv4_forwarding);
	cJSON_AddBoolToObject(o, "bridge_nf_iptables", e->bridge_nf_iptables);
}

static void limits_json(cJSON *o, const struct nb_docker_ctr *c)
{
	cJSON_AddStringToObject(o, "cpuset_cpus", c->cpuset_cpus);
	cJSON_AddNumberToObject(o, "nano_cpus", (double)c->nano_cpus);
	cJSON_AddNumberToObject(o, "cpu_quota_us", (double)c->cpu_quota_us);
	cJSON_AddNumberToObject(o, "cpu_period_us", (double)c->cpu_period_us);
	cJSON_AddNumberToObject(o, "cpu_shares", (double)c->cpu_shares);
	cJSON_AddNumberToObject(o, "memory_bytes", (double)c->memory_bytes);
	cJSON_AddNumberToObject(o, "pids_limit", (double)c->pids_limit);
}

/* The container of step s, and (for a published port) whether the userland proxy carries it. */
static cJSON *ctr_json(struct nb_docker_api *a, const struct nb_step *s, int *ret_proxy)
{
	cJSON *o = cJSON_CreateObject();
	struct nb_docker_ctr c;

	cJSON_AddStringToObject(o, "name", s->dk.name);
	cJSON_AddStringToObject(o, "role", s->dk.client ? "client" : "server");
	cJSON_AddStringToObject(o, "network", s->dk.network);
	if (nb_docker_ctr_inspect(a, s->dk.name, s->dk.network, &c, NULL, 0)) {
		cJSON_AddBoolToObject(o, "exists", false);
		return o;
	}
	cJSON_AddStringToObject(o, "id", c.id);
	cJSON_AddStringToObject(o, "image", c.image);
	cJSON_AddBoolToObject(o, "running", c.running);
	cJSON_AddStringToObject(o, "ip", !strcmp(s->dk.network, "host") ? s->addr : c.ip);
	if (s->dk.publish_port) {
		char pub[64];

		snprintf(pub, sizeof(pub), "%s:%u", s->addr, s->dk.publish_port);
		cJSON_AddStringToObject(o, "published", pub);
		*ret_proxy = userland_proxy(s->addr, s->dk.publish_port, NULL);
	}
	limits_json(cJSON_AddObjectToObject(o, "cgroup"), &c);
	return o;
}

void nb_docker_describe(const struct nb_plan *p, cJSON *o)
{
	struct nb_docker_api *a = NULL;
	struct nb_docker_engine e;
	cJSON *d = NULL, *ctrs = NULL;
	int proxy = -2; /* -2: nothing published */
	char *rules;

	for (size_t i = 0; i < p->nsteps; i++) {
		const struct nb_step *s = &p->steps[i];

		if (s->kind != NB_STEP_DOCKER_CTR && s->kind != NB_STEP_DOCKER_NET)
			continue;
		if (!d) {
			d = cJSON_AddObjectToObject(o, "docker");
			if (nb_docker_engine_info(&e, NULL, 0) || nb_docker_api_open(&a, NULL, 0)) {
				cJSON_AddBoolToObject(d, "reachable", false);
				return;
			}
			engine_json(cJSON_AddObjectToObject(d, "engine"), &e);
			ctrs = cJSON_AddArrayToObject(d, "containers");
		}
		if (s->kind == NB_STEP_DOCKER_NET) {
			cJSON *n = cJSON_AddObjectToObject(d, "network");
			cJSON_AddStringToObject(n, "name", s->dk.name);
			cJSON_AddStringToObject(n, "driver", "bridge");
			cJSON_AddStringToObject(n, "bridge", s->ifname);
			cJSON_AddStringToObject(n, "subnet", s->addr);
		} else {
			cJSON_AddItemToArray(ctrs, ctr_json(a, s, &proxy));
		}
	}
	if (!d)
		return;
	if (proxy == -2)
		cJSON_AddNullToObject(d, "userland_proxy");
	else if (proxy < 0)
		cJSON_AddStringToObject(d, "userland_proxy", "unknown");
	else
		cJSON_AddBoolToObject(d, "userland_proxy", proxy);
	/* the engine's rules as the kernel has them (with iptables-nft; a legacy backend's are not seen) */
	char *nat = nft_out("list table ip nat"), *filter = nft_out("list table ip filter"); /* apart: nft
		   1.0.6 fails both when they come in one buffer */
	if (asprintf(&rules, "%s%s", nat ? nat : "", filter ? filter : "") < 0)
		rules = NULL;
	cJSON_AddStringToObject(d, "nft_ruleset", rules ? rules : "");
	free(rules);
	free(nat);
	free(filter);
	nb_docker_api_close(a);
}
