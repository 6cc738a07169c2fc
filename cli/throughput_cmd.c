/* SPDX-License-Identifier: MIT */
/*
 * nbench throughput: RFC 2544 throughput per Ethernet frame size. For each size a binary search
 * (gen/search.c) over trials of a paced UDP stream finds the highest offered rate whose loss stays within
 * --loss. The stream's own options (where, engine, placement, format) are the stream command's: they are
 * parsed by cli_parse_test; this file adds the search's options, runs the trials and writes the report.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "nbench/auth.h"
#include "nbench/clock.h"
#include "nbench/engine.h"
#include "nbench/gen.h"
#include "nbench/report.h"
#include "nbench/units.h"

#define MAX_SIZES	 32
#define MAX_FRAME_BYTES	 (NB_MAX_UDP_BYTES + NB_ETH_OVERHEAD_BYTES)
#define DEFAULT_TRIAL_NS (2 * NB_NS_PER_S)
#define DEFAULT_RES_PCT	 1.0
#define N_LOAD_STEPS	 4
static const unsigned default_sizes[] = {64, 128, 256, 512, 1024, 1280, 1518};
static const double load_steps[N_LOAD_STEPS] = {0.1, 0.5, 0.9, 1.0}; /* --latency: of each found rate */

struct tput_opts {
	struct cli_test t; /* the stream's settings: where, engine, placement, format */
	unsigned sizes[MAX_SIZES], n_sizes;
	double loss_pct;
	int64_t trial_ns;
	double res_pct, res_l1_bps; /* --resolution: a percentage of the upper bound, or L1 bit/s */
	double max_l1_bps;	    /* --max-rate; 0: each size's first trial runs unpaced */
	bool latency;
	double tol_pct; /* --tolerance, with --baseline */
	char cmdline[512];
};

/* One frame size's outcome. */
struct tput_size {
	unsigned frame_bytes, payload_bytes;
	const char *unsupported; /* why the engine cannot send this size; NULL: searched */
	struct nb_search_result res;
	double search_s;
	char error[256]; /* a trial failed: why (the search stopped there) */
	unsigned n_lat;	 /* --latency: probes run */
	struct tput_lat {
		double load_pct, offered_fps, achieved_fps;
		bool ok;
		struct nb_hist_stats lat;
		uint64_t timeouts;
	} lat[N_LOAD_STEPS];
};

/* ---- where trials run: a path built or opened once, or -H with the engine started once --------------- */

struct tput_ctx {
	const struct tput_opts *o;
	struct cli_path pe;
	bool on_path;
	struct nb_engine *eng;
	struct nb_key key; /* -H: --key-file's key */
	bool keyed;
	unsigned payload_bytes; /* of the size being searched */
	unsigned frame_bytes;
	char gen_cpus[64], resp_cpus[64], gen_wait[32], resp_wait[32], path[32];
	char timestamp[32];
	struct nb_sysinfo client, server;
	char error[256];
	bool quiet;
};

/* A responder that runs one test at a time (DPDK's) refuses the next trial until it has let the last one go:
 * a refusal before any flow started is tried again, this often this far apart. */
#define BUSY_TRIES    50
#define BUSY_RETRY_NS (100 * NB_NS_PER_MS)

static bool refused_busy(const struct nb_report *rep)
{
	return rep->n_flows == 0 && strstr(rep->error, "one test at a time");
}

/* Runs one test with cfg where the context says; rep initialised by the caller. 0 or -errno. */
static int ctx_run(struct tput_ctx *x, const struct nb_test_cfg *cfg, struct nb_report *rep)
{
	struct nb_run_hooks hooks = {
	    .engine = x->eng, .data_host = x->o->t.data_host, .key = x->keyed ? &x->key : NULL};
	int r = -EINTR;
	for (unsigned i = 0; i < BUSY_TRIES && !cli_quitting(); i++) {
		if (i) {
			nb_report_free(rep);
			nb_report_init(rep);
			nb_sleep_until(nb_now_ns() + BUSY_RETRY_NS);
		}
		r = x->on_path ? cli_path_run(&x->pe, cfg, false, rep) : nb_run(cfg, &hooks, rep);
		if (r == 0 || !refused_busy(rep))
			break;
	}
	return r;
}

static int ctx_open(struct tput_ctx *x)
{
	const struct cli_test *t = &x->o->t;
	char err[256] = "";
	int r;
	if (t->path || t->topo) {
		cli_wire = t->wire;
		r = cli_path_open(t->path, t->topo, t->cfg.port, t->key_file, &x->pe, err, sizeof(err));
		if (r < 0) {
			snprintf(x->error, sizeof(x->error), "%s", err);
			return r;
		}
		x->on_path = true;
		return 0;
	}
	if (t->key_file && (r = nb_key_load(t->key_file, &x->key, err, sizeof(err))) < 0) {
		snprintf(x->error, sizeof(x->error), "%s", err);
		return -EINVAL;
	}
	x->keyed = t->key_file != NULL;
	const struct nb_engine_ops *ops = nb_engine_find(t->cfg.engine);
	if (ops && (r = nb_engine_start(ops, &t->cfg, &x->eng, err, sizeof(err))) < 0) {
		snprintf(x->error, sizeof(x->error), "%s", err);
		return r;
	}
	return 0;
}

static void ctx_close(struct tput_ctx *x)
{
	if (x->on_path)
		cli_path_close(&x->pe);
	nb_engine_stop(x->eng);
	x->eng = NULL;
	if (x->keyed)
		nb_key_wipe(&x->key);
	x->keyed = false;
}

/* The paced UDP stream of one trial: payload bytes per datagram, rate_fps datagrams/s (0: unpaced). */
static struct nb_test_cfg trial_cfg(const struct tput_ctx *x, double rate_fps)
{
	struct nb_test_cfg cfg = x->o->t.cfg;
	cfg.kind = NB_TEST_STREAM;
	cfg.proto = NB_PROTO_UDP;
	cfg.reverse = false;
	cfg.msg_bytes = x->payload_bytes;
	cfg.rate_bps = rate_fps * x->payload_bytes * 8.0;
	cfg.duration_ns = x->o->trial_ns;
	cfg.warmup_ns = 0; /* loss is counted over the whole trial: every frame offered counts */
	cfg.interval_ns = 0;
	return cfg;
}

/* The run's facts the report shows once: taken from the first trial that reached the responder. */
static void ctx_note_facts(struct tput_ctx *x, const struct nb_report *rep)
{
	if (x->timestamp[0])
		return;
	snprintf(x->timestamp, sizeof(x->timestamp), "%s", rep->timestamp);
	snprintf(x->gen_cpus, sizeof(x->gen_cpus), "%s", rep->gen_cpus[0] ? rep->gen_cpus : "any");
	snprintf(x->resp_cpus, sizeof(x->resp_cpus), "%s", rep->resp_cpus[0] ? rep->resp_cpus : "any");
	snprintf(x->gen_wait, sizeof(x->gen_wait), "%s", rep->gen_wait);
	snprintf(x->resp_wait, sizeof(x->resp_wait), "%s", rep->resp_wait);
	snprintf(x->path, sizeof(x->path), "%s", rep->path);
	x->client = rep->client;
	x->server = rep->server;
}

static int run_trial(void *arg, double rate_fps, struct nb_trial *ret)
{
	struct tput_ctx *x = arg;
	struct nb_test_cfg cfg = trial_cfg(x, rate_fps);
	struct nb_report rep;
	nb_report_init(&rep);
	int r = ctx_run(x, &cfg, &rep);
	if (r < 0 || !rep.complete) {
		snprintf(x->error, sizeof(x->error), "%s", rep.error[0] ? rep.error : strerror(r ? -r : EIO));
		nb_report_free(&rep);
		return r < 0 ? r : -EIO;
	}
	ctx_note_facts(x, &rep);
	ret->sent = rep.msgs_sent;
	ret->lost = rep.lost;
	ret->sent_fps = (double)rep.msgs_sent * NB_NS_PER_S / (double)x->o->trial_ns;
	if (!x->quiet) {
		char rb[32];
		fprintf(
		    stderr, "  %5u B  %s %12.0f frames/s  (%s L1)  loss %.4f%%  %s\n", x->frame_bytes,
		    rate_fps > 0 ? "offered" : "unpaced", ret->sent_fps,
		    nb_fmt_bps(ret->sent_fps * (x->frame_bytes + NB_ETH_L1_EXTRA_BYTES) * 8, rb, sizeof(rb)),
		    rep.loss_pct, nb_trial_passes(ret->sent, ret->lost, x->o->loss_pct) ? "pass" : "fail");
	}
	nb_report_free(&rep);
	return 0;
}

/* ---- latency under load: a probe rr beside a paced stream --------------------------------------------- */

struct load_run {
	struct tput_ctx *x;
	struct nb_test_cfg cfg;
	struct nb_report rep;
	int rc;
};

static void *load_main(void *arg)
{
	struct load_run *l = arg;
	l->rc = ctx_run(l->x, &l->cfg, &l->rep);
	return NULL;
}

/* Runs probe (an rr) beside load (a stream; NULL: alone), both to the same responder; fills the reports
 * (initialised here, freed by the caller). The load starts first and its measured window is the probe's.
 * 0 or -errno of the first that failed. */
static int probe_under_load(struct tput_ctx *x, const struct nb_test_cfg *probe,
			    const struct nb_test_cfg *load, struct nb_report *probe_rep,
			    struct nb_report *load_rep)
{
	struct load_run l = {.x = x};
	pthread_t th;
	bool started = false;
	nb_report_init(probe_rep);
	nb_report_init(load_rep);
	if (load) {
		l.cfg = *load;
		l.cfg.warmup_ns = probe->warmup_ns;
		l.cfg.duration_ns = probe->duration_ns;
		nb_report_init(&l.rep);
		started = pthread_create(&th, NULL, load_main, &l) == 0;
		if (!started)
			return -EAGAIN;
	}
	int r = ctx_run(x, probe, probe_rep);
	if (started) {
		pthread_join(th, NULL);
		*load_rep = l.rep;
		if (r == 0 && l.rc < 0)
			r = l.rc;
	}
	return r;
}

/* The probe of --latency and rr --load: the rr settings of the command, UDP, open loop. */
#define PROBE_DEFAULT_TPS 1000.0
#define PROBE_NS	  (2 * NB_NS_PER_S)
#define LOAD_LEAD_NS	  (300 * NB_NS_PER_MS) /* both runs' warm-up: the handshakes settle before */

static struct nb_test_cfg probe_cfg(const struct nb_test_cfg *base)
{
	struct nb_test_cfg cfg = *base;
	cfg.kind = NB_TEST_RR;
	cfg.proto = NB_PROTO_UDP;
	cfg.flows = 1;
	cfg.depth = 1;
	cfg.req_bytes = cfg.resp_bytes = 64;
	cfg.rate_tps = PROBE_DEFAULT_TPS;
	cfg.rate_bps = 0;
	cfg.msg_bytes = 0;
	cfg.duration_ns = PROBE_NS;
	cfg.warmup_ns = LOAD_LEAD_NS;
	cfg.interval_ns = 0;
	return cfg;
}

/* --latency: the probe beside the size's stream at each step of the found rate. */
static void size_latency(struct tput_ctx *x, struct tput_size *sz)
{
	struct nb_test_cfg probe = probe_cfg(&x->o->t.cfg);
	for (unsigned i = 0; i < N_LOAD_STEPS && sz->res.found && !cli_quitting(); i++) {
		struct tput_lat *L = &sz->lat[sz->n_lat++];
		struct nb_report pr, lr;
		L->load_pct = 100 * load_steps[i];
		L->offered_fps = sz->res.rate_fps * load_steps[i];
		struct nb_test_cfg load = trial_cfg(x, L->offered_fps);
		int r = probe_under_load(x, &probe, &load, &pr, &lr);
		L->ok = r == 0 && pr.complete && lr.complete;
		L->lat = pr.lat;
		L->timeouts = pr.timeouts;
		if (lr.duration_s > 0 && x->payload_bytes)
			L->achieved_fps = lr.goodput_bps / 8 / x->payload_bytes;
		nb_report_free(&pr);
		nb_report_free(&lr);
	}
}

static void search_size(struct tput_ctx *x, struct tput_size *sz)
{
	const struct tput_opts *o = x->o;
	double l1_bits = (sz->frame_bytes + NB_ETH_L1_EXTRA_BYTES) * 8.0;
	struct nb_search_cfg sc = {
	    .max_fps = o->max_l1_bps / l1_bits,
	    .resolution_pct = o->res_pct,
	    .resolution_fps = o->res_l1_bps / l1_bits,
	    .loss_pct = o->loss_pct,
	};
	x->payload_bytes = sz->payload_bytes;
	x->frame_bytes = sz->frame_bytes;
	x->error[0] = '\0';
	int64_t t0 = nb_now_ns();
	if (nb_search_rate(&sc, run_trial, x, &sz->res) < 0)
		snprintf(sz->error, sizeof(sz->error), "%s", x->error[0] ? x->error : "the search failed");
	sz->search_s = (double)(nb_now_ns() - t0) / NB_NS_PER_S;
	if (o->latency && !sz->error[0])
		size_latency(x, sz);
}

/* Why the engine cannot send a frame of this size, or NULL. */
static const char *size_unsupported(const struct tput_ctx *x, unsigned frame)
{
	if (frame < NB_ETH_MIN_FRAME)
		return "below Ethernet's 64-byte minimum frame";
	if (frame < NB_ETH_OVERHEAD_BYTES + NB_UDP_HDR_BYTES)
		return "its UDP payload is shorter than nbench's 8-byte sequence header";
	if (frame - NB_ETH_OVERHEAD_BYTES > NB_MAX_UDP_BYTES)
		return "its UDP payload is above UDP's 65507-byte maximum";
	uint32_t max = x->eng ? x->eng->caps.max_msg_bytes : 0;
	if (max && frame - NB_ETH_OVERHEAD_BYTES > max)
		return "the engine's port sends no datagram this large (its MTU)";
	return NULL;
}

/* ---- the report ---------------------------------------------------------------------------------------- */

static double l2_bps(const struct tput_size *s)
{
	return s->res.rate_fps * s->frame_bytes * 8.0;
}

static double l1_bps(const struct tput_size *s)
{
	return s->res.rate_fps * (s->frame_bytes + NB_ETH_L1_EXTRA_BYTES) * 8.0;
}

static void write_text(const struct tput_opts *o, const struct tput_ctx *x, const struct tput_size *sz,
		       unsigned n, FILE *out)
{
	char a[32], b[32];
	fprintf(out, "nbench throughput (RFC 2544): engine %s, %s, loss <= %g%%, trials of %g s\n",
		o->t.cfg.engine, x->path[0] ? x->path : o->t.cfg.host, o->loss_pct,
		(double)o->trial_ns / NB_NS_PER_S);
	fprintf(out, "placement: generator cpus %s (%s), responder cpus %s (%s)\n", x->gen_cpus, x->gen_wait,
		x->resp_cpus, x->resp_wait);
	fprintf(out, "%6s %7s %14s %12s %12s %9s %6s %8s\n", "frame", "payload", "frames/s", "L2 bit/s",
		"L1 bit/s", "loss", "trials", "time");
	for (unsigned i = 0; i < n; i++) {
		const struct tput_size *s = &sz[i];
		if (s->unsupported) {
			fprintf(out, "%6u %7s  not sent: %s\n", s->frame_bytes, "-", s->unsupported);
			continue;
		}
		if (!s->res.found) {
			fprintf(out, "%6u %7u %14s %12s %12s %8.3f%% %6u %7.1fs  %s\n", s->frame_bytes,
				s->payload_bytes, "not found", "-", "-", s->res.fail_loss_pct, s->res.trials,
				s->search_s, s->error[0] ? s->error : "(loss above the bound at every rate)");
			continue;
		}
		fprintf(out, "%6u %7u %14.0f %12s %12s %8.3f%% %6u %7.1fs%s%s\n", s->frame_bytes,
			s->payload_bytes, s->res.rate_fps, nb_fmt_bps(l2_bps(s), a, sizeof(a)),
			nb_fmt_bps(l1_bps(s), b, sizeof(b)), s->res.loss_pct, s->res.trials, s->search_s,
			s->error[0] ? "  stopped: " : "", s->error);
	}
	for (unsigned i = 0; i < n; i++) {
		const struct tput_size *s = &sz[i];
		if (!s->n_lat)
			continue;
		if (i == 0 || !sz[i - 1].n_lat)
			fprintf(out,
				"\nlatency under load (UDP rr probe, %.0f/s):\n%6s %6s %14s %14s %10s %10s "
				"%10s %10s\n",
				PROBE_DEFAULT_TPS, "frame", "load", "offered f/s", "achieved f/s", "p50",
				"p90", "p99", "max");
		for (unsigned k = 0; k < s->n_lat; k++) {
			const struct tput_lat *L = &s->lat[k];
			char p50[16], p90[16], p99[16], mx[16];
			fprintf(out, "%6u %5.0f%% %14.0f %14.0f %10s %10s %10s %10s%s\n", s->frame_bytes,
				L->load_pct, L->offered_fps, L->achieved_fps,
				nb_fmt_ns(L->lat.p50_ns, p50, sizeof(p50)),
				nb_fmt_ns(L->lat.p90_ns, p90, sizeof(p90)),
				nb_fmt_ns(L->lat.p99_ns, p99, sizeof(p99)),
				nb_fmt_ns(L->lat.max_ns, mx, sizeof(mx)), L->ok ? "" : "  (failed)");
		}
	}
}

static cJSON *size_json(const struct tput_size *s)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "frame_bytes", s->frame_bytes);
	cJSON_AddNumberToObject(j, "udp_payload_bytes", s->payload_bytes);
	if (s->unsupported) {
		cJSON_AddStringToObject(j, "unsupported", s->unsupported);
		return j;
	}
	cJSON_AddBoolToObject(j, "found", s->res.found);
	cJSON_AddNumberToObject(j, "rate_fps", s->res.rate_fps);
	cJSON_AddNumberToObject(j, "l2_bps", l2_bps(s));
	cJSON_AddNumberToObject(j, "l1_bps", l1_bps(s));
	cJSON_AddNumberToObject(j, "loss_pct", s->res.loss_pct);
	cJSON_AddNumberToObject(j, "frames_sent", (double)s->res.sent);
	cJSON_AddNumberToObject(j, "frames_lost", (double)s->res.lost);
	cJSON_AddNumberToObject(j, "max_fps", s->res.max_fps);
	cJSON_AddNumberToObject(j, "max_rx_fps", s->res.max_rx_fps);
	cJSON_AddNumberToObject(j, "fail_fps", s->res.fail_fps);
	cJSON_AddNumberToObject(j, "fail_loss_pct", s->res.fail_loss_pct);
	cJSON_AddNumberToObject(j, "trials", s->res.trials);
	cJSON_AddNumberToObject(j, "search_s", s->search_s);
	if (s->error[0])
		cJSON_AddStringToObject(j, "error", s->error);
	if (s->n_lat) {
		cJSON *a = cJSON_AddArrayToObject(j, "latency");
		for (unsigned k = 0; k < s->n_lat; k++) {
			cJSON *l = cJSON_CreateObject();
			cJSON_AddNumberToObject(l, "load_pct", s->lat[k].load_pct);
			cJSON_AddNumberToObject(l, "offered_fps", s->lat[k].offered_fps);
			cJSON_AddNumberToObject(l, "achieved_fps", s->lat[k].achieved_fps);
			cJSON_AddBoolToObject(l, "complete", s->lat[k].ok);
			cJSON_AddNumberToObject(l, "timeouts", (double)s->lat[k].timeouts);
			cJSON_AddNumberToObject(l, "transactions", (double)s->lat[k].lat.count);
			cJSON_AddItemToObject(l, "latency_ns", nb_report_latency_json(&s->lat[k].lat));
			cJSON_AddItemToArray(a, l);
		}
	}
	return j;
}

/* The JSON report (what --json prints and what --baseline compares against). */
static cJSON *throughput_doc(const struct tput_opts *o, const struct tput_ctx *x, const struct tput_size *sz,
			     unsigned n)
{
	cJSON *root = cJSON_CreateObject(), *st = cJSON_AddObjectToObject(root, "start");
	cJSON_AddNumberToObject(root, "schema_version", NB_REPORT_SCHEMA_VERSION);
	cJSON_AddStringToObject(root, "kind", "throughput");
	cJSON_AddStringToObject(st, "nbench_version", NB_VERSION);
	cJSON_AddStringToObject(st, "timestamp", x->timestamp);
	cJSON_AddStringToObject(st, "cmdline", o->cmdline);
	cJSON_AddStringToObject(st, "engine", o->t.cfg.engine);
	cJSON_AddStringToObject(st, "host", o->t.cfg.host);
	cJSON_AddStringToObject(st, "path", x->path);
	cJSON_AddStringToObject(st, "client_kernel", x->client.kernel);
	cJSON_AddStringToObject(st, "server_kernel", x->server.kernel);
	cJSON_AddNumberToObject(st, "loss_pct", o->loss_pct);
	cJSON_AddNumberToObject(st, "trial_s", (double)o->trial_ns / NB_NS_PER_S);
	cJSON_AddNumberToObject(st, "resolution_pct", o->res_pct);
	cJSON_AddNumberToObject(st, "resolution_l1_bps", o->res_l1_bps);
	cJSON_AddNumberToObject(st, "max_l1_bps", o->max_l1_bps);
	cJSON *pl = cJSON_AddObjectToObject(st, "placement");
	cJSON_AddStringToObject(pl, "gen_cpus", x->gen_cpus);
	cJSON_AddStringToObject(pl, "resp_cpus", x->resp_cpus);
	cJSON_AddStringToObject(pl, "gen_wait", x->gen_wait);
	cJSON_AddStringToObject(pl, "resp_wait", x->resp_wait);
	cJSON *a = cJSON_AddArrayToObject(root, "sizes");
	for (unsigned i = 0; i < n; i++)
		cJSON_AddItemToArray(a, size_json(&sz[i]));
	return root;
}

static int write_json(const struct tput_opts *o, const struct tput_ctx *x, const struct tput_size *sz,
		      unsigned n, FILE *out)
{
	cJSON *root = throughput_doc(o, x, sz, n);
	char *txt = cJSON_Print(root);
	cJSON_Delete(root);
	if (!txt)
		return -ENOMEM;
	int r = fprintf(out, "%s\n", txt) < 0 ? -EIO : 0;
	free(txt);
	return r;
}

static void write_csv(const struct tput_size *sz, unsigned n, FILE *out)
{
	fprintf(out, "frame_bytes,udp_payload_bytes,found,rate_fps,l2_bps,l1_bps,loss_pct,trials,search_s,"
		     "unsupported\n");
	for (unsigned i = 0; i < n; i++) {
		const struct tput_size *s = &sz[i];
		fprintf(out, "%u,%u,%d,%.0f,%.0f,%.0f,%.6f,%u,%.3f,%s\n", s->frame_bytes, s->payload_bytes,
			s->res.found, s->res.rate_fps, l2_bps(s), l1_bps(s), s->res.loss_pct, s->res.trials,
			s->search_s, s->unsupported ? s->unsupported : "");
	}
}

static int write_report(const struct tput_opts *o, const struct tput_ctx *x, const struct tput_size *sz,
			unsigned n, FILE *out)
{
	switch (o->t.format) {
	case CLI_JSON:
		return write_json(o, x, sz, n, out);
	case CLI_CSV:
		write_csv(sz, n, out);
		return 0;
	default:
		write_text(o, x, sz, n, out);
		return 0;
	}
}

/* ---- options ------------------------------------------------------------------------------------------ */

static void help(void)
{
	printf(
	    "usage: nbench throughput (-H HOST | --path PATH | --topo NAME) [options]\n\n"
	    "  RFC 2544 throughput: per Ethernet frame size, the highest offered rate (a paced UDP stream)\n"
	    "  whose loss stays within --loss, by binary search over trials.\n\n"
	    "      --sizes LIST       frame sizes in bytes (64,128,256,512,1024,1280,1518); the UDP payload\n"
	    "                         is the frame less 46 (Ethernet 14, FCS 4, IPv4 20, UDP 8)\n"
	    "      --loss PCT         loss allowed in a passing trial, in percent (0)\n"
	    "      --trial SEC        each trial's duration (2)\n"
	    "      --resolution R     stop when the search interval is within R: a percentage of the\n"
	    "                         upper bound (1%%) or an L1 rate in bits/s (k, M, G)\n"
	    "      --max-rate R       the upper bound, L1 bits/s (the line rate); default: each size's\n"
	    "                         first trial runs unpaced and what it offered is the bound\n"
	    "      --latency          a UDP rr probe (1000/s) beside the stream at 10/50/90/100%% of each\n"
	    "                         found rate\n"
	    "  and the stream options that say where and how: -H, --port, --data-host, --path, --topo,\n"
	    "  --engine, --cpu-gen, --cpu-resp, --spin, --busy-poll, -P, --json, --csv, -o, -q, and\n");
	printf(CLI_DPDK_HELP);
}

/* The options only throughput takes; the rest go to the stream parser. */
enum { T_SIZES, T_LOSS, T_TRIAL, T_RES, T_MAX, T_LATENCY, T_N };
static const struct {
	const char *name;
	bool arg;
} t_opts[T_N] = {{"sizes", true},      {"loss", true},	   {"trial", true},
		 {"resolution", true}, {"max-rate", true}, {"latency", false}};
/* stream options that the search sets itself */
static const char *const t_refused[] = {"-t",	     "--time",	"--msg-size", "-b", "--rate",
					"--reverse", "--proto", "--warmup",   "-i", "--interval"};

static int parse_sizes(const char *arg, struct tput_opts *o)
{
	char buf[256];
	if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
		return -EINVAL;
	o->n_sizes = 0;
	for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t u;
		if (o->n_sizes == MAX_SIZES || nb_parse_uint(tok, 1, MAX_FRAME_BYTES, &u) < 0)
			return -EINVAL;
		o->sizes[o->n_sizes++] = (unsigned)u;
	}
	return o->n_sizes ? 0 : -EINVAL;
}

static int parse_pct(const char *arg, double lo, double hi, double *ret)
{
	char *end;
	double d = strtod(arg, &end);
	if (end == arg || (*end && strcmp(end, "%")) || !(d >= lo && d < hi))
		return -EINVAL;
	*ret = d;
	return 0;
}

static int apply_t_opt(int i, const char *arg, struct tput_opts *o)
{
	const char *cmd = "throughput";
	int64_t ns;
	double d;
	switch (i) {
	case T_SIZES:
		if (parse_sizes(arg, o) < 0)
			return cli_usage_error(cmd,
					       "--sizes: '%s' is not a list of at most %d frame sizes from 1 "
					       "to %u",
					       arg, MAX_SIZES, MAX_FRAME_BYTES);
		return 0;
	case T_LOSS:
		if (parse_pct(arg, 0, 100, &o->loss_pct) < 0)
			return cli_usage_error(cmd, "--loss: '%s' is not a percentage from 0 to below 100",
					       arg);
		return 0;
	case T_TRIAL:
		if (nb_parse_duration(arg, &ns) < 0 || ns < 100 * NB_NS_PER_MS || ns > 3600 * NB_NS_PER_S)
			return cli_usage_error(cmd, "--trial: '%s' is not a duration from 100ms to 3600 s",
					       arg);
		o->trial_ns = ns;
		return 0;
	case T_RES:
		o->res_pct = o->res_l1_bps = 0;
		if (strchr(arg, '%') ? parse_pct(arg, 1e-6, 50, &o->res_pct) < 0
				     : nb_parse_rate(arg, &o->res_l1_bps) < 0 || o->res_l1_bps <= 0)
			return cli_usage_error(cmd,
					       "--resolution: '%s' is not a percentage above 0 and below "
					       "50%% or a rate in bits/s",
					       arg);
		return 0;
	case T_MAX:
		if (nb_parse_rate(arg, &d) < 0 || d <= 0 || d > NB_MAX_RATE_BPS)
			return cli_usage_error(cmd,
					       "--max-rate: '%s' is not a rate in bits/s above 0 and at most "
					       "10T",
					       arg);
		o->max_l1_bps = d;
		return 0;
	case T_LATENCY:
		o->latency = true;
		return 0;
	}
	return 0;
}

/* argv[i] as one of t_opts: its index (and *val its value, from "--x=v" or the next argument), -1 when it is
 * not one, -2 after an error. */
static int match_t_opt(int argc, char **argv, int *i, const char **val)
{
	const char *a = argv[*i];
	if (strncmp(a, "--", 2))
		return -1;
	for (int k = 0; k < T_N; k++) {
		size_t len = strlen(t_opts[k].name);
		if (strncmp(a + 2, t_opts[k].name, len) || (a[2 + len] && a[2 + len] != '='))
			continue;
		if (!t_opts[k].arg) {
			*val = NULL;
			return a[2 + len] ? (cli_usage_error("throughput", "%s takes no value", a), -2) : k;
		}
		if (a[2 + len] == '=')
			*val = a + 3 + len;
		else if (*i + 1 < argc)
			*val = argv[++*i];
		else
			return cli_usage_error("throughput", "%s needs a value", a), -2;
		return k;
	}
	return -1;
}

/* 0, 1 after --help, 2 after an error. */
static int parse(int argc, char **argv, struct tput_opts *o)
{
	char **rest = calloc((size_t)argc + 8, sizeof(char *));
	int n = 0, r = 0;
	if (!rest)
		return 2;
	memset(o, 0, sizeof(*o));
	memcpy(o->sizes, default_sizes, sizeof(default_sizes));
	o->n_sizes = sizeof(default_sizes) / sizeof(default_sizes[0]);
	o->trial_ns = DEFAULT_TRIAL_NS;
	o->res_pct = DEFAULT_RES_PCT;
	size_t off = (size_t)snprintf(o->cmdline, sizeof(o->cmdline), "nbench throughput");
	for (int i = 1; i < argc && off < sizeof(o->cmdline); i++)
		off += (size_t)snprintf(o->cmdline + off, sizeof(o->cmdline) - off, " %s", argv[i]);
	rest[n++] = "stream";
	rest[n++] = "--proto";
	rest[n++] = "udp";
	for (int i = 1; i < argc && !r; i++) {
		const char *val;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			help();
			r = 1;
			break;
		}
		for (size_t k = 0; k < sizeof(t_refused) / sizeof(t_refused[0]); k++)
			if (!strncmp(argv[i], t_refused[k], strlen(t_refused[k])) &&
			    (!argv[i][strlen(t_refused[k])] || argv[i][strlen(t_refused[k])] == '='))
				r = cli_usage_error(
				    "throughput", "%s is set by the search (see --trial, --sizes)", argv[i]);
		int k = r ? -2 : match_t_opt(argc, argv, &i, &val);
		if (k == -2)
			r = 2;
		else if (k >= 0)
			r = apply_t_opt(k, val, o);
		else
			rest[n++] = argv[i];
	}
	if (!r)
		r = cli_parse_test(n, rest, &o->t);
	if (!r)
		r = cli_baseline_ready("throughput", o->t.baseline, o->t.tolerance, &o->tol_pct);
	free(rest);
	return r;
}

/* --baseline: 1 when a rate is worse than the baseline's beyond --tolerance (each named on stderr), else 0.
 */
static int baseline_gate(const struct tput_opts *o, const struct tput_ctx *x, const struct tput_size *sz)
{
	char note[512];
	if (!o->t.baseline)
		return 0;
	cJSON *doc = throughput_doc(o, x, sz, o->n_sizes);
	int g =
	    doc ? cli_baseline_check("throughput", o->t.baseline, o->tol_pct, doc, note, sizeof(note)) : 1;
	cJSON_Delete(doc);
	return g;
}

int cmd_throughput(int argc, char **argv)
{
	struct tput_opts o;
	int r = parse(argc, argv, &o);
	if (r)
		return r == 1 ? 0 : r;
	cli_catch_signals();
	struct tput_ctx x = {.o = &o, .quiet = o.t.quiet};
	struct tput_size *sz = calloc(o.n_sizes, sizeof(*sz));
	if (!sz)
		return 1;
	if ((r = ctx_open(&x)) < 0) {
		fprintf(stderr, "nbench throughput: %s\n", x.error);
		ctx_close(&x);
		free(sz);
		return r == -EINVAL || r == -ENOENT ? 2 : 1;
	}
	bool failed = false;
	for (unsigned i = 0; i < o.n_sizes; i++) {
		struct tput_size *s = &sz[i];
		s->frame_bytes = o.sizes[i];
		s->payload_bytes =
		    s->frame_bytes > NB_ETH_OVERHEAD_BYTES ? s->frame_bytes - NB_ETH_OVERHEAD_BYTES : 0;
		s->unsupported = size_unsupported(&x, s->frame_bytes);
		if (!s->unsupported && !cli_quitting())
			search_size(&x, s);
		failed |= s->error[0] != '\0' || cli_quitting();
	}
	ctx_close(&x);
	write_report(&o, &x, sz, o.n_sizes, stdout);
	if (o.t.output) {
		FILE *f = fopen(o.t.output, "w");
		if (!f || write_report(&o, &x, sz, o.n_sizes, f) < 0) {
			fprintf(stderr, "nbench throughput: cannot write %s: %s\n", o.t.output,
				strerror(errno));
			failed = true;
		}
		if (f)
			fclose(f);
	}
	for (unsigned i = 0; i < o.n_sizes; i++)
		if (sz[i].error[0])
			fprintf(stderr, "nbench throughput: %u-byte frames: %s\n", sz[i].frame_bytes,
				sz[i].error);
	int gate = failed ? 0 : baseline_gate(&o, &x, sz);
	free(sz);
	return failed ? 1 : gate;
}

/* ---- rr --load ------------------------------------------------------------------------------------------
 */

static void fill_load(struct nb_report *rep, const struct nb_test_cfg *load, const struct nb_report *idle,
		      const struct nb_report *lr)
{
	struct nb_report_load *L = &rep->load;
	L->on = true;
	L->proto = load->proto;
	L->offered_bps = load->rate_bps;
	L->achieved_bps = lr->goodput_bps;
	L->loss_pct = lr->loss_pct;
	L->idle_txns = idle->txns;
	L->idle_tps = idle->tps;
	L->idle_timeouts = idle->timeouts;
	L->idle_lat = idle->lat;
}

int cli_run_loaded(struct cli_test *t, struct nb_report *rep)
{
	struct tput_opts o = {.t = *t};
	struct tput_ctx x = {.o = &o, .quiet = true};
	struct nb_report idle, lr;
	int r;

	if ((r = ctx_open(&x)) < 0) {
		ctx_close(&x);
		snprintf(rep->error, sizeof(rep->error), "%s", x.error);
		rep->complete = false;
		return r == -EINVAL || r == -ENOENT ? 2 : 1;
	}
	if (x.eng && x.eng->caps.one_test) {
		ctx_close(&x);
		snprintf(rep->error, sizeof(rep->error),
			 "--load: the %s engine's responder runs one test at a time (the probe and the load "
			 "are two)",
			 t->cfg.engine);
		return 2;
	}
	struct nb_test_cfg probe = t->cfg, load = t->cfg;
	if (probe.rate_tps == 0)
		probe.rate_tps = PROBE_DEFAULT_TPS;
	probe.interval_ns = 0;
	if (probe.warmup_ns < LOAD_LEAD_NS)
		probe.warmup_ns = LOAD_LEAD_NS;
	load.kind = NB_TEST_STREAM;
	load.proto = t->load_proto;
	load.reverse = false;
	load.flows = 1;
	load.msg_bytes = 0;
	load.rate_bps = t->load_bps;
	load.rate_tps = 0;
	nb_cfg_resolve(&load);

	nb_report_init(&idle);
	r = ctx_run(&x, &probe, &idle);
	if (r == 0 && idle.complete) {
		nb_report_free(rep);
		r = probe_under_load(&x, &probe, &load, rep, &lr);
		fill_load(rep, &load, &idle, &lr);
		if (r == 0 && !lr.complete)
			r = -EIO;
		if (r < 0 && rep->complete) {
			rep->complete = false;
			snprintf(rep->error, sizeof(rep->error), "the load stream: %.200s",
				 lr.error[0] ? lr.error : strerror(-r));
		}
		nb_report_free(&lr);
	} else {
		rep->complete = false;
		snprintf(rep->error, sizeof(rep->error), "the idle probe: %.200s",
			 idle.error[0] ? idle.error : strerror(r ? -r : EIO));
	}
	snprintf(rep->cmdline, sizeof(rep->cmdline), "%s", t->cmdline);
	nb_report_free(&idle);
	ctx_close(&x);
	return rep->complete ? 0 : 1;
}
