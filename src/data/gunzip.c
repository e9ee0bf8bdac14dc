/* gunzip.c - one gzip file decompressed into another, with libarchive's raw format (one
 * "entry": the whole stream) behind its gzip filter. */
#include "data/gunzip.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/lazylib.h"
#include "util/xalloc.h"

static void archive_read_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}

int gunzip_file(const char *src, const char *dest, const char *label, struct sr_error *err)
{
	_cleanup_(archive_read_freep) struct archive *a = NULL;
	_cleanup_free_ char *tmp = xasprintf("%s.XXXXXX", dest);
	struct archive_entry *e;
	char buf[65536];
	int fd, r;

	r = lazylib_archive_load(err);
	if (r < 0)
		return sr_err_wrap(err, "%s: decompress", label);
	a = archive_read_new();
	if (!a)
		return sr_err(err, -ENOMEM, "%s: decompress: out of memory", label);
	archive_read_support_filter_gzip(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_filename(a, src, sizeof(buf)) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK)
		return sr_err(err, -EIO, "%s: decompress: %s", label,
			      archive_error_string(a) ? archive_error_string(a) : "cannot read");
	/* Filter 0 is the outermost; without gzip there is only "none". */
	if (archive_filter_code(a, 0) != ARCHIVE_FILTER_GZIP) {
		sr_err(err, -EILSEQ, "%s: not gzip data", label);
		return sr_err_hint(err,
				   "the channel says CompressionType Gzip: every object must be "
				   "gzip-compressed, or set it to None");
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return sr_err_errno(err, errno, "%s: write '%s'", label, tmp);
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, sizeof(buf));

		if (n == 0)
			break;
		if (n < 0) {
			r = sr_err(err, -EIO, "%s: decompress: %s", label,
				   archive_error_string(a) ? archive_error_string(a)
							   : "corrupt data");
			goto fail;
		}
		r = fs_write_all(fd, buf, (size_t)n);
		if (r < 0) {
			sr_err_errno(err, -r, "%s: write '%s'", label, tmp);
			goto fail;
		}
	}
	if (fchmod(fd, 0444) < 0 || close(fd) < 0) {
		fd = -1;
		r = sr_err_errno(err, errno, "%s: write '%s'", label, tmp);
		goto fail;
	}
	fd = -1;
	if (rename(tmp, dest) < 0) {
		r = sr_err_errno(err, errno, "%s: rename to '%s'", label, dest);
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return r;
}
