/* SPDX-License-Identifier: MIT */
/* The kernel-socket engine: TCP and UDP over whatever path the kernel routes. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/errqueue.h>

#include "nbench/clock.h"
#include "nbench/engine.h"

#ifndef SO_BUSY_POLL
#define SO_BUSY_POLL 46
#endif

#define CONNECT_TIMEOUT_NS (3 * NB_NS_PER_S)
/* Spinning reads the clock only every this many empty polls. */
#define SPIN_CLOCK_EVERY 64

/* The data path's send and receive, made with syscall(2). glibc's send/recv are cancellation points: in a
 * process with more than one thread (nbench always has its controller beside the flows) each call flips
 * the thread's cancel state before and after, which costs about 2.5% of a pinned round trip in perf. No
 * nbench thread is ever cancelled. */
static inline ssize_t sys_send(int fd, const void *buf, size_t len, int flags)
{
	return syscall(SYS_sendto, fd, buf, len, flags, NULL, 0);
}
static inline ssize_t sys_recv(int fd, void *buf, size_t len, int flags)
{
	return syscall(SYS_recvfrom, fd, buf, len, flags, NULL, NULL);
}

/* Applies o's nodelay and busy-poll to fd. 0 or -errno. */
static int apply_opts(int fd, const struct nb_flow_opts *o)
{
	int one = 1;
	if (o->proto == NB_PROTO_TCP && o->nodelay &&
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		return -errno;
	if (o->busy_poll_us > 0) {
		int us = o->busy_poll_us;
		if (setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &us, sizeof(us)) < 0)
			return -errno;
	}
	return 0;
}

int nb_sock_flow_wrap(int fd, const struct nb_flow_opts *o, struct nb_flow **ret)
{
	struct nb_flow *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	int r = apply_opts(fd, o);
	if (r < 0) {
		free(f);
		return r;
	}
	f->ops = &nb_engine_sock;
	f->opts = *o;
	f->fd = fd;
	*ret = f;
	return 0;
}

/* Non-blocking connect bounded by CONNECT_TIMEOUT_NS, so an unreachable responder is an error in seconds. */
static int connect_timeout(int fd, const struct sockaddr *sa, socklen_t salen)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	if (connect(fd, sa, salen) < 0) {
		if (errno != EINPROGRESS)
			return -errno;
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int pr;
		do
			pr = poll(&p, 1, (int)(CONNECT_TIMEOUT_NS / NB_NS_PER_MS));
		while (pr < 0 && errno == EINTR);
		if (pr == 0)
			return -ETIMEDOUT;
		int soerr = 0;
		socklen_t l = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &l) < 0)
			return -errno;
		if (soerr)
			return -soerr;
	}
	if (fcntl(fd, F_SETFL, fl) < 0)
		return -errno;
	return 0;
}

int nb_sock_connect(const char *host, uint16_t port, int socktype, int *ret_fd)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = socktype}, *res, *ai;
	char portstr[8];
	int r = -EHOSTUNREACH;

	snprintf(portstr, sizeof(portstr), "%u", port);
	int gr = getaddrinfo(host, portstr, &hints, &res);
	if (gr != 0)
		return gr == EAI_SYSTEM ? -errno : -EADDRNOTAVAIL;
	for (ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			r = -errno;
			continue;
		}
		r = connect_timeout(fd, ai->ai_addr, ai->ai_addrlen);
		if (r == 0) {
			*ret_fd = fd;
			break;
		}
		close(fd);
	}
	freeaddrinfo(res);
	return r;
}

bool nb_sock_name_unresolved(const char *host, char *buf, size_t len)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
	int gr = getaddrinfo(host, NULL, &hints, &res);

	if (gr == 0) {
		freeaddrinfo(res);
		return false;
	}
	snprintf(buf, len, "%s", gr == EAI_SYSTEM ? strerror(errno) : gai_strerror(gr));
	return true;
}

static int sock_open(struct nb_engine *e, const char *host, uint16_t port, const struct nb_flow_opts *o,
		     struct nb_flow **ret)
{
	int fd, r;
	r = nb_sock_connect(host, port, o->proto == NB_PROTO_TCP ? SOCK_STREAM : SOCK_DGRAM, &fd);
	if (r < 0)
		return r;
	r = nb_sock_flow_wrap(fd, o, ret);
	if (r < 0)
		close(fd);
	else
		(*ret)->eng = e;
	return r;
}

static ssize_t sock_send(struct nb_flow *f, const void *buf, size_t len)
{
	int flags = MSG_NOSIGNAL | (f->opts.wait == NB_WAIT_SPIN ? MSG_DONTWAIT : 0);
	for (;;) {
		ssize_t n = sys_send(f->fd, buf, len, flags);
		if (n >= 0)
			return n;
		if (errno == EINTR || (errno == EAGAIN && f->opts.wait == NB_WAIT_SPIN))
			continue;
		/* A UDP send can fail with ECONNREFUSED from an earlier ICMP; the datagram is simply lost. */
		return -errno;
	}
}

static int set_rcvtimeo(struct nb_flow *f, int64_t ns)
{
	if (f->rcvtimeo_ns == ns)
		return 0;
	struct timeval tv = {.tv_sec = ns / NB_NS_PER_S, .tv_usec = (ns % NB_NS_PER_S) / 1000};
	if (ns > 0 && tv.tv_sec == 0 && tv.tv_usec == 0)
		tv.tv_usec = 1;
	if (setsockopt(f->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	f->rcvtimeo_ns = ns;
	return 0;
}

/* Waits for readability in block mode with a timeout that differs from the socket's SO_RCVTIMEO. */
static int wait_readable(int fd, int64_t timeout_ns)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	struct timespec ts = nb_ns_to_ts(timeout_ns);
	int r;
	do
		r = ppoll(&p, 1, &ts, NULL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

/* A receive-like call made with flags 0 (may block) or MSG_DONTWAIT; returns >= 0 or -errno. */
typedef ssize_t (*io_fn)(struct nb_flow *f, void *arg, int flags);

static ssize_t io_retry(struct nb_flow *f, io_fn fn, void *arg, int flags)
{
	ssize_t n;
	do
		n = fn(f, arg, flags);
	while (n == -EINTR);
	return n == -EAGAIN ? -ETIMEDOUT : n;
}

/* Runs fn as the flow's wait mode and the timeout say (< 0 forever, 0 no wait). In block mode a timeout that
 * repeats (the UDP loss timeout) lives in SO_RCVTIMEO so a receive is one syscall; another timeout costs a
 * ppoll first. */
static ssize_t wait_io(struct nb_flow *f, int64_t timeout_ns, io_fn fn, void *arg)
{
	if (timeout_ns == 0)
		return io_retry(f, fn, arg, MSG_DONTWAIT);
	if (f->opts.wait == NB_WAIT_SPIN) {
		int64_t end = timeout_ns > 0 ? nb_now_ns() + timeout_ns : -1;
		for (unsigned i = 1;; i++) {
			ssize_t n = fn(f, arg, MSG_DONTWAIT);
			if (n != -EAGAIN && n != -EINTR)
				return n;
			/* A shut-down UDP socket answers a non-blocking receive with EAGAIN, not the end a
			 * blocked receive gets: without this a spinning flow would never see its stop. */
			if (__atomic_load_n(&f->shut, __ATOMIC_RELAXED))
				return 0;
			if (end >= 0 && i % SPIN_CLOCK_EVERY == 0 && nb_now_ns() >= end)
				return -ETIMEDOUT;
		}
	}
	int r;
	/* A finite timeout moves into SO_RCVTIMEO when none is there yet or when it repeats (the UDP loss
	 * timeout of every rr receive), so that a one-off wait (a handshake's) does not leave every later
	 * receive paying a ppoll. */
	bool repeats = timeout_ns == f->last_timeout_ns;
	f->last_timeout_ns = timeout_ns;
	if (timeout_ns < 0)
		r = set_rcvtimeo(f, 0);
	else if (f->rcvtimeo_ns == 0 || f->rcvtimeo_ns == timeout_ns || repeats)
		r = set_rcvtimeo(f, timeout_ns);
	else {
		r = wait_readable(f->fd, timeout_ns);
		if (r < 0)
			return r;
		return io_retry(f, fn, arg, MSG_DONTWAIT);
	}
	if (r < 0)
		return r;
	return io_retry(f, fn, arg, 0);
}

struct recv_arg {
	void *buf;
	size_t len;
};

static ssize_t do_recv(struct nb_flow *f, void *arg, int flags)
{
	struct recv_arg *a = arg;
	ssize_t n = sys_recv(f->fd, a->buf, a->len, flags);
	return n < 0 ? -errno : n;
}

static ssize_t sock_recv(struct nb_flow *f, void *buf, size_t len, int64_t timeout_ns)
{
	struct recv_arg a = {buf, len};
	return wait_io(f, timeout_ns, do_recv, &a);
}

#define BURST_MAX 64

static void fill_mmsg(struct mmsghdr *mh, struct iovec *msgs, unsigned n)
{
	memset(mh, 0, sizeof(mh[0]) * n);
	for (unsigned i = 0; i < n; i++) {
		mh[i].msg_hdr.msg_iov = &msgs[i];
		mh[i].msg_hdr.msg_iovlen = 1;
	}
}

/* Whether an ICMP error queued on fd (IP_RECVERR, set on the responder's UDP flows) says the peer refused.
 * A burst cut short by an error returns the datagrams sent and loses the errno; on loopback the ICMP of one
 * datagram arrives before the next, so it always would. The queue keeps it. Drains the queue. */
static bool errqueue_refused(int fd)
{
	bool refused = false;
	for (int i = 0; i < 64; i++) {
		char cbuf[512], dbuf[64];
		struct iovec iov = {dbuf, sizeof(dbuf)};
		struct msghdr mh = {
		    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
		if (recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			break;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
			    (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
				struct sock_extended_err ee;
				memcpy(&ee, CMSG_DATA(c), sizeof(ee));
				refused |= ee.ee_errno == ECONNREFUSED;
			}
	}
	return refused;
}

static int sock_send_burst(struct nb_flow *f, struct iovec *msgs, unsigned n)
{
	struct mmsghdr mh[BURST_MAX];
	if (n > BURST_MAX)
		n = BURST_MAX;
	fill_mmsg(mh, msgs, n);
	int flags = MSG_NOSIGNAL | (f->opts.wait == NB_WAIT_SPIN ? MSG_DONTWAIT : 0);
	for (;;) {
		int r = (int)syscall(SYS_sendmmsg, f->fd, mh, n, flags);
		if (r >= 0 && (unsigned)r < n && errqueue_refused(f->fd))
			return -ECONNREFUSED;
		if (r >= 0)
			return r;
		if (errno == EINTR || (errno == EAGAIN && f->opts.wait == NB_WAIT_SPIN))
			continue;
		return -errno;
	}
}

struct mmsg_arg {
	struct mmsghdr *mh;
	unsigned n;
};

static ssize_t do_recvmmsg(struct nb_flow *f, void *arg, int flags)
{
	struct mmsg_arg *a = arg;
	int r = (int)syscall(SYS_recvmmsg, f->fd, a->mh, a->n, flags | (flags ? 0 : MSG_WAITFORONE), NULL);
	return r < 0 ? -errno : r;
}

static int sock_recv_burst(struct nb_flow *f, struct iovec *msgs, unsigned n, size_t *lens,
			   int64_t timeout_ns)
{
	struct mmsghdr mh[BURST_MAX];
	if (n > BURST_MAX)
		n = BURST_MAX;
	fill_mmsg(mh, msgs, n);
	struct mmsg_arg a = {mh, n};
	ssize_t got = wait_io(f, timeout_ns, do_recvmmsg, &a);
	for (ssize_t i = 0; i < got; i++)
		lens[i] = mh[i].msg_len;
	return (int)got;
}

static int sock_shutdown(struct nb_flow *f, int how)
{
	if (how == SHUT_RDWR)
		__atomic_store_n(&f->shut, 1, __ATOMIC_RELAXED);
	return shutdown(f->fd, how) < 0 ? -errno : 0;
}

static void sock_close(struct nb_flow *f)
{
	if (f->fd >= 0)
		close(f->fd);
	free(f);
}

/* ---- the responder's side: TCP flows are adopted, UDP flows found by their hello on one socket ---- */

struct sock_listener {
	int ufd; /* the responder's UDP socket: every flow's hello arrives here */
	struct nb_listen l;
};

/* Where a hello came from and the address it was sent to. */
struct sock_from {
	struct sockaddr_storage peer;
	socklen_t peerlen;
	bool have_dst;
	struct in_addr dst;
};

static int sock_adopt_fd(struct nb_engine *e, int fd, const struct nb_flow_opts *o, struct nb_flow **ret)
{
	int r = nb_sock_flow_wrap(fd, o, ret);
	if (r == 0)
		(*ret)->eng = e;
	return r;
}

static int sock_listen(struct nb_engine *e, const struct nb_listen *l, int *ret_fd)
{
	struct sock_listener *sl = calloc(1, sizeof(*sl));
	int one = 1, r;
	if (!sl)
		return -ENOMEM;
	sl->l = *l;
	sl->ufd = socket(l->addr->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sl->ufd < 0) {
		r = -errno;
		free(sl);
		return r;
	}
	setsockopt(sl->ufd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* the address each hello was sent to: the flow's own socket is bound to it */
	if (l->addr->sa_family == AF_INET)
		setsockopt(sl->ufd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	if (bind(sl->ufd, l->addr, l->addrlen) < 0) {
		r = -errno;
		close(sl->ufd);
		free(sl);
		return r;
	}
	e->priv = sl;
	*ret_fd = sl->ufd;
	return 0;
}

static void sock_listen_poll(struct nb_engine *e)
{
	struct sock_listener *sl = e->priv;
	unsigned char buf[2048];
	for (int k = 0; sl && k < 64; k++) {
		struct sock_from from = {.peerlen = sizeof(from.peer)};
		char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct iovec iov = {buf, sizeof(buf)};
		struct msghdr mh = {.msg_name = &from.peer,
				    .msg_namelen = sizeof(from.peer),
				    .msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)};
		ssize_t n = recvmsg(sl->ufd, &mh, MSG_DONTWAIT);
		if (n < 0)
			return;
		from.peerlen = mh.msg_namelen;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;
				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				from.dst = pi.ipi_addr;
				from.have_dst = true;
			}
		struct nb_hello h = {.buf = buf,
				     .len = (size_t)n,
				     .from = &from,
				     .peer = (const struct sockaddr *)&from.peer,
				     .peer_len = from.peerlen};
		sl->l.hello(sl->l.arg, e, &h);
	}
}

/* The flow gets a socket of its own, bound to the address the hello was sent to and connected to its
 * sender, which the kernel prefers over the unconnected listening socket for everything that flow sends
 * next. */
static int sock_accept(struct nb_engine *e, const struct nb_hello *h, const void *ack, size_t ack_len,
		       const struct nb_flow_opts *o, struct nb_flow **ret)
{
	struct sock_listener *sl = e->priv;
	const struct sock_from *from = h->from;
	struct sockaddr_storage local;
	socklen_t ll = sizeof(local);
	int one = 1, r;

	int fd = socket(from->peer.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	getsockname(sl->ufd, (struct sockaddr *)&local, &ll);
	if (from->have_dst && local.ss_family == AF_INET)
		((struct sockaddr_in *)&local)->sin_addr = from->dst;
	/* ICMP errors queued too, so that a burst cut short by one still tells (errqueue_refused) */
	if (from->peer.ss_family == AF_INET)
		setsockopt(fd, SOL_IP, IP_RECVERR, &one, sizeof(one));
	else
		setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&local, ll) < 0 ||
	    connect(fd, (const struct sockaddr *)&from->peer, from->peerlen) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if ((r = sock_adopt_fd(e, fd, o, ret)) < 0) {
		close(fd);
		return r;
	}
	send(fd, ack, ack_len, MSG_NOSIGNAL | MSG_DONTWAIT);
	return 0;
}

static void sock_unlisten(struct nb_engine *e)
{
	struct sock_listener *sl = e->priv;
	if (!sl)
		return;
	close(sl->ufd);
	free(sl);
	e->priv = NULL;
}

static const struct nb_engine_caps sock_caps = {
    .protos = NB_BIT(NB_PROTO_TCP) | NB_BIT(NB_PROTO_UDP),
    .tests = NB_BIT(NB_TEST_STREAM) | NB_BIT(NB_TEST_RR) | NB_BIT(NB_TEST_CRR),
    .kernel_stack = true,
};

const struct nb_engine_ops nb_engine_sock = {
    .name = "sock",
    .caps = &sock_caps,
    .stop = sock_unlisten,
    .open = sock_open,
    .adopt_fd = sock_adopt_fd,
    .listen = sock_listen,
    .listen_poll = sock_listen_poll,
    .accept = sock_accept,
    .unlisten = sock_unlisten,
    .send = sock_send,
    .recv = sock_recv,
    .send_burst = sock_send_burst,
    .recv_burst = sock_recv_burst,
    .shutdown = sock_shutdown,
    .close = sock_close,
};
