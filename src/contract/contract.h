/* contract.h - the SageMaker container contract, one module for launcher and runtime.
 *
 * What the service writes into every host (/opt/ml tree, resourceconfig.json,
 * hyperparameters.json, inputdataconfig.json; reference §1.2-1.5) and what
 * sagemaker-training-toolkit computes from it (SM_* environment, SM_TRAINING_ENV, command-line
 * arguments; reference §2.2-2.5), byte for byte.  The launcher builds the config from a
 * struct job; the in-container runtime (runtime/) reads it back from the files; both then
 * compute the environment with the same functions.  Each kind of job has its own files
 * (contract_tree_write); the toolkit's environment is the training kind's.
 */
#ifndef SR_CONTRACT_CONTRACT_H
#define SR_CONTRACT_CONTRACT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/strv.h"

struct job;
struct sr_error;
struct json_t;

#define CONTRACT_BASE_DIR      "/opt/ml"
#define CONTRACT_GROUP_NAME    "homogeneousCluster"
#define CONTRACT_IFACE_DEFAULT "eth0"

/* What a host backend tells sagerun's runtime in a host about the host itself (through its
 * host_env hook), beside the contract's own variables: */
/* Set (to anything) in a host whose rsh agent something else serves already: the ns
 * backend's init listens on the port before the user's process starts.  Unset, the MPI
 * runner of `sagerun container train` serves it itself while the job runs (a container). */
#define CONTRACT_AGENT_SERVED_ENV "SAGERUN_AGENT_SERVED"
/* "host": the host is one process group that the supervisor signals whole (the process
 * backend), so the runtime stays in it (runtime/child.h). */
#define CONTRACT_HOST_GROUP_ENV "SAGERUN_RUNTIME_GROUP"

/* The three config files of one host, as jansson values (owned). */
struct contract_config {
	struct json_t *resource;	/* resourceconfig.json */
	struct json_t *hyperparameters; /* hyperparameters.json: string -> string */
	struct json_t *input_data;	/* inputdataconfig.json */
};

void contract_config_release(struct contract_config *cfg);

/* Host name of 0-based index i: "algo-<i+1>" (caller frees). */
char *contract_host_name(size_t index);

/* Build the config of host `host_name` from a job.  resourceconfig: current_host,
 * current_instance_type, current_group_name "homogeneousCluster", hosts sorted
 * lexicographically (as the service: algo-10 sorts before algo-2), instance_groups with one
 * group whose hosts are in the same sorted order, network_interface_name. */
int contract_config_from_job(const struct job *job, const char *host_name,
			     struct contract_config *ret, struct sr_error *err);

/* Read the three files from <base_dir>/input/config (the runtime's side). */
int contract_config_read(const char *base_dir, struct contract_config *ret, struct sr_error *err);

/* One file the service writes into every host: its path under /opt/ml and its content. */
struct contract_file {
	const char *path;
	const struct json_t *json;
};

/* A kind's tree under base_dir: the folders made, then each file written atomically, JSON
 * formatted as the service writes it.  Each kind names its folders and files. */
int contract_tree_write(const char *base_dir, const char *const *dirs, size_t n_dirs,
			const struct contract_file *files, size_t n_files, struct sr_error *err);

/* A training host's tree under base_dir (input/config, input/data, model, output/data,
 * output/intermediate, code, checkpoints) with its three config files. */
int contract_training_layout(const char *base_dir, const struct contract_config *cfg,
			     struct sr_error *err);

/* A processing host's tree under base_dir, as the service lays out a processing instance
 * (reference §4): config/processingjobconfig.json (the request echoed, job_processing_config_json)
 * and config/resourceconfig.json ({"current_host", "hosts"}), output/ (for output/message), and
 * every output's LocalPath made empty.  Inputs are the caller's to put at their LocalPaths. */
int contract_processing_layout(const char *base_dir, const struct job *job, const char *host_name,
			       struct sr_error *err);

/* Everything the toolkit's Environment needs beyond the config files. */
struct contract_env_opts {
	const char *base_dir;	      /* "/opt/ml", or the host tree for the process backend */
	const char *job_name;	      /* TRAINING_JOB_NAME */
	const char *framework_module; /* SAGEMAKER_TRAINING_MODULE or NULL */
	/* boto3's default region (AWS_DEFAULT_REGION; not AWS_REGION, which boto3 does not
	 * read), for SAGEMAKER_REGION when no sagemaker_region hp; NULL = "" */
	const char *region;
	int num_cpus;
	int num_gpus;
	int num_neurons;
	const char *pythonpath_tail; /* appended after the code dir in PYTHONPATH; may be NULL */
	/* The environment the toolkit process runs with (SAGEMAKER_PROGRAM, SM_HP_MP_PARAMETERS
	 * are read from it).  NULL inside a container: this process's own.  The launcher passes
	 * the host's environment, so nothing of sagerun's own shell leaks into the contract. */
	const struct strv *proc_env;
};

/* Append the toolkit's environment to `env` as NAME=VALUE (replacing earlier NAMEs): every
 * SM_* variable (SM_HOSTS ... SM_TRAINING_ENV, SM_HPS, SM_HP_*, SM_USER_ARGS, SM_CHANNELS,
 * SM_CHANNEL_*), PYTHONPATH, and the toolkit's side effects CURRENT_HOST, SAGEMAKER_JOB_NAME,
 * SAGEMAKER_REGION.  When base_dir is not /opt/ml, SAGEMAKER_BASE_DIR=base_dir too. */
int contract_env(const struct contract_config *cfg, const struct contract_env_opts *opts,
		 struct strv *env, struct sr_error *err);

/* SM_TRAINING_ENV as a JSON value (new reference), the toolkit's 37 keys. */
struct json_t *contract_training_env(const struct contract_config *cfg,
				     const struct contract_env_opts *opts);

/* The user hyperparameters as command-line args, the toolkit's to_cmd_args(): keys sorted,
 * "--key" ("-k" for one character), values str() of the JSON-decoded value (True/False,
 * Python list repr, dicts as "k=v,k2=v2"). */
int contract_cmd_args(const struct contract_config *cfg, struct strv *args, struct sr_error *err);

/* user_entry_point: SAGEMAKER_PROGRAM of `proc_env` (NULL: this process's environment), else
 * hyperparameter sagemaker_program (decoded); NULL when neither (caller frees). */
char *contract_user_entry_point(const struct contract_config *cfg, const struct strv *proc_env);

/* Hyperparameter `name` as the toolkit sees it (json.loads, else the raw string); NULL when
 * absent.  New reference. */
struct json_t *contract_hp(const struct contract_config *cfg, const char *name);

/* module_dir: hyperparameter sagemaker_submit_directory (decoded), else <base>/code. */
char *contract_module_dir(const struct contract_config *cfg, const char *base_dir);

/* _entry_point_type (§2.6), in the toolkit's order: "*.sh" a COMMAND; a setup.py in the code
 * folder a PYTHON_PACKAGE; "*.py" a PYTHON_PROGRAM; anything else a COMMAND. */
enum contract_entry_type {
	CONTRACT_ENTRY_COMMAND,
	CONTRACT_ENTRY_PYTHON_PACKAGE,
	CONTRACT_ENTRY_PYTHON_PROGRAM,
};
enum contract_entry_type contract_entry_type(const char *code_dir, const char *entry);

/* argv to run entry point `entry` found in `code_dir` as the toolkit does (§2.6-2.7), by its
 * type: a COMMAND executed (through /bin/sh unless it has a #! line or is a binary), a
 * PYTHON_PROGRAM as python3 entry, a PYTHON_PACKAGE as python3 -m <entry less .py>.  `args`
 * are appended (borrowed). */
int contract_entry_argv(const char *code_dir, const char *entry, const struct strv *args,
			struct strv *argv, struct sr_error *err);

/* Python formatting the toolkit applies (pyfmt.c), exposed for tests and the runtime. */
/* json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=True); caller frees. */
char *contract_py_json(const struct json_t *v);
/* str(v) of a decoded JSON value: True/False/None, float repr, list/dict repr. */
char *contract_py_str(const struct json_t *v);
/* json.loads(s) with the toolkit's fallback: the raw string when it does not decode.
 * Returns a new reference. */
struct json_t *contract_py_decode(const char *s);

#endif
