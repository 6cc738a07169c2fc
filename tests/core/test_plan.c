/* SPDX-License-Identifier: MIT */
/* Paths are data: each kind's plan (steps, endpoints, names) checked without building anything. */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>

#include "../../topo/topo_int.h"
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

int main(void)
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

	struct nb_plan q;
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
	return tap_status("plan");
}
