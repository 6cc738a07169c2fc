/* SPDX-License-Identifier: MIT */
/* `nbench serve --paths`: the ops through which the responder has path halves built (cli/agent.c). */
#ifndef NBENCH_CLI_AGENT_H
#define NBENCH_CLI_AGENT_H

#include <stdint.h>

#include "nbench/serve.h"

struct cli_agent {
	const char *key_file; /* the halves' responders prove the agent's key */
	uint16_t port;	      /* the agent's own (the native half's) */
};

/* The ops table for nb_serve_cfg.paths, building through topo/ for ag. */
void cli_agent_ops(struct cli_agent *ag, struct nb_path_ops *ret);

#endif
