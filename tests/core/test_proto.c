/* SPDX-License-Identifier: MIT */
/* The control protocol's codec against truncated, garbage, oversized and other-version input. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../unit/tap.h"
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

/* nb_proto_recv over a socketpair: a truncated frame times out, a closed peer is ECONNRESET. */
static void test_recv(void)
{
	int sv[2];
	uint16_t type, ver;
	cJSON *body;
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "message", "hi");
	CHECK_INT(nb_proto_send(sv[0], NB_MSG_ERROR, j), 0);
	cJSON_Delete(j);
	CHECK_INT(nb_proto_recv(sv[1], -1, &type, &body, &ver), 0);
	CHECK_INT(type, NB_MSG_ERROR);
	CHECK_STR(nb_json_str(body, "message", NULL), "hi");
	cJSON_Delete(body);

	unsigned char buf[64];
	ssize_t n = nb_frame_encode(buf, sizeof(buf), NB_MSG_HELLO, "{\"x\":2}", 7);
	CHECK_INT(write(sv[0], buf, (size_t)n - 3), n - 3);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t dl = ts.tv_sec * 1000000000LL + ts.tv_nsec + 50000000LL;
	CHECK_INT(nb_proto_recv(sv[1], dl, &type, &body, &ver), -ETIMEDOUT);
	close(sv[0]);
	/* the rest of the truncated frame never comes: the close ends it */
	CHECK_INT(nb_proto_recv(sv[1], -1, &type, &body, &ver), -ECONNRESET);
	close(sv[1]);
}

static void test_cfg_json(void)
{
	struct nb_test_cfg a, b;
	char err[128];
	nb_cfg_defaults(&a, NB_TEST_RR);
	a.proto = NB_PROTO_UDP;
	a.depth = 7;
	a.rate_tps = 1234.5;
	a.cpu_resp = 1;
	a.wait = NB_WAIT_SPIN;
	cJSON *j = nb_cfg_to_json(&a);
	nb_cfg_defaults(&b, NB_TEST_STREAM);
	CHECK_INT(nb_cfg_from_json(j, &b, err, sizeof(err)), 0);
	CHECK_INT(b.kind, NB_TEST_RR);
	CHECK_INT(b.proto, NB_PROTO_UDP);
	CHECK_INT(b.depth, 7);
	CHECK(b.rate_tps == 1234.5);
	CHECK_INT(b.cpu_resp, 1);
	CHECK_INT(b.wait, NB_WAIT_SPIN);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"depth\": -3}");
	CHECK_INT(nb_cfg_from_json(j, &b, err, sizeof(err)), -EINVAL);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"proto\": \"sctp\"}");
	CHECK_INT(nb_cfg_from_json(j, &b, err, sizeof(err)), -EINVAL);
	cJSON_Delete(j);
}

int main(void)
{
	test_roundtrip();
	test_bad_headers();
	test_recv();
	test_cfg_json();
	return tap_status("proto");
}
