/* SPDX-License-Identifier: MIT */
/* The control protocol: frames against truncated, garbage, oversized and other-version input, and every
 * typed body round-tripped field by field and refused when a key is missing, mistyped or out of range. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../unit/tap.h"
#include "nbench/chan.h"
#include "nbench/proto.h"

static void test_roundtrip(void)
{
	unsigned char buf[256];
	struct nb_frame_hdr h;
	ssize_t n = nb_frame_encode(buf, sizeof(buf), NB_MSG_TEST, "{\"a\":1}", 7);
	CHECK_INT(n, NB_PROTO_HDR_BYTES + 7);
	CHECK_INT(nb_frame_decode_hdr(buf, (size_t)n, &h), 0);
	CHECK_INT(h.type, NB_MSG_TEST);
	CHECK_INT(h.len, 7);
	CHECK_INT(h.version, NB_PROTO_VERSION);
	cJSON *j = nb_frame_parse_body(buf + NB_PROTO_HDR_BYTES, h.len);
	CHECK(j != NULL);
	CHECK_INT(nb_json_i64(j, "a", 0), 1);
	cJSON_Delete(j);
}

static void test_bad_headers(void)
{
	unsigned char buf[64];
	struct nb_frame_hdr h;
	ssize_t n = nb_frame_encode(buf, sizeof(buf), NB_MSG_HELLO, "{}", 2);
	CHECK(n > 0);
	/* truncated header */
	for (size_t k = 0; k < NB_PROTO_HDR_BYTES; k++)
		CHECK_INT(nb_frame_decode_hdr(buf, k, &h), -EBADMSG);
	/* garbage */
	unsigned char g[NB_PROTO_HDR_BYTES] = "GET / HTTP/";
	CHECK_INT(nb_frame_decode_hdr(g, sizeof(g), &h), -EBADMSG);
	/* other version */
	unsigned char v[64];
	memcpy(v, buf, (size_t)n);
	v[5] = NB_PROTO_VERSION + 1;
	CHECK_INT(nb_frame_decode_hdr(v, (size_t)n, &h), -EPROTONOSUPPORT);
	CHECK_INT(h.version, NB_PROTO_VERSION + 1);
	/* oversized body */
	memcpy(v, buf, (size_t)n);
	v[8] = 0x7f;
	CHECK_INT(nb_frame_decode_hdr(v, (size_t)n, &h), -EMSGSIZE);
	/* unknown type */
	memcpy(v, buf, (size_t)n);
	v[6] = 0x40;
	CHECK_INT(nb_frame_decode_hdr(v, (size_t)n, &h), -EINVAL);
	/* encode refuses what does not fit */
	CHECK_INT(nb_frame_encode(buf, 10, NB_MSG_HELLO, "{}", 2), -EMSGSIZE);
	CHECK_INT(nb_frame_encode(buf, sizeof(buf), NB_MSG_HELLO, "{}", NB_PROTO_MAX_BODY + 1), -EMSGSIZE);
	/* bodies that are not JSON objects */
	CHECK(nb_frame_parse_body("[1,2]", 5) == NULL);
	CHECK(nb_frame_parse_body("{\"a\":", 5) == NULL);
	CHECK(nb_frame_parse_body("\x01\x02\x03", 3) == NULL);
}

/* nb_chan_recv over a socketpair: a truncated frame times out, a closed peer is ECONNRESET. */
static void test_recv(void)
{
	int sv[2];
	uint16_t type, ver;
	cJSON *body;
	struct nb_chan a, b;
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	nb_chan_init(&a, sv[0], NB_AUTH_SERVER);
	nb_chan_init(&b, sv[1], NB_AUTH_CLIENT);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "message", "hi");
	CHECK_INT(nb_chan_send(&a, NB_MSG_ERROR, j), 0);
	cJSON_Delete(j);
	CHECK_INT(nb_chan_recv(&b, -1, &type, &body, &ver), 0);
	CHECK_INT(type, NB_MSG_ERROR);
	CHECK_STR(nb_json_str(body, "message", NULL), "hi");
	cJSON_Delete(body);

	unsigned char buf[64];
	ssize_t n = nb_frame_encode(buf, sizeof(buf), NB_MSG_HELLO, "{\"x\":2}", 7);
	CHECK_INT(write(sv[0], buf, (size_t)n - 3), n - 3);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t dl = ts.tv_sec * 1000000000LL + ts.tv_nsec + 50000000LL;
	CHECK_INT(nb_chan_recv(&b, dl, &type, &body, &ver), -ETIMEDOUT);
	close(sv[0]);
	/* the rest of the truncated frame never comes: the close ends it */
	CHECK_INT(nb_chan_recv(&b, -1, &type, &body, &ver), -ECONNRESET);
	close(sv[1]);
}

/* Two channels keyed from one transcript, over a socketpair (c: the client's, s: the server's). */
static void keyed_pair(int sv[2], struct nb_chan *c, struct nb_chan *s)
{
	struct nb_key k;
	struct nb_auth_transcript t = {.version = NB_PROTO_VERSION};
	memset(k.bytes, 7, sizeof(k.bytes));
	nb_auth_nonce(t.client_nonce);
	nb_auth_nonce(t.server_nonce);
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	nb_chan_init(c, sv[0], NB_AUTH_CLIENT);
	nb_chan_init(s, sv[1], NB_AUTH_SERVER);
	nb_chan_key(c, &k, &t);
	nb_chan_key(s, &k, &t);
}

/* What a receiver keyed like s makes of the len bytes of frame: its nb_chan_open. */
static int open_as(const struct nb_chan *s, const unsigned char *frame, size_t len)
{
	struct nb_chan copy = *s;
	struct nb_frame_hdr h;
	return nb_chan_open(&copy, frame, len, &h);
}

/* The MAC of a keyed session: frames pass both ways in order; a frame without a MAC, with one byte changed
 * anywhere, replayed, reordered, reflected back to its sender, or with a MAC on an unkeyed channel, is
 * -EKEYREJECTED. */
static void test_chan_mac(void)
{
	int sv[2];
	struct nb_chan c, s, plain;
	uint16_t type, ver;
	cJSON *body;
	unsigned char f1[128], f2[128], raw[64];
	keyed_pair(sv, &c, &s);
	for (int i = 0; i < 3; i++) {
		CHECK_INT(nb_chan_send(&c, NB_MSG_START, NULL), 0);
		CHECK_INT(nb_chan_recv(&s, -1, &type, &body, &ver), 0);
		CHECK_INT(type, NB_MSG_START);
		cJSON_Delete(body);
		CHECK_INT(nb_chan_send(&s, NB_MSG_READY, NULL), 0);
		CHECK_INT(nb_chan_recv(&c, -1, &type, &body, &ver), 0);
		cJSON_Delete(body);
	}
	ssize_t n1 = nb_chan_encode(&c, f1, sizeof(f1), NB_MSG_STOP, "{}", 2);
	ssize_t n2 = nb_chan_encode(&c, f2, sizeof(f2), NB_MSG_MEASURE, "{}", 2);
	CHECK_INT(n1, NB_PROTO_HDR_BYTES + 2 + NB_AUTH_MAC_BYTES);
	CHECK_INT(open_as(&s, f2, (size_t)n2), -EKEYREJECTED); /* reordered */
	for (ssize_t i = 0; i < n1; i++) {
		f1[i] ^= 0x01;
		int r = open_as(&s, f1, (size_t)n1);
		CHECK(r == -EKEYREJECTED || r == -EBADMSG || r == -EPROTONOSUPPORT || r == -EINVAL ||
		      r == -EMSGSIZE);
		f1[i] ^= 0x01;
	}
	CHECK_INT(open_as(&c, f1, (size_t)n1), -EKEYREJECTED); /* reflected */
	ssize_t n = nb_frame_encode(raw, sizeof(raw), NB_MSG_STOP, "{}", 2);
	CHECK_INT(open_as(&s, raw, (size_t)n), -EKEYREJECTED); /* injected without a MAC */
	CHECK_INT(open_as(&s, f1, (size_t)n1), 0);
	nb_chan_init(&plain, -1, NB_AUTH_SERVER);
	CHECK_INT(open_as(&plain, f1, (size_t)n1), -EKEYREJECTED); /* a MAC where none is due */
	/* on the wire: the receiver takes f1, then the replayed f1 is refused */
	CHECK_INT(write(sv[0], f1, (size_t)n1), n1);
	CHECK_INT(nb_chan_recv(&s, -1, &type, &body, &ver), 0);
	CHECK_INT(type, NB_MSG_STOP);
	cJSON_Delete(body);
	CHECK_INT(write(sv[0], f1, (size_t)n1), n1);
	CHECK_INT(nb_chan_recv(&s, -1, &type, &body, &ver), -EKEYREJECTED);
	CHECK(body == NULL);
	nb_chan_wipe(&c);
	nb_chan_wipe(&s);
	close(sv[0]);
	close(sv[1]);
}

/* ---- typed bodies ---- */

/* Strings set so that the bytes after the NUL are zero, as a decoder leaves them. */
static void set_str(char *buf, size_t size, const char *s)
{
	memset(buf, 0, size);
	snprintf(buf, size, "%s", s);
}

/* Byte-equal after the padding is cleared: a field the codec loses is still 0xa5 in want, 0 in got. */
#define CHECK_SAME(want, got)                                                                                \
	do {                                                                                                 \
		__builtin_clear_padding(&(want));                                                            \
		__builtin_clear_padding(&(got));                                                             \
		const unsigned char *w_ = (const void *)&(want), *g_ = (const void *)&(got);                 \
		size_t k_ = 0;                                                                               \
		while (k_ < sizeof(want) && w_[k_] == g_[k_])                                                \
			k_++;                                                                                \
		CHECK_MSG(k_ == sizeof(want), "%s: byte %zu of %zu differs after the round trip", #want, k_, \
			  sizeof(want));                                                                     \
	} while (0)

/* Every field of the settings a distinct, non-default value; what the struct gains later and the test
 * does not set stays 0xa5, which no decoder produces, so an unserialised new field fails CHECK_SAME. */
static void fill_cfg(struct nb_test_cfg *c)
{
	memset(c, 0xa5, sizeof(*c));
	c->kind = NB_TEST_CRR;
	c->proto = NB_PROTO_UDP;
	set_str(c->engine, sizeof(c->engine), "dpdk");
	set_str(c->host, sizeof(c->host), "192.0.2.7");
	c->port = 4321;
	c->duration_ns = 3000000001LL;
	c->warmup_ns = 2000000003LL;
	c->interval_ns = 500000007LL;
	c->flows = 5;
	c->reverse = true;
	c->msg_bytes = 9001;
	c->req_bytes = 101;
	c->resp_bytes = 203;
	c->depth = 17;
	c->rate_tps = 1234.5;
	c->rate_bps = 5.5e9;
	c->udp_timeout_ns = 300000011LL;
	c->cpu_gen = 2;
	c->cpu_resp = 3;
	c->wait = NB_WAIT_SPIN;
	c->busy_poll_us = 50;
	c->nodelay = true;
	/* local to each side: never on the wire */
	set_str(c->dpdk_port, sizeof(c->dpdk_port), "net_af_packet0,iface=veth0");
	set_str(c->dpdk_args, sizeof(c->dpdk_args), "--no-pci");
	set_str(c->dpdk_ip, sizeof(c->dpdk_ip), "10.0.0.2");
	set_str(c->dpdk_peer_mac, sizeof(c->dpdk_peer_mac), "02:00:00:00:00:01");
}

static void test_cfg_roundtrip(void)
{
	struct nb_test_cfg a, b;
	char err[160] = "";
	fill_cfg(&a);
	cJSON *j = nb_cfg_to_json(&a);
	CHECK_STR(nb_json_str(j, "kind", NULL), "crr"); /* the report's key, not "test" */
	CHECK(!cJSON_HasObjectItem(j, "test") && !cJSON_HasObjectItem(j, "dpdk_port"));
	CHECK_INT(nb_cfg_from_json(j, &b, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_STR(b.dpdk_port, "");
	CHECK_STR(b.dpdk_args, "");
	CHECK_STR(b.dpdk_ip, "");
	CHECK_STR(b.dpdk_peer_mac, "");
	memcpy(b.dpdk_port, a.dpdk_port, sizeof(a.dpdk_port));
	memcpy(b.dpdk_args, a.dpdk_args, sizeof(a.dpdk_args));
	memcpy(b.dpdk_ip, a.dpdk_ip, sizeof(a.dpdk_ip));
	memcpy(b.dpdk_peer_mac, a.dpdk_peer_mac, sizeof(a.dpdk_peer_mac));
	CHECK_SAME(a, b);
	cJSON_Delete(j);

	/* msg_bytes 0 means the protocol's default: the wire carries the size in effect */
	nb_cfg_defaults(&a, NB_TEST_STREAM);
	a.msg_bytes = 0;
	a.proto = NB_PROTO_UDP;
	j = nb_cfg_to_json(&a);
	CHECK_INT(nb_cfg_from_json(j, &b, err, sizeof(err)), 0);
	CHECK_INT(b.msg_bytes, NB_DEFAULT_UDP_MSG_BYTES);
	cJSON_Delete(j);
}

static void fill_sysinfo(struct nb_sysinfo *si, const char *host)
{
	set_str(si->hostname, sizeof(si->hostname), host);
	set_str(si->kernel, sizeof(si->kernel), "6.18.0-nb");
	set_str(si->boot_id, sizeof(si->boot_id), "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0");
	set_str(si->cpu_model, sizeof(si->cpu_model), "Intel(R) Xeon(R) Processor");
	si->ncpus = 48;
}

static void test_hello_ack_roundtrip(void)
{
	struct nb_hello_ack a, b;
	char err[160];
	memset(&a, 0xa5, sizeof(a));
	fill_sysinfo(&a.sysinfo, "responder-1");
	a.pid = 4242;
	cJSON *j = nb_hello_ack_to_json(&a);
	CHECK_INT(nb_hello_ack_from_json(j, &b, err, sizeof(err)), 0);
	CHECK_SAME(a, b);
	CHECK_INT(cJSON_GetArraySize(j), 2); /* sysinfo and pid: the version is the frame header's */
	cJSON_Delete(j);
}

/* A peer's words reach reports and terminals: control characters and escapes become '?'. */
static void test_sysinfo_printable(void)
{
	struct nb_sysinfo a, b;
	char err[160];
	memset(&a, 0, sizeof(a));
	fill_sysinfo(&a, "evil\x1b[2J\x07host");
	set_str(a.cpu_model, sizeof(a.cpu_model), "CPU\r\nnote: forged\x7f");
	cJSON *j = nb_sysinfo_to_json(&a);
	CHECK_INT(nb_sysinfo_from_json(j, &b, err, sizeof(err)), 0);
	CHECK_STR(b.hostname, "evil?[2J?host");
	CHECK_STR(b.cpu_model, "CPU??note: forged?");
	CHECK_STR(b.kernel, "6.18.0-nb");
	cJSON_Delete(j);
}

static void test_test_ack_roundtrip(void)
{
	struct nb_test_ack a, b;
	char err[160];
	memset(&a, 0xa5, sizeof(a));
	a.test_id = (1ULL << 52) + 5; /* the responder draws 52 bits */
	set_str(a.data_addr, sizeof(a.data_addr), "10.99.0.2");
	cJSON *j = nb_test_ack_to_json(&a);
	CHECK_INT(nb_test_ack_from_json(j, &b, err, sizeof(err)), 0);
	CHECK_SAME(a, b);
	cJSON_Delete(j);
}

static void test_path_roundtrip(void)
{
	struct nb_path_req a, b;
	struct nb_path_grant *g = calloc(2, sizeof(*g));
	char err[160];
	memset(&a, 0, sizeof(a));
	set_str(a.kind, sizeof(a.kind), "nat");
	a.for_ns = 12345678901LL;
	cJSON *j = nb_path_req_to_json(&a);
	CHECK_INT(nb_path_req_from_json(j, &b, err, sizeof(err)), 0);
	CHECK_SAME(a, b);
	/* a half for no time, or for longer than a test may last: refused, naming the key */
	cJSON_ReplaceItemInObject(j, "for_ns", cJSON_CreateNumber(0));
	CHECK_INT(nb_path_req_from_json(j, &b, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "for_ns") != NULL);
	cJSON_ReplaceItemInObject(j, "for_ns", cJSON_CreateNumber((double)NB_MAX_DURATION_NS + 1e9));
	CHECK_INT(nb_path_req_from_json(j, &b, err, sizeof(err)), -EINVAL);
	cJSON_DeleteItemFromObject(j, "for_ns");
	CHECK_INT(nb_path_req_from_json(j, &b, err, sizeof(err)), -EINVAL);
	cJSON_Delete(j);

	set_str(g[0].kind, sizeof(g[0].kind), "bridge");
	set_str(g[0].name, sizeof(g[0].name), "r1a2b3c4");
	set_str(g[0].dial_addr, sizeof(g[0].dial_addr), "172.31.78.2");
	g[0].dial_port = 40123;
	set_str(g[0].route_net, sizeof(g[0].route_net), "172.31.78.0/24");
	set_str(g[0].path_json, sizeof(g[0].path_json), "{\"kind\":\"bridge\",\"interfaces\":[1,2]}");
	j = nb_path_grant_to_json(&g[0]);
	CHECK_INT(nb_path_grant_from_json(j, &g[1], err, sizeof(err)), 0);
	CHECK(!memcmp(&g[0], &g[1], offsetof(struct nb_path_grant, path_json)));
	CHECK_STR(g[1].path_json, g[0].path_json);
	/* a port out of range, a path that is not an object: refused, naming the key */
	cJSON_ReplaceItemInObject(j, "dial_port", cJSON_CreateNumber(70000));
	CHECK_INT(nb_path_grant_from_json(j, &g[1], err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "dial_port") != NULL);
	cJSON_ReplaceItemInObject(j, "dial_port", cJSON_CreateNumber(1));
	cJSON_ReplaceItemInObject(j, "path", cJSON_CreateString("x"));
	CHECK_INT(nb_path_grant_from_json(j, &g[1], err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "path") != NULL);
	cJSON_Delete(j);
	free(g);
}

static void fill_cost(struct nb_cpu_cost *c, unsigned seed)
{
	set_str(c->source, sizeof(c->source), seed & 1 ? "perf" : "procstat");
	c->valid = true;
	c->wall_s = 10.25 + seed;
	c->ncpus = 8 + seed;
	c->tsc_hz = 2.3e9 + seed;
	c->busy_ns = 14640000001ULL + seed;
	c->user_ns = 3000000002ULL + seed;
	c->system_ns = 4000000003ULL + seed;
	c->irq_ns = 5000004ULL + seed;
	c->softirq_ns = 6000000005ULL + seed;
	c->cycles = 3.3e10 + seed;
	c->util = 0.5 + seed / 100.0;
	c->gen_ns = 7000000006ULL + seed;
	c->resp_ns = 8000000007ULL + seed;
	c->other_ns = 9000008ULL + seed;
	c->disturbed = true;
	c->cycles_per_byte = 0; /* derived by whoever knows the bytes: not carried */
	c->cycles_per_txn = 0;
}

/* Flow i's TCP state: every field at its limit (i % 3 == 0), an older kernel's without the newer fields
 * (1), or none (2: a flow without a kernel socket). */
static void fill_tcp(struct nb_tcpinfo *t, unsigned i)
{
	memset(t, 0, sizeof(*t));
	if (i % 3 == 2)
		return;
	t->valid = true;
	t->have = i % 3 ? NB_TCPINFO_PACING : NB_TCPINFO_ALL;
	t->retransmits = UINT32_MAX - i;
	t->cwnd_segs = UINT32_MAX;
	t->mss_bytes = UINT32_MAX - 1;
	t->cwnd_bytes = t->cwnd_segs * t->mss_bytes;
	t->srtt_us = UINT32_MAX;
	t->rttvar_us = 31 + i;
	t->pacing_rate_bps = (1ULL << 53) - i;
	if (i % 3 == 0) {
		t->delivery_rate_bps = 944000000ULL + i;
		t->reord_seen = UINT32_MAX;
		t->dsack_dups = i;
	}
}

static void fill_result(struct nb_result *r, unsigned n)
{
	memset(r, 0xa5, sizeof(*r));
	r->n_flows = n;
	for (unsigned i = 0; i < n; i++)
		r->flows[i] = (struct nb_result_flow){.bytes_sent = 1000 + i,
						      .msgs_sent = 2000 + i,
						      .bytes_rcvd = 3000 + i,
						      .msgs_rcvd = 4000 + i,
						      .reordered = 5 + i,
						      .window_bytes = (1ULL << 40) + i,
						      .window_ns = 9000000000LL + i};
	for (unsigned i = 0; i < n; i++)
		fill_tcp(&r->flows[i].tcp, i);
	memset(&r->flows[n], 0, sizeof(r->flows[0]) * (NB_MAX_FLOWS - n)); /* not carried: none */
	set_str(r->cpus, sizeof(r->cpus), "0,2-3");
	set_str(r->wait, sizeof(r->wait), "spin (dpdk poll)");
	set_str(r->error, sizeof(r->error),
		"flow 1: send: the receiver's port is closed: Connection refused");
	r->cpu_ns = 123456789012ULL;
	r->have_cost = true;
	fill_cost(&r->cost, 3);
	/* no interface (and the padding before them zeroed: gcc 12 does not clear it in a struct this big) */
	memset(&r->n_ifaces, 0, sizeof(*r) - offsetof(struct nb_result, n_ifaces));
}

/* n interfaces of the responder's, each with n_counters counters (the first one not counted when n > 1) and
 * every string as long as it may be. */
static void fill_result_ifaces(struct nb_result *r, unsigned n, unsigned n_counters)
{
	memset(r->ifaces, 0, sizeof(r->ifaces));
	r->n_ifaces = n;
	for (unsigned i = 0; i < n; i++) {
		struct nb_result_iface *f = &r->ifaces[i];
		struct nb_nic_id *d = &f->id;
		char tmp[64];
		snprintf(tmp, sizeof(tmp), "enp%us0f%u-long", 100 + i, i); /* 15 characters: the most */
		memcpy(d->name, tmp, sizeof(d->name) - 1);
		memset(d->netns, 'n', sizeof(d->netns) - 1);
		snprintf(d->driver, sizeof(d->driver), "%s", i ? "mlx5_core" : "veth");
		memset(d->driver_version, 'v', sizeof(d->driver_version) - 1);
		memset(d->firmware, 'f', sizeof(d->firmware) - 1);
		snprintf(d->bus, sizeof(d->bus), "0000:%02x:00.%u", 0x3b + i, i);
		d->speed_mbps = i ? 100000 : -1;
		snprintf(d->duplex, sizeof(d->duplex), "%s", i ? "full" : "");
		f->counted = !(i == 0 && n > 1);
		f->left_out = f->counted ? 17 * i : 0;
		for (unsigned k = 0; f->counted && k < n_counters; k++) {
			struct nb_nic_counter *c = &f->counters[f->n_counters++];
			snprintf(tmp, sizeof(tmp), "driver.rx_queue_%u_xdp_redirect_packets_%u", k, i);
			memset(c->name, 'x', sizeof(c->name) - 1); /* the longest name */
			memcpy(c->name, tmp, strlen(tmp));
			c->value = k % 2 ? -(1LL << 53) + k : (1LL << 53) - k;
		}
	}
}

static void test_result_roundtrip(void)
{
	static struct nb_result a, b;
	char err[160];
	fill_result(&a, 3);
	cJSON *j = nb_result_to_json(&a);
	CHECK_INT(nb_result_from_json(j, &b, err, sizeof(err)), 0);
	CHECK_SAME(a, b);
	cJSON_Delete(j);

	/* every flow there can be, no cost (no MEASURE) and no error: the key is left out */
	fill_result(&a, NB_MAX_FLOWS);
	a.have_cost = false;
	set_str(a.error, sizeof(a.error), "");
	memset(&a.cost, 0, sizeof(a.cost));
	j = nb_result_to_json(&a);
	CHECK(!cJSON_HasObjectItem(j, "cpu") && !cJSON_HasObjectItem(j, "error"));
	char *txt = cJSON_PrintUnformatted(j);
	CHECK(txt && strlen(txt) + NB_PROTO_HDR_BYTES <= NB_PROTO_MAX_BODY); /* fits one frame */
	free(txt);
	CHECK_INT(nb_result_from_json(j, &b, err, sizeof(err)), 0);
	CHECK_SAME(a, b);
	cJSON_Delete(j);

	/* the responder's interfaces: every one there can be, with every counter, still one frame (without
	 * the flows' TCP state, which the responder leaves out first when a RESULT would not fit) */
	fill_result_ifaces(&a, NB_RESULT_MAX_IFACES, NB_RESULT_MAX_COUNTERS);
	for (unsigned i = 0; i < NB_MAX_FLOWS; i++)
		memset(&a.flows[i].tcp, 0, sizeof(a.flows[i].tcp));
	j = nb_result_to_json(&a);
	txt = cJSON_PrintUnformatted(j);
	CHECK_MSG(txt && strlen(txt) + NB_PROTO_HDR_BYTES <= NB_PROTO_MAX_BODY, "%zu bytes",
		  txt ? strlen(txt) : 0);
	free(txt);
	CHECK_INT(nb_result_from_json(j, &b, err, sizeof(err)), 0);
	CHECK_SAME(a, b);
	CHECK(!b.ifaces[0].counted && b.ifaces[1].counted &&
	      b.ifaces[3].n_counters == NB_RESULT_MAX_COUNTERS);
	CHECK(b.ifaces[1].counters[1].value == -(1LL << 53) + 1 && b.ifaces[3].left_out == 51);
	cJSON_Delete(j);
	/* one counted with nothing changed */
	fill_result(&a, 1);
	fill_result_ifaces(&a, 1, 0);
	j = nb_result_to_json(&a);
	CHECK(cJSON_IsObject(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "ifaces"), 0), "counters")));
	CHECK_INT(nb_result_from_json(j, &b, err, sizeof(err)), 0);
	CHECK_SAME(a, b);
	cJSON_Delete(j);
}

/* What the responder puts in its RESULT passes the decoder: printable, named, distinct, bounded, the link
 * stats and the drops first. */
static void test_result_iface_set(void)
{
	static struct nb_result r, back;
	struct nb_nic_id id = {.name = "eth\x1b"
				       "0",
			       .netns = "ns\n1",
			       .driver = "drv\xff",
			       .speed_mbps = 1LL << 40,
			       .duplex = "odd"};
	struct nb_nic_counter c[NB_RESULT_MAX_COUNTERS + 10];
	unsigned n = 0;
	char err[256];

	for (unsigned k = 0; k < NB_RESULT_MAX_COUNTERS + 2; k++) { /* the driver's, not drops */
		snprintf(c[n].name, sizeof(c[n].name), "driver.q%u_packets", k);
		c[n++].value = k + 1;
	}
	c[n++] = (struct nb_nic_counter){"driver.q0_packets", 5}; /* repeated */
	c[n++] = (struct nb_nic_counter){"", 5};		  /* no name */
	c[n++] = (struct nb_nic_counter){"driver.rx_missed", 3};
	c[n++] = (struct nb_nic_counter){"rx_packets", 1LL << 60}; /* past 2^53 */
	c[n++] = (struct nb_nic_counter){"tx_\x01"
					 "err",
					 -7};
	struct nb_nic_snap d = {c, n};

	fill_result(&r, 1);
	nb_result_iface_set(&r.ifaces[0], &id, &d);
	nb_result_iface_set(&r.ifaces[1], &id, NULL);
	r.n_ifaces = 2;
	const struct nb_result_iface *f = &r.ifaces[0];
	CHECK_STR(f->id.name, "eth?0");
	CHECK_STR(f->id.netns, "ns?1");
	CHECK_STR(f->id.driver, "drv?");
	CHECK(f->id.speed_mbps == -1 && !f->id.duplex[0] && f->counted && !r.ifaces[1].counted);
	CHECK_INT(f->n_counters, NB_RESULT_MAX_COUNTERS);
	CHECK_STR(f->counters[0].name, "driver.rx_missed"); /* first pass: drops and link stats */
	CHECK_STR(f->counters[1].name, "rx_packets");
	CHECK(f->counters[1].value == 1LL << 53);
	CHECK_STR(f->counters[2].name, "tx_?err");
	CHECK_STR(f->counters[3].name, "driver.q0_packets");
	CHECK_INT(f->left_out,
		  5); /* the driver's 66 less the 61 that fit; the repeat and the nameless dropped */
	cJSON *j = nb_result_to_json(&r);
	CHECK_MSG(nb_result_from_json(j, &back, err, sizeof(err)) == 0, "%s", err);
	CHECK_SAME(r, back);
	cJSON_Delete(j);
}

static void test_cpu_cost_json(void)
{
	struct nb_cpu_cost a, b;
	struct nb_test_cfg st, rr;
	char err[160];
	memset(&a, 0xa5, sizeof(a));
	fill_cost(&a, 0);
	cJSON *j = nb_cpu_cost_to_json(&a, NULL);
	CHECK_INT(nb_cpu_cost_from_json(j, &b, err, sizeof(err)), 0);
	CHECK_SAME(a, b);
	/* the wire carries no derived figure; the report carries the one of its test kind */
	CHECK(!cJSON_HasObjectItem(j, "unattributed_ns") && !cJSON_HasObjectItem(j, "cycles_per_byte") &&
	      !cJSON_HasObjectItem(j, "cycles_per_transaction"));
	cJSON_Delete(j);
	nb_cfg_defaults(&st, NB_TEST_STREAM);
	nb_cfg_defaults(&rr, NB_TEST_RR);
	a.cycles_per_byte = 1.5;
	a.cycles_per_txn = 7000;
	j = nb_cpu_cost_to_json(&a, &st);
	CHECK(nb_json_num(j, "cycles_per_byte", 0) == 1.5 &&
	      !cJSON_HasObjectItem(j, "cycles_per_transaction"));
	CHECK(nb_json_num(j, "unattributed_ns", -1) == (double)nb_cpu_cost_unattributed_ns(&a));
	cJSON_Delete(j);
	j = nb_cpu_cost_to_json(&a, &rr);
	CHECK(nb_json_num(j, "cycles_per_transaction", 0) == 7000 &&
	      !cJSON_HasObjectItem(j, "cycles_per_byte"));
	cJSON_Delete(j);
}

/* ---- bad input: every key of every typed body missing, of the wrong type, or out of range ---- */

typedef int (*decode_fn)(const cJSON *j, void *ret, char *err, size_t errlen);

static int dec_cfg(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_cfg_from_json(j, ret, err, errlen);
}
static int dec_hello_ack(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_hello_ack_from_json(j, ret, err, errlen);
}
static int dec_test_ack(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_test_ack_from_json(j, ret, err, errlen);
}
static int dec_result(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_result_from_json(j, ret, err, errlen);
}
static int dec_cost(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_cpu_cost_from_json(j, ret, err, errlen);
}
static int dec_sysinfo(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_sysinfo_from_json(j, ret, err, errlen);
}

static bool in_list(const char *const *list, const char *key)
{
	for (; list && *list; list++)
		if (!strcmp(*list, key))
			return true;
	return false;
}

/* good with key's value replaced by v (NULL: the key removed); the decoder must refuse it and name key */
static void refuse_with(const char *what, const cJSON *good, const char *key, cJSON *v, const char *how,
			decode_fn dec, void *out)
{
	char err[256] = "";
	cJSON *bad = cJSON_Duplicate(good, true);
	if (v)
		cJSON_ReplaceItemInObjectCaseSensitive(bad, key, v);
	else
		cJSON_DeleteItemFromObjectCaseSensitive(bad, key);
	int r = dec(bad, out, err, sizeof(err));
	CHECK_MSG(r == -EINVAL, "%s with %s %s: decoded (%d)", what, key, how, r);
	CHECK_MSG(r != -EINVAL || strstr(err, key), "%s with %s %s: the message '%s' does not name it", what,
		  key, how, err);
	cJSON_Delete(bad);
}

/* For every key of good: missing (unless optional), another type, and for numbers -1e300, and for
 * integers (every number not in doubles) 1e300 and 0.5. */
static void refuse_each_key(const char *what, cJSON *good, decode_fn dec, void *out,
			    const char *const *doubles, const char *const *optional)
{
	char err[256];
	const cJSON *it;
	CHECK_MSG(dec(good, out, err, sizeof(err)) == 0, "%s: the good body is refused: %s", what, err);
	cJSON_ArrayForEach(it, good)
	{
		const char *k = it->string;
		if (!in_list(optional, k))
			refuse_with(what, good, k, NULL, "missing", dec, out);
		refuse_with(what, good, k,
			    cJSON_IsString(it) ? cJSON_CreateNumber(1) : cJSON_CreateString("1"),
			    "of another type", dec, out);
		if (!cJSON_IsNumber(it))
			continue;
		refuse_with(what, good, k, cJSON_CreateNumber(-1e300), "-1e300", dec, out);
		if (in_list(doubles, k))
			continue;
		refuse_with(what, good, k, cJSON_CreateNumber(1e300), "1e300", dec, out);
		refuse_with(what, good, k, cJSON_CreateNumber(0.5), "0.5", dec, out);
	}
	/* not an object at all */
	cJSON *arr = cJSON_CreateArray();
	CHECK_INT(dec(arr, out, err, sizeof(err)), -EINVAL);
	CHECK_INT(dec(NULL, out, err, sizeof(err)), -EINVAL);
	cJSON_Delete(arr);
}

/* A result whose interface 1 has key set to v (NULL: removed); the decoder must refuse it and say where. */
static void refuse_iface(const cJSON *good, const char *key, cJSON *v, const char *how)
{
	static struct nb_result res;
	char err[256] = "";
	cJSON *bad = cJSON_Duplicate(good, true);
	cJSON *f = cJSON_GetArrayItem(cJSON_GetObjectItem(bad, "ifaces"), 1);
	if (v)
		cJSON_ReplaceItemInObjectCaseSensitive(f, key, v);
	else
		cJSON_DeleteItemFromObjectCaseSensitive(f, key);
	int r = nb_result_from_json(bad, &res, err, sizeof(err));
	CHECK_MSG(r == -EINVAL, "interface with %s %s: decoded (%d)", key, how, r);
	CHECK_MSG(r != -EINVAL || (strstr(err, "interface 1") && strstr(err, key)),
		  "interface with %s %s: the message '%s' does not name it", key, how, err);
	cJSON_Delete(bad);
}

/* A result whose flow 0 has "tcp" set to v (a JSON text); the decoder must refuse it (ok false) and name the
 * flow and the key, or take it (ok true) into ret's flow 0. */
static void try_tcp(const cJSON *good, const char *v, bool ok, struct nb_result *ret)
{
	char err[256] = "";
	cJSON *bad = cJSON_Duplicate(good, true);
	cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItem(bad, "flows"), 0),
					       "tcp", cJSON_Parse(v));
	int r = nb_result_from_json(bad, ret, err, sizeof(err));
	if (ok)
		CHECK_MSG(r == 0, "tcp %s refused: %s", v, err);
	else
		CHECK_MSG(r == -EINVAL && strstr(err, "flow 0") && strstr(err, "tcp"),
			  "tcp %s: %d, message '%s'", v, r, err);
	cJSON_Delete(bad);
}

/* A flow's TCP state: optional, an array of its figures within their ranges, extra elements ignored. */
static void bad_result_tcp(void)
{
	static struct nb_result res;
	const char *const refused[] = {"null",
				       "{}",
				       "1",
				       "\"1\"",
				       "[1,2,3,4,5,6,7,8]",
				       "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]",
				       "[-1,2,3,4,5,6,7,8,9]",
				       "[0.5,2,3,4,5,6,7,8,9]",
				       "[4294967296,2,3,4,5,6,7,8,9]",
				       "[null,2,3,4,5,6,7,8,9]",
				       "[1,\"2\",3,4,5,6,7,8,9]",
				       "[1,2,3,4,4294967296,6,7,8,9]",
				       "[1,2,3,4,5,9007199254740994,7,8,9]",
				       "[1,2,3,4,5,6,-7,8,9]",
				       "[1,2,3,4,5,6,7,null,9]",
				       "[1,2,3,4,5,6,7,8,null]",
				       "[1,2,3,4,5,6,7,8,1e300]"};

	fill_result(&res, 3);
	cJSON *j = nb_result_to_json(&res);
	/* flow 2 has no kernel socket: no key */
	CHECK(!cJSON_HasObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "flows"), 2), "tcp"));
	CHECK(cJSON_IsNull(cJSON_GetArrayItem(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "flows"), 1), "tcp"), 6)));
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		try_tcp(j, refused[i], false, &res);
	/* the largest figures; the newer fields unknown; a later version's extra elements */
	try_tcp(j, "[4294967295,4294967295,4294967295,4294967295,4294967295,9007199254740992,0,4294967295,0]",
		true, &res);
	CHECK(res.flows[0].tcp.valid && res.flows[0].tcp.have == NB_TCPINFO_ALL);
	CHECK_U64(res.flows[0].tcp.cwnd_bytes, 4294967295ULL * 4294967295ULL);
	CHECK_U64(res.flows[0].tcp.pacing_rate_bps, 1ULL << 53);
	try_tcp(j, "[1,2,3,4,5,null,null,null,null]", true, &res);
	CHECK(res.flows[0].tcp.valid && res.flows[0].tcp.have == 0 && res.flows[0].tcp.cwnd_bytes == 6);
	try_tcp(j, "[1,2,3,4,5,6,7,8,9,10,\"later\",{}]", true, &res);
	CHECK(res.flows[0].tcp.have == NB_TCPINFO_ALL && res.flows[0].tcp.dsack_dups == 9);
	CHECK(!res.flows[2].tcp.valid);
	cJSON_Delete(j);
}

/* Every key of an interface missing or mistyped, the strings' and numbers' limits, too many of anything. */
static void bad_result_ifaces(void)
{
	static struct nb_result res;
	char err[256], long_name[NB_NIC_NAME_MAX + 1];
	const cJSON *it;

	fill_result(&res, 1);
	fill_result_ifaces(&res, 2, 3);
	cJSON *j = nb_result_to_json(&res);
	cJSON *f1 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "ifaces"), 1);
	cJSON_ArrayForEach(it, f1)
	{
		refuse_iface(j, it->string, NULL, "missing");
		refuse_iface(j, it->string,
			     cJSON_IsString(it) ? cJSON_CreateNumber(1) : cJSON_CreateString("1"),
			     "of another type");
	}
	refuse_iface(j, "name", cJSON_CreateString(""), "empty");
	refuse_iface(j, "name", cJSON_CreateString("a/b"), "with a slash");
	refuse_iface(j, "name", cJSON_CreateString("abcdefghijklmnop"), "of 16 characters");
	refuse_iface(j, "driver", cJSON_CreateString("ve\x1b[2Jth"), "with an escape");
	refuse_iface(j, "firmware", cJSON_CreateString("caf\xc3\xa9"), "not ASCII");
	refuse_iface(j, "duplex", cJSON_CreateString("both"), "unknown");
	refuse_iface(j, "speed_mbps", cJSON_CreateNumber(-2), "-2");
	refuse_iface(j, "speed_mbps", cJSON_CreateNumber(0.5), "0.5");
	refuse_iface(j, "left_out", cJSON_CreateNumber(-1), "-1");
	refuse_iface(j, "counters", cJSON_CreateArray(), "an array");
	cJSON *c = cJSON_Parse("{\"rx_packets\": 0.5}");
	refuse_iface(j, "counters", c, "with 0.5");
	refuse_iface(j, "counters", cJSON_Parse("{\"rx_packets\": 9007199254740994}"), "past 2^53");
	refuse_iface(j, "counters", cJSON_Parse("{\"rx_packets\": \"1\"}"), "with a string");
	refuse_iface(j, "counters", cJSON_Parse("{\"\": 1}"), "with no name");
	refuse_iface(j, "counters", cJSON_Parse("{\"rx\\u001b\": 1}"), "with an escape in a name");
	refuse_iface(j, "counters", cJSON_Parse("{\"a\": 1, \"a\": 2}"), "with a name twice");
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	c = cJSON_CreateObject();
	cJSON_AddNumberToObject(c, long_name, 1);
	refuse_iface(j, "counters", c, "with a name too long");
	c = cJSON_CreateObject();
	for (unsigned k = 0; k <= NB_RESULT_MAX_COUNTERS; k++) {
		char name[16];
		snprintf(name, sizeof(name), "c%u", k);
		cJSON_AddNumberToObject(c, name, k);
	}
	refuse_iface(j, "counters", c, "past the limit");
	/* more interfaces than a result carries, or one that is not an object */
	cJSON *bad = cJSON_Duplicate(j, true), *ifs = cJSON_GetObjectItem(bad, "ifaces");
	while (cJSON_GetArraySize(ifs) <= NB_RESULT_MAX_IFACES)
		cJSON_AddItemToArray(ifs, cJSON_Duplicate(cJSON_GetArrayItem(ifs, 1), true));
	CHECK_INT(nb_result_from_json(bad, &res, err, sizeof(err)), -EINVAL);
	CHECK_MSG(strstr(err, "ifaces"), "message: %s", err);
	cJSON_Delete(bad);
	bad = cJSON_Duplicate(j, true);
	cJSON_AddItemToArray(cJSON_GetObjectItem(bad, "ifaces"), cJSON_CreateNumber(1));
	CHECK_INT(nb_result_from_json(bad, &res, err, sizeof(err)), -EINVAL);
	cJSON_Delete(bad);
	/* null counters: not counted, accepted */
	CHECK_INT(nb_result_from_json(j, &res, err, sizeof(err)), 0);
	CHECK(!res.ifaces[0].counted && res.ifaces[1].counted && res.ifaces[1].n_counters == 3);
	cJSON_Delete(j);
}

static void test_bad_bodies(void)
{
	static const char *const cfg_doubles[] = {"rate_tps", "rate_bps", NULL};
	static const char *const cost_doubles[] = {"wall_s", "tsc_hz", "util", "cycles", NULL};
	static const char *const result_optional[] = {"cpu", "error", "ifaces", NULL};
	static struct nb_result res;
	struct nb_test_cfg cfg;
	struct nb_hello_ack ha;
	struct nb_test_ack ta;
	struct nb_cpu_cost cost;
	struct nb_sysinfo si;
	char err[256];

	fill_cfg(&cfg);
	cJSON *j = nb_cfg_to_json(&cfg);
	refuse_each_key("settings", j, dec_cfg, &cfg, cfg_doubles, NULL);
	refuse_with("settings", j, "kind", cJSON_CreateString("sctp_rr"), "unknown", dec_cfg, &cfg);
	refuse_with("settings", j, "wait", cJSON_CreateString("doze"), "unknown", dec_cfg, &cfg);
	refuse_with("settings", j, "port", cJSON_CreateNumber(65536), "65536", dec_cfg, &cfg);
	refuse_with("settings", j, "depth", cJSON_CreateNumber(-3), "-3", dec_cfg, &cfg);
	refuse_with("settings", j, "cpu_resp", cJSON_CreateNumber(-2), "-2", dec_cfg, &cfg);
	char longname[300];
	memset(longname, 'h', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	refuse_with("settings", j, "host", cJSON_CreateString(longname), "too long", dec_cfg, &cfg);
	cJSON_Delete(j);

	memset(&ha, 0, sizeof(ha));
	fill_sysinfo(&ha.sysinfo, "r");
	ha.pid = 7;
	j = nb_hello_ack_to_json(&ha);
	refuse_each_key("hello ack", j, dec_hello_ack, &ha, NULL, NULL);
	cJSON_Delete(j);
	j = nb_sysinfo_to_json(&ha.sysinfo);
	refuse_each_key("sysinfo", j, dec_sysinfo, &si, NULL, NULL);
	cJSON_Delete(j);

	ta = (struct nb_test_ack){.test_id = 99};
	j = nb_test_ack_to_json(&ta);
	refuse_each_key("test ack", j, dec_test_ack, &ta, NULL, NULL);
	refuse_with("test ack", j, "test_id", cJSON_CreateNumber(0), "0", dec_test_ack, &ta);
	refuse_with("test ack", j, "test_id", cJSON_CreateNumber(9007199254740992.0), "2^53", dec_test_ack,
		    &ta);
	cJSON_Delete(j);

	memset(&cost, 0, sizeof(cost));
	fill_cost(&cost, 1);
	j = nb_cpu_cost_to_json(&cost, NULL);
	refuse_each_key("cpu", j, dec_cost, &cost, cost_doubles, NULL);
	cJSON_Delete(j);

	fill_result(&res, 2);
	fill_result_ifaces(&res, 2, 3);
	j = nb_result_to_json(&res);
	refuse_each_key("result", j, dec_result, &res, NULL, result_optional);
	/* a bad key inside a flow or inside the cost is refused too */
	cJSON *bad = cJSON_Duplicate(j, true);
	cJSON_ReplaceItemInObject(cJSON_GetArrayItem(cJSON_GetObjectItem(bad, "flows"), 1), "bytes_rcvd",
				  cJSON_CreateNumber(1e300));
	CHECK_INT(nb_result_from_json(bad, &res, err, sizeof(err)), -EINVAL);
	CHECK_MSG(strstr(err, "flow 1") && strstr(err, "bytes_rcvd"), "message: %s", err);
	cJSON_Delete(bad);
	bad = cJSON_Duplicate(j, true);
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(bad, "cpu"), "busy_ns");
	CHECK_INT(nb_result_from_json(bad, &res, err, sizeof(err)), -EINVAL);
	CHECK_MSG(strstr(err, "cpu") && strstr(err, "busy_ns"), "message: %s", err);
	cJSON_Delete(bad);
	bad = cJSON_Duplicate(j, true);
	cJSON_AddItemToArray(cJSON_GetObjectItem(bad, "flows"), cJSON_CreateString("flow"));
	CHECK_INT(nb_result_from_json(bad, &res, err, sizeof(err)), -EINVAL);
	cJSON_Delete(bad);
	cJSON_Delete(j);
	bad_result_ifaces();
	bad_result_tcp();
	j = nb_result_to_json(&res);
	/* more flows than a test can have */
	bad = cJSON_Duplicate(j, true);
	cJSON *fl = cJSON_GetObjectItem(bad, "flows");
	while (cJSON_GetArraySize(fl) <= NB_MAX_FLOWS)
		cJSON_AddItemToArray(fl, cJSON_Duplicate(cJSON_GetArrayItem(fl, 0), true));
	CHECK_INT(nb_result_from_json(bad, &res, err, sizeof(err)), -EINVAL);
	cJSON_Delete(bad);
	cJSON_Delete(j);
}

static int dec_data_hello(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_data_hello_from_json(j, ret, err, errlen);
}
static int dec_data_ack(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_data_ack_from_json(j, ret, err, errlen);
}

/* DATA_HELLO and DATA_ACK: round trip, every key refused out of range, and whole frames checked against
 * their own length (a datagram longer or shorter than its header says is not a hello). */
static void test_data_hello(void)
{
	struct nb_data_hello h = {.test_id = (1ULL << 52) - 1,
				  /* the responder's ids: 52 bits */ .flow = NB_MAX_FLOWS - 1},
			     back;
	nb_auth_token_new(h.token);
	struct nb_data_ack a = {.ack = 1}, aback;
	unsigned char buf[512];
	char err[256];

	ssize_t n = nb_data_hello_encode(buf, sizeof(buf), &h);
	CHECK(n > NB_PROTO_HDR_BYTES);
	CHECK_INT(nb_data_hello_decode(buf, (size_t)n, &back, err, sizeof(err)), 0);
	CHECK(back.test_id == h.test_id && back.flow == h.flow &&
	      !memcmp(back.token, h.token, sizeof(h.token)));
	/* one byte short, one byte long (a trailing byte the header does not count), a truncated header */
	CHECK_INT(nb_data_hello_decode(buf, (size_t)n - 1, &back, err, sizeof(err)), -EMSGSIZE);
	buf[n] = ' ';
	CHECK_INT(nb_data_hello_decode(buf, (size_t)n + 1, &back, err, sizeof(err)), -EMSGSIZE);
	CHECK_INT(nb_data_hello_decode(buf, 5, &back, err, sizeof(err)), -EBADMSG);
	/* another type of frame */
	cJSON *j = nb_data_ack_to_json(&a);
	ssize_t m = nb_frame_encode_json(buf + 256, 256, NB_MSG_DATA_ACK, j);
	CHECK(m > 0);
	CHECK_INT(nb_data_hello_decode(buf + 256, (size_t)m, &back, err, sizeof(err)), -EPROTO);
	cJSON_Delete(j);
	/* a body too large for the buffer is refused by the encoder */
	CHECK_INT(nb_data_hello_encode(buf, 20, &h), -EMSGSIZE);

	j = nb_data_hello_to_json(&h);
	refuse_each_key("data hello", j, dec_data_hello, &back, NULL, NULL);
	refuse_with("data hello", j, "test_id", cJSON_CreateNumber(0), "0", dec_data_hello, &back);
	refuse_with("data hello", j, "test_id", cJSON_CreateNumber(9007199254740992.0), "2^53",
		    dec_data_hello, &back);
	refuse_with("data hello", j, "flow", cJSON_CreateNumber(NB_MAX_FLOWS), "NB_MAX_FLOWS", dec_data_hello,
		    &back);
	refuse_with("data hello", j, "token", cJSON_CreateString("abc"), "not its hex", dec_data_hello,
		    &back);
	cJSON_Delete(j);

	j = nb_data_ack_to_json(&a);
	CHECK_INT(nb_data_ack_from_json(j, &aback, err, sizeof(err)), 0);
	CHECK_INT(aback.ack, 1);
	refuse_each_key("data ack", j, dec_data_ack, &aback, NULL, NULL);
	refuse_with("data ack", j, "ack", cJSON_CreateNumber(2), "2", dec_data_ack, &aback);
	cJSON_Delete(j);
}

static int dec_ctrl_hello(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_ctrl_hello_from_json(j, ret, err, errlen);
}
static int dec_challenge(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_challenge_from_json(j, ret, err, errlen);
}
static int dec_auth(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_auth_from_json(j, ret, err, errlen);
}

/* The key's handshake bodies: round trips (a keyless HELLO has no nonce), and every hex field refused when
 * it is not exactly its bytes' digits. */
static void test_auth_bodies(void)
{
	struct nb_ctrl_hello h = {.keyed = true}, hb;
	struct nb_challenge c, cb;
	struct nb_auth a, ab;
	char err[256];

	nb_auth_nonce(h.nonce);
	set_str(h.data_src, sizeof(h.data_src), "10.211.0.11");
	cJSON *j = nb_ctrl_hello_to_json(&h);
	CHECK_INT(nb_ctrl_hello_from_json(j, &hb, err, sizeof(err)), 0);
	CHECK_SAME(h, hb);
	static const char *const hello_optional[] = {"nonce", "data_src", NULL};
	refuse_each_key("hello", j, dec_ctrl_hello, &hb, NULL, hello_optional);
	refuse_with("hello", j, "nonce", cJSON_CreateString("00ff"), "short", dec_ctrl_hello, &hb);
	char odd[2 * NB_AUTH_NONCE_BYTES + 1];
	memset(odd, 'g', sizeof(odd) - 1);
	odd[sizeof(odd) - 1] = '\0';
	refuse_with("hello", j, "nonce", cJSON_CreateString(odd), "not hex", dec_ctrl_hello, &hb);
	cJSON_Delete(j);
	/* a keyless client's hello: no nonce, and decoded as keyless */
	struct nb_ctrl_hello k = {.keyed = false};
	j = nb_ctrl_hello_to_json(&k);
	CHECK(!cJSON_GetObjectItem(j, "nonce"));
	CHECK_INT(nb_ctrl_hello_from_json(j, &hb, err, sizeof(err)), 0);
	CHECK(!hb.keyed);
	cJSON_Delete(j);

	nb_auth_nonce(c.nonce);
	nb_auth_nonce(c.proof);
	j = nb_challenge_to_json(&c);
	CHECK_INT(nb_challenge_from_json(j, &cb, err, sizeof(err)), 0);
	CHECK_SAME(c, cb);
	refuse_each_key("challenge", j, dec_challenge, &cb, NULL, NULL);
	refuse_with("challenge", j, "proof", cJSON_CreateString(odd), "not hex", dec_challenge, &cb);
	cJSON_Delete(j);

	nb_auth_nonce(a.proof);
	j = nb_auth_to_json(&a);
	CHECK_INT(nb_auth_from_json(j, &ab, err, sizeof(err)), 0);
	CHECK_SAME(a, ab);
	refuse_each_key("auth", j, dec_auth, &ab, NULL, NULL);
	refuse_with("auth", j, "proof", cJSON_CreateString("00"), "short", dec_auth, &ab);
	cJSON_Delete(j);
}

/* A peer's text quoted in a message: one line, no escape sequences. */
static void test_printable(void)
{
	char buf[64];
	CHECK_STR(nb_printable("ok \x1b[2Jx\n\\", buf, sizeof(buf)), "ok \\x1b[2Jx\\x0a\\x5c");
	CHECK_INT((int)strlen(nb_printable("\x01\x02\x03\x04\x05\x06", buf, 12)), 8); /* cut to fit */
}

/* The lenient getters never convert what does not fit. */
static void test_lenient(void)
{
	cJSON *j = cJSON_Parse("{\"big\": 1e300, \"neg\": -1e300, \"half\": 0.5, \"ok\": -7, \"s\": 3}");
	CHECK_INT(nb_json_i64(j, "big", 11), 11);
	CHECK_INT(nb_json_i64(j, "neg", 12), 12);
	CHECK_INT(nb_json_i64(j, "half", 13), 13);
	CHECK_INT(nb_json_i64(j, "ok", 0), -7);
	CHECK(nb_json_str(j, "s", NULL) == NULL);
	cJSON_Delete(j);
}

int main(void)
{
	test_roundtrip();
	test_bad_headers();
	test_recv();
	test_chan_mac();
	test_cfg_roundtrip();
	test_hello_ack_roundtrip();
	test_sysinfo_printable();
	test_test_ack_roundtrip();
	test_path_roundtrip();
	test_result_roundtrip();
	test_result_iface_set();
	test_cpu_cost_json();
	test_bad_bodies();
	test_lenient();
	test_data_hello();
	test_auth_bodies();
	test_printable();
	return tap_status("proto");
}
