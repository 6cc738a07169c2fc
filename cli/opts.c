/* SPDX-License-Identifier: MIT */
/*
 * Option parsing for every command (cli.h): every value checked, one line on error, exit status 2. One table
 * lists each option the commands share once (name, argument, the commands that take it, limits, help line);
 * a command's own options are rows of the same kind in its own file. The getopt entries, the checks, their
 * messages and the tests' --help all come from the rows, so an option is parsed one way wherever it is taken.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nbench/clock.h"
#include "nbench/engine.h"
#include "nbench/hops.h"
#include "nbench/pathcap.h"
#include "nbench/topo.h"
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

#define STR_(x) #x
#define STR(x)	STR_(x)
#define MS	(1000LL * 1000)
#define S	(1000LL * MS)

int cli_parse_hops(void *base, const char *arg)
{
	struct cli_test *t = base;
	t->hops = true;
	if (arg && nb_hops_parse_backend(arg, &t->hops_backend) < 0)
		return cli_usage_error(nb_test_kind_name(t->cfg.kind),
				       "--hops: '%s' is not ebpf, pcap or auto", arg);
	return 0;
}

/* The order is --help's. */
static const struct cli_opt shared_opts[] = {
    {"host", 'H', "HOST", CLI_C_TESTS | CLI_C_THROUGHPUT, 0, CLI_OT_STRING,
     CLI_FIELD(struct cli_test, cfg.host), .what = "a host name or address",
     .help = "the responder (`nbench serve`) to test against; with --path, the agent\n(`nbench serve "
	     "--paths`) that builds the path's server half there"},
    {"port", 'p', "PORT", CLI_C_TESTS | CLI_C_THROUGHPUT, 0, CLI_OT_UINT,
     CLI_FIELD(struct cli_test, cfg.port), .lo = 1, .hi = UINT16_MAX, .what = "a port number",
     .label = "--port", /* not "-p": -P is the flows */
     .help = "its port (control, TCP and UDP data); with --path, the port the path's\nresponder "
	     "listens on",
     .dflt = STR(NB_DEFAULT_PORT)},
    {"data-host", 0, "ADDR", CLI_C_TESTS | CLI_C_THROUGHPUT, 0, CLI_OT_ARG,
     CLI_FIELD(struct cli_test, data_host),
     .help = "-H: send the data to ADDR when the responder names it as its data address\n(a DPDK "
	     "responder's --dpdk-ip); by default data goes only where -H went"},
    {"key-file", 0, "FILE", CLI_C_TESTS | CLI_C_THROUGHPUT, 0, CLI_OT_ARG,
     CLI_FIELD(struct cli_test, key_file),
     .help = "the shared key (`nbench key gen`) of a responder or agent run with\n--key-file",
     .dflt = "$NBENCH_KEY_FILE"},
    {"path", 0, "PATH", CLI_C_TESTS | CLI_C_THROUGHPUT, 0, CLI_OT_ARG, CLI_FIELD(struct cli_test, path),
     .help = "build PATH (%s),\nrun across it, tear it down (root)", .help_list = nb_topo_kinds_join},
    {"topo", 0, "NAME", CLI_C_TESTS | CLI_C_SWEEP | CLI_C_THROUGHPUT, 0, CLI_OT_ARG,
     CLI_FIELD(struct cli_test, topo),
     .help = "run across a path already up (`nbench topo up`), leaving it up"},
    {"wire", 0, "IF_A,IF_B", CLI_C_TESTS | CLI_C_COMPARE | CLI_C_THROUGHPUT, 0, CLI_OT_ARG,
     CLI_FIELD(struct cli_test, wire.ifs),
     .help = "two ports of this host as the wire of the paths built here, instead of\na veth pair: "
	     "IF_A the server's side, IF_B the client's (restored after)"},
    {"wire-rate", 0, "R", CLI_C_TESTS | CLI_C_COMPARE | CLI_C_THROUGHPUT, 0, CLI_OT_RATE,
     CLI_FIELD(struct cli_test, wire.rate_bps), .lo = 0, .hi = 100000000000LL, .what = "a rate in bits/s",
     .unit = " (k, M, G)", .help = "shape the wire of the paths built here to R bits/s each way (tbf)"},
    {"force", 0, NULL, CLI_C_TESTS | CLI_C_COMPARE | CLI_C_THROUGHPUT, 0, CLI_OT_SET,
     CLI_FIELD(struct cli_test, wire.force), .lo = 1, .help = "--wire: take ports that fail the checks"},
    {"time", 't', "SEC", CLI_C_TESTS, 0, CLI_OT_DURATION, CLI_FIELD(struct cli_test, cfg.duration_ns),
     .lo = MS, .hi = NB_MAX_DURATION_NS, .what = "a duration", .help = "measured duration", .dflt = "10"},
    {"warmup", 0, "SEC", CLI_C_TESTS, 0, CLI_OT_DURATION, CLI_FIELD(struct cli_test, cfg.warmup_ns), .lo = 0,
     .hi = NB_MAX_DURATION_NS, .what = "a duration", .help = "a first part of the run, discarded",
     .dflt = "0"},
    {"interval", 'i', "SEC", CLI_C_TESTS, 0, CLI_OT_DURATION, CLI_FIELD(struct cli_test, cfg.interval_ns),
     .lo = 10 * MS, .hi = NB_MAX_DURATION_NS, .zero_ok = true, .what = "an interval",
     .help = "an interim line every SEC (0: none)", .dflt = "1"},
    {"parallel", 'P', "N", CLI_C_TESTS | CLI_C_THROUGHPUT, 0, CLI_OT_UINT,
     CLI_FIELD(struct cli_test, cfg.flows), .lo = 1, .hi = NB_MAX_FLOWS, .what = "a number of flows",
     .help = "flows", .dflt = "1"},
    /* crr takes only tcp, and says why (nb_cfg_check): its --help does not offer the choice */
    {"proto", 0, "tcp|udp", CLI_C_TESTS, CLI_C_STREAM | CLI_C_RR, CLI_OT_PROTO,
     CLI_FIELD(struct cli_test, cfg.proto), .what = "tcp or udp", .help = "protocol", .dflt = "tcp"},
    {"engine", 0, "NAME", CLI_C_TESTS | CLI_C_THROUGHPUT, 0, CLI_OT_STRING,
     CLI_FIELD(struct cli_test, cfg.engine), .what = "an engine name",
     .help = "sock (kernel sockets) or dpdk (kernel bypass, UDP; needs --dpdk-port\nand --dpdk-ip)",
     .dflt = "sock"},
    {"dpdk-port", 0, "PORT", CLI_C_TESTS | CLI_C_THROUGHPUT | CLI_C_SERVE, 0, CLI_OT_STRING,
     CLI_FIELD(struct cli_test, cfg.dpdk_port), .what = "a PCI address or a DPDK virtual device",
     .help = "--engine dpdk: a PCI address or a virtual device: net_af_packet0,iface=IF,\nnet_af_xdp, "
	     "net_tap, net_memif, net_virtio_user"},
    {"dpdk-ip", 0, "A.B.C.D", CLI_C_TESTS | CLI_C_THROUGHPUT | CLI_C_SERVE, 0, CLI_OT_STRING,
     CLI_FIELD(struct cli_test, cfg.dpdk_ip), .what = "an IPv4 address",
     .help = "--engine dpdk: the port's IPv4 address (nbench answers ARP for it)"},
    {"dpdk-peer-mac", 0, "MAC", CLI_C_TESTS | CLI_C_THROUGHPUT | CLI_C_SERVE, 0, CLI_OT_STRING,
     CLI_FIELD(struct cli_test, cfg.dpdk_peer_mac), .what = "a MAC address",
     .help = "--engine dpdk: the peer's MAC address, instead of resolving it by ARP"},
    {"dpdk-args", 0, "ARGS", CLI_C_TESTS | CLI_C_THROUGHPUT | CLI_C_SERVE, 0, CLI_OT_STRING,
     CLI_FIELD(struct cli_test, cfg.dpdk_args), .what = "EAL arguments",
     .help = "--engine dpdk: more EAL arguments, as one (quoted) argument"},
    {"reverse", 0, NULL, CLI_C_STREAM, 0, CLI_OT_SET, CLI_FIELD(struct cli_test, cfg.reverse), .lo = 1,
     .help = "the responder sends, the generator receives"},
    {"msg-size", 0, "B", CLI_C_STREAM, 0, CLI_OT_BYTES, CLI_FIELD(struct cli_test, cfg.msg_bytes), .lo = 1,
     .hi = NB_MAX_MSG_BYTES, .what = "a size", .help = "bytes per write", .dflt = "tcp 128K, udp 1472"},
    {"rate", 'b', "R", CLI_C_STREAM, 0, CLI_OT_RATE, CLI_FIELD(struct cli_test, cfg.rate_bps), .lo = 0,
     .hi = (int64_t)NB_MAX_RATE_BPS, .what = "a rate in bits/s", .unit = " (k, M, G, T)",
     .help = "pace to R payload bits/s in all (k, M, G, T; like iperf3 -b);\nunpaced by default"},
    {"rr-size", 'r', "REQ,RESP", CLI_C_RR | CLI_C_CRR, 0, CLI_OT_PAIR,
     CLI_FIELD(struct cli_test, cfg.req_bytes), .off2 = offsetof(struct cli_test, cfg.resp_bytes), .lo = 1,
     .hi = NB_MAX_MSG_BYTES, .what = "REQ,RESP sizes", .help = "request and response bytes",
     .dflt = "100,200"},
    {"depth", 0, "N", CLI_C_RR, 0, CLI_OT_UINT, CLI_FIELD(struct cli_test, cfg.depth), .lo = 1,
     .hi = NB_MAX_DEPTH, .what = "a number",
     .help = "transactions in flight per flow (with --rate: at most that many)", .dflt = "1"},
    {"rate", 0, "R", CLI_C_RR, 0, CLI_OT_RATE, CLI_FIELD(struct cli_test, cfg.rate_tps), .lo = 0,
     .hi = 1000 * 1000 * 1000, .what = "a rate", .unit = " transactions/s",
     .help = "open loop at R transactions/s in all, latency from the intended send;\nclosed loop by "
	     "default"},
    {"load", 0, "R", CLI_C_RR, 0, CLI_OT_RATE, CLI_FIELD(struct cli_test, load_bps), .lo = 0,
     .hi = (int64_t)NB_MAX_RATE_BPS, .what = "a rate in bits/s", .unit = " (k, M, G, T)",
     .help = "latency under load: a stream paced to R payload bits/s beside the\nprobe (open loop, --rate "
	     "or 1000/s), after the same probe idle"},
    {"load-proto", 0, "tcp|udp", CLI_C_RR, 0, CLI_OT_PROTO, CLI_FIELD(struct cli_test, load_proto),
     .what = "tcp or udp", .help = "--load's protocol", .dflt = "udp"},
    /* throughput's --latency probe is a UDP rr */
    {"udp-timeout", 0, "T", CLI_C_RR | CLI_C_THROUGHPUT, 0, CLI_OT_DURATION,
     CLI_FIELD(struct cli_test, cfg.udp_timeout_ns), .lo = MS, .hi = 60 * S, .what = "a timeout",
     .help = "a UDP transaction (rr --proto udp, throughput's --latency probe)\nunanswered this long "
	     "is lost",
     .dflt = "200ms"},
    {"nodelay", 0, NULL, CLI_C_TESTS, 0, CLI_OT_SET, CLI_FIELD(struct cli_test, cfg.nodelay), .lo = 1,
     .help = "TCP_NODELAY on the data sockets (rr's and crr's default)"},
    {"no-nodelay", 0, NULL, CLI_C_RR | CLI_C_CRR, 0, CLI_OT_SET, CLI_FIELD(struct cli_test, cfg.nodelay),
     .lo = 0, .help = "leave Nagle on (stream's default)"},
    {"cpu-gen", 0, "N", CLI_C_TESTS | CLI_C_THROUGHPUT, 0, CLI_OT_UINT,
     CLI_FIELD(struct cli_test, cfg.cpu_gen), .lo = 0, .hi = CPU_SETSIZE - 1, .what = "a CPU number",
     .help = "pin the generator's flows to CPU N"},
    {"cpu-resp", 0, "N", CLI_C_TESTS | CLI_C_THROUGHPUT, 0, CLI_OT_UINT,
     CLI_FIELD(struct cli_test, cfg.cpu_resp), .lo = 0, .hi = CPU_SETSIZE - 1, .what = "a CPU number",
     .help = "pin the responder's flows to CPU N (it is told over the control\nconnection)"},
    {"spin", 0, NULL, CLI_C_TESTS | CLI_C_THROUGHPUT, 0, CLI_OT_SET, CLI_FIELD(struct cli_test, cfg.wait),
     .lo = NB_WAIT_SPIN, .help = "poll non-blocking sockets instead of sleeping (both sides)"},
    {"busy-poll", 0, "US", CLI_C_TESTS | CLI_C_THROUGHPUT, 0, CLI_OT_UINT,
     CLI_FIELD(struct cli_test, cfg.busy_poll_us), .lo = 0, .hi = NB_MAX_BUSY_POLL_US, .what = "microseconds",
     .help = "SO_BUSY_POLL of US microseconds on every data socket"},
    {"hops", 0, "B", CLI_C_RR | CLI_C_CRR, 0, CLI_OT_FN, .parse = cli_parse_hops, .opt_arg = true,
     .help = "with --path/--topo: split each round trip into hops, with timestamps\ntaken on every "
	     "interface of the path and at both sockets; B: ebpf\n(kernel probes, the default where BPF may "
	     "run), pcap (libpcap on every\ninterface; rr only), auto. Also runs without them: their "
	     "overhead"},
    {"capture", 0, "FILE", CLI_C_TESTS | CLI_C_COMPARE, 0, CLI_OT_ARG,
     CLI_FIELD(struct cli_test, pathcap.file),
     .help = "with --path/--topo: the test's packets on every interface of the path\ninto FILE (pcapng, "
	     "for tshark and Wireshark; the figures then include\nthe capture's cost; compare: FILE's stem "
	     "and each run's names)"},
    {"capture-snap", 0, "B", CLI_C_TESTS | CLI_C_COMPARE, 0, CLI_OT_BYTES,
     CLI_FIELD(struct cli_test, pathcap.snap_bytes), .lo = NB_PATHCAP_SNAP_MIN, .hi = NB_PATHCAP_SNAP_MAX,
     .what = "a snap length", .help = "--capture: bytes kept per packet", .dflt = "256"},
    {"capture-max", 0, "SIZE", CLI_C_TESTS | CLI_C_COMPARE, 0, CLI_OT_BYTES,
     CLI_FIELD(struct cli_test, pathcap.max_bytes), .lo = NB_PATHCAP_MAX_MIN, .hi = 1LL << 40,
     .what = "a file size",
     .help = "--capture: the file's size cap; packets past it are counted, not\nwritten", .dflt = "64M"},
    {"json", 0, NULL, CLI_C_TESTS | CLI_C_COMPARE | CLI_C_SWEEP | CLI_C_THROUGHPUT | CLI_C_DIFF, 0,
     CLI_OT_SET, CLI_FIELD(struct cli_test, format), .lo = CLI_JSON, .help = "JSON report (default: text)"},
    {"csv", 0, NULL, CLI_C_TESTS | CLI_C_COMPARE | CLI_C_SWEEP | CLI_C_THROUGHPUT | CLI_C_DIFF, 0, CLI_OT_SET,
     CLI_FIELD(struct cli_test, format), .lo = CLI_CSV, .help = "CSV report: a header and the rows"},
    {"output", 'o', "FILE", CLI_C_TESTS | CLI_C_COMPARE | CLI_C_SWEEP | CLI_C_THROUGHPUT, 0, CLI_OT_ARG,
     CLI_FIELD(struct cli_test, output), .help = "also write the report to FILE"},
    {"quiet", 'q', NULL, CLI_C_TESTS | CLI_C_COMPARE | CLI_C_SWEEP | CLI_C_THROUGHPUT, 0, CLI_OT_SET,
     CLI_FIELD(struct cli_test, quiet), .lo = 1, .help = "no interim or progress lines: the report only"},
    {"nic-counters", 'v', NULL, CLI_C_TESTS, 0, CLI_OT_SET, CLI_FIELD(struct cli_test, nic_counters), .lo = 1,
     .help = "text: every counter that changed on each interface (default: one line\nwith traffic, drops "
	     "and errors)"},
    {"hist-out", 0, "FILE", CLI_C_RR | CLI_C_CRR, 0, CLI_OT_ARG, CLI_FIELD(struct cli_test, hist_out),
     .help = "write the latency distribution to FILE: HdrHistogram's percentile\ndistribution, values in "
	     "microseconds"},
    {"baseline", 0, "FILE", CLI_C_TESTS | CLI_C_COMPARE | CLI_C_THROUGHPUT, 0, CLI_OT_ARG,
     CLI_FIELD(struct cli_test, baseline),
     .help = "after the run, exit 1 when a metric is worse than FILE's by more than\n--tolerance beyond "
	     "its interval (nbench diff)"},
    {"tolerance", 0, "PCT", CLI_C_TESTS | CLI_C_COMPARE | CLI_C_THROUGHPUT, 0, CLI_OT_ARG,
     CLI_FIELD(struct cli_test, tolerance), .help = "--baseline: how much worse a metric may be",
     .dflt = "5%"},
};
#define N_OPTS	  (sizeof(shared_opts) / sizeof(shared_opts[0]))
#define MAX_OWN	  32
#define MAX_GIVEN 64 /* options a command line may give; more is an error */
#define O_HELP	  'h'
#define O_ROW	  2000 /* getopt value of shared_opts[i]: O_ROW + i */
#define O_OWN	  3000 /* of a command's own row j: O_OWN + j */

_Static_assert(N_OPTS < 500 && MAX_OWN < 500, "getopt values overlap");

/* One parse under way: where the values go, and which options were given, as the user wrote them (for the
 * messages about options together). */
struct parse_state {
	const struct cli_cmd *cmd;
	struct cli_test *t;
	void *own;
	bool proto_given;
	unsigned ngiven;
	struct {
		const char *name; /* the row's long name */
		char typed[40];	  /* "-H", "--host" */
	} given[MAX_GIVEN];
};

/* The rows getopt is told of: the command's, and for a test every test's (so that another test's option is
 * named as such rather than unknown). */
static bool in_family(const struct cli_cmd *cmd, const struct cli_opt *o)
{
	return (o->cmds & cmd->bit) || (cmd->kind >= 0 && (o->cmds & CLI_C_TESTS));
}

/* An own row of cmd has this long name: it takes the shared rows' place. */
static bool own_named(const struct cli_cmd *cmd, const char *name)
{
	for (unsigned j = 0; j < cmd->n_own; j++)
		if (!strcmp(cmd->own[j].name, name))
			return true;
	return false;
}

/* ---- --help ---- */

#define FLAG_COLS 22  /* the option column; a longer one puts its text on the next line */
#define HELP_COLS 100 /* the widest line: a default that would go past it goes on its own */

/* One option: "  -H, --host HOST        text", a '\n' in the text continuing under it, then the default. */
static void print_opt_help(const struct cli_opt *o)
{
	char flag[64], text[512], list[256];
	snprintf(flag, sizeof(flag), "%c%c%c --%s%s%s%s", o->short_name ? '-' : ' ',
		 o->short_name ? o->short_name : ' ', o->short_name ? ',' : ' ', o->name,
		 o->opt_arg ? "[="
		 : o->arg   ? " "
			    : "",
		 o->arg ? o->arg : "", o->opt_arg ? "]" : "");
	if (strlen(flag) > FLAG_COLS)
		printf("  %s\n  %-*s ", flag, FLAG_COLS, "");
	else
		printf("  %-*s ", FLAG_COLS, flag);
	if (o->help_list)
		snprintf(text, sizeof(text), o->help, o->help_list(list, sizeof(list), ", "));
	size_t col = FLAG_COLS + 3; /* of the line being printed */
	for (const char *h = o->help_list ? text : o->help ? o->help : ""; *h; h++, col++) {
		putchar(*h);
		if (*h == '\n')
			col = (size_t)printf("%*s", FLAG_COLS + 3, "") - 1;
	}
	if (o->dflt && col + strlen(o->dflt) + 12 > HELP_COLS)
		printf("\n%*s[default: %s]", FLAG_COLS + 3, "", o->dflt);
	else if (o->dflt)
		printf(" [default: %s]", o->dflt);
	putchar('\n');
}

/* Whether --help lists shared row o for cmd: one it takes (or shows), not replaced by an own row. */
static bool listed(const struct cli_cmd *cmd, const struct cli_opt *o)
{
	return o->help && ((o->shown ? o->shown : o->cmds) & cmd->bit) && !own_named(cmd, o->name);
}

void cli_help(const struct cli_cmd *cmd)
{
	/* a '\n' starts another usage line; followed by spaces, it continues this one, as indented */
	printf("usage: nbench ");
	for (const char *u = cmd->usage; *u; u++) {
		putchar(*u);
		if (*u == '\n' && u[1] != ' ')
			printf("       nbench ");
	}
	printf("\n\n");
	if (cmd->about)
		printf("%s\n\n", cmd->about);
	printf("options:\n");
	for (unsigned j = 0; j < cmd->n_own; j++)
		if (cmd->own[j].help)
			print_opt_help(&cmd->own[j]);
	for (size_t i = 0; i < N_OPTS; i++)
		if (listed(cmd, &shared_opts[i]))
			print_opt_help(&shared_opts[i]);
	print_opt_help(&(struct cli_opt){"help", 'h', NULL, 0, .help = "this help"});
	if (cmd->more) {
		putchar('\n');
		cmd->more();
	}
}

/* ---- getopt ---- */

static void add_short(const struct cli_opt *o, char *shorts, size_t *s, size_t len)
{
	if (o->short_name && *s + 2 < len) {
		shorts[(*s)++] = o->short_name;
		if (o->arg)
			shorts[(*s)++] = ':';
	}
}

/* getopt's has_arg of a row. */
static int has_arg(const struct cli_opt *o)
{
	return o->opt_arg ? optional_argument : o->arg ? required_argument : no_argument;
}

/* The getopt tables: the command's own rows, then each shared long name of its family once (the first row
 * that has it, unless an own row has it), then --help. */
static void getopt_tables(const struct cli_cmd *cmd, struct option *longs, char *shorts, size_t shorts_len)
{
	size_t n = 0, s = 0;
	shorts[s++] = ':';
	shorts[s++] = O_HELP;
	for (unsigned j = 0; j < cmd->n_own; j++) {
		const struct cli_opt *o = &cmd->own[j];
		longs[n++] = (struct option){o->name, has_arg(o), NULL, O_OWN + (int)j};
		add_short(o, shorts, &s, shorts_len);
	}
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct cli_opt *o = &shared_opts[i];
		bool seen = own_named(cmd, o->name);
		if (!in_family(cmd, o) || seen)
			continue;
		for (size_t j = 0; j < i; j++)
			seen |= in_family(cmd, &shared_opts[j]) && !strcmp(shared_opts[j].name, o->name);
		if (!seen)
			longs[n++] = (struct option){o->name, has_arg(o), NULL, O_ROW + (int)i};
		add_short(o, shorts, &s, shorts_len);
	}
	longs[n++] = (struct option){"help", no_argument, NULL, O_HELP};
	longs[n] = (struct option){0};
	shorts[s] = '\0';
}

/* ---- one option ---- */

/* A limit as the user would write it: "64M", "10T", "86400 s", "10ms". */
static const char *fmt_limit(enum cli_opt_type type, int64_t v, char *buf, size_t len)
{
	int64_t base = type == CLI_OT_BYTES || type == CLI_OT_PAIR ? 1024 : 1000;
	const char *sfx = base == 1024 ? "KMGT" : "kMGT";
	int e = 0;
	if (type == CLI_OT_DURATION) {
		if (v == 0)
			snprintf(buf, len, "0");
		else if (v % S)
			snprintf(buf, len, "%lldms", (long long)(v / MS));
		else
			snprintf(buf, len, "%lld s", (long long)(v / S));
		return buf;
	}
	if (type == CLI_OT_UINT)
		return snprintf(buf, len, "%lld", (long long)v), buf;
	if (base == 1024 && v == 1)
		return snprintf(buf, len, "1 byte"), buf;
	while (e < 4 && v >= base && v % base == 0)
		v /= base, e++;
	snprintf(buf, len, "%lld%.*s", (long long)v, e ? 1 : 0, e ? &sfx[e - 1] : "");
	return buf;
}

static void store_int(void *base, size_t off, size_t size, int64_t v)
{
	char *p = (char *)base + off;
	switch (size) {
	case 1:
		*(bool *)p = v != 0;
		break;
	case 2:
		*(uint16_t *)p = (uint16_t)v;
		break;
	case 4:
		*(int32_t *)p = (int32_t)v;
		break;
	default:
		*(int64_t *)p = v;
		break;
	}
}

/* "<label>: '<arg>' is not <what> from <lo> to <hi>", the limits as the table states them. */
static int out_of_range(const char *cmd, const char *label, const char *arg, const struct cli_opt *o)
{
	char lo[32], hi[32];
	fmt_limit(o->type, o->lo, lo, sizeof(lo));
	fmt_limit(o->type, o->hi, hi, sizeof(hi));
	if (o->type == CLI_OT_RATE)
		return cli_usage_error(cmd, "%s: '%s' is not %s above %s and at most %s%s", label, arg,
				       o->what, lo, hi, o->unit ? o->unit : "");
	return cli_usage_error(cmd, "%s: '%s' is not %s %s%s to %s", label, arg, o->what,
			       o->zero_ok ? "of 0 (none) or from " : "from ", lo, hi);
}

/* A number read as o says (an integer, a duration, a byte size, a rate) into base. 0, or 2 after the error.
 */
static int apply_number(const char *cmd, const char *label, const struct cli_opt *o, const char *arg,
			void *base)
{
	uint64_t u, u2;
	int64_t ns;
	double d;
	bool ok;

	switch (o->type) {
	case CLI_OT_UINT:
		ok = nb_parse_uint(arg, (uint64_t)o->lo, (uint64_t)o->hi, &u) == 0;
		ns = (int64_t)u;
		break;
	case CLI_OT_BYTES:
		ok = nb_parse_bytes(arg, &u) == 0 && u >= (uint64_t)o->lo && u <= (uint64_t)o->hi;
		ns = (int64_t)u;
		break;
	case CLI_OT_PAIR:
		ok = nb_parse_size_pair(arg, &u, &u2) == 0 && u >= (uint64_t)o->lo && u2 >= (uint64_t)o->lo &&
		     u <= (uint64_t)o->hi && u2 <= (uint64_t)o->hi;
		if (ok)
			store_int(base, o->off2, o->size, (int64_t)u2);
		ns = (int64_t)u;
		break;
	case CLI_OT_DURATION:
		ok = nb_parse_duration(arg, &ns) == 0 && ns <= o->hi &&
		     (ns >= o->lo || (o->zero_ok && ns == 0));
		break;
	default: /* CLI_OT_RATE */
		ok = nb_parse_rate(arg, &d) == 0 && d > (double)o->lo && d <= (double)o->hi;
		if (ok)
			*(double *)((char *)base + o->off) = d;
		return ok ? 0 : out_of_range(cmd, label, arg, o);
	}
	if (!ok)
		return out_of_range(cmd, label, arg, o);
	store_int(base, o->off, o->size, ns);
	return 0;
}

/* Reads arg as o says into base (t for the shared rows, the command's own struct for its rows). 0, or 2 after
 * the error. */
static int apply_opt(const char *cmd, const char *label, const struct cli_opt *o, const char *arg, void *base)
{
	char *field = (char *)base + o->off;

	switch (o->type) {
	case CLI_OT_SET:
		store_int(base, o->off, o->size, o->lo);
		return 0;
	case CLI_OT_ARG:
		*(const char **)field = arg;
		return 0;
	case CLI_OT_STRING:
		if (!arg[0] || strlen(arg) >= o->size)
			return cli_usage_error(cmd, "%s: '%s' is not %s", label, arg, o->what);
		snprintf(field, o->size, "%s", arg);
		return 0;
	case CLI_OT_PROTO:
		if (nb_proto_parse(arg, (enum nb_proto *)field) < 0)
			return cli_usage_error(cmd, "%s: '%s' is not %s", label, arg, o->what);
		return 0;
	case CLI_OT_FN:
		return o->parse(base, arg);
	default:
		return apply_number(cmd, label, o, arg, base);
	}
}

static void kind_list(unsigned kinds, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	for (int k = NB_TEST_STREAM; k <= NB_TEST_CRR; k++)
		if (kinds & (1u << k))
			n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? " and " : "",
					      nb_test_kind_name((enum nb_test_kind)k));
}

/* Row i of the shared table is not the command's: another row of its name may be (a long name may have one
 * row per test: --rate); else the error that says whose it is. */
static int other_row(const struct parse_state *ps, size_t i, bool typed_long, const char *typed,
		     const struct cli_opt **ret)
{
	const struct cli_cmd *cmd = ps->cmd;
	const struct cli_opt *o = &shared_opts[i], *other = NULL;
	unsigned kinds = 0;
	for (size_t j = 0; j < N_OPTS; j++)
		if (!strcmp(shared_opts[j].name, o->name)) {
			kinds |= shared_opts[j].cmds;
			if (shared_opts[j].cmds & cmd->bit)
				other = &shared_opts[j];
		}
	if (other && typed_long)
		return *ret = other, 0;
	if (cmd->refused && (o->cmds & CLI_C_STREAM))
		return cli_usage_error(cmd->name, "%s %s", typed, cmd->refused);
	char kl[64];
	kind_list((typed_long ? kinds : o->cmds) & CLI_C_TESTS, kl, sizeof(kl));
	if (other) /* the short form of another test's option */
		return cli_usage_error(cmd->name, "-%c is for nbench %s (%s's %s is --%s)", o->short_name, kl,
				       nb_test_kind_name(cmd->kind), o->name, o->name);
	if (typed_long)
		return cli_usage_error(cmd->name, "--%s is for nbench %s", o->name, kl);
	return cli_usage_error(cmd->name, "-%c is for nbench %s", o->short_name, kl);
}

/* The row of what getopt_long returned (a long option's value, or a short letter): *ret_own tells whether
 * it is the command's own. NULL when there is none. */
static const struct cli_opt *row_of(const struct cli_cmd *cmd, int c, bool *ret_own, size_t *ret_i)
{
	*ret_own = c >= O_OWN || (c < O_ROW && c > 0);
	if (c >= O_OWN)
		return &cmd->own[c - O_OWN];
	if (c >= O_ROW)
		return *ret_i = (size_t)(c - O_ROW), &shared_opts[c - O_ROW];
	for (unsigned j = 0; j < cmd->n_own; j++)
		if (cmd->own[j].short_name == c)
			return &cmd->own[j];
	*ret_own = false;
	for (size_t i = 0; i < N_OPTS; i++)
		if (shared_opts[i].short_name == c && in_family(cmd, &shared_opts[i]))
			return *ret_i = i, &shared_opts[i];
	return NULL;
}

/* getopt's errors: a missing value, an unknown option, a value given to a flag. Always 2. */
static int getopt_error(const struct cli_cmd *cmd, int c, const char *typed)
{
	if (c == ':')
		return cli_usage_error(cmd->name, "%s needs a value", typed);
	if (optopt >= O_ROW)
		return cli_usage_error(cmd->name, "%s takes no value", typed);
	return cli_usage_error(cmd->name, "unknown option '%s' (see nbench %s --help)", typed, cmd->name);
}

/* Notes o as given, as the user wrote it. 0, or 2 after the error (more options than anyone needs). */
static int note_given(struct parse_state *ps, const struct cli_opt *o, const char *typed)
{
	if (ps->ngiven == MAX_GIVEN)
		return cli_usage_error(ps->cmd->name, "more than %d options", MAX_GIVEN);
	ps->given[ps->ngiven].name = o->name;
	snprintf(ps->given[ps->ngiven].typed, sizeof(ps->given[0].typed), "%s", typed);
	ps->ngiven++;
	return 0;
}

/* The option as the user wrote it when it was given (the last time), else NULL. */
static const char *given(const struct parse_state *ps, const char *name)
{
	for (unsigned i = ps->ngiven; i-- > 0;)
		if (!strcmp(ps->given[i].name, name))
			return ps->given[i].typed;
	return NULL;
}

/* One getopt result. 0 to go on, 1 after --help, 2 after an error. */
static int parse_one(struct parse_state *ps, int c, const char *typed)
{
	const struct cli_cmd *cmd = ps->cmd;
	const struct cli_opt *o;
	bool own;
	size_t i = 0;
	char label[40];
	int r;

	if (c == O_HELP) {
		cli_help(cmd);
		return 1;
	}
	if (c == ':' || c == '?' || !(o = row_of(cmd, c, &own, &i)))
		return getopt_error(cmd, c, typed);
	if (!own && !(o->cmds & cmd->bit) && (r = other_row(ps, i, c >= O_ROW, typed, &o)))
		return r;
	if (o->type == CLI_OT_PROTO && !strcmp(o->name, "proto"))
		ps->proto_given = true;
	if (c >= O_ROW)
		snprintf(label, sizeof(label), "--%s", o->name);
	else
		snprintf(label, sizeof(label), "-%c", o->short_name);
	if ((r = note_given(ps, o, o->label ? o->label : label)))
		return r;
	return apply_opt(cmd->name, o->label ? o->label : label, o, optarg, own ? ps->own : (void *)ps->t);
}

int cli_dpdk_check(const char *cmd, const struct nb_test_cfg *cfg, const char *given)
{
	const struct nb_engine_ops *e = nb_engine_find(cfg->engine);
	const char *missing = nb_engine_missing(cfg->engine);
	if (missing)
		return cli_usage_error(cmd, "--engine %s: %s", cfg->engine, missing);
	bool takes = e && e->caps->dpdk_opts;
	if (given && !takes)
		return cli_usage_error(cmd, "%s goes with --engine dpdk", given);
	if (takes && (!cfg->dpdk_port[0] || !cfg->dpdk_ip[0]))
		return cli_usage_error(cmd,
				       "--engine %s needs --dpdk-port (a PCI address or a vdev such as "
				       "net_af_packet0,iface=veth0) and --dpdk-ip (the port's IPv4 address)",
				       cfg->engine);
	return 0;
}

/* What the engine of t runs: its protocols, tests, message sizes, and where its responder is. */
static int engine_caps_check(const char *cmd, struct cli_test *t, enum nb_test_kind kind, bool proto_given)
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

/* ---- options together ---- */

/* Options that contradict each other: given together, they are refused in one line naming both. (Those
 * that only look odd together are not here: --spin with --busy-poll spins in both places, --rate with
 * --depth caps what is in flight, -q with --json is what a script writes.) */
static const struct {
	const char *a, *b, *why;
} conflicts[] = {
    {"json", "csv", "one report format at a time"},
    {"host", "topo", "-H names a responder elsewhere, --topo a path up on this host"},
    {"path", "topo", "--path builds a path for the run, --topo uses one already up"},
    {"topo", "port", "the instance's port is the one topo up gave it"},
    {"topo", "wire", "the instance's wire is the one topo up built it with"},
    {"topo", "wire-rate", "the instance's wire is shaped by topo up --wire-rate"},
    {"nodelay", "no-nodelay", "Nagle is either on or off"},
    {"hops", "load", "--load's probe runs beside a stream, not under capture"},
};

/* Options that mean nothing without another: given alone, refused in one line naming both. */
static const struct {
	const char *opt, *needs, *why;
} needs[] = {
    {"force", "wire", "it takes ports that fail --wire's checks"},
    {"load-proto", "load", "it is the protocol of --load's stream"},
    {"capture-snap", "capture", "it is the snap length of --capture's file"},
    {"capture-max", "capture", "it caps --capture's file"},
};

/* The tables above over what ps was given: 0, or 2 after the error. */
static int check_pairs(const struct parse_state *ps)
{
	const char *cmd = ps->cmd->name, *a, *b;
	for (size_t i = 0; i < sizeof(conflicts) / sizeof(conflicts[0]); i++)
		if ((a = given(ps, conflicts[i].a)) && (b = given(ps, conflicts[i].b)))
			return cli_usage_error(cmd, "%s and %s exclude each other: %s", a, b,
					       conflicts[i].why);
	for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]); i++)
		if ((a = given(ps, needs[i].opt)) && !given(ps, needs[i].needs))
			return cli_usage_error(cmd, "%s goes with --%s: %s", a, needs[i].needs, needs[i].why);
	return 0;
}

/* The first --dpdk-* option given, as written; NULL: none. */
static const char *dpdk_given(const struct parse_state *ps)
{
	for (unsigned i = 0; i < ps->ngiven; i++)
		if (!strncmp(ps->given[i].name, "dpdk-", 5))
			return ps->given[i].typed;
	return NULL;
}

/* A test's options that hold only for some values of the others: the protocol, where the responder is. */
static int check_values(const struct parse_state *ps, const struct cli_test *t)
{
	const char *cmd = ps->cmd->name, *o;
	bool udp = t->cfg.proto == NB_PROTO_UDP;
	if ((o = given(ps, "udp-timeout")) && !udp)
		return cli_usage_error(cmd, "%s is for UDP transactions: it goes with --proto udp", o);
	if (((o = given(ps, "nodelay")) || (o = given(ps, "no-nodelay"))) && udp)
		return cli_usage_error(cmd, "%s is TCP's Nagle: not with --proto udp", o);
	if (t->host_given &&
	    ((o = given(ps, "wire")) || (o = given(ps, "wire-rate")) || (o = given(ps, "force"))))
		return cli_usage_error(cmd, "%s is for paths built on this host: not with -H", o);
	if ((o = given(ps, "data-host")) && !t->host_given)
		return cli_usage_error(
		    cmd, "%s goes with -H: it is the data address a responder elsewhere names", o);
	return 0;
}

/* What holds only for a test's options together. 0 or 2 after the error. */
static int check_together(const struct parse_state *ps, struct cli_test *t)
{
	const char *cmd = ps->cmd->name;
	char err[256];
	int r;

	t->host_given = t->cfg.host[0] != '\0';
	/* -H with --path: the path is built on that host by its agent (nbench serve --paths) */
	int where = !!t->host_given + !!(t->path && !t->host_given) + !!t->topo;
	if (where == 0)
		return cli_usage_error(cmd,
				       "say where the responder is: -H HOST, --path PATH or --topo NAME");
	if (t->path && t->host_given && !t->key_file)
		return cli_usage_error(cmd, "-H with --path needs --key-file (the agent's key)");
	if ((r = cli_dpdk_check(cmd, &t->cfg, dpdk_given(ps))))
		return r;
	if ((r = engine_caps_check(cmd, t, (enum nb_test_kind)ps->cmd->kind, ps->proto_given)))
		return r;
	if ((r = check_values(ps, t)))
		return r;
	nb_cfg_resolve(&t->cfg);
	if (nb_cfg_check(&t->cfg, err, sizeof(err)) < 0)
		return cli_usage_error(cmd, "%s", err);
	return 0;
}

static void save_cmdline(int argc, char **argv, struct cli_test *t)
{
	size_t o = 0;
	for (int i = 0; i < argc && o < sizeof(t->cmdline); i++)
		o += (size_t)snprintf(t->cmdline + o, sizeof(t->cmdline) - o, "%s%s", i ? " " : "nbench ",
				      argv[i]);
}

void cli_test_init(struct cli_test *t)
{
	const char *env_key = getenv("NBENCH_KEY_FILE");
	memset(t, 0, sizeof(*t));
	t->load_proto = NB_PROTO_UDP; /* --load-proto's default */
	t->key_file = env_key && env_key[0] ? env_key : NULL;
}

/* The option getopt_long just returned as the user typed it ("-t", "--rate=5"), not its value. */
static const char *typed_opt(int argc, char **argv)
{
	if (optind < 1 || optind > argc)
		return "?";
	if (optarg && optarg == argv[optind - 1] && optind >= 2)
		return argv[optind - 2];
	return argv[optind - 1];
}

/* The options of argv into ps: 0 with *ret_optind, 1 after --help, 2 after an error. */
static int parse_argv(struct parse_state *ps, int argc, char **argv, int *ret_optind)
{
	struct option longs[N_OPTS + MAX_OWN + 8];
	char shorts[2 * (N_OPTS + MAX_OWN) + 3];
	int c, r;

	if (ps->cmd->n_own > MAX_OWN || !ps->cmd->usage) /* a table too long, no usage: never shipped */
		return cli_usage_error(ps->cmd->name, "too many options");
	getopt_tables(ps->cmd, longs, shorts, sizeof(shorts));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		if ((r = parse_one(ps, c, typed_opt(argc, argv))))
			return r;
	}
	if (!ps->cmd->args && optind < argc)
		return cli_usage_error(ps->cmd->name, "unexpected argument '%s' (see nbench %s --help)",
				       argv[optind], ps->cmd->name);
	*ret_optind = optind;
	if ((r = check_pairs(ps)))
		return r;
	/* a test checks them with the rest (check_together) */
	return ps->cmd->dpdk && ps->cmd->kind < 0 ? cli_dpdk_check(ps->cmd->name, &ps->t->cfg, dpdk_given(ps))
						  : 0;
}

int cli_parse(const struct cli_cmd *cmd, int argc, char **argv, struct cli_test *t, void *own,
	      int *ret_optind)
{
	struct parse_state ps = {.cmd = cmd, .t = t, .own = own};
	return parse_argv(&ps, argc, argv, ret_optind);
}

int cli_parse_test_as(const struct cli_cmd *cmd, int argc, char **argv, struct cli_test *t, void *own)
{
	struct parse_state ps = {.cmd = cmd, .t = t, .own = own, .proto_given = cmd->udp};
	int optind_, r;

	cli_test_init(t);
	nb_cfg_defaults(&t->cfg, (enum nb_test_kind)cmd->kind);
	if (cmd->udp)
		t->cfg.proto = NB_PROTO_UDP;
	save_cmdline(argc, argv, t);
	if ((r = parse_argv(&ps, argc, argv, &optind_)))
		return r;
	return check_together(&ps, t);
}

int cli_parse_test(int argc, char **argv, struct cli_test *t)
{
#define WHERE "(-H HOST | --path PATH | --topo NAME)"
	static const struct cli_cmd tests[] = {
	    [NB_TEST_STREAM] =
		{.name = "stream",
		 .bit = CLI_C_STREAM,
		 .kind = NB_TEST_STREAM,
		 .usage = "stream " WHERE " [options]",
		 .about = "Bulk goodput, payload bits/s at the receiver, over N flows either way (TCP "
			  "or UDP),\nwith the CPU cycles per byte system-wide."},
	    [NB_TEST_RR] = {.name = "rr",
			    .bit = CLI_C_RR,
			    .kind = NB_TEST_RR,
			    .usage = "rr " WHERE " [options]",
			    .about =
				"Request/response latency (p50 ... p99.9) and transactions/s, closed or "
				"open loop (TCP or\nUDP), with the CPU cycles per transaction system-wide."},
	    [NB_TEST_CRR] = {.name = "crr",
			     .bit = CLI_C_CRR,
			     .kind = NB_TEST_CRR,
			     .usage = "crr " WHERE " [options]",
			     .about = "A new TCP connection per transaction (connect, request, response, "
				      "close): its latency and\ntransactions/s, with the CPU cycles per "
				      "transaction system-wide."},
	};
#undef WHERE
	enum nb_test_kind kind;
	if (nb_test_kind_parse(argv[0], &kind) < 0)
		return cli_usage_error(argv[0], "unknown test");
	return cli_parse_test_as(&tests[kind], argc, argv, t, NULL);
}

int cli_parse_port(const char *s, uint16_t *ret)
{
	char *end;

	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 65535)
		return -EINVAL;
	*ret = (uint16_t)v;
	return 0;
}
