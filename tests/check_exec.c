/* check_exec.c — running an operator's program: exit status, first line of
 * output, programs that cannot start, and the deadline that kills a hang
 * (with whatever it started in its process group). */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_common.h"
#include "exec.h"

/* Running, or stopped: anything but gone or a zombie. */
static bool
alive(pid_t pid)
{
    char path[64];
    char buf[512];
    char *paren = NULL;
    FILE *f = NULL;
    bool ret = false;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return false;
    if (fgets(buf, sizeof(buf), f) && (paren = strrchr(buf, ')')) != NULL)
        ret = paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
    fclose(f);
    return ret;
}

static int
run(char *const *argv, int64_t budget_ms, struct exec_result *r, ferry_error **err)
{
    deadline dl;

    deadline_init_budget(&dl, budget_ms);
    memset(r, 0x5a, sizeof(*r));
    return exec_run(argv, &dl, r, err);
}

START_TEST(test_exit_status)
{
    struct exec_result r;
    ferry_error *err = NULL;

    ck_assert_int_eq(run((char *[]){ "true", NULL }, 5000, &r, &err), 0);
    ck_assert_int_eq(r.exit_status, 0);
    ck_assert_str_eq(r.first_line, "");
    ck_assert_int_eq(run((char *[]){ "sh", "-c", "exit 3", NULL }, 5000, &r, &err), 0);
    ck_assert_int_eq(r.exit_status, 3);
    ck_assert_int_eq(run((char *[]){ "sh", "-c", "kill -TERM $$", NULL }, 5000, &r, &err), 0);
    ck_assert_int_eq(r.exit_status, -1);
    ck_assert_int_eq(r.signal, SIGTERM);
    ck_assert_ptr_null(err);
}
END_TEST

START_TEST(test_first_line)
{
    struct exec_result r;
    ferry_error *err = NULL;

    /* stderr counts too; only the first line is kept; stdin is /dev/null */
    ck_assert_int_eq(run((char *[]){ "sh", "-c", "echo 'port 80 closed' >&2; echo second; "
                                     "cat; exit 1", NULL }, 5000, &r, &err), 0);
    ck_assert_int_eq(r.exit_status, 1);
    ck_assert_str_eq(r.first_line, "port 80 closed");
    /* a long line is cut, not overflowed */
    ck_assert_int_eq(run((char *[]){ "sh", "-c", "head -c 5000 /dev/zero | tr '\\0' x", NULL },
                         5000, &r, &err), 0);
    ck_assert_uint_eq(strlen(r.first_line), sizeof(r.first_line) - 1);
}
END_TEST

START_TEST(test_cannot_start)
{
    struct exec_result r;
    ferry_error *err = NULL;

    ck_assert_int_eq(run((char *[]){ "/nonexistent/check", NULL }, 5000, &r, &err), -ENOENT);
    ck_assert_ptr_nonnull(strstr(error_message(err), "cannot run '/nonexistent/check'"));
    err = error_free(err);
    {
        char plain[] = "/tmp/check_exec.XXXXXX";
        int fd = mkstemp(plain);   /* mode 0600: not executable */

        ck_assert_int_ge(fd, 0);
        close(fd);
        ck_assert_int_eq(run((char *[]){ plain, NULL }, 5000, &r, &err), -EACCES);
        unlink(plain);
    }
    error_free(err);
}
END_TEST

START_TEST(test_deadline_kills_group)
{
    struct exec_result r;
    ferry_error *err = NULL;
    char pidfile[] = "/tmp/check_exec.XXXXXX";
    char script[256];
    char line[32] = "";
    int64_t t0 = deadline_now_ms();
    pid_t child = 0;
    FILE *f = NULL;
    int fd = mkstemp(pidfile);

    ck_assert_int_ge(fd, 0);
    close(fd);
    /* a hang that also leaves a grandchild holding the output pipe */
    snprintf(script, sizeof(script), "sleep 30 & echo $! > %s; exec sleep 30", pidfile);
    ck_assert_int_eq(run((char *[]){ "sh", "-c", script, NULL }, 500, &r, &err), FERRY_E_TIMEOUT);
    ck_assert_int_lt(deadline_now_ms() - t0, 5000);
    ck_assert_ptr_nonnull(strstr(error_message(err), "did not finish before the deadline"));
    error_free(err);
    f = fopen(pidfile, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
    fclose(f);
    unlink(pidfile);
    child = (pid_t)atol(line);
    ck_assert_int_gt(child, 1);
    /* the grandchild was killed with the group (a zombie of init's at most) */
    for (int i = 0; i < 100 && alive(child); i++)
        usleep(10000);
    ck_assert_msg(!alive(child), "grandchild %ld survived", (long)child);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("exec");

    add_test(s, test_exit_status, 10);
    add_test(s, test_first_line, 10);
    add_test(s, test_cannot_start, 10);
    add_test(s, test_deadline_kills_group, 10);
    return check_run(s);
}
