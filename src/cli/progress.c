#include "cli/progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/fs.h"

void progress_init(struct progress_bar *p, int fd, bool tty)
{
	memset(p, 0, sizeof(*p));
	p->fd = fd;
	p->on = tty;
	p->total = -1;
}

void progress_begin(struct progress_bar *p, int64_t moved_now, int64_t total)
{
	p->base = moved_now;
	p->last = moved_now;
	p->total = total;
	p->start_ms = clock_mono_ms();
}

char *progress_bytes(int64_t n, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	size_t u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (!u)
		snprintf(buf, len, "%lld B", (long long)n);
	else
		snprintf(buf, len,
			 v < 10	   ? "%.2f %s"
			 : v < 100 ? "%.1f %s"
				   : "%.0f %s",
			 v, units[u]);
	return buf;
}

void progress_update(void *ctx, int64_t moved)
{
	struct progress_bar *p = ctx;
	char line[192], done[32], all[32], rate[32];
	int64_t n = moved - p->base, ms = clock_mono_ms() - p->start_ms;
	double bps = ms > 0 ? (double)n * 1000.0 / (double)ms : 0;
	int len;

	p->last = moved;
	if (!p->on)
		return;
	progress_bytes(n, done, sizeof(done));
	progress_bytes((int64_t)bps, rate, sizeof(rate));
	if (p->total > 0) {
		int64_t left = p->total - n;
		long eta = bps > 0 && left > 0 ? (long)((double)left / bps + 0.5) : 0;

		progress_bytes(p->total, all, sizeof(all));
		len = snprintf(line, sizeof(line), "\r%s / %s  %d %%  %s/s  ETA %ld:%02ld\033[K",
			       done, all, (int)(n * 100 / p->total), rate, eta / 60, eta % 60);
	} else {
		len = snprintf(line, sizeof(line), "\r%s  %s/s\033[K", done, rate);
	}
	if (len > 0 && (size_t)len < sizeof(line) && fs_write_all(p->fd, line, (size_t)len) == 0)
		p->drawn = true;
}

void progress_end(struct progress_bar *p)
{
	if (p->on && p->drawn) {
		progress_update(p, p->last); /* the final count stays on the screen */
		(void)fs_write_all(p->fd, "\n", 1);
	}
	p->drawn = false;
}
