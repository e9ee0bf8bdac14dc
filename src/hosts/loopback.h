/* loopback.h - --network host on the ns backend: each job's hosts at loopback addresses of
 * their own.
 *
 * Hosts that share this machine's network still need addresses of their own (algo-2 is not
 * algo-1, and each host's rsh agent listens on one port at its own address).  Host i of a job
 * is 127.A.x.y with x.y = i + 1; the block A is the job's.  Two jobs at once must not share a
 * block, or the second one's agents find their port taken and its programs reach the first
 * one's hosts: a job claims the first free block by binding an abstract unix socket named
 * "sagerun-loopback-A" and holding it for its life.  Abstract names belong to the network
 * namespace, as the addresses do, and have no port another program could hold; the kernel
 * keeps the claim: no file to clean up, and a SIGKILLed supervisor's block is free at once.
 */
#ifndef SR_HOSTS_LOOPBACK_H
#define SR_HOSTS_LOOPBACK_H

#include <stddef.h>

struct sr_error;

#define LOOPBACK_FIRST_BLOCK 100 /* 127.100.0.1 is algo-1 of the first job */
#define LOOPBACK_LAST_BLOCK  254
#define LOOPBACK_HOSTS_MAX   65534		 /* x.y from 0.1 to 255.255, less the claim's 0.0 */
#define LOOPBACK_CLAIM_NAME  "sagerun-loopback-" /* then the block */

/* Claim the first free block: the claim's fd (close-on-exec; closing it gives the block back)
 * and the block in *ret_block, or a negative errno and err when every block is taken or the
 * machine refuses the socket.  Any user's job claims alike (no privilege needed). */
int loopback_claim(unsigned *ret_block, struct sr_error *err);

/* Host `index`'s (0-based) address in `block`, allocated. */
char *loopback_host_addr(unsigned block, size_t index);

#endif
