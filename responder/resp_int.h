/* SPDX-License-Identifier: MIT */
/*
 * The responder's insides, shared by its files (serve.c lists them and what each owns). Nothing outside
 * responder/ includes this: the face is nbench/serve.h.
 *
 * Who holds what: a struct server lives on nb_serve's stack for the responder's life; a struct session
 * per control connection, owned by its thread; a struct test per test in progress, owned by the session
 * that runs it and found by data hellos through the server's registry (s->tests under s->mu).
 */
#ifndef NBENCH_RESP_INT_H
#define NBENCH_RESP_INT_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "nbench/chan.h"
#include "nbench/engine.h"
#include "nbench/nic.h"
#include "nbench/proto.h"
#include "nbench/serve.h"
#include "nbench/sysinfo.h"
#include "nbench/tcpinfo.h"
#include "nbench/workload.h"

#define ATTACH_TIMEOUT_NS (5 * NB_NS_PER_S) /* every flow of a test attached within this of TEST_ACK */
/* crr: a client keeps one connection per flow open at a time; a few more are closing. */
#define CRR_CONNS_PER_FLOW 2
#define CRR_CONNS_EXTRA	   32
#define RECV_BUF_BYTES	   (256u << 10) /* the TCP sink's and echo's receive buffer (resp_flows.c) */
#define HELLO_MAX_BYTES	   256		/* a UDP flow's hello, kept to recognise it repeated */
#define NB_PEER_SRC_BYTES  16		/* a peer's source (nb_peer_source) */

struct pending_set;
struct half_src;

/* One flow of a test: its engine flow, the loop's context and live counters, its thread. */
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
	uint64_t crr_cpu_at_measure,
	    crr_cpu_end_ns; /* the worker's own CPU time at MEASURE and when it ended */
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
	struct nb_engine *own_eng; /* the sock engine nb_serve started when the caller gave none */
	int busy;	    /* a test is on (atomic): for an engine whose responder runs one at a time */
	pthread_mutex_t mu; /* the test registry */
	struct test *tests;
	uint64_t mem_used; /* the budgets of the tests in progress (under mu) */
	uint64_t max_mem, max_test_mem;
	unsigned max_sessions;
	int64_t session_idle_ns;
	int64_t idle_ns; /* a new connection's first frame within this (--idle-timeout) */
	unsigned sessions;
	unsigned halves; /* path halves that cost (not native) up or being built (atomic, changed under mu):
			  * nb_serve waits for them when it stops */
	uint64_t half_mem_bytes; /* what each half holds of the memory budget (its responder's --max-mem) */
	unsigned tests_done;
	/* the log's rate limit before authentication (rlog.c, under log_mu) */
	pthread_mutex_t log_mu;
	int64_t pre_window_ns;
	unsigned pre_lines, pre_left_out;
	/* the agent's halves (halves.c, under mu): caps, and how many each source holds */
	unsigned max_halves, max_halves_per_src;
	struct half_src *half_srcs; /* max_halves of them */
	struct pending_set *pending;
	int reserve_fd;		  /* kept for the moment the process is out of descriptors (admit.c) */
	bool accept_paused;	  /* out of descriptors: the listener is out of the epoll set */
	int64_t accept_resume_ns; /* until then */
	struct nb_sysinfo si;
};

/* A session: one control connection, its tests one after another. */
struct session {
	struct server *s;
	struct nb_chan ch; /* the control connection: with the session key's MAC when the key was proved */
	char peer[64];
	struct sockaddr_storage peer_addr;    /* the control connection's peer */
	unsigned char src[NB_PEER_SRC_BYTES]; /* its source, as the halves' per-client share counts it */
	struct nb_ctrl_hello hello;	      /* its HELLO */
	/* The client proved the key. What needs a key checks it: path building (a responder that builds
	 * paths on its host as root, --paths) is refused to a session that is not. */
	bool authed;
	void *half; /* the server half of a path built for this session (sc->paths), torn down at its end */
	bool half_costs;     /* it holds a place within the caps and its memory share (not native) */
	int64_t half_end_ns; /* when the half's lifetime is over: its tests' time and a grace */
	struct sockaddr_storage
	    data_src; /* the client's own data address, when it named one (family 0: none) */
};

/* One of a crr test's short connections, answered by the test's worker. */
struct crr_conn {
	int fd;
	uint32_t have;
	struct crr_conn *prev, *next; /* the test's open ones (under its mu), closed with it */
};

/* ---- rlog.c: the log ---- */

/* A line in the responder's log (nb_serve_cfg.log), if it has one. */
void nb_rlog(struct server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line about a connection that has not proved the key (or a data hello refused: a forged one costs its
 * sender nothing): at most a few a second, the others counted; nb_rlog_flush logs the count once their
 * second is over. */
void nb_rlog_pre(struct server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nb_rlog_flush(struct server *s);
/* "the DPDK responder", or "the responder" for an engine without a label, in buf. Returns buf. */
const char *nb_resp_name(const struct server *s, char *buf, size_t len);

/* ---- peer.c: peers' addresses ---- */

/* The numeric host of ss in buf ("?" when it has none). */
void nb_peer_str(const struct sockaddr_storage *ss, char *buf, size_t len);
/* sa into *ret, an IPv4-mapped IPv6 address as the IPv4 one, so a dual-stack listener's peers compare with
 * IPv4 senders. */
void nb_peer_plain(const struct sockaddr *sa, struct sockaddr_storage *ret);
/* Whether two socket addresses name the same host (ports aside; family 0 is nobody). */
bool nb_peer_same_host(const struct sockaddr *a, const struct sockaddr_storage *b);
/* A peer's source, as the caps shared between sources count it: an IPv4 address, or an IPv6 /64 (one host
 * may hold a whole /64), in 16 bytes (IPv4 as its IPv4-mapped IPv6 form; an IPv4-mapped peer as IPv4). */
void nb_peer_source(const struct sockaddr_storage *peer, unsigned char ret[NB_PEER_SRC_BYTES]);

/* ---- limits.c: what a test may take ---- */

/* The server's limits from sc, its defaults where sc leaves them 0. */
void nb_limits_init(struct server *s, const struct nb_serve_cfg *sc);
/* Whether this responder takes the test of body: its settings, its engine, one test at a time, the memory
 * budget. 0 with *cfg and *ret_mem (reserved) set and, for a one-test engine, s->busy taken; -errno with
 * the refusal in err. */
int nb_limits_admit_test(struct server *s, const cJSON *body, struct nb_test_cfg *cfg, uint64_t *ret_mem,
			 char *err, size_t errlen);
/* Takes bytes of the memory budget for what (a test, a half): 0, or -EBUSY with the refusal in err (what
 * holds the budget now). */
int nb_limits_take(struct server *s, uint64_t bytes, const char *what, char *err, size_t errlen);
/* Gives bytes of the memory budget back. */
void nb_limits_release(struct server *s, uint64_t bytes);

/* ---- admit.c: new connections, until they hold a session or a place in a test ---- */

/* The pending set; 0 or -ENOMEM. nb_admit_fini closes whatever is still pending and frees it. */
int nb_admit_init(struct server *s);
void nb_admit_fini(struct server *s);
/* Accepts what waits on the listener and reads each new connection's first frame. */
void nb_admit_accept(struct server *s);
/* A pending connection (tag: its epoll data) became readable. */
void nb_admit_event(struct server *s, void *tag);
/* Closes the pending connections past their deadline. */
void nb_admit_expire(struct server *s);
/* Puts a listener that rests (out of descriptors) back in the epoll set once its rest is over. */
void nb_admit_resume(struct server *s);

/* ---- handshake.c: the key's handshake and HELLO_ACK ---- */

/* A new connection's whole HELLO (len bytes of body): decoded into *ret and checked against the key on both
 * sides. With a key, CHALLENGE is sent and *ret_tr holds the transcript so far: 1 (AUTH next); without, 0 (a
 * session may start). -errno after an ERROR frame and a log line (the caller closes the connection). */
int nb_handshake_hello(struct server *s, int fd, const char *peer, const void *body, size_t len,
		       struct nb_ctrl_hello *ret, struct nb_auth_transcript *ret_tr);
/* The next whole frame (type, len bytes of body) after CHALLENGE: 0 when it is an AUTH that proves the key
 * for tr, else -EACCES after an ERROR frame and a log line. */
int nb_handshake_auth(struct server *s, int fd, const char *peer, uint16_t type, const void *body, size_t len,
		      const struct nb_auth_transcript *tr);
/* In the session's thread: the client's data address, then HELLO_ACK. 0, or -errno after an ERROR frame and
 * a log line. */
int nb_handshake_finish(struct session *ss);

/* ---- session.c: a session's frames ---- */

/* A session for a connection that said HELLO (and, with tr, proved the key: its channel keyed from tr):
 * its thread, unless --max-sessions are running (then an ERROR). Takes fd. */
void nb_session_start(struct server *s, int fd, const char *peer, const struct sockaddr_storage *peer_addr,
		      const struct nb_ctrl_hello *hello, const struct nb_auth_transcript *tr);
/* Receives the session's next frame by deadline_ns. A frame the protocol does not allow is answered with an
 * ERROR frame naming the problem; a timeout is the caller's to answer. */
int nb_session_recv(struct session *ss, int64_t deadline_ns, uint16_t *type, cJSON **msg);

/* ---- halves.c: the agent's path halves ---- */

/* The halves' caps from sc; 0 or -ENOMEM. */
int nb_halves_init(struct server *s, const struct nb_serve_cfg *sc);
/* PATH: builds the half (the one before, if any, torn down first) and answers PATH_ACK. Refusals are
 * ERROR frames and the session goes on; 0, or -errno to end the session. */
int nb_halves_build(struct session *ss, const cJSON *body);
/* The session's half torn down, if it holds one, and what it held given back. */
void nb_halves_down(struct session *ss);
/* While the session holds a half: 0 once a frame is there; -ETIMEDOUT when the responder stops or the
 * half's lifetime is over (then after an ERROR saying so). */
int nb_halves_hold(struct session *ss);
/* Waits (up to a minute) for the sessions holding halves to tear them down once quit is set. */
void nb_halves_drain(struct server *s);

/* ---- rtest.c: a test in progress ---- */

/* A new test for cfg from session ss, registered (data hellos find it from now on). 0 or -ENOMEM. */
int nb_rtest_new(struct server *s, const struct session *ss, const struct nb_test_cfg *cfg,
		 struct test **ret);
/* The test named id (under s->mu), or NULL. */
struct test *nb_rtest_find(struct server *s, uint64_t id);
/* Out of the registry: no data hello finds it any more. */
void nb_rtest_unregister(struct server *s, struct test *t);
/* Frees t (NULL: nothing), its flows and crr connections closed. */
void nb_rtest_free(struct test *t);
/* Waits for every flow to attach, ATTACH_TIMEOUT_NS at most: 0 or -ETIMEDOUT. */
int nb_rtest_wait_attached(struct test *t);
/* Starts the test's threads; its sources end by themselves at end_ns (CLOCK_MONOTONIC) if nothing ended
 * them before. 0 or -EAGAIN. */
int nb_rtest_start(struct test *t, int64_t end_ns);
/* MEASURE: each flow's counters and thread CPU time at the start of the measured window. */
void nb_rtest_measure(struct test *t);
/* Ends every flow of the test and waits for its threads. */
void nb_rtest_stop(struct test *t);
/* What the responder measured, for the RESULT message: the flows, the CPU cost between snapshots a and b
 * when taken, the interfaces of nics (may be NULL). */
void nb_rtest_result(struct test *t, const struct nb_cpu_snap *a, const struct nb_cpu_snap *b,
		     struct nb_nic_watch *nics, struct nb_result *ret);
/* The interfaces whose counters the test's RESULT carries, opened before the test starts; NULL: none. */
struct nb_nic_watch *nb_rtest_nics(const struct server *s, const struct test *t);

/* ---- attach.c: data connections and UDP flows matched to their test ---- */

/* A TCP data connection whose first frame (len bytes of hello) was a DATA_HELLO: hands fd to its test.
 * Takes fd in every case. */
void nb_attach_fd(struct server *s, const void *hello, size_t len, int fd, const char *peer_str,
		  const struct sockaddr_storage *peer);
/* A UDP flow's hello, handed over by the engine (nb_listen.hello; arg: the server). */
void nb_attach_udp(void *arg, struct nb_engine *e, const struct nb_hello *hello);

/* ---- resp_flows.c: the threads that run the flows ---- */

/* A flow's thread (arg: its struct rflow): sink, source or echo as the test says. */
void *nb_resp_flow_main(void *arg);
/* The engine's options for a responder flow of cfg. */
struct nb_flow_opts nb_resp_flow_opts(const struct nb_test_cfg *cfg);
/* crr: the worker's thread (arg: the test), and a new connection added to it (under t->mu; -EMFILE over
 * the test's limit, -ENOMEM, -errno). */
void *nb_resp_crr_main(void *arg);
int nb_resp_crr_add(struct test *t, int fd);
/* Closes a crr connection and forgets it. */
void nb_resp_crr_close(struct test *t, struct crr_conn *c);

#endif
