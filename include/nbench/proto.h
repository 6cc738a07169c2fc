/* SPDX-License-Identifier: MIT */
/*
 * Control protocol: length-prefixed frames, a fixed 12-byte header then a JSON object (cJSON).
 *
 *   0      4        6      8          12
 *   "NBCP" version  type   body length  body (JSON, <= NB_PROTO_MAX_BODY)
 *
 * all big-endian. The version is checked on every frame; a peer of another version gets an ERROR frame that
 * says both versions, then the connection is closed. Data connections open with a DATA_HELLO frame naming
 * their test and flow; UDP flows send the same frame as their first datagram and wait for DATA_ACK.
 */
#ifndef NBENCH_PROTO_H
#define NBENCH_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "nbench/cfg.h"

#define NB_PROTO_MAGIC	   "NBCP"
#define NB_PROTO_VERSION   1
#define NB_PROTO_HDR_BYTES 12
#define NB_PROTO_MAX_BODY  (64u * 1024)

enum nb_msg_type {
	NB_MSG_HELLO = 1,  /* c->s {version, nbench, sysinfo} */
	NB_MSG_HELLO_ACK,  /* s->c {sysinfo, pid} */
	NB_MSG_ERROR,	   /* either way {message} */
	NB_MSG_TEST,	   /* c->s {settings} */
	NB_MSG_TEST_ACK,   /* s->c {test_id} */
	NB_MSG_READY,	   /* s->c every flow attached {placement} */
	NB_MSG_START,	   /* c->s go */
	NB_MSG_MEASURE,	   /* c->s warm-up over: snapshot CPU */
	NB_MSG_STOP,	   /* c->s end of the measured window: stop and report */
	NB_MSG_RESULT,	   /* s->c {flows, cpu} */
	NB_MSG_DATA_HELLO, /* data connection or UDP flow -> s {test_id, flow} */
	NB_MSG_DATA_ACK,   /* s -> UDP flow */
	NB_MSG_TYPE_MAX
};

struct nb_frame_hdr {
	uint16_t version;
	uint16_t type;
	uint32_t len;
};

/* Decodes a header. 0, -EBADMSG (bad magic), -EPROTONOSUPPORT (other version: ret is still filled),
 * -EMSGSIZE (body too long), -EINVAL (unknown type). */
int nb_frame_decode_hdr(const void *buf, size_t len, struct nb_frame_hdr *ret);

/* Encodes a frame into buf (header + body); returns the frame's length or -EMSGSIZE. */
ssize_t nb_frame_encode(void *buf, size_t cap, uint16_t type, const char *body, size_t body_len);

/* Parses a body as a JSON object; NULL when it is not one. */
cJSON *nb_frame_parse_body(const void *body, size_t len);

/* Sends a frame with a JSON body (NULL = "{}") on a blocking socket. 0 or -errno. */
int nb_proto_send(int fd, enum nb_msg_type type, const cJSON *body);
int nb_proto_send_error(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Receives one frame by deadline_ns (CLOCK_MONOTONIC; < 0 = none). On success *ret_type and *ret_body (a
 * JSON object, free with cJSON_Delete) are set. -ETIMEDOUT, -ECONNRESET (closed), -EBADMSG,
 * -EPROTONOSUPPORT (*ret_peer_version set), -EMSGSIZE, -EINVAL, or -errno. */
int nb_proto_recv(int fd, int64_t deadline_ns, uint16_t *ret_type, cJSON **ret_body,
		  uint16_t *ret_peer_version);

/* Settings <-> JSON (the TEST message, and the report's echo). */
cJSON *nb_cfg_to_json(const struct nb_test_cfg *cfg);
/* 0 or -EINVAL with a message in err. Missing keys keep cfg's values. */
int nb_cfg_from_json(const cJSON *j, struct nb_test_cfg *cfg, char *err, size_t errlen);

/* CPU cost and machine facts over the wire. */
struct nb_cpu_cost;
struct nb_sysinfo;
cJSON *nb_cpu_cost_to_json(const struct nb_cpu_cost *c);
void nb_cpu_cost_from_json(const cJSON *j, struct nb_cpu_cost *c);
cJSON *nb_sysinfo_to_json(const struct nb_sysinfo *si);
void nb_sysinfo_from_json(const cJSON *j, struct nb_sysinfo *si);

/* JSON helpers: numbers with a default. */
int64_t nb_json_i64(const cJSON *o, const char *key, int64_t dflt);
double nb_json_num(const cJSON *o, const char *key, double dflt);
const char *nb_json_str(const cJSON *o, const char *key, const char *dflt);

#endif
