/* hosts/internal.h - declarations shared by the files of hosts/ only. */
#ifndef SR_HOSTS_INTERNAL_H
#define SR_HOSTS_INTERNAL_H

#include "hosts/hosts.h"

/* One const instance per backend file, listed in hosts.c. */
extern const struct host_backend host_backend_process;

#endif
