/* snapshot.h — rgmanager's 'snapshot' directory: stop saves the guest's
 * memory there, the next start (on any node) restores it.
 *
 * Nothing in an image is trusted: a restore always uses the config's (or
 * libvirt's stored) definition, the directory must be root's and not
 * writable by others, temporary names are per node, only a guest whose
 * memory is whole is saved, and only images older than this node's copy of
 * the guest are retired.
 */
#ifndef FERRY_SNAPSHOT_H
#define FERRY_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

#include "deadline.h"
#include "error.h"
#include "ident.h"
#include "params.h"
#include "virt.h"
#include "vm.h"

/* DIR/<prefix>NAME<suffix> into buf; -ENAMETOOLONG if it does not fit. */
int snapshot_path(const struct ferry_params *p, const char *name, const char *prefix,
                  const char *suffix, char *buf, size_t size);

/* The directory can be trusted (exists, root's or ours, not group/other
 * writable): 0, or FERRY_E_INSTALLED with the reason. */
int snapshot_dir_check(const struct ferry_params *p, ferry_error **err);

/* start with an image at path: restore it with the resource's definition,
 * then remove it. */
int snapshot_restore(virt_conn *conn, const struct ident *id, const struct virt_domain_info *info,
                     const struct ferry_params *p, const char *path, struct vm_start_result *r,
                     ferry_error **err);

/* stop: save the guest instead of shutting it down. True when saved;
 * otherwise why not is in note and the caller stops it the usual way. */
bool snapshot_save(virt_conn *conn, const struct ident *id, const struct virt_domain_info *info,
                   const struct ferry_params *p, const deadline *dl, char *note, size_t note_size);

/* An image older than this node's copy of the guest no longer matches its
 * disks: renamed NAME.stale (never restored). */
void snapshot_retire(const struct ferry_params *p, const char *name, const char *why);

#endif
