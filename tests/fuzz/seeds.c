/* SPDX-License-Identifier: MIT */
/*
 * Writes the fuzz targets' seed corpus: for each decoder, bodies its encoder produces (typical values and
 * the extremes its ranges allow) and a few it must refuse (missing, mistyped, out-of-range keys); for the
 * frame target, a conversation's frames. Run by tests/fuzz/run.sh --seeds; the output is committed under
 * tests/fuzz/corpus/<target>/.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codecs.h"

static const char *outdir;

static void write_seed(const char *target, const char *name, const void *buf, size_t len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	FILE *f = fopen(path, "w");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void write_text(const char *target, const char *name, const char *txt)
{
	write_seed(target, name, txt, strlen(txt));
}

/* Writes the encoding of s as target's seed name, and as a frame of its type into the frame corpus. */
static void write_body(const struct nb_fuzz_codec *c, const char *name, const void *s)
{
	cJSON *j = c->to_json(s);
	char *txt = cJSON_PrintUnformatted(j);
	write_text(c->name, name, txt);
	if (c->type) {
		size_t cap = NB_PROTO_HDR_BYTES + strlen(txt);
		char *frame = malloc(cap), fname[64];
		ssize_t n = nb_frame_encode(frame, cap, (uint16_t)c->type, txt, strlen(txt));
		snprintf(fname, sizeof(fname), "%s_%s", c->name, name);
		write_seed("frame", fname, frame, (size_t)n);
		free(frame);
	}
	free(txt);
	cJSON_Delete(j);
}

static const struct nb_fuzz_codec *codec(const char *name)
{
	for (size_t i = 0; i < NB_FUZZ_N_CODECS; i++)
		if (!strcmp(nb_fuzz_codecs[i].name, name))
			return &nb_fuzz_codecs[i];
	abort();
}

static void cfg_seeds(void)
{
	struct nb_test_cfg c;
	nb_cfg_defaults(&c, NB_TEST_RR);
	snprintf(c.host, sizeof(c.host), "127.0.0.1");
	write_body(codec("cfg"), "rr_default", &c);
	c.kind = NB_TEST_STREAM;
	c.proto = NB_PROTO_UDP;
	c.reverse = true;
	c.flows = NB_MAX_FLOWS;
	c.msg_bytes = NB_MAX_UDP_BYTES;
	c.rate_bps = NB_MAX_RATE_BPS;
	c.cpu_gen = 3;
	c.cpu_resp = -1;
	c.wait = NB_WAIT_SPIN;
	c.busy_poll_us = NB_MAX_BUSY_POLL_US;
	c.duration_ns = NB_MAX_DURATION_NS;
	write_body(codec("cfg"), "stream_udp_extremes", &c);
	write_text("cfg", "empty", "{}");
	write_text("cfg", "out_of_range", "{\"kind\":\"rr\",\"flows\":1e300,\"cpu_gen\":-2,\"port\":65536}");
	write_text("cfg", "mistyped", "{\"kind\":7,\"proto\":\"sctp\",\"reverse\":\"yes\",\"host\":null}");
}

static void ack_seeds(void)
{
	struct nb_hello_ack h = {.pid = 4242,
				 .sysinfo = {.hostname = "lab1",
					     .kernel = "6.1.0-18-amd64",
					     .boot_id = "4c1d0b5e-7a52-4c58-9a0e-2f6d1f0a9b11",
					     .cpu_model = "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz",
					     .ncpus = 64}};
	write_body(codec("hello_ack"), "lab_host", &h);
	write_body(codec("sysinfo"), "lab_host", &h.sysinfo);
	write_text("hello_ack", "bad_pid", "{\"sysinfo\":{},\"pid\":0}");
	write_text("sysinfo", "long_hostname",
		   "{\"hostname\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
		   "\"kernel\":\"6.1\",\"boot_id\":\"x\",\"cpu_model\":\"\",\"ncpus\":4294967296}");
	struct nb_test_ack t = {.test_id = (1ULL << 53) - 1};
	snprintf(t.data_addr, sizeof(t.data_addr), "192.0.2.1");
	write_body(codec("test_ack"), "largest_id", &t);
	write_text("test_ack", "id_zero", "{\"test_id\":0,\"data_addr\":\"\"}");
	write_text("test_ack", "id_fraction", "{\"test_id\":1.5,\"data_addr\":\"::1\"}");
}

/* The key's handshake and the data hello: fixed bytes, so the corpus does not change with each run. */
static void auth_seeds(void)
{
	struct nb_ctrl_hello h = {.keyed = true, .data_src = "10.211.0.11"};
	struct nb_challenge c;
	struct nb_auth a;
	struct nb_data_hello d = {.test_id = 9, .flow = 3};
	memset(h.nonce, 0x5a, sizeof(h.nonce));
	memset(c.nonce, 0xc3, sizeof(c.nonce));
	memset(c.proof, 0x17, sizeof(c.proof));
	memset(a.proof, 0xe8, sizeof(a.proof));
	memset(d.token, 0x42, sizeof(d.token));
	write_body(codec("ctrl_hello"), "keyed_dpdk", &h);
	h = (struct nb_ctrl_hello){.keyed = false};
	write_body(codec("ctrl_hello"), "keyless", &h);
	write_text("ctrl_hello", "short_nonce", "{\"nonce\":\"00ff\",\"data_src\":\"\"}");
	write_body(codec("challenge"), "fixed", &c);
	write_text("challenge", "not_hex", "{\"nonce\":\"zz\",\"proof\":7}");
	write_body(codec("auth"), "fixed", &a);
	write_text("auth", "empty", "{}");
	write_body(codec("data_hello"), "flow3", &d);
	write_text("data_hello", "no_token", "{\"test_id\":9,\"flow\":3}");
}

/* An agent's path request and grant (nbench serve --paths). */
static void path_seeds(void)
{
	struct nb_path_req q = {.kind = "nat", .for_ns = 11000000000LL};
	struct nb_path_grant *g = calloc(1, sizeof(*g));
	write_body(codec("path_req"), "nat", &q);
	write_text("path_req", "long_kind", "{\"kind\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"for_ns\":1}");
	write_text("path_req", "no_time", "{\"kind\":\"nat\",\"for_ns\":0}");
	snprintf(g->kind, sizeof(g->kind), "bridge");
	snprintf(g->name, sizeof(g->name), "r0a1b2c3");
	snprintf(g->dial_addr, sizeof(g->dial_addr), "172.31.78.2");
	g->dial_port = 40123;
	snprintf(g->route_net, sizeof(g->route_net), "172.31.78.0/24");
	snprintf(g->path_json, sizeof(g->path_json), "{\"kind\":\"bridge\",\"interfaces\":[]}");
	write_body(codec("path_grant"), "bridge", g);
	write_text("path_grant", "port_zero",
		   "{\"kind\":\"nat\",\"name\":\"\",\"dial_addr\":\"\",\"dial_port\":0,\"route_net\":\"\","
		   "\"path\":{}}");
	write_text("path_grant", "path_not_object",
		   "{\"kind\":\"nat\",\"name\":\"\",\"dial_addr\":\"\",\"dial_port\":9,\"route_net\":\"\","
		   "\"path\":[1]}");
	free(g);
}

static void cost_seeds(struct nb_cpu_cost *c)
{
	snprintf(c->source, sizeof(c->source), "procstat");
	c->valid = true;
	c->wall_s = 2.5;
	c->ncpus = 2;
	c->tsc_hz = 2.9e9;
	c->util = 0.37;
	c->busy_ns = 1850000000;
	c->user_ns = 900000000;
	c->system_ns = 700000000;
	c->softirq_ns = 200000000;
	c->irq_ns = 50000000;
	c->cycles = 5.3e9;
	c->gen_ns = 800000000;
	c->resp_ns = 750000000;
	c->other_ns = 3000000;
	write_body(codec("cpu_cost"), "procstat", c);
	write_text("cpu_cost", "negative", "{\"source\":\"perf\",\"valid\":true,\"wall_s\":-1}");
}

/* The responder's interfaces: one counted and one not, the limits, and a few the decoder refuses. */
static void result_iface_seeds(struct nb_result *r)
{
	static const char *const refused[] = {
	    "{\"flows\":[],\"resp_cpus\":\"\",\"resp_wait\":\"\",\"resp_cpu_ns\":0,\"ifaces\":[{\"name\":"
	    "\"e\\u001b0\",\"netns\":\"\",\"driver\":\"\",\"driver_version\":\"\",\"firmware\":\"\",\"bus\":"
	    "\"\",\"speed_mbps\":-1,\"duplex\":\"\",\"counters\":null,\"left_out\":0}]}",
	    "{\"flows\":[],\"resp_cpus\":\"\",\"resp_wait\":\"\",\"resp_cpu_ns\":0,\"ifaces\":[{\"name\":"
	    "\"eth0\",\"netns\":\"\",\"driver\":\"veth\",\"driver_version\":\"\",\"firmware\":\"\",\"bus\":"
	    "\"\",\"speed_mbps\":-1,\"duplex\":\"\",\"counters\":{\"a\":1,\"a\":2},\"left_out\":0}]}",
	    "{\"flows\":[],\"resp_cpus\":\"\",\"resp_wait\":\"\",\"resp_cpu_ns\":0,\"ifaces\":[1,2,3,4,5]}",
	};
	struct nb_nic_counter c[NB_RESULT_MAX_COUNTERS + 3] = {
	    {"rx_packets", 1000}, {"tx_packets", 999}, {"rx_dropped", 2}, {"driver.rx_pkts_nic", 1000}};
	struct nb_nic_id id = {.name = "eth0", .driver = "veth", .driver_version = "1.0", .speed_mbps = -1};
	struct nb_nic_snap d = {c, 4};

	r->n_flows = 1;
	r->n_ifaces = 2;
	nb_result_iface_set(&r->ifaces[0], &id, &d);
	snprintf(id.name, sizeof(id.name), "nb-ab12-b");
	snprintf(id.netns, sizeof(id.netns), "/proc/812/ns/net");
	snprintf(id.driver, sizeof(id.driver), "bridge");
	nb_result_iface_set(&r->ifaces[1], &id, NULL);
	write_body(codec("result"), "two_ifaces", r);
	/* the limits: every interface with every counter it may carry, the rest left out */
	for (unsigned k = 0; k < NB_RESULT_MAX_COUNTERS + 3; k++) {
		snprintf(c[k].name, sizeof(c[k].name), "driver.rx_queue_%u_packets", k);
		c[k].value = k % 2 ? -(1LL << 53) : 1LL << 53;
	}
	d.n = NB_RESULT_MAX_COUNTERS + 3;
	snprintf(id.name, sizeof(id.name), "enp59s0f1np1");
	snprintf(id.driver, sizeof(id.driver), "mlx5_core");
	snprintf(id.firmware, sizeof(id.firmware), "22.36.1010 (MT_0000000359)");
	snprintf(id.bus, sizeof(id.bus), "0000:3b:00.1");
	id.speed_mbps = 100000;
	snprintf(id.duplex, sizeof(id.duplex), "full");
	r->n_ifaces = NB_RESULT_MAX_IFACES;
	for (unsigned i = 0; i < NB_RESULT_MAX_IFACES; i++)
		nb_result_iface_set(&r->ifaces[i], &id, &d);
	write_body(codec("result"), "ifaces_full", r);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char name[32];
		snprintf(name, sizeof(name), "iface_refused_%zu", i);
		write_text("result", name, refused[i]);
	}
}

/* The flows' TCP state: a sender's, an older kernel's (no newer fields), a flow without one, and arrays the
 * decoder refuses. */
static void result_tcp_seeds(struct nb_result *r)
{
	static const char *const refused[] = {
	    "{\"flows\":[{\"bytes_sent\":0,\"msgs_sent\":0,\"bytes_rcvd\":0,\"msgs_rcvd\":0,\"reordered\":0,"
	    "\"window_bytes\":0,\"window_ns\":0,\"tcp\":[1,2,3,4,5,6,7,null,9]}],\"resp_cpus\":\"\","
	    "\"resp_wait\":\"\",\"resp_cpu_ns\":0}",
	    "{\"flows\":[{\"bytes_sent\":0,\"msgs_sent\":0,\"bytes_rcvd\":0,\"msgs_rcvd\":0,\"reordered\":0,"
	    "\"window_bytes\":0,\"window_ns\":0,\"tcp\":{\"retransmits\":1}}],\"resp_cpus\":\"\","
	    "\"resp_wait\":\"\",\"resp_cpu_ns\":0}",
	};
	struct nb_result_flow saved[3];
	memcpy(saved, r->flows, sizeof(saved));
	r->n_flows = 3;
	r->flows[0] = (struct nb_result_flow){.bytes_sent = 1ULL << 40,
					      .window_bytes = 1ULL << 39,
					      .window_ns = 10000000000LL,
					      .tcp = {.valid = true,
						      .have = NB_TCPINFO_ALL,
						      .retransmits = 4821,
						      .cwnd_segs = 870,
						      .mss_bytes = 1448,
						      .cwnd_bytes = 870 * 1448,
						      .srtt_us = 245,
						      .rttvar_us = 31,
						      .pacing_rate_bps = 23200000000ULL,
						      .delivery_rate_bps = 9440000000ULL,
						      .reord_seen = 40,
						      .dsack_dups = 4700}};
	r->flows[1] = r->flows[0];
	r->flows[1].tcp.have = NB_TCPINFO_PACING;
	r->flows[1].tcp.delivery_rate_bps = r->flows[1].tcp.reord_seen = r->flows[1].tcp.dsack_dups = 0;
	r->flows[2] = (struct nb_result_flow){.bytes_rcvd = 1 << 20};
	write_body(codec("result"), "tcp_state", r);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char name[32];
		snprintf(name, sizeof(name), "tcp_refused_%zu", i);
		write_text("result", name, refused[i]);
	}
	memcpy(r->flows, saved, sizeof(saved)); /* the later seeds' flows as they were */
}

static void result_seeds(void)
{
	struct nb_result *r = calloc(1, sizeof(*r));
	snprintf(r->cpus, sizeof(r->cpus), "0,1");
	r->cpu_ns = 123456789;
	r->n_flows = 2;
	r->flows[0] = (struct nb_result_flow){
	    .bytes_rcvd = 1 << 30, .msgs_rcvd = 16384, .window_bytes = 1 << 29, .window_ns = 1000000000};
	r->flows[1] = (struct nb_result_flow){.bytes_sent = 1ULL << 53, .msgs_sent = 7, .reordered = 3};
	write_body(codec("result"), "two_flows_no_cost", r);
	r->have_cost = true;
	cost_seeds(&r->cost);
	snprintf(r->wait, sizeof(r->wait), "spin (dpdk poll)");
	write_body(codec("result"), "with_cost", r);
	r->n_flows = 0;
	r->have_cost = false;
	write_body(codec("result"), "crr_no_flows", r);
	write_text("result", "flow_not_object",
		   "{\"flows\":[1],\"resp_cpus\":\"\",\"resp_wait\":\"\",\"resp_cpu_ns\":0}");
	result_tcp_seeds(r);
	result_iface_seeds(r);
	free(r);
}

static void frame_seeds(void)
{
	char buf[NB_PROTO_HDR_BYTES + 128];
	const char *dh = "{\"test_id\":9,\"flow\":3,\"token\":\"42424242424242424242424242424242\"}",
		   *er = "{\"message\":\"busy\"}";
	ssize_t n = nb_frame_encode(buf, sizeof(buf), NB_MSG_HELLO, "{}", 2);
	write_seed("frame", "hello", buf, (size_t)n);
	n = nb_frame_encode(buf, sizeof(buf), NB_MSG_DATA_HELLO, dh, strlen(dh));
	write_seed("frame", "data_hello", buf, (size_t)n);
	n = nb_frame_encode(buf, sizeof(buf), NB_MSG_ERROR, er, strlen(er));
	write_seed("frame", "error", buf, (size_t)n);
	/* two frames back to back, the second cut short */
	size_t two = (size_t)n;
	memcpy(buf + two, buf, 8);
	write_seed("frame", "truncated_second", buf, two + 8);
}

/* A keyed session's client frames, numbered from 0 (codecs.h's session): a test's conversation, the same
 * with its second frame replayed, and one with a body byte changed. */
static void chan_seeds(void)
{
	static const struct {
		enum nb_msg_type type;
		const char *body;
	} conv[] = {{NB_MSG_PATH, "{\"kind\":\"nat\",\"for_ns\":1000000000}"},
		    {NB_MSG_START, "{}"},
		    {NB_MSG_MEASURE, "{}"},
		    {NB_MSG_STOP, "{}"}};
	struct nb_chan client, server;
	unsigned char buf[1024];
	size_t len = 0, second = 0, second_len = 0;
	nb_fuzz_chans(&client, &server);
	for (size_t i = 0; i < sizeof(conv) / sizeof(conv[0]); i++) {
		ssize_t n = nb_chan_encode(&client, buf + len, sizeof(buf) - len, conv[i].type, conv[i].body,
					   strlen(conv[i].body));
		if (i == 1)
			second = len, second_len = (size_t)n;
		len += (size_t)n;
	}
	write_seed("chan", "conversation", buf, len);
	memcpy(buf + len, buf + second, second_len);
	write_seed("chan", "replayed", buf, len + second_len);
	buf[NB_PROTO_HDR_BYTES + 3] ^= 1;
	write_seed("chan", "altered", buf, len);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	cfg_seeds();
	path_seeds();
	ack_seeds();
	auth_seeds();
	result_seeds();
	frame_seeds();
	chan_seeds();
	return 0;
}
