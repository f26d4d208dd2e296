/* import.h — rgmanager cluster.conf -> Pacemaker configuration (ferry-import).
 *
 * import_parse() reads a cluster.conf (libxml2: no network, no DTD, no entity
 * expansion, at most IMPORT_MAX_BYTES) into a model of its <vm> resources and
 * failover domains; import_write() emits that model as crmsh `configure`
 * text or as a CIB <configuration> fragment. Messages name the input as
 * "ORIGIN:LINE: ...". Bad input fails as a whole: the error message holds one
 * line per problem found ('\n'-separated), the code is the first problem's.
 * Things that translate only approximately, or not at all, are warnings: they
 * are kept in the model (import_warning()) and written as comments.
 */
#ifndef FERRY_IMPORT_H
#define FERRY_IMPORT_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"

#define IMPORT_MAX_BYTES (4 * 1024 * 1024)

/* At most this many location constraints are written (the failover domains' nodes times
 * their VMs): a cluster.conf that needs more is refused (FERRY_E_CONFIG). */
#define IMPORT_MAX_LOCATIONS 1000000

/* Score step between two priorities of an ordered failover domain. */
#define IMPORT_SCORE_STEP 100

enum import_format {
    IMPORT_FORMAT_CRM,    /* crm configure load update FILE */
    IMPORT_FORMAT_XML,    /* <configuration><resources/><constraints/></configuration> */
};

typedef struct import_conf import_conf;

/* "crm" or "xml". Returns 0 or -EINVAL. */
int import_format_parse(const char *name, enum import_format *ret_format);

/* Parses len bytes of cluster.conf text; origin names it in messages
 * ("cluster.conf"). On success *ret_conf is the model (free with import_free()).
 * Errors: -EFBIG (too large), FERRY_E_XML (not XML), FERRY_E_CONFIG (XML that
 * is not a translatable cluster.conf), -ENOMEM. */
int import_parse(const char *text, size_t len, const char *origin, import_conf **ret_conf,
                 ferry_error **err);

/* Reads fd to its end (at most IMPORT_MAX_BYTES) and parses it as import_parse(). */
int import_load_fd(int fd, const char *origin, import_conf **ret_conf, ferry_error **err);

/* Writes the configuration in format to out. Returns 0, -EIO if out failed, or
 * FERRY_E_CONFIG (nothing written) when a value cannot be written in the crm format: one
 * that holds a control character other than tab (crmsh reads '\r' as a line break). */
int import_write(const import_conf *conf, enum import_format format, FILE *out,
                 ferry_error **err);

/* The VMs translated (primitives written). */
size_t import_vm_count(const import_conf *conf);

/* The warnings, in input order: "ORIGIN:LINE: warning: ...", one line each.
 * NULL when i >= import_warning_count(). */
size_t import_warning_count(const import_conf *conf);
const char *import_warning(const import_conf *conf, size_t i);

/* Accepts NULL; returns NULL. */
import_conf *import_free(import_conf *conf);

#endif
