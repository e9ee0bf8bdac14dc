/* pipe.c - Pipe-mode channels (pipe.h): a feeder thread per host and channel. */
#include "data/pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define RECORDIO_MAGIC 0xced7230aU
/* A record part holds at most this much (the length has 29 bits); files are cut into parts
 * of CHUNK so that a file of any size streams with one buffer. */
#define RECORDIO_CHUNK (1u << 20)

struct pipe_feed {
	char *dir, *name;
	char **files; /* what one pass carries, in order */
	size_t n_files;
	bool recordio;
	atomic_bool stop;
	atomic_uint epochs;
	atomic_uint epoch; /* the pass whose FIFO the thread waits on or writes */
	pthread_t thread;
	bool thread_live;
};

void pipe_recordio_header(unsigned char out[8], unsigned len, unsigned cflag)
{
	uint32_t magic = RECORDIO_MAGIC, lrec = (cflag << 29) | (len & ((1u << 29) - 1));

	memcpy(out, &magic, 4); /* little-endian, as MXNet writes it on x86 */
	memcpy(out + 4, &lrec, 4);
}

static char *fifo_path(const struct pipe_feed *f, unsigned epoch)
{
	return xasprintf("%s/%s_%u", f->dir, f->name, epoch);
}

/* Up to `len` bytes, fewer only at the end of the file; or -errno. */
static ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* One RecordIO part: header, data, padding to 4 bytes. */
static int write_part(int out, const void *data, size_t len, unsigned cflag)
{
	static const unsigned char zeros[4];
	unsigned char h[8];
	int r;

	pipe_recordio_header(h, (unsigned)len, cflag);
	r = fs_write_all(out, h, sizeof(h));
	if (r >= 0 && len)
		r = fs_write_all(out, data, len);
	if (r >= 0 && len % 4)
		r = fs_write_all(out, zeros, 4 - len % 4);
	return r;
}

/* A file as records: whole when it fits one part, else a first part, middle ones and a last
 * (MXNet's continuation flags 1, 2, 3), each part read before the one before it is written so
 * that the last is known. */
static int write_recordio(int in, int out)
{
	_cleanup_free_ unsigned char *cur = xmalloc(RECORDIO_CHUNK);
	_cleanup_free_ unsigned char *next = xmalloc(RECORDIO_CHUNK);
	ssize_t n = read_full(in, cur, RECORDIO_CHUNK), m;
	bool first = true;

	if (n < 0)
		return (int)n;
	for (;;) {
		m = (size_t)n == RECORDIO_CHUNK ? read_full(in, next, RECORDIO_CHUNK) : 0;
		if (m < 0)
			return (int)m;
		unsigned cflag = first && !m ? 0 : first ? 1 : m ? 2 : 3;
		int r = write_part(out, cur, (size_t)n, cflag);

		if (r < 0 || !m)
			return r;
		memcpy(cur, next, (size_t)m);
		n = m;
		first = false;
	}
}

/* One pass: every file, in order, into the FIFO the program opened. */
static int write_pass(struct pipe_feed *f, int out)
{
	for (size_t i = 0; i < f->n_files && !atomic_load(&f->stop); i++) {
		_cleanup_close_ int in = open(f->files[i], O_RDONLY | O_CLOEXEC);
		bool writing = false;
		int r;

		if (in < 0)
			return -errno;
		r = f->recordio ? write_recordio(in, out) : fs_copy_fd(in, out, &writing);
		if (r < 0)
			return r;
	}
	return 0;
}

static int fifo_make(const struct pipe_feed *f, unsigned epoch)
{
	_cleanup_free_ char *path = fifo_path(f, epoch);

	/* Any user of the host reads it (a container's user is the image's). */
	if (mkfifo(path, 0666) < 0 && errno != EEXIST)
		return -errno;
	(void)chmod(path, 0666);
	return 0;
}

static void *feed_main(void *arg)
{
	struct pipe_feed *f = arg;

	for (unsigned epoch = 0; !atomic_load(&f->stop); epoch++) {
		_cleanup_free_ char *path = fifo_path(f, epoch);
		int out;

		atomic_store(&f->epoch, epoch);
		/* Blocks until the program opens the pass for reading (or a stop's own open). */
		do
			out = open(path, O_WRONLY | O_CLOEXEC);
		while (out < 0 && errno == EINTR);
		if (out < 0)
			break;
		if (!atomic_load(&f->stop) && write_pass(f, out) >= 0 && !atomic_load(&f->stop))
			atomic_fetch_add(&f->epochs, 1);
		/* The next pass's FIFO is there before this one's end reaches the program, which
		 * opens it as soon as it reads that end. */
		if (fifo_make(f, epoch + 1) < 0) {
			close(out);
			break;
		}
		close(out);
	}
	return NULL;
}

/* The files of one pass: a folder's regular files sorted by name, or the one file. */
static int pass_files(struct pipe_feed *f, const char *src, struct sr_error *err)
{
	struct fs_file *files = NULL;
	size_t n = 0;
	int r;

	if (!fs_is_dir(src)) {
		f->files = xcalloc(1, sizeof(*f->files));
		f->files[f->n_files++] = xstrdup(src);
		return 0;
	}
	r = fs_list_files(src, &files, &n, err);
	if (r < 0)
		return r;
	f->files = xcalloc(n ? n : 1, sizeof(*f->files));
	for (size_t i = 0; i < n; i++)
		f->files[f->n_files++] = xstrdup(files[i].path);
	fs_files_free(files, n);
	return 0;
}

static void feed_free(struct pipe_feed *f)
{
	for (size_t i = 0; i < f->n_files; i++)
		free(f->files[i]);
	free(f->files);
	free(f->dir);
	free(f->name);
	free(f);
}

int pipe_feed_start(const struct pipe_feed_opts *o, struct pipe_feed **ret, struct sr_error *err)
{
	struct pipe_feed *f = xcalloc(1, sizeof(*f));
	sigset_t all, old;
	int r;

	f->dir = xstrdup(o->dir);
	f->name = xstrdup(o->name);
	f->recordio = o->recordio;
	r = pass_files(f, o->src, err);
	if (r >= 0 && (r = fifo_make(f, 0)) < 0)
		sr_err_errno(err, -r, "channel '%s': make its pipe in '%s'", o->name, o->dir);
	if (r < 0) {
		feed_free(f);
		return r;
	}
	/* The thread takes no signal: those are for the supervisor's signalfd. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&f->thread, NULL, feed_main, f);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		feed_free(f);
		return sr_err_errno(err, r, "channel '%s': start its pipe", o->name);
	}
	f->thread_live = true;
	*ret = f;
	return 0;
}

void pipe_feed_stop(struct pipe_feed *f)
{
	if (!f)
		return;
	atomic_store(&f->stop, true);
	/* A thread waiting for a reader gets one (ours, at once gone), again until it is out
	 * (it may have been about to wait on the next pass); a pass being written ends at the
	 * next file, or at once, its reader gone with its host. */
	while (f->thread_live && pthread_tryjoin_np(f->thread, NULL) == EBUSY) {
		_cleanup_free_ char *path = fifo_path(f, atomic_load(&f->epoch));
		int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

		usleep(1000); /* open while the thread's open() of the other end returns */
		(void)sr_close(fd);
	}
	feed_free(f);
}

unsigned pipe_feed_epochs(const struct pipe_feed *f)
{
	return f ? atomic_load(&f->epochs) : 0;
}
