/* SPDX-License-Identifier: MIT */
/*
 * Option parsing for the test commands: every value checked, one line on error, exit status 2. One table
 * lists each option once (name, argument, which tests take it, limits, help line); the getopt entries, the
 * checks, their messages and --help all come from it.
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

/* How a flag's argument is read and where it goes. */
enum opt_type {
	OT_SET,	     /* no argument: stores .lo */
	OT_UINT,     /* integer in [lo, hi] */
	OT_DURATION, /* duration in [lo, hi] ns; with .zero_ok also 0 */
	OT_BYTES,    /* byte size in [lo, hi] */
	OT_PAIR,     /* REQ,RESP byte sizes, each in [lo, hi], to field and field2 */
	OT_RATE,     /* per-second rate in (lo, hi] */
	OT_STRING,   /* copied into a char array: not empty, fits */
	OT_ARG,	     /* the argument itself (a pointer into argv) */
	OT_PROTO,    /* tcp|udp */
};

#define K_STREAM (1u << NB_TEST_STREAM)
#define K_RR	 (1u << NB_TEST_RR)
#define K_CRR	 (1u << NB_TEST_CRR)
#define K_ALL	 (K_STREAM | K_RR | K_CRR)

struct test_opt {
	const char *name; /* long name, without "--" */
	char short_name;  /* 0: none */
	const char *arg;  /* its argument in --help; NULL: takes none */
	unsigned kinds;	  /* K_*: the tests that take it */
	unsigned shown;	  /* K_*: the tests whose --help lists it, when fewer than kinds */
	enum opt_type type;
	size_t off, size;  /* the field of struct cli_test it sets */
	size_t off2;	   /* OT_PAIR: the second one */
	int64_t lo, hi;	   /* limits, inclusive (OT_RATE: above lo) */
	bool zero_ok;	   /* OT_DURATION: 0 is allowed below lo ("none") */
	const char *what;  /* in "'%s' is not <what> from <lo> to <hi>" */
	const char *unit;  /* OT_RATE: after the upper limit */
	const char *label; /* how errors name it; default: as the user wrote it */
	const char *help;  /* NULL: not listed in --help */
	/* help's "%s": a list that lives elsewhere (the path kinds of topo/plan.c's table) */
	const char *(*help_list)(char *buf, size_t len, const char *sep);
};

#define FIELD(f) .off = offsetof(struct cli_test, f), .size = sizeof(((struct cli_test *)0)->f)
#define STR_(x)	 #x
#define STR(x)	 STR_(x)
#define MS	 (1000LL * 1000)
#define S	 (1000LL * MS)

/* The order is --help's. */
static const struct test_opt test_opts[] = {
    {"host", 'H', "HOST", K_ALL, 0, OT_STRING, FIELD(cfg.host), .what = "a host name or address",
     .help = "responder (`nbench serve`) to test against"},
    {"port", 'p', "PORT", K_ALL, 0, OT_UINT, FIELD(cfg.port), .lo = 1, .hi = UINT16_MAX,
     .what = "a port number", .label = "--port", /* not "-p": -P is the flows */
     .help = "its port (control, TCP and UDP data), default " STR(NB_DEFAULT_PORT)},
    {"data-host", 0, "ADDR", K_ALL, 0, OT_ARG, FIELD(data_host),
     .help = "send the data to ADDR when the responder names it as its data address\n(a DPDK "
	     "responder's --dpdk-ip); by default data goes only where -H went"},
    {"key-file", 0, "FILE", K_ALL, 0, OT_ARG, FIELD(key_file),
     .help = "the shared key (`nbench key gen`) of a responder run with --key-file;\ndefault: "
	     "$NBENCH_KEY_FILE"},
    {"path", 0, "PATH", K_ALL, 0, OT_ARG, FIELD(path), .help = "build PATH (%s),\nrun, tear down",
     .help_list = nb_topo_kinds_join},
    {"topo", 0, "NAME", K_ALL, 0, OT_ARG, FIELD(topo),
     .help = "run across a path already up (`nbench topo up`)"},
    {"wire", 0, "IF_A,IF_B", K_ALL, 0, OT_ARG, FIELD(wire.ifs),
     .help = "--path: two ports of this host as the wire"},
    {"wire-rate", 0, "R", K_ALL, 0, OT_RATE, FIELD(wire.rate_bps), .lo = 0, .hi = 100000000000LL,
     .what = "a rate in bits/s", .unit = " (k, M, G)",
     .help = "--path: shape the wire to R bits/s each way (tbf)"},
    {"force", 0, NULL, K_ALL, 0, OT_SET, FIELD(wire.force), .lo = 1,
     .help = "--wire: take ports that fail the checks"},
    {"time", 't', "SEC", K_ALL, 0, OT_DURATION, FIELD(cfg.duration_ns), .lo = MS, .hi = NB_MAX_DURATION_NS,
     .what = "a duration", .help = "measured duration (10)"},
    {"warmup", 0, "SEC", K_ALL, 0, OT_DURATION, FIELD(cfg.warmup_ns), .lo = 0, .hi = NB_MAX_DURATION_NS,
     .what = "a duration", .help = "discarded first part (0)"},
    {"interval", 'i', "SEC", K_ALL, 0, OT_DURATION, FIELD(cfg.interval_ns), .lo = 10 * MS,
     .hi = NB_MAX_DURATION_NS, .zero_ok = true, .what = "an interval", .help = "interim lines (1; 0 = none)"},
    {"parallel", 'P', "N", K_ALL, 0, OT_UINT, FIELD(cfg.flows), .lo = 1, .hi = NB_MAX_FLOWS,
     .what = "a number of flows", .help = "flows (1)"},
    {"proto", 0, "tcp|udp", K_ALL, 0, OT_PROTO, FIELD(cfg.proto), .what = "tcp or udp",
     .help = "protocol (tcp)"},
    {"engine", 0, "NAME", K_ALL, 0, OT_STRING, FIELD(cfg.engine), .what = "an engine name",
     .help = "engine (sock)"},
    {"reverse", 0, NULL, K_STREAM, 0, OT_SET, FIELD(cfg.reverse), .lo = 1,
     .help = "the responder sends, the generator receives"},
    {"msg-size", 0, "B", K_STREAM, 0, OT_BYTES, FIELD(cfg.msg_bytes), .lo = 1, .hi = NB_MAX_MSG_BYTES,
     .what = "a size", .help = "bytes per write (tcp 128K, udp 1472)"},
    {"rate", 'b', "R", K_STREAM, 0, OT_RATE, FIELD(cfg.rate_bps), .lo = 0, .hi = (int64_t)NB_MAX_RATE_BPS,
     .what = "a rate in bits/s", .unit = " (k, M, G, T)",
     .help = "pace to R payload bits/s in all (k, M, G, T; like iperf3 -b);\nunpaced by default"},
    {"rr-size", 'r', "REQ,RESP", K_RR | K_CRR, 0, OT_PAIR, FIELD(cfg.req_bytes),
     .off2 = offsetof(struct cli_test, cfg.resp_bytes), .lo = 1, .hi = NB_MAX_MSG_BYTES,
     .what = "REQ,RESP sizes", .help = "request and response bytes (100,200)"},
    {"depth", 0, "N", K_RR, 0, OT_UINT, FIELD(cfg.depth), .lo = 1, .hi = NB_MAX_DEPTH, .what = "a number",
     .help = "transactions in flight per flow (1)"},
    {"rate", 0, "R", K_RR, 0, OT_RATE, FIELD(cfg.rate_tps), .lo = 0, .hi = 1000 * 1000 * 1000,
     .what = "a rate", .unit = " transactions/s",
     .help = "open loop at R transactions/s in all, latency from the intended send"},
    {"load", 0, "R", K_RR, 0, OT_RATE, FIELD(load_bps), .lo = 0, .hi = (int64_t)NB_MAX_RATE_BPS,
     .what = "a rate in bits/s", .unit = " (k, M, G, T)",
     .help = "latency under load: a stream paced to R payload bits/s beside the\nprobe (open loop, --rate "
	     "or 1000/s), after the same probe idle"},
    {"load-proto", 0, "tcp|udp", K_RR, 0, OT_PROTO, FIELD(load_proto), .what = "tcp or udp",
     .help = "--load's protocol (udp)"},
    /* taken by every test (a no-op where there is no UDP transaction), listed where it means something */
    {"udp-timeout", 0, "T", K_ALL, K_RR | K_CRR, OT_DURATION, FIELD(cfg.udp_timeout_ns), .lo = MS,
     .hi = 60 * S, .what = "a timeout", .help = "a UDP transaction unanswered this long is lost (200ms)"},
    {"nodelay", 0, NULL, K_ALL, 0, OT_SET, FIELD(cfg.nodelay), .lo = 1},
    {"no-nodelay", 0, NULL, K_ALL, K_RR | K_CRR, OT_SET, FIELD(cfg.nodelay), .lo = 0,
     .help = "leave Nagle on"},
    {"cpu-gen", 0, "N", K_ALL, 0, OT_UINT, FIELD(cfg.cpu_gen), .lo = 0, .hi = CPU_SETSIZE - 1,
     .what = "a CPU number", .help = "pin the generator's flows to CPU N"},
    {"cpu-resp", 0, "N", K_ALL, 0, OT_UINT, FIELD(cfg.cpu_resp), .lo = 0, .hi = CPU_SETSIZE - 1,
     .what = "a CPU number",
     .help = "pin the responder's flows to CPU N (it is told over the control connection)"},
    {"spin", 0, NULL, K_ALL, 0, OT_SET, FIELD(cfg.wait), .lo = NB_WAIT_SPIN,
     .help = "poll non-blocking sockets instead of sleeping (both sides)"},
    {"busy-poll", 0, "US", K_ALL, 0, OT_UINT, FIELD(cfg.busy_poll_us), .lo = 0, .hi = NB_MAX_BUSY_POLL_US,
     .what = "microseconds", .help = "SO_BUSY_POLL on every data socket"},
    {"hops", 0, NULL, K_RR, 0, OT_SET, FIELD(hops), .lo = 1,
     .help = "with --path/--topo: capture on every interface of the path and split each\nround trip "
	     "into hops (also runs without capture: its overhead)"},
    {"json", 0, NULL, K_ALL, 0, OT_SET, FIELD(format), .lo = CLI_JSON, .help = "JSON report (default: text)"},
    {"csv", 0, NULL, K_ALL, 0, OT_SET, FIELD(format), .lo = CLI_CSV, .help = "CSV report"},
    {"output", 'o', "FILE", K_ALL, 0, OT_ARG, FIELD(output), .help = "also write the report to FILE"},
    {"quiet", 'q', NULL, K_ALL, 0, OT_SET, FIELD(quiet), .lo = 1, .help = "no interim lines"},
    {"nic-counters", 'v', NULL, K_ALL, 0, OT_SET, FIELD(nic_counters), .lo = 1,
     .help = "text: every counter that changed on each interface (default: one line\nwith traffic, drops "
	     "and errors)"},
    {"hist-out", 0, "FILE", K_RR | K_CRR, 0, OT_ARG, FIELD(hist_out),
     .help = "write the latency distribution to FILE: HdrHistogram's percentile\ndistribution, values in "
	     "microseconds"},
    {"baseline", 0, "FILE", K_ALL, 0, OT_ARG, FIELD(baseline),
     .help = "after the run, exit 1 when a metric is worse than FILE's (nbench diff)"},
    {"tolerance", 0, "PCT", K_ALL, 0, OT_ARG, FIELD(tolerance),
     .help = "--baseline: by more than PCT beyond its interval (5%)"},
};
#define N_OPTS (sizeof(test_opts) / sizeof(test_opts[0]))
#define O_HELP 'h'
#define O_ROW  2000 /* getopt value of test_opts[i]: O_ROW + i (above CLI_O_DPDK's) */

_Static_assert(CLI_O_DPDK + 4 <= O_ROW, "getopt values overlap");

/* --help: one line per option the test takes (a '\n' in the help text continues under it). */
static void print_opt_help(const struct test_opt *o)
{
	char flag[64];
	snprintf(flag, sizeof(flag), "%c%c%c --%s%s%s", o->short_name ? '-' : ' ',
		 o->short_name ? o->short_name : ' ', o->short_name ? ',' : ' ', o->name, o->arg ? " " : "",
		 o->arg ? o->arg : "");
	printf("  %-22s ", flag);
	char text[512], list[256];
	if (o->help_list)
		snprintf(text, sizeof(text), o->help, o->help_list(list, sizeof(list), " "));
	for (const char *h = o->help_list ? text : o->help; *h; h++) {
		putchar(*h);
		if (*h == '\n')
			printf("%25s", "");
	}
	putchar('\n');
}

static void test_help(const char *cmd, enum nb_test_kind kind)
{
	printf("usage: nbench %s (-H HOST | --path PATH | --topo NAME) [options]\n\n", cmd);
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct test_opt *o = &test_opts[i];
		if (o->help && ((o->shown ? o->shown : o->kinds) & (1u << kind)))
			print_opt_help(o);
	}
	printf(CLI_DPDK_HELP);
}

/* The getopt tables, from test_opts: each long name once (the first row that has it), then the DPDK ones. */
static void getopt_tables(struct option *longs, char *shorts, size_t shorts_len)
{
	static const struct option tail[] = {{"help", no_argument, NULL, O_HELP}, CLI_DPDK_OPTIONS, {0}};
	size_t n = 0, s = 0;
	shorts[s++] = ':';
	shorts[s++] = O_HELP;
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct test_opt *o = &test_opts[i];
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			seen |= !strcmp(test_opts[j].name, o->name);
		if (!seen)
			longs[n++] = (struct option){o->name, o->arg ? required_argument : no_argument, NULL,
						     O_ROW + (int)i};
		if (o->short_name && s + 2 < shorts_len) {
			shorts[s++] = o->short_name;
			if (o->arg)
				shorts[s++] = ':';
		}
	}
	memcpy(longs + n, tail, sizeof(tail));
	shorts[s] = '\0';
}

/* A limit as the user would write it: "64M", "10T", "86400 s", "10ms". */
static const char *fmt_limit(enum opt_type type, int64_t v, char *buf, size_t len)
{
	int64_t base = type == OT_BYTES || type == OT_PAIR ? 1024 : 1000;
	const char *sfx = base == 1024 ? "KMGT" : "kMGT";
	int e = 0;
	if (type == OT_DURATION) {
		if (v == 0)
			snprintf(buf, len, "0");
		else if (v % S)
			snprintf(buf, len, "%lldms", (long long)(v / MS));
		else
			snprintf(buf, len, "%lld s", (long long)(v / S));
		return buf;
	}
	if (type == OT_UINT)
		return snprintf(buf, len, "%lld", (long long)v), buf;
	if (base == 1024 && v == 1)
		return snprintf(buf, len, "1 byte"), buf;
	while (e < 4 && v >= base && v % base == 0)
		v /= base, e++;
	snprintf(buf, len, "%lld%.*s", (long long)v, e ? 1 : 0, e ? &sfx[e - 1] : "");
	return buf;
}

static void store_int(struct cli_test *t, size_t off, size_t size, int64_t v)
{
	char *p = (char *)t + off;
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
static int out_of_range(const char *cmd, const char *label, const char *arg, const struct test_opt *o)
{
	char lo[32], hi[32];
	fmt_limit(o->type, o->lo, lo, sizeof(lo));
	fmt_limit(o->type, o->hi, hi, sizeof(hi));
	if (o->type == OT_RATE)
		return cli_usage_error(cmd, "%s: '%s' is not %s above %s and at most %s%s", label, arg,
				       o->what, lo, hi, o->unit);
	return cli_usage_error(cmd, "%s: '%s' is not %s %s%s to %s", label, arg, o->what,
			       o->zero_ok ? "of 0 (none) or from " : "from ", lo, hi);
}

/* Reads arg as o says into t. 0, or 2 after the error. */
static int apply_opt(const char *cmd, const char *label, const struct test_opt *o, const char *arg,
		     struct cli_test *t)
{
	char *field = (char *)t + o->off;
	uint64_t u, u2;
	int64_t ns;
	double d;

	switch (o->type) {
	case OT_SET:
		store_int(t, o->off, o->size, o->lo);
		return 0;
	case OT_ARG:
		*(const char **)field = arg;
		return 0;
	case OT_STRING:
		if (!arg[0] || strlen(arg) >= o->size)
			return cli_usage_error(cmd, "%s: '%s' is not %s", label, arg, o->what);
		snprintf(field, o->size, "%s", arg);
		return 0;
	case OT_PROTO:
		if (nb_proto_parse(arg, (enum nb_proto *)field) < 0)
			return cli_usage_error(cmd, "%s: '%s' is not %s", label, arg, o->what);
		return 0;
	case OT_UINT:
		if (nb_parse_uint(arg, (uint64_t)o->lo, (uint64_t)o->hi, &u) < 0)
			return out_of_range(cmd, label, arg, o);
		store_int(t, o->off, o->size, (int64_t)u);
		return 0;
	case OT_BYTES:
		if (nb_parse_bytes(arg, &u) < 0 || u < (uint64_t)o->lo || u > (uint64_t)o->hi)
			return out_of_range(cmd, label, arg, o);
		store_int(t, o->off, o->size, (int64_t)u);
		return 0;
	case OT_PAIR:
		if (nb_parse_size_pair(arg, &u, &u2) < 0 || u < (uint64_t)o->lo || u2 < (uint64_t)o->lo ||
		    u > (uint64_t)o->hi || u2 > (uint64_t)o->hi)
			return out_of_range(cmd, label, arg, o);
		store_int(t, o->off, o->size, (int64_t)u);
		store_int(t, o->off2, o->size, (int64_t)u2);
		return 0;
	case OT_DURATION:
		if (nb_parse_duration(arg, &ns) < 0 || ns > o->hi || (ns < o->lo && !(o->zero_ok && ns == 0)))
			return out_of_range(cmd, label, arg, o);
		store_int(t, o->off, o->size, ns);
		return 0;
	case OT_RATE:
		if (nb_parse_rate(arg, &d) < 0 || d <= (double)o->lo || d > (double)o->hi)
			return out_of_range(cmd, label, arg, o);
		*(double *)field = d;
		return 0;
	}
	return 0;
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

/*
 * The row for an option the user gave: a long name may have one row per test (--rate), a short one only
 * its own. *ret is NULL, after the error, when this test does not take it.
 */
static int opt_for_kind(const char *cmd, size_t i, bool typed_long, enum nb_test_kind kind,
			const struct test_opt **ret)
{
	const struct test_opt *o = &test_opts[i], *other = NULL;
	unsigned kinds = 0;
	*ret = NULL;
	if (o->kinds & (1u << kind))
		return *ret = o, 0;
	for (size_t j = 0; j < N_OPTS; j++)
		if (!strcmp(test_opts[j].name, o->name)) {
			kinds |= test_opts[j].kinds;
			if (test_opts[j].kinds & (1u << kind))
				other = &test_opts[j];
		}
	if (other && typed_long)
		return *ret = other, 0;
	char kl[64];
	kind_list(typed_long ? kinds : o->kinds, kl, sizeof(kl));
	if (other) /* the short form of another test's option */
		return cli_usage_error(cmd, "-%c is for nbench %s (%s's %s is --%s)", o->short_name, kl,
				       nb_test_kind_name(kind), o->name, o->name);
	if (typed_long)
		return cli_usage_error(cmd, "--%s is for nbench %s", o->name, kl);
	return cli_usage_error(cmd, "-%c is for nbench %s", o->short_name, kl);
}

/* The table row of what getopt_long returned (a long option's index, or a short letter). */
static size_t row_of(int c)
{
	if (c >= O_ROW)
		return (size_t)(c - O_ROW);
	for (size_t i = 0; i < N_OPTS; i++)
		if (test_opts[i].short_name == c)
			return i;
	return N_OPTS;
}

struct parse_state {
	const char *cmd;
	enum nb_test_kind kind;
	bool proto_given, dpdk_given;
};

/* One getopt result. 0 to go on, 1 after --help, 2 after an error. */
static int parse_one(struct parse_state *ps, int c, const char *typed, struct cli_test *t)
{
	const struct test_opt *o;
	char label[40];
	int r;

	if (c == O_HELP) {
		test_help(ps->cmd, ps->kind);
		return 1;
	}
	if (c == ':')
		return cli_usage_error(ps->cmd, "%s needs a value", typed);
	if (c >= CLI_O_DPDK && c < CLI_O_DPDK + 4) {
		ps->dpdk_given = true;
		return cli_dpdk_opt(ps->cmd, c, optarg, &t->cfg) ? 2 : 0;
	}
	size_t i = row_of(c);
	if (i == N_OPTS)
		return cli_usage_error(ps->cmd, "unknown option '%s' (see nbench %s --help)", typed, ps->cmd);
	if ((r = opt_for_kind(ps->cmd, i, c >= O_ROW, ps->kind, &o)))
		return r;
	if (o->type == OT_PROTO)
		ps->proto_given = true;
	if (c >= O_ROW)
		snprintf(label, sizeof(label), "--%s", o->name);
	else
		snprintf(label, sizeof(label), "-%c", o->short_name);
	return apply_opt(ps->cmd, o->label ? o->label : label, o, optarg, t);
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

/* The engine's own rules: which tests, protocols and sizes it runs, and its options. */
static int check_engine(const struct parse_state *ps, struct cli_test *t)
{
	const char *cmd = ps->cmd;
	int r;

	if ((r = cli_dpdk_check(cmd, &t->cfg, ps->dpdk_given)))
		return r;
	if ((r = engine_caps_check(cmd, t, ps->kind, ps->proto_given)))
		return r;
	return 0;
}

/* What holds only for the options together. 0 or 2 after the error. */
static int check_together(const struct parse_state *ps, struct cli_test *t)
{
	char err[256];
	int r;

	t->host_given = t->cfg.host[0] != '\0';
	/* -H with --path: the path is built on that host by its agent (nbench serve --paths) */
	int where = !!t->host_given + !!(t->path && !t->host_given) + !!t->topo;
	if (where == 0)
		return cli_usage_error(ps->cmd,
				       "say where the responder is: -H HOST, --path PATH or --topo NAME");
	if (where > 1)
		return cli_usage_error(ps->cmd, "-H and --topo exclude each other, and --path and --topo");
	if (t->path && t->host_given && !t->key_file)
		return cli_usage_error(ps->cmd, "-H with --path needs --key-file (the agent's key)");
	if ((r = check_engine(ps, t)))
		return r;
	nb_cfg_resolve(&t->cfg);
	if (nb_cfg_check(&t->cfg, err, sizeof(err)) < 0)
		return cli_usage_error(ps->cmd, "%s", err);
	return 0;
}

static void save_cmdline(int argc, char **argv, struct cli_test *t)
{
	size_t o = 0;
	for (int i = 0; i < argc && o < sizeof(t->cmdline); i++)
		o += (size_t)snprintf(t->cmdline + o, sizeof(t->cmdline) - o, "%s%s", i ? " " : "nbench ",
				      argv[i]);
}

int cli_parse_test(int argc, char **argv, struct cli_test *t)
{
	struct parse_state ps = {.cmd = argv[0]};
	struct option longs[N_OPTS + 8];
	char shorts[2 * N_OPTS + 3];
	int c, r;

	memset(t, 0, sizeof(*t));
	t->load_proto = NB_PROTO_UDP; /* --load-proto's default */
	if (nb_test_kind_parse(ps.cmd, &ps.kind) < 0)
		return cli_usage_error(ps.cmd, "unknown test");
	nb_cfg_defaults(&t->cfg, ps.kind);
	const char *env_key = getenv("NBENCH_KEY_FILE");
	t->key_file = env_key && env_key[0] ? env_key : NULL;
	save_cmdline(argc, argv, t);
	getopt_tables(longs, shorts, sizeof(shorts));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		const char *typed = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
		if ((r = parse_one(&ps, c, typed, t)))
			return r;
	}
	if (optind < argc)
		return cli_usage_error(ps.cmd, "unexpected argument '%s' (see nbench %s --help)",
				       argv[optind], ps.cmd);
	return check_together(&ps, t);
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
