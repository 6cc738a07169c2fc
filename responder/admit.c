/* SPDX-License-Identifier: MIT */
/*
 * Admission of new connections, in the main thread: from accept until a connection holds something that
 * costs (a session and its thread, or a place in a test as a data flow). Until then it is pending: a small
 * slot (its descriptor and a frame's buffer) in a table with a cap of its own, read without blocking, closed
 * at a short deadline (--idle-timeout from its accept: a connection that sends nothing, half a frame, or
 * never proves the key is gone then) or at once on garbage.
 *
 * A control connection of a keyed responder stays pending through the whole key's handshake (HELLO,
 * CHALLENGE, AUTH: handshake.c), so a host without the key never holds a session: it cannot keep a keyed
 * client out however many HELLOs it sends. Without a key the HELLO is the end of admission.
 *
 * The table is shared fairly between sources (an IPv4 address; an IPv6 /64, which one host may hold whole):
 * a source has at most MAX_PENDING_PER_SRC connections in it (over that, its oldest goes), and when the table
 * is full a newcomer takes the place of the oldest connection of the source that holds the most, unless its
 * own source holds as many (then its own oldest goes). A client that opens one connection at a time is never
 * the one pushed out by a flood, from however many addresses.
 *
 * Sessions are capped (--max-sessions, session.c); out of descriptors, the listener rests.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nbench/chan.h"
#include "nbench/clock.h"
#include "resp_int.h"

/* Pending connections in all, and from one source. */
#define MAX_PENDING	    1024
#define MAX_PENDING_PER_SRC 32
/* Out of descriptors, the listener rests this long before it accepts again (instead of spinning). */
#define EMFILE_BACKOFF_NS (250 * NB_NS_PER_MS)

/* Where a pending connection stands. */
enum pending_state {
	P_FIRST, /* its first frame: HELLO or DATA_HELLO */
	P_AUTH,	 /* CHALLENGE sent: the client's AUTH */
};

/* A connection not yet admitted. */
struct pending {
	int fd;
	enum pending_state state;
	int64_t deadline_ns; /* its accept + --idle-timeout */
	struct sockaddr_storage peer;
	unsigned char src[NB_PEER_SRC_BYTES]; /* its source (nb_peer_source) */
	unsigned char buf[NB_PROTO_HDR_BYTES + 1024];
	size_t have;
	struct nb_ctrl_hello hello;   /* P_AUTH: its HELLO */
	struct nb_auth_transcript tr; /* P_AUTH: the handshake so far */
};

/* How many pending connections a source holds. */
struct src_count {
	unsigned char src[NB_PEER_SRC_BYTES];
	unsigned n;
};

/* The pending connections (a fixed table, swept for deadlines) and their sources. */
struct pending_set {
	struct pending *p[MAX_PENDING];
	unsigned n;
	struct src_count srcs[MAX_PENDING];
	unsigned nsrcs;
};

/* ---- the table and its sources ---- */

static struct src_count *src_find(struct pending_set *ps, const unsigned char *src)
{
	for (unsigned i = 0; i < ps->nsrcs; i++)
		if (!memcmp(ps->srcs[i].src, src, NB_PEER_SRC_BYTES))
			return &ps->srcs[i];
	return NULL;
}

static unsigned src_holds(struct pending_set *ps, const unsigned char *src)
{
	struct src_count *c = src_find(ps, src);
	return c ? c->n : 0;
}

static void table_add(struct pending_set *ps, struct pending *p)
{
	struct src_count *c = src_find(ps, p->src);
	if (!c) {
		c = &ps->srcs[ps->nsrcs++];
		memcpy(c->src, p->src, NB_PEER_SRC_BYTES);
		c->n = 0;
	}
	c->n++;
	ps->p[ps->n++] = p;
}

/* Takes the k-th connection out of the table (not closed). */
static void table_drop(struct pending_set *ps, unsigned k)
{
	struct src_count *c = src_find(ps, ps->p[k]->src);
	if (c && !--c->n)
		*c = ps->srcs[--ps->nsrcs];
	ps->p[k] = ps->p[--ps->n];
}

/* The index of src's connection accepted first (the earliest deadline); src holds one at least. */
static unsigned oldest_of(const struct pending_set *ps, const unsigned char *src)
{
	unsigned best = ps->n;
	for (unsigned k = 0; k < ps->n; k++)
		if (!memcmp(ps->p[k]->src, src, NB_PEER_SRC_BYTES) &&
		    (best == ps->n || ps->p[k]->deadline_ns < ps->p[best]->deadline_ns))
			best = k;
	return best;
}

/* The source that holds the most. */
static const struct src_count *heaviest(const struct pending_set *ps)
{
	const struct src_count *h = &ps->srcs[0];
	for (unsigned i = 1; i < ps->nsrcs; i++)
		if (ps->srcs[i].n > h->n)
			h = &ps->srcs[i];
	return h;
}

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

/* Makes room for a connection from src, as the header says. false: p is refused (the table is full of
 * connections of sources that hold no more than src). */
static bool table_room(struct server *s, struct pending_set *ps, const unsigned char *src)
{
	unsigned mine = src_holds(ps, src), k = ps->n;
	if (mine >= MAX_PENDING_PER_SRC)
		k = oldest_of(ps, src);
	else if (ps->n == MAX_PENDING && heaviest(ps)->n > mine)
		k = oldest_of(ps, heaviest(ps)->src);
	else if (ps->n == MAX_PENDING && mine)
		k = oldest_of(ps, src);
	else if (ps->n == MAX_PENDING)
		return false;
	if (k < ps->n) {
		struct pending *gone = ps->p[k];
		table_drop(ps, k);
		pending_close(s, gone);
	}
	return true;
}

/* ---- reading and handing on ---- */

/* An ERROR frame without a MAC (nothing is proved yet) on a pending connection. */
#define pending_error(p, ...)                                                                                \
	do {                                                                                                 \
		struct nb_chan ch_;                                                                          \
		nb_chan_init(&ch_, (p)->fd, NB_AUTH_SERVER);                                                 \
		nb_chan_send_error(&ch_, __VA_ARGS__);                                                       \
	} while (0)

/* A whole frame's header h (r: nb_frame_decode_hdr's result): true when it is not one this connection may
 * send now, after an ERROR frame (when the peer speaks nbench's protocol) and a log line. */
static bool hdr_refused(struct server *s, const struct pending *p, const struct nb_frame_hdr *h, int r,
			const char *peer)
{
	bool first = p->state == P_FIRST;
	if (r == -EPROTONOSUPPORT) {
		/* The error frame itself is of our version; its text is what a user of either side reads. */
		pending_error(
		    p,
		    "protocol version mismatch: the client speaks version %u, this responder speaks "
		    "version %u",
		    h->version, NB_PROTO_VERSION);
		nb_rlog_pre(s, "%s: refused: protocol version %u (ours is %u)", peer, h->version,
			    NB_PROTO_VERSION);
		return true;
	}
	if (r < 0 || h->mac || (first && h->type != NB_MSG_HELLO && h->type != NB_MSG_DATA_HELLO) ||
	    h->len > sizeof(p->buf) - NB_PROTO_HDR_BYTES) {
		if (r != -EBADMSG)
			pending_error(p, "expected a %s frame of at most %zu bytes", first ? "hello" : "AUTH",
				      sizeof(p->buf) - NB_PROTO_HDR_BYTES);
		nb_rlog_pre(s, "%s: refused: %s", peer,
			    r == -EBADMSG ? "not nbench's protocol"
			    : first	  ? "bad first frame"
					  : "bad AUTH frame");
		return true;
	}
	return false;
}

/* The connection leaves the table's care: out of the epoll set, blocking from now on. Returns its descriptor
 * (p no longer holds it). */
static int pending_take_fd(struct server *s, struct pending *p)
{
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, p->fd, NULL);
	int fl = fcntl(p->fd, F_GETFL);
	fcntl(p->fd, F_SETFL, fl & ~O_NONBLOCK);
	int fd = p->fd;
	p->fd = -1;
	return fd;
}

/* A whole frame h in p->buf. Returns true when p is finished with (handed on, or to be closed), false when
 * it goes on pending (CHALLENGE sent: AUTH next). */
static bool pending_frame(struct server *s, struct pending *p, const struct nb_frame_hdr *h, const char *peer)
{
	const unsigned char *body = p->buf + NB_PROTO_HDR_BYTES;
	if (p->state == P_FIRST && h->type == NB_MSG_DATA_HELLO) {
		nb_attach_fd(s, p->buf, p->have, pending_take_fd(s, p), peer, &p->peer);
		return true;
	}
	if (p->state == P_FIRST) {
		int r = nb_handshake_hello(s, p->fd, peer, body, h->len, &p->hello, &p->tr);
		if (r < 0)
			return true;
		if (r == 0) { /* no key: a session at once */
			nb_session_start(s, pending_take_fd(s, p), peer, &p->peer, &p->hello, NULL);
			return true;
		}
		p->state = P_AUTH;
		p->have = 0;
		return false;
	}
	if (nb_handshake_auth(s, p->fd, peer, h->type, body, h->len, &p->tr) == 0)
		nb_session_start(s, pending_take_fd(s, p), peer, &p->peer, &p->hello, &p->tr);
	return true;
}

/* What a read left p as. */
enum progress { P_DONE, P_MORE, P_IDLE };

/* One read of a pending connection's next frame (its header, or its body). */
static enum progress pending_read_once(struct server *s, struct pending *p)
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
		if (p->state == P_AUTH)
			nb_rlog_pre(
			    s,
			    "%s: refused: the client did not prove the key (it closed the connection): "
			    "a wrong key on one side?",
			    peer);
		return P_DONE;
	}
	if (n < 0)
		return P_IDLE;
	p->have += (size_t)n;
	if (p->have < NB_PROTO_HDR_BYTES)
		return P_MORE;
	if (hdr_refused(s, p, &h, nb_frame_decode_hdr(p->buf, p->have, &h), peer))
		return P_DONE;
	if (p->have < NB_PROTO_HDR_BYTES + h.len)
		return P_MORE;
	return pending_frame(s, p, &h, peer) ? P_DONE : P_MORE;
}

/* Reads what has arrived of a pending connection's frames. Returns true when p is finished with (handed
 * on, or to be closed: the caller's to pending_close). */
static bool pending_read(struct server *s, struct pending *p)
{
	enum progress r;
	while ((r = pending_read_once(s, p)) == P_MORE)
		;
	return r == P_DONE;
}

/* ---- accepting ---- */

/* Out of descriptors: a connection waiting in the backlog is taken with the reserve descriptor, told why
 * and closed, and the listener rests (its descriptor out of the epoll set) instead of waking us at once. */
static void accept_out_of_fds(struct server *s, int err)
{
	if (s->reserve_fd >= 0) {
		close(s->reserve_fd);
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0) {
			struct nb_chan ch;
			nb_chan_init(&ch, fd, NB_AUTH_SERVER);
			nb_chan_send_error(&ch, "the responder is out of file descriptors: try again later");
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

/* A new pending connection on fd from peer; NULL when out of memory (fd closed). */
static struct pending *pending_new(struct server *s, int fd, const struct sockaddr_storage *peer)
{
	struct pending *p = calloc(1, sizeof(*p));
	if (!p) {
		close(fd);
		return NULL;
	}
	p->fd = fd;
	p->peer = *peer;
	nb_peer_source(peer, p->src);
	p->deadline_ns = nb_now_ns() + s->idle_ns;
	return p;
}

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
		struct pending *p = pending_new(s, fd, &peer);
		if (!p)
			continue;
		/* a client's hello follows its connect: most connections are handed on here */
		if (pending_read(s, p) || !table_room(s, ps, p->src)) {
			pending_close(s, p);
			continue;
		}
		struct epoll_event pev = {.events = EPOLLIN, .data.ptr = p};
		epoll_ctl(s->epfd, EPOLL_CTL_ADD, p->fd, &pev);
		table_add(ps, p);
	}
}

void nb_admit_expire(struct server *s)
{
	struct pending_set *ps = s->pending;
	int64_t now = nb_now_ns();
	for (unsigned k = 0; k < ps->n;) {
		struct pending *p = ps->p[k];
		if (p->deadline_ns > now) {
			k++;
			continue;
		}
		char peer[64];
		nb_peer_str(&p->peer, peer, sizeof(peer));
		if (p->state == P_AUTH)
			nb_rlog_pre(s, "%s: refused: the client did not prove the key within %.1f s", peer,
				    (double)s->idle_ns / 1e9);
		else
			nb_rlog_pre(s, "%s: closed: no hello within %.1f s", peer, (double)s->idle_ns / 1e9);
		table_drop(ps, k);
		pending_close(s, p);
	}
	nb_rlog_flush(s);
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
	for (unsigned k = 0; k < ps->n; k++)
		if (ps->p[k] == tag) {
			if (pending_read(s, tag)) {
				table_drop(ps, k);
				pending_close(s, tag);
			}
			return;
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
