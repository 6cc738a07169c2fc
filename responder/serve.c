/* SPDX-License-Identifier: MIT */
/*
 * The responder. One TCP port carries control and data connections, and the same port number over UDP
 * carries datagram flows, so one published port is enough through NAT (netperf's separate data port is not).
 *
 * The main thread owns the listening sockets: it reads the first frame of every new connection without
 * blocking (a connection that sends nothing, garbage, or half a frame is closed after idle_timeout or at
 * once), starts a session thread for each control connection, and hands data connections to their test.
 * A session runs its client's tests one after another; each test has a thread per flow (crr: one worker
 * for all of its short connections).
 *
 * The data flows belong to the responder's engine (--engine, sock unless told): TCP ones are the kernel
 * connections adopted by it, UDP ones are recognised by the hello the engine hands over (from the main
 * thread, which polls the engine's socket, or from the engine's own poller) and accepted by it. What the
 * engine runs (struct nb_engine_caps) decides which tests are refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nbench/clock.h"
#include "nbench/cpu.h"
#include "nbench/engine.h"
#include "nbench/proto.h"
#include "nbench/serve.h"
#include "nbench/sysinfo.h"
#include "nbench/workload.h"

#define ATTACH_TIMEOUT_NS (5 * NB_NS_PER_S)
#define STOP_GRACE_NS	  (5 * NB_NS_PER_S)
#define MAX_PENDING	  256

struct test;

struct rflow {
	struct test *t;
	struct nb_flow *flow;
	struct nb_flow_ctx ctx;
	struct nb_flow_live live;
	pthread_t th;
	bool started;
	uint64_t bytes_at_measure;
	int64_t t_measure_ns;
	uint64_t cpu_at_measure;
	uint64_t cpu_end_ns;	      /* the thread's own CPU time when it ended */
	unsigned char hello_buf[256]; /* a UDP flow's hello, to recognise it repeated */
};

struct test {
	uint64_t id;
	struct nb_test_cfg cfg;
	struct nb_engine *eng; /* the responder's */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned attached;
	struct rflow *flows; /* cfg.flows of them (crr: none) */
	int stop;
	bool done; /* no more attachments */
	/* crr */
	int crr_epfd;
	int crr_evfd;
	pthread_t crr_th;
	bool crr_started;
	uint64_t crr_txns;
	uint64_t crr_cpu_mask;
	unsigned char hello[256];
	size_t hello_len;
	unsigned char ack[256];
	size_t ack_len;
	struct test *next;
};

struct server {
	const struct nb_serve_cfg *sc;
	volatile sig_atomic_t *quit;
	int lfd, dfd, epfd; /* dfd: the engine's descriptor to poll for hellos, or -1 */
	bool listening;	    /* the engine hands hellos over */
	int family;
	struct nb_engine *eng;
	int busy;	    /* a test is on (atomic): for an engine whose responder runs one at a time */
	pthread_mutex_t mu; /* the test registry */
	struct test *tests;
	unsigned sessions;
	unsigned tests_done;
	struct nb_sysinfo si;
};

static void logf_(struct server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct server *s, const char *fmt, ...)
{
	if (!s->sc->log)
		return;
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	s->sc->log(s->sc->log_arg, buf);
}

static void addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	if (getnameinfo((const struct sockaddr *)ss, sizeof(*ss), buf, (socklen_t)len, NULL, 0,
			NI_NUMERICHOST))
		snprintf(buf, len, "?");
}

/* ---- the test registry ---- */

static struct test *test_find(struct server *s, uint64_t id)
{
	for (struct test *t = s->tests; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

static void test_unregister(struct server *s, struct test *t)
{
	pthread_mutex_lock(&s->mu);
	for (struct test **pp = &s->tests; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	pthread_mutex_unlock(&s->mu);
}

static int encode_json_frame(unsigned char *buf, size_t cap, enum nb_msg_type type, cJSON *body,
			     size_t *ret_len)
{
	char *txt = cJSON_PrintUnformatted(body);
	if (!txt)
		return -ENOMEM;
	ssize_t n = nb_frame_encode(buf, cap, (uint16_t)type, txt, strlen(txt));
	free(txt);
	if (n < 0)
		return (int)n;
	*ret_len = (size_t)n;
	return 0;
}

/* The frames a flow of this test sends first, and our answer to a UDP one. Both sides build the hello the
 * same way, so the responder recognises a repeated hello by comparing bytes. */
static int test_frames(struct test *t)
{
	cJSON *j = cJSON_CreateObject();
	int r;
	/* flow index 0 here: UDP flows compare the hello of their own index, set when attached */
	cJSON_AddNumberToObject(j, "ack", 1);
	r = encode_json_frame(t->ack, sizeof(t->ack), NB_MSG_DATA_ACK, j, &t->ack_len);
	cJSON_Delete(j);
	return r;
}

static void *flow_main(void *arg)
{
	struct rflow *rf = arg;
	struct test *t = rf->t;
	if (t->cfg.cpu_resp >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(t->cfg.cpu_resp, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	switch (t->cfg.kind) {
	case NB_TEST_STREAM:
		if (t->cfg.reverse)
			nb_resp_source(&rf->ctx);
		else
			nb_resp_sink(&rf->ctx);
		break;
	case NB_TEST_RR:
		nb_resp_echo(&rf->ctx);
		break;
	case NB_TEST_CRR:
		break;
	}
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	rf->cpu_end_ns = (uint64_t)ts.tv_sec * NB_NS_PER_S + (uint64_t)ts.tv_nsec;
	return NULL;
}

/* ---- crr: one worker answers all of a test's short connections ---- */

struct crr_conn {
	int fd;
	uint32_t have;
};

static void *crr_main(void *arg)
{
	struct test *t = arg;
	struct epoll_event ev[64];
	unsigned char *buf = malloc(t->cfg.req_bytes + 4096), *resp = malloc(t->cfg.resp_bytes);
	uint64_t txns = 0;

	if (t->cfg.cpu_resp >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(t->cfg.cpu_resp, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	if (!buf || !resp)
		goto out;
	memset(resp, 0xa5, t->cfg.resp_bytes);
	while (!__atomic_load_n(&t->stop, __ATOMIC_RELAXED)) {
		int n = epoll_wait(t->crr_epfd, ev, 64, t->cfg.wait == NB_WAIT_SPIN ? 0 : 200);
		for (int i = 0; i < n; i++) {
			struct crr_conn *c = ev[i].data.ptr;
			if (!c)
				continue; /* the eventfd: stop */
			ssize_t k = recv(c->fd, buf, t->cfg.req_bytes + 4096, MSG_DONTWAIT);
			if (k < 0 && errno == EAGAIN)
				continue;
			if (k > 0) {
				c->have += (uint32_t)k;
				if (c->have < t->cfg.req_bytes)
					continue;
				/* the answer fits the socket buffer of a fresh connection */
				if (send(c->fd, resp, t->cfg.resp_bytes, MSG_NOSIGNAL) ==
				    (ssize_t)t->cfg.resp_bytes)
					__atomic_store_n(&t->crr_txns, ++txns, __ATOMIC_RELAXED);
				if ((txns & 63) == 1) {
					int cpu = sched_getcpu();
					if (cpu >= 0 && cpu < 64)
						__atomic_or_fetch(&t->crr_cpu_mask, 1ULL << cpu,
								  __ATOMIC_RELAXED);
				}
			}
			/* Out of the set before the close: an epitem outlives close() while anything else
			 * still holds the file, and would then report this freed connection again. */
			epoll_ctl(t->crr_epfd, EPOLL_CTL_DEL, c->fd, NULL);
			close(c->fd); /* closing first keeps TIME_WAIT on this side */
			free(c);
		}
	}
out:
	free(buf);
	free(resp);
	return NULL;
}

static int crr_add(struct test *t, int fd)
{
	struct crr_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = fd;
	int one = 1;
	if (t->cfg.nodelay)
		setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, .data.ptr = c};
	/* EPOLLONESHOT is re-armed below after a partial request; simpler: level-triggered */
	ev.events = EPOLLIN;
	if (epoll_ctl(t->crr_epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(c);
		return -errno;
	}
	return 0;
}

/* ---- attaching data flows ---- */

static struct nb_flow_opts resp_opts(const struct nb_test_cfg *cfg)
{
	struct nb_flow_opts o = {.proto = cfg->proto,
				 .wait = cfg->wait,
				 .busy_poll_us = cfg->busy_poll_us,
				 .nodelay = cfg->nodelay,
				 .cpu = cfg->cpu_resp};
	return o;
}

/* Hands fd to flow idx of test id. Takes fd in every case (closes it on refusal). */
static int attach_fd(struct server *s, uint64_t id, int64_t idx, int fd)
{
	int r = -ENOENT;
	pthread_mutex_lock(&s->mu);
	struct test *t = test_find(s, id);
	if (!t)
		goto out;
	pthread_mutex_lock(&t->mu);
	if (t->done) {
		r = -EBUSY;
	} else if (t->cfg.kind == NB_TEST_CRR) {
		r = crr_add(t, fd);
		if (r == 0)
			fd = -1;
	} else if (idx < 0 || idx >= t->cfg.flows || t->flows[idx].flow) {
		r = -EINVAL;
	} else if (!s->eng->ops->adopt_fd) {
		r = -EPROTONOSUPPORT;
	} else {
		struct nb_flow_opts o = resp_opts(&t->cfg);
		r = s->eng->ops->adopt_fd(s->eng, fd, &o, &t->flows[idx].flow);
		if (r == 0) {
			fd = -1;
			t->attached++;
			pthread_cond_broadcast(&t->cv);
		}
	}
	pthread_mutex_unlock(&t->mu);
out:
	pthread_mutex_unlock(&s->mu);
	if (fd >= 0)
		close(fd);
	return r;
}

/* A UDP flow's hello, handed over by the engine: the engine makes the flow of its sender, which answers
 * DATA_ACK. */
static void on_hello(void *arg, struct nb_engine *e, const struct nb_hello *hello)
{
	struct server *s = arg;
	const unsigned char *buf = hello->buf;
	size_t len = hello->len;
	struct nb_frame_hdr h;
	if (nb_frame_decode_hdr(buf, len, &h) < 0 || h.type != NB_MSG_DATA_HELLO ||
	    h.len != len - NB_PROTO_HDR_BYTES)
		return;
	cJSON *j = nb_frame_parse_body(buf + NB_PROTO_HDR_BYTES, h.len);
	if (!j)
		return;
	uint64_t id = (uint64_t)nb_json_num(j, "test_id", 0);
	int64_t idx = nb_json_i64(j, "flow", -1);
	cJSON_Delete(j);

	pthread_mutex_lock(&s->mu);
	struct test *t = test_find(s, id);
	if (!t || t->cfg.proto != NB_PROTO_UDP || idx < 0 || idx >= t->cfg.flows) {
		pthread_mutex_unlock(&s->mu);
		return;
	}
	pthread_mutex_lock(&t->mu);
	struct rflow *rf = &t->flows[idx];
	if (rf->flow) { /* our ack was lost and the flow's socket is not yet in the kernel's lookup: again */
		rf->flow->ops->send(rf->flow, t->ack, t->ack_len);
		goto out;
	}
	if (t->done || len > sizeof(rf->hello_buf))
		goto out;
	struct nb_flow_opts o = resp_opts(&t->cfg);
	if (e->ops->accept(e, hello, t->ack, t->ack_len, &o, &rf->flow) < 0) {
		rf->flow = NULL;
		goto out;
	}
	memcpy(rf->hello_buf, buf, len);
	rf->ctx.hello = rf->hello_buf;
	rf->ctx.hello_len = len;
	t->attached++;
	pthread_cond_broadcast(&t->cv);
out:
	pthread_mutex_unlock(&t->mu);
	pthread_mutex_unlock(&s->mu);
}

/* ---- a session: one control connection, its tests one after another ---- */

struct session {
	struct server *s;
	int fd;
	char peer[64];
};

static void test_free(struct test *t)
{
	if (!t)
		return;
	for (unsigned i = 0; t->flows && i < t->cfg.flows; i++)
		nb_flow_close(t->flows[i].flow);
	if (t->crr_epfd >= 0)
		close(t->crr_epfd);
	if (t->crr_evfd >= 0)
		close(t->crr_evfd);
	free(t->flows);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	free(t);
}

static int test_new(struct server *s, const struct nb_test_cfg *cfg, struct test **ret)
{
	struct test *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->cfg = *cfg;
	t->eng = s->eng;
	t->crr_epfd = t->crr_evfd = -1;
	pthread_mutex_init(&t->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (cfg->kind != NB_TEST_CRR) {
		t->flows = calloc(cfg->flows, sizeof(*t->flows));
		if (!t->flows)
			goto nomem;
		for (unsigned i = 0; i < cfg->flows; i++) {
			struct rflow *rf = &t->flows[i];
			rf->t = t;
			rf->ctx.cfg = &t->cfg;
			rf->ctx.index = i;
			rf->ctx.live = &rf->live;
			rf->ctx.stop = &t->stop;
			rf->ctx.hello_ack = t->ack;
			rf->ctx.rate_bps = cfg->rate_bps / cfg->flows;
			rf->live.cpu = -1;
		}
	} else {
		t->crr_epfd = epoll_create1(EPOLL_CLOEXEC);
		if (t->crr_epfd < 0)
			goto nomem;
	}
	if (test_frames(t) < 0)
		goto nomem;
	do {
		if (getrandom(&t->id, sizeof(t->id), 0) != sizeof(t->id))
			t->id = (uint64_t)nb_now_ns();
		t->id &= (1ULL << 52) - 1; /* exact in a JSON number */
	} while (!t->id);
	for (unsigned i = 0; t->flows && i < cfg->flows; i++)
		t->flows[i].ctx.hello_ack_len = t->ack_len;
	pthread_mutex_lock(&s->mu);
	t->next = s->tests;
	s->tests = t;
	pthread_mutex_unlock(&s->mu);
	*ret = t;
	return 0;
nomem:
	test_free(t);
	return -ENOMEM;
}

static int wait_attached(struct test *t)
{
	struct timespec ts = nb_ns_to_ts(nb_now_ns() + ATTACH_TIMEOUT_NS);
	int r = 0;
	pthread_mutex_lock(&t->mu);
	while (t->attached < (t->cfg.kind == NB_TEST_CRR ? 0 : t->cfg.flows))
		if (pthread_cond_timedwait(&t->cv, &t->mu, &ts) == ETIMEDOUT) {
			r = -ETIMEDOUT;
			break;
		}
	pthread_mutex_unlock(&t->mu);
	return r;
}

static int test_start(struct test *t)
{
	if (t->cfg.kind == NB_TEST_CRR) {
		if (pthread_create(&t->crr_th, NULL, crr_main, t) != 0)
			return -EAGAIN;
		t->crr_started = true;
		return 0;
	}
	for (unsigned i = 0; i < t->cfg.flows; i++) {
		struct rflow *rf = &t->flows[i];
		rf->ctx.flow = rf->flow;
		if (pthread_create(&rf->th, NULL, flow_main, rf) != 0)
			return -EAGAIN;
		rf->started = true;
	}
	return 0;
}

static bool join_by(pthread_t th, int64_t deadline_ns)
{
	/* pthread_timedjoin_np counts in CLOCK_REALTIME */
	struct timespec ts = nb_ns_to_ts(nb_realtime_ns() + (deadline_ns - nb_now_ns()));
	return pthread_timedjoin_np(th, NULL, &ts) == 0;
}

/* Ends every flow of the test and waits for its threads. A forward TCP stream's sinks end by themselves when
 * the generator's data ends; everything else is told to stop and woken by a shutdown. */
static void test_stop(struct test *t)
{
	pthread_mutex_lock(&t->mu);
	t->done = true;
	pthread_mutex_unlock(&t->mu);
	bool drains = t->cfg.kind == NB_TEST_STREAM && !t->cfg.reverse && t->cfg.proto == NB_PROTO_TCP;
	int64_t dl = nb_now_ns() + STOP_GRACE_NS;
	__atomic_store_n(&t->stop, 1, __ATOMIC_RELAXED);
	if (t->crr_started) {
		pthread_join(t->crr_th, NULL);
		t->crr_started = false;
	}
	for (unsigned i = 0; t->flows && i < t->cfg.flows; i++) {
		struct rflow *rf = &t->flows[i];
		if (!rf->started)
			continue;
		if (!drains || !join_by(rf->th, dl)) {
			if (rf->flow)
				rf->flow->ops->shutdown(rf->flow, t->cfg.kind == NB_TEST_STREAM &&
									  t->cfg.reverse &&
									  t->cfg.proto == NB_PROTO_TCP
								      ? SHUT_WR
								      : SHUT_RDWR);
			if (!join_by(rf->th, dl)) {
				rf->flow->ops->shutdown(rf->flow, SHUT_RDWR);
				pthread_join(rf->th, NULL);
			}
		}
		rf->started = false;
	}
}

static void cpu_list(struct test *t, char *buf, size_t len)
{
	uint64_t mask = __atomic_load_n(&t->crr_cpu_mask, __ATOMIC_RELAXED);
	for (unsigned i = 0; t->flows && i < t->cfg.flows; i++)
		mask |= t->flows[i].live.cpu_mask;
	nb_cpu_mask_str(mask, buf, len);
}

/* What the responder measured, for the RESULT message. a and b: the CPU snapshots at MEASURE and STOP, when
 * taken. */
static void test_result(struct test *t, const struct nb_cpu_snap *a, const struct nb_cpu_snap *b,
			struct nb_result *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->n_flows = t->flows ? t->cfg.flows : 0;
	for (unsigned i = 0; i < ret->n_flows; i++) {
		struct rflow *rf = &t->flows[i];
		struct nb_flow_live *l = &rf->live;
		struct nb_result_flow *f = &ret->flows[i];
		f->bytes_sent = l->bytes_sent;
		f->msgs_sent = l->msgs_sent;
		f->bytes_rcvd = l->bytes_rcvd;
		f->msgs_rcvd = l->msgs_rcvd;
		f->reordered = l->reordered;
		/* the receiver's measured window: from the warm-up's end to the last byte */
		int64_t win = l->t_last_ns - rf->t_measure_ns;
		f->window_ns = rf->t_measure_ns && win > 0 ? win : 0;
		f->window_bytes = rf->t_measure_ns ? l->bytes_rcvd - rf->bytes_at_measure : 0;
		if (rf->cpu_end_ns > rf->cpu_at_measure)
			ret->cpu_ns += rf->cpu_end_ns - rf->cpu_at_measure;
	}
	cpu_list(t, ret->cpus, sizeof(ret->cpus));
	/* an engine that polls does so whatever the generator's --spin said */
	if (t->eng->caps.wait)
		snprintf(ret->wait, sizeof(ret->wait), "%s", t->eng->caps.wait);
	if (a && b) {
		ret->have_cost = true;
		nb_cpu_cost(a, b, &ret->cost);
		ret->cost.resp_ns = ret->cpu_ns;
	}
}

static void test_measure(struct test *t)
{
	int64_t now = nb_now_ns();
	for (unsigned i = 0; t->flows && i < t->cfg.flows; i++) {
		struct rflow *rf = &t->flows[i];
		rf->bytes_at_measure = nb_peek(&rf->live.bytes_rcvd);
		rf->t_measure_ns = now;
		if (rf->started)
			rf->cpu_at_measure = nb_thread_cpu_ns((unsigned long)rf->th);
	}
}

/* "the DPDK responder", or "the responder" for an engine without a label. */
static const char *responder_name(const struct server *s, char *buf, size_t len)
{
	const char *label = s->eng->ops->label;
	snprintf(buf, len, "the %s%sresponder", label ? label : "", label ? " " : "");
	return buf;
}

/* Why this responder does not run cfg, or 0 when it does. The generator's engine is its own business as
 * long as its flows reach a responder over cfg's protocol. */
static int engine_refusal(const struct server *s, const struct nb_test_cfg *cfg, char *err, size_t errlen)
{
	const struct nb_engine_caps *c = &s->eng->caps;
	const struct nb_engine_ops *gen = nb_engine_find(cfg->engine);
	char what[64];
	if (gen && (gen->caps->local || !(gen->caps->protos & NB_BIT(cfg->proto)))) {
		snprintf(err, errlen, "engine %s is not served here", cfg->engine);
		return -EPROTONOSUPPORT;
	}
	if (!nb_engine_runs(c, cfg->kind, cfg->proto)) {
		nb_engine_caps_str(c, what, sizeof(what));
		size_t n = strlen(responder_name(s, err, errlen));
		snprintf(err + n, errlen - n, " runs %s", what);
		return -EPROTONOSUPPORT;
	}
	uint32_t max = c->max_msg_bytes;
	if (max && ((cfg->kind == NB_TEST_STREAM && nb_cfg_msg_bytes(cfg) > max) ||
		    (cfg->kind != NB_TEST_STREAM && (cfg->req_bytes > max || cfg->resp_bytes > max)))) {
		snprintf(err, errlen, "the %s port carries datagrams of at most %u bytes",
			 s->eng->ops->label ? s->eng->ops->label : s->eng->ops->name, max);
		return -EMSGSIZE;
	}
	return 0;
}

/* Runs one test whose TEST message is body. Returns 0 when the session may go on, -errno to end it. */
static int session_test(struct session *ss, const cJSON *body)
{
	struct server *s = ss->s;
	struct nb_test_cfg cfg;
	char err[256];
	struct test *t = NULL;
	struct nb_cpu_meter *m = NULL;
	struct nb_cpu_snap a, b;
	struct nb_result res;
	bool have_a = false;
	uint16_t type;
	cJSON *msg = NULL;
	int r;

	if (nb_cfg_from_json(body, &cfg, err, sizeof(err)) < 0 ||
	    nb_cfg_check_responder(&cfg, err, sizeof(err)) < 0) {
		nb_proto_send_error(ss->fd, "responder refused the test: %s", err);
		return 0;
	}
	if (engine_refusal(s, &cfg, err, sizeof(err))) {
		nb_proto_send_error(ss->fd, "responder refused the test: %s", err);
		return 0;
	}
	bool one = s->eng->caps.one_test;
	if (one && __atomic_exchange_n(&s->busy, 1, __ATOMIC_ACQ_REL)) {
		nb_proto_send_error(ss->fd, "responder refused the test: %s runs one test at a time",
				    responder_name(s, err, sizeof(err)));
		return 0;
	}
	r = test_new(s, &cfg, &t);
	if (r < 0) {
		nb_proto_send_error(ss->fd, "responder: %s", strerror(-r));
		if (one)
			__atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
		return r;
	}
	struct nb_test_ack ta = {.test_id = t->id};
	/* an engine whose data path is not the control connection's names its data address */
	if (s->eng->caps.own_addr)
		snprintf(ta.data_addr, sizeof(ta.data_addr), "%s", s->eng->addr);
	cJSON *ack = nb_test_ack_to_json(&ta);
	r = ack ? nb_proto_send(ss->fd, NB_MSG_TEST_ACK, ack) : -ENOMEM;
	cJSON_Delete(ack);
	if (r < 0)
		goto out;
	if (wait_attached(t) < 0) {
		char at[80] = "";
		if (s->eng->caps.own_addr)
			snprintf(at, sizeof(at), " at %s", s->eng->addr);
		nb_proto_send_error(ss->fd, "only %u of %u data flows reached %s%s within 5 s", t->attached,
				    t->cfg.flows, responder_name(s, err, sizeof(err)), at);
		r = 0;
		goto out;
	}
	if ((r = nb_proto_send(ss->fd, NB_MSG_READY, NULL)) < 0)
		goto out;
	nb_cpu_meter_open(false, &m);
	for (;;) {
		r = nb_proto_recv(ss->fd, -1, &type, &msg, NULL);
		if (r < 0)
			goto out;
		if (type == NB_MSG_START) {
			if ((r = test_start(t)) < 0) {
				nb_proto_send_error(ss->fd, "responder cannot start its flow threads");
				goto out;
			}
		} else if (type == NB_MSG_MEASURE) {
			test_measure(t);
			have_a = m && nb_cpu_snap(m, &a) == 0;
		} else if (type == NB_MSG_STOP) {
			bool have_b = have_a && nb_cpu_snap(m, &b) == 0;
			test_stop(t);
			test_result(t, have_a ? &a : NULL, have_b ? &b : NULL, &res);
			cJSON *j = nb_result_to_json(&res);
			r = j ? nb_proto_send(ss->fd, NB_MSG_RESULT, j) : -ENOMEM;
			cJSON_Delete(j);
			cJSON_Delete(msg);
			msg = NULL;
			logf_(s, "%s: %s %s test done", ss->peer, nb_test_kind_name(cfg.kind),
			      nb_proto_name(cfg.proto));
			break;
		} else {
			nb_proto_send_error(ss->fd, "unexpected message %u during a test", type);
			r = -EPROTO;
			goto out;
		}
		cJSON_Delete(msg);
		msg = NULL;
	}
out:
	cJSON_Delete(msg);
	if (t) {
		test_unregister(s, t);
		test_stop(t);
		test_free(t);
	}
	nb_cpu_meter_close(m);
	if (one)
		__atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
	__atomic_add_fetch(&s->tests_done, 1, __ATOMIC_RELAXED);
	return r;
}

static void *session_main(void *arg)
{
	struct session *ss = arg;
	struct server *s = ss->s;
	uint16_t type;
	cJSON *msg = NULL,
	      *hello = nb_hello_ack_to_json(&(struct nb_hello_ack){.sysinfo = s->si, .pid = getpid()});
	int r = hello ? nb_proto_send(ss->fd, NB_MSG_HELLO_ACK, hello) : -ENOMEM;
	cJSON_Delete(hello);
	logf_(s, "%s: control connection", ss->peer);
	while (r == 0 && !*s->quit) {
		r = nb_proto_recv(ss->fd, -1, &type, &msg, NULL);
		if (r < 0)
			break;
		if (type == NB_MSG_TEST)
			r = session_test(ss, msg);
		else {
			nb_proto_send_error(ss->fd, "unexpected message %u: expected a test", type);
			r = -EPROTO;
		}
		cJSON_Delete(msg);
		msg = NULL;
	}
	logf_(s, "%s: closed", ss->peer);
	close(ss->fd);
	__atomic_sub_fetch(&s->sessions, 1, __ATOMIC_RELAXED);
	free(ss);
	return NULL;
}

/* ---- the main loop: new connections and UDP hellos ---- */

struct pending {
	int fd;
	int64_t deadline_ns;
	struct sockaddr_storage peer;
	unsigned char buf[NB_PROTO_HDR_BYTES + 1024];
	size_t have;
};

static void pending_close(struct server *s, struct pending *p)
{
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, p->fd, NULL);
	if (p->fd >= 0) {
		/* Read what the peer already sent, so the close is a FIN after our error frame, not a reset
		 * that could destroy the error before the peer reads it. */
		char sink[4096];
		shutdown(p->fd, SHUT_WR);
		for (int i = 0; i < 16 && recv(p->fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
			;
		close(p->fd);
	}
	free(p);
}

static void keepalive(int fd)
{
	int one = 1, idle = 10, intvl = 2, cnt = 3;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, 4 /* TCP_KEEPIDLE */, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, 5 /* TCP_KEEPINTVL */, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, 6 /* TCP_KEEPCNT */, &cnt, sizeof(cnt));
}

/* Reads what has arrived of a new connection's first frame. Returns true when p is finished with (handed on
 * or closed). */
static bool pending_read(struct server *s, struct pending *p)
{
	struct nb_frame_hdr h;
	char peer[64];
	size_t need = NB_PROTO_HDR_BYTES;
	int r;

	addr_str(&p->peer, peer, sizeof(peer));
	if (p->have >= NB_PROTO_HDR_BYTES) {
		nb_frame_decode_hdr(p->buf, p->have, &h);
		need += h.len;
	}
	ssize_t n = recv(p->fd, p->buf + p->have, need - p->have, MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		pending_close(s, p);
		return true;
	}
	if (n < 0)
		return false;
	p->have += (size_t)n;
	if (p->have < NB_PROTO_HDR_BYTES)
		return false;
	r = nb_frame_decode_hdr(p->buf, p->have, &h);
	if (r == -EPROTONOSUPPORT) {
		/* The error frame itself is of our version; its text is what a user of either side reads. */
		nb_proto_send_error(p->fd,
				    "protocol version mismatch: the client speaks version %u, this responder "
				    "speaks version %u",
				    h.version, NB_PROTO_VERSION);
		logf_(s, "%s: refused: protocol version %u (ours is %u)", peer, h.version, NB_PROTO_VERSION);
		pending_close(s, p);
		return true;
	}
	if (r < 0 || (h.type != NB_MSG_HELLO && h.type != NB_MSG_DATA_HELLO) ||
	    h.len > sizeof(p->buf) - NB_PROTO_HDR_BYTES) {
		if (r != -EBADMSG)
			nb_proto_send_error(p->fd, "expected a hello frame of at most %zu bytes",
					    sizeof(p->buf) - NB_PROTO_HDR_BYTES);
		logf_(s, "%s: refused: %s", peer,
		      r == -EBADMSG ? "not nbench's protocol" : "bad first frame");
		pending_close(s, p);
		return true;
	}
	if (p->have < NB_PROTO_HDR_BYTES + h.len)
		return false;
	cJSON *j = nb_frame_parse_body(p->buf + NB_PROTO_HDR_BYTES, h.len);
	if (!j) {
		nb_proto_send_error(p->fd, "the hello's body is not a JSON object");
		pending_close(s, p);
		return true;
	}
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, p->fd, NULL);
	int fl = fcntl(p->fd, F_GETFL);
	fcntl(p->fd, F_SETFL, fl & ~O_NONBLOCK);
	if (h.type == NB_MSG_HELLO) {
		struct session *ss = calloc(1, sizeof(*ss));
		pthread_t th;
		if (ss) {
			ss->s = s;
			ss->fd = p->fd;
			snprintf(ss->peer, sizeof(ss->peer), "%s", peer);
			keepalive(p->fd);
			__atomic_add_fetch(&s->sessions, 1, __ATOMIC_RELAXED);
			pthread_attr_t at;
			pthread_attr_init(&at);
			pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
			if (pthread_create(&th, &at, session_main, ss) == 0)
				p->fd = -1;
			else {
				__atomic_sub_fetch(&s->sessions, 1, __ATOMIC_RELAXED);
				free(ss);
			}
			pthread_attr_destroy(&at);
		}
	} else {
		uint64_t id = (uint64_t)nb_json_num(j, "test_id", 0);
		int64_t idx = nb_json_i64(j, "flow", -1);
		int fd = p->fd;
		p->fd = -1;
		if (attach_fd(s, id, idx, fd) < 0)
			logf_(s, "%s: a data connection for no running test (or a flow twice) was refused",
			      peer);
	}
	cJSON_Delete(j);
	pending_close(s, p);
	return true;
}

static int open_listeners(struct server *s, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_flags = AI_PASSIVE | AI_NUMERICHOST},
			*res = NULL;
	char port[8];
	const char *bind_addr = s->sc->bind ? s->sc->bind : "0.0.0.0";
	int one = 1, r;

	snprintf(port, sizeof(port), "%u", s->sc->port);
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(bind_addr, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "--bind %s is not a numeric IPv4 or IPv6 address", bind_addr);
		return -EINVAL;
	}
	s->family = res->ai_family;
	s->lfd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->lfd < 0) {
		r = -errno;
		goto fail;
	}
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s->lfd, res->ai_addr, res->ai_addrlen) < 0 || listen(s->lfd, 1024) < 0) {
		r = -errno;
		goto fail;
	}
	/* UDP flows: the same port number, through the engine */
	struct nb_listen l = {.addr = res->ai_addr,
			      .addrlen = res->ai_addrlen,
			      .port = s->sc->port,
			      .hello = on_hello,
			      .arg = s};
	if ((r = s->eng->ops->listen(s->eng, &l, &s->dfd)) < 0)
		goto fail;
	s->listening = true;
	freeaddrinfo(res);
	return 0;
fail:
	snprintf(err, errlen, "cannot listen on %s port %u: %s", bind_addr, s->sc->port, strerror(-r));
	freeaddrinfo(res);
	return r;
}

int nb_serve(const struct nb_serve_cfg *sc, volatile sig_atomic_t *quit, char *err, size_t errlen)
{
	struct server s = {.sc = sc, .quit = quit, .lfd = -1, .dfd = -1, .epfd = -1, .eng = sc->engine};
	struct pending *pend[MAX_PENDING];
	struct nb_engine *own = NULL; /* the sock engine, when the caller started none */
	unsigned npend = 0;
	int64_t idle = sc->idle_timeout_ns > 0 ? sc->idle_timeout_ns : 5 * NB_NS_PER_S;
	int r;

	pthread_mutex_init(&s.mu, NULL);
	nb_sysinfo_get(&s.si);
	if (!s.eng && (r = nb_engine_start(&nb_engine_sock, NULL, &own, err, errlen)) < 0)
		return r;
	if (!s.eng)
		s.eng = own;
	r = open_listeners(&s, err, errlen);
	if (r < 0)
		goto out;
	s.epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s.lfd};
	epoll_ctl(s.epfd, EPOLL_CTL_ADD, s.lfd, &ev);
	ev.data.ptr = &s.dfd;
	if (s.dfd >= 0)
		epoll_ctl(s.epfd, EPOLL_CTL_ADD, s.dfd, &ev);
	if (sc->ready)
		sc->ready(sc->log_arg, sc->port);

	while (!*quit) {
		if (sc->max_tests && __atomic_load_n(&s.tests_done, __ATOMIC_RELAXED) >= sc->max_tests &&
		    !__atomic_load_n(&s.sessions, __ATOMIC_RELAXED))
			break;
		struct epoll_event evs[32];
		int n = epoll_wait(s.epfd, evs, 32, 100);
		for (int i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;
			if (tag == &s.lfd) {
				for (;;) {
					struct sockaddr_storage peer;
					socklen_t pl = sizeof(peer);
					int fd = accept4(s.lfd, (struct sockaddr *)&peer, &pl,
							 SOCK_CLOEXEC | SOCK_NONBLOCK);
					if (fd < 0)
						break;
					struct pending *p =
					    npend < MAX_PENDING ? calloc(1, sizeof(*p)) : NULL;
					if (!p) { /* too many silent connections: refuse the newest */
						close(fd);
						continue;
					}
					p->fd = fd;
					p->peer = peer;
					p->deadline_ns = nb_now_ns() + idle;
					struct epoll_event pev = {.events = EPOLLIN, .data.ptr = p};
					epoll_ctl(s.epfd, EPOLL_CTL_ADD, fd, &pev);
					pend[npend++] = p;
				}
			} else if (tag == &s.dfd) {
				s.eng->ops->listen_poll(s.eng);
			} else {
				struct pending *p = tag;
				if (pending_read(&s, p))
					for (unsigned k = 0; k < npend; k++)
						if (pend[k] == p) {
							pend[k] = pend[--npend];
							break;
						}
			}
		}
		int64_t now = nb_now_ns();
		for (unsigned k = 0; k < npend;) {
			if (pend[k]->deadline_ns <= now) {
				char peer[64];
				addr_str(&pend[k]->peer, peer, sizeof(peer));
				logf_(&s, "%s: closed: no hello within %.1f s", peer, (double)idle / 1e9);
				pending_close(&s, pend[k]);
				pend[k] = pend[--npend];
			} else
				k++;
		}
	}
	r = 0;
out:
	for (unsigned k = 0; k < npend; k++)
		pending_close(&s, pend[k]);
	if (s.epfd >= 0)
		close(s.epfd);
	if (s.lfd >= 0)
		close(s.lfd);
	if (s.listening)
		s.eng->ops->unlisten(s.eng);
	nb_engine_stop(own);
	return r;
}
