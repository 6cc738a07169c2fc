/* SPDX-License-Identifier: MIT */
/*
 * `-H SERVER --path KIND` (bench_int.h): the path's server half built by the agent on SERVER (`nbench serve
 * --paths`), the client's half here. The client trusts nothing it did not dial: the grant's address must be
 * the one the control connection reached, or inside the private /24 it routes via that address (and nothing
 * else routed here already); anything else is refused before a byte of data is sent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_int.h"
#include "nbench/report.h"
#include "nbench/topo.h"

struct nb_remote {
	struct nb_path_session s;
	bool routed;		/* the client's half: a route to the grant's subnet */
	bool onlink;		/* ...on the link toward the server (macvlan), not via it */
	struct nb_topo *tunnel; /* ...or an overlay's client half, where the generator runs */
};

/* net is a.b.c.0/24 in a private range (RFC 1918), holding addr and not dialed. */
static bool grant_route_ok(const char *net, const char *addr, const char *dialed)
{
	struct in_addr n, a, d;
	char ip[INET_ADDRSTRLEN];
	int plen = 0;

	if (sscanf(net, "%15[0-9.]/%d", ip, &plen) != 2 || plen != 24 || inet_pton(AF_INET, ip, &n) != 1 ||
	    inet_pton(AF_INET, addr, &a) != 1 || inet_pton(AF_INET, dialed, &d) != 1)
		return false;
	uint32_t hn = ntohl(n.s_addr), m = 0xffffff00u;
	bool private =
	    (hn >> 24) == 10 || (hn >> 20) == ((172u << 4) | 1) || (hn >> 16) == ((192u << 8) | 168);
	return private && (hn & ~m) == 0 && (ntohl(a.s_addr) & m) == hn && (ntohl(d.s_addr) & m) != hn;
}

/* The session with the agent: 0, or -errno with the agent's refusal (or the errno) in err. */
static int request(const char *host, uint16_t port, const char *kind, const struct nb_key *key,
		   int64_t for_ns, struct nb_remote *r, char *err, size_t errlen)
{
	struct nb_report *rep = calloc(1, sizeof(*rep));
	int rc = rep ? nb_path_request(host, port, key, kind, for_ns, &r->s, rep) : -ENOMEM;
	if (rc < 0)
		snprintf(err, errlen, "%s", rep && rep->error[0] ? rep->error : strerror(-rc));
	free(rep);
	return rc;
}

/* The grant names the path asked for, and an address the client may send to. */
static int check_grant(struct nb_remote *r, const char *kind, char *err, size_t errlen)
{
	struct nb_path_session *s = &r->s;
	struct nb_path_grant *g = &s->grant;
	if (!g->dial_addr[0])
		snprintf(g->dial_addr, sizeof(g->dial_addr), "%.47s", s->dialed);
	if (!strcmp(g->kind, kind) &&
	    (!strcmp(g->dial_addr, s->dialed) ||
	     (g->route_net[0] && grant_route_ok(g->route_net, g->dial_addr, s->dialed))))
		return 0;
	snprintf(err, errlen,
		 "the agent at %s named %s for its path %s: not the address dialed nor inside a private /24 "
		 "routed via it; refused",
		 s->dialed, g->dial_addr, g->kind);
	return -EPERM;
}

/* The client's half of the grant's container subnet: a route via the server (bridge, nat), a route on the
 * link toward it (macvlan), or an overlay's own half (its bridge, a VXLAN device to the server, and a
 * namespace for the generator) on the subnet 172.31.N.0/24 the agent chose, VNI N. */
static int client_half(struct nb_remote *r, const char *kind, char *err, size_t errlen)
{
	const char *net = r->s.grant.route_net;
	struct nb_topo_opts o = {.client_half = true};
	unsigned n;
	int rc;

	switch (nb_topo_kind_client_reach(kind)) {
	case NB_REACH_ROUTED:
		rc = nb_topo_client_route(true, net, r->s.dialed, err, errlen);
		r->routed = rc == 0;
		return rc;
	case NB_REACH_ONLINK:
		rc = nb_topo_client_route_onlink(true, net, r->s.dialed, err, errlen);
		r->routed = r->onlink = rc == 0;
		return rc;
	case NB_REACH_TUNNEL:
		break;
	}
	if (sscanf(net, "172.31.%u.0/24", &n) != 1 || n < 1 || n > 254) {
		snprintf(err, errlen, "the agent's overlay subnet %s is not one of 172.31.N.0/24", net);
		return -EPERM;
	}
	o.subnet = (uint8_t)n;
	snprintf(o.dial_addr, sizeof(o.dial_addr), "%.47s", r->s.dialed);
	return nb_topo_up_ex(kind, NULL, &o, &r->tunnel, err, errlen);
}

int nb_remote_open(const char *host, uint16_t port, const char *kind, const struct nb_key *key,
		   int64_t for_ns, struct nb_remote **ret, char *err, size_t errlen)
{
	struct nb_remote *r = calloc(1, sizeof(*r));
	int rc = r ? request(host, port, kind, key, for_ns > 0 ? for_ns : NB_MAX_DURATION_NS, r, err, errlen)
		   : -ENOMEM;
	if (!r)
		snprintf(err, errlen, "%s", strerror(ENOMEM));
	if (rc < 0) {
		free(r);
		return rc;
	}
	const struct nb_path_grant *g = &r->s.grant;
	if (!(rc = check_grant(r, kind, err, errlen)) && g->route_net[0])
		rc = client_half(r, kind, err, errlen);
	if (rc < 0) {
		nb_remote_close(r, NULL, NULL);
		return rc;
	}
	*ret = r;
	return 0;
}

void nb_remote_close(struct nb_remote *r, void (*warn)(void *arg, const char *msg), void *warn_arg)
{
	char err[256];

	if (!r)
		return;
	if (r->routed &&
	    (r->onlink ? nb_topo_client_route_onlink : nb_topo_client_route)(
		false, r->s.grant.route_net, r->s.dialed, err, sizeof(err)) < 0 &&
	    warn)
		warn(warn_arg, err);
	nb_topo_down(r->tunnel, true);
	nb_path_release(&r->s);
	free(r);
}

struct tunnel_run {
	struct nb_remote *r;
	const struct nb_run_hooks *hooks;
	const struct nb_test_cfg *cfg;
	struct nb_report *rep;
	int rc;
};

static void *tunnel_main(void *arg)
{
	struct tunnel_run *tr = arg;
	int rc = nb_topo_enter_client(tr->r->tunnel);

	if (rc < 0) {
		snprintf(tr->rep->error, sizeof(tr->rep->error),
			 "cannot enter the overlay's client namespace: %s", strerror(-rc));
		tr->rc = rc;
		return NULL;
	}
	tr->rc = nb_run(tr->cfg, tr->hooks, tr->rep);
	return NULL;
}

int nb_remote_run(struct nb_remote *r, const struct nb_run_hooks *hooks, const struct nb_test_cfg *cfg,
		  struct nb_report *rep)
{
	struct nb_test_cfg c = *cfg;
	const struct nb_path_grant *g = &r->s.grant;

	snprintf(rep->path, sizeof(rep->path), "%s", g->kind);
	snprintf(rep->topo_name, sizeof(rep->topo_name), "%s", g->name);
	if (!rep->path_json)
		rep->path_json = strdup(g->path_json); /* the server half's, as the agent described it */
	snprintf(c.host, sizeof(c.host), "%s", g->dial_addr);
	c.port = g->dial_port;
	if (!r->tunnel)
		return nb_run(&c, hooks, rep);
	/* an overlay: the generator in its client half's namespace, in a thread of its own */
	struct tunnel_run tr = {.r = r, .hooks = hooks, .cfg = &c, .rep = rep, .rc = -EAGAIN};
	pthread_t th;
	if (pthread_create(&th, NULL, tunnel_main, &tr) == 0)
		pthread_join(th, NULL);
	return tr.rc;
}

const char *nb_remote_dial_addr(const struct nb_remote *r)
{
	return r->s.grant.dial_addr;
}
