/* SPDX-License-Identifier: MIT */
/*
 * The qdiscs and classes of one interface (nicstate.h), raw: recorded as the kernel dumps them (the tcmsg
 * header, TCA_KIND and TCA_OPTIONS) and replayed as they were, so nbench needs to know no qdisc's options.
 * Also the tbf of --wire-rate and of a qdisc sweep, written as the kernel would dump it.
 */
#include <errno.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>

#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "nicstate.h"
#include "topo_int.h"

#define NIC_BURST_MS  2		  /* tbf bucket: 2 ms at the rate (2.5 MB at 10G) */
#define NIC_LIMIT_MS  2		  /* tbf queue beyond the bucket: 2 ms more at most, when saturated */
#define NIC_BURST_MIN (2 * 65536) /* two 64 KiB GSO super-packets, whatever the rate */

struct tc_dump {
	int ifindex;
	bool is_class;
	struct nic_tc *out;
	size_t *n;
};

static int tc_dump_one(struct nl_msg *msg, void *arg)
{
	struct tc_dump *d = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct tcmsg *t = nlmsg_data(h);
	struct nlattr *tb[TCA_MAX + 1];
	struct nic_tc *o;

	if (nlmsg_parse(h, sizeof(*t), tb, TCA_MAX, NULL) < 0 || !tb[TCA_KIND])
		return NL_OK;
	/* handle 0: the kernel's default (noqueue, pfifo_fast, mq and its children), back by itself */
	if (t->tcm_ifindex != d->ifindex || !TC_H_MAJ(t->tcm_handle) || *d->n >= NIC_MAX_TC)
		return NL_OK;
	o = &d->out[(*d->n)++];
	memset(o, 0, sizeof(*o));
	o->is_class = d->is_class;
	o->handle = t->tcm_handle;
	o->parent = t->tcm_parent;
	nla_strlcpy(o->kind, tb[TCA_KIND], sizeof(o->kind));
	if (tb[TCA_OPTIONS] && (size_t)nla_len(tb[TCA_OPTIONS]) <= sizeof(o->opts)) {
		o->optlen = (uint32_t)nla_len(tb[TCA_OPTIONS]);
		memcpy(o->opts, nla_data(tb[TCA_OPTIONS]), o->optlen);
	}
	return NL_OK;
}

static int tc_dump(struct nl_sock *sk, int ifindex, bool is_class, struct nic_tc *out, size_t *n)
{
	struct tcmsg t = {.tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex};
	struct tc_dump d = {.ifindex = ifindex, .is_class = is_class, .out = out, .n = n};
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int r;

	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, tc_dump_one, &d);
	r = nl_send_simple(sk, is_class ? RTM_GETTCLASS : RTM_GETQDISC, NLM_F_DUMP, &t, sizeof(t));
	if (r >= 0)
		r = nl_recvmsgs(sk, cb);
	nl_cb_put(cb);
	return r < 0 ? nb_nl_err(r) : 0;
}

/* The qdiscs, then the classes, of ifindex that nbench did not find there by default. */
int nb_tc_save(struct nl_sock *sk, int ifindex, struct nic_tc *out, size_t *n)
{
	int r;

	*n = 0;
	r = tc_dump(sk, ifindex, false, out, n);
	return r ? r : tc_dump(sk, ifindex, true, out, n);
}

/* One RTM_NEW* / RTM_DEL* for a qdisc or class; opts (optlen bytes) is TCA_OPTIONS' payload. */
int nb_tc_send(struct nl_sock *sk, int type, int flags, int ifindex, const struct nic_tc *o)
{
	struct tcmsg t = {.tcm_family = AF_UNSPEC,
			  .tcm_ifindex = ifindex,
			  .tcm_handle = o->handle,
			  .tcm_parent = o->parent};
	struct nl_msg *msg = nlmsg_alloc_simple(type, flags);

	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, &t, sizeof(t), NLMSG_ALIGNTO) < 0 ||
	    (*o->kind && nla_put_string(msg, TCA_KIND, o->kind) < 0) ||
	    (o->optlen && nla_put(msg, TCA_OPTIONS, (int)o->optlen, o->opts) < 0)) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	return nb_nl_err(nl_send_sync(sk, msg));
}

void nb_tc_tbf_size(double rate_bps, uint32_t *ret_burst, uint32_t *ret_limit)
{
	double burst = rate_bps / 8 * NIC_BURST_MS / 1000;

	if (burst < NIC_BURST_MIN)
		burst = NIC_BURST_MIN;
	*ret_burst = (uint32_t)burst;
	*ret_limit = (uint32_t)(burst + rate_bps / 8 * NIC_LIMIT_MS / 1000);
}

/* What the kernel would dump for our tbf: TCA_TBF_PARMS, the 64-bit rate, the bucket in bytes (so
 * max_size is the bucket and a 64 KiB GSO packet passes whole rather than being segmented). */
void nb_tc_tbf_opts(double rate_bps, struct nic_tc *o)
{
	struct tc_tbf_qopt q = {0};
	uint64_t rate = (uint64_t)(rate_bps / 8);
	uint32_t burst, limit;
	struct nlattr *a;
	uint8_t *p = o->opts;

	nb_tc_tbf_size(rate_bps, &burst, &limit);
	q.rate.rate = rate >= UINT32_MAX ? UINT32_MAX : (uint32_t)rate;
	q.limit = limit;
	/* the bucket in psched ticks (64 ns), as tc computes it; TCA_TBF_BURST below wins anyway */
	q.buffer = (uint32_t)((double)burst * 1e9 / (double)rate / 64);
#define PUT(type, ptr, len)                                                                                  \
	do {                                                                                                 \
		a = (struct nlattr *)p;                                                                      \
		a->nla_type = type;                                                                          \
		a->nla_len = (uint16_t)(NLA_HDRLEN + (len));                                                 \
		memcpy(p + NLA_HDRLEN, ptr, len);                                                            \
		p += NLA_ALIGN(a->nla_len);                                                                  \
	} while (0)
	PUT(TCA_TBF_PARMS, &q, sizeof(q));
	PUT(TCA_TBF_RATE64, &rate, sizeof(rate));
	PUT(TCA_TBF_BURST, &burst, sizeof(burst));
#undef PUT
	o->optlen = (uint32_t)(p - o->opts);
	snprintf(o->kind, sizeof(o->kind), "tbf");
}

static bool tc_has_class(struct nl_sock *sk, int ifindex, uint32_t handle)
{
	struct nic_tc now[NIC_MAX_TC];
	size_t n = 0;

	if (tc_dump(sk, ifindex, true, now, &n))
		return false;
	for (size_t i = 0; i < n; i++)
		if (now[i].handle == handle)
			return true;
	return false;
}

/* Replays the saved qdiscs and classes over what is there now, unless it is the same already: a parent
 * before its children, so in rounds until nothing more goes in. */
int nb_tc_restore(struct nl_sock *sk, int ifindex, const struct nic_state *n)
{
	struct nic_tc now[NIC_MAX_TC];
	bool done[NIC_MAX_TC] = {0}, progress = true;
	size_t nnow = 0, left = n->ntc;
	int r = nb_tc_save(sk, ifindex, now, &nnow);

	if (r)
		return r;
	if (nnow == n->ntc) {
		bool same = true;

		for (size_t i = 0; i < nnow && same; i++)
			same = now[i].handle == n->tc[i].handle && now[i].parent == n->tc[i].parent &&
			       !strcmp(now[i].kind, n->tc[i].kind) && now[i].optlen == n->tc[i].optlen &&
			       !memcmp(now[i].opts, n->tc[i].opts, now[i].optlen);
		if (same)
			return 0;
	}
	for (size_t i = 0; i < nnow; i++) /* deleting a root or ingress qdisc takes its tree along */
		if (!now[i].is_class && (now[i].parent == TC_H_ROOT || now[i].parent == TC_H_INGRESS))
			nb_tc_send(sk, RTM_DELQDISC, 0, ifindex,
				   &(struct nic_tc){.handle = now[i].handle, .parent = now[i].parent});
	r = 0;
	while (left && progress) {
		progress = false;
		for (size_t i = 0; i < n->ntc; i++) {
			const struct nic_tc *o = &n->tc[i];

			if (done[i])
				continue;
			r = nb_tc_send(sk, o->is_class ? RTM_NEWTCLASS : RTM_NEWQDISC,
				       NLM_F_CREATE | NLM_F_EXCL, ifindex, o);
			if (r && o->is_class && tc_has_class(sk, ifindex, o->handle))
				r = 0; /* a class its qdisc makes itself (tbf's, prio's) */
			if (!r || r == -EEXIST) {
				done[i] = progress = true;
				left--;
				r = 0;
			}
		}
	}
	return r;
}
