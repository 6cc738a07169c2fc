/* SPDX-License-Identifier: MIT */
/* The engine registry and what every engine shares: starting and stopping an instance. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "nbench/engine.h"

/* The registry: one entry per engine built in. */
static const struct nb_engine_ops *const engines[] = {
    &nb_engine_sock,
    &nb_engine_loop,
#ifdef NB_HAVE_DPDK
    &nb_engine_dpdk,
#endif
};

/* Engines a build may lack, and what brings them in. */
static const struct {
	const char *name, *why;
} optional[] = {
    {"dpdk", "this nbench was built without DPDK (install libdpdk-dev and rebuild)"},
};

const struct nb_engine_ops *nb_engine_find(const char *name)
{
	for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++)
		if (!strcmp(engines[i]->name, name))
			return engines[i];
	return NULL;
}

const char *nb_engine_missing(const char *name)
{
	if (nb_engine_find(name))
		return NULL;
	for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++)
		if (!strcmp(optional[i].name, name))
			return optional[i].why;
	return NULL;
}

int nb_engine_start(const struct nb_engine_ops *ops, const struct nb_test_cfg *cfg, struct nb_engine **ret,
		    char *err, size_t errlen)
{
	if (ops->caps->needs_root && geteuid() != 0) { /* ask before the engine's own, less clear, failure */
		snprintf(err, errlen, "the %s engine needs root (it drives a device or raw frames)",
			 ops->name);
		return -EPERM;
	}
	struct nb_engine *e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	e->ops = ops;
	e->caps = *ops->caps;
	int r = ops->start ? ops->start(e, cfg, err, errlen) : 0;
	if (r < 0) {
		free(e);
		return r;
	}
	*ret = e;
	return 0;
}

void nb_engine_stop(struct nb_engine *e)
{
	if (!e)
		return;
	if (e->ops->stop)
		e->ops->stop(e);
	free(e);
}

void nb_engine_tests_str(const struct nb_engine_caps *c, char *buf, size_t len)
{
	static const enum nb_test_kind kinds[] = {NB_TEST_STREAM, NB_TEST_RR, NB_TEST_CRR};
	unsigned n = 0, left = 0;
	size_t o = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < 3; i++)
		n += !!(c->tests & NB_BIT(kinds[i]));
	for (unsigned i = 0; i < 3 && o < len; i++)
		if (c->tests & NB_BIT(kinds[i])) {
			left++;
			o += (size_t)snprintf(buf + o, len - o, "%s%s",
					      left == 1	  ? ""
					      : left == n ? " and "
							  : ", ",
					      nb_test_kind_name(kinds[i]));
		}
}

void nb_engine_caps_str(const struct nb_engine_caps *c, char *buf, size_t len)
{
	const char *tcp = c->protos & NB_BIT(NB_PROTO_TCP) ? "TCP" : "";
	const char *udp = c->protos & NB_BIT(NB_PROTO_UDP) ? "UDP" : "";
	bool both = tcp[0] && udp[0];
	char tests[48];
	nb_engine_tests_str(c, tests, sizeof(tests));
	snprintf(buf, len, "%s%s%s %s", tcp, both ? "/" : "", udp, tests);
	if (!both) {
		size_t o = strlen(buf);
		snprintf(buf + o, len - o, " (--proto %s)", tcp[0] ? "tcp" : "udp");
	}
}
