/* SPDX-License-Identifier: MIT */
/* Option parsing for the test commands: every value checked, one line on error, exit status 2. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nbench/engine.h"
#include "nbench/units.h"

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "nbench %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

enum {
	O_WARMUP = 256,
	O_REVERSE,
	O_MSG,
	O_PROTO,
	O_DEPTH,
	O_RATE,
	O_UDP_TIMEOUT,
	O_CPU_GEN,
	O_CPU_RESP,
	O_SPIN,
	O_BUSY_POLL,
	O_NODELAY,
	O_NO_NODELAY,
	O_ENGINE,
	O_JSON,
	O_CSV,
	O_PATH,
	O_TOPO,
};

static const struct option test_opts[] = {
    {"host", required_argument, NULL, 'H'},
    {"port", required_argument, NULL, 'p'},
    {"time", required_argument, NULL, 't'},
    {"warmup", required_argument, NULL, O_WARMUP},
    {"interval", required_argument, NULL, 'i'},
    {"parallel", required_argument, NULL, 'P'},
    {"reverse", no_argument, NULL, O_REVERSE},
    {"msg-size", required_argument, NULL, O_MSG},
    {"proto", required_argument, NULL, O_PROTO},
    {"rr-size", required_argument, NULL, 'r'},
    {"depth", required_argument, NULL, O_DEPTH},
    {"rate", required_argument, NULL, O_RATE},
    {"udp-timeout", required_argument, NULL, O_UDP_TIMEOUT},
    {"cpu-gen", required_argument, NULL, O_CPU_GEN},
    {"cpu-resp", required_argument, NULL, O_CPU_RESP},
    {"spin", no_argument, NULL, O_SPIN},
    {"busy-poll", required_argument, NULL, O_BUSY_POLL},
    {"nodelay", no_argument, NULL, O_NODELAY},
    {"no-nodelay", no_argument, NULL, O_NO_NODELAY},
    {"engine", required_argument, NULL, O_ENGINE},
    {"json", no_argument, NULL, O_JSON},
    {"csv", no_argument, NULL, O_CSV},
    {"path", required_argument, NULL, O_PATH},
    {"topo", required_argument, NULL, O_TOPO},
    {"output", required_argument, NULL, 'o'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    CLI_DPDK_OPTIONS,
    {0},
};

static void test_help(const char *cmd)
{
	printf("usage: nbench %s (-H HOST | --path PATH | --topo NAME) [options]\n\n", cmd);
	printf(
	    "  -H, --host HOST        responder (`nbench serve`) to test against\n"
	    "  -p, --port PORT        its port (control, TCP and UDP data), default %u\n"
	    "      --path PATH        build PATH (loopback native host bridge nat virtio vhost vhost-user),\n"
	    "                         run, tear down\n"
	    "      --topo NAME        run across a path already up (`nbench topo up`)\n"
	    "  -t, --time SEC         measured duration (10)        --warmup SEC  discarded first part (0)\n"
	    "  -i, --interval SEC     interim lines (1; 0 = none)   -P, --parallel N  flows (1)\n"
	    "      --proto tcp|udp    protocol (tcp)                --engine sock     engine\n",
	    NB_DEFAULT_PORT);
	if (!strcmp(cmd, "stream"))
		printf(
		    "      --reverse          the responder sends, the generator receives\n"
		    "      --msg-size B       bytes per write (tcp 128K, udp 1472)\n"
		    "  -b, --rate R           pace to R payload bits/s in all (k, M, G, T; like iperf3 -b);\n"
		    "                         unpaced by default\n");
	else
		printf("  -r, --rr-size REQ,RESP request and response bytes (100,200)\n"
		       "      --depth N          transactions in flight per flow (1)\n"
		       "      --rate R           open loop at R transactions/s in all, latency from the "
		       "intended send\n"
		       "      --udp-timeout T    a UDP transaction unanswered this long is lost (200ms)\n"
		       "      --no-nodelay       leave Nagle on\n");
	printf(
	    "      --cpu-gen N        pin the generator's flows to CPU N\n"
	    "      --cpu-resp N       pin the responder's flows to CPU N (it is told over the control "
	    "connection)\n"
	    "      --spin             poll non-blocking sockets instead of sleeping (both sides)\n"
	    "      --busy-poll US     SO_BUSY_POLL on every data socket\n"
	    "      --json | --csv     report format (text)           -o FILE  also write the report to FILE\n"
	    "  -q, --quiet            no interim lines\n");
	printf(CLI_DPDK_HELP);
}

int cli_dpdk_opt(const char *cmd, int c, const char *arg, struct nb_test_cfg *cfg)
{
	static const char *const names[] = {"--dpdk-port", "--dpdk-args", "--dpdk-ip", "--dpdk-peer-mac"};
	char *dst[] = {cfg->dpdk_port, cfg->dpdk_args, cfg->dpdk_ip, cfg->dpdk_peer_mac};
	size_t len[] = {sizeof(cfg->dpdk_port), sizeof(cfg->dpdk_args), sizeof(cfg->dpdk_ip),
			sizeof(cfg->dpdk_peer_mac)};
	unsigned i = (unsigned)(c - CLI_O_DPDK);
	if (!arg[0] || strlen(arg) >= len[i])
		return cli_usage_error(cmd, "%s: '%s' is empty or too long", names[i], arg);
	snprintf(dst[i], len[i], "%s", arg);
	return 0;
}

int cli_dpdk_check(const char *cmd, const struct nb_test_cfg *cfg, bool given)
{
	const struct nb_engine_ops *e = nb_engine_find(cfg->engine);
	const char *missing = nb_engine_missing(cfg->engine);
	if (missing)
		return cli_usage_error(cmd, "--engine %s: %s", cfg->engine, missing);
	bool takes = e && e->caps->dpdk_opts;
	if (given && !takes)
		return cli_usage_error(cmd, "--dpdk-* options go with --engine dpdk");
	if (takes && (!cfg->dpdk_port[0] || !cfg->dpdk_ip[0]))
		return cli_usage_error(cmd,
				       "--engine %s needs --dpdk-port (a PCI address or a vdev such as "
				       "net_af_packet0,iface=veth0) and --dpdk-ip (the port's IPv4 address)",
				       cfg->engine);
	return 0;
}

/* What the engine of t runs: its protocols, tests, message sizes, and where its responder is. */
static int engine_check(const char *cmd, struct cli_test *t, enum nb_test_kind kind, bool proto_given)
{
	const struct nb_engine_ops *e = nb_engine_find(t->cfg.engine);
	if (!e)
		return 0; /* nb_run says the engine is not built in */
	const struct nb_engine_caps *c = e->caps;
	if (!(c->protos & NB_BIT(t->cfg.proto))) {
		/* the one protocol it runs is the default */
		enum nb_proto only = t->cfg.proto == NB_PROTO_TCP ? NB_PROTO_UDP : NB_PROTO_TCP;
		if (proto_given || !(c->protos & NB_BIT(only)))
			return cli_usage_error(cmd, "--engine %s runs %s tests (--proto %s)", t->cfg.engine,
					       only == NB_PROTO_UDP ? "UDP" : "TCP", nb_proto_name(only));
		t->cfg.proto = only;
	}
	if (!(c->tests & NB_BIT(kind))) {
		char tests[48];
		nb_engine_tests_str(c, tests, sizeof(tests));
		return cli_usage_error(cmd, "--engine %s runs %s%s", t->cfg.engine, tests,
				       c->protos & NB_BIT(NB_PROTO_TCP) ? "" : " (crr needs TCP)");
	}
	/* UDP to its own address, driven from this process: no path built here */
	if (c->own_addr && !t->host_given)
		return cli_usage_error(cmd, "--engine %s runs against -H HOST (a running `nbench serve`)",
				       t->cfg.engine);
	uint32_t max = c->max_msg_bytes;
	if (max && (t->cfg.msg_bytes > max || t->cfg.req_bytes > max || t->cfg.resp_bytes > max))
		return cli_usage_error(cmd, "--engine %s: datagrams are at most %u bytes (no fragmentation)",
				       t->cfg.engine, max);
	return 0;
}

static int bad(const char *cmd, const char *opt, const char *val, const char *what)
{
	return cli_usage_error(cmd, "%s: '%s' is not %s", opt, val, what);
}

int cli_parse_test(int argc, char **argv, struct cli_test *t)
{
	const char *cmd = argv[0];
	enum nb_test_kind kind;
	uint64_t u, a, b;
	int64_t ns;
	double d;
	int c, r;
	char err[256];
	bool msg_given = false, rr_given = false, depth_given = false, rate_given = false, rev_given = false;
	bool dpdk_given = false, proto_given = false;

	memset(t, 0, sizeof(*t));
	if (nb_test_kind_parse(cmd, &kind) < 0)
		return cli_usage_error(cmd, "unknown test");
	nb_cfg_defaults(&t->cfg, kind);
	size_t o = 0;
	for (int i = 0; i < argc && o < sizeof(t->cmdline); i++)
		o += (size_t)snprintf(t->cmdline + o, sizeof(t->cmdline) - o, "%s%s", i ? " " : "nbench ",
				      argv[i]);

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":H:p:t:i:P:r:o:b:qh", test_opts, NULL)) != -1) {
		const char *opt = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
		switch (c) {
		case 'H':
			if (!optarg[0] || strlen(optarg) >= sizeof(t->cfg.host))
				return cli_usage_error(cmd, "-H: a host name or address is needed");
			snprintf(t->cfg.host, sizeof(t->cfg.host), "%s", optarg);
			t->host_given = true;
			break;
		case 'p':
			if (nb_parse_uint(optarg, 1, 65535, &u) < 0)
				return bad(cmd, "--port", optarg, "a port number from 1 to 65535");
			t->cfg.port = (uint16_t)u;
			break;
		case 't':
			if (nb_parse_duration(optarg, &ns) < 0 || ns <= 0 || ns > NB_MAX_DURATION_NS)
				return bad(cmd, "-t", optarg, "a duration from 1ms to 86400 s");
			t->cfg.duration_ns = ns;
			break;
		case O_WARMUP:
			if (nb_parse_duration(optarg, &ns) < 0 || ns > NB_MAX_DURATION_NS)
				return bad(cmd, "--warmup", optarg, "a duration of 0 to 86400 s");
			t->cfg.warmup_ns = ns;
			break;
		case 'i':
			if (nb_parse_duration(optarg, &ns) < 0 || ns > NB_MAX_DURATION_NS)
				return bad(cmd, "-i", optarg, "an interval of 0 (none) to 86400 s");
			if (ns > 0 && ns < 10 * 1000000LL)
				return bad(cmd, "-i", optarg, "an interval of at least 10ms");
			t->cfg.interval_ns = ns;
			break;
		case 'P':
			if (nb_parse_uint(optarg, 1, NB_MAX_FLOWS, &u) < 0)
				return bad(cmd, "-P", optarg, "a number of flows from 1 to 256");
			t->cfg.flows = (unsigned)u;
			break;
		case O_REVERSE:
			t->cfg.reverse = true;
			rev_given = true;
			break;
		case O_MSG:
			if (nb_parse_bytes(optarg, &u) < 0 || u < 1 || u > NB_MAX_MSG_BYTES)
				return bad(cmd, "--msg-size", optarg, "a size from 1 byte to 64M");
			t->cfg.msg_bytes = (uint32_t)u;
			msg_given = true;
			break;
		case O_PROTO:
			if (nb_proto_parse(optarg, &t->cfg.proto) < 0)
				return bad(cmd, "--proto", optarg, "tcp or udp");
			proto_given = true;
			break;
		case 'r':
			if (nb_parse_size_pair(optarg, &a, &b) < 0 || a < 1 || b < 1 ||
			    a > NB_MAX_MSG_BYTES || b > NB_MAX_MSG_BYTES)
				return bad(cmd, "-r", optarg, "REQ,RESP sizes from 1 byte to 64M");
			t->cfg.req_bytes = (uint32_t)a;
			t->cfg.resp_bytes = (uint32_t)b;
			rr_given = true;
			break;
		case O_DEPTH:
			if (nb_parse_uint(optarg, 1, NB_MAX_DEPTH, &u) < 0)
				return bad(cmd, "--depth", optarg, "a number from 1 to 4096");
			t->cfg.depth = (unsigned)u;
			depth_given = true;
			break;
		case 'b':
			if (kind != NB_TEST_STREAM)
				return cli_usage_error(cmd, "-b is for nbench stream (rr's rate is --rate)");
			/* -b is stream --rate, as in iperf3 */
			__attribute__((fallthrough));
		case O_RATE:
			if (kind == NB_TEST_STREAM) {
				if (nb_parse_rate(optarg, &d) < 0 || d <= 0 || d > NB_MAX_RATE_BPS)
					return bad(cmd, c == 'b' ? "-b" : "--rate", optarg,
						   "a rate in bits/s above 0 and at most 10T (k, M, G, T)");
				t->cfg.rate_bps = d;
				break;
			}
			if (nb_parse_rate(optarg, &d) < 0 || d <= 0 || d > 1e9)
				return bad(cmd, "--rate", optarg,
					   "a rate above 0 and at most 1G transactions/s");
			t->cfg.rate_tps = d;
			rate_given = true;
			break;
		case O_UDP_TIMEOUT:
			if (nb_parse_duration(optarg, &ns) < 0 || ns < 1000000LL || ns > 60 * 1000000000LL)
				return bad(cmd, "--udp-timeout", optarg, "a timeout from 1ms to 60 s");
			t->cfg.udp_timeout_ns = ns;
			break;
		case O_CPU_GEN:
		case O_CPU_RESP:
			if (nb_parse_uint(optarg, 0, 1023, &u) < 0)
				return bad(cmd, c == O_CPU_GEN ? "--cpu-gen" : "--cpu-resp", optarg,
					   "a CPU number");
			if (c == O_CPU_GEN)
				t->cfg.cpu_gen = (int)u;
			else
				t->cfg.cpu_resp = (int)u;
			break;
		case O_SPIN:
			t->cfg.wait = NB_WAIT_SPIN;
			break;
		case O_BUSY_POLL:
			if (nb_parse_uint(optarg, 0, 1000000, &u) < 0)
				return bad(cmd, "--busy-poll", optarg, "microseconds from 0 to 1000000");
			t->cfg.busy_poll_us = (int)u;
			break;
		case O_NODELAY:
			t->cfg.nodelay = true;
			break;
		case O_NO_NODELAY:
			t->cfg.nodelay = false;
			break;
		case O_ENGINE:
			if (strlen(optarg) >= sizeof(t->cfg.engine))
				return bad(cmd, "--engine", optarg, "an engine name");
			snprintf(t->cfg.engine, sizeof(t->cfg.engine), "%s", optarg);
			break;
		case O_JSON:
			t->format = CLI_JSON;
			break;
		case O_CSV:
			t->format = CLI_CSV;
			break;
		case O_PATH:
			t->path = optarg;
			break;
		case O_TOPO:
			t->topo = optarg;
			break;
		case 'o':
			t->output = optarg;
			break;
		case 'q':
			t->quiet = true;
			break;
		case CLI_O_DPDK + 0:
		case CLI_O_DPDK + 1:
		case CLI_O_DPDK + 2:
		case CLI_O_DPDK + 3:
			if (cli_dpdk_opt(cmd, c, optarg, &t->cfg))
				return 2;
			dpdk_given = true;
			break;
		case 'h':
			test_help(cmd);
			return 1;
		case ':':
			return cli_usage_error(cmd, "%s needs a value", opt);
		default:
			return cli_usage_error(cmd, "unknown option '%s' (see nbench %s --help)", opt, cmd);
		}
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s' (see nbench %s --help)", argv[optind],
				       cmd);
	if (kind != NB_TEST_STREAM && (msg_given || rev_given))
		return cli_usage_error(cmd, "%s is for nbench stream",
				       msg_given ? "--msg-size" : "--reverse");
	if (kind == NB_TEST_STREAM && (rr_given || depth_given))
		return cli_usage_error(cmd, "%s is for nbench rr", rr_given ? "-r" : "--depth");
	if (kind == NB_TEST_CRR && (depth_given || rate_given))
		return cli_usage_error(cmd, "%s is for nbench rr", depth_given ? "--depth" : "--rate");
	int where = !!t->host_given + !!t->path + !!t->topo;
	if (where == 0)
		return cli_usage_error(cmd,
				       "say where the responder is: -H HOST, --path PATH or --topo NAME");
	if (where > 1)
		return cli_usage_error(cmd, "-H, --path and --topo exclude each other");
	if ((r = cli_dpdk_check(cmd, &t->cfg, dpdk_given)))
		return r;
	if ((r = engine_check(cmd, t, kind, proto_given)))
		return r;
	nb_cfg_resolve(&t->cfg);
	if ((r = nb_cfg_check(&t->cfg, err, sizeof(err))) < 0)
		return cli_usage_error(cmd, "%s", err);
	return 0;
}
