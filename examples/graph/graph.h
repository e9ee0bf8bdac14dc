/* graph.h - what the stages of the graph pipeline share: DGL's chunked graph format
 * (metadata.json, `src dst` edge chunks), the partition-assignment format, a seeded random
 * generator, the hosts of a SageMaker job and GraphStorm's leader rendezvous on port 12000.
 *
 * Every function that can fail prints what failed to stderr and exits 1: these are example
 * programs, a job's host, whose exit status is what the job reports. */
#ifndef GRAPH_H
#define GRAPH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- errors ---- */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* ---- a seeded generator (splitmix64 seeding xoshiro256**), the same on every machine ---- */
struct rng {
	uint64_t s[4];
};
void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, n), without modulo bias. */
uint64_t rng_below(struct rng *r, uint64_t n);
double rng_unit(struct rng *r);

/* ---- DGL's chunked graph format: one node type, one edge type ---- */
struct chunked {
	char *dir;	  /* the folder metadata.json is in */
	char *graph_name; /* metadata's graph_name */
	char *ntype;	  /* node_type[0] */
	char *etype;	  /* edge_type[0], "src:rel:dst" */
	int64_t num_nodes;
	int64_t num_edges;
	size_t n_edge_files;
	char **edge_files; /* absolute (or relative to dir, joined) */
};
void chunked_load(struct chunked *g, const char *dir);
void chunked_release(struct chunked *g);

/* A list of edges, `src dst` pairs. */
struct edges {
	int64_t *v; /* 2 * n */
	size_t n, cap;
};
void edges_push(struct edges *e, int64_t src, int64_t dst);
void edges_release(struct edges *e);
/* Read the edge files [first, last) of `g` (their `src dst` lines), each id checked against
 * num_nodes. */
void chunked_read_edges(const struct chunked *g, size_t first, size_t last, struct edges *out);
/* The slice of `n` files that rank `r` of `size` reads, as numpy's array_split does
 * (GraphStorm's parallel_download_graph): the first n % size ranks get one more. */
void split_range(size_t n, int r, int size, size_t *first, size_t *last);

/* ---- DGL's partition assignment: <ntype>.txt (line i = the partition of node i) and
 * partition_meta.json ---- */
void assignment_write(const char *dir, const char *ntype, const int32_t *part, int64_t n,
		      const char *algo, int num_parts);
/* Read <dir>/<ntype>.txt, which must hold exactly n lines, each in [0, num_parts) where
 * num_parts comes from partition_meta.json (returned). */
int32_t *assignment_read(const char *dir, const char *ntype, int64_t n, int *ret_num_parts);

/* The edge cut (undirected edges whose ends lie in different parts) and balance (the largest
 * part's size over the average) of an assignment. */
struct cut {
	int64_t cut;
	double balance;
};
struct cut cut_measure(const struct edges *e, const int32_t *part, int64_t n, int num_parts);

/* ---- files ---- */
/* Write `path` whole: a temporary beside it, then rename. */
FILE *atomic_open(const char *path, char **ret_tmp);
void atomic_close(FILE *f, char *tmp, const char *path);
void mkdir_p(const char *path);
char *path_join(const char *a, const char *b);

/* ---- the job's hosts, as GraphStorm finds them ---- */
struct hosts {
	char **names; /* as the job lists them (the service sorts them) */
	size_t n;
	char *current;
	size_t rank; /* the current host's index */
};
/* `rel` under the job's /opt/ml, or under $SAGEMAKER_BASE_DIR where the host's tree is
 * elsewhere (sagerun's process backend); the caller frees it. */
char *ml_path(const char *rel);
/* A processing job's /opt/ml/config/resourceconfig.json; a training job's SM_TRAINING_ENV
 * when there is no such file (GraphStorm's fallback). */
void hosts_load(struct hosts *h);
void hosts_release(struct hosts *h);
/* The leader: sorted(hosts)[0]. */
const char *hosts_leader(const struct hosts *h);

/* ---- GraphStorm's leader rendezvous (sagemaker_partition.py, port 12000) ---- */
#define RDV_PORT 12000
struct rdv {
	int *fds; /* the leader: one socket per worker; a worker: fds[0] to the leader */
	size_t n;
};
/* The leader binds its address and accepts every other host, a worker connects (retrying
 * while the leader is not up yet, as GraphStorm does).  Every worker sends `hello`, the
 * leader's rdv_gather gets them in host order. */
void rdv_start(struct rdv *v, const struct hosts *h, int port);
void rdv_send(int fd, const char *word);
/* One line from `fd`; NULL when the other side went away. */
char *rdv_recv(int fd);
void rdv_close(struct rdv *v);

/* Run argv (never a shell) and wait: its exit status (128 + signal when killed). */
int run_wait(char *const argv[]);

double now_s(void);

#endif
