/* SPDX-License-Identifier: MIT */
/*
 * The face of topo/vm/, the server end of the VM path kinds (plan.c's table says which kinds these are):
 * every file of topo/ above it (apply.c's steps, topo.c's checks, describe.c, script.c, list.c) reaches a
 * guest, its tap and its vhost-user backend through this header alone, and nothing in topo/vm/ calls up.
 *
 * The plan of a VM path is the bridge plan with a persistent tap (NB_STEP_TAP) on the bridge in place of the
 * container veth, then NB_STEP_VHOST_USER ("vhost-user" only: dpdk-testpmd between the guest and the tap)
 * and NB_STEP_GUEST (qemu). Both start recorded processes of the instance, so every teardown stops them like
 * a spawned server, and both are undone by the instance's name. Runtime facts of the guest (accelerator,
 * boot time, qemu pid) live in NB_VM_RUN_DIR/<name>/guest.json (topo_int.h names the directories), so any
 * handle (and `nbench topo down` from another process) sees them.
 */
#ifndef NB_TOPO_VM_H
#define NB_TOPO_VM_H

#include <stdbool.h>
#include <stddef.h>

#include "../topo_int.h"

/* Cheap checks before anything is built: qemu present; for "vhost", vhost-net usable; for "vhost-user",
 * dpdk-testpmd and DPDK's vhost and tap PMDs present. 0 or -errno. */
int nb_vm_precheck(const struct nb_plan *p, char *err, size_t errlen);

/* NB_STEP_TAP: a persistent tap (no packet info) called ifname in netns ns: with vnet_hdr for qemu, or
 * (mq) multi-queue without vnet_hdr, the flags DPDK's net_tap attaches with. 0 or -errno. */
int nb_vm_tap_add(const char *ns, const char *ifname, bool mq);

/* What the VM steps of one apply hand on: the backend NB_STEP_VHOST_USER started, for NB_STEP_GUEST. */
struct nb_vm_steps;

/* NB_STEP_VHOST_USER (starts dpdk-testpmd in the plan's host netns and waits until its vhost-user socket
 * listens) or NB_STEP_GUEST (builds or finds the image, picks the accelerator, starts qemu in the server
 * netns, behind that backend if there is one, and waits until the guest's responder answers). Processes
 * are recorded through l; a pending signal of l->cancel stops a wait with -EINTR. *vs starts NULL and is
 * made by the first step (nb_vm_steps_free). On failure err says what (a guest's console log is kept under
 * NB_GUEST_LOG_DIR and err says where); the caller tears the instance down. 0 or -errno. */
int nb_vm_step_apply(struct nb_vm_steps **vs, const struct nb_plan *p, const struct nb_launch *l,
		     enum nb_step_kind k, char *err, size_t errlen);
/* The undo of NB_STEP_GUEST or NB_STEP_VHOST_USER of instance name, found by its name (pidfiles, the run
 * directory, the EAL prefix) whether or not the state file recorded the process. Idempotent. */
void nb_vm_step_undo(enum nb_step_kind k, const char *name);
void nb_vm_steps_free(struct nb_vm_steps *vs);

/* Adds "guest" (image, kernel, accelerator, backend, boot time) to a path description. */
struct cJSON;
void nb_vm_describe(const struct nb_plan *p, struct cJSON *o);

/* Step k (NB_STEP_VHOST_USER or NB_STEP_GUEST) of plan p as shell text for `nbench topo script`
 * (malloc'd; NULL when out of memory). */
char *nb_vm_script(const struct nb_plan *p, enum nb_step_kind k);

/* For the listing and the sweep (list.c): whether s is the EAL --file-prefix of an instance's vhost-user
 * backend (a directory under NB_VU_DPDK_DIR; the instance name goes to ret_name), and whether anything of
 * instance name's VM steps is left (its run directory, its backend's EAL directory). */
bool nb_vm_prefix_parse(const char *s, char ret_name[NB_TOPO_NAME_MAX + 1]);
bool nb_vm_leftovers(const char *name);

#endif
