/* SPDX-License-Identifier: MIT */
/*
 * Control protocol: length-prefixed frames, a fixed 12-byte header then a JSON object (cJSON).
 *
 *   0      4        6      8          12                                   12 + length
 *   "NBCP" version  type   body length  body (JSON, <= NB_PROTO_MAX_BODY)   [MAC, 32 bytes]
 *
 * all big-endian. In a session whose client proved the key, every frame after the handshake, both ways,
 * carries a MAC (auth.h) after its body and says so with NB_FRAME_MAC in its type; the body length does not
 * count it. Sending and receiving frames on a control connection, with or without the MAC, is chan.h's. The
 * version is checked on every frame: a client of another version gets an ERROR frame that says both versions
 * and the connection is closed; a client that hears another version says both in its error. Data connections
 * open with a DATA_HELLO frame naming their test and flow; UDP flows send the same frame as their first
 * datagram and wait for DATA_ACK.
 */
#ifndef NBENCH_PROTO_H
#define NBENCH_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "nbench/auth.h"
#include "nbench/cfg.h"
#include "nbench/cpu.h"
#include "nbench/result.h"
#include "nbench/sysinfo.h"

#define NB_PROTO_MAGIC "NBCP"
/* 2: typed bodies; 3: the key's handshake, per-test tokens; 4: PATH; 5: the proofs cover HELLO, a MAC on
 * every later frame of a keyed session, PATH's for_ns */
#define NB_PROTO_VERSION   5
#define NB_PROTO_HDR_BYTES 12
#define NB_PROTO_MAX_BODY  (64u * 1024)

/* Who sends what; bodies are JSON objects, "{}" where none is listed. The typed ones have a struct and an
 * encoder/decoder pair below. */
enum nb_msg_type {
	NB_MSG_HELLO = 1,  /* c->s struct nb_ctrl_hello {nonce (with a key), data_src} */
	NB_MSG_HELLO_ACK,  /* s->c struct nb_hello_ack {sysinfo, pid}: after the client's proof (key) */
	NB_MSG_ERROR,	   /* s->c {message}; the connection ends or the test is refused */
	NB_MSG_TEST,	   /* c->s struct nb_test_cfg: the settings, as the report's "settings" echo */
	NB_MSG_TEST_ACK,   /* s->c struct nb_test_ack {test_id, token, data_addr} */
	NB_MSG_READY,	   /* s->c every flow attached {} */
	NB_MSG_START,	   /* c->s go {} */
	NB_MSG_MEASURE,	   /* c->s warm-up over: snapshot counters and CPU {} */
	NB_MSG_STOP,	   /* c->s end of the measured window: stop and report {} */
	NB_MSG_RESULT,	   /* s->c struct nb_result (result.h) */
	NB_MSG_DATA_HELLO, /* data connection or UDP flow -> s {test_id, flow, token} */
	NB_MSG_DATA_ACK,   /* s -> UDP flow {ack: 1} */
	NB_MSG_CHALLENGE,  /* s->c, a responder with a key: struct nb_challenge {nonce, proof} */
	NB_MSG_AUTH,	   /* c->s the client's answer: struct nb_auth {proof} */
	NB_MSG_PATH,	   /* c->s build the server half of a path: struct nb_path_req {kind} (key only) */
	NB_MSG_PATH_ACK,   /* s->c struct nb_path_grant: where the test goes, the client's half */
	NB_MSG_TYPE_MAX
};

/* In a frame's type: a MAC follows its body. */
#define NB_FRAME_MAC 0x8000u

struct nb_frame_hdr {
	uint16_t version;
	uint16_t type; /* without NB_FRAME_MAC */
	uint32_t len;  /* of the body */
	bool mac;      /* NB_FRAME_MAC was set: NB_AUTH_MAC_BYTES follow the body */
};

/* Decodes the header at buf. 0, -EBADMSG (shorter than a header or bad magic: ret untouched),
 * -EPROTONOSUPPORT (other version), -EMSGSIZE (body above NB_PROTO_MAX_BODY), -EINVAL (unknown type); ret is
 * filled in for all but -EBADMSG. */
int nb_frame_decode_hdr(const void *buf, size_t len, struct nb_frame_hdr *ret);

/* Encodes a frame's header and body into buf (type may carry NB_FRAME_MAC: the MAC is the caller's to
 * append); returns their length or -EMSGSIZE. */
ssize_t nb_frame_encode(void *buf, size_t cap, uint16_t type, const char *body, size_t body_len);

/* Parses a body as a JSON object (free with cJSON_Delete); NULL when it is not one. */
cJSON *nb_frame_parse_body(const void *body, size_t len);

/*
 * Typed bodies. Every *_to_json returns a new object (NULL when out of memory). Every *_from_json checks
 * each key's presence and type and each number's range (an integer must be a whole number that fits its
 * field), fills *ret entirely, and returns 0 or -EINVAL with a one-line message naming the key in err.
 */

/* The settings, under the keys of the report's "settings" object (msg_bytes resolved to the size in
 * effect). The local fields (dpdk_*) are neither sent nor decoded: from_json leaves them empty. Every key
 * is required; nb_cfg_check's cross-field checks are the caller's. */
cJSON *nb_cfg_to_json(const struct nb_test_cfg *cfg);
int nb_cfg_from_json(const cJSON *j, struct nb_test_cfg *ret, char *err, size_t errlen);

/* HELLO's body. The key's handshake (auth.h) on the wire: a client with a key sends its nonce; a responder
 * with one answers CHALLENGE (its nonce and proof), the client AUTH (its proof), and only then HELLO_ACK. A
 * responder without a key answers HELLO_ACK at once, or ERROR to a client that has a key. */
struct nb_ctrl_hello {
	bool keyed;				  /* the client has a key: nonce is there */
	unsigned char nonce[NB_AUTH_NONCE_BYTES]; /* "nonce": hex, only when keyed */
	char data_src[64]; /* "data_src" (optional): the address the client's data comes from when not the
			    * control connection's (a DPDK generator's --dpdk-ip); "" otherwise */
};
cJSON *nb_ctrl_hello_to_json(const struct nb_ctrl_hello *h);
int nb_ctrl_hello_from_json(const cJSON *j, struct nb_ctrl_hello *ret, char *err, size_t errlen);

/* CHALLENGE's body: the responder's nonce and its proof over both nonces. */
struct nb_challenge {
	unsigned char nonce[NB_AUTH_NONCE_BYTES];
	unsigned char proof[NB_AUTH_PROOF_BYTES];
};
cJSON *nb_challenge_to_json(const struct nb_challenge *c);
int nb_challenge_from_json(const cJSON *j, struct nb_challenge *ret, char *err, size_t errlen);

/* AUTH's body: the client's proof. */
struct nb_auth {
	unsigned char proof[NB_AUTH_PROOF_BYTES];
};
cJSON *nb_auth_to_json(const struct nb_auth *a);
int nb_auth_from_json(const cJSON *j, struct nb_auth *ret, char *err, size_t errlen);

/* HELLO_ACK's body. */
struct nb_hello_ack {
	struct nb_sysinfo sysinfo; /* the responder's machine */
	int pid; /* the responder's process, so a same-host generator leaves it out of "others" */
};
cJSON *nb_hello_ack_to_json(const struct nb_hello_ack *a);
int nb_hello_ack_from_json(const cJSON *j, struct nb_hello_ack *ret, char *err, size_t errlen);

/* TEST_ACK's body. */
struct nb_test_ack {
	uint64_t test_id; /* names the test in every DATA_HELLO; 1 .. 2^53-1, exact in a JSON number */
	unsigned char token[NB_AUTH_TOKEN_BYTES]; /* "token": hex; every DATA_HELLO of the test carries it */
	char data_addr[64]; /* where the data flows go when not where the control connection went (DPDK);
			     * "" otherwise */
};
cJSON *nb_test_ack_to_json(const struct nb_test_ack *a);
int nb_test_ack_from_json(const cJSON *j, struct nb_test_ack *ret, char *err, size_t errlen);

/* RESULT's body. Keys that may be missing: "cpu" (the cost) is there exactly when have_cost, "error" when
 * there is one, "ifaces" when n_ifaces > 0 (a responder before them sends none). Each interface's strings
 * must be printable ASCII (they reach the client's terminal), its name a valid interface name, its
 * "counters" null (not counted) or an object of at most NB_RESULT_MAX_COUNTERS distinct names, each a whole
 * number from -2^53 to 2^53. */
cJSON *nb_result_to_json(const struct nb_result *r);
int nb_result_from_json(const cJSON *j, struct nb_result *ret, char *err, size_t errlen);
/* Fills f with interface id and its window's changed counters (delta; NULL: not counted) within what
 * nb_result_from_json accepts: characters that are not printable ASCII become '?', counters without a name
 * or repeating one are dropped, and past NB_RESULT_MAX_COUNTERS the kernel's link stats and every drop or
 * error counter go first, the rest counted in left_out. */
void nb_result_iface_set(struct nb_result_iface *f, const struct nb_nic_id *id,
			 const struct nb_nic_snap *delta);

/* A CPU cost, under the keys of the report's "cpu" object. for_report non-NULL (the report) adds the
 * figures derived from the run: cycles per byte (stream) or per transaction, and unattributed_ns; the wire
 * leaves them out, since the generator derives them from its own counts. */
cJSON *nb_cpu_cost_to_json(const struct nb_cpu_cost *c, const struct nb_test_cfg *for_report);
int nb_cpu_cost_from_json(const cJSON *j, struct nb_cpu_cost *ret, char *err, size_t errlen);

/* A machine's facts, under the keys of the report's "client" and "server" objects. */
cJSON *nb_sysinfo_to_json(const struct nb_sysinfo *si);
int nb_sysinfo_from_json(const cJSON *j, struct nb_sysinfo *ret, char *err, size_t errlen);

/* A data connection's or UDP flow's first frame: the test it belongs to and its index there. */
struct nb_data_hello {
	uint64_t test_id;			  /* from TEST_ACK: 1 to 2^53 - 1 */
	unsigned flow;				  /* 0 to NB_MAX_FLOWS - 1 */
	unsigned char token[NB_AUTH_TOKEN_BYTES]; /* TEST_ACK's; "token": hex */
};
cJSON *nb_data_hello_to_json(const struct nb_data_hello *h);
int nb_data_hello_from_json(const cJSON *j, struct nb_data_hello *ret, char *err, size_t errlen);

/* The responder's answer to a UDP flow's hello. */
struct nb_data_ack {
	unsigned ack; /* 1 */
};
cJSON *nb_data_ack_to_json(const struct nb_data_ack *a);
int nb_data_ack_from_json(const cJSON *j, struct nb_data_ack *ret, char *err, size_t errlen);

/* PATH's body: the path kind whose server half an agent (`nbench serve --paths`) builds on its host for this
 * session; it lasts until the session ends, the next PATH, or for_ns and the agent's grace have passed. */
struct nb_path_req {
	char kind[16];	/* one of nb_topo_kinds() */
	int64_t for_ns; /* how long the client means to run tests on it (its lifetime's base): 1 ns to
			 * NB_MAX_DURATION_NS */
};
cJSON *nb_path_req_to_json(const struct nb_path_req *r);
int nb_path_req_from_json(const cJSON *j, struct nb_path_req *ret, char *err, size_t errlen);

/* PATH_ACK's body: where the client runs its tests (a responder of the agent's, keyed like it), and the
 * client's half: a route to route_net via the address the client dialed ("" : none). The client checks it
 * (cli/remote.c): the dial address is the one it dialed or inside route_net, route_net a private prefix. */
struct nb_path_grant {
	char kind[16];
	char name[16];	    /* the instance's name on the agent's host ("" for native) */
	char dial_addr[48]; /* "" : the address the client dialed */
	uint16_t dial_port;
	char route_net[48];    /* CIDR; "" : the client adds nothing */
	char path_json[16384]; /* the server half's description (nb_topo_describe_json), a JSON object */
};
cJSON *nb_path_grant_to_json(const struct nb_path_grant *g);
int nb_path_grant_from_json(const cJSON *j, struct nb_path_grant *ret, char *err, size_t errlen);

/* Encodes a whole frame with body (NULL = "{}") into buf; returns its length, -EMSGSIZE or -ENOMEM. */
ssize_t nb_frame_encode_json(void *buf, size_t cap, enum nb_msg_type type, const cJSON *body);

/* Decodes one whole frame of type want held in buf (a datagram, a connection's first frame): the header
 * checked, its body length exactly len - NB_PROTO_HDR_BYTES, the body a JSON object. 0 with *ret_body set
 * (free with cJSON_Delete), or nb_frame_decode_hdr's errors, -EPROTO (another type), -EMSGSIZE (the length
 * does not match) or -EBADMSG (not a JSON object). */
int nb_frame_decode_whole(const void *buf, size_t len, enum nb_msg_type want, cJSON **ret_body);

/* A whole DATA_HELLO frame (nb_frame_encode_json of nb_data_hello_to_json) and its decoder, which also
 * range-checks the body: 0, or a nb_frame_decode_whole error, or -EINVAL with the key named in err. */
ssize_t nb_data_hello_encode(void *buf, size_t cap, const struct nb_data_hello *h);
int nb_data_hello_decode(const void *buf, size_t len, struct nb_data_hello *ret, char *err, size_t errlen);

/* s as printable ASCII into buf (others as \\xNN, cut to fit size), so that quoting a peer's bytes keeps a
 * message on one line and a terminal's escape sequences out of it. Returns buf. */
const char *nb_printable(const char *s, char *buf, size_t size);

/* Lenient getters for untyped bodies (ERROR): the default when the key is missing, of another
 * type, or (nb_json_i64) not an integer in int64_t's range. */
int64_t nb_json_i64(const cJSON *o, const char *key, int64_t dflt);
double nb_json_num(const cJSON *o, const char *key, double dflt);
const char *nb_json_str(const cJSON *o, const char *key, const char *dflt);

#endif
