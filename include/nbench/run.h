/* SPDX-License-Identifier: MIT */
/* The two sides of a test: the responder's serve loop and the generator's run. */
#ifndef NBENCH_RUN_H
#define NBENCH_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nbench/cfg.h"
#include "nbench/report.h"

struct nb_engine;

/* The responder's limits when its configuration leaves them 0 (`nbench serve --help` states them). */
#define NB_SERVE_MAX_MEM_BYTES	 (1ULL << 30)	       /* the tests' buffers in all */
#define NB_SERVE_MAX_SESSIONS	 16		       /* control connections at once */
#define NB_SERVE_SESSION_IDLE_NS (60LL * 1000000000LL) /* a session with no test this long is closed */

struct nb_serve_cfg {
	const char *bind;	 /* address to listen on; NULL = 0.0.0.0 */
	uint16_t port;		 /* control and data, TCP and UDP */
	int64_t idle_timeout_ns; /* a connection that says nothing this long is closed (default 5 s) */
	/* Budgets, checked before a test allocates anything: the buffers of every test at once (0:
	 * NB_SERVE_MAX_MEM_BYTES) and of one test (0: a quarter of the total). */
	uint64_t max_mem_bytes;
	uint64_t max_test_mem_bytes;
	unsigned max_sessions;	 /* control connections at once (0: NB_SERVE_MAX_SESSIONS) */
	int64_t session_idle_ns; /* a session with no test this long is closed (0: the default) */
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

struct nb_run_hooks {
	/* Each interim interval as it completes; may be NULL. */
	void (*interval)(void *arg, const struct nb_test_cfg *cfg, const struct nb_interval *iv);
	void *arg;
	volatile sig_atomic_t *quit; /* Ctrl-C: end the run early, still report (marked incomplete) */
	/* Processes that are part of the path (a guest's qemu, a vhost-user switch), with their descendants:
	 * not counted as other processes disturbing the run. This process and a same-host responder always
	 * are. */
	const pid_t *exclude;
	unsigned n_exclude;
	/* The started engine of cfg->engine for the data flows; NULL: nb_run starts (and stops) it itself. */
	struct nb_engine *engine;
	/* Where the data flows go when not where the control connection went (--data-host): a responder
	 * that names another data address (DPDK's) is followed only to this one. NULL: none. */
	const char *data_host;
};

/*
 * Runs one test against the responder at cfg->host:cfg->port and fills rep (which the caller initialised).
 * Returns 0 when the test ran to the end, -errno otherwise; rep->complete and rep->error say the same, and
 * rep holds whatever was measured before a failure.
 */
int nb_run(const struct nb_test_cfg *cfg, const struct nb_run_hooks *hooks, struct nb_report *rep);

#endif
