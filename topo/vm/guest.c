/* SPDX-License-Identifier: MIT */
/*
 * The guest image and what this host can run it with: the image comes from scripts/guest-build (Debian's
 * kernel, an initramfs with the virtio-net modules, busybox and this very nbench binary, so both ends speak
 * the same protocol); KVM is used only when a probe boot under KVM reaches the guest's userspace within a
 * few seconds (a /dev/kvm may exist and still not run a stock kernel: PVM), else TCG; vhost-net only when
 * /dev/vhost-net opens.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nbench/clock.h"
#include "nbench/fsutil.h"
#include "vm_int.h"

#define ACCEL_CACHE	  "/run/nbench/guest-accel"
#define KVM_PROBE_LOG	  "/run/nbench/kvm-probe.log"
#define KVM_PROBE_TIMEOUT 15 /* s: a working KVM boots this guest to userspace in 1-3 s */

/* Whether NB_RUN_DIR is there, made 0700 and checked like the state files' folder (one that fails the
 * check is left as it is and not written into). */
static bool run_dir_make(void)
{
	int fd = nb_dir_open_checked(NB_RUN_DIR, true, NULL, 0);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static const char *guest_dir(void)
{
	const char *d = getenv("NBENCH_GUEST_DIR");

	return d && *d ? d : NB_GUEST_DIR;
}

/* scripts/guest-build: $NBENCH_GUEST_BUILD, the copy meson puts in the build tree, or the installed one. */
static int find_script(const char *exe, char *buf, size_t len)
{
	const char *env = getenv("NBENCH_GUEST_BUILD");
	char dir[PATH_MAX];
	const char *rel[] = {"../topo/guest-build", "../libexec/nbench/guest-build",
			     "../../scripts/guest-build"};
	const char *abs[] = {"/usr/local/libexec/nbench/guest-build", "/usr/libexec/nbench/guest-build"};

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return access(buf, R_OK) ? -ENOENT : 0;
	}
	snprintf(dir, sizeof(dir), "%s", exe);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		if (snprintf(buf, len, "%s/%s", dir, rel[i]) < (int)len && !access(buf, R_OK))
			return 0;
	}
	for (size_t i = 0; i < sizeof(abs) / sizeof(abs[0]); i++) {
		snprintf(buf, len, "%s", abs[i]);
		if (!access(buf, R_OK))
			return 0;
	}
	return -ENOENT;
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static int image_read(const char *json, struct nb_guest_image *ret, char *err, size_t errlen)
{
	char *text = nb_slurp(json, 8192);
	cJSON *o = text ? cJSON_Parse(text) : NULL;

	free(text);
	if (!o) {
		nb_err(err, errlen, "guest image description %s is unreadable", json);
		return -EBADMSG;
	}
	snprintf(ret->kernel, sizeof(ret->kernel), "%s", jstr(o, "kernel"));
	snprintf(ret->initrd, sizeof(ret->initrd), "%s", jstr(o, "initrd"));
	snprintf(ret->kernel_version, sizeof(ret->kernel_version), "%s", jstr(o, "kernel_version"));
	snprintf(ret->kernel_package, sizeof(ret->kernel_package), "%s %s", jstr(o, "kernel_package"),
		 jstr(o, "kernel_package_version"));
	snprintf(ret->json, sizeof(ret->json), "%s", json);
	cJSON_Delete(o);
	if (access(ret->kernel, R_OK) || access(ret->initrd, R_OK)) {
		nb_err(err, errlen,
		       "guest image %s names files that are missing (nbench guest build --force)", json);
		return -ENOENT;
	}
	return 0;
}

static void child_signals_default(void)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
}

/* Runs argv with its stdout into out (the first line it prints is the image's JSON file) and, unless
 * verbose, its stderr into log. The exit status as waitpid says it, or -errno. */
static int run_capture(char *const argv[], bool verbose, const char *log, char *out, size_t outlen)
{
	int pfd[2], status = 0;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (pid == 0) {
		int fd = verbose ? -1 : open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		child_signals_default();
		dup2(pfd[1], 1);
		if (fd >= 0)
			dup2(fd, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	while (len < outlen - 1) {
		n = read(pfd[0], out + len, outlen - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	out[len] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

int nb_guest_image(bool force, bool verbose, struct nb_guest_image *ret, char *err, size_t errlen)
{
	char exe[PATH_MAX], script[PATH_MAX], log[PATH_MAX], out[PATH_MAX] = "";
	const char *dir = guest_dir();
	ssize_t n;
	int r;

	memset(ret, 0, sizeof(*ret));
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -errno;
	exe[n] = '\0';
	if (find_script(exe, script, sizeof(script))) {
		nb_err(err, errlen, "scripts/guest-build not found (set NBENCH_GUEST_BUILD to its path)");
		return -ENOENT;
	}
	r = nb_mkdir_p(dir);
	if (r) {
		nb_err(err, errlen, "cannot create the guest cache %s: %s", dir, strerror(-r));
		return r;
	}
	snprintf(log, sizeof(log), "%s/build.log", dir);
	char *argv[] = {"bash", script, "--nbench", exe, "--dir", (char *)dir, force ? "--force" : NULL,
			NULL};
	r = run_capture(argv, verbose, log, out, sizeof(out));
	if (r < 0)
		return r;
	if (!WIFEXITED(r) || WEXITSTATUS(r)) {
		nb_err(err, errlen, "building the guest image failed (%s%s)",
		       verbose ? "see above" : "log: ", verbose ? "" : log);
		return -EIO;
	}
	out[strcspn(out, "\n")] = '\0';
	return image_read(out, ret, err, errlen);
}

int nb_guest_vhost_probe(char *why, size_t whylen)
{
	int fd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC), e;

	if (fd >= 0) {
		close(fd);
		nb_err(why, whylen, "%s", "");
		return 0;
	}
	e = errno;
	if (e == ENOENT)
		nb_err(why, whylen,
		       "vhost-net is unavailable: /dev/vhost-net does not exist (a kernel without "
		       "CONFIG_VHOST_NET, "
		       "or the vhost_net module is not loaded: modprobe vhost_net)");
	else
		nb_err(why, whylen, "vhost-net is unavailable: /dev/vhost-net: %s", strerror(e));
	return -e;
}

/* Boots img under KVM with "nbench.probe=1" (the guest's init says "probe ok" and powers off). 0 when it
 * did within the timeout; else -errno and why. */
/* The probe's qemu, started in the background: its console into KVM_PROBE_LOG, its messages into qlog. */
static pid_t probe_start(const struct nb_guest_image *img, const char *qlog)
{
	struct nb_vm_cmd q = {0};
	pid_t pid;

	nb_vm_machine(&q, "nbench-kvm-probe", "kvm");
	nb_vm_boot(&q, img->kernel, img->initrd, "nbench.probe=1", KVM_PROBE_LOG);
	nb_vm_arg(&q, "-no-reboot");
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open(qlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644),
		    nul = open("/dev/null", O_RDONLY);

		child_signals_default();
		/* a probe qemu hung in the decompressor must not outlive a kill -9 of nbench: nothing records
		 * it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (nul >= 0)
			dup2(nul, 0);
		execvp(q.argv[0], q.argv);
		_exit(127);
	}
	return pid;
}

/* Waits for pid at most KVM_PROBE_TIMEOUT, then kills it; whether it exited by itself. */
static bool probe_wait(pid_t pid, int *status)
{
	int64_t end = nb_now_ns() + KVM_PROBE_TIMEOUT * NB_NS_PER_S;

	while (nb_now_ns() < end) {
		struct timespec ts = {0, 50 * 1000 * 1000};

		if (waitpid(pid, status, WNOHANG) == pid)
			return true;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return false;
}

/* Boots img under KVM with "nbench.probe=1" (the guest's init says "probe ok" and powers off). 0 when it
 * did within the timeout; else -errno and why. */
static int kvm_boot_probe(const struct nb_guest_image *img, char *why, size_t whylen)
{
	char qlog[PATH_MAX], *text, *q, *nl;
	int status = 0;
	bool exited;
	pid_t pid;

	run_dir_make();
	snprintf(qlog, sizeof(qlog), "%s.qemu", KVM_PROBE_LOG);
	unlink(KVM_PROBE_LOG);
	pid = probe_start(img, qlog);
	if (pid < 0)
		return pid;
	exited = probe_wait(pid, &status);
	text = nb_slurp(KVM_PROBE_LOG, 1 << 20);
	if (text && strstr(text, "nbench-guest: probe ok")) {
		free(text);
		return 0;
	}
	free(text);
	if (!exited) {
		nb_err(why, whylen,
		       "/dev/kvm is present but a guest under KVM did not reach userspace within %d s "
		       "(a KVM that cannot run a stock kernel, e.g. PVM; console: %s)",
		       KVM_PROBE_TIMEOUT, KVM_PROBE_LOG);
		return -ETIMEDOUT;
	}
	q = nb_slurp(qlog, 4096);
	/* the first line of qemu's complaint says it best */
	if (q && (nl = strchr(q, '\n')))
		*nl = '\0';
	nb_err(why, whylen, "qemu -accel kvm failed (exit %d): %s",
	       WIFEXITED(status) ? WEXITSTATUS(status) : -1, q && *q ? q : "the guest died before userspace");
	free(q);
	return -EIO;
}

static int accel_decide(const struct nb_guest_image *img, char *why, size_t whylen)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), v;

	if (fd < 0) {
		nb_err(why, whylen, "/dev/kvm: %s", strerror(errno));
		return -ENODEV;
	}
	v = ioctl(fd, KVM_GET_API_VERSION, 0);
	close(fd);
	if (v != KVM_API_VERSION) {
		nb_err(why, whylen, "/dev/kvm speaks KVM API %d, not %d", v, KVM_API_VERSION);
		return -ENODEV;
	}
	return kvm_boot_probe(img, why, whylen);
}

int nb_guest_accel(const struct nb_guest_image *img, bool fresh, char *ret_accel, size_t accel_len, char *why,
		   size_t whylen)
{
	const char *env = getenv("NBENCH_ACCEL");
	char *cache, kver[64], accel[8];
	int n = 0, r;
	FILE *f;

	nb_err(why, whylen, "%s", "");
	if (env && (!strcmp(env, "kvm") || !strcmp(env, "tcg"))) {
		snprintf(ret_accel, accel_len, "%s", env);
		if (!strcmp(env, "tcg"))
			nb_err(why, whylen, "NBENCH_ACCEL=tcg");
		return 0;
	}
	/* The cache: "<kernel version> <accel> <why>", one line, per boot (/run is a tmpfs). */
	cache = fresh ? NULL : nb_slurp(ACCEL_CACHE, 1024);
	if (cache && sscanf(cache, "%63s %7s %n", kver, accel, &n) == 2 && n > 0 &&
	    !strcmp(kver, img->kernel_version) && (!strcmp(accel, "kvm") || !strcmp(accel, "tcg"))) {
		cache[strcspn(cache, "\n")] = '\0';
		snprintf(ret_accel, accel_len, "%s", accel);
		nb_err(why, whylen, "%s", cache + n);
		free(cache);
		return 0;
	}
	free(cache);
	r = accel_decide(img, why, whylen);
	snprintf(ret_accel, accel_len, "%s", r ? "tcg" : "kvm");
	if (!r)
		nb_err(why, whylen, "%s", "");
	f = run_dir_make() ? fopen(ACCEL_CACHE, "we") : NULL;
	if (f) {
		fprintf(f, "%s %s %s\n", img->kernel_version, ret_accel, why ? why : "");
		fclose(f);
	}
	return 0;
}
