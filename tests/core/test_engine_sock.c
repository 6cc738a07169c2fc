/* SPDX-License-Identifier: MIT */
/*
 * The sock engine's receive timeouts over a connected UDP pair on 127.0.0.1: a timeout that repeats lives in
 * SO_RCVTIMEO (one syscall a receive), a one-off one does not displace it, and a blocking receive clears it.
 * This is what once kept every UDP rr receive on ppoll + recv after the handshake's one-off wait.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
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
	return tap_status("engine_sock");
}
