/* SPDX-License-Identifier: MIT */
#include "nbench/proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbench/clock.h"

int nb_frame_decode_hdr(const void *buf, size_t len, struct nb_frame_hdr *ret)
{
	const unsigned char *p = buf;
	uint16_t v16;
	uint32_t v32;

	if (len < NB_PROTO_HDR_BYTES || memcmp(p, NB_PROTO_MAGIC, 4) != 0)
		return -EBADMSG;
	memcpy(&v16, p + 4, 2);
	ret->version = ntohs(v16);
	memcpy(&v16, p + 6, 2);
	ret->type = ntohs(v16) & (uint16_t)~NB_FRAME_MAC;
	ret->mac = ntohs(v16) & NB_FRAME_MAC;
	memcpy(&v32, p + 8, 4);
	ret->len = ntohl(v32);
	if (ret->version != NB_PROTO_VERSION)
		return -EPROTONOSUPPORT;
	if (ret->len > NB_PROTO_MAX_BODY)
		return -EMSGSIZE;
	if (ret->type == 0 || ret->type >= NB_MSG_TYPE_MAX)
		return -EINVAL;
	return 0;
}

ssize_t nb_frame_encode(void *buf, size_t cap, uint16_t type, const char *body, size_t body_len)
{
	unsigned char *p = buf;
	uint16_t v16;
	uint32_t v32;

	if (body_len > NB_PROTO_MAX_BODY || cap < NB_PROTO_HDR_BYTES + body_len)
		return -EMSGSIZE;
	memcpy(p, NB_PROTO_MAGIC, 4);
	v16 = htons(NB_PROTO_VERSION);
	memcpy(p + 4, &v16, 2);
	v16 = htons(type);
	memcpy(p + 6, &v16, 2);
	v32 = htonl((uint32_t)body_len);
	memcpy(p + 8, &v32, 4);
	if (body_len)
		memcpy(p + NB_PROTO_HDR_BYTES, body, body_len);
	return (ssize_t)(NB_PROTO_HDR_BYTES + body_len);
}

cJSON *nb_frame_parse_body(const void *body, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(body, len);
	if (j && !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/* int64_t's range as doubles: [-2^63, 2^63). A double outside it does not convert (C11 6.3.1.4). */
#define I64_LO (-9223372036854775808.0)
#define I64_HI 9223372036854775808.0

static bool is_int64(double v)
{
	return v >= I64_LO && v < I64_HI && (double)(int64_t)v == v;
}

int64_t nb_json_i64(const cJSON *o, const char *key, int64_t dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) && is_int64(v->valuedouble) ? (int64_t)v->valuedouble : dflt;
}

double nb_json_num(const cJSON *o, const char *key, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

const char *nb_json_str(const cJSON *o, const char *key, const char *dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : dflt;
}

/* ---- decoding: one context per object, the first problem is the one reported ---- */

struct dec {
	const cJSON *o;
	const char *what; /* "settings", "result", ... */
	char *err;
	size_t errlen;
	int rc;
};

__attribute__((format(printf, 3, 4))) static void dec_fail(struct dec *d, const char *key, const char *fmt,
							   ...)
{
	if (d->rc)
		return;
	d->rc = -EINVAL;
	int n = snprintf(d->err, d->errlen, "%s: %s ", d->what, key);
	if (n < 0 || (size_t)n >= d->errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->err + n, d->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static const cJSON *dec_item(struct dec *d, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(d->o, key);
	if (!v)
		dec_fail(d, key, "is missing");
	return v;
}

/* A whole number in [lo, hi]; 0 after a failure. */
static int64_t dec_int(struct dec *d, const char *key, int64_t lo, int64_t hi)
{
	const cJSON *v = dec_item(d, key);
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || !is_int64(v->valuedouble) || (int64_t)v->valuedouble < lo ||
	    (int64_t)v->valuedouble > hi) {
		dec_fail(d, key, "is not a whole number from %lld to %lld", (long long)lo, (long long)hi);
		return 0;
	}
	return (int64_t)v->valuedouble;
}

/* Counters: a whole number from 0 to 2^53 (beyond that a JSON number is not exact). */
static uint64_t dec_count(struct dec *d, const char *key)
{
	return (uint64_t)dec_int(d, key, 0, 1LL << 53);
}

static double dec_num(struct dec *d, const char *key, double lo, double hi)
{
	const cJSON *v = dec_item(d, key);
	if (v && (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi))) {
		dec_fail(d, key, "is not a number from %g to %g", lo, hi);
		return 0;
	}
	return v ? v->valuedouble : 0;
}

static bool dec_bool(struct dec *d, const char *key)
{
	const cJSON *v = dec_item(d, key);
	if (v && !cJSON_IsBool(v))
		dec_fail(d, key, "is not true or false");
	return cJSON_IsTrue(v);
}

/* s into buf (of size), what is not printable ASCII as '?'. buf may be s. */
static void printable_copy(char *buf, size_t size, const char *s)
{
	size_t n = 0;
	for (; *s && n + 1 < size; s++, n++)
		buf[n] = (unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f ? '?' : *s;
	buf[n] = '\0';
}

/* A string that fits buf (with its NUL); buf is "" after a failure. */
static const char *dec_str(struct dec *d, const char *key, char *buf, size_t size)
{
	const cJSON *v = dec_item(d, key);
	buf[0] = '\0';
	if (v && (!cJSON_IsString(v) || strlen(v->valuestring) >= size))
		dec_fail(d, key, "is not a string of at most %zu bytes", size - 1);
	else if (v)
		memcpy(buf, v->valuestring, strlen(v->valuestring) + 1);
	return buf;
}

const char *nb_printable(const char *s, char *buf, size_t size)
{
	size_t n = 0;
	for (; *s && n + 5 <= size; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			buf[n++] = (char)ch;
		else
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", ch);
	}
	buf[n] = '\0';
	return buf;
}

/* A name from a list, as its parser reads it. */
static void dec_name(struct dec *d, const char *key, int (*parse)(const char *s, void *ret), void *ret)
{
	char buf[32], shown[4 * sizeof(buf) + 1];
	if (dec_str(d, key, buf, sizeof(buf)), d->rc)
		return;
	if (parse(buf, ret) < 0)
		dec_fail(d, key, "has the unknown value '%s'", nb_printable(buf, shown, sizeof(shown)));
}

static int parse_kind(const char *s, void *ret)
{
	return nb_test_kind_parse(s, ret);
}

static int parse_proto(const char *s, void *ret)
{
	return nb_proto_parse(s, ret);
}

static int parse_wait(const char *s, void *ret)
{
	return nb_wait_parse(s, ret);
}

static const cJSON *dec_obj(struct dec *d, const char *key)
{
	const cJSON *v = dec_item(d, key);
	if (v && !cJSON_IsObject(v)) {
		dec_fail(d, key, "is not an object");
		return NULL;
	}
	return v;
}

/* Runs a nested decoder on the object at key; its message is prefixed with ours. */
static void dec_sub(struct dec *d, const char *key, void *ret,
		    int (*from_json)(const cJSON *j, void *ret, char *err, size_t errlen))
{
	char sub[192];
	const cJSON *v = dec_obj(d, key);
	if (v && from_json(v, ret, sub, sizeof(sub)) < 0)
		dec_fail(d, key, "%s", sub);
}

static int dec_begin(struct dec *d, const cJSON *j, const char *what, char *err, size_t errlen)
{
	*d = (struct dec){.o = j, .what = what, .err = err, .errlen = errlen};
	if (!cJSON_IsObject(j)) {
		snprintf(err, errlen, "%s: not a JSON object", what);
		return d->rc = -EINVAL;
	}
	return 0;
}

/* Exactly n bytes as 2n hex digits. */
static void dec_hex(struct dec *d, const char *key, unsigned char *ret, size_t n)
{
	const cJSON *v = dec_item(d, key);
	if (v && (!cJSON_IsString(v) || nb_auth_from_hex(v->valuestring, ret, n) < 0))
		dec_fail(d, key, "is not %zu hex digits", 2 * n);
}

static void add_hex(cJSON *o, const char *key, const unsigned char *bin, size_t n)
{
	char hex[NB_AUTH_HEX(64)];
	nb_auth_to_hex(bin, n, hex);
	cJSON_AddStringToObject(o, key, hex);
}

static void add_u64(cJSON *o, const char *key, uint64_t v)
{
	cJSON_AddNumberToObject(o, key, (double)v); /* exact up to 2^53 (9 PB, 104 days in ns) */
}

/* ---- settings ---- */

cJSON *nb_cfg_to_json(const struct nb_test_cfg *c)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "kind", nb_test_kind_name(c->kind));
	cJSON_AddStringToObject(o, "proto", nb_proto_name(c->proto));
	cJSON_AddStringToObject(o, "engine", c->engine);
	cJSON_AddStringToObject(o, "host", c->host);
	add_u64(o, "port", c->port);
	cJSON_AddNumberToObject(o, "duration_ns", (double)c->duration_ns);
	cJSON_AddNumberToObject(o, "warmup_ns", (double)c->warmup_ns);
	cJSON_AddNumberToObject(o, "interval_ns", (double)c->interval_ns);
	add_u64(o, "flows", c->flows);
	cJSON_AddBoolToObject(o, "reverse", c->reverse);
	add_u64(o, "msg_bytes", nb_cfg_msg_bytes(c));
	add_u64(o, "req_bytes", c->req_bytes);
	add_u64(o, "resp_bytes", c->resp_bytes);
	add_u64(o, "depth", c->depth);
	cJSON_AddNumberToObject(o, "rate_tps", c->rate_tps);
	cJSON_AddNumberToObject(o, "rate_bps", c->rate_bps);
	cJSON_AddNumberToObject(o, "udp_timeout_ns", (double)c->udp_timeout_ns);
	cJSON_AddNumberToObject(o, "cpu_gen", c->cpu_gen);
	cJSON_AddNumberToObject(o, "cpu_resp", c->cpu_resp);
	cJSON_AddStringToObject(o, "wait", nb_wait_name(c->wait));
	cJSON_AddNumberToObject(o, "busy_poll_us", c->busy_poll_us);
	cJSON_AddBoolToObject(o, "nodelay", c->nodelay);
	return o;
}

/* The ranges here only keep each conversion defined; nb_cfg_check states the limits a test must keep. */
int nb_cfg_from_json(const cJSON *j, struct nb_test_cfg *c, char *err, size_t errlen)
{
	struct dec d;
	memset(c, 0, sizeof(*c));
	if (dec_begin(&d, j, "settings", err, errlen) < 0)
		return d.rc;
	dec_name(&d, "kind", parse_kind, &c->kind);
	dec_name(&d, "proto", parse_proto, &c->proto);
	dec_str(&d, "engine", c->engine, sizeof(c->engine));
	dec_str(&d, "host", c->host, sizeof(c->host));
	c->port = (uint16_t)dec_int(&d, "port", 0, UINT16_MAX);
	c->duration_ns = dec_int(&d, "duration_ns", 0, NB_MAX_DURATION_NS);
	c->warmup_ns = dec_int(&d, "warmup_ns", 0, NB_MAX_DURATION_NS);
	c->interval_ns = dec_int(&d, "interval_ns", 0, NB_MAX_DURATION_NS);
	c->flows = (unsigned)dec_int(&d, "flows", 0, NB_MAX_FLOWS);
	c->reverse = dec_bool(&d, "reverse");
	c->msg_bytes = (uint32_t)dec_int(&d, "msg_bytes", 0, NB_MAX_MSG_BYTES);
	c->req_bytes = (uint32_t)dec_int(&d, "req_bytes", 0, NB_MAX_MSG_BYTES);
	c->resp_bytes = (uint32_t)dec_int(&d, "resp_bytes", 0, NB_MAX_MSG_BYTES);
	c->depth = (unsigned)dec_int(&d, "depth", 0, NB_MAX_DEPTH);
	c->rate_tps = dec_num(&d, "rate_tps", 0, DBL_MAX);
	c->rate_bps = dec_num(&d, "rate_bps", 0, DBL_MAX);
	c->udp_timeout_ns = dec_int(&d, "udp_timeout_ns", 0, NB_MAX_DURATION_NS);
	c->cpu_gen = (int)dec_int(&d, "cpu_gen", -1, INT_MAX);
	c->cpu_resp = (int)dec_int(&d, "cpu_resp", -1, INT_MAX);
	dec_name(&d, "wait", parse_wait, &c->wait);
	c->busy_poll_us = (int)dec_int(&d, "busy_poll_us", 0, NB_MAX_BUSY_POLL_US);
	c->nodelay = dec_bool(&d, "nodelay");
	return d.rc;
}

/* ---- HELLO, CHALLENGE, AUTH ---- */

cJSON *nb_ctrl_hello_to_json(const struct nb_ctrl_hello *h)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	if (h->keyed)
		add_hex(o, "nonce", h->nonce, sizeof(h->nonce));
	cJSON_AddStringToObject(o, "data_src", h->data_src);
	return o;
}

int nb_ctrl_hello_from_json(const cJSON *j, struct nb_ctrl_hello *h, char *err, size_t errlen)
{
	struct dec d;
	memset(h, 0, sizeof(*h));
	if (dec_begin(&d, j, "hello", err, errlen) < 0)
		return d.rc;
	h->keyed = cJSON_GetObjectItemCaseSensitive(j, "nonce") != NULL;
	if (h->keyed)
		dec_hex(&d, "nonce", h->nonce, sizeof(h->nonce));
	if (cJSON_GetObjectItemCaseSensitive(j, "data_src"))
		dec_str(&d, "data_src", h->data_src, sizeof(h->data_src));
	return d.rc;
}

cJSON *nb_challenge_to_json(const struct nb_challenge *c)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	add_hex(o, "nonce", c->nonce, sizeof(c->nonce));
	add_hex(o, "proof", c->proof, sizeof(c->proof));
	return o;
}

int nb_challenge_from_json(const cJSON *j, struct nb_challenge *c, char *err, size_t errlen)
{
	struct dec d;
	memset(c, 0, sizeof(*c));
	if (dec_begin(&d, j, "challenge", err, errlen) < 0)
		return d.rc;
	dec_hex(&d, "nonce", c->nonce, sizeof(c->nonce));
	dec_hex(&d, "proof", c->proof, sizeof(c->proof));
	return d.rc;
}

cJSON *nb_auth_to_json(const struct nb_auth *a)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	add_hex(o, "proof", a->proof, sizeof(a->proof));
	return o;
}

int nb_auth_from_json(const cJSON *j, struct nb_auth *a, char *err, size_t errlen)
{
	struct dec d;
	memset(a, 0, sizeof(*a));
	if (dec_begin(&d, j, "auth", err, errlen) < 0)
		return d.rc;
	dec_hex(&d, "proof", a->proof, sizeof(a->proof));
	return d.rc;
}

/* ---- HELLO_ACK, TEST_ACK ---- */

cJSON *nb_hello_ack_to_json(const struct nb_hello_ack *a)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddItemToObject(o, "sysinfo", nb_sysinfo_to_json(&a->sysinfo));
	cJSON_AddNumberToObject(o, "pid", a->pid);
	return o;
}

static int sysinfo_from_json(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_sysinfo_from_json(j, ret, err, errlen);
}

int nb_hello_ack_from_json(const cJSON *j, struct nb_hello_ack *a, char *err, size_t errlen)
{
	struct dec d;
	memset(a, 0, sizeof(*a));
	if (dec_begin(&d, j, "hello", err, errlen) < 0)
		return d.rc;
	dec_sub(&d, "sysinfo", &a->sysinfo, sysinfo_from_json);
	a->pid = (int)dec_int(&d, "pid", 1, INT_MAX);
	return d.rc;
}

cJSON *nb_test_ack_to_json(const struct nb_test_ack *a)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	add_u64(o, "test_id", a->test_id);
	add_hex(o, "token", a->token, sizeof(a->token));
	cJSON_AddStringToObject(o, "data_addr", a->data_addr);
	return o;
}

int nb_test_ack_from_json(const cJSON *j, struct nb_test_ack *a, char *err, size_t errlen)
{
	struct dec d;
	memset(a, 0, sizeof(*a));
	if (dec_begin(&d, j, "test ack", err, errlen) < 0)
		return d.rc;
	a->test_id = (uint64_t)dec_int(&d, "test_id", 1, (1LL << 53) - 1);
	dec_hex(&d, "token", a->token, sizeof(a->token));
	dec_str(&d, "data_addr", a->data_addr, sizeof(a->data_addr));
	return d.rc;
}

/* ---- PATH, PATH_ACK ---- */

cJSON *nb_path_req_to_json(const struct nb_path_req *r)
{
	cJSON *o = cJSON_CreateObject();
	if (o) {
		cJSON_AddStringToObject(o, "kind", r->kind);
		cJSON_AddNumberToObject(o, "for_ns", (double)r->for_ns);
	}
	return o;
}

int nb_path_req_from_json(const cJSON *j, struct nb_path_req *r, char *err, size_t errlen)
{
	struct dec d;
	memset(r, 0, sizeof(*r));
	if (dec_begin(&d, j, "path request", err, errlen) < 0)
		return d.rc;
	dec_str(&d, "kind", r->kind, sizeof(r->kind));
	r->for_ns = dec_int(&d, "for_ns", 1, NB_MAX_DURATION_NS);
	return d.rc;
}

cJSON *nb_path_grant_to_json(const struct nb_path_grant *g)
{
	cJSON *o = cJSON_CreateObject(), *path = cJSON_Parse(g->path_json);
	if (!o || !cJSON_IsObject(path)) {
		cJSON_Delete(path);
		path = cJSON_CreateObject();
	}
	if (!o || !path) {
		cJSON_Delete(o);
		cJSON_Delete(path);
		return NULL;
	}
	cJSON_AddStringToObject(o, "kind", g->kind);
	cJSON_AddStringToObject(o, "name", g->name);
	cJSON_AddStringToObject(o, "dial_addr", g->dial_addr);
	add_u64(o, "dial_port", g->dial_port);
	cJSON_AddStringToObject(o, "route_net", g->route_net);
	cJSON_AddItemToObject(o, "path", path);
	return o;
}

int nb_path_grant_from_json(const cJSON *j, struct nb_path_grant *g, char *err, size_t errlen)
{
	struct dec d;
	memset(g, 0, sizeof(*g));
	if (dec_begin(&d, j, "path grant", err, errlen) < 0)
		return d.rc;
	dec_str(&d, "kind", g->kind, sizeof(g->kind));
	dec_str(&d, "name", g->name, sizeof(g->name));
	dec_str(&d, "dial_addr", g->dial_addr, sizeof(g->dial_addr));
	g->dial_port = (uint16_t)dec_int(&d, "dial_port", 1, 65535);
	dec_str(&d, "route_net", g->route_net, sizeof(g->route_net));
	const cJSON *path = dec_obj(&d, "path");
	char *txt = path ? cJSON_PrintUnformatted(path) : NULL;
	if (path && (!txt || strlen(txt) >= sizeof(g->path_json)))
		dec_fail(&d, "path", "is not an object of at most %zu bytes", sizeof(g->path_json) - 1);
	else if (txt)
		memcpy(g->path_json, txt, strlen(txt) + 1);
	free(txt);
	return d.rc;
}

/* ---- DATA_HELLO, DATA_ACK ---- */

cJSON *nb_data_hello_to_json(const struct nb_data_hello *h)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	add_u64(o, "test_id", h->test_id);
	add_u64(o, "flow", h->flow);
	add_hex(o, "token", h->token, sizeof(h->token));
	return o;
}

int nb_data_hello_from_json(const cJSON *j, struct nb_data_hello *h, char *err, size_t errlen)
{
	struct dec d;
	memset(h, 0, sizeof(*h));
	if (dec_begin(&d, j, "data hello", err, errlen) < 0)
		return d.rc;
	h->test_id = (uint64_t)dec_int(&d, "test_id", 1, (1LL << 53) - 1);
	h->flow = (unsigned)dec_int(&d, "flow", 0, NB_MAX_FLOWS - 1);
	dec_hex(&d, "token", h->token, sizeof(h->token));
	return d.rc;
}

cJSON *nb_data_ack_to_json(const struct nb_data_ack *a)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	add_u64(o, "ack", a->ack);
	return o;
}

int nb_data_ack_from_json(const cJSON *j, struct nb_data_ack *a, char *err, size_t errlen)
{
	struct dec d;
	memset(a, 0, sizeof(*a));
	if (dec_begin(&d, j, "data ack", err, errlen) < 0)
		return d.rc;
	a->ack = (unsigned)dec_int(&d, "ack", 1, 1);
	return d.rc;
}

ssize_t nb_frame_encode_json(void *buf, size_t cap, enum nb_msg_type type, const cJSON *body)
{
	char *txt = body ? cJSON_PrintUnformatted(body) : NULL;
	if (body && !txt)
		return -ENOMEM;
	const char *b = txt ? txt : "{}";
	ssize_t n = nb_frame_encode(buf, cap, (uint16_t)type, b, strlen(b));
	free(txt);
	return n;
}

int nb_frame_decode_whole(const void *buf, size_t len, enum nb_msg_type want, cJSON **ret_body)
{
	struct nb_frame_hdr h;
	*ret_body = NULL;
	int r = nb_frame_decode_hdr(buf, len, &h);
	if (r < 0)
		return r;
	if (h.type != want)
		return -EPROTO;
	if (h.len != len - NB_PROTO_HDR_BYTES)
		return -EMSGSIZE;
	*ret_body = nb_frame_parse_body((const unsigned char *)buf + NB_PROTO_HDR_BYTES, h.len);
	return *ret_body ? 0 : -EBADMSG;
}

ssize_t nb_data_hello_encode(void *buf, size_t cap, const struct nb_data_hello *h)
{
	cJSON *j = nb_data_hello_to_json(h);
	if (!j)
		return -ENOMEM;
	ssize_t n = nb_frame_encode_json(buf, cap, NB_MSG_DATA_HELLO, j);
	cJSON_Delete(j);
	return n;
}

int nb_data_hello_decode(const void *buf, size_t len, struct nb_data_hello *ret, char *err, size_t errlen)
{
	cJSON *j;
	memset(ret, 0, sizeof(*ret));
	int r = nb_frame_decode_whole(buf, len, NB_MSG_DATA_HELLO, &j);
	if (r < 0) {
		snprintf(err, errlen, "data hello: %s",
			 r == -EPROTONOSUPPORT ? "another protocol version"
			 : r == -EPROTO	       ? "not a data hello"
			 : r == -EMSGSIZE      ? "its length does not match its frame"
					       : "not a frame of nbench's protocol");
		return r;
	}
	r = nb_data_hello_from_json(j, ret, err, errlen);
	cJSON_Delete(j);
	return r;
}

/* ---- RESULT ---- */

/* A flow's TCP state in the RESULT: an array, not an object, so that NB_MAX_FLOWS flows of it still fit one
 * frame (51 bytes a flow where named keys take 180):
 *   [retransmits, cwnd_segments, mss_bytes, srtt_us, rttvar_us,       whole numbers, 0 to 2^32-1
 *    pacing_rate_bps, delivery_rate_bps,                               0 to 2^53, or null: not known
 *    reord_seen, dsack_dups]                                           0 to 2^32-1, or both null
 * A later version may append elements; a decoder reads the first NB_RESULT_TCP_FIELDS and ignores the rest.
 * Every number is within its decoder's range. */
#define NB_RESULT_TCP_FIELDS 9
#define NB_RESULT_TCP_MAX    16 /* the most elements a decoder accepts */

static void add_elem(cJSON *a, bool have, uint64_t v, uint64_t hi)
{
	cJSON_AddItemToArray(a, have ? cJSON_CreateNumber((double)(v < hi ? v : hi)) : cJSON_CreateNull());
}

static cJSON *result_tcp_to_json(const struct nb_tcpinfo *t)
{
	const uint64_t u32 = UINT32_MAX, lim = 1ULL << 53;
	bool reord = t->have & NB_TCPINFO_REORD;
	cJSON *a = cJSON_CreateArray();
	add_elem(a, true, t->retransmits, u32);
	add_elem(a, true, t->cwnd_segs, u32);
	add_elem(a, true, t->mss_bytes, u32);
	add_elem(a, true, t->srtt_us, u32);
	add_elem(a, true, t->rttvar_us, u32);
	add_elem(a, t->have & NB_TCPINFO_PACING, t->pacing_rate_bps, lim);
	add_elem(a, t->have & NB_TCPINFO_DELIVERY, t->delivery_rate_bps, lim);
	add_elem(a, reord, t->reord_seen, u32);
	add_elem(a, reord, t->dsack_dups, u32);
	return a;
}

static cJSON *result_flow_to_json(const struct nb_result_flow *f)
{
	cJSON *o = cJSON_CreateObject();
	add_u64(o, "bytes_sent", f->bytes_sent);
	add_u64(o, "msgs_sent", f->msgs_sent);
	add_u64(o, "bytes_rcvd", f->bytes_rcvd);
	add_u64(o, "msgs_rcvd", f->msgs_rcvd);
	add_u64(o, "reordered", f->reordered);
	add_u64(o, "window_bytes", f->window_bytes);
	cJSON_AddNumberToObject(o, "window_ns", (double)f->window_ns);
	if (f->tcp.valid)
		cJSON_AddItemToObject(o, "tcp", result_tcp_to_json(&f->tcp));
	return o;
}

/* An interface of the responder's: its identity, its counters' deltas (null: not counted), and how many
 * changed counters did not fit. */
static cJSON *result_iface_to_json(const struct nb_result_iface *f)
{
	const struct nb_nic_id *d = &f->id;
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "name", d->name);
	cJSON_AddStringToObject(o, "netns", d->netns);
	cJSON_AddStringToObject(o, "driver", d->driver);
	cJSON_AddStringToObject(o, "driver_version", d->driver_version);
	cJSON_AddStringToObject(o, "firmware", d->firmware);
	cJSON_AddStringToObject(o, "bus", d->bus);
	cJSON_AddNumberToObject(o, "speed_mbps", (double)d->speed_mbps);
	cJSON_AddStringToObject(o, "duplex", d->duplex);
	if (!f->counted) {
		cJSON_AddNullToObject(o, "counters");
	} else {
		cJSON *c = cJSON_AddObjectToObject(o, "counters");
		for (unsigned k = 0; k < f->n_counters && k < NB_RESULT_MAX_COUNTERS; k++)
			cJSON_AddNumberToObject(c, f->counters[k].name, (double)f->counters[k].value);
	}
	add_u64(o, "left_out", f->left_out);
	return o;
}

cJSON *nb_result_to_json(const struct nb_result *r)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON *fl = cJSON_AddArrayToObject(o, "flows");
	for (unsigned i = 0; i < r->n_flows && i < NB_MAX_FLOWS; i++)
		cJSON_AddItemToArray(fl, result_flow_to_json(&r->flows[i]));
	cJSON_AddStringToObject(o, "resp_cpus", r->cpus);
	cJSON_AddStringToObject(o, "resp_wait", r->wait);
	add_u64(o, "resp_cpu_ns", r->cpu_ns);
	if (r->error[0])
		cJSON_AddStringToObject(o, "error", r->error);
	if (r->have_cost)
		cJSON_AddItemToObject(o, "cpu", nb_cpu_cost_to_json(&r->cost, NULL));
	if (r->n_ifaces) {
		cJSON *ifs = cJSON_AddArrayToObject(o, "ifaces");
		for (unsigned i = 0; i < r->n_ifaces && i < NB_RESULT_MAX_IFACES; i++)
			cJSON_AddItemToArray(ifs, result_iface_to_json(&r->ifaces[i]));
	}
	return o;
}

/* Element i of a flow's "tcp" array: a whole number in [0, hi], or (nullable) null, which sets *ret_null.
 * 0 after a failure. */
static uint64_t dec_tcp_elem(struct dec *d, const cJSON *a, int i, uint64_t hi, bool nullable, bool *ret_null)
{
	const cJSON *v = cJSON_GetArrayItem(a, i);
	*ret_null = cJSON_IsNull(v);
	if (*ret_null && nullable)
		return 0;
	if (!cJSON_IsNumber(v) || !is_int64(v->valuedouble) || v->valuedouble < 0 ||
	    v->valuedouble > (double)hi) {
		dec_fail(d, "tcp", "element %d is not a whole number from 0 to %llu%s", i,
			 (unsigned long long)hi, nullable ? " or null" : "");
		return 0;
	}
	return (uint64_t)v->valuedouble;
}

/* A flow's "tcp" (optional: UDP flows, sockets the responder could not read and older responders have
 * none), as result_tcp_to_json writes it. */
static void result_tcp_from_json(const cJSON *a, struct nb_tcpinfo *t, struct dec *d)
{
	const uint64_t u32 = UINT32_MAX, lim = 1ULL << 53;
	uint64_t v[NB_RESULT_TCP_FIELDS];
	bool null[NB_RESULT_TCP_FIELDS];
	int n = cJSON_GetArraySize(a);

	if (!cJSON_IsArray(a) || n < NB_RESULT_TCP_FIELDS || n > NB_RESULT_TCP_MAX) {
		dec_fail(d, "tcp", "is not an array of %d to %d elements", NB_RESULT_TCP_FIELDS,
			 NB_RESULT_TCP_MAX);
		return;
	}
	for (int i = 0; i < NB_RESULT_TCP_FIELDS; i++)
		v[i] = dec_tcp_elem(d, a, i, i == 5 || i == 6 ? lim : u32, i >= 5, &null[i]);
	if (!d->rc && null[7] != null[8])
		dec_fail(d, "tcp", "has reord_seen and dsack_dups not both null or both numbers");
	if (d->rc)
		return;
	*t = (struct nb_tcpinfo){.valid = true,
				 .have = (null[5] ? 0 : NB_TCPINFO_PACING) |
					 (null[6] ? 0 : NB_TCPINFO_DELIVERY) |
					 (null[7] ? 0 : NB_TCPINFO_REORD),
				 .retransmits = v[0],
				 .cwnd_segs = v[1],
				 .mss_bytes = (uint32_t)v[2],
				 .cwnd_bytes = v[1] * v[2], /* < 2^64: both are u32 */
				 .srtt_us = (uint32_t)v[3],
				 .rttvar_us = (uint32_t)v[4],
				 .pacing_rate_bps = v[5],
				 .delivery_rate_bps = v[6],
				 .reord_seen = v[7],
				 .dsack_dups = v[8]};
}

static void result_flow_from_json(const cJSON *j, unsigned i, struct nb_result_flow *f, struct dec *outer)
{
	char what[32];
	snprintf(what, sizeof(what), "flow %u", i);
	struct dec d = {.o = j, .what = what, .err = outer->err, .errlen = outer->errlen, .rc = outer->rc};
	if (!cJSON_IsObject(j)) {
		dec_fail(outer, what, "is not an object");
		return;
	}
	f->bytes_sent = dec_count(&d, "bytes_sent");
	f->msgs_sent = dec_count(&d, "msgs_sent");
	f->bytes_rcvd = dec_count(&d, "bytes_rcvd");
	f->msgs_rcvd = dec_count(&d, "msgs_rcvd");
	f->reordered = dec_count(&d, "reordered");
	f->window_bytes = dec_count(&d, "window_bytes");
	f->window_ns = dec_int(&d, "window_ns", 0, INT64_MAX);
	const cJSON *tcp = cJSON_GetObjectItemCaseSensitive(j, "tcp");
	if (tcp && !d.rc)
		result_tcp_from_json(tcp, &f->tcp, &d);
	outer->rc = d.rc;
}

static int cpu_cost_from_json(const cJSON *j, void *ret, char *err, size_t errlen)
{
	return nb_cpu_cost_from_json(j, ret, err, errlen);
}

/* A string of printable ASCII that fits buf: a peer's text that ends up on a terminal. "" after a failure. */
static const char *dec_text(struct dec *d, const char *key, char *buf, size_t size)
{
	dec_str(d, key, buf, size);
	for (const unsigned char *p = (const unsigned char *)buf; *p; p++)
		if (*p < 0x20 || *p >= 0x7f) {
			dec_fail(d, key, "holds a character that is not printable ASCII");
			buf[0] = '\0';
			break;
		}
	return buf;
}

static bool counter_name_ok(const char *name)
{
	size_t len = strlen(name);
	if (!len || len >= NB_NIC_NAME_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			return false;
	return true;
}

/* One counter of an interface's "counters" into f, unless its name or value is bad or it repeats one. */
static void result_counter_from_json(struct dec *d, const cJSON *it, struct nb_result_iface *f)
{
	const double lim = 9007199254740992.0; /* 2^53: beyond it a JSON number is not exact */
	struct nb_nic_counter *k = &f->counters[f->n_counters];

	if (!counter_name_ok(it->string)) {
		dec_fail(d, "counters",
			 "has a name that is empty, of %d bytes or more, or not printable ASCII",
			 NB_NIC_NAME_MAX);
		return;
	}
	for (unsigned i = 0; i < f->n_counters; i++)
		if (!strcmp(f->counters[i].name, it->string)) {
			dec_fail(d, "counters", "names a counter twice");
			return;
		}
	if (!cJSON_IsNumber(it) || !is_int64(it->valuedouble) || it->valuedouble < -lim ||
	    it->valuedouble > lim) {
		dec_fail(d, "counters", "has a value that is not a whole number from -2^53 to 2^53");
		return;
	}
	memcpy(k->name, it->string, strlen(it->string) + 1);
	k->value = (int64_t)it->valuedouble;
	f->n_counters++;
}

static void result_counters_from_json(struct dec *d, struct nb_result_iface *f)
{
	const cJSON *c = dec_item(d, "counters"), *it;

	if (!c || cJSON_IsNull(c))
		return; /* not counted */
	if (!cJSON_IsObject(c) || cJSON_GetArraySize(c) > NB_RESULT_MAX_COUNTERS) {
		dec_fail(d, "counters", "is not null or an object of at most %u counters",
			 NB_RESULT_MAX_COUNTERS);
		return;
	}
	f->counted = true;
	cJSON_ArrayForEach(it, c)
	{
		if (d->rc)
			return;
		result_counter_from_json(d, it, f);
	}
}

static void result_iface_from_json(const cJSON *j, unsigned i, struct nb_result_iface *f, struct dec *outer)
{
	char what[32];
	struct nb_nic_id *id = &f->id;
	snprintf(what, sizeof(what), "interface %u", i);
	struct dec d = {.o = j, .what = what, .err = outer->err, .errlen = outer->errlen, .rc = outer->rc};
	if (!cJSON_IsObject(j)) {
		dec_fail(outer, what, "is not an object");
		return;
	}
	dec_text(&d, "name", id->name, sizeof(id->name));
	if (!d.rc && !nb_nic_name_valid(id->name))
		dec_fail(&d, "name", "is not an interface name");
	dec_text(&d, "netns", id->netns, sizeof(id->netns));
	dec_text(&d, "driver", id->driver, sizeof(id->driver));
	dec_text(&d, "driver_version", id->driver_version, sizeof(id->driver_version));
	dec_text(&d, "firmware", id->firmware, sizeof(id->firmware));
	dec_text(&d, "bus", id->bus, sizeof(id->bus));
	id->speed_mbps = dec_int(&d, "speed_mbps", -1, INT32_MAX);
	dec_text(&d, "duplex", id->duplex, sizeof(id->duplex));
	if (!d.rc && id->duplex[0] && strcmp(id->duplex, "full") && strcmp(id->duplex, "half"))
		dec_fail(&d, "duplex", "is not \"full\", \"half\" or \"\"");
	result_counters_from_json(&d, f);
	f->left_out = (unsigned)dec_int(&d, "left_out", 0, UINT32_MAX);
	outer->rc = d.rc;
}

/* "ifaces" (optional: a responder with none to report leaves it out). */
static void result_ifaces_from_json(struct dec *d, struct nb_result *r)
{
	const cJSON *a = dec_item(d, "ifaces"), *f;

	if (a && (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > NB_RESULT_MAX_IFACES)) {
		dec_fail(d, "ifaces", "is not an array of at most %u interfaces", NB_RESULT_MAX_IFACES);
		return;
	}
	cJSON_ArrayForEach(f, a)
	{
		result_iface_from_json(f, r->n_ifaces, &r->ifaces[r->n_ifaces], d);
		r->n_ifaces++;
	}
}

/* The counters that must not be left out: the kernel's link stats, and every drop or error counter. */
static bool counter_first(const char *name)
{
	return strncmp(name, "driver.", 7) || nb_nic_counter_is_drop(name) || nb_nic_counter_is_error(name);
}

static void result_counter_add(struct nb_result_iface *f, const struct nb_nic_counter *c)
{
	char name[NB_NIC_NAME_MAX] = ""; /* all of it zeroed: it is copied whole */

	printable_copy(name, sizeof(name), c->name);
	if (!name[0])
		return;
	for (unsigned i = 0; i < f->n_counters; i++)
		if (!strcmp(f->counters[i].name, name))
			return;
	if (f->n_counters == NB_RESULT_MAX_COUNTERS) {
		f->left_out++;
		return;
	}
	const int64_t lim = 1LL << 53; /* the decoder's range: a JSON number is exact within it */
	memcpy(f->counters[f->n_counters].name, name, sizeof(name));
	f->counters[f->n_counters++].value = c->value > lim ? lim : c->value < -lim ? -lim : c->value;
}

void nb_result_iface_set(struct nb_result_iface *f, const struct nb_nic_id *id,
			 const struct nb_nic_snap *delta)
{
	struct nb_nic_id *d = &f->id;

	memset(f, 0, sizeof(*f));
	printable_copy(d->name, sizeof(d->name), id->name);
	printable_copy(d->netns, sizeof(d->netns), id->netns);
	printable_copy(d->driver, sizeof(d->driver), id->driver);
	printable_copy(d->driver_version, sizeof(d->driver_version), id->driver_version);
	printable_copy(d->firmware, sizeof(d->firmware), id->firmware);
	printable_copy(d->bus, sizeof(d->bus), id->bus);
	d->speed_mbps = id->speed_mbps >= 0 && id->speed_mbps <= INT32_MAX ? id->speed_mbps : -1;
	snprintf(d->duplex, sizeof(d->duplex), "%s",
		 !strcmp(id->duplex, "full") || !strcmp(id->duplex, "half") ? id->duplex : "");
	f->counted = delta != NULL;
	for (int pass = 0; delta && pass < 2; pass++)
		for (unsigned k = 0; k < delta->n; k++)
			if (counter_first(delta->c[k].name) == (pass == 0))
				result_counter_add(f, &delta->c[k]);
}

int nb_result_from_json(const cJSON *j, struct nb_result *r, char *err, size_t errlen)
{
	struct dec d;
	memset(r, 0, sizeof(*r));
	if (dec_begin(&d, j, "result", err, errlen) < 0)
		return d.rc;
	const cJSON *fl = dec_item(&d, "flows"), *f;
	if (fl && (!cJSON_IsArray(fl) || cJSON_GetArraySize(fl) > NB_MAX_FLOWS))
		dec_fail(&d, "flows", "is not an array of at most %u flows", NB_MAX_FLOWS);
	else if (fl)
		cJSON_ArrayForEach(f, fl)
		{
			result_flow_from_json(f, r->n_flows, &r->flows[r->n_flows], &d);
			r->n_flows++;
		}
	dec_str(&d, "resp_cpus", r->cpus, sizeof(r->cpus));
	dec_str(&d, "resp_wait", r->wait, sizeof(r->wait));
	r->cpu_ns = dec_count(&d, "resp_cpu_ns");
	if (cJSON_GetObjectItemCaseSensitive(j, "error"))
		dec_str(&d, "error", r->error, sizeof(r->error));
	r->have_cost = cJSON_GetObjectItemCaseSensitive(j, "cpu") != NULL;
	if (r->have_cost)
		dec_sub(&d, "cpu", &r->cost, cpu_cost_from_json);
	if (cJSON_GetObjectItemCaseSensitive(j, "ifaces"))
		result_ifaces_from_json(&d, r);
	return d.rc;
}

/* ---- CPU cost, machine facts ---- */

cJSON *nb_cpu_cost_to_json(const struct nb_cpu_cost *c, const struct nb_test_cfg *for_report)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "source", c->source);
	cJSON_AddBoolToObject(o, "valid", c->valid);
	cJSON_AddNumberToObject(o, "wall_s", c->wall_s);
	add_u64(o, "ncpus", c->ncpus);
	cJSON_AddNumberToObject(o, "tsc_hz", c->tsc_hz);
	cJSON_AddNumberToObject(o, "util", c->util);
	add_u64(o, "busy_ns", c->busy_ns);
	add_u64(o, "user_ns", c->user_ns);
	add_u64(o, "system_ns", c->system_ns);
	add_u64(o, "softirq_ns", c->softirq_ns);
	add_u64(o, "irq_ns", c->irq_ns);
	cJSON_AddNumberToObject(o, "cycles", c->cycles);
	if (for_report && for_report->kind == NB_TEST_STREAM)
		cJSON_AddNumberToObject(o, "cycles_per_byte", c->cycles_per_byte);
	else if (for_report)
		cJSON_AddNumberToObject(o, "cycles_per_transaction", c->cycles_per_txn);
	add_u64(o, "gen_cpu_ns", c->gen_ns);
	add_u64(o, "resp_cpu_ns", c->resp_ns);
	add_u64(o, "other_ns", c->other_ns);
	if (for_report)
		add_u64(o, "unattributed_ns", nb_cpu_cost_unattributed_ns(c));
	cJSON_AddBoolToObject(o, "disturbed", c->disturbed);
	return o;
}

int nb_cpu_cost_from_json(const cJSON *j, struct nb_cpu_cost *c, char *err, size_t errlen)
{
	struct dec d;
	memset(c, 0, sizeof(*c));
	if (dec_begin(&d, j, "cpu", err, errlen) < 0)
		return d.rc;
	dec_str(&d, "source", c->source, sizeof(c->source));
	c->valid = dec_bool(&d, "valid");
	c->wall_s = dec_num(&d, "wall_s", 0, DBL_MAX);
	c->ncpus = (unsigned)dec_int(&d, "ncpus", 0, UINT_MAX);
	c->tsc_hz = dec_num(&d, "tsc_hz", 0, DBL_MAX);
	c->util = dec_num(&d, "util", 0, DBL_MAX);
	c->busy_ns = dec_count(&d, "busy_ns");
	c->user_ns = dec_count(&d, "user_ns");
	c->system_ns = dec_count(&d, "system_ns");
	c->softirq_ns = dec_count(&d, "softirq_ns");
	c->irq_ns = dec_count(&d, "irq_ns");
	c->cycles = dec_num(&d, "cycles", 0, DBL_MAX);
	c->gen_ns = dec_count(&d, "gen_cpu_ns");
	c->resp_ns = dec_count(&d, "resp_cpu_ns");
	c->other_ns = dec_count(&d, "other_ns");
	c->disturbed = dec_bool(&d, "disturbed");
	return d.rc;
}

cJSON *nb_sysinfo_to_json(const struct nb_sysinfo *si)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "hostname", si->hostname);
	cJSON_AddStringToObject(o, "kernel", si->kernel);
	cJSON_AddStringToObject(o, "boot_id", si->boot_id);
	cJSON_AddStringToObject(o, "cpu_model", si->cpu_model);
	add_u64(o, "ncpus", si->ncpus);
	return o;
}

int nb_sysinfo_from_json(const cJSON *j, struct nb_sysinfo *si, char *err, size_t errlen)
{
	struct dec d;
	memset(si, 0, sizeof(*si));
	if (dec_begin(&d, j, "sysinfo", err, errlen) < 0)
		return d.rc;
	dec_str(&d, "hostname", si->hostname, sizeof(si->hostname));
	dec_str(&d, "kernel", si->kernel, sizeof(si->kernel));
	dec_str(&d, "boot_id", si->boot_id, sizeof(si->boot_id));
	dec_str(&d, "cpu_model", si->cpu_model, sizeof(si->cpu_model));
	si->ncpus = (unsigned)dec_int(&d, "ncpus", 0, UINT_MAX);
	/* the peer's words go into reports and terminals: no escape sequences */
	char *txt[] = {si->hostname, si->kernel, si->boot_id, si->cpu_model};
	size_t len[] = {sizeof(si->hostname), sizeof(si->kernel), sizeof(si->boot_id), sizeof(si->cpu_model)};
	for (unsigned i = 0; i < 4; i++)
		printable_copy(txt[i], len[i], txt[i]);
	return d.rc;
}
