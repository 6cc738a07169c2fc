/* SPDX-License-Identifier: MIT */
#include "nbench/cfg.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nbench/clock.h"

/* The CLI's spelling of each option, used in the messages of nb_cfg_check. Kept in one place so the
 * messages follow the CLI if it renames a flag. */
#define OPT_TIME	"-t"
#define OPT_WARMUP	"--warmup"
#define OPT_INTERVAL	"-i"
#define OPT_FLOWS	"-P"
#define OPT_PORT	"--port"
#define OPT_MSG		"--msg-size"
#define OPT_RR_SIZE	"-r"
#define OPT_DEPTH	"--depth"
#define OPT_RATE	"--rate"
#define OPT_REVERSE	"--reverse"
#define OPT_UDP_TIMEOUT "--udp-timeout"
#define OPT_BUSY_POLL	"--busy-poll"
#define OPT_CPU_GEN	"--cpu-gen"
#define OPT_CPU_RESP	"--cpu-resp"
#define OPT_ENGINE	"--engine"

#define DEFAULT_RR_REQ_BYTES   100
#define DEFAULT_RR_RESP_BYTES  200
#define DEFAULT_UDP_TIMEOUT_NS (200 * NB_NS_PER_MS)

void nb_cfg_defaults(struct nb_test_cfg *cfg, enum nb_test_kind kind)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->kind = kind;
	cfg->proto = NB_PROTO_TCP;
	snprintf(cfg->engine, sizeof(cfg->engine), "sock");
	cfg->port = NB_DEFAULT_PORT;
	cfg->duration_ns = 10 * NB_NS_PER_S;
	cfg->warmup_ns = 0;
	cfg->interval_ns = NB_NS_PER_S;
	cfg->flows = 1;
	cfg->reverse = false;
	cfg->msg_bytes = 0; /* default for the protocol: see nb_cfg_msg_bytes */
	cfg->req_bytes = DEFAULT_RR_REQ_BYTES;
	cfg->resp_bytes = DEFAULT_RR_RESP_BYTES;
	cfg->depth = 1;
	cfg->rate_tps = 0;
	cfg->rate_bps = 0;
	cfg->udp_timeout_ns = DEFAULT_UDP_TIMEOUT_NS;
	cfg->cpu_gen = -1;
	cfg->cpu_resp = -1;
	cfg->wait = NB_WAIT_BLOCK;
	cfg->busy_poll_us = 0;
	cfg->nodelay = kind != NB_TEST_STREAM;
}

uint32_t nb_cfg_msg_bytes(const struct nb_test_cfg *cfg)
{
	if (cfg->msg_bytes)
		return cfg->msg_bytes;
	return cfg->proto == NB_PROTO_UDP ? NB_DEFAULT_UDP_MSG_BYTES : NB_DEFAULT_TCP_MSG_BYTES;
}

void nb_cfg_resolve(struct nb_test_cfg *cfg)
{
	cfg->msg_bytes = nb_cfg_msg_bytes(cfg);
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A size that goes into one message: UDP datagrams carry the sequence number and fit one IP packet. */
static int check_size(const struct nb_test_cfg *cfg, uint64_t v, const char *what, char *err, size_t errlen)
{
	if (cfg->proto == NB_PROTO_UDP) {
		if (v < NB_UDP_HDR_BYTES || v > NB_MAX_UDP_BYTES)
			return fail(err, errlen, "%s must be between %u and %u bytes for UDP", what,
				    NB_UDP_HDR_BYTES, NB_MAX_UDP_BYTES);
	} else if (v < 1 || v > NB_MAX_MSG_BYTES) {
		return fail(err, errlen, "%s must be between 1 and %u bytes", what, NB_MAX_MSG_BYTES);
	}
	return 0;
}

static int check_duration(int64_t v, bool zero_ok, const char *opt, char *err, size_t errlen)
{
	if (v < 0 || (!zero_ok && v == 0) || v > NB_MAX_DURATION_NS)
		return fail(err, errlen, "%s must be %s and <= %lld s", opt, zero_ok ? ">= 0" : "> 0",
			    NB_MAX_DURATION_NS / NB_NS_PER_S);
	return 0;
}

/* cpu_resp against the CPUs configured on this machine, the responder's. */
static int check_resp_cpu(const struct nb_test_cfg *cfg, char *err, size_t errlen)
{
	long ncpus = sysconf(_SC_NPROCESSORS_CONF);
	if (ncpus < 1)
		ncpus = 1;
	if (cfg->cpu_resp < -1 || cfg->cpu_resp >= ncpus)
		return fail(err, errlen,
			    "%s must be a CPU number 0-%ld (the responder's machine has %ld CPUs)",
			    OPT_CPU_RESP, ncpus - 1, ncpus);
	return 0;
}

enum check_side { SIDE_GENERATOR, SIDE_RESPONDER };

/* The test's kind, protocol, wait mode, engine, host and port are ones nbench knows. */
static int check_identity(const struct nb_test_cfg *cfg, char *err, size_t errlen)
{
	if (cfg->kind != NB_TEST_STREAM && cfg->kind != NB_TEST_RR && cfg->kind != NB_TEST_CRR)
		return fail(err, errlen, "unknown test kind %d", (int)cfg->kind);
	if (cfg->proto != NB_PROTO_TCP && cfg->proto != NB_PROTO_UDP)
		return fail(err, errlen, "unknown protocol %d", (int)cfg->proto);
	if (cfg->wait != NB_WAIT_BLOCK && cfg->wait != NB_WAIT_SPIN)
		return fail(err, errlen, "unknown wait mode %d", (int)cfg->wait);
	if (!memchr(cfg->engine, '\0', sizeof(cfg->engine)) || !cfg->engine[0])
		return fail(err, errlen, "%s must name an engine", OPT_ENGINE);
	if (!memchr(cfg->host, '\0', sizeof(cfg->host)))
		return fail(err, errlen, "host name too long");
	if (cfg->port == 0)
		return fail(err, errlen, "%s must be 1-65535", OPT_PORT);
	if (cfg->kind == NB_TEST_CRR && cfg->proto != NB_PROTO_TCP)
		return fail(err, errlen, "crr is TCP only: it measures connection setup");
	if (cfg->reverse && cfg->kind != NB_TEST_STREAM)
		return fail(err, errlen, "%s applies only to stream tests", OPT_REVERSE);
	return 0;
}

/* The durations, the flow count and the UDP timeout are in range. */
static int check_timing(const struct nb_test_cfg *cfg, char *err, size_t errlen)
{
	int r = check_duration(cfg->duration_ns, false, OPT_TIME, err, errlen);
	if (r == 0)
		r = check_duration(cfg->warmup_ns, true, OPT_WARMUP, err, errlen);
	if (r == 0)
		r = check_duration(cfg->interval_ns, true, OPT_INTERVAL, err, errlen);
	if (r == 0 && cfg->proto == NB_PROTO_UDP)
		r = check_duration(cfg->udp_timeout_ns, false, OPT_UDP_TIMEOUT, err, errlen);
	if (r < 0)
		return r;
	if (cfg->flows < 1 || cfg->flows > NB_MAX_FLOWS)
		return fail(err, errlen, "%s must be 1-%d", OPT_FLOWS, NB_MAX_FLOWS);
	if (cfg->busy_poll_us < 0 || cfg->busy_poll_us > NB_MAX_BUSY_POLL_US)
		return fail(err, errlen, "%s must be 0-%d us", OPT_BUSY_POLL, NB_MAX_BUSY_POLL_US);
	return 0;
}

/* The message sizes, the depth and the rates fit the test's kind. */
static int check_load(const struct nb_test_cfg *cfg, char *err, size_t errlen)
{
	int r;
	if (cfg->kind == NB_TEST_STREAM) {
		r = check_size(cfg, nb_cfg_msg_bytes(cfg), OPT_MSG, err, errlen);
	} else {
		r = check_size(cfg, cfg->req_bytes, OPT_RR_SIZE " request size", err, errlen);
		if (r == 0)
			r = check_size(cfg, cfg->resp_bytes, OPT_RR_SIZE " response size", err, errlen);
	}
	if (r < 0)
		return r;
	if (cfg->depth < 1 || cfg->depth > NB_MAX_DEPTH)
		return fail(err, errlen, "%s must be 1-%d", OPT_DEPTH, NB_MAX_DEPTH);
	if (cfg->depth != 1 && cfg->kind != NB_TEST_RR)
		return fail(err, errlen, "%s applies only to rr tests", OPT_DEPTH);
	/* 0 is closed loop; with depth > 1 an open-loop rate is fine: depth caps what is in flight */
	if (!isfinite(cfg->rate_tps) || cfg->rate_tps < 0)
		return fail(err, errlen, "%s must be > 0", OPT_RATE);
	if (cfg->rate_tps != 0 && cfg->kind != NB_TEST_RR)
		return fail(err, errlen, "%s applies only to rr tests", OPT_RATE);
	if (!isfinite(cfg->rate_bps) || cfg->rate_bps < 0 || cfg->rate_bps > NB_MAX_RATE_BPS)
		return fail(err, errlen, "%s must be above 0 and at most 10T bits/s", OPT_RATE);
	if (cfg->rate_bps != 0 && cfg->kind != NB_TEST_STREAM)
		return fail(err, errlen, "a rate in bits/s applies only to stream tests");
	return 0;
}

/* The generator's CPU is one of this machine's; the responder's one of any machine's (it checks against its
 * own in check_resp_cpu). */
static int check_gen_cpu(const struct nb_test_cfg *cfg, char *err, size_t errlen)
{
	long ncpus = sysconf(_SC_NPROCESSORS_CONF);
	if (ncpus < 1)
		ncpus = 1;
	if (cfg->cpu_gen < -1 || cfg->cpu_gen >= ncpus)
		return fail(err, errlen, "%s must be a CPU number 0-%ld (this machine has %ld CPUs)",
			    OPT_CPU_GEN, ncpus - 1, ncpus);
	if (cfg->cpu_resp < -1 || cfg->cpu_resp >= CPU_SETSIZE)
		return fail(err, errlen, "%s must be a CPU number 0-%d", OPT_CPU_RESP, CPU_SETSIZE - 1);
	return 0;
}

/* The first problem found, in the order a user reads the options: what the test is, how long, how much. */
static int check(const struct nb_test_cfg *cfg, enum check_side side, char *err, size_t errlen)
{
	int r;

	if (err && errlen)
		err[0] = '\0';
	if ((r = check_identity(cfg, err, errlen)) < 0 || (r = check_timing(cfg, err, errlen)) < 0 ||
	    (r = check_load(cfg, err, errlen)) < 0)
		return r;
	if (side == SIDE_RESPONDER) /* cpu_gen is the generator machine's business */
		return check_resp_cpu(cfg, err, errlen);
	return check_gen_cpu(cfg, err, errlen);
}

int nb_cfg_check(const struct nb_test_cfg *cfg, char *err, size_t errlen)
{
	return check(cfg, SIDE_GENERATOR, err, errlen);
}

int nb_cfg_check_responder(const struct nb_test_cfg *cfg, char *err, size_t errlen)
{
	return check(cfg, SIDE_RESPONDER, err, errlen);
}

static const char *const kind_names[] = {
    [NB_TEST_STREAM] = "stream", [NB_TEST_RR] = "rr", [NB_TEST_CRR] = "crr"};
static const char *const proto_names[] = {[NB_PROTO_TCP] = "tcp", [NB_PROTO_UDP] = "udp"};
static const char *const wait_names[] = {[NB_WAIT_BLOCK] = "block", [NB_WAIT_SPIN] = "spin"};

#define NAME_OF(tab, v) ((unsigned)(v) < sizeof(tab) / sizeof(tab[0]) ? tab[v] : "?")

static int parse_name(const char *const *tab, unsigned n, const char *s, int *ret)
{
	if (!s)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		if (tab[i] && !strcasecmp(tab[i], s)) {
			*ret = (int)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *nb_test_kind_name(enum nb_test_kind k)
{
	return NAME_OF(kind_names, k);
}

const char *nb_proto_name(enum nb_proto p)
{
	return NAME_OF(proto_names, p);
}

const char *nb_wait_name(enum nb_wait w)
{
	return NAME_OF(wait_names, w);
}

int nb_test_kind_parse(const char *s, enum nb_test_kind *ret)
{
	int v, r = parse_name(kind_names, 3, s, &v);
	if (r == 0)
		*ret = (enum nb_test_kind)v;
	return r;
}

int nb_proto_parse(const char *s, enum nb_proto *ret)
{
	int v, r = parse_name(proto_names, 2, s, &v);
	if (r == 0)
		*ret = (enum nb_proto)v;
	return r;
}

int nb_wait_parse(const char *s, enum nb_wait *ret)
{
	int v, r = parse_name(wait_names, 2, s, &v);
	if (r == 0)
		*ret = (enum nb_wait)v;
	return r;
}
