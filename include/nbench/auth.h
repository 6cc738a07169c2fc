/* SPDX-License-Identifier: MIT */
/*
 * The shared key and the control connection's mutual challenge-response (after OWAMP/TWAMP's authenticated
 * mode, RFC 4656/5357). All crypto is libsodium's: random bytes, HMAC-SHA-256, constant-time comparison.
 *
 * Key file: 64 hex digits (32 random bytes) and a newline, mode 0600, written by `nbench key gen FILE`.
 *
 * Handshake (the wire form is the protocol's; these are its pieces). Both sides hold the key:
 *
 *   client                                              responder
 *   HELLO {client nonce}                        ->
 *                                               <-      {server nonce, server proof}
 *   checks the server proof; a responder without the key stops here, before the client proves anything
 *   {client proof}                              ->      checks it; only now the hello's answer (host
 *                                                       details) and tests
 *
 *   proof = HMAC-SHA-256(key, label || version (2 bytes, big-endian) || client nonce || server nonce)
 *
 * with a label per side ("nbench client proof v1", "nbench server proof v1"), so a proof sent back to its
 * author (reflected) does not pass for the other side's. Each side's fresh 32-byte nonce makes a recorded
 * proof useless on any later connection (replay), and the version inside keeps a downgraded peer out.
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

/* The proof of `who` for this connection's nonces and protocol version. */
void nb_auth_proof(const struct nb_key *k, enum nb_auth_role who, uint16_t version,
		   const unsigned char client_nonce[NB_AUTH_NONCE_BYTES],
		   const unsigned char server_nonce[NB_AUTH_NONCE_BYTES],
		   unsigned char ret[NB_AUTH_PROOF_BYTES]);

/* Whether proof is `who`'s proof for these nonces and version, compared in constant time. */
bool nb_auth_verify(const struct nb_key *k, enum nb_auth_role who, uint16_t version,
		    const unsigned char client_nonce[NB_AUTH_NONCE_BYTES],
		    const unsigned char server_nonce[NB_AUTH_NONCE_BYTES],
		    const unsigned char proof[NB_AUTH_PROOF_BYTES]);

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
