/* SPDX-License-Identifier: MIT */
/*
 * Inside topo/: a path is planned as a flat list of steps (pure data, no privileges), then applied step by
 * step through libnl-route-3 and libnftables, or rendered as an iproute2 + nft script. A plan is a pure
 * function of (kind, name, ports, cgroup root), so an instance can be re-planned from its state file and
 * torn down by a process that never built it.
 *
 * The files, top down; each calls only files on the lines below its own:
 *   topo.c                   the public face (nbench/topo.h): up, open, down, spawn, script
 *   list.c, describe.c       the instances on this machine and the sweep by name; a path as measured
 *   state.c, half.c          state files and teardown; the choices of a path split across two hosts
 *   apply.c, plan.c          one step applied and undone; path kind -> steps, pure
 *   script.c, wire.c, knob.c a plan as a shell script; --wire and --wire-rate; the knobs of a sweep
 *   vm/, nicstate.c          the VM paths' server end, a folder behind one face (vm/vm.h); one interface's
 *                            whole state, recorded and put back (nicstate.h)
 *   tc.c, route.c, proc.c    an interface's qdiscs, classes and filters, and its routes (tc.h, route.h);
 *                            processes of an instance
 *   nl.c, ns.c               libnl errors as -errno; named namespaces and the names of what an instance
 *                            makes
 */
#ifndef NB_TOPO_INT_H
#define NB_TOPO_INT_H

#include <net/if.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nbench/docker.h"
#include "nbench/topo.h"

#define NB_TOPO_MAX_STEPS    48
#define NB_TOPO_MAX_NS	     4
#define NB_TOPO_MAX_PIDS     16
#define NB_NS_NAME_MAX	     32 /* "nb-" + name + "-remote" + NUL fits */
#define NB_NETNS_DIR	     "/run/netns"
#define NB_STATE_DIR	     "/run/nbench/topo"
#define NB_VM_RUN_DIR	     "/run/nbench/vm" /* a VM path's files: NB_VM_RUN_DIR/<name>/ (topo/vm/) */
#define NB_VU_DPDK_DIR	     "/var/run/dpdk"  /* where the EAL of a root process keeps its --file-prefix */
#define NB_WIRE_RATE_MIN_BPS 1e6	      /* --wire-rate: tbf's bucket would take over a second below */
#define NB_WIRE_RATE_MAX_BPS 100e9
/* The routing protocol number on every route nbench adds ('N'; iproute2 shows "proto 78"): `topo down --all`
 * finds a client's route to a remote half by it after the client was killed. */
#define NB_RTPROT 78

enum nb_step_kind {
	NB_STEP_NETNS,	/* ns */
	NB_STEP_VETH,	/* ifname in ns, peer in peer_ns */
	NB_STEP_BRIDGE, /* ifname in ns */
	NB_STEP_MASTER, /* ifname enslaved to master, both in ns */
	NB_STEP_UP,	/* ifname in ns */
	NB_STEP_ADDR,	/* addr (CIDR) on ifname in ns */
	NB_STEP_ROUTE,	/* addr (destination CIDR or "default") via gateway, dev ifname, in ns */
	NB_STEP_SYSCTL, /* key (dotted, under /proc/sys) = val, in ns */
	NB_STEP_NFT,	/* ruleset text creating table `table` in ns */
	NB_STEP_CGROUP, /* path: a cgroup v2 directory */
	NB_STEP_TAP,	/* ifname: a persistent tap in ns, a guest's NIC or its backend's port (topo/vm/) */
	NB_STEP_VHOST_USER, /* a guest's vhost-user backend (dpdk-testpmd) for instance name, in ns */
	NB_STEP_GUEST,	    /* the guest of instance name (qemu), in ns; up once its responder answers */
	NB_STEP_NIC,	    /* --wire: this host's interface peer moved into ns and renamed ifname */
	NB_STEP_QDISC,	    /* --wire-rate: a root tbf of rate_bps on ifname in ns */
	NB_STEP_VXLAN,	    /* ifname in ns: VXLAN id vni to addr (remote) from via (local), over peer
			       (topo/overlay.c) */
	NB_STEP_MACVLAN,    /* ifname in ns, a bridge-mode macvlan of peer in peer_ns (topo/overlay.c) */
	NB_STEP_DOCKER_NET, /* dk.name: a bridge network of the Docker engine (topo/docker.c) */
	NB_STEP_DOCKER_CTR, /* dk.name: a container of the engine, its netns bound as ns ("": host networking)
			     */
};

/* A Docker step's object (NB_STEP_DOCKER_NET, NB_STEP_DOCKER_CTR). The step's addr is, for the network, its
 * subnet (via its gateway, ifname its Linux bridge); for a container with host networking, the address
 * its responder listens on; on the default bridge, the host address its port is published on ("": not
 * published); on the instance's network, its fixed address. */
struct nb_docker_step {
	char name[32];	  /* nb-<name>-srv, nb-<name>-cli, nb-<name>-net */
	char network[32]; /* the container's network: "host", "bridge", nb-<name>-net */
	uint16_t port;	  /* the responder's port in the container */
	uint16_t publish_port;
	bool client; /* the client's container: it only holds its network namespace */
};

struct nb_step {
	enum nb_step_kind kind;
	char ns[NB_NS_NAME_MAX];
	char ifname[IFNAMSIZ];
	char peer_ns[NB_NS_NAME_MAX];
	char peer[IFNAMSIZ];
	char master[IFNAMSIZ];
	char addr[48];
	char via[48];
	char key[64];
	char val[16];
	char table[48]; /* "ip nbench_<name>" */
	char *text;	/* nft ruleset (heap) */
	char path[256];
	char name[NB_TOPO_NAME_MAX + 1]; /* the instance */
	double rate_bps;		 /* NB_STEP_QDISC */
	unsigned mtu;			 /* VETH (both ends), VXLAN: set at creation; 0 the default */
	uint32_t vni;			 /* NB_STEP_VXLAN */
	struct nb_docker_step dk;
	bool tap_mq; /* NB_STEP_TAP: multi-queue, no vnet_hdr (for DPDK's net_tap), else vnet_hdr (qemu) */
	/* Filled in when applied, read by the undo. */
	char old[16];
	bool done;
};

/* What runs the server end of a VM path (the table in plan.c says which kind has which). */
enum nb_vm {
	NB_VM_NONE,	  /* not a VM path */
	NB_VM_QEMU,	  /* virtio-net with qemu's userspace backend */
	NB_VM_VHOST_NET,  /* virtio-net with vhost-net */
	NB_VM_VHOST_USER, /* a vhost-user netdev served by dpdk-testpmd (topo/vm/vhost_user.c) */
};

struct nb_plan {
	char kind[16];
	char name[NB_TOPO_NAME_MAX + 1];
	struct nb_step steps[NB_TOPO_MAX_STEPS];
	size_t nsteps;
	size_t nshared; /* steps[0..nshared): the namespaces and the steps the kind's children share */
	char ns[NB_TOPO_MAX_NS][NB_NS_NAME_MAX];
	size_t nns;
	char client_ns[NB_NS_NAME_MAX];
	char server_ns[NB_NS_NAME_MAX];
	char dial_addr[48];
	uint16_t dial_port;
	char server_addr[48];
	uint16_t server_port;
	char cgroup[256]; /* empty unless the server runs sandboxed ("host") */
	bool sandbox;
	enum nb_vm vm;
	/* --wire, --wire-rate, --force as given (they re-plan the instance from its state file) */
	char wire[2][IFNAMSIZ]; /* [0]: IF_A, the server's side; [1]: IF_B, the client's */
	double wire_rate_bps;
	bool force;
	/* A server half for a client on another host (nb_topo_opts.half): its container subnet's third octet
	 * and the address its client dialed, re-planned from the state file like the rest. */
	bool half;
	uint8_t subnet;
	char half_dial[48];
	char half_peer[48]; /* overlay: the client's address, its VXLAN endpoint */
	/* The client's half of a remote overlay (nb_topo_opts.client_half): "remote" is this namespace. */
	bool client_half;
	/* Kinds whose "host" is this network namespace, where the Docker engine builds (the kind table's
	 * self_host): their wire is 10.77.<host_net>.0/24 and their network 172.31.<host_net>.0/24, a pair no
	 * other instance here uses (nb_topo_host_net). */
	bool self_host;
	uint8_t host_net;
	uint64_t half_ctr_ino; /* from the state file: its container's netns */
	/* The wire interfaces as they were before (wire.c), from nb_wire_save or the state file; freed by
	 * nb_plan_free. NULL: no --wire. */
	struct nb_wire_state *wire_saved;
};

#define NB_PROC_EXES	3
#define NB_PROC_EXE_MAX 256

/* A process on record, and what tells it apart from a later one with the same pid: its start time and the
 * programs it may be running (nbench itself until the exec, then argv[0], then the program a wrapper
 * such as `sh -c "exec setsid qemu ..."` ends in). */
struct nb_proc {
	pid_t pid;
	unsigned long long start_ticks;		 /* /proc/<pid>/stat field 22 */
	char exe[NB_PROC_EXES][NB_PROC_EXE_MAX]; /* /proc/<pid>/exe targets; "" unused; none: an old record */
	bool child;				 /* ours to waitpid() */
};

struct nb_topo {
	struct nb_plan plan;
	bool built;    /* by this process through nb_topo_up (vs found by nb_topo_open) */
	bool building; /* nb_topo_up is applying its steps: the state file says not complete */
	bool down;
	bool incomplete;     /* read from a state file whose nb_topo_up never finished */
	bool cgroup_foreign; /* the state file named a cgroup outside this machine's root (not used) */
	bool host_gone; /* a half whose host network namespace no longer exists (its steps went with it) */
	struct nb_proc procs[NB_TOPO_MAX_PIDS];
	size_t nprocs;
	/* nb_topo_open: what the state file recorded (started by `topo up`, not ours to stop) */
	pid_t others[NB_TOPO_MAX_PIDS];
	size_t nothers;
};

/* plan.c */
int nb_plan_build(const char *kind, const char *name, const struct nb_topo_opts *opts, const char *cgroot,
		  struct nb_plan *ret, char *err, size_t errlen);
void nb_plan_free(struct nb_plan *p);
char *nb_plan_script(const struct nb_plan *p);
/* "unknown path kind ..." with the list of kinds into err; returns -EINVAL. */
int nb_topo_kind_error(const char *kind, char *err, size_t errlen);
const char *nb_step_kind_name(enum nb_step_kind k);

/* nl.c: a libnl-3 error code (negative or not) as -errno; 0 stays 0, what has no errno is -EIO. */
int nb_nl_err(int nlerr);

/* ns.c: the calling thread visits a netns and always comes back; the names of what an instance makes. */
int nb_ns_enter(const char *ns, int *ret_orig);
void nb_ns_leave(int orig);
int nb_ns_open(const char *ns);
int nb_ns_create(const char *ns);
int nb_ns_delete(const char *ns);
/* Names the network namespace of process pid (a container's) ns, as nb_ns_create names a new one. */
int nb_ns_bind(const char *ns, pid_t pid);
bool nb_ns_exists(const char *ns);
/* The mount point of the cgroup v2 hierarchy ("" if none) */
int nb_cgroup_root(char *buf, size_t len);
/* The netns of instance name in role: nb-<name>-<role>. */
void nb_ns_name(char *buf, size_t len, const char *name, const char *role);
/* The i-th namespace role ("remote", "host", "ctr"), NULL past the last. */
const char *nb_ns_role(size_t i);
/* Whether s is the name of a netns nbench would create; the instance name goes to ret_name. */
bool nb_ns_name_parse(const char *s, char ret_name[NB_TOPO_NAME_MAX + 1]);
/* Whether s is the name of an instance's cgroup (nbench-<name>); the instance name goes to ret_name. */
bool nb_cgroup_name_parse(const char *s, char ret_name[NB_TOPO_NAME_MAX + 1]);

/* proc.c: processes of an instance. How a step's process gets on record before it may run: */
struct nb_launch {
	int (*record)(void *ctx, const struct nb_proc *p); /* nonzero: not recorded, the child is killed */
	void (*forget)(void *ctx, pid_t pid);		   /* its exec failed; it is reaped */
	void *ctx;
	const sigset_t *cancel; /* waits stop with -EINTR when one of these is pending (NULL: none) */
};
struct nb_spawn_req {
	const char *netns;    /* where it runs */
	const char *cgroup;   /* non-NULL: sandboxed (own mount/pid/uts namespaces) in this cgroup */
	const char *hostname; /* the sandbox's */
	char *const *argv;
	const char *exe; /* the program argv[0] ends up exec'ing, if it is a wrapper (NULL: argv[0]) */
};
/* Forks argv into req's netns, records it through l, then lets it exec. The pid or -errno. */
pid_t nb_spawn(const struct nb_spawn_req *req, const struct nb_launch *l);
/* /proc/<pid>/stat field 22 (tells a reused pid apart), or 0 if the process is gone or a zombie. */
unsigned long long nb_proc_start_ticks(pid_t pid);
/* The program pid runs (/proc/<pid>/exe, without " (deleted)") into buf; "" if unknown. */
void nb_proc_exe(pid_t pid, char *buf, size_t len);
/* Whether pid is still the process p records: same start time and one of its programs. A record
 * without programs (an old state file) is never confirmed. */
bool nb_proc_is(const struct nb_proc *p);
/* Whether pid lives in one of the network namespaces of instance name (nb-<name>-{remote,host,ctr}). */
bool nb_proc_in_netns(pid_t pid, const char *name);
/* Whether pid is in the cgroup v2 directory cgroup (its cgroup.procs). */
bool nb_proc_in_cgroup(pid_t pid, const char *cgroup);
/* A pidfd for p's pid that refers to the recorded process (its start time checked after the open, so a
 * pid reused in between is caught), or -errno (-ESRCH: not it). */
int nb_proc_pidfd(const struct nb_proc *p);
/* Whether a signal of set is pending for the calling thread (set NULL: no). */
bool nb_cancel_pending(const sigset_t *set);

/* apply.c. A handle applies the steps of one plan; the steps that start processes (NB_STEP_VHOST_USER,
 * NB_STEP_GUEST) record them through l (NULL: such steps fail with -EINVAL). */
struct nb_apply;
int nb_apply_open(const struct nb_plan *p, const struct nb_launch *l, struct nb_apply **ret);
void nb_apply_close(struct nb_apply *a);
int nb_step_apply(struct nb_apply *a, struct nb_step *s, char *err, size_t errlen);
/* Idempotent: an object already gone counts as undone. */
int nb_step_undo(struct nb_apply *a, struct nb_step *s);
/* The one-line message of step s failing with r (with a hint naming the missing privilege or kernel
 * option), detail appended; returns r. */
int nb_step_error(const struct nb_step *s, int r, const char *detail, char *err, size_t errlen);
void nb_step_describe(const struct nb_step *s, char *buf, size_t len);
/* Kills what is left in the cgroup, then removes it; ENOENT counts as done. */
int nb_cgroup_remove(const char *path);

/* state.c */
/* NB_STATE_DIR open and checked (nb_dir_open_checked), made first with create. The fd or -errno. */
int nb_state_dir(bool create, char *err, size_t errlen);
int nb_state_write(const struct nb_topo *t, bool complete);
/* The state file p's instance would have, on one line, not complete, with no process and no creator: what
 * a `topo script` writes before its steps (and marks complete after them). NULL on no memory. */
char *nb_state_script_line(const struct nb_plan *p);
/* The new state file of t (the name's lock). 0 or -errno (-EEXIST: the name is taken) with err set. */
int nb_state_create(const struct nb_topo *t, char *err, size_t errlen);
/* "client" and "server" of plan p into JSON object o, as the state file and describe have them. */
struct cJSON;
void nb_ends_json(const struct nb_plan *p, struct cJSON *o);
int nb_state_read(const char *name, struct nb_topo *ret, char *err, size_t errlen);
int nb_state_remove(const char *name);
void nb_state_path(char *buf, size_t len, const char *name);
/* Tears down by plan and by naming pattern; works without a state file and twice. */
int nb_teardown(struct nb_topo *t);
int nb_procs_kill(struct nb_topo *t);

/* topo.c: the launch that records processes in t's state file */
void nb_topo_launch(struct nb_topo *t, const sigset_t *cancel, struct nb_launch *ret);

/* list.c: whether something of instance name exists (its state file, a netns or cgroup of its naming
 * pattern); what goes to what. */
bool nb_name_taken(const char *name, char *what, size_t whatlen);

/* wire.c: this host's interfaces as the wire. */
/* The checks of --wire (exist, differ, not lo, no default route, no master, not down without carrier);
 * p->force waives the last three. -errno with the reason in err. */
int nb_wire_check(const struct nb_plan *p, char *err, size_t errlen);
/* Records the whole state of both wire interfaces into p->wire_saved. */
int nb_wire_save(struct nb_plan *p, char *err, size_t errlen);
/* p->wire_saved as JSON (for the state file), and back; NULL / -errno. */
struct cJSON *nb_wire_json(const struct nb_plan *p);
int nb_wire_from_json(struct nb_plan *p, const struct cJSON *o);
/* Puts both wire interfaces back in this thread's namespace under their names, in the state recorded;
 * once all of it is back, the record lets go of what it kept (nb_wire_forget). undone: every step of the
 * path was undone, so an interface found under neither name is gone (a note, not an error). */
int nb_wire_restore(const struct nb_plan *p, bool undone);
/* Lets go of what recording the wire kept outside the state file (the pins of eBPF filters' programs). */
void nb_wire_forget(const struct nb_plan *p);
/* The steps NB_STEP_NIC and NB_STEP_QDISC, applied and undone (sk: a route socket of the step's netns). */
struct nl_sock;
int nb_nic_step(struct nl_sock *sk, const struct nb_step *s, bool apply);
int nb_qdisc_step(struct nl_sock *sk, const struct nb_step *s, bool apply);
/* overlay.c: NB_STEP_VXLAN and NB_STEP_MACVLAN, applied (sk: a socket of the device's netns, for a macvlan
 * its parent's) and undone (sk: the device's netns). */
int nb_overlay_step(struct nl_sock *sk, const struct nb_step *s, bool apply);
/* docker.c: NB_STEP_DOCKER_NET and NB_STEP_DOCKER_CTR through the engine's API, applied (the engine's
 * words into err) and undone (an object already gone, or no engine at all, counts as undone). */
int nb_docker_step(struct nb_step *s, bool apply, char *err, size_t errlen);
void nb_wire_free(struct nb_wire_state *w);

/* state.c: the inode of the calling process's network namespace (tells a half's host apart) */
uint64_t nb_self_netns_ino(void);
uint64_t nb_proc_netns_ino(pid_t pid); /* 0: gone */
/* After a half applied sysctl step s: the value from before the first half of this host, if another half is
 * up, becomes its old value (only the last half torn down restores it). */
void nb_half_inherit(const struct nb_plan *p, struct nb_step *s);

/* half.c: for a kind built in this namespace (nb_plan.self_host), an N whose 10.77.N.0/24 and
 * 172.31.N.0/24 no route, address or other instance here uses (78..254). 0 or -EADDRNOTAVAIL with err. */
int nb_topo_host_net(uint8_t *ret, char *err, size_t errlen);
/* plan.c: whether kind is built in the caller's network namespace (the Docker paths). */
bool nb_plan_self_host(const char *kind);
/* plan.c: the kind whose steps kind builds on: the one it extends, or the one its row names (a Docker path
 * is measured against nbench's model of it but built on the wire alone). */
const char *nb_plan_steps_parent(const char *kind);

/* docker.c */
struct nb_docker_api;
/* GET /containers/<name>/json into c (network: whose address goes to c->ip; NULL: its own). */
int nb_docker_ctr_inspect(struct nb_docker_api *a, const char *name, const char *network,
			  struct nb_docker_ctr *c, char *err, size_t errlen);
/* Removes every container and network of the engine labelled for instance name; no engine is no error. */
int nb_docker_sweep(const char *name);
/* Calls fn for the instance of each container and network labelled as nbench's (an instance may come
 * more than once). 0, or -errno when the engine could not be asked. */
int nb_docker_instances(void (*fn)(void *arg, const char *instance), void *arg);
/* The processes of plan p's containers (their first, as this pid namespace sees them) and the engine's
 * userland proxy for its published port: up to max into out, how many. */
unsigned nb_docker_pids(const struct nb_plan *p, pid_t *out, unsigned max);
/* The engine's end (in this namespace) of the veth whose other end is eth0 of the container's namespace ns,
 * into buf. 0 or -errno. */
int nb_docker_veth_peer(const char *ns, char *buf, size_t len);
/* Whether plan p's server end is a container of the engine (running its own responder). */
bool nb_docker_serves(const struct nb_plan *p);
/* Docker step s as shell text (curl on the engine's socket; ip netns attach), malloc'd. */
char *nb_docker_script(const struct nb_step *s);
/* Whether the engine (if there is one) holds a container or network labelled for instance name. */
bool nb_docker_taken(const char *name);
/* Adds "docker" (the engine, the containers with their limits, the userland proxy, the engine's rules) to a
 * path description, for a plan with Docker steps. */
struct cJSON;
void nb_docker_describe(const struct nb_plan *p, struct cJSON *o);

/* describe.c */
char *nb_describe(const struct nb_plan *p);

#define nb_err(err, errlen, ...)                                                                             \
	do {                                                                                                 \
		if ((err) && (errlen))                                                                       \
			snprintf((err), (errlen), __VA_ARGS__);                                              \
	} while (0)

#endif
