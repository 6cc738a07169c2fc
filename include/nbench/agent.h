/* SPDX-License-Identifier: MIT */
/*
 * `nbench serve --paths` (bench/agent.c): the agent that builds the server half of a path on this host for an
 * authenticated remote client, each half with a responder of its own. The responder asks for halves through
 * these ops (nb_serve_cfg.paths); topo/ builds them. The agent lives in bench/ because it needs both, and
 * neither may call the other.
 */
#ifndef NBENCH_AGENT_H
#define NBENCH_AGENT_H

#include <stdint.h>

#include "nbench/serve.h"

struct nb_agent {
	const char *key_file; /* the halves' responders prove the agent's key */
	uint16_t port;	      /* the agent's own (the native half's) */
};

/* The ops table for nb_serve_cfg.paths, building through topo/ for ag. */
void nb_agent_ops(struct nb_agent *ag, struct nb_path_ops *ret);

#endif
