/* SPDX-License-Identifier: MIT */
/*
 * The ground of topo/vm/: a command line being built (qemu's machine and boot for the guest and the KVM
 * probe, testpmd's for the vhost-user backend), printed as shell words for `topo script` or started as a
 * logged, recorded process of the instance; a program found on PATH; where the VM steps keep their files
 * (NB_VM_RUN_DIR/<name>); and the line of a log that says what went wrong. It calls only proc.c below.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nbench/fsutil.h"
#include "vm_int.h"

void nb_vm_arg(struct nb_vm_cmd *q, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (q->argc + 1 >= sizeof(q->argv) / sizeof(q->argv[0]))
		return;
	va_start(ap, fmt);
	n = vsnprintf(q->store + q->used, sizeof(q->store) - q->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(q->store) - q->used)
		return;
	q->argv[q->argc++] = q->store + q->used;
	q->argv[q->argc] = NULL;
	q->used += (size_t)n + 1;
}

void nb_vm_machine(struct nb_vm_cmd *q, const char *name, const char *accel)
{
	nb_vm_arg(q, "qemu-system-x86_64");
	nb_vm_arg(q, "-name");
	nb_vm_arg(q, "%s", name);
	nb_vm_arg(q, "-nodefaults");
	nb_vm_arg(q, "-no-user-config");
	nb_vm_arg(q, "-display");
	nb_vm_arg(q, "none");
	nb_vm_arg(q, "-accel");
	nb_vm_arg(q, "%s", accel);
	nb_vm_arg(q, "-cpu");
	/* TCG: "max" has the SSE4.2 and up that Debian's DPDK libraries (in the guest's nbench) assume */
	nb_vm_arg(q, "%s", !strcmp(accel, "kvm") ? "host" : "max");
	nb_vm_arg(q, "-m");
	nb_vm_arg(q, NB_VM_MEM_MIB);
}

void nb_vm_boot(struct nb_vm_cmd *q, const char *kernel, const char *initrd, const char *append,
		const char *console)
{
	nb_vm_arg(q, "-smp");
	nb_vm_arg(q, "1");
	nb_vm_arg(q, "-kernel");
	nb_vm_arg(q, "%s", kernel);
	nb_vm_arg(q, "-initrd");
	nb_vm_arg(q, "%s", initrd);
	nb_vm_arg(q, "-append");
	nb_vm_arg(q, "console=ttyS0 panic=-1 %s", append);
	nb_vm_arg(q, "-serial");
	nb_vm_arg(q, "file:%s", console);
}

pid_t nb_vm_spawn_logged(const char *netns, const struct nb_vm_cmd *q, const char *log,
			 const struct nb_launch *l)
{
	char *argv[sizeof(q->argv) / sizeof(q->argv[0]) + 4], shell[256];
	/* the shell execs setsid, which execs the program: the record names the program too */
	struct nb_spawn_req req = {.netns = netns, .argv = argv, .exe = q->argv[0]};

	snprintf(shell, sizeof(shell), "exec setsid \"$0\" \"$@\" </dev/null >'%s' 2>&1", log);
	argv[0] = "/bin/sh";
	argv[1] = "-c";
	argv[2] = shell;
	for (size_t i = 0; i <= q->argc; i++)
		argv[3 + i] = q->argv[i];
	return nb_spawn(&req, l);
}

void nb_vm_print_argv(FILE *f, char *const *argv, size_t argc)
{
	for (size_t i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] == '"' || !strpbrk(a, " ,;$'\"&|<>()*?[]"))
			fprintf(f, "%s%s", i ? " " : "", a);
		else
			fprintf(f, "%s'%s'", i ? " " : "", a);
	}
}

void nb_vm_which(const char *prog, char *buf, size_t len)
{
	const char *path = getenv("PATH");

	*buf = '\0';
	if (strchr(prog, '/')) {
		if (!access(prog, X_OK))
			snprintf(buf, len, "%s", prog);
		return;
	}
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, ":");

		snprintf(buf, len, "%.*s/%s", (int)n, p, prog);
		if (!access(buf, X_OK))
			return;
		p += n;
		if (*p == ':')
			p++;
	}
	*buf = '\0';
}

void nb_vm_complaint(const char *file, char *buf, size_t len)
{
	static const char *const bad[] = {"rror",   "ERR",     "fail",	"Fail", "annot",
					  "nvalid", "No such", "abort", "Abort"};
	char *text, *line = NULL, *last = NULL;

	*buf = '\0';
	text = nb_slurp(file, 1 << 16);
	if (!text)
		return;
	for (char *s = strtok(text, "\n"); s; s = strtok(NULL, "\n")) {
		if (!*s)
			continue;
		last = s;
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			if (strstr(s, bad[i]))
				line = s;
	}
	if (line || last)
		snprintf(buf, len, "%s", line ? line : last);
	free(text);
}

void nb_vm_run_dir(char *dir, size_t len, const char *name)
{
	snprintf(dir, len, NB_VM_RUN_DIR "/%s", name);
}

int nb_vm_run_dir_make(const char *name, char *dir, size_t len, char *err, size_t errlen)
{
	int r;

	nb_vm_run_dir(dir, len, name);
	/* made 0700 and checked: root reads pid files and writes logs here */
	r = nb_dir_open_checked(dir, true, err, errlen);
	if (r < 0)
		return r;
	close(r);
	return 0;
}
