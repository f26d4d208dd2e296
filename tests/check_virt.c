/* check_virt.c — the libvirt module against libvirt's test:///default driver. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "check_common.h"
#include "virt.h"

#define TEST_URI "test:///default"

static const char *const xml_t1 =
    "<domain type='test'><name>t1</name><uuid>11111111-2222-3333-4444-555555555555</uuid>"
    "<memory>8192</memory><os><type>hvm</type></os></domain>";

static virt_conn *
open_test(void)
{
    virt_conn *c = NULL;
    ferry_error *err = NULL;

    ck_assert_int_eq(virt_init(&err), 0);
    ck_assert_msg(virt_conn_open(TEST_URI, &c, &err) == 0, "%s", error_message(err));
    ck_assert_str_eq(virt_conn_uri(c), TEST_URI);
    return c;
}

static enum virt_state
state_of(virt_conn *c, const char *name, const char *uuid)
{
    struct virt_identity id = { name, uuid };
    struct virt_domain_info info;
    ferry_error *err = NULL;

    ck_assert_msg(virt_domain_query(c, &id, &info, &err) == 0, "%s", error_message(err));
    return info.state;
}

START_TEST(test_query_builtin_and_absent)
{
    virt_conn *c = open_test();
    struct virt_identity id = { "test", NULL };
    struct virt_domain_info info;
    ferry_error *err = NULL;

    ck_assert_int_eq(virt_domain_query(c, &id, &info, &err), 0);
    ck_assert_int_eq(info.state, VIRT_STATE_RUNNING);
    ck_assert(info.persistent);
    ck_assert_str_eq(info.state_text, "running");
    ck_assert_int_eq(strlen(info.uuid), 36);
    ck_assert_int_eq(state_of(c, "no-such-domain", NULL), VIRT_STATE_ABSENT);
    ck_assert_int_eq(state_of(c, "no-such-domain", "99999999-2222-3333-4444-555555555555"),
                     VIRT_STATE_ABSENT);
    virt_conn_close(c);
}
END_TEST

START_TEST(test_uuid_mismatch_is_not_ours)
{
    virt_conn *c = open_test();
    struct virt_identity id = { "test", "99999999-2222-3333-4444-555555555555" };
    struct virt_domain_info info;
    ferry_error *err = NULL;

    ck_assert_int_eq(virt_domain_query(c, &id, &info, &err), 0);
    ck_assert_int_eq(info.state, VIRT_STATE_ABSENT);
    ck_assert(info.uuid_mismatch);
    virt_conn_close(c);
}
END_TEST

START_TEST(test_transient_lifecycle)
{
    virt_conn *c = open_test();
    struct virt_identity id = { "t1", "11111111-2222-3333-4444-555555555555" };
    struct virt_domain_info info;
    ferry_error *err = NULL;
    char uuid[40];

    ck_assert_int_eq(virt_domain_create_xml(c, xml_t1, false, uuid, &err), 0);
    ck_assert_str_eq(uuid, id.uuid);
    ck_assert_int_eq(virt_domain_query(c, &id, &info, &err), 0);
    ck_assert_int_eq(info.state, VIRT_STATE_RUNNING);
    ck_assert(!info.persistent);
    /* a second create of the same domain fails, with libvirt's reason */
    ck_assert_int_eq(virt_domain_create_xml(c, xml_t1, false, uuid, &err), FERRY_E_LIBVIRT);
    ck_assert_ptr_nonnull(strstr(error_message(err), "cannot create the domain: "));
    err = error_free(err);
    ck_assert_int_eq(virt_domain_destroy(c, &id, &err), 0);
    ck_assert_int_eq(state_of(c, "t1", NULL), VIRT_STATE_ABSENT);
    /* destroying what is gone says so */
    ck_assert_int_eq(virt_domain_destroy(c, &id, &err), FERRY_E_STATE);
    ck_assert_ptr_nonnull(strstr(error_message(err), "does not exist"));
    error_free(err);
    virt_conn_close(c);
}
END_TEST

START_TEST(test_persistent_lifecycle)
{
    virt_conn *c = open_test();
    struct virt_identity id = { "t1", NULL };
    deadline dl;
    ferry_error *err = NULL;
    char uuid[40];

    ck_assert_int_eq(virt_domain_create_xml(c, xml_t1, true, uuid, &err), 0);
    ck_assert_int_eq(state_of(c, "t1", NULL), VIRT_STATE_RUNNING);
    ck_assert_int_eq(virt_domain_shutdown(c, &id, &err), 0);
    deadline_init_budget(&dl, 2000);
    ck_assert_int_eq(virt_domain_wait_inactive(c, &id, &dl, 50, &err), 0);
    ck_assert_int_eq(state_of(c, "t1", NULL), VIRT_STATE_SHUTOFF);
    ck_assert_int_eq(virt_domain_start_defined(c, &id, &err), 0);
    ck_assert_int_eq(state_of(c, "t1", NULL), VIRT_STATE_RUNNING);
    ck_assert_int_eq(virt_domain_destroy(c, &id, &err), 0);
    ck_assert_int_eq(state_of(c, "t1", NULL), VIRT_STATE_SHUTOFF);
    virt_conn_close(c);
}
END_TEST

START_TEST(test_pause_resume)
{
    virt_conn *c = open_test();
    virConnectPtr raw = virConnectOpen(TEST_URI);
    virDomainPtr d = NULL;
    struct virt_identity id = { "test", NULL };
    struct virt_domain_info info;
    ferry_error *err = NULL;

    d = virDomainLookupByName(raw, "test");
    ck_assert_int_eq(virDomainSuspend(d), 0);
    ck_assert_int_eq(virt_domain_query(c, &id, &info, &err), 0);
    ck_assert_int_eq(info.state, VIRT_STATE_PAUSED);
    ck_assert_int_eq(info.paused_why, VIRT_PAUSED_USER);
    ck_assert_str_eq(info.state_text, "paused (user)");
    ck_assert_int_eq(virt_domain_resume(c, &id, &err), 0);
    ck_assert_int_eq(state_of(c, "test", NULL), VIRT_STATE_RUNNING);
    virDomainFree(d);
    virConnectClose(raw);
    virt_conn_close(c);
}
END_TEST

START_TEST(test_wait_inactive_times_out)
{
    virt_conn *c = open_test();
    struct virt_identity id = { "test", NULL };
    deadline dl;
    ferry_error *err = NULL;
    int64_t t0 = deadline_now_ms();

    deadline_init_budget(&dl, 300);
    ck_assert_int_eq(virt_domain_wait_inactive(c, &id, &dl, 50, &err), FERRY_E_TIMEOUT);
    ck_assert_ptr_nonnull(strstr(error_message(err), "is still running"));
    ck_assert_int_lt(deadline_now_ms() - t0, 1500);
    error_free(err);
    virt_conn_close(c);
}
END_TEST

START_TEST(test_connect_failure_is_captured)
{
    virt_conn *c = NULL;
    ferry_error *err = NULL;

    ck_assert_int_eq(virt_init(&err), 0);
    ck_assert_int_eq(virt_conn_open("test:///nonexistent/ferry-missing.xml", &c, &err),
                     FERRY_E_LIBVIRT);
    ck_assert_ptr_null(c);
    ck_assert_ptr_nonnull(strstr(error_message(err),
                                 "cannot connect to libvirt at 'test:///nonexistent/ferry-missing.xml': "));
    error_free(err);
}
END_TEST

START_TEST(test_state_names)
{
    ck_assert_str_eq(virt_state_name(VIRT_STATE_ABSENT), "absent");
    ck_assert_str_eq(virt_state_name(VIRT_STATE_SHUTOFF), "shut off");
    ck_assert_str_eq(virt_state_name(VIRT_STATE_CRASHED), "crashed");
    ck_assert_ptr_null(virt_conn_close(NULL));
}
END_TEST

START_TEST(test_migration_target_queries)
{
    virt_conn *c = open_test();
    struct virt_node_memory mem;
    uint64_t sizes[8];
    uint64_t pages = 0;
    size_t n = 0;
    ferry_error *err = NULL;

    /* no memory statistics in the test driver: free memory only (3 MiB there) */
    ck_assert_msg(virt_node_memory(c, &mem, &err) == 0, "%s", error_message(err));
    ck_assert_uint_eq(mem.free_kib, 3072);
    ck_assert_uint_eq(mem.buffers_kib + mem.cached_kib, 0);
    /* the capabilities list 4, 8, 2048 and 1048576 KiB pages; the base page is left out */
    ck_assert_msg(virt_node_hugepage_sizes(c, sizes, 8, &n, &err) == 0, "%s", error_message(err));
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(sizes[0], 8);
    ck_assert_uint_eq(sizes[1], 2048);
    ck_assert_uint_eq(sizes[2], 1048576);
    ck_assert_msg(virt_node_free_pages(c, 2048, &pages, &err) == 0, "%s", error_message(err));
    ck_assert_uint_eq(pages, 19);     /* the test driver's made-up count */
    /* the test driver cannot compare CPUs: told apart from an incompatible CPU */
    ck_assert_int_eq(virt_cpu_compare(c, "x86_64", "kvm", "<cpu><model>Haswell</model></cpu>",
                                      &err), -EOPNOTSUPP);
    ck_assert_ptr_nonnull(strstr(error_message(err), "cannot compare"));
    error_free(err);
    virt_conn_close(c);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("virt");

    add_test(s, test_query_builtin_and_absent, 10);
    add_test(s, test_uuid_mismatch_is_not_ours, 10);
    add_test(s, test_transient_lifecycle, 10);
    add_test(s, test_persistent_lifecycle, 10);
    add_test(s, test_pause_resume, 10);
    add_test(s, test_wait_inactive_times_out, 10);
    add_test(s, test_connect_failure_is_captured, 10);
    add_test(s, test_state_names, 5);
    add_test(s, test_migration_target_queries, 10);
    return check_run(s);
}
