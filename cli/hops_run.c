/* SPDX-License-Identifier: MIT */
/* --hops on a run across a path: the capture around it, and the runs without capture that price it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nbench/guest.h"
#include "nbench/hops.h"
#include "nbench/report.h"
#include "nbench/topo.h"
#include "nbench/workload.h"

int cli_hops_pick(const char *cmd, enum nb_hops_backend *b, enum nb_test_kind kind, struct nb_report *rep,
		  char *err, size_t errlen)
{
	char why[200];
	if (*b == NB_HOPS_PCAP && kind != NB_TEST_RR) {
		snprintf(err, errlen, "--hops=pcap splits rr only (crr's handshake needs --hops=ebpf)");
		return 2;
	}
	if (*b == NB_HOPS_PCAP)
		return 0;
	if (nb_hops_ebpf_probe(why, sizeof(why)) == 0) {
		*b = NB_HOPS_EBPF;
		return 0;
	}
	if (*b == NB_HOPS_EBPF || kind != NB_TEST_RR) {
		snprintf(err, errlen, "--hops%s: eBPF cannot run here: %s", *b == NB_HOPS_EBPF ? "=ebpf" : "",
			 why);
		return 2;
	}
	fprintf(stderr,
		"nbench %s: --hops: eBPF cannot run here (%s); capturing with libpcap instead, which adds to "
		"the round trip (the overhead line says how much)\n",
		cmd, why);
	if (rep)
		nb_report_note(rep, "--hops fell back to pcap: %s", why);
	*b = NB_HOPS_PCAP;
	return 0;
}

int cli_hops_check(struct cli_test *t, struct nb_report *rep, char *err, size_t errlen)
{
	const char *why = NULL;
	if (t->cfg.kind != NB_TEST_RR && t->cfg.kind != NB_TEST_CRR)
		why = "--hops applies to rr and crr";
	else if (!t->path && !t->topo)
		why = "--hops needs --path or --topo: it captures on the path's interfaces";
	else if (t->host_given)
		why = "--hops captures on a path of this host: not with -H";
	else if (t->cfg.req_bytes < NB_MARK_BYTES || t->cfg.resp_bytes < NB_MARK_BYTES)
		why = "--hops needs requests and responses of at least 16 bytes: they carry the marker";
	if (why) {
		snprintf(err, errlen, "%s", why);
		return 2;
	}
	return cli_hops_pick(nb_test_kind_name(t->cfg.kind), &t->hops_backend, t->cfg.kind, rep, err, errlen);
}

struct nb_hops *cli_hops_begin(struct cli_path *pe, const struct nb_test_cfg *cfg, struct nb_run_hooks *hooks,
			       struct nb_report *rep)
{
	if (!pe->hops)
		return NULL;
	struct nb_nic_ref refs[NB_HOPS_MAX_IFS];
	struct nb_hops_opts o = {.backend = pe->hops_backend,
				 .kind = cfg->kind,
				 .proto = cfg->proto,
				 .req_bytes = (uint32_t)cfg->req_bytes,
				 .resp_bytes = (uint32_t)cfg->resp_bytes,
				 .ifs = refs,
				 .n_ifs = nb_topo_interfaces(pe->topo, refs, NB_HOPS_MAX_IFS),
				 .ports = {nb_topo_dial_port(pe->topo), nb_topo_server_port(pe->topo)},
				 .flows = cfg->flows,
				 .client_netns = nb_topo_client_netns(pe->topo),
				 .server_netns = nb_topo_server_netns(pe->topo)};
	if (nb_topo_has_own_responder(pe->topo))
		o.server_unseen = "the VM guest (virtio-net, guest kernel)";
	if (strcmp(cfg->engine, "sock") && cfg->engine[0])
		o.client_unseen = "the DPDK engine";
	struct nb_hops *h = NULL;
	char err[256];
	if (nb_hops_start(&o, &h, err, sizeof(err)) < 0) {
		nb_report_note(rep, "no hops: %s", err);
		return NULL;
	}
	nb_hops_hooks(h, hooks);
	return h;
}

void cli_hops_end(struct nb_hops *h, struct nb_report *rep)
{
	if (!h)
		return;
	free(rep->hops);
	rep->hops = calloc(1, sizeof(*rep->hops));
	int r = rep->hops ? nb_hops_finish(h, rep->hops) : -ENOMEM;
	if (r == -ENODATA)
		nb_report_note(rep, "no hops: no transaction was seen on every interface both ways");
	nb_hops_free(h);
}

int cli_hops_run(struct cli_path *pe, const struct nb_test_cfg *cfg, bool print_intervals,
		 struct nb_report *rep)
{
	/* without, then with: one each, the capture's run last so its report's figures are the undisturbed
	 * run's and the decomposition sits beside them */
	struct nb_report with;
	nb_report_init(&with);
	snprintf(with.cmdline, sizeof(with.cmdline), "%s", rep->cmdline);
	pe->hops = false;
	int r = cli_path_run(pe, cfg, print_intervals, rep);
	if (r < 0 || cli_quitting()) {
		nb_report_free(&with);
		return r;
	}
	pe->hops = true;
	int r2 = cli_path_run(pe, cfg, print_intervals, &with);
	pe->hops = false;
	if (with.hops) {
		rep->hops = with.hops;
		with.hops = NULL;
		rep->hops->rtt_without_ns = rep->lat.mean_ns;
		rep->hops->rtt_with_ns = with.lat.mean_ns;
		rep->hops->rtt_p50_without_ns = rep->lat.p50_ns;
		rep->hops->rtt_p50_with_ns = with.lat.p50_ns;
		rep->hops->runs_without = 1;
		rep->hops->runs_with = 1;
	}
	for (unsigned i = 0; i < with.n_notes; i++)
		nb_report_note(rep, "%s", with.notes[i]);
	if (r2 < 0 && !with.hops)
		nb_report_note(rep, "no hops: the run with capture failed: %s", with.error);
	nb_report_free(&with);
	return r;
}
