/* SPDX-License-Identifier: MIT */
/*
 * nbench plot FILE.json...: figures from nbench's JSON reports, drawn by gnuplot. This file reads the
 * reports, writes each figure's files (plot_fig.c builds them) and runs gnuplot.
 *
 * In C rather than a script beside guest-build: it reads the JSON with the cJSON nbench already links, needs
 * no interpreter at run time and no helper to find after `meson install`, and its tests run from the build
 * tree. The drawing itself stays gnuplot's: per figure nbench writes the data (NAME.dat) and the script
 * (NAME.gp) into the output folder, then runs `gnuplot NAME.gp` there, so users restyle and redraw by hand.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "plot_fig.h"

#define MAX_FILES 64
#define MAX_INPUT (64 << 20)

/* What follows plot's options: the figures it writes. */
static void plot_more(void)
{
	fputs("figures (each with its data NAME.dat and gnuplot script NAME.gp beside it):\n"
	      "  latency.*                     single runs' latency by percentile (x: 1/(1-p)), a line each\n"
	      "  intervals_rr.*                single rr/crr runs' transactions/s and mean latency per "
	      "interval\n"
	      "  intervals_stream.*            single streams' goodput per interval\n"
	      "  STEM_hops.*                   an rr --hops report STEM.json: its waterfall\n"
	      "  STEM_METRIC.*                 a compare report STEM.json: each metric's mean per test and "
	      "path,\n"
	      "                                with its interval (compare_p50_ns)\n"
	      "  STEM_ratios.*                 compare: each path's ratios to the reference, a forest plot\n"
	      "  STEM_latency_TEST_PLACEMENT.* compare: each path's latency by percentile "
	      "(..._rr-tcp_same-core)\n"
	      "  STEM_hops_TEST_PLACEMENT.*    compare --hops: the waterfall, a stacked bar per path\n"
	      "exit status: 0 drawn, 1 gnuplot missing or failing (data and scripts are written), 2 bad "
	      "input\n",
	      stdout);
}

static const cJSON *obj(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* Reads and parses one report: 0, or 2 after a one-line error. */
static int read_report(const char *file, cJSON **ret)
{
	FILE *f = fopen(file, "r");
	char *buf = NULL;
	size_t n = 0;
	if (f) {
		buf = malloc(MAX_INPUT + 1);
		n = buf ? fread(buf, 1, MAX_INPUT + 1, f) : 0;
		fclose(f);
	}
	if (!f || !buf) {
		free(buf);
		return cli_usage_error("plot", "cannot read %s: %s", file, strerror(f ? ENOMEM : errno));
	}
	if (n > MAX_INPUT) {
		free(buf);
		return cli_usage_error("plot", "%s: larger than %d MiB", file, MAX_INPUT >> 20);
	}
	buf[n] = 0;
	*ret = cJSON_Parse(buf);
	free(buf);
	if (!*ret)
		return cli_usage_error("plot", "%s: not JSON", file);
	bool run = cJSON_IsObject(obj(*ret, "start")) && cJSON_IsObject(obj(*ret, "end"));
	bool cmp = cJSON_IsObject(obj(*ret, "start")) && cJSON_IsArray(obj(*ret, "summary"));
	if (!cJSON_IsNumber(obj(*ret, "schema_version")) || (!run && !cmp)) {
		cJSON_Delete(*ret);
		return cli_usage_error(
		    "plot", "%s: not an nbench report (no schema_version, start and end or summary)", file);
	}
	return 0;
}

/* Is there an executable gnuplot on PATH? */
static bool have_gnuplot(void)
{
	const char *path = getenv("PATH");
	char dir[4096];
	while (path && *path) {
		size_t n = strcspn(path, ":");
		snprintf(dir, sizeof(dir), "%.*s/gnuplot", (int)n, path);
		if (n && !access(dir, X_OK))
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

/* Writes name.ext (len bytes of text) into dir and says so: 0 or 1 after a one-line error. */
static int write_file(const char *dir, const char *name, const char *ext, const char *text, size_t len)
{
	char file[4096];
	snprintf(file, sizeof(file), "%s/%s.%s", dir, name, ext);
	FILE *f = fopen(file, "w");
	bool ok = f && fwrite(text, 1, len, f) == len;
	if (f && fclose(f))
		ok = false;
	if (!ok) {
		fprintf(stderr, "nbench plot: cannot write %s: %s\n", file, strerror(errno));
		return 1;
	}
	printf("%s\n", file);
	return 0;
}

/* gnuplot's last complaint in err (its messages went there, not to the terminal): the last non-blank line,
 * which names the script's line and what is wrong. */
static void last_line(FILE *err, char *buf, size_t len)
{
	char line[512];
	buf[0] = '\0';
	rewind(err);
	while (fgets(line, sizeof(line), err)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[strspn(line, " \t^")])
			snprintf(buf, len, "%s", line + strspn(line, " \t"));
	}
}

/* Runs `gnuplot NAME.gp` in dir: 0 or 1 after a one-line error. gnuplot's warnings stay off the terminal
 * (the figure is drawn all the same); its error, when it fails, is the error's line. */
static int run_gnuplot(const char *dir, const char *name, const char *format)
{
	char script[160], why[512];
	int status;
	FILE *err = tmpfile();
	snprintf(script, sizeof(script), "%s.gp", name);
	fflush(stdout);
	pid_t pid = err ? fork() : -1;
	if (pid == 0) {
		if (chdir(dir) < 0 || dup2(fileno(err), STDERR_FILENO) < 0)
			_exit(126);
		execlp("gnuplot", "gnuplot", script, (char *)NULL);
		_exit(127);
	}
	bool ok = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status);
	if (!ok) {
		if (err)
			last_line(err, why, sizeof(why));
		fprintf(stderr, "nbench plot: gnuplot failed on %s/%s%s%s\n", dir, script,
			err && *why ? ": " : "", err ? why : "");
	}
	if (err)
		fclose(err);
	if (!ok)
		return 1;
	printf("%s/%s.%s\n", dir, name, format);
	return 0;
}

/* Writes every figure's data and script, then draws them. */
static int write_figures(const char *dir, struct plot_figs *P)
{
	int rc = 0;
	if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
		fprintf(stderr, "nbench plot: cannot create %s: %s\n", dir, strerror(errno));
		return 1;
	}
	for (unsigned i = 0; i < P->nfigs && !rc; i++) {
		struct plot_fig *f = &P->figs[i];
		rc = write_file(dir, f->name, "dat", f->dat, f->dat_len) ||
		     write_file(dir, f->name, "gp", f->gp, f->gp_len);
	}
	if (rc)
		return rc;
	if (!have_gnuplot()) {
		fprintf(stderr,
			"nbench plot: gnuplot not found (install gnuplot-nox), then: cd %s && gnuplot *.gp\n",
			dir);
		return 1;
	}
	for (unsigned i = 0; i < P->nfigs; i++)
		rc |= run_gnuplot(dir, P->figs[i].name, P->format);
	return rc;
}

/* plot's command line: where the figures go and in which format. */
struct plot_args {
	const char *dir, *format;
};

static int parse_format(void *base, const char *arg)
{
	if (strcmp(arg, "svg") && strcmp(arg, "png"))
		return cli_usage_error("plot", "--format %s: svg or png", arg);
	((struct plot_args *)base)->format = arg;
	return 0;
}

/* plot's own options (its -o is a folder). */
static const struct cli_opt plot_opts[] = {
    {"output", 'o', "DIR", CLI_C_PLOT, 0, CLI_OT_ARG, CLI_FIELD(struct plot_args, dir),
     .help = "where to write the figures (created if missing)", .dflt = "."},
    {"format", 0, "F", CLI_C_PLOT, 0, CLI_OT_FN, .parse = parse_format, .help = "svg or png", .dflt = "svg"},
};

/* Reads the reports, builds their figures, writes and draws them. */
static int plot(struct plot_figs *P, const char *dir, int argc, char **argv)
{
	cJSON *roots[MAX_FILES];
	unsigned n = 0;
	int rc = 0;
	if (argc == 0)
		return cli_usage_error("plot", "no report given (nbench plot FILE.json...)");
	if (argc > MAX_FILES)
		return cli_usage_error("plot", "at most %d reports", MAX_FILES);
	for (; (int)n < argc && !rc; n++)
		if ((rc = read_report(argv[n], &roots[n])))
			break;
	if (!rc && (plot_build(P, roots, argv, n) < 0 || plot_compare_build(P, roots, argv, n) < 0)) {
		fprintf(stderr, "nbench plot: out of memory or more than %d figures\n", PLOT_MAX_FIGS);
		rc = 1;
	} else if (!rc && !P->nfigs) {
		rc = cli_usage_error("plot",
				     "nothing to draw in the report%s given (no latency, intervals, compare "
				     "summary or hops)",
				     n > 1 ? "s" : "");
	} else if (!rc) {
		rc = write_figures(dir, P);
	}
	plot_free(P);
	for (unsigned i = 0; i < n; i++)
		cJSON_Delete(roots[i]);
	return rc;
}

int cmd_plot(int argc, char **argv)
{
	static const struct cli_cmd cmd = {
	    .name = "plot",
	    .bit = CLI_C_PLOT,
	    .kind = -1,
	    .own = plot_opts,
	    .n_own = 2,
	    .usage = "plot FILE.json... [-o DIR] [--format svg|png]",
	    .about = "Draws figures from nbench's JSON reports (rr, crr, stream --json; "
		     "compare --json, with hops)\nwith gnuplot, a line per file written.",
	    .more = plot_more,
	    .args = true};
	static struct plot_figs P;
	struct plot_args a = {.dir = ".", .format = "svg"};
	struct cli_test t; /* no shared option */
	int first, rc;

	cli_test_init(&t);
	if ((rc = cli_parse(&cmd, argc, argv, &t, &a, &first)))
		return rc == 1 ? 0 : rc;
	P.format = a.format;
	return plot(&P, a.dir, argc - first, argv + first);
}
