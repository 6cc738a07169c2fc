/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "nbench/engine.h"
#ifdef NB_HAVE_DPDK
#include "nbench/dpdk.h"
#endif

/* The registry: one entry per engine built in. */
static const struct nb_engine_ops *const engines[] = {
    &nb_engine_sock,
    &nb_engine_loop,
#ifdef NB_HAVE_DPDK
    &nb_engine_dpdk,
#endif
};

const struct nb_engine_ops *nb_engine_find(const char *name)
{
	for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++)
		if (!strcmp(engines[i]->name, name))
			return engines[i];
	return NULL;
}
