/* SPDX-License-Identifier: MIT */
/*
 * Inside topo/: the hooks of the VM path kinds ("virtio", "vhost") into the common path code. The plan
 * of a VM path is the bridge plan with a persistent tap (NB_STEP_TAP) on the bridge in place of the
 * container veth; the guest is started after the steps (nb_vm_start) and is a recorded process of the
 * instance, so every teardown (nb_teardown) stops it like a spawned server. Runtime facts of the guest
 * (accelerator, boot time, qemu pid) live in /run/nbench/vm/<name>/guest.json, so any handle (and
 * `nbench topo down` from another process) sees them.
 */
#ifndef NB_TOPO_VM_H
#define NB_TOPO_VM_H

#include <signal.h>
#include <stddef.h>

#include "nbench/guest.h"
#include "topo_int.h"

#define NB_VM_RUN_DIR "/run/nbench/vm"

/* Cheap checks before anything is built: qemu present; for "vhost", vhost-net usable. 0 or -errno. */
int nb_vm_precheck(const char *kind, char *err, size_t errlen);

/* Creates a persistent tap (vnet_hdr, no packet info) called ifname in netns ns. 0 or -errno. */
int nb_vm_tap_add(const char *ns, const char *ifname);

/* Builds or finds the image, picks the accelerator, starts qemu in the server netns (recorded in t's
 * state), and waits until the guest's responder answers. A pending signal of cancel stops the wait with
 * -EINTR. On failure the console log is kept under NB_GUEST_LOG_DIR and err says where; the caller
 * tears the instance down. */
int nb_vm_start(struct nb_topo *t, const sigset_t *cancel, char *err, size_t errlen);

/* Part of every teardown: stops a qemu of instance name that its pidfile still names (when the state
 * file never recorded it) and removes NB_VM_RUN_DIR/<name>. Idempotent. */
void nb_vm_cleanup(const char *name);

/* Adds "guest" (image, kernel, accelerator, backend, boot time) to a path description. */
struct cJSON;
void nb_vm_describe(const struct nb_plan *p, struct cJSON *o);

/* The qemu command of plan p as shell text for `nbench topo script` (malloc'd; NULL if not a VM path). */
char *nb_vm_script(const struct nb_plan *p);

#endif
