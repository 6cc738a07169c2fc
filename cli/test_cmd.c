/* SPDX-License-Identifier: MIT */
/* `nbench stream|rr|crr`: one test where the command line says, its report in text, JSON or CSV. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "nbench/bench.h"
#include "nbench/hist.h"
#include "nbench/report.h"

/* The live text: the report's head (what runs where) with the first interval, then a line per interval. */
struct live {
	const struct nb_report *rep;
	bool head;	   /* printed: the report at the end goes without it */
	double last_end_s; /* the last line's interval end: time going back is the next run (--hops) */
};

static void print_interval(void *arg, const struct nb_test_cfg *cfg, const struct nb_interval *iv)
{
	struct live *L = arg;
	/* with the first line, so a run that never starts prints none */
	if (!L->head) {
		nb_report_write_text_head(L->rep, stdout);
		nb_report_text_interval_header(cfg, stdout);
	} else if (iv->start_s < L->last_end_s) {
		printf("(the same test again, with its hops timed: --hops)\n");
	}
	L->head = true;
	L->last_end_s = iv->end_s;
	nb_report_text_interval(cfg, iv, stdout);
	fflush(stdout);
}

/* Whether --hops can run with t's settings: 0 (t->hops_backend then says which backend runs), or 2 with the
 * reason in err. */
static int hops_check(struct cli_test *t, struct nb_report *rep, char *err, size_t errlen)
{
	const char *why = NULL;
	if (t->cfg.kind != NB_TEST_RR && t->cfg.kind != NB_TEST_CRR)
		why = "--hops applies to rr and crr";
	else if (!t->path && !t->topo)
		why = "--hops needs --path or --topo: it captures on the path's interfaces";
	else if (t->host_given)
		why = "--hops captures on a path of this host: not with -H";
	else if (t->cfg.req_bytes < NB_MARK_BYTES || t->cfg.resp_bytes < NB_MARK_BYTES)
		why = "--hops needs requests and responses of at least 16 bytes: they carry the marker";
	if (why) {
		snprintf(err, errlen, "%s", why);
		return 2;
	}
	return cli_hops_pick(nb_test_kind_name(t->cfg.kind), &t->hops_backend, t->cfg.kind, rep, err, errlen);
}

/* Whether --capture can run with t's settings: 0, or 2 with the reason in err. */
static int capture_check(const struct cli_test *t, char *err, size_t errlen)
{
	const char *why = NULL;
	if (!t->pathcap.file)
		return 0;
	if (!t->path && !t->topo)
		why = "--capture needs --path or --topo: it captures on the path's interfaces";
	else if (t->host_given)
		why = "--capture captures on a path of this host: not with -H";
	else if (t->hops)
		why = "--capture with --hops would count the capture's cost as the probes': run them apart";
	if (why)
		snprintf(err, errlen, "%s", why);
	return why ? 2 : 0;
}

/* What only shows at run time: 0, or 2 with the reason in rep->error. */
static int run_check(struct cli_test *t, struct nb_report *rep)
{
	if (t->hops && !t->load_bps && hops_check(t, rep, rep->error, sizeof(rep->error)))
		return 2;
	if (capture_check(t, rep->error, sizeof(rep->error)))
		return 2;
	if (t->path && t->host_given && (t->wire.ifs || t->wire.rate_bps > 0)) {
		snprintf(rep->error, sizeof(rep->error),
			 "--wire and --wire-rate are for paths built on one host, not with -H");
		rep->complete = false;
		return 2;
	}
	return 0;
}

/* Runs the test as the command line says (building --path if asked), filling rep; the exit status. */
static int run_test(struct cli_test *t, struct nb_report *rep, struct live *live)
{
	struct nb_run_opts o = {.interval = live ? print_interval : NULL,
				.arg = live,
				.quit = cli_quit_flag(),
				.latency = t->hist,
				.host_facts = !t->load_bps,
				.pathcap = t->pathcap.file ? &t->pathcap : NULL};
	struct nb_target *tg;
	struct nb_where w;
	char err[256] = "";
	int r;

	snprintf(rep->cmdline, sizeof(rep->cmdline), "%s", t->cmdline);
	if ((r = run_check(t, rep)))
		return r;
	o.hops_backend = t->hops_backend;
	cli_where(t, &w);
	if ((r = nb_target_open(&w, &t->cfg, &tg, err, sizeof(err))) < 0) {
		snprintf(rep->error, sizeof(rep->error), "%s", err);
		rep->complete = false;
		return r == -EINVAL || r == -ENOENT ? 2 : 1;
	}
	if (t->load_bps > 0)
		r = nb_load_run(tg, &t->cfg, t->load_bps, t->load_proto, &o, rep) == -EINVAL ? 2
											     : !rep->complete;
	else
		r = (t->hops ? nb_target_run_hops : nb_target_run)(tg, &t->cfg, &o, rep) < 0 ? 1 : 0;
	nb_target_close(tg);
	return r;
}

/* rep as t's format says; headless: its text head went out before the interim lines. */
static int write_report(const struct nb_report *rep, const struct cli_test *t, bool headless, FILE *out)
{
	switch (t->format) {
	case CLI_JSON:
		return nb_report_write_json(rep, out);
	case CLI_CSV:
		return nb_report_write_csv(rep, out, true);
	default:
		return nb_report_write_text_flags(
		    rep, (t->nic_counters ? NB_TEXT_COUNTERS : 0) | (headless ? NB_TEXT_NO_HEAD : 0), out);
	}
}

/* --baseline: the run's JSON against FILE; the verdict joins the report as a note. */
static int baseline_gate(const char *cmd, const struct cli_test *t, double tol_pct, struct nb_report *rep)
{
	char note[512] = "";
	struct cJSON *doc = cli_report_doc(rep);
	int r = doc ? cli_baseline_check(cmd, t->baseline, tol_pct, doc, note, sizeof(note)) : 1;
	cJSON_Delete(doc);
	if (note[0])
		nb_report_note(rep, "%s", note);
	return r;
}

/* --hist-out: the run's latency distribution, for HdrHistogram's plotter. */
static int write_hist(const char *cmd, const char *file, const struct nb_hist *h)
{
	FILE *f = fopen(file, "w");
	int r = f ? cli_hist_write(h, f) : -errno;
	if (f && fclose(f) && !r)
		r = -errno;
	if (r < 0)
		fprintf(stderr, "nbench %s: cannot write %s: %s\n", cmd, file, strerror(-r));
	return r;
}

int cmd_test(int argc, char **argv)
{
	struct cli_test t;
	struct nb_report rep;
	int r = cli_parse_test(argc, argv, &t);
	if (r)
		return r == 1 ? 0 : r;
	double tol_pct;
	if ((r = cli_baseline_ready(argv[0], t.baseline, t.tolerance, &tol_pct)))
		return r;
	cli_catch_signals();
	if (t.hist_out && nb_hist_new(&t.hist) < 0) {
		fprintf(stderr, "nbench %s: out of memory\n", argv[0]);
		return 1;
	}
	nb_report_init(&rep);
	struct live live = {.rep = &rep};
	bool lines = t.format == CLI_TEXT && !t.quiet && t.cfg.interval_ns > 0;
	int rc = run_test(&t, &rep, lines ? &live : NULL);
	if (rc == 2) {
		fprintf(stderr, "nbench %s: %s\n", argv[0], rep.error);
		nb_report_free(&rep);
		return 2;
	}
	if (!rep.complete && !rep.error[0])
		snprintf(rep.error, sizeof(rep.error), "the test did not finish");
	/* A run that reached no responder has nothing to report but its error. */
	bool measured = rep.n_flows > 0;
	int gate = measured && rep.complete && t.baseline ? baseline_gate(argv[0], &t, tol_pct, &rep) : 0;
	if (measured)
		write_report(&rep, &t, live.head, stdout);
	if (!rep.complete)
		fprintf(stderr, "nbench %s: %s\n", argv[0], rep.error);
	if (t.output && measured) {
		FILE *f = fopen(t.output, "w");
		if (!f) {
			fprintf(stderr, "nbench %s: cannot write %s: %s\n", argv[0], t.output,
				strerror(errno));
			rc = 1;
		} else {
			write_report(&rep, &t, false, f);
			fclose(f);
		}
	}
	if (t.hist_out && measured && write_hist(argv[0], t.hist_out, t.hist) < 0)
		rc = 1;
	nb_hist_free(t.hist);
	nb_report_free(&rep);
	return rep.complete ? (rc ? rc : gate) : 1;
}
