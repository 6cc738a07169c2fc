/* SPDX-License-Identifier: MIT */
/*
 * The generator's run of one test: control handshake, data flows, the timed run with its warm-up and
 * interim intervals, the responder's results, and the report.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nbench/clock.h"
#include "nbench/cpu.h"
#include "nbench/engine.h"
#include "nbench/proto.h"
#include "nbench/run.h"
#include "nbench/sysinfo.h"
#include "nbench/workload.h"

#define CTRL_TIMEOUT_NS	  (5 * NB_NS_PER_S)
#define UDP_HELLO_TRIES	  15
#define UDP_HELLO_WAIT_NS (200 * NB_NS_PER_MS)
#define CHECK_EVERY_NS	  (200 * NB_NS_PER_MS)
#define UDP_DRAIN_NS	  (100 * NB_NS_PER_MS)
/* After the end of the window, a flow that has not finished by this much later is woken by a shutdown. */
#define FLOW_GRACE_NS (10 * NB_NS_PER_S)

struct gflow {
	struct nb_flow_ctx ctx;
	struct nb_flow_live live;
	struct nb_hist *hist;
	pthread_t th;
	bool started;
	bool finished;
	uint64_t bytes_at_measure;
	int64_t t_measure_ns;
};

struct run {
	const struct nb_test_cfg *cfg;
	const struct nb_run_hooks *hooks;
	struct nb_report *rep;
	struct nb_engine *eng;
	int ctrl;
	char data_host[64];
	uint64_t test_id;
	struct gflow *flows;
	unsigned nflows;
	int stop;
	int64_t t_start, t_measure, t_end;
	unsigned char hello[256];
	size_t hello_len;
	/* CPU */
	struct nb_cpu_meter *meter;
	struct nb_cpu_snap snap_a, snap_b;
	bool have_a, have_b;
};

static int run_fail(struct run *R, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int run_fail(struct run *R, int rc, const char *fmt, ...)
{
	if (!R->rep->error[0]) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(R->rep->error, sizeof(R->rep->error), fmt, ap);
		va_end(ap);
	}
	R->rep->complete = false;
	return rc < 0 ? rc : -EPROTO;
}

/* Receives the next frame of a given type; an ERROR frame becomes the run's error. */
static int expect(struct run *R, enum nb_msg_type want, int64_t timeout_ns, cJSON **ret)
{
	uint16_t type, peer_ver = 0;
	cJSON *body = NULL;
	int r =
	    nb_proto_recv(R->ctrl, timeout_ns < 0 ? -1 : nb_now_ns() + timeout_ns, &type, &body, &peer_ver);
	if (r == -EPROTONOSUPPORT)
		return run_fail(R, r,
				"protocol version mismatch: this client speaks version %u, the responder "
				"speaks version %u",
				NB_PROTO_VERSION, peer_ver);
	if (r == -ETIMEDOUT)
		return run_fail(R, r, "the responder did not answer within %lld s",
				(long long)(timeout_ns / NB_NS_PER_S));
	if (r < 0)
		return run_fail(R, r, "control connection: %s",
				r == -ECONNRESET ? "closed by the responder" : strerror(-r));
	if (type == NB_MSG_ERROR) {
		run_fail(R, -EPROTO, "%s", nb_json_str(body, "message", "the responder reported an error"));
		cJSON_Delete(body);
		return -EPROTO;
	}
	if (type != want) {
		cJSON_Delete(body);
		return run_fail(R, -EPROTO, "unexpected control message %u (wanted %u)", type, want);
	}
	if (ret)
		*ret = body;
	else
		cJSON_Delete(body);
	return 0;
}

static int handshake(struct run *R)
{
	const struct nb_test_cfg *cfg = R->cfg;
	struct nb_report *rep = R->rep;
	int r = nb_sock_connect(cfg->host, cfg->port, SOCK_STREAM, &R->ctrl);
	if (r < 0) {
		R->ctrl = -1;
		return run_fail(
		    R, r, "cannot reach the responder at %s port %u: %s (is `nbench serve` running there?)",
		    cfg->host, cfg->port, strerror(-r));
	}
	/* Data flows go to the address the control connection reached, so a name that resolves to several
	 * addresses cannot send UDP to one the responder does not listen on. */
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	getpeername(R->ctrl, (struct sockaddr *)&ss, &sl);
	getnameinfo((struct sockaddr *)&ss, sl, R->data_host, sizeof(R->data_host), NULL, 0, NI_NUMERICHOST);

	cJSON *h = cJSON_CreateObject(), *ack = NULL;
	cJSON_AddNumberToObject(h, "version", NB_PROTO_VERSION);
	cJSON_AddStringToObject(h, "nbench", NB_VERSION);
	cJSON_AddItemToObject(h, "sysinfo", nb_sysinfo_to_json(&rep->client));
	r = nb_proto_send(R->ctrl, NB_MSG_HELLO, h);
	cJSON_Delete(h);
	if (r < 0)
		return run_fail(R, r, "control connection: %s", strerror(-r));
	if ((r = expect(R, NB_MSG_HELLO_ACK, CTRL_TIMEOUT_NS, &ack)) < 0)
		return r;
	nb_sysinfo_from_json(cJSON_GetObjectItemCaseSensitive(ack, "sysinfo"), &rep->server);
	rep->server_pid = (int)nb_json_i64(ack, "pid", 0);
	rep->same_host = rep->server.boot_id[0] && !strcmp(rep->server.boot_id, rep->client.boot_id);
	cJSON_Delete(ack);

	cJSON *t = nb_cfg_to_json(cfg);
	r = nb_proto_send(R->ctrl, NB_MSG_TEST, t);
	cJSON_Delete(t);
	if (r < 0)
		return run_fail(R, r, "control connection: %s", strerror(-r));
	if ((r = expect(R, NB_MSG_TEST_ACK, CTRL_TIMEOUT_NS, &ack)) < 0)
		return r;
	R->test_id = (uint64_t)nb_json_num(ack, "test_id", 0);
	/* a responder whose data path is not the control connection's (DPDK) names its data address */
	const char *da = nb_json_str(ack, "data_addr", NULL);
	if (da && da[0] && strlen(da) < sizeof(R->data_host))
		snprintf(R->data_host, sizeof(R->data_host), "%s", da);
	cJSON_Delete(ack);
	return 0;
}

static int make_hello(struct run *R, unsigned idx, unsigned char *buf, size_t cap, size_t *ret_len)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "test_id", (double)R->test_id);
	cJSON_AddNumberToObject(j, "flow", idx);
	char *txt = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!txt)
		return -ENOMEM;
	ssize_t n = nb_frame_encode(buf, cap, NB_MSG_DATA_HELLO, txt, strlen(txt));
	free(txt);
	if (n < 0)
		return (int)n;
	*ret_len = (size_t)n;
	return 0;
}

static struct nb_flow_opts gen_opts(const struct nb_test_cfg *cfg)
{
	struct nb_flow_opts o = {.proto = cfg->proto,
				 .wait = cfg->wait,
				 .busy_poll_us = cfg->busy_poll_us,
				 .nodelay = cfg->nodelay,
				 .cpu = cfg->cpu_gen};
	return o;
}

static int open_flows(struct run *R)
{
	const struct nb_test_cfg *cfg = R->cfg;
	struct nb_flow_opts o = gen_opts(cfg);
	int r;

	if (cfg->kind == NB_TEST_CRR)
		return make_hello(R, 0, R->hello, sizeof(R->hello), &R->hello_len);
	for (unsigned i = 0; i < R->nflows; i++) {
		struct gflow *g = &R->flows[i];
		unsigned char hello[256];
		size_t hl;
		if ((r = make_hello(R, i, hello, sizeof(hello), &hl)) < 0)
			return run_fail(R, r, "hello: %s", strerror(-r));
		r = nb_engine_open(R->eng, R->data_host, cfg->port, &o, &g->ctx.flow);
		if (r < 0)
			return run_fail(R, r, "data flow %u to %s port %u: %s", i, R->data_host, cfg->port,
					strerror(-r));
		if (cfg->proto == NB_PROTO_TCP) {
			if ((r = nb_flow_send_all(g->ctx.flow, hello, hl)) < 0)
				return run_fail(R, r, "data flow %u: %s", i, strerror(-r));
			continue;
		}
		/* UDP: the hello and its ack may be lost; try again a few times */
		bool acked = false;
		for (int k = 0; k < UDP_HELLO_TRIES && !acked; k++) {
			g->ctx.flow->ops->send(g->ctx.flow, hello, hl);
			unsigned char ab[512];
			int64_t dl = nb_now_ns() + UDP_HELLO_WAIT_NS;
			for (;;) {
				int64_t left = dl - nb_now_ns();
				if (left <= 0)
					break;
				ssize_t n = g->ctx.flow->ops->recv(g->ctx.flow, ab, sizeof(ab), left);
				struct nb_frame_hdr h;
				if (n > 0 && nb_frame_decode_hdr(ab, (size_t)n, &h) == 0 &&
				    h.type == NB_MSG_DATA_ACK) {
					acked = true;
					break;
				}
				if (n < 0 && n != -ECONNREFUSED)
					break;
			}
		}
		if (!acked)
			return run_fail(
			    R, -ETIMEDOUT,
			    "UDP flow %u: no answer from the responder at %s port %u (is UDP blocked on the "
			    "path?)",
			    i, R->data_host, cfg->port);
	}
	return 0;
}

static void *gflow_main(void *arg)
{
	struct gflow *g = arg;
	const struct nb_test_cfg *cfg = g->ctx.cfg;
	if (cfg->cpu_gen >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cfg->cpu_gen, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	switch (cfg->kind) {
	case NB_TEST_STREAM:
		if (cfg->reverse)
			nb_gen_stream_recv(&g->ctx);
		else
			nb_gen_stream_send(&g->ctx);
		break;
	case NB_TEST_RR:
		nb_gen_rr(&g->ctx);
		break;
	case NB_TEST_CRR:
		nb_gen_crr(&g->ctx);
		break;
	}
	__atomic_store_n(&g->finished, true, __ATOMIC_RELEASE);
	return NULL;
}

/* Sums the flows' live counters into an interval since prev; prev becomes now. */
struct totals {
	uint64_t bytes, packets, txns, lat_sum, lost;
};

static void sum_live(struct run *R, struct totals *t)
{
	bool rev = R->cfg->reverse;
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < R->nflows; i++) {
		struct nb_flow_live *l = &R->flows[i].live;
		t->bytes += rev ? nb_peek(&l->bytes_rcvd) : nb_peek(&l->bytes_sent);
		t->packets += rev ? nb_peek(&l->msgs_rcvd) : nb_peek(&l->msgs_sent);
		t->txns += nb_peek(&l->txns);
		t->lat_sum += nb_peek(&l->lat_sum_ns);
		t->lost += nb_peek(&l->lost);
	}
}

static void emit_interval(struct run *R, int64_t t0, int64_t t1, const struct totals *a,
			  const struct totals *b)
{
	struct nb_interval iv = {0};
	double secs = (double)(t1 - t0) / 1e9;
	if (secs <= 0)
		return;
	iv.start_s = (double)(t0 - R->t_start) / 1e9;
	iv.end_s = (double)(t1 - R->t_start) / 1e9;
	iv.warmup = t0 < R->t_measure;
	iv.bytes = b->bytes - a->bytes;
	iv.packets = b->packets - a->packets;
	iv.txns = b->txns - a->txns;
	iv.lost = b->lost - a->lost;
	iv.bps = (double)iv.bytes * 8 / secs;
	iv.tps = (double)iv.txns / secs;
	iv.mean_lat_ns = iv.txns ? (double)(b->lat_sum - a->lat_sum) / (double)iv.txns : 0;
	nb_report_add_interval(R->rep, &iv);
	if (R->hooks && R->hooks->interval)
		R->hooks->interval(R->hooks->arg, R->cfg, &iv);
}

static bool quitting(struct run *R)
{
	return R->hooks && R->hooks->quit && *R->hooks->quit;
}

/* True when every flow thread has ended before the end of the window: they only do that on an error (the
 * responder went away), and the run should end now rather than idle to its end. */
static bool flows_all_ended(struct run *R)
{
	for (unsigned i = 0; i < R->nflows; i++)
		if (!R->flows[i].started || !__atomic_load_n(&R->flows[i].finished, __ATOMIC_ACQUIRE))
			return false;
	return R->nflows > 0;
}

/* The timed part: sleeps to each interval boundary, the warm-up's end and the window's end. */
static void timeline(struct run *R)
{
	const struct nb_test_cfg *cfg = R->cfg;
	struct totals prev, cur;
	int64_t iv = cfg->interval_ns, t_prev = R->t_start, next_iv = iv > 0 ? R->t_start + iv : INT64_MAX;
	bool measured = false;

	sum_live(R, &prev);
	for (;;) {
		int64_t wake = R->t_end;
		if (!measured && R->t_measure < wake)
			wake = R->t_measure;
		if (next_iv < wake)
			wake = next_iv;
		/* sleep in steps so Ctrl-C or a failed flow ends the run within CHECK_EVERY_NS; few enough
		 * wake-ups (5/s) that the controller does not disturb the flows it measures */
		bool ended = false;
		while (nb_now_ns() < wake && !quitting(R) && !(ended = flows_all_ended(R))) {
			int64_t step = wake - nb_now_ns();
			nb_sleep_until(nb_now_ns() + (step < CHECK_EVERY_NS ? step : CHECK_EVERY_NS));
		}
		int64_t now = nb_now_ns();
		if (ended) {
			for (unsigned i = 0; i < R->nflows; i++)
				if (R->flows[i].ctx.rc) {
					run_fail(R, R->flows[i].ctx.rc, "%s", R->flows[i].ctx.err);
					break;
				}
			run_fail(R, -EPIPE, "every flow ended before the end of the test");
			sum_live(R, &cur);
			if (iv > 0)
				emit_interval(R, t_prev, now, &prev, &cur);
			R->t_end = now;
			break;
		}
		if (quitting(R)) {
			run_fail(R, -EINTR, "interrupted");
			R->t_end = now;
			break;
		}
		if (!measured && now >= R->t_measure) {
			measured = true;
			R->have_a = R->meter && nb_cpu_snap(R->meter, &R->snap_a) == 0;
			for (unsigned i = 0; i < R->nflows; i++) {
				R->flows[i].bytes_at_measure = nb_peek(&R->flows[i].live.bytes_rcvd);
				R->flows[i].t_measure_ns = now;
			}
			if (nb_proto_send(R->ctrl, NB_MSG_MEASURE, NULL) < 0) {
				run_fail(R, -ECONNRESET, "control connection lost during the warm-up");
				break;
			}
		}
		if (now >= next_iv || now >= R->t_end) {
			sum_live(R, &cur);
			if (iv > 0)
				emit_interval(R, t_prev, now, &prev, &cur);
			prev = cur;
			t_prev = now;
			next_iv += iv;
		}
		if (now >= R->t_end)
			break;
	}
	R->have_b = R->have_a && nb_cpu_snap(R->meter, &R->snap_b) == 0;
}

static void wake_flows(struct run *R, int how)
{
	for (unsigned i = 0; i < R->nflows; i++)
		if (R->flows[i].ctx.flow)
			R->flows[i].ctx.flow->ops->shutdown(R->flows[i].ctx.flow, how);
}

/* Waits for every flow thread; one still running at the deadline is woken with a shutdown. */
static void join_flows(struct run *R, int64_t deadline_ns)
{
	for (unsigned i = 0; i < R->nflows; i++) {
		struct gflow *g = &R->flows[i];
		if (!g->started)
			continue;
		while (!__atomic_load_n(&g->finished, __ATOMIC_ACQUIRE) && nb_now_ns() < deadline_ns)
			nb_sleep_until(nb_now_ns() + NB_NS_PER_MS);
		if (!__atomic_load_n(&g->finished, __ATOMIC_ACQUIRE)) {
			__atomic_store_n(&R->stop, 1, __ATOMIC_RELAXED);
			if (g->ctx.flow)
				g->ctx.flow->ops->shutdown(g->ctx.flow, SHUT_RDWR);
			if (!R->rep->error[0])
				run_fail(R, -ETIMEDOUT,
					 "flow %u did not finish (the responder stopped answering?)", i);
		}
		pthread_join(g->th, NULL);
		g->started = false;
	}
}

static void cpu_list(struct run *R, char *buf, size_t len)
{
	uint64_t mask = 0;
	for (unsigned i = 0; i < R->nflows; i++)
		mask |= R->flows[i].live.cpu_mask;
	nb_cpu_mask_str(mask, buf, len);
}

static void wait_str(const struct nb_test_cfg *cfg, char *buf, size_t len)
{
	if (cfg->busy_poll_us)
		snprintf(buf, len, "%s+busy_poll=%dus", nb_wait_name(cfg->wait), cfg->busy_poll_us);
	else
		snprintf(buf, len, "%s", nb_wait_name(cfg->wait));
}

/* Folds the responder's RESULT and our own flows into the report's summary. */
static void summarise(struct run *R, const cJSON *res)
{
	const struct nb_test_cfg *cfg = R->cfg;
	struct nb_report *rep = R->rep;
	const cJSON *rflows = res ? cJSON_GetObjectItemCaseSensitive(res, "flows") : NULL;
	bool stream = cfg->kind == NB_TEST_STREAM, udp = cfg->proto == NB_PROTO_UDP;
	struct nb_hist *all = NULL;
	double win_max = 0;

	rep->duration_s = (double)(R->t_end - R->t_measure) / 1e9;
	if (rep->duration_s < 0)
		rep->duration_s = 0;
	rep->n_flows = R->nflows;
	rep->flows = calloc(R->nflows ? R->nflows : 1, sizeof(*rep->flows));
	nb_hist_new(&all);
	for (unsigned i = 0; i < R->nflows; i++) {
		struct gflow *g = &R->flows[i];
		struct nb_flow_result *f = &rep->flows[i];
		const cJSON *rf = cJSON_GetArrayItem(rflows, (int)i);
		f->cpu = g->live.cpu;
		if (stream && !cfg->reverse) {
			f->bytes_sent = g->live.bytes_sent;
			f->msgs_sent = g->live.msgs_sent;
			f->bytes_rcvd = (uint64_t)nb_json_num(rf, "bytes_rcvd", 0);
			f->msgs_rcvd = (uint64_t)nb_json_num(rf, "msgs_rcvd", 0);
			f->reordered = (uint64_t)nb_json_num(rf, "reordered", 0);
			double win = nb_json_num(rf, "window_ns", 0) / 1e9;
			f->goodput_bps = win > 0 ? nb_json_num(rf, "window_bytes", 0) * 8 / win : 0;
			if (win > win_max)
				win_max = win;
		} else if (stream) {
			f->bytes_sent = (uint64_t)nb_json_num(rf, "bytes_sent", 0);
			f->msgs_sent = (uint64_t)nb_json_num(rf, "msgs_sent", 0);
			f->bytes_rcvd = g->live.bytes_rcvd;
			f->msgs_rcvd = g->live.msgs_rcvd;
			f->reordered = g->live.reordered;
			double win = (double)(g->live.t_last_ns - g->t_measure_ns) / 1e9;
			f->goodput_bps = g->t_measure_ns && win > 0
					     ? (double)(f->bytes_rcvd - g->bytes_at_measure) * 8 / win
					     : 0;
			if (win > win_max)
				win_max = win;
		} else {
			f->bytes_sent = g->live.bytes_sent;
			f->txns = g->ctx.txns_measured;
			f->lost = g->live.lost;
			if (all && g->hist)
				nb_hist_merge(all, g->hist);
		}
		if (stream && udp && f->msgs_sent > f->msgs_rcvd)
			f->lost = f->msgs_sent - f->msgs_rcvd;
		rep->bytes_sent += f->bytes_sent;
		rep->bytes_rcvd += f->bytes_rcvd;
		rep->msgs_sent += f->msgs_sent;
		rep->msgs_rcvd += f->msgs_rcvd;
		rep->lost += stream ? f->lost : 0;
		rep->reordered += f->reordered;
		rep->goodput_bps += f->goodput_bps;
		rep->txns += f->txns;
		rep->timeouts += stream ? 0 : f->lost;
	}
	if (cfg->kind == NB_TEST_CRR) {
		/* crr runs its own connections from flow 0's thread context */
		rep->txns = R->flows[0].ctx.txns_measured;
	}
	if (stream && udp && rep->msgs_sent)
		rep->loss_pct = 100.0 * (double)rep->lost / (double)rep->msgs_sent;
	if (!stream) {
		rep->tps = rep->duration_s > 0 ? (double)rep->txns / rep->duration_s : 0;
		if (all)
			nb_hist_stats(all, &rep->lat);
	}
	nb_hist_free(all);

	cpu_list(R, rep->gen_cpus, sizeof(rep->gen_cpus));
	snprintf(rep->resp_cpus, sizeof(rep->resp_cpus), "%s", nb_json_str(res, "resp_cpus", "unknown"));
	wait_str(cfg, rep->gen_wait, sizeof(rep->gen_wait));
	wait_str(cfg, rep->resp_wait, sizeof(rep->resp_wait));
	/* a responder that waits its own way (the DPDK one polls) says so in its result */
	const char *rw = nb_json_str(res, "resp_wait", NULL);
	if (rw && rw[0])
		snprintf(rep->resp_wait, sizeof(rep->resp_wait), "%s", rw);

	/* CPU: one system-wide figure when both ends share the machine; each host's own otherwise */
	if (R->have_b) {
		nb_cpu_cost(&R->snap_a, &R->snap_b, &rep->cpu);
		rep->cpu.resp_ns = (uint64_t)nb_json_num(res, "resp_cpu_ns", 0);
	}
	const cJSON *sc = res ? cJSON_GetObjectItemCaseSensitive(res, "cpu") : NULL;
	if (sc && !rep->same_host) {
		nb_cpu_cost_from_json(sc, &rep->server_cpu);
		rep->server_cpu_valid = rep->server_cpu.valid;
	}
	uint64_t moved = stream ? rep->bytes_rcvd : 0;
	if (stream) {
		/* bytes in the measured window, at the receiver */
		double wbytes = rep->goodput_bps * rep->duration_s / 8;
		moved = (uint64_t)wbytes;
	}
	if (rep->cpu.valid && rep->cpu.cycles > 0) {
		if (stream && moved)
			rep->cpu.cycles_per_byte = rep->cpu.cycles / (double)moved;
		if (!stream && rep->txns)
			rep->cpu.cycles_per_txn = rep->cpu.cycles / (double)rep->txns;
	}
	if (rep->server_cpu_valid && rep->server_cpu.cycles > 0) {
		if (stream && moved)
			rep->server_cpu.cycles_per_byte = rep->server_cpu.cycles / (double)moved;
		if (!stream && rep->txns)
			rep->server_cpu.cycles_per_txn = rep->server_cpu.cycles / (double)rep->txns;
	}
	if (rep->cpu.disturbed)
		nb_report_note(
		    rep,
		    "CPU disturbed: other processes used %.1f ms of CPU during the window; repeat the run",
		    (double)rep->cpu.other_ns / 1e6);
	(void)win_max;
}

int nb_run(const struct nb_test_cfg *cfg, const struct nb_run_hooks *hooks, struct nb_report *rep)
{
	struct run R = {.cfg = cfg, .hooks = hooks, .rep = rep, .ctrl = -1};
	cJSON *res = NULL;
	bool reverse_stream = cfg->kind == NB_TEST_STREAM && cfg->reverse;
	int r;

	rep->cfg = *cfg;
	rep->complete = true;
	nb_sysinfo_get(&rep->client);
	nb_fmt_iso8601(nb_realtime_ns(), rep->timestamp, sizeof(rep->timestamp));
	snprintf(rep->nbench_version, sizeof(rep->nbench_version), "%s", NB_VERSION);
	struct nb_engine *own = NULL; /* the engine started here, when the caller started none */
	R.eng = hooks ? hooks->engine : NULL;
	if (!R.eng) {
		const struct nb_engine_ops *ops = nb_engine_find(cfg->engine);
		char err[256];
		if (!ops) {
			r = run_fail(&R, -EINVAL, "engine %s is not built into this nbench", cfg->engine);
			goto out;
		}
		if ((r = nb_engine_start(ops, cfg, &own, err, sizeof(err))) < 0) {
			r = run_fail(&R, r, "%s", err);
			goto out;
		}
		R.eng = own;
	}
	R.nflows = cfg->kind == NB_TEST_CRR ? 1 : cfg->flows;
	R.flows = calloc(R.nflows, sizeof(*R.flows));
	if (!R.flows) {
		r = run_fail(&R, -ENOMEM, "out of memory");
		goto out;
	}
	if ((r = handshake(&R)) < 0)
		goto out;
	if ((r = open_flows(&R)) < 0)
		goto out;
	if ((r = expect(&R, NB_MSG_READY, CTRL_TIMEOUT_NS + 2 * NB_NS_PER_S, NULL)) < 0)
		goto out;

	nb_cpu_meter_open(true, &R.meter);
	if (R.meter && rep->same_host && rep->server_pid > 0)
		nb_cpu_meter_exclude(R.meter, rep->server_pid);
	/* what this process started (a path's responder or guest) is part of the test, not a disturbance */
	if (R.meter)
		nb_cpu_meter_exclude(R.meter, getpid());
	for (unsigned i = 0; R.meter && hooks && i < hooks->n_exclude; i++)
		nb_cpu_meter_exclude(R.meter, hooks->exclude[i]);

	if ((r = nb_proto_send(R.ctrl, NB_MSG_START, NULL)) < 0) {
		run_fail(&R, r, "control connection: %s", strerror(-r));
		goto out;
	}
	R.t_start = nb_now_ns();
	R.t_measure = R.t_start + cfg->warmup_ns;
	R.t_end = R.t_measure + cfg->duration_ns;
	for (unsigned i = 0; i < R.nflows; i++) {
		struct gflow *g = &R.flows[i];
		g->live.cpu = -1;
		g->ctx.cfg = cfg;
		g->ctx.index = i;
		g->ctx.live = &g->live;
		g->ctx.stop = &R.stop;
		g->ctx.t_start_ns = R.t_start;
		g->ctx.t_measure_ns = R.t_measure;
		g->ctx.t_end_ns = R.t_end;
		g->ctx.rate_tps = cfg->rate_tps / R.nflows;
		g->ctx.rate_bps = cfg->rate_bps / R.nflows;
		g->ctx.engine = R.eng;
		g->ctx.host = R.data_host;
		g->ctx.port = cfg->port;
		g->ctx.hello = R.hello;
		g->ctx.hello_len = R.hello_len;
		if (cfg->kind != NB_TEST_STREAM && nb_hist_new(&g->hist) < 0) {
			r = run_fail(&R, -ENOMEM, "out of memory");
			goto stop;
		}
		g->ctx.hist = g->hist;
		if (pthread_create(&g->th, NULL, gflow_main, g) != 0) {
			r = run_fail(&R, -EAGAIN, "cannot start flow threads");
			goto stop;
		}
		g->started = true;
	}
	timeline(&R);
	/* The flow loops end themselves at t_end; how the data path then closes depends on the test. */
	if (quitting(&R)) {
		__atomic_store_n(&R.stop, 1, __ATOMIC_RELAXED);
		wake_flows(&R, SHUT_RDWR);
	}
	if (!reverse_stream) {
		join_flows(&R, nb_now_ns() + FLOW_GRACE_NS);
		if (cfg->proto == NB_PROTO_UDP && cfg->kind == NB_TEST_STREAM)
			nb_sleep_until(nb_now_ns() + UDP_DRAIN_NS); /* datagrams still in flight count */
		wake_flows(&R, SHUT_WR);
	}
stop:
	if (nb_proto_send(R.ctrl, NB_MSG_STOP, NULL) == 0) {
		int er = expect(&R, NB_MSG_RESULT, CTRL_TIMEOUT_NS * 3, &res);
		if (er < 0 && r == 0)
			r = er;
	} else if (!rep->error[0]) {
		r = run_fail(&R, -ECONNRESET, "control connection lost before the results");
	}
	if (reverse_stream) {
		if (cfg->proto == NB_PROTO_UDP) {
			nb_sleep_until(nb_now_ns() + UDP_DRAIN_NS);
			__atomic_store_n(&R.stop, 1, __ATOMIC_RELAXED);
			wake_flows(&R, SHUT_RDWR);
		}
		join_flows(&R, nb_now_ns() + FLOW_GRACE_NS);
	}
	for (unsigned i = 0; i < R.nflows; i++)
		if (R.flows[i].ctx.rc && !rep->error[0])
			r = run_fail(&R, R.flows[i].ctx.rc, "%s", R.flows[i].ctx.err);
	summarise(&R, res);
out:
	if (r < 0 && rep->complete)
		rep->complete = false;
	cJSON_Delete(res);
	if (R.flows) {
		for (unsigned i = 0; i < R.nflows; i++) {
			if (R.flows[i].started) {
				__atomic_store_n(&R.stop, 1, __ATOMIC_RELAXED);
				wake_flows(&R, SHUT_RDWR);
				pthread_join(R.flows[i].th, NULL);
			}
			nb_flow_close(R.flows[i].ctx.flow);
			nb_hist_free(R.flows[i].hist);
		}
		free(R.flows);
	}
	nb_cpu_meter_close(R.meter);
	if (R.ctrl >= 0)
		close(R.ctrl);
	nb_engine_stop(own);
	return rep->complete ? 0 : (r < 0 ? r : -EPROTO);
}
