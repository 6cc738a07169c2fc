/* SPDX-License-Identifier: MIT */
/* The throughput search against fake trials: a wire with a known capacity, a wire dropping every Nth
 * frame, a sender slower than asked, and failing trials. */
#include <errno.h>
#include <math.h>

#include "../unit/tap.h"
#include "nbench/gen.h"

/* A fake path: frames above capacity_fps are lost, plus one in every drop_every (0: none); the sender
 * offers at most sender_fps (also what an unpaced trial offers). */
struct fake {
	double capacity_fps, sender_fps;
	unsigned drop_every;
	unsigned trials, fail_at; /* fail_at: the trial (1-based) that returns -EIO; 0 none */
	double rates[80];
};

static int fake_trial(void *arg, double rate_fps, struct nb_trial *ret)
{
	struct fake *f = arg;
	if (++f->trials == f->fail_at)
		return -EIO;
	if (f->trials <= 80)
		f->rates[f->trials - 1] = rate_fps;
	double offered = rate_fps == 0 || rate_fps > f->sender_fps ? f->sender_fps : rate_fps;
	ret->sent = (uint64_t)offered; /* a one-second trial */
	ret->sent_fps = offered;
	ret->lost = offered > f->capacity_fps ? (uint64_t)(offered - f->capacity_fps) : 0;
	if (f->drop_every)
		ret->lost += ret->sent / f->drop_every;
	return 0;
}

static void test_finds_capacity(void)
{
	struct fake f = {.capacity_fps = 37000, .sender_fps = 1e6};
	struct nb_search_cfg c = {.max_fps = 100000, .resolution_pct = 1};
	struct nb_search_result r;
	CHECK_INT(nb_search_rate(&c, fake_trial, &f, &r), 0);
	CHECK(r.found);
	CHECK_MSG(r.rate_fps <= 37000 && r.rate_fps >= 37000 - 1000, "rate %.0f", r.rate_fps);
	/* the resolution is the answer's: the final bracket within 1% of its upper end */
	CHECK_MSG(r.fail_fps > 37000 && r.fail_fps - r.rate_fps <= 0.01 * r.fail_fps, "fail %.0f",
		  r.fail_fps);
	CHECK(r.loss_pct == 0 && r.lost == 0);
	CHECK_INT(r.trials, f.trials);
	CHECK(f.rates[0] == 100000); /* the bound first */
	/* bisection: the bound, then halvings until the bracket (100000 / 2^k wide) is within 1% of ~37500 */
	CHECK_INT(r.trials, 10);
	CHECK(r.max_fps == 100000);
}

/* Issue 19 item 6: an answer far below the bound (20% of the unpaced rate) with a 5% resolution. Of the
 * bound, the search stopped 25% wide around the answer (pass 20,180 / fail 26,884 seen); of the answer, the
 * bracket is within 5% of it. */
static void test_resolution_of_answer(void)
{
	struct fake f = {.capacity_fps = 27000, .sender_fps = 135000};
	struct nb_search_cfg c = {.resolution_pct = 5};
	struct nb_search_result r;
	CHECK_INT(nb_search_rate(&c, fake_trial, &f, &r), 0);
	CHECK(r.max_fps == 135000);
	CHECK_MSG(r.found && r.rate_fps <= 27000 && r.fail_fps > 27000, "pass %.0f fail %.0f", r.rate_fps,
		  r.fail_fps);
	CHECK_MSG(r.fail_fps - r.rate_fps <= 0.05 * r.fail_fps, "bracket %.0f - %.0f is wider than 5%%",
		  r.rate_fps, r.fail_fps);
	CHECK_MSG(r.rate_fps >= 27000 * 0.95, "pass %.0f is more than 5%% below the answer", r.rate_fps);
}

static void test_bound_passes(void)
{
	struct fake f = {.capacity_fps = 1e9, .sender_fps = 1e9};
	struct nb_search_cfg c = {.max_fps = 5000, .resolution_pct = 1};
	struct nb_search_result r;
	CHECK_INT(nb_search_rate(&c, fake_trial, &f, &r), 0);
	CHECK(r.found && r.rate_fps == 5000);
	CHECK(r.max_rx_fps == 5000);
	CHECK_INT(r.trials, 1);
	CHECK(r.fail_fps == 0);
}

/* No max: the first trial is unpaced and what the sender offered becomes the bound. */
static void test_unpaced_bound(void)
{
	struct fake f = {.capacity_fps = 20000, .sender_fps = 80000};
	struct nb_search_cfg c = {.resolution_fps = 500};
	struct nb_search_result r;
	CHECK_INT(nb_search_rate(&c, fake_trial, &f, &r), 0);
	CHECK(f.rates[0] == 0);
	CHECK(r.max_fps == 80000);
	CHECK_MSG(r.max_rx_fps == 20000, "max_rx_fps %.0f", r.max_rx_fps); /* what got through, unpaced */
	CHECK(r.found && r.rate_fps <= 20000 && r.rate_fps >= 19500);
	CHECK(r.fail_fps > 20000 && r.fail_fps <= 20500);
}

/* Every 100th frame dropped: nothing passes at 0 loss, down to the resolution; 1.5% allowed finds the
 * capacity, its loss about 1%. */
static void test_drop_every_nth(void)
{
	struct fake f = {.capacity_fps = 30000, .sender_fps = 1e6, .drop_every = 100};
	struct nb_search_cfg c = {.max_fps = 100000, .resolution_pct = 1};
	struct nb_search_result r;
	CHECK_INT(nb_search_rate(&c, fake_trial, &f, &r), 0);
	CHECK(!r.found);
	CHECK(r.rate_fps == 0);
	CHECK(r.fail_fps <= 1000); /* the lowest rate tried is within the resolution of 0 */
	CHECK_MSG(fabs(r.fail_loss_pct - 1.0) < 0.15, "loss %.2f", r.fail_loss_pct);

	struct fake g = {.capacity_fps = 30000, .sender_fps = 1e6, .drop_every = 100};
	c.loss_pct = 1.5;
	CHECK_INT(nb_search_rate(&c, fake_trial, &g, &r), 0);
	CHECK(r.found);
	/* above capacity the loss grows past 1.5% within 0.5% more: the found rate is near it */
	CHECK_MSG(r.rate_fps >= 29000 && r.rate_fps <= 30200, "rate %.0f", r.rate_fps);
	CHECK(r.loss_pct >= 0.9 && r.loss_pct <= 1.5);
}

/* A sender slower than the rate asked (held back, losing nothing): those rates fail, the rate found is one
 * it did offer. */
static void test_sender_bound(void)
{
	struct fake f = {.capacity_fps = 1e9, .sender_fps = 42000};
	struct nb_search_cfg c = {.max_fps = 100000, .resolution_pct = 1};
	struct nb_search_result r;
	CHECK_INT(nb_search_rate(&c, fake_trial, &f, &r), 0);
	CHECK_MSG(r.found && r.rate_fps <= 42000 && r.rate_fps >= 41000, "rate %.0f", r.rate_fps);
	CHECK(r.fail_fps > 42000 && r.fail_fps <= 42000 / (1 - NB_SEARCH_SHORT_PCT / 100) + 1000);
	CHECK(r.loss_pct == 0);
	/* unpaced, what it offered is the bound, and passes */
	struct fake g = {.capacity_fps = 1e9, .sender_fps = 42000};
	struct nb_search_cfg u = {.resolution_pct = 1};
	CHECK_INT(nb_search_rate(&u, fake_trial, &g, &r), 0);
	CHECK(r.found && r.rate_fps == 42000);
	CHECK_INT(r.trials, 1);
}

static void test_trial_error(void)
{
	struct fake f = {.capacity_fps = 37000, .sender_fps = 1e6, .fail_at = 3};
	struct nb_search_cfg c = {.max_fps = 100000, .resolution_pct = 1};
	struct nb_search_result r;
	CHECK_INT(nb_search_rate(&c, fake_trial, &f, &r), -EIO);
	CHECK_INT(r.trials, 2);
}

static void test_bad_cfg(void)
{
	struct fake f = {.capacity_fps = 1, .sender_fps = 1};
	struct nb_search_result r;
	struct nb_search_cfg none = {.max_fps = 100}; /* no resolution */
	struct nb_search_cfg neg = {.max_fps = -1, .resolution_pct = 1};
	struct nb_search_cfg loss = {.max_fps = 100, .resolution_pct = 1, .loss_pct = 100};
	CHECK_INT(nb_search_rate(&none, fake_trial, &f, &r), -EINVAL);
	CHECK_INT(nb_search_rate(&neg, fake_trial, &f, &r), -EINVAL);
	CHECK_INT(nb_search_rate(&loss, fake_trial, &f, &r), -EINVAL);
	CHECK_INT(f.trials, 0);
}

static void test_max_trials(void)
{
	struct fake f = {.capacity_fps = 37000, .sender_fps = 1e6};
	struct nb_search_cfg c = {.max_fps = 100000, .resolution_fps = 1e-6, .max_trials = 5};
	struct nb_search_result r;
	CHECK_INT(nb_search_rate(&c, fake_trial, &f, &r), 0);
	CHECK_INT(r.trials, 5);
}

static void test_passes(void)
{
	CHECK(nb_trial_passes(1000, 0, 0));
	CHECK(!nb_trial_passes(1000, 1, 0));
	CHECK(nb_trial_passes(1000, 5, 0.5));
	CHECK(!nb_trial_passes(1000, 6, 0.5));
	CHECK(!nb_trial_passes(0, 0, 10));
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {
	    TAP_CASE(test_finds_capacity), TAP_CASE(test_resolution_of_answer),
	    TAP_CASE(test_bound_passes),   TAP_CASE(test_unpaced_bound),
	    TAP_CASE(test_drop_every_nth), TAP_CASE(test_sender_bound),
	    TAP_CASE(test_trial_error),	   TAP_CASE(test_bad_cfg),
	    TAP_CASE(test_max_trials),	   TAP_CASE(test_passes),
	};
	return tap_run(cases, sizeof(cases) / sizeof(cases[0]), argc > 1 ? argv[1] : NULL);
}
