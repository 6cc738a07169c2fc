/* SPDX-License-Identifier: MIT */
/*
 * The CPU meter on this machine. Only "greater than zero" style checks on measured figures: the machine is
 * shared (2 vCPUs, other builds) and /proc/stat counts in 10 ms ticks. What the test itself burns is
 * counted with CLOCK_PROCESS_CPUTIME_ID, so "at least what we burned" is safe to check.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nbench/clock.h"
#include "nbench/cpu.h"
#include "tap.h"

static int64_t process_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * NB_NS_PER_S + ts.tv_nsec;
}

/* Burns cpu_ns of this process's CPU time (however long that takes on a loaded machine, up to 10 s). */
static void burn(int64_t cpu_ns)
{
	int64_t end = process_cpu_ns() + cpu_ns, deadline = nb_now_ns() + 10 * NB_NS_PER_S;
	volatile uint64_t x = 1;
	while (process_cpu_ns() < end && nb_now_ns() < deadline)
		for (int i = 0; i < 10000; i++)
			x = x * 6364136223846793005ULL + 1;
}

static void test_own_work(void)
{
	struct nb_cpu_meter *m = NULL;
	struct nb_cpu_snap a, b;
	struct nb_cpu_cost c;

	CHECK_INT(nb_cpu_meter_open(true, &m), 0);
	if (!m)
		return;
	const char *src = nb_cpu_meter_source(m);
	CHECK(!strcmp(src, "perf") || !strcmp(src, "procstat"));
	fprintf(stderr, "cpu source: %s\n", src);

	CHECK_INT(nb_cpu_snap(m, &a), 0);
	burn(100 * NB_NS_PER_MS);
	CHECK_INT(nb_cpu_snap(m, &b), 0);
	nb_cpu_cost(&a, &b, &c);

	CHECK(c.valid);
	CHECK_STR(c.source, src);
	CHECK(c.wall_s > 0);
	CHECK(c.ncpus >= 1);
	CHECK_MSG(c.busy_ns > 0, "busy %" PRIu64, c.busy_ns);
	CHECK_MSG(c.gen_ns >= 100 * NB_NS_PER_MS, "gen %" PRIu64 " ns, burned 100 ms", c.gen_ns);
	CHECK_MSG(c.util > 0 && c.util <= 1, "util %f", c.util);
	CHECK(c.busy_ns <= (uint64_t)(c.wall_s * 1e9 * c.ncpus) + 1);
#if defined(__x86_64__)
	CHECK_MSG(c.tsc_hz > 0, "tsc_hz %f", c.tsc_hz);
	CHECK(c.cycles > 0);
#endif
	CHECK_INT(c.resp_ns, 0); /* the caller fills it */
	CHECK(c.cycles_per_byte == 0 && c.cycles_per_txn == 0);
	fprintf(stderr,
		"wall %.3f s, busy %.3f s, util %.3f, tsc %.3f GHz, cycles %.3g, gen %.3f s, other %.3f s\n",
		c.wall_s, c.busy_ns / 1e9, c.util, c.tsc_hz / 1e9, c.cycles, c.gen_ns / 1e9,
		c.other_ns / 1e9);

	/* the same snapshot twice: an empty window is not a measurement */
	nb_cpu_cost(&b, &b, &c);
	CHECK(!c.valid);

	CHECK_MSG(nb_thread_cpu_ns((unsigned long)pthread_self()) >= 100 * NB_NS_PER_MS,
		  "thread cpu %" PRIu64, nb_thread_cpu_ns((unsigned long)pthread_self()));
	nb_cpu_meter_close(m);
	nb_cpu_meter_close(NULL);
}

/*
 * Two meters watch the same window; one excludes a child that burns 150 ms of CPU. The child starts after
 * the first snapshots (a new process: all its CPU counts) and is still alive at the second ones (an exited
 * process can no longer be read). Both meters see the same other processes, a few ms apart.
 */
static void test_exclude(void)
{
	struct nb_cpu_meter *with = NULL, *without = NULL;
	struct nb_cpu_snap w1, w2, o1, o2;
	struct nb_cpu_cost cw, co;
	int done[2], stop[2];
	const int64_t child_ns = 150 * NB_NS_PER_MS;

	CHECK_INT(nb_cpu_meter_open(false, &with), 0);
	CHECK_INT(nb_cpu_meter_open(false, &without), 0);
	CHECK_STR(nb_cpu_meter_source(with), "procstat");
	if (pipe(done) < 0 || pipe(stop) < 0) {
		CHECK(!"pipe");
		return;
	}
	CHECK_INT(nb_cpu_snap(with, &w1), 0);
	CHECK_INT(nb_cpu_snap(without, &o1), 0);
	pid_t pid = fork();
	if (pid == 0) {
		char c = 1;
		burn(child_ns);
		if (write(done[1], &c, 1) != 1)
			_exit(1);
		if (read(stop[0], &c, 1) < 0) /* stay alive until the parent has looked */
			_exit(1);
		_exit(0);
	}
	CHECK(pid > 0);
	if (pid < 0)
		return;
	nb_cpu_meter_exclude(with, pid);
	nb_cpu_meter_exclude(with, pid); /* twice is once */
	char c;
	CHECK_INT(read(done[0], &c, 1), 1);
	CHECK_INT(nb_cpu_snap(with, &w2), 0);
	CHECK_INT(nb_cpu_snap(without, &o2), 0);
	CHECK_INT(write(stop[1], &c, 1), 1);
	int status;
	CHECK_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	nb_cpu_cost(&w1, &w2, &cw);
	nb_cpu_cost(&o1, &o2, &co);
	fprintf(stderr, "other with the child excluded %.3f s, included %.3f s\n", cw.other_ns / 1e9,
		co.other_ns / 1e9);
	CHECK_MSG(co.other_ns > cw.other_ns, "not excluded %" PRIu64 " <= excluded %" PRIu64, co.other_ns,
		  cw.other_ns);
	/* the child's 150 ms shows in the difference; what else ran in the few ms between the two meters'
	 * snapshots is far less */
	CHECK_MSG(co.other_ns - cw.other_ns >= (uint64_t)child_ns / 3, "difference %" PRIu64 " ns",
		  co.other_ns - cw.other_ns);
	close(done[0]);
	close(done[1]);
	close(stop[0]);
	close(stop[1]);
	nb_cpu_meter_close(with);
	nb_cpu_meter_close(without);
}

/* nb_cpu_cost on made-up snapshots: the arithmetic and the disturbed rule. */
static void test_cost_arithmetic(void)
{
	struct nb_cpu_snap a = {0}, b = {0};
	struct nb_cpu_cost c;
	const uint64_t s = NB_NS_PER_S;

	a.t_ns = 1000 * s;
	b.t_ns = 1010 * s; /* 10 s, 2 CPUs: 20 s of capacity */
	a.ncpus = b.ncpus = 2;
	a.tsc = 1000;
	b.tsc = 1000 + 23000000000ULL; /* 2.3 GHz */
	a.idle_ns = 100 * s;
	b.idle_ns = 100 * s + 5 * s;
	b.iowait_ns = 1 * s;
	b.user_ns = 4 * s;
	b.nice_ns = 1 * s;
	b.system_ns = 6 * s;
	b.softirq_ns = 2 * s;
	b.irq_ns = s / 10;
	a.self_ns = 7;
	b.self_ns = 7 + 5 * s;
	b.others_ns = s / 1000; /* 1 ms: 0.01% of a CPU */
	nb_cpu_cost(&a, &b, &c);
	CHECK(c.valid);
	CHECK_STR(c.source, "procstat");
	CHECK(c.wall_s == 10);
	CHECK_INT(c.ncpus, 2);
	CHECK_U64(c.busy_ns, 14 * s); /* 20 - 5 idle - 1 iowait */
	/* the split is the ticks' shares of busy (user + nice 5, system 6, softirq 2, irq 0.1 of 13.1 s of
	 * ticks), and sums to busy exactly */
	CHECK_U64(c.user_ns, 5343511450); /* 14 s x 5 / 13.1 */
	CHECK_U64(c.system_ns, 6412213741);
	CHECK_U64(c.softirq_ns, 2137404580);
	CHECK_U64(c.irq_ns, 106870229);
	CHECK_U64(c.user_ns + c.system_ns + c.softirq_ns + c.irq_ns, c.busy_ns);
	CHECK(fabs(c.util - 0.7) < 1e-12);
	CHECK(fabs(c.tsc_hz - 2.3e9) < 1);
	CHECK(fabs(c.cycles - 14 * 2.3e9) < 1e3);
	CHECK_U64(c.gen_ns, 5 * s);
	CHECK_U64(c.other_ns, s / 1000);
	CHECK(!c.disturbed);
	c.resp_ns = 4 * s;
	CHECK_U64(nb_cpu_cost_unattributed_ns(&c), 5 * s);
	c.resp_ns = 10 * s;
	CHECK_U64(nb_cpu_cost_unattributed_ns(&c), 0);

	/* issue 19: ticks that overcount a mostly idle window (busy 330 ms; user 10, system 280, softirq 270
	 * ms of ticks: 560 ms) become shares that sum to busy; steal is not busy */
	struct nb_cpu_snap a2 = a, b2 = a;
	b2.t_ns = a.t_ns + s; /* 1 s, 2 CPUs */
	b2.idle_ns = a.idle_ns + 2 * s - 330000000 - 20000000;
	b2.steal_ns = 20000000;
	b2.user_ns = 10000000;
	b2.system_ns = 280000000;
	b2.softirq_ns = 270000000;
	nb_cpu_cost(&a2, &b2, &c);
	CHECK_U64(c.busy_ns, 330000000);
	CHECK_U64(c.user_ns + c.system_ns + c.softirq_ns + c.irq_ns, c.busy_ns);
	CHECK_U64(c.user_ns, 5892857);	   /* 330 x 10 / 560 */
	CHECK_U64(c.system_ns, 165000001); /* 330 x 280 / 560, and the 1 ns of rounding */
	CHECK_U64(c.irq_ns, 0);
	/* no tick in the window: no split */
	b2.user_ns = b2.system_ns = b2.softirq_ns = 0;
	nb_cpu_cost(&a2, &b2, &c);
	CHECK_U64(c.busy_ns, 330000000);
	CHECK_U64(c.user_ns + c.system_ns + c.softirq_ns + c.irq_ns, 0);

	/* 5% of one CPU over the window is the limit */
	b.others_ns = s / 2; /* 0.5 s of 10 s */
	nb_cpu_cost(&a, &b, &c);
	CHECK(!c.disturbed);
	b.others_ns = s / 2 + 1;
	nb_cpu_cost(&a, &b, &c);
	CHECK(c.disturbed);
	/* or 10% of busy when little is busy */
	b.iowait_ns = 0;
	b.idle_ns = a.idle_ns + 18 * s; /* busy 2 s */
	b.others_ns = s / 5 + 1;	/* 0.2 s: 2% of a CPU but > 10% of busy */
	nb_cpu_cost(&a, &b, &c);
	CHECK_U64(c.busy_ns, 2 * s);
	CHECK(c.disturbed);
	/* but two 10 ms ticks of a neighbour in a short, mostly idle window are not (issue 19) */
	b2 = a;
	b2.t_ns = a.t_ns + s / 2;
	b2.idle_ns = a.idle_ns + s - 100000000; /* busy 100 ms */
	b2.others_ns = 20000000;		/* 20 ms: 20% of busy, 4% of one CPU */
	nb_cpu_cost(&a, &b2, &c);
	CHECK(!c.disturbed);
	b2.others_ns = NB_CPU_DISTURBED_MIN_NS + 1;
	nb_cpu_cost(&a, &b2, &c);
	CHECK(c.disturbed);

	/* perf on both ends: cycles are the counters' */
	a.have_perf = b.have_perf = true;
	a.cycles = 100;
	b.cycles = 100 + 5000000000ULL;
	nb_cpu_cost(&a, &b, &c);
	CHECK_STR(c.source, "perf");
	CHECK(c.cycles == 5e9);
	/* perf on one end only: not comparable, procstat */
	a.have_perf = false;
	nb_cpu_cost(&a, &b, &c);
	CHECK_STR(c.source, "procstat");

	/* idle above capacity (tick rounding): busy is 0, not a wrapped huge number */
	b.idle_ns = a.idle_ns + 21 * s;
	nb_cpu_cost(&a, &b, &c);
	CHECK_U64(c.busy_ns, 0);
	CHECK(c.util == 0);
	/* no TSC: no cycles */
	a.tsc = b.tsc = 0;
	b.idle_ns = a.idle_ns;
	nb_cpu_cost(&a, &b, &c);
	CHECK(c.tsc_hz == 0 && c.cycles == 0);
	/* time going backwards is not a window */
	nb_cpu_cost(&b, &a, &c);
	CHECK(!c.valid);
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {
	    TAP_CASE(test_cost_arithmetic),
	    TAP_CASE(test_own_work),
	    TAP_CASE(test_exclude),
	};
	return TAP_RUN(cases, argc > 1 ? argv[1] : NULL);
}
