/* SPDX-License-Identifier: MIT */
/*
 * --hops around a run across a path (bench_int.h): what to time (the path's interfaces and ports, the test,
 * what each end leaves unseen) and the decomposition into the report. How the hops are timed is a backend's
 * (gen/hops.h): eBPF programs in the kernel, or libpcap on every interface. The caller names one; auto tries
 * them in that order and the first that starts serves the run (the fall back noted in the report).
 *
 * --capture around a run: the path's packets into a pcapng file (gen/pathcap.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_int.h"
#include "nbench/engine.h"
#include "nbench/guest.h"
#include "nbench/hops.h"
#include "nbench/pathcap.h"
#include "nbench/report.h"
#include "nbench/topo.h"

/* The backends auto tries, in order. */
static const enum nb_hops_backend backends[] = {NB_HOPS_EBPF, NB_HOPS_PCAP};

struct nb_capture {
	struct nb_hops *h;
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

/* Starts backend b, or for auto the first that will (a fall back noted in rep); the last one's reason when
 * none does. */
static int start_any(struct nb_hops_opts *o, enum nb_hops_backend b, struct nb_capture *c,
		     struct nb_report *rep, char *err, size_t errlen)
{
	int r = -ENOTSUP;
	char first[256] = "";
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]) && r < 0; i++) {
		if (b != NB_HOPS_AUTO && b != backends[i])
			continue;
		o->backend = backends[i];
		r = nb_hops_start(o, &c->h, err, errlen);
		if (r < 0 && !first[0])
			snprintf(first, sizeof(first), "%s", err);
		else if (r == 0 && first[0])
			nb_report_note(rep, "--hops fell back to %s: %s", nb_hops_backend_name(backends[i]),
				       first);
	}
	return r;
}

struct nb_capture *nb_capture_begin(struct nb_topo *topo, const struct nb_test_cfg *cfg,
				    enum nb_hops_backend backend, struct nb_run_hooks *hooks,
				    struct nb_report *rep)
{
	struct nb_nic_ref refs[NB_HOPS_MAX_IFS];
	char unseen[64], err[256];
	struct nb_hops_opts o = {.kind = cfg->kind,
				 .proto = cfg->proto,
				 .req_bytes = (uint32_t)cfg->req_bytes,
				 .resp_bytes = (uint32_t)cfg->resp_bytes,
				 .ifs = refs,
				 .n_ifs = nb_topo_interfaces(topo, refs, NB_HOPS_MAX_IFS),
				 .ports = {nb_topo_dial_port(topo), nb_topo_server_port(topo)},
				 .flows = cfg->flows,
				 .client_netns = nb_topo_client_netns(topo),
				 .server_netns = nb_topo_server_netns(topo),
				 .client_unseen = client_unseen(cfg->engine, unseen, sizeof(unseen))};
	o.notes = cfg->kind == NB_TEST_RR && cfg->depth == 1 && cfg->rate_tps == 0 && !o.client_unseen;
	if (nb_guest_kind(nb_topo_kind(topo))) /* a container's interfaces are all seen */
		o.server_unseen = "the VM guest (virtio-net, guest kernel)";
	struct nb_capture *c = calloc(1, sizeof(*c));
	if (!c || start_any(&o, backend, c, rep, err, sizeof(err)) < 0) {
		nb_report_note(rep, "no hops: %s", c ? err : strerror(ENOMEM));
		free(c);
		return NULL;
	}
	nb_hops_hooks(c->h, hooks);
	return c;
}

void nb_capture_end(struct nb_capture *c, struct nb_report *rep)
{
	if (!c)
		return;
	free(rep->hops);
	rep->hops = calloc(1, sizeof(*rep->hops));
	int r = rep->hops ? nb_hops_finish(c->h, rep->hops) : -ENOMEM;
	if (r == -ENODATA)
		nb_report_note(rep, "no hops: no transaction was seen on every interface both ways");
	nb_hops_free(c->h);
	free(c);
}

/* ---- --capture ---- */

struct nb_pathcap *nb_bench_pathcap_begin(struct nb_topo *topo, const struct nb_pathcap_cfg *pc,
					  struct nb_report *rep)
{
	struct nb_nic_ref refs[NB_REPORT_MAX_CAPTURE_IFS];
	struct nb_pathcap_opts o = {.ifs = refs,
				    .n_ifs = nb_topo_interfaces(topo, refs, NB_REPORT_MAX_CAPTURE_IFS),
				    .ports = {nb_topo_dial_port(topo), nb_topo_server_port(topo)},
				    .file = pc->file,
				    .snap_bytes = pc->snap_bytes,
				    .max_bytes = pc->max_bytes};
	struct nb_pathcap *c = NULL;
	char err[256];
	if (nb_pathcap_start(&o, &c, err, sizeof(err)) < 0) {
		nb_report_note(rep, "no capture: %s", err);
		return NULL;
	}
	nb_report_note(rep,
		       "captured with libpcap on every interface (--capture): the figures include its cost");
	return c;
}

void nb_bench_pathcap_end(struct nb_pathcap *c, struct nb_report *rep)
{
	if (!c)
		return;
	free(rep->capture);
	rep->capture = calloc(1, sizeof(*rep->capture));
	if (rep->capture)
		nb_pathcap_finish(c, rep->capture);
	nb_pathcap_free(c);
}
