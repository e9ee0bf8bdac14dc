#include "util/signame.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

const char *sr_signame(int sig, char buf[static 32])
{
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev)
		snprintf(buf, 32, "SIG%s", abbrev);
	else if (sig == SIGRTMIN)
		snprintf(buf, 32, "SIGRTMIN");
	else if (sig > SIGRTMIN && sig <= SIGRTMAX)
		snprintf(buf, 32, "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(buf, 32, "%d", sig);
	return buf;
}
