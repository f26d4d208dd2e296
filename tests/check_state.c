/* check_state.c — the per-resource state file: round trip, missing file,
 * the path's sanitising, and the definition fingerprint. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_common.h"
#include "state.h"

static struct ferry_params *
params_in(const char *dir, const char *instance)
{
    char rsctmp[256];
    char inst[256];
    char *env[] = { rsctmp, inst, "OCF_RESKEY_name=vm1", NULL };
    struct ferry_params *p = NULL;
    ferry_error *err = NULL;

    snprintf(rsctmp, sizeof(rsctmp), "HA_RSCTMP=%s", dir);
    snprintf(inst, sizeof(inst), "OCF_RESOURCE_INSTANCE=%s", instance);
    ck_assert_int_eq(params_parse(env, &p, &err), 0);
    return p;
}

START_TEST(test_round_trip)
{
    char dir[] = "/tmp/check_state.XXXXXX";
    char path[256];
    struct ferry_params *p = NULL;
    struct ferry_state st;
    struct ferry_state back;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    p = params_in(dir, "p_vm1");
    ck_assert_int_eq(state_load(p, &st), -ENOENT);
    ck_assert_str_eq(st.name, "");
    ck_assert_int_eq(st.util_cpu, -1);
    ck_assert(!st.def_known);

    snprintf(st.name, sizeof(st.name), "vm1");
    snprintf(st.uuid, sizeof(st.uuid), "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
    st.def_known = true;
    st.def_hash = state_hash("<domain/>");
    st.util_cpu = 2;
    st.util_hv_memory_mib = 1024;
    st.util_retry_after_s = 1234567890;
    ck_assert_int_eq(state_save(p, &st), 0);
    ck_assert_int_eq(state_load(p, &back), 0);
    ck_assert_str_eq(back.name, "vm1");
    ck_assert_str_eq(back.uuid, st.uuid);
    ck_assert(back.def_known);
    ck_assert(back.def_hash == st.def_hash);
    ck_assert_int_eq(back.util_cpu, 2);
    ck_assert_int_eq(back.util_hv_memory_mib, 1024);
    ck_assert_int_eq(back.util_retry_after_s, 1234567890);

    /* transient: a known definition of 0 survives too */
    back.def_hash = 0;
    ck_assert_int_eq(state_save(p, &back), 0);
    ck_assert_int_eq(state_load(p, &st), 0);
    ck_assert(st.def_known);
    ck_assert(st.def_hash == 0);

    ck_assert_int_eq(state_path(p, path, sizeof(path)), 0);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(rmdir(dir), 0);   /* nothing else was left */
    params_free(p);
}
END_TEST

START_TEST(test_path)
{
    struct ferry_params *p = params_in("/run/x", "vm/../../etc");
    char path[256];

    ck_assert_int_eq(state_path(p, path, sizeof(path)), 0);
    ck_assert_str_eq(path, "/run/x/ferry-vm-vm_.._.._etc.state");
    params_free(p);
}
END_TEST

START_TEST(test_hash)
{
    ck_assert(state_hash("") != 0);
    ck_assert(state_hash("<domain/>") != state_hash("<domain />"));
    ck_assert(state_hash("abc") == state_hash("abc"));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("state");

    add_tcase(s, tcase_create("round_trip"), test_round_trip, 5);
    add_tcase(s, tcase_create("path"), test_path, 5);
    add_tcase(s, tcase_create("hash"), test_hash, 5);
    return check_run(s);
}
