/* evaluate.c - checks and measures what the pipeline wrote, on the machine that ran it.
 *
 *   evaluate --graph DIR --partition DIR       the assignment checked as DGL reads it (every
 *                                               node assigned, ids in range), then its edge
 *                                               cut and balance:
 *                                               `edge_cut C edges E balance B parts P`
 *   evaluate --graph DIR --metis-part FILE --num-parts P
 *                                               the same for gpmetis's output (line i the part
 *                                               of node i)
 *   evaluate --graph DIR --metis-graph FILE    the graph in METIS's format, for gpmetis
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* METIS's format: "n m", then line i the neighbours of node i, 1-based, each edge both ways. */
static void write_metis(const struct chunked *g, const struct edges *e, const char *path)
{
	int64_t n = g->num_nodes, *deg = calloc((size_t)n + 1, sizeof(int64_t));
	int64_t *adj = xmalloc(2 * e->n * sizeof(int64_t)), *fill;
	char *tmp;
	FILE *f;

	if (!deg)
		die("out of memory");
	for (size_t i = 0; i < e->n; i++) {
		deg[e->v[2 * i] + 1]++;
		deg[e->v[2 * i + 1] + 1]++;
	}
	for (int64_t i = 0; i < n; i++)
		deg[i + 1] += deg[i];
	fill = calloc((size_t)n, sizeof(int64_t));
	if (!fill)
		die("out of memory");
	for (size_t i = 0; i < e->n; i++) {
		int64_t u = e->v[2 * i], v = e->v[2 * i + 1];

		adj[deg[u] + fill[u]++] = v;
		adj[deg[v] + fill[v]++] = u;
	}
	f = atomic_open(path, &tmp);
	fprintf(f, "%lld %zu\n", (long long)n, e->n);
	for (int64_t i = 0; i < n; i++) {
		qsort(adj + deg[i], (size_t)(deg[i + 1] - deg[i]), sizeof(int64_t), cmp_i64);
		for (int64_t j = deg[i]; j < deg[i + 1]; j++)
			fprintf(f, "%s%lld", j > deg[i] ? " " : "", (long long)adj[j] + 1);
		fputc('\n', f);
	}
	atomic_close(f, tmp, path);
	free(fill);
	free(adj);
	free(deg);
}

static int32_t *read_metis_part(const char *path, int64_t n, int num_parts)
{
	FILE *f = fopen(path, "r");
	int32_t *part = xmalloc((size_t)n * sizeof(*part));
	long long v;
	int64_t i = 0;

	if (!f)
		die("cannot open '%s': %s", path, strerror(errno));
	while (fscanf(f, "%lld", &v) == 1) {
		if (i >= n || v < 0 || v >= num_parts)
			die("%s:%lld: not a partition of %lld nodes into %d parts", path,
			    (long long)i + 1, (long long)n, num_parts);
		part[i++] = (int32_t)v;
	}
	if (i != n)
		die("%s: %lld lines, the graph has %lld nodes", path, (long long)i, (long long)n);
	fclose(f);
	return part;
}

int main(int argc, char **argv)
{
	const char *graph = NULL, *partition = NULL, *metis_graph = NULL, *metis_part = NULL;
	int num_parts = 0;
	struct chunked g;
	struct edges e = {0};
	int32_t *part;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--graph"))
			graph = argv[i + 1];
		else if (!strcmp(argv[i], "--partition"))
			partition = argv[i + 1];
		else if (!strcmp(argv[i], "--metis-graph"))
			metis_graph = argv[i + 1];
		else if (!strcmp(argv[i], "--metis-part"))
			metis_part = argv[i + 1];
		else if (!strcmp(argv[i], "--num-parts"))
			num_parts = atoi(argv[i + 1]);
		else
			die("evaluate: unknown option '%s'", argv[i]);
	}
	if (!graph || !!partition + !!metis_graph + !!metis_part != 1 || argc % 2 == 0)
		die("usage: evaluate --graph DIR (--partition DIR | --metis-graph FILE | "
		    "--metis-part FILE --num-parts P)");
	chunked_load(&g, graph);
	chunked_read_edges(&g, 0, g.n_edge_files, &e);
	if (g.num_edges >= 0 && (int64_t)e.n != g.num_edges)
		die("%s: the chunks hold %zu edges, metadata.json says %lld", graph, e.n,
		    (long long)g.num_edges);
	if (metis_graph) {
		write_metis(&g, &e, metis_graph);
	} else {
		if (partition)
			part = assignment_read(partition, g.ntype, g.num_nodes, &num_parts);
		else if (num_parts < 1)
			die("evaluate: --metis-part needs --num-parts");
		else
			part = read_metis_part(metis_part, g.num_nodes, num_parts);
		struct cut c = cut_measure(&e, part, g.num_nodes, num_parts);
		printf("edge_cut %lld edges %zu balance %.3f parts %d\n", (long long)c.cut, e.n,
		       c.balance, num_parts);
		free(part);
	}
	edges_release(&e);
	chunked_release(&g);
	return 0;
}
