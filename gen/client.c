/* SPDX-License-Identifier: MIT */
/*
 * The generator's run of one test: control handshake, data flows, the timed run with its warm-up and
 * interim intervals, the responder's results, and the report.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nbench/auth.h"
#include "nbench/chan.h"
#include "nbench/clock.h"
#include "nbench/cpu.h"
#include "nbench/engine.h"
#include "nbench/proto.h"
#include "nbench/gen.h"
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
	/* TCP stream and rr: the socket's state at the previous interval boundary and at MEASURE, and over
	 * the measured window (counters from MEASURE, the rest at its end); invalid when not sampled */
	struct nb_tcpinfo tcp_prev, tcp_at_measure, tcp_window;
};

struct run {
	const struct nb_test_cfg *cfg;
	const struct nb_run_hooks *hooks;
	struct nb_report *rep;
	struct nb_engine *eng;	   /* the data flows' */
	struct nb_engine *eng_own; /* eng, when started here (the caller started none) */
	struct nb_chan ch; /* the control connection (fd -1: none): with the session key's MAC when keyed */
	char data_host[64];
	uint64_t test_id;
	unsigned char token[NB_AUTH_TOKEN_BYTES]; /* TEST_ACK's: every data hello carries it */
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

/* The run's error when the control connection to host:port failed with r: a name that does not resolve
 * says so (a DNS failure is not a connect error); hint follows the connect error. */
static int reach_fail(struct run *R, int r, const char *host, uint16_t port, const char *hint)
{
	char why[128];

	if (nb_sock_name_unresolved(host, why, sizeof(why)))
		return run_fail(R, r, "cannot resolve the responder's name '%s': %s", host, why);
	return run_fail(R, r, "cannot reach the responder at %s port %u: %s%s", host, port, strerror(-r),
			hint);
}

/* Receives the next frame, whatever its type but ERROR, which becomes the run's error (as every failure). */
static int expect_any(struct run *R, int64_t timeout_ns, uint16_t *ret_type, cJSON **ret)
{
	uint16_t type, peer_ver = 0;
	cJSON *body = NULL;
	int r = nb_chan_recv(&R->ch, timeout_ns < 0 ? -1 : nb_now_ns() + timeout_ns, &type, &body, &peer_ver);
	if (r == -EPROTONOSUPPORT)
		return run_fail(R, r,
				"protocol version mismatch: this client speaks version %u, the responder "
				"speaks version %u",
				NB_PROTO_VERSION, peer_ver);
	if (r == -ETIMEDOUT)
		return run_fail(R, r, "the responder did not answer within %lld s",
				(long long)(timeout_ns / NB_NS_PER_S));
	if (r == -EKEYREJECTED)
		return run_fail(
		    R, r,
		    "control connection: a frame without this session's valid MAC (altered or injected "
		    "on the way: a man in the middle?)");
	if (r < 0)
		return run_fail(R, r, "control connection: %s",
				r == -ECONNRESET ? "closed by the responder" : strerror(-r));
	if (type == NB_MSG_ERROR) {
		/* the responder's words, but not its control characters on the user's terminal */
		char shown[4 * sizeof(R->rep->error)];
		run_fail(R, -EPROTO, "%s",
			 nb_printable(nb_json_str(body, "message", "the responder reported an error"), shown,
				      sizeof(shown)));
		cJSON_Delete(body);
		return -EPROTO;
	}
	*ret_type = type;
	*ret = body;
	return 0;
}

/* Receives the next frame of a given type; an ERROR frame becomes the run's error. */
static int expect(struct run *R, enum nb_msg_type want, int64_t timeout_ns, cJSON **ret)
{
	uint16_t type = 0; /* set when expect_any succeeds; gcc -O2 cannot see it */
	cJSON *body = NULL;
	int r = expect_any(R, timeout_ns, &type, &body);
	if (r < 0)
		return r;
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

static int decode_hello_ack(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_hello_ack_from_json(j, ret, err, errlen);
}

static int decode_test_ack(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_test_ack_from_json(j, ret, err, errlen);
}

static int decode_result(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_result_from_json(j, ret, err, errlen);
}

/* Receives the next frame of a given type within timeout_ns and decodes its body into ret. */
static int expect_decoded(struct run *R, enum nb_msg_type want, int64_t timeout_ns,
			  int (*decode)(const cJSON *j, void *ret, char *err, size_t errlen), void *ret)
{
	char err[256];
	cJSON *body = NULL;
	int r = expect(R, want, timeout_ns, &body);
	if (r < 0)
		return r;
	r = decode(body, ret, err, sizeof(err));
	cJSON_Delete(body);
	return r < 0 ? run_fail(R, r, "the responder's answer is malformed: %s", err) : 0;
}

/* addr in its numeric form when it is a numeric address, else as given. */
static void numeric(const char *addr, char *buf, size_t len)
{
	unsigned char a[sizeof(struct in6_addr)];
	int af = strchr(addr, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(af, addr, a) != 1 || !inet_ntop(af, a, buf, (socklen_t)len))
		snprintf(buf, len, "%s", addr);
}

/* Where the data flows go. The client trusts nothing it did not dial: data goes where the control
 * connection went, or to the address the user named with --data-host. A responder that names another data
 * address (DPDK's own) is followed only when the user named that one; otherwise the test is refused. */
static int data_address(struct run *R, const char *named)
{
	const char *want = R->hooks ? R->hooks->data_host : NULL;
	char asked[64] = "", given[64] = "";
	if (named[0])
		numeric(named, asked, sizeof(asked));
	if (want)
		numeric(want, given, sizeof(given));
	if (want && asked[0] && strcmp(asked, given))
		return run_fail(R, -EPROTO, "the responder's data address is %s, not --data-host %s", asked,
				given);
	if (!want && asked[0] && strcmp(asked, R->data_host))
		return run_fail(
		    R, -EPROTO,
		    "the responder asks for the data at %s, not at %s where the control connection "
		    "went: run with --data-host %s to send it there",
		    asked, R->data_host, asked);
	if (want)
		snprintf(R->data_host, sizeof(R->data_host), "%s", given);
	return 0;
}

/* The key's handshake (auth.h), after our HELLO (tr: its nonce and body's hash): the responder proves the key
 * first, over HELLO as we sent it, so one without it learns nothing of our proof and a HELLO altered on the
 * way fails here; then ours, and the channel carries the session key's MAC from now on. A responder that
 * answers anything but a valid CHALLENGE (a keyless one's HELLO_ACK, a wrong key's proof) ends the run. */
static int prove_key(struct run *R, const struct nb_key *key, struct nb_auth_transcript *tr)
{
	struct nb_challenge ch;
	uint16_t type;
	cJSON *body = NULL;
	char err[256];
	int r = expect_any(R, CTRL_TIMEOUT_NS, &type, &body);
	if (r < 0)
		return r;
	bool ok = type == NB_MSG_CHALLENGE && nb_challenge_from_json(body, &ch, err, sizeof(err)) == 0;
	cJSON_Delete(body);
	if (ok) {
		memcpy(tr->server_nonce, ch.nonce, NB_AUTH_NONCE_BYTES);
		ok = nb_auth_verify(key, NB_AUTH_SERVER, tr, ch.proof);
	}
	if (!ok)
		return run_fail(
		    R, -EACCES,
		    "the responder did not prove the key: wrong key or not nbench's responder (or our "
		    "HELLO was altered on the way)");
	struct nb_auth a;
	nb_auth_proof(key, NB_AUTH_CLIENT, tr, a.proof);
	cJSON *j = nb_auth_to_json(&a);
	r = j ? nb_chan_send(&R->ch, NB_MSG_AUTH, j) : -ENOMEM;
	cJSON_Delete(j);
	if (r < 0)
		return run_fail(R, r, "control connection: %s", strerror(-r));
	nb_chan_key(&R->ch, key, tr);
	return 0;
}

/* HELLO h (with a key: its nonce, and the key's handshake after it). 0, or -errno with the run's error. */
static int say_hello(struct run *R, const struct nb_key *key, struct nb_ctrl_hello *h)
{
	struct nb_auth_transcript tr = {.version = NB_PROTO_VERSION};
	if (key) {
		nb_auth_nonce(h->nonce);
		memcpy(tr.client_nonce, h->nonce, NB_AUTH_NONCE_BYTES);
	}
	cJSON *hj = nb_ctrl_hello_to_json(h);
	char *txt = hj ? cJSON_PrintUnformatted(hj) : NULL;
	cJSON_Delete(hj);
	if (!txt)
		return run_fail(R, -ENOMEM, "out of memory");
	nb_auth_hash(txt, strlen(txt), tr.hello_hash); /* the body as it goes on the wire */
	int r = nb_chan_send_text(&R->ch, NB_MSG_HELLO, txt, strlen(txt));
	free(txt);
	if (r < 0)
		return run_fail(R, r, "control connection: %s", strerror(-r));
	return key ? prove_key(R, key, &tr) : 0;
}

static int handshake(struct run *R)
{
	const struct nb_test_cfg *cfg = R->cfg;
	struct nb_report *rep = R->rep;
	int fd, r = nb_sock_connect(cfg->host, cfg->port, SOCK_STREAM, &fd);
	if (r < 0)
		return reach_fail(R, r, cfg->host, cfg->port, " (is `nbench serve` running there?)");
	nb_chan_init(&R->ch, fd, NB_AUTH_CLIENT);
	/* MEASURE follows START at once when there is no warm-up: Nagle would hold it for START's (delayed)
	 * ACK, 40 ms in which the responder's window, its CPU's and its interfaces', has not opened yet */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Data flows go to the address the control connection reached, so a name that resolves to several
	 * addresses cannot send UDP to one the responder does not listen on. */
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	getpeername(fd, (struct sockaddr *)&ss, &sl);
	getnameinfo((struct sockaddr *)&ss, sl, R->data_host, sizeof(R->data_host), NULL, 0, NI_NUMERICHOST);

	const struct nb_key *key = R->hooks ? R->hooks->key : NULL;
	struct nb_ctrl_hello h = {.keyed = key != NULL};
	if (R->eng && R->eng->caps.own_addr) /* our data leaves from the engine's address, not this one */
		snprintf(h.data_src, sizeof(h.data_src), "%s", R->eng->addr);
	if ((r = say_hello(R, key, &h)) < 0)
		return r;
	struct nb_hello_ack ha;
	if ((r = expect_decoded(R, NB_MSG_HELLO_ACK, CTRL_TIMEOUT_NS, decode_hello_ack, &ha)) < 0)
		return r;
	rep->server = ha.sysinfo;
	rep->server_pid = ha.pid;
	rep->same_host = rep->server.boot_id[0] && !strcmp(rep->server.boot_id, rep->client.boot_id);

	cJSON *t = nb_cfg_to_json(cfg);
	r = t ? nb_chan_send(&R->ch, NB_MSG_TEST, t) : -ENOMEM;
	cJSON_Delete(t);
	if (r < 0)
		return run_fail(R, r, "control connection: %s", strerror(-r));
	struct nb_test_ack ta;
	if ((r = expect_decoded(R, NB_MSG_TEST_ACK, CTRL_TIMEOUT_NS, decode_test_ack, &ta)) < 0)
		return r;
	if (ta.mix_shapes != cfg->n_mix)
		return run_fail(
		    R, -EPROTO,
		    "the responder does not answer --mix's shapes (an nbench without --mix): upgrade it");
	R->test_id = ta.test_id;
	memcpy(R->token, ta.token, sizeof(R->token));
	return data_address(R, ta.data_addr);
}

static int make_hello(struct run *R, unsigned idx, unsigned char *buf, size_t cap, size_t *ret_len)
{
	struct nb_data_hello h = {.test_id = R->test_id, .flow = idx};
	memcpy(h.token, R->token, sizeof(h.token));
	ssize_t n = nb_data_hello_encode(buf, cap, &h);
	if (n < 0)
		return (int)n;
	*ret_len = (size_t)n;
	return 0;
}

/* Whether the datagram in buf is a whole DATA_ACK. */
static bool data_ack(const void *buf, size_t len)
{
	struct nb_data_ack a;
	char err[128];
	cJSON *j;
	if (nb_frame_decode_whole(buf, len, NB_MSG_DATA_ACK, &j) < 0)
		return false;
	int r = nb_data_ack_from_json(j, &a, err, sizeof(err));
	cJSON_Delete(j);
	return r == 0;
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
		size_t hl = 0;
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
				if (n > 0 && data_ack(ab, (size_t)n)) {
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

/* The flows' live counters summed at one instant; an interval is the difference of two. */
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

/* Whether the flows' TCP state is sampled: TCP stream and rr (crr's connections last one transaction). */
static bool tcp_sampled(const struct nb_test_cfg *cfg)
{
	return cfg->proto == NB_PROTO_TCP && cfg->kind != NB_TEST_CRR;
}

/* Flow g's TCP socket now into ret; false (ret invalid) when it has none (an engine without a kernel
 * socket) or it cannot be read. The flow's fd stays open until run_free, so its thread may still run. */
static bool flow_tcp(const struct run *R, const struct gflow *g, struct nb_tcpinfo *ret)
{
	memset(ret, 0, sizeof(*ret));
	return tcp_sampled(R->cfg) && g->ctx.flow && nb_tcpinfo_get(g->ctx.flow->fd, ret) == 0;
}

/* The interval's TCP state into ret: each flow's retransmits since its previous sample and its window and
 * RTT now, summed over the flows. */
static void sample_tcp(struct run *R, struct nb_tcpinfo *ret)
{
	struct nb_tcpinfo_sum sum = {0};
	for (unsigned i = 0; i < R->nflows; i++) {
		struct gflow *g = &R->flows[i];
		struct nb_tcpinfo now, d;
		if (!flow_tcp(R, g, &now))
			continue;
		nb_tcpinfo_since(&now, &g->tcp_prev, &d);
		g->tcp_prev = now;
		nb_tcpinfo_sum_add(&sum, &d);
	}
	nb_tcpinfo_sum_get(&sum, ret);
}

/* Each flow's TCP state over the measured window, as its end leaves it (before the flows end their
 * connections): retransmits since MEASURE (since the start when MEASURE never came), the rest now. */
static void window_tcp(struct run *R)
{
	for (unsigned i = 0; i < R->nflows; i++) {
		struct gflow *g = &R->flows[i];
		struct nb_tcpinfo now;
		if (flow_tcp(R, g, &now))
			nb_tcpinfo_since(&now, &g->tcp_at_measure, &g->tcp_window);
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
	sample_tcp(R, &iv.tcp);
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

/* The warm-up is over at now: the CPU's and the flows' counts at the window's start, and MEASURE, so the
 * responder takes its own. 0, or -ECONNRESET with the run's error. */
static int open_window(struct run *R, int64_t now)
{
	/* the interfaces' counters first (start_flows read them when there is no warm-up) */
	if (R->hooks && R->hooks->window && R->t_measure != R->t_start) {
		R->hooks->window(R->hooks->arg, false);
		now = nb_now_ns();
	}
	R->have_a = R->meter && nb_cpu_snap(R->meter, &R->snap_a) == 0;
	for (unsigned i = 0; i < R->nflows; i++) {
		R->flows[i].bytes_at_measure = nb_peek(&R->flows[i].live.bytes_rcvd);
		R->flows[i].t_measure_ns = now;
		flow_tcp(R, &R->flows[i], &R->flows[i].tcp_at_measure);
		/* the intervals from here count from the same sample the window's end does, so their
		 * retransmits add up to no more than its */
		R->flows[i].tcp_prev = R->flows[i].tcp_at_measure;
	}
	if (nb_chan_send(&R->ch, NB_MSG_MEASURE, NULL) < 0)
		return run_fail(R, -ECONNRESET, "control connection lost during the warm-up");
	return 0;
}

/* The timed part: sleeps to each interval boundary, the warm-up's end and the window's end. */
static void timeline(struct run *R)
{
	const struct nb_test_cfg *cfg = R->cfg;
	struct totals prev, cur;
	int64_t iv = cfg->interval_ns, t_prev = R->t_start, next_iv = iv > 0 ? R->t_start + iv : INT64_MAX;
	bool measured = false;

	sum_live(R, &prev);
	for (unsigned i = 0; i < R->nflows; i++)
		flow_tcp(R, &R->flows[i], &R->flows[i].tcp_prev);
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
			if (open_window(R, now) < 0)
				break;
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
	window_tcp(R);
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

/* bits/s of bytes over ns; 0 for an empty window */
static double rate_bps(uint64_t bytes, int64_t ns)
{
	return ns > 0 ? (double)bytes * 8 / ((double)ns / 1e9) : 0;
}

/* One flow's figures: each count from the side that made it, the sender's sends, the receiver's receipts. */
static void flow_figures(const struct run *R, const struct gflow *g, const struct nb_result_flow *rf,
			 struct nb_flow_result *f)
{
	const struct nb_test_cfg *cfg = R->cfg;
	const struct nb_flow_live *l = &g->live;

	f->cpu = l->cpu;
	if (cfg->kind != NB_TEST_STREAM) {
		f->bytes_sent = l->bytes_sent;
		f->txns = g->ctx.txns_measured;
		f->lost = l->lost; /* udp: requests that timed out */
		return;
	}
	if (!cfg->reverse) {
		*f = (struct nb_flow_result){.bytes_sent = l->bytes_sent,
					     .msgs_sent = l->msgs_sent,
					     .bytes_rcvd = rf->bytes_rcvd,
					     .msgs_rcvd = rf->msgs_rcvd,
					     .reordered = rf->reordered,
					     .cpu = l->cpu};
		f->goodput_bps = rate_bps(rf->window_bytes, rf->window_ns);
	} else {
		*f = (struct nb_flow_result){.bytes_sent = rf->bytes_sent,
					     .msgs_sent = rf->msgs_sent,
					     .bytes_rcvd = l->bytes_rcvd,
					     .msgs_rcvd = l->msgs_rcvd,
					     .reordered = l->reordered,
					     .cpu = l->cpu};
		int64_t win = g->t_measure_ns ? l->t_last_ns - g->t_measure_ns : 0;
		f->goodput_bps = rate_bps(f->bytes_rcvd - g->bytes_at_measure, win);
	}
	if (cfg->proto == NB_PROTO_UDP && f->msgs_sent > f->msgs_rcvd)
		f->lost = f->msgs_sent - f->msgs_rcvd;
}

/* The report's per-flow figures and their totals over the measured window. */
static void aggregate(struct run *R, const struct nb_result *res)
{
	static const struct nb_result_flow none; /* no RESULT came: the responder's side counts nothing */
	struct nb_report *rep = R->rep;
	bool stream = R->cfg->kind == NB_TEST_STREAM;
	struct nb_tcpinfo_sum tcp = {0}, server_tcp = {0};

	rep->duration_s = R->t_end > R->t_measure ? (double)(R->t_end - R->t_measure) / 1e9 : 0;
	if (nb_report_set_flows(rep, R->nflows) < 0)
		return;
	for (unsigned i = 0; i < R->nflows; i++) {
		struct nb_flow_result *f = &rep->flows[i];
		const struct nb_result_flow *rf = i < res->n_flows ? &res->flows[i] : &none;
		flow_figures(R, &R->flows[i], rf, f);
		f->tcp = R->flows[i].tcp_window;
		f->server_tcp = tcp_sampled(R->cfg) ? rf->tcp : none.tcp;
		nb_tcpinfo_sum_add(&tcp, &f->tcp);
		nb_tcpinfo_sum_add(&server_tcp, &f->server_tcp);
		rep->bytes_sent += f->bytes_sent;
		rep->bytes_rcvd += f->bytes_rcvd;
		rep->msgs_sent += f->msgs_sent;
		rep->msgs_rcvd += f->msgs_rcvd;
		rep->reordered += f->reordered;
		rep->goodput_bps += f->goodput_bps;
		rep->txns += f->txns;
		*(stream ? &rep->lost : &rep->timeouts) += f->lost;
	}
	nb_tcpinfo_sum_get(&tcp, &rep->tcp);
	nb_tcpinfo_sum_get(&server_tcp, &rep->server_tcp);
	if (rep->tcp.valid && !rep->server_tcp.valid && res->n_flows)
		nb_report_note(rep, "the responder sent no TCP state (an older nbench, or more flows than "
				    "one RESULT holds)");
	if (stream && rep->msgs_sent && R->cfg->proto == NB_PROTO_UDP)
		rep->loss_pct = 100.0 * (double)rep->lost / (double)rep->msgs_sent;
	if (!stream)
		rep->tps = rep->duration_s > 0 ? (double)rep->txns / rep->duration_s : 0;
}

/* rr/crr: the latency figures over every flow's histogram. */
static void latency(struct run *R)
{
	struct nb_hist *all = NULL;
	if (R->cfg->kind == NB_TEST_STREAM || nb_hist_new(&all) < 0)
		return;
	for (unsigned i = 0; i < R->nflows; i++)
		if (R->flows[i].hist)
			nb_hist_merge(all, R->flows[i].hist);
	nb_hist_stats(all, &R->rep->lat);
	for (unsigned k = 0; k < R->cfg->n_mix && k < NB_MAX_MIX; k++) {
		uint64_t n = 0, sum = 0;
		for (unsigned i = 0; i < R->nflows; i++)
			n += R->flows[i].ctx.mix_txns[k], sum += R->flows[i].ctx.mix_lat_ns[k];
		R->rep->mix[k] = (struct nb_report_mix){n, n ? (double)sum / (double)n : 0};
	}
	if (R->hooks && R->hooks->latency)
		nb_hist_merge(R->hooks->latency, all);
	nb_hist_free(all);
}

static void wait_str(const struct nb_test_cfg *cfg, char *buf, size_t len)
{
	if (cfg->busy_poll_us)
		snprintf(buf, len, "%s+busy_poll=%dus", nb_wait_name(cfg->wait), cfg->busy_poll_us);
	else
		snprintf(buf, len, "%s", nb_wait_name(cfg->wait));
}

/* Where each side ran and how it waited. res: NULL when no RESULT came. */
static void placement(struct run *R, const struct nb_result *res)
{
	struct nb_report *rep = R->rep;
	uint64_t mask = 0;
	for (unsigned i = 0; i < R->nflows; i++)
		mask |= R->flows[i].live.cpu_mask;
	nb_cpu_mask_str(mask, rep->gen_cpus, sizeof(rep->gen_cpus));
	snprintf(rep->resp_cpus, sizeof(rep->resp_cpus), "%s", res ? res->cpus : "unknown");
	wait_str(R->cfg, rep->gen_wait, sizeof(rep->gen_wait));
	/* a responder that waits its own way (the DPDK one polls) says so in its result */
	if (res && res->wait[0])
		snprintf(rep->resp_wait, sizeof(rep->resp_wait), "%s", res->wait);
	else
		wait_str(R->cfg, rep->resp_wait, sizeof(rep->resp_wait));
}

/* Cycles per byte moved in the window (stream) or per transaction. */
static void cost_per_unit(const struct nb_report *rep, struct nb_cpu_cost *c)
{
	if (!c->valid || c->cycles <= 0)
		return;
	/* bytes in the measured window, at the receiver */
	uint64_t moved = (uint64_t)(rep->goodput_bps * rep->duration_s / 8);
	if (rep->cfg.kind == NB_TEST_STREAM && moved)
		c->cycles_per_byte = c->cycles / (double)moved;
	if (rep->cfg.kind != NB_TEST_STREAM && rep->txns)
		c->cycles_per_txn = c->cycles / (double)rep->txns;
}

/* CPU: one system-wide figure when both ends share the machine; each host's own otherwise. */
static void cost(struct run *R, const struct nb_result *res)
{
	struct nb_report *rep = R->rep;
	if (R->have_b) {
		nb_cpu_cost(&R->snap_a, &R->snap_b, &rep->cpu);
		/* the responder's threads are part of this machine's busy time only when it runs here: a VM
		 * guest's or another host's CPU time is its own (in server_cpu), not a share of ours */
		rep->cpu.resp_ns = res && rep->same_host ? res->cpu_ns : 0;
	}
	if (res && res->have_cost && !rep->same_host) {
		rep->server_cpu = res->cost;
		rep->server_cpu_valid = rep->server_cpu.valid;
	}
	cost_per_unit(rep, &rep->cpu);
	if (rep->server_cpu_valid)
		cost_per_unit(rep, &rep->server_cpu);
	if (rep->cpu.disturbed)
		nb_report_note(
		    rep,
		    "CPU disturbed: other processes used %.1f ms of CPU during the window; repeat the run",
		    (double)rep->cpu.other_ns / 1e6);
	/* plain rr is unpinned and compare pins: say why the two differ where it matters (cut at 159 bytes)
	 */
	if (rep->cfg.kind != NB_TEST_STREAM && (rep->cfg.cpu_gen < 0 || rep->cfg.cpu_resp < 0) &&
	    rep->client.ncpus > 1)
		nb_report_note(rep,
			       "unpinned: a round trip may wait for the other end's CPU to wake (tens of us "
			       "on a VM, more than a hop); pin as compare does: --cpu-gen 0 --cpu-resp 0");
}

/* The responder's interfaces, for a run whose hooks ask for them (drop notes: the caller's, once every
 * interface is in). */
static void server_ifaces(struct run *R, const struct nb_result *res)
{
	for (unsigned i = 0; res && i < res->n_ifaces; i++) {
		const struct nb_result_iface *f = &res->ifaces[i];
		struct nb_nic_snap d = {.c = (struct nb_nic_counter *)f->counters, .n = f->n_counters};
		if (nb_report_add_server_iface(R->rep, &f->id, f->counted ? &d : NULL, f->left_out) < 0)
			return;
	}
}

/* Folds the responder's result (NULL: none came) and our own flows into the report's summary. */
static void summarise(struct run *R, const struct nb_result *res)
{
	static const struct nb_result empty;
	aggregate(R, res ? res : &empty);
	latency(R);
	placement(R, res);
	cost(R, res);
	if (R->hooks && R->hooks->server_ifaces)
		server_ifaces(R, res);
}

/* The report's meta, the engine and the flow table. */
static int run_init(struct run *R)
{
	const struct nb_test_cfg *cfg = R->cfg;
	struct nb_report *rep = R->rep;

	rep->cfg = *cfg;
	rep->complete = true;
	nb_sysinfo_get(&rep->client);
	nb_fmt_iso8601(nb_realtime_ns(), rep->timestamp, sizeof(rep->timestamp));
	snprintf(rep->nbench_version, sizeof(rep->nbench_version), "%s", NB_VERSION);
	R->eng = R->hooks ? R->hooks->engine : NULL;
	if (!R->eng) {
		const struct nb_engine_ops *ops = nb_engine_find(cfg->engine);
		char err[256];
		int r;
		if (!ops)
			return run_fail(R, -EINVAL, "engine %s is not built into this nbench", cfg->engine);
		if ((r = nb_engine_start(ops, cfg, &R->eng_own, err, sizeof(err))) < 0)
			return run_fail(R, r, "%s", err);
		R->eng = R->eng_own;
	}
	R->nflows = cfg->kind == NB_TEST_CRR ? 1 : cfg->flows;
	R->flows = calloc(R->nflows, sizeof(*R->flows));
	if (!R->flows)
		return run_fail(R, -ENOMEM, "out of memory");
	return 0;
}

/* A system-wide CPU meter that leaves out what is part of the test. */
static void meter_open(struct run *R)
{
	const struct nb_run_hooks *hooks = R->hooks;
	nb_cpu_meter_open(true, &R->meter);
	if (!R->meter)
		return;
	if (R->rep->same_host && R->rep->server_pid > 0)
		nb_cpu_meter_exclude(R->meter, R->rep->server_pid);
	/* what this process started (a path's responder or guest) is part of the test, not a disturbance */
	nb_cpu_meter_exclude(R->meter, getpid());
	for (unsigned i = 0; hooks && i < hooks->n_exclude; i++)
		nb_cpu_meter_exclude(R->meter, hooks->exclude[i]);
}

/* Sends START, fixes the timeline and starts a thread per flow. */
static int start_flows(struct run *R)
{
	const struct nb_test_cfg *cfg = R->cfg;
	int r;

	/* Without a warm-up the window opens with the flows: the interfaces' counters are read before, since
	 * reading them can wait long on the RTNL lock (a namespace being torn down holds it) and a late start
	 * would count fewer packets than the window's transactions (the end's is read after the flows stop).
	 */
	if (R->hooks && R->hooks->window && cfg->warmup_ns == 0)
		R->hooks->window(R->hooks->arg, false);
	if ((r = nb_chan_send(&R->ch, NB_MSG_START, NULL)) < 0)
		return run_fail(R, r, "control connection: %s", strerror(-r));
	R->t_start = nb_now_ns();
	R->t_measure = R->t_start + cfg->warmup_ns;
	R->t_end = R->t_measure + cfg->duration_ns;
	if (R->hooks && R->hooks->bounds)
		R->hooks->bounds(R->hooks->bounds_arg, R->t_measure, R->t_end);
	for (unsigned i = 0; i < R->nflows; i++) {
		struct gflow *g = &R->flows[i];
		g->live.cpu = -1;
		g->ctx.cfg = cfg;
		g->ctx.index = i;
		g->ctx.live = &g->live;
		g->ctx.stop = &R->stop;
		g->ctx.t_start_ns = R->t_start;
		g->ctx.t_measure_ns = R->t_measure;
		g->ctx.t_end_ns = R->t_end;
		g->ctx.rate_tps = cfg->rate_tps / R->nflows;
		g->ctx.rate_bps = cfg->rate_bps / R->nflows;
		g->ctx.engine = R->eng;
		g->ctx.host = R->data_host;
		g->ctx.port = cfg->port;
		g->ctx.hello = R->hello;
		g->ctx.hello_len = R->hello_len;
		if (R->hooks && i < R->hooks->n_txlogs)
			g->ctx.txlog = &R->hooks->txlogs[i];
		if (R->hooks)
			g->ctx.txnotes = R->hooks->txnotes;
		if (cfg->kind != NB_TEST_STREAM && nb_hist_new(&g->hist) < 0)
			return run_fail(R, -ENOMEM, "out of memory");
		g->ctx.hist = g->hist;
		if (pthread_create(&g->th, NULL, gflow_main, g) != 0)
			return run_fail(R, -EAGAIN, "cannot start flow threads");
		g->started = true;
	}
	return 0;
}

/* The flow loops end themselves at t_end; how the data path then closes depends on the test. A forward or
 * rr flow is joined before STOP, so the responder counts everything it sent. */
static void end_flows_before_stop(struct run *R)
{
	if (quitting(R)) {
		__atomic_store_n(&R->stop, 1, __ATOMIC_RELAXED);
		wake_flows(R, SHUT_RDWR);
	}
	if (R->cfg->kind == NB_TEST_STREAM && R->cfg->reverse)
		return;
	join_flows(R, nb_now_ns() + FLOW_GRACE_NS);
	if (R->cfg->proto == NB_PROTO_UDP && R->cfg->kind == NB_TEST_STREAM)
		nb_sleep_until(nb_now_ns() + UDP_DRAIN_NS); /* datagrams still in flight count */
	wake_flows(R, SHUT_WR);
}

/* A reverse stream's receivers run until the responder stops sending, which STOP makes it do. */
static void end_flows_after_stop(struct run *R)
{
	if (R->cfg->kind != NB_TEST_STREAM || !R->cfg->reverse)
		return;
	if (R->cfg->proto == NB_PROTO_UDP) {
		nb_sleep_until(nb_now_ns() + UDP_DRAIN_NS);
		__atomic_store_n(&R->stop, 1, __ATOMIC_RELAXED);
		wake_flows(R, SHUT_RDWR);
	}
	join_flows(R, nb_now_ns() + FLOW_GRACE_NS);
}

/* Sends STOP and decodes the RESULT into res. 0 or -errno (the run's error is set). */
static int stop_and_collect(struct run *R, struct nb_result *res)
{
	if (R->hooks && R->hooks->window)
		R->hooks->window(R->hooks->arg, true);
	if (nb_chan_send(&R->ch, NB_MSG_STOP, NULL) < 0)
		return run_fail(R, -ECONNRESET, "control connection lost before the results");
	int r = expect_decoded(R, NB_MSG_RESULT, CTRL_TIMEOUT_NS * 3, decode_result, res);
	if (r < 0)
		return r;
	unsigned want = R->cfg->kind == NB_TEST_CRR ? 0 : R->cfg->flows;
	if (res->n_flows != want)
		return run_fail(R, -EPROTO, "the responder reported %u flows, the test has %u", res->n_flows,
				want);
	return 0;
}

static void run_free(struct run *R)
{
	if (R->flows) {
		for (unsigned i = 0; i < R->nflows; i++) {
			if (R->flows[i].started) {
				__atomic_store_n(&R->stop, 1, __ATOMIC_RELAXED);
				wake_flows(R, SHUT_RDWR);
				pthread_join(R->flows[i].th, NULL);
			}
			nb_flow_close(R->flows[i].ctx.flow);
			nb_hist_free(R->flows[i].hist);
		}
		free(R->flows);
	}
	nb_cpu_meter_close(R->meter);
	if (R->ch.fd >= 0)
		close(R->ch.fd);
	nb_chan_wipe(&R->ch);
	nb_engine_stop(R->eng_own);
}

/* Everything from the first control message to the report's summary. */
static int run_test(struct run *R)
{
	struct nb_result *res = NULL;
	int r;

	if ((r = handshake(R)) < 0 || (r = open_flows(R)) < 0 ||
	    (r = expect(R, NB_MSG_READY, CTRL_TIMEOUT_NS + 2 * NB_NS_PER_S, NULL)) < 0)
		return r;
	meter_open(R);
	if ((r = start_flows(R)) == 0) {
		timeline(R);
		end_flows_before_stop(R);
	}
	res = malloc(sizeof(*res)); /* its flows and interfaces: 30 KB, not on a flow's stack */
	int rs = res ? stop_and_collect(R, res) : run_fail(R, -ENOMEM, "out of memory");
	if (r == 0)
		r = rs;
	/* a flow of the responder's that failed (a reverse UDP stream refused by ICMP) fails the test */
	if (rs == 0 && res->error[0])
		r = run_fail(R, -EPROTO, "the responder's %s", res->error);
	end_flows_after_stop(R);
	for (unsigned i = 0; i < R->nflows; i++)
		if (R->flows[i].ctx.rc && !R->rep->error[0])
			r = run_fail(R, R->flows[i].ctx.rc, "%s", R->flows[i].ctx.err);
	summarise(R, rs == 0 ? res : NULL);
	free(res);
	return r;
}

int nb_run(const struct nb_test_cfg *cfg, const struct nb_run_hooks *hooks, struct nb_report *rep)
{
	struct run R = {.cfg = cfg, .hooks = hooks, .rep = rep, .ch = {.fd = -1}};
	int r = run_init(&R);
	if (r == 0)
		r = run_test(&R);
	if (r < 0)
		rep->complete = false;
	run_free(&R);
	return rep->complete ? 0 : (r < 0 ? r : -EPROTO);
}

/* ---- a path's server half on the responder's host (nbench serve --paths) ---- */

static int decode_grant(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_path_grant_from_json(j, ret, err, errlen);
}

/* PATH for kind, for_ns, then its grant into ret. 0, or -errno with the run's error. */
static int ask_path(struct run *R, const char *kind, int64_t for_ns, struct nb_path_session *ret)
{
	struct nb_path_req req = {.for_ns = for_ns};
	cJSON *j = nb_path_req_to_json(&req);
	if (j)
		cJSON_ReplaceItemInObject(j, "kind", cJSON_CreateString(kind));
	int r = j ? nb_chan_send(&R->ch, NB_MSG_PATH, j) : -ENOMEM;
	cJSON_Delete(j);
	if (r < 0)
		return run_fail(R, r, "control connection: %s", strerror(-r));
	/* building a path takes a while (namespaces, a responder started and waited for) */
	return expect_decoded(R, NB_MSG_PATH_ACK, 60 * NB_NS_PER_S, decode_grant, &ret->grant);
}

int nb_path_request(const char *host, uint16_t port, const struct nb_key *key, const char *kind,
		    int64_t for_ns, struct nb_path_session *ret, struct nb_report *rep)
{
	struct run R = {.rep = rep, .ch = {.fd = -1}};
	struct nb_ctrl_hello h = {.keyed = true};
	struct nb_hello_ack ha;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd, r;

	memset(ret, 0, sizeof(*ret));
	ret->fd = -1;
	if (!key)
		return run_fail(&R, -EACCES, "a path on the responder's host needs the key (--key-file)");
	if ((r = nb_sock_connect(host, port, SOCK_STREAM, &fd)) < 0)
		return reach_fail(&R, r, host, port, "");
	nb_chan_init(&R.ch, fd, NB_AUTH_CLIENT);
	getpeername(fd, (struct sockaddr *)&ss, &sl);
	getnameinfo((struct sockaddr *)&ss, sl, ret->dialed, sizeof(ret->dialed), NULL, 0, NI_NUMERICHOST);
	if ((r = say_hello(&R, key, &h)) == 0 &&
	    (r = expect_decoded(&R, NB_MSG_HELLO_ACK, CTRL_TIMEOUT_NS, decode_hello_ack, &ha)) == 0)
		r = ask_path(&R, kind, for_ns, ret);
	nb_chan_wipe(&R.ch); /* nothing more is sent: the session lasts while the connection is open */
	if (r < 0) {
		close(fd);
		return r;
	}
	ret->server = ha.sysinfo;
	ret->fd = fd;
	return 0;
}

void nb_path_release(struct nb_path_session *s)
{
	if (s->fd >= 0)
		close(s->fd); /* the agent tears its half down when the session ends */
	s->fd = -1;
}
