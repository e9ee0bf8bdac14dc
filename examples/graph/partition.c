/* partition.c - the partition stage: a processing job on N hosts, as GraphStorm's partition
 * job runs (sagemaker_partition.py): the hosts from /opt/ml/config/resourceconfig.json, the
 * leader sorted(hosts)[0] on port 12000, each host reading its slice of the edge chunks.
 *
 *   partition --algo random|parmetis --num-parts P [--seed S] [--in DIR] [--out DIR]
 *
 * random:   GraphStorm's RandomPartitionAlgorithm: the first P nodes get a shuffled
 *           permutation of the parts (every part gets a node), the rest a uniform part.
 * parmetis: a distributed k-way partition with ParMETIS_V3_PartKway (PT-Scotch's ParMETIS
 *           interface): the leader runs `mpirun --hostfile` across the hosts (sagerun is its
 *           launch agent, no sshd), one rank per host, each rank reading its slice of the
 *           chunks and owning a block of the nodes.
 * Either way the leader writes DGL's partition assignment to DIR (default
 * /opt/ml/processing/output/partition): <ntype>.txt, line i the part of node i, and
 * partition_meta.json; then tells the workers PartitionDone (or PartitionFail), and every
 * host exits.  The graph comes from DIR (default /opt/ml/processing/input/graph).
 *
 * GRAPH_TEST_HOLD=PATH (tests only): every MPI rank, its edges exchanged and just before
 * ParMETIS, makes PATH.<rank> and waits for PATH.go, so that a test can kill a host there. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* PT-Scotch's ParMETIS header wants its types first; it names no idx_t or real_t, its
 * prototypes take SCOTCH_Num (an int in Debian's build) and float. */
#include <stdint.h>
#include <ptscotch.h>
#include <parmetis.h>

typedef SCOTCH_Num idx_t;
typedef float real_t;
_Static_assert(sizeof(idx_t) == sizeof(int), "parts travel as MPI_INT");

#include "graph.h"
#include "graph_mpi.h"

struct opts {
	const char *algo, *in, *out;
	int num_parts;
	uint64_t seed;
	int mpi; /* the MPI program, run by mpirun */
};

static void usage(void)
{
	die("usage: partition --algo random|parmetis --num-parts P [--seed S] [--in DIR] "
	    "[--out DIR]");
}

static void parse(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){.algo = "random",
			   .in = ml_path("processing/input/graph"),
			   .out = ml_path("processing/output/partition"),
			   .seed = 1};
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--mpi")) {
			o->mpi = 1;
			i--; /* a flag without a value */
			continue;
		}
		if (!v)
			usage();
		if (!strcmp(a, "--algo"))
			o->algo = v;
		else if (!strcmp(a, "--num-parts"))
			o->num_parts = atoi(v);
		else if (!strcmp(a, "--seed"))
			o->seed = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--in"))
			o->in = v;
		else if (!strcmp(a, "--out"))
			o->out = v;
		else
			usage();
	}
	if (strcmp(o->algo, "random") && strcmp(o->algo, "parmetis"))
		die("partition: --algo must be random or parmetis, not '%s'", o->algo);
	/* GraphStorm: 0 < num_parts < 2^16. */
	if (o->num_parts < 1 || o->num_parts >= 1 << 16)
		die("partition: --num-parts must be 1 to 65535");
}

/* ---- random, as GraphStorm's random_partition.py ---- */

static int32_t *random_assignment(int64_t n, int num_parts, uint64_t seed)
{
	int32_t *part = xmalloc((size_t)n * sizeof(*part));
	struct rng r;

	if (n < num_parts)
		die("partition: %lld nodes cannot fill %d parts", (long long)n, num_parts);
	rng_seed(&r, seed);
	for (int i = 0; i < num_parts; i++)
		part[i] = i;
	for (int i = num_parts - 1; i > 0; i--) {
		int j = (int)rng_below(&r, (uint64_t)i + 1), t = part[i];

		part[i] = part[j];
		part[j] = t;
	}
	for (int64_t i = num_parts; i < n; i++)
		part[i] = (int32_t)rng_below(&r, (uint64_t)num_parts);
	return part;
}

/* ---- parmetis: the MPI program ---- */

static void hold_for_test(int rank)
{
	const char *hold = getenv("GRAPH_TEST_HOLD");
	char path[4096];
	FILE *f;

	if (!hold || !*hold)
		return;
	snprintf(path, sizeof(path), "%s.%d", hold, rank);
	f = fopen(path, "w");
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "%s.go", hold);
	while (access(path, F_OK))
		usleep(50 * 1000);
}

struct dist {
	const idx_t *vtxdist;
	int size;
};

/* The owner of node v in the block distribution vtxdist. */
static int block_owner(int64_t v, const void *ctx)
{
	const struct dist *d = ctx;
	const idx_t *vtxdist = d->vtxdist;
	int lo = 0, hi = d->size - 1;

	while (lo < hi) {
		int mid = (lo + hi + 1) / 2;

		if (vtxdist[mid] <= v)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

static int parmetis_main(const struct opts *o)
{
	MPI_Comm comm = MPI_COMM_WORLD;
	int rank, size, provided;
	struct chunked g;
	double t0;

	/* Plain MPI_Init: PartKway aborted with MPI_ERR_TRUNCATE in MPI_Allreduce on 4 ranks. */
	MPI_Init_thread(NULL, NULL, MPI_THREAD_MULTIPLE, &provided);
	MPI_Comm_rank(comm, &rank);
	MPI_Comm_size(comm, &size);
	t0 = MPI_Wtime();
	chunked_load(&g, o->in);
	if (g.num_nodes > INT_MAX / 2)
		die("partition: %lld nodes: idx_t is an int here", (long long)g.num_nodes);
	idx_t *vtxdist = xmalloc((size_t)(size + 1) * sizeof(*vtxdist));
	for (int r = 0; r <= size; r++) {
		size_t f, l;

		split_range((size_t)g.num_nodes, r < size ? r : size - 1, size, &f, &l);
		vtxdist[r] = (idx_t)(r < size ? f : l);
	}
	/* Both directions of every edge of this rank's slice of the chunks, at their owners. */
	struct dist d = {vtxdist, size};
	struct edges adj = {0};
	mpi_owned_adjacency(&g, block_owner, &d, comm, &adj);
	size_t k = adj.n;
	int64_t *rbuf = adj.v;
	idx_t nlocal = vtxdist[rank + 1] - vtxdist[rank];
	idx_t *xadj = calloc((size_t)nlocal + 1, sizeof(idx_t));
	idx_t *adjncy = xmalloc((k ? k : 1) * sizeof(idx_t));
	idx_t *part = xmalloc(((size_t)nlocal + 1) * sizeof(idx_t));
	if (!xadj)
		die("out of memory");
	for (size_t i = 0; i < k; i++) {
		xadj[rbuf[2 * i] - vtxdist[rank] + 1]++;
		adjncy[i] = (idx_t)rbuf[2 * i + 1];
	}
	for (idx_t i = 0; i < nlocal; i++)
		xadj[i + 1] += xadj[i];
	free(rbuf);

	hold_for_test(rank);
	idx_t wgtflag = 0, numflag = 0, ncon = 1, nparts = o->num_parts, edgecut = 0;
	idx_t options[3] = {1, 0, (idx_t)o->seed};
	real_t *tpwgts = xmalloc((size_t)nparts * sizeof(real_t)), ubvec = 1.05f;
	for (idx_t i = 0; i < nparts; i++)
		tpwgts[i] = 1.0f / (real_t)nparts;
	double tp = MPI_Wtime();
	int rc = ParMETIS_V3_PartKway(vtxdist, xadj, adjncy, NULL, NULL, &wgtflag, &numflag, &ncon,
				      &nparts, tpwgts, &ubvec, options, &edgecut, part, &comm);
	tp = MPI_Wtime() - tp;
	if (rc != METIS_OK)
		die("partition: rank %d: ParMETIS_V3_PartKway returned %d", rank, rc);

	/* Every rank the whole assignment; the cut counted here (the call leaves edgecut 0). */
	int *counts = xmalloc((size_t)size * sizeof(int)),
	    *displs = xmalloc((size_t)size * sizeof(int));
	for (int r = 0; r < size; r++) {
		counts[r] = vtxdist[r + 1] - vtxdist[r];
		displs[r] = vtxdist[r];
	}
	int32_t *all = xmalloc((size_t)g.num_nodes * sizeof(int32_t));
	MPI_Allgatherv(part, nlocal, MPI_INT, all, counts, displs, MPI_INT, comm);
	long long cut2 = 0, cut;
	for (idx_t i = 0; i < nlocal; i++)
		for (idx_t j = xadj[i]; j < xadj[i + 1]; j++)
			cut2 += part[i] != all[adjncy[j]];
	MPI_Reduce(&cut2, &cut, 1, MPI_LONG_LONG, MPI_SUM, 0, comm);
	if (rank == 0) {
		struct edges none = {0};
		struct cut c = cut_measure(&none, all, g.num_nodes, o->num_parts);

		assignment_write(o->out, g.ntype, all, g.num_nodes, "metis", o->num_parts);
		printf("partition: parmetis: %d parts over %d ranks, edge cut %lld, balance %.3f, "
		       "ParMETIS %.3f s, rank 0 total %.3f s\n",
		       o->num_parts, size, cut / 2, c.balance, tp, MPI_Wtime() - t0);
	}
	free(all);
	free(counts);
	free(displs);
	free(tpwgts);
	free(part);
	free(adjncy);
	free(xadj);
	free(vtxdist);
	chunked_release(&g);
	MPI_Finalize();
	return 0;
}

/* ---- the host entry point ---- */

/* The leader's mpirun across the hosts, one rank each: sagerun's rsh agent is its launch
 * agent and root may run it (OMPI_MCA_plm_rsh_agent, OMPI_ALLOW_RUN_AS_ROOT from sagerun). */
static int run_parmetis(const struct opts *o, const struct hosts *h, const char *self)
{
	char np[16], parts[16], seed[32];
	FILE *f = fopen("/tmp/graph-hostfile", "w");

	if (!f)
		die("cannot write /tmp/graph-hostfile: %s", strerror(errno));
	for (size_t i = 0; i < h->n; i++)
		fprintf(f, "%s slots=1\n", h->names[i]);
	fclose(f);
	snprintf(np, sizeof(np), "%zu", h->n);
	snprintf(parts, sizeof(parts), "%d", o->num_parts);
	snprintf(seed, sizeof(seed), "%llu", (unsigned long long)o->seed);
	char *argv[] = {"mpirun",
			"--hostfile",
			"/tmp/graph-hostfile",
			"-np",
			np,
			"-x",
			"GRAPH_TEST_HOLD",
			(char *)self,
			"--mpi",
			"--algo",
			"parmetis",
			"--num-parts",
			parts,
			"--seed",
			seed,
			"--in",
			(char *)o->in,
			"--out",
			(char *)o->out,
			NULL};
	if (!getenv("GRAPH_TEST_HOLD"))
		memmove(&argv[5], &argv[7], (sizeof(argv) / sizeof(*argv) - 7) * sizeof(*argv));
	return run_wait(argv);
}

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	stopping = sig;
}

/* The job's ExitMessage (/opt/ml/output/message): why the partitioning failed, in a line.  A
 * stop (the job failing elsewhere: a host gone) waits for mpirun to end first. */
static void exit_message(int rc)
{
	const char *why = stopping ? "the job was stopped (a host failed or went away)"
				   : "a rank failed or a host went away";
	char *path = ml_path("output/message");
	FILE *f = fopen(path, "w");

	fprintf(stderr, "partition: parmetis failed: mpirun exited %d: %s\n", rc, why);
	if (f) {
		fprintf(f, "partition: parmetis failed: mpirun exited %d: %s\n", rc, why);
		fclose(f);
	}
	free(path);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct hosts h;
	struct rdv v;
	struct chunked g;
	struct edges slice = {0};
	size_t first, last;
	long long total;
	double t0 = now_s();
	char self[PATH_MAX];

	parse(argc, argv, &o);
	if (o.mpi)
		return parmetis_main(&o);
	/* SIGINT or SIGTERM (StopProcessingJob, or another host failed): mpirun gets it too;
	 * this process waits for it and says why. */
	struct sigaction sa = {.sa_handler = on_stop};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!realpath(argv[0], self))
		die("cannot find myself (%s): %s", argv[0], strerror(errno));
	hosts_load(&h);
	chunked_load(&g, o.in);
	/* Each host reads its slice of the chunks (GraphStorm downloads it): checked here, so a
	 * bad chunk fails the job before any partitioning. */
	split_range(g.n_edge_files, (int)h.rank, (int)h.n, &first, &last);
	chunked_read_edges(&g, first, last, &slice);
	total = (long long)slice.n;
	printf("partition: %s read edge chunks [%zu, %zu): %zu edges\n", h.current, first, last,
	       slice.n);
	rdv_start(&v, &h, RDV_PORT);
	if (strcmp(h.current, hosts_leader(&h))) {
		char word[64], *reply;

		snprintf(word, sizeof(word), "edges %zu", slice.n);
		rdv_send(v.fds[0], word);
		reply = rdv_recv(v.fds[0]);
		printf("partition: %s: the leader says %s\n", h.current, reply ? reply : "nothing");
		return reply && !strcmp(reply, "PartitionDone") ? 0 : 1;
	}
	for (size_t i = 0; i < v.n; i++) {
		char *w = rdv_recv(v.fds[i]);

		if (!w || strncmp(w, "edges ", 6))
			die("partition: a worker went away before the partitioning");
		total += atoll(w + 6);
		free(w);
	}
	if (g.num_edges >= 0 && total != g.num_edges)
		die("partition: the chunks hold %lld edges, metadata.json says %lld", total,
		    (long long)g.num_edges);
	printf("partition: %zu hosts, %lld nodes, %lld edges, algorithm %s, %d parts\n", h.n,
	       (long long)g.num_nodes, total, o.algo, o.num_parts);
	int rc = 0;
	if (!strcmp(o.algo, "random")) {
		int32_t *part = random_assignment(g.num_nodes, o.num_parts, o.seed);
		struct edges none = {0};

		assignment_write(o.out, g.ntype, part, g.num_nodes, "random", o.num_parts);
		printf("partition: random: balance %.3f\n",
		       cut_measure(&none, part, g.num_nodes, o.num_parts).balance);
		free(part);
	} else {
		rc = run_parmetis(&o, &h, self);
		if (rc)
			exit_message(rc);
	}
	for (size_t i = 0; i < v.n; i++)
		rdv_send(v.fds[i], rc ? "PartitionFail" : "PartitionDone");
	printf("partition: stage time %.3f s\n", now_s() - t0);
	rdv_close(&v);
	edges_release(&slice);
	chunked_release(&g);
	hosts_release(&h);
	return rc ? 1 : 0;
}
