/* ocf.c — see ocf.h */
#include "config.h"

#include <string.h>

#include "ocf.h"
#include "params.h"

static const struct ocf_action_def ocf_actions[] = {
    { OCF_ACTION_START, "start", 90000, 0, true },
    { OCF_ACTION_STOP, "stop", 90000, 0, true },
    { OCF_ACTION_MONITOR, "monitor", 30000, 10000, true },
    { OCF_ACTION_STATUS, "status", 30000, 0, true },
    { OCF_ACTION_VALIDATE_ALL, "validate-all", 10000, 0, true },
    { OCF_ACTION_META_DATA, "meta-data", 5000, 0, true },
    { OCF_ACTION_USAGE, "usage", 5000, 0, false },
    { OCF_ACTION_MIGRATE_TO, "migrate_to", 120000, 0, true },
    { OCF_ACTION_MIGRATE_FROM, "migrate_from", 60000, 0, true },
    /* OCF 1.1 callers only (ra-api-1.dtd has no such action) */
    { OCF_ACTION_RELOAD_AGENT, "reload-agent", 20000, 0, true },
    /* Understood, not advertised: pcs copies every advertised action into the
     * CIB as an op, and Pacemaker never runs recover (it stops and starts). */
    { OCF_ACTION_RECOVER, "recover", 180000, 0, false },
    /* rgmanager's "vm migrate <target-node>" and "reconfig" */
    { OCF_ACTION_MIGRATE, "migrate", 120000, 0, false },
    { OCF_ACTION_RECONFIG, "reconfig", 10000, 0, false },
};

enum ocf_action
ocf_action_parse(const char *name)
{
    size_t i;

    if (name == NULL)
        return OCF_ACTION_UNKNOWN;
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0)
        return OCF_ACTION_USAGE;
    if (strcmp(name, "metadata") == 0)
        return OCF_ACTION_META_DATA;
    for (i = 0; i < sizeof(ocf_actions) / sizeof(ocf_actions[0]); i++)
        if (strcmp(name, ocf_actions[i].name) == 0)
            return ocf_actions[i].action;
    return OCF_ACTION_UNKNOWN;
}

const struct ocf_action_def *
ocf_action_get(enum ocf_action action)
{
    size_t i;

    for (i = 0; i < sizeof(ocf_actions) / sizeof(ocf_actions[0]); i++)
        if (ocf_actions[i].action == action)
            return &ocf_actions[i];
    return NULL;
}

/* Writes s with XML's special characters escaped. */
static void
ocf_xml_escape(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        default: fputc(*s, out); break;
        }
    }
}

static const char *
ocf_type_name(enum params_type type)
{
    switch (type) {
    case PARAMS_TYPE_INTEGER: return "integer";
    case PARAMS_TYPE_BOOLEAN: return "boolean";
    case PARAMS_TYPE_TIME: return "string";   /* the DTD's "time" is not understood by every tool */
    case PARAMS_TYPE_ENUM:     /* OCF 1.1 callers get a select (ocf_metadata_param_write) */
    case PARAMS_TYPE_STRING: break;
    }
    return "string";
}

/* One <parameter>; ocf_1_1 adds what ra-api-1.dtd does not know: reloadable,
 * unique-group (pcs ignores unique in OCF 1.1), deprecated rgmanager aliases,
 * and select for the enumerations. */
static void
ocf_metadata_param_write(FILE *out, const struct params_def *def, bool ocf_1_1)
{
    size_t i;

    fprintf(out, "<parameter name=\"%s\" unique=\"%d\" required=\"%d\"", def->name,
            def->unique ? 1 : 0, def->required ? 1 : 0);
    if (ocf_1_1 && def->unique)
        fprintf(out, " unique-group=\"%s\"", def->name);
    if (ocf_1_1 && !def->identity)
        fputs(" reloadable=\"1\"", out);
    fputs(">\n<longdesc lang=\"en\">\n", out);
    ocf_xml_escape(out, def->longdesc);
    fputs("\n</longdesc>\n<shortdesc lang=\"en\">", out);
    ocf_xml_escape(out, def->shortdesc);
    fputs("</shortdesc>\n", out);
    if (ocf_1_1 && def->alias_of)
        fprintf(out, "<deprecated><replaced-with name=\"%s\" /></deprecated>\n", def->alias_of);
    if (ocf_1_1 && def->type == PARAMS_TYPE_ENUM)
        fputs("<content type=\"select\"", out);
    else
        fprintf(out, "<content type=\"%s\"",
                def->content_type ? def->content_type : ocf_type_name(def->type));
    if (def->default_text) {
        fputs(" default=\"", out);
        ocf_xml_escape(out, def->default_text);
        fputc('"', out);
    }
    if (ocf_1_1 && def->type == PARAMS_TYPE_ENUM) {
        fputs(">\n", out);
        for (i = 0; def->choices[i]; i++)
            fprintf(out, "<option value=\"%s\" />\n", def->choices[i]);
        fputs("</content>\n", out);
    } else {
        fputs(" />\n", out);
    }
    fputs("</parameter>\n", out);
}

int
ocf_metadata_write(FILE *out, int ra_version_major, int ra_version_minor)
{
    bool ocf_1_1 = ra_version_major > 1 || (ra_version_major == 1 && ra_version_minor >= 1);
    const struct params_def *defs = NULL;
    size_t n = 0;
    size_t i;

    defs = params_table(&n);
    fputs("<?xml version=\"1.0\"?>\n", out);
    if (!ocf_1_1)
        fputs("<!DOCTYPE resource-agent SYSTEM \"ra-api-1.dtd\">\n", out);
    fprintf(out, "<resource-agent name=\"%s\" version=\"%s\">\n", OCF_AGENT_NAME, PACKAGE_VERSION);
    fprintf(out, "<version>%s</version>\n", ocf_1_1 ? "1.1" : "1.0");
    fputs("<longdesc lang=\"en\">\n"
          "Manages a KVM virtual machine through libvirt (ferry's vm agent). Start creates "
          "the domain from its XML (or starts its libvirt definition), stop asks the guest "
          "to shut down and destroys it when its budget runs out, and monitor asks libvirt "
          "for the domain's state. The domain is identified by its name and UUID, never by "
          "whether its XML file exists: an unreadable file never makes a running guest look "
          "stopped. migrate_to moves the running guest to the target node over "
          "qemu+ssh, live or paused as the 'migrate' parameter says, with its limits set "
          "in the migrate call and 'migration_policy' applied when it does not converge; "
          "on failure the guest keeps running, unpaused, on the source. migrate_from "
          "confirms it runs on the target. Every action answers before its Pacemaker "
          "timeout.\n"
          "</longdesc>\n"
          "<shortdesc lang=\"en\">Manages KVM virtual machines through libvirt</shortdesc>\n"
          "<parameters>\n", out);
    for (i = 0; i < n; i++)
        ocf_metadata_param_write(out, &defs[i], ocf_1_1);
    fputs("</parameters>\n<actions>\n", out);
    for (i = 0; i < sizeof(ocf_actions) / sizeof(ocf_actions[0]); i++) {
        const struct ocf_action_def *a = &ocf_actions[i];

        if (!a->advertised || (a->action == OCF_ACTION_RELOAD_AGENT && !ocf_1_1))
            continue;
        fprintf(out, "<action name=\"%s\" timeout=\"%llds\"", a->name,
                (long long)(a->timeout_ms / 1000));
        if (a->interval_ms)
            fprintf(out, " interval=\"%llds\" depth=\"0\"", (long long)(a->interval_ms / 1000));
        /* The depth-10 monitor (status_program) is not advertised: pcs would
         * put it in every VM's CIB entry; README shows the op to add. */
        fputs(" />\n", out);
    }
    fputs("</actions>\n</resource-agent>\n", out);
    return ferror(out) ? -1 : 0;
}

void
ocf_usage_write(FILE *out, const char *argv0)
{
    size_t i;

    fprintf(out, "usage: %s {", argv0 ? argv0 : OCF_AGENT_NAME);
    for (i = 0; i < sizeof(ocf_actions) / sizeof(ocf_actions[0]); i++)
        fprintf(out, "%s%s", i ? "|" : "", ocf_actions[i].name);
    fputs("}\n\nThe OCF resource agent ocf:" OCF_AGENT_PROVIDER ":" OCF_AGENT_NAME
          " for KVM virtual machines. Parameters come from OCF_RESKEY_<name> variables;\n"
          "'meta-data' lists them.\n", out);
}

void
ocf_exit_reason_write(FILE *out, const char *prefix, const char *msg)
{
    const char *p;

    fputs(prefix && *prefix ? prefix : "ocf-exit-reason:", out);
    for (p = msg; p && *p; p++)
        fputc(*p == '\n' ? ' ' : *p, out);
    fputc('\n', out);
    fflush(out);
}
