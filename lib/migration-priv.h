/* migration-priv.h — migration.c's seams for the tests (libvirt's
 * *priv.h convention): not for other modules. */
#ifndef FERRY_MIGRATION_PRIV_H
#define FERRY_MIGRATION_PRIV_H

#include "deadline.h"
#include "flight.h"
#include "migrate.h"
#include "params.h"
#include "virt.h"

/* The migrate call's settings from the parameters and the target (pure):
 * persist_xml is the definition to persist on the target (persistent=true). */
void migration_spec(const struct ferry_params *p, const struct migrate_target *t,
                    const char *persist_xml, struct virt_migrate_spec *ret_spec);

/* Has Pacemaker learnt how the guest stands on f->target since f's migrate_to
 * began (one `program --query --xpath` of the CIB; CIB_file is honoured)?
 * 1 yes, 0 no, < 0 cannot tell. */
int migration_handover_known(const struct ferry_params *p, const struct flight *f,
                             const char *program, const deadline *dl);

#endif
