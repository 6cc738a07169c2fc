/* SPDX-License-Identifier: MIT */
/*
 * lib/tcpinfo.c: the kernel's struct tcp_info into nbench's units (full and as an older kernel returns it),
 * differences and sums over flows, and a real connection over 127.0.0.1.
 */
#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nbench/tcpinfo.h"
#include "tap.h"

static struct tcp_info kernel_info(void)
{
	struct tcp_info ti;
	memset(&ti, 0, sizeof(ti));
	ti.tcpi_total_retrans = 17;
	ti.tcpi_retrans = 2; /* in flight now: not the count we want */
	ti.tcpi_snd_cwnd = 870;
	ti.tcpi_snd_mss = 1448;
	ti.tcpi_rtt = 245;
	ti.tcpi_rttvar = 31;
	ti.tcpi_pacing_rate = 290000000ULL; /* bytes/s */
	ti.tcpi_delivery_rate = 118000000ULL;
	ti.tcpi_reord_seen = 5;
	ti.tcpi_dsack_dups = 3;
	return ti;
}

static void test_parse_full(void)
{
	struct tcp_info ti = kernel_info();
	struct nb_tcpinfo t;

	CHECK_INT(nb_tcpinfo_parse(&ti, sizeof(ti), &t), 0);
	CHECK(t.valid);
	CHECK_INT(t.have, NB_TCPINFO_ALL);
	CHECK_U64(t.retransmits, 17);
	CHECK_U64(t.cwnd_segs, 870);
	CHECK_INT(t.mss_bytes, 1448);
	CHECK_U64(t.cwnd_bytes, 870ULL * 1448);
	CHECK_INT(t.srtt_us, 245);
	CHECK_INT(t.rttvar_us, 31);
	CHECK_U64(t.pacing_rate_bps, 2320000000ULL);
	CHECK_U64(t.delivery_rate_bps, 944000000ULL);
	CHECK_U64(t.reord_seen, 5);
	CHECK_U64(t.dsack_dups, 3);

	/* no pacing rate set: the kernel says ~0, which is no figure */
	ti.tcpi_pacing_rate = ~0ULL;
	CHECK_INT(nb_tcpinfo_parse(&ti, sizeof(ti), &t), 0);
	CHECK_INT(t.have, NB_TCPINFO_DELIVERY | NB_TCPINFO_REORD);
	CHECK_U64(t.pacing_rate_bps, 0);
	/* a rate past what bits/s hold saturates */
	ti.tcpi_delivery_rate = ~0ULL >> 1;
	CHECK_INT(nb_tcpinfo_parse(&ti, sizeof(ti), &t), 0);
	CHECK_U64(t.delivery_rate_bps, UINT64_MAX);
}

/* An older kernel's shorter struct: what it did not fill is not a figure, and too short is refused. */
static void test_parse_short(void)
{
	struct tcp_info ti = kernel_info();
	struct nb_tcpinfo t;
	size_t k3_14 = offsetof(struct tcp_info, tcpi_pacing_rate);  /* up to total_retrans */
	size_t k4_8 = offsetof(struct tcp_info, tcpi_delivery_rate); /* pacing, no delivery rate */
	size_t k4_18 = offsetof(struct tcp_info, tcpi_bytes_sent);   /* delivery, no reordering */
	size_t k4_19 = offsetof(struct tcp_info, tcpi_rcv_ooopack);  /* all of ours */

	CHECK_INT(nb_tcpinfo_parse(&ti, k3_14, &t), 0);
	CHECK(t.valid);
	CHECK_INT(t.have, 0);
	CHECK_U64(t.retransmits, 17);
	CHECK_U64(t.cwnd_bytes, 870ULL * 1448);
	CHECK_U64(t.pacing_rate_bps + t.delivery_rate_bps + t.reord_seen + t.dsack_dups, 0);
	CHECK_INT(nb_tcpinfo_parse(&ti, k4_8, &t), 0);
	CHECK_INT(t.have, NB_TCPINFO_PACING);
	CHECK_INT(nb_tcpinfo_parse(&ti, k4_18, &t), 0);
	CHECK_INT(t.have, NB_TCPINFO_PACING | NB_TCPINFO_DELIVERY);
	CHECK_INT(nb_tcpinfo_parse(&ti, k4_19, &t), 0);
	CHECK_INT(t.have, NB_TCPINFO_ALL);

	CHECK_INT(nb_tcpinfo_parse(&ti, offsetof(struct tcp_info, tcpi_total_retrans), &t), -EPROTO);
	CHECK(!t.valid);
	CHECK_INT(nb_tcpinfo_parse(&ti, 0, &t), -EPROTO);
}

static void test_since(void)
{
	struct tcp_info ti = kernel_info();
	struct nb_tcpinfo then, now, d, none = {0};

	nb_tcpinfo_parse(&ti, sizeof(ti), &then);
	ti.tcpi_total_retrans = 40;
	ti.tcpi_reord_seen = 6;
	ti.tcpi_dsack_dups = 3;
	ti.tcpi_snd_cwnd = 100;
	nb_tcpinfo_parse(&ti, sizeof(ti), &now);
	nb_tcpinfo_since(&now, &then, &d);
	CHECK(d.valid);
	CHECK_U64(d.retransmits, 23);
	CHECK_U64(d.reord_seen, 1);
	CHECK_U64(d.dsack_dups, 0);
	CHECK_U64(d.cwnd_segs, 100); /* a gauge: now's */
	CHECK_INT(d.have, NB_TCPINFO_ALL);
	/* no earlier sample: since the connection opened */
	nb_tcpinfo_since(&now, &none, &d);
	CHECK_U64(d.retransmits, 40);
	/* a counter going down is another socket's: no negative count */
	nb_tcpinfo_since(&then, &now, &d);
	CHECK_U64(d.retransmits, 0);
	/* the earlier sample lacked the reordering counters: no difference of them */
	nb_tcpinfo_parse(&ti, offsetof(struct tcp_info, tcpi_bytes_sent), &then);
	nb_tcpinfo_since(&now, &then, &d);
	CHECK_INT(d.have, NB_TCPINFO_PACING | NB_TCPINFO_DELIVERY);
	/* nothing now: nothing */
	nb_tcpinfo_since(&none, &then, &d);
	CHECK(!d.valid);
}

static void test_sum(void)
{
	struct tcp_info ti = kernel_info();
	struct nb_tcpinfo a, b, none = {0}, t;
	struct nb_tcpinfo_sum s = {0};

	nb_tcpinfo_sum_get(&s, &t);
	CHECK(!t.valid);
	nb_tcpinfo_sum_add(&s, &none);
	nb_tcpinfo_sum_get(&s, &t);
	CHECK(!t.valid);

	nb_tcpinfo_parse(&ti, sizeof(ti), &a);
	ti.tcpi_total_retrans = 3;
	ti.tcpi_snd_cwnd = 10;
	ti.tcpi_snd_mss = 9000;
	ti.tcpi_rtt = 100;
	ti.tcpi_rttvar = 10;
	nb_tcpinfo_parse(&ti, offsetof(struct tcp_info, tcpi_bytes_sent), &b); /* no reordering counters */
	nb_tcpinfo_sum_add(&s, &a);
	nb_tcpinfo_sum_add(&s, &none);
	nb_tcpinfo_sum_add(&s, &b);
	nb_tcpinfo_sum_get(&s, &t);
	CHECK(t.valid);
	CHECK_U64(t.retransmits, 20);
	CHECK_U64(t.cwnd_segs, 880);
	CHECK_U64(t.cwnd_bytes, 870ULL * 1448 + 10 * 9000);
	CHECK_INT(t.mss_bytes, 9000);
	CHECK_INT(t.srtt_us, 173); /* (245 + 100) / 2, rounded */
	CHECK_INT(t.rttvar_us, 21);
	CHECK_U64(t.pacing_rate_bps, 2 * 2320000000ULL);
	CHECK_INT(t.have, NB_TCPINFO_PACING | NB_TCPINFO_DELIVERY);
	CHECK_U64(t.reord_seen + t.dsack_dups, 0); /* one flow lacked them: no sum */
}

/* A connected pair over 127.0.0.1 (listener closed); 0 or -errno. */
static int tcp_pair(int *ret_a, int *ret_b)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM, 0), a = socket(AF_INET, SOCK_STREAM, 0), b = -1;

	if (l < 0 || a < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&sa, &sl) < 0 || connect(a, (struct sockaddr *)&sa, sl) < 0 ||
	    (b = accept(l, NULL, NULL)) < 0) {
		int e = errno;
		close(l);
		close(a);
		return -e;
	}
	close(l);
	*ret_a = a;
	*ret_b = b;
	return 0;
}

/* What the kernel says of a real connection that moved 4 MiB over loopback. */
static void test_loopback(void)
{
	static char buf[64 * 1024];
	struct nb_tcpinfo t;
	int a = -1, b = -1;

	CHECK_INT(nb_tcpinfo_get(-1, &t), -EBADF);
	CHECK(!t.valid);
	int r = tcp_pair(&a, &b);
	CHECK_MSG(r == 0, "no TCP connection over 127.0.0.1: %s", strerror(-r));
	if (r)
		return;
	for (int i = 0; i < 64; i++) {
		ssize_t n = send(a, buf, sizeof(buf), 0);
		CHECK(n > 0);
		for (ssize_t got = 0; n > 0 && got < n;) {
			ssize_t m = recv(b, buf, sizeof(buf), 0);
			if (m <= 0)
				break;
			got += m;
		}
	}
	CHECK_INT(nb_tcpinfo_get(a, &t), 0);
	CHECK(t.valid);
	CHECK_MSG(t.cwnd_segs >= 10, "cwnd %llu segments", (unsigned long long)t.cwnd_segs);
	CHECK_MSG(t.mss_bytes > 1000, "mss %u", t.mss_bytes);
	CHECK_U64(t.cwnd_bytes, t.cwnd_segs * t.mss_bytes);
	CHECK_MSG(t.srtt_us > 0 && t.srtt_us < 1000000, "srtt %u us", t.srtt_us);
	CHECK_U64(t.retransmits, 0); /* loopback loses nothing */
	CHECK_MSG(t.have & NB_TCPINFO_PACING, "no pacing rate (have %#x)", t.have);
	CHECK(t.pacing_rate_bps > 0);
	CHECK(t.have & NB_TCPINFO_DELIVERY);
	close(a);
	close(b);

	/* not TCP: no TCP state */
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(nb_tcpinfo_get(u, &t) < 0);
	CHECK(!t.valid);
	close(u);
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {TAP_CASE(test_parse_full), TAP_CASE(test_parse_short),
						TAP_CASE(test_since), TAP_CASE(test_sum),
						TAP_CASE(test_loopback)};
	return TAP_RUN(cases, argc > 1 ? argv[1] : NULL);
}
