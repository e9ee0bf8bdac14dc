/* graph_mpi.h - what the MPI stages (partition's ParMETIS ranks, train's PageRank ranks)
 * share: the graph's edges read a slice of the chunks per rank and sent to the ranks that
 * own their ends. */
#ifndef GRAPH_MPI_H
#define GRAPH_MPI_H

#include <mpi.h>

#include "graph.h"

/* The rank that owns node v. */
typedef int (*owner_fn)(int64_t v, const void *ctx);

/* Every rank reads its slice of g's edge chunks (split_range over the files) and sends both
 * directions of each edge to the owner of its first end.  *out gets this rank's (u, v) pairs,
 * u owned here, sorted by (u, v), each pair once and no self loop: the rows of this rank's
 * adjacency, with global ids. */
void mpi_owned_adjacency(const struct chunked *g, owner_fn owner, const void *ctx, MPI_Comm comm,
			 struct edges *out);

#endif
