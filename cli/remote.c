/* SPDX-License-Identifier: MIT */
/*
 * `-H SERVER --path KIND`: the path's server half built by the agent on SERVER (`nbench serve --paths`),
 * the client's half here. The client trusts nothing it did not dial: the grant's address must be the one
 * the control connection reached, or inside the private /24 it routes via that address (and nothing else
 * routed here already); anything else is refused before a byte of data is sent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nbench/gen.h"
#include "nbench/report.h"
#include "nbench/topo.h"

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

/* The client's half of the grant's container subnet: a route via the server (bridge, nat), a route on the
 * link toward it (macvlan), or an overlay's own half (its bridge, a VXLAN device to the server, and a
 * namespace for the generator) on the subnet 172.31.N.0/24 the agent chose, VNI N. */
static int client_half(struct cli_path *pe, const char *kind, char *err, size_t errlen)
{
	const struct nb_path_session *s = pe->remote;
	const char *net = s->grant.route_net;
	struct nb_topo_opts o = {.client_half = true};
	unsigned n;
	int r;

	switch (nb_topo_kind_client_reach(kind)) {
	case NB_REACH_ROUTED:
		r = nb_topo_client_route(true, net, s->dialed, err, errlen);
		pe->routed = r == 0;
		return r;
	case NB_REACH_ONLINK:
		r = nb_topo_client_route_onlink(true, net, s->dialed, err, errlen);
		pe->routed = pe->onlink = r == 0;
		return r;
	case NB_REACH_TUNNEL:
		break;
	}
	if (sscanf(net, "172.31.%u.0/24", &n) != 1 || n < 1 || n > 254) {
		snprintf(err, errlen, "the agent's overlay subnet %s is not one of 172.31.N.0/24", net);
		return -EPERM;
	}
	o.subnet = (uint8_t)n;
	snprintf(o.dial_addr, sizeof(o.dial_addr), "%.47s", s->dialed);
	return nb_topo_up_ex(kind, NULL, &o, &pe->tunnel, err, errlen);
}

int cli_remote_open(const char *host, uint16_t port, const char *kind, const char *key_file,
		    struct cli_path *pe, char *err, size_t errlen)
{
	struct nb_report *rep = calloc(1, sizeof(*rep));
	int r;

	memset(pe, 0, sizeof(*pe));
	if (!rep)
		return -ENOMEM;
	if (!key_file) {
		snprintf(
		    err, errlen,
		    "-H with --path needs --key-file: the agent builds paths for its key's holders only");
		free(rep);
		return -EINVAL;
	}
	if ((r = nb_key_load(key_file, &pe->key, err, errlen)) < 0) {
		free(rep);
		return -EINVAL;
	}
	pe->keyed = true;
	pe->remote = calloc(1, sizeof(*pe->remote));
	r = pe->remote ? nb_path_request(host, port, &pe->key, kind, pe->remote, rep) : -ENOMEM;
	if (r < 0) {
		snprintf(err, errlen, "%s", rep->error[0] ? rep->error : strerror(-r));
		free(rep);
		cli_path_close(pe);
		return r;
	}
	free(rep);
	struct nb_path_session *s = pe->remote;
	struct nb_path_grant *g = &s->grant;
	if (!g->dial_addr[0])
		snprintf(g->dial_addr, sizeof(g->dial_addr), "%.47s", s->dialed);
	if (strcmp(g->kind, kind) ||
	    (strcmp(g->dial_addr, s->dialed) &&
	     !(g->route_net[0] && grant_route_ok(g->route_net, g->dial_addr, s->dialed)))) {
		snprintf(err, errlen,
			 "the agent at %s named %s for its path %s: not the address dialed nor inside a "
			 "private /24 "
			 "routed via it; refused",
			 s->dialed, g->dial_addr, g->kind);
		cli_path_close(pe);
		return -EPERM;
	}
	if (g->route_net[0] && (r = client_half(pe, kind, err, errlen)) < 0) {
		cli_path_close(pe);
		return r;
	}
	return 0;
}

void cli_remote_close(struct cli_path *pe)
{
	char err[256];

	if (pe->routed && (pe->onlink ? nb_topo_client_route_onlink : nb_topo_client_route)(
			      false, pe->remote->grant.route_net, pe->remote->dialed, err, sizeof(err)) < 0)
		fprintf(stderr, "nbench: %s\n", err);
	pe->routed = pe->onlink = false;
	nb_topo_down(pe->tunnel, true);
	pe->tunnel = NULL;
	nb_path_release(pe->remote);
	free(pe->remote);
	pe->remote = NULL;
}

struct tunnel_run {
	struct cli_path *pe;
	const struct nb_run_hooks *hooks;
	const struct nb_test_cfg *cfg;
	struct nb_report *rep;
	int rc;
};

static void *tunnel_main(void *arg)
{
	struct tunnel_run *tr = arg;
	int r = nb_topo_enter_client(tr->pe->tunnel);

	if (r < 0) {
		snprintf(tr->rep->error, sizeof(tr->rep->error),
			 "cannot enter the overlay's client namespace: %s", strerror(-r));
		tr->rc = r;
		return NULL;
	}
	tr->rc = nb_run(tr->cfg, tr->hooks, tr->rep);
	return NULL;
}

int cli_remote_run(struct cli_path *pe, const struct nb_run_hooks *hooks, const struct nb_test_cfg *cfg,
		   struct nb_report *rep)
{
	struct nb_test_cfg c = *cfg;
	const struct nb_path_grant *g = &pe->remote->grant;

	snprintf(rep->path, sizeof(rep->path), "%s", g->kind);
	snprintf(rep->topo_name, sizeof(rep->topo_name), "%s", g->name);
	if (!rep->path_json)
		rep->path_json = strdup(g->path_json); /* the server half's, as the agent described it */
	snprintf(c.host, sizeof(c.host), "%s", g->dial_addr);
	c.port = g->dial_port;
	if (!pe->tunnel)
		return nb_run(&c, hooks, rep);
	/* an overlay: the generator in its client half's namespace, in a thread of its own */
	struct tunnel_run tr = {.pe = pe, .hooks = hooks, .cfg = &c, .rep = rep, .rc = -EAGAIN};
	pthread_t th;
	if (pthread_create(&th, NULL, tunnel_main, &tr) == 0)
		pthread_join(th, NULL);
	return tr.rc;
}
