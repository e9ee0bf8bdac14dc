/* ssh.h - the training toolkit's ssh way of running MPI across hosts (reference §2.9), for
 * images built for it: `--mpi-launcher ssh`, or SAGERUN_MPI_LAUNCHER=ssh in the job's
 * environment, or no sagerun agent config in a container that has /usr/sbin/sshd.
 *
 * What the toolkit does, and so what we do:
 *   - every host starts `/usr/sbin/sshd -D` (we add -e: its log goes to the host's log, there
 *     is no syslog in a container);
 *   - the master waits for every other host's sshd, then runs mpirun with Open MPI's own ssh
 *     launcher, then `ssh HOST touch /tmp/done.<master>` on each other host;
 *   - the other hosts wait for the master's sshd, append their environment to
 *     /etc/environment (so that an ssh session, through sshd's PAM, finds the image's PATH
 *     and with it orted), start sshd and wait for /tmp/done.<master>.
 * Where we differ, and why:
 *   - the toolkit's wait is a full paramiko login; ours waits for each sshd's "SSH-" banner,
 *     then logs in once with `ssh -o BatchMode=yes HOST true`, so that missing keys are an
 *     error that says so at once rather than an hour of retries;
 *   - the master tells the other hosts even when mpirun failed (the toolkit leaves them to
 *     notice that the master is gone), and does not sleep 30 s afterwards;
 *   - credentials (every name util/secret.h calls one: AWS_SECRET_ACCESS_KEY, HF_TOKEN,
 *     WANDB_API_KEY...) are not written to /etc/environment, a file any user may read:
 *     mpirun forwards them to the ranks by name (-x NAME) instead;
 *   - the other hosts also give up when the master's sshd stops answering for a minute
 *     (the toolkit checks every 120 s), so that on the real service a master that failed
 *     before it could tell them does not leave them waiting;
 *   - sshd stops with the runtime: nothing is left running.
 * The hosts must be containers: sshd, /etc and /root/.ssh must be the host's own.  The ns and
 * process backends share this machine's, so there the runner refuses (CONTRACT_AGENT_SERVED_ENV or
 * CONTRACT_HOST_GROUP_ENV set).
 */
#ifndef SR_RUNTIME_SSH_H
#define SR_RUNTIME_SSH_H

#include <stdbool.h>
#include <sys/types.h>

#include "util/strv.h"

struct sr_error;

#define RT_SSHD_PATH	   "/usr/sbin/sshd"
#define RT_SSH_PORT	   22
#define RT_SSH_WAIT_S	   3600 /* the toolkit's overall wait for the other hosts' sshd */
#define RT_SSH_DONE_FMT	   "/tmp/done.%s"
#define RT_SSH_ENVIRONMENT "/etc/environment"
/* The toolkit's setup of an image (its RuntimeError when sshd is missing). */
#define RT_SSH_IMAGE_HINT                                                                          \
	"the image needs: apt-get install openssh-server openssh-client; mkdir -p /var/run/sshd; " \
	"ssh-keygen -q -t rsa -N '' -f /root/.ssh/id_rsa; cp /root/.ssh/id_rsa.pub "               \
	"/root/.ssh/authorized_keys; printf 'Host *\\n  StrictHostKeyChecking no\\n' >> "          \
	"/root/.ssh/config"

/* Start `sshd -D -e` (at `sshd_path`, NULL: RT_SSHD_PATH) as our child, with the default
 * signal actions; it gets SIGTERM when we die.  Waits up to `wait_ms` for it to greet on
 * 127.0.0.1:22.  Its pid, or < 0 (no sshd there, or it exited first: its log says why). */
#define RT_SSHD_START_MS 10000
pid_t rt_sshd_start(const char *sshd_path, int wait_ms, int log_fd, struct sr_error *err);
/* SIGTERM and reap it; pid <= 0 is nothing. */
void rt_sshd_stop(pid_t pid);

/* A host name fit for an ssh command line and the remote shell: letters, digits, '.', '-'
 * and '_', not starting with '-'. */
bool rt_ssh_host_ok(const char *host);

/* Wait until `host`:`port` answers with an SSH banner, for at most `timeout_s` seconds; a
 * stop (rt_child_catch_stops) ends the wait with -EINTR. */
int rt_ssh_wait_banner(const char *host, int port, int timeout_s, struct sr_error *err);

/* `ssh -o BatchMode=yes -o ConnectTimeout=10 HOST CMD...` with `envp`, stderr to err_fd;
 * *ret_status is its wait status.  < 0 only when ssh could not be started. */
int rt_ssh_run(const char *host, char *const *cmd, char *const *envp, int err_fd, int *ret_status,
	       char **ret_tail, struct sr_error *err);

/* Log in to `host` once (`true`): an error naming the host, with ssh's last lines and the
 * toolkit's image setup as hint, when that fails. */
int rt_ssh_check_login(const char *host, char *const *envp, int err_fd, struct sr_error *err);

/* Append every NAME=value of `env` without a newline in it, credentials left out, to `path`
 * (atomically: the old content plus ours, then a rename). */
int rt_ssh_write_environment(const char *path, const struct strv *env, struct sr_error *err);

#endif
