/* SPDX-License-Identifier: MIT */
/*
 * The key's handshake (auth.h), in two parts.
 *
 * Before a session, in the main thread (admit.c), while the connection holds only its pending slot: the
 * HELLO checked against the key on both sides (a keyed client to a keyless responder and the reverse are
 * refused in one line each side), CHALLENGE (our nonce and proof over the transcript, HELLO's body in it),
 * then the client's AUTH checked. Only a client that proved the key gets a session; its channel then carries
 * the session key's MAC both ways (chan.h). Without a key the HELLO is enough.
 *
 * The session's start, in its thread: the client's own data address (taken from an authenticated client
 * only), then HELLO_ACK with this host's details.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nbench/auth.h"
#include "nbench/chan.h"
#include "resp_int.h"

/* An ERROR frame without a MAC (nothing is proved yet) on fd. */
#define plain_error(fd, ...)                                                                                 \
	do {                                                                                                 \
		struct nb_chan ch_;                                                                          \
		nb_chan_init(&ch_, (fd), NB_AUTH_SERVER);                                                    \
		nb_chan_send_error(&ch_, __VA_ARGS__);                                                       \
	} while (0)

/* Whether the key is on both sides or on neither; else a refusal (ERROR and log). */
static bool keys_match(struct server *s, int fd, const char *peer, const struct nb_ctrl_hello *h)
{
	if (s->sc->key && !h->keyed) {
		plain_error(fd, "the responder requires a key (--key-file)");
		nb_rlog_pre(s, "%s: refused: the client has no key (this responder has --key-file)", peer);
		return false;
	}
	if (!s->sc->key && h->keyed) {
		plain_error(fd, "the responder did not prove the key: it serves without one (no --key-file)");
		nb_rlog_pre(s, "%s: refused: the client has a key, this responder none (no --key-file)",
			    peer);
		return false;
	}
	return true;
}

int nb_handshake_hello(struct server *s, int fd, const char *peer, const void *body, size_t len,
		       struct nb_ctrl_hello *ret, struct nb_auth_transcript *ret_tr)
{
	char err[192];
	cJSON *j = nb_frame_parse_body(body, len);
	int r = j ? nb_ctrl_hello_from_json(j, ret, err, sizeof(err)) : -EBADMSG;
	cJSON_Delete(j);
	if (r < 0) {
		if (!j)
			snprintf(err, sizeof(err), "the hello's body is not a JSON object");
		plain_error(fd, "protocol error: %s", err);
		nb_rlog_pre(s, "%s: refused: %s", peer, err);
		return -EPROTO;
	}
	if (!keys_match(s, fd, peer, ret))
		return -EACCES;
	if (!s->sc->key)
		return 0;
	struct nb_challenge ch;
	*ret_tr = (struct nb_auth_transcript){.version = NB_PROTO_VERSION};
	memcpy(ret_tr->client_nonce, ret->nonce, NB_AUTH_NONCE_BYTES);
	nb_auth_nonce(ret_tr->server_nonce);
	nb_auth_hash(body, len, ret_tr->hello_hash);
	memcpy(ch.nonce, ret_tr->server_nonce, NB_AUTH_NONCE_BYTES);
	nb_auth_proof(s->sc->key, NB_AUTH_SERVER, ret_tr, ch.proof);
	cJSON *cj = nb_challenge_to_json(&ch);
	struct nb_chan c;
	nb_chan_init(&c, fd, NB_AUTH_SERVER);
	/* a fresh connection's send buffer takes this small frame whole, so the non-blocking send does not
	 * stall the main thread; a peer that lets it fill is gone */
	r = cj ? nb_chan_send(&c, NB_MSG_CHALLENGE, cj) : -ENOMEM;
	cJSON_Delete(cj);
	return r < 0 ? r : 1;
}

int nb_handshake_auth(struct server *s, int fd, const char *peer, uint16_t type, const void *body, size_t len,
		      const struct nb_auth_transcript *tr)
{
	struct nb_auth a;
	char err[160];
	cJSON *j = type == NB_MSG_AUTH ? nb_frame_parse_body(body, len) : NULL;
	bool ok = j && nb_auth_from_json(j, &a, err, sizeof(err)) == 0 &&
		  nb_auth_verify(s->sc->key, NB_AUTH_CLIENT, tr, a.proof);
	cJSON_Delete(j);
	if (ok)
		return 0;
	plain_error(fd,
		    "the client did not prove the key: wrong key, a replayed handshake, or a HELLO altered "
		    "on the way");
	nb_rlog_pre(s,
		    "%s: refused: a wrong proof of the key (a wrong key, a replayed handshake, or a HELLO "
		    "altered on the way)",
		    peer);
	return -EACCES;
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
		nb_chan_send_error(&ss->ch, "the client's data address '%s' is not a numeric address", shown);
		nb_rlog(s, "%s: refused: a data address '%s' that is not numeric", ss->peer, shown);
		return -EINVAL;
	}
	if (nb_peer_same_host(res->ai_addr, &ss->peer_addr)) {
		/* its data comes from the control connection's address anyway */
	} else if (!ss->authed) {
		nb_chan_send_error(
		    &ss->ch,
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

int nb_handshake_finish(struct session *ss)
{
	struct server *s = ss->s;
	int r = session_data_src(ss);
	if (r < 0)
		return r;
	cJSON *hello = nb_hello_ack_to_json(&(struct nb_hello_ack){.sysinfo = s->si, .pid = getpid()});
	r = hello ? nb_chan_send(&ss->ch, NB_MSG_HELLO_ACK, hello) : -ENOMEM;
	cJSON_Delete(hello);
	if (r == 0)
		nb_rlog(s, "%s: control connection%s", ss->peer, ss->authed ? " (the key proved)" : "");
	return r;
}
