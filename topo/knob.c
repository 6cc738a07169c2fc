/* SPDX-License-Identifier: MIT */
/*
 * Knobs of a sweep: offloads, MTU, rings, channels, coalescing and the root qdisc of interfaces in any
 * namespace, through the ethtool ioctl and rtnetlink. The whole state of every interface is recorded
 * (nicstate.c) into /run/nbench/sweep/<pid>.json before the first change, so a teardown after a kill -9
 * (nb_topo_down_all) puts it back; nb_knob_restore puts back exactly what differs.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "nbench/fsutil.h"
#include "nbench/units.h"
#include "nicstate.h"
#include "topo_int.h"

#define KNOB_DIR "/run/nbench/sweep"

struct nb_knob_guard {
	unsigned n;
	struct nb_nic_ref ifs[NB_KNOB_MAX_IFS];
	struct nic_state saved[NB_KNOB_MAX_IFS];
	char file[64];
};

enum knob_kind { K_FEAT, K_LRO, K_MTU, K_RING, K_CHAN, K_COAL, K_ADAPT, K_QDISC };

static const struct knob {
	const char *name;
	enum knob_kind kind;
	uint32_t get, set; /* the legacy ethtool commands of K_FEAT */
	int field;	   /* which field of rings, channels, coalescing */
} knobs[] = {
    {"tso", K_FEAT, ETHTOOL_GTSO, ETHTOOL_STSO, 0},
    {"gso", K_FEAT, ETHTOOL_GGSO, ETHTOOL_SGSO, 0},
    {"gro", K_FEAT, ETHTOOL_GGRO, ETHTOOL_SGRO, 0},
    {"rx", K_FEAT, ETHTOOL_GRXCSUM, ETHTOOL_SRXCSUM, 0},
    {"tx", K_FEAT, ETHTOOL_GTXCSUM, ETHTOOL_STXCSUM, 0},
    {"lro", K_LRO, 0, 0, 0},
    {"mtu", K_MTU, 0, 0, 0},
    {"rx-ring", K_RING, 0, 0, 0},
    {"tx-ring", K_RING, 0, 0, 1},
    {"combined", K_CHAN, 0, 0, 0},
    {"rx-channels", K_CHAN, 0, 0, 1},
    {"tx-channels", K_CHAN, 0, 0, 2},
    {"rx-usecs", K_COAL, 0, 0, 0},
    {"tx-usecs", K_COAL, 0, 0, 1},
    {"adaptive-rx", K_ADAPT, 0, 0, 0},
    {"adaptive-tx", K_ADAPT, 0, 0, 1},
    {"qdisc", K_QDISC, 0, 0, 0},
};

static const struct knob *knob_find(const char *name)
{
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
		if (!strcmp(knobs[i].name, name))
			return &knobs[i];
	return NULL;
}

const char *nb_knob_names(char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]) && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", knobs[i].name);
	return buf;
}

static bool parse_bool(const char *v, uint32_t *ret)
{
	if (!strcmp(v, "on") || !strcmp(v, "1"))
		*ret = 1;
	else if (!strcmp(v, "off") || !strcmp(v, "0"))
		*ret = 0;
	else
		return false;
	return true;
}

/* qdisc=noqueue|pfifo[:LIMIT]|tbf:RATE into o (kind "" for noqueue). */
static bool parse_qdisc(const char *v, struct nic_tc *o)
{
	uint64_t limit = 1000;
	double rate;

	memset(o, 0, sizeof(*o));
	o->handle = TC_H_MAKE(0x4e420000U, 0);
	o->parent = TC_H_ROOT;
	if (!strcmp(v, "noqueue"))
		return true;
	if (!strncmp(v, "pfifo", 5) &&
	    (!v[5] || (v[5] == ':' && !nb_parse_uint(v + 6, 1, 1u << 24, &limit)))) {
		struct tc_fifo_qopt q = {.limit = (uint32_t)limit};

		snprintf(o->kind, sizeof(o->kind), "pfifo");
		memcpy(o->opts, &q, sizeof(q));
		o->optlen = sizeof(q);
		return true;
	}
	if (!strncmp(v, "tbf:", 4) && !nb_parse_rate(v + 4, &rate) && rate >= NB_WIRE_RATE_MIN_BPS) {
		nb_tc_tbf_opts(rate, o);
		return true;
	}
	return false;
}

static int parse_value(const struct knob *k, const char *v, uint32_t *num, struct nic_tc *tc)
{
	uint64_t u;

	switch (k->kind) {
	case K_FEAT:
	case K_LRO:
	case K_ADAPT:
		return parse_bool(v, num) ? 0 : -EINVAL;
	case K_MTU:
		if (nb_parse_uint(v, 68, 65535, &u))
			return -EINVAL;
		*num = (uint32_t)u;
		return 0;
	case K_QDISC:
		return parse_qdisc(v, tc) ? 0 : -EINVAL;
	default:
		if (nb_parse_uint(v, 0, UINT32_MAX, &u))
			return -EINVAL;
		*num = (uint32_t)u;
		return 0;
	}
}

int nb_knob_check(const char *knob, const char *value, char *err, size_t errlen)
{
	const struct knob *k = knob_find(knob);
	struct nic_tc tc;
	uint32_t num;
	char names[256];

	if (!k) {
		nb_err(err, errlen, "unknown knob '%s' (%s)", knob, nb_knob_names(names, sizeof(names)));
		return -EINVAL;
	}
	if (parse_value(k, value, &num, &tc)) {
		const char *want = k->kind == K_QDISC ? "noqueue, pfifo[:LIMIT] or tbf:RATE (1Mbit or more)"
				   : k->kind == K_MTU ? "a number from 68 to 65535"
				   : (k->kind == K_FEAT || k->kind == K_LRO || k->kind == K_ADAPT)
				       ? "on or off"
				       : "a number";
		nb_err(err, errlen, "%s: '%s' is not %s", knob, value, want);
		return -EINVAL;
	}
	return 0;
}

/* ---- running a function in an interface's namespace ---- */

struct ns_job {
	const char *netns;
	int (*fn)(void *);
	void *arg;
	int rc;
};

static void *ns_main(void *arg)
{
	struct ns_job *j = arg;
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s%s", j->netns[0] == '/' ? "" : "/run/netns/", j->netns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		j->rc = -errno;
		return NULL;
	}
	j->rc = setns(fd, CLONE_NEWNET) ? -errno : j->fn(j->arg);
	close(fd);
	return NULL;
}

/* fn(arg) in namespace netns ("" : the caller's), from a thread of its own so the caller never moves. */
static int in_ns(const char *netns, int (*fn)(void *), void *arg)
{
	struct ns_job j = {netns, fn, arg, 0};
	pthread_t th;
	int r;

	if (!*netns)
		return fn(arg);
	r = pthread_create(&th, NULL, ns_main, &j);
	if (r)
		return -r;
	pthread_join(th, NULL);
	return j.rc;
}

/* ---- record and restore ---- */

struct save_job {
	const char *ifname;
	struct nic_state *n;
	char *err;
	size_t errlen;
};

static int save_fn(void *arg)
{
	struct save_job *s = arg;
	struct nl_sock *sk;
	int r = nb_nic_sock(&sk);

	if (r)
		return r;
	r = nb_nic_save(sk, s->ifname, s->n, s->err, s->errlen);
	nl_socket_free(sk);
	return r;
}

static int restore_fn(void *arg)
{
	const struct nic_state *n = arg;
	struct rtnl_link *l;
	struct nl_sock *sk;
	int r = nb_nic_sock(&sk);

	if (r)
		return r;
	r = nb_nic_link_get(sk, n->name, 0, &l);
	if (!r) {
		r = nb_nic_restore(sk, l, n);
		rtnl_link_put(l);
	}
	nl_socket_free(sk);
	return r;
}

static char *guard_json(const struct nb_knob_guard *g)
{
	cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "interfaces");
	char *txt;

	cJSON_AddNumberToObject(o, "pid", getpid());
	for (unsigned i = 0; a && i < g->n; i++) {
		cJSON *e = nb_nic_json(&g->saved[i]);

		cJSON_AddStringToObject(e, "netns", g->ifs[i].netns);
		cJSON_AddItemToArray(a, e);
	}
	txt = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return txt;
}

int nb_knob_record(const struct nb_nic_ref *ifs, unsigned n, struct nb_knob_guard **ret, char *err,
		   size_t errlen)
{
	struct nb_knob_guard *g;
	char *txt;
	int r = 0, dfd;

	if (n > NB_KNOB_MAX_IFS)
		return -E2BIG;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->n = n;
	memcpy(g->ifs, ifs, n * sizeof(*ifs));
	for (unsigned i = 0; i < n && !r; i++) {
		struct save_job s = {ifs[i].ifname, &g->saved[i], err, errlen};

		r = in_ns(ifs[i].netns, save_fn, &s);
		if (r && r != -EINVAL)
			nb_err(err, errlen, "%s%s%s: %s", ifs[i].netns, *ifs[i].netns ? ":" : "",
			       ifs[i].ifname, strerror(-r));
	}
	dfd = r ? r : nb_dir_open_checked(KNOB_DIR, true, err, errlen);
	if (dfd >= 0) {
		snprintf(g->file, sizeof(g->file), "%d.json", (int)getpid());
		txt = guard_json(g);
		r = txt ? nb_write_atomic_at(dfd, g->file, txt) : -ENOMEM;
		if (r)
			nb_err(err, errlen, "writing " KNOB_DIR "/%s: %s", g->file, strerror(-r));
		free(txt);
		close(dfd);
	} else {
		r = dfd;
	}
	if (r) {
		for (unsigned i = 0; i < n; i++)
			nb_nic_forget(&g->saved[i]);
		free(g);
		return r;
	}
	*ret = g;
	return 0;
}

int nb_knob_restore(struct nb_knob_guard *g)
{
	int first = 0;

	for (unsigned i = 0; i < g->n; i++) {
		int r = in_ns(g->ifs[i].netns, restore_fn, &g->saved[i]);

		first = first ? first : r;
	}
	return first;
}

int nb_knob_release(struct nb_knob_guard *g)
{
	int r, dfd;

	if (!g)
		return 0;
	r = nb_knob_restore(g);
	for (unsigned i = 0; i < g->n; i++)
		nb_nic_forget(&g->saved[i]); /* the record goes with the file below, restored or not */
	dfd = nb_dir_open_checked(KNOB_DIR, false, NULL, 0);
	if (dfd >= 0) {
		unlinkat(dfd, g->file, 0);
		close(dfd);
	}
	free(g);
	return r;
}

/* Puts back the interfaces of one file left by a sweep that is gone; an interface whose namespace went
 * away went with it. */
static int restore_file(int dfd, const char *name)
{
	char *txt = nb_slurp_at(dfd, name, 1 << 22, NULL, 0);
	cJSON *o = txt ? cJSON_Parse(txt) : NULL, *e;
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(o, "pid");
	int first = 0;

	free(txt);
	if (!o)
		return -EINVAL;
	if (cJSON_IsNumber(pid) && pid->valueint != getpid() && kill(pid->valueint, 0) == 0) {
		cJSON_Delete(o);
		return -EBUSY; /* a sweep still running restores its own */
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "interfaces"))
	{
		const cJSON *ns = cJSON_GetObjectItemCaseSensitive(e, "netns");
		struct nic_state *n = calloc(1, sizeof(*n));
		int r;

		if (!n) {
			first = -ENOMEM;
			break;
		}
		nb_nic_read(e, n);
		r = in_ns(cJSON_IsString(ns) ? ns->valuestring : "", restore_fn, n);
		if (r && r != -ENOENT && r != -ENODEV)
			first = first ? first : r;
		else
			nb_nic_forget(n);
		free(n);
	}
	cJSON_Delete(o);
	if (!first)
		unlinkat(dfd, name, 0);
	return first;
}

int nb_knob_restore_orphans(size_t *ret_n, char *err, size_t errlen)
{
	int dfd = nb_dir_open_checked(KNOB_DIR, false, err, errlen), first = 0, fd;
	struct dirent *d;
	DIR *dir;

	if (ret_n)
		*ret_n = 0;
	if (dfd == -ENOENT)
		return 0;
	if (dfd < 0)
		return dfd;
	fd = dup(dfd);
	dir = fd >= 0 ? fdopendir(fd) : NULL;
	while (dir && (d = readdir(dir))) {
		int r;

		if (!strstr(d->d_name, ".json") || d->d_name[0] == '.')
			continue;
		r = restore_file(dfd, d->d_name);
		if (!r && ret_n)
			(*ret_n)++;
		if (r && r != -EBUSY && !first) {
			first = r;
			nb_err(err, errlen, "restoring the interfaces of sweep %s: %s", d->d_name,
			       strerror(-r));
		}
	}
	if (dir)
		closedir(dir);
	close(dfd);
	return first;
}

/* ---- applying one knob ---- */

struct apply_job {
	const struct knob *k;
	const char *ifname;
	uint32_t num;
	struct nic_tc tc;
};

/* Sets the field of a get/set ioctl pair, then reads it back: a driver that takes the call and keeps its
 * value has refused it too. */
#define GET_SET(type, gcmd, scmd, field)                                                                     \
	do {                                                                                                 \
		type v = {.cmd = gcmd};                                                                      \
		int r = nb_eth_ioctl(j->ifname, &v);                                                         \
		if (r)                                                                                       \
			return r;                                                                            \
		v.field = j->num;                                                                            \
		v.cmd = scmd;                                                                                \
		if ((r = nb_eth_ioctl(j->ifname, &v)))                                                       \
			return r;                                                                            \
		v.cmd = gcmd;                                                                                \
		r = nb_eth_ioctl(j->ifname, &v);                                                             \
		return r ? r : v.field == j->num ? 0 : -EOPNOTSUPP;                                          \
	} while (0)

static int feat_apply(const struct apply_job *j)
{
	struct ethtool_value v = {.cmd = j->k->set, .data = j->num};
	int r = nb_eth_ioctl(j->ifname, &v);

	if (r)
		return r;
	v = (struct ethtool_value){.cmd = j->k->get};
	r = nb_eth_ioctl(j->ifname, &v);
	return r ? r : !!v.data == !!j->num ? 0 : -EOPNOTSUPP;
}

static int lro_apply(const struct apply_job *j)
{
	struct ethtool_value v = {.cmd = ETHTOOL_GFLAGS};
	int r = nb_eth_ioctl(j->ifname, &v);

	if (r)
		return r;
	v.cmd = ETHTOOL_SFLAGS;
	v.data = j->num ? v.data | ETH_FLAG_LRO : v.data & ~(uint32_t)ETH_FLAG_LRO;
	if ((r = nb_eth_ioctl(j->ifname, &v)))
		return r;
	v.cmd = ETHTOOL_GFLAGS;
	r = nb_eth_ioctl(j->ifname, &v);
	return r ? r : !!(v.data & ETH_FLAG_LRO) == !!j->num ? 0 : -EOPNOTSUPP;
}

static int mtu_apply(const struct apply_job *j)
{
	struct rtnl_link *l, *change;
	struct nl_sock *sk;
	int r = nb_nic_sock(&sk);

	if (r)
		return r;
	r = nb_nic_link_get(sk, j->ifname, 0, &l);
	change = r ? NULL : rtnl_link_alloc();
	if (change) {
		rtnl_link_set_mtu(change, j->num);
		r = nb_nl_err(rtnl_link_change(sk, l, change, 0));
		rtnl_link_put(change);
	}
	if (l && !r)
		rtnl_link_put(l);
	nl_socket_free(sk);
	return r;
}

static int qdisc_apply(struct apply_job *j)
{
	struct rtnl_link *l;
	struct nl_sock *sk;
	int ifindex, r = nb_nic_sock(&sk);

	if (r)
		return r;
	r = nb_nic_link_get(sk, j->ifname, 0, &l);
	if (!r) {
		ifindex = rtnl_link_get_ifindex(l);
		rtnl_link_put(l);
		/* noqueue: no root qdisc of ours, then noqueue where the device would have one by default */
		if (!*j->tc.kind) {
			nb_tc_send(sk, RTM_DELQDISC, 0, ifindex, &(struct nic_tc){.parent = TC_H_ROOT});
			snprintf(j->tc.kind, sizeof(j->tc.kind), "noqueue");
			j->tc.handle = 0;
			r = nb_tc_send(sk, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, ifindex, &j->tc);
			r = r == -EINVAL || r == -EEXIST ? 0 : r; /* a noqueue device has it already */
		} else {
			r = nb_tc_send(sk, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, ifindex, &j->tc);
		}
	}
	nl_socket_free(sk);
	return r;
}

static int apply_fn(void *arg)
{
	struct apply_job *j = arg;
	int f = j->k->field;

	switch (j->k->kind) {
	case K_FEAT:
		return feat_apply(j);
	case K_LRO:
		return lro_apply(j);
	case K_MTU:
		return mtu_apply(j);
	case K_QDISC:
		return qdisc_apply(j);
	case K_RING:
		if (f == 0)
			GET_SET(struct ethtool_ringparam, ETHTOOL_GRINGPARAM, ETHTOOL_SRINGPARAM, rx_pending);
		GET_SET(struct ethtool_ringparam, ETHTOOL_GRINGPARAM, ETHTOOL_SRINGPARAM, tx_pending);
	case K_CHAN:
		if (f == 0)
			GET_SET(struct ethtool_channels, ETHTOOL_GCHANNELS, ETHTOOL_SCHANNELS,
				combined_count);
		if (f == 1)
			GET_SET(struct ethtool_channels, ETHTOOL_GCHANNELS, ETHTOOL_SCHANNELS, rx_count);
		GET_SET(struct ethtool_channels, ETHTOOL_GCHANNELS, ETHTOOL_SCHANNELS, tx_count);
	case K_COAL:
		if (f == 0)
			GET_SET(struct ethtool_coalesce, ETHTOOL_GCOALESCE, ETHTOOL_SCOALESCE,
				rx_coalesce_usecs);
		GET_SET(struct ethtool_coalesce, ETHTOOL_GCOALESCE, ETHTOOL_SCOALESCE, tx_coalesce_usecs);
	case K_ADAPT:
		if (f == 0)
			GET_SET(struct ethtool_coalesce, ETHTOOL_GCOALESCE, ETHTOOL_SCOALESCE,
				use_adaptive_rx_coalesce);
		GET_SET(struct ethtool_coalesce, ETHTOOL_GCOALESCE, ETHTOOL_SCOALESCE,
			use_adaptive_tx_coalesce);
	}
	return -EINVAL;
}

struct drv_job {
	const char *ifname;
	char *buf;
	size_t len;
};

static int drv_fn(void *arg)
{
	struct drv_job *d = arg;
	struct ethtool_drvinfo di = {.cmd = ETHTOOL_GDRVINFO};
	int r = nb_eth_ioctl(d->ifname, &di);

	snprintf(d->buf, d->len, "%s", r || !*di.driver ? "the driver" : di.driver);
	return 0;
}

int nb_knob_apply(struct nb_knob_guard *g, unsigned i, const char *knob, const char *value, char *why,
		  size_t whylen)
{
	struct apply_job j = {.k = knob_find(knob), .ifname = g->ifs[i].ifname};
	char drv[32];
	int r;

	if (!j.k || parse_value(j.k, value, &j.num, &j.tc))
		return -EINVAL;
	r = in_ns(g->ifs[i].netns, apply_fn, &j);
	if (r) {
		struct drv_job d = {j.ifname, drv, sizeof(drv)};
		const char *en = strerrorname_np(-r);

		in_ns(g->ifs[i].netns, drv_fn, &d);
		nb_err(why, whylen, "%s: refused by %s (%s)", knob, drv, en ? en : strerror(-r));
	}
	return r;
}

unsigned nb_topo_wire_ifs(const struct nb_topo *t, struct nb_nic_ref *out, unsigned max)
{
	const struct nb_plan *p = &t->plan;
	unsigned n = 0;

	for (size_t i = 0; i < p->nsteps && n < max; i++) {
		const struct nb_step *s = &p->steps[i];

		if (s->kind == NB_STEP_NIC || (s->kind == NB_STEP_VETH && n == 0)) {
			snprintf(out[n].netns, sizeof(out[n].netns), "%s", s->ns);
			snprintf(out[n].ifname, sizeof(out[n].ifname), "%s", s->ifname);
			n++;
			if (s->kind == NB_STEP_VETH && n < max) {
				snprintf(out[n].netns, sizeof(out[n].netns), "%s", s->peer_ns);
				snprintf(out[n].ifname, sizeof(out[n].ifname), "%s", s->peer);
				n++;
			}
		}
	}
	return n;
}
