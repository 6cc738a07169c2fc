/* SPDX-License-Identifier: MIT */
/*
 * The start of a session, in its thread: the key's challenge-response (auth.h) when this responder has a
 * key, the client's own data address (taken from an authenticated client only), then HELLO_ACK with this
 * host's details. A client whose key does not match, or that has a key where the responder has none (or
 * none where it has one), is refused in one line each side.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nbench/auth.h"
#include "nbench/clock.h"
#include "resp_int.h"

/* The client's proof of the key comes right after our challenge. */
#define AUTH_TIMEOUT_NS (5 * NB_NS_PER_S)

/* The key's challenge-response (auth.h): our nonce and proof, then the client's proof. 0 with ss->authed,
 * or -errno after an ERROR frame (when the client is still there) and a log line. */
static int session_auth(struct session *ss, const struct nb_key *key)
{
	struct server *s = ss->s;
	struct nb_challenge ch;
	struct nb_auth a;
	char err[160];
	uint16_t type;
	cJSON *msg = NULL;

	nb_auth_nonce(ch.nonce);
	nb_auth_proof(key, NB_AUTH_SERVER, NB_PROTO_VERSION, ss->hello.nonce, ch.nonce, ch.proof);
	cJSON *j = nb_challenge_to_json(&ch);
	int r = j ? nb_proto_send(ss->fd, NB_MSG_CHALLENGE, j) : -ENOMEM;
	cJSON_Delete(j);
	if (r == 0)
		r = nb_session_recv(ss, nb_now_ns() + AUTH_TIMEOUT_NS, &type, &msg);
	if (r < 0) {
		nb_rlog(s, "%s: refused: the client did not prove the key (%s): a wrong key on one side?",
			ss->peer, r == -ECONNRESET ? "it closed the connection" : strerror(-r));
		return r;
	}
	bool ok = type == NB_MSG_AUTH && nb_auth_from_json(msg, &a, err, sizeof(err)) == 0 &&
		  nb_auth_verify(key, NB_AUTH_CLIENT, NB_PROTO_VERSION, ss->hello.nonce, ch.nonce, a.proof);
	cJSON_Delete(msg);
	if (!ok) {
		nb_proto_send_error(ss->fd,
				    "the client did not prove the key: wrong key or a replayed handshake");
		nb_rlog(s, "%s: refused: a wrong proof of the key (a wrong key, or a replayed handshake)",
			ss->peer);
		return -EACCES;
	}
	ss->authed = true;
	return 0;
}

/* The data address the client named in its hello (a DPDK generator's own): taken from an authenticated
 * client only, since a hello from it is then admitted as the client's; without a key, data comes from the
 * control connection's address alone. 0, or -errno after an ERROR frame and a log line. */
static int session_data_src(struct session *ss)
{
	struct server *s = ss->s;
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_DGRAM}, *res = NULL;
	char shown[4 * sizeof(ss->hello.data_src) + 1];
	int r = 0;

	if (!ss->hello.data_src[0])
		return 0;
	nb_printable(ss->hello.data_src, shown, sizeof(shown));
	if (getaddrinfo(ss->hello.data_src, NULL, &hints, &res) != 0) {
		nb_proto_send_error(ss->fd, "the client's data address '%s' is not a numeric address", shown);
		nb_rlog(s, "%s: refused: a data address '%s' that is not numeric", ss->peer, shown);
		return -EINVAL;
	}
	if (nb_peer_same_host(res->ai_addr, &ss->peer_addr)) {
		/* its data comes from the control connection's address anyway */
	} else if (!ss->authed) {
		nb_proto_send_error(
		    ss->fd,
		    "the client's data address %s is not its control connection's %s: a responder "
		    "without a key takes data only from there (--key-file on both sides)",
		    shown, ss->peer);
		nb_rlog(s, "%s: refused: data from another address (%s) needs a key (--key-file)", ss->peer,
			shown);
		r = -EACCES;
	} else {
		nb_peer_plain(res->ai_addr, &ss->data_src);
	}
	freeaddrinfo(res);
	return r;
}

/* The start of a session: the key's handshake when this responder has a key, the client's data address,
 * then HELLO_ACK, whose host details reach an authenticated client only when there is a key. 0, or -errno
 * after an ERROR frame and a log line. */
int nb_handshake(struct session *ss)
{
	struct server *s = ss->s;
	const struct nb_key *key = s->sc->key;
	int r;

	if (key && !ss->hello.keyed) {
		nb_proto_send_error(ss->fd, "the responder requires a key (--key-file)");
		nb_rlog(s, "%s: refused: the client has no key (this responder has --key-file)", ss->peer);
		return -EACCES;
	}
	if (!key && ss->hello.keyed) {
		nb_proto_send_error(
		    ss->fd, "the responder did not prove the key: it serves without one (no --key-file)");
		nb_rlog(s, "%s: refused: the client has a key, this responder none (no --key-file)",
			ss->peer);
		return -EACCES;
	}
	if (key && (r = session_auth(ss, key)) < 0)
		return r;
	if ((r = session_data_src(ss)) < 0)
		return r;
	cJSON *hello = nb_hello_ack_to_json(&(struct nb_hello_ack){.sysinfo = s->si, .pid = getpid()});
	r = hello ? nb_proto_send(ss->fd, NB_MSG_HELLO_ACK, hello) : -ENOMEM;
	cJSON_Delete(hello);
	if (r == 0)
		nb_rlog(s, "%s: control connection%s", ss->peer, ss->authed ? " (the key proved)" : "");
	return r;
}
