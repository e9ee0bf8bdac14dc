/* creds.h - AWS credentials, region and endpoint from the standard chain, as botocore and the
 * AWS CLI find them (peers-and-apis.md §6.3), read at the moment they are needed.
 *
 * Credentials, first found wins:
 *   1. environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN, or the
 *      older AWS_SECURITY_TOKEN);
 *   2. the profile (AWS_PROFILE, else AWS_DEFAULT_PROFILE, else "default") in the shared
 *      credentials file (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials), then in the
 *      config file (AWS_CONFIG_FILE, else ~/.aws/config; sections "[profile NAME]", and
 *      "[default]");
 *   3. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (from 169.254.170.2) or
 *      AWS_CONTAINER_CREDENTIALS_FULL_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE);
 *   4. EC2 instance metadata, IMDSv2 (a session token first), unless
 *      AWS_EC2_METADATA_DISABLED=true; AWS_EC2_METADATA_SERVICE_ENDPOINT overrides the address.
 * An explicitly chosen profile (AWS_PROFILE) skips the environment keys, as botocore does.
 *
 * Region: AWS_REGION, AWS_DEFAULT_REGION, the profile's `region`, else us-east-1.
 * Endpoint: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's `endpoint_url`; a custom
 * endpoint means path-style addressing (http://host:port/bucket/key).  Other services have
 * their own variable first (AWS_ENDPOINT_URL_SAGEMAKER, s3_config_load_for).
 *
 * The secret and the token never leave these structs except into the signer; `source` says
 * where they came from, for messages ("environment", "profile dev in /root/.aws/credentials").
 */
#ifndef SR_S3_CREDS_H
#define SR_S3_CREDS_H

#include <stdbool.h>
#include <stdint.h>

struct sr_error;

struct s3_creds {
	char *access_key;
	char *secret_key;
	char *session_token; /* NULL when none */
	char *source;	     /* where they were found, for messages */
	int64_t expires_ms;  /* wall clock; 0 when they do not expire */
};

/* The first credentials of the chain.  -ENOKEY, with every place looked at in the message,
 * when there are none; another error (naming its source) when a source is broken. */
int s3_creds_load(struct s3_creds *c, struct sr_error *err);
/* Wipes the secrets. */
void s3_creds_release(struct s3_creds *c);

struct s3_config {
	char *profile;	/* the profile used ("default") */
	char *region;	/* never NULL after s3_config_load */
	char *endpoint; /* "http://127.0.0.1:4568" without a trailing '/', NULL for AWS */
	bool path_style;
};

int s3_config_load(struct s3_config *cfg, struct sr_error *err);
/* The same for another service: its own endpoint variable (AWS_ENDPOINT_URL_SAGEMAKER, as
 * the AWS SDKs name them) before AWS_ENDPOINT_URL and the profile's endpoint_url. */
int s3_config_load_for(struct s3_config *cfg, const char *endpoint_env, struct sr_error *err);
void s3_config_release(struct s3_config *cfg);

/* The value of `key` in section `section` of the INI file `path` (botocore's format: "key =
 * value", '#' and ';' comments, case-sensitive names).  NULL when absent; -errno style errors
 * are not reported (a missing file is an absent value).  Caller frees. */
char *s3_ini_get(const char *path, const char *section, const char *key);

#endif
