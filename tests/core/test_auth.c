/* SPDX-License-Identifier: MIT */
/* The shared key: the challenge-response passes only with the key, this connection's nonces and HELLO, the
 * right role and version (so no wrong key, reflected, swapped, replayed or altered-HELLO proof); the session
 * key and the frames' MACs are bound to all of it, to the sender and to the frame's number; key files are
 * created 0600 without overwriting or following symlinks, and loaded only when private, regular and well
 * formed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../unit/tap.h"
#include "nbench/auth.h"

#define V 5 /* a protocol version */

/* A connection's transcript: fresh nonces, a HELLO's hash. */
static struct nb_auth_transcript new_conn(void)
{
	struct nb_auth_transcript t = {.version = V};
	nb_auth_nonce(t.client_nonce);
	nb_auth_nonce(t.server_nonce);
	nb_auth_hash("{\"nonce\":\"x\"}", 13, t.hello_hash);
	return t;
}

static struct nb_key key_of(unsigned char seed)
{
	struct nb_key k;
	for (unsigned i = 0; i < NB_KEY_BYTES; i++)
		k.bytes[i] = (unsigned char)(seed + i);
	return k;
}

static void test_roundtrip(void)
{
	struct nb_key k = key_of(1);
	struct nb_auth_transcript c = new_conn();
	unsigned char cp[NB_AUTH_PROOF_BYTES], sp[NB_AUTH_PROOF_BYTES];
	CHECK_INT(nb_auth_init(), 0);
	nb_auth_proof(&k, NB_AUTH_CLIENT, &c, cp);
	nb_auth_proof(&k, NB_AUTH_SERVER, &c, sp);
	CHECK(nb_auth_verify(&k, NB_AUTH_CLIENT, &c, cp));
	CHECK(nb_auth_verify(&k, NB_AUTH_SERVER, &c, sp));
	CHECK(memcmp(cp, sp, sizeof(cp)) != 0);
	/* one bit off anywhere */
	for (unsigned i = 0; i < sizeof(cp); i++) {
		cp[i] ^= 0x10;
		CHECK(!nb_auth_verify(&k, NB_AUTH_CLIENT, &c, cp));
		cp[i] ^= 0x10;
	}
}

/* The construction is fixed (both ends of a connection may be different builds): HMAC-SHA-256 over the
 * label, the version big-endian, the client's then the server's nonce, SHA-256 of HELLO's body; values from
 * Python's hmac and hashlib. */
static void test_known_answer(void)
{
	struct nb_key k = key_of(0);
	struct nb_auth_transcript t = {.version = 5};
	unsigned char p[NB_AUTH_PROOF_BYTES], sk[NB_AUTH_SKEY_BYTES], mac[NB_AUTH_MAC_BYTES];
	char hex[NB_AUTH_HEX(NB_AUTH_PROOF_BYTES)];
	memset(t.client_nonce, 0xaa, sizeof(t.client_nonce));
	memset(t.server_nonce, 0xbb, sizeof(t.server_nonce));
	nb_auth_hash("{\"nonce\":\"x\"}", 13, t.hello_hash);
	nb_auth_to_hex(t.hello_hash, sizeof(t.hello_hash), hex);
	CHECK_STR(hex, "30e7e14e3043f69396c1b89ba653c9aee3c77cdf5c9e6928a789d5ae77cacdd6");
	nb_auth_proof(&k, NB_AUTH_CLIENT, &t, p);
	nb_auth_to_hex(p, sizeof(p), hex);
	CHECK_STR(hex, "b24fcdd9c7e6b79d185c78d643e7ccbf61afb377552efec3e67395590759ce52");
	nb_auth_proof(&k, NB_AUTH_SERVER, &t, p);
	nb_auth_to_hex(p, sizeof(p), hex);
	CHECK_STR(hex, "00e0bf8c645486def41a3052c60da6f396f869a93e8d7a5a6e3b161236eda876");
	nb_auth_session_key(&k, &t, sk);
	nb_auth_to_hex(sk, sizeof(sk), hex);
	CHECK_STR(hex, "b724966721c9de95cc1353f9354d01536ca7361f34f8dd26770f08f982936852");
	/* the client's frame number 3: an ERROR with the MAC flag, body "{}" */
	const unsigned char hdr[12] = {'N', 'B', 'C', 'P', 0, 5, 0x80, 4, 0, 0, 0, 2};
	nb_auth_mac(sk, NB_AUTH_CLIENT, 3, hdr, sizeof(hdr), "{}", 2, mac);
	nb_auth_to_hex(mac, sizeof(mac), hex);
	CHECK_STR(hex, "0cdd729d98fa4251d0bdc2cdb2accd45c6e4a90fdf74320036c3be91dc20ea3f");
}

static void test_wrong_key(void)
{
	struct nb_key k = key_of(1), other = key_of(2);
	struct nb_auth_transcript c = new_conn();
	unsigned char p[NB_AUTH_PROOF_BYTES];
	nb_auth_proof(&other, NB_AUTH_CLIENT, &c, p);
	CHECK(!nb_auth_verify(&k, NB_AUTH_CLIENT, &c, p));
	nb_auth_proof(&other, NB_AUTH_SERVER, &c, p);
	CHECK(!nb_auth_verify(&k, NB_AUTH_SERVER, &c, p));
	/* a key that differs in its last byte only */
	other = key_of(1);
	other.bytes[NB_KEY_BYTES - 1] ^= 1;
	nb_auth_proof(&other, NB_AUTH_CLIENT, &c, p);
	CHECK(!nb_auth_verify(&k, NB_AUTH_CLIENT, &c, p));
}

/* A client without the key sends the responder's own proof back as its own, or swaps the nonces. */
static void test_reflected_swapped(void)
{
	struct nb_key k = key_of(1);
	struct nb_auth_transcript c = new_conn(), sw = c;
	unsigned char sp[NB_AUTH_PROOF_BYTES], cp[NB_AUTH_PROOF_BYTES];
	memcpy(sw.client_nonce, c.server_nonce, NB_AUTH_NONCE_BYTES);
	memcpy(sw.server_nonce, c.client_nonce, NB_AUTH_NONCE_BYTES);
	nb_auth_proof(&k, NB_AUTH_SERVER, &c, sp);
	CHECK(!nb_auth_verify(&k, NB_AUTH_CLIENT, &c, sp));
	nb_auth_proof(&k, NB_AUTH_CLIENT, &c, cp);
	CHECK(!nb_auth_verify(&k, NB_AUTH_SERVER, &c, cp));
	/* the responder's proof for a connection where the attacker's nonce is the server's */
	CHECK(!nb_auth_verify(&k, NB_AUTH_CLIENT, &sw, sp));
	CHECK(!nb_auth_verify(&k, NB_AUTH_CLIENT, &sw, cp));
}

/* A recorded handshake replayed: the responder's fresh nonce (or the client's) makes the old proof fail;
 * another protocol version too; and a HELLO altered on the way (its hash) fails both proofs. */
static void test_replay_altered(void)
{
	struct nb_key k = key_of(1);
	struct nb_auth_transcript old = new_conn(), now = new_conn(), mixed = old;
	unsigned char cp[NB_AUTH_PROOF_BYTES], sp[NB_AUTH_PROOF_BYTES];
	CHECK(memcmp(old.server_nonce, now.server_nonce, NB_AUTH_NONCE_BYTES) != 0);
	nb_auth_proof(&k, NB_AUTH_CLIENT, &old, cp);
	memcpy(mixed.server_nonce, now.server_nonce, NB_AUTH_NONCE_BYTES);
	CHECK(!nb_auth_verify(&k, NB_AUTH_CLIENT, &mixed, cp)); /* same client nonce replayed */
	CHECK(!nb_auth_verify(&k, NB_AUTH_CLIENT, &now, cp));
	nb_auth_proof(&k, NB_AUTH_SERVER, &old, sp); /* a fake responder replays the server side */
	mixed = now;
	memcpy(mixed.server_nonce, old.server_nonce, NB_AUTH_NONCE_BYTES);
	CHECK(!nb_auth_verify(&k, NB_AUTH_SERVER, &mixed, sp));
	mixed = old;
	mixed.version = V + 1;
	CHECK(!nb_auth_verify(&k, NB_AUTH_CLIENT, &mixed, cp));
	mixed = old;
	nb_auth_hash("{\"nonce\":\"x\",\"data_src\":\"10.0.0.9\"}", 36, mixed.hello_hash);
	CHECK(!nb_auth_verify(&k, NB_AUTH_CLIENT, &mixed, cp));
	CHECK(!nb_auth_verify(&k, NB_AUTH_SERVER, &mixed, sp));
}

/* The session key is the connection's (another transcript, another key); a frame's MAC is its sender's,
 * its number's, its header's and its body's: any of them changed, it fails. */
static void test_session_mac(void)
{
	struct nb_key k = key_of(1);
	struct nb_auth_transcript a = new_conn(), b = new_conn();
	unsigned char ka[NB_AUTH_SKEY_BYTES], kb[NB_AUTH_SKEY_BYTES], mac[NB_AUTH_MAC_BYTES];
	unsigned char hdr[12] = {'N', 'B', 'C', 'P', 0, 5, 0x80, 5, 0, 0, 0, 7};
	char body[] = "{\"a\":1}";
	nb_auth_session_key(&k, &a, ka);
	nb_auth_session_key(&k, &b, kb);
	CHECK(memcmp(ka, kb, sizeof(ka)) != 0);
	nb_auth_mac(ka, NB_AUTH_CLIENT, 7, hdr, sizeof(hdr), body, 7, mac);
	CHECK(nb_auth_mac_verify(ka, NB_AUTH_CLIENT, 7, hdr, sizeof(hdr), body, 7, mac));
	CHECK(!nb_auth_mac_verify(kb, NB_AUTH_CLIENT, 7, hdr, sizeof(hdr), body, 7, mac));
	CHECK(!nb_auth_mac_verify(ka, NB_AUTH_SERVER, 7, hdr, sizeof(hdr), body, 7, mac)); /* reflected */
	CHECK(!nb_auth_mac_verify(ka, NB_AUTH_CLIENT, 6, hdr, sizeof(hdr), body, 7, mac)); /* replayed */
	CHECK(!nb_auth_mac_verify(ka, NB_AUTH_CLIENT, 8, hdr, sizeof(hdr), body, 7, mac));
	hdr[7] = 4;
	CHECK(!nb_auth_mac_verify(ka, NB_AUTH_CLIENT, 7, hdr, sizeof(hdr), body, 7, mac));
	hdr[7] = 5;
	body[5] = '2';
	CHECK(!nb_auth_mac_verify(ka, NB_AUTH_CLIENT, 7, hdr, sizeof(hdr), body, 7, mac));
}

static void test_tokens_hex(void)
{
	unsigned char a[NB_AUTH_TOKEN_BYTES], b[NB_AUTH_TOKEN_BYTES], back[NB_AUTH_TOKEN_BYTES];
	char hex[NB_AUTH_HEX(NB_AUTH_TOKEN_BYTES)];
	nb_auth_token_new(a);
	nb_auth_token_new(b);
	CHECK(!nb_auth_token_equal(a, b));
	CHECK(nb_auth_token_equal(a, a));
	nb_auth_to_hex(a, sizeof(a), hex);
	CHECK_INT(strlen(hex), 2 * NB_AUTH_TOKEN_BYTES);
	CHECK_INT(nb_auth_from_hex(hex, back, sizeof(back)), 0);
	CHECK(nb_auth_token_equal(a, back));
	hex[5] = 'g';
	CHECK_INT(nb_auth_from_hex(hex, back, sizeof(back)), -EINVAL);
	CHECK_INT(nb_auth_from_hex("abcd", back, sizeof(back)), -EINVAL);
	CHECK_INT(nb_auth_from_hex("", back, sizeof(back)), -EINVAL);
	CHECK_INT(nb_auth_from_hex("00112233445566778899aabbccddeeff00", back, sizeof(back)), -EINVAL);
	CHECK_INT(nb_auth_from_hex("00112233445566778899aabbccddeef ", back, sizeof(back)), -EINVAL);
}

static char dir[] = "/tmp/nb-test-auth-XXXXXX";

/* dir/name, in one of two buffers: a call may take two paths */
static const char *path_of(const char *name)
{
	static char p[2][256];
	static unsigned i;
	i = !i;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void write_file(const char *name, const char *content, mode_t mode)
{
	int fd = open(path_of(name), O_WRONLY | O_CREAT | O_TRUNC, mode);
	CHECK(fd >= 0 && write(fd, content, strlen(content)) == (ssize_t)strlen(content));
	CHECK_INT(fchmod(fd, mode), 0);
	close(fd);
}

/* Loading name fails with rc and a one-line message that names the file and contains what. */
static void check_refused(const char *name, int rc, const char *what)
{
	struct nb_key k;
	char err[256] = "";
	char path[256];
	snprintf(path, sizeof(path), "%s", path_of(name));
	CHECK_INT(nb_key_load(path, &k, err, sizeof(err)), rc);
	CHECK_MSG(strstr(err, path) && strstr(err, what) && !strchr(err, '\n'), "%s: \"%s\" lacks \"%s\"",
		  name, err, what);
	for (unsigned i = 0; i < NB_KEY_BYTES; i++)
		CHECK(k.bytes[i] == 0);
}

static void test_key_files(void)
{
	struct nb_key k1, k2;
	struct stat st;
	char err[256] = "", key1[NB_KEY_FILE_BYTES + 1] = "";
	umask(022);
	CHECK(mkdtemp(dir) != NULL);
	CHECK_INT(nb_key_generate(path_of("k1"), err, sizeof(err)), 0);
	CHECK_INT(nb_key_generate(path_of("k2"), err, sizeof(err)), 0);
	CHECK_INT(lstat(path_of("k1"), &st), 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK_INT(st.st_mode & 07777, 0600);
	CHECK_INT(st.st_size, NB_KEY_FILE_BYTES);
	FILE *f = fopen(path_of("k1"), "r");
	CHECK(f && fgets(key1, sizeof(key1), f));
	if (f)
		fclose(f);
	CHECK_INT(strspn(key1, "0123456789abcdef"), 64);
	CHECK_INT(key1[64], '\n');
	CHECK_INT(nb_key_load(path_of("k1"), &k1, err, sizeof(err)), 0);
	CHECK_INT(nb_key_load(path_of("k2"), &k2, err, sizeof(err)), 0);
	CHECK(memcmp(&k1, &k2, sizeof(k1)) != 0);

	/* never overwrite, never write through a symlink (dangling or not) */
	CHECK_INT(nb_key_generate(path_of("k1"), err, sizeof(err)), -EEXIST);
	CHECK(strstr(err, "refusing to overwrite") != NULL);
	CHECK_INT(nb_key_load(path_of("k1"), &k2, err, sizeof(err)), 0);
	CHECK(memcmp(&k1, &k2, sizeof(k1)) == 0);
	CHECK_INT(symlink(path_of("k1"), path_of("link")), 0);
	CHECK_INT(symlink(path_of("nowhere"), path_of("dangling")), 0);
	CHECK_INT(nb_key_generate(path_of("link"), err, sizeof(err)), -EEXIST);
	CHECK_INT(nb_key_generate(path_of("dangling"), err, sizeof(err)), -EEXIST);
	CHECK(access(path_of("nowhere"), F_OK) != 0);
	CHECK_INT(nb_key_generate(path_of("no/such/dir"), err, sizeof(err)), -ENOENT);

	check_refused("link", -ELOOP, "symlink");
	check_refused("missing", -ENOENT, "No such file");
	CHECK_INT(mkdir(path_of("d"), 0700), 0);
	check_refused("d", -EINVAL, "not a regular file");
	CHECK_INT(mkfifo(path_of("fifo"), 0600), 0);
	check_refused("fifo", -EINVAL, "not a regular file");
	write_file("group", key1, 0640);
	check_refused("group", -EPERM, "mode 0640");
	write_file("world", key1, 0604);
	check_refused("world", -EPERM, "mode 0604");
	write_file("gw", key1, 0620);
	check_refused("gw", -EPERM, "group or others");
	write_file("short", "00112233", 0600);
	check_refused("short", -EINVAL, "8 bytes");
	write_file("empty", "", 0600);
	check_refused("empty", -EINVAL, "0 bytes");
	char txt[200];
	snprintf(txt, sizeof(txt), "%.64s", key1); /* no newline */
	write_file("nonl", txt, 0600);
	check_refused("nonl", -EINVAL, "64 bytes");
	snprintf(txt, sizeof(txt), "%s%s", key1, key1);
	write_file("long", txt, 0600);
	check_refused("long", -EINVAL, "over 65 bytes");
	snprintf(txt, sizeof(txt), "%.63sz\n", key1);
	write_file("nothex", txt, 0600);
	check_refused("nothex", -EINVAL, "not 64 hex digits");
	if (geteuid() == 0) { /* another user's file, private to them */
		CHECK_INT(chown(path_of("k2"), 4242, 4242), 0);
		check_refused("k2", -EPERM, "owned by uid 4242");
	}
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_INT(system(cmd), 0);
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {
	    TAP_CASE(test_roundtrip),	      TAP_CASE(test_known_answer),   TAP_CASE(test_wrong_key),
	    TAP_CASE(test_reflected_swapped), TAP_CASE(test_replay_altered), TAP_CASE(test_session_mac),
	    TAP_CASE(test_tokens_hex),	      TAP_CASE(test_key_files),
	};
	return TAP_RUN(cases, argc > 1 ? argv[1] : NULL);
}
