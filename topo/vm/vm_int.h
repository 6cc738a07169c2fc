/* SPDX-License-Identifier: MIT */
/*
 * Inside topo/vm/ (vm.h is its face, and only vm.c includes it). The files, top down:
 *   vm.c          the face: the checks, the tap, the steps dispatched, the description and the script
 *   qemu.c        NB_STEP_GUEST: qemu's command, the boot and its readiness, guest.json, the undo
 *   vhost_user.c  NB_STEP_VHOST_USER: dpdk-testpmd between the guest's vhost-user socket and the tap
 *   guest.c       the guest image and the accelerator this host can run it with (nbench/guest.h)
 *   cmd.c         the ground: a command line built, printed or started as a logged process of the
 *                 instance; the run directory NB_VM_RUN_DIR/<name>; a log's complaint
 * Each calls only the files below it, and proc.c and ns.c under topo/.
 */
#ifndef NB_TOPO_VM_INT_H
#define NB_TOPO_VM_INT_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "../topo_int.h"
#include "nbench/guest.h"

/* ---- cmd.c ---- */

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
/* The full path of prog as execvp would find it into buf ("" if not found). */
void nb_vm_which(const char *prog, char *buf, size_t len);
/* The last line of file that looks like an error (else its last non-empty line), or "". */
void nb_vm_complaint(const char *file, char *buf, size_t len);
/* NB_VM_RUN_DIR/<name> into dir; nb_vm_run_dir_make also creates it (0700, checked). 0 or -errno with err
 * set. */
void nb_vm_run_dir(char *dir, size_t len, const char *name);
int nb_vm_run_dir_make(const char *name, char *dir, size_t len, char *err, size_t errlen);

/* ---- vhost_user.c: the "vhost-user" path's backend ---- */
#define NB_VU_BACKEND NB_GUEST_VHOST_USER

struct nb_vu_backend {
	pid_t pid;
	int main_cpu, fwd_cpu; /* testpmd's main lcore (sleeps) and forwarding lcore (spins) */
	struct nb_vm_cmd cmd;
};

/* The vhost-user socket of instance name (qemu connects to it; testpmd listens). */
void nb_vu_sock(char *buf, size_t len, const char *name);
/* NB_STEP_VHOST_USER: starts testpmd in the plan's host netns (recorded through l) and waits until its
 * vhost-user socket listens. 0 or -errno with err set (the caller tears the instance down). */
int nb_vu_start(const struct nb_plan *p, const struct nb_launch *l, struct nb_vu_backend *b, char *err,
		size_t errlen);
/* Whether s is an EAL --file-prefix of this backend ("nb-<name>-vu"); the name goes to ret_name. */
bool nb_vu_prefix_parse(const char *s, char ret_name[NB_TOPO_NAME_MAX + 1]);
/* Whether instance name's backend left its EAL run directory. */
bool nb_vu_leftovers(const char *name);
/* The undo of NB_STEP_VHOST_USER: kills a testpmd of instance name that its pidfile names (only one
 * started with this instance's --file-prefix), removes its socket, log and pidfile, its EAL run directory
 * and NB_VM_RUN_DIR/<name> once empty. Idempotent. */
void nb_vu_cleanup(const char *name);
/* NB_STEP_VHOST_USER of plan p as shell commands on f (run directory dir). 0 or -ENOMEM. */
int nb_vu_script(FILE *f, const struct nb_plan *p, const char *dir);

/* ---- qemu.c: the guest ---- */

/* NB_STEP_GUEST (vm.h's nb_vm_step_apply): behind backend vu for "vhost-user", else vu is NULL. */
int nb_qemu_start(const struct nb_plan *p, const struct nb_launch *l, const struct nb_vu_backend *vu,
		  char *err, size_t errlen);
/* The undo of NB_STEP_GUEST: stops a qemu of instance name that its pidfile still names (when the state
 * file never recorded it), removes its files and NB_VM_RUN_DIR/<name> once empty. Idempotent. */
void nb_qemu_cleanup(const char *name);
/* The guest's facts (NB_VM_RUN_DIR/<name>/guest.json) as JSON, or NULL when there are none. */
struct cJSON;
struct cJSON *nb_qemu_facts(const char *name);
/* NB_STEP_GUEST of plan p as a shell command on f (run directory dir). */
void nb_qemu_script(FILE *f, const struct nb_plan *p, const char *dir);

#endif
