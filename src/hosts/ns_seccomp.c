/* ns_seccomp.c - the seccomp filter of a contained ns host: what Docker's default profile
 * refuses a container that has Docker's default capabilities.
 *
 * Our own BPF program rather than libseccomp's: the filter is a short list known when sagerun
 * is built (the syscall numbers of the kernel headers), it must be made by the host's init,
 * which may only make async-signal-safe calls (no allocation: libseccomp allocates), and the
 * static binary (docs/static.md) then needs no library more.
 *
 * Docker's profile is an allow-list with EPERM for the rest; this is the same refusals as a
 * deny-list, with everything else allowed: a syscall newer than this list is allowed here
 * where Docker's profile may refuse it (docs/contract.md's table says so).  The refused ones:
 * the kernel's module, clock, swap, reboot, keyring, accounting, BPF, perf and quota calls;
 * mount and the new mount API, pivot_root, setns and unshare, clone and clone3 with a new
 * namespace (clone3 says ENOSYS, so that the C library falls back to clone, whose flags the
 * filter can read); personalities but the plain ones; NUMA policy; the handle-based opens;
 * userfaultfd; io_uring (whose requests no filter sees; Docker refuses it since 25.0); the
 * calls that reach into another process without ptrace's checks, which Docker allows only
 * with CAP_SYS_PTRACE (pidfd_getfd would take init's fds, its status pipe among them: kcmp,
 * process_madvise too); the LSM calls; socket(AF_VSOCK); the 32-bit and x32 entry points
 * (their numbers mean other calls); the ioctls TIOCSTI and TIOCLINUX, which type into a
 * terminal (runc and bubblewrap refuse them too).
 */
#include "hosts/internal.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#endif

/* Linux 6.8's LSM calls, one number on every architecture; older headers lack them. */
#ifndef __NR_lsm_get_self_attr
#define __NR_lsm_get_self_attr 459
#define __NR_lsm_set_self_attr 460
#define __NR_lsm_list_modules  461
#endif

/* Vsock's address family: a socket to the hypervisor, which Docker's profile refuses. */
#define SR_AF_VSOCK 40

/* The namespace flags of clone that Docker's profile refuses (CAP_SYS_ADMIN's). */
#define NEW_NS_FLAGS                                                                               \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |             \
	 CLONE_NEWPID | CLONE_NEWNET)

static const int refused[] = {
#define R(name) __NR_##name
#ifdef __NR_acct
    R(acct),
#endif
#ifdef __NR_add_key
    R(add_key),
#endif
#ifdef __NR_bpf
    R(bpf),
#endif
#ifdef __NR_clock_adjtime
    R(clock_adjtime),
#endif
#ifdef __NR_clock_settime
    R(clock_settime),
#endif
#ifdef __NR_create_module
    R(create_module),
#endif
#ifdef __NR_delete_module
    R(delete_module),
#endif
#ifdef __NR_fanotify_init
    R(fanotify_init),
#endif
#ifdef __NR_finit_module
    R(finit_module),
#endif
#ifdef __NR_fsconfig
    R(fsconfig),
#endif
#ifdef __NR_fsmount
    R(fsmount),
#endif
#ifdef __NR_fsopen
    R(fsopen),
#endif
#ifdef __NR_fspick
    R(fspick),
#endif
#ifdef __NR_get_kernel_syms
    R(get_kernel_syms),
#endif
#ifdef __NR_get_mempolicy
    R(get_mempolicy),
#endif
#ifdef __NR_init_module
    R(init_module),
#endif
#ifdef __NR_io_uring_enter
    R(io_uring_enter),
#endif
#ifdef __NR_io_uring_register
    R(io_uring_register),
#endif
#ifdef __NR_io_uring_setup
    R(io_uring_setup),
#endif
#ifdef __NR_ioperm
    R(ioperm),
#endif
#ifdef __NR_iopl
    R(iopl),
#endif
#ifdef __NR_kcmp
    R(kcmp),
#endif
#ifdef __NR_kexec_file_load
    R(kexec_file_load),
#endif
#ifdef __NR_kexec_load
    R(kexec_load),
#endif
#ifdef __NR_keyctl
    R(keyctl),
#endif
#ifdef __NR_lookup_dcookie
    R(lookup_dcookie),
#endif
#ifdef __NR_lsm_get_self_attr
    R(lsm_get_self_attr),
#endif
#ifdef __NR_lsm_list_modules
    R(lsm_list_modules),
#endif
#ifdef __NR_lsm_set_self_attr
    R(lsm_set_self_attr),
#endif
#ifdef __NR_mbind
    R(mbind),
#endif
#ifdef __NR_migrate_pages
    R(migrate_pages),
#endif
#ifdef __NR_mount
    R(mount),
#endif
#ifdef __NR_mount_setattr
    R(mount_setattr),
#endif
#ifdef __NR_move_mount
    R(move_mount),
#endif
#ifdef __NR_move_pages
    R(move_pages),
#endif
#ifdef __NR_name_to_handle_at
    R(name_to_handle_at),
#endif
#ifdef __NR_nfsservctl
    R(nfsservctl),
#endif
#ifdef __NR_open_by_handle_at
    R(open_by_handle_at),
#endif
#ifdef __NR_open_tree
    R(open_tree),
#endif
#ifdef __NR_perf_event_open
    R(perf_event_open),
#endif
#ifdef __NR_pidfd_getfd
    R(pidfd_getfd),
#endif
#ifdef __NR_pivot_root
    R(pivot_root),
#endif
#ifdef __NR_process_madvise
    R(process_madvise),
#endif
#ifdef __NR_query_module
    R(query_module),
#endif
#ifdef __NR_quotactl
    R(quotactl),
#endif
#ifdef __NR_quotactl_fd
    R(quotactl_fd),
#endif
#ifdef __NR_reboot
    R(reboot),
#endif
#ifdef __NR_request_key
    R(request_key),
#endif
#ifdef __NR_set_mempolicy
    R(set_mempolicy),
#endif
#ifdef __NR_set_mempolicy_home_node
    R(set_mempolicy_home_node),
#endif
#ifdef __NR_setns
    R(setns),
#endif
#ifdef __NR_settimeofday
    R(settimeofday),
#endif
#ifdef __NR_stime
    R(stime),
#endif
#ifdef __NR_swapoff
    R(swapoff),
#endif
#ifdef __NR_swapon
    R(swapon),
#endif
#ifdef __NR__sysctl
    R(_sysctl),
#endif
#ifdef __NR_sysfs
    R(sysfs),
#endif
#ifdef __NR_syslog
    R(syslog),
#endif
#ifdef __NR_umount
    R(umount),
#endif
#ifdef __NR_umount2
    R(umount2),
#endif
#ifdef __NR_unshare
    R(unshare),
#endif
#ifdef __NR_uselib
    R(uselib),
#endif
#ifdef __NR_userfaultfd
    R(userfaultfd),
#endif
#ifdef __NR_ustat
    R(ustat),
#endif
#ifdef __NR_vm86
    R(vm86),
#endif
#ifdef __NR_vm86old
    R(vm86old),
#endif
#undef R
};

/* The personalities Docker's profile allows: Linux, and with UNAME26 or PER_LINUX32
 * (0xffffffff queries the current one). */
static const unsigned personalities[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

#define NR_OFF	 offsetof(struct seccomp_data, nr)
#define ARCH_OFF offsetof(struct seccomp_data, arch)
/* The low 32 bits of the first argument (little-endian): clone's flags, personality's. */
#define ARG0_OFF offsetof(struct seccomp_data, args[0])
/* The low 32 bits of the second: ioctl's request. */
#define ARG1_OFF offsetof(struct seccomp_data, args[1])

#define STMT(code, k) ((struct sock_filter){(unsigned short)(code), 0, 0, (unsigned)(k)})
#define JUMP(code, k, jt, jf)                                                                      \
	((struct sock_filter){(unsigned short)(code), (unsigned char)(jt), (unsigned char)(jf),    \
			      (unsigned)(k)})
#define DENY(e) STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((e)&SECCOMP_RET_DATA))
#define ALLOW	STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

int ns_seccomp_install(void)
{
	static struct sock_filter f[2 * (sizeof(refused) / sizeof(refused[0])) + 48];
	struct sock_fprog prog;
	size_t n = 0;

	/* no_new_privs first, on every architecture: the kernel takes a filter from a process
	 * without CAP_SYS_ADMIN only then, and the host's processes get it anyway (ns_init.c). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return errno;
#ifndef NATIVE_ARCH
	(void)f;
	(void)prog;
	(void)n;
	return 0; /* an architecture this list was not written for: no filter */
#else
	f[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, ARCH_OFF);
	f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0);
	f[n++] = DENY(ENOSYS);
	f[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, NR_OFF);
#ifdef __x86_64__
	/* x32's numbers have bit 30 set, and reach the same calls by another number. */
	f[n++] = JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1);
	f[n++] = DENY(EPERM);
#endif
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, refused[i], 0, 1);
		f[n++] = DENY(EPERM);
	}
	f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1);
	f[n++] = DENY(ENOSYS);
	/* clone: refused with a namespace flag. */
	f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 4);
	f[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_OFF);
	f[n++] = JUMP(BPF_JMP | BPF_JSET | BPF_K, NEW_NS_FLAGS, 0, 1);
	f[n++] = DENY(EPERM);
	f[n++] = ALLOW;
	/* socket: not to the hypervisor. */
	f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 4);
	f[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_OFF);
	f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, SR_AF_VSOCK, 0, 1);
	f[n++] = DENY(EPERM);
	f[n++] = ALLOW;
	/* ioctl: not the two that type into a terminal (the request is an unsigned int). */
	f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 5);
	f[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, ARG1_OFF);
	f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, 1, 0);
	f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCLINUX, 0, 1);
	f[n++] = DENY(EPERM);
	f[n++] = ALLOW;
	/* personality: the plain ones only. */
	f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_personality, 0,
		      (unsigned char)(sizeof(personalities) / sizeof(personalities[0]) + 2));
	f[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_OFF);
	for (size_t i = 0; i < sizeof(personalities) / sizeof(personalities[0]); i++)
		f[n++] =
		    JUMP(BPF_JMP | BPF_JEQ | BPF_K, personalities[i],
			 (unsigned char)(sizeof(personalities) / sizeof(personalities[0]) - i), 0);
	f[n++] = DENY(EPERM);
	f[n++] = ALLOW;
	prog.len = (unsigned short)n;
	prog.filter = f;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0 ? errno : 0;
#endif
}
