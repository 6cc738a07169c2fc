/* SPDX-License-Identifier: MIT */
/*
 * `nbench sweep --set KNOB=V1,V2 [--set ...] [--on IF] -- TEST [test options]`: the options into
 * bench/sweep.c's settings, each run's line on stderr, and each combination's figures (mean, interval, ratio
 * to the first, the knobs refused) as text, CSV or JSON.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "sweep_out.h"
#include "nbench/nic.h"
#include "nbench/report.h"
#include "nbench/sweep.h"
#include "nbench/units.h"

/* The command line: the driver's settings and what only the output needs. */
struct sweep_args {
	struct nb_sweep_cfg cfg;
	struct cli_test head; /* sweep's options before '--': --runs, --path, --topo, format, -o, -q */
	struct cli_test test; /* TEST and its options, after '--' */
	char sets[NB_SWEEP_MAX_KNOBS][256]; /* --set's arguments, cut into the knobs' names and values */
	double tol_pct;			    /* --tolerance, with --baseline among the test options */
};

/* What follows sweep's options: the knobs and their values. */
static void sweep_more(void)
{
	char names[256];
	printf("knobs: %s\n"
	       "values: on|off (offloads, adaptive-rx/tx), numbers (mtu, rings, channels, usecs),\n"
	       "        noqueue|pfifo[:LIMIT]|tbf:RATE (qdisc)\n",
	       nb_knob_names(names, sizeof(names)));
}

/* --set KNOB=V1,V2 into the knobs (a copy of arg, cut into name and values). 0 or 2 after a one-line error.
 */
static int parse_set(void *base, const char *set)
{
	struct sweep_args *a = base;
	struct nb_sweep_cfg *s = &a->cfg;
	const char *eq = strchr(set, '=');
	char err[256], *arg;
	struct nb_sweep_knob *k;

	if (!eq || eq == set || !eq[1])
		return cli_usage_error("sweep", "--set: '%s' is not KNOB=V1[,V2...]", set);
	if (s->nknobs == NB_SWEEP_MAX_KNOBS)
		return cli_usage_error("sweep", "--set: at most %d knobs", NB_SWEEP_MAX_KNOBS);
	arg = a->sets[s->nknobs];
	snprintf(arg, sizeof(a->sets[0]), "%s", set);
	eq = arg + (eq - set);
	arg[eq - arg] = '\0';
	k = &s->knobs[s->nknobs];
	k->name = arg;
	for (unsigned i = 0; i < s->nknobs; i++)
		if (!strcmp(s->knobs[i].name, arg))
			return cli_usage_error("sweep", "--set: knob '%s' is given twice", arg);
	for (char *v = strtok(arg + (eq - arg) + 1, ","); v; v = strtok(NULL, ",")) {
		if (k->nvalues == NB_SWEEP_MAX_VALUES)
			return cli_usage_error("sweep", "--set %s: at most %d values", arg,
					       NB_SWEEP_MAX_VALUES);
		if (nb_knob_check(arg, v, err, sizeof(err)))
			return cli_usage_error("sweep", "--set %s", err);
		k->values[k->nvalues++] = v;
	}
	if (!k->nvalues)
		return cli_usage_error("sweep", "--set %s: no values", arg);
	s->nknobs++;
	return 0;
}

/* --on [NETNS:]IF, as serve --nic takes an interface: ':' is in no interface name (the kernel refuses it),
 * and a NETNS may be a path (/proc/PID/ns/net) whose '/'s the old separator blurred with. NETNS/IF, the old
 * form, is still read, with a one-line warning. */
static int parse_on(void *base, const char *arg)
{
	struct nb_sweep_cfg *s = &((struct sweep_args *)base)->cfg;
	char buf[sizeof(s->on[0].netns) + sizeof(s->on[0].ifname) + 1];
	const char *slash = strrchr(arg, '/');

	if (s->non == NB_KNOB_MAX_IFS)
		return cli_usage_error("sweep", "--on: at most %d interfaces", NB_KNOB_MAX_IFS);
	if (!strchr(arg, ':') && slash && strlen(arg) < sizeof(buf)) {
		snprintf(buf, sizeof(buf), "%.*s:%s", (int)(slash - arg), arg, slash + 1);
		fprintf(stderr, "nbench sweep: --on %s: NETNS/IF is deprecated, write NETNS:IF (%s)\n", arg,
			buf);
		arg = buf;
	}
	if (nb_nic_ref_parse(arg, &s->on[s->non]) < 0)
		return cli_usage_error("sweep", "--on: '%s' is not [NETNS:]IF", arg);
	s->non++;
	return 0;
}

/* TEST's options, with sweep's --path/--topo (default: --path host) unless TEST names its own. */
static int parse_test(struct sweep_args *s, int argc, char **argv)
{
	char **av = calloc((size_t)argc + 3, sizeof(*av));
	bool own = false;
	int n = 0, rc;

	if (!av)
		return 1;
	for (int i = 0; i < argc; i++) {
		own |= !strcmp(argv[i], "--path") || !strcmp(argv[i], "--topo") ||
		       !strncmp(argv[i], "--path=", 7) || !strncmp(argv[i], "--topo=", 7);
		av[n++] = argv[i];
	}
	if (own && (s->head.path || s->head.topo)) {
		free(av);
		return cli_usage_error("sweep", "--path/--topo given both before and after '--'");
	}
	if (!own) {
		av[n++] = (char *)(s->head.topo ? "--topo" : "--path");
		av[n++] = (char *)(s->head.topo ? s->head.topo : s->head.path ? s->head.path : "host");
	}
	rc = cli_parse_test(n, av, &s->test);
	free(av);
	return rc;
}

/* sweep's own options; the others are the shared table's (opts.c). */
static const struct cli_opt sweep_opts[] = {
    {"set", 0, "KNOB=V1,V2", CLI_C_SWEEP, 0, CLI_OT_FN, .parse = parse_set,
     .help = "a knob and its values (below); repeated, the combinations are crossed"},
    {"on", 0, "[NETNS:]IF", CLI_C_SWEEP, 0, CLI_OT_FN, .parse = parse_on,
     .help = "set the knobs on IF (in NETNS; repeatable) instead of the path's wire"},
    {"runs", 0, "N", CLI_C_SWEEP, 0, CLI_OT_UINT, CLI_FIELD(struct sweep_args, head.runs), .lo = 1, .hi = 100,
     .what = "a number", .help = "rounds", .dflt = "3"},
    {"path", 0, "PATH", CLI_C_SWEEP, 0, CLI_OT_ARG, CLI_FIELD(struct sweep_args, head.path),
     .help = "the path TEST runs across, built for the sweep (or TEST's own --path)", .dflt = "host"},
};

/* The command line into s: sweep's options up to '--', TEST and its options after it. 0, 1 after --help, or 2
 * after a one-line error. */
static int sweep_parse(struct sweep_args *s, int argc, char **argv)
{
	static const struct cli_cmd cmd = {
	    .name = "sweep",
	    .bit = CLI_C_SWEEP,
	    .kind = -1,
	    .own = sweep_opts,
	    .n_own = sizeof(sweep_opts) / sizeof(sweep_opts[0]),
	    .usage = "sweep --set KNOB=V1,V2[,...] [--set ...] [--on [NETNS:]IF]... "
		     "[options] -- TEST [test options]",
	    .about = "TEST (stream, rr, crr) once per combination of knob values, "
		     "interleaved and repeated, with\nthe knobs set on the path's wire (both "
		     "ends) or on the --on interfaces; every interface is\nrestored exactly "
		     "after each combination.",
	    .more = sweep_more,
	    .args = true};
	int rc, dd = -1, first;

	for (int i = 1; i < argc && dd < 0; i++)
		if (!strcmp(argv[i], "--"))
			dd = i;
	cli_test_init(&s->head);
	if ((rc = cli_parse(&cmd, dd < 0 ? argc : dd, argv, &s->head, s, &first)))
		return rc;
	if (!s->cfg.nknobs)
		return cli_usage_error("sweep", "no --set KNOB=V1,V2 given");
	if (dd < 0 || dd + 1 >= argc)
		return cli_usage_error("sweep", "no test after '--' (stream, rr or crr)");
	if (first < dd)
		return cli_usage_error("sweep", "unexpected argument '%s' (see nbench sweep --help)",
				       argv[first]);
	if (strcmp(argv[dd + 1], "stream") && strcmp(argv[dd + 1], "rr") && strcmp(argv[dd + 1], "crr"))
		return cli_usage_error("sweep", "'%s' is not a test (stream, rr or crr)", argv[dd + 1]);
	rc = parse_test(s, argc - dd - 1, argv + dd + 1);
	if (rc)
		return rc == 1 ? 2 : rc;
	if (s->head.format && s->test.format && s->head.format != s->test.format)
		return cli_usage_error("sweep", "--json and --csv exclude each other: one report format at a "
						"time (one before '--', the other after)");
	s->cfg.runs = s->head.runs ? s->head.runs : 3;
	return 0;
}

static int report(const struct sweep_args *a, const struct nb_sweep *s)
{
	enum cli_format f = a->head.format ? a->head.format : a->test.format;
	int rc = cli_quitting() ? 1 : 0;

	if (rc)
		fprintf(stderr, "nbench sweep: interrupted; the table shows the runs that finished\n");
	cli_sweep_write(s, f, stdout);
	if (a->head.output) {
		FILE *fp = fopen(a->head.output, "w");

		if (!fp) {
			fprintf(stderr, "nbench sweep: cannot write %s: %s\n", a->head.output,
				strerror(errno));
			return 1;
		}
		cli_sweep_write(s, f, fp);
		fclose(fp);
	}
	for (unsigned ci = 0; ci < s->ncombos; ci++)
		if (!s->combos[ci].cell.n)
			rc = 1;
	if (!rc && a->test.baseline) { /* exit 1 on a regression against it, each named on stderr */
		char note[512];
		cJSON *doc = cli_sweep_doc(s);
		rc = doc ? cli_baseline_check("sweep", a->test.baseline, a->tol_pct, doc, note, sizeof(note))
			 : 1;
		cJSON_Delete(doc);
	}
	return rc;
}

static void on_run(void *arg, unsigned round, const struct nb_sweep_combo *co, bool ok,
		   const struct nb_report *rep)
{
	const struct sweep_args *a = arg;
	if (!a->head.quiet)
		fprintf(stderr, "  round %u  %-40s %s\n", round, co->label, ok ? "ok" : rep->error);
}

static void on_restore_failed(void *arg, const struct nb_sweep_combo *co, int err)
{
	(void)arg;
	fprintf(stderr, "nbench sweep: restoring the interfaces after %s: %s\n", co->label, strerror(-err));
}

/* Opens the path, records its interfaces, runs every round; the interfaces are put back on every way out. */
static int run_sweep(struct sweep_args *a, struct nb_sweep *s)
{
	char err[256];
	int r = nb_sweep_open(s, err, sizeof(err));

	if (r < 0) {
		fprintf(stderr, "nbench sweep: %s\n", err);
		return r == -EINVAL || r == -ENOENT ? 2 : 1;
	}
	if ((r = nb_sweep_record(s, err, sizeof(err)))) {
		fprintf(stderr, "nbench sweep: %s\n", err);
		nb_sweep_close(s);
		return 1;
	}
	nb_sweep_rounds(s);
	if ((r = nb_sweep_close(s)))
		fprintf(stderr, "nbench sweep: restoring the interfaces: %s\n", strerror(-r));
	int rc = report(a, s);
	return r ? 1 : rc;
}

/* The driver's settings from the command line: where, what, and the progress callbacks. */
static void sweep_cfg(struct sweep_args *a)
{
	cli_where(&a->test, &a->cfg.where);
	a->cfg.where.for_ns = 0; /* -H with --path: every combination's rounds */
	a->cfg.test = a->test.cfg;
	a->cfg.quit = cli_quit_flag();
	a->cfg.run = on_run;
	a->cfg.restore_failed = on_restore_failed;
	a->cfg.arg = a;
}

int cmd_sweep(int argc, char **argv)
{
	struct sweep_args *a = calloc(1, sizeof(*a));
	struct nb_sweep *s = calloc(1, sizeof(*s));
	unsigned total;
	int rc = a && s ? 0 : 1;

	if (!rc)
		rc = sweep_parse(a, argc, argv);
	if (!rc)
		rc = cli_baseline_ready("sweep", a->test.baseline, a->test.tolerance, &a->tol_pct);
	if (!rc)
		sweep_cfg(a);
	if (!rc && nb_sweep_init(s, &a->cfg, &total) == -E2BIG)
		rc = cli_usage_error("sweep", "%u combinations: at most %d", total, NB_SWEEP_MAX_COMBOS);
	if (!rc) {
		cli_catch_signals();
		rc = run_sweep(a, s);
	} else {
		rc = rc == 1 ? 0 : rc;
	}
	nb_sweep_free(s);
	free(a);
	free(s);
	return rc;
}
