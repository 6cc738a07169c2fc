/* SPDX-License-Identifier: MIT */
/*
 * Inside topo/: the steps of the VM path kinds (plan.c's table says which kinds these are). The plan of a
 * VM path is the bridge plan with a persistent tap (NB_STEP_TAP) on the bridge in place of the container
 * veth, then NB_STEP_GUEST (nb_vm_start), which starts the guest as a recorded process of the instance, so
 * every teardown stops it like a spawned server, and undoes it by name (nb_vm_cleanup). Runtime facts
 * of the guest (accelerator, boot time, qemu pid) live in /run/nbench/vm/<name>/guest.json, so any handle
 * (and `nbench topo down` from another process) sees them. "vhost-user" puts a DPDK backend between the
 * guest and the tap (topo/vhost_user.c): dpdk-testpmd, another recorded process of the instance.
 */
#ifndef NB_TOPO_VM_H
#define NB_TOPO_VM_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "nbench/guest.h"
#include "topo_int.h"

#define NB_VM_RUN_DIR "/run/nbench/vm"

/* Cheap checks before anything is built: qemu present; for "vhost", vhost-net usable; for "vhost-user",
 * dpdk-testpmd and DPDK's vhost and tap PMDs present. 0 or -errno. */
int nb_vm_precheck(const struct nb_plan *p, char *err, size_t errlen);

/* Creates a persistent tap (no packet info) called ifname in netns ns: with vnet_hdr for qemu, or (mq)
 * multi-queue without vnet_hdr, the flags DPDK's net_tap attaches with. 0 or -errno. */
int nb_vm_tap_add(const char *ns, const char *ifname, bool mq);

/* NB_STEP_GUEST: builds or finds the image, picks the accelerator, starts qemu in the server netns
 * (recorded through l; behind backend vu for "vhost-user", else vu is NULL), and waits until the guest's
 * responder answers. A pending signal of l->cancel stops the wait with -EINTR. On failure the console log
 * is kept under NB_GUEST_LOG_DIR and err says where; the caller tears the instance down. */
struct nb_vu_backend;
int nb_vm_start(const struct nb_plan *p, const struct nb_launch *l, const struct nb_vu_backend *vu, char *err,
		size_t errlen);

/* The undo of NB_STEP_GUEST: stops a qemu of instance name that its pidfile still names (when the state
 * file never recorded it), removes its files and NB_VM_RUN_DIR/<name> once empty. Idempotent. */
void nb_vm_cleanup(const char *name);

/* Creates NB_VM_RUN_DIR/<name> (its path into dir). 0 or -errno with err set. */
int nb_vm_run_dir_make(const char *name, char *dir, size_t len, char *err, size_t errlen);

/* Adds "guest" (image, kernel, accelerator, backend, boot time) to a path description. */
struct cJSON;
void nb_vm_describe(const struct nb_plan *p, struct cJSON *o);

/* A command line being built: argv (NULL-terminated), its strings in store. */
struct nb_vm_cmd {
	char *argv[64];
	size_t argc;
	char store[6144];
	size_t used;
};
void nb_vm_arg(struct nb_vm_cmd *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define NB_VM_MEM_MIB "256"
/* qemu's machine into q (which starts empty): a name, no defaults or display, the accelerator with a CPU
 * model that suits it, NB_VM_MEM_MIB of memory. */
void nb_vm_machine(struct nb_vm_cmd *q, const char *name, const char *accel);
/* One vCPU booting kernel and initrd (kernel command line: the serial console, no reboot on panic, then
 * append), the serial console written to the file console. */
void nb_vm_boot(struct nb_vm_cmd *q, const char *kernel, const char *initrd, const char *append,
		const char *console);
/* Starts q's program in netns as a process of the instance (recorded through l) detached from the
 * caller: its own session (a Ctrl-C at the terminal does not kill the guest under a run about to end
 * cleanly; nbench stops it at teardown), stdin closed, its messages into the file log (the terminal is for
 * the report). The shell and setsid exec (setsid forks only a group leader, which this child is not), so
 * the pid returned and recorded is the program's. */
pid_t nb_vm_spawn_logged(const char *netns, const struct nb_vm_cmd *q, const char *log,
			 const struct nb_launch *l);
/* argv as shell words on f, quoted where needed (words starting with '"' are written as they are) */
void nb_vm_print_argv(FILE *f, char *const *argv, size_t argc);
bool nb_vm_on_path(const char *prog);
/* The last line of file that looks like an error (else its last non-empty line), or "". */
void nb_vm_complaint(const char *file, char *buf, size_t len);

/* ---- vhost_user.c: the "vhost-user" path's backend ---- */
#define NB_VU_BACKEND NB_GUEST_VHOST_USER
/* testpmd's --cmdline-file: io forwarding with retry towards a full guest ring */
#define NB_VU_COMMANDS "set fwd io retry\nset burst tx delay 10 retry 100\n"
extern const char nb_vu_commands[];
#define NB_VU_DPDK_DIR "/var/run/dpdk" /* where the EAL of a root process keeps its --file-prefix */

struct nb_vu_backend {
	pid_t pid;
	int main_cpu, fwd_cpu; /* testpmd's main lcore (sleeps) and forwarding lcore (spins) */
	struct nb_vm_cmd cmd;
};

/* The vhost-user socket of instance name (qemu connects to it; testpmd listens). */
void nb_vu_sock(char *buf, size_t len, const char *name);
/* testpmd's command for plan p (run dir dir), lcores on the CPUs this process may use. */
void nb_vu_cmd_build(struct nb_vu_backend *b, const struct nb_plan *p, const char *dir);
/* NB_STEP_VHOST_USER: starts testpmd in the plan's host netns (recorded through l) and waits until its
 * vhost-user socket listens. 0 or -errno with err set (the caller tears the instance down). */
int nb_vu_start(const struct nb_plan *p, const struct nb_launch *l, struct nb_vu_backend *b, char *err,
		size_t errlen);
/* The undo of NB_STEP_VHOST_USER: kills a testpmd of instance name that its pidfile names (only one
 * started with this instance's --file-prefix), removes its socket, log and pidfile, its EAL run directory
 * and NB_VM_RUN_DIR/<name> once empty. Idempotent. */
void nb_vu_cleanup(const char *name);
/* Whether anything of instance name's backend is left (pidfile, EAL run directory). */
bool nb_vu_leftovers(const char *name);
/* Whether s is an EAL --file-prefix of this backend ("nb-<name>-vu"); the name goes to ret_name. */
bool nb_vu_prefix_parse(const char *s, char ret_name[NB_TOPO_NAME_MAX + 1]);

/* Step k (NB_STEP_VHOST_USER or NB_STEP_GUEST) of plan p as shell text for `nbench topo script`
 * (malloc'd; NULL when out of memory). */
char *nb_vm_script(const struct nb_plan *p, enum nb_step_kind k);

#endif
