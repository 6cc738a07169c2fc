/* SPDX-License-Identifier: MIT */
/*
 * Inside topo/: a client of the Docker Engine API (HTTP/1.1 over the engine's unix socket, through libcurl's
 * CURLOPT_UNIX_SOCKET_PATH; JSON through libcjson). Never the docker CLI. Two halves: the pure part (where
 * the socket is, requests as text, responses as structs), unit-tested without an engine, and the calls.
 *
 * Everything nbench makes in an engine carries the label NB_DOCKER_LABEL=<instance name> (and
 * nbench.role, nbench.version), so `nbench topo down --all` finds it after a kill -9.
 */
#ifndef NB_TOPO_DOCKER_API_H
#define NB_TOPO_DOCKER_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nbench/docker.h"

#define NB_DOCKER_SOCK	     "/var/run/docker.sock"
#define NB_DOCKER_API_PREFIX "/v1.40" /* the API of Docker 19.03; every engine since accepts it */
#define NB_DOCKER_LABEL	     "nbench.instance"

/* ---- pure: no engine needed ---- */

/* The engine's socket from $DOCKER_HOST (docker_host; NULL or "": NB_DOCKER_SOCK) into buf. Only
 * unix:// is spoken: -EPROTONOSUPPORT with the reason in err otherwise. */
int nb_docker_api_socket(const char *docker_host, char *buf, size_t len, char *err, size_t errlen);
/* s percent-encoded for a URL's query (RFC 3986: all but unreserved characters), into buf. Returns the
 * length it needed (as snprintf). */
size_t nb_docker_api_escape(const char *s, char *buf, size_t len);
/* The message of an error response (its JSON "message", else the status line's meaning) into buf. */
void nb_docker_api_error(long status, const char *body, char *buf, size_t len);

/* A container nbench makes: what goes into POST /containers/create. */
struct nb_docker_ctr_spec {
	const char *name;     /* nb-<instance>-srv, nb-<instance>-cli */
	const char *instance; /* the label's value */
	const char *role;     /* "server", "client" */
	const char *image;
	const char *network;  /* "host", "bridge" (the default bridge), or a network's name */
	const char *ip;	      /* a fixed address on a user-defined network, or NULL */
	char *const *cmd;     /* argv, NULL-terminated */
	uint16_t port;	      /* a container port published for TCP and UDP (0: none) */
	const char *host_ip;  /* ...on this host address */
	uint16_t host_port;   /* ...and this host port */
	const char *key_file; /* bound read-only at NB_DOCKER_KEY_PATH, or NULL */
};
#define NB_DOCKER_KEY_PATH "/run/nbench.key"
/* The JSON body of POST /containers/create for s (malloc'd), or NULL when out of memory. */
char *nb_docker_api_create_body(const struct nb_docker_ctr_spec *s);
/* The body of POST /networks/create: a bridge network called name, on a Linux bridge called bridge,
 * with subnet (CIDR) and gateway, labelled for instance (malloc'd). */
char *nb_docker_api_network_body(const char *name, const char *bridge, const char *subnet,
				 const char *gateway, const char *instance);
/* The query of GET /containers/json or /networks: every object labelled NB_DOCKER_LABEL (instance NULL),
 * or labelled for instance; "filters=..." escaped, into buf. */
void nb_docker_api_label_query(const char *instance, char *buf, size_t len);

/* GET /version and GET /info into e (the fields each has). 0, or -EBADMSG when body is not that. */
int nb_docker_api_parse_version(const char *body, struct nb_docker_engine *e);
int nb_docker_api_parse_info(const char *body, struct nb_docker_engine *e);
/* GET /containers/<id>/json into c; network: the network whose address goes to c->ip. */
int nb_docker_api_parse_inspect(const char *body, const char *network, struct nb_docker_ctr *c);
/* The streamed answer of POST /images/create (one JSON object per line): 0, or -EIO with its "error" into
 * err. */
int nb_docker_api_parse_stream(const char *body, char *err, size_t errlen);
/* The "nbench.content" label of GET /images/<name>/json into buf ("" when the image has none). */
int nb_docker_api_parse_image(const char *body, char *buf, size_t len);
/* The names of the objects (GET /containers/json: "Names", GET /networks: "Name") of a list, with the
 * instance each is labelled for: calls fn(arg, name, instance) for each. How many, or -EBADMSG. */
int nb_docker_api_parse_list(const char *body, void (*fn)(void *arg, const char *name, const char *instance),
			     void *arg);

/* ---- calls ---- */
struct nb_docker_api;

/* A handle on the engine at $DOCKER_HOST (else NB_DOCKER_SOCK). -ENOENT when there is no socket (no
 * engine here), else 0; the engine is first spoken to by the first call. */
int nb_docker_api_open(struct nb_docker_api **ret, char *err, size_t errlen);
void nb_docker_api_close(struct nb_docker_api *a);
/* One request: method, path (after NB_DOCKER_API_PREFIX, with its query), an optional body of its
 * content type, at most timeout_s. The status into *ret_status and the body (malloc'd, NUL-terminated)
 * into *ret_body. 0, or -errno when the engine could not be reached (the reason into err). */
int nb_docker_api_call(struct nb_docker_api *a, const char *method, const char *path, const void *body,
		       size_t body_len, const char *content_type, long timeout_s, long *ret_status,
		       char **ret_body, char *err, size_t errlen);
/* nb_docker_api_call for the JSON calls: a 2xx status is 0 (body into *ret_body if ret_body), 404 is
 * -ENOENT, 409 -EEXIST, 304 -EALREADY, anything else -EIO; the engine's message into err. */
int nb_docker_api_json(struct nb_docker_api *a, const char *method, const char *path, const char *body,
		       char **ret_body, char *err, size_t errlen);

#endif
