/* SPDX-License-Identifier: MIT */
/*
 * The responder. One TCP port carries control and data connections, and the same port number over UDP
 * carries datagram flows, so one published port is enough through NAT (netperf's separate data port is not).
 *
 * nb_serve opens the listeners and runs the main thread's loop; the rest is one file per concern:
 *   admit.c      new connections until they hold something that costs: pending frames (the key's whole
 *                handshake included), the table's cap shared fairly between sources, deadlines, running out
 *                of descriptors
 *   handshake.c  the key's handshake (HELLO, CHALLENGE, AUTH, the session key), the client's data address,
 *                HELLO_ACK
 *   session.c    a session: its slot (--max-sessions) and thread, its requests one after another, a test
 *                frame by frame, RESULT
 *   limits.c     what a test may take: its engine, one test at a time, the memory budget (--max-mem)
 *   rtest.c      a test in progress: registry, token, start, measure, stop, what it measured
 *   attach.c     data connections and UDP flows matched to their test (DATA_HELLO)
 *   resp_flows.c the flows' threads over any engine: sink, source, echo, and crr's worker
 *   halves.c     the agent's path halves (--paths): their caps and memory share, built, held for their
 *                lifetime, torn down
 *   peer.c       peers' addresses and sources; rlog.c the log and its rate limit before authentication;
 *                resp_int.h what they share
 *
 * The data flows belong to the responder's engine (--engine, sock unless told): TCP ones are the kernel
 * connections adopted by it, UDP ones are recognised by the hello the engine hands over (from the main
 * thread, which polls the engine's socket, or from the engine's own poller) and accepted by it. What the
 * engine runs (struct nb_engine_caps) decides which tests are refused.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nbench/clock.h"
#include "resp_int.h"

/* The TCP listener, and the engine's UDP port of the same number. 0, or -errno with a message in err. */
static int open_listeners(struct server *s, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_flags = AI_PASSIVE | AI_NUMERICHOST},
			*res = NULL;
	char port[8];
	const char *bind_addr = s->sc->bind ? s->sc->bind : "0.0.0.0";
	int one = 1, r;

	snprintf(port, sizeof(port), "%u", s->sc->port);
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(bind_addr, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "--bind %s is not a numeric IPv4 or IPv6 address", bind_addr);
		return -EINVAL;
	}
	s->family = res->ai_family;
	s->lfd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->lfd < 0) {
		r = -errno;
		goto fail;
	}
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s->lfd, res->ai_addr, res->ai_addrlen) < 0 || listen(s->lfd, 1024) < 0) {
		r = -errno;
		goto fail;
	}
	/* UDP flows: the same port number, through the engine */
	struct nb_listen l = {.addr = res->ai_addr,
			      .addrlen = res->ai_addrlen,
			      .port = s->sc->port,
			      .hello = nb_attach_udp,
			      .arg = s};
	if ((r = s->eng->ops->listen(s->eng, &l, &s->dfd)) < 0)
		goto fail;
	s->listening = true;
	freeaddrinfo(res);
	return 0;
fail:
	snprintf(err, errlen, "cannot listen on %s port %u: %s", bind_addr, s->sc->port, strerror(-r));
	freeaddrinfo(res);
	return r;
}

/* The limits, the engine (sock when the caller started none), the listeners and the main loop's epoll set.
 * 0, or -errno with a message in err. */
static int server_open(struct server *s, char *err, size_t errlen)
{
	int r;
	if (nb_admit_init(s) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->log_mu, NULL);
	nb_limits_init(s, s->sc);
	if (nb_halves_init(s, s->sc) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	nb_sysinfo_get(&s->si);
	if (!s->eng && (r = nb_engine_start(&nb_engine_sock, NULL, &s->own_eng, err, errlen)) < 0)
		return r;
	if (!s->eng)
		s->eng = s->own_eng;
	if ((r = open_listeners(s, err, errlen)) < 0)
		return r;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->lfd};
	epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &ev);
	ev.data.ptr = &s->dfd;
	if (s->dfd >= 0)
		epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->dfd, &ev);
	return 0;
}

/* Ready: the log says so (and warns when there is no key), and whoever started us hears it. */
static void server_announce(struct server *s)
{
	if (!s->sc->key)
		nb_rlog(s, "no key (--key-file): anyone who reaches port %u can run tests", s->sc->port);
	if (s->sc->ready)
		s->sc->ready(s->sc->log_arg, s->sc->port);
}

/* --once (max_tests): served them all, and their sessions closed. */
static bool server_done(struct server *s)
{
	return s->sc->max_tests && __atomic_load_n(&s->tests_done, __ATOMIC_RELAXED) >= s->sc->max_tests &&
	       !__atomic_load_n(&s->sessions, __ATOMIC_RELAXED);
}

/* One turn of the main loop (100 ms at most): new connections, first frames, UDP hellos, deadlines. */
static void server_poll(struct server *s)
{
	struct epoll_event evs[32];
	nb_admit_resume(s);
	int n = epoll_wait(s->epfd, evs, 32, 100);
	for (int i = 0; i < n; i++) {
		void *tag = evs[i].data.ptr;
		if (tag == &s->lfd)
			nb_admit_accept(s);
		else if (tag == &s->dfd)
			s->eng->ops->listen_poll(s->eng);
		else
			nb_admit_event(s, tag);
	}
	nb_admit_expire(s);
}

static void server_close(struct server *s)
{
	nb_admit_fini(s);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->listening)
		s->eng->ops->unlisten(s->eng);
	nb_engine_stop(s->own_eng);
	free(s->half_srcs);
}

int nb_serve(const struct nb_serve_cfg *sc, volatile sig_atomic_t *quit, char *err, size_t errlen)
{
	struct server s = {
	    .sc = sc, .quit = quit, .lfd = -1, .dfd = -1, .epfd = -1, .reserve_fd = -1, .eng = sc->engine};
	int r = server_open(&s, err, errlen);
	if (r == 0) {
		server_announce(&s);
		while (!*quit && !server_done(&s))
			server_poll(&s);
		nb_halves_drain(&s);
	}
	server_close(&s);
	return r;
}
