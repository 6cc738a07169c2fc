/* SPDX-License-Identifier: MIT */
/* --hops: what both backends use (the generator's logs, the BTF file) and the backends' names. Below the
 * backends, which the front (hops_front.c) sits above. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hops_impl.h"

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
