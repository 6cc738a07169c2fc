/* SPDX-License-Identifier: MIT */
/* The VM paths' plans: bridge plus a tap for the guest where the container was; the script renders the tap
 * and the qemu command (userspace virtio for "virtio", vhost-net for "vhost", a vhost-user socket served by
 * dpdk-testpmd for "vhost-user", whose tap is the backend's multi-queue port). Nothing is built. */
#include <net/if.h>
#include <stdlib.h>

#include "../../topo/topo_int.h"
#include "nbench/guest.h"
#include "../unit/tap.h"

static const struct nb_step *find(const struct nb_plan *p, enum nb_step_kind k, const char *ifname)
{
	for (size_t i = 0; i < p->nsteps; i++)
		if (p->steps[i].kind == k && (!ifname || !strcmp(p->steps[i].ifname, ifname)))
			return &p->steps[i];
	return NULL;
}

static unsigned count(const struct nb_plan *p, enum nb_step_kind k)
{
	unsigned n = 0;
	for (size_t i = 0; i < p->nsteps; i++)
		n += p->steps[i].kind == k;
	return n;
}

static void vm_rows(void)
{
	struct nb_plan br, vm[3];
	const char *kinds[] = {"virtio", "vhost", "vhost-user"};
	char err[256];

	CHECK(nb_guest_kind("virtio") && nb_guest_kind("vhost") && nb_guest_kind("vhost-user") &&
	      !nb_guest_kind("bridge") && !nb_guest_kind(NULL));
	CHECK_INT(nb_plan_build("bridge", "tvm", NULL, "", &br, err, sizeof(err)), 0);
	for (int i = 0; i < 3; i++) {
		const struct nb_plan *p = &vm[i];
		const struct nb_step *tap, *master;

		CHECK(nb_topo_kind_valid(kinds[i]));
		CHECK_MSG(nb_plan_build(kinds[i], "tvm", NULL, "", &vm[i], err, sizeof(err)) == 0, "%s: %s",
			  kinds[i], err);
		/* remote and host only: the guest takes the container's place, its address and the route to
		 * it */
		CHECK_INT(p->nns, 2);
		CHECK_STR(p->server_ns, "nb-tvm-host");
		CHECK_STR(p->client_ns, br.client_ns);
		CHECK_STR(p->server_addr, br.server_addr);
		CHECK_STR(p->dial_addr, br.dial_addr);
		CHECK_INT(count(p, NB_STEP_BRIDGE), 1);
		CHECK_INT(count(p, NB_STEP_VETH), 1);
		CHECK_INT(count(p, NB_STEP_TAP), 1);
		tap = find(p, NB_STEP_TAP, NULL);
		CHECK(tap && !strcmp(tap->ifname, "nb-tvm-t") && !strcmp(tap->ns, "nb-tvm-host"));
		master = find(p, NB_STEP_MASTER, "nb-tvm-t");
		CHECK(master && !strcmp(master->master, "nb-tvm-b"));
		CHECK(find(p, NB_STEP_UP, "nb-tvm-t") != NULL);
		CHECK(find(p, NB_STEP_ROUTE, "nb-tvm-r") != NULL);

		CHECK(tap && tap->tap_mq == (i == 2));
		/* the guest is the plan's last step, behind its backend's step for vhost-user; the kind says
		 * which backend */
		CHECK_INT(p->vm, i == 0 ? NB_VM_QEMU : i == 1 ? NB_VM_VHOST_NET : NB_VM_VHOST_USER);
		CHECK(p->nsteps > 2 && p->steps[p->nsteps - 1].kind == NB_STEP_GUEST);
		CHECK_STR(p->steps[p->nsteps - 1].name, "tvm");
		CHECK_STR(p->steps[p->nsteps - 1].ns, "nb-tvm-host");
		CHECK_INT(count(p, NB_STEP_GUEST), 1);
		CHECK_INT(count(p, NB_STEP_VHOST_USER), i == 2);
		if (i == 2)
			CHECK(p->steps[p->nsteps - 2].kind == NB_STEP_VHOST_USER);

		char *script = nb_plan_script(p);
		CHECK(script &&
		      strstr(script, i == 2 ? "ip -n nb-tvm-host tuntap add dev nb-tvm-t mode tap multi_queue"
					    : "ip -n nb-tvm-host tuntap add dev nb-tvm-t mode tap vnet_hdr"));
		CHECK(script && strstr(script, "ip netns exec nb-tvm-host qemu-system-x86_64"));
		CHECK(script && strstr(script, "virtio-net-pci"));
		CHECK(script && strstr(script, "nbench.ip=172.31.77.2/24 nbench.gw=172.31.77.1"));
		if (i < 2) {
			CHECK(script && strstr(script, i ? "vhost=on" : "vhost=off"));
			CHECK(script && !strstr(script, "testpmd"));
		} else {
			const char *tp =
			    script ? strstr(script, "ip netns exec nb-tvm-host dpdk-testpmd ") : NULL;
			const char *qm =
			    script ? strstr(script, "ip netns exec nb-tvm-host qemu-system-x86_64") : NULL;

			/* the backend first, listening where qemu connects; the guest's memory shareable */
			CHECK(tp && qm && tp < qm);
			CHECK(tp && strstr(tp, "--file-prefix=nb-tvm-vu") && strstr(tp, "--no-huge") &&
			      strstr(tp, "--no-pci") && strstr(tp, "--forward-mode=io") &&
			      strstr(tp, "--total-num-mbufs=8192") && strstr(tp, "--stats-period"));
			CHECK(tp &&
			      strstr(tp, "'--vdev=net_vhost0,iface=/run/nbench/vm/tvm/vhost.sock,queues=1'"));
			CHECK(tp && strstr(tp, "'--vdev=net_tap0,iface=nb-tvm-t'"));
			CHECK(qm && strstr(qm, "socket,id=c0,path=/run/nbench/vm/tvm/vhost.sock"));
			CHECK(qm && strstr(qm, "vhost-user,id=n0,chardev=c0"));
			CHECK(qm && strstr(qm, "vectors=0"));
			CHECK(qm && strstr(qm, "memory-backend-memfd,id=mem,size=256M,share=on"));
			CHECK(qm && strstr(qm, "node,memdev=mem"));
			CHECK(qm && !strstr(qm, "-netdev tap"));
		}
		free(script);
		nb_plan_free(&vm[i]);
	}
	CHECK_INT(br.vm, NB_VM_NONE);
	CHECK_INT(count(&br, NB_STEP_GUEST), 0);
	char *script = nb_plan_script(&br);
	CHECK(script && !strstr(script, "qemu"));
	free(script);
	nb_plan_free(&br);
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {
	    TAP_CASE(vm_rows),
	};
	return TAP_RUN(cases, argc > 1 ? argv[1] : NULL);
}
