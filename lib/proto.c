/* SPDX-License-Identifier: MIT */
#include "nbench/proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nbench/clock.h"
#include "nbench/cpu.h"
#include "nbench/sysinfo.h"

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
	ret->type = ntohs(v16);
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

static int send_all_fd(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int nb_proto_send(int fd, enum nb_msg_type type, const cJSON *body)
{
	char *txt = body ? cJSON_PrintUnformatted(body) : NULL;
	const char *b = txt ? txt : "{}";
	size_t blen = strlen(b);
	char *buf = malloc(NB_PROTO_HDR_BYTES + blen);
	int r;

	if (!buf) {
		free(txt);
		return -ENOMEM;
	}
	ssize_t n = nb_frame_encode(buf, NB_PROTO_HDR_BYTES + blen, (uint16_t)type, b, blen);
	r = n < 0 ? (int)n : send_all_fd(fd, buf, (size_t)n);
	free(buf);
	free(txt);
	return r;
}

int nb_proto_send_error(int fd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON *j = cJSON_CreateObject();
	if (!j)
		return -ENOMEM;
	cJSON_AddStringToObject(j, "message", msg);
	int r = nb_proto_send(fd, NB_MSG_ERROR, j);
	cJSON_Delete(j);
	return r;
}

/* Reads exactly len bytes by the deadline. */
static int recv_exact(int fd, void *buf, size_t len, int64_t deadline_ns)
{
	char *p = buf;
	while (len) {
		if (deadline_ns >= 0) {
			int64_t left = deadline_ns - nb_now_ns();
			if (left <= 0)
				return -ETIMEDOUT;
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			int pr = poll(&pfd, 1, (int)((left + NB_NS_PER_MS - 1) / NB_NS_PER_MS));
			if (pr < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			if (pr == 0)
				return -ETIMEDOUT;
		}
		ssize_t n = recv(fd, p, len, deadline_ns >= 0 ? MSG_DONTWAIT : 0);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int nb_proto_recv(int fd, int64_t deadline_ns, uint16_t *ret_type, cJSON **ret_body,
		  uint16_t *ret_peer_version)
{
	unsigned char hdr[NB_PROTO_HDR_BYTES];
	struct nb_frame_hdr h;
	int r;

	*ret_body = NULL;
	r = recv_exact(fd, hdr, sizeof(hdr), deadline_ns);
	if (r < 0)
		return r;
	r = nb_frame_decode_hdr(hdr, sizeof(hdr), &h);
	if (ret_peer_version)
		*ret_peer_version = h.version;
	if (r < 0)
		return r;
	char *body = malloc(h.len + 1);
	if (!body)
		return -ENOMEM;
	r = recv_exact(fd, body, h.len, deadline_ns);
	if (r < 0) {
		free(body);
		return r;
	}
	cJSON *j = nb_frame_parse_body(body, h.len);
	free(body);
	if (!j)
		return -EBADMSG;
	*ret_type = h.type;
	*ret_body = j;
	return 0;
}

int64_t nb_json_i64(const cJSON *o, const char *key, int64_t dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : dflt;
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

cJSON *nb_cfg_to_json(const struct nb_test_cfg *c)
{
	cJSON *j = cJSON_CreateObject();
	if (!j)
		return NULL;
	cJSON_AddStringToObject(j, "test", nb_test_kind_name(c->kind));
	cJSON_AddStringToObject(j, "proto", nb_proto_name(c->proto));
	cJSON_AddStringToObject(j, "engine", c->engine);
	cJSON_AddStringToObject(j, "host", c->host);
	cJSON_AddNumberToObject(j, "port", c->port);
	cJSON_AddNumberToObject(j, "duration_ns", (double)c->duration_ns);
	cJSON_AddNumberToObject(j, "warmup_ns", (double)c->warmup_ns);
	cJSON_AddNumberToObject(j, "interval_ns", (double)c->interval_ns);
	cJSON_AddNumberToObject(j, "flows", c->flows);
	cJSON_AddBoolToObject(j, "reverse", c->reverse);
	cJSON_AddNumberToObject(j, "msg_bytes", c->msg_bytes);
	cJSON_AddNumberToObject(j, "req_bytes", c->req_bytes);
	cJSON_AddNumberToObject(j, "resp_bytes", c->resp_bytes);
	cJSON_AddNumberToObject(j, "depth", c->depth);
	cJSON_AddNumberToObject(j, "rate_tps", c->rate_tps);
	cJSON_AddNumberToObject(j, "rate_bps", c->rate_bps);
	cJSON_AddNumberToObject(j, "udp_timeout_ns", (double)c->udp_timeout_ns);
	cJSON_AddNumberToObject(j, "cpu_gen", c->cpu_gen);
	cJSON_AddNumberToObject(j, "cpu_resp", c->cpu_resp);
	cJSON_AddStringToObject(j, "wait", nb_wait_name(c->wait));
	cJSON_AddNumberToObject(j, "busy_poll_us", c->busy_poll_us);
	cJSON_AddBoolToObject(j, "nodelay", c->nodelay);
	return j;
}

static int get_u(const cJSON *j, const char *key, uint64_t max, uint64_t *v, char *err, size_t errlen)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, key);
	if (!it)
		return 0;
	if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > (double)max) {
		snprintf(err, errlen, "setting %s is out of range", key);
		return -EINVAL;
	}
	*v = (uint64_t)it->valuedouble;
	return 1;
}

int nb_cfg_from_json(const cJSON *j, struct nb_test_cfg *c, char *err, size_t errlen)
{
	const char *s;
	uint64_t v;
	int r;

	if ((s = nb_json_str(j, "test", NULL)) && nb_test_kind_parse(s, &c->kind) < 0)
		goto bad_str;
	if ((s = nb_json_str(j, "proto", NULL)) && nb_proto_parse(s, &c->proto) < 0)
		goto bad_str;
	if ((s = nb_json_str(j, "engine", NULL)))
		snprintf(c->engine, sizeof(c->engine), "%s", s);
	if ((s = nb_json_str(j, "wait", NULL))) {
		if (!strcmp(s, "spin"))
			c->wait = NB_WAIT_SPIN;
		else if (!strcmp(s, "block"))
			c->wait = NB_WAIT_BLOCK;
		else
			goto bad_str;
	}
#define U(key, field, max)                                                                                   \
	do {                                                                                                 \
		if ((r = get_u(j, key, max, &v, err, errlen)) < 0)                                           \
			return r;                                                                            \
		if (r)                                                                                       \
			c->field = (__typeof__(c->field))v;                                                  \
	} while (0)
	U("port", port, 65535);
	U("duration_ns", duration_ns, NB_MAX_DURATION_NS);
	U("warmup_ns", warmup_ns, NB_MAX_DURATION_NS);
	U("interval_ns", interval_ns, NB_MAX_DURATION_NS);
	U("flows", flows, NB_MAX_FLOWS);
	U("msg_bytes", msg_bytes, NB_MAX_MSG_BYTES);
	U("req_bytes", req_bytes, NB_MAX_MSG_BYTES);
	U("resp_bytes", resp_bytes, NB_MAX_MSG_BYTES);
	U("depth", depth, NB_MAX_DEPTH);
	U("udp_timeout_ns", udp_timeout_ns, NB_MAX_DURATION_NS);
	U("busy_poll_us", busy_poll_us, 1000000);
#undef U
	c->rate_tps = nb_json_num(j, "rate_tps", c->rate_tps);
	c->rate_bps = nb_json_num(j, "rate_bps", c->rate_bps);
	c->cpu_gen = (int)nb_json_i64(j, "cpu_gen", c->cpu_gen);
	c->cpu_resp = (int)nb_json_i64(j, "cpu_resp", c->cpu_resp);
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "reverse");
	if (cJSON_IsBool(b))
		c->reverse = cJSON_IsTrue(b);
	b = cJSON_GetObjectItemCaseSensitive(j, "nodelay");
	if (cJSON_IsBool(b))
		c->nodelay = cJSON_IsTrue(b);
	return 0;
bad_str:
	snprintf(err, errlen, "unknown value '%s' in the settings", s);
	return -EINVAL;
}

cJSON *nb_cpu_cost_to_json(const struct nb_cpu_cost *c)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "source", c->source);
	cJSON_AddBoolToObject(j, "valid", c->valid);
	cJSON_AddNumberToObject(j, "wall_s", c->wall_s);
	cJSON_AddNumberToObject(j, "ncpus", c->ncpus);
	cJSON_AddNumberToObject(j, "tsc_hz", c->tsc_hz);
	cJSON_AddNumberToObject(j, "busy_ns", (double)c->busy_ns);
	cJSON_AddNumberToObject(j, "user_ns", (double)c->user_ns);
	cJSON_AddNumberToObject(j, "system_ns", (double)c->system_ns);
	cJSON_AddNumberToObject(j, "irq_ns", (double)c->irq_ns);
	cJSON_AddNumberToObject(j, "softirq_ns", (double)c->softirq_ns);
	cJSON_AddNumberToObject(j, "cycles", c->cycles);
	cJSON_AddNumberToObject(j, "util", c->util);
	cJSON_AddNumberToObject(j, "gen_ns", (double)c->gen_ns);
	cJSON_AddNumberToObject(j, "resp_ns", (double)c->resp_ns);
	cJSON_AddNumberToObject(j, "other_ns", (double)c->other_ns);
	cJSON_AddBoolToObject(j, "disturbed", c->disturbed);
	return j;
}

void nb_cpu_cost_from_json(const cJSON *j, struct nb_cpu_cost *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->source, sizeof(c->source), "%s", nb_json_str(j, "source", ""));
	c->valid = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "valid"));
	c->wall_s = nb_json_num(j, "wall_s", 0);
	c->ncpus = (unsigned)nb_json_i64(j, "ncpus", 0);
	c->tsc_hz = nb_json_num(j, "tsc_hz", 0);
	c->busy_ns = (uint64_t)nb_json_num(j, "busy_ns", 0);
	c->user_ns = (uint64_t)nb_json_num(j, "user_ns", 0);
	c->system_ns = (uint64_t)nb_json_num(j, "system_ns", 0);
	c->irq_ns = (uint64_t)nb_json_num(j, "irq_ns", 0);
	c->softirq_ns = (uint64_t)nb_json_num(j, "softirq_ns", 0);
	c->cycles = nb_json_num(j, "cycles", 0);
	c->util = nb_json_num(j, "util", 0);
	c->gen_ns = (uint64_t)nb_json_num(j, "gen_ns", 0);
	c->resp_ns = (uint64_t)nb_json_num(j, "resp_ns", 0);
	c->other_ns = (uint64_t)nb_json_num(j, "other_ns", 0);
	c->disturbed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "disturbed"));
}

cJSON *nb_sysinfo_to_json(const struct nb_sysinfo *si)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "hostname", si->hostname);
	cJSON_AddStringToObject(j, "kernel", si->kernel);
	cJSON_AddStringToObject(j, "boot_id", si->boot_id);
	cJSON_AddStringToObject(j, "cpu_model", si->cpu_model);
	cJSON_AddNumberToObject(j, "ncpus", si->ncpus);
	return j;
}

void nb_sysinfo_from_json(const cJSON *j, struct nb_sysinfo *si)
{
	memset(si, 0, sizeof(*si));
	snprintf(si->hostname, sizeof(si->hostname), "%s", nb_json_str(j, "hostname", ""));
	snprintf(si->kernel, sizeof(si->kernel), "%s", nb_json_str(j, "kernel", ""));
	snprintf(si->boot_id, sizeof(si->boot_id), "%s", nb_json_str(j, "boot_id", ""));
	snprintf(si->cpu_model, sizeof(si->cpu_model), "%s", nb_json_str(j, "cpu_model", ""));
	si->ncpus = (unsigned)nb_json_i64(j, "ncpus", 0);
}
