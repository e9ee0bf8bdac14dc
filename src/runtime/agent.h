/* agent.h - the per-host agent that lets mpirun start processes on other hosts without sshd.
 *
 * Every host of a job runs `sagerun container agent`: a small TCP server on a port of the
 * address SM_CURRENT_HOST resolves to (the host's eth0 address in the ns backend, its own
 * 127.A.x.y with --network host (hosts/loopback.h), the container's address on the real
 * service).  mpirun's launch agent is `sagerun container rsh HOST CMD...` (rsh.h), which
 * connects to it.
 *
 * Trust: the launcher writes <opt_ml>/input/config/sagerun-agent.json = {"port": P, "secret":
 * "<64 hex>"}, mode 0600, with the SAME fresh secret for every host of a job.  A connection
 * must answer an HMAC-SHA256 challenge keyed with that secret, and the agent proves itself in
 * turn (wire.h has the exchange).  The secret never appears on a command line, in a log or in
 * an error; a peer that fails is logged as one line with its address only.
 *
 * Per accepted connection the agent forks one child (no threads), which authenticates, reads
 * the argv, and runs `/bin/sh -c "<argv joined with spaces>"` - exactly what sshd does with an
 * ssh command line, and what Open MPI relies on (its final_cmd is a shell string such as
 * "PATH=...; export PATH; .../orted").  This is the one deliberate shell in sagerun: it runs
 * what mpirun built, for a peer that proved it belongs to the job, as sshd would.  The command
 * runs in the agent's environment (the host's SM_* etc.), in $HOME (else /), in a process group
 * of its own; stdin/stdout/stderr travel as frames; the wait status comes back in an EXIT frame.
 * If the client goes away first, the whole group gets SIGHUP, then SIGKILL a second later:
 * nothing is left behind.  The agent reaps its children through a signalfd.
 */
#ifndef SR_RUNTIME_AGENT_H
#define SR_RUNTIME_AGENT_H

#include <stdbool.h>

struct sr_error;

#define RT_AGENT_CONFIG_DIR  "/opt/ml/input/config"
#define RT_AGENT_CONFIG_NAME "sagerun-agent.json"
/* A file path that overrides <config dir>/sagerun-agent.json (tests, odd images). */
#define RT_AGENT_CONFIG_ENV "SAGERUN_AGENT_CONFIG"
#define RT_AGENT_PORT	    7099

/* A fresh random secret as 64 lowercase hex digits (getrandom). */
int rt_agent_secret_new(char hex[65], struct sr_error *err);

/* Write <opt_ml>/input/config/sagerun-agent.json (mode 0600, atomically). */
int rt_agent_config_write(const char *opt_ml, int port, const char *secret_hex,
			  struct sr_error *err);

/* The config file to read: $SAGERUN_AGENT_CONFIG if set, else <config_dir or the default>/
 * sagerun-agent.json.  Caller frees. */
char *rt_agent_config_path(const char *config_dir);

/* Read a config file: port and the 32-byte secret.  Errors name the file, never the secret. */
int rt_agent_config_read_file(const char *path, int *port, unsigned char secret[32],
			      struct sr_error *err);
/* The same for rt_agent_config_path(config_dir). */
int rt_agent_config_read(const char *config_dir, int *port, unsigned char secret[32],
			 struct sr_error *err);

struct rt_agent_opts {
	const char *config_path; /* NULL: rt_agent_config_path(NULL) */
	const char *host;	 /* address to bind; NULL: $SM_CURRENT_HOST */
	int ready_fd;		 /* >= 0: one byte is written here once listening, then closed */
	int log_fd;		 /* where the one-line logs go (stderr in the CLI) */
	/* >= 0: a socket already listening on the host's address (socket activation: the ns
	 * backend's init binds it before the user's process starts and execs the agent at the
	 * first client); the config's port is then not bound again.  -1: bind it here. */
	int listen_fd;
};

/* Serve until SIGTERM, SIGINT or SIGHUP (then 0).  Blocks those signals and SIGCHLD in the
 * calling process and reads them from a signalfd. */
int rt_agent_serve(const struct rt_agent_opts *o, struct sr_error *err);

#endif
