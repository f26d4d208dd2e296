/* migration-priv.h — migration.c's seams for the tests (libvirt's
 * *priv.h convention): not for other modules. */
#ifndef FERRY_MIGRATION_PRIV_H
#define FERRY_MIGRATION_PRIV_H

#include "migrate.h"
#include "params.h"
#include "virt.h"

/* The migrate call's settings from the parameters and the target (pure):
 * persist_xml is the definition to persist on the target (persistent=true). */
void migration_spec(const struct ferry_params *p, const struct migrate_target *t,
                    const char *persist_xml, struct virt_migrate_spec *ret_spec);

#endif
