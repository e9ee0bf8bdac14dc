/* train.c - the training stage: a training job on N hosts, one partition per host, finding
 * its peers as GraphStorm's sagemaker_train.py does (SM_TRAINING_ENV's hosts, MASTER_ADDR, an
 * ip_list.txt of the hosts' addresses, a leader that accepts every worker), then PageRank over
 * MPI with the halo (the neighbours other hosts hold) exchanged every iteration.
 *
 *   train [--graph DIR] [--partition DIR] [--model DIR] [--damping D] [--tol T]
 *         [--max-iters K]
 *
 * --graph (default $SM_CHANNEL_GRAPH) is the chunked graph, --partition (default
 * $SM_CHANNEL_PARTITION; none: nodes in blocks) a DGL partition assignment with one part per
 * host.  The graph is undirected: each edge counts both ways.  Every iteration
 *   pr'(v) = (1 - d) / N + d * (sum over neighbours u of pr(u) / deg(u) + dangling / N)
 * until the L1 change is below T.  Rank 0 writes the model to --model (default
 * $SM_MODEL_DIR): pagerank.txt (line i the score of node i, exact to the last bit) and
 * history.json (every iteration's L1 change). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "graph.h"
#include "graph_mpi.h"

#define TRAIN_PORT 12345 /* GraphStorm's fixed port before job-derived ones */

struct opts {
	const char *graph, *partition, *model;
	double damping, tol;
	int max_iters;
	int mpi;
};

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v && *v ? v : dflt;
}

static void parse(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){.graph = env_or("SM_CHANNEL_GRAPH", NULL),
			   .partition = env_or("SM_CHANNEL_PARTITION", NULL),
			   .model = env_or("SM_MODEL_DIR", "/opt/ml/model"),
			   .damping = 0.85,
			   .tol = 1e-10,
			   .max_iters = 200};
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--mpi")) {
			o->mpi = 1;
			i--; /* a flag without a value */
			continue;
		}
		if (!v)
			die("usage: train [--graph DIR] [--partition DIR] [--model DIR] "
			    "[--damping D] [--tol T] [--max-iters K]");
		if (!strcmp(a, "--graph"))
			o->graph = v;
		else if (!strcmp(a, "--partition"))
			o->partition = *v ? v : NULL;
		else if (!strcmp(a, "--model"))
			o->model = v;
		else if (!strcmp(a, "--damping"))
			o->damping = strtod(v, NULL);
		else if (!strcmp(a, "--tol"))
			o->tol = strtod(v, NULL);
		else if (!strcmp(a, "--max-iters"))
			o->max_iters = atoi(v);
		else
			die("train: unknown option '%s'", a);
	}
	if (!o->graph)
		die("train: no graph: give --graph or a channel named graph");
	if (o->damping <= 0 || o->damping >= 1 || o->tol <= 0 || o->max_iters < 1)
		die("train: --damping must be in (0, 1), --tol above 0, --max-iters at least 1");
}

/* ---- the MPI program ---- */

struct owners {
	const int32_t *part; /* NULL: blocks */
	int64_t n;
	int size;
};

static int owner_of(int64_t v, const void *ctx)
{
	const struct owners *o = ctx;

	if (o->part)
		return o->part[v];
	for (int r = o->size - 1; r > 0; r--) {
		size_t f, l;

		split_range((size_t)o->n, r, o->size, &f, &l);
		if ((size_t)v >= f)
			return r;
	}
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void write_model(const struct opts *o, const double *pr, int64_t n, const double *hist,
			int iters, int size, double secs)
{
	char *path = path_join(o->model, "pagerank.txt"), *tmp;
	FILE *f;

	mkdir_p(o->model);
	f = atomic_open(path, &tmp);
	for (int64_t i = 0; i < n; i++)
		fprintf(f, "%.17g\n", pr[i]);
	atomic_close(f, tmp, path);
	free(path);
	path = path_join(o->model, "history.json");
	f = atomic_open(path, &tmp);
	fprintf(f,
		"{\"algorithm\": \"pagerank\", \"nodes\": %lld, \"hosts\": %d, "
		"\"damping\": %.17g, \"tol\": %.17g, \"iterations\": %d, \"seconds\": %.3f, "
		"\"l1_change\": [",
		(long long)n, size, o->damping, o->tol, iters, secs);
	for (int i = 0; i < iters; i++)
		fprintf(f, "%s%.17g", i ? ", " : "", hist[i]);
	fputs("]}\n", f);
	atomic_close(f, tmp, path);
	free(path);
}

static int pagerank_main(const struct opts *o)
{
	MPI_Comm comm = MPI_COMM_WORLD;
	int rank, size, provided, np = 0;
	struct chunked g;
	struct owners own;
	struct edges adj = {0};
	double t0;

	MPI_Init_thread(NULL, NULL, MPI_THREAD_MULTIPLE, &provided);
	MPI_Comm_rank(comm, &rank);
	MPI_Comm_size(comm, &size);
	t0 = MPI_Wtime();
	chunked_load(&g, o->graph);
	own = (struct owners){NULL, g.num_nodes, size};
	int32_t *part =
	    o->partition ? assignment_read(o->partition, g.ntype, g.num_nodes, &np) : NULL;
	if (part && np != size)
		die("train: the partition has %d parts for %d hosts: one part per host", np, size);
	own.part = part;
	int64_t n = g.num_nodes;
	/* This rank's nodes, in id order, and every node's local index (-1: not here). */
	int64_t *g2l = xmalloc((size_t)n * sizeof(int64_t)), nlocal = 0;
	for (int64_t v = 0; v < n; v++)
		g2l[v] = owner_of(v, &own) == rank ? nlocal++ : -1;
	int64_t *l2g = xmalloc((size_t)(nlocal ? nlocal : 1) * sizeof(int64_t));
	for (int64_t v = 0; v < n; v++)
		if (g2l[v] >= 0)
			l2g[g2l[v]] = v;
	mpi_owned_adjacency(&g, owner_of, &own, comm, &adj);

	/* CSR rows, neighbours in id order (the same summation order on any number of hosts). */
	int64_t *xadj = calloc((size_t)nlocal + 1, sizeof(int64_t));
	if (!xadj)
		die("out of memory");
	for (size_t i = 0; i < adj.n; i++)
		xadj[g2l[adj.v[2 * i]] + 1]++;
	for (int64_t i = 0; i < nlocal; i++)
		xadj[i + 1] += xadj[i];
	/* The halo: neighbours held by other ranks, each once, grouped by owner. */
	int64_t *ghosts = xmalloc((adj.n ? adj.n : 1) * sizeof(int64_t));
	size_t ng = 0;
	for (size_t i = 0; i < adj.n; i++)
		if (g2l[adj.v[2 * i + 1]] < 0)
			ghosts[ng++] = adj.v[2 * i + 1];
	qsort(ghosts, ng, sizeof(int64_t), cmp_i64);
	size_t k = 0;
	for (size_t i = 0; i < ng; i++)
		if (!k || ghosts[k - 1] != ghosts[i])
			ghosts[k++] = ghosts[i];
	ng = k;
	int *rcount = calloc((size_t)size, sizeof(int)),
	    *scount = calloc((size_t)size, sizeof(int));
	int *rdisp = calloc((size_t)size + 1, sizeof(int)),
	    *sdisp = calloc((size_t)size + 1, sizeof(int));
	if (!rcount || !scount || !rdisp || !sdisp)
		die("out of memory");
	/* Ordered by owner, then id: the values come back in this order. */
	int64_t *byowner = xmalloc((ng ? ng : 1) * sizeof(int64_t));
	for (size_t i = 0; i < ng; i++)
		rcount[owner_of(ghosts[i], &own)]++;
	for (int r = 0; r < size; r++)
		rdisp[r + 1] = rdisp[r] + rcount[r];
	{
		int *fill = calloc((size_t)size, sizeof(int));

		if (!fill)
			die("out of memory");
		for (size_t i = 0; i < ng; i++) {
			int q = owner_of(ghosts[i], &own);

			byowner[rdisp[q] + fill[q]++] = ghosts[i];
		}
		free(fill);
	}
	/* Tell each owner which of its nodes this rank needs. */
	MPI_Alltoall(rcount, 1, MPI_INT, scount, 1, MPI_INT, comm);
	for (int r = 0; r < size; r++)
		sdisp[r + 1] = sdisp[r] + scount[r];
	int64_t *wanted = xmalloc((size_t)(sdisp[size] ? sdisp[size] : 1) * sizeof(int64_t));
	MPI_Alltoallv(byowner, rcount, rdisp, MPI_INT64_T, wanted, scount, sdisp, MPI_INT64_T,
		      comm);
	/* Where each neighbour's value is: local ones first, then the halo as received. */
	int64_t *slot = xmalloc((adj.n ? adj.n : 1) * sizeof(int64_t));
	for (size_t i = 0; i < adj.n; i++) {
		int64_t u = adj.v[2 * i + 1];

		if (g2l[u] >= 0) {
			slot[i] = g2l[u];
		} else {
			int q = owner_of(u, &own);
			int64_t *hit = bsearch(&u, byowner + rdisp[q], (size_t)rcount[q],
					       sizeof(int64_t), cmp_i64);

			slot[i] = nlocal + (hit - byowner);
		}
	}
	for (int r = 0; r < sdisp[size]; r++)
		wanted[r] = g2l[wanted[r]];
	long long halo = (long long)ng, halo_all = 0;
	MPI_Reduce(&halo, &halo_all, 1, MPI_LONG_LONG, MPI_SUM, 0, comm);
	printf("train: rank %d holds %lld nodes, %zu adjacency entries, a halo of %zu nodes\n",
	       rank, (long long)nlocal, adj.n, ng);
	fflush(stdout);

	double *pr = xmalloc((size_t)(nlocal ? nlocal : 1) * sizeof(double));
	double *next = xmalloc((size_t)(nlocal ? nlocal : 1) * sizeof(double));
	double *val = xmalloc((size_t)(nlocal + (int64_t)ng + 1) * sizeof(double));
	double *sval = xmalloc((size_t)(sdisp[size] ? sdisp[size] : 1) * sizeof(double));
	double *hist = xmalloc((size_t)o->max_iters * sizeof(double));
	int iters = 0;
	for (int64_t i = 0; i < nlocal; i++)
		pr[i] = 1.0 / (double)n;
	for (;;) {
		double dangling = 0, dsum, diff = 0, dall;

		for (int64_t i = 0; i < nlocal; i++) {
			int64_t deg = xadj[i + 1] - xadj[i];

			val[i] = deg ? pr[i] / (double)deg : 0;
			if (!deg)
				dangling += pr[i];
		}
		/* The halo exchange: each rank's contributions to the nodes others hold. */
		for (int r = 0; r < sdisp[size]; r++)
			sval[r] = val[wanted[r]];
		MPI_Alltoallv(sval, scount, sdisp, MPI_DOUBLE, val + nlocal, rcount, rdisp,
			      MPI_DOUBLE, comm);
		MPI_Allreduce(&dangling, &dsum, 1, MPI_DOUBLE, MPI_SUM, comm);
		for (int64_t i = 0; i < nlocal; i++) {
			double s = 0;

			for (int64_t j = xadj[i]; j < xadj[i + 1]; j++)
				s += val[slot[j]];
			next[i] =
			    (1 - o->damping) / (double)n + o->damping * (s + dsum / (double)n);
			diff += fabs(next[i] - pr[i]);
		}
		MPI_Allreduce(&diff, &dall, 1, MPI_DOUBLE, MPI_SUM, comm);
		double *t = pr;
		pr = next;
		next = t;
		hist[iters++] = dall;
		if (dall < o->tol || iters == o->max_iters)
			break;
	}
	/* Rank 0 gathers the vector by id and writes the model. */
	int *counts = xmalloc((size_t)size * sizeof(int)),
	    *displs = xmalloc((size_t)size * sizeof(int));
	int nl = (int)nlocal;
	MPI_Gather(&nl, 1, MPI_INT, counts, 1, MPI_INT, 0, comm);
	int total = 0;
	if (rank == 0)
		for (int r = 0; r < size; r++) {
			displs[r] = total;
			total += counts[r];
		}
	int64_t *ids = xmalloc((size_t)(total ? total : 1) * sizeof(int64_t));
	double *vals = xmalloc((size_t)(total ? total : 1) * sizeof(double));
	MPI_Gatherv(l2g, nl, MPI_INT64_T, ids, counts, displs, MPI_INT64_T, 0, comm);
	MPI_Gatherv(pr, nl, MPI_DOUBLE, vals, counts, displs, MPI_DOUBLE, 0, comm);
	if (rank == 0) {
		double *full = xmalloc((size_t)n * sizeof(double)), sum = 0;

		for (int i = 0; i < total; i++)
			full[ids[i]] = vals[i];
		for (int64_t i = 0; i < n; i++)
			sum += full[i];
		write_model(o, full, n, hist, iters, size, MPI_Wtime() - t0);
		printf(
		    "train: pagerank on %d hosts: %d iterations, last L1 change %.3g, sum %.12f, "
		    "halo %lld nodes in all, %.3f s\n",
		    size, iters, hist[iters - 1], sum, halo_all, MPI_Wtime() - t0);
		free(full);
	}
	free(ids);
	free(vals);
	free(counts);
	free(displs);
	free(hist);
	free(sval);
	free(val);
	free(next);
	free(pr);
	free(slot);
	free(wanted);
	free(byowner);
	free(rcount);
	free(scount);
	free(rdisp);
	free(sdisp);
	free(ghosts);
	free(xadj);
	free(l2g);
	free(g2l);
	free(part);
	edges_release(&adj);
	chunked_release(&g);
	MPI_Finalize();
	return 0;
}

/* ---- the host entry point ---- */

/* ip_list.txt, one address per host in the job's order, where GraphStorm writes it: the
 * data channel, each host's own copy. */
static char *write_ip_list(const struct hosts *h, const char *dir)
{
	char *path = path_join(dir, "ip_list.txt"), *tmp;
	FILE *f = atomic_open(path, &tmp);

	for (size_t i = 0; i < h->n; i++) {
		struct addrinfo hints = {.ai_family = AF_INET}, *ai;
		char ip[INET_ADDRSTRLEN];
		int e = getaddrinfo(h->names[i], NULL, &hints, &ai);

		if (e)
			die("cannot resolve %s: %s", h->names[i], gai_strerror(e));
		inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, ip, sizeof(ip));
		fprintf(f, "%s\n", ip);
		freeaddrinfo(ai);
	}
	atomic_close(f, tmp, path);
	return path;
}

static int run_pagerank(const struct opts *o, const struct hosts *h, const char *self,
			const char *ip_list)
{
	char np[16], damping[32], tol[32], iters[16];
	FILE *in = fopen(ip_list, "r"), *out = fopen("/tmp/graph-train-hostfile", "w");
	char line[256];

	if (!in || !out)
		die("cannot make the hostfile: %s", strerror(errno));
	while (fgets(line, sizeof(line), in)) {
		line[strcspn(line, "\n")] = '\0';
		fprintf(out, "%s slots=1\n", line);
	}
	fclose(in);
	fclose(out);
	snprintf(np, sizeof(np), "%zu", h->n);
	snprintf(damping, sizeof(damping), "%.17g", o->damping);
	snprintf(tol, sizeof(tol), "%.17g", o->tol);
	snprintf(iters, sizeof(iters), "%d", o->max_iters);
	char *argv[] = {"mpirun",
			"--hostfile",
			"/tmp/graph-train-hostfile",
			"-np",
			np,
			(char *)self,
			"--mpi",
			"--graph",
			(char *)o->graph,
			"--model",
			(char *)o->model,
			"--damping",
			damping,
			"--tol",
			tol,
			"--max-iters",
			iters,
			"--partition",
			(char *)(o->partition ? o->partition : ""),
			NULL};
	return run_wait(argv);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct hosts h;
	struct rdv v;
	char self[PATH_MAX], *ip_list;
	const char *leader;
	int rc = 0;
	double t0 = now_s();

	parse(argc, argv, &o);
	if (o.mpi)
		return pagerank_main(&o);
	if (!realpath(argv[0], self))
		die("cannot find myself (%s): %s", argv[0], strerror(errno));
	hosts_load(&h);
	/* GraphStorm's leader is MASTER_ADDR (the PyTorch image's algo-1), else the first host. */
	leader = env_or("MASTER_ADDR", h.names[0]);
	if (strcmp(leader, hosts_leader(&h)))
		die("train: MASTER_ADDR %s is not the first host %s", leader, hosts_leader(&h));
	ip_list = write_ip_list(&h, o.graph);
	rdv_start(&v, &h, TRAIN_PORT);
	if (strcmp(h.current, leader)) {
		char *reply;

		rdv_send(v.fds[0], h.current);
		reply = rdv_recv(v.fds[0]);
		printf("train: %s: the leader says %s\n", h.current, reply ? reply : "nothing");
		return reply && !strcmp(reply, "Done") ? 0 : 1;
	}
	for (size_t i = 0; i < v.n; i++) {
		char *w = rdv_recv(v.fds[i]);

		if (!w)
			die("train: a worker went away before training");
		free(w);
	}
	printf("train: %zu hosts, leader %s, ip list %s\n", h.n, leader, ip_list);
	rc = run_pagerank(&o, &h, self, ip_list);
	if (rc)
		fprintf(stderr, "train: pagerank failed: mpirun exited %d\n", rc);
	for (size_t i = 0; i < v.n; i++)
		rdv_send(v.fds[i], rc ? "Fail" : "Done");
	printf("train: stage time %.3f s\n", now_s() - t0);
	rdv_close(&v);
	free(ip_list);
	hosts_release(&h);
	return rc ? 1 : 0;
}
