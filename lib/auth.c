/* SPDX-License-Identifier: MIT */
#include "nbench/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

/* Each side's labels: the proofs (and the frames' MACs) of the two roles differ even over the same input. */
static const char *const labels[] = {
    [NB_AUTH_CLIENT] = "nbench client proof v1",
    [NB_AUTH_SERVER] = "nbench server proof v1",
};
static const char *const frame_labels[] = {
    [NB_AUTH_CLIENT] = "nbench client frame v1",
    [NB_AUTH_SERVER] = "nbench server frame v1",
};
#define SESSION_KEY_LABEL "nbench session key v1"

int nb_auth_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int nb_key_generate(const char *path, char *err, size_t errlen)
{
	struct nb_key k;
	char txt[NB_AUTH_HEX(NB_KEY_BYTES)];
	int r;

	if (nb_auth_init() < 0)
		return fail(err, errlen, -EIO, "%s: libsodium cannot start (no entropy source?)", path);
	/* O_EXCL: never replace a key someone relies on; with O_CREAT it also refuses a symlink, dangling
	 * or not, so the key cannot be written through one */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST)
		return fail(err, errlen, -EEXIST, "%s exists; refusing to overwrite a key (remove it first)",
			    path);
	if (fd < 0)
		return fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
	randombytes_buf(k.bytes, sizeof(k.bytes));
	nb_auth_to_hex(k.bytes, sizeof(k.bytes), txt);
	txt[2 * NB_KEY_BYTES] = '\n';	       /* in place of the NUL: the file is the hex and a newline */
	r = fchmod(fd, 0600) < 0 ? -errno : 0; /* exactly 0600, whatever the umask */
	if (r == 0)
		r = write_all(fd, txt, NB_KEY_FILE_BYTES);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	sodium_memzero(&k, sizeof(k));
	sodium_memzero(txt, sizeof(txt));
	if (r < 0) {
		unlink(path);
		return fail(err, errlen, r, "%s: cannot write the key: %s", path, strerror(-r));
	}
	return 0;
}

/* The checks that come before reading: what the file is and who can reach it. */
static int check_key_file(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(err, errlen, -EINVAL, "%s is not a regular file", path);
	if (st.st_mode & 077)
		return fail(err, errlen, -EPERM,
			    "%s is accessible to group or others (mode %04o); chmod 600 it", path,
			    (unsigned)(st.st_mode & 07777));
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return fail(err, errlen, -EPERM, "%s is owned by uid %u, not by this user (uid %u) or root",
			    path, (unsigned)st.st_uid, (unsigned)geteuid());
	return 0;
}

int nb_key_load(const char *path, struct nb_key *ret, char *err, size_t errlen)
{
	char buf[NB_KEY_FILE_BYTES + 1]; /* one more, to tell a longer file */
	size_t len = 0;
	int r;

	memset(ret, 0, sizeof(*ret));
	/* O_NOFOLLOW: a symlink could point at a file its owner did not mean as a key; O_NONBLOCK: a FIFO
	 * must not hang the open before fstat refuses it */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ELOOP)
		return fail(err, errlen, -ELOOP, "%s is a symlink; name the key file itself", path);
	if (fd < 0)
		return fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
	r = check_key_file(fd, path, err, errlen);
	while (r == 0 && len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (r == 0 && (len != NB_KEY_FILE_BYTES || buf[NB_KEY_FILE_BYTES - 1] != '\n'))
		r = fail(err, errlen, -EINVAL,
			 "%s is not a key: %s%zu bytes, not 64 hex digits and a newline", path,
			 len == sizeof(buf) ? "over " : "", len == sizeof(buf) ? len - 1 : len);
	else if (r == 0) {
		buf[NB_KEY_FILE_BYTES - 1] = '\0';
		if (nb_auth_from_hex(buf, ret->bytes, NB_KEY_BYTES) < 0)
			r = fail(err, errlen, -EINVAL, "%s is not a key: not 64 hex digits", path);
	}
	sodium_memzero(buf, sizeof(buf));
	if (r < 0)
		nb_key_wipe(ret);
	return r;
}

void nb_key_wipe(struct nb_key *k)
{
	sodium_memzero(k, sizeof(*k));
}

/* libsodium's randombytes aborts the process when the system has no entropy source: never a weak nonce. */
void nb_auth_nonce(unsigned char ret[NB_AUTH_NONCE_BYTES])
{
	(void)nb_auth_init();
	randombytes_buf(ret, NB_AUTH_NONCE_BYTES);
}

void nb_auth_hash(const void *buf, size_t len, unsigned char ret[NB_AUTH_HASH_BYTES])
{
	(void)nb_auth_init();
	crypto_hash_sha256(ret, buf, len);
}

/* HMAC-SHA-256(key, label || transcript) into ret. */
static void hmac_transcript(const unsigned char *key, size_t key_len, const char *label,
			    const struct nb_auth_transcript *t,
			    unsigned char ret[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;
	const unsigned char ver[2] = {(unsigned char)(t->version >> 8), (unsigned char)t->version};

	(void)nb_auth_init();
	crypto_auth_hmacsha256_init(&st, key, key_len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)label, strlen(label));
	crypto_auth_hmacsha256_update(&st, ver, sizeof(ver));
	crypto_auth_hmacsha256_update(&st, t->client_nonce, NB_AUTH_NONCE_BYTES);
	crypto_auth_hmacsha256_update(&st, t->server_nonce, NB_AUTH_NONCE_BYTES);
	crypto_auth_hmacsha256_update(&st, t->hello_hash, NB_AUTH_HASH_BYTES);
	crypto_auth_hmacsha256_final(&st, ret);
	sodium_memzero(&st, sizeof(st));
}

void nb_auth_proof(const struct nb_key *k, enum nb_auth_role who, const struct nb_auth_transcript *t,
		   unsigned char ret[NB_AUTH_PROOF_BYTES])
{
	hmac_transcript(k->bytes, NB_KEY_BYTES,
			labels[who == NB_AUTH_SERVER ? NB_AUTH_SERVER : NB_AUTH_CLIENT], t, ret);
}

bool nb_auth_verify(const struct nb_key *k, enum nb_auth_role who, const struct nb_auth_transcript *t,
		    const unsigned char proof[NB_AUTH_PROOF_BYTES])
{
	unsigned char want[NB_AUTH_PROOF_BYTES];
	nb_auth_proof(k, who, t, want);
	bool ok = sodium_memcmp(want, proof, NB_AUTH_PROOF_BYTES) == 0;
	sodium_memzero(want, sizeof(want));
	return ok;
}

void nb_auth_session_key(const struct nb_key *k, const struct nb_auth_transcript *t,
			 unsigned char ret[NB_AUTH_SKEY_BYTES])
{
	hmac_transcript(k->bytes, NB_KEY_BYTES, SESSION_KEY_LABEL, t, ret);
}

void nb_auth_mac(const unsigned char skey[NB_AUTH_SKEY_BYTES], enum nb_auth_role sender, uint64_t seq,
		 const void *hdr, size_t hdr_len, const void *body, size_t body_len,
		 unsigned char ret[NB_AUTH_MAC_BYTES])
{
	crypto_auth_hmacsha256_state st;
	const char *label = frame_labels[sender == NB_AUTH_SERVER ? NB_AUTH_SERVER : NB_AUTH_CLIENT];
	unsigned char be[8];

	for (int i = 0; i < 8; i++)
		be[i] = (unsigned char)(seq >> (56 - 8 * i));
	(void)nb_auth_init();
	crypto_auth_hmacsha256_init(&st, skey, NB_AUTH_SKEY_BYTES);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)label, strlen(label));
	crypto_auth_hmacsha256_update(&st, be, sizeof(be));
	crypto_auth_hmacsha256_update(&st, hdr, hdr_len);
	crypto_auth_hmacsha256_update(&st, body, body_len);
	crypto_auth_hmacsha256_final(&st, ret);
	sodium_memzero(&st, sizeof(st));
}

bool nb_auth_mac_verify(const unsigned char skey[NB_AUTH_SKEY_BYTES], enum nb_auth_role sender, uint64_t seq,
			const void *hdr, size_t hdr_len, const void *body, size_t body_len,
			const unsigned char mac[NB_AUTH_MAC_BYTES])
{
	unsigned char want[NB_AUTH_MAC_BYTES];
	nb_auth_mac(skey, sender, seq, hdr, hdr_len, body, body_len, want);
	bool ok = sodium_memcmp(want, mac, NB_AUTH_MAC_BYTES) == 0;
	sodium_memzero(want, sizeof(want));
	return ok;
}

void nb_auth_wipe(void *buf, size_t n)
{
	sodium_memzero(buf, n);
}

void nb_auth_token_new(unsigned char ret[NB_AUTH_TOKEN_BYTES])
{
	(void)nb_auth_init();
	randombytes_buf(ret, NB_AUTH_TOKEN_BYTES);
}

bool nb_auth_token_equal(const unsigned char a[NB_AUTH_TOKEN_BYTES],
			 const unsigned char b[NB_AUTH_TOKEN_BYTES])
{
	return sodium_memcmp(a, b, NB_AUTH_TOKEN_BYTES) == 0;
}

void nb_auth_to_hex(const unsigned char *bin, size_t n, char *ret)
{
	sodium_bin2hex(ret, NB_AUTH_HEX(n), bin, n);
}

int nb_auth_from_hex(const char *hex, unsigned char *ret, size_t n)
{
	size_t got = 0;
	const char *end = NULL;
	if (strlen(hex) != 2 * n || sodium_hex2bin(ret, n, hex, 2 * n, NULL, &got, &end) != 0 || got != n ||
	    end != hex + 2 * n)
		return -EINVAL;
	return 0;
}
