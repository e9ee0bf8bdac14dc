/* processing.c - the processing kind on this machine (launch_kind): FrameworkProcessor's code
 * made (processing_code.c), S3 inputs staged through the cache as training channels are and
 * local files put in folders of their own, each host laid out as a processing instance
 * (processing_host.c), Continuous outputs uploaded while the hosts run, and at the end every
 * output uploaded and the hosts' /opt/ml/output/message made the ExitMessage, whatever the
 * outcome, as the service does. */
#include "launch/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/output_watch.h"
#include "data/proc_outputs.h"
#include "data/s3_channel.h"
#include "job/job.h"
#include "job/report.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/utf8.h"
#include "util/xalloc.h"

/* ExitMessage: "the first 1 KB" of what the hosts wrote (reference §4). */
#define EXIT_MESSAGE_MAX 1024

/* What the kind keeps beside the hosts: the watcher of Continuous outputs, and what it said
 * when it stopped, for export to report. */
struct proc_state {
	struct output_watch *watch;
	struct strv report;
	struct sr_error err;
	int r;
};

static bool is_s3(const struct job_channel *c)
{
	return !strncmp(c->uri, "s3://", 5);
}

/* A local input that is one file: staged in a folder of its own (<job>/inputs/<name>/), as
 * an S3Prefix naming one object lands as <LocalPath>/<its name> on the service. */
static bool is_local_file(const struct job_channel *c)
{
	return !is_s3(c) && c->local_path && !fs_is_dir(c->local_path);
}

char *processing_input_dir(const struct local_job *L, size_t i, size_t index)
{
	const struct job_channel *c = &L->job->proc.inputs[i];

	if (is_s3(c)) {
		_cleanup_free_ char *dest = xasprintf("%s/channels/%s", L->job_dir, c->name);

		return s3_channel_host_dir(c, dest, index);
	}
	if (is_local_file(c))
		return xasprintf("%s/inputs/%s", L->job_dir, c->name);
	return xstrdup(c->local_path);
}

static int check_outputs(struct local_job *L, struct sr_error *err)
{
	const struct job_processing *p = &L->job->proc;

	for (size_t i = 0; i < p->n_outputs; i++) {
		const struct job_proc_output *o = &p->outputs[i];
		_cleanup_free_ char *what = xasprintf("output '%s'", o->name);
		int r = o->local_path
			    ? launch_check_output_folder(o->local_path, what,
							 "give the output a folder you can "
							 "write, or an s3:// URI",
							 err)
			    : 0;

		if (r < 0)
			return r;
	}
	return 0;
}

/* Downloading: S3 inputs into the cache and their folders under <job>/channels, local files
 * into <job>/inputs/<name>/. */
static int stage_inputs(struct local_job *L, struct sr_error *err)
{
	const struct job_processing *p = &L->job->proc;
	_cleanup_free_ char *cache = xasprintf("%s/cache/s3", L->home);
	struct strv report = STRV_INIT;
	int r = s3_channels_stage(p->inputs, p->n_inputs, L->job_dir, cache, L->n_hosts, "input",
				  launch_stop_asked, NULL, &report, err);

	launch_say_report(L, &report);
	for (size_t i = 0; r >= 0 && i < p->n_inputs; i++) {
		const struct job_channel *c = &p->inputs[i];
		_cleanup_free_ char *dir = NULL, *dst = NULL;

		if (!is_local_file(c))
			continue;
		dir = xasprintf("%s/inputs/%s", L->job_dir, c->name);
		dst = xasprintf("%s/%s", dir, strrchr(c->local_path, '/') + 1);
		r = fs_rm_rf(dir, err);
		if (r >= 0)
			r = fs_mkdir_p(dir, 0755, err);
		if (r >= 0)
			r = fs_copy_file(c->local_path, dst, 0644, err);
		if (r < 0)
			sr_err_wrap(err, "input '%s'", c->name);
	}
	return r;
}

/* The folder of output `o` in host `h`'s tree, as sagerun sees it; NULL when the host has
 * no tree (never laid out). */
static char *output_dir(const struct host *h, const struct job_proc_output *o)
{
	if (!h->opt_ml)
		return NULL;
	return xasprintf("%s/%s", h->opt_ml, o->dest + strlen("/opt/ml/"));
}

/* Once every host is laid out: Continuous outputs watched, each file uploaded as it is
 * closed. */
static int start_watch(struct local_job *L, struct sr_error *err)
{
	const struct job_processing *p = &L->job->proc;
	struct proc_state *st = NULL;
	int r = 0;

	for (size_t i = 0; r >= 0 && i < p->n_outputs; i++) {
		const struct job_proc_output *o = &p->outputs[i];

		if (strcmp(o->upload_mode, "Continuous"))
			continue;
		if (!st) {
			st = L->kind_state = xcalloc(1, sizeof(*st));
			r = output_watch_start(&st->watch, err);
		}
		for (size_t k = 0; r >= 0 && k < L->n_hosts; k++) {
			_cleanup_free_ char *dir = output_dir(&L->hosts[k], o);

			if (dir)
				r = output_watch_add(st->watch, o->name, L->hosts[k].name, dir,
						     o->local_path ? o->local_path : o->uri, err);
		}
	}
	return r;
}

/* The hosts are gone: the watcher's last pass uploads what is left of Continuous outputs,
 * and says so; its error waits for export, which frees the state.  Called again without a
 * watcher (the job's end, export never reached), the state goes. */
static void hosts_gone(struct local_job *L)
{
	struct proc_state *st = L->kind_state;

	if (!st)
		return;
	if (!st->watch) {
		free(st);
		L->kind_state = NULL;
		return;
	}
	st->r = output_watch_stop(st->watch, &st->report, &st->err);
	st->watch = NULL;
	launch_say_report(L, &st->report);
}

/* Up to `max` bytes of host `h`'s output/message: no link followed, no FIFO waited on.
 * *ret_len is 0 when there is none. */
static char *read_message(const struct host *h, size_t max, size_t *ret_len)
{
	_cleanup_free_ char *path = h->opt_ml ? xasprintf("%s/output/message", h->opt_ml) : NULL;
	_cleanup_close_ int fd = -1;
	char *buf = xmalloc(max + 1);
	struct stat sb;
	size_t len = 0;

	if (path)
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
		while (len < max) {
			ssize_t n = read(fd, buf + len, max - len);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			len += (size_t)n;
		}
	}
	buf[len] = '\0';
	*ret_len = len;
	return buf;
}

/* Whether `len` bytes are UTF-8; when `cut` (the read stopped short of the file's end), a
 * character the cut split at the very end still counts. */
static bool message_valid(const char *m, size_t len, bool cut)
{
	const unsigned char *p = (const unsigned char *)m;

	for (size_t at = 0; at < len;) {
		size_t n = utf8_seq(p + at, len - at);

		if (n == 0)
			return cut && len - at < 4 && p[at] >= 0xC2 && p[at] <= 0xF4;
		at += n;
	}
	return true;
}

/* ExitMessage: every host's /opt/ml/output/message, concatenated in host order, then the
 * first 1024 characters; bytes that are not UTF-8 fail the job with a ClientError, as the
 * service does (reference §4). */
static int exit_message(struct local_job *L, struct sr_error *err)
{
	/* 4 bytes per character at most: enough for 1024 characters, and one more byte to
	 * tell a cut character from a bad one. */
	const size_t room = 4 * EXIT_MESSAGE_MAX + 4;
	_cleanup_free_ char *all = xmalloc(room + 1);
	size_t n = 0;

	for (size_t i = 0; i < L->n_hosts && n < room; i++) {
		size_t len;
		_cleanup_free_ char *m = read_message(&L->hosts[i], room - n, &len);

		if (len && !message_valid(m, len, len == room - n))
			return sr_err(err, -EINVAL,
				      "ClientError: %s's /opt/ml/output/message is not valid UTF-8",
				      L->hosts[i].name);
		memcpy(all + n, m, len);
		n += len;
	}
	all[n] = '\0';
	if (!n)
		return 0;
	free(L->status.exit_message);
	L->status.exit_message = utf8_clean(all, EXIT_MESSAGE_MAX);
	return 0;
}

/* Every output's files of every host to its S3Uri (Continuous ones had theirs uploaded by
 * the watcher, whose last pass ran when the hosts went). */
static int export_outputs(struct local_job *L, struct sr_error *err)
{
	const struct job_processing *p = &L->job->proc;
	_cleanup_free_ struct proc_output_src *srcs = xcalloc(L->n_hosts + 1, sizeof(*srcs));
	struct strv dirs = STRV_INIT;
	int first = 0;

	for (size_t i = 0; i < p->n_outputs; i++) {
		const struct job_proc_output *o = &p->outputs[i];
		struct strv report = STRV_INIT;
		struct sr_error e = {0};
		size_t n = 0;
		int r;

		if (!strcmp(o->upload_mode, "Continuous"))
			continue;
		strv_release(&dirs);
		for (size_t k = 0; k < L->n_hosts; k++) {
			char *dir = output_dir(&L->hosts[k], o);

			if (!dir)
				continue;
			strv_push_take(&dirs, dir);
			srcs[n++] = (struct proc_output_src){.host = L->hosts[k].name,
							     .dir = dirs.v[dirs.n - 1]};
		}
		r = proc_output_export(o->name, o->local_path ? o->local_path : o->uri, srcs, n,
				       &report, first ? &e : err);
		launch_say_report(L, &report);
		if (r < 0 && first)
			job_say_error(L->rep, JOB_SAY_ERROR, NULL, &e);
		if (r < 0 && !first)
			first = r;
	}
	strv_release(&dirs);
	return first;
}

/* Every part is tried whatever the others did; the first error is returned, the others
 * said. */
static int export(struct local_job *L, struct sr_error *err)
{
	struct proc_state *st = L->kind_state;
	struct sr_error e = {0};
	int first = 0, r;

	if (st && st->watch)
		hosts_gone(L);
	if (st && st->r < 0) {
		first = st->r;
		*err = st->err;
	}
	free(st);
	L->kind_state = NULL;
	r = export_outputs(L, first ? &e : err);
	if (r < 0 && first)
		job_say_error(L->rep, JOB_SAY_ERROR, NULL, &e);
	if (r < 0 && !first)
		first = r;
	sr_err_clear(&e);
	r = exit_message(L, first ? &e : err);
	if (r < 0 && first)
		job_say_error(L->rep, JOB_SAY_ERROR, NULL, &e);
	return first ? first : r;
}

/* No ContainerEntrypoint: the image's own entry point runs, with the ContainerArguments
 * (reference §4). */
static bool image_only(const struct job *job)
{
	return job->image && !job->entrypoint.n;
}

static int retries(const struct job *job)
{
	(void)job;
	return 0; /* CreateProcessingJob has no RetryStrategy */
}

static const char *compose_lacks(const struct job *job)
{
	if (job->proc.n_outputs)
		return "a compose file has no step after the containers: the outputs stay in each "
		       "host's tree (hosts/algo-N/opt/ml/processing/...), not uploaded";
	return NULL;
}

/* The service's words since 2024: "AlgorithmError: , exit code: 1" (reference §4, the SDK's
 * troubleshooting page); a host killed by a signal counts as a container's 128 + signal. */
static char *failure_reason(struct local_job *L, const struct host *h, int wstatus)
{
	(void)L;
	(void)h;
	return xasprintf("AlgorithmError: , exit code: %d",
			 WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : WEXITSTATUS(wstatus));
}

const struct launch_kind launch_kind_processing = {
    .job_kind = &job_kind_processing,
    .image_only = image_only,
    .check = check_outputs,
    .upload = processing_ship_code,
    .stage_inputs = stage_inputs,
    .host_prepare = processing_host_prepare,
    .before_run = start_watch,
    .retries = retries,
    .export = export,
    .compose_lacks = compose_lacks,
    .hosts_gone = hosts_gone,
    .failure_reason = failure_reason,
};
