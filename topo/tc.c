/* SPDX-License-Identifier: MIT */
/*
 * The qdiscs, classes and filters of one interface (tc.h), raw: recorded as the kernel dumps them
 * (the tcmsg header, TCA_KIND, TCA_OPTIONS and a filter's chain) and replayed as they were, so nbench needs
 * to know no qdisc's or classifier's options (a filter's actions ride inside them, with their indexes).
 * Also the tbf of --wire-rate and of a qdisc sweep, written as the kernel would dump it.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "tc.h"
#include "topo_int.h"

#define NIC_BURST_MS  2		  /* tbf bucket: 2 ms at the rate (2.5 MB at 10G) */
#define NIC_LIMIT_MS  2		  /* tbf queue beyond the bucket: 2 ms more at most, when saturated */
#define NIC_BURST_MIN (2 * 65536) /* two 64 KiB GSO super-packets, whatever the rate */

/* One dump: qdiscs, classes, or the filters of one parent. */
struct tc_dump {
	int type; /* RTM_GETQDISC, RTM_GETTCLASS or RTM_GETTFILTER */
	int ifindex;
	struct nic_tc *out;
	size_t *n, max;
	int err; /* -E2BIG: more of them, or a larger one, than nbench records */
};

static int tc_dump_one(struct nl_msg *msg, void *arg)
{
	struct tc_dump *d = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct tcmsg *t = nlmsg_data(h);
	struct nlattr *tb[TCA_MAX + 1];
	struct nic_tc *o;

	if (nlmsg_parse(h, sizeof(*t), tb, TCA_MAX, NULL) < 0 || !tb[TCA_KIND] ||
	    t->tcm_ifindex != d->ifindex)
		return NL_OK;
	/* handle 0: for a qdisc or class the kernel's default (noqueue, pfifo_fast, mq and its children),
	 * back by itself; for a filter the line that names its classifier, made with its first filter */
	if (d->type == RTM_GETTFILTER ? !t->tcm_handle : !TC_H_MAJ(t->tcm_handle))
		return NL_OK;
	if (*d->n >= d->max || (tb[TCA_OPTIONS] && (size_t)nla_len(tb[TCA_OPTIONS]) > sizeof(o->opts))) {
		d->err = -E2BIG;
		return NL_OK;
	}
	o = &d->out[(*d->n)++];
	memset(o, 0, sizeof(*o));
	o->is_class = d->type == RTM_GETTCLASS;
	o->handle = t->tcm_handle;
	o->parent = t->tcm_parent;
	if (d->type == RTM_GETTFILTER) {
		o->info = t->tcm_info;
		o->chain = tb[TCA_CHAIN] ? nla_get_u32(tb[TCA_CHAIN]) : 0;
	}
	nla_strlcpy(o->kind, tb[TCA_KIND], sizeof(o->kind));
	if (tb[TCA_OPTIONS]) {
		o->optlen = (uint32_t)nla_len(tb[TCA_OPTIONS]);
		memcpy(o->opts, nla_data(tb[TCA_OPTIONS]), o->optlen);
	}
	return NL_OK;
}

/* Dump d (parent: a filter dump's qdisc or class), appended to d->out. */
static int tc_dump(struct nl_sock *sk, struct tc_dump *d, uint32_t parent)
{
	struct tcmsg t = {.tcm_family = AF_UNSPEC, .tcm_ifindex = d->ifindex, .tcm_parent = parent};
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int r;

	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, tc_dump_one, d);
	r = nl_send_simple(sk, d->type, NLM_F_DUMP, &t, sizeof(t));
	if (r >= 0)
		r = nl_recvmsgs(sk, cb);
	nl_cb_put(cb);
	return r < 0 ? nb_nl_err(r) : d->err;
}

/* The qdiscs, then the classes, of ifindex that nbench did not find there by default. */
int nb_tc_save(struct nl_sock *sk, int ifindex, struct nic_tc *out, size_t *n)
{
	struct tc_dump d = {.type = RTM_GETQDISC, .ifindex = ifindex, .out = out, .n = n, .max = NIC_MAX_TC};
	int r;

	*n = 0;
	r = tc_dump(sk, &d, 0);
	d.type = RTM_GETTCLASS;
	return r ? r : tc_dump(sk, &d, 0);
}

/* One RTM_NEW* / RTM_DEL* for a qdisc, class or filter; opts (optlen bytes) is TCA_OPTIONS' payload. */
int nb_tc_send(struct nl_sock *sk, int type, int flags, int ifindex, const struct nic_tc *o)
{
	struct tcmsg t = {.tcm_family = AF_UNSPEC,
			  .tcm_ifindex = ifindex,
			  .tcm_handle = o->handle,
			  .tcm_parent = o->parent,
			  .tcm_info = o->info};
	struct nl_msg *msg = nlmsg_alloc_simple(type, flags);
	bool filter = type == RTM_NEWTFILTER || type == RTM_DELTFILTER;

	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, &t, sizeof(t), NLMSG_ALIGNTO) < 0 ||
	    (*o->kind && nla_put_string(msg, TCA_KIND, o->kind) < 0) ||
	    (filter && nla_put_u32(msg, TCA_CHAIN, o->chain) < 0) ||
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
	struct tc_dump d = {
	    .type = RTM_GETTCLASS, .ifindex = ifindex, .out = now, .n = &n, .max = NIC_MAX_TC};

	if (tc_dump(sk, &d, 0))
		return false;
	for (size_t i = 0; i < n; i++)
		if (now[i].handle == handle)
			return true;
	return false;
}

/* Replays the saved qdiscs and classes over what is there now, unless it is the same already: a parent
 * before its children, so in rounds until nothing more goes in. */
int nb_tc_restore(struct nl_sock *sk, int ifindex, const struct nic_tc *tc, size_t ntc)
{
	struct nic_tc now[NIC_MAX_TC];
	bool done[NIC_MAX_TC] = {0}, progress = true;
	size_t nnow = 0, left = ntc;
	int r = nb_tc_save(sk, ifindex, now, &nnow);

	if (r)
		return r;
	if (nnow == ntc) {
		bool same = true;

		for (size_t i = 0; i < nnow && same; i++)
			same = now[i].handle == tc[i].handle && now[i].parent == tc[i].parent &&
			       !strcmp(now[i].kind, tc[i].kind) && now[i].optlen == tc[i].optlen &&
			       !memcmp(now[i].opts, tc[i].opts, now[i].optlen);
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
		for (size_t i = 0; i < ntc; i++) {
			const struct nic_tc *o = &tc[i];

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

/* ---- filters ---- */

/* Where the filters of qdiscs and classes tc hang: each qdisc and class by its handle, and for an ingress
 * qdisc its ingress side, for clsact both sides (as `tc filter ... ingress|egress` names them; an ingress
 * qdisc shows its one list on either side, so it is asked once). */
static size_t filter_parents(const struct nic_tc *tc, size_t ntc, uint32_t *out, size_t max)
{
	size_t k = 0;

	for (size_t i = 0; i < ntc && k + 2 <= max; i++) {
		const struct nic_tc *t = &tc[i];

		if (t->is_class || t->parent != TC_H_INGRESS) {
			out[k++] = t->handle;
			continue;
		}
		out[k++] = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS);
		if (!strcmp(t->kind, "clsact"))
			out[k++] = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS);
	}
	return k;
}

int nb_tc_filters_save(struct nl_sock *sk, int ifindex, const struct nic_tc *tc, size_t ntc,
		       struct nic_tc *out, size_t *n)
{
	uint32_t parents[2 * NIC_MAX_TC];
	size_t np = filter_parents(tc, ntc, parents, sizeof(parents) / sizeof(parents[0]));
	struct tc_dump d = {
	    .type = RTM_GETTFILTER, .ifindex = ifindex, .out = out, .n = n, .max = NIC_MAX_FILTERS};
	int r = 0;

	*n = 0;
	for (size_t i = 0; i < np && !r; i++)
		r = tc_dump(sk, &d, parents[i]);
	return r;
}

/* ---- the programs of eBPF filters ---- */

/* An eBPF cls_bpf filter names its program by id, and the program lives only as long as something holds
 * it: the filter dies with the port's move, so the record pins the program in a bpf filesystem, the replay
 * hands the pin's fd to the new filter, and nb_tc_forget unpins once the record is done with. */
#define BPF_PIN_DIR "/sys/fs/bpf/nbench"

static int bpf_call(int cmd, union bpf_attr *a)
{
	int r = (int)syscall(__NR_bpf, cmd, a, sizeof(*a));

	return r < 0 ? -errno : r;
}

/* The program id of eBPF filter f (its TCA_BPF_ID), 0 for anything else. */
static uint32_t bpf_prog_id(const struct nic_tc *f)
{
	struct nlattr *a;
	uint32_t id = 0;
	int rem;

	if (strcmp(f->kind, "bpf"))
		return 0;
	nla_for_each_attr(a, (struct nlattr *)f->opts, (int)f->optlen, rem)
	{
		if (nla_type(a) == TCA_BPF_ID && nla_len(a) == sizeof(id))
			id = nla_get_u32(a);
	}
	return id;
}

static void bpf_pin_path(char *buf, size_t len, const char *ifname, const struct nic_tc *f, uint32_t id)
{
	snprintf(buf, len, BPF_PIN_DIR "/%s-%08x-%08x-%u", ifname, f->parent, f->handle, id);
}

static int bpf_keep(const char *ifname, const struct nic_tc *f, uint32_t id)
{
	char path[128];
	struct statfs sf;
	union bpf_attr a = {.prog_id = id};
	int fd, r;

	if (statfs("/sys/fs/bpf", &sf) || sf.f_type != BPF_FS_MAGIC)
		return -ENOMEDIUM;
	if (mkdir(BPF_PIN_DIR, 0700) && errno != EEXIST)
		return -errno;
	fd = bpf_call(BPF_PROG_GET_FD_BY_ID, &a);
	if (fd < 0)
		return fd;
	bpf_pin_path(path, sizeof(path), ifname, f, id);
	memset(&a, 0, sizeof(a));
	a.pathname = (uint64_t)(uintptr_t)path;
	a.bpf_fd = (uint32_t)fd;
	r = bpf_call(BPF_OBJ_PIN, &a);
	close(fd);
	return r == -EEXIST ? 0 : r < 0 ? r : 0; /* EEXIST: an earlier record of the same filter keeps it */
}

int nb_tc_keep(const char *ifname, const struct nic_tc *f, size_t n, uint32_t *ret_id)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t id = bpf_prog_id(&f[i]);
		int r = id ? bpf_keep(ifname, &f[i], id) : 0;

		if (r) {
			*ret_id = id;
			return r;
		}
	}
	return 0;
}

void nb_tc_forget(const char *ifname, const struct nic_tc *f, size_t n)
{
	char path[128];

	for (size_t i = 0; i < n; i++) {
		uint32_t id = bpf_prog_id(&f[i]);

		if (id) {
			bpf_pin_path(path, sizeof(path), ifname, &f[i], id);
			unlink(path);
		}
	}
	rmdir(BPF_PIN_DIR); /* once empty */
}

/* req (a copy of eBPF filter f) as a request: its program by fd (from the pin, else by id while it still
 * lives) in place of the id and tag the kernel dumps. The fd goes to ret_fd, to close after the send. */
static int bpf_request(const char *ifname, const struct nic_tc *f, uint32_t id, struct nic_tc *req,
		       int *ret_fd)
{
	char path[128];
	union bpf_attr a = {0};
	struct nlattr *x;
	uint8_t *p = req->opts;
	int rem, fd;

	bpf_pin_path(path, sizeof(path), ifname, f, id);
	a.pathname = (uint64_t)(uintptr_t)path;
	fd = bpf_call(BPF_OBJ_GET, &a);
	if (fd < 0) {
		memset(&a, 0, sizeof(a));
		a.prog_id = id;
		fd = bpf_call(BPF_PROG_GET_FD_BY_ID, &a);
	}
	if (fd < 0)
		return fd;
	nla_for_each_attr(x, (struct nlattr *)f->opts, (int)f->optlen, rem)
	{
		if (nla_type(x) == TCA_BPF_ID || nla_type(x) == TCA_BPF_TAG || nla_type(x) == TCA_BPF_FD)
			continue;
		memcpy(p, x, (size_t)x->nla_len);
		p += NLA_ALIGN(x->nla_len);
	}
	x = (struct nlattr *)p;
	x->nla_type = TCA_BPF_FD;
	x->nla_len = NLA_HDRLEN + sizeof(uint32_t);
	memcpy(p + NLA_HDRLEN, &(uint32_t){(uint32_t)fd}, sizeof(uint32_t));
	req->optlen = (uint32_t)(p + NLA_ALIGN(x->nla_len) - req->opts);
	*ret_fd = fd;
	return 0;
}

/* The classifiers whose flags attribute carries the kernel's offload status (in_hw, not_in_hw) beside
 * what was asked (skip_hw, skip_sw): a request with a status bit is refused. */
static const struct {
	const char *kind;
	int attr;
} flag_attrs[] = {{"u32", TCA_U32_FLAGS},
		  {"bpf", TCA_BPF_FLAGS_GEN},
		  {"flower", TCA_FLOWER_FLAGS},
		  {"matchall", TCA_MATCHALL_FLAGS}};

/* f (a filter of interface ifname) as a request: its dumped options without the offload status bits, an
 * eBPF program by fd (closed by the caller after the send; -1: none). 0 or -errno. */
static int filter_request(const char *ifname, const struct nic_tc *f, struct nic_tc *ret, int *ret_fd)
{
	uint32_t id = bpf_prog_id(f);
	struct nlattr *a;
	int rem, attr = -1, r;

	*ret = *f;
	*ret_fd = -1;
	if (id && (r = bpf_request(ifname, f, id, ret, ret_fd)))
		return r;
	for (size_t i = 0; i < sizeof(flag_attrs) / sizeof(flag_attrs[0]); i++)
		if (!strcmp(f->kind, flag_attrs[i].kind))
			attr = flag_attrs[i].attr;
	nla_for_each_attr(a, (struct nlattr *)ret->opts, (int)ret->optlen, rem)
	{
		uint32_t *v = nla_data(a);

		if (nla_type(a) == attr && nla_len(a) == sizeof(*v))
			*v &= ~(uint32_t)(TCA_CLS_FLAGS_IN_HW | TCA_CLS_FLAGS_NOT_IN_HW);
	}
	return 0;
}

/* In the order dumped, in rounds: a u32 key that links to a hash table of its own goes in after it. The
 * first of a classifier's entries makes it (a u32's root hash table with it, so replaying that table says
 * it exists). */
int nb_tc_filters_restore(struct nl_sock *sk, int ifindex, const char *ifname, const struct nic_tc *f,
			  size_t n)
{
	bool done[NIC_MAX_FILTERS] = {0}, progress = true;
	size_t left = n;
	struct nic_tc *req = malloc(sizeof(*req));
	int r = 0, fd = -1;

	if (!req)
		return -ENOMEM;
	while (left && progress) {
		progress = false;
		for (size_t i = 0; i < n; i++) {
			if (done[i])
				continue;
			r = filter_request(ifname, &f[i], req, &fd);
			if (!r)
				r = nb_tc_send(sk, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, ifindex, req);
			if (fd >= 0)
				close(fd);
			fd = -1;
			if (!r || r == -EEXIST) {
				done[i] = progress = true;
				left--;
				r = 0;
			}
		}
	}
	free(req);
	return r;
}
