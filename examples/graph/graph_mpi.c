/* graph_mpi.c - the edges of a chunked graph to the ranks that own them (graph_mpi.h). */
#include "graph_mpi.h"

#include <stdlib.h>
#include <string.h>

static int cmp_pair(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return x[1] < y[1] ? -1 : x[1] > y[1];
}

void mpi_owned_adjacency(const struct chunked *g, owner_fn owner, const void *ctx, MPI_Comm comm,
			 struct edges *out)
{
	struct edges mine = {0};
	size_t first, last;
	int rank, size;

	MPI_Comm_rank(comm, &rank);
	MPI_Comm_size(comm, &size);
	split_range(g->n_edge_files, rank, size, &first, &last);
	chunked_read_edges(g, first, last, &mine);
	/* Counts in int64_t values, as MPI's int counts take them: fine below 2^31 per rank. */
	int *scount = calloc((size_t)size, sizeof(int)),
	    *rcount = calloc((size_t)size, sizeof(int));
	int *sdisp = calloc((size_t)size + 1, sizeof(int)),
	    *rdisp = calloc((size_t)size + 1, sizeof(int));
	int *fill = calloc((size_t)size, sizeof(int));

	if (!scount || !rcount || !sdisp || !rdisp || !fill)
		die("out of memory");
	for (size_t i = 0; i < mine.n; i++) {
		scount[owner(mine.v[2 * i], ctx)] += 2;
		scount[owner(mine.v[2 * i + 1], ctx)] += 2;
	}
	MPI_Alltoall(scount, 1, MPI_INT, rcount, 1, MPI_INT, comm);
	for (int r = 0; r < size; r++) {
		sdisp[r + 1] = sdisp[r] + scount[r];
		rdisp[r + 1] = rdisp[r] + rcount[r];
	}
	int64_t *sbuf = xmalloc((size_t)sdisp[size] * sizeof(int64_t));
	int64_t *rbuf = xmalloc((size_t)rdisp[size] * sizeof(int64_t));

	for (size_t i = 0; i < mine.n; i++)
		for (int d = 0; d < 2; d++) {
			int64_t u = mine.v[2 * i + d], v = mine.v[2 * i + 1 - d];
			int q = owner(u, ctx);

			sbuf[sdisp[q] + fill[q]++] = u;
			sbuf[sdisp[q] + fill[q]++] = v;
		}
	MPI_Alltoallv(sbuf, scount, sdisp, MPI_INT64_T, rbuf, rcount, rdisp, MPI_INT64_T, comm);
	free(sbuf);
	edges_release(&mine);
	size_t np = (size_t)rdisp[size] / 2, k = 0;

	qsort(rbuf, np, 2 * sizeof(int64_t), cmp_pair);
	for (size_t i = 0; i < np; i++)
		if (rbuf[2 * i] != rbuf[2 * i + 1] &&
		    (!k || rbuf[2 * k - 2] != rbuf[2 * i] || rbuf[2 * k - 1] != rbuf[2 * i + 1])) {
			rbuf[2 * k] = rbuf[2 * i];
			rbuf[2 * k + 1] = rbuf[2 * i + 1];
			k++;
		}
	out->v = rbuf;
	out->n = out->cap = k;
	free(fill);
	free(scount);
	free(rcount);
	free(sdisp);
	free(rdisp);
}
