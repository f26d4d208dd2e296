/* check_migrate.c — migration target resolution, pre-flight checks and the
 * non-convergence policy (the parts that need no hypervisor). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <unistd.h>

#include "check_common.h"
#include "migrate-priv.h"
#include "migrate.h"
#include "migration-priv.h"

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

    ck_assert_msg(migrate_target_resolve(p, node, "node1", NULL, &t, &err) == 0, "%s",
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

/* as resolve_ok, the agent having found ferry-ssh at ssh_command */
static void
resolve_ssh(const char *const *vars, const char *ssh_command, const char *dest)
{
    struct ferry_params *p = params_from(vars);
    struct migrate_target t;
    ferry_error *err = NULL;

    ck_assert_msg(migrate_target_resolve(p, "node2", "node1", ssh_command, &t, &err) == 0, "%s",
                  error_message(err));
    ck_assert_str_eq(t.dest_uri, dest);
    migrate_target_clear(&t);
    params_free(p);
}

static void
resolve_bad(const char *const *vars, const char *node, int code, const char *want)
{
    struct ferry_params *p = params_from(vars);
    struct migrate_target t;
    ferry_error *err = NULL;

    ck_assert_int_eq(migrate_target_resolve(p, node, "node1", NULL, &t, &err), code);
    ck_assert_msg(strstr(error_message(err), want), "'%s' lacks '%s'", error_message(err), want);
    error_free(err);
    params_free(p);
}

START_TEST(test_target_default)
{
    resolve_ok(NULL, "node2", "node2", "qemu+ssh://node2/system?no_tty=1", NULL);
}
END_TEST

START_TEST(test_target_ssh_reuse)
{
    const char *off[] = { "OCF_RESKEY_ssh_reuse=false", NULL };
    const char *user[] = { "OCF_RESKEY_migration_user=mig", NULL };
    const char *remote[] = { "OCF_RESKEY_remoteuri=qemu+ssh://%n/system", NULL };

    resolve_ssh(NULL, "/usr/libexec/ferry/ferry-ssh",
                "qemu+ssh://node2/system?no_tty=1&command=/usr/libexec/ferry/ferry-ssh");
    resolve_ssh(user, "/b/agents/ferry-ssh",
                "qemu+ssh://mig@node2/system?no_tty=1&command=/b/agents/ferry-ssh");
    /* off, not found, a path that would need escaping, a URI of the operator's: plain ssh */
    resolve_ssh(off, "/usr/libexec/ferry/ferry-ssh", "qemu+ssh://node2/system?no_tty=1");
    resolve_ssh(NULL, NULL, "qemu+ssh://node2/system?no_tty=1");
    resolve_ssh(NULL, "", "qemu+ssh://node2/system?no_tty=1");
    resolve_ssh(NULL, "/my dir/ferry-ssh", "qemu+ssh://node2/system?no_tty=1");
    resolve_ssh(NULL, "/a&b/ferry-ssh", "qemu+ssh://node2/system?no_tty=1");
    resolve_ssh(NULL, "relative/ferry-ssh", "qemu+ssh://node2/system?no_tty=1");
    resolve_ssh(remote, "/usr/libexec/ferry/ferry-ssh", "qemu+ssh://node2/system");

    ck_assert(migrate_uri_shares_ssh("qemu+ssh://n/system?no_tty=1&command=/x/ferry-ssh"));
    ck_assert(migrate_uri_shares_ssh("qemu+ssh://n/system?command=/x/ferry-ssh&no_tty=1"));
    ck_assert(!migrate_uri_shares_ssh("qemu+ssh://n/system?no_tty=1"));
    ck_assert(!migrate_uri_shares_ssh("qemu+ssh://n/system?no_tty=1&command=/usr/bin/ssh"));
    ck_assert(!migrate_uri_shares_ssh("qemu+ssh://n/system?no_tty=1&command=/x/not-ferry-ssh"));
    ck_assert(!migrate_uri_shares_ssh("qemu+ssh://n/system?xcommand=/x/ferry-ssh"));
    ck_assert(!migrate_uri_shares_ssh("qemu+ssh://n/command=/x/ferry-ssh"));
    ck_assert(!migrate_uri_shares_ssh(NULL));
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

/* Parses env (plus a name) and expects params_validate to refuse it with
 * FERRY_E_CONFIG naming want. */
static void
validate_bad(const char *var, const char *want)
{
    char *env[] = { (char *)var, "OCF_RESKEY_name=vm1", NULL };
    struct ferry_params *p = NULL;
    ferry_error *err = NULL;

    ck_assert_int_eq(params_parse(env, &p, &err), 0);
    ck_assert_msg(params_validate(p, &err) == FERRY_E_CONFIG, "%s was accepted", var);
    ck_assert_msg(strstr(error_message(err), want), "%s: '%s' lacks '%s'", var,
                  error_message(err), want);
    ck_assert_ptr_null(strchr(error_message(err), '\n'));
    error_free(err);
    params_free(p);
}

static void
validate_ok(const char *var)
{
    char *env[] = { (char *)var, "OCF_RESKEY_name=vm1", NULL };
    struct ferry_params *p = NULL;
    ferry_error *err = NULL;

    ck_assert_int_eq(params_parse(env, &p, &err), 0);
    ck_assert_msg(params_validate(p, &err) == 0, "%s: %s", var, error_message(err));
    params_free(p);
}

/* Item 10: what goes into the target's URI is a plain user or host name, and
 * remoteuri cannot turn host-key checking off or run a program. */
START_TEST(test_uri_injection_static)
{
    static const struct {
        const char *var;
        const char *want;
    } bad[] = {
        { "OCF_RESKEY_migration_user=root@x/system?no_verify=1&command=/p#", "'migration_user'" },
        { "OCF_RESKEY_migration_user=-oProxyCommand=/p", "'migration_user'" },
        { "OCF_RESKEY_migration_user=a b", "'migration_user'" },
        { "OCF_RESKEY_migration_user=r%40x", "'migration_user'" },
        { "OCF_RESKEY_migration_mapping=node2:-oProxyCommand=/p", "'migration_mapping'" },
        { "OCF_RESKEY_migration_mapping=node2:h/system?no_verify=1", "'migration_mapping'" },
        { "OCF_RESKEY_migration_mapping=node2:u@h", "'migration_mapping'" },
        { "OCF_RESKEY_migration_mapping=node2:[not-ipv6]", "'migration_mapping'" },
        { "OCF_RESKEY_migration_network_suffix=/system?no_verify=1", "'migration_network_suffix'" },
        { "OCF_RESKEY_migration_network_suffix=-mig#", "'migration_network_suffix'" },
        { "OCF_RESKEY_remoteuri=qemu+ssh://%n/system?no_verify=1", "'no_verify'" },
        { "OCF_RESKEY_remoteuri=qemu+ssh://%n/system?no_tty=1&command=/p", "'command'" },
        { "OCF_RESKEY_remoteuri=qemu+ssh://%n/system?keyfile=/k", "'keyfile'" },
        { "OCF_RESKEY_remoteuri=qemu+ssh://%n/system?socket=/s", "'socket'" },
        { "OCF_RESKEY_remoteuri=qemu+ssh://%n/system?netcat=/p", "'netcat'" },
        { "OCF_RESKEY_remoteuri=qemu+libssh://%n/system?known_hosts=/k", "'known_hosts'" },
        { "OCF_RESKEY_remoteuri=qemu+libssh://%n/system?known_hosts_verify=ignore",
          "'known_hosts_verify'" },
        { "OCF_RESKEY_remoteuri=qemu+libssh2://%n/system?sshauth=password", "'sshauth'" },
        { "OCF_RESKEY_remoteuri=qemu+tls://%n/system?pkipath=/p", "'pkipath'" },
        { "OCF_RESKEY_remoteuri=qemu+ssh://%n/system?NO_VERIFY=1", "'NO_VERIFY'" },
        { "OCF_RESKEY_remoteuri=qemu+ssh://%n/system?no%5Fverify=1", "'remoteuri'" },
        { "OCF_RESKEY_remoteuri=qemu+ssh://%n/system;no_verify=1", "'remoteuri'" },
        { "OCF_RESKEY_remoteuri=qemu+ssh://%n/system#x", "'remoteuri'" },
        { "OCF_RESKEY_remoteuri=qemu+ext:///system?command=/p", "'remoteuri'" },
        { "OCF_RESKEY_remoteuri=qemu+unix:///system", "'remoteuri'" },
        { "OCF_RESKEY_remoteuri=qemu+ssh://-oProxyCommand=x/system", "'remoteuri'" },
        { "OCF_RESKEY_remoteuri=qemu+ssh://-u@%n/system", "'remoteuri'" },
        { "OCF_RESKEY_remoteuri=qemu+ssh://%n:22x/system", "'remoteuri'" },
        { "OCF_RESKEY_remoteuri=qemu+ssh://%n:99999/system", "'remoteuri'" },
        { "OCF_RESKEY_remoteuri=qemu+ssh://a@b@%n/system", "'remoteuri'" },
        { "OCF_RESKEY_remoteuri=qemu:///system", "'remoteuri'" },
        { "OCF_RESKEY_migration_uri=qemu+ssh://%s/system?no_verify=1", "'no_verify'" },
        { "OCF_RESKEY_migrateuri=tcp://-x:49152", "'migrateuri'" },
        { "OCF_RESKEY_migrateuri=tcp://%n/x?y=1", "'migrateuri'" },
        { "OCF_RESKEY_migrateuri=exec:/bin/sh", "'migrateuri'" },
        { "OCF_RESKEY_migrateuri=tcp://%n-mig:49152#x", "'migrateuri'" },
    };
    static const char *const good[] = {
        "OCF_RESKEY_migration_user=mig_user.1",
        "OCF_RESKEY_migration_mapping=node1:node1-mig.example.com,node2:10.0.0.2",
        "OCF_RESKEY_migration_mapping=node1:[fd00::1],node2:[fd00::2]",
        "OCF_RESKEY_migration_network_suffix=-mig",
        "OCF_RESKEY_remoteuri=qemu+ssh://%n/system?no_tty=1",
        "OCF_RESKEY_remoteuri=qemu+ssh://mig@%n-mig.example.com:2222/system?no_tty=1&no_sanity=1",
        "OCF_RESKEY_remoteuri=qemu+tls://[fd00::1]:16514/system",
        "OCF_RESKEY_remoteuri=qemu+tcp://%n/system",
        "OCF_RESKEY_remoteuri=qemu://%n/system",
        "OCF_RESKEY_remoteuri=qemu+ssh://%n/system?mode=legacy&proxy=netcat",
        "OCF_RESKEY_migrateuri=tcp://%n-mig:49152",
        "OCF_RESKEY_migrateuri=tcp://[fd00::2]:49152",
        "OCF_RESKEY_migrateuri=rdma://%n-ib",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        validate_bad(bad[i].var, bad[i].want);
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        validate_ok(good[i]);
}
END_TEST

/* Item 10, at run time: the target node's name from Pacemaker (as host, %n,
 * suffix) and mapping hosts cannot inject either. */
START_TEST(test_uri_injection_node)
{
    const char *user[] = { "OCF_RESKEY_migration_user=mig", NULL };
    const char *remote[] = { "OCF_RESKEY_remoteuri=qemu+tls://%n/system", NULL };
    const char *data[] = { "OCF_RESKEY_migrateuri=tcp://%n:49152",
                           "OCF_RESKEY_migration_mapping=node1:h1,x?command=/p:h2", NULL };
    const char *suffix[] = { "OCF_RESKEY_migration_network_suffix=-mig",
                             "OCF_RESKEY_migration_mapping=node1:h1,node2?x:h2", NULL };
    const char *map[] = { "OCF_RESKEY_migration_mapping=node1:h1,bad name#:h2", NULL };
    const char *map6[] = { "OCF_RESKEY_migration_mapping=node1:[fd00::1],node2:[fd00::2]", NULL };

    resolve_bad(NULL, "node2/system?no_verify=1&command=/p#", FERRY_E_CONFIG, "node2/system");
    resolve_bad(NULL, "-oProxyCommand=/p", FERRY_E_CONFIG, "-oProxyCommand");
    resolve_bad(user, "x@node2", FERRY_E_CONFIG, "x@node2");
    resolve_bad(remote, "node2/system?no_verify=1", FERRY_E_CONFIG, "'remoteuri'");
    resolve_bad(data, "x?command=/p", FERRY_E_CONFIG, "'migrateuri'");
    resolve_bad(suffix, "node2?x", FERRY_E_CONFIG, "'migration_network_suffix'");
    resolve_bad(NULL, "node 2", FERRY_E_CONFIG, "not a host name");
    /* with a mapping, the node's name itself goes into no URI */
    resolve_ok(map, "bad name#", "h2", "qemu+ssh://h2/system?no_tty=1", NULL);
    resolve_ok(map6, "node2", "[fd00::2]", "qemu+ssh://[fd00::2]/system?no_tty=1", NULL);
    resolve_ok(user, "node2.example.com", "node2.example.com",
               "qemu+ssh://mig@node2.example.com/system?no_tty=1", NULL);
}
END_TEST

/* IPv6 literals: the probe gets the address without brackets, and the port
 * after the ']'. */
START_TEST(test_endpoint_ipv6)
{
    ferry_error *err = NULL;
    char *host = NULL;
    int port = 0;

    ck_assert_int_eq(migrate_uri_endpoint("qemu+ssh://[::1]:2222/system", &host, &port), 0);
    ck_assert_str_eq(host, "::1");
    ck_assert_int_eq(port, 2222);
    free(host);
    ck_assert_int_eq(migrate_uri_endpoint("qemu+tls://mig@[fd00::1]/system", &host, &port), 0);
    ck_assert_str_eq(host, "fd00::1");
    ck_assert_int_eq(port, 16514);
    free(host);
    ck_assert_int_eq(migrate_uri_endpoint("qemu+ssh://[::1/system", &host, &port), -EINVAL);
    ck_assert_int_eq(migrate_uri_endpoint("qemu+ssh://node2:22x/system", &host, &port), -EINVAL);
    ck_assert_int_eq(migrate_uri_endpoint("qemu+ssh://node2:0/system", &host, &port), -EINVAL);
    /* nothing listens on port 1 of ::1: refused, not "cannot resolve" */
    ck_assert_int_eq(migrate_uri_endpoint("qemu+ssh://[::1]:1/system", &host, &port), 0);
    ck_assert_int_eq(migrate_probe_tcp(host, port, 2000, &err), FERRY_E_LIBVIRT);
    ck_assert_msg(strstr(error_message(err), "cannot reach ::1 port 1"), "%s", error_message(err));
    error_free(err);
    free(host);
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
        { "OCF_RESKEY_migration_connection=ssh", "parameter 'migration_connection' is 'ssh'" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *env[] = { (char *)cases[i].var, "OCF_RESKEY_name=vm1", NULL };
        struct ferry_params *p = NULL;
        ferry_error *err = NULL;

        /* an enumerated value is checked as it is parsed, a range at validation */
        int rc = params_parse(env, &p, &err);

        if (rc == 0)
            rc = params_validate(p, &err);
        ck_assert_int_eq(rc, FERRY_E_CONFIG);
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
    {
        /* a tunnelled migration is peer-to-peer: it cannot share the agent's connection */
        char *env[] = { "OCF_RESKEY_tunnelled=true", "OCF_RESKEY_migration_connection=shared",
                        "OCF_RESKEY_name=vm1", NULL };
        struct ferry_params *p = NULL;
        ferry_error *err = NULL;

        ck_assert_int_eq(params_parse(env, &p, &err), 0);
        ck_assert_int_eq(params_validate(p, &err), FERRY_E_CONFIG);
        ck_assert_msg(strstr(error_message(err), "'migration_connection' cannot be 'shared'"),
                      "%s", error_message(err));
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

/* A lookup that outlives its budget is left to the resolver's thread: what
 * that thread still reads (the name, the service, the hints) must not be the
 * caller's, and the request must be freed once it completes (test_valgrind
 * runs this suite under memcheck: a definite leak fails it). */
START_TEST(test_probe_resolve_abandoned)
{
    ferry_error *err = NULL;
    struct addrinfo *res = NULL;
    char name[64];
    int i = 0;

    for (i = 0; i < 3; i++) {
        snprintf(name, sizeof(name), "abandoned-%d.invalid", i);
        /* no time at all: the lookup is still in flight when it gives up */
        ck_assert_int_eq(migrate_probe_tcp(name, 22, 0, &err), FERRY_E_LIBVIRT);
        ck_assert_ptr_nonnull(strstr(error_message(err), "cannot resolve"));
        err = error_free(err);
        memset(name, 'x', sizeof(name) - 1);
        /* the same lookup done here takes as long: the abandoned one ends too */
        if (getaddrinfo("abandoned.invalid", "22", NULL, &res) == 0)
            freeaddrinfo(res);
        res = NULL;
    }
}
END_TEST

static void
disks_check(const char *disk_xml, int want, const char *text)
{
    char xml[1024];
    domxml *d = NULL;
    ferry_error *err = NULL;
    int rc = 0;

    snprintf(xml, sizeof(xml), "<domain><name>a</name><devices>%s</devices></domain>", disk_xml);
    ck_assert_int_eq(domxml_parse(xml, strlen(xml), "t", &d, &err), 0);
    rc = migrate_check_disks(d, &err);
    ck_assert_msg(rc == want, "%s: got %d (%s), want %d", disk_xml, rc,
                  err ? error_message(err) : "safe", want);
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
    /* read-only and empty drives are fine */
    disks_check("<disk type='file' device='cdrom'><source file='/tmp/x.iso'/><readonly/></disk>", 0, NULL);
    disks_check("<disk type='file' device='cdrom'><target dev='hdc'/></disk>", 0, NULL);
    disks_check("<disk type='network'><driver cache='none'/><source protocol='rbd' name='p/v'/></disk>", 0, NULL);
    disks_check("", 0, NULL);
    ck_assert(!migrate_path_is_shared("/tmp"));
}
END_TEST

/* libvirt 9.0's rule (qemuMigrationSrcIsSafe): network disks are safe whatever
 * their cache mode; a file must be on a shared filesystem; with a QEMU that can
 * drop its caches (Debian 12's 7.2 can) the cache mode is never a reason to refuse. */
START_TEST(test_disk_safety_libvirt_rule)
{
    /* network disks with a host cache: libvirt migrates them */
    disks_check("<disk type='network'><driver cache='writeback'/><source protocol='rbd' "
                "name='pool/vm1'/><target dev='vda'/></disk>", 0, NULL);
    disks_check("<disk type='network'><driver cache='writethrough'/><source protocol='iscsi' "
                "name='iqn.2013-06.com.example:t/1'/><target dev='vdb'/></disk>", 0, NULL);
    disks_check("<disk type='network'><source protocol='nbd' name='e'/><target dev='vdc'/></disk>",
                0, NULL);
    disks_check("<disk type='network'><driver cache='unsafe'/><source protocol='gluster' "
                "name='vol/img'/><target dev='vdd'/></disk>", 0, NULL);
    /* block devices (a shared LUN, a DRBD device): not refused for the cache mode */
    disks_check("<disk type='block'><driver cache='writeback'/><source dev='/dev/drbd0'/>"
                "<target dev='vda'/></disk>", 0, NULL);
    /* a local file with writeback: refused because the file is local, not for the cache */
    disks_check("<disk type='file'><driver cache='writeback'/><source file='/tmp/x.qcow2'/>"
                "<target dev='vda'/></disk>", FERRY_E_STATE, "not treat as shared");
    disks_check("<disk type='file'><source file='/tmp/x.qcow2'/><target dev='vda'/></disk>",
                FERRY_E_STATE, "not treat as shared");
    /* a file that does not exist yet: its nearest existing directory counts */
    disks_check("<disk type='file'><driver cache='none'/><source file='/no/such/dir/x.img'/>"
                "<target dev='vda'/></disk>", FERRY_E_STATE, "not treat as shared");
    /* libvirt refuses a shareable disk on a local filesystem too */
    disks_check("<disk type='file'><driver cache='none'/><source file='/tmp/x'/><shareable/>"
                "<target dev='vdb'/></disk>", FERRY_E_STATE, "not treat as shared");
    /* NVMe disks are never migratable */
    disks_check("<disk type='nvme' device='disk'><driver cache='none'/><source type='pci' "
                "managed='yes' namespace='1'><address domain='0x0000' bus='0x01' slot='0x00' "
                "function='0x0'/></source><target dev='vde'/></disk>", FERRY_E_STATE, "NVMe");
    /* a storage-pool volume: ferry cannot see where it lives, libvirt decides */
    disks_check("<disk type='volume'><driver cache='writeback'/><source pool='p' volume='v'/>"
                "<target dev='vdf'/></disk>", 0, NULL);
}
END_TEST

static domxml *
dom_of(const char *xml)
{
    domxml *d = NULL;
    ferry_error *err = NULL;

    ck_assert_msg(domxml_parse(xml, strlen(xml), "t", &d, &err) == 0, "%s", error_message(err));
    return d;
}

/* free + buffers + page cache is what the target can give (the check used
 * MemFree alone: a target full of page cache refused) */
START_TEST(test_memory_fits)
{
    struct virt_node_memory m = { .total_kib = 16 << 20, .free_kib = 512 << 10,
                                  .buffers_kib = 256 << 10, .cached_kib = 6 << 20 };

    ck_assert_uint_eq(migrate_memory_available_kib(&m), (512 << 10) + (256 << 10) + (6 << 20));
    ck_assert(migrate_memory_fits(4 << 20, &m));              /* 4 GiB: fits in the cache */
    ck_assert(migrate_memory_fits((6 << 20) + (768 << 10), &m));   /* exactly all of it */
    ck_assert(!migrate_memory_fits((6 << 20) + (768 << 10) + 1, &m));
    ck_assert(!migrate_memory_fits(8 << 20, &m));
    m.cached_kib = 0;
    m.buffers_kib = 0;
    ck_assert(migrate_memory_fits(512 << 10, &m));
    ck_assert(!migrate_memory_fits(1 << 20, &m));
    /* huge pages: the free pages of the guest's size */
    ck_assert(migrate_hugepages_fit(1 << 20, 2048, 512));     /* 1 GiB in 512 x 2 MiB */
    ck_assert(!migrate_hugepages_fit(1 << 20, 2048, 511));
    ck_assert(migrate_hugepages_fit(4 << 20, 1 << 20, 4));    /* 4 GiB in 4 x 1 GiB */
    ck_assert(!migrate_hugepages_fit(4 << 20, 1 << 20, 3));
    ck_assert(!migrate_hugepages_fit(1 << 20, 0, 1000));      /* no page size: nothing fits */
}
END_TEST

START_TEST(test_hugepages_xml)
{
    uint64_t page_kib = 99;
    domxml *d = NULL;

    d = dom_of("<domain><name>a</name><memory unit='GiB'>2</memory></domain>");
    ck_assert(!domxml_hugepages(d, &page_kib));
    domxml_free(d);
    d = dom_of("<domain><name>a</name><memoryBacking><hugepages/></memoryBacking></domain>");
    ck_assert(domxml_hugepages(d, &page_kib));
    ck_assert_uint_eq(page_kib, 0);                 /* the host's default size */
    domxml_free(d);
    d = dom_of("<domain><name>a</name><memoryBacking><hugepages><page size='1' unit='G'/>"
               "</hugepages></memoryBacking></domain>");
    ck_assert(domxml_hugepages(d, &page_kib));
    ck_assert_uint_eq(page_kib, 1 << 20);
    domxml_free(d);
    d = dom_of("<domain><name>a</name><memoryBacking><hugepages><page size='2048'/>"
               "</hugepages></memoryBacking></domain>");
    ck_assert(domxml_hugepages(d, &page_kib));
    ck_assert_uint_eq(page_kib, 2048);
    domxml_free(d);
    /* two sizes for two NUMA nodes: no single size to count */
    d = dom_of("<domain><name>a</name><memoryBacking><hugepages>"
               "<page size='2' unit='M' nodeset='0'/><page size='1' unit='GiB' nodeset='1'/>"
               "</hugepages></memoryBacking></domain>");
    ck_assert(domxml_hugepages(d, &page_kib));
    ck_assert_uint_eq(page_kib, 0);
    domxml_free(d);
}
END_TEST

static bool
cpu_wanted(const char *xml, const char *why_has)
{
    domxml *d = dom_of(xml);
    const char *why = NULL;
    bool wanted = migrate_cpu_compare_wanted(d, &why);

    if (why_has)
        ck_assert_msg(why && strstr(why, why_has), "'%s' lacks '%s'", why ? why : "", why_has);
    domxml_free(d);
    return wanted;
}

/* which guests the target's CPU is compared for (Nova's subset: KVM guests
 * with a named CPU model) */
START_TEST(test_cpu_compare_wanted)
{
    /* a running host-model guest shows its expanded model in the live XML */
    ck_assert(cpu_wanted("<domain type='kvm'><name>a</name><cpu mode='custom' match='exact' "
                         "check='full'><model fallback='forbid'>Skylake-Client-IBRS</model>"
                         "<vendor>Intel</vendor><feature policy='require' name='ss'/></cpu>"
                         "</domain>", NULL));
    ck_assert(cpu_wanted("<domain type='kvm'><name>a</name><cpu match='exact'>"
                         "<model>Haswell-noTSX</model></cpu></domain>", NULL));
    ck_assert(!cpu_wanted("<domain type='kvm'><name>a</name></domain>", "no <cpu>"));
    ck_assert(!cpu_wanted("<domain type='kvm'><name>a</name><cpu><topology sockets='1' "
                          "cores='2' threads='1'/></cpu></domain>", "no CPU model"));
    ck_assert(!cpu_wanted("<domain type='kvm'><name>a</name><cpu mode='host-passthrough' "
                          "migratable='on'/></domain>", "host-passthrough"));
    ck_assert(!cpu_wanted("<domain type='kvm'><name>a</name><cpu mode='host-model'/></domain>",
                          "host-model"));
    ck_assert(!cpu_wanted("<domain type='kvm'><name>a</name><cpu mode='maximum'/></domain>",
                          "maximum"));
    /* TCG emulates the CPU: any target runs it */
    ck_assert(!cpu_wanted("<domain type='qemu'><name>a</name><cpu><model>qemu64</model></cpu>"
                          "</domain>", "emulate"));
}
END_TEST

START_TEST(test_cpu_xml)
{
    domxml *d = dom_of("<domain type='kvm'><name>a</name><os><type arch='x86_64' "
                       "machine='pc-q35-7.2'>hvm</type></os><cpu mode='custom' match='exact'>"
                       "<model fallback='forbid'>Haswell</model></cpu></domain>");
    const struct domxml_cpu *cpu = domxml_cpu(d);

    ck_assert_ptr_nonnull(cpu);
    ck_assert_str_eq(cpu->mode, "custom");
    ck_assert_str_eq(cpu->model, "Haswell");
    ck_assert_ptr_nonnull(strstr(cpu->xml, "<cpu mode=\"custom\" match=\"exact\">"));
    ck_assert_ptr_nonnull(strstr(cpu->xml, ">Haswell</model></cpu>"));
    ck_assert_str_eq(domxml_arch(d), "x86_64");
    domxml_free(d);
    d = dom_of("<domain><name>a</name></domain>");
    ck_assert_ptr_null(domxml_cpu(d));
    ck_assert_ptr_null(domxml_arch(d));
    domxml_free(d);
}
END_TEST

/* the whole pre-flight against libvirt's test driver (3 MiB free, no memory
 * statistics, no CPU comparison: those are skipped, not refused) */
static int
preflight(const char *xml, bool allow_unsafe, ferry_error **err)
{
    const char *vars[] = { allow_unsafe ? "OCF_RESKEY_allow_unsafe=true" : NULL, NULL };
    struct ferry_params *p = params_from(vars);
    virt_conn *dst = NULL;
    domxml *d = dom_of(xml);
    int rc = 0;

    ck_assert_int_eq(virt_init(err), 0);
    ck_assert_msg(virt_conn_open("test:///default", &dst, err) == 0, "%s", error_message(*err));
    rc = migrate_preflight_target(dst, d, p, "node2", err);
    virt_conn_close(dst);
    domxml_free(d);
    params_free(p);
    return rc;
}

START_TEST(test_preflight_target)
{
    ferry_error *err = NULL;

    ck_assert_msg(preflight("<domain type='kvm'><name>g</name><memory unit='MiB'>2</memory>"
                            "<cpu><model>Haswell</model></cpu><devices><disk type='network'>"
                            "<driver cache='writeback'/><source protocol='rbd' name='p/g'/>"
                            "</disk></devices></domain>", false, &err) == 0, "%s",
                  error_message(err));
    ck_assert_int_eq(preflight("<domain><name>g</name><memory unit='MiB'>8</memory></domain>",
                               false, &err), FERRY_E_STATE);
    ck_assert_msg(strstr(error_message(err), "the target node2 has 3 MiB of free memory"),
                  "%s", error_message(err));
    ck_assert_msg(strstr(error_message(err), "domain 'g' needs 8 MiB"), "%s", error_message(err));
    err = error_free(err);
    /* the unsafe disk is refused unless allow_unsafe */
    ck_assert_int_eq(preflight("<domain><name>g</name><memory>1024</memory><devices><disk "
                               "type='file'><source file='/tmp/g.img'/><target dev='vda'/></disk>"
                               "</devices></domain>", false, &err), FERRY_E_STATE);
    err = error_free(err);
    ck_assert_int_eq(preflight("<domain><name>g</name><memory>1024</memory><devices><disk "
                               "type='file'><source file='/tmp/g.img'/><target dev='vda'/></disk>"
                               "</devices></domain>", true, &err), 0);
    /* huge pages: the test driver reports 19 free pages of the first size asked;
     * a guest in huge pages is not held to the ordinary free memory */
    ck_assert_int_eq(preflight("<domain><name>g</name><memory unit='MiB'>38</memory>"
                               "<memoryBacking><hugepages><page size='2048'/></hugepages>"
                               "</memoryBacking></domain>", false, &err), 0);
    ck_assert_int_eq(preflight("<domain><name>g</name><memory unit='MiB'>40</memory>"
                               "<memoryBacking><hugepages><page size='2048'/></hugepages>"
                               "</memoryBacking></domain>", false, &err), FERRY_E_STATE);
    ck_assert_msg(strstr(error_message(err), "huge pages"), "%s", error_message(err));
    error_free(err);
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

/* A watcher that first looks at or after the give-up time (a job-stats call
 * that blocked): pausing then only comes before an abort on the next poll, a
 * guest-visible pause for nothing, and a post-copy switch has no time left to
 * complete; it gives up at once (found by fuzz/fuzz_watch). */
START_TEST(test_watch_late_gives_up)
{
    struct migrate_watch w;
    const char *why = NULL;
    const char *policies[] = { "pause", "auto-converge", "postcopy", "abort" };
    size_t i;

    for (i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
        w = watch_for(policies[i], true);      /* hard at 80 s, give-up at 90 s */
        migrate_watch_progress(&w, 100, 79000);
        ck_assert_int_eq(migrate_watch_decide(&w, 89999, &why),
                         i == 2 ? MIGRATE_ACT_POSTCOPY : i == 3 ? MIGRATE_ACT_ABORT :
                         MIGRATE_ACT_PAUSE);
        ck_assert_msg(migrate_watch_decide(&w, 90000, &why) == MIGRATE_ACT_ABORT,
                      "policy %s at the give-up time: %s", policies[i],
                      migrate_action_name(migrate_watch_decide(&w, 90000, NULL)));
        ck_assert_str_eq(why, "deadline");
        ck_assert_int_eq(migrate_watch_decide(&w, 99000, &why), MIGRATE_ACT_ABORT);
    }
}
END_TEST

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

/* A pre-flight that ate migrate_to's time: no copy is started that the
 * policy would have to pause or abort at once. */
START_TEST(test_watch_time_enough)
{
    struct migrate_watch w = watch_for("pause", true);   /* hard deadline at 80 s */

    ck_assert(migrate_watch_time_enough(&w, 0));
    ck_assert(migrate_watch_time_enough(&w, 77000));
    ck_assert(!migrate_watch_time_enough(&w, 77001));
    ck_assert(!migrate_watch_time_enough(&w, 95000));
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

    /* libvirt refused the switch to post-copy: not "post-copy, nothing more
     * to do" (the watcher set postcopy before calling and never acted again) */
    w = watch_for("postcopy", true);
    ck_assert_int_eq(migrate_watch_decide(&w, 10000, &why), MIGRATE_ACT_POSTCOPY);
    migrate_watch_acted(&w, MIGRATE_ACT_POSTCOPY, false, 10000);
    ck_assert(!w.postcopy);
    ck_assert_int_eq(migrate_watch_decide(&w, 10200, &why), MIGRATE_ACT_NONE);  /* afresh */
    ck_assert_int_eq(migrate_watch_decide(&w, 20000, &why), MIGRATE_ACT_PAUSE);
    migrate_watch_acted(&w, MIGRATE_ACT_PAUSE, true, 20000);
    ck_assert(w.suspended);
    /* a switch that worked: nothing more */
    w = watch_for("postcopy", true);
    migrate_watch_acted(&w, MIGRATE_ACT_POSTCOPY, true, 10000);
    ck_assert_int_eq(migrate_watch_decide(&w, 99000, &why), MIGRATE_ACT_NONE);
    /* a suspend libvirt refused is not a paused guest */
    w = watch_for("pause", true);
    migrate_watch_acted(&w, MIGRATE_ACT_PAUSE, false, 10000);
    ck_assert(!w.suspended);

    /* pause mode: the guest is paused already; a stall gives up */
    w = watch_for("pause", false);
    ck_assert_int_eq(migrate_watch_decide(&w, 5000, &why), MIGRATE_ACT_NONE);
    ck_assert_int_eq(migrate_watch_decide(&w, 10000, &why), MIGRATE_ACT_ABORT);
}
END_TEST

/* The migrate call's settings follow the parameters, parsed once. */
/* A CIB with node1's record of c6: migrate_from (from node2) at 1000, and a
 * probe on node3 that found it not running, at 2000. */
static const char handover_cib[] =
    "<cib validate-with=\"pacemaker-3.9\" epoch=\"1\" num_updates=\"0\" admin_epoch=\"0\">\n"
    " <configuration><crm_config/><nodes/><resources/><constraints/></configuration>\n"
    " <status>\n"
    "  <node_state id=\"1\" uname=\"node1\"><lrm id=\"1\"><lrm_resources>\n"
    "   <lrm_resource id=\"c6\" type=\"vm\" class=\"ocf\" provider=\"ferry\">\n"
    "    <lrm_rsc_op id=\"c6_migrate_to_0\" operation=\"migrate_to\" rc-code=\"0\""
    " op-status=\"0\" last-rc-change=\"1500\" call-id=\"4\"/>\n"
    "    <lrm_rsc_op id=\"c6_migrate_from_0\" operation=\"migrate_from\" rc-code=\"0\""
    " op-status=\"0\" last-rc-change=\"1000\" migrate_source=\"node2\" call-id=\"3\"/>\n"
    "   </lrm_resource></lrm_resources></lrm></node_state>\n"
    "  <node_state id=\"3\" uname=\"node3\"><lrm id=\"3\"><lrm_resources>\n"
    "   <lrm_resource id=\"c6\" type=\"vm\" class=\"ocf\" provider=\"ferry\">\n"
    "    <lrm_rsc_op id=\"c6_last_0\" operation=\"monitor\" rc-code=\"7\""
    " op-status=\"0\" last-rc-change=\"2000\" call-id=\"1\"/>\n"
    "   </lrm_resource></lrm_resources></lrm></node_state>\n"
    " </status>\n"
    "</cib>\n";

/* The CIB answers whether Pacemaker learnt of the guest on the target after
 * the migrate_to began (the seed-102 two copies: it had not). */
START_TEST(test_handover_known)
{
    const char *vars[] = { "OCF_RESOURCE_INSTANCE=c6", "OCF_RESKEY_crm_feature_set=3.16.2",
                           NULL };
    const char *manual[] = { "OCF_RESOURCE_INSTANCE=c6", NULL };
    char dir[] = "/tmp/check_migrate.XXXXXX";
    char path[4096];
    struct flight f;
    struct ferry_params *p = NULL;
    deadline dl;
    FILE *fp = NULL;

    ck_assert_msg(access("/usr/sbin/cibadmin", X_OK) == 0 || access("/usr/bin/cibadmin", X_OK) == 0,
                  "cibadmin is missing (pacemaker-cli-utils; ./bootstrap.sh --deps installs it)");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/cib.xml", dir);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(handover_cib, fp);
    fclose(fp);
    setenv("CIB_file", path, 1);
    deadline_init_budget(&dl, 20000);
    memset(&f, 0, sizeof(f));
    snprintf(f.name, sizeof(f.name), "c6");
    snprintf(f.target, sizeof(f.target), "node1");
    p = params_from(vars);

    f.begun_s = 1002;      /* migrate_from at 1000: Pacemaker knows (2 s for the clocks) */
    ck_assert_int_eq(migration_handover_known(p, &f, "cibadmin", &dl), 1);
    f.begun_s = 1003;      /* only an older migrate_from, and this node's own migrate_to: no */
    ck_assert_int_eq(migration_handover_known(p, &f, "cibadmin", &dl), 0);
    snprintf(f.target, sizeof(f.target), "node3");   /* a probe that found nothing: no */
    f.begun_s = 100;
    ck_assert_int_eq(migration_handover_known(p, &f, "cibadmin", &dl), 0);
    snprintf(f.target, sizeof(f.target), "node9");   /* no record there at all: no */
    ck_assert_int_eq(migration_handover_known(p, &f, "cibadmin", &dl), 0);
    snprintf(f.target, sizeof(f.target), "node1' or '1'='1");
    ck_assert_int_lt(migration_handover_known(p, &f, "cibadmin", &dl), 0);
    snprintf(f.target, sizeof(f.target), "node1");
    ck_assert_int_lt(migration_handover_known(p, &f, "/nonexistent/cibadmin", &dl), 0);
    params_free(p);

    p = params_from(manual);    /* not run by Pacemaker: cannot tell */
    ck_assert_int_lt(migration_handover_known(p, &f, "cibadmin", &dl), 0);
    params_free(p);

    /* a partition without quorum: the node leaves the target alone */
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("<cib have-quorum=\"0\"", fp);
    fputs(handover_cib + strlen("<cib"), fp);
    fclose(fp);
    p = params_from(vars);
    f.begun_s = 1003;
    ck_assert_int_eq(migration_handover_known(p, &f, "cibadmin", &dl), 1);
    params_free(p);

    unsetenv("CIB_file");
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* The flight record keeps the migrate_to's start and the hand-over. */
START_TEST(test_flight_handed)
{
    char dir[] = "/tmp/check_migrate.XXXXXX";
    char env_dir[256];
    const char *vars[] = { "OCF_RESOURCE_INSTANCE=c6", env_dir, NULL };
    struct flight f;
    struct flight g;
    struct ferry_params *p = NULL;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(env_dir, sizeof(env_dir), "HA_RSCTMP=%s", dir);
    p = params_from(vars);
    memset(&f, 0, sizeof(f));
    snprintf(f.name, sizeof(f.name), "c6");
    snprintf(f.target, sizeof(f.target), "node1");
    snprintf(f.dest_uri, sizeof(f.dest_uri), "qemu+ssh://node1/system");
    f.begun_s = 1796071583;
    ck_assert_int_eq(flight_begin(p, &f), 0);
    ck_assert_int_eq(flight_load(p, &g), 0);
    ck_assert(!g.handed);
    ck_assert(flight_owner_alive(&g));
    ck_assert_int_eq(flight_handed(p, &f), 0);
    ck_assert_int_eq(flight_load(p, &g), 0);
    ck_assert(g.handed);
    ck_assert_int_eq(g.begun_s, 1796071583);
    ck_assert_str_eq(g.target, "node1");
    ck_assert_int_eq(flight_begin(p, &f), 0);   /* a new migrate_to: in flight again */
    ck_assert_int_eq(flight_load(p, &g), 0);
    ck_assert(!g.handed);
    ck_assert_int_eq(flight_end(p), 0);
    ck_assert_int_eq(flight_load(p, &g), -ENOENT);
    params_free(p);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_migration_spec)
{
    const char *pause_vars[] = { "OCF_RESKEY_migrate=pause", "OCF_RESKEY_tunnelled=true",
                                 "OCF_RESKEY_migration_compression=none",
                                 "OCF_RESKEY_migration_speed=50", NULL };
    const char *live_vars[] = { "OCF_RESKEY_migration_policy=auto-converge",
                                "OCF_RESKEY_persistent=true", "OCF_RESKEY_migration_parallel=4",
                                "OCF_RESKEY_migration_compression=xbzrle", NULL };
    struct migrate_target t = { "node2", "node2", "qemu+ssh://node2/system", "tcp://node2-mig" };
    struct virt_migrate_spec spec;
    struct ferry_params *p = params_from(pause_vars);

    migration_spec(p, &t, "<domain/>", &spec);
    ck_assert(!spec.live);
    ck_assert(spec.tunnelled);
    ck_assert_ptr_null(spec.data_uri);          /* the stream is inside libvirt's connection */
    ck_assert_ptr_null(spec.compression);
    ck_assert_ptr_null(spec.persist_xml);       /* not persistent */
    ck_assert(!spec.auto_converge && !spec.postcopy);
    ck_assert_int_eq(spec.bandwidth_mib_s, 50);
    ck_assert(!spec.shared);                    /* migration_connection=p2p, the default */
    params_free(p);
    p = params_from(live_vars);
    migration_spec(p, &t, "<domain/>", &spec);
    ck_assert(spec.live);
    ck_assert(spec.auto_converge);
    ck_assert_str_eq(spec.data_uri, "tcp://node2-mig");
    ck_assert_str_eq(spec.dest_uri, "qemu+ssh://node2/system");
    ck_assert_str_eq(spec.persist_xml, "<domain/>");
    ck_assert_str_eq(spec.compression, "xbzrle");
    ck_assert_int_eq(spec.parallel, 4);
    params_free(p);
    {
        const char *shared_vars[] = { "OCF_RESKEY_migration_connection=shared", NULL };

        p = params_from(shared_vars);
        migration_spec(p, &t, NULL, &spec);
        ck_assert(spec.shared);
        ck_assert(!spec.tunnelled);
        params_free(p);
    }
}
END_TEST

/* The phase breakdown of one migrate_to, on a fake clock: each mark gets
 * the time since the one before; the watcher's set-up moves out of the
 * migrate call; libvirt's job splits the call into prepare, copy, the
 * switch-over and finish, which add up to it. */
START_TEST(test_phases)
{
    struct migrate_phases ph;
    struct migrate_result r;
    struct virt_job_stats done;
    struct migrate_call_split sp;
    char line[512];
    int64_t t = 1000000;          /* the fake clock, ms */

    migrate_phases_init(&ph, t);
    migrate_phases_mark(&ph, MIGRATE_PHASE_RESOLVE, t += 12);
    migrate_phases_mark(&ph, MIGRATE_PHASE_PROBE, t += 1);
    migrate_phases_mark(&ph, MIGRATE_PHASE_OPEN, t += 310);
    migrate_phases_mark(&ph, MIGRATE_PHASE_STATES, t += 8);
    migrate_phases_mark(&ph, MIGRATE_PHASE_SYNC, t += 2);
    migrate_phases_mark(&ph, MIGRATE_PHASE_XML, t += 3);
    migrate_phases_mark(&ph, MIGRATE_PHASE_CHECKS, t += 20);
    migrate_phases_mark(&ph, MIGRATE_PHASE_TUNE, t += 4);
    migrate_phases_mark(&ph, MIGRATE_PHASE_MIGRATE, t += 1830);   /* watcher set-up + call */
    memset(&r, 0, sizeof(r));
    r.watch_ms = 30;
    r.call_ms = 1800;
    r.prepare_ms = 700;
    memset(&done, 0, sizeof(done));
    done.elapsed_ms = 1750;
    done.setup_ms = 6;
    done.downtime_ms = 40;
    migrate_phases_migrated(&ph, &r, &done);
    migrate_phases_mark(&ph, MIGRATE_PHASE_AFTER, t += 25);
    ck_assert_int_eq(ph.ms[MIGRATE_PHASE_WATCH], 30);
    ck_assert_int_eq(ph.ms[MIGRATE_PHASE_MIGRATE], 1800);
    migrate_phases_split(&ph, &sp);
    ck_assert_int_eq(sp.prepare_ms, 700);
    ck_assert_int_eq(sp.copy_ms, 1750 - 700 - 40);
    ck_assert_int_eq(sp.downtime_ms, 40);
    ck_assert_int_eq(sp.finish_ms, 1800 - 1750);
    ck_assert_int_eq(sp.prepare_ms + sp.copy_ms + sp.downtime_ms + sp.finish_ms, 1800);
    migrate_phases_format(&ph, t, line, sizeof(line));
    ck_assert_str_eq(line, "resolve=12 connect=311 (probe=1 open=310) preflight=33 (states=8 "
                     "sync=2 xml=3 checks=20) before=34 (tune=4 watch=30) migrate=1800 "
                     "(prepare=700 setup=6 copy=1010 downtime=40 finish=50) after=25 total=2215");

    /* a phase reached twice adds up; the clock going back counts nothing */
    migrate_phases_init(&ph, 0);
    migrate_phases_mark(&ph, MIGRATE_PHASE_RESOLVE, 5);
    migrate_phases_mark(&ph, MIGRATE_PHASE_RESOLVE, 9);
    migrate_phases_mark(&ph, MIGRATE_PHASE_PROBE, 7);
    ck_assert_int_eq(ph.ms[MIGRATE_PHASE_RESOLVE], 9);
    ck_assert_int_eq(ph.ms[MIGRATE_PHASE_PROBE], 0);

    /* refused at the target's state: what was not reached, and libvirt's
     * figures that never came, are -1 (a failed call has no job statistics) */
    migrate_phases_init(&ph, 0);
    migrate_phases_mark(&ph, MIGRATE_PHASE_RESOLVE, 10);
    migrate_phases_mark(&ph, MIGRATE_PHASE_PROBE, 11);
    migrate_phases_mark(&ph, MIGRATE_PHASE_OPEN, 400);
    migrate_phases_mark(&ph, MIGRATE_PHASE_STATES, 410);
    migrate_phases_mark(&ph, MIGRATE_PHASE_AFTER, 411);
    migrate_phases_format(&ph, 411, line, sizeof(line));
    ck_assert_str_eq(line, "resolve=10 connect=390 (probe=1 open=389) preflight=10 (states=10 "
                     "sync=-1 xml=-1 checks=-1) before=-1 (tune=-1 watch=-1) migrate=-1 "
                     "(prepare=-1 setup=-1 copy=-1 downtime=-1 finish=-1) after=1 total=411");

    /* the watcher never saw QEMU copy: copy is unknown, finish still is */
    migrate_phases_init(&ph, 0);
    migrate_phases_mark(&ph, MIGRATE_PHASE_MIGRATE, 900);
    r.watch_ms = 20;
    r.prepare_ms = -1;
    done.elapsed_ms = 850;
    migrate_phases_migrated(&ph, &r, &done);
    migrate_phases_split(&ph, &sp);
    ck_assert_int_eq(ph.ms[MIGRATE_PHASE_MIGRATE], 880);
    ck_assert_int_eq(sp.copy_ms, -1);
    ck_assert_int_eq(sp.finish_ms, 30);
    /* a job clock longer than the call (clocks of two hosts) gives no finish */
    done.elapsed_ms = 2000;
    migrate_phases_migrated(&ph, &r, &done);
    migrate_phases_split(&ph, &sp);
    ck_assert_int_eq(sp.finish_ms, -1);
}
END_TEST

START_TEST(test_names_and_format)
{
    struct migrate_result r;
    char line[512];

    ck_assert_str_eq(migrate_policy_name(MIGRATE_POLICY_POSTCOPY), "postcopy");
    ck_assert_str_eq(migrate_policy_name(MIGRATE_POLICY_AUTO_CONVERGE), "auto-converge");
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

/* A watch of a live migration started at 0: stall after 10 s without
 * progress, over its budget at 60 s, the last chance at 100 s. */
static struct migrate_watch
watch_at_zero(enum migrate_policy policy)
{
    struct migrate_watch w;

    memset(&w, 0, sizeof(w));
    w.live = true;
    w.policy = policy;
    w.stall_timeout_ms = 10000;
    w.completion_at_ms = 60000;
    w.hard_at_ms = 100000;
    w.giveup_at_ms = 110000;
    w.best_remaining = UINT64_MAX;
    return w;
}

/* What the progress line announces: the policy's next step, and when, if the
 * copy makes no more progress. */
START_TEST(test_watch_next)
{
    struct migrate_watch w = watch_at_zero(MIGRATE_POLICY_PAUSE);
    const char *why = NULL;
    int64_t at = -1;

    ck_assert_int_eq(migrate_watch_next(&w, 2000, &at, &why), MIGRATE_ACT_PAUSE);
    ck_assert_int_eq(at, 10000);
    ck_assert_str_eq(why, "stalled");
    migrate_watch_progress(&w, 1000, 9000);
    ck_assert_int_eq(migrate_watch_next(&w, 9500, &at, &why), MIGRATE_ACT_PAUSE);
    ck_assert_int_eq(at, 19000);
    /* progress all along: the per-GiB budget is what comes next */
    w.stall_timeout_ms = 1000000;
    ck_assert_int_eq(migrate_watch_next(&w, 9500, &at, &why), MIGRATE_ACT_PAUSE);
    ck_assert_int_eq(at, 60000);
    ck_assert_str_eq(why, "timeout");
    w = watch_at_zero(MIGRATE_POLICY_ABORT);
    ck_assert_int_eq(migrate_watch_next(&w, 2000, &at, &why), MIGRATE_ACT_ABORT);
    ck_assert_int_eq(at, 10000);
    w = watch_at_zero(MIGRATE_POLICY_POSTCOPY);
    ck_assert_int_eq(migrate_watch_next(&w, 2000, &at, &why), MIGRATE_ACT_POSTCOPY);
    /* paused by the policy at 20 s: only giving up is left */
    w = watch_at_zero(MIGRATE_POLICY_PAUSE);
    w.stall_timeout_ms = 1000000;
    migrate_watch_acted(&w, MIGRATE_ACT_PAUSE, true, 20000);
    ck_assert_int_eq(migrate_watch_next(&w, 21000, &at, &why), MIGRATE_ACT_ABORT);
    ck_assert_int_eq(at, 110000);
    ck_assert_str_eq(why, "deadline");
    /* switched to post-copy: nothing more to do */
    w = watch_at_zero(MIGRATE_POLICY_POSTCOPY);
    migrate_watch_acted(&w, MIGRATE_ACT_POSTCOPY, true, 20000);
    ck_assert_int_eq(migrate_watch_next(&w, 21000, &at, &why), MIGRATE_ACT_NONE);
    /* already due: now */
    w = watch_at_zero(MIGRATE_POLICY_PAUSE);
    ck_assert_int_eq(migrate_watch_next(&w, 12000, &at, &why), MIGRATE_ACT_PAUSE);
    ck_assert_int_eq(at, 12000);
}
END_TEST

START_TEST(test_progress_format)
{
    struct migrate_watch w = watch_at_zero(MIGRATE_POLICY_PAUSE);
    struct virt_job_stats s;
    char line[512];

    memset(&s, 0, sizeof(s));
    s.active = true;
    s.data_total = 1024ULL << 20;
    s.data_processed = 512ULL << 20;
    s.data_remaining = 256ULL << 20;
    s.dirty_rate_pages_s = 3072;
    s.page_size = 4096;
    s.iterations = 3;
    s.elapsed_ms = 2000;
    migrate_progress_format(&s, &w, 2000, line, sizeof(line));
    ck_assert_msg(strstr(line, "copied 512 MiB") && strstr(line, "remaining 256 MiB of 1024 MiB") &&
                  strstr(line, "dirty 12.0 MiB/s") && strstr(line, "iteration 3") &&
                  strstr(line, "next: pause in 8.0 s (stalled)"), "line: %s", line);
    migrate_watch_acted(&w, MIGRATE_ACT_ABORT, true, 3000);
    migrate_progress_format(&s, &w, 3000, line, sizeof(line));
    ck_assert_msg(strstr(line, "next: none"), "line: %s", line);
}
END_TEST

static void
file_put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* A scratch qemu.conf path (not created) in a new directory from template dir;
 * conf_scratch_done removes both. */
static void
conf_scratch(char *dir, char *conf, size_t size)
{
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(conf, size, "%s/qemu.conf", dir);
}

static void
conf_scratch_done(const char *dir, const char *conf)
{
    unlink(conf);
    rmdir(dir);
}

/* Where QEMU's migration certificates are: qemu.conf's
 * migrate_tls_x509_cert_dir, else default_tls_x509_cert_dir, else libvirt's
 * /etc/pki/qemu. */
START_TEST(test_tls_dir)
{
    char dir[] = "/tmp/check_migrate_tls.XXXXXX";
    char conf[128];
    char out[256];

    conf_scratch(dir, conf, sizeof(conf));
    ck_assert_int_eq(migrate_tls_dir(conf, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "/etc/pki/qemu");
    file_put(conf, "# migrate_tls_x509_cert_dir = \"/commented\"\n"
                   "default_tls_x509_cert_dir = \"/etc/pki/all\"\n");
    ck_assert_int_eq(migrate_tls_dir(conf, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "/etc/pki/all");
    file_put(conf, "user = \"root\"\n"
                   "  migrate_tls_x509_cert_dir=\"/etc/libvirt/pki/mig\"  # ours\n"
                   "default_tls_x509_cert_dir = \"/etc/pki/all\"\n");
    ck_assert_int_eq(migrate_tls_dir(conf, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "/etc/libvirt/pki/mig");
    conf_scratch_done(dir, conf);
}
END_TEST

/* the lock manager qemu.conf sets: lockd or sanlock; nop or none is none */
START_TEST(test_lock_manager)
{
    char dir[] = "/tmp/check_migrate_lock.XXXXXX";
    char conf[128];
    char out[64];

    conf_scratch(dir, conf, sizeof(conf));
    ck_assert_int_eq(migrate_lock_manager(conf, out, sizeof(out)), -ENOENT);
    file_put(conf, "user = \"root\"\n#lock_manager = \"lockd\"\n");
    ck_assert_int_eq(migrate_lock_manager(conf, out, sizeof(out)), 0);
    file_put(conf, "lock_manager = \"nop\"\n");
    ck_assert_int_eq(migrate_lock_manager(conf, out, sizeof(out)), 0);
    file_put(conf, "user = \"root\"\n  lock_manager=\"lockd\"  # leases\n");
    ck_assert_int_eq(migrate_lock_manager(conf, out, sizeof(out)), 1);
    ck_assert_str_eq(out, "lockd");
    file_put(conf, "lock_manager = \"sanlock\"\n");
    ck_assert_int_eq(migrate_lock_manager(conf, out, sizeof(out)), 1);
    ck_assert_str_eq(out, "sanlock");
    conf_scratch_done(dir, conf);
}
END_TEST

/* tls=true: the source (QEMU's TLS client) needs its CA and client
 * certificate and key; a missing or empty one is named. */
START_TEST(test_preflight_tls)
{
    static const char *const files[] = { "ca-cert.pem", "client-cert.pem", "client-key.pem" };
    char dir[] = "/tmp/check_migrate_tls.XXXXXX";
    char path[128];
    ferry_error *err = NULL;
    size_t i;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(migrate_preflight_tls(dir, "node2", &err), FERRY_E_CONFIG);
    ck_assert_msg(strstr(error_message(err), "ca-cert.pem") && strstr(error_message(err), dir),
                  "%s", error_message(err));
    err = error_free(err);
    for (i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        file_put(path, "-----BEGIN CERTIFICATE-----\n");
    }
    ck_assert_msg(migrate_preflight_tls(dir, "node2", &err) == 0, "%s", error_message(err));
    snprintf(path, sizeof(path), "%s/client-cert.pem", dir);
    file_put(path, "");
    ck_assert_int_eq(migrate_preflight_tls(dir, "node2", &err), FERRY_E_CONFIG);
    ck_assert_msg(strstr(error_message(err), "client-cert.pem"), "%s", error_message(err));
    err = error_free(err);
    for (i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("migrate");

    add_test(s, test_target_default, 5);
    add_test(s, test_target_ssh_reuse, 5);
    add_test(s, test_target_user_and_mapping, 5);
    add_test(s, test_target_uris, 5);
    add_test(s, test_target_rejects, 5);
    add_test(s, test_uri_injection_static, 5);
    add_test(s, test_uri_injection_node, 5);
    add_test(s, test_endpoint_ipv6, 10);
    add_test(s, test_mapping_syntax, 5);
    add_test(s, test_params_validation, 5);
    add_test(s, test_expand_and_endpoint, 5);
    add_test(s, test_probe_resolve_abandoned, 30);
    add_test(s, test_probe_refused_fast, 10);
    add_test(s, test_disk_safety, 5);
    add_test(s, test_disk_safety_libvirt_rule, 5);
    add_test(s, test_memory_fits, 5);
    add_test(s, test_hugepages_xml, 5);
    add_test(s, test_cpu_compare_wanted, 5);
    add_test(s, test_cpu_xml, 5);
    add_test(s, test_preflight_target, 10);
    add_test(s, test_watch_init, 5);
    add_test(s, test_watch_late_gives_up, 5);
    add_test(s, test_watch_time_enough, 5);
    add_test(s, test_migration_spec, 5);
    add_test(s, test_handover_known, 30);
    add_test(s, test_flight_handed, 5);
    add_test(s, test_policy_decisions, 5);
    add_test(s, test_names_and_format, 5);
    add_test(s, test_phases, 5);
    add_test(s, test_watch_next, 5);
    add_test(s, test_progress_format, 5);
    add_test(s, test_tls_dir, 5);
    add_test(s, test_lock_manager, 5);
    add_test(s, test_preflight_tls, 5);
    return check_run(s);
}
