/* SPDX-License-Identifier: MIT */
/*
 * The topo.h contract as bench/target.c uses it, from a process with a second thread running: build, leave
 * the calling thread where it was, open by name, spawn a server, reach it from a thread that entered the
 * client netns (TCP and UDP), describe, and tear down with the servers killed and reaped, including one
 * that ignores SIGTERM in the `host` sandbox.
 *
 * usage: topo_api_test PYTHON TRAFFIC_PY
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nbench/topo.h"

#define SKIP 77

static int failures;

#define CHECK(cond, ...)                                                                                     \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                      \
			fprintf(stderr, __VA_ARGS__);                                                        \
			fprintf(stderr, "\n");                                                               \
			failures++;                                                                          \
		}                                                                                            \
	} while (0)

static ino_t netns_ino(void)
{
	struct stat st;

	return stat("/proc/thread-self/ns/net", &st) ? 0 : st.st_ino;
}

static void *idle_thread(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

struct client_result {
	const struct nb_topo *t;
	char tcp[64], udp[64];
	int err;
};

/* Runs in its own thread: entering the client netns must not move anyone else. */
static void *client_thread(void *arg)
{
	struct client_result *res = arg;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(nb_topo_dial_port(res->t))};
	struct timeval tv = {.tv_sec = 0, .tv_usec = 300 * 1000};
	int fd, r;
	ssize_t n;

	inet_pton(AF_INET, nb_topo_dial_addr(res->t), &sa.sin_addr);
	r = nb_topo_enter_client(res->t);
	if (r) {
		res->err = r;
		return NULL;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	for (int i = 0; i < 50; i++) { /* the server may still be starting */
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		close(fd);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		usleep(100 * 1000);
	}
	if (write(fd, "hi", 2) == 2 && (n = read(fd, res->tcp, sizeof(res->tcp) - 1)) > 0)
		res->tcp[n] = '\0';
	close(fd);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (int i = 0; i < 10 && !res->udp[0]; i++) {
		sendto(fd, "hi", 2, 0, (struct sockaddr *)&sa, sizeof(sa));
		n = recv(fd, res->udp, sizeof(res->udp) - 1, 0);
		if (n > 0)
			res->udp[n] = '\0';
	}
	close(fd);
	return NULL;
}

static bool ns_exists(const char *ns)
{
	char path[128];

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	return access(path, F_OK) == 0;
}

int main(int argc, char **argv)
{
	char err[512], server_ns[64];
	struct nb_topo *t, *t2;
	struct client_result res = {0};
	pthread_t idle, client;
	ino_t before;
	pid_t pid;
	char *json;
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: %s PYTHON TRAFFIC_PY\n", argv[0]);
		return 2;
	}
	if (geteuid() != 0) {
		printf("SKIP: needs root\n");
		return SKIP;
	}
	pthread_create(&idle, NULL, idle_thread, NULL);
	before = netns_ino();

	r = nb_topo_up("nat", NULL, &t, err, sizeof(err));
	if (r == -EOPNOTSUPP) {
		printf("SKIP: %s\n", err);
		return SKIP;
	}
	CHECK(r == 0, "nb_topo_up: %s", err);
	if (r)
		return 1;
	CHECK(netns_ino() == before, "calling thread left in another netns");
	CHECK(!strcmp(nb_topo_kind(t), "nat"), "%s", nb_topo_kind(t));
	CHECK(!strcmp(nb_topo_dial_addr(t), "10.77.0.2"), "%s", nb_topo_dial_addr(t));
	CHECK(nb_topo_dial_port(t) == 12865 && nb_topo_server_port(t) == 12865, "ports");
	CHECK(!strcmp(nb_topo_server_addr(t), "172.31.77.2"), "%s", nb_topo_server_addr(t));
	snprintf(server_ns, sizeof(server_ns), "%s", nb_topo_server_netns(t));

	r = nb_topo_open(nb_topo_name(t), &t2, err, sizeof(err));
	CHECK(r == 0, "nb_topo_open: %s", err);
	if (!r) {
		CHECK(!strcmp(nb_topo_dial_addr(t2), nb_topo_dial_addr(t)), "open: other endpoints");
		nb_topo_down(t2, false); /* opened, not destroyed: the instance stays */
		CHECK(ns_exists(server_ns), "nb_topo_down(opened, false) removed the instance");
	}
	r = nb_topo_up("nat", nb_topo_name(t), &t2, err, sizeof(err));
	CHECK(r == -EEXIST, "same name twice: %d %s", r, err);

	char *srv[] = {argv[1], argv[2], "serve", "12865", NULL};
	pid = nb_topo_spawn_server(t, srv);
	CHECK(pid > 0, "spawn: %s", strerror(-pid));
	res.t = t;
	pthread_create(&client, NULL, client_thread, &res);
	pthread_join(client, NULL);
	CHECK(res.err == 0, "enter_client: %s", strerror(-res.err));
	CHECK(!strcmp(res.tcp, "tcp 172.31.77.1"), "tcp: server saw '%s'", res.tcp);
	CHECK(!strcmp(res.udp, "udp 172.31.77.1"), "udp: server saw '%s'", res.udp);
	CHECK(netns_ino() == before, "main thread moved by the client thread");

	json = nb_topo_describe_json(t);
	CHECK(json != NULL, "describe");
	if (json) {
		cJSON *d = cJSON_Parse(json);
		cJSON *ifs = cJSON_GetObjectItem(d, "interfaces");

		CHECK(cJSON_GetArraySize(ifs) == 8, "describe: %d interfaces", cJSON_GetArraySize(ifs));
		cJSON_Delete(d);
		free(json);
	}
	r = nb_topo_down(t, false); /* built: torn down */
	CHECK(r == 0, "down: %s", strerror(-r));
	CHECK(!ns_exists(server_ns), "netns %s survived down", server_ns);
	CHECK(waitpid(pid, NULL, WNOHANG) < 0 && errno == ECHILD, "server %d not reaped", (int)pid);

	/* host: a server that ignores SIGTERM is killed after the grace period */
	r = nb_topo_up("host", NULL, &t, err, sizeof(err));
	CHECK(r == 0, "host: %s", err);
	if (!r) {
		char *stubborn[] = {"/bin/sh", "-c", "trap '' TERM; while :; do sleep 1; done", NULL};
		struct timespec t0, t1;

		snprintf(server_ns, sizeof(server_ns), "%s", nb_topo_server_netns(t));
		pid = nb_topo_spawn_server(t, stubborn);
		CHECK(pid > 0, "spawn: %s", strerror(-pid));
		usleep(200 * 1000);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = nb_topo_down(t, true);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		CHECK(r == 0, "host down: %s", strerror(-r));
		CHECK(waitpid(pid, NULL, WNOHANG) < 0 && errno == ECHILD, "host server %d not reaped",
		      (int)pid);
		CHECK(!ns_exists(server_ns), "host netns survived");
		printf("# host: stubborn server gone after %.1f s\n",
		       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
	CHECK(netns_ino() == before, "calling thread moved");
	printf("%s\n", failures ? "FAIL" : "ok");
	return failures ? 1 : 0;
}
