/* SPDX-License-Identifier: MIT */
/*
 * Paths as data: a path is a list of steps (netns, veth, bridge, address, route, sysctl, nft ruleset,
 * sandbox) plus its two endpoints and the address:port the client dials. Applied through libnl-3 and
 * libnftables; the same list renders as an iproute2 + nft script. Nothing here knows about measurement.
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

#define NB_TOPO_PREFIX "nb"

struct nb_topo; /* a built (or found) instance of a path */

/* Builds path kind ("loopback", "native", "host", "bridge", "nat") under instance name (NULL: a fresh
 * unique name). Every step registers its undo before the next; on failure everything done is undone.
 * 0 or -errno with a one-line message in err. */
int nb_topo_up(const char *kind, const char *name, struct nb_topo **ret, char *err, size_t errlen);

/* Finds an instance that is up (nbench topo up), for --topo NAME. */
int nb_topo_open(const char *name, struct nb_topo **ret, char *err, size_t errlen);

/* Tears the instance down (idempotent) and frees t. Only frees when the instance was opened, not built,
 * unless destroy is true. */
int nb_topo_down(struct nb_topo *t, bool destroy);

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

/* `nbench topo ...` : the CLI of this module. Returns the exit status. */
int nb_topo_cli(int argc, char **argv);

#endif
