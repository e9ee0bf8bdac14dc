/* sagemaker_logs.c - a job's hosts' output from CloudWatch Logs, where the service sends it:
 * log group /aws/sagemaker/TrainingJobs (ProcessingJobs), one stream per host named
 * <job>/algo-N-<epoch>.  Streams are found with DescribeLogStreams (every page) and each is
 * read with GetLogEvents from its head, page after page with the forward token until the
 * token comes back unchanged (CloudWatch's "nothing more now").  What one poll finds is
 * printed oldest first across hosts, with the local engine's "algo-N | " prefixes.
 */
#include "engines/sagemaker_internal.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/engine.h"
#include "job/kind.h"
#include "s3/awsjson.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/xalloc.h"

/* GetLogEvents pages of one stream per poll, at most: a host that writes faster than this is
 * read on at the next poll. */
#define PAGES_PER_POLL 100
#define FOLLOW_TICK_MS 1000

struct stream {
	char *name;
	char host[32]; /* algo-N */
	char *token;   /* the next forward token, NULL before the first read */
	int64_t n_events;
};

struct event {
	int64_t t;
	size_t seq; /* order within its stream, for a stable sort */
	const char *host;
	char *msg;
};

struct sm_logs {
	struct aws_json_client *cw;
	char *group;
	char *prefix; /* "<job>/" */
	char *host;   /* only this host (no prefix printed), NULL: all */
	bool timestamps;
	int64_t since_ms;
	int64_t tail; /* the first poll only: the last N events of each host; -1: all */
	struct stream *s;
	size_t n;
	int width;
	struct event *ev; /* one poll's events */
	size_t n_ev, cap_ev;
};

int sm_logs_new(const struct job_kind *kind, const char *job_name, const char *host,
		bool timestamps, int64_t since_ms, struct sm_logs **ret, struct sr_error *err)
{
	struct sm_logs *lg = xcalloc(1, sizeof(*lg));
	int r = aws_json_client_new(&aws_logs, &lg->cw, err);

	if (r < 0) {
		free(lg);
		return r;
	}
	lg->group = xasprintf("/aws/sagemaker/%ss", kind->api);
	lg->prefix = xasprintf("%s/", job_name);
	lg->host = host ? xstrdup(host) : NULL;
	lg->timestamps = timestamps;
	lg->since_ms = since_ms;
	lg->tail = -1;
	*ret = lg;
	return 0;
}

void sm_logs_free(struct sm_logs *lg)
{
	if (!lg)
		return;
	for (size_t i = 0; i < lg->n; i++) {
		free(lg->s[i].name);
		free(lg->s[i].token);
	}
	free(lg->s);
	free(lg->ev);
	free(lg->group);
	free(lg->prefix);
	free(lg->host);
	aws_json_client_free(lg->cw);
	free(lg);
}

/* "<job>/algo-2-1700000000" -> "algo-2"; false for a stream of another shape. */
static bool stream_host(const char *prefix, const char *name, char *host, size_t len)
{
	const char *p = name + strlen(prefix);
	size_t digits;

	if (strncmp(name, prefix, strlen(prefix)) || strncmp(p, "algo-", 5))
		return false;
	digits = strspn(p + 5, "0123456789");
	if (!digits)
		return false;
	snprintf(host, len, "%.*s", (int)(5 + digits), p);
	return true;
}

static void add_stream(struct sm_logs *lg, const char *name)
{
	char host[32];

	for (size_t i = 0; i < lg->n; i++)
		if (!strcmp(lg->s[i].name, name))
			return;
	if (!stream_host(lg->prefix, name, host, sizeof(host)))
		return;
	if (lg->host && strcmp(lg->host, host))
		return;
	lg->s = xrealloc(lg->s, (lg->n + 1) * sizeof(*lg->s));
	lg->s[lg->n] = (struct stream){.name = xstrdup(name)};
	snprintf(lg->s[lg->n].host, sizeof(lg->s[lg->n].host), "%s", host);
	if ((int)strlen(host) > lg->width)
		lg->width = (int)strlen(host);
	lg->n++;
}

/* Every stream of the job there is now, every page.  No log group yet (a first job in the
 * account) is no stream yet. */
static int find_streams(struct sm_logs *lg, struct sr_error *err)
{
	_cleanup_free_ char *token = NULL;

	do {
		json_t *req = json_pack("{s:s, s:s}", "logGroupName", lg->group,
					"logStreamNamePrefix", lg->prefix);
		json_t *ans = NULL, *s;
		size_t i;
		int r;

		if (token)
			json_object_set_new(req, "nextToken", json_string(token));
		r = aws_json_call(lg->cw, "DescribeLogStreams", req, &ans, err);
		json_decref(req);
		if (r == -ENOENT) {
			sr_err_clear(err);
			return 0;
		}
		if (r < 0)
			return r;
		json_array_foreach (json_object_get(ans, "logStreams"), i, s)
			add_stream(lg, json_string_value(json_object_get(s, "logStreamName")));
		free(token);
		token = json_string_value(json_object_get(ans, "nextToken"))
			    ? xstrdup(json_string_value(json_object_get(ans, "nextToken")))
			    : NULL;
		json_decref(ans);
	} while (token);
	return 0;
}

static void add_event(struct sm_logs *lg, struct stream *s, json_t *e)
{
	const char *msg = json_string_value(json_object_get(e, "message"));
	json_t *t = json_object_get(e, "timestamp");
	size_t n;

	if (!msg)
		return;
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		n--;
	xgrow(&lg->ev, &lg->cap_ev, lg->n_ev + 1, sizeof(*lg->ev));
	lg->ev[lg->n_ev++] = (struct event){
	    .t = json_is_integer(t) ? (int64_t)json_integer_value(t) : 0,
	    .seq = (size_t)s->n_events++,
	    .host = s->host,
	    .msg = xstrndup(msg, n),
	};
}

/* Every event of `s` since its token. */
static int read_stream(struct sm_logs *lg, struct stream *s, struct sr_error *err)
{
	for (int page = 0; page < PAGES_PER_POLL; page++) {
		json_t *req = json_pack("{s:s, s:s, s:b}", "logGroupName", lg->group,
					"logStreamName", s->name, "startFromHead", 1);
		json_t *ans = NULL, *e;
		const char *next;
		size_t i, before = lg->n_ev;
		bool same;
		int r;

		if (s->token)
			json_object_set_new(req, "nextToken", json_string(s->token));
		else if (lg->since_ms > 0)
			json_object_set_new(req, "startTime", json_integer(lg->since_ms));
		r = aws_json_call(lg->cw, "GetLogEvents", req, &ans, err);
		json_decref(req);
		if (r < 0)
			return r;
		json_array_foreach (json_object_get(ans, "events"), i, e)
			add_event(lg, s, e);
		next = json_string_value(json_object_get(ans, "nextForwardToken"));
		same = !next || (s->token && !strcmp(next, s->token));
		if (next) {
			free(s->token);
			s->token = xstrdup(next);
		}
		json_decref(ans);
		if (same || lg->n_ev == before)
			break;
	}
	return 0;
}

static int event_cmp(const void *a, const void *b)
{
	const struct event *x = a, *y = b;
	int h;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	h = strcmp(x->host, y->host);
	if (h)
		return h;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* --tail N: only the last N of each host (the first poll's). */
static bool in_tail(const struct sm_logs *lg, size_t i)
{
	size_t after = 0;

	if (lg->tail < 0)
		return true;
	for (size_t k = i + 1; k < lg->n_ev; k++)
		if (!strcmp(lg->ev[k].host, lg->ev[i].host))
			after++;
	return (int64_t)after < lg->tail;
}

int sm_logs_poll(struct sm_logs *lg, struct sr_error *err)
{
	int r = find_streams(lg, err);
	int printed = 0;

	for (size_t i = 0; r >= 0 && i < lg->n; i++)
		r = read_stream(lg, &lg->s[i], err);
	if (lg->n_ev) /* qsort takes no NULL, even for nothing */
		qsort(lg->ev, lg->n_ev, sizeof(*lg->ev), event_cmp);
	for (size_t i = 0; i < lg->n_ev; i++) {
		struct event *e = &lg->ev[i];

		if (in_tail(lg, i)) {
			if (lg->timestamps) {
				char ts[48];

				fputs(e->t ? clock_iso8601(e->t, ts, sizeof(ts)) : "-", stdout);
				fputc(' ', stdout);
			}
			if (!lg->host)
				printf("%-*s | ", lg->width, e->host);
			fputs(e->msg, stdout);
			fputc('\n', stdout);
			printed++;
		}
		free(e->msg);
	}
	lg->n_ev = 0;
	lg->tail = -1;
	fflush(stdout);
	return r < 0 ? r : printed;
}

int sm_logs_settle(struct sm_logs *lg, int64_t end_ms, int (*nap)(void *ctx, int ms), void *ctx,
		   struct sr_error *err)
{
	int64_t now = clock_wall_ms();
	int64_t until = now + SM_LOGS_SETTLE_MS;
	int r = 0;

	/* Counted from the service's end where it is known and earlier: a job that ended long
	 * ago has nothing on its way. */
	if (end_ms > 0 && end_ms + SM_LOGS_SETTLE_MS < until)
		until = end_ms + SM_LOGS_SETTLE_MS;
	while (r >= 0) {
		int64_t left = until - clock_wall_ms();

		if (left <= 0)
			break;
		if (nap(ctx, left < SM_LOGS_SETTLE_TICK_MS ? (int)left : SM_LOGS_SETTLE_TICK_MS))
			break;
		r = sm_logs_poll(lg, err);
	}
	return r < 0 ? r : 0;
}

static int nap_plain(void *ctx, int ms)
{
	(void)ctx;
	(void)poll(NULL, 0, ms);
	return 0;
}

/* Whether the recorded job ended, and when, asked of the service (and recorded). */
static int job_ended(struct aws_json_client *sm, const struct store_job_row *row,
		     const struct job_kind *kind, bool *ended, int64_t *end_ms,
		     struct sr_error *err)
{
	_cleanup_json_ json_t *req = sm_name_request(kind, row->name);
	_cleanup_free_ char *op = xasprintf("Describe%s", kind->api);
	json_t *d = NULL;
	struct job_status st;
	struct store *s = NULL;
	int r = aws_json_call(sm, op, req, &d, err);

	if (r < 0)
		return r;
	sm_describe_status(kind, d, &st);
	*ended = st.state == JOB_COMPLETED || st.state == JOB_FAILED || st.state == JOB_STOPPED;
	*end_ms = st.end_ms;
	job_status_release(&st);
	if (engine_store_open(&s, NULL, NULL) >= 0)
		(void)sm_record(s, row->name, kind, d, NULL);
	store_close(s);
	json_decref(d);
	return 0;
}

int sm_logs_cmd(const struct store_job_row *row, const struct engine_logs_options *o,
		struct sr_error *err)
{
	const struct job_kind *kind = job_kind_find(row->type);
	struct aws_json_client *sm = NULL;
	struct sm_logs *lg = NULL;
	bool ended = false;
	int64_t end_ms = 0;
	int r;

	if (!kind)
		return sr_err(err, -EINVAL, "job '%s': unknown type '%s'", row->name, row->type);
	if (o->host && (strncmp(o->host, "algo-", 5) || atoi(o->host + 5) < 1 ||
			atoi(o->host + 5) > row->hosts))
		return sr_err(err, -EINVAL, "--host: job '%s' has no host '%s' (algo-1 to algo-%d)",
			      row->name, o->host, row->hosts);
	r = sm_logs_new(kind, row->name, o->host, o->timestamps, o->since_ms, &lg, err);
	if (r < 0)
		return r;
	lg->tail = o->tail;
	if (o->follow)
		r = aws_json_client_new(&aws_sagemaker, &sm, err);
	while (r >= 0) {
		/* The end is read before the logs: what the hosts wrote before it is there, or on
		 * its way (sm_logs_settle). */
		if (o->follow)
			r = job_ended(sm, row, kind, &ended, &end_ms, err);
		if (r >= 0)
			r = sm_logs_poll(lg, err);
		if (r >= 0 && o->follow && ended)
			r = sm_logs_settle(lg, end_ms, nap_plain, NULL, err);
		if (r < 0 || !o->follow || ended)
			break;
		if (ferror(stdout)) {
			r = sr_err_errno(err, EPIPE, "logs of '%s': write", row->name);
			break;
		}
		(void)poll(NULL, 0, FOLLOW_TICK_MS);
	}
	aws_json_client_free(sm);
	sm_logs_free(lg);
	return r < 0 ? r : 0; /* not the lines printed */
}
