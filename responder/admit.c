/* SPDX-License-Identifier: MIT */
/*
 * Admission of new connections, in the main thread: from accept to a session thread (control) or to the
 * test a data connection belongs to. A new connection's first frame is read without blocking (a connection
 * that sends nothing, garbage, or half a frame is closed at its deadline, --idle-timeout, or at once); while
 * it waits it is pending, in a table with a cap in all and per source address, so that one address cannot
 * lock out another. Sessions are capped (--max-sessions); out of descriptors, the listener rests.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nbench/clock.h"
#include "resp_int.h"

/* Connections that have not yet sent their first frame: in all, and from one address, so that one address
 * cannot lock out another (a client opens its data connections one at a time, each with its hello). */
#define MAX_PENDING	     1024
#define MAX_PENDING_PER_ADDR 32
/* Out of descriptors, the listener rests this long before it accepts again (instead of spinning). */
#define EMFILE_BACKOFF_NS (250 * NB_NS_PER_MS)

/* A connection whose first frame has not all come. */
struct pending {
	int fd;
	int64_t deadline_ns;
	struct sockaddr_storage peer;
	unsigned char buf[NB_PROTO_HDR_BYTES + 1024];
	size_t have;
};

/* The pending connections: a fixed table, swept for deadlines. */
struct pending_set {
	struct pending *p[MAX_PENDING];
	unsigned n;
};

static void pending_close(struct server *s, struct pending *p)
{
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, p->fd, NULL);
	if (p->fd >= 0) {
		/* Read what the peer already sent, so the close is a FIN after our error frame, not a reset
		 * that could destroy the error before the peer reads it. */
		char sink[4096];
		shutdown(p->fd, SHUT_WR);
		for (int i = 0; i < 16 && recv(p->fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
			;
		close(p->fd);
	}
	free(p);
}

static void keepalive(int fd)
{
	int one = 1, idle = 10, intvl = 2, cnt = 3;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, 4 /* TCP_KEEPIDLE */, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, 5 /* TCP_KEEPINTVL */, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, 6 /* TCP_KEEPCNT */, &cnt, sizeof(cnt));
}

/* A control connection that said HELLO (hello, from peer_addr): its session thread, which runs the key's
 * handshake, unless --max-sessions are running. Takes fd. */
static void session_start(struct server *s, int fd, const char *peer,
			  const struct sockaddr_storage *peer_addr, const struct nb_ctrl_hello *hello)
{
	if (__atomic_add_fetch(&s->sessions, 1, __ATOMIC_ACQ_REL) > s->max_sessions) {
		__atomic_sub_fetch(&s->sessions, 1, __ATOMIC_RELAXED);
		nb_proto_send_error(
		    fd,
		    "the responder is serving its maximum of %u sessions (--max-sessions): try "
		    "again later",
		    s->max_sessions);
		nb_rlog(s, "%s: refused: %u sessions already", peer, s->max_sessions);
		close(fd);
		return;
	}
	struct session *ss = calloc(1, sizeof(*ss));
	pthread_t th;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (ss) {
		ss->s = s;
		ss->fd = fd;
		snprintf(ss->peer, sizeof(ss->peer), "%s", peer);
		ss->peer_addr = *peer_addr;
		ss->hello = *hello;
		keepalive(fd);
	}
	if (!ss || pthread_create(&th, &at, nb_session_main, ss) != 0) {
		__atomic_sub_fetch(&s->sessions, 1, __ATOMIC_RELAXED);
		nb_proto_send_error(fd, "the responder cannot start a session: out of memory or threads");
		free(ss);
		close(fd);
	}
	pthread_attr_destroy(&at);
}

/* The first frame's header h, whole (r: nb_frame_decode_hdr's result): true when it is not a hello this
 * responder takes, after an ERROR frame (when the peer speaks nbench's protocol) and a log line. */
static bool hdr_refused(struct server *s, const struct pending *p, const struct nb_frame_hdr *h, int r,
			const char *peer)
{
	if (r == -EPROTONOSUPPORT) {
		/* The error frame itself is of our version; its text is what a user of either side reads. */
		nb_proto_send_error(p->fd,
				    "protocol version mismatch: the client speaks version %u, this responder "
				    "speaks version %u",
				    h->version, NB_PROTO_VERSION);
		nb_rlog(s, "%s: refused: protocol version %u (ours is %u)", peer, h->version,
			NB_PROTO_VERSION);
		return true;
	}
	if (r < 0 || (h->type != NB_MSG_HELLO && h->type != NB_MSG_DATA_HELLO) ||
	    h->len > sizeof(p->buf) - NB_PROTO_HDR_BYTES) {
		if (r != -EBADMSG)
			nb_proto_send_error(p->fd, "expected a hello frame of at most %zu bytes",
					    sizeof(p->buf) - NB_PROTO_HDR_BYTES);
		nb_rlog(s, "%s: refused: %s", peer,
			r == -EBADMSG ? "not nbench's protocol" : "bad first frame");
		return true;
	}
	return false;
}

/* A whole first frame (its header h): a HELLO starts a session, a DATA_HELLO attaches its flow. Takes p's
 * descriptor, blocking from now on. */
static void hand_on(struct server *s, struct pending *p, const struct nb_frame_hdr *h, const char *peer)
{
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, p->fd, NULL);
	int fl = fcntl(p->fd, F_GETFL);
	fcntl(p->fd, F_SETFL, fl & ~O_NONBLOCK);
	int fd = p->fd;
	p->fd = -1;
	if (h->type != NB_MSG_HELLO) {
		nb_attach_fd(s, p->buf, p->have, fd, peer, &p->peer);
		return;
	}
	struct nb_ctrl_hello hello;
	char err[192];
	cJSON *j = nb_frame_parse_body(p->buf + NB_PROTO_HDR_BYTES, h->len);
	if (j && nb_ctrl_hello_from_json(j, &hello, err, sizeof(err)) == 0) {
		session_start(s, fd, peer, &p->peer, &hello);
	} else {
		if (!j)
			snprintf(err, sizeof(err), "the hello's body is not a JSON object");
		nb_proto_send_error(fd, "protocol error: %s", err);
		nb_rlog(s, "%s: refused: %s", peer, err);
		close(fd);
	}
	cJSON_Delete(j);
}

/* One read of a new connection's first frame (its header, or its body). Returns true when p is finished with
 * (handed on or closed). */
static bool pending_read_once(struct server *s, struct pending *p)
{
	struct nb_frame_hdr h;
	char peer[64];
	size_t need = NB_PROTO_HDR_BYTES;

	nb_peer_str(&p->peer, peer, sizeof(peer));
	if (p->have >= NB_PROTO_HDR_BYTES) {
		nb_frame_decode_hdr(p->buf, p->have, &h);
		need += h.len;
	}
	ssize_t n = recv(p->fd, p->buf + p->have, need - p->have, MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		pending_close(s, p);
		return true;
	}
	if (n < 0)
		return false;
	p->have += (size_t)n;
	if (p->have < NB_PROTO_HDR_BYTES)
		return false;
	if (hdr_refused(s, p, &h, nb_frame_decode_hdr(p->buf, p->have, &h), peer)) {
		pending_close(s, p);
		return true;
	}
	if (p->have < NB_PROTO_HDR_BYTES + h.len)
		return false;
	hand_on(s, p, &h, peer);
	pending_close(s, p);
	return true;
}

/* Reads what has arrived of a new connection's first frame, header and body. Returns true when p is
 * finished with (handed on or closed). */
static bool pending_read(struct server *s, struct pending *p)
{
	for (;;) {
		size_t had = p->have;
		if (pending_read_once(s, p))
			return true;
		if (p->have == had)
			return false; /* nothing more has arrived */
	}
}

static void pending_drop(struct pending_set *ps, unsigned k)
{
	ps->p[k] = ps->p[--ps->n];
}

/* How many pending connections came from peer's address (any port); *ret_oldest: the index of the one
 * accepted first. */
static unsigned pending_from(const struct pending_set *ps, const struct sockaddr_storage *peer,
			     unsigned *ret_oldest)
{
	unsigned n = 0;
	for (unsigned k = 0; k < ps->n; k++) {
		const struct sockaddr_storage *q = &ps->p[k]->peer;
		if (q->ss_family != peer->ss_family)
			continue;
		if (peer->ss_family == AF_INET
			? ((const struct sockaddr_in *)q)->sin_addr.s_addr ==
			      ((const struct sockaddr_in *)peer)->sin_addr.s_addr
			: !memcmp(&((const struct sockaddr_in6 *)q)->sin6_addr,
				  &((const struct sockaddr_in6 *)peer)->sin6_addr, sizeof(struct in6_addr))) {
			if (!n++ || ps->p[k]->deadline_ns < ps->p[*ret_oldest]->deadline_ns)
				*ret_oldest = k;
		}
	}
	return n;
}

/* Out of descriptors: a connection waiting in the backlog is taken with the reserve descriptor, told why
 * and closed, and the listener rests (its descriptor out of the epoll set) instead of waking us at once. */
static void accept_out_of_fds(struct server *s, int err)
{
	if (s->reserve_fd >= 0) {
		close(s->reserve_fd);
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0) {
			nb_proto_send_error(fd, "the responder is out of file descriptors: try again later");
			close(fd);
		}
		s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (!s->accept_paused)
		nb_rlog(s,
			"out of file descriptors (%s): not accepting for %lld ms at a time until some close",
			strerror(err), (long long)(EMFILE_BACKOFF_NS / NB_NS_PER_MS));
	s->accept_paused = true;
	s->accept_resume_ns = nb_now_ns() + EMFILE_BACKOFF_NS;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->lfd, NULL);
}

/* Accepts what waits on the listener; each new connection's first frame is read at once (a client's hello
 * follows its connect). One still silent joins the pending ones: an address over its share loses its oldest
 * silent connection (its flood cannot lock out another address, nor, once over, its own next client); with
 * the table full, the newest is refused. */
void nb_admit_accept(struct server *s)
{
	struct pending_set *ps = s->pending;
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		int fd = accept4(s->lfd, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				accept_out_of_fds(s, errno);
			return;
		}
		s->accept_paused = false;
		struct pending *p = calloc(1, sizeof(*p));
		if (!p) {
			close(fd);
			continue;
		}
		p->fd = fd;
		p->peer = peer;
		p->deadline_ns = nb_now_ns() + s->idle_ns;
		if (pending_read(s, p))
			continue;
		unsigned oldest = 0;
		if (pending_from(ps, &peer, &oldest) >= MAX_PENDING_PER_ADDR) {
			pending_close(s, ps->p[oldest]);
			pending_drop(ps, oldest);
		}
		if (ps->n == MAX_PENDING) {
			pending_close(s, p);
			continue;
		}
		struct epoll_event pev = {.events = EPOLLIN, .data.ptr = p};
		epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &pev);
		ps->p[ps->n++] = p;
	}
}

void nb_admit_expire(struct server *s)
{
	struct pending_set *ps = s->pending;
	int64_t now = nb_now_ns();
	for (unsigned k = 0; k < ps->n;) {
		if (ps->p[k]->deadline_ns <= now) {
			char peer[64];
			nb_peer_str(&ps->p[k]->peer, peer, sizeof(peer));
			nb_rlog(s, "%s: closed: no hello within %.1f s", peer, (double)s->idle_ns / 1e9);
			pending_close(s, ps->p[k]);
			pending_drop(ps, k);
		} else
			k++;
	}
}

int nb_admit_init(struct server *s)
{
	s->pending = calloc(1, sizeof(*s->pending));
	s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC); /* for accept_out_of_fds */
	return s->pending ? 0 : -ENOMEM;
}

void nb_admit_fini(struct server *s)
{
	for (unsigned k = 0; s->pending && k < s->pending->n; k++)
		pending_close(s, s->pending->p[k]);
	free(s->pending);
	s->pending = NULL;
	if (s->reserve_fd >= 0)
		close(s->reserve_fd);
	s->reserve_fd = -1;
}

void nb_admit_event(struct server *s, void *tag)
{
	struct pending_set *ps = s->pending;
	if (pending_read(s, tag))
		for (unsigned k = 0; k < ps->n; k++)
			if (ps->p[k] == tag) {
				pending_drop(ps, k);
				break;
			}
}

void nb_admit_resume(struct server *s)
{
	if (!s->accept_paused || nb_now_ns() < s->accept_resume_ns)
		return;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->lfd};
	epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &ev);
	s->accept_resume_ns = INT64_MAX; /* until accept says again */
}
