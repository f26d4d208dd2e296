/* vm.h — the resource: one virtual machine as the cluster sees it.
 *
 * Resolves which libvirt domain the parameters mean (config file, name, or the
 * identity this node recorded at its last start) and carries out the OCF
 * actions on it. Returns 0 or a negative code with a ferry_error; the agent
 * maps results to OCF exit codes.
 */
#ifndef FERRY_VM_H
#define FERRY_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "deadline.h"
#include "error.h"
#include "params.h"

enum vm_status {
    VM_STATUS_STOPPED,    /* certainly not running on this node */
    VM_STATUS_RUNNING,
    VM_STATUS_DEGRADED,   /* active, but paused or suspended by someone */
    VM_STATUS_FAILED,     /* active but broken: I/O error, crashed, a stale incoming migration */
};

struct vm_monitor_result {
    enum vm_status status;
    char name[256];
    char detail[256];     /* human-readable: "paused (I/O error)" */
};

enum vm_stop_how {
    VM_STOP_WAS_STOPPED,  /* nothing to do */
    VM_STOP_GRACEFUL,     /* the guest shut down when asked */
    VM_STOP_DESTROYED,    /* destroyed (forced, paused, or graceful budget ran out) */
    VM_STOP_SAVED,        /* its memory saved to the 'snapshot' directory */
};

struct vm_stop_result {
    enum vm_stop_how how;
    char name[256];
    int64_t graceful_budget_ms;  /* what the guest was given */
    int64_t elapsed_ms;
    char note[512];              /* how it was decided without libvirt, or a save's fate, or "" */
};

struct vm_start_result {
    char name[256];
    char how[64];         /* "already running", "created", "resumed", ... */
};

struct vm_reload_result {
    char name[256];
    bool running;         /* the domain runs here: its record was refreshed */
    char detail[256];     /* what this node could not check or refresh, or "" */
};

/* validate-all: parameters, and the config file when set (without libvirt). */
int vm_validate(const struct ferry_params *params, ferry_error **err);

int vm_monitor(const struct ferry_params *params, const deadline *dl,
               struct vm_monitor_result *ret_result, ferry_error **err);

int vm_start(const struct ferry_params *params, const deadline *dl,
             struct vm_start_result *ret_result, ferry_error **err);

int vm_stop(const struct ferry_params *params, const deadline *dl,
            struct vm_stop_result *ret_result, ferry_error **err);

/* reload-agent: the reloadable parameters changed. Re-validates them (as
 * validate-all: a value wrong in itself is FERRY_E_CONFIG), and where the
 * domain runs here refreshes this node's record of it (state file, and the
 * utilization, published again in case an autoset_utilization_* parameter
 * changed). Never touches the guest: the new values take effect in the actions
 * that follow (migrate_to, monitor, stop). What this node cannot see now (the
 * config file, libvirt) or a domain not running here is not a failure: 0,
 * with the reason in detail. */
int vm_reload(const struct ferry_params *params, const deadline *dl,
              struct vm_reload_result *ret_result, ferry_error **err);

/* The stop's graceful budget: shutdown_timeout if set, but always keeping a
 * reserve of the remaining time for destroy and its verification. */
int64_t vm_stop_graceful_budget_ms(int64_t shutdown_timeout_ms, int64_t remaining_ms);

#endif
