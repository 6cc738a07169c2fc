/* SPDX-License-Identifier: MIT */
/*
 * --hops=ebpf, the loader: finds the path's interfaces by (network namespace inode, ifindex), loads the
 * programs of bpf/hops.bpf.c with the run's configuration, attaches them for the run (they stay idle until
 * the measured window opens), and after it detaches them and reads the aggregates and records.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hops_impl.h"

#ifndef NB_HAVE_BPF

int nb_hops_ebpf_probe(char *why, size_t len)
{
	snprintf(why, len,
		 "this nbench was built without eBPF (clang, bpftool or libbpf-dev missing at build time)");
	return -ENOTSUP;
}

static int ebpf_start(const struct nb_hops_opts *o, void **ret, char *err, size_t errlen)
{
	(void)o;
	(void)ret;
	return nb_hops_ebpf_probe(err, errlen);
}

static void ebpf_hooks(void *b, struct nb_run_hooks *hooks)
{
	(void)b;
	(void)hooks;
}

static int ebpf_finish(void *b, struct nb_report_hops *out)
{
	(void)b;
	(void)out;
	return -ENOTSUP;
}

static void ebpf_free(void *b)
{
	(void)b;
}

#else /* NB_HAVE_BPF */

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <linux/types.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "hops_abi.h"
#include "hops.skel.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

struct hops_bpf {
	struct nb_hops_opts o;
	struct nb_nic_ref ifs[NB_HOPS_MAX_IFS];
	struct hops_skel *skel;
	struct nb_hb_txn *txns;	   /* the records, mapped */
	struct nb_txn_note *notes; /* the generator's notes, mapped for it to write (o.notes) */
	struct nb_txn_log *logs;
	struct nb_txn_rec *log_mem;
};

/* ---- may it run here ---- */

static bool cap_effective(unsigned cap)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d))
		return false;
	return d[cap / 32].effective & (1u << (cap % 32));
}

int nb_hops_ebpf_probe(char *why, size_t len)
{
	const char *btf = nb_hops_btf_path();
	if (access(btf, R_OK)) {
		snprintf(why, len, "no kernel BTF at %s (%s): CO-RE programs cannot be relocated", btf,
			 strerror(errno));
		return -ENOENT;
	}
	bool admin = cap_effective(CAP_SYS_ADMIN);
	if (!admin && !cap_effective(CAP_BPF)) {
		snprintf(why, len, "neither CAP_BPF nor CAP_SYS_ADMIN: BPF programs cannot be loaded");
		return -EPERM;
	}
	if (!admin && !cap_effective(CAP_PERFMON)) {
		snprintf(why, len,
			 "neither CAP_PERFMON nor CAP_SYS_ADMIN: tracing programs cannot be loaded");
		return -EPERM;
	}
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/security/lockdown", "r");
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	if (strstr(buf, "[confidentiality]")) {
		snprintf(why, len,
			 "the kernel is locked down (confidentiality): BPF may not read kernel memory");
		return -EPERM;
	}
	return 0;
}

/* ---- the path's interfaces: (netns inode, ifindex) ---- */

struct if_job {
	const struct nb_nic_ref *ref;
	__u32 ino, ifindex;
	int rc;
};

static int netns_path(const char *netns, char *path, size_t len)
{
	if (!netns[0])
		return snprintf(path, len, "/proc/self/ns/net");
	if (netns[0] == '/')
		return snprintf(path, len, "%s", netns);
	return snprintf(path, len, "/run/netns/%s", netns);
}

/* In its own thread: setns moves only this thread, which ends right after. */
static void *if_in_ns(void *arg)
{
	struct if_job *j = arg;
	char path[160];
	netns_path(j->ref->netns, path, sizeof(path));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) || (j->ref->netns[0] && setns(fd, CLONE_NEWNET))) {
		j->rc = -errno;
	} else {
		j->ino = (__u32)st.st_ino;
		j->ifindex = if_nametoindex(j->ref->ifname);
		j->rc = j->ifindex ? 0 : -ENODEV;
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* The inode of network namespace netns (as nb_nic_ref names them) into *ret: 0, or -errno. */
static int netns_ino(const char *netns, __u32 *ret)
{
	char path[160];
	struct stat st;
	netns_path(netns ? netns : "", path, sizeof(path));
	if (stat(path, &st))
		return -errno;
	*ret = (__u32)st.st_ino;
	return 0;
}

/* Puts the path's interfaces into cfg's open-addressed table. */
static int fill_ifs(struct hops_bpf *h, struct nb_hb_cfg *cfg, char *err, size_t errlen)
{
	for (unsigned i = 0; i < h->o.n_ifs; i++) {
		struct if_job j = {.ref = &h->ifs[i]};
		pthread_t th;
		int r = pthread_create(&th, NULL, if_in_ns, &j);
		if (r)
			return -r;
		pthread_join(th, NULL);
		if (j.rc < 0) {
			snprintf(err, errlen, "--hops: interface %s in netns '%s': %s", j.ref->ifname,
				 j.ref->netns, strerror(-j.rc));
			return j.rc;
		}
		__u32 s = nb_hb_if_hash(j.ino, j.ifindex), k = 0;
		while (k < NB_HB_IF_PROBE && cfg->ifs[(s + k) % NB_HB_IF_SLOTS].netns_ino)
			k++;
		if (k == NB_HB_IF_PROBE) {
			snprintf(err, errlen, "--hops: the interface table is full");
			return -ENOSPC;
		}
		cfg->ifs[(s + k) % NB_HB_IF_SLOTS] = (struct nb_hb_if){j.ino, j.ifindex, i};
	}
	return 0;
}

/* ---- load and attach ---- */

/* libbpf's warnings, kept for the one line an error gives (the library prints nothing itself). */
static __thread char libbpf_last[160];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_DEBUG) {
		vsnprintf(libbpf_last, sizeof(libbpf_last), fmt, ap);
		libbpf_last[strcspn(libbpf_last, "\n")] = '\0';
	}
	return 0;
}

static unsigned log2_floor(unsigned v)
{
	unsigned l = 0;
	while (v >>= 1)
		l++;
	return l;
}

/* The configuration the programs are loaded with. */
static void fill_cfg(const struct nb_hops_opts *o, struct nb_hb_cfg *cfg)
{
	cfg->ports[0] = o->ports[0];
	cfg->n_ports = 1;
	if (o->ports[1] && o->ports[1] != o->ports[0])
		cfg->ports[cfg->n_ports++] = o->ports[1];
	cfg->proto = o->proto == NB_PROTO_UDP ? 17 : 6;
	cfg->crr = o->kind == NB_TEST_CRR;
	cfg->tsend = o->req_bytes >= NB_MARK_BYTES + 8;
	cfg->notes = o->notes;
	const char *floor = getenv("NBENCH_HOPS_FLOOR");
	cfg->floor = floor && (!strcmp(floor, "1") || !strcmp(floor, "2")) ? (__u32)(floor[0] - '0') : 0;
	cfg->req_bytes = o->req_bytes;
	cfg->resp_bytes = o->resp_bytes;
	/* records per flow: a power of two, NB_HB_TXNS in all */
	unsigned flows_pow2 = 1u << log2_floor(o->flows);
	if (flows_pow2 < o->flows)
		flows_pow2 <<= 1;
	cfg->txn_shift = log2_floor(NB_HB_TXNS / flows_pow2);
}

/* Loads only what the test uses: crr's state changes; TCP's send hook and the receive call's, unless the
 * generator's notes stand in for them. */
static void pick_programs(const struct nb_hops_opts *o, struct hops_skel *s)
{
	bpf_program__set_autoload(s->progs.nb_state, o->kind == NB_TEST_CRR);
	bpf_program__set_autoload(s->progs.nb_tcp_send, o->proto == NB_PROTO_TCP && !o->notes);
	bpf_program__set_autoload(s->progs.nb_recv, !o->notes);
}

_Static_assert(sizeof(struct nb_txn_note) == sizeof(struct nb_hb_note) &&
		   offsetof(struct nb_txn_note, t_done_ns) == offsetof(struct nb_hb_note, t_done_ns) &&
		   offsetof(struct nb_txn_note, valid) == offsetof(struct nb_hb_note, valid),
	       "workload.h's note and hops_abi.h's differ");
_Static_assert(NB_TXN_NOTES == NB_HB_NOTES, "one note per port on both sides");

static int load(struct hops_bpf *h, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = nb_hops_btf_path());
	libbpf_set_print(libbpf_print);
	libbpf_last[0] = '\0';
	h->skel = hops_skel__open_opts(&oo);
	if (!h->skel) {
		snprintf(err, errlen, "--hops=ebpf: cannot open the programs: %s", libbpf_last);
		return -errno ? -errno : -EINVAL;
	}
	struct nb_hb_cfg *cfg = (struct nb_hb_cfg *)&h->skel->rodata->cfg;
	memset(cfg, 0, sizeof(*cfg));
	fill_cfg(&h->o, cfg);
	int r = fill_ifs(h, cfg, err, errlen);
	if (r < 0)
		return r;
	if ((r = netns_ino(h->o.client_netns, &cfg->netns_client)) < 0 ||
	    (r = netns_ino(h->o.server_netns, &cfg->netns_server)) < 0) {
		snprintf(err, errlen, "--hops=ebpf: cannot read the namespaces of the path's ends: %s",
			 strerror(-r));
		return r;
	}
	pick_programs(&h->o, h->skel);
	if ((r = hops_skel__load(h->skel)) < 0 || (r = hops_skel__attach(h->skel)) < 0) {
		snprintf(err, errlen, "--hops=ebpf: cannot %s the programs: %s (%s)",
			 h->skel->links.nb_xmit ? "attach" : "load", strerror(-r), libbpf_last);
		return r;
	}
	__atomic_store_n(&h->skel->bss->armed, 1u, __ATOMIC_SEQ_CST);
	size_t bytes = (size_t)NB_HB_TXNS * sizeof(struct nb_hb_txn);
	void *m = mmap(NULL, bytes, PROT_READ, MAP_SHARED, bpf_map__fd(h->skel->maps.txns), 0);
	if (m == MAP_FAILED) {
		r = -errno;
		snprintf(err, errlen, "--hops=ebpf: cannot map the records: %s", strerror(errno));
		return r;
	}
	h->txns = m;
	if (h->o.notes) {
		bytes = (size_t)NB_HB_NOTES * sizeof(struct nb_hb_note);
		m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(h->skel->maps.notes),
			 0);
		if (m == MAP_FAILED) {
			r = -errno;
			snprintf(err, errlen, "--hops=ebpf: cannot map the notes: %s", strerror(errno));
			return r;
		}
		h->notes = m;
	}
	return 0;
}

static void ebpf_free(void *b);

static int ebpf_start(const struct nb_hops_opts *o, void **ret, char *err, size_t errlen)
{
	char why[200];
	int r = nb_hops_ebpf_probe(why, sizeof(why));
	if (r < 0) {
		snprintf(err, errlen, "--hops=ebpf: %s", why);
		return r;
	}
	struct hops_bpf *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->o = *o;
	memcpy(h->ifs, o->ifs, o->n_ifs * sizeof(*o->ifs));
	h->o.ifs = h->ifs;
	if ((r = nb_hops_logs_new(o->flows, &h->logs, &h->log_mem)) < 0)
		snprintf(err, errlen, "--hops: no memory for the log");
	else
		r = load(h, err, errlen);
	if (r < 0) {
		ebpf_free(h);
		return r;
	}
	*ret = h;
	return 0;
}

/* The programs aggregate only the transactions the generator measures (sent in its window and complete
 * by its end); they record from the start, so the first ones are already on their way. */
static void ebpf_bounds(void *arg, int64_t t_measure_ns, int64_t t_end_ns)
{
	struct hops_bpf *h = arg;
	__atomic_store_n(&h->skel->bss->win_hi_ns, (__u64)t_end_ns, __ATOMIC_SEQ_CST);
	__atomic_store_n(&h->skel->data->win_lo_ns, (__u64)t_measure_ns, __ATOMIC_SEQ_CST);
}

static void ebpf_hooks(void *b, struct nb_run_hooks *hooks)
{
	struct hops_bpf *h = b;
	hooks->txlogs = h->logs;
	hooks->n_txlogs = h->o.flows;
	hooks->bounds = ebpf_bounds;
	hooks->bounds_arg = h;
	hooks->txnotes = h->notes;
}

/* ---- after the run ---- */

/* Sums the per-CPU aggregates of chain slot c into ch (sums and bins: ncpu values each). */
static int read_chain(struct hops_bpf *h, unsigned c, struct nb_hops_chain *ch, struct nb_hb_sums *sums,
		      struct nb_hb_bins *bins, int ncpu)
{
	const struct hops_skel__bss *bss = h->skel->bss;
	ch->n_pts = bss->chain_n[c] <= NB_HB_PTS ? bss->chain_n[c] : 0;
	memcpy(ch->pt, bss->chain_pts[c], NB_HB_PTS);
	__u32 key = c;
	if (bpf_map_lookup_elem(bpf_map__fd(h->skel->maps.sums), &key, sums))
		return -errno;
	for (unsigned s = 0; s + 1 < ch->n_pts; s++) {
		key = c * NB_HB_PTS + s;
		if (bpf_map_lookup_elem(bpf_map__fd(h->skel->maps.bins), &key, bins))
			return -errno;
		for (int cpu = 0; cpu < ncpu; cpu++) {
			ch->count[s] += sums[cpu].count[s];
			ch->sum_ns[s] += sums[cpu].sum_ns[s];
			for (unsigned k = 0; k < NB_HB_BINS; k++)
				ch->bins[s][k] += bins[cpu].bins[k];
		}
	}
	return 0;
}

static uint64_t counter(struct hops_bpf *h, __u32 key, int ncpu)
{
	__u64 v[ncpu > 0 ? ncpu : 1];
	uint64_t sum = 0;
	if (ncpu > 0 && !bpf_map_lookup_elem(bpf_map__fd(h->skel->maps.counters), &key, v))
		for (int cpu = 0; cpu < ncpu; cpu++)
			sum += v[cpu];
	return sum;
}

/* The finished records whose chain has the decomposition's points, for the sum check. */
static size_t records(struct hops_bpf *h, const struct nb_hops_chain *ch, unsigned n_ch, unsigned best,
		      struct nb_hops_record *out)
{
	size_t n = 0;
	for (unsigned i = 0; i < NB_HB_TXNS; i++) {
		const struct nb_hb_txn *t = &h->txns[i];
		if (t->state != NB_HB_ST_DONE || t->chain >= n_ch || (h->o.kind == NB_TEST_CRR && !t->marked))
			continue;
		const struct nb_hops_chain *c = &ch[t->chain];
		if (c->n_pts != ch[best].n_pts || memcmp(c->pt, ch[best].pt, c->n_pts) || !t->n ||
		    t->n >= NB_HB_PTS)
			continue;
		out[n++] =
		    (struct nb_hops_record){.flow = t->flow,
					    .seq = t->seq,
					    .t_first_ns = (int64_t)(t->t_user_ns ? t->t_user_ns : t->t0_ns),
					    .t_last_ns = (int64_t)(t->t0_ns + t->dt_ns[t->n - 1]),
					    .from_user = t->t_user_ns != 0};
	}
	return n;
}

/* The chain the decomposition took: the slot of the split's first segment's points. */
static unsigned best_slot(const struct nb_hops_chain *ch, unsigned n)
{
	unsigned best = 0;
	uint64_t top = 0;
	for (unsigned k = 0; k < n; k++) {
		uint64_t t = 0;
		for (unsigned j = 0; j < n; j++)
			if (ch[j].n_pts == ch[k].n_pts && !memcmp(ch[j].pt, ch[k].pt, ch[k].n_pts))
				t += ch[j].count[0];
		if (ch[k].n_pts >= 2 && t > top) {
			top = t;
			best = k;
		}
	}
	return best;
}

static int ebpf_finish(void *b, struct nb_report_hops *out)
{
	struct hops_bpf *h = b;
	__atomic_store_n(&h->skel->bss->armed, 0u, __ATOMIC_SEQ_CST);
	hops_skel__detach(h->skel);
	int ncpu = libbpf_num_possible_cpus();
	unsigned n_ch = h->skel->bss->n_chains < NB_HB_CHAINS ? h->skel->bss->n_chains : NB_HB_CHAINS;
	struct nb_hops_chain *ch = calloc(n_ch ? n_ch : 1, sizeof(*ch));
	struct nb_hb_sums *sums = calloc(ncpu > 0 ? (size_t)ncpu : 1, sizeof(*sums));
	struct nb_hb_bins *bins = calloc(ncpu > 0 ? (size_t)ncpu : 1, sizeof(*bins));
	struct nb_hops_record *rec = malloc(NB_HB_TXNS * sizeof(*rec));
	int r = ch && sums && bins && rec && ncpu > 0 ? 0 : -ENOMEM;
	for (unsigned c = 0; c < n_ch && r == 0; c++)
		r = read_chain(h, c, &ch[c], sums, bins, ncpu);
	size_t txns = 0;
	for (unsigned f = 0; f < h->o.flows; f++)
		txns += h->logs[f].n;
	out->txns = txns;
	if (r == 0)
		r = nb_hops_chains_split(&h->o, ch, n_ch, out);
	if (r == 0)
		nb_hops_check_records(rec, records(h, ch, n_ch, best_slot(ch, n_ch), rec), h->logs,
				      h->o.flows, out);
	/* the hook runs count from the attach on, warm-up included: so do the transactions finished outside
	 * the window (late) */
	uint64_t done = counter(h, NB_HB_C_DONE, ncpu) + counter(h, NB_HB_C_LATE, ncpu);
	out->probe_hits =
	    done ? (double)(counter(h, NB_HB_C_PKTS, ncpu) + counter(h, NB_HB_C_SOCK, ncpu)) / (double)done
		 : 0;
	out->ring_evicted = counter(h, NB_HB_C_FULL, ncpu);
	snprintf(out->clock, sizeof(out->clock),
		 "bpf_ktime_get_ns is CLOCK_MONOTONIC, the generator's clock: no conversion");
	free(ch);
	free(sums);
	free(bins);
	free(rec);
	return r;
}

static void ebpf_free(void *b)
{
	struct hops_bpf *h = b;
	if (!h)
		return;
	if (h->txns)
		munmap(h->txns, (size_t)NB_HB_TXNS * sizeof(struct nb_hb_txn));
	if (h->notes)
		munmap(h->notes, (size_t)NB_HB_NOTES * sizeof(struct nb_hb_note));
	hops_skel__destroy(h->skel);
	free(h->logs);
	free(h->log_mem);
	free(h);
}

#endif /* NB_HAVE_BPF */

const struct nb_hops_ops nb_hops_ebpf_ops = {
    .name = "ebpf", .start = ebpf_start, .hooks = ebpf_hooks, .finish = ebpf_finish, .free = ebpf_free};
