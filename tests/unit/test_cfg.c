/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <unistd.h>

#include "nbench/cfg.h"
#include "tap.h"

/* The check fails with -EINVAL and a one-line message that contains `needle` (the option's name). */
#define CHECK_BAD(cfg, needle)                                                                               \
	do {                                                                                                 \
		char err_[256] = "untouched";                                                                \
		int r_ = nb_cfg_check(&(cfg), err_, sizeof(err_));                                           \
		CHECK_MSG(r_ == -EINVAL, "nb_cfg_check = %d, want -EINVAL (expected a complaint about %s)",  \
			  r_, needle);                                                                       \
		CHECK_MSG(strstr(err_, needle) && !strchr(err_, '\n'), "message \"%s\" should name %s",      \
			  err_, needle);                                                                     \
	} while (0)

#define CHECK_GOOD(cfg)                                                                                      \
	do {                                                                                                 \
		char err_[256] = "";                                                                         \
		int r_ = nb_cfg_check(&(cfg), err_, sizeof(err_));                                           \
		CHECK_MSG(r_ == 0, "nb_cfg_check = %d, want 0: \"%s\"", r_, err_);                           \
	} while (0)

static struct nb_test_cfg def(enum nb_test_kind kind, enum nb_proto proto)
{
	struct nb_test_cfg c;
	nb_cfg_defaults(&c, kind);
	c.proto = proto;
	return c;
}

static void test_defaults(void)
{
	struct nb_test_cfg c;

	nb_cfg_defaults(&c, NB_TEST_STREAM);
	CHECK_INT(c.kind, NB_TEST_STREAM);
	CHECK_INT(c.proto, NB_PROTO_TCP);
	CHECK_STR(c.engine, "sock");
	CHECK_INT(c.port, NB_DEFAULT_PORT);
	CHECK_INT(c.duration_ns, 10000000000LL);
	CHECK_INT(c.warmup_ns, 0);
	CHECK_INT(c.interval_ns, 1000000000LL);
	CHECK_INT(c.flows, 1);
	CHECK_INT(c.depth, 1);
	CHECK_INT(c.cpu_gen, -1);
	CHECK_INT(c.cpu_resp, -1);
	CHECK_INT(c.wait, NB_WAIT_BLOCK);
	CHECK_INT(c.busy_poll_us, 0);
	CHECK_INT(c.udp_timeout_ns, 200000000LL);
	CHECK(c.rate_tps == 0);
	CHECK(!c.reverse);
	CHECK(!c.nodelay);
	CHECK_INT(c.msg_bytes, 0);
	CHECK_INT(nb_cfg_msg_bytes(&c), 128 * 1024);
	CHECK_GOOD(c);
	c.proto = NB_PROTO_UDP;
	CHECK_INT(nb_cfg_msg_bytes(&c), 1472);
	CHECK_GOOD(c);
	nb_cfg_resolve(&c);
	CHECK_INT(c.msg_bytes, 1472);
	CHECK_GOOD(c);
	c.proto = NB_PROTO_TCP; /* a size given by the user (or resolved) stays */
	CHECK_INT(nb_cfg_msg_bytes(&c), 1472);

	nb_cfg_defaults(&c, NB_TEST_RR);
	CHECK_INT(c.kind, NB_TEST_RR);
	CHECK_INT(c.req_bytes, 100);
	CHECK_INT(c.resp_bytes, 200);
	CHECK(c.nodelay);
	CHECK_GOOD(c);
	c.proto = NB_PROTO_UDP;
	CHECK_GOOD(c);

	nb_cfg_defaults(&c, NB_TEST_CRR);
	CHECK(c.nodelay);
	CHECK_GOOD(c);
}

static void test_limits(void)
{
	struct nb_test_cfg c;

	c = def(NB_TEST_STREAM, NB_PROTO_TCP);
	c.msg_bytes = NB_MAX_MSG_BYTES;
	CHECK_GOOD(c);
	c.msg_bytes = NB_MAX_MSG_BYTES + 1;
	CHECK_BAD(c, "--msg-size");
	c.msg_bytes = 1;
	CHECK_GOOD(c);

	c = def(NB_TEST_STREAM, NB_PROTO_UDP);
	c.msg_bytes = NB_MAX_UDP_BYTES;
	CHECK_GOOD(c);
	c.msg_bytes = NB_MAX_UDP_BYTES + 1;
	CHECK_BAD(c, "--msg-size");
	c.msg_bytes = NB_UDP_HDR_BYTES;
	CHECK_GOOD(c);
	c.msg_bytes = NB_UDP_HDR_BYTES - 1; /* no room for the sequence number */
	CHECK_BAD(c, "--msg-size");

	c = def(NB_TEST_RR, NB_PROTO_TCP);
	c.req_bytes = 0;
	CHECK_BAD(c, "request");
	c = def(NB_TEST_RR, NB_PROTO_TCP);
	c.resp_bytes = NB_MAX_MSG_BYTES + 1;
	CHECK_BAD(c, "response");
	c = def(NB_TEST_RR, NB_PROTO_UDP);
	c.req_bytes = 1;
	CHECK_BAD(c, "request");
	c = def(NB_TEST_RR, NB_PROTO_UDP);
	c.resp_bytes = 70000;
	CHECK_BAD(c, "response");
	c = def(NB_TEST_RR, NB_PROTO_TCP);
	c.req_bytes = 1;
	c.resp_bytes = 1;
	CHECK_GOOD(c);

	c = def(NB_TEST_STREAM, NB_PROTO_TCP);
	c.port = 0;
	CHECK_BAD(c, "--port");

	c = def(NB_TEST_STREAM, NB_PROTO_TCP);
	c.flows = 0;
	CHECK_BAD(c, "-P");
	c.flows = NB_MAX_FLOWS + 1;
	CHECK_BAD(c, "-P");
	c.flows = NB_MAX_FLOWS;
	CHECK_GOOD(c);

	c = def(NB_TEST_STREAM, NB_PROTO_TCP);
	c.duration_ns = 0;
	CHECK_BAD(c, "-t");
	c.duration_ns = -1;
	CHECK_BAD(c, "-t");
	c.duration_ns = NB_MAX_DURATION_NS + 1;
	CHECK_BAD(c, "-t");
	c.duration_ns = NB_MAX_DURATION_NS;
	CHECK_GOOD(c);

	c = def(NB_TEST_STREAM, NB_PROTO_TCP);
	c.warmup_ns = -1;
	CHECK_BAD(c, "--warmup");
	c.warmup_ns = NB_MAX_DURATION_NS + 1;
	CHECK_BAD(c, "--warmup");
	c = def(NB_TEST_STREAM, NB_PROTO_TCP);
	c.interval_ns = -5;
	CHECK_BAD(c, "-i");
	c.interval_ns = 0;
	CHECK_GOOD(c);

	c = def(NB_TEST_RR, NB_PROTO_TCP);
	c.depth = 0;
	CHECK_BAD(c, "--depth");
	c.depth = NB_MAX_DEPTH + 1;
	CHECK_BAD(c, "--depth");
	c.depth = NB_MAX_DEPTH;
	CHECK_GOOD(c);

	c = def(NB_TEST_RR, NB_PROTO_TCP);
	c.rate_tps = -1;
	CHECK_BAD(c, "--rate");
	c.rate_tps = NAN;
	CHECK_BAD(c, "--rate");
	c.rate_tps = INFINITY;
	CHECK_BAD(c, "--rate");
	c.rate_tps = 1000;
	CHECK_GOOD(c);
	c.depth = 16; /* open loop with a cap on what is in flight */
	CHECK_GOOD(c);

	c = def(NB_TEST_RR, NB_PROTO_UDP);
	c.udp_timeout_ns = 0;
	CHECK_BAD(c, "--udp-timeout");
	c = def(NB_TEST_RR, NB_PROTO_TCP);
	c.udp_timeout_ns = 0; /* not used by TCP */
	CHECK_GOOD(c);

	c = def(NB_TEST_STREAM, NB_PROTO_TCP);
	c.busy_poll_us = -1;
	CHECK_BAD(c, "--busy-poll");
	c.busy_poll_us = NB_MAX_BUSY_POLL_US + 1;
	CHECK_BAD(c, "--busy-poll");
	c.busy_poll_us = NB_MAX_BUSY_POLL_US;
	CHECK_GOOD(c);

	c = def(NB_TEST_STREAM, NB_PROTO_TCP);
	c.engine[0] = '\0';
	CHECK_BAD(c, "--engine");
}

static void test_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);
	struct nb_test_cfg c = def(NB_TEST_RR, NB_PROTO_TCP);
	char err[256];

	c.cpu_gen = 0;
	CHECK_GOOD(c);
	c.cpu_gen = (int)n - 1;
	CHECK_GOOD(c);
	c.cpu_gen = (int)n;
	CHECK_BAD(c, "--cpu-gen");
	c.cpu_gen = -2;
	CHECK_BAD(c, "--cpu-gen");

	c = def(NB_TEST_RR, NB_PROTO_TCP);
	c.cpu_resp = -2;
	CHECK_BAD(c, "--cpu-resp");
	c.cpu_resp = 100000;
	CHECK_BAD(c, "--cpu-resp");
	/* a remote responder may have more CPUs than this machine: only it can tell, and does */
	c.cpu_resp = (int)n;
	CHECK_GOOD(c);
	CHECK_INT(nb_cfg_check_responder(&c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "--cpu-resp") != NULL);
	c.cpu_resp = (int)n - 1;
	CHECK_INT(nb_cfg_check_responder(&c, err, sizeof(err)), 0);
	c.cpu_resp = -1;
	CHECK_INT(nb_cfg_check_responder(&c, err, sizeof(err)), 0);

	/* the responder: the generator's CPU is not its business, its own CPU is checked against itself */
	c = def(NB_TEST_RR, NB_PROTO_TCP);
	c.cpu_gen = 100000;
	CHECK_BAD(c, "--cpu-gen");
	CHECK_INT(nb_cfg_check_responder(&c, err, sizeof(err)), 0);
	c.cpu_resp = (int)n;
	CHECK_INT(nb_cfg_check_responder(&c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "--cpu-resp") != NULL);
	c.cpu_resp = 0;
	c.depth = 0; /* every other limit still applies */
	CHECK_INT(nb_cfg_check_responder(&c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "--depth") != NULL);
}

static void test_combinations(void)
{
	struct nb_test_cfg c;

	c = def(NB_TEST_CRR, NB_PROTO_UDP);
	CHECK_BAD(c, "crr");

	c = def(NB_TEST_RR, NB_PROTO_TCP);
	c.reverse = true;
	CHECK_BAD(c, "--reverse");
	c = def(NB_TEST_CRR, NB_PROTO_TCP);
	c.reverse = true;
	CHECK_BAD(c, "--reverse");
	c = def(NB_TEST_STREAM, NB_PROTO_TCP);
	c.reverse = true;
	CHECK_GOOD(c);
	c.proto = NB_PROTO_UDP;
	CHECK_GOOD(c);

	c = def(NB_TEST_STREAM, NB_PROTO_TCP);
	c.depth = 2;
	CHECK_BAD(c, "--depth");
	c = def(NB_TEST_CRR, NB_PROTO_TCP);
	c.depth = 2;
	CHECK_BAD(c, "--depth");
	c = def(NB_TEST_STREAM, NB_PROTO_TCP);
	c.rate_tps = 10;
	CHECK_BAD(c, "--rate");
	c = def(NB_TEST_CRR, NB_PROTO_TCP);
	c.rate_tps = 10;
	CHECK_BAD(c, "--rate");

	/* out-of-range enums (a corrupt control message) */
	c = def(NB_TEST_STREAM, NB_PROTO_TCP);
	c.kind = (enum nb_test_kind)7;
	CHECK_BAD(c, "kind");
	c = def(NB_TEST_STREAM, NB_PROTO_TCP);
	c.proto = (enum nb_proto)7;
	CHECK_BAD(c, "protocol");
	c = def(NB_TEST_STREAM, NB_PROTO_TCP);
	c.wait = (enum nb_wait)7;
	CHECK_BAD(c, "wait");

	/* err may be omitted */
	c = def(NB_TEST_CRR, NB_PROTO_UDP);
	CHECK_INT(nb_cfg_check(&c, NULL, 0), -EINVAL);
}

/* --mix: parsed into shapes with the largest sizes as req/resp, and each limit refused with its reason. */
static void test_mix(void)
{
	struct nb_test_cfg c = def(NB_TEST_RR, NB_PROTO_TCP);
	char err[256] = "";
	CHECK_INT(nb_cfg_parse_mix(&c, "87:5@50,30:57@50", err, sizeof(err)), 0);
	CHECK_INT(c.n_mix, 2);
	CHECK(c.mix_req_bytes[0] == 87 && c.mix_resp_bytes[0] == 5 && c.mix_weight[0] == 50);
	CHECK(c.mix_req_bytes[1] == 30 && c.mix_resp_bytes[1] == 57 && c.mix_weight[1] == 50);
	CHECK(c.req_bytes == 87 && c.resp_bytes == 57);
	CHECK_GOOD(c);
	CHECK_INT(nb_cfg_parse_mix(&c, "1K:64K", err, sizeof(err)), 0); /* units; weight 1 */
	CHECK(c.n_mix == 1 && c.mix_req_bytes[0] == 1024 && c.mix_resp_bytes[0] == 65536 &&
	      c.mix_weight[0] == 1);
	CHECK(c.req_bytes == 1024 && c.resp_bytes == 65536);
	CHECK_GOOD(c);

	static const struct {
		const char *arg, *needle;
	} bad[] = {
	    {"", "at least one"},
	    {"87", "REQ:RESP"},
	    {"87:x", "two sizes"},
	    {"87:5@0", "weight"},
	    {"87:5@1000001", "weight"},
	    {"87:5@1.5", "weight"},
	    {"87:5,,30:57", "REQ:RESP"},
	    {"100M:1", "two sizes"},
	    {"16:1,16:1,16:1,16:1,16:1,16:1,16:1,16:1,16:1", "at most 8"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct nb_test_cfg b = def(NB_TEST_RR, NB_PROTO_TCP);
		err[0] = '\0';
		CHECK_MSG(nb_cfg_parse_mix(&b, bad[i].arg, err, sizeof(err)) == -EINVAL &&
			      strstr(err, bad[i].needle) && strstr(err, "--mix") && b.n_mix == 0,
			  "'%s': '%s', expected '%s'", bad[i].arg, err, bad[i].needle);
	}
	/* a request too short for the marker that names its shape; a UDP response too short for its sequence
	 * number; a mix outside rr; sizes that are not the shapes' largest (a corrupt TEST) */
	CHECK_INT(nb_cfg_parse_mix(&c, "15:5", err, sizeof(err)), 0);
	CHECK_BAD(c, "at least 16 bytes");
	c = def(NB_TEST_RR, NB_PROTO_UDP);
	CHECK_INT(nb_cfg_parse_mix(&c, "30:4", err, sizeof(err)), 0);
	CHECK_BAD(c, "--mix response size");
	c = def(NB_TEST_CRR, NB_PROTO_TCP);
	CHECK_INT(nb_cfg_parse_mix(&c, "30:4", err, sizeof(err)), 0);
	CHECK_BAD(c, "--mix applies only to rr");
	c = def(NB_TEST_RR, NB_PROTO_TCP);
	CHECK_INT(nb_cfg_parse_mix(&c, "30:4,40:2", err, sizeof(err)), 0);
	c.req_bytes = 30;
	CHECK_BAD(c, "largest");
	c.req_bytes = 40;
	c.mix_weight[1] = 0;
	CHECK_BAD(c, "weights");
	c.mix_weight[1] = 1;
	c.n_mix = NB_MAX_MIX + 1;
	CHECK_BAD(c, "at most");
}

static void test_names(void)
{
	enum nb_test_kind k;
	enum nb_proto p;
	enum nb_wait w;

	CHECK_STR(nb_test_kind_name(NB_TEST_STREAM), "stream");
	CHECK_STR(nb_test_kind_name(NB_TEST_RR), "rr");
	CHECK_STR(nb_test_kind_name(NB_TEST_CRR), "crr");
	CHECK_STR(nb_test_kind_name((enum nb_test_kind)9), "?");
	CHECK_STR(nb_proto_name(NB_PROTO_TCP), "tcp");
	CHECK_STR(nb_proto_name(NB_PROTO_UDP), "udp");
	CHECK_STR(nb_wait_name(NB_WAIT_BLOCK), "block");
	CHECK_STR(nb_wait_name(NB_WAIT_SPIN), "spin");

	CHECK_INT(nb_test_kind_parse("crr", &k), 0);
	CHECK_INT(k, NB_TEST_CRR);
	CHECK_INT(nb_test_kind_parse("stream", &k), 0);
	CHECK_INT(k, NB_TEST_STREAM);
	CHECK_INT(nb_test_kind_parse("rr", &k), 0);
	CHECK_INT(k, NB_TEST_RR);
	CHECK_INT(nb_test_kind_parse("maerts", &k), -EINVAL);
	CHECK_INT(nb_test_kind_parse("", &k), -EINVAL);
	CHECK_INT(nb_proto_parse("udp", &p), 0);
	CHECK_INT(p, NB_PROTO_UDP);
	CHECK_INT(nb_proto_parse("TCP", &p), 0);
	CHECK_INT(p, NB_PROTO_TCP);
	CHECK_INT(nb_proto_parse("sctp", &p), -EINVAL);
	CHECK_INT(nb_wait_parse("spin", &w), 0);
	CHECK_INT(w, NB_WAIT_SPIN);
	CHECK_INT(nb_wait_parse("poll", &w), -EINVAL);
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {
	    TAP_CASE(test_defaults),	 TAP_CASE(test_limits), TAP_CASE(test_cpus),
	    TAP_CASE(test_combinations), TAP_CASE(test_mix),	TAP_CASE(test_names),
	};
	return TAP_RUN(cases, argc > 1 ? argv[1] : NULL);
}
