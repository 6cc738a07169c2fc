/* SPDX-License-Identifier: MIT */
/*
 * NB_STEP_GUEST: qemu with virtio-net-pci on the plan's tap (its own userspace backend for "virtio",
 * vhost-net for "vhost") or on the vhost-user socket of the backend (vhost_user.c), started in the "host"
 * namespace as a recorded process of the instance; readiness = the guest's responder accepting a
 * connection, never a sleep. The guest's facts (image, accelerator, boot time, qemu's argv) are written to
 * NB_VM_RUN_DIR/<name>/guest.json for whoever describes the instance later; a guest that does not come up
 * leaves its console log under NB_GUEST_LOG_DIR. The undo finds qemu by its pidfile and process name.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nbench/clock.h"
#include "nbench/fsutil.h"
#include "vm_int.h"

#define GUEST_MAC      "52:54:00:4e:42:02"
#define BOOT_TIMEOUT_S 90 /* TCG boots in ~10 s on an idle 2-vCPU machine; CI may be busier */

/* The plan's bridge address (the guest's gateway) and the tap. */
static void plan_links(const struct nb_plan *p, char *gw, size_t gwlen, unsigned *plen, char *tap,
		       size_t taplen)
{
	char br[IFNAMSIZ];

	*gw = *tap = '\0';
	*plen = 24;
	snprintf(br, sizeof(br), "nb-%s-b", p->name);
	for (size_t i = 0; i < p->nsteps; i++) {
		const struct nb_step *s = &p->steps[i];

		if (s->kind == NB_STEP_TAP)
			snprintf(tap, taplen, "%s", s->ifname);
		if (s->kind == NB_STEP_ADDR && !strcmp(s->ifname, br)) {
			const char *slash = strchr(s->addr, '/');

			snprintf(gw, gwlen, "%.*s", slash ? (int)(slash - s->addr) : (int)strlen(s->addr),
				 s->addr);
			if (slash)
				*plen = (unsigned)atoi(slash + 1);
		}
	}
}

static void qemu_cmd_build(struct nb_vm_cmd *q, const struct nb_plan *p, const char *kernel,
			   const char *initrd, const char *accel, const char *dir)
{
	char gw[48], tap[IFNAMSIZ], name[64], append[160], console[160];
	unsigned plen;
	bool vhost = p->vm == NB_VM_VHOST_NET, vu = p->vm == NB_VM_VHOST_USER;

	memset(q, 0, sizeof(*q));
	plan_links(p, gw, sizeof(gw), &plen, tap, sizeof(tap));
	snprintf(name, sizeof(name), "nbench-%s,process=nb-%s-qemu", p->name, p->name);
	nb_vm_machine(q, name, accel);
	if (vu) { /* the backend maps the guest's memory: it must be a shareable file */
		nb_vm_arg(q, "-object");
		nb_vm_arg(q, "memory-backend-memfd,id=mem,size=" NB_VM_MEM_MIB "M,share=on");
		nb_vm_arg(q, "-numa");
		nb_vm_arg(q, "node,memdev=mem");
	}
	snprintf(append, sizeof(append), "nbench.ip=%s/%u nbench.gw=%s nbench.port=%u", p->server_addr, plen,
		 gw, p->server_port);
	snprintf(console, sizeof(console), "%s/console.log", dir);
	nb_vm_boot(q, kernel, initrd, append, console);
	if (vu) {
		char sock[160];

		nb_vu_sock(sock, sizeof(sock), p->name);
		nb_vm_arg(q, "-chardev");
		nb_vm_arg(q, "socket,id=c0,path=%s", sock);
		nb_vm_arg(q, "-netdev");
		nb_vm_arg(q, "vhost-user,id=n0,chardev=c0");
		nb_vm_arg(q, "-device");
		/* vectors=0: INTx, as qemu 7.2 aborts in msix_set_vector_notifiers with vhost-user without
		 * KVM. No checksum or segmentation offloads: testpmd's io forwarding passes frames as they
		 * are, and DPDK's vhost library leaves a guest's partial checksum for a NIC to finish that
		 * net_tap is not asked to be, so the guest completes every frame itself (as it does on a real
		 * wire). 1024-entry rings, as OVS-DPDK deployments configure for vhost-user. */
		nb_vm_arg(
		    q,
		    "virtio-net-pci,netdev=n0,mac=" GUEST_MAC ",romfile=,vectors=0,csum=off,guest_csum=off,"
		    "host_tso4=off,host_tso6=off,host_ecn=off,host_ufo=off,guest_tso4=off,guest_tso6=off,"
		    "guest_ecn=off,guest_ufo=off,rx_queue_size=1024,tx_queue_size=1024");
	} else {
		nb_vm_arg(q, "-netdev");
		nb_vm_arg(q, "tap,id=n0,ifname=%s,script=no,downscript=no,vhost=%s", tap,
			  vhost ? "on" : "off");
		nb_vm_arg(q, "-device");
		/* no option ROM: the guest boots from -kernel, never from the network */
		nb_vm_arg(q, "virtio-net-pci,netdev=n0,mac=" GUEST_MAC ",romfile=");
	}
	nb_vm_arg(q, "-no-reboot");
	nb_vm_arg(q, "-pidfile");
	nb_vm_arg(q, "%s/qemu.pid", dir);
}

struct guest_facts {
	const struct nb_guest_image *img;
	const char *accel, *accel_why, *backend;
	const struct nb_vm_cmd *q;
	const struct nb_vu_backend *vu; /* "vhost-user": its testpmd; else NULL */
	pid_t pid;
	int64_t boot_ns; /* < 0: not up yet */
	char console[PATH_MAX];
};

static int facts_write(const struct nb_plan *p, const char *dir, const struct guest_facts *g)
{
	cJSON *o = cJSON_CreateObject(), *a;
	char path[PATH_MAX], *text;
	int r;

	if (!o)
		return -ENOMEM;
	cJSON_AddNumberToObject(o, "schema_version", 1);
	cJSON_AddStringToObject(o, "name", p->name);
	cJSON_AddStringToObject(o, "kind", p->kind);
	cJSON_AddStringToObject(o, "kernel_version", g->img->kernel_version);
	cJSON_AddStringToObject(o, "kernel_package", g->img->kernel_package);
	cJSON_AddStringToObject(o, "image", g->img->json);
	cJSON_AddStringToObject(o, "accel", g->accel);
	cJSON_AddStringToObject(o, "accel_why", g->accel_why);
	cJSON_AddBoolToObject(o, "emulation_bound", !strcmp(g->accel, "tcg"));
	cJSON_AddStringToObject(o, "backend", g->backend);
	cJSON_AddStringToObject(o, "device", "virtio-net-pci");
	cJSON_AddNumberToObject(o, "memory_mib", atoi(NB_VM_MEM_MIB));
	cJSON_AddNumberToObject(o, "vcpus", 1);
	cJSON_AddNumberToObject(o, "qemu_pid", g->pid);
	if (g->boot_ns >= 0)
		cJSON_AddNumberToObject(o, "boot_ns", (double)g->boot_ns);
	else
		cJSON_AddNullToObject(o, "boot_ns");
	cJSON_AddStringToObject(o, "console", g->console);
	a = cJSON_AddArrayToObject(o, "qemu_argv");
	for (size_t i = 0; a && i < g->q->argc; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(g->q->argv[i]));
	if (g->vu) {
		cJSON *b = cJSON_AddObjectToObject(o, "backend_process");

		if (b) {
			cJSON_AddStringToObject(b, "program", "dpdk-testpmd");
			cJSON_AddStringToObject(b, "forward_mode", "io, tx retry 100 x 10 us");
			cJSON_AddNumberToObject(b, "pid", g->vu->pid);
			/* the forwarding lcore polls without sleeping: a whole CPU while the path is up */
			cJSON_AddNumberToObject(b, "forward_cpu", g->vu->fwd_cpu);
			cJSON_AddNumberToObject(b, "main_cpu", g->vu->main_cpu);
			cJSON_AddBoolToObject(b, "polling", true);
			a = cJSON_AddArrayToObject(b, "argv");
			for (size_t i = 0; a && i < g->vu->cmd.argc; i++)
				cJSON_AddItemToArray(a, cJSON_CreateString(g->vu->cmd.argv[i]));
		}
	}
	text = cJSON_Print(o);
	cJSON_Delete(o);
	if (!text)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/guest.json", dir);
	r = nb_write_atomic(path, text);
	free(text);
	return r;
}

cJSON *nb_qemu_facts(const char *name)
{
	char path[PATH_MAX], *text;
	cJSON *o;

	snprintf(path, sizeof(path), NB_VM_RUN_DIR "/%s/guest.json", name);
	text = nb_slurp(path, 1 << 16);
	if (!text)
		return NULL;
	o = cJSON_Parse(text);
	free(text);
	return o;
}

/* One connection attempt to the guest's responder from the host netns, at most timeout_ms. */
static int try_connect(int netns_fd, const char *addr, uint16_t port, int timeout_ms)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct pollfd pfd;
	int orig, fd, r = 0, e = 0;
	socklen_t elen = sizeof(e);

	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		return -EINVAL;
	orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (orig < 0)
		return -errno;
	if (setns(netns_fd, CLONE_NEWNET)) {
		r = -errno;
		close(orig);
		return r;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		r = -errno;
	if (setns(orig, CLONE_NEWNET) && !r)
		r = -errno;
	close(orig);
	if (r) {
		if (fd >= 0)
			close(fd);
		return r;
	}
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) && errno != EINPROGRESS) {
		r = -errno;
		close(fd);
		return r;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	r = poll(&pfd, 1, timeout_ms);
	if (r == 0)
		r = -ETIMEDOUT;
	else if (r < 0)
		r = -errno;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) || e)
		r = -(e ? e : errno);
	else
		r = 0;
	close(fd);
	return r;
}

/* Keeps the log file (console.log, testpmd.log) of a guest that did not come up; the path goes to ret. */
static void keep_console(const char *name, const char dir[128], const char *file, char *ret, size_t len)
{
	char src[160], dst[PATH_MAX], stamp[32], *text;
	time_t now = time(NULL);
	struct tm tm;

	*ret = '\0';
	snprintf(src, sizeof(src), "%s/%s", dir, file);
	text = nb_slurp(src, 4 << 20);
	if (!text)
		return;
	if (mkdir("/var/log/nbench", 0755) && errno != EEXIST) {
		free(text);
		snprintf(ret, len, "%s (removed with the path)", src);
		return;
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(dst, sizeof(dst), NB_GUEST_LOG_DIR "/%s-%s-%s", name, stamp, file);
	if (!nb_write_atomic(dst, text))
		snprintf(ret, len, "%s", dst);
	free(text);
}

/* One boot of the guest, from the image to its responder answering. */
struct boot {
	const struct nb_plan *p;
	const struct nb_launch *l;
	struct nb_guest_image img;
	struct nb_vm_cmd q;
	struct guest_facts g;
	char dir[128], accel[8], why[256];
	int64_t start_ns, limit_ns;
};

enum boot_end { BOOT_UP, BOOT_CANCELLED, BOOT_QEMU_GONE, BOOT_BACKEND_GONE, BOOT_TIMEOUT };

/* The image, the accelerator, the run directory and qemu's command. */
static int boot_prepare(struct boot *b, char *err, size_t errlen)
{
	const struct nb_plan *p = b->p;
	const char *env = getenv("NBENCH_GUEST_BOOT_TIMEOUT");
	int r;

	b->limit_ns = (env && atoi(env) > 0 ? atoi(env) : BOOT_TIMEOUT_S) * NB_NS_PER_S;
	r = nb_guest_image(false, false, &b->img, err, errlen);
	if (r)
		return r;
	if (nb_cancel_pending(b->l->cancel))
		return -EINTR;
	nb_guest_accel(&b->img, false, b->accel, sizeof(b->accel), b->why, sizeof(b->why));
	if (nb_cancel_pending(b->l->cancel))
		return -EINTR;
	r = nb_vm_run_dir_make(p->name, b->dir, sizeof(b->dir), err, errlen);
	if (r)
		return r;
	qemu_cmd_build(&b->q, p, b->img.kernel, b->img.initrd, b->accel, b->dir);
	b->g.img = &b->img;
	b->g.q = &b->q;
	b->g.boot_ns = -1;
	b->g.accel = b->accel;
	b->g.accel_why = b->why;
	b->g.backend = b->g.vu ? NB_VU_BACKEND : p->vm == NB_VM_VHOST_NET ? "vhost-net" : "qemu";
	snprintf(b->g.console, sizeof(b->g.console), "%s/console.log", b->dir);
	return 0;
}

static int qemu_spawn(struct boot *b, char *err, size_t errlen)
{
	char log[160];

	snprintf(log, sizeof(log), "%s/qemu.log", b->dir);
	b->start_ns = nb_now_ns();
	b->g.pid = nb_vm_spawn_logged(b->p->server_ns, &b->q, log, b->l);
	if (b->g.pid < 0) {
		nb_err(err, errlen, "cannot start qemu in %s: %s", b->p->server_ns, strerror((int)-b->g.pid));
		return (int)b->g.pid;
	}
	facts_write(b->p, b->dir, &b->g);
	return 0;
}

/* Readiness is the guest's responder accepting a connection from the host netns, never a sleep. */
static enum boot_end boot_wait(struct boot *b, int netns_fd)
{
	int last;

	for (;;) {
		if (nb_cancel_pending(b->l->cancel))
			return BOOT_CANCELLED;
		last = try_connect(netns_fd, b->p->server_addr, b->p->server_port, 250);
		if (!last)
			return BOOT_UP;
		if (nb_cancel_pending(b->l->cancel))
			continue;
		if (!nb_proc_start_ticks(b->g.pid))
			return BOOT_QEMU_GONE;
		if (b->g.vu && !nb_proc_start_ticks(b->g.vu->pid))
			return BOOT_BACKEND_GONE;
		if (nb_now_ns() - b->start_ns > b->limit_ns)
			return BOOT_TIMEOUT;
		if (last != -ETIMEDOUT) {
			struct timespec ts = {0, 100 * 1000 * 1000};

			nanosleep(&ts, NULL);
		}
	}
}

/* Why the guest did not come up, with the log that says more kept under NB_GUEST_LOG_DIR. */
static int boot_failed(const struct boot *b, enum boot_end end, char *err, size_t errlen)
{
	const struct nb_plan *p = b->p;
	char kept[PATH_MAX], msg[256], path[160];

	if (end == BOOT_CANCELLED) {
		nb_err(err, errlen, "interrupted while the guest booted; everything undone");
		return -EINTR;
	}
	if (end == BOOT_BACKEND_GONE) {
		snprintf(path, sizeof(path), "%s/testpmd.log", b->dir);
		nb_vm_complaint(path, msg, sizeof(msg));
		keep_console(p->name, b->dir, "testpmd.log", kept, sizeof(kept));
		nb_err(err, errlen,
		       "the vhost-user backend (dpdk-testpmd) exited while the guest booted%s%s; log: %s",
		       *msg ? ": " : "", msg, *kept ? kept : "none");
		return -ECHILD;
	}
	keep_console(p->name, b->dir, "console.log", kept, sizeof(kept));
	snprintf(path, sizeof(path), "%s/qemu.log", b->dir);
	nb_vm_complaint(path, msg, sizeof(msg));
	if (end == BOOT_QEMU_GONE) {
		nb_err(err, errlen,
		       "the guest (qemu -accel %s) exited before its responder answered%s%s; console log: %s",
		       b->accel, *msg ? ": " : "", msg, *kept ? kept : "none");
		return -ECHILD;
	}
	nb_err(err, errlen,
	       "the guest's responder (%s:%u) did not answer within %lld s (qemu -accel %s); console log: %s",
	       p->server_addr, p->server_port, (long long)(b->limit_ns / NB_NS_PER_S), b->accel,
	       *kept ? kept : "none");
	return -ETIMEDOUT;
}

int nb_qemu_start(const struct nb_plan *p, const struct nb_launch *l, const struct nb_vu_backend *vu,
		  char *err, size_t errlen)
{
	struct boot *b = calloc(1, sizeof(*b));
	enum boot_end end;
	int netns_fd, r;

	if (!b)
		return -ENOMEM;
	b->p = p;
	b->l = l;
	b->g.vu = vu;
	r = boot_prepare(b, err, errlen);
	if (!r)
		r = qemu_spawn(b, err, errlen);
	netns_fd = r ? -1 : nb_ns_open(p->server_ns);
	if (!r && netns_fd < 0)
		r = netns_fd;
	if (!r) {
		end = boot_wait(b, netns_fd);
		close(netns_fd);
		if (end == BOOT_UP) {
			b->g.boot_ns = nb_now_ns() - b->start_ns;
			facts_write(p, b->dir, &b->g);
		} else {
			r = boot_failed(b, end, err, errlen);
		}
	}
	free(b);
	return r;
}

void nb_qemu_cleanup(const char *name)
{
	char dir[128], path[160], why[256], *text;
	int dfd;
	const char *files[] = {"guest.json", "console.log", "qemu.log", "qemu.pid", "guest.json.tmp"};

	nb_vm_run_dir(dir, sizeof(dir), name);
	dfd = nb_dir_open_checked(dir, false, why, sizeof(why));
	if (dfd == -ENOENT)
		return;
	if (dfd < 0) {
		/* not nbench's: neither its pid file nor its files are acted upon */
		fprintf(stderr, "nbench topo: %s\n", why);
		return;
	}
	text = nb_slurp_at(dfd, "qemu.pid", 64, NULL, 0);
	close(dfd);
	if (text) {
		pid_t pid = (pid_t)atoi(text);
		char comm[64], want[32], cpath[64], *c;

		/* only a qemu that still carries this instance's process name, in the instance's netns */
		snprintf(cpath, sizeof(cpath), "/proc/%d/comm", (int)pid);
		snprintf(want, sizeof(want), "nb-%s-qemu", name);
		c = pid > 1 && nb_proc_in_netns(pid, name) ? nb_slurp(cpath, sizeof(comm) - 1) : NULL;
		if (c) {
			c[strcspn(c, "\n")] = '\0';
			/* the kernel keeps 15 characters of a process name */
			if (!strncmp(c, want, 15)) {
				kill(pid, SIGKILL);
				for (int i = 0; i < 100 && nb_proc_start_ticks(pid); i++) {
					struct timespec ts = {0, 20 * 1000 * 1000};

					nanosleep(&ts, NULL);
				}
			}
			free(c);
		}
		free(text);
	}
	/* the vhost-user backend is its own step, undone after this one: qemu never sees its socket go first
	 */
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

void nb_qemu_script(FILE *f, const struct nb_plan *p, const char *dir)
{
	char accel[8] = "tcg", *cache = nb_slurp("/run/nbench/guest-accel", 256);
	struct nb_vm_cmd q;

	if (cache && strstr(cache, " kvm "))
		snprintf(accel, sizeof(accel), "kvm");
	free(cache);
	qemu_cmd_build(&q, p, "\"$K\"", "\"$I\"", accel, dir);
	fprintf(f, "ip netns exec %s ", p->server_ns);
	nb_vm_print_argv(f, q.argv, q.argc);
	fprintf(f, " &\n");
}
