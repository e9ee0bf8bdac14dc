/* loop.c - the supervisor's epoll loop and timers (Redis: ae.c; libuv: linux.c).
 *
 * Watches live inside longer-lived objects (a host's state, the supervisor's), so removing
 * one during a pass only unregisters and marks it: events already fetched in the same pass
 * see `active == false` and are dropped, and no memory goes away under the loop.
 */
#include "supervise/internal.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"

#define LOOP_EVENTS 32

int sup_loop_init(struct sup_loop *l, struct sr_error *err)
{
	l->quit = false;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return sr_err_errno(err, errno, "create epoll instance");
	return 0;
}

void sup_loop_release(struct sup_loop *l)
{
	l->epfd = sr_close(l->epfd);
}

int sup_watch_add(struct sup_loop *l, struct sup_watch *w, int fd, uint32_t events,
		  int (*handler)(struct sup_loop *, struct sup_watch *, uint32_t,
				 struct sr_error *),
		  void *owner, struct sr_error *err)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};

	w->fd = fd;
	w->handler = handler;
	w->owner = owner;
	w->active = false;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return sr_err_errno(err, errno, "watch fd %d", fd);
	w->active = true;
	return 0;
}

void sup_watch_remove(struct sup_loop *l, struct sup_watch *w)
{
	if (!w->active)
		return;
	/* Before the close: a copy of the fd in a child would keep the open file, and its
	 * events, registered otherwise.  Failure means it is not registered: nothing to undo. */
	(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->active = false;
}

int sup_loop_run(struct sup_loop *l, struct sr_error *err)
{
	struct epoll_event ev[LOOP_EVENTS];

	while (!l->quit) {
		int n = epoll_wait(l->epfd, ev, LOOP_EVENTS, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sr_err_errno(err, errno, "wait for events");
		for (int i = 0; i < n && !l->quit; i++) {
			struct sup_watch *w = ev[i].data.ptr;
			int r;

			/* An earlier handler of this pass may have removed it. */
			if (!w->active)
				continue;
			r = w->handler(l, w, ev[i].events, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int sup_timer_open(int *ret_fd, struct sr_error *err)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd < 0)
		return sr_err_errno(err, errno, "create timer");
	*ret_fd = fd;
	return 0;
}

int sup_timer_arm(int fd, int64_t ms, struct sr_error *err)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	if (ms > 0) {
		its.it_value.tv_sec = (time_t)(ms / 1000);
		its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	}
	if (timerfd_settime(fd, 0, &its, NULL) < 0)
		return sr_err_errno(err, errno, "arm timer");
	return 0;
}

bool sup_timer_ack(int fd)
{
	uint64_t expirations;

	/* EAGAIN: disarmed or re-armed since the event was fetched, so it did not expire. */
	return read(fd, &expirations, sizeof(expirations)) == (ssize_t)sizeof(expirations);
}
