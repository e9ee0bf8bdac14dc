/* s3_artifacts.h - a job's packed artifacts uploaded to an S3OutputPath, as the service lays
 * them out: s3://bucket/prefix/<job>/output/model.tar.gz and output.tar.gz. */
#ifndef SR_DATA_S3_ARTIFACTS_H
#define SR_DATA_S3_ARTIFACTS_H

struct sr_error;

/* Upload `model` and `output` (local tarballs) under `output_uri` (s3://bucket[/prefix]) for
 * job `job_name`; *ret_model_uri gets the model's s3:// URI (S3ModelArtifacts, caller
 * frees).  Each upload is whole or absent (multipart uploads are aborted on failure). */
int s3_artifacts_upload(const char *output_uri, const char *job_name, const char *model,
			const char *output, char **ret_model_uri, struct sr_error *err);

/* Script mode with an S3 output, as the SageMaker SDK does it: the code at `src` (a folder,
 * or a single entry point file) packed into <work_dir>/sourcedir.tar.gz, links followed
 * (artifacts_pack_source), and uploaded to
 * s3://bucket/prefix/<job>/source/sourcedir.tar.gz; *ret_uri gets that URI (for the
 * hyperparameter sagemaker_submit_directory; caller frees). */
int s3_sourcedir_upload(const char *output_uri, const char *job_name, const char *src,
			const char *work_dir, char **ret_uri, struct sr_error *err);

#endif
