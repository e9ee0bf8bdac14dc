/* config.c - the three files the service writes into /opt/ml/input/config, and the host tree.
 *
 * The launcher builds them from a struct job (contract_config_from_job) and writes them with the
 * folders every host gets (contract_training_layout); the runtime inside the host reads them back
 * (contract_config_read).  Reference §1.2-1.5.
 */
#include "contract/contract.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "contract/internal.h"
#include "job/job.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* The service caps hyperparameters at 100 x 2.5 KB; anything near this limit is not ours. */
#define CONFIG_FILE_MAX (16u << 20)

#define CONFIG_DIR "input/config"

void contract_config_release(struct contract_config *cfg)
{
	if (!cfg)
		return;
	json_decref(cfg->resource);
	json_decref(cfg->hyperparameters);
	json_decref(cfg->input_data);
	cfg->resource = cfg->hyperparameters = cfg->input_data = NULL;
}

char *contract_host_name(size_t index)
{
	return xasprintf("algo-%zu", index + 1);
}

char *contract_path(const char *base, const char *rel)
{
	size_t n = strlen(base);

	while (n > 1 && base[n - 1] == '/')
		n--;
	if (n == 0)
		return xstrdup(rel);
	if (n == 1 && base[0] == '/')
		return xasprintf("/%s", rel);
	return xasprintf("%.*s/%s", (int)n, base, rel);
}

/* json_string() and json_object_set_new() refuse text that is not UTF-8 (so would the
 * service); `what` names the field for the message. */
static int set_str(json_t *o, const char *key, const char *value, const char *what,
		   struct sr_error *err)
{
	json_t *s = json_string(value);

	if (!s || json_object_set_new(o, key, s) < 0)
		return sr_err(err, -EINVAL, "%s: not valid UTF-8", what);
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* hosts, "sorted lexicographically" as the service documents it: algo-10 before algo-2. */
json_t *contract_sorted_hosts(int n)
{
	char **names = xcalloc((size_t)n, sizeof(*names));
	json_t *hosts = json_array();

	for (int i = 0; i < n; i++)
		names[i] = contract_host_name((size_t)i);
	qsort(names, (size_t)n, sizeof(*names), str_cmp);
	for (int i = 0; i < n; i++) {
		json_array_append_new(hosts, json_string(names[i]));
		free(names[i]);
	}
	free(names);
	return hosts;
}

static int resource_from_job(const struct job *job, const char *host_name, json_t **ret,
			     struct sr_error *err)
{
	_cleanup_json_ json_t *res = json_object();
	_cleanup_json_ json_t *hosts = NULL;
	json_t *group, *groups;
	const char *itype = job->instance_type ? job->instance_type : JOB_DEFAULT_INSTANCE_TYPE;
	bool found = false;
	int n = job->instance_count, r;

	if (n < 1 || n > JOB_HOSTS_MAX)
		return sr_err(err, -EINVAL, "instance count %d is out of range (1 to %d)", n,
			      JOB_HOSTS_MAX);
	hosts = contract_sorted_hosts(n);
	for (size_t i = 0; i < json_array_size(hosts); i++)
		found |= !strcmp(json_string_value(json_array_get(hosts, i)), host_name);
	if (!found)
		return sr_err(err, -EINVAL,
			      "host '%s' is not one of the job's hosts (algo-1 to algo-%d)",
			      host_name, n);

	/* Key order as the service's file prints (reference §1.5).  The service's group lists
	 * its hosts unsorted (["algo-2","algo-1"]), in no documented order; we use the sorted
	 * order so that the torchrun/MPI master (instance_groups[0].hosts[0]) is algo-1. */
	json_object_set_new(res, "current_group_name", json_string(CONTRACT_GROUP_NAME));
	json_object_set_new(res, "current_host", json_string(host_name));
	r = set_str(res, "current_instance_type", itype, "instance type", err);
	if (r < 0)
		return r;
	json_object_set(res, "hosts", hosts);
	group = json_object();
	json_object_set_new(group, "hosts", json_deep_copy(hosts));
	json_object_set_new(group, "instance_group_name", json_string(CONTRACT_GROUP_NAME));
	json_object_set_new(group, "instance_type", json_string(itype));
	groups = json_array();
	json_array_append_new(groups, group);
	json_object_set_new(res, "instance_groups", groups);
	json_object_set_new(res, "network_interface_name", json_string(CONTRACT_IFACE_DEFAULT));
	*ret = TAKE_PTR(res);
	return 0;
}

static int hyperparameters_from_job(const struct job *job, json_t **ret, struct sr_error *err)
{
	_cleanup_json_ json_t *hps = json_object();

	for (size_t i = 0; i < job->train.hyperparameters.n; i++) {
		const struct job_kv *kv = &job->train.hyperparameters.items[i];
		_cleanup_free_ char *what = xasprintf("hyperparameter '%s'", kv->key);
		int r = set_str(hps, kv->key, kv->value ? kv->value : "", what, err);

		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(hps);
	return 0;
}

static int input_data_from_job(const struct job *job, json_t **ret, struct sr_error *err)
{
	_cleanup_json_ json_t *input = json_object();

	for (size_t i = 0; i < job->train.n_channels; i++) {
		const struct job_channel *ch = &job->train.channels[i];
		_cleanup_free_ char *what = xasprintf("channel '%s'", ch->name);
		const char *mode = ch->input_mode	   ? ch->input_mode
				   : job->train.input_mode ? job->train.input_mode
							   : "File";
		json_t *o = json_object();
		int r = 0;

		/* "S3DistributionType" here, "S3DataDistributionType" in the API (§1.4);
		 * ContentType only when the channel sets it */
		if (json_object_set_new(input, ch->name, o) < 0)
			return sr_err(err, -EINVAL, "%s: not valid UTF-8", what);
		if (ch->content_type)
			r = set_str(o, "ContentType", ch->content_type, what, err);
		if (r >= 0)
			r = set_str(o, "TrainingInputMode", mode, what, err);
		if (r >= 0)
			r = set_str(o, "S3DistributionType",
				    ch->distribution ? ch->distribution : "FullyReplicated", what,
				    err);
		if (r >= 0)
			r = set_str(o, "RecordWrapperType",
				    ch->record_wrapper ? ch->record_wrapper : "None", what, err);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(input);
	return 0;
}

int contract_config_from_job(const struct job *job, const char *host_name,
			     struct contract_config *ret, struct sr_error *err)
{
	struct contract_config cfg = {0};
	int r;

	r = resource_from_job(job, host_name, &cfg.resource, err);
	if (r >= 0)
		r = hyperparameters_from_job(job, &cfg.hyperparameters, err);
	if (r >= 0)
		r = input_data_from_job(job, &cfg.input_data, err);
	if (r < 0) {
		contract_config_release(&cfg);
		return r;
	}
	*ret = cfg;
	return 0;
}

static int read_json(const char *base_dir, const char *name, json_t **ret, struct sr_error *err)
{
	_cleanup_free_ char *rel = xasprintf(CONFIG_DIR "/%s", name);
	_cleanup_free_ char *path = contract_path(base_dir, rel);
	_cleanup_free_ char *data = NULL;
	json_error_t jerr;
	size_t len = 0;
	json_t *v;
	int r;

	r = fs_read_file(path, CONFIG_FILE_MAX, &data, &len, err);
	if (r == -ENOENT)
		sr_err_hint(err,
			    "the launcher writes %s/" CONFIG_DIR "/*.json before the job starts; "
			    "is the base folder right?",
			    base_dir);
	if (r < 0)
		return r;
	/* Python's json.load() takes NUL characters in strings; so do we */
	v = json_loadb(data, len, JSON_ALLOW_NUL, &jerr);
	if (!v)
		return sr_err(err, -EINVAL, "%s:%d:%d: %s", path, jerr.line, jerr.column,
			      jerr.text);
	if (!json_is_object(v)) {
		json_decref(v);
		return sr_err(err, -EINVAL, "%s: expected a JSON object", path);
	}
	*ret = v;
	return 0;
}

/* The toolkit needs these two (KeyError otherwise); say so here rather than later. */
static int check_resource(const char *base_dir, json_t *res, struct sr_error *err)
{
	json_t *hosts = json_object_get(res, "hosts");
	bool ok = json_is_array(hosts) && json_array_size(hosts) > 0;

	for (size_t i = 0; ok && i < json_array_size(hosts); i++)
		ok = json_is_string(json_array_get(hosts, i));
	if (!ok)
		return sr_err(err, -EINVAL,
			      "%s/" CONFIG_DIR
			      "/resourceconfig.json: \"hosts\" must be a non-empty "
			      "list of host names",
			      base_dir);
	if (!json_is_string(json_object_get(res, "current_host")))
		return sr_err(err, -EINVAL,
			      "%s/" CONFIG_DIR "/resourceconfig.json: \"current_host\" must be a "
			      "host name",
			      base_dir);
	return 0;
}

int contract_config_read(const char *base_dir, struct contract_config *ret, struct sr_error *err)
{
	struct contract_config cfg = {0};
	int r;

	r = read_json(base_dir, "resourceconfig.json", &cfg.resource, err);
	if (r >= 0)
		r = check_resource(base_dir, cfg.resource, err);
	if (r >= 0)
		r = read_json(base_dir, "hyperparameters.json", &cfg.hyperparameters, err);
	if (r >= 0)
		r = read_json(base_dir, "inputdataconfig.json", &cfg.input_data, err);
	if (r < 0) {
		contract_config_release(&cfg);
		return r;
	}
	*ret = cfg;
	return 0;
}

/* Written as the SDK's local mode writes them, json.dump(obj, f): ", " and ": " separators, key
 * order kept, ASCII only, no final newline.  The service's own whitespace is not documented. */
static int write_json(const char *base_dir, const char *rel, const json_t *v, struct sr_error *err)
{
	_cleanup_free_ char *path = contract_path(base_dir, rel);
	struct contract_buf b = {0};
	_cleanup_free_ char *text = NULL;

	if (!v)
		return sr_err(err, -EINVAL, "write '%s': no content", path);
	contract_json_dump(&b, v, CONTRACT_JSON_SPACED);
	text = contract_buf_take(&b);
	return fs_write_fresh(path, text, strlen(text), 0644, err);
}

int contract_tree_write(const char *base_dir, const char *const *dirs, size_t n_dirs,
			const struct contract_file *files, size_t n_files, struct sr_error *err)
{
	int r;

	for (size_t i = 0; i < n_dirs; i++) {
		_cleanup_free_ char *path = contract_path(base_dir, dirs[i]);

		r = fs_mkdir_p(path, 0755, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < n_files; i++) {
		r = write_json(base_dir, files[i].path, files[i].json, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int contract_training_layout(const char *base_dir, const struct contract_config *cfg,
			     struct sr_error *err)
{
	static const char *const dirs[] = {
	    CONFIG_DIR, "input/data",  "model", "output/data", "output/intermediate",
	    "code",	"checkpoints",
	};
	const struct contract_file files[] = {
	    {CONFIG_DIR "/resourceconfig.json", cfg->resource},
	    {CONFIG_DIR "/hyperparameters.json", cfg->hyperparameters},
	    {CONFIG_DIR "/inputdataconfig.json", cfg->input_data},
	};

	return contract_tree_write(base_dir, dirs, sizeof(dirs) / sizeof(dirs[0]), files,
				   sizeof(files) / sizeof(files[0]), err);
}
