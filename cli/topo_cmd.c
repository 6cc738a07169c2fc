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

#include <cjson/cJSON.h>

#include "cli.h"
#include "nbench/topo.h"
#include "nbench/units.h"

#define EXIT_USAGE 2
#define EXIT_INTR  130

/* topo's command line: up's and script's settings, and the subcommands' own options. */
struct topo_args {
	struct nb_topo_opts opts;
	const char *name; /* --name */
	bool all, json;	  /* down --all, describe --json */
	const char *log;  /* spawn --log */
};

static int fail_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "nbench topo: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	return EXIT_USAGE;
}

static int parse_port(void *base, const char *v)
{
	if (cli_parse_port(v, &((struct topo_args *)base)->opts.server_port))
		return fail_usage("--port: '%s' is not a port number from 1 to 65535", v);
	return 0;
}

static int parse_publish(void *base, const char *v)
{
	if (cli_parse_port(v, &((struct topo_args *)base)->opts.publish_port))
		return fail_usage("--publish: '%s' is not a port number from 1 to 65535", v);
	return 0;
}

/* --wire IF_A,IF_B into opts; 0 or 2 after the error. */
static int parse_wire(void *base, const char *v)
{
	struct nb_topo_opts *opts = &((struct topo_args *)base)->opts;
	const char *comma = strchr(v, ',');

	if (!comma || (size_t)(comma - v) >= sizeof(opts->wire_a) ||
	    strlen(comma + 1) >= sizeof(opts->wire_b))
		return fail_usage("--wire: '%s' is not IF_A,IF_B", v);
	snprintf(opts->wire_a, sizeof(opts->wire_a), "%.*s", (int)(comma - v), v);
	snprintf(opts->wire_b, sizeof(opts->wire_b), "%s", comma + 1);
	return 0;
}

/* Every option of topo's subcommands, in --help's order: up and script take the first six. */
static const struct cli_opt topo_opts[] = {
    {"name", 0, "N", 0, 0, CLI_OT_ARG, CLI_FIELD(struct topo_args, name),
     .help = "up, script: the instance name (1 to 10 of a-z, 0-9 and '-'); default: a\nfresh one"},
    {"port", 'p', "P", 0, 0, CLI_OT_FN, .parse = parse_port, .label = "--port",
     .help = "up, script: the server's port", .dflt = CLI_STR(NB_DEFAULT_PORT)},
    {"publish", 0, "P", 0, 0, CLI_OT_FN, .parse = parse_publish,
     .help = "up, script: nat: the host port published to the server's port, as\n`docker run -p` "
	     "(default: the server's port)"},
    {"wire", 0, "IF_A,IF_B", 0, 0, CLI_OT_FN, .parse = parse_wire,
     .help = "up, script: two ports of this host as the wire instead of a veth pair:\nIF_A the "
	     "server's side, IF_B the client's; recorded first, restored by down"},
    {"wire-rate", 0, "R", 0, 0, CLI_OT_RATE, CLI_FIELD(struct topo_args, opts.wire_rate_bps), .lo = 0,
     .hi = 100000000000LL, .what = "a rate in bits/s", .unit = " (k, M, G)",
     .help = "up, script: shape the wire to R bits/s each way (tbf)"},
    {"force", 0, NULL, 0, 0, CLI_OT_SET, CLI_FIELD(struct topo_args, opts.force), .lo = 1,
     .help = "up, script: --wire: take ports that fail the checks"},
    {"all", 0, NULL, 0, 0, CLI_OT_SET, CLI_FIELD(struct topo_args, all), .lo = 1,
     .help = "down: every instance nbench finds (state files, and what carries its\nnames), orphans "
	     "included"},
    {"json", 0, NULL, 0, 0, CLI_OT_SET, CLI_FIELD(struct topo_args, json), .lo = 1,
     .help = "describe: as JSON (what reports carry as start.path)"},
    {"log", 0, "FILE", 0, 0, CLI_OT_ARG, CLI_FIELD(struct topo_args, log),
     .help = "spawn: COMMAND's output goes to FILE (default: /dev/null)"},
};
#define N_BUILD_OPTS 6

static void topo_more(void)
{
	char kinds[256];
	printf("KIND: %s\n", nb_topo_kinds_join(kinds, sizeof(kinds), ", "));
}

#define TOPO_USAGE                                                                                           \
	"topo up KIND [--name N] [--port P] [--publish P] [--wire IF_A,IF_B [--force]] [--wire-rate R]\n"    \
	"topo down NAME... | --all\n"                                                                        \
	"topo show\n"                                                                                        \
	"topo script KIND [--name N] [--port P] [--publish P] [--wire IF_A,IF_B [--force]] [--wire-rate "    \
	"R]\n"                                                                                               \
	"topo describe NAME [--json]\n"                                                                      \
	"topo spawn NAME [--log FILE] -- COMMAND [ARG...]"
#define TOPO_ABOUT                                                                                           \
	"Build a path and leave it up (up), take instances down, list them (show), print the steps\n"        \
	"of up as an iproute2 and nft script (script), say what an instance is made of (describe),\n"        \
	"or start a command at an instance's server end (spawn)."

/* The subcommand cmd of topo, taking its options (the first n of topo_opts) and args when it has them. */
static struct cli_cmd topo_cmd(const char *name, unsigned n, bool args)
{
	return (struct cli_cmd){.name = name,
				.kind = -1,
				.own = topo_opts,
				.n_own = n,
				.usage = TOPO_USAGE,
				.about = TOPO_ABOUT,
				.more = topo_more,
				.args = args};
}

static void print_usage(FILE *f)
{
	struct cli_cmd cmd = topo_cmd("topo", sizeof(topo_opts) / sizeof(topo_opts[0]), true);
	if (f == stdout) {
		cli_help(&cmd);
		return;
	}
	fprintf(f, "usage: nbench %s\n(nbench topo --help for the options)\n",
		"topo up|down|show|script|describe|spawn ...");
}

/* KIND and up's and script's options into a. 0, or 2 after the error. */
static int parse_build_args(int argc, char **argv, const char **kind, struct topo_args *a)
{
	struct cli_cmd cmd = topo_cmd("topo", N_BUILD_OPTS, true);
	struct cli_test t;
	char err[256], kinds[256];
	int first, r;

	*kind = NULL;
	cli_test_init(&t);
	if ((r = cli_parse(&cmd, argc, argv, &t, a, &first)))
		return r == 1 ? EXIT_USAGE : r;
	if (first < argc)
		*kind = argv[first];
	if (first + 1 < argc)
		return fail_usage("unexpected argument '%s'", argv[first + 1]);
	nb_topo_kinds_join(kinds, sizeof(kinds), ", ");
	if (!*kind) {
		fprintf(stderr, "nbench topo: %s: missing path KIND (%s)\n", argv[0], kinds);
		return EXIT_USAGE;
	}
	if (!nb_topo_kind_valid(*kind)) {
		fprintf(stderr, "nbench topo: unknown path kind '%s' (%s)\n", *kind, kinds);
		return EXIT_USAGE;
	}
	if (a->opts.force && !*a->opts.wire_a)
		return fail_usage("%s goes with --wire: it takes ports that fail --wire's checks", "--force");
	if (a->name && nb_topo_name_check(a->name, err, sizeof(err)))
		return fail_usage("%s", err);
	return 0;
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

/* A namespace as printed: "-" for this one (where a Docker path's engine has its host). */
static const char *ns_shown(const char *ns)
{
	return *ns ? ns : "-";
}

static void print_endpoints(const struct nb_topo *t)
{
	printf("name %s\n", nb_topo_name(t));
	printf("kind %s\n", nb_topo_kind(t));
	printf("client %s\n", ns_shown(nb_topo_client_netns(t)));
	printf("dial %s:%u\n", nb_topo_dial_addr(t), nb_topo_dial_port(t));
	printf("server %s %s:%u\n", ns_shown(nb_topo_server_netns(t)), nb_topo_server_addr(t),
	       nb_topo_server_port(t));
}

static int cmd_up(int argc, char **argv)
{
	struct topo_args a = {0};
	struct sigaction sa = {.sa_handler = on_signal};
	const char *kind;
	struct nb_topo *t;
	char err[512] = "";
	int r;

	r = parse_build_args(argc, argv, &kind, &a);
	if (r)
		return r;
	/* The library holds these signals off while it builds and unwinds when one is pending; the handler
	 * only keeps the default action from killing us after the unwind, so we can say what happened. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	r = nb_topo_up_ex(kind, a.name, &a.opts, &t, err, sizeof(err));
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
		       in->complete ? "up" : "partial", ns_shown(in->client_netns), dial,
		       ns_shown(in->server_netns), listen);
		if (in->nprocs)
			printf(" (%u process%s)", in->nprocs, in->nprocs == 1 ? "" : "es");
		printf("\n");
	}
	free(list);
	return 0;
}

static int cmd_script(int argc, char **argv)
{
	struct topo_args a = {0};
	const char *kind;
	char err[512] = "", *text;
	int r;

	r = parse_build_args(argc, argv, &kind, &a);
	if (r)
		return r;
	r = nb_topo_script(kind, a.name, &a.opts, &text, err, sizeof(err));
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

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : "";
}

static double jnum(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* "on", "off" or "?" (the driver does not say) */
static const char *onoff(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsBool(v) ? (cJSON_IsTrue(v) ? "on" : "off") : "?";
}

/* One interface: name, kind, MTU, up, master, offloads, qdisc (and its rate). */
static void describe_iface(const cJSON *i)
{
	char b[32];
	printf("  %-15s %-9s mtu %-6.0f %-4s tso %-3s gso %-3s gro %-3s qdisc %s", jstr(i, "name"),
	       jstr(i, "kind"), jnum(i, "mtu"), cJSON_IsTrue(cJSON_GetObjectItem(i, "up")) ? "up" : "down",
	       onoff(i, "tso"), onoff(i, "gso"), onoff(i, "gro"), jstr(i, "qdisc"));
	if (jnum(i, "rate_bps") > 0)
		printf(" %s", nb_fmt_bps(jnum(i, "rate_bps"), b, sizeof(b)));
	if (*jstr(i, "master"))
		printf(", on %s", jstr(i, "master"));
	putchar('\n');
}

/* One namespace: forwarding, conntrack, its interfaces, its nft ruleset indented. */
static void describe_netns(const cJSON *ns, const cJSON *ifaces)
{
	const cJSON *ct = cJSON_GetObjectItem(ns, "conntrack"), *i;
	printf("netns %s: ip_forward %.0f, conntrack %s", ns_shown(jstr(ns, "name")), jnum(ns, "ip_forward"),
	       onoff(ct, "on"));
	if (cJSON_IsTrue(cJSON_GetObjectItem(ct, "nat")))
		printf(" with NAT");
	if (cJSON_IsTrue(cJSON_GetObjectItem(ct, "on")) && jnum(ct, "count") >= 0)
		printf(", %.0f entr%s", jnum(ct, "count"), jnum(ct, "count") == 1 ? "y" : "ies");
	printf("%s\n", cJSON_IsFalse(cJSON_GetObjectItem(ns, "exists")) ? " (missing)" : "");
	cJSON_ArrayForEach(i, ifaces) if (!strcmp(jstr(i, "netns"), jstr(ns, "name"))) describe_iface(i);
	const char *rules = jstr(ns, "nft_ruleset");
	for (const char *l = rules; *l;) {
		size_t n = strcspn(l, "\n");
		printf("    %.*s\n", (int)n, l);
		l += n + (l[n] == '\n');
	}
}

/* The text form of nb_topo_describe_json: what the instance is, namespace by namespace. */
static void describe_text(const cJSON *o)
{
	const cJSON *c = cJSON_GetObjectItem(o, "client"), *srv = cJSON_GetObjectItem(o, "server"), *ns;
	const cJSON *g = cJSON_GetObjectItem(o, "guest");
	printf("%s: %s\n", jstr(o, "name"), jstr(o, "kind"));
	printf("client: netns %s, dials %s:%.0f\n", ns_shown(jstr(c, "netns")), jstr(c, "dial_addr"),
	       jnum(c, "dial_port"));
	printf("server: netns %s%s, listens on %s:%.0f\n", ns_shown(jstr(srv, "netns")),
	       cJSON_IsTrue(cJSON_GetObjectItem(srv, "sandbox"))
		   ? " (own mount/pid/uts namespaces and cgroup)"
		   : "",
	       jstr(srv, "addr"), jnum(srv, "port"));
	if (cJSON_IsObject(g))
		printf("guest:  kernel %s, accel %s, %s backend, qemu pid %.0f, console %s\n",
		       jstr(g, "kernel_version"), jstr(g, "accel"), jstr(g, "backend"), jnum(g, "qemu_pid"),
		       jstr(g, "console"));
	cJSON_ArrayForEach(ns, cJSON_GetObjectItem(o, "netns"))
	    describe_netns(ns, cJSON_GetObjectItem(o, "interfaces"));
}

static int cmd_describe(int argc, char **argv)
{
	struct nb_topo *t;
	char *json;
	bool as_json = false;
	int r;

	/* describe NAME [--json], in either order */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--json")) {
			as_json = true;
			memmove(argv + i, argv + i + 1, (size_t)(argc - i - 1) * sizeof(*argv));
			argc--;
			break;
		}
	if (argc > 1 && argv[1][0] == '-')
		return fail_usage("unknown option '%s' (see nbench topo --help)", argv[1]);
	if ((r = open_named(argc, argv, 2, &t)))
		return r;
	json = nb_topo_describe_json(t);
	nb_topo_close(t);
	cJSON *o = json && !as_json ? cJSON_Parse(json) : NULL;
	if (!json || (!as_json && !o)) {
		fprintf(stderr, "nbench topo: describing %s failed\n", argv[1]);
		free(json);
		return 1;
	}
	if (as_json)
		printf("%s\n", json);
	else
		describe_text(o);
	cJSON_Delete(o);
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
