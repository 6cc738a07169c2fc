/* SPDX-License-Identifier: MIT */
/*
 * The "vhost-user" path's backend, the OVS-DPDK arrangement in its smallest form: DPDK's dpdk-testpmd (from
 * Debian's dpdk-dev, no code of ours in the datapath) forwarding in io mode between two ports,
 *   port 0  net_vhost0,iface=/run/nbench/vm/<name>/vhost.sock  the server end of the guest's vhost-user
 *                                                               netdev: DPDK works the guest's virtqueues
 *   port 1  net_tap0,iface=nb-<name>-t                          the persistent multi-queue tap the plan put
 *                                                               on the bridge (NB_STEP_TAP with tap_mq)
 * started in the path's host netns as a recorded process of the instance (so every teardown stops it), with
 * its own EAL --file-prefix nb-<name>-vu whose run directory under /var/run/dpdk is removed at teardown.
 * Without hugepages here: --no-huge -m 512 and 8192 mbufs. Its forwarding lcore polls: one CPU is busy
 * for as long as the path is up, as with any DPDK switch; the report says which.
 * io forwarding with retry: a frame for a guest whose receive ring is full is retried (up to 100 times,
 * 10 us apart) rather than dropped at once, as OVS-DPDK retries vhost-user transmits; a guest under TCG
 * refills its ring late, and plain io mode lost UDP requests whenever the machine was busy.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nbench/clock.h"
#include "nbench/fsutil.h"
#include "vm_int.h"

#define READY_TIMEOUT_S 30 /* testpmd listens ~1 s after it starts on an idle machine */

/* testpmd's --cmdline-file: io forwarding with retry towards a full guest ring */
static const char vu_commands[] = "set fwd io retry\nset burst tx delay 10 retry 100\n";

static const char *testpmd_bin(void)
{
	const char *env = getenv("NBENCH_TESTPMD");

	return env && *env ? env : "dpdk-testpmd";
}

static void prefix_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "nb-%s-vu", name);
}

void nb_vu_sock(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, NB_VM_RUN_DIR "/%s/vhost.sock", name);
}

bool nb_vu_prefix_parse(const char *s, char ret_name[NB_TOPO_NAME_MAX + 1])
{
	size_t n = strlen(s);
	char tmp[NB_TOPO_NAME_MAX + 1];

	if (n < 7 || strncmp(s, "nb-", 3) || strcmp(s + n - 3, "-vu") || n - 6 > NB_TOPO_NAME_MAX)
		return false;
	memcpy(tmp, s + 3, n - 6);
	tmp[n - 6] = '\0';
	if (nb_topo_name_check(tmp, NULL, 0))
		return false;
	memcpy(ret_name, tmp, n - 5);
	return true;
}

/* A DPDK PMD is a plugin of the packaged EAL (Debian: .../dpdk/pmds-<abi>/librte_net_<x>.so) or, in a
 * static build of testpmd, part of the binary. */
static bool pmd_present(const char *bin_path, const char *lib, const char *drv)
{
	static const char *const dirs[] = {"/usr/lib/*/dpdk/pmds-*",
					   "/usr/lib64/dpdk/pmds-*",
					   "/usr/lib/dpdk/pmds-*",
					   "/usr/local/lib/*/dpdk/pmds-*",
					   "/usr/local/lib64/dpdk/pmds-*",
					   "/usr/local/lib/dpdk/pmds-*",
					   "/usr/local/lib/*",
					   "/usr/local/lib64"};
	char pat[PATH_MAX];
	bool found = false;

	for (size_t i = 0; !found && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		glob_t g;

		snprintf(pat, sizeof(pat), "%s/%s.so*", dirs[i], lib);
		if (!glob(pat, 0, NULL, &g))
			found = g.gl_pathc > 0;
		globfree(&g);
	}
	if (found || !*bin_path)
		return found;
	/* static build: the driver registers under its name, a string in the binary */
	FILE *f = fopen(bin_path, "re");
	char buf[1 << 16];
	size_t keep = strlen(drv) + 1, have = 0, n;

	if (!f)
		return false;
	while (!found && (n = fread(buf + have, 1, sizeof(buf) - have, f)) > 0) {
		have += n;
		found = memmem(buf, have, drv, strlen(drv) + 1) != NULL;
		if (have > keep) {
			memmove(buf, buf + have - keep, keep);
			have = keep;
		}
	}
	fclose(f);
	return found;
}

int nb_guest_vhost_user_probe(char *why, size_t whylen)
{
	const char *bin = testpmd_bin();
	char path[PATH_MAX];

	nb_vm_which(bin, path, sizeof(path));
	if (!*path) {
		nb_err(why, whylen, "vhost-user unavailable: %s not found%s", bin,
		       strchr(bin, '/') ? "" : " on PATH (apt-get install dpdk-dev)");
		return -ENOENT;
	}
	if (!pmd_present(path, "librte_net_vhost", "net_vhost")) {
		nb_err(
		    why, whylen,
		    "vhost-user unavailable: DPDK's vhost PMD (librte_net_vhost) not found (apt-get install "
		    "dpdk)");
		return -ENOENT;
	}
	if (!pmd_present(path, "librte_net_tap", "net_tap")) {
		nb_err(why, whylen,
		       "vhost-user unavailable: DPDK's tap PMD (librte_net_tap) not found (apt-get install "
		       "dpdk)");
		return -ENOENT;
	}
	if (access("/dev/net/tun", R_OK | W_OK)) {
		nb_err(why, whylen, "vhost-user unavailable: /dev/net/tun: %s", strerror(errno));
		return -ENODEV;
	}
	nb_err(why, whylen, "%s", "");
	return 0;
}

/* The lowest and highest CPU this process may run on: testpmd's main lcore (it sleeps) and its forwarding
 * lcore (it polls). One CPU: both there. */
static void pick_cpus(int *main_cpu, int *fwd_cpu)
{
	cpu_set_t set;

	*main_cpu = *fwd_cpu = 0;
	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (int c = 0, first = 1; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		if (first)
			*main_cpu = c;
		first = 0;
		*fwd_cpu = c;
	}
}

static void vu_cmd_build(struct nb_vu_backend *b, const struct nb_plan *p, const char *dir)
{
	struct nb_vm_cmd *q = &b->cmd;
	char prefix[32], tap[IFNAMSIZ] = "";

	memset(q, 0, sizeof(*q));
	pick_cpus(&b->main_cpu, &b->fwd_cpu);
	prefix_of(prefix, sizeof(prefix), p->name);
	for (size_t i = 0; i < p->nsteps; i++)
		if (p->steps[i].kind == NB_STEP_TAP)
			snprintf(tap, sizeof(tap), "%s", p->steps[i].ifname);
	nb_vm_arg(q, "%s", testpmd_bin());
	/* EAL: no hugepages needed, no PCI devices touched, one prefix per instance */
	nb_vm_arg(q, "--lcores=0@%d,1@%d", b->main_cpu, b->fwd_cpu);
	nb_vm_arg(q, "--no-huge");
	nb_vm_arg(q, "-m");
	nb_vm_arg(q, "512");
	nb_vm_arg(q, "--no-pci");
	nb_vm_arg(q, "--no-telemetry");
	nb_vm_arg(q, "--file-prefix=%s", prefix);
	nb_vm_arg(q, "--vdev=net_vhost0,iface=" NB_VM_RUN_DIR "/%s/vhost.sock,queues=1", p->name);
	nb_vm_arg(q, "--vdev=net_tap0,iface=%s", tap);
	nb_vm_arg(q, "--");
	/* io forwarding port 0 <-> port 1, started at once; without a terminal testpmd stays up only while
	 * it prints statistics, so once an hour; the vhost port's link is up only once the guest's driver
	 * is, so no waiting for links */
	nb_vm_arg(q, "--forward-mode=io");
	nb_vm_arg(q, "--nb-cores=1");
	nb_vm_arg(q, "--rxq=1");
	nb_vm_arg(q, "--txq=1");
	nb_vm_arg(q, "--total-num-mbufs=8192");
	nb_vm_arg(q, "--no-mlockall");
	nb_vm_arg(q, "--disable-link-check");
	nb_vm_arg(q, "--stats-period=3600");
	/* commands run before forwarding starts (vu_commands, written there by nb_vu_start) */
	nb_vm_arg(q, "--cmdline-file=%s/testpmd.cmds", dir);
}

/* Whether pid (in its netns) has a unix socket listening on path. */
static bool listening(pid_t pid, const char *path)
{
	char proc[64], line[512];
	bool found = false;
	FILE *f;

	snprintf(proc, sizeof(proc), "/proc/%d/net/unix", (int)pid);
	f = fopen(proc, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned flags;
		char sp[PATH_MAX];

		line[strcspn(line, "\n")] = '\0';
		/* Num RefCount Protocol Flags Type St Inode Path; Flags 00010000 = __SO_ACCEPTCON */
		if (sscanf(line, "%*s %*s %*s %x %*s %*s %*s %4095s", &flags, sp) == 2)
			found = (flags & 0x10000) && !strcmp(sp, path);
	}
	fclose(f);
	return found;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void eal_dir_remove(const char *name)
{
	char prefix[32], dir[PATH_MAX];

	prefix_of(prefix, sizeof(prefix), name);
	snprintf(dir, sizeof(dir), NB_VU_DPDK_DIR "/%s", prefix);
	if (!access(dir, F_OK))
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* testpmd's command and its command file in dir; what a previous instance of this name may have left (a
 * kill -9 before its teardown) removed. */
static int vu_prepare(const struct nb_plan *p, const char *dir, struct nb_vu_backend *b, char *err,
		      size_t errlen)
{
	char path[192], sock[160];
	int r;

	vu_cmd_build(b, p, dir);
	snprintf(path, sizeof(path), "%s/testpmd.cmds", dir);
	r = nb_write_atomic(path, vu_commands);
	if (r) {
		nb_err(err, errlen, "cannot write %s: %s", path, strerror(-r));
		return r;
	}
	nb_vu_sock(sock, sizeof(sock), p->name);
	unlink(sock);
	eal_dir_remove(p->name);
	return 0;
}

/* Waits until testpmd listens on its socket. 0 or -errno with err set. */
static int vu_wait(const struct nb_plan *p, const char *dir, const struct nb_launch *l,
		   const struct nb_vu_backend *b, char *err, size_t errlen)
{
	const char *env = getenv("NBENCH_VHOST_USER_TIMEOUT");
	int64_t start = nb_now_ns(),
		limit_ns = (env && atoi(env) > 0 ? atoi(env) : READY_TIMEOUT_S) * NB_NS_PER_S;
	char sock[160], log[192], msg[256];

	nb_vu_sock(sock, sizeof(sock), p->name);
	snprintf(log, sizeof(log), "%s/testpmd.log", dir);
	for (;;) {
		struct timespec ts = {0, 50 * 1000 * 1000};

		if (nb_cancel_pending(l->cancel)) {
			nb_err(err, errlen,
			       "interrupted while the vhost-user backend started; everything undone");
			return -EINTR;
		}
		if (listening(b->pid, sock))
			return 0;
		if (!nb_proc_start_ticks(b->pid)) {
			nb_vm_complaint(log, msg, sizeof(msg));
			nb_err(err, errlen, "the vhost-user backend (%s) exited at start%s%s", testpmd_bin(),
			       *msg ? ": " : "", msg);
			return -ECHILD;
		}
		if (nb_now_ns() - start > limit_ns) {
			nb_vm_complaint(log, msg, sizeof(msg));
			nb_err(err, errlen,
			       "the vhost-user backend (%s) did not listen on %s within %lld s%s%s",
			       testpmd_bin(), sock, (long long)(limit_ns / NB_NS_PER_S),
			       *msg ? "; its last words: " : "", msg);
			return -ETIMEDOUT;
		}
		nanosleep(&ts, NULL);
	}
}

int nb_vu_start(const struct nb_plan *p, const struct nb_launch *l, struct nb_vu_backend *b, char *err,
		size_t errlen)
{
	char path[192], pidtext[32], dir[128];
	int r;

	r = nb_vm_run_dir_make(p->name, dir, sizeof(dir), err, errlen);
	if (!r)
		r = vu_prepare(p, dir, b, err, errlen);
	if (r)
		return r;
	snprintf(path, sizeof(path), "%s/testpmd.log", dir);
	b->pid = nb_vm_spawn_logged(p->server_ns, &b->cmd, path, l);
	if (b->pid < 0) {
		nb_err(err, errlen, "cannot start %s in %s: %s", testpmd_bin(), p->server_ns,
		       strerror((int)-b->pid));
		return (int)b->pid;
	}
	/* the pidfile lets a teardown without the state file's record find it (nb_vu_cleanup) */
	snprintf(path, sizeof(path), "%s/testpmd.pid", dir);
	snprintf(pidtext, sizeof(pidtext), "%d\n", (int)b->pid);
	nb_write_atomic(path, pidtext);
	return vu_wait(p, dir, l, b, err, errlen);
}

int nb_vu_script(FILE *f, const struct nb_plan *p, const char *dir)
{
	struct nb_vu_backend *vu = calloc(1, sizeof(*vu));
	char sock[160];

	if (!vu)
		return -ENOMEM;
	vu_cmd_build(vu, p, dir);
	nb_vu_sock(sock, sizeof(sock), p->name);
	fprintf(f,
		"# the vhost-user backend: dpdk-testpmd forwarding (io, with tx retry) between the\n"
		"# guest's vhost-user socket (port 0, net_vhost, the server end) and the tap on the\n"
		"# bridge (port 1, net_tap); its forwarding lcore polls CPU %d.\n"
		"# Remove: kill it, then rm -rf %s/nb-%s-vu\n",
		vu->fwd_cpu, NB_VU_DPDK_DIR, p->name);
	fprintf(f, "printf '");
	for (const char *c = vu_commands; *c; c++)
		fputs(*c == '\n' ? "\\n" : (char[]){*c, 0}, f);
	fprintf(f, "' > %s/testpmd.cmds\n", dir);
	fprintf(f, "ip netns exec %s ", p->server_ns);
	nb_vm_print_argv(f, vu->cmd.argv, vu->cmd.argc);
	fprintf(f, " </dev/null >%s/testpmd.log 2>&1 &\n", dir);
	fprintf(f, "until [ -S %s ]; do sleep 0.1; done\n", sock);
	free(vu);
	return 0;
}

/* Whether pid runs with this instance's --file-prefix (a reused pid is left alone). */
static bool is_ours(pid_t pid, const char *name)
{
	char path[64], want[48], buf[8192];
	size_t n;
	FILE *f;
	bool ours = false;

	if (pid <= 1)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	snprintf(want, sizeof(want), "--file-prefix=nb-%s-vu", name);
	f = fopen(path, "re");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (size_t i = 0; i < n && !ours; i += strlen(buf + i) + 1)
		ours = !strcmp(buf + i, want);
	return ours && nb_proc_start_ticks(pid) && nb_proc_in_netns(pid, name);
}

void nb_vu_cleanup(const char *name)
{
	static const char *const files[] = {"vhost.sock", "testpmd.log", "testpmd.pid", "testpmd.cmds"};
	char dir[128], path[192], why[256], *text;
	int dfd;

	nb_vm_run_dir(dir, sizeof(dir), name);
	dfd = nb_dir_open_checked(dir, false, why, sizeof(why));
	if (dfd < 0 && dfd != -ENOENT) {
		/* not nbench's: neither its pid file nor its files are acted upon */
		fprintf(stderr, "nbench topo: %s\n", why);
		return;
	}
	text = dfd < 0 ? NULL : nb_slurp_at(dfd, "testpmd.pid", 64, NULL, 0);
	if (dfd >= 0)
		close(dfd);
	if (text) {
		pid_t pid = (pid_t)atoi(text);

		if (is_ours(pid, name)) {
			/* SIGTERM: testpmd stops its ports and leaves; SIGKILL if it does not within 2 s */
			kill(pid, SIGTERM);
			for (int i = 0; i < 100 && nb_proc_start_ticks(pid); i++) {
				struct timespec ts = {0, 20 * 1000 * 1000};

				if (i == 99)
					kill(pid, SIGKILL);
				nanosleep(&ts, NULL);
			}
			for (int i = 0; i < 100 && nb_proc_start_ticks(pid); i++) {
				struct timespec ts = {0, 20 * 1000 * 1000};

				kill(pid, SIGKILL);
				nanosleep(&ts, NULL);
			}
		}
		free(text);
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	eal_dir_remove(name);
	rmdir(dir);
}

bool nb_vu_leftovers(const char *name)
{
	char prefix[32], path[PATH_MAX];

	prefix_of(prefix, sizeof(prefix), name);
	snprintf(path, sizeof(path), NB_VU_DPDK_DIR "/%s", prefix);
	return !access(path, F_OK);
}
