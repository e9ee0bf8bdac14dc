/* internal.h - what the files of data/ share and nothing outside data/ includes: a
 * processing output's destination (out_dest.c), and its hosts' files merged into one listing
 * (proc_outputs.c).  Both serve EndOfJob's export and Continuous mode's watcher
 * (output_watch.c), so that the two agree on keys, on which host's copy a name keeps, and on
 * what the report says. */
#ifndef SR_DATA_INTERNAL_H
#define SR_DATA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strv.h"

struct fs_file;
struct proc_output_src;
struct s3_client;
struct sr_error;

/* ---- out_dest.c: where an output goes ---- */

struct out_dest {
	char *name;	      /* the output's name, for messages */
	char *uri;	      /* as the job gave it, for messages */
	char *bucket;	      /* S3; NULL for a local folder */
	char *prefix;	      /* S3: "" or ending in '/' ("s3://b/p" and "s3://b/p/" alike) */
	char *dir;	      /* a local folder: absolute */
	struct s3_client *s3; /* made at the first upload to S3 */
	/* Asked while an S3 request runs (s3_client_set_cancel); NULL: never dropped. */
	bool (*cancelled)(void *ctx);
	void *cancel_ctx;
};

/* `uri`: s3://bucket[/prefix], file:///folder or /folder; anything else is -EINVAL naming
 * the output.  Nothing is touched yet: no client, no folder. */
int out_dest_init(struct out_dest *d, const char *name, const char *uri, struct sr_error *err);
void out_dest_release(struct out_dest *d);

/* Where `rel` lands, for messages: "s3://bucket/prefix/rel" or "/folder/rel".  Caller frees. */
char *out_dest_where(const struct out_dest *d, const char *rel);

/* One upload as a batch entry: `rel` (the key under the prefix) from `path`. */
struct out_put {
	const char *rel;
	const char *path;
	int64_t size; /* as listed: a file of another size by then is an error */
};

/* Upload `n` files (S3: S3_PARALLEL in flight; a folder: one after the other), each whole or
 * not at all.  Reads by path: for a tree nothing writes any more (the job has ended).  The
 * error names the file and where it was going. */
int out_dest_put_files(struct out_dest *d, const struct out_put *f, size_t n, struct sr_error *err);

/* Upload the open regular file `fd` (read from its start) as `rel`: for a tree the job may
 * still change, once the file was opened without following a link. */
int out_dest_put_fd(struct out_dest *d, int fd, const char *rel, struct sr_error *err);

/* ---- proc_outputs.c: every host's files of one output, merged ---- */

/* A name's kept copy: the one of the host last in the hosts' natural order (algo-10 after
 * algo-9). */
struct out_file {
	const struct fs_file *f; /* rel, path, size, mtime; borrowed from the listing */
	size_t src;		 /* its host: an index into the caller's srcs */
};

struct out_listing {
	struct out_file *files; /* one per name, sorted by name */
	size_t n;
	int64_t bytes;	    /* of the files kept */
	size_t hosts_found; /* hosts whose folder was there */
	struct strv notes;  /* report lines: names several hosts wrote, links left out */
	/* private */
	struct fs_file **host_files;
	size_t *host_n;
	size_t n_hosts;
};

/* List every host's folder (never following a link: each one is left out and named in
 * `notes`) and keep one copy of each name.  A missing folder is a host that never made it:
 * skipped.  Release with out_listing_release, also after an error. */
int out_list(const char *name, const struct proc_output_src *srcs, size_t n, struct out_listing *l,
	     struct sr_error *err);
void out_listing_release(struct out_listing *l);

/* Upload the listing's files to `d`, host after host, leaving out those `skip` (may be NULL)
 * says true for; *ret_put (may be NULL) counts the uploaded ones.  The error names the output,
 * the host, and what to do. */
int out_put(struct out_dest *d, const struct proc_output_src *srcs, const struct out_listing *l,
	    bool (*skip)(void *ctx, const struct out_file *f), void *ctx, size_t *ret_put,
	    struct sr_error *err);

/* The report's lines for an output: "output 'x': 6 files, 35 bytes from 3 hosts to <uri>"
 * and `extra` (NULL: none) after it, then the listing's notes. */
void out_report(const struct out_dest *d, const struct out_listing *l, const char *extra,
		struct strv *report);

#endif
