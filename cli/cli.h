/* SPDX-License-Identifier: MIT */
/* The command line: parsing into settings, and the commands, each of which dispatches to bench/ (where tests
 * run, compare, sweep, throughput) or analyze/ (diff, plot's data) and prints what comes back. Only this
 * folder and the report writers print. */
#ifndef NBENCH_CLI_H
#define NBENCH_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nbench/bench.h"
#include "nbench/cfg.h"
#include "nbench/hops.h"
#include "nbench/pathcap.h"

struct nb_hist;

enum cli_format { CLI_TEXT, CLI_JSON, CLI_CSV };

struct cli_test {
	struct nb_test_cfg cfg;
	enum cli_format format;
	const char *path;	  /* --path: build this path for the run */
	const char *topo;	  /* --topo: use this running instance */
	const char *output;	  /* -o: write the report there too */
	const char *data_host;	  /* --data-host: the data address a responder may name instead of -H's */
	const char *key_file;	  /* --key-file, else $NBENCH_KEY_FILE: the shared key; NULL: none */
	const char *hist_out;	  /* --hist-out: write the latency distribution there */
	struct nb_hist *hist;	  /* the run's latency histogram, when hist_out is set */
	bool quiet;		  /* no interim lines */
	bool nic_counters;	  /* -v: text lists every changed counter of each interface */
	bool hops;		  /* --hops: also a run with capture on every interface of the path */
	const char *baseline;	  /* --baseline FILE: exit 1 when worse than it (diff_cmd.c) */
	const char *tolerance;	  /* --tolerance PCT: by more than this beyond the interval (5%) */
	double load_bps;	  /* rr --load: a paced stream beside the probe (payload bits/s); 0 = none */
	enum nb_proto load_proto; /* --load-proto: that stream's protocol (udp) */
	bool host_given;
	struct nb_wire_opts wire; /* --wire IF_A,IF_B, --wire-rate, --force: the wire of paths built here */
	unsigned runs;		  /* --runs: rounds (compare, sweep); 0: not given */
	char cmdline[512];
	enum nb_hops_backend hops_backend; /* --hops=B (auto), then what cli_hops_pick chose */
	struct nb_pathcap_cfg pathcap;	   /* --capture FILE, --capture-snap, --capture-max */
};

/* ---- options (opts.c) ----
 * One table lists each option the commands share once (name, argument, the commands that take it, limits,
 * help line): the getopt entries, the checks, their messages and the tests' --help all come from it. A
 * command's own options are rows of the same kind in its own file, parsed by the same code. */

/* How a flag's argument is read and where it goes. */
enum cli_opt_type {
	CLI_OT_SET,	 /* no argument: stores .lo */
	CLI_OT_UINT,	 /* integer in [lo, hi] */
	CLI_OT_DURATION, /* duration in [lo, hi] ns; with .zero_ok also 0 */
	CLI_OT_BYTES,	 /* byte size in [lo, hi] */
	CLI_OT_PAIR,	 /* REQ,RESP byte sizes, each in [lo, hi], to field and field2 */
	CLI_OT_RATE,	 /* per-second rate in (lo, hi] */
	CLI_OT_STRING,	 /* copied into a char array: not empty, fits */
	CLI_OT_ARG,	 /* the argument itself (a pointer into argv) */
	CLI_OT_PROTO,	 /* tcp|udp */
	CLI_OT_FN,	 /* .parse reads it: 0, or 2 after its one-line error */
};

/* The commands, as bits of struct cli_opt.cmds: the tests' are their kinds'. */
#define CLI_C_STREAM	 (1u << NB_TEST_STREAM)
#define CLI_C_RR	 (1u << NB_TEST_RR)
#define CLI_C_CRR	 (1u << NB_TEST_CRR)
#define CLI_C_TESTS	 (CLI_C_STREAM | CLI_C_RR | CLI_C_CRR)
#define CLI_C_COMPARE	 (1u << 3)
#define CLI_C_SWEEP	 (1u << 4)
#define CLI_C_THROUGHPUT (1u << 5)
#define CLI_C_DIFF	 (1u << 6)
#define CLI_C_PLOT	 (1u << 7)
#define CLI_C_SERVE	 (1u << 8)

struct cli_opt {
	const char *name; /* long name, without "--" */
	char short_name;  /* 0: none */
	const char *arg;  /* its argument in --help; NULL: takes none */
	unsigned cmds;	  /* CLI_C_*: the commands that take it (a command's own rows: its own) */
	unsigned shown;	  /* CLI_C_*: the tests whose --help lists it, when fewer than cmds */
	enum cli_opt_type type;
	size_t off,
	    size;    /* the field it sets: of struct cli_test (the shared table), or of the command's own */
	size_t off2; /* CLI_OT_PAIR: the second one */
	int64_t lo, hi;	   /* limits, inclusive (CLI_OT_RATE: above lo) */
	bool zero_ok;	   /* CLI_OT_DURATION: 0 is allowed below lo ("none") */
	const char *what;  /* in "'%s' is not <what> from <lo> to <hi>" */
	const char *unit;  /* CLI_OT_RATE: after the upper limit */
	const char *label; /* how errors name it; default: as the user wrote it */
	const char *help;  /* --help's line (a '\n' continues it under itself); NULL: never listed */
	const char *dflt;  /* the default, as --help and the synopses in README say it ("[default: 10]") */
	/* help's "%s": a list that lives elsewhere (the path kinds of topo/plan.c's table) */
	const char *(*help_list)(char *buf, size_t len, const char *sep);
	int (*parse)(void *base, const char *arg); /* CLI_OT_FN: base is the struct the row's fields are of */
	bool opt_arg; /* its argument may be left out: --name alone (arg NULL) or --name=ARG */
};
#define CLI_STR_(x)	   #x
#define CLI_STR(x)	   CLI_STR_(x) /* a macro's value as a string, for the help texts */
#define CLI_FIELD(type, f) .off = offsetof(type, f), .size = sizeof(((type *)0)->f)

/* How a command takes its options. Its --help (cli_help) is the usage, the about text and a line per option
 * from the rows: its own, then the shared ones it takes. An own row of a shared row's name takes its place
 * (the same option, said as this command means it). */
struct cli_cmd {
	const char *name;	   /* as errors name it: "nbench <name>: ..." */
	unsigned bit;		   /* CLI_C_*: the shared rows it takes */
	int kind;		   /* the test it runs (throughput: stream), whose rows it knows; -1: none */
	const struct cli_opt *own; /* its own rows, fields of the struct own points to */
	unsigned n_own;
	const char *usage;  /* after "usage: nbench "; a '\n' starts another usage line */
	const char *about;  /* what it does, a paragraph (NULL: none) */
	void (*more)(void); /* prints what follows the options (lists of names); may be NULL */
	const char
	    *refused; /* a stream option it does not take: "<opt> <refused>" (throughput: its search's) */
	bool udp;     /* its stream is UDP, as if --proto udp were given (throughput) */
	bool dpdk;    /* takes the --dpdk-* options into t->cfg (a test, serve) */
	bool args;    /* takes arguments after its options (diff's reports, plot's files) */
};

/* Sets t to what no option was given: zeroed, --load-proto udp, the key file from $NBENCH_KEY_FILE. */
void cli_test_init(struct cli_test *t);
/* Parses argv's options (argv[0] is the command) as cmd takes them: the shared rows into t, cmd's own into
 * own. 0 with the first argument's index in *ret_optind (an argument where cmd takes none is an error), 1
 * after --help (printed), 2 after a one-line error on stderr. */
int cli_parse(const struct cli_cmd *cmd, int argc, char **argv, struct cli_test *t, void *own,
	      int *ret_optind);
/* A test's settings: cli_test_init, the kind's defaults, cli_parse, then what holds only for the options
 * together (where the responder is, the engine's rules, the settings' checks). 0, 1 or 2 as cli_parse. */
int cli_parse_test_as(const struct cli_cmd *cmd, int argc, char **argv, struct cli_test *t, void *own);
/* Parses `nbench stream|rr|crr ...` (argv[0] is the subcommand): cli_parse_test_as for that test. */
int cli_parse_test(int argc, char **argv, struct cli_test *ret);

int cmd_test(int argc, char **argv); /* stream, rr, crr */
int cmd_serve(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_throughput(int argc, char **argv); /* throughput_cmd.c: RFC 2544 throughput per frame size */
int cmd_sweep(int argc, char **argv); /* sweep_cmd.c: knob values crossed, each combination a compare cell */
int cmd_image(int argc, char **argv);
int cmd_guest(int argc, char **argv); /* guest_cmd.c: nbench guest build|probe */
int cmd_topo(int argc, char **argv);  /* topo_cmd.c: nbench topo up|down|show|script|describe|spawn */
int cmd_key(int argc, char **argv);   /* key_cmd.c: nbench key gen FILE */
int cmd_diff(int argc, char **argv);  /* diff_cmd.c: nbench diff A B */

/* --baseline FILE --tolerance PCT (diff_cmd.c). Before the run: FILE readable, PCT a percentage (default 5)
 * into *ret_tol; 0, or 2 after a one-line error. After it: doc (the run's JSON report) against FILE; 0, 1
 * when a metric is worse by more than tol_pct beyond its interval (each named in one line on stderr), 2
 * when FILE is of another test (one line); note gets the sentence the report adds. */
struct cJSON;
int cli_baseline_ready(const char *cmd, const char *file, const char *tolerance, double *ret_tol);
int cli_baseline_check(const char *cmd, const char *file, double tol_pct, const struct cJSON *doc, char *note,
		       size_t notelen);
/* Prints doc as --json does (cJSON_Print's layout, then a newline) into out and deletes it: 0, -ENOMEM (doc
 * NULL or not printed) or -EIO. */
int cli_json_write(struct cJSON *doc, FILE *out);
/* A report as its JSON document (what --json prints), or NULL. */
struct nb_report;
struct cJSON *cli_report_doc(const struct nb_report *rep);

/* --engine dpdk and its --dpdk-* options (rows of the shared table) go together: 0, or 2 after a one-line
 * error. given: a --dpdk-* option given, as written; NULL: none. */
int cli_dpdk_check(const char *cmd, const struct nb_test_cfg *cfg, const char *given);

/* Prints cmd's --help on stdout: "usage: nbench ...", its about text, a line per option, then cmd->more. */
void cli_help(const struct cli_cmd *cmd);

/* Prints "nbench <cmd>: <message>" on stderr; returns 2 (bad usage). */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A port number, 1 to 65535, into *ret: 0 or -EINVAL. */
int cli_parse_port(const char *s, uint16_t *ret);

/* --hops: resolves *b for a kind test: ebpf where nb_hops_ebpf_probe allows it; auto falls back to pcap (rr
 * only) with one line on stderr and a note in rep (may be NULL). 0, or 2 with the reason in err (--hops=ebpf
 * where eBPF cannot run, pcap for crr). */
struct nb_report;
int cli_hops_pick(const char *cmd, enum nb_hops_backend *b, enum nb_test_kind kind, struct nb_report *rep,
		  char *err, size_t errlen);
/* --hops=B's argument into the int at base (a cli_opt's CLI_OT_FN): 0, or 2 after its one-line error. */
int cli_parse_hops(void *base, const char *arg);

/* Where t's tests run, as bench/ takes it (trouble at teardown printed by cli_warn). */
void cli_where(const struct cli_test *t, struct nb_where *ret);
/* Prints "nbench: msg" on stderr (nb_where.warn). */
void cli_warn(void *arg, const char *msg);

/* Writes h in HdrHistogram's percentile-distribution text format (what its plotter reads), values in
 * microseconds. 0 or -errno (from writing). */
int cli_hist_write(const struct nb_hist *h, FILE *out);

/* nbench plot FILE.json... (plot_cmd.c) */
int cmd_plot(int argc, char **argv);

/* CAP_NET_ADMIN and CAP_SYS_ADMIN are effective (what building a path takes). */
bool cli_has_net_admin(void);

/* Ctrl-C and SIGTERM set the flag that cli_quit_flag() points to (for nb_serve and nb_run). */
void cli_catch_signals(void);
bool cli_quitting(void);
volatile sig_atomic_t *cli_quit_flag(void);

#endif
