/* proc_outputs.c - see proc_outputs.h: every host's folder listed, one copy of each name
 * kept, then uploaded host after host (so that an error can name the host). */
#include "data/proc_outputs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* How many names (several hosts wrote) or links a report line names before "N more". */
#define NOTE_NAMES_MAX 3

/* A file of some host, and that host's place in the merge. */
struct cand {
	const struct fs_file *f;
	size_t src, rank;
};

/* Hosts in natural order (algo-9 before algo-10), equal names as given. */
static int cmp_host(const void *a, const void *b, void *ctx)
{
	const struct proc_output_src *srcs = ctx;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strverscmp(srcs[i].host, srcs[j].host);

	return c ? c : (i > j) - (i < j);
}

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	int c = strcmp(x->f->rel, y->f->rel);

	return c ? c : (x->rank > y->rank) - (x->rank < y->rank);
}

static const char *plural(size_t n)
{
	return n == 1 ? "" : "s";
}

/* "algo-1 and algo-2", "algo-1, algo-2 and algo-3", "algo-1, algo-2 and 5 other hosts". */
static char *hosts_phrase(const struct proc_output_src *srcs, const struct cand *c, size_t k)
{
	if (k == 2)
		return xasprintf("%s and %s", srcs[c[0].src].host, srcs[c[1].src].host);
	if (k == 3)
		return xasprintf("%s, %s and %s", srcs[c[0].src].host, srcs[c[1].src].host,
				 srcs[c[2].src].host);
	return xasprintf("%s, %s and %zu other hosts", srcs[c[0].src].host, srcs[c[1].src].host,
			 k - 2);
}

/* One line for the names several hosts wrote: the first few in full, then a count. */
static void note_collisions(struct out_listing *l, const char *name, struct strv *phrases,
			    size_t n_names)
{
	_cleanup_free_ char *joined = NULL;

	if (!n_names)
		return;
	joined = strv_join(phrases->v, "; ");
	if (n_names > phrases->n)
		strv_pushf(&l->notes,
			   "output '%s': %s; and %zu more name%s written by several hosts, each "
			   "time the last host's copy kept",
			   name, joined, n_names - phrases->n, plural(n_names - phrases->n));
	else
		strv_pushf(&l->notes, "output '%s': %s", name, joined);
}

static void note_links(struct out_listing *l, const char *name, struct strv *links)
{
	_cleanup_free_ char *joined = NULL;
	size_t shown = links->n < NOTE_NAMES_MAX ? links->n : NOTE_NAMES_MAX;
	char *saved;

	if (!links->n)
		return;
	saved = links->v[shown];
	links->v[shown] = NULL; /* joined: the first few */
	joined = strv_join(links->v, ", ");
	links->v[shown] = saved;
	if (links->n > shown)
		strv_pushf(&l->notes,
			   "output '%s': %zu symbolic links not followed, left out: %s and %zu "
			   "more",
			   name, links->n, joined, links->n - shown);
	else
		strv_pushf(&l->notes, "output '%s': %zu symbolic link%s not followed, left out: %s",
			   name, links->n, plural(links->n), joined);
}

/* One host's folder into l->host_files[i]; its links named in `links`. */
static int list_host(struct out_listing *l, const char *name, const struct proc_output_src *s,
		     size_t i, struct strv *links, struct sr_error *err)
{
	struct strv found = STRV_INIT;
	struct stat st;
	int r;

	if (lstat(s->dir, &st) < 0) {
		if (errno == ENOENT)
			return 0; /* a host that never started, or never made it */
		return sr_err_errno(err, errno, "output '%s': host %s: '%s'", name, s->host,
				    s->dir);
	}
	if (S_ISLNK(st.st_mode)) {
		strv_pushf(links, "%s's folder itself", s->host);
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		strv_pushf(&l->notes, "output '%s': host %s: '%s' is not a folder, left out", name,
			   s->host, s->dir);
		return 0;
	}
	r = fs_list_files_links(s->dir, &l->host_files[i], &l->host_n[i], &found, err);
	if (r < 0)
		return sr_err_wrap(err, "output '%s': host %s", name, s->host);
	l->hosts_found++;
	for (size_t j = 0; j < found.n; j++)
		strv_pushf(links, "%s '%s'", s->host, found.v[j]);
	strv_release(&found);
	return 0;
}

/* Sorted by name, host rank last: each run of one name ends with the copy kept. */
static void merge(struct out_listing *l, const char *name, const struct proc_output_src *srcs,
		  const size_t *rank)
{
	struct strv phrases = STRV_INIT;
	struct cand *all;
	size_t total = 0, k = 0, n_names = 0;

	for (size_t i = 0; i < l->n_hosts; i++)
		total += l->host_n[i];
	all = xcalloc(total ? total : 1, sizeof(*all));
	for (size_t i = 0; i < l->n_hosts; i++)
		for (size_t j = 0; j < l->host_n[i]; j++)
			all[k++] = (struct cand){&l->host_files[i][j], i, rank[i]};
	qsort(all, total, sizeof(*all), cmp_cand);
	l->files = xcalloc(total ? total : 1, sizeof(*l->files));
	for (size_t i = 0; i < total; i = k) {
		for (k = i + 1; k < total && !strcmp(all[k].f->rel, all[i].f->rel); k++)
			;
		l->files[l->n++] = (struct out_file){all[k - 1].f, all[k - 1].src};
		l->bytes += all[k - 1].f->size;
		if (k - i < 2)
			continue;
		if (n_names++ < NOTE_NAMES_MAX) {
			_cleanup_free_ char *hosts = hosts_phrase(srcs, &all[i], k - i);

			strv_pushf(&phrases, "'%s' written by %s, %s's copy kept", all[i].f->rel,
				   hosts, srcs[all[k - 1].src].host);
		}
	}
	note_collisions(l, name, &phrases, n_names);
	strv_release(&phrases);
	free(all);
}

int out_list(const char *name, const struct proc_output_src *srcs, size_t n, struct out_listing *l,
	     struct sr_error *err)
{
	struct strv links = STRV_INIT;
	size_t *order = xcalloc(n ? n : 1, sizeof(*order));
	size_t *rank = xcalloc(n ? n : 1, sizeof(*rank));
	int r = 0;

	memset(l, 0, sizeof(*l));
	l->n_hosts = n;
	l->host_files = xcalloc(n ? n : 1, sizeof(*l->host_files));
	l->host_n = xcalloc(n ? n : 1, sizeof(*l->host_n));
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), cmp_host, (void *)srcs);
	for (size_t k = 0; k < n; k++)
		rank[order[k]] = k;
	for (size_t k = 0; r >= 0 && k < n; k++)
		r = list_host(l, name, &srcs[order[k]], order[k], &links, err);
	if (r >= 0) {
		merge(l, name, srcs, rank);
		note_links(l, name, &links);
	}
	strv_release(&links);
	free(order);
	free(rank);
	return r;
}

void out_listing_release(struct out_listing *l)
{
	for (size_t i = 0; i < l->n_hosts; i++)
		fs_files_free(l->host_files[i], l->host_n[i]);
	free(l->host_files);
	free(l->host_n);
	free(l->files);
	strv_release(&l->notes);
	memset(l, 0, sizeof(*l));
}

/* The files stay in the host's folder: say so, after whatever the inner error advised. */
static void hint_recover(const struct out_dest *d, const struct proc_output_src *s,
			 struct sr_error *err)
{
	char inner[sizeof(err->hint)];

	memcpy(inner, err->hint, sizeof(inner));
	if (d->bucket)
		sr_err_hint(err,
			    "%s%sthe files are still in '%s'; once the cause is fixed, `sagerun s3 "
			    "cp --recursive` uploads them",
			    inner, *inner ? "; " : "", s->dir);
	else
		sr_err_hint(err,
			    "%s%sthe files are still in '%s': copy them once the cause is fixed",
			    inner, *inner ? "; " : "", s->dir);
}

int out_put(struct out_dest *d, const struct proc_output_src *srcs, const struct out_listing *l,
	    bool (*skip)(void *ctx, const struct out_file *f), void *ctx, size_t *ret_put,
	    struct sr_error *err)
{
	struct out_put *todo = xcalloc(l->n ? l->n : 1, sizeof(*todo));
	size_t put = 0;
	int r = 0;

	for (size_t i = 0; r >= 0 && i < l->n_hosts; i++) {
		size_t nt = 0;

		for (size_t j = 0; j < l->n; j++) {
			const struct out_file *f = &l->files[j];

			if (f->src == i && !(skip && skip(ctx, f)))
				todo[nt++] = (struct out_put){f->f->rel, f->f->path, f->f->size};
		}
		r = out_dest_put_files(d, todo, nt, err);
		if (r < 0) {
			sr_err_wrap(err, "output '%s': host %s: upload its files to %s", d->name,
				    srcs[i].host, d->uri);
			hint_recover(d, &srcs[i], err);
		}
		put += nt;
	}
	free(todo);
	if (r >= 0 && ret_put)
		*ret_put = put;
	return r;
}

void out_report(const struct out_dest *d, const struct out_listing *l, const char *extra,
		struct strv *report)
{
	strv_pushf(report, "output '%s': %zu file%s, %lld byte%s from %zu host%s to %s%s", d->name,
		   l->n, plural(l->n), (long long)l->bytes, plural((size_t)l->bytes),
		   l->hosts_found, plural(l->hosts_found), d->uri, extra ? extra : "");
	for (size_t i = 0; i < l->notes.n; i++)
		strv_push(report, l->notes.v[i]);
}

int proc_output_export(const char *name, const char *uri, const struct proc_output_src *srcs,
		       size_t n, struct strv *report, struct sr_error *err)
{
	struct out_listing l;
	struct out_dest d;
	int r = out_dest_init(&d, name, uri, err);

	if (r < 0)
		return r;
	r = out_list(name, srcs, n, &l, err);
	if (r >= 0)
		r = out_put(&d, srcs, &l, NULL, NULL, NULL, err);
	if (r >= 0)
		out_report(&d, &l, NULL, report);
	out_listing_release(&l);
	out_dest_release(&d);
	return r;
}
