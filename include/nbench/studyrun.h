/* SPDX-License-Identifier: MIT */
/*
 * `nbench study`'s driver (bench/studyrun.c): RC25482's network matrix run through compare's rounds (the
 * study's tests on every path, interleaved, each run's figures kept by round so that each path pairs with
 * native's run of the same round), then the Redis row: rr with the study's Redis load (a mix of SET- and
 * GET-shaped messages, several in flight per connection) at each number of connections, on every path,
 * in rounds. Numbers in, numbers out: the table beside the study's figures is analyze/study.c's, the
 * printing the CLI's.
 */
#ifndef NBENCH_STUDYRUN_H
#define NBENCH_STUDYRUN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "nbench/bench.h"
#include "nbench/compare.h"
#include "nbench/study.h"

#define NB_STUDYRUN_MAX_CONNS  12 /* the Redis row's connection counts */
#define NB_STUDYRUN_MAX_ROUNDS 50 /* the matrix's and the Redis row's rounds */

/* The figures of a run the table is made of. */
enum nb_studyrun_fig {
	NB_SR_GOODPUT, /* stream: goodput at the receiver, bit/s */
	NB_SR_CPB,     /* stream: system-wide CPU cycles per byte on the system under test */
	NB_SR_TPS,     /* rr: transactions/s */
	NB_SR_MEAN,    /* rr: mean round trip, ns */
	NB_SR_NFIG
};

/* What a run that ended was: its phase, test, path and round, and how it went. */
struct nb_studyrun_progress {
	bool redis;	      /* the Redis row's run (else the matrix's) */
	const char *test;     /* compare's test name; "redis" */
	const char *path;     /* the path kind */
	unsigned connections; /* the Redis row's */
	unsigned round;	      /* from 1 */
	bool ok;
	const struct nb_report *rep; /* its report, valid during the callback */
};

struct nb_studyrun_cfg {
	struct nb_where
	    where; /* -H and --key-file (an agent builds the server halves), --wire, --wire-rate */
	const char *paths[NB_COMPARE_MAX_PATHS]; /* path kinds; native first: the ratios' reference */
	unsigned npaths;
	const char *tests[NB_COMPARE_MAX_TESTS]; /* compare's test names (the study's figures') */
	unsigned ntests;
	enum nb_placement placement; /* rr's */
	unsigned rounds;	     /* the matrix's (exactly these) */
	uint64_t seed;		     /* the rounds' order and the bootstrap's; 0: compare draws one */
	int64_t duration_ns;	     /* each matrix run's */
	/* the Redis row: off when nconns is 0 */
	unsigned conns[NB_STUDYRUN_MAX_CONNS];
	unsigned nconns;
	unsigned redis_rounds;
	int64_t redis_duration_ns;
	unsigned redis_depth; /* requests in flight per connection */
	char redis_mix[64];   /* --mix of its requests and responses */
	volatile sig_atomic_t *quit;
	/* Progress, each may be NULL: a path about to be built, one left out (with why), a run that ended. */
	void (*building)(void *arg, const char *path);
	void (*left_out)(void *arg, const char *path, const char *why);
	void (*run)(void *arg, const struct nb_studyrun_progress *p);
	void *arg;
};

struct nb_studyrun {
	struct nb_studyrun_cfg cfg;
	struct nb_compare *cmp; /* owned, while open */
	/* after open (and after close): compare's settings with the paths built in its order, and the paths
	 * left out with why */
	struct nb_compare_cfg cc;
	struct {
		char path[16];
		char why[256];
	} skipped[NB_COMPARE_MAX_PATHS];
	unsigned nskipped;
	bool two_hosts; /* -H: the system under test is the server host (its own CPU figures) */
	uint64_t seed;	/* the one used (compare's): --seed replays the rounds' order */
	/* the matrix: per test (cmp's index), path (cmp's) and round, each figure; NAN where the run failed
	 */
	double v[NB_COMPARE_MAX_TESTS][NB_COMPARE_MAX_PATHS][NB_SR_NFIG][NB_STUDYRUN_MAX_ROUNDS];
	unsigned rounds; /* the matrix's rounds begun */
	char cpu_source[16];
	bool sut_same_host; /* -H to a responder on this very machine: its CPU figure is this host's */
	/* the Redis row: per connection count, path and round: requests/s and mean latency (ns); NAN failed
	 */
	double redis_tps[NB_STUDYRUN_MAX_CONNS][NB_COMPARE_MAX_PATHS][NB_STUDYRUN_MAX_ROUNDS];
	double redis_lat_ns[NB_STUDYRUN_MAX_CONNS][NB_COMPARE_MAX_PATHS][NB_STUDYRUN_MAX_ROUNDS];
	unsigned redis_rounds;	     /* begun */
	int64_t matrix_ns, redis_ns; /* how long each phase took */
};

/* Builds every path of cfg (through compare) into r (zeroed here; large: allocate it). 0; -EINVAL with err
 * (bad settings: no native, a mix that does not parse); -EPERM with err when no path builds here at all. */
int nb_studyrun_open(struct nb_studyrun *r, const struct nb_studyrun_cfg *cfg, char *err, size_t errlen);
/* The matrix: cfg.rounds rounds of every test on every path. */
void nb_studyrun_matrix(struct nb_studyrun *r);
/* The Redis row: for each connection count, cfg.redis_rounds rounds of every path (unpinned). */
void nb_studyrun_redis(struct nb_studyrun *r);
/* Tears the paths down and frees the compare; r's figures stay readable. */
void nb_studyrun_close(struct nb_studyrun *r);

/* What nbench measured of the study's figure fig on path kind (nb_study_measure_fn's shape, arg the
 * studyrun and the study as {r, s}): the figure's value in the study's unit with its interval, and its
 * ratio to native paired by round. */
void nb_studyrun_measure(void *arg, unsigned fig, const char *kind, struct nb_study_measure *ret);
/* The Redis row's points (path x connections, native's included) into pts (room for
 * NB_STUDYRUN_MAX_CONNS x NB_COMPARE_MAX_PATHS): requests/s and mean latency in us, each with its ratio to
 * native paired by round. How many. */
unsigned nb_studyrun_redis_points(const struct nb_studyrun *r, struct nb_study_redis_point *pts);

#endif
