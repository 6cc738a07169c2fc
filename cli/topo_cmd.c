/* SPDX-License-Identifier: MIT */
/*
 * `nbench topo up|down|show|script|describe|spawn`. Exit status: 0 done, 1 failed, 2 usage, 130 interrupted.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "nbench/topo.h"
#include "nbench/units.h"

#define EXIT_USAGE 2
#define EXIT_INTR  130

static const char usage[] =
    "usage: nbench topo up KIND [--name N] [--port P] [--publish P] [WIRE]\n"
    "       nbench topo down NAME... | --all\n"
    "       nbench topo show\n"
    "       nbench topo script KIND [--name N] [--port P] [--publish P] [WIRE]\n"
    "       nbench topo describe NAME\n"
    "       nbench topo spawn NAME [--log FILE] -- COMMAND [ARG...]\n"
    "WIRE: --wire IF_A,IF_B (two ports of this host instead of a veth pair: IF_B the client's,\n"
    "      IF_A the server's; recorded first, restored by down) [--force] [--wire-rate R (tbf)]\n";

static void print_usage(FILE *f)
{
	char kinds[128];

	fprintf(f, "%sKIND: %s\n", usage, nb_topo_kinds_join(kinds, sizeof(kinds), ", "));
}

static int fail_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "nbench topo: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	return EXIT_USAGE;
}

/* --wire IF_A,IF_B and --wire-rate R into opts; 0 or 2 after the error. */
static int parse_wire(const char *a, const char *v, struct nb_topo_opts *opts)
{
	const char *comma = strchr(v, ',');

	if (!strcmp(a, "--wire-rate")) {
		if (nb_parse_rate(v, &opts->wire_rate_bps) || opts->wire_rate_bps <= 0)
			return fail_usage("--wire-rate: '%s' is not a rate in bits/s (k, M, G)", v);
		return 0;
	}
	if (!comma || (size_t)(comma - v) >= sizeof(opts->wire_a) ||
	    strlen(comma + 1) >= sizeof(opts->wire_b))
		return fail_usage("--wire: '%s' is not IF_A,IF_B", v);
	snprintf(opts->wire_a, sizeof(opts->wire_a), "%.*s", (int)(comma - v), v);
	snprintf(opts->wire_b, sizeof(opts->wire_b), "%s", comma + 1);
	return 0;
}

/* KIND [--name N] [--port P] [--publish P] [--wire A,B] [--wire-rate R] [--force], shared by up and
 * script. */
static int parse_build_args(int argc, char **argv, const char **kind, const char **name,
			    struct nb_topo_opts *opts)
{
	char err[256], kinds[128];

	*kind = NULL;
	*name = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--force")) {
			opts->force = true;
		} else if (!strcmp(a, "--name") || !strcmp(a, "--port") || !strcmp(a, "--publish") ||
			   !strncmp(a, "--wire", 6)) {
			if (i + 1 >= argc)
				return fail_usage("%s needs a value", a);
			const char *v = argv[++i];
			if (!strcmp(a, "--wire") || !strcmp(a, "--wire-rate")) {
				if (parse_wire(a, v, opts))
					return EXIT_USAGE;
			} else if (!strncmp(a, "--wire", 6)) {
				return fail_usage("unknown option '%s'", a);
			} else if (!strcmp(a, "--name")) {
				*name = v;
			} else if (cli_parse_port(v, !strcmp(a, "--port") ? &opts->server_port
									  : &opts->publish_port)) {
				return fail_usage("invalid port '%s' (1-65535)", v);
			}
		} else if (!strncmp(a, "--name=", 7)) {
			*name = a + 7;
		} else if (a[0] == '-' && a[1]) {
			return fail_usage("unknown option '%s'", a);
		} else if (!*kind) {
			*kind = a;
		} else {
			return fail_usage("unexpected argument '%s'", a);
		}
	}
	nb_topo_kinds_join(kinds, sizeof(kinds), ", ");
	if (!*kind) {
		fprintf(stderr, "nbench topo: %s: missing path KIND (%s)\n", argv[0], kinds);
		return EXIT_USAGE;
	}
	if (!nb_topo_kind_valid(*kind)) {
		fprintf(stderr, "nbench topo: unknown path kind '%s' (%s)\n", *kind, kinds);
		return EXIT_USAGE;
	}
	if (*name && nb_topo_name_check(*name, err, sizeof(err)))
		return fail_usage("%s", err);
	return 0;
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

static void print_endpoints(const struct nb_topo *t)
{
	printf("name %s\n", nb_topo_name(t));
	printf("kind %s\n", nb_topo_kind(t));
	printf("client %s\n", nb_topo_client_netns(t));
	printf("dial %s:%u\n", nb_topo_dial_addr(t), nb_topo_dial_port(t));
	printf("server %s %s:%u\n", nb_topo_server_netns(t), nb_topo_server_addr(t), nb_topo_server_port(t));
}

static int cmd_up(int argc, char **argv)
{
	struct nb_topo_opts opts = {0};
	struct sigaction sa = {.sa_handler = on_signal};
	const char *kind, *name;
	struct nb_topo *t;
	char err[512] = "";
	int r;

	r = parse_build_args(argc, argv, &kind, &name, &opts);
	if (r)
		return r;
	/* The library holds these signals off while it builds and unwinds when one is pending; the handler
	 * only keeps the default action from killing us after the unwind, so we can say what happened. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	r = nb_topo_up_ex(kind, name, &opts, &t, err, sizeof(err));
	if (r) {
		fprintf(stderr, "nbench topo: %s\n", err);
		return r == -EINTR ? EXIT_INTR : 1;
	}
	if (interrupted) {
		/* the signal came as the last step finished: the user still asked for nothing to be left */
		nb_topo_down(t, true);
		fprintf(stderr, "nbench topo: interrupted at the end; everything undone\n");
		return EXIT_INTR;
	}
	print_endpoints(t);
	nb_topo_close(t);
	return 0;
}

static int cmd_down(int argc, char **argv)
{
	char err[512] = "";
	int r, status = 0;

	if (argc < 2)
		return fail_usage("%s", "down: missing NAME or --all");
	if (!strcmp(argv[1], "--all")) {
		size_t n = 0;

		if (argc > 2)
			return fail_usage("unexpected argument '%s'", argv[2]);
		r = nb_topo_down_all(&n, err, sizeof(err));
		if (r) {
			fprintf(stderr, "nbench topo: %s\n", err);
			return 1;
		}
		printf("%zu instance%s down\n", n, n == 1 ? "" : "s");
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		if (nb_topo_name_check(argv[i], err, sizeof(err)))
			return fail_usage("%s", err);
	}
	for (int i = 1; i < argc; i++) {
		r = nb_topo_down_name(argv[i], err, sizeof(err));
		if (r == -ENOENT) {
			/* down is idempotent: an instance already gone is the state asked for */
			fprintf(stderr, "nbench topo: %s: nothing to do\n", err);
		} else if (r) {
			fprintf(stderr, "nbench topo: %s\n", err);
			status = 1;
		} else {
			printf("%s down\n", argv[i]);
		}
	}
	return status;
}

static int cmd_show(int argc, char **argv)
{
	struct nb_topo_info *list = NULL;
	char err[512] = "";
	size_t n = 0;
	int r;

	(void)argv;
	if (argc > 1)
		return fail_usage("unexpected argument '%s'", argv[1]);
	r = nb_topo_list(&list, &n, err, sizeof(err));
	if (r) {
		fprintf(stderr, "nbench topo: %s\n", *err ? err : strerror(-r));
		return 1;
	}
	printf("%-11s %-10s %-10s %-18s %-22s %-16s %s\n", "NAME", "KIND", "STATE", "CLIENT", "DIAL",
	       "SERVER", "LISTEN");
	for (size_t i = 0; i < n; i++) {
		const struct nb_topo_info *in = &list[i];
		char dial[64], listen[64];

		if (!in->has_state || !*in->kind) {
			printf("%-11s %-10s %-10s (no state file: remove with nbench topo down %s)\n",
			       in->name, "?", "orphan", in->name);
			continue;
		}
		snprintf(dial, sizeof(dial), "%s:%u", in->dial_addr, in->dial_port);
		snprintf(listen, sizeof(listen), "%s:%u", in->server_addr, in->server_port);
		printf("%-11s %-10s %-10s %-18s %-22s %-16s %s", in->name, in->kind,
		       in->complete ? "up" : "partial", in->client_netns, dial, in->server_netns, listen);
		if (in->nprocs)
			printf(" (%u process%s)", in->nprocs, in->nprocs == 1 ? "" : "es");
		printf("\n");
	}
	free(list);
	return 0;
}

static int cmd_script(int argc, char **argv)
{
	struct nb_topo_opts opts = {0};
	const char *kind, *name;
	char err[512] = "", *text;
	int r;

	r = parse_build_args(argc, argv, &kind, &name, &opts);
	if (r)
		return r;
	r = nb_topo_script(kind, name, &opts, &text, err, sizeof(err));
	if (r) {
		fprintf(stderr, "nbench topo: %s\n", err[0] ? err : strerror(-r));
		return r == -EINVAL ? EXIT_USAGE : 1;
	}
	fputs(text, stdout);
	free(text);
	return 0;
}

static int open_named(int argc, char **argv, int want, struct nb_topo **t)
{
	char err[512] = "";
	int r;

	if (argc < 2)
		return fail_usage("%s: missing NAME", argv[0]);
	if (want && argc != want)
		return fail_usage("unexpected argument '%s'", argv[2]);
	if (nb_topo_name_check(argv[1], err, sizeof(err)))
		return fail_usage("%s", err);
	r = nb_topo_open(argv[1], t, err, sizeof(err));
	if (r) {
		fprintf(stderr, "nbench topo: %s\n", err);
		return 1;
	}
	return 0;
}

static int cmd_describe(int argc, char **argv)
{
	struct nb_topo *t;
	char *json;
	int r = open_named(argc, argv, 2, &t);

	if (r)
		return r;
	json = nb_topo_describe_json(t);
	nb_topo_close(t);
	if (!json) {
		fprintf(stderr, "nbench topo: describing %s failed\n", argv[1]);
		return 1;
	}
	printf("%s\n", json);
	free(json);
	return 0;
}

/* Runs fn with the standard streams on log (or /dev/null), so that a server that outlives this command
 * does not hold its caller's pipes open. */
static pid_t spawn_detached(struct nb_topo *t, char **argv, const char *log)
{
	int saved[3], fd;
	pid_t pid;

	fd = log ? open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)
		 : open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	fflush(stdout);
	fflush(stderr);
	for (int i = 0; i < 3; i++) {
		saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 3);
		dup2(fd, i);
	}
	pid = nb_topo_spawn_server(t, argv);
	for (int i = 0; i < 3; i++) {
		dup2(saved[i], i);
		close(saved[i]);
	}
	close(fd);
	return pid;
}

static int cmd_spawn(int argc, char **argv)
{
	const char *log = NULL;
	struct nb_topo *t;
	int i = 2, r;
	pid_t pid;

	if (argc > 3 && !strcmp(argv[2], "--log")) {
		log = argv[3];
		i = 4;
	}
	if (argc < i + 2 || strcmp(argv[i], "--"))
		return fail_usage("%s",
				  "spawn: usage: nbench topo spawn NAME [--log FILE] -- COMMAND [ARG...]");
	r = open_named(2, argv, 2, &t);
	if (r)
		return r;
	pid = spawn_detached(t, argv + i + 1, log);
	if (pid < 0) {
		fprintf(stderr, "nbench topo: starting %s in %s: %s\n", argv[i + 1], nb_topo_server_netns(t),
			strerror(-pid));
		nb_topo_close(t);
		return 1;
	}
	printf("%d\n", (int)pid);
	/* the server outlives this command; `nbench topo down` stops it */
	nb_topo_close(t);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
    {"up", cmd_up},	    {"down", cmd_down},		{"show", cmd_show},
    {"script", cmd_script}, {"describe", cmd_describe}, {"spawn", cmd_spawn},
};

int cmd_topo(int argc, char **argv)
{
	if (argc < 2) {
		print_usage(stderr);
		return EXIT_USAGE;
	}
	/* --help anywhere before a spawn's "--" (nbench topo up --help) */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			print_usage(stdout);
			return 0;
		}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	return fail_usage("unknown command '%s' (up, down, show, script, describe, spawn)", argv[1]);
}
