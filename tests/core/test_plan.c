/* SPDX-License-Identifier: MIT */
/* Paths are data: each kind's plan (steps, endpoints, names) checked without building anything. */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>

#include "../../topo/topo_int.h"
#include "nbench/guest.h"
#include "../unit/tap.h"

static unsigned count(const struct nb_plan *p, enum nb_step_kind k)
{
	unsigned n = 0;
	for (size_t i = 0; i < p->nsteps; i++)
		n += p->steps[i].kind == k;
	return n;
}

static void check_names(const struct nb_plan *p, const char *name)
{
	char pre[32];
	snprintf(pre, sizeof(pre), "nb-%s-", name);
	for (size_t i = 0; i < p->nsteps; i++) {
		const struct nb_step *s = &p->steps[i];
		if (s->ns[0])
			CHECK_MSG(!strncmp(s->ns, pre, strlen(pre)), "%s: netns %s lacks prefix %s", p->kind,
				  s->ns, pre);
		if (s->ifname[0] && strcmp(s->ifname, "lo"))
			CHECK_MSG(!strncmp(s->ifname, pre, strlen(pre)) && strlen(s->ifname) < IFNAMSIZ,
				  "%s: link %s lacks prefix %s or is too long", p->kind, s->ifname, pre);
	}
	CHECK(!strncmp(p->client_ns, pre, strlen(pre)));
	CHECK(!strncmp(p->server_ns, pre, strlen(pre)));
}

/* Steps that are not the namespaces themselves (NETNS and the "lo" up after each): a child kind may add a
 * namespace, and the rest of its parent's shared steps must still come first, in order. */
static size_t links_of(const struct nb_plan *p, size_t upto, const struct nb_step **out)
{
	size_t n = 0;
	for (size_t i = 0; i < upto; i++) {
		const struct nb_step *s = &p->steps[i];
		if (s->kind == NB_STEP_NETNS || (s->kind == NB_STEP_UP && !strcmp(s->ifname, "lo")))
			continue;
		out[n++] = s;
	}
	return n;
}

/* The same namespace; "" (where a kind built by the Docker engine has its "host": the caller's own) is the
 * same as nb-<name>-host. */
static bool same_ns(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (!*a && lb > 5 && !strcmp(b + lb - 5, "-host"))
		return true;
	if (!*b && la > 5 && !strcmp(a + la - 5, "-host"))
		return true;
	return !strcmp(a, b);
}

static bool same_step(const struct nb_step *a, const struct nb_step *b)
{
	return a->kind == b->kind && same_ns(a->ns, b->ns) && !strcmp(a->ifname, b->ifname) &&
	       same_ns(a->peer_ns, b->peer_ns) && !strcmp(a->peer, b->peer) &&
	       !strcmp(a->master, b->master) && !strcmp(a->addr, b->addr) && !strcmp(a->via, b->via) &&
	       !strcmp(a->key, b->key) && !strcmp(a->val, b->val) && a->tap_mq == b->tap_mq;
}

/* The kind table: every kind builds; every kind but the floor extends one listed before it; its plan starts
 * with its parent's shared steps and differs from its parent's (each row adds one thing). */
static void kind_table(void)
{
	const char *const *kinds = nb_topo_kinds();
	const struct nb_step *cs[NB_TOPO_MAX_STEPS], *ps[NB_TOPO_MAX_STEPS];
	char err[256], list[256];
	size_t n = 0, roots = 0;

	for (; kinds[n]; n++) {
		const char *par = nb_topo_kind_parent(kinds[n]);
		struct nb_plan c, p;
		bool seen = false;

		CHECK(nb_topo_kind_valid(kinds[n]));
		CHECK_MSG(nb_plan_build(kinds[n], "ttab", NULL, "/sys/fs/cgroup", &c, err, sizeof(err)) == 0,
			  "%s: %s", kinds[n], err);
		CHECK_MSG(c.nshared <= c.nsteps, "%s: %zu shared of %zu", kinds[n], c.nshared, c.nsteps);
		CHECK_INT(nb_guest_kind(kinds[n]), c.vm != NB_VM_NONE);
		if (!par) {
			roots++;
			nb_plan_free(&c);
			continue;
		}
		for (size_t i = 0; i < n; i++)
			seen |= !strcmp(kinds[i], par);
		CHECK_MSG(seen, "%s extends %s, which is not listed before it", kinds[n], par);
		/* its steps start with those of the kind it builds on (for a Docker path not the one it is
		 * measured against) */
		const char *base = nb_plan_steps_parent(kinds[n]);
		CHECK_INT(nb_plan_build(base, "ttab", NULL, "/sys/fs/cgroup", &p, err, sizeof(err)), 0);
		size_t np = links_of(&p, p.nshared, ps), nc = links_of(&c, c.nsteps, cs);
		CHECK_MSG(np <= nc, "%s: fewer steps than its parent %s", kinds[n], base);
		for (size_t i = 0; i < np && i < nc; i++)
			CHECK_MSG(same_step(ps[i], cs[i]), "%s: step %zu is not its parent %s's", kinds[n], i,
				  base);
		bool differs = c.nsteps != p.nsteps || c.vm != p.vm || strcmp(c.server_ns, p.server_ns) ||
			       strcmp(c.dial_addr, p.dial_addr);
		for (size_t i = 0; i < c.nsteps && i < p.nsteps; i++)
			differs |= !same_step(&c.steps[i], &p.steps[i]);
		CHECK_MSG(differs, "%s adds nothing to %s", kinds[n], base);
		nb_plan_free(&p);
		nb_plan_free(&c);
	}
	CHECK_INT(n, 14);
	CHECK_INT(roots, 1);
	CHECK(nb_topo_kind_parent("warp") == NULL);
	/* the list the help texts print is the table's, in its order */
	nb_topo_kinds_join(list, sizeof(list), ", ");
	CHECK_STR(list,
		  "loopback, native, host, bridge, nat, virtio, vhost, vhost-user, docker-host, docker-nat, "
		  "docker-proxy, docker-bridge, overlay, macvlan");
	CHECK_STR(nb_topo_kinds_join(list, 8, " "), "loopbac");
}

/* the rows without a guest: steps, names and endpoints */
static void rows(void)
{
	struct nb_plan p[5];
	const char *kinds[] = {"loopback", "native", "host", "bridge", "nat"};
	char err[256];

	for (int i = 0; i < 5; i++) {
		CHECK_MSG(nb_plan_build(kinds[i], "tplan", NULL, "/sys/fs/cgroup", &p[i], err, sizeof(err)) ==
			      0,
			  "%s: %s", kinds[i], err);
		check_names(&p[i], "tplan");
		char *script = nb_plan_script(&p[i]);
		CHECK(script && strstr(script, "ip netns add nb-tplan-"));
		free(script);
	}
	/* each row adds one thing to the one above it */
	CHECK_INT(p[0].nns, 1);
	CHECK_STR(p[0].client_ns, p[0].server_ns);
	CHECK_INT(p[1].nns, 2);
	CHECK(strcmp(p[1].client_ns, p[1].server_ns) != 0);
	CHECK_INT(count(&p[1], NB_STEP_VETH), 1);
	CHECK(!p[1].sandbox && p[2].sandbox && p[2].cgroup[0]);
	CHECK(strstr(p[2].server_ns, "-host") != NULL && strstr(p[1].server_ns, "-host") != NULL);
	CHECK_INT(count(&p[2], NB_STEP_CGROUP), 1);
	CHECK_INT(count(&p[3], NB_STEP_BRIDGE), 1);
	CHECK_INT(count(&p[3], NB_STEP_VETH), 2);
	CHECK_INT(p[3].nns, 3);
	CHECK_INT(count(&p[3], NB_STEP_NFT), 0);
	CHECK_INT(count(&p[4], NB_STEP_NFT), count(&p[3], NB_STEP_NFT) + 1);
	CHECK_INT(count(&p[4], NB_STEP_BRIDGE), 1);
	/* bridge: the client dials the container; nat: the host's published port */
	CHECK_STR(p[3].dial_addr, p[3].server_addr);
	CHECK(strcmp(p[4].dial_addr, p[4].server_addr) != 0);
	const char *nft = NULL;
	for (size_t i = 0; i < p[4].nsteps; i++)
		if (p[4].steps[i].kind == NB_STEP_NFT)
			nft = p[4].steps[i].text;
	CHECK(nft && strstr(nft, "dnat") && strstr(nft, "masquerade"));
	for (int i = 0; i < 5; i++)
		nb_plan_free(&p[i]);
}

/* ports, an unknown kind, instance names */
static void settings(void)
{
	struct nb_plan q;
	char err[256];

	struct nb_topo_opts o = {.server_port = 5201, .publish_port = 8080};
	CHECK_INT(nb_plan_build("nat", "tplan", &o, "/sys/fs/cgroup", &q, err, sizeof(err)), 0);
	CHECK_INT(q.dial_port, 8080);
	CHECK_INT(q.server_port, 5201);
	nb_plan_free(&q);
	CHECK(nb_plan_build("warp", "tplan", NULL, "/sys/fs/cgroup", &q, err, sizeof(err)) < 0);
	CHECK(strstr(err, "warp") != NULL);
	CHECK(nb_topo_name_check("UPPER", err, sizeof(err)) < 0);
	CHECK(nb_topo_name_check("waytoolongname", err, sizeof(err)) < 0);
	CHECK(nb_topo_name_check("ok-1", err, sizeof(err)) == 0);
	CHECK(nb_topo_name_check("-x", err, sizeof(err)) < 0);
}

/* --wire and --wire-rate: the same path on this host's two ports, shaped both ways; script likewise */
static void wire(void)
{
	struct nb_topo_opts o = {.wire_a = "eth1", .wire_b = "eth2", .wire_rate_bps = 10e9};
	struct nb_plan veth, q;
	char err[256], *script;

	CHECK_INT(nb_plan_build("nat", "tplan", NULL, "/sys/fs/cgroup", &veth, err, sizeof(err)), 0);
	CHECK_INT(nb_plan_build("nat", "tplan", &o, "/sys/fs/cgroup", &q, err, sizeof(err)), 0);
	CHECK_INT(count(&q, NB_STEP_NIC), 2);
	CHECK_INT(count(&q, NB_STEP_QDISC), 2);
	/* one veth pair fewer, two ports and two tbfs more; everything else as on the veth wire */
	CHECK_INT(count(&q, NB_STEP_VETH), count(&veth, NB_STEP_VETH) - 1);
	CHECK_INT(q.nsteps, veth.nsteps + 3);
	check_names(&q, "tplan");
	for (size_t i = 0; i < q.nsteps; i++) {
		const struct nb_step *s = &q.steps[i];

		if (s->kind == NB_STEP_NIC)
			CHECK(!strcmp(s->peer, strstr(s->ns, "remote") ? "eth2" : "eth1"));
		if (s->kind == NB_STEP_QDISC)
			CHECK(s->rate_bps == 10e9);
	}
	script = nb_plan_script(&q);
	CHECK(script && strstr(script, "ip link set eth2 netns nb-tplan-remote name nb-tplan-r\n"));
	CHECK(script && strstr(script, "ip link set eth1 netns nb-tplan-host name nb-tplan-h\n"));
	CHECK(script &&
	      strstr(script, "tc -n nb-tplan-host qdisc add dev nb-tplan-h root handle 4e42: tbf rate "
			     "10000000000bit burst 2500000 limit 5000000\n"));
	CHECK(script && !strstr(script, "type veth peer name nb-tplan-h"));
	free(script);
	nb_plan_free(&q);
	nb_plan_free(&veth);
	/* the rate alone shapes the veth wire */
	o = (struct nb_topo_opts){.wire_rate_bps = 1e9};
	CHECK_INT(nb_plan_build("native", "tplan", &o, NULL, &q, err, sizeof(err)), 0);
	CHECK_INT(count(&q, NB_STEP_QDISC), 2);
	CHECK_INT(count(&q, NB_STEP_VETH), 1);
	nb_plan_free(&q);
	/* refused: no wire on loopback, one name, the same twice, a rate out of range */
	o = (struct nb_topo_opts){.wire_a = "eth1", .wire_b = "eth2"};
	CHECK(nb_plan_build("loopback", "tplan", &o, NULL, &q, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "no wire") != NULL);
	o = (struct nb_topo_opts){.wire_a = "eth1"};
	CHECK(nb_plan_build("native", "tplan", &o, NULL, &q, err, sizeof(err)) == -EINVAL);
	o = (struct nb_topo_opts){.wire_a = "eth1", .wire_b = "eth1"};
	CHECK(nb_plan_build("native", "tplan", &o, NULL, &q, err, sizeof(err)) == -EINVAL);
	o = (struct nb_topo_opts){.wire_rate_bps = 1e3};
	CHECK(nb_plan_build("native", "tplan", &o, NULL, &q, err, sizeof(err)) == -ERANGE);
}

static const struct nb_step *find(const struct nb_plan *p, enum nb_step_kind k, unsigned nth)
{
	for (size_t i = 0; i < p->nsteps; i++)
		if (p->steps[i].kind == k && nth-- == 0)
			return &p->steps[i];
	return NULL;
}

/* The Docker rows: built in this namespace ("host" is ""), on the /24 pair topo up chose, the engine's
 * containers with their networks and published addresses; nbench's steps for nothing the engine does. */
static void docker_rows(void)
{
	struct nb_topo_opts o = {.host_net = 81};
	const struct nb_step *s;
	struct nb_plan p;
	char err[256];

	CHECK_INT(nb_plan_build("docker-nat", "tdk", &o, "/sys/fs/cgroup", &p, err, sizeof(err)), 0);
	CHECK(p.self_host && p.host_net == 81);
	CHECK_STR(p.client_ns, "nb-tdk-remote");
	CHECK_STR(p.server_ns, "nb-tdk-ctr");
	CHECK_STR(p.dial_addr, "10.77.81.2");
	CHECK_INT(count(&p, NB_STEP_NFT) + count(&p, NB_STEP_SYSCTL) + count(&p, NB_STEP_BRIDGE), 0);
	CHECK_INT(count(&p, NB_STEP_NETNS), 1); /* the container's is bound by its step, not made */
	s = find(&p, NB_STEP_VETH, 0);
	CHECK(s && !strcmp(s->peer_ns, "") && !strcmp(s->peer, "nb-tdk-h"));
	s = find(&p, NB_STEP_DOCKER_CTR, 0);
	CHECK(s && !strcmp(s->dk.network, "bridge") && !strcmp(s->addr, "10.77.81.2") &&
	      s->dk.publish_port == 12865);
	CHECK(s && !strcmp(s->ns, "nb-tdk-ctr") && !strcmp(s->dk.name, "nb-tdk-srv") && !s->dk.client);
	nb_plan_free(&p);

	CHECK_INT(nb_plan_build("docker-host", "tdk", &o, "/sys/fs/cgroup", &p, err, sizeof(err)), 0);
	s = find(&p, NB_STEP_DOCKER_CTR, 0);
	CHECK(s && !strcmp(s->dk.network, "host") && !strcmp(s->addr, "10.77.81.2") && !s->dk.publish_port &&
	      !*s->ns);
	CHECK_STR(p.server_ns, "");
	nb_plan_free(&p);

	CHECK_INT(nb_plan_build("docker-proxy", "tdk", &o, "/sys/fs/cgroup", &p, err, sizeof(err)), 0);
	CHECK_STR(p.client_ns, "");
	CHECK_STR(p.dial_addr, "127.0.0.1");
	CHECK_INT(count(&p, NB_STEP_VETH) + count(&p, NB_STEP_NETNS), 0);
	s = find(&p, NB_STEP_DOCKER_CTR, 0);
	CHECK(s && !strcmp(s->addr, "127.0.0.1") && s->dk.publish_port == 12865);
	nb_plan_free(&p);

	CHECK_INT(nb_plan_build("docker-bridge", "tdk", &o, "/sys/fs/cgroup", &p, err, sizeof(err)), 0);
	CHECK_STR(p.client_ns, "nb-tdk-cli");
	CHECK_STR(p.dial_addr, "172.31.81.2");
	s = find(&p, NB_STEP_DOCKER_NET, 0);
	CHECK(s && !strcmp(s->dk.name, "nb-tdk-net") && !strcmp(s->ifname, "nb-tdk-d") &&
	      !strcmp(s->addr, "172.31.81.0/24") && !strcmp(s->via, "172.31.81.1"));
	s = find(&p, NB_STEP_DOCKER_CTR, 1);
	CHECK(s && s->dk.client && !strcmp(s->addr, "172.31.81.3") && !strcmp(s->dk.network, "nb-tdk-net"));
	CHECK_INT(p.nns, 2);
	nb_plan_free(&p);

	/* a Docker path has no half on another host */
	struct nb_topo_opts h = {.half = true, .dial_addr = "192.0.2.1"};
	CHECK(nb_plan_build("docker-nat", "tdk", &h, "/sys/fs/cgroup", &p, err, sizeof(err)) < 0);
	CHECK(strstr(err, "Docker engine") != NULL);
}

/* overlay and macvlan: the tunnel's ends and MTU; a half and a client half take their side of it. */
static void cluster_rows(void)
{
	struct nb_plan p;
	const struct nb_step *s;
	char err[256];

	CHECK_INT(nb_plan_build("overlay", "tov", NULL, "/sys/fs/cgroup", &p, err, sizeof(err)), 0);
	check_names(&p, "tov");
	CHECK_INT(count(&p, NB_STEP_VXLAN), 2);
	CHECK_INT(p.nns, 4);
	s = find(&p, NB_STEP_VXLAN, 0);
	CHECK(s && !strcmp(s->addr, "10.77.0.1") && !strcmp(s->via, "10.77.0.2") &&
	      !strcmp(s->peer, "nb-tov-h") && s->mtu == 1450 && s->vni == 77);
	s = find(&p, NB_STEP_VETH, 1);
	CHECK(s && s->mtu == 1450);
	CHECK_STR(p.client_ns, "nb-tov-cli");
	nb_plan_free(&p);

	struct nb_topo_opts h = {
	    .half = true, .subnet = 90, .dial_addr = "192.0.2.2", .peer_addr = "192.0.2.1"};
	CHECK_INT(nb_plan_build("overlay", "tov", &h, "/sys/fs/cgroup", &p, err, sizeof(err)), 0);
	CHECK_INT(count(&p, NB_STEP_VXLAN), 1);
	CHECK_INT(p.nns, 1); /* the server's container only */
	s = find(&p, NB_STEP_VXLAN, 0);
	CHECK(s && !strcmp(s->addr, "192.0.2.1") && !strcmp(s->via, "192.0.2.2") && !*s->peer &&
	      s->vni == 90 && !*s->ns);
	CHECK_STR(p.dial_addr, "172.31.90.2");
	nb_plan_free(&p);
	h.peer_addr[0] = '\0';
	CHECK(nb_plan_build("overlay", "tov", &h, "/sys/fs/cgroup", &p, err, sizeof(err)) < 0);

	struct nb_topo_opts c = {.client_half = true, .subnet = 90, .dial_addr = "192.0.2.2"};
	CHECK_INT(nb_plan_build("overlay", "tov", &c, "/sys/fs/cgroup", &p, err, sizeof(err)), 0);
	s = find(&p, NB_STEP_VXLAN, 0);
	CHECK(s && !strcmp(s->addr, "192.0.2.2") && !*s->via && !*s->ns && s->vni == 90);
	CHECK_INT(count(&p, NB_STEP_VXLAN), 1);
	CHECK_STR(p.client_ns, "nb-tov-cli");
	CHECK_STR(p.server_ns, "");
	CHECK_STR(p.dial_addr, "172.31.90.2");
	s = find(&p, NB_STEP_ADDR, 0);
	CHECK(s && !strcmp(s->addr, "172.31.90.3/24"));
	nb_plan_free(&p);
	CHECK(nb_plan_build("bridge", "tov", &c, "/sys/fs/cgroup", &p, err, sizeof(err)) < 0);

	CHECK_INT(nb_plan_build("macvlan", "tmv", NULL, "/sys/fs/cgroup", &p, err, sizeof(err)), 0);
	s = find(&p, NB_STEP_MACVLAN, 0);
	CHECK(s && !strcmp(s->ns, "nb-tmv-ctr") && !strcmp(s->peer_ns, "nb-tmv-host") &&
	      !strcmp(s->peer, "nb-tmv-h"));
	CHECK_STR(p.dial_addr, "10.77.0.3");
	nb_plan_free(&p);
	struct nb_topo_opts m = {
	    .half = true, .subnet = 91, .dial_addr = "192.0.2.2", .peer_addr = "192.0.2.1"};
	CHECK_INT(nb_plan_build("macvlan", "tmv", &m, "/sys/fs/cgroup", &p, err, sizeof(err)), 0);
	CHECK_STR(p.dial_addr, "172.31.91.2");
	s = find(&p, NB_STEP_MACVLAN, 0);
	CHECK(s && !*s->peer && !*s->peer_ns &&
	      !strcmp(s->via, "192.0.2.1")); /* its parent found when applied */
	s = find(&p, NB_STEP_ROUTE, 0);
	CHECK(s && !strcmp(s->addr, "192.0.2.1/32") && !*s->via && !strcmp(s->ns, "nb-tmv-ctr"));
	nb_plan_free(&p);
	CHECK_INT(nb_topo_kind_client_reach("macvlan"), NB_REACH_ONLINK);
	CHECK_INT(nb_topo_kind_client_reach("overlay"), NB_REACH_TUNNEL);
	CHECK_INT(nb_topo_kind_client_reach("nat"), NB_REACH_ROUTED);
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {
	    TAP_CASE(kind_table), TAP_CASE(rows),	 TAP_CASE(settings),
	    TAP_CASE(wire),	  TAP_CASE(docker_rows), TAP_CASE(cluster_rows),
	};
	return TAP_RUN(cases, argc > 1 ? argv[1] : NULL);
}
