#include "s3/creds.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "s3/http.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

#define CONTAINER_HOST "http://169.254.170.2"
#define IMDS_DEFAULT   "http://169.254.169.254"
/* Metadata services answer at once or not at all (botocore's default is 1 s). */
#define METADATA_TIMEOUT_MS 1000

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static char *home_file(const char *override_env, const char *rel)
{
	const char *o = env(override_env);
	const char *home = env("HOME");

	if (o)
		return xstrdup(o);
	return xasprintf("%s/%s", home ? home : "/root", rel);
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

char *s3_ini_get(const char *path, const char *section, const char *key)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[4096];
	bool in = false;
	char *found = NULL;

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		char *l = trim(line), *eq;

		if (!*l || *l == '#' || *l == ';')
			continue;
		if (*l == '[') {
			char *end = strchr(l, ']');

			if (end) {
				*end = '\0';
				in = !strcmp(trim(l + 1), section);
			}
			continue;
		}
		if (!in || !(eq = strchr(l, '=')))
			continue;
		*eq = '\0';
		if (!strcmp(trim(l), key)) {
			free(found);
			found = xstrdup(trim(eq + 1));
		}
	}
	explicit_bzero(line, sizeof(line));
	return found;
}

static char *profile_name(bool *explicit)
{
	const char *p = env("AWS_PROFILE");

	if (!p)
		p = env("AWS_DEFAULT_PROFILE");
	*explicit = p != NULL;
	return xstrdup(p ? p : "default");
}

/* The config file names profiles "[profile NAME]", except "[default]". */
static char *config_section(const char *profile)
{
	return !strcmp(profile, "default") ? xstrdup("default") : xasprintf("profile %s", profile);
}

static void set(struct s3_creds *c, const char *ak, const char *sk, const char *tok, char *source)
{
	c->access_key = xstrdup(ak);
	c->secret_key = xstrdup(sk);
	c->session_token = tok && *tok ? xstrdup(tok) : NULL;
	c->source = source;
}

/* "2026-12-01T18:00:00Z" -> wall ms; 0 when it does not parse. */
static int64_t parse_expiration(const char *s)
{
	struct tm tm = {0};

	if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	return (int64_t)timegm(&tm) * 1000;
}

/* The JSON both metadata services answer with. */
static int creds_from_json(struct s3_creds *c, const char *body, const char *source,
			   struct sr_error *err)
{
	_cleanup_json_ json_t *j = json_loads(body, 0, NULL);
	const char *ak = json_string_value(json_object_get(j, "AccessKeyId"));
	const char *sk = json_string_value(json_object_get(j, "SecretAccessKey"));
	const char *tok = json_string_value(json_object_get(j, "Token"));

	if (!ak || !sk)
		return sr_err(err, -EPROTO, "%s: no AccessKeyId and SecretAccessKey in its answer",
			      source);
	set(c, ak, sk, tok, xstrdup(source));
	c->expires_ms = parse_expiration(json_string_value(json_object_get(j, "Expiration")));
	return 0;
}

static int from_container(struct s3_creds *c, struct sr_error *err)
{
	const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *token = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	const char *token_file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	_cleanup_free_ char *url = NULL, *body = NULL, *file_token = NULL;
	struct strv headers = STRV_INIT;
	long status = 0;
	int r;

	if (!rel && !full)
		return 0;
	url = rel ? xasprintf(CONTAINER_HOST "%s", rel) : xstrdup(full);
	if (token_file && fs_read_file(token_file, 16384, &file_token, NULL, NULL) >= 0)
		token = trim(file_token);
	if (token)
		strv_pushf(&headers, "Authorization: %s", token);
	r = s3_http_simple("GET", url, &headers, METADATA_TIMEOUT_MS, &body, &status, err);
	strv_release(&headers);
	if (r < 0)
		return sr_err_wrap(err, "container credentials");
	if (status != 200)
		return sr_err(err, -EACCES, "container credentials: %s answered HTTP %ld", url,
			      status);
	r = creds_from_json(c, body, "container credentials", err);
	explicit_bzero(body, strlen(body));
	return r < 0 ? r : 1;
}

static int from_imds(struct s3_creds *c, struct sr_error *err)
{
	const char *base = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *off = env("AWS_EC2_METADATA_DISABLED");
	_cleanup_free_ char *root = NULL, *url = NULL, *token = NULL, *roles = NULL, *body = NULL;
	struct strv headers = STRV_INIT;
	long status = 0;
	int r;

	if (off && !strcasecmp(off, "true"))
		return 0;
	root = xstrdup(base ? base : IMDS_DEFAULT);
	if (*root && root[strlen(root) - 1] == '/')
		root[strlen(root) - 1] = '\0';
	/* IMDSv2: a session token, then the role's credentials with it. */
	url = xasprintf("%s/latest/api/token", root);
	strv_push(&headers, "X-aws-ec2-metadata-token-ttl-seconds: 21600");
	r = s3_http_simple("PUT", url, &headers, METADATA_TIMEOUT_MS, &token, &status, NULL);
	strv_release(&headers);
	if (r < 0 || status != 200)
		return 0; /* not on EC2 (or IMDS off): the chain simply ends */
	strv_pushf(&headers, "X-aws-ec2-metadata-token: %s", trim(token));
	free(url);
	url = xasprintf("%s/latest/meta-data/iam/security-credentials/", root);
	r = s3_http_simple("GET", url, &headers, METADATA_TIMEOUT_MS, &roles, &status, err);
	if (r >= 0 && status == 200 && *trim(roles)) {
		char *nl = strchr(trim(roles), '\n');

		if (nl)
			*nl = '\0';
		free(url);
		url =
		    xasprintf("%s/latest/meta-data/iam/security-credentials/%s", root, trim(roles));
		r = s3_http_simple("GET", url, &headers, METADATA_TIMEOUT_MS, &body, &status, err);
	} else if (r >= 0) {
		r = sr_err(err, -ENOKEY, "instance metadata: no IAM role on this instance");
	}
	strv_release(&headers);
	if (r < 0)
		return sr_err_wrap(err, "instance metadata credentials");
	if (status != 200)
		return sr_err(err, -EACCES, "instance metadata credentials: HTTP %ld", status);
	r = creds_from_json(c, body, "instance metadata (IMDSv2)", err);
	explicit_bzero(body, strlen(body));
	return r < 0 ? r : 1;
}

/* The profile's keys in one file; 1 when found. */
static int from_file(struct s3_creds *c, const char *path, const char *section, const char *profile,
		     struct sr_error *err)
{
	_cleanup_free_ char *ak = s3_ini_get(path, section, "aws_access_key_id");
	_cleanup_free_ char *sk = s3_ini_get(path, section, "aws_secret_access_key");
	_cleanup_free_ char *tok = s3_ini_get(path, section, "aws_session_token");

	if (!tok)
		tok = s3_ini_get(path, section, "aws_security_token");
	if (!ak && !sk)
		return 0;
	if (!ak || !sk) {
		sr_err(err, -EINVAL, "profile %s in %s has %s but no %s", profile, path,
		       ak ? "aws_access_key_id" : "aws_secret_access_key",
		       ak ? "aws_secret_access_key" : "aws_access_key_id");
		if (sk)
			explicit_bzero(sk, strlen(sk));
		return -EINVAL;
	}
	set(c, ak, sk, tok, xasprintf("profile %s in %s", profile, path));
	explicit_bzero(sk, strlen(sk));
	if (tok)
		explicit_bzero(tok, strlen(tok));
	return 1;
}

int s3_creds_load(struct s3_creds *c, struct sr_error *err)
{
	bool explicit_profile;
	_cleanup_free_ char *profile = profile_name(&explicit_profile);
	_cleanup_free_ char *cred_file =
	    home_file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
	_cleanup_free_ char *conf_file = home_file("AWS_CONFIG_FILE", ".aws/config");
	_cleanup_free_ char *section = config_section(profile);
	const char *ak = env("AWS_ACCESS_KEY_ID"), *sk = env("AWS_SECRET_ACCESS_KEY");
	int r;

	memset(c, 0, sizeof(*c));
	if (!explicit_profile && ak && sk) {
		const char *tok = env("AWS_SESSION_TOKEN");

		set(c, ak, sk, tok ? tok : env("AWS_SECURITY_TOKEN"),
		    xstrdup("environment (AWS_ACCESS_KEY_ID)"));
		return 0;
	}
	r = from_file(c, cred_file, profile, profile, err);
	if (r == 0)
		r = from_file(c, conf_file, section, profile, err);
	if (r == 0)
		r = from_container(c, err);
	if (r == 0)
		r = from_imds(c, err);
	if (r > 0)
		return 0;
	if (r < 0)
		return r;
	sr_err(err, -ENOKEY,
	       "no AWS credentials: not in the environment (AWS_ACCESS_KEY_ID), "
	       "not in profile %s of %s or %s, no container or instance credentials",
	       profile, cred_file, conf_file);
	return sr_err_hint(err, "export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or set "
				"AWS_PROFILE to a profile of ~/.aws/credentials");
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void s3_creds_release(struct s3_creds *c)
{
	if (!c)
		return;
	free(c->access_key);
	wipe_free(c->secret_key);
	wipe_free(c->session_token);
	free(c->source);
	memset(c, 0, sizeof(*c));
}

int s3_config_load(struct s3_config *cfg, struct sr_error *err)
{
	return s3_config_load_for(cfg, "AWS_ENDPOINT_URL_S3", err);
}

int s3_config_load_for(struct s3_config *cfg, const char *endpoint_env, struct sr_error *err)
{
	bool explicit_profile;
	_cleanup_free_ char *conf_file = home_file("AWS_CONFIG_FILE", ".aws/config");
	_cleanup_free_ char *section = NULL;
	const char *v;

	(void)err;
	memset(cfg, 0, sizeof(*cfg));
	cfg->profile = profile_name(&explicit_profile);
	section = config_section(cfg->profile);
	if ((v = env("AWS_REGION")) || (v = env("AWS_DEFAULT_REGION")))
		cfg->region = xstrdup(v);
	else
		cfg->region = s3_ini_get(conf_file, section, "region");
	if (!cfg->region || !*cfg->region) {
		free(cfg->region);
		cfg->region = xstrdup("us-east-1");
	}
	if ((v = env(endpoint_env)) || (v = env("AWS_ENDPOINT_URL")))
		cfg->endpoint = xstrdup(v);
	else
		cfg->endpoint = s3_ini_get(conf_file, section, "endpoint_url");
	if (cfg->endpoint && !*cfg->endpoint) {
		free(cfg->endpoint);
		cfg->endpoint = NULL;
	}
	if (cfg->endpoint) {
		size_t n = strlen(cfg->endpoint);

		while (n && cfg->endpoint[n - 1] == '/')
			cfg->endpoint[--n] = '\0';
		cfg->path_style = true; /* custom endpoints: bucket in the path */
	}
	return 0;
}

void s3_config_release(struct s3_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->profile);
	free(cfg->region);
	free(cfg->endpoint);
	memset(cfg, 0, sizeof(*cfg));
}
