/* SPDX-License-Identifier: MIT */
/*
 * The report writers against golden files: one fixed report per test kind, rendered as text, interim
 * lines, JSON and CSV, compared byte for byte with tests/golden/<name>.<ext>.
 * NB_UPDATE_GOLDEN=1 rewrites the golden files instead (review the diff before committing it).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdlib.h>

#include "nbench/hist.h"
#include "nbench/report.h"
#include "tap.h"

/* The CSV's ten TCP columns, empty, then the empty engine, at the end of the row: a report without TCP state
 * on one of nbench's own paths. */
#define NO_TCP_CSV ",,,,,,,,,,,\n"

static const char *golden_dir;
static bool update_golden;

static void fixture_common(struct nb_report *r, enum nb_test_kind kind, enum nb_proto proto)
{
	nb_report_init(r);
	nb_cfg_defaults(&r->cfg, kind);
	r->cfg.proto = proto;
	snprintf(r->nbench_version, sizeof(r->nbench_version), "test");
	snprintf(r->timestamp, sizeof(r->timestamp), "2026-11-22T01:02:03Z");
	snprintf(r->client.hostname, sizeof(r->client.hostname), "vm1");
	snprintf(r->client.kernel, sizeof(r->client.kernel), "6.18.0-nb");
	snprintf(r->client.boot_id, sizeof(r->client.boot_id), "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0");
	snprintf(r->client.cpu_model, sizeof(r->client.cpu_model), "Intel(R) Xeon(R) Processor");
	r->client.ncpus = 2;
	r->complete = true;
	r->duration_s = 10.0;
	snprintf(r->cpu.source, sizeof(r->cpu.source), "procstat");
	r->cpu.valid = true;
	r->cpu.wall_s = 10.0;
	r->cpu.ncpus = 2;
	r->cpu.tsc_hz = 2.3e9;
}

static void same_host(struct nb_report *r, int pid)
{
	r->server = r->client;
	r->same_host = true;
	r->server_pid = pid;
}

/* An interface of a fixture: counted (n counters, possibly none) or, with n = -1, not measured. */
static void add_iface(struct nb_report *r, const char *name, const char *netns, const char *driver,
		      int64_t speed_mbps, const struct nb_nic_counter *c, int n)
{
	struct nb_nic_id id = {.speed_mbps = speed_mbps};
	struct nb_nic_snap d = {.c = (struct nb_nic_counter *)c, .n = n > 0 ? (unsigned)n : 0};
	snprintf(id.name, sizeof(id.name), "%s", name);
	snprintf(id.netns, sizeof(id.netns), "%s", netns);
	snprintf(id.driver, sizeof(id.driver), "%s", driver);
	if (!strcmp(driver, "veth"))
		snprintf(id.driver_version, sizeof(id.driver_version), "1.0");
	if (!strcmp(driver, "ixgbe")) {
		snprintf(id.driver_version, sizeof(id.driver_version), "6.18.0-nb");
		snprintf(id.firmware, sizeof(id.firmware), "0x800009e1");
		snprintf(id.bus, sizeof(id.bus), "0000:3b:00.0");
		snprintf(id.duplex, sizeof(id.duplex), "full");
	}
	CHECK_INT(nb_report_add_iface(r, &id, n < 0 ? NULL : &d), 0);
}

/* A TCP state as the kernel gives it (every field: have NB_TCPINFO_ALL). */
static struct nb_tcpinfo tcp_state(uint64_t retrans, uint64_t cwnd_segs, uint32_t mss, uint32_t srtt_us,
				   uint32_t rttvar_us, uint64_t pacing_bps, uint64_t dsack)
{
	return (struct nb_tcpinfo){.valid = true,
				   .have = NB_TCPINFO_ALL,
				   .retransmits = retrans,
				   .cwnd_segs = cwnd_segs,
				   .cwnd_bytes = cwnd_segs * mss,
				   .mss_bytes = mss,
				   .srtt_us = srtt_us,
				   .rttvar_us = rttvar_us,
				   .pacing_rate_bps = pacing_bps,
				   .delivery_rate_bps = pacing_bps / 2,
				   .reord_seen = dsack * 2,
				   .dsack_dups = dsack};
}

/* The report's totals of its flows' TCP states, as the generator sums them. */
static void sum_tcp(struct nb_report *r)
{
	struct nb_tcpinfo_sum c = {0}, s = {0};
	for (unsigned i = 0; i < r->n_flows; i++) {
		nb_tcpinfo_sum_add(&c, &r->flows[i].tcp);
		nb_tcpinfo_sum_add(&s, &r->flows[i].server_tcp);
	}
	nb_tcpinfo_sum_get(&c, &r->tcp);
	nb_tcpinfo_sum_get(&s, &r->server_tcp);
}

/* stream tcp, 2 flows, native path, pinned apart, warm-up, a note; the client sends with retransmits */
static void fixture_stream_tcp(struct nb_report *r)
{
	fixture_common(r, NB_TEST_STREAM, NB_PROTO_TCP);
	same_host(r, 4242);
	snprintf(r->cmdline, sizeof(r->cmdline),
		 "nbench stream --path native -P 2 --warmup 1 --cpu-gen 0 --cpu-resp 1");
	r->cfg.flows = 2;
	r->cfg.warmup_ns = 1000000000LL;
	r->cfg.cpu_gen = 0;
	r->cfg.cpu_resp = 1;
	snprintf(r->cfg.host, sizeof(r->cfg.host), "10.201.0.2");
	snprintf(r->gen_cpus, sizeof(r->gen_cpus), "0");
	snprintf(r->resp_cpus, sizeof(r->resp_cpus), "1");
	snprintf(r->gen_wait, sizeof(r->gen_wait), "block");
	snprintf(r->resp_wait, sizeof(r->resp_wait), "block");
	snprintf(r->path, sizeof(r->path), "native");
	snprintf(r->topo_name, sizeof(r->topo_name), "nb-native");
	r->path_json = strdup("{\"steps\":[{\"netns\":\"nb-host\"},{\"veth\":[\"nb-c0\",\"nb-h0\"]}],"
			      "\"dial\":\"10.201.0.2:12865\"}");
	for (int i = 0; i < 11; i++) {
		struct nb_interval iv = {.start_s = i, .end_s = i + 1, .warmup = i < 1};
		iv.bytes = 1170000000ULL + (uint64_t)i * 1000000ULL;
		iv.bps = (double)iv.bytes * 8;
		/* two flows' sum: windows added, RTTs their mean; retransmits in bursts, as many as the end's
		 */
		iv.tcp = tcp_state(i == 6	? 222
				   : i % 4 == 2 ? 74
						: 0,
				   1740 - 10 * (uint64_t)i, 1448, 245 + (uint32_t)i, 31, 18800000000ULL,
				   i == 6 ? 5 : 0);
		CHECK_INT(nb_report_add_interval(r, &iv), 0);
	}
	CHECK_INT(nb_report_set_flows(r, 2), 0);
	r->flows[0] = (struct nb_flow_result){
	    .bytes_sent = 5905580032ULL, .bytes_rcvd = 5905580032ULL, .goodput_bps = 4.70e9, .cpu = 0};
	r->flows[1] = (struct nb_flow_result){
	    .bytes_sent = 5905580032ULL, .bytes_rcvd = 5905580032ULL, .goodput_bps = 4.71e9, .cpu = 0};
	r->flows[0].tcp = tcp_state(296, 880, 1448, 251, 33, 9470000000ULL, 5);
	r->flows[1].tcp = tcp_state(74, 790, 1448, 243, 29, 9330000000ULL, 0);
	/* the receivers' side: they send only ACKs */
	r->flows[0].server_tcp = tcp_state(0, 10, 1448, 62, 31, 467000000ULL, 0);
	r->flows[1].server_tcp = tcp_state(0, 10, 1448, 58, 29, 499000000ULL, 0);
	sum_tcp(r);
	r->bytes_sent = r->bytes_rcvd = 11811160064ULL;
	r->goodput_bps = 9.41e9;
	r->cpu.busy_ns = 14640000000ULL;
	r->cpu.user_ns = 1200000000ULL;
	r->cpu.system_ns = 10140000000ULL;
	r->cpu.softirq_ns = 3300000000ULL;
	r->cpu.irq_ns = 0;
	r->cpu.util = 0.732;
	r->cpu.cycles = 14.64 * 2.3e9;
	r->cpu.cycles_per_byte = r->cpu.cycles / (double)r->bytes_rcvd;
	r->cpu.gen_ns = 5000000000ULL;
	r->cpu.resp_ns = 4000000000ULL;
	r->cpu.other_ns = 12000000ULL;
	nb_report_note(r, "veth offloads: tso on, gso on, gro off");
	const struct nb_nic_counter c[] = {{"rx_packets", 4100000},
					   {"rx_bytes", 11900000000LL},
					   {"tx_packets", 2050000},
					   {"tx_bytes", 135300000},
					   {"driver.rx_queue_0_xdp_packets", 0}};
	add_iface(r, "nb-x1-r", "nb-x1-remote", "veth", -1, c, 4);
	add_iface(r, "nb-x1-h", "nb-x1-host", "veth", -1, c, 5);
}

/* stream udp, one flow, to a remote responder (-H), server CPU measured there, spin wait */
static void fixture_stream_udp(struct nb_report *r)
{
	fixture_common(r, NB_TEST_STREAM, NB_PROTO_UDP);
	snprintf(r->cmdline, sizeof(r->cmdline), "nbench stream --proto udp -H 192.0.2.7 --spin");
	snprintf(r->cfg.host, sizeof(r->cfg.host), "192.0.2.7");
	r->cfg.wait = NB_WAIT_SPIN;
	r->cfg.msg_bytes = 0; /* the protocol's default: 1472 */
	snprintf(r->server.hostname, sizeof(r->server.hostname), "peer");
	snprintf(r->server.kernel, sizeof(r->server.kernel), "6.1.0-13-amd64");
	snprintf(r->server.boot_id, sizeof(r->server.boot_id), "ffffffff-0000-1111-2222-333333333333");
	snprintf(r->server.cpu_model, sizeof(r->server.cpu_model), "AMD EPYC 7B13");
	r->server.ncpus = 64;
	r->server_pid = 777;
	snprintf(r->gen_cpus, sizeof(r->gen_cpus), "any");
	snprintf(r->resp_cpus, sizeof(r->resp_cpus), "0,1");
	snprintf(r->gen_wait, sizeof(r->gen_wait), "spin");
	snprintf(r->resp_wait, sizeof(r->resp_wait), "block+busy_poll=50us");
	add_iface(r, "ens1f0", "", "ixgbe", 10000, NULL, -1); /* identified, its window not counted */
	/* the responder's side, from its RESULT: counted there, 3 changed counters past its limit */
	const struct nb_nic_counter srv[] = {{"rx_packets", 689000}, {"tx_packets", 14}, {"rx_dropped", 2}};
	struct nb_nic_id sid = {.name = "ens2f1", .driver = "ixgbe", .speed_mbps = 10000, .duplex = "full"};
	struct nb_nic_snap sd = {.c = (struct nb_nic_counter *)srv, .n = 3};
	CHECK_INT(nb_report_add_server_iface(r, &sid, &sd, 3), 0);
	for (int i = 0; i < 3; i++) {
		struct nb_interval iv = {.start_s = i, .end_s = i + 1};
		iv.packets = 69000 + (uint64_t)i;
		iv.bytes = iv.packets * 1472;
		iv.bps = (double)iv.bytes * 8;
		iv.lost = (uint64_t)i * 3;
		CHECK_INT(nb_report_add_interval(r, &iv), 0);
	}
	CHECK_INT(nb_report_set_flows(r, 1), 0);
	r->flows[0] = (struct nb_flow_result){.bytes_sent = 1015680000ULL,
					      .bytes_rcvd = 1014208000ULL,
					      .msgs_sent = 690000,
					      .msgs_rcvd = 689000,
					      .lost = 1000,
					      .reordered = 12,
					      .goodput_bps = 812.3e6,
					      .cpu = 1};
	r->bytes_sent = 1015680000ULL;
	r->bytes_rcvd = 1014208000ULL;
	r->msgs_sent = 690000;
	r->msgs_rcvd = 689000;
	r->lost = 1000;
	r->reordered = 12;
	r->loss_pct = 100.0 * 1000 / 690000;
	r->goodput_bps = 812.3e6;
	r->cpu.busy_ns = 11000000000ULL;
	r->cpu.user_ns = 3000000000ULL;
	r->cpu.system_ns = 7900000000ULL;
	r->cpu.softirq_ns = 100000000ULL;
	r->cpu.util = 0.55;
	r->cpu.cycles = 11.0 * 2.3e9;
	r->cpu.cycles_per_byte = r->cpu.cycles / (double)r->bytes_sent;
	r->cpu.gen_ns = 9950000000ULL;
	r->server_cpu_valid = true;
	r->server_cpu = r->cpu;
	r->server_cpu.ncpus = 64;
	r->server_cpu.util = 0.02;
	r->server_cpu.busy_ns = 12800000000ULL;
	r->server_cpu.system_ns = 9700000000ULL; /* the split sums to busy */
	r->server_cpu.gen_ns = 0;
	r->server_cpu.resp_ns = 6100000000ULL;
	r->server_cpu.tsc_hz = 2.45e9;
	r->server_cpu.cycles = 12.8 * 2.45e9;
	r->server_cpu.cycles_per_byte = r->server_cpu.cycles / (double)r->bytes_rcvd;
}

/* A deterministic latency distribution through the real histogram: n transactions above floor_ns, skewed
 * (the product of two uniform draws), and a slow tail of three. Integer arithmetic only, so the golden
 * files do not depend on libm. */
static void fill_latency(struct nb_report *r, uint64_t n, uint64_t floor_ns, uint64_t spread_ns)
{
	struct nb_hist *h;
	uint64_t x = 12345;
	CHECK_INT(nb_hist_new(&h), 0);
	for (uint64_t i = 0; i < n; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		uint64_t a = (x >> 33) % spread_ns;
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		uint64_t b = (x >> 33) % spread_ns;
		nb_hist_record(h, (int64_t)(floor_ns + a * b / spread_ns));
	}
	nb_hist_record_n(h, 2500000, 3);
	nb_hist_stats(h, &r->lat);
	nb_hist_free(h);
}

/* rr tcp on one core, spinning, depth 1, closed loop */
static void fixture_rr_tcp(struct nb_report *r)
{
	fixture_common(r, NB_TEST_RR, NB_PROTO_TCP);
	same_host(r, 4243);
	snprintf(r->cmdline, sizeof(r->cmdline), "nbench rr --path loopback --cpu-gen 0 --cpu-resp 0 --spin");
	r->cfg.cpu_gen = 0;
	r->cfg.cpu_resp = 0;
	r->cfg.wait = NB_WAIT_SPIN;
	snprintf(r->gen_cpus, sizeof(r->gen_cpus), "0");
	snprintf(r->resp_cpus, sizeof(r->resp_cpus), "0");
	snprintf(r->gen_wait, sizeof(r->gen_wait), "spin");
	snprintf(r->resp_wait, sizeof(r->resp_wait), "spin");
	snprintf(r->path, sizeof(r->path), "loopback");
	snprintf(r->topo_name, sizeof(r->topo_name), "loopback");
	snprintf(r->cfg.host, sizeof(r->cfg.host), "127.0.0.1");
	const struct nb_nic_counter lo[] = {{"rx_packets", 3046800}, {"tx_packets", 3046800}};
	add_iface(r, "lo", "", "", -1, lo, 2);
	for (int i = 0; i < 3; i++) {
		struct nb_interval iv = {.start_s = i, .end_s = i + 1};
		iv.txns = 152340 + (uint64_t)i * 10;
		iv.tps = (double)iv.txns;
		iv.mean_lat_ns = 6520 - i * 10;
		iv.tcp = tcp_state(i == 1, 10, 65483, 12 - (uint32_t)i, 4, 1090000000ULL, 0);
		CHECK_INT(nb_report_add_interval(r, &iv), 0);
	}
	CHECK_INT(nb_report_set_flows(r, 1), 0);
	r->flows[0].txns = 1523400;
	r->flows[0].cpu = 0;
	r->flows[0].tcp = tcp_state(1, 10, 65483, 10, 4, 1090000000ULL, 0);
	r->flows[0].server_tcp = tcp_state(0, 10, 65483, 11, 3, 952000000ULL, 0);
	r->flows[0].server_tcp.have &= ~NB_TCPINFO_REORD; /* an older kernel on that side */
	sum_tcp(r);
	r->txns = 1523400;
	r->tps = 152340.0;
	fill_latency(r, 20000, 5400, 8000);
	r->cpu.busy_ns = 10020000000ULL;
	r->cpu.user_ns = 3000000000ULL;
	r->cpu.system_ns = 7000000000ULL;
	r->cpu.softirq_ns = 20000000ULL;
	r->cpu.util = 0.501;
	r->cpu.cycles = 10.02 * 2.3e9;
	r->cpu.cycles_per_txn = r->cpu.cycles / (double)r->txns;
	r->cpu.gen_ns = 4990000000ULL;
	r->cpu.resp_ns = 4980000000ULL;
	r->cpu.other_ns = 1000000ULL;
}

/* crr that failed part way, on a machine someone else was using, with more notes than fit */
static void fixture_crr_tcp(struct nb_report *r)
{
	fixture_common(r, NB_TEST_CRR, NB_PROTO_TCP);
	same_host(r, 4244);
	snprintf(r->cmdline, sizeof(r->cmdline), "nbench crr --path nat -t 5");
	r->cfg.duration_ns = 5000000000LL;
	snprintf(r->path, sizeof(r->path), "nat");
	snprintf(r->topo_name, sizeof(r->topo_name), "nb-nat");
	r->path_json = strdup("{not json"); /* topo's text that does not parse becomes null */
	r->duration_s = 3.5;
	r->complete = false;
	snprintf(r->error, sizeof(r->error), "connect to 10.201.0.1:12865: Connection refused");
	CHECK_INT(nb_report_set_flows(r, 1), 0);
	r->flows[0].txns = 31500;
	r->txns = 31500;
	r->tps = 9000.0;
	fill_latency(r, 5000, 90000, 120000);
	r->cpu.wall_s = 3.5;
	r->cpu.busy_ns = 6300000000ULL;
	r->cpu.user_ns = 800000000ULL;
	r->cpu.system_ns = 4300000000ULL;
	r->cpu.softirq_ns = 1190000000ULL;
	r->cpu.irq_ns = 10000000ULL;
	r->cpu.util = 0.9;
	r->cpu.cycles = 6.3 * 2.3e9;
	r->cpu.cycles_per_txn = r->cpu.cycles / (double)r->txns;
	r->cpu.gen_ns = 2100000000ULL;
	r->cpu.resp_ns = 1900000000ULL;
	r->cpu.other_ns = 1400000000ULL;
	r->cpu.disturbed = true;
	nb_report_note(r, "emulated: %s", "TCG");
	nb_report_note(r, "note %d", 2);
	nb_report_note(r, "note %d", 3);
	nb_report_note(r, "note %d", 4);
	nb_report_note(r, "note %d: one too many, dropped", 5);
	const struct nb_nic_counter c[] = {{"rx_packets", 63000},
					   {"rx_dropped", 12},
					   {"rx_crc_errors", 3},
					   {"driver.rx_missed", 7},
					   {"tx_dropped", -2}};
	add_iface(r, "nb-x2-h", "nb-x2-host", "veth", -1, c, 5);
	nb_report_note_iface_drops(r); /* the notes are full: the counters say it */
	CHECK_INT(r->n_notes, 4);
}

static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? 2 * cap : 8192;
			char *n = realloc(buf, cap);
			if (!n)
				break;
			buf = n;
		}
		size_t got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
		if (!got)
			break;
	}
	fclose(f);
	if (buf)
		buf[len] = '\0';
	*ret_len = len;
	return buf;
}

/* Compares text with tests/golden/<name>; on a difference prints the first differing line. */
static void check_golden(const char *name, const char *text, size_t len)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", golden_dir, name);
	if (update_golden) {
		FILE *f = fopen(path, "we");
		CHECK_MSG(f != NULL, "cannot write %s", path);
		if (f) {
			CHECK(fwrite(text, 1, len, f) == len);
			CHECK(fclose(f) == 0);
			fprintf(stderr, "updated %s\n", path);
		}
		return;
	}
	size_t glen = 0;
	char *golden = slurp(path, &glen);
	CHECK_MSG(golden != NULL, "missing golden file %s (NB_UPDATE_GOLDEN=1 writes it)", path);
	if (!golden)
		return;
	bool same = glen == len && !memcmp(golden, text, len);
	if (!same) {
		size_t i = 0, line = 1, bol = 0;
		while (i < len && i < glen && text[i] == golden[i]) {
			if (text[i] == '\n') {
				line++;
				bol = i + 1;
			}
			i++;
		}
		const char *g = golden + bol, *t = text + bol;
		fprintf(stderr, "%s differs at line %zu:\n  golden: %.*s\n  got:    %.*s\n", name, line,
			(int)strcspn(g, "\n"), g, (int)strcspn(t, "\n"), t);
	}
	CHECK_MSG(same, "%s does not match its golden file", name);
	free(golden);
}

typedef int (*render_fn)(const struct nb_report *r, FILE *out);

static int render_csv(const struct nb_report *r, FILE *out)
{
	return nb_report_write_csv(r, out, true);
}

static int render_intervals(const struct nb_report *r, FILE *out)
{
	nb_report_text_interval_header(&r->cfg, out);
	for (unsigned i = 0; i < r->n_intervals; i++)
		nb_report_text_interval(&r->cfg, &r->intervals[i], out);
	return ferror(out) ? -EIO : 0;
}

/* What a live text run prints: the head, the interim lines, then the rest of the report. */
static int render_live(const struct nb_report *r, FILE *out)
{
	nb_report_write_text_head(r, out);
	render_intervals(r, out);
	return nb_report_write_text_flags(r, NB_TEXT_NO_HEAD, out);
}

static char *render(const struct nb_report *r, render_fn fn, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	CHECK(f != NULL);
	if (!f)
		return NULL;
	CHECK_INT(fn(r, f), 0);
	fclose(f);
	*ret_len = len;
	return buf;
}

static cJSON *jget(const cJSON *o, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	const cJSON *cur = o;
	for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && cur; k = strtok_r(NULL, ".", &save))
		cur = cJSON_GetObjectItemCaseSensitive(cur, k);
	CHECK_MSG(cur != NULL, "JSON has no %s", path);
	return (cJSON *)cur;
}

static double jnum(const cJSON *o, const char *path)
{
	cJSON *v = jget(o, path);
	CHECK_MSG(cJSON_IsNumber(v), "%s is not a number", path);
	return v ? v->valuedouble : NAN;
}

/* o's key is t: null when t is invalid, else an object of its figures. */
static void check_tcp_obj(const cJSON *o, const char *key, const struct nb_tcpinfo *t)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	CHECK_MSG(v != NULL, "no %s", key);
	if (!t->valid) {
		CHECK_MSG(cJSON_IsNull(v), "%s of no TCP state is not null", key);
		return;
	}
	CHECK(jnum(v, "retransmits") == (double)t->retransmits);
	CHECK(jnum(v, "cwnd_bytes") == (double)t->cwnd_bytes);
	CHECK(jnum(v, "cwnd_segments") * jnum(v, "mss_bytes") == jnum(v, "cwnd_bytes"));
	CHECK(jnum(v, "srtt_us") == t->srtt_us);
	CHECK(jnum(v, "rttvar_us") == t->rttvar_us);
	const cJSON *p = cJSON_GetObjectItem(v, "pacing_rate_bps");
	CHECK((t->have & NB_TCPINFO_PACING)
		  ? cJSON_IsNumber(p) && p->valuedouble == (double)t->pacing_rate_bps
		  : cJSON_IsNull(p));
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(v, "dsack_dups")) == !(t->have & NB_TCPINFO_REORD));
}

/* TCP state: in every interval, flow and the end of TCP stream and rr reports (null where there is none);
 * no key of it in UDP and crr reports. */
static void check_json_tcp(const struct nb_report *r, const cJSON *j)
{
	bool tcp = r->cfg.proto == NB_PROTO_TCP && r->cfg.kind != NB_TEST_CRR;
	const cJSON *end = jget(j, "end"), *e;
	unsigned i = 0;

	CHECK((cJSON_GetObjectItem(end, "tcp") != NULL) == tcp);
	CHECK((cJSON_GetObjectItem(end, "server_tcp") != NULL) == tcp);
	cJSON_ArrayForEach(e, jget(j, "intervals"))
	{
		CHECK((cJSON_GetObjectItem(e, "tcp") != NULL) == tcp);
		if (tcp && i < r->n_intervals)
			check_tcp_obj(e, "tcp", &r->intervals[i++].tcp);
	}
	i = 0;
	cJSON_ArrayForEach(e, jget(j, "end.flows"))
	{
		CHECK((cJSON_GetObjectItem(e, "server_tcp") != NULL) == tcp);
		if (tcp && i < r->n_flows) {
			check_tcp_obj(e, "tcp", &r->flows[i].tcp);
			check_tcp_obj(e, "server_tcp", &r->flows[i++].server_tcp);
		}
	}
	if (tcp) {
		check_tcp_obj(end, "tcp", &r->tcp);
		check_tcp_obj(end, "server_tcp", &r->server_tcp);
	}
}

/* Parses the JSON back and checks the figures a script would read. */
static void check_json(const struct nb_report *r, const char *text)
{
	cJSON *j = cJSON_Parse(text);
	CHECK_MSG(j != NULL, "JSON does not parse");
	if (!j)
		return;
	CHECK(jnum(j, "schema_version") == NB_REPORT_SCHEMA_VERSION);
	CHECK_STR(cJSON_GetStringValue(jget(j, "start.settings.kind")), nb_test_kind_name(r->cfg.kind));
	CHECK_STR(cJSON_GetStringValue(jget(j, "start.settings.proto")), nb_proto_name(r->cfg.proto));
	CHECK(jnum(j, "start.settings.duration_ns") == (double)r->cfg.duration_ns);
	CHECK(jnum(j, "start.settings.msg_bytes") == nb_cfg_msg_bytes(&r->cfg));
	CHECK_STR(cJSON_GetStringValue(jget(j, "start.placement.gen_cpus")),
		  r->gen_cpus[0] ? r->gen_cpus : "any");
	CHECK(cJSON_IsBool(jget(j, "start.same_host")));
	CHECK(cJSON_IsArray(jget(j, "intervals")));
	CHECK_INT(cJSON_GetArraySize(jget(j, "intervals")), r->n_intervals);
	CHECK_INT(cJSON_GetArraySize(jget(j, "end.flows")), r->n_flows);
	CHECK(cJSON_IsTrue(jget(j, "end.complete")) == r->complete);
	if (r->complete)
		CHECK(cJSON_IsNull(jget(j, "end.error")));
	else
		CHECK_STR(cJSON_GetStringValue(jget(j, "end.error")), r->error);
	CHECK_INT(cJSON_GetArraySize(jget(j, "end.notes")), r->n_notes);
	CHECK(jnum(j, "end.cpu.busy_ns") == (double)r->cpu.busy_ns);
	CHECK_STR(cJSON_GetStringValue(jget(j, "end.cpu.source")), r->cpu.source);
	CHECK((cJSON_GetObjectItem(jget(j, "end"), "server_cpu") != NULL) == r->server_cpu_valid);
	unsigned n_server = 0;
	for (unsigned i = 0; i < r->n_ifaces; i++)
		n_server += r->ifaces[i].server;
	CHECK_INT(cJSON_GetArraySize(jget(j, "start.interfaces")), r->n_ifaces - n_server);
	CHECK_INT(cJSON_GetArraySize(jget(j, "end.interfaces")), r->n_ifaces - n_server);
	CHECK_INT(cJSON_GetArraySize(jget(j, "start.server_interfaces")), n_server);
	CHECK_INT(cJSON_GetArraySize(jget(j, "end.server_interfaces")), n_server);

	const cJSON *cfg = jget(j, "start.path.config");
	cJSON *given = r->path_json ? cJSON_Parse(r->path_json) : NULL;
	CHECK(given ? cJSON_IsObject(cfg) && cJSON_Compare(given, cfg, true) : cJSON_IsNull(cfg));
	cJSON_Delete(given);

	const cJSON *end = jget(j, "end");
	check_json_tcp(r, j);
	if (r->cfg.kind == NB_TEST_STREAM) {
		CHECK(jnum(j, "end.bytes_received") == (double)r->bytes_rcvd);
		CHECK(jnum(j, "end.goodput_bps") == r->goodput_bps);
		CHECK(cJSON_GetObjectItem(end, "latency_ns") == NULL);
		CHECK(cJSON_GetObjectItem(end, "transactions") == NULL);
		CHECK(cJSON_GetObjectItem(jget(j, "end.cpu"), "cycles_per_byte") != NULL);
		CHECK((cJSON_GetObjectItem(end, "packets_sent") != NULL) == (r->cfg.proto == NB_PROTO_UDP));
		if (r->n_intervals)
			CHECK(cJSON_GetObjectItem(cJSON_GetArrayItem(jget(j, "intervals"), 0), "txns") ==
			      NULL);
	} else {
		double min = jnum(j, "end.latency_ns.min"), p50 = jnum(j, "end.latency_ns.p50"),
		       p90 = jnum(j, "end.latency_ns.p90"), p99 = jnum(j, "end.latency_ns.p99"),
		       p999 = jnum(j, "end.latency_ns.p999"), max = jnum(j, "end.latency_ns.max"),
		       mean = jnum(j, "end.latency_ns.mean");
		CHECK_MSG(0 < min && min <= p50 && p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= max,
			  "latency order: %g %g %g %g %g %g", min, p50, p90, p99, p999, max);
		CHECK(min <= mean && mean <= max);
		CHECK(jnum(j, "end.transactions") == (double)r->txns);
		CHECK(jnum(j, "end.transactions_per_s") == r->tps);
		CHECK(cJSON_GetObjectItem(end, "goodput_bps") == NULL);
		CHECK(cJSON_GetObjectItem(jget(j, "end.cpu"), "cycles_per_transaction") != NULL);
	}
	cJSON_Delete(j);
}

/* The CSV is one header and one row of the same number of fields (a quoted field may hold commas). */
static void check_csv(const char *text)
{
	unsigned fields[2] = {1, 1}, row = 0;
	bool quoted = false;
	for (const char *p = text; *p && row < 2; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == ',' && !quoted)
			fields[row]++;
		else if (*p == '\n' && !quoted)
			row++;
	}
	CHECK_INT(row, 2);
	CHECK_INT(fields[0], 52);
	CHECK_INT(fields[1], fields[0]);
}

/* A live run's text starts with what runs where (the title line first), then the interim lines, and says
 * nothing twice: without the interim lines and the blank lines around them it is the full report. */
static void check_live(const struct nb_report *r, const char *live)
{
	size_t len = 0, ilen = 0;
	char *full = render(r, nb_report_write_text, &len), *iv = render(r, render_intervals, &ilen);
	const char *title = "nbench test: ", *at = iv ? strstr(live, iv) : NULL;
	CHECK_MSG(!strncmp(live, title, strlen(title)), "live text starts with '%.20s'", live);
	CHECK(at != NULL && strstr(live, "\nhosts:") < at && strstr(live, "\nsettings:") < at);
	CHECK(strstr(live + 1, title) == NULL);
	if (full && at && at - live >= 1) {
		/* the head, its blank line dropped; the rest, its leading blank line dropped */
		size_t head = (size_t)(at - live) - 1;
		const char *rest = at + ilen + 1;
		CHECK_MSG(!strncmp(full, live, head) && !strcmp(full + head, rest),
			  "live text less its interim lines is not the full report");
	}
	free(full);
	free(iv);
}

static void check_fixture(const char *name, void (*fill)(struct nb_report *))
{
	static const struct {
		const char *ext;
		render_fn fn;
	} formats[] = {
	    {"txt", nb_report_write_text}, {"intervals.txt", render_intervals},
	    {"live.txt", render_live},	   {"json", nb_report_write_json},
	    {"csv", render_csv},
	};
	struct nb_report r;
	fill(&r);
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		size_t len = 0;
		char *text = render(&r, formats[i].fn, &len);
		if (!text)
			continue;
		char file[128];
		snprintf(file, sizeof(file), "%s.%s", name, formats[i].ext);
		check_golden(file, text, len);
		/* rendering is a pure function of the report */
		size_t len2 = 0;
		char *again = render(&r, formats[i].fn, &len2);
		CHECK_MSG(again && len2 == len && !memcmp(text, again, len), "%s: second rendering differs",
			  file);
		if (!strcmp(formats[i].ext, "json"))
			check_json(&r, text);
		if (!strcmp(formats[i].ext, "csv"))
			check_csv(text);
		if (!strcmp(formats[i].ext, "txt"))
			CHECK((strstr(text, "INCOMPLETE: ") != NULL) == !r.complete);
		if (!strcmp(formats[i].ext, "live.txt"))
			check_live(&r, text);
		free(again);
		free(text);
	}
	nb_report_free(&r);
	nb_report_free(&r); /* twice is harmless */
}

static void test_stream_tcp(void)
{
	check_fixture("stream_tcp", fixture_stream_tcp);
}

static void test_stream_udp(void)
{
	check_fixture("stream_udp", fixture_stream_udp);
}

static void test_rr_tcp(void)
{
	check_fixture("rr_tcp", fixture_rr_tcp);
}

/* rr with --hops: three segments that add up to the round trip */
static void fixture_rr_hops(struct nb_report *r)
{
	fixture_rr_tcp(r);
	snprintf(r->path, sizeof(r->path), "native");
	r->hops = calloc(1, sizeof(*r->hops));
	struct nb_report_hops *h = r->hops;
	static const struct {
		const char *seg, *from, *to, *dir, *ns;
		int64_t p50, p90, p99;
		double mean;
	} s[] = {{"client stack out", "", "nb-a-r", "out", "nb-a-remote", 700, 800, 1500, 750},
		 {"hop out", "nb-a-r", "nb-a-h", "out", "nb-a-remote>nb-a-host", 1300, 1700, 2400, 1400},
		 {"server", "nb-a-h", "nb-a-h", "server", "nb-a-host", 6000, 7600, 15000, 6500},
		 {"hop back", "nb-a-h", "nb-a-r", "back", "nb-a-host>nb-a-remote", 1300, 1600, 2300, 1350},
		 {"client stack in", "nb-a-r", "", "back", "nb-a-remote", 5400, 6600, 12900, 5000}};
	h->n = 5;
	for (unsigned i = 0; i < h->n; i++) {
		struct nb_report_hop *g = &h->seg[i];
		snprintf(g->segment, sizeof(g->segment), "%s", s[i].seg);
		snprintf(g->from_if, sizeof(g->from_if), "%s", s[i].from);
		snprintf(g->to_if, sizeof(g->to_if), "%s", s[i].to);
		snprintf(g->direction, sizeof(g->direction), "%s", s[i].dir);
		snprintf(g->netns, sizeof(g->netns), "%s", s[i].ns);
		g->p50_ns = s[i].p50, g->p90_ns = s[i].p90, g->p99_ns = s[i].p99, g->mean_ns = s[i].mean;
		g->share = s[i].mean / 15000.0;
		g->samples = 40000;
		g->unmatched = i == 2 ? 3 : 0;
		h->rtt_mean_ns += s[i].mean;
	}
	h->txns = 40003;
	h->decomposed = 40000;
	h->rtt_without_ns = 12000;
	h->rtt_with_ns = 15100;
	h->rtt_p50_without_ns = 11000;
	h->rtt_p50_with_ns = 14000;
	h->runs_without = h->runs_with = 1;
	h->ring_evicted = 7;
	snprintf(h->clock, sizeof(h->clock),
		 "pcap CLOCK_REALTIME to CLOCK_MONOTONIC: offset at start and end");
}

static void test_rr_hops(void)
{
	struct nb_report r;
	static const struct {
		const char *ext;
		render_fn fn;
	} formats[] = {{"txt", nb_report_write_text}, {"json", nb_report_write_json}, {"csv", render_csv}};
	fixture_rr_hops(&r);
	for (size_t i = 0; i < 3; i++) {
		size_t len = 0;
		char *text = render(&r, formats[i].fn, &len);
		char file[64];
		CHECK(text != NULL);
		if (!text)
			continue;
		snprintf(file, sizeof(file), "rr_hops.%s", formats[i].ext);
		check_golden(file, text, len);
		if (i == 0)
			CHECK(strstr(text, "capture overhead: mean round trip 12.00 us without capture, "
					   "15.10 us with") != NULL);
		if (i == 1) {
			cJSON *j = cJSON_Parse(text), *end = cJSON_GetObjectItem(j, "end");
			cJSON *hops = cJSON_GetObjectItem(end, "hops"), *e;
			double sum = 0;
			CHECK_INT(cJSON_GetArraySize(hops), 5);
			cJSON_ArrayForEach(e, hops) sum += cJSON_GetObjectItem(e, "mean_ns")->valuedouble;
			cJSON *cap = cJSON_GetObjectItem(end, "hops_capture");
			CHECK(fabs(sum - cJSON_GetObjectItem(cap, "rtt_mean_ns")->valuedouble) < 1e-6);
			CHECK(cJSON_GetObjectItem(cap, "overhead_ns")->valuedouble == 3100);
			CHECK(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(hops, 0), "from_if")));
			cJSON_Delete(j);
		}
		if (i == 2) {
			const char *t = strstr(text, "\n\npath,segment,from_if,to_if,direction,netns,");
			CHECK(t != NULL);
			unsigned rows = 0;
			for (; t && *t; t++)
				rows += *t == '\n';
			CHECK_INT(rows, 2 + 1 + 5);
		}
		free(text);
	}
	nb_report_free(&r);
}

/* the same from the eBPF backend: its probes, records and clock in place of the capture's losses */
static void fixture_rr_hops_ebpf(struct nb_report *r)
{
	fixture_rr_hops(r);
	struct nb_report_hops *h = r->hops;
	snprintf(h->backend, sizeof(h->backend), "ebpf");
	h->rtt_with_ns = 12300;
	h->ring_evicted = 0;
	h->probe_hits = 10;
	h->records_checked = 16384;
	h->records_consistent = 16383;
	h->tail_ns = 700;
	snprintf(h->clock, sizeof(h->clock),
		 "bpf_ktime_get_ns is CLOCK_MONOTONIC, the generator's clock: no conversion");
}

static void test_rr_hops_ebpf(void)
{
	check_fixture("rr_hops_ebpf", fixture_rr_hops_ebpf);
	struct nb_report r;
	fixture_rr_hops_ebpf(&r);
	size_t len = 0;
	char *text = render(&r, nb_report_write_json, &len);
	cJSON *j = text ? cJSON_Parse(text) : NULL;
	cJSON *cap = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "end"), "hops_capture");
	CHECK(cap != NULL);
	if (cap) {
		CHECK(!strcmp(cJSON_GetObjectItem(cap, "backend")->valuestring, "ebpf"));
		/* the median's overhead (14000 - 11000 ns) shared out over the 10 hits */
		CHECK(fabs(cJSON_GetObjectItem(cap, "probe_ns_per_hit")->valuedouble - 300) < 1e-9);
		CHECK_INT((long long)cJSON_GetObjectItem(cap, "records_consistent")->valuedouble, 16383);
	}
	cJSON_Delete(j);
	free(text);
	nb_report_free(&r);
}

/* TCP state that is not there is not a 0: a responder that sent none (an older one), and flows without a
 * kernel socket at all. */
static void test_tcp_absent(void)
{
	struct nb_report r;
	size_t len;

	fixture_stream_tcp(&r);
	for (unsigned i = 0; i < r.n_flows; i++)
		r.flows[i].server_tcp = (struct nb_tcpinfo){0};
	sum_tcp(&r);
	CHECK(r.tcp.valid && !r.server_tcp.valid);
	char *txt = render(&r, nb_report_write_text, &len), *json = render(&r, nb_report_write_json, &len);
	CHECK(txt && strstr(txt, "\ntcp client         sender: retransmits 370"));
	CHECK(txt && strstr(txt, "\ntcp server         not reported by the responder\n"));
	if (json)
		check_json(&r, json);
	cJSON *j = json ? cJSON_Parse(json) : NULL;
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(jget(j, "end"), "server_tcp")));
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(jget(j, "end.flows"), 1), "server_tcp")));
	CHECK(cJSON_IsObject(cJSON_GetObjectItem(jget(j, "end"), "tcp")));
	cJSON_Delete(j);
	free(txt);
	free(json);

	/* no side has any (an engine without kernel sockets): no lines, nulls, dashes, empty columns */
	for (unsigned i = 0; i < r.n_flows; i++)
		r.flows[i].tcp = (struct nb_tcpinfo){0};
	for (unsigned i = 0; i < r.n_intervals; i++)
		r.intervals[i].tcp = (struct nb_tcpinfo){0};
	sum_tcp(&r);
	txt = render(&r, nb_report_write_text, &len);
	json = render(&r, nb_report_write_json, &len);
	char *iv = render(&r, render_intervals, &len), *csv = render(&r, render_csv, &len);
	CHECK(txt && !strstr(txt, "tcp client") && !strstr(txt, "tcp server"));
	CHECK_MSG(iv && strstr(iv, "[  1.00-  2.00 s]    9.37 Gbit/s       -           -           -\n"),
		  "%s", iv);
	CHECK(csv && strstr(csv, NO_TCP_CSV));
	if (json)
		check_json(&r, json);
	j = json ? cJSON_Parse(json) : NULL;
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(jget(j, "end"), "tcp")));
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(jget(j, "intervals"), 0), "tcp")));
	cJSON_Delete(j);
	free(txt);
	free(json);
	free(iv);
	free(csv);
	nb_report_free(&r);
}

static void test_crr_tcp(void)
{
	check_fixture("crr_tcp", fixture_crr_tcp);
}

static void test_lifecycle(void)
{
	struct nb_report r;
	nb_report_init(&r);
	CHECK(!r.complete);
	CHECK(!r.cpu.valid);
	for (int i = 0; i < 1000; i++) {
		struct nb_interval iv = {.start_s = i, .end_s = i + 1, .bytes = (uint64_t)i};
		CHECK_INT(nb_report_add_interval(&r, &iv), 0);
	}
	CHECK_INT(r.n_intervals, 1000);
	CHECK(r.cap_intervals >= 1000);
	CHECK_U64(r.intervals[999].bytes, 999);
	CHECK_U64(r.intervals[0].bytes, 0);
	CHECK_INT(nb_report_set_flows(&r, 3), 0);
	CHECK_INT(r.n_flows, 3);
	CHECK_INT(r.flows[2].cpu, -1);
	CHECK_U64(r.flows[2].bytes_sent, 0);
	CHECK_INT(nb_report_set_flows(&r, 0), 0);
	CHECK(r.flows == NULL && r.n_flows == 0);
	char longnote[400];
	memset(longnote, 'x', sizeof(longnote) - 1);
	longnote[sizeof(longnote) - 1] = '\0';
	nb_report_note(&r, "%s", longnote);
	CHECK_INT(strlen(r.notes[0]), sizeof(r.notes[0]) - 1);
	nb_report_free(&r);
	CHECK(r.intervals == NULL && r.n_intervals == 0);

	/* a report nobody filled in still renders in every format */
	nb_report_init(&r);
	size_t len;
	char *s;
	s = render(&r, nb_report_write_text, &len);
	free(s);
	s = render(&r, nb_report_write_json, &len);
	cJSON *j = s ? cJSON_Parse(s) : NULL;
	CHECK(j != NULL);
	cJSON_Delete(j);
	free(s);
	s = render(&r, render_csv, &len);
	free(s);
	nb_report_free(&r);
}

/* Deltas keep only what changed, match counters by name, count one new in b from zero. */
static void test_nic_delta(void)
{
	struct nb_nic_counter ca[] = {{"rx_packets", 10}, {"rx_dropped", 5}, {"tx_packets", 7}};
	struct nb_nic_counter cb[] = {
	    {"tx_packets", 7}, {"rx_packets", 25}, {"rx_dropped", 4}, {"driver.x", 3}};
	struct nb_nic_snap a = {ca, 3}, b = {cb, 4}, d = {0};
	CHECK_INT(nb_nic_delta(&a, &b, &d), 0);
	CHECK_INT(d.n, 3);
	CHECK_STR(d.c[0].name, "rx_packets");
	CHECK(d.c[0].value == 15);
	CHECK_STR(d.c[1].name, "rx_dropped");
	CHECK(d.c[1].value == -1);
	CHECK_STR(d.c[2].name, "driver.x");
	CHECK(d.c[2].value == 3);
	CHECK_INT(nb_nic_delta(&a, &a, &d), 0); /* replaces what d held */
	CHECK_INT(d.n, 0);
	nb_nic_snap_free(&d);
	CHECK(d.c == NULL);
	CHECK(nb_nic_counter_is_drop("rx_dropped") && nb_nic_counter_is_drop("rx_missed_errors"));
	CHECK(nb_nic_counter_is_drop("driver.rx_queue_0_xdp_drops") &&
	      nb_nic_counter_is_drop("rx_nohandler"));
	CHECK(nb_nic_counter_is_error("rx_crc_errors") && !nb_nic_counter_is_error("rx_missed_errors"));
	CHECK(!nb_nic_counter_is_drop("rx_packets") && !nb_nic_counter_is_error("tx_bytes"));
}

/* A drop or error counter that went up is noted with its interface; one that went down or a traffic
 * counter is not. */
static void test_nic_note(void)
{
	struct nb_report r;
	struct nb_nic_id id = {.name = "eth9", .speed_mbps = -1};
	struct nb_nic_counter c[] = {{"rx_packets", 100}, {"tx_dropped", -3}};
	struct nb_nic_snap d = {c, 2};
	nb_report_init(&r);
	CHECK_INT(nb_report_add_iface(&r, &id, &d), 0);
	nb_report_note_iface_drops(&r);
	CHECK_INT(r.n_notes, 0);
	struct nb_nic_counter c2[] = {{"rx_packets", 100}, {"rx_dropped", 9}, {"driver.rx_errors", 2}};
	struct nb_nic_snap d2 = {c2, 3};
	snprintf(id.name, sizeof(id.name), "eth8");
	CHECK_INT(nb_report_add_iface(&r, &id, &d2), 0);
	CHECK_INT(nb_report_add_iface(&r, &id, NULL), 0);
	nb_report_note_iface_drops(&r);
	CHECK_INT(r.n_notes, 1);
	CHECK_MSG(strstr(r.notes[0], "eth8: rx_dropped +9, driver.rx_errors +2") != NULL, "note: %s",
		  r.notes[0]);
	CHECK(strstr(r.notes[0], "eth9") == NULL);
	CHECK(!r.ifaces[2].counted && r.ifaces[1].counted);
	size_t len;
	char *csv = render(&r, render_csv, &len);
	CHECK_MSG(csv && strstr(csv, ",unknown,9,0,,," NO_TCP_CSV), "csv: %s", csv); /* link stats only */
	free(csv);
	/* the server's interfaces: after the client's in the note, named as the server's, their own columns
	 */
	struct nb_nic_counter c3[] = {{"tx_errors", 4}};
	struct nb_nic_snap d3 = {c3, 1};
	snprintf(id.name, sizeof(id.name), "srv0");
	snprintf(id.driver, sizeof(id.driver), "veth");
	CHECK_INT(nb_report_add_server_iface(&r, &id, &d3, 0), 0);
	snprintf(id.name, sizeof(id.name), "eth7");
	CHECK_INT(nb_report_add_iface(&r, &id, &(struct nb_nic_snap){c2 + 1, 1}), 0);
	nb_report_note_iface_drops(&r);
	CHECK_INT(r.n_notes, 2);
	const char *eth7 = strstr(r.notes[1], "eth7: rx_dropped +9"),
		   *srv = strstr(r.notes[1], "server srv0: tx_errors +4");
	CHECK_MSG(eth7 && srv && eth7 < srv, "note: %s", r.notes[1]);
	csv = render(&r, render_csv, &len);
	CHECK_MSG(csv && strstr(csv, ",unknown;veth,18,0,veth,0,4" NO_TCP_CSV), "csv: %s", csv);
	free(csv);
	char *txt = render(&r, nb_report_write_text, &len);
	const char *cl = txt ? strstr(txt, "nic:       eth7: driver veth") : NULL,
		   *sv = txt ? strstr(txt, "nic:       (server) srv0: driver veth") : NULL;
	CHECK_MSG(cl && sv && cl < sv, "text: %s", txt);
	free(txt);
	nb_report_free(&r);
	CHECK(r.ifaces == NULL && r.n_ifaces == 0);
}

/* The real thing, unprivileged: lo's counters in this namespace move when datagrams go through it. */
static void test_nic_lo(void)
{
	struct nb_nic *n = NULL;
	struct nb_nic_snap a = {0}, b = {0}, d = {0};
	struct nb_nic_id id;
	char ifname[16];
	CHECK_INT(nb_nic_open(NULL, "nb-no-such", &n), -ENODEV);
	CHECK_INT(nb_nic_open("no/such", "lo", &n), -EINVAL);
	CHECK_INT(nb_nic_route_iface("127.0.0.1", ifname, sizeof(ifname)), 0);
	CHECK_STR(ifname, "lo");
	CHECK_INT(nb_nic_open(NULL, "lo", &n), 0);
	CHECK_INT(nb_nic_identify(n, &id), 0);
	CHECK_STR(id.name, "lo");
	CHECK_INT(nb_nic_snapshot(n, &a), 0);
	CHECK(a.n >= 23);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = {
	    .sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	for (int i = 0; i < 5; i++)
		sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to));
	close(fd);
	CHECK_INT(nb_nic_snapshot(n, &b), 0);
	CHECK_INT(nb_nic_delta(&a, &b, &d), 0);
	bool rx = false;
	for (unsigned i = 0; i < d.n; i++)
		rx |= !strcmp(d.c[i].name, "tx_packets") && d.c[i].value >= 5;
	CHECK_MSG(rx, "lo's tx_packets did not move by 5 (%u counters changed)", d.n);
	nb_nic_snap_free(&a);
	nb_nic_snap_free(&b);
	nb_nic_snap_free(&d);
	nb_nic_close(n);
}

/* The engine line of a Docker path, from its description; nbench's own paths have none. */
static void test_engine(void)
{
	static const char docker[] =
	    "{\"kind\":\"docker-nat\",\"docker\":{\"engine\":{\"version\":\"20.10.24+dfsg1\",\"api_version\":"
	    "\"1.41\",\"storage_driver\":\"overlay2\",\"cgroup_driver\":\"cgroupfs\",\"cgroup_version\":"
	    "\"1\","
	    "\"iptables\":\"nft\"},\"containers\":[{\"name\":\"nb-x-srv\",\"role\":\"server\",\"network\":"
	    "\"bridge\",\"cgroup\":{\"cpuset_cpus\":\"0-1\",\"nano_cpus\":1500000000,\"cpu_quota_us\":0,"
	    "\"memory_bytes\":536870912,\"pids_limit\":0}},{\"name\":\"nb-x-cli\",\"role\":\"client\"}],"
	    "\"userland_proxy\":false}}";
	struct nb_report r;
	char buf[512], *text = NULL;
	size_t len = 0;

	nb_report_engine(docker, buf, sizeof(buf));
	CHECK_STR(buf,
		  "Docker 20.10.24+dfsg1 (API 1.41), storage overlay2, iptables nft, cgroup v1 cgroupfs, "
		  "userland proxy off; container nb-x-srv on network bridge: cpus 0-1, 1.50 CPUs, memory 512 "
		  "MiB");
	nb_report_engine("{\"kind\":\"nat\"}", buf, sizeof(buf));
	CHECK_STR(buf, "");
	nb_report_engine(NULL, buf, sizeof(buf));
	CHECK_STR(buf, "");
	nb_report_engine("{\"docker\":{\"reachable\":false}}", buf, sizeof(buf));
	CHECK_STR(buf, "Docker (the engine did not answer)");
	/* a line in the text report, a field of the CSV row */
	fixture_rr_tcp(&r);
	r.path_json = strdup(docker);
	FILE *f = open_memstream(&text, &len);
	nb_report_write_text(&r, f);
	fclose(f);
	CHECK(strstr(text, "\nengine:    Docker 20.10.24+dfsg1 (API 1.41)") != NULL);
	free(text);
	f = open_memstream(&text, &len);
	nb_report_write_csv(&r, f, true);
	fclose(f);
	CHECK(strstr(text, ",\"Docker 20.10.24+dfsg1 (API 1.41), storage overlay2") != NULL);
	free(text);
	nb_report_free(&r);
}

int main(int argc, char **argv)
{
	golden_dir = argc > 1 ? argv[1] : "tests/golden";
	const char *u = getenv("NB_UPDATE_GOLDEN");
	update_golden = u && *u && strcmp(u, "0");

	static const struct tap_case cases[] = {
	    TAP_CASE(test_stream_tcp), TAP_CASE(test_stream_udp),   TAP_CASE(test_rr_tcp),
	    TAP_CASE(test_rr_hops),    TAP_CASE(test_rr_hops_ebpf), TAP_CASE(test_crr_tcp),
	    TAP_CASE(test_lifecycle),  TAP_CASE(test_nic_delta),    TAP_CASE(test_nic_note),
	    TAP_CASE(test_nic_lo),     TAP_CASE(test_tcp_absent),   TAP_CASE(test_engine),
	};
	return TAP_RUN(cases, argc > 2 ? argv[2] : NULL);
}
