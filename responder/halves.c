/* SPDX-License-Identifier: MIT */
/*
 * The agent's halves (`nbench serve --paths`): a session whose client proved the key may ask (PATH) for the
 * server half of a path on this host. Whoever started the responder builds it (nb_serve_cfg.paths: the
 * CLI's agent over topo/, which the responder may not call).
 *
 * What a half may take is decided here, before anything is built: at most max_halves up at once, at most
 * max_halves_per_src of them for one client (its source: an IPv4 address, an IPv6 /64), and its share of the
 * memory budget (the per-test budget, held from the agent's total while the half is up), which its own
 * responder gets as its --max-mem beside the agent's --max-sessions and --idle-timeout (nb_half_limits). A
 * refusal names the limit. A half lives as long as the tests its client said it would run (PATH's for_ns)
 * and NB_SERVE_HALF_GRACE_NS; then the session is ended with an ERROR saying so. The session holds at most
 * one half, waits without an idle timeout while its client runs tests on the half's own responder, and tears
 * it down at its end. When the responder stops, nb_serve waits for the halves to come down.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nbench/clock.h"
#include "nbench/units.h"
#include "resp_int.h"

/* How many halves one source holds. */
struct half_src {
	unsigned char src[NB_PEER_SRC_BYTES];
	unsigned n;
};

int nb_halves_init(struct server *s, const struct nb_serve_cfg *sc)
{
	s->max_halves = sc->max_halves ? sc->max_halves : NB_SERVE_MAX_HALVES;
	s->max_halves_per_src =
	    sc->max_halves_per_client ? sc->max_halves_per_client : NB_SERVE_MAX_HALVES_SRC;
	if (s->max_halves_per_src > s->max_halves)
		s->max_halves_per_src = s->max_halves;
	/* a half's responder takes --max-mem of 1 MiB at least */
	s->half_mem_bytes = s->max_test_mem > (1u << 20) ? s->max_test_mem : (1u << 20);
	if (s->half_mem_bytes > s->max_mem)
		s->half_mem_bytes = s->max_mem;
	s->half_srcs = calloc(s->max_halves, sizeof(*s->half_srcs));
	return s->half_srcs ? 0 : -ENOMEM;
}

/* src's entry (under mu); with add, a new one when it has none. NULL: none. */
static struct half_src *half_src(struct server *s, const unsigned char *src, bool add)
{
	struct half_src *free_one = NULL;
	for (unsigned i = 0; i < s->max_halves; i++) {
		if (s->half_srcs[i].n && !memcmp(s->half_srcs[i].src, src, NB_PEER_SRC_BYTES))
			return &s->half_srcs[i];
		if (!s->half_srcs[i].n && !free_one)
			free_one = &s->half_srcs[i];
	}
	if (add && free_one)
		memcpy(free_one->src, src, NB_PEER_SRC_BYTES);
	return add ? free_one : NULL;
}

/* The count half_take took given back. */
static void half_count_give(struct session *ss)
{
	struct server *s = ss->s;
	pthread_mutex_lock(&s->mu);
	struct half_src *hs = half_src(s, ss->src, false);
	if (hs)
		hs->n--;
	__atomic_sub_fetch(&s->halves, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&s->mu);
}

/* A half's place for the session's client: within the caps, its memory share taken. 0, or -EBUSY with the
 * refusal (naming the limit) in err. */
static int half_take(struct session *ss, char *err, size_t errlen)
{
	struct server *s = ss->s;
	int r = -EBUSY;
	pthread_mutex_lock(&s->mu);
	struct half_src *hs = half_src(s, ss->src, false);
	unsigned mine = hs ? hs->n : 0, all = __atomic_load_n(&s->halves, __ATOMIC_ACQUIRE);
	if (all >= s->max_halves)
		snprintf(err, errlen,
			 "the agent holds its maximum of %u path halves (--max-halves): try again later",
			 s->max_halves);
	else if (mine >= s->max_halves_per_src)
		snprintf(
		    err, errlen,
		    "this client (%s) holds %u path halves, its share of the agent's %u (--max-halves %u,%u)",
		    ss->peer, mine, s->max_halves, s->max_halves, s->max_halves_per_src);
	else
		r = 0;
	if (r == 0) {
		half_src(s, ss->src, true)->n++;
		__atomic_add_fetch(&s->halves, 1, __ATOMIC_ACQ_REL);
	}
	pthread_mutex_unlock(&s->mu);
	if (r == 0 && (r = nb_limits_take(s, s->half_mem_bytes, "a path half", err, errlen)) < 0)
		half_count_give(ss);
	return r;
}
/* What half_take took given back. */
static void half_give(struct session *ss)
{
	nb_limits_release(ss->s, ss->s->half_mem_bytes);
	half_count_give(ss);
}

/* The native half is the agent's own responder as it is: nothing built, nothing held, no cap. */
static bool half_costs(const char *kind)
{
	return strcmp(kind, "native") != 0;
}

void nb_halves_down(struct session *ss)
{
	if (!ss->half)
		return;
	ss->s->sc->paths->teardown(ss->s->sc->paths->arg, ss->half);
	ss->half = NULL;
	if (ss->half_costs)
		half_give(ss);
	nb_rlog(ss->s, "%s: path torn down", ss->peer);
}

/* Why this session may not ask for a half at all (no --paths, no key), after an ERROR and a log line: true;
 * else false. */
static bool path_refused(struct session *ss)
{
	struct server *s = ss->s;
	if (!s->sc->paths) {
		nb_chan_send_error(&ss->ch,
				   "this responder builds no paths (it was not started with --paths)");
		nb_rlog(s, "%s: refused a path: no --paths", ss->peer);
		return true;
	}
	if (!ss->authed) {
		nb_chan_send_error(&ss->ch, "building a path needs the key (--key-file on both sides)");
		nb_rlog(s, "%s: refused a path: the client did not prove the key", ss->peer);
		return true;
	}
	return false;
}

/* Builds req's half for the session into g, within its place (taken). 0, or -errno with err. */
static int half_build(struct session *ss, const struct nb_path_req *req, struct nb_path_grant *g, char *here,
		      size_t herelen, char *err, size_t errlen)
{
	struct server *s = ss->s;
	struct sockaddr_storage local, plain;
	socklen_t len = sizeof(local);
	char peer[64];
	struct nb_half_limits lim = {.max_mem_bytes = s->half_mem_bytes,
				     .max_sessions = s->max_sessions,
				     .idle_timeout_ns = s->idle_ns};

	if (getsockname(ss->ch.fd, (struct sockaddr *)&local, &len) < 0)
		return -errno;
	nb_peer_plain((struct sockaddr *)&local, &plain);
	nb_peer_str(&plain, here, herelen);
	nb_peer_plain((struct sockaddr *)&ss->peer_addr, &plain);
	nb_peer_str(&plain, peer, sizeof(peer));
	return s->sc->paths->build(s->sc->paths->arg, req->kind, here, peer, &lim, &ss->half, g, err, errlen);
}

/* PATH: the server half of a path kind built on this host for an authenticated client (the one before,
 * if any, torn down first), then PATH_ACK with the grant. Refusals are ERROR frames and the session goes
 * on; 0, or -errno to end the session. */
int nb_halves_build(struct session *ss, const cJSON *body)
{
	struct server *s = ss->s;
	struct nb_path_req req;
	struct nb_path_grant *g = NULL;
	char err[256], here[64];
	int r;

	if (nb_path_req_from_json(body, &req, err, sizeof(err)) < 0) {
		nb_chan_send_error(&ss->ch, "protocol error: %s", err);
		return -EPROTO;
	}
	if (path_refused(ss))
		return 0;
	nb_halves_down(ss);
	if (!(g = calloc(1, sizeof(*g))))
		return -ENOMEM;
	bool costs = half_costs(req.kind);
	if ((r = costs ? half_take(ss, err, sizeof(err)) : 0) == 0 &&
	    (r = half_build(ss, &req, g, here, sizeof(here), err, sizeof(err))) < 0 && costs)
		half_give(ss);
	if (r < 0) {
		nb_chan_send_error(&ss->ch, "the responder cannot build path %s: %s", req.kind, err);
		nb_rlog(s, "%s: path %s not built: %s", ss->peer, req.kind, err);
		free(g);
		return 0;
	}
	ss->half_costs = costs;
	ss->half_end_ns = nb_now_ns() + req.for_ns + NB_SERVE_HALF_GRACE_NS;
	nb_rlog(s, "%s: path %s up (%s), the test goes to %s:%u, for %.0f s", ss->peer, req.kind,
		g->name[0] ? g->name : "-", g->dial_addr[0] ? g->dial_addr : here, g->dial_port,
		(double)(req.for_ns + NB_SERVE_HALF_GRACE_NS) / 1e9);
	cJSON *j = nb_path_grant_to_json(g);
	r = j ? nb_chan_send(&ss->ch, NB_MSG_PATH_ACK, j) : -ENOMEM;
	cJSON_Delete(j);
	free(g);
	return r;
}

/* While the session holds a path half its client runs tests elsewhere (the half's responder): no idle
 * timeout, only the connection's end (keepalive finds a dead peer), the half's lifetime or the responder
 * stopping. */
int nb_halves_hold(struct session *ss)
{
	struct pollfd p = {.fd = ss->ch.fd, .events = POLLIN};
	while (!*ss->s->quit) {
		int64_t left = ss->half_end_ns - nb_now_ns();
		if (left <= 0) {
			nb_chan_send_error(
			    &ss->ch,
			    "the path half's lifetime is over (the tests' time asked for and %lld s): "
			    "the agent tears it down",
			    (long long)(NB_SERVE_HALF_GRACE_NS / NB_NS_PER_S));
			nb_rlog(ss->s, "%s: the path half's lifetime is over", ss->peer);
			return -ETIMEDOUT;
		}
		if (poll(&p, 1, left < 100 * NB_NS_PER_MS ? (int)(left / NB_NS_PER_MS) + 1 : 100) > 0)
			return 0;
	}
	return -ETIMEDOUT;
}

void nb_halves_drain(struct server *s)
{
	/* the sessions holding path halves see quit within 100 ms and tear them down */
	for (int64_t end = nb_now_ns() + 60 * NB_NS_PER_S;
	     __atomic_load_n(&s->halves, __ATOMIC_ACQUIRE) && nb_now_ns() < end;)
		nb_sleep_until(nb_now_ns() + 20 * NB_NS_PER_MS);
}
