/* SPDX-License-Identifier: MIT */
/*
 * Named network namespaces, made the way `ip netns add` makes them (a bind mount of the namespace on
 * /run/netns/<name>, the directory a shared mount point), so `ip netns exec` works on them for debugging;
 * the cgroup v2 root; and what nbench names: an instance ([a-z0-9-]), its namespaces nb-<name>-<role> and
 * its cgroup nbench-<name>, made and recognized here for every file above (the plan, the process checks,
 * the listing and the sweep). It calls nothing of topo/.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "topo_int.h"

/* "" is the process's own namespace: where a half (nb_topo_opts.half) builds its host's part. */
static void ns_path(char *buf, size_t len, const char *ns)
{
	if (!*ns)
		snprintf(buf, len, "/proc/self/ns/net");
	else
		snprintf(buf, len, NB_NETNS_DIR "/%s", ns);
}

int nb_ns_open(const char *ns)
{
	char path[64];
	int fd;

	ns_path(path, sizeof(path), ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* An entry that is not a namespace (the bind mount made in a mount namespace that is gone, as an agent's
 * under `ip netns exec` after a kill -9) counts as none: its objects went with it. */
bool nb_ns_exists(const char *ns)
{
	char path[64];
	struct statfs sf;

	ns_path(path, sizeof(path), ns);
	if (access(path, F_OK))
		return false;
	return statfs(path, &sf) || sf.f_type == NSFS_MAGIC || sf.f_type == PROC_SUPER_MAGIC;
}

int nb_ns_enter(const char *ns, int *ret_orig)
{
	int orig, fd, r = 0;

	orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (orig < 0)
		return -errno;
	fd = nb_ns_open(ns);
	if (fd < 0) {
		close(orig);
		return fd;
	}
	if (setns(fd, CLONE_NEWNET))
		r = -errno;
	close(fd);
	if (r) {
		close(orig);
		return r;
	}
	*ret_orig = orig;
	return 0;
}

void nb_ns_leave(int orig)
{
	/* Returning to a namespace we were just in cannot fail short of a kernel bug; a thread left in a
	 * foreign namespace would silently send the caller's traffic down the wrong path, so stop here. */
	if (setns(orig, CLONE_NEWNET))
		abort();
	close(orig);
}

/* As iproute2: /run/netns must be a shared mount so that the netns bind mounts propagate into mount
 * namespaces created later (the "host" path's server, `ip netns exec`). */
static int netns_dir_prepare(void)
{
	if (mkdir("/run", 0755) && errno != EEXIST)
		return -errno;
	if (mkdir(NB_NETNS_DIR, 0755) && errno != EEXIST)
		return -errno;
	if (!mount("", NB_NETNS_DIR, "none", MS_SHARED | MS_REC, NULL))
		return 0;
	if (errno != EINVAL)
		return -errno;
	if (mount(NB_NETNS_DIR, NB_NETNS_DIR, "none", MS_BIND | MS_REC, NULL))
		return -errno;
	if (mount("", NB_NETNS_DIR, "none", MS_SHARED | MS_REC, NULL))
		return -errno;
	return 0;
}

int nb_ns_create(const char *ns)
{
	char path[64];
	int orig, fd, r;

	if (!*ns)
		return -EINVAL;
	r = netns_dir_prepare();
	if (r)
		return r;
	ns_path(path, sizeof(path), ns);
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	close(fd);

	orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (orig < 0) {
		r = -errno;
		goto fail;
	}
	/* unshare() moves only the calling thread; it comes back below whatever happens. */
	if (unshare(CLONE_NEWNET)) {
		r = -errno;
		close(orig);
		goto fail;
	}
	r = mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) ? -errno : 0;
	nb_ns_leave(orig);
	if (r)
		goto fail;
	return 0;
fail:
	unlink(path);
	return r;
}

int nb_ns_bind(const char *ns, pid_t pid)
{
	char path[64], src[64];
	int fd, r;

	if (!*ns || pid <= 0)
		return -EINVAL;
	r = netns_dir_prepare();
	if (r)
		return r;
	ns_path(path, sizeof(path), ns);
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	close(fd);
	snprintf(src, sizeof(src), "/proc/%d/ns/net", (int)pid);
	if (mount(src, path, "none", MS_BIND, NULL)) {
		r = -errno;
		unlink(path);
	}
	return r;
}

int nb_ns_delete(const char *ns)
{
	char path[64];

	if (!*ns)
		return -EINVAL; /* never the process's own */
	ns_path(path, sizeof(path), ns);
	if (umount2(path, MNT_DETACH) && errno != EINVAL && errno != ENOENT)
		return -errno;
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return 0;
}

int nb_cgroup_root(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[1024], best[256] = "";

	if (!f)
		return -errno;
	/* Prefer the unified hierarchy at /sys/fs/cgroup; hybrid hosts mount it at .../unified. */
	while (fgets(line, sizeof(line), f)) {
		char mnt[256], *sep = strstr(line, " - ");
		char fstype[32];

		if (!sep || sscanf(sep, " - %31s", fstype) != 1 || strcmp(fstype, "cgroup2"))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1)
			continue;
		if (!*best || !strcmp(mnt, "/sys/fs/cgroup"))
			snprintf(best, sizeof(best), "%s", mnt);
	}
	fclose(f);
	snprintf(buf, len, "%s", best);
	return *best ? 0 : -ENOENT;
}

/* ---- names: an instance's, and those of the namespaces and the cgroup it makes ---- */

/* The namespaces of an instance, nb-<name>-<role>, in the order plan.c creates them (its enum role). */
static const char *const roles[] = {"remote", "host", "ctr", "cli"};

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

int nb_topo_name_check(const char *name, char *err, size_t errlen)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > NB_TOPO_NAME_MAX) {
		nb_err(err, errlen, "invalid instance name '%s': 1 to %d characters of [a-z0-9-]",
		       name ? name : "", NB_TOPO_NAME_MAX);
		return -EINVAL;
	}
	if (name[0] == '-') {
		nb_err(err, errlen, "invalid instance name '%s': must start with a letter or digit", name);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (!name_char_ok(name[i])) {
			nb_err(err, errlen, "invalid instance name '%s': only [a-z0-9-] allowed", name);
			return -EINVAL;
		}
	}
	return 0;
}

void nb_ns_name(char *buf, size_t len, const char *name, const char *role)
{
	snprintf(buf, len, "nb-%s-%s", name, role);
}

const char *nb_ns_role(size_t i)
{
	return i < sizeof(roles) / sizeof(roles[0]) ? roles[i] : NULL;
}

static bool name_from(const char *s, size_t n, char ret_name[NB_TOPO_NAME_MAX + 1])
{
	char tmp[NB_TOPO_NAME_MAX + 1];

	if (n == 0 || n > NB_TOPO_NAME_MAX)
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (nb_topo_name_check(tmp, NULL, 0))
		return false;
	memcpy(ret_name, tmp, n + 1);
	return true;
}

bool nb_ns_name_parse(const char *s, char ret_name[NB_TOPO_NAME_MAX + 1])
{
	size_t n = strlen(s);

	if (strncmp(s, "nb-", 3))
		return false;
	for (size_t i = 0; nb_ns_role(i); i++) {
		const char *role = nb_ns_role(i);
		size_t rl = strlen(role);

		if (n < 3 + rl + 2 || s[n - rl - 1] != '-' || strcmp(s + n - rl, role))
			continue;
		if (name_from(s + 3, n - 3 - rl - 1, ret_name))
			return true;
	}
	return false;
}

bool nb_cgroup_name_parse(const char *s, char ret_name[NB_TOPO_NAME_MAX + 1])
{
	if (strncmp(s, "nbench-", 7))
		return false;
	return name_from(s + 7, strlen(s + 7), ret_name);
}
