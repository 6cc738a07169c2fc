/* SPDX-License-Identifier: MIT */
/*
 * Paths as data: a path is a list of steps (netns, veth, bridge, address, route, sysctl, nft ruleset,
 * sandbox cgroup, tap, and for the VM paths the guest and its vhost-user backend) plus its two endpoints and
 * the address:port the client dials. Each kind is a row of one table (topo/plan.c): the kind it extends and
 * what it adds. Applied through libnl-3, libnftables and qemu; the same list renders as a shell script
 * (iproute2, nft, qemu). Nothing here knows about measurement.
 *
 * CONTRACT used by the measurement side (cli/run.c). The topo owner may add to this header freely but keeps
 * these functions and their meaning.
 */
#ifndef NBENCH_TOPO_H
#define NBENCH_TOPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nbench/cfg.h"
#include "nbench/nic.h"

#define NB_TOPO_PREFIX "nb"
/* Instance names are [a-z0-9-], start with a letter or digit, and are at most this long, so that link
 * names "nb-<name>-r" fit IFNAMSIZ (15 characters). */
#define NB_TOPO_NAME_MAX 10

struct nb_topo; /* a built (or found) instance of a path */

/* Settings of a path beyond its kind. Zero fields take the defaults. */
struct nb_topo_opts {
	uint16_t server_port;  /* where the responder listens; default NB_DEFAULT_PORT */
	uint16_t publish_port; /* nat: the host port published to the server port (`docker run -p`);
				  default server_port */
	/* --wire IF_A,IF_B: two interfaces of this host become the wire instead of a veth pair: IF_B the
	 * client's side ("remote"), IF_A the server's ("host"). "" : the veth pair. Their state is recorded
	 * in the state file before anything is done and restored by the teardown. */
	char wire_a[16], wire_b[16];
	double wire_rate_bps; /* --wire-rate: a tbf on each end of the wire, so each direction runs at most
				 this many bits/s; 0: not shaped */
	bool force;	      /* take wire interfaces that fail the checks (default route, enslaved, down) */
	/* The server half only, for a client on another host (`nbench serve --paths`): no "remote" namespace
	 * and no wire; "host" is the calling process's own network namespace (the host's real interfaces),
	 * where the bridge, its veth end, the nft table and ip_forward go, all under nbench's names. */
	bool half;
	uint8_t subnet;	    /* half: the container network is 172.31.<subnet>.0/24 (0: 77) */
	char dial_addr[48]; /* half: the address the client dialed: native and host listen there, nat
			     * publishes the port on it alone; client_half: the server's address */
	char peer_addr[48]; /* half of an overlay: the client's address, the other end of the tunnel */
	/* The client's half of a remote overlay: its bridge, VXLAN device (to dial_addr) and a namespace for
	 * the generator, 172.31.<subnet>.3, in this network namespace. */
	bool client_half;
	/* A kind that builds in this network namespace (the Docker paths): its /24s are 10.77.<host_net> and
	 * 172.31.<host_net> (0: nb_topo_up_ex picks a free pair). */
	uint8_t host_net;
};

/* Builds path kind (one of nb_topo_kinds()) under instance name (NULL: a fresh
 * unique name). Every step registers its undo before the next; on failure everything done is undone.
 * 0 or -errno with a one-line message in err. */
int nb_topo_up(const char *kind, const char *name, struct nb_topo **ret, char *err, size_t errlen);

/* nb_topo_up with settings (opts may be NULL). Blocks SIGINT/SIGTERM/SIGHUP/SIGQUIT of the calling
 * thread while it builds and checks for them between steps: a pending one unwinds everything and returns
 * -EINTR (the signal is delivered when the mask is restored). The environment variable
 * NBENCH_TOPO_FAIL_AT=<step>[:<errno name>] injects a failure before that step, and
 * NBENCH_TOPO_STEP_DELAY_MS=<ms> sleeps after each step (tests of failure and interruption). */
int nb_topo_up_ex(const char *kind, const char *name, const struct nb_topo_opts *opts, struct nb_topo **ret,
		  char *err, size_t errlen);

/* For a half (nb_topo_opts.half): a container subnet 172.31.N.0/24 that no route or address of this network
 * namespace overlaps and no other instance uses (N in 77..254): 0 with *ret_subnet, or -EADDRNOTAVAIL. */
int nb_topo_half_subnet(uint8_t *ret_subnet, char *err, size_t errlen);
/* The client's half of a remote bridge path: a route to net (CIDR) via gw in this network namespace, added
 * (add) or removed. 0 or -errno with one line in err (-EEXIST: a route to net is there already). */
int nb_topo_client_route(bool add, const char *net, const char *gw, char *err, size_t errlen);
/* How a client reaches the server half of kind on another host (its container subnet, net in the grant):
 * routed via the server (bridge, nat), on the link toward the server (macvlan: the container is a station of
 * that link), or through a tunnel of its own (overlay: nb_topo_opts.client_half). */
enum nb_topo_client_reach { NB_REACH_ROUTED, NB_REACH_ONLINK, NB_REACH_TUNNEL };
enum nb_topo_client_reach nb_topo_kind_client_reach(const char *kind);
/* nb_topo_client_route without a gateway: net on the link by which toward is reached (scope link). */
int nb_topo_client_route_onlink(bool add, const char *net, const char *toward, char *err, size_t errlen);
/* Waits until the responder of t's server end accepts TCP connections on its address and port, from inside
 * its network namespace (a container on a macvlan or an overlay is not reachable from its own host). 0, or
 * -ETIMEDOUT after timeout_ns. */
int nb_topo_wait_server(const struct nb_topo *t, int64_t timeout_ns);
/* Removes the client routes to remote halves left in this namespace by clients that were killed (the routes
 * nb_topo_client_route adds, found by nbench's routing protocol number); how many into *ret_n. 0 or -errno.
 * Called by nb_topo_down_all. */
int nb_topo_client_routes_sweep(size_t *ret_n);

/* Finds an instance that is up (nbench topo up), for --topo NAME. */
int nb_topo_open(const char *name, struct nb_topo **ret, char *err, size_t errlen);

/* Tears the instance down (idempotent) and frees t. Only frees when the instance was opened, not built,
 * unless destroy is true; either way the server processes this handle spawned are stopped and reaped. */
int nb_topo_down(struct nb_topo *t, bool destroy);

/* Frees t and touches nothing: the instance and any processes this handle started keep running (they
 * are on record in the state file, so `nbench topo down` stops them later). */
void nb_topo_close(struct nb_topo *t);

const char *nb_topo_name(const struct nb_topo *t);
const char *nb_topo_kind(const struct nb_topo *t);

/* Where the client dials (for nat: the host's wire address and the published port). */
const char *nb_topo_dial_addr(const struct nb_topo *t);
uint16_t nb_topo_dial_port(const struct nb_topo *t);
/* The address and port the responder listens on inside its endpoint. */
const char *nb_topo_server_addr(const struct nb_topo *t);
uint16_t nb_topo_server_port(const struct nb_topo *t);

/* Moves the calling thread into the client endpoint's network namespace (threads it creates afterwards
 * inherit it). */
int nb_topo_enter_client(const struct nb_topo *t);

/* Forks and execs argv inside the server endpoint (its netns; for "host" also new mount/pid/uts namespaces
 * and a cgroup of nbench's). Returns the child pid (> 0) or -errno. The process is killed and reaped by
 * nb_topo_down. */
pid_t nb_topo_spawn_server(struct nb_topo *t, char *const argv[]);

/* The path's configuration as JSON text (malloc'd): per interface MTU, TSO/GSO/GRO, qdisc; conntrack
 * state; the nft ruleset in force. NULL on error. */
char *nb_topo_describe_json(const struct nb_topo *t);

/* The interfaces the path built (veth ends, bridge, taps), each with its netns: up to max into out; returns
 * how many. Their identity and counters go into every report of a run on the path. */
unsigned nb_topo_interfaces(const struct nb_topo *t, struct nb_nic_ref *out, unsigned max);

/* Whether kind names a path this build knows (one of nb_topo_kinds()). */
bool nb_topo_kind_valid(const char *kind);
/* The path kinds, NULL-terminated, in README's order: each extends one before it. The list lives in one
 * table (topo/plan.c); help texts and messages take it from here. */
const char *const *nb_topo_kinds(void);
/* The kind that kind extends: kind adds one hop to it (compare's hop delta is kind minus it). NULL for the
 * floor ("loopback") and for an unknown kind. */
const char *nb_topo_kind_parent(const char *kind);
/* The kinds separated by sep, as much as fits into buf (len > 0); returns buf. */
const char *nb_topo_kinds_join(char *buf, size_t len, const char *sep);
/* 0 if name is a valid instance name, else -EINVAL with the reason in err. */
int nb_topo_name_check(const char *name, char *err, size_t errlen);

/* The steps of path kind for instance name as a runnable bash script of iproute2 and nft commands
 * (malloc'd in *ret). name NULL: a fresh name. Needs no privileges. */
int nb_topo_script(const char *kind, const char *name, const struct nb_topo_opts *opts, char **ret, char *err,
		   size_t errlen);

/* Netns names of the two ends, e.g. "nb-x1-remote" and "nb-x1-ctr". */
const char *nb_topo_client_netns(const struct nb_topo *t);
const char *nb_topo_server_netns(const struct nb_topo *t);
/* The processes the instance started and still records (responder, qemu, testpmd) and, for a Docker path, its
 * containers' first processes and the engine's userland proxy of its port: up to max pids into out; returns
 * how many. Their CPU is the path's, not a disturbance, even when this process did not start them. */
unsigned nb_topo_pids(const struct nb_topo *t, pid_t *out, unsigned max);

/* One instance found on the machine: from its state file, or (orphan) from namespaces and cgroups that
 * follow nbench's naming pattern only. */
struct nb_topo_info {
	char name[NB_TOPO_NAME_MAX + 1];
	char kind[16];	/* "" for an orphan */
	bool has_state; /* a state file exists */
	bool complete;	/* nb_topo_up finished */
	char client_netns[32];
	char server_netns[32];
	char dial_addr[48];
	uint16_t dial_port;
	char server_addr[48];
	uint16_t server_port;
	unsigned nprocs; /* spawned server processes recorded */
};

/* Every instance found (sorted by name); *ret is malloc'd. A state folder that fails its check (not
 * root's, writable by others, a symlink) is refused: -errno with one line into err. */
int nb_topo_list(struct nb_topo_info **ret, size_t *ret_n, char *err, size_t errlen);

/* Tears down the instance called name, from its state file or, without one, by nbench's naming pattern
 * (netns nb-<name>-{remote,host,ctr}, cgroup nbench-<name>). -ENOENT if nothing of it exists. */
int nb_topo_down_name(const char *name, char *err, size_t errlen);

/* Tears down every instance nb_topo_list finds; the number torn down goes to *ret_n. */
int nb_topo_down_all(size_t *ret_n, char *err, size_t errlen);

/* ---- knobs of a sweep (topo/knob.c) ---- */
#define NB_KNOB_MAX_IFS 8
struct nb_knob_guard; /* the recorded state of some interfaces, on file until released */

/* The knob names, ", "-separated, into buf; returns buf. */
const char *nb_knob_names(char *buf, size_t len);
/* 0 if value is valid for knob (on|off, a number, noqueue|pfifo[:LIMIT]|tbf:RATE), else -EINVAL with one
 * line in err. */
int nb_knob_check(const char *knob, const char *value, char *err, size_t errlen);
/* The two ends of the path's wire (its --wire interfaces, else its first veth pair): up to max into out. */
unsigned nb_topo_wire_ifs(const struct nb_topo *t, struct nb_nic_ref *out, unsigned max);
/* Records the whole state of ifs (nicstate) in /run/nbench/sweep/<pid>.json before returning, so
 * nb_topo_down_all puts them back after a kill -9. 0 or -errno with one line in err. */
int nb_knob_record(const struct nb_nic_ref *ifs, unsigned n, struct nb_knob_guard **ret, char *err,
		   size_t errlen);
/* Sets knob=value on interface i of g (ethtool ioctl, rtnetlink; read back where it can be). 0, or -errno
 * with "KNOB: refused by DRIVER (ERRNO)" in why. */
int nb_knob_apply(struct nb_knob_guard *g, unsigned i, const char *knob, const char *value, char *why,
		  size_t whylen);
/* Puts every interface of g back as recorded, where it differs; the first error. */
int nb_knob_restore(struct nb_knob_guard *g);
/* nb_knob_restore, then removes the file and frees g (NULL is fine). */
int nb_knob_release(struct nb_knob_guard *g);
/* Restores the interfaces recorded by sweeps whose process is gone, and removes their files; how many into
 * *ret_n. Called by nb_topo_down_all before it tears paths down. */
int nb_knob_restore_orphans(size_t *ret_n, char *err, size_t errlen);

#endif
