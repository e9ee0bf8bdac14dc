/* fs.h - small file-system helpers: directories, atomic writes, whole-file reads, trees. */
#ifndef SR_UTIL_FS_H
#define SR_UTIL_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sr_error;
struct strv;

/* write() until all of `data` is written (EINTR retried): 0 or -errno (-ENOSPC for a write
 * of 0 bytes). */
int fs_write_all(int fd, const void *data, size_t len);

/* mkdir -p; existing directories are fine. */
int fs_mkdir_p(const char *path, mode_t mode, struct sr_error *err);
/* `path` made (its parents as fs_mkdir_p) and private to its owner: mode 0700, also when it
 * exists and is ours with wider modes. */
int fs_mkdir_private(const char *path, struct sr_error *err);

/* Write `len` bytes to `path` atomically: a temp file in the same folder, fsync, rename.
 * Readers see the old content or the new, never a partial file. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
		    struct sr_error *err);

/* The same without the fsync: readers still never see a partial file, but the new content
 * may not survive a crash of the machine.  For files that do not outlive their job (a host's
 * config files and /etc/hosts), where an fsync per file is most of a launch's time. */
int fs_write_replace(const char *path, const void *data, size_t len, mode_t mode,
		     struct sr_error *err);

/* Write `path` in place (created or truncated, no temp file, no fsync), for a tree no process
 * reads yet: a host's config files before the host starts.  A temp file and a rename per file
 * cost an inode each, and ext4's allocator slows down with every recently freed one; a
 * partial file is removed on error. */
int fs_write_fresh(const char *path, const void *data, size_t len, mode_t mode,
		   struct sr_error *err);

/* Read a whole file (at most `max` bytes, else -EFBIG) into a NUL-terminated buffer. */
int fs_read_file(const char *path, size_t max, char **ret_data, size_t *ret_len,
		 struct sr_error *err);

/* rm -rf that never follows symlinks; a missing path is success. */
int fs_rm_rf(const char *path, struct sr_error *err);

/* 1 when the folder `dir` holds anything, 0 when it is empty or missing, or -errno. */
int fs_dir_used(const char *dir, struct sr_error *err);

/* Remove everything inside the folder `dir` (never following symlinks), keeping the folder. */
int fs_empty_dir(const char *dir, struct sr_error *err);

/* Copy a tree from src into dst (created), following symbolic links as the SageMaker SDK
 * packs a source folder: a link to a file copies the file under the link's name, a link to
 * a folder the folder's content; a link that leads nowhere, back to a folder it is in, or
 * into dst is an error naming it.  Sockets, FIFOs and devices are left out.  Bounded: folders
 * nested deeper than FS_COPY_MAX_DEPTH, or more than FS_COPY_MAX_ENTRIES files and folders
 * (links that lead to the same folder again count each time), are an error naming `src`. */
#define FS_COPY_MAX_DEPTH   256
#define FS_COPY_MAX_ENTRIES (16 * 1000 * 1000)
int fs_copy_tree(const char *src, const char *dst, struct sr_error *err);
/* The same with another bound on the entries (for tests). */
int fs_copy_tree_max(const char *src, const char *dst, size_t max_entries, struct sr_error *err);

/* Everything from fd `in` to fd `out` (EINTR retried): 0, or -errno with *ret_writing saying
 * which side failed, for the caller to name. */
int fs_copy_fd(int in, int out, bool *ret_writing);

/* Copy one regular file. */
int fs_copy_file(const char *src, const char *dst, mode_t mode, struct sr_error *err);

/* The regular files under `dir` (symlinks neither listed nor followed, `dir` itself included:
 * a link there is an error), sorted by their path relative to it.  Release with
 * fs_files_free. */
struct fs_file {
	char *rel;  /* "a/b.txt" */
	char *path; /* "<dir>/a/b.txt" */
	int64_t size;
	int64_t mtime; /* seconds */
	long mtime_nsec;
};
int fs_list_files(const char *dir, struct fs_file **ret, size_t *ret_n, struct sr_error *err);
/* The same, and the symbolic links it left out pushed to `links` (paths relative to `dir`,
 * sorted), for callers that must say what they did not follow. */
int fs_list_files_links(const char *dir, struct fs_file **ret, size_t *ret_n, struct strv *links,
			struct sr_error *err);
void fs_files_free(struct fs_file *f, size_t n);

/* At least `need` open files for this process: the soft RLIMIT_NOFILE raised (never lowered)
 * up to the hard limit; -EMFILE naming both numbers when the hard limit is lower (the soft
 * limit is then the hard one). */
int fs_need_open_files(unsigned long need, struct sr_error *err);

bool fs_is_dir(const char *path);
bool fs_exists(const char *path);

/* Absolute, normalised form of `path` (it need not exist); caller frees. */
char *fs_abspath(const char *path);

#endif
