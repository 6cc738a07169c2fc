/* SPDX-License-Identifier: MIT */
/* MLRsearch (gen/mlr.c): the RFC 9971 example's classifications and conditional throughputs, and searches
 * over a simulated device: a capacity, a steady loss, a transient loss in one trial (which moves the binary
 * search's result and not MLRsearch's), a slow sender, a failing trial. */
#include <errno.h>
#include <math.h>

#include "../unit/tap.h"
#include "nbench/gen.h"
#include "nbench/mlr.h"

/* ---- RFC 9971 appendix C: one load, four goals, six points in time ---- */

static const struct nb_mlr_goal rfc_goals[4] = {
    {.final_trial_s = 60,
     .duration_sum_s = 60,
     .loss_ratio = 0,
     .exceed_ratio = 0,
     .width = 0.01}, /* RFC2544 */
    {.final_trial_s = 60,
     .duration_sum_s = 120,
     .loss_ratio = 0,
     .exceed_ratio = 0.5,
     .width = 0.01}, /* TST009 */
    {.final_trial_s = 1,
     .duration_sum_s = 120,
     .loss_ratio = 0.005,
     .exceed_ratio = 0.5,
     .width = 0.01}, /* 1s final */
    {.final_trial_s = 60,
     .duration_sum_s = 60,
     .loss_ratio = 0.005,
     .exceed_ratio = 0.2,
     .width = 0.01}, /* 20% exceed */
};

static unsigned add(struct nb_mlr_trial *t, unsigned n, unsigned count, double dur, double loss)
{
	for (unsigned i = 0; i < count; i++)
		t[n++] = (struct nb_mlr_trial){.load_fps = 1e6, .duration_s = dur, .loss_ratio = loss};
	return n;
}

static void test_rfc_example(void)
{
	static struct nb_mlr_trial t[200];
	const enum nb_mlr_class U = NB_MLR_UPPER, L = NB_MLR_LOWER, D = NB_MLR_UNDECIDED;
	/* The classification tables' last rows, point by point, but for goal 4 at points 5 and 6: the RFC's
	 * table says Lower Bound there, while its own rows (an optimistic exceed ratio of 42.857% and 27.273%
	 * against the goal's 20%) and appendix A's code (as FD.io CSIT's implementation) give Upper Bound. */
	const enum nb_mlr_class want[6][4] = {{D, D, D, D}, {U, D, D, D}, {U, D, D, U},
					      {U, D, L, U}, {U, D, L, U}, {U, L, L, U}};
	unsigned n = 0;
	for (unsigned p = 0; p < 6; p++) {
		switch (p) {
		case 0:
			n = add(t, n, 59, 1, 0);
			break;
		case 1:
			n = add(t, n, 1, 1, 0.01);
			break;
		case 2:
			n = add(t, n, 59, 1, 0.01);
			break;
		case 3:
			n = add(t, n, 1, 1, 0);
			break;
		case 4:
			n = add(t, n, 1, 60, 0.001);
			break;
		case 5:
			n = add(t, n, 1, 60, 0);
			break;
		}
		for (unsigned g = 0; g < 4; g++) {
			enum nb_mlr_class c = nb_mlr_classify(&rfc_goals[g], t, n, 1e6);
			CHECK_MSG(c == want[p][g], "point %u goal %u: %d, expected %d", p + 1, g + 1, c,
				  want[p][g]);
		}
	}
	/* a load with no trial is Undecided; trials at another load do not count */
	CHECK(nb_mlr_classify(&rfc_goals[0], t, n, 2e6) == NB_MLR_UNDECIDED);
	/* appendix C's conditional throughputs at point 6: goals 2 and 3 1 Mfps, goal 4 999 kfps */
	CHECK_MSG(fabs(nb_mlr_conditional_fps(&rfc_goals[1], t, n, 1e6) - 1e6) < 1e-3, "goal 2");
	CHECK_MSG(fabs(nb_mlr_conditional_fps(&rfc_goals[2], t, n, 1e6) - 1e6) < 1e-3, "goal 3");
	CHECK_MSG(fabs(nb_mlr_conditional_fps(&rfc_goals[3], t, n, 1e6) - 999e3) < 1e-3, "goal 4 %.3f",
		  nb_mlr_conditional_fps(&rfc_goals[3], t, n, 1e6));
	CHECK(nb_mlr_conditional_fps(&rfc_goals[1], t, n, 2e6) == 0);
}

/* ---- a simulated device ---- */

/* Frames above capacity_fps are lost, plus one in every drop_every (0: none); the sender offers at most
 * sender_fps (also what an unpaced trial offers). One trial is hit by a transient: the hit-th trial (1-based)
 * at a load at most capacity loses burst frames; trial number fail_at returns -EIO. */
struct sim {
	double capacity_fps, sender_fps;
	unsigned drop_every;
	unsigned hit, burst;
	unsigned trials, fail_at, below;
	double loads[512], durs[512];
};

static void sim_frames(struct sim *s, double load_fps, double dur_s, struct nb_trial *ret)
{
	double offered = load_fps == 0 || load_fps > s->sender_fps ? s->sender_fps : load_fps;
	ret->sent = (uint64_t)llround(offered * dur_s);
	ret->sent_fps = offered;
	ret->lost = offered > s->capacity_fps ? (uint64_t)llround((offered - s->capacity_fps) * dur_s) : 0;
	if (s->drop_every)
		ret->lost += ret->sent / s->drop_every;
	if (offered <= s->capacity_fps && ++s->below == s->hit)
		ret->lost += s->burst;
	if (ret->lost > ret->sent)
		ret->lost = ret->sent;
}

static int sim_mlr(void *arg, double load_fps, double dur_s, struct nb_trial *ret)
{
	struct sim *s = arg;
	if (++s->trials == s->fail_at)
		return -EIO;
	if (s->trials <= 512) {
		s->loads[s->trials - 1] = load_fps;
		s->durs[s->trials - 1] = dur_s;
	}
	sim_frames(s, load_fps, dur_s, ret);
	return 0;
}

/* the binary search's trials: one second each */
static int sim_binary(void *arg, double rate_fps, struct nb_trial *ret)
{
	return sim_mlr(arg, rate_fps, 1.0, ret);
}

/* nbench's defaults: zero loss, exceed 0.5, final trials of 1 s, a duration sum of 2 s, 1% width, two
 * preceding phases */
static struct nb_mlr_cfg defaults(double max_fps)
{
	return (struct nb_mlr_cfg){.goal = {.loss_ratio = 0,
					    .exceed_ratio = 0.5,
					    .final_trial_s = 1,
					    .duration_sum_s = 2,
					    .width = 0.01},
				   .max_fps = max_fps,
				   .preceding = 2,
				   .short_pct = 3};
}

static void test_finds_capacity(void)
{
	struct sim s = {.capacity_fps = 37000, .sender_fps = 1e6};
	struct nb_mlr_cfg c = defaults(100000);
	struct nb_mlr_result r;
	CHECK_INT(nb_mlr_search(&c, sim_mlr, &s, &r), 0);
	CHECK_MSG(r.irregular == NB_MLR_REGULAR, "%s", nb_mlr_irregular_str(r.irregular));
	CHECK_MSG(r.has_lower && r.lower_fps <= 37000 && r.lower_fps >= 37000 * 0.99, "lower %.0f",
		  r.lower_fps);
	CHECK_MSG(r.has_upper && r.upper_fps > 37000 && r.upper_fps - r.lower_fps <= 0.01 * r.upper_fps,
		  "upper %.0f", r.upper_fps);
	CHECK(r.conditional_fps == r.lower_fps); /* no loss at the lower bound */
	CHECK(r.max_fps == 100000 && s.loads[0] == 100000);
	CHECK(r.max_rx_fps == 37000);
	CHECK_INT(r.n_trials, s.trials);
	/* short trials first, the goal's last: the first at the initial duration (a quarter), the last at the
	 * final one, never shorter than an earlier trial; the relevant bounds have a full-length trial each
	 */
	CHECK(s.durs[0] == 0.25 && s.durs[s.trials - 1] == 1.0);
	bool rising = true, lower_full = false, upper_full = false;
	for (unsigned i = 0; i < r.n_trials; i++) {
		const struct nb_mlr_trial *t = &r.trials[i];
		rising &= i == 0 || t->duration_s >= r.trials[i - 1].duration_s;
		CHECK(t->duration_s == s.durs[i] && t->phase <= 2 && t->sent > 0);
		lower_full |= t->load_fps == r.lower_fps && t->duration_s == 1.0;
		upper_full |= t->load_fps == r.upper_fps && t->duration_s == 1.0;
	}
	CHECK(rising && lower_full && upper_full);
	CHECK_MSG(r.n_trials < 40, "%u trials", r.n_trials);
	nb_mlr_result_free(&r);
}

/* A burst of frames lost once, in the hit-th trial at a load within capacity: the binary search takes that
 * trial as the truth when it is its first within capacity (its result falls to half the bound), while
 * MLRsearch measures that load again and finds the capacity whichever trial the transient hits. */
static void test_transient(void)
{
	struct nb_mlr_result r;
	struct nb_search_result b;
	struct sim s = {.capacity_fps = 80000, .sender_fps = 1e6, .hit = 1, .burst = 50};
	struct nb_search_cfg bc = {.max_fps = 100000, .resolution_pct = 1};
	CHECK_INT(nb_search_rate(&bc, sim_binary, &s, &b), 0);
	CHECK_MSG(b.found && b.rate_fps < 50000, "binary with a transient: %.0f", b.rate_fps);
	struct sim s0 = {.capacity_fps = 80000, .sender_fps = 1e6};
	CHECK_INT(nb_search_rate(&bc, sim_binary, &s0, &b), 0);
	CHECK_MSG(b.found && b.rate_fps >= 79000, "binary without: %.0f", b.rate_fps);

	struct nb_mlr_cfg c = defaults(100000);
	for (unsigned hit = 1; hit <= 16; hit++) {
		struct sim m = {.capacity_fps = 80000, .sender_fps = 1e6, .hit = hit, .burst = 50};
		CHECK_INT(nb_mlr_search(&c, sim_mlr, &m, &r), 0);
		CHECK_MSG(r.irregular == NB_MLR_REGULAR && r.lower_fps <= 80000 &&
			      r.lower_fps >= 80000 * 0.99,
			  "transient in within-capacity trial %u: lower %.0f (%s)", hit, r.lower_fps,
			  nb_mlr_irregular_str(r.irregular));
		CHECK(r.conditional_fps == r.lower_fps);
		nb_mlr_result_free(&r);
	}
}

/* Every 100th frame lost at every load: at goal loss 0 nothing passes (Min Load an Upper Bound), as the
 * binary search finds nothing; a goal loss ratio of 2% finds the capacity. */
static void test_steady_loss(void)
{
	struct sim s = {.capacity_fps = 30000, .sender_fps = 1e6, .drop_every = 100};
	struct nb_mlr_cfg c = defaults(100000);
	struct nb_mlr_result r;
	CHECK_INT(nb_mlr_search(&c, sim_mlr, &s, &r), 0);
	CHECK_MSG(r.irregular == NB_MLR_MIN_IS_UPPER, "%s", nb_mlr_irregular_str(r.irregular));
	CHECK(!r.has_lower && r.conditional_fps == 0 && r.has_upper && r.upper_fps == r.min_fps);
	CHECK(r.min_fps == 1000); /* Max Load x the width */
	nb_mlr_result_free(&r);
	struct sim sb = {.capacity_fps = 30000, .sender_fps = 1e6, .drop_every = 100};
	struct nb_search_cfg bc = {.max_fps = 100000, .resolution_pct = 1};
	struct nb_search_result b;
	CHECK_INT(nb_search_rate(&bc, sim_binary, &sb, &b), 0);
	CHECK(!b.found);

	struct sim s2 = {.capacity_fps = 30000, .sender_fps = 1e6, .drop_every = 100};
	c.goal.loss_ratio = 0.02;
	CHECK_INT(nb_mlr_search(&c, sim_mlr, &s2, &r), 0);
	/* above capacity the loss passes 2% within 1% more load */
	CHECK_MSG(r.irregular == NB_MLR_REGULAR && r.lower_fps >= 29000 && r.lower_fps <= 30700, "lower %.0f",
		  r.lower_fps);
	/* the conditional throughput is what got through at that load: its 1% to 2% loss less */
	CHECK_MSG(r.conditional_fps >= 0.98 * r.lower_fps && r.conditional_fps <= 0.99 * r.lower_fps + 1,
		  "conditional %.0f", r.conditional_fps);
	nb_mlr_result_free(&r);
}

/* Max Load passes: an irregular result whose lower bound is Max Load; unpaced, what the sender offered is
 * Max Load, and what arrived is the first lower-bound candidate. */
static void test_max_and_unpaced(void)
{
	struct sim s = {.capacity_fps = 1e9, .sender_fps = 1e9};
	struct nb_mlr_cfg c = defaults(5000);
	struct nb_mlr_result r;
	CHECK_INT(nb_mlr_search(&c, sim_mlr, &s, &r), 0);
	CHECK(r.irregular == NB_MLR_MAX_IS_LOWER && r.has_lower && !r.has_upper);
	CHECK(r.lower_fps == 5000 && r.conditional_fps == 5000);
	nb_mlr_result_free(&r);

	struct sim u = {.capacity_fps = 20000, .sender_fps = 80000};
	c = defaults(0);
	CHECK_INT(nb_mlr_search(&c, sim_mlr, &u, &r), 0);
	CHECK(u.loads[0] == 0 && r.trials[0].unpaced && r.trials[0].load_fps == 80000);
	CHECK(r.max_fps == 80000 && r.max_rx_fps == 20000);
	CHECK(u.loads[1] == 20000); /* the forwarding rate at Max Load is tried first */
	CHECK_MSG(r.irregular == NB_MLR_REGULAR && r.lower_fps >= 19800 && r.lower_fps <= 20000, "lower %.0f",
		  r.lower_fps);
	nb_mlr_result_free(&r);
}

/* A sender that cannot offer the load (held back, losing nothing): beyond short_pct the frames it did not
 * send count as lost, so the result is a load it offered within that. */
static void test_slow_sender(void)
{
	struct sim s = {.capacity_fps = 1e9, .sender_fps = 42000};
	struct nb_mlr_cfg c = defaults(100000);
	struct nb_mlr_result r;
	CHECK_INT(nb_mlr_search(&c, sim_mlr, &s, &r), 0);
	CHECK_MSG(r.irregular == NB_MLR_REGULAR && r.lower_fps <= 42000 / 0.97 && r.lower_fps >= 41000,
		  "lower %.0f", r.lower_fps);
	CHECK_MSG(r.upper_fps > 42000 / 0.97 && r.upper_fps <= 42000 / 0.97 * 1.01, "upper %.0f",
		  r.upper_fps);
	CHECK(r.trials[0].loss_ratio > 0.5); /* 42k of 100k: 58% not offered */
	nb_mlr_result_free(&r);
}

/* RFC 2544's goal as MLRsearch (exceed 0, one final trial): one lossy trial decides, as in the binary
 * search, so the transient moves its result too. */
static void test_rfc2544_goal(void)
{
	struct sim s = {.capacity_fps = 80000, .sender_fps = 1e6, .hit = 1, .burst = 50};
	struct nb_mlr_cfg c = defaults(100000);
	c.goal.exceed_ratio = 0;
	c.goal.duration_sum_s = 1;
	c.preceding = 0;
	struct nb_mlr_result r, r0;
	CHECK_INT(nb_mlr_search(&c, sim_mlr, &s, &r), 0);
	struct sim s0 = {.capacity_fps = 80000, .sender_fps = 1e6};
	CHECK_INT(nb_mlr_search(&c, sim_mlr, &s0, &r0), 0);
	/* the hit is the forwarding-rate candidate at 80000, the one trial there: an Upper Bound */
	CHECK_MSG(r0.lower_fps == 80000 && r.has_lower && r.lower_fps < 80000, "lower %.0f", r.lower_fps);
	for (unsigned i = 0; i < r.n_trials; i++)
		CHECK(r.trials[i].duration_s == 1.0);
	nb_mlr_result_free(&r);
	nb_mlr_result_free(&r0);
}

/* Durations summed from whole nanoseconds: three low-loss 0.2 s trials at exceed ratio 0 and a duration sum
 * of 0.4 s make a Lower Bound with the load's own conditional throughput (their sum is 0.6000000000000001 s,
 * and a strict comparison left a sliver of "missing" time that made it 0). */
static void test_sum_rounding(void)
{
	struct nb_mlr_goal g = {
	    .final_trial_s = 0.2, .duration_sum_s = 0.4, .exceed_ratio = 0, .width = 0.25};
	struct nb_mlr_trial t[3];
	unsigned n = add(t, 0, 3, 0.2, 0);
	CHECK_INT(nb_mlr_classify(&g, t, n, 1e6), NB_MLR_LOWER);
	CHECK_MSG(nb_mlr_conditional_fps(&g, t, n, 1e6) == 1e6, "%g", nb_mlr_conditional_fps(&g, t, n, 1e6));
	g.duration_sum_s = 0.6000000001; /* within a nanosecond: no shortfall */
	n = add(t, 0, 3, 0.2, 0);
	CHECK(nb_mlr_conditional_fps(&g, t, n, 1e6) == 1e6);
	g.duration_sum_s = 0.61; /* 10 ms short: the missing time counts as lost */
	CHECK(nb_mlr_conditional_fps(&g, t, n, 1e6) == 0);
}

static void test_errors(void)
{
	struct sim s = {.capacity_fps = 37000, .sender_fps = 1e6, .fail_at = 3};
	struct nb_mlr_cfg c = defaults(100000);
	struct nb_mlr_result r;
	CHECK_INT(nb_mlr_search(&c, sim_mlr, &s, &r), -EIO);
	CHECK(r.irregular == NB_MLR_INTERRUPTED);
	CHECK_INT(r.n_trials, 2); /* the two before it */
	nb_mlr_result_free(&r);

	/* the trial limit: an irregular result with the bounds so far */
	struct sim l = {.capacity_fps = 37000, .sender_fps = 1e6};
	c.max_trials = 4;
	CHECK_INT(nb_mlr_search(&c, sim_mlr, &l, &r), 0);
	CHECK(r.irregular == NB_MLR_TRIAL_LIMIT && r.n_trials == 4);
	nb_mlr_result_free(&r);

	/* the sender sent nothing unpaced: no Max Load */
	struct sim z = {.capacity_fps = 1, .sender_fps = 0};
	c = defaults(0);
	CHECK_INT(nb_mlr_search(&c, sim_mlr, &z, &r), 0);
	CHECK(r.irregular == NB_MLR_SENT_NOTHING && !r.has_lower && r.n_trials == 1);
	nb_mlr_result_free(&r);

	const char *why;
	struct nb_mlr_cfg bad[] = {defaults(1), defaults(1), defaults(1),
				   defaults(1), defaults(1), defaults(1)};
	bad[0].goal.loss_ratio = 1;
	bad[1].goal.exceed_ratio = -0.1;
	bad[2].goal.final_trial_s = 0;
	bad[3].goal.duration_sum_s = NAN;
	bad[4].goal.initial_trial_s = 2;
	bad[5].preceding = 5;
	for (unsigned i = 0; i < 6; i++) {
		CHECK_INT(nb_mlr_cfg_check(&bad[i], &why), -EINVAL);
		CHECK(why != NULL);
		CHECK_INT(nb_mlr_search(&bad[i], sim_mlr, &s, &r), -EINVAL);
	}
	c = defaults(1);
	CHECK_INT(nb_mlr_cfg_check(&c, &why), 0);
	CHECK(why == NULL);
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {
	    TAP_CASE(test_rfc_example),	 TAP_CASE(test_finds_capacity),	 TAP_CASE(test_transient),
	    TAP_CASE(test_steady_loss),	 TAP_CASE(test_max_and_unpaced), TAP_CASE(test_slow_sender),
	    TAP_CASE(test_rfc2544_goal), TAP_CASE(test_sum_rounding),	 TAP_CASE(test_errors),
	};
	return tap_run(cases, sizeof(cases) / sizeof(cases[0]), argc > 1 ? argv[1] : NULL);
}
