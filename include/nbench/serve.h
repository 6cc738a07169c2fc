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
struct nb_key;
struct nb_path_grant;
struct nb_nic_ref;

/* What a half's own responder may take: the agent's limits, and of its memory budget a share that the
 * agent holds for the half while it is up (so the halves and the agent's own tests share one budget). */
struct nb_half_limits {
	uint64_t max_mem_bytes;	 /* its tests' buffers, in all and per test (--max-mem B,B) */
	unsigned max_sessions;	 /* the agent's --max-sessions */
	int64_t idle_timeout_ns; /* the agent's --idle-timeout */
};

/* Path building for remote clients (`nbench serve --paths`): the server half of a path kind on this host,
 * built by whoever started the responder (the CLI's agent, cli/agent.c, through topo/, which the responder
 * may not call). The responder asks only for a session whose client proved the key, within its caps on
 * halves (in all and per client) and its memory budget; holds at most one half per session, and tears it
 * down when the session ends (the client says so, its connection drops, the half's lifetime is over, the
 * responder stops). */
struct nb_path_ops {
	/* Builds kind's server half for the client at peer, which reached this host at local (numeric
	 * addresses), its responder within lim; fills grant. 0 with *ret_half set, or -errno with one line in
	 * err (the client's). */
	int (*build)(void *arg, const char *kind, const char *local, const char *peer,
		     const struct nb_half_limits *lim, void **ret_half, struct nb_path_grant *grant,
		     char *err, size_t errlen);
	/* Tears a half down: its processes, links, rules, sysctls. */
	void (*teardown)(void *arg, void *half);
	void *arg;
};

/* The responder's limits when its configuration leaves them 0 (`nbench serve --help` states them). */
#define NB_SERVE_MAX_MEM_BYTES	 (1ULL << 30)	       /* the tests' buffers in all */
#define NB_SERVE_MAX_SESSIONS	 16		       /* control connections at once */
#define NB_SERVE_SESSION_IDLE_NS (60LL * 1000000000LL) /* a session with no test this long is closed */
#define NB_SERVE_MAX_HALVES	 4		       /* path halves up at once (--paths) */
#define NB_SERVE_MAX_HALVES_SRC	 3 /* ... of them for one client (an IPv4 address, an IPv6 /64) */
#define NB_SERVE_HALF_GRACE_NS	 (20LL * 1000000000LL) /* a half lives its tests' time and this */

struct nb_serve_cfg {
	const char *bind;	 /* address to listen on; NULL = 0.0.0.0 */
	uint16_t port;		 /* control and data, TCP and UDP */
	int64_t idle_timeout_ns; /* a new connection that has not sent its hello, or (with a key) not proved
				  * it, this long after its accept is closed; <= 0: 5 s */
	/* Budgets, checked before a test allocates anything: the buffers of every test at once (0:
	 * NB_SERVE_MAX_MEM_BYTES) and of one test (0: a quarter of the total). */
	uint64_t max_mem_bytes;
	uint64_t max_test_mem_bytes;
	unsigned max_sessions;	 /* control connections at once (0: NB_SERVE_MAX_SESSIONS) */
	int64_t session_idle_ns; /* a session with no test this long is closed (0: the default) */
	unsigned max_tests;	 /* serve this many tests, then return; 0 = forever */
	/* The shared key (auth.h): a client must prove it before anything else, and the responder proves it
	 * first. NULL: none: anyone who reaches the port can run tests (said in the log at start), and what
	 * needs a key is refused. */
	const struct nb_key *key;
	/* Events worth a line in the responder's log ("client 10.0.0.1 connected", ...); may be NULL. */
	void (*log)(void *arg, const char *msg);
	void *log_arg;
	/* Called with log_arg once the sockets listen (readiness for whoever started the responder); may be
	 * NULL. */
	void (*ready)(void *arg, uint16_t port);
	/* Path building (--paths) for authenticated sessions; NULL: a PATH request is refused. Halves up at
	 * once, in all and per client (0: NB_SERVE_MAX_HALVES, NB_SERVE_MAX_HALVES_SRC; per client at most
	 * the total). */
	const struct nb_path_ops *paths;
	unsigned max_halves, max_halves_per_client;
	/* The started engine that carries the data flows (its UDP port: this port number); NULL: sock. */
	struct nb_engine *engine;
	/* The interfaces of this host whose identity and counters over the measured window (MEASURE to
	 * STOP) each test's RESULT carries: n_nics of them (at most NB_RESULT_MAX_IFACES, nbench serve
	 * --nic). n_nics 0: the one the route to the client's data leaves by, in this network namespace; none
	 * for an engine whose data has an address of its own (DPDK's does not cross this host's routes). */
	const struct nb_nic_ref *nics;
	unsigned n_nics;
};

/* Serves, blocking, until *quit becomes non-zero (a signal handler sets it; seen within 100 ms) or max_tests
 * are done and their sessions closed. 0, or -errno with a message in err when the responder cannot start
 * (port in use, bad address). */
int nb_serve(const struct nb_serve_cfg *sc, volatile sig_atomic_t *quit, char *err, size_t errlen);

/* The per-flow loops, each in its flow's thread (responder/resp_flows.c). Each returns 0, or -errno with
 * c->rc and c->err set. */
/* Forward stream: receives and counts until the end of the flow (TCP) or stop (UDP); TCP then ends its
 * sending side, which tells the generator every byte was read. */
int nb_resp_sink(struct nb_flow_ctx *c);
/* Reverse stream: sends until stop, or c->t_end_ns when set (> 0: the test's end with its grace, for a
 * STOP that never comes); TCP then ends its sending side. */
int nb_resp_source(struct nb_flow_ctx *c);
/* rr: answers each whole request with resp_bytes (UDP: carrying the request's sequence number) until
 * the end of the flow or stop (crr has its own worker in serve.c, over every connection). */
int nb_resp_echo(struct nb_flow_ctx *c);

#endif
