/* SPDX-License-Identifier: MIT */
/*
 * The typed message bodies of lib/proto.c as one table, for the fuzz targets and their seed writer: each
 * entry decodes a JSON object into a struct of its size and encodes one back (the wire form).
 */
#ifndef NB_FUZZ_CODECS_H
#define NB_FUZZ_CODECS_H

#include <stddef.h>
#include <string.h>

#include "nbench/chan.h"
#include "nbench/proto.h"

struct nb_fuzz_codec {
	const char *name;      /* the fuzz target's name: fuzz_<name> */
	enum nb_msg_type type; /* the frame that carries it; 0 for the nested ones (cpu, sysinfo) */
	size_t size;	       /* of its struct */
	int (*from_json)(const cJSON *j, void *ret, char *err, size_t errlen);
	cJSON *(*to_json)(const void *s);
};

static int cfg_from(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_cfg_from_json(j, ret, err, errlen);
}
static cJSON *cfg_to(const void *s)
{
	return nb_cfg_to_json(s);
}
static int hello_ack_from(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_hello_ack_from_json(j, ret, err, errlen);
}
static cJSON *hello_ack_to(const void *s)
{
	return nb_hello_ack_to_json(s);
}
static int test_ack_from(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_test_ack_from_json(j, ret, err, errlen);
}
static cJSON *test_ack_to(const void *s)
{
	return nb_test_ack_to_json(s);
}
static int result_from(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_result_from_json(j, ret, err, errlen);
}
static cJSON *result_to(const void *s)
{
	return nb_result_to_json(s);
}
static int cpu_cost_from(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_cpu_cost_from_json(j, ret, err, errlen);
}
static cJSON *cpu_cost_to(const void *s)
{
	return nb_cpu_cost_to_json(s, NULL); /* the wire's form */
}
static int sysinfo_from(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_sysinfo_from_json(j, ret, err, errlen);
}
static cJSON *sysinfo_to(const void *s)
{
	return nb_sysinfo_to_json(s);
}

static int ctrl_hello_from(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_ctrl_hello_from_json(j, ret, err, errlen);
}
static cJSON *ctrl_hello_to(const void *s)
{
	return nb_ctrl_hello_to_json(s);
}
static int challenge_from(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_challenge_from_json(j, ret, err, errlen);
}
static cJSON *challenge_to(const void *s)
{
	return nb_challenge_to_json(s);
}
static int auth_from(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_auth_from_json(j, ret, err, errlen);
}
static cJSON *auth_to(const void *s)
{
	return nb_auth_to_json(s);
}
static int data_hello_from(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_data_hello_from_json(j, ret, err, errlen);
}
static cJSON *data_hello_to(const void *s)
{
	return nb_data_hello_to_json(s);
}

static int path_req_from(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_path_req_from_json(j, ret, err, errlen);
}
static cJSON *path_req_to(const void *s)
{
	return nb_path_req_to_json(s);
}
static int path_grant_from(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_path_grant_from_json(j, ret, err, errlen);
}
static cJSON *path_grant_to(const void *s)
{
	return nb_path_grant_to_json(s);
}

static const struct nb_fuzz_codec nb_fuzz_codecs[] = {
    {"ctrl_hello", NB_MSG_HELLO, sizeof(struct nb_ctrl_hello), ctrl_hello_from, ctrl_hello_to},
    {"challenge", NB_MSG_CHALLENGE, sizeof(struct nb_challenge), challenge_from, challenge_to},
    {"auth", NB_MSG_AUTH, sizeof(struct nb_auth), auth_from, auth_to},
    {"data_hello", NB_MSG_DATA_HELLO, sizeof(struct nb_data_hello), data_hello_from, data_hello_to},
    {"cfg", NB_MSG_TEST, sizeof(struct nb_test_cfg), cfg_from, cfg_to},
    {"hello_ack", NB_MSG_HELLO_ACK, sizeof(struct nb_hello_ack), hello_ack_from, hello_ack_to},
    {"test_ack", NB_MSG_TEST_ACK, sizeof(struct nb_test_ack), test_ack_from, test_ack_to},
    {"result", NB_MSG_RESULT, sizeof(struct nb_result), result_from, result_to},
    {"path_req", NB_MSG_PATH, sizeof(struct nb_path_req), path_req_from, path_req_to},
    {"path_grant", NB_MSG_PATH_ACK, sizeof(struct nb_path_grant), path_grant_from, path_grant_to},
    {"cpu_cost", 0, sizeof(struct nb_cpu_cost), cpu_cost_from, cpu_cost_to},
    {"sysinfo", 0, sizeof(struct nb_sysinfo), sysinfo_from, sysinfo_to},
};
#define NB_FUZZ_N_CODECS (sizeof(nb_fuzz_codecs) / sizeof(nb_fuzz_codecs[0]))

/* The chan target's session: a client's and a responder's channel keyed from one fixed key and transcript
 * (its seeds are frames the client's sends from number 0). */
static inline void nb_fuzz_chans(struct nb_chan *client, struct nb_chan *server)
{
	struct nb_key k;
	struct nb_auth_transcript t = {.version = NB_PROTO_VERSION};
	memset(k.bytes, 0x11, sizeof(k.bytes));
	memset(t.client_nonce, 0x22, sizeof(t.client_nonce));
	memset(t.server_nonce, 0x33, sizeof(t.server_nonce));
	memset(t.hello_hash, 0x44, sizeof(t.hello_hash));
	nb_chan_init(client, -1, NB_AUTH_CLIENT);
	nb_chan_init(server, -1, NB_AUTH_SERVER);
	nb_chan_key(client, &k, &t);
	nb_chan_key(server, &k, &t);
}

#endif
