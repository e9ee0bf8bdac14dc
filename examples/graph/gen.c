/* gen.c - the graph construction stage: a synthetic graph with a power-law degree
 * distribution (R-MAT, Chakrabarti et al. 2004), written in DGL's chunked graph format.
 *
 *   gen --nodes M [--seed S] [--degree D] [--chunks K] [--feat-dim F] [--name NAME]
 *       [--out DIR]
 *
 * One node type `node`, one edge type `node:link:node`, M nodes and about M*D/2 edges with no
 * duplicate (in either direction) and no self loop, which ParMETIS refuses.  DIR (default
 * /opt/ml/processing/output/graph, a processing job's output) gets:
 *   metadata.json            graph_name, node_type, num_nodes_per_chunk, num_nodes_per_type,
 *                            edge_type, num_edges_per_chunk, num_edges_per_type, edges,
 *                            node_data, edge_data (DGL's distributed-preprocessing guide)
 *   edges/link-<i>.txt       K chunks of `src dst` lines
 *   node_data/feat-<i>.npy   K chunks of the node feature `feat`, float32 [rows, F]
 * The same arguments give the same files on any machine. */
#include <stdlib.h>
#include <string.h>

#include "graph.h"

struct opts {
	int64_t nodes;
	uint64_t seed;
	double degree;
	int chunks, feat_dim;
	const char *name, *out;
};

static void usage(void)
{
	die("usage: gen --nodes M [--seed S] [--degree D] [--chunks K] [--feat-dim F] "
	    "[--name NAME] [--out DIR]");
}

static void parse(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){.seed = 1,
			   .degree = 10,
			   .chunks = 4,
			   .feat_dim = 8,
			   .name = "synthetic",
			   .out = ml_path("processing/output/graph")};
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		if (!strcmp(a, "--nodes"))
			o->nodes = strtoll(v, NULL, 10);
		else if (!strcmp(a, "--seed"))
			o->seed = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--degree"))
			o->degree = strtod(v, NULL);
		else if (!strcmp(a, "--chunks"))
			o->chunks = atoi(v);
		else if (!strcmp(a, "--feat-dim"))
			o->feat_dim = atoi(v);
		else if (!strcmp(a, "--name"))
			o->name = v;
		else if (!strcmp(a, "--out"))
			o->out = v;
		else
			usage();
	}
	if (o->nodes < 2 || o->nodes > (int64_t)1 << 31)
		die("gen: --nodes must be 2 to 2^31");
	if (o->degree <= 0 || o->degree >= (double)o->nodes - 1)
		die("gen: --degree must be above 0 and below nodes - 1");
	if (o->chunks < 1 || o->chunks > 1024 || o->feat_dim < 1 || o->feat_dim > 4096)
		die("gen: --chunks must be 1 to 1024 and --feat-dim 1 to 4096");
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One R-MAT edge of a 2^scale x 2^scale adjacency matrix: at each level the quadrant
 * (a, b, c, d) = (0.57, 0.19, 0.19, 0.05), Graph500's parameters. */
static void rmat_edge(struct rng *r, int scale, uint64_t *u, uint64_t *v)
{
	*u = *v = 0;
	for (int l = 0; l < scale; l++) {
		double p = rng_unit(r);

		*u <<= 1;
		*v <<= 1;
		if (p < 0.57)
			;
		else if (p < 0.76)
			*v |= 1;
		else if (p < 0.95)
			*u |= 1;
		else
			*u |= 1, *v |= 1;
	}
}

/* Sorted, distinct undirected pairs (min * n + max), at least `want` of them. */
static uint64_t *rmat_pairs(struct rng *r, int64_t n, int64_t want, size_t *ret_n)
{
	int scale = 1;
	size_t have = 0, cap = (size_t)want + 16;
	uint64_t *keys = xmalloc(cap * sizeof(*keys)), un = (uint64_t)n;

	while (((int64_t)1 << scale) < n)
		scale++;
	for (int round = 0; (int64_t)have < want; round++) {
		size_t goal = have + (size_t)(want - (int64_t)have) * 5 / 4 + 16;

		if (round == 64)
			die("gen: cannot find %lld distinct edges among %lld nodes",
			    (long long)want, (long long)n);
		if (goal > cap) {
			cap = goal;
			keys = xrealloc(keys, cap * sizeof(*keys));
		}
		while (have < goal) {
			uint64_t u, v;

			rmat_edge(r, scale, &u, &v);
			if (u >= un || v >= un || u == v)
				continue;
			keys[have++] = u < v ? u * un + v : v * un + u;
		}
		qsort(keys, have, sizeof(*keys), cmp_u64);
		size_t k = 0;
		for (size_t i = 0; i < have; i++)
			if (!k || keys[k - 1] != keys[i])
				keys[k++] = keys[i];
		have = k;
	}
	*ret_n = have;
	return keys;
}

static void write_npy_chunk(const char *path, struct rng *r, int64_t rows, int dim)
{
	char *tmp, header[128];
	FILE *f = atomic_open(path, &tmp);
	int n = snprintf(header, sizeof(header),
			 "{'descr': '<f4', 'fortran_order': False, 'shape': (%lld, %d), }",
			 (long long)rows, dim);
	/* NPY 1.0: magic, version, a header length that pads the header to 64 bytes. */
	int total = 10 + n + 1, pad = (64 - total % 64) % 64;
	uint16_t hl = (uint16_t)(n + pad + 1);

	fwrite("\x93NUMPY\x01\x00", 1, 8, f);
	fputc(hl & 0xff, f);
	fputc(hl >> 8, f);
	fwrite(header, 1, (size_t)n, f);
	for (int i = 0; i < pad; i++)
		fputc(' ', f);
	fputc('\n', f);
	for (int64_t i = 0; i < rows * dim; i++) {
		float x = (float)rng_unit(r);

		fwrite(&x, sizeof(x), 1, f);
	}
	atomic_close(f, tmp, path);
}

static void json_chunks(FILE *f, int64_t total, int k)
{
	fputs("[[", f);
	for (int i = 0; i < k; i++) {
		size_t first, last;

		split_range((size_t)total, i, k, &first, &last);
		fprintf(f, "%s%zu", i ? ", " : "", last - first);
	}
	fputs("]]", f);
}

/* ["<folder>/<stem>-0.<ext>", ...] */
static void json_files(FILE *f, const char *folder, const char *stem, const char *ext, int k)
{
	fputc('[', f);
	for (int i = 0; i < k; i++)
		fprintf(f, "%s\"%s/%s-%d.%s\"", i ? ", " : "", folder, stem, i, ext);
	fputc(']', f);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct rng r;
	size_t m;
	uint64_t *keys;
	int64_t *perm;
	char *path, *tmp, *dir;
	double t0 = now_s();
	FILE *f;

	parse(argc, argv, &o);
	rng_seed(&r, o.seed);
	keys = rmat_pairs(&r, o.nodes, (int64_t)(o.degree * (double)o.nodes / 2), &m);
	/* R-MAT puts the hubs at low ids: a random relabelling, so that neither partitioner is
	 * handed the structure by the numbering. */
	perm = xmalloc((size_t)o.nodes * sizeof(*perm));
	for (int64_t i = 0; i < o.nodes; i++)
		perm[i] = i;
	for (int64_t i = o.nodes - 1; i > 0; i--) {
		int64_t j = (int64_t)rng_below(&r, (uint64_t)i + 1), t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	/* The edges in a random order and direction, so every chunk is a sample of the graph;
	 * as many as asked (the last round of R-MAT found more). */
	for (size_t i = m - 1; i > 0; i--) {
		size_t j = (size_t)rng_below(&r, (uint64_t)i + 1);
		uint64_t t = keys[i];

		keys[i] = keys[j];
		keys[j] = t;
	}
	if (m > (size_t)(o.degree * (double)o.nodes / 2))
		m = (size_t)(o.degree * (double)o.nodes / 2);
	mkdir_p(o.out);
	dir = path_join(o.out, "edges");
	mkdir_p(dir);
	free(dir);
	for (int c = 0; c < o.chunks; c++) {
		size_t first, last;
		char name[64];

		split_range(m, c, o.chunks, &first, &last);
		snprintf(name, sizeof(name), "edges/link-%d.txt", c);
		path = path_join(o.out, name);
		f = atomic_open(path, &tmp);
		for (size_t i = first; i < last; i++) {
			int64_t u = perm[keys[i] / (uint64_t)o.nodes],
				v = perm[keys[i] % (uint64_t)o.nodes];

			if (rng_next(&r) & 1)
				fprintf(f, "%lld %lld\n", (long long)u, (long long)v);
			else
				fprintf(f, "%lld %lld\n", (long long)v, (long long)u);
		}
		atomic_close(f, tmp, path);
		free(path);
	}
	dir = path_join(o.out, "node_data");
	mkdir_p(dir);
	free(dir);
	for (int c = 0; c < o.chunks; c++) {
		size_t first, last;
		char name[64];

		split_range((size_t)o.nodes, c, o.chunks, &first, &last);
		snprintf(name, sizeof(name), "node_data/feat-%d.npy", c);
		path = path_join(o.out, name);
		write_npy_chunk(path, &r, (int64_t)(last - first), o.feat_dim);
		free(path);
	}
	/* metadata.json last: a reader that finds it finds every file it names. */
	path = path_join(o.out, "metadata.json");
	f = atomic_open(path, &tmp);
	fprintf(f, "{\n  \"graph_name\": \"%s\",\n  \"node_type\": [\"node\"],\n", o.name);
	fputs("  \"num_nodes_per_chunk\": ", f);
	json_chunks(f, o.nodes, o.chunks);
	fprintf(f, ",\n  \"num_nodes_per_type\": [%lld],\n", (long long)o.nodes);
	fputs("  \"edge_type\": [\"node:link:node\"],\n  \"num_edges_per_chunk\": ", f);
	json_chunks(f, (int64_t)m, o.chunks);
	fprintf(f, ",\n  \"num_edges_per_type\": [%zu],\n", m);
	fputs("  \"edges\": {\"node:link:node\": {\"format\": {\"name\": \"csv\", \"delimiter\": "
	      "\" \"}, \"data\": ",
	      f);
	json_files(f, "edges", "link", "txt", o.chunks);
	fputs("}},\n  \"node_data\": {\"node\": {\"feat\": {\"format\": {\"name\": \"numpy\"}, "
	      "\"data\": ",
	      f);
	json_files(f, "node_data", "feat", "npy", o.chunks);
	fputs("}}},\n  \"edge_data\": {}\n}\n", f);
	atomic_close(f, tmp, path);
	free(path);
	printf("gen: %lld nodes, %zu edges in %d chunks, seed %llu, to %s\n", (long long)o.nodes, m,
	       o.chunks, (unsigned long long)o.seed, o.out);
	printf("gen: stage time %.3f s\n", now_s() - t0);
	free(perm);
	free(keys);
	return 0;
}
