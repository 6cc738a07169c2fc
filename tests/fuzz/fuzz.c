/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer targets for the control protocol's decoders. One source, one executable per decoder (the
 * build names it with -DNB_FUZZ_TARGET="cfg", ...): each target's corpus then holds bodies of its own kind,
 * so mutations stay near what that decoder reads, and a crash names its decoder.
 *
 *   frame      a byte stream of frames: nb_frame_decode_hdr, nb_frame_parse_body, then the frame type's
 *              typed decoder (what a peer's bytes go through); a header that decodes must re-encode to the
 *              same bytes.
 *   chan       a byte stream of a keyed session's frames as the responder receives them: nb_chan_open checks
 *              each one's MAC and number (a fixed session, codecs.h); one it accepts must be what the
 * client's channel encodes for that number, byte for byte, and its body goes to its type's decoder. <body>
 * one JSON body for that decoder (nb_cfg_from_json, ...).
 *
 * Besides ASan/UBSan's findings, a body a decoder accepts must survive a round trip: its encoding decodes
 * again, and encodes to the same text (an accepted value the encoder cannot express, or a field lost on
 * the way, aborts).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codecs.h"

#ifndef NB_FUZZ_TARGET
#error "build with -DNB_FUZZ_TARGET=\"frame\" or a codec's name"
#endif

static const struct nb_fuzz_codec *target; /* NULL for "frame" and "chan" */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!strcmp(NB_FUZZ_TARGET, "frame") || !strcmp(NB_FUZZ_TARGET, "chan"))
		return 0;
	for (size_t i = 0; i < NB_FUZZ_N_CODECS; i++)
		if (!strcmp(nb_fuzz_codecs[i].name, NB_FUZZ_TARGET))
			target = &nb_fuzz_codecs[i];
	if (!target) {
		fprintf(stderr, "fuzz: no decoder named %s\n", NB_FUZZ_TARGET);
		abort();
	}
	return 0;
}

static char *print_of(const struct nb_fuzz_codec *c, const void *s)
{
	cJSON *j = c->to_json(s);
	char *txt = j ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	return txt;
}

/* proto.h: a refusal is a one-line message (it ends up in a log line or on a terminal). */
static bool one_line(const char *msg)
{
	if (!msg[0])
		return false;
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* Decodes j with c; when accepted, checks the round trip. */
static void decode_body(const struct nb_fuzz_codec *c, const cJSON *j)
{
	char err[256] = "";
	void *s = calloc(1, c->size), *s2 = calloc(1, c->size);
	if (!s || !s2)
		abort();
	if (c->from_json(j, s, err, sizeof(err)) == 0) {
		char *t1 = print_of(c, s);
		cJSON *j1 = t1 ? cJSON_Parse(t1) : NULL;
		if (!j1 || c->from_json(j1, s2, err, sizeof(err)) != 0) {
			fprintf(stderr, "fuzz: %s: the encoding of an accepted body is refused: %s\n  %s\n",
				c->name, err, t1 ? t1 : "(no encoding)");
			abort();
		}
		char *t2 = print_of(c, s2);
		if (!t2 || strcmp(t1, t2)) {
			fprintf(stderr, "fuzz: %s: round trip changed the body:\n  %s\n  %s\n", c->name, t1,
				t2 ? t2 : "(none)");
			abort();
		}
		free(t2);
		cJSON_Delete(j1);
		free(t1);
	} else if (!one_line(err)) {
		fprintf(stderr, "fuzz: %s: refused without a one-line message: \"%s\"\n", c->name, err);
		abort();
	}
	free(s2);
	free(s);
}

static const struct nb_fuzz_codec *codec_of_type(uint16_t type)
{
	for (size_t i = 0; i < NB_FUZZ_N_CODECS; i++)
		if (nb_fuzz_codecs[i].type && nb_fuzz_codecs[i].type == type)
			return &nb_fuzz_codecs[i];
	return NULL;
}

/* The untyped bodies, read as the responder and the client read them. */
static void decode_untyped(const cJSON *j)
{
	volatile int64_t sink = nb_json_i64(j, "test_id", -1) + nb_json_i64(j, "flow", -1);
	const char *msg = nb_json_str(j, "message", "");
	sink += (int64_t)strlen(msg) + (int64_t)nb_json_num(j, "ack", 0);
	(void)sink;
}

/* A frame's body, through its type's decoder. */
static void decode_frame_body(uint16_t type, const uint8_t *body, size_t len)
{
	cJSON *j = nb_frame_parse_body(body, len);
	if (!j)
		return;
	const struct nb_fuzz_codec *c = codec_of_type(type);
	if (c)
		decode_body(c, j);
	else
		decode_untyped(j);
	cJSON_Delete(j);
}

/* The length of the whole frame at data (its MAC included), or 0 when its header does not decode or the
 * frame is cut short. */
static size_t frame_len(const uint8_t *data, size_t size, struct nb_frame_hdr *h)
{
	if (nb_frame_decode_hdr(data, size, h) < 0)
		return 0;
	size_t len = NB_PROTO_HDR_BYTES + h->len + (h->mac ? NB_AUTH_MAC_BYTES : 0);
	return len <= size ? len : 0;
}

static void fuzz_frames(const uint8_t *data, size_t size)
{
	struct nb_frame_hdr h;
	size_t len;
	while ((len = frame_len(data, size, &h))) {
		uint8_t *again = malloc(NB_PROTO_HDR_BYTES + h.len);
		if (!again)
			abort();
		ssize_t n = nb_frame_encode(again, NB_PROTO_HDR_BYTES + h.len,
					    (uint16_t)(h.type | (h.mac ? NB_FRAME_MAC : 0)),
					    (const char *)data + NB_PROTO_HDR_BYTES, h.len);
		if (n != (ssize_t)(NB_PROTO_HDR_BYTES + h.len) || memcmp(again, data, (size_t)n)) {
			fprintf(stderr,
				"fuzz: frame: a decoded header does not re-encode to the same bytes\n");
			abort();
		}
		free(again);
		decode_frame_body(h.type, data + NB_PROTO_HDR_BYTES, h.len);
		data += len;
		size -= len;
	}
}

static void fuzz_chan(const uint8_t *data, size_t size)
{
	struct nb_chan client, server;
	struct nb_frame_hdr h;
	size_t len;
	nb_fuzz_chans(&client, &server);
	while ((len = frame_len(data, size, &h))) {
		uint64_t seq = server.rx_seq;
		if (nb_chan_open(&server, data, len, &h) == 0) {
			uint8_t *again = malloc(len);
			if (!again)
				abort();
			client.tx_seq = seq;
			ssize_t n = nb_chan_encode(&client, again, len, h.type,
						   (const char *)data + NB_PROTO_HDR_BYTES, h.len);
			if (n != (ssize_t)len || memcmp(again, data, len) || server.rx_seq != seq + 1) {
				fprintf(stderr,
					"fuzz: chan: an accepted frame is not the client's frame %llu\n",
					(unsigned long long)seq);
				abort();
			}
			free(again);
			decode_frame_body(h.type, data + NB_PROTO_HDR_BYTES, h.len);
		} else if (server.rx_seq != seq) {
			fprintf(stderr, "fuzz: chan: a refused frame moved the sequence\n");
			abort();
		}
		data += len;
		size -= len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!target && !strcmp(NB_FUZZ_TARGET, "chan")) {
		fuzz_chan(data, size);
		return 0;
	}
	if (!target) {
		fuzz_frames(data, size);
		return 0;
	}
	cJSON *j = nb_frame_parse_body(data, size);
	if (j)
		decode_body(target, j);
	cJSON_Delete(j);
	return 0;
}
