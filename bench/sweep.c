/* SPDX-License-Identifier: MIT */
/* sweep's driver (sweep.h): the combinations, the path and its recorded interfaces, the rounds. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "nbench/proto.h"
#include "nbench/report.h"
#include "nbench/sweep.h"

#define LEVEL 95

static bool quitting(const struct nb_sweep *s)
{
	return s->cfg.quit && *s->cfg.quit;
}

int nb_sweep_init(struct nb_sweep *s, const struct nb_sweep_cfg *cfg, unsigned *ret_total)
{
	unsigned total = 1;

	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	for (unsigned k = 0; k < cfg->nknobs; k++)
		total *= cfg->knobs[k].nvalues;
	*ret_total = total;
	if (total > NB_SWEEP_MAX_COMBOS)
		return -E2BIG;
	for (unsigned c = 0; c < total; c++) {
		struct nb_sweep_combo *co = &s->combos[c];
		unsigned rest = c;
		size_t o = 0;

		for (int k = (int)cfg->nknobs - 1; k >= 0; k--) {
			co->vi[k] = rest % cfg->knobs[k].nvalues;
			rest /= cfg->knobs[k].nvalues;
		}
		for (unsigned k = 0; k < cfg->nknobs && o < sizeof(co->label); k++)
			o += (size_t)snprintf(co->label + o, sizeof(co->label) - o, "%s%s=%s", k ? " " : "",
					      cfg->knobs[k].name, cfg->knobs[k].values[co->vi[k]]);
	}
	s->ncombos = total;
	return 0;
}

int nb_sweep_open(struct nb_sweep *s, char *err, size_t errlen)
{
	return nb_target_open(&s->cfg.where, &s->cfg.test, &s->target, err, errlen);
}

int nb_sweep_record(struct nb_sweep *s, char *err, size_t errlen)
{
	if (s->cfg.non) {
		memcpy(s->ifs, s->cfg.on, sizeof(s->cfg.on));
		s->nifs = s->cfg.non;
	} else {
		s->nifs = nb_topo_wire_ifs(nb_target_topo(s->target), s->ifs, NB_KNOB_MAX_IFS);
	}
	if (!s->nifs) {
		snprintf(err, errlen, "the path has no wire to set knobs on (--on IF)");
		return -ENODEV;
	}
	return nb_knob_record(s->ifs, s->nifs, &s->guard, err, errlen);
}

/* Sets every knob of combination co on every interface; refusals go into its row (once). */
static void apply_combo(struct nb_sweep *s, struct nb_sweep_combo *co, bool first_round)
{
	for (unsigned k = 0; k < s->cfg.nknobs; k++)
		for (unsigned i = 0; i < s->nifs; i++) {
			const struct nb_sweep_knob *kn = &s->cfg.knobs[k];
			char why[160];
			size_t o = strlen(co->refused);

			if (!nb_knob_apply(s->guard, i, kn->name, kn->values[co->vi[k]], why, sizeof(why)))
				continue;
			if (first_round && !strstr(co->refused, why) && o < sizeof(co->refused))
				snprintf(co->refused + o, sizeof(co->refused) - o, "%s%s", o ? "; " : "",
					 why);
		}
}

static void one_run(struct nb_sweep *s, unsigned round, struct nb_sweep_combo *co)
{
	struct nb_run_opts o = {.quit = s->cfg.quit};
	struct nb_report rep;

	apply_combo(s, co, round == 1);
	nb_report_init(&rep);
	bool ok = nb_target_run(s->target, &s->cfg.test, &o, &rep) == 0 && rep.complete;
	if (ok && !s->context && (s->context = cJSON_CreateObject())) {
		nb_report_hosts_json(&rep, s->context);
		nb_report_nics_json(&rep, s->context);
		cJSON_AddItemToObject(s->context, "settings", nb_cfg_to_json(&rep.cfg));
	}
	nb_cell_add(&co->cell, &rep, ok, round);
	if (s->cfg.run)
		s->cfg.run(s->cfg.arg, round, co, ok, &rep);
	nb_report_free(&rep);
	int r = nb_knob_restore(s->guard);
	if (r && s->cfg.restore_failed)
		s->cfg.restore_failed(s->cfg.arg, co, r);
}

void nb_sweep_rounds(struct nb_sweep *s)
{
	for (unsigned round = 1; round <= s->cfg.runs && !quitting(s); round++)
		for (unsigned k = 0; k < s->ncombos && !quitting(s); k++)
			one_run(s, round, &s->combos[(k + round - 1) % s->ncombos]);
}

int nb_sweep_close(struct nb_sweep *s)
{
	int r = nb_knob_release(s->guard);
	s->guard = NULL;
	nb_target_close(s->target);
	s->target = NULL;
	return r;
}

void nb_sweep_free(struct nb_sweep *s)
{
	if (!s)
		return;
	cJSON_Delete(s->context);
	s->context = NULL;
}

int nb_sweep_ratio(const struct nb_sweep *s, unsigned ci, enum nb_metric m, struct nb_ratio *ret)
{
	/* one seed for every combination: the bootstrap resamples the same rounds for each */
	return nb_cell_ratio_paired(&s->combos[ci].cell, &s->combos[0].cell, m, LEVEL, 1, ret);
}
