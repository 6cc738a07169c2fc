/* SPDX-License-Identifier: MIT */
/*
 * The tc of one interface (tc.c): its qdiscs, classes and filters, recorded as the kernel dumps them and
 * replayed as they were; the programs of its eBPF filters kept alive while the record may be replayed;
 * the tbf of --wire-rate and of a qdisc sweep. Part of an interface's whole state (nicstate.h). Everything
 * acts in the calling thread's network namespace.
 */
#ifndef NB_TOPO_TC_H
#define NB_TOPO_TC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nl_sock;

#define NIC_MAX_TC	16   /* qdiscs and classes */
#define NIC_MAX_FILTERS 16   /* tc filters (a u32 hash table counts as one) */
#define NIC_TC_OPTS_MAX 2048 /* bytes of one TCA_OPTIONS (a filter's carries its actions) */

/* A qdisc, class or filter as the kernel dumps it: the header and TCA_KIND/TCA_OPTIONS (a filter's chain
 * too), replayed verbatim. */
struct nic_tc {
	bool is_class;
	uint32_t handle, parent;
	uint32_t info;	/* a filter's tcm_info: its priority << 16 | its protocol (network order) */
	uint32_t chain; /* a filter's chain */
	char kind[16];
	uint8_t opts[NIC_TC_OPTS_MAX];
	uint32_t optlen;
};

/* The qdiscs, then the classes, of ifindex that the kernel did not make by default (handle 0), at most
 * NIC_MAX_TC into out; -E2BIG when they do not fit. */
int nb_tc_save(struct nl_sock *sk, int ifindex, struct nic_tc *out, size_t *n);
/* One RTM_NEW* / RTM_DEL* for a qdisc, class or filter; o->opts (o->optlen bytes) is TCA_OPTIONS'
 * payload. */
int nb_tc_send(struct nl_sock *sk, int type, int flags, int ifindex, const struct nic_tc *o);
/* The tbf of --wire-rate (and of a qdisc sweep) at rate_bps: its bucket and its queue, bytes. */
void nb_tc_tbf_size(double rate_bps, uint32_t *ret_burst, uint32_t *ret_limit);
/* o's kind and options: that tbf. */
void nb_tc_tbf_opts(double rate_bps, struct nic_tc *o);
/* Replays the n qdiscs and classes of tc over those of ifindex unless they are the same already. */
int nb_tc_restore(struct nl_sock *sk, int ifindex, const struct nic_tc *tc, size_t n);
/* The filters of every qdisc and class of tc (ntc of them, from nb_tc_save) on ifindex, clsact's and
 * ingress's included, at most NIC_MAX_FILTERS into out; -E2BIG when they do not fit. */
int nb_tc_filters_save(struct nl_sock *sk, int ifindex, const struct nic_tc *tc, size_t ntc,
		       struct nic_tc *out, size_t *n);
/* Replays the n filters f of interface ifname on ifindex (after nb_tc_restore); one that is there already
 * counts as done. */
int nb_tc_filters_restore(struct nl_sock *sk, int ifindex, const char *ifname, const struct nic_tc *f,
			  size_t n);
/* Keeps the program of every eBPF filter of f (n of interface ifname) alive, pinned under /sys/fs/bpf/nbench,
 * for as long as the record may be replayed: the filter, its only holder, dies with the port's move. 0 or
 * -errno (-ENOMEDIUM: no bpf filesystem at /sys/fs/bpf) with the program's id in ret_id. */
int nb_tc_keep(const char *ifname, const struct nic_tc *f, size_t n, uint32_t *ret_id);
/* The record is done with: its programs' pins go. */
void nb_tc_forget(const char *ifname, const struct nic_tc *f, size_t n);

#endif
