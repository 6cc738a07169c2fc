/* SPDX-License-Identifier: MIT */
/*
 * The responder (responder/): `nbench serve`'s listener, sessions and tests over any engine, and the per-flow
 * loops it runs in each flow's thread. Only the CLI and the tests call into it; it uses lib/ and nothing
 * else.
 */
#ifndef NBENCH_SERVE_H
#define NBENCH_SERVE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nbench/workload.h"

struct nb_engine;

struct nb_serve_cfg {
	const char *bind;	 /* address to listen on; NULL = 0.0.0.0 */
	uint16_t port;		 /* control and data, TCP and UDP */
	int64_t idle_timeout_ns; /* a connection that says nothing this long is closed (default 5 s) */
	unsigned max_tests;	 /* serve this many tests, then return; 0 = forever */
	/* Events worth a line in the responder's log ("client 10.0.0.1 connected", ...); may be NULL. */
	void (*log)(void *arg, const char *msg);
	void *log_arg;
	/* Called once the sockets listen (readiness for whoever started the responder); may be NULL. */
	void (*ready)(void *arg, uint16_t port);
	/* The started engine that carries the data flows (its UDP port: this port number); NULL: sock. */
	struct nb_engine *engine;
};

/* Serves until *quit becomes non-zero (a signal handler sets it) or max_tests are done. 0, or -errno with a
 * message in err when the responder cannot start (port in use, bad address). */
int nb_serve(const struct nb_serve_cfg *sc, volatile sig_atomic_t *quit, char *err, size_t errlen);

/* The per-flow loops, each in its flow's thread (responder/resp_flows.c). */
int nb_resp_sink(struct nb_flow_ctx *c);   /* receive and count until the end of the flow or stop */
int nb_resp_source(struct nb_flow_ctx *c); /* send until stop, then end the flow */
int nb_resp_echo(struct nb_flow_ctx *c);   /* answer each request with resp_bytes */

#endif
