/* SPDX-License-Identifier: MIT */
/* Peers' addresses: printed, made plain (an IPv4-mapped IPv6 address as IPv4) and compared by host. */
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "resp_int.h"

void nb_peer_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	if (getnameinfo((const struct sockaddr *)ss, sizeof(*ss), buf, (socklen_t)len, NULL, 0,
			NI_NUMERICHOST))
		snprintf(buf, len, "?");
}

/* An IPv4-mapped IPv6 address as the IPv4 one, so a dual-stack listener's peers compare with IPv4 senders. */
void nb_peer_plain(const struct sockaddr *sa, struct sockaddr_storage *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (sa->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sa)->sin6_addr)) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)ret;
		v4->sin_family = AF_INET;
		memcpy(&v4->sin_addr, ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr + 12, 4);
	} else if (sa->sa_family == AF_INET) {
		memcpy(ret, sa, sizeof(struct sockaddr_in));
	} else if (sa->sa_family == AF_INET6) {
		memcpy(ret, sa, sizeof(struct sockaddr_in6));
	}
}

/* Whether two socket addresses name the same host (ports aside). */
bool nb_peer_same_host(const struct sockaddr *a, const struct sockaddr_storage *b_)
{
	struct sockaddr_storage x, y;
	nb_peer_plain(a, &x);
	nb_peer_plain((const struct sockaddr *)b_, &y);
	if (x.ss_family != y.ss_family || !x.ss_family)
		return false;
	if (x.ss_family == AF_INET)
		return ((struct sockaddr_in *)&x)->sin_addr.s_addr ==
		       ((struct sockaddr_in *)&y)->sin_addr.s_addr;
	return !memcmp(&((struct sockaddr_in6 *)&x)->sin6_addr, &((struct sockaddr_in6 *)&y)->sin6_addr,
		       sizeof(struct in6_addr));
}

void nb_peer_source(const struct sockaddr_storage *peer, unsigned char ret[NB_PEER_SRC_BYTES])
{
	struct sockaddr_storage x;
	nb_peer_plain((const struct sockaddr *)peer, &x);
	memset(ret, 0, NB_PEER_SRC_BYTES);
	if (x.ss_family == AF_INET) { /* as its IPv4-mapped form: ::ffff:a.b.c.d */
		ret[10] = ret[11] = 0xff;
		memcpy(ret + 12, &((struct sockaddr_in *)&x)->sin_addr, 4);
	} else if (x.ss_family == AF_INET6) { /* its /64 */
		memcpy(ret, &((struct sockaddr_in6 *)&x)->sin6_addr, 8);
	}
}
