/* SPDX-License-Identifier: MIT */
/* nbench serve: the responder's options, its key and engine, then nb_serve until Ctrl-C. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "nbench/agent.h"
#include "nbench/auth.h"
#include "nbench/engine.h"
#include "nbench/nic.h"
#include "nbench/result.h"
#include "nbench/serve.h"
#include "nbench/units.h"

struct serve_args {
	struct cli_test t; /* --port, --key-file, -q; t.cfg: the engine and its --dpdk-* settings */
	struct nb_serve_cfg sc;
	bool paths, max_halves_given;
	struct nb_nic_ref nics[NB_RESULT_MAX_IFACES]; /* --nic */
};

static void serve_log(void *arg, const char *msg)
{
	if (arg)
		return; /* --quiet */
	char ts[32];
	time_t now = time(NULL);
	strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&now));
	fprintf(stderr, "%s nbench serve: %s\n", ts, msg);
}

static void serve_ready(void *arg, uint16_t port)
{
	if (!arg)
		fprintf(stderr, "nbench serve: listening on port %u (TCP control and data, UDP data)\n",
			port);
}

/* --max-mem TOTAL[,PER_TEST]: each at least 1 MiB, PER_TEST at most TOTAL (default: a quarter). */
static int max_mem(const char *arg, struct nb_serve_cfg *sc)
{
	char buf[64];
	uint64_t total, per = 0;
	if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
		return -EINVAL;
	char *comma = strchr(buf, ',');
	if (comma)
		*comma = '\0';
	if (nb_parse_bytes(buf, &total) < 0 || total < (1u << 20) ||
	    (comma && (nb_parse_bytes(comma + 1, &per) < 0 || per < (1u << 20) || per > total)))
		return -EINVAL;
	sc->max_mem_bytes = total;
	sc->max_test_mem_bytes = per;
	return 0;
}

/* --max-halves N[,PER_CLIENT]: N from 1 to 1000, PER_CLIENT from 1 to N. 0, or an exit status after a
 * one-line error. */
static int parse_max_halves(void *base, const char *arg)
{
	struct serve_args *a = base;
	struct nb_serve_cfg *sc = &a->sc;
	a->max_halves_given = true;
	char buf[64];
	uint64_t n, per = 0;
	char *comma = snprintf(buf, sizeof(buf), "%s", arg) < (int)sizeof(buf) ? strchr(buf, ',') : NULL;
	if (comma)
		*comma = '\0';
	if (strlen(arg) >= sizeof(buf) || nb_parse_uint(buf, 1, 1000, &n) < 0 ||
	    (comma && nb_parse_uint(comma + 1, 1, n, &per) < 0))
		return cli_usage_error(
		    "serve",
		    "--max-halves: '%s' is not N[,PER_CLIENT]: N from 1 to 1000, PER_CLIENT from 1 "
		    "to N",
		    arg);
	sc->max_halves = (unsigned)n;
	sc->max_halves_per_client =
	    (unsigned)(per ? per : (n < NB_SERVE_MAX_HALVES_SRC ? n : NB_SERVE_MAX_HALVES_SRC));
	return 0;
}

static int parse_max_mem(void *base, const char *arg)
{
	if (max_mem(arg, &((struct serve_args *)base)->sc) < 0)
		return cli_usage_error(
		    "serve",
		    "--max-mem: '%s' is not TOTAL[,PER_TEST] byte sizes of at least 1M, PER_TEST at "
		    "most TOTAL",
		    arg);
	return 0;
}

static int parse_idle_timeout(void *base, const char *arg)
{
	int64_t ns;
	if (nb_parse_duration(arg, &ns) < 0 || ns < 1000000LL)
		return cli_usage_error("serve", "--idle-timeout: '%s' is not a duration of at least 1ms",
				       arg);
	((struct serve_args *)base)->sc.idle_timeout_ns = ns;
	return 0;
}

/* --engine NAME: an engine whose flows stay in this process has nothing to serve. */
static int parse_engine(void *base, const char *name)
{
	struct serve_args *a = base;
	const struct nb_engine_ops *ops = nb_engine_find(name);
	if ((!ops && !nb_engine_missing(name)) || (ops && ops->caps->local) ||
	    strlen(name) >= sizeof(a->t.cfg.engine))
		return cli_usage_error("serve", "--engine: '%s' is not an engine this responder serves",
				       name);
	snprintf(a->t.cfg.engine, sizeof(a->t.cfg.engine), "%s", name);
	return 0;
}

/* --nic [NETNS:]IF, up to NB_RESULT_MAX_IFACES of them. */
static int parse_nic(void *base, const char *arg)
{
	struct serve_args *a = base;
	if (a->sc.n_nics == NB_RESULT_MAX_IFACES)
		return cli_usage_error("serve", "--nic: at most %d interfaces", NB_RESULT_MAX_IFACES);
	if (nb_nic_ref_parse(arg, &a->nics[a->sc.n_nics]) < 0)
		return cli_usage_error("serve", "--nic: '%s' is not [NETNS:]IF", arg);
	a->sc.nics = a->nics;
	a->sc.n_nics++;
	return 0;
}

/* serve's own options; the --dpdk-* ones are the shared table's (opts.c). */
static const struct cli_opt serve_opts[] = {
    {"port", 'p', "PORT", CLI_C_SERVE, 0, CLI_OT_UINT, CLI_FIELD(struct serve_args, t.cfg.port), .lo = 1,
     .hi = UINT16_MAX, .what = "a port number", .label = "--port",
     .help = "the port to listen on: TCP for control and data, UDP for datagram flows", .dflt = "12865"},
    {"bind", 'B', "ADDR", CLI_C_SERVE, 0, CLI_OT_ARG, CLI_FIELD(struct serve_args, sc.bind),
     .help = "listen on ADDR only (default: every address)"},
    {"once", 0, NULL, CLI_C_SERVE, 0, CLI_OT_SET, CLI_FIELD(struct serve_args, sc.max_tests), .lo = 1,
     .help = "serve one test, then exit"},
    {"key-file", 0, "FILE", CLI_C_SERVE, 0, CLI_OT_ARG, CLI_FIELD(struct serve_args, t.key_file),
     .help = "clients must prove this shared key (`nbench key gen`); without one\nanyone who reaches the "
	     "port can run tests",
     .dflt = "$NBENCH_KEY_FILE"},
    {"idle-timeout", 0, "T", CLI_C_SERVE, 0, CLI_OT_FN, .parse = parse_idle_timeout,
     .help = "close a connection that has not sent its hello, or with a key not\nproved it, within T of "
	     "its connect",
     .dflt = "5s"},
    {"max-mem", 0, "T[,P]", CLI_C_SERVE, 0, CLI_OT_FN, .parse = parse_max_mem,
     .help = "the tests' buffers: at most T in all and P per test (P defaults to\nT/4); a test over it "
	     "is refused",
     .dflt = "1G,256M"},
    {"max-sessions", 0, "N", CLI_C_SERVE, 0, CLI_OT_UINT, CLI_FIELD(struct serve_args, sc.max_sessions),
     .lo = 1, .hi = 100000, .what = "a number",
     .help = "control connections at once; a session with no test for 60 s is closed", .dflt = "16"},
    {"paths", 0, NULL, CLI_C_SERVE, 0, CLI_OT_SET, CLI_FIELD(struct serve_args, paths), .lo = 1,
     .help = "build the server half of a path (native, host, bridge, nat) on this host\nfor a client "
	     "with the key (`nbench rr -H THIS --path KIND`); needs --key-file\nand root"},
    {"max-halves", 0, "N[,PER_CLIENT]", CLI_C_SERVE, 0, CLI_OT_FN, .parse = parse_max_halves,
     .help = "--paths: halves up at once, in all and for one client (an address, an\nIPv6 /64); each "
	     "holds the per-test share of --max-mem and lives its\nclient's tests and 20 s",
     .dflt = "4,3"},
    {"nic", 0, "[NETNS:]IF", CLI_C_SERVE, 0, CLI_OT_FN, .parse = parse_nic,
     .help = "an interface whose counters each result carries (up to 4; default: the\none the route to "
	     "the client leaves by)"},
    {"engine", 0, "NAME", CLI_C_SERVE, 0, CLI_OT_FN, .parse = parse_engine,
     .help = "sock (kernel sockets) or dpdk (UDP flows to --dpdk-ip on the DPDK port;\ncontrol stays on "
	     "TCP)",
     .dflt = "sock"},
    {"quiet", 'q', NULL, CLI_C_SERVE, 0, CLI_OT_SET, CLI_FIELD(struct serve_args, t.quiet), .lo = 1,
     .help = "no log lines"},
};

/* The command line into a: 0, 1 after --help, or 2 after a one-line error. */
static int serve_parse(int argc, char **argv, struct serve_args *a)
{
	static const struct cli_cmd cmd = {
	    .name = "serve",
	    .bit = CLI_C_SERVE,
	    .kind = -1,
	    .own = serve_opts,
	    .n_own = sizeof(serve_opts) / sizeof(serve_opts[0]),
	    .usage = "serve [--port PORT] [--bind ADDR] [--key-file FILE] [--paths] "
		     "[options]",
	    .about = "The responder: one TCP port for control and data, the same UDP port "
		     "for datagram flows.\nIt serves tests one after another and several "
		     "clients at once, until SIGINT or SIGTERM.",
	    .dpdk = true};
	int first;
	cli_test_init(&a->t);
	nb_cfg_defaults(&a->t.cfg, NB_TEST_RR);
	int r = cli_parse(&cmd, argc, argv, &a->t, a, &first);
	if (!r && a->max_halves_given && !a->paths)
		return cli_usage_error("serve", "--max-halves is for --paths (the halves an agent builds)");
	return r;
}

/* --paths: only with a key and the privileges to build; the agent that builds the halves. */
static int serve_paths(struct serve_args *a, struct nb_agent *agent, struct nb_path_ops *ops)
{
	if (!a->paths)
		return 0;
	if (!a->t.key_file)
		return cli_usage_error("serve",
				       "--paths needs --key-file: only a client with the key may have "
				       "paths built on this host");
	if (!cli_has_net_admin()) {
		fprintf(stderr, "nbench serve: --paths needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)\n");
		return 2;
	}
	*agent = (struct nb_agent){.key_file = a->t.key_file, .port = a->sc.port};
	nb_agent_ops(agent, ops);
	a->sc.paths = ops;
	return 0;
}

/* Starts the engine, serves until Ctrl-C or --once, stops it. The exit status. */
static int serve_run(struct serve_args *a)
{
	const struct nb_engine_ops *ops = nb_engine_find(a->t.cfg.engine);
	struct nb_engine *eng = NULL;
	char err[256];
	int r;

	cli_catch_signals();
	if (ops && (r = nb_engine_start(ops, &a->t.cfg, &eng, err, sizeof(err))) < 0) {
		fprintf(stderr, "nbench serve: %s\n", err);
		return r == -EINVAL ? 2 : 1;
	}
	a->sc.engine = eng;
	r = nb_serve(&a->sc, cli_quit_flag(), err, sizeof(err));
	nb_engine_stop(eng);
	if (r < 0) {
		fprintf(stderr, "nbench serve: %s\n", err);
		return r == -EINVAL ? 2 : 1;
	}
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	struct serve_args a = {.sc = {.log = serve_log, .ready = serve_ready}};
	struct nb_agent agent;
	struct nb_path_ops path_ops;
	struct nb_key key;
	char err[256];
	int r;

	if ((r = serve_parse(argc, argv, &a)))
		return r == 1 ? 0 : r;
	a.sc.port = a.t.cfg.port;
	if ((r = serve_paths(&a, &agent, &path_ops)))
		return r;
	if (a.t.key_file) {
		if (nb_key_load(a.t.key_file, &key, err, sizeof(err)) < 0) {
			fprintf(stderr, "nbench serve: %s\n", err);
			return 2;
		}
		a.sc.key = &key;
	}
	a.sc.log_arg = a.t.quiet ? (void *)1 : NULL;
	r = serve_run(&a);
	if (a.sc.key)
		nb_key_wipe(&key);
	return r;
}
