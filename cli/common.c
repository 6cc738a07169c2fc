/* SPDX-License-Identifier: MIT */
/* What the commands share: Ctrl-C, where a command's tests run (as bench/ takes it), the privileges to build,
 * a JSON document's printing.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "nbench/hops.h"
#include "nbench/report.h"

static volatile sig_atomic_t quit_flag;

static void on_signal(int sig)
{
	(void)sig;
	quit_flag = 1;
}

void cli_catch_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

volatile sig_atomic_t *cli_quit_flag(void)
{
	return &quit_flag;
}

bool cli_quitting(void)
{
	return quit_flag != 0;
}

void cli_where(const struct cli_test *t, struct nb_where *ret)
{
	*ret = (struct nb_where){
	    .path = t->path,
	    .topo = t->topo,
	    .host = t->host_given ? t->cfg.host : NULL,
	    .port = t->cfg.port,
	    .key_file = t->key_file,
	    .data_host = t->data_host,
	    /* the agent keeps a half this long: the run's warm-up and duration; --hops runs
	     * it twice (without, then with capture), --load's probes and load more */
	    .for_ns = (t->hops ? 2 : 1) * (t->load_bps > 0 ? 3 : 1) * (t->cfg.warmup_ns + t->cfg.duration_ns),
	    .wire = t->wire,
	    .warn = cli_warn};
}

int cli_hops_pick(const char *cmd, enum nb_hops_backend *b, enum nb_test_kind kind, struct nb_report *rep,
		  char *err, size_t errlen)
{
	char why[200];
	if (*b == NB_HOPS_PCAP && kind != NB_TEST_RR) {
		snprintf(err, errlen, "--hops=pcap splits rr only (crr's handshake needs --hops=ebpf)");
		return 2;
	}
	if (*b == NB_HOPS_PCAP)
		return 0;
	if (nb_hops_ebpf_probe(why, sizeof(why)) == 0) {
		*b = NB_HOPS_EBPF;
		return 0;
	}
	if (*b == NB_HOPS_EBPF || kind != NB_TEST_RR) {
		snprintf(err, errlen, "--hops%s: eBPF cannot run here: %s", *b == NB_HOPS_EBPF ? "=ebpf" : "",
			 why);
		return 2;
	}
	fprintf(stderr,
		"nbench %s: --hops: eBPF cannot run here (%s); capturing with libpcap instead, which adds to "
		"the round trip (the overhead line says how much)\n",
		cmd, why);
	if (rep)
		nb_report_note(rep, "--hops fell back to pcap: %s", why);
	*b = NB_HOPS_PCAP;
	return 0;
}

void cli_warn(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "nbench: %s\n", msg);
}

/* CAP_NET_ADMIN and CAP_SYS_ADMIN in the effective set (/proc/self/status CapEff). */
bool cli_has_net_admin(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	unsigned long long caps = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	if (f)
		fclose(f);
	return (caps & (1ULL << 12)) && (caps & (1ULL << 21));
}

int cli_json_write(struct cJSON *doc, FILE *out)
{
	char *txt = doc ? cJSON_Print(doc) : NULL;
	cJSON_Delete(doc);
	if (!txt)
		return -ENOMEM;
	int r = fprintf(out, "%s\n", txt) < 0 ? -EIO : 0;
	free(txt);
	return r;
}
