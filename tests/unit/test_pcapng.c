/* SPDX-License-Identifier: MIT */
/* --capture's pcapng blocks, read back: each block's length at both ends and a multiple of 4, the section
 * header's magic and version, the interface's options (name, description, nanosecond resolution), a packet's
 * interface, time, lengths and bytes, the statistics' counters; a write that fails says so. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbench/pcapng.h"
#include "tap.h"

static uint32_t u32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint16_t u16(const unsigned char *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

/* The option code's value in the options at p (len bytes), or NULL; its length into *ret_len. */
static const unsigned char *opt(const unsigned char *p, size_t len, uint16_t code, uint16_t *ret_len)
{
	for (size_t o = 0; o + 4 <= len;) {
		uint16_t c = u16(p + o), l = u16(p + o + 2);
		if (c == 0)
			return NULL;
		if (c == code) {
			*ret_len = l;
			return p + o + 4;
		}
		o += 4 + ((l + 3u) & ~3u);
	}
	return NULL;
}

static void test_blocks(void)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	const unsigned char pkt[7] = {1, 2, 3, 4, 5, 6, 7};
	CHECK_INT(nb_pcapng_shb(f, "nbench test"), 0);
	CHECK_INT(nb_pcapng_idb(f, 1, 256, "nb-x-r", "network namespace nb-x-remote"), 0);
	CHECK_INT(nb_pcapng_epb(f, 0, 1700000000123456789ull, pkt, 7, 1514), 0);
	CHECK_INT(nb_pcapng_isb(f, 0, 1700000001000000000ull, 10, 2, "cut 1"), 0);
	fclose(f);
	const unsigned char *p = (const unsigned char *)buf;
	uint32_t types[4] = {0x0A0D0D0Au, 1, 6, 5};
	size_t off = 0;
	for (int b = 0; b < 4; b++) {
		CHECK(off + 12 <= size);
		uint32_t len = u32(p + off + 4);
		CHECK_INT(u32(p + off), types[b]);
		CHECK(len % 4 == 0 && off + len <= size);
		CHECK_INT(u32(p + off + len - 4), len);
		const unsigned char *body = p + off + 8;
		uint16_t l = 0;
		const unsigned char *v;
		if (b == 0) {
			CHECK_INT(u32(body), 0x1A2B3C4Du);
			CHECK_INT(u16(body + 4), 1);
			v = opt(body + 16, len - 28, 4, &l);
			CHECK(v && l == 11 && !memcmp(v, "nbench test", 11));
		} else if (b == 1) {
			CHECK_INT(u16(body), 1);
			CHECK_INT(u32(body + 4), 256);
			v = opt(body + 8, len - 20, 2, &l);
			CHECK(v && l == 6 && !memcmp(v, "nb-x-r", 6));
			v = opt(body + 8, len - 20, 3, &l);
			CHECK(v && l == 29);
			v = opt(body + 8, len - 20, 9, &l);
			CHECK(v && l == 1 && v[0] == 9);
		} else if (b == 2) {
			CHECK_INT(len, nb_pcapng_epb_bytes(7));
			CHECK_INT(u32(body), 0);
			uint64_t ts = (uint64_t)u32(body + 4) << 32 | u32(body + 8);
			CHECK(ts == 1700000000123456789ull);
			CHECK_INT(u32(body + 12), 7);
			CHECK_INT(u32(body + 16), 1514);
			CHECK(!memcmp(body + 20, pkt, 7) && body[27] == 0);
		} else {
			uint64_t recv, drop;
			v = opt(body + 12, len - 24, 4, &l);
			CHECK(v && l == 8);
			memcpy(&recv, v, 8);
			v = opt(body + 12, len - 24, 5, &l);
			CHECK(v && l == 8);
			memcpy(&drop, v, 8);
			CHECK(recv == 10 && drop == 2);
			v = opt(body + 12, len - 24, 1, &l);
			CHECK(v && l == 5 && !memcmp(v, "cut 1", 5));
		}
		off += len;
	}
	CHECK_INT(off, size);
	free(buf);

	/* a stream that cannot be written */
	FILE *ro = fopen("/dev/null", "r");
	CHECK(ro != NULL);
	if (ro) {
		CHECK_INT(nb_pcapng_epb(ro, 0, 1, pkt, 7, 7), -5);
		fclose(ro);
	}
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {TAP_CASE(test_blocks)};
	return TAP_RUN(cases, argc > 1 ? argv[1] : NULL);
}
