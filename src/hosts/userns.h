/* userns.h - rootless hosts: sagerun's own user namespace, as podman and rootless Docker make.
 *
 * A normal user may not make PID, mount, UTS, IPC or network namespaces, but may make a user
 * namespace (where the machine allows it) and, inside, every other kind: they then belong to
 * it, and root inside it has every capability over them and none over the machine.  The
 * supervisor of an ns job steps into one of its own before anything of the job is made (the
 * caller's uid is root inside), so that the hosts' namespaces, the job's network, the
 * bridge and the veths are made exactly as under root; nothing outlives the job, since the
 * namespace dies with its last process.
 *
 * The kernel refuses a user namespace to a process with more than one thread: it is entered
 * while the supervisor has only one (before the ns backend's network thread starts).
 */
#ifndef SR_HOSTS_USERNS_H
#define SR_HOSTS_USERNS_H

#include <stdbool.h>

struct sr_error;

/* Whether this process stepped into a user namespace of its own (userns_enter). */
bool userns_entered(void);

/* Step into a new user namespace, the caller's uid and gid root inside: with the caller's
 * ranges of /etc/subuid and /etc/subgid above them when there are some and newuidmap and
 * newgidmap are installed, else the one id.  Idempotent.  Fails (with why_not's words)
 * where the machine forbids user namespaces, or with -EBUSY when another thread runs. */
int userns_enter(struct sr_error *err);

/* Whether a user namespace and, in it, the namespaces of a host can be made here: NULL, or
 * why not in one line with what to change (static or in a static buffer; not thread-safe).
 * Tried in a child, which leaves this process where it is. */
const char *userns_probe(void);

#endif
