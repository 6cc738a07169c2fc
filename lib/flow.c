/* SPDX-License-Identifier: MIT */
/* Helpers over any engine's flow. */
#include <errno.h>

#include "nbench/clock.h"
#include "nbench/engine.h"

int nb_flow_send_all(struct nb_flow *f, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = f->ops->send(f, p, len);
		if (n < 0)
			return (int)n;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t nb_flow_recv_all(struct nb_flow *f, void *buf, size_t len, int64_t deadline_ns)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		int64_t to = -1;
		if (deadline_ns >= 0) {
			to = deadline_ns - nb_now_ns();
			if (to <= 0)
				return -ETIMEDOUT;
		}
		ssize_t n = f->ops->recv(f, p + got, len - got, to);
		if (n == 0)
			return got ? -EPIPE : 0;
		if (n < 0)
			return n;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int nb_flow_send_burst(struct nb_flow *f, struct iovec *msgs, unsigned n)
{
	if (f->ops->send_burst)
		return f->ops->send_burst(f, msgs, n);
	unsigned i;
	for (i = 0; i < n; i++) {
		ssize_t r = f->ops->send(f, msgs[i].iov_base, msgs[i].iov_len);
		if (r < 0)
			return i ? (int)i : (int)r;
	}
	return (int)i;
}

int nb_flow_recv_burst(struct nb_flow *f, struct iovec *msgs, unsigned n, size_t *lens, int64_t timeout_ns)
{
	if (f->ops->recv_burst)
		return f->ops->recv_burst(f, msgs, n, lens, timeout_ns);
	(void)n;
	ssize_t r = f->ops->recv(f, msgs[0].iov_base, msgs[0].iov_len, timeout_ns);
	if (r <= 0)
		return (int)r;
	lens[0] = (size_t)r;
	return 1;
}

int nb_flow_tx_template(struct nb_flow *f, size_t len, size_t var_bytes)
{
	return f->ops->tx_template ? f->ops->tx_template(f, len, var_bytes) : 0;
}
