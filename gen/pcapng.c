/* SPDX-License-Identifier: MIT */
/* pcapng blocks (draft-ietf-opsawg-pcapng, section 4): written in the host's byte order. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "nbench/pcapng.h"

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 0x00000001u
#define BT_ISB 0x00000005u
#define BT_EPB 0x00000006u

#define OPT_END	     0
#define OPT_COMMENT  1
#define SHB_USERAPPL 4
#define IF_NAME	     2
#define IF_DESCR     3
#define IF_TSRESOL   9
#define ISB_IFRECV   4
#define ISB_IFDROP   5

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* The bytes of an option holding len bytes of value. */
static size_t opt_bytes(size_t len)
{
	return 4 + pad4(len);
}

static int put(FILE *f, const void *p, size_t n)
{
	return n && fwrite(p, 1, n, f) != n ? -EIO : 0;
}

static int put32(FILE *f, uint32_t v)
{
	return put(f, &v, 4);
}

static int put_opt(FILE *f, uint16_t code, const void *v, size_t len)
{
	static const unsigned char zeros[4];
	uint16_t h[2] = {code, (uint16_t)len};
	int r = put(f, h, 4);
	if (!r)
		r = put(f, v, len);
	if (!r)
		r = put(f, zeros, pad4(len) - len);
	return r;
}

static int put_str_opt(FILE *f, uint16_t code, const char *s)
{
	return s && s[0] ? put_opt(f, code, s, strlen(s)) : 0;
}

static size_t str_opt_bytes(const char *s)
{
	return s && s[0] ? opt_bytes(strlen(s)) : 0;
}

/* The options' end marker and the block's trailing length. */
static int close_block(FILE *f, uint32_t total, bool has_opts)
{
	int r = has_opts ? put_opt(f, OPT_END, NULL, 0) : 0;
	if (!r)
		r = put32(f, total);
	return r || ferror(f) ? -EIO : 0;
}

int nb_pcapng_shb(FILE *f, const char *appl)
{
	uint32_t total = 28 + (uint32_t)(str_opt_bytes(appl) + 4);
	uint32_t head[3] = {BT_SHB, total, 0x1A2B3C4Du};
	uint16_t ver[2] = {1, 0};
	int64_t section_len = -1; /* not given */
	int r = put(f, head, sizeof(head));
	if (!r)
		r = put(f, ver, sizeof(ver));
	if (!r)
		r = put(f, &section_len, 8);
	if (!r)
		r = put_str_opt(f, SHB_USERAPPL, appl);
	return r ? r : close_block(f, total, true);
}

int nb_pcapng_idb(FILE *f, uint16_t linktype, uint32_t snap_bytes, const char *name, const char *descr)
{
	uint8_t tsresol = 9; /* 10^-9 s */
	uint32_t total = 20 + (uint32_t)(str_opt_bytes(name) + str_opt_bytes(descr) + opt_bytes(1) + 4);
	uint32_t head[2] = {BT_IDB, total};
	uint16_t lt[2] = {linktype, 0};
	int r = put(f, head, sizeof(head));
	if (!r)
		r = put(f, lt, sizeof(lt));
	if (!r)
		r = put32(f, snap_bytes);
	if (!r)
		r = put_str_opt(f, IF_NAME, name);
	if (!r)
		r = put_str_opt(f, IF_DESCR, descr);
	if (!r)
		r = put_opt(f, IF_TSRESOL, &tsresol, 1);
	return r ? r : close_block(f, total, true);
}

size_t nb_pcapng_epb_bytes(uint32_t caplen)
{
	return 32 + pad4(caplen);
}

int nb_pcapng_epb(FILE *f, uint32_t ifid, uint64_t ts_ns, const void *data, uint32_t caplen, uint32_t origlen)
{
	static const unsigned char zeros[4];
	uint32_t total = (uint32_t)nb_pcapng_epb_bytes(caplen);
	uint32_t head[7] = {BT_EPB, total, ifid, (uint32_t)(ts_ns >> 32), (uint32_t)ts_ns, caplen, origlen};
	int r = put(f, head, sizeof(head));
	if (!r)
		r = put(f, data, caplen);
	if (!r)
		r = put(f, zeros, pad4(caplen) - caplen);
	return r ? r : close_block(f, total, false);
}

int nb_pcapng_isb(FILE *f, uint32_t ifid, uint64_t ts_ns, uint64_t recv, uint64_t drop, const char *comment)
{
	uint32_t total = 24 + (uint32_t)(str_opt_bytes(comment) + 2 * opt_bytes(8) + 4);
	uint32_t head[5] = {BT_ISB, total, ifid, (uint32_t)(ts_ns >> 32), (uint32_t)ts_ns};
	int r = put(f, head, sizeof(head));
	if (!r)
		r = put_str_opt(f, OPT_COMMENT, comment);
	if (!r)
		r = put_opt(f, ISB_IFRECV, &recv, 8);
	if (!r)
		r = put_opt(f, ISB_IFDROP, &drop, 8);
	return r ? r : close_block(f, total, true);
}
