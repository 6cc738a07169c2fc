/* SPDX-License-Identifier: MIT */
/*
 * The figures of nbench's JSON reports (reportset.h). Two tables say where a single run keeps its figures
 * (single_figures, single_ident), one how a report of rows (compare's runs, sweep's combinations,
 * throughput's frame sizes) names its cells (row_kinds); which way each figure is better is metric.c's.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nbench/metric.h"
#include "nbench/reportset.h"

/* ---- a single run: {schema_version, start, intervals[], end} ---- */

#define K_STREAM (1u << 0)
#define K_RR	 (1u << 1)
#define K_CRR	 (1u << 2)
#define K_TXN	 (K_RR | K_CRR)

static unsigned kind_bit(const char *kind)
{
	return !strcmp(kind, "stream") ? K_STREAM
	       : !strcmp(kind, "rr")   ? K_RR
	       : !strcmp(kind, "crr")  ? K_CRR
				       : 0;
}

/* A single run's figures: name, where it is, and the flag that must be true for it to mean anything. */
static const struct {
	unsigned kinds;
	const char *name, *path, *valid;
} single_figures[] = {
    {K_STREAM, "goodput_bps", "end.goodput_bps", NULL},
    {K_STREAM, "loss_pct", "end.loss_pct", NULL}, /* UDP only: absent over TCP */
    {K_STREAM, "cycles_per_byte", "end.cpu.cycles_per_byte", "end.cpu.valid"},
    {K_TXN, "transactions_per_s", "end.transactions_per_s", NULL},
    {K_TXN, "p50_ns", "end.latency_ns.p50", NULL},
    {K_TXN, "p90_ns", "end.latency_ns.p90", NULL},
    {K_TXN, "p99_ns", "end.latency_ns.p99", NULL},
    {K_TXN, "p999_ns", "end.latency_ns.p999", NULL},
    {K_TXN, "mean_lat_ns", "end.latency_ns.mean", NULL},
    {K_TXN, "timeouts", "end.timeouts", NULL},
    {K_TXN, "cycles_per_transaction", "end.cpu.cycles_per_transaction", "end.cpu.valid"},
};

/* The settings that change what a single run's figures mean: two runs differing in one are not compared. */
static const struct {
	unsigned kinds;
	const char *key;
} single_ident[] = {
    {K_STREAM | K_TXN, "kind"}, {K_STREAM | K_TXN, "proto"}, {K_STREAM | K_TXN, "flows"},
    {K_STREAM, "reverse"},	{K_STREAM, "msg_bytes"},     {K_STREAM, "rate_bps"},
    {K_TXN, "req_bytes"},	{K_TXN, "resp_bytes"},	     {K_RR, "depth"},
    {K_RR, "rate_tps"},
};

/* What a single run says about where it ran: shown when it differs, never refused. */
static const char *const single_context[] = {
    "start.client", "start.server",	"start.settings", "start.placement",
    "start.path",   "start.interfaces", "start.dpdk",	  NULL};

/* ---- reports of rows: every complete row is one run of the cell its group fields name; or, with .values,
 * every row is a cell holding each figure's runs as {"<key>": {"values": [...]}} in its .values object ----
 */

static const struct row_kind {
	const char *command;  /* the report's top-level "command" (or "kind") */
	const char *rows;     /* its array of per-run rows (or cells) */
	const char *values;   /* NULL: a row is one run; else the object of a cell's figures and their runs */
	const char *group[4]; /* the fields naming a row's cell */
	const char *ident[4]; /* start's keys two reports must share to be compared */
	const char *context[12];
} row_kinds[] = {
    {"compare",
     "runs",
     NULL,
     {"test", "placement", "path"},
     {NULL},
     {"start.duration_s", "start.path_details", NULL}},
    {"sweep",
     "combinations",
     "metrics",
     {"label"},
     {"test"},
     {"path", "interfaces", "knobs", "context", NULL}},
    {"throughput",
     "sizes",
     NULL,
     {"frame_bytes"},
     {"start.loss_pct", "start.trial_s", "start.engine"},
     {"start.path", "start.client_kernel", "start.server_kernel", "start.placement", "start.client",
      "start.server", "start.interfaces", "start.server_interfaces", "start.dpdk", "start.search",
      "start.goal", NULL}},
};

/* Keys never shown as context: they differ on every run (a built path's instance and namespace names are
 * random). */
static bool noise_key(const char *key, const char *leaf)
{
	static const char *const noise[] = {"boot_id", "server_pid", "timestamp", "cmdline",
					    "topo",    "port",	     "netns",	  NULL};
	size_t n = strlen(key);
	for (size_t i = 0; noise[i]; i++)
		if (!strcmp(leaf, noise[i]))
			return true;
	return n >= 12 && !strcmp(key + n - 12, ".config.name");
}

/* The item at a dotted path ("end.latency_ns.p50"), or NULL. */
static const cJSON *at(const cJSON *j, const char *path)
{
	char key[64];
	while (j && *path) {
		size_t len = strcspn(path, ".");
		if (len >= sizeof(key))
			return NULL;
		memcpy(key, path, len);
		key[len] = 0;
		j = cJSON_GetObjectItemCaseSensitive(j, key);
		path += len + (path[len] == '.');
	}
	return j;
}

static void value_str(const cJSON *v, char *buf, size_t len)
{
	if (cJSON_IsString(v))
		snprintf(buf, len, "%s", v->valuestring);
	else if (cJSON_IsNumber(v))
		snprintf(buf, len, "%.15g", v->valuedouble);
	else if (cJSON_IsBool(v))
		snprintf(buf, len, "%s", cJSON_IsTrue(v) ? "true" : "false");
	else
		snprintf(buf, len, "null");
}

/* s with the instance part of every name nbench made ("nb-t218fc0-r", "nbench_t218fc0") as "*": a built
 * path's namespaces, interfaces and tables are named afresh on every run, so their names are no context. */
static void unrandom(char *s)
{
	static const char *const prefixes[] = {"nb-", "nbench_", NULL};
	for (const char *const *p = prefixes; *p; p++)
		for (char *at = strstr(s, *p); at; at = strstr(at + 1, *p)) {
			char *id = at + strlen(*p);
			size_t n = strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789");
			if (n < 5 || n > 12 || (id[n] && id[n] != '-'))
				continue;
			id[0] = '*';
			memmove(id + 1, id + n, strlen(id + n) + 1);
		}
}

static void kv_add(struct nb_rs_kv *kv, unsigned *n, unsigned max, const char *key, const cJSON *v)
{
	if (*n >= max)
		return;
	snprintf(kv[*n].key, sizeof(kv[0].key), "%s", key);
	value_str(v, kv[*n].val, sizeof(kv[0].val));
	unrandom(kv[*n].val);
	(*n)++;
}

/* Every scalar under v as "prefix.key" = value, into s's context. */
static void flatten(struct nb_reportset *s, const char *prefix, const cJSON *v)
{
	const unsigned max = sizeof(s->context) / sizeof(s->context[0]);
	char key[64];
	if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
		unsigned i = 0;
		for (const cJSON *c = v->child; c; c = c->next, i++) {
			if (c->string)
				snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", c->string);
			else
				snprintf(key, sizeof(key), "%s[%u]", prefix, i);
			if (c->string && noise_key(key, c->string))
				continue;
			flatten(s, key, c);
		}
		return;
	}
	kv_add(s->context, &s->n_context, max, prefix, v);
}

static struct nb_series *metric_get(struct nb_reportset *s, const char *name)
{
	for (unsigned i = 0; i < s->n; i++)
		if (!strcmp(s->m[i].name, name))
			return &s->m[i];
	if (s->n >= NB_RS_MAX_SERIES)
		return NULL;
	struct nb_series *m = &s->m[s->n++];
	snprintf(m->name, sizeof(m->name), "%s", name);
	const char *leaf = strrchr(name, ' ');
	m->dir = nb_metric_direction(leaf ? leaf + 1 : name);
	return m;
}

static void sample(struct nb_reportset *s, const char *name, double v)
{
	struct nb_series *m = metric_get(s, name);
	if (m && m->n < NB_RS_MAX_SAMPLES && isfinite(v))
		m->v[m->n++] = v;
}

/* The identity of this document in tmp; the first document's becomes s's, later ones must equal it. */
static int check_ident(struct nb_reportset *s, const struct nb_reportset *tmp, char *err, size_t errlen)
{
	if (!s->docs) {
		memcpy(s->kind, tmp->kind, sizeof(s->kind));
		memcpy(s->ident, tmp->ident, sizeof(s->ident));
		s->n_ident = tmp->n_ident;
		memcpy(s->context, tmp->context, sizeof(s->context));
		s->n_context = tmp->n_context;
		return 0;
	}
	return nb_reportset_same_test(s, tmp, err, errlen);
}

static int add_single(struct nb_reportset *s, const cJSON *doc, const char *kind, char *err, size_t errlen)
{
	static struct nb_reportset tmp; /* identity only: its metrics stay empty */
	unsigned bit = kind_bit(kind);
	const cJSON *settings = at(doc, "start.settings");

	if (!bit) {
		snprintf(err, errlen, "a run of kind '%s' has no figures nbench diff knows", kind);
		return -EINVAL;
	}
	memset(&tmp, 0, offsetof(struct nb_reportset, m));
	snprintf(tmp.kind, sizeof(tmp.kind), "%s", kind);
	for (size_t i = 0; i < sizeof(single_ident) / sizeof(single_ident[0]); i++) {
		if (!(single_ident[i].kinds & bit))
			continue;
		char key[64];
		snprintf(key, sizeof(key), "settings.%s", single_ident[i].key);
		kv_add(tmp.ident, &tmp.n_ident, NB_RS_MAX_KEYS, key,
		       cJSON_GetObjectItemCaseSensitive(settings, single_ident[i].key));
	}
	for (size_t i = 0; single_context[i]; i++)
		flatten(&tmp, single_context[i] + strlen("start."), at(doc, single_context[i]));
	int r = check_ident(s, &tmp, err, errlen);
	if (r)
		return r;
	for (size_t i = 0; i < sizeof(single_figures) / sizeof(single_figures[0]); i++) {
		const cJSON *v = at(doc, single_figures[i].path);
		if (!(single_figures[i].kinds & bit) || !cJSON_IsNumber(v))
			continue;
		if (single_figures[i].valid && !cJSON_IsTrue(at(doc, single_figures[i].valid)))
			continue;
		sample(s, single_figures[i].name, v->valuedouble);
	}
	return 0;
}

/* A row's cell: its group fields joined by '/', e.g. "rr-tcp/same/native". */
static void cell_name(const struct row_kind *k, const cJSON *row, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = 0;
	for (size_t g = 0; g < 4 && k->group[g] && off < len; g++) {
		char v[64];
		value_str(cJSON_GetObjectItemCaseSensitive(row, k->group[g]), v, sizeof(v));
		off += (size_t)snprintf(buf + off, len - off, "%s%s", g ? "/" : "", v);
	}
}

/* A cell's figures with their runs: {"p50_ns": {"values": [...]}, ...}. */
static void add_cell(struct nb_reportset *s, const char *cell, const cJSON *figures)
{
	char name[96];
	for (const cJSON *f = figures ? figures->child : NULL; f; f = f->next) {
		const cJSON *v, *vals = cJSON_GetObjectItemCaseSensitive(f, "values");
		if (!f->string || !nb_metric_direction(f->string) || !cJSON_IsArray(vals))
			continue;
		snprintf(name, sizeof(name), "%s %s", cell, f->string);
		cJSON_ArrayForEach(v, vals)
		{
			if (cJSON_IsNumber(v))
				sample(s, name, v->valuedouble);
		}
	}
}

static int add_rows(struct nb_reportset *s, const cJSON *doc, const struct row_kind *k, char *err,
		    size_t errlen)
{
	static struct nb_reportset tmp;
	const cJSON *rows = cJSON_GetObjectItemCaseSensitive(doc, k->rows);

	if (!cJSON_IsArray(rows)) {
		snprintf(err, errlen, "a %s report without its \"%s\" array", k->command, k->rows);
		return -EINVAL;
	}
	memset(&tmp, 0, offsetof(struct nb_reportset, m));
	snprintf(tmp.kind, sizeof(tmp.kind), "%s", k->command);
	for (size_t i = 0; i < 4 && k->ident[i]; i++)
		kv_add(tmp.ident, &tmp.n_ident, NB_RS_MAX_KEYS, k->ident[i], at(doc, k->ident[i]));
	for (size_t i = 0; i < sizeof(k->context) / sizeof(k->context[0]) && k->context[i]; i++)
		flatten(&tmp, k->context[i] + (strncmp(k->context[i], "start.", 6) ? 0 : 6),
			at(doc, k->context[i]));
	int r = check_ident(s, &tmp, err, errlen);
	if (r)
		return r;
	const cJSON *row;
	cJSON_ArrayForEach(row, rows)
	{
		const cJSON *complete = cJSON_GetObjectItemCaseSensitive(row, "complete");
		if (cJSON_IsFalse(complete))
			continue;
		char cell[64], name[96];
		cell_name(k, row, cell, sizeof(cell));
		if (k->values) {
			add_cell(s, cell, cJSON_GetObjectItemCaseSensitive(row, k->values));
			continue;
		}
		for (const cJSON *f = row->child; f; f = f->next)
			if (f->string && cJSON_IsNumber(f) && nb_metric_direction(f->string)) {
				snprintf(name, sizeof(name), "%s %s", cell, f->string);
				sample(s, name, f->valuedouble);
			}
	}
	return 0;
}

int nb_reportset_add_doc(struct nb_reportset *s, const cJSON *doc, char *err, size_t errlen)
{
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(doc, "command");
	if (!cmd)
		cmd = cJSON_GetObjectItemCaseSensitive(doc, "kind"); /* sweep's name for it */
	const cJSON *kind = at(doc, "start.settings.kind");
	int r;

	/* compare's reports from before "command" have its runs and summary */
	if (!cJSON_IsString(cmd) && cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "runs")) &&
	    cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "summary")))
		cmd = cJSON_CreateStringReference("compare");
	if (cJSON_IsString(cmd)) {
		r = -EINVAL;
		snprintf(err, errlen, "a report of '%s', which nbench diff does not read", cmd->valuestring);
		for (size_t i = 0; i < sizeof(row_kinds) / sizeof(row_kinds[0]); i++)
			if (!strcmp(row_kinds[i].command, cmd->valuestring))
				r = add_rows(s, doc, &row_kinds[i], err, errlen);
		if (cmd != cJSON_GetObjectItemCaseSensitive(doc, "command") &&
		    cmd != cJSON_GetObjectItemCaseSensitive(doc, "kind"))
			cJSON_Delete((cJSON *)cmd);
	} else if (cJSON_IsString(kind)) {
		r = add_single(s, doc, kind->valuestring, err, errlen);
	} else {
		snprintf(err, errlen, "not an nbench report (no start.settings.kind, no \"command\")");
		r = -EINVAL;
	}
	if (!r)
		s->docs++;
	return r;
}

static int load_file(struct nb_reportset *s, const char *file, char *err, size_t errlen)
{
	FILE *f = fopen(file, "r");
	char *text = NULL;
	size_t len = 0;
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "cannot read %s: %s", file, strerror(e));
		return -e;
	}
	FILE *mem = open_memstream(&text, &len);
	char buf[65536];
	size_t n;
	while (mem && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, mem);
	fclose(f);
	if (!mem)
		return -ENOMEM;
	fclose(mem);
	cJSON *doc = cJSON_Parse(text);
	free(text);
	if (!doc) {
		snprintf(err, errlen, "%s is not JSON", file);
		return -EINVAL;
	}
	char why[384];
	int r = nb_reportset_add_doc(s, doc, why, sizeof(why));
	cJSON_Delete(doc);
	if (r)
		snprintf(err, errlen, "%s: %s", file, why);
	return r;
}

static int json_name(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return n > 5 && !strcmp(d->d_name + n - 5, ".json");
}

static int load_dir(struct nb_reportset *s, const char *dir, char *err, size_t errlen)
{
	struct dirent **names;
	int n = scandir(dir, &names, json_name, alphasort), r = 0;
	if (n < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot read %s: %s", dir, strerror(e));
		return -e;
	}
	if (!n) {
		snprintf(err, errlen, "%s has no .json report", dir);
		r = -ENOENT;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (!r)
			r = load_file(s, path, err, errlen);
		free(names[i]);
	}
	free(names);
	return r;
}

int nb_reportset_load(struct nb_reportset *s, const char *spec, char *err, size_t errlen)
{
	char *copy = strdup(spec), *save = NULL;
	int r = copy ? 0 : -ENOMEM;
	for (char *p = copy ? strtok_r(copy, ",", &save) : NULL; p && !r; p = strtok_r(NULL, ",", &save)) {
		struct stat st;
		r = !stat(p, &st) && S_ISDIR(st.st_mode) ? load_dir(s, p, err, errlen)
							 : load_file(s, p, err, errlen);
	}
	free(copy);
	if (!r && !s->docs) {
		snprintf(err, errlen, "'%s' names no report", spec);
		r = -ENOENT;
	}
	return r;
}

const struct nb_series *nb_reportset_find(const struct nb_reportset *s, const char *name)
{
	for (unsigned i = 0; i < s->n; i++)
		if (!strcmp(s->m[i].name, name))
			return &s->m[i];
	return NULL;
}

bool nb_reportset_host_nic_key(const char *key)
{
	static const char *const roots[] = {"client",	     "server",
					    "client_kernel", "server_kernel",
					    "interfaces",    "server_interfaces",
					    "dpdk",	     "knobs",
					    "settings",	     NULL};
	const char *k = !strncmp(key, "context.", 8) ? key + 8 : key; /* a sweep's */
	size_t n = strcspn(k, ".[");
	for (size_t i = 0; roots[i]; i++)
		if (strlen(roots[i]) == n && !strncmp(k, roots[i], n))
			return true;
	return false;
}

unsigned nb_reportset_host_nic_diffs(const struct nb_reportset *a, const struct nb_reportset *b, char *buf,
				     size_t len, unsigned max)
{
	unsigned n = 0;
	size_t off = 0;
	if (len)
		buf[0] = 0;
	for (unsigned i = 0; i < a->n_context; i++) {
		const char *bv = NULL;
		if (!nb_reportset_host_nic_key(a->context[i].key))
			continue;
		for (unsigned j = 0; j < b->n_context && !bv; j++)
			if (!strcmp(a->context[i].key, b->context[j].key))
				bv = b->context[j].val;
		if (!bv || !strcmp(bv, a->context[i].val))
			continue;
		if (n < max && off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s %s -> %s", n ? "; " : "",
						a->context[i].key, a->context[i].val, bv);
		n++;
	}
	return n;
}

int nb_reportset_same_test(const struct nb_reportset *a, const struct nb_reportset *b, char *err,
			   size_t errlen)
{
	if (strcmp(a->kind, b->kind)) {
		snprintf(err, errlen, "different tests: kind %s vs %s", a->kind, b->kind);
		return -EINVAL;
	}
	for (unsigned i = 0; i < a->n_ident; i++)
		for (unsigned j = 0; j < b->n_ident; j++)
			if (!strcmp(a->ident[i].key, b->ident[j].key) &&
			    strcmp(a->ident[i].val, b->ident[j].val)) {
				snprintf(err, errlen, "different tests: %s %s vs %s", a->ident[i].key,
					 a->ident[i].val, b->ident[j].val);
				return -EINVAL;
			}
	return 0;
}

unsigned nb_reportset_context_diff(const struct nb_reportset *a, const struct nb_reportset *b,
				   void (*fn)(void *arg, const char *key, const char *aval, const char *bval),
				   void *arg)
{
	unsigned n = 0;
	for (unsigned i = 0; i < a->n_context; i++) {
		const char *bv = NULL;
		for (unsigned j = 0; j < b->n_context && !bv; j++)
			if (!strcmp(a->context[i].key, b->context[j].key))
				bv = b->context[j].val;
		if (bv && !strcmp(bv, a->context[i].val))
			continue;
		if (fn)
			fn(arg, a->context[i].key, a->context[i].val, bv);
		n++;
	}
	return n;
}
