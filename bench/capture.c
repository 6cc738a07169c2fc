/* SPDX-License-Identifier: MIT */
/*
 * --hops around a run across a path (bench_int.h): what to capture (the path's interfaces and ports, what
 * each end leaves unseen) and the decomposition into the report. How the hops are timed is a backend's: a
 * small table of ops, one per way of seeing packets (libpcap on every interface today, gen/hops.c); the first
 * that starts serves the run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_int.h"
#include "nbench/engine.h"
#include "nbench/guest.h"
#include "nbench/hops.h"
#include "nbench/report.h"
#include "nbench/topo.h"

/* A way to time each hop: start capturing, let the run's flows log their transactions, finish into a
 * decomposition (-ENODATA: nothing seen on every interface both ways), free. */
struct capture_ops {
	const char *name;
	int (*start)(const struct nb_hops_opts *o, void **ret, char *err, size_t errlen);
	void (*hooks)(void *h, struct nb_run_hooks *hooks);
	int (*finish)(void *h, struct nb_report_hops *out);
	void (*free)(void *h);
};

static int pcap_start(const struct nb_hops_opts *o, void **ret, char *err, size_t errlen)
{
	struct nb_hops *h = NULL;
	int r = nb_hops_start(o, &h, err, errlen);
	*ret = h;
	return r;
}

static void pcap_hooks(void *h, struct nb_run_hooks *hooks)
{
	nb_hops_hooks(h, hooks);
}

static int pcap_finish(void *h, struct nb_report_hops *out)
{
	return nb_hops_finish(h, out);
}

static void pcap_free(void *h)
{
	nb_hops_free(h);
}

static const struct capture_ops pcap_ops = {"pcap", pcap_start, pcap_hooks, pcap_finish, pcap_free};

/* The backends, in the order they are tried. */
static const struct capture_ops *const backends[] = {&pcap_ops};

struct nb_capture {
	const struct capture_ops *ops;
	void *h;
};

/* What the client stack segments span unseen: an engine that bypasses the kernel's stack. */
static const char *client_unseen(const char *engine, char *buf, size_t len)
{
	const struct nb_engine_ops *e = nb_engine_find(engine[0] ? engine : "sock");
	if (!e || e->caps->kernel_stack)
		return NULL;
	snprintf(buf, len, "the %s engine", e->label ? e->label : e->name);
	return buf;
}

/* Starts the first backend that will; the last one's reason when none does. */
static int start_any(const struct nb_hops_opts *o, struct nb_capture *c, char *err, size_t errlen)
{
	int r = -ENOTSUP;
	snprintf(err, errlen, "no capture backend");
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]) && r < 0; i++) {
		c->ops = backends[i];
		r = c->ops->start(o, &c->h, err, errlen);
	}
	return r;
}

struct nb_capture *nb_capture_begin(struct nb_topo *topo, const struct nb_test_cfg *cfg,
				    struct nb_run_hooks *hooks, struct nb_report *rep)
{
	struct nb_nic_ref refs[NB_HOPS_MAX_IFS];
	char unseen[64], err[256];
	struct nb_hops_opts o = {.ifs = refs,
				 .n_ifs = nb_topo_interfaces(topo, refs, NB_HOPS_MAX_IFS),
				 .ports = {nb_topo_dial_port(topo), nb_topo_server_port(topo)},
				 .flows = cfg->flows,
				 .client_netns = nb_topo_client_netns(topo),
				 .server_netns = nb_topo_server_netns(topo),
				 .client_unseen = client_unseen(cfg->engine, unseen, sizeof(unseen))};
	if (nb_guest_kind(nb_topo_kind(topo))) /* a container's interfaces are all seen */
		o.server_unseen = "the VM guest (virtio-net, guest kernel)";
	struct nb_capture *c = calloc(1, sizeof(*c));
	if (!c || start_any(&o, c, err, sizeof(err)) < 0) {
		nb_report_note(rep, "no hops: %s", c ? err : strerror(ENOMEM));
		free(c);
		return NULL;
	}
	c->ops->hooks(c->h, hooks);
	return c;
}

void nb_capture_end(struct nb_capture *c, struct nb_report *rep)
{
	if (!c)
		return;
	free(rep->hops);
	rep->hops = calloc(1, sizeof(*rep->hops));
	int r = rep->hops ? c->ops->finish(c->h, rep->hops) : -ENOMEM;
	if (r == -ENODATA)
		nb_report_note(rep, "no hops: no transaction was seen on every interface both ways");
	c->ops->free(c->h);
	free(c);
}
