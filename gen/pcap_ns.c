/* SPDX-License-Identifier: MIT */
/* libpcap inside a network namespace (see pcap_ns.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pcap_ns.h"

struct open_job {
	const char *netns, *ifname, *filter;
	int snap_bytes, buffer_bytes;
	pcap_t *p;
	char *err;
	size_t errlen;
	int rc;
};

static int open_pcap(struct open_job *j)
{
	char perr[PCAP_ERRBUF_SIZE] = "";
	struct bpf_program prog;
	pcap_t *p = pcap_create(j->ifname, perr);
	if (!p) {
		snprintf(j->err, j->errlen, "capture on %s: %s", j->ifname, perr);
		return -ENODEV;
	}
	/* nanoseconds must be asked for before activation (pcap_open_live cannot); immediate mode hands each
	 * packet over as it comes rather than per filled block */
	if (pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO) || pcap_set_snaplen(p, j->snap_bytes) ||
	    pcap_set_immediate_mode(p, 1) || pcap_set_buffer_size(p, j->buffer_bytes) ||
	    pcap_activate(p) < 0 || pcap_compile(p, &prog, j->filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(j->err, j->errlen, "capture on %s: %s", j->ifname, pcap_geterr(p));
		pcap_close(p);
		return -EIO;
	}
	int r = pcap_setfilter(p, &prog);
	pcap_freecode(&prog);
	if (r < 0 || pcap_setnonblock(p, 1, perr) < 0 || pcap_get_selectable_fd(p) < 0) {
		snprintf(j->err, j->errlen, "capture on %s: %s", j->ifname, pcap_geterr(p));
		pcap_close(p);
		return -EIO;
	}
	j->p = p;
	return 0;
}

/* In its own thread: setns moves only this thread, which ends right after; the capture's socket keeps
 * reading the namespace it was made in. */
static void *open_in_ns(void *arg)
{
	struct open_job *j = arg;
	char path[128];
	if (j->netns[0] == '/')
		snprintf(path, sizeof(path), "%s", j->netns);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", j->netns);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		j->rc = -errno;
		snprintf(j->err, j->errlen, "capture on %s: cannot enter netns %s: %s", j->ifname, j->netns,
			 strerror(errno));
	} else {
		j->rc = open_pcap(j);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

int nb_pcap_open_ns(const char *netns, const char *ifname, const char *filter, int snap_bytes,
		    int buffer_bytes, pcap_t **ret, int *ret_fd, char *err, size_t errlen)
{
	struct open_job j = {.netns = netns ? netns : "",
			     .ifname = ifname,
			     .filter = filter,
			     .snap_bytes = snap_bytes,
			     .buffer_bytes = buffer_bytes,
			     .err = err,
			     .errlen = errlen};
	pthread_t th;
	if (!j.netns[0]) {
		j.rc = open_pcap(&j);
	} else {
		int pr = pthread_create(&th, NULL, open_in_ns, &j);
		if (pr != 0) /* not j.rc = -pthread_create(): the thread may have set j.rc already */
			return -pr;
		pthread_join(th, NULL);
	}
	if (j.rc == 0) {
		*ret = j.p;
		*ret_fd = pcap_get_selectable_fd(j.p);
	}
	return j.rc;
}
