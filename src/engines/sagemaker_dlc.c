/* sagemaker_dlc.c - `--framework pytorch:VERSION` as the image the job runs: the framework's
 * Deep Learning Container for the region and the instance type, resolved as the SageMaker
 * SDK's image_uris.retrieve() does for a framework estimator's training job (its
 * _validate_version_and_set_if_needed, _registry_from_region, _processor and _format_tag), from
 * the SDK's own data (sagemaker_dlc_table.c).  What the SDK would refuse is refused, with the
 * values it knows.
 */
#include "engines/sagemaker_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/xalloc.h"

static const struct sm_dlc_framework *const frameworks[] = {&sm_dlc_pytorch};

#define N_FRAMEWORKS (sizeof(frameworks) / sizeof(*frameworks))

/* The versions known, for a message: "1.13.1, 2.0.0, ... (MAJOR.MINOR names the newest of
 * each: 2.8 is 2.8.0)". */
static void list_versions(const struct sm_dlc_framework *f, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < f->n_versions && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s", at ? ", " : "",
				       f->versions[i].version);
	if (f->n_aliases && at < len)
		snprintf(buf + at, len - at, "; MAJOR.MINOR names the newest of each: %s is %s",
			 f->aliases[f->n_aliases - 1].alias, f->aliases[f->n_aliases - 1].full);
}

static const struct sm_dlc_version *find_version(const struct sm_dlc_framework *f,
						 const char *version)
{
	const char *full = version;

	for (size_t i = 0; i < f->n_aliases; i++)
		if (!strcmp(version, f->aliases[i].alias))
			full = f->aliases[i].full;
	for (size_t i = 0; i < f->n_versions; i++)
		if (!strcmp(full, f->versions[i].version))
			return &f->versions[i];
	return NULL;
}

/* "ml.p3.2xlarge" -> "p3" (the SDK's get_instance_type_family); NULL when it is no
 * ml.FAMILY.SIZE. */
static char *instance_family(const char *type)
{
	const char *p, *dot;

	if (!type || strncmp(type, "ml.", 3))
		return NULL;
	p = type + 3;
	dot = strchr(p, '.');
	if (!dot || dot == p)
		return NULL;
	return xstrndup(p, (size_t)(dot - p));
}

/* The DNS suffix of a region's partition, as botocore's endpoint resolver builds the "ecr"
 * host (endpoints.json's partitions). */
static const char *ecr_domain(const char *region)
{
	static const struct {
		const char *prefix, *suffix;
	} partitions[] = {
	    {"cn-", "amazonaws.com.cn"},    {"us-isob-", "sc2s.sgov.gov"},
	    {"us-isof-", "csp.hci.ic.gov"}, {"us-iso-", "c2s.ic.gov"},
	    {"eu-isoe-", "cloud.adc-e.uk"},
	};

	for (size_t i = 0; i < sizeof(partitions) / sizeof(*partitions); i++)
		if (!strncmp(region, partitions[i].prefix, strlen(partitions[i].prefix)))
			return partitions[i].suffix;
	return "amazonaws.com";
}

int sm_dlc_image(const char *framework, const char *version, const char *region,
		 const char *instance_type, char **ret, struct sr_error *err)
{
	const struct sm_dlc_framework *f = NULL;
	const struct sm_dlc_version *v;
	const char *account = NULL, *processor;
	char known[2048];
	char *family;

	for (size_t i = 0; i < N_FRAMEWORKS; i++)
		if (!strcmp(framework, frameworks[i]->name))
			f = frameworks[i];
	if (!f) {
		sr_err(err, -EINVAL,
		       "--framework %s: no SageMaker image is known for it (known: pytorch)",
		       framework);
		return sr_err_hint(err, "give the image with --image");
	}
	list_versions(f, known, sizeof(known));
	if (!version) {
		sr_err(err, -EINVAL,
		       "--framework %s: the sagemaker engine needs its version to choose the "
		       "image (known: %s)",
		       framework, known);
		return sr_err_hint(err, "give --framework %s:%s, or the image with --image",
				   framework, f->aliases[f->n_aliases - 1].alias);
	}
	v = find_version(f, version);
	if (!v) {
		sr_err(err, -EINVAL,
		       "--framework %s:%s: no SageMaker image of that version (known: %s)",
		       framework, version, known);
		return sr_err_hint(err,
				   "choose a known version, or give the image with --image "
				   "(scripts/dlc-table.py refreshes the list from a newer SDK)");
	}
	for (size_t i = 0; i < v->n_registries; i++)
		if (!strcmp(region, v->registries[i].region))
			account = v->registries[i].account;
	if (!account) {
		size_t at = 0;

		for (size_t i = 0; i < v->n_registries && at < sizeof(known); i++)
			at += (size_t)snprintf(known + at, sizeof(known) - at, "%s%s",
					       i ? ", " : "", v->registries[i].region);
		sr_err(err, -EINVAL,
		       "--framework %s:%s: no SageMaker image of it in region '%s' (it has one in: "
		       "%s)",
		       framework, version, region, known);
		return sr_err_hint(err, "set AWS_REGION to one of them, or give the image with "
					"--image");
	}
	family = instance_family(instance_type);
	if (!family) {
		sr_err(err, -EINVAL, "--framework %s: instance type '%s' is not ml.FAMILY.SIZE",
		       framework, instance_type ? instance_type : "");
		return sr_err_hint(err, "give --instance-type like ml.g5.xlarge");
	}
	processor = family[0] == 'g' || family[0] == 'p' ? "gpu" : "cpu";
	if (!strncmp(family, "inf", 3) || !strncmp(family, "trn", 3)) {
		sr_err(err, -EINVAL,
		       "--framework %s: %s instances run the Neuron images, which --framework does "
		       "not choose (the SDK's images here are for cpu and gpu)",
		       framework, instance_type);
		free(family);
		return sr_err_hint(err, "give the image with --image");
	}
	free(family);
	*ret = xasprintf("%s.dkr.ecr.%s.%s/%s:%s-%s-%s", account, region, ecr_domain(region),
			 v->repository, version, processor, v->py_version);
	return 0;
}
