/* SPDX-License-Identifier: MIT */
/*
 * The responder's limits, and what a test may take of them: its settings and engine checked, one test at a
 * time on an engine that runs one, and the memory budget (--max-mem) taken before anything is allocated and
 * given back when the test ends. Connection-level caps (pending connections, sessions) are admit.c's.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "nbench/clock.h"
#include "nbench/units.h"
#include "resp_int.h"

/* Per flow beyond its buffers: the thread's stack as it is touched, the flow's structures. */
#define FLOW_OVERHEAD_BYTES (128u << 10)
#define UDP_BURST	    32 /* datagrams per burst (lib/workload.c) */
/* A new connection sends its first frame within this, unless --idle-timeout says otherwise. */
#define IDLE_TIMEOUT_NS (5 * NB_NS_PER_S)

void nb_limits_init(struct server *s, const struct nb_serve_cfg *sc)
{
	s->max_mem = sc->max_mem_bytes ? sc->max_mem_bytes : NB_SERVE_MAX_MEM_BYTES;
	s->max_test_mem = sc->max_test_mem_bytes ? sc->max_test_mem_bytes : s->max_mem / 4;
	if (s->max_test_mem > s->max_mem)
		s->max_test_mem = s->max_mem;
	s->max_sessions = sc->max_sessions ? sc->max_sessions : NB_SERVE_MAX_SESSIONS;
	s->session_idle_ns = sc->session_idle_ns > 0 ? sc->session_idle_ns : NB_SERVE_SESSION_IDLE_NS;
	s->idle_ns = sc->idle_timeout_ns > 0 ? sc->idle_timeout_ns : IDLE_TIMEOUT_NS;
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
		size_t n = strlen(nb_resp_name(s, err, errlen));
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

/* The bytes a test's workloads will allocate on this side (resp_flows.c and lib/workload.c's loops), with
 * each flow's thread: what the budget is checked against before anything is allocated. */
static uint64_t test_mem_bytes(const struct nb_test_cfg *c)
{
	bool udp = c->proto == NB_PROTO_UDP;
	uint64_t msg = nb_cfg_msg_bytes(c), per;
	switch (c->kind) {
	case NB_TEST_STREAM:
		if (c->reverse)
			per = udp ? msg * UDP_BURST : msg;
		else
			per = udp ? (msg + 64) * UDP_BURST : RECV_BUF_BYTES;
		break;
	case NB_TEST_RR:
		per = (udp ? (uint64_t)c->req_bytes + 64 : RECV_BUF_BYTES) + c->resp_bytes;
		break;
	case NB_TEST_CRR:
	default: /* one worker for every connection */
		return (uint64_t)c->req_bytes + 4096 + c->resp_bytes + FLOW_OVERHEAD_BYTES +
		       ((uint64_t)c->flows * CRR_CONNS_PER_FLOW + CRR_CONNS_EXTRA) * sizeof(struct crr_conn);
	}
	return (uint64_t)c->flows * (per + FLOW_OVERHEAD_BYTES);
}

int nb_limits_take(struct server *s, uint64_t bytes, const char *what, char *err, size_t errlen)
{
	char a[32], b[32], c[32];
	pthread_mutex_lock(&s->mu);
	uint64_t used = s->mem_used;
	bool fits = used + bytes <= s->max_mem;
	if (fits)
		s->mem_used += bytes;
	pthread_mutex_unlock(&s->mu);
	if (fits)
		return 0;
	snprintf(
	    err, errlen,
	    "the tests%s in progress hold %s of the responder's %s (--max-mem) and %s needs %s: try again "
	    "later",
	    s->sc->paths ? " and path halves" : "", nb_fmt_bytes((double)used, a, sizeof(a)),
	    nb_fmt_bytes((double)s->max_mem, b, sizeof(b)), what, nb_fmt_bytes((double)bytes, c, sizeof(c)));
	return -EBUSY;
}

/* Takes need bytes of the memory budget for a test: 0, or -ENOMEM (more than a test may use) or -EBUSY (the
 * tests in progress leave too little) with the refusal in err. */
static int mem_reserve(struct server *s, uint64_t need, char *err, size_t errlen)
{
	char a[32], b[32];
	if (need > s->max_test_mem) {
		snprintf(err, errlen,
			 "the test needs %s of buffers, more than the %s a test may use here (--max-mem)",
			 nb_fmt_bytes((double)need, a, sizeof(a)),
			 nb_fmt_bytes((double)s->max_test_mem, b, sizeof(b)));
		return -ENOMEM;
	}
	return nb_limits_take(s, need, "this test", err, errlen);
}

void nb_limits_release(struct server *s, uint64_t bytes)
{
	pthread_mutex_lock(&s->mu);
	s->mem_used -= bytes;
	pthread_mutex_unlock(&s->mu);
}

/* Whether this responder takes the test of body: its settings, its engine, one test at a time, the memory
 * budget. 0 with *cfg and *ret_mem (reserved) set and, for a one-test engine, s->busy taken; -errno with
 * the refusal in err. */
int nb_limits_admit_test(struct server *s, const cJSON *body, struct nb_test_cfg *cfg, uint64_t *ret_mem,
			 char *err, size_t errlen)
{
	char name[64];
	int r;
	if ((r = nb_cfg_from_json(body, cfg, err, errlen)) < 0 ||
	    (r = nb_cfg_check_responder(cfg, err, errlen)) < 0 || (r = engine_refusal(s, cfg, err, errlen)))
		return r < 0 ? r : -EINVAL;
	bool one = s->eng->caps.one_test;
	if (one && __atomic_exchange_n(&s->busy, 1, __ATOMIC_ACQ_REL)) {
		snprintf(err, errlen, "%s runs one test at a time", nb_resp_name(s, name, sizeof(name)));
		return -EBUSY;
	}
	*ret_mem = test_mem_bytes(cfg);
	if ((r = mem_reserve(s, *ret_mem, err, errlen)) < 0 && one)
		__atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
	return r;
}
