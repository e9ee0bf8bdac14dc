/* fs_list.c - the regular files of a tree, for copies and syncs that compare them one by one.
 * Walked through directory file descriptors opened with O_NOFOLLOW, so that a tree a job
 * wrote (a checkpoint folder) cannot point the walk elsewhere with a symlink. */
#include "util/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/xalloc.h"

#define LIST_DEPTH_MAX 256

struct listing {
	const char *root;
	struct fs_file *files;
	size_t n, cap;
	struct strv *links; /* NULL: not asked */
	struct sr_error *err;
};

static int cmp_rel(const void *a, const void *b)
{
	return strcmp(((const struct fs_file *)a)->rel, ((const struct fs_file *)b)->rel);
}

/* The folder open as `dfd` (taken), at `rel` ("" for the root). */
static int walk(struct listing *l, int dfd, const char *rel, int depth)
{
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (depth > LIST_DEPTH_MAX) {
		close(dfd);
		return sr_err(l->err, -ELOOP, "'%s/%s': folders nested deeper than %d", l->root,
			      rel, LIST_DEPTH_MAX);
	}
	d = fdopendir(dfd);
	if (!d) {
		r = -errno;
		close(dfd);
		return sr_err_errno(l->err, -r, "read folder '%s/%s'", l->root, rel);
	}
	while (r >= 0 && (de = readdir(d))) {
		_cleanup_free_ char *child = NULL;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone meanwhile */
		child = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub < 0)
				continue; /* replaced meanwhile (by a link, say): not ours to follow
					   */
			r = walk(l, sub, child, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			char *path = xasprintf("%s/%s", l->root, child);

			xgrow(&l->files, &l->cap, l->n + 1, sizeof(*l->files));
			l->files[l->n++] = (struct fs_file){
			    .path = path,
			    .rel = TAKE_PTR(child),
			    .size = st.st_size,
			    .mtime = st.st_mtim.tv_sec,
			    .mtime_nsec = st.st_mtim.tv_nsec,
			};
		} else if (S_ISLNK(st.st_mode) && l->links) {
			strv_push_take(l->links, TAKE_PTR(child));
		}
	}
	closedir(d);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int fs_list_files(const char *dir, struct fs_file **ret, size_t *ret_n, struct sr_error *err)
{
	return fs_list_files_links(dir, ret, ret_n, NULL, err);
}

int fs_list_files_links(const char *dir, struct fs_file **ret, size_t *ret_n, struct strv *links,
			struct sr_error *err)
{
	struct listing l = {.root = dir, .links = links, .err = err};
	size_t links_from = links ? links->n : 0;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int r;

	if (dfd < 0)
		return sr_err(err, -errno, "read folder '%s': %s", dir,
			      errno == ELOOP ? "a symbolic link, not a folder" : strerror(errno));
	r = walk(&l, dfd, "", 0);
	if (r < 0) {
		fs_files_free(l.files, l.n);
		while (links && links->n > links_from) { /* nothing half-listed stays behind */
			free(links->v[--links->n]);
			links->v[links->n] = NULL;
		}
		return r;
	}
	if (l.n)
		qsort(l.files, l.n, sizeof(*l.files), cmp_rel);
	if (links && links->n > links_from)
		qsort(links->v + links_from, links->n - links_from, sizeof(char *), cmp_str);
	*ret = l.files;
	*ret_n = l.n;
	return 0;
}

void fs_files_free(struct fs_file *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].rel);
		free(f[i].path);
	}
	free(f);
}
