/* SPDX-License-Identifier: MIT */
/*
 * Inside the bench layer: what its files call of each other. remote.c holds a path's server half on another
 * host (the agent's) and the client's half here; capture.c times each hop of a round trip through a backend;
 * target.c starts a path's responder (for its own paths and the agent's halves).
 */
#ifndef NBENCH_BENCH_INT_H
#define NBENCH_BENCH_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nbench/bench.h"
#include "nbench/gen.h"

struct nb_key;

/* ---- target.c ---- */

#define NB_TARGET_MAX_EXTRA 64
/* Starts `exe serve` (NULL: this process's binary) in topo's server end on its server address and port,
 * quiet, with the key in key_file (NULL: none) and n_extra more arguments; its pid or -errno. */
pid_t nb_target_spawn(struct nb_topo *topo, const char *exe, const char *key_file, char *const *extra,
		      unsigned n_extra);

/* ---- remote.c: -H SERVER --path KIND ---- */

struct nb_remote;
/* Asks the agent at host:port (proving key) for kind's server half and adds the client's half here (a
 * route for bridge) once the grant passes the checks. 0 or -errno with one line in err (-EPERM: a grant
 * that names an address it may not). */
int nb_remote_open(const char *host, uint16_t port, const char *kind, const struct nb_key *key,
		   int64_t for_ns, struct nb_remote **ret, char *err, size_t errlen);
/* Runs cfg against the half, with hooks as the caller set them (the server's interfaces are the half's
 * responder's to report: hooks->server_ifaces). 0 or -errno. */
int nb_remote_run(struct nb_remote *r, const struct nb_run_hooks *hooks, const struct nb_test_cfg *cfg,
		  struct nb_report *rep);
/* The address the tests go to (the grant's). */
const char *nb_remote_dial_addr(const struct nb_remote *r);
/* Removes the client's half and ends the session (the agent tears its half down); trouble goes to warn.
 * NULL is fine. */
void nb_remote_close(struct nb_remote *r, void (*warn)(void *arg, const char *msg), void *warn_arg);

/* ---- capture.c: --hops ---- */

struct nb_capture;
/* Before a run of cfg across topo: starts timing the hops with backend (auto: eBPF, else libpcap) and lets
 * the run's flows log into it (hooks). NULL when it could not start (the reason noted in rep). */
struct nb_capture *nb_capture_begin(struct nb_topo *topo, const struct nb_test_cfg *cfg,
				    enum nb_hops_backend backend, struct nb_run_hooks *hooks,
				    struct nb_report *rep);
/* After the run: the decomposition into rep->hops (a note when there is none); frees c (NULL is fine). */
void nb_capture_end(struct nb_capture *c, struct nb_report *rep);
/* --capture: before a run across topo, its packets into pc->file; NULL when it could not start (noted). */
struct nb_pathcap;
struct nb_pathcap *nb_bench_pathcap_begin(struct nb_topo *topo, const struct nb_pathcap_cfg *pc,
					  struct nb_report *rep);
/* After it: what the file holds into rep->capture; frees c (NULL is fine). */
void nb_bench_pathcap_end(struct nb_pathcap *c, struct nb_report *rep);

#endif
