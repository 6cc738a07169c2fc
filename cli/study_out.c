/* SPDX-License-Identifier: MIT */
/* `nbench study`'s output (study_out.h): one table of rows (analyze/study.c) as text and as JSON. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "nbench/clock.h"
#include "nbench/proto.h"
#include "nbench/report.h"
#include "nbench/sysinfo.h"
#include "nbench/units.h"
#include "study_out.h"

#define MAX_ROWS     (NB_STUDY_MAX_FIGURES * NB_COMPARE_MAX_PATHS)
#define MAX_POINTS   (NB_STUDYRUN_MAX_CONNS * NB_COMPARE_MAX_PATHS)
#define MAX_VERDICTS 32

void cli_study_left_out(struct cli_study *o, const char *path, const char *why)
{
	if (o->nleft >= CLI_STUDY_MAX_LEFT)
		return;
	snprintf(o->left[o->nleft].path, sizeof(o->left[0].path), "%s", path);
	snprintf(o->left[o->nleft].why, sizeof(o->left[0].why), "%s", why);
	o->nleft++;
}

/* Everything the writers show, computed once. */
struct view {
	struct nb_study_row rows[MAX_ROWS];
	unsigned nrows;
	struct nb_study_redis_point pts[MAX_POINTS];
	unsigned npts;
	struct nb_study_redis_verdict verdicts[MAX_VERDICTS];
	unsigned nverdicts;
	char sockbuf[320]; /* this host's TCP buffer sysctls */
};

/* The first line of /proc/sys/<key> (dots as slashes), its whitespace runs as single spaces; "?" unread. */
static void sysctl_line(const char *key, char *buf, size_t len)
{
	char path[128], raw[128];
	snprintf(path, sizeof(path), "/proc/sys/%s", key);
	for (char *p = path + 10; *p; p++)
		*p = *p == '.' ? '/' : *p;
	FILE *f = fopen(path, "r");
	if (!f || !fgets(raw, sizeof(raw), f))
		snprintf(raw, sizeof(raw), "?");
	if (f)
		fclose(f);
	size_t n = 0;
	for (const char *p = raw; *p && *p != '\n' && n + 1 < len; p++)
		if (!(*p == ' ' || *p == '\t') || (n && buf[n - 1] != ' '))
			buf[n++] = *p == '\t' ? ' ' : *p;
	buf[n] = '\0';
}

static void make_view(const struct cli_study *o, struct view *v)
{
	const char *kinds[NB_COMPARE_MAX_PATHS];
	const struct nb_compare_cfg *cc = &o->r->cc;
	void *arg[2] = {o->r, (void *)o->s};
	char rm[64], wm[64], tr[64], tw[64];
	for (unsigned i = 0; i < cc->npaths; i++)
		kinds[i] = cc->paths[i];
	v->nrows =
	    nb_study_table(o->s, kinds, cc->npaths, nb_studyrun_measure, arg, o->margin, v->rows, MAX_ROWS);
	v->npts = o->r->cfg.nconns ? nb_studyrun_redis_points(o->r, v->pts) : 0;
	v->nverdicts = nb_study_redis_judge(o->s, v->pts, v->npts, o->margin, v->verdicts, MAX_VERDICTS);
	sysctl_line("net.ipv4.tcp_rmem", tr, sizeof(tr));
	sysctl_line("net.ipv4.tcp_wmem", tw, sizeof(tw));
	sysctl_line("net.core.rmem_max", rm, sizeof(rm));
	sysctl_line("net.core.wmem_max", wm, sizeof(wm));
	snprintf(v->sockbuf, sizeof(v->sockbuf), "tcp_rmem %s, tcp_wmem %s, rmem_max %s, wmem_max %s", tr, tw,
		 rm, wm);
}

/* ---- text ---- */

/* A figure's value as its unit is best read. */
static const char *fmt_val(double x, const char *unit, char *buf, size_t len)
{
	if (!isfinite(x))
		snprintf(buf, len, "-");
	else if (!strcmp(unit, "cycles/byte"))
		snprintf(buf, len, "%.3f", x);
	else if (!strcmp(unit, "us"))
		snprintf(buf, len, x < 100 ? "%.2f" : "%.1f", x);
	else
		snprintf(buf, len, "%.0f", x);
	return buf;
}

/* "v [lo, hi]" (just v for a single round, "-" for none). */
static const char *fmt_ci(double x, double lo, double hi, const char *unit, char *buf, size_t len)
{
	char a[24], b[24], c[24];
	fmt_val(x, unit, a, sizeof(a));
	if (!isfinite(x) || !isfinite(lo) || lo == hi)
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s [%s, %s]", a, fmt_val(lo, unit, b, sizeof(b)),
			 fmt_val(hi, unit, c, sizeof(c)));
	return buf;
}

static const char *fmt_ratio(double r, double lo, double hi, char *buf, size_t len)
{
	if (!isfinite(r))
		snprintf(buf, len, "-");
	else if (!isfinite(lo) || lo == hi)
		snprintf(buf, len, "%.3f", r);
	else
		snprintf(buf, len, "%.3f [%.3f, %.3f]", r, lo, hi);
	return buf;
}

/* The verdict with the size of the difference where there is one. */
static const char *fmt_verdict(const struct nb_study_judgement *j, char *buf, size_t len)
{
	const char *name = nb_study_verdict_name(j->verdict);
	if ((j->verdict == NB_VERDICT_DIFFERS || j->verdict == NB_VERDICT_DIRECTION ||
	     j->verdict == NB_VERDICT_UNRESOLVED) &&
	    isfinite(j->diff_pct))
		snprintf(buf, len, "%s: %+.1f%% [%+.1f, %+.1f]", name, j->diff_pct, j->diff_lo_pct,
			 j->diff_hi_pct);
	else
		snprintf(buf, len, "%s", name);
	return buf;
}

static void text_settings(const struct cli_study *o, const struct view *v, FILE *out)
{
	const struct nb_studyrun *r = o->r;
	const struct nb_studyrun_cfg *c = &r->cfg;
	char a[32];
	fprintf(out, "nbench study: %s, \"%s\" (the study's figures: %s)\n", o->s->name, o->s->title,
		o->data_file);
	fprintf(out, "settings:\n  paths      ");
	for (unsigned i = 0; i < r->cc.npaths; i++)
		fprintf(out, "%s%s", i ? " " : "", r->cc.paths[i]);
	fprintf(out, " (native the reference)%s\n",
		r->two_hosts ? "; server halves on -H's host, the system "
			       "under test"
			     : "");
	fprintf(out,
		"  rounds     %u of %u, every test on every path once per round in a random order (seed "
		"%llu); %s "
		"runs after %s warm-up\n",
		r->rounds, c->rounds, (unsigned long long)r->seed,
		nb_fmt_ns((double)c->duration_ns, a, sizeof(a)),
		c->duration_ns >= 4 * NB_NS_PER_S ? "1 s" : "a quarter's");
	fprintf(out,
		"  stream     1 TCP connection, 128 KiB writes, each way (SUT transmits: stream-reverse, "
		"receives: stream)\n");
	fprintf(out,
		"  rr         TCP_RR and UDP_RR, 100-byte requests, 200-byte responses, 1 in flight, %s; "
		"latency = 1/transactions per s, as netperf's\n",
		c->placement == NB_PLACE_SAME ? "both ends on CPU 0" : "CPU 0 and 1, spinning");
	if (r->two_hosts)
		fprintf(out, "  wire       the link to %s (unshaped)\n", c->where.host);
	else if (c->where.wire.rate_bps > 0)
		fprintf(out, "  wire       %s, shaped to %s each way (tbf)\n",
			c->where.wire.ifs ? c->where.wire.ifs : "a veth pair",
			nb_fmt_bps(c->where.wire.rate_bps, a, sizeof(a)));
	else
		fprintf(out, "  wire       %s, unshaped\n",
			c->where.wire.ifs ? c->where.wire.ifs : "a veth pair");
	fprintf(out,
		"  buffers    TCP autotuning, none set (as nuttcp -t and netperf ran: the study's 4 MiB "
		"rmem_max/wmem_max only cap explicit sizes); %s\n",
		v->sockbuf);
	fprintf(out, "  cpu        system-wide on the system under test (%s), from %s\n",
		!r->two_hosts	   ? "this host: both ends, and a guest's qemu"
		: r->sut_same_host ? "the server, which is this machine too: both ends"
				   : "the server host",
		r->cpu_source[0] ? r->cpu_source : "-");
	fprintf(
	    out,
	    "  verdicts   parity is within %.1f%% of 1. holds: nbench's interval holds the study's ratio and "
	    "tells its finding\n             from the alternative; holds (direction): the same side of "
	    "parity, "
	    "another size; differs: another side;\n             unresolved: nbench's interval cannot tell "
	    "(more rounds, a quieter machine)\n",
	    o->margin * 100);
}

/* A figure's heading: its title and unit, where the study's values come from, what the study says. */
static void text_figure(const struct nb_study_figure *f, FILE *out)
{
	fprintf(out, "\n%s (%s), %s: %s\n", f->title, f->unit, f->figure, f->test);
	if (f->statement[0])
		fprintf(out, "  the study: %s\n", f->statement);
	fprintf(out, "  %-11s %-26s %-24s %-13s %-7s %s\n", "path", "nbench [95%]", "ratio to native [95%]",
		"study", "ratio", "verdict (nbench / study - 1 [95%])");
}

static void text_table(const struct cli_study *o, const struct view *v, FILE *out)
{
	char a[64], b[64], c[64], d[64], e[80];
	for (unsigned i = 0; i < v->nrows; i++) {
		const struct nb_study_row *row = &v->rows[i];
		const struct nb_study_figure *f = &o->s->figs[row->fig];
		const struct nb_study_value *sv = &row->sv;
		if (!i || v->rows[i - 1].fig != row->fig)
			text_figure(f, out);
		if (!sv->have)
			snprintf(c, sizeof(c), "-");
		else if (sv->statement)
			snprintf(c, sizeof(c), "(text)");
		else if (sv->error > 0)
			snprintf(c, sizeof(c), "%s+-%g", fmt_val(sv->value, f->unit, d, sizeof(d)),
				 sv->error);
		else
			fmt_val(sv->value, f->unit, c, sizeof(c));
		fprintf(out, "  %-11s %-26s %-24s %-13s %-7s %s\n", row->path,
			row->m.have ? fmt_ci(row->m.value, row->m.lo, row->m.hi, f->unit, a, sizeof(a)) : "-",
			row->m.have ? fmt_ratio(row->m.ratio, row->m.ratio_lo, row->m.ratio_hi, b, sizeof(b))
				    : "-",
			c, sv->have ? (snprintf(d, sizeof(d), "%.3f", sv->ratio), d) : "-",
			fmt_verdict(&row->j, e, sizeof(e)));
	}
}

static void text_redis(const struct cli_study *o, const struct view *v, FILE *out)
{
	const struct nb_studyrun_cfg *c = &o->r->cfg;
	char a[64], b[64], t[32];
	if (!c->nconns)
		return;
	fprintf(out,
		"\nRedis row (the study's figures 8 and 9): rr --mix %s (SET and GET of a 10-byte key, "
		"a 50-byte value), %u in flight per connection, %u round%s of %s, unpinned\n",
		c->redis_mix, c->redis_depth, o->r->redis_rounds, o->r->redis_rounds == 1 ? "" : "s",
		nb_fmt_ns((double)c->redis_duration_ns, t, sizeof(t)));
	fprintf(out, "%-6s %-11s %-30s %-24s %-28s %s\n", "conns", "path", "requests/s [95%]", "ratio [95%]",
		"mean latency us [95%]", "ratio [95%]");
	for (unsigned i = 0; i < v->npts; i++) {
		const struct nb_study_redis_point *p = &v->pts[i];
		char l[64], lr[64];
		fprintf(out, "%-6u %-11s %-30s %-24s %-28s %s\n", p->connections, p->path,
			fmt_ci(p->tps.value, p->tps.lo, p->tps.hi, "1/s", a, sizeof(a)),
			fmt_ratio(p->tps.ratio, p->tps.ratio_lo, p->tps.ratio_hi, b, sizeof(b)),
			fmt_ci(p->lat_us.value, p->lat_us.lo, p->lat_us.hi, "us", l, sizeof(l)),
			fmt_ratio(p->lat_us.ratio, p->lat_us.ratio_lo, p->lat_us.ratio_hi, lr, sizeof(lr)));
	}
	fprintf(out, "the study says (%s), and here:\n", "section IV-F as the seed article translates it");
	for (unsigned i = 0; i < v->nverdicts; i++) {
		const struct nb_study_redis_verdict *vd = &v->verdicts[i];
		fprintf(out, "  %s\n    %-11s %s: %s\n", vd->st->text, vd->path, vd->measured,
			fmt_verdict(&vd->j, a, sizeof(a)));
	}
}

static void text_left(const struct cli_study *o, FILE *out)
{
	const struct nb_studyrun *r = o->r;
	if (!o->nleft && !r->nskipped)
		return;
	fprintf(out, "\npaths left out:\n");
	for (unsigned i = 0; i < o->nleft; i++)
		fprintf(out, "  %-11s %s\n", o->left[i].path, o->left[i].why);
	for (unsigned i = 0; i < r->nskipped; i++)
		fprintf(out, "  %-11s %s\n", r->skipped[i].path, r->skipped[i].why);
}

void cli_study_text(const struct cli_study *o, FILE *out)
{
	struct view *v = calloc(1, sizeof(*v));
	if (!v)
		return;
	make_view(o, v);
	text_settings(o, v, out);
	text_table(o, v, out);
	text_redis(o, v, out);
	text_left(o, out);
	fprintf(out, "\n%u matrix round%s in %.0f s, %u Redis round%s in %.0f s; %.0f s in all\n",
		o->r->rounds, o->r->rounds == 1 ? "" : "s", (double)o->r->matrix_ns / 1e9, o->r->redis_rounds,
		o->r->redis_rounds == 1 ? "" : "s", (double)o->r->redis_ns / 1e9,
		(double)o->elapsed_ns / 1e9);
	free(v);
}

/* ---- JSON ---- */

static void j_num(cJSON *o, const char *k, double x)
{
	if (isfinite(x))
		cJSON_AddNumberToObject(o, k, x);
	else
		cJSON_AddNullToObject(o, k);
}

static cJSON *j_settings(const struct cli_study *o, const struct view *v)
{
	const struct nb_studyrun *r = o->r;
	const struct nb_studyrun_cfg *c = &r->cfg;
	cJSON *s = cJSON_CreateObject();
	cJSON *p = cJSON_AddArrayToObject(s, "paths");
	for (unsigned i = 0; i < r->cc.npaths; i++)
		cJSON_AddItemToArray(p, cJSON_CreateString(r->cc.paths[i]));
	cJSON *t = cJSON_AddArrayToObject(s, "tests");
	for (unsigned i = 0; i < c->ntests; i++)
		cJSON_AddItemToArray(t, cJSON_CreateString(c->tests[i]));
	cJSON_AddNumberToObject(s, "rounds", c->rounds);
	char seed[24];
	snprintf(seed, sizeof(seed), "%llu",
		 (unsigned long long)r->seed); /* a string, as compare's: 64 bits */
	cJSON_AddStringToObject(s, "seed", seed);
	cJSON_AddNumberToObject(s, "duration_ns", (double)c->duration_ns);
	cJSON_AddStringToObject(s, "placement", nb_placement_name(c->placement));
	cJSON_AddStringToObject(s, "host", c->where.host ? c->where.host : "");
	cJSON_AddBoolToObject(s, "two_hosts", r->two_hosts);
	cJSON_AddStringToObject(s, "wire", c->where.wire.ifs ? c->where.wire.ifs : "");
	cJSON_AddNumberToObject(s, "wire_rate_bps", c->where.wire.rate_bps);
	cJSON_AddNumberToObject(s, "stream_flows", 1);
	cJSON_AddNumberToObject(s, "stream_msg_bytes", NB_DEFAULT_TCP_MSG_BYTES);
	cJSON_AddNumberToObject(s, "rr_req_bytes", 100);
	cJSON_AddNumberToObject(s, "rr_resp_bytes", 200);
	cJSON_AddNumberToObject(s, "rr_depth", 1);
	cJSON_AddStringToObject(s, "socket_buffers", v->sockbuf);
	cJSON_AddStringToObject(s, "cpu_source", r->cpu_source);
	cJSON_AddStringToObject(s, "cpu_of", r->two_hosts && !r->sut_same_host ? "server" : "this host");
	cJSON_AddNumberToObject(s, "margin", o->margin);
	cJSON_AddStringToObject(s, "study_data", o->data_file);
	return s;
}

static cJSON *j_measure(const struct nb_study_measure *m)
{
	cJSON *o = cJSON_CreateObject();
	j_num(o, "value", m->have ? m->value : NAN);
	j_num(o, "lo", m->have ? m->lo : NAN);
	j_num(o, "hi", m->have ? m->hi : NAN);
	j_num(o, "ratio", m->have ? m->ratio : NAN);
	j_num(o, "ratio_lo", m->have ? m->ratio_lo : NAN);
	j_num(o, "ratio_hi", m->have ? m->ratio_hi : NAN);
	cJSON_AddNumberToObject(o, "rounds", m->rounds);
	return o;
}

static cJSON *j_redis(const struct cli_study *o, const struct view *v)
{
	const struct nb_studyrun_cfg *c = &o->r->cfg;
	cJSON *rd = cJSON_CreateObject(), *set = cJSON_AddObjectToObject(rd, "settings");
	cJSON_AddStringToObject(set, "mix", c->redis_mix);
	cJSON_AddNumberToObject(set, "depth", c->redis_depth);
	cJSON_AddNumberToObject(set, "rounds", o->r->redis_rounds);
	cJSON_AddNumberToObject(set, "duration_ns", (double)c->redis_duration_ns);
	cJSON *cn = cJSON_AddArrayToObject(set, "connections");
	for (unsigned i = 0; i < c->nconns; i++)
		cJSON_AddItemToArray(cn, cJSON_CreateNumber(c->conns[i]));
	cJSON *pts = cJSON_AddArrayToObject(rd, "points");
	for (unsigned i = 0; i < v->npts; i++) {
		cJSON *p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "path", v->pts[i].path);
		cJSON_AddNumberToObject(p, "connections", v->pts[i].connections);
		cJSON_AddItemToObject(p, "requests_per_s", j_measure(&v->pts[i].tps));
		cJSON_AddItemToObject(p, "mean_latency_us", j_measure(&v->pts[i].lat_us));
		cJSON_AddItemToArray(pts, p);
	}
	cJSON *sts = cJSON_AddArrayToObject(rd, "statements");
	for (unsigned i = 0; i < v->nverdicts; i++) {
		const struct nb_study_redis_verdict *vd = &v->verdicts[i];
		cJSON *s = cJSON_CreateObject();
		cJSON_AddStringToObject(s, "study_path", vd->st->path);
		cJSON_AddStringToObject(s, "metric", vd->st->metric);
		cJSON_AddStringToObject(s, "text", vd->st->text);
		cJSON_AddStringToObject(s, "path", vd->path);
		cJSON_AddStringToObject(s, "measured", vd->measured);
		cJSON_AddStringToObject(s, "verdict", nb_study_verdict_name(vd->j.verdict));
		j_num(s, "diff_pct", vd->j.diff_pct);
		cJSON_AddItemToArray(sts, s);
	}
	return rd;
}

/* Every run's figures by round (NAN as null: failed or not run), for re-analysis: the matrix's and the
 * Redis row's. */
static cJSON *j_runs(const struct nb_studyrun *r)
{
	static const char *const keys[NB_SR_NFIG] = {"goodput_bps", "cycles_per_byte", "transactions_per_s",
						     "mean_lat_ns"};
	cJSON *a = cJSON_CreateArray();
	for (unsigned ti = 0; ti < r->cc.ntests; ti++)
		for (unsigned pi = 0; pi < r->cc.npaths; pi++)
			for (unsigned k = 0; k < r->rounds; k++) {
				bool stream = r->cc.tests[ti]->kind == NB_TEST_STREAM;
				cJSON *o = cJSON_CreateObject();
				cJSON_AddStringToObject(o, "test", r->cc.tests[ti]->name);
				cJSON_AddStringToObject(o, "path", r->cc.paths[pi]);
				cJSON_AddNumberToObject(o, "round", k + 1);
				for (int f = stream ? 0 : 2; f < (stream ? 2 : NB_SR_NFIG); f++)
					j_num(o, keys[f], r->v[ti][pi][f][k]);
				cJSON_AddItemToArray(a, o);
			}
	return a;
}

static cJSON *j_redis_runs(const struct nb_studyrun *r)
{
	cJSON *a = cJSON_CreateArray();
	for (unsigned ci = 0; ci < r->cfg.nconns; ci++)
		for (unsigned pi = 0; pi < r->cc.npaths; pi++)
			for (unsigned k = 0; k < r->redis_rounds; k++) {
				cJSON *o = cJSON_CreateObject();
				cJSON_AddStringToObject(o, "path", r->cc.paths[pi]);
				cJSON_AddNumberToObject(o, "connections", r->cfg.conns[ci]);
				cJSON_AddNumberToObject(o, "round", k + 1);
				j_num(o, "requests_per_s", r->redis_tps[ci][pi][k]);
				j_num(o, "mean_lat_ns", r->redis_lat_ns[ci][pi][k]);
				cJSON_AddItemToArray(a, o);
			}
	return a;
}

cJSON *cli_study_doc(const struct cli_study *o)
{
	struct view *v = calloc(1, sizeof(*v));
	struct nb_sysinfo si;
	char ts[40];
	if (!v)
		return NULL;
	make_view(o, v);
	cJSON *d = cJSON_CreateObject(), *st = cJSON_CreateObject(), *start = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "schema_version", 1);
	cJSON_AddStringToObject(d, "kind", "study");
	cJSON_AddStringToObject(st, "name", o->s->name);
	cJSON_AddStringToObject(st, "title", o->s->title);
	cJSON_AddItemToObject(d, "study", st);
	cJSON_AddStringToObject(start, "nbench_version", NB_VERSION);
	nb_fmt_iso8601(nb_realtime_ns() - o->elapsed_ns, ts, sizeof(ts));
	cJSON_AddStringToObject(start, "timestamp", ts);
	cJSON_AddStringToObject(start, "cmdline", o->cmdline ? o->cmdline : "");
	if (nb_sysinfo_get(&si) == 0)
		cJSON_AddItemToObject(start, "client", nb_sysinfo_to_json(&si));
	cJSON_AddItemToObject(start, "settings", j_settings(o, v));
	cJSON *left = cJSON_AddArrayToObject(start, "left_out");
	for (unsigned i = 0; i < o->nleft + o->r->nskipped; i++) {
		cJSON *l = cJSON_CreateObject();
		bool mine = i < o->nleft;
		cJSON_AddStringToObject(l, "path", mine ? o->left[i].path : o->r->skipped[i - o->nleft].path);
		cJSON_AddStringToObject(l, "why", mine ? o->left[i].why : o->r->skipped[i - o->nleft].why);
		cJSON_AddItemToArray(left, l);
	}
	cJSON_AddItemToObject(d, "start", start);
	cJSON *tab = cJSON_AddArrayToObject(d, "table");
	for (unsigned i = 0; i < v->nrows; i++)
		cJSON_AddItemToArray(tab, nb_study_row_json(o->s, &v->rows[i]));
	cJSON_AddItemToObject(d, "runs", j_runs(o->r));
	if (o->r->cfg.nconns) {
		cJSON *rd = j_redis(o, v);
		cJSON_AddItemToObject(rd, "runs", j_redis_runs(o->r));
		cJSON_AddItemToObject(d, "redis", rd);
	}
	cJSON_AddNumberToObject(d, "matrix_rounds", o->r->rounds);
	cJSON_AddNumberToObject(d, "elapsed_s", (double)o->elapsed_ns / 1e9);
	cJSON_AddBoolToObject(d, "complete",
			      o->r->rounds == o->r->cfg.rounds &&
				  o->r->redis_rounds == (o->r->cfg.nconns ? o->r->cfg.redis_rounds : 0));
	free(v);
	return d;
}

static int write_to(const struct cli_study *o, enum cli_format format, FILE *f)
{
	if (format == CLI_JSON)
		return cli_json_write(cli_study_doc(o), f);
	cli_study_text(o, f);
	return ferror(f) ? -EIO : 0;
}

static int write_file(const struct cli_study *o, enum cli_format format, const char *file)
{
	FILE *f = fopen(file, "w");
	if (!f) {
		int r = -errno;
		fprintf(stderr, "nbench study: cannot write %s: %s\n", file, strerror(errno));
		return r;
	}
	int r = write_to(o, format, f);
	return fclose(f) || r < 0 ? -EIO : 0;
}

int cli_study_output(const struct cli_study *o, enum cli_format format, const char *output,
		     const char *json_out)
{
	int r = write_to(o, format, stdout);
	if (output && write_file(o, format, output) < 0)
		r = -EIO;
	if (json_out && write_file(o, CLI_JSON, json_out) < 0)
		r = -EIO;
	return r;
}
