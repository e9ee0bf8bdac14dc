/* framework.h - what a SageMaker framework container does beyond the training toolkit, as
 * read from its toolkit's source (reference §2.10).  A framework's image sets
 * SAGEMAKER_TRAINING_MODULE to its own entry (sagemaker_pytorch_container.training:main), which
 * the toolkit runs in place of the plain runner; that entry sets variables of its own before
 * the user's code runs and refuses what it cannot run.  `--framework NAME[:VERSION]` gives a
 * host the module, and sagerun's runtime does what the module does.  A framework is a row of
 * the table in framework.c: TensorFlow and Hugging Face come as rows of their own.
 */
#ifndef SR_CONTRACT_FRAMEWORK_H
#define SR_CONTRACT_FRAMEWORK_H

#include <stdbool.h>

struct contract_config;
struct strv;

struct contract_framework {
	const char *name;   /* `--framework`'s: "pytorch" */
	const char *module; /* SAGEMAKER_TRAINING_MODULE in the framework's images */
	/* Before the user's code: what the framework's entry sets in its environment.
	 * `resolves` says whether a host name resolves here (a process-backend host's do
	 * not). */
	void (*env)(const struct contract_config *cfg, struct strv *env,
		    bool (*resolves)(const char *host));
	/* NULL, or why the job cannot run here (the framework's ClientError; caller frees). */
	char *(*refuse)(const struct contract_config *cfg);
};

/* NULL when unknown. */
const struct contract_framework *contract_framework_find(const char *name);
/* The framework whose images run `module` (SAGEMAKER_TRAINING_MODULE); NULL for none. */
const struct contract_framework *contract_framework_of_module(const char *module);
/* The known names, ", "-separated, for messages (static). */
const char *contract_framework_names(void);

#endif
