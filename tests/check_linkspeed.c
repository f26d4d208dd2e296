/* check_linkspeed.c — migration_speed=auto: the parameter, the slower end's
 * link speed divided by migration-limit, the local route lookup, sysfs, the
 * target's speed from libvirt's node devices (test driver), and the
 * migration-limit query (a stand-in for crm_attribute). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_common.h"
#include "linkspeed.h"
#include "params.h"
#include "virt.h"

static void
file_write(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    ck_assert_int_ge(fputs(text, f), 0);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(chmod(path, mode), 0);
}

START_TEST(test_param_auto)
{
    char *autoenv[] = { "OCF_RESKEY_name=vm1", "OCF_RESKEY_migration_speed=auto", NULL };
    char *num[] = { "OCF_RESKEY_name=vm1", "OCF_RESKEY_migration_speed=100", NULL };
    char *bad[] = { "OCF_RESKEY_name=vm1", "OCF_RESKEY_migration_speed=fast", NULL };
    struct ferry_params *p = NULL;
    ferry_error *err = NULL;

    ck_assert_msg(params_parse(autoenv, &p, &err) == 0, "%s", error_message(err));
    ck_assert_int_eq(p->migration_speed_mib_s, PARAMS_MIGRATION_SPEED_AUTO);
    ck_assert_int_eq(params_validate(p, &err), 0);
    p = params_free(p);
    ck_assert_int_eq(params_parse(num, &p, &err), 0);
    ck_assert_int_eq(p->migration_speed_mib_s, 100);
    p = params_free(p);
    ck_assert_int_eq(params_parse(bad, &p, &err), FERRY_E_CONFIG);
    ck_assert_ptr_nonnull(strstr(error_message(err), "migration_speed"));
    err = error_free(err);
    params_free(p);
}
END_TEST

START_TEST(test_choose)
{
    /* 10 Gb/s and 1 Gb/s: the slower; 1000 Mb/s = 119 MiB/s */
    ck_assert_int_eq(linkspeed_choose_mib_s(10000, 1000, 1), 119);
    ck_assert_int_eq(linkspeed_choose_mib_s(1000, 10000, 1), 119);
    /* shared by migration-limit concurrent migrations */
    ck_assert_int_eq(linkspeed_choose_mib_s(10000, 10000, 2), 596);
    ck_assert_int_eq(linkspeed_choose_mib_s(10000, 10000, 4), 298);
    /* no limit (-1) or none known (0): the whole link */
    ck_assert_int_eq(linkspeed_choose_mib_s(10000, 10000, -1), 1192);
    ck_assert_int_eq(linkspeed_choose_mib_s(10000, 10000, 0), 1192);
    /* never 0 (which would mean no limit): at least 1 MiB/s */
    ck_assert_int_eq(linkspeed_choose_mib_s(10, 10, 1000), 1);
    /* an unknown speed at either end: no limit */
    ck_assert_int_eq(linkspeed_choose_mib_s(LINKSPEED_UNKNOWN, 1000, 1), 0);
    ck_assert_int_eq(linkspeed_choose_mib_s(1000, LINKSPEED_UNKNOWN, 1), 0);
}
END_TEST

START_TEST(test_uri_host)
{
    char host[256];

    ck_assert_int_eq(linkspeed_uri_host("tcp://198.51.100.12:49152", host, sizeof(host)), 0);
    ck_assert_str_eq(host, "198.51.100.12");
    ck_assert_int_eq(linkspeed_uri_host("tcp://node2-mig", host, sizeof(host)), 0);
    ck_assert_str_eq(host, "node2-mig");
    ck_assert_int_eq(linkspeed_uri_host("qemu+ssh://root@node2/system", host, sizeof(host)), 0);
    ck_assert_str_eq(host, "node2");
    ck_assert_int_eq(linkspeed_uri_host("tcp://[2001:db8::2]:49152", host, sizeof(host)), 0);
    ck_assert_str_eq(host, "2001:db8::2");
    ck_assert_int_eq(linkspeed_uri_host("qemu:///system", host, sizeof(host)), -EINVAL);
    ck_assert_int_eq(linkspeed_uri_host("node2", host, sizeof(host)), -EINVAL);
}
END_TEST

START_TEST(test_route_interface)
{
    char ifname[64];
    ferry_error *err = NULL;

    ck_assert_msg(linkspeed_route_interface("127.0.0.1", ifname, sizeof(ifname), &err) == 0, "%s",
                  error_message(err));
    ck_assert_str_eq(ifname, "lo");
    ck_assert_int_eq(linkspeed_route_interface("no-such-host.invalid", ifname, sizeof(ifname), &err),
                     FERRY_E_STATE);
    ck_assert_ptr_nonnull(strstr(error_message(err), "no-such-host.invalid"));
    error_free(err);
}
END_TEST

START_TEST(test_sysfs)
{
    char dir[] = "/tmp/check_linkspeed.XXXXXX";
    char path[256];
    int64_t mbps = 0;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/eth0", dir);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/eth0/speed", dir);
    file_write(path, "25000\n", 0644);
    ck_assert_int_eq(linkspeed_sysfs_mbps(dir, "eth0", &mbps), 0);
    ck_assert_int_eq(mbps, 25000);
    file_write(path, "-1\n", 0644);         /* a link that is down, or a driver that does not know */
    ck_assert_int_eq(linkspeed_sysfs_mbps(dir, "eth0", &mbps), 0);
    ck_assert_int_eq(mbps, LINKSPEED_UNKNOWN);
    unlink(path);                           /* an interface without the file (lo: EINVAL) */
    ck_assert_int_eq(linkspeed_sysfs_mbps(dir, "eth0", &mbps), 0);
    ck_assert_int_eq(mbps, LINKSPEED_UNKNOWN);
    ck_assert_int_eq(linkspeed_sysfs_mbps(dir, "../etc", &mbps), -EINVAL);
    snprintf(path, sizeof(path), "%s/eth0", dir);
    rmdir(path);
    rmdir(dir);
}
END_TEST

START_TEST(test_node_link_speed)
{
    char dir[] = "/tmp/check_linkspeed.XXXXXX";
    char path[256];
    char uri[300];
    virt_conn *c = NULL;
    ferry_error *err = NULL;
    int64_t mbps = 0;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/node.xml", dir);
    file_write(path,
               "<node>"
               "<device><name>net_mig0_52_54_00_00_00_01</name><parent>computer</parent>"
               "<capability type='net'><interface>mig0</interface>"
               "<address>52:54:00:00:00:01</address><link speed='1000' state='up'/>"
               "</capability></device>"
               "<device><name>net_eth9_52_54_00_00_00_02</name><parent>computer</parent>"
               "<capability type='net'><interface>eth9</interface>"
               "<address>52:54:00:00:00:02</address><link state='down'/>"
               "</capability></device>"
               "<device><name>net_br_mig_52_54_00_00_00_03</name><parent>computer</parent>"
               "<capability type='net'><interface>br-mig</interface>"
               "<address>52:54:00:00:00:03</address><link speed='2500' state='up'/>"
               "</capability></device>"
               "</node>", 0644);
    snprintf(uri, sizeof(uri), "test://%s", path);
    ck_assert_int_eq(virt_init(&err), 0);
    ck_assert_msg(virt_conn_open(uri, &c, &err) == 0, "%s", error_message(err));
    ck_assert_msg(virt_node_link_speed_mbps(c, "mig0", &mbps, &err) == 0, "%s", error_message(err));
    ck_assert_int_eq(mbps, 1000);
    ck_assert_int_eq(virt_node_link_speed_mbps(c, "eth9", &mbps, &err), 0);   /* no speed */
    ck_assert_int_eq(mbps, -1);
    /* libvirt's device name has '_' for the '-' */
    ck_assert_int_eq(virt_node_link_speed_mbps(c, "br-mig", &mbps, &err), 0);
    ck_assert_int_eq(mbps, 2500);
    /* a prefix of another interface's name is not that interface */
    ck_assert_int_eq(virt_node_link_speed_mbps(c, "mig", &mbps, &err), FERRY_E_STATE);
    err = error_free(err);
    ck_assert_int_eq(virt_node_link_speed_mbps(c, "bond7", &mbps, &err), FERRY_E_STATE);
    ck_assert_ptr_nonnull(strstr(error_message(err), "'bond7'"));
    error_free(err);
    virt_conn_close(c);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(test_migration_limit)
{
    char dir[] = "/tmp/check_linkspeed.XXXXXX";
    char prog[128];
    char log[128];
    char text[512];
    FILE *f = NULL;
    ferry_error *err = NULL;
    deadline dl;
    int64_t limit = 0;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(prog, sizeof(prog), "%s/crm_attribute", dir);
    snprintf(log, sizeof(log), "%s/args", dir);
    snprintf(text, sizeof(text), "#!/bin/sh\necho \"$*\" > %s\necho 2\n", log);
    file_write(prog, text, 0755);
    deadline_init(&dl, 20000);
    ck_assert_msg(linkspeed_migration_limit(prog, &dl, &limit, &err) == 0, "%s", error_message(err));
    ck_assert_int_eq(limit, 2);
    f = fopen(log, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(text, sizeof(text), f));
    fclose(f);
    ck_assert_str_eq(text, "--type crm_config --name migration-limit --query --quiet --default -1\n");
    /* Pacemaker's default, no limit */
    file_write(prog, "#!/bin/sh\necho -1\n", 0755);
    ck_assert_int_eq(linkspeed_migration_limit(prog, &dl, &limit, &err), 0);
    ck_assert_int_eq(limit, -1);
    /* a failing or nonsensical answer is an error */
    file_write(prog, "#!/bin/sh\necho 'Error performing operation'; exit 105\n", 0755);
    ck_assert_int_eq(linkspeed_migration_limit(prog, &dl, &limit, &err), FERRY_E_STATE);
    ck_assert_ptr_nonnull(strstr(error_message(err), "migration-limit"));
    err = error_free(err);
    file_write(prog, "#!/bin/sh\necho many\n", 0755);
    ck_assert_int_eq(linkspeed_migration_limit(prog, &dl, &limit, &err), FERRY_E_STATE);
    err = error_free(err);
    unlink(prog);
    unlink(log);
    rmdir(dir);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("linkspeed");

    add_test(s, test_param_auto, 5);
    add_test(s, test_choose, 5);
    add_test(s, test_uri_host, 5);
    add_test(s, test_route_interface, 10);
    add_test(s, test_sysfs, 5);
    add_test(s, test_node_link_speed, 10);
    add_test(s, test_migration_limit, 10);
    return check_run(s);
}
