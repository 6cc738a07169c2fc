/* SPDX-License-Identifier: MIT */
/* The test commands and `nbench serve`. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent.h"
#include "cli.h"
#include "nbench/clock.h"
#include "nbench/engine.h"
#include "nbench/guest.h"
#include "nbench/hist.h"
#include "nbench/nic.h"
#include "nbench/report.h"
#include "nbench/gen.h"
#include "nbench/serve.h"
#include "nbench/topo.h"
#include "nbench/units.h"

static volatile sig_atomic_t quit_flag;

static void on_signal(int sig)
{
	(void)sig;
	quit_flag = 1;
}

static void catch_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

volatile sig_atomic_t *cli_quit_flag(void)
{
	return &quit_flag;
}

void cli_catch_signals(void)
{
	catch_signals();
}

bool cli_quitting(void)
{
	return quit_flag != 0;
}

static void print_interval(void *arg, const struct nb_test_cfg *cfg, const struct nb_interval *iv)
{
	(void)arg;
	static bool header;
	/* the header comes with the first line, so a run that never starts prints none */
	if (!header)
		nb_report_text_interval_header(cfg, stdout);
	header = true;
	nb_report_text_interval(cfg, iv, stdout);
	fflush(stdout);
}

/* Watches the run's interfaces over its measured window through hooks; their report is watch_end's. */
static struct nb_nic_watch *watch_start(const struct nb_nic_ref *refs, unsigned n, struct nb_run_hooks *h)
{
	struct nb_nic_watch *w = NULL;
	if (n && nb_nic_watch_new(refs, n, &w) == 0) {
		h->window = nb_nic_watch_window;
		h->arg = w;
	}
	return w;
}

/* watch_start on the interface the route to host leaves by (none when there is no route). */
static struct nb_nic_watch *watch_route(const char *host, struct nb_run_hooks *h)
{
	struct nb_nic_ref ref = {.netns = ""};
	bool routed = !nb_nic_route_iface(host, ref.ifname, sizeof(ref.ifname));
	return watch_start(&ref, routed, h);
}

/* The watched interfaces (and the server's, which nb_run added) into rep, with the note on their drops. */
static void watch_end(struct nb_nic_watch *w, struct nb_report *rep)
{
	nb_report_add_watch(rep, w);
	nb_nic_watch_free(w);
}

/* Waits until the responder started in the path accepts connections (readiness, not a sleep). */
static int wait_responder(const char *host, uint16_t port, int64_t timeout_ns)
{
	int64_t end = nb_now_ns() + timeout_ns;
	int r;
	do {
		int fd;
		r = nb_sock_connect(host, port, SOCK_STREAM, &fd);
		if (r == 0) {
			close(fd);
			return 0;
		}
		nb_sleep_until(nb_now_ns() + 20 * NB_NS_PER_MS);
	} while (nb_now_ns() < end && !quit_flag);
	return r;
}

struct cli_wire cli_wire;

/* cli_wire into o, for a kind with a wire (all but the floor, loopback). */
static int cli_wire_opts(const char *kind, struct nb_topo_opts *o, char *err, size_t errlen)
{
	const char *comma = cli_wire.ifs ? strchr(cli_wire.ifs, ',') : NULL;

	if (!kind || !nb_topo_kind_parent(kind))
		return 0;
	if (cli_wire.ifs && (!comma || (size_t)(comma - cli_wire.ifs) >= sizeof(o->wire_a) ||
			     strlen(comma + 1) >= sizeof(o->wire_b))) {
		snprintf(err, errlen, "--wire: '%s' is not IF_A,IF_B", cli_wire.ifs);
		return -EINVAL;
	}
	if (comma) {
		snprintf(o->wire_a, sizeof(o->wire_a), "%.*s", (int)(comma - cli_wire.ifs), cli_wire.ifs);
		snprintf(o->wire_b, sizeof(o->wire_b), "%s", comma + 1);
	}
	o->wire_rate_bps = cli_wire.rate_bps;
	o->force = cli_wire.force;
	return 0;
}

int cli_path_open(const char *kind, const char *name, uint16_t port, const char *key_file,
		  struct cli_path *pe, char *err, size_t errlen)
{
	struct nb_topo_opts o = {.server_port = port, .publish_port = port};
	int r = cli_wire_opts(kind, &o, err, errlen);

	if (r)
		return r;
	memset(pe, 0, sizeof(*pe));
	if (key_file && (r = nb_key_load(key_file, &pe->key, err, errlen)) < 0)
		return -EINVAL; /* before anything is built: bad usage */
	pe->built = kind != NULL;
	r = pe->built ? nb_topo_up_ex(kind, NULL, &o, &pe->topo, err, errlen)
		      : nb_topo_open(name, &pe->topo, err, errlen);
	if (r < 0)
		return r;
	if (nb_topo_has_own_responder(pe->topo))
		return 0; /* a VM path: the guest runs its own nbench serve (keyless), up once nb_topo_up
			   * returned */
	pe->keyed = key_file != NULL;
	char portstr[8], self[4096];
	snprintf(portstr, sizeof(portstr), "%u", nb_topo_server_port(pe->topo));
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = 0;
	char *argv[] = {
	    self,      "serve", "--port", portstr, "--bind", (char *)nb_topo_server_addr(pe->topo),
	    "--quiet", NULL,	NULL,	  NULL};
	if (pe->keyed) {
		argv[7] = "--key-file";
		argv[8] = (char *)key_file;
	}
	pid_t pid = nb_topo_spawn_server(pe->topo, argv);
	if (pid < 0) {
		snprintf(err, errlen, "cannot start the responder in path %s: %s", nb_topo_name(pe->topo),
			 strerror((int)-pid));
		cli_path_close(pe);
		return (int)pid;
	}
	return 0;
}

void cli_path_close(struct cli_path *pe)
{
	if (pe->remote)
		cli_remote_close(pe);
	nb_key_wipe(&pe->key);
	if (pe->topo)
		nb_topo_down(pe->topo, pe->built);
	pe->topo = NULL;
}

/* The generator's side of a run across a path: in its own thread, so only that thread (and the flow threads
 * it starts) enters the client's network namespace. */
struct path_run {
	struct cli_path *pe;
	struct nb_test_cfg cfg;
	const struct nb_run_hooks *hooks;
	struct nb_report *rep;
	int rc;
};

static void *path_run_main(void *arg)
{
	struct path_run *p = arg;
	int r = nb_topo_enter_client(p->pe->topo);
	if (r < 0) {
		snprintf(p->rep->error, sizeof(p->rep->error), "cannot enter the client's namespace: %s",
			 strerror(-r));
		p->rc = r;
		return NULL;
	}
	if (!p->pe->ready) {
		r = wait_responder(p->cfg.host, p->cfg.port, 10 * NB_NS_PER_S);
		if (r < 0) {
			snprintf(p->rep->error, sizeof(p->rep->error),
				 "the responder in path %s did not come up: %s", nb_topo_name(p->pe->topo),
				 strerror(-r));
			p->rc = r;
			return NULL;
		}
		p->pe->ready = true;
	}
	p->rc = nb_run(&p->cfg, p->hooks, p->rep);
	return NULL;
}

int cli_path_run(struct cli_path *pe, const struct nb_test_cfg *cfg, bool print_intervals,
		 struct nb_report *rep)
{
	pid_t pids[16];
	struct nb_run_hooks hooks = {.interval = print_intervals ? print_interval : NULL,
				     .quit = &quit_flag,
				     .exclude = pids,
				     .n_exclude = pe->topo ? nb_topo_pids(pe->topo, pids, 16) : 0,
				     .key = pe->keyed ? &pe->key : NULL,
				     .latency = pe->latency};
	struct path_run p = {.pe = pe, .cfg = *cfg, .hooks = &hooks, .rep = rep};
	if (pe->remote) { /* the server's interfaces are its responder's to report */
		hooks.n_exclude = 0;
		hooks.server_ifaces = true;
		struct nb_nic_watch *w = watch_route(pe->remote->grant.dial_addr, &hooks);
		int r = cli_remote_run(pe, &hooks, cfg, rep);
		watch_end(w, rep);
		return r;
	}
	struct nb_nic_ref refs[16];
	struct nb_nic_watch *w = watch_start(refs, nb_topo_interfaces(pe->topo, refs, 16), &hooks);
	snprintf(rep->path, sizeof(rep->path), "%s", nb_topo_kind(pe->topo));
	snprintf(rep->topo_name, sizeof(rep->topo_name), "%s", nb_topo_name(pe->topo));
	if (!rep->path_json)
		rep->path_json = nb_topo_describe_json(pe->topo);
	struct nb_topo_guest guest;
	if (!nb_topo_guest(pe->topo, &guest) && !strcmp(guest.accel, "tcg"))
		nb_report_note(
		    rep,
		    "EMULATION-BOUND: the guest runs under TCG, not KVM (see path.guest.accel_why): "
		    "these figures measure qemu's emulator more than the %s datapath",
		    nb_topo_kind(pe->topo));
	snprintf(p.cfg.host, sizeof(p.cfg.host), "%s", nb_topo_dial_addr(pe->topo));
	p.cfg.port = nb_topo_dial_port(pe->topo);
	struct nb_hops *hops = cli_hops_begin(pe, cfg, &hooks, rep);
	pthread_t th;
	if (pthread_create(&th, NULL, path_run_main, &p) != 0)
		p.rc = -EAGAIN;
	else
		pthread_join(th, NULL);
	cli_hops_end(hops, rep);
	watch_end(w, rep);
	if (p.rc < 0) {
		if (!rep->error[0])
			snprintf(rep->error, sizeof(rep->error), "%s", strerror(-p.rc));
		rep->complete = false;
	}
	return p.rc;
}

int cli_run_hosted(const char *route_host, struct nb_run_hooks *hooks, const struct nb_test_cfg *cfg,
		   struct nb_report *rep)
{
	/* the interface the route to the responder leaves by; the responder reports its own side's */
	struct nb_nic_watch *w = watch_route(route_host, hooks);
	hooks->server_ifaces = true;
	int r = nb_run(cfg, hooks, rep);
	watch_end(w, rep);
	if (hooks->engine && hooks->engine->ops->report)
		hooks->engine->ops->report(hooks->engine, rep);
	return r;
}

/* The test against -H HOST, on an engine started here: its usage errors come first, as exit status 2; its
 * facts join the report. */
static int run_on_engine(struct cli_test *t, struct nb_run_hooks *hooks, struct nb_report *rep)
{
	const struct nb_engine_ops *ops = nb_engine_find(t->cfg.engine);
	struct nb_key key;
	char err[256];
	int r;
	if (t->key_file && nb_key_load(t->key_file, &key, err, sizeof(err)) < 0) {
		snprintf(rep->error, sizeof(rep->error), "%s", err);
		rep->complete = false;
		return 2;
	}
	hooks->key = t->key_file ? &key : NULL;
	if (ops && (r = nb_engine_start(ops, &t->cfg, &hooks->engine, err, sizeof(err))) < 0) {
		snprintf(rep->error, sizeof(rep->error), "%s", err);
		rep->complete = false;
		return r == -EINVAL ? 2 : 1;
	}
	r = cli_run_hosted(t->data_host ? t->data_host : t->cfg.host, hooks, &t->cfg, rep);
	nb_engine_stop(hooks->engine);
	nb_key_wipe(&key);
	return r < 0 ? 1 : 0;
}

int cli_run_test(struct cli_test *t, struct nb_report *rep, bool print_intervals)
{
	struct nb_run_hooks hooks = {.interval = print_intervals ? print_interval : NULL, .quit = &quit_flag};
	struct cli_path pe;
	char err[256] = "";
	int r;

	snprintf(rep->cmdline, sizeof(rep->cmdline), "%s", t->cmdline);
	hooks.data_host = t->data_host;
	if (t->hops && cli_hops_check(t, rep->error, sizeof(rep->error)))
		return 2;
	hooks.latency = t->hist;
	if (!t->path && !t->topo)
		return run_on_engine(t, &hooks, rep);
	if (t->path && t->host_given && (t->wire.ifs || t->wire.rate_bps > 0)) {
		snprintf(rep->error, sizeof(rep->error),
			 "--wire and --wire-rate are for paths built on one host, not with -H");
		rep->complete = false;
		return 2;
	}
	cli_wire = t->wire;
	if (t->path && t->host_given)
		r = cli_remote_open(t->cfg.host, t->cfg.port, t->path, t->key_file, &pe, err, sizeof(err));
	else
		r = cli_path_open(t->path, t->topo, t->cfg.port, t->key_file, &pe, err, sizeof(err));
	if (r < 0) {
		snprintf(rep->error, sizeof(rep->error), "%s", err);
		rep->complete = false;
		return r == -EINVAL || r == -ENOENT ? 2 : 1;
	}
	pe.latency = t->hist;
	r = t->hops ? cli_hops_run(&pe, &t->cfg, print_intervals, rep)
		    : cli_path_run(&pe, &t->cfg, print_intervals, rep);
	cli_path_close(&pe);
	return r < 0 ? 1 : 0;
}

static int write_report(const struct nb_report *rep, const struct cli_test *t, FILE *out)
{
	switch (t->format) {
	case CLI_JSON:
		return nb_report_write_json(rep, out);
	case CLI_CSV:
		return nb_report_write_csv(rep, out, true);
	default:
		return t->nic_counters ? nb_report_write_text_counters(rep, out)
				       : nb_report_write_text(rep, out);
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
	catch_signals();
	if (t.hist_out && nb_hist_new(&t.hist) < 0) {
		fprintf(stderr, "nbench %s: out of memory\n", argv[0]);
		return 1;
	}
	nb_report_init(&rep);
	bool live = t.format == CLI_TEXT && !t.quiet && t.cfg.interval_ns > 0;
	int rc = t.load_bps > 0 ? cli_run_loaded(&t, &rep) : cli_run_test(&t, &rep, live);
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
		write_report(&rep, &t, stdout);
	if (!rep.complete)
		fprintf(stderr, "nbench %s: %s\n", argv[0], rep.error);
	if (t.output && measured) {
		FILE *f = fopen(t.output, "w");
		if (!f) {
			fprintf(stderr, "nbench %s: cannot write %s: %s\n", argv[0], t.output,
				strerror(errno));
			rc = 1;
		} else {
			write_report(&rep, &t, f);
			fclose(f);
		}
	}
	if (t.hist_out && measured && write_hist(argv[0], t.hist_out, t.hist) < 0)
		rc = 1;
	nb_hist_free(t.hist);
	nb_report_free(&rep);
	return rep.complete ? (rc ? rc : gate) : 1;
}

/* CAP_NET_ADMIN and CAP_SYS_ADMIN in the effective set (/proc/self/status CapEff). */
bool cli_has_net_admin(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	unsigned long long caps = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	if (f)
		fclose(f);
	return (caps & (1ULL << 12)) && (caps & (1ULL << 21));
}
