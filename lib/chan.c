/* SPDX-License-Identifier: MIT */
#include "nbench/chan.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nbench/clock.h"

void nb_chan_init(struct nb_chan *c, int fd, enum nb_auth_role self)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->self = self;
}

void nb_chan_key(struct nb_chan *c, const struct nb_key *k, const struct nb_auth_transcript *t)
{
	nb_auth_session_key(k, t, c->skey);
	c->mac = true;
	c->tx_seq = c->rx_seq = 0;
}

void nb_chan_wipe(struct nb_chan *c)
{
	nb_auth_wipe(c->skey, sizeof(c->skey));
	c->mac = false;
}

static enum nb_auth_role peer_of(const struct nb_chan *c)
{
	return c->self == NB_AUTH_SERVER ? NB_AUTH_CLIENT : NB_AUTH_SERVER;
}

ssize_t nb_chan_encode(struct nb_chan *c, void *buf, size_t cap, enum nb_msg_type type, const char *body,
		       size_t body_len)
{
	size_t mac = c->mac ? NB_AUTH_MAC_BYTES : 0;
	if (cap < mac)
		return -EMSGSIZE;
	ssize_t n =
	    nb_frame_encode(buf, cap - mac, (uint16_t)(type | (mac ? NB_FRAME_MAC : 0)), body, body_len);
	if (n < 0 || !mac)
		return n;
	unsigned char *p = buf;
	nb_auth_mac(c->skey, c->self, c->tx_seq++, p, NB_PROTO_HDR_BYTES, p + NB_PROTO_HDR_BYTES, body_len,
		    p + n);
	return n + (ssize_t)mac;
}

static int send_all_fd(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int nb_chan_send_text(struct nb_chan *c, enum nb_msg_type type, const char *body, size_t body_len)
{
	size_t cap = NB_PROTO_HDR_BYTES + body_len + NB_AUTH_MAC_BYTES;
	char *buf = body_len <= NB_PROTO_MAX_BODY ? malloc(cap) : NULL;
	if (!buf)
		return body_len > NB_PROTO_MAX_BODY ? -EMSGSIZE : -ENOMEM;
	ssize_t n = nb_chan_encode(c, buf, cap, type, body, body_len);
	int r = n < 0 ? (int)n : send_all_fd(c->fd, buf, (size_t)n);
	free(buf);
	return r;
}

int nb_chan_send(struct nb_chan *c, enum nb_msg_type type, const cJSON *body)
{
	char *txt = body ? cJSON_PrintUnformatted(body) : NULL;
	if (body && !txt)
		return -ENOMEM;
	int r = nb_chan_send_text(c, type, txt ? txt : "{}", txt ? strlen(txt) : 2);
	free(txt);
	return r;
}

int nb_chan_send_error(struct nb_chan *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON *j = cJSON_CreateObject();
	if (!j)
		return -ENOMEM;
	cJSON_AddStringToObject(j, "message", msg);
	int r = nb_chan_send(c, NB_MSG_ERROR, j);
	cJSON_Delete(j);
	return r;
}

int nb_chan_open(struct nb_chan *c, const void *buf, size_t len, struct nb_frame_hdr *ret_hdr)
{
	const unsigned char *p = buf;
	int r = nb_frame_decode_hdr(buf, len, ret_hdr);
	if (r < 0)
		return r;
	size_t body = ret_hdr->len, mac = ret_hdr->mac ? NB_AUTH_MAC_BYTES : 0;
	if (len != NB_PROTO_HDR_BYTES + body + mac)
		return -EMSGSIZE;
	if (ret_hdr->mac != c->mac)
		return -EKEYREJECTED;
	if (!c->mac)
		return 0;
	if (!nb_auth_mac_verify(c->skey, peer_of(c), c->rx_seq, p, NB_PROTO_HDR_BYTES, p + NB_PROTO_HDR_BYTES,
				body, p + NB_PROTO_HDR_BYTES + body))
		return -EKEYREJECTED;
	c->rx_seq++;
	return 0;
}

/* Reads exactly len bytes by the deadline. */
static int recv_exact(int fd, void *buf, size_t len, int64_t deadline_ns)
{
	char *p = buf;
	while (len) {
		if (deadline_ns >= 0) {
			int64_t left = deadline_ns - nb_now_ns();
			if (left <= 0)
				return -ETIMEDOUT;
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			int pr = poll(&pfd, 1, (int)((left + NB_NS_PER_MS - 1) / NB_NS_PER_MS));
			if (pr < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			if (pr == 0)
				return -ETIMEDOUT;
		}
		ssize_t n = recv(fd, p, len, deadline_ns >= 0 ? MSG_DONTWAIT : 0);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int nb_chan_recv(struct nb_chan *c, int64_t deadline_ns, uint16_t *ret_type, cJSON **ret_body,
		 uint16_t *ret_peer_version)
{
	unsigned char hdr[NB_PROTO_HDR_BYTES];
	struct nb_frame_hdr h;

	*ret_body = NULL;
	int r = recv_exact(c->fd, hdr, sizeof(hdr), deadline_ns);
	if (r < 0)
		return r;
	r = nb_frame_decode_hdr(hdr, sizeof(hdr), &h);
	if (ret_peer_version && r != -EBADMSG) /* not ours: h was not filled */
		*ret_peer_version = h.version;
	if (r < 0)
		return r;
	size_t len = NB_PROTO_HDR_BYTES + h.len + (h.mac ? NB_AUTH_MAC_BYTES : 0);
	unsigned char *buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, hdr, sizeof(hdr));
	r = recv_exact(c->fd, buf + sizeof(hdr), len - sizeof(hdr), deadline_ns);
	if (r == 0)
		r = nb_chan_open(c, buf, len, &h);
	cJSON *j = r == 0 ? nb_frame_parse_body(buf + NB_PROTO_HDR_BYTES, h.len) : NULL;
	free(buf);
	if (r < 0)
		return r;
	if (!j)
		return -EBADMSG;
	*ret_type = h.type;
	*ret_body = j;
	return 0;
}
