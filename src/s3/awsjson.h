/* awsjson.h - calls of AWS's JSON-1.1 APIs (SageMaker, CloudWatch Logs) on the S3 client's
 * transport: the same credentials chain, region, CA bundle, connection pool, SigV4 signer and
 * retries (connection errors, 5xx, 429 and the services' throttling answers, with backoff and
 * jitter, each attempt signed anew).
 *
 *   struct aws_json_client *c;
 *   aws_json_client_new(&aws_sagemaker, &c, err);
 *   aws_json_call(c, "DescribeTrainingJob", req, &resp, err);
 *   aws_json_client_free(c);
 *
 * Endpoint: the service's own variable (AWS_ENDPOINT_URL_SAGEMAKER,
 * AWS_ENDPOINT_URL_CLOUDWATCH_LOGS), AWS_ENDPOINT_URL, the profile's endpoint_url, else
 * https://<host prefix>.<region>.amazonaws.com.  Errors carry the service's own code and
 * message ("SageMaker CreateTrainingJob: ValidationException: ...") and a hint for what the
 * user can do; never a credential.
 */
#ifndef SR_S3_AWSJSON_H
#define SR_S3_AWSJSON_H

#include <stdbool.h>
#include <stddef.h>

struct json_t;
struct sr_error;

struct aws_json_service {
	const char *title;	   /* "SageMaker", for messages */
	const char *signing_name;  /* "sagemaker" */
	const char *target_prefix; /* X-Amz-Target's: "SageMaker" */
	const char *endpoint_env;  /* "AWS_ENDPOINT_URL_SAGEMAKER" */
	const char *host_prefix;   /* "api.sagemaker": api.sagemaker.<region>.amazonaws.com */
};

extern const struct aws_json_service aws_sagemaker;
extern const struct aws_json_service aws_logs;

struct aws_json_client;

/* Credentials (the chain of creds.h), region and endpoint; -ENOKEY without credentials. */
int aws_json_client_new(const struct aws_json_service *svc, struct aws_json_client **ret,
			struct sr_error *err);
void aws_json_client_free(struct aws_json_client *c);
const char *aws_json_client_region(const struct aws_json_client *c);

/* The error code of the last failed call ("ValidationException", "ResourceNotFound"), "" when
 * the last call succeeded or failed without reaching the service. */
const char *aws_json_last_code(const struct aws_json_client *c);

/* Call operation `op` with `req` (an object; NULL: {}); *ret gets the answer object (new
 * reference).  Errors map the service's code to an errno: ValidationException -EINVAL,
 * ResourceNotFound -ENOENT, ResourceInUse -EEXIST, AccessDenied -EACCES, throttling after the
 * retries -EAGAIN, ResourceLimitExceeded -EDQUOT, anything else -EIO. */
int aws_json_call(struct aws_json_client *c, const char *op, struct json_t *req,
		  struct json_t **ret, struct sr_error *err);

/* The error type out of a JSON API's error answer: "com.amazonaws.x#ValidationException" and
 * "ValidationException:http://..." are both "ValidationException".  `code` gets "" when the
 * body names none.  (For tests.) */
void aws_json_error_parse(const char *body, char *code, size_t code_len, char *msg, size_t msg_len);

#endif
