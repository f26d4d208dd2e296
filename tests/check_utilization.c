/* check_utilization.c — when the agent writes utilization to the CIB: only
 * under Pacemaker, only what changed, not again soon after a failure; and what
 * it runs (a stand-in for crm_resource records its arguments). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_common.h"
#include "utilization-priv.h"
#include "utilization.h"

static struct ferry_params *
params_from(char **env)
{
    struct ferry_params *p = NULL;
    ferry_error *err = NULL;

    ck_assert_int_eq(params_parse(env, &p, &err), 0);
    return p;
}

START_TEST(test_pending)
{
    char *pcmk[] = { "OCF_RESOURCE_INSTANCE=p_vm1", "OCF_RESKEY_crm_feature_set=3.16.2", NULL };
    char *alone[] = { "OCF_RESOURCE_INSTANCE=p_vm1", NULL };
    char *off[] = { "OCF_RESOURCE_INSTANCE=p_vm1", "OCF_RESKEY_crm_feature_set=3.16.2",
                    "OCF_RESKEY_autoset_utilization_cpu=false", NULL };
    struct ferry_params *p = params_from(pcmk);
    struct ferry_params *q = params_from(alone);
    struct ferry_params *r = params_from(off);
    struct utilization_size size = { 2, 256 };
    struct ferry_state st;

    state_init(&st);
    ck_assert_uint_eq(utilization_pending(p, &st, &size, 1000), 3);
    ck_assert_uint_eq(utilization_pending(q, &st, &size, 1000), 0);   /* no CIB to write to */
    ck_assert_uint_eq(utilization_pending(r, &st, &size, 1000), 2);
    st.util_cpu = 2;
    ck_assert_uint_eq(utilization_pending(p, &st, &size, 1000), 2);
    st.util_hv_memory_mib = 256;
    ck_assert_uint_eq(utilization_pending(p, &st, &size, 1000), 0);   /* unchanged: nothing */
    size.cpu = 4;
    ck_assert_uint_eq(utilization_pending(p, &st, &size, 1000), 1);
    st.util_retry_after_s = 1200;                                        /* failed recently */
    ck_assert_uint_eq(utilization_pending(p, &st, &size, 1000), 0);
    ck_assert_uint_eq(utilization_pending(p, &st, &size, 1300), 1);
    params_free(p);
    params_free(q);
    params_free(r);
}
END_TEST

/* vms=1 (a VM counts one against a node's capacity "vms"): off by default,
 * published once when switched on */
START_TEST(test_pending_vms)
{
    char *on[] = { "OCF_RESOURCE_INSTANCE=p_vm1", "OCF_RESKEY_crm_feature_set=3.16.2",
                   "OCF_RESKEY_autoset_utilization_vms=true", NULL };
    char *dflt[] = { "OCF_RESOURCE_INSTANCE=p_vm1", "OCF_RESKEY_crm_feature_set=3.16.2", NULL };
    struct ferry_params *p = params_from(on);
    struct ferry_params *q = params_from(dflt);
    struct utilization_size size = { 2, 256 };
    struct ferry_state st;

    ck_assert(!q->autoset_utilization_vms);
    state_init(&st);
    ck_assert_uint_eq(utilization_pending(p, &st, &size, 1000), 7);
    ck_assert_uint_eq(utilization_pending(q, &st, &size, 1000), 3);
    st.util_cpu = 2;
    st.util_hv_memory_mib = 256;
    ck_assert_uint_eq(utilization_pending(p, &st, &size, 1000), 4);
    st.util_vms = 1;
    ck_assert_uint_eq(utilization_pending(p, &st, &size, 1000), 0);
    params_free(p);
    params_free(q);
}
END_TEST

START_TEST(test_publish)
{
    char dir[] = "/tmp/check_util.XXXXXX";
    char prog[128];
    char log[128];
    char line[512];
    char *env[] = { "OCF_RESOURCE_INSTANCE=p_vm1", "OCF_RESKEY_crm_feature_set=3.16.2",
                    "OCF_RESKEY_autoset_utilization_vms=true", NULL };
    struct ferry_params *p = params_from(env);
    struct utilization_size size = { 2, 256 };
    struct ferry_state st;
    ferry_error *err = NULL;
    deadline dl;
    FILE *f = NULL;
    int n = 0;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(prog, sizeof(prog), "%s/crm_resource", dir);
    snprintf(log, sizeof(log), "%s/calls", dir);
    f = fopen(prog, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "#!/bin/sh\necho \"$*\" >> %s\n", log);
    fclose(f);
    ck_assert_int_eq(chmod(prog, 0755), 0);
    deadline_init(&dl, 20000);
    state_init(&st);

    ck_assert_int_eq(utilization_publish(p, &st, &size, prog, &dl, &err), 3);
    ck_assert_int_eq(st.util_cpu, 2);
    ck_assert_int_eq(st.util_hv_memory_mib, 256);
    ck_assert_int_eq(st.util_vms, 1);
    ck_assert_int_eq(utilization_publish(p, &st, &size, prog, &dl, &err), 0);   /* nothing due */
    size.hv_memory_mib = 512;
    ck_assert_int_eq(utilization_publish(p, &st, &size, prog, &dl, &err), 1);
    f = fopen(log, "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f)) {
        static const char *const want[] = {
            "--resource p_vm1 --utilization --set-parameter cpu --parameter-value 2\n",
            "--resource p_vm1 --utilization --set-parameter hv_memory --parameter-value 256\n",
            "--resource p_vm1 --utilization --set-parameter vms --parameter-value 1\n",
            "--resource p_vm1 --utilization --set-parameter hv_memory --parameter-value 512\n",
        };
        ck_assert_int_lt(n, 4);
        ck_assert_str_eq(line, want[n]);
        n++;
    }
    fclose(f);
    ck_assert_int_eq(n, 4);

    /* a failing crm_resource: an error, a retry time, the old value kept */
    size.cpu = 8;
    ck_assert_int_eq(utilization_publish(p, &st, &size, "false", &dl, &err), FERRY_E_STATE);
    ck_assert_ptr_nonnull(strstr(error_message(err), "cannot set utilization cpu=8"));
    error_free(err);
    ck_assert_int_eq(st.util_cpu, 2);
    ck_assert_int_gt(st.util_retry_after_s, 0);
    unlink(log);
    unlink(prog);
    rmdir(dir);
    params_free(p);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("utilization");

    add_test(s, test_pending, 5);
    add_test(s, test_pending_vms, 5);
    add_test(s, test_publish, 10);
    return check_run(s);
}
