/* check_params.c — parameter parsing and validation, every bad value. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "check_common.h"
#include "params.h"

static struct ferry_params *
parse_ok(char *const *env)
{
    struct ferry_params *p = NULL;
    ferry_error *err = NULL;

    ck_assert_msg(params_parse(env, &p, &err) == 0, "unexpected: %s", error_message(err));
    ck_assert_ptr_null(err);
    ck_assert_ptr_nonnull(p);
    return p;
}

/* Parses env expecting a FERRY_E_CONFIG whose message contains want. */
static void
parse_bad(char *const *env, const char *want)
{
    struct ferry_params *p = NULL;
    ferry_error *err = NULL;

    ck_assert_int_eq(params_parse(env, &p, &err), FERRY_E_CONFIG);
    ck_assert_ptr_nonnull(p);           /* defaults are still there for stop */
    ck_assert_msg(strstr(error_message(err), want) != NULL, "'%s' lacks '%s'",
                  error_message(err), want);
    params_free(p);
    error_free(err);
}

START_TEST(test_defaults)
{
    char *env[] = { "OCF_RESKEY_name=vm1", NULL };
    struct ferry_params *p = parse_ok(env);
    ferry_error *err = NULL;

    ck_assert_str_eq(p->name, "vm1");
    ck_assert_ptr_null(p->config);
    ck_assert_str_eq(p->hypervisor, "qemu:///system");
    ck_assert(!p->force_stop);
    ck_assert(!p->persistent);
    ck_assert_int_eq(p->shutdown_timeout_ms, -1);
    ck_assert_int_eq(p->timeout_ms, 0);
    ck_assert_int_eq(p->interval_ms, 0);
    ck_assert_str_eq(p->state_dir, "/run/resource-agents");
    ck_assert(!p->debug);
    ck_assert_int_eq(params_validate(p, &err), 0);
    params_free(p);
}
END_TEST

START_TEST(test_everything_set)
{
    char *env[] = {
        "OCF_RESKEY_config=/shared/vm1.xml", "OCF_RESKEY_name=vm1",
        "OCF_RESKEY_hypervisor=test:///default", "OCF_RESKEY_force_stop=yes",
        "OCF_RESKEY_shutdown_timeout=45s", "OCF_RESKEY_persistent=1",
        "OCF_RESKEY_CRM_meta_timeout=120000", "OCF_RESKEY_CRM_meta_interval=10000",
        "OCF_RESKEY_CRM_meta_migrate_source=node1", "OCF_RESKEY_CRM_meta_migrate_target=node2",
        "OCF_RESKEY_CRM_meta_on_node=node1", "OCF_RESOURCE_INSTANCE=p_vm1",
        "OCF_RA_VERSION_MAJOR=1", "OCF_RA_VERSION_MINOR=1", "HA_RSCTMP=/tmp/x",
        "HA_debug=1", "OCF_RESKEY_crm_feature_set=3.16.1", "UNRELATED=1", NULL,
    };
    struct ferry_params *p = parse_ok(env);

    ck_assert_str_eq(p->config, "/shared/vm1.xml");
    ck_assert_str_eq(p->hypervisor, "test:///default");
    ck_assert(p->force_stop);
    ck_assert(p->persistent);
    ck_assert_int_eq(p->shutdown_timeout_ms, 45000);
    ck_assert_int_eq(p->timeout_ms, 120000);
    ck_assert_int_eq(p->interval_ms, 10000);
    ck_assert_str_eq(p->migrate_source, "node1");
    ck_assert_str_eq(p->migrate_target, "node2");
    ck_assert_str_eq(p->on_node, "node1");
    ck_assert_str_eq(p->instance, "p_vm1");
    ck_assert_str_eq(p->state_dir, "/tmp/x");
    ck_assert(p->debug);
    ck_assert(params_ra_version_at_least(p, 1, 1));
    ck_assert(params_ra_version_at_least(p, 1, 0));
    ck_assert(!params_ra_version_at_least(p, 1, 2));
    params_free(p);
}
END_TEST

START_TEST(test_empty_values_are_unset)
{
    char *env[] = { "OCF_RESKEY_name=", "OCF_RESKEY_config=", "OCF_RESKEY_hypervisor=", NULL };
    struct ferry_params *p = parse_ok(env);
    ferry_error *err = NULL;

    ck_assert_ptr_null(p->name);
    ck_assert_ptr_null(p->config);
    ck_assert_str_eq(p->hypervisor, "qemu:///system");
    ck_assert_int_eq(params_validate(p, &err), FERRY_E_CONFIG);
    ck_assert_ptr_nonnull(strstr(error_message(err), "neither 'config' nor 'name'"));
    error_free(err);
    params_free(p);
}
END_TEST

/* metrics_dir: Debian's node_exporter directory by default, off when set
 * empty (the one parameter where empty is not "unset"), absolute otherwise. */
START_TEST(test_metrics_dir)
{
    char *unset[] = { "OCF_RESKEY_name=vm1", NULL };
    char *empty[] = { "OCF_RESKEY_name=vm1", "OCF_RESKEY_metrics_dir=", NULL };
    char *relative[] = { "OCF_RESKEY_name=vm1", "OCF_RESKEY_metrics_dir=prom", NULL };
    struct ferry_params *p = parse_ok(unset);
    ferry_error *err = NULL;

    ck_assert_str_eq(p->metrics_dir, "/var/lib/prometheus/node-exporter");
    params_free(p);
    p = parse_ok(empty);
    ck_assert_str_eq(p->metrics_dir, "");
    ck_assert_int_eq(params_validate(p, &err), 0);
    params_free(p);
    p = parse_ok(relative);
    ck_assert_int_eq(params_validate(p, &err), FERRY_E_CONFIG);
    ck_assert_ptr_nonnull(strstr(error_message(err), "'metrics_dir'"));
    error_free(err);
    params_free(p);
}
END_TEST

START_TEST(test_bad_booleans)
{
    char *env1[] = { "OCF_RESKEY_name=a", "OCF_RESKEY_force_stop=maybe", NULL };
    char *env2[] = { "OCF_RESKEY_name=a", "OCF_RESKEY_persistent=2", NULL };
    char *env3[] = { "OCF_RESKEY_name=a", "OCF_RESKEY_persistent= true", NULL };

    parse_bad(env1, "parameter 'force_stop' is 'maybe', which is not a boolean");
    parse_bad(env2, "parameter 'persistent' is '2'");
    parse_bad(env3, "'persistent'");
}
END_TEST

START_TEST(test_bad_times)
{
    char *env1[] = { "OCF_RESKEY_name=a", "OCF_RESKEY_shutdown_timeout=soon", NULL };
    char *env2[] = { "OCF_RESKEY_name=a", "OCF_RESKEY_shutdown_timeout=-5", NULL };
    char *env3[] = { "OCF_RESKEY_name=a", "OCF_RESKEY_shutdown_timeout=10 parsecs", NULL };
    char *env4[] = { "OCF_RESKEY_name=a", "OCF_RESKEY_shutdown_timeout=99999999h", NULL };
    char *env5[] = { "OCF_RESKEY_name=a", "OCF_RESKEY_CRM_meta_timeout=20s", NULL };
    char *env6[] = { "OCF_RESKEY_name=a", "OCF_RESKEY_CRM_meta_interval=-1", NULL };

    parse_bad(env1, "parameter 'shutdown_timeout' is 'soon', which is not a time");
    parse_bad(env2, "'shutdown_timeout' is '-5'");
    parse_bad(env3, "not a time");
    parse_bad(env4, "more than a day");
    parse_bad(env5, "OCF_RESKEY_CRM_meta_timeout is '20s'");
    parse_bad(env6, "OCF_RESKEY_CRM_meta_interval is '-1'");
}
END_TEST

START_TEST(test_validate_rejects)
{
    static const struct {
        const char *var;
        const char *want;
    } cases[] = {
        { "OCF_RESKEY_config=relative/vm.xml", "not an absolute path" },
        { "OCF_RESKEY_name=a/b", "not a valid libvirt domain name" },
        { "OCF_RESKEY_hypervisor=qemu", "not a libvirt URI" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* the first definition of a variable counts, as in getenv() */
        char *env[] = { (char *)cases[i].var, "OCF_RESKEY_name=ok", NULL };
        struct ferry_params *p = parse_ok(env);
        ferry_error *err = NULL;

        ck_assert_int_eq(params_validate(p, &err), FERRY_E_CONFIG);
        ck_assert_msg(strstr(error_message(err), cases[i].want), "%s", error_message(err));
        error_free(err);
        params_free(p);
    }
    {
        /* post-copy needs a running guest: with migrate=pause it could never work */
        char *env[] = { "OCF_RESKEY_name=ok", "OCF_RESKEY_migrate=pause",
                        "OCF_RESKEY_migration_policy=postcopy", NULL };
        struct ferry_params *p = parse_ok(env);
        ferry_error *err = NULL;

        ck_assert_int_eq(params_validate(p, &err), FERRY_E_CONFIG);
        ck_assert_ptr_nonnull(strstr(error_message(err), "needs migrate 'live'"));
        error_free(err);
        params_free(p);
    }
}
END_TEST

START_TEST(test_value_parsers)
{
    bool b = false;
    int64_t v = 0;

    ck_assert_int_eq(params_parse_bool("TRUE", &b), 0);
    ck_assert(b);
    ck_assert_int_eq(params_parse_bool("Off", &b), 0);
    ck_assert(!b);
    ck_assert_int_eq(params_parse_bool("", &b), -EINVAL);
    ck_assert_int_eq(params_parse_bool(NULL, &b), -EINVAL);

    ck_assert_int_eq(params_parse_int("42", 0, 100, &v), 0);
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(params_parse_int("101", 0, 100, &v), -ERANGE);
    ck_assert_int_eq(params_parse_int("4x", 0, 100, &v), -EINVAL);
    ck_assert_int_eq(params_parse_int(" 4", 0, 100, &v), -EINVAL);
    ck_assert_int_eq(params_parse_int("99999999999999999999", 0, INT64_MAX, &v), -EINVAL);

    ck_assert_int_eq(params_parse_time_ms("30", &v), 0);
    ck_assert_int_eq(v, 30000);
    ck_assert_int_eq(params_parse_time_ms("500ms", &v), 0);
    ck_assert_int_eq(v, 500);
    ck_assert_int_eq(params_parse_time_ms("2min", &v), 0);
    ck_assert_int_eq(v, 120000);
    ck_assert_int_eq(params_parse_time_ms("1h", &v), 0);
    ck_assert_int_eq(v, 3600000);
    ck_assert_int_eq(params_parse_time_ms("25h", &v), -ERANGE);
    ck_assert_int_eq(params_parse_time_ms("s", &v), -EINVAL);
    ck_assert_int_eq(params_parse_time_ms("", &v), -EINVAL);
}
END_TEST

START_TEST(test_table_is_complete)
{
    size_t n = 0;
    size_t i;
    const struct params_def *t = params_table(&n);

    ck_assert_int_ge(n, 6);
    for (i = 0; i < n; i++) {
        ck_assert_ptr_nonnull(t[i].name);
        ck_assert_msg(t[i].shortdesc && strlen(t[i].shortdesc) > 5, "%s: shortdesc", t[i].name);
        ck_assert_msg(t[i].longdesc && strlen(t[i].longdesc) > 40, "%s: longdesc", t[i].name);
    }
}
END_TEST

START_TEST(test_rgmanager_aliases)
{
    char *env1[] = { "OCF_RESKEY_xmlfile=/etc/libvirt/qemu/vm1.xml", "OCF_RESKEY_hypervisor_uri=qemu+tcp://h/system",
                     "OCF_RESKEY_migration_uri=qemu+ssh://%s-mig/system", "OCF_RESKEY_path=/a:/b",
                     "OCF_RESKEY_no_kill=1", NULL };
    char *env2[] = { "OCF_RESKEY_xmlfile=/a.xml", "OCF_RESKEY_config=/b.xml", NULL };
    char *env3[] = { "OCF_RESKEY_xmlfile=/a.xml", "OCF_RESKEY_config=/a.xml", NULL };
    struct ferry_params *p = parse_ok(env1);

    ck_assert_str_eq(p->config, "/etc/libvirt/qemu/vm1.xml");
    ck_assert_str_eq(p->hypervisor, "qemu+tcp://h/system");
    /* rgmanager's %s is the target: ours is %n */
    ck_assert_str_eq(p->remoteuri, "qemu+ssh://%n-mig/system");
    ck_assert_str_eq(p->path, "/a:/b");
    ck_assert(p->no_kill);
    params_free(p);
    parse_bad(env2, "parameters 'xmlfile' ('/a.xml') and 'config' ('/b.xml') disagree");
    p = parse_ok(env3);
    ck_assert_str_eq(p->config, "/a.xml");
    params_free(p);
}
END_TEST

static void
split_ok(const char *text, const char *const *want)
{
    char **argv = NULL;
    ferry_error *err = NULL;
    size_t i;

    ck_assert_msg(params_split_argv(text, &argv, &err) == 0, "%s: %s", text, error_message(err));
    for (i = 0; want[i]; i++) {
        ck_assert_ptr_nonnull(argv[i]);
        ck_assert_str_eq(argv[i], want[i]);
    }
    ck_assert_ptr_null(argv[i]);
    params_argv_free(argv);
}

static void
split_bad(const char *text, const char *want)
{
    char **argv = NULL;
    ferry_error *err = NULL;

    ck_assert_int_eq(params_split_argv(text, &argv, &err), -EINVAL);
    ck_assert_ptr_null(argv);
    ck_assert_msg(strstr(error_message(err), want), "'%s' lacks '%s'", error_message(err), want);
    error_free(err);
}

START_TEST(test_split_argv)
{
    split_ok("/bin/check", (const char *const[]){ "/bin/check", NULL });
    split_ok("  check  -p 80\t--x ", (const char *const[]){ "check", "-p", "80", "--x", NULL });
    split_ok("check 'a b' \"c d\" e\\ f", (const char *const[]){ "check", "a b", "c d", "e f", NULL });
    split_ok("check 'it''s' \"q\\\"q\" ''", (const char *const[]){ "check", "its", "q\"q", "", NULL });
    split_ok("check '|;$'", (const char *const[]){ "check", "|;$", NULL });
    split_bad("check | grep ok", "needs a shell (it has '|')");
    split_bad("check > /tmp/x", "needs a shell (it has '>')");
    split_bad("check $HOME", "needs a shell (it has '$')");
    split_bad("check \"$HOME\"", "needs a shell ('$' inside double quotes)");
    split_bad("check *.xml", "needs a shell (it has '*')");
    split_bad("check; reboot", "needs a shell (it has ';')");
    split_bad("check 'open", "unterminated ' quote");
    split_bad("check \\", "lone backslash");
    split_bad("   ", "the command is empty");
    ck_assert_ptr_null(params_argv_free(NULL));
}
END_TEST

START_TEST(test_rgmanager_status_program_snapshot)
{
    char *env1[] = { "OCF_RESKEY_name=vm1", "OCF_RESKEY_status_program=/bin/check -p 80",
                     "OCF_RESKEY_snapshot=/snap", "OCF_CHECK_LEVEL=10", NULL };
    char *env2[] = { "OCF_RESKEY_name=vm1", "OCF_RESKEY_status_program=check | grep x", NULL };
    char *env3[] = { "OCF_RESKEY_name=vm1", "OCF_RESKEY_snapshot=snap", NULL };
    struct ferry_params *p = parse_ok(env1);
    ferry_error *err = NULL;

    ck_assert_str_eq(p->status_argv[0], "/bin/check");
    ck_assert_str_eq(p->status_argv[2], "80");
    ck_assert_ptr_null(p->status_argv[3]);
    ck_assert_str_eq(p->snapshot, "/snap");
    ck_assert_int_eq(p->check_level, 10);
    params_free(p);
    parse_bad(env2, "parameter 'status_program': 'check | grep x' needs a shell");
    p = parse_ok(env3);
    ck_assert_int_eq(params_validate(p, &err), FERRY_E_CONFIG);
    ck_assert_ptr_nonnull(strstr(error_message(err), "'snapshot' is 'snap', which is not an absolute"));
    error_free(err);
    params_free(p);
}
END_TEST

START_TEST(test_rgmanager_migrate_options)
{
    char *all[] = { "OCF_RESKEY_name=vm1",
                    "OCF_RESKEY_migrate_options=--live --p2p --verbose --tunnelled --unsafe "
                    "--compressed --auto-converge --bandwidth 500", NULL };
    char *par[] = { "OCF_RESKEY_name=vm1", "OCF_RESKEY_migrate_options=--parallel --tls "
                    "--comp-methods mt --postcopy", NULL };
    char *parn[] = { "OCF_RESKEY_name=vm1", "OCF_RESKEY_migrate_options=--parallel-connections 4 --parallel", NULL };
    char *same[] = { "OCF_RESKEY_name=vm1", "OCF_RESKEY_migrate_options=--bandwidth 100",
                     "OCF_RESKEY_migration_speed=100", NULL };
    struct ferry_params *p = parse_ok(all);

    ck_assert_str_eq(p->migrate, "live");
    ck_assert_int_eq(p->migrate_mode, MIGRATE_MODE_LIVE);
    ck_assert(p->tunnelled);
    ck_assert(p->allow_unsafe);
    ck_assert_str_eq(p->migration_compression, "xbzrle");
    ck_assert_str_eq(p->migration_policy, "auto-converge");
    ck_assert_int_eq(p->migration_policy_id, MIGRATE_POLICY_AUTO_CONVERGE);
    ck_assert_int_eq(p->migration_speed_mib_s, 500);
    params_free(p);
    p = parse_ok(par);
    ck_assert_int_eq(p->migration_parallel, 2);
    ck_assert(p->tls);
    ck_assert_str_eq(p->migration_compression, "mt");
    ck_assert_str_eq(p->migration_policy, "postcopy");
    ck_assert_int_eq(p->migration_policy_id, MIGRATE_POLICY_POSTCOPY);
    params_free(p);
    p = parse_ok(parn);
    ck_assert_int_eq(p->migration_parallel, 4);
    params_free(p);
    p = parse_ok(same);
    ck_assert_int_eq(p->migration_speed_mib_s, 100);
    params_free(p);

    parse_bad((char *[]){ "OCF_RESKEY_migrate=pause", "OCF_RESKEY_migrate_options=--live", NULL },
              "has --live, but parameter 'migrate' is 'pause'; set one of them");
    parse_bad((char *[]){ "OCF_RESKEY_tunnelled=no", "OCF_RESKEY_migrate_options=--tunnelled", NULL },
              "has --tunnelled, but parameter 'tunnelled' is 'no'");
    parse_bad((char *[]){ "OCF_RESKEY_migration_speed=50", "OCF_RESKEY_migrate_options=--bandwidth 60", NULL },
              "has --bandwidth, but parameter 'migration_speed' is '50'");
    parse_bad((char *[]){ "OCF_RESKEY_migrate_options=--bandwidth fast", NULL },
              "--bandwidth needs a whole number > 0");
    parse_bad((char *[]){ "OCF_RESKEY_migrate_options=--comp-methods zstd", NULL },
              "--comp-methods needs xbzrle or mt");
    parse_bad((char *[]){ "OCF_RESKEY_migrate_options=--live --suspend", NULL },
              "has '--suspend', which ferry does not take");
    parse_bad((char *[]){ "OCF_RESKEY_migrate_options=--direct", NULL },
              "has '--direct', which ferry does not take");
    parse_bad((char *[]){ "OCF_RESKEY_migration_parallel=1", "OCF_RESKEY_migrate_options=--parallel", NULL },
              "has --parallel, but parameter 'migration_parallel' is '1'");
    parse_bad((char *[]){ "OCF_RESKEY_migrate_options=--live > /dev/null", NULL },
              "parameter 'migrate_options': '--live > /dev/null' needs a shell");
}
END_TEST

/* The name checks behind migration_user, migration_mapping and the URIs. */
START_TEST(test_uri_parts)
{
    static const char *const users[] = { "root", "mig_user", "a.b-c", "u1" };
    static const char *const bad_users[] = { "", "-o", "a b", "a@b", "a/b", "a:b", "a%40b",
                                             "a\nb" };
    static const char *const hosts[] = { "node2", "node2.example.com", "n-2", "node_2", "10.0.0.2",
                                         "[::1]", "[fd00::2]", "a" };
    static const char *const bad_hosts[] = { "", "-oProxyCommand=x", "a..b", "a.", ".a", "a.-b",
                                             "a b", "h/x", "h?x", "h#", "u@h", "h:22", "[::1",
                                             "[x]", "::1", "[::1]:22" };
    char why[512];
    size_t i;

    for (i = 0; i < sizeof(users) / sizeof(users[0]); i++)
        ck_assert_msg(params_user_valid(users[i]), "%s", users[i]);
    for (i = 0; i < sizeof(bad_users) / sizeof(bad_users[0]); i++)
        ck_assert_msg(!params_user_valid(bad_users[i]), "%s", bad_users[i]);
    ck_assert(!params_user_valid(NULL));
    for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
        ck_assert_msg(params_host_valid(hosts[i]), "%s", hosts[i]);
    for (i = 0; i < sizeof(bad_hosts) / sizeof(bad_hosts[0]); i++)
        ck_assert_msg(!params_host_valid(bad_hosts[i]), "%s", bad_hosts[i]);
    ck_assert(!params_host_valid(NULL));

    ck_assert_int_eq(params_uri_check("qemu+ssh://u@h:22/system?no_tty=1", PARAMS_URI_LIBVIRT,
                                      why, sizeof(why)), 0);
    ck_assert_int_eq(params_uri_check("qemu+ssh://h/system?No_Verify=1", PARAMS_URI_LIBVIRT,
                                      why, sizeof(why)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "'No_Verify' is not accepted"));
    ck_assert_int_eq(params_uri_check("qemu+ssh://h/system?no_tty=1&no_tty", PARAMS_URI_LIBVIRT,
                                      why, sizeof(why)), -EINVAL);
    ck_assert_int_eq(params_uri_check("qemu+ssh://h/system?mode=a=b", PARAMS_URI_LIBVIRT,
                                      why, sizeof(why)), -EINVAL);
    ck_assert_int_eq(params_uri_check("qemu+ssh://h/sys[tem", PARAMS_URI_LIBVIRT, why,
                                      sizeof(why)), -EINVAL);
    ck_assert_int_eq(params_uri_check("tcp://[::1]:49152", PARAMS_URI_DATA, why, sizeof(why)), 0);
    ck_assert_int_eq(params_uri_check("tcp://u@h:49152", PARAMS_URI_DATA, why, sizeof(why)),
                     -EINVAL);
    ck_assert_int_eq(params_uri_check("tcp://h:49152/x", PARAMS_URI_DATA, why, sizeof(why)),
                     -EINVAL);
    ck_assert_int_eq(params_uri_check("tcp://h:65536", PARAMS_URI_DATA, why, sizeof(why)),
                     -EINVAL);
}
END_TEST

START_TEST(test_free_null)
{
    ck_assert_ptr_null(params_free(NULL));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("params");

    add_test(s, test_defaults, 5);
    add_test(s, test_everything_set, 5);
    add_test(s, test_metrics_dir, 5);
    add_test(s, test_empty_values_are_unset, 5);
    add_test(s, test_bad_booleans, 5);
    add_test(s, test_bad_times, 5);
    add_test(s, test_validate_rejects, 5);
    add_test(s, test_value_parsers, 5);
    add_test(s, test_table_is_complete, 5);
    add_test(s, test_rgmanager_aliases, 5);
    add_test(s, test_split_argv, 5);
    add_test(s, test_rgmanager_status_program_snapshot, 5);
    add_test(s, test_rgmanager_migrate_options, 5);
    add_test(s, test_uri_parts, 5);
    add_test(s, test_free_null, 5);
    return check_run(s);
}
