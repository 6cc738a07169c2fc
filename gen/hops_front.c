/* SPDX-License-Identifier: MIT */
/* --hops: the backends' common front (nb_hops_*): which one runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hops_impl.h"

struct nb_hops {
	const struct nb_hops_ops *ops;
	void *b;
};

int nb_hops_start(const struct nb_hops_opts *o, struct nb_hops **ret, char *err, size_t errlen)
{
	if (o->n_ifs < 1 || o->n_ifs > NB_HOPS_MAX_IFS || o->flows < 1) {
		snprintf(err, errlen, "--hops: the path has %u interfaces to watch (1 to %u work)", o->n_ifs,
			 NB_HOPS_MAX_IFS);
		return -EINVAL;
	}
	if (o->backend == NB_HOPS_PCAP && o->kind != NB_TEST_RR) {
		snprintf(err, errlen, "--hops=pcap splits rr only (crr needs the eBPF backend)");
		return -EINVAL;
	}
	struct nb_hops *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->ops = o->backend == NB_HOPS_PCAP ? &nb_hops_pcap_ops : &nb_hops_ebpf_ops;
	int r = h->ops->start(o, &h->b, err, errlen);
	if (r < 0) {
		free(h);
		return r;
	}
	*ret = h;
	return 0;
}

void nb_hops_hooks(struct nb_hops *h, struct nb_run_hooks *hooks)
{
	h->ops->hooks(h->b, hooks);
}

int nb_hops_finish(struct nb_hops *h, struct nb_report_hops *out)
{
	int r = h->ops->finish(h->b, out);
	snprintf(out->backend, sizeof(out->backend), "%s", h->ops->name);
	return r;
}

void nb_hops_free(struct nb_hops *h)
{
	if (!h)
		return;
	h->ops->free(h->b);
	free(h);
}
