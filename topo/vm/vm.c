/* SPDX-License-Identifier: MIT */
/*
 * The face of topo/vm/ (vm.h): the checks before a VM path is built, the guest's tap, the two steps that
 * start processes handed to the file that owns each (qemu.c, vhost_user.c), the guest's facts for a
 * description and for nbench/guest.h's nb_topo_guest, and the steps as shell text.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vm.h"
#include "vm_int.h"

struct nb_vm_steps {
	bool backend;		 /* NB_STEP_VHOST_USER ran: the guest goes behind vu */
	struct nb_vu_backend vu; /* its dpdk-testpmd */
};

int nb_vm_precheck(const struct nb_plan *p, char *err, size_t errlen)
{
	char why[256], qemu[PATH_MAX];
	int r;

	nb_vm_which("qemu-system-x86_64", qemu, sizeof(qemu));
	if (!*qemu) {
		nb_err(err, errlen, "path '%s' needs qemu-system-x86_64 (apt-get install qemu-system-x86)",
		       p->kind);
		return -ENOENT;
	}
	if (p->vm == NB_VM_VHOST_NET) {
		r = nb_guest_vhost_probe(why, sizeof(why));
		if (r) {
			nb_err(err, errlen, "path 'vhost': %s", why);
			return -EOPNOTSUPP;
		}
	}
	if (p->vm == NB_VM_VHOST_USER) {
		r = nb_guest_vhost_user_probe(why, sizeof(why));
		if (r) {
			nb_err(err, errlen, "path 'vhost-user': %s", why);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

int nb_vm_tap_add(const char *ns, const char *ifname, bool mq)
{
	struct ifreq ifr;
	int orig, fd, r = 0;

	/* the tap lands in the namespace the file was opened in */
	r = nb_ns_enter(ns, &orig);
	if (r)
		return r;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		r = -errno;
	nb_ns_leave(orig);
	if (r)
		return r;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	/* DPDK's net_tap opens its queues with IFF_MULTI_QUEUE and no vnet_hdr, and the kernel lets a queue
	 * attach to an existing tap only with the same multi-queue flag */
	ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | (mq ? IFF_MULTI_QUEUE : IFF_VNET_HDR));
	if (ioctl(fd, TUNSETIFF, &ifr) || ioctl(fd, TUNSETPERSIST, 1))
		r = -errno;
	close(fd);
	return r;
}

int nb_vm_step_apply(struct nb_vm_steps **vs, const struct nb_plan *p, const struct nb_launch *l,
		     enum nb_step_kind k, char *err, size_t errlen)
{
	if (k != NB_STEP_GUEST && k != NB_STEP_VHOST_USER)
		return -EINVAL;
	if (!*vs && !(*vs = calloc(1, sizeof(**vs))))
		return -ENOMEM;
	if (k == NB_STEP_GUEST)
		return nb_qemu_start(p, l, (*vs)->backend ? &(*vs)->vu : NULL, err, errlen);
	memset(&(*vs)->vu, 0, sizeof((*vs)->vu));
	(*vs)->backend = true;
	return nb_vu_start(p, l, &(*vs)->vu, err, errlen);
}

void nb_vm_step_undo(enum nb_step_kind k, const char *name)
{
	if (k == NB_STEP_GUEST)
		nb_qemu_cleanup(name);
	else if (k == NB_STEP_VHOST_USER)
		nb_vu_cleanup(name);
}

void nb_vm_steps_free(struct nb_vm_steps *vs)
{
	free(vs);
}

void nb_vm_describe(const struct nb_plan *p, cJSON *o)
{
	cJSON *g;

	if (p->vm == NB_VM_NONE)
		return;
	g = nb_qemu_facts(p->name);
	if (!g) {
		cJSON_AddNullToObject(o, "guest");
		return;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(g, "schema_version");
	cJSON_DeleteItemFromObjectCaseSensitive(g, "name");
	cJSON_DeleteItemFromObjectCaseSensitive(g, "kind");
	cJSON_AddItemToObject(o, "guest", g);
}

/* The image's kernel and initrd into $K and $I, and the run directory. */
static void script_preamble(FILE *f, const char *dir)
{
	fprintf(f, "# the guest: the image of `nbench guest build` (it prints the image's JSON file)\n");
	fprintf(f, "img=$(nbench guest build --quiet)\n");
	fprintf(f, "K=$(sed -n 's/.*\"kernel\": \"\\(.*\\)\",/\\1/p' \"$img\")\n");
	fprintf(f, "I=$(sed -n 's/.*\"initrd\": \"\\(.*\\)\",/\\1/p' \"$img\")\n");
	fprintf(f, "mkdir -p %s\n", dir);
}

char *nb_vm_script(const struct nb_plan *p, enum nb_step_kind k)
{
	char dir[128], *text = NULL;
	size_t len = 0;
	FILE *f;
	int r = 0;

	nb_vm_run_dir(dir, sizeof(dir), p->name);
	f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	/* the first of the VM steps says where the image and the run directory are */
	if (k == NB_STEP_VHOST_USER || p->vm != NB_VM_VHOST_USER)
		script_preamble(f, dir);
	if (k == NB_STEP_VHOST_USER)
		r = nb_vu_script(f, p, dir);
	else
		nb_qemu_script(f, p, dir);
	fclose(f);
	if (r) {
		free(text);
		return NULL;
	}
	return text;
}

int nb_topo_guest(const struct nb_topo *t, struct nb_topo_guest *ret)
{
	cJSON *o, *v;

	memset(ret, 0, sizeof(*ret));
	if (t->plan.vm == NB_VM_NONE)
		return -ENOENT;
	o = nb_qemu_facts(t->plan.name);
	if (!o)
		return -ENOENT;
#define S(field, key)                                                                                        \
	do {                                                                                                 \
		v = cJSON_GetObjectItemCaseSensitive(o, key);                                                \
		if (cJSON_IsString(v))                                                                       \
			snprintf(ret->field, sizeof(ret->field), "%s", v->valuestring);                      \
	} while (0)
	S(kernel_version, "kernel_version");
	S(accel, "accel");
	S(accel_why, "accel_why");
	S(backend, "backend");
	S(console, "console");
#undef S
	v = cJSON_GetObjectItemCaseSensitive(o, "boot_ns");
	ret->boot_ns = cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
	v = cJSON_GetObjectItemCaseSensitive(o, "qemu_pid");
	ret->qemu_pid = cJSON_IsNumber(v) ? (pid_t)v->valuedouble : 0;
	cJSON_Delete(o);
	return 0;
}

bool nb_vm_prefix_parse(const char *s, char ret_name[NB_TOPO_NAME_MAX + 1])
{
	return nb_vu_prefix_parse(s, ret_name);
}

bool nb_vm_leftovers(const char *name)
{
	char dir[128];

	nb_vm_run_dir(dir, sizeof(dir), name);
	return nb_vu_leftovers(name) || !access(dir, F_OK);
}

bool nb_topo_has_own_responder(const struct nb_topo *t)
{
	return t && (t->plan.vm != NB_VM_NONE || nb_docker_serves(&t->plan)); /* a guest, a container */
}
