/* SPDX-License-Identifier: MIT */
/*
 * The sock engine's receive timeouts over a connected UDP pair on 127.0.0.1: a timeout that repeats lives in
 * SO_RCVTIMEO (one syscall a receive), a one-off one does not displace it, and a blocking receive clears it.
 * This is what once kept every UDP rr receive on ppoll + recv after the handshake's one-off wait.
 * And the socket options a flow is opened with (--busy-poll, TCP_NODELAY) as the kernel reads them back, on
 * both a client flow (open) and a responder's (adopt_fd, accept of a UDP hello).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../unit/tap.h"
#include "nbench/clock.h"
#include "nbench/engine.h"

#define MS NB_NS_PER_MS

static int udp_bound(struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	socklen_t len = sizeof(*sa);
	*sa = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (fd < 0 || bind(fd, (struct sockaddr *)sa, sizeof(*sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)sa, &len) < 0)
		return -1;
	return fd;
}

/* SO_RCVTIMEO as the kernel has it, in ns: rounded up to whole jiffies (4 ms at HZ=250). */
static int64_t kernel_rcvtimeo(int fd)
{
	struct timeval tv;
	socklen_t len = sizeof(tv);
	if (getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len) < 0)
		return -1;
	return (int64_t)tv.tv_sec * NB_NS_PER_S + (int64_t)tv.tv_usec * 1000;
}

static bool kernel_has(int fd, int64_t ns)
{
	int64_t k = kernel_rcvtimeo(fd);
	return k >= ns && k <= ns + 10 * MS;
}

#ifndef SO_BUSY_POLL
#define SO_BUSY_POLL 46
#endif

static int sockopt_int(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);
	return getsockopt(fd, level, name, &v, &len) < 0 ? -1 : v;
}

static void check_opts(const char *what, const struct nb_flow *f, bool tcp)
{
	CHECK_MSG(sockopt_int(f->fd, SOL_SOCKET, SO_BUSY_POLL) == 50, "%s: SO_BUSY_POLL %d", what,
		  sockopt_int(f->fd, SOL_SOCKET, SO_BUSY_POLL));
	if (tcp)
		CHECK_MSG(sockopt_int(f->fd, IPPROTO_TCP, TCP_NODELAY) == 1, "%s: TCP_NODELAY off", what);
}

/* A TCP flow each way (open to a listener, adopt_fd of what it accepted) with busy-poll 50 us and nodelay. */
static void opts_tcp(struct nb_engine *e)
{
	struct nb_flow_opts o = {
	    .proto = NB_PROTO_TCP, .wait = NB_WAIT_BLOCK, .busy_poll_us = 50, .nodelay = true, .cpu = -1};
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(lfd, 4) == 0 &&
	      getsockname(lfd, (struct sockaddr *)&sa, &len) == 0);
	struct nb_flow *c = NULL, *s = NULL;
	CHECK_INT(nb_engine_open(e, "127.0.0.1", ntohs(sa.sin_port), &o, &c), 0);
	int afd = accept(lfd, NULL, NULL);
	CHECK(afd >= 0);
	CHECK_INT(e->ops->adopt_fd(e, afd, &o, &s), 0);
	if (c)
		check_opts("tcp open", c, true);
	if (s)
		check_opts("tcp adopt_fd", s, true);
	/* off when not asked for */
	struct nb_flow *plain = NULL;
	o.busy_poll_us = 0;
	o.nodelay = false;
	CHECK_INT(nb_engine_open(e, "127.0.0.1", ntohs(sa.sin_port), &o, &plain), 0);
	if (plain) {
		CHECK_INT(sockopt_int(plain->fd, SOL_SOCKET, SO_BUSY_POLL), 0);
		CHECK_INT(sockopt_int(plain->fd, IPPROTO_TCP, TCP_NODELAY), 0);
	}
	nb_flow_close(plain);
	nb_flow_close(c);
	nb_flow_close(s);
	close(lfd);
}

struct hello_seen {
	struct nb_flow *flow;
	int rc;
};

static void on_hello(void *arg, struct nb_engine *e, const struct nb_hello *h)
{
	struct hello_seen *hs = arg;
	struct nb_flow_opts o = {.proto = NB_PROTO_UDP, .wait = NB_WAIT_BLOCK, .busy_poll_us = 50, .cpu = -1};
	if (!hs->flow)
		hs->rc = e->ops->accept(e, h, "ack", 3, &o, &hs->flow);
}

/* A UDP flow through the responder's side: the hello on the listening socket, accept, the ack back. */
static void opts_udp(struct nb_engine *e)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct hello_seen hs = {.rc = -1};
	struct nb_listen l = {
	    .addr = (struct sockaddr *)&sa, .addrlen = sizeof(sa), .hello = on_hello, .arg = &hs};
	int ufd = -1;
	CHECK_INT(e->ops->listen(e, &l, &ufd), 0);
	if (ufd < 0)
		return;
	socklen_t len = sizeof(sa);
	getsockname(ufd, (struct sockaddr *)&sa, &len);
	struct nb_flow_opts o = {.proto = NB_PROTO_UDP, .wait = NB_WAIT_BLOCK, .cpu = -1};
	struct nb_flow *c = NULL;
	CHECK_INT(nb_engine_open(e, "127.0.0.1", ntohs(sa.sin_port), &o, &c), 0);
	if (c) {
		char buf[8];
		CHECK_INT(c->ops->send(c, "hello", 5), 5);
		for (int i = 0; i < 100 && !hs.flow; i++) {
			nb_sleep_until(nb_now_ns() + MS);
			e->ops->listen_poll(e);
		}
		CHECK_INT(hs.rc, 0);
		CHECK_INT(c->ops->recv(c, buf, sizeof(buf), 500 * MS), 3);
		if (hs.flow)
			check_opts("udp accept", hs.flow, false);
	}
	nb_flow_close(c);
	nb_flow_close(hs.flow);
	e->ops->unlisten(e);
}

int main(void)
{
	struct sockaddr_in a, b;
	int fa = udp_bound(&a), fb = udp_bound(&b);
	CHECK(fa >= 0 && fb >= 0);
	CHECK_INT(connect(fa, (struct sockaddr *)&b, sizeof(b)), 0);
	CHECK_INT(connect(fb, (struct sockaddr *)&a, sizeof(a)), 0);
	struct nb_flow_opts o = {.proto = NB_PROTO_UDP, .wait = NB_WAIT_BLOCK, .cpu = -1};
	struct nb_flow *f = NULL, *g = NULL;
	CHECK_INT(nb_sock_flow_wrap(fa, &o, &f), 0);
	CHECK_INT(nb_sock_flow_wrap(fb, &o, &g), 0);
	if (!f || !g)
		return tap_status("engine_sock");
	char buf[64];

	/* the first finite timeout goes into SO_RCVTIMEO */
	CHECK_INT(f->ops->recv(f, buf, sizeof(buf), 30 * MS), -ETIMEDOUT);
	CHECK_INT(f->rcvtimeo_ns, 30 * MS);
	CHECK_MSG(kernel_has(fa, 30 * MS), "SO_RCVTIMEO %lld ns", (long long)kernel_rcvtimeo(fa));

	/* a one-off different wait (ppoll) leaves it */
	CHECK_INT(f->ops->recv(f, buf, sizeof(buf), 10 * MS), -ETIMEDOUT);
	CHECK_INT(f->rcvtimeo_ns, 30 * MS);

	/* asked twice running, the new one replaces it: the handshake's wait, then the rr loss timeout */
	CHECK_INT(f->ops->recv(f, buf, sizeof(buf), 20 * MS), -ETIMEDOUT);
	CHECK_INT(f->ops->recv(f, buf, sizeof(buf), 20 * MS), -ETIMEDOUT);
	CHECK_INT(f->rcvtimeo_ns, 20 * MS);
	CHECK_MSG(kernel_has(fa, 20 * MS), "SO_RCVTIMEO %lld ns", (long long)kernel_rcvtimeo(fa));

	/* data arrives through whichever way the receive waits */
	CHECK_INT(g->ops->send(g, "ping", 4), 4);
	CHECK_INT(f->ops->recv(f, buf, sizeof(buf), 20 * MS), 4);
	CHECK_INT(g->ops->send(g, "pong", 4), 4);
	CHECK_INT(f->ops->recv(f, buf, sizeof(buf), 500 * MS), 4); /* a one-off: ppoll, then the receive */
	CHECK(memcmp(buf, "pong", 4) == 0);

	/* a blocking receive (no timeout) clears it, and still gets its datagram */
	CHECK_INT(g->ops->send(g, "ping", 4), 4);
	CHECK_INT(f->ops->recv(f, buf, sizeof(buf), -1), 4);
	CHECK_INT(f->rcvtimeo_ns, 0);
	CHECK_INT(kernel_rcvtimeo(fa), 0);

	/* no wait at all: an empty socket answers at once */
	CHECK_INT(f->ops->recv(f, buf, sizeof(buf), 0), -ETIMEDOUT);

	nb_flow_close(f);
	nb_flow_close(g);

	struct nb_engine *e = NULL;
	char err[128];
	CHECK_INT(nb_engine_start(&nb_engine_sock, NULL, &e, err, sizeof(err)), 0);
	if (e) {
		opts_tcp(e);
		opts_udp(e);
	}
	nb_engine_stop(e);
	return tap_status("engine_sock");
}
