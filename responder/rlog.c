/* SPDX-License-Identifier: MIT */
/* The responder's log: lines through nb_serve_cfg.log, and the rate limit on refusals a peer can repeat at
 * will (a flood of forged data hellos must not flood the log). */
#include <stdarg.h>
#include <stdio.h>

#include "nbench/clock.h"
#include "resp_int.h"

/* A refused data hello is logged at most this often. */
#define REFUSAL_LOG_NS (1 * NB_NS_PER_S)

void nb_rlog(struct server *s, const char *fmt, ...)
{
	if (!s->sc->log)
		return;
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	s->sc->log(s->sc->log_arg, buf);
}

/* Logs a refused data hello, at most once per REFUSAL_LOG_NS with the count of those not logged since. */
void nb_rlog_refusal(struct server *s, const char *from, const char *why)
{
	int64_t now = nb_now_ns();
	pthread_mutex_lock(&s->mu);
	bool log = now - s->refusal_log_ns >= REFUSAL_LOG_NS;
	unsigned skipped = s->refusals_unlogged;
	if (log) {
		s->refusal_log_ns = now;
		s->refusals_unlogged = 0;
	} else {
		s->refusals_unlogged++;
	}
	pthread_mutex_unlock(&s->mu);
	if (log && skipped)
		nb_rlog(s, "%s: refused: %s (and %u other data hellos refused, not logged)", from, why,
			skipped);
	else if (log)
		nb_rlog(s, "%s: refused: %s", from, why);
}

/* "the DPDK responder", or "the responder" for an engine without a label. */
const char *nb_resp_name(const struct server *s, char *buf, size_t len)
{
	const char *label = s->eng->ops->label;
	snprintf(buf, len, "the %s%sresponder", label ? label : "", label ? " " : "");
	return buf;
}
