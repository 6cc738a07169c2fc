/* SPDX-License-Identifier: MIT */
/* The figures repeated runs are compared on (metric.h): a run's, and which way each is better. */
#include <stdio.h>
#include <string.h>

#include "nbench/metric.h"
#include "nbench/report.h"

const struct nb_metric_info nb_metrics[NB_M_COUNT] = {
    [NB_M_GOODPUT] = {"goodput_bps", "goodput", "Gbit/s", 1e-9, true},
    [NB_M_CPB] = {"cycles_per_byte", "cpu cycles/byte", "", 1, true},
    [NB_M_P50] = {"p50_ns", "p50", "us", 1e-3, false},
    [NB_M_P90] = {"p90_ns", "p90", "us", 1e-3, false},
    [NB_M_P99] = {"p99_ns", "p99", "us", 1e-3, false},
    [NB_M_TPS] = {"transactions_per_s", "transactions/s", "", 1, false},
    [NB_M_CPT] = {"cycles_per_transaction", "cpu cycles/transaction", "", 1, false},
};

const char *nb_metric_label(enum nb_metric m, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", nb_metrics[m].label, *nb_metrics[m].unit ? " (" : "",
		 nb_metrics[m].unit, *nb_metrics[m].unit ? ")" : "");
	return buf;
}

bool nb_metric_applies(enum nb_metric m, enum nb_test_kind kind)
{
	return nb_metrics[m].stream == (kind == NB_TEST_STREAM);
}

double nb_metric_of(const struct nb_report *r, enum nb_metric m)
{
	switch (m) {
	case NB_M_GOODPUT:
		return r->goodput_bps;
	case NB_M_CPB:
		return r->cpu.cycles_per_byte;
	case NB_M_P50:
		return (double)r->lat.p50_ns;
	case NB_M_P90:
		return (double)r->lat.p90_ns;
	case NB_M_P99:
		return (double)r->lat.p99_ns;
	case NB_M_TPS:
		return r->tps;
	case NB_M_CPT:
		return r->cpu.cycles_per_txn;
	default:
		return 0;
	}
}

/* Which way is better, by a figure's key. A key not here is shown with its change and never judged. */
static const struct {
	const char *key;
	int dir;
} directions[] = {
    /* stream */
    {"goodput_bps", +1},
    {"cycles_per_byte", -1},
    {"loss_pct", -1},
    /* rr, crr (compare's runs use the same keys) */
    {"transactions_per_s", +1},
    {"p50_ns", -1},
    {"p90_ns", -1},
    {"p99_ns", -1},
    {"p999_ns", -1},
    {"mean_lat_ns", -1},
    {"timeouts", -1},
    {"cycles_per_transaction", -1},
    /* throughput (RFC 2544): the rate found per frame size, and the loss measured at it */
    {"rate_fps", +1},
    {"l2_bps", +1},
    {"l1_bps", +1},
};

int nb_metric_direction(const char *key)
{
	for (size_t i = 0; i < sizeof(directions) / sizeof(directions[0]); i++)
		if (!strcmp(directions[i].key, key))
			return directions[i].dir;
	return 0;
}
