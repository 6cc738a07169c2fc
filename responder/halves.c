/* SPDX-License-Identifier: MIT */
/*
 * The agent's halves (`nbench serve --paths`): a session whose client proved the key may ask (PATH) for the
 * server half of a path on this host. Whoever started the responder builds it (nb_serve_cfg.paths: the
 * CLI's agent over topo/, which the responder may not call); the session holds at most one, waits without an
 * idle timeout while its client runs tests on the half's own responder, and tears it down at its end. When
 * the responder stops, nb_serve waits for the halves to come down.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "nbench/clock.h"
#include "resp_int.h"

/* The session's path half torn down, if it holds one. */
void nb_halves_down(struct session *ss)
{
	if (!ss->half)
		return;
	ss->s->sc->paths->teardown(ss->s->sc->paths->arg, ss->half);
	ss->half = NULL;
	__atomic_sub_fetch(&ss->s->halves, 1, __ATOMIC_ACQ_REL);
	nb_rlog(ss->s, "%s: path torn down", ss->peer);
}

/* PATH: the server half of a path kind built on this host for an authenticated client (the one before,
 * if any, torn down first), then PATH_ACK with the grant. Refusals are ERROR frames and the session goes
 * on; 0, or -errno to end the session. */
int nb_halves_build(struct session *ss, const cJSON *body)
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
		nb_rlog(s, "%s: refused a path: no --paths", ss->peer);
		return 0;
	}
	if (!ss->authed) {
		nb_proto_send_error(ss->fd, "building a path needs the key (--key-file on both sides)");
		nb_rlog(s, "%s: refused a path: the client did not prove the key", ss->peer);
		return 0;
	}
	nb_halves_down(ss);
	if (getsockname(ss->fd, (struct sockaddr *)&local, &len) < 0 || !(g = calloc(1, sizeof(*g))))
		return -errno;
	struct sockaddr_storage plain;
	nb_peer_plain((struct sockaddr *)&local, &plain);
	nb_peer_str(&plain, here, sizeof(here));
	nb_peer_plain((struct sockaddr *)&ss->peer_addr, &plain);
	nb_peer_str(&plain, peer, sizeof(peer));
	r = s->sc->paths->build(s->sc->paths->arg, req.kind, here, peer, &ss->half, g, err, sizeof(err));
	if (r < 0) {
		nb_proto_send_error(ss->fd, "the responder cannot build path %s: %s", req.kind, err);
		nb_rlog(s, "%s: path %s not built: %s", ss->peer, req.kind, err);
		free(g);
		return 0;
	}
	__atomic_add_fetch(&s->halves, 1, __ATOMIC_ACQ_REL);
	nb_rlog(s, "%s: path %s up (%s), the test goes to %s:%u", ss->peer, req.kind,
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
int nb_halves_hold(struct session *ss)
{
	struct pollfd p = {.fd = ss->fd, .events = POLLIN};
	while (!*ss->s->quit)
		if (poll(&p, 1, 100) > 0)
			return 0;
	return -ETIMEDOUT;
}

void nb_halves_drain(struct server *s)
{
	/* the sessions holding path halves see quit within 100 ms and tear them down */
	for (int64_t end = nb_now_ns() + 60 * NB_NS_PER_S;
	     __atomic_load_n(&s->halves, __ATOMIC_ACQUIRE) && nb_now_ns() < end;)
		nb_sleep_until(nb_now_ns() + 20 * NB_NS_PER_MS);
}
