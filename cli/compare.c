/* SPDX-License-Identifier: MIT */
/*
 * `nbench compare`: every test on every path, interleaved round robin (never all runs of one path back to
 * back), repeated, with the mean's confidence interval, the ratio against native, and the hop delta of each
 * path against the path it extends. Paths are built once, each with its responder, and torn down at the end.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "stats.h"
#include "nbench/clock.h"
#include "nbench/guest.h"
#include "nbench/report.h"
#include "nbench/topo.h"
#include "nbench/units.h"

#define MAX_PATHS 8
#define MAX_TESTS 8
#define MAX_RUNS  100

#define DEFAULT_PATHS "native,host,bridge,nat"
#define DEFAULT_TESTS "stream,stream-reverse,rr-tcp,rr-udp"

enum placement { PL_SAME, PL_SPLIT };

struct ctest {
	const char *name;
	enum nb_test_kind kind;
	enum nb_proto proto;
	bool reverse;
};

static const struct ctest known_tests[] = {
    {"stream", NB_TEST_STREAM, NB_PROTO_TCP, false}, {"stream-reverse", NB_TEST_STREAM, NB_PROTO_TCP, true},
    {"rr-tcp", NB_TEST_RR, NB_PROTO_TCP, false},     {"rr-udp", NB_TEST_RR, NB_PROTO_UDP, false},
    {"crr", NB_TEST_CRR, NB_PROTO_TCP, false},
};

/* The figures of one run that the table shows. */
static bool metric_applies(const struct ctest *t, enum metric m)
{
	return metrics[m].stream == (t->kind == NB_TEST_STREAM);
}

struct cell { /* one test (in one placement) on one path */
	double v[M_COUNT][MAX_RUNS];
	unsigned n;
	unsigned disturbed, failed;
};

struct hcell {					  /* --hops: one rr test (in one placement) on one path */
	double without[MAX_RUNS], with[MAX_RUNS]; /* mean round trips of the runs without and with capture */
	double p50_without[MAX_RUNS], p50_with[MAX_RUNS]; /* and their medians */
	unsigned n_without, n_with;
	struct nb_report_hops *last; /* the last capture run's decomposition */
};

struct cmp {
	const char *paths[MAX_PATHS];
	unsigned npaths;
	const struct ctest *tests[MAX_TESTS];
	unsigned ntests;
	enum placement pl[2];
	unsigned npl;
	unsigned runs, max_runs;
	double ci_level, ci_pct; /* --ci 95,5 */
	int64_t duration_ns;
	enum cli_format format;
	const char *output;
	const char *json_out; /* --json-out: the JSON too, whatever stdout shows (for nbench plot) */
	const char *key_file; /* --key-file, else $NBENCH_KEY_FILE: the paths' responders require it */
	const char *host;     /* -H: the paths are built on that host by its agent (nbench serve --paths) */
	uint16_t port;	      /* -H: the agent's port */
	bool quiet;
	bool hops;			   /* --hops */
	enum nb_hops_backend hops_backend; /* --hops=B, then what cli_hops_pick chose */
	const char *capture; /* --capture STEM: each run into STEM-PATH-TEST-PLACEMENT-rROUND.pcapng */
	struct hcell hc[MAX_TESTS][2][MAX_PATHS];
	struct cli_path pe[MAX_PATHS];
	struct cell cells[MAX_TESTS][2][MAX_PATHS];
	cJSON *runs_json;
	cJSON
	    *path_details; /* per path, the "start" of its first complete run: hosts, engine, NICs, config */
	const char *baseline, *tolerance; /* --baseline FILE --tolerance PCT (diff_cmd.c) */
	double tol_pct;
	struct {
		char path[16];
		char why[256];
	} skipped[MAX_PATHS];
	unsigned nskipped;
};

static int path_index(const struct cmp *c, const char *p)
{
	for (unsigned i = 0; i < c->npaths; i++)
		if (!strcmp(c->paths[i], p))
			return (int)i;
	return -1;
}

static int parse_list(const char *cmd, const char *opt, char *s, const char **out, unsigned max, unsigned *n)
{
	*n = 0;
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		if (*n == max)
			return cli_usage_error(cmd, "%s: at most %u entries", opt, max);
		for (unsigned i = 0; i < *n; i++)
			if (!strcmp(out[i], tok))
				return cli_usage_error(cmd, "%s: '%s' is given twice", opt, tok);
		out[(*n)++] = tok;
	}
	if (!*n)
		return cli_usage_error(cmd, "%s: the list is empty", opt);
	return 0;
}

static const char *placement_name(enum placement p)
{
	return p == PL_SAME ? "same-core" : "split-spin";
}

static void apply_placement(struct nb_test_cfg *cfg, const struct ctest *t, enum placement p)
{
	/* Streams run unpinned: sender and receiver each take a core, as a bulk transfer would.
	 * Request/response is pinned, so the cost of a hop is not hidden by the 35-40 us of waking the other
	 * vCPU. */
	if (t->kind == NB_TEST_STREAM)
		return;
	if (p == PL_SAME) {
		cfg->cpu_gen = 0;
		cfg->cpu_resp = 0;
	} else {
		cfg->cpu_gen = 0;
		cfg->cpu_resp = 1;
		cfg->wait = NB_WAIT_SPIN;
	}
}

/* What a row of the tables calls its placement: streams always run unpinned. */
static const char *row_placement(const struct cmp *c, const struct ctest *t, unsigned pli)
{
	return t->kind == NB_TEST_STREAM ? "unpinned" : placement_name(c->pl[pli]);
}

static void run_cfg(const struct cmp *c, const struct ctest *t, unsigned pli, unsigned pi,
		    struct nb_test_cfg *cfg)
{
	nb_cfg_defaults(cfg, t->kind);
	cfg->proto = t->proto;
	cfg->reverse = t->reverse;
	cfg->duration_ns = c->duration_ns;
	cfg->warmup_ns = c->duration_ns >= 4 * NB_NS_PER_S ? NB_NS_PER_S : c->duration_ns / 4;
	cfg->interval_ns = 0;
	apply_placement(cfg, t, c->pl[pli]);
	if (nb_topo_has_own_responder(c->pe[pi].topo) && cfg->cpu_resp > 0)
		cfg->cpu_resp = 0; /* the guest has one vCPU */
	nb_cfg_resolve(cfg);
}

/* One entry of "runs" in the JSON output. */
static void run_json(struct cmp *c, unsigned round, const struct ctest *t, unsigned pli, unsigned pi,
		     const struct nb_report *rep, bool ok)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddNumberToObject(j, "round", round);
	cJSON_AddStringToObject(j, "path", c->paths[pi]);
	cJSON_AddStringToObject(j, "test", t->name);
	cJSON_AddStringToObject(j, "placement", row_placement(c, t, pli));
	cJSON_AddBoolToObject(j, "complete", ok);
	if (!ok)
		cJSON_AddStringToObject(j, "error", rep->error);
	cJSON_AddBoolToObject(j, "disturbed", rep->cpu.disturbed);
	if (rep->capture)
		cJSON_AddItemToObject(j, "capture", nb_report_capture_json(rep->capture));
	cJSON_AddStringToObject(j, "gen_cpus", rep->gen_cpus);
	cJSON_AddStringToObject(j, "resp_cpus", rep->resp_cpus);
	for (int m = 0; m < M_COUNT; m++)
		if (metric_applies(t, m))
			cJSON_AddNumberToObject(j, metrics[m].key, metric_of(rep, m));
	cJSON_AddItemToArray(c->runs_json, j);
}

static unsigned rows_of(struct cmp *c, unsigned ti);
static const char *row_placement(const struct cmp *c, const struct ctest *t, unsigned pli);

/* --hops: right after a run without capture, the same test with it; keeps both round trips and the
 * decomposition. */
static void hops_run(struct cmp *c, unsigned round, unsigned ti, unsigned pli, unsigned pi,
		     const struct nb_test_cfg *cfg, const struct nb_hist_stats *without)
{
	struct hcell *h = &c->hc[ti][pli][pi];
	struct nb_report rep;
	nb_report_init(&rep);
	c->pe[pi].hops = true;
	c->pe[pi].hops_backend = c->hops_backend;
	bool ok = cli_path_run(&c->pe[pi], cfg, false, &rep) == 0 && rep.complete && rep.hops;
	c->pe[pi].hops = false;
	if (ok && h->n_with < MAX_RUNS) {
		h->p50_without[h->n_without] = (double)without->p50_ns;
		h->p50_with[h->n_with] = (double)rep.lat.p50_ns;
		h->without[h->n_without++] = without->mean_ns;
		h->with[h->n_with++] = rep.lat.mean_ns;
		free(h->last);
		h->last = rep.hops;
		rep.hops = NULL;
	}
	if (!c->quiet)
		fprintf(stderr, "  round %u  %-14s %-10s %-8s %s\n", round, c->tests[ti]->name, "capture",
			c->paths[pi],
			ok	      ? "ok"
			: rep.n_notes ? rep.notes[0]
				      : rep.error);
	nb_report_free(&rep);
}

/* The hops' share of a decomposition: its "hop out" and "hop back" segments' means; with probe_ns set, each
 * less one probe's cost (ebpf: each segment holds about one). */
static double hop_sum_ns(const struct nb_report_hops *h, double probe_ns)
{
	double sum = 0;
	for (unsigned i = 0; i < h->n; i++)
		if (!strncmp(h->seg[i].segment, "hop ", 4))
			sum += h->seg[i].mean_ns - probe_ns;
	return sum;
}

/* What path pi's hops add to its parent's, beside compare's subtraction of their mean round trips (runs
 * without capture). false when the parent has no decomposition. */
struct hops_vs {
	const char *parent;
	double capture_ns;	  /* hop sum of pi - hop sum of the parent */
	double corrected_ns;	  /* the same with the probes' cost taken out of each hop (ebpf; else NAN) */
	double compare_ns, ci_ns; /* mean round trip of pi - the parent's, and its confidence half-width */
	double p50_ns, p50_ci_ns; /* the same of the median round trips: what the hops are held against */
};

static struct nb_report_hops *hops_of(struct cmp *c, unsigned ti, unsigned pli, unsigned pi);

static bool hops_vs_parent(struct cmp *c, unsigned ti, unsigned pli, unsigned pi, struct hops_vs *v)
{
	const char *par = nb_topo_kind_parent(c->paths[pi]);
	int pp = par ? path_index(c, par) : -1;
	const struct hcell *a = &c->hc[ti][pli][pi], *b = pp >= 0 ? &c->hc[ti][pli][pp] : NULL;
	if (!b || !a->last || !b->last)
		return false;
	hops_of(c, ti, pli, pi); /* their overheads over the rounds, for the probes' cost */
	hops_of(c, ti, pli, (unsigned)pp);
	struct nb_stat sa = nb_stat_of(a->without, a->n_without, c->ci_level);
	struct nb_stat sb = nb_stat_of(b->without, b->n_without, c->ci_level);
	struct nb_stat qa = nb_stat_of(a->p50_without, a->n_without, c->ci_level);
	struct nb_stat qb = nb_stat_of(b->p50_without, b->n_without, c->ci_level);
	double ca = nb_report_hops_probe_ns(a->last), cb = nb_report_hops_probe_ns(b->last);
	*v = (struct hops_vs){par,
			      hop_sum_ns(a->last, 0) - hop_sum_ns(b->last, 0),
			      hop_sum_ns(a->last, ca) - hop_sum_ns(b->last, cb),
			      sa.mean - sb.mean,
			      sqrt(sa.ci * sa.ci + sb.ci * sb.ci),
			      qa.mean - qb.mean,
			      sqrt(qa.ci * qa.ci + qb.ci * qb.ci)};
	return true;
}

/* The decomposition of cell (ti, pli, pi) with its capture overhead over the rounds. */
static struct nb_report_hops *hops_of(struct cmp *c, unsigned ti, unsigned pli, unsigned pi)
{
	struct hcell *h = &c->hc[ti][pli][pi];
	if (!h->last)
		return NULL;
	h->last->rtt_without_ns = nb_stat_of(h->without, h->n_without, c->ci_level).mean;
	h->last->rtt_with_ns = nb_stat_of(h->with, h->n_with, c->ci_level).mean;
	/* the medians' mean over the rounds: what the probes' cost per hit is taken from */
	h->last->rtt_p50_without_ns = (int64_t)nb_stat_of(h->p50_without, h->n_without, c->ci_level).mean;
	h->last->rtt_p50_with_ns = (int64_t)nb_stat_of(h->p50_with, h->n_with, c->ci_level).mean;
	h->last->runs_without = h->n_without;
	h->last->runs_with = h->n_with;
	return h->last;
}

/* "bridge - native: the hops add ...; the median round trip ...: within the interval": the hops (less the
 * probes' cost when it is known: ebpf) held against the subtraction of the median round trips of the runs
 * without them (a shared machine's other work lands in the means first; they are given too). */
static void print_vs(const struct cmp *c, unsigned pi, const struct nb_report_hops *h,
		     const struct hops_vs *v, FILE *out)
{
	bool less = isfinite(v->corrected_ns);
	double hops = less ? v->corrected_ns : v->capture_ns, d = fabs(hops - v->p50_ns);
	char raw[64] = "";
	if (less)
		snprintf(raw, sizeof(raw), "; %+.2f us with it", v->capture_ns / 1e3);
	fprintf(
	    out,
	    "  %s - %s: the hops add %+.2f us (%s%s%s); the median round trip, %+.2f ± %.2f us (runs without "
	    "%s; the mean's %+.2f ± %.2f): %s by %.2f us\n",
	    c->paths[pi], v->parent, hops / 1e3, h->backend, less ? ", less the probes' cost" : "", raw,
	    v->p50_ns / 1e3, v->p50_ci_ns / 1e3, strcmp(h->backend, "ebpf") ? "capture" : "probes",
	    v->compare_ns / 1e3, v->ci_ns / 1e3,
	    d <= v->p50_ci_ns ? "within the interval, apart" : "outside the interval, apart", d / 1e3);
}

static void print_hops_text(struct cmp *c, FILE *out)
{
	for (unsigned ti = 0; ti < c->ntests; ti++)
		for (unsigned pli = 0; pli < rows_of(c, ti); pli++)
			for (unsigned pi = 0; pi < c->npaths; pi++) {
				struct nb_report_hops *h = hops_of(c, ti, pli, pi);
				struct hops_vs v;
				char title[64];
				if (!h)
					continue;
				snprintf(title, sizeof(title), "%s (%s, %s)", c->paths[pi],
					 c->tests[ti]->name, row_placement(c, c->tests[ti], pli));
				fputc('\n', out);
				nb_report_text_hops(h, title, out);
				if (!hops_vs_parent(c, ti, pli, pi, &v))
					continue;
				print_vs(c, pi, h, &v, out);
			}
}

static cJSON *hops_json(struct cmp *c)
{
	cJSON *arr = cJSON_CreateArray();
	for (unsigned ti = 0; ti < c->ntests; ti++)
		for (unsigned pli = 0; pli < rows_of(c, ti); pli++)
			for (unsigned pi = 0; pi < c->npaths; pi++) {
				struct nb_report_hops *h = hops_of(c, ti, pli, pi);
				struct hops_vs v;
				if (!h)
					continue;
				cJSON *o = cJSON_CreateObject();
				cJSON_AddStringToObject(o, "test", c->tests[ti]->name);
				cJSON_AddStringToObject(o, "placement", row_placement(c, c->tests[ti], pli));
				cJSON_AddStringToObject(o, "path", c->paths[pi]);
				cJSON_AddStringToObject(o, "backend", h->backend);
				cJSON_AddItemToObject(o, "hops", nb_report_hops_json(h));
				cJSON_AddNumberToObject(o, "decomposed", (double)h->decomposed);
				cJSON_AddNumberToObject(o, "rtt_mean_ns", h->rtt_mean_ns);
				cJSON_AddNumberToObject(o, "rtt_mean_without_capture_ns", h->rtt_without_ns);
				cJSON_AddNumberToObject(o, "rtt_mean_with_capture_ns", h->rtt_with_ns);
				cJSON_AddNumberToObject(o, "overhead_ns", h->rtt_with_ns - h->rtt_without_ns);
				cJSON_AddNumberToObject(o, "runs_with", h->runs_with);
				cJSON_AddNumberToObject(o, "hop_sum_ns", hop_sum_ns(h, 0));
				if (h->probe_hits > 0)
					cJSON_AddNumberToObject(o, "probe_hits_per_txn", h->probe_hits);
				if (hops_vs_parent(c, ti, pli, pi, &v)) {
					cJSON *p = cJSON_AddObjectToObject(o, "vs_parent");
					cJSON_AddStringToObject(p, "from", v.parent);
					cJSON_AddNumberToObject(p, "hops_delta_ns", v.capture_ns);
					if (isfinite(v.corrected_ns))
						cJSON_AddNumberToObject(p, "hops_delta_less_probes_ns",
									v.corrected_ns);
					else
						cJSON_AddNullToObject(p, "hops_delta_less_probes_ns");
					cJSON_AddNumberToObject(p, "rtt_delta_ns", v.compare_ns);
					if (isfinite(v.ci_ns))
						cJSON_AddNumberToObject(p, "rtt_delta_ci_ns", v.ci_ns);
					else
						cJSON_AddNullToObject(p, "rtt_delta_ci_ns");
					cJSON_AddNumberToObject(p, "rtt_p50_delta_ns", v.p50_ns);
					if (isfinite(v.p50_ci_ns))
						cJSON_AddNumberToObject(p, "rtt_p50_delta_ci_ns",
									v.p50_ci_ns);
					else
						cJSON_AddNullToObject(p, "rtt_p50_delta_ci_ns");
				}
				cJSON_AddItemToArray(arr, o);
			}
	return arr;
}

static void print_hops_csv(struct cmp *c, FILE *out)
{
	bool header = true;
	for (unsigned ti = 0; ti < c->ntests; ti++)
		for (unsigned pli = 0; pli < rows_of(c, ti); pli++)
			for (unsigned pi = 0; pi < c->npaths; pi++) {
				struct nb_report_hops *h = hops_of(c, ti, pli, pi);
				char label[64];
				if (!h)
					continue;
				if (header)
					fputc('\n', out);
				snprintf(label, sizeof(label), "%s/%s", c->paths[pi], c->tests[ti]->name);
				nb_report_write_hops_csv(h, label, out, header);
				header = false;
			}
}

static int one_run(struct cmp *c, unsigned round, unsigned ti, unsigned pli, unsigned pi)
{
	const struct ctest *t = c->tests[ti];
	struct cell *cell = &c->cells[ti][pli][pi];
	struct nb_test_cfg cfg;
	struct nb_report rep;
	bool ok;

	run_cfg(c, t, pli, pi, &cfg);
	nb_report_init(&rep);
	char file[512];
	if (c->capture) { /* STEM (a .pcapng ending dropped) and the run's names */
		size_t n = strlen(c->capture),
		       e = n > 7 && !strcmp(c->capture + n - 7, ".pcapng") ? n - 7 : n;
		snprintf(file, sizeof(file), "%.*s-%s-%s-%s-r%u.pcapng", (int)e, c->capture, c->paths[pi],
			 t->name, row_placement(c, t, pli), round);
		c->pe[pi].capture.file = file;
	}
	ok = cli_path_run(&c->pe[pi], &cfg, false, &rep) == 0 && rep.complete;
	c->pe[pi].capture.file = NULL;
	run_json(c, round, t, pli, pi, &rep, ok);
	if (ok && !cJSON_HasObjectItem(c->path_details, c->paths[pi])) {
		cJSON *doc = cli_report_doc(&rep);
		cJSON *st = doc ? cJSON_DetachItemFromObjectCaseSensitive(doc, "start") : NULL;
		if (st)
			cJSON_AddItemToObject(c->path_details, c->paths[pi], st);
		cJSON_Delete(doc);
	}
	if (ok && cell->n < MAX_RUNS) {
		for (int m = 0; m < M_COUNT; m++)
			cell->v[m][cell->n] = metric_of(&rep, m);
		cell->n++;
		cell->disturbed += rep.cpu.disturbed;
	} else if (!ok) {
		cell->failed++;
	}
	if (!c->quiet)
		fprintf(stderr, "  round %u  %-14s %-10s %-8s %s\n", round, t->name, row_placement(c, t, pli),
			c->paths[pi], ok ? "ok" : rep.error);
	nb_report_free(&rep);
	if (ok && c->hops && t->kind == NB_TEST_RR)
		hops_run(c, round, ti, pli, pi, &cfg, &rep.lat);
	return ok ? 0 : -EIO;
}

/* --ci: every cell's interval of every shown metric within ci_pct of its mean. */
static bool converged(struct cmp *c)
{
	for (unsigned ti = 0; ti < c->ntests; ti++)
		for (unsigned pli = 0; pli < c->npl; pli++)
			for (unsigned pi = 0; pi < c->npaths; pi++)
				for (int m = 0; m < M_COUNT; m++) {
					if (!metric_applies(c->tests[ti], m) || m == M_CPB || m == M_CPT)
						continue;
					struct cell *cell = &c->cells[ti][pli][pi];
					struct nb_stat s = nb_stat_of(cell->v[m], cell->n, c->ci_level);
					if (s.n < 2 || s.ci > fabs(s.mean) * c->ci_pct / 100)
						return false;
				}
	return true;
}

static unsigned rows_of(struct cmp *c, unsigned ti)
{
	return c->tests[ti]->kind == NB_TEST_STREAM ? 1 : c->npl;
}

static void fmt_val(double v, enum metric m, char *buf, size_t len)
{
	double x = v * metrics[m].scale;
	if (m == M_TPS || m == M_CPT)
		snprintf(buf, len, "%.0f", x);
	else if (m == M_CPB)
		snprintf(buf, len, "%.3f", x);
	else
		snprintf(buf, len, "%.2f", x);
}

static void print_skipped(struct cmp *c, FILE *out)
{
	for (unsigned i = 0; i < c->nskipped; i++)
		fprintf(out, "path %s left out: %s\n", c->skipped[i].path, c->skipped[i].why);
}

/* The hops of the kind table, leaving out those from the floor (loopback is no path through a hop). */
static void print_hops(FILE *out)
{
	const char *sep = "";

	fprintf(out, "(ratio = path / native; hop = path - the path it extends: ");
	for (const char *const *k = nb_topo_kinds(); *k; k++) {
		const char *par = nb_topo_kind_parent(*k);

		if (!par || !nb_topo_kind_parent(par))
			continue;
		fprintf(out, "%s%s-%s", sep, *k, par);
		sep = ", ";
	}
	fprintf(out, ")\n");
}

/* The mean of metric m over the runs of path pi (same test and placement); NAN without runs or path. */
static double cell_mean(const struct cmp *c, unsigned ti, unsigned pli, int pi, enum metric m)
{
	const struct cell *cell;

	if (pi < 0 || !c->cells[ti][pli][pi].n)
		return NAN;
	cell = &c->cells[ti][pli][pi];
	return nb_stat_of(cell->v[m], cell->n, c->ci_level).mean;
}

/* mean / native's mean, NAN when there is no native figure to divide by. */
static double ratio_vs_native(const struct cmp *c, unsigned ti, unsigned pli, enum metric m, double mean)
{
	double nm = cell_mean(c, ti, pli, path_index(c, "native"), m);

	return isnan(nm) || nm == 0 ? NAN : mean / nm;
}

/* The kind path pi extends, with mean minus that one's mean in *delta; NULL when it was not measured. */
static const char *hop_of(const struct cmp *c, unsigned ti, unsigned pli, unsigned pi, enum metric m,
			  double mean, double *delta)
{
	const char *par = nb_topo_kind_parent(c->paths[pi]);
	double pm = par ? cell_mean(c, ti, pli, path_index(c, par), m) : NAN;

	if (isnan(pm))
		return NULL;
	*delta = mean - pm;
	return par;
}

static void print_guests(struct cmp *c, FILE *out)
{
	for (unsigned pi = 0; pi < c->npaths; pi++) {
		struct nb_topo_guest g;
		if (c->pe[pi].topo && !nb_topo_guest(c->pe[pi].topo, &g))
			fprintf(out, "%s: guest kernel %s, accel %s, backend %s, booted in %.1f s%s\n",
				c->paths[pi], g.kernel_version, g.accel, g.backend, (double)g.boot_ns / 1e9,
				strcmp(g.accel, "tcg")
				    ? ""
				    : "; EMULATION-BOUND (TCG): its figures measure qemu's emulator");
	}
}

/* One line of the text table: metric m of path pi. */
static void print_row(struct cmp *c, FILE *out, unsigned ti, unsigned pli, unsigned pi, enum metric m)
{
	struct cell *cell = &c->cells[ti][pli][pi];
	struct nb_stat s = nb_stat_of(cell->v[m], cell->n, c->ci_level);
	char label[48], mean[24], ci[24], val[64], ratio[16] = "", hop[32] = "", d[24];
	double r = ratio_vs_native(c, ti, pli, m, s.mean), delta;

	metric_label(m, label, sizeof(label));
	fmt_val(s.mean, m, mean, sizeof(mean));
	if (isfinite(s.ci))
		fmt_val(s.ci, m, ci, sizeof(ci));
	else
		snprintf(ci, sizeof(ci), "?");
	snprintf(val, sizeof(val), "%s ± %s", mean, ci);
	if (!isnan(r))
		snprintf(ratio, sizeof(ratio), "%.2fx", r);
	if (hop_of(c, ti, pli, pi, m, s.mean, &delta)) {
		fmt_val(delta, m, d, sizeof(d));
		snprintf(hop, sizeof(hop), "%s%s", delta >= 0 ? "+" : "", d);
	}
	fprintf(out, "  %-24s %-10s %22s %8s %14s  %u%s%s\n", pi == 0 ? label : "", c->paths[pi],
		cell->n ? val : "failed", ratio, hop, cell->n, cell->failed ? " (some failed)" : "",
		cell->disturbed ? " (disturbed)" : "");
}

static void print_text(struct cmp *c, FILE *out)
{
	fprintf(out,
		"\nnbench compare: %u paths x %u tests, %.0f s per run, mean ± %.0f%% confidence interval\n",
		c->npaths, c->ntests, (double)c->duration_ns / 1e9, c->ci_level);
	print_hops(out);
	print_guests(c, out);
	for (unsigned ti = 0; ti < c->ntests; ti++) {
		const struct ctest *t = c->tests[ti];
		for (unsigned pli = 0; pli < rows_of(c, ti); pli++) {
			fprintf(out, "\n%s%s%s\n", t->name, t->kind == NB_TEST_STREAM ? " (unpinned)" : ", ",
				t->kind == NB_TEST_STREAM ? "" : placement_name(c->pl[pli]));
			fprintf(out, "  %-24s %-10s %22s %8s %14s  %s\n", "metric", "path", "mean ± ci",
				"ratio", "hop delta", "runs");
			for (int m = 0; m < M_COUNT; m++)
				for (unsigned pi = 0; metric_applies(t, m) && pi < c->npaths; pi++)
					print_row(c, out, ti, pli, pi, m);
		}
	}
}

/* The summary of metric m of path pi: mean, ci, ratio_vs_native, hop. */
static void metric_json(struct cmp *c, cJSON *o, unsigned ti, unsigned pli, unsigned pi, enum metric m)
{
	struct cell *cell = &c->cells[ti][pli][pi];
	struct nb_stat s = nb_stat_of(cell->v[m], cell->n, c->ci_level);
	cJSON *mo = cJSON_AddObjectToObject(o, metrics[m].key);
	double r = ratio_vs_native(c, ti, pli, m, s.mean), delta;
	const char *par = hop_of(c, ti, pli, pi, m, s.mean, &delta);

	cJSON_AddNumberToObject(mo, "mean", s.mean);
	if (isfinite(s.ci))
		cJSON_AddNumberToObject(mo, "ci", s.ci);
	else
		cJSON_AddNullToObject(mo, "ci");
	if (!isnan(r))
		cJSON_AddNumberToObject(mo, "ratio_vs_native", r);
	if (par) {
		cJSON *h = cJSON_AddObjectToObject(mo, "hop");
		cJSON_AddStringToObject(h, "from", par);
		cJSON_AddNumberToObject(h, "delta", delta);
	}
}

static cJSON *summary_json(struct cmp *c)
{
	cJSON *arr = cJSON_CreateArray();
	for (unsigned ti = 0; ti < c->ntests; ti++)
		for (unsigned pli = 0; pli < rows_of(c, ti); pli++)
			for (unsigned pi = 0; pi < c->npaths; pi++) {
				const struct ctest *t = c->tests[ti];
				struct cell *cell = &c->cells[ti][pli][pi];
				cJSON *o = cJSON_CreateObject();
				cJSON_AddStringToObject(o, "test", t->name);
				cJSON_AddStringToObject(o, "placement", row_placement(c, t, pli));
				cJSON_AddStringToObject(o, "path", c->paths[pi]);
				cJSON_AddNumberToObject(o, "runs", cell->n);
				cJSON_AddNumberToObject(o, "failed", cell->failed);
				cJSON_AddNumberToObject(o, "disturbed", cell->disturbed);
				for (int m = 0; m < M_COUNT; m++)
					if (metric_applies(t, m))
						metric_json(c, o, ti, pli, pi, m);
				cJSON_AddItemToArray(arr, o);
			}
	return arr;
}

static void print_csv(struct cmp *c, FILE *out)
{
	fprintf(out, "test,placement,path,metric,runs,mean,ci,ratio_vs_native\n");
	for (unsigned ti = 0; ti < c->ntests; ti++)
		for (unsigned pli = 0; pli < rows_of(c, ti); pli++)
			for (unsigned pi = 0; pi < c->npaths; pi++)
				for (int m = 0; m < M_COUNT; m++) {
					const struct ctest *t = c->tests[ti];
					if (!metric_applies(t, m))
						continue;
					struct cell *cell = &c->cells[ti][pli][pi];
					struct nb_stat s = nb_stat_of(cell->v[m], cell->n, c->ci_level);
					double ratio = ratio_vs_native(c, ti, pli, m, s.mean);
					fprintf(out, "%s,%s,%s,%s,%u,%.6g,", t->name,
						row_placement(c, t, pli), c->paths[pi], metrics[m].key,
						cell->n, s.mean);
					if (isfinite(s.ci))
						fprintf(out, "%.6g", s.ci);
					fputc(',', out);
					if (isfinite(ratio))
						fprintf(out, "%.4f", ratio);
					fputc('\n', out);
				}
}

/* What ran the server end of each VM path. */
static void guests_json(struct cmp *c, cJSON *st)
{
	cJSON *gu = cJSON_AddObjectToObject(st, "guests");
	for (unsigned i = 0; gu && i < c->npaths; i++) {
		struct nb_topo_guest g;
		if (!c->pe[i].topo || nb_topo_guest(c->pe[i].topo, &g))
			continue;
		cJSON *go = cJSON_AddObjectToObject(gu, c->paths[i]);
		cJSON_AddStringToObject(go, "kernel_version", g.kernel_version);
		cJSON_AddStringToObject(go, "accel", g.accel);
		cJSON_AddStringToObject(go, "accel_why", g.accel_why);
		cJSON_AddBoolToObject(go, "emulation_bound", !strcmp(g.accel, "tcg"));
		cJSON_AddStringToObject(go, "backend", g.backend);
		cJSON_AddNumberToObject(go, "boot_ns", (double)g.boot_ns);
	}
}

/* "start": what was asked and what could not be built. */
static void start_json(struct cmp *c, cJSON *j)
{
	cJSON *st = cJSON_AddObjectToObject(j, "start");
	cJSON *pa = cJSON_AddArrayToObject(st, "paths");
	for (unsigned i = 0; i < c->npaths; i++)
		cJSON_AddItemToArray(pa, cJSON_CreateString(c->paths[i]));
	cJSON *te = cJSON_AddArrayToObject(st, "tests");
	for (unsigned i = 0; i < c->ntests; i++)
		cJSON_AddItemToArray(te, cJSON_CreateString(c->tests[i]->name));
	cJSON *pl = cJSON_AddArrayToObject(st, "placements");
	for (unsigned i = 0; i < c->npl; i++)
		cJSON_AddItemToArray(pl, cJSON_CreateString(placement_name(c->pl[i])));
	cJSON_AddNumberToObject(st, "duration_s", (double)c->duration_ns / 1e9);
	cJSON_AddNumberToObject(st, "ci_level", c->ci_level);
	cJSON *sk = cJSON_AddArrayToObject(st, "skipped_paths");
	for (unsigned i = 0; i < c->nskipped; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "path", c->skipped[i].path);
		cJSON_AddStringToObject(o, "reason", c->skipped[i].why);
		cJSON_AddItemToArray(sk, o);
	}
	guests_json(c, st);
	cJSON_AddItemReferenceToObject(st, "path_details", c->path_details);
}

/* The JSON report: what --json prints and what --baseline reads. */
static cJSON *compare_doc(struct cmp *c)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "schema_version", 1);
	cJSON_AddStringToObject(j, "command", "compare");
	start_json(c, j);
	cJSON_AddItemReferenceToObject(j, "runs", c->runs_json);
	cJSON_AddItemToObject(j, "summary", summary_json(c));
	if (c->hops)
		cJSON_AddItemToObject(j, "hops", hops_json(c));
	return j;
}

static void write_out(struct cmp *c, FILE *out)
{
	if (c->format == CLI_JSON) {
		cJSON *j = compare_doc(c);
		char *txt = cJSON_Print(j);
		fprintf(out, "%s\n", txt);
		free(txt);
		cJSON_Delete(j);
	} else if (c->format == CLI_CSV) {
		print_csv(c, out);
		if (c->hops)
			print_hops_csv(c, out);
	} else {
		print_text(c, out);
		if (c->hops)
			print_hops_text(c, out);
		print_skipped(c, out);
	}
}

static void compare_help(void)
{
	char kinds[128];

	printf(
	    "usage: nbench compare [--paths " DEFAULT_PATHS "] [--tests " DEFAULT_TESTS "]\n"
	    "                      [--runs N] [--ci LEVEL,PCT] [--max-runs N] [-t SEC] [--placement "
	    "same|split|both]\n"
	    "                      [--json|--csv] [-o FILE] [--json-out FILE] [-q] [-H SERVER [--port P]] "
	    "[--key-file FILE]\n"
	    "                      [--hops] [--baseline FILE [--tolerance PCT]]\n"
	    "  Every test on every path, interleaved round robin and repeated; mean, confidence interval, "
	    "ratio\n"
	    "  against native and the hop delta of each path against the one it extends.\n"
	    "  paths: %s\n"
	    "  tests: stream stream-reverse rr-tcp rr-udp crr\n"
	    "  --runs N (5)         rounds; with --ci 95,5 rounds go on until every interval is within 5%%\n"
	    "                       of its mean (at most --max-runs, default 20)\n"
	    "  --placement P        rr/crr: same (both ends on CPU 0, default), split (CPU 0 and 1, "
	    "spinning),\n"
	    "                       or both; streams always run unpinned\n"
	    "  --wire IF_A,IF_B     two ports of this host as the wire; --wire-rate R shapes it (tbf)\n"
	    "  -H, --host SERVER    build each path's server half on SERVER (its `nbench serve --paths\n"
	    "                       --key-file K`); needs --key-file\n"
	    "  --port PORT          -H: the agent's port (12865)\n"
	    "  --key-file FILE      the paths' responders require this key (default: "
	    "$NBENCH_KEY_FILE)\n"

	    "  --hops[=B]           rr tests: after each run the same with timestamps on every interface of\n"
	    "                       the path and at both sockets: a waterfall per path, their overhead,\n"
	    "                       and each path's hops beside the hop delta; B: ebpf (kernel probes,\n"
	    "                       the default where BPF may run), pcap (libpcap), auto\n"
	    "  --capture STEM       each run's packets on every interface of its path into\n"
	    "                       STEM-PATH-TEST-PLACEMENT-rROUND.pcapng (pcapng; not with --hops)\n"
	    "  --baseline FILE      after the rounds, exit 1 when a metric is worse than FILE's by more\n"
	    "                       than --tolerance PCT (5%%) beyond its interval (see nbench diff)\n",
	    nb_topo_kinds_join(kinds, sizeof(kinds), " "));
}

/* One option's value into c; 0, or 2 after a one-line error. */
static int compare_opt(struct cmp *c, int ch, const char *arg, bool *runs_given)
{
	uint64_t u;
	int64_t ns;

	switch (ch) {
	case 'n':
		if (nb_parse_uint(arg, 1, MAX_RUNS, &u) < 0)
			return cli_usage_error("compare", "--runs: '%s' is not a number from 1 to %d", arg,
					       MAX_RUNS);
		c->runs = (unsigned)u;
		*runs_given = true;
		return 0;
	case 'm':
		if (nb_parse_uint(arg, 2, MAX_RUNS, &u) < 0)
			return cli_usage_error("compare", "--max-runs: '%s' is not a number from 2 to %d",
					       arg, MAX_RUNS);
		c->max_runs = (unsigned)u;
		return 0;
	case 'c': {
		double lv, pct;
		char extra;
		if (sscanf(arg, "%lf,%lf%c", &lv, &pct, &extra) != 2 || (lv != 95 && lv != 99) || pct <= 0 ||
		    pct > 100)
			return cli_usage_error(
			    "compare", "--ci: '%s' is not LEVEL,PCT with LEVEL 95 or 99 and PCT in (0,100]",
			    arg);
		c->ci_level = lv;
		c->ci_pct = pct;
		return 0;
	}
	case 't':
		if (nb_parse_duration(arg, &ns) < 0 || ns < 100 * NB_NS_PER_MS || ns > 3600 * NB_NS_PER_S)
			return cli_usage_error("compare", "-t: '%s' is not a duration from 100ms to 3600 s",
					       arg);
		c->duration_ns = ns;
		return 0;
	case 'L':
		if (!strcmp(arg, "same"))
			c->pl[0] = PL_SAME, c->npl = 1;
		else if (!strcmp(arg, "split"))
			c->pl[0] = PL_SPLIT, c->npl = 1;
		else if (!strcmp(arg, "both"))
			c->pl[0] = PL_SAME, c->pl[1] = PL_SPLIT, c->npl = 2;
		else
			return cli_usage_error("compare", "--placement: '%s' is not same, split or both",
					       arg);
		return 0;
	}
	return 0;
}

/* The command line into c and the two lists; 0, 1 after --help, or 2 after a one-line error. */
static int compare_parse(struct cmp *c, int argc, char **argv, char *paths, char *tests, size_t len)
{
	static const struct option opts[] = {
	    {"paths", required_argument, NULL, 'p'},
	    {"tests", required_argument, NULL, 'T'},
	    {"runs", required_argument, NULL, 'n'},
	    {"ci", required_argument, NULL, 'c'},
	    {"max-runs", required_argument, NULL, 'm'},
	    {"time", required_argument, NULL, 't'},
	    {"placement", required_argument, NULL, 'L'},
	    {"json", no_argument, NULL, 'j'},
	    {"csv", no_argument, NULL, 'v'},
	    {"output", required_argument, NULL, 'o'},
	    {"json-out", required_argument, NULL, 'J'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"hops", optional_argument, NULL, 'X'},
	    {"key-file", required_argument, NULL, 'K'},
	    {"help", no_argument, NULL, 'h'},
	    {"wire", required_argument, NULL, 'W'},
	    {"wire-rate", required_argument, NULL, 'R'},
	    {"force", no_argument, NULL, 'F'},
	    {"host", required_argument, NULL, 'H'},
	    {"port", required_argument, NULL, 'P'},
	    {"baseline", required_argument, NULL, 'B'},
	    {"tolerance", required_argument, NULL, 'O'},
	    {"capture", required_argument, NULL, 'C'},
	    {0},
	};
	bool runs_given = false;
	const char *env_key = getenv("NBENCH_KEY_FILE");
	c->key_file = env_key && env_key[0] ? env_key : NULL;
	int ch, rc = 0;

	optind = 1;
	opterr = 0;
	while (!rc && (ch = getopt_long(argc, argv, ":t:o:qhH:", opts, NULL)) != -1) {
		const char *opt = argv[optind - 1];
		if (ch == 'p' || ch == 'T')
			snprintf(ch == 'p' ? paths : tests, len, "%s", optarg);
		else if (ch == 'j' || ch == 'v')
			c->format = ch == 'j' ? CLI_JSON : CLI_CSV;
		else if (ch == 'o' || ch == 'J')
			*(ch == 'o' ? &c->output : &c->json_out) = optarg;
		else if (ch == 'B' || ch == 'O')
			*(ch == 'B' ? &c->baseline : &c->tolerance) = optarg;
		else if (ch == 'q')
			c->quiet = true;
		else if (ch == 'C')
			c->capture = optarg;
		else if (ch == 'X') {
			c->hops = true;
			if (optarg && nb_hops_parse_backend(optarg, &c->hops_backend) < 0)
				rc = cli_usage_error("compare", "--hops: '%s' is not ebpf, pcap or auto",
						     optarg);
		} else if (ch == 'W' || ch == 'F')
			cli_wire.ifs = ch == 'W' ? optarg : cli_wire.ifs, cli_wire.force |= ch == 'F';
		else if (ch == 'R') {
			if (nb_parse_rate(optarg, &cli_wire.rate_bps) || cli_wire.rate_bps <= 0)
				rc = cli_usage_error("compare", "--wire-rate: '%s' is not a rate in bits/s",
						     optarg);
		} else if (ch == 'K')
			c->key_file = optarg;
		else if (ch == 'H')
			c->host = optarg;
		else if (ch == 'P') {
			if (cli_parse_port(optarg, &c->port) < 0)
				rc = cli_usage_error("compare", "--port: '%s' is not a port number (1-65535)",
						     optarg);
		} else if (ch == 'h') {
			compare_help();
			return 1;
		} else if (ch == ':')
			rc = cli_usage_error("compare", "%s needs a value", opt);
		else if (ch > 0 && strchr("nmctL", ch))
			rc = compare_opt(c, ch, optarg, &runs_given);
		else
			rc = cli_usage_error("compare", "unknown option '%s' (see nbench compare --help)",
					     opt);
	}
	if (!rc && optind < argc)
		rc = cli_usage_error("compare", "unexpected argument '%s'", argv[optind]);
	if (!rc && c->key_file) { /* a bad key file is bad usage, said once rather than once per path */
		struct nb_key k;
		char err[512];
		if (nb_key_load(c->key_file, &k, err, sizeof(err)) < 0)
			rc = cli_usage_error("compare", "%s", err);
		nb_key_wipe(&k);
	}
	if (!rc && c->port && !c->host)
		rc = cli_usage_error("compare", "--port is the agent's, with -H");
	if (!rc && c->host && c->hops)
		rc = cli_usage_error("compare", "--hops captures on paths of this host: not with -H");
	if (!rc && c->capture && (c->hops || c->host))
		rc = cli_usage_error("compare",
				     "--capture is for paths of this host, without --hops (it would "
				     "count the capture's cost as the probes')");
	char err[256];
	if (!rc && c->hops && cli_hops_pick("compare", &c->hops_backend, NB_TEST_RR, NULL, err, sizeof(err)))
		rc = cli_usage_error("compare", "%s", err);
	if (!rc && c->host && !c->key_file)
		rc =
		    cli_usage_error("compare", "-H needs --key-file (the agent's key: nbench serve --paths)");
	if (!rc && c->host && (cli_wire.ifs || cli_wire.rate_bps > 0))
		rc = cli_usage_error("compare",
				     "--wire and --wire-rate are for paths built on one host, not with -H");
	if (!rc && c->ci_pct > 0 && !runs_given)
		c->runs = 3;
	if (c->max_runs < c->runs)
		c->max_runs = c->runs;
	if (!rc)
		rc = cli_baseline_ready("compare", c->baseline, c->tolerance, &c->tol_pct);
	return rc;
}

/* --paths and --tests into c; 0 or 2 after a one-line error. */
static int compare_lists(struct cmp *c, char *paths, char *tests)
{
	const char *tnames[MAX_TESTS];
	char kinds[128];
	int rc;

	if ((rc = parse_list("compare", "--paths", paths, c->paths, MAX_PATHS, &c->npaths)))
		return rc;
	for (unsigned i = 0; i < c->npaths; i++)
		if (!nb_topo_kind_valid(c->paths[i]))
			return cli_usage_error("compare", "--paths: unknown path '%s' (%s)", c->paths[i],
					       nb_topo_kinds_join(kinds, sizeof(kinds), ", "));
	if ((rc = parse_list("compare", "--tests", tests, tnames, MAX_TESTS, &c->ntests)))
		return rc;
	for (unsigned i = 0; i < c->ntests; i++) {
		c->tests[i] = NULL;
		for (size_t k = 0; k < sizeof(known_tests) / sizeof(known_tests[0]); k++)
			if (!strcmp(known_tests[k].name, tnames[i]))
				c->tests[i] = &known_tests[k];
		if (!c->tests[i])
			return cli_usage_error(
			    "compare",
			    "--tests: unknown test '%s' (stream, stream-reverse, rr-tcp, rr-udp, crr)",
			    tnames[i]);
	}
	return 0;
}

/* Builds every path with its responder. A path this machine cannot build (no vhost-net, no bridge) is left
 * out with its reason; the others run. 0, or -EPERM when no path will build (said once). */
static int build_paths(struct cmp *c)
{
	for (unsigned pi = 0; pi < c->npaths;) {
		char err[256];
		if (!c->quiet)
			fprintf(stderr, "nbench compare: building path %s\n", c->paths[pi]);
		int r = c->host ? cli_remote_open(c->host, c->port ? c->port : NB_DEFAULT_PORT, c->paths[pi],
						  c->key_file, &c->pe[pi], err, sizeof(err))
				: cli_path_open(c->paths[pi], NULL, NB_DEFAULT_PORT, c->key_file, &c->pe[pi],
						err, sizeof(err));
		if (r == -EPERM || r == -EACCES) {
			fprintf(stderr, "nbench compare: %s\n", err);
			return -EPERM;
		}
		if (r < 0) {
			fprintf(stderr, "nbench compare: path %s left out: %s\n", c->paths[pi], err);
			snprintf(c->skipped[c->nskipped].path, sizeof(c->skipped[0].path), "%s",
				 c->paths[pi]);
			snprintf(c->skipped[c->nskipped].why, sizeof(c->skipped[0].why), "%s", err);
			c->nskipped++;
			memmove(&c->paths[pi], &c->paths[pi + 1], (c->npaths - pi - 1) * sizeof(c->paths[0]));
			c->npaths--;
			continue;
		}
		pi++;
	}
	return 0;
}

/* Round robin: each round runs every test on every path; the order of paths rotates each round so no path
 * always runs first (warm caches, a neighbour's burst) or after the same one. */
static void run_rounds(struct cmp *c)
{
	for (unsigned round = 1; round <= c->max_runs && !cli_quitting(); round++) {
		if (round > c->runs && (c->ci_pct <= 0 || converged(c)))
			break;
		for (unsigned ti = 0; ti < c->ntests && !cli_quitting(); ti++)
			for (unsigned pli = 0; pli < rows_of(c, ti) && !cli_quitting(); pli++)
				for (unsigned k = 0; k < c->npaths && !cli_quitting(); k++)
					one_run(c, round, ti, pli, (k + round - 1) % c->npaths);
	}
}

/* The table in format into path; -errno after a one-line error. */
static int write_file(struct cmp *c, const char *path, enum cli_format format)
{
	enum cli_format shown = c->format;
	FILE *f = fopen(path, "w");
	if (!f) {
		int r = -errno;
		fprintf(stderr, "nbench compare: cannot write %s: %s\n", path, strerror(errno));
		return r;
	}
	c->format = format;
	write_out(c, f);
	c->format = shown;
	return fclose(f) ? -EIO : 0;
}

/* The table on stdout and in -o FILE (and --json-out FILE); the exit status: 1 when interrupted, unwritten or
 * a cell is empty. */
static int report(struct cmp *c)
{
	int rc = 0;

	if (cli_quitting()) {
		fprintf(stderr, "nbench compare: interrupted; the table shows the runs that finished\n");
		rc = 1;
	}
	write_out(c, stdout);
	if (c->output && write_file(c, c->output, c->format) < 0)
		rc = 1;
	if (c->json_out && write_file(c, c->json_out, CLI_JSON) < 0)
		rc = 1;
	for (unsigned ti = 0; ti < c->ntests; ti++)
		for (unsigned pli = 0; pli < rows_of(c, ti); pli++)
			for (unsigned pi = 0; pi < c->npaths; pi++)
				if (!c->cells[ti][pli][pi].n)
					rc = 1;
	if (c->baseline && !cli_quitting()) {
		char note[512] = "";
		cJSON *doc = compare_doc(c);
		int g = cli_baseline_check("compare", c->baseline, c->tol_pct, doc, note, sizeof(note));
		cJSON_Delete(doc);
		if (note[0])
			fprintf(stderr, "nbench compare: %s\n", note);
		rc = rc ? rc : g;
	}
	return rc;
}

int cmd_compare(int argc, char **argv)
{
	char paths[256] = DEFAULT_PATHS, tests[256] = DEFAULT_TESTS;
	struct cmp *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return 1;
	*c =
	    (struct cmp){.runs = 5, .max_runs = 20, .duration_ns = 5 * NB_NS_PER_S, .ci_level = 95, .npl = 1};
	c->pl[0] = PL_SAME;
	rc = compare_parse(c, argc, argv, paths, tests, sizeof(paths));
	if (!rc)
		rc = compare_lists(c, paths, tests);
	if (rc) {
		free(c);
		return rc == 1 ? 0 : rc; /* 1: --help */
	}
	cli_catch_signals();
	c->runs_json = cJSON_CreateArray();
	c->path_details = cJSON_CreateObject();
	rc = build_paths(c) ? 1 : 0;
	if (!rc && !c->npaths) {
		fprintf(stderr, "nbench compare: no path could be built\n");
		rc = 1;
	}
	if (!rc) {
		run_rounds(c);
		rc = report(c);
	}
	for (unsigned pi = 0; pi < c->npaths; pi++)
		cli_path_close(&c->pe[pi]);
	for (unsigned k = 0; k < MAX_TESTS * 2 * MAX_PATHS; k++)
		free((&c->hc[0][0][0])[k].last);
	cJSON_Delete(c->runs_json);
	cJSON_Delete(c->path_details);
	free(c);
	return rc;
}
