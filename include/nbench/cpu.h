/* SPDX-License-Identifier: MIT */
/*
 * System-wide CPU cost of a measured window. The study nbench reproduces counted `perf stat -a` cycles: the
 * softirq, bridge, NAT and vhost work that differs between paths runs outside the benchmark processes, so a
 * per-process figure misses exactly what matters. Sources, best first:
 *   "perf"     perf_event_open CPU_CYCLES on every CPU (needs a PMU and perf_event_paranoid <= 0 or root);
 *   "procstat" busy time from /proc/stat (all CPUs' time minus idle and iowait) x the TSC frequency measured
 *              over the window itself (x86), or busy CPU-ns only where there is no TSC.
 * Each snapshot also reads this process's CPU time and the CPU time of every other user-space process
 * (kernel threads such as ksoftirqd and vhost are network work, not disturbance), so a run that shared the
 * machine with something else can be flagged.
 */
#ifndef NBENCH_CPU_H
#define NBENCH_CPU_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define NB_CPU_MAX_EXCLUDE 8
/* Other processes' CPU below this never marks a run disturbed: it is counted in 10 ms ticks, and two
 * ticks in a short, mostly idle window are sampling, not a neighbour. */
#define NB_CPU_DISTURBED_MIN_NS                                                                              \
	(25 * 1000 * 1000) /* pids a meter leaves out besides its own; more are ignored */

struct nb_cpu_snap {
	int64_t t_ns; /* CLOCK_MONOTONIC */
	uint64_t tsc; /* time-stamp counter, 0 where there is none */
	bool have_perf;
	uint64_t cycles; /* sum over CPUs of the perf counters, when have_perf */
	/* /proc/stat "cpu" line, converted to ns */
	uint64_t user_ns, nice_ns, system_ns, idle_ns, iowait_ns, irq_ns, softirq_ns, steal_ns;
	unsigned ncpus;	    /* online: the per-CPU lines of /proc/stat */
	uint64_t self_ns;   /* this process: utime + stime of all its threads */
	uint64_t others_ns; /* all other user-space processes (not excluded pids, not kernel threads): a
			     * running total the meter keeps from its first snapshot on; only differences mean
			     * anything */
};

struct nb_cpu_meter; /* perf fds, excluded pids */

/* Opens a meter; tries perf cycles when try_perf. Never fails for lack of a PMU: falls back to procstat.
 * 0 or -ENOMEM. Close with nb_cpu_meter_close (NULL is fine). */
int nb_cpu_meter_open(bool try_perf, struct nb_cpu_meter **ret);
void nb_cpu_meter_close(struct nb_cpu_meter *m);
/* Processes whose CPU is part of the test (the responder on the same host), left out of others_ns, and so
 * are their descendants (excluding our own pid leaves out the responder and guest a path run started).
 * Up to NB_CPU_MAX_EXCLUDE; this process itself is always left out. */
void nb_cpu_meter_exclude(struct nb_cpu_meter *m, pid_t pid);
/* "perf" or "procstat": what the meter's snapshots count cycles with. */
const char *nb_cpu_meter_source(const struct nb_cpu_meter *m);
/* Takes a snapshot now: /proc/stat, the perf counters, this process's CPU, and a scan of /proc that adds
 * the other processes' CPU since the previous snapshot to others_ns (the first one only starts the total).
 * 0, or -errno when /proc/stat or /proc cannot be read (-EIO: no "cpu" line), -ENOMEM. */
int nb_cpu_snap(struct nb_cpu_meter *m, struct nb_cpu_snap *ret);

struct nb_cpu_cost {
	char source[16]; /* "perf", "procstat" */
	bool valid;
	double wall_s;
	unsigned ncpus;
	double tsc_hz;	  /* measured over the window; 0 where unknown */
	uint64_t busy_ns; /* all CPUs: wall x ncpus - idle - iowait - steal (idle is exact on a tickless
			   * kernel; steal, the hypervisor's, is not this machine's work) */
	/* busy_ns split: user (with nice) + system + irq + softirq == busy_ns exactly. The kernel samples the
	 * split at the tick (250 Hz here), which both misses short bursts and, on a tickless kernel, charges
	 * a whole tick to a burst in an otherwise idle period, so the raw samples can sum to far less or far
	 * more than busy_ns; these are their shares of busy_ns. All 0 when no tick landed in the window. */
	uint64_t user_ns, system_ns, irq_ns, softirq_ns;
	double cycles;	   /* perf cycles, or busy_ns x tsc_hz; 0 where neither */
	double util;	   /* busy / (wall x ncpus), 0..1 */
	uint64_t gen_ns;   /* self_ns's difference: the generator process's own CPU (in a responder's cost,
			    * which its RESULT carries, the responder process's less its test threads') */
	uint64_t resp_ns;  /* the responder's test threads' CPU, filled in by the caller when known */
	uint64_t other_ns; /* other user-space processes on the machine */
	bool disturbed;	   /* other_ns > NB_CPU_DISTURBED_MIN_NS, and > 5% of one CPU over the window or >
			    * 10% of busy */
	double cycles_per_byte; /* filled by the caller that knows the bytes (0 if not a stream) */
	double cycles_per_txn;	/* likewise for transactions */
};

/* Scales parts[0..n) (tick samples) to shares of total that sum to total exactly (the rounding goes to the
 * largest); all 0 when they sum to 0. */
void nb_cpu_split(uint64_t total, uint64_t *parts, unsigned n);

/* The cost between two snapshots a and b (later) of the same meter; valid false when b is not later or
 * has no CPUs. resp_ns and cycles_per_* are left 0 for the caller. */
void nb_cpu_cost(const struct nb_cpu_snap *a, const struct nb_cpu_snap *b, struct nb_cpu_cost *ret);

/* CPU time of one thread (pthread_getcpuclockid), ns; 0 on error. */
uint64_t nb_thread_cpu_ns(unsigned long pthread_id);

/* CPU that neither the generator nor the responder used: busy - gen - resp (softirq, bridge, NAT, vhost
 * and anything else), 0 when that is negative (busy is rounded to the tick, gen and resp are exact). */
uint64_t nb_cpu_cost_unattributed_ns(const struct nb_cpu_cost *c);

#endif
