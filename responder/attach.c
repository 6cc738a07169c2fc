/* SPDX-License-Identifier: MIT */
/*
 * Data flows reaching their test: a TCP data connection's first frame, or a UDP flow's first datagram handed
 * over by the engine, is a DATA_HELLO; it is admitted here (hello_admit: the one place a hello is matched to
 * its test, its token and its client's addresses checked) and the flow given to the test: adopted by the
 * engine, accepted from the engine's UDP port, or added to crr's worker. Refusals are logged at a limited
 * rate (a forged hello costs the sender nothing).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "resp_int.h"

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
	struct test *t = nb_rtest_find(s, dh.test_id);
	if (!t || t->cfg.proto != proto) {
		snprintf(why, whylen, "a data hello for no %s test in progress", nb_proto_name(proto));
	} else if (!nb_auth_token_equal(dh.token, t->token)) {
		snprintf(why, whylen, "a data hello with a wrong token");
	} else if (!nb_peer_same_host(peer, &t->ctrl_peer) && !nb_peer_same_host(peer, &t->data_src)) {
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
void nb_attach_fd(struct server *s, const void *hello, size_t len, int fd, const char *peer_str,
		  const struct sockaddr_storage *peer)
{
	char why[160];
	unsigned idx;
	struct test *t =
	    hello_admit(s, hello, len, NB_PROTO_TCP, (const struct sockaddr *)peer, &idx, why, sizeof(why));
	if (!t) {
		struct nb_chan ch;
		nb_chan_init(&ch, fd, NB_AUTH_SERVER);
		nb_chan_send_error(&ch, "responder refused the data connection: %s", why);
		nb_rlog_pre(s, "%s: refused: %s", peer_str, why);
		close(fd);
		return;
	}
	int r = -EBUSY;
	if (t->done) {
		snprintf(why, sizeof(why), "a data connection after the test's end");
	} else if (t->cfg.kind == NB_TEST_CRR) {
		r = nb_resp_crr_add(t, fd);
		snprintf(why, sizeof(why), "crr connection: %s",
			 r == -EMFILE ? "the test's limit of open connections is reached" : strerror(-r));
	} else if (t->flows[idx].flow) {
		snprintf(why, sizeof(why), "flow %u attached twice", idx);
	} else if (!s->eng->ops->adopt_fd) {
		r = -EPROTONOSUPPORT;
		snprintf(why, sizeof(why), "this engine carries no TCP");
	} else {
		struct nb_flow_opts o = nb_resp_flow_opts(&t->cfg);
		r = s->eng->ops->adopt_fd(s->eng, fd, &o, &t->flows[idx].flow);
		if (r == 0) {
			t->attached++;
			pthread_cond_broadcast(&t->cv);
		}
		snprintf(why, sizeof(why), "flow %u: %s", idx, strerror(-r));
	}
	hello_release(s, t);
	if (r < 0) {
		nb_rlog(s, "%s: refused: %s", peer_str, why);
		close(fd);
	}
}

/* A UDP flow's hello, handed over by the engine: the engine makes the flow of its sender, which answers
 * DATA_ACK. */
void nb_attach_udp(void *arg, struct nb_engine *e, const struct nb_hello *hello)
{
	struct server *s = arg;
	char why[160];
	unsigned idx;
	struct test *t =
	    hello_admit(s, hello->buf, hello->len, NB_PROTO_UDP, hello->peer, &idx, why, sizeof(why));
	if (!t) {
		char from[64];
		struct sockaddr_storage p;
		nb_peer_plain(hello->peer, &p);
		nb_peer_str(&p, from, sizeof(from));
		nb_rlog_pre(s, "%s: refused: %s", from, why);
		return; /* a datagram is not answered: its source may be forged */
	}
	struct rflow *rf = &t->flows[idx];
	if (rf->flow) { /* our ack was lost and the flow's socket is not yet in the kernel's lookup: again */
		rf->flow->ops->send(rf->flow, t->ack, t->ack_len);
		goto out;
	}
	if (t->done)
		goto out;
	struct nb_flow_opts o = nb_resp_flow_opts(&t->cfg);
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
