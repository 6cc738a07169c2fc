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

#include "nbench/auth.h"
#include "nbench/clock.h"
#include "nbench/cpu.h"
#include "nbench/engine.h"
#include "nbench/nic.h"
#include "nbench/proto.h"
#include "nbench/serve.h"
#include "nbench/sysinfo.h"
#include "nbench/tcpinfo.h"
#include "nbench/units.h"
#include "nbench/workload.h"

#define ATTACH_TIMEOUT_NS (5 * NB_NS_PER_S)
#define STOP_GRACE_NS	  (5 * NB_NS_PER_S)
/* START comes right after READY; a client that sends nothing else this long is gone. */
#define START_TIMEOUT_NS (10 * NB_NS_PER_S)
/* A test ends by itself this long after its warm-up and duration even when STOP never comes: longer than
 * the generator's own wait for its flows (FLOW_GRACE_NS, 10 s) before it sends STOP. */
#define TEST_GRACE_NS (15 * NB_NS_PER_S)
/* The client's proof of the key comes right after our challenge. */
#define AUTH_TIMEOUT_NS (5 * NB_NS_PER_S)
/* Connections that have not yet sent their first frame: in all, and from one address, so that one address
 * cannot lock out another (a client opens its data connections one at a time, each with its hello). */
#define MAX_PENDING	     1024
#define MAX_PENDING_PER_ADDR 32
/* Out of descriptors, the listener rests this long before it accepts again (instead of spinning). */
#define EMFILE_BACKOFF_NS (250 * NB_NS_PER_MS)
/* crr: a client keeps one connection per flow open at a time; a few more are closing. */
#define CRR_CONNS_PER_FLOW 2
#define CRR_CONNS_EXTRA	   32
/* Per flow beyond its buffers: the thread's stack as it is touched, the flow's structures. */
#define FLOW_OVERHEAD_BYTES (128u << 10)
#define RECV_BUF_BYTES	    (256u << 10) /* the TCP sink's and echo's receive buffer (resp_flows.c) */
#define UDP_BURST	    32		 /* datagrams per burst (lib/workload.c) */
#define HELLO_MAX_BYTES	    256		 /* a UDP flow's hello, kept to recognise it repeated */
/* A refused data hello is logged at most this often (a flood of forged ones must not flood the log). */
#define REFUSAL_LOG_NS (1 * NB_NS_PER_S)

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
	uint64_t cpu_end_ns;			  /* the thread's own CPU time when it ended */
	struct nb_tcpinfo tcp_at_measure;	  /* a TCP flow's socket at MEASURE; invalid: not read */
	unsigned char hello_buf[HELLO_MAX_BYTES]; /* a UDP flow's hello, to recognise it repeated */
};

struct test {
	uint64_t id;
	unsigned char token[NB_AUTH_TOKEN_BYTES]; /* every data hello of the test carries it */
	/* Where its data may come from: the control connection's peer address, and the client's own data
	 * address when an authenticated client named one (data_src.ss_family 0: none). */
	struct sockaddr_storage ctrl_peer, data_src;
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
	struct crr_conn *crr_list; /* open connections (under mu) */
	unsigned crr_conns;	   /* how many: at most crr_max */
	unsigned crr_max;
	uint64_t mem_bytes; /* its share of the server's budget */
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
	uint64_t mem_used; /* the budgets of the tests in progress (under mu) */
	uint64_t max_mem, max_test_mem;
	unsigned max_sessions;
	int64_t session_idle_ns;
	unsigned sessions;
	unsigned halves; /* server halves of paths up (atomic): nb_serve waits for them when it stops */
	unsigned tests_done;
	int64_t refusal_log_ns;	    /* the last refused data hello logged (under mu) */
	unsigned refusals_unlogged; /* refused since then (under mu) */
	bool accept_paused;	    /* out of descriptors: the listener is out of the epoll set */
	int64_t accept_resume_ns;   /* until then */
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

/* An IPv4-mapped IPv6 address as the IPv4 one, so a dual-stack listener's peers compare with IPv4 senders. */
static void addr_plain(const struct sockaddr *sa, struct sockaddr_storage *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (sa->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sa)->sin6_addr)) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)ret;
		v4->sin_family = AF_INET;
		memcpy(&v4->sin_addr, ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr + 12, 4);
	} else if (sa->sa_family == AF_INET) {
		memcpy(ret, sa, sizeof(struct sockaddr_in));
	} else if (sa->sa_family == AF_INET6) {
		memcpy(ret, sa, sizeof(struct sockaddr_in6));
	}
}

/* Whether two socket addresses name the same host (ports aside). */
static bool same_host(const struct sockaddr *a, const struct sockaddr_storage *b_)
{
	struct sockaddr_storage x, y;
	addr_plain(a, &x);
	addr_plain((const struct sockaddr *)b_, &y);
	if (x.ss_family != y.ss_family || !x.ss_family)
		return false;
	if (x.ss_family == AF_INET)
		return ((struct sockaddr_in *)&x)->sin_addr.s_addr ==
		       ((struct sockaddr_in *)&y)->sin_addr.s_addr;
	return !memcmp(&((struct sockaddr_in6 *)&x)->sin6_addr, &((struct sockaddr_in6 *)&y)->sin6_addr,
		       sizeof(struct in6_addr));
}

/* Logs a refused data hello, at most once per REFUSAL_LOG_NS with the count of those not logged since. */
static void log_refusal(struct server *s, const char *from, const char *why)
{
	int64_t now = nb_now_ns();
	pthread_mutex_lock(&s->mu);
	bool log = now - s->refusal_log_ns >= REFUSAL_LOG_NS;
	unsigned skipped = s->refusals_unlogged;
	if (log) {
		s->refusal_log_ns = now;
		s->refusals_unlogged = 0;
	} else {
		s->refusals_unlogged++;
	}
	pthread_mutex_unlock(&s->mu);
	if (log && skipped)
		logf_(s, "%s: refused: %s (and %u other data hellos refused, not logged)", from, why,
		      skipped);
	else if (log)
		logf_(s, "%s: refused: %s", from, why);
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
	struct crr_conn *prev, *next; /* the test's open ones (under its mu), closed with it */
};

/* Closes c and forgets it. */
static void crr_close(struct test *t, struct crr_conn *c)
{
	/* Out of the set before the close: an epitem outlives close() while anything else still holds the
	 * file, and would then report this freed connection again. */
	epoll_ctl(t->crr_epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd); /* closing first keeps TIME_WAIT on this side */
	pthread_mutex_lock(&t->mu);
	if (c->prev)
		c->prev->next = c->next;
	else
		t->crr_list = c->next;
	if (c->next)
		c->next->prev = c->prev;
	t->crr_conns--;
	pthread_mutex_unlock(&t->mu);
	free(c);
}

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
			crr_close(t, c);
		}
	}
out:
	free(buf);
	free(resp);
	return NULL;
}

/* Adds a connection to the test, under t->mu. */
static int crr_add(struct test *t, int fd)
{
	if (t->crr_conns >= t->crr_max)
		return -EMFILE;
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
	c->next = t->crr_list;
	if (c->next)
		c->next->prev = c;
	t->crr_list = c;
	t->crr_conns++;
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

/*
 * Admission of a data flow: the one place a DATA_HELLO (a data connection's first frame, or a UDP flow's
 * first datagram, len bytes of buf) is matched to its test. The hello must decode (its numbers in range, its
 * length its frame's), name a test in progress over proto and one of its flows, carry the test's token, come
 * from the test's client (the control connection's peer address, or the data address its authenticated
 * client named: a forged UDP hello must not aim a flow at a third party), and fit the bytes a UDP flow keeps
 * to recognise it repeated. peer: where it came from.
 *
 * Returns the test with s->mu and its mu held (hello_release unlocks both), *ret_flow its flow; NULL with a
 * one-line reason in why (for the log and, on a connection, an ERROR frame).
 */
static struct test *hello_admit(struct server *s, const void *buf, size_t len, enum nb_proto proto,
				const struct sockaddr *peer, unsigned *ret_flow, char *why, size_t whylen)
{
	struct nb_data_hello dh;
	if (len > HELLO_MAX_BYTES) {
		snprintf(why, whylen, "a data hello of %zu bytes (at most %u)", len, HELLO_MAX_BYTES);
		return NULL;
	}
	if (nb_data_hello_decode(buf, len, &dh, why, whylen) < 0)
		return NULL;
	pthread_mutex_lock(&s->mu);
	struct test *t = test_find(s, dh.test_id);
	if (!t || t->cfg.proto != proto) {
		snprintf(why, whylen, "a data hello for no %s test in progress", nb_proto_name(proto));
	} else if (!nb_auth_token_equal(dh.token, t->token)) {
		snprintf(why, whylen, "a data hello with a wrong token");
	} else if (!same_host(peer, &t->ctrl_peer) && !same_host(peer, &t->data_src)) {
		snprintf(why, whylen, "a data hello from another address than its test's client");
	} else if (t->cfg.kind != NB_TEST_CRR && dh.flow >= t->cfg.flows) {
		snprintf(why, whylen, "a data hello for flow %u of a test of %u flows", dh.flow,
			 t->cfg.flows);
	} else {
		pthread_mutex_lock(&t->mu);
		*ret_flow = dh.flow;
		return t;
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static void hello_release(struct server *s, struct test *t)
{
	pthread_mutex_unlock(&t->mu);
	pthread_mutex_unlock(&s->mu);
}

/* A TCP data connection whose first frame (len bytes of hello) was a DATA_HELLO: hands fd to its test's
 * flow, or to its crr worker. Takes fd in every case (refused: closed, after an ERROR frame when the hello
 * itself was wrong). */
static void attach_fd(struct server *s, const void *hello, size_t len, int fd, const char *peer_str,
		      const struct sockaddr_storage *peer)
{
	char why[160];
	unsigned idx;
	struct test *t =
	    hello_admit(s, hello, len, NB_PROTO_TCP, (const struct sockaddr *)peer, &idx, why, sizeof(why));
	if (!t) {
		nb_proto_send_error(fd, "responder refused the data connection: %s", why);
		log_refusal(s, peer_str, why);
		close(fd);
		return;
	}
	int r = -EBUSY;
	if (t->done) {
		snprintf(why, sizeof(why), "a data connection after the test's end");
	} else if (t->cfg.kind == NB_TEST_CRR) {
		r = crr_add(t, fd);
		snprintf(why, sizeof(why), "crr connection: %s",
			 r == -EMFILE ? "the test's limit of open connections is reached" : strerror(-r));
	} else if (t->flows[idx].flow) {
		snprintf(why, sizeof(why), "flow %u attached twice", idx);
	} else if (!s->eng->ops->adopt_fd) {
		r = -EPROTONOSUPPORT;
		snprintf(why, sizeof(why), "this engine carries no TCP");
	} else {
		struct nb_flow_opts o = resp_opts(&t->cfg);
		r = s->eng->ops->adopt_fd(s->eng, fd, &o, &t->flows[idx].flow);
		if (r == 0) {
			t->attached++;
			pthread_cond_broadcast(&t->cv);
		}
		snprintf(why, sizeof(why), "flow %u: %s", idx, strerror(-r));
	}
	hello_release(s, t);
	if (r < 0) {
		logf_(s, "%s: refused: %s", peer_str, why);
		close(fd);
	}
}

/* A UDP flow's hello, handed over by the engine: the engine makes the flow of its sender, which answers
 * DATA_ACK. */
static void on_hello(void *arg, struct nb_engine *e, const struct nb_hello *hello)
{
	struct server *s = arg;
	char why[160];
	unsigned idx;
	struct test *t =
	    hello_admit(s, hello->buf, hello->len, NB_PROTO_UDP, hello->peer, &idx, why, sizeof(why));
	if (!t) {
		char from[64];
		struct sockaddr_storage p;
		addr_plain(hello->peer, &p);
		addr_str(&p, from, sizeof(from));
		log_refusal(s, from, why);
		return; /* a datagram is not answered: its source may be forged */
	}
	struct rflow *rf = &t->flows[idx];
	if (rf->flow) { /* our ack was lost and the flow's socket is not yet in the kernel's lookup: again */
		rf->flow->ops->send(rf->flow, t->ack, t->ack_len);
		goto out;
	}
	if (t->done)
		goto out;
	struct nb_flow_opts o = resp_opts(&t->cfg);
	if (e->ops->accept(e, hello, t->ack, t->ack_len, &o, &rf->flow) < 0) {
		rf->flow = NULL;
		goto out;
	}
	memcpy(rf->hello_buf, hello->buf, hello->len);
	rf->ctx.hello = rf->hello_buf;
	rf->ctx.hello_len = hello->len;
	t->attached++;
	pthread_cond_broadcast(&t->cv);
out:
	hello_release(s, t);
}

/* ---- a session: one control connection, its tests one after another ---- */

struct session {
	struct server *s;
	int fd;
	char peer[64];
	struct sockaddr_storage peer_addr; /* the control connection's peer */
	struct nb_ctrl_hello hello;	   /* its HELLO */
	/* The client proved the key. What needs a key checks it: path building (a responder that builds
	 * paths on its host as root, --paths) is refused to a session that is not. */
	bool authed;
	void *half; /* the server half of a path built for this session (sc->paths), torn down at its end */
	struct sockaddr_storage
	    data_src; /* the client's own data address, when it named one (family 0: none) */
};

static void test_free(struct test *t)
{
	if (!t)
		return;
	for (unsigned i = 0; t->flows && i < t->cfg.flows; i++)
		nb_flow_close(t->flows[i].flow);
	while (t->crr_list)
		crr_close(t, t->crr_list);
	if (t->crr_epfd >= 0)
		close(t->crr_epfd);
	if (t->crr_evfd >= 0)
		close(t->crr_evfd);
	free(t->flows);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	free(t);
}

static int test_new(struct server *s, const struct session *ss, const struct nb_test_cfg *cfg,
		    struct test **ret)
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
		t->crr_max = cfg->flows * CRR_CONNS_PER_FLOW + CRR_CONNS_EXTRA;
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

/* Starts the test's threads; its sources end by themselves at end_ns (CLOCK_MONOTONIC) if nothing ended
 * them before. */
static int test_start(struct test *t, int64_t end_ns)
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
		rf->ctx.t_end_ns = end_ns;
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

/* A TCP stream or rr flow's socket now into ret; false (ret invalid) for other flows (UDP, crr's, an
 * engine's without a kernel socket) or when it cannot be read. The flow's fd is open until the test ends. */
static bool flow_tcp(const struct test *t, const struct rflow *rf, struct nb_tcpinfo *ret)
{
	memset(ret, 0, sizeof(*ret));
	return t->cfg.proto == NB_PROTO_TCP && t->cfg.kind != NB_TEST_CRR && rf->flow &&
	       nb_tcpinfo_get(rf->flow->fd, ret) == 0;
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
		/* its socket as the test left it, its retransmits since MEASURE */
		struct nb_tcpinfo now;
		if (flow_tcp(t, rf, &now))
			nb_tcpinfo_since(&now, &rf->tcp_at_measure, &f->tcp);
		if (rf->ctx.rc && !ret->error[0])
			snprintf(ret->error, sizeof(ret->error), "%s", rf->ctx.err);
	}
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
}

static void test_measure(struct test *t)
{
	int64_t now = nb_now_ns();
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
static struct nb_nic_watch *test_nics(const struct server *s, const struct test *t)
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
	addr_str(t->data_src.ss_family ? &t->data_src : &t->ctrl_peer, peer, sizeof(peer));
	if (nb_nic_route_iface(peer, ref.ifname, sizeof(ref.ifname)) == 0)
		nb_nic_watch_new(&ref, 1, &w);
	return w;
}

static int result_iface_add(void *arg, const struct nb_nic_id *id, const struct nb_nic_snap *delta)
{
	struct nb_result *res = arg;
	if (res->n_ifaces == NB_RESULT_MAX_IFACES)
		return 1;
	nb_result_iface_set(&res->ifaces[res->n_ifaces++], id, delta);
	return 0;
}

/* Whether j, printed, would not fit one frame. */
static bool result_too_big(const cJSON *j)
{
	char *txt = j ? cJSON_PrintUnformatted(j) : NULL;
	bool big = txt && strlen(txt) > NB_PROTO_MAX_BODY;
	free(txt);
	return big;
}

/* RESULT, leaving out what would not fit one frame (NB_MAX_FLOWS flows with large counts beside their TCP
 * state and interfaces whose every counter moved): first the flows' TCP state (the client says it did not
 * come), then the interfaces' counters. */
static int send_result(struct session *ss, struct nb_result *res)
{
	cJSON *j = nb_result_to_json(res);
	bool tcp = false;
	for (unsigned i = 0; i < res->n_flows; i++)
		tcp |= res->flows[i].tcp.valid;
	if (tcp && result_too_big(j)) {
		logf_(ss->s, "%s: the flows' TCP state left out of the result: it would pass %u bytes",
		      ss->peer, NB_PROTO_MAX_BODY);
		for (unsigned i = 0; i < res->n_flows; i++)
			res->flows[i].tcp.valid = false;
		cJSON_Delete(j);
		j = nb_result_to_json(res);
	}
	if (res->n_ifaces && result_too_big(j)) {
		logf_(ss->s, "%s: the interfaces' counters left out of the result: it would pass %u bytes",
		      ss->peer, NB_PROTO_MAX_BODY);
		res->n_ifaces = 0;
		cJSON_Delete(j);
		j = nb_result_to_json(res);
	}
	int r = j ? nb_proto_send(ss->fd, NB_MSG_RESULT, j) : -ENOMEM;
	cJSON_Delete(j);
	return r;
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

/* Takes need bytes of the memory budget: 0, or -ENOMEM (more than a test may use) or -EBUSY (the tests in
 * progress leave too little) with the refusal in err. */
static int mem_reserve(struct server *s, uint64_t need, char *err, size_t errlen)
{
	char a[32], b[32], c[32];
	if (need > s->max_test_mem) {
		snprintf(err, errlen,
			 "the test needs %s of buffers, more than the %s a test may use here (--max-mem)",
			 nb_fmt_bytes((double)need, a, sizeof(a)),
			 nb_fmt_bytes((double)s->max_test_mem, b, sizeof(b)));
		return -ENOMEM;
	}
	pthread_mutex_lock(&s->mu);
	uint64_t used = s->mem_used;
	bool fits = used + need <= s->max_mem;
	if (fits)
		s->mem_used += need;
	pthread_mutex_unlock(&s->mu);
	if (fits)
		return 0;
	snprintf(err, errlen,
		 "the tests in progress use %s of the responder's %s (--max-mem) and this one needs %s: try "
		 "again later",
		 nb_fmt_bytes((double)used, a, sizeof(a)), nb_fmt_bytes((double)s->max_mem, b, sizeof(b)),
		 nb_fmt_bytes((double)need, c, sizeof(c)));
	return -EBUSY;
}

static void mem_release(struct server *s, uint64_t bytes)
{
	pthread_mutex_lock(&s->mu);
	s->mem_used -= bytes;
	pthread_mutex_unlock(&s->mu);
}

/* Whether this responder takes the test of body: its settings, its engine, one test at a time, the memory
 * budget. 0 with *cfg and *ret_mem (reserved) set and, for a one-test engine, s->busy taken; -errno with
 * the refusal in err. */
static int test_admit(struct server *s, const cJSON *body, struct nb_test_cfg *cfg, uint64_t *ret_mem,
		      char *err, size_t errlen)
{
	char name[64];
	int r;
	if ((r = nb_cfg_from_json(body, cfg, err, errlen)) < 0 ||
	    (r = nb_cfg_check_responder(cfg, err, errlen)) < 0 || (r = engine_refusal(s, cfg, err, errlen)))
		return r < 0 ? r : -EINVAL;
	bool one = s->eng->caps.one_test;
	if (one && __atomic_exchange_n(&s->busy, 1, __ATOMIC_ACQ_REL)) {
		snprintf(err, errlen, "%s runs one test at a time", responder_name(s, name, sizeof(name)));
		return -EBUSY;
	}
	*ret_mem = test_mem_bytes(cfg);
	if ((r = mem_reserve(s, *ret_mem, err, errlen)) < 0 && one)
		__atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
	return r;
}

/* Receives the session's next frame by deadline_ns. A frame the protocol does not allow is answered with an
 * ERROR frame naming the problem; a timeout is the caller's to answer. */
static int session_recv(struct session *ss, int64_t deadline_ns, uint16_t *type, cJSON **msg)
{
	uint16_t ver = 0;
	int r = nb_proto_recv(ss->fd, deadline_ns, type, msg, &ver);
	const char *what = NULL;
	switch (r) {
	case -EPROTONOSUPPORT:
		nb_proto_send_error(ss->fd,
				    "protocol version mismatch: the client speaks version %u, this responder "
				    "speaks version %u",
				    ver, NB_PROTO_VERSION);
		what = "protocol version mismatch";
		break;
	case -EBADMSG:
		what =
		    "a frame that is not nbench's protocol (bad magic, or a body that is not a JSON object)";
		break;
	case -EMSGSIZE:
		_Static_assert(NB_PROTO_MAX_BODY == 64 * 1024, "the message below says 64 KiB");
		what = "a frame whose body is longer than 64 KiB";
		break;
	case -EINVAL:
		what = "a frame of an unknown type";
		break;
	}
	if (what && r != -EPROTONOSUPPORT)
		nb_proto_send_error(ss->fd, "protocol error: %s", what);
	if (what)
		logf_(ss->s, "%s: closed: %s", ss->peer, what);
	return r;
}

/* The frames of a test in progress: START, MEASURE, STOP (then RESULT). Returns 0 when the session may go
 * on, -errno to end it. */
static int test_frames_loop(struct session *ss, struct test *t)
{
	struct server *s = ss->s;
	const struct nb_test_cfg *cfg = &t->cfg;
	struct nb_cpu_meter *m = NULL;
	struct nb_cpu_snap a, b;
	bool have_a = false, started = false, measured = false;
	int64_t deadline = nb_now_ns() + START_TIMEOUT_NS;
	struct nb_nic_watch *nics = test_nics(s, t);
	struct nb_result *res = NULL;
	cJSON *msg = NULL;
	uint16_t type;
	int r;

	nb_cpu_meter_open(false, &m);
	for (;;) {
		r = session_recv(ss, deadline, &type, &msg);
		if (r == -ETIMEDOUT && started) {
			test_stop(t);
			nb_proto_send_error(
			    ss->fd, "no STOP within %lld s of the test's end: the responder ended the test",
			    (long long)(TEST_GRACE_NS / NB_NS_PER_S));
			logf_(s, "%s: no STOP came: test ended", ss->peer);
		} else if (r == -ETIMEDOUT) {
			nb_proto_send_error(ss->fd, "no START within %lld s of READY: the test is cancelled",
					    (long long)(START_TIMEOUT_NS / NB_NS_PER_S));
		}
		if (r < 0)
			break;
		if (type == NB_MSG_START && !started) {
			deadline = nb_now_ns() + cfg->warmup_ns + cfg->duration_ns + TEST_GRACE_NS;
			started = true;
			if ((r = test_start(t, deadline)) < 0) {
				nb_proto_send_error(ss->fd, "responder cannot start its flow threads");
				break;
			}
		} else if (type == NB_MSG_MEASURE && started && !measured) {
			/* once, after START: each one snapshots the CPU and the interfaces, and moves the
			 * window, so repeats are a protocol error rather than work done for a peer */
			measured = true;
			test_measure(t);
			nb_nic_watch_window(nics, false); /* before the CPU's window opens: not in it */
			have_a = m && nb_cpu_snap(m, &a) == 0;
		} else if (type == NB_MSG_STOP) {
			bool have_b = have_a && nb_cpu_snap(m, &b) == 0;
			nb_nic_watch_window(nics, true);
			test_stop(t);
			if (!(res = malloc(sizeof(*res)))) { /* 30 KB: not on the session's stack */
				r = -ENOMEM;
				break;
			}
			test_result(t, have_a ? &a : NULL, have_b ? &b : NULL, res);
			nb_nic_watch_each(nics, result_iface_add, res);
			r = send_result(ss, res);
			logf_(s, "%s: %s %s test done%s%s", ss->peer, nb_test_kind_name(cfg->kind),
			      nb_proto_name(cfg->proto), res->error[0] ? ": " : "", res->error);
			break;
		} else {
			nb_proto_send_error(ss->fd, "protocol error: unexpected message %u during a test",
					    type);
			logf_(s, "%s: closed: unexpected message %u during a test", ss->peer, type);
			r = -EPROTO;
			break;
		}
		cJSON_Delete(msg);
		msg = NULL;
	}
	cJSON_Delete(msg);
	nb_cpu_meter_close(m);
	nb_nic_watch_free(nics);
	free(res);
	return r;
}

/* Runs one test whose TEST message is body. Returns 0 when the session may go on, -errno to end it. */
static int session_test(struct session *ss, const cJSON *body)
{
	struct server *s = ss->s;
	struct nb_test_cfg cfg;
	char err[256];
	struct test *t = NULL;
	uint64_t mem = 0;
	int r;

	if (test_admit(s, body, &cfg, &mem, err, sizeof(err)) < 0) {
		nb_proto_send_error(ss->fd, "responder refused the test: %s", err);
		logf_(s, "%s: refused the test: %s", ss->peer, err);
		return 0;
	}
	bool one = s->eng->caps.one_test;
	r = test_new(s, ss, &cfg, &t);
	if (r < 0) {
		nb_proto_send_error(ss->fd, "responder: %s", strerror(-r));
		goto out;
	}
	struct nb_test_ack ta = {.test_id = t->id};
	memcpy(ta.token, t->token, sizeof(ta.token));
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
	r = test_frames_loop(ss, t);
out:
	if (t) {
		test_unregister(s, t);
		test_stop(t);
		test_free(t);
	}
	mem_release(s, mem);
	if (one)
		__atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
	__atomic_add_fetch(&s->tests_done, 1, __ATOMIC_RELAXED);
	return r;
}

/* The key's challenge-response (auth.h): our nonce and proof, then the client's proof. 0 with ss->authed,
 * or -errno after an ERROR frame (when the client is still there) and a log line. */
static int session_auth(struct session *ss, const struct nb_key *key)
{
	struct server *s = ss->s;
	struct nb_challenge ch;
	struct nb_auth a;
	char err[160];
	uint16_t type;
	cJSON *msg = NULL;

	nb_auth_nonce(ch.nonce);
	nb_auth_proof(key, NB_AUTH_SERVER, NB_PROTO_VERSION, ss->hello.nonce, ch.nonce, ch.proof);
	cJSON *j = nb_challenge_to_json(&ch);
	int r = j ? nb_proto_send(ss->fd, NB_MSG_CHALLENGE, j) : -ENOMEM;
	cJSON_Delete(j);
	if (r == 0)
		r = session_recv(ss, nb_now_ns() + AUTH_TIMEOUT_NS, &type, &msg);
	if (r < 0) {
		logf_(s, "%s: refused: the client did not prove the key (%s): a wrong key on one side?",
		      ss->peer, r == -ECONNRESET ? "it closed the connection" : strerror(-r));
		return r;
	}
	bool ok = type == NB_MSG_AUTH && nb_auth_from_json(msg, &a, err, sizeof(err)) == 0 &&
		  nb_auth_verify(key, NB_AUTH_CLIENT, NB_PROTO_VERSION, ss->hello.nonce, ch.nonce, a.proof);
	cJSON_Delete(msg);
	if (!ok) {
		nb_proto_send_error(ss->fd,
				    "the client did not prove the key: wrong key or a replayed handshake");
		logf_(s, "%s: refused: a wrong proof of the key (a wrong key, or a replayed handshake)",
		      ss->peer);
		return -EACCES;
	}
	ss->authed = true;
	return 0;
}

/* The data address the client named in its hello (a DPDK generator's own): taken from an authenticated
 * client only, since a hello from it is then admitted as the client's; without a key, data comes from the
 * control connection's address alone. 0, or -errno after an ERROR frame and a log line. */
static int session_data_src(struct session *ss)
{
	struct server *s = ss->s;
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_DGRAM}, *res = NULL;
	char shown[4 * sizeof(ss->hello.data_src) + 1];
	int r = 0;

	if (!ss->hello.data_src[0])
		return 0;
	nb_printable(ss->hello.data_src, shown, sizeof(shown));
	if (getaddrinfo(ss->hello.data_src, NULL, &hints, &res) != 0) {
		nb_proto_send_error(ss->fd, "the client's data address '%s' is not a numeric address", shown);
		logf_(s, "%s: refused: a data address '%s' that is not numeric", ss->peer, shown);
		return -EINVAL;
	}
	if (same_host(res->ai_addr, &ss->peer_addr)) {
		/* its data comes from the control connection's address anyway */
	} else if (!ss->authed) {
		nb_proto_send_error(
		    ss->fd,
		    "the client's data address %s is not its control connection's %s: a responder "
		    "without a key takes data only from there (--key-file on both sides)",
		    shown, ss->peer);
		logf_(s, "%s: refused: data from another address (%s) needs a key (--key-file)", ss->peer,
		      shown);
		r = -EACCES;
	} else {
		addr_plain(res->ai_addr, &ss->data_src);
	}
	freeaddrinfo(res);
	return r;
}

/* The start of a session: the key's handshake when this responder has a key, the client's data address,
 * then HELLO_ACK, whose host details reach an authenticated client only when there is a key. 0, or -errno
 * after an ERROR frame and a log line. */
static int session_handshake(struct session *ss)
{
	struct server *s = ss->s;
	const struct nb_key *key = s->sc->key;
	int r;

	if (key && !ss->hello.keyed) {
		nb_proto_send_error(ss->fd, "the responder requires a key (--key-file)");
		logf_(s, "%s: refused: the client has no key (this responder has --key-file)", ss->peer);
		return -EACCES;
	}
	if (!key && ss->hello.keyed) {
		nb_proto_send_error(
		    ss->fd, "the responder did not prove the key: it serves without one (no --key-file)");
		logf_(s, "%s: refused: the client has a key, this responder none (no --key-file)", ss->peer);
		return -EACCES;
	}
	if (key && (r = session_auth(ss, key)) < 0)
		return r;
	if ((r = session_data_src(ss)) < 0)
		return r;
	cJSON *hello = nb_hello_ack_to_json(&(struct nb_hello_ack){.sysinfo = s->si, .pid = getpid()});
	r = hello ? nb_proto_send(ss->fd, NB_MSG_HELLO_ACK, hello) : -ENOMEM;
	cJSON_Delete(hello);
	if (r == 0)
		logf_(s, "%s: control connection%s", ss->peer, ss->authed ? " (the key proved)" : "");
	return r;
}

/* The session's path half torn down, if it holds one. */
static void session_path_down(struct session *ss)
{
	if (!ss->half)
		return;
	ss->s->sc->paths->teardown(ss->s->sc->paths->arg, ss->half);
	ss->half = NULL;
	__atomic_sub_fetch(&ss->s->halves, 1, __ATOMIC_ACQ_REL);
	logf_(ss->s, "%s: path torn down", ss->peer);
}

/* PATH: the server half of a path kind built on this host for an authenticated client (the one before,
 * if any, torn down first), then PATH_ACK with the grant. Refusals are ERROR frames and the session goes
 * on; 0, or -errno to end the session. */
static int session_path(struct session *ss, const cJSON *body)
{
	struct server *s = ss->s;
	struct nb_path_req req;
	struct nb_path_grant *g = NULL;
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	char err[256], here[64], peer[64];
	int r;

	if (nb_path_req_from_json(body, &req, err, sizeof(err)) < 0) {
		nb_proto_send_error(ss->fd, "protocol error: %s", err);
		return -EPROTO;
	}
	if (!s->sc->paths) {
		nb_proto_send_error(ss->fd,
				    "this responder builds no paths (it was not started with --paths)");
		logf_(s, "%s: refused a path: no --paths", ss->peer);
		return 0;
	}
	if (!ss->authed) {
		nb_proto_send_error(ss->fd, "building a path needs the key (--key-file on both sides)");
		logf_(s, "%s: refused a path: the client did not prove the key", ss->peer);
		return 0;
	}
	session_path_down(ss);
	if (getsockname(ss->fd, (struct sockaddr *)&local, &len) < 0 || !(g = calloc(1, sizeof(*g))))
		return -errno;
	struct sockaddr_storage plain;
	addr_plain((struct sockaddr *)&local, &plain);
	addr_str(&plain, here, sizeof(here));
	addr_plain((struct sockaddr *)&ss->peer_addr, &plain);
	addr_str(&plain, peer, sizeof(peer));
	r = s->sc->paths->build(s->sc->paths->arg, req.kind, here, peer, &ss->half, g, err, sizeof(err));
	if (r < 0) {
		nb_proto_send_error(ss->fd, "the responder cannot build path %s: %s", req.kind, err);
		logf_(s, "%s: path %s not built: %s", ss->peer, req.kind, err);
		free(g);
		return 0;
	}
	__atomic_add_fetch(&s->halves, 1, __ATOMIC_ACQ_REL);
	logf_(s, "%s: path %s up (%s), the test goes to %s:%u", ss->peer, req.kind,
	      g->name[0] ? g->name : "-", g->dial_addr[0] ? g->dial_addr : here, g->dial_port);
	cJSON *j = nb_path_grant_to_json(g);
	r = j ? nb_proto_send(ss->fd, NB_MSG_PATH_ACK, j) : -ENOMEM;
	cJSON_Delete(j);
	free(g);
	return r;
}

/* While the session holds a path half its client runs tests elsewhere (the half's responder): no idle
 * timeout, only the connection's end (keepalive finds a dead peer) or the responder stopping. 0 once a frame
 * is there, -ETIMEDOUT with the responder stopping. */
static int session_wait_holding(struct session *ss)
{
	struct pollfd p = {.fd = ss->fd, .events = POLLIN};
	while (!*ss->s->quit)
		if (poll(&p, 1, 100) > 0)
			return 0;
	return -ETIMEDOUT;
}

static void *session_main(void *arg)
{
	struct session *ss = arg;
	struct server *s = ss->s;
	uint16_t type;
	cJSON *msg = NULL;
	int r = session_handshake(ss);
	while (r == 0 && !*s->quit) {
		if (ss->half && session_wait_holding(ss) < 0)
			break;
		r = session_recv(ss, ss->half ? -1 : nb_now_ns() + s->session_idle_ns, &type, &msg);
		if (r == -ETIMEDOUT) {
			nb_proto_send_error(ss->fd,
					    "no test within %.0f s: the responder closes the idle session",
					    (double)s->session_idle_ns / 1e9);
			logf_(s, "%s: idle session closed", ss->peer);
		}
		if (r < 0)
			break;
		if (type == NB_MSG_TEST)
			r = session_test(ss, msg);
		else if (type == NB_MSG_PATH)
			r = session_path(ss, msg);
		else {
			nb_proto_send_error(ss->fd, "protocol error: unexpected message %u: expected a test",
					    type);
			logf_(s, "%s: closed: unexpected message %u: expected a test", ss->peer, type);
			r = -EPROTO;
		}
		cJSON_Delete(msg);
		msg = NULL;
	}
	session_path_down(ss);
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

/* A control connection that said HELLO (hello, from peer_addr): its session thread, which runs the key's
 * handshake, unless --max-sessions are running. Takes fd. */
static void session_start(struct server *s, int fd, const char *peer,
			  const struct sockaddr_storage *peer_addr, const struct nb_ctrl_hello *hello)
{
	if (__atomic_add_fetch(&s->sessions, 1, __ATOMIC_ACQ_REL) > s->max_sessions) {
		__atomic_sub_fetch(&s->sessions, 1, __ATOMIC_RELAXED);
		nb_proto_send_error(
		    fd,
		    "the responder is serving its maximum of %u sessions (--max-sessions): try "
		    "again later",
		    s->max_sessions);
		logf_(s, "%s: refused: %u sessions already", peer, s->max_sessions);
		close(fd);
		return;
	}
	struct session *ss = calloc(1, sizeof(*ss));
	pthread_t th;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (ss) {
		ss->s = s;
		ss->fd = fd;
		snprintf(ss->peer, sizeof(ss->peer), "%s", peer);
		ss->peer_addr = *peer_addr;
		ss->hello = *hello;
		keepalive(fd);
	}
	if (!ss || pthread_create(&th, &at, session_main, ss) != 0) {
		__atomic_sub_fetch(&s->sessions, 1, __ATOMIC_RELAXED);
		nb_proto_send_error(fd, "the responder cannot start a session: out of memory or threads");
		free(ss);
		close(fd);
	}
	pthread_attr_destroy(&at);
}

/* One read of a new connection's first frame (its header, or its body). Returns true when p is finished with
 * (handed on or closed). */
static bool pending_read_once(struct server *s, struct pending *p)
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
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, p->fd, NULL);
	int fl = fcntl(p->fd, F_GETFL);
	fcntl(p->fd, F_SETFL, fl & ~O_NONBLOCK);
	int fd = p->fd;
	p->fd = -1;
	if (h.type == NB_MSG_HELLO) {
		struct nb_ctrl_hello hello;
		char err[192];
		cJSON *j = nb_frame_parse_body(p->buf + NB_PROTO_HDR_BYTES, h.len);
		if (j && nb_ctrl_hello_from_json(j, &hello, err, sizeof(err)) == 0) {
			session_start(s, fd, peer, &p->peer, &hello);
		} else {
			if (!j)
				snprintf(err, sizeof(err), "the hello's body is not a JSON object");
			nb_proto_send_error(fd, "protocol error: %s", err);
			logf_(s, "%s: refused: %s", peer, err);
			close(fd);
		}
		cJSON_Delete(j);
	} else {
		attach_fd(s, p->buf, p->have, fd, peer, &p->peer);
	}
	pending_close(s, p);
	return true;
}

/* Reads what has arrived of a new connection's first frame, header and body. Returns true when p is
 * finished with (handed on or closed). */
static bool pending_read(struct server *s, struct pending *p)
{
	for (;;) {
		size_t had = p->have;
		if (pending_read_once(s, p))
			return true;
		if (p->have == had)
			return false; /* nothing more has arrived */
	}
}

/* The pending connections: a fixed table, swept for deadlines. */
struct pending_set {
	struct pending *p[MAX_PENDING];
	unsigned n;
};

static void pending_drop(struct pending_set *ps, unsigned k)
{
	ps->p[k] = ps->p[--ps->n];
}

/* How many pending connections came from peer's address (any port); *ret_oldest: the index of the one
 * accepted first. */
static unsigned pending_from(const struct pending_set *ps, const struct sockaddr_storage *peer,
			     unsigned *ret_oldest)
{
	unsigned n = 0;
	for (unsigned k = 0; k < ps->n; k++) {
		const struct sockaddr_storage *q = &ps->p[k]->peer;
		if (q->ss_family != peer->ss_family)
			continue;
		if (peer->ss_family == AF_INET
			? ((const struct sockaddr_in *)q)->sin_addr.s_addr ==
			      ((const struct sockaddr_in *)peer)->sin_addr.s_addr
			: !memcmp(&((const struct sockaddr_in6 *)q)->sin6_addr,
				  &((const struct sockaddr_in6 *)peer)->sin6_addr, sizeof(struct in6_addr))) {
			if (!n++ || ps->p[k]->deadline_ns < ps->p[*ret_oldest]->deadline_ns)
				*ret_oldest = k;
		}
	}
	return n;
}

/* Out of descriptors: a connection waiting in the backlog is taken with the reserve descriptor, told why
 * and closed, and the listener rests (its descriptor out of the epoll set) instead of waking us at once. */
static void accept_out_of_fds(struct server *s, int err, int *reserve)
{
	if (*reserve >= 0) {
		close(*reserve);
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0) {
			nb_proto_send_error(fd, "the responder is out of file descriptors: try again later");
			close(fd);
		}
		*reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (!s->accept_paused)
		logf_(s, "out of file descriptors (%s): not accepting for %lld ms at a time until some close",
		      strerror(err), (long long)(EMFILE_BACKOFF_NS / NB_NS_PER_MS));
	s->accept_paused = true;
	s->accept_resume_ns = nb_now_ns() + EMFILE_BACKOFF_NS;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->lfd, NULL);
}

/* Accepts what waits on the listener; each new connection's first frame is read at once (a client's hello
 * follows its connect). One still silent joins the pending ones: an address over its share loses its oldest
 * silent connection (its flood cannot lock out another address, nor, once over, its own next client); with
 * the table full, the newest is refused. */
static void accept_new(struct server *s, struct pending_set *ps, int64_t idle, int *reserve)
{
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		int fd = accept4(s->lfd, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				accept_out_of_fds(s, errno, reserve);
			return;
		}
		s->accept_paused = false;
		struct pending *p = calloc(1, sizeof(*p));
		if (!p) {
			close(fd);
			continue;
		}
		p->fd = fd;
		p->peer = peer;
		p->deadline_ns = nb_now_ns() + idle;
		if (pending_read(s, p))
			continue;
		unsigned oldest = 0;
		if (pending_from(ps, &peer, &oldest) >= MAX_PENDING_PER_ADDR) {
			pending_close(s, ps->p[oldest]);
			pending_drop(ps, oldest);
		}
		if (ps->n == MAX_PENDING) {
			pending_close(s, p);
			continue;
		}
		struct epoll_event pev = {.events = EPOLLIN, .data.ptr = p};
		epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &pev);
		ps->p[ps->n++] = p;
	}
}

/* Closes the pending connections past their deadline. */
static void pending_expire(struct server *s, struct pending_set *ps, int64_t idle)
{
	int64_t now = nb_now_ns();
	for (unsigned k = 0; k < ps->n;) {
		if (ps->p[k]->deadline_ns <= now) {
			char peer[64];
			addr_str(&ps->p[k]->peer, peer, sizeof(peer));
			logf_(s, "%s: closed: no hello within %.1f s", peer, (double)idle / 1e9);
			pending_close(s, ps->p[k]);
			pending_drop(ps, k);
		} else
			k++;
	}
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

static void serve_limits(struct server *s, const struct nb_serve_cfg *sc)
{
	s->max_mem = sc->max_mem_bytes ? sc->max_mem_bytes : NB_SERVE_MAX_MEM_BYTES;
	s->max_test_mem = sc->max_test_mem_bytes ? sc->max_test_mem_bytes : s->max_mem / 4;
	if (s->max_test_mem > s->max_mem)
		s->max_test_mem = s->max_mem;
	s->max_sessions = sc->max_sessions ? sc->max_sessions : NB_SERVE_MAX_SESSIONS;
	s->session_idle_ns = sc->session_idle_ns > 0 ? sc->session_idle_ns : NB_SERVE_SESSION_IDLE_NS;
}

int nb_serve(const struct nb_serve_cfg *sc, volatile sig_atomic_t *quit, char *err, size_t errlen)
{
	struct server s = {.sc = sc, .quit = quit, .lfd = -1, .dfd = -1, .epfd = -1, .eng = sc->engine};
	struct pending_set *ps = calloc(1, sizeof(*ps));
	struct nb_engine *own = NULL; /* the sock engine, when the caller started none */
	int64_t idle = sc->idle_timeout_ns > 0 ? sc->idle_timeout_ns : 5 * NB_NS_PER_S;
	int reserve = open("/dev/null", O_RDONLY | O_CLOEXEC); /* for accept_out_of_fds */
	int r;

	if (!ps) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&s.mu, NULL);
	serve_limits(&s, sc);
	nb_sysinfo_get(&s.si);
	if (!s.eng && (r = nb_engine_start(&nb_engine_sock, NULL, &own, err, errlen)) < 0)
		goto out;
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
	if (!sc->key)
		logf_(&s, "no key (--key-file): anyone who reaches port %u can run tests", sc->port);
	if (sc->ready)
		sc->ready(sc->log_arg, sc->port);

	while (!*quit) {
		if (sc->max_tests && __atomic_load_n(&s.tests_done, __ATOMIC_RELAXED) >= sc->max_tests &&
		    !__atomic_load_n(&s.sessions, __ATOMIC_RELAXED))
			break;
		if (s.accept_paused && nb_now_ns() >= s.accept_resume_ns) {
			ev.data.ptr = &s.lfd;
			epoll_ctl(s.epfd, EPOLL_CTL_ADD, s.lfd, &ev);
			s.accept_resume_ns = INT64_MAX; /* until accept says again */
		}
		struct epoll_event evs[32];
		int n = epoll_wait(s.epfd, evs, 32, 100);
		for (int i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;
			if (tag == &s.lfd)
				accept_new(&s, ps, idle, &reserve);
			else if (tag == &s.dfd)
				s.eng->ops->listen_poll(s.eng);
			else if (pending_read(&s, tag))
				for (unsigned k = 0; k < ps->n; k++)
					if (ps->p[k] == tag) {
						pending_drop(ps, k);
						break;
					}
		}
		pending_expire(&s, ps, idle);
	}
	/* the sessions holding path halves see quit within 100 ms and tear them down */
	for (int64_t end = nb_now_ns() + 60 * NB_NS_PER_S;
	     __atomic_load_n(&s.halves, __ATOMIC_ACQUIRE) && nb_now_ns() < end;)
		nb_sleep_until(nb_now_ns() + 20 * NB_NS_PER_MS);
	r = 0;
out:
	for (unsigned k = 0; k < ps->n; k++)
		pending_close(&s, ps->p[k]);
	free(ps);
	if (reserve >= 0)
		close(reserve);
	if (s.epfd >= 0)
		close(s.epfd);
	if (s.lfd >= 0)
		close(s.lfd);
	if (s.listening)
		s.eng->ops->unlisten(s.eng);
	nb_engine_stop(own);
	return r;
}
