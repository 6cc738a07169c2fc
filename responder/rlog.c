/* SPDX-License-Identifier: MIT */
/*
 * The responder's log: lines through nb_serve_cfg.log. What a peer can make happen at will before it proves
 * anything (a refused connection, a forged data hello) goes through a rate limit: a flood of them must not
 * flood the log, and what was left out is counted and said.
 */
#include <stdarg.h>
#include <stdio.h>

#include "nbench/clock.h"
#include "resp_int.h"

/* Lines before authentication: at most PRE_BURST in each window of PRE_WINDOW_NS. */
#define PRE_WINDOW_NS (1 * NB_NS_PER_S)
#define PRE_BURST     5

static void vlog(struct server *s, const char *fmt, va_list ap)
{
	char buf[512];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	s->sc->log(s->sc->log_arg, buf);
}

void nb_rlog(struct server *s, const char *fmt, ...)
{
	if (!s->sc->log)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog(s, fmt, ap);
	va_end(ap);
}

/* A window over: the count of the lines it left out, if any (under log_mu). */
static void pre_window_end(struct server *s, int64_t now)
{
	if (s->pre_left_out)
		nb_rlog(s,
			"%u more lines about connections that proved no key (refusals, timeouts) not logged "
			"in the last %.0f s (at most %d a second)",
			s->pre_left_out, (double)(now - s->pre_window_ns) / 1e9, PRE_BURST);
	s->pre_window_ns = now;
	s->pre_lines = s->pre_left_out = 0;
}

void nb_rlog_pre(struct server *s, const char *fmt, ...)
{
	if (!s->sc->log)
		return;
	int64_t now = nb_now_ns();
	pthread_mutex_lock(&s->log_mu);
	if (now - s->pre_window_ns >= PRE_WINDOW_NS)
		pre_window_end(s, now);
	bool log = s->pre_lines < PRE_BURST;
	if (log)
		s->pre_lines++;
	else
		s->pre_left_out++;
	pthread_mutex_unlock(&s->log_mu);
	if (!log)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog(s, fmt, ap);
	va_end(ap);
}

void nb_rlog_flush(struct server *s)
{
	if (!s->sc->log)
		return;
	int64_t now = nb_now_ns();
	pthread_mutex_lock(&s->log_mu);
	if (s->pre_left_out && now - s->pre_window_ns >= PRE_WINDOW_NS)
		pre_window_end(s, now);
	pthread_mutex_unlock(&s->log_mu);
}

/* "the DPDK responder", or "the responder" for an engine without a label. */
const char *nb_resp_name(const struct server *s, char *buf, size_t len)
{
	const char *label = s->eng->ops->label;
	snprintf(buf, len, "the %s%sresponder", label ? label : "", label ? " " : "");
	return buf;
}
