/* SPDX-License-Identifier: MIT */
#include "nbench/cpu.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "nbench/clock.h"

#define PF_KTHREAD 0x00200000u /* include/linux/sched.h: kernel threads are network work, not disturbance */

/* One user-space process as seen by the previous snapshot. (pid, start) identifies it across pid reuse. */
struct proc_ent {
	pid_t pid;
	pid_t ppid;
	uint64_t start_ticks; /* starttime: clock ticks after boot */
	uint64_t cpu_ticks;   /* utime + stime */
};

struct nb_cpu_meter {
	int *perf_fds; /* one per online CPU; NULL when perf is not in use */
	unsigned n_perf;
	pid_t exclude[NB_CPU_MAX_EXCLUDE];
	unsigned n_exclude;
	pid_t self;
	long hz; /* USER_HZ: the unit of /proc/stat and /proc/pid/stat */
	/*
	 * others_ns is a running total kept here, not a sum read from /proc: processes appear and vanish
	 * between snapshots, so the sum over live processes is not monotonic. Each snapshot adds, for every
	 * live user-space process that is not us and not excluded, the CPU it used since the previous
	 * snapshot: (now - then) for a process in the previous table, all of it for a process that started
	 * after the previous scan began, nothing for one that predates it but was missed. A process that
	 * exits between two snapshots takes its CPU since the earlier one with it (it can no longer be read).
	 */
	struct proc_ent *procs; /* previous snapshot's table, sorted by pid */
	size_t n_procs;
	bool have_prev;
	uint64_t prev_scan_ticks; /* CLOCK_BOOTTIME at the start of the previous scan, in ticks */
	uint64_t others_ticks;	  /* running total since the first snapshot */
};

static uint64_t ticks_to_ns(uint64_t ticks, long hz)
{
	uint64_t h = (uint64_t)hz;
	return ticks / h * NB_NS_PER_S + ticks % h * NB_NS_PER_S / h;
}

static long perf_event_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd,
			    unsigned long flags)
{
	return syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags);
}

/* Online CPUs from /sys ("0-3,6"); falls back to 0..n-1. Returns how many were stored. */
static unsigned online_cpus(int *cpus, unsigned max)
{
	char buf[1024];
	unsigned n = 0;
	FILE *f = fopen("/sys/devices/system/cpu/online", "re");
	if (f) {
		if (fgets(buf, sizeof(buf), f)) {
			char *p = buf;
			while (*p && *p != '\n' && n < max) {
				char *end;
				long lo = strtol(p, &end, 10), hi = lo;
				if (end == p)
					break;
				p = end;
				if (*p == '-') {
					hi = strtol(p + 1, &end, 10);
					p = end;
				}
				for (long c = lo; c <= hi && n < max; c++)
					cpus[n++] = (int)c;
				if (*p == ',')
					p++;
			}
		}
		fclose(f);
	}
	if (n == 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		for (long i = 0; i < c && n < max; i++)
			cpus[n++] = (int)i;
	}
	return n;
}

static void perf_close(struct nb_cpu_meter *m)
{
	for (unsigned i = 0; i < m->n_perf; i++)
		close(m->perf_fds[i]);
	free(m->perf_fds);
	m->perf_fds = NULL;
	m->n_perf = 0;
}

/* Opens a system-wide cycle counter on every online CPU, or none: no PMU (ENOENT, EOPNOTSUPP), not
 * permitted (EACCES, EPERM) or anything else leaves the meter on procstat. */
static void perf_open(struct nb_cpu_meter *m)
{
	int cpus[1024];
	unsigned n = online_cpus(cpus, sizeof(cpus) / sizeof(cpus[0]));
	m->perf_fds = calloc(n, sizeof(int));
	if (!m->perf_fds)
		return;
	for (unsigned i = 0; i < n; i++) {
		struct perf_event_attr attr;
		memset(&attr, 0, sizeof(attr));
		attr.size = sizeof(attr);
		attr.type = PERF_TYPE_HARDWARE;
		attr.config = PERF_COUNT_HW_CPU_CYCLES;
		attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
		long fd = perf_event_open(&attr, -1, cpus[i], -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			perf_close(m);
			return;
		}
		m->perf_fds[m->n_perf++] = (int)fd;
	}
}

/* Sum of all counters, each scaled for multiplexing. false on any read error. */
static bool perf_read(const struct nb_cpu_meter *m, uint64_t *ret)
{
	double sum = 0;
	if (!m->n_perf)
		return false;
	for (unsigned i = 0; i < m->n_perf; i++) {
		uint64_t v[3]; /* value, time_enabled, time_running */
		if (read(m->perf_fds[i], v, sizeof(v)) != (ssize_t)sizeof(v))
			return false;
		if (v[2] && v[2] < v[1])
			sum += (double)v[0] * (double)v[1] / (double)v[2];
		else
			sum += (double)v[0];
	}
	*ret = (uint64_t)sum;
	return true;
}

int nb_cpu_meter_open(bool try_perf, struct nb_cpu_meter **ret)
{
	struct nb_cpu_meter *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->self = getpid();
	m->hz = sysconf(_SC_CLK_TCK);
	if (m->hz <= 0)
		m->hz = 100;
	if (try_perf)
		perf_open(m);
	*ret = m;
	return 0;
}

void nb_cpu_meter_close(struct nb_cpu_meter *m)
{
	if (!m)
		return;
	perf_close(m);
	free(m->procs);
	free(m);
}

void nb_cpu_meter_exclude(struct nb_cpu_meter *m, pid_t pid)
{
	for (unsigned i = 0; i < m->n_exclude; i++)
		if (m->exclude[i] == pid)
			return;
	if (m->n_exclude < NB_CPU_MAX_EXCLUDE)
		m->exclude[m->n_exclude++] = pid;
}

const char *nb_cpu_meter_source(const struct nb_cpu_meter *m)
{
	return m->n_perf ? "perf" : "procstat";
}

/* The aggregate "cpu " line of /proc/stat, and the number of per-CPU lines (online CPUs). */
static int read_proc_stat(const struct nb_cpu_meter *m, struct nb_cpu_snap *s)
{
	char line[512];
	unsigned long long v[8] = {0};
	bool have_total = false;
	FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return -errno;
	s->ncpus = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "cpu", 3))
			break; /* the cpu lines come first */
		if (line[3] == ' ') {
			if (sscanf(line + 3, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
				   &v[3], &v[4], &v[5], &v[6], &v[7]) >= 4)
				have_total = true;
		} else if (line[3] >= '0' && line[3] <= '9') {
			s->ncpus++;
		}
	}
	fclose(f);
	if (!have_total)
		return -EIO;
	s->user_ns = ticks_to_ns(v[0], m->hz);
	s->nice_ns = ticks_to_ns(v[1], m->hz);
	s->system_ns = ticks_to_ns(v[2], m->hz);
	s->idle_ns = ticks_to_ns(v[3], m->hz);
	s->iowait_ns = ticks_to_ns(v[4], m->hz);
	s->irq_ns = ticks_to_ns(v[5], m->hz);
	s->softirq_ns = ticks_to_ns(v[6], m->hz);
	s->steal_ns = ticks_to_ns(v[7], m->hz);
	return 0;
}

/* Reads /proc/<name>/stat. 1 = a user-space process (filled in), 0 = skip it (kernel thread, gone). */
static int read_pid_stat(int procfd, const char *name, struct proc_ent *e)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "%s/stat", name);
	int fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* the command name may hold spaces and parentheses: the fields start after the last ')' */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	char state;
	unsigned flags;
	unsigned long long utime, stime, start;
	int ppid;
	if (sscanf(p + 1, " %c %d %*d %*d %*d %*d %u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu",
		   &state, &ppid, &flags, &utime, &stime, &start) != 6)
		return 0;
	if (flags & PF_KTHREAD)
		return 0;
	e->pid = (pid_t)atoi(name);
	e->ppid = (pid_t)ppid;
	e->start_ticks = start;
	e->cpu_ticks = utime + stime;
	return 1;
}

static int cmp_pid(const void *a, const void *b)
{
	const struct proc_ent *x = a, *y = b;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static const struct proc_ent *find_pid(const struct proc_ent *tab, size_t n, pid_t pid)
{
	struct proc_ent key = {.pid = pid};
	return bsearch(&key, tab, n, sizeof(*tab), cmp_pid);
}

static bool excluded_pid(const struct nb_cpu_meter *m, pid_t pid)
{
	for (unsigned i = 0; i < m->n_exclude; i++)
		if (m->exclude[i] == pid)
			return true;
	return false;
}

/* An excluded process's descendants are excluded too: a responder started in its own pid namespace under a
 * small init, or a guest's qemu with its helper threads' processes, is known only by its top pid. */
static bool excluded(const struct nb_cpu_meter *m, const struct proc_ent *tab, size_t n, pid_t pid)
{
	if (pid == m->self)
		return true;
	for (int depth = 0; depth < 8 && pid > 1; depth++) {
		if (excluded_pid(m, pid))
			return true;
		const struct proc_ent *e = find_pid(tab, n, pid);
		if (!e)
			break;
		pid = e->ppid;
	}
	return false;
}

static uint64_t boottime_ticks(long hz)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * (uint64_t)hz + (uint64_t)ts.tv_nsec * (uint64_t)hz / NB_NS_PER_S;
}

/* Scans /proc, adds the other processes' CPU since the previous scan to the running total and keeps the
 * new table for the next scan. */
static int scan_others(struct nb_cpu_meter *m)
{
	uint64_t scan_ticks = boottime_ticks(m->hz);
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	size_t n = 0, cap = m->n_procs + 64;
	struct proc_ent *tab = malloc(cap * sizeof(*tab));
	if (!tab) {
		closedir(d);
		return -ENOMEM;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		if (n == cap) {
			struct proc_ent *t = realloc(tab, 2 * cap * sizeof(*tab));
			if (!t) {
				free(tab);
				closedir(d);
				return -ENOMEM;
			}
			tab = t;
			cap *= 2;
		}
		if (read_pid_stat(dirfd(d), de->d_name, &tab[n]) == 1)
			n++;
	}
	closedir(d);
	qsort(tab, n, sizeof(*tab), cmp_pid);

	if (m->have_prev) {
		for (size_t i = 0; i < n; i++) {
			if (excluded(m, tab, n, tab[i].pid))
				continue;
			const struct proc_ent *old = find_pid(m->procs, m->n_procs, tab[i].pid);
			if (old && old->start_ticks == tab[i].start_ticks) {
				if (tab[i].cpu_ticks > old->cpu_ticks)
					m->others_ticks += tab[i].cpu_ticks - old->cpu_ticks;
			} else if (tab[i].start_ticks >= m->prev_scan_ticks) {
				m->others_ticks += tab[i].cpu_ticks;
			}
		}
	}
	free(m->procs);
	m->procs = tab;
	m->n_procs = n;
	m->prev_scan_ticks = scan_ticks;
	m->have_prev = true;
	return 0;
}

int nb_cpu_snap(struct nb_cpu_meter *m, struct nb_cpu_snap *ret)
{
	struct timespec ts;
	int r;

	memset(ret, 0, sizeof(*ret));
	/* time, TSC and /proc/stat together: busy time is derived from wall time minus idle */
	ret->t_ns = nb_now_ns();
#if defined(__x86_64__)
	ret->tsc = __rdtsc();
#endif
	r = read_proc_stat(m, ret);
	if (r < 0)
		return r;
	ret->have_perf = perf_read(m, &ret->cycles);
	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0)
		ret->self_ns = (uint64_t)ts.tv_sec * NB_NS_PER_S + (uint64_t)ts.tv_nsec;
	r = scan_others(m);
	if (r < 0)
		return r;
	ret->others_ns = ticks_to_ns(m->others_ticks, m->hz);
	return 0;
}

static uint64_t delta(uint64_t a, uint64_t b)
{
	return b > a ? b - a : 0;
}

void nb_cpu_split(uint64_t total, uint64_t *parts, unsigned n)
{
	uint64_t sum = 0, given = 0;
	unsigned largest = 0;

	for (unsigned i = 0; i < n; i++) {
		sum += parts[i];
		if (parts[i] > parts[largest])
			largest = i;
	}
	if (!sum) {
		memset(parts, 0, n * sizeof(*parts));
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		parts[i] = (uint64_t)((long double)total * parts[i] / sum);
		given += parts[i];
	}
	parts[largest] += total - given; /* rounding: the sum is exact */
}

void nb_cpu_cost(const struct nb_cpu_snap *a, const struct nb_cpu_snap *b, struct nb_cpu_cost *ret)
{
	memset(ret, 0, sizeof(*ret));
	bool perf = a->have_perf && b->have_perf;
	snprintf(ret->source, sizeof(ret->source), "%s", perf ? "perf" : "procstat");
	if (b->t_ns <= a->t_ns || !b->ncpus)
		return;
	int64_t wall_ns = b->t_ns - a->t_ns;
	ret->valid = true;
	ret->wall_s = (double)wall_ns / NB_NS_PER_S;
	ret->ncpus = b->ncpus;
	/* Busy = capacity - idle - iowait - steal. Idle is exact on a tickless kernel (only rounded to
	 * USER_HZ when shown); the split is sampled at the tick: see nb_cpu_split. */
	uint64_t capacity = (uint64_t)wall_ns * b->ncpus;
	uint64_t idle = delta(a->idle_ns, b->idle_ns) + delta(a->iowait_ns, b->iowait_ns) +
			delta(a->steal_ns, b->steal_ns);
	ret->busy_ns = capacity > idle ? capacity - idle : 0;
	ret->util = (double)ret->busy_ns / (double)capacity;
	uint64_t ticks[4] = {delta(a->user_ns, b->user_ns) + delta(a->nice_ns, b->nice_ns),
			     delta(a->system_ns, b->system_ns), delta(a->irq_ns, b->irq_ns),
			     delta(a->softirq_ns, b->softirq_ns)};
	nb_cpu_split(ret->busy_ns, ticks, 4);
	ret->user_ns = ticks[0];
	ret->system_ns = ticks[1];
	ret->irq_ns = ticks[2];
	ret->softirq_ns = ticks[3];
	if (a->tsc && b->tsc && b->tsc > a->tsc)
		ret->tsc_hz = (double)(b->tsc - a->tsc) * NB_NS_PER_S / (double)wall_ns;
	if (perf)
		ret->cycles = (double)delta(a->cycles, b->cycles);
	else
		ret->cycles = (double)ret->busy_ns * ret->tsc_hz / NB_NS_PER_S;
	ret->gen_ns = delta(a->self_ns, b->self_ns);
	ret->other_ns = delta(a->others_ns, b->others_ns);
	/* /proc/PID/stat counts in 10 ms ticks: a couple of them is sampling, not a neighbour */
	ret->disturbed =
	    ret->other_ns > NB_CPU_DISTURBED_MIN_NS && ((double)ret->other_ns > 0.05 * (double)wall_ns ||
							(double)ret->other_ns > 0.10 * (double)ret->busy_ns);
}

uint64_t nb_thread_cpu_ns(unsigned long pthread_id)
{
	clockid_t cid;
	struct timespec ts;
	if (pthread_getcpuclockid((pthread_t)pthread_id, &cid) != 0)
		return 0;
	if (clock_gettime(cid, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * NB_NS_PER_S + (uint64_t)ts.tv_nsec;
}

uint64_t nb_cpu_cost_unattributed_ns(const struct nb_cpu_cost *c)
{
	uint64_t used = c->gen_ns + c->resp_ns;
	return c->busy_ns > used ? c->busy_ns - used : 0;
}
