/* SPDX-License-Identifier: MIT */
/*
 * The shared key, the control connection's mutual challenge-response and the MAC of its later frames (after
 * OWAMP/TWAMP's authenticated mode, RFC 4656/5357). All crypto is libsodium's: random bytes, SHA-256,
 * HMAC-SHA-256, constant-time comparison.
 *
 * Key file: 64 hex digits (32 random bytes) and a newline, mode 0600, written by `nbench key gen FILE`.
 *
 * Handshake (the wire form is the protocol's; these are its pieces). Both sides hold the key:
 *
 *   client                                              responder
 *   HELLO {client nonce, data_src}              ->
 *                                               <-      {server nonce, server proof}
 *   checks the server proof; a responder without the key stops here, before the client proves anything
 *   {client proof}                              ->      checks it; only now a session (a slot, a thread),
 *                                                       the hello's answer (host details) and tests
 *
 *   transcript = version (2 bytes, big-endian) || client nonce || server nonce || SHA-256(HELLO's body)
 *   proof      = HMAC-SHA-256(key, label || transcript)
 *
 * with a label per side ("nbench client proof v1", "nbench server proof v1"), so a proof sent back to its
 * author (reflected) does not pass for the other side's. Each side's fresh 32-byte nonce makes a recorded
 * proof useless on any later connection (replay), the version inside keeps a downgraded peer out, and the
 * hash of HELLO's body as the client sent it (byte for byte) binds what it said there (data_src) to the key:
 * a HELLO altered on the way fails both proofs.
 *
 * Session key: after the proofs both sides derive
 *
 *   session key = HMAC-SHA-256(key, "nbench session key v1" || transcript)
 *
 * and every later control frame, both ways, carries
 *
 *   MAC = HMAC-SHA-256(session key, label || sequence number (8 bytes, big-endian) || header || body)
 *
 * with the sender's label ("nbench client frame v1", "nbench server frame v1": a frame reflected back to its
 * sender fails) and a number per direction that starts at 0 (a frame dropped, replayed or reordered fails),
 * as OWAMP/TWAMP's authenticated mode protects its control messages. A relay that forwarded the handshake
 * can then neither inject nor alter a frame. The data connections and UDP flows are not covered, and
 * nothing is encrypted.
 *
 * Per-test token: random (nb_auth_token_new), issued by the responder in its answer to TEST over the
 * authenticated control connection, and carried by each of the test's data connections and UDP flows. Random
 * rather than derived from the key and nonces, because the responder without a key issues tokens too (a UDP
 * flow is bound to its client either way), and a derived one would be no more secret: every data hello
 * carries it in clear.
 */
#ifndef NBENCH_AUTH_H
#define NBENCH_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NB_KEY_BYTES	    32
#define NB_KEY_FILE_BYTES   (2 * NB_KEY_BYTES + 1) /* hex and a newline */
#define NB_AUTH_NONCE_BYTES 32
#define NB_AUTH_PROOF_BYTES 32 /* crypto_auth_hmacsha256_BYTES */
#define NB_AUTH_TOKEN_BYTES 16
#define NB_AUTH_HASH_BYTES  32		  /* crypto_hash_sha256_BYTES */
#define NB_AUTH_MAC_BYTES   32		  /* a frame's MAC (HMAC-SHA-256) */
#define NB_AUTH_SKEY_BYTES  32		  /* a session key */
#define NB_AUTH_HEX(n)	    (2 * (n) + 1) /* a hex string of n bytes, with its NUL */

struct nb_key {
	unsigned char bytes[NB_KEY_BYTES];
};

/* Whose proof: the labels differ, so one side's proof never passes for the other's. */
enum nb_auth_role { NB_AUTH_CLIENT, NB_AUTH_SERVER };

/* Initialises libsodium (idempotent, thread-safe). 0, or -EIO when it cannot (no entropy source). Every
 * other function here calls it. */
int nb_auth_init(void);

/* Creates FILE with a new random key, mode 0600. Never overwrites and never follows a symlink: an existing
 * FILE (symlink or not) is -EEXIST. 0 or -errno, with a one-line message in err. */
int nb_key_generate(const char *path, char *err, size_t errlen);

/* Loads a key file, refusing (-EPERM, -EINVAL, or -errno, with a one-line message naming the file and the
 * problem in err) one that is a symlink, not a regular file, accessible to group or others, owned by
 * another user (root's files excepted), or not 64 hex digits and a newline. */
int nb_key_load(const char *path, struct nb_key *ret, char *err, size_t errlen);

/* Zeroes a key (sodium_memzero: not optimised away). */
void nb_key_wipe(struct nb_key *k);

/* A fresh random nonce for one handshake. */
void nb_auth_nonce(unsigned char ret[NB_AUTH_NONCE_BYTES]);

/* What the proofs and the session key are bound to: the connection's nonces, the protocol version, and
 * HELLO's body as the client sent it. */
struct nb_auth_transcript {
	uint16_t version;
	unsigned char client_nonce[NB_AUTH_NONCE_BYTES];
	unsigned char server_nonce[NB_AUTH_NONCE_BYTES];
	unsigned char hello_hash[NB_AUTH_HASH_BYTES]; /* nb_auth_hash of HELLO's body */
};

/* SHA-256 of len bytes. */
void nb_auth_hash(const void *buf, size_t len, unsigned char ret[NB_AUTH_HASH_BYTES]);

/* The proof of `who` for this connection's transcript. */
void nb_auth_proof(const struct nb_key *k, enum nb_auth_role who, const struct nb_auth_transcript *t,
		   unsigned char ret[NB_AUTH_PROOF_BYTES]);

/* Whether proof is `who`'s proof for this transcript, compared in constant time. */
bool nb_auth_verify(const struct nb_key *k, enum nb_auth_role who, const struct nb_auth_transcript *t,
		    const unsigned char proof[NB_AUTH_PROOF_BYTES]);

/* The session key both sides derive once the proofs passed. */
void nb_auth_session_key(const struct nb_key *k, const struct nb_auth_transcript *t,
			 unsigned char ret[NB_AUTH_SKEY_BYTES]);

/* The MAC of frame number seq sent by `sender`: its header (hdr_len bytes) and body (body_len). */
void nb_auth_mac(const unsigned char skey[NB_AUTH_SKEY_BYTES], enum nb_auth_role sender, uint64_t seq,
		 const void *hdr, size_t hdr_len, const void *body, size_t body_len,
		 unsigned char ret[NB_AUTH_MAC_BYTES]);

/* Whether mac is that frame's MAC, compared in constant time. */
bool nb_auth_mac_verify(const unsigned char skey[NB_AUTH_SKEY_BYTES], enum nb_auth_role sender, uint64_t seq,
			const void *hdr, size_t hdr_len, const void *body, size_t body_len,
			const unsigned char mac[NB_AUTH_MAC_BYTES]);

/* Zeroes n bytes (sodium_memzero: not optimised away), for session keys. */
void nb_auth_wipe(void *buf, size_t n);

/* A new random per-test token. */
void nb_auth_token_new(unsigned char ret[NB_AUTH_TOKEN_BYTES]);

/* Whether two tokens are equal, in constant time. */
bool nb_auth_token_equal(const unsigned char a[NB_AUTH_TOKEN_BYTES],
			 const unsigned char b[NB_AUTH_TOKEN_BYTES]);

/* Writes n bytes as lowercase hex into ret (NB_AUTH_HEX(n) bytes), for the JSON bodies. */
void nb_auth_to_hex(const unsigned char *bin, size_t n, char *ret);

/* Reads exactly n bytes' worth of hex (2n digits, nothing else) into ret; 0 or -EINVAL. */
int nb_auth_from_hex(const char *hex, unsigned char *ret, size_t n);

#endif
