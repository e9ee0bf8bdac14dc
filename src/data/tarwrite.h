/* tarwrite.h - a tar.gz writer: ustar headers, a pax extended header only for what ustar cannot
 * hold, gzip by zlib.
 *
 * Packing is the one thing a job's supervisor needs tarballs for, and libarchive cost it 4 to
 * 5 ms of CPU at every job: its dlopen() brings libxml2, ICU and libstdc++ (lazylib.h).  zlib
 * alone loads in a fraction of that.  Reading tarballs (sourcedir, unpacking models) stays
 * libarchive's, with its checks on what an archive may hold.
 *
 * The output is equivalent to what libarchive's "restricted pax" wrote before: plain ustar
 * entries (without user and group names), and a pax header ("././@PaxHeader", as Python's
 * tarfile names it) before an entry whose path, link target, size, uid, gid or mtime does not
 * fit (names are kept as bytes, as GNU tar keeps them); then two zero blocks, the tar stream padded
 * to whole 10240-byte records as tar does; a gzip header without a timestamp, so the same trees
 * always give the same bytes. */
#ifndef SR_DATA_TARWRITE_H
#define SR_DATA_TARWRITE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sr_error;
struct tarw;

struct tarw_entry {
	const char *path; /* relative, '/'-separated; a folder's gets its '/' added */
	char type;	  /* TARW_FILE, TARW_DIR or TARW_SYMLINK */
	mode_t perm;	  /* permission bits (07777) */
	uid_t uid;
	gid_t gid;
	int64_t mtime;	      /* whole seconds */
	uint64_t size;	      /* files: exactly what tarw_data() will be given */
	const char *linkname; /* symlinks: the target */
};

#define TARW_FILE    '0'
#define TARW_SYMLINK '2'
#define TARW_DIR     '5'

/* A writer onto `fd` (not closed by tarw_free).  `label` names the tarball in errors. */
int tarw_open(struct tarw **ret, int fd, const char *label, struct sr_error *err);
/* The next entry's header; a file's data follows with tarw_data. */
int tarw_header(struct tarw *w, const struct tarw_entry *e, struct sr_error *err);
/* Part of the current file's data; never more than its size in all. */
int tarw_data(struct tarw *w, const void *buf, size_t n, struct sr_error *err);
/* Ends the current file: zeros where it came short of its size (a file that shrank while
 * being read), then the padding to a whole block. */
int tarw_end_entry(struct tarw *w, struct sr_error *err);
/* The end of the archive and of the gzip stream, all written to the fd. */
int tarw_close(struct tarw *w, struct sr_error *err);
void tarw_free(struct tarw *w);

#endif
