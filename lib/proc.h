/* proc.h — processes by /proc, without libvirt: the QEMU process of a domain
 * (so monitor and stop can decide while libvirtd is down) and a PID-reuse-safe
 * handle on it (PID plus start time).
 */
#ifndef FERRY_PROC_H
#define FERRY_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "deadline.h"

/* A process, exactly: a PID can be reused, a PID and start time cannot. */
struct proc_ref {
    pid_t pid;
    unsigned long long start_ticks;   /* field 22 of /proc/PID/stat */
};

/* Reads state (field 3) and start time (field 22) of /proc/PID/stat.
 * Either out pointer may be NULL. 0, or a negative errno. */
int proc_stat_read(pid_t pid, char *ret_state, unsigned long long *ret_start_ticks);

/* The QEMU process of domain name on a local qemu:///system connection, from
 * libvirt's pid file or a scan of /proc (only processes in our network
 * namespace). -ENOTSUP for any other URI, -ENOENT if there is none. */
int proc_qemu_find(const char *uri, const char *name, struct proc_ref *ret_proc);

/* True while that process (same PID and start time) exists and is no zombie. */
bool proc_alive(const struct proc_ref *proc);

/* Ends the process: SIGTERM, then SIGKILL at half of what is left of dl;
 * waits until it is gone. 0, or FERRY_E_TIMEOUT. */
int proc_kill(const struct proc_ref *proc, const deadline *dl);

/* Waits until the process is gone, until dl. 0, or FERRY_E_TIMEOUT. */
int proc_wait_gone(const struct proc_ref *proc, const deadline *dl, int64_t poll_ms);

#endif
