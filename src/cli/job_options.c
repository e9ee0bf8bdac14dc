/* job_options.c - the flags that describe a job (the Job: group of train and compose) and the
 * hosts it runs on (Hosts:), as option table rows; and the job built from them. */
#include "cli/cli.h"
#include "cli/job_options.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/job.h"
#include "job/report.h"
#include "util/error.h"
#include "util/strv.h"

#define SECONDS_MAX (INT64_C(100) * 365 * 86400)

static const char *const distributions[] = {"torch", "mpi", NULL};
static const char *const launchers[] = {"sagerun", "ssh", NULL};
static const char *const networks[] = {"private", "host", NULL};
static const char *const toolkits[] = {"image", "builtin", NULL};

/* --env KEY=VALUE, then the VALUE blotted out where it stands: argv is what
 * /proc/PID/cmdline shows every user of the machine for as long as the job runs (the
 * supervisor's and, through fork and clone, its hosts' inits), and a value may be a secret. */
static const char *add_env(const struct cli_option *opt, const char *arg, char *buf, size_t len)
{
	char *eq = strchr(arg, '=');

	(void)buf;
	(void)len;
	strv_push(opt->value, arg);
	if (eq)
		memset(eq + 1, '*', strlen(eq + 1));
	return NULL;
}

void cli_job_vars_init(struct cli_job_vars *v)
{
	memset(v, 0, sizeof(*v));
	job_flags_init(&v->flags);
	v->hosts = v->max_run = v->stop_grace = -1;
}

void cli_job_vars_release(struct cli_job_vars *v)
{
	job_flags_release(&v->flags);
}

/* The Job: rows of `sagerun train`. */
static size_t training_options(struct cli_job_vars *v, struct cli_option *o)
{
	struct job_flags *f = &v->flags;
	const struct cli_option rows[] = {
	    CLI_GROUP("Job:"),
	    CLI_STRING(0, "spec", &f->spec_path, "FILE",
		       "a CreateTrainingJob request JSON (as for\n"
		       "aws sagemaker create-training-job --cli-input-json)"),
	    CLI_STRING(0, "name", &f->name, "NAME",
		       "TrainingJobName (default: <entry>-YYYYMMDD-HHMMSS-xxxx)"),
	    CLI_INT(0, "hosts", &v->hosts, "N", 1, 1000000, "InstanceCount (default 1)"),
	    CLI_STRING(0, "instance-type", &f->instance_type, "TYPE",
		       "InstanceType (default ml.m5.large)"),
	    CLI_STRV(0, "hp", &f->hps, "KEY=VALUE", "a hyperparameter (repeatable)"),
	    CLI_STRV(0, "channel", &f->channels, "NAME=PATH",
		     "an input channel: a local folder, file:// or s3:// URI (repeatable)\n"
		     "options: NAME=s3://...,distribution=sharded,compression=gzip,\n"
		     "type=manifest (see docs/cli.md)"),
	    CLI_STRING(0, "output", &f->output, "URI",
		       "S3OutputPath: a local folder or s3:// URI\n"
		       "(default ./sagerun-output)"),
	    CLI_STRING(0, "checkpoints", &f->checkpoints, "URI",
		       "CheckpointConfig.S3Uri: each host's /opt/ml/checkpoints\n"
		       "restored from it before Training and saved to it after\n"
		       "(s3:// or a local folder)"),
	    CLI_CALLBACK(0, "env", &f->envs, "KEY=VALUE", add_env,
			 "an Environment variable (repeatable)"),
	    CLI_INT(0, "max-run", &v->max_run, "SECONDS", 0, SECONDS_MAX,
		    "MaxRuntimeInSeconds (default 86400)"),
	    CLI_INT(0, "stop-grace", &v->stop_grace, "SECONDS", 0, SECONDS_MAX,
		    "SIGTERM-to-SIGKILL window on stop or failure (default 120)"),
	    CLI_STRING(0, "entry-point", &f->entry_point, "FILE",
		       "script mode: the program to run (.py, .sh or executable)"),
	    CLI_STRING(0, "source-dir", &f->source_dir, "DIR",
		       "script mode: the folder holding the entry point"),
	    CLI_CHOICE(0, "distribution", &f->distribution, "torch|mpi", distributions,
		       "torch: K processes per host with torchrun's environment\n"
		       "(MASTER_ADDR, RANK, WORLD_SIZE, ...), without torchrun;\n"
		       "mpi: the first host runs mpirun across all, through\n"
		       "sagerun's agent instead of sshd"),
	    CLI_INT(0, "processes-per-host", &v->pph, "K", 1, 1024,
		    "processes per host for --distribution (default 1)"),
	    CLI_CHOICE(0, "mpi-launcher", &f->mpi_launcher, "sagerun|ssh", launchers,
		       "ssh: the training toolkit's way instead: sshd on every host\n"
		       "and mpirun over ssh (container hosts; the image needs sshd)"),
	    CLI_STRING(0, "framework", &f->framework, "NAME[:VERSION]",
		       "the framework container the job is for (pytorch): its\n"
		       "hosts do what its entry does (MASTER_ADDR, MASTER_PORT,\n"
		       "NCCL_*) and refuse what it cannot run here"),
	    CLI_DOC("-- COMMAND ARGS...",
		    "run COMMAND instead (ContainerEntrypoint + ContainerArguments)"),
	};
	memcpy(o, rows, sizeof(rows));
	return sizeof(rows) / sizeof(rows[0]);
}

/* The Job: rows of `sagerun process`, inputs and outputs in the SDK's terms. */
static size_t processing_options(struct cli_job_vars *v, struct cli_option *o)
{
	struct job_flags *f = &v->flags;
	const struct cli_option rows[] = {
	    CLI_GROUP("Job:"),
	    CLI_STRING(0, "spec", &f->spec_path, "FILE",
		       "a CreateProcessingJob request JSON (as for\n"
		       "aws sagemaker create-processing-job --cli-input-json)"),
	    CLI_STRING(0, "name", &f->name, "NAME",
		       "ProcessingJobName (default: <code>-YYYYMMDD-HHMMSS-xxxx)"),
	    CLI_INT(0, "hosts", &v->hosts, "N", 1, 1000000, "InstanceCount (default 1)"),
	    CLI_STRING(0, "instance-type", &f->instance_type, "TYPE",
		       "InstanceType (default ml.m5.large)"),
	    CLI_STRV(0, "input", &f->inputs, "NAME=SOURCE",
		     "a ProcessingInput: a local folder or file, file:// or s3://\n"
		     "URI, at /opt/ml/processing/input/NAME (repeatable); options:\n"
		     ",destination=PATH ,distribution=sharded ,type=manifest\n"
		     ",mode=pipe ,compression=gzip (see docs/cli.md)"),
	    CLI_STRV(0, "output", &f->outputs, "NAME[=DEST]",
		     "a ProcessingOutput: /opt/ml/processing/output/NAME of every\n"
		     "host to DEST, a local folder or s3:// URI (default\n"
		     "./sagerun-output/<job>/output/NAME); options: ,source=PATH\n"
		     ",upload=continuous (repeatable)"),
	    CLI_CALLBACK(0, "env", &f->envs, "KEY=VALUE", add_env,
			 "an Environment variable (repeatable)"),
	    CLI_INT(0, "max-run", &v->max_run, "SECONDS", 0, SECONDS_MAX,
		    "MaxRuntimeInSeconds (default 86400, at most 777600)"),
	    CLI_INT(0, "stop-grace", &v->stop_grace, "SECONDS", 0, SECONDS_MAX,
		    "SIGINT-to-SIGKILL window on stop or failure (default 120)"),
	    CLI_STRING(0, "code", &f->code, "FILE",
		       "ScriptProcessor: FILE goes in as input code and runs as\n"
		       "COMMAND /opt/ml/processing/input/code/FILE ARGS..."),
	    CLI_STRING(0, "source-dir", &f->source_dir, "DIR",
		       "FrameworkProcessor: DIR shipped as sourcedir.tar.gz with\n"
		       "the SDK's runproc.sh (requirements.txt installed)"),
	    CLI_STRING(0, "entry-point", &f->entry_point, "FILE",
		       "FrameworkProcessor: the script in --source-dir to run"),
	    CLI_STRING(0, "command", &f->proc_command, "'WORDS'",
		       "what runs --code or --entry-point (default python3)"),
	    CLI_DOC("-- COMMAND ARGS...",
		    "run COMMAND (ContainerEntrypoint + ContainerArguments);\n"
		    "with --code or --entry-point, -- ARGS are its arguments"),
	};
	memcpy(o, rows, sizeof(rows));
	return sizeof(rows) / sizeof(rows[0]);
}

size_t cli_job_options(struct cli_job_vars *v, struct cli_option *o, const struct job_kind *kind)
{
	v->flags.kind = kind;
	return kind == &job_kind_processing ? processing_options(v, o) : training_options(v, o);
}

void cli_job_vars_finish(struct cli_job_vars *v, const struct cli_args *args)
{
	struct job_flags *f = &v->flags;

	f->hosts = (int)v->hosts;
	f->max_run_s = v->max_run;
	f->stop_grace_s = v->stop_grace;
	f->processes_per_host = (int)v->pph;
	if (args->rest && args->n_rest) {
		f->command = args->rest;
		f->n_command = args->n_rest;
	}
}

/* --backend: "auto" or a backend of the table; the message lists them all. */
static const char *set_backend(const struct cli_option *opt, const char *arg, char *buf, size_t len)
{
	size_t at;

	if (launch_backend_known(arg)) {
		*(const char **)opt->value = arg;
		return NULL;
	}
	at = (size_t)snprintf(buf, len, "unknown backend '%s' (expected auto", arg);
	for (size_t i = 0; launch_backend_name(i, NULL) && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s",
				       launch_backend_name(i + 1, NULL) ? ", " : " or ",
				       launch_backend_name(i, NULL));
	if (at < len)
		snprintf(buf + at, len - at, ")");
	return buf;
}

static const char *set_gpus(const struct cli_option *opt, const char *arg, char *buf, size_t len)
{
	char *end;
	long n;

	if (!strcmp(arg, "all")) {
		*(int *)opt->value = -1;
		return NULL;
	}
	errno = 0;
	n = strtol(arg, &end, 10);
	if (errno || end == arg || *end || n < 0 || n > 1024) {
		snprintf(buf, len, "expected a number or all, got '%s'", arg);
		return buf;
	}
	*(int *)opt->value = (int)n;
	return NULL;
}

/* "512m", "1g", "1048576": bytes, with docker's binary suffixes. */
static const char *set_size(const struct cli_option *opt, const char *arg, char *buf, size_t len)
{
	static const char units[] = "bkmg";
	char *end;
	long long v;
	const char *u;

	errno = 0;
	v = strtoll(arg, &end, 10);
	u = *end ? strchr(units, *end | 0x20) : units;
	if (errno || end == arg || v <= 0 || v > (LLONG_MAX >> 30) || !u || (*end && end[1])) {
		snprintf(buf, len, "expected bytes or a size like 512m or 2g, got '%s'", arg);
		return buf;
	}
	*(long long *)opt->value = v << (10 * (u - units));
	return NULL;
}

static const char *set_image(const struct cli_option *opt, const char *arg, char *buf, size_t len)
{
	(void)buf;
	(void)len;
	if (!*arg)
		return "empty image name";
	*(const char **)opt->value = arg;
	return NULL;
}

/* "\nname: summary" of backend i, the summary's later lines indented under its first. */
static size_t help_add_backend(char *buf, size_t len, size_t at, size_t i)
{
	const char *summary = "";
	const char *name = launch_backend_name(i, &summary);

	if (at < len)
		at += (size_t)snprintf(buf + at, len - at, "\n%s: ", name);
	for (const char *p = summary; *p && at + 5 < len; p++) {
		buf[at++] = *p;
		if (*p == '\n')
			at += (size_t)snprintf(buf + at, len - at, "    ");
	}
	if (at < len)
		buf[at] = '\0';
	return at;
}

void cli_host_vars_init(struct cli_host_vars *v, const struct sr_ctx *ctx)
{
	memset(v, 0, sizeof(*v));
	v->lo.backend = "auto";
	v->lo.color = ctx->color;
}

size_t cli_host_options(struct cli_host_vars *v, struct cli_option *o, bool compose,
			const struct job_kind *kind)
{
	struct host_options *h = &v->lo.hosts;
	size_t n = 0;

	v->backend_help[0] = '\0';
	if (!compose) {
		size_t at = (size_t)snprintf(v->backend_help, sizeof(v->backend_help),
					     "auto (default): the first of these that can run\n"
					     "here; docker when --image is given");
		for (size_t i = 0; launch_backend_name(i, NULL); i++)
			at = help_add_backend(v->backend_help, sizeof(v->backend_help), at, i);
		o[n++] = (struct cli_option)CLI_GROUP("Hosts:");
		o[n++] = (struct cli_option)CLI_CALLBACK(0, "backend", &v->lo.backend, "NAME",
							 set_backend, v->backend_help);
	}
	o[n++] = (struct cli_option)CLI_CHOICE(
	    0, "network", &v->network, "MODE", networks,
	    compose ? "host: a network that is not internal"
		    : "private (default: hosts reach each other and nothing else)\n"
		      "or host (share this machine's network)");
	if (!compose)
		o[n++] = (struct cli_option)CLI_STRING(0, "subnet", &h->subnet, "CIDR",
						       "the private network's subnet (default "
						       "10.0.0.0/24)");
	if (!compose) {
		o[n++] = (struct cli_option)CLI_BOOL(
		    0, "privileged", &h->privileged,
		    "DANGEROUS: ns hosts uncontained, as root with every\n"
		    "capability, writing this machine's own files (docs/cli.md)");
		o[n++] = (struct cli_option)CLI_BOOL(
		    0, "keep-layers", &h->keep_layers,
		    "keep each ns host's writable layer over this machine's\n"
		    "files in the job folder (hosts/algo-N/layer)");
	}
	o[n++] = (struct cli_option)CLI_CALLBACK(
	    0, "image", &h->image, "IMAGE", set_image,
	    compose ? "the image (default: the spec's TrainingImage or ImageUri)"
		    : "the image (default: the spec's TrainingImage or ImageUri);\n"
		      "given on the command line, it makes --backend auto pick docker");
	/* A processing container has no toolkit to stand in for. */
	if (kind != &job_kind_processing)
		o[n++] = (struct cli_option)CLI_CHOICE(
		    0, "toolkit", &v->toolkit, "builtin|image", toolkits,
		    "builtin: mount a static sagerun as the entrypoint (`sagerun\n"
		    "container train`), for images without a training toolkit;\n"
		    "image (default): the image's own entrypoint gets `train`");
	o[n++] =
	    (struct cli_option)CLI_CALLBACK(0, "gpus-per-host", &h->gpus, "N|all", set_gpus,
					    "GPUs per container (the engine's DeviceRequests)");
	o[n++] =
	    (struct cli_option)CLI_CALLBACK(0, "shm-size", &h->shm_bytes, "SIZE", set_size,
					    "/dev/shm of each container: bytes, or with k, m, g");
	return n;
}

void cli_host_vars_finish(struct cli_host_vars *v)
{
	v->lo.hosts.network_host = v->network && !strcmp(v->network, "host");
	v->lo.hosts.toolkit_builtin = v->toolkit && !strcmp(v->toolkit, "builtin");
}

int cli_job_build(const struct job_flags *flags, struct job *job, const struct job_report *rep)
{
	struct strv warnings = STRV_INIT;
	struct sr_error err = {0};
	int r = job_build(flags, job, &warnings, &err);

	for (size_t i = 0; i < warnings.n; i++)
		job_say(rep, JOB_SAY_WARNING, NULL, "%s", warnings.v[i]);
	strv_release(&warnings);
	if (r < 0) {
		cli_print_error(&err);
		job_release(job);
		return EXIT_USAGE;
	}
	return 0;
}
