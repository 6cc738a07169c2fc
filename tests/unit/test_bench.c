/* SPDX-License-Identifier: MIT */
/*
 * bench/ without argv: a target at -H 127.0.0.1 (a responder served by this process on a free port) runs an
 * rr; the throughput driver searches a frame size under a bound across it and names a size it cannot send; rr
 * --load's probe runs idle and beside a paced stream. Real runs on loopback, short ones: the checks are on
 * what the driver reports (trials, the bound, the load's figures), never on speed.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nbench/bench.h"
#include "nbench/clock.h"
#include "nbench/compare.h"
#include "nbench/report.h"
#include "nbench/serve.h"
#include "nbench/throughput.h"
#include "tap.h"

static volatile sig_atomic_t quit;
static uint16_t port;
static pthread_t server;

/* A port free for TCP and UDP on 127.0.0.1 (the responder takes both), or 0. */
static uint16_t free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int t = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_INET, SOCK_DGRAM, 0);
	uint16_t p = 0;
	if (t >= 0 && u >= 0 && !bind(t, (struct sockaddr *)&sa, sizeof(sa)) &&
	    !getsockname(t, (struct sockaddr *)&sa, &sl) && !bind(u, (struct sockaddr *)&sa, sizeof(sa)))
		p = ntohs(sa.sin_port);
	close(t);
	close(u);
	return p;
}

static void *serve_main(void *arg)
{
	struct nb_serve_cfg sc = {.bind = "127.0.0.1", .port = port};
	char err[256];
	(void)arg;
	if (nb_serve(&sc, &quit, err, sizeof(err)) < 0)
		fprintf(stderr, "responder: %s\n", err);
	return NULL;
}

/* Starts the responder in a thread of this process; true once it accepts connections. */
static bool responder_up(void)
{
	port = free_port();
	if (!port || pthread_create(&server, NULL, serve_main, NULL))
		return false;
	return nb_target_wait_listening("127.0.0.1", port, 5 * NB_NS_PER_S, NULL) == 0;
}

static void responder_down(void)
{
	quit = 1;
	pthread_join(server, NULL);
}

static struct nb_where where(void)
{
	return (struct nb_where){.host = "127.0.0.1", .port = port};
}

static struct nb_test_cfg test_cfg(enum nb_test_kind kind, int64_t duration_ns)
{
	struct nb_test_cfg cfg;
	nb_cfg_defaults(&cfg, kind);
	snprintf(cfg.host, sizeof(cfg.host), "127.0.0.1");
	cfg.port = port;
	cfg.duration_ns = duration_ns;
	cfg.interval_ns = 100 * NB_NS_PER_MS;
	nb_cfg_resolve(&cfg);
	return cfg;
}

static unsigned intervals;
static void count_interval(void *arg, const struct nb_test_cfg *cfg, const struct nb_interval *iv)
{
	(void)arg, (void)cfg, (void)iv;
	intervals++;
}

/* One rr across a -H target: complete, with transactions, ordered percentiles and its interim intervals. */
static void test_target_rr(void)
{
	CHECK_MSG(responder_up(), "no responder on port %u", port);
	struct nb_test_cfg cfg = test_cfg(NB_TEST_RR, 300 * NB_NS_PER_MS);
	struct nb_where w = where();
	struct nb_run_opts o = {.interval = count_interval, .host_facts = true};
	struct nb_target *t = NULL;
	struct nb_report rep;
	char err[256] = "";
	CHECK_MSG(nb_target_open(&w, &cfg, &t, err, sizeof(err)) == 0, "%s", err);
	nb_report_init(&rep);
	CHECK_MSG(nb_target_run(t, &cfg, &o, &rep) == 0 && rep.complete, "%s", rep.error);
	CHECK(rep.txns > 0 && rep.lat.min_ns <= rep.lat.p50_ns && rep.lat.p50_ns <= rep.lat.max_ns);
	CHECK(intervals >= 2);
	CHECK(nb_target_topo(t) == NULL);
	nb_report_free(&rep);
	nb_target_close(t);
	responder_down();
}

/* A size's L1 and L2 rates are its frames/s times the frame with and without preamble and gap. */
static bool near_l1(const struct nb_throughput_size *s)
{
	return fabs(nb_throughput_l1_bps(s) - s->res.rate_fps * 1538 * 8) < 1 &&
	       fabs(nb_throughput_l2_bps(s) - s->res.rate_fps * 1518 * 8) < 1;
}

static unsigned trials;
static void count_trial(void *arg, const struct nb_throughput_trial *t)
{
	(void)arg;
	CHECK(t->frame_bytes == 1518 && t->t->sent > 0);
	trials++;
}

/* The search under a 20 Mbit/s bound: a rate found at or below it, one callback per trial; 32-byte frames
 * named as unsendable, not searched. */
static void test_throughput(void)
{
	static struct nb_throughput_cfg c;
	static struct nb_throughput_result res;
	CHECK_MSG(responder_up(), "no responder on port %u", port);
	c = (struct nb_throughput_cfg){.where = where(),
				       .base = test_cfg(NB_TEST_STREAM, NB_NS_PER_S),
				       .sizes = {32, 1518},
				       .n_sizes = 2,
				       .loss_pct = 5,
				       .trial_ns = 200 * NB_NS_PER_MS,
				       .res_pct = 25,
				       .max_l1_bps = 20e6,
				       .trial = count_trial};
	c.base.proto = NB_PROTO_UDP;
	CHECK_INT(nb_throughput_run(&c, &res), 0);
	CHECK_INT(res.n_sizes, 2);
	CHECK(res.sizes[0].unsupported != NULL && res.sizes[0].res.trials == 0);
	const struct nb_throughput_size *s = &res.sizes[1];
	double bound_fps = 20e6 / ((1518 + NB_ETH_L1_EXTRA_BYTES) * 8.0);
	CHECK_MSG(s->res.found && s->res.rate_fps > 0 && s->res.rate_fps <= bound_fps * 1.001,
		  "rate %g of %g: %s", s->res.rate_fps, bound_fps, s->error);
	CHECK(s->payload_bytes == 1472 && near_l1(s));
	CHECK_INT(trials, s->res.trials);
	CHECK(res.client.kernel[0] != '\0' && res.timestamp[0] != '\0');
	responder_down();
}

/* rr --load: the probe idle, then beside a 10 Mbit/s stream; the report is the loaded probe's, with the idle
 * figures and the load's beside it, and keeps the caller's command line. */
static void test_load(void)
{
	CHECK_MSG(responder_up(), "no responder on port %u", port);
	struct nb_test_cfg cfg = test_cfg(NB_TEST_RR, 500 * NB_NS_PER_MS);
	struct nb_where w = where();
	struct nb_run_opts o = {0};
	struct nb_target *t = NULL;
	struct nb_report rep;
	char err[256] = "";
	CHECK_MSG(nb_target_open(&w, &cfg, &t, err, sizeof(err)) == 0, "%s", err);
	nb_report_init(&rep);
	snprintf(rep.cmdline, sizeof(rep.cmdline), "nbench rr --load 10M");
	CHECK_INT(nb_load_run(t, &cfg, 10e6, NB_PROTO_UDP, &o, &rep), 0);
	CHECK_MSG(rep.complete, "%s", rep.error);
	CHECK(rep.load.on && rep.load.proto == NB_PROTO_UDP && rep.load.offered_bps == 10e6);
	CHECK(rep.load.idle_txns > 0 && rep.txns > 0 && rep.load.achieved_bps > 0);
	CHECK_STR(rep.cmdline, "nbench rr --load 10M");
	nb_report_free(&rep);
	nb_target_close(t);
	responder_down();
}

/* compare's rounds without a path: each round runs every (test, placement, path) cell once, a test's paths
 * back to back (its block), in an order the seed replays and the round's number changes. */
static void test_compare_order(void)
{
	static struct nb_compare c;
	c.cfg =
	    (struct nb_compare_cfg){.paths = {"native", "host", "bridge", "nat"},
				    .npaths = 4,
				    .tests = {nb_compare_test_find("rr-tcp"), nb_compare_test_find("stream")},
				    .ntests = 2,
				    .pl = {NB_PLACE_SAME, NB_PLACE_SPLIT},
				    .npl = 2};
	c.seed = 42;
	unsigned o[64][3], again[64][3], first[64][3];
	unsigned n = nb_compare_order(&c, 1, first), differs = 0;
	CHECK_INT(n, (2 + 1) * 4); /* rr-tcp in two placements, the stream unpinned; four paths each */
	for (unsigned k = 1; k <= 10; k++) {
		CHECK_INT(nb_compare_order(&c, k, o), n);
		nb_compare_order(&c, k, again);
		CHECK(!memcmp(o, again, sizeof(o[0]) * n));
		differs += memcmp(o, first, sizeof(o[0]) * n) != 0;
		unsigned seen[2][2][4] = {{{0}}};
		for (unsigned i = 0; i < n; i++) {
			seen[o[i][0]][o[i][1]][o[i][2]]++;
			if (i % 4) /* a block's paths together */
				CHECK(o[i][0] == o[i - 1][0] && o[i][1] == o[i - 1][1]);
		}
		CHECK(seen[0][0][3] == 1 && seen[0][1][0] == 1 && seen[1][0][2] == 1 && seen[1][1][0] == 0);
	}
	CHECK_MSG(differs >= 8, "%u of 9 later rounds differ from the first", differs);
	c.seed = 43;
	nb_compare_order(&c, 1, o);
	CHECK(memcmp(o, first, sizeof(o[0]) * n) != 0);
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {TAP_CASE(test_target_rr), TAP_CASE(test_throughput),
						TAP_CASE(test_load), TAP_CASE(test_compare_order)};
	signal(SIGPIPE, SIG_IGN);
	return TAP_RUN(cases, argc > 1 ? argv[1] : NULL);
}
