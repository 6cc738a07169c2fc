/* SPDX-License-Identifier: MIT */
/* --hops: the backends' common front (nb_hops_*): which one runs, the generator's logs, names. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hops_impl.h"

struct nb_hops {
	const struct nb_hops_ops *ops;
	void *b;
};

static const char *const backend_names[] = {"auto", "ebpf", "pcap"};

const char *nb_hops_backend_name(enum nb_hops_backend b)
{
	return (unsigned)b < 3 ? backend_names[b] : "?";
}

int nb_hops_parse_backend(const char *s, enum nb_hops_backend *ret)
{
	for (unsigned i = 0; i < 3; i++)
		if (!strcmp(s, backend_names[i])) {
			*ret = (enum nb_hops_backend)i;
			return 0;
		}
	return -EINVAL;
}

const char *nb_hops_btf_path(void)
{
	const char *p = getenv("NBENCH_BTF");
	return p && p[0] ? p : "/sys/kernel/btf/vmlinux";
}

int nb_hops_logs_new(unsigned flows, struct nb_txn_log **logs, struct nb_txn_rec **mem)
{
	uint32_t per_flow = NB_HOPS_MAX_TXNS / flows;
	*logs = calloc(flows, sizeof(**logs));
	*mem = malloc((size_t)per_flow * flows * sizeof(**mem));
	if (!*logs || !*mem)
		return -ENOMEM;
	for (unsigned f = 0; f < flows; f++)
		(*logs)[f] = (struct nb_txn_log){.rec = *mem + (size_t)f * per_flow, .cap = per_flow};
	return 0;
}

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
