/* output_watch.c - Continuous outputs (output_watch.h): one inotify thread for every host's
 * folder of every output, and the last pass of proc_outputs.c at stop.
 *
 * Who owns what: the caller (output_watch_add, output_watch_stop) owns the list of outputs
 * and their hosts; the thread owns the inotify watches, what each destination holds, and
 * each output's first failure.  They meet in `pending`, under the lock, where the caller
 * leaves a host for the thread to adopt; everything the thread owns is the caller's again
 * once the thread is joined. */
#include "data/output_watch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <search.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/internal.h"
#include "data/proc_outputs.h"
#include "s3/client.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* Folders and the files closed or moved in them.  IN_CREATE and IN_MOVED_FROM matter for
 * folders only: a new one is walked, one moved away leaves its watches' names stale. */
#define WATCH_MASK                                                                                 \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE_SELF |               \
	 IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK)
#define WALK_DEPTH_MAX 256

/* What the destination holds of a name, as far as the thread knows. */
struct rec {
	char *rel;
	const char *host; /* whose copy; NULL: not known (an upload failed, or raced a write) */
	int64_t size, mtime;
	long mtime_nsec;
};

struct wout {
	struct out_dest dest; /* name and uri; its S3 client the thread's */
	struct whost **hosts; /* the caller's */
	size_t n_hosts, cap_hosts;
	void *recs;		/* tsearch tree of struct rec: the thread's */
	struct sr_error failed; /* the first upload that failed while the job ran */
	/* No S3 client could be made (no credentials, say): the thread stops trying, rather
	 * than walk the credential chain again for every file; the end's pass tries. */
	bool no_client;
};

struct whost {
	struct wout *out; /* borrowed */
	char *host, *dir;
	bool rescan; /* the thread's: walk it again after this batch of events */
};

/* One inotify watch: a folder of a host, at `rel` below its folder ("" for the folder). */
struct wdir {
	int wd;
	struct whost *h; /* borrowed */
	char *rel;
	unsigned gen; /* the walk that last saw it */
};

struct output_watch {
	pthread_mutex_t lock;
	struct whost **pending; /* under lock: added, not yet adopted by the thread */
	size_t n_pending, cap_pending;
	int ifd, efd; /* inotify; an eventfd that wakes the thread for `pending` and stop */
	atomic_bool stop;
	pthread_t thread;
	bool thread_live;
	/* the caller's */
	struct wout **outs;
	size_t n_outs, cap_outs;
	/* the thread's */
	struct whost **adopted;
	size_t n_adopted, cap_adopted;
	struct wdir *dirs; /* by wd, ascending */
	size_t n_dirs, cap_dirs;
	unsigned gen;
	bool rescan_all;
};

/* ---- what the destination holds ---------------------------------------------------------- */

static int rec_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rec *)a)->rel, ((const struct rec *)b)->rel);
}

static void rec_free(void *p)
{
	struct rec *r = p;

	free(r->rel);
	free(r);
}

static struct rec *rec_find(struct wout *o, const char *rel)
{
	struct rec key = {.rel = (char *)rel};
	void *p = tfind(&key, &o->recs, rec_cmp);

	return p ? *(struct rec **)p : NULL;
}

/* The record of `rel`, made if missing; NULL only when tsearch cannot allocate (then the
 * file simply goes again at the end). */
static struct rec *rec_get(struct wout *o, const char *rel)
{
	struct rec *r = rec_find(o, rel);
	void *p;

	if (r)
		return r;
	r = xcalloc(1, sizeof(*r));
	r->rel = xstrdup(rel);
	p = tsearch(r, &o->recs, rec_cmp);
	if (!p) {
		rec_free(r);
		return NULL;
	}
	return *(struct rec **)p;
}

static bool rec_holds(const struct rec *r, const char *host, int64_t size, int64_t mtime, long nsec)
{
	return r && r->host && !strcmp(r->host, host) && r->size == size && r->mtime == mtime &&
	       r->mtime_nsec == nsec;
}

/* ---- uploads while the job runs ----------------------------------------------------------- */

static bool stopping(void *ctx)
{
	struct output_watch *w = ctx;

	return atomic_load(&w->stop);
}

/* Kept for the report, the first of each output: the file goes again at the end. */
static void keep_failure(struct whost *h, const char *what, struct sr_error *e)
{
	struct wout *o = h->out;

	if (o->failed.code)
		return;
	o->failed = *e;
	sr_err_wrap(&o->failed, "output '%s': host %s: %s", o->dest.name, h->host, what);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The open file `fd`, `rel` of host `h`, unless the destination holds it as it is. */
static void upload_open(struct whost *h, const char *rel, int fd)
{
	struct sr_error e = {0};
	struct stat before, after;
	struct rec *r;

	if (h->out->no_client || fstat(fd, &before) < 0 || !S_ISREG(before.st_mode))
		return;
	r = rec_get(h->out, rel);
	if (rec_holds(r, h->host, before.st_size, before.st_mtim.tv_sec, before.st_mtim.tv_nsec))
		return;
	if (r)
		r->host = NULL; /* whatever it held, it may not hold it now */
	if (out_dest_put_fd(&h->out->dest, fd, rel, &e) < 0) {
		_cleanup_free_ char *where = out_dest_where(&h->out->dest, rel);
		_cleanup_free_ char *what = xasprintf("upload '%s' to %s", rel, where);

		if (e.code != -ECANCELED)
			keep_failure(h, what, &e);
		h->out->no_client = h->out->dest.bucket && !h->out->dest.s3;
		return;
	}
	/* Written to while it went up: what went may be half old, half new; the end's pass
	 * sends it again.  (A rewrite of the same size within the file system's timestamp
	 * granularity of the close is the one change this cannot see.) */
	if (!r || fstat(fd, &after) < 0 || !same_file(&before, &after))
		return;
	*r = (struct rec){r->rel, h->host, before.st_size, before.st_mtim.tv_sec,
			  before.st_mtim.tv_nsec};
}

/* `rel` below the folder `dir`, no link followed on the way or at its end (-ELOOP), a FIFO
 * or device refused rather than waited on; a folder when `want_dir`.  An fd, or -errno. */
static int open_beneath(const char *dir, const char *rel, bool want_dir)
{
	_cleanup_free_ char *path = xstrdup(rel);
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char *name = path, *slash;
	struct stat st;
	int last;

	while (fd >= 0 && (slash = strchr(name, '/'))) {
		int sub;

		*slash = '\0';
		sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		sr_closep(&fd);
		fd = sub;
		name = slash + 1;
	}
	if (fd < 0)
		return -errno;
	last = openat(fd, name,
		      O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
			  (want_dir ? O_DIRECTORY : 0));
	if (last < 0)
		return -errno;
	if (!want_dir && (fstat(last, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(last);
		return -EINVAL;
	}
	return last;
}

/* ---- watches ------------------------------------------------------------------------------ */

static struct wdir *dir_find(struct output_watch *w, int wd)
{
	size_t lo = 0, hi = w->n_dirs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (w->dirs[mid].wd == wd)
			return &w->dirs[mid];
		if (w->dirs[mid].wd < wd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void dir_forget(struct output_watch *w, struct wdir *d)
{
	size_t i = (size_t)(d - w->dirs);

	free(d->rel);
	memmove(d, d + 1, (w->n_dirs - i - 1) * sizeof(*d));
	w->n_dirs--;
}

/* Watch the folder open as `dfd`: the watch follows the folder itself, wherever it moves,
 * and the magic link names the folder already open, never a link put in its place. */
static void dir_watch(struct output_watch *w, struct whost *h, int dfd, const char *rel)
{
	char proc[64];
	struct wdir *d;
	size_t i;
	int wd;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dfd);
	wd = inotify_add_watch(w->ifd, proc, WATCH_MASK);
	if (wd < 0) {
		int saved = errno;
		struct sr_error e = {0};

		sr_err_errno(&e, saved, "'%s/%s'", h->dir, rel);
		if (saved == ENOSPC)
			sr_err_hint(&e, "raise fs.inotify.max_user_watches (sysctl)");
		keep_failure(h, "watch a folder", &e);
		return;
	}
	d = dir_find(w, wd);
	if (d && d->h != h)
		return; /* one folder in two outputs' trees: the first keeps it (the end's pass
			   sends the other's files) */
	if (d) {
		free(d->rel);
		d->rel = xstrdup(rel);
		d->gen = w->gen;
		return;
	}
	/* Kernels hand out wds in ascending order: almost always an append. */
	for (i = w->n_dirs; i > 0 && w->dirs[i - 1].wd > wd; i--)
		;
	xgrow(&w->dirs, &w->cap_dirs, w->n_dirs + 1, sizeof(*w->dirs));
	memmove(&w->dirs[i + 1], &w->dirs[i], (w->n_dirs - i) * sizeof(*w->dirs));
	w->dirs[i] = (struct wdir){wd, h, xstrdup(rel), w->gen};
	w->n_dirs++;
}

/* The folder open as `dfd` (taken), `rel` of host `h`: watched first, then read, so that a
 * file closed meanwhile is seen one way or the other; each subfolder the same way, each file
 * uploaded unless the destination holds it as it is. */
static void walk(struct output_watch *w, struct whost *h, int dfd, const char *rel, int depth)
{
	struct dirent *de;
	DIR *d;

	if (depth > WALK_DEPTH_MAX) {
		close(dfd);
		return;
	}
	dir_watch(w, h, dfd, rel);
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	while (!atomic_load(&w->stop) && (de = readdir(d))) {
		_cleanup_free_ char *child = NULL;
		struct stat st;
		int fd;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone meanwhile */
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
			continue; /* links are not followed; FIFOs and the like are no output */
		child = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		fd = openat(dirfd(d), de->d_name,
			    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
				(S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
		if (fd < 0)
			continue; /* replaced meanwhile (by a link, say) */
		if (S_ISDIR(st.st_mode)) {
			walk(w, h, fd, child, depth + 1);
		} else {
			upload_open(h, child, fd);
			close(fd);
		}
	}
	closedir(d);
}

/* Walk a host's whole folder again, and drop the watches the walk no longer finds (folders
 * removed, or moved out of it). */
static void rescan_host(struct output_watch *w, struct whost *h)
{
	int fd = open(h->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	h->rescan = false;
	w->gen++;
	if (fd >= 0)
		walk(w, h, fd, "", 0);
	if (atomic_load(&w->stop))
		return; /* a walk cut short: its unseen watches are not stale */
	for (size_t i = w->n_dirs; i > 0; i--) {
		struct wdir *d = &w->dirs[i - 1];

		if (d->h == h && d->gen != w->gen) {
			(void)inotify_rm_watch(w->ifd, d->wd);
			dir_forget(w, d);
		}
	}
}

static int depth_of(const char *rel)
{
	int depth = 1;

	for (const char *s = rel; (s = strchr(s, '/')); s++)
		depth++;
	return depth;
}

static void on_event(struct output_watch *w, const struct inotify_event *ev)
{
	_cleanup_free_ char *rel = NULL;
	struct wdir *d;
	struct whost *h;
	int fd;

	if (ev->mask & IN_Q_OVERFLOW) {
		w->rescan_all = true; /* events were lost: walk everything again */
		return;
	}
	d = dir_find(w, ev->wd);
	if (!d)
		return; /* a watch dropped meanwhile */
	h = d->h;
	if (ev->mask & IN_IGNORED) {
		dir_forget(w, d);
		return;
	}
	if (!ev->len) {
		/* The host's folder itself moved or went: what its path holds now is walked. */
		if (!*d->rel && (ev->mask & (IN_MOVE_SELF | IN_DELETE_SELF)))
			h->rescan = true;
		return;
	}
	rel = *d->rel ? xasprintf("%s/%s", d->rel, ev->name) : xstrdup(ev->name);
	if (ev->mask & IN_ISDIR) {
		/* A folder moved away takes its watches, named for where it was; one new or moved
		 * in has no watch yet, and may hold files already. */
		if (ev->mask & IN_MOVED_FROM)
			h->rescan = true;
		else if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) &&
			 (fd = open_beneath(h->dir, rel, true)) >= 0)
			walk(w, h, fd, rel, depth_of(rel));
		return;
	}
	if ((ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) &&
	    (fd = open_beneath(h->dir, rel, false)) >= 0) {
		upload_open(h, rel, fd);
		close(fd);
	}
}

static void read_events(struct output_watch *w)
{
	char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));

	while (!atomic_load(&w->stop)) {
		ssize_t n = read(w->ifd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* EAGAIN: all read */
		for (char *p = buf; p < buf + n && !atomic_load(&w->stop);) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			on_event(w, ev);
			p += sizeof(*ev) + ev->len;
		}
	}
}

static void adopt_pending(struct output_watch *w)
{
	struct whost **got;
	size_t n;
	uint64_t v;

	(void)!read(w->efd, &v, sizeof(v));
	pthread_mutex_lock(&w->lock);
	got = TAKE_PTR(w->pending);
	n = w->n_pending;
	w->n_pending = w->cap_pending = 0;
	pthread_mutex_unlock(&w->lock);
	for (size_t i = 0; i < n && !atomic_load(&w->stop); i++) {
		xgrow(&w->adopted, &w->cap_adopted, w->n_adopted + 1, sizeof(*w->adopted));
		w->adopted[w->n_adopted++] = got[i];
		rescan_host(w, got[i]);
	}
	free(got);
}

static void *watch_main(void *arg)
{
	struct output_watch *w = arg;
	struct pollfd p[2] = {{.fd = w->efd, .events = POLLIN}, {.fd = w->ifd, .events = POLLIN}};

	while (!atomic_load(&w->stop)) {
		if (poll(p, 2, -1) < 0)
			continue; /* EINTR; nothing else can fail with these two fds */
		if (p[0].revents)
			adopt_pending(w);
		if (p[1].revents)
			read_events(w);
		for (size_t i = 0; i < w->n_adopted && !atomic_load(&w->stop); i++)
			if (w->rescan_all || w->adopted[i]->rescan)
				rescan_host(w, w->adopted[i]);
		w->rescan_all = false;
	}
	return NULL;
}

/* ---- the caller's side -------------------------------------------------------------------- */

static void watch_free(struct output_watch *w)
{
	for (size_t i = 0; i < w->n_outs; i++) {
		struct wout *o = w->outs[i];

		for (size_t j = 0; j < o->n_hosts; j++) {
			free(o->hosts[j]->host);
			free(o->hosts[j]->dir);
			free(o->hosts[j]);
		}
		free(o->hosts);
		tdestroy(o->recs, rec_free);
		out_dest_release(&o->dest);
		free(o);
	}
	for (size_t i = 0; i < w->n_dirs; i++)
		free(w->dirs[i].rel);
	free(w->dirs);
	free(w->outs);
	free(w->pending);
	free(w->adopted);
	sr_closep(&w->ifd);
	sr_closep(&w->efd);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

int output_watch_start(struct output_watch **ret, struct sr_error *err)
{
	struct output_watch *w = xcalloc(1, sizeof(*w));
	sigset_t all, old;
	int r;

	pthread_mutex_init(&w->lock, NULL);
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	w->efd = w->ifd < 0 ? -1 : eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->ifd < 0 || w->efd < 0) {
		r = sr_err_errno(err, errno, "watch the outputs (inotify)");
		if (errno == EMFILE)
			sr_err_hint(err, "raise fs.inotify.max_user_instances (sysctl)");
		watch_free(w);
		return r;
	}
	/* The thread takes no signal: those are for the supervisor's signalfd. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&w->thread, NULL, watch_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		watch_free(w);
		return sr_err_errno(err, r, "watch the outputs: start a thread");
	}
	w->thread_live = true;
	*ret = w;
	return 0;
}

static void wake(struct output_watch *w)
{
	uint64_t one = 1;

	(void)!write(w->efd, &one, sizeof(one)); /* only fails when 2^64-2 wakes are unread */
}

static struct wout *find_out(struct output_watch *w, const char *name)
{
	for (size_t i = 0; i < w->n_outs; i++)
		if (!strcmp(w->outs[i]->dest.name, name))
			return w->outs[i];
	return NULL;
}

int output_watch_add(struct output_watch *w, const char *name, const char *host, const char *dir,
		     const char *uri, struct sr_error *err)
{
	struct wout *o = find_out(w, name);
	struct whost *h;

	if (o && strcmp(o->dest.uri, uri))
		return sr_err(err, -EINVAL,
			      "output '%s': host %s uploads to '%s', the hosts before it to '%s'",
			      name, host, uri, o->dest.uri);
	for (size_t i = 0; o && i < o->n_hosts; i++)
		if (!strcmp(o->hosts[i]->host, host))
			return sr_err(err, -EEXIST, "output '%s': host %s is watched already", name,
				      host);
	if (!o) {
		int r;

		o = xcalloc(1, sizeof(*o));
		r = out_dest_init(&o->dest, name, uri, err);
		if (r < 0) {
			free(o);
			return r;
		}
		o->dest.cancelled = stopping;
		o->dest.cancel_ctx = w;
		xgrow(&w->outs, &w->cap_outs, w->n_outs + 1, sizeof(*w->outs));
		w->outs[w->n_outs++] = o;
	}
	h = xcalloc(1, sizeof(*h));
	*h = (struct whost){.out = o, .host = xstrdup(host), .dir = xstrdup(dir)};
	xgrow(&o->hosts, &o->cap_hosts, o->n_hosts + 1, sizeof(*o->hosts));
	o->hosts[o->n_hosts++] = h;
	pthread_mutex_lock(&w->lock);
	xgrow(&w->pending, &w->cap_pending, w->n_pending + 1, sizeof(*w->pending));
	w->pending[w->n_pending++] = h;
	pthread_mutex_unlock(&w->lock);
	wake(w);
	return 0;
}

/* The last pass's judge: a kept copy the destination already holds as it is. */
struct held {
	struct wout *o;
	const struct proc_output_src *srcs;
	size_t n;
};

static bool already_held(void *ctx, const struct out_file *f)
{
	struct held *hd = ctx;
	bool held = rec_holds(rec_find(hd->o, f->f->rel), hd->srcs[f->src].host, f->f->size,
			      f->f->mtime, f->f->mtime_nsec);

	hd->n += held;
	return held;
}

static int final_pass(struct wout *o, struct strv *report, struct sr_error *err)
{
	struct proc_output_src *srcs = xcalloc(o->n_hosts, sizeof(*srcs));
	struct held hd = {.o = o, .srcs = srcs};
	_cleanup_free_ char *extra = NULL;
	struct out_listing l;
	int r;

	for (size_t i = 0; i < o->n_hosts; i++)
		srcs[i] = (struct proc_output_src){o->hosts[i]->host, o->hosts[i]->dir};
	r = out_list(o->dest.name, srcs, o->n_hosts, &l, err);
	if (r >= 0)
		r = out_put(&o->dest, srcs, &l, already_held, &hd, NULL, err);
	if (r >= 0) {
		extra = xasprintf(" (%zu uploaded while the job ran)", hd.n);
		out_report(&o->dest, &l, extra, report);
		if (o->failed.code)
			strv_pushf(report, "%s (while the job ran; done at its end)",
				   o->failed.msg);
	}
	out_listing_release(&l);
	free(srcs);
	return r;
}

int output_watch_stop(struct output_watch *w, struct strv *report, struct sr_error *err)
{
	int r = 0;

	if (!w)
		return 0;
	atomic_store(&w->stop, true);
	wake(w);
	if (w->thread_live)
		pthread_join(w->thread, NULL);
	for (size_t i = 0; i < w->n_outs; i++) {
		struct wout *o = w->outs[i];
		struct sr_error e = {0};

		/* The end's pass is not to be dropped. */
		o->dest.cancelled = NULL;
		if (o->dest.s3)
			s3_client_set_cancel(o->dest.s3, NULL, NULL);
		if (final_pass(o, report, &e) < 0 && r >= 0) {
			r = e.code;
			if (err)
				*err = e;
		}
	}
	watch_free(w);
	return r;
}
