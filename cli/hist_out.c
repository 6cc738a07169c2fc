/* SPDX-License-Identifier: MIT */
/* --hist-out: a latency histogram in HdrHistogram's percentile-distribution text format, the one its
 * outputPercentileDistribution() prints and its plotter (plotFiles.html) reads: the same percentile steps
 * (5 ticks per half distance to 100%), the same columns and footer, values in microseconds. */
#include <errno.h>
#include <math.h>
#include <stdio.h>

#include "cli.h"
#include "nbench/hist.h"

#define TICKS_PER_HALF_DISTANCE 5
#define NS_PER_US		1000.0

/* The next percentile level to report after level: HdrHistogram's PercentileIterator step, halving the
 * step each time the distance to 100% halves. */
static double next_level(double level)
{
	double halvings = floor(log2(100.0 / (100.0 - level)));
	return level + 100.0 / (TICKS_PER_HALF_DISTANCE * pow(2, halvings + 1));
}

/* A bucket's reported value: its highest value, as HdrHistogram's highestEquivalentValue, within [min, max].
 */
static double bucket_us(const struct nb_hist *h, unsigned idx)
{
	int64_t v = nb_hist_bucket_high(idx);
	v = v > h->max_ns ? h->max_ns : v < h->min_ns ? h->min_ns : v;
	return (double)v / NS_PER_US;
}

int cli_hist_write(const struct nb_hist *h, FILE *out)
{
	struct nb_hist_stats st;
	double level = 0, last_us = 0;
	uint64_t total = 0;

	nb_hist_stats(h, &st);
	fprintf(out, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)");
	for (unsigned i = 0; i < NB_HIST_BUCKETS && total < h->count; i++) {
		if (!h->counts[i])
			continue;
		total += h->counts[i];
		last_us = bucket_us(h, i);
		/* a line per level this bucket reaches; the last bucket gives one, then the 100% line */
		while (100.0 * (double)total / (double)h->count >= level) {
			fprintf(out, "%12.3f %2.12f %10llu %14.2f\n", last_us, level / 100.0,
				(unsigned long long)total, 1.0 / (1.0 - level / 100.0));
			level = next_level(level);
			if (total == h->count)
				break;
		}
	}
	if (h->count)
		fprintf(out, "%12.3f %2.12f %10llu\n", last_us, 1.0, (unsigned long long)total);
	fprintf(out, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", st.mean_ns / NS_PER_US,
		st.stddev_ns / NS_PER_US);
	fprintf(out, "#[Max     = %12.3f, Total count    = %12llu]\n", (double)st.max_ns / NS_PER_US,
		(unsigned long long)st.count);
	fprintf(out, "#[Buckets = %12d, SubBuckets     = %12d]\n", 64 - NB_HIST_SUB_BITS,
		2 * NB_HIST_SUB_COUNT);
	return ferror(out) ? -EIO : 0;
}
