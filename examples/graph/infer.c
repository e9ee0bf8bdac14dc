/* infer.c - the inference stage: a processing job on N hosts that loads the model (every
 * host the whole model, as GraphStorm's infer job downloads it) and writes per-node results,
 * each host its share of the nodes.
 *
 *   infer [--model PATH] [--out DIR] [--top K]
 *
 * --model (default /opt/ml/processing/input/model) is the training job's model.tar.gz, or a
 * folder holding it or pagerank.txt.  Each host writes DIR/part-<host>.txt (default DIR
 * /opt/ml/processing/output/infer): `node score rank` for the nodes i with i % N == its
 * index, rank 1 the highest score; the leader also writes top.txt, the K best nodes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "graph.h"

static const double *sort_scores; /* qsort has no context argument */

static int by_score(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	if (sort_scores[x] != sort_scores[y])
		return sort_scores[x] > sort_scores[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* pagerank.txt of the model: in the folder, or in model.tar.gz (unpacked by tar). */
static char *find_scores(const char *model)
{
	char *p, *tgz = NULL;

	if (is_dir(model)) {
		p = path_join(model, "pagerank.txt");
		if (!access(p, R_OK))
			return p;
		free(p);
		tgz = path_join(model, "model.tar.gz");
	} else {
		tgz = xstrdup(model);
	}
	if (access(tgz, R_OK))
		die("infer: no model at %s (pagerank.txt or model.tar.gz)", model);
	mkdir_p("/tmp/graph-model");
	char *argv[] = {"tar", "-xzf", tgz, "-C", "/tmp/graph-model", NULL};
	if (run_wait(argv))
		die("infer: cannot unpack %s", tgz);
	free(tgz);
	return xstrdup("/tmp/graph-model/pagerank.txt");
}

int main(int argc, char **argv)
{
	const char *model = ml_path("processing/input/model"),
		   *out = ml_path("processing/output/infer");
	int top = 10;
	struct hosts h;
	double t0 = now_s(), x, *score = NULL;
	int64_t n = 0, cap = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--model"))
			model = argv[i + 1];
		else if (!strcmp(argv[i], "--out"))
			out = argv[i + 1];
		else if (!strcmp(argv[i], "--top"))
			top = atoi(argv[i + 1]);
		else
			die("usage: infer [--model PATH] [--out DIR] [--top K]");
	}
	if (argc % 2 == 0)
		die("usage: infer [--model PATH] [--out DIR] [--top K]");
	hosts_load(&h);
	char *path = find_scores(model);
	FILE *f = fopen(path, "r");
	if (!f)
		die("cannot open '%s': %s", path, strerror(errno));
	while (fscanf(f, "%lf", &x) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 4096;
			score = xrealloc(score, (size_t)cap * sizeof(*score));
		}
		score[n++] = x;
	}
	if (!feof(f) || !n)
		die("%s: not a list of scores", path);
	fclose(f);
	/* rank[v]: 1 for the highest score, ties by id. */
	int64_t *order = xmalloc((size_t)n * sizeof(int64_t)),
		*rank = xmalloc((size_t)n * sizeof(int64_t));
	for (int64_t i = 0; i < n; i++)
		order[i] = i;
	sort_scores = score;
	qsort(order, (size_t)n, sizeof(int64_t), by_score);
	for (int64_t i = 0; i < n; i++)
		rank[order[i]] = i + 1;
	mkdir_p(out);
	char name[300], *tmp;
	snprintf(name, sizeof(name), "part-%s.txt", h.current);
	free(path);
	path = path_join(out, name);
	f = atomic_open(path, &tmp);
	int64_t mine = 0;
	for (int64_t i = (int64_t)h.rank; i < n; i += (int64_t)h.n, mine++)
		fprintf(f, "%lld %.17g %lld\n", (long long)i, score[i], (long long)rank[i]);
	atomic_close(f, tmp, path);
	free(path);
	if (!strcmp(h.current, hosts_leader(&h))) {
		path = path_join(out, "top.txt");
		f = atomic_open(path, &tmp);
		for (int64_t i = 0; i < n && i < top; i++)
			fprintf(f, "%lld %.17g\n", (long long)order[i], score[order[i]]);
		atomic_close(f, tmp, path);
		free(path);
	}
	printf("infer: %s wrote %lld of %lld nodes; stage time %.3f s\n", h.current,
	       (long long)mine, (long long)n, now_s() - t0);
	free(order);
	free(rank);
	free(score);
	hosts_release(&h);
	return 0;
}
