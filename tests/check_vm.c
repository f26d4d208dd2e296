/* check_vm.c — the resource logic (identity, start, stop, monitor, validate)
 * against libvirt's test:///default driver. The test holds a connection of its
 * own open so the driver's state lives across the module's connections. */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "check_common.h"
#include "proc.h"
#include "migration.h"
#include "state.h"
#include "vm.h"

#define TEST_URI "test:///default"
#define UUID1 "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

static const char *const xml_vm1 =
    "<domain type='test'><name>vm1</name><uuid>" UUID1 "</uuid>"
    "<memory>8192</memory><os><type>hvm</type></os></domain>\n";

/* vm1 as whoever can write the snapshot directory might save it: same name
 * and UUID, another definition (the test driver's stand-in for qemu:commandline) */
static const char *const xml_vm1_big =
    "<domain type='test'><name>vm1</name><uuid>" UUID1 "</uuid>"
    "<memory>9216</memory><os><type>hvm</type></os></domain>\n";

/* ---- stand-ins for two libvirt calls where the test driver is not qemu ---- */

typedef int (*restore_fn)(virConnectPtr, const char *, const char *, unsigned int);
typedef int (*get_state_fn)(virDomainPtr, int *, int *, unsigned int);

static char *restore_dxml;     /* the definition the last restore was given, NULL: none */
static int restore_calls;
static int fake_state = -1;    /* reported for vm1 while it is active; -1: its real state */
static int fake_reason;

static unsigned long long
xml_memory(const char *xml)
{
    const char *m = xml ? strstr(xml, "<memory") : NULL;

    m = m ? strchr(m, '>') : NULL;
    return m ? strtoull(m + 1, NULL, 10) : 0;
}

/* the text of <uuid>, "" if none */
static void
xml_uuid(const char *xml, char out[37])
{
    const char *u = xml ? strstr(xml, "<uuid>") : NULL;

    snprintf(out, 37, "%s", u ? u + 6 : "");
    out[strcspn(out, "<")] = '\0';
}

/* qemu restores with the definition it is given once it fits the image (same
 * UUID, memory, devices, ...); the test driver takes none. This records it, refuses
 * one that does not fit (the test driver's own error) and restores the rest
 * as the test driver can. */
int
virDomainRestoreFlags(virConnectPtr conn, const char *from, const char *dxml, unsigned int flags)
{
    restore_fn real = (restore_fn)dlsym(RTLD_NEXT, "virDomainRestoreFlags");
    char *image = virDomainSaveImageGetXMLDesc(conn, from, 0);
    char want[37];
    char have[37];
    bool fits = false;

    xml_uuid(image, have);
    xml_uuid(dxml, want);
    fits = dxml && image && xml_memory(dxml) == xml_memory(image) && strcmp(want, have) == 0;
    free(image);
    free(restore_dxml);
    restore_dxml = dxml ? strdup(dxml) : NULL;
    restore_calls++;
    return real(conn, from, dxml && !fits ? dxml : NULL, flags);
}

/* libvirt's state of vm1, or the fake one while it is active */
int
virDomainGetState(virDomainPtr dom, int *state, int *reason, unsigned int flags)
{
    get_state_fn real = (get_state_fn)dlsym(RTLD_NEXT, "virDomainGetState");
    int ret = real(dom, state, reason, flags);

    if (ret == 0 && fake_state >= 0 && strcmp(virDomainGetName(dom), "vm1") == 0 &&
        (*state == VIR_DOMAIN_RUNNING || *state == VIR_DOMAIN_PAUSED)) {
        *state = fake_state;
        if (reason)
            *reason = fake_reason;
    }
    return ret;
}

struct fixture {
    char dir[64];
    char config[128];
    char state_dir[128];
    virConnectPtr keep;     /* keeps test:///default's state alive */
};

/* Writes text to path (a test's config file). */
static void
file_write(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    ck_assert_int_eq(fclose(fp), 0);
}

static void
fixture_setup(struct fixture *f)
{
    FILE *fp = NULL;

    snprintf(f->dir, sizeof(f->dir), "/tmp/check_vm.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(f->dir));
    snprintf(f->config, sizeof(f->config), "%s/vm1.xml", f->dir);
    snprintf(f->state_dir, sizeof(f->state_dir), "%s/state", f->dir);
    fp = fopen(f->config, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(xml_vm1, fp);
    fclose(fp);
    f->keep = virConnectOpen(TEST_URI);
    ck_assert_ptr_nonnull(f->keep);
}

static void
fixture_teardown(struct fixture *f)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/ferry-vm-p_vm1.state", f->state_dir);
    unlink(path);
    rmdir(f->state_dir);
    unlink(f->config);
    rmdir(f->dir);
    virConnectClose(f->keep);
}

/* Params from "k=v" instance parameters (NULL-terminated), plus the fixture's. */
static struct ferry_params *
params_make(const struct fixture *f, const char *const *extra)
{
    char *env[32];
    char hyper[] = "OCF_RESKEY_hypervisor=" TEST_URI;
    char inst[] = "OCF_RESOURCE_INSTANCE=p_vm1";
    char rsctmp[192];
    struct ferry_params *p = NULL;
    ferry_error *err = NULL;
    size_t n = 0;

    /* the first definition of a variable counts: extras override the fixture's */
    snprintf(rsctmp, sizeof(rsctmp), "HA_RSCTMP=%s", f->state_dir);
    for (; extra && *extra; extra++)
        env[n++] = (char *)*extra;
    env[n++] = hyper;
    env[n++] = inst;
    env[n++] = rsctmp;
    env[n] = NULL;
    ck_assert_msg(params_parse(env, &p, &err) == 0, "%s", error_message(err));
    return p;
}

static struct ferry_params *
params_with_config(const struct fixture *f, const char *more)
{
    char config[192];
    const char *extra[] = { config, more, NULL };

    snprintf(config, sizeof(config), "OCF_RESKEY_config=%s", f->config);
    return params_make(f, extra);
}

static enum vm_status
monitor(const struct ferry_params *p)
{
    struct vm_monitor_result r;
    ferry_error *err = NULL;
    deadline dl;

    deadline_init(&dl, 20000);
    ck_assert_msg(vm_monitor(p, &dl, &r, &err) == 0, "monitor: %s", error_message(err));
    return r.status;
}

static void
start_ok(const struct ferry_params *p, const char *how)
{
    struct vm_start_result r;
    ferry_error *err = NULL;
    deadline dl;

    deadline_init(&dl, 20000);
    ck_assert_msg(vm_start(p, &dl, &r, &err) == 0, "start: %s", error_message(err));
    ck_assert_str_eq(r.name, "vm1");
    ck_assert_str_eq(r.how, how);
}

static enum vm_stop_how
stop_ok(const struct ferry_params *p)
{
    struct vm_stop_result r;
    ferry_error *err = NULL;
    deadline dl;

    deadline_init(&dl, 20000);
    ck_assert_msg(vm_stop(p, &dl, &r, &err) == 0, "stop: %s", error_message(err));
    return r.how;
}

START_TEST(test_transient_cycle)
{
    struct fixture f;
    struct ferry_params *p = NULL;
    virDomainPtr d = NULL;

    fixture_setup(&f);
    p = params_with_config(&f, NULL);
    ck_assert_int_eq(monitor(p), VM_STATUS_STOPPED);
    start_ok(p, "created (transient)");
    ck_assert_int_eq(monitor(p), VM_STATUS_RUNNING);
    d = virDomainLookupByName(f.keep, "vm1");
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(virDomainIsPersistent(d), 0);
    virDomainFree(d);
    start_ok(p, "already running");
    ck_assert_int_eq(stop_ok(p), VM_STOP_GRACEFUL);
    ck_assert_int_eq(monitor(p), VM_STATUS_STOPPED);
    ck_assert_int_eq(stop_ok(p), VM_STOP_WAS_STOPPED);
    params_free(p);
    fixture_teardown(&f);
}
END_TEST

START_TEST(test_persistent_keeps_definition)
{
    struct fixture f;
    struct ferry_params *p = NULL;
    virDomainPtr d = NULL;

    fixture_setup(&f);
    p = params_with_config(&f, "OCF_RESKEY_persistent=true");
    start_ok(p, "defined and started");
    d = virDomainLookupByName(f.keep, "vm1");
    ck_assert_int_eq(virDomainIsPersistent(d), 1);
    ck_assert_int_eq(stop_ok(p), VM_STOP_GRACEFUL);
    ck_assert_int_eq(monitor(p), VM_STATUS_STOPPED);
    /* stopped, but still defined: stop never undefines */
    ck_assert_int_eq(virDomainIsActive(d), 0);
    ck_assert_int_eq(virDomainIsPersistent(d), 1);
    virDomainUndefine(d);
    virDomainFree(d);
    params_free(p);
    fixture_teardown(&f);
}
END_TEST

START_TEST(test_force_stop_destroys)
{
    struct fixture f;
    struct ferry_params *p = NULL;

    fixture_setup(&f);
    p = params_with_config(&f, "OCF_RESKEY_force_stop=true");
    start_ok(p, "created (transient)");
    ck_assert_int_eq(stop_ok(p), VM_STOP_DESTROYED);
    ck_assert_int_eq(monitor(p), VM_STATUS_STOPPED);
    params_free(p);
    fixture_teardown(&f);
}
END_TEST

/* resource-agents #856/#137: the config vanishes while the domain runs. */
START_TEST(test_config_gone_while_running)
{
    struct fixture f;
    struct ferry_params *p = NULL;
    struct ferry_params *named = NULL;
    const char *extra[] = { "OCF_RESKEY_name=vm1", NULL };

    fixture_setup(&f);
    p = params_with_config(&f, NULL);
    start_ok(p, "created (transient)");
    ck_assert_int_eq(unlink(f.config), 0);
    /* the name recorded at start keeps monitor exact */
    ck_assert_int_eq(monitor(p), VM_STATUS_RUNNING);
    named = params_make(&f, extra);
    ck_assert_int_eq(monitor(named), VM_STATUS_RUNNING);
    /* and stop really stops it */
    ck_assert_int_ne(stop_ok(p), VM_STOP_WAS_STOPPED);
    ck_assert_int_eq(monitor(named), VM_STATUS_STOPPED);
    params_free(p);
    params_free(named);
    fixture_teardown(&f);
}
END_TEST

START_TEST(test_config_gone_and_nothing_known_is_not_stopped)
{
    struct fixture f;
    struct ferry_params *p = NULL;
    struct vm_monitor_result r;
    struct vm_stop_result s;
    ferry_error *err = NULL;
    deadline dl;

    fixture_setup(&f);
    p = params_with_config(&f, NULL);
    unlink(f.config);
    deadline_init(&dl, 20000);
    ck_assert_int_lt(vm_monitor(p, &dl, &r, &err), 0);
    ck_assert_ptr_nonnull(strstr(error_message(err), "cannot tell which domain"));
    err = error_free(err);
    ck_assert_int_lt(vm_stop(p, &dl, &s, &err), 0);
    err = error_free(err);
    params_free(p);
    fixture_teardown(&f);
}
END_TEST

START_TEST(test_start_needs_config_or_definition)
{
    struct fixture f;
    struct ferry_params *p = NULL;
    struct ferry_params *named = NULL;
    struct vm_start_result r;
    ferry_error *err = NULL;
    const char *extra[] = { "OCF_RESKEY_name=vm1", NULL };
    deadline dl;

    fixture_setup(&f);
    p = params_with_config(&f, NULL);
    unlink(f.config);
    deadline_init(&dl, 20000);
    ck_assert_int_eq(vm_start(p, &dl, &r, &err), FERRY_E_INSTALLED);
    err = error_free(err);
    named = params_make(&f, extra);
    ck_assert_int_eq(vm_start(named, &dl, &r, &err), FERRY_E_INSTALLED);
    ck_assert_ptr_nonnull(strstr(error_message(err), "not defined in libvirt"));
    err = error_free(err);
    params_free(p);
    params_free(named);
    fixture_teardown(&f);
}
END_TEST

START_TEST(test_name_only_starts_definition)
{
    struct fixture f;
    struct ferry_params *p = NULL;
    const char *extra[] = { "OCF_RESKEY_name=vm1", NULL };
    virDomainPtr d = NULL;

    fixture_setup(&f);
    d = virDomainDefineXML(f.keep, xml_vm1);
    ck_assert_ptr_nonnull(d);
    p = params_make(&f, extra);
    ck_assert_int_eq(monitor(p), VM_STATUS_STOPPED);
    start_ok(p, "started its libvirt definition");
    ck_assert_int_eq(monitor(p), VM_STATUS_RUNNING);
    ck_assert_int_eq(stop_ok(p), VM_STOP_GRACEFUL);
    /* resource-agents #487: the definition survives */
    ck_assert_int_eq(virDomainIsPersistent(d), 1);
    virDomainUndefine(d);
    virDomainFree(d);
    params_free(p);
    fixture_teardown(&f);
}
END_TEST

START_TEST(test_name_and_config_must_agree)
{
    struct fixture f;
    struct ferry_params *p = NULL;
    struct vm_monitor_result r;
    struct vm_stop_result s;
    struct vm_start_result st;
    ferry_error *err = NULL;
    deadline dl;

    fixture_setup(&f);
    p = params_with_config(&f, "OCF_RESKEY_name=other");
    deadline_init(&dl, 20000);
    ck_assert_int_eq(vm_validate(p, &err), FERRY_E_CONFIG);
    ck_assert_ptr_nonnull(strstr(error_message(err), "parameter 'name' is 'other' but config"));
    err = error_free(err);
    ck_assert_int_eq(vm_start(p, &dl, &st, &err), FERRY_E_CONFIG);
    err = error_free(err);
    /* monitor and stop never say "inherently wrong" (6 bans the VM and a
     * failed stop fences): they look for the domain by name */
    ck_assert_msg(vm_monitor(p, &dl, &r, &err) == 0, "probe: %s", error_message(err));
    ck_assert_int_eq(r.status, VM_STATUS_STOPPED);
    ck_assert_msg(vm_stop(p, &dl, &s, &err) == 0, "stop: %s", error_message(err));
    ck_assert_int_eq(s.how, VM_STOP_WAS_STOPPED);
    params_free(p);
    fixture_teardown(&f);
}
END_TEST

START_TEST(test_paused_is_degraded_and_start_resumes)
{
    struct fixture f;
    struct ferry_params *p = NULL;
    virDomainPtr d = NULL;

    fixture_setup(&f);
    p = params_with_config(&f, NULL);
    start_ok(p, "created (transient)");
    d = virDomainLookupByName(f.keep, "vm1");
    ck_assert_int_eq(virDomainSuspend(d), 0);
    ck_assert_int_eq(monitor(p), VM_STATUS_DEGRADED);
    start_ok(p, "resumed");
    ck_assert_int_eq(monitor(p), VM_STATUS_RUNNING);
    /* a paused guest cannot shut down gracefully: stop destroys it */
    ck_assert_int_eq(virDomainSuspend(d), 0);
    ck_assert_int_eq(stop_ok(p), VM_STOP_DESTROYED);
    ck_assert_int_eq(monitor(p), VM_STATUS_STOPPED);
    virDomainFree(d);
    params_free(p);
    fixture_teardown(&f);
}
END_TEST

/* A domain with our name but another UUID is not ours. Defined and shut off
 * (an old definition left by persistent=true): our UUID is certainly not
 * running here, so a probe says stopped and a stop succeeds, touching nothing.
 * Running: the probe is an error (something holds our name), but a stop of our
 * resource still succeeds and leaves the namesake alone. */
START_TEST(test_namesake_is_not_ours)
{
    struct fixture f;
    struct ferry_params *p = NULL;
    struct vm_monitor_result r;
    struct vm_stop_result s;
    struct vm_start_result st;
    ferry_error *err = NULL;
    virDomainPtr d = NULL;
    deadline dl;
    /* same name, another UUID */
    const char *xml_other =
        "<domain type='test'><name>vm1</name><uuid>01234567-0123-0123-0123-0123456789ab</uuid>"
        "<memory>8192</memory><os><type>hvm</type></os></domain>";

    fixture_setup(&f);
    d = virDomainDefineXML(f.keep, xml_other);
    ck_assert_ptr_nonnull(d);
    p = params_with_config(&f, NULL);
    deadline_init(&dl, 20000);
    /* shut off */
    ck_assert_msg(vm_monitor(p, &dl, &r, &err) == 0, "probe: %s", error_message(err));
    ck_assert_int_eq(r.status, VM_STATUS_STOPPED);
    ck_assert_ptr_nonnull(strstr(r.detail, "another UUID"));
    ck_assert_msg(vm_stop(p, &dl, &s, &err) == 0, "stop: %s", error_message(err));
    ck_assert_int_eq(s.how, VM_STOP_WAS_STOPPED);
    ck_assert_int_eq(vm_start(p, &dl, &st, &err), FERRY_E_STATE);
    ck_assert_ptr_nonnull(strstr(error_message(err), "whose UUID is not " UUID1));
    err = error_free(err);
    /* running */
    ck_assert_int_eq(virDomainCreate(d), 0);
    ck_assert_int_eq(vm_monitor(p, &dl, &r, &err), FERRY_E_STATE);
    ck_assert_ptr_nonnull(strstr(error_message(err), "whose UUID is not " UUID1));
    err = error_free(err);
    ck_assert_msg(vm_stop(p, &dl, &s, &err) == 0, "stop: %s", error_message(err));
    ck_assert_int_eq(s.how, VM_STOP_WAS_STOPPED);
    ck_assert_ptr_nonnull(strstr(s.note, "another UUID"));
    /* and it was left alone */
    ck_assert_int_eq(virDomainIsActive(d), 1);
    virDomainDestroy(d);
    virDomainUndefine(d);
    virDomainFree(d);
    params_free(p);
    fixture_teardown(&f);
}
END_TEST

/* A config whose <name> has spaces around it: libvirt keeps them, so the
 * domain would be created under a name ferry never looks up. Refused before
 * anything is created. */
START_TEST(test_name_with_spaces_refused)
{
    struct fixture f;
    struct ferry_params *p = NULL;
    struct vm_start_result st;
    ferry_error *err = NULL;
    virDomainPtr d = NULL;
    deadline dl;

    fixture_setup(&f);
    file_write(f.config, "<domain type='test'><name> vm1 </name><memory>8192</memory>"
          "<os><type>hvm</type></os></domain>\n");
    p = params_with_config(&f, NULL);
    deadline_init(&dl, 20000);
    ck_assert_int_lt(vm_validate(p, &err), 0);
    ck_assert_ptr_nonnull(strstr(error_message(err), "<name>"));
    err = error_free(err);
    ck_assert_int_lt(vm_start(p, &dl, &st, &err), 0);
    err = error_free(err);
    d = virDomainLookupByName(f.keep, " vm1 ");
    ck_assert_ptr_null(d);
    params_free(p);
    fixture_teardown(&f);
}
END_TEST

/* A config without <uuid>: the UUID libvirt gives the domain is recorded, and
 * a later namesake created under the same name is not mistaken for it. */
START_TEST(test_uuid_learnt_at_start)
{
    struct fixture f;
    struct ferry_params *p = NULL;
    struct vm_monitor_result r;
    ferry_error *err = NULL;
    virDomainPtr d = NULL;
    deadline dl;

    fixture_setup(&f);
    file_write(f.config, "<domain type='test'><name>vm1</name><memory>8192</memory>"
          "<os><type>hvm</type></os></domain>\n");
    p = params_with_config(&f, "OCF_RESKEY_name=vm1");
    start_ok(p, "created (transient)");
    ck_assert_int_eq(monitor(p), VM_STATUS_RUNNING);
    /* someone else's vm1 now: ours was destroyed behind our back */
    d = virDomainLookupByName(f.keep, "vm1");
    ck_assert_ptr_nonnull(d);
    virDomainDestroy(d);
    virDomainFree(d);
    d = virDomainDefineXML(f.keep, "<domain type='test'><name>vm1</name><memory>8192</memory>"
                                   "<os><type>hvm</type></os></domain>");
    ck_assert_ptr_nonnull(d);
    unlink(f.config);    /* by name and the state file only */
    deadline_init(&dl, 20000);
    ck_assert_msg(vm_monitor(p, &dl, &r, &err) == 0, "probe: %s", error_message(err));
    ck_assert_int_eq(r.status, VM_STATUS_STOPPED);
    virDomainUndefine(d);
    virDomainFree(d);
    params_free(p);
    fixture_teardown(&f);
}
END_TEST

/* A stalled share (the config is a FIFO nobody writes: open() blocks): once
 * this node recorded the domain's identity at start, monitor and stop answer
 * without touching the config file. */
START_TEST(test_stalled_config_does_not_block)
{
    struct fixture f;
    struct ferry_params *p = NULL;

    fixture_setup(&f);
    p = params_with_config(&f, NULL);
    start_ok(p, "created (transient)");
    ck_assert_int_eq(unlink(f.config), 0);
    ck_assert_int_eq(mkfifo(f.config, 0600), 0);
    ck_assert_int_eq(monitor(p), VM_STATUS_RUNNING);
    ck_assert_int_ne(stop_ok(p), VM_STOP_WAS_STOPPED);
    ck_assert_int_eq(monitor(p), VM_STATUS_STOPPED);
    params_free(p);
    fixture_teardown(&f);
}
END_TEST

/* A migrate_to killed after libvirtd's job had carried the guest to the
 * target: its flight record (whose process is dead) names the target. Here
 * "this node" is an empty test driver and "the target" test:///default. The
 * next stop must not say "stopped" while the guest runs there behind
 * Pacemaker's back: it removes that copy; the record is then gone. No copy
 * runs here, so that one is the guest Pacemaker asks to stop: it is asked to
 * shut down first (the test driver's guests do at once), unless force_stop
 * (destroyed). */
static void
killed_migrate_to_guest_left(bool force_stop, const char *expect_note)
{
    struct fixture f;
    struct ferry_params *p = NULL;
    struct vm_stop_result s;
    ferry_error *err = NULL;
    virDomainPtr d = NULL;
    char node[192];
    char hyper[256];
    char record[256];
    char config[192];
    const char *extra[] = { hyper, config, force_stop ? "OCF_RESKEY_force_stop=true" : NULL, NULL };
    unsigned long long ticks = 0;
    FILE *fp = NULL;
    deadline dl;
    pid_t pid;

    fixture_setup(&f);
    snprintf(node, sizeof(node), "%s/empty-node.xml", f.dir);
    file_write(node, "<node/>\n");
    snprintf(hyper, sizeof(hyper), "OCF_RESKEY_hypervisor=test://%s", node);
    snprintf(config, sizeof(config), "OCF_RESKEY_config=%s", f.config);
    p = params_make(&f, extra);
    d = virDomainCreateXML(f.keep, xml_vm1, 0);       /* it runs on "the target" */
    ck_assert_ptr_nonnull(d);
    /* the killed migrate_to: a process that is gone */
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        pause();
        _exit(0);
    }
    ck_assert_int_eq(proc_stat_read(pid, NULL, &ticks), 0);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    mkdir(f.state_dir, 0755);
    snprintf(record, sizeof(record), "%s/ferry-vm-p_vm1.flight", f.state_dir);
    fp = fopen(record, "w");
    ck_assert_ptr_nonnull(fp);
    fprintf(fp, "pid=%ld\nstart_ticks=%llu\nname=vm1\nuuid=" UUID1 "\ntarget=node2\n"
            "dest_uri=" TEST_URI "\nwas_running=1\n", (long)pid, ticks);
    fclose(fp);

    deadline_init(&dl, 20000);
    ck_assert_msg(vm_stop(p, &dl, &s, &err) == 0, "stop: %s", error_message(err));
    ck_assert_int_eq(s.how, VM_STOP_WAS_STOPPED);
    ck_assert_msg(strstr(s.note, expect_note) != NULL, "note: %s", s.note);
    ck_assert_int_ne(virDomainIsActive(d), 1);
    ck_assert_int_eq(access(record, F_OK), -1);
    /* and a second stop has nothing left to do */
    ck_assert_msg(vm_stop(p, &dl, &s, &err) == 0, "stop: %s", error_message(err));
    ck_assert_str_eq(s.note, "");
    virDomainFree(d);
    unlink(node);
    params_free(p);
    fixture_teardown(&f);
}

START_TEST(test_killed_migrate_to_guest_left)
{
    killed_migrate_to_guest_left(false, "shut it down there");
}
END_TEST

START_TEST(test_killed_migrate_to_guest_left_force)
{
    killed_migrate_to_guest_left(true, "destroyed it there");
}
END_TEST

/* A guest paused by the operator before its migration arrives paused:
 * migrate_from confirms it at once (it waited for its whole timeout). */
START_TEST(test_migrate_from_paused_arrival)
{
    struct fixture f;
    struct ferry_params *p = NULL;
    enum vm_status status = VM_STATUS_STOPPED;
    ferry_error *err = NULL;
    virDomainPtr d = NULL;
    deadline dl;

    fixture_setup(&f);
    p = params_with_config(&f, NULL);
    d = virDomainCreateXML(f.keep, xml_vm1, 0);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(virDomainSuspend(d), 0);
    deadline_init_budget(&dl, 3000);
    ck_assert_msg(migration_from(p, &dl, &status, &err) == 0, "migrate_from: %s",
                  error_message(err));
    ck_assert_int_eq(status, VM_STATUS_RUNNING);
    ck_assert_int_lt(deadline_elapsed_ms(&dl), 2000);
    virDomainDestroy(d);
    virDomainFree(d);
    params_free(p);
    fixture_teardown(&f);
}
END_TEST

/* The record this node keeps is used by monitor and stop only for the
 * config that named the domain: with another config (the resource's config
 * changed, or a test reusing an instance name) they read the config, and
 * never stop the recorded domain by mistake. */
START_TEST(test_record_only_for_its_config)
{
    struct fixture f;
    struct ferry_params *p1 = NULL;
    struct ferry_params *p2 = NULL;
    struct vm_stop_result s;
    ferry_error *err = NULL;
    char config2[192];
    char var[256];
    const char *extra[] = { var, NULL };
    deadline dl;

    fixture_setup(&f);
    snprintf(config2, sizeof(config2), "%s/vm2.xml", f.dir);
    file_write(config2, "<domain type='test'><name>vm2</name><memory>8192</memory>"
          "<os><type>hvm</type></os></domain>\n");
    snprintf(var, sizeof(var), "OCF_RESKEY_config=%s", config2);
    p1 = params_with_config(&f, NULL);
    p2 = params_make(&f, extra);
    start_ok(p1, "created (transient)");          /* the record names vm1 */
    deadline_init(&dl, 20000);
    ck_assert_int_eq(monitor(p2), VM_STATUS_STOPPED);
    ck_assert_msg(vm_stop(p2, &dl, &s, &err) == 0, "stop: %s", error_message(err));
    ck_assert_str_eq(s.name, "vm2");
    ck_assert_int_eq(s.how, VM_STOP_WAS_STOPPED);
    ck_assert_int_eq(monitor(p1), VM_STATUS_RUNNING);
    ck_assert_int_ne(stop_ok(p1), VM_STOP_WAS_STOPPED);
    unlink(config2);
    params_free(p1);
    params_free(p2);
    fixture_teardown(&f);
}
END_TEST

START_TEST(test_unreachable_libvirt_is_not_stopped)
{
    struct fixture f;
    struct ferry_params *p = NULL;
    struct vm_monitor_result r;
    ferry_error *err = NULL;
    const char *extra[] = { "OCF_RESKEY_name=vm1",
                            "OCF_RESKEY_hypervisor=test:///nonexistent/ferry.xml", NULL };
    deadline dl;

    fixture_setup(&f);
    p = params_make(&f, extra);
    deadline_init(&dl, 20000);
    ck_assert_int_eq(vm_monitor(p, &dl, &r, &err), FERRY_E_LIBVIRT);
    ck_assert_ptr_nonnull(strstr(error_message(err), "cannot tell whether domain 'vm1' runs"));
    error_free(err);
    params_free(p);
    fixture_teardown(&f);
}
END_TEST

/* The domain's libvirt ID: a new one means it was started again. */
static int
domain_id(virConnectPtr conn, const char *name)
{
    virDomainPtr d = virDomainLookupByName(conn, name);
    int id = -1;

    ck_assert_ptr_nonnull(d);
    id = (int)virDomainGetID(d);
    virDomainFree(d);
    return id;
}

/* reload-agent: re-validates, refreshes this node's record, never touches the
 * guest; where the domain does not run there is nothing to apply. */
START_TEST(test_reload)
{
    struct fixture f;
    struct ferry_params *p = NULL;
    struct ferry_params *p2 = NULL;
    struct ferry_params *bad = NULL;
    struct vm_reload_result r;
    struct ferry_state st;
    ferry_error *err = NULL;
    char path[256];
    deadline dl;
    int id = -1;

    fixture_setup(&f);
    snprintf(path, sizeof(path), "%s/ferry-vm-p_vm1.state", f.state_dir);
    p = params_with_config(&f, NULL);
    deadline_init(&dl, 20000);
    ck_assert_msg(vm_reload(p, &dl, &r, &err) == 0, "reload: %s", error_message(err));
    ck_assert(!r.running);
    ck_assert_int_eq(access(path, F_OK), -1);        /* nothing recorded for a stopped VM */

    start_ok(p, "created (transient)");
    id = domain_id(f.keep, "vm1");
    /* as if this node had published the utilization: reload publishes it again
     * (an autoset_utilization_* may have changed; without Pacemaker nothing is
     * published, so the record says "none") */
    ck_assert_int_eq(state_load(p, &st), 0);
    st.util_cpu = 4;
    st.util_hv_memory_mib = 512;
    ck_assert_int_eq(state_save(p, &st), 0);
    p2 = params_with_config(&f, "OCF_RESKEY_migration_speed=50");
    ck_assert_msg(vm_reload(p2, &dl, &r, &err) == 0, "reload: %s", error_message(err));
    ck_assert(r.running);
    ck_assert_str_eq(r.name, "vm1");
    ck_assert_int_eq(domain_id(f.keep, "vm1"), id);  /* same guest, not restarted */
    ck_assert_int_eq(state_load(p2, &st), 0);
    ck_assert_str_eq(st.name, "vm1");
    ck_assert_str_eq(st.config, f.config);
    ck_assert_int_eq(st.util_cpu, -1);
    ck_assert_int_eq(st.util_hv_memory_mib, -1);

    /* a reloadable parameter with a bad value: refused, the guest untouched */
    bad = params_with_config(&f, "OCF_RESKEY_migrateuri=ftp://node2");
    ck_assert_int_eq(vm_reload(bad, &dl, &r, &err), FERRY_E_CONFIG);
    ck_assert_ptr_nonnull(strstr(error_message(err), "migrateuri"));
    error_free(err);
    err = NULL;
    ck_assert_int_eq(domain_id(f.keep, "vm1"), id);
    ck_assert_int_eq(monitor(p2), VM_STATUS_RUNNING);

    /* the config file unreadable for a moment (shared storage): not a reason
     * to fail (Pacemaker would restart the VM, or ban it for "not installed");
     * the running domain is found by this node's record */
    ck_assert_int_eq(unlink(f.config), 0);
    ck_assert_msg(vm_reload(p2, &dl, &r, &err) == 0, "reload: %s", error_message(err));
    ck_assert(r.running);
    ck_assert_ptr_nonnull(strstr(r.detail, "cannot be read"));
    ck_assert_int_eq(domain_id(f.keep, "vm1"), id);
    stop_ok(p2);
    params_free(bad);
    params_free(p2);
    params_free(p);
    fixture_teardown(&f);
}
END_TEST

START_TEST(test_validate)
{
    struct fixture f;
    struct ferry_params *p = NULL;
    ferry_error *err = NULL;

    fixture_setup(&f);
    p = params_with_config(&f, NULL);
    ck_assert_int_eq(vm_validate(p, &err), 0);
    unlink(f.config);
    ck_assert_int_eq(vm_validate(p, &err), FERRY_E_INSTALLED);
    ck_assert_ptr_nonnull(strstr(error_message(err), "cannot be read"));
    error_free(err);
    params_free(p);
    fixture_teardown(&f);
}
END_TEST

/* rgmanager's path: the config is found as <dir>/<name>.xml */
START_TEST(test_path_search)
{
    struct fixture f;
    struct ferry_params *p = NULL;
    struct ferry_params *missing = NULL;
    char path[256];
    char miss[256];
    const char *extra[] = { path, "OCF_RESKEY_name=vm1", NULL };
    const char *extra2[] = { miss, "OCF_RESKEY_name=vm1", NULL };
    ferry_error *err = NULL;

    fixture_setup(&f);
    snprintf(path, sizeof(path), "OCF_RESKEY_path=/nonexistent:%s", f.dir);
    snprintf(miss, sizeof(miss), "OCF_RESKEY_path=/nonexistent:%s/state", f.dir);
    p = params_make(&f, extra);
    ck_assert_int_eq(vm_validate(p, &err), 0);
    start_ok(p, "created (transient)");
    ck_assert_int_eq(stop_ok(p), VM_STOP_GRACEFUL);
    missing = params_make(&f, extra2);
    ck_assert_int_eq(vm_validate(missing, &err), FERRY_E_INSTALLED);
    ck_assert_ptr_nonnull(strstr(error_message(err), "nor 'vm1.xml' is in path"));
    error_free(err);
    params_free(p);
    params_free(missing);
    fixture_teardown(&f);
}
END_TEST

/* rgmanager's snapshot: stop saves the guest's memory, start restores it once. */
START_TEST(test_snapshot_save_restore)
{
    struct fixture f;
    struct ferry_params *p = NULL;
    struct ferry_params *other = NULL;
    struct vm_start_result r;
    ferry_error *err = NULL;
    char snap[192];
    char image[256];
    char stale[256];
    deadline dl;

    fixture_setup(&f);
    snprintf(snap, sizeof(snap), "OCF_RESKEY_snapshot=%s", f.dir);
    snprintf(image, sizeof(image), "%s/vm1", f.dir);
    snprintf(stale, sizeof(stale), "%s/vm1.stale", f.dir);
    p = params_with_config(&f, snap);
    start_ok(p, "created (transient)");
    ck_assert_int_eq(stop_ok(p), VM_STOP_SAVED);
    ck_assert_int_eq(monitor(p), VM_STATUS_STOPPED);
    ck_assert_int_eq(access(image, F_OK), 0);
    /* a stop where it does not run leaves the image alone */
    ck_assert_int_eq(stop_ok(p), VM_STOP_WAS_STOPPED);
    ck_assert_int_eq(access(image, F_OK), 0);
    start_ok(p, "restored from its snapshot image");
    ck_assert_int_eq(monitor(p), VM_STATUS_RUNNING);
    ck_assert_int_eq(access(image, F_OK), -1);   /* restored once, then gone */
    ck_assert_int_eq(stop_ok(p), VM_STOP_SAVED);

    /* an image of another domain is never restored, and is kept */
    ck_assert_int_eq(rename(image, stale), 0);
    file_write(image, "not a save image\n");
    deadline_init(&dl, 20000);
    ck_assert_int_lt(vm_start(p, &dl, &r, &err), 0);
    ck_assert_ptr_nonnull(strstr(error_message(err), "cannot read the saved image"));
    err = error_free(err);
    ck_assert_int_eq(access(image, F_OK), 0);
    unlink(image);

    /* without the option, no image is read or written */
    other = params_with_config(&f, NULL);
    start_ok(other, "created (transient)");
    ck_assert_int_eq(stop_ok(other), VM_STOP_GRACEFUL);
    ck_assert_int_eq(access(image, F_OK), -1);
    unlink(stale);
    params_free(other);
    params_free(p);
    fixture_teardown(&f);
}
END_TEST

/* the file's modification time set to now + offset_s */
static void
file_mtime_set(const char *path, int offset_s)
{
    struct timespec ts[2];

    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec += offset_s;
    ts[1] = ts[0];
    ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void
vm1_save_from(virConnectPtr conn, const char *xml, const char *path)
{
    virDomainPtr d = virDomainCreateXML(conn, xml, 0);

    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(virDomainSave(d, path), 0);
    virDomainFree(d);
}

/* issue 18 item 7.1: the definition in an image is not trusted: start restores
 * with the config's XML (name only: libvirt's definition); an image it does not
 * fit is refused and kept. */
START_TEST(test_snapshot_restores_with_config)
{
    struct fixture f;
    struct ferry_params *p = NULL;
    struct ferry_params *named = NULL;
    struct vm_start_result r;
    ferry_error *err = NULL;
    virDomainPtr d = NULL;
    char snap[192];
    char image[256];
    deadline dl;
    int ret = 0;

    fixture_setup(&f);
    snprintf(snap, sizeof(snap), "OCF_RESKEY_snapshot=%s", f.dir);
    snprintf(image, sizeof(image), "%s/vm1", f.dir);
    p = params_with_config(&f, snap);
    start_ok(p, "created (transient)");
    ck_assert_int_eq(stop_ok(p), VM_STOP_SAVED);
    start_ok(p, "restored from its snapshot image");
    ck_assert_msg(restore_dxml && strcmp(restore_dxml, xml_vm1) == 0,
                  "restored with %s, not the config's XML",
                  restore_dxml ? restore_dxml : "the image's own definition");
    ck_assert_int_eq(stop_ok(p), VM_STOP_SAVED);

    /* an image of vm1 with another definition: refused, kept, nothing started */
    ck_assert_int_eq(unlink(image), 0);
    vm1_save_from(f.keep, xml_vm1_big, image);
    deadline_init(&dl, 20000);
    ret = vm_start(p, &dl, &r, &err);
    ck_assert_msg(ret < 0, "an image that does not fit the config was restored (%s)", r.how);
    ck_assert_ptr_nonnull(strstr(error_message(err), image));
    ck_assert_ptr_nonnull(strstr(error_message(err), "kept"));
    err = error_free(err);
    ck_assert_int_eq(access(image, F_OK), 0);
    ck_assert_int_eq(monitor(p), VM_STATUS_STOPPED);
    ck_assert_int_eq(unlink(image), 0);

    /* a config without a UUID: libvirt gave the guest one, the image's is used */
    {
        static const char *const xml_nouuid =
            "<domain type='test'><name>vm1</name>"
            "<memory>8192</memory><os><type>hvm</type></os></domain>\n";
        struct ferry_params *nouuid = NULL;
        char uuid[VIR_UUID_STRING_BUFLEN];
        char record[256];

        file_write(f.config, xml_nouuid);
        nouuid = params_with_config(&f, snap);
        start_ok(nouuid, "created (transient)");
        d = virDomainLookupByName(f.keep, "vm1");
        ck_assert_int_eq(virDomainGetUUIDString(d, uuid), 0);
        virDomainFree(d);
        ck_assert_int_eq(stop_ok(nouuid), VM_STOP_SAVED);
        deadline_init(&dl, 20000);
        ck_assert_msg(vm_start(nouuid, &dl, &r, &err) == 0, "start: %s", error_message(err));
        ck_assert_str_eq(r.how, "restored from its snapshot image");
        ck_assert_ptr_nonnull(restore_dxml);
        ck_assert_ptr_nonnull(strstr(restore_dxml, uuid));
        ck_assert_int_eq(stop_ok(nouuid), VM_STOP_SAVED);
        ck_assert_int_eq(unlink(image), 0);
        file_write(f.config, xml_vm1);
        /* this node's record of that UUID goes too: vm1 is UUID1 again */
        snprintf(record, sizeof(record), "%s/ferry-vm-p_vm1.state", f.state_dir);
        ck_assert_int_eq(unlink(record), 0);
        params_free(nouuid);
    }

    /* name only: libvirt's persistent definition of the domain */
    named = params_make(&f, (const char *[]){ "OCF_RESKEY_name=vm1", snap, NULL });
    d = virDomainDefineXML(f.keep, xml_vm1);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(virDomainCreate(d), 0);
    ck_assert_int_eq(virDomainSave(d, image), 0);
    free(restore_dxml);
    restore_dxml = NULL;
    start_ok(named, "restored from its snapshot image");
    ck_assert_msg(restore_dxml && strstr(restore_dxml, UUID1) && xml_memory(restore_dxml) == 8192,
                  "restored with %s", restore_dxml ? restore_dxml : "the image's own definition");
    ck_assert_int_eq(stop_ok(named), VM_STOP_SAVED);
    /* and with neither config nor definition: refused, kept */
    ck_assert_int_eq(virDomainUndefine(d), 0);
    virDomainFree(d);
    deadline_init(&dl, 20000);
    ck_assert_int_eq(vm_start(named, &dl, &r, &err), FERRY_E_INSTALLED);
    ck_assert_ptr_nonnull(strstr(error_message(err), "no libvirt definition"));
    err = error_free(err);
    ck_assert_int_eq(access(image, F_OK), 0);
    ck_assert_int_eq(monitor(named), VM_STATUS_STOPPED);
    unlink(image);
    params_free(named);
    params_free(p);
    fixture_teardown(&f);
}
END_TEST

/* issue 18 item 7.2: a snapshot directory that anyone but root (or the
 * agent's own user) can write is refused by validate-all, start and stop. */
START_TEST(test_snapshot_directory_trusted)
{
    struct fixture f;
    struct ferry_params *p = NULL;
    struct vm_start_result r;
    ferry_error *err = NULL;
    char dir[160];
    char snap[192];
    char image[200];
    deadline dl;
    static const mode_t bad[] = { 0770, 0707, 01777 };
    size_t i;

    fixture_setup(&f);
    snprintf(dir, sizeof(dir), "%s/snap", f.dir);
    snprintf(snap, sizeof(snap), "OCF_RESKEY_snapshot=%s", dir);
    snprintf(image, sizeof(image), "%s/vm1", dir);
    p = params_with_config(&f, snap);
    /* missing: this node cannot see it */
    ck_assert_int_eq(vm_validate(p, &err), FERRY_E_INSTALLED);
    err = error_free(err);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(chmod(dir, bad[i]), 0);
        ck_assert_msg(vm_validate(p, &err) == FERRY_E_INSTALLED, "mode %04o accepted",
                      (unsigned)bad[i]);
        ck_assert_ptr_nonnull(strstr(error_message(err), "writable by"));
        err = error_free(err);
        deadline_init(&dl, 20000);
        ck_assert_int_eq(vm_start(p, &dl, &r, &err), FERRY_E_INSTALLED);
        err = error_free(err);
        ck_assert_int_eq(monitor(p), VM_STATUS_STOPPED);
    }
    if (geteuid() == 0) {
        /* as root: another owner is refused */
        ck_assert_int_eq(chmod(dir, 0700), 0);
        ck_assert_int_eq(chown(dir, 4321, (gid_t)-1), 0);
        ck_assert_int_eq(vm_validate(p, &err), FERRY_E_INSTALLED);
        ck_assert_ptr_nonnull(strstr(error_message(err), "owned by uid 4321"));
        err = error_free(err);
        ck_assert_int_eq(chown(dir, 0, (gid_t)-1), 0);
    }
    ck_assert_int_eq(chmod(dir, 0755), 0);
    ck_assert_int_eq(vm_validate(p, &err), 0);
    start_ok(p, "created (transient)");
    /* it became writable meanwhile: stop does not save there */
    ck_assert_int_eq(chmod(dir, 0775), 0);
    ck_assert_int_eq(stop_ok(p), VM_STOP_GRACEFUL);
    ck_assert_int_eq(access(image, F_OK), -1);
    rmdir(dir);
    params_free(p);
    fixture_teardown(&f);
}
END_TEST

/* issue 18 item 7.3: the save's temporary file is this node's and this
 * process's own: another node's save in progress is not touched. */
START_TEST(test_snapshot_save_name_per_node)
{
    struct fixture f;
    struct ferry_params *p = NULL;
    char snap[192];
    char image[256];
    char other[256];
    char buf[64] = "";
    struct dirent *e = NULL;
    DIR *dir = NULL;
    FILE *fp = NULL;

    fixture_setup(&f);
    snprintf(snap, sizeof(snap), "OCF_RESKEY_snapshot=%s", f.dir);
    snprintf(image, sizeof(image), "%s/vm1", f.dir);
    snprintf(other, sizeof(other), "%s/.vm1.saving", f.dir);
    p = params_with_config(&f, snap);
    file_write(other, "another node's save\n");
    start_ok(p, "created (transient)");
    ck_assert_int_eq(stop_ok(p), VM_STOP_SAVED);
    fp = fopen(other, "r");
    ck_assert_msg(fp != NULL, "the save removed another node's temporary file '%s'", other);
    ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), fp));
    fclose(fp);
    ck_assert_str_eq(buf, "another node's save\n");
    ck_assert_int_eq(access(image, F_OK), 0);
    /* and its own is gone */
    dir = opendir(f.dir);
    ck_assert_ptr_nonnull(dir);
    while ((e = readdir(dir)) != NULL)
        ck_assert_msg(strncmp(e->d_name, ".vm1.saving.", 12) != 0, "left behind: %s", e->d_name);
    closedir(dir);
    unlink(other);
    unlink(image);
    params_free(p);
    fixture_teardown(&f);
}
END_TEST

/* issue 18 item 7.4: stop saves a guest that runs, or that the user or an I/O
 * error paused; never a migration's copy (paused for an incoming migration,
 * or starting up for one): its memory is not the guest's. */
START_TEST(test_snapshot_incoming_copy_not_saved)
{
    struct fixture f;
    struct ferry_params *p = NULL;
    virDomainPtr d = NULL;
    char snap[192];
    char image[256];
    static const int incoming[] = { VIR_DOMAIN_PAUSED_MIGRATION, VIR_DOMAIN_PAUSED_STARTING_UP };
    size_t i;

    fixture_setup(&f);
    snprintf(snap, sizeof(snap), "OCF_RESKEY_snapshot=%s", f.dir);
    snprintf(image, sizeof(image), "%s/vm1", f.dir);
    p = params_with_config(&f, snap);
    for (i = 0; i < sizeof(incoming) / sizeof(incoming[0]); i++) {
        start_ok(p, "created (transient)");
        fake_state = VIR_DOMAIN_PAUSED;
        fake_reason = incoming[i];
        ck_assert_msg(stop_ok(p) == VM_STOP_DESTROYED, "paused reason %d: saved", incoming[i]);
        fake_state = -1;
        ck_assert_int_eq(access(image, F_OK), -1);
    }
    /* paused by an I/O error: its memory is whole, saved */
    start_ok(p, "created (transient)");
    fake_state = VIR_DOMAIN_PAUSED;
    fake_reason = VIR_DOMAIN_PAUSED_IOERROR;
    ck_assert_int_eq(stop_ok(p), VM_STOP_SAVED);
    fake_state = -1;
    start_ok(p, "restored from its snapshot image");
    /* paused by the user: saved */
    d = virDomainLookupByName(f.keep, "vm1");
    ck_assert_int_eq(virDomainSuspend(d), 0);
    virDomainFree(d);
    ck_assert_int_eq(stop_ok(p), VM_STOP_SAVED);
    unlink(image);
    params_free(p);
    fixture_teardown(&f);
}
END_TEST

/* issue 18 item 7.5: a stop that does not save retires (renames .stale) only
 * an image older than this node's copy of the guest, never one another node
 * wrote since, nor one it cannot date. */
START_TEST(test_snapshot_retires_only_older)
{
    struct fixture f;
    struct ferry_params *p = NULL;
    char config[192];
    char snap[192];
    char image[256];
    char stale[256];
    char state[256];

    fixture_setup(&f);
    snprintf(snap, sizeof(snap), "OCF_RESKEY_snapshot=%s", f.dir);
    snprintf(image, sizeof(image), "%s/vm1", f.dir);
    snprintf(stale, sizeof(stale), "%s/vm1.stale", f.dir);
    snprintf(state, sizeof(state), "%s/ferry-vm-p_vm1.state", f.state_dir);
    snprintf(config, sizeof(config), "OCF_RESKEY_config=%s", f.config);
    /* no time to save: the stop does not save */
    p = params_make(&f, (const char *[]){ config, snap, "OCF_RESKEY_shutdown_timeout=0", NULL });
    /* written by another node after this copy started: kept */
    start_ok(p, "created (transient)");
    file_write(image, "another node's image\n");
    file_mtime_set(image, 2);
    ck_assert_int_eq(stop_ok(p), VM_STOP_DESTROYED);
    ck_assert_msg(access(image, F_OK) == 0, "a newer image was retired");
    ck_assert_int_eq(access(stale, F_OK), -1);
    ck_assert_int_eq(unlink(image), 0);

    /* older than this copy: it no longer fits the disks, retired */
    start_ok(p, "created (transient)");
    file_write(image, "an older image\n");
    file_mtime_set(image, -60);
    ck_assert_int_eq(stop_ok(p), VM_STOP_DESTROYED);
    ck_assert_int_eq(access(image, F_OK), -1);
    ck_assert_int_eq(access(stale, F_OK), 0);
    ck_assert_int_eq(unlink(stale), 0);

    /* no record of when this copy started: kept */
    start_ok(p, "created (transient)");
    file_write(image, "an image of unknown age\n");
    file_mtime_set(image, -60);
    ck_assert_int_eq(unlink(state), 0);
    ck_assert_int_eq(stop_ok(p), VM_STOP_DESTROYED);
    ck_assert_int_eq(access(image, F_OK), 0);
    ck_assert_int_eq(access(stale, F_OK), -1);
    unlink(image);
    params_free(p);
    fixture_teardown(&f);
}
END_TEST

/* rgmanager's status_program: runs in depth-10 monitors, and gates start. */
START_TEST(test_status_program)
{
    struct fixture f;
    struct ferry_params *ok = NULL;
    struct ferry_params *bad = NULL;
    struct ferry_params *shallow = NULL;
    struct vm_monitor_result m;
    struct vm_start_result r;
    ferry_error *err = NULL;
    deadline dl;

    fixture_setup(&f);
    ok = params_make(&f, (const char *[]){ "OCF_RESKEY_name=vm1", "OCF_CHECK_LEVEL=10",
                                           "OCF_RESKEY_status_program=true", NULL });
    bad = params_make(&f, (const char *[]){ "OCF_RESKEY_name=vm1", "OCF_CHECK_LEVEL=10",
                                            "OCF_RESKEY_status_program=sh -c 'echo service down; exit 2'",
                                            NULL });
    shallow = params_make(&f, (const char *[]){ "OCF_RESKEY_name=vm1",
                                                "OCF_RESKEY_status_program=false", NULL });
    /* test:///default has a running "test" domain; ours is defined for it */
    {
        virDomainPtr d = virDomainDefineXML(f.keep, xml_vm1);

        ck_assert_ptr_nonnull(d);
        virDomainFree(d);
    }
    start_ok(ok, "started its libvirt definition");
    ck_assert_int_eq(monitor(ok), VM_STATUS_RUNNING);
    /* depth 10 runs it: a failing program makes the monitor fail, with its words */
    deadline_init(&dl, 20000);
    ck_assert_int_eq(vm_monitor(bad, &dl, &m, &err), 0);
    ck_assert_int_eq(m.status, VM_STATUS_FAILED);
    ck_assert_ptr_nonnull(strstr(m.detail, "exited 2: service down"));
    /* depth 0 does not */
    ck_assert_int_eq(monitor(shallow), VM_STATUS_RUNNING);
    ck_assert_int_eq(stop_ok(ok), VM_STOP_GRACEFUL);

    /* start waits for it, then gives up at its deadline with the last reason */
    deadline_init(&dl, 3000);
    ck_assert_int_eq(vm_start(bad, &dl, &r, &err), FERRY_E_TIMEOUT);
    ck_assert_ptr_nonnull(strstr(error_message(err), "did not succeed within the start timeout"));
    ck_assert_ptr_nonnull(strstr(error_message(err), "service down"));
    error_free(err);
    ck_assert_int_eq(stop_ok(ok), VM_STOP_GRACEFUL);
    {
        virDomainPtr d = virDomainLookupByName(f.keep, "vm1");

        ck_assert_ptr_nonnull(d);
        virDomainUndefine(d);
        virDomainFree(d);
    }
    params_free(ok);
    params_free(bad);
    params_free(shallow);
    fixture_teardown(&f);
}
END_TEST

/* A changed persistent definition is written back to the config file by the
 * next monitor (and only then); an unchanged one never is. */
START_TEST(test_definition_saved)
{
    struct fixture f;
    struct ferry_params *p = NULL;
    struct ferry_params *nosave = NULL;
    virDomainPtr d = NULL;
    char *changed = NULL;
    char buf[4096];
    struct stat st1;
    struct stat st2;
    FILE *fp = NULL;
    size_t n = 0;

    fixture_setup(&f);
    p = params_with_config(&f, "OCF_RESKEY_persistent=true");
    start_ok(p, "defined and started");
    ck_assert_int_eq(stat(f.config, &st1), 0);
    ck_assert_int_eq(monitor(p), VM_STATUS_RUNNING);
    ck_assert_int_eq(monitor(p), VM_STATUS_RUNNING);
    ck_assert_int_eq(stat(f.config, &st2), 0);
    /* unchanged: the operator's file is not rewritten */
    ck_assert(st1.st_ino == st2.st_ino && st1.st_mtim.tv_nsec == st2.st_mtim.tv_nsec);

    /* what `virsh setmaxmem --config` or `virsh edit` does: a new definition */
    changed = strdup(xml_vm1);
    memcpy(strstr(changed, "8192"), "9216", 4);
    d = virDomainDefineXML(f.keep, changed);
    ck_assert_ptr_nonnull(d);
    virDomainFree(d);
    /* save_config=false leaves the file alone */
    nosave = params_with_config(&f, "OCF_RESKEY_save_config=false");
    ck_assert_int_eq(monitor(nosave), VM_STATUS_RUNNING);
    fp = fopen(f.config, "r");
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    ck_assert_ptr_null(strstr(buf, "9216"));
    /* the next monitor saves it */
    ck_assert_int_eq(monitor(p), VM_STATUS_RUNNING);
    fp = fopen(f.config, "r");
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    ck_assert_msg(strstr(buf, "9216") != NULL, "config not updated: %s", buf);
    ck_assert_ptr_nonnull(strstr(buf, UUID1));
    ck_assert_int_eq(stop_ok(p), VM_STOP_GRACEFUL);
    d = virDomainLookupByName(f.keep, "vm1");
    virDomainUndefine(d);
    virDomainFree(d);
    free(changed);
    params_free(p);
    params_free(nosave);
    fixture_teardown(&f);
}
END_TEST

START_TEST(test_graceful_budget)
{
    /* unset: everything but the 20 s reserve */
    ck_assert_int_eq(vm_stop_graceful_budget_ms(-1, 81000), 61000);
    /* set and short: as set */
    ck_assert_int_eq(vm_stop_graceful_budget_ms(30000, 81000), 30000);
    /* set but too long: the reserve wins */
    ck_assert_int_eq(vm_stop_graceful_budget_ms(300000, 81000), 61000);
    /* short stop timeout: half for the guest, half for destroy */
    ck_assert_int_eq(vm_stop_graceful_budget_ms(-1, 18000), 9000);
    ck_assert_int_eq(vm_stop_graceful_budget_ms(0, 81000), 0);
    ck_assert_int_eq(vm_stop_graceful_budget_ms(-1, 0), 0);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("vm");

    add_test(s, test_transient_cycle, 20);
    add_test(s, test_persistent_keeps_definition, 20);
    add_test(s, test_force_stop_destroys, 20);
    add_test(s, test_config_gone_while_running, 20);
    add_test(s, test_config_gone_and_nothing_known_is_not_stopped, 20);
    add_test(s, test_start_needs_config_or_definition, 20);
    add_test(s, test_name_only_starts_definition, 20);
    add_test(s, test_name_and_config_must_agree, 20);
    add_test(s, test_paused_is_degraded_and_start_resumes, 20);
    add_test(s, test_namesake_is_not_ours, 20);
    add_test(s, test_name_with_spaces_refused, 20);
    add_test(s, test_uuid_learnt_at_start, 20);
    add_test(s, test_stalled_config_does_not_block, 10);
    add_test(s, test_killed_migrate_to_guest_left, 20);
    add_test(s, test_killed_migrate_to_guest_left_force, 20);
    add_test(s, test_migrate_from_paused_arrival, 20);
    add_test(s, test_record_only_for_its_config, 20);
    add_test(s, test_unreachable_libvirt_is_not_stopped, 20);
    add_test(s, test_validate, 20);
    add_test(s, test_reload, 20);
    add_test(s, test_path_search, 20);
    add_test(s, test_snapshot_save_restore, 20);
    add_test(s, test_snapshot_restores_with_config, 20);
    add_test(s, test_snapshot_directory_trusted, 20);
    add_test(s, test_snapshot_save_name_per_node, 20);
    add_test(s, test_snapshot_incoming_copy_not_saved, 20);
    add_test(s, test_snapshot_retires_only_older, 20);
    add_test(s, test_status_program, 20);
    add_test(s, test_definition_saved, 20);
    add_test(s, test_graceful_budget, 5);
    return check_run(s);
}
