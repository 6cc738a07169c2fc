/* SPDX-License-Identifier: MIT */
/*
 * A session: one control connection admitted (its HELLO, and with a key its proof: admit.c, handshake.c),
 * its slot within --max-sessions and its thread, from HELLO_ACK to its close. It runs the client's requests
 * one after another: TEST (a test, frame by frame: TEST_ACK, READY once every flow has attached, START,
 * MEASURE, STOP, RESULT) and PATH (a half, halves.c). Every wait has a deadline: an idle session, a START or
 * STOP that never comes, end it or the test; a frame the protocol does not allow, or one without the session
 * key's valid MAC, is answered with an ERROR naming it and ends the session.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nbench/clock.h"
#include "nbench/cpu.h"
#include "resp_int.h"

/* START comes right after READY; a client that sends nothing else this long is gone. */
#define START_TIMEOUT_NS (10 * NB_NS_PER_S)
/* A test ends by itself this long after its warm-up and duration even when STOP never comes: longer than
 * the generator's own wait for its flows (FLOW_GRACE_NS, 10 s) before it sends STOP. */
#define TEST_GRACE_NS (15 * NB_NS_PER_S)

/* Receives the session's next frame by deadline_ns. A frame the protocol does not allow is answered with an
 * ERROR frame naming the problem; a timeout is the caller's to answer. */
int nb_session_recv(struct session *ss, int64_t deadline_ns, uint16_t *type, cJSON **msg)
{
	uint16_t ver = 0;
	int r = nb_chan_recv(&ss->ch, deadline_ns, type, msg, &ver);
	const char *what = NULL;
	switch (r) {
	case -EPROTONOSUPPORT:
		nb_chan_send_error(&ss->ch,
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
	case -EKEYREJECTED:
		what = "a frame without this session's valid MAC (altered, injected or replayed on the way)";
		break;
	}
	if (what && r != -EPROTONOSUPPORT)
		nb_chan_send_error(&ss->ch, "protocol error: %s", what);
	if (what)
		nb_rlog(ss->s, "%s: closed: %s", ss->peer, what);
	return r;
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
		nb_rlog(ss->s, "%s: the flows' TCP state left out of the result: it would pass %u bytes",
			ss->peer, NB_PROTO_MAX_BODY);
		for (unsigned i = 0; i < res->n_flows; i++)
			res->flows[i].tcp.valid = false;
		cJSON_Delete(j);
		j = nb_result_to_json(res);
	}
	if (res->n_ifaces && result_too_big(j)) {
		nb_rlog(ss->s, "%s: the interfaces' counters left out of the result: it would pass %u bytes",
			ss->peer, NB_PROTO_MAX_BODY);
		res->n_ifaces = 0;
		cJSON_Delete(j);
		j = nb_result_to_json(res);
	}
	int r = j ? nb_chan_send(&ss->ch, NB_MSG_RESULT, j) : -ENOMEM;
	cJSON_Delete(j);
	return r;
}

/* A test's progress through its frames, and what it holds meanwhile. */
struct run {
	struct session *ss;
	struct test *t;
	struct nb_cpu_meter *m;
	struct nb_cpu_snap a; /* at MEASURE, when have_a */
	bool have_a, started, measured;
	int64_t deadline_ns; /* for START, then for STOP */
	struct nb_nic_watch *nics;
};

/* The deadline passed: a test started is ended by the responder (no STOP came), one not started is
 * cancelled (no START came). */
static void run_timeout(struct run *ru)
{
	struct session *ss = ru->ss;
	if (ru->started) {
		nb_rtest_stop(ru->t);
		nb_chan_send_error(&ss->ch,
				   "no STOP within %lld s of the test's end: the responder ended the test",
				   (long long)(TEST_GRACE_NS / NB_NS_PER_S));
		nb_rlog(ss->s, "%s: no STOP came: test ended", ss->peer);
	} else {
		nb_chan_send_error(&ss->ch, "no START within %lld s of READY: the test is cancelled",
				   (long long)(START_TIMEOUT_NS / NB_NS_PER_S));
	}
}

/* STOP: the test ended, and RESULT sent. 0 or -errno. */
static int run_stop(struct run *ru)
{
	struct session *ss = ru->ss;
	const struct nb_test_cfg *cfg = &ru->t->cfg;
	struct nb_cpu_snap b;
	bool have_b = ru->have_a && nb_cpu_snap(ru->m, &b) == 0;
	nb_nic_watch_window(ru->nics, true);
	nb_rtest_stop(ru->t);
	struct nb_result *res = malloc(sizeof(*res)); /* 30 KB: not on the session's stack */
	if (!res)
		return -ENOMEM;
	nb_rtest_result(ru->t, ru->have_a ? &ru->a : NULL, have_b ? &b : NULL, ru->nics, res);
	int r = send_result(ss, res);
	nb_rlog(ss->s, "%s: %s %s test done%s%s", ss->peer, nb_test_kind_name(cfg->kind),
		nb_proto_name(cfg->proto), res->error[0] ? ": " : "", res->error);
	free(res);
	return r;
}

/* One frame of a test in progress: 0 to wait for the next, 1 once RESULT is sent, -errno to end the
 * session. */
static int run_frame(struct run *ru, uint16_t type)
{
	struct session *ss = ru->ss;
	const struct nb_test_cfg *cfg = &ru->t->cfg;
	int r;
	if (type == NB_MSG_START && !ru->started) {
		ru->deadline_ns = nb_now_ns() + cfg->warmup_ns + cfg->duration_ns + TEST_GRACE_NS;
		ru->started = true;
		if ((r = nb_rtest_start(ru->t, ru->deadline_ns)) < 0)
			nb_chan_send_error(&ss->ch, "responder cannot start its flow threads");
		return r;
	}
	if (type == NB_MSG_MEASURE && ru->started && !ru->measured) {
		/* once, after START: each one snapshots the CPU and the interfaces, and moves the window, so
		 * repeats are a protocol error rather than work done for a peer */
		ru->measured = true;
		nb_rtest_measure(ru->t);
		nb_nic_watch_window(ru->nics, false); /* before the CPU's window opens: not in it */
		ru->have_a = ru->m && nb_cpu_snap(ru->m, &ru->a) == 0;
		return 0;
	}
	if (type == NB_MSG_STOP)
		return (r = run_stop(ru)) < 0 ? r : 1;
	nb_chan_send_error(&ss->ch, "protocol error: unexpected message %u during a test", type);
	nb_rlog(ss->s, "%s: closed: unexpected message %u during a test", ss->peer, type);
	return -EPROTO;
}

/* The frames of a test in progress: START, MEASURE, STOP (then RESULT). Returns 0 when the session may go
 * on, -errno to end it. */
static int test_frames_loop(struct session *ss, struct test *t)
{
	struct run ru = {
	    .ss = ss, .t = t, .deadline_ns = nb_now_ns() + START_TIMEOUT_NS, .nics = nb_rtest_nics(ss->s, t)};
	cJSON *msg = NULL;
	uint16_t type;
	int r;

	nb_cpu_meter_open(false, &ru.m);
	do {
		r = nb_session_recv(ss, ru.deadline_ns, &type, &msg);
		if (r == -ETIMEDOUT)
			run_timeout(&ru);
		if (r == 0)
			r = run_frame(&ru, type);
		cJSON_Delete(msg);
		msg = NULL;
	} while (r == 0);
	nb_cpu_meter_close(ru.m);
	nb_nic_watch_free(ru.nics);
	return r > 0 ? 0 : r;
}

/* TEST_ACK: the test's id and token, and the data address of an engine whose data path is not the control
 * connection's. 0 or -errno. */
static int send_test_ack(struct session *ss, const struct test *t)
{
	struct nb_test_ack ta = {.test_id = t->id};
	memcpy(ta.token, t->token, sizeof(ta.token));
	if (ss->s->eng->caps.own_addr)
		snprintf(ta.data_addr, sizeof(ta.data_addr), "%s", ss->s->eng->addr);
	cJSON *ack = nb_test_ack_to_json(&ta);
	int r = ack ? nb_chan_send(&ss->ch, NB_MSG_TEST_ACK, ack) : -ENOMEM;
	cJSON_Delete(ack);
	return r;
}

/* TEST_ACK, then every flow attached and READY, then the test's frames. 0 when the session may go on,
 * -errno to end it. */
static int test_run(struct session *ss, struct test *t)
{
	struct server *s = ss->s;
	char name[64], at[80] = "";
	int r;

	if ((r = send_test_ack(ss, t)) < 0)
		return r;
	if (nb_rtest_wait_attached(t) < 0) {
		if (s->eng->caps.own_addr)
			snprintf(at, sizeof(at), " at %s", s->eng->addr);
		nb_chan_send_error(&ss->ch, "only %u of %u data flows reached %s%s within %lld s",
				   t->attached, t->cfg.flows, nb_resp_name(s, name, sizeof(name)), at,
				   (long long)(ATTACH_TIMEOUT_NS / NB_NS_PER_S));
		return 0;
	}
	if ((r = nb_chan_send(&ss->ch, NB_MSG_READY, NULL)) < 0)
		return r;
	return test_frames_loop(ss, t);
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

	if (nb_limits_admit_test(s, body, &cfg, &mem, err, sizeof(err)) < 0) {
		nb_chan_send_error(&ss->ch, "responder refused the test: %s", err);
		nb_rlog(s, "%s: refused the test: %s", ss->peer, err);
		return 0;
	}
	if ((r = nb_rtest_new(s, ss, &cfg, &t)) < 0)
		nb_chan_send_error(&ss->ch, "responder: %s", strerror(-r));
	else
		r = test_run(ss, t);
	if (t) {
		nb_rtest_unregister(s, t);
		nb_rtest_stop(t);
		nb_rtest_free(t);
	}
	nb_limits_release(s, mem);
	if (s->eng->caps.one_test)
		__atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
	__atomic_add_fetch(&s->tests_done, 1, __ATOMIC_RELAXED);
	return r;
}

static void *session_main(void *arg)
{
	struct session *ss = arg;
	struct server *s = ss->s;
	uint16_t type;
	cJSON *msg = NULL;
	int r = nb_handshake_finish(ss);
	while (r == 0 && !*s->quit) {
		if (ss->half && nb_halves_hold(ss) < 0)
			break;
		r = nb_session_recv(ss, ss->half ? -1 : nb_now_ns() + s->session_idle_ns, &type, &msg);
		if (r == -ETIMEDOUT) {
			nb_chan_send_error(&ss->ch,
					   "no test within %.0f s: the responder closes the idle session",
					   (double)s->session_idle_ns / 1e9);
			nb_rlog(s, "%s: idle session closed", ss->peer);
		}
		if (r < 0)
			break;
		if (type == NB_MSG_TEST)
			r = session_test(ss, msg);
		else if (type == NB_MSG_PATH)
			r = nb_halves_build(ss, msg);
		else {
			nb_chan_send_error(&ss->ch, "protocol error: unexpected message %u: expected a test",
					   type);
			nb_rlog(s, "%s: closed: unexpected message %u: expected a test", ss->peer, type);
			r = -EPROTO;
		}
		cJSON_Delete(msg);
		msg = NULL;
	}
	nb_halves_down(ss);
	nb_rlog(s, "%s: closed", ss->peer);
	close(ss->ch.fd);
	nb_chan_wipe(&ss->ch);
	__atomic_sub_fetch(&s->sessions, 1, __ATOMIC_RELAXED);
	free(ss);
	return NULL;
}

static void keepalive(int fd)
{
	int one = 1, idle = 10, intvl = 2, cnt = 3;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, 4 /* TCP_KEEPIDLE */, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, 5 /* TCP_KEEPINTVL */, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, 6 /* TCP_KEEPCNT */, &cnt, sizeof(cnt));
}

/* The session's thread, detached. 0, or -errno (nothing started). */
static int session_thread(struct session *ss)
{
	pthread_t th;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	int r = -pthread_create(&th, &at, session_main, ss);
	pthread_attr_destroy(&at);
	return r;
}

void nb_session_start(struct server *s, int fd, const char *peer, const struct sockaddr_storage *peer_addr,
		      const struct nb_ctrl_hello *hello, const struct nb_auth_transcript *tr)
{
	struct nb_chan ch;
	nb_chan_init(&ch, fd, NB_AUTH_SERVER);
	if (tr)
		nb_chan_key(&ch, s->sc->key, tr);
	if (__atomic_add_fetch(&s->sessions, 1, __ATOMIC_ACQ_REL) > s->max_sessions) {
		__atomic_sub_fetch(&s->sessions, 1, __ATOMIC_RELAXED);
		nb_chan_send_error(
		    &ch,
		    "the responder is serving its maximum of %u sessions (--max-sessions): try again "
		    "later",
		    s->max_sessions);
		nb_rlog_pre(s, "%s: refused: %u sessions already", peer, s->max_sessions);
		nb_chan_wipe(&ch);
		close(fd);
		return;
	}
	struct session *ss = calloc(1, sizeof(*ss));
	if (ss) {
		*ss = (struct session){
		    .s = s, .ch = ch, .peer_addr = *peer_addr, .hello = *hello, .authed = tr != NULL};
		snprintf(ss->peer, sizeof(ss->peer), "%s", peer);
		nb_peer_source(peer_addr, ss->src);
		keepalive(fd);
	}
	if (!ss || session_thread(ss) < 0) {
		__atomic_sub_fetch(&s->sessions, 1, __ATOMIC_RELAXED);
		nb_chan_send_error(&ch, "the responder cannot start a session: out of memory or threads");
		free(ss);
		nb_chan_wipe(&ch);
		close(fd);
	}
	nb_auth_wipe(&ch, sizeof(ch));
}
