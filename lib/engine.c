/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "nbench/engine.h"

/* The registry: one entry per engine built in. */
static const struct nb_engine_ops *const engines[] = {
	&nb_engine_sock,
	&nb_engine_loop,
};

const struct nb_engine_ops *nb_engine_find(const char *name)
{
	for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++)
		if (!strcmp(engines[i]->name, name))
			return engines[i];
	return NULL;
}
