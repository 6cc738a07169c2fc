/* SPDX-License-Identifier: MIT */
/* The command line: parsing into settings, and the commands. Only this folder and the report writers print.
 */
#ifndef NBENCH_CLI_H
#define NBENCH_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nbench/auth.h"
#include "nbench/cfg.h"

struct nb_hist;

enum cli_format { CLI_TEXT, CLI_JSON, CLI_CSV };

struct cli_test {
	struct nb_test_cfg cfg;
	enum cli_format format;
	const char *path;	  /* --path: build this path for the run */
	const char *topo;	  /* --topo: use this running instance */
	const char *output;	  /* -o: write the report there too */
	const char *data_host;	  /* --data-host: the data address a responder may name instead of -H's */
	const char *key_file;	  /* --key-file, else $NBENCH_KEY_FILE: the shared key; NULL: none */
	const char *hist_out;	  /* --hist-out: write the latency distribution there */
	struct nb_hist *hist;	  /* the run's latency histogram, when hist_out is set */
	bool quiet;		  /* no interim lines */
	bool nic_counters;	  /* -v: text lists every changed counter of each interface */
	bool hops;		  /* --hops: also a run with capture on every interface of the path */
	const char *baseline;	  /* --baseline FILE: exit 1 when worse than it (diff_cmd.c) */
	const char *tolerance;	  /* --tolerance PCT: by more than this beyond the interval (5%) */
	double load_bps;	  /* rr --load: a paced stream beside the probe (payload bits/s); 0 = none */
	enum nb_proto load_proto; /* --load-proto: that stream's protocol (udp) */
	bool host_given;
	struct cli_wire { /* --wire IF_A,IF_B, --wire-rate, --force: the wire of paths built here */
		const char *ifs;
		double rate_bps;
		bool force;
	} wire;
	char cmdline[512];
};

/* Parses `nbench stream|rr|crr ...` (argv[0] is the subcommand). 0, 1 for --help (printed), or 2 after a
 * one-line error on stderr. */
int cli_parse_test(int argc, char **argv, struct cli_test *ret);

int cmd_test(int argc, char **argv); /* stream, rr, crr */
int cmd_serve(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_throughput(int argc, char **argv); /* throughput_cmd.c: RFC 2544 throughput per frame size */
/* rr --load (throughput_cmd.c): the idle probe, then the probe beside the load, into rep. Exit status. */
struct nb_report;
int cli_run_loaded(struct cli_test *t, struct nb_report *rep);
int cmd_sweep(int argc, char **argv); /* sweep_cmd.c: knob values crossed, each combination a compare cell */
int cmd_guest(int argc, char **argv); /* guest_cmd.c: nbench guest build|probe */
int cmd_topo(int argc, char **argv);  /* topo_cmd.c: nbench topo up|down|show|script|describe|spawn */
int cmd_key(int argc, char **argv);   /* key_cmd.c: nbench key gen FILE */
int cmd_diff(int argc, char **argv);  /* diff_cmd.c: nbench diff A B */

/* --baseline FILE --tolerance PCT (diff_cmd.c). Before the run: FILE readable, PCT a percentage (default 5)
 * into *ret_tol; 0, or 2 after a one-line error. After it: doc (the run's JSON report) against FILE; 0, 1
 * when a metric is worse by more than tol_pct beyond its interval (each named in one line on stderr), 2
 * when FILE is of another test (one line); note gets the sentence the report adds. */
struct cJSON;
int cli_baseline_ready(const char *cmd, const char *file, const char *tolerance, double *ret_tol);
int cli_baseline_check(const char *cmd, const char *file, double tol_pct, const struct cJSON *doc, char *note,
		       size_t notelen);
/* A report as its JSON document (what --json prints), or NULL. */
struct nb_report;
struct cJSON *cli_report_doc(const struct nb_report *rep);

/* --engine dpdk's options, shared by the tests and serve: getopt entries, parsing into cfg (0, or 2 after a
 * one-line error), and the check that they and the engine go together (given: any of them was given). */
#define CLI_O_DPDK 1000
#define CLI_DPDK_OPTIONS                                                                                     \
	{"dpdk-port", required_argument, NULL, CLI_O_DPDK + 0},                                              \
	    {"dpdk-args", required_argument, NULL, CLI_O_DPDK + 1},                                          \
	    {"dpdk-ip", required_argument, NULL, CLI_O_DPDK + 2},                                            \
	{                                                                                                    \
		"dpdk-peer-mac", required_argument, NULL, CLI_O_DPDK + 3                                     \
	}
#define CLI_DPDK_HELP                                                                                        \
	"      --engine dpdk      kernel bypass (UDP): --dpdk-port PCI|net_af_packet0,iface=IF (or "         \
	"net_af_xdp,\n"                                                                                      \
	"                         net_tap, net_memif, net_virtio_user), --dpdk-ip A.B.C.D (the port's "      \
	"address),\n"                                                                                        \
	"                         --dpdk-peer-mac MAC (no ARP), --dpdk-args \"EAL ARGS\"\n"
int cli_dpdk_opt(const char *cmd, int c, const char *arg, struct nb_test_cfg *cfg);
int cli_dpdk_check(const char *cmd, const struct nb_test_cfg *cfg, bool given);

/* Prints "nbench <cmd>: <message>" on stderr; returns 2 (bad usage). */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A port number, 1 to 65535, into *ret: 0 or -EINVAL. */
int cli_parse_port(const char *s, uint16_t *ret);

/* Runs one test as the CLI does (building --path if asked), filling rep; returns the exit status. */
struct nb_report;
int cli_run_test(struct cli_test *t, struct nb_report *rep, bool print_intervals);
/* nb_run of cfg against -H with the host and NIC context a single run's report has: the interface the route
 * to route_host leaves by, the responder's own (hooks->server_ifaces), and the started engine's facts (DPDK's
 * port). What nb_run returns. */
struct nb_run_hooks;
int cli_run_hosted(const char *route_host, struct nb_run_hooks *hooks, const struct nb_test_cfg *cfg,
		   struct nb_report *rep);

/* A path built (or found) for runs, with its responder started. */
struct nb_topo;
struct cli_path {
	struct nb_topo *topo;
	bool built;
	bool ready; /* the responder answered once */
	bool hops; /* cli_path_run captures on the path's interfaces and splits each round trip (rep->hops) */
	bool keyed; /* key: the path's responder was started with it, the generator proves it */
	struct nb_key key;
	struct nb_hist *latency;	/* the runs' latency histograms are added to it; may be NULL */
	struct nb_path_session *remote; /* -H SERVER --path: the agent's half there (cli/remote.c) */
	bool routed;			/* the client's half: a route to the grant's subnet */
};
/* -H SERVER --path KIND (cli/remote.c): the agent on host:port builds KIND's server half, this process adds
 * its own (a route for bridge) after checking the grant. 0 or -errno (-EINVAL: bad usage) with err. */
int cli_remote_open(const char *host, uint16_t port, const char *kind, const char *key_file,
		    struct cli_path *pe, char *err, size_t errlen);
struct nb_run_hooks;
struct nb_report;
struct nb_test_cfg;
int cli_remote_run(struct cli_path *pe, const struct nb_run_hooks *hooks, const struct nb_test_cfg *cfg,
		   struct nb_report *rep);
void cli_remote_close(struct cli_path *pe);
/* The wire settings of every path this process builds (cli_path_open), set from the command line. */
extern struct cli_wire cli_wire;
/* Builds path kind (or opens the instance called name when kind is NULL) and starts a responder in it,
 * with the key in key_file when not NULL (a guest's own responder has none). */
int cli_path_open(const char *kind, const char *name, uint16_t port, const char *key_file,
		  struct cli_path *pe, char *err, size_t errlen);
/* Runs one test across it (the generator in the client's namespace). 0 or -errno; rep says the rest. */
int cli_path_run(struct cli_path *pe, const struct nb_test_cfg *cfg, bool print_intervals,
		 struct nb_report *rep);
/* Stops the responder; tears the path down if it was built here. */
void cli_path_close(struct cli_path *pe);

/* --hops (cli/hops_run.c). Before a run across pe: starts the capture and lets the flows log into it
 * (hooks); NULL when pe->hops is off or the capture could not start (noted in rep). */
struct nb_hops;
struct nb_run_hooks;
struct nb_hops *cli_hops_begin(struct cli_path *pe, const struct nb_test_cfg *cfg, struct nb_run_hooks *hooks,
			       struct nb_report *rep);
/* After it: the decomposition into rep->hops; frees h (NULL is fine). */
void cli_hops_end(struct nb_hops *h, struct nb_report *rep);
/* Whether --hops can run with t's settings: 0, or 2 with the reason in err. */
int cli_hops_check(const struct cli_test *t, char *err, size_t errlen);
/* rr --hops across an open path: runs without and with capture, interleaved; rep is the last run without
 * capture, with the decomposition and both round trips in rep->hops. 0 or -errno. */
int cli_hops_run(struct cli_path *pe, const struct nb_test_cfg *cfg, bool print_intervals,
		 struct nb_report *rep);
/* Writes h in HdrHistogram's percentile-distribution text format (what its plotter reads), values in
 * microseconds. 0 or -errno (from writing). */
int cli_hist_write(const struct nb_hist *h, FILE *out);

/* nbench plot FILE.json... (plot_cmd.c) */
int cmd_plot(int argc, char **argv);

/* CAP_NET_ADMIN and CAP_SYS_ADMIN are effective (what building a path takes). */
bool cli_has_net_admin(void);

/* Ctrl-C and SIGTERM set the flag that cli_quit_flag() points to (for nb_serve and nb_run). */
void cli_catch_signals(void);
bool cli_quitting(void);
volatile sig_atomic_t *cli_quit_flag(void);

#endif
