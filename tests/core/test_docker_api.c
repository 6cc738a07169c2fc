/* SPDX-License-Identifier: MIT */
/*
 * The Docker Engine API client without an engine: where the socket is, requests as the engine reads them
 * (container and network bodies, label filters, escaping), responses as nbench reads them (version, info,
 * inspect, the import's stream, lists, errors), a fake engine on a unix socket for the calls and their
 * status codes, and the image's archive (a tar that tar(1) lists).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../topo/docker_api.h"
#include "../unit/tap.h"

static const char *jpath(const cJSON *o, const char *a, const char *b, const char *c)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	if (c)
		v = cJSON_GetObjectItemCaseSensitive(v, c);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void socket_path(void)
{
	char buf[108], err[200];

	CHECK_INT(nb_docker_api_socket(NULL, buf, sizeof(buf), err, sizeof(err)), 0);
	CHECK_STR(buf, "/var/run/docker.sock");
	CHECK_INT(nb_docker_api_socket("", buf, sizeof(buf), err, sizeof(err)), 0);
	CHECK_STR(buf, "/var/run/docker.sock");
	CHECK_INT(nb_docker_api_socket("unix:///run/user/0/docker.sock", buf, sizeof(buf), err, sizeof(err)),
		  0);
	CHECK_STR(buf, "/run/user/0/docker.sock");
	CHECK_INT(nb_docker_api_socket("tcp://10.0.0.1:2375", buf, sizeof(buf), err, sizeof(err)),
		  -EPROTONOSUPPORT);
	CHECK(strstr(err, "unix socket only") != NULL);
	CHECK_INT(nb_docker_api_socket("unix://", buf, sizeof(buf), err, sizeof(err)), -EPROTONOSUPPORT);
}

static void escape(void)
{
	char buf[64];

	CHECK_INT((int)nb_docker_api_escape("a-b_c.d~9", buf, sizeof(buf)), 9);
	CHECK_STR(buf, "a-b_c.d~9");
	nb_docker_api_escape("LABEL x=1 \"y\"/", buf, sizeof(buf));
	CHECK_STR(buf, "LABEL%20x%3D1%20%22y%22%2F");
	/* truncated, NUL-terminated, and says what it needed */
	CHECK_INT((int)nb_docker_api_escape("   ", buf, 5), 9);
	CHECK_STR(buf, "%20%");
}

static void create_body(void)
{
	char *const cmd[] = {"/usr/local/bin/nbench", "serve", "--port", "12865", NULL};
	struct nb_docker_ctr_spec s = {.name = "nb-x-srv",
				       .instance = "x",
				       .role = "server",
				       .image = "nbench:0.1.0",
				       .network = "bridge",
				       .cmd = cmd,
				       .port = 12865,
				       .host_ip = "10.77.80.2",
				       .host_port = 8080};
	char *text = nb_docker_api_create_body(&s);
	cJSON *o = cJSON_Parse(text);

	CHECK(o != NULL);
	CHECK_STR(jpath(o, "Image", NULL, NULL), "nbench:0.1.0");
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(o, "Cmd")), 4);
	CHECK_STR(jpath(o, "Labels", "nbench.instance", NULL), "x");
	CHECK_STR(jpath(o, "Labels", "nbench.role", NULL), "server");
	CHECK_STR(jpath(o, "HostConfig", "NetworkMode", NULL), "bridge");
	for (int i = 0; i < 2; i++) { /* published for TCP and UDP on the one host address */
		const char *key = i ? "12865/udp" : "12865/tcp";
		cJSON *b = cJSON_GetArrayItem(
		    cJSON_GetObjectItem(
			cJSON_GetObjectItem(cJSON_GetObjectItem(o, "HostConfig"), "PortBindings"), key),
		    0);
		CHECK_STR(jpath(b, "HostIp", NULL, NULL), "10.77.80.2");
		CHECK_STR(jpath(b, "HostPort", NULL, NULL), "8080");
		CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "ExposedPorts"), key) != NULL);
	}
	CHECK(cJSON_GetObjectItem(o, "NetworkingConfig") == NULL);
	cJSON_Delete(o);
	free(text);

	/* a fixed address on the instance's own network, and a key bound read-only */
	s = (struct nb_docker_ctr_spec){.name = "nb-x-cli",
					.instance = "x",
					.role = "client",
					.image = "nbench:0.1.0",
					.network = "nb-x-net",
					.ip = "172.31.80.3",
					.cmd = cmd,
					.key_file = "/etc/nbench/key"};
	text = nb_docker_api_create_body(&s);
	o = cJSON_Parse(text);
	cJSON *ep = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "NetworkingConfig"), "EndpointsConfig");
	CHECK_STR(jpath(ep, "nb-x-net", "IPAMConfig", "IPv4Address"), "172.31.80.3");
	CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "HostConfig"), "PortBindings") == NULL);
	CHECK(cJSON_GetObjectItem(o, "ExposedPorts") == NULL);
	CHECK_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "HostConfig"), "Binds"), 0)
		      ->valuestring,
		  "/etc/nbench/key:" NB_DOCKER_KEY_PATH ":ro");
	cJSON_Delete(o);
	free(text);
}

static void network_body(void)
{
	char *text = nb_docker_api_network_body("nb-x-net", "nb-x-d", "172.31.80.0/24", "172.31.80.1", "x");
	cJSON *o = cJSON_Parse(text);
	cJSON *cfg = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "IPAM"), "Config"), 0);

	CHECK_STR(jpath(o, "Name", NULL, NULL), "nb-x-net");
	CHECK_STR(jpath(o, "Driver", NULL, NULL), "bridge");
	CHECK_STR(jpath(o, "Options", "com.docker.network.bridge.name", NULL), "nb-x-d");
	CHECK_STR(jpath(o, "Labels", "nbench.instance", NULL), "x");
	CHECK_STR(jpath(cfg, "Subnet", NULL, NULL), "172.31.80.0/24");
	CHECK_STR(jpath(cfg, "Gateway", NULL, NULL), "172.31.80.1");
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(o, "CheckDuplicate")));
	cJSON_Delete(o);
	free(text);
}

static void label_query(void)
{
	char buf[256];

	nb_docker_api_label_query("x1", buf, sizeof(buf));
	CHECK_STR(buf, "filters=%7B%22label%22%3A%5B%22nbench.instance%3Dx1%22%5D%7D");
	nb_docker_api_label_query(NULL, buf, sizeof(buf));
	CHECK_STR(buf, "filters=%7B%22label%22%3A%5B%22nbench.instance%22%5D%7D");
}

static void parse_engine(void)
{
	struct nb_docker_engine e = {0};

	CHECK_INT(nb_docker_api_parse_version("{\"Version\":\"20.10.24+dfsg1\",\"ApiVersion\":\"1.41\","
					      "\"MinAPIVersion\":\"1.12\"}",
					      &e),
		  0);
	CHECK_STR(e.version, "20.10.24+dfsg1");
	CHECK_STR(e.api_version, "1.41");
	CHECK_INT(nb_docker_api_parse_info(
		      "{\"ServerVersion\":\"20.10.24+dfsg1\",\"Driver\":\"overlay2\","
		      "\"CgroupDriver\":\"cgroupfs\",\"CgroupVersion\":\"1\",\"DefaultRuntime\":"
		      "\"runc\",\"IPv4Forwarding\":true,\"BridgeNfIptables\":true,\"CPUSet\":"
		      "true,\"MemoryLimit\":false,\"OperatingSystem\":\"Debian GNU/Linux 12\"}",
		      &e),
		  0);
	CHECK_STR(e.storage_driver, "overlay2");
	CHECK_STR(e.cgroup_driver, "cgroupfs");
	CHECK_STR(e.cgroup_version, "1");
	CHECK_STR(e.runtime, "runc");
	CHECK(e.ipv4_forwarding && e.bridge_nf_iptables && e.cpuset && !e.memory_limit);
	CHECK_STR(e.os, "Debian GNU/Linux 12");
	CHECK_INT(nb_docker_api_parse_info("[]", &e), -EBADMSG);
	CHECK_INT(nb_docker_api_parse_info("{\"Driver\":\"x\"}", &e), -EBADMSG);
	CHECK_INT(nb_docker_api_parse_version("not json", &e), -EBADMSG);
}

static void parse_inspect(void)
{
	static const char body[] =
	    "{\"Id\":\"abc123\",\"Name\":\"/nb-x-srv\",\"Config\":{\"Image\":\"nbench:0.1.0\"},\"State\":{"
	    "\"Status\":\"running\",\"Running\":true,\"Pid\":4321,\"ExitCode\":0,\"Error\":\"\"},"
	    "\"HostConfig\":{"
	    "\"NetworkMode\":\"nb-x-net\",\"CpusetCpus\":\"0\",\"NanoCpus\":500000000,\"CpuQuota\":0,"
	    "\"CpuPeriod\":0,\"CpuShares\":512,\"Memory\":268435456,\"PidsLimit\":null},\"NetworkSettings\":{"
	    "\"Networks\":{\"nb-x-net\":{\"IPAddress\":\"172.31.80.2\",\"Gateway\":\"172.31.80.1\"}}}}";
	struct nb_docker_ctr c;

	CHECK_INT(nb_docker_api_parse_inspect(body, NULL, &c), 0);
	CHECK_STR(c.id, "abc123");
	CHECK_STR(c.name, "nb-x-srv");
	CHECK_STR(c.image, "nbench:0.1.0");
	CHECK(c.running);
	CHECK_INT(c.pid, 4321);
	CHECK_STR(c.network, "nb-x-net");
	CHECK_STR(c.ip, "172.31.80.2");
	CHECK_STR(c.gateway, "172.31.80.1");
	CHECK_STR(c.cpuset_cpus, "0");
	CHECK(c.nano_cpus == 500000000 && c.cpu_shares == 512 && c.memory_bytes == 268435456 &&
	      c.pids_limit == 0);
	/* stopped: no pid, whatever the engine says; its exit and error kept */
	CHECK_INT(
	    nb_docker_api_parse_inspect("{\"Id\":\"d\",\"State\":{\"Running\":false,\"Pid\":99,\"Status\":"
					"\"exited\",\"ExitCode\":127,\"Error\":\"exec: not found\"},"
					"\"HostConfig\":{\"NetworkMode\":\"host\"},\"NetworkSettings\":{"
					"\"Networks\":{\"host\":{\"IPAddress\":\"\"}}}}",
					"host", &c),
	    0);
	CHECK(!c.running && c.pid == 0 && c.exit_code == 127);
	CHECK_STR(c.error, "exec: not found");
	CHECK_STR(c.status, "exited");
	CHECK_INT(nb_docker_api_parse_inspect("{\"Name\":\"x\"}", NULL, &c), -EBADMSG);
	/* a pid out of range is no pid */
	CHECK_INT(
	    nb_docker_api_parse_inspect("{\"Id\":\"e\",\"State\":{\"Running\":true,\"Pid\":1e30}}", NULL, &c),
	    0);
	CHECK_INT(c.pid, 0);
}

static void parse_misc(void)
{
	char err[128], buf[80];

	/* the import's progress, one object a line; an error anywhere is the answer */
	CHECK_INT(nb_docker_api_parse_stream("{\"status\":\"sha256:abc\"}\n", err, sizeof(err)), 0);
	CHECK_INT(
	    nb_docker_api_parse_stream("{\"status\":\"Importing\"}\r\n{\"errorDetail\":{\"message\":\"no "
				       "space\"},\"error\":\"write /x: no space left on device\"}\n",
				       err, sizeof(err)),
	    -EIO);
	CHECK_STR(err, "write /x: no space left on device");
	CHECK_INT(nb_docker_api_parse_stream("", err, sizeof(err)), 0);
	CHECK_INT(nb_docker_api_parse_image("{\"Id\":\"sha256:1\",\"Config\":{\"Labels\":{\"nbench.content\":"
					    "\"f00d\"}}}",
					    buf, sizeof(buf)),
		  0);
	CHECK_STR(buf, "f00d");
	CHECK_INT(
	    nb_docker_api_parse_image("{\"Id\":\"sha256:1\",\"Config\":{\"Labels\":null}}", buf, sizeof(buf)),
	    0);
	CHECK_STR(buf, "");
	nb_docker_api_error(
	    409, "{\"message\":\"Conflict. The container name \\\"/nb-x-srv\\\" is already in use\\nmore\"}",
	    buf, sizeof(buf));
	CHECK_STR(buf, "Conflict. The container name \"/nb-x-srv\" is already in use");
	nb_docker_api_error(404, "", buf, sizeof(buf));
	CHECK_STR(buf, "not found (HTTP 404)");
	nb_docker_api_error(500, "<html>", buf, sizeof(buf));
	CHECK_STR(buf, "the engine answered HTTP 500");
}

static void on_item(void *arg, const char *name, const char *instance)
{
	char *acc = arg;

	snprintf(acc + strlen(acc), 256 - strlen(acc), "%s=%s;", name, instance);
}

static void parse_list(void)
{
	char acc[256] = "";

	/* containers have "Names" starting with '/', networks a "Name"; unlabelled ones are left out */
	CHECK_INT(nb_docker_api_parse_list(
		      "[{\"Names\":[\"/nb-a-srv\"],\"Labels\":{\"nbench.instance\":\"a\"}},"
		      "{\"Names\":[\"/other\"],\"Labels\":{}},{\"Name\":\"nb-b-net\",\"Labels\":"
		      "{\"nbench.instance\":\"b\"}}]",
		      on_item, acc),
		  2);
	CHECK_STR(acc, "nb-a-srv=a;nb-b-net=b;");
	CHECK_INT(nb_docker_api_parse_list("{}", on_item, acc), -EBADMSG);
}

/* ---- a fake engine: answers each connection with one canned HTTP response ---- */

struct fake {
	int lfd;
	const char *response;
	char request[4096];
	unsigned answered;
};

static void *fake_main(void *arg)
{
	struct fake *f = arg;

	for (;;) {
		int fd = accept(f->lfd, NULL, NULL);
		size_t n = 0;

		if (fd < 0)
			return NULL;
		/* headers, then the body its Content-Length announces (small in these tests) */
		while (n + 1 < sizeof(f->request)) {
			ssize_t r = read(fd, f->request + n, sizeof(f->request) - 1 - n);
			if (r <= 0)
				break;
			n += (size_t)r;
			f->request[n] = '\0';
			char *end = strstr(f->request, "\r\n\r\n");
			const char *cl = strcasestr(f->request, "Content-Length:");
			if (end && (!cl || strlen(end + 4) >= (size_t)atoi(cl + 15)))
				break;
		}
		if (write(fd, f->response, strlen(f->response)) < 0) {
			/* the client reports it */
		}
		f->answered++;
		close(fd);
	}
}

static void calls(void)
{
	char dir[] = "/tmp/nbdockerXXXXXX", sock[100], env[160], err[256], *body = NULL;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct nb_docker_api *a = NULL;
	struct fake f = {0};
	pthread_t th;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(sock, sizeof(sock), "%s/docker.sock", dir);
	snprintf(env, sizeof(env), "unix://%s", sock);
	setenv("DOCKER_HOST", env, 1);
	/* no socket: no engine here, said so */
	CHECK_INT(nb_docker_api_open(&a, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, sock) != NULL);
	f.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	CHECK(bind(f.lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(f.lfd, 8) == 0);
	pthread_create(&th, NULL, fake_main, &f);
	CHECK_INT(nb_docker_api_open(&a, err, sizeof(err)), 0);

	char resp[256];
	snprintf(resp, sizeof(resp),
		 "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n%s",
		 strlen("{\"Id\":\"abc\",\"W\":[]}"), "{\"Id\":\"abc\",\"W\":[]}");
	f.response = resp;
	CHECK_INT(nb_docker_api_json(a, "POST", "/containers/create?name=nb-x-srv", "{\"Image\":\"i\"}",
				     &body, err, sizeof(err)),
		  0);
	CHECK_MSG(body && !strcmp(body, "{\"Id\":\"abc\",\"W\":[]}"), "body %s, err %s", body, err);
	free(body);
	/* the request as the engine reads it: versioned path, JSON body, no 100-continue */
	CHECK(!strncmp(f.request,
		       "POST " NB_DOCKER_API_PREFIX "/containers/create?name=nb-x-srv HTTP/1.1\r\n",
		       strlen("POST " NB_DOCKER_API_PREFIX "/containers/create?name=nb-x-srv HTTP/1.1\r\n")));
	CHECK(strcasestr(f.request, "Content-Type: application/json\r\n") != NULL);
	CHECK(strcasestr(f.request, "Expect:") == NULL);
	CHECK(strstr(f.request, "\r\n\r\n{\"Image\":\"i\"}") != NULL);

	/* the engine's status codes as errnos, its message as the error */
	static const struct {
		const char *status;
		int r;
	} codes[] = {
	    {"404 Not Found", -ENOENT}, {"409 Conflict", -EEXIST}, {"500 Internal Server Error", -EIO}};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		snprintf(resp, sizeof(resp),
			 "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: 21\r\n"
			 "Connection: close\r\n\r\n{\"message\":\"no luck\"}",
			 codes[i].status);
		f.response = resp;
		CHECK_INT(nb_docker_api_json(a, "DELETE", "/containers/nb-x-srv?force=1", NULL, NULL, err,
					     sizeof(err)),
			  codes[i].r);
		CHECK(strstr(err, "no luck") != NULL);
	}
	CHECK(strncmp(f.request, "DELETE ", 7) == 0);
	CHECK_INT(f.answered, 4);
	nb_docker_api_close(a);
	shutdown(f.lfd, SHUT_RDWR);
	close(f.lfd);
	pthread_join(th, NULL);

	/* a socket nobody serves: the engine is not reached, and the call says so */
	CHECK_INT(nb_docker_api_open(&a, err, sizeof(err)), 0);
	CHECK_INT(nb_docker_api_json(a, "GET", "/version", NULL, NULL, err, sizeof(err)), -ECONNREFUSED);
	CHECK(strstr(err, "/version") != NULL);
	nb_docker_api_close(a);
	unlink(sock);
	rmdir(dir);
	unsetenv("DOCKER_HOST");
}

/* The image's archive: every header's checksum holds, this binary at NB_DOCKER_BIN, the loader and
 * libc among the files, the same bytes twice. */
static void image_tar(void)
{
	char *tar = NULL, *again = NULL, content[65], content2[65], err[256];
	size_t len = 0, len2 = 0;
	unsigned files = 0, files2 = 0, seen_files = 0;
	bool bin = false, libc = false, tmp = false;

	CHECK_INT(nb_docker_image_tar(&tar, &len, content, &files, err, sizeof(err)), 0);
	CHECK(len % 512 == 0 && len > 1024);
	CHECK_INT((int)strlen(content), 64);
	for (size_t off = 0; off + 512 <= len;) {
		const unsigned char *h = (const unsigned char *)tar + off;
		unsigned sum = 0, want;
		char name[256], size_text[13];

		if (!h[0]) /* the two empty blocks at the end */
			break;
		for (int i = 0; i < 512; i++)
			sum += i >= 148 && i < 156 ? ' ' : h[i];
		CHECK(sscanf((const char *)h + 148, "%o", &want) == 1 && want == sum);
		CHECK(!memcmp(h + 257, "ustar", 6));
		snprintf(name, sizeof(name), "%s%s%.100s", h[345] ? (const char *)h + 345 : "",
			 h[345] ? "/" : "", (const char *)h);
		memcpy(size_text, h + 124, 12);
		size_text[12] = '\0';
		size_t size = strtoul(size_text, NULL, 8);
		seen_files += h[156] == '0';
		bin |= !strcmp(name, NB_DOCKER_BIN + 1) && h[156] == '0' && size > 0;
		libc |= strstr(name, "libc.so.6") != NULL;
		tmp |= !strcmp(name, "tmp/") && h[156] == '5';
		off += 512 + (size + 511) / 512 * 512;
	}
	CHECK(bin && libc && tmp);
	CHECK_INT(seen_files, files);
	CHECK_INT(nb_docker_image_tar(&again, &len2, content2, &files2, err, sizeof(err)), 0);
	CHECK(len2 == len && !memcmp(tar, again, len) && !strcmp(content, content2));
	free(tar);
	free(again);
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {
	    TAP_CASE(socket_path), TAP_CASE(escape),	   TAP_CASE(create_body),   TAP_CASE(network_body),
	    TAP_CASE(label_query), TAP_CASE(parse_engine), TAP_CASE(parse_inspect), TAP_CASE(parse_misc),
	    TAP_CASE(parse_list),  TAP_CASE(calls),	   TAP_CASE(image_tar),
	};
	(void)argc;
	return TAP_RUN(cases, argc > 1 ? argv[1] : NULL);
}
