/* SPDX-License-Identifier: MIT */
/*
 * sweep's driver (bench/sweep.c): one test once per combination of NIC knob values (the cross product),
 * interleaved round robin and repeated as compare does, with the knobs set on the path's wire (or on named
 * interfaces). Their whole state is on file before the first change (topo/knob.c) and put back after every
 * combination, an error or Ctrl-C; a knob the driver refuses is named in its combination's row.
 */
#ifndef NBENCH_SWEEP_H
#define NBENCH_SWEEP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "nbench/bench.h"
#include "nbench/cell.h"
#include "nbench/nic.h"
#include "nbench/topo.h"

#define NB_SWEEP_MAX_KNOBS  8
#define NB_SWEEP_MAX_VALUES 8
#define NB_SWEEP_MAX_COMBOS 64

struct cJSON;

struct nb_sweep_knob {
	const char *name; /* "tso", "mtu", "qdisc" (nb_knob_names) */
	const char *values[NB_SWEEP_MAX_VALUES];
	unsigned nvalues;
};

/* One combination of values and its runs. */
struct nb_sweep_combo {
	unsigned vi[NB_SWEEP_MAX_KNOBS]; /* value index per knob */
	char label[128];		 /* "tso=on gro=off" */
	char refused[512];		 /* "rx-ring: refused by veth (EOPNOTSUPP); ..." */
	struct nb_cell cell;
};

struct nb_sweep_cfg {
	struct nb_sweep_knob knobs[NB_SWEEP_MAX_KNOBS];
	unsigned nknobs;
	struct nb_nic_ref on[NB_KNOB_MAX_IFS]; /* the interfaces to set; none: the path's wire, both ends */
	unsigned non;
	unsigned runs;		 /* rounds */
	struct nb_where where;	 /* the path (built or up) */
	struct nb_test_cfg test; /* what runs on it */
	volatile sig_atomic_t *quit;
	/* Each may be NULL: a run that ended (its report valid during the call); the interfaces not put back
	 * after a combination. */
	void (*run)(void *arg, unsigned round, const struct nb_sweep_combo *co, bool ok,
		    const struct nb_report *rep);
	void (*restore_failed)(void *arg, const struct nb_sweep_combo *co, int err);
	void *arg;
};

struct nb_sweep {
	struct nb_sweep_cfg cfg;
	struct nb_sweep_combo combos[NB_SWEEP_MAX_COMBOS]; /* the last knob's value changing fastest */
	unsigned ncombos;
	struct nb_nic_ref ifs[NB_KNOB_MAX_IFS]; /* the interfaces set */
	unsigned nifs;
	struct nb_target *target;
	struct nb_knob_guard *guard;
	/* where it ran, as a single run's start says it: the first complete run's hosts and interfaces
	 * (nb_report_hosts_json, nb_report_nics_json) and the test's "settings"; NULL until a run completed.
	 * Kept after nb_sweep_close for the report; nb_sweep_free frees it. */
	struct cJSON *context;
};

/* Takes cfg into s (zeroed here; large: allocate it) and makes the combinations: 0, or -E2BIG when there are
 * more than NB_SWEEP_MAX_COMBOS (*ret_total says how many). */
int nb_sweep_init(struct nb_sweep *s, const struct nb_sweep_cfg *cfg, unsigned *ret_total);
/* Opens the path: 0, or -errno with err (-EINVAL or -ENOENT: bad usage). */
int nb_sweep_open(struct nb_sweep *s, char *err, size_t errlen);
/* Records the interfaces' whole state before the first change: 0, or -errno with err (-ENODEV: the path has
 * no wire and no --on). */
int nb_sweep_record(struct nb_sweep *s, char *err, size_t errlen);
/* Every round (until quit): each combination's knobs set, the test run, the interfaces put back. */
void nb_sweep_rounds(struct nb_sweep *s);
/* Puts the interfaces back for good and closes the path: 0, or -errno of the restore. */
int nb_sweep_close(struct nb_sweep *s);
/* Figure m of combination ci against the first combination, paired by round (the combinations of a round
 * ran back to back): the ratio with its 95% interval (paired.h, as compare's and diff's). 0, or -EDOM (ratio
 * NAN) when they share no complete round or a value is not positive. */
int nb_sweep_ratio(const struct nb_sweep *s, unsigned ci, enum nb_metric m, struct nb_ratio *ret);
/* Frees what s holds after nb_sweep_close (its context); s itself is the caller's. NULL is fine. */
void nb_sweep_free(struct nb_sweep *s);

#endif
