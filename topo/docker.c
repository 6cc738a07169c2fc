/* SPDX-License-Identifier: MIT */
/*
 * The Docker paths' steps: a network and containers of the engine, made through its API (docker_api.c),
 * each labelled with the instance's name so a sweep finds what a killed run left; the engine as reports
 * name it; and the free /24s an instance built in the engine's network namespace takes.
 *
 * A container's network namespace is bound as nb-<name>-ctr (the server's) or nb-<name>-cli (the
 * client's), as `ip netns add` names one: the generator enters the client's, reports describe both, and
 * the sweep of the instance's namespaces finds them like any other.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "docker_api.h"
#include "nbench/clock.h"
#include "nbench/engine.h"
#include "topo_int.h"

#define READY_TIMEOUT_NS (20 * NB_NS_PER_S) /* a container's responder listens well within this */

/* The image once per process: every container of a compare uses the same. */
static pthread_mutex_t image_mu = PTHREAD_MUTEX_INITIALIZER;
static bool image_ready;

static int image_ensure(char *err, size_t errlen)
{
	struct nb_docker_image img;
	int r = 0;

	pthread_mutex_lock(&image_mu);
	if (!image_ready && !(r = nb_docker_image_build(false, &img, err, errlen)))
		image_ready = true;
	pthread_mutex_unlock(&image_mu);
	return r;
}

static int api_open(const struct nb_step *s, struct nb_docker_api **ret, char *err, size_t errlen)
{
	char why[200] = "";
	int r = nb_docker_api_open(ret, why, sizeof(why));

	if (r)
		nb_err(err, errlen, "%s needs a Docker engine: %s", s->dk.name, why);
	/* no engine is this machine's lack, not the command's mistake (-ENOENT would read as a name not
	 * found) */
	return r == -ENOENT ? -ENXIO : r;
}

/* The last lines the container wrote (its log stream's frames: an 8-byte header each) into buf. */
static void ctr_logs(struct nb_docker_api *a, const char *name, char *buf, size_t len)
{
	char path[128], *body = NULL, e[64];
	long status;
	size_t n = 0;

	*buf = '\0';
	snprintf(path, sizeof(path), "/containers/%s/logs?stdout=1&stderr=1&tail=3", name);
	if (nb_docker_api_call(a, "GET", path, NULL, 0, NULL, 10, &status, &body, e, sizeof(e)) ||
	    status != 200) {
		free(body);
		return;
	}
	for (const unsigned char *c = (const unsigned char *)body; *c && n + 1 < len; c++) {
		if (*c >= 0x20 && *c < 0x7f)
			buf[n++] = (char)*c;
		else if (*c == '\n' && n && buf[n - 1] != ' ')
			buf[n++] = ' ';
	}
	buf[n] = '\0';
	free(body);
}

int nb_docker_ctr_inspect(struct nb_docker_api *a, const char *name, const char *network,
			  struct nb_docker_ctr *c, char *err, size_t errlen)
{
	char path[128], *body = NULL;
	int r;

	snprintf(path, sizeof(path), "/containers/%s/json", name);
	r = nb_docker_api_json(a, "GET", path, NULL, &body, err, errlen);
	if (!r && nb_docker_api_parse_inspect(body, network, c)) {
		nb_err(err, errlen, "the engine's description of %s is not what nbench reads", name);
		r = -EBADMSG;
	}
	free(body);
	return r;
}

/* Whether the responder of container c answers on port (in its network namespace ns, or at addr in
 * this one for host networking). */
static bool answers(const char *ns, const char *addr, uint16_t port)
{
	int orig = -1, fd;
	bool ok;

	if (*ns && nb_ns_enter(ns, &orig))
		return false;
	ok = !nb_sock_connect(*addr ? addr : "127.0.0.1", port, SOCK_STREAM, &fd);
	if (ok)
		close(fd);
	if (orig >= 0)
		nb_ns_leave(orig);
	return ok;
}

/* Until the container's responder answers, while it runs. */
static int ctr_wait(struct nb_docker_api *a, const struct nb_step *s, char *err, size_t errlen)
{
	int64_t end = nb_now_ns() + READY_TIMEOUT_NS;
	const char *addr = !strcmp(s->dk.network, "host") ? s->addr : "";
	struct nb_docker_ctr c;
	char logs[200];
	int r;

	for (;;) {
		if ((r = nb_docker_ctr_inspect(a, s->dk.name, NULL, &c, err, errlen)))
			return r;
		if (!c.running)
			break;
		if (answers(s->ns, addr, s->dk.port))
			return 0;
		if (nb_now_ns() > end) {
			nb_err(err, errlen, "%s: its responder did not answer on port %u within %lld s",
			       s->dk.name, s->dk.port, (long long)(READY_TIMEOUT_NS / NB_NS_PER_S));
			return -ETIMEDOUT;
		}
		nb_sleep_until(nb_now_ns() + 20 * NB_NS_PER_MS);
	}
	ctr_logs(a, s->dk.name, logs, sizeof(logs));
	nb_err(err, errlen, "%s exited (%s, status %d)%s%s", s->dk.name, c.status, c.exit_code,
	       *logs ? ": " : "", *c.error ? c.error : logs);
	return -ECHILD;
}

/* The container's command: the responder on its port (host networking: on the wire's address only); the
 * client's container runs one on its loopback, only to hold its network namespace. */
static void ctr_cmd(const struct nb_step *s, char *port, size_t plen, char **argv)
{
	size_t n = 0;

	snprintf(port, plen, "%u", s->dk.port);
	argv[n++] = NB_DOCKER_BIN;
	argv[n++] = "serve";
	argv[n++] = "--port";
	argv[n++] = port;
	argv[n++] = "--quiet";
	if (s->dk.client || !strcmp(s->dk.network, "host")) {
		argv[n++] = "--bind";
		argv[n++] = s->dk.client ? "127.0.0.1" : (char *)s->addr;
	}
	argv[n] = NULL;
}

/* The body of the container's POST /containers/create (malloc'd). */
static char *ctr_body(const struct nb_step *s)
{
	char port[8], *argv[10];
	struct nb_docker_ctr_spec spec = {.name = s->dk.name,
					  .instance = s->name,
					  .role = s->dk.client ? "client" : "server",
					  .image = NB_DOCKER_REPO ":" NB_VERSION,
					  .network = s->dk.network,
					  .cmd = argv};

	ctr_cmd(s, port, sizeof(port), argv);
	if (!strcmp(s->dk.network, "bridge")) {
		spec.port = s->dk.port;
		spec.host_ip = s->addr;
		spec.host_port = s->dk.publish_port;
	} else if (strcmp(s->dk.network, "host")) {
		spec.ip = s->addr;
	}
	return nb_docker_api_create_body(&spec);
}

static int ctr_create(struct nb_docker_api *a, const struct nb_step *s, char *err, size_t errlen)
{
	char *body = ctr_body(s), path[96];
	int r;

	if (!body)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/containers/create?name=%s", s->dk.name);
	r = nb_docker_api_json(a, "POST", path, body, NULL, err, errlen);
	free(body);
	if (r == -EEXIST)
		nb_err(err, errlen, "a container called %s exists already (instance name in use?)",
		       s->dk.name);
	return r;
}

static int ctr_apply(struct nb_docker_api *a, const struct nb_step *s, char *err, size_t errlen)
{
	struct nb_docker_ctr c;
	char path[96];
	int r;

	if ((r = image_ensure(err, errlen)) || (r = ctr_create(a, s, err, errlen)))
		return r;
	snprintf(path, sizeof(path), "/containers/%s/start", s->dk.name);
	if ((r = nb_docker_api_json(a, "POST", path, NULL, NULL, err, errlen)))
		return r;
	if ((r = nb_docker_ctr_inspect(a, s->dk.name, NULL, &c, err, errlen)))
		return r;
	if (*s->ns && c.pid && (r = nb_ns_bind(s->ns, c.pid))) {
		nb_err(err, errlen, "%s: cannot name its network namespace %s: %s", s->dk.name, s->ns,
		       strerror(-r));
		return r;
	}
	return ctr_wait(a, s, err, errlen);
}

static int net_apply(struct nb_docker_api *a, const struct nb_step *s, char *err, size_t errlen)
{
	char *body = nb_docker_api_network_body(s->dk.name, s->ifname, s->addr, s->via, s->name);
	int r;

	if (!body)
		return -ENOMEM;
	r = nb_docker_api_json(a, "POST", "/networks/create", body, NULL, err, errlen);
	free(body);
	if (r == -EEXIST)
		nb_err(err, errlen, "a network called %s exists already (instance name in use?)", s->dk.name);
	return r;
}

static int remove_object(struct nb_docker_api *a, bool container, const char *name)
{
	char path[128];
	int r;

	snprintf(path, sizeof(path), container ? "/containers/%s?force=1&v=1" : "/networks/%s", name);
	r = nb_docker_api_json(a, "DELETE", path, NULL, NULL, NULL, 0);
	return r == -ENOENT ? 0 : r;
}

int nb_docker_step(struct nb_step *s, bool apply, char *err, size_t errlen)
{
	struct nb_docker_api *a = NULL;
	int r;

	if (!apply && s->kind == NB_STEP_DOCKER_CTR && *s->ns)
		nb_ns_delete(s->ns);
	r = apply ? api_open(s, &a, err, errlen) : nb_docker_api_open(&a, NULL, 0);
	if (r)
		return apply || r != -ENOENT ? r : 0; /* no engine at all: nothing of it is left */
	if (apply)
		r = s->kind == NB_STEP_DOCKER_CTR ? ctr_apply(a, s, err, errlen)
						  : net_apply(a, s, err, errlen);
	else
		r = remove_object(a, s->kind == NB_STEP_DOCKER_CTR, s->dk.name);
	nb_docker_api_close(a);
	return r;
}

/* ---- what a killed run left: everything labelled with an instance's name ---- */

struct sweep {
	struct nb_docker_api *a;
	bool containers;
	int first;
	void (*fn)(void *arg, const char *instance);
	void *arg;
};

static void sweep_one(void *arg, const char *name, const char *instance)
{
	struct sweep *w = arg;
	int r;

	(void)instance;
	r = remove_object(w->a, w->containers, name);
	if (r && !w->first)
		w->first = r;
}

static void found_one(void *arg, const char *name, const char *instance)
{
	struct sweep *w = arg;

	(void)name;
	if (!nb_topo_name_check(instance, NULL, 0))
		w->fn(w->arg, instance);
}

/* Each object labelled for instance (NULL: any) through fn; containers before networks. */
static int labelled(struct sweep *w, const char *instance, void (*fn)(void *, const char *, const char *))
{
	char q[256], path[320], *body;
	int r;

	nb_docker_api_label_query(instance, q, sizeof(q));
	for (int i = 0; i < 2; i++) {
		w->containers = i == 0;
		snprintf(path, sizeof(path), "%s?%s%s", w->containers ? "/containers/json" : "/networks", q,
			 w->containers ? "&all=1" : "");
		body = NULL;
		if ((r = nb_docker_api_json(w->a, "GET", path, NULL, &body, NULL, 0)))
			return r;
		nb_docker_api_parse_list(body, fn, w);
		free(body);
	}
	return w->first;
}

int nb_docker_sweep(const char *name)
{
	struct sweep w = {0};
	int r = nb_docker_api_open(&w.a, NULL, 0);

	if (r)
		return r == -ENOENT ? 0 : r;
	r = labelled(&w, name, sweep_one);
	nb_docker_api_close(w.a);
	return r == -ECONNREFUSED ? 0 : r; /* a socket nobody serves: no engine runs, nothing to remove */
}

int nb_docker_instances(void (*fn)(void *arg, const char *instance), void *arg)
{
	struct sweep w = {.fn = fn, .arg = arg};
	int r = nb_docker_api_open(&w.a, NULL, 0);

	if (r)
		return r == -ENOENT ? 0 : r;
	r = labelled(&w, NULL, found_one);
	nb_docker_api_close(w.a);
	return r == -ECONNREFUSED ? 0 : r;
}

struct taken {
	const char *name;
	bool hit;
};

static void taken_one(void *arg, const char *instance)
{
	struct taken *t = arg;

	t->hit |= !strcmp(instance, t->name);
}

bool nb_docker_taken(const char *name)
{
	struct taken t = {.name = name};

	nb_docker_instances(taken_one, &t);
	return t.hit;
}

/* The curl command of one API call on the engine's socket. */
#define CURL_API "curl -sf --unix-socket \"${DOCKER_SOCK:-" NB_DOCKER_SOCK "}\" "

char *nb_docker_script(const struct nb_step *s)
{
	char *body = s->kind == NB_STEP_DOCKER_CTR
			 ? ctr_body(s)
			 : nb_docker_api_network_body(s->dk.name, s->ifname, s->addr, s->via, s->name);
	char *text = NULL;
	int n;

	if (!body)
		return NULL;
	if (s->kind == NB_STEP_DOCKER_NET)
		n = asprintf(
		    &text,
		    "# the Docker engine's API on its socket (nbench speaks it through libcurl)\n" CURL_API
		    "-H 'Content-Type: application/json' -d '%s' http://docker" NB_DOCKER_API_PREFIX
		    "/networks/create\n",
		    body);
	else
		n = asprintf(
		    &text,
		    "# the image " NB_DOCKER_REPO ":" NB_VERSION " first: nbench image build\n" CURL_API
		    "-H 'Content-Type: application/json' -d '%s' 'http://docker" NB_DOCKER_API_PREFIX
		    "/containers/create?name=%s'\n" CURL_API "-X POST http://docker" NB_DOCKER_API_PREFIX
		    "/containers/%s/start\n%s%s%s%s%s",
		    body, s->dk.name, s->dk.name, *s->ns ? "ip netns attach " : "", s->ns,
		    *s->ns ? " \"$(" CURL_API "http://docker" NB_DOCKER_API_PREFIX "/containers/" : "",
		    *s->ns ? s->dk.name : "",
		    *s->ns ? "/json | python3 -c 'import json,sys; "
			     "print(json.load(sys.stdin)[\"State\"][\"Pid\"])')\"\n"
			   : "");
	free(body);
	return n < 0 ? NULL : text;
}

bool nb_docker_serves(const struct nb_plan *p)
{
	for (size_t i = 0; i < p->nsteps; i++)
		if (p->steps[i].kind == NB_STEP_DOCKER_CTR && !p->steps[i].dk.client)
			return true;
	return false;
}

int nb_docker_veth_peer(const char *ns, char *buf, size_t len)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct rtnl_link *l = NULL;
	char name[IF_NAMESIZE];
	int orig, r, peer = 0;

	if (!sk)
		return -ENOMEM;
	if ((r = nb_ns_enter(ns, &orig))) {
		nl_socket_free(sk);
		return r;
	}
	/* a netlink socket stays in the namespace it was made in */
	r = nb_nl_err(nl_connect(sk, NETLINK_ROUTE));
	nb_ns_leave(orig);
	if (!r)
		r = nb_nl_err(rtnl_link_get_kernel(sk, 0, "eth0", &l));
	if (!r) {
		peer =
		    rtnl_link_get_link(l); /* a veth's IFLA_LINK: its peer's index, in the peer's namespace */
		rtnl_link_put(l);
	}
	nl_socket_free(sk);
	if (!r && (peer <= 0 || !if_indextoname((unsigned)peer, name)))
		r = -ENOENT;
	if (!r)
		snprintf(buf, len, "%s", name);
	return r;
}
