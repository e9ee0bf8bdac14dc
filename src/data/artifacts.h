/* artifacts.h - package what the hosts left: model.tar.gz and output.tar.gz.
 *
 * After the hosts end (on failure and stop too, as the service does) every host's
 * /opt/ml/model is merged into one model.tar.gz and every /opt/ml/output/data into
 * output.tar.gz, written with libarchive to a temp name in the destination folder and renamed.
 * Symlinks are stored as symlinks, never followed (a host may plant one to anything; only
 * the user's own source folder is packed following them); an empty tree gives a valid
 * empty tarball.
 * When two hosts write the same path the lower-numbered host wins and the clash is reported as
 * a warning (the service says hosts "should ensure no file/directory names clash").
 */
#ifndef SR_DATA_ARTIFACTS_H
#define SR_DATA_ARTIFACTS_H

#include <stddef.h>

#include "util/strv.h"

struct sr_error;

/* Hard limit on a tarball's entries: nobody's source folder or model has a million. */
#define ARTIFACTS_ENTRIES_MAX (1u << 20)

/* Merge the folders `roots[0..n-1]` (missing folders count as empty) into a gzip-compressed
 * tar at `dest` (atomically).  Entry names are relative to each root, without a leading
 * "./".  Clashes go to `warnings` (may be NULL). */
int artifacts_pack(const char *const *roots, size_t n, const char *dest, struct strv *warnings,
		   struct sr_error *err);

/* A source folder packed into `dest` as the SageMaker SDK packs sourcedir.tar.gz (tarfile,
 * dereference=True): symbolic links are followed, so a link to a file gives the file's
 * content under the link's name and a link to a folder the folder's; a link that leads
 * nowhere or back to a folder it is in is an error naming it, and so are more than
 * ARTIFACTS_ENTRIES_MAX entries.  `root` may itself be a link. */
int artifacts_pack_source(const char *root, const char *dest, struct sr_error *err);

/* Extract a tar.gz (sourcedir.tar.gz) into `dest`, which must be empty or missing
 * (-ENOTEMPTY): files, folders, symbolic and hard links only; no absolute name or "..";
 * nothing written through a symbolic link; every symbolic link leading inside `dest`,
 * following the links extracted with it (artifacts_unpack.c has the rules and why).  A
 * refused tarball is named with its entry and the reason, and leaves `dest` as it was. */
int artifacts_unpack(const char *tarball, const char *dest, struct sr_error *err);

#endif
