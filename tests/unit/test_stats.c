/* SPDX-License-Identifier: MIT */
/* analyze/stats.c against hand-computed cases: means, intervals, t quantiles, the difference of two means. */
#include <math.h>

#include "nbench/stats.h"
#include "tap.h"

static bool near(double a, double b, double eps)
{
	return fabs(a - b) <= eps;
}

/* {10, 12, 14}: mean 12, sd 2, 95% interval t(2) 4.303 x 2 / sqrt(3) = 4.96868. */
static void test_mean_ci(void)
{
	const double v[] = {10, 12, 14};
	struct nb_stat s = nb_stat_of(v, 3, 95);
	CHECK(near(s.mean, 12, 1e-12));
	CHECK(near(s.sd, 2, 1e-12));
	CHECK_MSG(near(s.ci, 4.96868, 1e-5), "ci %g", s.ci);
	CHECK_INT(s.n, 3);
	/* {1..5} at 99%: mean 3, sd sqrt(2.5), t(4) 4.604 x 1.58114 / sqrt(5) = 3.25552 */
	const double w[] = {1, 2, 3, 4, 5};
	s = nb_stat_of(w, 5, 99);
	CHECK(near(s.mean, 3, 1e-12));
	CHECK(near(s.sd, sqrt(2.5), 1e-12));
	CHECK_MSG(near(s.ci, 3.25552, 1e-5), "ci %g", s.ci);
	/* one value: no spread, no interval; none: a mean of 0 */
	s = nb_stat_of(v, 1, 95);
	CHECK(s.mean == 10 && s.sd == 0 && isinf(s.ci));
	s = nb_stat_of(v, 0, 95);
	CHECK(s.mean == 0 && s.n == 0 && isinf(s.ci));
}

static void test_t_quantile(void)
{
	CHECK(near(nb_t_quantile(95, 1), 12.706, 1e-9));
	CHECK(near(nb_t_quantile(99, 1), 63.657, 1e-9));
	CHECK(near(nb_t_quantile(95, 2.7), 4.303, 1e-9)); /* floored: the wider interval */
	CHECK(near(nb_t_quantile(95, 30), 2.042, 1e-9));
	CHECK(near(nb_t_quantile(95, 31), 1.960, 1e-9));
	CHECK(near(nb_t_quantile(99, 1000), 2.576, 1e-9));
	CHECK(isinf(nb_t_quantile(95, 0.5)));
	CHECK(isinf(nb_t_quantile(95, NAN)));
}

/* Welch: a = {1,2,3} (sd 1), b = {2,4,6,8} (sd 2.58199): se^2 = 1/3 + 6.6667/4 = 2, df = 4 / (1/18 + 25/27)
 * = 4.0755, floored to 4: t 2.776 x sqrt(2) = 3.92586. */
static void test_diff_welch(void)
{
	const double a[] = {1, 2, 3}, b[] = {2, 4, 6, 8}, c[] = {5, 5}, d[] = {7, 7};
	struct nb_stat sa = nb_stat_of(a, 3, 95), sb = nb_stat_of(b, 4, 95);
	enum nb_stat_test t = NB_STAT_UNTESTED;
	double h = nb_stat_diff_halfwidth(&sa, &sb, 95, &t);
	CHECK_INT(t, NB_STAT_WELCH);
	CHECK_MSG(near(h, 3.92586, 1e-5), "half-width %g", h);
	CHECK_STR(nb_stat_test_name(t), "welch");
	/* no spread on either side: df falls back to n_a + n_b - 2 = 2, and the interval is 0 wide */
	sa = nb_stat_of(c, 2, 95);
	sb = nb_stat_of(d, 2, 95);
	CHECK(near(nb_stat_diff_halfwidth(&sa, &sb, 95, &t), 0, 1e-12));
}

/* One side repeated: its own interval; neither: none. */
static void test_diff_interval(void)
{
	const double a[] = {1, 2, 3}, b[] = {9};
	struct nb_stat sa = nb_stat_of(a, 3, 95), sb = nb_stat_of(b, 1, 95);
	enum nb_stat_test t;
	CHECK(near(nb_stat_diff_halfwidth(&sa, &sb, 95, &t), 4.303 / sqrt(3), 1e-9));
	CHECK_INT(t, NB_STAT_INTERVAL);
	CHECK(near(nb_stat_diff_halfwidth(&sb, &sa, 95, &t), 4.303 / sqrt(3), 1e-9));
	CHECK_STR(nb_stat_test_name(t), "interval");
	CHECK(isnan(nb_stat_diff_halfwidth(&sb, &sb, 95, &t)));
	CHECK_INT(t, NB_STAT_UNTESTED);
}

static void test_pct_within(void)
{
	CHECK(near(nb_stat_pct(5, -10), 50, 1e-12));
	CHECK(nb_stat_pct(0, 0) == 0);
	CHECK(isinf(nb_stat_pct(1, 0)) && nb_stat_pct(1, 0) > 0);
	CHECK(isinf(nb_stat_pct(-1, 0)) && nb_stat_pct(-1, 0) < 0);
	const double v[] = {10, 12, 14}; /* interval 4.97 around 12: within 42%, not 41% */
	struct nb_stat s = nb_stat_of(v, 3, 95);
	CHECK(nb_stat_within(&s, 42));
	CHECK(!nb_stat_within(&s, 41));
	s = nb_stat_of(v, 1, 95);
	CHECK(!nb_stat_within(&s, 100));
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {
	    TAP_CASE(test_mean_ci),	  TAP_CASE(test_t_quantile), TAP_CASE(test_diff_welch),
	    TAP_CASE(test_diff_interval), TAP_CASE(test_pct_within),
	};
	return TAP_RUN(cases, argc > 2 ? argv[2] : NULL);
}
