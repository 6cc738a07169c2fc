/* SPDX-License-Identifier: MIT */
/* --capture on a run across a path: the pcapng file of the test's packets on every interface. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nbench/pathcap.h"
#include "nbench/report.h"
#include "nbench/topo.h"

int cli_capture_check(const struct cli_test *t, char *err, size_t errlen)
{
	const char *why = NULL;
	if (!t->capture.file)
		return 0;
	if (!t->path && !t->topo)
		why = "--capture needs --path or --topo: it captures on the path's interfaces";
	else if (t->host_given)
		why = "--capture captures on a path of this host: not with -H";
	else if (t->hops)
		why = "--capture with --hops would count the capture's cost as the probes': run them apart";
	if (why)
		snprintf(err, errlen, "%s", why);
	return why ? 2 : 0;
}

struct nb_pathcap *cli_capture_begin(struct cli_path *pe, struct nb_report *rep)
{
	if (!pe->capture.file || !pe->topo)
		return NULL;
	struct nb_nic_ref refs[NB_REPORT_MAX_CAPTURE_IFS];
	struct nb_pathcap_opts o = {.ifs = refs,
				    .n_ifs = nb_topo_interfaces(pe->topo, refs, NB_REPORT_MAX_CAPTURE_IFS),
				    .ports = {nb_topo_dial_port(pe->topo), nb_topo_server_port(pe->topo)},
				    .file = pe->capture.file,
				    .snap_bytes = pe->capture.snap_bytes,
				    .max_bytes = pe->capture.max_bytes};
	struct nb_pathcap *c = NULL;
	char err[256];
	if (nb_pathcap_start(&o, &c, err, sizeof(err)) < 0) {
		nb_report_note(rep, "no capture: %s", err);
		return NULL;
	}
	nb_report_note(rep,
		       "captured with libpcap on every interface (--capture): the figures include its cost");
	return c;
}

void cli_capture_end(struct nb_pathcap *c, struct nb_report *rep)
{
	if (!c)
		return;
	free(rep->capture);
	rep->capture = calloc(1, sizeof(*rep->capture));
	if (rep->capture)
		nb_pathcap_finish(c, rep->capture);
	nb_pathcap_free(c);
}
