/* check_migrate.c — migration target resolution, pre-flight checks and the
 * non-convergence policy (the parts that need no hypervisor). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_common.h"
#include "migrate.h"

static struct ferry_params *
params_from(const char *const *vars)
{
    char *env[32];
    struct ferry_params *p = NULL;
    ferry_error *err = NULL;
    size_t n = 0;

    for (; vars && *vars; vars++)
        env[n++] = (char *)*vars;
    env[n++] = "OCF_RESKEY_name=vm1";
    env[n] = NULL;
    ck_assert_msg(params_parse(env, &p, &err) == 0, "%s", error_message(err));
    ck_assert_msg(params_validate(p, &err) == 0, "%s", error_message(err));
    return p;
}

static void
resolve_ok(const char *const *vars, const char *node, const char *host, const char *dest,
           const char *data)
{
    struct ferry_params *p = params_from(vars);
    struct migrate_target t;
    ferry_error *err = NULL;

    ck_assert_msg(migrate_target_resolve(p, node, "node1", &t, &err) == 0, "%s",
                  error_message(err));
    ck_assert_str_eq(t.node, node);
    ck_assert_str_eq(t.host, host);
    ck_assert_str_eq(t.dest_uri, dest);
    if (data)
        ck_assert_str_eq(t.data_uri, data);
    else
        ck_assert_ptr_null(t.data_uri);
    migrate_target_clear(&t);
    params_free(p);
}

static void
resolve_bad(const char *const *vars, const char *node, int code, const char *want)
{
    struct ferry_params *p = params_from(vars);
    struct migrate_target t;
    ferry_error *err = NULL;

    ck_assert_int_eq(migrate_target_resolve(p, node, "node1", &t, &err), code);
    ck_assert_msg(strstr(error_message(err), want), "'%s' lacks '%s'", error_message(err), want);
    error_free(err);
    params_free(p);
}

START_TEST(test_target_default)
{
    resolve_ok(NULL, "node2", "node2", "qemu+ssh://node2/system?no_tty=1", NULL);
}
END_TEST

START_TEST(test_target_user_and_mapping)
{
    const char *v1[] = { "OCF_RESKEY_migration_user=mig", NULL };
    const char *v2[] = { "OCF_RESKEY_migration_mapping=node1:h1.example,node2:h2.example", NULL };
    const char *v3[] = { "OCF_RESKEY_migration_mapping=node22:wrong,node2:right", NULL };

    resolve_ok(v1, "node2", "node2", "qemu+ssh://mig@node2/system?no_tty=1", NULL);
    resolve_ok(v2, "node2", "h2.example", "qemu+ssh://h2.example/system?no_tty=1", NULL);
    /* exact match: node2 is not node22 */
    resolve_ok(v3, "node2", "right", "qemu+ssh://right/system?no_tty=1", NULL);
}
END_TEST

START_TEST(test_target_uris)
{
    const char *v1[] = { "OCF_RESKEY_migration_network_suffix=-mig", NULL };
    const char *v2[] = { "OCF_RESKEY_migrateuri=tcp://%n-mig:49152", NULL };
    const char *v3[] = { "OCF_RESKEY_remoteuri=qemu+tls://%n.example/system", NULL };

    resolve_ok(v1, "node2", "node2", "qemu+ssh://node2/system?no_tty=1", "tcp://node2-mig");
    resolve_ok(v1, "node2.example.com", "node2.example.com",
               "qemu+ssh://node2.example.com/system?no_tty=1", "tcp://node2-mig.example.com");
    resolve_ok(v2, "node2", "node2", "qemu+ssh://node2/system?no_tty=1", "tcp://node2-mig:49152");
    resolve_ok(v3, "node2", "node2", "qemu+tls://node2.example/system", NULL);
}
END_TEST

START_TEST(test_target_rejects)
{
    const char *map[] = { "OCF_RESKEY_migration_mapping=node1:a,node22:b", NULL };

    resolve_bad(NULL, NULL, FERRY_E_ARGS, "no migration target");
    resolve_bad(NULL, "", FERRY_E_ARGS, "no migration target");
    resolve_bad(NULL, "node1", FERRY_E_ARGS, "is this node");
    resolve_bad(map, "node2", FERRY_E_CONFIG, "'node2' is not in migration_mapping");
    resolve_bad(map, "node", FERRY_E_CONFIG, "is not in migration_mapping");
}
END_TEST

START_TEST(test_mapping_syntax)
{
    static const char *const bad[] = { "node1", "node1:", ":h", "a:b:c", "a:b,,c:d" };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char var[128];
        char *env[] = { var, "OCF_RESKEY_name=vm1", NULL };
        struct ferry_params *p = NULL;
        ferry_error *err = NULL;

        snprintf(var, sizeof(var), "OCF_RESKEY_migration_mapping=%s", bad[i]);
        ck_assert_int_eq(params_parse(env, &p, &err), 0);
        ck_assert_int_eq(params_validate(p, &err), FERRY_E_CONFIG);
        ck_assert_msg(strstr(error_message(err), "each entry must be node:host"), "%s: %s", bad[i],
                      error_message(err));
        error_free(err);
        params_free(p);
    }
}
END_TEST

START_TEST(test_params_validation)
{
    static const struct {
        const char *var;
        const char *want;
    } cases[] = {
        { "OCF_RESKEY_migrate=fast", "parameter 'migrate' is 'fast'" },
        { "OCF_RESKEY_migration_policy=retry", "parameter 'migration_policy' is 'retry'" },
        { "OCF_RESKEY_migration_compression=gzip", "'migration_compression' is 'gzip'" },
        { "OCF_RESKEY_migration_stall_timeout=0", "must be more than 0" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *env[] = { (char *)cases[i].var, "OCF_RESKEY_name=vm1", NULL };
        struct ferry_params *p = NULL;
        ferry_error *err = NULL;

        ck_assert_int_eq(params_parse(env, &p, &err), 0);
        ck_assert_int_eq(params_validate(p, &err), FERRY_E_CONFIG);
        ck_assert_msg(strstr(error_message(err), cases[i].want), "%s", error_message(err));
        error_free(err);
        params_free(p);
    }
    {
        char *env[] = { "OCF_RESKEY_tunnelled=true", "OCF_RESKEY_migrateuri=tcp://x",
                        "OCF_RESKEY_name=vm1", NULL };
        struct ferry_params *p = NULL;
        ferry_error *err = NULL;

        ck_assert_int_eq(params_parse(env, &p, &err), 0);
        ck_assert_int_eq(params_validate(p, &err), FERRY_E_CONFIG);
        ck_assert_ptr_nonnull(strstr(error_message(err), "'tunnelled' is true"));
        error_free(err);
        params_free(p);
    }
}
END_TEST

START_TEST(test_expand_and_endpoint)
{
    char *s = NULL;
    char *host = NULL;
    int port = 0;

    s = migrate_expand("tcp://%n-mig/%n", "n2");
    ck_assert_str_eq(s, "tcp://n2-mig/n2");
    free(s);
    s = migrate_expand("plain", "n2");
    ck_assert_str_eq(s, "plain");
    free(s);

    ck_assert_int_eq(migrate_uri_endpoint("qemu+ssh://root@node2/system?no_tty=1", &host, &port), 0);
    ck_assert_str_eq(host, "node2");
    ck_assert_int_eq(port, 22);
    free(host);
    ck_assert_int_eq(migrate_uri_endpoint("qemu+ssh://node2:2222/system", &host, &port), 0);
    ck_assert_str_eq(host, "node2");
    ck_assert_int_eq(port, 2222);
    free(host);
    ck_assert_int_eq(migrate_uri_endpoint("qemu+tcp://n3/system", &host, &port), 0);
    ck_assert_int_eq(port, 16509);
    free(host);
    ck_assert_int_eq(migrate_uri_endpoint("qemu:///system", &host, &port), -ENOTSUP);
    ck_assert_int_eq(migrate_uri_endpoint("nonsense", &host, &port), -EINVAL);
}
END_TEST

START_TEST(test_probe_refused_fast)
{
    ferry_error *err = NULL;
    int64_t t0 = deadline_now_ms();

    /* nothing listens on port 1 of the loopback: refused at once */
    ck_assert_int_eq(migrate_probe_tcp("127.0.0.1", 1, 2000, &err), FERRY_E_LIBVIRT);
    ck_assert_ptr_nonnull(strstr(error_message(err), "cannot reach 127.0.0.1 port 1"));
    ck_assert_int_lt(deadline_now_ms() - t0, 1000);
    error_free(err);
    err = NULL;
    ck_assert_int_eq(migrate_probe_tcp("no-such-host.invalid", 22, 500, &err), FERRY_E_LIBVIRT);
    ck_assert_ptr_nonnull(strstr(error_message(err), "cannot resolve"));
    error_free(err);
}
END_TEST

static void
disks_check(const char *disk_xml, int want, const char *text)
{
    char xml[1024];
    domxml *d = NULL;
    ferry_error *err = NULL;

    snprintf(xml, sizeof(xml), "<domain><name>a</name><devices>%s</devices></domain>", disk_xml);
    ck_assert_int_eq(domxml_parse(xml, strlen(xml), "t", &d, &err), 0);
    ck_assert_int_eq(migrate_check_disks(d, &err), want);
    if (text)
        ck_assert_msg(strstr(error_message(err), text), "%s", error_message(err));
    error_free(err);
    domxml_free(d);
}

START_TEST(test_disk_safety)
{
    /* /tmp (this machine's local filesystem) is not shared storage */
    disks_check("<disk type='file'><driver cache='none'/><source file='/tmp/x.qcow2'/>"
                "<target dev='vda'/></disk>", FERRY_E_STATE, "not treat as shared");
    disks_check("<disk type='file'><driver cache='writeback'/><source file='/tmp/x.qcow2'/>"
                "<target dev='vda'/></disk>", FERRY_E_STATE, "cache mode 'writeback'");
    disks_check("<disk type='file'><source file='/tmp/x.qcow2'/><target dev='vda'/></disk>",
                FERRY_E_STATE, "cache mode 'default'");
    /* read-only, shareable and empty drives are fine */
    disks_check("<disk type='file' device='cdrom'><source file='/tmp/x.iso'/><readonly/></disk>", 0, NULL);
    disks_check("<disk type='file'><driver cache='none'/><source file='/tmp/x'/><shareable/></disk>", 0, NULL);
    disks_check("<disk type='file' device='cdrom'><target dev='hdc'/></disk>", 0, NULL);
    disks_check("<disk type='network'><driver cache='none'/><source protocol='rbd' name='p/v'/></disk>", 0, NULL);
    disks_check("", 0, NULL);
    ck_assert(!migrate_path_is_shared("/tmp"));
}
END_TEST

static struct migrate_watch
watch_for(const char *policy, bool live)
{
    char pol[64];
    const char *vars[] = { pol, live ? "OCF_RESKEY_migrate=live" : "OCF_RESKEY_migrate=pause",
                           "OCF_RESKEY_migration_stall_timeout=10",
                           "OCF_RESKEY_migration_timeout_per_gib=40", NULL };
    struct ferry_params *p = NULL;
    struct migrate_watch w;
    deadline dl;

    snprintf(pol, sizeof(pol), "OCF_RESKEY_migration_policy=%s", policy);
    p = params_from(vars);
    dl.start_ms = 0;
    dl.end_ms = 100000;
    migrate_watch_init(&w, p, 512 * 1024, &dl, 0);   /* a 512 MiB guest */
    params_free(p);
    return w;
}

START_TEST(test_watch_init)
{
    struct migrate_watch w = watch_for("pause", true);

    ck_assert(w.live);
    ck_assert_int_eq(w.policy, MIGRATE_POLICY_PAUSE);
    ck_assert_int_eq(w.stall_timeout_ms, 10000);
    /* under one GiB counts as one GiB */
    ck_assert_int_eq(w.completion_at_ms, 40000);
    /* 20 % of the time left is kept back */
    ck_assert_int_eq(w.hard_at_ms, 80000);
    /* a paused copy may go on half-way into that reserve */
    ck_assert_int_eq(w.giveup_at_ms, 90000);
    w = watch_for("abort", false);
    ck_assert(!w.live);
    ck_assert_int_eq(w.policy, MIGRATE_POLICY_ABORT);
}
END_TEST

START_TEST(test_policy_decisions)
{
    struct migrate_watch w;
    const char *why = NULL;

    /* progress keeps it going */
    w = watch_for("pause", true);
    migrate_watch_progress(&w, 1000, 1000);
    migrate_watch_progress(&w, 900, 9000);
    ck_assert_int_eq(migrate_watch_decide(&w, 15000, &why), MIGRATE_ACT_NONE);
    /* no new low for the stall timeout: the policy applies */
    migrate_watch_progress(&w, 950, 18000);
    ck_assert_int_eq(migrate_watch_decide(&w, 19000, &why), MIGRATE_ACT_PAUSE);
    ck_assert_str_eq(why, "stalled");
    /* once paused, only giving up is left, and only when stalled or out of time */
    migrate_watch_suspended(&w, 19000);
    ck_assert_int_eq(migrate_watch_decide(&w, 20000, &why), MIGRATE_ACT_NONE);
    /* still copying while paused: not aborted at the hard deadline, the paused
     * copy may use half the reserve */
    migrate_watch_progress(&w, 800, 75000);
    ck_assert_int_eq(migrate_watch_decide(&w, 80000, &why), MIGRATE_ACT_NONE);
    ck_assert_int_eq(migrate_watch_decide(&w, 90000, &why), MIGRATE_ACT_ABORT);
    ck_assert_str_eq(why, "deadline");

    /* paused because the hard deadline came: the next poll does not abort at once
     * (it did: the pause never got to finish the copy) */
    w = watch_for("pause", true);
    migrate_watch_progress(&w, 100, 79000);
    ck_assert_int_eq(migrate_watch_decide(&w, 80000, &why), MIGRATE_ACT_PAUSE);
    ck_assert_str_eq(why, "deadline");
    migrate_watch_suspended(&w, 80000);
    ck_assert_int_eq(migrate_watch_decide(&w, 80200, &why), MIGRATE_ACT_NONE);
    ck_assert_int_eq(migrate_watch_decide(&w, 89999, &why), MIGRATE_ACT_NONE);
    ck_assert_int_eq(migrate_watch_decide(&w, 90000, &why), MIGRATE_ACT_ABORT);
    /* paused because it stalled: the stall clock starts again */
    w = watch_for("pause", true);
    migrate_watch_progress(&w, 100, 1000);
    ck_assert_int_eq(migrate_watch_decide(&w, 31000, &why), MIGRATE_ACT_PAUSE);
    migrate_watch_suspended(&w, 31000);
    ck_assert_int_eq(migrate_watch_decide(&w, 31200, &why), MIGRATE_ACT_NONE);

    /* the per-GiB budget */
    w = watch_for("abort", true);
    migrate_watch_progress(&w, 100, 39000);
    ck_assert_int_eq(migrate_watch_decide(&w, 39500, &why), MIGRATE_ACT_NONE);
    ck_assert_int_eq(migrate_watch_decide(&w, 40000, &why), MIGRATE_ACT_ABORT);
    ck_assert_str_eq(why, "timeout");
    w.aborted = true;
    ck_assert_int_eq(migrate_watch_decide(&w, 90000, &why), MIGRATE_ACT_NONE);

    w = watch_for("auto-converge", true);
    ck_assert_int_eq(migrate_watch_decide(&w, 10000, &why), MIGRATE_ACT_PAUSE);
    w = watch_for("postcopy", true);
    ck_assert_int_eq(migrate_watch_decide(&w, 10000, &why), MIGRATE_ACT_POSTCOPY);
    w.postcopy = true;     /* post-copy cannot be undone */
    ck_assert_int_eq(migrate_watch_decide(&w, 99000, &why), MIGRATE_ACT_NONE);

    /* pause mode: the guest is paused already; a stall gives up */
    w = watch_for("pause", false);
    ck_assert_int_eq(migrate_watch_decide(&w, 5000, &why), MIGRATE_ACT_NONE);
    ck_assert_int_eq(migrate_watch_decide(&w, 10000, &why), MIGRATE_ACT_ABORT);
}
END_TEST

START_TEST(test_names_and_format)
{
    struct migrate_result r;
    char line[512];

    ck_assert_int_eq(migrate_policy_parse("auto-converge"), MIGRATE_POLICY_AUTO_CONVERGE);
    ck_assert_int_eq(migrate_policy_parse(NULL), MIGRATE_POLICY_PAUSE);
    ck_assert_str_eq(migrate_policy_name(MIGRATE_POLICY_POSTCOPY), "postcopy");
    ck_assert_str_eq(migrate_action_name(MIGRATE_ACT_ABORT), "abort");
    memset(&r, 0, sizeof(r));
    snprintf(r.outcome, sizeof(r.outcome), "completed");
    r.total_ms = 2100;
    r.downtime_ms = 27;
    r.pause_ms = -1;
    r.bytes = 1048576;
    r.throttle_pct = -1;
    migrate_result_format(&r, "vm1", "node1", "node2", "live", "pause", line, sizeof(line));
    ck_assert_str_eq(line, "domain=vm1 from=node1 to=node2 mode=live policy=pause outcome=completed "
                     "trigger=- total_ms=2100 elapsed_ms=0 downtime_ms=27 pause_ms=-1 bytes=1048576 "
                     "dirty_rate_bps=0 iterations=0 throttle_pct=-1");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("migrate");

    add_tcase(s, tcase_create("target_default"), test_target_default, 5);
    add_tcase(s, tcase_create("target_mapping"), test_target_user_and_mapping, 5);
    add_tcase(s, tcase_create("target_uris"), test_target_uris, 5);
    add_tcase(s, tcase_create("target_rejects"), test_target_rejects, 5);
    add_tcase(s, tcase_create("mapping_syntax"), test_mapping_syntax, 5);
    add_tcase(s, tcase_create("params"), test_params_validation, 5);
    add_tcase(s, tcase_create("expand"), test_expand_and_endpoint, 5);
    add_tcase(s, tcase_create("probe"), test_probe_refused_fast, 10);
    add_tcase(s, tcase_create("disks"), test_disk_safety, 5);
    add_tcase(s, tcase_create("watch_init"), test_watch_init, 5);
    add_tcase(s, tcase_create("policy"), test_policy_decisions, 5);
    add_tcase(s, tcase_create("format"), test_names_and_format, 5);
    return check_run(s);
}
