/* env.c - what sagemaker-training-toolkit computes from the config files: its Environment
 * (SM_TRAINING_ENV), the SM_* variables and the user's command-line arguments (reference
 * §2.2-2.5).  Each value is built the way the toolkit's Python builds it, quirks included, so
 * that a script sees the same bytes here as on the service.
 */
#include "contract/contract.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "contract/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/xalloc.h"

#define LOG_LEVEL_DEFAULT 20 /* logging.INFO */

/* Any of these truthy puts the current group into distribution_instance_groups (§2.2). */
static const char *const distribution_flags[] = {
    "sagemaker_mpi_enabled",
    "sagemaker_parameter_server_enabled",
    "sagemaker_distributed_dataparallel_enabled",
    "sagemaker_pytorch_ddp_enabled",
    "sagemaker_pytorch_xla_multi_worker_enabled",
    "sagemaker_multi_worker_mirrored_strategy_enabled",
    "sagemaker_torch_distributed_enabled",
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static const char *base_of(const struct contract_env_opts *opts)
{
	return opts && opts->base_dir ? opts->base_dir : CONTRACT_BASE_DIR;
}

/* dict.get(key, default) as a new reference; a key that is present wins even when null. */
static json_t *get_or(json_t *o, const char *key, json_t *dflt)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return dflt;
	json_decref(dflt);
	return json_incref(v);
}

static json_t *path_value(const char *base, const char *rel)
{
	_cleanup_free_ char *p = contract_path(base, rel);

	return json_string_nocheck(p);
}

/* Python's `needle in haystack` for the shapes sagemaker_distribution_instance_groups takes. */
static bool py_in(json_t *needle, json_t *hay)
{
	if (json_is_array(hay)) {
		for (size_t i = 0; i < json_array_size(hay); i++)
			if (json_equal(json_array_get(hay, i), needle))
				return true;
	} else if (json_is_string(hay) && json_is_string(needle)) {
		return strstr(json_string_value(hay), json_string_value(needle)) != NULL;
	} else if (json_is_object(hay) && json_is_string(needle)) {
		return json_object_get(hay, json_string_value(needle)) != NULL;
	}
	return false;
}

/* A variable of the toolkit process's environment: `proc_env` when the launcher computes the
 * contract for a host, this process's own environment inside a container. */
static const char *proc_getenv(const struct strv *proc_env, const char *name)
{
	return proc_env ? strv_env_get(proc_env, name) : getenv(name);
}

/* user_entry_point: SAGEMAKER_PROGRAM when non-empty, else the sagemaker_program value. */
static json_t *entry_point_value(json_t *sagemaker, const struct strv *proc_env)
{
	const char *env = proc_getenv(proc_env, "SAGEMAKER_PROGRAM");

	if (env && *env)
		return json_string_nocheck(env);
	return get_or(sagemaker, "sagemaker_program", json_null());
}

/* module_name: SAGEMAKER_PROGRAM if set at all, else str() of sagemaker_program, which is
 * the string "None" when there is none (code-derived, §2.2); then ".py" stripped. */
static char *module_name(json_t *sagemaker, const struct strv *proc_env)
{
	const char *env = proc_getenv(proc_env, "SAGEMAKER_PROGRAM");
	json_t *v = json_object_get(sagemaker, "sagemaker_program");
	char *name = env ? xstrdup(env) : v ? contract_py_str(v) : xstrdup("None");
	size_t n = strlen(name);

	if (n >= 3 && !strcmp(name + n - 3, ".py"))
		name[n - 3] = '\0';
	return name;
}

static char *module_dir(json_t *sagemaker, const char *base)
{
	json_t *v = json_object_get(sagemaker, "sagemaker_submit_directory");

	return v ? contract_py_str(v) : contract_path(base, "code");
}

char *contract_user_entry_point(const struct contract_config *cfg, const struct strv *proc_env)
{
	struct contract_hps s;
	_cleanup_json_ json_t *v = NULL;
	char *ret;

	contract_hps_split(cfg, &s);
	v = entry_point_value(s.sagemaker, proc_env);
	ret = json_is_null(v) ? NULL : contract_py_str(v);
	contract_hps_release(&s);
	return ret;
}

char *contract_module_dir(const struct contract_config *cfg, const char *base_dir)
{
	struct contract_hps s;
	char *ret;

	contract_hps_split(cfg, &s);
	ret = module_dir(s.sagemaker, base_dir ? base_dir : CONTRACT_BASE_DIR);
	contract_hps_release(&s);
	return ret;
}

/* `mp and mp != "{}"` of the process's SM_HP_MP_PARAMETERS: the toolkit reads it before it
 * has exported any SM_HP_*, so on a first run it is None (null). */
static json_t *modelparallel_value(const struct strv *proc_env)
{
	const char *mp = proc_getenv(proc_env, "SM_HP_MP_PARAMETERS");

	if (!mp)
		return json_null();
	if (!*mp)
		return json_string("");
	return json_boolean(strcmp(mp, "{}") != 0);
}

/* The instance-group properties of §2.2, set on `te` (the training env being built). */
static void add_group_fields(json_t *te, json_t *res, json_t *framework)
{
	json_t *groups_cfg = json_object_get(res, "instance_groups");
	json_t *hosts = json_object_get(te, "hosts");
	json_t *current = json_object_get(te, "current_instance_group");
	json_t *group_hosts = NULL, *names = json_array(), *dict = json_object();
	json_t *dist_groups, *dist_hosts, *master;

	if (!json_is_array(groups_cfg))
		groups_cfg = NULL;
	for (size_t i = 0; i < json_array_size(groups_cfg); i++) {
		json_t *g = json_array_get(groups_cfg, i);
		json_t *name = json_object_get(g, "instance_group_name");

		if (!group_hosts && name && json_equal(name, current))
			group_hosts = json_incref(json_object_get(g, "hosts"));
		json_array_append(names, name ? name : json_null());
		if (json_is_string(name))
			json_object_set(dict, json_string_value(name), g);
	}

	dist_groups = json_object_get(framework, "sagemaker_distribution_instance_groups");
	if (dist_groups) {
		json_incref(dist_groups);
	} else {
		dist_groups = json_array();
		for (size_t i = 0; i < N_ELEMS(distribution_flags); i++) {
			if (contract_py_truthy(json_object_get(framework, distribution_flags[i]))) {
				json_array_append(dist_groups, current);
				break;
			}
		}
	}

	/* no instance_groups at all (SDK local mode): every host takes part */
	if (json_array_size(groups_cfg) == 0) {
		dist_hosts = json_copy(hosts);
	} else {
		dist_hosts = json_array();
		for (size_t i = 0; i < json_array_size(groups_cfg); i++) {
			json_t *g = json_array_get(groups_cfg, i);
			json_t *gh = json_object_get(g, "hosts");

			if (py_in(json_object_get(g, "instance_group_name"), dist_groups) &&
			    json_is_array(gh))
				json_array_extend(dist_hosts, gh);
		}
	}
	master =
	    json_array_size(dist_hosts) ? json_array_get(dist_hosts, 0) : json_array_get(hosts, 0);

	json_object_set_new(te, "current_instance_group_hosts",
			    group_hosts ? group_hosts : json_array());
	json_object_set_new(te, "distribution_hosts", dist_hosts);
	json_object_set_new(te, "distribution_instance_groups", dist_groups);
	json_object_set_new(te, "instance_groups", names);
	json_object_set_new(te, "instance_groups_dict", dict);
	json_object_set_new(te, "is_hetero", json_boolean(json_array_size(names) > 1));
	json_object_set_new(
	    te, "is_master",
	    json_boolean(master && json_equal(json_object_get(te, "current_host"), master)));
	json_object_set_new(te, "master_hostname", master ? json_incref(master) : json_null());
}

struct json_t *contract_training_env(const struct contract_config *cfg,
				     const struct contract_env_opts *opts)
{
	const char *base = base_of(opts);
	json_t *res = cfg->resource, *te = json_object(), *dirs = json_object();
	struct contract_hps s;
	_cleanup_free_ char *mdir = NULL, *mname = NULL;

	contract_hps_split(cfg, &s);
	mdir = module_dir(s.sagemaker, base);
	mname = module_name(s.sagemaker, opts->proc_env);
	for (void *it = json_object_iter(cfg->input_data); it;
	     it = json_object_iter_next(cfg->input_data, it)) {
		const char *key = json_object_iter_key(it);
		_cleanup_free_ char *rel = xasprintf("input/data/%s", key);

		json_object_set_new(dirs, key, path_value(base, rel));
	}

	/* Values other fields derive from first; json.dumps() sorts the keys in the end anyway.
	 * Sub-values are shared with cfg (json_incref), not copied. */
	json_object_set_new(te, "hosts", get_or(res, "hosts", json_array()));
	json_object_set_new(te, "current_host", get_or(res, "current_host", json_null()));
	json_object_set_new(te, "current_instance_group",
			    get_or(res, "current_group_name", json_string(CONTRACT_GROUP_NAME)));
	add_group_fields(te, res, s.framework);

	json_object_set(te, "additional_framework_parameters", s.framework);
	json_object_set_new(te, "channel_input_dirs", dirs);
	json_object_set_new(te, "current_instance_type",
			    get_or(res, "current_instance_type", json_string("local")));
	json_object_set_new(te, "framework_module",
			    opts && opts->framework_module
				? json_string_nocheck(opts->framework_module)
				: json_null());
	json_object_set(te, "hyperparameters", s.user);
	json_object_set_new(te, "input_config_dir", path_value(base, "input/config"));
	json_object_set(te, "input_data_config", cfg->input_data ? cfg->input_data : json_null());
	json_object_set_new(te, "input_dir", path_value(base, "input"));
	json_object_set_new(te, "is_modelparallel_enabled", modelparallel_value(opts->proc_env));
	/* whether smddpmprun / smddprun are on PATH: never in our hosts */
	json_object_set_new(te, "is_smddpmprun_installed", json_false());
	json_object_set_new(te, "is_smddprun_installed", json_false());
	json_object_set_new(te, "job_name",
			    opts && opts->job_name ? json_string_nocheck(opts->job_name)
						   : json_null());
	json_object_set_new(
	    te, "log_level",
	    get_or(s.sagemaker, "sagemaker_container_log_level", json_integer(LOG_LEVEL_DEFAULT)));
	json_object_set_new(te, "model_dir", path_value(base, "model"));
	json_object_set_new(te, "module_dir", json_string_nocheck(mdir));
	json_object_set_new(te, "module_name", json_string_nocheck(mname));
	json_object_set_new(
	    te, "network_interface_name",
	    get_or(res, "network_interface_name", json_string(CONTRACT_IFACE_DEFAULT)));
	json_object_set_new(te, "num_cpus", json_integer(opts ? opts->num_cpus : 0));
	json_object_set_new(te, "num_gpus", json_integer(opts ? opts->num_gpus : 0));
	json_object_set_new(te, "num_neurons", json_integer(opts ? opts->num_neurons : 0));
	json_object_set_new(te, "output_data_dir", path_value(base, "output/data"));
	json_object_set_new(te, "output_dir", path_value(base, "output"));
	json_object_set_new(te, "output_intermediate_dir", path_value(base, "output/intermediate"));
	json_object_set(te, "resource_config", res ? res : json_null());
	json_object_set_new(te, "topology", get_or(res, "topology", json_array()));
	json_object_set_new(te, "user_entry_point", entry_point_value(s.sagemaker, opts->proc_env));
	contract_hps_release(&s);
	return te;
}

static int check_config(const struct contract_config *cfg, struct sr_error *err)
{
	json_t *hosts = json_object_get(cfg->resource, "hosts");

	if (!json_is_object(cfg->resource) || !json_is_object(cfg->hyperparameters) ||
	    !json_is_object(cfg->input_data))
		return sr_err(err, -EINVAL,
			      "incomplete container config: all three files are needed");
	if (!json_is_array(hosts) || !json_array_size(hosts) ||
	    !json_is_string(json_object_get(cfg->resource, "current_host")))
		return sr_err(
		    err, -EINVAL,
		    "resourceconfig.json needs \"hosts\" (non-empty) and \"current_host\"");
	return 0;
}

/* mapping.to_env_vars() value: None -> "", str as is, anything else compact sorted JSON. */
static char *env_value(const json_t *v)
{
	if (!v || json_is_null(v))
		return xstrdup("");
	if (json_is_string(v))
		return xstrdup(json_string_value((json_t *)v));
	return contract_py_json(v);
}

static void set_json(struct strv *env, const char *name, const json_t *v)
{
	_cleanup_free_ char *s = env_value(v);

	strv_env_set(env, name, s);
}

/* "SM_" + key.upper(); ASCII only (Python would also upper-case non-ASCII letters). */
static char *sm_name(const char *prefix, const char *key)
{
	char *name = xasprintf("%s%s", prefix, key);

	for (char *p = name; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	return name;
}

/* Environment.to_env_vars() in its dict order: SM_<NAME> from training-env key <key>.  A NULL
 * name is "SM_" + key.upper(). */
static const struct {
	const char *name;
	const char *key;
} env_fields[] = {
    {NULL, "hosts"},
    {NULL, "network_interface_name"},
    {"SM_HPS", "hyperparameters"},
    {NULL, "user_entry_point"},
    {"SM_FRAMEWORK_PARAMS", "additional_framework_parameters"},
    {NULL, "resource_config"},
    {NULL, "input_data_config"},
    {NULL, "output_data_dir"},
    {"SM_CHANNELS", NULL}, /* sorted channel names */
    {NULL, "current_host"},
    {NULL, "current_instance_type"},
    {NULL, "current_instance_group"},
    {NULL, "current_instance_group_hosts"},
    {NULL, "instance_groups"},
    {NULL, "instance_groups_dict"},
    {NULL, "distribution_instance_groups"},
    {NULL, "is_hetero"},
    {NULL, "module_name"},
    {NULL, "log_level"},
    {NULL, "framework_module"},
    {NULL, "input_dir"},
    {NULL, "input_config_dir"},
    {NULL, "output_dir"},
    {NULL, "num_cpus"},
    {NULL, "num_gpus"},
    {NULL, "num_neurons"},
    {NULL, "model_dir"},
    {NULL, "module_dir"},
    {"SM_TRAINING_ENV", NULL}, /* the whole training env */
    {"SM_USER_ARGS", NULL},    /* to_cmd_args() */
    {NULL, "output_intermediate_dir"},
};

static void set_fields(struct strv *env, json_t *te, json_t *user)
{
	for (size_t i = 0; i < N_ELEMS(env_fields); i++) {
		const char *name = env_fields[i].name;
		_cleanup_free_ char *upper = NULL;
		_cleanup_json_ json_t *v = NULL;

		if (!name)
			name = upper = sm_name("SM_", env_fields[i].key);
		if (env_fields[i].key) {
			v = json_incref(json_object_get(te, env_fields[i].key));
		} else if (!strcmp(name, "SM_CHANNELS")) {
			_cleanup_free_ const char **keys = NULL;
			size_t n;

			keys = contract_sorted_keys(json_object_get(te, "channel_input_dirs"), &n);
			v = json_array();
			for (size_t k = 0; k < n; k++)
				json_array_append_new(v, json_string_nocheck(keys[k]));
		} else if (!strcmp(name, "SM_TRAINING_ENV")) {
			v = json_incref(te);
		} else {
			struct strv args = STRV_INIT;

			contract_user_args(user, &args);
			v = json_array();
			for (size_t k = 0; k < args.n; k++)
				json_array_append_new(v, json_string_nocheck(args.v[k]));
			strv_release(&args);
		}
		set_json(env, name, v);
	}
}

/* SM_CHANNEL_<NAME> / SM_HP_<KEY> for every entry of `o`, in its order: a later key that
 * upper-cases to the same name wins, as in the toolkit's dict. */
static void set_each(struct strv *env, const char *prefix, json_t *o)
{
	for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it)) {
		_cleanup_free_ char *name = sm_name(prefix, json_object_iter_key(it));

		set_json(env, name, json_object_iter_value(it));
	}
}

int contract_env(const struct contract_config *cfg, const struct contract_env_opts *opts,
		 struct strv *env, struct sr_error *err)
{
	const char *base = base_of(opts);
	_cleanup_json_ json_t *te = NULL;
	_cleanup_free_ char *code = NULL;
	json_t *topology, *region;
	struct contract_hps s;
	json_t *v;
	int r;

	r = check_config(cfg, err);
	if (r < 0)
		return r;
	te = contract_training_env(cfg, opts);
	set_fields(env, te, json_object_get(te, "hyperparameters"));
	topology = json_object_get(te, "topology");
	if (contract_py_truthy(topology))
		set_json(env, "SM_TOPOLOGY", topology);
	set_each(env, "SM_CHANNEL_", json_object_get(te, "channel_input_dirs"));
	set_each(env, "SM_HP_", json_object_get(te, "hyperparameters"));

	/* Environment.__init__'s side effects on os.environ (§2.2) */
	contract_hps_split(cfg, &s);
	set_json(env, "CURRENT_HOST", json_object_get(te, "current_host"));
	v = json_object_get(s.sagemaker, "sagemaker_job_name");
	if (v) {
		_cleanup_free_ char *name = contract_py_str(v);

		strv_env_set(env, "SAGEMAKER_JOB_NAME", name);
	} else {
		strv_env_set(env, "SAGEMAKER_JOB_NAME", "");
	}
	region = json_object_get(s.sagemaker, "sagemaker_region");
	if (region && contract_py_truthy(region)) {
		_cleanup_free_ char *name = contract_py_str(region);

		strv_env_set(env, "SAGEMAKER_REGION", name);
	} else {
		strv_env_set(env, "SAGEMAKER_REGION",
			     !region && opts && opts->region ? opts->region : "");
	}
	contract_hps_release(&s);

	/* write_env_vars(): ":".join(sys.path), whose first entry is the code folder */
	code = contract_path(base, "code");
	if (opts && opts->pythonpath_tail) {
		_cleanup_free_ char *path = xasprintf("%s:%s", code, opts->pythonpath_tail);

		strv_env_set(env, "PYTHONPATH", path);
	} else {
		strv_env_set(env, "PYTHONPATH", code);
	}
	if (strcmp(base, CONTRACT_BASE_DIR))
		strv_env_set(env, "SAGEMAKER_BASE_DIR", base);
	return 0;
}
