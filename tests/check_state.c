/* check_state.c — the per-resource state file: round trip, missing file,
 * the path's sanitising, and the definition fingerprint. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_common.h"
#include "state-priv.h"
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
    st.util_vms = 1;
    st.util_retry_after_s = 1234567890;
    ck_assert_int_eq(state_save(p, &st), 0);
    ck_assert_int_eq(state_load(p, &back), 0);
    ck_assert_str_eq(back.name, "vm1");
    ck_assert_str_eq(back.uuid, st.uuid);
    ck_assert(back.def_known);
    ck_assert(back.def_hash == st.def_hash);
    ck_assert_int_eq(back.util_cpu, 2);
    ck_assert_int_eq(back.util_hv_memory_mib, 1024);
    ck_assert_int_eq(back.util_vms, 1);
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

static void
slurp_into(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    size_t n = 0;

    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Item 12: the temporary file is not a predictable name that a symlink
 * planted in the state directory could redirect; no temporary is left. */
START_TEST(test_save_no_symlink_follow)
{
    char dir[] = "/tmp/check_state.XXXXXX";
    char victim[] = "/tmp/check_state_victim.XXXXXX";
    char path[256];
    char planted[300];
    char text[64];
    struct ferry_params *p = NULL;
    struct ferry_state st;
    struct stat lst;
    int fd = -1;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    fd = mkstemp(victim);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "precious\n", 9), 9);
    close(fd);
    p = params_in(dir, "p_vm1");
    ck_assert_int_eq(state_path(p, path, sizeof(path)), 0);
    /* the names the old code used: PATH.PID */
    snprintf(planted, sizeof(planted), "%s.%ld", path, (long)getpid());
    ck_assert_int_eq(symlink(victim, planted), 0);

    state_init(&st);
    snprintf(st.name, sizeof(st.name), "vm1");
    ck_assert_int_eq(state_save(p, &st), 0);
    slurp_into(victim, text, sizeof(text));
    ck_assert_str_eq(text, "precious\n");
    ck_assert_int_eq(lstat(path, &lst), 0);
    ck_assert(S_ISREG(lst.st_mode));
    ck_assert_int_eq(lst.st_mode & 077, 0);   /* root's business only */
    ck_assert_int_eq(state_load(p, &st), 0);
    ck_assert_str_eq(st.name, "vm1");

    ck_assert_int_eq(unlink(planted), 0);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(rmdir(dir), 0);   /* no temporary file was left */
    unlink(victim);
    params_free(p);
}
END_TEST

/* Item 12: states are compared field by field, not with memcmp (padding, and
 * the bytes after a name's NUL, are not part of the state). */
START_TEST(test_equal)
{
    struct ferry_state a;
    struct ferry_state b;

    /* the same state over different garbage: padding and the bytes after
     * the strings' NULs differ */
    memset(&a, 0xaa, sizeof(a));
    memset(&b, 0x55, sizeof(b));
    snprintf(a.name, sizeof(a.name), "vm1");
    snprintf(b.name, sizeof(b.name), "vm1");
    a.uuid[0] = b.uuid[0] = '\0';
    a.def_known = b.def_known = false;
    a.def_hash = b.def_hash = 0;
    a.util_cpu = b.util_cpu = -1;
    a.util_hv_memory_mib = b.util_hv_memory_mib = -1;
    a.util_vms = b.util_vms = -1;
    a.util_retry_after_s = b.util_retry_after_s = 0;
    a.started_ms = b.started_ms = 0;
    a.config[0] = b.config[0] = '\0';
    ck_assert(memcmp(&a, &b, sizeof(a)) != 0);  /* what memcmp would have said */
    ck_assert(state_equal(&a, &b));

    b.def_known = true;
    ck_assert(!state_equal(&a, &b));
    a.def_known = true;
    ck_assert(state_equal(&a, &b));
    b.def_hash = 42;
    ck_assert(!state_equal(&a, &b));
    a.def_hash = 42;
    b.util_cpu = 2;
    ck_assert(!state_equal(&a, &b));
    a.util_cpu = 2;
    b.util_hv_memory_mib = 512;
    ck_assert(!state_equal(&a, &b));
    a.util_hv_memory_mib = 512;
    b.util_retry_after_s = 1;
    ck_assert(!state_equal(&a, &b));
    a.util_retry_after_s = 1;
    snprintf(b.uuid, sizeof(b.uuid), "u");
    ck_assert(!state_equal(&a, &b));
    snprintf(a.uuid, sizeof(a.uuid), "u");
    snprintf(b.name, sizeof(b.name), "vm2");
    ck_assert(!state_equal(&a, &b));
    snprintf(a.name, sizeof(a.name), "vm2");
    ck_assert(state_equal(&a, &b));
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

    add_test(s, test_round_trip, 5);
    add_test(s, test_save_no_symlink_follow, 5);
    add_test(s, test_equal, 5);
    add_test(s, test_path, 5);
    add_test(s, test_hash, 5);
    return check_run(s);
}
