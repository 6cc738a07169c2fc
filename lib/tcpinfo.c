/* SPDX-License-Identifier: MIT */
#include "nbench/tcpinfo.h"

#include <errno.h>
#include <linux/tcp.h> /* the kernel's struct tcp_info: glibc's netinet/tcp.h lags it */
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

/* Whether the kernel's len bytes reach to the end of field f of struct tcp_info. */
#define FILLED(len, f) ((len) >= offsetof(struct tcp_info, f) + sizeof(((struct tcp_info *)0)->f))

/* A rate in bytes/s as bits/s; the kernel's "unlimited" (~0) and anything past 2^61 bytes/s saturate. */
static uint64_t bytes_to_bits(uint64_t bytes_per_s)
{
	return bytes_per_s > UINT64_MAX / 8 ? UINT64_MAX : bytes_per_s * 8;
}

int nb_tcpinfo_parse(const void *buf, size_t len, struct nb_tcpinfo *ret)
{
	struct tcp_info ti;

	memset(ret, 0, sizeof(*ret));
	if (!FILLED(len, tcpi_total_retrans))
		return -EPROTO;
	memset(&ti, 0, sizeof(ti));
	memcpy(&ti, buf, len < sizeof(ti) ? len : sizeof(ti));
	ret->valid = true;
	ret->retransmits = ti.tcpi_total_retrans;
	ret->cwnd_segs = ti.tcpi_snd_cwnd;
	ret->mss_bytes = ti.tcpi_snd_mss;
	ret->cwnd_bytes = (uint64_t)ti.tcpi_snd_cwnd * ti.tcpi_snd_mss;
	ret->srtt_us = ti.tcpi_rtt;
	ret->rttvar_us = ti.tcpi_rttvar;
	/* ~0: no rate set (the socket's pacing is unlimited), not a rate */
	if (FILLED(len, tcpi_pacing_rate) && ti.tcpi_pacing_rate != UINT64_MAX) {
		ret->have |= NB_TCPINFO_PACING;
		ret->pacing_rate_bps = bytes_to_bits(ti.tcpi_pacing_rate);
	}
	if (FILLED(len, tcpi_delivery_rate)) {
		ret->have |= NB_TCPINFO_DELIVERY;
		ret->delivery_rate_bps = bytes_to_bits(ti.tcpi_delivery_rate);
	}
	if (FILLED(len, tcpi_reord_seen)) {
		ret->have |= NB_TCPINFO_REORD;
		ret->reord_seen = ti.tcpi_reord_seen;
		ret->dsack_dups = ti.tcpi_dsack_dups;
	}
	return 0;
}

int nb_tcpinfo_get(int fd, struct nb_tcpinfo *ret)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(ret, 0, sizeof(*ret));
	if (fd < 0)
		return -EBADF;
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	return nb_tcpinfo_parse(&ti, len, ret);
}

/* a + b, UINT64_MAX when it would not fit */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t since(uint64_t now, uint64_t then)
{
	return now >= then ? now - then : 0;
}

void nb_tcpinfo_since(const struct nb_tcpinfo *now, const struct nb_tcpinfo *then, struct nb_tcpinfo *ret)
{
	*ret = *now;
	if (!now->valid || !then->valid)
		return;
	ret->retransmits = since(now->retransmits, then->retransmits);
	ret->reord_seen = since(now->reord_seen, then->reord_seen);
	ret->dsack_dups = since(now->dsack_dups, then->dsack_dups);
	/* a counter the earlier sample lacked has no difference */
	ret->have &= then->have | ~NB_TCPINFO_REORD;
}

void nb_tcpinfo_sum_add(struct nb_tcpinfo_sum *s, const struct nb_tcpinfo *one)
{
	struct nb_tcpinfo *t = &s->t;

	if (!one->valid)
		return;
	t->have = s->n ? t->have & one->have : one->have;
	t->retransmits += one->retransmits;
	t->cwnd_segs += one->cwnd_segs;
	t->cwnd_bytes += one->cwnd_bytes;
	if (one->mss_bytes > t->mss_bytes)
		t->mss_bytes = one->mss_bytes;
	t->pacing_rate_bps = sat_add(t->pacing_rate_bps, one->pacing_rate_bps);
	t->delivery_rate_bps = sat_add(t->delivery_rate_bps, one->delivery_rate_bps);
	t->reord_seen += one->reord_seen;
	t->dsack_dups += one->dsack_dups;
	s->srtt_sum_us += one->srtt_us;
	s->rttvar_sum_us += one->rttvar_us;
	s->n++;
}

void nb_tcpinfo_sum_get(const struct nb_tcpinfo_sum *s, struct nb_tcpinfo *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (!s->n)
		return;
	*ret = s->t;
	ret->valid = true;
	/* rounded to the nearest microsecond, as the kernel's own figures are */
	ret->srtt_us = (uint32_t)((s->srtt_sum_us + s->n / 2) / s->n);
	ret->rttvar_us = (uint32_t)((s->rttvar_sum_us + s->n / 2) / s->n);
	/* a field some flow lacked is not summed over the flows: not a figure */
	if (!(ret->have & NB_TCPINFO_PACING))
		ret->pacing_rate_bps = 0;
	if (!(ret->have & NB_TCPINFO_DELIVERY))
		ret->delivery_rate_bps = 0;
	if (!(ret->have & NB_TCPINFO_REORD))
		ret->reord_seen = ret->dsack_dups = 0;
}
