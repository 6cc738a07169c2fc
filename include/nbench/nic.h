/* SPDX-License-Identifier: MIT */
/*
 * What an interface is and what it counted: its identity (driver, versions, bus, link speed, as `ethtool -i`
 * and `ethtool` say) and its counters (the kernel's link stats64 and the driver's own, `ethtool -S`), read in
 * any network namespace without moving the caller there. A run snapshots its path's interfaces when the
 * measured window opens and when it closes; the report carries the difference.
 */
#ifndef NBENCH_NIC_H
#define NBENCH_NIC_H

#include <stdbool.h>
#include <stdint.h>

#define NB_NIC_NAME_MAX 48 /* a counter's name: ETH_GSTRING_LEN (32) plus the "driver." prefix */

/* The identity of one interface. Strings are "" when the driver does not say. */
struct nb_nic_id {
	char name[16];
	char netns[64]; /* as given: "" this namespace, a /run/netns name, or a path */
	char driver[32];
	char driver_version[32];
	char firmware[32];
	char bus[32];
	int64_t speed_mbps; /* -1: unknown (veth, a link that is down) */
	char duplex[8];	    /* "full", "half", "" unknown */
};

/* A counter: a link stat ("rx_dropped") or, prefixed "driver.", one of the driver's
 * ("driver.rx_queue_0_xdp_drops"); in a delta, value is b - a (a counter that went back counts as negative).
 */
struct nb_nic_counter {
	char name[NB_NIC_NAME_MAX];
	int64_t value;
};

/* The counters of one interface at one moment, or the difference of two such moments. */
struct nb_nic_snap {
	struct nb_nic_counter *c; /* owned */
	unsigned n;
};

struct nb_nic; /* an open interface: sockets made inside its namespace */

/* Opens ifname in netns: NULL or "" is the caller's namespace, a name is /run/netns/NAME, a path starting
 * with '/' (/proc/PID/ns/net) is used as it is. The namespace is entered by a short-lived thread only;
 * the sockets it makes there keep reading that namespace. 0 or -errno (-ENODEV: no such interface). */
int nb_nic_open(const char *netns, const char *ifname, struct nb_nic **ret);
/* Closes n; NULL is fine. */
void nb_nic_close(struct nb_nic *n);

/* Fills id (ETHTOOL_GDRVINFO, ETHTOOL_GLINKSETTINGS falling back to ETHTOOL_GSET). What the driver does not
 * support stays unknown; 0 or -errno only when the interface is gone. */
int nb_nic_identify(struct nb_nic *n, struct nb_nic_id *id);
/* Reads every counter into s (replacing what it held): link stats64 over rtnetlink, then the driver's
 * (ETHTOOL_GSSET_INFO/GSTRINGS/GSTATS) when it has any. 0 or -errno. */
int nb_nic_snapshot(struct nb_nic *n, struct nb_nic_snap *s);
/* d = b - a for the counters that changed, in b's order (a counter only in b counts from 0). d may not be a
 * or b; what it held is replaced. 0 or -ENOMEM. */
int nb_nic_delta(const struct nb_nic_snap *a, const struct nb_nic_snap *b, struct nb_nic_snap *d);
void nb_nic_snap_free(struct nb_nic_snap *s);

/* Whether a counter of this name counts dropped (drop, discard, missed, nohandler) or failed (err) packets.
 */
bool nb_nic_counter_is_drop(const char *name);
bool nb_nic_counter_is_error(const char *name);

/* The interface the route to host (a name or address) leaves by, in the caller's namespace ("lo" for a
 * local address). 0 or -errno. */
int nb_nic_route_iface(const char *host, char *ifname, unsigned len);

/* ---- watching a run's interfaces over its measured window ---- */

/* An interface of a path: where it lives and its name. */
struct nb_nic_ref {
	char netns[64]; /* as nb_nic_open takes it */
	char ifname[16];
};

/* Whether name could be an interface's (the kernel's dev_valid_name): 1 to 15 printable ASCII characters, no
 * '/', ':' or blank, not "." or "..". */
bool nb_nic_name_valid(const char *name);

/* "[NETNS:]IF" (nbench serve --nic) into ret: NETNS as nb_nic_open takes it, cut at the last ':' (an
 * interface name has none). 0, or -EINVAL (no name, a name of 16 characters or more or with '/', ':' or a
 * blank, a namespace of 64 or more). */
int nb_nic_ref_parse(const char *s, struct nb_nic_ref *ret);

struct nb_nic_watch;

/* Opens and identifies the n interfaces; one that cannot be opened is left out (its reason goes nowhere: a
 * report without it says the same). 0 or -ENOMEM. */
int nb_nic_watch_new(const struct nb_nic_ref *ifs, unsigned n, struct nb_nic_watch **ret);
/* Snapshots every interface: at the measured window's start (end false) and end (true). Shaped as
 * nb_run_hooks' window callback, w being its arg. */
void nb_nic_watch_window(void *w, bool end);
/* Calls fn(arg, id, delta) for each interface w holds, in order: delta the counters that changed in the
 * window, NULL when both snapshots were not taken. Returns fn's first non-zero return (and stops there),
 * -ENOMEM, or 0. */
int nb_nic_watch_each(const struct nb_nic_watch *w,
		      int (*fn)(void *arg, const struct nb_nic_id *id, const struct nb_nic_snap *delta),
		      void *arg);
/* Closes everything; NULL is fine. */
void nb_nic_watch_free(struct nb_nic_watch *w);

#endif
