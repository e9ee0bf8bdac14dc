/* secret.c - credential names (secret.h). */
#include "util/secret.h"

#include <string.h>
#include <strings.h>

bool sr_name_is_credential(const char *name)
{
	static const char *const words[] = {"SECRET",	  "TOKEN",	 "PASSWORD", "PASSWD",
					    "CREDENTIAL", "PRIVATE_KEY", "API_KEY",  "APIKEY",
					    "ACCESS_KEY", NULL};

	if (!strcasecmp(name, "AWS_ACCESS_KEY_ID"))
		return true;
	for (const char *const *w = words; *w; w++)
		if (strcasestr(name, *w))
			return true;
	return false;
}
