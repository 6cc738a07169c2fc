/* SPDX-License-Identifier: MIT */
/*
 * Targets (bench.h): where tests run, opened once for one run or many. A path built (or opened) here gets a
 * responder of its own in its server end and its runs go from the client's namespace; an agent's half is
 * remote.c's; -H HOST runs from here on an engine started once. Every run watches the interfaces it crosses
 * over its measured window, and --hops captures on them (capture.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_int.h"
#include "nbench/auth.h"
#include "nbench/clock.h"
#include "nbench/engine.h"
#include "nbench/guest.h"
#include "nbench/nic.h"
#include "nbench/report.h"
#include "nbench/topo.h"

struct nb_target {
	struct nb_topo *topo;	  /* a path on this host */
	bool built;		  /* built here: torn down at close */
	bool ready;		  /* its responder answered once */
	struct nb_remote *remote; /* an agent's half */
	struct nb_engine *eng;	  /* -H: the engine started here (NULL: sock's, started per run) */
	bool keyed;
	struct nb_key key;
	const char *data_host;
	void (*warn)(void *arg, const char *msg);
	void *warn_arg;
};

int nb_target_wait_listening(const char *host, uint16_t port, int64_t timeout_ns, volatile sig_atomic_t *quit)
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
	} while (nb_now_ns() < end && !(quit && *quit));
	return r;
}

/* ---- opening ---------------------------------------------------------------------------------------- */

/* The wire settings into o, for a kind with a wire (all but the floor, loopback). */
static int wire_opts(const char *kind, const struct nb_wire_opts *w, struct nb_topo_opts *o, char *err,
		     size_t errlen)
{
	const char *comma = w->ifs ? strchr(w->ifs, ',') : NULL;

	if (!kind || !nb_topo_kind_parent(kind))
		return 0;
	if (w->ifs && (!comma || (size_t)(comma - w->ifs) >= sizeof(o->wire_a) ||
		       strlen(comma + 1) >= sizeof(o->wire_b))) {
		snprintf(err, errlen, "--wire: '%s' is not IF_A,IF_B", w->ifs);
		return -EINVAL;
	}
	if (comma) {
		snprintf(o->wire_a, sizeof(o->wire_a), "%.*s", (int)(comma - w->ifs), w->ifs);
		snprintf(o->wire_b, sizeof(o->wire_b), "%s", comma + 1);
	}
	o->wire_rate_bps = w->rate_bps;
	o->force = w->force;
	return 0;
}

pid_t nb_target_spawn(struct nb_topo *topo, const char *exe, const char *key_file, char *const *extra,
		      unsigned n_extra)
{
	char portstr[8], self[4096];
	char *argv[10 + NB_TARGET_MAX_EXTRA] = {
	    self, "serve", "--port", portstr, "--bind", (char *)nb_topo_server_addr(topo), "--quiet"};
	unsigned k = 7;
	if (exe) {
		snprintf(self, sizeof(self), "%s", exe);
	} else {
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		self[n > 0 ? n : 0] = 0;
	}
	snprintf(portstr, sizeof(portstr), "%u", nb_topo_server_port(topo));
	if (key_file) {
		argv[k++] = "--key-file";
		argv[k++] = (char *)key_file;
	}
	for (unsigned i = 0; i < n_extra && i < NB_TARGET_MAX_EXTRA; i++)
		argv[k++] = extra[i];
	return nb_topo_spawn_server(topo, argv);
}

/* Starts `nbench serve` in the path's server end, with the key in key_file when not NULL. */
static int start_responder(struct nb_target *t, const char *exe, const char *key_file, char *err,
			   size_t errlen)
{
	pid_t pid = nb_target_spawn(t->topo, exe, key_file, NULL, 0);
	if (pid < 0)
		snprintf(err, errlen, "cannot start the responder in path %s: %s", nb_topo_name(t->topo),
			 strerror((int)-pid));
	return pid < 0 ? (int)pid : 0;
}

/* Builds path kind (or opens the instance called name when kind is NULL) and starts a responder in it. */
static int open_path(struct nb_target *t, const struct nb_where *w, char *err, size_t errlen)
{
	struct nb_topo_opts o = {.server_port = w->port, .publish_port = w->port};
	int r = wire_opts(w->path, &w->wire, &o, err, errlen);

	if (r)
		return r;
	if (w->key_file && nb_key_load(w->key_file, &t->key, err, errlen) < 0)
		return -EINVAL; /* before anything is built: bad usage */
	t->built = w->path != NULL;
	r = t->built ? nb_topo_up_ex(w->path, NULL, &o, &t->topo, err, errlen)
		     : nb_topo_open(w->topo, &t->topo, err, errlen);
	if (r < 0)
		return r;
	if (nb_topo_has_own_responder(t->topo))
		return 0; /* a VM or Docker path: the guest or the container runs its own nbench serve
			   * (keyless), up once nb_topo_up returned */
	t->keyed = w->key_file != NULL;
	return start_responder(t, w->exe, w->key_file, err, errlen);
}

/* -H SERVER --path KIND: the agent's half, for the key's holders only. */
static int open_remote(struct nb_target *t, const struct nb_where *w, char *err, size_t errlen)
{
	if (!w->key_file) {
		snprintf(
		    err, errlen,
		    "-H with --path needs --key-file: the agent builds paths for its key's holders only");
		return -EINVAL;
	}
	if (nb_key_load(w->key_file, &t->key, err, errlen) < 0)
		return -EINVAL;
	t->keyed = true;
	return nb_remote_open(w->host, w->port, w->path, &t->key, w->for_ns, &t->remote, err, errlen);
}

/* -H HOST: the key, and the engine started once for every run. */
static int open_host(struct nb_target *t, const struct nb_where *w, const struct nb_test_cfg *cfg, char *err,
		     size_t errlen)
{
	if (w->key_file && nb_key_load(w->key_file, &t->key, err, errlen) < 0)
		return -EINVAL;
	t->keyed = w->key_file != NULL;
	const struct nb_engine_ops *ops = nb_engine_find(cfg->engine);
	return ops ? nb_engine_start(ops, cfg, &t->eng, err, errlen) : 0;
}

int nb_target_open(const struct nb_where *where, const struct nb_test_cfg *cfg, struct nb_target **ret,
		   char *err, size_t errlen)
{
	struct nb_target *t = calloc(1, sizeof(*t));
	int r;

	if (!t) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	t->data_host = where->data_host;
	t->warn = where->warn;
	t->warn_arg = where->warn_arg;
	if (where->path && where->host)
		r = open_remote(t, where, err, errlen);
	else if (where->path || where->topo)
		r = open_path(t, where, err, errlen);
	else
		r = open_host(t, where, cfg, err, errlen);
	if (r < 0) {
		nb_target_close(t);
		return r;
	}
	*ret = t;
	return 0;
}

void nb_target_close(struct nb_target *t)
{
	if (!t)
		return;
	nb_remote_close(t->remote, t->warn, t->warn_arg);
	if (t->topo)
		nb_topo_down(t->topo, t->built);
	nb_engine_stop(t->eng);
	nb_key_wipe(&t->key);
	free(t);
}

struct nb_topo *nb_target_topo(const struct nb_target *t)
{
	return t->topo;
}

struct nb_engine *nb_target_engine(const struct nb_target *t)
{
	return t->eng;
}

/* ---- running ---------------------------------------------------------------------------------------- */

/* One run's hooks and what they call back into: the caller's interval lines, the interface watch. */
struct run_ctx {
	const struct nb_run_opts *o;
	struct nb_nic_watch *watch;
	struct nb_run_hooks hooks;
};

static void ctx_interval(void *arg, const struct nb_test_cfg *cfg, const struct nb_interval *iv)
{
	struct run_ctx *x = arg;
	x->o->interval(x->o->arg, cfg, iv);
}

static void ctx_window(void *arg, bool end)
{
	struct run_ctx *x = arg;
	nb_nic_watch_window(x->watch, end);
}

static void ctx_init(struct run_ctx *x, const struct nb_target *t, const struct nb_run_opts *o)
{
	*x = (struct run_ctx){.o = o};
	x->hooks = (struct nb_run_hooks){.interval = o->interval ? ctx_interval : NULL,
					 .arg = x,
					 .quit = o->quit,
					 .key = t->keyed ? &t->key : NULL,
					 .latency = o->latency};
}

/* Watches refs over the run's measured window. */
static void watch_start(struct run_ctx *x, const struct nb_nic_ref *refs, unsigned n)
{
	if (n && nb_nic_watch_new(refs, n, &x->watch) == 0)
		x->hooks.window = ctx_window;
}

/* watch_start on the interface the route to host leaves by (none when there is no route). */
static void watch_route(struct run_ctx *x, const char *host)
{
	struct nb_nic_ref ref = {.netns = ""};
	bool routed = !nb_nic_route_iface(host, ref.ifname, sizeof(ref.ifname));
	watch_start(x, &ref, routed);
}

/* The watched interfaces (and the server's, which nb_run added) into rep, with the note on their drops. */
static void watch_end(struct run_ctx *x, struct nb_report *rep)
{
	nb_report_add_watch(rep, x->watch);
	nb_nic_watch_free(x->watch);
	x->watch = NULL;
}

/* The generator's side of a run across a path: in its own thread, so only that thread (and the flow threads
 * it starts) enters the client's network namespace. */
struct path_run {
	struct nb_target *t;
	struct nb_test_cfg cfg;
	const struct nb_run_hooks *hooks;
	struct nb_report *rep;
	int rc;
};

static void *path_run_main(void *arg)
{
	struct path_run *p = arg;
	int r = nb_topo_enter_client(p->t->topo);
	if (r < 0) {
		snprintf(p->rep->error, sizeof(p->rep->error), "cannot enter the client's namespace: %s",
			 strerror(-r));
		p->rc = r;
		return NULL;
	}
	if (!p->t->ready) {
		r = nb_target_wait_listening(p->cfg.host, p->cfg.port, 10 * NB_NS_PER_S, p->hooks->quit);
		if (r < 0) {
			snprintf(p->rep->error, sizeof(p->rep->error),
				 "the responder in path %s did not come up: %s", nb_topo_name(p->t->topo),
				 strerror(-r));
			p->rc = r;
			return NULL;
		}
		p->t->ready = true;
	}
	p->rc = nb_run(&p->cfg, p->hooks, p->rep);
	return NULL;
}

/* What the report says of the path: its kind, instance and description, and a guest that runs emulated. */
static void path_facts(const struct nb_topo *topo, struct nb_report *rep)
{
	snprintf(rep->path, sizeof(rep->path), "%s", nb_topo_kind(topo));
	snprintf(rep->topo_name, sizeof(rep->topo_name), "%s", nb_topo_name(topo));
	if (!rep->path_json)
		rep->path_json = nb_topo_describe_json(topo);
	struct nb_topo_guest guest;
	if (!nb_topo_guest(topo, &guest) && !strcmp(guest.accel, "tcg"))
		nb_report_note(
		    rep,
		    "EMULATION-BOUND: the guest runs under TCG, not KVM (see path.guest.accel_why): "
		    "these figures measure qemu's emulator more than the %s datapath",
		    nb_topo_kind(topo));
}

static int run_path(struct nb_target *t, struct run_ctx *x, const struct nb_test_cfg *cfg,
		    struct nb_report *rep)
{
	pid_t pids[16];
	struct nb_nic_ref refs[16];
	struct path_run p = {.t = t, .cfg = *cfg, .hooks = &x->hooks, .rep = rep};

	x->hooks.exclude = pids;
	x->hooks.n_exclude = nb_topo_pids(t->topo, pids, 16);
	watch_start(x, refs, nb_topo_interfaces(t->topo, refs, 16));
	path_facts(t->topo, rep);
	snprintf(p.cfg.host, sizeof(p.cfg.host), "%s", nb_topo_dial_addr(t->topo));
	p.cfg.port = nb_topo_dial_port(t->topo);
	struct nb_capture *cap =
	    x->o->capture ? nb_capture_begin(t->topo, cfg, x->o->hops_backend, &x->hooks, rep) : NULL;
	struct nb_pathcap *pcap = x->o->pathcap ? nb_bench_pathcap_begin(t->topo, x->o->pathcap, rep) : NULL;
	pthread_t th;
	if (pthread_create(&th, NULL, path_run_main, &p) != 0)
		p.rc = -EAGAIN;
	else
		pthread_join(th, NULL);
	nb_bench_pathcap_end(pcap, rep);
	nb_capture_end(cap, rep);
	watch_end(x, rep);
	if (p.rc < 0) {
		if (!rep->error[0])
			snprintf(rep->error, sizeof(rep->error), "%s", strerror(-p.rc));
		rep->complete = false;
	}
	return p.rc;
}

/* -H: the run from here, on the engine started at open; its facts join the report when asked. */
static int run_host(struct nb_target *t, struct run_ctx *x, const struct nb_test_cfg *cfg,
		    struct nb_report *rep)
{
	x->hooks.engine = t->eng;
	x->hooks.data_host = t->data_host;
	if (x->o->host_facts) { /* the interface the route to the responder leaves by; it reports its own */
		watch_route(x, t->data_host ? t->data_host : cfg->host);
		x->hooks.server_ifaces = true;
	}
	int r = nb_run(cfg, &x->hooks, rep);
	watch_end(x, rep);
	if (x->o->host_facts && t->eng && t->eng->ops->report)
		t->eng->ops->report(t->eng, rep);
	return r;
}

int nb_target_run(struct nb_target *t, const struct nb_test_cfg *cfg, const struct nb_run_opts *o,
		  struct nb_report *rep)
{
	struct run_ctx x;
	ctx_init(&x, t, o);
	if (t->topo)
		return run_path(t, &x, cfg, rep);
	if (!t->remote)
		return run_host(t, &x, cfg, rep);
	x.hooks.server_ifaces =
	    true; /* an agent's half: the server's interfaces are its responder's to report */
	watch_route(&x, nb_remote_dial_addr(t->remote));
	int r = nb_remote_run(t->remote, &x.hooks, cfg, rep);
	watch_end(&x, rep);
	return r;
}

int nb_target_run_hops(struct nb_target *t, const struct nb_test_cfg *cfg, const struct nb_run_opts *o,
		       struct nb_report *rep)
{
	/* without, then with: one each, the capture's run last so its report's figures are the undisturbed
	 * run's and the decomposition sits beside them */
	struct nb_run_opts without = *o, with_capture = *o;
	struct nb_report with;
	without.capture = false;
	with_capture.capture = true;
	with_capture.pathcap = NULL;
	nb_report_init(&with);
	snprintf(with.cmdline, sizeof(with.cmdline), "%s", rep->cmdline);
	int r = nb_target_run(t, cfg, &without, rep);
	if (r < 0 || (o->quit && *o->quit)) {
		nb_report_free(&with);
		return r;
	}
	int r2 = nb_target_run(t, cfg, &with_capture, &with);
	if (with.hops) {
		rep->hops = with.hops;
		with.hops = NULL;
		rep->hops->rtt_without_ns = rep->lat.mean_ns;
		rep->hops->rtt_with_ns = with.lat.mean_ns;
		rep->hops->rtt_p50_without_ns = rep->lat.p50_ns;
		rep->hops->rtt_p50_with_ns = with.lat.p50_ns;
		rep->hops->runs_without = 1;
		rep->hops->runs_with = 1;
	}
	for (unsigned i = 0; i < with.n_notes; i++)
		nb_report_note(rep, "%s", with.notes[i]);
	if (r2 < 0 && !with.hops)
		nb_report_note(rep, "no hops: the run with capture failed: %s", with.error);
	nb_report_free(&with);
	return r;
}

/* A responder that runs one test at a time (DPDK's) refuses the next run until it has let the last one go:
 * a refusal before any flow started is tried again, this often this far apart. */
#define BUSY_TRIES    50
#define BUSY_RETRY_NS (100 * NB_NS_PER_MS)

static bool refused_busy(const struct nb_report *rep)
{
	return rep->n_flows == 0 && strstr(rep->error, "one test at a time");
}

int nb_target_run_retry(struct nb_target *t, const struct nb_test_cfg *cfg, const struct nb_run_opts *o,
			struct nb_report *rep)
{
	int r = -EINTR;
	for (unsigned i = 0; i < BUSY_TRIES && !(o->quit && *o->quit); i++) {
		if (i) {
			nb_report_free(rep);
			nb_report_init(rep);
			nb_sleep_until(nb_now_ns() + BUSY_RETRY_NS);
		}
		r = nb_target_run(t, cfg, o, rep);
		if (r == 0 || !refused_busy(rep))
			break;
	}
	return r;
}
