/* processing_build.c - the processing kind's part of job_build(): --input and --output in the
 * SDK's terms (ProcessingInput source/destination, ProcessingOutput source/destination), the
 * SDK's ways of shipping code (ScriptProcessor's --code, FrameworkProcessor's --source-dir and
 * --entry-point), -- COMMAND ARGS, the defaults the SDK gives, and local paths resolved.
 *
 *   --input NAME=SOURCE[,destination=PATH][,distribution=sharded][,type=manifest]
 *                      [,compression=gzip][,mode=pipe]
 *   --output NAME[=DESTINATION][,source=PATH][,upload=continuous]
 *
 * PATH defaults to /opt/ml/processing/input/NAME (output/NAME), as the SDK's examples lay them
 * out; an output without a DESTINATION goes to ./sagerun-output/<job>/output/NAME, where the
 * SDK's would go to s3://<default bucket>/<job>/output/NAME.
 */
#include "job/build_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "job/internal.h"
#include "job/rules.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* One ",key=value" option of --input or --output: the key, and each value it takes as typed
 * (case-insensitive) with the API's spelling; a NULL `typed` takes any value as it is. */
struct item_opt {
	const char *key, *typed, *api;
};

static const struct item_opt input_opts[] = {
    {"destination", NULL, NULL},
    {"distribution", "fullyreplicated", "FullyReplicated"},
    {"distribution", "sharded", "ShardedByS3Key"},
    {"distribution", "shardedbys3key", "ShardedByS3Key"},
    {"type", "s3prefix", "S3Prefix"},
    {"type", "prefix", "S3Prefix"},
    {"type", "manifest", "ManifestFile"},
    {"type", "manifestfile", "ManifestFile"},
    {"compression", "none", "None"},
    {"compression", "gzip", "Gzip"},
    {"mode", "file", "File"},
    {"mode", "pipe", "Pipe"},
    {NULL, NULL, NULL},
};

static const struct item_opt output_opts[] = {
    {"source", NULL, NULL},
    {"upload", "endofjob", "EndOfJob"},
    {"upload", "continuous", "Continuous"},
    {NULL, NULL, NULL},
};

/* What the options of one argument set, by key (NULL: not given). */
struct item_vals {
	const char *keys[8];
	char *values[8];
	size_t n;
};

static void item_vals_release(struct item_vals *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->values[i]);
}

static const char *item_val(const struct item_vals *v, const char *key)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->keys[i], key))
			return v->values[i];
	return NULL;
}

/* The values a key takes, for its message: "fullyreplicated or sharded". */
static char *opt_choices(const struct item_opt *opts, const char *key)
{
	struct strv names = STRV_INIT;
	char *s;

	/* Each value once, by its first (the docs') spelling: "sharded", not "shardedbys3key". */
	for (const struct item_opt *o = opts; o->key; o++) {
		const struct item_opt *p = opts;

		if (strcmp(o->key, key) || !o->typed)
			continue;
		while (p < o && (strcmp(p->key, key) || strcmp(p->api, o->api)))
			p++;
		if (p == o)
			strv_push(&names, o->typed);
	}
	s = strv_join(names.v, " or ");
	strv_release(&names);
	return s;
}

/* One ",key=value" at the end of the argument: 1 when it is an option (taken), 0 when it is
 * not (it belongs to the path: S3 keys may hold commas), < 0 for a bad value. */
static int item_opt(struct build *b, const char *flag, const char *arg, const char *seg,
		    const struct item_opt *opts, struct item_vals *v)
{
	const char *eq = strchr(seg, '=');
	size_t klen = eq ? (size_t)(eq - seg) : 0;
	const struct item_opt *known = NULL;

	for (const struct item_opt *o = opts; o->key; o++) {
		if (strlen(o->key) != klen || strncmp(seg, o->key, klen))
			continue;
		known = o;
		if (o->typed && strcasecmp(eq + 1, o->typed))
			continue;
		if (item_val(v, o->key) || v->n == sizeof(v->keys) / sizeof(v->keys[0]))
			return build_fail_flag(b, flag, arg, "%s= is given twice", o->key);
		v->keys[v->n] = o->key;
		v->values[v->n++] = xstrdup(o->typed ? o->api : eq + 1);
		return 1;
	}
	if (!known)
		return 0;
	_cleanup_free_ char *choices = opt_choices(opts, known->key);
	return build_fail_flag(b, flag, arg, "%s: unknown value '%s' (%s)", known->key, eq + 1,
			       choices);
}

/* "NAME[=URI][,key=value...]" into its name, URI (NULL when none) and options. */
static int split_item(struct build *b, const char *flag, const char *arg,
		      const struct item_opt *opts, bool uri_optional, char **ret_name,
		      char **ret_uri, struct item_vals *v)
{
	_cleanup_free_ char *s = xstrdup(arg);
	char *comma, *eq;
	int r = 0;

	while ((comma = strrchr(s, ',')) && (r = item_opt(b, flag, arg, comma + 1, opts, v)) > 0)
		*comma = '\0';
	if (r < 0)
		return r;
	eq = strchr(s, '=');
	if (!eq && !uri_optional)
		return build_fail_flag(b, flag, arg, "expected NAME=SOURCE");
	if (eq == s || !*s)
		return build_fail_flag(b, flag, arg, "expected a non-empty NAME");
	if (eq && !eq[1])
		return build_fail_flag(b, flag, arg, "expected a location after '='");
	*ret_name = eq ? xstrndup(s, (size_t)(eq - s)) : xstrdup(s);
	*ret_uri = eq ? xstrdup(eq + 1) : NULL;
	return 0;
}

static int check_flag_value(struct build *b, const char *flag, const char *arg, const char *what,
			    const char *s, size_t max, const char *(*rule)(const char *))
{
	_cleanup_free_ char *msg = job_check_string(s, 1, max, rule);

	return msg ? build_fail_flag(b, flag, arg, "%s %s", what, msg) : 0;
}

static void set_str(char **field, const char *value)
{
	if (!value)
		return;
	free(*field);
	*field = xstrdup(value);
}

/* An input's options taken together (processing_input_conflict), in the flag's words. */
static int check_input_whole(struct build *b, const struct job_channel *c, const char *arg)
{
	const char *field, *hint;
	_cleanup_free_ char *why = processing_input_conflict(c, &field, &hint);

	if (!why)
		return 0;
	build_fail_flag(b, "--input", arg, "%s", why);
	if (hint) /* Gzip without Pipe: the only rule with a hint */
		return sr_err_hint(b->err, "add mode=pipe (sagerun then stages the data "
					   "decompressed), or drop compression=gzip");
	return b->err->code;
}

/* --input NAME=SOURCE,...: replaces the spec's input of that name, or adds one. */
static int apply_inputs(struct build *b)
{
	struct job_processing *p = &b->job->proc;

	for (size_t i = 0; i < b->flags->inputs.n; i++) {
		const char *arg = b->flags->inputs.v[i];
		_cleanup_free_ char *name = NULL, *uri = NULL;
		_cleanup_(item_vals_release) struct item_vals v = {.n = 0};
		struct job_channel *c;
		size_t k;
		int r = split_item(b, "--input", arg, input_opts, false, &name, &uri, &v);

		if (r == 0)
			r = check_flag_value(b, "--input", arg, "NAME", name, JOB_PROC_NAME_MAX,
					     job_rule_proc_item_name);
		if (r == 0)
			r = check_flag_value(b, "--input", arg, "SOURCE", uri, JOB_URI_MAX,
					     job_rule_uri);
		if (r == 0 && item_val(&v, "destination"))
			r = check_flag_value(b, "--input", arg, "destination",
					     item_val(&v, "destination"), JOB_PROC_LOCAL_PATH_MAX,
					     job_rule_proc_local_path);
		if (r < 0)
			return r;
		for (k = 0; k < p->n_inputs; k++)
			if (!strcmp(p->inputs[k].name, name))
				break;
		if (k < p->n_inputs && b->in[k].spec_index < 0)
			return build_fail_flag(b, "--input", arg, "input '%s' is given twice",
					       name);
		if (k == p->n_inputs) {
			if (p->n_inputs >= JOB_PROC_INPUTS_MAX)
				return build_fail_flag(b, "--input", arg, "more than %d inputs",
						       JOB_PROC_INPUTS_MAX);
			p->inputs = xrealloc(p->inputs, (p->n_inputs + 1) * sizeof(*p->inputs));
			p->n_inputs++;
		} else {
			job_channel_release(&p->inputs[k]);
		}
		c = &p->inputs[k];
		memset(c, 0, sizeof(*c));
		c->name = TAKE_PTR(name);
		c->uri = TAKE_PTR(uri);
		set_str(&c->dest, item_val(&v, "destination"));
		set_str(&c->distribution, item_val(&v, "distribution"));
		set_str(&c->s3_data_type, item_val(&v, "type"));
		set_str(&c->compression, item_val(&v, "compression"));
		set_str(&c->input_mode, item_val(&v, "mode"));
		b->in[k] = (struct build_origin){.spec_index = -1, .flag_arg = arg};
		r = check_input_whole(b, c, arg);
		if (r < 0)
			return r;
		/* As the spec's S3InputMode Pipe says (processing_spec.c); the service's own. */
		if (c->input_mode && !strcmp(c->input_mode, "Pipe") && b->warnings &&
		    !b->flags->remote)
			strv_pushf(
			    b->warnings,
			    "--input %s: mode=pipe behaves as File locally (the data is staged "
			    "at its destination before the job starts)",
			    arg);
	}
	return 0;
}

/* --output NAME[=DESTINATION],...: replaces the spec's output of that name, or adds one. */
static int apply_outputs(struct build *b)
{
	struct job_processing *p = &b->job->proc;

	for (size_t i = 0; i < b->flags->outputs.n; i++) {
		const char *arg = b->flags->outputs.v[i];
		_cleanup_free_ char *name = NULL, *uri = NULL;
		_cleanup_(item_vals_release) struct item_vals v = {.n = 0};
		struct job_proc_output *o;
		size_t k;
		int r = split_item(b, "--output", arg, output_opts, true, &name, &uri, &v);

		if (r == 0)
			r = check_flag_value(b, "--output", arg, "NAME", name, JOB_PROC_NAME_MAX,
					     job_rule_proc_item_name);
		if (r == 0 && uri)
			r = check_flag_value(b, "--output", arg, "DESTINATION", uri, JOB_URI_MAX,
					     job_rule_uri);
		if (r == 0 && item_val(&v, "source"))
			r = check_flag_value(b, "--output", arg, "source", item_val(&v, "source"),
					     JOB_PROC_LOCAL_PATH_MAX, job_rule_proc_local_path);
		if (r < 0)
			return r;
		for (k = 0; k < p->n_outputs; k++)
			if (!strcmp(p->outputs[k].name, name))
				break;
		if (k < p->n_outputs && b->out[k].spec_index < 0)
			return build_fail_flag(b, "--output", arg, "output '%s' is given twice",
					       name);
		if (k == p->n_outputs) {
			if (p->n_outputs >= JOB_PROC_OUTPUTS_MAX)
				return build_fail_flag(b, "--output", arg, "more than %d outputs",
						       JOB_PROC_OUTPUTS_MAX);
			p->outputs = xrealloc(p->outputs, (p->n_outputs + 1) * sizeof(*p->outputs));
			p->n_outputs++;
		} else {
			job_proc_output_release(&p->outputs[k]);
		}
		o = &p->outputs[k];
		memset(o, 0, sizeof(*o));
		o->name = TAKE_PTR(name);
		o->uri = TAKE_PTR(uri);
		set_str(&o->dest, item_val(&v, "source"));
		set_str(&o->upload_mode, item_val(&v, "upload"));
		b->out[k] = (struct build_origin){.spec_index = -1, .flag_arg = arg};
	}
	return 0;
}

/* --command 'python3 -u': the SDK's command list, one word each (split on blanks, never by a
 * shell); python3 when not given, as SKLearnProcessor's. */
static int command_words(struct build *b, struct strv *ret)
{
	const char *c = b->flags->proc_command ? b->flags->proc_command : "python3";

	for (const char *p = c; *p;) {
		size_t n;

		p += strspn(p, " \t");
		n = strcspn(p, " \t");
		if (n)
			strv_pushf(ret, "%.*s", (int)n, p);
		p += n;
	}
	if (!ret->n)
		return build_fail_flag(b, "--command", c, "expected a command, such as python3");
	return 0;
}

/* A code input the SDK adds (named `name` at `dest`), added or replacing the spec's. */
static int add_code_input(struct build *b, const char *name, const char *uri, const char *dest,
			  const char *flag)
{
	struct job_processing *p = &b->job->proc;
	struct job_channel *c = NULL;

	for (size_t k = 0; k < p->n_inputs; k++) {
		if (strcmp(p->inputs[k].name, name))
			continue;
		if (b->in[k].spec_index < 0)
			return build_fail_flag(
			    b, flag, NULL, "input '%s' is the code's: give it no --input", name);
		c = &p->inputs[k];
		job_channel_release(c);
		b->in[k] = (struct build_origin){.spec_index = -1, .flag_arg = NULL};
		if (b->warnings)
			strv_pushf(b->warnings, "%s: replaces the input '%s' of %s", flag, name,
				   b->job->spec_path);
	}
	if (!c) {
		if (p->n_inputs >= JOB_PROC_INPUTS_MAX)
			return build_fail_flag(b, flag, NULL,
					       "the code needs an input of its own, and there are "
					       "%d already",
					       JOB_PROC_INPUTS_MAX);
		p->inputs = xrealloc(p->inputs, (p->n_inputs + 1) * sizeof(*p->inputs));
		c = &p->inputs[p->n_inputs++];
		b->in[p->n_inputs - 1] = (struct build_origin){.spec_index = -1, .flag_arg = NULL};
	}
	memset(c, 0, sizeof(*c));
	c->name = xstrdup(name);
	c->uri = xstrdup(uri);
	c->dest = xstrdup(dest);
	return 0;
}

/* The spec's ContainerEntrypoint, the only one there can be before the code's, is replaced:
 * said, as train's --entry-point says it. */
static void warn_entrypoint_replaced(struct build *b, const char *flag)
{
	if (b->job->entrypoint.n && b->warnings)
		strv_pushf(b->warnings, "%s: replaces AppSpecification.ContainerEntrypoint from %s",
			   flag, b->job->spec_path);
}

/* ScriptProcessor: the file goes in as input "code" at /opt/ml/processing/input/code, and
 * ContainerEntrypoint is the command and the file's path there; -- ARGS are the arguments. */
static int apply_code(struct build *b)
{
	const char *code = b->flags->code;
	_cleanup_free_ char *abs = NULL, *path = NULL;
	struct job *job = b->job;
	struct strv words = STRV_INIT;
	int r;

	abs = fs_abspath(code);
	if (!fs_exists(abs))
		return build_fail_flag(b, "--code", code, "no such file");
	if (!build_is_file(abs)) {
		build_fail_flag(b, "--code", code, "not a file");
		return sr_err_hint(b->err, "to ship a folder, give it as --source-dir and the "
					   "script inside it as --entry-point");
	}
	r = command_words(b, &words);
	if (r == 0)
		r = add_code_input(b, JOB_PROC_CODE_INPUT, abs, JOB_PROC_CODE_DEST, "--code");
	if (r < 0) {
		strv_release(&words);
		return r;
	}
	path = xasprintf("%s/%s", JOB_PROC_CODE_DEST, strrchr(abs, '/') + 1);
	warn_entrypoint_replaced(b, "--code");
	strv_release(&job->entrypoint);
	job->entrypoint = words;
	strv_push(&job->entrypoint, path);
	return b->flags->command ? build_apply_command(b, true) : 0;
}

/* FrameworkProcessor: the folder is shipped as sourcedir.tar.gz (input "code" at
 * /opt/ml/processing/input/code/) with the SDK's runproc.sh (input "entrypoint"), which
 * unpacks it, installs requirements.txt and runs the command on the entry point; launch/
 * makes both files and points the inputs at them.  Until then they point at the folder. */
static int apply_source_dir(struct build *b)
{
	struct job_processing *p = &b->job->proc;
	struct job *job = b->job;
	_cleanup_free_ char *src = NULL, *rel = NULL, *uri = NULL;
	int r = build_entry_point(b, b->flags->entry_point, b->flags->source_dir, &src, &rel);

	if (r == 0)
		r = command_words(b, &p->command);
	if (r < 0)
		return r;
	uri = xasprintf("file://%s", src);
	r = add_code_input(b, JOB_PROC_CODE_INPUT, uri, JOB_PROC_CODE_DEST "/", "--source-dir");
	if (r == 0)
		r = add_code_input(b, JOB_PROC_ENTRYPOINT_INPUT, uri, JOB_PROC_ENTRYPOINT_DEST,
				   "--source-dir");
	if (r < 0)
		return r;
	free(p->source_dir);
	p->source_dir = TAKE_PTR(src);
	free(p->entry_point);
	p->entry_point = TAKE_PTR(rel);
	warn_entrypoint_replaced(b, "--source-dir");
	strv_release(&job->entrypoint);
	strv_push(&job->entrypoint, "/bin/bash");
	strv_push(&job->entrypoint, JOB_PROC_ENTRYPOINT_DEST "/runproc.sh");
	return b->flags->command ? build_apply_command(b, true) : 0;
}

static void apply_defaults(struct build *b)
{
	const struct job_flags *f = b->flags;
	struct job_processing *p = &b->job->proc;
	_cleanup_free_ char *base = f->code	     ? build_name_base(f->code, true)
				    : f->entry_point ? build_name_base(f->entry_point, true)
				    : f->command && f->n_command > 0
					? build_name_base(f->command[0], false)
					: NULL;

	/* An image alone names the job: "my-proc" of "registry/my-proc:1.2". */
	if (!base && f->image) {
		base = build_name_base(f->image, false);
		base[strcspn(base, ":@")] = '\0';
	}
	build_defaults(b, base);
	for (size_t i = 0; i < p->n_inputs; i++) {
		struct job_channel *c = &p->inputs[i];

		if (!c->dest)
			c->dest = xasprintf(JOB_PROC_BASE "input/%s", c->name);
		build_set_default(&c->s3_data_type, "S3Prefix");
		build_set_default(&c->input_mode, "File");
		build_set_default(&c->distribution, "FullyReplicated");
		build_set_default(&c->compression, "None");
	}
	for (size_t i = 0; i < p->n_outputs; i++) {
		struct job_proc_output *o = &p->outputs[i];

		if (!o->dest)
			o->dest = xasprintf(JOB_PROC_BASE "output/%s", o->name);
		if (!o->uri)
			o->uri =
			    xasprintf("%s/%s/output/%s", JOB_DEFAULT_OUTPUT, b->job->name, o->name);
		build_set_default(&o->upload_mode, "EndOfJob");
	}
}

/* Where `field` (S3Uri, LocalPath) of the spec's ProcessingInputs[index] (or Outputs[index])
 * is. */
static void item_field_path(struct jsonpos_path *path, bool output, size_t index, const char *field)
{
	path->n = 0;
	if (output) {
		jsonpos_push_key(path, "ProcessingOutputConfig");
		jsonpos_push_key(path, "Outputs");
		jsonpos_push_index(path, index);
		jsonpos_push_key(path, "S3Output");
	} else {
		jsonpos_push_key(path, "ProcessingInputs");
		jsonpos_push_index(path, index);
		jsonpos_push_key(path, "S3Input");
	}
	jsonpos_push_key(path, field);
}

/* Local inputs resolved and checked (a folder or a file), local outputs resolved (a folder,
 * made when the job ends); errors say where each came from. */
static int resolve_locations(struct build *b)
{
	struct job_processing *p = &b->job->proc;
	struct jsonpos_path path;

	for (size_t i = 0; i < p->n_inputs; i++) {
		struct job_channel *c = &p->inputs[i];

		free(c->local_path);
		c->local_path = job_uri_local_path(c->uri);
		if (!c->local_path)
			continue;
		/* Every host would get all of it, as if FullyReplicated: refused, as --channel
		 * refuses it.  To the service the folder goes as S3 data, which it shards. */
		if (!b->flags->remote && c->distribution &&
		    !strcmp(c->distribution, "ShardedByS3Key")) {
			item_field_path(&path, false,
					(size_t)(b->in[i].spec_index < 0 ? 0 : b->in[i].spec_index),
					"S3DataDistributionType");
			build_fail_item(b, &b->in[i], "--input", &path,
					"input '%s': ShardedByS3Key is for s3:// inputs; a local "
					"input is given whole to every host",
					c->name);
			return sr_err_hint(b->err, BUILD_LOCAL_SHARDED_HINT);
		}
		if (fs_exists(c->local_path))
			continue;
		item_field_path(&path, false,
				(size_t)(b->in[i].spec_index < 0 ? 0 : b->in[i].spec_index),
				"S3Uri");
		build_fail_item(b, &b->in[i], "--input", &path, "input '%s': '%s' does not exist",
				c->name, c->local_path);
		if (b->in[i].spec_index >= 0 && c->uri[0] != '/' && strncmp(c->uri, "file:///", 8))
			return sr_err_hint(b->err, "relative paths in a spec are resolved against "
						   "the current folder, not the spec's");
		return sr_err_hint(b->err, "a local input is a folder or a file: create it, or "
					   "point the input at one");
	}
	for (size_t i = 0; i < p->n_outputs; i++) {
		struct job_proc_output *o = &p->outputs[i];

		free(o->local_path);
		o->local_path = job_uri_local_path(o->uri);
		if (!o->local_path || !fs_exists(o->local_path) || fs_is_dir(o->local_path))
			continue;
		item_field_path(&path, true,
				(size_t)(b->out[i].spec_index < 0 ? 0 : b->out[i].spec_index),
				"S3Uri");
		return build_fail_item(b, &b->out[i], "--output", &path,
				       "output '%s': '%s' is not a folder", o->name, o->local_path);
	}
	return 0;
}

/* Where item k of processing_places_clash()'s list (the inputs, then the outputs) came from. */
static const struct build_origin *place_origin(const struct build *b, size_t k)
{
	size_t n = b->job->proc.n_inputs;

	return k < n ? &b->in[k] : &b->out[k - n];
}

/* The code's inputs are the only ones made from neither the spec nor an --input. */
static const char *code_flag(const struct build *b)
{
	return b->flags->code ? "--code" : "--source-dir";
}

/* Item k's LocalPath, named by where it came from: "ProcessingInputs[0].S3Input.LocalPath
 * '/opt/ml/processing/input/data'" (an item's index in the job is its index in the spec),
 * "the LocalPath '...' of --input 'data=...'". */
static char *place_from(const struct build *b, size_t k)
{
	const struct build_origin *o = place_origin(b, k);
	bool output = k >= b->job->proc.n_inputs;
	const char *path = processing_place_path(b->job, k);

	if (o->spec_index >= 0) {
		_cleanup_free_ char *name = processing_place_name(b->job, k);

		return xasprintf("%s '%s'", name, path);
	}
	if (o->flag_arg)
		return xasprintf("the LocalPath '%s' of %s '%s'", path,
				 output ? "--output" : "--input", o->flag_arg);
	return xasprintf("the LocalPath '%s' of %s's input '%s'", path, code_flag(b),
			 b->job->proc.inputs[k].name);
}

/* Every LocalPath a folder of its own (processing_validate() says why), found after the
 * merge, since a flag may replace the spec's item that overlaps another, and said where the
 * item came from: a flag's item before a spec's (the flag is what was typed last), else the
 * later of the two. */
static int check_places(struct build *b)
{
	const struct build_origin *o;
	size_t a, k, n_in = b->job->proc.n_inputs;
	bool output;

	if (!processing_places_clash(b->job, &a, &k))
		return 0;
	if (place_origin(b, k)->spec_index >= 0 && place_origin(b, a)->spec_index < 0) {
		size_t t = a;

		a = k;
		k = t;
	}
	o = place_origin(b, k);
	output = k >= n_in;
	_cleanup_free_ char *other = place_from(b, a);
	const char *path = processing_place_path(b->job, k);
	const char *how = processing_place_relation(path, processing_place_path(b->job, a));

	if (o->spec_index >= 0) {
		struct jsonpos_path jp;

		item_field_path(&jp, output, (size_t)o->spec_index, "LocalPath");
		build_fail_path(b, &jp, JSONPOS_VALUE, "'%s' %s %s", path, how, other);
	} else if (o->flag_arg) {
		build_fail_flag(b, output ? "--output" : "--input", o->flag_arg,
				"LocalPath '%s' %s %s", path, how, other);
	} else {
		build_fail_flag(b, code_flag(b), NULL, "the input '%s' at '%s' %s %s",
				b->job->proc.inputs[k].name, path, how, other);
	}
	return sr_err_hint(b->err, "%s", PROCESSING_PLACES_HINT);
}

/* A spec alone must name something to run: a command, or an image whose own entry point
 * runs. */
static int check_runnable(struct build *b)
{
	struct job *job = b->job;
	struct jsonpos_path path = {.n = 0};
	int line, col;

	if (job->entrypoint.n || job->image || job->arguments.n)
		return 0;
	if (!b->text)
		return sr_err(b->err, -EINVAL, "nothing to run");
	jsonpos_push_key(&path, "AppSpecification");
	if (jsonpos_find(b->text, b->len, &path, JSONPOS_KEY, &line, &col) < 0)
		jsonpos_pop(&path);
	build_fail_path(b, &path, JSONPOS_KEY,
			"nothing to run: no ContainerEntrypoint and no ImageUri whose own entry "
			"point could run");
	return sr_err_hint(b->err,
			   "add \"ContainerEntrypoint\": [\"python3\", "
			   "\"/opt/ml/processing/input/code/process.py\"] to "
			   "AppSpecification, or run with --code FILE or -- COMMAND [ARGS...]");
}

int processing_build(struct build *b)
{
	static const struct build_limits limits = {
	    .hosts = JOB_PROC_HOSTS_MAX,
	    .max_run_s = JOB_PROC_MAX_RUN_LIMIT_S,
	    .env_key_max = JOB_PROC_ENV_KEY_MAX,
	    .env_value_max = JOB_PROC_ENV_VALUE_MAX,
	};
	const struct job_flags *f = b->flags;
	int r;

	/* --image alone: the image's own ENTRYPOINT and CMD run, as on the service. */
	if (!f->spec_path && !f->code && !f->entry_point && !f->command && !f->image)
		return sr_err(b->err, -EINVAL,
			      "nothing to run: give --spec FILE, --code FILE, --entry-point FILE, "
			      "--image IMAGE or -- COMMAND [ARGS...]");
	if (f->code && f->entry_point)
		return sr_err(b->err, -EINVAL,
			      "--code and --entry-point: give one (--code FILE as ScriptProcessor, "
			      "--source-dir DIR --entry-point FILE as FrameworkProcessor)");
	if (f->entry_point && !f->source_dir)
		return build_fail_flag(b, "--entry-point", NULL,
				       "needs --source-dir, the folder shipped with it "
				       "(FrameworkProcessor); for one file, use --code FILE");
	if (f->source_dir && !f->entry_point)
		return build_fail_flag(b, "--source-dir", NULL,
				       "needs --entry-point, the script to run inside it");
	if (f->proc_command && !f->code && !f->entry_point)
		return build_fail_flag(b, "--command", f->proc_command,
				       "is the command that runs --code or --entry-point; without "
				       "them, give the command after --");
	if (f->spec_path) {
		r = build_load_spec(b);
		if (r < 0)
			return r;
		for (size_t i = 0; i < b->job->proc.n_inputs && i < BUILD_ITEMS_MAX; i++)
			b->in[i].spec_index = (int)i;
		for (size_t i = 0; i < b->job->proc.n_outputs && i < BUILD_ITEMS_MAX; i++)
			b->out[i].spec_index = (int)i;
	}
	r = build_apply_scalars(b, &limits);
	/* The image the hosts run is the one their processingjobconfig.json names. */
	if (r == 0 && f->image) {
		free(b->job->image);
		b->job->image = xstrdup(f->image);
	}
	if (r == 0)
		r = build_apply_envs(b, &limits);
	if (r == 0)
		r = apply_inputs(b);
	if (r == 0)
		r = apply_outputs(b);
	if (r == 0 && f->code)
		r = apply_code(b);
	else if (r == 0 && f->entry_point)
		r = apply_source_dir(b);
	else if (r == 0 && f->command)
		r = build_apply_command(b, false);
	if (r < 0)
		return r;
	apply_defaults(b);
	r = check_places(b);
	if (r == 0)
		r = resolve_locations(b);
	return r < 0 ? r : check_runnable(b);
}
