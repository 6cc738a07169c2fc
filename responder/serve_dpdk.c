/* SPDX-License-Identifier: MIT */
/*
 * The DPDK responder: `nbench serve --engine dpdk`. Control stays on the kernel's TCP (serve.c accepts the
 * connection, says hello and reads TEST); the data path is the DPDK port, at its own address, which TEST_ACK
 * names as data_addr. One packet loop thread owns the port and runs to completion: it answers ARP, attaches
 * each flow on its DATA_HELLO (answering DATA_ACK), echoes rr requests in place, counts a stream's datagrams
 * or sends them. Its counters reach the session thread through relaxed atomics; one test runs at a time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "nbench/clock.h"
#include "nbench/cpu.h"
#include "nbench/dpdk.h"
#include "nbench/proto.h"
#include "nbench/workload.h"

#define ATTACH_TIMEOUT_NS  (5 * NB_NS_PER_S)
#define QUIESCE_TIMEOUT_NS NB_NS_PER_S
/* With no test, the loop naps this long between polls once idle for IDLE_AFTER_NS: ARP is still answered
 * within a millisecond, and an idle responder does not hold a CPU. */
#define IDLE_NAP_NS   NB_NS_PER_MS
#define IDLE_AFTER_NS (100 * NB_NS_PER_MS)

struct dflow {
	bool attached;
	uint32_t peer_ip;   /* network order */
	uint16_t peer_port; /* network order */
	struct rte_ether_addr peer_mac;
	unsigned char hello[256];
	size_t hello_len;
	struct nb_flow_live live;
	/* the loop's own counts, published to live */
	uint64_t bytes, msgs, reord, maxseq, txns, seq_tx, bytes_tx;
	uint64_t bytes_at_measure;
	int64_t t_measure_ns;
};

struct dtest {
	uint64_t id;
	struct nb_test_cfg cfg;
	uint16_t port_be;
	struct dflow *flows;
	unsigned attached; /* atomics: the loop writes, the session reads */
	int started, stop;
	struct nb_pacer pace; /* reverse stream: each flow's schedule, started when the loop first sends */
	unsigned char ack[64];
	size_t ack_len;
};

static struct {
	pthread_t th;
	bool running;
	int quit;
	int busy;	   /* a test is on */
	struct dtest *cur; /* the test the loop serves (atomic) */
	uint64_t epoch;	   /* loop iterations (atomic): the session waits for it to move before freeing */
	cpu_set_t aff0;
} L;

bool nb_serve_dpdk_active(void)
{
	return L.running;
}

/* ---- the packet loop ---- */

static struct dflow *find_flow(struct dtest *t, uint32_t ip, uint16_t port)
{
	for (unsigned i = 0; i < t->cfg.flows; i++)
		if (t->flows[i].attached && t->flows[i].peer_ip == ip && t->flows[i].peer_port == port)
			return &t->flows[i];
	return NULL;
}

/* Rebuilds m as a datagram of len bytes to f: the first keep bytes of payload src survive, the rest is
 * filled. Queues it on tx. */
static void reply(struct dtest *t, struct dflow *f, struct rte_mbuf *m, const void *src, size_t keep,
		  size_t len, struct rte_mbuf **tx, unsigned *ntx)
{
	const char *from = src;
	rte_pktmbuf_reset(m);
	char *p = rte_pktmbuf_append(m, (uint16_t)(NB_DPDK_HDR_BYTES + len));
	if (!p) {
		rte_pktmbuf_free(m);
		return;
	}
	if (keep > len)
		keep = len;
	if (from != p + NB_DPDK_HDR_BYTES)
		memmove(p + NB_DPDK_HDR_BYTES, from, keep);
	if (len > keep)
		memset(p + NB_DPDK_HDR_BYTES + keep, 0xa5, len - keep);
	nb_dpdk_udp_hdr(m, p, &f->peer_mac, f->peer_ip, t->port_be, f->peer_port, (uint16_t)len);
	tx[(*ntx)++] = m;
}

static void on_hello(struct dtest *t, struct rte_mbuf *m, const unsigned char *pl, uint16_t len, uint32_t ip,
		     uint16_t port, struct rte_mbuf **tx, unsigned *ntx)
{
	struct nb_frame_hdr h;
	if (nb_frame_decode_hdr(pl, len, &h) < 0 || h.type != NB_MSG_DATA_HELLO ||
	    h.len != (uint32_t)len - NB_PROTO_HDR_BYTES || len > sizeof(t->flows[0].hello)) {
		rte_pktmbuf_free(m);
		return;
	}
	cJSON *j = nb_frame_parse_body(pl + NB_PROTO_HDR_BYTES, h.len);
	uint64_t id = (uint64_t)nb_json_num(j, "test_id", 0);
	int64_t idx = nb_json_i64(j, "flow", -1);
	cJSON_Delete(j);
	if (id != t->id || idx < 0 || idx >= t->cfg.flows || t->flows[idx].attached) {
		rte_pktmbuf_free(m);
		return;
	}
	struct dflow *f = &t->flows[idx];
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	f->peer_mac = eh->src_addr; /* the sender, or the router in front of it */
	f->peer_ip = ip;
	f->peer_port = port;
	memcpy(f->hello, pl, len);
	f->hello_len = len;
	f->attached = true;
	__atomic_add_fetch(&t->attached, 1, __ATOMIC_RELEASE);
	reply(t, f, m, t->ack, t->ack_len, t->ack_len, tx, ntx);
}

static void on_packet(struct dtest *t, struct rte_mbuf *m, int64_t now, struct rte_mbuf **tx, unsigned *ntx)
{
	uint32_t ip;
	uint16_t sport, dport, len;
	if (nb_dpdk_arp_input(m))
		return;
	unsigned char *pl = t ? nb_dpdk_udp_parse(m, &ip, &sport, &dport, &len) : NULL;
	if (!pl || dport != t->port_be) {
		rte_pktmbuf_free(m);
		return;
	}
	struct dflow *f = find_flow(t, ip, sport);
	if (!f) {
		on_hello(t, m, pl, len, ip, sport, tx, ntx);
		return;
	}
	if (len == f->hello_len && !memcmp(pl, f->hello, len)) { /* our ack was lost: again */
		reply(t, f, m, t->ack, t->ack_len, t->ack_len, tx, ntx);
		return;
	}
	if (len < NB_UDP_HDR_BYTES || __atomic_load_n(&t->stop, __ATOMIC_RELAXED)) {
		rte_pktmbuf_free(m);
		return;
	}
	if (t->cfg.kind == NB_TEST_RR) {
		/* the request's sequence number (and what follows, up to the response's size) goes back */
		reply(t, f, m, pl, len, t->cfg.resp_bytes, tx, ntx);
		nb_pub(&f->live.txns, ++f->txns);
	} else if (!t->cfg.reverse) {
		nb_seq_account(&f->live, &f->msgs, &f->reord, &f->maxseq, nb_seq_get(pl));
		f->bytes += len;
		nb_pub(&f->live.msgs_rcvd, f->msgs);
		nb_pub(&f->live.bytes_rcvd, f->bytes);
		nb_pub(&f->live.reordered, f->reord);
		nb_pub(&f->live.max_seq, f->maxseq);
		__atomic_store_n(&f->live.t_last_ns, now, __ATOMIC_RELAXED);
		rte_pktmbuf_free(m);
	} else {
		rte_pktmbuf_free(m);
	}
	nb_note_cpu_often(&f->live);
}

/* Reverse stream: a burst to every attached flow; paced (stream --rate), only what the schedule has made due,
 * as the kernel engine's sender does (lib/workload.c), without sleeping: this loop also receives. */
static void source(struct dtest *t, struct rte_mempool *pool)
{
	struct rte_mbuf *m[NB_DPDK_BURST];
	uint32_t len = nb_cfg_msg_bytes(&t->cfg);
	bool paced = t->cfg.rate_bps > 0;
	int64_t now = paced ? nb_now_ns() : 0;
	if (paced && !t->pace.t0)
		nb_pacer_start(&t->pace, t->cfg.rate_bps / t->cfg.flows, now);
	for (unsigned i = 0; i < t->cfg.flows; i++) {
		struct dflow *f = &t->flows[i];
		unsigned burst = NB_DPDK_BURST;
		if (paced) {
			double owed = nb_pacer_owed_bytes(&t->pace, f->bytes_tx, now);
			if (owed <= 0)
				continue;
			double k = owed / len + 1;
			burst = k < NB_DPDK_BURST ? (unsigned)k : NB_DPDK_BURST;
		}
		if (!f->attached || rte_pktmbuf_alloc_bulk(pool, m, burst) != 0)
			continue;
		for (unsigned k = 0; k < burst; k++) {
			char *p = rte_pktmbuf_append(m[k], (uint16_t)(NB_DPDK_HDR_BYTES + len));
			memset(p + NB_DPDK_HDR_BYTES, 0x5a, len);
			nb_seq_put(p + NB_DPDK_HDR_BYTES, f->seq_tx + k);
			nb_dpdk_udp_hdr(m[k], p, &f->peer_mac, f->peer_ip, t->port_be, f->peer_port,
					(uint16_t)len);
		}
		unsigned n = nb_dpdk_tx(m, burst);
		f->seq_tx += n;
		f->bytes_tx += (uint64_t)n * len;
		nb_pub(&f->live.msgs_sent, f->seq_tx);
		nb_pub(&f->live.bytes_sent, f->bytes_tx);
		nb_note_cpu_often(&f->live);
	}
}

static void place(int cpu)
{
	if (cpu < 0) {
		pthread_setaffinity_np(pthread_self(), sizeof(L.aff0), &L.aff0);
		return;
	}
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *loop_main(void *arg)
{
	const struct nb_dpdk_port *p = arg;
	struct rte_mbuf *rx[NB_DPDK_BURST], *tx[NB_DPDK_BURST];
	int64_t busy_at = nb_now_ns();
	int pinned = -1;

	nb_dpdk_thread_enter();
	while (!__atomic_load_n(&L.quit, __ATOMIC_RELAXED)) {
		struct dtest *t = __atomic_load_n(&L.cur, __ATOMIC_ACQUIRE);
		int want = t ? t->cfg.cpu_resp : -1;
		if (want != pinned) {
			place(want);
			pinned = want;
		}
		unsigned ntx = 0;
		uint16_t n = rte_eth_rx_burst(p->port_id, 0, rx, NB_DPDK_BURST);
		int64_t now = n || t ? nb_now_ns() : 0;
		for (uint16_t i = 0; i < n; i++)
			on_packet(t, rx[i], now, tx, &ntx);
		if (ntx)
			nb_dpdk_tx(tx, ntx);
		if (t && t->cfg.kind == NB_TEST_STREAM && t->cfg.reverse &&
		    __atomic_load_n(&t->started, __ATOMIC_RELAXED) &&
		    !__atomic_load_n(&t->stop, __ATOMIC_RELAXED))
			source(t, p->pool);
		__atomic_add_fetch(&L.epoch, 1, __ATOMIC_RELEASE);
		if (n || t) {
			busy_at = now;
		} else if (nb_now_ns() - busy_at > IDLE_AFTER_NS) {
			nb_sleep_until(nb_now_ns() + IDLE_NAP_NS);
		}
	}
	rte_thread_unregister();
	return NULL;
}

int nb_serve_dpdk_start(char *err, size_t errlen)
{
	const struct nb_dpdk_port *p = nb_dpdk_port();
	if (!p) {
		snprintf(err, errlen, "the DPDK port is not started");
		return -ENODEV;
	}
	pthread_getaffinity_np(pthread_self(), sizeof(L.aff0), &L.aff0);
	L.quit = 0;
	if (pthread_create(&L.th, NULL, loop_main, (void *)p) != 0) {
		snprintf(err, errlen, "cannot start the DPDK packet loop");
		return -EAGAIN;
	}
	L.running = true;
	return 0;
}

void nb_serve_dpdk_stop(void)
{
	if (!L.running)
		return;
	__atomic_store_n(&L.quit, 1, __ATOMIC_RELAXED);
	pthread_join(L.th, NULL);
	L.running = false;
}

/* ---- one test over the control connection ---- */

/* Waits until the loop has finished every iteration that may have seen the old state. */
static void quiesce(void)
{
	uint64_t e = __atomic_load_n(&L.epoch, __ATOMIC_ACQUIRE);
	int64_t end = nb_now_ns() + QUIESCE_TIMEOUT_NS;
	while (__atomic_load_n(&L.epoch, __ATOMIC_ACQUIRE) < e + 2 && nb_now_ns() < end)
		sched_yield();
}

static int test_new(const struct nb_test_cfg *cfg, struct dtest **ret)
{
	struct dtest *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->cfg = *cfg;
	t->port_be = htons(cfg->port);
	t->flows = calloc(cfg->flows, sizeof(*t->flows));
	if (!t->flows) {
		free(t);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < cfg->flows; i++)
		t->flows[i].live.cpu = -1;
	do {
		if (getrandom(&t->id, sizeof(t->id), 0) != sizeof(t->id))
			t->id = (uint64_t)nb_now_ns();
		t->id &= (1ULL << 52) - 1; /* exact in a JSON number */
	} while (!t->id);
	/* the same DATA_ACK as the kernel responder's */
	const char *body = "{\"ack\":1}";
	ssize_t n = nb_frame_encode(t->ack, sizeof(t->ack), NB_MSG_DATA_ACK, body, strlen(body));
	if (n < 0) {
		free(t->flows);
		free(t);
		return (int)n;
	}
	t->ack_len = (size_t)n;
	*ret = t;
	return 0;
}

static cJSON *result(struct dtest *t, uint64_t resp_ns, const struct nb_cpu_snap *a,
		     const struct nb_cpu_snap *b)
{
	struct nb_result *res = calloc(1, sizeof(*res));
	if (!res)
		return NULL;
	uint64_t mask = 0;
	res->n_flows = t->cfg.flows;
	for (unsigned i = 0; i < t->cfg.flows; i++) {
		struct dflow *f = &t->flows[i];
		struct nb_flow_live *l = &f->live;
		struct nb_result_flow *rf = &res->flows[i];
		rf->bytes_sent = nb_peek(&l->bytes_sent);
		rf->msgs_sent = nb_peek(&l->msgs_sent);
		rf->bytes_rcvd = nb_peek(&l->bytes_rcvd);
		rf->msgs_rcvd = nb_peek(&l->msgs_rcvd);
		rf->reordered = nb_peek(&l->reordered);
		int64_t win = __atomic_load_n(&l->t_last_ns, __ATOMIC_RELAXED) - f->t_measure_ns;
		rf->window_ns = f->t_measure_ns && win > 0 ? win : 0;
		rf->window_bytes = f->t_measure_ns ? rf->bytes_rcvd - f->bytes_at_measure : 0;
		mask |= l->cpu_mask;
	}
	/* the packet loop polls the port: it never sleeps during a test, whatever the generator's --spin */
	snprintf(res->wait, sizeof(res->wait), "spin (dpdk poll)");
	nb_cpu_mask_str(mask, res->cpus, sizeof(res->cpus));
	res->cpu_ns = resp_ns;
	if (a && b) {
		res->have_cost = true;
		nb_cpu_cost(a, b, &res->cost);
		res->cost.resp_ns = resp_ns;
	}
	cJSON *j = nb_result_to_json(res);
	free(res);
	return j;
}

static int wait_attached(struct dtest *t)
{
	int64_t end = nb_now_ns() + ATTACH_TIMEOUT_NS;
	while (__atomic_load_n(&t->attached, __ATOMIC_ACQUIRE) < t->cfg.flows) {
		if (nb_now_ns() >= end)
			return -ETIMEDOUT;
		nb_sleep_until(nb_now_ns() + NB_NS_PER_MS);
	}
	return 0;
}

int nb_serve_dpdk_test(int fd, const struct nb_test_cfg *cfg)
{
	struct dtest *t = NULL;
	struct nb_cpu_meter *meter = NULL;
	struct nb_cpu_snap a, b;
	bool have_a = false;
	uint64_t cpu_at_measure = 0;
	cJSON *msg = NULL;
	uint16_t type;
	int r;

	uint32_t max = nb_dpdk_max_payload();
	if (cfg->proto != NB_PROTO_UDP || cfg->kind == NB_TEST_CRR) {
		nb_proto_send_error(fd,
				    "responder refused the test: the DPDK responder runs UDP stream and rr "
				    "(--proto udp)");
		return 0;
	}
	if ((cfg->kind == NB_TEST_STREAM && nb_cfg_msg_bytes(cfg) > max) ||
	    (cfg->kind == NB_TEST_RR && (cfg->req_bytes > max || cfg->resp_bytes > max))) {
		nb_proto_send_error(
		    fd,
		    "responder refused the test: the DPDK port carries datagrams of at most %u "
		    "bytes",
		    max);
		return 0;
	}
	if (__atomic_exchange_n(&L.busy, 1, __ATOMIC_ACQ_REL)) {
		nb_proto_send_error(fd,
				    "responder refused the test: the DPDK responder runs one test at a time");
		return 0;
	}
	if ((r = test_new(cfg, &t)) < 0) {
		nb_proto_send_error(fd, "responder: %s", strerror(-r));
		goto out;
	}
	__atomic_store_n(&L.cur, t, __ATOMIC_RELEASE);

	cJSON *ack = cJSON_CreateObject();
	cJSON_AddNumberToObject(ack, "test_id", (double)t->id);
	cJSON_AddStringToObject(ack, "data_addr", nb_dpdk_ip_str());
	r = nb_proto_send(fd, NB_MSG_TEST_ACK, ack);
	cJSON_Delete(ack);
	if (r < 0)
		goto out;
	if (wait_attached(t) < 0) {
		nb_proto_send_error(
		    fd, "only %u of %u data flows reached the DPDK responder at %s within 5 s",
		    __atomic_load_n(&t->attached, __ATOMIC_ACQUIRE), t->cfg.flows, nb_dpdk_ip_str());
		r = 0;
		goto out;
	}
	if ((r = nb_proto_send(fd, NB_MSG_READY, NULL)) < 0)
		goto out;
	nb_cpu_meter_open(false, &meter);
	for (;;) {
		if ((r = nb_proto_recv(fd, -1, &type, &msg, NULL)) < 0)
			goto out;
		if (type == NB_MSG_START) {
			__atomic_store_n(&t->started, 1, __ATOMIC_RELAXED);
		} else if (type == NB_MSG_MEASURE) {
			int64_t now = nb_now_ns();
			for (unsigned i = 0; i < t->cfg.flows; i++) {
				t->flows[i].bytes_at_measure = nb_peek(&t->flows[i].live.bytes_rcvd);
				t->flows[i].t_measure_ns = now;
			}
			cpu_at_measure = nb_thread_cpu_ns((unsigned long)L.th);
			have_a = meter && nb_cpu_snap(meter, &a) == 0;
		} else if (type == NB_MSG_STOP) {
			bool have_b = have_a && nb_cpu_snap(meter, &b) == 0;
			uint64_t cpu_now = nb_thread_cpu_ns((unsigned long)L.th);
			__atomic_store_n(&t->stop, 1, __ATOMIC_RELAXED);
			quiesce();
			cJSON *res =
			    result(t, have_a && cpu_now > cpu_at_measure ? cpu_now - cpu_at_measure : 0,
				   have_a ? &a : NULL, have_b ? &b : NULL);
			r = nb_proto_send(fd, NB_MSG_RESULT, res);
			cJSON_Delete(res);
			break;
		} else {
			nb_proto_send_error(fd, "unexpected message %u during a test", type);
			r = -EPROTO;
			break;
		}
		cJSON_Delete(msg);
		msg = NULL;
	}
out:
	cJSON_Delete(msg);
	__atomic_store_n(&L.cur, NULL, __ATOMIC_RELEASE);
	quiesce();
	if (t) {
		free(t->flows);
		free(t);
	}
	nb_cpu_meter_close(meter);
	__atomic_store_n(&L.busy, 0, __ATOMIC_RELEASE);
	return r;
}
