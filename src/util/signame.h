/* signame.h - a signal's name as users read it ("SIGTERM"), in one place. */
#ifndef SR_UTIL_SIGNAME_H
#define SR_UTIL_SIGNAME_H

/* "SIG" + the abbreviation (sigabbrev_np: "SIGTERM", "SIGKILL"); a real-time signal as
 * "SIGRTMIN" or "SIGRTMIN+N" (as kill -l); anything else as its number ("99").  Writes into
 * `buf` and returns it.  Never fails; not async-signal-safe (snprintf). */
const char *sr_signame(int sig, char buf[static 32]);

#endif
