/* awsjson.c - AWS JSON-1.1 API calls (awsjson.h) as `struct xfer`s of the S3 transport: the
 * request is one signed POST, its answer judged here: an object, or the service's error type
 * and message turned into an sr_error with a hint. */
#include "s3/awsjson.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

const struct aws_json_service aws_sagemaker = {
    .title = "SageMaker",
    .signing_name = "sagemaker",
    .target_prefix = "SageMaker",
    .endpoint_env = "AWS_ENDPOINT_URL_SAGEMAKER",
    .host_prefix = "api.sagemaker",
};

const struct aws_json_service aws_logs = {
    .title = "CloudWatch Logs",
    .signing_name = "logs",
    .target_prefix = "Logs_20140328",
    .endpoint_env = "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
    .host_prefix = "logs",
};

struct aws_json_client {
	const struct aws_json_service *svc;
	struct s3_client *s3; /* the transport: credentials, region, pool, retries */
	char *url;	      /* "https://api.sagemaker.us-east-1.amazonaws.com/" */
	char *host;
	char code[128]; /* the last failed call's error type */
};

int aws_json_client_new(const struct aws_json_service *svc, struct aws_json_client **ret,
			struct sr_error *err)
{
	struct aws_json_client *c = xcalloc(1, sizeof(*c));
	int r = s3_client_make(&c->s3, svc->endpoint_env, err);

	if (r < 0) {
		free(c);
		return r;
	}
	c->svc = svc;
	if (c->s3->cfg.endpoint) {
		c->url = xasprintf("%s/", c->s3->scheme_host);
		c->host = xstrdup(c->s3->host);
	} else {
		const char *region = c->s3->cfg.region;
		/* China's regions answer under their own domain */
		const char *domain =
		    !strncmp(region, "cn-", 3) ? "amazonaws.com.cn" : "amazonaws.com";

		c->host = xasprintf("%s.%s.%s", svc->host_prefix, region, domain);
		c->url = xasprintf("https://%s/", c->host);
	}
	*ret = c;
	return 0;
}

void aws_json_client_free(struct aws_json_client *c)
{
	if (!c)
		return;
	s3_client_free(c->s3);
	free(c->url);
	free(c->host);
	free(c);
}

const char *aws_json_client_region(const struct aws_json_client *c)
{
	return c->s3->cfg.region;
}

const char *aws_json_last_code(const struct aws_json_client *c)
{
	return c->code;
}

/* "com.amazonaws.sagemaker#ValidationException" or "ValidationException:http://internal..."
 * (the x-amzn-ErrorType form) -> "ValidationException". */
static void code_clean(const char *type, char *code, size_t len)
{
	const char *hash = strrchr(type, '#');
	size_t n;

	if (hash)
		type = hash + 1;
	n = strcspn(type, ":");
	snprintf(code, len, "%.*s", (int)n, type);
}

void aws_json_error_parse(const char *body, char *code, size_t code_len, char *msg, size_t msg_len)
{
	_cleanup_json_ json_t *o = body ? json_loads(body, 0, NULL) : NULL;
	const char *type = json_string_value(json_object_get(o, "__type"));
	const char *m = json_string_value(json_object_get(o, "message"));

	if (!type)
		type = json_string_value(json_object_get(o, "code"));
	if (!m)
		m = json_string_value(json_object_get(o, "Message"));
	code_clean(type ? type : "", code, code_len);
	snprintf(msg, msg_len, "%s", m ? m : "");
}

/* botocore's throttling codes (retryhandler's and standard mode's lists). */
static const char *const throttling[] = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
};

static bool is_throttling(const char *code)
{
	for (size_t i = 0; i < sizeof(throttling) / sizeof(*throttling); i++)
		if (!strcmp(code, throttling[i]))
			return true;
	return false;
}

static bool api_throttled(const struct xfer *x)
{
	char code[128], msg[8];

	if (x->status != 400 || !x->mem)
		return false;
	aws_json_error_parse(x->mem, code, sizeof(code), msg, sizeof(msg));
	return is_throttling(code);
}

static int code_errno(const char *code)
{
	static const struct {
		const char *code;
		int e;
	} map[] = {
	    {"ValidationException", -EINVAL},
	    {"ResourceNotFound", -ENOENT},
	    {"ResourceNotFoundException", -ENOENT},
	    {"ResourceInUse", -EEXIST},
	    {"ResourceAlreadyExistsException", -EEXIST},
	    {"AccessDeniedException", -EACCES},
	    {"AccessDenied", -EACCES},
	    {"UnrecognizedClientException", -EACCES},
	    {"InvalidSignatureException", -EACCES},
	    {"IncompleteSignature", -EACCES},
	    {"ExpiredTokenException", -EACCES},
	    {"ResourceLimitExceeded", -EDQUOT},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(*map); i++)
		if (!strcmp(code, map[i].code))
			return map[i].e;
	return is_throttling(code) ? -EAGAIN : -EIO;
}

/* What the user can do about the service's answer. */
static void add_hint(struct aws_json_client *c, const char *op, const char *code, long status,
		     struct sr_error *err)
{
	const char *src = s3_client_creds_source(c->s3);

	if (!strcmp(code, "UnrecognizedClientException") ||
	    !strcmp(code, "InvalidSignatureException") || !strcmp(code, "ExpiredTokenException") ||
	    !strcmp(code, "IncompleteSignature"))
		sr_err_hint(err, "the credentials came from %s; check them, and the region (%s)",
			    src, c->s3->cfg.region);
	else if (code_errno(code) == -EACCES)
		sr_err_hint(err,
			    "the identity of the credentials from %s needs %s:%s (an IAM policy "
			    "such as AmazonSageMakerFullAccess)",
			    src, c->svc->signing_name, op);
	else if (is_throttling(code))
		sr_err_hint(err, "the service throttled every attempt (%d); try again in a minute",
			    S3_MAX_ATTEMPTS);
	else if (!strcmp(code, "ResourceLimitExceeded"))
		sr_err_hint(err, "ask for a higher quota (Service Quotas), use fewer or smaller "
				 "instances, or wait for running jobs to end");
	else if (!strcmp(code, "ResourceInUse"))
		sr_err_hint(err, "job names are unique per account and region: choose another "
				 "--name");
	else if (!strcmp(code, "ValidationException") && !strncmp(op, "Create", 6))
		sr_err_hint(err, "the service refused the request as sent: fix what it names "
				 "(--dry-run prints the request without sending it)");
	else if (status >= 500)
		sr_err_hint(err, "the service failed every attempt (%d); try again later",
			    S3_MAX_ATTEMPTS);
}

int aws_json_call(struct aws_json_client *c, const char *op, json_t *req, json_t **ret,
		  struct sr_error *err)
{
	_cleanup_free_ char *target = xasprintf("%s.%s", c->svc->target_prefix, op);
	_cleanup_free_ char *body = req ? json_dumps(req, JSON_COMPACT) : xstrdup("{}");
	struct xfer_api api = {c->url, c->host, c->svc->signing_name, target, api_throttled};
	struct xfer x;
	char code[128], msg[1024];
	json_t *answer;
	int r;

	c->code[0] = '\0';
	if (!body)
		return sr_err(err, -ENOMEM, "%s %s: format the request", c->svc->title, op);
	s3_xfer_init(&x, "POST", NULL, NULL);
	x.api = &api;
	x.body_mem = body;
	x.body_len = strlen(body);
	r = s3_run_one(c->s3, &x, err);
	if (r < 0) {
		s3_xfer_release(&x);
		return r;
	}
	if (x.rc != CURLE_OK) {
		r = sr_err(err, -EIO, "%s %s: %s: %s (after %d attempt%s)", c->svc->title, op,
			   c->url, curl_easy_strerror(x.rc), x.attempts,
			   x.attempts == 1 ? "" : "s");
		s3_xfer_release(&x);
		return r;
	}
	if (!s3_xfer_ok(&x)) {
		aws_json_error_parse(x.mem, code, sizeof(code), msg, sizeof(msg));
		snprintf(c->code, sizeof(c->code), "%s", code);
		r = code_errno(code);
		if (code[0])
			sr_err(err, r, "%s %s: %s%s%s", c->svc->title, op, code, msg[0] ? ": " : "",
			       msg);
		else
			sr_err(err, r, "%s %s: HTTP %ld from %s", c->svc->title, op, x.status,
			       c->url);
		add_hint(c, op, code, x.status, err);
		s3_xfer_release(&x);
		return r;
	}
	answer = x.mem_len ? json_loads(x.mem, 0, NULL) : json_object();
	s3_xfer_release(&x);
	if (!json_is_object(answer)) {
		json_decref(answer);
		return sr_err(err, -EPROTO, "%s %s: the answer is not a JSON object", c->svc->title,
			      op);
	}
	*ret = answer;
	return 0;
}
