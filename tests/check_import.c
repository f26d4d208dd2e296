/* check_import.c — cluster.conf -> Pacemaker: every translation rule, every bad input,
 * and a round trip of the realistic fixture (tests/import/cluster.conf). */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "check_common.h"
#include "import.h"
#include "ocf.h"

#define HEAD "<?xml version=\"1.0\"?>\n<cluster name=\"c\" config_version=\"1\">\n" \
    "  <clusternodes>\n" \
    "    <clusternode name=\"node1\" nodeid=\"1\"/>\n" \
    "    <clusternode name=\"node2\" nodeid=\"2\"/>\n" \
    "    <clusternode name=\"node3\" nodeid=\"3\"/>\n" \
    "  </clusternodes>\n"
/* HEAD is 7 lines: "<rm>" is line 8, the first line inside it line 9. */
#define RM(body) HEAD "  <rm>\n" body "  </rm>\n</cluster>\n"

static const char *
srcdir(void)
{
    const char *d = getenv("top_srcdir");

    return d && *d ? d : "..";
}

static import_conf *
parse_ok(const char *xml)
{
    import_conf *conf = NULL;
    ferry_error *err = NULL;

    ck_assert_msg(import_parse(xml, strlen(xml), "cluster.conf", &conf, &err) == 0, "%s",
                  error_message(err));
    ck_assert_ptr_nonnull(conf);
    return conf;
}

/* Parse fails with code, and the message contains want (e.g. "cluster.conf:9: "). */
static void
parse_bad(const char *xml, int code, const char *want)
{
    import_conf *conf = NULL;
    ferry_error *err = NULL;

    ck_assert_int_eq(import_parse(xml, strlen(xml), "cluster.conf", &conf, &err), code);
    ck_assert_ptr_null(conf);
    ck_assert_msg(strstr(error_message(err), want), "'%s' lacks '%s'", error_message(err), want);
    error_free(err);
}

static char *
render(const import_conf *conf, enum import_format format)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    ferry_error *err = NULL;

    ck_assert_ptr_nonnull(mem);
    ck_assert_msg(import_write(conf, format, mem, &err) == 0, "%s", error_message(err));
    fclose(mem);
    return text;
}

/* The crm text of a one-VM configuration. */
static char *
crm_of(const char *xml)
{
    import_conf *conf = parse_ok(xml);
    char *text = render(conf, IMPORT_FORMAT_CRM);

    import_free(conf);
    return text;
}

static void
assert_has(const char *text, const char *want)
{
    ck_assert_msg(strstr(text, want) != NULL, "output lacks '%s':\n%s", want, text);
}

static void
assert_lacks(const char *text, const char *unwanted)
{
    ck_assert_msg(strstr(text, unwanted) == NULL, "output has '%s':\n%s", unwanted, text);
}

/* Some warning contains want. */
static void
assert_warning(const import_conf *conf, const char *want)
{
    size_t i;

    for (i = 0; i < import_warning_count(conf); i++)
        if (strstr(import_warning(conf, i), want))
            return;
    ck_abort_msg("no warning contains '%s' (%zu warnings)", want, import_warning_count(conf));
}

static char *
read_fixture(const char *name, size_t *ret_len)
{
    char path[4096];
    char *text = NULL;
    struct stat st;
    FILE *f = NULL;

    snprintf(path, sizeof(path), "%s/tests/import/%s", srcdir(), name);
    f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    ck_assert_int_eq(fstat(fileno(f), &st), 0);
    text = calloc(1, (size_t)st.st_size + 1);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(fread(text, 1, (size_t)st.st_size, f), st.st_size);
    fclose(f);
    *ret_len = (size_t)st.st_size;
    return text;
}

static void
fixture_bad(const char *name, int code, const char *want)
{
    size_t len = 0;
    char *text = read_fixture(name, &len);
    import_conf *conf = NULL;
    ferry_error *err = NULL;

    ck_assert_int_eq(import_parse(text, len, "cluster.conf", &conf, &err), code);
    ck_assert_ptr_null(conf);
    ck_assert_msg(strstr(error_message(err), want), "'%s' lacks '%s'", error_message(err), want);
    error_free(err);
    free(text);
}

/* ---- the realistic fixture ---- */

START_TEST(test_fixture_round_trip)
{
    static const char *const files[] = { "cluster.crm", "cluster.xml" };
    size_t len = 0;
    char *text = read_fixture("cluster.conf", &len);
    import_conf *conf = NULL;
    ferry_error *err = NULL;
    char *out = NULL;
    char *want = NULL;
    size_t i;

    ck_assert_msg(import_parse(text, len, "cluster.conf", &conf, &err) == 0, "%s",
                  error_message(err));
    ck_assert_int_eq(import_vm_count(conf), 4);
    for (i = 0; i < 2; i++) {
        out = render(conf, i == 0 ? IMPORT_FORMAT_CRM : IMPORT_FORMAT_XML);
        want = read_fixture(files[i], &len);
        ck_assert_msg(strcmp(out, want) == 0, "%s differs; got:\n%s", files[i], out);
        free(out);
        free(want);
    }
    import_free(conf);
    free(text);
}
END_TEST

START_TEST(test_fixture_load_fd)
{
    char path[4096];
    import_conf *conf = NULL;
    ferry_error *err = NULL;
    int fd;

    snprintf(path, sizeof(path), "%s/tests/import/cluster.conf", srcdir());
    fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_msg(import_load_fd(fd, "cluster.conf", &conf, &err) == 0, "%s",
                  error_message(err));
    close(fd);
    ck_assert_int_eq(import_vm_count(conf), 4);
    import_free(conf);
}
END_TEST

/* The XML output is well-formed, and every id in it is unique. */
START_TEST(test_xml_ids_unique)
{
    import_conf *conf = parse_ok(RM(
        "    <failoverdomains><failoverdomain name=\"d\" restricted=\"1\">\n"
        "      <failoverdomainnode name=\"node1\"/></failoverdomain></failoverdomains>\n"
        "    <vm name=\"1 bad&amp;name\" domain=\"d\"/>\n"
        "    <vm name=\"_1_bad_name\" domain=\"d\" depend=\"service:1 bad&amp;name\"/>\n"
        "    <vm name=\"_1_bad_name-instance_attributes\"/>\n"));
    char *xml = render(conf, IMPORT_FORMAT_XML);
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL, XML_PARSE_NONET);
    char *ids[256];
    size_t n = 0;
    size_t i;
    size_t j;
    xmlNodePtr stack[64];
    size_t depth = 0;
    xmlNodePtr node;

    ck_assert_msg(doc != NULL, "not well-formed:\n%s", xml);
    assert_has(xml, "<primitive id=\"_1_bad_name\"");
    assert_has(xml, "<primitive id=\"_1_bad_name-2\"");
    assert_has(xml, "name=\"name\" value=\"1 bad&amp;name\"");
    assert_warning(conf, "resource id is '_1_bad_name'");
    stack[depth++] = xmlDocGetRootElement(doc);
    while (depth > 0) {
        node = stack[--depth];
        for (; node; node = node->next) {
            xmlChar *id = NULL;

            if (node->type != XML_ELEMENT_NODE)
                continue;
            id = xmlGetProp(node, BAD_CAST "id");
            if (id) {
                ck_assert_uint_lt(n, 256);
                ids[n++] = (char *)id;
            }
            if (node->children) {
                ck_assert_uint_lt(depth, 64);
                stack[depth++] = node->children;
            }
        }
    }
    ck_assert_uint_gt(n, 20);
    for (i = 0; i < n; i++)
        for (j = i + 1; j < n; j++)
            ck_assert_msg(strcmp(ids[i], ids[j]) != 0, "id '%s' twice", ids[i]);
    for (i = 0; i < n; i++)
        xmlFree(ids[i]);
    xmlFreeDoc(doc);
    free(xml);
    import_free(conf);
}
END_TEST

/* ---- <vm> -> primitive ---- */

START_TEST(test_vm_primitive_and_ops)
{
    char *crm = crm_of(RM("    <vm name=\"vm1\"/>\n"));
    const struct ocf_action_def *mon = ocf_action_get(OCF_ACTION_MONITOR);
    char want[128];

    assert_has(crm, "primitive vm1 ocf:ferry:vm \\\n"
                    "\tparams name=vm1 migrate=live \\\n"
                    "\top start timeout=90s interval=0s \\\n"
                    "\top stop timeout=90s interval=0s \\\n"
                    "\top monitor timeout=30s interval=10s on-fail=restart \\\n"
                    "\top migrate_to timeout=120s interval=0s \\\n"
                    "\top migrate_from timeout=60s interval=0s \\\n"
                    "\tmeta allow-migrate=true\n");
    /* the numbers come from the agent's own table */
    snprintf(want, sizeof(want), "op monitor timeout=%llds interval=%llds",
             (long long)mon->timeout_ms / 1000, (long long)mon->interval_ms / 1000);
    assert_has(crm, want);
    free(crm);
}
END_TEST

START_TEST(test_vm_migrate)
{
    char *crm = crm_of(RM("    <vm name=\"vm1\" migrate=\"pause\"/>\n"));

    assert_has(crm, "params name=vm1 migrate=pause \\\n");
    free(crm);
    parse_bad(RM("    <vm name=\"vm1\" migrate=\"fast\"/>\n"), FERRY_E_CONFIG,
              "cluster.conf:9: vm 'vm1': migrate=\"fast\" is not 'live' or 'pause'");
}
END_TEST

START_TEST(test_vm_xmlfile)
{
    char *crm = crm_of(RM("    <vm name=\"vm1\" xmlfile=\"/shared/vm 1.xml\"/>\n"));

    assert_has(crm, "params name=vm1 config=\"/shared/vm 1.xml\" migrate=live \\\n");
    free(crm);
    parse_bad(RM("    <vm name=\"vm1\" xmlfile=\"vm1.xml\"/>\n"), FERRY_E_CONFIG,
              "cluster.conf:9: vm 'vm1': xmlfile=\"vm1.xml\" is not an absolute path");
}
END_TEST

START_TEST(test_vm_path)
{
    char *crm = crm_of(RM("    <vm name=\"vm1\" path=\"/shared/a:/etc/libvirt/qemu\"/>\n"));

    /* searched by the agent at every start, as vm.sh did, not frozen at import */
    assert_has(crm, "params name=vm1 path=/shared/a:/etc/libvirt/qemu migrate=live");
    free(crm);
    parse_bad(RM("    <vm name=\"vm1\" path=\"/shared/a:vms\"/>\n"), FERRY_E_CONFIG,
              "cluster.conf:9: vm 'vm1': path=\"/shared/a:vms\": 'vms' is not an absolute "
              "directory");
}
END_TEST

START_TEST(test_vm_snapshot_status_program)
{
    import_conf *conf = parse_ok(RM("    <vm name=\"vm1\" snapshot=\"/snap\" "
                                    "status_program=\"/bin/check --port 80\"/>\n"));
    char *crm = render(conf, IMPORT_FORMAT_CRM);
    char *xml = render(conf, IMPORT_FORMAT_XML);

    assert_has(crm, "snapshot=/snap status_program=\"/bin/check --port 80\" \\\n");
    /* a second monitor, the depth-10 one where status_program runs */
    assert_has(crm, "interval=60s on-fail=restart OCF_CHECK_LEVEL=10 \\\n");
    assert_has(xml, "name=\"OCF_CHECK_LEVEL\" value=\"10\"");
    assert_has(xml, "<op id=\"vm1-monitor-depth10\" name=\"monitor\" interval=\"60s\"");
    free(crm);
    free(xml);
    import_free(conf);
    parse_bad(RM("    <vm name=\"vm1\" snapshot=\"snap\"/>\n"), FERRY_E_CONFIG,
              "cluster.conf:9: vm 'vm1': snapshot=\"snap\" is not an absolute directory");
}
END_TEST

START_TEST(test_vm_status_program_needs_shell)
{
    import_conf *conf = parse_ok(RM("    <vm name=\"vm1\" status_program=\"ping -c1 vm1 | grep ok\"/>\n"));
    char *crm = render(conf, IMPORT_FORMAT_CRM);

    assert_warning(conf, "vm 'vm1': status_program is not translated: 'ping -c1 vm1 | grep ok' "
                         "needs a shell");
    ck_assert_ptr_null(strstr(crm, "status_program="));
    ck_assert_ptr_null(strstr(crm, "OCF_CHECK_LEVEL"));
    free(crm);
    import_free(conf);
}
END_TEST

START_TEST(test_vm_migrate_options)
{
    import_conf *conf = parse_ok(RM("    <vm name=\"vm1\" migrate_options=\"--unsafe --compressed\"/>\n"
                                    "    <vm name=\"vm2\" migrate=\"pause\" migrate_options=\"--live\"/>\n"
                                    "    <vm name=\"vm3\" migrate_options=\"--copy-storage-all\"/>\n"));
    char *crm = render(conf, IMPORT_FORMAT_CRM);

    assert_has(crm, "migrate_options=\"--unsafe --compressed\"");
    assert_warning(conf, "vm 'vm2': migrate_options is not translated: parameter "
                         "'migrate_options' ('--live') has --live, but parameter 'migrate' is "
                         "'pause'");
    assert_warning(conf, "vm 'vm3': migrate_options is not translated: parameter "
                         "'migrate_options' ('--copy-storage-all') has '--copy-storage-all', "
                         "which ferry does not take");
    free(crm);
    import_free(conf);
}
END_TEST

START_TEST(test_vm_migration_params)
{
    char *crm = crm_of(RM(
        "    <vm name=\"vm1\" migration_mapping=\"node1:n1-mig,node2:n2-mig\"\n"
        "        hypervisor_uri=\"qemu:///system\" migration_uri=\"qemu+tls://%s/system\"\n"
        "        tunnelled=\"1\"/>\n"));

    assert_has(crm, "params name=vm1 migrate=live migration_mapping=node1:n1-mig,node2:n2-mig "
                    "hypervisor=qemu:///system remoteuri=qemu+tls://%n/system "
                    "tunnelled=true \\\n");
    free(crm);
    /* vm.sh's own defaults are ferry's defaults: nothing written */
    crm = crm_of(RM("    <vm name=\"vm1\" hypervisor_uri=\"auto\" "
                    "migration_uri=\"qemu+ssh://%s/system\" tunnelled=\"0\"/>\n"));
    assert_has(crm, "params name=vm1 migrate=live \\\n");
    free(crm);
}
END_TEST

START_TEST(test_vm_remoteuri_with_mapping_warns)
{
    import_conf *conf = parse_ok(RM("    <vm name=\"vm1\" migration_mapping=\"node1:h1\" "
                                    "migration_uri=\"qemu+tls://%s/system\"/>\n"));

    assert_warning(conf, "cluster.conf:9: warning: vm 'vm1': remoteuri 'qemu+tls://%n/system': "
                         "ferry puts the node name at %n");
    import_free(conf);
}
END_TEST

START_TEST(test_vm_autostart)
{
    char *crm = crm_of(RM("    <vm name=\"vm1\" autostart=\"0\"/>\n"));

    assert_has(crm, "\tmeta allow-migrate=true target-role=Stopped\n");
    free(crm);
    crm = crm_of(RM("    <vm name=\"vm1\" autostart=\"1\"/>\n"));
    assert_lacks(crm, "target-role");
    free(crm);
    parse_bad(RM("    <vm name=\"vm1\" autostart=\"maybe\"/>\n"), FERRY_E_CONFIG,
              "cluster.conf:9: vm: autostart=\"maybe\" is not a boolean");
}
END_TEST

START_TEST(test_vm_exclusive_warns)
{
    import_conf *conf = parse_ok(RM("    <vm name=\"vm1\" exclusive=\"1\"/>\n"));
    char *crm = render(conf, IMPORT_FORMAT_CRM);

    assert_warning(conf, "cluster.conf:9: warning: vm 'vm1': exclusive=\"1\" has no exact "
                         "Pacemaker equivalent");
    assert_has(crm, "# cluster.conf:9: warning: vm 'vm1': exclusive=\"1\"");
    assert_has(crm, "utilization");
    free(crm);
    import_free(conf);
}
END_TEST

START_TEST(test_vm_unknown_attribute_warns)
{
    /* the start tag's first line, though libxml2 reports the line it ends on */
    import_conf *conf = parse_ok(RM("    <vm name=\"vm1\"\n        frobnicate=\"yes\"/>\n"));

    assert_warning(conf, "cluster.conf:9: warning: vm: unknown attribute 'frobnicate' ignored");
    ck_assert_int_eq(import_vm_count(conf), 1);
    import_free(conf);
}
END_TEST

START_TEST(test_vm_untranslated_attributes_warn)
{
    import_conf *conf = parse_ok(RM("    <vm name=\"vm1\" use_virsh=\"0\"/>\n"));

    assert_warning(conf, "vm 'vm1': use_virsh=\"0\"");
    import_free(conf);
}
END_TEST

/* ---- recovery ---- */

START_TEST(test_recovery_restart)
{
    char *crm = crm_of(RM("    <vm name=\"vm1\" recovery=\"restart\" max_restarts=\"3\" "
                          "restart_expire_time=\"10m\"/>\n"));

    assert_has(crm, "op monitor timeout=30s interval=10s on-fail=restart \\\n");
    assert_has(crm, "\tmeta allow-migrate=true migration-threshold=4 failure-timeout=600s\n");
    free(crm);
}
END_TEST

START_TEST(test_recovery_restart_unlimited)
{
    import_conf *conf = parse_ok(RM("    <vm name=\"vm1\" restart_expire_time=\"60\"/>\n"));
    char *crm = render(conf, IMPORT_FORMAT_CRM);

    assert_has(crm, "\tmeta allow-migrate=true\n");
    assert_warning(conf, "restart_expire_time without max_restarts has no effect");
    free(crm);
    import_free(conf);
}
END_TEST

START_TEST(test_recovery_relocate)
{
    char *crm = crm_of(RM("    <vm name=\"vm1\" recovery=\"relocate\"/>\n"));

    assert_has(crm, "op monitor timeout=30s interval=10s \\\n");
    assert_has(crm, "\tmeta allow-migrate=true migration-threshold=1\n");
    free(crm);
}
END_TEST

START_TEST(test_recovery_disable)
{
    import_conf *conf = parse_ok(RM("    <vm name=\"vm1\" recovery=\"disable\"/>\n"));
    char *crm = render(conf, IMPORT_FORMAT_CRM);

    assert_has(crm, "op monitor timeout=30s interval=10s on-fail=stop \\\n");
    assert_warning(conf, "cluster.conf:9: warning: vm 'vm1': recovery=\"disable\"");
    free(crm);
    import_free(conf);
}
END_TEST

START_TEST(test_recovery_restart_disable)
{
    import_conf *conf = parse_ok(RM("    <vm name=\"vm1\" recovery=\"restart-disable\" "
                                    "max_restarts=\"2\" restart_expire_time=\"1h\"/>\n"));
    char *crm = render(conf, IMPORT_FORMAT_CRM);

    assert_has(crm, "on-fail=restart");
    assert_has(crm, "\tmeta allow-migrate=true migration-threshold=3 failure-timeout=3600s\n");
    assert_warning(conf, "recovery=\"restart-disable\"");
    free(crm);
    import_free(conf);
}
END_TEST

START_TEST(test_recovery_bad)
{
    parse_bad(RM("    <vm name=\"vm1\" recovery=\"pray\"/>\n"), FERRY_E_CONFIG,
              "cluster.conf:9: vm 'vm1': recovery=\"pray\" is not");
    parse_bad(RM("    <vm name=\"vm1\" max_restarts=\"many\"/>\n"), FERRY_E_CONFIG,
              "cluster.conf:9: vm 'vm1': max_restarts=\"many\"");
    parse_bad(RM("    <vm name=\"vm1\" max_restarts=\"1\" restart_expire_time=\"5y\"/>\n"),
              FERRY_E_CONFIG, "cluster.conf:9: vm 'vm1': restart_expire_time=\"5y\"");
}
END_TEST

/* ---- failover domains ---- */

#define DOMAIN(attrs, nodes) \
    "    <failoverdomains>\n" \
    "      <failoverdomain name=\"fd\" " attrs ">\n" nodes \
    "      </failoverdomain>\n" \
    "    </failoverdomains>\n"

START_TEST(test_domain_ordered)
{
    char *crm = crm_of(RM(DOMAIN("ordered=\"1\"",
                                 "        <failoverdomainnode name=\"node1\" priority=\"1\"/>\n"
                                 "        <failoverdomainnode name=\"node2\" priority=\"2\"/>\n"
                                 "        <failoverdomainnode name=\"node3\" priority=\"4\"/>\n")
                          "    <vm name=\"vm1\" domain=\"fd\"/>\n"));

    /* score = (max_prio + 1 - prio) * 100 */
    assert_has(crm, "location vm1-prefers-node1 vm1 400: node1\n"
                    "location vm1-prefers-node2 vm1 300: node2\n"
                    "location vm1-prefers-node3 vm1 100: node3\n");
    /* ordered without nofailback fails back, whatever rsc_defaults say */
    assert_has(crm, "\tmeta allow-migrate=true resource-stickiness=0\n");
    assert_lacks(crm, "-inf");
    free(crm);
}
END_TEST

START_TEST(test_domain_unordered)
{
    char *crm = crm_of(RM(DOMAIN("ordered=\"0\"",
                                 "        <failoverdomainnode name=\"node1\" priority=\"1\"/>\n"
                                 "        <failoverdomainnode name=\"node2\" priority=\"2\"/>\n")
                          "    <vm name=\"vm1\" domain=\"fd\"/>\n"));

    assert_has(crm, "location vm1-prefers-node1 vm1 100: node1\n"
                    "location vm1-prefers-node2 vm1 100: node2\n");
    assert_has(crm, "\tmeta allow-migrate=true\n");
    free(crm);
}
END_TEST

START_TEST(test_domain_restricted)
{
    char *crm = crm_of(RM(DOMAIN("restricted=\"1\"",
                                 "        <failoverdomainnode name=\"node2\"/>\n")
                          "    <vm name=\"vm1\" domain=\"fd\"/>\n"));

    assert_has(crm, "location vm1-prefers-node2 vm1 100: node2\n"
                    "location vm1-avoids-node1 vm1 -inf: node1\n"
                    "location vm1-avoids-node3 vm1 -inf: node3\n");
    free(crm);
}
END_TEST

START_TEST(test_domain_nofailback)
{
    char *crm = crm_of(RM(DOMAIN("ordered=\"1\" nofailback=\"1\"",
                                 "        <failoverdomainnode name=\"node1\" priority=\"1\"/>\n"
                                 "        <failoverdomainnode name=\"node2\" priority=\"2\"/>\n")
                          "    <vm name=\"vm1\" domain=\"fd\"/>\n"));

    /* higher than the best location score (200) */
    assert_has(crm, "\tmeta allow-migrate=true resource-stickiness=300\n");
    free(crm);
}
END_TEST

START_TEST(test_domain_undefined)
{
    parse_bad(RM(DOMAIN("", "        <failoverdomainnode name=\"node1\"/>\n")
                 "    <vm name=\"vm1\" domain=\"nope\"/>\n"), FERRY_E_CONFIG,
              "cluster.conf:14: vm 'vm1': failover domain 'nope' is not defined");
}
END_TEST

START_TEST(test_domain_bad_priority)
{
    parse_bad(RM(DOMAIN("ordered=\"1\"",
                        "        <failoverdomainnode name=\"node1\" priority=\"0\"/>\n")),
              FERRY_E_CONFIG, "cluster.conf:11: failover domain 'fd': node 'node1' has "
              "priority=\"0\"");
}
END_TEST

START_TEST(test_domain_unknown_node_warns)
{
    import_conf *conf = parse_ok(RM(DOMAIN("", "        <failoverdomainnode name=\"node9\"/>\n")));

    assert_warning(conf, "cluster.conf:11: warning: failover domain 'fd': node 'node9' is not "
                         "a <clusternode>");
    import_free(conf);
}
END_TEST

/* ---- depend ---- */

START_TEST(test_depend_vm)
{
    char *crm = crm_of(RM("    <vm name=\"db\"/>\n"
                          "    <vm name=\"app\" depend=\"service:db\"/>\n"
                          "    <vm name=\"web\" depend=\"vm:app\" depend_mode=\"soft\"/>\n"));

    assert_has(crm, "order app-after-db Mandatory: db app\n"
                    "order web-after-app Optional: app web\n");
    assert_lacks(crm, "colocation");
    free(crm);
}
END_TEST

START_TEST(test_depend_other_warns)
{
    import_conf *conf = parse_ok(RM("    <service name=\"nfs\"/>\n"
                                    "    <vm name=\"app\" depend=\"service:nfs\"/>\n"
                                    "    <vm name=\"web\" depend=\"service:ghost\"/>\n"));
    char *crm = render(conf, IMPORT_FORMAT_CRM);

    assert_warning(conf, "cluster.conf:10: warning: vm 'app': depend=\"service:nfs\" not "
                         "translated: 'nfs' is a <service>");
    assert_warning(conf, "cluster.conf:11: warning: vm 'web': depend=\"service:ghost\" not "
                         "translated: 'ghost' is not defined");
    assert_lacks(crm, "\norder ");
    free(crm);
    import_free(conf);
}
END_TEST

START_TEST(test_depend_bad)
{
    parse_bad(RM("    <vm name=\"app\" depend=\"db\"/>\n"), FERRY_E_CONFIG,
              "cluster.conf:9: vm 'app': depend=\"db\" is not service:NAME");
    parse_bad(RM("    <vm name=\"app\" depend=\"service:app\"/>\n"), FERRY_E_CONFIG,
              "cluster.conf:9: vm 'app' depends on itself");
}
END_TEST

/* ---- what is not translated ---- */

START_TEST(test_nested_vm_warns)
{
    import_conf *conf = parse_ok(RM("    <service name=\"svc\">\n"
                                    "      <ip address=\"10.0.0.1\"/>\n"
                                    "      <vm name=\"inner\"/>\n"
                                    "    </service>\n"
                                    "    <vm name=\"outer\"/>\n"));

    ck_assert_int_eq(import_vm_count(conf), 1);
    assert_warning(conf, "cluster.conf:9: warning: service 'svc' is not translated");
    assert_warning(conf, "cluster.conf:11: warning: vm 'inner' inside service 'svc' is not "
                         "translated");
    import_free(conf);
}
END_TEST

/* ---- bad input: code, and the line in the message ---- */

START_TEST(test_bad_not_xml)
{
    fixture_bad("bad-notxml.conf", FERRY_E_XML, "cluster.conf:5: not well-formed XML");
    parse_bad("", FERRY_E_XML, "cluster.conf:");
}
END_TEST

START_TEST(test_bad_root)
{
    fixture_bad("bad-root.conf", FERRY_E_CONFIG,
                "cluster.conf:2: the root element is <domain>, not <cluster>");
}
END_TEST

START_TEST(test_bad_no_rm)
{
    fixture_bad("bad-norm.conf", FERRY_E_CONFIG, "cluster.conf:2: <cluster> has no <rm> section");
}
END_TEST

START_TEST(test_bad_vm_without_name)
{
    fixture_bad("bad-noname.conf", FERRY_E_CONFIG, "cluster.conf:9: <vm> without a name");
}
END_TEST

START_TEST(test_bad_duplicate)
{
    fixture_bad("bad-duplicate.conf", FERRY_E_CONFIG,
                "cluster.conf:10: vm 'vm1' is defined twice (first at line 8)");
}
END_TEST

START_TEST(test_bad_domain)
{
    fixture_bad("bad-domain.conf", FERRY_E_CONFIG,
                "cluster.conf:13: vm 'vm1': failover domain 'db' is not defined");
}
END_TEST

START_TEST(test_bad_migrate)
{
    fixture_bad("bad-migrate.conf", FERRY_E_CONFIG,
                "cluster.conf:8: vm 'vm1': migrate=\"offline\" is not 'live' or 'pause'");
}
END_TEST

/* Every problem is reported, one line each, not only the first. */
START_TEST(test_bad_all_reported)
{
    parse_bad(RM("    <vm name=\"a\" migrate=\"x\"/>\n"
                 "    <vm/>\n"
                 "    <vm name=\"a\"/>\n"), FERRY_E_CONFIG,
              "cluster.conf:9: vm 'a': migrate=\"x\" is not 'live' or 'pause'\n"
              "cluster.conf:10: <vm> without a name\n"
              "cluster.conf:11: vm 'a' is defined twice (first at line 9)");
}
END_TEST

START_TEST(test_bad_entities)
{
    parse_bad("<?xml version=\"1.0\"?>\n"
              "<!DOCTYPE cluster [ <!ENTITY a \"aaaaaaaaaa\"> ]>\n"
              "<cluster><rm><vm name=\"&a;\"/></rm></cluster>\n", FERRY_E_XML,
              "cluster.conf:2: entity declarations are not allowed");
}
END_TEST

START_TEST(test_bad_too_big)
{
    size_t len = IMPORT_MAX_BYTES + 1;
    char *text = malloc(len + 1);
    import_conf *conf = NULL;
    ferry_error *err = NULL;

    ck_assert_ptr_nonnull(text);
    memset(text, ' ', len);
    text[len] = '\0';
    ck_assert_int_eq(import_parse(text, len, "cluster.conf", &conf, &err), -EFBIG);
    ck_assert_ptr_null(conf);
    err = error_free(err);
    /* the same from a file descriptor: refused while reading */
    {
        char path[] = "/tmp/check_import.XXXXXX";
        int fd = mkstemp(path);

        ck_assert_int_ge(fd, 0);
        unlink(path);
        ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
        ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
        ck_assert_int_eq(import_load_fd(fd, "big.conf", &conf, &err), -EFBIG);
        ck_assert_ptr_null(conf);
        ck_assert_ptr_nonnull(strstr(error_message(err), "big.conf is larger than"));
        close(fd);
    }
    error_free(err);
    free(text);
}
END_TEST

START_TEST(test_format_parse_and_free)
{
    enum import_format f = IMPORT_FORMAT_CRM;

    ck_assert_int_eq(import_format_parse("xml", &f), 0);
    ck_assert_int_eq(f, IMPORT_FORMAT_XML);
    ck_assert_int_eq(import_format_parse("crm", &f), 0);
    ck_assert_int_eq(f, IMPORT_FORMAT_CRM);
    ck_assert_int_eq(import_format_parse("json", &f), -EINVAL);
    ck_assert_ptr_null(import_free(NULL));
    ck_assert_int_eq(import_warning_count(NULL), 0);
    ck_assert_ptr_null(import_warning(NULL, 0));
}
END_TEST

/* ---- scale: linear in the input ---- */

/* 20 characters that are not in an XML ID and need no escaping in an attribute. */
#define ODD_CHARS "!#$%'()*+,;=?@[]^{|}"

/* A cluster.conf with n <vm>s; vm(i, buf, size) writes the i-th one. */
static char *
many_vms(size_t n, void (*vm)(size_t i, char *buf, size_t size), size_t *ret_len)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    char line[512];
    size_t i;

    ck_assert_ptr_nonnull(mem);
    fputs(HEAD "  <rm>\n", mem);
    for (i = 0; i < n; i++) {
        vm(i, line, sizeof(line));
        fputs(line, mem);
    }
    fputs("  </rm>\n</cluster>\n", mem);
    ck_assert_int_eq(fclose(mem), 0);
    *ret_len = len;
    return text;
}

/* "a" and four odd characters: every name cleans to the id "a____". */
static void
vm_same_id(size_t i, char *buf, size_t size)
{
    snprintf(buf, size, "    <vm name=\"a%c%c%c%c\"/>\n", ODD_CHARS[i / 8000 % 20],
             ODD_CHARS[i / 400 % 20], ODD_CHARS[i / 20 % 20], ODD_CHARS[i % 20]);
}

static int
compare_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 20000 names that all clean to one id: each gets its own id ("a____", "a____-2", ...
 * "a____-20000"), and the import finishes well inside the test's timeout (the free id was
 * searched for linearly, each candidate checked against every id: hours for this). */
START_TEST(test_scale_same_id)
{
    enum { N = 20000 };
    size_t len = 0;
    char *text = many_vms(N, vm_same_id, &len);
    import_conf *conf = NULL;
    ferry_error *err = NULL;
    char *crm = NULL;
    char *xml = NULL;
    char **ids = calloc(N, sizeof(*ids));
    const char *p;
    size_t n = 0;
    size_t i;
    xmlDocPtr doc = NULL;

    ck_assert_ptr_nonnull(ids);
    ck_assert_msg(import_parse(text, len, "cluster.conf", &conf, &err) == 0, "%s",
                  error_message(err));
    ck_assert_int_eq(import_vm_count(conf), N);
    crm = render(conf, IMPORT_FORMAT_CRM);
    /* line by line, by hand: a strstr() loop over the whole text is quadratic
     * under AddressSanitizer, whose strstr measures the haystack each call */
    for (p = crm; *p; p++) {
        if (strncmp(p, "\nprimitive ", strlen("\nprimitive ")) == 0) {
            const char *id = p + strlen("\nprimitive ");
            size_t id_len = 0;

            while (id[id_len] && id[id_len] != ' ')
                id_len++;
            ck_assert_uint_lt(n, N);
            ids[n++] = strndup(id, id_len);
        }
    }
    ck_assert_uint_eq(n, N);
    qsort(ids, n, sizeof(*ids), compare_str);
    for (i = 0; i < n; i++) {
        ck_assert_msg(strncmp(ids[i], "a____", 5) == 0, "id '%s'", ids[i]);
        if (i > 0)
            ck_assert_msg(strcmp(ids[i - 1], ids[i]) != 0, "id '%s' twice", ids[i]);
    }
    assert_has(crm, "\nprimitive a____ ");
    assert_has(crm, "\nprimitive a____-20000 ");
    /* the XML form: its ids below the primitives are made unique the same way */
    xml = render(conf, IMPORT_FORMAT_XML);
    doc = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL, XML_PARSE_NONET | XML_PARSE_HUGE);
    ck_assert_msg(doc != NULL, "the XML form is not well-formed");
    assert_has(xml, "<primitive id=\"a____-20000\"");
    assert_has(xml, "<nvpair id=\"a____-20000-instance_attributes-name\"");
    for (i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    xmlFreeDoc(doc);
    free(xml);
    free(crm);
    import_free(conf);
    free(text);
}
END_TEST

/* Ten problems each. */
static void
vm_ten_problems(size_t i, char *buf, size_t size)
{
    snprintf(buf, size, "    <vm name=\"v%zu\" migrate=\"x\" xmlfile=\"x\" autostart=\"x\" "
             "exclusive=\"x\" max_restarts=\"x\" restart_expire_time=\"x\" recovery=\"x\" "
             "domain=\"x\" depend_mode=\"x\" snapshot=\"x\"/>\n", i);
}

/* 24000 bad <vm>s, ten problems each (a 4 MB file): all 240000 are reported, in order,
 * and quickly (each problem recopied all the earlier ones: minutes for this). */
START_TEST(test_scale_many_problems)
{
    enum { N = 24000, PER_VM = 10 };
    size_t len = 0;
    char *text = many_vms(N, vm_ten_problems, &len);
    import_conf *conf = NULL;
    ferry_error *err = NULL;
    const char *msg = NULL;
    const char *p;
    size_t lines = 1;

    ck_assert_uint_le(len, IMPORT_MAX_BYTES);
    ck_assert_int_eq(import_parse(text, len, "cluster.conf", &conf, &err), FERRY_E_CONFIG);
    ck_assert_ptr_null(conf);
    msg = error_message(err);
    for (p = msg; (p = strchr(p, '\n')) != NULL; p++)
        lines++;
    ck_assert_uint_eq(lines, (size_t)N * PER_VM);
    ck_assert_msg(strncmp(msg, "cluster.conf:9: vm 'v0': migrate=\"x\"", 36) == 0, "%.200s", msg);
    ck_assert_ptr_nonnull(strstr(msg, "\ncluster.conf:24008: vm 'v23999': snapshot=\"x\" is not "
                                      "an absolute directory"));
    error_free(err);
    free(text);
}
END_TEST

/* A cluster.conf of nodes <clusternode>s, domains failover domains of 16 nodes (even ones
 * restricted) and vms <vm>s spread over them; one_line: without a line break. */
static char *
many_domains(size_t nodes, size_t domains, size_t vms, bool one_line, size_t *ret_len)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    const char *nl = one_line ? " " : "\n";
    size_t i;
    size_t j;

    ck_assert_ptr_nonnull(mem);
    fprintf(mem, "<?xml version=\"1.0\"?>%s<cluster name=\"c\" config_version=\"1\">%s"
            "<clusternodes>%s", nl, nl, nl);
    for (i = 1; i <= nodes; i++)
        fprintf(mem, "<clusternode name=\"node%zu\" nodeid=\"%zu\"/>%s", i, i, nl);
    fprintf(mem, "</clusternodes>%s<rm>%s<failoverdomains>%s", nl, nl, nl);
    for (i = 0; i < domains; i++) {
        fprintf(mem, "<failoverdomain name=\"fd%zu\" ordered=\"1\" restricted=\"%zu\">%s", i,
                (i + 1) % 2, nl);
        for (j = 0; j < 16; j++)
            fprintf(mem, "<failoverdomainnode name=\"node%zu\" priority=\"%zu\"/>%s",
                     (i + j) % nodes + 1, j + 1, nl);
        fprintf(mem, "</failoverdomain>%s", nl);
    }
    fprintf(mem, "</failoverdomains>%s", nl);
    for (i = 0; i < vms; i++)
        fprintf(mem, "<vm name=\"vm%zu\" domain=\"fd%zu\"/>%s", i, i % domains, nl);
    fprintf(mem, "</rm>%s</cluster>%s", nl, nl);
    ck_assert_int_eq(fclose(mem), 0);
    *ret_len = len;
    return text;
}

/* 1000 failover domains, 10000 <vm>s in them, all on one line (the start line of each
 * element was searched for from the end of its line: minutes for this). */
START_TEST(test_scale_one_line)
{
    size_t len = 0;
    char *text = many_domains(32, 1000, 10000, true, &len);
    import_conf *conf = NULL;
    ferry_error *err = NULL;
    char *crm = NULL;

    ck_assert_msg(import_parse(text, len, "cluster.conf", &conf, &err) == 0, "%s",
                  error_message(err));
    ck_assert_int_eq(import_vm_count(conf), 10000);
    crm = render(conf, IMPORT_FORMAT_CRM);
    /* vm0 is in fd0 (restricted): node1 first of 16, -inf on the 16 others */
    ck_assert_ptr_nonnull(strstr(crm, "\nlocation vm0-prefers-node1 vm0 1600: node1\n"));
    ck_assert_ptr_nonnull(strstr(crm, "\nlocation vm0-avoids-node32 vm0 -inf: node32\n"));
    ck_assert_ptr_nonnull(strstr(crm, "\nlocation vm9999-prefers-node8 vm9999 1600: node8\n"));
    free(crm);
    import_free(conf);
    free(text);
}
END_TEST

/* VMs x nodes has a bound: 1001 VMs in a restricted domain of a 1000-node cluster would
 * make 1001000 location constraints; refused, quickly. */
START_TEST(test_scale_location_bound)
{
    size_t len = 0;
    char *text = many_domains(1000, 1, 1001, false, &len);
    import_conf *conf = NULL;
    ferry_error *err = NULL;

    ck_assert_int_eq(import_parse(text, len, "cluster.conf", &conf, &err), FERRY_E_CONFIG);
    ck_assert_ptr_null(conf);
    ck_assert_msg(strstr(error_message(err), "the failover domains make 1001000 location "
                         "constraints") != NULL, "%.300s", error_message(err));
    error_free(err);
    free(text);
}
END_TEST

/* ---- what crmsh would read differently ---- */

/* crmsh reads its file with Python's universal newlines: a carriage return is a line break
 * there, and crm values have no escape for it (nor for a newline). A value holding one
 * cannot be written in the crm form: refused, naming the VM and the parameter, with
 * nothing written; the XML form carries it (as &#13;) and stays well-formed. */
START_TEST(test_crm_carriage_return)
{
    static const char *const inputs[] = {
        RM("    <vm name=\"a&#13;primitive evil ocf:heartbeat:Dummy\"/>\n"),
        RM("    <vm name=\"a\" path=\"/x&#13;primitive evil\"/>\n"),
        RM("    <vm name=\"a\" migration_mapping=\"n1:h1&#10;primitive evil\"/>\n"),
        RM("    <vm name=\"a\" snapshot=\"/snap&#13;\"/>\n"),
    };
    static const char *const what[] = {
        "resource 'a_primitive_evil_ocf_heartbeat_Dummy': parameter 'name' holds a "
        "carriage return",
        "resource 'a': parameter 'path' holds a carriage return",
        "resource 'a': parameter 'migration_mapping' holds a newline",
        "resource 'a': parameter 'snapshot' holds a carriage return",
    };
    size_t i;

    for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        import_conf *conf = parse_ok(inputs[i]);
        char *text = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&text, &len);
        ferry_error *err = NULL;
        char *xml = NULL;
        xmlDocPtr doc = NULL;
        int ret;

        ck_assert_ptr_nonnull(mem);
        ret = import_write(conf, IMPORT_FORMAT_CRM, mem, &err);
        fclose(mem);
        ck_assert_msg(strpbrk(text, "\r") == NULL, "a carriage return in the crm form:\n%s",
                      text);
        ck_assert_msg(ret == FERRY_E_CONFIG, "input %zu: the crm form was written:\n%s", i,
                      text);
        ck_assert_uint_eq(len, 0);
        ck_assert_msg(strstr(error_message(err), what[i]) &&
                      strstr(error_message(err), "--format=xml"), "input %zu: %s", i,
                      error_message(err));
        xml = render(conf, IMPORT_FORMAT_XML);
        doc = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL, XML_PARSE_NONET);
        ck_assert_msg(doc != NULL, "not well-formed:\n%s", xml);
        ck_assert_msg(strstr(xml, "&#13;") || strstr(xml, "&#10;"), "%s", xml);
        xmlFreeDoc(doc);
        error_free(err);
        free(xml);
        free(text);
        import_free(conf);
    }
}
END_TEST

/* Problems quote the input too: still one line each. */
START_TEST(test_bad_one_line_each)
{
    parse_bad(RM("    <vm name=\"a\" migrate=\"x&#10;y&#13;z\"/>\n"), FERRY_E_CONFIG,
              "cluster.conf:9: vm 'a': migrate=\"x y z\" is not 'live' or 'pause'");
}
END_TEST

/* Warnings quote the input; in the crm form they are comments, one line each. */
START_TEST(test_crm_comment_one_line)
{
    import_conf *conf = parse_ok(RM("    <vm name=\"a\" tunnelled=\"x&#13;primitive evil "
                                    "ocf:heartbeat:Dummy&#10;x\"/>\n"));
    char *crm = render(conf, IMPORT_FORMAT_CRM);

    assert_has(crm, "\n# cluster.conf:9: warning: vm 'a': tunnelled=\"x primitive evil "
                    "ocf:heartbeat:Dummy x\" is not a boolean");
    assert_lacks(crm, "\r");
    assert_lacks(crm, "\nprimitive evil");
    free(crm);
    import_free(conf);
}
END_TEST

static Suite *
import_suite(void)
{
    Suite *s = suite_create("import");

    add_test(s, test_fixture_round_trip, 10);
    add_test(s, test_fixture_load_fd, 10);
    add_test(s, test_xml_ids_unique, 10);
    add_test(s, test_vm_primitive_and_ops, 10);
    add_test(s, test_vm_migrate, 10);
    add_test(s, test_vm_xmlfile, 10);
    add_test(s, test_vm_path, 10);
    add_test(s, test_vm_snapshot_status_program, 10);
    add_test(s, test_vm_status_program_needs_shell, 10);
    add_test(s, test_vm_migrate_options, 10);
    add_test(s, test_vm_migration_params, 10);
    add_test(s, test_vm_remoteuri_with_mapping_warns, 10);
    add_test(s, test_vm_autostart, 10);
    add_test(s, test_vm_exclusive_warns, 10);
    add_test(s, test_vm_unknown_attribute_warns, 10);
    add_test(s, test_vm_untranslated_attributes_warn, 10);
    add_test(s, test_recovery_restart, 10);
    add_test(s, test_recovery_restart_unlimited, 10);
    add_test(s, test_recovery_relocate, 10);
    add_test(s, test_recovery_disable, 10);
    add_test(s, test_recovery_restart_disable, 10);
    add_test(s, test_recovery_bad, 10);
    add_test(s, test_domain_ordered, 10);
    add_test(s, test_domain_unordered, 10);
    add_test(s, test_domain_restricted, 10);
    add_test(s, test_domain_nofailback, 10);
    add_test(s, test_domain_undefined, 10);
    add_test(s, test_domain_bad_priority, 10);
    add_test(s, test_domain_unknown_node_warns, 10);
    add_test(s, test_depend_vm, 10);
    add_test(s, test_depend_other_warns, 10);
    add_test(s, test_depend_bad, 10);
    add_test(s, test_nested_vm_warns, 10);
    add_test(s, test_bad_not_xml, 10);
    add_test(s, test_bad_root, 10);
    add_test(s, test_bad_no_rm, 10);
    add_test(s, test_bad_vm_without_name, 10);
    add_test(s, test_bad_duplicate, 10);
    add_test(s, test_bad_domain, 10);
    add_test(s, test_bad_migrate, 10);
    add_test(s, test_bad_all_reported, 10);
    add_test(s, test_bad_entities, 10);
    add_test(s, test_bad_too_big, 10);
    add_test(s, test_format_parse_and_free, 10);
    /* minutes to hours before the import was linear; well under a second now */
    add_test(s, test_scale_same_id, 20);
    add_test(s, test_scale_many_problems, 20);
    add_test(s, test_scale_one_line, 20);
    add_test(s, test_scale_location_bound, 20);
    add_test(s, test_crm_carriage_return, 10);
    add_test(s, test_crm_comment_one_line, 10);
    add_test(s, test_bad_one_line_each, 10);
    return s;
}

int
main(void)
{
    return check_run(import_suite());
}
