/* SPDX-License-Identifier: MIT */
/*
 * A test in progress on the responder: made and registered (its id and token, its flows' contexts), found by
 * the data hellos of its flows, started, measured, stopped, and what it measured made into RESULT (the
 * flows' counts, the CPU cost, the interfaces' counters). The session (session.c) drives it frame by frame;
 * the flows' loops are resp_flows.c's.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>

#include "nbench/clock.h"
#include "nbench/cpu.h"
#include "resp_int.h"

/* A flow told to stop has this long to end before it is woken by a shutdown, and as long again after. */
#define STOP_GRACE_NS (5 * NB_NS_PER_S)

struct test *nb_rtest_find(struct server *s, uint64_t id)
{
	for (struct test *t = s->tests; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

void nb_rtest_unregister(struct server *s, struct test *t)
{
	pthread_mutex_lock(&s->mu);
	for (struct test **pp = &s->tests; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	pthread_mutex_unlock(&s->mu);
}

/* Our answer to a UDP flow's hello. A flow recognises its own hello repeated by comparing bytes. */
static int test_frames(struct test *t)
{
	cJSON *j = nb_data_ack_to_json(&(struct nb_data_ack){.ack = 1});
	ssize_t n = j ? nb_frame_encode_json(t->ack, sizeof(t->ack), NB_MSG_DATA_ACK, j) : -ENOMEM;
	cJSON_Delete(j);
	if (n < 0)
		return (int)n;
	t->ack_len = (size_t)n;
	return 0;
}

void nb_rtest_free(struct test *t)
{
	if (!t)
		return;
	for (unsigned i = 0; t->flows && i < t->cfg.flows; i++)
		nb_flow_close(t->flows[i].flow);
	while (t->crr_list)
		nb_resp_crr_close(t, t->crr_list);
	if (t->crr_epfd >= 0)
		close(t->crr_epfd);
	if (t->crr_evfd >= 0)
		close(t->crr_evfd);
	free(t->flows);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	free(t);
}

/* The flows' contexts (non-crr) or the crr worker's epoll set. 0 or -ENOMEM. */
static int test_flows_init(struct test *t)
{
	const struct nb_test_cfg *cfg = &t->cfg;
	if (cfg->kind == NB_TEST_CRR) {
		t->crr_max = cfg->flows * CRR_CONNS_PER_FLOW + CRR_CONNS_EXTRA;
		t->crr_epfd = epoll_create1(EPOLL_CLOEXEC);
		return t->crr_epfd < 0 ? -ENOMEM : 0;
	}
	t->flows = calloc(cfg->flows, sizeof(*t->flows));
	if (!t->flows)
		return -ENOMEM;
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
	return 0;
}

int nb_rtest_new(struct server *s, const struct session *ss, const struct nb_test_cfg *cfg, struct test **ret)
{
	struct test *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->cfg = *cfg;
	nb_auth_token_new(t->token);
	t->ctrl_peer = ss->peer_addr;
	t->data_src = ss->data_src;
	t->eng = s->eng;
	t->crr_epfd = t->crr_evfd = -1;
	pthread_mutex_init(&t->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (test_flows_init(t) < 0 || test_frames(t) < 0) {
		nb_rtest_free(t);
		return -ENOMEM;
	}
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
}

int nb_rtest_wait_attached(struct test *t)
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

/* Starts the test's threads; its sources end by themselves at end_ns (CLOCK_MONOTONIC) if nothing ended
 * them before. */
int nb_rtest_start(struct test *t, int64_t end_ns)
{
	if (t->cfg.kind == NB_TEST_CRR) {
		if (pthread_create(&t->crr_th, NULL, nb_resp_crr_main, t) != 0)
			return -EAGAIN;
		t->crr_started = true;
		return 0;
	}
	for (unsigned i = 0; i < t->cfg.flows; i++) {
		struct rflow *rf = &t->flows[i];
		rf->ctx.flow = rf->flow;
		rf->ctx.t_end_ns = end_ns;
		if (pthread_create(&rf->th, NULL, nb_resp_flow_main, rf) != 0)
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
void nb_rtest_stop(struct test *t)
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

static int result_iface_add(void *arg, const struct nb_nic_id *id, const struct nb_nic_snap *delta)
{
	struct nb_result *res = arg;
	if (res->n_ifaces == NB_RESULT_MAX_IFACES)
		return 1;
	nb_result_iface_set(&res->ifaces[res->n_ifaces++], id, delta);
	return 0;
}

/* A TCP stream or rr flow's socket now into ret; false (ret invalid) for other flows (UDP, crr's, an
 * engine's without a kernel socket) or when it cannot be read. The flow's fd is open until the test ends. */
static bool flow_tcp(const struct test *t, const struct rflow *rf, struct nb_tcpinfo *ret)
{
	memset(ret, 0, sizeof(*ret));
	return t->cfg.proto == NB_PROTO_TCP && t->cfg.kind != NB_TEST_CRR && rf->flow &&
	       nb_tcpinfo_get(rf->flow->fd, ret) == 0;
}

/* What the responder measured, for the RESULT message. a and b: the CPU snapshots at MEASURE and STOP, when
 * taken; nics: the interfaces whose counters it carries (their window closed), or NULL. */
void nb_rtest_result(struct test *t, const struct nb_cpu_snap *a, const struct nb_cpu_snap *b,
		     struct nb_nic_watch *nics, struct nb_result *ret)
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
		/* its socket as the test left it, its retransmits since MEASURE */
		struct nb_tcpinfo now;
		if (flow_tcp(t, rf, &now))
			nb_tcpinfo_since(&now, &rf->tcp_at_measure, &f->tcp);
		if (rf->ctx.rc && !ret->error[0])
			snprintf(ret->error, sizeof(ret->error), "%s", rf->ctx.err);
	}
	/* crr: the worker that answers every connection (accepting them is the listener's, shared by every
	 * session: that part stays unattributed) */
	if (t->cfg.kind == NB_TEST_CRR && t->crr_cpu_end_ns > t->crr_cpu_at_measure)
		ret->cpu_ns += t->crr_cpu_end_ns - t->crr_cpu_at_measure;
	cpu_list(t, ret->cpus, sizeof(ret->cpus));
	/* an engine that polls does so whatever the generator's --spin said */
	if (t->eng->caps.wait)
		snprintf(ret->wait, sizeof(ret->wait), "%s", t->eng->caps.wait);
	if (a && b) {
		ret->have_cost = true;
		nb_cpu_cost(a, b, &ret->cost);
		/* gen_ns is this whole process, the test's threads included: split them out, so that the two
		 * add up to the process and the unattributed rest is not counted short */
		ret->cost.resp_ns = ret->cpu_ns;
		ret->cost.gen_ns = ret->cost.gen_ns > ret->cpu_ns ? ret->cost.gen_ns - ret->cpu_ns : 0;
	}
	nb_nic_watch_each(nics, result_iface_add, ret);
}

void nb_rtest_measure(struct test *t)
{
	int64_t now = nb_now_ns();
	if (t->crr_started)
		t->crr_cpu_at_measure = nb_thread_cpu_ns((unsigned long)t->crr_th);
	for (unsigned i = 0; t->flows && i < t->cfg.flows; i++) {
		struct rflow *rf = &t->flows[i];
		rf->bytes_at_measure = nb_peek(&rf->live.bytes_rcvd);
		rf->t_measure_ns = now;
		flow_tcp(t, rf, &rf->tcp_at_measure);
		if (rf->started)
			rf->cpu_at_measure = nb_thread_cpu_ns((unsigned long)rf->th);
	}
}

/* The interfaces whose counters the test's RESULT carries (nb_serve_cfg.nics, else the route's to the
 * client's data), opened and identified before the test starts; NULL when there are none. */
struct nb_nic_watch *nb_rtest_nics(const struct server *s, const struct test *t)
{
	const struct nb_serve_cfg *sc = s->sc;
	struct nb_nic_ref ref = {.netns = ""};
	struct nb_nic_watch *w = NULL;
	char peer[64];

	if (sc->n_nics) {
		nb_nic_watch_new(sc->nics, sc->n_nics, &w);
		return w;
	}
	if (s->eng->caps.own_addr)
		return NULL;
	nb_peer_str(t->data_src.ss_family ? &t->data_src : &t->ctrl_peer, peer, sizeof(peer));
	if (nb_nic_route_iface(peer, ref.ifname, sizeof(ref.ifname)) == 0)
		nb_nic_watch_new(&ref, 1, &w);
	return w;
}
