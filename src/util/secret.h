/* secret.h - which environment variables hold credentials, judged by their names. */
#ifndef SR_UTIL_SECRET_H
#define SR_UTIL_SECRET_H

#include <stdbool.h>

/* AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, DB_PASSWORD, hf_token,
 * GOOGLE_CREDENTIALS, WANDB_API_KEY, MINIO_ACCESS_KEY...: any name that contains SECRET,
 * TOKEN, PASSWORD, PASSWD, CREDENTIAL, PRIVATE_KEY, API_KEY, APIKEY or ACCESS_KEY in any
 * case, and AWS_ACCESS_KEY_ID (half of a key pair).  Generous on
 * purpose: a harmless value hidden costs less than a secret shown. */
bool sr_name_is_credential(const char *name);

#endif
