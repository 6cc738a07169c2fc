/* SPDX-License-Identifier: MIT */
/* --hops inside gen/: the table each backend fills (hops.c: pcap, hops_bpf.c: ebpf), behind nb_hops_*. */
#ifndef NBENCH_GEN_HOPS_IMPL_H
#define NBENCH_GEN_HOPS_IMPL_H

#include "nbench/hops.h"

struct nb_hops_ops {
	const char *name; /* as the report says it: "pcap", "ebpf" */
	/* nb_hops_start's work: *ret is the backend's own state */
	int (*start)(const struct nb_hops_opts *o, void **ret, char *err, size_t errlen);
	void (*hooks)(void *b, struct nb_run_hooks *hooks);
	int (*finish)(void *b, struct nb_report_hops *out);
	void (*free)(void *b);
};

extern const struct nb_hops_ops nb_hops_pcap_ops;
extern const struct nb_hops_ops nb_hops_ebpf_ops;

/* The generator's logs of flows flows (each NB_HOPS_MAX_TXNS / flows long) in one allocation: *logs and
 * *mem, freed with free(). 0 or -ENOMEM. */
int nb_hops_logs_new(unsigned flows, struct nb_txn_log **logs, struct nb_txn_rec **mem);

#endif
