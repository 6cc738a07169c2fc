/* SPDX-License-Identifier: MIT */
/*
 * The routes through one interface (route.c), for --wire: recorded as the kernel dumps them and put back
 * through libnl's route object. Part of an interface's whole state (nicstate.h). Everything acts in the
 * calling thread's network namespace.
 */
#ifndef NB_TOPO_ROUTE_H
#define NB_TOPO_ROUTE_H

#include <stddef.h>
#include <stdint.h>

struct nl_sock;

#define NIC_MAX_ROUTES 32
#define NIC_ROUTE_MAX  512 /* bytes of one route's message (struct rtmsg and its attributes) */

/* A route through the interface as the kernel dumps it: struct rtmsg and its attributes. */
struct nic_route {
	int family;
	uint32_t table;
	char dst[64]; /* for people: the state file names it */
	uint32_t len;
	uint8_t msg[NIC_ROUTE_MAX];
};

/* The routes through ifindex that the kernel would not make again by itself, at most NIC_MAX_ROUTES into
 * out; -E2BIG when they do not fit. */
int nb_route_save(struct nl_sock *sk, int ifindex, struct nic_route *out, size_t *n);
/* Puts the n routes r back with their nexthops on from (the interface's index when recorded) moved to
 * ifindex (its index now); one that is there already counts as done. The last error. */
int nb_route_restore(struct nl_sock *sk, int from, int ifindex, const struct nic_route *r, size_t n);

#endif
