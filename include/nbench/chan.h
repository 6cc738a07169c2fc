/* SPDX-License-Identifier: MIT */
/*
 * A control connection's frames on the wire (proto.h's format), both ways, with the MAC of a keyed session:
 * once the key's handshake is done (auth.h) both sides switch their channel on with nb_chan_key, and from the
 * next frame on each frame sent carries the MAC of its header, body and sequence number, and each frame
 * received must carry a valid one. A frame that fails (no MAC, a wrong one, one out of sequence) is refused
 * with -EKEYREJECTED: the caller ends the session as a protocol error. Without a key (nb_chan_key never
 * called) frames carry no MAC, as before the handshake.
 */
#ifndef NBENCH_CHAN_H
#define NBENCH_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nbench/auth.h"
#include "nbench/proto.h"

struct nb_chan {
	int fd;			 /* a blocking socket */
	enum nb_auth_role self;	 /* our side: the label of the MACs we send (the peer's is the other) */
	bool mac;		 /* frames carry a MAC both ways (nb_chan_key) */
	uint64_t tx_seq, rx_seq; /* the next frame's number, each way, from 0 at nb_chan_key */
	unsigned char skey[NB_AUTH_SKEY_BYTES];
};

/* A channel on fd for side self, without a MAC. */
void nb_chan_init(struct nb_chan *c, int fd, enum nb_auth_role self);
/* From the next frame each way, the MAC of the session key k and transcript t derive (both proofs passed). */
void nb_chan_key(struct nb_chan *c, const struct nb_key *k, const struct nb_auth_transcript *t);
/* Zeroes the session key (the descriptor is the caller's). */
void nb_chan_wipe(struct nb_chan *c);

/* Encodes the next frame to send (header, body, and the MAC when on) into buf; returns its length or
 * -EMSGSIZE. Counts it as sent. */
ssize_t nb_chan_encode(struct nb_chan *c, void *buf, size_t cap, enum nb_msg_type type, const char *body,
		       size_t body_len);
/* Sends a frame with body text (body_len bytes, a JSON object) or a JSON body (NULL = "{}"), all of it.
 * 0 or -errno (-EMSGSIZE: body above NB_PROTO_MAX_BODY). */
int nb_chan_send_text(struct nb_chan *c, enum nb_msg_type type, const char *body, size_t body_len);
int nb_chan_send(struct nb_chan *c, enum nb_msg_type type, const cJSON *body);
/* Sends an ERROR frame whose message is fmt's text (cut at 511 bytes). 0 or -errno. */
int nb_chan_send_error(struct nb_chan *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Checks a whole received frame held in buf (len bytes: header, body, and a MAC when the header says so)
 * against the channel: 0 with *ret_hdr filled (the body at buf + NB_PROTO_HDR_BYTES), counted as received;
 * nb_frame_decode_hdr's errors; -EMSGSIZE (len is not the frame's length); -EKEYREJECTED (a MAC missing
 * where one is due, present where none is, or not this frame's). */
int nb_chan_open(struct nb_chan *c, const void *buf, size_t len, struct nb_frame_hdr *ret_hdr);

/* Receives one frame by deadline_ns (CLOCK_MONOTONIC; < 0 = none: blocks until one comes). On success
 * *ret_type and *ret_body (a JSON object, free with cJSON_Delete) are set; on failure *ret_body is NULL.
 * -ETIMEDOUT, -ECONNRESET (closed), -EBADMSG (bad magic, or a body that is not a JSON object),
 * -EPROTONOSUPPORT (*ret_peer_version, which may be NULL, says the peer's), -EMSGSIZE, -EINVAL,
 * -EKEYREJECTED (the MAC, as nb_chan_open), or -errno. */
int nb_chan_recv(struct nb_chan *c, int64_t deadline_ns, uint16_t *ret_type, cJSON **ret_body,
		 uint16_t *ret_peer_version);

#endif
