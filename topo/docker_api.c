/* SPDX-License-Identifier: MIT */
/*
 * The Docker Engine API over its unix socket: requests as text, responses as structs (pure, unit-tested
 * in tests/core/test_docker_api.c), and the calls themselves through libcurl.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "docker_api.h"
#include "topo_int.h"

/* ---- pure ---- */

int nb_docker_api_socket(const char *docker_host, char *buf, size_t len, char *err, size_t errlen)
{
	if (!docker_host || !*docker_host) {
		snprintf(buf, len, "%s", NB_DOCKER_SOCK);
		return 0;
	}
	if (strncmp(docker_host, "unix://", 7) || !docker_host[7] || strlen(docker_host + 7) >= len) {
		nb_err(err, errlen,
		       "DOCKER_HOST=%s: nbench speaks to the engine over its unix socket only (unix://PATH)",
		       docker_host);
		return -EPROTONOSUPPORT;
	}
	snprintf(buf, len, "%s", docker_host + 7);
	return 0;
}

size_t nb_docker_api_escape(const char *s, char *buf, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		bool plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			     (*c >= '0' && *c <= '9') || strchr("-._~", *c);
		char enc[4] = {(char)*c, 0};

		if (!plain)
			snprintf(enc, sizeof(enc), "%%%c%c", hex[*c >> 4], hex[*c & 15]);
		for (const char *e = enc; *e; e++, n++)
			if (n + 1 < len)
				buf[n] = *e;
	}
	if (len)
		buf[n < len ? n : len - 1] = '\0';
	return n;
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void jcopy(char *buf, size_t len, const cJSON *o, const char *key)
{
	const char *s = jstr(o, key);

	snprintf(buf, len, "%s", s ? s : "");
}

/* A number the engine sent, 0 when absent or out of int64_t's range. */
static int64_t jint(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) && v->valuedouble >= -9.2e18 && v->valuedouble <= 9.2e18
		   ? (int64_t)v->valuedouble
		   : 0;
}

void nb_docker_api_error(long status, const char *body, char *buf, size_t len)
{
	cJSON *o = body ? cJSON_Parse(body) : NULL;
	const char *m = jstr(o, "message");

	if (m)
		snprintf(buf, len, "%.*s", (int)strcspn(m, "\n"), m);
	else if (status == 404)
		snprintf(buf, len, "not found (HTTP 404)");
	else
		snprintf(buf, len, "the engine answered HTTP %ld", status);
	cJSON_Delete(o);
}

static cJSON *labels(const char *instance, const char *role)
{
	cJSON *l = cJSON_CreateObject();

	cJSON_AddStringToObject(l, NB_DOCKER_LABEL, instance);
	if (role)
		cJSON_AddStringToObject(l, "nbench.role", role);
	cJSON_AddStringToObject(l, "nbench.version", NB_VERSION);
	return l;
}

/* "P/tcp" and "P/udp" as keys of ExposedPorts and PortBindings. */
static void publish(cJSON *create, cJSON *host, const struct nb_docker_ctr_spec *s)
{
	static const char *const protos[] = {"tcp", "udp"};
	cJSON *exposed = cJSON_AddObjectToObject(create, "ExposedPorts");
	cJSON *bind = s->host_port ? cJSON_AddObjectToObject(host, "PortBindings") : NULL;
	char key[16], hport[8];

	snprintf(hport, sizeof(hport), "%u", s->host_port);
	for (size_t i = 0; i < 2; i++) {
		snprintf(key, sizeof(key), "%u/%s", s->port, protos[i]);
		cJSON_AddObjectToObject(exposed, key);
		if (!bind)
			continue;
		cJSON *a = cJSON_AddArrayToObject(bind, key), *b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "HostIp", s->host_ip ? s->host_ip : "");
		cJSON_AddStringToObject(b, "HostPort", hport);
		cJSON_AddItemToArray(a, b);
	}
}

char *nb_docker_api_create_body(const struct nb_docker_ctr_spec *s)
{
	cJSON *o = cJSON_CreateObject(), *cmd, *host;
	char *text;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "Image", s->image);
	cmd = cJSON_AddArrayToObject(o, "Cmd");
	for (char *const *a = s->cmd; a && *a; a++)
		cJSON_AddItemToArray(cmd, cJSON_CreateString(*a));
	cJSON_AddItemToObject(o, "Labels", labels(s->instance, s->role));
	cJSON_AddStringToObject(o, "Hostname", s->name);
	host = cJSON_AddObjectToObject(o, "HostConfig");
	cJSON_AddStringToObject(host, "NetworkMode", s->network);
	if (s->port)
		publish(o, host, s);
	if (s->key_file) {
		char bind[512];

		snprintf(bind, sizeof(bind), "%s:" NB_DOCKER_KEY_PATH ":ro", s->key_file);
		cJSON_AddItemToArray(cJSON_AddArrayToObject(host, "Binds"), cJSON_CreateString(bind));
	}
	if (s->ip && *s->ip) { /* a fixed address: the client dials it, and a re-plan knows it */
		cJSON *ep = cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "NetworkingConfig"),
						    "EndpointsConfig");
		cJSON *ipam = cJSON_AddObjectToObject(cJSON_AddObjectToObject(ep, s->network), "IPAMConfig");
		cJSON_AddStringToObject(ipam, "IPv4Address", s->ip);
	}
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

char *nb_docker_api_network_body(const char *name, const char *bridge, const char *subnet,
				 const char *gateway, const char *instance)
{
	cJSON *o = cJSON_CreateObject(), *ipam, *cfg, *opts;
	char *text;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "Name", name);
	cJSON_AddBoolToObject(o, "CheckDuplicate", true);
	cJSON_AddStringToObject(o, "Driver", "bridge");
	cJSON_AddItemToObject(o, "Labels", labels(instance, "network"));
	opts = cJSON_AddObjectToObject(o, "Options");
	cJSON_AddStringToObject(opts, "com.docker.network.bridge.name", bridge);
	ipam = cJSON_AddObjectToObject(o, "IPAM");
	cJSON_AddStringToObject(ipam, "Driver", "default");
	cfg = cJSON_CreateObject();
	cJSON_AddStringToObject(cfg, "Subnet", subnet);
	cJSON_AddStringToObject(cfg, "Gateway", gateway);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(ipam, "Config"), cfg);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

void nb_docker_api_label_query(const char *instance, char *buf, size_t len)
{
	char filter[160];
	size_t n;

	if (instance)
		snprintf(filter, sizeof(filter), "{\"label\":[\"" NB_DOCKER_LABEL "=%s\"]}", instance);
	else
		snprintf(filter, sizeof(filter), "{\"label\":[\"" NB_DOCKER_LABEL "\"]}");
	n = (size_t)snprintf(buf, len, "filters=");
	if (n < len)
		nb_docker_api_escape(filter, buf + n, len - n);
}

int nb_docker_api_parse_version(const char *body, struct nb_docker_engine *e)
{
	cJSON *o = cJSON_Parse(body);

	if (!cJSON_IsObject(o) || !jstr(o, "Version")) {
		cJSON_Delete(o);
		return -EBADMSG;
	}
	jcopy(e->version, sizeof(e->version), o, "Version");
	jcopy(e->api_version, sizeof(e->api_version), o, "ApiVersion");
	cJSON_Delete(o);
	return 0;
}

int nb_docker_api_parse_info(const char *body, struct nb_docker_engine *e)
{
	cJSON *o = cJSON_Parse(body);

	if (!cJSON_IsObject(o) || !jstr(o, "ServerVersion")) {
		cJSON_Delete(o);
		return -EBADMSG;
	}
	if (!*e->version)
		jcopy(e->version, sizeof(e->version), o, "ServerVersion");
	jcopy(e->storage_driver, sizeof(e->storage_driver), o, "Driver");
	jcopy(e->cgroup_driver, sizeof(e->cgroup_driver), o, "CgroupDriver");
	jcopy(e->cgroup_version, sizeof(e->cgroup_version), o, "CgroupVersion");
	jcopy(e->runtime, sizeof(e->runtime), o, "DefaultRuntime");
	jcopy(e->kernel, sizeof(e->kernel), o, "KernelVersion");
	jcopy(e->os, sizeof(e->os), o, "OperatingSystem");
	e->ipv4_forwarding = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "IPv4Forwarding"));
	e->bridge_nf_iptables = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "BridgeNfIptables"));
	e->cpuset = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "CPUSet"));
	e->memory_limit = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "MemoryLimit"));
	cJSON_Delete(o);
	return 0;
}

/* The container's address on network (its only network when network is "" or the mode is not a name). */
static void inspect_net(const cJSON *o, const char *network, struct nb_docker_ctr *c)
{
	const cJSON *nets = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(o, "NetworkSettings"), "Networks");
	const cJSON *n = network && *network ? cJSON_GetObjectItemCaseSensitive(nets, network) : NULL;

	if (!n && cJSON_GetArraySize(nets) == 1)
		n = cJSON_GetArrayItem(nets, 0);
	jcopy(c->ip, sizeof(c->ip), n, "IPAddress");
	jcopy(c->gateway, sizeof(c->gateway), n, "Gateway");
}

int nb_docker_api_parse_inspect(const char *body, const char *network, struct nb_docker_ctr *c)
{
	cJSON *o = cJSON_Parse(body);
	const cJSON *st, *hc, *cfg;
	int64_t pid;

	memset(c, 0, sizeof(*c));
	if (!cJSON_IsObject(o) || !jstr(o, "Id")) {
		cJSON_Delete(o);
		return -EBADMSG;
	}
	jcopy(c->id, sizeof(c->id), o, "Id");
	jcopy(c->name, sizeof(c->name), o, "Name");
	if (c->name[0] == '/') /* the engine's names start with the root of its namespace */
		memmove(c->name, c->name + 1, strlen(c->name));
	cfg = cJSON_GetObjectItemCaseSensitive(o, "Config");
	jcopy(c->image, sizeof(c->image), cfg, "Image");
	st = cJSON_GetObjectItemCaseSensitive(o, "State");
	c->running = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "Running"));
	pid = jint(st, "Pid");
	c->pid = c->running && pid > 0 && pid <= 4194304 ? (pid_t)pid : 0;
	jcopy(c->status, sizeof(c->status), st, "Status");
	c->exit_code = (int)jint(st, "ExitCode");
	jcopy(c->error, sizeof(c->error), st, "Error");
	hc = cJSON_GetObjectItemCaseSensitive(o, "HostConfig");
	jcopy(c->network, sizeof(c->network), hc, "NetworkMode");
	jcopy(c->cpuset_cpus, sizeof(c->cpuset_cpus), hc, "CpusetCpus");
	c->nano_cpus = jint(hc, "NanoCpus");
	c->cpu_quota_us = jint(hc, "CpuQuota");
	c->cpu_period_us = jint(hc, "CpuPeriod");
	c->cpu_shares = jint(hc, "CpuShares");
	c->memory_bytes = jint(hc, "Memory");
	c->pids_limit = jint(hc, "PidsLimit");
	inspect_net(o, network ? network : c->network, c);
	cJSON_Delete(o);
	return 0;
}

int nb_docker_api_parse_stream(const char *body, char *err, size_t errlen)
{
	const char *line = body;

	while (line && *line) {
		size_t n = strcspn(line, "\n");
		cJSON *o = cJSON_ParseWithLength(line, n);
		const char *e = jstr(o, "error");

		if (e) {
			nb_err(err, errlen, "%.*s", (int)strcspn(e, "\n"), e);
			cJSON_Delete(o);
			return -EIO;
		}
		cJSON_Delete(o);
		line += n + (line[n] == '\n');
	}
	return 0;
}

int nb_docker_api_parse_image(const char *body, char *buf, size_t len)
{
	cJSON *o = cJSON_Parse(body);
	const cJSON *l;

	*buf = '\0';
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return -EBADMSG;
	}
	l = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "Config"), "Labels");
	jcopy(buf, len, l, "nbench.content");
	cJSON_Delete(o);
	return 0;
}

int nb_docker_api_parse_list(const char *body, void (*fn)(void *arg, const char *name, const char *instance),
			     void *arg)
{
	cJSON *o = cJSON_Parse(body), *e;
	int n = 0;

	if (!cJSON_IsArray(o)) {
		cJSON_Delete(o);
		return -EBADMSG;
	}
	cJSON_ArrayForEach(e, o)
	{
		const char *inst = jstr(cJSON_GetObjectItemCaseSensitive(e, "Labels"), NB_DOCKER_LABEL);
		const char *name = jstr(e, "Name");
		const cJSON *names = cJSON_GetObjectItemCaseSensitive(e, "Names");

		if (!name && cJSON_IsString(cJSON_GetArrayItem(names, 0)))
			name = cJSON_GetArrayItem(names, 0)->valuestring;
		if (!name || !inst)
			continue;
		fn(arg, name[0] == '/' ? name + 1 : name, inst);
		n++;
	}
	cJSON_Delete(o);
	return n;
}

/* ---- calls ---- */

struct nb_docker_api {
	char sock[108];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_NOTHING);
}

int nb_docker_api_open(struct nb_docker_api **ret, char *err, size_t errlen)
{
	struct nb_docker_api *a;
	struct stat st;
	int r;

	*ret = NULL;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		nb_err(err, errlen, "libcurl: %s", curl_easy_strerror(curl_init_rc));
		return -ENOMEM;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	r = nb_docker_api_socket(getenv("DOCKER_HOST"), a->sock, sizeof(a->sock), err, errlen);
	if (!r && (stat(a->sock, &st) || !S_ISSOCK(st.st_mode))) {
		r = -ENOENT;
		nb_err(err, errlen,
		       "no Docker engine here: %s is not a socket (is dockerd running? DOCKER_HOST?)",
		       a->sock);
	}
	if (r) {
		free(a);
		return r;
	}
	*ret = a;
	return 0;
}

void nb_docker_api_close(struct nb_docker_api *a)
{
	free(a);
}

struct buf {
	char *p;
	size_t n, cap;
	bool full;
};

#define NB_DOCKER_MAX_RESPONSE (64u << 20) /* an image import's progress lines stay far below */

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb;

	if (b->n + n + 1 > NB_DOCKER_MAX_RESPONSE) {
		b->full = true;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	if (b->n + n + 1 > b->cap) {
		size_t cap = (b->n + n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (!p)
			return 0;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, data, n);
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

static struct curl_slist *request_headers(const char *content_type)
{
	char ct[96];
	struct curl_slist *h = curl_slist_append(NULL, "Expect:"); /* no 100-continue round trip */

	if (content_type && h) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
		h = curl_slist_append(h, ct);
	}
	return h;
}

int nb_docker_api_call(struct nb_docker_api *a, const char *method, const char *path, const void *body,
		       size_t body_len, const char *content_type, long timeout_s, long *ret_status,
		       char **ret_body, char *err, size_t errlen)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = request_headers(body ? content_type : NULL);
	struct buf b = {0};
	char url[1024];
	CURLcode rc;

	*ret_body = NULL;
	*ret_status = 0;
	if (!c || !h) {
		curl_easy_cleanup(c);
		curl_slist_free_all(h);
		return -ENOMEM;
	}
	/* the host name is not looked up: the socket is the engine */
	snprintf(url, sizeof(url), "http://docker" NB_DOCKER_API_PREFIX "%s", path);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, a->sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for timeouts */
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	} else if (!strcmp(method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, ret_status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		nb_err(err, errlen, "the Docker engine at %s: %s %s: %s", a->sock, method, path,
		       b.full ? "answer too long" : curl_easy_strerror(rc));
		free(b.p);
		if (rc == CURLE_COULDNT_CONNECT)
			return -ECONNREFUSED;
		return rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
		       : rc == CURLE_OUT_OF_MEMORY    ? -ENOMEM
						      : -EIO;
	}
	*ret_body = b.p ? b.p : strdup("");
	return *ret_body ? 0 : -ENOMEM;
}

int nb_docker_api_json(struct nb_docker_api *a, const char *method, const char *path, const char *body,
		       char **ret_body, char *err, size_t errlen)
{
	long status;
	char *resp = NULL, msg[200];
	int r = nb_docker_api_call(a, method, path, body, body ? strlen(body) : 0, "application/json", 60,
				   &status, &resp, err, errlen);

	if (r)
		return r;
	if (status >= 200 && status < 300) {
		if (ret_body)
			*ret_body = resp;
		else
			free(resp);
		return 0;
	}
	nb_docker_api_error(status, resp, msg, sizeof(msg));
	nb_err(err, errlen, "%s %s: %s", method, path, msg);
	free(resp);
	return status == 404 ? -ENOENT : status == 409 ? -EEXIST : status == 304 ? -EALREADY : -EIO;
}
