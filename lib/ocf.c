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
    { OCF_ACTION_RECOVER, "recover", 180000, 0, true },
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
    case PARAMS_TYPE_ENUM:     /* "select" is OCF 1.1's, and fails ra-api-1.dtd (ocf-tester) */
    case PARAMS_TYPE_STRING: break;
    }
    return "string";
}

int
ocf_metadata_write(FILE *out)
{
    const struct params_def *defs = NULL;
    size_t n = 0;
    size_t i;

    defs = params_table(&n);
    fputs("<?xml version=\"1.0\"?>\n"
          "<!DOCTYPE resource-agent SYSTEM \"ra-api-1.dtd\">\n", out);
    fprintf(out, "<resource-agent name=\"%s\" version=\"%s\">\n", OCF_AGENT_NAME, PACKAGE_VERSION);
    fputs("<version>1.1</version>\n", out);
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
    for (i = 0; i < n; i++) {
        fprintf(out, "<parameter name=\"%s\" unique=\"%d\" required=\"%d\">\n", defs[i].name,
                defs[i].unique ? 1 : 0, defs[i].required ? 1 : 0);
        fputs("<longdesc lang=\"en\">\n", out);
        ocf_xml_escape(out, defs[i].longdesc);
        fputs("\n</longdesc>\n<shortdesc lang=\"en\">", out);
        ocf_xml_escape(out, defs[i].shortdesc);
        fprintf(out, "</shortdesc>\n<content type=\"%s\"", ocf_type_name(defs[i].type));
        if (defs[i].default_text) {
            fputs(" default=\"", out);
            ocf_xml_escape(out, defs[i].default_text);
            fputc('"', out);
        }
        fputs(" />\n</parameter>\n", out);
    }
    fputs("</parameters>\n<actions>\n", out);
    for (i = 0; i < sizeof(ocf_actions) / sizeof(ocf_actions[0]); i++) {
        const struct ocf_action_def *a = &ocf_actions[i];

        if (!a->advertised)
            continue;
        fprintf(out, "<action name=\"%s\" timeout=\"%llds\"", a->name,
                (long long)(a->timeout_ms / 1000));
        if (a->interval_ms)
            fprintf(out, " interval=\"%llds\" depth=\"0\"", (long long)(a->interval_ms / 1000));
        fputs(" />\n", out);
        if (a->action == OCF_ACTION_MONITOR)   /* where status_program runs */
            fprintf(out, "<action name=\"%s\" timeout=\"%llds\" interval=\"%llds\" depth=\"10\" />\n",
                    a->name, (long long)(a->timeout_ms / 1000),
                    (long long)(OCF_DEPTH10_INTERVAL_MS / 1000));
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
