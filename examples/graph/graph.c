/* graph.c - what the stages share (graph.h). */
#include "graph.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fflush(stdout);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("out of memory (%zu bytes)", n);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory (%zu bytes)", n);
	return p;
}

char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		die("out of memory");
	return d;
}

/* ---- random ---- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t rng_below(struct rng *r, uint64_t n)
{
	uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;

	do
		x = rng_next(r);
	while (x >= limit);
	return x % n;
}

double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* ---- the chunked format ---- */

char *path_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = xmalloc(n);

	if (b[0] == '/')
		snprintf(p, n, "%s", b);
	else
		snprintf(p, n, "%s/%s", a, b);
	return p;
}

static json_t *need(json_t *o, const char *key, const char *path)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		die("%s: no \"%s\"", path, key);
	return v;
}

static const char *first_string(json_t *arr, const char *what, const char *path)
{
	if (!json_is_array(arr) || json_array_size(arr) != 1 ||
	    !json_is_string(json_array_get(arr, 0)))
		die("%s: %s must list one name (this example has one node and one edge type)", path,
		    what);
	return json_string_value(json_array_get(arr, 0));
}

void chunked_load(struct chunked *g, const char *dir)
{
	char *path = path_join(dir, "metadata.json");
	json_error_t je;
	json_t *m = json_load_file(path, 0, &je), *spec, *data, *npt, *ept;

	if (!m)
		die("%s: line %d: %s", path, je.line, je.text);
	memset(g, 0, sizeof(*g));
	g->dir = xstrdup(dir);
	g->graph_name = xstrdup(json_string_value(need(m, "graph_name", path)) ?: "");
	g->ntype = xstrdup(first_string(need(m, "node_type", path), "node_type", path));
	g->etype = xstrdup(first_string(need(m, "edge_type", path), "edge_type", path));
	/* What DGL's pipeline and GraphStorm's partitioners read (not num_nodes_per_chunk). */
	npt = need(m, "num_nodes_per_type", path);
	ept = json_object_get(m, "num_edges_per_type");
	if (!json_is_integer(json_array_get(npt, 0)))
		die("%s: num_nodes_per_type must be [N]", path);
	g->num_nodes = json_integer_value(json_array_get(npt, 0));
	g->num_edges = ept ? json_integer_value(json_array_get(ept, 0)) : -1;
	spec = json_object_get(need(m, "edges", path), g->etype);
	if (!spec)
		die("%s: edges has no \"%s\"", path, g->etype);
	if (strcmp(json_string_value(json_object_get(json_object_get(spec, "format"), "name"))
		       ?: "",
		   "csv"))
		die("%s: edges of %s: only the csv format is read here", path, g->etype);
	data = need(spec, "data", path);
	g->n_edge_files = json_array_size(data);
	g->edge_files = xmalloc(g->n_edge_files * sizeof(*g->edge_files));
	for (size_t i = 0; i < g->n_edge_files; i++)
		g->edge_files[i] = path_join(dir, json_string_value(json_array_get(data, i)) ?: "");
	json_decref(m);
	free(path);
}

void chunked_release(struct chunked *g)
{
	for (size_t i = 0; i < g->n_edge_files; i++)
		free(g->edge_files[i]);
	free(g->edge_files);
	free(g->dir);
	free(g->graph_name);
	free(g->ntype);
	free(g->etype);
	memset(g, 0, sizeof(*g));
}

void edges_push(struct edges *e, int64_t src, int64_t dst)
{
	if (e->n == e->cap) {
		e->cap = e->cap ? 2 * e->cap : 1024;
		e->v = xrealloc(e->v, 2 * e->cap * sizeof(*e->v));
	}
	e->v[2 * e->n] = src;
	e->v[2 * e->n + 1] = dst;
	e->n++;
}

void edges_release(struct edges *e)
{
	free(e->v);
	memset(e, 0, sizeof(*e));
}

void chunked_read_edges(const struct chunked *g, size_t first, size_t last, struct edges *out)
{
	for (size_t i = first; i < last; i++) {
		FILE *f = fopen(g->edge_files[i], "r");
		long long s, d;
		size_t line = 0;
		int n;

		if (!f)
			die("cannot open '%s': %s", g->edge_files[i], strerror(errno));
		while ((n = fscanf(f, "%lld %lld", &s, &d)) == 2) {
			line++;
			if (s < 0 || d < 0 || s >= g->num_nodes || d >= g->num_nodes)
				die("%s:%zu: node id out of range [0, %lld)", g->edge_files[i],
				    line, (long long)g->num_nodes);
			edges_push(out, s, d);
		}
		if (n != EOF)
			die("%s:%zu: expected `src dst`", g->edge_files[i], line + 1);
		fclose(f);
	}
}

void split_range(size_t n, int r, int size, size_t *first, size_t *last)
{
	size_t base = n / (size_t)size, extra = n % (size_t)size, ur = (size_t)r;

	*first = ur * base + (ur < extra ? ur : extra);
	*last = *first + base + (ur < extra ? 1 : 0);
}

/* ---- partition assignments ---- */

void assignment_write(const char *dir, const char *ntype, const int32_t *part, int64_t n,
		      const char *algo, int num_parts)
{
	char name[512], *tmp, *path;
	FILE *f;

	mkdir_p(dir);
	snprintf(name, sizeof(name), "%s.txt", ntype);
	path = path_join(dir, name);
	f = atomic_open(path, &tmp);
	for (int64_t i = 0; i < n; i++)
		fprintf(f, "%d\n", part[i]);
	atomic_close(f, tmp, path);
	free(path);
	path = path_join(dir, "partition_meta.json");
	f = atomic_open(path, &tmp);
	/* DGL's PartitionMeta (tools/partition_algo/base.py): algo_name random or metis. */
	fprintf(f, "{\"algo_name\": \"%s\", \"num_parts\": %d, \"version\": \"1.0.0\"}\n", algo,
		num_parts);
	atomic_close(f, tmp, path);
	free(path);
}

int32_t *assignment_read(const char *dir, const char *ntype, int64_t n, int *ret_num_parts)
{
	char name[512], *path = path_join(dir, "partition_meta.json");
	json_error_t je;
	json_t *m = json_load_file(path, 0, &je);
	int32_t *part;
	int np;
	FILE *f;
	long long v;
	int64_t i = 0;

	if (!m)
		die("%s: line %d: %s", path, je.line, je.text);
	np = (int)json_integer_value(json_object_get(m, "num_parts"));
	if (np <= 0 || strcmp(json_string_value(json_object_get(m, "version")) ?: "", "1.0.0"))
		die("%s: not a DGL partition_meta.json (num_parts > 0, version 1.0.0)", path);
	json_decref(m);
	free(path);
	snprintf(name, sizeof(name), "%s.txt", ntype);
	path = path_join(dir, name);
	f = fopen(path, "r");
	if (!f)
		die("cannot open '%s': %s", path, strerror(errno));
	part = xmalloc((size_t)n * sizeof(*part));
	while (fscanf(f, "%lld", &v) == 1) {
		if (i >= n)
			die("%s: more than %lld lines", path, (long long)n);
		if (v < 0 || v >= np)
			die("%s:%lld: partition %lld is not in [0, %d)", path, (long long)i + 1, v,
			    np);
		part[i++] = (int32_t)v;
	}
	if (!feof(f) || i != n)
		die("%s: %lld lines, the graph has %lld nodes", path, (long long)i, (long long)n);
	fclose(f);
	free(path);
	*ret_num_parts = np;
	return part;
}

struct cut cut_measure(const struct edges *e, const int32_t *part, int64_t n, int num_parts)
{
	int64_t *size = calloc((size_t)num_parts, sizeof(*size)), max = 0;
	struct cut c = {0};

	if (!size)
		die("out of memory");
	for (size_t i = 0; i < e->n; i++)
		c.cut += part[e->v[2 * i]] != part[e->v[2 * i + 1]];
	for (int64_t i = 0; i < n; i++)
		size[part[i]]++;
	for (int p = 0; p < num_parts; p++)
		max = size[p] > max ? size[p] : max;
	c.balance = n ? (double)max * num_parts / (double)n : 1.0;
	free(size);
	return c;
}

/* ---- files ---- */

FILE *atomic_open(const char *path, char **ret_tmp)
{
	size_t n = strlen(path) + 32;
	char *tmp = xmalloc(n);
	FILE *f;

	snprintf(tmp, n, "%s.tmp.%d", path, (int)getpid());
	f = fopen(tmp, "w");
	if (!f)
		die("cannot create '%s': %s", tmp, strerror(errno));
	*ret_tmp = tmp;
	return f;
}

void atomic_close(FILE *f, char *tmp, const char *path)
{
	if (fflush(f) || ferror(f) || fclose(f))
		die("cannot write '%s': %s", tmp, strerror(errno));
	if (rename(tmp, path))
		die("cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
	free(tmp);
}

void mkdir_p(const char *path)
{
	char *p = xstrdup(path);

	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			if (mkdir(p, 0755) && errno != EEXIST)
				die("cannot make '%s': %s", p, strerror(errno));
			*s = '/';
		}
	if (mkdir(p, 0755) && errno != EEXIST)
		die("cannot make '%s': %s", p, strerror(errno));
	free(p);
}

/* ---- hosts ---- */

char *ml_path(const char *rel)
{
	const char *base = getenv("SAGEMAKER_BASE_DIR");
	size_t n;
	char *s;

	if (!base || !*base)
		base = "/opt/ml";
	n = strlen(base) + strlen(rel) + 2;
	s = xmalloc(n);
	snprintf(s, n, "%s/%s", base, rel);
	return s;
}

void hosts_load(struct hosts *h)
{
	char *rc = ml_path("config/resourceconfig.json");
	const char *env = getenv("SM_TRAINING_ENV");
	json_error_t je;
	json_t *m = json_load_file(rc, 0, &je), *list;

	if (!m && env)
		m = json_loads(env, 0, &je);
	if (!m)
		die("no %s and no SM_TRAINING_ENV: not in a SageMaker job", rc);
	list = json_object_get(m, "hosts");
	if (!json_is_array(list) || !json_array_size(list) ||
	    !json_is_string(json_object_get(m, "current_host")))
		die("the job's host list has no hosts or no current_host");
	free(rc);
	memset(h, 0, sizeof(*h));
	h->n = json_array_size(list);
	h->names = xmalloc(h->n * sizeof(*h->names));
	h->current = xstrdup(json_string_value(json_object_get(m, "current_host")));
	h->rank = h->n;
	for (size_t i = 0; i < h->n; i++) {
		h->names[i] = xstrdup(json_string_value(json_array_get(list, i)) ?: "");
		if (!strcmp(h->names[i], h->current))
			h->rank = i;
	}
	if (h->rank == h->n)
		die("current_host %s is not in the host list", h->current);
	json_decref(m);
}

void hosts_release(struct hosts *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->names[i]);
	free(h->names);
	free(h->current);
}

const char *hosts_leader(const struct hosts *h)
{
	const char *l = h->names[0];

	for (size_t i = 1; i < h->n; i++)
		if (strcmp(h->names[i], l) < 0)
			l = h->names[i];
	return l;
}

/* ---- the rendezvous ---- */

static struct sockaddr_in resolve(const char *host, int port)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai;
	struct sockaddr_in a;
	int g = getaddrinfo(host, NULL, &hints, &ai);

	if (g)
		die("cannot resolve %s: %s", host, gai_strerror(g));
	memcpy(&a, ai->ai_addr, sizeof(a));
	a.sin_port = htons((uint16_t)port);
	freeaddrinfo(ai);
	return a;
}

void rdv_start(struct rdv *v, const struct hosts *h, int port)
{
	const char *leader = hosts_leader(h);
	struct sockaddr_in a = resolve(leader, port);
	int one = 1;

	memset(v, 0, sizeof(*v));
	if (!strcmp(h->current, leader)) {
		int srv = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (srv < 0 || setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
		    bind(srv, (struct sockaddr *)&a, sizeof(a)) || listen(srv, (int)h->n))
			die("%s: cannot listen on %s:%d: %s", h->current, leader, port,
			    strerror(errno));
		v->n = h->n - 1;
		v->fds = xmalloc((v->n ? v->n : 1) * sizeof(int));
		for (size_t i = 0; i < v->n; i++) {
			v->fds[i] = accept4(srv, NULL, NULL, SOCK_CLOEXEC);
			if (v->fds[i] < 0)
				die("%s: accept: %s", h->current, strerror(errno));
		}
		close(srv);
		return;
	}
	v->n = 1;
	v->fds = xmalloc(sizeof(int));
	/* GraphStorm retries 30 times 10 s apart; the leader is usually up within a second. */
	for (int i = 0;; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			v->fds[0] = fd;
			break;
		}
		if (fd >= 0)
			close(fd);
		if (i == 3000)
			die("%s: cannot reach the leader %s:%d", h->current, leader, port);
		usleep(100 * 1000);
	}
}

void rdv_send(int fd, const char *word)
{
	size_t n = strlen(word);
	char buf[256];

	snprintf(buf, sizeof(buf), "%s\n", word);
	if (send(fd, buf, n + 1, MSG_NOSIGNAL) != (ssize_t)(n + 1))
		die("send '%s': %s", word, strerror(errno));
}

char *rdv_recv(int fd)
{
	char buf[256];
	size_t n = 0;

	while (n + 1 < sizeof(buf)) {
		ssize_t k = recv(fd, buf + n, 1, 0);

		if (k <= 0)
			return NULL;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return xstrdup(buf);
		}
		n++;
	}
	buf[n] = '\0';
	return xstrdup(buf);
}

void rdv_close(struct rdv *v)
{
	for (size_t i = 0; i < v->n; i++)
		close(v->fds[i]);
	free(v->fds);
	memset(v, 0, sizeof(*v));
}

int run_wait(char *const argv[])
{
	pid_t pid;
	int st;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
