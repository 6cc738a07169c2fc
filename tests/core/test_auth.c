/* SPDX-License-Identifier: MIT */
/* The shared key: the challenge-response passes only with the key, this connection's nonces, the right
 * role and version (so no wrong key, reflected, swapped or replayed proof); key files are created 0600
 * without overwriting or following symlinks, and loaded only when private, regular and well formed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../unit/tap.h"
#include "nbench/auth.h"

#define V 2 /* a protocol version */

struct conn {
	unsigned char cn[NB_AUTH_NONCE_BYTES], sn[NB_AUTH_NONCE_BYTES];
};

static struct conn new_conn(void)
{
	struct conn c;
	nb_auth_nonce(c.cn);
	nb_auth_nonce(c.sn);
	return c;
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
	struct conn c = new_conn();
	unsigned char cp[NB_AUTH_PROOF_BYTES], sp[NB_AUTH_PROOF_BYTES];
	CHECK_INT(nb_auth_init(), 0);
	nb_auth_proof(&k, NB_AUTH_CLIENT, V, c.cn, c.sn, cp);
	nb_auth_proof(&k, NB_AUTH_SERVER, V, c.cn, c.sn, sp);
	CHECK(nb_auth_verify(&k, NB_AUTH_CLIENT, V, c.cn, c.sn, cp));
	CHECK(nb_auth_verify(&k, NB_AUTH_SERVER, V, c.cn, c.sn, sp));
	CHECK(memcmp(cp, sp, sizeof(cp)) != 0);
	/* one bit off anywhere */
	for (unsigned i = 0; i < sizeof(cp); i++) {
		cp[i] ^= 0x10;
		CHECK(!nb_auth_verify(&k, NB_AUTH_CLIENT, V, c.cn, c.sn, cp));
		cp[i] ^= 0x10;
	}
}

/* The construction is fixed (both ends of a connection may be different builds): HMAC-SHA-256 over the
 * label, the version big-endian, the client's then the server's nonce; values from Python's hmac. */
static void test_known_answer(void)
{
	struct nb_key k = key_of(0);
	unsigned char cn[NB_AUTH_NONCE_BYTES], sn[NB_AUTH_NONCE_BYTES], p[NB_AUTH_PROOF_BYTES];
	char hex[NB_AUTH_HEX(NB_AUTH_PROOF_BYTES)];
	memset(cn, 0xaa, sizeof(cn));
	memset(sn, 0xbb, sizeof(sn));
	nb_auth_proof(&k, NB_AUTH_CLIENT, 2, cn, sn, p);
	nb_auth_to_hex(p, sizeof(p), hex);
	CHECK_STR(hex, "849699e3b2af16d2a6175f9827b0f421d54453a95d7afdf5507cb3743817345a");
	nb_auth_proof(&k, NB_AUTH_SERVER, 2, cn, sn, p);
	nb_auth_to_hex(p, sizeof(p), hex);
	CHECK_STR(hex, "02846cdc2d14a6a3bc904a76014925bc67598bb8d2cfc0282346ff68b02fd22f");
}

static void test_wrong_key(void)
{
	struct nb_key k = key_of(1), other = key_of(2);
	struct conn c = new_conn();
	unsigned char p[NB_AUTH_PROOF_BYTES];
	nb_auth_proof(&other, NB_AUTH_CLIENT, V, c.cn, c.sn, p);
	CHECK(!nb_auth_verify(&k, NB_AUTH_CLIENT, V, c.cn, c.sn, p));
	nb_auth_proof(&other, NB_AUTH_SERVER, V, c.cn, c.sn, p);
	CHECK(!nb_auth_verify(&k, NB_AUTH_SERVER, V, c.cn, c.sn, p));
	/* a key that differs in its last byte only */
	other = key_of(1);
	other.bytes[NB_KEY_BYTES - 1] ^= 1;
	nb_auth_proof(&other, NB_AUTH_CLIENT, V, c.cn, c.sn, p);
	CHECK(!nb_auth_verify(&k, NB_AUTH_CLIENT, V, c.cn, c.sn, p));
}

/* A client without the key sends the responder's own proof back as its own, or swaps the nonces. */
static void test_reflected_swapped(void)
{
	struct nb_key k = key_of(1);
	struct conn c = new_conn();
	unsigned char sp[NB_AUTH_PROOF_BYTES], cp[NB_AUTH_PROOF_BYTES];
	nb_auth_proof(&k, NB_AUTH_SERVER, V, c.cn, c.sn, sp);
	CHECK(!nb_auth_verify(&k, NB_AUTH_CLIENT, V, c.cn, c.sn, sp));
	nb_auth_proof(&k, NB_AUTH_CLIENT, V, c.cn, c.sn, cp);
	CHECK(!nb_auth_verify(&k, NB_AUTH_SERVER, V, c.cn, c.sn, cp));
	/* the responder's proof for a connection where the attacker's nonce is the server's */
	CHECK(!nb_auth_verify(&k, NB_AUTH_CLIENT, V, c.sn, c.cn, sp));
	CHECK(!nb_auth_verify(&k, NB_AUTH_CLIENT, V, c.sn, c.cn, cp));
}

/* A recorded handshake replayed: the responder's fresh nonce (or the client's) makes the old proof fail;
 * another protocol version too. */
static void test_replay(void)
{
	struct nb_key k = key_of(1);
	struct conn old = new_conn(), now = new_conn();
	unsigned char cp[NB_AUTH_PROOF_BYTES], sp[NB_AUTH_PROOF_BYTES];
	CHECK(memcmp(old.sn, now.sn, sizeof(old.sn)) != 0);
	nb_auth_proof(&k, NB_AUTH_CLIENT, V, old.cn, old.sn, cp);
	CHECK(!nb_auth_verify(&k, NB_AUTH_CLIENT, V, old.cn, now.sn, cp)); /* same client nonce replayed */
	CHECK(!nb_auth_verify(&k, NB_AUTH_CLIENT, V, now.cn, now.sn, cp));
	nb_auth_proof(&k, NB_AUTH_SERVER, V, old.cn, old.sn,
		      sp); /* a fake responder replays the server side */
	CHECK(!nb_auth_verify(&k, NB_AUTH_SERVER, V, now.cn, old.sn, sp));
	CHECK(!nb_auth_verify(&k, NB_AUTH_CLIENT, V + 1, old.cn, old.sn, cp));
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
	    TAP_CASE(test_roundtrip),	      TAP_CASE(test_known_answer), TAP_CASE(test_wrong_key),
	    TAP_CASE(test_reflected_swapped), TAP_CASE(test_replay),	   TAP_CASE(test_tokens_hex),
	    TAP_CASE(test_key_files),
	};
	return TAP_RUN(cases, argc > 1 ? argv[1] : NULL);
}
