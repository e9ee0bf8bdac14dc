/* tarwrite.c - the tar.gz writer of tarwrite.h: POSIX ustar (pax interchange format, IEEE Std
 * 1003.1-2001 "pax"), compressed as it goes with zlib's deflate in gzip framing. */
#include "data/tarwrite.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define BLOCK		  512
#define RECORD		  (20 * BLOCK) /* what tar pads a whole archive to */
#define OUT_SIZE	  (256 * 1024)
#define PAX_NAME	  "././@PaxHeader"
#define OCTAL_MAX(digits) ((1ULL << (3 * (digits))) - 1)

struct tarw {
	int fd;
	const char *label;
	z_stream z;
	unsigned char *out; /* OUT_SIZE bytes of compressed output not written yet */
	uint64_t offset;    /* uncompressed bytes so far */
	uint64_t left;	    /* the current file's bytes still to come */
	bool in_file;
};

int tarw_open(struct tarw **ret, int fd, const char *label, struct sr_error *err)
{
	struct tarw *w = xcalloc(1, sizeof(*w));

	w->fd = fd;
	w->label = label;
	/* windowBits 15 + 16: a gzip wrapper, whose header zlib writes with mtime 0. */
	if (deflateInit2(&w->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		free(w);
		return sr_err(err, -ENOMEM, "write '%s': cannot start gzip", label);
	}
	w->out = xmalloc(OUT_SIZE);
	w->z.next_out = w->out;
	w->z.avail_out = OUT_SIZE;
	*ret = w;
	return 0;
}

static int flush_out(struct tarw *w, struct sr_error *err)
{
	int r = fs_write_all(w->fd, w->out, OUT_SIZE - w->z.avail_out);

	if (r < 0)
		return sr_err_errno(err, -r, "write '%s'", w->label);
	w->z.next_out = w->out;
	w->z.avail_out = OUT_SIZE;
	return 0;
}

/* Compress `n` bytes (or finish the stream: Z_FINISH with n 0), in pieces zlib's uInt holds. */
static int put(struct tarw *w, const void *buf, size_t n, int flush, struct sr_error *err)
{
	while (n > UINT_MAX) {
		int r = put(w, buf, UINT_MAX, Z_NO_FLUSH, err);

		if (r < 0)
			return r;
		buf = (const char *)buf + UINT_MAX;
		n -= UINT_MAX;
	}
	w->z.next_in = (Bytef *)buf;
	w->z.avail_in = (uInt)n;
	w->offset += n;
	for (;;) {
		int zr = deflate(&w->z, flush);
		int r;

		if (zr == Z_STREAM_ERROR)
			return sr_err(err, -EIO, "write '%s': gzip failed", w->label);
		if (w->z.avail_out == 0 || (flush == Z_FINISH && zr == Z_STREAM_END)) {
			r = flush_out(w, err);
			if (r < 0)
				return r;
		}
		if (flush == Z_FINISH ? zr == Z_STREAM_END : w->z.avail_in == 0)
			return 0;
	}
}

static int put_zeros(struct tarw *w, size_t n, struct sr_error *err)
{
	static const unsigned char zeros[BLOCK];

	while (n > 0) {
		size_t k = n < sizeof(zeros) ? n : sizeof(zeros);
		int r = put(w, zeros, k, Z_NO_FLUSH, err);

		if (r < 0)
			return r;
		n -= k;
	}
	return 0;
}

static int pad_block(struct tarw *w, struct sr_error *err)
{
	size_t rest = (size_t)(w->offset % BLOCK);

	return rest ? put_zeros(w, BLOCK - rest, err) : 0;
}

/* An octal field of `len` bytes: len - 1 digits and a NUL; 0 when it does not fit (the pax
 * header has the value then). */
static void octal(char *field, size_t len, uint64_t v)
{
	if (v > OCTAL_MAX(len - 1))
		v = 0;
	snprintf(field, len, "%0*llo", (int)(len - 1), (unsigned long long)v);
}

/* One pax record, "<len> <key>=<value>\n", where len counts the whole record, itself too. */
static void pax_add(char **buf, size_t *len, const char *key, const char *value)
{
	size_t body = 1 + strlen(key) + 1 + strlen(value) + 1, total = body + 1;
	char digits[24];

	for (;;) {
		size_t d = (size_t)snprintf(digits, sizeof(digits), "%zu", total);

		if (body + d == total)
			break;
		total = body + d;
	}
	*buf = xrealloc(*buf, *len + total + 1);
	snprintf(*buf + *len, total + 1, "%zu %s=%s\n", total, key, value);
	*len += total;
}

/* Split `path` into ustar's prefix (<= 155) and name (<= 100) at a '/', if it can be. */
static bool ustar_split(const char *path, size_t *ret_prefix)
{
	size_t n = strlen(path);

	if (n <= 100) {
		*ret_prefix = 0;
		return true;
	}
	for (size_t i = n - 1; i > 0; i--) {
		if (path[i] != '/' || i > 155)
			continue;
		if (n - i - 1 > 100)
			return false; /* every later '/' leaves a longer name */
		if (n - i - 1 == 0)
			continue;
		*ret_prefix = i;
		return true;
	}
	return false;
}

static void checksum(unsigned char *h)
{
	unsigned sum = 0;

	memset(h + 148, ' ', 8);
	for (size_t i = 0; i < BLOCK; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

static void ustar_fill(unsigned char *h, const char *path, char type, mode_t perm, uid_t uid,
		       gid_t gid, uint64_t size, int64_t mtime, const char *linkname)
{
	size_t prefix = 0;

	memset(h, 0, BLOCK);
	if (ustar_split(path, &prefix) && prefix) {
		memcpy(h + 345, path, prefix);
		memcpy(h, path + prefix + 1, strlen(path + prefix + 1));
	} else {
		memcpy(h, path, strnlen(path, 100)); /* a pax path follows when it is longer */
	}
	octal((char *)h + 100, 8, perm & 07777);
	octal((char *)h + 108, 8, uid);
	octal((char *)h + 116, 8, gid);
	octal((char *)h + 124, 12, size);
	octal((char *)h + 136, 12, mtime < 0 ? 0 : (uint64_t)mtime);
	h[156] = (unsigned char)type;
	if (linkname)
		memcpy(h + 157, linkname, strnlen(linkname, 100));
	memcpy(h + 257, "ustar", 6); /* with its NUL */
	memcpy(h + 263, "00", 2);
	checksum(h);
}

int tarw_header(struct tarw *w, const struct tarw_entry *e, struct sr_error *err)
{
	unsigned char h[BLOCK];
	char *path = NULL, *pax = NULL, num[32];
	size_t pax_len = 0, prefix;
	uint64_t size = e->type == TARW_FILE ? e->size : 0;
	int r;

	if (w->in_file)
		return sr_err(err, -EINVAL, "write '%s': an entry before the last one ended",
			      w->label);
	path = e->type == TARW_DIR && e->path[0] && e->path[strlen(e->path) - 1] != '/'
		   ? xasprintf("%s/", e->path)
		   : xstrdup(e->path);
	if (!ustar_split(path, &prefix))
		pax_add(&pax, &pax_len, "path", path);
	if (e->linkname && strlen(e->linkname) > 100)
		pax_add(&pax, &pax_len, "linkpath", e->linkname);
	if (size > OCTAL_MAX(11)) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)size);
		pax_add(&pax, &pax_len, "size", num);
	}
	if ((uint64_t)e->uid > OCTAL_MAX(7)) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)e->uid);
		pax_add(&pax, &pax_len, "uid", num);
	}
	if ((uint64_t)e->gid > OCTAL_MAX(7)) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)e->gid);
		pax_add(&pax, &pax_len, "gid", num);
	}
	if (e->mtime < 0 || (uint64_t)e->mtime > OCTAL_MAX(11)) {
		snprintf(num, sizeof(num), "%lld", (long long)e->mtime);
		pax_add(&pax, &pax_len, "mtime", num);
	}
	r = 0;
	if (pax) {
		ustar_fill(h, PAX_NAME, 'x', 0644, 0, 0, pax_len, 0, NULL);
		r = put(w, h, BLOCK, Z_NO_FLUSH, err);
		if (r >= 0)
			r = put(w, pax, pax_len, Z_NO_FLUSH, err);
		if (r >= 0)
			r = pad_block(w, err);
	}
	if (r >= 0) {
		ustar_fill(h, path, e->type, e->perm, e->uid, e->gid, size, e->mtime, e->linkname);
		r = put(w, h, BLOCK, Z_NO_FLUSH, err);
	}
	free(pax);
	free(path);
	if (r < 0)
		return r;
	w->left = size;
	w->in_file = e->type == TARW_FILE;
	return 0;
}

int tarw_data(struct tarw *w, const void *buf, size_t n, struct sr_error *err)
{
	if (!w->in_file || n > w->left)
		return sr_err(err, -EINVAL, "write '%s': more data than the entry's size",
			      w->label);
	w->left -= n;
	return put(w, buf, n, Z_NO_FLUSH, err);
}

int tarw_end_entry(struct tarw *w, struct sr_error *err)
{
	int r = 0;

	if (!w->in_file)
		return 0;
	while (r >= 0 && w->left > 0) {
		size_t k = w->left < (1u << 20) ? (size_t)w->left : (1u << 20);

		r = put_zeros(w, k, err);
		w->left -= k;
	}
	if (r >= 0)
		r = pad_block(w, err);
	w->in_file = false;
	return r;
}

int tarw_close(struct tarw *w, struct sr_error *err)
{
	int r = tarw_end_entry(w, err);
	size_t rest;

	if (r >= 0)
		r = put_zeros(w, 2 * BLOCK, err);
	rest = (size_t)(w->offset % RECORD);
	if (r >= 0 && rest)
		r = put_zeros(w, RECORD - rest, err);
	if (r >= 0)
		r = put(w, NULL, 0, Z_FINISH, err);
	return r;
}

void tarw_free(struct tarw *w)
{
	if (!w)
		return;
	deflateEnd(&w->z);
	free(w->out);
	free(w);
}
