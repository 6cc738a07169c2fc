/* SPDX-License-Identifier: MIT */
#include "nbench/report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "nbench/clock.h"
#include "nbench/proto.h"
#include "nbench/units.h"

#ifndef NB_VERSION
#define NB_VERSION "unknown"
#endif

/* Width of the label column of the text summary. */
#define LABEL_W 19

void nb_report_init(struct nb_report *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->nbench_version, sizeof(r->nbench_version), "%s", NB_VERSION);
	r->server_pid = -1;
	snprintf(r->cpu.source, sizeof(r->cpu.source), "none");
	snprintf(r->server_cpu.source, sizeof(r->server_cpu.source), "none");
}

void nb_report_free(struct nb_report *r)
{
	if (!r)
		return;
	free(r->intervals);
	r->intervals = NULL;
	r->n_intervals = r->cap_intervals = 0;
	free(r->flows);
	r->flows = NULL;
	r->n_flows = 0;
	free(r->path_json);
	r->path_json = NULL;
	free(r->hops);
	r->hops = NULL;
	free(r->capture);
	r->capture = NULL;
	for (unsigned i = 0; i < r->n_ifaces; i++)
		nb_nic_snap_free(&r->ifaces[i].delta);
	free(r->ifaces);
	r->ifaces = NULL;
	r->n_ifaces = 0;
}

int nb_report_add_iface(struct nb_report *r, const struct nb_nic_id *id, const struct nb_nic_snap *delta)
{
	struct nb_report_iface *n = realloc(r->ifaces, (r->n_ifaces + 1) * sizeof(*n)), *f;
	if (!n)
		return -ENOMEM;
	r->ifaces = n;
	f = &n[r->n_ifaces];
	memset(f, 0, sizeof(*f));
	f->id = *id;
	f->counted = delta != NULL;
	if (delta && delta->n) {
		f->delta.c = malloc(delta->n * sizeof(*f->delta.c));
		if (!f->delta.c)
			return -ENOMEM;
		memcpy(f->delta.c, delta->c, delta->n * sizeof(*f->delta.c));
		f->delta.n = delta->n;
	}
	r->n_ifaces++;
	return 0;
}

int nb_report_add_server_iface(struct nb_report *r, const struct nb_nic_id *id,
			       const struct nb_nic_snap *delta, unsigned left_out)
{
	int ret = nb_report_add_iface(r, id, delta);
	if (ret == 0) {
		r->ifaces[r->n_ifaces - 1].server = true;
		r->ifaces[r->n_ifaces - 1].left_out = left_out;
	}
	return ret;
}

/* Drop and error counters that went up: a counter going down (a reset) says nothing was lost. */
static bool counter_moved(const struct nb_nic_counter *c)
{
	return c->value > 0 && (nb_nic_counter_is_drop(c->name) || nb_nic_counter_is_error(c->name));
}

/* f's moved counters onto buf at *len: "NAME: a +1, b +2", "; " before it when buf holds some already. */
static void note_iface(const struct nb_report_iface *f, char *buf, size_t size, size_t *len)
{
	bool first = true;

	for (unsigned k = 0; k < f->delta.n && *len < size; k++) {
		if (!counter_moved(&f->delta.c[k]))
			continue;
		const char *sep = !*len ? "" : first ? "; " : ", ";
		if (first)
			*len += (size_t)snprintf(buf + *len, size - *len, "%s%s%s: ", sep,
						 f->server ? "server " : "", f->id.name);
		else
			*len += (size_t)snprintf(buf + *len, size - *len, "%s", sep);
		if (*len < size)
			*len += (size_t)snprintf(buf + *len, size - *len, "%s +%lld", f->delta.c[k].name,
						 (long long)f->delta.c[k].value);
		first = false;
	}
}

void nb_report_note_iface_drops(struct nb_report *r)
{
	char buf[512];
	size_t len = 0;

	for (int server = 0; server < 2; server++)
		for (unsigned i = 0; i < r->n_ifaces; i++)
			if (r->ifaces[i].server == server)
				note_iface(&r->ifaces[i], buf, sizeof(buf), &len);
	if (len)
		nb_report_note(r, "DROPS/ERRORS on the path's interfaces during the measured window: %s",
			       buf);
}

static int add_watched(void *r, const struct nb_nic_id *id, const struct nb_nic_snap *delta)
{
	return nb_report_add_iface(r, id, delta);
}

int nb_report_add_watch(struct nb_report *r, const struct nb_nic_watch *w)
{
	int rc = nb_nic_watch_each(w, add_watched, r);
	if (rc < 0)
		return rc;
	nb_report_note_iface_drops(r);
	return 0;
}

int nb_report_add_interval(struct nb_report *r, const struct nb_interval *iv)
{
	if (r->n_intervals == r->cap_intervals) {
		unsigned cap = r->cap_intervals ? 2 * r->cap_intervals : 16;
		struct nb_interval *n = realloc(r->intervals, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->intervals = n;
		r->cap_intervals = cap;
	}
	r->intervals[r->n_intervals++] = *iv;
	return 0;
}

int nb_report_set_flows(struct nb_report *r, unsigned n)
{
	struct nb_flow_result *f = n ? calloc(n, sizeof(*f)) : NULL;
	if (n && !f)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++)
		f[i].cpu = -1;
	free(r->flows);
	r->flows = f;
	r->n_flows = n;
	return 0;
}

void nb_report_note(struct nb_report *r, const char *fmt, ...)
{
	if (r->n_notes >= sizeof(r->notes) / sizeof(r->notes[0]))
		return; /* the first notes are the ones that explain the rest */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->notes[r->n_notes], sizeof(r->notes[0]), fmt, ap);
	va_end(ap);
	/* a report that gathers several runs (--hops: without, then with) says a thing once */
	for (unsigned i = 0; i < r->n_notes; i++)
		if (!strcmp(r->notes[i], r->notes[r->n_notes]))
			return;
	r->n_notes++;
}

static bool is_stream(const struct nb_report *r)
{
	return r->cfg.kind == NB_TEST_STREAM;
}

static bool is_udp(const struct nb_report *r)
{
	return r->cfg.proto == NB_PROTO_UDP;
}

/* Whether the test's flows are TCP connections with a state to report: TCP stream and rr (crr's
 * connections last one transaction each). */
static bool cfg_has_tcp(const struct nb_test_cfg *c)
{
	return c->proto == NB_PROTO_TCP && c->kind != NB_TEST_CRR;
}

/* ---- text ---- */

__attribute__((format(printf, 3, 4))) static void line(FILE *out, const char *label, const char *fmt, ...)
{
	va_list ap;
	fprintf(out, "%-*s", LABEL_W, label);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
}

/* "cpu 0", "cpus 0,1", "any cpu" */
static void fmt_cpus(const char *cpus, char *buf, size_t len)
{
	if (!cpus[0] || !strcmp(cpus, "any"))
		snprintf(buf, len, "any cpu");
	else if (strpbrk(cpus, ",-"))
		snprintf(buf, len, "cpus %s", cpus);
	else
		snprintf(buf, len, "cpu %s", cpus);
}

static void text_header(const struct nb_report *r, FILE *out)
{
	const struct nb_test_cfg *c = &r->cfg;
	fprintf(out, "nbench %s: %s %s", r->nbench_version, nb_test_kind_name(c->kind),
		nb_proto_name(c->proto));
	if (c->host[0])
		fprintf(out, " to %s:%u", c->host, (unsigned)c->port);
	if (r->path[0]) {
		fprintf(out, " over path %s", r->path);
		if (r->topo_name[0] && strcmp(r->topo_name, r->path))
			fprintf(out, " (%s)", r->topo_name);
	}
	if (r->timestamp[0])
		fprintf(out, ", %s", r->timestamp);
	fputc('\n', out);
}

static void text_settings(const struct nb_report *r, FILE *out)
{
	const struct nb_test_cfg *c = &r->cfg;
	char a[32], b[32];

	fprintf(out, "settings:  %s", nb_fmt_ns((double)c->duration_ns, a, sizeof(a)));
	if (c->warmup_ns)
		fprintf(out, " after %s warm-up", nb_fmt_ns((double)c->warmup_ns, b, sizeof(b)));
	fprintf(out, ", %u flow%s", c->flows, c->flows == 1 ? "" : "s");
	switch (c->kind) {
	case NB_TEST_STREAM:
		fprintf(out, ", %u-byte %s, %s", nb_cfg_msg_bytes(c), is_udp(r) ? "datagrams" : "writes",
			c->reverse ? "reverse (server sends)" : "forward (client sends)");
		if (c->rate_bps > 0) {
			char b[32];
			fprintf(out, ", paced at %s", nb_fmt_bps(c->rate_bps, b, sizeof(b)));
		}
		break;
	case NB_TEST_RR:
	case NB_TEST_CRR:
		if (c->n_mix) {
			fprintf(out, ", mix");
			for (unsigned k = 0; k < c->n_mix && k < NB_MAX_MIX; k++)
				fprintf(out, "%s %u/%u B x%u", k ? "," : "", c->mix_req_bytes[k],
					c->mix_resp_bytes[k], c->mix_weight[k]);
		} else {
			fprintf(out, ", request %u B, response %u B", c->req_bytes, c->resp_bytes);
		}
		if (c->kind == NB_TEST_CRR)
			fprintf(out, ", one connection per transaction");
		else
			fprintf(out, ", depth %u", c->depth);
		if (c->rate_tps > 0)
			fprintf(out, ", open loop at %.0f/s", c->rate_tps);
		else
			fprintf(out, ", closed loop");
		if (!is_udp(r))
			fprintf(out, ", nodelay %s", c->nodelay ? "on" : "off");
		break;
	}
	if (is_udp(r) && c->kind != NB_TEST_STREAM)
		fprintf(out, ", timeout %s", nb_fmt_ns((double)c->udp_timeout_ns, a, sizeof(a)));
	fprintf(out, ", engine %s\n", c->engine);
}

static void text_placement(const struct nb_report *r, FILE *out)
{
	char g[80], s[80];
	fmt_cpus(r->gen_cpus, g, sizeof(g));
	fmt_cpus(r->resp_cpus, s, sizeof(s));
	fprintf(out, "placement: generator: %s, %s; responder: %s, %s\n", g,
		r->gen_wait[0] ? r->gen_wait : nb_wait_name(r->cfg.wait), s,
		r->resp_wait[0] ? r->resp_wait : nb_wait_name(r->cfg.wait));
}

static void host_desc(const struct nb_sysinfo *h, char *buf, size_t len)
{
	snprintf(buf, len, "%s (%s, %s, %u CPU%s)", h->hostname, h->kernel, h->cpu_model, h->ncpus,
		 h->ncpus == 1 ? "" : "s");
}

static void text_hosts(const struct nb_report *r, FILE *out)
{
	char c[320], s[320];
	host_desc(&r->client, c, sizeof(c));
	if (r->same_host)
		snprintf(s, sizeof(s), "same host");
	else if (r->server.hostname[0])
		host_desc(&r->server, s, sizeof(s));
	else
		snprintf(s, sizeof(s), "unknown");
	fprintf(out, "hosts:     client %s; server %s", c, s);
	if (r->server_pid > 0)
		fprintf(out, ", pid %d", r->server_pid);
	fputc('\n', out);
}

/* The server container's limits: "cpus any, memory unlimited", "cpus 0-1, 1.5 CPUs, memory 512 MiB". */
static size_t limits_text(const cJSON *cg, char *buf, size_t len)
{
	const cJSON *cpuset = cJSON_GetObjectItemCaseSensitive(cg, "cpuset_cpus");
	double nano = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cg, "nano_cpus"));
	double quota = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cg, "cpu_quota_us"));
	double period = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cg, "cpu_period_us"));
	double mem = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cg, "memory_bytes"));
	double pids = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cg, "pids_limit"));
	const char *set = cJSON_IsString(cpuset) && *cpuset->valuestring ? cpuset->valuestring : NULL;
	size_t n = 0;

#define ADD(...) n += (size_t)snprintf(buf + (n < len ? n : len), n < len ? len - n : 0, __VA_ARGS__)
	ADD("cpus %s", set ? set : "any");
	if (nano > 0)
		ADD(", %.2f CPUs", nano / 1e9);
	if (quota > 0)
		ADD(", quota %.0f us per %.0f us", quota, period > 0 ? period : 100000);
	if (mem > 0)
		ADD(", memory %.0f MiB", mem / (1 << 20));
	else
		ADD(", memory unlimited");
	if (pids > 0)
		ADD(", pids %.0f", pids);
#undef ADD
	return n;
}

void nb_report_engine(const char *path_json, char *buf, size_t len)
{
	cJSON *o = path_json ? cJSON_Parse(path_json) : NULL;
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "docker"), *e, *p, *c;
	char lim[160] = "";
	size_t n = 0;

	if (len)
		*buf = '\0';
	if (!d) {
		cJSON_Delete(o);
		return;
	}
	e = cJSON_GetObjectItemCaseSensitive(d, "engine");
	if (!e) {
		snprintf(buf, len, "Docker (the engine did not answer)");
		cJSON_Delete(o);
		return;
	}
#define S(obj, key)                                                                                          \
	(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(obj, key))                                          \
	     ? cJSON_GetObjectItemCaseSensitive(obj, key)->valuestring                                       \
	     : "?")
	n = (size_t)snprintf(buf, len, "Docker %s (API %s), storage %s, iptables %s, cgroup v%s %s",
			     S(e, "version"), S(e, "api_version"), S(e, "storage_driver"), S(e, "iptables"),
			     S(e, "cgroup_version"), S(e, "cgroup_driver"));
	p = cJSON_GetObjectItemCaseSensitive(d, "userland_proxy");
	if (n < len && !cJSON_IsNull(p) && p)
		n += (size_t)snprintf(buf + n, len - n, ", userland proxy %s",
				      cJSON_IsTrue(p)	 ? "on"
				      : cJSON_IsFalse(p) ? "off"
							 : "unknown");
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(d, "containers"))
	{
		if (strcmp(S(c, "role"), "server") || n >= len)
			continue;
		limits_text(cJSON_GetObjectItemCaseSensitive(c, "cgroup"), lim, sizeof(lim));
		n += (size_t)snprintf(buf + n, len - n, "; container %s on network %s: %s", S(c, "name"),
				      S(c, "network"), lim);
	}
#undef S
	cJSON_Delete(o);
}

static void text_engine(const struct nb_report *r, FILE *out)
{
	char e[512];

	nb_report_engine(r->path_json, e, sizeof(e));
	if (*e)
		fprintf(out, "engine:    %s\n", e);
}

static void text_stream(const struct nb_report *r, FILE *out)
{
	char a[32], b[32];
	line(out, "goodput", "%s over %s", nb_fmt_bps(r->goodput_bps, a, sizeof(a)),
	     nb_fmt_ns(r->duration_s * NB_NS_PER_S, b, sizeof(b)));
	if (r->n_flows > 1) {
		for (unsigned i = 0; i < r->n_flows; i++) {
			char label[32];
			snprintf(label, sizeof(label), "  flow %u", i);
			line(out, label, "%s", nb_fmt_bps(r->flows[i].goodput_bps, a, sizeof(a)));
		}
	}
	line(out, "bytes sent", "%llu (%s)", (unsigned long long)r->bytes_sent,
	     nb_fmt_bytes((double)r->bytes_sent, a, sizeof(a)));
	line(out, "bytes received", "%llu (%s)", (unsigned long long)r->bytes_rcvd,
	     nb_fmt_bytes((double)r->bytes_rcvd, a, sizeof(a)));
	if (is_udp(r)) {
		line(out, "datagrams sent", "%llu", (unsigned long long)r->msgs_sent);
		line(out, "datagrams received", "%llu", (unsigned long long)r->msgs_rcvd);
		line(out, "lost", "%llu (%.2f %%)", (unsigned long long)r->lost, r->loss_pct);
		line(out, "reordered", "%llu", (unsigned long long)r->reordered);
	}
}

/* "sender: retransmits 12 (3 spurious per DSACK), cwnd 1.20 MiB (870 x 1448 B), srtt 245.0 us (rttvar
 * 31.00 us), pacing 2.32 Gbit/s" of t; role "" for none. */
static void text_tcp_state(const struct nb_tcpinfo *t, const char *role, FILE *out)
{
	char a[32], b[32], c[32];

	fprintf(out, "%s%sretransmits %llu", role, role[0] ? ": " : "", (unsigned long long)t->retransmits);
	if ((t->have & NB_TCPINFO_REORD) && t->dsack_dups)
		fprintf(out, " (%llu spurious per DSACK)", (unsigned long long)t->dsack_dups);
	fprintf(out, ", cwnd %s (%llu x %u B), srtt %s (rttvar %s)",
		nb_fmt_bytes((double)t->cwnd_bytes, a, sizeof(a)), (unsigned long long)t->cwnd_segs,
		t->mss_bytes, nb_fmt_ns((double)t->srtt_us * NB_NS_PER_US, b, sizeof(b)),
		nb_fmt_ns((double)t->rttvar_us * NB_NS_PER_US, c, sizeof(c)));
	if (t->have & NB_TCPINFO_PACING)
		fprintf(out, ", pacing %s", nb_fmt_bps((double)t->pacing_rate_bps, a, sizeof(a)));
	fputc('\n', out);
}

/* TCP stream and rr: each side's TCP state, the total and (several flows) each flow's. */
static void text_tcp(const struct nb_report *r, FILE *out)
{
	for (int server = 0; server < 2; server++) {
		const struct nb_tcpinfo *t = server ? &r->server_tcp : &r->tcp;
		/* a stream's sender is the client unless reversed */
		const char *role = !is_stream(r) ? "" : (server == r->cfg.reverse) ? "sender" : "receiver";
		fprintf(out, "%-*s", LABEL_W, server ? "tcp server" : "tcp client");
		if (!t->valid) {
			fprintf(out, "%s\n", server ? "not reported by the responder" : "not measured");
			continue;
		}
		text_tcp_state(t, role, out);
		for (unsigned i = 0; r->n_flows > 1 && i < r->n_flows; i++) {
			const struct nb_tcpinfo *f = server ? &r->flows[i].server_tcp : &r->flows[i].tcp;
			char label[32];
			snprintf(label, sizeof(label), "  flow %u", i);
			fprintf(out, "%-*s", LABEL_W, label);
			if (f->valid)
				text_tcp_state(f, "", out);
			else
				fprintf(out, "-\n");
		}
	}
}

static void text_rr(const struct nb_report *r, FILE *out)
{
	static const char *const cols[] = {"min", "mean", "p50", "p90", "p99", "p99.9", "max", "stddev"};
	const struct nb_hist_stats *l = &r->lat;
	char a[32];
	double v[] = {(double)l->min_ns, l->mean_ns,	     (double)l->p50_ns, (double)l->p90_ns,
		      (double)l->p99_ns, (double)l->p999_ns, (double)l->max_ns, l->stddev_ns};

	line(out, "transactions", "%llu over %s, %.1f/s", (unsigned long long)r->txns,
	     nb_fmt_ns(r->duration_s * NB_NS_PER_S, a, sizeof(a)), r->tps);
	fprintf(out, "%-*s", LABEL_W, "latency (us)");
	for (unsigned i = 0; i < 8; i++)
		fprintf(out, "%9s", cols[i]);
	fputc('\n', out);
	fprintf(out, "%-*s", LABEL_W, "");
	for (unsigned i = 0; i < 8; i++)
		fprintf(out, "%9.2f", v[i] / NB_NS_PER_US);
	fputc('\n', out);
	if (is_udp(r))
		line(out, "timeouts", "%llu", (unsigned long long)r->timeouts);
	for (unsigned k = 0; k < r->cfg.n_mix && k < NB_MAX_MIX; k++) {
		char label[32];
		snprintf(label, sizeof(label), "shape %u/%u B", r->cfg.mix_req_bytes[k],
			 r->cfg.mix_resp_bytes[k]);
		line(out, label, "%llu transactions (%.1f%%), mean %.2f us",
		     (unsigned long long)r->mix[k].txns,
		     r->txns ? 100.0 * (double)r->mix[k].txns / (double)r->txns : 0,
		     r->mix[k].mean_lat_ns / NB_NS_PER_US);
	}
}

/* rr --load: the load achieved and the idle probe, under the loaded probe's figures. */
static void text_load(const struct nb_report *r, FILE *out)
{
	const struct nb_report_load *L = &r->load;
	const struct nb_hist_stats *l = &L->idle_lat;
	char a[32], b[32];
	line(out, "load", "%s stream paced to %s, achieved %s (loss %.3f%%)", nb_proto_name(L->proto),
	     nb_fmt_bps(L->offered_bps, a, sizeof(a)), nb_fmt_bps(L->achieved_bps, b, sizeof(b)),
	     L->loss_pct);
	line(out, "idle probe", "%llu transactions, %.1f/s, %llu timeouts", (unsigned long long)L->idle_txns,
	     L->idle_tps, (unsigned long long)L->idle_timeouts);
	double v[] = {(double)l->min_ns, l->mean_ns,	     (double)l->p50_ns, (double)l->p90_ns,
		      (double)l->p99_ns, (double)l->p999_ns, (double)l->max_ns, l->stddev_ns};
	fprintf(out, "%-*s", LABEL_W, "idle latency (us)");
	for (unsigned i = 0; i < 8; i++)
		fprintf(out, "%9.2f", v[i] / NB_NS_PER_US);
	fputc('\n', out);
}

static void text_cpu(const struct nb_report *r, const struct nb_cpu_cost *c, const char *title, FILE *out)
{
	char a[32], b[32], d[32], e[32], f[32];

	if (!c->valid) {
		line(out, title, "not measured");
		return;
	}
	line(out, title, "%.1f %% of %u CPU%s over %s, from %s", c->util * 100, c->ncpus,
	     c->ncpus == 1 ? "" : "s", nb_fmt_ns(c->wall_s * NB_NS_PER_S, a, sizeof(a)), c->source);
	line(out, "  busy", "%s = user %s + system %s + softirq %s + irq %s (tick-sampled shares)",
	     nb_fmt_ns((double)c->busy_ns, a, sizeof(a)), nb_fmt_ns((double)c->user_ns, b, sizeof(b)),
	     nb_fmt_ns((double)c->system_ns, d, sizeof(d)), nb_fmt_ns((double)c->softirq_ns, e, sizeof(e)),
	     nb_fmt_ns((double)c->irq_ns, f, sizeof(f)));
	if (c->cycles > 0) {
		if (!strcmp(c->source, "perf"))
			fprintf(out, "%-*s%.4g (perf)", LABEL_W, "  cycles", c->cycles);
		else
			fprintf(out, "%-*s%.4g (busy x TSC %.2f GHz)", LABEL_W, "  cycles", c->cycles,
				c->tsc_hz / 1e9);
		if (is_stream(r) && c->cycles_per_byte > 0)
			fprintf(out, ": %.2f per byte", c->cycles_per_byte);
		else if (!is_stream(r) && c->cycles_per_txn > 0)
			fprintf(out, ": %.0f per transaction", c->cycles_per_txn);
		fputc('\n', out);
	}
	line(out, "  generator", "%s", nb_fmt_ns((double)c->gen_ns, a, sizeof(a)));
	line(out, "  responder", "%s", c->resp_ns ? nb_fmt_ns((double)c->resp_ns, a, sizeof(a)) : "-");
	line(out, "  unattributed", "%s (busy - generator - responder)",
	     nb_fmt_ns((double)nb_cpu_cost_unattributed_ns(c), a, sizeof(a)));
	/* the run's note says what to do about it, once */
	line(out, "  other processes", "%s%s", nb_fmt_ns((double)c->other_ns, a, sizeof(a)),
	     c->disturbed ? " (DISTURBED)" : "");
}

/* --engine dpdk: the port and the counters that moved */
static void text_dpdk(const struct nb_report *r, FILE *out)
{
	const struct nb_dpdk_info *d = &r->dpdk;
	fprintf(out, "dpdk:      port %s (pmd %s", d->device, d->pmd);
	if (d->driver[0] || d->iface[0])
		fprintf(out, ", %s%s%s", d->driver, d->driver[0] && d->iface[0] ? " " : "", d->iface);
	fprintf(out, "), link %s", d->link_up ? "up" : "down");
	if (d->link_speed_mbps)
		fprintf(out, " %u Mb/s", d->link_speed_mbps);
	fputc('\n', out);
	for (unsigned i = 0; i < d->n_xstats; i++)
		fprintf(out, "  %-40s %llu\n", d->xstats[i].name, (unsigned long long)d->xstats[i].delta);
}

/* The change of f's counter name; -1 when f has none of that name (an unchanged counter is left out). */
static int64_t counter_of(const struct nb_report_iface *f, const char *name)
{
	for (unsigned k = 0; k < f->delta.n; k++)
		if (!strcmp(f->delta.c[k].name, name))
			return f->delta.c[k].value;
	return -1;
}

/* " rx 12 packets 1.2 KiB" for dir "rx": what of it f counted */
static void text_iface_dir(const struct nb_report_iface *f, const char *dir, FILE *out)
{
	char name[16], b[32];
	snprintf(name, sizeof(name), "%s_packets", dir);
	int64_t pkts = counter_of(f, name);
	snprintf(name, sizeof(name), "%s_bytes", dir);
	int64_t bytes = counter_of(f, name);

	fprintf(out, " %s %lld packets", dir, (long long)(pkts > 0 ? pkts : 0));
	if (bytes >= 0)
		fprintf(out, " %s", nb_fmt_bytes((double)bytes, b, sizeof(b)));
}

/* The measured window's traffic of f on one line: packets and bytes each way, then the drop and error
 * counters that moved (by name), or that none did. */
static void text_iface_summary(const struct nb_report_iface *f, FILE *out)
{
	bool any = false;

	if (!f->counted) {
		fprintf(out, "  counters not measured\n");
		return;
	}
	fputc(' ', out);
	text_iface_dir(f, "rx", out);
	fputc(',', out);
	text_iface_dir(f, "tx", out);
	for (unsigned k = 0; k < f->delta.n; k++) {
		if (!counter_moved(&f->delta.c[k]))
			continue;
		fprintf(out, "%s %s +%lld", any ? "," : "; DROPS/ERRORS:", f->delta.c[k].name,
			(long long)f->delta.c[k].value);
		any = true;
	}
	fprintf(out, "%s", any ? "" : "; no drops or errors");
	if (f->left_out)
		fprintf(out, " (%u more changed counters not sent)", f->left_out);
	fputc('\n', out);
}

/* One interface: what it is, then its traffic on one line, or (counters) every counter that changed in
 * the measured window. */
static void text_iface(const struct nb_report_iface *f, bool counters, FILE *out)
{
	const struct nb_nic_id *d = &f->id;

	fprintf(out, "nic:       %s%s%s%s: driver %s", f->server ? "(server) " : "", d->name,
		d->netns[0] ? " in " : "", d->netns, d->driver[0] ? d->driver : "unknown");
	if (d->driver_version[0])
		fprintf(out, " %s", d->driver_version);
	if (d->firmware[0])
		fprintf(out, ", firmware %s", d->firmware);
	if (d->bus[0])
		fprintf(out, ", bus %s", d->bus);
	fprintf(out, ", link ");
	if (d->speed_mbps >= 0)
		fprintf(out, "%lld Mb/s%s%s\n", (long long)d->speed_mbps, d->duplex[0] ? " " : "", d->duplex);
	else
		fprintf(out, "speed unknown\n");
	if (!counters) {
		text_iface_summary(f, out);
		return;
	}
	if (!f->counted)
		fprintf(out, "  counters not measured\n");
	for (unsigned k = 0; k < f->delta.n; k++)
		if (f->delta.c[k].value)
			fprintf(out, "  %-40s %+lld\n", f->delta.c[k].name, (long long)f->delta.c[k].value);
	if (f->left_out)
		fprintf(out, "  (%u more changed counters: past what the responder sends)\n", f->left_out);
}

/* The interfaces of the path that a qdisc shapes (topo's description: --wire-rate's tbf), on one line:
 * their link speed says nothing of it. */
static void text_shaping(const struct nb_report *r, FILE *out)
{
	cJSON *p = r->path_json ? cJSON_Parse(r->path_json) : NULL, *i;
	char b[32], line[256] = "";
	double rate = 0;
	size_t len = 0;

	cJSON_ArrayForEach(i, cJSON_GetObjectItem(p, "interfaces"))
	{
		const cJSON *bps = cJSON_GetObjectItem(i, "rate_bps"), *name = cJSON_GetObjectItem(i, "name");
		if (!cJSON_IsNumber(bps) || !cJSON_IsString(name) || len >= sizeof(line))
			continue;
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s", len ? ", " : "",
					name->valuestring);
		rate = bps->valuedouble;
	}
	if (len)
		fprintf(out, "shaping:   %s per direction (tbf on %s)\n", nb_fmt_bps(rate, b, sizeof(b)),
			line);
	cJSON_Delete(p);
}

/* The path's interfaces: the client's, then the server's. */
static void text_ifaces(const struct nb_report *r, bool counters, FILE *out)
{
	for (int server = 0; server < 2; server++)
		for (unsigned i = 0; i < r->n_ifaces; i++)
			if (r->ifaces[i].server == server)
				text_iface(&r->ifaces[i], counters, out);
}

/* What runs where, known before the first interval: the title, the settings, the hosts, the engine. */
static void text_head(const struct nb_report *r, FILE *out)
{
	text_header(r, out);
	text_settings(r, out);
	text_hosts(r, out);
	text_engine(r, out); /* the path's container engine, when it has one: known before the run */
}

void nb_report_write_text_head(const struct nb_report *r, FILE *out)
{
	text_head(r, out);
	fputc('\n', out);
}

static int write_text(const struct nb_report *r, unsigned flags, FILE *out)
{
	bool counters = flags & NB_TEXT_COUNTERS;
	if (flags & NB_TEXT_NO_HEAD)
		fputc('\n', out); /* after the interim lines */
	else
		text_head(r, out);
	/* what was seen during the run: where each side ran, the interfaces' counters */
	text_placement(r, out);
	if (r->dpdk.pmd[0])
		text_dpdk(r, out);
	text_ifaces(r, counters, out);
	text_shaping(r, out);
	fputc('\n', out);
	if (is_stream(r))
		text_stream(r, out);
	else
		text_rr(r, out);
	if (cfg_has_tcp(&r->cfg) && (r->tcp.valid || r->server_tcp.valid))
		text_tcp(r, out);
	if (r->load.on)
		text_load(r, out);
	fputc('\n', out);
	text_cpu(r, &r->cpu, r->same_host ? "cpu" : "client cpu", out);
	if (r->server_cpu_valid)
		text_cpu(r, &r->server_cpu, "server cpu", out);
	if (r->hops) {
		fputc('\n', out);
		nb_report_text_hops(r->hops, r->path, out);
	}
	if (r->capture)
		nb_report_text_capture(r->capture, out);
	for (unsigned i = 0; i < r->n_notes; i++)
		fprintf(out, "note: %s\n", r->notes[i]);
	if (!r->complete)
		fprintf(out, "INCOMPLETE: %s\n", r->error[0] ? r->error : "the run did not finish");
	fflush(out);
	return ferror(out) ? -EIO : 0;
}

int nb_report_write_text(const struct nb_report *r, FILE *out)
{
	return write_text(r, 0, out);
}

int nb_report_write_text_counters(const struct nb_report *r, FILE *out)
{
	return write_text(r, NB_TEXT_COUNTERS, out);
}

int nb_report_write_text_flags(const struct nb_report *r, unsigned flags, FILE *out)
{
	return write_text(r, flags, out);
}

void nb_report_text_capture(const struct nb_report_capture *c, FILE *out)
{
	fprintf(out, "capture:   %s: %llu packets from %u interfaces, %llu bytes", c->file,
		(unsigned long long)c->packets, c->n_ifs, (unsigned long long)c->file_bytes);
	fprintf(out,
		" (%llu cut to %u bytes, %llu left out past the %llu-byte cap, %llu dropped by the kernel)\n",
		(unsigned long long)c->truncated, c->snap_bytes, (unsigned long long)c->over_cap,
		(unsigned long long)c->max_bytes, (unsigned long long)c->dropped);
	if (c->error[0])
		fprintf(out, "capture:   INCOMPLETE: %s\n", c->error);
}

static void fmt_us(double ns, char *buf, size_t len)
{
	snprintf(buf, len, "%.2f", ns / 1000.0);
}

double nb_report_hops_probe_ns(const struct nb_report_hops *h)
{
	if (h->probe_hits <= 0 || !h->runs_with)
		return NAN;
	if (h->rtt_p50_without_ns > 0 && h->rtt_p50_with_ns > 0)
		return (double)(h->rtt_p50_with_ns - h->rtt_p50_without_ns) / h->probe_hits;
	if (h->rtt_without_ns > 0)
		return (h->rtt_with_ns - h->rtt_without_ns) / h->probe_hits;
	return NAN;
}

/* What the eBPF backend adds: the probes' hits and each one's share of the overhead; the records checked
 * against the generator's log. */
static void text_hops_ebpf(const struct nb_report_hops *h, FILE *out)
{
	double c = nb_report_hops_probe_ns(h);
	if (isfinite(c))
		fprintf(
		    out,
		    "  probes: %.1f hits per transaction, %.0f ns each (the %s round trip's overhead shared "
		    "out; each segment holds about one)\n",
		    h->probe_hits, c, h->rtt_p50_with_ns > 0 ? "median" : "mean");
	else if (h->probe_hits > 0)
		fprintf(out, "  probes: %.1f hits per transaction\n", h->probe_hits);
	fprintf(out,
		"  records: %llu checked against the generator's log, %llu start at its send and end by its "
		"receive, %.2f us before it on average\n",
		(unsigned long long)h->records_checked, (unsigned long long)h->records_consistent,
		h->tail_ns / 1000.0);
	if (h->ring_evicted)
		fprintf(out, "  left out: %llu transactions (out of order or beyond the chains kept)\n",
			(unsigned long long)h->ring_evicted);
}

void nb_report_text_hops(const struct nb_report_hops *h, const char *path, FILE *out)
{
	bool ebpf = !strcmp(h->backend, "ebpf");
	fprintf(
	    out,
	    "hops (%s) on %s: %llu of %llu transactions seen on every interface both ways, mean round trip "
	    "%.2f us\n",
	    h->backend[0] ? h->backend : "pcap", path && path[0] ? path : "the path",
	    (unsigned long long)h->decomposed, (unsigned long long)h->txns, h->rtt_mean_ns / 1000.0);
	if (h->n)
		fprintf(out, "  %-16s %-29s %7s %7s %7s %7s %6s  %s\n", "segment (us)", "from > to", "p50",
			"p90", "p99", "mean", "share", "");
	for (unsigned i = 0; i < h->n; i++) {
		const struct nb_report_hop *g = &h->seg[i];
		char ft[40], a[16], b[16], c[16], d[16], bar[41];
		snprintf(ft, sizeof(ft), "%s > %s", g->from_if[0] ? g->from_if : "socket",
			 g->to_if[0] ? g->to_if : "socket");
		fmt_us((double)g->p50_ns, a, sizeof(a));
		fmt_us((double)g->p90_ns, b, sizeof(b));
		fmt_us((double)g->p99_ns, c, sizeof(c));
		fmt_us(g->mean_ns, d, sizeof(d));
		/* the waterfall: each bar starts where the previous ones end, 40 columns for the round trip
		 */
		double before = 0;
		for (unsigned k = 0; k < i; k++)
			before += h->seg[k].share;
		int lo = (int)(before * 40 + 0.5), hi = (int)((before + g->share) * 40 + 0.5);
		/* a segment of less than a column is a '.', one of no time at all nothing */
		char sliver = g->mean_ns > 0 ? '.' : '\0';
		for (int k = 0; k < 40; k++)
			bar[k] = k < lo ? ' ' : k < hi ? '#' : k == lo && hi <= lo ? sliver : '\0';
		bar[40] = '\0';
		fprintf(out, "  %-16s %-29s %7s %7s %7s %7s %5.1f%%  |%s\n", g->segment, ft, a, b, c, d,
			100.0 * g->share, bar);
		if (g->unseen[0])
			fprintf(out, "  %-16s (spans %s: no capture sees inside it)\n", "", g->unseen);
		else if (g->samples && g->p99_ns == 0)
			fprintf(out, "  %-16s (both ends carry one timestamp: not separable by %s)\n", "",
				ebpf ? "the probes" : "capture");
	}
	if (h->runs_with && h->rtt_without_ns > 0)
		fprintf(
		    out,
		    "  %s overhead: mean round trip %.2f us without %s, %.2f us with (%+.2f us, %+.1f%%)\n",
		    ebpf ? "probe" : "capture", h->rtt_without_ns / 1000.0, ebpf ? "probes" : "capture",
		    h->rtt_with_ns / 1000.0, (h->rtt_with_ns - h->rtt_without_ns) / 1000.0,
		    100.0 * (h->rtt_with_ns - h->rtt_without_ns) / h->rtt_without_ns);
	if (ebpf)
		text_hops_ebpf(h, out);
	if (!ebpf && (h->ring_evicted || h->pcap_dropped))
		fprintf(out,
			"  capture lost: %llu sightings fell out of the ring, %llu packets dropped by the "
			"kernel\n",
			(unsigned long long)h->ring_evicted, (unsigned long long)h->pcap_dropped);
	if (h->clock[0])
		fprintf(out, "  clock: %s\n", h->clock);
}

/* ---- interim lines ---- */

/* The interim lines' TCP columns (iperf3's Retr and Cwnd): retransmits in the interval, then at its end
 * the congestion window (streams) and the smoothed RTT. Only where the generator's sockets send: TCP rr and
 * forward streams (a reverse stream's sender is the responder, which reports at the end). */
static bool interval_tcp_cols(const struct nb_test_cfg *cfg)
{
	return cfg_has_tcp(cfg) && !(cfg->kind == NB_TEST_STREAM && cfg->reverse);
}

static void text_interval_tcp(const struct nb_test_cfg *cfg, const struct nb_tcpinfo *t, FILE *out)
{
	char a[32], b[32];
	bool cwnd = cfg->kind == NB_TEST_STREAM;

	snprintf(a, sizeof(a), "%llu", (unsigned long long)t->retransmits);
	fprintf(out, "  %6s", t->valid ? a : "-");
	if (cwnd)
		fprintf(out, "  %10s", t->valid ? nb_fmt_bytes((double)t->cwnd_bytes, a, sizeof(a)) : "-");
	fprintf(out, "  %10s", t->valid ? nb_fmt_ns((double)t->srtt_us * NB_NS_PER_US, b, sizeof(b)) : "-");
}

void nb_report_text_interval_header(const struct nb_test_cfg *cfg, FILE *out)
{
	if (cfg->kind == NB_TEST_STREAM) {
		fprintf(out, "[  interval (s) ]  %13s", "goodput");
		if (cfg->proto == NB_PROTO_UDP)
			fprintf(out, "  %12s", "datagrams");
	} else {
		fprintf(out, "[  interval (s) ]  %12s  %15s", "transactions", "mean latency");
		if (cfg->proto == NB_PROTO_UDP)
			fprintf(out, "  %8s", "lost");
	}
	if (interval_tcp_cols(cfg)) {
		fprintf(out, "  %6s", "retr");
		if (cfg->kind == NB_TEST_STREAM)
			fprintf(out, "  %10s", "cwnd");
		fprintf(out, "  %10s", "srtt");
	}
	fputc('\n', out);
}

void nb_report_text_interval(const struct nb_test_cfg *cfg, const struct nb_interval *iv, FILE *out)
{
	char a[32], b[32];
	fprintf(out, "[%6.2f-%6.2f s]", iv->start_s, iv->end_s);
	if (cfg->kind == NB_TEST_STREAM) {
		fprintf(out, "  %13s", nb_fmt_bps(iv->bps, a, sizeof(a)));
		if (cfg->proto == NB_PROTO_UDP)
			fprintf(out, "  %12llu", (unsigned long long)iv->packets);
	} else {
		snprintf(a, sizeof(a), "%.0f tx/s", iv->tps);
		fprintf(out, "  %12s  mean %10s", a, nb_fmt_ns(iv->mean_lat_ns, b, sizeof(b)));
		if (cfg->proto == NB_PROTO_UDP)
			fprintf(out, "  %8llu", (unsigned long long)iv->lost);
	}
	if (interval_tcp_cols(cfg))
		text_interval_tcp(cfg, &iv->tcp, out);
	if (iv->warmup)
		fprintf(out, "  (warm-up)");
	fputc('\n', out);
}

/* ---- JSON ---- */

static void j_num(cJSON *o, const char *k, double v)
{
	cJSON_AddNumberToObject(o, k, v);
}

/* v, or null when it does not apply */
static void j_num_if(cJSON *o, const char *k, bool applies, double v)
{
	if (applies)
		cJSON_AddNumberToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static void j_u64(cJSON *o, const char *k, uint64_t v)
{
	/* exact up to 2^53 (9 PB), far beyond any run */
	cJSON_AddNumberToObject(o, k, (double)v);
}

static void j_str_or_null(cJSON *o, const char *k, const char *s)
{
	if (s && s[0])
		cJSON_AddStringToObject(o, k, s);
	else
		cJSON_AddNullToObject(o, k);
}

/* A field of t that an older kernel may not fill: its value, or null. */
static void j_tcp_opt(cJSON *o, const struct nb_tcpinfo *t, unsigned bit, const char *k, uint64_t v)
{
	if (t->have & bit)
		j_u64(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

/* A TCP state (the "tcp" and "server_tcp" objects), null when there is none: no figure is ever a 0 that
 * was not measured. */
static cJSON *j_tcp(const struct nb_tcpinfo *t)
{
	if (!t->valid)
		return cJSON_CreateNull();
	cJSON *o = cJSON_CreateObject();
	j_u64(o, "retransmits", t->retransmits);
	j_u64(o, "cwnd_segments", t->cwnd_segs);
	j_u64(o, "cwnd_bytes", t->cwnd_bytes);
	j_u64(o, "mss_bytes", t->mss_bytes);
	j_u64(o, "srtt_us", t->srtt_us);
	j_u64(o, "rttvar_us", t->rttvar_us);
	j_tcp_opt(o, t, NB_TCPINFO_PACING, "pacing_rate_bps", t->pacing_rate_bps);
	j_tcp_opt(o, t, NB_TCPINFO_DELIVERY, "delivery_rate_bps", t->delivery_rate_bps);
	j_tcp_opt(o, t, NB_TCPINFO_REORD, "reord_seen", t->reord_seen);
	j_tcp_opt(o, t, NB_TCPINFO_REORD, "dsack_dups", t->dsack_dups);
	return o;
}

/* null for a host the run never heard from */
static cJSON *j_sysinfo(const struct nb_sysinfo *h)
{
	return h->hostname[0] || h->boot_id[0] ? nb_sysinfo_to_json(h) : cJSON_CreateNull();
}

/* start.interfaces (server false) or start.server_interfaces: what each is. */
static cJSON *j_iface_ids(const struct nb_report *r, bool server)
{
	cJSON *a = cJSON_CreateArray();
	for (unsigned i = 0; i < r->n_ifaces; i++) {
		const struct nb_nic_id *d = &r->ifaces[i].id;
		if (r->ifaces[i].server != server)
			continue;
		cJSON *f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "name", d->name);
		j_str_or_null(f, "netns", d->netns);
		j_str_or_null(f, "driver", d->driver);
		j_str_or_null(f, "driver_version", d->driver_version);
		j_str_or_null(f, "firmware", d->firmware);
		j_str_or_null(f, "bus", d->bus);
		if (d->speed_mbps >= 0)
			j_num(f, "speed_mbps", (double)d->speed_mbps);
		else
			cJSON_AddNullToObject(f, "speed_mbps");
		j_str_or_null(f, "duplex", d->duplex);
		cJSON_AddItemToArray(a, f);
	}
	return a;
}

/* end.interfaces or end.server_interfaces: what each counted in the window (counters null: not measured);
 * a server's also how many changed counters its responder left out. */
static cJSON *j_iface_counts(const struct nb_report *r, bool server)
{
	cJSON *a = cJSON_CreateArray();
	for (unsigned i = 0; i < r->n_ifaces; i++) {
		const struct nb_report_iface *f = &r->ifaces[i];
		if (f->server != server)
			continue;
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "name", f->id.name);
		j_str_or_null(e, "netns", f->id.netns);
		if (!f->counted) {
			cJSON_AddNullToObject(e, "counters");
		} else {
			cJSON *c = cJSON_AddObjectToObject(e, "counters");
			for (unsigned k = 0; k < f->delta.n; k++)
				j_num(c, f->delta.c[k].name, (double)f->delta.c[k].value);
		}
		if (server)
			j_u64(e, "counters_left_out", f->left_out);
		cJSON_AddItemToArray(a, e);
	}
	return a;
}

void nb_report_hosts_json(const struct nb_report *r, struct cJSON *o)
{
	cJSON_AddItemToObject(o, "client", j_sysinfo(&r->client));
	cJSON_AddItemToObject(o, "server", j_sysinfo(&r->server));
	cJSON_AddBoolToObject(o, "same_host", r->same_host);
}

void nb_report_nics_json(const struct nb_report *r, struct cJSON *o)
{
	if (r->dpdk.pmd[0]) {
		cJSON *d = cJSON_AddObjectToObject(o, "dpdk");
		cJSON_AddStringToObject(d, "pmd", r->dpdk.pmd);
		cJSON_AddStringToObject(d, "device", r->dpdk.device);
		j_str_or_null(d, "driver", r->dpdk.driver);
		j_str_or_null(d, "iface", r->dpdk.iface);
		cJSON_AddBoolToObject(d, "link_up", r->dpdk.link_up);
		j_u64(d, "link_speed_mbps", r->dpdk.link_speed_mbps);
	}
	cJSON_AddItemToObject(o, "interfaces", j_iface_ids(r, false));
	cJSON_AddItemToObject(o, "server_interfaces", j_iface_ids(r, true));
}

static cJSON *j_start(const struct nb_report *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "nbench_version", r->nbench_version);
	cJSON_AddStringToObject(o, "timestamp", r->timestamp);
	cJSON_AddStringToObject(o, "cmdline", r->cmdline);
	nb_report_hosts_json(r, o);
	if (r->server_pid > 0)
		j_num(o, "server_pid", r->server_pid);
	else
		cJSON_AddNullToObject(o, "server_pid");
	cJSON_AddItemToObject(o, "settings", nb_cfg_to_json(&r->cfg));

	cJSON *p = cJSON_AddObjectToObject(o, "placement");
	cJSON_AddStringToObject(p, "gen_cpus", r->gen_cpus[0] ? r->gen_cpus : "any");
	cJSON_AddStringToObject(p, "resp_cpus", r->resp_cpus[0] ? r->resp_cpus : "any");
	cJSON_AddStringToObject(p, "gen_wait", r->gen_wait[0] ? r->gen_wait : nb_wait_name(r->cfg.wait));
	cJSON_AddStringToObject(p, "resp_wait", r->resp_wait[0] ? r->resp_wait : nb_wait_name(r->cfg.wait));

	cJSON *path = cJSON_AddObjectToObject(o, "path");
	j_str_or_null(path, "name", r->path);
	j_str_or_null(path, "topo", r->topo_name);
	cJSON *cfg = r->path_json ? cJSON_Parse(r->path_json) : NULL;
	cJSON_AddItemToObject(path, "config", cfg ? cfg : cJSON_CreateNull());
	char engine[512];
	nb_report_engine(r->path_json, engine, sizeof(engine));
	j_str_or_null(path, "engine", engine);
	nb_report_nics_json(r, o);
	return o;
}

static cJSON *j_intervals(const struct nb_report *r)
{
	cJSON *a = cJSON_CreateArray();
	for (unsigned i = 0; i < r->n_intervals; i++) {
		const struct nb_interval *iv = &r->intervals[i];
		cJSON *o = cJSON_CreateObject();
		j_num(o, "start_s", iv->start_s);
		j_num(o, "end_s", iv->end_s);
		cJSON_AddBoolToObject(o, "warmup", iv->warmup);
		if (is_stream(r)) {
			j_u64(o, "bytes", iv->bytes);
			j_num(o, "bps", iv->bps);
			if (is_udp(r)) {
				j_u64(o, "packets", iv->packets);
				j_u64(o, "lost", iv->lost);
			}
		} else {
			j_u64(o, "txns", iv->txns);
			j_num(o, "tps", iv->tps);
			j_num(o, "mean_lat_ns", iv->mean_lat_ns);
			if (is_udp(r))
				j_u64(o, "lost", iv->lost);
		}
		if (cfg_has_tcp(&r->cfg))
			cJSON_AddItemToObject(o, "tcp", j_tcp(&iv->tcp));
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *j_flows(const struct nb_report *r)
{
	cJSON *a = cJSON_CreateArray();
	for (unsigned i = 0; i < r->n_flows; i++) {
		const struct nb_flow_result *f = &r->flows[i];
		cJSON *o = cJSON_CreateObject();
		if (is_stream(r)) {
			j_u64(o, "bytes_sent", f->bytes_sent);
			j_u64(o, "bytes_received", f->bytes_rcvd);
			j_num(o, "goodput_bps", f->goodput_bps);
			if (is_udp(r)) {
				j_u64(o, "packets_sent", f->msgs_sent);
				j_u64(o, "packets_received", f->msgs_rcvd);
				j_u64(o, "lost", f->lost);
				j_u64(o, "reordered", f->reordered);
			}
		} else {
			j_u64(o, "transactions", f->txns);
			if (is_udp(r))
				j_u64(o, "timeouts", f->lost);
		}
		if (f->cpu >= 0)
			j_num(o, "cpu", f->cpu);
		else
			cJSON_AddNullToObject(o, "cpu");
		if (cfg_has_tcp(&r->cfg)) {
			cJSON_AddItemToObject(o, "tcp", j_tcp(&f->tcp));
			cJSON_AddItemToObject(o, "server_tcp", j_tcp(&f->server_tcp));
		}
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

cJSON *nb_report_hops_json(const struct nb_report_hops *h)
{
	cJSON *a = cJSON_CreateArray();
	for (unsigned i = 0; a && i < h->n; i++) {
		const struct nb_report_hop *g = &h->seg[i];
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "segment", g->segment);
		j_str_or_null(e, "from_if", g->from_if);
		j_str_or_null(e, "to_if", g->to_if);
		cJSON_AddStringToObject(e, "direction", g->direction);
		j_str_or_null(e, "netns", g->netns);
		j_str_or_null(e, "unseen", g->unseen);
		j_num(e, "p50_ns", (double)g->p50_ns);
		j_num(e, "p90_ns", (double)g->p90_ns);
		j_num(e, "p99_ns", (double)g->p99_ns);
		j_num(e, "mean_ns", g->mean_ns);
		j_num(e, "share", g->share);
		j_u64(e, "samples", g->samples);
		j_u64(e, "unmatched", g->unmatched);
		cJSON_AddItemToArray(a, e);
	}
	return a;
}

cJSON *nb_report_capture_json(const struct nb_report_capture *c)
{
	cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "interfaces");
	cJSON_AddStringToObject(o, "file", c->file);
	j_u64(o, "snap_bytes", c->snap_bytes);
	j_u64(o, "max_bytes", c->max_bytes);
	j_u64(o, "file_bytes", c->file_bytes);
	j_u64(o, "packets", c->packets);
	j_u64(o, "truncated", c->truncated);
	j_u64(o, "over_cap", c->over_cap);
	j_u64(o, "kernel_dropped", c->dropped);
	j_str_or_null(o, "error", c->error);
	for (unsigned i = 0; a && i < c->n_ifs; i++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "name", c->ifs[i].name);
		j_str_or_null(e, "netns", c->ifs[i].netns);
		j_u64(e, "packets", c->ifs[i].packets);
		j_u64(e, "kernel_dropped", c->ifs[i].dropped);
		cJSON_AddItemToArray(a, e);
	}
	return o;
}

static cJSON *j_hops_capture(const struct nb_report_hops *h)
{
	cJSON *o = cJSON_CreateObject();
	bool ebpf = !strcmp(h->backend, "ebpf");
	cJSON_AddStringToObject(o, "backend", h->backend[0] ? h->backend : "pcap");
	j_u64(o, "transactions", h->txns);
	j_u64(o, "decomposed", h->decomposed);
	j_num(o, "rtt_mean_ns", h->rtt_mean_ns);
	j_num(o, "rtt_mean_without_capture_ns", h->rtt_without_ns);
	j_num(o, "rtt_mean_with_capture_ns", h->rtt_with_ns);
	j_num(o, "overhead_ns",
	      h->runs_with && h->rtt_without_ns > 0 ? h->rtt_with_ns - h->rtt_without_ns : 0);
	j_num_if(o, "rtt_p50_without_capture_ns", h->rtt_p50_without_ns > 0, (double)h->rtt_p50_without_ns);
	j_num_if(o, "rtt_p50_with_capture_ns", h->rtt_p50_with_ns > 0, (double)h->rtt_p50_with_ns);
	j_u64(o, "runs_without", h->runs_without);
	j_u64(o, "runs_with", h->runs_with);
	j_u64(o, "ring_evicted", h->ring_evicted);
	j_u64(o, "pcap_dropped", h->pcap_dropped);
	cJSON_AddStringToObject(o, "clock", h->clock);
	/* ebpf: the probes and the records; null for pcap */
	double c = nb_report_hops_probe_ns(h);
	j_num_if(o, "probe_hits_per_txn", ebpf, h->probe_hits);
	j_num_if(o, "probe_ns_per_hit", ebpf && isfinite(c), isfinite(c) ? c : 0);
	j_num_if(o, "records_checked", ebpf, (double)h->records_checked);
	j_num_if(o, "records_consistent", ebpf, (double)h->records_consistent);
	j_num_if(o, "tail_ns", ebpf, h->tail_ns);
	return o;
}

cJSON *nb_report_latency_json(const struct nb_hist_stats *h)
{
	cJSON *l = cJSON_CreateObject();
	j_num(l, "min", (double)h->min_ns);
	j_num(l, "mean", h->mean_ns);
	j_num(l, "p50", (double)h->p50_ns);
	j_num(l, "p90", (double)h->p90_ns);
	j_num(l, "p99", (double)h->p99_ns);
	j_num(l, "p999", (double)h->p999_ns);
	j_num(l, "max", (double)h->max_ns);
	j_num(l, "stddev", h->stddev_ns);
	return l;
}

/* rr --load: end.load, the stream beside the probe and the idle probe. */
static cJSON *j_load(const struct nb_report_load *L)
{
	cJSON *o = cJSON_CreateObject(), *idle;
	cJSON_AddStringToObject(o, "proto", nb_proto_name(L->proto));
	j_num(o, "offered_bps", L->offered_bps);
	j_num(o, "achieved_bps", L->achieved_bps);
	j_num(o, "loss_pct", L->loss_pct);
	idle = cJSON_AddObjectToObject(o, "idle");
	j_u64(idle, "transactions", L->idle_txns);
	j_num(idle, "transactions_per_s", L->idle_tps);
	j_u64(idle, "timeouts", L->idle_timeouts);
	cJSON_AddItemToObject(idle, "latency_ns", nb_report_latency_json(&L->idle_lat));
	return o;
}

/* rr --mix: each shape's settings with its transactions and mean latency. */
static cJSON *j_mix(const struct nb_report *r)
{
	cJSON *a = nb_mix_to_json(&r->cfg), *o;
	unsigned k = 0;
	cJSON_ArrayForEach(o, a)
	{
		j_u64(o, "transactions", r->mix[k].txns);
		j_num(o, "mean_lat_ns", r->mix[k].mean_lat_ns);
		k++;
	}
	return a;
}

static cJSON *j_end(const struct nb_report *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "complete", r->complete);
	if (r->complete)
		cJSON_AddNullToObject(o, "error");
	else
		cJSON_AddStringToObject(o, "error", r->error[0] ? r->error : "the run did not finish");
	j_num(o, "duration_s", r->duration_s);
	cJSON_AddItemToObject(o, "flows", j_flows(r));
	if (is_stream(r)) {
		j_u64(o, "bytes_sent", r->bytes_sent);
		j_u64(o, "bytes_received", r->bytes_rcvd);
		j_num(o, "goodput_bps", r->goodput_bps);
		if (is_udp(r)) {
			j_u64(o, "packets_sent", r->msgs_sent);
			j_u64(o, "packets_received", r->msgs_rcvd);
			j_u64(o, "lost", r->lost);
			j_num(o, "loss_pct", r->loss_pct);
			j_u64(o, "reordered", r->reordered);
		}
	} else {
		j_u64(o, "transactions", r->txns);
		j_num(o, "transactions_per_s", r->tps);
		j_u64(o, "timeouts", r->timeouts);
		cJSON_AddItemToObject(o, "latency_ns", nb_report_latency_json(&r->lat));
		if (r->cfg.n_mix)
			cJSON_AddItemToObject(o, "mix", j_mix(r));
		if (r->load.on)
			cJSON_AddItemToObject(o, "load", j_load(&r->load));
	}
	if (cfg_has_tcp(&r->cfg)) {
		cJSON_AddItemToObject(o, "tcp", j_tcp(&r->tcp));
		cJSON_AddItemToObject(o, "server_tcp", j_tcp(&r->server_tcp));
	}
	cJSON_AddItemToObject(o, "cpu", nb_cpu_cost_to_json(&r->cpu, &r->cfg));
	if (r->server_cpu_valid)
		cJSON_AddItemToObject(o, "server_cpu", nb_cpu_cost_to_json(&r->server_cpu, &r->cfg));
	if (r->dpdk.pmd[0]) {
		cJSON *x = cJSON_AddObjectToObject(o, "dpdk_xstats");
		for (unsigned i = 0; i < r->dpdk.n_xstats; i++)
			j_u64(x, r->dpdk.xstats[i].name, r->dpdk.xstats[i].delta);
	}
	cJSON_AddItemToObject(o, "interfaces", j_iface_counts(r, false));
	cJSON_AddItemToObject(o, "server_interfaces", j_iface_counts(r, true));
	if (r->capture)
		cJSON_AddItemToObject(o, "capture", nb_report_capture_json(r->capture));
	if (r->hops) {
		cJSON_AddItemToObject(o, "hops", nb_report_hops_json(r->hops));
		cJSON_AddItemToObject(o, "hops_capture", j_hops_capture(r->hops));
	}
	cJSON *n = cJSON_AddArrayToObject(o, "notes");
	for (unsigned i = 0; i < r->n_notes; i++)
		cJSON_AddItemToArray(n, cJSON_CreateString(r->notes[i]));
	return o;
}

int nb_report_write_json(const struct nb_report *r, FILE *out)
{
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return -ENOMEM;
	j_u64(root, "schema_version", NB_REPORT_SCHEMA_VERSION);
	cJSON_AddItemToObject(root, "start", j_start(r));
	cJSON_AddItemToObject(root, "intervals", j_intervals(r));
	cJSON_AddItemToObject(root, "end", j_end(r));
	char *s = cJSON_Print(root);
	cJSON_Delete(root);
	if (!s)
		return -ENOMEM;
	fputs(s, out);
	fputc('\n', out);
	cJSON_free(s);
	fflush(out);
	return ferror(out) ? -EIO : 0;
}

/* ---- CSV ---- */

static const char *const csv_cols[] = {
    "test", "proto", "path", "host", "flows", "msg_bytes", "req_bytes", "resp_bytes", "depth", "rate_tps",
    "rate_bps", "duration_s", "goodput_bps", "bytes_sent", "bytes_received", "packets_sent",
    "packets_received", "lost", "reordered", "transactions", "transactions_per_s", "lat_min_ns",
    "lat_mean_ns", "lat_p50_ns", "lat_p90_ns", "lat_p99_ns", "lat_p999_ns", "lat_max_ns", "cpu_source",
    "cpu_util", "cycles_per_byte", "cycles_per_transaction", "gen_cpus", "resp_cpus", "complete",
    "drivers",	      /* the path's interfaces' drivers, "veth;bridge" */
    "if_drops",	      /* the sum of their link drop counters' rises in the measured window */
    "if_errors",      /* and of their link error counters' (the kernel's stats64, not the drivers') */
    "server_drivers", /* the same three of the responder's host's interfaces (-H), empty without */
    "server_if_drops", "server_if_errors",
    /* TCP stream and rr: the generator's sockets (summed over the flows: retransmits in the measured
     * window, cwnd and pacing summed, srtt and rttvar their mean), then the responder's; empty without */
    "tcp_retransmits", "tcp_cwnd_bytes", "tcp_srtt_us", "tcp_rttvar_us", "tcp_pacing_rate_bps",
    "server_tcp_retransmits", "server_tcp_cwnd_bytes", "server_tcp_srtt_us", "server_tcp_rttvar_us",
    "server_tcp_pacing_rate_bps",
    "engine", /* the container engine of the path (nb_report_engine), empty for nbench's own paths */
};

/* RFC 4180: quote a field holding a comma, quote or line break; double the quotes inside. */
static void csv_str(FILE *out, const char *s, bool last)
{
	if (strpbrk(s, ",\"\r\n")) {
		fputc('"', out);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', out);
			fputc(*s, out);
		}
		fputc('"', out);
	} else {
		fputs(s, out);
	}
	fputc(last ? '\n' : ',', out);
}

__attribute__((format(printf, 3, 4))) static void csv_fmt(FILE *out, bool on, const char *fmt, ...)
{
	if (on) {
		va_list ap;
		va_start(ap, fmt);
		vfprintf(out, fmt, ap);
		va_end(ap);
	}
	fputc(',', out);
}

/* Whether word is one of list's ';'-separated words. */
static bool has_token(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; *p; p = strchr(p, ';') ? strchr(p, ';') + 1 : p + strlen(p))
		if (!strncmp(p, word, n) && (p[n] == ';' || !p[n]))
			return true;
	return false;
}

/* drivers, if_drops, if_errors of one side's interfaces: the two sums empty when none was counted */
static void csv_ifaces(const struct nb_report *r, bool server, bool last, FILE *out)
{
	char drivers[256] = "";
	size_t len = 0;
	long long drops = 0, errors = 0;
	bool counted = false;

	for (unsigned i = 0; i < r->n_ifaces; i++) {
		const struct nb_report_iface *f = &r->ifaces[i];
		const char *d = f->id.driver[0] ? f->id.driver : "unknown";
		if (f->server != server)
			continue;
		if (!has_token(drivers, d) && len < sizeof(drivers))
			len +=
			    (size_t)snprintf(drivers + len, sizeof(drivers) - len, "%s%s", len ? ";" : "", d);
		counted |= f->counted;
		for (unsigned k = 0; k < f->delta.n; k++) {
			const struct nb_nic_counter *c = &f->delta.c[k];
			if (!strncmp(c->name, "driver.", 7))
				continue; /* the kernel's link stats already count what the driver dropped */
			if (c->value > 0 && nb_nic_counter_is_drop(c->name))
				drops += c->value;
			else if (c->value > 0 && nb_nic_counter_is_error(c->name))
				errors += c->value;
		}
	}
	csv_str(out, drivers, false);
	csv_fmt(out, counted, "%lld", drops);
	if (counted)
		fprintf(out, "%lld", errors);
	fputc(last ? '\n' : ',', out);
}

/* The five tcp_ columns of t, empty when there is no TCP state (a pacing rate the kernel did not give
 * too); the last one ends the line when last. */
static void csv_tcp(const struct nb_tcpinfo *t, bool last, FILE *out)
{
	bool v = t->valid;
	csv_fmt(out, v, "%llu", (unsigned long long)t->retransmits);
	csv_fmt(out, v, "%llu", (unsigned long long)t->cwnd_bytes);
	csv_fmt(out, v, "%u", t->srtt_us);
	csv_fmt(out, v, "%u", t->rttvar_us);
	if (v && (t->have & NB_TCPINFO_PACING))
		fprintf(out, "%llu", (unsigned long long)t->pacing_rate_bps);
	fputc(last ? '\n' : ',', out);
}

int nb_report_write_csv(const struct nb_report *r, FILE *out, bool header)
{
	const struct nb_test_cfg *c = &r->cfg;
	const unsigned ncols = sizeof(csv_cols) / sizeof(csv_cols[0]);
	bool st = is_stream(r), rr = !st, udp = is_udp(r), cpu = r->cpu.valid;
	const struct nb_hist_stats *l = &r->lat;

	if (header)
		for (unsigned i = 0; i < ncols; i++)
			fprintf(out, "%s%c", csv_cols[i], i + 1 < ncols ? ',' : '\n');

	csv_str(out, nb_test_kind_name(c->kind), false);
	csv_str(out, nb_proto_name(c->proto), false);
	csv_str(out, r->path, false);
	csv_str(out, c->host, false);
	csv_fmt(out, true, "%u", c->flows);
	csv_fmt(out, st, "%u", nb_cfg_msg_bytes(c));
	csv_fmt(out, rr, "%u", c->req_bytes);
	csv_fmt(out, rr, "%u", c->resp_bytes);
	csv_fmt(out, c->kind == NB_TEST_RR, "%u", c->depth);
	csv_fmt(out, c->kind == NB_TEST_RR, "%.0f", c->rate_tps);
	csv_fmt(out, st, "%.0f", c->rate_bps);
	csv_fmt(out, true, "%.3f", r->duration_s);
	csv_fmt(out, st, "%.0f", r->goodput_bps);
	csv_fmt(out, st, "%llu", (unsigned long long)r->bytes_sent);
	csv_fmt(out, st, "%llu", (unsigned long long)r->bytes_rcvd);
	csv_fmt(out, st && udp, "%llu", (unsigned long long)r->msgs_sent);
	csv_fmt(out, st && udp, "%llu", (unsigned long long)r->msgs_rcvd);
	/* lost: datagrams for a udp stream, timed-out transactions for udp rr */
	csv_fmt(out, udp, "%llu", (unsigned long long)(st ? r->lost : r->timeouts));
	csv_fmt(out, st && udp, "%llu", (unsigned long long)r->reordered);
	csv_fmt(out, rr, "%llu", (unsigned long long)r->txns);
	csv_fmt(out, rr, "%.3f", r->tps);
	csv_fmt(out, rr, "%lld", (long long)l->min_ns);
	csv_fmt(out, rr, "%.1f", l->mean_ns);
	csv_fmt(out, rr, "%lld", (long long)l->p50_ns);
	csv_fmt(out, rr, "%lld", (long long)l->p90_ns);
	csv_fmt(out, rr, "%lld", (long long)l->p99_ns);
	csv_fmt(out, rr, "%lld", (long long)l->p999_ns);
	csv_fmt(out, rr, "%lld", (long long)l->max_ns);
	csv_fmt(out, cpu, "%s", r->cpu.source);
	csv_fmt(out, cpu, "%.4f", r->cpu.util);
	csv_fmt(out, cpu && st && r->cpu.cycles_per_byte > 0, "%.4f", r->cpu.cycles_per_byte);
	csv_fmt(out, cpu && rr && r->cpu.cycles_per_txn > 0, "%.1f", r->cpu.cycles_per_txn);
	csv_str(out, r->gen_cpus[0] ? r->gen_cpus : "any", false);
	csv_str(out, r->resp_cpus[0] ? r->resp_cpus : "any", false);
	csv_str(out, r->complete ? "true" : "false", false);
	csv_ifaces(r, false, false, out);
	csv_ifaces(r, true, false, out);
	csv_tcp(&r->tcp, false, out);
	csv_tcp(&r->server_tcp, false, out);
	char engine[512];
	nb_report_engine(r->path_json, engine, sizeof(engine));
	csv_str(out, engine, true);
	if (r->hops) {
		fputc('\n', out);
		nb_report_write_hops_csv(r->hops, r->path, out, true);
	}
	fflush(out);
	return ferror(out) ? -EIO : 0;
}

void nb_report_write_hops_csv(const struct nb_report_hops *h, const char *path, FILE *out, bool header)
{
	if (header)
		fputs("path,segment,from_if,to_if,direction,netns,unseen,p50_ns,p90_ns,p99_ns,mean_ns,share,"
		      "samples,unmatched\n",
		      out);
	for (unsigned i = 0; i < h->n; i++) {
		const struct nb_report_hop *g = &h->seg[i];
		csv_str(out, path ? path : "", false);
		csv_str(out, g->segment, false);
		csv_str(out, g->from_if, false);
		csv_str(out, g->to_if, false);
		csv_str(out, g->direction, false);
		csv_str(out, g->netns, false);
		csv_str(out, g->unseen, false);
		fprintf(out, "%lld,%lld,%lld,%.1f,%.4f,%llu,%llu\n", (long long)g->p50_ns,
			(long long)g->p90_ns, (long long)g->p99_ns, g->mean_ns, g->share,
			(unsigned long long)g->samples, (unsigned long long)g->unmatched);
	}
}
